/* SPDX-License-Identifier: Apache-2.0 */
/* Lifecycle hooks (pkg/kubelet/lifecycle/handlers.go): exec through the runtime, httpGet to
 * the pod IP (as a probe does), sleep as a timer; tcpSocket is deprecated and, as the kubelet
 * does, not run. */
#include <stdio.h>

#include "common/time-util.h"
#include "pod-worker.h"


struct hook {
        struct ctr *c;
        unsigned gen;
        hook_done_fn done;
        sd_event_source *timer;
        struct probe_op *op;
};

static void hook_finish(struct hook *h, bool ok, const char *message) {
        struct ctr *c = h->c;
        c->w->n_async--;
        bool stale = h->gen != c->probe_gen;
        hook_done_fn done = h->done;
        sd_event_source_disable_unref(h->timer);
        free(h);
        if (!stale)
                done(c, ok, message);
}

static void done_hook_exec(json_t *result, void *userdata) {
        const char *error = json_string_value(json_object_get(result, "error"));
        json_int_t code = json_integer_value(json_object_get(result, "code"));
        if (error || !json_object_get(result, "code")) {
                hook_finish(userdata, false, strempty(error));
                return;
        }
        if (code == 0) {
                hook_finish(userdata, true, NULL);
                return;
        }
        /* the kubelet's message for a failed exec hook */
        _cleanup_free_ char *msg = nl_strdupf("command '%s' exited with %lld: %s%s",
                                              strempty(json_string_value(json_object_get(result, "command"))),
                                              (long long) code,
                                              strempty(json_string_value(json_object_get(result, "stdout"))),
                                              strempty(json_string_value(json_object_get(result, "stderr"))));
        hook_finish(userdata, false, strempty(msg));
}

static void done_hook_http(enum probe_result r, const char *output, void *userdata) {
        struct hook *h = userdata;
        h->op = NULL;
        hook_finish(h, r == PROBE_SUCCESS || r == PROBE_WARNING, output);
}

static int on_sleep(sd_event_source *s, uint64_t usec, void *userdata) {
        hook_finish(userdata, true, NULL);
        return 0;
}

int hook_run(struct ctr *c, const struct pod_lifecycle_handler *handler, usec_t timeout, hook_done_fn done) {
        struct pod_worker *w = c->w;
        struct hook *h = calloc(1, sizeof(*h));
        if (!h)
                return -ENOMEM;
        *h = (struct hook){ .c = c, .gen = c->probe_gen, .done = done };
        w->n_async++;
        int r = 0;
        if (handler->exec) {
                r = container_exec_start(w->m, "exec-hook", c->id, handler->exec->command, handler->exec->n_command,
                                         timeout, done_hook_exec, h);
        } else if (handler->http_get) {
                const char *pod_ip = w->sb && w->sb->n_ips ? w->sb->ips[0] : "127.0.0.1";
                r = probe_http_start(w->m->probes, handler->http_get, pod_ip, resolve_port(c, &handler->http_get->port),
                                     timeout, done_hook_http, h, &h->op);
        } else if (handler->sleep) {
                usec_t d = (usec_t) (handler->sleep->seconds.set ? handler->sleep->seconds.v : 0) * USEC_PER_SEC;
                /* no longer than the hook may run (a preStop: the grace period left) */
                if (timeout > 0 && d > timeout)
                        d = timeout;
                r = sd_event_add_time_relative(w->m->event, &h->timer, CLOCK_MONOTONIC, d, 10000, on_sleep, h);
        } else {
                /* tcpSocket: deprecated, never run by the kubelet */
                r = sd_event_add_time_relative(w->m->event, &h->timer, CLOCK_MONOTONIC, 0, 10000, on_sleep, h);
        }
        if (r < 0)
                goto fail;
        return 0;
fail:
        w->n_async--;
        free(h);
        return r;
}
