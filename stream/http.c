/* SPDX-License-Identifier: Apache-2.0 */
/* HTTP/1.1 request heads and the two upgrades the kubelet's streaming endpoints accept:
 *   - SPDY/3.1 (k8s.io/streaming httpstream.Handshake, then spdy.responseUpgrader): the
 *     client's X-Stream-Protocol-Version values (any number of lines, comma-separated) in its
 *     order, the first one the server speaks wins; none -> 403 listing the server's in
 *     X-Accepted-Stream-Protocol-Versions; then Connection must mention upgrade and Upgrade
 *     SPDY/3.1, else 400;
 *   - WebSocket (golang.org/x/net/websocket under k8s.io/streaming wsstream): GET, version 13,
 *     a 16-byte key; Sec-WebSocket-Protocol in the client's order, no header meaning the
 *     subprotocol ""; none acceptable -> 403 with no body, which client-go's fallback executor
 *     and dialer take as the cue to retry over SPDY. */
#include <ctype.h>
#include <openssl/evp.h>

#include "internal.h"

static bool token_char(char c) {
        return c > ' ' && c < 127 && !strchr("()<>@,;:\\\"/[]?={}", c);
}

void stream_http_request_done(struct stream_http_request *rq) {
        free(rq->buf);
        *rq = (struct stream_http_request){};
}

/* The end of the head: the byte after the empty line, or 0. Bare LF is accepted, as Go's
 * net/textproto does. */
static size_t head_end(const char *p, size_t len) {
        for (size_t i = 0; i < len; i++) {
                if (p[i] != '\n')
                        continue;
                if (i + 1 < len && p[i + 1] == '\n')
                        return i + 2;
                if (i + 2 < len && p[i + 1] == '\r' && p[i + 2] == '\n')
                        return i + 3;
        }
        return 0;
}

static char *trim(char *s) {
        s += strspn(s, " \t");
        size_t l = strlen(s);
        while (l > 0 && (s[l - 1] == ' ' || s[l - 1] == '\t' || s[l - 1] == '\r'))
                s[--l] = '\0';
        return s;
}

int stream_http_parse_head(const void *data, size_t len, struct stream_http_request *ret) {
        struct stream_http_request rq = {};
        size_t end = head_end(data, MIN(len, (size_t) STREAM_HTTP_HEAD_MAX));
        char *save = NULL, *line;

        if (end == 0)
                return len >= STREAM_HTTP_HEAD_MAX ? -EMSGSIZE : -EAGAIN;
        if (memchr(data, '\0', end))
                return -EBADMSG;
        rq.buf = strndup(data, end);
        if (!rq.buf)
                return -ENOMEM;
        rq.head_len = end;

        line = strtok_r(rq.buf, "\n", &save);
        if (!line)
                goto bad;
        line = trim(line);
        char *sp1 = strchr(line, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
        if (!sp1 || !sp2 || strchr(sp2 + 1, ' '))
                goto bad;
        *sp1 = *sp2 = '\0';
        if (!streq(sp2 + 1, "HTTP/1.1") && !streq(sp2 + 1, "HTTP/1.0"))
                goto bad;
        if (!*line || sp1[1] != '/')
                goto bad;
        for (const char *m = line; *m; m++)
                if (!token_char(*m))
                        goto bad;
        for (const char *t = sp1 + 1; *t; t++)
                if ((unsigned char) *t <= ' ' || *t == 127)
                        goto bad;
        rq.method = line;
        rq.target = sp1 + 1;

        while ((line = strtok_r(NULL, "\n", &save))) {
                if (line[0] == '\r' && line[1] == '\0')
                        break;
                if (rq.n_headers >= STREAM_HTTP_HEADERS_MAX) {
                        stream_http_request_done(&rq);
                        return -EMSGSIZE;
                }
                char *colon = strchr(line, ':');
                if (!colon || colon == line)
                        goto bad; /* also obs-fold continuation lines */
                for (char *k = line; k < colon; k++)
                        if (!token_char(*k))
                                goto bad;
                *colon = '\0';
                char *v = trim(colon + 1);
                for (char *c = v; *c; c++)
                        if (((unsigned char) *c < ' ' && *c != '\t') || *c == 127)
                                goto bad;
                rq.headers[rq.n_headers++] = (struct stream_http_header){line, v};
        }
        *ret = rq;
        return 0;
bad:
        stream_http_request_done(&rq);
        return -EBADMSG;
}

const char *stream_http_header(const struct stream_http_request *rq, const char *name) {
        for (size_t i = 0; i < rq->n_headers; i++)
                if (strcasecmp(rq->headers[i].name, name) == 0)
                        return rq->headers[i].value;
        return NULL;
}

bool stream_http_header_has_token(const struct stream_http_request *rq, const char *name,
                                  const char *token) {
        size_t tl = strlen(token);
        for (size_t i = 0; i < rq->n_headers; i++) {
                if (strcasecmp(rq->headers[i].name, name) != 0)
                        continue;
                for (const char *p = rq->headers[i].value; *p;) {
                        p += strspn(p, " \t,");
                        size_t l = strcspn(p, ",");
                        size_t e = l;
                        while (e > 0 && (p[e - 1] == ' ' || p[e - 1] == '\t'))
                                e--;
                        if (e == tl && strncasecmp(p, token, tl) == 0)
                                return true;
                        p += l;
                }
        }
        return false;
}

/* Whether any line of the header contains needle, case-insensitively (Go's strings.Contains on
 * lowercased values, as IsUpgradeRequest and the SPDY upgrader test them). */
static bool header_contains(const struct stream_http_request *rq, const char *name, const char *needle) {
        for (size_t i = 0; i < rq->n_headers; i++)
                if (strcasecmp(rq->headers[i].name, name) == 0 && strcasestr(rq->headers[i].value, needle))
                        return true;
        return false;
}

/* ==== protocols ============================================================================== */

static const char *const protocol_names[_STREAM_PROTOCOL_MAX] = {
        [STREAM_PROTOCOL_NONE] = "",
        [STREAM_PROTOCOL_V1] = "channel.k8s.io",
        [STREAM_PROTOCOL_V2] = "v2.channel.k8s.io",
        [STREAM_PROTOCOL_V3] = "v3.channel.k8s.io",
        [STREAM_PROTOCOL_V4] = "v4.channel.k8s.io",
        [STREAM_PROTOCOL_V5] = "v5.channel.k8s.io",
        [STREAM_PROTOCOL_BASE64] = "base64.channel.k8s.io",
        [STREAM_PROTOCOL_V4_BASE64] = "v4.base64.channel.k8s.io",
        [STREAM_PROTOCOL_PORTFORWARD] = "portforward.k8s.io",
        [STREAM_PROTOCOL_PF_TUNNEL] = "SPDY/3.1+portforward.k8s.io",
};

const char *stream_protocol_name(enum stream_protocol p) {
        return p < _STREAM_PROTOCOL_MAX ? protocol_names[p] : NULL;
}

/* What the kubelet (and its WebSocket translator) accept, per kind and transport. */
static const enum stream_protocol spdy_exec[] = {
        STREAM_PROTOCOL_V5, STREAM_PROTOCOL_V4, STREAM_PROTOCOL_V3, STREAM_PROTOCOL_V2, STREAM_PROTOCOL_V1,
};
static const enum stream_protocol spdy_portforward[] = {STREAM_PROTOCOL_PORTFORWARD};
static const enum stream_protocol ws_exec[] = {
        STREAM_PROTOCOL_V5, STREAM_PROTOCOL_V4,     STREAM_PROTOCOL_V4_BASE64,
        STREAM_PROTOCOL_V1, STREAM_PROTOCOL_BASE64, STREAM_PROTOCOL_NONE,
};
static const enum stream_protocol ws_portforward[] = {
        STREAM_PROTOCOL_PF_TUNNEL, STREAM_PROTOCOL_V4,     STREAM_PROTOCOL_V4_BASE64,
        STREAM_PROTOCOL_V1,        STREAM_PROTOCOL_BASE64, STREAM_PROTOCOL_NONE,
};

static int find_protocol(const enum stream_protocol *set, size_t n, const char *name, size_t len,
                         enum stream_protocol *ret) {
        for (size_t i = 0; i < n; i++) {
                const char *p = protocol_names[set[i]];
                if (strlen(p) == len && strncmp(p, name, len) == 0) {
                        *ret = set[i];
                        return 0;
                }
        }
        return -ENOENT;
}

/* The client's list over every line of the header, in order, spaces trimmed, empty items
 * dropped; the first the server speaks. *ret_count: how many the client named. */
static int negotiate(const struct stream_http_request *rq, const char *header,
                     const enum stream_protocol *set, size_t n, enum stream_protocol *ret, size_t *ret_count,
                     nl_buf *client_list) {
        bool found = false;
        size_t count = 0;

        for (size_t i = 0; i < rq->n_headers; i++) {
                if (strcasecmp(rq->headers[i].name, header) != 0)
                        continue;
                for (const char *p = rq->headers[i].value; *p;) {
                        size_t l = strcspn(p, ",");
                        const char *s = p;
                        size_t e = l;
                        while (e > 0 && *s == ' ')
                                s++, e--;
                        while (e > 0 && s[e - 1] == ' ')
                                e--;
                        if (e > 0) {
                                if (client_list)
                                        nl_buf_printf(client_list, "%s%.*s", count ? " " : "", (int) e, s);
                                count++;
                                if (!found && find_protocol(set, n, s, e, ret) == 0)
                                        found = true;
                        }
                        p += l;
                        if (*p == ',')
                                p++;
                }
        }
        *ret_count = count;
        return found ? 0 : -ENOENT;
}

static void set_version(struct stream_upgrade *u) {
        switch (u->protocol) {
        case STREAM_PROTOCOL_V2:
                u->version = 2;
                break;
        case STREAM_PROTOCOL_V3:
                u->version = 3;
                break;
        case STREAM_PROTOCOL_V4:
        case STREAM_PROTOCOL_V4_BASE64:
                u->version = 4;
                break;
        case STREAM_PROTOCOL_V5:
                u->version = 5;
                break;
        default:
                u->version = 1;
                break;
        }
        u->base64 = u->protocol == STREAM_PROTOCOL_BASE64 || u->protocol == STREAM_PROTOCOL_V4_BASE64;
}

/* A refusal as Go's http.Error writes it (text/plain, the message and a newline), or with an
 * empty body (x/net's WebSocket handshake failures). */
static int refuse(struct stream_upgrade *u, int status, const char *reason, const char *extra_headers,
                  const char *body, int code, nl_error *err) {
        nl_buf b = {};

        u->status = status;
        if (body) {
                nl_buf_printf(&b,
                              "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                              "X-Content-Type-Options: nosniff\r\n%sContent-Length: %zu\r\n"
                              "Connection: close\r\n\r\n%s\n",
                              status, reason, strempty(extra_headers), strlen(body) + 1, body);
        } else
                nl_buf_printf(&b, "HTTP/1.1 %d %s\r\n%sContent-Length: 0\r\nConnection: close\r\n\r\n",
                              status, reason, strempty(extra_headers));
        if (b.oom) {
                nl_buf_free(&b);
                return nl_error_set(err, -ENOMEM, "out of memory");
        }
        u->response_len = b.len;
        u->response = nl_buf_steal(&b);
        return nl_error_set(err, code, "%s", body ? body : reason);
}

static int upgrade_spdy(const struct stream_http_request *rq, struct stream_upgrade *u, nl_error *err) {
        const enum stream_protocol *set = u->kind == STREAM_KIND_PORTFORWARD ? spdy_portforward : spdy_exec;
        size_t n = u->kind == STREAM_KIND_PORTFORWARD ? ELEMENTSOF(spdy_portforward) : ELEMENTSOF(spdy_exec);
        _cleanup_free_ char *msg = NULL;
        nl_buf client = {}, server = {}, accepted = {};
        size_t count = 0;

        u->transport = STREAM_TRANSPORT_SPDY;
        if (!stream_http_header(rq, "X-Stream-Protocol-Version")) {
                msg = nl_strdupf("unable to upgrade: header X-Stream-Protocol-Version does not exist in "
                                 "request with %zu headers",
                                 rq->n_headers);
                return refuse(u, 400, "Bad Request", NULL, msg ?: "unable to upgrade", -EBADMSG, err);
        }
        int r = negotiate(rq, "X-Stream-Protocol-Version", set, n, &u->protocol, &count, &client);
        if (count == 0) {
                nl_buf_free(&client);
                return refuse(
                        u, 400, "Bad Request", NULL,
                        "unable to upgrade: header X-Stream-Protocol-Version contains no valid protocols",
                        -EBADMSG, err);
        }
        if (r < 0) {
                for (size_t i = 0; i < n; i++) {
                        nl_buf_printf(&server, "%s%s", i ? " " : "", protocol_names[set[i]]);
                        nl_buf_printf(&accepted, "X-Accepted-Stream-Protocol-Versions: %s\r\n",
                                      protocol_names[set[i]]);
                }
                msg = nl_strdupf(
                        "unable to upgrade: unable to negotiate protocol: client supports [%s], server "
                        "accepts [%s]",
                        strempty(client.data), strempty(server.data));
                r = refuse(u, 403, "Forbidden", accepted.data, msg ?: "unable to upgrade", -EPROTONOSUPPORT,
                           err);
                nl_buf_free(&client);
                nl_buf_free(&server);
                nl_buf_free(&accepted);
                return r;
        }
        nl_buf_free(&client);
        if (!header_contains(rq, "Connection", "upgrade") || !header_contains(rq, "Upgrade", "spdy/3.1"))
                return refuse(u, 400, "Bad Request", NULL,
                              "unable to upgrade: missing upgrade headers in request", -EBADMSG, err);
        set_version(u);
        msg = nl_strdupf("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
                         "X-Stream-Protocol-Version: %s\r\n\r\n",
                         protocol_names[u->protocol]);
        if (!msg)
                return nl_error_set(err, -ENOMEM, "out of memory");
        u->status = 101;
        u->response_len = strlen(msg);
        u->response = TAKE_PTR(msg);
        return 0;
}

/* Sec-WebSocket-Key: base64 of 16 bytes. */
static bool key_valid(const char *key) {
        uint8_t raw[32];
        size_t l = strlen(key);
        if (l != 24 || key[22] != '=' || key[23] != '=')
                return false;
        return EVP_DecodeBlock(raw, (const unsigned char *) key, (int) l) == 18;
}

static int upgrade_websocket(const struct stream_http_request *rq, struct stream_upgrade *u, nl_error *err) {
        const enum stream_protocol *set = u->kind == STREAM_KIND_PORTFORWARD ? ws_portforward : ws_exec;
        size_t n = u->kind == STREAM_KIND_PORTFORWARD ? ELEMENTSOF(ws_portforward) : ELEMENTSOF(ws_exec);
        const char *key = stream_http_header(rq, "Sec-WebSocket-Key");
        char accept[WS_ACCEPT_LEN + 1];
        size_t count = 0;
        int r;

        u->transport = STREAM_TRANSPORT_WEBSOCKET;
        if (!streq(rq->method, "GET"))
                return refuse(u, 405, "Method Not Allowed", NULL, NULL, -EBADMSG, err);
        if (!streq_ptr(stream_http_header(rq, "Sec-WebSocket-Version"), "13"))
                return refuse(u, 400, "Bad Request", "Sec-WebSocket-Version: 13\r\n", NULL, -EBADMSG, err);
        if (!key || !key_valid(key))
                return refuse(u, 400, "Bad Request", NULL, NULL, -EBADMSG, err);
        r = negotiate(rq, "Sec-WebSocket-Protocol", set, n, &u->protocol, &count, NULL);
        if (count == 0)
                r = find_protocol(set, n, "", 0, &u->protocol);
        if (r < 0)
                return refuse(u, 403, "Forbidden", NULL, NULL, -EPROTONOSUPPORT, err);
        if (u->protocol == STREAM_PROTOCOL_PF_TUNNEL)
                u->transport = STREAM_TRANSPORT_SPDY_OVER_WEBSOCKET;
        set_version(u);
        r = ws_accept_key(key, accept);
        if (r < 0)
                return nl_error_set(err, r, "WebSocket accept key");
        const char *p = protocol_names[u->protocol];
        _cleanup_free_ char *proto = *p ? nl_strdupf("Sec-WebSocket-Protocol: %s\r\n", p) : strdup("");
        char *resp = proto ? nl_strdupf("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                                        "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n%s\r\n",
                                        accept, proto)
                           : NULL;
        if (!resp)
                return nl_error_set(err, -ENOMEM, "out of memory");
        u->status = 101;
        u->response_len = strlen(resp);
        u->response = resp;
        return 0;
}

int stream_upgrade(const struct stream_http_request *rq, enum stream_kind kind, struct stream_upgrade *ret,
                   nl_error *err) {
        const char *upgrade = stream_http_header(rq, "Upgrade");

        *ret = (struct stream_upgrade){.kind = kind};
        /* wsstream.IsWebSocketRequest: Upgrade is "websocket" and Connection mentions upgrade */
        if (upgrade && strcasecmp(upgrade, "websocket") == 0 && header_contains(rq, "Connection", "upgrade"))
                return upgrade_websocket(rq, ret, err);
        return upgrade_spdy(rq, ret, err);
}

void stream_upgrade_done(struct stream_upgrade *u) {
        free(u->response);
        u->response = NULL;
        u->response_len = 0;
}
