/* SPDX-License-Identifier: Apache-2.0 */
/* Cluster mode, as the daemon's core sees it: the node's pods from the API server and their
 * status and events back (source-api.c), and the Node and its Lease (node-status.c). The API
 * client they use is api.h; what one pod references in the API is pod-data.h. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "agent/cluster/api.h"
#include "common/util.h"

struct manager;
struct pod;
struct api_source;
struct node_status;

/* source-api.c: the node's pods from the API server (list + watch), their status
 * patches, graceful deletion, and the mirror pods of static pods. */
int api_source_start(struct manager *m, nl_error *err);
void api_source_free(struct api_source *s);
/* The first list arrived: the API's pods are known (orphan cleanup may judge API pods). */
bool api_source_synced(const struct api_source *s);
/* A pod's status as the worker computed it (borrowed): patched to the API when it changed;
 * static pods' to their mirror pod. */
void api_source_pod_status(struct api_source *s, const struct pod *pod, json_t *status);
/* The worker is gone (containers and sandbox removed): a deleted API pod gets its final
 * DELETE (grace period 0, UID precondition), a static pod's mirror pod goes. */
void api_source_pod_gone(struct api_source *s, const struct pod *pod);
/* One of the kubelet's events for a pod (the JSON pod_event keeps): posted to the API,
 * rate-limited as the kubelet's event recorder. */
void api_source_pod_event(struct api_source *s, const struct pod *pod, json_t *event);
/* "api" for pods from the API server, "file" for static pods. */
const char *pod_config_source(const struct pod *pod);

/* node-status.c: registration, status (every nodeStatusUpdateFrequency when changed,
 * every nodeStatusReportFrequency anyway), and the Lease in kube-node-lease. */
int node_status_start(struct manager *m, nl_error *err);
void node_status_free(struct node_status *ns);
/* What the Node's status shows changed (its Ready condition): report it now, not at the next
 * tick. NULL: no-op. */
void node_status_changed(struct node_status *ns);
/* The Node object's UID once registered (mirror pods' owner reference), else NULL. */
const char *node_status_uid(const struct node_status *ns);
