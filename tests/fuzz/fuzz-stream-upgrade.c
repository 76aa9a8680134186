/* SPDX-License-Identifier: Apache-2.0 */
/* The upgrade layer of stream/ on arbitrary bytes: the request head parser, both negotiations
 * for each kind (a 101 or a refusal with a response, never neither), the query parsers on the
 * head's target, the resize stream; and the error stream's Status with the input as the
 * runtime's message: it must be JSON that jansson reads back to the same message. */
#include <jansson.h>

#include "common/util.h"
#include "stream/stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_size(void *userdata, uint16_t w, uint16_t h) {
        (void) userdata;
        (void) w;
        (void) h;
}

/* Strict UTF-8: what Go's encoder passes through unchanged (jansson reads it back the same). */
static bool utf8_valid(const char *s) {
        const uint8_t *p = (const uint8_t *) s;
        while (*p) {
                size_t n = *p < 0x80                  ? 1
                           : *p >= 0xc2 && *p <= 0xdf ? 2
                           : *p >= 0xe0 && *p <= 0xef ? 3
                           : *p >= 0xf0 && *p <= 0xf4 ? 4
                                                      : 0;
                if (n == 0)
                        return false;
                uint32_t cp = n == 1 ? *p : n == 2 ? *p & 0x1fu : n == 3 ? *p & 0x0fu : *p & 0x07u;
                for (size_t i = 1; i < n; i++) {
                        if ((p[i] & 0xc0) != 0x80)
                                return false;
                        cp = cp << 6 | (p[i] & 0x3fu);
                }
                if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
                    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
                        return false;
                p += n;
        }
        return true;
}

static void status(const uint8_t *data, size_t size) {
        _cleanup_free_ char *msg = strndup((const char *) data, size);
        char *cmd[] = {msg, NULL};
        const int versions[] = {1, 4, 5};

        if (!msg)
                return;
        for (size_t v = 0; v < ELEMENTSOF(versions); v++)
                for (int kind = STREAM_RESULT_SUCCESS; kind <= STREAM_RESULT_ERROR; kind++) {
                        struct stream_upgrade up = {.transport = STREAM_TRANSPORT_WEBSOCKET,
                                                    .version = versions[v]};
                        struct stream_result res = {.kind = kind, .exit_code = 3, .message = msg};
                        _cleanup_free_ char *s = NULL;
                        size_t len = 0;
                        if (stream_status_encode(&up, &res, cmd, &s, &len) < 0)
                                continue;
                        if (versions[v] < 4 || !s)
                                continue;
                        json_error_t e;
                        json_t *j = json_loadb(s, len, 0, &e);
                        if (!j)
                                abort(); /* not JSON */
                        const char *m = json_string_value(json_object_get(j, "message"));
                        /* the message ends with the input when it was valid UTF-8 without NULs */
                        if (!m != (kind == STREAM_RESULT_SUCCESS))
                                abort();
                        if (kind == STREAM_RESULT_ERROR && strlen(msg) == size && utf8_valid(msg) &&
                            (strlen(m) < size || strcmp(m + strlen(m) - size, msg) != 0))
                                abort();
                        json_decref(j);
                }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct stream_http_request rq = {};
        nl_error err = NL_ERROR_INIT;

        if (size > 256 * 1024)
                return 0;
        if (stream_http_parse_head(data, size, &rq) == 0) {
                if (rq.head_len > size || !rq.method || !rq.target)
                        abort();
                for (enum stream_kind k = STREAM_KIND_EXEC; k <= STREAM_KIND_PORTFORWARD; k++) {
                        struct stream_upgrade up = {};
                        int r = stream_upgrade(&rq, k, &up, &err);
                        if (!up.response || up.response_len != strlen(up.response) ||
                            (r == 0) != (up.status == 101))
                                abort();
                        stream_upgrade_done(&up);
                }
                struct stream_exec_options o = {};
                if (stream_exec_options_parse(rq.target, true, &o, &err) == 0) {
                        if (o.n_command == 0 || o.command[o.n_command] ||
                            (!o.stdin && !o.stdout && !o.stderr))
                                abort();
                        stream_exec_options_done(&o);
                }
                uint16_t *ports = NULL;
                size_t n = 0;
                if (stream_ports_parse(rq.target, &ports, &n, &err) == 0) {
                        if (n == 0 || n > STREAM_PORTS_MAX)
                                abort();
                        for (size_t i = 0; i < n; i++)
                                if (ports[i] == 0)
                                        abort();
                        free(ports);
                }
                stream_http_request_done(&rq);
        }
        nl_error_clear(&err);

        struct stream_resize r = {};
        stream_resize_feed(&r, data, size, on_size, NULL);
        stream_resize_done(&r);

        status(data, size);
        return 0;
}
