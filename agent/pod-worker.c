/* SPDX-License-Identifier: Apache-2.0 */
/* One pod's life, event driven: sandbox -> images -> init containers in order (sidecars
 * started before the next init container) -> app containers -> running, restarts with the
 * kubelet's back-off -> termination. Like the kubelet's SyncPod, sync() is idempotent: it
 * looks at what is and starts what is missing; every event (an operation finished, a
 * container exited, a timer fired, a new spec) just schedules another sync. */
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>

#include "common/fs.h"
#include "common/time-util.h"
#include "agent/state/state.h"
#include "manager.h"
#include "cri/layout.h"
#include "agent/cluster/pod-data.h"

#define BACKOFF_INITIAL (10 * USEC_PER_SEC) /* the kubelet's container restart back-off */
#define BACKOFF_MAX (300 * USEC_PER_SEC)

#include "pod-actions.h"
#include "pod-worker.h"


#define MAX_EVENTS 64

/* An event as the kubelet records it (type Normal/Warning, reason, message); a repeat of the
 * last identical one bumps its count and lastTimestamp, as the event recorder's correlator
 * does. Kept per pod in events.json beside pod.json. */
void pod_event(struct pod_worker *w, const char *type, const char *reason, const char *fmt, ...) {
        _cleanup_free_ char *msg = NL_FORMAT_VA(fmt);
        if (!msg || !w->events)
                return;
        char *now = format_rfc3339(now_realtime());
        size_t i;
        json_t *e;
        json_array_foreach(w->events, i, e) {
                if (streq_ptr(json_string_value(json_object_get(e, "reason")), reason) &&
                    streq_ptr(json_string_value(json_object_get(e, "message")), msg)) {
                        json_object_set_new(e, "count", json_integer(json_integer_value(json_object_get(e, "count")) + 1));
                        json_object_set_new(e, "lastTimestamp", json_string(strempty(now)));
                        json_incref(e);
                        json_array_remove(w->events, i);
                        json_array_append_new(w->events, e);
                        api_source_pod_event(w->m->api_source, w->pod, e);
                        free(now);
                        w->events_dirty = true;
                        return;
                }
        }
        if (json_array_size(w->events) >= MAX_EVENTS)
                json_array_remove(w->events, 0);
        json_t *ev = json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:s}", "type", type, "reason", reason, "message", msg,
                               "count", 1, "firstTimestamp", strempty(now), "lastTimestamp", strempty(now), "source",
                               "kubelet");
        json_array_append_new(w->events, ev);
        api_source_pod_event(w->m->api_source, w->pod, ev);
        free(now);
        w->events_dirty = true;
}

/* in-place resize, below */
static void write_allocation(struct pod_worker *w);
static int64_t pod_generation(const struct pod_worker *w);
struct resize_condition;
static json_t *resize_condition_json(const char *type, const struct resize_condition *c);

/* ---- small helpers ------------------------------------------------------------------------ */

/* the kubelet's nodeShutdownMessage */
#define NODE_SHUTDOWN_MESSAGE "Pod was terminated in response to imminent node shutdown."

static void set_waiting(struct ctr *c, const char *reason, const char *fmt, ...) _printf_(3, 4);
static void set_waiting(struct ctr *c, const char *reason, const char *fmt, ...) {
        free(c->waiting_reason);
        free(c->waiting_message);
        c->waiting_reason = reason ? strdup(reason) : NULL;
        c->waiting_message = NULL;
        c->waiting_message = NL_FORMAT_VA(fmt);
}

const char *pod_name(const struct pod_worker *w) {
        return strempty(w->pod->metadata.name);
}

/* format.Pod: name_namespace(uid) */
char *pod_format(const struct pod_worker *w) {
        return nl_strdupf("%s_%s(%s)", pod_name(w), strempty(w->pod->metadata.namespace), w->uid);
}

size_t ctr_count(const struct pod_worker *w) {
        return w->n_init + w->n_app + w->n_eph;
}

struct ctr *ctr_at(struct pod_worker *w, size_t i) {
        if (i < w->n_init)
                return &w->init[i];
        if (i < w->n_init + w->n_app)
                return &w->app[i - w->n_init];
        return w->eph[i - w->n_init - w->n_app];
}

bool running(const struct ctr *c) {
        return c->id && c->st && (c->st->state == CONTAINER_RUNNING || c->st->state == CONTAINER_CREATED);
}

static bool host_network(const struct pod_worker *w) {
        return w->pod->spec.host_network.set && w->pod->spec.host_network.v;
}

static bool exited(const struct ctr *c) {
        return c->id && c->st && (c->st->state == CONTAINER_EXITED || c->st->state == CONTAINER_UNKNOWN);
}

/* ---- exit watching: the shim's pidfd becomes readable when the shim exits ---------------- */

static int on_shim_exit(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct ctr *c = userdata;
        c->exit_watch = sd_event_source_disable_unref(c->exit_watch);
        schedule(c->w);
        return 0;
}

static void watch_exit(struct ctr *c) {
        if (c->exit_watch || !c->id)
                return;
        pid_t pid;
        if (cri_container_shim_pid(&c->w->m->cri, c->id, &pid) < 0)
                return;
        int fd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (fd < 0)
                return; /* already gone: the next sync reads exit.json */
        if (sd_event_add_io(c->w->m->event, &c->exit_watch, fd, EPOLLIN, on_shim_exit, c) < 0) {
                close(fd);
                return;
        }
        (void) sd_event_source_set_io_fd_own(c->exit_watch, true);
        (void) sd_event_source_set_description(c->exit_watch, "container-exit");
}

/* ---- refreshing what the runtime says ------------------------------------------------------ */

static void refresh(struct ctr *c) {
        if (!c->id)
                return;
        struct container_status *st = NULL;
        if (cri_container_status_settle(&c->w->m->cri, c->id, &st, NULL) < 0)
                return;
        bool was_exited = exited(c);
        container_status_free(c->st);
        c->st = st;
        if (exited(c) && !was_exited) {
                c->exited_mono = now_monotonic();
                c->exit_watch = sd_event_source_disable_unref(c->exit_watch);
                probes_stop(c);
                log_pod(2, pod_name(c->w), c->w->uid, c->spec->name, "pod %s: container %s exited with %d (%s)",
                        pod_name(c->w), c->spec->name, st->exit_code, strempty(st->reason));
        } else if (running(c))
                watch_exit(c);
}

/* ---- operations ----------------------------------------------------------------------------- */

struct sandbox_arg {
        const struct pod *pod;
};

static json_t *sandbox_json(const struct sandbox *sb) {
        json_t *ips = json_array();
        for (size_t i = 0; i < sb->n_ips; i++)
                json_array_append_new(ips, json_string(sb->ips[i]));
        return json_pack("{s:s, s:o}", "id", sb->id, "ips", ips);
}

json_t *op_error(const char *reason, const nl_error *err, const char *fallback) {
        return json_pack("{s:s, s:s}", "error", err && err->msg ? err->msg : fallback, "reason", strempty(reason));
}

struct plan_context plan_context_for(struct manager *m, const struct sandbox *sb) {
        /* a hostNetwork pod's IPs are the node's as the agent chose them (one per family), as
         * the kubelet reports them, not every address of the host */
        bool host = sb && sb->host_network && m->host_ip;
        return (struct plan_context){
                .node_name = m->cfg->node_name,
                .pod_ip = host ? m->host_ip : sb && sb->n_ips ? sb->ips[0] : NULL,
                .pod_ips = host ? &m->host_ip : sb ? sb->ips : NULL,
                .n_pod_ips = host ? 1 : sb ? sb->n_ips : 0,
                .host_ip = m->host_ip,
                .host_ips = m->host_ip ? &m->host_ip : NULL,
                .n_host_ips = m->host_ip ? 1 : 0,
                .node_allocatable_milli_cpu = m->allocatable.milli_cpu,
                .node_allocatable_memory = m->allocatable.memory,
                .node_allocatable_ephemeral = m->allocatable.ephemeral_storage,
        };
}

/* In the child: sandbox, then volumes (they need the pod IP for the downward API). */
static json_t *work_sandbox(struct manager *m, const void *arg) {
        const struct pod_worker *w = arg;
        const struct pod *pod = w->pod;
        struct sandbox *sb = NULL;
        nl_error err = NL_ERROR_INIT;
        if (cri_sandbox_run_userns(&m->cri, pod, &w->userns, &sb, &err) < 0)
                return op_error(NULL, &err, "sandbox failed");
        struct plan_context pc = plan_context_for(m, sb);
        struct volume_context vc = { .plan = &pc };
        if (w->data)
                pod_data_fill_volumes(w->data, &vc);
        if (cri_volumes_setup(&m->cri, pod, &vc, &err) < 0) {
                nl_error ignored = NL_ERROR_INIT;
                cri_sandbox_stop(&m->cri, sb, &ignored);
                cri_sandbox_remove(&m->cri, sb, &ignored);
                nl_error_clear(&ignored);
                sandbox_free(sb);
                return op_error("FailedMount", &err, "volumes failed");
        }
        /* the pod's record of its sandbox, written here too: should the daemon die before it
         * reads this result, the next one (which waits for this child) still finds it */
        _cleanup_free_ char *id_path = layout_pod_file(m->cri.root_dir, w->uid, LAYOUT_SANDBOX_ID);
        if (id_path)
                (void) nl_write_file_atomic(id_path, sb->id, strlen(sb->id), 0600);
        json_t *j = sandbox_json(sb);
        sandbox_free(sb);
        return j;
}

static void done_sandbox(json_t *result, void *userdata) {
        struct pod_worker *w = userdata;
        w->sb_busy = false;
        const char *error = json_string_value(json_object_get(result, "error"));
        if (error) {
                log_pod(1, pod_name(w), w->uid, NULL, "pod %s: %s", pod_name(w), error);
                if (streq_ptr(json_string_value(json_object_get(result, "reason")), "FailedMount")) {
                        /* as the kubelet's volume manager: the object may come, ask again */
                        pod_event(w, "Warning", "FailedMount", "%s", error);
                        w->data_stale = true;
                } else
                        pod_event(w, "Warning", "FailedCreatePodSandBox", "Failed to create pod sandbox: %s", error);
                free(w->sb_error);
                w->sb_error = strdup(error);
                w->sb_retry_at = now_monotonic() + BACKOFF_INITIAL;
        } else {
                const char *id = json_string_value(json_object_get(result, "id"));
                nl_error err = NL_ERROR_INIT;
                if (!id || cri_sandbox_load(&w->m->cri, id, &w->sb, &err) < 0) {
                        log_pod(0, pod_name(w), w->uid, NULL, "pod %s: sandbox %s: %s", pod_name(w), strempty(id), strempty(err.msg));
                        w->sb_retry_at = now_monotonic() + BACKOFF_INITIAL;
                } else {
                        free(w->sb_error);
                        w->sb_error = NULL;
                        _cleanup_free_ char *path =
                                layout_pod_file(w->m->cri.root_dir, w->uid, LAYOUT_SANDBOX_ID);
                        if (path)
                                (void) nl_write_file_atomic(path, id, strlen(id), 0600);
                        log_pod(2, pod_name(w), w->uid, NULL, "pod %s: sandbox %.12s ready", pod_name(w), id);
                }
                nl_error_clear(&err);
        }
        schedule(w);
}

struct create_arg {
        const struct pod *pod;
        const struct pod_container *c;
        const struct sandbox *sb;
        unsigned restart_count;
        const char *remove_id; /* the container before the previous one */
        const char *target_id; /* an ephemeral container's target: its PID namespace */
        struct pod_data *data; /* cluster mode: ConfigMaps, Secrets, service links */
};

static json_t *work_create(struct manager *m, const void *argp) {
        const struct create_arg *a = argp;
        nl_error err = NL_ERROR_INIT;
        if (a->remove_id)
                (void) cri_container_remove(&m->cri, a->remove_id, &err);
        nl_error_clear(&err);
        struct plan_context pc = plan_context_for(m, a->sb);
        if (a->data)
                pod_data_fill_plan(a->data, &pc);
        /* A store handle of our own: the daemon's shares its open file descriptions (and so
         * its flock state) with this child, and may be mid-pull on the loop. */
        struct image_store *store = NULL;
        if (layout_image_store_open(m->cri.root_dir, &store, &err) < 0)
                return op_error("CreateContainerError", &err, "cannot open the image store");
        struct container_create cc = {
                .cfg = &m->cri,
                .store = store,
                .sb = a->sb,
                .pod = a->pod,
                .c = a->c,
                .restart_count = a->restart_count,
                .plan_ctx = &pc,
                .target_id = a->target_id,
        };
        char *id = NULL;
        const char *reason = NULL;
        int r = cri_container_create(&cc, &id, &reason, &err);
        image_store_close(store);
        if (r < 0)
                return op_error(reason ? reason : "CreateContainerError", &err, "create failed");
        if (cri_container_start(&m->cri, id, &err) < 0) {
                /* a container that would not start is not kept: the retry makes a new one */
                json_t *j = op_error("RunContainerError", &err, "start failed");
                nl_error ignored = NL_ERROR_INIT;
                (void) cri_container_remove(&m->cri, id, &ignored);
                nl_error_clear(&ignored);
                free(id);
                return j;
        }
        json_t *j = json_pack("{s:s}", "id", id);
        free(id);
        return j;
}

/* postStart runs right after the container starts; until it returns the container is not
 * reported running, and its failure kills the container (FailedPostStartHook). */
static void post_start_done(struct ctr *c, bool ok, const char *message) {
        struct pod_worker *w = c->w;
        c->post_start_pending = false;
        c->hook_busy = false;
        if (ok) {
                if (running(c))
                        probes_start(c);
        } else {
                pod_event(w, "Warning", "FailedPostStartHook", "PostStartHook failed: %s", strempty(message));
                free(c->hook_kill_reason);
                c->hook_kill_reason = strdup("FailedPostStartHook");
                kill_container(c, 0);
                c->kill_deadline = now_monotonic() + (usec_t) 2 * USEC_PER_SEC;
                arm_timer(w, c->kill_deadline);
        }
        schedule(w);
}

static void start_post_start(struct ctr *c) {
        const struct pod_lifecycle_handler *h = c->spec->lifecycle ? c->spec->lifecycle->post_start : NULL;
        if (!h) {
                probes_start(c);
                return;
        }
        c->post_start_pending = true;
        c->hook_busy = true;
        if (hook_run(c, h, 120 * USEC_PER_SEC, post_start_done) < 0)
                post_start_done(c, false, "cannot run the hook");
}

static void done_create(json_t *result, void *userdata) {
        struct ctr *c = userdata;
        struct pod_worker *w = c->w;
        c->busy = false;
        const char *id = json_string_value(json_object_get(result, "id"));
        const char *error = json_string_value(json_object_get(result, "error"));
        if (id) {
                if (c->id) {
                        c->restart_count++;
                        /* the old current container becomes the previous one */
                        free(c->prev_id);
                        c->prev_id = c->id;
                        c->id = NULL;
                        container_status_free(c->last_term);
                        c->last_term = c->st;
                        c->st = NULL;
                }
                c->id = strdup(id);
                c->killed = false;
                c->spec_restart = false;
                c->resize_restart = false;
                json_decref(c->actuated);
                c->actuated = TAKE_PTR(c->creating_res);
                write_allocation(w);
                c->image_pulled = false; /* the next start pulls again (pullPolicy Always) */
        }
        if (error) {
                const char *reason = json_string_value(json_object_get(result, "reason"));
                set_waiting(c, reason ? reason : "CreateContainerError", "%s", error);
                if (streq_ptr(reason, "CreateContainerConfigError"))
                        w->data_stale = true; /* a missing ConfigMap or key may come */
                log_pod(1, pod_name(w), w->uid, NULL, "pod %s: container %s: %s: %s", pod_name(w), c->spec->name, strempty(reason), error);
                pod_event(w, "Warning", "Failed", "Error: %s", error);
                /* retry after a back-off, as the kubelet's next sync would */
                c->exited_mono = now_monotonic();
                if (!c->backoff) {
                        c->backoff = BACKOFF_INITIAL;
                        c->backoff_hash = pod_container_hash(c->spec);
                }
                c->backoff_updated = c->exited_mono;
        } else {
                set_waiting(c, NULL, NULL);
                log_pod(2, pod_name(w), w->uid, NULL, "pod %s: container %s started (%.12s)", pod_name(w), c->spec->name, id);
                pod_event(w, "Normal", "Created", "Created container: %s", c->spec->name);
                pod_event(w, "Normal", "Started", "Started container %s", c->spec->name);
                free(c->hook_kill_reason);
                c->hook_kill_reason = NULL;
                c->pre_stop_done = false;
                refresh(c);
                start_post_start(c);
        }
        refresh(c);
        schedule(w);
}

/* ---- cluster mode: API-backed pod data (agent/pod-data.c) ------------------------------------ */

/* Pods from the API server get their ConfigMaps, Secrets, tokens and service links fetched
 * before the sandbox (the kubelet waits for its volumes the same way); static pods in cluster
 * mode never reference API objects (the API server refuses such mirror pods). In static mode
 * the manifests' own ConfigMaps and Secrets are the data. */
static bool wants_data(const struct pod_worker *w) {
        if (!w->m->api)
                return true;
        return !streq(pod_config_source(w->pod), "file");
}

static const json_t *manifest_lookup(void *userdata, bool secret, const char *ns, const char *name) {
        return manager_manifest_object(userdata, secret, ns, name);
}

static json_t *work_volumes(struct manager *m, const void *arg) {
        const struct pod_worker *w = arg;
        struct plan_context pc = plan_context_for(m, w->sb);
        struct volume_context vc = { .plan = &pc };
        nl_error err = NL_ERROR_INIT;
        pod_data_fill_volumes(w->data, &vc);
        if (cri_volumes_setup(&m->cri, w->pod, &vc, &err) < 0) {
                json_t *j = op_error("FailedMount", &err, "volumes failed");
                nl_error_clear(&err);
                return j;
        }
        return json_object();
}

static void data_update_volumes(struct pod_worker *w);

static void done_volumes(json_t *result, void *userdata) {
        struct pod_worker *w = userdata;
        const char *error = json_string_value(json_object_get(result, "error"));
        w->data_volumes_busy = false;
        w->n_async--;
        if (error) {
                log_pod(1, pod_name(w), w->uid, NULL, "pod %s: volume update: %s", pod_name(w), error);
                pod_event(w, "Warning", "FailedMount", "%s", error);
        }
        if (w->data_volumes_again) {
                w->data_volumes_again = false;
                data_update_volumes(w);
        }
        schedule(w);
}

/* New data for a pod whose sandbox runs: its configMap, secret and projected volumes are
 * rewritten in place (the atomic writer swaps ..data), as the kubelet's remount on resync. */
static void data_update_volumes(struct pod_worker *w) {
        if (!w->sb || !w->data || w->state != W_RUNNING)
                return;
        if (w->data_volumes_busy) {
                w->data_volumes_again = true;
                return;
        }
        w->data_volumes_busy = true;
        w->n_async++;
        if (op_start(w->m, "update-volumes", work_volumes, w, done_volumes, w) < 0) {
                w->data_volumes_busy = false;
                w->n_async--;
        }
}

static void data_fetched(struct pod_data *d, const char *error, void *userdata) {
        struct pod_worker *w = userdata;
        w->data_fetch = NULL;
        if (!d) {
                log_pod(1, pod_name(w), w->uid, NULL, "pod %s: %s", pod_name(w), strempty(error));
                /* a failed refresh keeps the data we have; a first fetch shows as the
                 * kubelet shows an object it cannot get: FailedMount, ContainerCreating */
                if (!w->data || w->data_stale)
                        pod_event(w, "Warning", "FailedMount", "%s", strempty(error));
                free(w->data_error);
                w->data_error = strdup(strempty(error));
                w->data_retry_at = now_monotonic() + BACKOFF_INITIAL;
                schedule(w);
                return;
        }
        bool changed = !pod_data_equal(w->data, d);
        pod_data_free(w->data);
        w->data = d;
        w->data_stale = false;
        free(w->data_error);
        w->data_error = NULL;
        if (changed)
                data_update_volumes(w);
        schedule(w);
}

static void data_start_fetch(struct pod_worker *w) {
        if (w->data_fetch)
                return;
        if (!w->m->api) {
                struct pod_data *d = NULL;
                int r = pod_data_from_manifests(w->pod, manifest_lookup, w->m, &d);
                data_fetched(r < 0 ? NULL : d, r < 0 ? "out of memory" : NULL, w);
                return;
        }
        int r = pod_data_fetch(w->m->api, w->pod, w->data, data_fetched, w, &w->data_fetch);
        if (r < 0) {
                log_pod(1, pod_name(w), w->uid, NULL, "pod %s: cannot fetch its API objects: %s", pod_name(w),
                        strerror(-r));
                w->data_retry_at = now_monotonic() + BACKOFF_INITIAL;
                arm_timer(w, w->data_retry_at);
        }
}

/* May the sandbox or a container be made now? Otherwise a fetch is under way (or waits for
 * its retry time) and schedules a sync when it ends. */
static bool data_ready(struct pod_worker *w) {
        if (!wants_data(w) || (w->data && !w->data_stale))
                return true;
        if (w->data_fetch)
                return false;
        if (now_monotonic() < w->data_retry_at) {
                arm_timer(w, w->data_retry_at);
                return false;
        }
        data_start_fetch(w);
        return w->data && !w->data_stale && !w->data_fetch; /* static mode: done at once */
}

/* The periodic resync fetches again: an edited ConfigMap or Secret reaches the volumes, a
 * token past 80% of its life is replaced, later containers see current service links. */
static void data_refresh(struct pod_worker *w) {
        if (wants_data(w) && pod_worker_active(w))
                data_start_fetch(w);
}

/* imagePullSecrets: the first matching credential (the kubelet tries each in turn). */
static void pull_credentials(const struct pod_worker *w, const struct image_ref *ref, char **ret_user,
                             char **ret_password) {
        *ret_user = *ret_password = NULL;
        if (!w->data || w->pod->spec.n_image_pull_secrets == 0)
                return;
        _cleanup_free_ char *repo = nl_strdupf("%s/%s", ref->domain, ref->path);
        if (repo)
                (void) pod_data_pull_auth(w->data, w->pod, repo, ret_user, ret_password);
}

/* ---- images ------------------------------------------------------------------------------- */

static void pull_done(int r, enum pull_error_kind kind, const char *image_id, const nl_error *err, void *userdata) {
        struct ctr *c = userdata;
        struct pod_worker *w = c->w;
        c->pulling = false;
        _cleanup_free_ char *key = nl_strdupf("%s_%s", w->uid, strempty(c->spec->image));
        if (r < 0) {
                image_pull_failed(w->m->pull_backoff, strempty(key), now_monotonic());
                set_waiting(c, image_pull_error_reason(kind), "%s", err && err->msg ? err->msg : "pull failed");
                log_pod(1, pod_name(w), w->uid, NULL, "pod %s: pull %s: %s", pod_name(w), strempty(c->spec->image), strempty(c->waiting_message));
                pod_event(w, "Warning", "Failed", "Failed to pull image \"%s\": %s", strempty(c->spec->image),
                          strempty(c->waiting_message));
                pod_event(w, "Warning", "Failed", "Error: %s", strempty(c->waiting_reason));
        } else {
                image_pull_succeeded(w->m->pull_backoff, strempty(key));
                c->image_pulled = true;
                set_waiting(c, NULL, NULL);
                log_pod(2, pod_name(w), w->uid, NULL, "pod %s: pulled %s (%.19s)", pod_name(w), strempty(c->spec->image), strempty(image_id));
                pod_event(w, "Normal", "Pulled", "Successfully pulled image \"%s\" in %.3fs", strempty(c->spec->image),
                          (double) (now_monotonic() - w->pull_started) / 1e6);
        }
        schedule(w);
}

/* Returns true when the image is there to use now. */
static bool ensure_image(struct ctr *c) {
        struct pod_worker *w = c->w;
        if (c->pulling)
                return false;
        struct image_info *info = NULL;
        bool present = image_store_lookup(w->m->store, strempty(c->spec->image), &info, NULL) == 0;
        image_info_free(info);
        /* the kubelet pulls once per container start (EnsureImageExists before each create),
         * also for pullPolicy Always */
        if (present && c->image_pulled)
                return true;
        _cleanup_free_ char *key = nl_strdupf("%s_%s", w->uid, strempty(c->spec->image));
        usec_t wait = 0;
        switch (image_pull_decide(w->m->pull_backoff, strempty(key), c->spec->image_pull_policy, present,
                                  now_monotonic(), &wait)) {
        case IMAGE_USE:
                if (!c->busy)
                        pod_event(w, "Normal", "Pulled", "Container image \"%s\" already present on machine",
                                  strempty(c->spec->image));
                return true;
        case IMAGE_NEVER: {
                _cleanup_free_ char *msg = image_never_pull_message(c->spec->image);
                set_waiting(c, "ErrImageNeverPull", "%s", strempty(msg));
                pod_event(w, "Warning", "ErrImageNeverPull", "%s", strempty(msg));
                return false;
        }
        case IMAGE_BACKOFF:
                set_waiting(c, "ImagePullBackOff", "Back-off pulling image \"%s\"", strempty(c->spec->image));
                pod_event(w, "Normal", "BackOff", "Back-off pulling image \"%s\"", strempty(c->spec->image));
                arm_timer(w, now_monotonic() + wait); /* the retry when the back-off ends */
                return false;
        case IMAGE_PULL:
                break;
        }
        struct image_ref ref = {};
        nl_error err = NL_ERROR_INIT;
        if (image_ref_parse(strempty(c->spec->image), &ref, &err) < 0) {
                set_waiting(c, "InvalidImageName", "%s", strempty(err.msg));
                nl_error_clear(&err);
                return false;
        }
        c->pulling = true;
        w->pull_started = now_monotonic();
        pod_event(w, "Normal", "Pulling", "Pulling image \"%s\"", strempty(c->spec->image));
        set_waiting(c, "ContainerCreating", NULL);
        _cleanup_free_ char *user = NULL, *password = NULL;
        pull_credentials(w, &ref, &user, &password);
        int r = registry_pull(w->m->registry, &ref, user, password, NULL, pull_done, c);
        image_ref_done(&ref);
        if (r < 0) {
                c->pulling = false;
                set_waiting(c, "ErrImagePull", "%s", strerror(-r));
        }
        return false;
}

/* ---- starting and restarting --------------------------------------------------------------- */

/* The kubelet's back-off: first restart at once; then 10 s doubling to 300 s between exits;
 * an entry untouched for 2 x 300 s (a container that ran 10 minutes) starts over. */
static bool in_backoff(struct ctr *c, usec_t now, usec_t *ret_until) {
        if (!c->backoff)
                return false;
        if (now - c->backoff_updated > 2 * BACKOFF_MAX) {
                c->backoff = 0;
                return false;
        }
        usec_t until = c->exited_mono + c->backoff;
        if (now >= until)
                return false;
        *ret_until = until;
        return true;
}

static void backoff_next(struct ctr *c, usec_t now) {
        if (!c->backoff || now - c->backoff_updated > 2 * BACKOFF_MAX)
                c->backoff = BACKOFF_INITIAL;
        else
                c->backoff = c->backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : c->backoff * 2;
        c->backoff_updated = now;
        c->backoff_hash = pod_container_hash(c->spec);
}

/* The kubelet keys its back-off by pod, container name and container hash (getStableKey): a
 * new image starts without back-off. */
static void backoff_check_spec(struct ctr *c) {
        if (c->backoff && c->backoff_hash != pod_container_hash(c->spec))
                c->backoff = 0;
}


/* targetContainerName names a container or an init container (validateEphemeralContainers). */
static const struct ctr *target_of(const struct pod_worker *w, const char *name) {
        for (size_t i = 0; i < w->n_app; i++)
                if (streq_ptr(w->app[i].spec->name, name))
                        return &w->app[i];
        for (size_t i = 0; i < w->n_init; i++)
                if (streq_ptr(w->init[i].spec->name, name))
                        return &w->init[i];
        return NULL;
}

static void start_container(struct ctr *c) {
        struct pod_worker *w = c->w;
        if (c->busy || c->pulling || !w->sb)
                return;
        /* nothing starts while the runtime is down; its recovery wakes the pod */
        if (manager_runtime_error(w->m, true))
                return;
        usec_t now = now_monotonic(), until = 0;
        backoff_check_spec(c);
        if (in_backoff(c, now, &until)) {
                if (c->id) {
                        _cleanup_free_ char *pf = pod_format(w);
                        set_waiting(c, "CrashLoopBackOff", "back-off %llus restarting failed container=%s pod=%s",
                                    (unsigned long long) (c->backoff / USEC_PER_SEC), c->spec->name, strempty(pf));
                        pod_event(w, "Warning", "BackOff", "Back-off restarting failed container %s in pod %s",
                                  c->spec->name, strempty(pf));
                }
                arm_timer(w, until);
                return;
        }
        if (!data_ready(w))
                return;
        if (!ensure_image(c))
                return;
        if (c->id)
                backoff_next(c, now);

        const char *target_id = NULL;
        if (c->ephemeral && !isempty(c->spec->target_container_name)) {
                const struct ctr *t = target_of(w, c->spec->target_container_name);
                if (!t || !running(t)) {
                        /* containerd refuses a TARGET namespace of a container that is not
                         * running; the kubelet reports that error and tries at its next sync */
                        set_waiting(c, "CreateContainerError", "target container \"%s\" is not running",
                                    c->spec->target_container_name);
                        arm_timer(w, now + BACKOFF_INITIAL);
                        return;
                }
                target_id = t->id;
        }

        struct create_arg *a = calloc(1, sizeof(*a));
        if (!a)
                return;
        *a = (struct create_arg){ .pod = w->pod, .c = c->spec, .sb = w->sb,
                                  .restart_count = c->id ? c->restart_count + 1 : c->restart_count,
                                  .remove_id = c->id ? c->prev_id : NULL, .data = w->data, .target_id = target_id };
        c->busy = true;
        json_decref(c->creating_res);
        c->creating_res = pod_resources_json(c->spec->resources);
        /* the kubelet's default waiting reasons while a container is made: PodInitializing for
         * init containers, ContainerCreating for the others */
        if (!c->waiting_reason || !streq(c->waiting_reason, "CrashLoopBackOff"))
                set_waiting(c, c->init ? "PodInitializing" : "ContainerCreating", NULL);
        /* the child gets a copy of everything it reads: the arg may go away after fork */
        int r = op_start(w->m, "create-container", work_create, a, done_create, c);
        free(a);
        if (r < 0) {
                c->busy = false;
                set_waiting(c, "CreateContainerError", "%s", strerror(-r));
        }
}

static bool should_restart(const struct pod_worker *w, const struct ctr *c) {
        /* computePodActions: "Restart regardless of the restart policy because the container
         * spec changed" */
        if (c->sidecar || c->spec_restart)
                return true;
        const char *policy = strempty(w->pod->spec.restart_policy);
        if (streq(policy, "Always"))
                return true;
        if (streq(policy, "OnFailure"))
                return c->st && c->st->exit_code != 0;
        return false;
}

/* ---- termination --------------------------------------------------------------------------- */

struct kill_arg {
        const char *id;
        int sig;
};

static json_t *work_kill(struct manager *m, const void *argp) {
        const struct kill_arg *a = argp;
        nl_error err = NL_ERROR_INIT;
        if (cri_container_kill(&m->cri, a->id, a->sig, &err) < 0) {
                json_t *j = op_error(NULL, &err, "kill failed");
                nl_error_clear(&err);
                return j;
        }
        return json_object();
}

static void done_kill(json_t *result, void *userdata) {
        struct ctr *c = userdata;
        c->busy = false;
        schedule(c->w);
}

void kill_container(struct ctr *c, int sig) {
        if (c->busy || !running(c))
                return;
        struct kill_arg a = { c->id, sig };
        c->busy = true;
        if (op_start(c->w->m, "kill-container", work_kill, &a, done_kill, c) < 0)
                c->busy = false;
}

static json_t *work_remove(struct manager *m, const void *argp) {
        const struct pod_worker *w = argp;
        nl_error err = NL_ERROR_INIT;
        for (size_t i = 0; i < ctr_count(w); i++) {
                const struct ctr *c = ctr_at((struct pod_worker *) w, i);
                if (c->id)
                        (void) cri_container_remove(&m->cri, c->id, &err);
                if (c->prev_id)
                        (void) cri_container_remove(&m->cri, c->prev_id, &err);
                nl_error_clear(&err);
        }
        (void) cri_volumes_teardown(&m->cri, w->uid, &err);
        (void) cri_pod_logs_remove(&m->cri, w->pod); /* as the kubelet's container GC */
        nl_error_clear(&err);
        if (w->sb) {
                struct sandbox *sb = w->sb;
                if (cri_sandbox_stop(&m->cri, sb, &err) < 0 || cri_sandbox_remove(&m->cri, sb, &err) < 0)
                        return op_error(NULL, &err, "sandbox removal failed");
        }
        return json_object();
}

static void done_remove(json_t *result, void *userdata) {
        struct pod_worker *w = userdata;
        w->remove_busy = false;
        const char *error = json_string_value(json_object_get(result, "error"));
        if (error)
                log_pod(1, pod_name(w), w->uid, NULL, "pod %s: teardown: %s", pod_name(w), error);
        w->state = W_REMOVED;
        log_pod(2, pod_name(w), w->uid, NULL, "pod %s: terminated and removed", pod_name(w));
        schedule(w);
}

static int64_t grace_seconds(const struct pod_worker *w) {
        if (w->node_shutdown)
                return w->shutdown_grace;
        if (w->grace_override.set)
                return w->grace_override.v;
        if (w->pod->metadata.deletion_grace_period_seconds.set)
                return w->pod->metadata.deletion_grace_period_seconds.v;
        return w->pod->spec.termination_grace_period_seconds.set ? w->pod->spec.termination_grace_period_seconds.v : 30;
}

/* A preStop hook ended: its failure is an event, and the deadline (the pod's or one
 * container's) leaves the kubelet's minimum of 2 s after preStop before SIGKILL. */
static void pre_stop_finished(struct ctr *c, bool ok, const char *message, usec_t *kill_deadline) {
        struct pod_worker *w = c->w;
        c->hook_busy = false;
        c->pre_stop_done = true;
        if (!ok)
                pod_event(w, "Warning", "FailedPreStopHook", "PreStopHook failed: %s", strempty(message));
        usec_t min = now_monotonic() + 2 * USEC_PER_SEC;
        if (*kill_deadline < min)
                *kill_deadline = min;
        schedule(w);
}

static void pre_stop_done(struct ctr *c, bool ok, const char *message) {
        pre_stop_finished(c, ok, message, &c->w->kill_deadline);
}

/* Stop app containers first, then sidecars once the apps are gone (the kubelet's sidecar
 * ordering), SIGKILL whatever is left at the grace period's end. */
/* A sidecar stops after the app containers and after every sidecar declared after it (the
 * kubelet stops them one by one in reverse order). */
static bool sidecar_may_stop(const struct pod_worker *w, size_t i, bool apps_running) {
        if (apps_running)
                return false;
        for (size_t k = i + 1; k < w->n_init; k++)
                if (w->init[k].sidecar && running(&w->init[k]))
                        return false;
        return true;
}

static void terminate_step(struct pod_worker *w) {
        usec_t now = now_monotonic();
        bool apps_running = false, any_running = false, any_busy = false;
        for (size_t i = 0; i < w->n_app; i++)
                apps_running |= running(&w->app[i]);
        for (size_t i = 0; i < ctr_count(w); i++) {
                struct ctr *c = ctr_at(w, i);
                any_running |= running(c);
                /* the grace period is over: SIGKILL, whether or not a preStop hook still runs */
                if (running(c) && !c->busy && now >= w->kill_deadline) {
                        kill_container(c, SIGKILL);
                        any_busy |= c->busy;
                        continue;
                }
                if (running(c) && !c->busy && !c->hook_busy) {
                        const struct pod_lifecycle_handler *pre = c->spec->lifecycle ? c->spec->lifecycle->pre_stop : NULL;
                        if (now >= w->kill_deadline)
                                kill_container(c, SIGKILL);
                        else if (!c->killed && (!c->init || sidecar_may_stop(w, i, apps_running))) {
                                if (pre && !c->pre_stop_done) {
                                        /* preStop first, inside the grace period */
                                        probes_stop(c);
                                        c->hook_busy = true;
                                        if (hook_run(c, pre, w->kill_deadline - now, pre_stop_done) < 0)
                                                pre_stop_done(c, false, "cannot run the hook");
                                } else {
                                        pod_event(w, "Normal", "Killing", "Stopping container %s", c->spec->name);
                                        kill_container(c, 0);
                                        c->killed = c->busy;
                                }
                        }
                }
                any_busy |= c->busy;
        }
        if (any_running) {
                arm_timer(w, now >= w->kill_deadline ? now + USEC_PER_SEC : w->kill_deadline);
                return;
        }
        if (!any_busy && !w->sb_busy && w->n_async == 0)
                w->state = W_STOPPED;
}

static void remove_step(struct pod_worker *w) {
        if (w->remove_busy)
                return;
        w->remove_busy = true;
        w->state = W_REMOVING;
        if (op_start(w->m, "remove-pod", work_remove, w, done_remove, w) < 0) {
                w->remove_busy = false;
                w->state = W_STOPPED;
                arm_timer(w, now_monotonic() + BACKOFF_INITIAL);
        }
}

/* ---- status ---------------------------------------------------------------------------- */

/* Kubernetes reports pod status times in whole seconds: "2026-11-29T02:48:00Z". */
static char *rfc3339(usec_t t) {
        return format_rfc3339(t);
}

static json_t *json_str_or_null(char *s) {
        json_t *j = s ? json_string(s) : json_null();
        free(s);
        return j;
}

static const char *runtime_name(const struct manager *m) {
        const char *p = strempty(m->cri.runtime_path);
        const char *b = strrchr(p, '/');
        return b ? b + 1 : p;
}

static json_t *terminated_json(const struct manager *m, const struct container_status *st) {
        json_t *t = json_pack("{s:i, s:s, s:o, s:o, s:s}", "exitCode", st->exit_code, "reason",
                              st->reason ? st->reason : (st->exit_code == 0 ? "Completed" : "Error"), "startedAt",
                              json_str_or_null(rfc3339(st->started_at)), "finishedAt",
                              json_str_or_null(rfc3339(st->finished_at)), "containerID", "");
        if (st->signal)
                json_object_set_new(t, "signal", json_integer(st->signal));
        if (!isempty(st->message))
                json_object_set_new(t, "message", json_string(st->message));
        json_object_set_new(t, "containerID", json_string(""));
        char *cid = nl_strdupf("%s://%s", runtime_name(m), st->id);
        json_object_set_new(t, "containerID", json_str_or_null(cid));
        return t;
}

/* The status's imageID: the repo digest of the image's own repository (as containerd reports
 * it), else the first one, else the config digest. Read from the store once per container
 * instance: bench/'s profile found the store lookup on every status build a fifth of the
 * daemon's instructions. Returns a copy. */
static char *image_id_of(struct ctr *c) {
        if (!c->image_id || !streq_ptr(c->image_id_of, c->id)) {
                struct image_info *info = NULL;
                free(c->image_id);
                c->image_id = NULL;
                if (image_store_lookup(c->w->m->store, strempty(c->spec->image), &info, NULL) == 0) {
                        struct image_ref ref = {};
                        _cleanup_free_ char *repo = NULL;
                        if (image_ref_parse(strempty(c->spec->image), &ref, NULL) == 0)
                                repo = image_ref_repository(&ref);
                        image_ref_done(&ref);
                        size_t rl = repo ? strlen(repo) : 0;
                        for (size_t i = 0; i < info->n_repo_digests && !c->image_id; i++)
                                if (repo && strncmp(info->repo_digests[i], repo, rl) == 0 && info->repo_digests[i][rl] == '@')
                                        c->image_id = strdup(info->repo_digests[i]);
                        if (!c->image_id)
                                c->image_id = strdup(info->n_repo_digests ? info->repo_digests[0] : info->id);
                        image_info_free(info);
                }
                free(c->image_id_of);
                /* cached only once a container exists: before, a pull may still change it */
                c->image_id_of = c->id && c->image_id ? strdup(c->id) : NULL;
        }
        return c->image_id ? strdup(c->image_id) : NULL;
}

static json_t *container_status_json(const struct pod_worker *w, const struct ctr *c, const char *default_wait) {
        const struct manager *m = w->m;
        json_t *state = json_object(), *last = json_object();
        bool ready = false, started = false;

        if (c->waiting_reason && (!running(c) || c->busy)) {
                json_t *wt = json_pack("{s:s}", "reason", c->waiting_reason);
                if (c->waiting_message)
                        json_object_set_new(wt, "message", json_string(c->waiting_message));
                json_object_set_new(state, "waiting", wt);
        } else if (running(c) && c->st->state == CONTAINER_RUNNING && c->post_start_pending) {
                json_object_set_new(state, "waiting", json_pack("{s:s}", "reason", "ContainerCreating"));
        } else if (running(c) && c->st->state == CONTAINER_RUNNING) {
                json_object_set_new(state, "running",
                                    json_pack("{s:o}", "startedAt", json_str_or_null(rfc3339(c->st->started_at))));
                /* the probes' verdicts: without probes, running is ready and started */
                ready = c->ready && c->started;
                started = c->started;
        } else if (exited(c)) {
                json_object_set_new(state, "terminated", terminated_json(m, c->st));
                /* the kubelet reports a regular init container that completed as ready
                 * (prober_manager UpdatePodStatus) */
                ready = c->init && !c->sidecar && c->st->exit_code == 0;
        } else {
                json_t *wt = json_pack("{s:s}", "reason", default_wait);
                /* the kubelet's reason, with the runtime's words when that is what the pod waits for */
                if (w->runtime_wait)
                        json_object_set_new(wt, "message", json_string(w->runtime_wait));
                json_object_set_new(state, "waiting", wt);
        }
        if (c->last_term && c->last_term->state == CONTAINER_EXITED)
                json_object_set_new(last, "terminated", terminated_json(m, c->last_term));

        json_t *j = json_pack("{s:s, s:o, s:o, s:b, s:i, s:s, s:o, s:b}", "name", c->spec->name, "state", state,
                              "lastState", last, "ready", ready, "restartCount", (int) c->restart_count, "image",
                              strempty(c->spec->image), "imageID", json_str_or_null(image_id_of((struct ctr *) c)),
                              "started", started);
        if (c->id)
                json_object_set_new(j, "containerID", json_str_or_null(nl_strdupf("%s://%s", runtime_name(m), c->id)));
        /* as the kubelet's convertToAPIContainerStatuses: allocatedResources are the allocated
         * requests; resources what the running container has (the runtime's values, here what
         * it was made with or last updated to), else the allocation */
        const struct pod_resource_requirements *alloc = c->spec->resources;
        if (alloc && alloc->n_requests) {
                json_t *a = pod_resources_json(alloc);
                json_object_set(j, "allocatedResources", json_object_get(a, "requests"));
                json_decref(a);
        }
        if (running(c) && c->st->state == CONTAINER_RUNNING && c->actuated)
                json_object_set(j, "resources", c->actuated);
        else
                json_object_set_new(j, "resources", pod_resources_json(alloc));
        if (c->ephemeral) {
                /* the kubelet's prober manager sets ready and started for containers and init
                 * containers only: an ephemeral container is never ready and has no started */
                json_object_set_new(j, "ready", json_false());
                json_object_del(j, "started");
        }
        return j;
}

static json_t *condition(const char *type, bool status, const char *reason, const char *message, const char *when) {
        json_t *c = json_pack("{s:s, s:s, s:n, s:s}", "type", type, "status", status ? "True" : "False",
                              "lastProbeTime", "lastTransitionTime", strempty(when));
        if (reason)
                json_object_set_new(c, "reason", json_string(reason));
        if (message)
                json_object_set_new(c, "message", json_string(message));
        return c;
}

static char *names_list(struct ctr *cs, size_t n, bool (*pick)(const struct ctr *c)) {
        nl_buf b = {};
        nl_buf_puts(&b, "[");
        bool first = true;
        for (size_t i = 0; i < n; i++)
                if (pick(&cs[i])) {
                        nl_buf_printf(&b, "%s%s", first ? "" : " ", cs[i].spec->name);
                        first = false;
                }
        nl_buf_puts(&b, "]");
        return nl_buf_steal(&b);
}

static bool is_up(const struct ctr *c) {
        return running(c) && c->st->state == CONTAINER_RUNNING && !c->post_start_pending;
}

static bool init_incomplete(const struct ctr *c) {
        return c->sidecar ? !(is_up(c) && c->started) : !c->done;
}

static bool not_ready(const struct ctr *c) {
        return !(is_up(c) && c->ready && c->started);
}

static bool sidecar_not_ready(const struct ctr *c) {
        return c->sidecar && not_ready(c);
}

static bool all_inits_done(const struct pod_worker *w) {
        for (size_t i = 0; i < w->n_init; i++)
                if (w->init[i].sidecar ? !w->init[i].id : !w->init[i].done)
                        return false;
        return true;
}

static const char *phase_of_containers(const struct pod_worker *w);

/* kubelet getPhase, and a node shutdown's status function: Failed unless it Succeeded */
static const char *pod_phase(const struct pod_worker *w) {
        const char *phase = phase_of_containers(w);
        if (w->node_shutdown && !streq(phase, "Succeeded"))
                return "Failed";
        return phase;
}

static const char *phase_of_containers(const struct pod_worker *w) {
        if (w->deadline_exceeded || w->failed_init || w->evicted_message)
                return "Failed";
        if (!all_inits_done(w))
                return "Pending";
        size_t run = 0, waiting = 0, stopped = 0, succeeded = 0;
        for (size_t i = 0; i < w->n_app; i++) {
                const struct ctr *c = &w->app[i];
                if (running(c) && c->st->state == CONTAINER_RUNNING)
                        run++;
                else if (c->spec_restart)
                        waiting++; /* killed for a new spec: it starts again at once */
                else if (exited(c) && !c->busy) {
                        stopped++;
                        if (c->st->exit_code == 0)
                                succeeded++;
                } else if (c->last_term)
                        stopped++;
                else
                        waiting++;
        }
        if (waiting > 0)
                return "Pending";
        if (run > 0)
                return "Running";
        if (stopped > 0) {
                const char *policy = strempty(w->pod->spec.restart_policy);
                if (streq(policy, "Always"))
                        return "Running";
                if (stopped == succeeded)
                        return "Succeeded";
                if (streq(policy, "Never"))
                        return "Failed";
                return "Running";
        }
        return "Pending";
}

static bool pod_terminal(const struct pod_worker *w) {
        const char *phase = pod_phase(w);
        return streq(phase, "Succeeded") || streq(phase, "Failed");
}

/* Transition times are kept per condition type and status in the previous pod.json. */
static const char *transition_time(json_t *old_conditions, const char *type, bool status, const char *now) {
        size_t i;
        json_t *c;
        json_array_foreach(old_conditions, i, c) {
                if (streq_ptr(json_string_value(json_object_get(c, "type")), type) &&
                    streq_ptr(json_string_value(json_object_get(c, "status")), status ? "True" : "False"))
                        return json_string_value(json_object_get(c, "lastTransitionTime"));
        }
        return now;
}

static json_t *build_status(struct pod_worker *w, json_t *old) {
        if (w->rejected_reason)
                /* as the kubelet's rejectPod: phase, reason and message only */
                return json_pack("{s:s, s:s, s:s, s:s}", "phase", "Failed", "reason", w->rejected_reason, "message",
                                 strempty(w->rejected_message), "qosClass", strempty(w->qos));
        _cleanup_free_ char *now = rfc3339(now_realtime()), *start = rfc3339(w->start_realtime);
        json_t *old_conditions = json_object_get(json_object_get(old, "status"), "conditions");
        const char *phase = pod_phase(w);
        bool terminal = streq(phase, "Succeeded") || streq(phase, "Failed");

        json_t *inits = json_array(), *apps = json_array();
        for (size_t i = 0; i < w->n_init; i++)
                json_array_append_new(inits, container_status_json(w, &w->init[i], "PodInitializing"));
        bool initialized = all_inits_done(w);
        for (size_t i = 0; i < w->n_app; i++)
                json_array_append_new(apps, container_status_json(w, &w->app[i],
                                                                  initialized ? "ContainerCreating" : "PodInitializing"));

        json_t *conds = json_array();
        /* the resize conditions come first, as generateAPIPodStatus appends them before the
         * kubelet's other conditions; a terminal pod has none (determinePodResizeStatus) */
        if (!terminal && w->resize_pending.set)
                json_array_append_new(conds, resize_condition_json("PodResizePending", &w->resize_pending));
        if (!terminal && w->resize_progress.set)
                json_array_append_new(conds, resize_condition_json("PodResizeInProgress", &w->resize_progress));
        size_t first_own = json_array_size(conds);
        bool sandbox_ready = w->sb != NULL && w->state < W_REMOVING;
        json_array_append_new(conds, condition("PodReadyToStartContainers", sandbox_ready, NULL, NULL,
                                               transition_time(old_conditions, "PodReadyToStartContainers",
                                                               sandbox_ready, now)));
        _cleanup_free_ char *incomplete = names_list(w->init, w->n_init, init_incomplete);
        bool init_ok = initialized && !w->failed_init;
        _cleanup_free_ char *init_msg = init_ok ? NULL : nl_strdupf("containers with incomplete status: %s", incomplete);
        json_array_append_new(conds, condition("Initialized", init_ok, init_ok ? NULL : "ContainersNotInitialized",
                                               init_msg, transition_time(old_conditions, "Initialized", init_ok, now)));
        /* as the kubelet's ContainersReady: sidecars (restartable init containers) count too,
         * listed first, then the app containers */
        _cleanup_free_ char *unready_sidecars = names_list(w->init, w->n_init, sidecar_not_ready),
                            *unready_apps = names_list(w->app, w->n_app, not_ready), *unready = NULL;
        if (unready_sidecars && unready_apps)
                unready = streq(unready_sidecars, "[]") ? strdup(unready_apps)
                          : streq(unready_apps, "[]")   ? strdup(unready_sidecars)
                                                        : nl_strdupf("%.*s %s", (int) strlen(unready_sidecars) - 1,
                                                                     unready_sidecars, unready_apps + 1);
        if (!unready)
                unready = strdup("[]");
        bool ready = !terminal && streq(unready, "[]") && initialized;
        const char *ready_reason = ready ? NULL : terminal ? "PodCompleted" : "ContainersNotReady";
        _cleanup_free_ char *ready_msg = ready || terminal ? NULL : nl_strdupf("containers with unready status: %s", unready);
        /* the kubelet's GeneratePodReadyCondition: Ready says what ContainersReady says until
         * that is True, then it waits for every readiness gate's condition (set in the API by
         * someone else) to be True */
        _cleanup_free_ char *gates_msg = ready ? pod_readiness_gates_message(w->pod, w->gate_conditions) : NULL;
        bool pod_ready = ready && !gates_msg;
        json_array_append_new(conds, condition("Ready", pod_ready, gates_msg ? "ReadinessGatesNotReady" : ready_reason,
                                               gates_msg ? gates_msg : ready_msg,
                                               transition_time(old_conditions, "Ready", pod_ready, now)));
        json_array_append_new(conds, condition("ContainersReady", ready, ready_reason, ready_msg,
                                               transition_time(old_conditions, "ContainersReady", ready, now)));
        json_array_append_new(conds, condition("PodScheduled", true, NULL, NULL,
                                               transition_time(old_conditions, "PodScheduled", true, now)));
        if (w->node_shutdown)
                /* as the kubelet's node shutdown manager (PodDisruptionConditions) */
                json_array_append_new(conds, condition("DisruptionTarget", true, "TerminationByKubelet",
                                                       NODE_SHUTDOWN_MESSAGE,
                                                       transition_time(old_conditions, "DisruptionTarget", true, now)));
        else if (w->evicted_disruption)
                /* the kubelet's eviction under pressure (PodDisruptionConditions, on since 1.26) */
                json_array_append_new(conds, condition("DisruptionTarget", true, "TerminationByKubelet",
                                                       w->evicted_message,
                                                       transition_time(old_conditions, "DisruptionTarget", true,
                                                                       now)));

        /* PodObservedGenerationTracking (GA in v1.35): status.observedGeneration and every
         * kubelet-owned condition's observedGeneration are the pod's metadata.generation */
        int64_t gen = pod_generation(w);
        for (size_t i = first_own; gen && i < json_array_size(conds); i++)
                json_object_set_new(json_array_get(conds, i), "observedGeneration", json_integer(gen));
        json_t *st = json_pack("{s:s, s:o, s:s, s:o, s:s}", "phase", phase, "conditions", conds, "hostIP",
                               strempty(w->m->host_ip), "hostIPs",
                               json_pack("[{s:s}]", "ip", strempty(w->m->host_ip)), "qosClass", strempty(w->qos));
        if (start)
                json_object_set_new(st, "startTime", json_string(start));
        if (gen)
                json_object_set_new(st, "observedGeneration", json_integer(gen));
        if (w->sb && w->sb->host_network && w->m->host_ip) {
                /* the kubelet: a hostNetwork pod's IPs are the node's IPs (one per family); every
                 * address of the host would be refused by the API server */
                json_object_set_new(st, "podIP", json_string(w->m->host_ip));
                json_object_set_new(st, "podIPs", json_pack("[{s:s}]", "ip", w->m->host_ip));
        } else if (w->sb && w->sb->n_ips > 0) {
                json_object_set_new(st, "podIP", json_string(w->sb->ips[0]));
                json_t *ips = json_array();
                for (size_t i = 0; i < w->sb->n_ips; i++)
                        json_array_append_new(ips, json_pack("{s:s}", "ip", w->sb->ips[i]));
                json_object_set_new(st, "podIPs", ips);
        }
        if (w->n_init)
                json_object_set_new(st, "initContainerStatuses", inits);
        else
                json_decref(inits);
        json_object_set_new(st, "containerStatuses", apps);
        if (w->n_eph) {
                /* as the kubelet's convertToAPIContainerStatuses for ephemeral containers: the
                 * same states and reasons as the pod's containers */
                json_t *eph = json_array();
                for (size_t i = 0; i < w->n_eph; i++)
                        json_array_append_new(eph, container_status_json(w, w->eph[i], "ContainerCreating"));
                json_object_set_new(st, "ephemeralContainerStatuses", eph);
        }
        if (w->node_shutdown) {
                json_object_set_new(st, "reason", json_string("Terminated"));
                json_object_set_new(st, "message", json_string(NODE_SHUTDOWN_MESSAGE));
        } else if (w->evicted_message) {
                json_object_set_new(st, "reason", json_string("Evicted"));
                json_object_set_new(st, "message", json_string(w->evicted_message));
        } else if (w->deadline_exceeded) {
                json_object_set_new(st, "reason", json_string("DeadlineExceeded"));
                json_object_set_new(st, "message", json_string("Pod was active on the node longer than the specified deadline"));
        }
        return st;
}

static void write_status(struct pod_worker *w) {
        _cleanup_free_ char *path = layout_pod_file(w->m->cri.root_dir, w->uid, LAYOUT_POD_JSON);
        if (!path)
                return;
        /* the previous status carries the conditions' transition times: from memory, or
         * from pod.json the first time (a pod adopted after a restart) */
        json_t *old = NULL;
        if (w->last_status)
                old = json_pack("{s:O}", "status", w->last_status);
        else {
                _cleanup_free_ char *buf = NULL;
                size_t len = 0;
                if (nl_read_file(path, 16 * 1024 * 1024, true, &buf, &len) == 0)
                        old = json_loadb(buf, len, 0, NULL);
        }
        json_t *j = pod_to_json(w->pod);
        json_t *st = build_status(w, old);
        json_decref(old);
        json_decref(w->last_status);
        w->last_status = json_incref(st);
        api_source_pod_status(w->m->api_source, w->pod, st);
        if (json_array_size(w->gate_conditions) > 0) {
                /* pod.json shows the gates' conditions as the API has them (the kubelet's status
                 * manager keeps conditions it does not own); the patch above never carries them */
                json_t *local = json_deep_copy(st), *c;
                size_t i;
                json_array_foreach(w->gate_conditions, i, c)
                        json_array_append(json_object_get(local, "conditions"), c);
                json_decref(st);
                st = local;
        }
        json_object_set_new(j, "status", st);
        char *s = json_dumps(j, JSON_INDENT(2));
        json_decref(j);
        if (!s || streq_ptr(s, w->last_written)) {
                free(s);
                return;
        }
        _cleanup_free_ char *dir = layout_pod_dir(w->m->cri.root_dir, w->uid);
        if (dir)
                (void) nl_mkdir_p(dir, 0700);
        if (nl_write_file_atomic(path, s, strlen(s), 0644) < 0)
                log_pod(1, pod_name(w), w->uid, NULL, "pod %s: cannot write %s", pod_name(w), path);
        free(w->last_written);
        w->last_written = s;
}

static void write_events(struct pod_worker *w) {
        if (!w->events_dirty)
                return;
        _cleanup_free_ char *path = layout_pod_file(w->m->cri.root_dir, w->uid, LAYOUT_EVENTS_JSON);
        _cleanup_free_ char *s = json_dumps(w->events, JSON_INDENT(2));
        if (path && s && nl_write_file_atomic(path, s, strlen(s), 0644) == 0)
                w->events_dirty = false;
}


/* ---- in-place resize ------------------------------------------------------------------------ */

/* As the kubelet's allocation manager and status manager (pkg/kubelet/allocation,
 * pkg/kubelet/status): a new spec whose containers ask for other resources is admitted against
 * the node's allocatable (manager_resize_admit); admitted, it becomes the allocation (w->pod,
 * checkpointed in allocated.json) and the sync actuates it (resize_step): the pod cgroup and
 * the containers whose resizePolicy is NotRequired through the runtime's update, the others
 * restarted. Not admitted, the allocation stays, the spec waits in w->desired with
 * PodResizePending Deferred, retried after 30 s then every 3 minutes (initialRetryDelay,
 * retryDelay) and whenever a pod goes. */

#define RESIZE_INITIAL_RETRY (30 * USEC_PER_SEC)
#define RESIZE_RETRY (180 * USEC_PER_SEC)

/* Static pods are not resized: their source is a file, whose edit is a new pod for the
 * kubelet (a new UID); one with its own metadata.uid keeps today's per-container update (the
 * new resources apply when a container starts again), as docs/agent.md says. */
static bool resizes(const struct pod_worker *w) {
        return !streq(pod_config_source(w->pod), "file");
}

static int64_t pod_generation(const struct pod_worker *w) {
        return w->pod->metadata.generation.set ? w->pod->metadata.generation.v : 0;
}

static void resize_condition_clear(struct resize_condition *c) {
        free(c->reason);
        free(c->message);
        *c = (struct resize_condition){};
}

/* updatedPodResizeCondition: the transition time moves when the reason does; true when the
 * reason or the generation changed (the kubelet records an event then) */
static bool resize_condition_set(struct resize_condition *c, const char *reason, const char *message, int64_t gen) {
        bool changed = !c->set || !streq_ptr(c->reason, reason) || c->generation != gen;
        usec_t now = now_realtime();
        if (!c->set || !streq_ptr(c->reason, reason))
                c->transition = now;
        c->probe = now;
        c->set = true;
        c->generation = gen;
        free(c->reason);
        free(c->message);
        c->reason = reason ? strdup(reason) : NULL;
        c->message = message ? strdup(message) : NULL;
        return changed;
}

/* The allocation checkpoint (the kubelet's allocated_pods_state): the allocated resources
 * by container name, and what each running container was made with or updated to, by
 * container ID, so that a restart of the daemon neither takes a Deferred resize as allocated
 * nor forgets one that is not actuated yet. */
static void write_allocation(struct pod_worker *w) {
        _cleanup_free_ char *path = layout_pod_file(w->m->cri.root_dir, w->uid, LAYOUT_ALLOCATION);
        json_t *alloc = json_object(), *act = json_object();
        const struct pod_spec *s = &w->pod->spec;
        for (size_t i = 0; i < s->n_containers; i++)
                json_object_set_new(alloc, strempty(s->containers[i].name), pod_resources_json(s->containers[i].resources));
        for (size_t i = 0; i < s->n_init_containers; i++)
                json_object_set_new(alloc, strempty(s->init_containers[i].name),
                                    pod_resources_json(s->init_containers[i].resources));
        for (size_t i = 0; i < ctr_count(w); i++) {
                struct ctr *c = ctr_at(w, i);
                if (c->id && c->actuated)
                        json_object_set(act, c->id, c->actuated);
        }
        json_t *j = json_pack("{s:o, s:o}", "containers", alloc, "actuated", act);
        if (j && s->resources)
                json_object_set_new(j, "resources", pod_resources_json(s->resources));
        char *text = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        json_decref(j);
        if (!path || !text || nl_write_file_atomic(path, text, strlen(text), 0644) < 0)
                log_pod(1, pod_name(w), w->uid, NULL, "pod %s: cannot write its allocation checkpoint, ignoring",
                        pod_name(w));
        free(text);
}

/* The checkpoint as a pod with only names and resources (for pod_with_allocation), and the
 * actuated resources by container ID; -ENOENT when there is none. */
static int read_allocation(struct manager *m, const struct pod *pod, struct pod **ret_alloc, json_t **ret_actuated) {
        _cleanup_free_ char *path = layout_pod_file(m->cri.root_dir, strempty(pod->metadata.uid), LAYOUT_ALLOCATION);
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        if (!path || nl_read_file(path, 1024 * 1024, true, &buf, &len) < 0)
                return -ENOENT;
        json_t *j = json_loadb(buf, len, 0, NULL);
        if (!json_is_object(j)) {
                json_decref(j);
                return -EINVAL;
        }
        /* the current spec's containers with the checkpoint's resources */
        json_t *pj = pod_to_json(pod);
        json_t *spec = json_object_get(pj, "spec");
        const char *lists[] = { "containers", "initContainers" };
        for (size_t l = 0; l < 2; l++) {
                json_t *c;
                size_t i;
                json_array_foreach(json_object_get(spec, lists[l]), i, c) {
                        json_t *r = json_object_get(json_object_get(j, "containers"),
                                                    strempty(json_string_value(json_object_get(c, "name"))));
                        if (json_is_object(r))
                                json_object_set(c, "resources", r);
                }
        }
        json_t *pr = json_object_get(j, "resources");
        if (json_is_object(pr))
                json_object_set(spec, "resources", pr);
        else if (spec)
                json_object_del(spec, "resources");
        struct pod *alloc = pj ? pod_from_json(pj, NULL, NULL) : NULL;
        json_decref(pj);
        if (!alloc) {
                json_decref(j);
                return -EINVAL;
        }
        *ret_alloc = alloc;
        *ret_actuated = json_incref(json_object_get(j, "actuated"));
        json_decref(j);
        return 0;
}

int pod_allocation_view(struct manager *m, const struct pod *pod, struct pod **ret) {
        struct pod *alloc = NULL;
        json_t *actuated = NULL;
        *ret = NULL;
        if (read_allocation(m, pod, &alloc, &actuated) < 0)
                return 0;
        json_decref(actuated);
        int r = 0;
        if (pod_resources_changed(alloc, pod, NULL)) {
                *ret = pod_with_allocation(pod, alloc);
                r = *ret ? 1 : -ENOMEM;
        }
        pod_free(alloc);
        return r;
}

static void resize_event_pending(struct pod_worker *w, const struct pod *desired) {
        const struct resize_condition *c = &w->resize_pending;
        _cleanup_free_ char *prefix = nl_strdupf("Pod resize %s", strempty(c->reason));
        _cleanup_free_ char *msg = pod_resize_message(desired, strempty(prefix), c->message);
        pod_event(w, "Warning", streq_ptr(c->reason, "Infeasible") ? "ResizeInfeasible" : "ResizeDeferred", "%s",
                  msg ? msg : strempty(prefix));
}

/* handlePodResourcesResize: pod (taken) is a new spec for the running pod. Returns the pod the
 * worker runs: pod itself when its resources are allocated (or unchanged), else a copy with
 * the allocated resources while pod waits in w->desired. NULL when out of memory (pod freed). */
static struct pod *resize_admit(struct pod_worker *w, struct pod *pod) {
        bool pod_level = false;
        pod_free(w->desired);
        w->desired = NULL;
        if (!pod_resources_changed(w->pod, pod, &pod_level)) {
                /* desired == allocated (a revert too): nothing pending */
                resize_condition_clear(&w->resize_pending);
                return pod;
        }
        const char *reason = NULL;
        _cleanup_free_ char *message = NULL;
        if (pod_level) {
                /* nodelet resizes containers only: a kubelet without
                 * InPlacePodLevelResourcesVerticalScaling says this (IsInPlacePodLevelResources-
                 * VerticalScalingAllowed) */
                reason = "Infeasible";
                message = strdup("InPlacePodLevelResourcesVerticalScaling is disabled");
        } else if (manager_resize_admit(w->m, w, pod, &message) < 0)
                reason = "Deferred";
        if (!reason) {
                resize_condition_clear(&w->resize_pending);
                /* a new resize starts over: its in-progress condition carries the new generation */
                resize_condition_clear(&w->resize_progress);
                int64_t gen = pod->metadata.generation.set ? pod->metadata.generation.v : 0;
                resize_condition_set(&w->resize_progress, NULL, NULL, gen);
                w->pod_cgroup_stale = true;
                w->resize_retry_at = 0;
                _cleanup_free_ char *msg = pod_resize_message(pod, "Pod resize started", NULL);
                pod_event(w, "Normal", "ResizeStarted", "%s", msg ? msg : "Pod resize started");
                log_pod(2, pod_name(w), w->uid, NULL, "pod %s: resize allocated", pod_name(w));
                return pod;
        }
        struct pod *alloc = pod_with_allocation(pod, w->pod);
        if (!alloc) {
                pod_free(pod);
                return NULL;
        }
        int64_t gen = pod->metadata.generation.set ? pod->metadata.generation.v : 0;
        if (resize_condition_set(&w->resize_pending, reason, message, gen))
                resize_event_pending(w, pod);
        log_pod(2, pod_name(w), w->uid, NULL, "pod %s: resize %s: %s", pod_name(w), reason, strempty(message));
        w->desired = pod;
        if (streq(reason, "Deferred")) {
                if (!w->resize_retry_delay)
                        w->resize_retry_delay = RESIZE_INITIAL_RETRY;
                w->resize_retry_at = now_monotonic() + w->resize_retry_delay;
                arm_timer(w, w->resize_retry_at);
        } else
                w->resize_retry_at = 0;
        return alloc;
}

struct resize_arg {
        const struct pod_worker *w;
        char **ids;
        const struct pod_container **specs;
        size_t n;
};

static json_t *work_resize(struct manager *m, const void *argp) {
        const struct resize_arg *a = argp;
        nl_error err = NL_ERROR_INIT;
        if (cri_pod_resize(&m->cri, a->w->sb, a->w->pod, a->ids, a->specs, a->n, &err) < 0) {
                json_t *j = op_error(NULL, &err, "resize failed");
                nl_error_clear(&err);
                return j;
        }
        return json_object();
}

static void done_resize(json_t *result, void *userdata) {
        struct pod_worker *w = userdata;
        w->resize_busy = false;
        w->n_async--;
        const char *error = json_string_value(json_object_get(result, "error"));
        for (size_t i = 0; i < ctr_count(w); i++) {
                struct ctr *c = ctr_at(w, i);
                if (c->updating && !error) {
                        json_decref(c->actuated);
                        c->actuated = json_incref(c->updating);
                }
                json_decref(c->updating);
                c->updating = NULL;
        }
        if (error) {
                /* the kubelet's ResizeError: PodResizeInProgress with reason Error, retried by
                 * the next sync */
                log_pod(1, pod_name(w), w->uid, NULL, "pod %s: resize failed: %s", pod_name(w), error);
                int64_t gen = w->resize_progress.set ? w->resize_progress.generation : pod_generation(w);
                if (resize_condition_set(&w->resize_progress, "Error", error, gen)) {
                        _cleanup_free_ char *msg = pod_resize_message(w->pod, "Pod resize error", error);
                        pod_event(w, "Warning", "ResizeError", "%s", msg ? msg : "Pod resize error");
                }
                w->resize_op_retry_at = now_monotonic() + BACKOFF_INITIAL;
                arm_timer(w, w->resize_op_retry_at);
        } else {
                w->resize_op_retry_at = 0;
                w->pod_cgroup_stale = false;
                write_allocation(w);
        }
        schedule(w);
}

/* computePodActions and doPodResizeAction for the allocation: containers whose resources
 * differ from what they run with are updated in place (NotRequired) or restarted
 * (RestartContainer, "Container <name> resize requires restart"); once every running
 * container has its allocation, PodResizeInProgress goes with a ResizeCompleted event. */
static void resize_step(struct pod_worker *w) {
        if (w->resize_busy || now_monotonic() < w->resize_op_retry_at)
                return;
        char **ids = calloc(ctr_count(w) + 1, sizeof(char *));
        const struct pod_container **specs = calloc(ctr_count(w) + 1, sizeof(*specs));
        size_t n = 0;
        bool pending = false;
        for (size_t i = 0; ids && specs && i < ctr_count(w); i++) {
                struct ctr *c = ctr_at(w, i);
                if (c->ephemeral || (c->init && !c->sidecar) || !running(c) || c->busy)
                        continue;
                if (!c->actuated) /* made before nodelet knew: what it was made from */
                        c->actuated = pod_resources_json(c->spec->resources);
                bool changed = false;
                bool restart = pod_resize_needs_restart(c->spec, c->actuated, &changed);
                if (!changed)
                        continue;
                pending = true;
                if (restart) {
                        c->resize_restart = true;
                        continue;
                }
                json_decref(c->updating);
                c->updating = pod_resources_json(c->spec->resources);
                ids[n] = c->id;
                specs[n++] = c->spec;
        }
        if (ids && specs && (n > 0 || w->pod_cgroup_stale)) {
                struct resize_arg a = { .w = w, .ids = ids, .specs = specs, .n = n };
                w->resize_busy = true;
                w->n_async++;
                if (op_start(w->m, "resize-pod", work_resize, &a, done_resize, w) < 0) {
                        w->resize_busy = false;
                        w->n_async--;
                }
                pending = true;
        }
        free(ids);
        free(specs);
        for (size_t i = 0; i < ctr_count(w); i++) {
                struct ctr *c = ctr_at(w, i);
                pending |= c->resize_restart;
        }
        if (!pending && w->resize_progress.set) {
                /* allocated == actual */
                _cleanup_free_ char *msg = pod_resize_message(w->pod, "Pod resize completed", NULL);
                pod_event(w, "Normal", "ResizeCompleted", "%s", msg ? msg : "Pod resize completed");
                log_pod(2, pod_name(w), w->uid, NULL, "pod %s: resize completed", pod_name(w));
                resize_condition_clear(&w->resize_progress);
        }
}

static json_t *resize_condition_json(const char *type, const struct resize_condition *c) {
        _cleanup_free_ char *probe = rfc3339(c->probe), *trans = rfc3339(c->transition);
        json_t *j = json_pack("{s:s, s:s, s:o, s:o}", "type", type, "status", "True", "lastProbeTime",
                              json_str_or_null(TAKE_PTR(probe)), "lastTransitionTime", json_str_or_null(TAKE_PTR(trans)));
        if (j && c->generation)
                json_object_set_new(j, "observedGeneration", json_integer(c->generation));
        if (j && c->reason)
                json_object_set_new(j, "reason", json_string(c->reason));
        if (j && c->message)
                json_object_set_new(j, "message", json_string(c->message));
        return j;
}

void pod_worker_resize_retry(struct pod_worker *w) {
        if (!w->desired || !streq_ptr(w->resize_pending.reason, "Deferred"))
                return;
        w->resize_retry_at = now_monotonic();
        schedule(w);
}

/* ---- the sync -------------------------------------------------------------------------- */

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct pod_worker *w = userdata;
        schedule(w);
        return 0;
}

void arm_timer(struct pod_worker *w, usec_t when) {
        uint64_t cur = 0;
        int enabled = 0;
        if (w->timer && sd_event_source_get_enabled(w->timer, &enabled) >= 0 && enabled &&
            sd_event_source_get_time(w->timer, &cur) >= 0 && cur <= when)
                return;
        if (!w->timer) {
                if (sd_event_add_time(w->m->event, &w->timer, CLOCK_MONOTONIC, when, 100000, on_timer, w) < 0)
                        return;
                (void) sd_event_source_set_description(w->timer, "pod-worker-timer");
        } else
                (void) sd_event_source_set_time(w->timer, when);
        (void) sd_event_source_set_enabled(w->timer, SD_EVENT_ONESHOT);
}

static void stop_everything(struct pod_worker *w, bool remove) {
        if (w->state == W_RUNNING) {
                w->state = W_TERMINATING;
                w->kill_deadline = now_monotonic() + (usec_t) grace_seconds(w) * USEC_PER_SEC;
                /* as the kubelet: no liveness probe kills a container of a terminating pod */
                for (size_t i = 0; i < ctr_count(w); i++)
                        probes_stop_liveness(ctr_at(w, i));
        } else if (w->state == W_TERMINATING) {
                /* a second delete with a shorter grace period shortens the wait */
                usec_t d = now_monotonic() + (usec_t) grace_seconds(w) * USEC_PER_SEC;
                if (d < w->kill_deadline) {
                        w->kill_deadline = d;
                        arm_timer(w, d);
                }
        }
        w->remove_after |= remove;
}

static void spec_pre_stop_done(struct ctr *c, bool ok, const char *message) {
        pre_stop_finished(c, ok, message, &c->kill_deadline);
}

/* computePodActions: a running container whose hash no longer matches its spec (containerChanged:
 * a new image) is killed as the kubelet's killContainer does it (preStop, then its stop signal,
 * SIGKILL at the end of the pod's grace period) and started again with the new spec, whatever
 * the restart policy; the other containers, the sandbox and the volumes are left alone. */
static void restart_changed(struct ctr *c, usec_t now) {
        struct pod_worker *w = c->w;
        if (!c->spec_restart) {
                bool changed = pod_container_changed(c->spec, c->st);
                if (c->busy || c->hook_busy || c->hook_kill_reason || (!changed && !(c->resize_restart && running(c))))
                        return;
                c->spec_restart = true;
                c->pre_stop_done = false;
                c->killed = false;
                c->kill_deadline = now + (usec_t) grace_seconds(w) * USEC_PER_SEC;
                log_pod(2, pod_name(w), w->uid, c->spec->name, "pod %s: container %s %s, restarting it", pod_name(w),
                        c->spec->name, changed ? "definition changed" : "resize requires restart");
                /* the kubelet's kill messages (computePodActions, computePodResizeAction) */
                if (changed)
                        pod_event(w, "Normal", "Killing", "Container %s definition changed, will be restarted",
                                  c->spec->name);
                else
                        pod_event(w, "Normal", "Killing", "Container %s resize requires restart", c->spec->name);
                probes_stop(c);
        }
        if (!running(c) || c->busy || c->hook_busy)
                return;
        if (now >= c->kill_deadline) {
                kill_container(c, SIGKILL);
                return;
        }
        const struct pod_lifecycle_handler *pre = c->spec->lifecycle ? c->spec->lifecycle->pre_stop : NULL;
        if (pre && !c->pre_stop_done) {
                c->hook_busy = true;
                if (hook_run(c, pre, c->kill_deadline - now, spec_pre_stop_done) < 0)
                        spec_pre_stop_done(c, false, "cannot run the hook");
        } else if (!c->killed) {
                kill_container(c, 0);
                c->killed = c->busy;
        }
        arm_timer(w, c->kill_deadline);
}

static int take_spec_in_place(struct pod_worker *w, struct pod *pod);

static void sync_running(struct pod_worker *w) {
        usec_t now = now_monotonic();
        if (!w->sb) {
                /* as the kubelet: no sandbox while the runtime (or, without hostNetwork, its
                 * network) is not ready; the runtime check wakes the pod when it is */
                const char *why = w->sb_busy ? NULL : manager_runtime_error(w->m, host_network(w));
                if (!streq_ptr(why, w->runtime_wait)) {
                        free(w->runtime_wait);
                        w->runtime_wait = why ? strdup(why) : NULL;
                }
                if (why)
                        return;
                if (!w->sb_busy && now >= w->sb_retry_at && !data_ready(w))
                        return;
                if (!w->sb_busy && now >= w->sb_retry_at) {
                        /* hostUsers: false: the pod's host IDs, before the sandbox (on the loop, so
                         * that two sandboxes made at once never get the same) */
                        _cleanup_free_ char *no_userns = NULL;
                        if (userns_pod_mapping(w->m, w->pod, &w->userns, &no_userns) < 0) {
                                /* as the kubelet: the sandbox's config cannot be made; retried */
                                log_pod(1, pod_name(w), w->uid, NULL, "pod %s: %s", pod_name(w), strempty(no_userns));
                                pod_event(w, "Warning", "FailedCreatePodSandBox", "Failed to create pod sandbox: %s",
                                          strempty(no_userns));
                                w->sb_retry_at = now + BACKOFF_INITIAL;
                                arm_timer(w, w->sb_retry_at);
                                return;
                        }
                        w->sb_busy = true;
                        if (op_start(w->m, "run-sandbox", work_sandbox, w, done_sandbox, w) < 0)
                                w->sb_busy = false;
                } else if (!w->sb_busy)
                        arm_timer(w, w->sb_retry_at);
                return;
        }
        if (!w->start_realtime)
                w->start_realtime = now_realtime();
        /* kills decided by a probe or hook: SIGKILL at the end of their grace period */
        for (size_t i = 0; i < ctr_count(w); i++) {
                struct ctr *c = ctr_at(w, i);
                if (c->hook_kill_reason && running(c) && !c->busy) {
                        if (now >= c->kill_deadline)
                                kill_container(c, SIGKILL);
                        else
                                arm_timer(w, c->kill_deadline);
                }
        }
        for (size_t i = 0; i < ctr_count(w); i++) {
                struct ctr *c = ctr_at(w, i);
                /* an ephemeral container is never restarted (its spec cannot change either) */
                if ((!c->init || c->sidecar) && !c->ephemeral)
                        restart_changed(c, now);
        }
        if (w->desired && w->resize_retry_at && now >= w->resize_retry_at) {
                /* a Deferred resize tried again (retryPendingResizes) */
                w->resize_retry_at = 0;
                w->resize_retry_delay = RESIZE_RETRY;
                struct pod *p = resize_admit(w, TAKE_PTR(w->desired));
                if (p && take_spec_in_place(w, p) < 0)
                        pod_free(p);
                else if (p && !w->desired)
                        write_allocation(w);
        }
        if (!pod_terminal(w) && resizes(w))
                resize_step(w);
        if (w->pod->spec.active_deadline_seconds.set && !w->deadline_exceeded) {
                /* as the kubelet's activeDeadlineHandler: measured on the wall clock from the
                 * pod's startTime (kept in pod.json, so a restart of the daemon does not start
                 * the clock over), with the spec's current value (the API lets it shrink on a
                 * running pod) */
                usec_t real = now_realtime();
                usec_t deadline = w->start_realtime + (usec_t) w->pod->spec.active_deadline_seconds.v * USEC_PER_SEC;
                if (real >= deadline) {
                        w->deadline_exceeded = true;
                        log_pod(2, pod_name(w), w->uid, NULL, "pod %s: active deadline exceeded", pod_name(w));
                        pod_event(w, "Normal", "DeadlineExceeded",
                                  "Pod was active on the node longer than the specified deadline");
                        stop_everything(w, false);
                        return;
                }
                arm_timer(w, now + (deadline - real));
        }

        /* Ephemeral containers first, as the kubelet's SyncPod (step 5, before init containers, so
         * that one can debug a pod whose init containers fail), each once: computePodActions
         * starts one only while the runtime has no container of that name (a create that
         * failed is tried again), never again after it ran, whatever the restart policy. */
        if (!pod_terminal(w))
                for (size_t i = 0; i < w->n_eph; i++) {
                        struct ctr *c = w->eph[i];
                        if (!c->id && !c->busy)
                                start_container(c);
                }

        /* init containers, in order */
        for (size_t i = 0; i < w->n_init; i++) {
                struct ctr *c = &w->init[i];
                if (c->sidecar) {
                        if (!running(c) && !c->busy)
                                start_container(c);
                        /* the next init container waits until this sidecar has started (its
                         * startup probe passed and its postStart hook returned) */
                        if (!c->id || c->busy || !is_up(c) || !c->started)
                                return;
                        continue;
                }
                if (c->done)
                        continue;
                if (c->busy || running(c))
                        return;
                if (exited(c)) {
                        if (c->st->exit_code == 0) {
                                c->done = true;
                                continue;
                        }
                        if (streq_ptr(w->pod->spec.restart_policy, "Never")) {
                                w->failed_init = true;
                                log_pod(2, pod_name(w), w->uid, NULL, "pod %s: init container %s failed", pod_name(w), c->spec->name);
                                stop_everything(w, false);
                                return;
                        }
                }
                start_container(c);
                return;
        }

        const char *phase = pod_phase(w);
        bool terminal = streq(phase, "Succeeded") || streq(phase, "Failed");
        for (size_t i = 0; i < w->n_app; i++) {
                struct ctr *c = &w->app[i];
                if (c->busy || running(c))
                        continue;
                if (!c->id || (exited(c) && should_restart(w, c)))
                        start_container(c);
        }
        /* sidecars restart while the pod runs */
        for (size_t i = 0; i < w->n_init; i++)
                if (w->init[i].sidecar && !running(&w->init[i]) && !w->init[i].busy && !terminal)
                        start_container(&w->init[i]);
        if (terminal) {
                /* a finished pod's sidecars are stopped */
                for (size_t i = 0; i < w->n_init; i++)
                        if (w->init[i].sidecar && running(&w->init[i]))
                                kill_container(&w->init[i], 0);
        }
}

static void sync_pod(struct pod_worker *w) {
        for (size_t i = 0; i < ctr_count(w); i++)
                refresh(ctr_at(w, i));

        if (w->state == W_RUNNING)
                sync_running(w);
        if (w->state == W_TERMINATING)
                terminate_step(w);
        if (w->state == W_STOPPED && w->remove_after) {
                /* the final status (every container terminated) is written and sent before
                 * the removal, as the kubelet's status manager has it before its DELETE: a
                 * pod a finalizer holds shows its containers terminated, not Running */
                write_status(w);
                write_events(w);
                remove_step(w);
        }
        if (w->state == W_REMOVED) {
                /* a replacement spec starts fresh; otherwise the worker and its record go */
                manager_worker_gone(w->m, w);
                return;
        }
        if (w->state != W_REMOVING) {
                write_status(w);
                write_events(w);
        }
}

static int on_defer(sd_event_source *s, void *userdata) {
        struct pod_worker *w = userdata;
        sync_pod(w);
        return 0;
}

void schedule(struct pod_worker *w) {
        if (!w->defer) {
                if (sd_event_add_defer(w->m->event, &w->defer, on_defer, w) < 0)
                        return;
                (void) sd_event_source_set_description(w->defer, "pod-worker-sync");
        }
        (void) sd_event_source_set_enabled(w->defer, SD_EVENT_ONESHOT);
}

/* ---- adoption after a restart of the daemon -------------------------------------------- */

static void adopt(struct pod_worker *w) {
        struct manager *m = w->m;
        _cleanup_free_ char *sb_path = layout_pod_file(m->cri.root_dir, w->uid, LAYOUT_SANDBOX_ID);
        _cleanup_free_ char *sb_id = NULL;
        if (sb_path && nl_read_file(sb_path, 128, true, &sb_id, NULL) == 0) {
                sb_id[strcspn(sb_id, "\n")] = '\0';
                if (cri_sandbox_load(&m->cri, sb_id, &w->sb, NULL) < 0)
                        w->sb = NULL;
        }
        char **ids = NULL;
        size_t n = 0;
        if (cri_container_list(&m->cri, &ids, &n) < 0)
                return;
        for (size_t k = 0; k < n; k++) {
                struct container_status *st = NULL;
                if (cri_container_status_settle(&m->cri, ids[k], &st, NULL) < 0 || !streq_ptr(st->pod_uid, w->uid)) {
                        container_status_free(st);
                        continue;
                }
                for (size_t i = 0; i < ctr_count(w); i++) {
                        struct ctr *c = ctr_at(w, i);
                        if (!streq_ptr(c->spec->name, st->name))
                                continue;
                        /* the newest container is current, the one before it the previous */
                        if (!c->id || st->restart_count > c->restart_count) {
                                free(c->prev_id);
                                c->prev_id = c->id;
                                container_status_free(c->last_term);
                                c->last_term = c->st;
                                c->id = strdup(ids[k]);
                                c->restart_count = st->restart_count;
                                c->st = st;
                                st = NULL;
                        } else if (!c->prev_id || st->restart_count + 1 == c->restart_count) {
                                free(c->prev_id);
                                c->prev_id = strdup(ids[k]);
                                container_status_free(c->last_term);
                                c->last_term = st;
                                st = NULL;
                        }
                        break;
                }
                container_status_free(st);
        }
        for (size_t k = 0; k < n; k++)
                free(ids[k]);
        free(ids);
        for (size_t i = 0; i < w->n_init; i++)
                if (!w->init[i].sidecar && w->init[i].st && w->init[i].st->state == CONTAINER_EXITED &&
                    w->init[i].st->exit_code == 0)
                        w->init[i].done = true;
        if (w->sb || n > 0)
                log_pod(2, pod_name(w), w->uid, NULL, "pod %s: adopted what was running", pod_name(w));
}

/* The pod's startTime from its pod.json: a pod that ran here before the daemon restarted keeps
 * it (the kubelet keeps it in the API's status), and so does its active deadline's clock. */
static void restore_eviction(struct pod_worker *w);

/* restore_start_time also finds out whether a node shutdown stopped the pod before a restart of
 * the daemon: it stays stopped (the kubelet never runs a terminal pod again). */
static void restore_start_time(struct pod_worker *w) {
        _cleanup_free_ char *path = layout_pod_file(w->m->cri.root_dir, w->uid, LAYOUT_POD_JSON);
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        if (!path || nl_read_file(path, 16 * 1024 * 1024, true, &buf, &len) < 0)
                return;
        json_t *j = json_loadb(buf, len, 0, NULL);
        const char *start = json_string_value(json_object_get(json_object_get(j, "status"), "startTime"));
        usec_t t = start ? parse_rfc3339(start) : 0;
        if (t)
                w->start_realtime = t;
        json_t *st = json_object_get(j, "status");
        if (streq_ptr(json_string_value(json_object_get(st, "reason")), "Terminated") &&
            streq_ptr(json_string_value(json_object_get(st, "message")), NODE_SHUTDOWN_MESSAGE)) {
                w->node_shutdown = true;
                w->shutdown_grace = 0;
        }
        json_decref(j);
}

/* ---- lifecycle ----------------------------------------------------------------------------- */

/* Slots for the ephemeral containers of pod that have none yet (the list only grows: the API
 * neither changes nor removes one, pod_update_needs_recreate sees to the rest). */
static int ephemeral_add(struct pod_worker *w, struct pod *pod) {
        size_t n = pod->spec.n_ephemeral_containers;
        for (size_t i = 0; i < w->n_eph && i < n; i++)
                w->eph[i]->spec = &pod->spec.ephemeral_containers[i];
        if (n <= w->n_eph)
                return 0;
        struct ctr **e = realloc(w->eph, n * sizeof(*e));
        if (!e)
                return -ENOMEM;
        w->eph = e;
        for (; w->n_eph < n; w->n_eph++) {
                struct ctr *c = calloc(1, sizeof(*c));
                if (!c)
                        return -ENOMEM;
                *c = (struct ctr){ .w = w, .spec = &pod->spec.ephemeral_containers[w->n_eph], .ephemeral = true };
                w->eph[w->n_eph] = c;
        }
        return 0;
}

static void ctrs_init(struct pod_worker *w) {
        w->n_init = w->pod->spec.n_init_containers;
        w->n_app = w->pod->spec.n_containers;
        w->init = calloc(w->n_init ? w->n_init : 1, sizeof(struct ctr));
        w->app = calloc(w->n_app ? w->n_app : 1, sizeof(struct ctr));
        for (size_t i = 0; i < w->n_init; i++)
                w->init[i] = (struct ctr){ .w = w, .spec = &w->pod->spec.init_containers[i], .init = true,
                                           .sidecar = streq_ptr(w->pod->spec.init_containers[i].restart_policy, "Always") };
        for (size_t i = 0; i < w->n_app; i++)
                w->app[i] = (struct ctr){ .w = w, .spec = &w->pod->spec.containers[i] };
        (void) ephemeral_add(w, w->pod);
}

static void ctr_done(struct ctr *c) {
        probes_stop(c);
        json_decref(c->actuated);
        json_decref(c->creating_res);
        json_decref(c->updating);
        free(c->hook_kill_reason);
        free(c->id);
        free(c->prev_id);
        container_status_free(c->st);
        container_status_free(c->last_term);
        free(c->waiting_reason);
        free(c->waiting_message);
        free(c->image_id);
        free(c->image_id_of);
        sd_event_source_disable_unref(c->exit_watch);
}

/* The kubelet's sysctl admission (pkg/kubelet/sysctl): only the safe, namespaced sysctls,
 * and not those of a namespace the pod shares with the host. */
static const char *const SAFE_SYSCTLS[] = {
        "kernel.shm_rmid_forced",         "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",      "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.ip_local_reserved_ports", "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",   "net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_rmem",
        "net.ipv4.tcp_wmem",              NULL,
};

static char *admit_sysctls(const struct pod *pod) {
        const struct pod_pod_security_context *sc = pod->spec.security_context;
        for (size_t i = 0; sc && i < sc->n_sysctls; i++) {
                _cleanup_free_ char *name = strdup(strempty(sc->sysctls[i].name));
                if (!name)
                        return NULL;
                for (char *p = name; *p; p++) /* kernel/shm_rmid_forced is the same sysctl */
                        if (*p == '/')
                                *p = '.';
                bool safe = false;
                for (size_t k = 0; SAFE_SYSCTLS[k]; k++)
                        safe = safe || streq(SAFE_SYSCTLS[k], name);
                if (!safe)
                        return nl_strdupf("forbidden sysctl: \"%s\" not allowlisted", name);
                bool net = strncmp(name, "net.", 4) == 0;
                if (net && pod->spec.host_network.set && pod->spec.host_network.v)
                        return nl_strdupf("forbidden sysctl: \"%s\" not allowed with host net enabled", name);
                if (!net && pod->spec.host_ipc.set && pod->spec.host_ipc.v)
                        return nl_strdupf("forbidden sysctl: \"%s\" not allowed with host ipc enabled", name);
        }
        return NULL;
}

/* A worker for pod with its containers and its pod dir; NULL when out of memory (pod is then
 * not taken). */
static struct pod_worker *worker_alloc(struct manager *m, struct pod *pod) {
        struct pod_worker *w = calloc(1, sizeof(*w));
        if (!w)
                return NULL;
        w->m = m;
        w->pod = pod;
        w->uid = strdup(strempty(pod->metadata.uid));
        w->qos = strdup(pod_qos_class(pod));
        ctrs_init(w);
        if (!w->uid || !w->qos || !w->init || !w->app) {
                w->pod = NULL;
                pod_worker_free(w);
                return NULL;
        }
        _cleanup_free_ char *dir = layout_pod_dir(m->cri.root_dir, w->uid);
        if (dir)
                (void) nl_mkdir_p(dir, 0700);
        return w;
}

struct pod_worker *pod_worker_new(struct manager *m, struct pod *pod) {
        /* after a restart of the daemon the pod runs with what was allocated (the kubelet's
         * AddPod: UpdatePodFromAllocation); a resize not allocated yet is judged again */
        struct pod *alloc = NULL, *desired = NULL;
        json_t *actuated = NULL;
        if (read_allocation(m, pod, &alloc, &actuated) == 0 && pod_resources_changed(alloc, pod, NULL)) {
                struct pod *p = pod_with_allocation(pod, alloc);
                if (p) {
                        desired = pod;
                        pod = p;
                }
        }
        pod_free(alloc);
        struct pod_worker *w = worker_alloc(m, pod);
        if (!w) {
                json_decref(actuated);
                if (desired)
                        pod_free(pod); /* the caller frees what it gave */
                return NULL;
        }
        w->desired = desired;
        if (desired)
                w->resize_retry_at = now_monotonic();
        /* the events of the pod before a restart of the daemon */
        w->events = node_pod_events(m->cri.root_dir, w->uid);
        if (!w->events && !(w->events = json_array())) {
                json_decref(actuated);
                if (w->desired)
                        w->desired = NULL; /* the caller's; w->pod is our copy */
                else
                        w->pod = NULL;
                pod_worker_free(w);
                return NULL;
        }
        char *forbidden = admit_sysctls(pod);
        if (forbidden) {
                json_decref(actuated);
                log_pod(1, pod_name(w), w->uid, NULL, "pod %s: rejected: %s", pod_name(w), forbidden);
                pod_event(w, "Warning", "SysctlForbidden", "%s", forbidden);
                w->rejected_reason = strdup("SysctlForbidden");
                w->rejected_message = forbidden;
                w->state = W_STOPPED;
                schedule(w);
                return w;
        }
        adopt(w);
        restore_start_time(w);
        for (size_t i = 0; i < ctr_count(w); i++) {
                struct ctr *c = ctr_at(w, i);
                json_t *a = c->id ? json_object_get(actuated, c->id) : NULL;
                if (json_is_object(a))
                        c->actuated = json_incref(a);
        }
        json_decref(actuated);
        write_allocation(w);
        if (w->node_shutdown)
                /* what still runs of it (nothing, after a reboot) stops at once */
                stop_everything(w, false);
        restore_eviction(w);
        /* adopted running containers are probed again from scratch, as after a kubelet restart */
        for (size_t i = 0; i < ctr_count(w); i++) {
                struct ctr *c = ctr_at(w, i);
                if (running(c))
                        probes_start(c);
        }
        log_pod(2, pod_name(w), w->uid, NULL, "pod %s: %s", pod_name(w), w->sb ? "resumed" : "starting");
        schedule(w);
        return w;
}

/* A pod the eviction manager evicted stays evicted across a restart of the daemon, as the
 * kubelet never runs a Failed pod again: its reason and message are read back from pod.json and
 * whatever still runs of it is stopped. */
static void restore_eviction(struct pod_worker *w) {
        _cleanup_free_ char *path = layout_pod_file(w->m->cri.root_dir, w->uid, LAYOUT_POD_JSON);
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        if (!path || nl_read_file(path, 16 * 1024 * 1024, true, &buf, &len) < 0)
                return;
        json_t *j = json_loadb(buf, len, 0, NULL), *st = json_object_get(j, "status"), *c;
        size_t i;
        if (streq_ptr(json_string_value(json_object_get(st, "phase")), "Failed") &&
            streq_ptr(json_string_value(json_object_get(st, "reason")), "Evicted")) {
                w->evicted_message = strdup(strempty(json_string_value(json_object_get(st, "message"))));
                json_array_foreach(json_object_get(st, "conditions"), i, c)
                        if (streq_ptr(json_string_value(json_object_get(c, "type")), "DisruptionTarget"))
                                w->evicted_disruption = true;
                w->grace_override = (nl_opt_int){ .set = true, .v = 1 };
                log_pod(2, pod_name(w), w->uid, NULL, "pod %s: was evicted: stays stopped", pod_name(w));
                stop_everything(w, false);
        }
        json_decref(j);
}

/* The new spec replaces the running one: the containers keep their slots (same names, same
 * order) and point into it; the old spec stays until the worker goes. */
static int take_spec_in_place(struct pod_worker *w, struct pod *pod) {
        struct pod **n = realloc(w->retired, (w->n_retired + 1) * sizeof(*n));
        if (!n)
                return -ENOMEM;
        w->retired = n;
        w->retired[w->n_retired++] = w->pod;
        w->pod = pod;
        for (size_t i = 0; i < w->n_init; i++)
                w->init[i].spec = &pod->spec.init_containers[i];
        for (size_t i = 0; i < w->n_app; i++) {
                struct ctr *c = &w->app[i];
                if (pod_container_hash(&pod->spec.containers[i]) != pod_container_hash(c->spec))
                        /* the next start pulls the new image as its pull policy says */
                        c->image_pulled = false;
                c->spec = &pod->spec.containers[i];
        }
        /* kubectl debug: the new ephemeral containers start at the next sync, nothing else
         * restarts (the kubelet's computePodActions adds them to EphemeralContainersToStart);
         * out of memory, the missing ones come with the next update or resync */
        if (ephemeral_add(w, pod) < 0)
                log_pod(1, pod_name(w), w->uid, NULL, "pod %s: out of memory for its ephemeral containers, ignoring",
                        pod_name(w));
        return 0;
}

/* A new spec for the same UID, as the kubelet's UpdatePod -> SyncPod -> computePodActions: the
 * sandbox, its IP and volumes stay unless the pod-level spec that made them changed
 * (pod_update_needs_recreate); containers whose hash changed (a new image) are restarted by
 * the sync (restart_changed), the others keep running; activeDeadlineSeconds and
 * terminationGracePeriodSeconds apply from the next sync. */
void pod_worker_update(struct pod_worker *w, struct pod *pod) {
        _cleanup_free_ char *field = NULL;
        int r = -EINVAL;
        if (w->next || w->remove_after || w->rejected_reason)
                r = 1; /* being removed already, or never ran: the new spec starts fresh after it */
        else
                r = pod_update_needs_recreate(w->pod, pod, &field);
        if (r == 0 && w->state != W_RUNNING) {
                /* a pod that ended (its deadline, a failed init container) stays ended, as the
                 * kubelet never runs a terminal pod again; it shows the new spec */
                r = take_spec_in_place(w, pod);
                if (r == 0) {
                        schedule(w);
                        return;
                }
        } else if (r == 0) {
                json_t *a = pod_to_json(w->pod), *b = pod_to_json(pod);
                /* the same spec comes again when a pod adopted after a restart is listed */
                bool same = a && b && json_equal(json_object_get(a, "spec"), json_object_get(b, "spec"));
                json_decref(a);
                json_decref(b);
                /* its resources: allocated, or pending with the allocation kept */
                if (resizes(w) && !(pod = resize_admit(w, pod)))
                        return;
                r = take_spec_in_place(w, pod);
                if (r == 0) {
                        write_allocation(w);
                        if (!same)
                                log_pod(2, pod_name(w), w->uid, NULL, "pod %s: spec changed: applied in place",
                                        pod_name(w));
                        data_update_volumes(w); /* labels and annotations in downward API volumes */
                        schedule(w);
                        return;
                }
        }
        pod_free(w->next);
        w->next = pod;
        log_pod(2, pod_name(w), w->uid, NULL, "pod %s: spec changed%s%s: restarting the whole pod", pod_name(w),
                field ? " at " : "", strempty(field));
        stop_everything(w, true);
        schedule(w);
}

void pod_worker_terminate(struct pod_worker *w) {
        log_pod(2, pod_name(w), w->uid, NULL, "pod %s: terminating (grace period %llds)", pod_name(w), (long long) grace_seconds(w));
        stop_everything(w, true);
        schedule(w);
}

void pod_worker_evict(struct pod_worker *w, const char *message, int64_t grace, bool disruption) {
        if (w->evicted_message || w->state != W_RUNNING || w->rejected_reason)
                return;
        w->evicted_message = strdup(strempty(message));
        w->evicted_disruption = disruption;
        w->grace_override = (nl_opt_int){ .set = true, .v = grace };
        log_pod(1, pod_name(w), w->uid, NULL, "pod %s: evicted (grace period %llds): %s", pod_name(w),
                (long long) grace, strempty(message));
        pod_event(w, "Warning", "Evicted", "%s", strempty(message));
        stop_everything(w, false);
        schedule(w);
}

bool pod_worker_evicted_stopped(const struct pod_worker *w) {
        return w->evicted_message && w->state == W_STOPPED;
}

void pod_worker_delete(struct pod_worker *w, const char *deletion_timestamp, int64_t grace) {
        if (w->remove_after)
                return; /* terminating for removal already */
        free(w->pod->metadata.deletion_timestamp);
        w->pod->metadata.deletion_timestamp = deletion_timestamp ? strdup(deletion_timestamp) : NULL;
        /* the API server's grace period: the delete's, else the spec's (it defaulted it) */
        w->pod->metadata.deletion_grace_period_seconds = (nl_opt_int){ .set = true, .v = grace };
        pod_worker_terminate(w);
}

void pod_worker_metadata(struct pod_worker *w, struct pod *pod) {
        /* labels and annotations (the API source's config.source one included) replace
         * ours; the downward API volumes that show them are rewritten, as the kubelet does */
        struct pod_object_meta *a = &w->pod->metadata, *b = &pod->metadata;
#define SWAP(x, y)                                                                                 \
        do {                                                                                       \
                __typeof__(x) t_ = (x);                                                            \
                (x) = (y);                                                                         \
                (y) = t_;                                                                          \
        } while (0)
        SWAP(a->labels, b->labels);
        SWAP(a->n_labels, b->n_labels);
        SWAP(a->annotations, b->annotations);
        SWAP(a->n_annotations, b->n_annotations);
#undef SWAP
        pod_free(pod);
        data_update_volumes(w);
        schedule(w);
}

void pod_worker_conditions(struct pod_worker *w, json_t *conditions) {
        /* only the gates' conditions: the others are ours, or mean nothing to the node */
        json_t *gates = json_array(), *c;
        size_t i;
        json_array_foreach(conditions, i, c) {
                const char *type = json_string_value(json_object_get(c, "type"));
                for (size_t k = 0; type && k < w->pod->spec.n_readiness_gates; k++)
                        if (streq_ptr(w->pod->spec.readiness_gates[k].condition_type, type)) {
                                json_array_append_new(gates, json_pack("{s:s, s:O?}", "type", type, "status",
                                                                       json_object_get(c, "status")));
                                break;
                        }
        }
        if (!gates)
                return;
        if (json_equal(gates, w->gate_conditions) || (!w->gate_conditions && json_array_size(gates) == 0)) {
                json_decref(gates);
                return;
        }
        json_decref(w->gate_conditions);
        w->gate_conditions = gates;
        schedule(w);
}

void pod_worker_node_shutdown(struct pod_worker *w, int64_t grace) {
        if (w->rejected_reason || w->node_shutdown)
                return;
        w->node_shutdown = true;
        w->shutdown_grace = grace < 0 ? 0 : grace;
        log_pod(2, pod_name(w), w->uid, NULL, "pod %s: node shutdown: stopping it (grace period %llds)", pod_name(w),
                (long long) w->shutdown_grace);
        stop_everything(w, false);
        schedule(w);
}

bool pod_worker_stopping(const struct pod_worker *w) {
        return w->state == W_RUNNING || w->state == W_TERMINATING;
}

void pod_worker_kick(struct pod_worker *w) {
        data_refresh(w);
        schedule(w);
}

const json_t *pod_worker_status(const struct pod_worker *w) {
        return w->last_status;
}

const char *pod_worker_uid(const struct pod_worker *w) {
        return w->uid;
}

const struct pod *pod_worker_pod(const struct pod_worker *w) {
        return w->pod;
}

bool pod_worker_active(const struct pod_worker *w) {
        if (w->rejected_reason || w->state != W_RUNNING)
                return false;
        const char *phase = pod_phase(w);
        return !streq(phase, "Succeeded") && !streq(phase, "Failed");
}

bool pod_worker_admitted(const struct pod_worker *w) {
        /* the kubelet's filterOutInactivePods: a pod counts until its termination is complete;
         * a terminal pod only while it is being terminated */
        if (w->rejected_reason || w->state >= W_STOPPED)
                return false;
        if (w->state == W_TERMINATING)
                return true;
        const char *phase = pod_phase(w);
        return !streq(phase, "Succeeded") && !streq(phase, "Failed");
}

/* Admission rejected the pod before a worker existed: the worker only reports it. */
struct pod_worker *pod_worker_new_rejected(struct manager *m, struct pod *pod, const char *reason, const char *message) {
        struct pod_worker *w = worker_alloc(m, pod);
        if (!w)
                return NULL;
        w->events = json_array();
        w->rejected_reason = strdup(reason);
        w->rejected_message = strdup(message);
        w->state = W_STOPPED;
        if (!w->events || !w->rejected_reason || !w->rejected_message) {
                w->pod = NULL;
                pod_worker_free(w);
                return NULL;
        }
        log_pod(1, pod_name(w), w->uid, NULL, "pod %s: rejected: %s: %s", pod_name(w), reason, message);
        pod_event(w, "Warning", reason, "%s", message);
        schedule(w);
        return w;
}

struct pod *pod_worker_take_next(struct pod_worker *w) {
        return TAKE_PTR(w->next);
}

void pod_worker_free(struct pod_worker *w) {
        if (!w)
                return;
        for (size_t i = 0; w->init && i < w->n_init; i++)
                ctr_done(&w->init[i]);
        for (size_t i = 0; w->app && i < w->n_app; i++)
                ctr_done(&w->app[i]);
        for (size_t i = 0; i < w->n_eph; i++) {
                ctr_done(w->eph[i]);
                free(w->eph[i]);
        }
        free(w->init);
        free(w->app);
        free(w->eph);
        sd_event_source_disable_unref(w->defer);
        sd_event_source_disable_unref(w->timer);
        sandbox_free(w->sb);
        pod_free(w->pod);
        pod_free(w->next);
        for (size_t i = 0; i < w->n_retired; i++)
                pod_free(w->retired[i]);
        free(w->retired);
        json_decref(w->gate_conditions);
        pod_free(w->desired);
        resize_condition_clear(&w->resize_pending);
        resize_condition_clear(&w->resize_progress);
        free(w->uid);
        free(w->qos);
        json_decref(w->events);
        free(w->rejected_reason);
        free(w->evicted_message);
        free(w->rejected_message);
        free(w->sb_error);
        free(w->runtime_wait);
        free(w->last_written);
        json_decref(w->last_status);
        pod_data_fetch_cancel(w->data_fetch);
        pod_data_free(w->data);
        free(w->data_error);
        free(w);
}
