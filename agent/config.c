/* SPDX-License-Identifier: Apache-2.0 */
/* nodelet run's configuration: built-in defaults, then a KubeletConfiguration-shaped YAML file
 * (--config), then the command-line flags, each overriding the one before, as the kubelet does. */
#include <arpa/inet.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>

#include "config.h"
#include "common/fs.h"
#include "common/strv.h"
#include "podspec/podspec.h"
#include "cri/layout.h"

#define CONFIG_MAX_BYTES (1024u * 1024u) /* a config file; the kubelet's are a few KiB */
#define CONFIG_MAX_LIST 64               /* entries in any list or map of the file or of a flag */
#define CONFIG_MAX_PODS 1000
#define CONFIG_MAX_LOG_FILES 1000
#define CONFIG_MAX_VERBOSITY 100

#define KUBELET_API_VERSION "kubelet.config.k8s.io/v1beta1"
#define KUBELET_KIND "KubeletConfiguration"

/* ---- small helpers ----------------------------------------------------------------------- */

static int set_str(char **field, const char *v) {
        char *n = NULL;
        if (v && !(n = strdup(v)))
                return -ENOMEM;
        free(*field);
        *field = n;
        return 0;
}

/* At most CONFIG_MAX_LIST entries in any list. */
static int list_push_n(char ***v, size_t *n, const char *s, size_t len) {
        if (*n >= CONFIG_MAX_LIST)
                return -E2BIG;
        return strv_push_n(v, n, s, len);
}

/* "a,b,,c" -> push a, b, c (the kubelet's string-slice flags take comma-separated lists). */
static int strv_push_split(char ***v, size_t *n, const char *s) {
        for (const char *p = s; *p;) {
                size_t len = strcspn(p, ",");
                if (len > 0) {
                        int r = list_push_n(v, n, p, len);
                        if (r < 0)
                                return r;
                }
                p += len;
                if (*p == ',')
                        p++;
        }
        return 0;
}

static bool is_ip_address(const char *s) {
        unsigned char buf[sizeof(struct in6_addr)];
        return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* As the kubelet's GetHostname: trimmed and lowercased. */
static char *node_name_normalize(const char *s) {
        while (*s == ' ' || *s == '\t' || *s == '\n')
                s++;
        size_t n = strlen(s);
        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n'))
                n--;
        char *r = strndup(s, n);
        for (char *p = r; p && *p; p++)
                if (*p >= 'A' && *p <= 'Z')
                        *p = (char) (*p - 'A' + 'a');
        return r;
}

static int check_node_name(const char *name, const char *what, nl_error *err) {
        if (isempty(name))
                return nl_error_set(err, -EINVAL, "%s is empty", what);
        if (!podspec_is_dns1123_subdomain(name))
                return nl_error_set(
                        err, -EINVAL,
                        "%s \"%s\" is not a DNS-1123 subdomain (lowercase letters, digits, '-' and '.', "
                        "at most 253 characters)",
                        what, name);
        return 0;
}

static int check_runtime(const char *v, const char *what, nl_error *err) {
        if (streq(v, "crun") || streq(v, "runc") || strchr(v, '/'))
                return 0;
        return nl_error_set(err, -EINVAL, "%s: \"%s\" is not crun, runc or a path to one of them", what, v);
}

static int check_mirror_url(const char *url, const char *what, nl_error *err) {
        if (strncmp(url, "https://", 8) == 0 || strncmp(url, "http://", 7) == 0)
                return 0;
        return nl_error_set(err, -EINVAL, "%s: mirror \"%s\" must be an http:// or https:// URL", what, url);
}

/* ---- Go durations ------------------------------------------------------------------------ */

/* Go's time package quote(): bytes outside printable ASCII as \xHH, '"' and '\' escaped. */
static void go_quote(nl_buf *b, const char *s) {
        nl_buf_puts(b, "\"");
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                if (*p >= 0x80 || *p < ' ')
                        nl_buf_printf(b, "\\x%02x", *p);
                else {
                        if (*p == '"' || *p == '\\')
                                nl_buf_puts(b, "\\");
                        nl_buf_append(b, (const char *) p, 1);
                }
        }
        nl_buf_puts(b, "\"");
}

static int duration_error(char **ret_error, const char *what, const char *unit, const char *orig) {
        nl_buf b = {};
        nl_buf_printf(&b, "time: %s", what);
        if (unit) {
                nl_buf_puts(&b, " ");
                go_quote(&b, unit);
                nl_buf_puts(&b, " in duration");
        }
        nl_buf_puts(&b, " ");
        go_quote(&b, orig);
        *ret_error = nl_buf_steal(&b);
        return *ret_error ? -EINVAL : -ENOMEM;
}

static const struct {
        const char *name;
        uint64_t ns;
} duration_units[] = {
        /* clang-format off */
        { "ns", 1ULL },
        { "us", 1000ULL },
        { "\xc2\xb5s", 1000ULL }, /* U+00B5 micro sign */
        { "\xce\xbcs", 1000ULL }, /* U+03BC Greek small letter mu */
        { "ms", 1000000ULL },
        { "s", 1000000000ULL },
        { "m", 60000000000ULL },
        { "h", 3600000000000ULL },
        /* clang-format on */
};

/* time.ParseDuration, step for step: [-+]?([0-9]*(\.[0-9]*)?[a-z]+)+ or "0", in nanoseconds,
 * with Go's error texts ("time: invalid duration \"x\"", "time: missing unit in duration
 * \"1\"", "time: unknown unit \"d\" in duration \"1d\""). */
static int go_duration_parse(const char *orig, int64_t *ret_ns, char **ret_error) {
        const uint64_t max = 1ULL << 63;
        const char *s = orig;
        uint64_t d = 0;
        bool neg = false;

        if (*s == '-' || *s == '+') {
                neg = *s == '-';
                s++;
        }
        if (streq(s, "0")) {
                *ret_ns = 0;
                return 0;
        }
        if (!*s)
                return duration_error(ret_error, "invalid duration", NULL, orig);
        while (*s) {
                uint64_t v = 0, f = 0;
                double scale = 1;

                if (!(*s == '.' || (*s >= '0' && *s <= '9')))
                        return duration_error(ret_error, "invalid duration", NULL, orig);
                /* leadingInt */
                const char *start = s;
                for (; *s >= '0' && *s <= '9'; s++) {
                        if (v > max / 10)
                                return duration_error(ret_error, "invalid duration", NULL, orig);
                        v = v * 10 + (uint64_t) (*s - '0');
                        if (v > max)
                                return duration_error(ret_error, "invalid duration", NULL, orig);
                }
                bool pre = s != start, post = false;
                /* leadingFraction: digits past int64's precision are dropped, not an error */
                if (*s == '.') {
                        s++;
                        const char *fstart = s;
                        bool overflow = false;
                        for (; *s >= '0' && *s <= '9'; s++) {
                                if (overflow)
                                        continue;
                                if (f > (max - 1) / 10) {
                                        overflow = true;
                                        continue;
                                }
                                uint64_t y = f * 10 + (uint64_t) (*s - '0');
                                if (y > max) {
                                        overflow = true;
                                        continue;
                                }
                                f = y;
                                scale *= 10;
                        }
                        post = s != fstart;
                }
                if (!pre && !post)
                        return duration_error(ret_error, "invalid duration", NULL, orig);

                size_t ulen = 0;
                while (s[ulen] && s[ulen] != '.' && !(s[ulen] >= '0' && s[ulen] <= '9'))
                        ulen++;
                if (ulen == 0)
                        return duration_error(ret_error, "missing unit in duration", NULL, orig);
                uint64_t unit = 0;
                for (size_t i = 0; i < ELEMENTSOF(duration_units); i++)
                        if (strlen(duration_units[i].name) == ulen &&
                            strncmp(s, duration_units[i].name, ulen) == 0)
                                unit = duration_units[i].ns;
                if (unit == 0) {
                        _cleanup_free_ char *u = strndup(s, ulen);
                        if (!u)
                                return -ENOMEM;
                        return duration_error(ret_error, "unknown unit", u, orig);
                }
                s += ulen;

                if (v > max / unit)
                        return duration_error(ret_error, "invalid duration", NULL, orig);
                v *= unit;
                if (f > 0) {
                        /* a double, as Go, to be nanosecond-exact for fractions of hours */
                        v += (uint64_t) ((double) f * ((double) unit / scale));
                        if (v > max)
                                return duration_error(ret_error, "invalid duration", NULL, orig);
                }
                d += v;
                if (d > max)
                        return duration_error(ret_error, "invalid duration", NULL, orig);
        }
        if (neg) {
                *ret_ns = d == max ? INT64_MIN : -(int64_t) d;
                return 0;
        }
        if (d > max - 1)
                return duration_error(ret_error, "invalid duration", NULL, orig);
        *ret_ns = (int64_t) d;
        return 0;
}

/* A period nodelet runs on a timer: a Go duration that must be positive. */
static int parse_period(const char *s, const char *what, usec_t *ret, nl_error *err) {
        _cleanup_free_ char *msg = NULL;
        int64_t ns;
        int r = go_duration_parse(s, &ns, &msg);
        if (r == -ENOMEM)
                return nl_error_set(err, r, "out of memory");
        if (r < 0)
                return nl_error_set(err, r, "%s: %s", what, msg);
        if (ns <= 0)
                return nl_error_set(err, -EINVAL, "%s: \"%s\" must be a positive duration such as \"20s\"",
                                    what, s);
        *ret = (usec_t) (ns / 1000 + (ns % 1000 != 0)); /* rounded up: "1ns" is no zero period */
        return 0;
}

static int parse_log_max_size(const char *s, const char *what, int64_t *ret, nl_error *err) {
        pod_quantity q;
        int r = pod_quantity_parse(s, &q);
        if (r < 0)
                return nl_error_set(err, -EINVAL, "%s: \"%s\" is not a quantity such as \"10Mi\"%s", what, s,
                                    r == -ERANGE ? " (out of range)" : "");
        if (pod_quantity_is_negative(&q) || pod_quantity_is_zero(&q))
                return nl_error_set(err, -EINVAL, "%s: \"%s\" must be greater than zero", what, s);
        int64_t v = pod_quantity_value(&q);
        if (v == INT64_MAX)
                return nl_error_set(err, -ERANGE, "%s: \"%s\" is too large", what, s);
        *ret = v;
        return 0;
}

/* The kubelet's checks (pkg/kubelet/apis/config/validation), with its wording. */
static int check_values(const struct nodelet_config *c, nl_error *err) {
        if (c->image_gc_high_threshold < 0 || c->image_gc_high_threshold > 100)
                return nl_error_set(
                        err, -EINVAL,
                        "imageGCHighThresholdPercent (--image-gc-high-threshold) %d must be between 0 "
                        "and 100, inclusive",
                        c->image_gc_high_threshold);
        if (c->image_gc_low_threshold < 0 || c->image_gc_low_threshold > 100)
                return nl_error_set(
                        err, -EINVAL,
                        "imageGCLowThresholdPercent (--image-gc-low-threshold) %d must be between 0 "
                        "and 100, inclusive",
                        c->image_gc_low_threshold);
        if (c->image_gc_low_threshold >= c->image_gc_high_threshold)
                return nl_error_set(
                        err, -EINVAL,
                        "imageGCLowThresholdPercent (--image-gc-low-threshold) %d must be less than "
                        "imageGCHighThresholdPercent (--image-gc-high-threshold) %d",
                        c->image_gc_low_threshold, c->image_gc_high_threshold);
        if (c->container_log_max_files < 2)
                return nl_error_set(
                        err, -EINVAL,
                        "containerLogMaxFiles (--container-log-max-files) %d must be greater than 1",
                        c->container_log_max_files);
        return 0;
}

/* What follows from other settings, and what an allocation failure left unset. */
static int config_finish(struct nodelet_config *c, nl_error *err) {
        free(c->seccomp_root);
        c->seccomp_root = c->root_dir ? layout_seccomp_dir(c->root_dir) : NULL;
        if (!c->node_name || !c->root_dir || !c->run_dir || !c->log_dir || !c->containers_log_dir ||
            !c->runtime_path || !c->shim_path || !c->cni_conf_dir || !c->cni_bin_dirs || !c->seccomp_root ||
            !c->cluster_domain || !c->resolv_conf)
                return nl_error_set(err, -ENOMEM, "configuration: out of memory");
        return 0;
}

/* ---- defaults ---------------------------------------------------------------------------- */

static char *default_shim_path(void) {
        char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (n <= 0 || (size_t) n >= sizeof(exe) - 1)
                return strdup("nodelet-shim"); /* then found on PATH */
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (!slash)
                return strdup("nodelet-shim");
        *slash = '\0';
        return nl_strdupf("%s/nodelet-shim", exe);
}

static char *default_node_name(void) {
        char host[HOST_NAME_MAX + 1] = {};
        if (gethostname(host, sizeof(host) - 1) < 0)
                return strdup("localhost");
        return node_name_normalize(host);
}

void config_init_defaults(struct nodelet_config *c) {
        *c = (struct nodelet_config){
                .node_name = default_node_name(),
                .root_dir = strdup("/var/lib/nodelet"),
                .run_dir = strdup("/run/nodelet"),
                .log_dir = strdup("/var/log/pods"),
                .containers_log_dir = strdup("/var/log/containers"),
                .file_check_frequency = 20 * USEC_PER_SEC,
                .sync_frequency = 60 * USEC_PER_SEC,
                .runtime_path = strdup("crun"),
                .shim_path = default_shim_path(),
                .cni_conf_dir = strdup("/etc/cni/net.d"),
                .max_pods = 110,
                .userns_ids_per_pod = 65536,
                .container_log_max_size = 10 * 1024 * 1024,
                .container_log_max_files = 5,
                .cluster_domain = strdup("cluster.local"),
                .resolv_conf = strdup("/etc/resolv.conf"),
                .image_gc_high_threshold = 85,
                .image_gc_low_threshold = 80,
                .registry = {.max_parallel_blobs = 4, .retries = 3},
                .register_node = true,
                .node_status_update_frequency = 10 * USEC_PER_SEC,
                .node_status_report_frequency = 300 * USEC_PER_SEC,
                .node_lease_duration_seconds = 40,
                .port = 10250,
                .healthz_port = 10248,
                .healthz_bind_address = strdup("127.0.0.1"),
                .address = strdup("0.0.0.0"),
        };
        /* Debian's containernetworking-plugins, then the upstream tarball's location. */
        if (strv_push(&c->cni_bin_dirs, &c->n_cni_bin_dirs, "/usr/lib/cni") < 0 ||
            strv_push(&c->cni_bin_dirs, &c->n_cni_bin_dirs, "/opt/cni/bin") < 0) {
                strv_free_n(c->cni_bin_dirs, c->n_cni_bin_dirs);
                c->cni_bin_dirs = NULL;
                c->n_cni_bin_dirs = 0;
        }
        (void) config_finish(c, NULL); /* a NULL left by an allocation failure is caught later */
}

void config_done(struct nodelet_config *c) {
        if (!c)
                return;
        free(c->config_file);
        free(c->node_name);
        free(c->root_dir);
        free(c->run_dir);
        free(c->log_dir);
        free(c->containers_log_dir);
        free(c->pod_manifest_path);
        free(c->runtime_path);
        free(c->shim_path);
        free(c->cni_conf_dir);
        strv_free_n(c->cni_bin_dirs, c->n_cni_bin_dirs);
        free(c->seccomp_root);
        free(c->cluster_dns);
        free(c->cluster_domain);
        free(c->resolv_conf);
        registry_config_done(&c->registry);
        free(c->kubeconfig);
        free(c->node_ip);
        strv_free_n(c->node_labels, c->n_node_labels);
        free(c->healthz_bind_address);
        free(c->address);
        free(c->tls_cert_file);
        free(c->tls_private_key_file);
        free(c->client_ca_file);
        *c = (struct nodelet_config){};
}

void config_to_cri(const struct nodelet_config *c, struct cri_config *ret) {
        *ret = (struct cri_config){
                .root_dir = c->root_dir,
                .run_dir = c->run_dir,
                .log_dir = c->log_dir,
                .containers_log_dir = c->containers_log_dir,
                .runtime_path = c->runtime_path,
                .shim_path = c->shim_path,
                .cni_conf_dir = c->cni_conf_dir,
                .cni_bin_dirs = c->cni_bin_dirs,
                .n_cni_bin_dirs = c->n_cni_bin_dirs,
                .seccomp_root = c->seccomp_root,
                .node_name = c->node_name,
                .resolv_conf = c->resolv_conf,
                .cluster_dns = c->cluster_dns,
                .cluster_domain = c->cluster_domain,
                .log_max_size = c->container_log_max_size,
                .log_max_files = c->container_log_max_files,
        };
}

/* ---- the file ---------------------------------------------------------------------------- */

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

static int get_list(const json_t *v, const char *key, nl_error *err) {
        if (!json_is_array(v))
                return nl_error_set(err, -EINVAL, "%s: must be a list, not %s", key, json_kind(v));
        if (json_array_size(v) > CONFIG_MAX_LIST)
                return nl_error_set(err, -E2BIG, "%s: more than %d entries", key, CONFIG_MAX_LIST);
        return 0;
}

static int get_map(const json_t *v, const char *key, nl_error *err) {
        if (!json_is_object(v))
                return nl_error_set(err, -EINVAL, "%s: must be a map, not %s", key, json_kind(v));
        if (json_object_size(v) > CONFIG_MAX_LIST)
                return nl_error_set(err, -E2BIG, "%s: more than %d entries", key, CONFIG_MAX_LIST);
        return 0;
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
        return set_str(field, abs ? abs : s);
}

static int set_path_list(const struct file_ctx *f, char ***v, size_t *n, const json_t *j, const char *key,
                         nl_error *err) {
        char **nv = NULL;
        size_t nn = 0;
        size_t i;
        json_t *e;
        int r = get_list(j, key, err);
        if (r < 0)
                return r;
        json_array_foreach(j, i, e) {
                _cleanup_free_ char *item_key = nl_strdupf("%s[%zu]", key, i);
                _cleanup_free_ char *p = NULL;
                if (!item_key || (r = set_path(f, &p, e, item_key, false, err)) < 0 ||
                    (r = list_push_n(&nv, &nn, p, strlen(p))) < 0) {
                        strv_free_n(nv, nn);
                        return r < 0 ? r : -ENOMEM;
                }
        }
        strv_free_n(*v, *n);
        *v = nv;
        *n = nn;
        return 0;
}

/* The kubelet's keys that nodelet does not implement: refused, so a setting never silently
 * does nothing. */
static const char *const unsupported_keys[] = {
        /* clang-format off */
        "address", "allowedUnsafeSysctls", "authentication", "authorization", "cgroupRoot", "cgroupsPerQOS",
        "configMapAndSecretChangeDetectionStrategy", "containerLogMaxWorkers",
        "containerLogMonitorInterval", "containerRuntimeEndpoint", "cpuCFSQuota", "cpuCFSQuotaPeriod",
        "cpuManagerPolicy", "cpuManagerPolicyOptions", "cpuManagerReconcilePeriod", "crashLoopBackOff",
        "enableControllerAttachDetach", "enableContentionProfiling", "enableDebugFlagsHandler",
        "enableDebuggingHandlers", "enableProfilingHandler", "enableServer", "enableSystemLogHandler",
        "enableSystemLogQuery", "enforceNodeAllocatable", "eventBurst", "eventRecordQPS", "evictionHard",
        "evictionMaxPodGracePeriod", "evictionMinimumReclaim", "evictionPressureTransitionPeriod",
        "evictionSoft", "evictionSoftGracePeriod", "failSwapOn", "featureGates", "hairpinMode",
        "healthzBindAddress", "healthzPort", "imageMaximumGCAge", "imageMinimumGCAge",
        "imageServiceEndpoint", "iptablesDropBit", "iptablesMasqueradeBit", "kernelMemcgNotification",
        "kubeAPIBurst", "kubeAPIQPS", "kubeReserved", "kubeReservedCgroup", "kubeletCgroups",
        "localStorageCapacityIsolation", "logging", "makeIPTablesUtilChains", "maxOpenFiles",
        "maxParallelImagePulls", "memoryManagerPolicy", "memorySwap", "memoryThrottlingFactor",
        "nodeLeaseDurationSeconds", "nodeStatusMaxImages", "nodeStatusReportFrequency",
        "nodeStatusUpdateFrequency", "oomScoreAdj", "podCIDR", "podPidsLimit", "podsPerCore", "port",
        "protectKernelDefaults", "providerID", "qosReserved", "readOnlyPort", "registerNode",
        "registerWithTaints", "registryBurst", "registryPullQPS", "reservedMemory", "reservedSystemCPUs",
        "rotateCertificates", "runtimeRequestTimeout", "seccompDefault", "serializeImagePulls",
        "serverTLSBootstrap", "shutdownGracePeriod", "shutdownGracePeriodByPodPriority",
        "shutdownGracePeriodCriticalPods", "singleProcessOOMKill", "staticPodURL", "staticPodURLHeader",
        "streamingConnectionIdleTimeout", "systemCgroups", "systemReserved", "systemReservedCgroup",
        "tlsCertFile", "tlsCipherSuites", "tlsMinVersion", "tlsPrivateKeyFile", "topologyManagerPolicy",
        "topologyManagerPolicyOptions", "topologyManagerScope", "tracing",
        "volumePluginDir", "volumeStatsAggPeriod",
        /* clang-format on */
};

static bool is_unsupported_key(const char *key) {
        for (size_t i = 0; i < ELEMENTSOF(unsupported_keys); i++)
                if (streq(unsupported_keys[i], key))
                        return true;
        return false;
}

static int load_registry_cas(struct nodelet_config *c, const struct file_ctx *f, const json_t *v,
                             nl_error *err) {
        const char *host;
        json_t *file;
        int r = get_map(v, "nodelet.registryCAs", err);
        if (r < 0)
                return r;
        json_object_foreach((json_t *) v, host, file) {
                _cleanup_free_ char *key = nl_strdupf("nodelet.registryCAs[\"%s\"]", host);
                _cleanup_free_ char *path = NULL, *arg = NULL;
                if (!key)
                        return -ENOMEM;
                if (!*host)
                        return nl_error_set(err, -EINVAL, "%s: the registry host is empty", key);
                if ((r = set_path(f, &path, file, key, false, err)) < 0)
                        return r;
                if (!(arg = nl_strdupf("%s=%s", host, path)))
                        return -ENOMEM;
                if ((r = registry_config_add(&c->registry, "ca", arg, err)) < 0)
                        return r;
        }
        return 0;
}

static int load_registry_mirrors(struct nodelet_config *c, const json_t *v, nl_error *err) {
        const char *host;
        json_t *urls;
        int r = get_map(v, "nodelet.registryMirrors", err);
        if (r < 0)
                return r;
        json_object_foreach((json_t *) v, host, urls) {
                _cleanup_free_ char *key = nl_strdupf("nodelet.registryMirrors[\"%s\"]", host);
                if (!key)
                        return -ENOMEM;
                if (!*host)
                        return nl_error_set(err, -EINVAL, "%s: the registry host is empty", key);
                if ((r = get_list(urls, key, err)) < 0)
                        return r;
                size_t i;
                json_t *u;
                json_array_foreach(urls, i, u) {
                        const char *url;
                        _cleanup_free_ char *arg = NULL;
                        if ((r = get_string(u, key, false, &url, err)) < 0 ||
                            (r = check_mirror_url(url, key, err)) < 0)
                                return r;
                        if (!(arg = nl_strdupf("%s=%s", host, url)))
                                return -ENOMEM;
                        if ((r = registry_config_add(&c->registry, "mirror", arg, err)) < 0)
                                return r;
                }
        }
        return 0;
}

static int load_nodelet_key(const struct file_ctx *f, const char *key, const json_t *v, nl_error *err) {
        struct nodelet_config *c = f->c;
        _cleanup_free_ char *full = nl_strdupf("nodelet.%s", key);
        const char *s;
        int r;

        if (!full)
                return -ENOMEM;
        if (streq(key, "rootDir"))
                return set_path(f, &c->root_dir, v, full, false, err);
        if (streq(key, "runDir"))
                return set_path(f, &c->run_dir, v, full, false, err);
        if (streq(key, "podLogDir"))
                return set_path(f, &c->log_dir, v, full, false, err);
        if (streq(key, "cniConfDir"))
                return set_path(f, &c->cni_conf_dir, v, full, false, err);
        if (streq(key, "cniBinDirs"))
                return set_path_list(f, &c->cni_bin_dirs, &c->n_cni_bin_dirs, v, full, err);
        if (streq(key, "authFile"))
                return set_path(f, &c->registry.auth_file, v, full, false, err);
        if (streq(key, "containerRuntime")) {
                if ((r = get_string(v, full, false, &s, err)) < 0 || (r = check_runtime(s, full, err)) < 0)
                        return r;
                /* a relative path is the file's; a bare name is looked up on PATH */
                return strchr(s, '/') ? set_path(f, &c->runtime_path, v, full, false, err)
                                      : set_str(&c->runtime_path, s);
        }
        if (streq(key, "insecureRegistries")) {
                if ((r = get_list(v, full, err)) < 0)
                        return r;
                size_t i;
                json_t *e;
                json_array_foreach(v, i, e) {
                        _cleanup_free_ char *item = nl_strdupf("%s[%zu]", full, i);
                        if (!item)
                                return -ENOMEM;
                        if ((r = get_string(e, item, false, &s, err)) < 0 ||
                            (r = registry_config_add(&c->registry, "insecure", s, err)) < 0)
                                return r;
                }
                return 0;
        }
        if (streq(key, "registryCAs"))
                return load_registry_cas(c, f, v, err);
        if (streq(key, "registryMirrors"))
                return load_registry_mirrors(c, v, err);
        return nl_error_set(err, -EINVAL, "unknown key \"%s\"", full);
}

static int load_key(const struct file_ctx *f, const char *key, const json_t *v, nl_error *err) {
        struct nodelet_config *c = f->c;
        const char *s;
        int r;

        if (streq(key, "apiVersion") || streq(key, "kind"))
                return 0; /* checked by the caller */
        if (streq(key, "staticPodPath")) {
                r = set_path(f, &c->pod_manifest_path, v, key, true, err);
                if (r >= 0 && c->pod_manifest_path && !*c->pod_manifest_path) /* "": no static pods */
                        r = set_str(&c->pod_manifest_path, NULL);
                return r;
        }
        if (streq(key, "fileCheckFrequency") || streq(key, "syncFrequency")) {
                if ((r = get_string(v, key, true, &s, err)) < 0)
                        return nl_error_set(err, -EINVAL,
                                            "%s: must be a duration string such as \"20s\", not %s", key,
                                            json_kind(v));
                return parse_period(
                        s, key, streq(key, "syncFrequency") ? &c->sync_frequency : &c->file_check_frequency,
                        err);
        }
        if (streq(key, "maxPods"))
                return get_int(v, key, 1, CONFIG_MAX_PODS, &c->max_pods, err);
        if (streq(key, "userNamespaces")) {
                /* {idsPerPod: N}: IDs per pod with hostUsers: false, a multiple of 65536 (the
                 * kubelet's validation) */
                if ((r = get_map(v, key, err)) < 0)
                        return r;
                const char *k;
                json_t *x;
                json_object_foreach((json_t *) v, k, x) {
                        if (!streq(k, "idsPerPod"))
                                return nl_error_set(err, -EINVAL, "userNamespaces.%s: unknown key", k);
                        if (!json_is_integer(x) || json_integer_value(x) < 65536 ||
                            json_integer_value(x) > (json_int_t) 1 << 31 || json_integer_value(x) % 65536 != 0)
                                return nl_error_set(err, -EINVAL,
                                                    "userNamespaces.idsPerPod: must be a multiple of 65536, at least 65536");
                        c->userns_ids_per_pod = (uint32_t) json_integer_value(x);
                }
                return 0;
        }
        if (streq(key, "nodeStatusUpdateFrequency") || streq(key, "nodeStatusReportFrequency")) {
                if ((r = get_string(v, key, false, &s, err)) < 0)
                        return r;
                return parse_period(s, key,
                                    streq(key, "nodeStatusUpdateFrequency") ? &c->node_status_update_frequency
                                                                            : &c->node_status_report_frequency,
                                    err);
        }
        if (streq(key, "nodeLeaseDurationSeconds"))
                return get_int(v, key, 1, 3600, &c->node_lease_duration_seconds, err);
        if (streq(key, "port"))
                return get_int(v, key, 0, 65535, &c->port, err);
        if (streq(key, "healthzPort"))
                return get_int(v, key, 0, 65535, &c->healthz_port, err);
        if (streq(key, "registerNode")) {
                if (!json_is_boolean(v))
                        return nl_error_set(err, -EINVAL, "%s: must be true or false, not %s", key, json_kind(v));
                c->register_node = json_is_true(v);
                return 0;
        }
        if (streq(key, "tlsCertFile"))
                return set_path(f, &c->tls_cert_file, v, key, false, err);
        if (streq(key, "tlsPrivateKeyFile"))
                return set_path(f, &c->tls_private_key_file, v, key, false, err);
        if (streq(key, "healthzBindAddress") || streq(key, "address")) {
                if ((r = get_string(v, key, false, &s, err)) < 0)
                        return r;
                if (!is_ip_address(s))
                        return nl_error_set(err, -EINVAL, "%s: \"%s\" is not a valid IP address", key, s);
                return set_str(streq(key, "address") ? &c->address : &c->healthz_bind_address, s);
        }
        if (streq(key, "containerLogMaxSize")) {
                if ((r = get_string(v, key, false, &s, err)) < 0)
                        return r;
                return parse_log_max_size(s, key, &c->container_log_max_size, err);
        }
        if (streq(key, "containerLogMaxFiles")) {
                /* the kubelet requires more than one: the current file and a rotated one */
                return get_int(v, key, 2, CONFIG_MAX_LOG_FILES, &c->container_log_max_files, err);
        }
        if (streq(key, "clusterDNS")) {
                _cleanup_(freep) char **ips = NULL; /* the strings belong to the JSON tree */
                size_t n = 0, i;
                json_t *e;
                if ((r = get_list(v, key, err)) < 0)
                        return r;
                json_array_foreach(v, i, e) {
                        _cleanup_free_ char *item = nl_strdupf("%s[%zu]", key, i);
                        if (!item)
                                return -ENOMEM;
                        if ((r = get_string(e, item, false, &s, err)) < 0)
                                return r;
                        if (!is_ip_address(s))
                                return nl_error_set(err, -EINVAL, "%s: \"%s\" is not a valid IP address",
                                                    item, s);
                        char **nv = reallocarray(ips, n + 1, sizeof(char *));
                        if (!nv)
                                return -ENOMEM;
                        ips = nv;
                        ips[n++] = (char *) s;
                }
                /* All of them, as the kubelet writes every clusterDNS entry as a nameserver; the cri
                 * layer takes the comma-separated list. */
                _cleanup_free_ char *joined = n ? strv_join(ips, n, ",") : NULL;
                if (n && !joined)
                        return -ENOMEM;
                free(c->cluster_dns);
                c->cluster_dns = TAKE_PTR(joined);
                return 0;
        }
        if (streq(key, "clusterDomain")) {
                if ((r = get_string(v, key, true, &s, err)) < 0)
                        return r;
                if (*s && !podspec_is_dns1123_subdomain(s))
                        return nl_error_set(err, -EINVAL, "%s: \"%s\" is not a DNS-1123 subdomain", key, s);
                return set_str(&c->cluster_domain, s);
        }
        if (streq(key, "resolvConf"))
                return set_path(f, &c->resolv_conf, v, key, true, err); /* "": no host resolv.conf */
        if (streq(key, "imageGCHighThresholdPercent"))
                return get_int(v, key, 0, 100, &c->image_gc_high_threshold, err);
        if (streq(key, "imageGCLowThresholdPercent"))
                return get_int(v, key, 0, 100, &c->image_gc_low_threshold, err);
        if (streq(key, "cgroupDriver")) {
                if ((r = get_string(v, key, false, &s, err)) < 0)
                        return r;
                if (!streq(s, "cgroupfs"))
                        return nl_error_set(err, -EOPNOTSUPP,
                                            "%s: \"%s\" is not supported: nodelet manages cgroups itself "
                                            "(\"cgroupfs\" is the only driver)",
                                            key, s);
                return 0;
        }
        if (streq(key, "nodelet")) {
                const char *k;
                json_t *e;
                if ((r = get_map(v, key, err)) < 0)
                        return r;
                json_object_foreach((json_t *) v, k, e) {
                        if (json_is_null(e))
                                continue;
                        if ((r = load_nodelet_key(f, k, e, err)) < 0)
                                return r;
                }
                return 0;
        }
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
                r = check_values(c, err);
        if (r < 0)
                return err && err->msg ? nl_error_prefix(err, "%s", path)
                                       : nl_error_set(err, r, "%s: %s", path, strerror(-r));
        if ((r = set_str(&c->config_file, path)) < 0)
                return nl_error_set(err, r, "%s: out of memory", path);
        return config_finish(c, err);
}

/* ---- flags ------------------------------------------------------------------------------- */

enum {
        ARG_CONFIG = 0x100,
        ARG_POD_MANIFEST_PATH,
        ARG_HOSTNAME_OVERRIDE,
        ARG_ROOT_DIR,
        ARG_RUN_DIR,
        ARG_RUNTIME_PATH,
        ARG_CNI_CONF_DIR,
        ARG_CNI_BIN_DIR,
        ARG_MAX_PODS,
        ARG_CLUSTER_DNS,
        ARG_CLUSTER_DOMAIN,
        ARG_RESOLV_CONF,
        ARG_FILE_CHECK_FREQUENCY,
        ARG_SYNC_FREQUENCY,
        ARG_LOG_MAX_SIZE,
        ARG_LOG_MAX_FILES,
        ARG_GC_HIGH,
        ARG_GC_LOW,
        ARG_INSECURE_REGISTRY,
        ARG_REGISTRY_CA,
        ARG_REGISTRY_MIRROR,
        ARG_AUTH_FILE,
        ARG_POD_LOG_DIR,
        ARG_KUBECONFIG,
        ARG_NODE_IP,
        ARG_NODE_LABELS,
        ARG_PORT,
        ARG_HEALTHZ_PORT,
        ARG_TLS_CERT,
        ARG_TLS_KEY,
        ARG_CLIENT_CA,
        ARG_NODE_STATUS_UPDATE,
};

static const struct option run_options[] = {
        {"config", required_argument, NULL, ARG_CONFIG},
        {"pod-manifest-path", required_argument, NULL, ARG_POD_MANIFEST_PATH},
        {"hostname-override", required_argument, NULL, ARG_HOSTNAME_OVERRIDE},
        {"node-name", required_argument, NULL, ARG_HOSTNAME_OVERRIDE},
        {"root-dir", required_argument, NULL, ARG_ROOT_DIR},
        {"run-dir", required_argument, NULL, ARG_RUN_DIR},
        {"container-runtime-path", required_argument, NULL, ARG_RUNTIME_PATH},
        {"cni-conf-dir", required_argument, NULL, ARG_CNI_CONF_DIR},
        {"cni-bin-dir", required_argument, NULL, ARG_CNI_BIN_DIR},
        {"max-pods", required_argument, NULL, ARG_MAX_PODS},
        {"cluster-dns", required_argument, NULL, ARG_CLUSTER_DNS},
        {"cluster-domain", required_argument, NULL, ARG_CLUSTER_DOMAIN},
        {"resolv-conf", required_argument, NULL, ARG_RESOLV_CONF},
        {"file-check-frequency", required_argument, NULL, ARG_FILE_CHECK_FREQUENCY},
        {"sync-frequency", required_argument, NULL, ARG_SYNC_FREQUENCY},
        {"container-log-max-size", required_argument, NULL, ARG_LOG_MAX_SIZE},
        {"container-log-max-files", required_argument, NULL, ARG_LOG_MAX_FILES},
        {"image-gc-high-threshold", required_argument, NULL, ARG_GC_HIGH},
        {"image-gc-low-threshold", required_argument, NULL, ARG_GC_LOW},
        {"insecure-registry", required_argument, NULL, ARG_INSECURE_REGISTRY},
        {"registry-ca", required_argument, NULL, ARG_REGISTRY_CA},
        {"registry-mirror", required_argument, NULL, ARG_REGISTRY_MIRROR},
        {"auth-file", required_argument, NULL, ARG_AUTH_FILE},
        {"pod-log-dir", required_argument, NULL, ARG_POD_LOG_DIR},
        {"kubeconfig", required_argument, NULL, ARG_KUBECONFIG},
        {"node-ip", required_argument, NULL, ARG_NODE_IP},
        {"node-labels", required_argument, NULL, ARG_NODE_LABELS},
        {"port", required_argument, NULL, ARG_PORT},
        {"healthz-port", required_argument, NULL, ARG_HEALTHZ_PORT},
        {"tls-cert-file", required_argument, NULL, ARG_TLS_CERT},
        {"tls-private-key-file", required_argument, NULL, ARG_TLS_KEY},
        {"client-ca-file", required_argument, NULL, ARG_CLIENT_CA},
        {"node-status-update-frequency", required_argument, NULL, ARG_NODE_STATUS_UPDATE},
        {"v", required_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {},
};

/* "+": stop at the first non-option (nodelet run takes none); ":": report a missing value. */
#define RUN_SHORT_OPTIONS "+:v:h"

static void run_usage(FILE *f) {
        fprintf(f,
                "Usage: nodelet run [OPTIONS]\n"
                "\n"
                "Run the node agent: the Pods of --pod-manifest-path (static pods), kept running as\n"
                "their manifests say. Settings come from the built-in defaults, then the --config\n"
                "file (a KubeletConfiguration, see deploy/config.yaml), then these flags.\n"
                "\n"
                "Options (default in brackets):\n"
                "  --config FILE                  KubeletConfiguration YAML file [none]\n"
                "  --pod-manifest-path DIR        static pod manifests, a directory or one file\n"
                "                                 (staticPodPath) [none]\n"
                "  --hostname-override NAME       the node's name, lowercased [the host name]\n"
                "  --node-name NAME               the same as --hostname-override\n"
                "  --root-dir DIR                 state: images, pods, containers [/var/lib/nodelet]\n"
                "  --run-dir DIR                  runtime state: namespaces, sockets [/run/nodelet]\n"
                "  --pod-log-dir DIR              container logs <DIR>/<ns>_<pod>_<uid>/ [/var/log/pods]\n"
                "  --container-runtime-path RT    crun, runc, or the path of one [crun]\n"
                "  --cni-conf-dir DIR             CNI network configurations [/etc/cni/net.d]\n"
                "  --cni-bin-dir DIR[,DIR...]     CNI plugin directories, searched in order; repeatable\n"
                "                                 [/usr/lib/cni,/opt/cni/bin]\n"
                "  --max-pods N                   Pods this node runs at most (maxPods) [110]\n"
                "  --cluster-dns IP[,IP...]       nameservers for dnsPolicy ClusterFirst; repeatable\n"
                "                                 (clusterDNS) [none: the node's resolv.conf]\n"
                "  --cluster-domain DOMAIN        the cluster's DNS domain (clusterDomain) [cluster.local]\n"
                "  --resolv-conf FILE             the resolv.conf for dnsPolicy Default, \"\" for none\n"
                "                                 (resolvConf) [/etc/resolv.conf]\n"
                "  --file-check-frequency DUR     rescan of the manifests, a Go duration\n"
                "                                 (fileCheckFrequency) [20s]\n"
                "  --sync-frequency DUR           resync of every pod (syncFrequency) [1m0s]\n"
                "  --container-log-max-size Q     rotate a container log at this size "
                "(containerLogMaxSize)\n"
                "                                 [10Mi]\n"
                "  --container-log-max-files N    log files kept per container, >= 2\n"
                "                                 (containerLogMaxFiles) [5]\n"
                "  --image-gc-high-threshold PCT  disk use that starts image GC, 0-100\n"
                "                                 (imageGCHighThresholdPercent) [85]\n"
                "  --image-gc-low-threshold PCT   disk use image GC frees down to, below the high one\n"
                "                                 (imageGCLowThresholdPercent) [80]\n"
                "  --insecure-registry HOST       plain HTTP (or unverified TLS) for HOST[:PORT];\n"
                "                                 repeatable [none]\n"
                "  --registry-ca HOST=FILE        trust FILE's CA certificates for HOST; repeatable [none]\n"
                "  --registry-mirror HOST=URL     try URL before HOST; repeatable [none]\n"
                "  --auth-file FILE               docker config.json-style registry credentials [none]\n"
                "\n"
                "Cluster mode (joins the API server; static pods keep working beside it):\n"
                "  --kubeconfig FILE              the API server and the node's credentials [none]\n"
                "  --node-ip IP                   the node's InternalIP [the first non-loopback IPv4]\n"
                "  --node-labels K=V[,K=V...]     labels added when the node registers [none]\n"
                "  --node-status-update-frequency DUR  node status check (nodeStatusUpdateFrequency) [10s]\n"
                "  --port N                       the node server's HTTPS port, 0 for none (port) [10250]\n"
                "  --healthz-port N               plain /healthz on 127.0.0.1, 0 for none (healthzPort) [10248]\n"
                "  --tls-cert-file FILE           the node server's certificate (tlsCertFile) [none]\n"
                "  --tls-private-key-file FILE    its key (tlsPrivateKeyFile) [none]\n"
                "  --client-ca-file FILE          CA for client certificates [none]\n"
                "  -v, --v N                      log verbosity, 0-%d [0]\n"
                "  -h, --help                     show this help\n"
                "\n"
                "Registry flags add to the file's registries; --cni-bin-dir and --cluster-dns replace\n"
                "the file's list. The nodelet-shim binary is taken from the nodelet binary's directory.\n",
                CONFIG_MAX_VERBOSITY);
}

static int parse_int_flag(const char *name, const char *v, int min, int max, int *ret, nl_error *err) {
        int64_t n;
        int r = nl_parse_int64(v, min, max, &n);
        if (r == -ERANGE)
                return nl_error_set(err, r, "--%s: %s must be between %d and %d", name, v, min, max);
        if (r < 0)
                return nl_error_set(err, r, "--%s: \"%s\" is not an integer", name, v);
        *ret = (int) n;
        return 0;
}

static int flag_path(char **field, const char *name, const char *v, bool allow_empty, nl_error *err) {
        if (!allow_empty && !*v)
                return nl_error_set(err, -EINVAL, "--%s: must not be empty", name);
        return set_str(field, v);
}

struct flag_state {
        char **cni_bin_dirs, **cluster_dns;
        size_t n_cni_bin_dirs, n_cluster_dns;
        bool have_cni_bin_dirs, have_cluster_dns;
};

static int apply_flag(struct nodelet_config *c, struct flag_state *st, int opt, const char *v,
                      nl_error *err) {
        _cleanup_free_ char *name = NULL;
        int r;

        switch (opt) {
        case ARG_CONFIG:
                return 0; /* loaded first */
        case ARG_POD_MANIFEST_PATH:
                if ((r = set_str(&c->pod_manifest_path, *v ? v : NULL)) < 0)
                        return r;
                return 0;
        case ARG_HOSTNAME_OVERRIDE:
                if (!(name = node_name_normalize(v)))
                        return -ENOMEM;
                if ((r = check_node_name(name, "--hostname-override", err)) < 0)
                        return r;
                free(c->node_name);
                c->node_name = TAKE_PTR(name);
                return 0;
        case ARG_ROOT_DIR:
                return flag_path(&c->root_dir, "root-dir", v, false, err);
        case ARG_RUN_DIR:
                return flag_path(&c->run_dir, "run-dir", v, false, err);
        case ARG_POD_LOG_DIR:
                return flag_path(&c->log_dir, "pod-log-dir", v, false, err);
        case ARG_CNI_CONF_DIR:
                return flag_path(&c->cni_conf_dir, "cni-conf-dir", v, false, err);
        case ARG_RESOLV_CONF:
                return flag_path(&c->resolv_conf, "resolv-conf", v, true, err);
        case ARG_AUTH_FILE:
                return flag_path(&c->registry.auth_file, "auth-file", v, false, err);
        case ARG_KUBECONFIG:
                return flag_path(&c->kubeconfig, "kubeconfig", v, false, err);
        case ARG_TLS_CERT:
                return flag_path(&c->tls_cert_file, "tls-cert-file", v, false, err);
        case ARG_TLS_KEY:
                return flag_path(&c->tls_private_key_file, "tls-private-key-file", v, false, err);
        case ARG_CLIENT_CA:
                return flag_path(&c->client_ca_file, "client-ca-file", v, false, err);
        case ARG_NODE_IP:
                if (!is_ip_address(v))
                        return nl_error_set(err, -EINVAL, "--node-ip: \"%s\" is not a valid IP address", v);
                return set_str(&c->node_ip, v);
        case ARG_NODE_LABELS:
                r = strv_push_split(&c->node_labels, &c->n_node_labels, v);
                if (r == -E2BIG)
                        return nl_error_set(err, r, "--node-labels: more than %d labels", CONFIG_MAX_LIST);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < c->n_node_labels; i++)
                        if (!strchr(c->node_labels[i], '=') || c->node_labels[i][0] == '=')
                                return nl_error_set(err, -EINVAL, "--node-labels: \"%s\" is not KEY=VALUE",
                                                    c->node_labels[i]);
                return 0;
        case ARG_PORT:
                return parse_int_flag("port", v, 0, 65535, &c->port, err);
        case ARG_HEALTHZ_PORT:
                return parse_int_flag("healthz-port", v, 0, 65535, &c->healthz_port, err);
        case ARG_NODE_STATUS_UPDATE:
                return parse_period(v, "--node-status-update-frequency", &c->node_status_update_frequency, err);
        case ARG_RUNTIME_PATH:
                if ((r = check_runtime(v, "--container-runtime-path", err)) < 0)
                        return r;
                return set_str(&c->runtime_path, v);
        case ARG_CNI_BIN_DIR:
                st->have_cni_bin_dirs = true;
                r = strv_push_split(&st->cni_bin_dirs, &st->n_cni_bin_dirs, v);
                if (r == -E2BIG)
                        return nl_error_set(err, r, "--cni-bin-dir: more than %d directories",
                                            CONFIG_MAX_LIST);
                return r;
        case ARG_CLUSTER_DNS:
                st->have_cluster_dns = true;
                r = strv_push_split(&st->cluster_dns, &st->n_cluster_dns, v);
                if (r == -E2BIG)
                        return nl_error_set(err, r, "--cluster-dns: more than %d addresses",
                                            CONFIG_MAX_LIST);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < st->n_cluster_dns; i++)
                        if (!is_ip_address(st->cluster_dns[i]))
                                return nl_error_set(err, -EINVAL,
                                                    "--cluster-dns: \"%s\" is not a valid IP address",
                                                    st->cluster_dns[i]);
                return 0;
        case ARG_CLUSTER_DOMAIN:
                if (*v && !podspec_is_dns1123_subdomain(v))
                        return nl_error_set(err, -EINVAL,
                                            "--cluster-domain: \"%s\" is not a DNS-1123 subdomain", v);
                return set_str(&c->cluster_domain, v);
        case ARG_MAX_PODS:
                return parse_int_flag("max-pods", v, 1, CONFIG_MAX_PODS, &c->max_pods, err);
        case ARG_LOG_MAX_FILES:
                return parse_int_flag("container-log-max-files", v, 2, CONFIG_MAX_LOG_FILES,
                                      &c->container_log_max_files, err);
        case ARG_GC_HIGH:
                return parse_int_flag("image-gc-high-threshold", v, 0, 100, &c->image_gc_high_threshold,
                                      err);
        case ARG_GC_LOW:
                return parse_int_flag("image-gc-low-threshold", v, 0, 100, &c->image_gc_low_threshold, err);
        case 'v':
                return parse_int_flag("v", v, 0, CONFIG_MAX_VERBOSITY, &c->verbosity, err);
        case ARG_LOG_MAX_SIZE:
                return parse_log_max_size(v, "--container-log-max-size", &c->container_log_max_size, err);
        case ARG_FILE_CHECK_FREQUENCY:
                return parse_period(v, "--file-check-frequency", &c->file_check_frequency, err);
        case ARG_SYNC_FREQUENCY:
                return parse_period(v, "--sync-frequency", &c->sync_frequency, err);
        case ARG_INSECURE_REGISTRY:
                if (!*v)
                        return nl_error_set(err, -EINVAL, "--insecure-registry: the host is empty");
                return registry_config_add(&c->registry, "insecure", v, err);
        case ARG_REGISTRY_CA:
                return registry_config_add(&c->registry, "ca", v, err);
        case ARG_REGISTRY_MIRROR: {
                const char *eq = strchr(v, '=');
                if (eq && (r = check_mirror_url(eq + 1, "--registry-mirror", err)) < 0)
                        return r;
                return registry_config_add(&c->registry, "mirror", v, err);
        }
        }
        return -EINVAL;
}

/* getopt's complaint, in our words; opterr is off so nothing reaches stderr. */
static int flag_error(int opt, int argc, char **argv, nl_error *err) {
        const char *arg = optind - 1 < argc && optind > 0 ? argv[optind - 1] : "?";
        if (opt == ':')
                return nl_error_set(err, -EINVAL, "flag %s needs a value", arg);
        if (optopt && optopt < 0x100 && !(arg[0] == '-' && arg[1] == '-'))
                return nl_error_set(err, -EINVAL, "unknown flag -%c; see 'nodelet run --help'", optopt);
        return nl_error_set(err, -EINVAL, "unknown flag \"%s\"; see 'nodelet run --help'", arg);
}

int config_parse_run_args(struct nodelet_config *c, int argc, char **argv, nl_error *err) {
        struct flag_state st = {};
        _cleanup_free_ char *config_path = NULL;
        int opt, r = 0;

        /* First pass: --help and --config only, so the file is loaded before any flag is applied
         * over it, wherever --config stands. */
        opterr = 0;
        optind = 0;
        while ((opt = getopt_long(argc, argv, RUN_SHORT_OPTIONS, run_options, NULL)) >= 0) {
                if (opt == 'h') {
                        run_usage(stdout);
                        return 1;
                }
                if (opt == '?' || opt == ':')
                        return flag_error(opt, argc, argv, err);
                if (opt == ARG_CONFIG && set_str(&config_path, optarg) < 0)
                        return nl_error_set(err, -ENOMEM, "out of memory");
        }
        if (optind < argc)
                return nl_error_set(err, -EINVAL, "unexpected argument \"%s\": nodelet run takes only flags",
                                    argv[optind]);
        if (config_path) {
                if (!*config_path)
                        return nl_error_set(err, -EINVAL, "--config: the file name is empty");
                if ((r = config_load_file(c, config_path, err)) < 0)
                        return r;
        }

        optind = 0;
        while ((opt = getopt_long(argc, argv, RUN_SHORT_OPTIONS, run_options, NULL)) >= 0) {
                r = apply_flag(c, &st, opt, optarg, err);
                if (r < 0)
                        break;
        }
        if (r >= 0 && st.have_cni_bin_dirs) {
                if (st.n_cni_bin_dirs == 0)
                        r = nl_error_set(err, -EINVAL, "--cni-bin-dir: no directory given");
                else {
                        strv_free_n(c->cni_bin_dirs, c->n_cni_bin_dirs);
                        c->cni_bin_dirs = TAKE_PTR(st.cni_bin_dirs);
                        c->n_cni_bin_dirs = st.n_cni_bin_dirs;
                }
        }
        if (r >= 0 && st.have_cluster_dns) {
                free(c->cluster_dns);
                c->cluster_dns = st.n_cluster_dns ? strv_join(st.cluster_dns, st.n_cluster_dns, ",") : NULL;
                if (st.n_cluster_dns && !c->cluster_dns)
                        r = -ENOMEM;
        }
        strv_free_n(st.cni_bin_dirs, st.n_cni_bin_dirs);
        strv_free_n(st.cluster_dns, st.n_cluster_dns);
        if (r >= 0)
                r = check_values(c, err);
        if (r >= 0)
                r = check_node_name(c->node_name, "the node name (the host name unless --hostname-override)",
                                    err);
        if (r == -ENOMEM && (!err || !err->msg))
                return nl_error_set(err, r, "out of memory");
        if (r < 0)
                return r;
        return config_finish(c, err);
}
