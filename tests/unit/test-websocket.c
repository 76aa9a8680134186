/* SPDX-License-Identifier: Apache-2.0 */
/* WebSocket framing and the server session (stream/): the RFC 6455 accept key of its own
 * example, masked client frames of every length encoding, fragmentation with control frames in
 * between, ping/pong, the close handshake, and the failures (unmasked, RSV bits, bad opcodes,
 * oversized control frames, stray continuations, message cap). */
#include "stream/stream.h"
#include "test.h"

static const uint8_t MASK[4] = {0x37, 0xfa, 0x21, 0x3d};

struct seen {
        char log[4096];
        size_t data_len;
        char data[300000];
};

static int on_event(void *userdata, const struct ws_event *ev) {
        struct seen *s = userdata;
        size_t l = strlen(s->log);
        switch (ev->type) {
        case WS_EVENT_MESSAGE_START:
                snprintf(s->log + l, sizeof(s->log) - l, "start %d;", ev->opcode);
                break;
        case WS_EVENT_MESSAGE_DATA:
                if (s->data_len + ev->len <= sizeof(s->data)) {
                        memcpy(s->data + s->data_len, ev->data, ev->len);
                        s->data_len += ev->len;
                }
                break;
        case WS_EVENT_MESSAGE_END:
                snprintf(s->log + l, sizeof(s->log) - l, "end %zu;", s->data_len);
                break;
        case WS_EVENT_CLOSE:
                snprintf(s->log + l, sizeof(s->log) - l, "close %u;", ev->close_code);
                break;
        }
        return 0;
}

/* What the server wrote: its frames, unmasked, as "opcode:len" or the payload for short ones. */
static void server_frames(struct ws_session *s, char *ret, size_t size) {
        struct stream_buf *o = ws_session_output(s);
        const uint8_t *p = stream_buf_head(o);
        size_t n = stream_buf_size(o), at = 0;

        ret[0] = '\0';
        while (at + 2 <= n) {
                CHECK(!(p[at + 1] & 0x80)); /* servers never mask */
                uint64_t len = p[at + 1] & 0x7f;
                size_t hl = 2;
                if (len == 126) {
                        len = (uint64_t) p[at + 2] << 8 | p[at + 3];
                        hl = 4;
                } else if (len == 127) {
                        len = 0;
                        for (int i = 0; i < 8; i++)
                                len = len << 8 | p[at + 2 + i];
                        hl = 10;
                }
                size_t l = strlen(ret);
                snprintf(ret + l, size - l, "%x:%llu", p[at] & 0x0f, (unsigned long long) len);
                if ((p[at] & 0x0f) == WS_CLOSE && len >= 2) {
                        l = strlen(ret);
                        snprintf(ret + l, size - l, ":%u", p[at + hl] << 8 | p[at + hl + 1]);
                }
                l = strlen(ret);
                snprintf(ret + l, size - l, "%s;", p[at] & 0x80 ? "" : "+");
                at += hl + (size_t) len;
        }
        CHECK_INT_EQ(at, n);
        stream_buf_clear(o);
}

TEST(accept_key) {
        char key[WS_ACCEPT_LEN + 1];
        /* RFC 6455 section 1.3 */
        CHECK_INT_EQ(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", key), 0);
        CHECK_STR_EQ(key, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        CHECK_INT_EQ(ws_accept_key("", key), -EINVAL);
}

TEST(lengths_and_masking) {
        static const size_t lens[] = {0, 1, 125, 126, 127, 65535, 65536, 200000};
        struct stream_buf in = {};
        static uint8_t payload[200000];
        struct seen *seen = calloc(1, sizeof(*seen));
        struct ws_session *s = NULL;

        for (size_t i = 0; i < sizeof(payload); i++)
                payload[i] = (uint8_t) (i * 7 + 3);
        for (size_t i = 0; i < ELEMENTSOF(lens); i++) {
                memset(seen, 0, sizeof(*seen));
                CHECK_INT_EQ(ws_session_new(0, on_event, seen, &s), 0);
                CHECK_INT_EQ(ws_encode_frame(&in, WS_BINARY, true, MASK, "\x01", 1, payload, lens[i]), 0);
                /* fed in odd pieces */
                const uint8_t *p = stream_buf_head(&in);
                size_t n = stream_buf_size(&in);
                for (size_t at = 0; at < n; at += 333)
                        CHECK_INT_EQ(ws_session_feed(s, p + at, n - at < 333 ? n - at : 333), 0);
                char want[64];
                snprintf(want, sizeof(want), "start 2;end %zu;", lens[i] + 1);
                CHECK_STR_EQ(seen->log, want);
                CHECK_INT_EQ(seen->data_len, lens[i] + 1);
                CHECK(seen->data[0] == 1 && memcmp(seen->data + 1, payload, lens[i]) == 0);
                stream_buf_clear(&in);
                s = ws_session_free(s);
        }
        stream_buf_free(&in);
        free(seen);
}

TEST(fragments_and_control) {
        struct stream_buf in = {};
        struct seen *seen = calloc(1, sizeof(*seen));
        struct ws_session *s = NULL;
        char out[512];

        CHECK_INT_EQ(ws_session_new(0, on_event, seen, &s), 0);
        ws_encode_frame(&in, WS_TEXT, false, MASK, "0", 1, "aGVs", 4);
        ws_encode_frame(&in, WS_PING, true, MASK, "hb", 2, NULL, 0); /* between fragments */
        ws_encode_frame(&in, WS_CONTINUATION, false, MASK, NULL, 0, "bG8=", 4);
        ws_encode_frame(&in, WS_PONG, true, MASK, NULL, 0, NULL, 0);
        ws_encode_frame(&in, WS_CONTINUATION, true, MASK, NULL, 0, "", 0);
        ws_encode_frame(&in, WS_BINARY, true, MASK, NULL, 0, "", 0);
        CHECK_INT_EQ(ws_session_feed(s, stream_buf_head(&in), stream_buf_size(&in)), 0);
        CHECK_STR_EQ(seen->log, "start 1;end 9;start 2;end 9;");
        CHECK(memcmp(seen->data, "0aGVsbG8=", 9) == 0);
        server_frames(s, out, sizeof(out));
        CHECK_STR_EQ(out, "a:2;"); /* the pong, with the ping's payload */
        stream_buf_clear(&in);

        /* sends, then the peer's close: answered with its code, then nothing more */
        CHECK_INT_EQ(ws_session_send(s, WS_BINARY, "\x01", 1, "out", 3), 0);
        ws_encode_frame(&in, WS_CLOSE, true, MASK, "\x03\xe8", 2, "bye", 3);
        ws_encode_frame(&in, WS_BINARY, true, MASK, NULL, 0, "after", 5);
        CHECK_INT_EQ(ws_session_feed(s, stream_buf_head(&in), stream_buf_size(&in)), 0);
        CHECK_STR_EQ(seen->log, "start 1;end 9;start 2;end 9;close 1000;");
        CHECK(ws_session_close_received(s) && ws_session_close_sent(s));
        server_frames(s, out, sizeof(out));
        CHECK_STR_EQ(out, "2:4;8:2:1000;");
        CHECK_INT_EQ(ws_session_send(s, WS_BINARY, NULL, 0, "x", 1), -EPIPE);
        stream_buf_free(&in);
        ws_session_free(s);

        /* our close first; the peer's answer without a code */
        memset(seen, 0, sizeof(*seen));
        CHECK_INT_EQ(ws_session_new(0, on_event, seen, &s), 0);
        CHECK_INT_EQ(ws_session_close(s, WS_CLOSE_NORMAL, "done"), 0);
        CHECK_INT_EQ(ws_session_close(s, WS_CLOSE_NORMAL, "again"), 0);
        ws_encode_frame(&in, WS_CLOSE, true, MASK, NULL, 0, NULL, 0);
        CHECK_INT_EQ(ws_session_feed(s, stream_buf_head(&in), stream_buf_size(&in)), 0);
        CHECK_STR_EQ(seen->log, "close 1005;");
        server_frames(s, out, sizeof(out));
        CHECK_STR_EQ(out, "8:6:1000;");
        stream_buf_free(&in);
        ws_session_free(s);
        free(seen);
}

/* Feed one frame to a new session: the feed's result and what the server answered. */
static int one(const void *frame, size_t len, uint64_t cap, char *out, size_t size) {
        struct seen *seen = calloc(1, sizeof(*seen));
        struct ws_session *s = NULL;
        int r = ws_session_new(cap, on_event, seen, &s);
        if (r >= 0)
                r = ws_session_feed(s, frame, len);
        server_frames(s, out, size);
        ws_session_free(s);
        free(seen);
        return r;
}

TEST(failures) {
        struct stream_buf in = {};
        char out[256];
        uint8_t big[200] = {};

        /* unmasked client frame */
        CHECK_INT_EQ(one("\x82\x01x", 3, 0, out, sizeof(out)), -EPROTO);
        CHECK_STR_EQ(out, "8:2:1002;");
        /* RSV1 (no compression was agreed) */
        CHECK_INT_EQ(one("\xc2\x80\0\0\0\0", 6, 0, out, sizeof(out)), -EPROTO);
        /* reserved opcode */
        CHECK_INT_EQ(one("\x83\x80\0\0\0\0", 6, 0, out, sizeof(out)), -EPROTO);
        /* fragmented ping, oversized ping, one-byte close, bad close code */
        CHECK_INT_EQ(one("\x09\x80\0\0\0\0", 6, 0, out, sizeof(out)), -EPROTO);
        ws_encode_frame(&in, WS_PING, true, MASK, big, 126, NULL, 0);
        CHECK_INT_EQ(one(stream_buf_head(&in), stream_buf_size(&in), 0, out, sizeof(out)), -EPROTO);
        stream_buf_clear(&in);
        CHECK_INT_EQ(one("\x88\x81\0\0\0\0\x03", 7, 0, out, sizeof(out)), -EPROTO);
        CHECK_INT_EQ(one("\x88\x82\0\0\0\0\x03\xed", 8, 0, out, sizeof(out)), -EPROTO); /* 1005 */
        /* continuation with no message, a new message inside one */
        CHECK_INT_EQ(one("\x80\x80\0\0\0\0", 6, 0, out, sizeof(out)), -EPROTO);
        CHECK_INT_EQ(one("\x02\x80\0\0\0\0\x02\x80\0\0\0\0", 12, 0, out, sizeof(out)), -EPROTO);
        /* a 64-bit length with the top bit set */
        CHECK_INT_EQ(one("\x82\xff\x80\0\0\0\0\0\0\0\0\0\0\0", 14, 0, out, sizeof(out)), -EPROTO);
        /* over the message cap, across fragments */
        ws_encode_frame(&in, WS_BINARY, false, MASK, big, 100, NULL, 0);
        ws_encode_frame(&in, WS_CONTINUATION, true, MASK, big, 100, NULL, 0);
        CHECK_INT_EQ(one(stream_buf_head(&in), stream_buf_size(&in), 150, out, sizeof(out)), -EMSGSIZE);
        CHECK_STR_EQ(out, "8:2:1009;");
        CHECK_INT_EQ(one(stream_buf_head(&in), stream_buf_size(&in), 200, out, sizeof(out)), 0);
        stream_buf_free(&in);
}
