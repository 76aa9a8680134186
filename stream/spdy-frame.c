/* SPDX-License-Identifier: Apache-2.0 */
/* SPDY/3.1 framing (the SPDY/3.1 draft; github.com/moby/spdystream/spdy is the peer): a push
 * parser that streams data frames through and buffers control frames up to SPDY_CONTROL_MAX,
 * and encoders. Header blocks are compressed with zlib primed with the SPDY/3 dictionary, one
 * zlib stream per direction for the whole connection, each block ended with a sync flush (Go's
 * zlib.Writer.Flush). */
#include <zlib.h>

#include "internal.h"

#define CONTROL_BIT 0x80u
#define SPDY_VERSION 3u

/* Names a SYN_STREAM may not carry (spdystream's invalidReqHeaders, lowercased). */
static const char *const invalid_request_headers[] = {
        "connection", "host", "keep-alive", "proxy-connection", "transfer-encoding",
};

static uint32_t get32(const uint8_t *p) {
        return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v) {
        p[0] = (uint8_t) (v >> 24);
        p[1] = (uint8_t) (v >> 16);
        p[2] = (uint8_t) (v >> 8);
        p[3] = (uint8_t) v;
}

const char *spdy_headers_get(const struct spdy_headers *h, const char *name) {
        for (size_t i = 0; h && i < h->n; i++)
                if (strcasecmp(h->v[i].name, name) == 0)
                        return h->v[i].value;
        return NULL;
}

void spdy_headers_free(struct spdy_headers *h) {
        for (size_t i = 0; i < h->n; i++) {
                free(h->v[i].name);
                free(h->v[i].value);
        }
        free(h->v);
        h->v = NULL;
        h->n = 0;
}

/* ==== parser ================================================================================= */

enum parser_state {
        PARSE_HEADER,
        PARSE_CONTROL,
        PARSE_DATA,
};

struct spdy_parser {
        enum parser_state state;
        uint8_t head[8];
        size_t head_len;
        /* the frame being read */
        bool control;
        uint16_t version, type;
        uint8_t flags;
        uint32_t stream_id;
        uint32_t length, remaining;
        struct stream_buf body; /* a control frame's payload */
        z_stream z;
        bool z_ready;
        struct stream_buf block; /* an inflated header block */
};

int spdy_parser_new(struct spdy_parser **ret) {
        struct spdy_parser *p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        if (inflateInit(&p->z) != Z_OK) {
                free(p);
                return -ENOMEM;
        }
        p->z_ready = true;
        *ret = p;
        return 0;
}

struct spdy_parser *spdy_parser_free(struct spdy_parser *p) {
        if (!p)
                return NULL;
        if (p->z_ready)
                inflateEnd(&p->z);
        stream_buf_free(&p->body);
        stream_buf_free(&p->block);
        free(p);
        return NULL;
}

/* Inflate one header block through the connection's zlib stream into p->block. */
static int inflate_block(struct spdy_parser *p, const uint8_t *in, size_t len) {
        stream_buf_clear(&p->block);
        if (len == 0)
                return -EPROTO;
        p->z.next_in = (Bytef *) in;
        p->z.avail_in = (uInt) len;
        for (;;) {
                uint8_t chunk[4096];
                p->z.next_out = chunk;
                p->z.avail_out = sizeof(chunk);
                int zr = inflate(&p->z, Z_SYNC_FLUSH);
                if (zr == Z_NEED_DICT) {
                        size_t dl;
                        const uint8_t *dict = spdy_dictionary(&dl);
                        if (inflateSetDictionary(&p->z, dict, (uInt) dl) != Z_OK)
                                return -EPROTO; /* another dictionary's id */
                        continue;
                }
                if (zr != Z_OK && zr != Z_BUF_ERROR)
                        return zr == Z_MEM_ERROR ? -ENOMEM : -EPROTO; /* includes Z_STREAM_END */
                size_t got = sizeof(chunk) - p->z.avail_out;
                if (got > 0) {
                        if (stream_buf_size(&p->block) + got > SPDY_HEADER_BLOCK_MAX)
                                return -EMSGSIZE;
                        if (stream_buf_append(&p->block, chunk, got) < 0)
                                return -ENOMEM;
                }
                if (p->z.avail_in == 0 && p->z.avail_out > 0)
                        return 0;
                if (zr == Z_BUF_ERROR && got == 0)
                        return -EPROTO; /* no progress with input left */
        }
}

/* The name/value block: a 32-bit count, then per pair a 32-bit length and the name, a 32-bit
 * length and the value. All of the block, nothing more; names lowercase and unique. */
static int parse_block(const uint8_t *b, size_t len, struct spdy_headers *ret) {
        _cleanup_(spdy_headers_free) struct spdy_headers h = {};
        size_t pos = 4;

        if (len < 4)
                return -EPROTO;
        uint32_t n = get32(b);
        if (n > SPDY_HEADERS_MAX)
                return -EMSGSIZE;
        if (n > 0) {
                h.v = calloc(n, sizeof(*h.v));
                if (!h.v)
                        return -ENOMEM;
        }
        for (uint32_t i = 0; i < n; i++) {
                const uint8_t *field[2];
                uint32_t flen[2];
                for (int k = 0; k < 2; k++) {
                        if (len - pos < 4)
                                return -EPROTO;
                        flen[k] = get32(b + pos);
                        pos += 4;
                        if (flen[k] > len - pos)
                                return -EPROTO;
                        field[k] = b + pos;
                        pos += flen[k];
                }
                if (flen[0] == 0)
                        return -EPROTO;
                for (uint32_t k = 0; k < flen[0]; k++)
                        if (field[0][k] == 0 || (field[0][k] >= 'A' && field[0][k] <= 'Z'))
                                return -EPROTO;
                struct spdy_header *e = &h.v[h.n];
                e->name = strndup((const char *) field[0], flen[0]);
                e->value = malloc(flen[1] + 1);
                if (!e->name || !e->value) {
                        free(e->name);
                        free(e->value);
                        return -ENOMEM;
                }
                memcpy(e->value, field[1], flen[1]);
                e->value[flen[1]] = '\0';
                e->value_len = flen[1];
                h.n++;
                for (size_t k = 0; k + 1 < h.n; k++)
                        if (streq(h.v[k].name, e->name))
                                return -EPROTO;
        }
        if (pos != len)
                return -EPROTO;
        *ret = h;
        h = (struct spdy_headers){};
        return 0;
}

static int control_frame(struct spdy_parser *p, spdy_frame_fn fn, void *userdata) {
        const uint8_t *b = stream_buf_head(&p->body);
        uint32_t len = p->length;
        struct spdy_frame f = {.flags = p->flags};
        _cleanup_(spdy_headers_free) struct spdy_headers h = {};
        _cleanup_free_ struct spdy_setting *settings = NULL;
        size_t block_at = 0;
        int r;

        if (p->version != SPDY_VERSION)
                return -EPROTO;
        switch (p->type) {
        case SPDY_SYN_STREAM:
                if (len < 10)
                        return -EPROTO;
                f.stream_id = get32(b) & 0x7fffffffu;
                f.associated_id = get32(b + 4) & 0x7fffffffu;
                f.priority = b[8] >> 5;
                block_at = 10;
                break;
        case SPDY_SYN_REPLY:
        case SPDY_HEADERS:
                if (len < 4)
                        return -EPROTO;
                f.stream_id = get32(b) & 0x7fffffffu;
                block_at = 4;
                break;
        case SPDY_RST_STREAM:
                if (len != 8)
                        return -EPROTO;
                f.stream_id = get32(b) & 0x7fffffffu;
                f.status = get32(b + 4);
                if (f.stream_id == 0 || f.status == 0)
                        return -EPROTO;
                break;
        case SPDY_SETTINGS: {
                if (len < 4)
                        return -EPROTO;
                uint32_t n = get32(b);
                if (n > SPDY_SETTINGS_MAX)
                        return -EMSGSIZE;
                if ((uint64_t) len != 4 + (uint64_t) n * 8)
                        return -EPROTO;
                if (n > 0) {
                        settings = calloc(n, sizeof(*settings));
                        if (!settings)
                                return -ENOMEM;
                }
                for (uint32_t i = 0; i < n; i++) {
                        uint32_t fid = get32(b + 4 + 8 * i);
                        settings[i].flags = (uint8_t) (fid >> 24);
                        settings[i].id = fid & 0xffffffu;
                        settings[i].value = get32(b + 8 + 8 * i);
                }
                f.settings = settings;
                f.n_settings = n;
                break;
        }
        case SPDY_PING:
                if (len != 4 || p->flags != 0)
                        return -EPROTO;
                f.ping_id = get32(b);
                if (f.ping_id == 0)
                        return -EPROTO;
                break;
        case SPDY_GOAWAY:
                if (len != 8 || p->flags != 0)
                        return -EPROTO;
                f.stream_id = get32(b) & 0x7fffffffu;
                f.status = get32(b + 4);
                break;
        case SPDY_WINDOW_UPDATE:
                if (len != 8 || p->flags != 0)
                        return -EPROTO;
                f.stream_id = get32(b) & 0x7fffffffu;
                f.delta = get32(b + 4) & 0x7fffffffu;
                break;
        default:
                f.type = SPDY_UNKNOWN;
                f.raw_type = p->type;
                return fn(userdata, &f);
        }
        f.type = (enum spdy_type) p->type;
        if (block_at > 0) {
                if (f.stream_id == 0)
                        return -EPROTO;
                r = inflate_block(p, b + block_at, len - block_at);
                if (r < 0)
                        return r;
                r = parse_block(stream_buf_head(&p->block), stream_buf_size(&p->block), &h);
                if (r < 0)
                        return r;
                if (f.type == SPDY_SYN_STREAM)
                        for (size_t i = 0; i < h.n; i++)
                                for (size_t k = 0; k < ELEMENTSOF(invalid_request_headers); k++)
                                        if (streq(h.v[i].name, invalid_request_headers[k]))
                                                return -EPROTO;
                f.headers = &h;
        }
        return fn(userdata, &f);
}

int spdy_parser_feed(struct spdy_parser *p, const void *data, size_t len, spdy_frame_fn fn, void *userdata) {
        const uint8_t *in = data ? data : (const uint8_t *) "";
        int r;

        /* an empty control or data frame completes without another byte */
        while (len > 0 || (p->state != PARSE_HEADER && p->remaining == 0)) {
                switch (p->state) {
                case PARSE_HEADER: {
                        size_t take = MIN(len, sizeof(p->head) - p->head_len);
                        memcpy(p->head + p->head_len, in, take);
                        p->head_len += take;
                        in += take;
                        len -= take;
                        if (p->head_len < sizeof(p->head))
                                break;
                        p->head_len = 0;
                        p->control = p->head[0] & CONTROL_BIT;
                        p->flags = p->head[4];
                        p->length = get32(p->head + 4) & 0xffffffu;
                        p->remaining = p->length;
                        if (p->control) {
                                p->version = (uint16_t) ((p->head[0] & 0x7fu) << 8 | p->head[1]);
                                p->type = (uint16_t) (p->head[2] << 8 | p->head[3]);
                                if (p->length > SPDY_CONTROL_MAX)
                                        return -EMSGSIZE;
                                stream_buf_clear(&p->body);
                                p->state = PARSE_CONTROL;
                        } else {
                                p->stream_id = get32(p->head) & 0x7fffffffu;
                                if (p->stream_id == 0)
                                        return -EPROTO;
                                p->state = PARSE_DATA;
                        }
                        break;
                }
                case PARSE_CONTROL: {
                        size_t take = MIN(len, (size_t) p->remaining);
                        if (stream_buf_append(&p->body, in, take) < 0)
                                return -ENOMEM;
                        in += take;
                        len -= take;
                        p->remaining -= (uint32_t) take;
                        if (p->remaining > 0)
                                break;
                        p->state = PARSE_HEADER;
                        r = control_frame(p, fn, userdata);
                        if (r < 0)
                                return r;
                        break;
                }
                case PARSE_DATA: {
                        size_t take = MIN(len, (size_t) p->remaining);
                        struct spdy_frame f = {
                                .type = SPDY_DATA,
                                .flags = p->flags,
                                .stream_id = p->stream_id,
                                .data = in,
                                .len = take,
                                .last = take == p->remaining,
                        };
                        in += take;
                        len -= take;
                        p->remaining -= (uint32_t) take;
                        if (f.last)
                                p->state = PARSE_HEADER;
                        /* a chunk per feed; an empty frame is one empty last chunk */
                        if (take > 0 || f.last) {
                                r = fn(userdata, &f);
                                if (r < 0)
                                        return r;
                        }
                        break;
                }
                }
        }
        return 0;
}

/* ==== encoder ================================================================================ */

struct spdy_encoder {
        z_stream z;
        bool z_ready;
        struct stream_buf raw;
};

int spdy_encoder_new(struct spdy_encoder **ret) {
        struct spdy_encoder *e = calloc(1, sizeof(*e));
        size_t dl;
        const uint8_t *dict = spdy_dictionary(&dl);

        if (!e)
                return -ENOMEM;
        /* Go's zlib.NewWriterLevelDict(BestCompression): a 32 KiB window */
        if (deflateInit2(&e->z, Z_BEST_COMPRESSION, Z_DEFLATED, 15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
                free(e);
                return -ENOMEM;
        }
        e->z_ready = true;
        if (deflateSetDictionary(&e->z, dict, (uInt) dl) != Z_OK) {
                spdy_encoder_free(e);
                return -ENOMEM;
        }
        *ret = e;
        return 0;
}

struct spdy_encoder *spdy_encoder_free(struct spdy_encoder *e) {
        if (!e)
                return NULL;
        if (e->z_ready)
                deflateEnd(&e->z);
        stream_buf_free(&e->raw);
        free(e);
        return NULL;
}

static int put_control_head(struct stream_buf *out, uint16_t type, uint8_t flags, uint32_t length) {
        uint8_t h[8] = {CONTROL_BIT, SPDY_VERSION, (uint8_t) (type >> 8), (uint8_t) type};

        if (length > SPDY_DATA_MAX)
                return -EMSGSIZE;
        put32(h + 4, length);
        h[4] = flags;
        return stream_buf_append(out, h, sizeof(h));
}

/* Serialize and compress a header block, appended to out. */
static int encode_block(struct spdy_encoder *e, struct stream_buf *out, const struct spdy_header *h,
                        size_t n) {
        uint8_t w[4];
        int r;

        stream_buf_clear(&e->raw);
        put32(w, (uint32_t) n);
        r = stream_buf_append(&e->raw, w, 4);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                size_t nl = strlen(h[i].name);
                if (nl == 0 || nl > SPDY_CONTROL_MAX || h[i].value_len > SPDY_CONTROL_MAX)
                        return -EINVAL;
                put32(w, (uint32_t) nl);
                r = stream_buf_append(&e->raw, w, 4);
                for (size_t k = 0; r >= 0 && k < nl; k++) {
                        char c = h[i].name[k];
                        uint8_t lc = (uint8_t) (c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
                        r = stream_buf_append(&e->raw, &lc, 1);
                }
                put32(w, (uint32_t) h[i].value_len);
                if (r >= 0)
                        r = stream_buf_append(&e->raw, w, 4);
                if (r >= 0)
                        r = stream_buf_append(&e->raw, h[i].value, h[i].value_len);
        }
        if (r < 0)
                return r;

        e->z.next_in = (Bytef *) stream_buf_head(&e->raw);
        e->z.avail_in = (uInt) stream_buf_size(&e->raw);
        do {
                uint8_t chunk[4096];
                e->z.next_out = chunk;
                e->z.avail_out = sizeof(chunk);
                int zr = deflate(&e->z, Z_SYNC_FLUSH);
                if (zr != Z_OK && zr != Z_BUF_ERROR)
                        return -ENOMEM;
                r = stream_buf_append(out, chunk, sizeof(chunk) - e->z.avail_out);
                if (r < 0)
                        return r;
        } while (e->z.avail_out == 0);
        return 0;
}

/* A control frame whose payload is fixed fields followed by a header block. */
static int encode_with_block(struct spdy_encoder *e, struct stream_buf *out, uint16_t type, uint8_t flags,
                             const uint8_t *fields, size_t n_fields, const struct spdy_header *h, size_t n) {
        struct stream_buf block = {};
        int r;

        r = encode_block(e, &block, h, n);
        if (r >= 0)
                r = put_control_head(out, type, flags, (uint32_t) (n_fields + stream_buf_size(&block)));
        if (r >= 0)
                r = stream_buf_append(out, fields, n_fields);
        if (r >= 0)
                r = stream_buf_append(out, stream_buf_head(&block), stream_buf_size(&block));
        stream_buf_free(&block);
        return r;
}

int spdy_encode_syn_stream(struct spdy_encoder *e, struct stream_buf *out, uint32_t id,
                           uint32_t associated_id, uint8_t priority, uint8_t flags,
                           const struct spdy_header *h, size_t n) {
        uint8_t f[10] = {};

        if (id == 0 || id > 0x7fffffffu)
                return -EINVAL;
        put32(f, id);
        put32(f + 4, associated_id & 0x7fffffffu);
        f[8] = (uint8_t) (priority << 5);
        return encode_with_block(e, out, SPDY_SYN_STREAM, flags, f, sizeof(f), h, n);
}

/* SYN_REPLY and HEADERS: the stream id, then the header block. */
static int encode_id_block(struct spdy_encoder *e, struct stream_buf *out, uint16_t type, uint32_t id,
                           uint8_t flags, const struct spdy_header *h, size_t n) {
        uint8_t f[4];

        if (id == 0 || id > 0x7fffffffu)
                return -EINVAL;
        put32(f, id);
        return encode_with_block(e, out, type, flags, f, sizeof(f), h, n);
}

int spdy_encode_syn_reply(struct spdy_encoder *e, struct stream_buf *out, uint32_t id, uint8_t flags,
                          const struct spdy_header *h, size_t n) {
        return encode_id_block(e, out, SPDY_SYN_REPLY, id, flags, h, n);
}

int spdy_encode_headers(struct spdy_encoder *e, struct stream_buf *out, uint32_t id, uint8_t flags,
                        const struct spdy_header *h, size_t n) {
        return encode_id_block(e, out, SPDY_HEADERS, id, flags, h, n);
}

int spdy_encode_data(struct stream_buf *out, uint32_t id, uint8_t flags, const void *data, size_t len) {
        uint8_t h[8];
        int r;

        if (id == 0 || id > 0x7fffffffu)
                return -EINVAL;
        if (len > SPDY_DATA_MAX)
                return -EMSGSIZE;
        put32(h, id);
        put32(h + 4, (uint32_t) len);
        h[4] = flags;
        r = stream_buf_append(out, h, sizeof(h));
        return r < 0 ? r : stream_buf_append(out, data, len);
}

static int encode_two_words(struct stream_buf *out, uint16_t type, uint32_t a, uint32_t b) {
        uint8_t f[8];
        int r = put_control_head(out, type, 0, 8);

        put32(f, a);
        put32(f + 4, b);
        return r < 0 ? r : stream_buf_append(out, f, sizeof(f));
}

int spdy_encode_rst_stream(struct stream_buf *out, uint32_t id, uint32_t status) {
        if (id == 0 || id > 0x7fffffffu || status == 0)
                return -EINVAL;
        return encode_two_words(out, SPDY_RST_STREAM, id, status);
}

int spdy_encode_settings(struct stream_buf *out, uint8_t flags, const struct spdy_setting *s, size_t n) {
        uint8_t w[8];
        int r;

        if (n > SPDY_SETTINGS_MAX)
                return -EINVAL;
        r = put_control_head(out, SPDY_SETTINGS, flags, (uint32_t) (4 + 8 * n));
        put32(w, (uint32_t) n);
        if (r >= 0)
                r = stream_buf_append(out, w, 4);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                put32(w, (uint32_t) s[i].flags << 24 | (s[i].id & 0xffffffu));
                put32(w + 4, s[i].value);
                r = stream_buf_append(out, w, 8);
        }
        return r;
}

int spdy_encode_ping(struct stream_buf *out, uint32_t id) {
        uint8_t f[4];
        int r;

        if (id == 0)
                return -EINVAL;
        r = put_control_head(out, SPDY_PING, 0, 4);
        put32(f, id);
        return r < 0 ? r : stream_buf_append(out, f, sizeof(f));
}

int spdy_encode_goaway(struct stream_buf *out, uint32_t last_good_id, uint32_t status) {
        return encode_two_words(out, SPDY_GOAWAY, last_good_id & 0x7fffffffu, status);
}

int spdy_encode_window_update(struct stream_buf *out, uint32_t id, uint32_t delta) {
        if (id > 0x7fffffffu || delta == 0 || delta > 0x7fffffffu)
                return -EINVAL;
        return encode_two_words(out, SPDY_WINDOW_UPDATE, id, delta);
}
