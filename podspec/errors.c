/* SPDX-License-Identifier: Apache-2.0 */
/* Field errors rendered the way apimachinery's field.Error prints them:
 *   "<path>: <Type>[: <value>][: <detail>]"  */
#include <stdio.h>

#include "podspec.h"

static const char *const error_type_text[_POD_ERROR_TYPE_MAX] = {
        [POD_ERROR_REQUIRED] = "Required value",
        [POD_ERROR_INVALID] = "Invalid value",
        [POD_ERROR_NOT_SUPPORTED] = "Unsupported value",
        [POD_ERROR_DUPLICATE] = "Duplicate value",
        [POD_ERROR_FORBIDDEN] = "Forbidden",
        [POD_ERROR_NOT_FOUND] = "Not found",
        [POD_ERROR_TOO_LONG] = "Too long",
        [POD_ERROR_TOO_MANY] = "Too many",
        [POD_ERROR_TYPE] = "Invalid type",
        [POD_ERROR_UNKNOWN_FIELD] = "unknown field",
        [POD_ERROR_SYNTAX] = "syntax error",
};

void pod_error_list_done(pod_error_list *l) {
        if (!l)
                return;
        for (size_t i = 0; i < l->n_items; i++) {
                free(l->items[i].field);
                free(l->items[i].message);
        }
        free(l->items);
        l->items = NULL;
        l->n_items = 0;
        l->truncated = false;
}

static void error_list_push(pod_error_list *l, pod_error_type type, const char *field, char *message) {
        if (!message)
                return;
        if (l->n_items >= PODSPEC_MAX_ERRORS) {
                l->truncated = true;
                free(message);
                return;
        }
        struct pod_field_error *n = realloc(l->items, (l->n_items + 1) * sizeof(*n));
        char *f = strdup(strempty(field));
        if (!n || !f) {
                if (n)
                        l->items = n;
                free(f);
                free(message);
                return;
        }
        l->items = n;
        l->items[l->n_items++] = (struct pod_field_error){ .type = type, .field = f, .message = message };
}

void pod_error_add(pod_error_list *l, pod_error_type type, const char *field, const char *value,
                   const char *detail_fmt, ...) {
        if (!l || type < 0 || type >= _POD_ERROR_TYPE_MAX)
                return;

        nl_buf b = {};
        _cleanup_free_ char *detail = NULL;
        detail = NL_FORMAT_VA(detail_fmt);

        switch (type) {
        case POD_ERROR_UNKNOWN_FIELD:
                /* kubectl --validate=strict: unknown field "spec.foo" */
                nl_buf_printf(&b, "unknown field \"%s\"", strempty(field));
                break;
        case POD_ERROR_SYNTAX:
                nl_buf_puts(&b, strempty(detail));
                detail[0] = '\0';
                break;
        default:
                if (!isempty(field))
                        nl_buf_printf(&b, "%s: ", field);
                nl_buf_puts(&b, error_type_text[type]);
                if (type != POD_ERROR_REQUIRED && type != POD_ERROR_FORBIDDEN && type != POD_ERROR_TOO_LONG &&
                    value)
                        nl_buf_printf(&b, ": %s", value);
                if (!isempty(detail))
                        nl_buf_printf(&b, ": %s", detail);
        }
        error_list_push(l, type, field, nl_buf_steal(&b));
}

/* Go's strconv.Quote, which is how field errors render string values (%q). */
char *pod_error_quote(const char *s) {
        nl_buf b = {};
        const unsigned char *p = (const unsigned char *) strempty(s);

        nl_buf_puts(&b, "\"");
        while (*p) {
                unsigned char c = *p;
                switch (c) {
                case '"': nl_buf_puts(&b, "\\\""); p++; continue;
                case '\\': nl_buf_puts(&b, "\\\\"); p++; continue;
                case '\a': nl_buf_puts(&b, "\\a"); p++; continue;
                case '\b': nl_buf_puts(&b, "\\b"); p++; continue;
                case '\f': nl_buf_puts(&b, "\\f"); p++; continue;
                case '\n': nl_buf_puts(&b, "\\n"); p++; continue;
                case '\r': nl_buf_puts(&b, "\\r"); p++; continue;
                case '\t': nl_buf_puts(&b, "\\t"); p++; continue;
                case '\v': nl_buf_puts(&b, "\\v"); p++; continue;
                default: break;
                }
                if (c < 0x20 || c == 0x7f) {
                        nl_buf_printf(&b, "\\x%02x", c);
                        p++;
                        continue;
                }
                if (c < 0x80) {
                        nl_buf_append(&b, (const char *) p, 1);
                        p++;
                        continue;
                }
                /* Keep well-formed UTF-8 sequences; escape stray bytes. */
                size_t n = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
                bool ok = n > 0;
                for (size_t i = 1; ok && i < n; i++)
                        ok = (p[i] & 0xc0) == 0x80;
                if (ok) {
                        nl_buf_append(&b, (const char *) p, n);
                        p += n;
                } else {
                        nl_buf_printf(&b, "\\x%02x", c);
                        p++;
                }
        }
        nl_buf_puts(&b, "\"");
        return nl_buf_steal(&b);
}
