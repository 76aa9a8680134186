/* SPDX-License-Identifier: Apache-2.0 */
/* WebSocket (stream/): the input as a client's byte stream through the server session (in two
 * pieces), with sends and a close from the application in between; what the server writes
 * must be well-formed server frames (FIN'd, unmasked, no RSV bits, known opcodes, control
 * frames of at most 125 bytes, lengths that add up). Then the input as a message, masked and
 * fragmented where its bytes say, comes back whole. */
#include "common/util.h"
#include "stream/stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
        struct ws_session *s;
        struct stream_buf msg;
        bool in_message;
        unsigned messages;
};

static int on_event(void *userdata, const struct ws_event *ev) {
        struct seen *z = userdata;

        switch (ev->type) {
        case WS_EVENT_MESSAGE_START:
                if (z->in_message || (ev->opcode != WS_TEXT && ev->opcode != WS_BINARY))
                        abort();
                z->in_message = true;
                stream_buf_clear(&z->msg);
                return 0;
        case WS_EVENT_MESSAGE_DATA:
                if (!z->in_message)
                        abort();
                return stream_buf_size(&z->msg) < 65536 ? stream_buf_append(&z->msg, ev->data, ev->len) : 0;
        case WS_EVENT_MESSAGE_END:
                if (!z->in_message)
                        abort();
                z->in_message = false;
                /* answer like a channel: the message back with a channel byte */
                if (++z->messages % 3 == 0)
                        return ws_session_close(z->s, WS_CLOSE_NORMAL, "enough");
                (void) ws_session_send(z->s, WS_BINARY, "\x01", 1, stream_buf_head(&z->msg),
                                       stream_buf_size(&z->msg));
                return 0;
        case WS_EVENT_CLOSE:
                if (!ws_session_close_received(z->s) || !ws_session_close_sent(z->s))
                        abort();
                return 0;
        }
        return 0;
}

static void check_server_frames(const struct stream_buf *b) {
        const uint8_t *p = stream_buf_head(b);
        size_t n = stream_buf_size(b), at = 0;

        while (at < n) {
                if (n - at < 2)
                        abort();
                uint8_t op = p[at] & 0x0f;
                if (!(p[at] & 0x80) || (p[at] & 0x70) || (p[at + 1] & 0x80))
                        abort();
                if (op != WS_TEXT && op != WS_BINARY && op != WS_CLOSE && op != WS_PING && op != WS_PONG)
                        abort();
                uint64_t len = p[at + 1] & 0x7f;
                size_t hl = 2;
                if (len == 126) {
                        if (n - at < 4)
                                abort();
                        len = (uint64_t) p[at + 2] << 8 | p[at + 3];
                        hl = 4;
                } else if (len == 127) {
                        if (n - at < 10)
                                abort();
                        len = 0;
                        for (int i = 0; i < 8; i++)
                                len = len << 8 | p[at + 2 + i];
                        hl = 10;
                }
                if (op >= WS_CLOSE && len > WS_CONTROL_MAX)
                        abort();
                if (len > n - at - hl)
                        abort();
                at += hl + (size_t) len;
        }
}

static void round_trip(const uint8_t *data, size_t size) {
        static const uint8_t mask[4] = {0xa1, 0x00, 0x5f, 0xee};
        struct stream_buf in = {};
        struct seen z = {};
        size_t at = 0;
        bool first = true;

        if (ws_session_new(0, on_event, &z, &z.s) < 0)
                return;
        do {
                size_t n = size - at < 300 ? size - at : 1 + (size_t) (data[at] % 300);
                if (n > size - at)
                        n = size - at;
                bool fin = at + n == size;
                if (ws_encode_frame(&in, first ? WS_BINARY : WS_CONTINUATION, fin, mask, NULL, 0, data + at,
                                    n) < 0)
                        abort();
                if (!fin && data[at] % 7 == 0 &&
                    ws_encode_frame(&in, WS_PING, true, mask, "p", 1, NULL, 0) < 0)
                        abort();
                first = false;
                at += n;
        } while (at < size);
        if (ws_session_feed(z.s, stream_buf_head(&in), stream_buf_size(&in)) < 0)
                abort();
        if (z.messages != 1 ||
            (size < 65536 && (stream_buf_size(&z.msg) != size ||
                              (size && memcmp(stream_buf_head(&z.msg), data, size) != 0))))
                abort();
        check_server_frames(ws_session_output(z.s));
        stream_buf_free(&in);
        stream_buf_free(&z.msg);
        ws_session_free(z.s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct seen z = {};
        size_t split = size ? data[0] % (size + 1) : 0;

        if (size > 1024 * 1024)
                return 0;
        if (ws_session_new(size % 2 ? 4096 : 0, on_event, &z, &z.s) < 0)
                return 0;
        if (ws_session_feed(z.s, data, split) >= 0)
                (void) ws_session_feed(z.s, data + split, size - split);
        check_server_frames(ws_session_output(z.s));
        stream_buf_free(&z.msg);
        ws_session_free(z.s);

        round_trip(data, size);
        return 0;
}
