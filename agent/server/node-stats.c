/* SPDX-License-Identifier: Apache-2.0 */
/* The node server's figures: /metrics (Prometheus text), /metrics/resource and /stats/summary
 * (the kubelet's Summary API) from /proc and the pods' cgroups. Runs in a connection's child. */
#include <dirent.h>
#include <sys/statvfs.h>
#include <sys/sysinfo.h>

#include "common/fs.h"
#include "cri/cgroup.h"
#include "cri/layout.h"
#include "node-server.h"
#include "node-server-internal.h"
#include "agent/state/state.h"





/* ==== metrics =============================================================================== */

static bool container_running(json_t *c) {
        return json_object_get(json_object_get(c, "state"), "running") != NULL;
}

/* utime + stime (clock ticks), start time (ticks after boot), vsize, rss (pages) of pid. */
struct proc_stat {
        uint64_t utime, stime, starttime, vsize, rss_pages;
};

static int read_proc_stat(pid_t pid, struct proc_stat *ret) {
        _cleanup_free_ char *path = nl_strdupf("/proc/%d/stat", (int) pid), *buf = NULL;
        if (!path || nl_read_file(path, 65536, false, &buf, NULL) < 0)
                return -EIO;
        /* the command name may hold anything: fields start after its last ')' */
        char *p = strrchr(buf, ')');
        if (!p)
                return -EIO;
        unsigned long long v[24] = {};
        char *save = NULL;
        size_t n = 0;
        /* fields 3.. of proc(5): state is field 3 */
        for (char *tok = strtok_r(p + 1, " \n", &save); tok && n < ELEMENTSOF(v);
             tok = strtok_r(NULL, " \n", &save))
                v[n++] = strtoull(tok, NULL, 10);
        if (n < 22)
                return -EIO;
        /* v[0] = field 3; utime 14, stime 15, starttime 22, vsize 23, rss 24 */
        *ret = (struct proc_stat){
                .utime = v[11], .stime = v[12], .starttime = v[19], .vsize = v[20], .rss_pages = v[21]};
        return 0;
}

static uint64_t boot_time_sec(void) {
        _cleanup_free_ char *buf = NULL;
        if (nl_read_file("/proc/stat", 1024 * 1024, false, &buf, NULL) < 0)
                return 0;
        const char *b = strstr(buf, "\nbtime ");
        return b ? strtoull(b + 7, NULL, 10) : 0;
}

static unsigned count_fds(pid_t pid) {
        _cleanup_free_ char *path = nl_strdupf("/proc/%d/fd", (int) pid);
        DIR *d = path ? opendir(path) : NULL;
        unsigned n = 0;
        if (!d)
                return 0;
        for (struct dirent *de; (de = readdir(d));)
                n += de->d_name[0] != '.';
        closedir(d);
        return n;
}

int node_metrics_write_default(const char *root_dir, pid_t pid, FILE *out) {
        json_t *pods = node_pods_load(root_dir);
        if (!pods)
                return -ENOMEM;
        unsigned running_pods = 0, running_containers = 0;
        size_t i;
        json_t *p;
        json_array_foreach(pods, i, p) {
                unsigned n = 0;
                for (size_t l = 0; l < ELEMENTSOF(status_lists); l++) {
                        size_t k;
                        json_t *c;
                        json_array_foreach(json_object_get(json_object_get(p, "status"), status_lists[l]), k,
                                           c) n += container_running(c);
                }
                running_containers += n;
                running_pods += n > 0;
        }
        json_decref(pods);
        fprintf(out,
                "# HELP nodelet_running_pods Number of pods that have a running container.\n"
                "# TYPE nodelet_running_pods gauge\n"
                "nodelet_running_pods %u\n"
                "# HELP nodelet_running_containers Number of containers currently running.\n"
                "# TYPE nodelet_running_containers gauge\n"
                "nodelet_running_containers{container_state=\"running\"} %u\n",
                running_pods, running_containers);

        struct proc_stat ps;
        long hz = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
        if (read_proc_stat(pid, &ps) == 0 && hz > 0 && page > 0) {
                fprintf(out,
                        "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n"
                        "# TYPE process_cpu_seconds_total counter\n"
                        "process_cpu_seconds_total %.2f\n"
                        "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
                        "# TYPE process_resident_memory_bytes gauge\n"
                        "process_resident_memory_bytes %" PRIu64 "\n"
                        "# HELP process_virtual_memory_bytes Virtual memory size in bytes.\n"
                        "# TYPE process_virtual_memory_bytes gauge\n"
                        "process_virtual_memory_bytes %" PRIu64 "\n"
                        "# HELP process_start_time_seconds Start time of the process since unix epoch in "
                        "seconds.\n"
                        "# TYPE process_start_time_seconds gauge\n"
                        "process_start_time_seconds %.2f\n"
                        "# HELP process_open_fds Number of open file descriptors.\n"
                        "# TYPE process_open_fds gauge\n"
                        "process_open_fds %u\n",
                        (double) (ps.utime + ps.stime) / (double) hz, ps.rss_pages * (uint64_t) page,
                        ps.vsize, (double) boot_time_sec() + (double) ps.starttime / (double) hz,
                        count_fds(pid));
        }
        return ferror(out) ? -EIO : 0;
}

/* ==== stats (the kubelet's Summary API, /metrics/resource) ================================== */

struct cg_roots {
        char *cpu, *memory; /* hierarchy mount points, NULL when that controller is not found */
        bool v2;
};

static bool has_controller(const char *list, const char *name) {
        size_t n = strlen(name);
        for (const char *p = list; p && *p;) {
                size_t k = strcspn(p, ",");
                if (k == n && memcmp(p, name, n) == 0)
                        return true;
                p += k + (p[k] == ',');
        }
        return false;
}

static void cg_roots_detect(struct cg_roots *ret) {
        struct cgroup_layout *l = NULL;
        *ret = (struct cg_roots){};
        if (cgroup_layout_detect(&l, NULL) < 0)
                return;
        if (cgroup_layout_is_v2(l)) {
                ret->cpu = strdup(l->unified);
                ret->memory = strdup(l->unified);
                ret->v2 = true;
        } else
                for (size_t i = 0; i < l->n_h; i++) {
                        if (l->h[i].v2)
                                continue;
                        if (!ret->cpu && has_controller(l->h[i].controllers, "cpuacct"))
                                ret->cpu = strdup(l->h[i].mount_point);
                        if (!ret->memory && has_controller(l->h[i].controllers, "memory"))
                                ret->memory = strdup(l->h[i].mount_point);
                }
        cgroup_layout_free(l);
}

static void cg_roots_done(struct cg_roots *r) {
        free(r->cpu);
        free(r->memory);
}

/* "key value" lines (memory.stat, cpu.stat, /proc/vmstat) or "Key: value kB" (/proc/meminfo). */
static bool kv_get(const char *buf, const char *key, uint64_t *ret) {
        size_t n = strlen(key);
        for (const char *p = buf; p && *p;) {
                if (strncmp(p, key, n) == 0 && (p[n] == ' ' || p[n] == ':')) {
                        const char *v = p + n + 1;
                        while (*v == ' ')
                                v++;
                        *ret = strtoull(v, NULL, 10);
                        return true;
                }
                p = strchr(p, '\n');
                if (p)
                        p++;
        }
        return false;
}

struct usage {
        bool has_cpu, has_memory, has_available;
        uint64_t cpu0, cpu; /* ns, two samples */
        usec_t t0, t;       /* CLOCK_MONOTONIC of the samples */
        usec_t when;        /* CLOCK_REALTIME of the second */
        uint64_t usage, working_set, rss, available, page_faults, major_page_faults;
};

static int cg_cpu(const struct cg_roots *roots, const char *cg, uint64_t *ret) {
        if (!roots->cpu)
                return -ENOENT;
        if (roots->v2) {
                _cleanup_free_ char *path = nl_strdupf("%s%s/cpu.stat", roots->cpu, cg), *buf = NULL;
                uint64_t us;
                if (!path || nl_read_file(path, 65536, true, &buf, NULL) < 0 ||
                    !kv_get(buf, "usage_usec", &us))
                        return -ENOENT;
                *ret = us * NSEC_PER_USEC;
                return 0;
        }
        _cleanup_free_ char *path = nl_strdupf("%s%s/cpuacct.usage", roots->cpu, cg);
        return path ? nl_read_u64_file(path, ret) : -ENOMEM;
}

/* As cAdvisor: working set = usage - inactive file pages (not below 0); available only under a
 * limit. */
static void cg_memory(const struct cg_roots *roots, const char *cg, struct usage *u) {
        if (!roots->memory)
                return;
        const char *m = roots->memory;
        _cleanup_free_ char *usage_path =
                nl_strdupf(roots->v2 ? "%s%s/memory.current" : "%s%s/memory.usage_in_bytes", m, cg);
        _cleanup_free_ char *limit_path =
                nl_strdupf(roots->v2 ? "%s%s/memory.max" : "%s%s/memory.limit_in_bytes", m, cg);
        _cleanup_free_ char *stat_path = nl_strdupf("%s%s/memory.stat", m, cg), *stat = NULL;
        uint64_t usage, limit = UINT64_MAX, inactive = 0;
        if (!usage_path || !limit_path || !stat_path || nl_read_u64_file(usage_path, &usage) < 0)
                return;
        (void) nl_read_u64_file(limit_path, &limit);
        (void) nl_read_file(stat_path, 1024 * 1024, true, &stat, NULL);
        const char *st = strempty(stat);
        (void) kv_get(st, roots->v2 ? "inactive_file" : "total_inactive_file", &inactive);
        u->has_memory = true;
        u->usage = usage;
        u->working_set = usage > inactive ? usage - inactive : 0;
        (void) kv_get(st, roots->v2 ? "anon" : "total_rss", &u->rss);
        (void) kv_get(st, roots->v2 ? "pgfault" : "total_pgfault", &u->page_faults);
        (void) kv_get(st, roots->v2 ? "pgmajfault" : "total_pgmajfault", &u->major_page_faults);
        /* v1 reports "no limit" as a huge page-rounded number */
        if (limit != UINT64_MAX && limit < (UINT64_C(1) << 62)) {
                u->has_available = true;
                u->available = limit > u->working_set ? limit - u->working_set : 0;
        }
}

/* The node from /proc: cpu from /proc/stat (all but idle and iowait; guest time is in user
 * already), memory from /proc/meminfo (usage = total - free, as the root cgroup counts it). */
static int node_cpu(uint64_t *ret) {
        _cleanup_free_ char *buf = NULL;
        if (nl_read_file("/proc/stat", 1024 * 1024, false, &buf, NULL) < 0 || strncmp(buf, "cpu ", 4) != 0)
                return -EIO;
        unsigned long long v[8] = {};
        if (sscanf(buf + 4, "%llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4],
                   &v[5], &v[6], &v[7]) < 8)
                return -EIO;
        long hz = sysconf(_SC_CLK_TCK);
        if (hz <= 0)
                return -EIO;
        uint64_t ticks = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
        *ret = ticks * (NSEC_PER_SEC / (uint64_t) hz);
        return 0;
}

static void node_memory(struct usage *u) {
        _cleanup_free_ char *mi = NULL, *vm = NULL;
        uint64_t total, free_, inactive = 0, anon = 0;
        if (nl_read_file("/proc/meminfo", 1024 * 1024, false, &mi, NULL) < 0 ||
            !kv_get(mi, "MemTotal", &total) || !kv_get(mi, "MemFree", &free_))
                return;
        (void) kv_get(mi, "Inactive(file)", &inactive);
        (void) kv_get(mi, "AnonPages", &anon);
        total *= 1024;
        free_ *= 1024;
        u->has_memory = true;
        u->usage = total > free_ ? total - free_ : 0;
        u->working_set = u->usage > inactive * 1024 ? u->usage - inactive * 1024 : 0;
        u->rss = anon * 1024;
        u->has_available = true;
        u->available = total > u->working_set ? total - u->working_set : 0;
        if (nl_read_file("/proc/vmstat", 1024 * 1024, false, &vm, NULL) == 0) {
                (void) kv_get(vm, "pgfault", &u->page_faults);
                (void) kv_get(vm, "pgmajfault", &u->major_page_faults);
        }
}

static char *time_string(usec_t realtime) {
        return format_rfc3339(realtime);
}

static void json_set_string_owned(json_t *o, const char *key, char *s) {
        if (s)
                json_object_set_new(o, key, json_string(s));
        free(s);
}

static json_t *cpu_json(const struct usage *u) {
        if (!u->has_cpu)
                return NULL;
        json_t *j = json_object();
        json_set_string_owned(j, "time", time_string(u->when));
        if (u->t0 && u->t > u->t0 && u->cpu >= u->cpu0)
                json_object_set_new(
                        j, "usageNanoCores",
                        json_integer((json_int_t) ((u->cpu - u->cpu0) * USEC_PER_SEC / (u->t - u->t0))));
        json_object_set_new(j, "usageCoreNanoSeconds", json_integer((json_int_t) u->cpu));
        return j;
}

static json_t *memory_json(const struct usage *u) {
        if (!u->has_memory)
                return NULL;
        json_t *j = json_object();
        json_set_string_owned(j, "time", time_string(u->when));
        if (u->has_available)
                json_object_set_new(j, "availableBytes", json_integer((json_int_t) u->available));
        json_object_set_new(j, "usageBytes", json_integer((json_int_t) u->usage));
        json_object_set_new(j, "workingSetBytes", json_integer((json_int_t) u->working_set));
        json_object_set_new(j, "rssBytes", json_integer((json_int_t) u->rss));
        json_object_set_new(j, "pageFaults", json_integer((json_int_t) u->page_faults));
        json_object_set_new(j, "majorPageFaults", json_integer((json_int_t) u->major_page_faults));
        return j;
}

static json_t *fs_json(const char *path, usec_t when) {
        struct statvfs sv;
        if (!path || statvfs(path, &sv) < 0)
                return NULL;
        uint64_t bs = sv.f_frsize ? sv.f_frsize : sv.f_bsize;
        json_t *j = json_object();
        json_set_string_owned(j, "time", time_string(when));
        json_object_set_new(j, "availableBytes", json_integer((json_int_t) (sv.f_bavail * bs)));
        json_object_set_new(j, "capacityBytes", json_integer((json_int_t) (sv.f_blocks * bs)));
        json_object_set_new(j, "usedBytes", json_integer((json_int_t) ((sv.f_blocks - sv.f_bfree) * bs)));
        json_object_set_new(j, "inodesFree", json_integer((json_int_t) sv.f_ffree));
        json_object_set_new(j, "inodes", json_integer((json_int_t) sv.f_files));
        json_object_set_new(j, "inodesUsed", json_integer((json_int_t) (sv.f_files - sv.f_ffree)));
        return j;
}

static void set_if(json_t *o, const char *key, json_t *v) {
        if (v)
                json_object_set_new(o, key, v);
}

/* One thing measured: the node (cg NULL), a pod or a container cgroup. */
struct stat_item {
        char *cg;
        json_t *pod;       /* borrowed */
        const char *name;  /* container name; NULL for the node and pods */
        const char *start; /* startTime / startedAt */
        size_t parent;     /* containers: the pod's item */
        struct usage u;
};

struct stats {
        json_t *pods;
        struct stat_item *items;
        size_t n;
        struct cg_roots roots;
};

static void stats_done(struct stats *st) {
        for (size_t i = 0; i < st->n; i++)
                free(st->items[i].cg);
        free(st->items);
        json_decref(st->pods);
        cg_roots_done(&st->roots);
}

static int stats_add(struct stats *st, struct stat_item item) {
        struct stat_item *n = realloc(st->items, (st->n + 1) * sizeof(*n));
        if (!n) {
                free(item.cg);
                return -ENOMEM;
        }
        st->items = n;
        st->items[st->n++] = item;
        return 0;
}

static void sample_cpu(struct stats *st, bool first) {
        usec_t now = now_monotonic();
        for (size_t i = 0; i < st->n; i++) {
                struct stat_item *it = &st->items[i];
                uint64_t v = 0;
                bool ok = (it->cg ? cg_cpu(&st->roots, it->cg, &v) : node_cpu(&v)) == 0;
                if (first) {
                        it->u.cpu0 = v;
                        it->u.t0 = ok ? now : 0;
                } else {
                        it->u.has_cpu = ok;
                        it->u.cpu = v;
                        it->u.t = now;
                }
        }
}

/* Gather the node, each pod's cgroup (the kubelet's cgroupfs layout: [<cgroup root>]/kubepods[/<qos>]/pod<uid>)
 * and each running container's (<pod cgroup>/<container id>). usageNanoCores needs two samples:
 * with rate they are taken 100 ms apart, else only usageCoreNanoSeconds is reported. */
static int stats_collect(const char *root_dir, const char *cgroup_root, bool rate, struct stats *st) {
        *st = (struct stats){};
        cg_roots_detect(&st->roots);
        st->pods = node_pods_load(root_dir);
        if (!st->pods)
                return -ENOMEM;
        int r = stats_add(st, (struct stat_item){});
        if (r < 0)
                return r;
        size_t i;
        json_t *p;
        json_array_foreach(st->pods, i, p) {
                const char *uid = jpath_str(p, "metadata", "uid", NULL);
                if (!path_component_ok(uid))
                        continue;
                char *pod_cg = cgroup_pod_path(cgroup_root, jpath_str(p, "status", "qosClass", NULL), uid);
                if (!pod_cg)
                        return -ENOMEM;
                size_t parent = st->n;
                if ((r = stats_add(st, (struct stat_item){
                                               .cg = pod_cg,
                                               .pod = p,
                                               .start = jpath_str(p, "status", "startTime", NULL)})) < 0)
                        return r;
                size_t k;
                json_t *c;
                json_array_foreach(json_object_get(json_object_get(p, "status"), "containerStatuses"), k,
                                   c) {
                        const char *cid = json_string_value(json_object_get(c, "containerID"));
                        const char *sep = cid ? strstr(cid, "://") : NULL;
                        if (!container_running(c) || !sep || !path_component_ok(sep + 3))
                                continue;
                        char *cg = cgroup_container_path(st->items[parent].cg, sep + 3);
                        if (!cg)
                                return -ENOMEM;
                        r = stats_add(st, (struct stat_item){
                                                  .cg = cg,
                                                  .pod = p,
                                                  .name = json_string_value(json_object_get(c, "name")),
                                                  .start = jpath_str(c, "state", "running", "startedAt"),
                                                  .parent = parent,
                                          });
                        if (r < 0)
                                return r;
                }
        }
        if (rate) {
                sample_cpu(st, true);
                struct timespec ts = {.tv_sec = 0, .tv_nsec = 100 * 1000 * 1000};
                while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                        ;
        }
        sample_cpu(st, false);
        usec_t when = now_realtime();
        for (size_t k = 0; k < st->n; k++) {
                struct stat_item *it = &st->items[k];
                it->u.when = when;
                if (it->cg)
                        cg_memory(&st->roots, it->cg, &it->u);
                else
                        node_memory(&it->u);
        }
        return 0;
}

static json_t *summary_json(const struct stats *st, const char *node_name, const char *root_dir) {
        const struct stat_item *node = &st->items[0];
        json_t *n = json_object(), *pods = json_array();
        json_object_set_new(n, "nodeName", json_string(strempty(node_name)));
        uint64_t btime = boot_time_sec();
        if (btime)
                json_set_string_owned(n, "startTime", time_string(btime * USEC_PER_SEC));
        set_if(n, "cpu", cpu_json(&node->u));
        set_if(n, "memory", memory_json(&node->u));
        set_if(n, "fs", fs_json(root_dir, node->u.when));
        _cleanup_free_ char *images = layout_images_dir(root_dir);
        json_t *image_fs = fs_json(images && access(images, F_OK) == 0 ? images : root_dir, node->u.when);
        if (image_fs)
                json_object_set_new(n, "runtime", json_pack("{s:o}", "imageFs", image_fs));
        struct sysinfo si;
        uint64_t pid_max = 0;
        if (sysinfo(&si) == 0 && nl_read_u64_file("/proc/sys/kernel/pid_max", &pid_max) == 0) {
                json_t *rl = json_object();
                json_set_string_owned(rl, "time", time_string(node->u.when));
                json_object_set_new(rl, "maxpid", json_integer((json_int_t) pid_max));
                json_object_set_new(rl, "curproc", json_integer((json_int_t) si.procs));
                json_object_set_new(n, "rlimit", rl);
        }
        json_t *pod = NULL, *containers = NULL;
        for (size_t i = 1; i < st->n; i++) {
                const struct stat_item *it = &st->items[i];
                if (!it->name) {
                        containers = json_array();
                        pod = json_pack("{s:{s:s, s:s, s:s}, s:o}", "podRef", "name",
                                        strempty(jpath_str(it->pod, "metadata", "name", NULL)), "namespace",
                                        strempty(jpath_str(it->pod, "metadata", "namespace", NULL)), "uid",
                                        strempty(jpath_str(it->pod, "metadata", "uid", NULL)), "containers",
                                        containers);
                        if (it->start)
                                json_object_set_new(pod, "startTime", json_string(it->start));
                        set_if(pod, "cpu", cpu_json(&it->u));
                        set_if(pod, "memory", memory_json(&it->u));
                        json_array_append_new(pods, pod);
                        continue;
                }
                json_t *c = json_pack("{s:s}", "name", it->name);
                if (it->start)
                        json_object_set_new(c, "startTime", json_string(it->start));
                set_if(c, "cpu", cpu_json(&it->u));
                set_if(c, "memory", memory_json(&it->u));
                json_array_append_new(containers, c);
        }
        return json_pack("{s:o, s:o}", "node", n, "pods", pods);
}

static void prom_label(FILE *out, const char *name, const char *value, bool last) {
        fprintf(out, "%s=\"", name);
        for (const char *p = strempty(value); *p; p++) {
                if (*p == '\\' || *p == '"')
                        fprintf(out, "\\%c", *p);
                else if (*p == '\n')
                        fputs("\\n", out);
                else
                        fputc(*p, out);
        }
        fputs(last ? "\"" : "\",", out);
}

/* One family of /metrics/resource: the metrics-server's source (`kubectl top`). kind: 0 node,
 * 1 pod, 2 container; what: 0 cpu seconds, 1 working set, 2 start time. */
static void resource_family(FILE *out, const struct stats *st, int kind, int what) {
        static const char *const kinds[] = {"node", "pod", "container"};
        static const char *const names[] = {"cpu_usage_seconds_total", "memory_working_set_bytes",
                                            "start_time_seconds"};
        static const char *const help[][2] = {{"Cumulative cpu time consumed by the", "in core-seconds"},
                                              {"Current working set of the", "in bytes"},
                                              {"Start time of the", "since unix epoch in seconds"}};
        fprintf(out, "# HELP %s_%s [STABLE] %s %s %s\n# TYPE %s_%s %s\n", kinds[kind], names[what],
                help[what][0], kinds[kind], help[what][1], kinds[kind], names[what],
                what == 0 ? "counter" : "gauge");
        for (size_t i = 0; i < st->n; i++) {
                const struct stat_item *it = &st->items[i];
                if ((kind == 0) != (i == 0) || (kind == 1 && it->name) || (kind == 2 && !it->name))
                        continue;
                double v;
                if (what == 0 && it->u.has_cpu)
                        v = (double) it->u.cpu / 1e9;
                else if (what == 1 && it->u.has_memory)
                        v = (double) it->u.working_set;
                else if (what == 2 && it->start && parse_rfc3339(it->start))
                        v = (double) (parse_rfc3339(it->start) / USEC_PER_SEC);
                else
                        continue;
                fprintf(out, "%s_%s", kinds[kind], names[what]);
                if (kind > 0) {
                        fputc('{', out);
                        if (kind == 2)
                                prom_label(out, "container", it->name, false);
                        prom_label(out, "namespace", jpath_str(it->pod, "metadata", "namespace", NULL),
                                   false);
                        prom_label(out, "pod", jpath_str(it->pod, "metadata", "name", NULL), true);
                        fputc('}', out);
                }
                fprintf(out, " %.9g %" PRIu64 "\n", v, (uint64_t) (it->u.when / 1000));
        }
}

static void resource_metrics(FILE *out, const struct stats *st) {
        resource_family(out, st, 2, 0);
        resource_family(out, st, 2, 1);
        resource_family(out, st, 2, 2);
        resource_family(out, st, 0, 0);
        resource_family(out, st, 0, 1);
        resource_family(out, st, 1, 0);
        resource_family(out, st, 1, 1);
        fputs("# HELP resource_scrape_error [STABLE] 1 if there was an error while getting container "
              "metrics, 0 otherwise\n"
              "# TYPE resource_scrape_error gauge\n"
              "resource_scrape_error 0\n",
              out);
}


int node_stats_summary(const char *root_dir, const char *cgroup_root, const char *node_name, json_t **ret) {
        struct stats st;
        int r = stats_collect(root_dir, cgroup_root, true, &st);
        if (r >= 0) {
                *ret = summary_json(&st, node_name, root_dir);
                if (!*ret)
                        r = -ENOMEM;
        }
        stats_done(&st);
        return r;
}

int node_stats_resource_metrics(const char *root_dir, const char *cgroup_root, FILE *out) {
        struct stats st;
        int r = stats_collect(root_dir, cgroup_root, false, &st);
        if (r >= 0)
                resource_metrics(out, &st);
        stats_done(&st);
        return r;
}
