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

/* ---- in-place resize (the kubelet's allocation manager and computePodActions) ---------- */

/* A container's resources as the API writes them: {"limits": {...}, "requests": {...}} with
 * canonical quantities, an empty map left out; {} when it has none. */
json_t *pod_resources_json(const struct pod_resource_requirements *r);

/* Whether desired's containers (app containers and sidecars, the resizable ones) ask for
 * other resources than alloc's, quantities compared by value; desired_pod_level: whether
 * the pod-level spec.resources differ. */
bool pod_resources_changed(const struct pod *alloc, const struct pod *desired, bool *ret_pod_level);

/* desired with the containers' (and the pod-level) resources of alloc, by container name: the
 * kubelet's UpdatePodFromAllocation. NULL when out of memory. */
struct pod *pod_with_allocation(const struct pod *desired, const struct pod *alloc);

/* A running container made with (or updated to) actuated resources (pod_resources_json) and
 * now allocated spec's: whether it differs at all (ret_changed) and whether its resizePolicy
 * wants a restart for a resource that changed (the kubelet's determineContainerResize: a cpu
 * or memory request or limit that differs, with restartPolicy RestartContainer for it). */
bool pod_resize_needs_restart(const struct pod_container *spec, const json_t *actuated, bool *ret_changed);

/* The kubelet's resize event messages (pkg/kubelet/events/resize.go): "<prefix>: " and a JSON
 * summary {"initContainers":[...],"containers":[{"name":..,"resources":{..}}],"generation":N
 * [,"error":".."]}. */
char *pod_resize_message(const struct pod *pod, const char *prefix, const char *error);
