/* SPDX-License-Identifier: Apache-2.0 */
/* WebSocket (RFC 6455) for the server side: the handshake's accept key, frames, and a session
 * that streams messages through (data events as bytes arrive, so a message costs no buffer)
 * with control frames answered in between: ping with pong, close with close. Its peers are
 * gorilla/websocket (client-go's WebSocket executor and tunnelling dialer) and browsers or
 * other clients of base64.channel.k8s.io. No extensions are negotiated, so RSV bits are errors;
 * text payloads are not checked for UTF-8 (their channel decoding checks what it needs). */
#include <openssl/evp.h>

#include "internal.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

int ws_accept_key(const char *key, char ret[WS_ACCEPT_LEN + 1]) {
        uint8_t md[EVP_MAX_MD_SIZE];
        unsigned md_len = 0;
        _cleanup_free_ char *k = NULL;

        if (isempty(key))
                return -EINVAL;
        k = nl_strdupf("%s%s", key, WS_GUID);
        if (!k)
                return -ENOMEM;
        if (EVP_Digest(k, strlen(k), md, &md_len, EVP_sha1(), NULL) != 1 || md_len != 20)
                return -EIO;
        if (EVP_EncodeBlock((unsigned char *) ret, md, (int) md_len) != WS_ACCEPT_LEN)
                return -EIO;
        return 0;
}

int ws_encode_frame(struct stream_buf *out, enum ws_opcode opcode, bool fin, const uint8_t mask[4],
                    const void *prefix, size_t prefix_len, const void *data, size_t len) {
        uint8_t h[14];
        size_t hl = 2, total = prefix_len + len;
        int r;

        if (total < prefix_len)
                return -EINVAL;
        h[0] = (uint8_t) ((fin ? 0x80u : 0) | ((unsigned) opcode & 0x0fu));
        if (total < 126)
                h[1] = (uint8_t) total;
        else if (total <= 0xffff) {
                h[1] = 126;
                h[2] = (uint8_t) (total >> 8);
                h[3] = (uint8_t) total;
                hl = 4;
        } else {
                h[1] = 127;
                for (int i = 0; i < 8; i++)
                        h[2 + i] = (uint8_t) ((uint64_t) total >> (56 - 8 * i));
                hl = 10;
        }
        if (mask) {
                h[1] |= 0x80;
                memcpy(h + hl, mask, 4);
                hl += 4;
        }
        r = stream_buf_append(out, h, hl);
        if (r < 0)
                return r;
        size_t at = out->len;
        r = stream_buf_append(out, prefix, prefix_len);
        if (r >= 0)
                r = stream_buf_append(out, data, len);
        if (r < 0)
                return r;
        if (mask)
                for (size_t i = 0; i < total; i++)
                        out->data[at + i] ^= mask[i % 4];
        return 0;
}

/* ==== the session ============================================================================ */

enum ws_state {
        WS_HEAD,
        WS_PAYLOAD,
        WS_DONE, /* the peer's close frame was read, or we failed the connection */
};

struct ws_session {
        ws_event_fn fn;
        void *userdata;
        uint64_t max_message;
        struct stream_buf out;
        enum ws_state state;
        uint8_t head[14];
        size_t head_len, head_need;
        /* the frame being read */
        bool fin, masked;
        enum ws_opcode opcode;
        uint8_t mask[4];
        uint64_t remaining, mask_pos;
        uint8_t control[WS_CONTROL_MAX];
        size_t control_len;
        /* the message being read (fragments) */
        bool in_message;
        uint64_t message_len;
        bool close_sent, close_received;
        int error;
};

int ws_session_new(uint64_t max_message, ws_event_fn fn, void *userdata, struct ws_session **ret) {
        struct ws_session *s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->fn = fn;
        s->userdata = userdata;
        s->max_message = max_message;
        s->head_need = 2;
        *ret = s;
        return 0;
}

struct ws_session *ws_session_free(struct ws_session *s) {
        if (!s)
                return NULL;
        stream_buf_free(&s->out);
        free(s);
        return NULL;
}

struct stream_buf *ws_session_output(struct ws_session *s) {
        return &s->out;
}

bool ws_session_close_sent(const struct ws_session *s) {
        return s->close_sent;
}

bool ws_session_close_received(const struct ws_session *s) {
        return s->close_received;
}

int ws_session_send(struct ws_session *s, enum ws_opcode opcode, const void *prefix, size_t prefix_len,
                    const void *data, size_t len) {
        if (s->close_sent)
                return -EPIPE;
        return ws_encode_frame(&s->out, opcode, true, NULL, prefix, prefix_len, data, len);
}

int ws_session_close(struct ws_session *s, uint16_t code, const char *reason) {
        uint8_t p[WS_CONTROL_MAX];
        size_t n = 0;

        if (s->close_sent)
                return 0;
        s->close_sent = true;
        if (code) {
                p[0] = (uint8_t) (code >> 8);
                p[1] = (uint8_t) code;
                n = 2;
                size_t rl = MIN(strlen(strempty(reason)), sizeof(p) - 2);
                memcpy(p + 2, strempty(reason), rl);
                n += rl;
        }
        return ws_encode_frame(&s->out, WS_CLOSE, true, NULL, p, n, NULL, 0);
}

/* Fail the connection (RFC 6455 7.1.7): a close frame with the reason, nothing read after. */
static int fail(struct ws_session *s, uint16_t code, int error) {
        (void) ws_session_close(s, code, NULL);
        s->state = WS_DONE;
        s->error = error;
        return error;
}

static int emit(struct ws_session *s, const struct ws_event *ev) {
        return s->fn ? s->fn(s->userdata, ev) : 0;
}

static bool close_code_valid(uint16_t c) {
        return (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) || (c >= 3000 && c <= 4999);
}

static int control_frame(struct ws_session *s) {
        switch (s->opcode) {
        case WS_PING:
                if (s->close_sent)
                        return 0;
                return ws_encode_frame(&s->out, WS_PONG, true, NULL, s->control, s->control_len, NULL, 0);
        case WS_PONG:
                return 0;
        case WS_CLOSE: {
                uint16_t code = WS_CLOSE_NO_STATUS;
                if (s->control_len == 1)
                        return fail(s, WS_CLOSE_PROTOCOL_ERROR, -EPROTO);
                if (s->control_len >= 2) {
                        code = (uint16_t) (s->control[0] << 8 | s->control[1]);
                        if (!close_code_valid(code))
                                return fail(s, WS_CLOSE_PROTOCOL_ERROR, -EPROTO);
                }
                s->close_received = true;
                s->state = WS_DONE;
                /* answer with the code we got (none for none), unless we closed first */
                int r = ws_session_close(s, code == WS_CLOSE_NO_STATUS ? 0 : code, NULL);
                if (r < 0)
                        return r;
                return emit(s, &(struct ws_event){.type = WS_EVENT_CLOSE, .close_code = code});
        }
        default:
                return 0;
        }
}

/* The frame head is complete: check it, set up the payload. */
static int frame_start(struct ws_session *s) {
        const uint8_t *h = s->head;
        size_t at = 2;
        int r;

        if (h[0] & 0x70)
                return fail(s, WS_CLOSE_PROTOCOL_ERROR, -EPROTO); /* RSV bits: no extension agreed */
        s->fin = h[0] & 0x80;
        s->opcode = (enum ws_opcode)(h[0] & 0x0f);
        uint64_t len = h[1] & 0x7f;
        if (len == 126) {
                len = (uint64_t) h[2] << 8 | h[3];
                at = 4;
        } else if (len == 127) {
                len = 0;
                for (int i = 0; i < 8; i++)
                        len = len << 8 | h[2 + i];
                if (len >> 63)
                        return fail(s, WS_CLOSE_PROTOCOL_ERROR, -EPROTO);
                at = 10;
        }
        if (s->masked)
                memcpy(s->mask, h + at, 4);
        s->remaining = len;
        s->mask_pos = 0;
        s->control_len = 0;

        switch (s->opcode) {
        case WS_PING:
        case WS_PONG:
        case WS_CLOSE:
                if (!s->fin || len > WS_CONTROL_MAX)
                        return fail(s, WS_CLOSE_PROTOCOL_ERROR, -EPROTO);
                break;
        case WS_TEXT:
        case WS_BINARY:
                if (s->in_message)
                        return fail(s, WS_CLOSE_PROTOCOL_ERROR, -EPROTO);
                s->in_message = true;
                s->message_len = 0;
                r = emit(s, &(struct ws_event){.type = WS_EVENT_MESSAGE_START, .opcode = s->opcode});
                if (r < 0)
                        return r;
                break;
        case WS_CONTINUATION:
                if (!s->in_message)
                        return fail(s, WS_CLOSE_PROTOCOL_ERROR, -EPROTO);
                break;
        default:
                return fail(s, WS_CLOSE_PROTOCOL_ERROR, -EPROTO);
        }
        if (s->opcode < WS_CLOSE) {
                if (s->max_message && len > s->max_message - s->message_len)
                        return fail(s, WS_CLOSE_TOO_BIG, -EMSGSIZE);
                s->message_len += len;
        }
        s->state = WS_PAYLOAD;
        return 0;
}

/* The frame's payload is all read. */
static int frame_end(struct ws_session *s) {
        s->state = WS_HEAD;
        s->head_len = 0;
        s->head_need = 2;
        if (s->opcode >= WS_CLOSE)
                return control_frame(s);
        if (s->fin) {
                s->in_message = false;
                return emit(s, &(struct ws_event){.type = WS_EVENT_MESSAGE_END});
        }
        return 0;
}

int ws_session_feed(struct ws_session *s, const void *data, size_t len) {
        const uint8_t *in = data ? data : (const uint8_t *) "";
        int r;

        if (s->error)
                return s->error;
        while (s->state != WS_DONE && (len > 0 || (s->state == WS_PAYLOAD && s->remaining == 0))) {
                if (s->state == WS_HEAD) {
                        size_t take = MIN(len, s->head_need - s->head_len);
                        memcpy(s->head + s->head_len, in, take);
                        s->head_len += take;
                        in += take;
                        len -= take;
                        if (s->head_len < s->head_need)
                                continue;
                        if (s->head_need == 2) {
                                /* now the head's full size is known */
                                uint8_t l7 = s->head[1] & 0x7f;
                                s->masked = s->head[1] & 0x80;
                                if (!s->masked)
                                        return fail(s, WS_CLOSE_PROTOCOL_ERROR, -EPROTO);
                                s->head_need = 2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0) + 4;
                                continue;
                        }
                        r = frame_start(s);
                        if (r < 0)
                                return r;
                        continue;
                }

                /* WS_PAYLOAD */
                size_t take = (size_t) MIN((uint64_t) len, s->remaining);
                if (s->opcode >= WS_CLOSE) {
                        for (size_t i = 0; i < take; i++)
                                s->control[s->control_len++] = in[i] ^ s->mask[s->mask_pos++ % 4];
                } else if (take > 0) {
                        uint8_t chunk[4096];
                        for (size_t done = 0; done < take;) {
                                size_t n = MIN(take - done, sizeof(chunk));
                                for (size_t i = 0; i < n; i++)
                                        chunk[i] = in[done + i] ^ s->mask[s->mask_pos++ % 4];
                                r = emit(s, &(struct ws_event){
                                                    .type = WS_EVENT_MESSAGE_DATA,
                                                    .data = chunk,
                                                    .len = n,
                                            });
                                if (r < 0)
                                        return s->error = r;
                                done += n;
                        }
                }
                in += take;
                len -= take;
                s->remaining -= take;
                if (s->remaining == 0) {
                        r = frame_end(s);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}
