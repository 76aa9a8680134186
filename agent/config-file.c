/* SPDX-License-Identifier: Apache-2.0 */
/* nodelet run's config file: a KubeletConfiguration-shaped YAML document (apiVersion
 * kubelet.config.k8s.io/v1beta1, kind KubeletConfiguration, plus a "nodelet" section for our
 * own keys), each key found in the settings table; unknown and unsupported keys and bad values
 * are errors naming the key and the file. */
#include <stdio.h>

#include "common/fs.h"
#include "common/strv.h"
#include "config-internal.h"
#include "podspec/podspec.h"

/* ---- the file's values -------------------------------------------------------------------- */

struct file_ctx {
        struct nodelet_config *c;
        const char *dir; /* the file's directory: relative paths in it are relative to it, as the
                          * kubelet resolves staticPodPath, resolvConf, ... */
};

static const char *json_kind(const json_t *v) {
        switch (json_typeof(v)) {
        case JSON_OBJECT:
                return "a map";
        case JSON_ARRAY:
                return "a list";
        case JSON_STRING:
                return "a string";
        case JSON_INTEGER:
                return "an integer";
        case JSON_REAL:
                return "a number with a fraction";
        case JSON_TRUE:
        case JSON_FALSE:
                return "a boolean";
        default:
                return "null";
        }
}

static int get_string(const json_t *v, const char *key, bool allow_empty, const char **ret, nl_error *err) {
        if (!json_is_string(v))
                return nl_error_set(err, -EINVAL, "%s: must be a string, not %s", key, json_kind(v));
        const char *s = json_string_value(v);
        if (strlen(s) != json_string_length(v))
                return nl_error_set(err, -EINVAL, "%s: must not contain a NUL character", key);
        if (!allow_empty && !*s)
                return nl_error_set(err, -EINVAL, "%s: must not be empty", key);
        *ret = s;
        return 0;
}

static int get_int(const json_t *v, const char *key, int min, int max, int *ret, nl_error *err) {
        if (!json_is_integer(v))
                return nl_error_set(err, -EINVAL, "%s: must be an integer, not %s", key, json_kind(v));
        json_int_t n = json_integer_value(v);
        if (n < min || n > max)
                return nl_error_set(err, -ERANGE, "%s: %lld must be between %d and %d", key, (long long) n,
                                    min, max);
        *ret = (int) n;
        return 0;
}

/* A list (JSON_ARRAY) or a map (JSON_OBJECT) of at most CONFIG_MAX_LIST entries. */
static int get_collection(const json_t *v, json_type type, const char *key, nl_error *err) {
        const char *want = type == JSON_ARRAY ? "a list" : "a map";
        if (json_typeof(v) != type)
                return nl_error_set(err, -EINVAL, "%s: must be %s, not %s", key, want, json_kind(v));
        if ((type == JSON_ARRAY ? json_array_size(v) : json_object_size(v)) > CONFIG_MAX_LIST)
                return nl_error_set(err, -E2BIG, "%s: more than %d entries", key, CONFIG_MAX_LIST);
        return 0;
}

static int get_list(const json_t *v, const char *key, nl_error *err) {
        return get_collection(v, JSON_ARRAY, key, err);
}

static int get_map(const json_t *v, const char *key, nl_error *err) {
        return get_collection(v, JSON_OBJECT, key, err);
}

/* A path from the file: relative ones are taken from the file's directory. Empty only when
 * allow_empty (then it means "none"). */
static int set_path(const struct file_ctx *f, char **field, const json_t *v, const char *key,
                    bool allow_empty, nl_error *err) {
        const char *s;
        int r = get_string(v, key, allow_empty, &s, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *abs = NULL;
        if (*s && s[0] != '/' && !(abs = nl_strdupf("%s/%s", f->dir, s)))
                return -ENOMEM;
        return config_set_str(field, abs ? abs : s);
}

/* Each element e of the list v, named "<key>[<index>]" in messages; an error stops. */
typedef int (*item_fn)(void *userdata, const char *item_key, const json_t *e, nl_error *err);

static int foreach_item(const json_t *v, const char *key, item_fn fn, void *userdata, nl_error *err) {
        size_t i;
        json_t *e;
        int r = get_list(v, key, err);
        if (r < 0)
                return r;
        json_array_foreach(v, i, e) {
                _cleanup_free_ char *item_key = nl_strdupf("%s[%zu]", key, i);
                if (!item_key)
                        return -ENOMEM;
                if ((r = fn(userdata, item_key, e, err)) < 0)
                        return r;
        }
        return 0;
}

struct path_list {
        const struct file_ctx *f;
        struct strv l;
};

static int add_path(void *userdata, const char *item_key, const json_t *e, nl_error *err) {
        struct path_list *pl = userdata;
        _cleanup_free_ char *p = NULL;
        int r = set_path(pl->f, &p, e, item_key, false, err);
        if (r < 0)
                return r;
        return config_list_push_n(&pl->l.v, &pl->l.n, p, strlen(p));
}

static int set_path_list(const struct file_ctx *f, char ***v, size_t *n, const json_t *j, const char *key,
                         nl_error *err) {
        struct path_list pl = { .f = f };
        int r = foreach_item(j, key, add_path, &pl, err);
        if (r < 0) {
                strv_done(&pl.l);
                return r;
        }
        strv_free_n(*v, *n);
        *v = pl.l.v;
        *n = pl.l.n;
        return 0;
}

static int load_registry_cas(struct nodelet_config *c, const struct file_ctx *f, const char *key,
                             const json_t *v, nl_error *err) {
        const char *host;
        json_t *file;
        int r = get_map(v, key, err);
        if (r < 0)
                return r;
        json_object_foreach((json_t *) v, host, file) {
                _cleanup_free_ char *item = nl_strdupf("%s[\"%s\"]", key, host);
                _cleanup_free_ char *path = NULL, *arg = NULL;
                if (!item)
                        return -ENOMEM;
                if (!*host)
                        return nl_error_set(err, -EINVAL, "%s: the registry host is empty", item);
                if ((r = set_path(f, &path, file, item, false, err)) < 0)
                        return r;
                if (!(arg = nl_strdupf("%s=%s", host, path)))
                        return -ENOMEM;
                if ((r = registry_config_add(&c->registry, "ca", arg, err)) < 0)
                        return r;
        }
        return 0;
}

static int load_registry_mirrors(struct nodelet_config *c, const char *key, const json_t *v, nl_error *err) {
        const char *host;
        json_t *urls;
        int r = get_map(v, key, err);
        if (r < 0)
                return r;
        json_object_foreach((json_t *) v, host, urls) {
                _cleanup_free_ char *item = nl_strdupf("%s[\"%s\"]", key, host);
                if (!item)
                        return -ENOMEM;
                if (!*host)
                        return nl_error_set(err, -EINVAL, "%s: the registry host is empty", item);
                if ((r = get_list(urls, item, err)) < 0)
                        return r;
                size_t i;
                json_t *u;
                json_array_foreach(urls, i, u) {
                        const char *url;
                        _cleanup_free_ char *arg = NULL;
                        if ((r = get_string(u, item, false, &url, err)) < 0 ||
                            (r = config_check_mirror_url(url, item, err)) < 0)
                                return r;
                        if (!(arg = nl_strdupf("%s=%s", host, url)))
                                return -ENOMEM;
                        if ((r = registry_config_add(&c->registry, "mirror", arg, err)) < 0)
                                return r;
                }
        }
        return 0;
}

/* The kubelet's keys that nodelet does not implement: refused, so a setting never silently
 * does nothing. */
static const char *const unsupported_keys[] = {
        /* clang-format off */
        "allowedUnsafeSysctls", "authentication", "authorization", "cgroupRoot", "cgroupsPerQOS",
        "configMapAndSecretChangeDetectionStrategy", "containerLogMaxWorkers",
        "containerLogMonitorInterval", "containerRuntimeEndpoint", "cpuCFSQuota", "cpuCFSQuotaPeriod",
        "cpuManagerPolicy", "cpuManagerPolicyOptions", "cpuManagerReconcilePeriod", "crashLoopBackOff",
        "enableControllerAttachDetach", "enableContentionProfiling", "enableDebugFlagsHandler",
        "enableDebuggingHandlers", "enableProfilingHandler", "enableServer", "enableSystemLogHandler",
        "enableSystemLogQuery", "enforceNodeAllocatable", "eventBurst", "eventRecordQPS", "failSwapOn", "featureGates", "hairpinMode",
        "imageMaximumGCAge", "imageMinimumGCAge", "imageServiceEndpoint", "iptablesDropBit",
        "iptablesMasqueradeBit", "kernelMemcgNotification", "kubeAPIBurst", "kubeAPIQPS",
        "kubeReservedCgroup", "kubeletCgroups", "localStorageCapacityIsolation", "logging",
        "makeIPTablesUtilChains", "maxOpenFiles", "maxParallelImagePulls", "memoryManagerPolicy",
        "memorySwap", "memoryThrottlingFactor", "nodeStatusMaxImages", "oomScoreAdj", "podCIDR",
        "podPidsLimit", "podsPerCore", "protectKernelDefaults", "providerID", "qosReserved",
        "readOnlyPort", "registerWithTaints", "registryBurst", "registryPullQPS", "reservedMemory",
        "reservedSystemCPUs", "runtimeRequestTimeout", "seccompDefault",
        "serializeImagePulls", "shutdownGracePeriod",
        "shutdownGracePeriodByPodPriority", "shutdownGracePeriodCriticalPods", "singleProcessOOMKill",
        "systemCgroups",
        "systemReservedCgroup", "tlsCipherSuites", "tlsMinVersion",
        "topologyManagerPolicy", "topologyManagerPolicyOptions", "topologyManagerScope", "tracing",
        "volumePluginDir", "volumeStatsAggPeriod",
        /* clang-format on */
};

static bool is_unsupported_key(const char *key) {
        for (size_t i = 0; i < ELEMENTSOF(unsupported_keys); i++)
                if (streq(unsupported_keys[i], key))
                        return true;
        return false;
}

/* ---- values from the file ------------------------------------------------------------------ */

static int add_ip(void *userdata, const char *item_key, const json_t *e, nl_error *err) {
        struct strv *ips = userdata;
        const char *str;
        int r = get_string(e, item_key, false, &str, err);
        if (r < 0)
                return r;
        if (!config_is_ip_address(str))
                return nl_error_set(err, -EINVAL, "%s: \"%s\" is not a valid IP address", item_key, str);
        return strv_push(&ips->v, &ips->n, str);
}

static int load_cluster_dns(struct nodelet_config *c, const struct setting *s, const char *key, const json_t *v,
                            nl_error *err) {
        _cleanup_(strv_done) struct strv ips = {};
        int r = foreach_item(v, key, add_ip, &ips, err);
        if (r < 0)
                return r;
        /* All of them, as the kubelet writes every clusterDNS entry as a nameserver; the cri
         * layer takes the comma-separated list. */
        _cleanup_free_ char *joined = ips.n ? strv_join(ips.v, ips.n, ",") : NULL;
        if (ips.n && !joined)
                return -ENOMEM;
        free(*FIELD_PTR(c, s, char *));
        *FIELD_PTR(c, s, char *) = TAKE_PTR(joined);
        return 0;
}

static int add_insecure_registry(void *userdata, const char *item_key, const json_t *e, nl_error *err) {
        struct nodelet_config *c = userdata;
        const char *str;
        int r = get_string(e, item_key, false, &str, err);
        if (r < 0)
                return r;
        return registry_config_add(&c->registry, "insecure", str, err);
}

/* userNamespaces: {idsPerPod: N}: IDs per pod with hostUsers: false, a multiple of 65536 (the
 * kubelet's validation) */
static int load_user_namespaces(struct nodelet_config *c, const char *key, const json_t *v, nl_error *err) {
        const char *k;
        json_t *x;
        int r;
        if ((r = get_map(v, key, err)) < 0)
                return r;
        json_object_foreach((json_t *) v, k, x) {
                if (!streq(k, "idsPerPod"))
                        return nl_error_set(err, -EINVAL, "userNamespaces.%s: unknown key", k);
                if (!json_is_integer(x) || json_integer_value(x) < 65536 ||
                    json_integer_value(x) > (json_int_t) 1 << 31 || json_integer_value(x) % 65536 != 0)
                        return nl_error_set(err, -EINVAL,
                                            "userNamespaces.idsPerPod: must be a multiple of 65536, "
                                            "at least 65536");
                c->userns_ids_per_pod = (uint32_t) json_integer_value(x);
        }
        return 0;
}

/* shutdownGracePeriodByPodPriority: [{priority: int32, shutdownGracePeriodSeconds: int64}], at
 * most CONFIG_MAX_LIST entries; the file's list replaces what was there. */
static int load_shutdown_by_priority(struct nodelet_config *c, const char *key, const json_t *v, nl_error *err) {
        if (!json_is_array(v))
                return nl_error_set(err, -EINVAL, "%s: must be a list, not %s", key, json_kind(v));
        size_t n = json_array_size(v);
        if (n > CONFIG_MAX_LIST)
                return nl_error_set(err, -E2BIG, "%s: more than %d entries", key, CONFIG_MAX_LIST);
        _cleanup_free_ struct shutdown_grace_by_priority *list = calloc(n ? n : 1, sizeof(*list));
        if (!list)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const json_t *e = json_array_get(v, i), *x;
                const char *k;
                if (!json_is_object(e))
                        return nl_error_set(err, -EINVAL, "%s[%zu]: must be a map, not %s", key, i, json_kind(e));
                json_object_foreach((json_t *) e, k, x) {
                        if (!streq(k, "priority") && !streq(k, "shutdownGracePeriodSeconds"))
                                return nl_error_set(err, -EINVAL, "%s[%zu].%s: unknown key", key, i, k);
                        /* int32 priorities; seconds capped at a year: a shutdown is not delayed longer */
                        json_int_t lo = streq(k, "priority") ? INT32_MIN : 0,
                                   hi = streq(k, "priority") ? INT32_MAX : 365 * 24 * 3600;
                        if (!json_is_integer(x) || json_integer_value(x) < lo || json_integer_value(x) > hi)
                                return nl_error_set(err, -EINVAL, "%s[%zu].%s: must be an integer from %lld to %lld",
                                                    key, i, k, (long long) lo, (long long) hi);
                        if (streq(k, "priority"))
                                list[i].priority = (int32_t) json_integer_value(x);
                        else
                                list[i].seconds = (int64_t) json_integer_value(x);
                }
        }
        free(c->shutdown_by_priority);
        c->shutdown_by_priority = TAKE_PTR(list);
        c->n_shutdown_by_priority = n;
        return 0;
}

/* kubeReserved / systemReserved: a map of resource to quantity string (the kubelet's
 * map[string]string), checked as its flags are. */
static int load_reserved(struct config_reserved *r, const char *key, const json_t *v, nl_error *err) {
        const char *k;
        json_t *x;
        int ret;
        if ((ret = get_map(v, key, err)) < 0)
                return ret;
        struct config_reserved n = {};
        json_object_foreach((json_t *) v, k, x) {
                _cleanup_free_ char *item = nl_strdupf("%s.%s", key, k);
                const char *q;
                if (!item)
                        return -ENOMEM;
                if ((ret = get_string(x, item, false, &q, err)) < 0 ||
                    (ret = config_reserved_set(&n, k, q, key, err)) < 0)
                        return ret;
        }
        *r = n;
        return 0;
}

/* evictionHard: {memory.available: "100Mi", ...} -> "memory.available<100Mi,..." (the flag's
 * form, checked with the flags in config_check_values). A map given replaces the defaults
 * whole: as the kubelet, signals it leaves out have no threshold. */
static int load_eviction_map(struct nodelet_config *c, const struct setting *s, const char *key, const json_t *v,
                             nl_error *err) {
        const char *k;
        json_t *x;
        int r;
        nl_buf b = {};
        if ((r = get_map(v, key, err)) < 0)
                return r;
        if (json_object_size(v) > CONFIG_MAX_LIST)
                return nl_error_set(err, -E2BIG, "%s: more than %d entries", key, CONFIG_MAX_LIST);
        json_object_foreach((json_t *) v, k, x) {
                if (!json_is_string(x)) {
                        nl_buf_free(&b);
                        return nl_error_set(err, -EINVAL, "%s.%s: must be a string, not %s", key, k, json_kind(x));
                }
                if (strpbrk(k, ",<=") || strchr(json_string_value(x), ',')) {
                        nl_buf_free(&b);
                        return nl_error_set(err, -EINVAL, "%s.%s: \"%s\" is not a valid value", key, k,
                                            json_string_value(x));
                }
                nl_buf_printf(&b, "%s%s%c%s", b.len ? "," : "", k, (s->opts & S_LANGLE) ? '<' : '=',
                              json_string_value(x));
        }
        _cleanup_free_ char *joined = b.len ? nl_buf_steal(&b) : strdup("");
        if (!joined)
                return -ENOMEM;
        free(*FIELD_PTR(c, s, char *));
        *FIELD_PTR(c, s, char *) = TAKE_PTR(joined);
        return 0;
}

/* Apply the file's value v of setting s, its key spelled key in messages. */
/* staticPodURLHeader: {Name: [value, ...]} as the kubelet's map[string][]string */
static int load_headers(struct nodelet_config *c, const struct setting *s, const char *key, const json_t *v,
                        nl_error *err) {
        if (!json_is_object(v))
                return nl_error_set(err, -EINVAL, "%s: must be a map of header names to lists of values", key);
        char ***field = FIELD_PTR(c, s, char **);
        size_t *n = COUNT_PTR(c, s);
        const char *name;
        json_t *vals;
        json_object_foreach((json_t *) v, name, vals) {
                if (!json_is_array(vals))
                        return nl_error_set(err, -EINVAL, "%s.%s: must be a list of strings", key, name);
                size_t i;
                json_t *e;
                json_array_foreach(vals, i, e) {
                        _cleanup_free_ char *h = json_is_string(e) ? nl_strdupf("%s:%s", name, json_string_value(e)) : NULL;
                        if (!json_is_string(e) || !h || !config_header_ok(h))
                                return nl_error_set(err, -EINVAL, "%s.%s[%zu]: not a header value", key, name, i);
                        if (*n >= CONFIG_MAX_LIST)
                                return nl_error_set(err, -E2BIG, "%s: more than %d headers", key, CONFIG_MAX_LIST);
                        char **nv = reallocarray(*field, *n + 1, sizeof(char *));
                        if (!nv)
                                return -ENOMEM;
                        *field = nv;
                        nv[(*n)++] = TAKE_PTR(h);
                }
        }
        return 0;
}

static int apply_file_value(const struct file_ctx *f, const struct setting *s, const char *key, const json_t *v,
                            nl_error *err) {
        struct nodelet_config *c = f->c;
        const char *str;
        int r;

        switch (s->type) {
        case S_PATH: {
                char **field = FIELD_PTR(c, s, char *);
                r = set_path(f, field, v, key, (s->opts & (S_EMPTY_OK | S_EMPTY_IS_NULL)) != 0, err);
                if (r >= 0 && (s->opts & S_EMPTY_IS_NULL) && *field && !**field)
                        r = config_set_str(field, NULL);
                return r;
        }
        case S_INT:
                return get_int(v, key, s->min, s->max, FIELD_PTR(c, s, int), err);
        case S_PERIOD:
                if (s->opts & S_DURATION_KIND) {
                        if (get_string(v, key, true, &str, err) < 0)
                                return nl_error_set(err, -EINVAL,
                                                    "%s: must be a duration string such as \"20s\", not %s",
                                                    key, json_kind(v));
                } else if ((r = get_string(v, key, false, &str, err)) < 0)
                        return r;
                if (s->opts & S_ZERO_OK)
                        return config_parse_duration(str, key, FIELD_PTR(c, s, usec_t), err);
                return config_parse_period(str, key, FIELD_PTR(c, s, usec_t), err);
        case S_QUANTITY:
                if ((r = get_string(v, key, false, &str, err)) < 0)
                        return r;
                return config_parse_log_max_size(str, key, FIELD_PTR(c, s, int64_t), err);
        case S_BOOL:
                if (!json_is_boolean(v))
                        return nl_error_set(err, -EINVAL, "%s: must be true or false, not %s", key,
                                            json_kind(v));
                *FIELD_PTR(c, s, bool) = json_is_true(v);
                return 0;
        case S_IP:
                if ((r = get_string(v, key, false, &str, err)) < 0)
                        return r;
                if (!config_is_ip_address(str))
                        return nl_error_set(err, -EINVAL, "%s: \"%s\" is not a valid IP address", key, str);
                return config_set_str(FIELD_PTR(c, s, char *), str);
        case S_DOMAIN:
                if ((r = get_string(v, key, true, &str, err)) < 0)
                        return r;
                if (*str && !podspec_is_dns1123_subdomain(str))
                        return nl_error_set(err, -EINVAL, "%s: \"%s\" is not a DNS-1123 subdomain", key, str);
                return config_set_str(FIELD_PTR(c, s, char *), str);
        case S_RUNTIME:
                if ((r = get_string(v, key, false, &str, err)) < 0 ||
                    (r = config_check_runtime(str, key, err)) < 0)
                        return r;
                /* a relative path is the file's; a bare name is looked up on PATH */
                return strchr(str, '/') ? set_path(f, FIELD_PTR(c, s, char *), v, key, false, err)
                                        : config_set_str(FIELD_PTR(c, s, char *), str);
        case S_PATH_LIST:
                return set_path_list(f, FIELD_PTR(c, s, char **), COUNT_PTR(c, s), v, key, err);
        case S_IP_LIST:
                return load_cluster_dns(c, s, key, v, err);
        case S_USERNS:
                return load_user_namespaces(c, key, v, err);
        case S_CGROUP_DRIVER:
                if ((r = get_string(v, key, false, &str, err)) < 0)
                        return r;
                if (!streq(str, "cgroupfs"))
                        return nl_error_set(err, -EOPNOTSUPP,
                                            "%s: \"%s\" is not supported: nodelet manages cgroups itself "
                                            "(\"cgroupfs\" is the only driver)",
                                            key, str);
                return 0;
        case S_SHUTDOWN_PRIORITY:
                return load_shutdown_by_priority(c, key, v, err);
        case S_URL:
                if ((r = get_string(v, key, true, &str, err)) < 0)
                        return r;
                if (*str && (r = config_check_url(str, key, err)) < 0)
                        return r;
                return config_set_str(FIELD_PTR(c, s, char *), *str ? str : NULL);
        case S_HEADERS:
                return load_headers(c, s, key, v, err);
        case S_REGISTRY_INSECURE:
                return foreach_item(v, key, add_insecure_registry, c, err);
        case S_REGISTRY_CA:
                return load_registry_cas(c, f, key, v, err);
        case S_REGISTRY_MIRROR:
                return load_registry_mirrors(c, key, v, err);
        case S_RESERVED:
                return load_reserved(FIELD_PTR(c, s, struct config_reserved), key, v, err);
        case S_EVICTION_MAP:
                return load_eviction_map(c, s, key, v, err);
        case S_CONFIG:
        case S_NODE_NAME:
        case S_LABELS:
        case S_HEADING:
                break;
        }
        return -EINVAL;
}

static const struct setting *setting_by_key(const char *key) {
        for (size_t i = 0; i < config_n_settings; i++)
                if (streq_ptr(config_settings[i].key, key))
                        return &config_settings[i];
        return NULL;
}

static int load_key(const struct file_ctx *f, const char *key, const json_t *v, nl_error *err) {
        const struct setting *s;
        int r;

        if (streq(key, "apiVersion") || streq(key, "kind"))
                return 0; /* checked by the caller */
        if (streq(key, "nodelet")) {
                const char *k;
                json_t *e;
                if ((r = get_map(v, key, err)) < 0)
                        return r;
                json_object_foreach((json_t *) v, k, e) {
                        if (json_is_null(e))
                                continue;
                        _cleanup_free_ char *full = nl_strdupf("nodelet.%s", k);
                        if (!full)
                                return -ENOMEM;
                        if (!(s = setting_by_key(full)))
                                return nl_error_set(err, -EINVAL, "unknown key \"%s\"", full);
                        if ((r = apply_file_value(f, s, full, e, err)) < 0)
                                return r;
                }
                return 0;
        }
        if (!strchr(key, '.') && (s = setting_by_key(key)))
                return apply_file_value(f, s, key, v, err);
        if (is_unsupported_key(key))
                return nl_error_set(err, -EOPNOTSUPP, "key \"%s\" is not supported by nodelet", key);
        return nl_error_set(err, -EINVAL, "unknown key \"%s\"", key);
}

static int load_document(struct nodelet_config *c, const char *dir, const json_t *doc, nl_error *err) {
        struct file_ctx f = {.c = c, .dir = dir};
        const char *key;
        json_t *v;
        int r;

        if (!json_is_object(doc))
                return nl_error_set(err, -EINVAL, "must be a map of settings, not %s", json_kind(doc));
        const json_t *av = json_object_get(doc, "apiVersion"), *kind = json_object_get(doc, "kind");
        if (!json_is_string(av) || !streq(json_string_value(av), KUBELET_API_VERSION))
                return nl_error_set(err, -EINVAL, "apiVersion: must be \"%s\"%s%s%s", KUBELET_API_VERSION,
                                    json_is_string(av) ? ", not \"" : "",
                                    json_is_string(av) ? json_string_value(av) : "",
                                    json_is_string(av) ? "\"" : "");
        if (!json_is_string(kind) || !streq(json_string_value(kind), KUBELET_KIND))
                return nl_error_set(err, -EINVAL, "kind: must be \"%s\"%s%s%s", KUBELET_KIND,
                                    json_is_string(kind) ? ", not \"" : "",
                                    json_is_string(kind) ? json_string_value(kind) : "",
                                    json_is_string(kind) ? "\"" : "");
        json_object_foreach((json_t *) doc, key, v) {
                /* null is "not set", as encoding/json leaves a field alone for it */
                if (json_is_null(v))
                        continue;
                if ((r = load_key(&f, key, v, err)) < 0)
                        return r == -ENOMEM && (!err || !err->msg) ? nl_error_set(err, r, "out of memory")
                                                                   : r;
        }
        return 0;
}

int config_load_file(struct nodelet_config *c, const char *path, nl_error *err) {
        _cleanup_free_ char *buf = NULL, *yaml_error = NULL, *dir = NULL;
        json_t *docs = NULL;
        size_t len = 0;
        int r;

        r = nl_read_file(path, CONFIG_MAX_BYTES, false, &buf, &len);
        if (r == -EFBIG)
                return nl_error_set(err, r, "%s: larger than %u bytes", path, CONFIG_MAX_BYTES);
        if (r < 0)
                return nl_error_set(err, r, "read config file %s: %s", path, strerror(-r));

        r = podspec_yaml_to_json(buf, len, &docs, &yaml_error);
        if (r == -ENOMEM)
                return nl_error_set(err, r, "%s: out of memory", path);
        if (r < 0) {
                json_decref(docs);
                return nl_error_set(err, r, "%s: %s", path, yaml_error ? yaml_error : "invalid YAML");
        }
        if (json_array_size(docs) != 1) {
                size_t n = json_array_size(docs);
                json_decref(docs);
                return nl_error_set(
                        err, -EINVAL, "%s: %s", path,
                        n == 0 ? "no settings in this file (it needs apiVersion " KUBELET_API_VERSION
                                 " and kind " KUBELET_KIND ")"
                               : "more than one YAML document; a config file has exactly one");
        }

        const char *slash = strrchr(path, '/');
        dir = slash ? (slash == path ? strdup("/") : strndup(path, (size_t) (slash - path))) : strdup(".");
        if (!dir) {
                json_decref(docs);
                return nl_error_set(err, -ENOMEM, "%s: out of memory", path);
        }
        r = load_document(c, dir, json_array_get(docs, 0), err);
        json_decref(docs);
        if (r >= 0)
                r = config_check_values(c, err);
        if (r < 0)
                return err && err->msg ? nl_error_prefix(err, "%s", path)
                                       : nl_error_set(err, r, "%s: %s", path, strerror(-r));
        if ((r = config_set_str(&c->config_file, path)) < 0)
                return nl_error_set(err, r, "%s: out of memory", path);
        return config_finish(c, err);
}

