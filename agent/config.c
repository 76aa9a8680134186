/* SPDX-License-Identifier: Apache-2.0 */
/* nodelet run's configuration: built-in defaults, then a KubeletConfiguration-shaped YAML file
 * (--config), then the command-line flags, each overriding the one before, as the kubelet does.
 * One table (config_settings[] below) says for every setting its flag, its key in the file, its
 * default and its help; a new setting is one row. */
#include <arpa/inet.h>
#include <getopt.h>
#include <limits.h>
#include <stddef.h>
#include <ctype.h>
#include <stdio.h>

#include "config-internal.h"
#include "eviction.h"
#include "common/fs.h"
#include "common/strv.h"
#include "podspec/podspec.h"
#include "cri/layout.h"

/* ---- small helpers ----------------------------------------------------------------------- */

int config_set_str(char **field, const char *v) {
        char *n = NULL;
        if (v && !(n = strdup(v)))
                return -ENOMEM;
        free(*field);
        *field = n;
        return 0;
}

/* At most CONFIG_MAX_LIST entries in any list. */
int config_list_push_n(char ***v, size_t *n, const char *s, size_t len) {
        if (*n >= CONFIG_MAX_LIST)
                return -E2BIG;
        return strv_push_n(v, n, s, len);
}

/* "a,b,,c" -> push a, b, c (the kubelet's string-slice flags take comma-separated lists). */
static int strv_push_split(char ***v, size_t *n, const char *s) {
        for (const char *p = s; *p;) {
                size_t len = strcspn(p, ",");
                if (len > 0) {
                        int r = config_list_push_n(v, n, p, len);
                        if (r < 0)
                                return r;
                }
                p += len;
                if (*p == ',')
                        p++;
        }
        return 0;
}

bool config_is_ip_address(const char *s) {
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

int config_check_runtime(const char *v, const char *what, nl_error *err) {
        if (streq(v, "crun") || streq(v, "runc") || strchr(v, '/'))
                return 0;
        return nl_error_set(err, -EINVAL, "%s: \"%s\" is not crun, runc or a path to one of them", what, v);
}

int config_check_mirror_url(const char *url, const char *what, nl_error *err) {
        if (strncmp(url, "https://", 8) == 0 || strncmp(url, "http://", 7) == 0)
                return 0;
        return nl_error_set(err, -EINVAL, "%s: mirror \"%s\" must be an http:// or https:// URL", what, url);
}

/* The kubelet's parseResourceList for --kube-reserved and --system-reserved: cpu, memory,
 * ephemeral-storage and pid, each a quantity that is not negative. */
int config_reserved_set(struct config_reserved *r, const char *resource, const char *value, const char *what,
                        nl_error *err) {
        pod_quantity q;
        int64_t *field = streq(resource, "cpu")                 ? &r->milli_cpu
                         : streq(resource, "memory")            ? &r->memory
                         : streq(resource, "ephemeral-storage") ? &r->ephemeral_storage
                         : streq(resource, "pid")               ? &r->pid
                                                                : NULL;
        if (!field)
                return nl_error_set(err, -EINVAL, "%s: cannot reserve \"%s\" resource", what, resource);
        if (pod_quantity_parse(value, &q) < 0)
                return nl_error_set(err, -EINVAL, "%s: failed to parse quantity \"%s\" for \"%s\" resource", what,
                                    value, resource);
        if (pod_quantity_is_negative(&q))
                return nl_error_set(err, -EINVAL, "%s: resource quantity for \"%s\" cannot be negative: %s", what,
                                    resource, value);
        *field = streq(resource, "cpu") ? pod_quantity_milli_value(&q) : pod_quantity_value(&q);
        return 0;
}

/* "cpu=100m, memory=1Gi" as the kubelet's MapStringString flag: pairs split at ",", each at
 * its first "=", both sides trimmed, empty pairs skipped. */
static int reserved_parse(struct config_reserved *r, const char *v, const char *what, nl_error *err) {
        _cleanup_free_ char *copy = strdup(v);
        if (!copy)
                return -ENOMEM;
        char *save = NULL;
        for (char *pair = strtok_r(copy, ",", &save); pair; pair = strtok_r(NULL, ",", &save)) {
                char *eq = strchr(pair, '=');
                if (!eq)
                        return nl_error_set(err, -EINVAL, "%s: malformed pair \"%s\", expect string=string", what,
                                            pair);
                *eq = '\0';
                char *k = pair, *val = eq + 1;
                while (*k == ' ' || *k == '\t')
                        k++;
                for (char *e = k + strlen(k); e > k && (e[-1] == ' ' || e[-1] == '\t');)
                        *--e = '\0';
                while (*val == ' ' || *val == '\t')
                        val++;
                for (char *e = val + strlen(val); e > val && (e[-1] == ' ' || e[-1] == '\t');)
                        *--e = '\0';
                int ret = config_reserved_set(r, k, val, what, err);
                if (ret < 0)
                        return ret;
        }
        return 0;
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

int config_parse_duration(const char *s, const char *what, int64_t *ret_ns, nl_error *err) {
        _cleanup_free_ char *msg = NULL;
        int r = go_duration_parse(s, ret_ns, &msg);
        if (r == -ENOMEM)
                return nl_error_set(err, r, "out of memory");
        if (r < 0)
                return nl_error_set(err, r, "%s: %s", what, msg);
        return 0;
}

/* A period nodelet runs on a timer: a Go duration that must be positive. */
int config_parse_period(const char *s, const char *what, usec_t *ret, nl_error *err) {
        int64_t ns;
        int r = config_parse_duration(s, what, &ns, err);
        if (r < 0)
                return r;
        if (ns <= 0)
                return nl_error_set(err, -EINVAL, "%s: \"%s\" must be a positive duration such as \"20s\"",
                                    what, s);
        *ret = (usec_t) (ns / 1000 + (ns % 1000 != 0)); /* rounded up: "1ns" is no zero period */
        return 0;
}

int config_parse_log_max_size(const char *s, const char *what, int64_t *ret, nl_error *err) {
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

static int check_shutdown(const struct nodelet_config *c, nl_error *err);

/* The kubelet's checks (pkg/kubelet/apis/config/validation), with its wording. */
int config_check_values(const struct nodelet_config *c, nl_error *err) {
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
        int r = check_shutdown(c, err);
        if (r < 0)
                return r;
        if (c->container_log_max_files < 2)
                return nl_error_set(
                        err, -EINVAL,
                        "containerLogMaxFiles (--container-log-max-files) %d must be greater than 1",
                        c->container_log_max_files);
        struct eviction_config ev = {};
        r = eviction_config_parse(c->eviction_hard, c->eviction_soft, c->eviction_soft_grace_period,
                                      c->eviction_minimum_reclaim, &ev, err);
        eviction_config_done(&ev);
        if (r < 0)
                return r;
        /* the kubelet writes the kubeconfig the bootstrap makes at --kubeconfig */
        if (c->bootstrap_kubeconfig && !c->kubeconfig)
                return nl_error_set(err, -EINVAL,
                                    "--bootstrap-kubeconfig needs --kubeconfig: the file the bootstrap writes");
        return 0;
}

/* cgroupfs: the pods' cgroups at the hierarchy's root (/kubepods/...), as the kubelet's
 * cgroupfs driver; systemd: under the cgroup systemd gave nodelet's unit (Delegate=yes), see
 * cri/cgroup.h for why. */
int config_set_cgroup_driver(struct nodelet_config *c, const char *v, const char *what, nl_error *err) {
        if (streq(v, "cgroupfs") || streq(v, "systemd")) {
                c->cgroup_driver_systemd = streq(v, "systemd");
                return 0;
        }
        return nl_error_set(err, -EINVAL, "%s: \"%s\" is not a cgroup driver (\"cgroupfs\" or \"systemd\")", what,
                            v);
}

/* As the kubelet's ParseTaints (pkg/util/taints): "key=value:effect" or "key:effect", the key a
 * qualified name, the value a label value, the effect NoSchedule, PreferNoSchedule or
 * NoExecute; a key and effect given twice is an error. */
int config_taint_add(char ***v, size_t *n, const char *spec, const char *what, nl_error *err) {
        const char *colon = strrchr(spec, ':'), *msg;
        if (!colon)
                return nl_error_set(err, -EINVAL,
                                    "%s: invalid taint spec \"%s\": not key=value:effect or key:effect", what,
                                    spec);
        const char *effect = colon + 1;
        if (!streq(effect, "NoSchedule") && !streq(effect, "PreferNoSchedule") && !streq(effect, "NoExecute"))
                return nl_error_set(err, -EINVAL,
                                    "%s: taint \"%s\": invalid effect \"%s\" (NoSchedule, PreferNoSchedule or "
                                    "NoExecute)",
                                    what, spec, effect);
        const char *eq = memchr(spec, '=', (size_t) (colon - spec));
        _cleanup_free_ char *key = strndup(spec, (size_t) ((eq ? eq : colon) - spec));
        _cleanup_free_ char *value = eq ? strndup(eq + 1, (size_t) (colon - eq - 1)) : strdup("");
        if (!key || !value)
                return -ENOMEM;
        if ((msg = podspec_qualified_name_error(key)))
                return nl_error_set(err, -EINVAL, "%s: taint \"%s\": key \"%s\": %s", what, spec, key, msg);
        if (*value && (msg = podspec_label_value_error(value)))
                return nl_error_set(err, -EINVAL, "%s: taint \"%s\": value \"%s\": %s", what, spec, value, msg);
        for (size_t i = 0; i < *n; i++) {
                const char *o = (*v)[i], *oc = strrchr(o, ':'), *oe = memchr(o, '=', (size_t) (oc - o));
                size_t klen = (size_t) ((oe ? oe : oc) - o);
                if (klen == strlen(key) && memcmp(o, key, klen) == 0 && streq(oc + 1, effect))
                        return nl_error_set(err, -EINVAL,
                                            "%s: duplicated taints with the same key and effect: %s:%s", what, key,
                                            effect);
        }
        int r = config_list_push_n(v, n, spec, strlen(spec));
        if (r == -E2BIG)
                return nl_error_set(err, r, "%s: more than %d taints", what, CONFIG_MAX_LIST);
        return r;
}

/* What follows from other settings, and what an allocation failure left unset. */
int config_finish(struct nodelet_config *c, nl_error *err) {
        if (!c->enable_server) /* as the kubelet: no server whatever port says */
                c->port = 0;
        free(c->seccomp_root);
        c->seccomp_root = c->root_dir ? layout_seccomp_dir(c->root_dir) : NULL;
        if (!c->node_name || !c->root_dir || !c->run_dir || !c->log_dir || !c->containers_log_dir ||
            !c->runtime_path || !c->shim_path || !c->cni_conf_dir || !c->cni_bin_dirs || !c->seccomp_root ||
            !c->cluster_domain || !c->resolv_conf || !c->logind_conf_dir)
                return nl_error_set(err, -ENOMEM, "configuration: out of memory");
        return 0;
}

/* The same where 0 is allowed (shutdownGracePeriod: 0 turns the feature off). */
int config_parse_nonneg_period(const char *s, const char *what, usec_t *ret, nl_error *err) {
        int64_t ns;
        int r = config_parse_duration(s, what, &ns, err);
        if (r < 0)
                return r;
        if (ns < 0)
                return nl_error_set(err, -EINVAL, "%s: \"%s\" must be a duration >= 0 such as \"30s\"", what, s);
        *ret = (usec_t) (ns / 1000 + (ns % 1000 != 0));
        return 0;
}

/* Go's time.Duration.String(), to the microsecond: the kubelet's messages print durations so. */
char *config_format_duration(usec_t u) {
        if (u == 0)
                return strdup("0s");
        if (u < 1000)
                return nl_strdupf("%llu\xc2\xb5s", (unsigned long long) u);
        char frac[16] = "";
        if (u < USEC_PER_SEC) {
                if (u % 1000)
                        snprintf(frac, sizeof(frac), ".%03llu", (unsigned long long) (u % 1000));
                for (size_t n = strlen(frac); n > 0 && frac[n - 1] == '0'; n--)
                        frac[n - 1] = '\0';
                return nl_strdupf("%llu%sms", (unsigned long long) (u / 1000), frac);
        }
        unsigned long long h = u / (3600 * USEC_PER_SEC), m = u / (60 * USEC_PER_SEC) % 60,
                           sec = u / USEC_PER_SEC % 60, f = u % USEC_PER_SEC;
        if (f) {
                snprintf(frac, sizeof(frac), ".%06llu", f);
                for (size_t n = strlen(frac); n > 0 && frac[n - 1] == '0'; n--)
                        frac[n - 1] = '\0';
        }
        if (h)
                return nl_strdupf("%lluh%llum%llu%ss", h, m, sec, frac);
        if (m)
                return nl_strdupf("%llum%llu%ss", m, sec, frac);
        return nl_strdupf("%llu%ss", sec, frac);
}

/* The kubelet's graceful node shutdown checks (pkg/kubelet/apis/config/validation), with its
 * wording and its duration format. */
static int check_shutdown(const struct nodelet_config *c, nl_error *err) {
        _cleanup_free_ char *p = config_format_duration(c->shutdown_grace_period),
                            *cp = config_format_duration(c->shutdown_grace_period_critical_pods);
        if (!p || !cp)
                return -ENOMEM;
        if (c->shutdown_grace_period_critical_pods > c->shutdown_grace_period)
                return nl_error_set(err, -EINVAL, "shutdownGracePeriodCriticalPods %s must be <= shutdownGracePeriod %s",
                                    cp, p);
        if (c->shutdown_grace_period > 0 && c->shutdown_grace_period < USEC_PER_SEC)
                return nl_error_set(err, -EINVAL, "shutdownGracePeriod %s must be either zero or otherwise >= 1 sec", p);
        if (c->shutdown_grace_period_critical_pods > 0 && c->shutdown_grace_period_critical_pods < USEC_PER_SEC)
                return nl_error_set(err, -EINVAL,
                                    "shutdownGracePeriodCriticalPods %s must be either zero or otherwise >= 1 sec", cp);
        if (c->n_shutdown_by_priority > 0 && (c->shutdown_grace_period > 0 || c->shutdown_grace_period_critical_pods > 0))
                return nl_error_set(err, -EINVAL,
                                    "Cannot specify both shutdownGracePeriodByPodPriority and shutdownGracePeriod at "
                                    "the same time");
        return 0;
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

static char *default_shim_path(void);
static char *default_node_name(void);

const struct setting config_settings[] = {
        /* clang-format off */
        { .flag = "config", .arg = "FILE", .type = S_CONFIG,
          .help = "KubeletConfiguration YAML file [none]" },
        { .flag = "pod-manifest-path", .arg = "DIR", .key = "staticPodPath", .type = S_PATH,
          FIELD(pod_manifest_path), .opts = S_EMPTY_IS_NULL,
          .help = "static pod manifests, a directory or one file\n(staticPodPath) [none]" },
        { .flag = "manifest-url", .arg = "URL", .key = "staticPodURL", .type = S_URL, FIELD(manifest_url),
          .opts = S_EMPTY_IS_NULL,
          .help = "static pods (and in static mode, the other kinds) from\nthis URL, fetched every "
                  "fileCheckFrequency (staticPodURL)\n[none]" },
        { .flag = "manifest-url-header", .arg = "K:V[,K:V...]", .key = "staticPodURLHeader", .type = S_HEADERS,
          FIELDS(manifest_url_headers, n_manifest_url_headers), .noun = "headers",
          .help = "HTTP headers for --manifest-url; repeatable\n(staticPodURLHeader) [none]" },
        { .flag = "hostname-override", .alias = "node-name", .arg = "NAME", .type = S_NODE_NAME,
          FIELD(node_name), .def_fn = default_node_name, .help = "the node's name, lowercased [the host name]",
          .alias_help = "the same as --hostname-override" },
        { .flag = "root-dir", .arg = "DIR", .key = "nodelet.rootDir", .type = S_PATH, FIELD(root_dir),
          .def = "/var/lib/nodelet", .help = "state: images, pods, containers [/var/lib/nodelet]" },
        { .flag = "run-dir", .arg = "DIR", .key = "nodelet.runDir", .type = S_PATH, FIELD(run_dir),
          .def = "/run/nodelet", .help = "runtime state: namespaces, sockets [/run/nodelet]" },
        { .flag = "pod-log-dir", .arg = "DIR", .key = "nodelet.podLogDir", .type = S_PATH, FIELD(log_dir),
          .def = "/var/log/pods", .help = "container logs <DIR>/<ns>_<pod>_<uid>/ [/var/log/pods]" },
        { .flag = "container-runtime-path", .arg = "RT", .key = "nodelet.containerRuntime", .type = S_RUNTIME,
          FIELD(runtime_path), .def = "crun", .help = "crun, runc, or the path of one [crun]" },
        { .flag = "cni-conf-dir", .arg = "DIR", .key = "nodelet.cniConfDir", .type = S_PATH,
          FIELD(cni_conf_dir),
          .def = "/etc/cni/net.d", .help = "CNI network configurations [/etc/cni/net.d]" },
        /* Debian's containernetworking-plugins, then the upstream tarball's location */
        { .flag = "cni-bin-dir", .arg = "DIR[,DIR...]", .key = "nodelet.cniBinDirs", .type = S_PATH_LIST,
          FIELDS(cni_bin_dirs, n_cni_bin_dirs), .def = "/usr/lib/cni,/opt/cni/bin", .noun = "directories",
          .help = "CNI plugin directories, searched in order; repeatable\n[/usr/lib/cni,/opt/cni/bin]" },
        { .flag = "max-pods", .arg = "N", .key = "maxPods", .type = S_INT, FIELD(max_pods), .min = 1,
          .max = CONFIG_MAX_PODS, .def = "110", .help = "Pods this node runs at most (maxPods) [110]" },
        { .flag = "kube-reserved", .arg = "RES=Q,...", .key = "kubeReserved", .type = S_RESERVED,
          FIELD(kube_reserved),
          .help = "cpu, memory, ephemeral-storage and pid kept back for the\nnode's daemons: not allocatable "
                  "(kubeReserved) [none]" },
        { .flag = "system-reserved", .arg = "RES=Q,...", .key = "systemReserved", .type = S_RESERVED,
          FIELD(system_reserved),
          .help = "the same for the system (systemReserved) [none]" },
        { .flag = "cluster-dns", .arg = "IP[,IP...]", .key = "clusterDNS", .type = S_IP_LIST,
          FIELD(cluster_dns), .noun = "addresses",
          .help = "nameservers for dnsPolicy ClusterFirst; repeatable\n"
                  "(clusterDNS) [none: the node's resolv.conf]" },
        { .flag = "cluster-domain", .arg = "DOMAIN", .key = "clusterDomain", .type = S_DOMAIN,
          FIELD(cluster_domain), .def = "cluster.local",
          .help = "the cluster's DNS domain (clusterDomain) [cluster.local]" },
        { .flag = "resolv-conf", .arg = "FILE", .key = "resolvConf", .type = S_PATH, FIELD(resolv_conf),
          .opts = S_EMPTY_OK, .def = "/etc/resolv.conf",
          .help = "the resolv.conf for dnsPolicy Default, \"\" for none\n(resolvConf) [/etc/resolv.conf]" },
        { .flag = "file-check-frequency", .arg = "DUR", .key = "fileCheckFrequency", .type = S_PERIOD,
          FIELD(file_check_frequency), .opts = S_DURATION_KIND, .def = "20s",
          .help = "rescan of the manifests, a Go duration\n(fileCheckFrequency) [20s]" },
        { .flag = "sync-frequency", .arg = "DUR", .key = "syncFrequency", .type = S_PERIOD,
          FIELD(sync_frequency), .opts = S_DURATION_KIND, .def = "1m",
          .help = "resync of every pod (syncFrequency) [1m0s]" },
        { .flag = "streaming-connection-idle-timeout", .arg = "DUR", .key = "streamingConnectionIdleTimeout",
          .type = S_PERIOD, FIELD(streaming_idle_timeout), .opts = S_DURATION_KIND, .def = "4h",
          .help = "an exec, attach or port-forward with no traffic either way\nends after this long "
                  "(streamingConnectionIdleTimeout) [4h0m0s]" },
        { .flag = "container-log-max-size", .arg = "Q", .key = "containerLogMaxSize", .type = S_QUANTITY,
          FIELD(container_log_max_size), .def = "10Mi",
          .help = "rotate a container log at this size (containerLogMaxSize)\n[10Mi]" },
        /* the kubelet requires more than one: the current file and a rotated one */
        { .flag = "container-log-max-files", .arg = "N", .key = "containerLogMaxFiles", .type = S_INT,
          FIELD(container_log_max_files), .min = 2, .max = CONFIG_MAX_LOG_FILES, .def = "5",
          .help = "log files kept per container, >= 2\n(containerLogMaxFiles) [5]" },
        { .flag = "image-gc-high-threshold", .arg = "PCT", .key = "imageGCHighThresholdPercent", .type = S_INT,
          FIELD(image_gc_high_threshold), .min = 0, .max = 100, .def = "85",
          .help = "disk use that starts image GC, 0-100\n(imageGCHighThresholdPercent) [85]" },
        { .flag = "image-gc-low-threshold", .arg = "PCT", .key = "imageGCLowThresholdPercent", .type = S_INT,
          FIELD(image_gc_low_threshold), .min = 0, .max = 100, .def = "80",
          .help = "disk use image GC frees down to, below the high one\n(imageGCLowThresholdPercent) [80]" },
        /* graceful node shutdown; the kubelet has these in its configuration file only */
        { .flag = "shutdown-grace-period", .arg = "DUR", .key = "shutdownGracePeriod", .type = S_PERIOD,
          FIELD(shutdown_grace_period), .opts = S_DURATION_KIND | S_ZERO_OK, .def = "0",
          .help = "delay a node shutdown this long to stop pods, 0 for off\n(shutdownGracePeriod) [0s]" },
        { .flag = "shutdown-grace-period-critical-pods", .arg = "DUR", .key = "shutdownGracePeriodCriticalPods",
          .type = S_PERIOD, FIELD(shutdown_grace_period_critical_pods), .opts = S_DURATION_KIND | S_ZERO_OK,
          .def = "0",
          .help = "of that, the part kept for critical pods\n(shutdownGracePeriodCriticalPods) [0s]" },
        /* the kubelet's eviction settings (pkg/kubelet/apis/config/v1beta1 defaults) */
        { .flag = "eviction-hard", .arg = "SIG<V,...", .key = "evictionHard", .type = S_EVICTION_MAP,
          FIELD(eviction_hard), .opts = S_LANGLE,
          .def = "memory.available<100Mi,nodefs.available<10%,imagefs.available<15%,nodefs.inodesFree<5%",
          .help = "hard eviction thresholds (evictionHard)\n[memory.available<100Mi,nodefs.available<10%,\n"
                  "imagefs.available<15%,nodefs.inodesFree<5%]" },
        { .flag = "eviction-soft", .arg = "SIG<V,...", .key = "evictionSoft", .type = S_EVICTION_MAP,
          FIELD(eviction_soft), .opts = S_LANGLE, .help = "soft eviction thresholds (evictionSoft) [none]" },
        { .flag = "eviction-soft-grace-period", .arg = "SIG=DUR,...", .key = "evictionSoftGracePeriod",
          .type = S_EVICTION_MAP, FIELD(eviction_soft_grace_period),
          .help = "how long a soft threshold must hold before it evicts\n(evictionSoftGracePeriod) [none]" },
        { .flag = "eviction-minimum-reclaim", .arg = "SIG=Q,...", .key = "evictionMinimumReclaim",
          .type = S_EVICTION_MAP, FIELD(eviction_minimum_reclaim),
          .help = "what an eviction reclaims beyond its threshold\n(evictionMinimumReclaim) [none]" },
        { .flag = "eviction-pressure-transition-period", .arg = "DUR", .key = "evictionPressureTransitionPeriod",
          .type = S_PERIOD, FIELD(eviction_pressure_transition_period), .opts = S_DURATION_KIND, .def = "5m",
          .help = "how long a pressure condition stays after its signal\nrecovered "
                  "(evictionPressureTransitionPeriod) [5m0s]" },
        { .flag = "eviction-max-pod-grace-period", .arg = "N", .key = "evictionMaxPodGracePeriod", .type = S_INT,
          FIELD(eviction_max_pod_grace_period), .min = 0, .max = 86400, .def = "0",
          .help = "grace period of a pod evicted by a soft threshold, seconds\n(evictionMaxPodGracePeriod) [0]" },
        { .flag = "insecure-registry", .arg = "HOST", .key = "nodelet.insecureRegistries",
          .type = S_REGISTRY_INSECURE,
          .help = "plain HTTP (or unverified TLS) for HOST[:PORT];\nrepeatable [none]" },
        { .flag = "registry-ca", .arg = "HOST=FILE", .key = "nodelet.registryCAs", .type = S_REGISTRY_CA,
          .help = "trust FILE's CA certificates for HOST; repeatable [none]" },
        { .flag = "registry-mirror", .arg = "HOST=URL", .key = "nodelet.registryMirrors",
          .type = S_REGISTRY_MIRROR,
          .help = "try URL before HOST; repeatable [none]" },
        { .flag = "auth-file", .arg = "FILE", .key = "nodelet.authFile", .type = S_PATH,
          FIELD(registry.auth_file),
          .help = "docker config.json-style registry credentials [none]" },

        { .type = S_HEADING,
          .help = "Cluster mode (joins the API server; static pods keep working beside it):" },
        { .flag = "kubeconfig", .arg = "FILE", .type = S_PATH, FIELD(kubeconfig),
          .help = "the API server and the node's credentials [none]" },
        { .flag = "bootstrap-kubeconfig", .arg = "FILE", .type = S_PATH, FIELD(bootstrap_kubeconfig),
          .help = "when --kubeconfig is missing or its client certificate\nunusable: request one with these "
                  "credentials\n(a bootstrap token) and write --kubeconfig [none]" },
        { .flag = "cert-dir", .arg = "DIR", .type = S_PATH, FIELD(cert_dir), .def = "/var/lib/nodelet/pki",
          .help = "the node's requested certificates\n[/var/lib/nodelet/pki]" },
        { .flag = "rotate-certificates", .arg = "[=BOOL]", .key = "rotateCertificates", .type = S_BOOL,
          FIELD(rotate_certificates),
          .help = "request a new client certificate at 70-90 %\nof its life (rotateCertificates) [false]" },
        { .key = "serverTLSBootstrap", .type = S_BOOL, FIELD(server_tls_bootstrap), .def = "false" },
        { .flag = "node-ip", .arg = "IP", .type = S_IP, FIELD(node_ip),
          .help = "the node's InternalIP [the first non-loopback IPv4]" },
        { .flag = "node-labels", .arg = "K=V[,K=V...]", .type = S_LABELS, FIELDS(node_labels, n_node_labels),
          .noun = "labels",
          .help = "labels added when the node registers [none]" },
        { .flag = "register-with-taints", .arg = "K[=V]:EFFECT,...", .key = "registerWithTaints", .type = S_TAINTS,
          FIELDS(register_taints, n_register_taints),
          .help = "taints the Node registers with (registerWithTaints)\n[none]" },
        { .flag = "node-status-update-frequency", .arg = "DUR", .key = "nodeStatusUpdateFrequency",
          .type = S_PERIOD, FIELD(node_status_update_frequency), .def = "10s",
          .help = "node status check (nodeStatusUpdateFrequency) [10s]" },
        { .flag = "port", .arg = "N", .key = "port", .type = S_INT, FIELD(port), .min = 0, .max = 65535,
          .def = "10250", .help = "the node server's HTTPS port, 0 for none (port) [10250]" },
        { .flag = "healthz-port", .arg = "N", .key = "healthzPort", .type = S_INT, FIELD(healthz_port),
          .min = 0, .max = 65535, .def = "10248",
          .help = "plain /healthz on 127.0.0.1, 0 for none (healthzPort) [10248]" },
        { .flag = "tls-cert-file", .arg = "FILE", .key = "tlsCertFile", .type = S_PATH, FIELD(tls_cert_file),
          .help = "the node server's certificate (tlsCertFile) [none]" },
        { .flag = "tls-private-key-file", .arg = "FILE", .key = "tlsPrivateKeyFile", .type = S_PATH,
          FIELD(tls_private_key_file), .help = "its key (tlsPrivateKeyFile) [none]" },
        { .flag = "client-ca-file", .arg = "FILE", .type = S_PATH, FIELD(client_ca_file),
          .help = "CA for client certificates [none]" },
        { .flag = "v", .arg = "N", .short_opt = 'v', .type = S_INT, FIELD(verbosity), .min = 0,
          .max = CONFIG_MAX_VERBOSITY, .help = "log verbosity, 0-" XSTRINGIFY(CONFIG_MAX_VERBOSITY) " [0]" },
        { .flag = "cgroup-driver", .arg = "DRIVER", .key = "cgroupDriver", .type = S_CGROUP_DRIVER,
          .help = "cgroupfs: pods under /kubepods; systemd: under the\ncgroup of nodelet's unit (Delegate=yes) "
                  "(cgroupDriver)\n[cgroupfs]" },
        { .flag = "strict-config", .arg = "", .type = S_STRICT,
          .help = "a --config key that is neither the kubelet's nor\nnodelet's is an error [a warning]" },

        /* The kubelet's flags that kubeadm (kubeadm-flags.env, written by
         * cmd/kubeadm/app/phases/kubelet/flags.go, in older releases also the runtime's) and
         * KUBELET_EXTRA_ARGS commonly give, which mean nothing to nodelet: accepted so nodelet
         * can take the kubelet's place, each warned about once at start. */
        { .type = S_HEADING,
          .help = "Accepted for the kubelet's command line (kubeadm), ignored with a warning:\n"
                  "  --container-runtime-endpoint, --image-service-endpoint, --pod-infra-container-image,\n"
                  "  --runtime-cgroups, --kubelet-cgroups, --volume-plugin-dir, --fail-swap-on[=BOOL]" },
        { .flag = "container-runtime-endpoint", .arg = "ENDPOINT", .type = S_IGNORED,
          .noun = "nodelet is its own container runtime (crun through nodelet-shim); it talks to no CRI endpoint" },
        { .flag = "image-service-endpoint", .arg = "ENDPOINT", .type = S_IGNORED,
          .noun = "nodelet pulls and stores images itself; it talks to no CRI image service" },
        { .flag = "pod-infra-container-image", .arg = "IMAGE", .type = S_IGNORED,
          .noun = "nodelet's pod sandboxes are namespaces it holds itself: no pause container, no image" },
        { .flag = "runtime-cgroups", .arg = "CGROUP", .type = S_IGNORED,
          .noun = "nodelet's runtime is its own shims, which stay in nodelet's cgroup" },
        { .flag = "kubelet-cgroups", .arg = "CGROUP", .type = S_IGNORED,
          .noun = "nodelet stays in the cgroup it was started in (its unit's)" },
        { .flag = "volume-plugin-dir", .arg = "DIR", .type = S_IGNORED,
          .noun = "nodelet has no FlexVolume plugins" },
        { .flag = "fail-swap-on", .arg = "BOOL", .type = S_IGNORED, .opts = S_OPTIONAL_ARG,
          .noun = "nodelet does not check whether the node has swap on" },

        /* what only the file sets, or nothing: internal defaults */
        { .type = S_PATH, FIELD(containers_log_dir), .def = "/var/log/containers" },
        { .type = S_PATH, FIELD(shim_path), .def_fn = default_shim_path },
        { .key = "userNamespaces", .type = S_USERNS, FIELD(userns_ids_per_pod), .def = "65536" },
        { .key = "nodeStatusReportFrequency", .type = S_PERIOD, FIELD(node_status_report_frequency),
          .def = "5m" },
        { .key = "nodeLeaseDurationSeconds", .type = S_INT, FIELD(node_lease_duration_seconds), .min = 1,
          .max = 3600, .def = "40" },
        { .key = "registerNode", .type = S_BOOL, FIELD(register_node), .def = "true" },
        { .key = "healthzBindAddress", .type = S_IP, FIELD(healthz_bind_address), .def = "127.0.0.1" },
        { .key = "address", .type = S_IP, FIELD(address), .def = "0.0.0.0" },
        { .key = "cgroupDriver", .type = S_CGROUP_DRIVER },
        { .key = "shutdownGracePeriodByPodPriority", .type = S_SHUTDOWN_PRIORITY },
        { .key = "nodelet.logindConfDir", .type = S_PATH, FIELD(logind_conf_dir),
          .def = "/etc/systemd/logind.conf.d" },
        { .key = "enableServer", .type = S_BOOL, FIELD(enable_server), .def = "true" },
        /* clang-format on */
};

const size_t config_n_settings = ELEMENTSOF(config_settings);

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

int config_check_url(const char *v, const char *what, nl_error *err) {
        if ((strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0) || strlen(v) > 8192 ||
            strpbrk(v, " \t\r\n"))
                return nl_error_set(err, -EINVAL, "%s: \"%.256s\" is not an http:// or https:// URL", what, v);
        return 0;
}

/* "Name:value": a token (RFC 9110) before the colon, no line breaks anywhere */
bool config_header_ok(const char *h) {
        const char *colon = strchr(h, ':');
        if (!colon || colon == h || strpbrk(h, "\r\n"))
                return false;
        for (const char *p = h; p < colon; p++)
                if (!(isalnum((unsigned char) *p) || strchr("!#$%&'*+-.^_`|~", *p)))
                        return false;
        return true;
}

/* ---- values from flags (and defaults) ------------------------------------------------------ */

/* Apply v, as the flag --<s->flag> gives it. A list flag's values gather in acc (NULL: straight
 * into the setting, as for a default) and replace the setting once every flag is read. */
static int apply_flag_value(struct nodelet_config *c, const struct setting *s, const char *v, struct strv *acc,
                            nl_error *err) {
        _cleanup_free_ char *what = nl_strdupf("--%s", strempty(s->flag));
        int r;

        if (!what)
                return -ENOMEM;
        switch (s->type) {
        case S_CONFIG:
        case S_STRICT:
        case S_HEADING:
                return 0; /* --config and --strict-config are read first */
        case S_IGNORED: {
                _cleanup_free_ char *w = nl_strdupf("--%s%s%s: ignored: %s", s->flag, v ? "=" : "", strempty(v),
                                                    s->noun);
                if (!w)
                        return -ENOMEM;
                for (size_t i = 0; i < c->n_ignored_flags; i++)
                        if (streq(c->ignored_flags[i], w))
                                return 0;
                return strv_push(&c->ignored_flags, &c->n_ignored_flags, w);
        }
        case S_CGROUP_DRIVER:
                return config_set_cgroup_driver(c, v, what, err);
        case S_TAINTS: {
                /* the kubelet's taints flag replaces the list each time it is given */
                struct strv t = {};
                for (const char *p = v; *p;) {
                        size_t len = strcspn(p, ",");
                        _cleanup_free_ char *one = strndup(p, len);
                        r = 0;
                        if (!one)
                                r = -ENOMEM;
                        else if (*one)
                                r = config_taint_add(&t.v, &t.n, one, what, err);
                        if (r < 0) {
                                strv_done(&t);
                                return r;
                        }
                        p += len;
                        if (*p == ',')
                                p++;
                }
                strv_free_n(*FIELD_PTR(c, s, char **), *COUNT_PTR(c, s));
                *FIELD_PTR(c, s, char **) = t.v;
                *COUNT_PTR(c, s) = t.n;
                return 0;
        }
        case S_PATH:
                if (!*v && !(s->opts & (S_EMPTY_OK | S_EMPTY_IS_NULL)))
                        return nl_error_set(err, -EINVAL, "%s: must not be empty", what);
                return config_set_str(FIELD_PTR(c, s, char *), *v || !(s->opts & S_EMPTY_IS_NULL) ? v : NULL);
        case S_INT:
                return parse_int_flag(s->flag, v, s->min, s->max, FIELD_PTR(c, s, int), err);
        case S_PERIOD:
                if (s->opts & S_ZERO_OK)
                        return config_parse_nonneg_period(v, what, FIELD_PTR(c, s, usec_t), err);
                return config_parse_period(v, what, FIELD_PTR(c, s, usec_t), err);
        case S_QUANTITY:
                return config_parse_log_max_size(v, what, FIELD_PTR(c, s, int64_t), err);
        case S_IP:
                if (!config_is_ip_address(v))
                        return nl_error_set(err, -EINVAL, "%s: \"%s\" is not a valid IP address", what, v);
                return config_set_str(FIELD_PTR(c, s, char *), v);
        case S_DOMAIN:
                if (*v && !podspec_is_dns1123_subdomain(v))
                        return nl_error_set(err, -EINVAL, "%s: \"%s\" is not a DNS-1123 subdomain", what, v);
                return config_set_str(FIELD_PTR(c, s, char *), v);
        case S_NODE_NAME: {
                _cleanup_free_ char *name = node_name_normalize(v);
                if (!name)
                        return -ENOMEM;
                if ((r = check_node_name(name, what, err)) < 0)
                        return r;
                free(*FIELD_PTR(c, s, char *));
                *FIELD_PTR(c, s, char *) = TAKE_PTR(name);
                return 0;
        }
        case S_RUNTIME:
                if ((r = config_check_runtime(v, what, err)) < 0)
                        return r;
                return config_set_str(FIELD_PTR(c, s, char *), v);
        case S_URL:
                if (!*v)
                        return config_set_str(FIELD_PTR(c, s, char *), NULL);
                if ((r = config_check_url(v, what, err)) < 0)
                        return r;
                return config_set_str(FIELD_PTR(c, s, char *), v);
        case S_PATH_LIST:
        case S_IP_LIST:
        case S_HEADERS:
        case S_LABELS: {
                /* labels add up in the setting itself; the other lists gather in acc, or (a
                 * default) replace the setting */
                struct strv direct = {};
                struct strv labels = { *FIELD_PTR(c, s, char **), *COUNT_PTR(c, s) };
                bool adds = s->type == S_LABELS || s->type == S_HEADERS;
                struct strv l = adds ? labels : acc ? *acc : direct;
                r = strv_push_split(&l.v, &l.n, v);
                if (r == -E2BIG)
                        r = nl_error_set(err, r, "%s: more than %d %s", what, CONFIG_MAX_LIST, s->noun);
                for (size_t i = 0; r >= 0 && i < l.n; i++) {
                        if (s->type == S_IP_LIST && !config_is_ip_address(l.v[i]))
                                r = nl_error_set(err, -EINVAL, "%s: \"%s\" is not a valid IP address", what,
                                                 l.v[i]);
                        else if (s->type == S_LABELS && (!strchr(l.v[i], '=') || l.v[i][0] == '='))
                                r = nl_error_set(err, -EINVAL, "%s: \"%s\" is not KEY=VALUE", what, l.v[i]);
                        else if (s->type == S_HEADERS && !config_header_ok(l.v[i]))
                                r = nl_error_set(err, -EINVAL, "%s: \"%s\" is not KEY:VALUE with a header name", what,
                                                 l.v[i]);
                }
                if (adds || !acc) {
                        if (!adds)
                                strv_free_n(*FIELD_PTR(c, s, char **), *COUNT_PTR(c, s));
                        *FIELD_PTR(c, s, char **) = l.v;
                        *COUNT_PTR(c, s) = l.n;
                } else
                        *acc = l;
                return r;
        }
        case S_REGISTRY_INSECURE:
                if (!*v)
                        return nl_error_set(err, -EINVAL, "%s: the host is empty", what);
                return registry_config_add(&c->registry, "insecure", v, err);
        case S_REGISTRY_CA:
                return registry_config_add(&c->registry, "ca", v, err);
        case S_REGISTRY_MIRROR: {
                const char *eq = strchr(v, '=');
                if (eq && (r = config_check_mirror_url(eq + 1, what, err)) < 0)
                        return r;
                return registry_config_add(&c->registry, "mirror", v, err);
        }
        case S_RESERVED:
                /* gathered: the flags given replace the file's map once all are read */
                if (acc)
                        return config_list_push_n(&acc->v, &acc->n, v, strlen(v)) == -E2BIG
                                       ? nl_error_set(err, -E2BIG, "%s: given more than %d times", what,
                                                      CONFIG_MAX_LIST)
                                       : 0;
                return reserved_parse(FIELD_PTR(c, s, struct config_reserved), v, what, err);
        case S_EVICTION_MAP:
                /* checked whole in config_check_values, against the other eviction settings */
                return config_set_str(FIELD_PTR(c, s, char *), v);
        case S_BOOL:
                if (!v || streq(v, "true") || streq(v, "1"))
                        *FIELD_PTR(c, s, bool) = true;
                else if (streq(v, "false") || streq(v, "0"))
                        *FIELD_PTR(c, s, bool) = false;
                else
                        return nl_error_set(err, -EINVAL, "%s: \"%s\" is not true or false", what, v);
                return 0;
        case S_USERNS:
        case S_SHUTDOWN_PRIORITY:
                break;
        }
        return -EINVAL;
}

/* A list flag given at least once replaces the setting with what it gathered. */
static int apply_flag_list(struct nodelet_config *c, const struct setting *s, struct strv *acc, nl_error *err) {
        if (s->type == S_RESERVED) {
                _cleanup_free_ char *what = nl_strdupf("--%s", s->flag);
                struct config_reserved r = {};
                for (size_t i = 0; i < acc->n; i++) {
                        int ret = reserved_parse(&r, acc->v[i], strempty(what), err);
                        if (ret < 0)
                                return ret;
                }
                *FIELD_PTR(c, s, struct config_reserved) = r;
                return 0;
        }
        if (s->type == S_PATH_LIST) {
                if (acc->n == 0)
                        return nl_error_set(err, -EINVAL, "--%s: no directory given", s->flag);
                strv_free_n(*FIELD_PTR(c, s, char **), *COUNT_PTR(c, s));
                *FIELD_PTR(c, s, char **) = TAKE_PTR(acc->v);
                *COUNT_PTR(c, s) = acc->n;
                acc->n = 0;
                return 0;
        }
        /* S_IP_LIST: all of them, as the kubelet writes every clusterDNS entry as a nameserver;
         * the cri layer takes the comma-separated list */
        char **field = FIELD_PTR(c, s, char *);
        free(*field);
        *field = acc->n ? strv_join(acc->v, acc->n, ",") : NULL;
        return acc->n && !*field ? -ENOMEM : 0;
}

/* ---- defaults ---------------------------------------------------------------------------- */

void config_init_defaults(struct nodelet_config *c) {
        *c = (struct nodelet_config){
                .registry = { .max_parallel_blobs = 4, .retries = 3 },
        };
        /* Through the flag's own parser, so a default reads as what a user would write. An
         * allocation failure leaves a NULL that config_finish() catches. */
        for (size_t i = 0; i < ELEMENTSOF(config_settings); i++) {
                const struct setting *s = &config_settings[i];
                int64_t v;
                if (s->def_fn)
                        *FIELD_PTR(c, s, char *) = s->def_fn();
                else if (!s->def)
                        continue;
                else if (s->type == S_BOOL)
                        *FIELD_PTR(c, s, bool) = streq(s->def, "true");
                else if (s->type == S_USERNS) {
                        if (nl_parse_int64(s->def, 0, UINT32_MAX, &v) == 0)
                                *FIELD_PTR(c, s, uint32_t) = (uint32_t) v;
                } else
                        (void) apply_flag_value(c, s, s->def, NULL, NULL);
        }
        (void) config_finish(c, NULL);
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
        free(c->bootstrap_kubeconfig);
        free(c->cert_dir);
        free(c->node_ip);
        strv_free_n(c->node_labels, c->n_node_labels);
        free(c->manifest_url);
        strv_free_n(c->manifest_url_headers, c->n_manifest_url_headers);
        strv_free_n(c->register_taints, c->n_register_taints);
        free(c->healthz_bind_address);
        free(c->address);
        free(c->tls_cert_file);
        free(c->tls_private_key_file);
        free(c->client_ca_file);
        free(c->shutdown_by_priority);
        free(c->logind_conf_dir);
        free(c->eviction_hard);
        free(c->eviction_soft);
        free(c->eviction_soft_grace_period);
        free(c->eviction_minimum_reclaim);
        free(c->cgroup_root);
        strv_free_n(c->ignored_keys, c->n_ignored_keys);
        strv_free_n(c->unknown_keys, c->n_unknown_keys);
        strv_free_n(c->ignored_flags, c->n_ignored_flags);
        *c = (struct nodelet_config){};
}

static void append_list(nl_buf *b, char *const *v, size_t n) {
        for (size_t i = 0; i < n; i++)
                nl_buf_printf(b, "%s%s", i ? ", " : "", v[i]);
}

char *config_warnings(const struct nodelet_config *c) {
        nl_buf b = {};
        if (c->n_ignored_keys) {
                nl_buf_printf(&b, "%s: %zu KubeletConfiguration key%s that nodelet does not act on, ignored "
                                  "(docs/cluster.md says why): ",
                              strempty(c->config_file), c->n_ignored_keys, c->n_ignored_keys == 1 ? "" : "s");
                append_list(&b, c->ignored_keys, c->n_ignored_keys);
                nl_buf_puts(&b, "\n");
        }
        if (c->n_unknown_keys) {
                nl_buf_printf(&b, "%s: unknown key%s, ignored (--strict-config refuses them): ",
                              strempty(c->config_file), c->n_unknown_keys == 1 ? "" : "s");
                append_list(&b, c->unknown_keys, c->n_unknown_keys);
                nl_buf_puts(&b, "\n");
        }
        for (size_t i = 0; i < c->n_ignored_flags; i++)
                nl_buf_printf(&b, "%s\n", c->ignored_flags[i]);
        return nl_buf_steal(&b);
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
                .cgroup_root = c->cgroup_root,
        };
}

/* ---- flags ------------------------------------------------------------------------------- */

#define ARG_SETTING 0x100 /* getopt's value for config_settings[i] is ARG_SETTING + i */

/* "+": stop at the first non-option (nodelet run takes none); ":": report a missing value. */
#define RUN_SHORT_OPTIONS "+:v:h"

/* getopt's long options, from the table. */
static void run_options(struct option ret[static 2 * ELEMENTSOF(config_settings) + 2]) {
        size_t n = 0;
        for (size_t i = 0; i < ELEMENTSOF(config_settings); i++) {
                if (!config_settings[i].flag || config_settings[i].type == S_HEADING)
                        continue;
                int val = ARG_SETTING + (int) i;
                /* a boolean flag as Go's: --flag alone is true, or --flag=true|false */
                int has_arg = config_settings[i].type == S_STRICT ? no_argument
                              : config_settings[i].type == S_BOOL || (config_settings[i].opts & S_OPTIONAL_ARG)
                                      ? optional_argument
                                      : required_argument;
                ret[n++] = (struct option){ config_settings[i].flag, has_arg, NULL, val };
                if (config_settings[i].alias)
                        ret[n++] = (struct option){ config_settings[i].alias, has_arg, NULL, val };
        }
        ret[n++] = (struct option){ "help", no_argument, NULL, 'h' };
        ret[n] = (struct option){};
}

/* The setting an option stands for, or NULL. */
static const struct setting *setting_of_opt(int opt) {
        if (opt >= ARG_SETTING && opt < ARG_SETTING + (int) ELEMENTSOF(config_settings))
                return &config_settings[opt - ARG_SETTING];
        for (size_t i = 0; i < ELEMENTSOF(config_settings); i++)
                if (config_settings[i].short_opt && config_settings[i].short_opt == opt)
                        return &config_settings[i];
        return NULL;
}

/* One flag's lines: "--flag ARG", then its text from column 33 (continued lines too). */
static void usage_flag(FILE *f, const char *flag, const char *text) {
        int n = fprintf(f, "  %s", flag);
        fprintf(f, "%*s", n < 31 ? 33 - n : 2, "");
        for (const char *p = text; *p;) {
                size_t len = strcspn(p, "\n");
                fprintf(f, "%.*s\n", (int) len, p);
                p += len;
                if (*p == '\n' && *++p)
                        fprintf(f, "%33s", "");
        }
}

static void run_usage(FILE *f) {
        fprintf(f, "Usage: nodelet run [OPTIONS]\n"
                   "\n"
                   "Run the node agent: the Pods of --pod-manifest-path (static pods), kept running as\n"
                   "their manifests say. Settings come from the built-in defaults, then the --config\n"
                   "file (a KubeletConfiguration, see deploy/config.yaml), then these flags.\n"
                   "\n"
                   "Options (default in brackets):\n");
        for (size_t i = 0; i < ELEMENTSOF(config_settings); i++) {
                const struct setting *s = &config_settings[i];
                _cleanup_free_ char *flag = NULL;
                if (!s->help)
                        continue;
                if (s->type == S_HEADING) {
                        fprintf(f, "\n%s\n", s->help);
                        continue;
                }
                flag = s->short_opt ? nl_strdupf("-%c, --%s %s", s->short_opt, s->flag, s->arg)
                       : *s->arg    ? nl_strdupf("--%s %s", s->flag, s->arg)
                                    : nl_strdupf("--%s", s->flag);
                usage_flag(f, strempty(flag), s->help);
                if (s->alias) {
                        free(flag);
                        flag = nl_strdupf("--%s %s", s->alias, s->arg);
                        usage_flag(f, strempty(flag), s->alias_help);
                }
        }
        usage_flag(f, "-h, --help", "show this help");
        fprintf(f, "\n"
                   "Registry flags add to the file's registries; --cni-bin-dir and --cluster-dns replace\n"
                   "the file's list. The nodelet-shim binary is taken from the nodelet binary's directory.\n");
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
        struct option options[2 * ELEMENTSOF(config_settings) + 2];
        struct strv lists[ELEMENTSOF(config_settings)] = {};
        bool seen[ELEMENTSOF(config_settings)] = {};
        _cleanup_free_ char *config_path = NULL;
        const struct setting *s;
        int opt, r = 0;

        run_options(options);
        /* First pass: --help and --config only, so the file is loaded before any flag is applied
         * over it, wherever --config stands. */
        opterr = 0;
        optind = 0;
        while ((opt = getopt_long(argc, argv, RUN_SHORT_OPTIONS, options, NULL)) >= 0) {
                if (opt == 'h') {
                        run_usage(stdout);
                        return 1;
                }
                if (opt == '?' || opt == ':')
                        return flag_error(opt, argc, argv, err);
                s = setting_of_opt(opt);
                if (s && s->type == S_CONFIG && config_set_str(&config_path, optarg) < 0)
                        return nl_error_set(err, -ENOMEM, "out of memory");
                if (s && s->type == S_STRICT)
                        c->strict_config = true;
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
        while (r >= 0 && (opt = getopt_long(argc, argv, RUN_SHORT_OPTIONS, options, NULL)) >= 0) {
                if (!(s = setting_of_opt(opt))) {
                        r = -EINVAL;
                        break;
                }
                size_t i = (size_t) (s - config_settings);
                bool gathered = s->type == S_PATH_LIST || s->type == S_IP_LIST || s->type == S_RESERVED;
                seen[i] = true;
                r = apply_flag_value(c, s, optarg, gathered ? &lists[i] : NULL, err);
        }
        for (size_t i = 0; i < ELEMENTSOF(config_settings); i++) {
                const struct setting *l = &config_settings[i];
                if (r >= 0 && seen[i] && (l->type == S_PATH_LIST || l->type == S_IP_LIST || l->type == S_RESERVED))
                        r = apply_flag_list(c, l, &lists[i], err);
                strv_done(&lists[i]);
        }
        if (r >= 0)
                r = config_check_values(c, err);
        if (r >= 0)
                r = check_node_name(c->node_name, "the node name (the host name unless --hostname-override)",
                                    err);
        if (r == -ENOMEM && (!err || !err->msg))
                return nl_error_set(err, r, "out of memory");
        if (r < 0)
                return r;
        return config_finish(c, err);
}
