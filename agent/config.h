/* SPDX-License-Identifier: Apache-2.0 */
/* nodelet run's configuration (agent/config.c): built-in defaults, the KubeletConfiguration
 * file, the flags; and what the runtime layer takes from it. */
#pragma once

#include "common/time-util.h"
#include "cri/cri.h"

#define NODELET_VERSION "0.1.0"

/* shutdownGracePeriodByPodPriority: pods of at least this priority get this long */
struct shutdown_grace_by_priority {
        int32_t priority;
        int64_t seconds;
};

/* kubeReserved / systemReserved: what the node keeps back from pods (cpu in millicores,
 * memory and ephemeral-storage in bytes, pid a count; 0 when not set) */
struct config_reserved {
        int64_t milli_cpu, memory, ephemeral_storage, pid;
};

struct nodelet_config {
        char *config_file;          /* --config */
        char *node_name;            /* --hostname-override / --node-name; default: hostname, lowercased */
        char *root_dir;             /* --root-dir, /var/lib/nodelet */
        char *run_dir;              /* --run-dir, /run/nodelet */
        char *log_dir;              /* /var/log/pods */
        char *containers_log_dir;   /* /var/log/containers */
        char *pod_manifest_path;    /* --pod-manifest-path / staticPodPath */
        usec_t file_check_frequency; /* fileCheckFrequency, 20 s */
        char *manifest_url;         /* --manifest-url / staticPodURL */
        char **manifest_url_headers; /* --manifest-url-header / staticPodURLHeader: "KEY:VALUE" */
        size_t n_manifest_url_headers;
        usec_t sync_frequency;       /* syncFrequency, 1 min */
        usec_t streaming_idle_timeout; /* streamingConnectionIdleTimeout, 4 h */
        char *runtime_path;         /* --container-runtime-path, "crun" */
        char *shim_path;            /* default: nodelet-shim beside the nodelet binary */
        char *cni_conf_dir;         /* --cni-conf-dir, /etc/cni/net.d */
        char **cni_bin_dirs;        /* --cni-bin-dir (repeatable), /usr/lib/cni and /opt/cni/bin */
        size_t n_cni_bin_dirs;
        char *seccomp_root;         /* <root_dir>/seccomp */
        int max_pods;               /* --max-pods / maxPods, 110 */
        struct config_reserved kube_reserved;   /* --kube-reserved / kubeReserved */
        struct config_reserved system_reserved; /* --system-reserved / systemReserved */
        uint32_t userns_ids_per_pod; /* userNamespaces.idsPerPod, 65536 */
        int64_t container_log_max_size; /* containerLogMaxSize, "10Mi" */
        int container_log_max_files;    /* containerLogMaxFiles, 5 */
        char *cluster_dns;          /* clusterDNS[0] or NULL */
        char *cluster_domain;       /* clusterDomain, "cluster.local" */
        char *resolv_conf;          /* resolvConf, /etc/resolv.conf */
        int image_gc_high_threshold; /* imageGCHighThresholdPercent, 85 */
        int image_gc_low_threshold;  /* imageGCLowThresholdPercent, 80 */
        /* graceful node shutdown (agent/shutdown.c): all 0 / empty: off */
        usec_t shutdown_grace_period;               /* shutdownGracePeriod, 0 */
        usec_t shutdown_grace_period_critical_pods; /* shutdownGracePeriodCriticalPods, 0 */
        struct shutdown_grace_by_priority *shutdown_by_priority; /* shutdownGracePeriodByPodPriority */
        size_t n_shutdown_by_priority;
        char *logind_conf_dir; /* nodelet.logindConfDir: the InhibitDelayMaxSec drop-in goes here,
                                  /etc/systemd/logind.conf.d */
        struct registry_config registry; /* insecure registries, CAs, mirrors, auth file */
        int verbosity;              /* -v */
        /* the eviction manager (agent/eviction.h): the maps as the flags spell them,
         * "signal<value,..." and "signal=value,...", parsed by eviction_config_parse */
        char *eviction_hard;                 /* evictionHard, the kubelet's defaults */
        char *eviction_soft;                 /* evictionSoft */
        char *eviction_soft_grace_period;    /* evictionSoftGracePeriod */
        char *eviction_minimum_reclaim;      /* evictionMinimumReclaim */
        usec_t eviction_pressure_transition_period; /* evictionPressureTransitionPeriod, 5 min */
        int eviction_max_pod_grace_period;   /* evictionMaxPodGracePeriod, 0 */
        /* cluster mode */
        char *kubeconfig;           /* --kubeconfig: join the API server it names */
        char *bootstrap_kubeconfig; /* --bootstrap-kubeconfig: TLS bootstrap when --kubeconfig is unusable */
        char *cert_dir;             /* --cert-dir, /var/lib/nodelet/pki */
        bool rotate_certificates;   /* --rotate-certificates / rotateCertificates */
        bool server_tls_bootstrap;  /* serverTLSBootstrap: the serving certificate through a CSR */
        char *node_ip;              /* --node-ip: the node's InternalIP [detected] */
        char **node_labels;         /* --node-labels k=v,...: added at registration */
        size_t n_node_labels;
        char **register_taints;     /* --register-with-taints / registerWithTaints: "key[=value]:Effect",
                                     * the Node's spec.taints when it registers */
        size_t n_register_taints;
        bool register_node;         /* registerNode, true */
        usec_t node_status_update_frequency; /* nodeStatusUpdateFrequency, 10 s */
        usec_t node_status_report_frequency; /* nodeStatusReportFrequency, 5 min */
        int node_lease_duration_seconds;     /* nodeLeaseDurationSeconds, 40 */
        int port;                   /* port, 10250 (0: no node server) */
        int healthz_port;           /* healthzPort, 10248 (0: none) */
        char *healthz_bind_address; /* healthzBindAddress, 127.0.0.1 */
        char *address;              /* address, 0.0.0.0 */
        char *tls_cert_file;        /* tlsCertFile */
        char *tls_private_key_file; /* tlsPrivateKeyFile */
        char *client_ca_file;       /* authentication.x509.clientCAFile */
        bool enable_server;         /* enableServer, true (false: no node server, whatever port says) */
        bool cgroup_driver_systemd; /* cgroupDriver: systemd (see cri/cgroup.h) */
        char *cgroup_root;          /* with it: the unit's delegated cgroup, found at start */
        /* --strict-config: a key that is not the kubelet's nor nodelet's is an error, not a
         * warning. Set before config_load_file(). */
        bool strict_config;
        /* What the agent warns about once at start (the loaders do not log): the file's keys
         * nodelet does not act on, its unknown keys, and the kubelet's flags it ignores
         * ("--flag: why"). */
        char **ignored_keys;
        size_t n_ignored_keys;
        char **unknown_keys;
        size_t n_unknown_keys;
        char **ignored_flags;
        size_t n_ignored_flags;
};

void config_init_defaults(struct nodelet_config *c);
/* Load a KubeletConfiguration-shaped YAML file (apiVersion kubelet.config.k8s.io/v1beta1,
 * kind KubeletConfiguration, plus a "nodelet" section for our own keys): bad values, and values
 * of the kubelet's keys nodelet cannot honour, are errors naming the key and the file; the
 * kubelet's keys nodelet does not act on go to ignored_keys, unknown keys to unknown_keys (an
 * error under strict_config). */
int config_load_file(struct nodelet_config *c, const char *path, nl_error *err);
/* `nodelet run` flags; they override the file (which --config names and is loaded first).
 * Returns 1 after --help. */
int config_parse_run_args(struct nodelet_config *c, int argc, char **argv, nl_error *err);
void config_done(struct nodelet_config *c);
/* Go's time.Duration.String() of a whole number of microseconds ("1m30s", "500ms", "0s"): the
 * kubelet's messages print durations so. */
char *config_format_duration(usec_t u);

/* The warnings the agent logs once at start, one per line (malloc'ed, NULL when none): the
 * file's keys nodelet does not act on (one line), its unknown keys (one line), each ignored
 * flag (a line each). */
char *config_warnings(const struct nodelet_config *c);
/* The cri layer's view of the configuration (pointers into c). */
void config_to_cri(const struct nodelet_config *c, struct cri_config *ret);
