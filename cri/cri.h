/* SPDX-License-Identifier: Apache-2.0 */
/* cri: the runtime layer, shaped like the Kubernetes CRI's RuntimeService; this header is its
 * public face. Container planning, seccomp, the OCI runtime configuration, the runtime's
 * readiness, user namespaces, pod sandboxes, volumes, container logs, the shim and containers.
 * The image service (the CRI's ImageService) is cri/image/image.h, included here because
 * containers are made from images; the paths on disk are cri/layout.h. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/time-util.h"
#include "common/util.h"
#include "cri/image/image.h"

/* ==== container planning ================================================================== */
/* What a container will run, decided from the Pod, the container spec and the image config
 * before anything touches the node: command line, environment, user and groups, capabilities,
 * resources. Pure: files it needs (the image's /etc/passwd and /etc/group) are handed in. A
 * failure is a Pod status: reason is "CreateContainerConfigError" or "CreateContainerError"
 * and err says what, as the kubelet reports it. */

struct pod;
struct pod_container;

/* Values only the running node knows, for the downward API and resource defaults. */
struct plan_context {
        const char *node_name;
        const char *pod_ip;   /* first pod IP or NULL */
        char **pod_ips;       /* all pod IPs */
        size_t n_pod_ips;
        const char *host_ip;  /* first host IP or NULL */
        char **host_ips;
        size_t n_host_ips;
        int64_t node_allocatable_milli_cpu;   /* for limits.cpu when a container has no limit */
        int64_t node_allocatable_memory;      /* bytes */
        int64_t node_allocatable_ephemeral;   /* bytes */
        /* The node's bounding capability set (CapBnd of /proc/self/status), bit n for
         * capability n; 0 when unknown. Privileged containers get exactly these. */
        uint64_t host_capabilities;
        /* Contents of the image's /etc/passwd and /etc/group (NULL when absent). */
        const char *etc_passwd;
        const char *etc_group;
        /* ConfigMap and Secret keys for env (cluster mode); NULL in static mode. Returns the
         * value or NULL with *not_found set to "configmap"/"secret" object or key missing. */
        const char *(*lookup_key)(void *userdata, bool secret, const char *name, const char *key, bool *ret_object_missing);
        /* A whole ConfigMap's data or Secret's (decoded) data for envFrom: 0 with a JSON
         * object {key: value} (a new reference), -ENOENT when missing. NULL in static mode. */
        int (*get_object)(void *userdata, bool secret, const char *name, json_t **ret);
        void *userdata;
        /* The service links ("NAME=value", the kubelet's getServiceEnvVarMap): under the
         * container's own env (which wins by name) and visible to its $(VAR) expansion. */
        char *const *service_env;
        size_t n_service_env;
};

struct container_plan {
        char **args; /* process.args, never empty */
        size_t n_args;
        char **env; /* "NAME=value" */
        size_t n_env;
        char *cwd;
        uint32_t uid, gid;
        uint32_t *additional_gids;
        size_t n_additional_gids;
        char **cap_bounding; /* "CAP_CHOWN", ... */
        size_t n_cap_bounding;
        char **cap_effective; /* empty for non-root users, as containerd does */
        size_t n_cap_effective;
        bool privileged;
        bool no_new_privileges;
        bool read_only_rootfs;
        bool unmasked_proc;
        char *seccomp_type;      /* "Unconfined", "RuntimeDefault", "Localhost" */
        char *seccomp_localhost; /* relative profile path for Localhost */
        char *stop_signal;       /* from the image, or NULL: SIGTERM */
        bool tty, stdin_open, stdin_once;
        /* resources, already through the kubelet's formulas */
        uint64_t cpu_shares;   /* 2..262144 */
        int64_t cpu_quota;     /* microseconds per period, 0 = unlimited */
        uint64_t cpu_period;   /* 100000 */
        int64_t memory_limit;  /* bytes, 0 = unlimited */
        int oom_score_adj;
        const char *qos_class; /* static string */
};

/* Plan a container. restart_count picks nothing here but is kept for symmetry with the log
 * path. Returns 0, or -EINVAL with reason and err set. */
int container_plan_build(const struct pod *pod, const struct pod_container *c, const struct image_config *img,
                         const struct plan_context *ctx, struct container_plan **ret, const char **ret_reason,
                         nl_error *err);
void container_plan_free(struct container_plan *p);

/* The downward API's value of a resourceFieldRef (ExtractResourceValueByContainerNameAndNode-
 * Allocatable): the named container's request or limit, a missing limit being the node's
 * allocatable, divided by the divisor and rounded up. For env vars and volume files. */
struct pod_resource_field_selector;
int cri_resource_field_value(const struct pod *pod, const struct plan_context *ctx,
                             const struct pod_resource_field_selector *s, char **ret, nl_error *err);

/* The kubelet's cgroup and OOM formulas (pkg/kubelet/cm, pkg/kubelet/qos). */
uint64_t cri_milli_cpu_to_shares(int64_t milli);
int64_t cri_milli_cpu_to_quota(int64_t milli, uint64_t period);
int cri_oom_score_adj(const struct pod *pod, const struct pod_container *c, int64_t memory_capacity);

/* A container's cgroup values from its resources, with the formulas above (as the kubelet's
 * generateLinuxContainerResources): cpu shares from the request (else the limit), quota from
 * the cpu limit, memory limit; 0 quota or memory: none. */
struct cri_linux_resources {
        uint64_t cpu_shares, cpu_period;
        int64_t cpu_quota, memory_limit;
};
void cri_container_linux_resources(const struct pod_container *c, struct cri_linux_resources *ret);

/* ==== seccomp ============================================================================= */

/* The OCI "linux.seccomp" object for a container, or NULL for Unconfined:
 *   "RuntimeDefault": the default profile as containerd generates it (contrib/seccomp:
 *     the syscall allowlist, with the capability-dependent additions for the container's
 *     bounding set, and arch lists for this node);
 *   "Localhost": the JSON profile at <profile_root>/<localhost_profile> (docker/OCI format:
 *     defaultAction, architectures, syscalls[{names, action, args}]); the path must stay under
 *     profile_root; every syscall name is checked with libseccomp for this node's
 *     architectures. A missing file, bad JSON or unknown syscall is an error naming the
 *     profile (the pod worker reports it as CreateContainerError).
 * caps is the container's bounding set ("CAP_SYS_ADMIN", ...). */
int seccomp_profile_build(const char *type, const char *localhost_profile, const char *profile_root,
                          char *const *caps, size_t n_caps, json_t **ret, nl_error *err);

/* ==== OCI runtime configuration =========================================================== */

struct oci_mount {
        char *destination;
        char *type;   /* "bind", "tmpfs", ... */
        char *source;
        char **options;
        size_t n_options;
};

void oci_mount_done(struct oci_mount *m);

/* One pod's IDs: container IDs 0..size-1 are host IDs host_id..host_id+size-1, users and
 * groups alike (the kubelet's mapping). host_id 0: the pod uses the host's user namespace. */
struct cri_userns {
        uint32_t host_id, size;
};

struct oci_spec_input {
        const struct container_plan *plan;
        const char *rootfs; /* the container's merged root (overlay mount point) */
        const char *hostname;
        /* Namespaces to join by path; NULL means the host's (hostNetwork/hostPID/hostIPC) or,
         * for pid, a new one. Mount and (on cgroup v2) cgroup namespaces are always new. */
        const char *netns_path, *ipcns_path, *utsns_path, *pidns_path;
        /* the pod's user namespace to join, with its mapping (hostUsers: false); NULL: the host's */
        const char *userns_path;
        struct cri_userns userns;
        bool new_pid_ns;
        const char *cgroups_path; /* "/kubepods/burstable/pod<uid>/<container id>" */
        bool cgroup_v2;
        const struct oci_mount *mounts; /* volumes, /etc/hosts, /etc/resolv.conf, /dev/shm, ... */
        size_t n_mounts;
        const struct pod_sysctl *sysctls;
        size_t n_sysctls;
        json_t *seccomp;          /* from seccomp_profile_build, or NULL */
        json_t *annotations;      /* object or NULL */
        json_t *host_devices;     /* privileged: the host's devices as OCI linux.devices entries, or NULL */
};

/* The host's device nodes under /dev as OCI linux.devices entries, as containerd gives a
 * privileged container (oci.WithHostDevicesAndAllowAll): character and block devices, not
 * /dev/console, /dev/pts, /dev/shm, /dev/mqueue or /dev/fd, links left out. */
json_t *oci_host_devices(void);

/* The OCI runtime-spec config.json for a container, as containerd's CRI plugin would write it:
 * default mounts (/proc, /dev, /dev/pts, /dev/mqueue, /sys, /sys/fs/cgroup), masked and
 * read-only paths (unless privileged, or procMount Unmasked in a user namespace of the pod's
 * own: never for real root), device cgroup rules,
 * capabilities, resources, namespaces, sysctls. Mounts in the input replace defaults with the
 * same destination. */
json_t *oci_spec_build(const struct oci_spec_input *in);

/* ==== the runtime: configuration ========================================================== */

struct cri_config {
        const char *root_dir;     /* /var/lib/nodelet: pods/<uid>/, containers/<id>/ */
        const char *run_dir;      /* /run/nodelet: sandboxes/<id>/ (pinned namespaces), runtime/ */
        const char *log_dir;      /* /var/log/pods */
        const char *containers_log_dir; /* /var/log/containers (symlinks) */
        const char *runtime_path; /* "crun", "runc" or a path */
        const char *shim_path;    /* the nodelet-shim binary */
        const char *cni_conf_dir; /* /etc/cni/net.d */
        char *const *cni_bin_dirs;
        size_t n_cni_bin_dirs;
        const char *seccomp_root; /* Localhost profiles: <root_dir>/seccomp */
        const char *node_name;
        const char *resolv_conf;  /* the node's resolv.conf for dnsPolicy Default (/etc/resolv.conf) */
        const char *cluster_dns;  /* ClusterFirst nameserver, or NULL: then as Default */
        const char *cluster_domain; /* "cluster.local" */
        int64_t log_max_size;     /* bytes per log file, 10 MiB */
        int log_max_files;        /* 5 */
        const char *cgroup_root;  /* where /kubepods is: NULL or "" at the hierarchy's root (cgroupfs),
                                   * else the cgroup of nodelet's unit (cgroupDriver systemd) */
};

/* cgroupDriver systemd (cri/cgroup.h): the delegated cgroup of the unit this process was
 * started in, for cri_config.cgroup_root; on cgroup v2 the process moves into its "nodelet"
 * leaf below it. An error says why the cgroup cannot be used. */
int cri_cgroup_delegate(char **ret_root, nl_error *err);

/* ==== the runtime's readiness (the CRI's Status: RuntimeReady and NetworkReady) ============ */

struct cri_condition {
        bool ready;
        char *reason, *message; /* NULL when ready */
};

struct cri_status {
        struct cri_condition runtime, network;
        /* the runtime binary that was checked and a digest of its identity (device, inode,
         * size, mtime): 0 when it was not found. A caller that ran it once may skip running
         * it again while the identity stays. */
        uint64_t binary_id;
};

/* Can pods run here? runtime: the OCI runtime binary is found (and, with run_binary, answers
 * --version within 10 s: a child process, so off the event loop only), and the node suits it
 * (crun and hybrid cgroups). network: a CNI config in cfg->cni_conf_dir whose plugins are all
 * in the bin dirs. Reasons and messages name the cause and the fix. Never fails: out of memory
 * reads as not ready. */
void cri_status(const struct cri_config *cfg, bool run_binary, struct cri_status *ret);
void cri_status_done(struct cri_status *s);

/* ==== user namespaces (hostUsers: false) ================================================== */

/* Can pods have their own user namespace here? The kernel (6.3 or later, the kubelet's minimum)
 * and idmapped mounts on dir's file system (the root dir: image layers and volumes). 0, or
 * -errno with why in err. Forks a short-lived child. */
int cri_userns_supported(const char *dir, nl_error *err);

/* ==== pod sandboxes ======================================================================= */

struct sandbox {
        char *id;  /* 32 lowercase hex */
        char *pod_uid, *pod_name, *pod_namespace;
        char *dir; /* <run_dir>/sandboxes/<id>: namespace files, sandbox.json */
        /* Pinned namespace files (bind mounts of /proc/<pid>/ns/<type>); NULL when the pod uses the
         * host's (hostNetwork, hostIPC) or, for pid, when the pod has no shared namespace. */
        char *netns_path, *ipcns_path, *utsns_path, *pidns_path;
        /* hostUsers: false: the pod's pinned user namespace (the others above belong to it) and
         * its mapping; NULL and {0, 0} otherwise */
        char *userns_path;
        struct cri_userns userns;
        pid_t pid_holder; /* the shared pid namespace's init, or 0 */
        bool host_network, host_pid, host_ipc;
        char **ips; /* from CNI; the host's for hostNetwork */
        size_t n_ips;
        char *hostname;
        /* files the containers bind-mount: <root_dir>/pods/<uid>/etc-hosts, resolv.conf,
         * hostname; hosts_path is NULL when the kubelet would not manage /etc/hosts */
        char *hosts_path, *resolv_path, *hostname_path;
        char *shm_path;      /* tmpfs shared by the pod's containers (/dev/shm), NULL for hostIPC */
        char *cgroup_parent; /* "/kubepods/burstable/pod<uid>" */
};

/* Like CRI RunPodSandbox: pin namespaces, set the hostname, run CNI ADD (with portMappings
 * for hostPorts), write /etc/hosts, resolv.conf and hostname, create the pod cgroup, apply
 * nothing of the containers. On failure everything done is undone; err names the step
 * (the pod worker reports it as the PodReadyToStartContainers condition / a pod event). */
int cri_sandbox_run(const struct cri_config *cfg, const struct pod *pod, struct sandbox **ret, nl_error *err);
/* The same, in a user namespace of its own with the mapping userns (allocated by the caller,
 * which keeps it for the pod's life), unless userns is NULL or host_id is 0. */
int cri_sandbox_run_userns(const struct cri_config *cfg, const struct pod *pod, const struct cri_userns *userns,
                           struct sandbox **ret, nl_error *err);
/* CNI DEL, unmount and remove namespace files, stop the pid holder; idempotent. */
int cri_sandbox_stop(const struct cri_config *cfg, struct sandbox *sb, nl_error *err);
/* Remove what stop left (files, the pod cgroup). */
int cri_sandbox_remove(const struct cri_config *cfg, struct sandbox *sb, nl_error *err);
/* Read a sandbox back from <run_dir>/sandboxes/<id>/sandbox.json (after a daemon restart). */
int cri_sandbox_load(const struct cri_config *cfg, const char *id, struct sandbox **ret, nl_error *err);
int cri_sandbox_list(const struct cri_config *cfg, char ***ret_ids, size_t *ret_n);
void sandbox_free(struct sandbox *sb);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct sandbox *, sandbox_free)

/* ==== volumes ============================================================================= */

/* Set up the pod's volumes under <root_dir>/pods/<uid>/volumes/<plugin>/<name>: emptyDir
 * (a directory, or tmpfs for medium Memory with sizeLimit), hostPath (type checks, creation
 * for DirectoryOrCreate and FileOrCreate), downwardAPI, and the atomic-writer projections
 * (configMap, secret, projected: a timestamped directory swapped in through the "..data"
 * symlink, file modes, fsGroup ownership). Idempotent: an existing volume is updated in place.
 * ConfigMaps and Secrets come from ctx->lookup_key-style callbacks (NULL in static mode: a
 * non-optional source is then an error naming it). */
struct volume_context {
        const struct plan_context *plan; /* downward API values */
        /* Whole ConfigMap/Secret data for volumes: returns 0 with a JSON object {key: value}
         * (secrets base64-decoded already), -ENOENT when missing. NULL in static mode. */
        int (*get_object)(void *userdata, bool secret, const char *name, json_t **ret);
        /* A service account token for a projected serviceAccountToken source (a TokenRequest
         * for the pod's service account, bound to the pod): 0 with a malloc'd token, -errno
         * when there is none. NULL in static mode: such a projection is then an error. */
        int (*get_token)(void *userdata, const char *audience, int64_t expiration_seconds, char **ret_token);
        void *userdata;
};
int cri_volumes_setup(const struct cri_config *cfg, const struct pod *pod, const struct volume_context *ctx,
                      nl_error *err);
/* Unmount and remove every volume of the pod (tmpfs, subPath bind mounts, directories). */
int cri_volumes_teardown(const struct cri_config *cfg, const char *pod_uid, nl_error *err);

/* The OCI mounts for one container's volumeMounts, subPath and subPathExpr resolved without
 * following symlinks out of the volume (CVE-2017-1002101, CVE-2021-25741): the resolved path
 * is opened component by component with O_NOFOLLOW beneath the volume root and bind-mounted
 * from its fd to <root_dir>/pods/<uid>/volume-subpaths/<volume>/<container>/<index>. An escape
 * attempt is an error (the pod worker reports CreateContainerConfigError), never a host mount.
 * env is the container's environment for subPathExpr. */
int cri_volume_mounts(const struct cri_config *cfg, const struct pod *pod, const struct pod_container *c,
                      char *const *env, size_t n_env, struct oci_mount **ret, size_t *ret_n, nl_error *err);

/* ==== container logs ====================================================================== */

/* <log_dir>/<namespace>_<name>_<uid>/<container>/<restart>.log */
char *cri_log_path(const struct cri_config *cfg, const struct pod *pod, const char *container, unsigned restart);
/* Remove <log_dir>/<ns>_<name>_<uid>/ with every log in it, once the pod is removed. */
int cri_pod_logs_remove(const struct cri_config *cfg, const struct pod *pod);

struct log_line {
        char *time;   /* RFC3339Nano as written */
        bool stderr_; /* stream */
        bool partial; /* "P": continued in the next entry */
        char *msg;
};
/* Parse one CRI log line "<time> <stdout|stderr> <P|F> <msg>"; -EINVAL when malformed. */
int cri_log_parse_line(const char *line, size_t len, struct log_line *ret);
void log_line_done(struct log_line *l);
/* The last max_bytes of a container's log (joined messages, both streams), for
 * terminationMessagePolicy FallbackToLogsOnError (the kubelet reads at most 80 lines / 2 KiB
 * from its log tail... see the implementation for the exact rule). */
int cri_log_tail(const char *path, size_t max_lines, size_t max_bytes, char **ret);

/* ==== the shim ============================================================================ */
/* nodelet-shim (cri/shim/): one per container, detached from the daemon (setsid, reparented to
 * init), child subreaper of the container's init. It runs "<runtime> create", owns the
 * container's stdout/stderr and writes them as CRI log lines with rotation, reaps the init,
 * and writes <state_dir>/exit.json atomically. The daemon starts the container with
 * "<runtime> start" itself (so it controls postStart ordering) and reads exit.json.
 *
 * Invocation: nodelet-shim --id ID --bundle DIR --state DIR --runtime PATH --runtime-root DIR
 *                          --log PATH [--log-max-size BYTES] [--log-max-files N]
 *                          [--cgroup PATH] [--tty] [--stdin [--stdin-once]]
 * It prints one line on stdout and exits its foreground part:
 *   "created <pid>\n" (exit 0) once the runtime created the container, or
 *   "error <message>\n" (exit 1) with the runtime's error text.
 * State files (in --state): shim.pid, container.pid, exit.json:
 *   {"exitCode": N, "signal": N, "oomKilled": bool, "finishedAt": "<RFC3339Nano>",
 *    "reason": "Completed"|"Error"|"OOMKilled"}  */

struct shim_start {
        const char *shim_path, *runtime_path, *runtime_root;
        const char *id, *bundle, *state_dir, *log_path;
        int64_t log_max_size;
        int log_max_files;
        const char *cgroup_path; /* the container's cgroup, for the OOM count */
        bool tty;
        bool stdin_open, stdin_once; /* the container's stdin and stdinOnce (attach) */
};

/* Run the shim and wait for its "created"/"error" line (bounded by a timeout). On success
 * *ret_pid is the container's init pid. */
int shim_create(const struct shim_start *s, pid_t *ret_pid, nl_error *err);

struct shim_exit {
        int exit_code, signal;
        bool oom_killed;
        char *finished_at; /* RFC3339Nano */
        char *reason;      /* "Completed", "Error", "OOMKilled", "ContainerStatusUnknown" */
        char *message;     /* optional: why, when the record was not the shim's */
};

/* Read <state_dir>/exit.json: 0 and *ret filled, -ENOENT while the container runs. */
int shim_read_exit(const char *state_dir, struct shim_exit *ret, nl_error *err);
void shim_exit_done(struct shim_exit *e);
/* Whether the shim of state_dir is alive (pid file + /proc check, no pid reuse confusion:
 * the process's start time is recorded with the pid). */
bool shim_alive(const char *state_dir);
/* The shim's pid and start time as it recorded them in <state_dir>/shim.pid. */
int shim_read_pid(const char *state_dir, pid_t *ret_pid, uint64_t *ret_start);

/* ==== containers ========================================================================== */

struct container_create {
        const struct cri_config *cfg;
        struct image_store *store;
        const struct sandbox *sb;
        const struct pod *pod;
        const struct pod_container *c;
        unsigned restart_count;
        const struct plan_context *plan_ctx; /* downward API values; passwd/group are read here */
        const char *target_id; /* an ephemeral container's target (targetContainerName): its PID
                                  namespace is joined; NULL for the pod's own */
};

/* Like CRI CreateContainer: look up the image, mount the overlay rootfs, plan the process,
 * resolve volume mounts, build config.json, create the log file and its
 * /var/log/containers link, and have the shim create the container (not started). On failure
 * *ret_reason is the kubelet's waiting reason ("CreateContainerConfigError" or
 * "CreateContainerError") and nothing is left behind. */
int cri_container_create(const struct container_create *in, char **ret_id, const char **ret_reason, nl_error *err);
/* "<runtime> start"; records startedAt. Reason on failure: RunContainerError. */
int cri_container_start(const struct cri_config *cfg, const char *id, nl_error *err);
/* Signal the container's init (sig 0: the image's STOPSIGNAL or SIGTERM). */
int cri_container_kill(const struct cri_config *cfg, const char *id, int sig, nl_error *err);
/* In-place resize, as the kubelet's doPodResizeAction: the pod cgroup (sb's) is set to what
 * pod asks for (cgroup_pod_resources), the containers ids[i] to what specs[i] ask for through
 * "<runtime> update", no restart. Limits that grow are raised on the pod cgroup before the
 * containers, limits that shrink are lowered on the containers first, so that a container
 * never exceeds its pod. The error names the container or the cgroup file. */
int cri_pod_resize(const struct cri_config *cfg, const struct sandbox *sb, const struct pod *pod, char *const *ids,
                   const struct pod_container *const *specs, size_t n, nl_error *err);
/* "<runtime> delete -f", unmount the rootfs, remove the container's directory (logs stay). */
int cri_container_remove(const struct cri_config *cfg, const char *id, nl_error *err);

enum container_state { CONTAINER_CREATED, CONTAINER_RUNNING, CONTAINER_EXITED, CONTAINER_UNKNOWN };

struct container_status {
        char *id, *pod_uid, *name, *image, *image_id, *log_path;
        unsigned restart_count;
        bool has_hash;  /* containers made before nodelet kept the hash have none */
        uint32_t hash;  /* pod_container_hash() of the spec it was made from (the kubelet's
                           io.kubernetes.container.hash label) */
        enum container_state state;
        pid_t pid;
        usec_t created_at, started_at, finished_at; /* CLOCK_REALTIME, 0 when not yet */
        int exit_code, signal;
        char *reason;  /* Completed, Error, OOMKilled, or NULL */
        char *message; /* the termination message (file, or log tail on error with
                          FallbackToLogsOnError), at most 4096 bytes */
        char *stop_signal;
};

/* CONTAINER_UNKNOWN: the shim is gone and left no exit record (killed, or the node rebooted);
 * reported as exit code 137, reason ContainerStatusUnknown. Reading only. */
int cri_container_status(const struct cri_config *cfg, const char *id, struct container_status **ret,
                         nl_error *err);
/* The same for the container's owner (the pod worker): a container found lost is first
 * settled, as containerd settles a dead shim's task: "<runtime> delete --force" kills what
 * may still run of it, unwatched, and an exit record (137, ContainerStatusUnknown) is written,
 * so that it is exited for every later reader and the restart policy applies. That one runtime
 * call runs on the caller's thread: rare (a shim killed, a reboot), and a few milliseconds. */
int cri_container_status_settle(const struct cri_config *cfg, const char *id, struct container_status **ret,
                                nl_error *err);
void container_status_free(struct container_status *s);
/* The containers on the node (NULL-terminated; what could be read when out of memory). */
int cri_container_list(const struct cri_config *cfg, char ***ret_ids, size_t *ret_n);
/* The images the node's containers use, running or kept for their logs (what the kubelet's image
 * GC keeps): image_ids[i] is used by container_ids[i], one entry per container that has an
 * image. Both NULL-terminated. */
int cri_images_in_use(const struct cri_config *cfg, char ***ret_image_ids, char ***ret_container_ids,
                      size_t *ret_n);
/* The pid of the container's shim (it exits right after writing the container's exit record,
 * so a pidfd on it tells when the container ended); -ENOENT before it started. */
int cri_container_shim_pid(const struct cri_config *cfg, const char *id, pid_t *ret);

/* A command started in a running container with its stdio kept open for a stream (kubectl exec):
 * the runtime's exec runs as our child in the foreground, so its exit status is the command's.
 * With a tty the runtime hands the pty's master over a console socket (as containerd and
 * conmon get it): stdin_fd and stdout_fd are then two descriptors of it, stderr_fd -1. */
struct cri_exec_process {
        pid_t pid;  /* the runtime's exec */
        int pidfd;  /* readable when it exited */
        int stdin_fd, stdout_fd, stderr_fd; /* ours to write / read; -1 when not asked for */
        int pty;    /* the pty master (resize), or -1 */
        int attach_fd;  /* attach with a tty: the shim's socket (resize), or -1 */
        char *pid_file; /* the command's pid in the container: killed when the client goes */
};
/* Start argv in container id. want_stdin: a pipe (else /dev/null); want_stdout/want_stderr:
 * pipes (else /dev/null). With a tty, width and height (when not 0) size its terminal from
 * the start. */
int cri_exec_start(const struct cri_config *cfg, const char *id, char *const *argv, bool tty, bool want_stdin,
                   bool want_stdout, bool want_stderr, uint16_t width, uint16_t height,
                   struct cri_exec_process *ret, nl_error *err);
int cri_exec_resize(const struct cri_exec_process *p, uint16_t width, uint16_t height);
/* Reap the runtime: the command's exit code (128+signal when killed); -errno with the reason
 * when the runtime itself failed. */
int cri_exec_wait(struct cri_exec_process *p, int *ret_exit_code, nl_error *err);
/* The client went away: the command in the container and the runtime are killed. */
void cri_exec_kill(struct cri_exec_process *p);
/* Closes what is still open (not the fds handed on: set them to -1 first), unlinks the pid file. */
void cri_exec_process_done(struct cri_exec_process *p);

/* Attach to a running container through its shim's attach socket (kubectl attach): the same
 * process shape as an exec, but the "process" is a bridge that ends when the container's
 * output does (or the caller goes); killing it never touches the container. tty: the
 * container's spec has one (output is then all stdout, resizes reach its terminal). */
int cri_attach_start(const struct cri_config *cfg, const char *id, bool tty, bool want_stdin, bool want_stdout,
                     bool want_stderr, struct cri_exec_process *ret, nl_error *err);
/* The same attach in the caller's process, on its fds (nodelet attach): in_fd -1 for no stdin;
 * width/height 0 for no terminal size. Returns when the container's output ended or out_fd
 * was closed. */
int cri_attach_run(const struct cri_config *cfg, const char *id, int in_fd, int out_fd, int err_fd,
                   uint16_t width, uint16_t height, nl_error *err);

/* Run argv in the container and collect its output (each stream capped at max_output bytes)
 * and exit code; -ETIMEDOUT when it ran past timeout (it is killed). */
int cri_exec_sync(const struct cri_config *cfg, const char *id, char *const *argv, usec_t timeout,
                  size_t max_output, char **ret_stdout, char **ret_stderr, int *ret_exit_code, nl_error *err);
