/* SPDX-License-Identifier: Apache-2.0 */
/* What a pod worker does about a changed spec, and the readiness gates: pure decisions, on the
 * Pod model and the runtime's container status only (tests/unit/test-pod-actions.c). */
#pragma once

#include "cri/cri.h"
#include "podspec/podspec.h"

/* A new spec for a running pod (same UID). Returns 1 when the pod must be recreated (its
 * sandbox, volumes and every container go, then the new spec starts over), with
 * *ret_field the first field that decides it ("spec.volumes", "spec.containers[1].name");
 * 0 when the new spec applies in place (the containers whose hash changed are restarted one by
 * one: pod_container_changed); -ENOMEM. */
int pod_update_needs_recreate(const struct pod *old, const struct pod *new, char **ret_field);

/* The kubelet's containerChanged: the container runs, was made with a hash, and the spec's
 * hash differs (a new image). Such a container is killed and started again whatever the
 * restart policy. */
bool pod_container_changed(const struct pod_container *spec, const struct container_status *st);

/* The Ready condition when ContainersReady is True (the kubelet's GeneratePodReadyCondition):
 * NULL when every readiness gate's condition in conditions (the pod's status.conditions as the
 * API server has them, a JSON array) is True; else the message of Ready False, reason
 * ReadinessGatesNotReady. */
char *pod_readiness_gates_message(const struct pod *pod, const json_t *conditions);
