/* SPDX-License-Identifier: Apache-2.0 */
/* The server side of a SPDY/3.1 connection, shaped by its only real peer, spdystream (as
 * k8s.io/streaming's spdy connection uses it):
 *   - client stream ids are odd and increasing (spdystream's validateStreamId); a SYN_STREAM
 *     that breaks this is answered with RST_STREAM(PROTOCOL_ERROR), streams beyond the cap with
 *     RST_STREAM(REFUSED_STREAM);
 *   - a stream is gone when both sides sent FIN, or either reset it; frames for streams that
 *     are gone are dropped, as spdystream drops them;
 *   - PINGs with the client's (odd) ids are echoed;
 *   - after a GOAWAY either way no new stream is accepted;
 *   - flow control: spdystream never sends WINDOW_UPDATE and ignores the ones it gets, so the
 *     send side is bounded by the transport only, unless the client shows it speaks flow
 *     control (a WINDOW_UPDATE or SETTINGS_INITIAL_WINDOW_SIZE), then its windows are obeyed;
 *     the receive side acknowledges consumed data with WINDOW_UPDATE (stream and session, half
 *     a window at a time), which a strict SPDY/3.1 client needs and spdystream ignores. */
#include "internal.h"

struct spdy_stream {
        uint32_t id;
        bool replied;
        bool remote_fin; /* the client half-closed */
        bool local_fin;  /* we half-closed */
        uint32_t unacked;
        int64_t send_window;
};

struct spdy_session {
        struct spdy_parser *parser;
        struct spdy_encoder *encoder;
        struct stream_buf out;
        spdy_event_fn fn;
        void *userdata;
        struct spdy_stream *streams; /* fixed at max_streams: callbacks may add and remove */
        unsigned n_streams, max_streams;
        uint32_t next_client_id; /* the lowest id a new client stream may have */
        uint32_t last_accepted;
        bool goaway_sent, goaway_received;
        bool peer_flow_control;
        int64_t send_window;    /* the session's, SPDY/3.1 */
        int64_t initial_window; /* for new streams */
        uint32_t session_unacked;
        int error;
};

int spdy_session_new(unsigned max_streams, spdy_event_fn fn, void *userdata, struct spdy_session **ret) {
        struct spdy_session *s = calloc(1, sizeof(*s));
        int r;

        if (!s)
                return -ENOMEM;
        s->fn = fn;
        s->userdata = userdata;
        s->max_streams = max_streams ? max_streams : 1;
        s->next_client_id = 1;
        s->send_window = SPDY_INITIAL_WINDOW;
        s->initial_window = SPDY_INITIAL_WINDOW;
        s->streams = calloc(s->max_streams, sizeof(*s->streams));
        if (!s->streams) {
                free(s);
                return -ENOMEM;
        }
        r = spdy_parser_new(&s->parser);
        if (r >= 0)
                r = spdy_encoder_new(&s->encoder);
        if (r < 0) {
                spdy_session_free(s);
                return r;
        }
        *ret = s;
        return 0;
}

struct spdy_session *spdy_session_free(struct spdy_session *s) {
        if (!s)
                return NULL;
        spdy_parser_free(s->parser);
        spdy_encoder_free(s->encoder);
        stream_buf_free(&s->out);
        free(s->streams);
        free(s);
        return NULL;
}

struct stream_buf *spdy_session_output(struct spdy_session *s) {
        return &s->out;
}

static struct spdy_stream *find(const struct spdy_session *s, uint32_t id) {
        for (unsigned i = 0; i < s->n_streams; i++)
                if (s->streams[i].id == id)
                        return &s->streams[i];
        return NULL;
}

static void drop(struct spdy_session *s, struct spdy_stream *st) {
        size_t i = (size_t) (st - s->streams);
        s->streams[i] = s->streams[--s->n_streams];
}

/* Both sides finished: the stream is gone. */
static void maybe_drop(struct spdy_session *s, uint32_t id) {
        struct spdy_stream *st = find(s, id);
        if (st && st->remote_fin && st->local_fin)
                drop(s, st);
}

bool spdy_session_stream_exists(const struct spdy_session *s, uint32_t id) {
        return find(s, id) != NULL;
}

unsigned spdy_session_n_streams(const struct spdy_session *s) {
        return s->n_streams;
}

static int emit(struct spdy_session *s, const struct spdy_event *ev) {
        return s->fn ? s->fn(s->userdata, ev) : 0;
}

static int on_syn_stream(struct spdy_session *s, const struct spdy_frame *f) {
        uint32_t id = f->stream_id;

        if (s->goaway_sent || s->goaway_received)
                return 0; /* spdystream ignores new streams once gone away */
        if (id % 2 == 0 || id < s->next_client_id)
                return spdy_encode_rst_stream(&s->out, id, SPDY_PROTOCOL_ERROR);
        s->next_client_id = id + 2;
        if (s->n_streams >= s->max_streams)
                return spdy_encode_rst_stream(&s->out, id, SPDY_REFUSED_STREAM);

        s->streams[s->n_streams++] = (struct spdy_stream){
                .id = id,
                .remote_fin = f->flags & SPDY_FLAG_FIN,
                .local_fin = f->flags & SPDY_FLAG_UNIDIRECTIONAL,
                .send_window = s->initial_window,
        };
        s->last_accepted = id;
        return emit(s, &(struct spdy_event){
                               .type = SPDY_EVENT_OPEN,
                               .stream_id = id,
                               .headers = f->headers,
                               .fin = f->flags & SPDY_FLAG_FIN,
                       });
}

static int remote_fin(struct spdy_session *s, uint32_t id) {
        struct spdy_stream *st = find(s, id);
        int r;

        if (!st || st->remote_fin)
                return 0;
        st->remote_fin = true;
        r = emit(s, &(struct spdy_event){.type = SPDY_EVENT_FIN, .stream_id = id});
        maybe_drop(s, id);
        return r;
}

static int on_data(struct spdy_session *s, const struct spdy_frame *f) {
        struct spdy_stream *st = find(s, f->stream_id);
        int r = 0;

        if (!st || st->remote_fin) {
                /* dropped, as spdystream drops them; still counted against the session window */
                if (f->len > 0)
                        r = spdy_session_consumed(s, 0, f->len);
                return r;
        }
        if (f->len > 0)
                r = emit(s, &(struct spdy_event){
                                    .type = SPDY_EVENT_DATA,
                                    .stream_id = f->stream_id,
                                    .data = f->data,
                                    .len = f->len,
                            });
        if (r >= 0 && f->last && (f->flags & SPDY_FLAG_FIN))
                r = remote_fin(s, f->stream_id);
        return r;
}

static int on_settings(struct spdy_session *s, const struct spdy_frame *f) {
        for (size_t i = 0; i < f->n_settings; i++) {
                if (f->settings[i].id != SPDY_SETTINGS_INITIAL_WINDOW_SIZE)
                        continue;
                if (f->settings[i].value > 0x7fffffffu)
                        return -EPROTO;
                int64_t diff = (int64_t) f->settings[i].value - s->initial_window;
                s->initial_window = f->settings[i].value;
                s->peer_flow_control = true;
                for (unsigned k = 0; k < s->n_streams; k++)
                        s->streams[k].send_window += diff;
        }
        return 0;
}

static int on_frame(void *userdata, const struct spdy_frame *f) {
        struct spdy_session *s = userdata;
        struct spdy_stream *st;

        switch (f->type) {
        case SPDY_SYN_STREAM:
                return on_syn_stream(s, f);
        case SPDY_DATA:
                return on_data(s, f);
        case SPDY_RST_STREAM:
                st = find(s, f->stream_id);
                if (!st)
                        return 0;
                drop(s, st);
                return emit(s, &(struct spdy_event){
                                       .type = SPDY_EVENT_RESET,
                                       .stream_id = f->stream_id,
                                       .status = f->status,
                               });
        case SPDY_SETTINGS:
                return on_settings(s, f);
        case SPDY_PING:
                /* the client's pings have odd ids; an even one answers ours (we send none) */
                if (f->ping_id % 2 == 1)
                        return spdy_encode_ping(&s->out, f->ping_id);
                return 0;
        case SPDY_GOAWAY:
                if (s->goaway_received)
                        return 0;
                s->goaway_received = true;
                return emit(s, &(struct spdy_event){.type = SPDY_EVENT_GOAWAY, .status = f->status});
        case SPDY_HEADERS:
                if (f->flags & SPDY_FLAG_FIN)
                        return remote_fin(s, f->stream_id);
                return 0;
        case SPDY_WINDOW_UPDATE:
                s->peer_flow_control = true;
                if (f->stream_id == 0) {
                        s->send_window = MIN(s->send_window + (int64_t) f->delta, (int64_t) 0x7fffffff);
                        return 0;
                }
                st = find(s, f->stream_id);
                if (st)
                        st->send_window = MIN(st->send_window + (int64_t) f->delta, (int64_t) 0x7fffffff);
                return 0;
        case SPDY_SYN_REPLY: /* we open no streams: a reply to nothing, dropped as spdystream does */
        case SPDY_UNKNOWN:
                return 0;
        }
        return 0;
}

int spdy_session_feed(struct spdy_session *s, const void *data, size_t len) {
        int r;

        if (s->error)
                return s->error;
        r = spdy_parser_feed(s->parser, data, len, on_frame, s);
        if (r == -EPROTO || r == -EMSGSIZE) {
                if (!s->goaway_sent) {
                        s->goaway_sent = true;
                        (void) spdy_encode_goaway(&s->out, s->last_accepted, SPDY_GOAWAY_PROTOCOL_ERROR);
                }
                s->error = r;
        } else if (r < 0)
                s->error = r;
        return r;
}

int spdy_session_reply(struct spdy_session *s, uint32_t id) {
        struct spdy_stream *st = find(s, id);

        if (!st)
                return -ENOENT;
        if (st->replied)
                return 0;
        st->replied = true;
        return spdy_encode_syn_reply(s->encoder, &s->out, id, 0, NULL, 0);
}

size_t spdy_session_send_window(const struct spdy_session *s, uint32_t id) {
        const struct spdy_stream *st = find(s, id);

        if (!st || !st->replied || st->local_fin)
                return 0;
        if (!s->peer_flow_control)
                return SIZE_MAX;
        int64_t w = MIN(st->send_window, s->send_window);
        return w > 0 ? (size_t) w : 0;
}

int spdy_session_send(struct spdy_session *s, uint32_t id, const void *data, size_t len, bool fin) {
        struct spdy_stream *st = find(s, id);
        const uint8_t *p = data;
        int r;

        if (!st)
                return -ENOENT;
        if (!st->replied || st->local_fin)
                return -EPIPE;
        /* counted always, so the windows are right if the client turns out to speak flow control */
        if (s->peer_flow_control && (int64_t) len > MIN(st->send_window, s->send_window))
                return -ENOBUFS;
        st->send_window -= (int64_t) len;
        s->send_window -= (int64_t) len;
        do {
                size_t n = MIN(len, (size_t) SPDY_DATA_MAX);
                r = spdy_encode_data(&s->out, id, fin && n == len ? SPDY_FLAG_FIN : 0, p, n);
                if (r < 0)
                        return r;
                if (n > 0) /* data may be NULL for a bare FIN */
                        p += n;
                len -= n;
        } while (len > 0);
        if (fin) {
                st->local_fin = true;
                maybe_drop(s, id);
        }
        return 0;
}

int spdy_session_reset(struct spdy_session *s, uint32_t id, uint32_t status) {
        struct spdy_stream *st = find(s, id);

        if (!st)
                return -ENOENT;
        drop(s, st);
        return spdy_encode_rst_stream(&s->out, id, status);
}

int spdy_session_consumed(struct spdy_session *s, uint32_t id, size_t n) {
        struct spdy_stream *st = id ? find(s, id) : NULL;
        const uint32_t due = SPDY_INITIAL_WINDOW / 2;
        int r = 0;

        n = MIN(n, (size_t) SPDY_INITIAL_WINDOW);
        if (st && !st->remote_fin) {
                st->unacked += (uint32_t) n;
                if (st->unacked >= due) {
                        r = spdy_encode_window_update(&s->out, id, st->unacked);
                        st->unacked = 0;
                }
        }
        s->session_unacked += (uint32_t) n;
        if (r >= 0 && s->session_unacked >= due) {
                r = spdy_encode_window_update(&s->out, 0, s->session_unacked);
                s->session_unacked = 0;
        }
        return r;
}

int spdy_session_goaway(struct spdy_session *s) {
        if (s->goaway_sent)
                return 0;
        s->goaway_sent = true;
        return spdy_encode_goaway(&s->out, s->last_accepted, SPDY_GOAWAY_OK);
}
