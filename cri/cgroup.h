/* SPDX-License-Identifier: Apache-2.0 */
/* Pod cgroups as the kubelet lays them out with the cgroupfs driver:
 *   /kubepods/pod<uid>               Guaranteed
 *   /kubepods/burstable/pod<uid>     Burstable
 *   /kubepods/besteffort/pod<uid>    BestEffort
 * and containers below their pod ("/kubepods/burstable/pod<uid>/<container id>", the OCI
 * linux.cgroupsPath the runtime creates). One small interface over the three layouts a node
 * may have, detected from /proc/self/mountinfo:
 *   v2      one cgroup2 mount (unified), controllers enabled down the tree;
 *   v1      one mount per controller (or co-mounted set), plus name=systemd;
 *   hybrid  v1 controllers plus a cgroup2 mount (usually /sys/fs/cgroup/unified) with no
 *           controllers: the runtime uses v1. A controller left on the cgroup2 side (hugetlb
 *           on some kernels) makes crun refuse the node; cgroup_check() says how to fix it. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "cri.h"

enum cgroup_mode {
        CGROUP_MODE_V1,
        CGROUP_MODE_V2,
        CGROUP_MODE_HYBRID,
        _CGROUP_MODE_MAX,
        _CGROUP_MODE_INVALID = -EINVAL,
};

struct cgroup_hierarchy {
        char *mount_point; /* "/sys/fs/cgroup/memory", "/sys/fs/cgroup" */
        char *controllers; /* v1: the super options minus rw ("cpu,cpuacct", "name=systemd");
                            * v2: "" */
        bool v2;
};

#define CGROUP_MAX_HIERARCHIES 64

struct cgroup_layout {
        enum cgroup_mode mode;
        struct cgroup_hierarchy *h;
        size_t n_h;
        char *unified;             /* the cgroup2 mount point or NULL */
        char *unified_controllers; /* its root's cgroup.controllers (space separated) or NULL */
};

/* Parse mountinfo text (for tests) or read /proc/self/mountinfo and the cgroup2 root's
 * cgroup.controllers. -ENOENT with a message when no cgroup hierarchy is mounted. */
int cgroup_layout_parse(const char *mountinfo, const char *unified_controllers, struct cgroup_layout **ret,
                        nl_error *err);
int cgroup_layout_detect(struct cgroup_layout **ret, nl_error *err);
void cgroup_layout_free(struct cgroup_layout *l);

/* What the OCI config needs: true only when the runtime will use cgroup v2 (unified mode). */
bool cgroup_layout_is_v2(const struct cgroup_layout *l);

/* The crun hybrid problem: on a hybrid node, controllers on the cgroup2 side while v1 is in use.
 * -EOPNOTSUPP with a message naming the controllers and the fix (mount them as v1). */
int cgroup_check(const struct cgroup_layout *l, nl_error *err);

/* "/kubepods", "/kubepods/burstable" or "/kubepods/besteffort" for a QoS class. */
const char *cgroup_qos_parent(const char *qos_class);
/* "<root><qos parent>/pod<uid>" (malloc'ed); root is "" (cgroupfs) or the delegated cgroup. */
char *cgroup_pod_path(const char *root, const char *qos_class, const char *pod_uid);

/* cgroupDriver systemd. The kubelet's systemd driver asks systemd (over D-Bus) for a slice per
 * QoS class and pod (kubepods.slice/kubepods-burstable.slice/...). nodelet instead takes the
 * other way systemd documents for a program that manages its own cgroups (systemd.resource-
 * control(5) Delegate=, "Control Group APIs and Delegation"): its unit has Delegate=yes and
 * the pods go under the unit's cgroup, with the cgroupfs layout below it:
 *   /system.slice/nodelet.service/kubepods/burstable/pod<uid>
 * systemd then never touches those cgroups, and nodelet needs no D-Bus and no unit per pod.
 * The root is the cgroup nodelet was started in (/proc/self/cgroup text in self_cgroup); it
 * must be the same in every hierarchy the runtime uses (as systemd makes a delegated unit's)
 * and not the root cgroup: else an error that says so. A last component "nodelet" is nodelet's
 * own leaf (below), or the unit's DelegateSubgroup=nodelet: the root is its parent. */
int cgroup_delegated_root(const struct cgroup_layout *l, const char *self_cgroup, char **ret, nl_error *err);
#define CGROUP_AGENT_LEAF "nodelet"
/* On cgroup v2 a cgroup that hands controllers to its children holds no process itself: move
 * nodelet into <root>/nodelet (its shims follow it there) so <root>/kubepods can have them. */
int cgroup_enter_agent_leaf(const struct cgroup_layout *l, const char *root, nl_error *err);
/* "<pod cgroup>/<container id>" (malloc'ed): the container's OCI cgroupsPath. */
char *cgroup_container_path(const char *pod_cgroup, const char *container_id);

/* Pod-level limits as the kubelet sets them (pkg/kubelet/cm ResourceConfigForPod):
 *   Guaranteed  cpu shares from the sum of requests, cpu quota and memory limit from the sums
 *               of limits;
 *   Burstable   cpu shares from the requests; quota only when every container has a cpu limit,
 *               memory limit only when every container has a memory limit;
 *   BestEffort  cpu shares 2, nothing else.
 * Sums follow the kubelet's PodRequests/PodLimits: app containers add up, init containers count
 * by their maximum (restartable sidecars add to everything after them), pod overhead is added. */
struct cgroup_pod_resources {
        uint64_t cpu_shares;
        int64_t cpu_quota; /* microseconds per period; 0: none */
        uint64_t cpu_period;
        int64_t memory_limit; /* bytes; 0: none */
};
void cgroup_pod_resources(const struct pod *pod, struct cgroup_pod_resources *ret);

/* Create the pod cgroup (and its QoS parents) in every hierarchy and apply res (cpu and memory
 * where those controllers are; v1 cpu.shares/cfs_quota_us/memory.limit_in_bytes, v2
 * cpu.weight/cpu.max/memory.max). v1 cpuset directories inherit cpus and mems from their
 * parent. Existing directories are reused. On failure what was created is removed. */
int cgroup_pod_create(const struct cgroup_layout *l, const char *path,
                      const struct cgroup_pod_resources *res, nl_error *err);
/* In-place resize: the pod cgroup's current cpu and memory values (0 quota or memory: none),
 * and new ones applied to the existing cgroup in every hierarchy (a memory limit taken away is
 * lifted). A v1 cfs quota cannot go below a child's, so callers raise before and lower after
 * the containers (cri_pod_resize). */
int cgroup_pod_read(const struct cgroup_layout *l, const char *path, struct cgroup_pod_resources *ret);
int cgroup_pod_update(const struct cgroup_layout *l, const char *path, const struct cgroup_pod_resources *res,
                      nl_error *err);
/* The cgroup.procs files of path in every hierarchy (for putting a process in the pod). */
int cgroup_procs_files(const struct cgroup_layout *l, const char *path, char ***ret, size_t *ret_n);
/* Remove the pod cgroup from every hierarchy (its child cgroups first, rmdir only; EBUSY is
 * retried briefly, then reported naming the cgroup). The QoS parents stay, as the kubelet's. */
int cgroup_pod_remove(const struct cgroup_layout *l, const char *path, nl_error *err);
/* Whether path exists in any hierarchy. */
bool cgroup_exists(const struct cgroup_layout *l, const char *path);
