/* SPDX-License-Identifier: Apache-2.0 */
/* The byte buffer every encoder appends to and the session driver drains. */
#include "internal.h"

int stream_buf_append(struct stream_buf *b, const void *p, size_t n) {
        if (n == 0)
                return 0;
        if (b->off > 0 && b->off == b->len)
                b->off = b->len = 0;
        if (b->len + n > b->cap) {
                /* reuse the consumed front before growing */
                if (b->off > 0 && b->len - b->off + n <= b->cap) {
                        memmove(b->data, b->data + b->off, b->len - b->off);
                        b->len -= b->off;
                        b->off = 0;
                } else {
                        if (n > SIZE_MAX / 2 - b->len)
                                return -ENOMEM;
                        size_t cap = b->cap ? b->cap : 4096;
                        while (cap < b->len + n)
                                cap *= 2;
                        uint8_t *d = realloc(b->data, cap);
                        if (!d)
                                return -ENOMEM;
                        b->data = d;
                        b->cap = cap;
                }
        }
        memcpy(b->data + b->len, p, n);
        b->len += n;
        return 0;
}

void stream_buf_consume(struct stream_buf *b, size_t n) {
        if (n > b->len - b->off)
                n = b->len - b->off;
        b->off += n;
        if (b->off == b->len)
                b->off = b->len = 0;
}

void stream_buf_clear(struct stream_buf *b) {
        b->off = b->len = 0;
}

void stream_buf_free(struct stream_buf *b) {
        free(b->data);
        *b = (struct stream_buf){};
}
