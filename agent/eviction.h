/* SPDX-License-Identifier: Apache-2.0 */
/* The eviction manager, modelled on the kubelet's pkg/kubelet/eviction: signals observed every
 * 10 s (memory.available, nodefs.available, nodefs.inodesFree, imagefs.available,
 * imagefs.inodesFree, pid.available), hard and soft thresholds, the node conditions they set
 * (MemoryPressure, DiskPressure, PIDPressure, held for evictionPressureTransitionPeriod),
 * node-level reclaim (unused images, dead containers' logs), then one pod evicted per interval,
 * ranked as the kubelet ranks them; and local storage limits (emptyDir sizeLimit, ephemeral-storage
 * limits) measured in an op child.
 *
 * The pure part (eviction-policy.c: parsing, threshold math, ranking, messages) is unit tested;
 * eviction.c runs it on the loop. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "common/time-util.h"
#include "common/util.h"
#include "podspec/podspec.h"

enum eviction_signal {
        EVICTION_MEMORY_AVAILABLE,
        EVICTION_NODEFS_AVAILABLE,
        EVICTION_NODEFS_INODES_FREE,
        EVICTION_IMAGEFS_AVAILABLE,
        EVICTION_IMAGEFS_INODES_FREE,
        EVICTION_PID_AVAILABLE,
        _EVICTION_SIGNAL_MAX,
        _EVICTION_SIGNAL_INVALID = -EINVAL,
};

/* The node conditions a signal sets (signalToNodeCondition). */
enum eviction_pressure {
        PRESSURE_MEMORY,
        PRESSURE_DISK,
        PRESSURE_PID,
        _PRESSURE_MAX,
};

/* The resource a signal reclaims (signalToResource): "memory", "ephemeral-storage", "inodes",
 * "pids". */
enum eviction_resource {
        RESOURCE_MEMORY,
        RESOURCE_EPHEMERAL_STORAGE,
        RESOURCE_INODES,
        RESOURCE_PIDS,
};

const char *eviction_signal_to_string(enum eviction_signal s);
enum eviction_signal eviction_signal_from_string(const char *s);
enum eviction_pressure eviction_signal_pressure(enum eviction_signal s);
enum eviction_resource eviction_signal_resource(enum eviction_signal s);
const char *eviction_resource_to_string(enum eviction_resource r);

/* A threshold's value: a quantity, or a fraction of the signal's capacity (ThresholdValue). */
struct eviction_value {
        bool is_percent;
        double fraction;     /* 0..1 */
        pod_quantity quantity;
};

struct eviction_threshold {
        enum eviction_signal signal;
        struct eviction_value value;
        usec_t grace_period; /* 0: a hard threshold */
        bool has_min_reclaim;
        struct eviction_value min_reclaim;
};

struct eviction_config {
        struct eviction_threshold *thresholds;
        size_t n_thresholds;
        usec_t pressure_transition_period; /* evictionPressureTransitionPeriod, 5 min */
        int64_t max_pod_grace_period;      /* evictionMaxPodGracePeriod, 0 */
};

/* ParseThresholdConfig: hard and soft are "signal<value,..." (the flag's form), grace and
 * min_reclaim "signal=value,..."; any may be NULL or "". Errors name the setting and say what
 * the kubelet says ("unsupported eviction signal x", "grace period must be specified for the
 * soft eviction threshold x", ...). 0% and 100% thresholds are ignored, as upstream. */
int eviction_config_parse(const char *hard, const char *soft, const char *grace, const char *min_reclaim,
                          struct eviction_config *ret, nl_error *err);
void eviction_config_done(struct eviction_config *c);

/* GetThresholdQuantity: the value in the signal's unit against capacity. */
int64_t eviction_value_quantity(const struct eviction_value *v, int64_t capacity);

/* What the hard threshold of signal reserves from capacity (hardEvictionReservation, for the
 * node's allocatable: memory.available for memory, nodefs.available for ephemeral-storage);
 * 0 without one. */
int64_t eviction_hard_reservation(const struct eviction_config *c, enum eviction_signal signal, int64_t capacity);

/* One observation of a signal (signalObservation). */
struct eviction_observation {
        bool known;
        int64_t available, capacity;
};

/* thresholdsMet: whether t is crossed (available < quantity, plus its minimum reclaim when
 * enforce_min_reclaim: a threshold met before stays met until that much is reclaimed). */
bool eviction_threshold_met(const struct eviction_threshold *t, const struct eviction_observation obs[],
                            bool enforce_min_reclaim);

/* What ranking needs of one pod (statsFunc and the pod). */
struct eviction_pod_stats {
        const char *name;
        void *ref;                                /* the caller's */
        bool has_stats;
        int32_t priority;
        int64_t memory_usage, memory_request;     /* working set, bytes */
        int64_t disk_usage, disk_request;         /* ephemeral-storage, bytes */
        int64_t inodes_usage;
        int64_t processes;
};

/* rankMemoryPressure (exceeds its memory request, then priority, then usage above request),
 * rankDiskPressureFunc (the same with local storage) and rankPIDPressure (priority, then
 * processes): sorts pods in eviction order, first to go first. */
void eviction_rank(enum eviction_resource resource, struct eviction_pod_stats *pods, size_t n);

/* A container's usage against its request, for the message. */
struct eviction_container_usage {
        const char *name;
        int64_t usage;
        pod_quantity request; /* unset: none */
};

/* evictionMessage: "The node was low on resource: memory. Threshold quantity: 100Mi, available:
 * 51200Ki. Container hog was using 400Mi, request is 16Mi, has larger consumption of memory. "
 * (containers only when they use more than their request). threshold_known false leaves out the
 * threshold sentence. */
char *eviction_message(enum eviction_resource resource, bool threshold_known, int64_t threshold_quantity,
                       int64_t available, const struct eviction_container_usage *ctrs, size_t n);

/* The local storage messages (emptyDirMessageFmt, containerEphemeralStorageMessageFmt,
 * podEphemeralStorageMessageFmt). */
char *eviction_message_empty_dir(const char *volume, const pod_quantity *limit);
char *eviction_message_container_storage(const char *container, const pod_quantity *limit);
char *eviction_message_pod_storage(int64_t limit);

/* Quantity.String() of a BinarySI quantity of n bytes ("100Mi", "1536Ki", "12345"). */
char *eviction_format_bytes(int64_t n);

/* IsCriticalPod: a static pod, a mirror pod, or priority >= 2000000000 (SystemCriticalPriority). */
bool eviction_pod_is_critical(const struct pod *pod, bool is_static);

/* The eviction manager's Admit: NULL when the pod may start, else the message of its
 * rejection (reason "Evicted"): "The node had condition: [DiskPressure]. ". Under memory
 * pressure alone only BestEffort pods are refused, unless they tolerate the
 * node.kubernetes.io/memory-pressure taint; critical pods always start. */
char *eviction_admit_message(const struct pod *pod, bool is_static, const bool pressure[_PRESSURE_MAX]);

/* ---- the manager (eviction.c) ---- */

struct manager;
struct eviction_manager;

int eviction_manager_start(struct manager *m, nl_error *err);
void eviction_manager_free(struct eviction_manager *e);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct eviction_manager *, eviction_manager_free)
/* The node's condition as the eviction manager last decided it (false before it observed). */
bool eviction_node_pressure(const struct manager *m, enum eviction_pressure p);
/* eviction_admit_message with the node's conditions now. */
char *eviction_admit(const struct manager *m, const struct pod *pod);
/* capacity minus the hard threshold of signal, for allocatable (0 reserve without a manager). */
int64_t eviction_allocatable(const struct manager *m, enum eviction_signal signal, int64_t capacity);
