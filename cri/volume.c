/* SPDX-License-Identifier: Apache-2.0 */
/* Pod volumes as the kubelet's volume plugins lay them out under
 * <root_dir>/pods/<uid>/volumes/<plugin>/<name> (pkg/volume/emptydir, hostpath, downwardapi,
 * configmap, secret, projected), and the container mounts that point at them
 * (pkg/kubelet/kubelet_pods.go makeMounts, with containerd's CRI mount options). */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "common/fs.h"
#include "common/mountinfo.h"
#include "podspec/podspec.h"
#include "cri/layout.h"
#include "volume-internal.h"

#define PLUGIN_EMPTY_DIR "kubernetes.io~empty-dir"
#define PLUGIN_SECRET "kubernetes.io~secret"
#define PLUGIN_CONFIG_MAP "kubernetes.io~configmap"
#define PLUGIN_DOWNWARD_API "kubernetes.io~downward-api"
#define PLUGIN_PROJECTED "kubernetes.io~projected"

enum vol_kind {
        VOL_EMPTY_DIR,
        VOL_HOST_PATH,
        VOL_SECRET,
        VOL_CONFIG_MAP,
        VOL_DOWNWARD_API,
        VOL_PROJECTED,
        VOL_UNSUPPORTED,
};

static enum vol_kind volume_kind(const struct pod_volume *v) {
        if (v->host_path)
                return VOL_HOST_PATH;
        if (v->empty_dir)
                return VOL_EMPTY_DIR;
        if (v->secret)
                return VOL_SECRET;
        if (v->config_map)
                return VOL_CONFIG_MAP;
        if (v->downward_api)
                return VOL_DOWNWARD_API;
        if (v->projected)
                return VOL_PROJECTED;
        if (v->n_other > 0)
                return VOL_UNSUPPORTED;
        return VOL_EMPTY_DIR; /* as the kubelet: a volume without a source is an emptyDir */
}

static const char *kind_plugin(enum vol_kind k) {
        switch (k) {
        case VOL_EMPTY_DIR:
                return PLUGIN_EMPTY_DIR;
        case VOL_SECRET:
                return PLUGIN_SECRET;
        case VOL_CONFIG_MAP:
                return PLUGIN_CONFIG_MAP;
        case VOL_DOWNWARD_API:
                return PLUGIN_DOWNWARD_API;
        case VOL_PROJECTED:
                return PLUGIN_PROJECTED;
        default:
                return NULL;
        }
}

/* Volumes whose mounter says ReadOnly: the container always gets them read-only
 * (CVE-2017-1002102: a writable projection could be turned against the kubelet). */
static bool kind_read_only(enum vol_kind k) {
        return k == VOL_SECRET || k == VOL_CONFIG_MAP || k == VOL_DOWNWARD_API || k == VOL_PROJECTED;
}

/* Names that become path components: validation already made them DNS labels or UIDs; refuse
 * anything that could walk elsewhere anyway. */
static bool safe_name(const char *s) {
        return !isempty(s) && !streq(s, ".") && !streq(s, "..") && !strchr(s, '/') && strlen(s) <= 253;
}

/* Where the volume lives on the host: the plugin directory, or the host path itself. */
static char *volume_path(const struct cri_config *cfg, const char *uid, const struct pod_volume *v) {
        enum vol_kind k = volume_kind(v);
        if (k == VOL_HOST_PATH)
                return strdup(strempty(v->host_path->path));
        if (k == VOL_UNSUPPORTED)
                return NULL;
        return layout_volume_dir(cfg->root_dir, uid, kind_plugin(k), v->name);
}

static int64_t fs_group_of(const struct pod *pod) {
        const struct pod_pod_security_context *sc = pod->spec.security_context;
        return sc && sc->fs_group.set && sc->fs_group.v >= 0 && sc->fs_group.v <= UINT32_MAX - 1
                       ? sc->fs_group.v
                       : -1;
}

/* ---- tmpfs sizing ------------------------------------------------------------------------- */

static const pod_quantity *memory_limit(const struct pod_resource_requirements *r) {
        if (!r)
                return NULL;
        for (size_t i = 0; i < r->n_limits; i++)
                if (streq(r->limits[i].name, "memory") && r->limits[i].q.set)
                        return &r->limits[i].q;
        return NULL;
}

/* The pod cgroup's memory limit, ResourceConfigForPod(): PodLimits (app containers summed,
 * sidecars added, the largest init container as a floor, overhead on top) when the pod is
 * Guaranteed, or Burstable with a memory limit on every app container; else none (0). A
 * pod-level limit (spec.resources) wins. */
static int64_t pod_memory_limit(const struct pod *pod) {
        const pod_quantity *pl = memory_limit(pod->spec.resources);
        if (pl)
                return pod_quantity_value(pl);

        const char *qos = pod_qos_class(pod);
        if (streq(qos, "BestEffort"))
                return 0;
        bool declared = true, any = false;
        int64_t sum = 0;
        for (size_t i = 0; i < pod->spec.n_containers; i++) {
                const pod_quantity *q = memory_limit(pod->spec.containers[i].resources);
                if (!q || pod_quantity_is_zero(q)) {
                        declared = false;
                        continue;
                }
                any = true;
                sum += pod_quantity_value(q);
        }
        int64_t sidecars = 0, init_max = 0;
        for (size_t i = 0; i < pod->spec.n_init_containers; i++) {
                const struct pod_container *c = &pod->spec.init_containers[i];
                const pod_quantity *q = memory_limit(c->resources);
                int64_t v = q ? pod_quantity_value(q) : 0;
                if (q)
                        any = true;
                if (streq_ptr(c->restart_policy, "Always")) {
                        sum += v;
                        sidecars += v;
                        if (sidecars > init_max)
                                init_max = sidecars;
                } else if (v + sidecars > init_max)
                        init_max = v + sidecars;
        }
        if (!any)
                return 0;
        int64_t limit = sum > init_max ? sum : init_max;
        for (size_t i = 0; i < pod->spec.n_overhead; i++)
                if (streq(pod->spec.overhead[i].name, "memory"))
                        limit += pod_quantity_value(&pod->spec.overhead[i].q);
        if (streq(qos, "Burstable") && !declared)
                return 0;
        return limit;
}

/* calculateEmptyDirMemorySize (SizeMemoryBackedVolumes, GA): node allocatable memory, lowered
 * to the pod's memory limit, lowered to the volume's sizeLimit, each only when positive and not
 * larger. Unknown allocatable (0) counts as unbounded here, so a sizeLimit still applies; with
 * nothing known the size is left to the kernel (half of RAM). Returns 0 for "no size=". */
static int64_t tmpfs_size(const struct pod *pod, const struct plan_context *plan,
                          const pod_quantity *size_limit) {
        int64_t size = plan && plan->node_allocatable_memory > 0 ? plan->node_allocatable_memory : INT64_MAX;
        int64_t pl = pod_memory_limit(pod);
        if (pl > 0 && pl <= size)
                size = pl;
        if (size_limit && size_limit->set) {
                int64_t sl = pod_quantity_value(size_limit);
                if (sl > 0 && sl <= size)
                        size = sl;
        }
        return size == INT64_MAX ? 0 : size;
}

/* setupTmpfs: a no-op when the directory already is a mount point (SetUp is idempotent).
 * Options: size= as computed, noswap where the kernel has it (6.4+, as the kubelet probes),
 * and nosuid,nodev, which the kubelet does not pass but nothing in a volume needs. */
static int mount_tmpfs(const char *dir, int64_t size, nl_error *err) {
        int r = nl_is_mount_point(dir);
        if (r < 0)
                return nl_error_set(err, r, "check mount point \"%s\": %s", dir, strerror(-r));
        if (r > 0)
                return 0;
        char opts[64] = "";
        if (size > 0)
                snprintf(opts, sizeof(opts), "size=%" PRId64, size);
        char with_noswap[80];
        snprintf(with_noswap, sizeof(with_noswap), "%s%snoswap", opts, *opts ? "," : "");
        if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, with_noswap) == 0)
                return 1;
        if (errno == EINVAL && mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, *opts ? opts : NULL) == 0)
                return 1;
        return nl_error_set(err, -errno, "mount tmpfs at \"%s\": %m", dir);
}

/* ---- directories -------------------------------------------------------------------------- */

/* The plugin directory layout: pods/<uid> and volumes/ 0750 as the kubelet's pod dirs, the
 * volume itself 0777 (emptyDir's perm, also the wrapped emptyDir of the projections). */
static int make_volume_dir(const char *path, bool *ret_created, nl_error *err) {
        _cleanup_free_ char *parent = strdup(path);
        if (!parent)
                return -ENOMEM;
        char *slash = strrchr(parent, '/');
        if (!slash)
                return -EINVAL;
        *slash = 0;
        int r = nl_mkdir_p(parent, 0750);
        if (r < 0)
                return nl_error_set(err, r, "create \"%s\": %s", parent, strerror(-r));
        bool created = mkdir(path, 0777) == 0;
        if (!created && errno != EEXIST)
                return nl_error_set(err, -errno, "create \"%s\": %m", path);
        struct stat st;
        if (lstat(path, &st) < 0)
                return nl_error_set(err, -errno, "stat \"%s\": %m", path);
        if (!S_ISDIR(st.st_mode))
                return nl_error_set(err, -ENOTDIR, "\"%s\" is not a directory", path);
        /* mkdir went through the umask */
        if (created && chmod(path, 0777) < 0)
                return nl_error_set(err, -errno, "chmod \"%s\": %m", path);
        *ret_created = created;
        return 0;
}

static int apply_fs_group(const char *dir, int64_t gid, bool read_only, nl_error *err) {
        if (gid < 0)
                return 0;
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return nl_error_set(err, -errno, "open \"%s\": %m", dir);
        int r = volume_set_ownership(fd, (gid_t) gid, read_only);
        if (r < 0)
                return nl_error_set(err, r, "set fsGroup %" PRId64 " on \"%s\": %s", gid, dir, strerror(-r));
        return 0;
}

/* Undo a first, failed setup (upstream tears the wrapped emptyDir down the same way). */
static void remove_volume_dir(const char *path) {
        _cleanup_free_ char *parent = strdup(path);
        if (!parent)
                return;
        char *slash = strrchr(parent, '/');
        if (!slash)
                return;
        *slash = 0;
        _cleanup_close_ int fd = open(parent, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0)
                (void) fs_remove_tree(fd, slash + 1);
}

/* ---- emptyDir ----------------------------------------------------------------------------- */

static int setup_empty_dir(const struct pod *pod, const struct pod_volume *v,
                           const struct volume_context *ctx, const char *dir, nl_error *err) {
        const struct pod_empty_dir_volume *e = v->empty_dir;
        const char *medium = e ? strempty(e->medium) : "";
        bool memory = streq(medium, "Memory");
        if (streq(medium, "HugePages") || strncmp(medium, "HugePages-", 10) == 0)
                /* hugetlbfs needs the pod's hugepage requests and page size checks nodelet does
                 * not do yet (setupHugepages): refuse rather than mount something half right. */
                return nl_error_set(err, -EOPNOTSUPP, "emptyDir medium \"%s\" is not supported by nodelet",
                                    medium);
        if (!memory && *medium)
                return nl_error_set(err, -EINVAL, "unknown storage medium \"%s\"", medium);

        /* sizeLimit of a disk-backed emptyDir is enforced upstream by eviction (the kubelet's
         * eviction manager measures usage): nodelet does not enforce it here. */
        bool created = false;
        int r = make_volume_dir(dir, &created, err);
        if (r < 0)
                return r;
        bool fresh = created;
        if (memory) {
                r = mount_tmpfs(dir, tmpfs_size(pod, ctx ? ctx->plan : NULL, e ? &e->size_limit : NULL),
                                err);
                if (r < 0) {
                        if (created)
                                remove_volume_dir(dir);
                        return r;
                }
                fresh = r > 0;
        }
        if (fresh) {
                r = apply_fs_group(dir, fs_group_of(pod), false, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- hostPath ----------------------------------------------------------------------------- */

/* hostutil getFileType: os.Stat, so symlinks are followed, as upstream does. */
static const char *host_file_type(const struct stat *st) {
        if (S_ISDIR(st->st_mode))
                return "Directory";
        if (S_ISSOCK(st->st_mode))
                return "Socket";
        if (S_ISCHR(st->st_mode))
                return "CharDevice";
        if (S_ISBLK(st->st_mode))
                return "BlockDevice";
        if (S_ISREG(st->st_mode))
                return "File";
        return NULL;
}

static int host_type_matches(const char *path, const char *want, const char *description, nl_error *err) {
        struct stat st;
        if (stat(path, &st) < 0)
                return nl_error_set(err, -ENOENT, "hostPath %s doesn't exist", path);
        const char *type = host_file_type(&st);
        if (!type)
                return nl_error_set(
                        err, -EINVAL,
                        "hostPath type check failed, %s is not a %s, unable to determine its type: only "
                        "recognise file, directory, socket, block device and character device",
                        path, description);
        if (!streq(type, want))
                return nl_error_set(err, -EINVAL, "hostPath type check failed: %s is not a %s, it's a %s",
                                    path, description, type);
        return 0;
}

/* checkType (pkg/volume/hostpath). DirectoryOrCreate is MkdirAll 0755 (through the umask, as
 * root: owned by root), FileOrCreate an O_CREAT open 0644 without creating parents; both
 * follow symlinks as upstream's os calls do. */
static int setup_host_path(const struct pod_host_path_volume *h, nl_error *err) {
        const char *path = h->path, *type = strempty(h->type);
        struct stat st;

        if (isempty(path) || path[0] != '/')
                return nl_error_set(err, -EINVAL, "hostPath %s is not an absolute path", strempty(path));
        if (!*type)
                return 0;
        if (streq(type, "DirectoryOrCreate")) {
                if (stat(path, &st) < 0) {
                        int r = nl_mkdir_p(path, 0755);
                        if (r < 0 && r != -EEXIST)
                                return nl_error_set(err, r, "mkdir %s: %s", path, strerror(-r));
                }
                return host_type_matches(path, "Directory", "directory", err);
        }
        if (streq(type, "Directory"))
                return host_type_matches(path, "Directory", "directory", err);
        if (streq(type, "FileOrCreate")) {
                if (stat(path, &st) < 0) {
                        int fd = open(path, O_RDONLY | O_CREAT | O_NOCTTY | O_NONBLOCK | O_CLOEXEC, 0644);
                        if (fd < 0 && errno != EEXIST)
                                return nl_error_set(err, -errno, "open %s: %m", path);
                        if (fd >= 0)
                                close(fd);
                }
                return host_type_matches(path, "File", "file", err);
        }
        if (streq(type, "File"))
                return host_type_matches(path, "File", "file", err);
        if (streq(type, "Socket"))
                return host_type_matches(path, "Socket", "socket file", err);
        if (streq(type, "CharDevice"))
                return host_type_matches(path, "CharDevice", "character device", err);
        if (streq(type, "BlockDevice"))
                return host_type_matches(path, "BlockDevice", "block device", err);
        return nl_error_set(err, -EINVAL, "%s is an invalid volume type", type);
}

/* ---- downward API ------------------------------------------------------------------------- */

static int kv_cmp(const void *a, const void *b) {
        return strcmp((*(const struct pod_kv *const *) a)->key, (*(const struct pod_kv *const *) b)->key);
}

/* fieldpath.FormatMap: `key="value"` lines sorted by key, values quoted as Go's %q, no
 * newline after the last. */
static char *format_map(const struct pod_kv *kv, size_t n) {
        _cleanup_free_ const struct pod_kv **sorted = calloc(n ? n : 1, sizeof(*sorted));
        if (!sorted)
                return NULL;
        for (size_t i = 0; i < n; i++)
                sorted[i] = &kv[i];
        qsort(sorted, n, sizeof(*sorted), kv_cmp);
        nl_buf b = {};
        nl_buf_puts(&b, "");
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *q = pod_error_quote(sorted[i]->value);
                if (!q) {
                        nl_buf_free(&b);
                        return NULL;
                }
                nl_buf_printf(&b, "%s%s=%s", i ? "\n" : "", sorted[i]->key, q);
        }
        return nl_buf_steal(&b);
}

static const char *kv_get(const struct pod_kv *kv, size_t n, const char *key) {
        for (size_t i = 0; i < n; i++)
                if (streq(kv[i].key, key))
                        return kv[i].value;
        return NULL;
}

/* fieldpath.ExtractFieldPathAsString: the metadata fields a downwardAPI volume may name. */
static int field_value(const struct pod *pod, const char *path, char **ret, nl_error *err) {
        const struct pod_object_meta *m = &pod->metadata;
        size_t len = strlen(path);
        char *v = NULL;

        const char *open = strstr(path, "['");
        if (len > 2 && streq(path + len - 2, "']") && open && open > path) {
                _cleanup_free_ char *base = strndup(path, (size_t) (open - path));
                _cleanup_free_ char *key = strndup(open + 2, (size_t) (path + len - 2 - (open + 2)));
                if (!base || !key)
                        return -ENOMEM;
                if (streq(base, "metadata.annotations"))
                        v = strdup(strempty(kv_get(m->annotations, m->n_annotations, key)));
                else if (streq(base, "metadata.labels"))
                        v = strdup(strempty(kv_get(m->labels, m->n_labels, key)));
                else
                        return nl_error_set(err, -EINVAL, "fieldPath \"%s\" does not support subscript",
                                            path);
        } else if (streq(path, "metadata.annotations"))
                v = format_map(m->annotations, m->n_annotations);
        else if (streq(path, "metadata.labels"))
                v = format_map(m->labels, m->n_labels);
        else if (streq(path, "metadata.name"))
                v = strdup(strempty(m->name));
        else if (streq(path, "metadata.namespace"))
                v = strdup(strempty(m->namespace));
        else if (streq(path, "metadata.uid"))
                v = strdup(strempty(m->uid));
        else
                return nl_error_set(err, -EINVAL, "unsupported fieldPath: %s", path);
        if (!v)
                return -ENOMEM;
        *ret = v;
        return 0;
}

/* CollectData (pkg/volume/downwardapi): one file per item, mode from the item or defaultMode. */
static int downward_payload(const struct pod *pod, const struct plan_context *plan,
                            const struct pod_downward_api_file *items, size_t n, int64_t default_mode,
                            struct aw_payload *p, nl_error *err) {
        for (size_t i = 0; i < n; i++) {
                const struct pod_downward_api_file *f = &items[i];
                _cleanup_free_ char *v = NULL;
                int r = 0;
                if (f->field_ref)
                        r = field_value(pod, strempty(f->field_ref->field_path), &v, err);
                else if (f->resource_field_ref)
                        r = cri_resource_field_value(pod, plan, f->resource_field_ref, &v, err);
                if (r < 0)
                        return r;
                mode_t mode = (mode_t) ((f->mode.set ? f->mode.v : default_mode) & 07777);
                r = aw_payload_add(p, strempty(f->path), v ? v : "", v ? strlen(v) : 0, mode, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- configMap, secret -------------------------------------------------------------------- */

/* MakePayload (pkg/volume/configmap, pkg/volume/secret). */
static int object_payload(const struct volume_context *ctx, bool secret, const char *name,
                          const struct pod_key_to_path *items, size_t n_items, bool optional,
                          int64_t default_mode, struct aw_payload *p, nl_error *err) {
        const char *kind = secret ? "secret" : "configmap";
        json_t *obj = NULL;
        int r = ctx && ctx->get_object ? ctx->get_object(ctx->userdata, secret, strempty(name), &obj)
                                       : -ENOENT;
        if (r == -ENOENT) {
                /* the kubelet's object managers report NotFound as `configmap "x" not found` */
                if (!optional)
                        return nl_error_set(err, -ENOENT, "%s \"%s\" not found", kind, strempty(name));
                return 0;
        }
        if (r < 0)
                return nl_error_set(err, r, "get %s \"%s\": %s", kind, strempty(name), strerror(-r));
        if (!json_is_object(obj)) {
                json_decref(obj);
                return nl_error_set(err, -EINVAL, "%s \"%s\": data is not an object", kind, strempty(name));
        }

        if (n_items == 0) {
                const char *key;
                json_t *value;
                json_object_foreach(obj, key, value) {
                        if (!json_is_string(value))
                                continue;
                        r = aw_payload_add(p, key, json_string_value(value), json_string_length(value),
                                           (mode_t) (default_mode & 07777), err);
                        if (r < 0)
                                goto out;
                }
        }
        for (size_t i = 0; i < n_items; i++) {
                const struct pod_key_to_path *k = &items[i];
                json_t *value = json_object_get(obj, strempty(k->key));
                if (!json_is_string(value)) {
                        if (optional)
                                continue;
                        r = secret ? nl_error_set(err, -ENOENT, "references non-existent secret key: %s",
                                                  strempty(k->key))
                                   : nl_error_set(err, -ENOENT,
                                                  "configmap references non-existent config key: %s",
                                                  strempty(k->key));
                        goto out;
                }
                mode_t mode = (mode_t) ((k->mode.set ? k->mode.v : default_mode) & 07777);
                r = aw_payload_add(p, strempty(k->path), json_string_value(value), json_string_length(value),
                                   mode, err);
                if (r < 0)
                        goto out;
        }
        r = 0;
out:
        json_decref(obj);
        return r;
}

/* A serviceAccountToken source (pkg/volume/projected collectData): the token the API server
 * issued for the pod, mode defaultMode, or 0600 when fsGroup is set (the ownership pass then
 * makes it 0640). Static pods have no API server to ask (get_token NULL). */
static int token_payload(const struct pod *pod, const struct pod_service_account_token_projection *t,
                         const struct volume_context *ctx, int64_t default_mode, struct aw_payload *p,
                         nl_error *err) {
        if (!ctx || !ctx->get_token)
                return nl_error_set(err, -EOPNOTSUPP,
                                    "serviceAccountToken projection \"%s\" needs a token from the API server, "
                                    "which nodelet cannot request",
                                    strempty(t->path));
        _cleanup_free_ char *token = NULL;
        int r = ctx->get_token(ctx->userdata, strempty(t->audience),
                               t->expiration_seconds.set ? t->expiration_seconds.v : 3600, &token);
        if (r < 0)
                return nl_error_set(err, r, "failed to fetch token: %s", strerror(-r));
        mode_t mode = (mode_t) ((fs_group_of(pod) >= 0 ? 0600 : default_mode) & 07777);
        return aw_payload_add(p, strempty(t->path), token, strlen(token), mode, err);
}

static int projected_payload(const struct pod *pod, const struct pod_projected_volume *pv,
                             const struct volume_context *ctx, struct aw_payload *p, nl_error *err) {
        int64_t mode = pv->default_mode.set ? pv->default_mode.v : 0644;
        for (size_t i = 0; i < pv->n_sources; i++) {
                const struct pod_volume_projection *s = &pv->sources[i];
                int r = 0;
                if (s->config_map)
                        r = object_payload(ctx, false, s->config_map->name, s->config_map->items,
                                           s->config_map->n_items,
                                           s->config_map->optional.set && s->config_map->optional.v, mode, p,
                                           err);
                else if (s->secret)
                        r = object_payload(ctx, true, s->secret->name, s->secret->items, s->secret->n_items,
                                           s->secret->optional.set && s->secret->optional.v, mode, p, err);
                else if (s->downward_api)
                        r = downward_payload(pod, ctx ? ctx->plan : NULL, s->downward_api->items,
                                             s->downward_api->n_items, mode, p, err);
                else if (s->service_account_token)
                        r = token_payload(pod, s->service_account_token, ctx, mode, p, err);
                else if (s->cluster_trust_bundle)
                        r = nl_error_set(err, -EOPNOTSUPP,
                                         "clusterTrustBundle projections are not supported by nodelet");
                else if (s->pod_certificate)
                        r = nl_error_set(err, -EOPNOTSUPP,
                                         "podCertificate projections are not supported by nodelet");
                if (r < 0)
                        return r;
        }
        return 0;
}

/* configMap, secret, downwardAPI, projected: payload first (a missing object leaves nothing
 * behind), then the directory (tmpfs for secret and projected: their wrapped emptyDir is
 * medium Memory, so secrets never reach the disk), then the atomic writer. */
static int setup_projection(const struct pod *pod, const struct pod_volume *v, enum vol_kind kind,
                            const struct volume_context *ctx, const char *dir, nl_error *err) {
        _cleanup_(aw_payload_done) struct aw_payload p = {};
        int r;

        switch (kind) {
        case VOL_CONFIG_MAP: {
                const struct pod_config_map_volume *c = v->config_map;
                r = object_payload(ctx, false, c->name, c->items, c->n_items,
                                   c->optional.set && c->optional.v,
                                   c->default_mode.set ? c->default_mode.v : 0644, &p, err);
                break;
        }
        case VOL_SECRET: {
                const struct pod_secret_volume *s = v->secret;
                r = object_payload(ctx, true, s->secret_name, s->items, s->n_items,
                                   s->optional.set && s->optional.v,
                                   s->default_mode.set ? s->default_mode.v : 0644, &p, err);
                break;
        }
        case VOL_DOWNWARD_API: {
                const struct pod_downward_api_volume *d = v->downward_api;
                r = downward_payload(pod, ctx ? ctx->plan : NULL, d->items, d->n_items,
                                     d->default_mode.set ? d->default_mode.v : 0644, &p, err);
                break;
        }
        case VOL_PROJECTED:
                r = projected_payload(pod, v->projected, ctx, &p, err);
                break;
        default:
                return -EINVAL;
        }
        if (r < 0)
                return r;

        bool created = false;
        r = make_volume_dir(dir, &created, err);
        if (r < 0)
                return r;
        if (kind == VOL_SECRET || kind == VOL_PROJECTED) {
                r = mount_tmpfs(dir, tmpfs_size(pod, ctx ? ctx->plan : NULL, NULL), err);
                if (r < 0)
                        goto fail;
        }
        r = atomic_writer_write(dir, &p, fs_group_of(pod), err);
        if (r < 0)
                goto fail;
        return 0;
fail:
        if (created)
                remove_volume_dir(dir);
        return r;
}

/* ---- setup and teardown ------------------------------------------------------------------- */

int cri_volumes_setup(const struct cri_config *cfg, const struct pod *pod, const struct volume_context *ctx,
                      nl_error *err) {
        const char *uid = pod->metadata.uid;
        if (!safe_name(uid))
                return nl_error_set(err, -EINVAL, "pod UID \"%s\" is not usable as a directory name",
                                    strempty(uid));

        for (size_t i = 0; i < pod->spec.n_volumes; i++) {
                const struct pod_volume *v = &pod->spec.volumes[i];
                enum vol_kind kind = volume_kind(v);
                nl_error e = NL_ERROR_INIT;
                int r;

                if (!safe_name(v->name))
                        return nl_error_set(err, -EINVAL,
                                            "volume name \"%s\" is not usable as a directory name",
                                            strempty(v->name));
                if (kind == VOL_UNSUPPORTED)
                        return nl_error_set(
                                err, -EOPNOTSUPP,
                                "MountVolume.SetUp failed for volume \"%s\" : %s volumes are not supported "
                                "by nodelet",
                                v->name, strempty(v->other[0].type));

                _cleanup_free_ char *dir = volume_path(cfg, uid, v);
                if (!dir)
                        return -ENOMEM;
                switch (kind) {
                case VOL_EMPTY_DIR:
                        r = setup_empty_dir(pod, v, ctx, dir, &e);
                        break;
                case VOL_HOST_PATH:
                        r = setup_host_path(v->host_path, &e);
                        break;
                default:
                        r = setup_projection(pod, v, kind, ctx, dir, &e);
                        break;
                }
                if (r < 0) {
                        /* the kubelet's event text for a failed mount */
                        nl_error_set(err, r, "MountVolume.SetUp failed for volume \"%s\" : %s", v->name,
                                     e.msg ? e.msg : strerror(-r));
                        nl_error_clear(&e);
                        return r;
                }
        }
        return 0;
}

int cri_volumes_teardown(const struct cri_config *cfg, const char *pod_uid, nl_error *err) {
        if (!safe_name(pod_uid))
                return nl_error_set(err, -EINVAL, "pod UID \"%s\" is not usable as a directory name",
                                    strempty(pod_uid));
        _cleanup_free_ char *dir = layout_pod_dir(cfg->root_dir, pod_uid);
        if (!dir)
                return -ENOMEM;
        _cleanup_close_ int fd = open(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
                if (errno == ENOENT)
                        return 0;
                return nl_error_set(err, -errno, "open \"%s\": %m", dir);
        }
        /* Subpath bind mounts first (they may pin volume content), then the volumes: every mount
         * point on the way (subpath binds, tmpfs, anything a container propagated back) is
         * detached, never descended into; symlinks are unlinked, never followed. */
        const char *const parts[] = {LAYOUT_VOLUME_SUBPATHS, LAYOUT_VOLUMES};
        for (size_t i = 0; i < ELEMENTSOF(parts); i++) {
                int r = fs_remove_tree(fd, parts[i]);
                if (r < 0)
                        return nl_error_set(err, r, "remove \"%s/%s\": %s", dir, parts[i], strerror(-r));
        }
        return 0;
}

/* ---- container mounts --------------------------------------------------------------------- */

struct expand_ctx {
        char *const *env;
        size_t n_env;
        char **missing;
        size_t n_missing;
        bool oom;
};

static const char *expand_lookup(const char *name, void *userdata) {
        struct expand_ctx *x = userdata;
        size_t len = strlen(name);
        const char *value = NULL;
        /* later entries win, as envVarsToMap */
        for (size_t i = x->n_env; i > 0; i--) {
                const char *e = x->env[i - 1];
                if (e && strncmp(e, name, len) == 0 && e[len] == '=') {
                        value = e + len + 1;
                        break;
                }
        }
        if (value && *value)
                return value;
        for (size_t i = 0; i < x->n_missing; i++)
                if (streq(x->missing[i], name))
                        return value;
        char **n = realloc(x->missing, (x->n_missing + 1) * sizeof(char *));
        char *copy = strdup(name);
        if (!n || !copy) {
                free(copy);
                if (n)
                        x->missing = n;
                x->oom = true;
                return value;
        }
        x->missing = n;
        x->missing[x->n_missing++] = copy;
        return value;
}

static int str_cmp(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* ExpandContainerVolumeMounts: every reference must resolve to a non-empty value. */
static int expand_sub_path(const char *expr, char *const *env, size_t n_env, char **ret, nl_error *err) {
        struct expand_ctx x = {.env = env, .n_env = n_env};
        _cleanup_free_ char *out = podspec_expand(expr, expand_lookup, &x);
        int r = 0;
        if (!out || x.oom)
                r = -ENOMEM;
        else if (x.n_missing > 0) {
                qsort(x.missing, x.n_missing, sizeof(char *), str_cmp);
                nl_buf b = {};
                nl_buf_puts(&b, "");
                for (size_t i = 0; i < x.n_missing; i++)
                        nl_buf_printf(&b, "%s%s", i ? ", " : "", x.missing[i]);
                _cleanup_free_ char *list = nl_buf_steal(&b);
                r = nl_error_set(err, -EINVAL, "missing value for %s", strempty(list));
        }
        for (size_t i = 0; i < x.n_missing; i++)
                free(x.missing[i]);
        free(x.missing);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(out);
        return 0;
}

static bool has_backstep(const char *p) {
        for (const char *s = p;;) {
                const char *slash = strchr(s, '/');
                size_t len = slash ? (size_t) (slash - s) : strlen(s);
                if (len == 2 && s[0] == '.' && s[1] == '.')
                        return true;
                if (!slash)
                        return false;
                s = slash + 1;
        }
}

/* ---- propagation ---------------------------------------------------------------------------- */

/* The mount a path is on (by the mount ID statx reports) and its propagation. */
static int mount_propagation(const char *path, char **ret_mount_point, bool *ret_shared, bool *ret_slave) {
        struct statx sx;
        if (statx(AT_FDCWD, path, AT_NO_AUTOMOUNT, STATX_MNT_ID, &sx) < 0)
                return -errno;
        if (!(sx.stx_mask & STATX_MNT_ID))
                return -EOPNOTSUPP;
        _cleanup_free_ char *buf = NULL;
        int r = mountinfo_read(&buf);
        if (r < 0)
                return r;
        char *save = NULL;
        for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                struct mountinfo_entry e;
                if (mountinfo_parse_line(line, &e) < 0 || e.id != sx.stx_mnt_id)
                        continue;
                char *mp = strdup(e.mount_point);
                if (!mp)
                        return -ENOMEM;
                *ret_mount_point = mp;
                *ret_shared = e.shared;
                *ret_slave = e.slave;
                return 0;
        }
        return -ENOENT;
}

/* The kubelet makes its whole root directory rshared at start (MakeRShared) so that
 * Bidirectional and HostToContainer volumes propagate. nodelet does it per volume, when a
 * container first asks: the volume directory is bound onto itself (recursively) unless it is a
 * mount point already (tmpfs), and made rshared. Binding the root dir itself later would shadow
 * the mounts already under it; per volume, nothing is shadowed and teardown detaches the bind
 * like any other mount it finds. */
static int make_shared(const char *volume) {
        _cleanup_free_ char *mp = NULL, *path = realpath(volume, NULL);
        bool shared, slave;
        if (!path)
                return -errno;
        int r = mount_propagation(path, &mp, &shared, &slave);
        if (r < 0)
                return r;
        if (shared)
                return 0;
        if (!streq(mp, path) && mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0)
                return -errno;
        if (mount(NULL, path, NULL, MS_SHARED | MS_REC, NULL) < 0)
                return -errno;
        return 0;
}

/* containerd's ensureShared / ensureSharedOrSlave on the mount source. */
static int check_propagation(const char *source, bool bidirectional, nl_error *err) {
        _cleanup_free_ char *mp = NULL, *real = realpath(source, NULL);
        bool shared, slave;
        if (!real)
                return nl_error_set(err, -errno, "resolve \"%s\": %m", source);
        int r = mount_propagation(real, &mp, &shared, &slave);
        if (r < 0)
                return nl_error_set(err, r, "find the mount of \"%s\": %s", real, strerror(-r));
        if (shared || (!bidirectional && slave))
                return 0;
        if (bidirectional)
                return nl_error_set(err, -EINVAL,
                                    "path \"%s\" is mounted on \"%s\" but it is not a shared mount", real,
                                    mp);
        return nl_error_set(err, -EINVAL,
                            "path \"%s\" is mounted on \"%s\" but it is not a shared or slave mount", real,
                            mp);
}

/* ---- one mount ------------------------------------------------------------------------------ */

static int prepare_subpath(const struct cri_config *cfg, const struct pod *pod,
                           const struct pod_container *c, const struct pod_volume_mount *vm, size_t index,
                           const char *volume, const char *sub, char **ret_source, nl_error *err) {
        const char *vname = vm->name, *cname = c->name;
        if (sub[0] == '/')
                return nl_error_set(err, -EINVAL, "error SubPath `%s` must not be an absolute path", sub);
        if (has_backstep(sub))
                return nl_error_set(err, -EINVAL, "unable to provision SubPath `%s`: must not contain '..'",
                                    sub);

        /* As upstream, the details stay out of the message: they would describe the host. */
        _cleanup_close_ int fd = -1;
        int r = subpath_open(volume, sub, false, 0, &fd, NULL);
        if (r == -ENOENT) {
                /* Created now with the volume root's mode (SafeMakeDir with GetMode), so that an
                 * fsGroup volume's g+rwx and setgid carry over. */
                struct stat st;
                if (stat(volume, &st) < 0)
                        return nl_error_set(err, -errno,
                                            "failed to create subPath directory for volumeMount \"%s\" of "
                                            "container \"%s\"",
                                            vname, cname);
                r = subpath_open(volume, sub, true, st.st_mode & 07777, &fd, NULL);
                if (r < 0)
                        return nl_error_set(err, r,
                                            "failed to create subPath directory for volumeMount \"%s\" of "
                                            "container \"%s\"",
                                            vname, cname);
        }
        if (r < 0)
                return nl_error_set(err, r,
                                    "failed to prepare subPath for volumeMount \"%s\" of container \"%s\"",
                                    vname, cname);

        _cleanup_free_ char *parent =
                layout_volume_subpaths_dir(cfg->root_dir, pod->metadata.uid, vname, cname);
        _cleanup_free_ char *target = nl_strdupf("%s/%zu", strempty(parent), index);
        if (!parent || !target)
                return -ENOMEM;
        r = nl_mkdir_p(parent, 0750);
        if (r >= 0)
                r = subpath_bind(fd, target);
        if (r < 0)
                return nl_error_set(err, r,
                                    "failed to prepare subPath for volumeMount \"%s\" of container \"%s\"",
                                    vname, cname);
        *ret_source = TAKE_PTR(target);
        return 0;
}

static int push_option(struct oci_mount *m, const char *opt) {
        char **n = realloc(m->options, (m->n_options + 1) * sizeof(char *));
        if (!n)
                return -ENOMEM;
        m->options = n;
        if (!(m->options[m->n_options] = strdup(opt)))
                return -ENOMEM;
        m->n_options++;
        return 0;
}

static int make_mount(const struct cri_config *cfg, const struct pod *pod, const struct pod_container *c,
                      size_t index, char *const *env, size_t n_env, struct oci_mount *ret, nl_error *err) {
        const struct pod_volume_mount *vm = &c->volume_mounts[index];
        const struct pod_volume *v = NULL;
        for (size_t i = 0; i < pod->spec.n_volumes && !v; i++)
                if (streq_ptr(pod->spec.volumes[i].name, vm->name))
                        v = &pod->spec.volumes[i];
        if (!v || !safe_name(vm->name))
                return nl_error_set(err, -ENOENT, "cannot find volume \"%s\" to mount into container \"%s\"",
                                    strempty(vm->name), c->name);
        enum vol_kind kind = volume_kind(v);
        if (kind == VOL_UNSUPPORTED)
                return nl_error_set(err, -EOPNOTSUPP,
                                    "volume \"%s\": %s volumes are not supported by nodelet", v->name,
                                    strempty(v->other[0].type));

        _cleanup_free_ char *source = volume_path(cfg, pod->metadata.uid, v);
        if (!source)
                return -ENOMEM;
        struct stat st;
        if (kind == VOL_HOST_PATH) {
                /* As containerd: a missing host path is created as a directory (0755) and the
                 * source has its symlinks resolved. */
                if (stat(source, &st) < 0) {
                        int r = errno == ENOENT ? nl_mkdir_p(source, 0755) : -errno;
                        if (r < 0 && r != -EEXIST)
                                return nl_error_set(err, r, "failed to mkdir \"%s\": %s", source,
                                                    strerror(-r));
                }
                char *real = realpath(source, NULL);
                if (!real)
                        return nl_error_set(err, -errno, "failed to resolve symlink \"%s\": %m", source);
                free(source);
                source = real;
        } else if (lstat(source, &st) < 0 || !S_ISDIR(st.st_mode))
                return nl_error_set(err, -ENOENT, "volume \"%s\" of container \"%s\" is not set up", v->name,
                                    c->name);

        const char *propagation = strempty(vm->mount_propagation);
        bool bidi = streq(propagation, "Bidirectional"), h2c = streq(propagation, "HostToContainer");
        if (*propagation && !bidi && !h2c && !streq(propagation, "None"))
                return nl_error_set(err, -EINVAL, "invalid MountPropagation mode: \"%s\"", propagation);
        int r;
        if ((bidi || h2c) && kind != VOL_HOST_PATH) {
                /* before the subPath bind, so that it joins the volume's peer group */
                r = make_shared(source);
                if (r < 0)
                        return nl_error_set(err, r, "make volume \"%s\" a shared mount: %s", v->name,
                                            strerror(-r));
        }

        _cleanup_free_ char *sub = NULL;
        if (!isempty(vm->sub_path_expr)) {
                r = expand_sub_path(vm->sub_path_expr, env, n_env, &sub, err);
                if (r < 0)
                        return r;
        } else if (!isempty(vm->sub_path) && !(sub = strdup(vm->sub_path)))
                return -ENOMEM;
        if (!isempty(sub)) {
                char *bound = NULL;
                r = prepare_subpath(cfg, pod, c, vm, index, source, sub, &bound, err);
                if (r < 0)
                        return r;
                free(source);
                source = bound;
        }

        const char *prop_opt = bidi ? "rshared" : h2c ? "rslave" : "rprivate";
        if (bidi || h2c) {
                r = check_propagation(source, bidi, err);
                if (r < 0)
                        return r;
        }

        /* recursiveReadOnly Enabled asks for "rro" (crun >= 1.10, runc >= 1.1 apply it);
         * IfPossible stays plain "ro", as with a runtime that cannot. */
        bool ro = (vm->read_only.set && vm->read_only.v) || kind_read_only(kind);
        const char *ro_opt = !ro ? "rw" : streq_ptr(vm->recursive_read_only, "Enabled") ? "rro" : "ro";

        struct oci_mount m = {};
        const char *dest = strempty(vm->mount_path);
        m.destination = dest[0] == '/' ? strdup(dest) : nl_strdupf("/%s", dest);
        m.type = strdup("bind");
        m.source = TAKE_PTR(source);
        if (!m.destination || !m.type || push_option(&m, "rbind") < 0 || push_option(&m, prop_opt) < 0 ||
            push_option(&m, ro_opt) < 0) {
                oci_mount_done(&m);
                return -ENOMEM;
        }
        *ret = m;
        return 0;
}

int cri_volume_mounts(const struct cri_config *cfg, const struct pod *pod, const struct pod_container *c,
                      char *const *env, size_t n_env, struct oci_mount **ret, size_t *ret_n, nl_error *err) {
        if (!safe_name(pod->metadata.uid))
                return nl_error_set(err, -EINVAL, "pod UID \"%s\" is not usable as a directory name",
                                    strempty(pod->metadata.uid));
        if (!safe_name(c->name))
                return nl_error_set(err, -EINVAL, "container name \"%s\" is not usable as a directory name",
                                    strempty(c->name));

        struct oci_mount *mounts = calloc(c->n_volume_mounts ? c->n_volume_mounts : 1, sizeof(*mounts));
        if (!mounts)
                return -ENOMEM;
        size_t n = 0;
        for (; n < c->n_volume_mounts; n++) {
                int r = make_mount(cfg, pod, c, n, env, n_env, &mounts[n], err);
                if (r < 0) {
                        if (r == -ENOMEM && !(err && err->msg))
                                nl_error_set(err, r, "out of memory");
                        for (size_t i = 0; i < n; i++)
                                oci_mount_done(&mounts[i]);
                        free(mounts);
                        return r;
                }
        }
        *ret = mounts;
        *ret_n = n;
        return 0;
}
