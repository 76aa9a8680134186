/* SPDX-License-Identifier: Apache-2.0 */
/* The probe runner: libcurl's multi interface on the caller's sd-event loop (as curl's
 * multi-event example and systemd-importd's curl glue: CURLMOPT_SOCKETFUNCTION -> one io
 * source per socket, CURLMOPT_TIMERFUNCTION -> one timer), and the life of one probe_op: a
 * deadline timer, a deferred source for results known at start, and exactly one call of done.
 * Probes run side by side; nothing here blocks. */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/epoll.h>

#include "common/curl-event.h"
#include "common/time-util.h"
#include "probes-internal.h"

static void on_curl_done(CURL *easy, CURLcode code, void *userdata) {
        struct probe_op *op = NULL;
        if (curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **) &op) != CURLE_OK || !op)
                return;
        op->in_multi = false; /* curl_event took it off the multi handle */
        op->ops->curl_done(op, code);
}

int probe_runner_new(sd_event *event, struct probe_runner **ret) {
        if (!event || !ret)
                return -EINVAL;
        struct probe_runner *r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        r->event = sd_event_ref(event);
        int k = curl_event_new(event, "probe", on_curl_done, r, &r->curl);
        if (k < 0) {
                probe_runner_free(r);
                return k;
        }
        *ret = r;
        return 0;
}

void probe_runner_free(struct probe_runner *r) {
        if (!r)
                return;
        /* Probes still in flight are cut loose: their done is not called. */
        while (r->ops)
                probe_op_free(r->ops);
        curl_event_free(r->curl);
        sd_event_unref(r->event);
        free(r);
}

/* ---- one probe ---- */

static int on_expire(sd_event_source *s, uint64_t usec, void *userdata) {
        struct probe_op *op = userdata;

        probe_op_easy_stop(op);
        op->ops->timeout(op);
        return 0;
}

int probe_op_new(struct probe_runner *r, const struct probe_op_ops *ops, usec_t timeout, probe_done_fn done,
                 void *userdata, size_t data_size, struct probe_op **ret) {
        struct probe_op *op;
        uint64_t now;
        int k;

        if (!r || !done || !ret)
                return -EINVAL;
        op = calloc(1, sizeof(*op));
        if (!op)
                return -ENOMEM;
        *op = (struct probe_op){
                .runner = r, .ops = ops, .done = done, .userdata = userdata, .timeout = timeout};
        op->next = r->ops;
        if (r->ops)
                r->ops->prev = op;
        r->ops = op;

        /* Like Go's Client.Timeout and DialTimeout, a zero timeout means none; the kubelet's
         * API defaults and validates it to at least 1 s. */
        if (timeout > 0) {
                /* the clock now, not the loop iteration's cached time: a probe started late
                 * in a long iteration would otherwise lose that time from its timeout */
                now = now_monotonic();
                op->deadline = now + timeout;
                k = sd_event_add_time(r->event, &op->expire, CLOCK_MONOTONIC, op->deadline, 1000, on_expire,
                                      op);
                if (k < 0) {
                        probe_op_free(op);
                        return k;
                }
                char desc[32];
                snprintf(desc, sizeof(desc), "probe-%s-deadline", ops->kind);
                (void) sd_event_source_set_description(op->expire, desc);
        }
        /* last: the kind's free() must not see state it did not initialize */
        if (data_size > 0 && !(op->data = calloc(1, data_size))) {
                probe_op_free(op);
                return -ENOMEM;
        }
        *ret = op;
        return 0;
}

void probe_op_free(struct probe_op *op) {
        if (!op)
                return;
        struct probe_runner *r = op->runner;

        if (op->data && op->ops && op->ops->free)
                op->ops->free(op);
        free(op->data);
        op->data = NULL;
        probe_op_easy_stop(op);
        if (op->easy)
                curl_easy_cleanup(op->easy);
        curl_slist_free_all(op->headers);
        sd_event_source_disable_unref(op->expire);
        sd_event_source_disable_unref(op->defer);
        free(op->deferred_output);
        if (op->prev)
                op->prev->next = op->next;
        else if (r->ops == op)
                r->ops = op->next;
        if (op->next)
                op->next->prev = op->prev;
        free(op);
}

void probe_op_finish(struct probe_op *op, enum probe_result result, const char *output) {
        probe_done_fn done = op->done;
        void *userdata = op->userdata;
        /* output may live in the op: keep it past the free. */
        char *copy = output ? strdup(output) : NULL;

        probe_op_free(op);
        done(result, copy ? copy : output ? "" : NULL, userdata);
        free(copy);
}

static int on_defer(sd_event_source *s, void *userdata) {
        struct probe_op *op = userdata;
        char *output = TAKE_PTR(op->deferred_output);

        probe_op_finish(op, op->deferred_result, output);
        free(output);
        return 0;
}

int probe_op_finish_deferred(struct probe_op *op, enum probe_result result, const char *output) {
        int k;

        probe_op_easy_stop(op);
        if (op->expire)
                (void) sd_event_source_set_enabled(op->expire, SD_EVENT_OFF);
        free(op->deferred_output);
        op->deferred_output = output ? strdup(output) : NULL;
        if (output && !op->deferred_output)
                return -ENOMEM;
        op->deferred_result = result;
        if (op->defer)
                return 0;
        k = sd_event_add_defer(op->runner->event, &op->defer, on_defer, op);
        if (k < 0)
                return k;
        (void) sd_event_source_set_description(op->defer, "probe-result");
        return 0;
}

void probe_op_cancel(struct probe_op *op) {
        probe_op_free(op);
}

/* ---- curl transfers ---- */

static int on_sockopt(void *userdata, curl_socket_t fd, curlsocktype purpose) {
        /* curl 7.88 opens its sockets without SOCK_CLOEXEC; nodelet forks runtimes. */
        int flags = fcntl(fd, F_GETFD);
        if (flags < 0 || fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0)
                return CURL_SOCKOPT_ERROR;
        return CURL_SOCKOPT_OK;
}

/* Called once the connection is up, before the request goes out: what tells a dial timeout
 * from a slow server. */
static int on_prereq(void *userdata, char *conn_primary_ip, char *conn_local_ip, int conn_primary_port,
                     int conn_local_port) {
        struct probe_op *op = userdata;
        op->connected = true;
        return CURL_PREREQFUNC_OK;
}

int probe_op_easy_init(struct probe_op *op, const char *url) {
        if (op->easy)
                curl_easy_cleanup(op->easy);
        op->easy = curl_easy_init();
        if (!op->easy)
                return -ENOMEM;
        CURL *e = op->easy;
        /* The kubelet's probe transport: no proxy (Proxy: http.ProxyURL(nil)), no keep-alive,
         * TLS without verification (InsecureSkipVerify). */
        bool ok = curl_easy_setopt(e, CURLOPT_URL, url) == CURLE_OK &&
                  curl_easy_setopt(e, CURLOPT_PRIVATE, op) == CURLE_OK &&
                  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, op->errbuf) == CURLE_OK &&
                  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK &&
                  curl_easy_setopt(e, CURLOPT_PROXY, "") == CURLE_OK &&
                  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
                  curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L) == CURLE_OK &&
                  curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L) == CURLE_OK &&
                  curl_easy_setopt(e, CURLOPT_SOCKOPTFUNCTION, on_sockopt) == CURLE_OK &&
                  curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, on_prereq) == CURLE_OK &&
                  curl_easy_setopt(e, CURLOPT_PREREQDATA, op) == CURLE_OK &&
                  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L) == CURLE_OK &&
                  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L) == CURLE_OK;
        return ok ? 0 : -EIO;
}

int probe_op_easy_start(struct probe_op *op) {
        op->errbuf[0] = 0;
        op->connected = false;
        if (op->headers && curl_easy_setopt(op->easy, CURLOPT_HTTPHEADER, op->headers) != CURLE_OK)
                return -EIO;
        if (curl_event_add(op->runner->curl, op->easy) < 0)
                return -EIO;
        op->in_multi = true;
        return 0;
}

void probe_op_easy_stop(struct probe_op *op) {
        if (!op->in_multi)
                return;
        curl_event_remove(op->runner->curl, op->easy);
        op->in_multi = false;
}

/* ---- Go's wording ---- */

char *probe_join_host_port(const char *host, int port) {
        if (strchr(host, ':'))
                return nl_strdupf("[%s]:%d", host, port);
        return nl_strdupf("%s:%d", host, port);
}

/* Appends "." and the fraction's digits without trailing zeros, as Go prints durations. */
static void append_fraction(nl_buf *b, uint64_t frac, int digits) {
        char d[8];
        int n = digits;

        if (frac == 0)
                return;
        for (int i = digits - 1; i >= 0; i--) {
                d[i] = (char) ('0' + frac % 10);
                frac /= 10;
        }
        while (n > 0 && d[n - 1] == '0')
                n--;
        nl_buf_puts(b, ".");
        nl_buf_append(b, d, (size_t) n);
}

char *probe_format_duration(usec_t u) {
        nl_buf b = {};

        if (u == 0)
                return strdup("0s");
        if (u < 1000) {
                nl_buf_printf(&b, "%" PRIu64 "\u00b5s", (uint64_t) u);
        } else if (u < USEC_PER_SEC) {
                nl_buf_printf(&b, "%" PRIu64, (uint64_t) (u / 1000));
                append_fraction(&b, u % 1000, 3);
                nl_buf_puts(&b, "ms");
        } else {
                uint64_t secs = u / USEC_PER_SEC;
                if (secs >= 3600)
                        nl_buf_printf(&b, "%" PRIu64 "h", secs / 3600);
                if (secs >= 60)
                        nl_buf_printf(&b, "%" PRIu64 "m", (secs / 60) % 60);
                nl_buf_printf(&b, "%" PRIu64, secs % 60);
                append_fraction(&b, u % USEC_PER_SEC, 6);
                nl_buf_puts(&b, "s");
        }
        return nl_buf_steal(&b);
}

const char *probe_errno_string(int err, char *buf, size_t n) {
        const char *s = strerror_r(err, buf, n);
        if (s != buf) {
                snprintf(buf, n, "%s", s);
                s = buf;
        }
        if (buf[0] >= 'A' && buf[0] <= 'Z' && !(buf[1] >= 'A' && buf[1] <= 'Z'))
                buf[0] = (char) (buf[0] - 'A' + 'a');
        return buf;
}

/* The address curl last tried, as Go's OpError prints it: "10.0.0.1:80", "[::1]:80". */
static char *curl_remote_address(struct probe_op *op, const char *fallback) {
        char *ip = NULL;
        long port = 0;

        if (curl_easy_getinfo(op->easy, CURLINFO_PRIMARY_IP, &ip) == CURLE_OK && !isempty(ip) &&
            curl_easy_getinfo(op->easy, CURLINFO_PRIMARY_PORT, &port) == CURLE_OK && port > 0)
                return probe_join_host_port(ip, (int) port);
        return strdup(fallback);
}

char *probe_curl_dial_error(struct probe_op *op, CURLcode code, const char *host, const char *hostport) {
        char buf[128];
        long os_errno = 0;
        _cleanup_free_ char *addr = NULL;

        switch (code) {
        case CURLE_COULDNT_RESOLVE_HOST:
                /* Go names the resolver it asked ("lookup x on 10.96.0.10:53"); curl does not. */
                return nl_strdupf("dial tcp: lookup %s: no such host", host);
        case CURLE_COULDNT_CONNECT:
                (void) curl_easy_getinfo(op->easy, CURLINFO_OS_ERRNO, &os_errno);
                addr = curl_remote_address(op, hostport);
                if (!addr)
                        return NULL;
                if (os_errno <= 0)
                        return nl_strdupf("dial tcp %s: connect: %s", addr,
                                          op->errbuf[0] ? op->errbuf : "failed");
                return nl_strdupf("dial tcp %s: connect: %s", addr,
                                  probe_errno_string((int) os_errno, buf, sizeof(buf)));
        default:
                return NULL;
        }
}
