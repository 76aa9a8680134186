/* SPDX-License-Identifier: Apache-2.0 */
/* Pod sandboxes without a pause container: pinned net/ipc/uts namespaces (nsfile.c), a pid
 * namespace holder for shareProcessNamespace, CNI networking (cni.c), the pod's /etc files
 * (etc-files.c), a /dev/shm tmpfs and the pod cgroup (cgroup.c). Each sandbox is a directory
 * <run_dir>/sandboxes/<id>/ with its namespace files, the CNI cache and sandbox.json, the record
 * a restarted daemon reads back. */
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <inttypes.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "common/strv.h"
#include "cgroup.h"
#include "cni.h"
#include "sandbox-internal.h"
#include "cri/layout.h"
#include "common/fs.h"

#define SANDBOX_JSON "sandbox.json"
#define SANDBOX_MAX_JSON_BYTES (1u * 1024u * 1024u)
#define SANDBOX_MAX_LIST 100000u
#define SANDBOX_MAX_HOST_IPS 16
#define SHM_SIZE "65536k" /* containerd's defaultShmSize, 64 MiB */

/* What the public struct does not carry. */
struct sandbox_priv {
        struct sandbox pub;
        uint64_t holder_starttime;
        bool cgroup_created; /* this sandbox made the pod cgroup (a failed run removes it) */
        char **warnings;
        size_t n_warnings;
        char *state; /* "ready", "stopped" */
};

static struct sandbox_priv *priv(struct sandbox *sb) {
        return (struct sandbox_priv *) ((char *) sb - offsetof(struct sandbox_priv, pub));
}

/* ---- the struct ------------------------------------------------------------------------------ */

void sandbox_free(struct sandbox *sb) {
        if (!sb)
                return;
        struct sandbox_priv *p = priv(sb);
        free(sb->id);
        free(sb->pod_uid);
        free(sb->pod_name);
        free(sb->pod_namespace);
        free(sb->dir);
        free(sb->netns_path);
        free(sb->ipcns_path);
        free(sb->utsns_path);
        free(sb->pidns_path);
        free(sb->userns_path);
        strv_free_n(sb->ips, sb->n_ips);
        free(sb->hostname);
        free(sb->hosts_path);
        free(sb->resolv_path);
        free(sb->hostname_path);
        free(sb->shm_path);
        free(sb->cgroup_parent);
        strv_free_n(p->warnings, p->n_warnings);
        free(p->state);
        free(p);
}

static struct sandbox *sandbox_new(void) {
        struct sandbox_priv *p = calloc(1, sizeof(*p));
        return p ? &p->pub : NULL;
}

static bool id_valid(const char *id) {
        if (!id || strlen(id) != 32)
                return false;
        for (const char *p = id; *p; p++)
                if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
                        return false;
        return true;
}

/* A pod UID becomes a path component: only what UIDs are made of (uuids, static-pod md5s). */
static bool uid_valid(const char *uid) {
        if (isempty(uid) || strlen(uid) > 128)
                return false;
        for (const char *p = uid; *p; p++)
                if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                      *p == '-' || *p == '_'))
                        return false;
        return true;
}

/* ---- sandbox.json ----------------------------------------------------------------------------- */

static json_t *strv_json(char **v, size_t n) {
        json_t *a = json_array();
        for (size_t i = 0; a && i < n; i++)
                if (json_array_append_new(a, json_string(v[i])) < 0) {
                        json_decref(a);
                        return NULL;
                }
        return a;
}

static int sandbox_save(struct sandbox *sb) {
        struct sandbox_priv *p = priv(sb);
        _cleanup_json_ json_t *j = json_object();
        _cleanup_free_ char *path = nl_strdupf("%s/" SANDBOX_JSON, sb->dir), *data = NULL;
        if (!j || !path)
                return -ENOMEM;
#define SET_STR(k, v)                                                                                       \
        do {                                                                                                \
                if ((v) && json_object_set_new(j, k, json_string(v)) < 0)                                   \
                        return -ENOMEM;                                                                     \
        } while (0)
        SET_STR("id", sb->id);
        SET_STR("podUID", sb->pod_uid);
        SET_STR("podName", sb->pod_name);
        SET_STR("podNamespace", sb->pod_namespace);
        SET_STR("netns", sb->netns_path);
        SET_STR("ipcns", sb->ipcns_path);
        SET_STR("utsns", sb->utsns_path);
        SET_STR("pidns", sb->pidns_path);
        SET_STR("userns", sb->userns_path);
        SET_STR("hostname", sb->hostname);
        SET_STR("hostsPath", sb->hosts_path);
        SET_STR("resolvPath", sb->resolv_path);
        SET_STR("hostnamePath", sb->hostname_path);
        SET_STR("shmPath", sb->shm_path);
        SET_STR("cgroupParent", sb->cgroup_parent);
        SET_STR("state", p->state);
#undef SET_STR
        if (json_object_set_new(j, "pidHolder", json_integer(sb->pid_holder)) < 0 ||
            json_object_set_new(j, "pidHolderStartTime", json_integer((json_int_t) p->holder_starttime)) <
                    0 ||
            json_object_set_new(j, "hostNetwork", json_boolean(sb->host_network)) < 0 ||
            json_object_set_new(j, "hostPID", json_boolean(sb->host_pid)) < 0 ||
            json_object_set_new(j, "hostIPC", json_boolean(sb->host_ipc)) < 0 ||
            json_object_set_new(j, "ips", strv_json(sb->ips, sb->n_ips)) < 0 ||
            (sb->userns_path && json_object_set_new(j, "usernsMapping",
                                                    json_pack("{s:I, s:I}", "hostID", (json_int_t) sb->userns.host_id,
                                                              "size", (json_int_t) sb->userns.size)) < 0) ||
            json_object_set_new(j, "warnings", strv_json(p->warnings, p->n_warnings)) < 0)
                return -ENOMEM;
        data = json_dumps(j, JSON_INDENT(1) | JSON_SORT_KEYS);
        if (!data)
                return -ENOMEM;
        return nl_write_file_atomic(path, data, strlen(data), 0600);
}

static int json_str(json_t *j, const char *key, bool required, char **ret) {
        json_t *v = json_object_get(j, key);
        if (!v || json_is_null(v))
                return required ? -EBADMSG : 0;
        if (!json_is_string(v))
                return -EBADMSG;
        *ret = strdup(json_string_value(v));
        return *ret ? 0 : -ENOMEM;
}

static int json_strv(json_t *j, const char *key, char ***ret, size_t *ret_n) {
        json_t *a = json_object_get(j, key);
        if (!a)
                return 0;
        if (!json_is_array(a) || json_array_size(a) > 1024)
                return -EBADMSG;
        char **v = calloc(json_array_size(a) + 1, sizeof(char *));
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < json_array_size(a); i++) {
                const char *s = json_string_value(json_array_get(a, i));
                if (!s || !(v[i] = strdup(s))) {
                        strv_free_n(v, i);
                        return s ? -ENOMEM : -EBADMSG;
                }
        }
        *ret = v;
        *ret_n = json_array_size(a);
        return 0;
}

int cri_sandbox_load(const struct cri_config *cfg, const char *id, struct sandbox **ret, nl_error *err) {
        _cleanup_(sandbox_freep) struct sandbox *sb = NULL;
        _cleanup_free_ char *dir = NULL, *path = NULL, *buf = NULL;
        _cleanup_free_ char *sbdir = layout_sandboxes_dir(cfg->run_dir);
        _cleanup_json_ json_t *j = NULL;
        json_error_t je;
        size_t len;
        int r;

        if (!id_valid(id))
                return nl_error_set(err, -EINVAL, "load sandbox \"%s\": not a sandbox id", strempty(id));
        dir = sbdir ? nl_strdupf("%s/%s", sbdir, id) : NULL;
        path = dir ? nl_strdupf("%s/" SANDBOX_JSON, dir) : NULL;
        sb = sandbox_new();
        if (!path || !sb)
                return nl_error_set(err, -ENOMEM, "out of memory");
        r = nl_read_file(path, SANDBOX_MAX_JSON_BYTES, false, &buf, &len);
        if (r < 0)
                return nl_error_set(err, r, "load sandbox %s: read %s: %s", id, path, strerror(-r));
        j = json_loadb(buf, len, 0, &je);
        if (!j || !json_is_object(j))
                return nl_error_set(err, -EBADMSG, "load sandbox %s: %s: %s", id, path,
                                    j ? "not an object" : je.text);
        struct sandbox_priv *p = priv(sb);
        r = 0;
        if (r >= 0)
                r = json_str(j, "id", true, &sb->id);
        if (r >= 0 && !streq(sb->id, id))
                r = -EBADMSG;
        if (r >= 0)
                r = json_str(j, "podUID", true, &sb->pod_uid);
        if (r >= 0)
                r = json_str(j, "podName", true, &sb->pod_name);
        if (r >= 0)
                r = json_str(j, "podNamespace", true, &sb->pod_namespace);
        if (r >= 0)
                r = json_str(j, "netns", false, &sb->netns_path);
        if (r >= 0)
                r = json_str(j, "ipcns", false, &sb->ipcns_path);
        if (r >= 0)
                r = json_str(j, "utsns", false, &sb->utsns_path);
        if (r >= 0)
                r = json_str(j, "pidns", false, &sb->pidns_path);
        if (r >= 0)
                r = json_str(j, "userns", false, &sb->userns_path);
        if (r >= 0 && sb->userns_path) {
                json_t *m = json_object_get(j, "usernsMapping");
                json_int_t host = json_integer_value(json_object_get(m, "hostID")),
                           size = json_integer_value(json_object_get(m, "size"));
                if (host <= 0 || host > UINT32_MAX || size <= 0 || size > UINT32_MAX)
                        r = -EBADMSG;
                else
                        sb->userns = (struct cri_userns){ (uint32_t) host, (uint32_t) size };
        }
        if (r >= 0)
                r = json_str(j, "hostname", false, &sb->hostname);
        if (r >= 0)
                r = json_str(j, "hostsPath", false, &sb->hosts_path);
        if (r >= 0)
                r = json_str(j, "resolvPath", false, &sb->resolv_path);
        if (r >= 0)
                r = json_str(j, "hostnamePath", false, &sb->hostname_path);
        if (r >= 0)
                r = json_str(j, "shmPath", false, &sb->shm_path);
        if (r >= 0)
                r = json_str(j, "cgroupParent", false, &sb->cgroup_parent);
        if (r >= 0)
                r = json_str(j, "state", false, &p->state);
        if (r >= 0)
                r = json_strv(j, "ips", &sb->ips, &sb->n_ips);
        if (r >= 0)
                r = json_strv(j, "warnings", &p->warnings, &p->n_warnings);
        if (r >= 0 && !uid_valid(sb->pod_uid))
                r = -EBADMSG;
        if (r < 0)
                return nl_error_set(err, r, "load sandbox %s: %s: %s", id, path,
                                    r == -EBADMSG ? "malformed record" : strerror(-r));
        json_int_t holder = json_integer_value(json_object_get(j, "pidHolder"));
        sb->pid_holder = holder > 0 && holder < INT32_MAX ? (pid_t) holder : 0;
        p->holder_starttime = (uint64_t) json_integer_value(json_object_get(j, "pidHolderStartTime"));
        sb->host_network = json_is_true(json_object_get(j, "hostNetwork"));
        sb->host_pid = json_is_true(json_object_get(j, "hostPID"));
        sb->host_ipc = json_is_true(json_object_get(j, "hostIPC"));
        sb->dir = TAKE_PTR(dir);
        *ret = TAKE_PTR(sb);
        return 0;
}

static int id_cmp(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

int cri_sandbox_list(const struct cri_config *cfg, char ***ret_ids, size_t *ret_n) {
        _cleanup_free_ char *sbdir = layout_sandboxes_dir(cfg->run_dir);
        char **ids = NULL;
        size_t n = 0;
        if (!sbdir)
                return -ENOMEM;
        DIR *d = opendir(sbdir);
        if (!d) {
                if (errno != ENOENT)
                        return -errno;
                *ret_ids = calloc(1, sizeof(char *));
                *ret_n = 0;
                return *ret_ids ? 0 : -ENOMEM;
        }
        struct dirent *e;
        int r = 0;
        while ((e = readdir(d))) {
                if (!id_valid(e->d_name))
                        continue;
                _cleanup_free_ char *rec = nl_strdupf("%s/%s/" SANDBOX_JSON, sbdir, e->d_name);
                if (!rec) {
                        r = -ENOMEM;
                        break;
                }
                if (access(rec, F_OK) < 0)
                        continue; /* a run that has not finished, or a removal under way */
                if (n >= SANDBOX_MAX_LIST) {
                        r = -E2BIG;
                        break;
                }
                char **nv = realloc(ids, (n + 2) * sizeof(char *));
                if (!nv) {
                        r = -ENOMEM;
                        break;
                }
                ids = nv;
                if (!(ids[n] = strdup(e->d_name))) {
                        r = -ENOMEM;
                        break;
                }
                ids[++n] = NULL;
        }
        closedir(d);
        if (r < 0) {
                strv_free_n(ids, n);
                return r;
        }
        if (!ids && !(ids = calloc(1, sizeof(char *))))
                return -ENOMEM;
        qsort(ids, n, sizeof(char *), id_cmp);
        *ret_ids = ids;
        *ret_n = n;
        return 0;
}

/* Another sandbox of the same pod (a recreated sandbox) shares the pod's files and cgroup. */
static bool pod_has_other_sandbox(const struct cri_config *cfg, const struct sandbox *sb) {
        char **ids = NULL;
        size_t n = 0;
        bool found = false;
        if (cri_sandbox_list(cfg, &ids, &n) < 0)
                return true; /* when in doubt, leave shared things alone */
        for (size_t i = 0; i < n && !found; i++) {
                if (streq_ptr(ids[i], sb->id))
                        continue;
                struct sandbox *o = NULL;
                if (cri_sandbox_load(cfg, ids[i], &o, NULL) >= 0) {
                        found = streq_ptr(o->pod_uid, sb->pod_uid);
                        sandbox_free(o);
                }
        }
        strv_free_n(ids, n);
        return found;
}

/* ---- run -------------------------------------------------------------------------------------- */

static int random_id(char ret[33]) {
        uint8_t b[16];
        size_t got = 0;
        while (got < sizeof(b)) {
                ssize_t k = getrandom(b + got, sizeof(b) - got, 0);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                got += (size_t) k;
        }
        for (size_t i = 0; i < sizeof(b); i++)
                snprintf(ret + 2 * i, 3, "%02x", b[i]);
        return 0;
}

static int host_ips(char ***ret, size_t *ret_n) {
        struct ifaddrs *ifa = NULL;
        char **v = calloc(SANDBOX_MAX_HOST_IPS + 1, sizeof(char *));
        size_t n = 0;
        if (!v)
                return -ENOMEM;
        if (getifaddrs(&ifa) < 0) {
                free(v);
                return -errno;
        }
        /* IPv4 first, as the node's InternalIP usually is */
        for (int family = AF_INET; family >= 0; family = family == AF_INET ? AF_INET6 : -1) {
                for (struct ifaddrs *i = ifa; i && n < SANDBOX_MAX_HOST_IPS; i = i->ifa_next) {
                        if (!i->ifa_addr || i->ifa_addr->sa_family != family ||
                            (i->ifa_flags & IFF_LOOPBACK) || !(i->ifa_flags & IFF_UP))
                                continue;
                        char buf[INET6_ADDRSTRLEN];
                        const void *a =
                                family == AF_INET
                                        ? (const void *) &((struct sockaddr_in *) i->ifa_addr)->sin_addr
                                        : (const void *) &((struct sockaddr_in6 *) i->ifa_addr)->sin6_addr;
                        if (family == AF_INET6 && IN6_IS_ADDR_LINKLOCAL((const struct in6_addr *) a))
                                continue;
                        if (!inet_ntop(family, a, buf, sizeof(buf)))
                                continue;
                        if (!(v[n] = strdup(buf))) {
                                freeifaddrs(ifa);
                                strv_free_n(v, n);
                                return -ENOMEM;
                        }
                        n++;
                }
        }
        freeifaddrs(ifa);
        *ret = v;
        *ret_n = n;
        return 0;
}

static int add_warnings(struct sandbox_priv *p, char **w, size_t n) {
        for (size_t i = 0; i < n; i++) {
                char **nv = realloc(p->warnings, (p->n_warnings + 2) * sizeof(char *));
                if (!nv)
                        return -ENOMEM;
                p->warnings = nv;
                p->warnings[p->n_warnings++] = w[i];
                p->warnings[p->n_warnings] = NULL;
                w[i] = NULL;
        }
        return 0;
}

static int mount_shm(const char *path, nl_error *err) {
        if (mkdir(path, 0700) < 0 && errno != EEXIST)
                return nl_error_set(err, -errno, "mount /dev/shm tmpfs: create %s: %m", path);
        if (mount("shm", path, "tmpfs", MS_NOEXEC | MS_NOSUID | MS_NODEV, "mode=1777,size=" SHM_SIZE) < 0) {
                int r = -errno;
                (void) rmdir(path);
                return nl_error_set(err, r, "mount /dev/shm tmpfs at %s: %s", path, strerror(-r));
        }
        return 0;
}

static int sandbox_cleanup(const struct cri_config *cfg, struct sandbox *sb, bool failed_run, nl_error *err);

int cri_sandbox_run(const struct cri_config *cfg, const struct pod *pod, struct sandbox **ret,
                    nl_error *err) {
        return cri_sandbox_run_userns(cfg, pod, NULL, ret, err);
}

int cri_sandbox_run_userns(const struct cri_config *cfg, const struct pod *pod, const struct cri_userns *userns,
                           struct sandbox **ret, nl_error *err) {
        _cleanup_(sandbox_freep) struct sandbox *sb = sandbox_new();
        _cleanup_free_ char *sbdir = NULL, *domain = NULL, *short_name = NULL, *pod_dir = NULL;
        struct cgroup_layout *cg = NULL;
        char id[33];
        int r;

        if (!sb)
                return nl_error_set(err, -ENOMEM, "out of memory");
        if (!pod || isempty(pod->metadata.name) || isempty(pod->metadata.namespace) ||
            !uid_valid(pod->metadata.uid))
                return nl_error_set(err, -EINVAL,
                                    "run sandbox: the pod needs a name, a namespace and a valid uid");
        if (isempty(cfg->run_dir) || isempty(cfg->root_dir))
                return nl_error_set(err, -EINVAL, "run sandbox: no run or root dir configured");
        struct sandbox_priv *p = priv(sb);
        const struct pod_spec *s = &pod->spec;
        sb->host_network = s->host_network.set && s->host_network.v;
        sb->host_pid = s->host_pid.set && s->host_pid.v;
        sb->host_ipc = s->host_ipc.set && s->host_ipc.v;

        r = random_id(id);
        if (r < 0)
                return nl_error_set(err, r, "run sandbox: random id: %s", strerror(-r));
        sbdir = layout_sandboxes_dir(cfg->run_dir);
        sb->id = strdup(id);
        sb->pod_uid = strdup(pod->metadata.uid);
        sb->pod_name = strdup(pod->metadata.name);
        sb->pod_namespace = strdup(pod->metadata.namespace);
        sb->dir = sbdir ? nl_strdupf("%s/%s", sbdir, id) : NULL;
        p->state = strdup("ready");
        pod_dir = layout_pod_dir(cfg->root_dir, pod->metadata.uid);
        if (!sb->id || !sb->pod_uid || !sb->pod_name || !sb->pod_namespace || !sb->dir || !p->state ||
            !pod_dir)
                return nl_error_set(err, -ENOMEM, "out of memory");

        /* the hostname first: a bad one fails the pod before anything is made */
        if (sb->host_network) {
                char host[HOST_NAME_MAX + 1] = "";
                if (gethostname(host, sizeof(host)) < 0)
                        return nl_error_set(err, -errno, "pod hostname: %m");
                sb->hostname = strdup(host);
                if (!sb->hostname)
                        return nl_error_set(err, -ENOMEM, "out of memory");
        } else {
                r = pod_hostname_and_domain(pod, cfg->cluster_domain, &short_name, &domain, err);
                if (r >= 0)
                        r = pod_kernel_hostname(pod, short_name, domain, &sb->hostname, err);
                if (r < 0)
                        return nl_error_prefix(err, "pod hostname");
        }

        r = nsfile_private_dir(sbdir, err);
        if (r < 0)
                return nl_error_prefix(err, "prepare the sandboxes dir");
        if (mkdir(sb->dir, 0700) < 0)
                return nl_error_set(err, -errno, "create %s: %m", sb->dir);

        /* the pod cgroup */
        r = cgroup_layout_detect(&cg, err);
        if (r < 0)
                goto fail;
        sb->cgroup_parent = cgroup_pod_path(cfg->cgroup_root, pod_qos_class(pod), pod->metadata.uid);
        if (!sb->cgroup_parent) {
                r = nl_error_set(err, -ENOMEM, "out of memory");
                goto fail;
        }
        bool existed = cgroup_exists(cg, sb->cgroup_parent);
        struct cgroup_pod_resources res;
        cgroup_pod_resources(pod, &res);
        r = cgroup_pod_create(cg, sb->cgroup_parent, &res, err);
        if (r < 0) {
                nl_error_prefix(err, "pod cgroup");
                goto fail;
        }
        p->cgroup_created = !existed;

        /* namespaces */
        int flags = 0;
        if (!sb->host_network) {
                flags |= CLONE_NEWNET | CLONE_NEWUTS; /* the host's UTS namespace goes with its network */
                sb->netns_path = nl_strdupf("%s/net", sb->dir);
                sb->utsns_path = nl_strdupf("%s/uts", sb->dir);
                if (!sb->netns_path || !sb->utsns_path) {
                        r = nl_error_set(err, -ENOMEM, "out of memory");
                        goto fail;
                }
        }
        if (!sb->host_ipc) {
                flags |= CLONE_NEWIPC;
                sb->ipcns_path = nl_strdupf("%s/ipc", sb->dir);
                sb->shm_path = nl_strdupf("%s/shm", sb->dir);
                if (!sb->ipcns_path || !sb->shm_path) {
                        r = nl_error_set(err, -ENOMEM, "out of memory");
                        goto fail;
                }
        }
        if (userns && userns->host_id > 0) {
                /* hostUsers: false (validation keeps hostNetwork, hostIPC and hostPID out) */
                if (userns->size == 0 || !(flags & CLONE_NEWNET) || !(flags & CLONE_NEWIPC)) {
                        r = nl_error_set(err, -EINVAL, "a pod in its own user namespace needs its own network and IPC namespaces");
                        goto fail;
                }
                sb->userns = *userns;
                sb->userns_path = nl_strdupf("%s/user", sb->dir);
                if (!sb->userns_path) {
                        r = nl_error_set(err, -ENOMEM, "out of memory");
                        goto fail;
                }
        }
        if (flags) {
                r = nsfile_create_userns(flags, sb->hostname, sb->userns_path ? &sb->userns : NULL, sb->userns_path,
                                         sb->netns_path, sb->ipcns_path, sb->utsns_path, err);
                if (r < 0)
                        goto fail; /* nothing is left pinned; the files' paths are in our fresh dir */
        }
        if (s->share_process_namespace.set && s->share_process_namespace.v && !sb->host_pid) {
                char **procs = NULL;
                size_t n_procs = 0;
                r = cgroup_procs_files(cg, sb->cgroup_parent, &procs, &n_procs);
                if (r < 0) {
                        nl_error_set(err, r, "out of memory");
                        goto fail;
                }
                r = pidns_holder_start_in(sb->userns_path, procs, n_procs, &sb->pid_holder, &p->holder_starttime, err);
                strv_free_n(procs, n_procs);
                if (r < 0)
                        goto fail;
                sb->pidns_path = nl_strdupf("/proc/%d/ns/pid", (int) sb->pid_holder);
                if (!sb->pidns_path) {
                        r = nl_error_set(err, -ENOMEM, "out of memory");
                        goto fail;
                }
        }
        if (sb->shm_path) {
                r = mount_shm(sb->shm_path, err);
                if (r < 0) {
                        free(sb->shm_path); /* not ours to unmount */
                        sb->shm_path = NULL;
                        goto fail;
                }
        }

        /* the network */
        if (sb->host_network) {
                r = host_ips(&sb->ips, &sb->n_ips);
                if (r < 0) {
                        nl_error_set(err, r, "host IPs: %s", strerror(-r));
                        goto fail;
                }
        } else {
                struct cni_port_mapping *pm = NULL;
                size_t n_pm = 0;
                r = cni_port_mappings(pod, &pm, &n_pm, err);
                if (r < 0) {
                        nl_error_prefix(err, "host ports");
                        goto fail;
                }
                struct cni_attach a = {.id = sb->id,
                                       .netns = sb->netns_path,
                                       .pod_namespace = sb->pod_namespace,
                                       .pod_name = sb->pod_name,
                                       .pod_uid = sb->pod_uid,
                                       .port_mappings = pm,
                                       .n_port_mappings = n_pm};
                r = cni_add(cfg, sb->dir, &a, &sb->ips, &sb->n_ips, err);
                cni_port_mappings_free(pm, n_pm);
                if (r < 0)
                        goto fail;
        }

        /* /etc/hosts, resolv.conf, hostname */
        {
                char **w = NULL;
                size_t n_w = 0;
                r = etc_files_write(cfg, pod, pod_dir, sb->ips, sb->n_ips, sb->hostname, sb->host_network,
                                    &sb->hosts_path, &sb->resolv_path, &sb->hostname_path, &w, &n_w, err);
                if (r >= 0 && add_warnings(p, w, n_w) < 0)
                        r = nl_error_set(err, -ENOMEM, "out of memory");
                strv_free_n(w, n_w);
                if (r < 0) {
                        /* whatever of them was written goes with the rest */
                        sb->hosts_path = nl_strdupf("%s/etc-hosts", pod_dir);
                        sb->resolv_path = nl_strdupf("%s/resolv.conf", pod_dir);
                        sb->hostname_path = nl_strdupf("%s/hostname", pod_dir);
                        goto fail;
                }
        }

        r = sandbox_save(sb);
        if (r < 0) {
                nl_error_set(err, r, "write %s/" SANDBOX_JSON ": %s", sb->dir, strerror(-r));
                goto fail;
        }
        cgroup_layout_free(cg);
        *ret = TAKE_PTR(sb);
        return 0;

fail:
        cgroup_layout_free(cg);
        {
                nl_error ignored = NL_ERROR_INIT;
                (void) sandbox_cleanup(cfg, sb, true, &ignored);
                nl_error_clear(&ignored);
        }
        return r;
}

/* ---- stop and remove ---------------------------------------------------------------------------- */

static int unmount_all(const char *path) {
        while (umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
                ;
        return errno == EINVAL || errno == ENOENT ? 0 : -errno;
}

int cri_sandbox_stop(const struct cri_config *cfg, struct sandbox *sb, nl_error *err) {
        struct sandbox_priv *p = priv(sb);
        int ret = 0, r;

        if (!sb->host_network && sb->dir) {
                /* DEL before the namespace goes: plugins clean up inside it. A namespace already
                 * gone still gets DEL (CNI_NETNS empty) so IPAM releases the address. */
                const char *netns =
                        sb->netns_path && nsfile_is_ns(sb->netns_path, "net") ? sb->netns_path : "";
                r = cni_del(cfg, sb->dir, netns, err);
                if (r < 0) {
                        nl_error_prefix(err, "stop sandbox %s", sb->id);
                        return r; /* keep the namespace: a retry must be able to DEL again */
                }
        }
        const char *ns[] = {sb->netns_path, sb->ipcns_path, sb->utsns_path, sb->userns_path};
        for (size_t i = 0; i < ELEMENTSOF(ns); i++) {
                r = nsfile_unpin(ns[i]);
                if (r < 0 && ret == 0)
                        ret = nl_error_set(err, r, "stop sandbox %s: unpin %s: %s", sb->id, ns[i],
                                           strerror(-r));
        }
        if (sb->pid_holder > 0) {
                r = pidns_holder_stop(sb->pid_holder, p->holder_starttime);
                if (r < 0 && ret == 0)
                        ret = nl_error_set(err, r, "stop sandbox %s: stop the pid namespace holder %d: %s",
                                           sb->id, (int) sb->pid_holder, strerror(-r));
        }
        if (sb->shm_path) {
                r = unmount_all(sb->shm_path);
                if (r < 0 && ret == 0)
                        ret = nl_error_set(err, r, "stop sandbox %s: unmount %s: %s", sb->id, sb->shm_path,
                                           strerror(-r));
        }
        if (ret == 0 && p->state && !streq(p->state, "stopped")) {
                char *st = strdup("stopped");
                if (st) {
                        free(p->state);
                        p->state = st;
                }
                struct stat stt;
                _cleanup_free_ char *rec = nl_strdupf("%s/" SANDBOX_JSON, sb->dir);
                if (rec && stat(rec, &stt) == 0 && (r = sandbox_save(sb)) < 0)
                        ret = nl_error_set(err, r, "stop sandbox %s: write " SANDBOX_JSON ": %s", sb->id,
                                           strerror(-r));
        }
        return ret;
}

static int remove_dir(const char *dir) {
        DIR *d;
        int r = nl_opendir_at(AT_FDCWD, dir, &d);
        if (r < 0)
                return r == -ENOENT ? 0 : r;
        struct dirent *e;
        while ((e = nl_readdir(d))) {
                _cleanup_free_ char *p = nl_strdupf("%s/%s", dir, e->d_name);
                if (!p) {
                        r = -ENOMEM;
                        break;
                }
                /* never recurse: only the (unmounted) shm dir and plain files live here */
                if (unmount_all(p) < 0 ||
                    (unlink(p) < 0 && errno != ENOENT && (errno != EISDIR || rmdir(p) < 0)))
                        if (r == 0)
                                r = -errno;
        }
        closedir(d);
        if (rmdir(dir) < 0 && errno != ENOENT && r == 0)
                r = -errno;
        return r;
}

static int sandbox_cleanup(const struct cri_config *cfg, struct sandbox *sb, bool failed_run,
                           nl_error *err) {
        struct sandbox_priv *p = priv(sb);
        int ret, r;

        ret = cri_sandbox_stop(cfg, sb, err);
        if (ret < 0 && !failed_run)
                return ret;
        /* the pod's files and cgroup are shared with a newer sandbox of the same pod, if any */
        bool shared = pod_has_other_sandbox(cfg, sb);
        if (!shared) {
                const char *files[] = {sb->hosts_path, sb->resolv_path, sb->hostname_path};
                for (size_t i = 0; i < ELEMENTSOF(files); i++)
                        if (files[i] && unlink(files[i]) < 0 && errno != ENOENT && ret == 0)
                                ret = nl_error_set(err, -errno, "remove %s: %m", files[i]);
        }
        if (sb->cgroup_parent && !shared && (!failed_run || p->cgroup_created)) {
                struct cgroup_layout *cg = NULL;
                nl_error e = NL_ERROR_INIT;
                r = cgroup_layout_detect(&cg, &e);
                if (r >= 0)
                        r = cgroup_pod_remove(cg, sb->cgroup_parent, &e);
                cgroup_layout_free(cg);
                if (r < 0 && ret == 0)
                        ret = nl_error_set(err, r, "%s", strempty(e.msg));
                nl_error_clear(&e);
        }
        if (sb->dir) {
                r = remove_dir(sb->dir);
                if (r < 0 && ret == 0)
                        ret = nl_error_set(err, r, "remove %s: %s", sb->dir, strerror(-r));
        }
        if (ret < 0)
                nl_error_prefix(err, "remove sandbox %s", sb->id);
        return ret;
}

int cri_sandbox_remove(const struct cri_config *cfg, struct sandbox *sb, nl_error *err) {
        return sandbox_cleanup(cfg, sb, false, err);
}
