/* SPDX-License-Identifier: Apache-2.0 */
/* nodelet run's config file: a KubeletConfiguration-shaped YAML document (apiVersion
 * kubelet.config.k8s.io/v1beta1, kind KubeletConfiguration, plus a "nodelet" section for our
 * own keys), each key found in the settings table; unknown and unsupported keys and bad values
 * are errors naming the key and the file. */
#include <limits.h>
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

/* ---- the kubelet's keys that are not nodelet settings -------------------------------------- */

struct kubelet_key;
/* 0: nodelet behaves as the value says (honoured, not listed); 1: not acted on (listed in the
 * start-up warning); < 0: a value nodelet cannot honour, refused naming the key. */
typedef int (*key_check_fn)(const struct file_ctx *f, const struct kubelet_key *k, const json_t *v,
                            nl_error *err);

struct kubelet_key {
        const char *key;
        key_check_fn check; /* NULL: any value, listed */
        const char *why;    /* what nodelet does instead, for a refusal */
};

static int list_key(struct nodelet_config *c, const char *key) {
        for (size_t i = 0; i < c->n_ignored_keys; i++)
                if (streq(c->ignored_keys[i], key))
                        return 0;
        return strv_push(&c->ignored_keys, &c->n_ignored_keys, key);
}

static int get_bool(const json_t *v, const char *key, bool *ret, nl_error *err) {
        if (!json_is_boolean(v))
                return nl_error_set(err, -EINVAL, "%s: must be true or false, not %s", key, json_kind(v));
        *ret = json_is_true(v);
        return 0;
}

/* A bool nodelet always behaves as if it were `want`. */
static int want_bool(const struct kubelet_key *k, const json_t *v, bool want, nl_error *err) {
        bool b = false;
        int r = get_bool(v, k->key, &b, err);
        if (r < 0)
                return r;
        if (b != want)
                return nl_error_set(err, -EOPNOTSUPP, "%s: %s is not supported: %s", k->key, b ? "true" : "false",
                                    k->why);
        return 0;
}

static int want_true(const struct file_ctx *f, const struct kubelet_key *k, const json_t *v, nl_error *err) {
        (void) f;
        return want_bool(k, v, true, err);
}

static int want_false(const struct file_ctx *f, const struct kubelet_key *k, const json_t *v, nl_error *err) {
        (void) f;
        return want_bool(k, v, false, err);
}

static int want_zero(const struct file_ctx *f, const struct kubelet_key *k, const json_t *v, nl_error *err) {
        int n = 0;
        int r = get_int(v, k->key, INT_MIN, INT_MAX, &n, err);
        (void) f;
        if (r < 0)
                return r;
        if (n != 0)
                return nl_error_set(err, -EOPNOTSUPP, "%s: %d is not supported: %s", k->key, n, k->why);
        return 0;
}

/* An empty list (or none): what nodelet does. */
static int want_empty_list(const struct file_ctx *f, const struct kubelet_key *k, const json_t *v, nl_error *err) {
        int r = get_list(v, k->key, err);
        (void) f;
        if (r < 0)
                return r;
        if (json_array_size(v) > 0)
                return nl_error_set(err, -EOPNOTSUPP, "%s: not supported: %s", k->key, k->why);
        return 0;
}

/* cgroupRoot: "" and "/" are the kubelet's default, the hierarchy's root that nodelet uses */
static int want_root_cgroup(const struct file_ctx *f, const struct kubelet_key *k, const json_t *v,
                            nl_error *err) {
        const char *s;
        int r = get_string(v, k->key, true, &s, err);
        (void) f;
        if (r < 0)
                return r;
        if (*s && !streq(s, "/"))
                return nl_error_set(err, -EOPNOTSUPP, "%s: \"%s\" is not supported: %s", k->key, s, k->why);
        return 0;
}

/* podLogsDir is nodelet.podLogDir under the kubelet's name */
static int set_pod_logs_dir(const struct file_ctx *f, const struct kubelet_key *k, const json_t *v,
                            nl_error *err) {
        return set_path(f, &f->c->log_dir, v, k->key, false, err);
}

/* A duration that nodelet keeps at the kubelet's default: "0s" (unset, defaulted by the kubelet)
 * or the default itself is honoured; another is listed as not acted on. */
static int fixed_duration(const struct file_ctx *f, const char *key, const json_t *v, int64_t def_ns,
                          nl_error *err) {
        const char *s;
        int64_t ns;
        int r;
        if ((r = get_string(v, key, false, &s, err)) < 0 || (r = config_parse_duration(s, key, &ns, err)) < 0)
                return r;
        if (ns == 0 || ns == def_ns)
                return 0;
        return list_key(f->c, key);
}

#define SEC_NS 1000000000LL

/* authentication: nodelet authenticates as the kubelet's defaults in a cluster (client
 * certificates from x509.clientCAFile, bearer tokens through a TokenReview, no anonymous
 * requests; agent/node-auth.c), caching TokenReviews 2 min. */
static int load_authentication(const struct file_ctx *f, const struct kubelet_key *k, const json_t *v,
                               nl_error *err) {
        const char *sub;
        json_t *e;
        int r;
        if ((r = get_map(v, k->key, err)) < 0)
                return r;
        json_object_foreach((json_t *) v, sub, e) {
                const char *name;
                json_t *x;
                _cleanup_free_ char *full = nl_strdupf("authentication.%s", sub);
                if (!full)
                        return -ENOMEM;
                if (json_is_null(e))
                        continue;
                if (!streq(sub, "anonymous") && !streq(sub, "webhook") && !streq(sub, "x509")) {
                        if (f->c->strict_config)
                                return nl_error_set(err, -EINVAL, "unknown key \"%s\"", full);
                        if ((r = strv_push(&f->c->unknown_keys, &f->c->n_unknown_keys, full)) < 0)
                                return r;
                        continue;
                }
                if ((r = get_map(e, full, err)) < 0)
                        return r;
                json_object_foreach(e, name, x) {
                        _cleanup_free_ char *key = nl_strdupf("%s.%s", full, name);
                        bool b = false;
                        if (!key)
                                return -ENOMEM;
                        if (json_is_null(x))
                                continue;
                        if (streq(key, "authentication.anonymous.enabled")) {
                                if ((r = get_bool(x, key, &b, err)) < 0)
                                        return r;
                                if (b)
                                        return nl_error_set(err, -EOPNOTSUPP,
                                                            "%s: true is not supported: nodelet's node server "
                                                            "never serves anonymous requests",
                                                            key);
                        } else if (streq(key, "authentication.webhook.enabled")) {
                                if ((r = get_bool(x, key, &b, err)) < 0)
                                        return r;
                                if (!b)
                                        return nl_error_set(err, -EOPNOTSUPP,
                                                            "%s: false is not supported: in a cluster nodelet "
                                                            "checks bearer tokens with a TokenReview",
                                                            key);
                        } else if (streq(key, "authentication.webhook.cacheTTL")) {
                                if ((r = fixed_duration(f, key, x, 2 * 60 * SEC_NS, err)) < 0)
                                        return r;
                        } else if (streq(key, "authentication.x509.clientCAFile")) {
                                if ((r = set_path(f, &f->c->client_ca_file, x, key, true, err)) < 0)
                                        return r;
                                if (!*f->c->client_ca_file &&
                                    (r = config_set_str(&f->c->client_ca_file, NULL)) < 0)
                                        return r;
                        } else if (f->c->strict_config)
                                return nl_error_set(err, -EINVAL, "unknown key \"%s\"", key);
                        else if ((r = strv_push(&f->c->unknown_keys, &f->c->n_unknown_keys, key)) < 0)
                                return r;
                }
        }
        return 0;
}

/* authorization: nodelet asks a SubjectAccessReview for every request (mode Webhook, the
 * kubelet's default in a cluster), caching answers 5 min (allowed) and 30 s (denied). */
static int load_authorization(const struct file_ctx *f, const struct kubelet_key *k, const json_t *v,
                              nl_error *err) {
        const char *sub;
        json_t *e;
        int r;
        if ((r = get_map(v, k->key, err)) < 0)
                return r;
        json_object_foreach((json_t *) v, sub, e) {
                _cleanup_free_ char *key = nl_strdupf("authorization.%s", sub);
                if (!key)
                        return -ENOMEM;
                if (json_is_null(e))
                        continue;
                if (streq(sub, "mode")) {
                        const char *mode;
                        if ((r = get_string(e, key, true, &mode, err)) < 0)
                                return r;
                        if (*mode && !streq(mode, "Webhook"))
                                return nl_error_set(err, -EOPNOTSUPP,
                                                    "%s: \"%s\" is not supported: nodelet authorizes every "
                                                    "request with a SubjectAccessReview (\"Webhook\")",
                                                    key, mode);
                } else if (streq(sub, "webhook")) {
                        const char *name;
                        json_t *x;
                        if ((r = get_map(e, key, err)) < 0)
                                return r;
                        json_object_foreach(e, name, x) {
                                _cleanup_free_ char *wk = nl_strdupf("%s.%s", key, name);
                                if (!wk)
                                        return -ENOMEM;
                                if (json_is_null(x))
                                        continue;
                                if (streq(name, "cacheAuthorizedTTL"))
                                        r = fixed_duration(f, wk, x, 5 * 60 * SEC_NS, err);
                                else if (streq(name, "cacheUnauthorizedTTL"))
                                        r = fixed_duration(f, wk, x, 30 * SEC_NS, err);
                                else if (f->c->strict_config)
                                        r = nl_error_set(err, -EINVAL, "unknown key \"%s\"", wk);
                                else
                                        r = strv_push(&f->c->unknown_keys, &f->c->n_unknown_keys, wk);
                                if (r < 0)
                                        return r;
                        }
                } else if (f->c->strict_config)
                        return nl_error_set(err, -EINVAL, "unknown key \"%s\"", key);
                else if ((r = strv_push(&f->c->unknown_keys, &f->c->n_unknown_keys, key)) < 0)
                        return r;
        }
        return 0;
}

/* Every KubeletConfiguration key of k8s.io/kubelet/config/v1beta1 (v1.37) that is not a row of
 * config_settings[]. A row without a check is accepted with any value and listed in the one
 * start-up warning of keys nodelet does not act on; docs/cluster.md says why for each. A row
 * with a check honours the values nodelet behaves as anyway and refuses the others, where
 * ignoring them would weaken what the user asked for (security, isolation) or hide that a
 * feature is off. A key that becomes a nodelet setting gets a row in config_settings[] (found
 * first) and leaves this table. */
static const struct kubelet_key kubelet_keys[] = {
        /* clang-format off */
        { "allowedUnsafeSysctls", want_empty_list,
          "nodelet admits the safe sysctls only (a pod asking for another is rejected with SysctlForbidden)" },
        { "authentication", load_authentication, NULL },
        { "authorization", load_authorization, NULL },
        { "cgroupRoot", want_root_cgroup, "pods go under /kubepods at the hierarchy's root (see cgroupDriver)" },
        { "cgroupsPerQOS", want_true, "nodelet always makes the QoS cgroups (burstable, besteffort)" },
        { "configMapAndSecretChangeDetectionStrategy", NULL, NULL },
        { "containerLogMaxWorkers", NULL, NULL },
        { "containerLogMonitorInterval", NULL, NULL },
        { "containerRuntimeEndpoint", NULL, NULL }, /* nodelet is its own runtime (crun, nodelet-shim) */
        { "contentType", NULL, NULL },
        { "cpuCFSQuota", want_true, "nodelet always sets the CFS quota of cpu limits" },
        { "cpuCFSQuotaPeriod", NULL, NULL },
        { "cpuManagerPolicy", NULL, NULL },
        { "cpuManagerPolicyOptions", NULL, NULL },
        { "cpuManagerReconcilePeriod", NULL, NULL },
        { "crashLoopBackOff", NULL, NULL },
        { "defaultPodSysctls", want_empty_list, "nodelet sets only the sysctls a pod asks for" },
        { "enableContentionProfiling", NULL, NULL },
        { "enableControllerAttachDetach", NULL, NULL },
        { "enableDebugFlagsHandler", NULL, NULL },
        { "enableDebuggingHandlers", want_true,
          "nodelet's node server always serves logs, exec, attach and port-forward" },
        { "enableProfilingHandler", NULL, NULL },
        { "enableSystemLogHandler", NULL, NULL },
        { "enableSystemLogQuery", NULL, NULL },
        { "enforceNodeAllocatable", NULL, NULL },
        { "eventBurst", NULL, NULL },
        { "eventRecordQPS", NULL, NULL },
        { "failCgroupV1", NULL, NULL },
        { "failSwapOn", NULL, NULL },
        { "featureGates", NULL, NULL },
        { "hairpinMode", NULL, NULL },
        { "httpCheckFrequency", NULL, NULL },
        { "imageMaximumGCAge", NULL, NULL },
        { "imageMinimumGCAge", NULL, NULL },
        { "imagePullCredentialsVerificationPolicy", NULL, NULL },
        { "imageServiceEndpoint", NULL, NULL },
        { "iptablesDropBit", NULL, NULL },
        { "iptablesMasqueradeBit", NULL, NULL },
        { "kernelMemcgNotification", NULL, NULL },
        { "kubeAPIBurst", NULL, NULL },
        { "kubeAPIQPS", NULL, NULL },
        { "kubeReservedCgroup", NULL, NULL },
        { "kubeletCgroups", NULL, NULL },
        { "localStorageCapacityIsolation", NULL, NULL },
        { "logging", NULL, NULL },
        { "makeIPTablesUtilChains", NULL, NULL },
        { "maxOpenFiles", NULL, NULL },
        { "maxParallelImagePulls", NULL, NULL },
        { "memoryManagerPolicy", NULL, NULL },
        { "memoryReservationPolicy", NULL, NULL },
        { "memorySwap", NULL, NULL },
        { "memoryThrottlingFactor", NULL, NULL },
        { "mergeDefaultEvictionSettings", NULL, NULL },
        { "nodeStatusMaxImages", NULL, NULL },
        { "oomScoreAdj", NULL, NULL },
        { "podCIDR", NULL, NULL },
        { "podLogsDir", set_pod_logs_dir, NULL },
        { "podPidsLimit", NULL, NULL },
        { "podsPerCore", NULL, NULL },
        { "preloadedImagesVerificationAllowlist", NULL, NULL },
        { "protectKernelDefaults", want_false, "nodelet does not check the kernel's tunables" },
        { "providerID", NULL, NULL },
        { "qosReserved", NULL, NULL },
        { "readOnlyPort", want_zero, "nodelet serves no unauthenticated read-only port" },
        { "registryBurst", NULL, NULL },
        { "registryPullQPS", NULL, NULL },
        { "reservedMemory", NULL, NULL },
        { "reservedSystemCPUs", NULL, NULL },
        { "runOnce", want_false, "nodelet runs as a daemon" },
        { "runtimeRequestTimeout", NULL, NULL },
        { "seccompDefault", want_false,
          "nodelet runs a pod without a seccomp profile Unconfined, as the kubelet's default" },
        { "serializeImagePulls", NULL, NULL },
        { "showHiddenMetricsForVersion", NULL, NULL },
        { "singleProcessOOMKill", NULL, NULL },
        { "systemCgroups", NULL, NULL },
        { "systemReservedCgroup", NULL, NULL },
        { "tlsCipherSuites", NULL, NULL },
        { "tlsCurvePreferences", NULL, NULL },
        { "tlsMinVersion", NULL, NULL },
        { "topologyManagerPolicy", NULL, NULL },
        { "topologyManagerPolicyOptions", NULL, NULL },
        { "topologyManagerScope", NULL, NULL },
        { "tracing", NULL, NULL },
        { "volumePluginDir", NULL, NULL },
        { "volumeStatsAggPeriod", NULL, NULL },
        /* clang-format on */
};

static const struct kubelet_key *kubelet_key_by_name(const char *key) {
        for (size_t i = 0; i < ELEMENTSOF(kubelet_keys); i++)
                if (streq(kubelet_keys[i].key, key))
                        return &kubelet_keys[i];
        return NULL;
}

static int load_kubelet_key(const struct file_ctx *f, const struct kubelet_key *k, const json_t *v,
                            nl_error *err) {
        int r = k->check ? k->check(f, k, v, err) : 1;
        if (r < 0)
                return r;
        return r > 0 ? list_key(f->c, k->key) : 0;
}

/* A key neither the kubelet's nor nodelet's: an error under --strict-config, else warned (the
 * kubelet too decodes its file leniently after a strict attempt, and logs what it dropped). */
static int unknown_key(const struct file_ctx *f, const char *key, nl_error *err) {
        if (f->c->strict_config)
                return nl_error_set(err, -EINVAL, "unknown key \"%s\"", key);
        return strv_push(&f->c->unknown_keys, &f->c->n_unknown_keys, key);
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

/* registerWithTaints: [{key, value, effect}], the Node's taints at registration */
static int load_taints(struct nodelet_config *c, const char *key, const json_t *v, nl_error *err) {
        struct strv t = {};
        size_t i;
        json_t *e;
        int r = get_list(v, key, err);
        if (r < 0)
                return r;
        json_array_foreach(v, i, e) {
                _cleanup_free_ char *item = nl_strdupf("%s[%zu]", key, i), *spec = NULL;
                const char *k = NULL, *val = "", *effect = NULL, *name;
                json_t *x;
                if (!item) {
                        r = -ENOMEM;
                        break;
                }
                if ((r = get_map(e, item, err)) < 0)
                        break;
                json_object_foreach(e, name, x) {
                        _cleanup_free_ char *sub = nl_strdupf("%s.%s", item, name);
                        if (!sub)
                                r = -ENOMEM;
                        else if (streq(name, "key"))
                                r = get_string(x, sub, false, &k, err);
                        else if (streq(name, "value"))
                                r = get_string(x, sub, true, &val, err);
                        else if (streq(name, "effect"))
                                r = get_string(x, sub, false, &effect, err);
                        else if (!streq(name, "timeAdded"))
                                r = nl_error_set(err, -EINVAL, "%s: unknown key", sub);
                        if (r < 0)
                                break;
                }
                if (r < 0)
                        break;
                if (!k || !effect) {
                        r = nl_error_set(err, -EINVAL, "%s: a taint needs a key and an effect", item);
                        break;
                }
                if (!(spec = nl_strdupf("%s%s%s:%s", k, *val ? "=" : "", val, effect))) {
                        r = -ENOMEM;
                        break;
                }
                if ((r = config_taint_add(&t.v, &t.n, spec, item, err)) < 0)
                        break;
        }
        if (r < 0) {
                strv_done(&t);
                return r;
        }
        strv_free_n(c->register_taints, c->n_register_taints);
        c->register_taints = t.v;
        c->n_register_taints = t.n;
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
                        return config_parse_nonneg_period(str, key, FIELD_PTR(c, s, usec_t), err);
                /* "0s" is the kubelet's unset duration: its defaulting (v1beta1
                 * SetDefaults_KubeletConfiguration) gives the default, and kubeadm writes "0s"
                 * for every duration it leaves to the kubelet */
                int64_t ns;
                if (config_parse_duration(str, key, &ns, NULL) == 0 && ns == 0)
                        return 0;
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
                return config_set_cgroup_driver(c, str, key, err);
        case S_TAINTS:
                return load_taints(c, key, v, err);
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
        case S_STRICT:
        case S_IGNORED:
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
                                r = unknown_key(f, full, err);
                        else
                                r = apply_file_value(f, s, full, e, err);
                        if (r < 0)
                                return r;
                }
                return 0;
        }
        if (!strchr(key, '.') && (s = setting_by_key(key)))
                return apply_file_value(f, s, key, v, err);
        const struct kubelet_key *k = kubelet_key_by_name(key);
        if (k)
                return load_kubelet_key(f, k, v, err);
        return unknown_key(f, key, err);
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

