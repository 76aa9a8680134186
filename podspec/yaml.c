/* SPDX-License-Identifier: Apache-2.0 */
/* YAML -> JSON for manifests, with libyaml's event parser and an explicit stack (no recursion).
 *
 * Scalars resolve as the API server and kubectl see them: sigs.k8s.io/yaml decodes with go-yaml v2
 * (YAML 1.1 plain scalars: yes/no/on/off are booleans, 0644 is octal) and then marshals the result
 * with encoding/json. The parts of that pipeline we copy, and where we stop:
 *   - integers go through Go's strconv.ParseInt(s, 0, 64) after removing every '_': sign, then
 *     0x/0o/0b (any case) or a leading 0 for octal. Values beyond int64 that Go keeps exact
 *     (uint64, math/big) become JSON reals here, the nearest double: jansson holds int64 only,
 *     the typed decode of any int field rejects them anyway ("out of range"), and untyped fields
 *     end up as float64 in Go too. Decimal overflow is a float in go-yaml as well.
 *   - floats that are whole numbers inside int64 become JSON integers: encoding/json prints
 *     float64(1000) as 1000, so `containerPort: 1e3` or `8080.0` decodes as an int upstream.
 *   - .inf and .nan resolve as floats but JSON cannot hold them; encoding/json fails on them, and
 *     so do we (as keys they become ".inf"/".nan", as sigs.k8s.io/yaml spells them).
 *   - timestamps stay strings, as go-yaml v2 leaves them when decoding into interface{}.
 *   - non-string keys become text as sigs.k8s.io/yaml does: true -> "true", 0x10 -> "16",
 *     floats as strconv.FormatFloat(v, 'g', -1, 32). Null keys and keys beyond int64 are errors.
 * Stricter than upstream on purpose: duplicate keys, tags other than the core schema's, and alias
 * expansion beyond PODSPEC_MAX_NODES are errors (go-yaml v2 uses a ratio heuristic instead). */
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <yaml.h>

#include "podspec.h"

#define TAG_PREFIX "tag:yaml.org,2002:"

/* Bytes of keys and strings that aliases may add to one stream, on top of the input itself: a
 * 1 MiB string aliased 200000 times is a small input but no small document. */
#define YAML_MAX_ALIAS_BYTES PODSPEC_MAX_INPUT_BYTES

/* Messages quote at most this much of a key or scalar. */
#define QUOTE_MAX 64

typedef enum scalar_kind {
        SCALAR_NULL,
        SCALAR_BOOL,
        SCALAR_INT,
        SCALAR_BIG_INT, /* beyond int64: Go's uint64 or big.Int; d holds the nearest double */
        SCALAR_FLOAT,
        SCALAR_STR,
} scalar_kind;

struct scalar {
        scalar_kind kind;
        bool b;
        int64_t i;
        double d;
};

struct anchor {
        bool complete; /* false while the anchored collection is still open */
        bool is_scalar;
        json_t *value;   /* collections: the finished tree, copied for every alias */
        struct scalar s; /* scalars: resolved value and text, so an alias can also be a key */
        char *text;
        size_t len;
        size_t nodes;    /* nodes in the subtree, aliases inside it expanded */
        size_t bytes;    /* key and string bytes in the subtree, expanded */
        unsigned height; /* levels of nesting in the subtree: 0 for a scalar */
};

struct frame {
        json_t *node;
        bool is_map;
        ssize_t anchor; /* index in ctx.anchors, -1 without one */
        size_t nodes_start, bytes_start;
        unsigned height; /* highest child so far */
        yaml_mark_t mark;
        /* mappings: the key waiting for its value */
        bool have_key;
        bool merge; /* the key is "<<" */
        char *key;
        /* keys that came in through "<<": a key written out in the mapping replaces them */
        json_t *merged;
};

struct ctx {
        yaml_parser_t parser;
        json_t *docs;
        json_t *root;
        bool have_root;
        yaml_mark_t doc_mark;
        struct frame stack[PODSPEC_MAX_DEPTH];
        unsigned depth;
        struct anchor *anchors;
        size_t n_anchors, cap_anchors;
        json_t *anchor_index;            /* name -> index in anchors; the latest definition wins */
        size_t doc_nodes, doc_bytes;     /* this document, aliases expanded */
        size_t alias_nodes, alias_bytes; /* added by aliases in the whole stream */
        char *error;
};

/* ---- messages ------------------------------------------------------------------------------ */

static int fail_at(struct ctx *c, size_t line, size_t column, const char *fmt, ...) _printf_(4, 5);
static int fail_at(struct ctx *c, size_t line, size_t column, const char *fmt, ...) {
        _cleanup_free_ char *msg = NL_FORMAT_VA(fmt);
        if (!msg)
                return -ENOMEM;
        free(c->error);
        c->error = nl_strdupf("line %zu, column %zu: %s", line, column, msg);
        return c->error ? -EINVAL : -ENOMEM;
}

/* libyaml's marks count from 0. */
#define fail(c, mark, ...) fail_at((c), (mark).line + 1, (mark).column + 1, __VA_ARGS__)

/* Line and column (1-based, columns in characters) of a byte offset, for the errors libyaml
 * reports by offset only. */
static void offset_position(const char *buf, size_t len, size_t offset, size_t *ret_line,
                            size_t *ret_column) {
        size_t line = 1, column = 1;

        if (offset > len)
                offset = len;
        for (size_t i = 0; i < offset; i++) {
                unsigned char ch = (unsigned char) buf[i];
                if (ch == '\n' || (ch == '\r' && (i + 1 >= len || buf[i + 1] != '\n'))) {
                        line++;
                        column = 1;
                } else if ((ch & 0xC0) != 0x80)
                        column++;
        }
        *ret_line = line;
        *ret_column = column;
}

/* A key or scalar for a message: double-quoted, escaped, cut at QUOTE_MAX bytes on a character
 * boundary. NULL on OOM. */
static char *quote(const char *s, size_t len) {
        nl_buf b = {};
        size_t n = len;

        if (n > QUOTE_MAX) {
                n = QUOTE_MAX;
                while (n > 0 && ((unsigned char) s[n] & 0xC0) == 0x80)
                        n--;
        }
        nl_buf_puts(&b, "\"");
        for (size_t i = 0; i < n; i++) {
                unsigned char ch = (unsigned char) s[i];
                if (ch == '"' || ch == '\\')
                        nl_buf_printf(&b, "\\%c", ch);
                else if (ch == '\n')
                        nl_buf_puts(&b, "\\n");
                else if (ch == '\t')
                        nl_buf_puts(&b, "\\t");
                else if (ch < 0x20 || ch == 0x7F)
                        nl_buf_printf(&b, "\\x%02x", ch);
                else
                        nl_buf_append(&b, (const char *) &ch, 1);
        }
        nl_buf_puts(&b, n < len ? "\"..." : "\"");
        return nl_buf_steal(&b);
}

/* "tag:yaml.org,2002:int" -> "!!int", for messages. */
static const char *short_tag(const char *tag, char *buf, size_t size) {
        if (strncmp(tag, TAG_PREFIX, strlen(TAG_PREFIX)) == 0) {
                snprintf(buf, size, "!!%s", tag + strlen(TAG_PREFIX));
                return buf;
        }
        return tag;
}

static bool utf8_valid(const char *s, size_t len) {
        const unsigned char *p = (const unsigned char *) s, *end = p + len;

        while (p < end) {
                unsigned char ch = *p;
                uint32_t cp;
                size_t n;

                if (ch < 0x80) {
                        p++;
                        continue;
                }
                if (ch >= 0xC2 && ch <= 0xDF)
                        n = 2, cp = ch & 0x1F;
                else if (ch >= 0xE0 && ch <= 0xEF)
                        n = 3, cp = ch & 0x0F;
                else if (ch >= 0xF0 && ch <= 0xF4)
                        n = 4, cp = ch & 0x07;
                else
                        return false;
                if ((size_t) (end - p) < n)
                        return false;
                for (size_t i = 1; i < n; i++) {
                        if ((p[i] & 0xC0) != 0x80)
                                return false;
                        cp = (cp << 6) | (p[i] & 0x3F);
                }
                if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
                    (cp >= 0xD800 && cp <= 0xDFFF))
                        return false;
                p += n;
        }
        return true;
}

/* ---- scalar resolution (go-yaml v2 resolve.go, YAML 1.1) ------------------------------------- */

struct resolve_word {
        const char *text;
        scalar_kind kind;
        bool b;
        double d;
};

/* go-yaml v2's table: exactly these spellings, no others ("yES" and "TRue" are strings). */
static const struct resolve_word resolve_words[] = {
        {"y", SCALAR_BOOL, true, 0},
        {"Y", SCALAR_BOOL, true, 0},
        {"yes", SCALAR_BOOL, true, 0},
        {"Yes", SCALAR_BOOL, true, 0},
        {"YES", SCALAR_BOOL, true, 0},
        {"true", SCALAR_BOOL, true, 0},
        {"True", SCALAR_BOOL, true, 0},
        {"TRUE", SCALAR_BOOL, true, 0},
        {"on", SCALAR_BOOL, true, 0},
        {"On", SCALAR_BOOL, true, 0},
        {"ON", SCALAR_BOOL, true, 0},
        {"n", SCALAR_BOOL, false, 0},
        {"N", SCALAR_BOOL, false, 0},
        {"no", SCALAR_BOOL, false, 0},
        {"No", SCALAR_BOOL, false, 0},
        {"NO", SCALAR_BOOL, false, 0},
        {"false", SCALAR_BOOL, false, 0},
        {"False", SCALAR_BOOL, false, 0},
        {"FALSE", SCALAR_BOOL, false, 0},
        {"off", SCALAR_BOOL, false, 0},
        {"Off", SCALAR_BOOL, false, 0},
        {"OFF", SCALAR_BOOL, false, 0},
        {"~", SCALAR_NULL, false, 0},
        {"null", SCALAR_NULL, false, 0},
        {"Null", SCALAR_NULL, false, 0},
        {"NULL", SCALAR_NULL, false, 0},
        {".nan", SCALAR_FLOAT, false, NAN},
        {".NaN", SCALAR_FLOAT, false, NAN},
        {".NAN", SCALAR_FLOAT, false, NAN},
        {".inf", SCALAR_FLOAT, false, INFINITY},
        {".Inf", SCALAR_FLOAT, false, INFINITY},
        {".INF", SCALAR_FLOAT, false, INFINITY},
        {"+.inf", SCALAR_FLOAT, false, INFINITY},
        {"+.Inf", SCALAR_FLOAT, false, INFINITY},
        {"+.INF", SCALAR_FLOAT, false, INFINITY},
        {"-.inf", SCALAR_FLOAT, false, -INFINITY},
        {"-.Inf", SCALAR_FLOAT, false, -INFINITY},
        {"-.INF", SCALAR_FLOAT, false, -INFINITY},
};

static int digit_value(char ch) {
        if (ch >= '0' && ch <= '9')
                return ch - '0';
        if (ch >= 'a' && ch <= 'z')
                return ch - 'a' + 10;
        if (ch >= 'A' && ch <= 'Z')
                return ch - 'A' + 10;
        return 99;
}

/* The unsigned part of Go's strconv.ParseUint(s, 0, 64): 0b/0o/0x prefixes (any case, with at
 * least one more character), a leading 0 for octal, else decimal. No sign. Returns 0, -ERANGE
 * when the digits are fine but need more than 64 bits (*ret_approx holds the value rounded), or
 * -EINVAL. */
static int parse_go_uint(const char *s, uint64_t *ret, double *ret_approx) {
        unsigned base = 10;
        uint64_t v = 0;
        double approx = 0;
        bool overflow = false;

        if (*s == '\0')
                return -EINVAL;
        if (s[0] == '0') {
                char p = s[1] | 0x20;
                if (s[1] && s[2] && p == 'b')
                        base = 2, s += 2;
                else if (s[1] && s[2] && p == 'o')
                        base = 8, s += 2;
                else if (s[1] && s[2] && p == 'x')
                        base = 16, s += 2;
                else
                        base = 8, s += 1;
        }
        for (; *s; s++) {
                int d = digit_value(*s);
                if (d >= (int) base)
                        return -EINVAL;
                approx = approx * base + d;
                if (v > (UINT64_MAX - (unsigned) d) / base)
                        overflow = true;
                else
                        v = v * base + (unsigned) d;
        }
        *ret = v;
        *ret_approx = approx;
        return overflow ? -ERANGE : 0;
}

/* go-yaml v2's float syntax for scalars that start with a sign or digit:
 * ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ */
static bool is_yaml_float(const char *s) {
        size_t n;

        if (*s == '+' || *s == '-')
                s++;
        if (*s == '.') {
                s++;
                n = strspn(s, "0123456789");
                if (n == 0)
                        return false;
                s += n;
        } else {
                n = strspn(s, "0123456789");
                if (n == 0)
                        return false;
                s += n;
                if (*s == '.') {
                        s++;
                        s += strspn(s, "0123456789");
                }
        }
        if (*s == 'e' || *s == 'E') {
                s++;
                if (*s == '+' || *s == '-')
                        s++;
                n = strspn(s, "0123456789");
                if (n == 0)
                        return false;
                s += n;
        }
        return *s == '\0';
}

/* strconv.ParseFloat for syntax already checked: overflow is an error (the scalar stays a
 * string), underflow rounds to zero as Go does. */
static bool parse_float(const char *s, double *ret) {
        char *end = NULL;
        errno = 0;
        double d = strtod(s, &end);
        if (!end || *end != '\0' || (errno == ERANGE && isinf(d)))
                return false;
        *ret = d;
        return true;
}

/* Scalars starting with '.' that are not in the table: Go's ParseFloat on the text, where '_' may
 * only stand between two digits. */
static int resolve_dot(const char *in, size_t len, struct scalar *ret) {
        _cleanup_free_ char *plain = malloc(len + 1);
        size_t n = 0;

        ret->kind = SCALAR_STR;
        if (!plain)
                return -ENOMEM;
        for (size_t i = 0; i < len; i++) {
                if (in[i] == '_') {
                        bool digits = i > 0 && i + 1 < len && in[i - 1] >= '0' && in[i - 1] <= '9' &&
                                      in[i + 1] >= '0' && in[i + 1] <= '9';
                        if (!digits)
                                return 0;
                        continue;
                }
                plain[n++] = in[i];
        }
        plain[n] = '\0';
        if (is_yaml_float(plain) && parse_float(plain, &ret->d))
                ret->kind = SCALAR_FLOAT;
        return 0;
}

/* Scalars starting with a sign or digit: int, then uint, then float, then big int, else string;
 * the order of go-yaml v2's resolve(), every '_' removed first. */
static int resolve_number(const char *in, size_t len, struct scalar *ret) {
        _cleanup_free_ char *plain = malloc(len + 1);
        size_t n = 0;
        uint64_t u = 0;
        double approx = 0;
        int r, r_uint;

        if (!plain)
                return -ENOMEM;
        for (size_t i = 0; i < len; i++)
                if (in[i] != '_')
                        plain[n++] = in[i];
        plain[n] = '\0';

        const char *digits = plain;
        bool neg = false;
        if (*digits == '+' || *digits == '-') {
                neg = *digits == '-';
                digits++;
        }
        r = parse_go_uint(digits, &u, &approx);
        if (r == 0 && !neg && u <= (uint64_t) INT64_MAX) {
                *ret = (struct scalar){.kind = SCALAR_INT, .i = (int64_t) u};
                return 0;
        }
        if (r == 0 && neg && u <= (uint64_t) INT64_MAX + 1) {
                *ret = (struct scalar){.kind = SCALAR_INT, .i = u == 0 ? 0 : -(int64_t) (u - 1) - 1};
                return 0;
        }
        /* ParseUint takes no sign. */
        r_uint = digits == plain ? r : -EINVAL;
        if (r_uint == 0) {
                *ret = (struct scalar){.kind = SCALAR_BIG_INT, .d = (double) u};
                return 0;
        }
        if (is_yaml_float(plain) && parse_float(plain, &ret->d)) {
                ret->kind = SCALAR_FLOAT;
                return 0;
        }
        if (r_uint == -ERANGE) {
                *ret = (struct scalar){.kind = SCALAR_BIG_INT, .d = approx};
                return 0;
        }
        *ret = (struct scalar){.kind = SCALAR_STR};
        return 0;
}

/* Plain scalars, and scalars with an explicit !!int/!!float/!!bool/!!null tag. */
static int resolve_implicit(const char *in, size_t len, struct scalar *ret) {
        *ret = (struct scalar){.kind = SCALAR_STR};
        if (len == 0) {
                ret->kind = SCALAR_NULL;
                return 0;
        }
        if (memchr(in, '\0', len))
                return 0;
        char c0 = in[0];
        bool sign_or_digit = c0 == '+' || c0 == '-' || (c0 >= '0' && c0 <= '9');
        if (!sign_or_digit && !strchr("yYnNtTfFoO~.", c0))
                return 0;
        for (size_t i = 0; i < ELEMENTSOF(resolve_words); i++)
                if (streq(in, resolve_words[i].text)) {
                        *ret = (struct scalar){.kind = resolve_words[i].kind,
                                               .b = resolve_words[i].b,
                                               .d = resolve_words[i].d};
                        return 0;
                }
        if (c0 == '.')
                return resolve_dot(in, len, ret);
        if (sign_or_digit)
                return resolve_number(in, len, ret);
        return 0;
}

static const char *kind_tag(scalar_kind k) {
        switch (k) {
        case SCALAR_NULL:
                return "!!null";
        case SCALAR_BOOL:
                return "!!bool";
        case SCALAR_INT:
        case SCALAR_BIG_INT:
                return "!!int";
        case SCALAR_FLOAT:
                return "!!float";
        case SCALAR_STR:
        default:
                return "!!str";
        }
}

static bool tag_is(const char *tag, const char *name) {
        size_t n = strlen(TAG_PREFIX);
        return strncmp(tag, TAG_PREFIX, n) == 0 && streq(tag + n, name);
}

/* Resolve one scalar event's text. Quoted and block scalars are strings unless tagged. */
static int resolve_scalar(struct ctx *c, const yaml_event_t *ev, struct scalar *ret) {
        const char *tag = (const char *) ev->data.scalar.tag;
        const char *text = (const char *) ev->data.scalar.value;
        size_t len = ev->data.scalar.length;
        char buf[64];
        int r;

        if (!tag) {
                if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
                        return resolve_implicit(text, len, ret);
                *ret = (struct scalar){.kind = SCALAR_STR};
                return 0;
        }
        /* "!" is the non-specific tag: for a scalar it means a string. */
        if (streq(tag, "!") || tag_is(tag, "str")) {
                *ret = (struct scalar){.kind = SCALAR_STR};
                return 0;
        }
        if (tag_is(tag, "map") || tag_is(tag, "seq"))
                return fail(c, ev->start_mark, "%s tag on a scalar", short_tag(tag, buf, sizeof buf));
        if (!tag_is(tag, "int") && !tag_is(tag, "float") && !tag_is(tag, "bool") && !tag_is(tag, "null"))
                return fail(c, ev->start_mark, "unsupported tag \"%s\"", short_tag(tag, buf, sizeof buf));

        r = resolve_implicit(text, len, ret);
        if (r < 0)
                return r;
        if (tag_is(tag, kind_tag(ret->kind) + 2))
                return 0;
        /* go-yaml lets an int be a !!float; a big one it refuses like any other mismatch */
        if (tag_is(tag, "float") && ret->kind == SCALAR_INT) {
                *ret = (struct scalar){.kind = SCALAR_FLOAT, .d = (double) ret->i};
                return 0;
        }
        _cleanup_free_ char *q = quote(text, len);
        if (!q)
                return -ENOMEM;
        return fail(c, ev->start_mark, "cannot decode %s %s as a %s", kind_tag(ret->kind), q,
                    short_tag(tag, buf, sizeof buf));
}

static int scalar_to_json(struct ctx *c, const struct scalar *s, const char *text, size_t len,
                          yaml_mark_t mark, json_t **ret) {
        json_t *v = NULL;

        switch (s->kind) {
        case SCALAR_NULL:
                v = json_null();
                break;
        case SCALAR_BOOL:
                v = json_boolean(s->b);
                break;
        case SCALAR_INT:
                v = json_integer(s->i);
                break;
        case SCALAR_BIG_INT:
                if (!isfinite(s->d)) {
                        _cleanup_free_ char *q = quote(text, len);
                        if (!q)
                                return -ENOMEM;
                        return fail(c, mark, "integer %s is too large to represent", q);
                }
                v = json_real(s->d);
                break;
        case SCALAR_FLOAT:
                if (!isfinite(s->d)) {
                        _cleanup_free_ char *q = quote(text, len);
                        if (!q)
                                return -ENOMEM;
                        return fail(c, mark, "%s (%s) cannot be represented in JSON", q,
                                    isnan(s->d) ? "not a number" : "infinity");
                }
                /* encoding/json prints whole floats without a fraction: 1e3 is 1000 upstream. */
                if (s->d >= -0x1p63 && s->d < 0x1p63 && (double) (int64_t) s->d == s->d)
                        v = json_integer((json_int_t) s->d);
                else
                        v = json_real(s->d);
                break;
        case SCALAR_STR:
                if (!utf8_valid(text, len))
                        return fail(c, mark, "scalar is not valid UTF-8");
                v = json_stringn_nocheck(text, len);
                break;
        }
        if (!v)
                return -ENOMEM;
        *ret = v;
        return 0;
}

/* strconv.FormatFloat(v, 'g', -1, 32), as sigs.k8s.io/yaml turns float keys into strings:
 * the shortest digits that round-trip as a float32, exponent form below 1e-4 or from 1e6 on. */
static char *format_float32(double d) {
        char buf[64], digits[16];
        float f;
        int p, exp, nd = 0;

        if (isnan(d))
                return strdup(".nan");
        /* float32(d) rounds to nearest: half an ulp of FLT_MAX (2^103) above it is infinity */
        double mag = d < 0 ? -d : d; /* no libm: the libraries link without -lm */
        if (mag >= (double) FLT_MAX + 0x1p103)
                return strdup(d > 0 ? ".inf" : "-.inf");
        if (mag > (double) FLT_MAX)
                d = d > 0 ? FLT_MAX : -FLT_MAX;
        f = (float) d;
        for (p = 1; p < 9; p++) {
                snprintf(buf, sizeof buf, "%.*e", p - 1, (double) f);
                if (strtof(buf, NULL) == f)
                        break;
        }
        snprintf(buf, sizeof buf, "%.*e", p - 1, (double) f);

        /* buf is "[-]d[.ddd]e[+-]XX" */
        const char *s = buf;
        bool neg = *s == '-';
        if (neg)
                s++;
        for (; *s && *s != 'e'; s++)
                if (*s >= '0' && *s <= '9' && nd < (int) sizeof digits - 1)
                        digits[nd++] = *s;
        digits[nd] = '\0';
        exp = *s == 'e' ? (int) strtol(s + 1, NULL, 10) : 0; /* our own snprintf output */

        nl_buf b = {};
        if (neg)
                nl_buf_puts(&b, "-");
        if (exp < -4 || exp >= 6) {
                nl_buf_append(&b, digits, 1);
                if (nd > 1) {
                        nl_buf_puts(&b, ".");
                        nl_buf_puts(&b, digits + 1);
                }
                nl_buf_printf(&b, "e%c%02d", exp < 0 ? '-' : '+', abs(exp));
        } else {
                int dp = exp + 1; /* digits before the point */
                if (dp <= 0) {
                        nl_buf_puts(&b, "0.");
                        for (int i = 0; i < -dp; i++)
                                nl_buf_puts(&b, "0");
                        nl_buf_puts(&b, digits);
                } else if (dp >= nd) {
                        nl_buf_puts(&b, digits);
                        for (int i = nd; i < dp; i++)
                                nl_buf_puts(&b, "0");
                } else {
                        nl_buf_append(&b, digits, (size_t) dp);
                        nl_buf_puts(&b, ".");
                        nl_buf_puts(&b, digits + dp);
                }
        }
        return nl_buf_steal(&b);
}

/* A mapping key's string, as sigs.k8s.io/yaml converts non-string keys. */
static int scalar_to_key(struct ctx *c, const struct scalar *s, const char *text, size_t len,
                         yaml_mark_t mark, char **ret) {
        char *k = NULL;

        switch (s->kind) {
        case SCALAR_NULL:
                return fail(c, mark, "a null mapping key is not supported");
        case SCALAR_BIG_INT: {
                _cleanup_free_ char *q = quote(text, len);
                if (!q)
                        return -ENOMEM;
                return fail(c, mark, "integer mapping key %s does not fit in 64 bits", q);
        }
        case SCALAR_BOOL:
                k = strdup(s->b ? "true" : "false");
                break;
        case SCALAR_INT:
                k = nl_strdupf("%" PRId64, s->i);
                break;
        case SCALAR_FLOAT:
                k = format_float32(s->d);
                break;
        case SCALAR_STR:
                if (memchr(text, '\0', len))
                        return fail(c, mark, "mapping key contains a NUL character");
                if (!utf8_valid(text, len))
                        return fail(c, mark, "mapping key is not valid UTF-8");
                k = strndup(text, len);
                break;
        }
        if (!k)
                return -ENOMEM;
        *ret = k;
        return 0;
}

/* ---- anchors ----------------------------------------------------------------------------- */

static void anchors_clear(struct ctx *c) {
        for (size_t i = 0; i < c->n_anchors; i++) {
                json_decref(c->anchors[i].value);
                free(c->anchors[i].text);
        }
        c->n_anchors = 0;
        if (c->anchor_index)
                json_object_clear(c->anchor_index);
}

/* Define (or redefine: the latest definition wins) an anchor; returns its index. */
static ssize_t anchor_add(struct ctx *c, const char *name) {
        if (c->n_anchors == c->cap_anchors) {
                size_t cap = c->cap_anchors ? c->cap_anchors * 2 : 16;
                struct anchor *a = reallocarray(c->anchors, cap, sizeof *a);
                if (!a)
                        return -ENOMEM;
                c->anchors = a;
                c->cap_anchors = cap;
        }
        if (!c->anchor_index && !(c->anchor_index = json_object()))
                return -ENOMEM;
        /* anchor names are ASCII word characters (libyaml checks), so nocheck is safe */
        if (json_object_set_new_nocheck(c->anchor_index, name, json_integer((json_int_t) c->n_anchors)) < 0)
                return -ENOMEM;
        c->anchors[c->n_anchors] = (struct anchor){};
        return (ssize_t) c->n_anchors++;
}

static int anchor_add_scalar(struct ctx *c, const char *name, const struct scalar *s, const char *text,
                             size_t len) {
        ssize_t i = anchor_add(c, name);
        if (i < 0)
                return (int) i;
        struct anchor *a = &c->anchors[i];
        a->text = malloc(len + 1);
        if (!a->text)
                return -ENOMEM;
        memcpy(a->text, text, len);
        a->text[len] = '\0';
        a->len = len;
        a->s = *s;
        a->is_scalar = true;
        a->complete = true;
        a->nodes = 1;
        a->bytes = len;
        return 0;
}

/* ---- building ---------------------------------------------------------------------------- */

/* Account for nodes and bytes entering the document; fail past the limits. */
static int count(struct ctx *c, size_t nodes, size_t bytes, bool alias, yaml_mark_t mark) {
        c->doc_nodes += nodes;
        c->doc_bytes += bytes;
        if (alias) {
                c->alias_nodes += nodes;
                c->alias_bytes += bytes;
                if (c->alias_nodes > PODSPEC_MAX_NODES || c->doc_nodes > PODSPEC_MAX_NODES)
                        return fail(c, mark, "aliases expand the document to more than %d nodes",
                                    PODSPEC_MAX_NODES);
                if (c->alias_bytes > YAML_MAX_ALIAS_BYTES)
                        return fail(c, mark, "aliases expand the document by more than %u bytes",
                                    YAML_MAX_ALIAS_BYTES);
        }
        if (c->doc_nodes > PODSPEC_MAX_NODES)
                return fail(c, mark, "document has more than %d nodes", PODSPEC_MAX_NODES);
        return 0;
}

static struct frame *top(struct ctx *c) {
        return c->depth > 0 ? &c->stack[c->depth - 1] : NULL;
}

static bool expecting_key(struct ctx *c) {
        struct frame *f = top(c);
        return f && f->is_map && !f->have_key;
}

static int merge_mapping(struct frame *f, json_t *src) {
        const char *k;
        json_t *v;

        json_object_foreach(src, k, v) {
                if (json_object_get(f->node, k))
                        continue; /* the mapping's own keys, and earlier merges, win */
                if (json_object_set_nocheck(f->node, k, v) < 0)
                        return -ENOMEM;
                if (!f->merged && !(f->merged = json_object()))
                        return -ENOMEM;
                if (json_object_set_new_nocheck(f->merged, k, json_true()) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* "<<: *base" or "<<: [*a, *b]": as go-yaml v2, the value is a mapping, an alias to one, or a
 * sequence of those; earlier ones win. An alias to a sequence is refused, as go-yaml does. */
static int merge(struct ctx *c, struct frame *f, json_t *v, bool from_alias, yaml_mark_t mark) {
        int r;

        if (json_is_object(v))
                return merge_mapping(f, v);
        if (json_is_array(v) && !from_alias) {
                size_t i;
                json_t *e;
                json_array_foreach(v, i, e) if (!json_is_object(e)) return fail(
                        c, mark, "map merge requires a mapping or a sequence of mappings as the value");
                json_array_foreach(v, i, e) {
                        r = merge_mapping(f, e);
                        if (r < 0)
                                return r;
                }
                return 0;
        }
        return fail(c, mark, "map merge requires a mapping or a sequence of mappings as the value");
}

/* Hand a finished node (owned) to its parent, or make it the document's root. */
static int add_value(struct ctx *c, json_t *v, bool from_alias, unsigned height, yaml_mark_t mark) {
        struct frame *f = top(c);
        int r = 0;

        if (!f) {
                json_decref(c->root);
                c->root = v;
                c->have_root = true;
                return 0;
        }
        if (height > f->height)
                f->height = height;
        if (!f->is_map)
                return json_array_append_new(f->node, v) < 0 ? -ENOMEM : 0;

        if (f->merge)
                r = merge(c, f, v, from_alias, mark);
        else if (json_object_set_new_nocheck(f->node, f->key, json_incref(v)) < 0)
                r = -ENOMEM;
        json_decref(v);
        f->have_key = f->merge = false;
        free(f->key);
        f->key = NULL;
        return r;
}

/* A mapping key: check for duplicates, remember it for the value that follows. */
static int set_key(struct ctx *c, struct frame *f, const struct scalar *s, const char *text, size_t len,
                   yaml_mark_t mark) {
        _cleanup_free_ char *key = NULL;
        int r;

        r = scalar_to_key(c, s, text, len, mark, &key);
        if (r < 0)
                return r;
        if (json_object_get(f->node, key)) {
                if (!f->merged || !json_object_get(f->merged, key)) {
                        _cleanup_free_ char *q = quote(key, strlen(key));
                        if (!q)
                                return -ENOMEM;
                        return fail(c, mark, "duplicate key %s", q);
                }
                /* a key written out replaces one that "<<" brought in, wherever it stands */
                json_object_del(f->merged, key);
        }
        f->key = TAKE_PTR(key);
        f->have_key = true;
        return 0;
}

static int on_scalar(struct ctx *c, const yaml_event_t *ev) {
        const char *text = (const char *) ev->data.scalar.value;
        const char *tag = (const char *) ev->data.scalar.tag;
        size_t len = ev->data.scalar.length;
        struct scalar s;
        int r;

        r = count(c, 1, len, false, ev->start_mark);
        if (r < 0)
                return r;

        if (expecting_key(c)) {
                struct frame *f = top(c);
                bool is_merge = len == 2 && memcmp(text, "<<", 2) == 0 &&
                                ((!tag && ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) ||
                                 (tag && tag_is(tag, "merge")));
                if (is_merge) {
                        f->merge = f->have_key = true;
                        return 0;
                }
                if (tag && tag_is(tag, "merge"))
                        return fail(c, ev->start_mark, "!!merge tag on a key other than \"<<\"");
                r = resolve_scalar(c, ev, &s);
                if (r < 0)
                        return r;
                if (ev->data.scalar.anchor) {
                        r = anchor_add_scalar(c, (const char *) ev->data.scalar.anchor, &s, text, len);
                        if (r < 0)
                                return r;
                }
                return set_key(c, f, &s, text, len, ev->start_mark);
        }

        if (tag && tag_is(tag, "merge")) {
                char buf[64];
                return fail(c, ev->start_mark, "unsupported tag \"%s\"", short_tag(tag, buf, sizeof buf));
        }
        r = resolve_scalar(c, ev, &s);
        if (r < 0)
                return r;
        json_t *v = NULL;
        r = scalar_to_json(c, &s, text, len, ev->start_mark, &v);
        if (r < 0)
                return r;
        if (ev->data.scalar.anchor) {
                r = anchor_add_scalar(c, (const char *) ev->data.scalar.anchor, &s, text, len);
                if (r < 0) {
                        json_decref(v);
                        return r;
                }
        }
        return add_value(c, v, false, 0, ev->start_mark);
}

static int on_alias(struct ctx *c, const yaml_event_t *ev) {
        const char *name = (const char *) ev->data.alias.anchor;
        json_t *idx = c->anchor_index ? json_object_get(c->anchor_index, name) : NULL;
        struct anchor *a;
        json_t *v = NULL;
        int r;

        if (!idx)
                return fail(c, ev->start_mark, "alias *%s refers to an unknown anchor", name);
        a = &c->anchors[json_integer_value(idx)];
        if (!a->complete)
                return fail(c, ev->start_mark, "anchor &%s contains an alias to itself", name);
        if (c->depth + a->height > PODSPEC_MAX_DEPTH)
                return fail(c, ev->start_mark, "alias *%s nests deeper than %d levels", name,
                            PODSPEC_MAX_DEPTH);
        r = count(c, a->nodes, a->bytes, true, ev->start_mark);
        if (r < 0)
                return r;

        if (expecting_key(c)) {
                if (!a->is_scalar)
                        return fail(c, ev->start_mark,
                                    "a mapping key must be a scalar, not an alias to a %s",
                                    json_is_object(a->value) ? "mapping" : "sequence");
                return set_key(c, top(c), &a->s, a->text, a->len, ev->start_mark);
        }
        if (a->is_scalar)
                r = scalar_to_json(c, &a->s, a->text, a->len, ev->start_mark, &v);
        else {
                /* a copy, not a shared reference: whoever edits the tree later edits one place */
                v = json_deep_copy(a->value);
                r = v ? 0 : -ENOMEM;
        }
        if (r < 0)
                return r;
        return add_value(c, v, true, a->height, ev->start_mark);
}

static int on_collection_start(struct ctx *c, const yaml_event_t *ev, bool is_map) {
        const char *what = is_map ? "mapping" : "sequence";
        const char *tag = (const char *) (is_map ? ev->data.mapping_start.tag : ev->data.sequence_start.tag);
        const char *anchor =
                (const char *) (is_map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor);
        char buf[64];
        int r;

        if (expecting_key(c))
                return fail(c, ev->start_mark, "a mapping key must be a scalar, not a %s", what);
        if (tag && !streq(tag, "!") && !tag_is(tag, is_map ? "map" : "seq")) {
                if (tag_is(tag, is_map ? "seq" : "map") || tag_is(tag, "str") || tag_is(tag, "int") ||
                    tag_is(tag, "float") || tag_is(tag, "bool") || tag_is(tag, "null"))
                        return fail(c, ev->start_mark, "%s tag on a %s", short_tag(tag, buf, sizeof buf),
                                    what);
                return fail(c, ev->start_mark, "unsupported tag \"%s\"", short_tag(tag, buf, sizeof buf));
        }
        if (c->depth >= PODSPEC_MAX_DEPTH)
                return fail(c, ev->start_mark, "nesting is deeper than %d levels", PODSPEC_MAX_DEPTH);
        r = count(c, 1, 0, false, ev->start_mark);
        if (r < 0)
                return r;

        struct frame f = {
                .is_map = is_map,
                .anchor = -1,
                .nodes_start = c->doc_nodes - 1,
                .bytes_start = c->doc_bytes,
                .mark = ev->start_mark,
        };
        f.node = is_map ? json_object() : json_array();
        if (!f.node)
                return -ENOMEM;
        if (anchor) {
                f.anchor = anchor_add(c, anchor);
                if (f.anchor < 0) {
                        json_decref(f.node);
                        return (int) f.anchor;
                }
        }
        c->stack[c->depth++] = f;
        return 0;
}

static void frame_done(struct frame *f) {
        json_decref(f->node);
        json_decref(f->merged);
        free(f->key);
        *f = (struct frame){};
}

static int on_collection_end(struct ctx *c) {
        if (c->depth == 0)
                return 0; /* libyaml pairs them; be safe anyway */
        struct frame f = c->stack[--c->depth];
        unsigned height = f.height + 1;
        yaml_mark_t mark = f.mark;
        json_t *node = TAKE_PTR(f.node);

        if (f.anchor >= 0) {
                struct anchor *a = &c->anchors[f.anchor];
                a->value = json_incref(node);
                a->nodes = c->doc_nodes - f.nodes_start;
                a->bytes = c->doc_bytes - f.bytes_start;
                a->height = height;
                a->complete = true;
        }
        frame_done(&f);
        return add_value(c, node, false, height, mark);
}

static void document_reset(struct ctx *c) {
        while (c->depth > 0)
                frame_done(&c->stack[--c->depth]);
        json_decref(c->root);
        c->root = NULL;
        c->have_root = false;
        c->doc_nodes = c->doc_bytes = 0;
        anchors_clear(c);
}

static int on_document_end(struct ctx *c) {
        int r = 0;

        if (c->have_root && !json_is_null(c->root)) {
                if (json_array_size(c->docs) >= PODSPEC_MAX_DOCUMENTS)
                        r = fail(c, c->doc_mark, "more than %d documents", PODSPEC_MAX_DOCUMENTS);
                else if (json_array_append(c->docs, c->root) < 0)
                        r = -ENOMEM;
        }
        document_reset(c);
        return r;
}

static int on_event(struct ctx *c, const yaml_event_t *ev) {
        switch (ev->type) {
        case YAML_DOCUMENT_START_EVENT:
                document_reset(c);
                c->doc_mark = ev->start_mark;
                return 0;
        case YAML_DOCUMENT_END_EVENT:
                return on_document_end(c);
        case YAML_SCALAR_EVENT:
                return on_scalar(c, ev);
        case YAML_ALIAS_EVENT:
                return on_alias(c, ev);
        case YAML_SEQUENCE_START_EVENT:
                return on_collection_start(c, ev, false);
        case YAML_MAPPING_START_EVENT:
                return on_collection_start(c, ev, true);
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
                return on_collection_end(c);
        default:
                return 0;
        }
}

/* libyaml's reader has no mark, only a byte offset, and a value that is an octet for the
 * "...octet" problems and a code point for the others. */
static int reader_error(struct ctx *c, size_t line, size_t column) {
        const yaml_parser_t *p = &c->parser;
        const char *problem = strempty(p->problem);
        const char *what = "";
        char value[32] = "";

        if (strstr(problem, "UTF-8") || strstr(problem, "Unicode"))
                what = "input is not valid UTF-8: ";
        else if (strstr(problem, "UTF-16") || strstr(problem, "surrogate"))
                what = "input is not valid UTF-16: ";
        if (p->problem_value >= 0) {
                if (strstr(problem, "octet"))
                        snprintf(value, sizeof value, "byte 0x%02X ", (unsigned) p->problem_value & 0xFFu);
                else
                        snprintf(value, sizeof value, "U+%04X ", (unsigned) p->problem_value);
        }
        return fail_at(c, line, column, "%s%s (%sat byte offset %zu)", what, problem, value,
                       p->problem_offset);
}

/* libyaml's own errors, with its problem text and mark. */
static int parser_error(struct ctx *c, const char *buf, size_t len) {
        const yaml_parser_t *p = &c->parser;
        size_t line, column;

        switch (p->error) {
        case YAML_MEMORY_ERROR:
                return -ENOMEM;
        case YAML_READER_ERROR:
                /* the reader has only a byte offset */
                offset_position(buf, len, p->problem_offset, &line, &column);
                return reader_error(c, line, column);
        case YAML_SCANNER_ERROR:
        case YAML_PARSER_ERROR:
                if (p->context)
                        return fail(c, p->problem_mark, "%s (%s at line %zu, column %zu)",
                                    strempty(p->problem), p->context, p->context_mark.line + 1,
                                    p->context_mark.column + 1);
                return fail(c, p->problem_mark, "%s", strempty(p->problem));
        default:
                return fail(c, p->problem_mark, "YAML error: %s", p->problem ? p->problem : "unknown");
        }
}

int podspec_yaml_to_json(const char *buf, size_t len, json_t **ret_docs, char **ret_error) {
        struct ctx c = {};
        bool parser_ready = false;
        int r = 0;

        if (!buf && len == 0)
                buf = ""; /* an empty file; libyaml wants a pointer */
        if (!buf)
                return -EINVAL;
        c.docs = json_array();
        if (!c.docs)
                return -ENOMEM;

        if (len > PODSPEC_MAX_INPUT_BYTES) {
                size_t line, column;
                offset_position(buf, len, PODSPEC_MAX_INPUT_BYTES, &line, &column);
                r = fail_at(&c, line, column, "input is larger than %u bytes", PODSPEC_MAX_INPUT_BYTES);
                goto finish;
        }
        if (!yaml_parser_initialize(&c.parser)) {
                r = -ENOMEM;
                goto finish;
        }
        parser_ready = true;
        yaml_parser_set_input_string(&c.parser, (const unsigned char *) buf, len);

        for (;;) {
                yaml_event_t ev;
                if (!yaml_parser_parse(&c.parser, &ev)) {
                        r = parser_error(&c, buf, len);
                        break;
                }
                r = on_event(&c, &ev);
                bool end = ev.type == YAML_STREAM_END_EVENT;
                yaml_event_delete(&ev);
                if (r < 0 || end)
                        break;
        }

finish:
        document_reset(&c);
        free(c.anchors);
        json_decref(c.anchor_index);
        if (parser_ready)
                yaml_parser_delete(&c.parser);
        if (r == -ENOMEM) {
                json_decref(c.docs);
                free(c.error);
                return -ENOMEM;
        }
        *ret_docs = c.docs;
        if (ret_error)
                *ret_error = c.error;
        else
                free(c.error);
        return r < 0 ? r : 0;
}
