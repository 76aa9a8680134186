/* SPDX-License-Identifier: Apache-2.0 */
#include <inttypes.h>
#include <stdio.h>

#include "util.h"

char *nl_vstrdupf(const char *fmt, va_list ap) {
        char *s = NULL;
        if (vasprintf(&s, fmt, ap) < 0)
                return NULL;
        return s;
}

char *nl_strdupf(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        char *s = nl_vstrdupf(fmt, ap);
        va_end(ap);
        return s;
}

int nl_error_setv(nl_error *err, int code, const char *fmt, va_list ap) {
        if (!err)
                return code;
        char *m = nl_vstrdupf(fmt, ap);
        free(err->msg);
        err->msg = m;
        err->code = code;
        return code;
}

int nl_error_set(nl_error *err, int code, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        nl_error_setv(err, code, fmt, ap);
        va_end(ap);
        return code;
}

int nl_error_prefix(nl_error *err, const char *fmt, ...) {
        if (!err)
                return -EINVAL;
        va_list ap;
        va_start(ap, fmt);
        _cleanup_free_ char *p = nl_vstrdupf(fmt, ap);
        va_end(ap);
        if (p) {
                char *m = nl_strdupf("%s: %s", p, strempty(err->msg));
                if (m) {
                        free(err->msg);
                        err->msg = m;
                }
        }
        return err->code;
}

void nl_error_clear(nl_error *err) {
        if (!err)
                return;
        free(err->msg);
        err->msg = NULL;
        err->code = 0;
}

int nl_parse_int64(const char *s, int64_t min, int64_t max, int64_t *ret) {
        if (isempty(s))
                return -EINVAL;
        char *end = NULL;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        if (errno != 0 || !end || *end != '\0')
                return -EINVAL;
        if (v < min || v > max)
                return -ERANGE;
        *ret = v;
        return 0;
}

char *nl_quote(const char *s, size_t max, bool ascii_only) {
        nl_buf b = {};
        size_t n = strlen(strempty(s));
        for (size_t i = 0; i < n && i < max; i++) {
                unsigned char c = (unsigned char) s[i];
                if (c < 0x20 || c == 0x7f || c == '"' || c == '\\' || (ascii_only && c > 0x7f))
                        nl_buf_printf(&b, "\\x%02x", c);
                else
                        nl_buf_append(&b, (const char *) &c, 1);
        }
        if (n > max)
                nl_buf_puts(&b, "...");
        return nl_buf_steal(&b);
}

static bool buf_reserve(nl_buf *b, size_t extra) {
        if (b->oom)
                return false;
        if (b->len + extra + 1 <= b->cap)
                return true;
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + extra + 1) {
                if (cap > SIZE_MAX / 2) {
                        b->oom = true;
                        return false;
                }
                cap *= 2;
        }
        char *d = realloc(b->data, cap);
        if (!d) {
                b->oom = true;
                return false;
        }
        b->data = d;
        b->cap = cap;
        return true;
}

void nl_buf_append(nl_buf *b, const char *s, size_t n) {
        if (!buf_reserve(b, n))
                return;
        memcpy(b->data + b->len, s, n);
        b->len += n;
        b->data[b->len] = '\0';
}

void nl_buf_puts(nl_buf *b, const char *s) {
        nl_buf_append(b, s, strlen(s));
}

void nl_buf_printf(nl_buf *b, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(NULL, 0, fmt, ap);
        va_end(ap);
        if (n < 0 || !buf_reserve(b, (size_t) n))
                return;
        va_start(ap, fmt);
        vsnprintf(b->data + b->len, (size_t) n + 1, fmt, ap);
        va_end(ap);
        b->len += (size_t) n;
}

char *nl_buf_steal(nl_buf *b) {
        if (b->oom) {
                nl_buf_free(b);
                return NULL;
        }
        char *s = b->data ? b->data : strdup("");
        b->data = NULL;
        b->len = b->cap = 0;
        return s;
}

void nl_buf_free(nl_buf *b) {
        free(b->data);
        b->data = NULL;
        b->len = b->cap = 0;
        b->oom = false;
}

/* ---- base64 ---- */

static int b64(char c) {
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 26;
        if (c >= '0' && c <= '9')
                return c - '0' + 52;
        return c == '+' ? 62 : c == '/' ? 63 : -1;
}

int nl_base64_decode_n(const char *s, size_t len, bool padded, char **ret, size_t *ret_len) {
        /* Go's decoder skips \r and \n anywhere */
        _cleanup_free_ char *in = malloc(len + 1);
        if (!in)
                return -ENOMEM;
        size_t n = 0;
        for (size_t i = 0; i < len; i++)
                if (s[i] != '\r' && s[i] != '\n')
                        in[n++] = s[i];
        size_t data = n;
        if (padded) {
                /* StdEncoding: whole quanta, at most "==" and only at the very end */
                if (n % 4 != 0)
                        return -EINVAL;
                while (data > 0 && n - data < 2 && in[data - 1] == '=')
                        data--;
        }
        if (data % 4 == 1)
                return -EINVAL;
        char *out = malloc(data / 4 * 3 + 3);
        if (!out)
                return -ENOMEM;
        size_t o = 0;
        uint32_t acc = 0;
        unsigned bits = 0;
        for (size_t i = 0; i < data; i++) {
                int v = b64(in[i]);
                if (v < 0) {
                        free(out);
                        return -EINVAL;
                }
                acc = (acc << 6) | (uint32_t) v;
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        out[o++] = (char) ((acc >> bits) & 0xff);
                }
        }
        out[o] = '\0';
        *ret = out;
        *ret_len = o;
        return 0;
}

int nl_base64_decode(const char *s, char **ret, size_t *ret_len) {
        size_t len = strlen(s);
        return nl_base64_decode_n(s, len, len > 0 && s[len - 1] == '=', ret, ret_len);
}
