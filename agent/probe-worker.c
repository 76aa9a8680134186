/* SPDX-License-Identifier: Apache-2.0 */
/* Probes as the kubelet runs them (pkg/kubelet/prober): one timer per probe on the loop, not a
 * thread or a process per probe. A probe starts when its container runs: the first check at
 * once (after initialDelaySeconds), then every periodSeconds. Results change only after
 * successThreshold / failureThreshold consecutive outcomes. The startup probe gates the other
 * two; readiness decides the container's ready flag; a liveness or startup failure kills the
 * container and the restart policy decides what follows. Exec probes run through the runtime's
 * exec in an op child with the probe's timeout; network probes go through libprobes. */
#include <signal.h>
#include <stdio.h>

#include "common/time-util.h"
#include "pod-worker.h"


static int64_t field(nl_opt_int v, int64_t def) {
        return v.set ? v.v : def;
}

int resolve_port(const struct ctr *c, const pod_int_or_string *port) {
        if (!port->set)
                return -1;
        if (!port->is_string)
                return (int) port->num;
        for (size_t i = 0; i < c->spec->n_ports; i++)
                if (streq_ptr(c->spec->ports[i].name, port->str))
                        return (int) c->spec->ports[i].container_port.v;
        return -1;
}

static void arm(struct probe_state *p, usec_t delay);
static void finish(struct probe_state *p, enum probe_result r, const char *output);

/* ---- running one check ----------------------------------------------------------------- */

struct exec_arg {
        const char *id;
        char **argv;
        usec_t timeout;
};

static json_t *work_exec(struct manager *m, const void *argp) {
        const struct exec_arg *a = argp;
        char *out = NULL, *errout = NULL;
        int code = -1;
        nl_error err = NL_ERROR_INIT;
        int r = cri_exec_sync(&m->cri, a->id, a->argv, a->timeout, 10 * 1024, &out, &errout, &code, &err);
        json_t *j = r < 0 ? json_pack("{s:s, s:b}", "error", strempty(err.msg), "timedOut", r == -ETIMEDOUT)
                          : json_pack("{s:s, s:i, s:s, s:s}", "command", strempty(a->argv[0]), "code", code,
                                      "stdout", strempty(out), "stderr", strempty(errout));
        free(out);
        free(errout);
        nl_error_clear(&err);
        return j;
}

int container_exec_start(struct manager *m, const char *what, const char *id, char *const *cmd, size_t n_cmd,
                         usec_t timeout, op_done_fn done, void *userdata) {
        _cleanup_free_ char **argv = calloc(n_cmd + 1, sizeof(char *));
        if (!argv)
                return -ENOMEM;
        memcpy(argv, cmd, n_cmd * sizeof(char *));
        struct exec_arg a = { id, argv, timeout };
        return op_start(m, what, work_exec, &a, done, userdata);
}

struct exec_ctx {
        struct probe_state *p;
        unsigned gen;
};

static void done_exec(json_t *result, void *userdata) {
        struct exec_ctx *x = userdata;
        struct probe_state *p = x->p;
        struct ctr *c = p->c;
        c->w->n_async--;
        p->exec_busy = false;
        bool stale = x->gen != c->probe_gen;
        free(x);
        if (stale)
                return; /* the container this was for is gone */
        const char *error = json_string_value(json_object_get(result, "error"));
        if (error || !json_object_get(result, "code")) {
                /* a probe that ran past its timeout failed; one that could not run is unknown */
                finish(p, json_is_true(json_object_get(result, "timedOut")) ? PROBE_FAILURE : PROBE_UNKNOWN,
                       strempty(error));
                return;
        }
        /* the kubelet's exec probe output is stdout and stderr together */
        _cleanup_free_ char *both = nl_strdupf("%s%s", strempty(json_string_value(json_object_get(result, "stdout"))),
                                               strempty(json_string_value(json_object_get(result, "stderr"))));
        finish(p, json_integer_value(json_object_get(result, "code")) == 0 ? PROBE_SUCCESS : PROBE_FAILURE,
               strempty(both));
}

static void done_network(enum probe_result r, const char *output, void *userdata) {
        struct probe_state *p = userdata;
        p->op = NULL;
        finish(p, r, output);
}

static void check(struct probe_state *p) {
        struct ctr *c = p->c;
        struct pod_worker *w = c->w;
        const struct pod_probe *s = p->spec;
        usec_t timeout = (usec_t) field(s->timeout_seconds, 1) * USEC_PER_SEC;
        const char *pod_ip = w->sb && w->sb->n_ips ? w->sb->ips[0] : "127.0.0.1";
        int r = 0;

        if (s->exec) {
                struct exec_ctx *x = calloc(1, sizeof(*x));
                if (!x)
                        return;
                *x = (struct exec_ctx){ p, c->probe_gen };
                r = container_exec_start(w->m, "exec-probe", c->id, s->exec->command, s->exec->n_command, timeout,
                                         done_exec, x);
                if (r < 0) {
                        free(x);
                        return;
                }
                p->exec_busy = true;
                w->n_async++;
        } else if (s->http_get) {
                int port = resolve_port(c, &s->http_get->port);
                r = probe_http_start(w->m->probes, s->http_get, pod_ip, port, timeout, done_network, p, &p->op);
        } else if (s->tcp_socket) {
                int port = resolve_port(c, &s->tcp_socket->port);
                r = probe_tcp_start(w->m->probes, isempty(s->tcp_socket->host) ? pod_ip : s->tcp_socket->host, port,
                                    timeout, done_network, p, &p->op);
        } else if (s->grpc) {
                r = probe_grpc_start(w->m->probes, pod_ip, (int) field(s->grpc->port, 0), strempty(s->grpc->service),
                                     timeout, done_network, p, &p->op);
        }
        if (r < 0)
                finish(p, PROBE_UNKNOWN, strerror(-r));
}

/* ---- results ---------------------------------------------------------------------------- */

static void verdict_changed(struct probe_state *p) {
        struct ctr *c = p->c;
        struct pod_worker *w = c->w;
        if (p == &c->readiness)
                c->ready = p->result;
        else if (p == &c->startup) {
                if (p->result) {
                        c->started = true;
                        /* the gated probes start now */
                        if (c->liveness.spec)
                                arm(&c->liveness, (usec_t) field(c->liveness.spec->initial_delay_seconds, 0) * USEC_PER_SEC);
                        if (c->readiness.spec)
                                arm(&c->readiness, (usec_t) field(c->readiness.spec->initial_delay_seconds, 0) * USEC_PER_SEC);
                }
        }
        if (!p->result && (p == &c->liveness || p == &c->startup)) {
                /* the kubelet kills the container; the restart policy decides what follows */
                p->on_hold = true;
                free(c->hook_kill_reason);
                c->hook_kill_reason = nl_strdupf("Container %s failed %s probe, will be restarted", c->spec->name,
                                                 p == &c->liveness ? "liveness" : "startup");
                pod_event(w, "Normal", "Killing", "%s", c->hook_kill_reason);
                kill_container(c, 0);
                /* probe-level terminationGracePeriodSeconds, else the pod's */
                int64_t grace = field(p->spec->termination_grace_period_seconds,
                                      field(w->pod->spec.termination_grace_period_seconds, 30));
                c->kill_deadline = now_monotonic() + (usec_t) grace * USEC_PER_SEC;
                arm_timer(w, c->kill_deadline);
        }
        schedule(w);
}

static void finish(struct probe_state *p, enum probe_result r, const char *output) {
        struct ctr *c = p->c;
        bool ok = r == PROBE_SUCCESS || r == PROBE_WARNING;
        /* a liveness result that arrives after the pod began terminating decides nothing */
        if (p == &c->liveness && p->on_hold)
                return;
        if (r == PROBE_WARNING)
                pod_event(c->w, "Warning", "ProbeWarning", "%s probe warning: %s", p->kind, strempty(output));
        if (!ok)
                pod_event(c->w, "Warning", "Unhealthy", "%s probe %s: %s", p->kind,
                          r == PROBE_UNKNOWN ? "errored" : "failed", strempty(output));
        if (ok) {
                p->failures = 0;
                if (++p->successes >= (int) field(p->spec->success_threshold, 1) && !p->result) {
                        p->result = true;
                        verdict_changed(p);
                }
        } else {
                p->successes = 0;
                if (++p->failures >= (int) field(p->spec->failure_threshold, 3) && p->result) {
                        p->result = false;
                        verdict_changed(p);
                } else if (p->failures >= (int) field(p->spec->failure_threshold, 3) && p == &c->startup) {
                        /* a startup probe starts out undecided: failing its threshold kills */
                        p->result = false;
                        verdict_changed(p);
                }
        }
        if (!p->on_hold && running(c))
                arm(p, (usec_t) field(p->spec->period_seconds, 10) * USEC_PER_SEC);
}

/* ---- scheduling ---------------------------------------------------------------------------- */

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        struct probe_state *p = userdata;
        struct ctr *c = p->c;
        if (p->on_hold || !running(c) || p->op || p->exec_busy)
                return 0;
        /* liveness and readiness wait for the startup probe */
        if (p != &c->startup && c->startup.spec && !c->started)
                return 0;
        check(p);
        return 0;
}

static void arm(struct probe_state *p, usec_t delay) {
        struct manager *m = p->c->w->m;
        usec_t when = now_monotonic() + delay;
        if (!p->timer) {
                if (sd_event_add_time(m->event, &p->timer, CLOCK_MONOTONIC, when, 10000, on_tick, p) < 0)
                        return;
                (void) sd_event_source_set_description(p->timer, "probe");
        } else
                (void) sd_event_source_set_time(p->timer, when);
        (void) sd_event_source_set_enabled(p->timer, SD_EVENT_ONESHOT);
}

static void probe_init(struct probe_state *p, struct ctr *c, const struct pod_probe *spec, const char *kind,
                       bool initial) {
        p->c = c;
        p->spec = spec;
        p->kind = kind;
        p->successes = p->failures = 0;
        p->result = initial;
        p->on_hold = false;
}

void probes_start(struct ctr *c) {
        probes_stop(c);
        /* initial verdicts as the kubelet's: liveness passes, readiness fails, startup undecided */
        probe_init(&c->startup, c, c->spec->startup_probe, "Startup", false);
        probe_init(&c->liveness, c, c->spec->liveness_probe, "Liveness", true);
        probe_init(&c->readiness, c, c->spec->readiness_probe, "Readiness", false);
        c->started = !c->startup.spec;
        c->ready = !c->readiness.spec;
        struct probe_state *all[] = { &c->startup, &c->liveness, &c->readiness };
        for (size_t i = 0; i < ELEMENTSOF(all); i++) {
                if (!all[i]->spec)
                        continue;
                if (all[i] != &c->startup && c->startup.spec)
                        continue; /* armed when the startup probe succeeds */
                arm(all[i], (usec_t) field(all[i]->spec->initial_delay_seconds, 0) * USEC_PER_SEC);
        }
}

void probes_stop_liveness(struct ctr *c) {
        struct probe_state *p = &c->liveness;
        p->timer = sd_event_source_disable_unref(p->timer);
        if (p->op) {
                probe_op_cancel(p->op);
                p->op = NULL;
        }
        /* an exec liveness probe in flight comes back to a probe that no longer acts */
        p->on_hold = true;
}

void probes_stop(struct ctr *c) {
        struct probe_state *all[] = { &c->startup, &c->liveness, &c->readiness };
        c->probe_gen++; /* exec results still in flight are for the old container */
        for (size_t i = 0; i < ELEMENTSOF(all); i++) {
                all[i]->timer = sd_event_source_disable_unref(all[i]->timer);
                if (all[i]->op) {
                        probe_op_cancel(all[i]->op);
                        all[i]->op = NULL;
                }
        }
        c->ready = false;
}
