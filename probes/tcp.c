/* SPDX-License-Identifier: Apache-2.0 */
/* tcpSocket probes, as the kubelet's pkg/probe/tcp: a connection opened within the timeout is
 * success (and closed at once), anything else failure with Go's net.Dial text:
 * "dial tcp 10.0.0.1:81: connect: connection refused", "dial tcp 10.0.0.1:81: i/o timeout".
 * An IP address is dialled here (non-blocking connect, an io source for EPOLLOUT, the op's
 * deadline); a host name goes through curl's connect-only mode, for its asynchronous resolver.
 * The kubelet's dialer sets SO_LINGER to 1 s to spare TIME-WAIT; here it is not, because a
 * lingering close() blocks even on a non-blocking socket, and this is the agent's one loop. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "probes-internal.h"

struct tcp_probe {
        int fd;
        sd_event_source *io;
        char *addr; /* "10.0.0.1:81", "[fd00::1]:81" */
        char *host;
};

static void tcp_free(struct probe_op *op) {
        struct tcp_probe *t = op->data;
        sd_event_source_disable_unref(t->io);
        if (t->fd >= 0)
                close(t->fd);
        free(t->addr);
        free(t->host);
}

static void finish_errno(struct probe_op *op, int err) {
        struct tcp_probe *t = op->data;
        char buf[128];
        _cleanup_free_ char *msg =
                nl_strdupf("dial tcp %s: connect: %s", t->addr, probe_errno_string(err, buf, sizeof(buf)));
        probe_op_finish(op, PROBE_FAILURE, msg ? msg : "out of memory");
}

static int on_connected(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct probe_op *op = userdata;
        int err = 0;
        socklen_t len = sizeof(err);

        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
                err = errno;
        if (err == 0 && (revents & (EPOLLERR | EPOLLHUP)) && !(revents & EPOLLOUT))
                err = ECONNREFUSED;
        if (err != 0)
                finish_errno(op, err);
        else
                probe_op_finish(op, PROBE_SUCCESS, "");
        return 0;
}

static void tcp_timeout(struct probe_op *op) {
        struct tcp_probe *t = op->data;
        _cleanup_free_ char *msg = nl_strdupf("dial tcp %s: i/o timeout", t->addr);
        probe_op_finish(op, PROBE_FAILURE, msg ? msg : "out of memory");
}

/* A host name: curl resolved it and connected, or said why not. */
static void tcp_curl_done(struct probe_op *op, CURLcode code) {
        struct tcp_probe *t = op->data;

        if (code == CURLE_OK) {
                probe_op_finish(op, PROBE_SUCCESS, "");
                return;
        }
        _cleanup_free_ char *dial = probe_curl_dial_error(op, code, t->host, t->addr);
        _cleanup_free_ char *msg = dial ? NULL
                                        : nl_strdupf("dial tcp %s: %s", t->addr,
                                                     op->errbuf[0] ? op->errbuf : curl_easy_strerror(code));
        probe_op_finish(op, PROBE_FAILURE, dial ? dial : msg ? msg : "out of memory");
}

static const struct probe_op_ops tcp_ops = {
        .kind = "tcp",
        .curl_done = tcp_curl_done,
        .timeout = tcp_timeout,
        .free = tcp_free,
};

static int tcp_connect(struct probe_op *op, const struct sockaddr *sa, socklen_t salen) {
        struct tcp_probe *t = op->data;
        int k;

        t->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
        if (t->fd < 0)
                return probe_op_finish_deferred(op, PROBE_UNKNOWN, strerror(errno));
        if (connect(t->fd, sa, salen) == 0)
                return probe_op_finish_deferred(op, PROBE_SUCCESS, "");
        if (errno != EINPROGRESS) {
                char buf[128];
                _cleanup_free_ char *msg = nl_strdupf("dial tcp %s: connect: %s", t->addr,
                                                      probe_errno_string(errno, buf, sizeof(buf)));
                if (!msg)
                        return -ENOMEM;
                return probe_op_finish_deferred(op, PROBE_FAILURE, msg);
        }
        k = sd_event_add_io(op->runner->event, &t->io, t->fd, EPOLLOUT, on_connected, op);
        if (k < 0)
                return k;
        (void) sd_event_source_set_description(t->io, "probe-tcp-connect");
        return 0;
}

static int tcp_connect_name(struct probe_op *op, int port) {
        struct tcp_probe *t = op->data;
        _cleanup_free_ char *url = nl_strdupf("http://%s/", t->addr);
        int k;

        if (!url)
                return -ENOMEM;
        k = probe_op_easy_init(op, url);
        if (k < 0)
                return k;
        if (curl_easy_setopt(op->easy, CURLOPT_CONNECT_ONLY, 1L) != CURLE_OK)
                return -EIO;
        return probe_op_easy_start(op);
}

int probe_tcp_start(struct probe_runner *r, const char *host, int port, usec_t timeout, probe_done_fn done,
                    void *userdata, struct probe_op **ret) {
        struct probe_op *op = NULL;
        struct tcp_probe *t;
        union {
                struct sockaddr sa;
                struct sockaddr_in in;
                struct sockaddr_in6 in6;
        } sa = {};
        int k;

        k = probe_op_new(r, &tcp_ops, timeout, done, userdata, sizeof(*t), &op);
        if (k < 0)
                return k;
        t = op->data;
        t->fd = -1;
        t->host = strdup(strempty(host));
        t->addr = probe_join_host_port(strempty(host), port);
        if (!t->host || !t->addr) {
                k = -ENOMEM;
                goto fail;
        }

        if (port <= 0 || port > 65535) {
                _cleanup_free_ char *msg = nl_strdupf("dial tcp: address %d: invalid port", port);
                k = msg ? probe_op_finish_deferred(op, PROBE_FAILURE, msg) : -ENOMEM;
        } else if (inet_pton(AF_INET, t->host, &sa.in.sin_addr) == 1) {
                sa.in.sin_family = AF_INET;
                sa.in.sin_port = htons((uint16_t) port);
                k = tcp_connect(op, &sa.sa, sizeof(sa.in));
        } else if (inet_pton(AF_INET6, t->host, &sa.in6.sin6_addr) == 1) {
                sa.in6.sin6_family = AF_INET6;
                sa.in6.sin6_port = htons((uint16_t) port);
                k = tcp_connect(op, &sa.sa, sizeof(sa.in6));
        } else if (isempty(t->host) || strpbrk(t->host, "/?#@ []%:")) {
                _cleanup_free_ char *msg = nl_strdupf("dial tcp: lookup %s: no such host", t->host);
                k = msg ? probe_op_finish_deferred(op, PROBE_FAILURE, msg) : -ENOMEM;
        } else
                k = tcp_connect_name(op, port);
        if (k < 0)
                goto fail;
        *ret = op;
        return 0;
fail:
        probe_op_free(op);
        return k;
}
