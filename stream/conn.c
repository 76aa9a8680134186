/* SPDX-License-Identifier: Apache-2.0 */
/* The connection core of the session driver: the transport layers of one upgraded connection
 * (WebSocket, SPDY, or SPDY carried in WebSocket binary messages as client-go's port-forward
 * tunnel sends it: any message may hold any slice of the SPDY byte stream), reads fed through
 * them, and writes of what they produced. */
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/socket.h>

#include "internal.h"

static ssize_t socket_read(void *userdata, void *buf, size_t n) {
        int fd = (int) (intptr_t) userdata;
        for (;;) {
                ssize_t k = recv(fd, buf, n, 0);
                if (k >= 0)
                        return k;
                if (errno != EINTR)
                        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
        }
}

static ssize_t socket_write(void *userdata, const void *buf, size_t n) {
        int fd = (int) (intptr_t) userdata;
        for (;;) {
                ssize_t k = send(fd, buf, n, MSG_NOSIGNAL);
                if (k >= 0)
                        return k;
                if (errno != EINTR)
                        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
        }
}

static int socket_shutdown(void *userdata) {
        return shutdown((int) (intptr_t) userdata, SHUT_WR) < 0 ? -errno : 0;
}

void stream_conn_socket(int fd, struct stream_conn *ret) {
        *ret = (struct stream_conn){
                .fd = fd,
                .read = socket_read,
                .write = socket_write,
                .shutdown = socket_shutdown,
                .userdata = (void *) (intptr_t) fd,
        };
}

void stream_set_nonblock(int fd) {
        int fl = fcntl(fd, F_GETFL);
        if (fl >= 0 && !(fl & O_NONBLOCK))
                (void) fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

int stream_poll(struct pollfd *fds, size_t n, usec_t timeout) {
        int ms = timeout == USEC_INFINITY
                         ? -1
                         : (int) MIN((timeout + USEC_PER_MSEC - 1) / USEC_PER_MSEC, (usec_t) INT32_MAX);
        int r = poll(fds, (nfds_t) n, ms);
        if (r < 0)
                return errno == EINTR ? 0 : -errno;
        return r;
}

int stream_base64_decode(const uint8_t *in, size_t len, struct stream_buf *out) {
        _cleanup_free_ char *dec = NULL;
        size_t dl = 0;
        int r = nl_base64_decode_n((const char *) in, len, true, &dec, &dl);
        if (r < 0)
                return r;
        return stream_buf_append(out, dec, dl);
}

/* ==== the layers ============================================================================= */

struct ws_route {
        struct stream_core *core;
        ws_event_fn app_fn;
        void *app_userdata;
};

/* WebSocket events: a close ends the client's side; in a tunnel, binary payloads are SPDY. */
static int core_ws_event(void *userdata, const struct ws_event *ev) {
        struct ws_route *rt = userdata;
        struct stream_core *c = rt->core;

        if (ev->type == WS_EVENT_CLOSE)
                c->eof = true;
        if (c->transport != STREAM_TRANSPORT_SPDY_OVER_WEBSOCKET)
                return rt->app_fn ? rt->app_fn(rt->app_userdata, ev) : 0;
        switch (ev->type) {
        case WS_EVENT_MESSAGE_START:
                /* the tunnel is binary (client-go refuses anything else too) */
                if (ev->opcode != WS_BINARY) {
                        (void) ws_session_close(c->ws, WS_CLOSE_UNSUPPORTED, "binary messages only");
                        return -EPROTO;
                }
                return 0;
        case WS_EVENT_MESSAGE_DATA:
                return spdy_session_feed(c->spdy, ev->data, ev->len);
        default:
                return 0;
        }
}

int stream_core_init(struct stream_core *c, const struct stream_conn *io, const struct stream_upgrade *up,
                     unsigned max_streams, spdy_event_fn spdy_fn, ws_event_fn ws_fn, void *userdata) {
        int r = 0;

        *c = (struct stream_core){.io = io, .transport = up->transport, .last_activity = now_monotonic()};
        if (up->transport != STREAM_TRANSPORT_WEBSOCKET)
                r = spdy_session_new(max_streams, spdy_fn, userdata, &c->spdy);
        if (r >= 0 && up->transport != STREAM_TRANSPORT_SPDY) {
                struct ws_route *rt = calloc(1, sizeof(*rt));
                if (!rt)
                        r = -ENOMEM;
                else {
                        *rt = (struct ws_route){c, ws_fn, userdata};
                        c->ws_route = rt;
                        /* base64 messages are decoded whole: capped; binary ones stream through */
                        r = ws_session_new(up->base64 ? STREAM_WS_MESSAGE_MAX : 0, core_ws_event, rt,
                                           &c->ws);
                }
        }
        if (r < 0) {
                stream_core_done(c);
                return r;
        }
        stream_set_nonblock(io->fd);
        return 0;
}

void stream_core_done(struct stream_core *c) {
        c->spdy = spdy_session_free(c->spdy);
        c->ws = ws_session_free(c->ws);
        free(c->ws_route);
        c->ws_route = NULL;
        stream_buf_free(&c->out);
}

int stream_core_feed(struct stream_core *c, const void *data, size_t len) {
        int r;

        if (len == 0 || c->failed)
                return 0;
        c->last_activity = now_monotonic();
        r = c->ws ? ws_session_feed(c->ws, data, len) : spdy_session_feed(c->spdy, data, len);
        if (r < 0) {
                c->failed = true;
                c->error = r;
        }
        return r;
}

int stream_core_read(struct stream_core *c) {
        uint8_t buf[STREAM_CHUNK];
        ssize_t n;

        if (c->eof || c->failed)
                return 0;
        n = c->io->read(c->io->userdata, buf, sizeof(buf));
        if (n == -EAGAIN)
                return -EAGAIN;
        if (n < 0) {
                c->failed = true;
                c->error = (int) n;
                return (int) n;
        }
        if (n == 0) {
                c->eof = true;
                return 0;
        }
        int r = stream_core_feed(c, buf, (size_t) n);
        return r < 0 ? r : (int) n;
}

size_t stream_core_pending(const struct stream_core *c) {
        size_t n = stream_buf_size(&c->out);
        if (c->spdy)
                n += stream_buf_size(spdy_session_output(c->spdy));
        if (c->ws)
                n += stream_buf_size(ws_session_output(c->ws));
        return n;
}

int stream_core_flush(struct stream_core *c) {
        int r = 0;

        if (c->spdy) {
                struct stream_buf *so = spdy_session_output(c->spdy);
                if (stream_buf_size(so) > 0) {
                        if (c->ws)
                                /* after our close frame the tunnel carries nothing more */
                                (void) ws_session_send(c->ws, WS_BINARY, NULL, 0, stream_buf_head(so),
                                                       stream_buf_size(so));
                        else
                                r = stream_buf_append(&c->out, stream_buf_head(so), stream_buf_size(so));
                        stream_buf_clear(so);
                }
        }
        if (r >= 0 && c->ws) {
                struct stream_buf *wo = ws_session_output(c->ws);
                r = stream_buf_append(&c->out, stream_buf_head(wo), stream_buf_size(wo));
                stream_buf_clear(wo);
        }
        if (r < 0) {
                c->failed = true;
                return c->error = r;
        }
        while (!c->failed && stream_buf_size(&c->out) > 0) {
                ssize_t k =
                        c->io->write(c->io->userdata, stream_buf_head(&c->out), stream_buf_size(&c->out));
                if (k == -EAGAIN)
                        break;
                if (k <= 0) {
                        c->failed = true;
                        c->error = k < 0 ? (int) k : -EPIPE;
                        return c->error;
                }
                stream_buf_consume(&c->out, (size_t) k);
                c->last_activity = now_monotonic();
        }
        return 0;
}

void stream_core_linger(struct stream_core *c, usec_t until, bool shut) {
        if (shut && c->io->shutdown)
                (void) c->io->shutdown(c->io->userdata);
        while (!c->eof && !c->failed) {
                uint8_t buf[4096];
                usec_t now = now_monotonic();
                if (now >= until)
                        return;
                if (!(c->io->pending && c->io->pending(c->io->userdata))) {
                        struct pollfd p = {.fd = c->io->fd, .events = POLLIN};
                        int r = stream_poll(&p, 1, until - now);
                        if (r < 0)
                                return;
                        if (r == 0)
                                continue;
                }
                ssize_t n = c->io->read(c->io->userdata, buf, sizeof(buf));
                if (n == 0 || (n < 0 && n != -EAGAIN))
                        return;
        }
}

int stream_core_ws_send(struct stream_core *c, bool base64, uint8_t channel, const void *data, size_t len) {
        if (!base64)
                return ws_session_send(c->ws, WS_BINARY, &channel, 1, data, len);
        if (len > STREAM_WS_MESSAGE_MAX)
                return -EMSGSIZE;
        _cleanup_free_ unsigned char *enc = malloc(4 * ((len + 2) / 3) + 1);
        char ch = (char) ('0' + channel);
        if (!enc)
                return -ENOMEM;
        int n = len ? EVP_EncodeBlock(enc, data, (int) len) : 0;
        return ws_session_send(c->ws, WS_TEXT, &ch, 1, enc, (size_t) n);
}
