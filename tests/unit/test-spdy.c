/* SPDX-License-Identifier: Apache-2.0 */
/* SPDY/3.1 framing and the server session (stream/): frames written by spdystream's own framer
 * (github.com/moby/spdystream/spdy v0.5.1, the vector below) parse to what it wrote, whole and
 * byte by byte; encoder -> parser round trips through one zlib stream per direction; the SPDY/3
 * dictionary; caps (control frame size, inflated header blocks, header count) and malformed
 * frames; and the session's stream rules, PING echo, GOAWAY and flow control. */
#include <zlib.h>

#include "stream/stream.h"
#include "test.h"

/* spdystream's Framer.WriteFrame of: SYN_STREAM 1 {streamType: error}, SYN_STREAM 3
 * {streamType: stdout}, SYN_STREAM 5 FIN {X-Two: [a, bc]}, DATA 3 "hello", DATA 1 FIN (empty),
 * PING 1, RST_STREAM 3 CANCEL, GOAWAY 0 OK; header blocks share one zlib stream. */
static const uint8_t go_frames[] = "\x80\x03\x00\x01\x00\x00\x00\x29\x00\x00\x00\x01\x00\x00\x00\x00"
                                   "\x00\x00\x78\xf9\xe3\xc6\xa7\xc2\x62\x60\x60\x60\x04\xa7\xb3\x92"
                                   "\xa2\xd4\xc4\x5c\x68\x51\xc2\x9a\x0a\x0a\x68\x00\x00\x00\x00\xff"
                                   "\xff\x80\x03\x00\x01\x00\x00\x00\x19\x00\x00\x00\x03\x00\x00\x00"
                                   "\x00\x00\x00\xc2\x2a\xc5\x56\x5c\x92\x92\x5f\x5a\x02\x00\x00\x00"
                                   "\xff\xff\x80\x03\x00\x01\x01\x00\x00\x1e\x00\x00\x00\x05\x00\x00"
                                   "\x00\x00\x00\x00\x82\xca\xb1\x56\xe8\x96\x94\xe7\x83\xb2\x48\x22"
                                   "\x43\x52\x32\x00\x00\x00\xff\xff\x00\x00\x00\x03\x00\x00\x00\x05"
                                   "\x68\x65\x6c\x6c\x6f\x00\x00\x00\x01\x01\x00\x00\x00\x80\x03\x00"
                                   "\x06\x00\x00\x00\x04\x00\x00\x00\x01\x80\x03\x00\x03\x00\x00\x00"
                                   "\x08\x00\x00\x00\x03\x00\x00\x00\x05\x80\x03\x00\x07\x00\x00\x00"
                                   "\x08\x00\x00\x00\x00\x00\x00\x00\x00";

/* ==== a recorder of parsed frames ============================================================ */

struct rec {
        enum spdy_type type;
        uint8_t flags;
        uint32_t id, status, ping, delta;
        char hdr[256]; /* "name=value;" with NULs shown as '|' */
        char data[256];
        size_t data_len;
};

struct recs {
        struct rec v[64];
        size_t n;
};

static int record(void *userdata, const struct spdy_frame *f) {
        struct recs *rs = userdata;
        struct rec *r;

        /* chunks of one data frame accumulate in one record */
        if (f->type == SPDY_DATA && rs->n > 0 && rs->v[rs->n - 1].type == SPDY_DATA &&
            rs->v[rs->n - 1].id == f->stream_id && rs->v[rs->n - 1].status == 0)
                r = &rs->v[rs->n - 1];
        else {
                if (rs->n >= ELEMENTSOF(rs->v))
                        return -ENOSPC;
                r = &rs->v[rs->n++];
                *r = (struct rec){.type = f->type, .flags = f->flags, .id = f->stream_id};
        }
        if (f->type == SPDY_DATA) {
                if (r->data_len + f->len < sizeof(r->data)) {
                        memcpy(r->data + r->data_len, f->data, f->len);
                        r->data_len += f->len;
                }
                r->status = f->last; /* closed: the next chunk starts a new record */
                return 0;
        }
        r->status = f->status;
        r->ping = f->ping_id;
        r->delta = f->delta;
        for (size_t i = 0; f->headers && i < f->headers->n; i++) {
                size_t l = strlen(r->hdr);
                snprintf(r->hdr + l, sizeof(r->hdr) - l, "%s=", f->headers->v[i].name);
                for (size_t k = 0; k < f->headers->v[i].value_len; k++) {
                        l = strlen(r->hdr);
                        if (l + 2 < sizeof(r->hdr)) {
                                char c = f->headers->v[i].value[k];
                                r->hdr[l] = c ? c : '|';
                                r->hdr[l + 1] = '\0';
                        }
                }
                l = strlen(r->hdr);
                snprintf(r->hdr + l, sizeof(r->hdr) - l, ";");
        }
        return 0;
}

static int parse_all(const void *data, size_t len, size_t step, struct recs *rs) {
        struct spdy_parser *p = NULL;
        int r = spdy_parser_new(&p);
        const uint8_t *b = data;

        memset(rs, 0, sizeof(*rs));
        if (r < 0)
                return r;
        while (r >= 0 && len > 0) {
                size_t n = step && step < len ? step : len;
                r = spdy_parser_feed(p, b, n, record, rs);
                b += n;
                len -= n;
        }
        spdy_parser_free(p);
        return r;
}

static void check_go_frames(const struct recs *rs) {
        CHECK_INT_EQ(rs->n, 8);
        CHECK_INT_EQ(rs->v[0].type, SPDY_SYN_STREAM);
        CHECK_INT_EQ(rs->v[0].id, 1);
        CHECK_STR_EQ(rs->v[0].hdr, "streamtype=error;");
        CHECK_INT_EQ(rs->v[1].type, SPDY_SYN_STREAM);
        CHECK_INT_EQ(rs->v[1].id, 3);
        CHECK_STR_EQ(rs->v[1].hdr, "streamtype=stdout;");
        CHECK_INT_EQ(rs->v[2].id, 5);
        CHECK_INT_EQ(rs->v[2].flags, SPDY_FLAG_FIN);
        CHECK_STR_EQ(rs->v[2].hdr, "x-two=a|bc;");
        CHECK_INT_EQ(rs->v[3].type, SPDY_DATA);
        CHECK_INT_EQ(rs->v[3].id, 3);
        CHECK_INT_EQ(rs->v[3].data_len, 5);
        CHECK(memcmp(rs->v[3].data, "hello", 5) == 0);
        CHECK_INT_EQ(rs->v[4].type, SPDY_DATA);
        CHECK_INT_EQ(rs->v[4].id, 1);
        CHECK_INT_EQ(rs->v[4].flags, SPDY_FLAG_FIN);
        CHECK_INT_EQ(rs->v[4].data_len, 0);
        CHECK_INT_EQ(rs->v[5].type, SPDY_PING);
        CHECK_INT_EQ(rs->v[5].ping, 1);
        CHECK_INT_EQ(rs->v[6].type, SPDY_RST_STREAM);
        CHECK_INT_EQ(rs->v[6].id, 3);
        CHECK_INT_EQ(rs->v[6].status, SPDY_CANCEL);
        CHECK_INT_EQ(rs->v[7].type, SPDY_GOAWAY);
        CHECK_INT_EQ(rs->v[7].status, SPDY_GOAWAY_OK);
}

TEST(dictionary) {
        size_t len;
        const uint8_t *d = spdy_dictionary(&len);

        CHECK_INT_EQ(len, 1423);
        /* the DICTID in every SPDY/3 peer's zlib header (78 f9 e3 c6 a7 c2 above) */
        CHECK_INT_EQ(adler32(1, d, (uInt) len), 0xe3c6a7c2u);
        CHECK(memcmp(d, "\0\0\0\7options\0\0\0\4head", 19) == 0);
        CHECK(memcmp(d + len - 6, "enq=0.", 6) == 0);
}

TEST(go_frames_whole) {
        struct recs rs;
        CHECK_INT_EQ(parse_all(go_frames, sizeof(go_frames) - 1, 0, &rs), 0);
        check_go_frames(&rs);
}

TEST(go_frames_byte_by_byte) {
        struct recs rs;
        CHECK_INT_EQ(parse_all(go_frames, sizeof(go_frames) - 1, 1, &rs), 0);
        check_go_frames(&rs);
        CHECK_INT_EQ(parse_all(go_frames, sizeof(go_frames) - 1, 7, &rs), 0);
        check_go_frames(&rs);
}

TEST(round_trip) {
        struct spdy_encoder *e = NULL;
        struct stream_buf out = {};
        struct recs rs;
        char big[3000];

        memset(big, 'v', sizeof(big));
        big[sizeof(big) - 1] = '\0';
        struct spdy_header h1[] = {
                {"streamType", (char *) "data", 4},
                {"port", (char *) "8080", 4},
                {"requestID", (char *) "0", 1},
        };
        struct spdy_header h2[] = {{"big", big, sizeof(big) - 1}};
        struct spdy_setting set[] = {{0, SPDY_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20}};

        CHECK_INT_EQ(spdy_encoder_new(&e), 0);
        CHECK_INT_EQ(spdy_encode_syn_stream(e, &out, 1, 0, 2, 0, h1, 3), 0);
        CHECK_INT_EQ(spdy_encode_syn_reply(e, &out, 1, 0, NULL, 0), 0);
        CHECK_INT_EQ(spdy_encode_headers(e, &out, 1, SPDY_FLAG_FIN, h2, 1), 0);
        CHECK_INT_EQ(spdy_encode_syn_stream(e, &out, 3, 1, 0, SPDY_FLAG_UNIDIRECTIONAL, h1, 1), 0);
        CHECK_INT_EQ(spdy_encode_data(&out, 3, SPDY_FLAG_FIN, "xyz", 3), 0);
        CHECK_INT_EQ(spdy_encode_settings(&out, 0, set, 1), 0);
        CHECK_INT_EQ(spdy_encode_window_update(&out, 0, 1000), 0);
        CHECK_INT_EQ(spdy_encode_window_update(&out, 3, 0), -EINVAL);
        CHECK_INT_EQ(spdy_encode_data(&out, 0, 0, "", 0), -EINVAL);
        CHECK_INT_EQ(parse_all(stream_buf_head(&out), stream_buf_size(&out), 0, &rs), 0);
        CHECK_INT_EQ(rs.n, 7);
        CHECK_STR_EQ(rs.v[0].hdr, "streamtype=data;port=8080;requestid=0;");
        CHECK_INT_EQ(rs.v[1].type, SPDY_SYN_REPLY);
        CHECK_STR_EQ(rs.v[1].hdr, "");
        CHECK_INT_EQ(rs.v[2].type, SPDY_HEADERS);
        CHECK_INT_EQ(rs.v[2].flags, SPDY_FLAG_FIN);
        CHECK_INT_EQ(strlen(rs.v[2].hdr), 255); /* cut by the recorder: the block parsed */
        CHECK_INT_EQ(rs.v[3].flags, SPDY_FLAG_UNIDIRECTIONAL);
        CHECK_INT_EQ(rs.v[4].data_len, 3);
        CHECK_INT_EQ(rs.v[5].type, SPDY_SETTINGS);
        CHECK_INT_EQ(rs.v[6].type, SPDY_WINDOW_UPDATE);
        CHECK_INT_EQ(rs.v[6].delta, 1000);
        /* the second and later blocks compress against the first: "streamType" costs little */
        stream_buf_free(&out);
        spdy_encoder_free(e);
}

/* A SYN_STREAM whose block is raw bytes, compressed with the dictionary (or none). */
static void syn_stream_raw(struct stream_buf *out, uint32_t id, const void *block, size_t len, bool dict) {
        z_stream z = {};
        size_t dl;
        uint8_t *comp = malloc(len + 1024);
        uint8_t h[18] = {0x80, 3, 0, 1};

        deflateInit2(&z, 9, Z_DEFLATED, 15, 8, Z_DEFAULT_STRATEGY);
        if (dict)
                deflateSetDictionary(&z, spdy_dictionary(&dl), 1423);
        else
                deflateSetDictionary(&z, (const Bytef *) "not the spdy dictionary", 23);
        z.next_in = (Bytef *) block;
        z.avail_in = (uInt) len;
        z.next_out = comp;
        z.avail_out = (uInt) (len + 1024);
        deflate(&z, Z_SYNC_FLUSH);
        size_t clen = len + 1024 - z.avail_out;
        deflateEnd(&z);
        uint32_t flen = (uint32_t) (10 + clen);
        h[5] = (uint8_t) (flen >> 16);
        h[6] = (uint8_t) (flen >> 8);
        h[7] = (uint8_t) flen;
        h[11] = (uint8_t) id;
        stream_buf_append(out, h, sizeof(h));
        stream_buf_append(out, comp, clen);
        free(comp);
}

static int parse_buf(struct stream_buf *b) {
        struct recs rs;
        int r = parse_all(stream_buf_head(b), stream_buf_size(b), 0, &rs);
        stream_buf_free(b);
        return r;
}

TEST(limits_and_malformed) {
        struct stream_buf b = {};

        /* a control frame over the cap: refused from its length alone */
        stream_buf_append(&b, "\x80\x03\x00\x01\x00\x01\x00\x01", 8);
        CHECK_INT_EQ(parse_buf(&b), -EMSGSIZE);

        /* a zlib bomb: 1 MiB of header value from a few KiB on the wire */
        size_t big = 1024 * 1024 + 16;
        uint8_t *blk = calloc(1, big);
        blk[3] = 1;
        blk[7] = 1;
        blk[8] = 'a';
        blk[9] = 0x00;
        blk[10] = 0x10;
        syn_stream_raw(&b, 1, blk, big, true);
        CHECK(stream_buf_size(&b) < SPDY_CONTROL_MAX);
        CHECK_INT_EQ(parse_buf(&b), -EMSGSIZE);
        free(blk);

        /* 65 headers */
        struct stream_buf raw = {};
        stream_buf_append(&raw, "\0\0\0\x41", 4);
        for (int i = 0; i < 65; i++) {
                char name[8];
                snprintf(name, sizeof(name), "h%02d", i);
                stream_buf_append(&raw, "\0\0\0\3", 4);
                stream_buf_append(&raw, name, 3);
                stream_buf_append(&raw, "\0\0\0\0", 4);
        }
        syn_stream_raw(&b, 1, stream_buf_head(&raw), stream_buf_size(&raw), true);
        CHECK_INT_EQ(parse_buf(&b), -EMSGSIZE);
        stream_buf_free(&raw);

        /* uppercase and duplicate names, trailing bytes, a length past the block */
        syn_stream_raw(&b, 1, "\0\0\0\1\0\0\0\1A\0\0\0\0", 13, true);
        CHECK_INT_EQ(parse_buf(&b), -EPROTO);
        syn_stream_raw(&b, 1, "\0\0\0\2\0\0\0\1a\0\0\0\0\0\0\0\1a\0\0\0\0", 22, true);
        CHECK_INT_EQ(parse_buf(&b), -EPROTO);
        syn_stream_raw(&b, 1, "\0\0\0\1\0\0\0\1a\0\0\0\0X", 14, true);
        CHECK_INT_EQ(parse_buf(&b), -EPROTO);
        syn_stream_raw(&b, 1, "\0\0\0\1\0\0\0\x09a\0\0\0\0", 13, true);
        CHECK_INT_EQ(parse_buf(&b), -EPROTO);
        /* a header spdystream refuses in requests */
        syn_stream_raw(&b, 1, "\0\0\0\1\0\0\0\4host\0\0\0\1x", 17, true);
        CHECK_INT_EQ(parse_buf(&b), -EPROTO);
        /* another dictionary */
        syn_stream_raw(&b, 1, "\0\0\0\0", 4, false);
        CHECK_INT_EQ(parse_buf(&b), -EPROTO);
        /* a good one parses */
        syn_stream_raw(&b, 1, "\0\0\0\1\0\0\0\1a\0\0\0\1b", 14, true);
        CHECK_INT_EQ(parse_buf(&b), 0);

        /* fixed-size frames with other sizes, zero ids, other versions */
        stream_buf_append(&b, "\x80\x03\x00\x03\x00\x00\x00\x04\x00\x00\x00\x01", 12);
        CHECK_INT_EQ(parse_buf(&b), -EPROTO);
        stream_buf_append(&b, "\x80\x03\x00\x03\x00\x00\x00\x08\x00\x00\x00\x00\x00\x00\x00\x05", 16);
        CHECK_INT_EQ(parse_buf(&b), -EPROTO);
        stream_buf_append(&b, "\x80\x03\x00\x06\x00\x00\x00\x04\x00\x00\x00\x00", 12);
        CHECK_INT_EQ(parse_buf(&b), -EPROTO);
        stream_buf_append(&b, "\x80\x02\x00\x06\x00\x00\x00\x04\x00\x00\x00\x01", 12);
        CHECK_INT_EQ(parse_buf(&b), -EPROTO);
        stream_buf_append(&b, "\x00\x00\x00\x00\x00\x00\x00\x00", 8);
        CHECK_INT_EQ(parse_buf(&b), -EPROTO);
        stream_buf_append(&b, "\x80\x03\x00\x04\x00\x00\x00\x0c\x00\x00\x00\x02\0\0\0\7\0\0\0\1", 20);
        CHECK_INT_EQ(parse_buf(&b), -EPROTO);
        /* an unknown control type is skipped */
        stream_buf_append(&b, "\x80\x03\x00\x0a\x00\x00\x00\x02zz\x80\x03\x00\x06\x00\x00\x00\x04\0\0\0\1",
                          22);
        CHECK_INT_EQ(parse_buf(&b), 0);
}

/* ==== the session ============================================================================ */

struct app {
        char log[2048];
        bool reply;
};

static int app_event(void *userdata, const struct spdy_event *ev) {
        struct app *a = userdata;
        size_t l = strlen(a->log);
        switch (ev->type) {
        case SPDY_EVENT_OPEN:
                snprintf(a->log + l, sizeof(a->log) - l, "open %u %s%s;", ev->stream_id,
                         strempty(spdy_headers_get(ev->headers, "streamType")), ev->fin ? " fin" : "");
                break;
        case SPDY_EVENT_DATA:
                snprintf(a->log + l, sizeof(a->log) - l, "data %u %.*s;", ev->stream_id, (int) ev->len,
                         (const char *) ev->data);
                break;
        case SPDY_EVENT_FIN:
                snprintf(a->log + l, sizeof(a->log) - l, "fin %u;", ev->stream_id);
                break;
        case SPDY_EVENT_RESET:
                snprintf(a->log + l, sizeof(a->log) - l, "reset %u %u;", ev->stream_id, ev->status);
                break;
        case SPDY_EVENT_GOAWAY:
                snprintf(a->log + l, sizeof(a->log) - l, "goaway;");
                break;
        }
        return 0;
}

/* The client's side: its own encoder, and a parser for what the server sends. */
struct client {
        struct spdy_encoder *enc;
        struct stream_buf out;
};

static void client_syn(struct client *c, uint32_t id, const char *type, uint8_t flags) {
        struct spdy_header h = {"streamtype", (char *) type, strlen(type)};
        spdy_encode_syn_stream(c->enc, &c->out, id, 0, 0, flags, &h, 1);
}

static int feed_client(struct spdy_session *s, struct client *c) {
        int r = spdy_session_feed(s, stream_buf_head(&c->out), stream_buf_size(&c->out));
        stream_buf_clear(&c->out);
        return r;
}

static void server_frames(struct spdy_session *s, struct recs *rs) {
        struct stream_buf *o = spdy_session_output(s);
        CHECK_INT_EQ(parse_all(stream_buf_head(o), stream_buf_size(o), 0, rs), 0);
        stream_buf_clear(o);
}

TEST(session_streams) {
        struct app a = {};
        struct spdy_session *s = NULL;
        struct client c = {};
        struct recs rs;

        CHECK_INT_EQ(spdy_session_new(3, app_event, &a, &s), 0);
        CHECK_INT_EQ(spdy_encoder_new(&c.enc), 0);
        client_syn(&c, 1, "error", 0);
        client_syn(&c, 3, "stdin", 0);
        client_syn(&c, 4, "even", 0);  /* a server id: refused */
        client_syn(&c, 3, "again", 0); /* not increasing */
        client_syn(&c, 7, "stdout", SPDY_FLAG_FIN);
        client_syn(&c, 9, "surplus", 0); /* over the cap of 3 */
        CHECK_INT_EQ(feed_client(s, &c), 0);
        CHECK_STR_EQ(a.log, "open 1 error;open 3 stdin;open 7 stdout fin;");
        CHECK_INT_EQ(spdy_session_n_streams(s), 3);
        server_frames(s, &rs);
        CHECK_INT_EQ(rs.n, 3);
        CHECK_INT_EQ(rs.v[0].type, SPDY_RST_STREAM);
        CHECK_INT_EQ(rs.v[0].id, 4);
        CHECK_INT_EQ(rs.v[0].status, SPDY_PROTOCOL_ERROR);
        CHECK_INT_EQ(rs.v[1].id, 3);
        CHECK_INT_EQ(rs.v[1].status, SPDY_PROTOCOL_ERROR);
        CHECK_INT_EQ(rs.v[2].id, 9);
        CHECK_INT_EQ(rs.v[2].status, SPDY_REFUSED_STREAM);

        /* no data before the reply; then data, FIN both ways drops the stream */
        CHECK_INT_EQ(spdy_session_send(s, 1, "x", 1, false), -EPIPE);
        CHECK_INT_EQ(spdy_session_reply(s, 1), 0);
        CHECK_INT_EQ(spdy_session_reply(s, 3), 0);
        CHECK_INT_EQ(spdy_session_reply(s, 7), 0);
        CHECK_INT_EQ(spdy_session_reply(s, 99), -ENOENT);
        CHECK_INT_EQ(spdy_session_send(s, 1, "status", 6, true), 0);
        CHECK_INT_EQ(spdy_session_send(s, 1, "more", 4, false), -EPIPE);
        CHECK_INT_EQ(spdy_session_send(s, 7, "out", 3, true), 0);
        CHECK(!spdy_session_stream_exists(s, 7)); /* the client had sent FIN with its SYN_STREAM */
        server_frames(s, &rs);
        CHECK_INT_EQ(rs.n, 5);
        CHECK_INT_EQ(rs.v[0].type, SPDY_SYN_REPLY);
        CHECK_INT_EQ(rs.v[3].type, SPDY_DATA);
        CHECK_INT_EQ(rs.v[3].flags, SPDY_FLAG_FIN);
        CHECK_INT_EQ(rs.v[3].data_len, 6);

        a.log[0] = '\0';
        spdy_encode_data(&c.out, 3, 0, "in", 2);
        spdy_encode_data(&c.out, 3, SPDY_FLAG_FIN, "", 0);
        spdy_encode_data(&c.out, 3, 0, "late", 4); /* after FIN: dropped */
        spdy_encode_data(&c.out, 1, SPDY_FLAG_FIN, "", 0);
        spdy_encode_data(&c.out, 5, 0, "nobody", 6);
        CHECK_INT_EQ(feed_client(s, &c), 0);
        CHECK_STR_EQ(a.log, "data 3 in;fin 3;fin 1;");
        CHECK(!spdy_session_stream_exists(s, 1));
        CHECK(spdy_session_stream_exists(s, 3));

        /* ping echo, reset, goaway: no stream after it */
        a.log[0] = '\0';
        spdy_encode_ping(&c.out, 5);
        spdy_encode_ping(&c.out, 6);
        spdy_encode_rst_stream(&c.out, 3, SPDY_CANCEL);
        spdy_encode_goaway(&c.out, 0, SPDY_GOAWAY_OK);
        client_syn(&c, 11, "late", 0);
        CHECK_INT_EQ(feed_client(s, &c), 0);
        CHECK_STR_EQ(a.log, "reset 3 5;goaway;");
        CHECK_INT_EQ(spdy_session_n_streams(s), 0);
        CHECK_INT_EQ(spdy_session_goaway(s), 0);
        CHECK_INT_EQ(spdy_session_goaway(s), 0);
        server_frames(s, &rs);
        CHECK_INT_EQ(rs.n, 2);
        CHECK_INT_EQ(rs.v[0].type, SPDY_PING);
        CHECK_INT_EQ(rs.v[0].ping, 5);
        CHECK_INT_EQ(rs.v[1].type, SPDY_GOAWAY);
        CHECK_INT_EQ(rs.v[1].id, 7);

        spdy_encoder_free(c.enc);
        stream_buf_free(&c.out);
        spdy_session_free(s);
}

TEST(session_protocol_error) {
        struct app a = {};
        struct spdy_session *s = NULL;
        struct recs rs;

        CHECK_INT_EQ(spdy_session_new(4, app_event, &a, &s), 0);
        CHECK_INT_EQ(spdy_session_feed(s, "\x80\x03\x00\x06\x00\x00\x00\x05\0\0\0\1\0", 13), -EPROTO);
        CHECK_INT_EQ(spdy_session_feed(s, "", 0), -EPROTO); /* sticky */
        server_frames(s, &rs);
        CHECK_INT_EQ(rs.n, 1);
        CHECK_INT_EQ(rs.v[0].type, SPDY_GOAWAY);
        CHECK_INT_EQ(rs.v[0].status, SPDY_GOAWAY_PROTOCOL_ERROR);
        spdy_session_free(s);
}

TEST(session_flow_control) {
        struct app a = {};
        struct spdy_session *s = NULL;
        struct client c = {};
        struct recs rs;
        static char blob[70000];

        CHECK_INT_EQ(spdy_session_new(4, app_event, &a, &s), 0);
        CHECK_INT_EQ(spdy_encoder_new(&c.enc), 0);
        client_syn(&c, 1, "stdout", 0);
        CHECK_INT_EQ(feed_client(s, &c), 0);
        CHECK_INT_EQ(spdy_session_send_window(s, 1), 0); /* not replied yet */
        CHECK_INT_EQ(spdy_session_reply(s, 1), 0);
        /* spdystream never sends WINDOW_UPDATE: no window on our side */
        CHECK(spdy_session_send_window(s, 1) == SIZE_MAX);
        CHECK_INT_EQ(spdy_session_send(s, 1, blob, sizeof(blob), false), 0);

        /* received data acknowledged once half a window is consumed: stream and session */
        CHECK_INT_EQ(spdy_session_consumed(s, 1, 20000), 0);
        server_frames(s, &rs);
        CHECK_INT_EQ(rs.n, 2); /* the reply and the data: nothing due yet */
        CHECK_INT_EQ(spdy_session_consumed(s, 1, 20000), 0);
        server_frames(s, &rs);
        CHECK_INT_EQ(rs.n, 2);
        CHECK_INT_EQ(rs.v[0].type, SPDY_WINDOW_UPDATE);
        CHECK_INT_EQ(rs.v[0].id, 1);
        CHECK_INT_EQ(rs.v[0].delta, 40000);
        CHECK_INT_EQ(rs.v[1].id, 0);
        CHECK_INT_EQ(rs.v[1].delta, 40000);

        /* a client that speaks flow control: its windows bound what we send */
        spdy_encode_window_update(&c.out, 1, 100);
        CHECK_INT_EQ(feed_client(s, &c), 0);
        /* the stream's window: 64 KiB - 70000 + 100 < 0 */
        CHECK_INT_EQ(spdy_session_send_window(s, 1), 0);
        CHECK_INT_EQ(spdy_session_send(s, 1, "x", 1, false), -ENOBUFS);
        spdy_encode_window_update(&c.out, 1, 10000);
        spdy_encode_window_update(&c.out, 0, 20000);
        CHECK_INT_EQ(feed_client(s, &c), 0);
        CHECK_INT_EQ(spdy_session_send_window(s, 1), 65536 - 70000 + 10100);
        struct spdy_setting set = {0, SPDY_SETTINGS_INITIAL_WINDOW_SIZE, 65536 + 1000};
        spdy_encode_settings(&c.out, 0, &set, 1);
        CHECK_INT_EQ(feed_client(s, &c), 0);
        CHECK_INT_EQ(spdy_session_send_window(s, 1), 65536 - 70000 + 10100 + 1000);

        spdy_encoder_free(c.enc);
        stream_buf_free(&c.out);
        spdy_session_free(s);
}
