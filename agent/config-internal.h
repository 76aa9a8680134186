/* SPDX-License-Identifier: Apache-2.0 */
/* Inside the configuration: the settings table (agent/config.c) and what the flags
 * (config.c) and the file (config-file.c) share to read values. */
#pragma once

#include <jansson.h>

#include "config.h"

#define CONFIG_MAX_BYTES (1024u * 1024u) /* a config file; the kubelet's are a few KiB */
#define CONFIG_MAX_LIST 64               /* entries in any list or map of the file or of a flag */
#define CONFIG_MAX_PODS 1000
#define CONFIG_MAX_LOG_FILES 1000
#define CONFIG_MAX_VERBOSITY 100
#define STRINGIFY(x) #x
#define XSTRINGIFY(x) STRINGIFY(x)

#define KUBELET_API_VERSION "kubelet.config.k8s.io/v1beta1"
#define KUBELET_KIND "KubeletConfiguration"

enum setting_type {
        S_CONFIG,            /* --config: read first, wherever it stands */
        S_PATH,              /* a path; the file's relative ones are relative to the file */
        S_INT,               /* an int in [min, max] */
        S_PERIOD,            /* a positive Go duration ("20s") */
        S_QUANTITY,          /* a positive quantity of bytes ("10Mi") */
        S_BOOL,              /* true or false (the file only) */
        S_IP,                /* an IP address */
        S_DOMAIN,            /* a DNS-1123 subdomain, or "" */
        S_NODE_NAME,         /* the node's name: trimmed, lowercased, a DNS-1123 subdomain */
        S_RUNTIME,           /* crun, runc or a path to one */
        S_PATH_LIST,         /* paths; the flag is comma-separated, repeatable, replaces the file's */
        S_IP_LIST,           /* the same for IP addresses, kept joined with "," */
        S_LABELS,            /* KEY=VALUE,...; repeatable, adds */
        S_USERNS,            /* userNamespaces: {idsPerPod: N} */
        S_CGROUP_DRIVER,     /* cgroupDriver: "cgroupfs" or "systemd" */
        S_STRICT,            /* --strict-config (no value): read first, with --config */
        S_TAINTS,            /* taints "key[=value]:Effect"; the flag replaces, comma-separated */
        S_IGNORED,           /* a kubelet flag nodelet has no use for: accepted, warned about
                              * with .noun as the reason */
        S_REGISTRY_INSECURE, /* a host for plain HTTP */
        S_REGISTRY_CA,       /* HOST=FILE */
        S_REGISTRY_MIRROR,   /* HOST=URL */
        S_SHUTDOWN_PRIORITY, /* shutdownGracePeriodByPodPriority: [{priority, shutdownGracePeriodSeconds}] */
        S_RESERVED,          /* RESOURCE=QUANTITY,...: cpu, memory, ephemeral-storage, pid; the flag is
                              * repeatable and replaces the file's map */
        S_EVICTION_MAP,      /* evictionHard & co: a map of signal to value; the flag's form kept */
        S_URL,               /* an http:// or https:// URL */
        S_HEADERS,           /* HTTP headers: the flag "KEY:VALUE,..." (repeatable, adds), the file a
                                map of lists; kept as "KEY:VALUE" */
        S_HEADING,           /* not a setting: a heading in --help */
};

#define S_EMPTY_OK (1u << 0)       /* "" is a value (resolvConf: no resolv.conf) */
#define S_EMPTY_IS_NULL (1u << 1)  /* "" unsets it (staticPodPath: no static pods) */
#define S_DURATION_KIND (1u << 2)  /* the file's non-string says "must be a duration string" */
#define S_ZERO_OK (1u << 3)        /* S_PERIOD: 0 is a value (off), negative is not */
#define S_LANGLE (1u << 4)         /* S_EVICTION_MAP: "signal<value" (thresholds), else "signal=value" */
#define S_OPTIONAL_ARG (1u << 5)   /* a kubelet bool flag: --flag or --flag=VALUE (pflag's form) */

struct setting {
        const char *flag, *alias, *arg; /* --flag ARG (also --alias); NULL: the file only */
        char short_opt;                 /* -v */
        const char *key;                /* the file's key, "maxPods" or "nodelet.rootDir"; NULL: flags only */
        enum setting_type type;
        size_t offset; /* of the field in struct nodelet_config */
        int min, max;  /* S_INT */
        unsigned opts;
        const char *def;       /* the default, as the flag would give it; NULL: none */
        char *(*def_fn)(void); /* or computed */
        const char *noun;      /* list flags: "more than 64 <noun>" */
        const char *help;      /* the flag's --help text; each "\n" continues it on a new line */
        const char *alias_help;
        size_t count_offset; /* lists: of their count */
};

#define FIELD(f) .offset = offsetof(struct nodelet_config, f)
#define FIELDS(f, n) FIELD(f), .count_offset = offsetof(struct nodelet_config, n)

/* In the order of --help; the file's own keys last. */
extern const struct setting config_settings[];
extern const size_t config_n_settings;

#define FIELD_PTR(c, s, type) ((type *) ((char *) (c) + (s)->offset))
#define COUNT_PTR(c, s) ((size_t *) ((char *) (c) + (s)->count_offset))

int config_set_str(char **field, const char *v);
/* Append to a list of at most CONFIG_MAX_LIST entries (-E2BIG beyond). */
int config_list_push_n(char ***v, size_t *n, const char *s, size_t len);
bool config_is_ip_address(const char *s);
int config_check_runtime(const char *v, const char *what, nl_error *err);
int config_check_mirror_url(const char *url, const char *what, nl_error *err);
/* Any Go duration (time.ParseDuration), in nanoseconds. */
int config_parse_duration(const char *s, const char *what, int64_t *ret_ns, nl_error *err);
/* A period nodelet runs on a timer: a Go duration that must be positive. */
int config_parse_period(const char *s, const char *what, usec_t *ret, nl_error *err);
/* The same where 0 is allowed (shutdownGracePeriod: 0 is off). */
int config_parse_nonneg_period(const char *s, const char *what, usec_t *ret, nl_error *err);

/* One entry of kubeReserved or systemReserved, checked with the kubelet's words. */
int config_reserved_set(struct config_reserved *r, const char *resource, const char *value, const char *what,
                        nl_error *err);
int config_parse_log_max_size(const char *s, const char *what, int64_t *ret, nl_error *err);
/* The kubelet's checks (pkg/kubelet/apis/config/validation), with its wording. */
int config_check_values(const struct nodelet_config *c, nl_error *err);
/* Check and add one taint, "key[=value]:effect" (the kubelet's --register-with-taints form). */
int config_taint_add(char ***v, size_t *n, const char *spec, const char *what, nl_error *err);
int config_set_cgroup_driver(struct nodelet_config *c, const char *v, const char *what, nl_error *err);
/* What follows from other settings, and what an allocation failure left unset. */
int config_finish(struct nodelet_config *c, nl_error *err);

/* --manifest-url / staticPodURL: http:// or https://. */
int config_check_url(const char *v, const char *what, nl_error *err);
/* A --manifest-url-header item: "Name:value". */
bool config_header_ok(const char *h);
