/* SPDX-License-Identifier: Apache-2.0 */
/* The node's resources and labels as the kubelet reports and admits against them: capacity
 * from the machine (cores, memory, the root dir's file system, hugepages, maxPods);
 * allocatable = capacity - kubeReserved - systemReserved - the hard eviction thresholds
 * (pkg/kubelet/cm GetNodeAllocatableReservation and the node status MachineInfo setter); the
 * Node's labels and taints (the API server's Node in cluster mode, our own labels else). */
#include <inttypes.h>
#include <stdio.h>
#include <sys/statvfs.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "common/fs.h"
#include "manager.h"
#include "eviction.h"

static int64_t clamp_sub(int64_t a, int64_t b) {
        int64_t r;
        if (__builtin_sub_overflow(a, b, &r))
                return b > 0 ? 0 : INT64_MAX;
        return r < 0 ? 0 : r;
}

/* nr_hugepages of one page size, in bytes (cadvisor's HugePages, as the kubelet's capacity) */
static int64_t hugepages_bytes(const char *dir, int64_t page) {
        _cleanup_free_ char *path = nl_strdupf("/sys/kernel/mm/hugepages/%s/nr_hugepages", dir), *v = NULL;
        int64_t n;
        if (!path || nl_read_file(path, 64, true, &v, NULL) < 0)
                return 0;
        v[strcspn(v, "\n")] = '\0';
        if (nl_parse_int64(v, 0, INT64_MAX / page, &n) < 0)
                return 0;
        return n * page;
}

/* The part of allocatable the hard eviction thresholds hold back, per resource. */
static void eviction_reservation(const struct manager *m, const struct node_resources *capacity,
                                 struct node_resources *ret) {
        /* the kubelet's hardEvictionReservation: memory.available and nodefs.available, absolute
         * or a percentage of capacity (none before the eviction manager has its thresholds) */
        *ret = (struct node_resources){
                .memory = capacity->memory - eviction_allocatable(m, EVICTION_MEMORY_AVAILABLE, capacity->memory),
                .ephemeral_storage = capacity->ephemeral_storage -
                                     eviction_allocatable(m, EVICTION_NODEFS_AVAILABLE, capacity->ephemeral_storage),
        };
}

void node_resources_allocatable(const struct node_resources *capacity, const struct config_reserved *kube_reserved,
                                const struct config_reserved *system_reserved,
                                const struct node_resources *eviction, struct node_resources *ret) {
        struct node_resources a = *capacity;
        a.milli_cpu = clamp_sub(a.milli_cpu, nl_sat_add(nl_sat_add(kube_reserved->milli_cpu, system_reserved->milli_cpu),
                                                     eviction->milli_cpu));
        a.memory = clamp_sub(a.memory,
                             nl_sat_add(nl_sat_add(kube_reserved->memory, system_reserved->memory), eviction->memory));
        a.ephemeral_storage = clamp_sub(a.ephemeral_storage,
                                        nl_sat_add(nl_sat_add(kube_reserved->ephemeral_storage,
                                                        system_reserved->ephemeral_storage),
                                                eviction->ephemeral_storage));
        /* "for every huge page reservation, we need to remove it from allocatable memory" */
        a.memory = clamp_sub(a.memory, nl_sat_add(capacity->hugepages_2mi, capacity->hugepages_1gi));
        *ret = a;
}

void manager_node_allocatable_update(struct manager *m) {
        struct node_resources eviction;
        eviction_reservation(m, &m->capacity, &eviction);
        node_resources_allocatable(&m->capacity, &m->cfg->kube_reserved, &m->cfg->system_reserved, &eviction,
                                   &m->allocatable);
}

int manager_node_resources_init(struct manager *m) {
        struct node_resources cap = {};
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        struct sysinfo si;
        struct statvfs sv;
        cap.milli_cpu = (cpus > 0 ? cpus : 1) * 1000;
        cap.memory = sysinfo(&si) == 0 ? (int64_t) si.totalram * si.mem_unit : 0;
        /* the kubelet's ephemeral-storage capacity is the size of the file system of its root dir */
        cap.ephemeral_storage = statvfs(m->cfg->root_dir, &sv) == 0 ? (int64_t) sv.f_blocks * (int64_t) sv.f_frsize : 0;
        cap.hugepages_2mi = hugepages_bytes("hugepages-2048kB", 2LL << 20);
        cap.hugepages_1gi = hugepages_bytes("hugepages-1048576kB", 1LL << 30);
        cap.pods = m->cfg->max_pods;
        m->capacity = cap;
        manager_node_allocatable_update(m);
        json_decref(m->node_labels);
        m->node_labels = manager_own_node_labels(m);
        if (!m->node_taints)
                m->node_taints = json_array();
        return m->node_labels && m->node_taints ? 0 : -ENOMEM;
}

const char *node_go_arch(const char *machine) {
        /* GOARCH for uname's machine: runtime.GOARCH is what the kubelet reports */
        if (streq(machine, "x86_64"))
                return "amd64";
        if (streq(machine, "aarch64"))
                return "arm64";
        if (strncmp(machine, "armv7", 5) == 0)
                return "arm";
        return machine; /* ppc64le, s390x, riscv64: the same word */
}

json_t *manager_own_node_labels(const struct manager *m) {
        struct utsname u;
        uname(&u);
        json_t *labels = json_pack("{s:s, s:s, s:s, s:s, s:s}", "kubernetes.io/hostname", m->cfg->node_name,
                                   "kubernetes.io/os", "linux", "kubernetes.io/arch", node_go_arch(u.machine),
                                   "beta.kubernetes.io/os", "linux", "beta.kubernetes.io/arch", node_go_arch(u.machine));
        for (size_t i = 0; labels && i < m->cfg->n_node_labels; i++) {
                const char *kv = m->cfg->node_labels[i], *eq = strchr(kv, '=');
                _cleanup_free_ char *k = eq ? strndup(kv, (size_t) (eq - kv)) : NULL;
                if (k)
                        json_object_set_new(labels, k, json_string(eq + 1));
        }
        return labels;
}

void manager_node_object(struct manager *m, json_t *node) {
        json_t *labels = json_object_get(json_object_get(node, "metadata"), "labels");
        json_t *taints = json_object_get(json_object_get(node, "spec"), "taints");
        if (!json_is_object(json_object_get(node, "metadata")))
                return; /* not a Node */
        json_decref(m->node_labels);
        m->node_labels = json_is_object(labels) ? json_deep_copy(labels) : json_object();
        json_decref(m->node_taints);
        m->node_taints = json_is_array(taints) ? json_deep_copy(taints) : json_array();
}

char *node_resources_format_cpu(int64_t milli) {
        if (milli % 1000 == 0)
                return nl_strdupf("%" PRId64, milli / 1000);
        return nl_strdupf("%" PRId64 "m", milli);
}

char *node_resources_format_bytes(int64_t bytes) {
        if (bytes != 0 && bytes % 1024 == 0)
                return nl_strdupf("%" PRId64 "Ki", bytes / 1024);
        return nl_strdupf("%" PRId64, bytes);
}
