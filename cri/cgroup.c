/* SPDX-License-Identifier: Apache-2.0 */
/* Pod cgroups with the kubelet's cgroupfs layout, on cgroup v1, v2 and hybrid nodes. */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

#include "cgroup.h"
#include "common/fs.h"
#include "common/mountinfo.h"
#include "../podspec/podspec.h"

#define CGROUP_FILE_MAX_BYTES (64u * 1024u)
#define CGROUP_MAX_DEPTH 32
#define RMDIR_RETRIES 50
#define RMDIR_RETRY_NSEC (20 * 1000 * 1000) /* 1 s in all */

#define QOS_GUARANTEED_PARENT "/kubepods"
#define QOS_BURSTABLE_PARENT "/kubepods/burstable"
#define QOS_BEST_EFFORT_PARENT "/kubepods/besteffort"

/* ---- layout ----------------------------------------------------------------------------- */

void cgroup_layout_free(struct cgroup_layout *l) {
        if (!l)
                return;
        for (size_t i = 0; i < l->n_h; i++) {
                free(l->h[i].mount_point);
                free(l->h[i].controllers);
        }
        free(l->h);
        free(l->unified);
        free(l->unified_controllers);
        free(l);
}

DEFINE_TRIVIAL_CLEANUP_FUNC(struct cgroup_layout *, cgroup_layout_free)

/* Super options of a v1 cgroup mount that are not controllers. */
static bool v1_option_is_controller(const char *o, size_t n) {
        static const char *const not_controllers[] = {
                "rw", "ro", "clone_children", "noprefix", "xattr", "cpuset_v2_mode", "nsdelegate"};
        for (size_t i = 0; i < ELEMENTSOF(not_controllers); i++)
                if (strlen(not_controllers[i]) == n && memcmp(o, not_controllers[i], n) == 0)
                        return false;
        if (n >= 14 && memcmp(o, "release_agent=", 14) == 0)
                return false;
        return n > 0;
}

static char *v1_controllers(const char *opts) {
        nl_buf b = {};
        const char *p = opts;
        while (*p) {
                size_t n = strcspn(p, ",");
                if (v1_option_is_controller(p, n)) {
                        if (b.len)
                                nl_buf_puts(&b, ",");
                        nl_buf_append(&b, p, n);
                }
                p += n;
                if (*p == ',')
                        p++;
        }
        if (!b.len)
                nl_buf_puts(&b, "");
        return nl_buf_steal(&b);
}

static int layout_add(struct cgroup_layout *l, const char *mount_point, const char *controllers, bool v2) {
        if (l->n_h >= CGROUP_MAX_HIERARCHIES)
                return -E2BIG;
        for (size_t i = 0; i < l->n_h; i++) /* the same hierarchy mounted twice: keep the first */
                if (l->h[i].v2 == v2 && streq(l->h[i].controllers, controllers))
                        return 0;
        struct cgroup_hierarchy *h = realloc(l->h, (l->n_h + 1) * sizeof(*h));
        if (!h)
                return -ENOMEM;
        l->h = h;
        h[l->n_h] = (struct cgroup_hierarchy){strdup(mount_point), strdup(controllers), v2};
        if (!h[l->n_h].mount_point || !h[l->n_h].controllers) {
                free(h[l->n_h].mount_point);
                free(h[l->n_h].controllers);
                return -ENOMEM;
        }
        l->n_h++;
        return 0;
}

int cgroup_layout_parse(const char *mountinfo, const char *unified_controllers, struct cgroup_layout **ret,
                        nl_error *err) {
        _cleanup_(cgroup_layout_freep) struct cgroup_layout *l = calloc(1, sizeof(*l));
        _cleanup_free_ char *copy = strdup(mountinfo);
        bool any_v1_controller = false;
        int r;

        if (!l || !copy)
                return nl_error_set(err, -ENOMEM, "detect cgroups: out of memory");

        char *save = NULL;
        for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                struct mountinfo_entry e;
                if (mountinfo_parse_line(line, &e) < 0 || !e.super_options)
                        continue;
                bool v2 = streq(e.fstype, "cgroup2");
                if (!v2 && !streq(e.fstype, "cgroup"))
                        continue;
                if (!streq(e.root, "/")) /* a bind mount of a sub-tree: not a hierarchy root */
                        continue;
                _cleanup_free_ char *mp = strdup(e.mount_point);
                _cleanup_free_ char *ctl = v2 ? strdup("") : v1_controllers(e.super_options);
                if (!mp || !ctl)
                        return nl_error_set(err, -ENOMEM, "detect cgroups: out of memory");
                if (v2) {
                        if (l->unified) /* mounted twice */
                                continue;
                        l->unified = strdup(mp);
                        if (!l->unified)
                                return nl_error_set(err, -ENOMEM, "detect cgroups: out of memory");
                } else if (strncmp(ctl, "name=", 5) != 0 && !isempty(ctl))
                        any_v1_controller = true;
                r = layout_add(l, mp, ctl, v2);
                if (r < 0)
                        return nl_error_set(err, r, "detect cgroups: too many cgroup mounts");
        }

        if (l->n_h == 0)
                return nl_error_set(err, -ENOENT, "detect cgroups: no cgroup hierarchy is mounted");
        if (l->unified && !any_v1_controller)
                l->mode = CGROUP_MODE_V2;
        else if (l->unified)
                l->mode = CGROUP_MODE_HYBRID;
        else
                l->mode = CGROUP_MODE_V1;

        /* In v2 mode only the unified hierarchy counts (a leftover name=systemd v1 mount does
         * not: the runtime uses v2 alone). */
        if (l->mode == CGROUP_MODE_V2) {
                size_t j = 0;
                for (size_t i = 0; i < l->n_h; i++) {
                        if (l->h[i].v2)
                                l->h[j++] = l->h[i];
                        else {
                                free(l->h[i].mount_point);
                                free(l->h[i].controllers);
                        }
                }
                l->n_h = j;
        }
        if (unified_controllers) {
                l->unified_controllers = strdup(unified_controllers);
                if (!l->unified_controllers)
                        return nl_error_set(err, -ENOMEM, "detect cgroups: out of memory");
                l->unified_controllers[strcspn(l->unified_controllers, "\n")] = '\0';
        }
        *ret = TAKE_PTR(l);
        return 0;
}

int cgroup_layout_detect(struct cgroup_layout **ret, nl_error *err) {
        _cleanup_free_ char *mi = NULL, *ctl = NULL, *ctl_path = NULL;
        _cleanup_(cgroup_layout_freep) struct cgroup_layout *l = NULL;
        int r;

        r = mountinfo_read(&mi);
        if (r < 0)
                return nl_error_set(err, r, "detect cgroups: read /proc/self/mountinfo: %s", strerror(-r));
        r = cgroup_layout_parse(mi, NULL, &l, err);
        if (r < 0)
                return r;
        if (l->unified) {
                ctl_path = nl_strdupf("%s/cgroup.controllers", l->unified);
                if (!ctl_path)
                        return nl_error_set(err, -ENOMEM, "detect cgroups: out of memory");
                if (nl_read_file(ctl_path, CGROUP_FILE_MAX_BYTES, false, &ctl, NULL) >= 0) {
                        ctl[strcspn(ctl, "\n")] = '\0';
                        l->unified_controllers = TAKE_PTR(ctl);
                }
        }
        *ret = TAKE_PTR(l);
        return 0;
}

bool cgroup_layout_is_v2(const struct cgroup_layout *l) {
        return l && l->mode == CGROUP_MODE_V2;
}

int cgroup_check(const struct cgroup_layout *l, nl_error *err) {
        if (l->mode != CGROUP_MODE_HYBRID || isempty(l->unified_controllers))
                return 0;
        /* crun (1.8 here) refuses hybrid mode while a controller is attached to the cgroup2
         * hierarchy: every container would fail to start. Say it once, with the fix. */
        nl_buf fix = {};
        const char *p = l->unified_controllers;
        while (*p) {
                size_t n = strcspn(p, " ");
                if (n > 0) {
                        _cleanup_free_ char *c = strndup(p, n);
                        if (c)
                                nl_buf_printf(&fix,
                                              "%smkdir -p /sys/fs/cgroup/%s && mount -t cgroup -o %s cgroup "
                                              "/sys/fs/cgroup/%s",
                                              fix.len ? "; " : "", c, c, c);
                }
                p += n;
                while (*p == ' ')
                        p++;
        }
        _cleanup_free_ char *fixes = nl_buf_steal(&fix);
        return nl_error_set(
                err, -EOPNOTSUPP,
                "cgroup hybrid mode with controller(s) \"%s\" on the cgroup v2 hierarchy %s while "
                "cgroup v1 is in use: the OCI runtime (crun) refuses this; mount them as v1 "
                "(%s), as the node preparation script does",
                l->unified_controllers, strempty(l->unified), strempty(fixes));
}

/* ---- names ------------------------------------------------------------------------------ */

static bool path_valid(const char *path) {
        return path && path[0] == '/' && !strstr(path, "/../") && !strstr(path, "/./") &&
               !strstr(path, "//") && strlen(path) < 1024 &&
               !(strlen(path) >= 3 && streq(path + strlen(path) - 3, "/.."));
}

static int write_string(const char *path, const char *s) {
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        size_t n = strlen(s);
        ssize_t w = write(fd, s, n);
        if (w < 0)
                return -errno;
        return (size_t) w == n ? 0 : -EIO;
}


const char *cgroup_qos_parent(const char *qos_class) {
        if (streq_ptr(qos_class, "Guaranteed"))
                return QOS_GUARANTEED_PARENT;
        if (streq_ptr(qos_class, "BestEffort"))
                return QOS_BEST_EFFORT_PARENT;
        return QOS_BURSTABLE_PARENT;
}

char *cgroup_pod_path(const char *root, const char *qos_class, const char *pod_uid) {
        return nl_strdupf("%s%s/pod%s", root && !streq(root, "/") ? root : "", cgroup_qos_parent(qos_class),
                          pod_uid);
}

/* ---- the delegated subtree (cgroupDriver systemd) ---------------------------------------- */

/* The path of /proc/self/cgroup's line for hierarchy h ("0::/x" for cgroup2, "4:memory:/x" for
 * a v1 hierarchy whose controllers are h's), or NULL. */
static const char *self_cgroup_of(const char *text, const struct cgroup_hierarchy *h, size_t *ret_len) {
        for (const char *line = text; line && *line;) {
                const char *end = strchr(line, '\n');
                size_t len = end ? (size_t) (end - line) : strlen(line);
                const char *c1 = memchr(line, ':', len);
                const char *c2 = c1 ? memchr(c1 + 1, ':', len - (size_t) (c1 + 1 - line)) : NULL;
                if (c2) {
                        size_t clen = (size_t) (c2 - c1 - 1);
                        bool match = h->v2 ? clen == 0 && c1 - line == 1 && line[0] == '0'
                                           : clen == strlen(h->controllers) && memcmp(c1 + 1, h->controllers, clen) == 0;
                        if (match) {
                                *ret_len = len - (size_t) (c2 + 1 - line);
                                return c2 + 1;
                        }
                }
                line = end ? end + 1 : NULL;
        }
        return NULL;
}

int cgroup_delegated_root(const struct cgroup_layout *l, const char *self_cgroup, char **ret, nl_error *err) {
        const char *path = NULL, *where = NULL;
        size_t len = 0;
        for (size_t i = 0; i < l->n_h; i++) {
                /* on a hybrid node the runtime uses v1: the cgroup2 mount does not count */
                if (l->h[i].v2 && !cgroup_layout_is_v2(l))
                        continue;
                size_t n;
                const char *p = self_cgroup_of(self_cgroup, &l->h[i], &n);
                if (!p)
                        continue;
                if (!path) {
                        path = p;
                        len = n;
                        where = l->h[i].mount_point;
                } else if (n != len || memcmp(p, path, n) != 0)
                        return nl_error_set(err, -EINVAL,
                                            "cgroupDriver systemd: nodelet's cgroup is %.*s in %s but %.*s in %s: "
                                            "systemd gives a unit with Delegate=yes one cgroup in every hierarchy; "
                                            "start nodelet from such a unit (deploy/)",
                                            (int) len, path, where, (int) n, p, l->h[i].mount_point);
        }
        if (!path)
                return nl_error_set(err, -ENOENT, "cgroupDriver systemd: nodelet's cgroup is not in /proc/self/cgroup");
        /* nodelet's own leaf (a restart without systemd, or DelegateSubgroup=nodelet in the
         * unit, systemd 254 and later): the unit's cgroup is its parent */
        static const char leaf[] = "/" CGROUP_AGENT_LEAF;
        if (len > sizeof(leaf) - 1 && memcmp(path + len - (sizeof(leaf) - 1), leaf, sizeof(leaf) - 1) == 0)
                len -= sizeof(leaf) - 1;
        if (len == 1 && path[0] == '/')
                return nl_error_set(err, -EINVAL,
                                    "cgroupDriver systemd: nodelet runs in the root cgroup; start it from a systemd "
                                    "unit with Delegate=yes (deploy/), whose cgroup its pods go under");
        _cleanup_free_ char *root = strndup(path, len);
        if (!root)
                return nl_error_set(err, -ENOMEM, "out of memory");
        if (root[0] != '/' || !path_valid(root) || strstr(root, "/kubepods"))
                return nl_error_set(err, -EINVAL, "cgroupDriver systemd: nodelet's cgroup \"%s\" cannot hold pods",
                                    root);
        *ret = TAKE_PTR(root);
        return 0;
}

int cgroup_enter_agent_leaf(const struct cgroup_layout *l, const char *root, nl_error *err) {
        if (!cgroup_layout_is_v2(l))
                return 0;
        _cleanup_free_ char *dir = nl_strdupf("%s%s/" CGROUP_AGENT_LEAF, l->unified, root);
        _cleanup_free_ char *procs = dir ? nl_strdupf("%s/cgroup.procs", dir) : NULL;
        char pid[32];
        if (!procs)
                return nl_error_set(err, -ENOMEM, "out of memory");
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                return nl_error_set(err, -errno, "create %s: %m", dir);
        snprintf(pid, sizeof(pid), "%d", (int) getpid());
        int r = write_string(procs, pid);
        if (r < 0)
                return nl_error_set(err, r, "move nodelet into %s: %s", dir, strerror(-r));
        return 0;
}

char *cgroup_container_path(const char *pod_cgroup, const char *container_id) {
        return nl_strdupf("%s/%s", pod_cgroup, container_id);
}

/* ---- pod resources ---------------------------------------------------------------------- */

static const pod_quantity *res_find(const struct pod_resource *list, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (streq_ptr(list[i].name, name))
                        return &list[i].q;
        return NULL;
}

/* cpu in milli-units, memory in bytes; requests fall back to limits (API server defaulting). */
static int64_t container_amount(const struct pod_container *c, bool limit, const char *name) {
        const struct pod_resource_requirements *r = c->resources;
        const pod_quantity *q = NULL;
        if (!r)
                return 0;
        if (!limit)
                q = res_find(r->requests, r->n_requests, name);
        if (!q)
                q = res_find(r->limits, r->n_limits, name);
        if (!q)
                return 0;
        return streq(name, "cpu") ? pod_quantity_milli_value(q) : pod_quantity_value(q);
}

static int64_t sat_add(int64_t a, int64_t b) {
        if (b > 0 && a > INT64_MAX - b)
                return INT64_MAX;
        return a + b;
}

/* resource.PodRequests / PodLimits for one resource. */
static int64_t pod_amount(const struct pod *pod, bool limit, const char *name) {
        const struct pod_spec *s = &pod->spec;
        int64_t sum = 0, restartable = 0, init_max = 0;

        if (s->resources) { /* pod-level resources decide when given */
                const struct pod_resource_requirements *r = s->resources;
                const pod_quantity *q = limit ? res_find(r->limits, r->n_limits, name)
                                              : res_find(r->requests, r->n_requests, name);
                if (!q && !limit)
                        q = res_find(r->limits, r->n_limits, name);
                if (q)
                        return streq(name, "cpu") ? pod_quantity_milli_value(q) : pod_quantity_value(q);
        }
        for (size_t i = 0; i < s->n_containers; i++)
                sum = sat_add(sum, container_amount(&s->containers[i], limit, name));
        for (size_t i = 0; i < s->n_init_containers; i++) {
                const struct pod_container *c = &s->init_containers[i];
                int64_t v = container_amount(c, limit, name), tmp;
                if (streq_ptr(c->restart_policy, "Always")) { /* a sidecar runs with everything after */
                        sum = sat_add(sum, v);
                        restartable = sat_add(restartable, v);
                        tmp = restartable;
                } else
                        tmp = sat_add(v, restartable);
                if (tmp > init_max)
                        init_max = tmp;
        }
        if (init_max > sum)
                sum = init_max;
        const pod_quantity *o = res_find(s->overhead, s->n_overhead, name);
        if (o && !pod_quantity_is_zero(o) && sum > 0) /* overhead counts only with the resource set */
                sum = sat_add(sum, streq(name, "cpu") ? pod_quantity_milli_value(o) : pod_quantity_value(o));
        return sum;
}

void cgroup_pod_resources(const struct pod *pod, struct cgroup_pod_resources *ret) {
        const char *qos = pod_qos_class(pod);
        bool cpu_declared = true, memory_declared = true;
        int64_t cpu_req = pod_amount(pod, false, "cpu");
        int64_t cpu_lim = pod_amount(pod, true, "cpu");
        int64_t mem_lim = pod_amount(pod, true, "memory");

        for (size_t i = 0; i < pod->spec.n_containers; i++) {
                const struct pod_container *c = &pod->spec.containers[i];
                const struct pod_resource_requirements *r = c->resources;
                const pod_quantity *cl = r ? res_find(r->limits, r->n_limits, "cpu") : NULL;
                const pod_quantity *ml = r ? res_find(r->limits, r->n_limits, "memory") : NULL;
                if (!cl || pod_quantity_is_zero(cl))
                        cpu_declared = false;
                if (!ml || pod_quantity_is_zero(ml))
                        memory_declared = false;
        }

        *ret = (struct cgroup_pod_resources){.cpu_period = 100000};
        if (streq(qos, "Guaranteed")) {
                ret->cpu_shares = cri_milli_cpu_to_shares(cpu_req);
                ret->cpu_quota = cri_milli_cpu_to_quota(cpu_lim, ret->cpu_period);
                ret->memory_limit = mem_lim;
        } else if (streq(qos, "Burstable")) {
                ret->cpu_shares = cri_milli_cpu_to_shares(cpu_req);
                if (cpu_declared)
                        ret->cpu_quota = cri_milli_cpu_to_quota(cpu_lim, ret->cpu_period);
                if (memory_declared)
                        ret->memory_limit = mem_lim;
        } else
                ret->cpu_shares = 2; /* MinShares */
}

/* ---- files ------------------------------------------------------------------------------ */


static bool has_controller(const struct cgroup_hierarchy *h, const char *name) {
        const char *p = h->controllers;
        size_t n = strlen(name);
        while (*p) {
                size_t k = strcspn(p, ",");
                if (k == n && memcmp(p, name, n) == 0)
                        return true;
                p += k;
                if (*p == ',')
                        p++;
        }
        return false;
}

static bool word_in(const char *list, const char *word) {
        size_t n = strlen(word);
        for (const char *p = list; p && *p;) {
                size_t k = strcspn(p, " \n");
                if (k == n && memcmp(p, word, n) == 0)
                        return true;
                p += k;
                while (*p == ' ' || *p == '\n')
                        p++;
        }
        return false;
}

/* v2: make the parent hand the controllers it has down to its children. */
static void v2_enable_controllers(const char *parent) {
        static const char *const wanted[] = {"cpu", "cpuset", "memory", "io", "pids", "hugetlb"};
        _cleanup_free_ char *ctl_path = nl_strdupf("%s/cgroup.controllers", parent);
        _cleanup_free_ char *sub_path = nl_strdupf("%s/cgroup.subtree_control", parent);
        _cleanup_free_ char *have = NULL, *on = NULL;
        if (!ctl_path || !sub_path || nl_read_file(ctl_path, CGROUP_FILE_MAX_BYTES, false, &have, NULL) < 0)
                return;
        (void) nl_read_file(sub_path, CGROUP_FILE_MAX_BYTES, false, &on, NULL);
        for (size_t i = 0; i < ELEMENTSOF(wanted); i++) {
                if (!word_in(have, wanted[i]) || word_in(on, wanted[i]))
                        continue;
                char buf[32];
                snprintf(buf, sizeof(buf), "+%s", wanted[i]);
                (void) write_string(sub_path, buf); /* a missing controller shows below */
        }
}

/* v1 cpuset: a new cgroup starts with empty cpus and mems, where no task can run. */
static int v1_cpuset_inherit(const char *dir, const char *parent) {
        static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_free_ char *src = nl_strdupf("%s/%s", parent, files[i]);
                _cleanup_free_ char *dst = nl_strdupf("%s/%s", dir, files[i]);
                _cleanup_free_ char *v = NULL, *cur = NULL;
                if (!src || !dst)
                        return -ENOMEM;
                int r = nl_read_file(src, CGROUP_FILE_MAX_BYTES, false, &v, NULL);
                if (r < 0)
                        return r;
                if (nl_read_file(dst, CGROUP_FILE_MAX_BYTES, false, &cur, NULL) >= 0 && cur[0] != '\n' && cur[0])
                        continue;
                r = write_string(dst, v);
                if (r < 0)
                        return r;
        }
        return 0;
}

struct created {
        char **dirs;
        size_t n;
};

static void created_undo(struct created *c) {
        for (size_t i = c->n; i > 0; i--) {
                (void) rmdir(c->dirs[i - 1]);
                free(c->dirs[i - 1]);
        }
        free(c->dirs);
        *c = (struct created){};
}

static void created_forget(struct created *c) {
        for (size_t i = 0; i < c->n; i++)
                free(c->dirs[i]);
        free(c->dirs);
        *c = (struct created){};
}

/* mkdir each level of path below the hierarchy's mount point. */
static int hierarchy_mkdir(const struct cgroup_hierarchy *h, const char *path, struct created *c) {
        _cleanup_free_ char *full = nl_strdupf("%s%s", h->mount_point, path);
        if (!full)
                return -ENOMEM;
        size_t base = strlen(h->mount_point);
        for (char *p = full + base + 1;; p++) {
                if (*p != '/' && *p != '\0')
                        continue;
                char saved = *p;
                *p = '\0';
                _cleanup_free_ char *parent = strndup(full, (size_t) (strrchr(full, '/') - full));
                if (!parent)
                        return -ENOMEM;
                if (h->v2)
                        v2_enable_controllers(parent);
                if (mkdir(full, 0755) == 0) {
                        char **d = realloc(c->dirs, (c->n + 1) * sizeof(*d));
                        if (!d) {
                                (void) rmdir(full);
                                return -ENOMEM;
                        }
                        c->dirs = d;
                        c->dirs[c->n] = strdup(full);
                        if (!c->dirs[c->n]) {
                                (void) rmdir(full);
                                return -ENOMEM;
                        }
                        c->n++;
                        if (!h->v2 && has_controller(h, "cpuset")) {
                                int r = v1_cpuset_inherit(full, parent);
                                if (r < 0)
                                        return r;
                        }
                } else if (errno != EEXIST)
                        return -errno;
                *p = saved;
                if (saved == '\0')
                        break;
        }
        return 0;
}

static int apply_value(const char *dir, const char *file, const char *value, nl_error *err) {
        _cleanup_free_ char *p = nl_strdupf("%s/%s", dir, file);
        if (!p)
                return nl_error_set(err, -ENOMEM, "out of memory");
        int r = write_string(p, value);
        if (r < 0)
                return nl_error_set(err, r, "set %s to %s: %s", p, value, strerror(-r));
        return 0;
}

/* lift: a resize may take a memory limit away: v1 writes -1 then (a new cgroup has none) */
static int hierarchy_apply(const struct cgroup_hierarchy *h, const char *dir,
                           const struct cgroup_pod_resources *res, bool lift, nl_error *err) {
        char v[64];
        int r;

        if (h->v2) {
                _cleanup_free_ char *ctl_path = nl_strdupf("%s/cgroup.controllers", dir);
                _cleanup_free_ char *ctl = NULL;
                if (!ctl_path)
                        return nl_error_set(err, -ENOMEM, "out of memory");
                (void) nl_read_file(ctl_path, CGROUP_FILE_MAX_BYTES, false, &ctl, NULL);
                if (word_in(ctl, "cpu")) {
                        /* runc's ConvertCPUSharesToCgroupV2Value */
                        uint64_t w = res->cpu_shares ? 1 + ((res->cpu_shares - 2) * 9999) / 262142 : 100;
                        snprintf(v, sizeof(v), "%" PRIu64, w);
                        if ((r = apply_value(dir, "cpu.weight", v, err)) < 0)
                                return r;
                        if (res->cpu_quota > 0)
                                snprintf(v, sizeof(v), "%" PRId64 " %" PRIu64, res->cpu_quota,
                                         res->cpu_period);
                        else
                                snprintf(v, sizeof(v), "max %" PRIu64, res->cpu_period);
                        if ((r = apply_value(dir, "cpu.max", v, err)) < 0)
                                return r;
                }
                if (word_in(ctl, "memory")) {
                        if (res->memory_limit > 0)
                                snprintf(v, sizeof(v), "%" PRId64, res->memory_limit);
                        else
                                snprintf(v, sizeof(v), "max");
                        if ((r = apply_value(dir, "memory.max", v, err)) < 0)
                                return r;
                }
                return 0;
        }
        if (has_controller(h, "cpu")) {
                snprintf(v, sizeof(v), "%" PRIu64, res->cpu_shares ? res->cpu_shares : 1024);
                if ((r = apply_value(dir, "cpu.shares", v, err)) < 0)
                        return r;
                snprintf(v, sizeof(v), "%" PRIu64, res->cpu_period);
                if ((r = apply_value(dir, "cpu.cfs_period_us", v, err)) < 0)
                        return r;
                snprintf(v, sizeof(v), "%" PRId64, res->cpu_quota > 0 ? res->cpu_quota : -1);
                if ((r = apply_value(dir, "cpu.cfs_quota_us", v, err)) < 0)
                        return r;
        }
        if (has_controller(h, "memory") && (res->memory_limit > 0 || lift)) {
                snprintf(v, sizeof(v), "%" PRId64, res->memory_limit > 0 ? res->memory_limit : -1);
                if ((r = apply_value(dir, "memory.limit_in_bytes", v, err)) < 0)
                        return r;
        }
        return 0;
}

int cgroup_pod_create(const struct cgroup_layout *l, const char *path,
                      const struct cgroup_pod_resources *res, nl_error *err) {
        struct created c = {};
        int r;

        if (!path_valid(path))
                return nl_error_set(err, -EINVAL, "create pod cgroup \"%s\": invalid path", strempty(path));
        /* The QoS parents first, in every hierarchy: the besteffort tier gets the minimum
         * weight, as the kubelet's QoS manager gives it. */
        for (size_t i = 0; i < l->n_h; i++) {
                const struct cgroup_hierarchy *h = &l->h[i];
                r = hierarchy_mkdir(h, path, &c);
                if (r < 0) {
                        nl_error_set(err, r, "create pod cgroup %s%s: %s", h->mount_point, path,
                                     strerror(-r));
                        goto fail;
                }
                const char *be = strstr(path, QOS_BEST_EFFORT_PARENT "/");
                if (be && !h->v2 && has_controller(h, "cpu")) {
                        _cleanup_free_ char *qd = nl_strdupf("%s%.*s%s", h->mount_point, (int) (be - path), path,
                                                             QOS_BEST_EFFORT_PARENT);
                        if (qd)
                                (void) apply_value(qd, "cpu.shares", "2", NULL);
                }
                _cleanup_free_ char *dir = nl_strdupf("%s%s", h->mount_point, path);
                if (!dir) {
                        r = nl_error_set(err, -ENOMEM, "create pod cgroup: out of memory");
                        goto fail;
                }
                r = hierarchy_apply(h, dir, res, false, err);
                if (r < 0) {
                        nl_error_prefix(err, "pod cgroup limits");
                        goto fail;
                }
        }
        created_forget(&c);
        return 0;
fail:
        created_undo(&c);
        return r;
}

/* An int64 from a cgroup file (cpu.max: its first field, the quota); "max" and v1's
 * "unlimited" (close to INT64_MAX) read as 0. */
static int64_t read_limit(const char *dir, const char *file) {
        _cleanup_free_ char *p = nl_strdupf("%s/%s", dir, file), *v = NULL;
        if (!p || nl_read_file(p, CGROUP_FILE_MAX_BYTES, false, &v, NULL) < 0)
                return 0;
        const char *s = v;
        if (strncmp(s, "max", 3) == 0)
                return 0;
        char *end = NULL;
        errno = 0;
        long long n = strtoll(s, &end, 10);
        if (errno || end == s || n < 0 || n >= (1LL << 62))
                return 0;
        return n;
}

int cgroup_pod_read(const struct cgroup_layout *l, const char *path, struct cgroup_pod_resources *ret) {
        struct cgroup_pod_resources cur = { .cpu_period = 100000 };
        if (!path_valid(path))
                return -EINVAL;
        for (size_t i = 0; i < l->n_h; i++) {
                const struct cgroup_hierarchy *h = &l->h[i];
                _cleanup_free_ char *dir = nl_strdupf("%s%s", h->mount_point, path);
                if (!dir)
                        return -ENOMEM;
                if (h->v2) {
                        _cleanup_free_ char *ctl_path = nl_strdupf("%s/cgroup.controllers", dir), *ctl = NULL;
                        if (!ctl_path)
                                return -ENOMEM;
                        (void) nl_read_file(ctl_path, CGROUP_FILE_MAX_BYTES, false, &ctl, NULL);
                        if (word_in(ctl, "cpu")) {
                                int64_t w = read_limit(dir, "cpu.weight");
                                if (w > 0) /* the inverse of hierarchy_apply's conversion */
                                        cur.cpu_shares = 2 + (uint64_t) (w - 1) * 262142 / 9999;
                                cur.cpu_quota = read_limit(dir, "cpu.max");
                        }
                        if (word_in(ctl, "memory"))
                                cur.memory_limit = read_limit(dir, "memory.max");
                        continue;
                }
                if (has_controller(h, "cpu")) {
                        cur.cpu_shares = (uint64_t) read_limit(dir, "cpu.shares");
                        int64_t q = read_limit(dir, "cpu.cfs_quota_us");
                        int64_t p = read_limit(dir, "cpu.cfs_period_us");
                        cur.cpu_quota = q;
                        if (p > 0)
                                cur.cpu_period = (uint64_t) p;
                }
                if (has_controller(h, "memory"))
                        cur.memory_limit = read_limit(dir, "memory.limit_in_bytes");
        }
        *ret = cur;
        return 0;
}

int cgroup_pod_update(const struct cgroup_layout *l, const char *path, const struct cgroup_pod_resources *res,
                      nl_error *err) {
        if (!path_valid(path))
                return nl_error_set(err, -EINVAL, "update pod cgroup \"%s\": invalid path", strempty(path));
        for (size_t i = 0; i < l->n_h; i++) {
                const struct cgroup_hierarchy *h = &l->h[i];
                if (!h->v2 && !has_controller(h, "cpu") && !has_controller(h, "memory"))
                        continue;
                _cleanup_free_ char *dir = nl_strdupf("%s%s", h->mount_point, path);
                if (!dir)
                        return nl_error_set(err, -ENOMEM, "out of memory");
                if (access(dir, F_OK) < 0)
                        continue; /* a hybrid node's empty cgroup2 side, or a controller not in use */
                int r = hierarchy_apply(h, dir, res, true, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

int cgroup_procs_files(const struct cgroup_layout *l, const char *path, char ***ret, size_t *ret_n) {
        char **v = calloc(l->n_h + 1, sizeof(char *));
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < l->n_h; i++) {
                v[i] = nl_strdupf("%s%s/cgroup.procs", l->h[i].mount_point, path);
                if (!v[i]) {
                        for (size_t j = 0; j < i; j++)
                                free(v[j]);
                        free(v);
                        return -ENOMEM;
                }
        }
        *ret = v;
        *ret_n = l->n_h;
        return 0;
}

static int rmdir_retry(const char *dir) {
        for (unsigned i = 0;; i++) {
                if (rmdir(dir) == 0 || errno == ENOENT)
                        return 0;
                if (errno != EBUSY || i >= RMDIR_RETRIES)
                        return -errno;
                /* the last tasks may still be exiting */
                struct timespec ts = {0, RMDIR_RETRY_NSEC};
                nanosleep(&ts, NULL);
        }
}

/* Child cgroups first (containers the runtime left), directories only. */
static int rmdir_tree(const char *dir, unsigned depth) {
        if (depth > CGROUP_MAX_DEPTH)
                return -ELOOP;
        DIR *d;
        int r = nl_opendir_at(AT_FDCWD, dir, &d);
        if (r < 0)
                return r == -ENOENT ? 0 : r;
        struct dirent *e;
        while ((e = nl_readdir(d))) {
                if (e->d_type != DT_DIR)
                        continue;
                _cleanup_free_ char *sub = nl_strdupf("%s/%s", dir, e->d_name);
                if (!sub) {
                        r = -ENOMEM;
                        break;
                }
                int k = rmdir_tree(sub, depth + 1);
                if (k < 0 && r == 0)
                        r = k;
        }
        closedir(d);
        int k = rmdir_retry(dir);
        return r < 0 ? r : k;
}

int cgroup_pod_remove(const struct cgroup_layout *l, const char *path, nl_error *err) {
        int ret = 0;
        if (!path_valid(path) || !strstr(path, "/kubepods/"))
                return nl_error_set(err, -EINVAL, "remove pod cgroup \"%s\": invalid path", strempty(path));
        for (size_t i = 0; i < l->n_h; i++) {
                _cleanup_free_ char *dir = nl_strdupf("%s%s", l->h[i].mount_point, path);
                if (!dir)
                        return nl_error_set(err, -ENOMEM, "remove pod cgroup: out of memory");
                int r = rmdir_tree(dir, 0);
                if (r < 0 && ret == 0) {
                        ret = r;
                        if (r == -EBUSY)
                                nl_error_set(err, r, "remove pod cgroup %s: still busy (processes inside?)",
                                             dir);
                        else
                                nl_error_set(err, r, "remove pod cgroup %s: %s", dir, strerror(-r));
                }
        }
        return ret;
}

bool cgroup_exists(const struct cgroup_layout *l, const char *path) {
        for (size_t i = 0; i < l->n_h; i++) {
                _cleanup_free_ char *dir = nl_strdupf("%s%s", l->h[i].mount_point, path);
                struct stat st;
                if (dir && stat(dir, &st) == 0)
                        return true;
        }
        return false;
}

int cri_cgroup_delegate(char **ret_root, nl_error *err) {
        _cleanup_(cgroup_layout_freep) struct cgroup_layout *l = NULL;
        _cleanup_free_ char *self = NULL, *root = NULL;
        int r = cgroup_layout_detect(&l, err);
        if (r < 0)
                return r;
        if ((r = nl_read_file("/proc/self/cgroup", CGROUP_FILE_MAX_BYTES, false, &self, NULL)) < 0)
                return nl_error_set(err, r, "read /proc/self/cgroup: %s", strerror(-r));
        if ((r = cgroup_delegated_root(l, self, &root, err)) < 0 || (r = cgroup_enter_agent_leaf(l, root, err)) < 0)
                return r;
        *ret_root = TAKE_PTR(root);
        return 0;
}
