/* SPDX-License-Identifier: Apache-2.0 */
/* The daemon: one sd-event loop, the static-pod source, a pod worker per pod, the runtime
 * layer behind asynchronous operations. */
#pragma once

#include <systemd/sd-event.h>

#include "config.h"
#include "log.h"
#include "agent/cluster/cluster.h"
#include "cri/cri.h"
#include "podspec/podspec.h"

struct manager;
struct pod_worker;
struct shutdown_manager;

struct csr_request;
struct cert_rotator;

/* ---- operations off the loop (agent/ops.c) ---- */

/* Runs in a forked child; returns the result object ({"error": "...", "reason": "..."} on
 * failure). */
typedef json_t *(*op_work_fn)(struct manager *m, const void *arg);
/* Runs on the loop with the child's result (never NULL). */
typedef void (*op_done_fn)(json_t *result, void *userdata);

int op_start(struct manager *m, const char *what, op_work_fn work, const void *arg, op_done_fn done, void *userdata);
/* At start: wait (bounded) until no op child of a previous daemon runs. */
void ops_wait_previous(struct manager *m);

/* ---- the runtime's readiness (agent/runtime-state.c) ---- */

struct runtime_state {
        bool known;              /* checked at least once */
        struct cri_status st;    /* the last answer */
        char *runtime_error, *network_error; /* the kubelet's words for what is not ready */
        uint64_t verified_id;    /* the runtime binary last seen to answer --version */
        bool checking;           /* a full check runs in an op child */
        sd_event_source *timer;
        bool userns_supported;   /* pods may have hostUsers: false (checked once, at start) */
        char *userns_error;      /* else why not */
};

/* ---- user namespace ranges (agent/userns.c) ---- */

struct userns_alloc {
        uint64_t first, per_pod, n_slots; /* the node's range: n_slots ranges of per_pod from first */
        uint8_t *used;                     /* a bit per slot */
};

/* ---- the node's resources and labels (agent/node-resources.c) ---- */

/* Quantities of the node's resources: cpu in millicores, the others in bytes, pods a count. */
struct node_resources {
        int64_t milli_cpu, memory, ephemeral_storage, hugepages_2mi, hugepages_1gi, pods;
};

/* ---- the manager (agent/manager.c) ---- */

/* Which UIDs each manifest file defined last, so a file's new content replaces exactly its
 * own pods. */
struct file_pods {
        char *path;
        char **uids;
        size_t n;
        json_t *objects; /* its ConfigMaps and Secrets (struct file_update) */
};

struct manager {
        sd_event *event;
        struct nodelet_config *cfg;
        struct cri_config cri;
        struct image_store *store;
        struct registry_client *registry;
        struct image_pull_backoff *pull_backoff;
        struct probe_runner *probes;
        /* cluster mode (--kubeconfig): NULL in static mode */
        struct kubeconfig *kubeconfig;
        struct api_client *api;
        struct api_source *api_source;
        /* TLS bootstrap (agent/cluster/bootstrap.c): until the CSR is signed, the bootstrap
         * kubeconfig and its client; kubeconfig and api are NULL meanwhile */
        struct kubeconfig *bootstrap_kc;
        struct api_client *bootstrap_api;
        struct csr_request *bootstrap_csr;
        char *bootstrap_key;
        sd_event_source *bootstrap_cleanup;
        struct cert_rotator *client_rotator, *server_rotator;
        struct node_status *node_status;
        struct node_server *node_server;
        struct file_source *files;
        struct pod_worker **workers;
        size_t n_workers;
        struct file_pods *file_pods;
        size_t n_file_pods;
        struct workloads *workloads; /* static mode */
        unsigned n_ops;
        sd_event_source *sync_timer, *image_gc_timer, *sigterm, *sigint, *watchdog;
        struct runtime_state runtime;
        struct userns_alloc userns;
        struct shutdown_manager *shutdown; /* graceful node shutdown; NULL when off */
        struct eviction_manager *eviction; /* agent/eviction.h */
        char *host_ip;
        /* the node as admission sees it (agent/node-resources.c): what the machine has, what
         * pods may have, the Node's labels and taints (the API's once known, else our own) */
        struct node_resources capacity, allocatable;
        json_t *node_labels; /* object */
        json_t *node_taints; /* array of {key, value, effect} */
        bool initial_scan_done, ready_sent, exiting;
};

int manager_new(struct nodelet_config *cfg, struct manager **ret, nl_error *err);
int manager_start(struct manager *m, nl_error *err);
void manager_free(struct manager *m);

/* A pod arrived or changed (spec replaces the worker's) or went away (spec NULL). */
void manager_pod_update(struct manager *m, const char *uid, struct pod *spec);
/* Static mode: the ConfigMap or Secret ns/name of the manifests (the first file, in name
 * order, that has it), or NULL. Borrowed. */
const json_t *manager_manifest_object(struct manager *m, bool secret, const char *ns, const char *name);
void manager_worker_gone(struct manager *m, struct pod_worker *w);
/* Labels or annotations of a running pod changed (pod is taken). */
void manager_pod_metadata(struct manager *m, const char *uid, struct pod *pod);
/* The API's status.conditions of a pod (borrowed), for its readiness gates. */
void manager_pod_conditions(struct manager *m, const char *uid, json_t *conditions);
/* The pod's status as its worker last built it, or NULL. Borrowed. */
const json_t *manager_pod_status(struct manager *m, const char *uid);
/* A worker runs this UID. */
bool manager_has_pod(struct manager *m, const char *uid);
/* The pod has state on disk (<root>/pods/<uid>/pod.json): it ran here before. */
bool manager_pod_on_disk(struct manager *m, const char *uid);
/* The API server deleted the pod: terminate it within grace; false when no worker runs it. */
bool manager_pod_delete(struct manager *m, const char *uid, const char *deletion_timestamp, int64_t grace);
/* Terminate pods on disk that no source wants (API pods only once the API source listed). */
void manager_cleanup_orphans(struct manager *m);
/* In-place resize admission (the kubelet's canAdmitPod for a ResizeOperation): whether pod,
 * with its new requests, fits the node's allocatable beside the other active pods' allocated
 * requests (self excluded). 0: fits; -1 with the kubelet's message ("Node didn't have enough
 * resource: cpu, requested: ..., used: ..., capacity: ..."). */
int manager_resize_admit(struct manager *m, const struct pod_worker *self, const struct pod *pod, char **ret_message);
/* Pods were removed or shrank: pending (Deferred) resizes are tried again. */
void manager_resize_retry(struct manager *m);
/* Say "STATUS=..." to systemd (no-op without NOTIFY_SOCKET). */
void manager_notify_status(struct manager *m);

/* Check the runtime now (it may run the binary: before the loop runs) and every 5 s after. */
int runtime_state_start(struct manager *m, nl_error *err);
void runtime_state_done(struct runtime_state *rs);
/* NULL when pods may start; else why not, in the kubelet's words (a hostNetwork pod needs the
 * runtime only, not the pod network). Borrowed. */
const char *manager_runtime_error(const struct manager *m, bool host_network);
/* The Node's Ready condition message when the runtime or its network is not ready, else NULL. */
char *manager_node_not_ready_message(const struct manager *m);

/* The node's ID range for pods in user namespaces (errors name the setting), then the ranges
 * pods on disk hold. */
int userns_manager_init(struct manager *m, nl_error *err);
void userns_manager_scan(struct manager *m);
void userns_manager_done(struct userns_alloc *a);
/* The pod's mapping: {0, 0} unless hostUsers is false; else the one it has (kept in its pod
 * dir) or a new one. -errno with the kubelet's message when it cannot have one. */
int userns_pod_mapping(struct manager *m, const struct pod *pod, struct cri_userns *ret, char **ret_error);
/* The pod is gone: its range is free again. */
void userns_pod_release(struct manager *m, const char *uid);


/* ---- graceful node shutdown (agent/shutdown.c) ---- */

/* With shutdownGracePeriod (or shutdownGracePeriodByPodPriority) set: hold logind's delay
 * inhibitor and stop pods when it announces a shutdown. No bus or no logind: a warning, off. */
int shutdown_manager_start(struct manager *m);
void shutdown_manager_free(struct shutdown_manager *sm);
/* Between logind's PrepareForShutdown(true) and (false): the Node is not Ready, no pod is
 * admitted. */
bool shutdown_manager_shutting_down(const struct manager *m);
/* Something the Node's status shows changed: report it now (cluster mode), and to systemd. */
void manager_node_changed(struct manager *m);
/* The pod with this UID still runs or is being stopped. */
bool manager_pod_stopping(struct manager *m, const char *uid);

/* The machine's capacity and the allocatable that follows from it (at start). */
int manager_node_resources_init(struct manager *m);
/* allocatable again from the capacity read at start: once the eviction manager has its
 * thresholds. */
void manager_node_allocatable_update(struct manager *m);
/* allocatable = capacity - kubeReserved - systemReserved - eviction reservation, each at least
 * 0; memory also less the hugepages (the kubelet's node status setter). */
void node_resources_allocatable(const struct node_resources *capacity, const struct config_reserved *kube_reserved,
                                const struct config_reserved *system_reserved,
                                const struct node_resources *eviction, struct node_resources *ret);
/* The labels the kubelet gives its Node (kubernetes.io/hostname, kubernetes.io/os,
 * kubernetes.io/arch and the beta ones, then --node-labels): a new object. */
json_t *manager_own_node_labels(const struct manager *m);
/* Go's GOARCH for uname's machine ("x86_64" -> "amd64"), as the Node's labels and nodeInfo say it. */
const char *node_go_arch(const char *machine);
/* The API server's Node (borrowed): its labels and taints are what admission matches from now. */
void manager_node_object(struct manager *m, json_t *node);
/* Quantities as the API prints them: "1900m", "2", "1024Ki", "1000". */
char *node_resources_format_cpu(int64_t milli);
char *node_resources_format_bytes(int64_t bytes);

/* ---- the node's certificates (agent/cluster/bootstrap.c) ---- */

/* --kubeconfig, or with --bootstrap-kubeconfig and no usable --kubeconfig the bootstrap's. */
int manager_cluster_load(struct manager *m, nl_error *err);
/* Send the bootstrap CSR; once signed, the kubeconfig is written and manager_start_cluster
 * runs (a failure ends the daemon with the reason). */
int manager_bootstrap_start(struct manager *m, nl_error *err);
/* Everything that needs the API server (node status, pods, node server, rotation). */
int manager_start_cluster(struct manager *m, nl_error *err);
/* Client rotation (rotateCertificates) and the serving CSR (serverTLSBootstrap). */
int manager_certs_start(struct manager *m, nl_error *err);
void manager_certs_free(struct manager *m);
/* <cert-dir>/kubelet-server-current.pem with serverTLSBootstrap (and no --tls-cert-file). */
char *manager_serving_cert_path(struct manager *m);

/* ---- the node server (agent/node-auth.c) ---- */

/* The node server (10250, 10248) with the API server's TokenReview and SubjectAccessReview; a
 * failure to bind is logged and the daemon goes on. */
int manager_start_node_server(struct manager *m);

/* ---- pod workers (agent/pod-worker.c) ---- */

struct pod_worker *pod_worker_new(struct manager *m, struct pod *pod);
/* A new spec for the same UID: the old pod is terminated first, then the new one runs. */
void pod_worker_update(struct pod_worker *w, struct pod *pod);
/* Terminate (grace period of the spec) and remove; the worker frees itself when done. */
void pod_worker_terminate(struct pod_worker *w);
/* The API server marked the pod deleted: take its deletionTimestamp and grace period, then
 * terminate. */
void pod_worker_delete(struct pod_worker *w, const char *deletion_timestamp, int64_t grace_seconds);
void pod_worker_free(struct pod_worker *w);
const char *pod_worker_uid(const struct pod_worker *w);
/* The pod's status as last built (phase, conditions, ...), NULL before the first. Borrowed. */
const json_t *pod_worker_status(const struct pod_worker *w);
const struct pod *pod_worker_pod(const struct pod_worker *w);
/* Running (not finished, not rejected): counts against the node's allocatable. */
bool pod_worker_active(const struct pod_worker *w);
/* Counts against the node at admission: admitted and not yet terminated (a pod being
 * terminated still holds its resources and host ports). */
bool pod_worker_admitted(const struct pod_worker *w);
/* A pod admission refused: reported Failed with reason and message, never run. */
struct pod_worker *pod_worker_new_rejected(struct manager *m, struct pod *pod, const char *reason, const char *message);
/* The replacement spec that waited for this pod's end, if any (ownership to the caller). */
struct pod *pod_worker_take_next(struct pod_worker *w);
/* New labels or annotations for the running pod (pod is taken): the downward API sees them. */
void pod_worker_metadata(struct pod_worker *w, struct pod *pod);
/* The pod's status.conditions as the API server has them (borrowed): the readiness gates'
 * conditions decide Ready. */
void pod_worker_conditions(struct pod_worker *w, json_t *conditions);
/* The node shuts down (the kubelet's node shutdown manager's killPod): stop the pod within
 * grace_seconds and keep it, reported Failed (unless it Succeeded) with reason Terminated and a
 * DisruptionTarget condition; it is not run again. */
void pod_worker_node_shutdown(struct pod_worker *w, int64_t grace_seconds);
/* Still running or stopping (not stopped yet). */
bool pod_worker_stopping(const struct pod_worker *w);
/* The eviction manager's kill, as the kubelet's TerminatePodAbnormally with Evict: an Evicted
 * event, the containers stopped within grace seconds, then phase Failed, reason Evicted and
 * message for good; with disruption, the DisruptionTarget condition (TerminationByKubelet). */
void pod_worker_evict(struct pod_worker *w, const char *message, int64_t grace, bool disruption);
/* The pod was evicted and everything of it has stopped. */
bool pod_worker_evicted_stopped(const struct pod_worker *w);
/* Re-check everything now (periodic resync). */
void pod_worker_kick(struct pod_worker *w);
/* The pod as allocated here (its allocation checkpoint, kept across restarts of the daemon):
 * 1 and *ret a copy with the allocated resources when they differ from pod's, else 0 (the
 * kubelet admits a pod it knows with its allocation: UpdatePodFromAllocation in AddPod). */
int pod_allocation_view(struct manager *m, const struct pod *pod, struct pod **ret);
/* Try a Deferred resize again (manager_resize_retry). */
void pod_worker_resize_retry(struct pod_worker *w);
