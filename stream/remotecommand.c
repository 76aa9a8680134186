/* SPDX-License-Identifier: Apache-2.0 */
/* The remotecommand and port-forward semantics both transports share: the query parameters
 * the kubelet reads (k8s.io/cri-streaming remotecommand.NewOptions, portforward.NewV4Options),
 * what goes on the error stream at the end, and the resize stream. */
#include <jansson.h>

#include "internal.h"

/* ==== query strings ========================================================================== */

static int hexval(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* application/x-www-form-urlencoded unescaping, as Go's url.QueryUnescape: "+" is a space. */
static int unescape(const char *s, size_t n, char **ret) {
        char *out = malloc(n + 1);
        size_t o = 0;

        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                if (s[i] == '%') {
                        int hi = i + 2 < n ? hexval(s[i + 1]) : -1;
                        int lo = i + 2 < n ? hexval(s[i + 2]) : -1;
                        if (hi < 0 || lo < 0) {
                                free(out);
                                return -EINVAL;
                        }
                        out[o++] = (char) (hi << 4 | lo);
                        i += 2;
                } else
                        out[o++] = s[i] == '+' ? ' ' : s[i];
        }
        out[o] = '\0';
        *ret = out;
        return (int) o;
}

typedef int (*query_fn)(void *userdata, const char *key, const char *value, size_t value_len);

/* Every key=value of the query (after "?", or the whole string), unescaped. */
static int query_foreach(const char *query, query_fn fn, void *userdata) {
        const char *q = query ? strchr(query, '?') : NULL;
        const char *p = q ? q + 1 : strempty(query);

        while (*p) {
                size_t l = strcspn(p, "&");
                size_t eq = strcspn(p, "=");
                if (l > 0) {
                        _cleanup_free_ char *k = NULL, *v = NULL;
                        size_t kl = MIN(eq, l);
                        int r = unescape(p, kl, &k);
                        if (r < 0)
                                return r;
                        r = kl < l ? unescape(p + kl + 1, l - kl - 1, &v) : unescape("", 0, &v);
                        if (r < 0)
                                return r;
                        r = fn(userdata, k, v, (size_t) r);
                        if (r < 0)
                                return r;
                }
                p += l;
                if (*p == '&')
                        p++;
        }
        return 0;
}

struct exec_query {
        const char *first[4]; /* input, output, error, tty: the first value, as req.FormValue */
        char *values[4];
        char **command;
        size_t n_command, bytes;
};

static const char *const exec_params[4] = {"input", "output", "error", "tty"};

static int exec_param(void *userdata, const char *key, const char *value, size_t value_len) {
        struct exec_query *q = userdata;

        for (size_t i = 0; i < ELEMENTSOF(exec_params); i++)
                if (streq(key, exec_params[i]) && !q->values[i]) {
                        q->values[i] = strdup(value);
                        return q->values[i] ? 0 : -ENOMEM;
                }
        if (!streq(key, "command"))
                return 0;
        if (q->n_command >= STREAM_COMMAND_MAX || value_len > STREAM_COMMAND_BYTES - q->bytes)
                return -E2BIG;
        if (memchr(value, '\0', value_len))
                return -EINVAL;
        char **c = realloc(q->command, (q->n_command + 2) * sizeof(char *));
        if (!c)
                return -ENOMEM;
        q->command = c;
        c[q->n_command] = strdup(value);
        if (!c[q->n_command])
                return -ENOMEM;
        c[++q->n_command] = NULL;
        q->bytes += value_len;
        return 0;
}

void stream_exec_options_done(struct stream_exec_options *o) {
        for (size_t i = 0; i < o->n_command; i++)
                free(o->command[i]);
        free(o->command);
        *o = (struct stream_exec_options){};
}

int stream_exec_options_parse(const char *query, bool exec, struct stream_exec_options *ret, nl_error *err) {
        struct exec_query q = {};
        int r = query_foreach(query, exec_param, &q);
        struct stream_exec_options o = {.command = q.command, .n_command = q.n_command};

        bool *flags[4] = {&o.stdin, &o.stdout, &o.stderr, &o.tty};
        for (size_t i = 0; i < 4; i++) {
                *flags[i] = streq_ptr(q.values[i], "1");
                free(q.values[i]);
        }
        if (r == -E2BIG) {
                stream_exec_options_done(&o);
                return nl_error_set(err, r, "command too long (at most %u arguments, %u bytes)",
                                    STREAM_COMMAND_MAX, STREAM_COMMAND_BYTES);
        }
        if (r < 0) {
                stream_exec_options_done(&o);
                return nl_error_set(err, r == -ENOMEM ? r : -EINVAL, "invalid query");
        }
        /* the kubelet drops stderr under a tty: the terminal carries both */
        if (o.tty && o.stderr)
                o.stderr = false;
        if (!o.stdin && !o.stdout && !o.stderr) {
                stream_exec_options_done(&o);
                return nl_error_set(err, -EINVAL, "you must specify at least 1 of stdin, stdout, stderr");
        }
        if (exec && o.n_command == 0) {
                stream_exec_options_done(&o);
                return nl_error_set(err, -EINVAL, "you must specify a command");
        }
        *ret = o;
        return 0;
}

struct ports_query {
        uint16_t *ports;
        size_t n;
        char *bad;
        bool empty;
};

static int port_param(void *userdata, const char *key, const char *value, size_t value_len) {
        struct ports_query *q = userdata;

        if (!streq(key, "port"))
                return 0;
        if (value_len == 0) {
                q->empty = true;
                return -EINVAL;
        }
        for (const char *p = value;;) {
                size_t l = strcspn(p, ",");
                _cleanup_free_ char *one = strndup(p, l);
                int64_t v;
                if (!one)
                        return -ENOMEM;
                if (nl_parse_int64(one, 1, 65535, &v) < 0 || one[0] == '+' || one[0] == '-' ||
                    one[0] == ' ') {
                        q->bad = strdup(value);
                        return -EINVAL;
                }
                if (q->n >= STREAM_PORTS_MAX)
                        return -E2BIG;
                uint16_t *n = realloc(q->ports, (q->n + 1) * sizeof(uint16_t));
                if (!n)
                        return -ENOMEM;
                q->ports = n;
                q->ports[q->n++] = (uint16_t) v;
                if (p[l] != ',')
                        break;
                p += l + 1;
        }
        return 0;
}

int stream_ports_parse(const char *query, uint16_t **ret, size_t *ret_n, nl_error *err) {
        struct ports_query q = {};
        int r = query_foreach(query, port_param, &q);

        if (r >= 0 && q.n == 0)
                r = nl_error_set(err, -EINVAL, "query parameter \"port\" is required");
        else if (q.empty)
                r = nl_error_set(err, -EINVAL, "query parameter \"port\" cannot be empty");
        else if (q.bad)
                r = nl_error_set(err, -EINVAL, "unable to parse \"%s\" as a port", q.bad);
        else if (r == -E2BIG)
                r = nl_error_set(err, r, "too many ports (at most %u)", STREAM_PORTS_MAX);
        else if (r < 0)
                r = nl_error_set(err, r == -ENOMEM ? r : -EINVAL, "invalid query");
        free(q.bad);
        if (r < 0) {
                free(q.ports);
                return r;
        }
        *ret = q.ports;
        *ret_n = q.n;
        return 0;
}

/* ==== the error stream ======================================================================= */

int stream_json_string(struct stream_buf *out, const char *s) {
        static const char hex[] = "0123456789abcdef";
        const uint8_t *p = (const uint8_t *) s;
        int r = stream_buf_append(out, "\"", 1);

        while (r >= 0 && *p) {
                char esc[8];
                size_t el = 0;
                uint8_t c = *p;
                if (c == '"' || c == '\\') {
                        esc[0] = '\\';
                        esc[1] = (char) c;
                        el = 2;
                } else if (c == '\n' || c == '\r' || c == '\t') {
                        esc[0] = '\\';
                        esc[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
                        el = 2;
                } else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
                        memcpy(esc, "\\u00", 4);
                        esc[4] = hex[c >> 4];
                        esc[5] = hex[c & 15];
                        el = 6;
                }
                if (el) {
                        r = stream_buf_append(out, esc, el);
                        p++;
                        continue;
                }
                if (c < 0x80) {
                        r = stream_buf_append(out, p, 1);
                        p++;
                        continue;
                }
                /* a UTF-8 sequence: copied when valid, else U+FFFD as Go writes it */
                size_t n = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c <= 0xdf ? 2 : 0;
                uint32_t cp = n == 4 ? c & 0x07u : n == 3 ? c & 0x0fu : c & 0x1fu;
                bool ok = n > 0 && c < 0xf5;
                for (size_t i = 1; ok && i < n; i++) {
                        if ((p[i] & 0xc0) != 0x80)
                                ok = false;
                        else
                                cp = cp << 6 | (p[i] & 0x3fu);
                }
                if (ok && ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
                           (n == 4 && (cp < 0x10000 || cp > 0x10ffff))))
                        ok = false;
                if (!ok) {
                        r = stream_buf_append(out, "\\ufffd", 6);
                        p++;
                } else if (cp == 0x2028 || cp == 0x2029) {
                        r = stream_buf_append(out, cp == 0x2028 ? "\\u2028" : "\\u2029", 6);
                        p += n;
                } else {
                        r = stream_buf_append(out, p, n);
                        p += n;
                }
        }
        return r < 0 ? r : stream_buf_append(out, "\"", 1);
}

void stream_result_done(struct stream_result *r) {
        free(r->message);
        r->message = NULL;
}

static int put(struct stream_buf *b, const char *s) {
        return stream_buf_append(b, s, strlen(s));
}

/* Go's %v of a []string: "[a b c]". */
static char *command_string(char *const *command) {
        nl_buf b = {};
        nl_buf_puts(&b, "[");
        for (size_t i = 0; command && command[i]; i++)
                nl_buf_printf(&b, "%s%s", i ? " " : "", command[i]);
        nl_buf_puts(&b, "]");
        if (b.oom) {
                nl_buf_free(&b);
                return NULL;
        }
        return nl_buf_steal(&b);
}

int stream_status_encode(const struct stream_upgrade *up, const struct stream_result *res,
                         char *const *command, char **ret, size_t *ret_len) {
        /* the translator's metav1.Status on v5.channel.k8s.io WebSockets, else the CRI streaming
         * server's status */
        bool translator = up->transport == STREAM_TRANSPORT_WEBSOCKET && up->version == 5;
        bool attach = up->kind == STREAM_KIND_ATTACH;
        enum stream_result_kind kind = res->kind;
        _cleanup_free_ char *message = NULL, *cause = NULL;
        struct stream_buf b = {};
        int r = 0;

        /* the kubelet's attach reports only whether attaching worked */
        if (attach && kind == STREAM_RESULT_EXIT_CODE)
                kind = STREAM_RESULT_SUCCESS;
        if (kind == STREAM_RESULT_EXIT_CODE) {
                if (translator)
                        message =
                                nl_strdupf("command terminated with non-zero exit code: command terminated "
                                           "with exit code %d",
                                           res->exit_code);
                else {
                        _cleanup_free_ char *cmd = command_string(command);
                        message =
                                cmd ? nl_strdupf(
                                              "command terminated with non-zero exit code: error executing "
                                              "command %s, exit code %d",
                                              cmd, res->exit_code)
                                    : NULL;
                }
        } else if (kind == STREAM_RESULT_ERROR) {
                cause = nl_strdupf("%s: %s",
                                   attach ? "error attaching to container"
                                          : "error executing command in container",
                                   strempty(res->message));
                message = cause ? nl_strdupf("Internal error occurred: %s", cause) : NULL;
        }
        if (kind != STREAM_RESULT_SUCCESS && !message)
                return -ENOMEM;

        if (up->version < 4) {
                /* v1WriteStatusFunc: the message of a failure, nothing on success */
                *ret_len = message ? strlen(message) : 0;
                *ret = TAKE_PTR(message);
                return 0;
        }

        r = put(&b, translator ? "{\"metadata\":{}," : "{");
        if (r >= 0)
                r = put(&b,
                        kind == STREAM_RESULT_SUCCESS ? "\"status\":\"Success\"" : "\"status\":\"Failure\"");
        if (r >= 0 && message) {
                r = put(&b, ",\"message\":");
                if (r >= 0)
                        r = stream_json_string(&b, message);
        }
        if (r >= 0 && kind == STREAM_RESULT_EXIT_CODE) {
                char code[16];
                snprintf(code, sizeof(code), "%d", res->exit_code);
                r = put(&b,
                        ",\"reason\":\"NonZeroExitCode\",\"details\":{\"causes\":[{\"reason\":\"ExitCode\","
                        "\"message\":\"");
                if (r >= 0)
                        r = put(&b, code);
                if (r >= 0)
                        r = put(&b, "\"}]}");
        }
        if (r >= 0 && kind == STREAM_RESULT_ERROR) {
                r = put(&b, ",\"reason\":\"InternalError\"");
                if (r >= 0 && translator) {
                        r = put(&b, ",\"details\":{\"causes\":[{\"message\":");
                        if (r >= 0)
                                r = stream_json_string(&b, cause);
                        if (r >= 0)
                                r = put(&b, "}]}");
                }
                if (r >= 0)
                        r = put(&b, ",\"code\":500");
        }
        if (r >= 0)
                r = stream_buf_append(&b, "}", 2); /* with the NUL */
        if (r < 0) {
                stream_buf_free(&b);
                return r;
        }
        *ret_len = b.len - 1;
        *ret = (char *) b.data;
        return 0;
}

/* ==== the resize stream ====================================================================== */

#define RESIZE_BUFFER_MAX 4096u

/* One decoded value into a TerminalSize as Go's json would: an object with integer Width and
 * Height in 0..65535 (keys case-insensitive, others ignored, null leaves a field), or null. */
static int terminal_size(json_t *v, uint16_t *w, uint16_t *h) {
        const char *key;
        json_t *val;

        *w = *h = 0;
        if (json_is_null(v))
                return 0;
        if (!json_is_object(v))
                return -EINVAL;
        json_object_foreach(v, key, val) {
                uint16_t *field = strcasecmp(key, "width") == 0    ? w
                                  : strcasecmp(key, "height") == 0 ? h
                                                                   : NULL;
                if (!field || json_is_null(val))
                        continue;
                if (!json_is_integer(val) || json_integer_value(val) < 0 || json_integer_value(val) > 65535)
                        return -EINVAL;
                *field = (uint16_t) json_integer_value(val);
        }
        return 0;
}

void stream_resize_feed(struct stream_resize *r, const void *data, size_t len, stream_resize_fn fn,
                        void *userdata) {
        if (r->failed)
                return;
        if (stream_buf_size(&r->buf) + len > RESIZE_BUFFER_MAX ||
            stream_buf_append(&r->buf, data, len) < 0) {
                r->failed = true;
                return;
        }
        for (;;) {
                const char *p = (const char *) stream_buf_head(&r->buf);
                size_t n = stream_buf_size(&r->buf), ws = 0;
                while (ws < n && strchr(" \t\r\n", p[ws]))
                        ws++;
                stream_buf_consume(&r->buf, ws);
                if (ws == n)
                        return;
                json_error_t e;
                json_t *v = json_loadb(p + ws, n - ws, JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY, &e);
                if (!v) {
                        if (json_error_code(&e) != json_error_premature_end_of_input)
                                r->failed = true;
                        return;
                }
                /* a bare number or literal may have read one byte past itself */
                size_t used = (size_t) e.position;
                uint16_t w, h;
                int k = terminal_size(v, &w, &h);
                json_decref(v);
                if (k < 0 || used == 0 || used > n - ws) {
                        r->failed = true;
                        return;
                }
                stream_buf_consume(&r->buf, used);
                if (fn)
                        fn(userdata, w, h);
        }
}

void stream_resize_done(struct stream_resize *r) {
        stream_buf_free(&r->buf);
}
