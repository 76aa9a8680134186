/* SPDX-License-Identifier: Apache-2.0 */
/* Is the container runtime up? The kubelet's runtimeState: every 5 s it asks the runtime's
 * Status (RuntimeReady, NetworkReady); while either is false it starts no pod (hostNetwork
 * pods need no pod network), the Node's Ready condition is False with reason
 * KubeletNotReady and the runtime's words, and it recovers by itself once the node is fixed.
 * The cheap part of the check (binary found, node suits it, CNI config) runs on the loop;
 * running the binary runs in an op child, only when the binary changed or was not yet seen to
 * work. */
#include <stdio.h>
#include <systemd/sd-daemon.h>

#include "common/time-util.h"
#include "agent/state/state.h"
#include "manager.h"

#define RUNTIME_CHECK_PERIOD (5 * USEC_PER_SEC) /* the kubelet's runtime status period */

/* "RuntimeReady=false reason:X message:Y", as the kubelet prints a runtime condition */
static char *condition_error(const char *prefix, const char *type, const struct cri_condition *c) {
        if (c->ready)
                return NULL;
        return nl_strdupf("%s: %s=false reason:%s message:%s", prefix, type, strempty(c->reason), strempty(c->message));
}

static json_t *condition_json(const struct cri_condition *c) {
        return json_pack("{s:b, s:s?, s:s?}", "ready", c->ready, "reason", c->reason, "message", c->message);
}

static void condition_from_json(json_t *j, struct cri_condition *ret) {
        ret->ready = json_is_true(json_object_get(j, "ready"));
        const char *reason = json_string_value(json_object_get(j, "reason"));
        const char *message = json_string_value(json_object_get(j, "message"));
        ret->reason = reason ? strdup(reason) : NULL;
        ret->message = message ? strdup(message) : NULL;
        if (!j) {
                ret->reason = strdup("RuntimeCheckFailed");
                ret->message = strdup("the runtime check gave no answer");
        }
}

static bool same_condition(const struct cri_condition *a, const struct cri_condition *b) {
        return a->ready == b->ready && streq_ptr(a->reason, b->reason) && streq_ptr(a->message, b->message);
}

/* Take st (ownership) as the node's runtime state: log what changed, once; wake the pods. */
static void apply(struct manager *m, struct cri_status *st) {
        struct runtime_state *rs = &m->runtime;
        bool first = !rs->known;
        bool runtime_changed = first || !same_condition(&rs->st.runtime, &st->runtime);
        bool network_changed = first || !same_condition(&rs->st.network, &st->network);
        cri_status_done(&rs->st);
        rs->st = *st;
        *st = (struct cri_status){};
        rs->known = true;
        free(rs->runtime_error);
        free(rs->network_error);
        rs->runtime_error = condition_error("container runtime not ready", "RuntimeReady", &rs->st.runtime);
        rs->network_error = condition_error("container runtime network not ready", "NetworkReady", &rs->st.network);

        if (runtime_changed) {
                if (rs->runtime_error)
                        log_error("%s; no pod starts until this is fixed (checked again every 5 s)", rs->runtime_error);
                else if (!first)
                        log_info("container runtime is ready again");
        }
        if (network_changed) {
                if (rs->network_error)
                        log_error("%s; pods without hostNetwork wait until this is fixed (checked again every 5 s)",
                                  rs->network_error);
                else if (!first)
                        log_info("container runtime network is ready again");
        }
        if (runtime_changed || network_changed) {
                manager_notify_status(m);
                (void) daemon_info_write(&(struct daemon_info){
                        .node_name = m->cfg->node_name,
                        .root_dir = m->cfg->root_dir,
                        .run_dir = m->cfg->run_dir,
                        .log_dir = m->cfg->log_dir,
                        .containers_log_dir = m->cfg->containers_log_dir,
                        .runtime = &rs->st.runtime,
                        .network = &rs->st.network,
                });
                /* pods that waited start now, or show the new cause; the node's status says it
                 * on its next update */
                if (!first)
                        for (size_t i = 0; i < m->n_workers; i++)
                                pod_worker_kick(m->workers[i]);
        }
}

static json_t *work_check(struct manager *m, const void *arg) {
        struct cri_status st;
        cri_status(&m->cri, true, &st);
        json_t *j = json_pack("{s:o, s:o, s:I}", "runtime", condition_json(&st.runtime), "network",
                              condition_json(&st.network), "binaryId", (json_int_t) st.binary_id);
        cri_status_done(&st);
        return j;
}

static void done_check(json_t *result, void *userdata) {
        struct manager *m = userdata;
        struct cri_status st = {};
        m->runtime.checking = false;
        if (json_object_get(result, "error")) {
                /* the child itself failed (fork, out of memory): try again on the next tick */
                log_warning("container runtime check: %s, retrying",
                            strempty(json_string_value(json_object_get(result, "error"))));
                return;
        }
        condition_from_json(json_object_get(result, "runtime"), &st.runtime);
        condition_from_json(json_object_get(result, "network"), &st.network);
        st.binary_id = (uint64_t) json_integer_value(json_object_get(result, "binaryId"));
        m->runtime.verified_id = st.runtime.ready ? st.binary_id : 0;
        apply(m, &st);
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        struct manager *m = userdata;
        struct runtime_state *rs = &m->runtime;
        (void) sd_event_source_set_time(s, usec + RUNTIME_CHECK_PERIOD);
        (void) sd_event_source_set_enabled(s, SD_EVENT_ON);
        if (rs->checking)
                return 0;
        struct cri_status st;
        cri_status(&m->cri, false, &st);
        if (st.runtime.ready && st.binary_id != rs->verified_id) {
                /* a new or not yet working binary: run it, off the loop */
                cri_status_done(&st);
                if (op_start(m, "runtime-check", work_check, NULL, done_check, m) >= 0)
                        rs->checking = true;
                return 0;
        }
        apply(m, &st);
        return 0;
}

int runtime_state_start(struct manager *m, nl_error *err) {
        struct runtime_state *rs = &m->runtime;
        /* user namespaces: the kernel and the root dir's file system decide, once */
        nl_error uerr = NL_ERROR_INIT;
        rs->userns_supported = cri_userns_supported(m->cri.root_dir, &uerr) >= 0;
        rs->userns_error = uerr.msg ? strdup(uerr.msg) : NULL;
        if (rs->userns_supported)
                log_debug("user namespaces (hostUsers: false) supported");
        else
                log_info("pods with hostUsers: false cannot run here: %s", strempty(uerr.msg));
        nl_error_clear(&uerr);
        /* once at start, before any pod: the loop does not run yet, so the binary may run here */
        struct cri_status st;
        cri_status(&m->cri, true, &st);
        rs->verified_id = st.runtime.ready ? st.binary_id : 0;
        apply(m, &st);
        int r = sd_event_add_time_relative(m->event, &rs->timer, CLOCK_MONOTONIC, RUNTIME_CHECK_PERIOD, 100000, on_tick,
                                           m);
        if (r < 0)
                return nl_error_set(err, r, "runtime check timer: %s", strerror(-r));
        (void) sd_event_source_set_description(rs->timer, "runtime-check");
        return 0;
}

void runtime_state_done(struct runtime_state *rs) {
        rs->timer = sd_event_source_disable_unref(rs->timer);
        cri_status_done(&rs->st);
        free(rs->runtime_error);
        free(rs->network_error);
        free(rs->userns_error);
        rs->runtime_error = rs->network_error = rs->userns_error = NULL;
}

const char *manager_runtime_error(const struct manager *m, bool host_network) {
        const struct runtime_state *rs = &m->runtime;
        if (!rs->known)
                return NULL;
        if (rs->runtime_error)
                return rs->runtime_error;
        return host_network ? NULL : rs->network_error;
}

char *manager_node_not_ready_message(const struct manager *m) {
        const struct runtime_state *rs = &m->runtime;
        /* the kubelet joins its runtime, network and node shutdown manager errors into the Ready
         * condition's message (errors.NewAggregate: one as is, several as "[a, b]") */
        const char *errs[3];
        size_t n = 0;
        if (rs->runtime_error)
                errs[n++] = rs->runtime_error;
        if (rs->network_error)
                errs[n++] = rs->network_error;
        if (shutdown_manager_shutting_down(m))
                errs[n++] = "node is shutting down";
        if (n == 0)
                return NULL;
        if (n == 1)
                return strdup(errs[0]);
        nl_buf b = {};
        nl_buf_puts(&b, "[");
        for (size_t i = 0; i < n; i++)
                nl_buf_printf(&b, "%s%s", i ? ", " : "", errs[i]);
        nl_buf_puts(&b, "]");
        return nl_buf_steal(&b);
}
