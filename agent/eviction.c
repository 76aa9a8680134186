/* SPDX-License-Identifier: Apache-2.0 */
/* The eviction manager on the loop, as the kubelet's managerImpl.synchronize
 * (pkg/kubelet/eviction/eviction_manager.go), every 10 s (its monitoring interval, the
 * housekeeping period):
 *   1. observe the signals: memory.available = capacity - working set of the root cgroup
 *      (usage - inactive_file, as cAdvisor), nodefs/imagefs from statvfs of the root dir and the
 *      image store, pid.available = min(pid_max, threads-max) - processes (sysinfo). A few small
 *      reads: cheap enough for the loop.
 *   2. thresholds met (those met before stay until their minimum reclaim is reclaimed), when each
 *      was first met, the node conditions they set (held for evictionPressureTransitionPeriod
 *      after the last observation), and which have passed their grace period;
 *   3. local storage limits from the last measurement (emptyDir sizeLimit, ephemeral-storage
 *      limits): du runs in an op child, never on the loop, and each pod over a limit is evicted;
 *   4. for a threshold past its grace period: node-level reclaim first for disk (unused images,
 *      dead containers' logs, in an op child), then, if still short, one pod evicted, ranked as
 *      the kubelet ranks them. No second eviction while the last evicted pod is terminating
 *      (the kubelet waits for its cleanup). Critical pods are never evicted. */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysinfo.h>

#include "eviction.h"
#include "manager.h"
#include "pod-worker.h"
#include "common/fs.h"
#include "common/strv.h"
#include "cri/cgroup.h"
#include "cri/layout.h"

#define MONITORING_INTERVAL (10 * USEC_PER_SEC)
#define IMMEDIATE_GRACE 1            /* immediateEvictionGracePeriodSeconds */
#define DU_MAX_ENTRIES (1000 * 1000) /* files one measurement looks at, per pod */
#define DU_MAX_DEPTH 128
#define EMPTY_DIR_PLUGIN "kubernetes.io~empty-dir"

struct eviction_manager {
        struct manager *m;
        struct eviction_config cfg;
        sd_event_source *timer;
        char *memory_root;   /* the memory controller's hierarchy */
        bool memory_v2;
        struct eviction_observation obs[_EVICTION_SIGNAL_MAX];
        bool *met;           /* per threshold: met, past its grace period, at the last sync */
        usec_t *first_met;   /* per threshold: when it was first met (0: not met) */
        usec_t pressure_last[_PRESSURE_MAX];
        bool pressure[_PRESSURE_MAX];
        bool observed;
        json_t *storage;     /* the last du: {uid: {volumes: {name: bytes}, containers: {...}}} */
        bool du_busy, reclaim_busy, freeing_busy;
        char *evicting_uid;  /* the last pod evicted under pressure */
};

/* ---- signals ---------------------------------------------------------------------------- */

static bool kv(const char *buf, const char *key, uint64_t *ret) {
        size_t n = strlen(key);
        for (const char *p = buf; p && *p;) {
                if (strncmp(p, key, n) == 0 && (p[n] == ' ' || p[n] == ':')) {
                        char *end;
                        errno = 0;
                        unsigned long long v = strtoull(p + n + 1 + strspn(p + n + 1, " "), &end, 10);
                        if (errno)
                                return false;
                        *ret = v;
                        return true;
                }
                p = strchr(p, '\n');
                if (p)
                        p++;
        }
        return false;
}

/* cAdvisor's working set of a cgroup: usage - inactive_file (not below 0). "" is the root. */
static int cgroup_working_set(const struct eviction_manager *e, const char *cg, int64_t *ret) {
        if (!e->memory_root)
                return -ENOENT;
        _cleanup_free_ char *usage_path = nl_strdupf("%s%s/%s", e->memory_root, cg,
                                                     e->memory_v2 ? "memory.current" : "memory.usage_in_bytes"),
                            *stat_path = nl_strdupf("%s%s/memory.stat", e->memory_root, cg), *stat = NULL;
        uint64_t usage, inactive = 0;
        if (!usage_path || !stat_path)
                return -ENOMEM;
        int r = nl_read_u64_file(usage_path, &usage);
        if (r < 0)
                return r;
        if (nl_read_file(stat_path, 1024 * 1024, true, &stat, NULL) >= 0)
                (void) kv(stat, e->memory_v2 ? "inactive_file" : "total_inactive_file", &inactive);
        *ret = usage > inactive ? (int64_t) (usage - inactive) : 0;
        return 0;
}

static void observe_memory(struct eviction_manager *e) {
        _cleanup_free_ char *mi = NULL;
        uint64_t total, free_, inactive = 0;
        struct eviction_observation *o = &e->obs[EVICTION_MEMORY_AVAILABLE];
        o->known = false;
        if (nl_read_file("/proc/meminfo", 1024 * 1024, false, &mi, NULL) < 0 || !kv(mi, "MemTotal", &total) ||
            !kv(mi, "MemFree", &free_))
                return;
        total *= 1024;
        int64_t ws;
        if (e->memory_v2 || cgroup_working_set(e, "", &ws) < 0) {
                /* cgroup v2 has no usage file at the root: the root's usage is what the
                 * node uses (cAdvisor's), total - free, minus the inactive file pages */
                (void) kv(mi, "Inactive(file)", &inactive);
                uint64_t used = total - free_ * 1024;
                ws = used > inactive * 1024 ? (int64_t) (used - inactive * 1024) : 0;
        }
        o->known = true;
        o->capacity = (int64_t) total;
        o->available = o->capacity > ws ? o->capacity - ws : 0;
}

static void observe_fs(const char *path, struct eviction_observation *bytes, struct eviction_observation *inodes) {
        struct statvfs sv;
        bytes->known = inodes->known = false;
        if (!path || statvfs(path, &sv) < 0 || sv.f_blocks == 0)
                return;
        *bytes = (struct eviction_observation){ true, (int64_t) sv.f_bavail * (int64_t) sv.f_frsize,
                                                (int64_t) sv.f_blocks * (int64_t) sv.f_frsize };
        if (sv.f_files > 0) /* tmpfs with nr_inodes=0 and some others have no inode count */
                *inodes = (struct eviction_observation){ true, (int64_t) sv.f_ffree, (int64_t) sv.f_files };
}

static void observe_pids(struct eviction_manager *e) {
        struct eviction_observation *o = &e->obs[EVICTION_PID_AVAILABLE];
        uint64_t pid_max, threads_max;
        struct sysinfo si;
        o->known = false;
        if (nl_read_u64_file("/proc/sys/kernel/pid_max", &pid_max) < 0 || sysinfo(&si) < 0)
                return;
        /* the kubelet's rlimit: the smaller of pid_max and threads-max */
        if (nl_read_u64_file("/proc/sys/kernel/threads-max", &threads_max) >= 0 && threads_max < pid_max)
                pid_max = threads_max;
        o->known = true;
        o->capacity = (int64_t) pid_max;
        o->available = (int64_t) pid_max - (int64_t) si.procs;
}

static void observe(struct eviction_manager *e) {
        struct manager *m = e->m;
        _cleanup_free_ char *images = layout_images_dir(m->cri.root_dir);
        observe_memory(e);
        observe_fs(m->cri.root_dir, &e->obs[EVICTION_NODEFS_AVAILABLE], &e->obs[EVICTION_NODEFS_INODES_FREE]);
        observe_fs(images, &e->obs[EVICTION_IMAGEFS_AVAILABLE], &e->obs[EVICTION_IMAGEFS_INODES_FREE]);
        observe_pids(e);
        e->observed = true;
}

/* ---- local storage (in an op child) ----------------------------------------------------- */

struct du {
        uint64_t bytes, inodes;
        size_t budget;
};

/* du -s: blocks in use below dir, not crossing into other filesystems (bind mounts in volumes). */
static void du_dir(int dfd, dev_t dev, unsigned depth, struct du *d) {
        _cleanup_(closedirp) DIR *dir = fdopendir(dfd);
        if (!dir) {
                close(dfd);
                return;
        }
        struct dirent *de;
        while ((de = readdir(dir)) && d->budget > 0) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                struct stat st;
                d->budget--;
                if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_dev != dev)
                        continue;
                d->bytes += (uint64_t) st.st_blocks * 512;
                d->inodes++;
                if (S_ISDIR(st.st_mode) && depth < DU_MAX_DEPTH) {
                        int fd = openat(dirfd(dir), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (fd >= 0)
                                du_dir(fd, dev, depth + 1, d);
                }
        }
}

static json_t *du_path(const char *path) {
        struct du d = { .budget = DU_MAX_ENTRIES };
        struct stat st;
        int fd = path ? open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
        if (fd < 0)
                return json_pack("{s:I, s:I}", "bytes", (json_int_t) 0, "inodes", (json_int_t) 0);
        if (fstat(fd, &st) < 0) {
                close(fd);
                return json_pack("{s:I, s:I}", "bytes", (json_int_t) 0, "inodes", (json_int_t) 0);
        }
        du_dir(fd, st.st_dev, 0, &d);
        return json_pack("{s:I, s:I}", "bytes", (json_int_t) d.bytes, "inodes", (json_int_t) d.inodes);
}

static bool disk_empty_dir(const struct pod_volume *v) {
        return v->empty_dir && !streq_ptr(v->empty_dir->medium, "Memory");
}

/* The child: what each running pod uses on the node's disk, as the summary API's volume stats,
 * container rootfs (the writable layer) and logs. */
static json_t *work_du(struct manager *m, const void *arg) {
        json_t *out = json_object();
        for (size_t i = 0; out && i < m->n_workers; i++) {
                struct pod_worker *w = m->workers[i];
                const struct pod *pod = w->pod;
                if (w->state != W_RUNNING || w->rejected_reason || !w->sb)
                        continue;
                json_t *vols = json_object(), *ctrs = json_object();
                for (size_t k = 0; k < pod->spec.n_volumes; k++) {
                        const struct pod_volume *v = &pod->spec.volumes[k];
                        if (!disk_empty_dir(v))
                                continue;
                        _cleanup_free_ char *dir = layout_volume_dir(m->cri.root_dir, w->uid, EMPTY_DIR_PLUGIN, v->name);
                        json_object_set_new(vols, v->name, du_path(dir));
                }
                _cleanup_free_ char *logs = layout_pod_log_dir(m->cri.log_dir, pod->metadata.namespace,
                                                               pod->metadata.name, w->uid);
                for (size_t k = 0; k < ctr_count(w); k++) {
                        struct ctr *c = ctr_at(w, k);
                        if (!c->id)
                                continue;
                        _cleanup_free_ char *cdir = layout_container_dir(m->cri.root_dir, c->id),
                                            *upper = cdir ? nl_strdupf("%s/upper", cdir) : NULL,
                                            *log = logs ? nl_strdupf("%s/%s", logs, c->spec->name) : NULL;
                        json_object_set_new(ctrs, c->spec->name, json_pack("{s:o, s:o}", "rootfs", du_path(upper),
                                                                           "logs", du_path(log)));
                }
                json_object_set_new(out, w->uid, json_pack("{s:o, s:o}", "volumes", vols, "containers", ctrs));
        }
        return out ? out : json_pack("{s:s}", "error", "out of memory");
}

static int64_t jbytes(json_t *o) {
        return (int64_t) json_integer_value(json_object_get(o, "bytes"));
}

/* A pod's ephemeral storage from the last measurement: containers' writable layers and logs
 * plus its disk-backed emptyDirs (the kubelet's podDiskUsage without an imagefs). */
static bool pod_storage(const struct eviction_manager *e, const char *uid, int64_t *ret_bytes, int64_t *ret_inodes) {
        json_t *p = json_object_get(e->storage, uid), *x;
        const char *k;
        int64_t b = 0, n = 0;
        if (!p)
                return false;
        json_object_foreach(json_object_get(p, "volumes"), k, x) {
                b += jbytes(x);
                n += json_integer_value(json_object_get(x, "inodes"));
        }
        json_object_foreach(json_object_get(p, "containers"), k, x) {
                b += jbytes(json_object_get(x, "rootfs")) + jbytes(json_object_get(x, "logs"));
                n += json_integer_value(json_object_get(json_object_get(x, "rootfs"), "inodes")) +
                     json_integer_value(json_object_get(json_object_get(x, "logs"), "inodes"));
        }
        *ret_bytes = b;
        *ret_inodes = n;
        return true;
}

static const pod_quantity *resource_of(const struct pod_resource *list, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (streq_ptr(list[i].name, name))
                        return &list[i].q;
        return NULL;
}

static const pod_quantity *container_limit(const struct pod_container *c, const char *name) {
        return c->resources ? resource_of(c->resources->limits, c->resources->n_limits, name) : NULL;
}

static const pod_quantity *container_request(const struct pod_container *c, const char *name) {
        const pod_quantity *q = NULL;
        if (c->resources)
                q = resource_of(c->resources->requests, c->resources->n_requests, name);
        /* the API server defaults a missing request to the limit */
        return q ? q : container_limit(c, name);
}

static bool is_static(const struct pod *pod) {
        return streq(pod_config_source(pod), "file");
}

static bool evictable(const struct pod_worker *w) {
        if (!pod_worker_active(w))
                return false;
        if (eviction_pod_is_critical(w->pod, is_static(w->pod))) {
                log_debug("eviction manager: cannot evict a critical pod %s", pod_name(w));
                return false;
        }
        return true;
}

/* localStorageEviction: emptyDir sizeLimit, the pod's ephemeral-storage limit (the sum of its
 * containers'), each container's; grace 1 s, no DisruptionTarget, as upstream. */
static bool local_storage_evict(struct eviction_manager *e, struct pod_worker *w) {
        const struct pod *pod = w->pod;
        json_t *p = json_object_get(e->storage, w->uid);
        if (!p)
                return false;
        for (size_t k = 0; k < pod->spec.n_volumes; k++) {
                const struct pod_volume *v = &pod->spec.volumes[k];
                if (!disk_empty_dir(v) || !v->empty_dir->size_limit.set || pod_quantity_is_zero(&v->empty_dir->size_limit) ||
                    pod_quantity_is_negative(&v->empty_dir->size_limit))
                        continue;
                json_t *used = json_object_get(json_object_get(p, "volumes"), v->name);
                if (used && jbytes(used) > pod_quantity_value(&v->empty_dir->size_limit)) {
                        _cleanup_free_ char *msg = eviction_message_empty_dir(v->name, &v->empty_dir->size_limit);
                        pod_worker_evict(w, msg, IMMEDIATE_GRACE, false);
                        return true;
                }
        }
        /* the pod's limit: the sum of its containers' (PodLimits; counted only when one is set) */
        int64_t limit = 0;
        bool any = false;
        for (size_t k = 0; k < pod->spec.n_containers; k++) {
                const pod_quantity *q = container_limit(&pod->spec.containers[k], "ephemeral-storage");
                if (q) {
                        any = true;
                        limit += pod_quantity_value(q);
                }
        }
        int64_t total, inodes;
        if (any && pod_storage(e, w->uid, &total, &inodes) && total > limit) {
                _cleanup_free_ char *msg = eviction_message_pod_storage(limit);
                pod_worker_evict(w, msg, IMMEDIATE_GRACE, false);
                return true;
        }
        json_t *ctrs = json_object_get(p, "containers");
        for (size_t k = 0; k < pod->spec.n_containers; k++) {
                const struct pod_container *c = &pod->spec.containers[k];
                const pod_quantity *q = container_limit(c, "ephemeral-storage");
                json_t *u = json_object_get(ctrs, c->name);
                if (!q || pod_quantity_is_zero(q) || !u)
                        continue;
                int64_t used = jbytes(json_object_get(u, "rootfs")) + jbytes(json_object_get(u, "logs"));
                if (used > pod_quantity_value(q)) {
                        _cleanup_free_ char *msg = eviction_message_container_storage(c->name, q);
                        pod_worker_evict(w, msg, IMMEDIATE_GRACE, false);
                        return true;
                }
        }
        return false;
}

static void done_du(json_t *result, void *userdata) {
        struct eviction_manager *e = userdata;
        e->du_busy = false;
        const char *error = json_string_value(json_object_get(result, "error"));
        if (error) {
                log_warning("eviction manager: measuring local storage: %s", error);
                return;
        }
        json_decref(e->storage);
        e->storage = json_incref(result);
        for (size_t i = 0; i < e->m->n_workers; i++) {
                struct pod_worker *w = e->m->workers[i];
                if (evictable(w))
                        (void) local_storage_evict(e, w);
        }
}

/* ---- node-level reclaim (in an op child) ------------------------------------------------ */

/* The logs of a container's earlier runs: <n>.log and their rotations below the newest run's
 * number (the containers they belonged to are dead; the kubelet's container GC removes them
 * with their containers). */
static int64_t remove_dead_logs(const char *ctr_dir) {
        _cleanup_(closedirp) DIR *d = opendir(ctr_dir);
        struct dirent *de;
        long newest = -1;
        int64_t removed = 0;
        if (!d)
                return 0;
        while ((de = readdir(d))) {
                char *end;
                long n = strtol(de->d_name, &end, 10);
                if (end != de->d_name && strncmp(end, ".log", 4) == 0 && n > newest)
                        newest = n;
        }
        rewinddir(d);
        while ((de = readdir(d))) {
                char *end;
                long n = strtol(de->d_name, &end, 10);
                if (end == de->d_name || strncmp(end, ".log", 4) != 0 || n >= newest)
                        continue;
                if (unlinkat(dirfd(d), de->d_name, 0) == 0)
                        removed++;
        }
        return removed;
}

static json_t *work_reclaim(struct manager *m, const void *arg) {
        _cleanup_strv_free_ char **in_use = NULL, **users = NULL;
        size_t n = 0;
        nl_error err = NL_ERROR_INIT;
        struct image_store *store = NULL;
        int images = 0;
        int64_t logs = 0;
        /* the kubelet's containerGC.DeleteAllUnusedContainers, for what nodelet keeps of dead
         * containers: their logs */
        _cleanup_(closedirp) DIR *d = opendir(m->cri.log_dir);
        struct dirent *de;
        while (d && (de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                _cleanup_free_ char *pod_dir = nl_strdupf("%s/%s", m->cri.log_dir, de->d_name);
                _cleanup_(closedirp) DIR *pd = pod_dir ? opendir(pod_dir) : NULL;
                struct dirent *ce;
                while (pd && (ce = readdir(pd))) {
                        if (ce->d_name[0] == '.')
                                continue;
                        _cleanup_free_ char *cdir = nl_strdupf("%s/%s", pod_dir, ce->d_name);
                        if (cdir)
                                logs += remove_dead_logs(cdir);
                }
        }
        /* imageGC.DeleteUnusedImages: every image no container uses */
        if (layout_image_store_open(m->cri.root_dir, &store, &err) >= 0) {
                (void) cri_images_in_use(&m->cri, &in_use, &users, &n);
                images = image_store_gc(store, in_use, n, 0, 0, &err);
                image_store_close(store);
        }
        json_t *j = images < 0 || err.msg ? json_pack("{s:s, s:I}", "error", strempty(err.msg), "logs", (json_int_t) logs)
                                          : json_pack("{s:i, s:I}", "images", images, "logs", (json_int_t) logs);
        nl_error_clear(&err);
        /* the pods' usage after the reclaim, for the ranking: the kubelet ranks with fresh
         * summary stats, and the last periodic measurement may predate the pod that filled
         * the disk */
        if (j)
                json_object_set_new(j, "storage", work_du(m, NULL));
        return j;
}

static void evict_one(struct eviction_manager *e, size_t threshold);
static bool thresholds_still_met(struct eviction_manager *e);

static void done_reclaim(json_t *result, void *userdata) {
        struct eviction_manager *e = userdata;
        const char *error = json_string_value(json_object_get(result, "error"));
        e->reclaim_busy = false;
        json_t *storage = json_object_get(result, "storage");
        if (json_is_object(storage) && !json_object_get(storage, "error")) {
                json_decref(e->storage);
                e->storage = json_incref(storage);
        }
        if (error)
                log_warning("eviction manager: reclaiming node resources: %s", error);
        else
                log_info("eviction manager: reclaimed node resources: %lld unused images, %lld dead containers' logs",
                         (long long) json_integer_value(json_object_get(result, "images")),
                         (long long) json_integer_value(json_object_get(result, "logs")));
        /* reclaimNodeLevelResources: observe again; if every threshold (with its minimum reclaim)
         * is satisfied no pod goes */
        observe(e);
        if (!thresholds_still_met(e)) {
                log_info("eviction manager: able to reduce resource pressure without evicting pods");
                return;
        }
        for (size_t i = 0; i < e->cfg.n_thresholds; i++)
                if (e->met[i] && eviction_signal_resource(e->cfg.thresholds[i].signal) != RESOURCE_MEMORY &&
                    eviction_signal_resource(e->cfg.thresholds[i].signal) != RESOURCE_PIDS) {
                        evict_one(e, i);
                        return;
                }
}

/* An evicted pod's emptyDirs (on disk, and tmpfs ones: their pages are memory) are emptied once
 * it stopped: as the kubelet tears down a terminated pod's volumes, so the eviction frees what it
 * was for. */
struct free_arg {
        char *uid;
        char **dirs;
        size_t n;
};

static json_t *work_free(struct manager *m, const void *argp) {
        const struct free_arg *a = argp;
        for (size_t i = 0; i < a->n; i++) {
                _cleanup_(closedirp) DIR *d = opendir(a->dirs[i]);
                struct dirent *de;
                while (d && (de = readdir(d)))
                        if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                                (void) nl_rm_rf_at(dirfd(d), de->d_name);
        }
        return json_object();
}

static void done_free(json_t *result, void *userdata) {
        struct eviction_manager *e = userdata;
        e->freeing_busy = false;
}

static void free_evicted(struct eviction_manager *e) {
        struct manager *m = e->m;
        for (size_t i = 0; i < m->n_workers && !e->freeing_busy; i++) {
                struct pod_worker *w = m->workers[i];
                if (!pod_worker_evicted_stopped(w) || w->evicted_volumes_freed)
                        continue;
                w->evicted_volumes_freed = true;
                static struct free_arg arg; /* read by the child, a copy of this process */
                strv_free_n(arg.dirs, arg.n);
                arg = (struct free_arg){};
                for (size_t k = 0; k < w->pod->spec.n_volumes; k++)
                        if (w->pod->spec.volumes[k].empty_dir) {
                                char *dir = layout_volume_dir(m->cri.root_dir, w->uid, EMPTY_DIR_PLUGIN,
                                                              w->pod->spec.volumes[k].name);
                                if (dir)
                                        (void) strv_consume(&arg.dirs, &arg.n, dir);
                        }
                if (arg.n == 0)
                        continue;
                e->freeing_busy = true;
                if (op_start(m, "eviction-free-volumes", work_free, &arg, done_free, e) < 0)
                        e->freeing_busy = false;
        }
}

/* ---- pressure evictions ----------------------------------------------------------------- */

/* The pod's cgroup (relative to the hierarchies): the class it started with, else its spec's. */
static char *pod_cgroup(const struct pod_worker *w) {
        return cgroup_pod_path(w->m->cri.cgroup_root, w->qos ? w->qos : pod_qos_class(w->pod), w->uid);
}

static void pod_memory(const struct eviction_manager *e, const struct pod_worker *w, int64_t *ret) {
        _cleanup_free_ char *cg = pod_cgroup(w);
        *ret = 0;
        if (cg)
                (void) cgroup_working_set(e, cg, ret);
}

static int64_t pod_request_of(const struct pod *pod, const char *name) {
        int64_t sum = 0, init_max = 0;
        for (size_t i = 0; i < pod->spec.n_containers; i++) {
                const pod_quantity *q = container_request(&pod->spec.containers[i], name);
                if (q)
                        sum += pod_quantity_value(q);
        }
        for (size_t i = 0; i < pod->spec.n_init_containers; i++) {
                const pod_quantity *q = container_request(&pod->spec.init_containers[i], name);
                if (q && pod_quantity_value(q) > init_max)
                        init_max = pod_quantity_value(q);
        }
        return sum > init_max ? sum : init_max;
}

static int64_t pod_processes(const struct pod_worker *w) {
        _cleanup_free_ char *cg = pod_cgroup(w);
        _cleanup_free_ char *path = cg ? nl_strdupf("/sys/fs/cgroup/pids%s/pids.current", cg) : NULL,
                            *path2 = cg ? nl_strdupf("/sys/fs/cgroup%s/pids.current", cg) : NULL;
        uint64_t n = 0;
        if (path && nl_read_u64_file(path, &n) < 0 && path2)
                (void) nl_read_u64_file(path2, &n);
        return (int64_t) n;
}

/* The message's per-container usage: working sets (memory) or rootfs + logs (disk). */
static size_t container_usages(const struct eviction_manager *e, struct pod_worker *w, enum eviction_resource res,
                               struct eviction_container_usage *out, size_t max) {
        size_t n = 0;
        _cleanup_free_ char *pod_cg = pod_cgroup(w);
        json_t *ctrs = json_object_get(json_object_get(e->storage, w->uid), "containers");
        for (size_t k = 0; k < ctr_count(w) && n < max; k++) {
                struct ctr *c = ctr_at(w, k);
                if (c->ephemeral || !c->id)
                        continue;
                int64_t usage = 0;
                if (res == RESOURCE_MEMORY) {
                        _cleanup_free_ char *cg = pod_cg ? cgroup_container_path(pod_cg, c->id) : NULL;
                        if (!cg || cgroup_working_set(e, cg, &usage) < 0)
                                continue;
                } else {
                        json_t *u = json_object_get(ctrs, c->spec->name);
                        if (!u)
                                continue;
                        usage = jbytes(json_object_get(u, "rootfs")) + jbytes(json_object_get(u, "logs"));
                }
                const pod_quantity *rq = container_request(c->spec, eviction_resource_to_string(res));
                out[n++] = (struct eviction_container_usage){ c->spec->name, usage, rq ? *rq : (pod_quantity){} };
        }
        return n;
}

static struct pod_worker *rank_victim(struct eviction_manager *e, enum eviction_resource res) {
        struct manager *m = e->m;
        _cleanup_free_ struct eviction_pod_stats *pods = calloc(m->n_workers + 1, sizeof(*pods));
        size_t n = 0;
        if (!pods)
                return NULL;
        for (size_t i = 0; i < m->n_workers; i++) {
                struct pod_worker *w = m->workers[i];
                if (!evictable(w))
                        continue;
                struct eviction_pod_stats *s = &pods[n++];
                *s = (struct eviction_pod_stats){
                        .name = pod_name(w),
                        .ref = w,
                        .has_stats = true,
                        .priority = w->pod->spec.priority.set ? (int32_t) w->pod->spec.priority.v : 0,
                        .memory_request = pod_request_of(w->pod, "memory"),
                        .disk_request = pod_request_of(w->pod, "ephemeral-storage"),
                };
                pod_memory(e, w, &s->memory_usage);
                if (res == RESOURCE_EPHEMERAL_STORAGE || res == RESOURCE_INODES)
                        s->has_stats = pod_storage(e, w->uid, &s->disk_usage, &s->inodes_usage);
                if (res == RESOURCE_PIDS)
                        s->processes = pod_processes(w);
        }
        if (n == 0)
                return NULL;
        eviction_rank(res, pods, n);
        return pods[0].ref;
}

static void evict_one(struct eviction_manager *e, size_t ti) {
        const struct eviction_threshold *t = &e->cfg.thresholds[ti];
        enum eviction_resource res = eviction_signal_resource(t->signal);
        log_info("eviction manager: must evict pod(s) to reclaim %s", eviction_resource_to_string(res));
        struct pod_worker *victim = rank_victim(e, res);
        if (!victim) {
                log_warning("eviction manager: eviction thresholds have been met, but no pods are active to evict");
                return;
        }
        struct eviction_container_usage usage[64];
        size_t nu = container_usages(e, victim, res, usage, ELEMENTSOF(usage));
        const struct eviction_observation *o = &e->obs[t->signal];
        _cleanup_free_ char *msg = eviction_message(res, o->known, eviction_value_quantity(&t->value, o->capacity),
                                                    o->available, usage, nu);
        /* hard: immediateEvictionGracePeriodSeconds; soft: evictionMaxPodGracePeriod */
        int64_t grace = t->grace_period == 0 ? IMMEDIATE_GRACE : e->cfg.max_pod_grace_period;
        free(e->evicting_uid);
        e->evicting_uid = strdup(victim->uid);
        pod_worker_evict(victim, msg, grace, true);
}

/* thresholdsMet with minimum reclaim, grace periods ignored: after reclaim, is anything short? */
static bool thresholds_still_met(struct eviction_manager *e) {
        for (size_t i = 0; i < e->cfg.n_thresholds; i++)
                if (e->met[i] && eviction_threshold_met(&e->cfg.thresholds[i], e->obs, true))
                        return true;
        return false;
}

/* The last pod evicted under pressure is not cleaned up yet (the kubelet's waitForPodsCleanup):
 * terminating, or stopped with its volumes not yet emptied. Its resources are seen freed at the
 * next observation. */
static bool evicting(const struct eviction_manager *e) {
        if (!e->evicting_uid)
                return false;
        for (size_t i = 0; i < e->m->n_workers; i++) {
                const struct pod_worker *w = e->m->workers[i];
                if (streq(w->uid, e->evicting_uid))
                        return w->state == W_TERMINATING ||
                               (w->state == W_STOPPED && (!w->evicted_volumes_freed || e->freeing_busy));
        }
        return false;
}

static void synchronize(struct eviction_manager *e) {
        usec_t now = now_monotonic();
        const struct eviction_config *c = &e->cfg;
        bool now_pressure[_PRESSURE_MAX] = {};

        observe(e);
        for (size_t i = 0; i < c->n_thresholds; i++) {
                const struct eviction_threshold *t = &c->thresholds[i];
                /* met now, or met (past grace) before and its minimum reclaim not yet reclaimed */
                bool met = eviction_threshold_met(t, e->obs, false) ||
                           (e->met[i] && eviction_threshold_met(t, e->obs, true));
                if (!met) {
                        e->first_met[i] = 0;
                        e->met[i] = false;
                        continue;
                }
                if (!e->first_met[i])
                        e->first_met[i] = now;
                now_pressure[eviction_signal_pressure(t->signal)] = true;
                e->met[i] = now - e->first_met[i] >= t->grace_period;
        }
        for (int p = 0; p < _PRESSURE_MAX; p++) {
                if (now_pressure[p])
                        e->pressure_last[p] = now;
                bool on = e->pressure_last[p] && now - e->pressure_last[p] < c->pressure_transition_period;
                if (on != e->pressure[p])
                        log_info("eviction manager: node condition %s is now %s",
                                 p == PRESSURE_MEMORY ? "MemoryPressure" : p == PRESSURE_DISK ? "DiskPressure" : "PIDPressure",
                                 on ? "True" : "False");
                e->pressure[p] = on;
        }

        free_evicted(e);
        if (!e->du_busy) {
                e->du_busy = true;
                if (op_start(e->m, "eviction-du", work_du, NULL, done_du, e) < 0)
                        e->du_busy = false;
        }
        if (evicting(e) || e->reclaim_busy)
                return;
        /* byEvictionPriority: memory first, then the others in order */
        ssize_t pick = -1;
        for (size_t i = 0; i < c->n_thresholds; i++) {
                if (!e->met[i])
                        continue;
                if (pick < 0 || (c->thresholds[i].signal == EVICTION_MEMORY_AVAILABLE &&
                                 c->thresholds[pick].signal != EVICTION_MEMORY_AVAILABLE))
                        pick = (ssize_t) i;
        }
        if (pick < 0)
                return;
        const struct eviction_threshold *t = &c->thresholds[pick];
        enum eviction_resource res = eviction_signal_resource(t->signal);
        log_info("eviction manager: attempting to reclaim %s (%s)", eviction_resource_to_string(res),
                 eviction_signal_to_string(t->signal));
        if (res == RESOURCE_EPHEMERAL_STORAGE || res == RESOURCE_INODES) {
                e->reclaim_busy = true;
                if (op_start(e->m, "eviction-reclaim", work_reclaim, NULL, done_reclaim, e) < 0)
                        e->reclaim_busy = false;
                return;
        }
        evict_one(e, (size_t) pick);
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct eviction_manager *e = userdata;
        synchronize(e);
        (void) sd_event_source_set_time(s, usec + MONITORING_INTERVAL);
        (void) sd_event_source_set_enabled(s, SD_EVENT_ON);
        return 0;
}

/* ---- the manager's interface ------------------------------------------------------------- */

static void find_memory_root(struct eviction_manager *e) {
        struct cgroup_layout *l = NULL;
        if (cgroup_layout_detect(&l, NULL) < 0)
                return;
        if (cgroup_layout_is_v2(l)) {
                e->memory_root = l->unified ? strdup(l->unified) : NULL;
                e->memory_v2 = true;
        } else
                for (size_t i = 0; i < l->n_h && !e->memory_root; i++) {
                        const char *ctl = l->h[i].controllers;
                        for (const char *p = ctl; !l->h[i].v2 && p && *p;) {
                                size_t k = strcspn(p, ",");
                                if (k == 6 && strncmp(p, "memory", 6) == 0) {
                                        e->memory_root = strdup(l->h[i].mount_point);
                                        break;
                                }
                                p += k + (p[k] == ',');
                        }
                }
        cgroup_layout_free(l);
}

int eviction_manager_start(struct manager *m, nl_error *err) {
        _cleanup_(eviction_manager_freep) struct eviction_manager *e = calloc(1, sizeof(*e));
        int r;
        if (!e)
                return nl_error_set(err, -ENOMEM, "out of memory");
        e->m = m;
        r = eviction_config_parse(m->cfg->eviction_hard, m->cfg->eviction_soft, m->cfg->eviction_soft_grace_period,
                                  m->cfg->eviction_minimum_reclaim, &e->cfg, err);
        if (r < 0)
                return r;
        e->cfg.pressure_transition_period = m->cfg->eviction_pressure_transition_period;
        e->cfg.max_pod_grace_period = m->cfg->eviction_max_pod_grace_period;
        e->met = calloc(e->cfg.n_thresholds + 1, sizeof(*e->met));
        e->first_met = calloc(e->cfg.n_thresholds + 1, sizeof(*e->first_met));
        if (!e->met || !e->first_met)
                return nl_error_set(err, -ENOMEM, "out of memory");
        find_memory_root(e);
        observe(e);
        if ((r = sd_event_add_time_relative(m->event, &e->timer, CLOCK_MONOTONIC, MONITORING_INTERVAL, USEC_PER_SEC,
                                            on_timer, e)) < 0)
                return nl_error_set(err, r, "eviction manager timer: %s", strerror(-r));
        (void) sd_event_source_set_description(e->timer, "eviction-manager");
        m->eviction = TAKE_PTR(e);
        return 0;
}

void eviction_manager_free(struct eviction_manager *e) {
        if (!e)
                return;
        sd_event_source_disable_unref(e->timer);
        eviction_config_done(&e->cfg);
        free(e->met);
        free(e->first_met);
        free(e->memory_root);
        free(e->evicting_uid);
        json_decref(e->storage);
        free(e);
}

bool eviction_node_pressure(const struct manager *m, enum eviction_pressure p) {
        return m->eviction && p >= 0 && p < _PRESSURE_MAX && m->eviction->pressure[p];
}

int64_t eviction_allocatable(const struct manager *m, enum eviction_signal signal, int64_t capacity) {
        int64_t reserve = m->eviction ? eviction_hard_reservation(&m->eviction->cfg, signal, capacity) : 0;
        return capacity > reserve ? capacity - reserve : 0;
}

char *eviction_admit(const struct manager *m, const struct pod *pod) {
        if (!m->eviction)
                return NULL;
        return eviction_admit_message(pod, is_static(pod), m->eviction->pressure);
}
