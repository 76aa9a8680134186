/* SPDX-License-Identifier: Apache-2.0 */
/* Container planning: the kubelet's and containerd's rules for turning a Pod's container and
 * its image into a process: command line (kuberuntime + containerd's WithProcessArgs),
 * environment (kubelet makeEnvironmentVariables), user and groups (verifyRunAsNonRoot,
 * containerd WithUser/WithAdditionalGIDs), capabilities (containerd setOCICapabilities),
 * cgroup values (pkg/kubelet/cm helpers) and OOM score (pkg/kubelet/qos). */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <strings.h>

#include "common/strv.h"
#include "cri.h"
#include "podspec/podspec.h"

/* containerd's default capability set (oci.defaultUnixCaps). */
static const char *const DEFAULT_CAPS[] = {
        "CAP_CHOWN",       "CAP_DAC_OVERRIDE",     "CAP_FSETID",     "CAP_FOWNER", "CAP_MKNOD",
        "CAP_NET_RAW",     "CAP_SETGID",           "CAP_SETUID",     "CAP_SETFCAP", "CAP_SETPCAP",
        "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",  "CAP_KILL",       "CAP_AUDIT_WRITE", NULL,
};

/* Every capability Linux knows, in number order (capability.h). */
static const char *const ALL_CAPS[] = {
        "CAP_CHOWN",          "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",        "CAP_FSETID",
        "CAP_KILL",           "CAP_SETGID",       "CAP_SETUID",          "CAP_SETPCAP",       "CAP_LINUX_IMMUTABLE",
        "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN",    "CAP_NET_RAW",       "CAP_IPC_LOCK",
        "CAP_IPC_OWNER",      "CAP_SYS_MODULE",   "CAP_SYS_RAWIO",       "CAP_SYS_CHROOT",    "CAP_SYS_PTRACE",
        "CAP_SYS_PACCT",      "CAP_SYS_ADMIN",    "CAP_SYS_BOOT",        "CAP_SYS_NICE",      "CAP_SYS_RESOURCE",
        "CAP_SYS_TIME",       "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",         "CAP_LEASE",         "CAP_AUDIT_WRITE",
        "CAP_AUDIT_CONTROL",  "CAP_SETFCAP",      "CAP_MAC_OVERRIDE",    "CAP_MAC_ADMIN",     "CAP_SYSLOG",
        "CAP_WAKE_ALARM",     "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",     "CAP_PERFMON",       "CAP_BPF",
        "CAP_CHECKPOINT_RESTORE", NULL,
};

#define MAX_ENV_BYTES (1024 * 1024) /* per value after expansion (podspec_expand's own cap) */

/* ---- environment ------------------------------------------------------------------------- */

struct env_entry {
        char *name, *value;
};

struct env {
        struct env_entry *e;
        size_t n;
};

static int env_set(struct env *env, const char *name, const char *value) {
        for (size_t i = 0; i < env->n; i++)
                if (streq(env->e[i].name, name)) {
                        char *v = strdup(value);
                        if (!v)
                                return -ENOMEM;
                        free(env->e[i].value);
                        env->e[i].value = v;
                        return 0;
                }
        struct env_entry *n = realloc(env->e, (env->n + 1) * sizeof(*n));
        if (!n)
                return -ENOMEM;
        env->e = n;
        env->e[env->n] = (struct env_entry){ strdup(name), strdup(value) };
        if (!env->e[env->n].name || !env->e[env->n].value) {
                free(env->e[env->n].name);
                free(env->e[env->n].value);
                return -ENOMEM;
        }
        env->n++;
        return 0;
}

static void env_done(struct env *env) {
        for (size_t i = 0; i < env->n; i++) {
                free(env->e[i].name);
                free(env->e[i].value);
        }
        free(env->e);
        *env = (struct env){};
}

static const char *env_lookup(const char *name, void *userdata) {
        const struct env *env = userdata;
        for (size_t i = 0; i < env->n; i++)
                if (streq(env->e[i].name, name))
                        return env->e[i].value;
        return NULL;
}

static const char *kv_get(const struct pod_kv *kv, size_t n, const char *key) {
        for (size_t i = 0; i < n; i++)
                if (streq(kv[i].key, key))
                        return kv[i].value;
        return NULL;
}

static char *join(char **v, size_t n, const char *sep) {
        nl_buf b = {};
        nl_buf_puts(&b, "");
        for (size_t i = 0; i < n; i++)
                nl_buf_printf(&b, "%s%s", i ? sep : "", v[i]);
        return nl_buf_steal(&b);
}

/* podFieldSelectorRuntimeValue */
static char *field_value(const struct pod *pod, const struct plan_context *ctx, const char *path) {
        const struct pod_object_meta *m = &pod->metadata;
        if (streq(path, "metadata.name"))
                return strdup(strempty(m->name));
        if (streq(path, "metadata.namespace"))
                return strdup(strempty(m->namespace));
        if (streq(path, "metadata.uid"))
                return strdup(strempty(m->uid));
        if (streq(path, "spec.nodeName"))
                return strdup(strempty(pod->spec.node_name ? pod->spec.node_name : ctx->node_name));
        if (streq(path, "spec.serviceAccountName"))
                return strdup(strempty(pod->spec.service_account_name));
        if (streq(path, "status.podIP"))
                return strdup(strempty(ctx->pod_ip));
        if (streq(path, "status.podIPs"))
                return join(ctx->pod_ips, ctx->n_pod_ips, ",");
        if (streq(path, "status.hostIP"))
                return strdup(strempty(ctx->host_ip));
        if (streq(path, "status.hostIPs"))
                return join(ctx->host_ips, ctx->n_host_ips, ",");
        /* metadata.labels['key'] and metadata.annotations['key'] */
        size_t len = strlen(path);
        if (len > 4 && path[len - 1] == ']' && path[len - 2] == '\'') {
                const char *open = strstr(path, "['");
                if (open) {
                        _cleanup_free_ char *key = strndup(open + 2, (size_t) (path + len - 2 - (open + 2)));
                        if (!key)
                                return NULL;
                        if (strncmp(path, "metadata.labels[", 16) == 0)
                                return strdup(strempty(kv_get(m->labels, m->n_labels, key)));
                        if (strncmp(path, "metadata.annotations[", 21) == 0)
                                return strdup(strempty(kv_get(m->annotations, m->n_annotations, key)));
                }
        }
        return NULL;
}

static const pod_quantity *resource_of(const struct pod_resource_requirements *r, bool limits, const char *name) {
        if (!r)
                return NULL;
        const struct pod_resource *l = limits ? r->limits : r->requests;
        size_t n = limits ? r->n_limits : r->n_requests;
        for (size_t i = 0; i < n; i++)
                if (streq(l[i].name, name))
                        return &l[i].q;
        return NULL;
}

static const struct pod_container *find_container(const struct pod *pod, const char *name) {
        for (size_t i = 0; i < pod->spec.n_containers; i++)
                if (streq_ptr(pod->spec.containers[i].name, name))
                        return &pod->spec.containers[i];
        for (size_t i = 0; i < pod->spec.n_init_containers; i++)
                if (streq_ptr(pod->spec.init_containers[i].name, name))
                        return &pod->spec.init_containers[i];
        return NULL;
}


/* ExtractContainerResourceValue after MergeContainerResourceLimits, for env and volume files. */
int cri_resource_field_value(const struct pod *pod, const struct plan_context *ctx,
                             const struct pod_resource_field_selector *s, char **ret, nl_error *err) {
        const struct pod_container *c = find_container(pod, s->container_name);
        if (!c)
                return nl_error_set(err, -EINVAL, "container %s not found", strempty(s->container_name));
        const char *res = strempty(s->resource);
        bool limits = strncmp(res, "limits.", 7) == 0;
        if (!limits && strncmp(res, "requests.", 9) != 0)
                return nl_error_set(err, -EINVAL, "unsupported container resource : %s", res);
        const char *name = res + (limits ? 7 : 9);
        bool standard = streq(name, "cpu") || streq(name, "memory") || streq(name, "ephemeral-storage");
        if (!standard && strncmp(name, "hugepages-", 10) != 0)
                return nl_error_set(err, -EINVAL, "unsupported container resource : %s", res);

        /* MergeContainerResourceLimits: a missing cpu/memory/ephemeral-storage limit is the
         * node's allocatable; anything else missing is zero. */
        const pod_quantity *q = resource_of(c->resources, limits, name);
        pod_quantity fallback = {.set = true, .format = QUANTITY_DECIMAL_SI};
        if (!q) {
                if (limits && ctx) {
                        if (streq(name, "cpu"))
                                fallback.nano = (__int128) ctx->node_allocatable_milli_cpu * 1000000;
                        else if (streq(name, "memory"))
                                fallback.nano = (__int128) ctx->node_allocatable_memory * 1000000000;
                        else if (streq(name, "ephemeral-storage"))
                                fallback.nano = (__int128) ctx->node_allocatable_ephemeral * 1000000000;
                }
                q = &fallback;
        }
        char *v = nl_strdupf("%" PRId64, pod_quantity_divide_ceil(q, s->divisor.set ? &s->divisor : NULL));
        if (!v)
                return -ENOMEM;
        *ret = v;
        return 0;
}


static const char *pod_format(const struct pod *pod, char **buf) {
        /* format.Pod: name_namespace(uid) */
        *buf = nl_strdupf("%s_%s(%s)", strempty(pod->metadata.name), strempty(pod->metadata.namespace),
                          strempty(pod->metadata.uid));
        return strempty(*buf);
}

static int build_env(const struct pod *pod, const struct pod_container *c, const struct plan_context *ctx,
                     struct env *env, nl_error *err) {
        /* Service links first: envFrom and env replace them by name, and $(VAR) sees them
         * (makeEnvironmentVariables: MappingFuncFor(tmpEnv, serviceEnv), then the service
         * variables tmpEnv does not have). */
        for (size_t i = 0; i < ctx->n_service_env; i++) {
                const char *s = ctx->service_env[i], *eq = strchr(s, '=');
                if (!eq)
                        continue;
                _cleanup_free_ char *name = strndup(s, (size_t) (eq - s));
                if (!name || env_set(env, name, eq + 1) < 0)
                        return -ENOMEM;
        }

        /* envFrom next, in order, every key of the object with the prefix (the relaxed names
         * of current releases: no key is skipped). */
        for (size_t i = 0; i < c->n_env_from; i++) {
                const struct pod_env_from_source *f = &c->env_from[i];
                bool secret = f->secret_ref != NULL;
                const struct pod_local_ref_optional *ref = secret ? f->secret_ref : f->config_map_ref;
                if (!ref)
                        continue;
                bool optional = ref->optional.set && ref->optional.v;
                json_t *obj = NULL;
                /* Without an API server there is no ConfigMap or Secret to read. */
                int r = ctx->get_object ? ctx->get_object(ctx->userdata, secret, strempty(ref->name), &obj) : -ENOENT;
                if (r == -ENOENT) {
                        if (optional)
                                continue;
                        return nl_error_set(err, -ENOENT, "%s \"%s\" not found", secret ? "secret" : "configmap",
                                            strempty(ref->name));
                }
                if (r < 0)
                        return nl_error_set(err, r, "couldn't get %s %s/%s: %s", secret ? "secret" : "configMap",
                                            strempty(pod->metadata.namespace), strempty(ref->name), strerror(-r));
                const char *key;
                json_t *v;
                json_object_foreach(obj, key, v) {
                        if (!json_is_string(v))
                                continue;
                        _cleanup_free_ char *name = nl_strdupf("%s%s", strempty(f->prefix), key);
                        if (!name || env_set(env, name, json_string_value(v)) < 0) {
                                json_decref(obj);
                                return -ENOMEM;
                        }
                }
                json_decref(obj);
        }

        for (size_t i = 0; i < c->n_env; i++) {
                const struct pod_env_var *e = &c->env[i];
                _cleanup_free_ char *value = NULL;
                if (!e->value_from) {
                        /* $(VAR) refers to variables defined before this one */
                        value = podspec_expand(strempty(e->value), env_lookup, env);
                } else if (e->value_from->field_ref) {
                        value = field_value(pod, ctx, strempty(e->value_from->field_ref->field_path));
                        if (!value)
                                return nl_error_set(err, -EINVAL, "env \"%s\": unsupported fieldPath \"%s\"",
                                                    strempty(e->name), strempty(e->value_from->field_ref->field_path));
                } else if (e->value_from->resource_field_ref) {
                        /* in env, no containerName means this container */
                        struct pod_resource_field_selector s = *e->value_from->resource_field_ref;
                        if (isempty(s.container_name))
                                s.container_name = c->name;
                        int k = cri_resource_field_value(pod, ctx, &s, &value, err);
                        if (k < 0)
                                return nl_error_prefix(err, "env \"%s\"", strempty(e->name));
                } else {
                        bool secret = e->value_from->secret_key_ref != NULL;
                        const struct pod_key_selector *k = secret ? e->value_from->secret_key_ref
                                                                  : e->value_from->config_map_key_ref;
                        if (!k)
                                continue;
                        bool optional = k->optional.set && k->optional.v, object_missing = true;
                        const char *v = ctx->lookup_key
                                                ? ctx->lookup_key(ctx->userdata, secret, strempty(k->name),
                                                                  strempty(k->key), &object_missing)
                                                : NULL;
                        if (!v) {
                                if (optional)
                                        continue;
                                if (object_missing)
                                        return nl_error_set(err, -ENOENT, "%s \"%s\" not found",
                                                            secret ? "secret" : "configmap", strempty(k->name));
                                return nl_error_set(err, -ENOENT, "couldn't find key %s in %s %s/%s", strempty(k->key),
                                                    secret ? "Secret" : "ConfigMap", strempty(pod->metadata.namespace),
                                                    strempty(k->name));
                        }
                        value = strdup(v);
                }
                if (!value || env_set(env, strempty(e->name), value) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* ---- users -------------------------------------------------------------------------------- */

struct passwd_entry {
        char *name;
        uint32_t uid, gid;
        bool found;
};

static bool parse_u32(const char *s, size_t len, uint32_t *ret) {
        if (len == 0 || len > 10)
                return false;
        uint64_t v = 0;
        for (size_t i = 0; i < len; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return false;
                v = v * 10 + (uint64_t) (s[i] - '0');
        }
        if (v > UINT32_MAX)
                return false;
        *ret = (uint32_t) v;
        return true;
}

/* Field i (0-based) of a colon-separated line into [start, len). */
static bool line_field(const char *line, size_t line_len, int i, const char **start, size_t *len) {
        const char *p = line, *end = line + line_len;
        for (int k = 0; k < i; k++) {
                const char *c = memchr(p, ':', (size_t) (end - p));
                if (!c)
                        return false;
                p = c + 1;
        }
        const char *c = memchr(p, ':', (size_t) (end - p));
        *start = p;
        *len = c ? (size_t) (c - p) : (size_t) (end - p);
        return true;
}

/* Look up a passwd entry by name (name != NULL) or by uid. */
static void passwd_lookup(const char *passwd, const char *name, uint32_t uid, struct passwd_entry *ret) {
        *ret = (struct passwd_entry){};
        for (const char *line = passwd; line && *line;) {
                const char *nl = strchr(line, '\n');
                size_t len = nl ? (size_t) (nl - line) : strlen(line);
                const char *f0, *f2, *f3;
                size_t l0, l2, l3;
                uint32_t u, g;
                if (line_field(line, len, 0, &f0, &l0) && line_field(line, len, 2, &f2, &l2) &&
                    line_field(line, len, 3, &f3, &l3) && parse_u32(f2, l2, &u) && parse_u32(f3, l3, &g)) {
                        bool match = name ? (strlen(name) == l0 && memcmp(name, f0, l0) == 0) : u == uid;
                        if (match) {
                                ret->name = strndup(f0, l0);
                                ret->uid = u;
                                ret->gid = g;
                                ret->found = true;
                                return;
                        }
                }
                line = nl ? nl + 1 : NULL;
        }
}

/* A group by name; -ENOENT when absent. */
static int group_lookup_gid(const char *group, const char *name, uint32_t *ret) {
        for (const char *line = group; line && *line;) {
                const char *nl = strchr(line, '\n');
                size_t len = nl ? (size_t) (nl - line) : strlen(line);
                const char *f0, *f2;
                size_t l0, l2;
                uint32_t g;
                if (line_field(line, len, 0, &f0, &l0) && line_field(line, len, 2, &f2, &l2) &&
                    strlen(name) == l0 && memcmp(name, f0, l0) == 0 && parse_u32(f2, l2, &g)) {
                        *ret = g;
                        return 0;
                }
                line = nl ? nl + 1 : NULL;
        }
        return -ENOENT;
}

static int add_gid(uint32_t **gids, size_t *n, uint32_t gid) {
        for (size_t i = 0; i < *n; i++)
                if ((*gids)[i] == gid)
                        return 0;
        uint32_t *g = realloc(*gids, (*n + 1) * sizeof(uint32_t));
        if (!g)
                return -ENOMEM;
        *gids = g;
        g[(*n)++] = gid;
        return 0;
}

/* containerd WithAdditionalGIDs: the groups of /etc/group that list the user as a member. */
static int member_gids(const char *group, const char *user, uint32_t **gids, size_t *n) {
        if (!group || !user)
                return 0;
        for (const char *line = group; *line;) {
                const char *nl = strchr(line, '\n');
                size_t len = nl ? (size_t) (nl - line) : strlen(line);
                const char *f2, *f3;
                size_t l2, l3;
                uint32_t g;
                if (line_field(line, len, 2, &f2, &l2) && line_field(line, len, 3, &f3, &l3) && parse_u32(f2, l2, &g)) {
                        const char *m = f3, *end = f3 + l3;
                        while (m < end) {
                                const char *comma = memchr(m, ',', (size_t) (end - m));
                                size_t ml = comma ? (size_t) (comma - m) : (size_t) (end - m);
                                if (ml == strlen(user) && memcmp(m, user, ml) == 0 && add_gid(gids, n, g) < 0)
                                        return -ENOMEM;
                                m = comma ? comma + 1 : end;
                        }
                }
                if (!nl)
                        break;
                line = nl + 1;
        }
        return 0;
}

static const nl_opt_int *pick_int(const struct pod_security_context *c, const struct pod_pod_security_context *p,
                                  bool group) {
        if (c && (group ? c->run_as_group.set : c->run_as_user.set))
                return group ? &c->run_as_group : &c->run_as_user;
        if (p && (group ? p->run_as_group.set : p->run_as_user.set))
                return group ? &p->run_as_group : &p->run_as_user;
        return NULL;
}

static int resolve_user(const struct pod *pod, const struct pod_container *c, const struct image_config *img,
                        const struct plan_context *ctx, struct container_plan *plan, const char **reason,
                        nl_error *err) {
        const struct pod_security_context *csc = c->security_context;
        const struct pod_pod_security_context *psc = pod->spec.security_context;
        const nl_opt_int *run_as_user = pick_int(csc, psc, false), *run_as_group = pick_int(csc, psc, true);
        bool non_root = (csc && csc->run_as_non_root.set) ? csc->run_as_non_root.v
                                                          : (psc && psc->run_as_non_root.set && psc->run_as_non_root.v);
        const char *image_user = img ? strempty(img->user) : "";
        _cleanup_free_ char *pod_buf = NULL, *user_part = NULL, *group_part = NULL, *user_name = NULL;

        const char *colon = strchr(image_user, ':');
        user_part = colon ? strndup(image_user, (size_t) (colon - image_user)) : strdup(image_user);
        group_part = colon ? strdup(colon + 1) : NULL;
        if (!user_part || (colon && !group_part))
                return -ENOMEM;

        /* kubelet verifyRunAsNonRoot */
        if (non_root) {
                *reason = "CreateContainerConfigError";
                if (run_as_user) {
                        if (run_as_user->v == 0)
                                return nl_error_set(err, -EPERM,
                                                    "container's runAsUser breaks non-root policy (pod: \"%s\", container: %s)",
                                                    pod_format(pod, &pod_buf), strempty(c->name));
                } else {
                        uint32_t u;
                        if (isempty(user_part) || (parse_u32(user_part, strlen(user_part), &u) && u == 0))
                                return nl_error_set(err, -EPERM,
                                                    "container has runAsNonRoot and image will run as root (pod: \"%s\", container: %s)",
                                                    pod_format(pod, &pod_buf), strempty(c->name));
                        if (!parse_u32(user_part, strlen(user_part), &u))
                                return nl_error_set(err, -EPERM,
                                                    "container has runAsNonRoot and image has non-numeric user (%s), cannot verify user is non-root (pod: \"%s\", container: %s)",
                                                    user_part, pod_format(pod, &pod_buf), strempty(c->name));
                }
        }

        *reason = "CreateContainerError";
        struct passwd_entry pw = {};
        if (run_as_user) {
                /* containerd WithUserID: the passwd entry of that uid, if any, gives the gid */
                plan->uid = (uint32_t) run_as_user->v;
                passwd_lookup(ctx->etc_passwd, NULL, plan->uid, &pw);
                plan->gid = pw.found ? pw.gid : 0;
        } else if (isempty(user_part)) {
                passwd_lookup(ctx->etc_passwd, NULL, 0, &pw);
                plan->uid = 0;
                plan->gid = pw.found ? pw.gid : 0;
        } else {
                uint32_t u;
                if (parse_u32(user_part, strlen(user_part), &u)) {
                        plan->uid = u;
                        passwd_lookup(ctx->etc_passwd, NULL, u, &pw);
                        plan->gid = pw.found ? pw.gid : 0;
                } else {
                        passwd_lookup(ctx->etc_passwd, user_part, 0, &pw);
                        if (!pw.found)
                                return nl_error_set(err, -ENOENT,
                                                    "unable to find user %s: no matching entries in passwd file",
                                                    user_part);
                        plan->uid = pw.uid;
                        plan->gid = pw.gid;
                }
                if (group_part) {
                        uint32_t g;
                        if (parse_u32(group_part, strlen(group_part), &g))
                                plan->gid = g;
                        else if (group_lookup_gid(ctx->etc_group, group_part, &g) == 0)
                                plan->gid = g;
                        else {
                                free(pw.name);
                                return nl_error_set(err, -ENOENT,
                                                    "unable to find group %s: no matching entries in group file",
                                                    group_part);
                        }
                }
        }
        user_name = pw.name;
        if (run_as_group)
                plan->gid = (uint32_t) run_as_group->v;

        /* Supplemental groups: /etc/group membership (unless the Strict policy), then the
         * pod's supplementalGroups, then fsGroup (kubelet determineEffectiveSecurityContext). */
        bool strict = psc && streq_ptr(psc->supplemental_groups_policy, "Strict");
        if (!strict && member_gids(ctx->etc_group, user_name, &plan->additional_gids, &plan->n_additional_gids) < 0)
                return -ENOMEM;
        if (psc) {
                for (size_t i = 0; i < psc->n_supplemental_groups; i++)
                        if (add_gid(&plan->additional_gids, &plan->n_additional_gids,
                                    (uint32_t) psc->supplemental_groups[i]) < 0)
                                return -ENOMEM;
                if (psc->fs_group.set &&
                    add_gid(&plan->additional_gids, &plan->n_additional_gids, (uint32_t) psc->fs_group.v) < 0)
                        return -ENOMEM;
        }
        *reason = NULL;
        return 0;
}

/* ---- capabilities -------------------------------------------------------------------------- */

static bool cap_known(const char *cap) {
        for (size_t i = 0; ALL_CAPS[i]; i++)
                if (streq(ALL_CAPS[i], cap))
                        return true;
        return false;
}

static char *cap_name(const char *spec) {
        char *n = nl_strdupf("%s%s", strncasecmp(spec, "CAP_", 4) == 0 ? "" : "CAP_", spec);
        for (char *p = n; p && *p; p++)
                *p = (char) toupper((unsigned char) *p);
        return n;
}

static bool strv_has_all(char **v, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (strcasecmp(v[i], "ALL") == 0)
                        return true;
        return false;
}

/* containerd setOCICapabilities: "ALL" first, then individual adds, then individual drops. */
static int build_caps(const struct pod_container *c, uint64_t host_caps, struct strv *caps, nl_error *err) {
        const struct pod_capabilities *k = c->security_context ? c->security_context->capabilities : NULL;
        bool privileged = c->security_context && c->security_context->privileged.set && c->security_context->privileged.v;
        const char *const *base = privileged ? ALL_CAPS : DEFAULT_CAPS;

        for (size_t i = 0; base[i]; i++) {
                /* privileged means every capability the node itself holds (containerd's
                 * cap.Current()), not the whole list: a runtime cannot grant more */
                if (privileged && host_caps && !(host_caps & (1ULL << i)))
                        continue;
                if (strv_add(caps, strdup(base[i])) < 0)
                        return -ENOMEM;
        }
        if (!k || privileged)
                return 0;
        if (strv_has_all(k->add, k->n_add)) {
                strv_done(caps);
                for (size_t i = 0; ALL_CAPS[i]; i++)
                        if (strv_add(caps, strdup(ALL_CAPS[i])) < 0)
                                return -ENOMEM;
        }
        if (strv_has_all(k->drop, k->n_drop))
                strv_done(caps);
        for (size_t i = 0; i < k->n_add; i++) {
                if (strcasecmp(k->add[i], "ALL") == 0)
                        continue;
                char *name = cap_name(k->add[i]);
                if (!name)
                        return -ENOMEM;
                if (!cap_known(name)) {
                        int r = nl_error_set(err, -EINVAL, "unknown capability \"%s\"", name);
                        free(name);
                        return r;
                }
                if (strv_find(caps->v, caps->n, name) >= 0)
                        free(name);
                else if (strv_add(caps, name) < 0)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < k->n_drop; i++) {
                if (strcasecmp(k->drop[i], "ALL") == 0)
                        continue;
                _cleanup_free_ char *name = cap_name(k->drop[i]);
                if (!name)
                        return -ENOMEM;
                ssize_t at = strv_find(caps->v, caps->n, name);
                if (at >= 0) {
                        free(caps->v[at]);
                        memmove(caps->v + at, caps->v + at + 1, (caps->n - (size_t) at - 1) * sizeof(char *));
                        caps->n--;
                }
        }
        return 0;
}

/* ---- resources ---------------------------------------------------------------------------- */

#define MIN_SHARES 2
#define MAX_SHARES 262144
#define SHARES_PER_CPU 1024
#define MILLI_CPU_TO_CPU 1000
#define MIN_QUOTA_PERIOD 1000

uint64_t cri_milli_cpu_to_shares(int64_t milli) {
        if (milli <= 0)
                return MIN_SHARES;
        /* as the kubelet: integer arithmetic, clamped */
        int64_t shares = (milli * SHARES_PER_CPU) / MILLI_CPU_TO_CPU;
        if (shares < MIN_SHARES)
                return MIN_SHARES;
        if (shares > MAX_SHARES)
                return MAX_SHARES;
        return (uint64_t) shares;
}

int64_t cri_milli_cpu_to_quota(int64_t milli, uint64_t period) {
        if (milli <= 0)
                return 0;
        int64_t quota = (milli * (int64_t) period) / MILLI_CPU_TO_CPU;
        return quota < MIN_QUOTA_PERIOD ? MIN_QUOTA_PERIOD : quota;
}

/* pkg/kubelet/qos GetContainerOOMScoreAdjust */
void cri_container_linux_resources(const struct pod_container *c, struct cri_linux_resources *ret) {
        const pod_quantity *cpu_req = resource_of(c->resources, false, "cpu");
        const pod_quantity *cpu_lim = resource_of(c->resources, true, "cpu");
        const pod_quantity *mem_lim = resource_of(c->resources, true, "memory");
        int64_t req_milli = cpu_req ? pod_quantity_milli_value(cpu_req) : (cpu_lim ? pod_quantity_milli_value(cpu_lim) : 0);
        *ret = (struct cri_linux_resources){ .cpu_period = 100000 };
        ret->cpu_shares = cri_milli_cpu_to_shares(req_milli);
        ret->cpu_quota = cpu_lim ? cri_milli_cpu_to_quota(pod_quantity_milli_value(cpu_lim), ret->cpu_period) : 0;
        ret->memory_limit = mem_lim ? pod_quantity_value(mem_lim) : 0;
}

int cri_oom_score_adj(const struct pod *pod, const struct pod_container *c, int64_t memory_capacity) {
        const char *qos = pod_qos_class(pod);
        if (streq(qos, "Guaranteed"))
                return -997;
        if (streq(qos, "BestEffort"))
                return 1000;
        const pod_quantity *req = resource_of(c->resources, false, "memory");
        int64_t request = req ? pod_quantity_value(req) : 0;
        if (memory_capacity <= 0)
                return 999;
        int64_t adj = 1000 - (1000 * request) / memory_capacity;
        if (adj < 1000 + -997)
                return 1000 + -997;
        if (adj == 1000)
                return 999;
        return (int) adj;
}

/* ---- the plan ----------------------------------------------------------------------------- */

static int copy_strv(char **src, size_t n, struct strv *dst, const struct env *env) {
        for (size_t i = 0; i < n; i++)
                if (strv_add(dst, env ? podspec_expand(strempty(src[i]), env_lookup, (void *) env)
                                       : strdup(strempty(src[i]))) < 0)
                        return -ENOMEM;
        return 0;
}

int container_plan_build(const struct pod *pod, const struct pod_container *c, const struct image_config *img,
                         const struct plan_context *ctx, struct container_plan **ret, const char **ret_reason,
                         nl_error *err) {
        struct container_plan *plan = calloc(1, sizeof(*plan));
        struct env env = {};
        struct strv args = {}, caps = {}, envv = {};
        const char *reason = "CreateContainerConfigError";
        int r = -ENOMEM;

        if (!plan)
                goto fail;

        r = build_env(pod, c, ctx, &env, err);
        if (r < 0)
                goto fail;

        /* Command line: command replaces ENTRYPOINT and drops CMD; args alone replace CMD.
         * Both are expanded with the container's environment. */
        reason = "CreateContainerError";
        if (c->n_command > 0) {
                if (copy_strv(c->command, c->n_command, &args, &env) < 0 ||
                    copy_strv(c->args, c->n_args, &args, &env) < 0)
                        goto fail;
        } else {
                if (img && copy_strv(img->entrypoint, img->n_entrypoint, &args, NULL) < 0)
                        goto fail;
                if (c->n_args > 0) {
                        if (copy_strv(c->args, c->n_args, &args, &env) < 0)
                                goto fail;
                } else if (img && copy_strv(img->cmd, img->n_cmd, &args, NULL) < 0)
                        goto fail;
        }
        if (args.n == 0) {
                r = nl_error_set(err, -EINVAL, "no command specified");
                goto fail;
        }

        /* Environment: the image's, then the Pod's (which wins for the same name). */
        struct env final = {};
        for (size_t i = 0; img && i < img->n_env; i++) {
                const char *eq = strchr(strempty(img->env[i]), '=');
                _cleanup_free_ char *name = eq ? strndup(img->env[i], (size_t) (eq - img->env[i])) : strdup(strempty(img->env[i]));
                if (!name || env_set(&final, name, eq ? eq + 1 : "") < 0) {
                        env_done(&final);
                        goto fail;
                }
        }
        for (size_t i = 0; i < env.n; i++)
                if (env_set(&final, env.e[i].name, env.e[i].value) < 0) {
                        env_done(&final);
                        goto fail;
                }
        for (size_t i = 0; i < final.n; i++)
                if (strv_add(&envv, nl_strdupf("%s=%s", final.e[i].name, final.e[i].value)) < 0) {
                        env_done(&final);
                        goto fail;
                }
        env_done(&final);

        plan->cwd = strdup(!isempty(c->working_dir) ? c->working_dir
                           : (img && !isempty(img->working_dir)) ? img->working_dir
                                                                  : "/");
        if (!plan->cwd)
                goto fail;

        r = resolve_user(pod, c, img, ctx, plan, &reason, err);
        if (r < 0)
                goto fail;

        reason = "CreateContainerError";
        r = build_caps(c, ctx->host_capabilities, &caps, err);
        if (r < 0)
                goto fail;

        const struct pod_security_context *sc = c->security_context;
        const struct pod_pod_security_context *psc = pod->spec.security_context;
        plan->privileged = sc && sc->privileged.set && sc->privileged.v;
        /* kubelet: NoNewPrivs when allowPrivilegeEscalation is false (never for privileged) */
        plan->no_new_privileges = !plan->privileged && sc && sc->allow_privilege_escalation.set &&
                                  !sc->allow_privilege_escalation.v;
        plan->read_only_rootfs = sc && sc->read_only_root_filesystem.set && sc->read_only_root_filesystem.v;
        plan->unmasked_proc = sc && streq_ptr(sc->proc_mount, "Unmasked");
        const struct pod_seccomp_profile *sp = (sc && sc->seccomp_profile) ? sc->seccomp_profile
                                               : (psc ? psc->seccomp_profile : NULL);
        /* The kubelet's default (without --seccomp-default) is Unconfined; privileged
         * containers are always unconfined. */
        plan->seccomp_type = strdup(plan->privileged || !sp || isempty(sp->type) ? "Unconfined" : sp->type);
        if (!plan->seccomp_type)
                goto fail;
        if (sp && sp->localhost_profile && streq(plan->seccomp_type, "Localhost"))
                plan->seccomp_localhost = strdup(sp->localhost_profile);
        if (img && img->stop_signal)
                plan->stop_signal = strdup(img->stop_signal);
        plan->tty = c->tty.set && c->tty.v;
        plan->stdin_open = c->stdin_.set && c->stdin_.v;
        plan->stdin_once = c->stdin_once.set && c->stdin_once.v;

        /* Capabilities: non-root users get none effective (as moby and containerd do); the
         * bounding set still limits what setuid binaries can gain. */
        plan->cap_bounding = caps.v;
        plan->n_cap_bounding = caps.n;
        caps = (struct strv){};
        if (plan->uid == 0 || plan->privileged) {
                struct strv eff = {};
                if (copy_strv(plan->cap_bounding, plan->n_cap_bounding, &eff, NULL) < 0)
                        goto fail;
                plan->cap_effective = eff.v;
                plan->n_cap_effective = eff.n;
        }

        /* Resources with the kubelet's formulas. */
        struct cri_linux_resources lr;
        cri_container_linux_resources(c, &lr);
        plan->cpu_period = lr.cpu_period;
        plan->cpu_shares = lr.cpu_shares;
        plan->cpu_quota = lr.cpu_quota;
        plan->memory_limit = lr.memory_limit;
        plan->qos_class = pod_qos_class(pod);
        plan->oom_score_adj = cri_oom_score_adj(pod, c, ctx->node_allocatable_memory);

        plan->args = args.v;
        plan->n_args = args.n;
        plan->env = envv.v;
        plan->n_env = envv.n;
        env_done(&env);
        *ret = plan;
        if (ret_reason)
                *ret_reason = NULL;
        return 0;

fail:
        if (r == -ENOMEM && (!err || !err->msg))
                nl_error_set(err, -ENOMEM, "out of memory");
        if (ret_reason)
                *ret_reason = reason;
        env_done(&env);
        strv_done(&args);
        strv_done(&caps);
        strv_done(&envv);
        container_plan_free(plan);
        return r < 0 ? r : -EINVAL;
}

void container_plan_free(struct container_plan *p) {
        if (!p)
                return;
        for (size_t i = 0; i < p->n_args; i++)
                free(p->args[i]);
        free(p->args);
        for (size_t i = 0; i < p->n_env; i++)
                free(p->env[i]);
        free(p->env);
        for (size_t i = 0; i < p->n_cap_bounding; i++)
                free(p->cap_bounding[i]);
        free(p->cap_bounding);
        for (size_t i = 0; i < p->n_cap_effective; i++)
                free(p->cap_effective[i]);
        free(p->cap_effective);
        free(p->additional_gids);
        free(p->cwd);
        free(p->seccomp_type);
        free(p->seccomp_localhost);
        free(p->stop_signal);
        free(p);
}
