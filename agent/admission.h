/* SPDX-License-Identifier: Apache-2.0 */
/* The kubelet's pod admission (pkg/kubelet/lifecycle/predicate.go and the scheduler plugins it
 * reuses through scheduler.AdmissionCheck): pure rules over the node as the agent sees it and the
 * pods it runs. No I/O; the manager gathers the node and the pods and acts on the verdict. */
#pragma once

#include "podspec/podspec.h"

struct admission_taint {
        const char *key, *value, *effect;
};

/* A scalar resource of the node's allocatable (hugepages-2Mi, hugepages-1Gi, extended ones). */
struct admission_scalar {
        const char *name;
        int64_t value;
};

/* The node a pod is admitted to: its name, labels, taints and allocatable. */
struct admission_node {
        const char *name;
        const struct pod_kv *labels;
        size_t n_labels;
        const struct admission_taint *taints;
        size_t n_taints;
        int64_t milli_cpu, memory, ephemeral_storage, pods;
        const struct admission_scalar *scalars;
        size_t n_scalars;
};

/* What the pod asks of one resource, as the kubelet's PodRequests: app containers and sidecars
 * (restartable init containers) add up; a regular init container needs its own request plus the
 * sidecars started before it; the pod needs the larger of the two, plus spec.overhead. cpu in
 * millicores, everything else in units (bytes). Saturates at INT64_MAX. */
int64_t admission_pod_request(const struct pod *pod, const char *resource);

/* The pod's nodeSelector and required node affinity (nodeSelectorTerms: matchExpressions on
 * labels with In, NotIn, Exists, DoesNotExist, Gt, Lt; matchFields on metadata.name) match the
 * node, as component-helpers' GetRequiredNodeAffinity(pod).Match(node). */
bool admission_node_affinity_matches(const struct pod *pod, const struct admission_node *node);

/* None of the pod's host ports (app containers, hostPort > 0) is taken by the other pods: same
 * protocol (TCP when empty) and port, and the same hostIP or either 0.0.0.0 (empty), as the
 * scheduler's NodePorts plugin. */
bool admission_ports_fit(const struct pod *pod, const struct pod *const *others, size_t n_others);

/* Every NoExecute taint of the node is tolerated (the kubelet checks only NoExecute). */
bool admission_taints_tolerated(const struct pod *pod, const struct admission_node *node);

/* A static pod (kubernetes.io/config.source other than "api"): the kubelet's IsStaticPod. */
bool admission_pod_is_static(const struct pod *pod);

/* The kubelet's predicate admit handler: 0 when the pod may run beside others (the pods the
 * node runs, not the pod itself); else -1 with the kubelet's reason and message (allocated) of
 * the first failure: the OS label and field, then resources (pods, cpu, memory,
 * ephemeral-storage, scalar ones), node affinity, node name, host ports, NoExecute taints
 * (not for static pods). -ENOMEM when out of memory. */
int admission_check(const struct admission_node *node, const struct pod *pod, const struct pod *const *others,
                    size_t n_others, char **ret_reason, char **ret_message);
