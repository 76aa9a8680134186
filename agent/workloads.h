/* SPDX-License-Identifier: Apache-2.0 */
/* Static mode's workloads (agent/workloads.c): Deployments, ReplicaSets, DaemonSets,
 * StatefulSets, Jobs and CronJobs of the manifests run as static pods; PersistentVolumeClaims
 * are node-local directories. */
#pragma once

#include <jansson.h>

#include "common/util.h"

struct manager;
struct workloads;

int workloads_new(struct manager *m, struct workloads **ret, nl_error *err);
void workloads_free(struct workloads *c);
/* A manifest file's objects now (struct file_update): its workloads are added, changed or
 * removed (with their pods), its claims made or removed. */
void workloads_file_update(struct workloads *c, const char *path, const json_t *objects);
