/* SPDX-License-Identifier: Apache-2.0 */
/* OCI runtime-spec config.json from a container plan, shaped as containerd's CRI plugin
 * shapes it (containerd oci.populateDefaultUnixSpec, pkg/cri/opts/spec_linux.go), so crun
 * and runc see what they would see under containerd. */
#include <inttypes.h>
#include <stdio.h>

#include <dirent.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include "cri.h"
#include "podspec/podspec.h"

/* containerd's defaults: paths that leak host information, masked or read-only. */
static const char *const MASKED_PATHS[] = { "/proc/acpi",       "/proc/asound",       "/proc/kcore",
                                            "/proc/keys",       "/proc/latency_stats", "/proc/timer_list",
                                            "/proc/timer_stats", "/proc/sched_debug",  "/proc/scsi",
                                            "/sys/firmware",    "/sys/devices/virtual/powercap", NULL };
static const char *const READONLY_PATHS[] = { "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                              "/proc/sysrq-trigger", NULL };

void oci_mount_done(struct oci_mount *m) {
        if (!m)
                return;
        free(m->destination);
        free(m->type);
        free(m->source);
        for (size_t i = 0; i < m->n_options; i++)
                free(m->options[i]);
        free(m->options);
        *m = (struct oci_mount){};
}

static json_t *strv(const char *const *v) {
        json_t *a = json_array();
        for (size_t i = 0; a && v[i]; i++)
                json_array_append_new(a, json_string(v[i]));
        return a;
}

static json_t *strv_n(char *const *v, size_t n) {
        json_t *a = json_array();
        for (size_t i = 0; a && i < n; i++)
                json_array_append_new(a, json_string(v[i]));
        return a;
}

static json_t *mount_json(const char *dest, const char *type, const char *src, const char *const *opts) {
        return json_pack("{s:s, s:s, s:s, s:o}", "destination", dest, "type", type, "source", src, "options",
                         strv(opts));
}

static bool overridden(const struct oci_spec_input *in, const char *dest) {
        for (size_t i = 0; i < in->n_mounts; i++)
                if (streq_ptr(in->mounts[i].destination, dest))
                        return true;
        return false;
}

static json_t *build_mounts(const struct oci_spec_input *in) {
        const struct container_plan *p = in->plan;
        json_t *m = json_array();
        const char *const proc[] = { "nosuid", "noexec", "nodev", NULL };
        const char *const dev[] = { "nosuid", "strictatime", "mode=755", "size=65536k", NULL };
        const char *const pts[] = { "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5", NULL };
        const char *const mqueue[] = { "nosuid", "noexec", "nodev", NULL };
        /* privileged containers get a writable /sys, as with containerd */
        const char *const sys_ro[] = { "nosuid", "noexec", "nodev", "ro", NULL };
        const char *const sys_rw[] = { "nosuid", "noexec", "nodev", "rw", NULL };
        const char *const cg_ro[] = { "nosuid", "noexec", "nodev", "relatime", "ro", NULL };
        const char *const cg_rw[] = { "nosuid", "noexec", "nodev", "relatime", "rw", NULL };
        const char *const shm[] = { "nosuid", "noexec", "nodev", "mode=1777", "size=65536k", NULL };

        struct {
                const char *dest;
                json_t *j;
        } defaults[] = {
                { "/proc", mount_json("/proc", "proc", "proc", proc) },
                { "/dev", mount_json("/dev", "tmpfs", "tmpfs", dev) },
                { "/dev/pts", mount_json("/dev/pts", "devpts", "devpts", pts) },
                { "/dev/mqueue", mount_json("/dev/mqueue", "mqueue", "mqueue", mqueue) },
                { "/sys", mount_json("/sys", "sysfs", "sysfs", p->privileged ? sys_rw : sys_ro) },
                { "/sys/fs/cgroup", mount_json("/sys/fs/cgroup", "cgroup", "cgroup", p->privileged ? cg_rw : cg_ro) },
                { "/dev/shm", mount_json("/dev/shm", "tmpfs", "shm", shm) },
        };
        for (size_t i = 0; i < ELEMENTSOF(defaults); i++) {
                if (overridden(in, defaults[i].dest))
                        json_decref(defaults[i].j);
                else
                        json_array_append_new(m, defaults[i].j);
        }
        for (size_t i = 0; i < in->n_mounts; i++) {
                const struct oci_mount *x = &in->mounts[i];
                json_array_append_new(m, json_pack("{s:s, s:s, s:s, s:o}", "destination", strempty(x->destination),
                                                   "type", strempty(x->type), "source", strempty(x->source),
                                                   "options", strv_n(x->options, x->n_options)));
        }
        return m;
}

static json_t *device_rule(bool allow, const char *type, int64_t major, int64_t minor, const char *access) {
        json_t *r = json_pack("{s:b, s:s}", "allow", allow, "access", access);
        if (type)
                json_object_set_new(r, "type", json_string(type));
        if (major >= 0)
                json_object_set_new(r, "major", json_integer(major));
        if (minor >= 0)
                json_object_set_new(r, "minor", json_integer(minor));
        return r;
}

static json_t *build_resources(const struct oci_spec_input *in) {
        const struct container_plan *p = in->plan;
        json_t *devices = json_array();
        if (p->privileged)
                json_array_append_new(devices, device_rule(true, NULL, -1, -1, "rwm"));
        else {
                /* deny everything, then containerd's default allow list */
                json_array_append_new(devices, device_rule(false, NULL, -1, -1, "rwm"));
                json_array_append_new(devices, device_rule(true, "c", -1, -1, "m"));
                json_array_append_new(devices, device_rule(true, "b", -1, -1, "m"));
                const int64_t rw[][2] = { { 1, 3 }, { 1, 8 }, { 1, 7 }, { 5, 0 }, { 1, 5 }, { 1, 9 },
                                          { 5, 1 }, { 136, -1 }, { 5, 2 }, { 10, 200 } };
                for (size_t i = 0; i < ELEMENTSOF(rw); i++)
                        json_array_append_new(devices, device_rule(true, "c", rw[i][0], rw[i][1], "rwm"));
        }
        json_t *cpu = json_pack("{s:I, s:I}", "shares", (json_int_t) p->cpu_shares, "period",
                                (json_int_t) p->cpu_period);
        if (p->cpu_quota > 0)
                json_object_set_new(cpu, "quota", json_integer(p->cpu_quota));
        json_t *r = json_pack("{s:o, s:o}", "devices", devices, "cpu", cpu);
        if (p->memory_limit > 0)
                json_object_set_new(r, "memory", json_pack("{s:I}", "limit", (json_int_t) p->memory_limit));
        return r;
}

static json_t *namespace_json(const char *type, const char *path) {
        json_t *n = json_pack("{s:s}", "type", type);
        if (path)
                json_object_set_new(n, "path", json_string(path));
        return n;
}

static json_t *build_linux(const struct oci_spec_input *in) {
        const struct container_plan *p = in->plan;
        json_t *ns = json_array();
        bool userns = in->userns_path && in->userns.host_id > 0 && in->userns.size > 0;
        /* first: the runtime joins the pod's user namespace before the ones it owns */
        if (userns)
                json_array_append_new(ns, namespace_json("user", in->userns_path));
        if (in->pidns_path)
                json_array_append_new(ns, namespace_json("pid", in->pidns_path));
        else if (in->new_pid_ns)
                json_array_append_new(ns, namespace_json("pid", NULL));
        if (in->ipcns_path)
                json_array_append_new(ns, namespace_json("ipc", in->ipcns_path));
        if (in->utsns_path)
                json_array_append_new(ns, namespace_json("uts", in->utsns_path));
        json_array_append_new(ns, namespace_json("mount", NULL));
        if (in->netns_path)
                json_array_append_new(ns, namespace_json("network", in->netns_path));
        if (in->cgroup_v2)
                json_array_append_new(ns, namespace_json("cgroup", NULL));

        json_t *l = json_pack("{s:o, s:o}", "namespaces", ns, "resources", build_resources(in));
        if (in->cgroups_path)
                json_object_set_new(l, "cgroupsPath", json_string(in->cgroups_path));
        if (userns) {
                /* the mapping too, which the runtimes use for what they chown (the tty, /dev) */
                json_t *map = json_pack("[{s:i, s:I, s:I}]", "containerID", 0, "hostID", (json_int_t) in->userns.host_id,
                                        "size", (json_int_t) in->userns.size);
                json_object_set(l, "uidMappings", map);
                json_object_set_new(l, "gidMappings", map);
        }
        /* procMount Unmasked leaves /proc unmasked only for a root that is not the host's: without
         * a user namespace of the pod's own, /proc/sys and /proc/sysrq-trigger would be the
         * node's (validation asks for hostUsers: false; this holds even if it did not) */
        if (!p->privileged && !(p->unmasked_proc && userns)) {
                json_object_set_new(l, "maskedPaths", strv(MASKED_PATHS));
                json_object_set_new(l, "readonlyPaths", strv(READONLY_PATHS));
        }
        if (p->privileged && json_array_size(in->host_devices) > 0)
                json_object_set(l, "devices", in->host_devices);
        if (in->n_sysctls > 0) {
                json_t *s = json_object();
                for (size_t i = 0; i < in->n_sysctls; i++)
                        json_object_set_new(s, strempty(in->sysctls[i].name), json_string(strempty(in->sysctls[i].value)));
                json_object_set_new(l, "sysctl", s);
        }
        if (in->seccomp)
                json_object_set(l, "seccomp", in->seccomp);
        return l;
}

static json_t *build_process(const struct container_plan *p) {
        json_t *gids = json_array();
        for (size_t i = 0; i < p->n_additional_gids; i++)
                json_array_append_new(gids, json_integer(p->additional_gids[i]));
        json_t *user = json_pack("{s:I, s:I}", "uid", (json_int_t) p->uid, "gid", (json_int_t) p->gid);
        if (p->n_additional_gids > 0)
                json_object_set_new(user, "additionalGids", gids);
        else
                json_decref(gids);
        /* No inheritable or ambient capabilities (containerd, after CVE-2022-24769). */
        json_t *caps = json_pack("{s:o, s:o, s:o}", "bounding", strv_n(p->cap_bounding, p->n_cap_bounding),
                                 "effective", strv_n(p->cap_effective, p->n_cap_effective), "permitted",
                                 strv_n(p->cap_effective, p->n_cap_effective));
        return json_pack("{s:b, s:o, s:o, s:o, s:s, s:o, s:b, s:i}", "terminal", p->tty, "user", user, "args",
                         strv_n(p->args, p->n_args), "env", strv_n(p->env, p->n_env), "cwd", p->cwd,
                         "capabilities", caps, "noNewPrivileges", p->no_new_privileges, "oomScoreAdj",
                         p->oom_score_adj);
}

json_t *oci_spec_build(const struct oci_spec_input *in) {
        json_t *spec = json_pack("{s:s, s:o, s:{s:s, s:b}, s:o, s:o}", "ociVersion", "1.0.2", "process",
                                 build_process(in->plan), "root", "path", in->rootfs, "readonly",
                                 in->plan->read_only_rootfs, "mounts", build_mounts(in), "linux", build_linux(in));
        if (!spec)
                return NULL;
        if (in->hostname && in->utsns_path)
                json_object_set_new(spec, "hostname", json_string(in->hostname));
        if (in->annotations)
                json_object_set(spec, "annotations", in->annotations);
        /* containerd: a shared (Bidirectional) or slave (HostToContainer) volume mount needs
         * the container's root to propagate the same way, or nothing crosses it */
        const char *propagation = NULL;
        for (size_t i = 0; i < in->n_mounts; i++)
                for (size_t k = 0; k < in->mounts[i].n_options; k++) {
                        if (streq(in->mounts[i].options[k], "rshared"))
                                propagation = "rshared";
                        else if (streq(in->mounts[i].options[k], "rslave") && !propagation)
                                propagation = "rslave";
                }
        if (propagation)
                json_object_set_new(json_object_get(spec, "linux"), "rootfsPropagation", json_string(propagation));
        return spec;
}

/* ---- the host's devices for privileged containers ---------------------------------------- */

#define HOST_DEVICES_MAX 4096

static void add_devices(json_t *list, const char *dir, int depth) {
        DIR *d = opendir(dir);
        if (!d)
                return;
        struct dirent *de;
        while ((de = readdir(d)) && json_array_size(list) < HOST_DEVICES_MAX) {
                if (de->d_name[0] == '.')
                        continue;
                _cleanup_free_ char *path = nl_strdupf("%s/%s", dir, de->d_name);
                struct stat st;
                if (!path || lstat(path, &st) < 0)
                        continue;
                if (S_ISDIR(st.st_mode)) {
                        /* runc's and containerd's exclusions: their own mounts, not devices */
                        static const char *const skip[] = { "pts", "shm", "fd", "mqueue", NULL };
                        bool skipped = false;
                        for (size_t i = 0; depth == 0 && skip[i]; i++)
                                skipped = skipped || streq(de->d_name, skip[i]);
                        if (!skipped && depth < 3)
                                add_devices(list, path, depth + 1);
                        continue;
                }
                if (!(S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) || (depth == 0 && streq(de->d_name, "console")))
                        continue;
                json_t *dev = json_pack("{s:s, s:s, s:I, s:I, s:i, s:I, s:I}", "path", path, "type",
                                        S_ISCHR(st.st_mode) ? "c" : "b", "major", (json_int_t) major(st.st_rdev), "minor",
                                        (json_int_t) minor(st.st_rdev), "fileMode", (int) (st.st_mode & 07777), "uid",
                                        (json_int_t) st.st_uid, "gid", (json_int_t) st.st_gid);
                if (dev)
                        json_array_append_new(list, dev);
        }
        closedir(d);
}

json_t *oci_host_devices(void) {
        json_t *list = json_array();
        if (list)
                add_devices(list, "/dev", 0);
        return list;
}
