/* SPDX-License-Identifier: Apache-2.0 */
/* Inside a pod worker: what agent/pod-worker.c, agent/probe-worker.c and agent/hooks.c share. */
#pragma once

#include "manager.h"
#include "probes/probes.h"

struct ctr;

/* One probe of one container (kubelet pkg/kubelet/prober/worker.go). */
struct probe_state {
        struct ctr *c;
        const struct pod_probe *spec; /* NULL: the container has no such probe */
        const char *kind;             /* "Startup", "Liveness", "Readiness" */
        int successes, failures;      /* consecutive, against the thresholds */
        bool result;                  /* the verdict so far */
        bool on_hold;                 /* a liveness/startup failure: wait for the restart */
        sd_event_source *timer;
        struct probe_op *op;          /* a network probe in flight */
        bool exec_busy;               /* an exec probe in flight (an op child) */
};

struct ctr {
        struct pod_worker *w;
        const struct pod_container *spec;
        bool init, sidecar;
        bool ephemeral; /* spec.ephemeralContainers (kubectl debug): started once, never restarted */
        char *id;      /* current container */
        char *prev_id; /* the previous one, kept for its logs (kubectl logs --previous) */
        struct container_status *st;
        struct container_status *last_term; /* the previous container's end, for lastState */
        unsigned restart_count;
        bool busy, pulling, done, killed;
        bool image_pulled; /* pulled for the next creation: pullPolicy Always pulls once per start */
        char *image_id, *image_id_of; /* the status's imageID, and the container it was read for */
        usec_t backoff, backoff_updated, exited_mono; /* CLOCK_MONOTONIC */
        char *waiting_reason, *waiting_message;
        sd_event_source *exit_watch;
        /* probes and hooks: a new container id starts them over (probe_gen) */
        struct probe_state startup, liveness, readiness;
        unsigned probe_gen;
        bool started, ready;          /* the probes' verdicts */
        bool post_start_pending;      /* started, its postStart hook not finished */
        bool hook_busy;               /* a hook in flight (postStart or preStop) */
        bool pre_stop_done;
        char *hook_kill_reason;       /* set when a hook or probe failure decided a kill */
        bool spec_restart;            /* its definition changed: killed to start again with the
                                         new spec whatever the restart policy */
        uint32_t backoff_hash;        /* the spec hash the back-off counts for */
        /* in-place resize: the resources (pod_resources_json) the running container has, those
         * it is being made with, and those an update in flight applies; resize_restart: its
         * resizePolicy asked for a restart */
        json_t *actuated, *creating_res, *updating;
        bool resize_restart;
        usec_t kill_deadline;         /* SIGKILL after this when such a kill is not done */
};

/* RUNNING -> TERMINATING (stop signals, grace period) -> STOPPED (everything dead; a pod that
 * ended stays here until its file goes) -> REMOVING -> REMOVED (the worker goes). */
enum worker_state { W_RUNNING, W_TERMINATING, W_STOPPED, W_REMOVING, W_REMOVED };

struct pod_worker {
        struct manager *m;
        struct pod *pod;
        struct pod *next; /* a replacement spec waiting for this pod to terminate */
        /* specs replaced in place: kept until the worker goes, as probes and hooks in flight
         * may still point into them */
        struct pod **retired;
        size_t n_retired;
        json_t *gate_conditions; /* cluster mode: the readiness gates' conditions in the API */
        /* In-place resize (agent/pod-worker.c "resize"): w->pod holds the allocated resources;
         * desired is the spec as the API has it while its resources are not allocated
         * (PodResizePending), else NULL. The conditions as the kubelet's status manager
         * keeps them: reason, message, observedGeneration, probe and transition times. */
        struct pod *desired;
        struct resize_condition {
                bool set;
                char *reason, *message;
                int64_t generation;
                usec_t probe, transition; /* CLOCK_REALTIME */
        } resize_pending, resize_progress;
        bool resize_busy;        /* a resize op in flight */
        bool pod_cgroup_stale;   /* the pod cgroup has not been set to the allocation yet */
        usec_t resize_retry_at, resize_retry_delay; /* Deferred: when to try again */
        usec_t resize_op_retry_at; /* a failed update: not again before this */
        char *uid;
        struct sandbox *sb;
        bool sb_busy, remove_busy;
        char *sb_error;
        char *runtime_wait; /* why the sandbox waits for the runtime, else NULL */
        struct cri_userns userns; /* hostUsers: false: the pod's host IDs */
        usec_t sb_retry_at;
        struct ctr *init, *app;
        size_t n_init, n_app;
        /* ephemeral containers, one allocation each: a spec update adds them while operations
         * hold pointers to the others */
        struct ctr **eph;
        size_t n_eph;
        enum worker_state state;
        bool failed_init, deadline_exceeded, remove_after;
        bool node_shutdown;   /* stopped for a node shutdown: Failed, reason Terminated */
        int64_t shutdown_grace; /* its grace period override, seconds */
        char *evicted_message;    /* the eviction manager killed it: reason Evicted, this message */
        bool evicted_disruption;  /* with the DisruptionTarget condition (pressure evictions) */
        nl_opt_int grace_override; /* the eviction's grace period, over the pod's */
        bool evicted_volumes_freed; /* its emptyDirs emptied once it stopped */
        usec_t start_realtime, kill_deadline; /* startTime: kept in pod.json across restarts */
        sd_event_source *defer, *timer;
        char *last_written;
        json_t *last_status; /* the status last built (conditions' transition times) */
        char *qos;
        char *rejected_reason, *rejected_message; /* admission said no: the pod never runs */
        json_t *events; /* the kubelet's events for this pod, newest last, bounded */
        bool events_dirty;
        usec_t pull_started;
        unsigned n_async; /* probe and hook work in flight: the worker is not freed under it */
        /* cluster mode: what the pod references in the API (agent/pod-data.c), fetched before
         * its sandbox, refreshed on every resync; NULL for static pods and in static mode */
        struct pod_data *data;
        struct pod_data_fetch *data_fetch;
        char *data_error;
        usec_t data_retry_at;
        bool data_stale;         /* fetch again before the next sandbox or container */
        bool data_volumes_busy;  /* a volume update in flight */
        bool data_volumes_again; /* newer data came during it */
};


/* Every container of the pod: init, then app, then ephemeral ones; i < ctr_count(w). */
size_t ctr_count(const struct pod_worker *w);
struct ctr *ctr_at(struct pod_worker *w, size_t i);

void schedule(struct pod_worker *w);
void arm_timer(struct pod_worker *w, usec_t when);
void kill_container(struct ctr *c, int sig);
bool running(const struct ctr *c);
const char *pod_name(const struct pod_worker *w);
char *pod_format(const struct pod_worker *w);
struct plan_context plan_context_for(struct manager *m, const struct sandbox *sb);
json_t *op_error(const char *reason, const nl_error *err, const char *fallback);
void pod_event(struct pod_worker *w, const char *type, const char *reason, const char *fmt, ...) _printf_(4, 5);

/* agent/probe-worker.c */
void probes_start(struct ctr *c); /* the container runs (its postStart hook is done) */
/* Run cmd in the container id within timeout, in an op child (exec probes and hooks): done gets
 * {"command", "code", "stdout", "stderr"}, or {"error", "timedOut"} when it did not run to its
 * end. */
int container_exec_start(struct manager *m, const char *what, const char *id, char *const *cmd, size_t n_cmd,
                         usec_t timeout, op_done_fn done, void *userdata);
void probes_stop(struct ctr *c);  /* the container stopped, or the pod terminates */
void probes_stop_liveness(struct ctr *c); /* the pod terminates: its liveness probes stop */

/* agent/hooks.c: run a lifecycle handler (exec, httpGet, sleep; tcpSocket is deprecated and
 * skipped as the kubelet does); done(ok, message) is called once, from the loop. */
typedef void (*hook_done_fn)(struct ctr *c, bool ok, const char *message);
int hook_run(struct ctr *c, const struct pod_lifecycle_handler *h, usec_t timeout, hook_done_fn done);

/* the container's port by name or number (the probe's port field), -1 when unknown */
int resolve_port(const struct ctr *c, const pod_int_or_string *port);
