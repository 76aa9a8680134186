/* SPDX-License-Identifier: Apache-2.0 */
/* SPDY/3.1 (stream/): the input as a client's byte stream, through the frame parser alone (in
 * two pieces, split where the first byte says) and through the server session with an
 * application that accepts, echoes, half-closes, resets and acknowledges as the exec and
 * port-forward sessions do. Whatever the client sent, what the session writes back must parse
 * as SPDY with no error. Then a header block made of the input goes through the encoder and
 * back through a parser unchanged. */
#include <stdio.h>

#include "common/util.h"
#include "stream/stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int check_frame(void *userdata, const struct spdy_frame *f) {
        size_t *budget = userdata;
        if (f->type == SPDY_DATA && f->len > *budget)
                abort(); /* a chunk is never more than was fed */
        if ((f->type == SPDY_SYN_STREAM || f->type == SPDY_SYN_REPLY || f->type == SPDY_HEADERS) &&
            !f->headers)
                abort();
        for (size_t i = 0; f->headers && i < f->headers->n; i++)
                if (!f->headers->v[i].name || !f->headers->v[i].value ||
                    strlen(f->headers->v[i].name) == 0 || f->headers->v[i].value[f->headers->v[i].value_len])
                        abort();
        return 0;
}

struct app {
        struct spdy_session *s;
        unsigned events;
};

static int on_event(void *userdata, const struct spdy_event *ev) {
        struct app *a = userdata;
        const char *type;

        if (++a->events > 10000)
                return -E2BIG;
        switch (ev->type) {
        case SPDY_EVENT_OPEN:
                type = spdy_headers_get(ev->headers, "streamType");
                if (type && streq(type, "reset"))
                        return spdy_session_reset(a->s, ev->stream_id, SPDY_CANCEL);
                return spdy_session_reply(a->s, ev->stream_id);
        case SPDY_EVENT_DATA: {
                int r = spdy_session_consumed(a->s, ev->stream_id, ev->len);
                size_t w = spdy_session_send_window(a->s, ev->stream_id);
                if (r >= 0 && w > 0)
                        r = spdy_session_send(a->s, ev->stream_id, ev->data, ev->len < w ? ev->len : w,
                                              false);
                return r == -EPIPE || r == -ENOENT ? 0 : r;
        }
        case SPDY_EVENT_FIN:
                if (spdy_session_stream_exists(a->s, ev->stream_id)) {
                        int r = spdy_session_send(a->s, ev->stream_id, "bye", 3, true);
                        return r == -EPIPE || r == -ENOBUFS ? 0 : r;
                }
                return 0;
        case SPDY_EVENT_RESET:
                if (spdy_session_stream_exists(a->s, ev->stream_id))
                        abort(); /* a reset stream is gone */
                return 0;
        case SPDY_EVENT_GOAWAY:
                return 0;
        }
        return 0;
}

static void round_trip(const uint8_t *data, size_t size) {
        struct spdy_header h[4] = {};
        char names[4][16];
        size_t n = 0, at = 0;

        while (n < 4 && at < size) {
                size_t vl = data[at] % 64;
                at++;
                if (vl > size - at)
                        vl = size - at;
                snprintf(names[n], sizeof(names[n]), "h%zu", n);
                h[n] = (struct spdy_header){names[n], (char *) data + at, vl};
                at += vl;
                n++;
        }
        struct spdy_encoder *e = NULL;
        struct spdy_parser *p = NULL;
        struct stream_buf out = {};
        if (spdy_encoder_new(&e) < 0 || spdy_parser_new(&p) < 0)
                abort();
        for (int round = 0; round < 2; round++) /* the second block compresses against the first */
                if (spdy_encode_syn_stream(e, &out, 1 + 2 * (uint32_t) round, 0, 0, 0, h, n) < 0)
                        abort();
        size_t budget = stream_buf_size(&out);
        if (spdy_parser_feed(p, stream_buf_head(&out), stream_buf_size(&out), check_frame, &budget) < 0)
                abort();
        stream_buf_free(&out);
        spdy_encoder_free(e);
        spdy_parser_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct spdy_parser *p = NULL;
        size_t split = size ? data[0] % (size + 1) : 0, budget = size;

        if (size > 1024 * 1024)
                return 0;
        /* the parser alone: an error is fine, a crash or a lie is not */
        if (spdy_parser_new(&p) < 0)
                return 0;
        if (spdy_parser_feed(p, data, split, check_frame, &budget) >= 0)
                (void) spdy_parser_feed(p, data + split, size - split, check_frame, &budget);
        spdy_parser_free(p);

        /* the session; what it writes back is well-formed */
        struct app a = {};
        if (spdy_session_new(8, on_event, &a, &a.s) < 0)
                return 0;
        if (spdy_session_feed(a.s, data, split) >= 0)
                (void) spdy_session_feed(a.s, data + split, size - split);
        if (spdy_session_n_streams(a.s) > 8)
                abort();
        (void) spdy_session_goaway(a.s);
        struct stream_buf *o = spdy_session_output(a.s);
        budget = stream_buf_size(o);
        if (spdy_parser_new(&p) < 0)
                abort();
        if (spdy_parser_feed(p, stream_buf_head(o), stream_buf_size(o), check_frame, &budget) < 0)
                abort();
        spdy_parser_free(p);
        spdy_session_free(a.s);

        round_trip(data, size);
        return 0;
}
