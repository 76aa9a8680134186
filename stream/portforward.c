/* SPDX-License-Identifier: Apache-2.0 */
/* The port-forward session, as the kubelet serves it (k8s.io/cri-streaming portforward):
 *   - SPDY (portforward.k8s.io, also tunnelled in WebSocket binary messages as kubectl sends
 *     it): each forwarded connection is a pair of client streams, streamType error and data,
 *     with a port header and a requestID header (or, without one, the error stream's id, the
 *     data stream's minus 2). A stream without a valid port or type is reset. Once both are
 *     there the pod's port is connected; a failure goes on the error stream as "error
 *     forwarding port P to pod POD, uid UID: ...". The client ending the data stream shuts
 *     our side of the pod connection down (half-close); the pod ending it ends both streams.
 *     The session lasts until the client closes it;
 *   - WebSocket channels (v4.channel.k8s.io and the older unversioned ones): the ports come from
 *     the query, port i has data channel 2i and error channel 2i+1, the first message on each
 *     carries the port as 2 bytes little-endian; all connections are made at once and the
 *     session ends (close frame) once every one of them ended. */
#include <stdio.h>
#include <sys/socket.h>

#include "internal.h"

struct pair {
        char *request_id;
        uint16_t port;
        uint32_t data_id, error_id; /* SPDY streams, 0 when none (yet, or any more) */
        int fd;                     /* to the pod */
        bool connected, failed;
        struct stream_buf to_pod;
        bool client_fin, shut; /* the client ended its data: shut our side down once flushed */
        bool pod_eof;
        usec_t created;
};

struct pf {
        struct stream_core core;
        const struct stream_upgrade *up;
        const struct stream_portforward_ops *ops;
        void *userdata;
        const char *pod, *uid;
        struct stream_limits lim;
        nl_error *err;
        struct pair **pairs;
        size_t n_pairs, max_pairs;
        /* WebSocket channels */
        bool channels;
        int ws_channel;
        struct stream_buf ws_message;
};

static void pair_close_fd(struct pair *p) {
        if (p->fd >= 0) {
                close(p->fd);
                p->fd = -1;
        }
}

static void pair_free(struct pair *p) {
        if (!p)
                return;
        pair_close_fd(p);
        free(p->request_id);
        stream_buf_free(&p->to_pod);
        free(p);
}

static struct pair *pair_new(struct pf *f, const char *request_id, uint16_t port) {
        if (f->n_pairs >= f->max_pairs)
                return NULL;
        struct pair *p = calloc(1, sizeof(*p));
        if (!p)
                return NULL;
        p->fd = -1;
        p->port = port;
        p->created = now_monotonic();
        p->request_id = strdup(strempty(request_id));
        if (!p->request_id) {
                free(p);
                return NULL;
        }
        f->pairs[f->n_pairs++] = p;
        return p;
}

static void pair_remove(struct pf *f, size_t i) {
        pair_free(f->pairs[i]);
        f->pairs[i] = f->pairs[--f->n_pairs];
}

/* An error for the client: on the error stream (then ended) or channel. */
static void pair_error(struct pf *f, struct pair *p, size_t index, const char *msg) {
        if (f->channels) {
                (void) stream_core_ws_send(&f->core, f->up->base64, (uint8_t) (2 * index + 1), msg,
                                           strlen(msg));
                return;
        }
        if (p->error_id && spdy_session_stream_exists(f->core.spdy, p->error_id))
                (void) spdy_session_send(f->core.spdy, p->error_id, msg, strlen(msg), true);
}

static void pair_connect(struct pf *f, struct pair *p, size_t index) {
        nl_error err = NL_ERROR_INIT;
        int fd = -1;
        int r = f->ops->connect(f->userdata, p->port, &fd, &err);

        if (r < 0) {
                _cleanup_free_ char *msg =
                        nl_strdupf("error forwarding port %u to pod %s, uid %s: %s", p->port,
                                   strempty(f->pod), strempty(f->uid), err.msg ? err.msg : strerror(-r));
                nl_error_clear(&err);
                p->failed = true;
                pair_error(f, p, index, msg ? msg : "error forwarding port");
                /* as the kubelet: the data stream is reset after the message */
                if (!f->channels && p->data_id && spdy_session_stream_exists(f->core.spdy, p->data_id))
                        (void) spdy_session_reset(f->core.spdy, p->data_id, SPDY_CANCEL);
                return;
        }
        stream_set_nonblock(fd);
        p->fd = fd;
        p->connected = true;
}

/* ==== SPDY =================================================================================== */

static struct pair *find_by_stream(struct pf *f, uint32_t id, bool *ret_data) {
        for (size_t i = 0; i < f->n_pairs; i++) {
                if (f->pairs[i]->data_id == id) {
                        *ret_data = true;
                        return f->pairs[i];
                }
                if (f->pairs[i]->error_id == id) {
                        *ret_data = false;
                        return f->pairs[i];
                }
        }
        return NULL;
}

static int on_open(struct pf *f, const struct spdy_event *ev) {
        const char *port_s = spdy_headers_get(ev->headers, "port");
        const char *type = spdy_headers_get(ev->headers, "streamType");
        const char *rid = spdy_headers_get(ev->headers, "requestID");
        char derived[16];
        int64_t port;

        /* the kubelet's stream handler refuses these: the stream is reset */
        if (isempty(port_s) || nl_parse_int64(port_s, 1, 65535, &port) < 0 || port_s[0] == '+' || !type ||
            (!streq(type, "error") && !streq(type, "data")))
                return spdy_session_reset(f->core.spdy, ev->stream_id, SPDY_CANCEL);
        bool data = streq(type, "data");
        if (isempty(rid)) {
                snprintf(derived, sizeof(derived), "%u", data ? ev->stream_id - 2 : ev->stream_id);
                rid = derived;
        }
        struct pair *p = NULL;
        size_t index = 0;
        /* the kubelet forgets a pair once both its streams are there: a later stream with the
         * same requestID starts a new one */
        for (; index < f->n_pairs; index++)
                if (!f->pairs[index]->connected && !f->pairs[index]->failed &&
                    streq(f->pairs[index]->request_id, rid)) {
                        p = f->pairs[index];
                        break;
                }
        if (!p) {
                p = pair_new(f, rid, (uint16_t) port);
                if (!p)
                        return spdy_session_reset(f->core.spdy, ev->stream_id, SPDY_REFUSED_STREAM);
                index = f->n_pairs - 1;
        }
        int r = spdy_session_reply(f->core.spdy, ev->stream_id);
        if (r < 0)
                return r;
        uint32_t *slot = data ? &p->data_id : &p->error_id;
        if (*slot) {
                _cleanup_free_ char *msg =
                        nl_strdupf("error processing stream for request %s: %s stream already "
                                   "assigned",
                                   rid, type);
                if (p->error_id && spdy_session_stream_exists(f->core.spdy, p->error_id))
                        (void) spdy_session_send(f->core.spdy, p->error_id, msg, msg ? strlen(msg) : 0,
                                                 false);
                return spdy_session_reset(f->core.spdy, ev->stream_id, SPDY_CANCEL);
        }
        *slot = ev->stream_id;
        if (data)
                p->port = (uint16_t) port; /* the data stream's port is the one forwarded */
        if (ev->fin && data)
                p->client_fin = true;
        if (p->data_id && p->error_id)
                pair_connect(f, p, index);
        return 0;
}

static int on_spdy(void *userdata, const struct spdy_event *ev) {
        struct pf *f = userdata;
        bool data = false;
        struct pair *p = ev->type == SPDY_EVENT_OPEN ? NULL : find_by_stream(f, ev->stream_id, &data);

        switch (ev->type) {
        case SPDY_EVENT_OPEN:
                return on_open(f, ev);
        case SPDY_EVENT_DATA:
                if (p && data && p->fd >= 0 && !p->shut)
                        return stream_buf_append(&p->to_pod, ev->data, ev->len); /* consumed once written */
                return spdy_session_consumed(f->core.spdy, ev->stream_id, ev->len);
        case SPDY_EVENT_FIN:
                if (p && data)
                        p->client_fin = true;
                return 0;
        case SPDY_EVENT_RESET:
                if (!p)
                        return 0;
                if (data) {
                        /* client-go resets the data stream once it read the pod's end */
                        p->data_id = 0;
                        pair_close_fd(p);
                        stream_buf_clear(&p->to_pod);
                } else
                        p->error_id = 0;
                return 0;
        case SPDY_EVENT_GOAWAY:
                return 0;
        }
        return 0;
}

/* ==== WebSocket channels ===================================================================== */

static int channel_data(struct pf *f, int ch, const uint8_t *data, size_t len) {
        if (ch < 0 || ch % 2 == 1 || (size_t) ch / 2 >= f->n_pairs)
                return 0; /* the error channels are the server's, others do not exist */
        struct pair *p = f->pairs[ch / 2];
        if (p->fd < 0)
                return 0;
        return stream_buf_append(&p->to_pod, data, len);
}

static int on_ws(void *userdata, const struct ws_event *ev) {
        struct pf *f = userdata;
        const uint8_t *d = ev->data;
        size_t len = ev->len;
        int r = 0;

        switch (ev->type) {
        case WS_EVENT_MESSAGE_START:
                f->ws_channel = -1;
                stream_buf_clear(&f->ws_message);
                return 0;
        case WS_EVENT_MESSAGE_DATA:
                if (len > 0 && f->ws_channel < 0) {
                        f->ws_channel = f->up->base64 ? d[0] - '0' : d[0];
                        d++;
                        len--;
                }
                if (f->up->base64)
                        return stream_buf_append(&f->ws_message, d, len);
                return channel_data(f, f->ws_channel, d, len);
        case WS_EVENT_MESSAGE_END:
                if (f->up->base64 && f->ws_channel >= 0) {
                        struct stream_buf dec = {};
                        if (stream_base64_decode(stream_buf_head(&f->ws_message),
                                                 stream_buf_size(&f->ws_message), &dec) >= 0)
                                r = channel_data(f, f->ws_channel, stream_buf_head(&dec),
                                                 stream_buf_size(&dec));
                        stream_buf_free(&dec);
                }
                stream_buf_clear(&f->ws_message);
                return r;
        case WS_EVENT_CLOSE:
                return 0;
        }
        return 0;
}

/* ==== the loop =============================================================================== */

static size_t to_pod_queued(const struct pf *f) {
        size_t m = 0;
        for (size_t i = 0; i < f->n_pairs; i++)
                m = MAX(m, stream_buf_size(&f->pairs[i]->to_pod));
        return m;
}

static void write_pod(struct pf *f, struct pair *p) {
        while (p->fd >= 0 && stream_buf_size(&p->to_pod) > 0) {
                ssize_t k =
                        send(p->fd, stream_buf_head(&p->to_pod), stream_buf_size(&p->to_pod), MSG_NOSIGNAL);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0 && errno == EAGAIN)
                        break;
                if (k <= 0) {
                        /* the pod is gone: what the client sends is dropped */
                        k = (ssize_t) stream_buf_size(&p->to_pod);
                        p->shut = true;
                }
                if (!f->channels)
                        (void) spdy_session_consumed(f->core.spdy, p->data_id, (size_t) k);
                stream_buf_consume(&p->to_pod, (size_t) k);
        }
        if (p->fd >= 0 && p->client_fin && !p->shut && stream_buf_size(&p->to_pod) == 0) {
                (void) shutdown(p->fd, SHUT_WR);
                p->shut = true;
        }
}

static size_t read_budget(const struct pf *f, const struct pair *p) {
        if (stream_core_pending(&f->core) >= STREAM_OUT_MAX || p->pod_eof)
                return 0;
        if (f->channels)
                return STREAM_CHUNK;
        return MIN((size_t) STREAM_CHUNK, spdy_session_send_window(f->core.spdy, p->data_id));
}

static int read_pod(struct pf *f, struct pair *p, size_t index) {
        uint8_t buf[STREAM_CHUNK];
        size_t n = read_budget(f, p);

        if (n == 0)
                return 0;
        ssize_t k = recv(p->fd, buf, n, 0);
        if (k < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        if (k > 0) {
                if (f->channels)
                        return stream_core_ws_send(&f->core, f->up->base64, (uint8_t) (2 * index), buf,
                                                   (size_t) k);
                int r = spdy_session_send(f->core.spdy, p->data_id, buf, (size_t) k, false);
                return r == -EPIPE || r == -ENOENT ? 0 : r;
        }
        /* the pod ended (or failed) its side: both streams end, as the kubelet closes them */
        p->pod_eof = true;
        if (f->channels) {
                pair_close_fd(p);
                return 0;
        }
        if (p->data_id && spdy_session_stream_exists(f->core.spdy, p->data_id))
                (void) spdy_session_send(f->core.spdy, p->data_id, NULL, 0, true);
        if (p->error_id && spdy_session_stream_exists(f->core.spdy, p->error_id))
                (void) spdy_session_send(f->core.spdy, p->error_id, NULL, 0, true);
        if (p->shut || k < 0)
                pair_close_fd(p);
        return 0;
}

/* Pairs that are over: their fd closed (or never opened) and their streams gone; pairs still
 * incomplete after the stream creation timeout. */
static void sweep(struct pf *f, usec_t now) {
        for (size_t i = 0; !f->channels && i < f->n_pairs;) {
                struct pair *p = f->pairs[i];
                bool data = p->data_id && spdy_session_stream_exists(f->core.spdy, p->data_id);
                bool error = p->error_id && spdy_session_stream_exists(f->core.spdy, p->error_id);
                if (p->pod_eof && p->shut)
                        pair_close_fd(p);
                if (!p->connected && !p->failed && now >= p->created + f->lim.stream_creation_timeout) {
                        _cleanup_free_ char *msg =
                                nl_strdupf("request %s: timed out waiting for streams", p->request_id);
                        pair_error(f, p, i, msg ? msg : "timed out waiting for streams");
                        if (data)
                                (void) spdy_session_reset(f->core.spdy, p->data_id, SPDY_CANCEL);
                        pair_remove(f, i);
                        continue;
                }
                if ((p->connected || p->failed) && p->fd < 0 && !data && !error) {
                        pair_remove(f, i);
                        continue;
                }
                i++;
        }
}

static bool all_ports_done(const struct pf *f) {
        for (size_t i = 0; i < f->n_pairs; i++)
                if (f->pairs[i]->fd >= 0)
                        return false;
        return true;
}

static usec_t next_deadline(const struct pf *f) {
        usec_t d = f->core.last_activity + f->lim.idle_timeout;
        for (size_t i = 0; !f->channels && i < f->n_pairs; i++)
                if (!f->pairs[i]->connected && !f->pairs[i]->failed)
                        d = MIN(d, f->pairs[i]->created + f->lim.stream_creation_timeout);
        return d;
}

static int run(struct pf *f) {
        _cleanup_free_ struct pollfd *p = calloc(f->max_pairs + 1, sizeof(struct pollfd));
        _cleanup_free_ int *which = calloc(f->max_pairs + 1, sizeof(int));
        bool closing = false;

        if (!p || !which)
                return nl_error_set(f->err, -ENOMEM, "out of memory");
        for (;;) {
                usec_t now = now_monotonic();
                int r;

                for (size_t i = 0; i < f->n_pairs; i++)
                        write_pod(f, f->pairs[i]);
                sweep(f, now);
                if (f->channels && !closing && all_ports_done(f)) {
                        (void) ws_session_close(f->core.ws, WS_CLOSE_NORMAL, NULL);
                        closing = true;
                }
                (void) stream_core_flush(&f->core);
                if (closing && stream_core_pending(&f->core) == 0) {
                        stream_core_linger(&f->core, now_monotonic() + f->lim.linger, true);
                        return 0;
                }
                if (f->core.eof)
                        return 0; /* the client is done with the session */
                if (f->core.failed)
                        return nl_error_set(f->err, -ECONNRESET, "connection: %s", strerror(-f->core.error));
                if (now >= f->core.last_activity + f->lim.idle_timeout)
                        return nl_error_set(f->err, -ETIMEDOUT, "streaming connection idle timeout");

                size_t n = 0;
                bool pending_in = f->core.io->pending && f->core.io->pending(f->core.io->userdata);
                bool want_read = !closing && to_pod_queued(f) + STREAM_CHUNK <= STREAM_IN_MAX;
                p[n++] = (struct pollfd){
                        .fd = f->core.io->fd,
                        .events = (short) ((want_read ? POLLIN : 0) |
                                           (stream_buf_size(&f->core.out) ? POLLOUT : 0)),
                };
                for (size_t i = 0; i < f->n_pairs; i++) {
                        struct pair *pr = f->pairs[i];
                        short ev = (short) ((read_budget(f, pr) > 0 ? POLLIN : 0) |
                                            (stream_buf_size(&pr->to_pod) > 0 ? POLLOUT : 0));
                        if (pr->fd < 0 || !ev)
                                continue;
                        which[n] = (int) i;
                        p[n++] = (struct pollfd){.fd = pr->fd, .events = ev};
                }
                usec_t deadline = next_deadline(f);
                r = stream_poll(p, n, pending_in && want_read ? 0 : deadline > now ? deadline - now : 0);
                if (r < 0)
                        return nl_error_set(f->err, r, "poll: %s", strerror(-r));
                if ((want_read && (pending_in || (p[0].revents & POLLIN))) ||
                    (p[0].revents & (POLLHUP | POLLERR)))
                        (void) stream_core_read(&f->core);
                for (size_t k = 1; k < n; k++) {
                        size_t i = (size_t) which[k];
                        /* the read above may have closed pairs, never removed them */
                        if (i >= f->n_pairs || f->pairs[i]->fd != p[k].fd)
                                continue;
                        if (p[k].revents & (POLLIN | POLLHUP | POLLERR)) {
                                r = read_pod(f, f->pairs[i], i);
                                if (r < 0)
                                        return nl_error_set(f->err, r, "forwarding: %s", strerror(-r));
                        }
                }
        }
}

int stream_portforward_serve(const struct stream_conn *conn, const struct stream_upgrade *up,
                             const uint16_t *ports, size_t n_ports, const struct stream_portforward_ops *ops,
                             void *userdata, const char *pod, const char *uid,
                             const struct stream_limits *limits, const void *preread, size_t preread_len,
                             nl_error *err) {
        struct pf *f = calloc(1, sizeof(*f));
        int r;

        if (!f)
                return nl_error_set(err, -ENOMEM, "out of memory");
        if (up->kind != STREAM_KIND_PORTFORWARD || up->status != 101) {
                free(f);
                return nl_error_set(err, -EINVAL, "not a port-forward upgrade");
        }
        *f = (struct pf){
                .up = up,
                .ops = ops,
                .userdata = userdata,
                .pod = pod,
                .uid = uid,
                .err = err,
                .channels = up->transport == STREAM_TRANSPORT_WEBSOCKET,
                .ws_channel = -1,
        };
        if (limits)
                f->lim = *limits;
        if (!f->lim.idle_timeout)
                f->lim.idle_timeout = 4ULL * 3600 * USEC_PER_SEC;
        if (!f->lim.stream_creation_timeout)
                f->lim.stream_creation_timeout = 30 * USEC_PER_SEC;
        if (!f->lim.linger)
                f->lim.linger = 5 * USEC_PER_SEC;
        unsigned max_streams = f->lim.max_streams ? f->lim.max_streams : 256;
        f->max_pairs = f->channels ? n_ports : max_streams / 2 + 1;
        if (f->channels && (n_ports == 0 || n_ports > STREAM_PORTS_MAX)) {
                free(f);
                return nl_error_set(err, -EINVAL, "a WebSocket port-forward needs 1 to %u ports",
                                    STREAM_PORTS_MAX);
        }
        f->pairs = calloc(f->max_pairs, sizeof(struct pair *));
        r = f->pairs ? stream_core_init(&f->core, conn, up, max_streams, on_spdy, on_ws, f) : -ENOMEM;
        if (r < 0) {
                free(f->pairs);
                free(f);
                return nl_error_set(err, r, "setting up the session: %s", strerror(-r));
        }
        r = stream_buf_append(&f->core.out, up->response, up->response_len);
        for (size_t i = 0; r >= 0 && f->channels && i < n_ports; i++) {
                uint8_t le[2] = {(uint8_t) ports[i], (uint8_t) (ports[i] >> 8)};
                struct pair *p = pair_new(f, NULL, ports[i]);
                if (!p) {
                        r = -ENOMEM;
                        break;
                }
                r = stream_core_ws_send(&f->core, up->base64, (uint8_t) (2 * i), le, 2);
                if (r >= 0)
                        r = stream_core_ws_send(&f->core, up->base64, (uint8_t) (2 * i + 1), le, 2);
                if (r >= 0)
                        pair_connect(f, p, i);
        }
        if (r >= 0)
                (void) stream_core_feed(&f->core, preread, preread_len);
        r = r < 0 ? nl_error_set(err, r, "out of memory") : run(f);

        for (size_t i = 0; i < f->n_pairs; i++)
                pair_free(f->pairs[i]);
        free(f->pairs);
        stream_core_done(&f->core);
        stream_buf_free(&f->ws_message);
        free(f);
        return r;
}
