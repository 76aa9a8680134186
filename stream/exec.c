/* SPDX-License-Identifier: Apache-2.0 */
/* The exec/attach session, as the kubelet serves it (k8s.io/cri-streaming remotecommand, and
 * its WebSocket translator for v5.channel.k8s.io):
 *   - SPDY: the client opens one stream per channel, named by the streamType header (error,
 *     stdin, stdout, stderr, resize). Every stream is accepted; the process starts once the
 *     ones the query asked for are all there (the error stream, stdin/stdout/stderr as asked,
 *     resize for a tty from v3 on), within the stream creation timeout;
 *   - WebSocket: channels are fixed (0 stdin .. 4 resize); an empty message on the lowest
 *     channel we write (stdout, else stderr, else error) tells the client we are ready; from
 *     v5 on, [255, channel] closes a channel (stdin's end);
 *   - at the end: the result goes on the error stream (a Status from v4 on, the failure's text
 *     before), the error stream ends, then stdout and stderr (FIN), then GOAWAY or the WebSocket
 *     close; the client closes the connection.
 * Reads from the client pause while stdin has STREAM_IN_MAX bytes waiting (the process is not
 * reading), reads from stdout/stderr while STREAM_OUT_MAX bytes wait for the client: spdystream
 * has no flow control of its own, so TCP's is what holds a fast side back. */
#include <sys/ioctl.h>

#include "internal.h"

enum phase {
        PHASE_WAITING,  /* SPDY: for the client's streams */
        PHASE_RUNNING,  /* the process runs, or its output drains */
        PHASE_FINISHED, /* the result is sent: flush and linger */
};

struct exec {
        struct stream_core core;
        const struct stream_upgrade *up;
        const struct stream_exec_options *opts;
        const struct stream_exec_ops *ops;
        void *userdata;
        struct stream_limits lim;
        nl_error *err;

        enum phase phase;
        uint32_t sid[5]; /* SPDY stream id per channel, 0 when none */
        bool dead[5];    /* the client reset the stream: what we would send is dropped */
        unsigned expected, received;
        usec_t started;
        /* a terminal's process starts once its first size arrived (or a moment passed), so
         * what it runs sees the client's size from its first instruction */
        bool awaiting_size;
        usec_t size_deadline;
        bool have_size; /* a size came before the start: sent again once the process runs */
        uint16_t width, height;

        struct stream_process proc;
        struct stream_buf stdin_buf;
        bool stdin_eof; /* the client ended stdin (or asked for none) */
        bool out_eof[3];
        struct stream_resize resize;
        bool have_result;
        struct stream_result result;
        usec_t exited;

        /* the WebSocket message being read */
        int ws_channel; /* -1: the channel byte is next; 255: a close signal */
        bool ws_base64;
        struct stream_buf ws_message;
        bool protocol_error;
        bool keep_open; /* finished, but waiting for the client to close first */
        bool held[3];   /* stdout/stderr hung up with bytes left and no room to send them */
};

static void close_fd(int *fd) {
        if (*fd >= 0) {
                close(*fd);
                *fd = -1;
        }
}

static bool ws(const struct exec *e) {
        return e->up->transport == STREAM_TRANSPORT_WEBSOCKET;
}

/* Send on a channel (stdout, stderr, error). */
static int send_channel(struct exec *e, int ch, const void *data, size_t len) {
        /* an output the client did not ask for is dropped (the kubelet's IgnoreChannel) */
        if (e->dead[ch] || (ch == STREAM_CHANNEL_STDOUT && !e->opts->stdout) ||
            (ch == STREAM_CHANNEL_STDERR && !e->opts->stderr))
                return 0;
        if (ws(e))
                return stream_core_ws_send(&e->core, e->up->base64, (uint8_t) ch, data, len);
        if (!e->sid[ch])
                return 0;
        int r = spdy_session_send(e->core.spdy, e->sid[ch], data, len, false);
        return r == -EPIPE || r == -ENOENT ? 0 : r;
}

static void end_channel(struct exec *e, int ch) {
        if (!ws(e) && e->sid[ch] && spdy_session_stream_exists(e->core.spdy, e->sid[ch]))
                (void) spdy_session_send(e->core.spdy, e->sid[ch], NULL, 0, true);
}

static void set_result_error(struct exec *e, const char *msg) {
        stream_result_done(&e->result);
        e->result = (struct stream_result){.kind = STREAM_RESULT_ERROR, .message = strdup(strempty(msg))};
        e->have_result = true;
        e->exited = now_monotonic();
}

static void start(struct exec *e) {
        nl_error err = NL_ERROR_INIT;
        int r;

        e->awaiting_size = false;
        e->phase = PHASE_RUNNING;
        e->proc = (struct stream_process){-1, -1, -1, -1};
        /* channel.k8s.io: the kubelet's v1 handler closes stdin as soon as the streams are there */
        if (!ws(e) && e->up->version == 1 && e->sid[STREAM_CHANNEL_STDIN])
                end_channel(e, STREAM_CHANNEL_STDIN);
        r = e->ops->start(e->userdata, &e->proc, &err);
        if (r < 0) {
                e->proc = (struct stream_process){-1, -1, -1, -1};
                set_result_error(e, err.msg ? err.msg : strerror(-r));
                nl_error_clear(&err);
                e->out_eof[1] = e->out_eof[2] = true;
                return;
        }
        int *fds[] = {&e->proc.stdin_fd, &e->proc.stdout_fd, &e->proc.stderr_fd, &e->proc.exit_fd};
        for (size_t i = 0; i < ELEMENTSOF(fds); i++)
                if (*fds[i] >= 0)
                        stream_set_nonblock(*fds[i]);
        /* a size that came before the process: resize() is called before start() (a starter
         * may use it) and again now, for a starter that had no terminal to size yet */
        if (e->have_size && e->opts->tty && e->ops->resize)
                e->ops->resize(e->userdata, e->width, e->height);
        if (!e->opts->stdin)
                close_fd(&e->proc.stdin_fd);
        e->out_eof[1] = e->proc.stdout_fd < 0;
        e->out_eof[2] = e->proc.stderr_fd < 0;
}

static void start(struct exec *e);

static void on_resize(void *userdata, uint16_t w, uint16_t h) {
        struct exec *e = userdata;
        if (e->opts->tty && e->ops->resize)
                e->ops->resize(e->userdata, w, h);
        if (e->phase != PHASE_RUNNING) {
                e->have_size = true;
                e->width = w;
                e->height = h;
        }
        if (e->awaiting_size)
                start(e);
}

/* All streams are there: start, or with a terminal, wait a moment for its size first. */
static void ready(struct exec *e) {
        bool resize = ws(e) || e->up->version >= 3;
        if (e->opts->tty && resize && e->ops->resize) {
                e->awaiting_size = true;
                e->size_deadline = now_monotonic() + STREAM_FIRST_SIZE_WAIT;
                return;
        }
        start(e);
}

/* Client bytes for a channel we read: stdin or resize. */
static int channel_data(struct exec *e, int ch, const uint8_t *data, size_t len) {
        if (ch == STREAM_CHANNEL_STDIN && e->opts->stdin && !e->stdin_eof)
                return stream_buf_append(&e->stdin_buf, data, len);
        if (ch == STREAM_CHANNEL_RESIZE)
                stream_resize_feed(&e->resize, data, len, on_resize, e);
        return 0;
}

static void channel_end(struct exec *e, int ch) {
        if (ch == STREAM_CHANNEL_STDIN)
                e->stdin_eof = true;
}

/* ==== SPDY =================================================================================== */

static int channel_of(const char *type) {
        static const char *const names[] = {"stdin", "stdout", "stderr", "error", "resize"};
        for (size_t i = 0; type && i < ELEMENTSOF(names); i++)
                if (streq(type, names[i]))
                        return (int) i;
        return -1;
}

static bool wanted(const struct exec *e, int ch) {
        switch (ch) {
        case STREAM_CHANNEL_ERROR:
                return true;
        case STREAM_CHANNEL_STDIN:
                return e->opts->stdin;
        case STREAM_CHANNEL_STDOUT:
                return e->opts->stdout;
        case STREAM_CHANNEL_STDERR:
                return e->opts->stderr;
        case STREAM_CHANNEL_RESIZE:
                return e->opts->tty && e->up->version >= 3;
        }
        return false;
}

static int find_channel(const struct exec *e, uint32_t id) {
        for (int ch = 0; ch < 5; ch++)
                if (e->sid[ch] == id)
                        return ch;
        return -1;
}

static int on_spdy(void *userdata, const struct spdy_event *ev) {
        struct exec *e = userdata;
        int ch = find_channel(e, ev->stream_id), r;

        switch (ev->type) {
        case SPDY_EVENT_OPEN:
                /* the kubelet accepts every stream, and uses those of the types it knows */
                r = spdy_session_reply(e->core.spdy, ev->stream_id);
                if (r < 0)
                        return r;
                ch = channel_of(spdy_headers_get(ev->headers, "streamType"));
                if (ch < 0 || e->phase != PHASE_WAITING)
                        return 0;
                if (e->sid[ch])
                        return spdy_session_reset(e->core.spdy, ev->stream_id, SPDY_PROTOCOL_ERROR);
                e->sid[ch] = ev->stream_id;
                if (ev->fin)
                        channel_end(e, ch);
                if (wanted(e, ch) && ++e->received == e->expected)
                        ready(e);
                return 0;
        case SPDY_EVENT_DATA:
                if (ch == STREAM_CHANNEL_STDIN && e->opts->stdin && !e->stdin_eof)
                        return stream_buf_append(&e->stdin_buf, ev->data,
                                                 ev->len); /* consumed once written */
                r = spdy_session_consumed(e->core.spdy, ev->stream_id, ev->len);
                if (r >= 0 && ch >= 0)
                        r = channel_data(e, ch, ev->data, ev->len);
                return r;
        case SPDY_EVENT_FIN:
                if (ch >= 0)
                        channel_end(e, ch);
                return 0;
        case SPDY_EVENT_RESET:
                if (ch >= 0) {
                        e->dead[ch] = true;
                        channel_end(e, ch);
                }
                return 0;
        case SPDY_EVENT_GOAWAY:
                /* client-go sends it as it closes the connection */
                e->core.eof = true;
                return 0;
        }
        return 0;
}

/* ==== WebSocket ============================================================================== */

static int ws_message_data(struct exec *e, const uint8_t *data, size_t len) {
        if (len == 0)
                return 0;
        if (e->ws_channel < 0) {
                e->ws_channel = data[0];
                if (e->up->version >= 5 && data[0] == STREAM_CHANNEL_CLOSE)
                        e->ws_channel = STREAM_CHANNEL_CLOSE;
                data++;
                len--;
        }
        if (e->ws_channel == STREAM_CHANNEL_CLOSE || e->ws_base64) {
                /* buffered: the close signal's channel byte, a base64 payload */
                if (e->ws_channel == STREAM_CHANNEL_CLOSE && stream_buf_size(&e->ws_message) + len > 1) {
                        e->protocol_error =
                                true; /* "Single channel byte should follow stream close signal" */
                        return -EPROTO;
                }
                return stream_buf_append(&e->ws_message, data, len);
        }
        return e->ws_channel < 5 ? channel_data(e, e->ws_channel, data, len) : 0;
}

static int ws_message_end(struct exec *e) {
        int r = 0;

        if (e->ws_channel == STREAM_CHANNEL_CLOSE) {
                if (stream_buf_size(&e->ws_message) != 1) {
                        e->protocol_error = true;
                        return -EPROTO;
                }
                int ch = stream_buf_head(&e->ws_message)[0];
                if (ch >= 5) { /* "Close is targeted for a channel that is not valid" */
                        e->protocol_error = true;
                        return -EPROTO;
                }
                channel_end(e, ch);
        } else if (e->ws_base64 && e->ws_channel >= '0' && e->ws_channel < '0' + 5) {
                struct stream_buf dec = {};
                /* the kubelet drops a message that does not decode */
                if (stream_base64_decode(stream_buf_head(&e->ws_message), stream_buf_size(&e->ws_message),
                                         &dec) >= 0)
                        r = channel_data(e, e->ws_channel - '0', stream_buf_head(&dec),
                                         stream_buf_size(&dec));
                stream_buf_free(&dec);
        }
        stream_buf_clear(&e->ws_message);
        e->ws_channel = -1;
        return r;
}

static int on_ws(void *userdata, const struct ws_event *ev) {
        struct exec *e = userdata;

        switch (ev->type) {
        case WS_EVENT_MESSAGE_START:
                e->ws_channel = -1;
                e->ws_base64 = e->up->base64;
                stream_buf_clear(&e->ws_message);
                return 0;
        case WS_EVENT_MESSAGE_DATA:
                return ws_message_data(e, ev->data, ev->len);
        case WS_EVENT_MESSAGE_END:
                return ws_message_end(e);
        case WS_EVENT_CLOSE:
                return 0;
        }
        return 0;
}

/* ==== the loop =============================================================================== */

static void write_stdin(struct exec *e) {
        if (e->phase == PHASE_WAITING)
                return; /* kept for the process */
        while (e->proc.stdin_fd >= 0 && stream_buf_size(&e->stdin_buf) > 0) {
                ssize_t k = write(e->proc.stdin_fd, stream_buf_head(&e->stdin_buf),
                                  stream_buf_size(&e->stdin_buf));
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0 && errno == EAGAIN)
                        return;
                if (k <= 0) {
                        /* the process closed its stdin: the rest is dropped */
                        close_fd(&e->proc.stdin_fd);
                        k = (ssize_t) stream_buf_size(&e->stdin_buf);
                }
                if (!ws(e))
                        (void) spdy_session_consumed(e->core.spdy, e->sid[STREAM_CHANNEL_STDIN], (size_t) k);
                stream_buf_consume(&e->stdin_buf, (size_t) k);
        }
        if (e->proc.stdin_fd < 0 && stream_buf_size(&e->stdin_buf) > 0) {
                if (!ws(e))
                        (void) spdy_session_consumed(e->core.spdy, e->sid[STREAM_CHANNEL_STDIN],
                                                     stream_buf_size(&e->stdin_buf));
                stream_buf_clear(&e->stdin_buf);
        }
        if (e->stdin_eof && stream_buf_size(&e->stdin_buf) == 0)
                close_fd(&e->proc.stdin_fd);
}

/* How much of stdout/stderr to read now. */
static size_t read_budget(const struct exec *e, int ch) {
        size_t pending = stream_core_pending(&e->core);
        if (pending >= STREAM_OUT_MAX)
                return 0;
        size_t n = STREAM_CHUNK;
        if (!ws(e) && !e->dead[ch])
                n = MIN(n, spdy_session_send_window(e->core.spdy, e->sid[ch]));
        return n;
}

static int read_output(struct exec *e, int ch) {
        int *fd = ch == 1 ? &e->proc.stdout_fd : &e->proc.stderr_fd;
        uint8_t buf[STREAM_CHUNK];
        size_t n = read_budget(e, ch);

        if (n == 0)
                return 0;
        ssize_t k = read(*fd, buf, n);
        if (k < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        if (k <= 0) {
                /* the end, or EIO from a pty master whose slave side is gone; the stream ends with
                 * the result (finish()), as the kubelet ends it */
                close_fd(fd);
                e->out_eof[ch] = true;
                return 0;
        }
        return send_channel(e, ch, buf, (size_t) k);
}

static void reap(struct exec *e) {
        struct stream_result res = {};
        int r = e->ops->wait ? e->ops->wait(e->userdata, &res) : 0;

        close_fd(&e->proc.exit_fd);
        if (r < 0) {
                stream_result_done(&res);
                set_result_error(e, strerror(-r));
                return;
        }
        stream_result_done(&e->result);
        e->result = res;
        e->have_result = true;
        e->exited = now_monotonic();
}

/* The result goes out: outputs end, the status, the error stream ends, then GOAWAY or close. */
static int finish(struct exec *e) {
        _cleanup_free_ char *status = NULL;
        size_t len = 0;
        int r;

        close_fd(&e->proc.stdout_fd);
        close_fd(&e->proc.stderr_fd);
        close_fd(&e->proc.stdin_fd);
        /* the status before the outputs' end: client-go's channel.k8s.io handler returns at the
         * end of stdout without reading the error stream (the kubelet ends the outputs last) */
        r = stream_status_encode(e->up, &e->result, e->opts->command, &status, &len);
        if (r < 0)
                return r;
        if (status)
                r = send_channel(e, STREAM_CHANNEL_ERROR, status, len);
        if (r < 0)
                return r;
        end_channel(e, STREAM_CHANNEL_ERROR);
        e->phase = PHASE_FINISHED;
        /* client-go's channel.k8s.io handler returns at whichever comes first, the end of stdout
         * or an error message: after a failure the outputs stay open until the client closes */
        if (!ws(e) && e->up->version == 1 && status) {
                e->keep_open = true;
                return 0;
        }
        end_channel(e, STREAM_CHANNEL_STDOUT);
        end_channel(e, STREAM_CHANNEL_STDERR);
        if (ws(e))
                return ws_session_close(e->core.ws, WS_CLOSE_NORMAL, NULL);
        return spdy_session_goaway(e->core.spdy);
}

static bool outputs_done(const struct exec *e) {
        return e->out_eof[1] && e->out_eof[2];
}

/* The loop's deadline for what it waits for. */
static usec_t next_deadline(const struct exec *e) {
        usec_t d = e->core.last_activity + e->lim.idle_timeout;
        if (e->phase == PHASE_WAITING)
                d = MIN(d, e->started + e->lim.stream_creation_timeout);
        if (e->awaiting_size)
                d = MIN(d, e->size_deadline);
        if (e->have_result && !outputs_done(e))
                d = MIN(d, e->exited + e->lim.drain);
        return d;
}

static int run(struct exec *e) {
        for (;;) {
                usec_t now = now_monotonic();
                int r;

                if (e->awaiting_size && now >= e->size_deadline)
                        start(e);
                write_stdin(e);
                if (e->phase == PHASE_RUNNING && e->proc.exit_fd < 0 && !e->have_result && outputs_done(e))
                        reap(e); /* no exit fd: the end of the output is the end */
                if (e->phase == PHASE_RUNNING && e->have_result &&
                    (outputs_done(e) || now >= e->exited + e->lim.drain)) {
                        r = finish(e);
                        if (r < 0)
                                return nl_error_set(e->err, r, "sending the result: %s", strerror(-r));
                }
                (void) stream_core_flush(&e->core);
                if (e->core.failed && e->core.error != -EPROTO && e->core.error != -EMSGSIZE)
                        return nl_error_set(e->err, -ECONNRESET, "connection: %s", strerror(-e->core.error));
                if (e->phase == PHASE_FINISHED && stream_core_pending(&e->core) == 0) {
                        stream_core_linger(&e->core, now_monotonic() + e->lim.linger, !e->keep_open);
                        return 0;
                }
                if (e->core.failed || e->protocol_error)
                        return nl_error_set(e->err, -ECONNRESET, "client broke the protocol");
                if (e->core.eof && e->phase != PHASE_FINISHED)
                        return nl_error_set(e->err, -ECONNRESET, "client went away before the end");
                if (e->phase == PHASE_WAITING && now >= e->started + e->lim.stream_creation_timeout)
                        return nl_error_set(e->err, -ETIMEDOUT,
                                            "timed out waiting for client to create streams");
                if (now >= e->core.last_activity + e->lim.idle_timeout)
                        return nl_error_set(e->err, -ETIMEDOUT, "streaming connection idle timeout");

                struct pollfd p[5];
                size_t n = 0;
                bool pending_in = e->core.io->pending && e->core.io->pending(e->core.io->userdata);
                bool want_read = e->phase != PHASE_FINISHED &&
                                 stream_buf_size(&e->stdin_buf) + STREAM_CHUNK <= STREAM_IN_MAX;
                p[n++] = (struct pollfd){
                        .fd = e->core.io->fd,
                        .events = (short) ((want_read ? POLLIN : 0) |
                                           (stream_buf_size(&e->core.out) ? POLLOUT : 0)),
                };
                int idx[5] = {-1, -1, -1, -1, -1};
                if (e->proc.stdin_fd >= 0 && stream_buf_size(&e->stdin_buf) > 0) {
                        idx[0] = (int) n;
                        p[n++] = (struct pollfd){.fd = e->proc.stdin_fd, .events = POLLOUT};
                }
                bool budget[3] = {};
                for (int ch = 1; ch <= 2; ch++) {
                        int fd = ch == 1 ? e->proc.stdout_fd : e->proc.stderr_fd;
                        budget[ch] = read_budget(e, ch) > 0;
                        if (budget[ch])
                                e->held[ch] = false;
                        /* nothing may be read: only a hang-up is waited for, to see an end with
                         * nothing left to read (a window of exactly the output's size) */
                        if (fd >= 0 && (budget[ch] || !e->held[ch])) {
                                idx[ch] = (int) n;
                                p[n++] = (struct pollfd){.fd = fd, .events = budget[ch] ? POLLIN : 0};
                        }
                }
                if (e->proc.exit_fd >= 0) {
                        idx[3] = (int) n;
                        p[n++] = (struct pollfd){.fd = e->proc.exit_fd, .events = POLLIN};
                }
                usec_t deadline = next_deadline(e);
                r = stream_poll(p, n, pending_in && want_read ? 0 : deadline > now ? deadline - now : 0);
                if (r < 0)
                        return nl_error_set(e->err, r, "poll: %s", strerror(-r));

                /* a hang-up is read even with stdin full, or poll would report it forever */
                if ((want_read && (pending_in || (p[0].revents & POLLIN))) ||
                    (p[0].revents & (POLLHUP | POLLERR)))
                        (void) stream_core_read(&e->core);
                for (int ch = 1; ch <= 2; ch++) {
                        if (idx[ch] < 0 || !p[idx[ch]].revents)
                                continue;
                        if (!budget[ch]) {
                                int *fd = ch == 1 ? &e->proc.stdout_fd : &e->proc.stderr_fd, left = 0;
                                if (ioctl(*fd, FIONREAD, &left) == 0 && left == 0) {
                                        close_fd(fd);
                                        e->out_eof[ch] = true;
                                } else
                                        e->held[ch] = true; /* bytes left: wait for the window */
                                continue;
                        }
                        r = read_output(e, ch);
                        if (r < 0)
                                return nl_error_set(e->err, r, "sending output: %s", strerror(-r));
                }
                if (idx[3] >= 0 && p[idx[3]].revents)
                        reap(e);
        }
}

static void limits_default(struct stream_limits *l, const struct stream_limits *given) {
        if (given)
                *l = *given;
        if (!l->idle_timeout)
                l->idle_timeout = 4ULL * 3600 * USEC_PER_SEC;
        if (!l->stream_creation_timeout)
                l->stream_creation_timeout = 30 * USEC_PER_SEC;
        if (!l->linger)
                l->linger = 5 * USEC_PER_SEC;
        if (!l->drain)
                l->drain = 2 * USEC_PER_SEC;
}

int stream_exec_serve(const struct stream_conn *conn, const struct stream_upgrade *up,
                      const struct stream_exec_options *opts, const struct stream_exec_ops *ops,
                      void *userdata, const struct stream_limits *limits, const void *preread,
                      size_t preread_len, nl_error *err) {
        struct exec *e = calloc(1, sizeof(*e));
        int r;

        if (!e)
                return nl_error_set(err, -ENOMEM, "out of memory");
        if (up->kind == STREAM_KIND_PORTFORWARD || up->transport == STREAM_TRANSPORT_SPDY_OVER_WEBSOCKET ||
            up->status != 101) {
                free(e);
                return nl_error_set(err, -EINVAL, "not an exec or attach upgrade");
        }
        *e = (struct exec){
                .up = up,
                .opts = opts,
                .ops = ops,
                .userdata = userdata,
                .err = err,
                .proc = {-1, -1, -1, -1},
                .stdin_eof = !opts->stdin,
                .ws_channel = -1,
        };
        limits_default(&e->lim, limits);
        r = stream_core_init(&e->core, conn, up, e->lim.max_streams ? e->lim.max_streams : 8, on_spdy, on_ws,
                             e);
        if (r < 0) {
                free(e);
                return nl_error_set(err, r, "setting up the session: %s", strerror(-r));
        }
        e->started = now_monotonic();
        r = stream_buf_append(&e->core.out, up->response, up->response_len);
        if (r >= 0 && ws(e)) {
                /* ready: an empty message on the lowest channel we write */
                int ch = opts->stdout   ? STREAM_CHANNEL_STDOUT
                         : opts->stderr ? STREAM_CHANNEL_STDERR
                                        : STREAM_CHANNEL_ERROR;
                r = stream_core_ws_send(&e->core, up->base64, (uint8_t) ch, NULL, 0);
                if (r >= 0)
                        ready(e);
        } else if (r >= 0) {
                e->expected =
                        1 + opts->stdin + opts->stdout + opts->stderr + (opts->tty && up->version >= 3);
                e->phase = PHASE_WAITING;
        }
        if (r >= 0)
                (void) stream_core_feed(&e->core, preread, preread_len);
        r = r < 0 ? nl_error_set(err, r, "out of memory") : run(e);

        int *fds[] = {&e->proc.stdin_fd, &e->proc.stdout_fd, &e->proc.stderr_fd, &e->proc.exit_fd};
        for (size_t i = 0; i < ELEMENTSOF(fds); i++)
                close_fd(fds[i]);
        stream_core_done(&e->core);
        stream_buf_free(&e->stdin_buf);
        stream_buf_free(&e->ws_message);
        stream_resize_done(&e->resize);
        stream_result_done(&e->result);
        free(e);
        return r;
}
