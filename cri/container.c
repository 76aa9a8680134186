/* SPDX-License-Identifier: Apache-2.0 */
/* Containers, shaped like CRI CreateContainer/StartContainer/StopContainer/RemoveContainer/
 * ContainerStatus/ExecSync. A container lives in <root_dir>/containers/<id>/:
 *   container.json   what it is (pod, name, image, restart count, log path, ...)
 *   config.json      the OCI bundle's config; rootfs/ its overlay mount, upper/ work/ beside
 *   termination-log  bind-mounted at terminationMessagePath
 *   state/           the shim's: shim.pid, container.pid, exit.json
 *   started.json     written when "<runtime> start" returned */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "common/fs.h"
#include "common/strv.h"
#include "podspec/podspec.h"
#include "cri/layout.h"
#include "cgroup.h"
#include "runtime.h"
#include "shim/shim.h"
#include "userns.h"

#define TERMINATION_MESSAGE_MAX 4096 /* the kubelet's per-container limit */
#define ETC_FILE_MAX (1024 * 1024)
#define OVERLAY_OPTIONS_MAX 4000 /* mount(2) data is one page */

static char *new_id(void) {
        unsigned char raw[32];
        if (getrandom(raw, sizeof(raw), 0) != (ssize_t) sizeof(raw))
                return NULL;
        char *id = malloc(65);
        if (!id)
                return NULL;
        for (size_t i = 0; i < sizeof(raw); i++)
                snprintf(id + 2 * i, 3, "%02x", raw[i]);
        return id;
}

static bool valid_id(const char *id) {
        if (!id || strlen(id) != 64)
                return false;
        for (const char *p = id; *p; p++)
                if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
                        return false;
        return true;
}

/* ---- rootfs ------------------------------------------------------------------------------ */

/* Each layer is <dir>/layers/<n>: a symlink to the store's layer, or, in a pod with its own user
 * namespace (userns_fd >= 0), an idmapped mount of it (the upper dir then belongs to the
 * container's root), so the image's files keep their owners as the container sees them. The
 * overlay is mounted from <dir> with relative paths: "layers/0:layers/1:..." fits hundreds of
 * layers in the one page mount(2) takes, where the stores' full paths ran out at about 37. */
static int mount_rootfs(const char *dir, struct image_store *store, const struct image_info *img, int userns_fd,
                        const struct cri_userns *userns, nl_error *err) {
        _cleanup_free_ char *rootfs = nl_strdupf("%s/rootfs", dir), *upper = nl_strdupf("%s/upper", dir),
                            *work = nl_strdupf("%s/work", dir), *layers = nl_strdupf("%s/layers", dir);
        if (!rootfs || !upper || !work || !layers)
                return -ENOMEM;
        if (mkdir(rootfs, 0755) < 0 || mkdir(upper, 0755) < 0 || mkdir(work, 0700) < 0 ||
            mkdir(layers, userns_fd >= 0 ? 0711 : 0700) < 0)
                return nl_error_set(err, -errno, "create rootfs directories in %s: %s", dir, strerror(errno));
        if (img->n_chain_ids == 0)
                return nl_error_set(err, -EINVAL, "image %s has no layers", img->id);
        if (userns_fd >= 0 && chown(upper, userns->host_id, userns->host_id) < 0)
                return nl_error_set(err, -errno, "give %s to the container's root: %m", upper);

        /* overlayfs wants the topmost lower dir first */
        nl_buf opts = {};
        nl_buf_puts(&opts, "lowerdir=");
        for (size_t i = img->n_chain_ids; i > 0; i--) {
                _cleanup_free_ char *p = image_store_layer_path(store, img->chain_ids[i - 1]),
                                    *at = nl_strdupf("%s/%zu", layers, i - 1);
                int r = !p || !at ? -ENOMEM : 0;
                if (r >= 0 && userns_fd >= 0)
                        r = mkdir(at, 0700) < 0 ? nl_error_set(err, -errno, "create %s: %m", at)
                                                : userns_idmap_mount(p, at, userns_fd, false, err);
                else if (r >= 0 && symlink(p, at) < 0)
                        r = nl_error_set(err, -errno, "link %s to %s: %m", at, p);
                if (r < 0) {
                        nl_buf_free(&opts);
                        return r == -ENOMEM ? r : nl_error_prefix(err, "image layer");
                }
                nl_buf_printf(&opts, "%slayers/%zu", i < img->n_chain_ids ? ":" : "", i - 1);
        }
        nl_buf_puts(&opts, ",upperdir=upper,workdir=work");
        _cleanup_free_ char *data = nl_buf_steal(&opts);
        if (!data)
                return -ENOMEM;
        if (strlen(data) > OVERLAY_OPTIONS_MAX)
                return nl_error_set(err, -E2BIG, "image %s has too many layers (%zu) for one overlay mount",
                                    img->id, img->n_chain_ids);
        /* the relative paths are resolved against the working directory at mount time */
        _cleanup_close_ int cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (cwd < 0 || chdir(dir) < 0)
                return nl_error_set(err, -errno, "enter %s: %m", dir);
        int r = mount("overlay", rootfs, "overlay", 0, data) < 0 ? -errno : 0;
        if (fchdir(cwd) < 0 && r == 0)
                r = -errno;
        if (r < 0)
                return nl_error_set(err, r, "mount overlay rootfs at %s: %s", rootfs, strerror(-r));
        return 0;
}

/* Unmount every mount in dir/sub/<entry> (idmapped layers and volumes). */
static void umount_children(const char *dir, const char *sub) {
        _cleanup_free_ char *parent = nl_strdupf("%s/%s", dir, sub);
        DIR *d = parent ? opendir(parent) : NULL;
        if (!d)
                return;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                _cleanup_free_ char *p = nl_strdupf("%s/%s", parent, de->d_name);
                if (p)
                        while (umount2(p, MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
                                ;
        }
        closedir(d);
}

/* Not mounted, or already gone, is fine. */
static void umount_rootfs(const char *dir) {
        _cleanup_free_ char *rootfs = nl_strdupf("%s/rootfs", dir);
        if (rootfs)
                (void) umount2(rootfs, MNT_DETACH);
        umount_children(dir, "layers");
        umount_children(dir, "idmap");
}

/* ---- mounts -------------------------------------------------------------------------------- */

static int mount_push(struct oci_mount **m, size_t *n, const char *dest, const char *src, bool ro) {
        struct oci_mount *x = realloc(*m, (*n + 1) * sizeof(**m));
        if (!x)
                return -ENOMEM;
        *m = x;
        struct oci_mount *e = &x[*n];
        *e = (struct oci_mount){ .destination = strdup(dest), .type = strdup("bind"), .source = strdup(src) };
        e->options = calloc(3, sizeof(char *));
        if (!e->destination || !e->type || !e->source || !e->options) {
                oci_mount_done(e);
                return -ENOMEM;
        }
        e->options[0] = strdup("rbind");
        e->options[1] = strdup("rprivate");
        e->options[2] = strdup(ro ? "ro" : "rw");
        e->n_options = 3;
        (*n)++;
        return 0;
}

static bool has_mount_at(const struct pod_container *c, const char *dest) {
        for (size_t i = 0; i < c->n_volume_mounts; i++)
                if (streq_ptr(c->volume_mounts[i].mount_path, dest))
                        return true;
        return false;
}

static size_t path_depth(const char *p) {
        size_t d = 0;
        for (; *p; p++)
                if (*p == '/')
                        d++;
        return d;
}

/* Parents before children, as containerd orders mounts (stable for equal depth). */
static void sort_mounts(struct oci_mount *m, size_t n) {
        for (size_t i = 1; i < n; i++) {
                struct oci_mount x = m[i];
                size_t j = i;
                while (j > 0 && path_depth(m[j - 1].destination) > path_depth(x.destination)) {
                        m[j] = m[j - 1];
                        j--;
                }
                m[j] = x;
        }
}

static void mounts_free(struct oci_mount *m, size_t n) {
        for (size_t i = 0; i < n; i++)
                oci_mount_done(&m[i]);
        free(m);
}

/* In a pod with its own user namespace, every bind mount's source becomes an idmapped clone
 * under <dir>/idmap/<n>: the runtime's bind of it keeps the mapping, so volumes keep their
 * owners as on disk (the kubelet asks the runtime for the same). */
static int idmap_bind_mounts(const char *dir, struct oci_mount *m, size_t n, int userns_fd, nl_error *err) {
        _cleanup_free_ char *base = nl_strdupf("%s/idmap", dir);
        if (!base)
                return -ENOMEM;
        if (mkdir(base, 0711) < 0 && errno != EEXIST)
                return nl_error_set(err, -errno, "create %s: %m", base);
        for (size_t i = 0; i < n; i++) {
                if (!streq_ptr(m[i].type, "bind") || isempty(m[i].source))
                        continue;
                struct stat st;
                if (stat(m[i].source, &st) < 0)
                        return nl_error_set(err, -errno, "mount %s: %s: %m", strempty(m[i].destination), m[i].source);
                _cleanup_free_ char *at = nl_strdupf("%s/%zu", base, i);
                if (!at)
                        return -ENOMEM;
                int fd = -1;
                if (S_ISDIR(st.st_mode) ? mkdir(at, 0700) < 0
                                        : (fd = open(at, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0)
                        return nl_error_set(err, -errno, "create %s: %m", at);
                if (fd >= 0)
                        close(fd);
                int r = userns_idmap_mount(m[i].source, at, userns_fd, true, err);
                if (r < 0)
                        return nl_error_prefix(err, "mount at %s", strempty(m[i].destination));
                free(m[i].source);
                m[i].source = TAKE_PTR(at);
        }
        return 0;
}

static int build_mounts(const struct container_create *in, const struct container_plan *plan, const char *dir,
                        int userns_fd, struct oci_mount **ret, size_t *ret_n, nl_error *err) {
        const struct sandbox *sb = in->sb;
        const struct pod_container *c = in->c;
        _cleanup_free_ char *tlog = NULL;
        _cleanup_close_ int fd = -1;
        struct oci_mount *m = NULL;
        size_t n = 0;
        int r = cri_volume_mounts(in->cfg, in->pod, c, plan->env, plan->n_env, &m, &n, err);
        if (r < 0)
                return r;

        bool ro = plan->read_only_rootfs;
        struct {
                const char *dest, *src;
        } files[] = {
                { "/etc/hosts", sb->hosts_path },
                { "/etc/resolv.conf", sb->resolv_path },
                { "/etc/hostname", sb->hostname_path },
        };
        for (size_t i = 0; i < ELEMENTSOF(files); i++)
                if (files[i].src && !has_mount_at(c, files[i].dest) && mount_push(&m, &n, files[i].dest, files[i].src, ro) < 0)
                        goto oom;
        if (sb->shm_path && !has_mount_at(c, "/dev/shm") && mount_push(&m, &n, "/dev/shm", sb->shm_path, false) < 0)
                goto oom;

        /* The termination message file: world-writable, so any user in the container can write it. */
        tlog = nl_strdupf("%s/termination-log", dir);
        if (!tlog)
                goto oom;
        fd = open(tlog, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0666);
        if (fd < 0 || fchmod(fd, 0666) < 0) {
                mounts_free(m, n);
                return nl_error_set(err, -errno, "create termination message file %s: %s", tlog, strerror(errno));
        }
        const char *tpath = isempty(c->termination_message_path) ? "/dev/termination-log" : c->termination_message_path;
        if (!has_mount_at(c, tpath) && mount_push(&m, &n, tpath, tlog, false) < 0)
                goto oom;
        sort_mounts(m, n);
        if (userns_fd >= 0 && (r = idmap_bind_mounts(dir, m, n, userns_fd, err)) < 0) {
                mounts_free(m, n);
                return r;
        }
        *ret = m;
        *ret_n = n;
        return 0;
oom:
        mounts_free(m, n);
        return nl_error_set(err, -ENOMEM, "out of memory");
}

/* ---- metadata ----------------------------------------------------------------------------- */

static int write_json(const char *path, json_t *j) {
        _cleanup_free_ char *s = json_dumps(j, JSON_INDENT(2));
        if (!s)
                return -ENOMEM;
        return nl_write_file_atomic(path, s, strlen(s), 0600);
}

static json_t *read_json(const char *path, nl_error *err) {
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        int r = nl_read_file(path, 1024 * 1024, true, &buf, &len);
        if (r < 0) {
                nl_error_set(err, r, "read %s: %s", path, strerror(-r));
                return NULL;
        }
        json_error_t je;
        json_t *j = json_loadb(buf, len, 0, &je);
        if (!j)
                nl_error_set(err, -EINVAL, "%s: %s", path, je.text);
        return j;
}

static char *cgroups_path(const struct sandbox *sb, const char *id) {
        return nl_strdupf("%s/%s", sb->cgroup_parent ? sb->cgroup_parent : "/kubepods/besteffort", id);
}

/* /var/log/containers/<pod>_<namespace>_<container>-<id>.log -> the log file */
static void link_container_log(const struct cri_config *cfg, const struct pod *pod, const char *name, const char *id,
                               const char *log_path) {
        if (isempty(cfg->containers_log_dir))
                return;
        const char *pod_name = strempty(pod->metadata.name), *ns = strempty(pod->metadata.namespace);
        _cleanup_free_ char *link = layout_container_log_link(cfg->containers_log_dir, pod_name, ns, name, id);
        if (!link || nl_mkdir_p(cfg->containers_log_dir, 0755) < 0)
                return;
        (void) unlink(link);
        if (symlink(log_path, link) < 0)
                return; /* a convenience for log collectors: the container runs without it */
}

/* The link goes with the container (the kubelet's removeContainerLog); only a link is removed. */
static void unlink_container_log(const struct cri_config *cfg, const char *dir, const char *id) {
        if (isempty(cfg->containers_log_dir))
                return;
        _cleanup_free_ char *meta_path = nl_strdupf("%s/container.json", dir);
        json_t *meta = meta_path ? read_json(meta_path, NULL) : NULL;
        const char *pod = json_string_value(json_object_get(meta, "podName")),
                   *ns = json_string_value(json_object_get(meta, "podNamespace")),
                   *name = json_string_value(json_object_get(meta, "name"));
        _cleanup_free_ char *link = pod && ns && name && !strchr(pod, '/') && !strchr(ns, '/') && !strchr(name, '/')
                ? layout_container_log_link(cfg->containers_log_dir, pod, ns, name, id)
                : NULL;
        struct stat st;
        if (link && lstat(link, &st) == 0 && S_ISLNK(st.st_mode))
                (void) unlink(link);
        json_decref(meta);
}

/* ---- create ------------------------------------------------------------------------------- */

/* CapBnd of this process: what a privileged container can be given. */
static uint64_t host_bounding_caps(void) {
        _cleanup_free_ char *status = NULL;
        if (nl_read_file("/proc/self/status", 64 * 1024, false, &status, NULL) < 0)
                return 0;
        const char *p = strstr(status, "\nCapBnd:");
        if (!p)
                return 0;
        return strtoull(p + 8, NULL, 16);
}

static int write_oom_score_adj(int v) {
        _cleanup_close_ int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        char buf[16];
        int n = snprintf(buf, sizeof(buf), "%d", v);
        return write(fd, buf, (size_t) n) == n ? 0 : -errno;
}

/* Lowering oom_score_adj needs CAP_SYS_RESOURCE, which some nodes' sandboxes deny even to
 * root; the runtime would then fail the container. The kubelet treats a failure to set the
 * score as a warning, so ask for no less than this process may set: try it on ourselves and
 * put our own value back. */
static int allowed_oom_score_adj(int want) {
        if (want >= 0)
                return want;
        _cleanup_free_ char *cur_s = NULL;
        int64_t cur = 0;
        if (nl_read_file("/proc/self/oom_score_adj", 32, false, &cur_s, NULL) == 0)
                (void) nl_parse_int64(strtok(cur_s, "\n"), -1000, 1000, &cur);
        if (want >= cur || write_oom_score_adj(want) < 0)
                return want >= cur ? want : (int) cur;
        (void) write_oom_score_adj((int) cur);
        return want;
}

/* An ephemeral container with targetContainerName joins its target's PID namespace: the CRI's
 * NamespaceMode TARGET, which containerd turns into the OCI spec's pid namespace path
 * /proc/<target's init pid>/ns/pid. A pod that shares one PID namespace (or the host's) has
 * its containers there already; the kubelet then asks for the pod's mode, not TARGET. */
static int target_pid_namespace(const struct container_create *in, char **ret, nl_error *err) {
        if (!in->target_id || in->sb->pidns_path || in->sb->host_pid) {
                *ret = NULL;
                return 0;
        }
        const char *target = strempty(in->c->target_container_name);
        struct container_status *st = NULL;
        int r = cri_container_status(in->cfg, in->target_id, &st, NULL);
        if (r < 0 || st->state != CONTAINER_RUNNING || st->pid <= 0) {
                container_status_free(st);
                return nl_error_set(err, r < 0 ? r : -ESRCH, "target container \"%s\" is not running", target);
        }
        char *path = nl_strdupf("/proc/%d/ns/pid", (int) st->pid);
        container_status_free(st);
        if (!path)
                return -ENOMEM;
        if (access(path, F_OK) < 0) {
                r = nl_error_set(err, -errno, "target container \"%s\": %s: %m", target, path);
                free(path);
                return r;
        }
        *ret = path;
        return 0;
}

int cri_container_create(const struct container_create *in, char **ret_id, const char **ret_reason, nl_error *err) {
        const struct cri_config *cfg = in->cfg;
        const struct pod_container *c = in->c;
        const char *reason = "CreateContainerError";
        struct image_info *img = NULL;
        struct container_plan *plan = NULL;
        struct oci_mount *mounts = NULL;
        size_t n_mounts = 0;
        json_t *seccomp = NULL, *spec = NULL, *meta = NULL;
        _cleanup_free_ char *id = NULL, *dir = NULL, *rootfs = NULL, *passwd = NULL, *group = NULL,
                            *log_path = NULL, *cgpath = NULL, *state = NULL, *runtime_root = NULL,
                            *config_path = NULL, *log_dir = NULL, *meta_path = NULL, *target_pidns = NULL;
        bool mounted = false;
        struct oci_runtime *rt = NULL;
        _cleanup_close_ int userns_fd = -1;
        int r;

        r = image_store_lookup(in->store, strempty(c->image), &img, err);
        if (r < 0) {
                nl_error_prefix(err, "image \"%s\"", strempty(c->image));
                goto fail;
        }
        r = oci_runtime_open(cfg, &rt, err);
        if (r < 0)
                goto fail;
        r = target_pid_namespace(in, &target_pidns, err);
        if (r < 0)
                goto fail;

        id = new_id();
        dir = id ? layout_container_dir(cfg->root_dir, id) : NULL;
        if (!dir) {
                r = -ENOMEM;
                goto fail;
        }
        r = nl_mkdir_p(dir, 0700);
        if (r < 0) {
                nl_error_set(err, r, "create %s: %s", dir, strerror(-r));
                goto fail;
        }
        if (in->sb->userns_path) {
                /* the runtime reaches the rootfs and the mount sources by path from inside the
                 * pod's user namespace, whose root is not the owner here: search, not read */
                _cleanup_free_ char *parent = strdup(dir);
                if (!parent || (*strrchr(parent, '/') = '\0', chmod(parent, 0711) < 0) || chmod(dir, 0711) < 0) {
                        r = nl_error_set(err, -errno, "make %s searchable: %m", dir);
                        goto fail;
                }
        }
        if (in->sb->userns_path && (userns_fd = open(in->sb->userns_path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
                r = nl_error_set(err, -errno, "open the pod's user namespace %s: %m", in->sb->userns_path);
                goto fail;
        }
        mounted = true; /* whatever part of it was mounted goes on failure */
        r = mount_rootfs(dir, in->store, img, userns_fd, &in->sb->userns, err);
        if (r < 0)
                goto fail;

        /* Users and groups are looked up in the image as the container sees it. */
        rootfs = nl_strdupf("%s/rootfs", dir);
        (void) nl_read_file_in_root(rootfs, "/etc/passwd", ETC_FILE_MAX, &passwd, NULL);
        (void) nl_read_file_in_root(rootfs, "/etc/group", ETC_FILE_MAX, &group, NULL);
        struct plan_context ctx = *in->plan_ctx;
        ctx.etc_passwd = passwd;
        ctx.etc_group = group;
        if (!ctx.host_capabilities)
                ctx.host_capabilities = host_bounding_caps();
        r = container_plan_build(in->pod, c, img->config, &ctx, &plan, &reason, err);
        if (r < 0)
                goto fail;

        plan->oom_score_adj = allowed_oom_score_adj(plan->oom_score_adj);

        reason = "CreateContainerConfigError";
        r = build_mounts(in, plan, dir, userns_fd, &mounts, &n_mounts, err);
        if (r < 0)
                goto fail;

        reason = "CreateContainerError";
        r = seccomp_profile_build(plan->seccomp_type, plan->seccomp_localhost, cfg->seccomp_root, plan->cap_bounding,
                                  plan->n_cap_bounding, &seccomp, err);
        if (r < 0)
                goto fail;

        cgpath = cgroups_path(in->sb, id);
        const struct pod_pod_security_context *psc = in->pod->spec.security_context;
        json_t *annotations = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "io.kubernetes.cri.container-type",
                                        "container", "io.kubernetes.cri.sandbox-id", in->sb->id,
                                        "io.kubernetes.pod.name", strempty(in->pod->metadata.name),
                                        "io.kubernetes.pod.namespace", strempty(in->pod->metadata.namespace),
                                        "io.kubernetes.pod.uid", strempty(in->pod->metadata.uid),
                                        "io.kubernetes.container.name", strempty(c->name));
        struct oci_spec_input si = {
                .plan = plan,
                .rootfs = rootfs,
                .hostname = in->sb->hostname,
                .netns_path = in->sb->netns_path,
                .ipcns_path = in->sb->ipcns_path,
                .utsns_path = in->sb->utsns_path,
                .pidns_path = target_pidns ? target_pidns : in->sb->pidns_path,
                .userns_path = in->sb->userns_path,
                .userns = in->sb->userns,
                .new_pid_ns = !in->sb->host_pid,
                .cgroups_path = cgpath,
                .mounts = mounts,
                .n_mounts = n_mounts,
                .sysctls = psc ? psc->sysctls : NULL,
                .n_sysctls = psc ? psc->n_sysctls : 0,
                .seccomp = seccomp,
                .annotations = annotations,
                .host_devices = plan->privileged ? oci_host_devices() : NULL,
        };
        spec = oci_spec_build(&si);
        json_decref(annotations);
        json_decref(si.host_devices);
        config_path = nl_strdupf("%s/config.json", dir);
        if (!spec || !config_path || (r = write_json(config_path, spec)) < 0) {
                nl_error_set(err, r < 0 ? r : -ENOMEM, "write %s/config.json", dir);
                r = r < 0 ? r : -ENOMEM;
                goto fail;
        }

        log_path = cri_log_path(cfg, in->pod, strempty(c->name), in->restart_count);
        log_dir = log_path ? strdup(log_path) : NULL;
        if (!log_dir) {
                r = -ENOMEM;
                goto fail;
        }
        *strrchr(log_dir, '/') = '\0';
        r = nl_mkdir_p(log_dir, 0755);
        if (r < 0) {
                nl_error_set(err, r, "create log directory %s: %s", log_dir, strerror(-r));
                goto fail;
        }

        state = nl_strdupf("%s/state", dir);
        runtime_root = strdup(rt->root);
        if (!state || !runtime_root || mkdir(state, 0700) < 0 || nl_mkdir_p(runtime_root, 0700) < 0) {
                r = nl_error_set(err, -errno ? -errno : -ENOMEM, "create %s/state", dir);
                goto fail;
        }

        meta = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:I, s:s, s:s, s:s, s:s}", "id", id, "podUid",
                         strempty(in->pod->metadata.uid), "podName", strempty(in->pod->metadata.name), "podNamespace",
                         strempty(in->pod->metadata.namespace), "name", strempty(c->name), "image", strempty(c->image),
                         "imageId", img->id, "restartCount", (json_int_t) in->restart_count, "logPath", log_path,
                         "createdAt", (json_int_t) now_realtime(), "stopSignal",
                         plan->stop_signal ? plan->stop_signal : "SIGTERM", "terminationMessagePolicy",
                         strempty(c->termination_message_policy), "sandboxId", in->sb->id, "cgroupPath", cgpath);
        /* the spec's hash, kept with the container as the kubelet keeps it in a label: after a
         * restart of the daemon a changed spec is still seen as changed */
        if (meta)
                json_object_set_new(meta, "hash", json_integer((json_int_t) pod_container_hash(c)));
        meta_path = nl_strdupf("%s/container.json", dir);
        if (!meta || !meta_path || (r = write_json(meta_path, meta)) < 0) {
                r = nl_error_set(err, r < 0 ? r : -ENOMEM, "write %s/container.json", dir);
                goto fail;
        }

        struct shim_start ss = {
                .shim_path = cfg->shim_path,
                .runtime_path = rt->path,
                .runtime_root = rt->root,
                .id = id,
                .bundle = dir,
                .state_dir = state,
                .log_path = log_path,
                .log_max_size = cfg->log_max_size,
                .log_max_files = cfg->log_max_files,
                .cgroup_path = cgpath,
                .tty = plan->tty,
                .stdin_open = plan->stdin_open,
                .stdin_once = plan->stdin_once,
        };
        pid_t pid = 0;
        r = shim_create(&ss, &pid, err);
        if (r < 0)
                goto fail;
        link_container_log(cfg, in->pod, strempty(c->name), id, log_path);

        *ret_id = TAKE_PTR(id);
        if (ret_reason)
                *ret_reason = NULL;
        r = 0;
        goto out;

fail:
        if (r == -ENOMEM && (!err || !err->msg))
                nl_error_set(err, -ENOMEM, "out of memory");
        if (ret_reason)
                *ret_reason = reason;
        if (mounted)
                umount_rootfs(dir);
        if (dir)
                (void) nl_rm_rf(dir);
out:
        oci_runtime_free(rt);
        image_info_free(img);
        container_plan_free(plan);
        mounts_free(mounts, n_mounts);
        json_decref(seccomp);
        json_decref(spec);
        json_decref(meta);
        return r;
}

/* ---- lifecycle ----------------------------------------------------------------------------- */

static int open_runtime_for(const struct cri_config *cfg, const char *id, struct oci_runtime **rt, nl_error *err) {
        if (!valid_id(id))
                return nl_error_set(err, -EINVAL, "invalid container id \"%s\"", strempty(id));
        return oci_runtime_open(cfg, rt, err);
}

int cri_container_start(const struct cri_config *cfg, const char *id, nl_error *err) {
        struct oci_runtime *rt = NULL;
        int r = open_runtime_for(cfg, id, &rt, err);
        if (r < 0)
                return r;
        r = rt->ops->start(rt, id, err);
        oci_runtime_free(rt);
        if (r < 0)
                return r;
        _cleanup_free_ char *dir = layout_container_dir(cfg->root_dir, id);
        _cleanup_free_ char *path = dir ? nl_strdupf("%s/started.json", dir) : NULL;
        json_t *j = json_pack("{s:I}", "startedAt", (json_int_t) now_realtime());
        r = (path && j) ? write_json(path, j) : -ENOMEM;
        json_decref(j);
        if (r < 0)
                return nl_error_set(err, r, "record start of %s: %s", id, strerror(-r));
        return 0;
}

/* A limit of 0 is none: the larger of two limits. */
static int64_t max_limit(int64_t a, int64_t b) {
        return a <= 0 || b <= 0 ? 0 : a > b ? a : b;
}

int cri_pod_resize(const struct cri_config *cfg, const struct sandbox *sb, const struct pod *pod, char *const *ids,
                   const struct pod_container *const *specs, size_t n, nl_error *err) {
        struct cgroup_layout *l = NULL;
        struct oci_runtime *rt = NULL;
        int r = cgroup_layout_detect(&l, err);
        if (r < 0)
                return r;
        struct cgroup_pod_resources want, cur, grow;
        cgroup_pod_resources(pod, &want);
        const char *path = sb->cgroup_parent;
        if (path && cgroup_pod_read(l, path, &cur) == 0) {
                /* first what grows: the pod's limits become the larger of now and after */
                grow = want;
                grow.cpu_shares = cur.cpu_shares > want.cpu_shares ? cur.cpu_shares : want.cpu_shares;
                grow.cpu_quota = max_limit(cur.cpu_quota, want.cpu_quota);
                grow.memory_limit = max_limit(cur.memory_limit, want.memory_limit);
                r = cgroup_pod_update(l, path, &grow, err);
                if (r < 0) {
                        nl_error_prefix(err, "pod cgroup");
                        goto out;
                }
        }
        for (size_t i = 0; i < n; i++) {
                struct cri_linux_resources lr;
                cri_container_linux_resources(specs[i], &lr);
                r = open_runtime_for(cfg, ids[i], &rt, err);
                if (r >= 0)
                        r = rt->ops->update(rt, ids[i], &lr, err);
                oci_runtime_free(rt);
                rt = NULL;
                if (r < 0) {
                        nl_error_prefix(err, "container \"%s\"", strempty(specs[i]->name));
                        goto out;
                }
        }
        /* then what shrinks, below the containers' new limits */
        if (path) {
                r = cgroup_pod_update(l, path, &want, err);
                if (r < 0)
                        nl_error_prefix(err, "pod cgroup");
        }
out:
        cgroup_layout_free(l);
        return r < 0 ? r : 0;
}

static int signal_number(const char *name) {
        static const struct {
                const char *name;
                int sig;
        } table[] = { { "SIGTERM", SIGTERM }, { "SIGKILL", SIGKILL }, { "SIGINT", SIGINT },   { "SIGQUIT", SIGQUIT },
                      { "SIGHUP", SIGHUP },   { "SIGUSR1", SIGUSR1 }, { "SIGUSR2", SIGUSR2 }, { "SIGWINCH", SIGWINCH },
                      { "SIGPWR", SIGPWR },   { "SIGSTOP", SIGSTOP } };
        if (!name)
                return SIGTERM;
        const char *n = strncmp(name, "SIG", 3) == 0 ? name : NULL;
        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (streq(table[i].name, name) || (!n && streq(table[i].name + 3, name)))
                        return table[i].sig;
        int64_t v;
        if (nl_parse_int64(name, 1, 64, &v) == 0)
                return (int) v;
        return SIGTERM;
}

int cri_container_kill(const struct cri_config *cfg, const char *id, int sig, nl_error *err) {
        if (sig == 0) {
                struct container_status *st = NULL;
                if (cri_container_status(cfg, id, &st, NULL) == 0) {
                        sig = signal_number(st->stop_signal);
                        container_status_free(st);
                } else
                        sig = SIGTERM;
        }
        struct oci_runtime *rt = NULL;
        int r = open_runtime_for(cfg, id, &rt, err);
        if (r < 0)
                return r;
        r = rt->ops->kill(rt, id, sig, err);
        oci_runtime_free(rt);
        return r;
}

int cri_container_remove(const struct cri_config *cfg, const char *id, nl_error *err) {
        struct oci_runtime *rt = NULL;
        int r = open_runtime_for(cfg, id, &rt, err);
        if (r < 0)
                return r;
        nl_error ignored = NL_ERROR_INIT;
        /* deleting a container the runtime no longer knows is fine */
        (void) rt->ops->delete(rt, id, &ignored);
        nl_error_clear(&ignored);
        oci_runtime_free(rt);
        _cleanup_free_ char *dir = layout_container_dir(cfg->root_dir, id);
        if (!dir)
                return -ENOMEM;
        unlink_container_log(cfg, dir, id);
        umount_rootfs(dir);
        r = nl_rm_rf(dir);
        if (r < 0)
                return nl_error_set(err, r, "remove %s: %s", dir, strerror(-r));
        return 0;
}

/* ---- status ------------------------------------------------------------------------------- */

#define LOST_REASON "ContainerStatusUnknown"
#define LOST_MESSAGE                                                                               \
        "The container's monitor (nodelet-shim) exited without recording the container's exit; "   \
        "the container was killed"

static char *json_str(json_t *o, const char *k) {
        const char *s = json_string_value(json_object_get(o, k));
        return s ? strdup(s) : NULL;
}

/* The termination message: the file, else (FallbackToLogsOnError, failed) the log's tail. */
static char *termination_message(const char *dir, const struct container_status *st, const char *policy) {
        _cleanup_free_ char *tlog = nl_strdupf("%s/termination-log", dir);
        char *msg = NULL;
        size_t len = 0;
        if (tlog) {
                _cleanup_close_ int fd = open(tlog, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
                struct stat fst;
                if (fd >= 0 && fstat(fd, &fst) == 0) {
                        /* the kubelet keeps the last 4096 bytes (tail.ReadAtMost) */
                        if (fst.st_size > TERMINATION_MESSAGE_MAX)
                                (void) lseek(fd, fst.st_size - TERMINATION_MESSAGE_MAX, SEEK_SET);
                        char buf[TERMINATION_MESSAGE_MAX];
                        ssize_t n = read(fd, buf, sizeof(buf));
                        if (n > 0) {
                                msg = strndup(buf, (size_t) n);
                                len = (size_t) n;
                        }
                }
        }
        if (len == 0 && streq_ptr(policy, "FallbackToLogsOnError") && st->exit_code != 0 && st->log_path) {
                free(msg);
                msg = NULL;
                /* kuberuntime: the last 80 lines, at most 2048 bytes */
                int r = cri_log_tail(st->log_path, 80, 2048, &msg);
                if (r < 0)
                        msg = nl_strdupf("Error on reading termination message from logs: %s", strerror(-r));
        }
        return msg;
}

int cri_container_status(const struct cri_config *cfg, const char *id, struct container_status **ret,
                         nl_error *err) {
        if (!valid_id(id))
                return nl_error_set(err, -EINVAL, "invalid container id \"%s\"", strempty(id));
        _cleanup_free_ char *dir = layout_container_dir(cfg->root_dir, id);
        _cleanup_free_ char *meta_path = NULL, *started_path = NULL, *state = NULL;
        if (!dir)
                return -ENOMEM;
        meta_path = nl_strdupf("%s/container.json", dir);
        started_path = nl_strdupf("%s/started.json", dir);
        state = nl_strdupf("%s/state", dir);
        if (!meta_path || !started_path || !state)
                return -ENOMEM;
        json_t *meta = read_json(meta_path, err);
        if (!meta)
                return err && err->code ? err->code : -ENOENT;

        struct container_status *st = calloc(1, sizeof(*st));
        if (!st) {
                json_decref(meta);
                return -ENOMEM;
        }
        st->id = strdup(id);
        st->pod_uid = json_str(meta, "podUid");
        st->name = json_str(meta, "name");
        st->image = json_str(meta, "image");
        st->image_id = json_str(meta, "imageId");
        st->log_path = json_str(meta, "logPath");
        st->stop_signal = json_str(meta, "stopSignal");
        st->restart_count = (unsigned) json_integer_value(json_object_get(meta, "restartCount"));
        st->created_at = (usec_t) json_integer_value(json_object_get(meta, "createdAt"));
        json_t *hash = json_object_get(meta, "hash");
        if (json_is_integer(hash) && json_integer_value(hash) >= 0 && json_integer_value(hash) <= UINT32_MAX) {
                st->has_hash = true;
                st->hash = (uint32_t) json_integer_value(hash);
        }
        _cleanup_free_ char *policy = json_str(meta, "terminationMessagePolicy");
        json_decref(meta);

        json_t *started = read_json(started_path, NULL);
        if (started) {
                st->started_at = (usec_t) json_integer_value(json_object_get(started, "startedAt"));
                json_decref(started);
        }

        struct shim_exit ex = {};
        int r = shim_read_exit(state, &ex, NULL);
        /* The shim writes exit.json, then exits: dead and still no record, read again after the
         * liveness check, is a lost container, not one that exited between the two. */
        bool alive = r == 0 || shim_alive(state);
        if (r < 0 && !alive)
                r = shim_read_exit(state, &ex, NULL);
        if (r == 0) {
                st->state = CONTAINER_EXITED;
                st->exit_code = ex.exit_code;
                st->signal = ex.signal;
                st->reason = ex.reason ? strdup(ex.reason) : NULL;
                st->finished_at = parse_rfc3339(ex.finished_at);
                st->message = termination_message(dir, st, policy);
                if (isempty(st->message) && ex.message) {
                        free(st->message);
                        st->message = strdup(ex.message);
                }
                shim_exit_done(&ex);
        } else if (!alive) {
                /* no shim and no exit record: lost. The kubelet's ContainerStatusUnknown. */
                st->state = CONTAINER_UNKNOWN;
                st->exit_code = 128 + SIGKILL;
                st->reason = strdup(LOST_REASON);
                st->message = strdup(LOST_MESSAGE);
        } else
                st->state = st->started_at ? CONTAINER_RUNNING : CONTAINER_CREATED;

        _cleanup_free_ char *pid_path = nl_strdupf("%s/container.pid", state), *pid_s = NULL;
        int64_t pid;
        if (pid_path && nl_read_file(pid_path, 64, true, &pid_s, NULL) == 0 && nl_parse_int64(strtok(pid_s, "\n"), 1, INT32_MAX, &pid) == 0)
                st->pid = (pid_t) pid;
        *ret = st;
        return 0;
}

int cri_container_status_settle(const struct cri_config *cfg, const char *id, struct container_status **ret,
                                nl_error *err) {
        struct container_status *st = NULL;
        int r = cri_container_status(cfg, id, &st, err);
        if (r < 0 || st->state != CONTAINER_UNKNOWN) {
                if (r >= 0)
                        *ret = st;
                return r;
        }
        /* Only a container whose shim started and recorded itself is lost: before that it is
         * being created (and a failed create removes its directory). */
        _cleanup_free_ char *state_dir = layout_container_state_dir(cfg->root_dir, id);
        _cleanup_free_ char *shim_pid = state_dir ? nl_strdupf("%s/%s", state_dir, SHIM_PID_FILE) : NULL;
        if (!shim_pid || access(shim_pid, F_OK) < 0) {
                *ret = st;
                return 0;
        }
        struct oci_runtime *rt = NULL;
        nl_error ignored = NL_ERROR_INIT;
        /* as containerd after a dead shim: what runs of the container is killed (the whole
         * cgroup) and the runtime forgets it; after a reboot it knows nothing, which is fine */
        if (oci_runtime_open(cfg, &rt, &ignored) == 0) {
                (void) rt->ops->delete(rt, id, &ignored);
                oci_runtime_free(rt);
        }
        nl_error_clear(&ignored);
        _cleanup_free_ char *when = format_rfc3339nano(now_realtime());
        json_t *j = json_pack("{s:i, s:i, s:b, s:s, s:s, s:s}", "exitCode", st->exit_code, "signal", 0, "oomKilled",
                              0, "finishedAt", strempty(when), "reason", LOST_REASON, "message", LOST_MESSAGE);
        _cleanup_free_ char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
        _cleanup_free_ char *exit_path = nl_strdupf("%s/%s", state_dir, SHIM_EXIT_FILE);
        json_decref(j);
        if (!text || !exit_path || nl_write_file_atomic(exit_path, text, strlen(text), 0600) < 0) {
                *ret = st; /* reported lost all the same; the next look tries again */
                return 0;
        }
        container_status_free(st);
        return cri_container_status(cfg, id, ret, err);
}

void container_status_free(struct container_status *s) {
        if (!s)
                return;
        free(s->id);
        free(s->pod_uid);
        free(s->name);
        free(s->image);
        free(s->image_id);
        free(s->log_path);
        free(s->reason);
        free(s->message);
        free(s->stop_signal);
        free(s);
}

int cri_images_in_use(const struct cri_config *cfg, char ***ret_image_ids, char ***ret_container_ids,
                      size_t *ret_n) {
        _cleanup_strv_free_ char **ids = NULL, **images = NULL, **users = NULL;
        size_t n_ids = 0, n = 0, n_users = 0;
        int r = cri_container_list(cfg, &ids, &n_ids);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_ids; i++) {
                struct container_status *st = NULL;
                if (cri_container_status(cfg, ids[i], &st, NULL) == 0 && st->image_id &&
                    ((r = strv_push(&images, &n, st->image_id)) < 0 ||
                     (r = strv_push(&users, &n_users, ids[i])) < 0)) {
                        container_status_free(st);
                        return r;
                }
                container_status_free(st);
        }
        *ret_image_ids = TAKE_PTR(images);
        *ret_container_ids = TAKE_PTR(users);
        *ret_n = n;
        return 0;
}

int cri_container_shim_pid(const struct cri_config *cfg, const char *id, pid_t *ret) {
        if (!valid_id(id))
                return -EINVAL;
        _cleanup_free_ char *state_dir = layout_container_state_dir(cfg->root_dir, id);
        if (!state_dir)
                return -ENOMEM;
        return shim_read_pid(state_dir, ret, NULL);
}

int cri_container_list(const struct cri_config *cfg, char ***ret_ids, size_t *ret_n) {
        _cleanup_free_ char *path = layout_containers_dir(cfg->root_dir);
        if (!path)
                return -ENOMEM;
        DIR *d = opendir(path);
        *ret_ids = NULL;
        *ret_n = 0;
        if (!d)
                return errno == ENOENT ? 0 : -errno;
        struct dirent *de;
        while ((de = readdir(d)))
                if (valid_id(de->d_name) && strv_push(ret_ids, ret_n, de->d_name) < 0)
                        break;
        closedir(d);
        return 0;
}

/* ---- exec ---------------------------------------------------------------------------------- */

int cri_exec_sync(const struct cri_config *cfg, const char *id, char *const *argv, usec_t timeout,
                  size_t max_output, char **ret_stdout, char **ret_stderr, int *ret_exit_code, nl_error *err) {
        struct oci_runtime *rt = NULL;
        int r = open_runtime_for(cfg, id, &rt, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *dir = layout_container_dir(cfg->root_dir, id);
        char suffix[17];
        unsigned char raw[8];
        if (getrandom(raw, sizeof(raw), 0) != (ssize_t) sizeof(raw)) {
                oci_runtime_free(rt);
                return -EIO;
        }
        for (size_t i = 0; i < sizeof(raw); i++)
                snprintf(suffix + 2 * i, 3, "%02x", raw[i]);
        _cleanup_free_ char *pid_file = dir ? nl_strdupf("%s/exec-%s.pid", dir, suffix) : NULL;
        char **args = pid_file ? rt->ops->exec_argv(rt, id, pid_file, argv) : NULL;
        oci_runtime_free(rt);
        if (!args)
                return -ENOMEM;

        struct nl_run_result rr;
        r = run_command(args, timeout, max_output, &rr);
        for (char **a = args; *a; a++)
                free(*a);
        free(args);
        if (r < 0) {
                unlink(pid_file);
                return nl_error_set(err, r, "exec in %s: %s", id, strerror(-r));
        }
        if (rr.timed_out) {
                /* the runtime was killed; the process it started in the container is not its
                 * child in our process group: kill it by its pid */
                _cleanup_free_ char *pid_s = NULL;
                int64_t pid;
                if (nl_read_file(pid_file, 64, true, &pid_s, NULL) == 0 &&
                    nl_parse_int64(strtok(pid_s, "\n"), 1, INT32_MAX, &pid) == 0)
                        kill((pid_t) pid, SIGKILL);
                unlink(pid_file);
                nl_run_result_done(&rr);
                return nl_error_set(err, -ETIMEDOUT, "command timed out after %llus",
                                    (unsigned long long) (timeout / USEC_PER_SEC));
        }
        unlink(pid_file);
        *ret_exit_code = WIFEXITED(rr.status) ? WEXITSTATUS(rr.status) : 128 + WTERMSIG(rr.status);
        *ret_stdout = TAKE_PTR(rr.out);
        *ret_stderr = TAKE_PTR(rr.err);
        nl_run_result_done(&rr);
        return 0;
}
