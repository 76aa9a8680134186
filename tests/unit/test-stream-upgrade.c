/* SPDX-License-Identifier: Apache-2.0 */
/* The upgrade layer and remotecommand semantics of stream/: request heads, the SPDY and
 * WebSocket negotiations with the kubelet's answers (101s, 400/403 refusals), the query
 * parameters of exec/attach/port-forward, the error stream's Status in each form, and the
 * resize stream. */
#include "stream/internal.h" /* stream_json_string */
#include "stream/stream.h"
#include "test.h"

#define KEY "dGhlIHNhbXBsZSBub25jZQ=="

static int parse(const char *head, struct stream_http_request *rq) {
        return stream_http_parse_head(head, strlen(head), rq);
}

TEST(http_head) {
        struct stream_http_request rq = {};
        const char *h = "POST /exec/ns/pod/c?command=ls&input=1 HTTP/1.1\r\nHost: x\r\n"
                        "X-Stream-Protocol-Version: v4.channel.k8s.io\r\n"
                        "x-stream-protocol-version:  v3.channel.k8s.io , v2.channel.k8s.io\t\r\n"
                        "Connection: keep-alive, Upgrade\r\n\r\nSPDYBYTES";

        CHECK_INT_EQ(stream_http_parse_head(h, 20, &rq), -EAGAIN);
        CHECK_INT_EQ(parse(h, &rq), 0);
        CHECK_STR_EQ(rq.method, "POST");
        CHECK_STR_EQ(rq.target, "/exec/ns/pod/c?command=ls&input=1");
        CHECK_INT_EQ(rq.n_headers, 4);
        CHECK_INT_EQ(rq.head_len, strlen(h) - strlen("SPDYBYTES"));
        CHECK_STR_EQ(stream_http_header(&rq, "x-stream-protocol-version"), "v4.channel.k8s.io");
        CHECK(stream_http_header_has_token(&rq, "connection", "upgrade"));
        CHECK(!stream_http_header_has_token(&rq, "connection", "close"));
        stream_http_request_done(&rq);

        /* bare LF lines */
        CHECK_INT_EQ(parse("GET / HTTP/1.0\nA: b\n\n", &rq), 0);
        CHECK_STR_EQ(stream_http_header(&rq, "a"), "b");
        stream_http_request_done(&rq);

        CHECK_INT_EQ(parse("GET / HTTP/2\r\n\r\n", &rq), -EBADMSG);
        CHECK_INT_EQ(parse("GET  / HTTP/1.1\r\n\r\n", &rq), -EBADMSG);
        CHECK_INT_EQ(parse("GET x HTTP/1.1\r\n\r\n", &rq), -EBADMSG);
        CHECK_INT_EQ(parse("GET / HTTP/1.1\r\n folded\r\n\r\n", &rq), -EBADMSG);
        CHECK_INT_EQ(parse("GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", &rq), -EBADMSG);
        CHECK_INT_EQ(parse("GET / HTTP/1.1\r\nA: b\x01\r\n\r\n", &rq), -EBADMSG);
        char *big = malloc(STREAM_HTTP_HEAD_MAX + 10);
        memset(big, 'a', STREAM_HTTP_HEAD_MAX + 9);
        big[STREAM_HTTP_HEAD_MAX + 9] = '\0';
        memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
        CHECK_INT_EQ(parse(big, &rq), -EMSGSIZE);
        free(big);
        nl_buf many = {};
        nl_buf_puts(&many, "GET / HTTP/1.1\r\n");
        for (int i = 0; i < 101; i++)
                nl_buf_printf(&many, "H%d: v\r\n", i);
        nl_buf_puts(&many, "\r\n");
        CHECK_INT_EQ(parse(many.data, &rq), -EMSGSIZE);
        nl_buf_free(&many);
}

static int upgrade(const char *head, enum stream_kind kind, struct stream_upgrade *u, nl_error *err) {
        struct stream_http_request rq = {};
        int r = parse(head, &rq);
        if (r < 0)
                return r;
        r = stream_upgrade(&rq, kind, u, err);
        stream_http_request_done(&rq);
        return r;
}

TEST(upgrade_spdy) {
        struct stream_upgrade u = {};
        nl_error err = NL_ERROR_INIT;

        /* client-go's SPDY executor offers v5 first, one header line per protocol */
        CHECK_INT_EQ(upgrade("POST /exec/a/b/c HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
                             "X-Stream-Protocol-Version: v5.channel.k8s.io\r\n"
                             "X-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\n",
                             STREAM_KIND_EXEC, &u, &err),
                     0);
        CHECK_INT_EQ(u.transport, STREAM_TRANSPORT_SPDY);
        CHECK_INT_EQ(u.protocol, STREAM_PROTOCOL_V5);
        CHECK_INT_EQ(u.version, 5);
        CHECK_INT_EQ(u.status, 101);
        CHECK_STR_EQ(u.response,
                     "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
                     "X-Stream-Protocol-Version: v5.channel.k8s.io\r\n\r\n");
        stream_upgrade_done(&u);

        /* the client's order wins */
        CHECK_INT_EQ(upgrade("POST /x HTTP/1.1\r\nConnection: upgrade\r\nUpgrade: spdy/3.1\r\n"
                             "X-Stream-Protocol-Version: bogus, channel.k8s.io,v3.channel.k8s.io\r\n\r\n",
                             STREAM_KIND_ATTACH, &u, &err),
                     0);
        CHECK_INT_EQ(u.protocol, STREAM_PROTOCOL_V1);
        CHECK_INT_EQ(u.version, 1);
        stream_upgrade_done(&u);

        /* none in common: 403 naming the server's */
        CHECK_INT_EQ(upgrade("POST /x HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
                             "X-Stream-Protocol-Version: v9.channel.k8s.io, v8\r\n\r\n",
                             STREAM_KIND_PORTFORWARD, &u, &err),
                     -EPROTONOSUPPORT);
        CHECK_INT_EQ(u.status, 403);
        CHECK_STR_EQ(err.msg, "unable to upgrade: unable to negotiate protocol: client supports "
                              "[v9.channel.k8s.io v8], server accepts [portforward.k8s.io]");
        CHECK(strstr(u.response, "HTTP/1.1 403 Forbidden\r\n") == u.response);
        CHECK(strstr(u.response, "\r\nX-Accepted-Stream-Protocol-Versions: portforward.k8s.io\r\n"));
        CHECK(strstr(u.response, "\r\n\r\nunable to upgrade: unable to negotiate protocol"));
        stream_upgrade_done(&u);

        /* no version header; no upgrade headers */
        CHECK_INT_EQ(upgrade("POST /x HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n\r\n",
                             STREAM_KIND_EXEC, &u, &err),
                     -EBADMSG);
        CHECK_INT_EQ(u.status, 400);
        CHECK_STR_EQ(err.msg,
                     "unable to upgrade: header X-Stream-Protocol-Version does not exist in request "
                     "with 2 headers");
        stream_upgrade_done(&u);
        CHECK_INT_EQ(upgrade("POST /x HTTP/1.1\r\nX-Stream-Protocol-Version: portforward.k8s.io\r\n\r\n",
                             STREAM_KIND_PORTFORWARD, &u, &err),
                     -EBADMSG);
        CHECK_STR_EQ(err.msg, "unable to upgrade: missing upgrade headers in request");
        stream_upgrade_done(&u);
        nl_error_clear(&err);
}

#define WS_HEAD(method, extra)                                                                              \
        method " /x?port=80 HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"                      \
               "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " KEY "\r\n" extra "\r\n"

TEST(upgrade_websocket) {
        struct stream_upgrade u = {};
        nl_error err = NL_ERROR_INIT;

        CHECK_INT_EQ(upgrade(WS_HEAD("GET", "Sec-WebSocket-Protocol: v5.channel.k8s.io\r\n"),
                             STREAM_KIND_EXEC, &u, &err),
                     0);
        CHECK_INT_EQ(u.transport, STREAM_TRANSPORT_WEBSOCKET);
        CHECK_INT_EQ(u.version, 5);
        CHECK_STR_EQ(u.response,
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                     "Sec-WebSocket-Protocol: v5.channel.k8s.io\r\n\r\n");
        stream_upgrade_done(&u);

        CHECK_INT_EQ(upgrade(WS_HEAD("GET", "Sec-WebSocket-Protocol: x, v4.base64.channel.k8s.io\r\n"),
                             STREAM_KIND_ATTACH, &u, &err),
                     0);
        CHECK_INT_EQ(u.protocol, STREAM_PROTOCOL_V4_BASE64);
        CHECK(u.base64);
        CHECK_INT_EQ(u.version, 4);
        stream_upgrade_done(&u);

        /* no subprotocol: channel.k8s.io framing, no Sec-WebSocket-Protocol in the answer */
        CHECK_INT_EQ(upgrade(WS_HEAD("GET", ""), STREAM_KIND_EXEC, &u, &err), 0);
        CHECK_INT_EQ(u.protocol, STREAM_PROTOCOL_NONE);
        CHECK(!strstr(u.response, "Sec-WebSocket-Protocol"));
        stream_upgrade_done(&u);

        /* port-forward: the SPDY tunnel kubectl uses, and the kubelet's channels */
        CHECK_INT_EQ(upgrade(WS_HEAD("GET", "Sec-WebSocket-Protocol: SPDY/3.1+portforward.k8s.io\r\n"),
                             STREAM_KIND_PORTFORWARD, &u, &err),
                     0);
        CHECK_INT_EQ(u.transport, STREAM_TRANSPORT_SPDY_OVER_WEBSOCKET);
        stream_upgrade_done(&u);
        CHECK_INT_EQ(upgrade(WS_HEAD("GET", "Sec-WebSocket-Protocol: v4.channel.k8s.io\r\n"),
                             STREAM_KIND_PORTFORWARD, &u, &err),
                     0);
        CHECK_INT_EQ(u.transport, STREAM_TRANSPORT_WEBSOCKET);
        stream_upgrade_done(&u);
        /* v5 is not a port-forward protocol; the tunnel is not an exec one */
        CHECK_INT_EQ(upgrade(WS_HEAD("GET", "Sec-WebSocket-Protocol: v5.channel.k8s.io\r\n"),
                             STREAM_KIND_PORTFORWARD, &u, &err),
                     -EPROTONOSUPPORT);
        CHECK_STR_EQ(u.response, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        stream_upgrade_done(&u);
        CHECK_INT_EQ(upgrade(WS_HEAD("GET", "Sec-WebSocket-Protocol: SPDY/3.1+portforward.k8s.io\r\n"),
                             STREAM_KIND_EXEC, &u, &err),
                     -EPROTONOSUPPORT);
        stream_upgrade_done(&u);

        /* not GET, other version, bad key */
        CHECK_INT_EQ(upgrade(WS_HEAD("POST", ""), STREAM_KIND_EXEC, &u, &err), -EBADMSG);
        CHECK_INT_EQ(u.status, 405);
        stream_upgrade_done(&u);
        CHECK_INT_EQ(upgrade("GET / HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: WebSocket\r\n"
                             "Sec-WebSocket-Version: 8\r\nSec-WebSocket-Key: " KEY "\r\n\r\n",
                             STREAM_KIND_EXEC, &u, &err),
                     -EBADMSG);
        CHECK(strstr(u.response, "\r\nSec-WebSocket-Version: 13\r\n"));
        stream_upgrade_done(&u);
        CHECK_INT_EQ(upgrade("GET / HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                             "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: short\r\n\r\n",
                             STREAM_KIND_EXEC, &u, &err),
                     -EBADMSG);
        stream_upgrade_done(&u);
        nl_error_clear(&err);
}

TEST(exec_options) {
        struct stream_exec_options o = {};
        nl_error err = NL_ERROR_INIT;

        CHECK_INT_EQ(stream_exec_options_parse("/exec/ns/p/c?command=sh&command=-c&command=echo+a%20b%26&"
                                               "input=1&output=1&error=1&tty=0",
                                               true, &o, &err),
                     0);
        CHECK(o.stdin && o.stdout && o.stderr && !o.tty);
        CHECK_INT_EQ(o.n_command, 3);
        CHECK_STR_EQ(o.command[2], "echo a b&");
        CHECK(o.command[3] == NULL);
        stream_exec_options_done(&o);

        /* tty drops stderr; the first value counts, as FormValue */
        CHECK_INT_EQ(stream_exec_options_parse("output=1&error=1&tty=1&tty=0", false, &o, &err), 0);
        CHECK(o.stdout && !o.stderr && o.tty && !o.stdin);
        stream_exec_options_done(&o);

        CHECK_INT_EQ(stream_exec_options_parse("command=ls&input=true", true, &o, &err), -EINVAL);
        CHECK_STR_EQ(err.msg, "you must specify at least 1 of stdin, stdout, stderr");
        CHECK_INT_EQ(stream_exec_options_parse("output=1", true, &o, &err), -EINVAL);
        CHECK_INT_EQ(stream_exec_options_parse("output=1&command=%zz", true, &o, &err), -EINVAL);
        CHECK_STR_EQ(err.msg, "invalid query");
        nl_error_clear(&err);
}

TEST(ports) {
        uint16_t *p = NULL;
        size_t n = 0;
        nl_error err = NL_ERROR_INIT;

        CHECK_INT_EQ(stream_ports_parse("/portForward/ns/pod?port=80,8080&port=1", &p, &n, &err), 0);
        CHECK_INT_EQ(n, 3);
        CHECK(p[0] == 80 && p[1] == 8080 && p[2] == 1);
        free(p);
        CHECK_INT_EQ(stream_ports_parse("x=1", &p, &n, &err), -EINVAL);
        CHECK_STR_EQ(err.msg, "query parameter \"port\" is required");
        CHECK_INT_EQ(stream_ports_parse("port=", &p, &n, &err), -EINVAL);
        CHECK_STR_EQ(err.msg, "query parameter \"port\" cannot be empty");
        CHECK_INT_EQ(stream_ports_parse("port=0", &p, &n, &err), -EINVAL);
        CHECK_STR_EQ(err.msg, "unable to parse \"0\" as a port");
        CHECK_INT_EQ(stream_ports_parse("port=65536", &p, &n, &err), -EINVAL);
        CHECK_INT_EQ(stream_ports_parse("port=80,", &p, &n, &err), -EINVAL);
        nl_error_clear(&err);
}

static char *status(enum stream_transport t, int version, enum stream_kind kind, enum stream_result_kind rk,
                    int code, const char *msg) {
        struct stream_upgrade u = {.transport = t, .version = version, .kind = kind};
        struct stream_result r = {.kind = rk, .exit_code = code, .message = (char *) msg};
        char *cmd[] = {(char *) "sh", (char *) "-c", (char *) "exit 7", NULL};
        char *s = NULL;
        size_t len = 99;
        CHECK_INT_EQ(stream_status_encode(&u, &r, cmd, &s, &len), 0);
        CHECK_INT_EQ(len, s ? strlen(s) : 0);
        return s;
}

TEST(status) {
        char *s;
        const enum stream_transport SPDY = STREAM_TRANSPORT_SPDY, WS = STREAM_TRANSPORT_WEBSOCKET;

        /* the CRI streaming server's (k8s.io/cri-streaming) */
        s = status(SPDY, 4, STREAM_KIND_EXEC, STREAM_RESULT_SUCCESS, 0, NULL);
        CHECK_STR_EQ(s, "{\"status\":\"Success\"}");
        free(s);
        s = status(SPDY, 5, STREAM_KIND_EXEC, STREAM_RESULT_EXIT_CODE, 7, NULL);
        CHECK_STR_EQ(
                s, "{\"status\":\"Failure\",\"message\":\"command terminated with non-zero exit code: error "
                   "executing command [sh -c exit 7], exit code 7\",\"reason\":\"NonZeroExitCode\","
                   "\"details\":{\"causes\":[{\"reason\":\"ExitCode\",\"message\":\"7\"}]}}");
        free(s);
        s = status(WS, 4, STREAM_KIND_EXEC, STREAM_RESULT_ERROR, 0, "no such file <x>");
        CHECK_STR_EQ(
                s,
                "{\"status\":\"Failure\",\"message\":\"Internal error occurred: error executing command in "
                "container: no such file \\u003cx\\u003e\",\"reason\":\"InternalError\",\"code\":500}");
        free(s);
        s = status(SPDY, 4, STREAM_KIND_ATTACH, STREAM_RESULT_EXIT_CODE, 3, NULL);
        CHECK_STR_EQ(s, "{\"status\":\"Success\"}");
        free(s);
        /* the WebSocket translator's metav1.Status */
        s = status(WS, 5, STREAM_KIND_EXEC, STREAM_RESULT_SUCCESS, 0, NULL);
        CHECK_STR_EQ(s, "{\"metadata\":{},\"status\":\"Success\"}");
        free(s);
        s = status(WS, 5, STREAM_KIND_EXEC, STREAM_RESULT_EXIT_CODE, 42, NULL);
        CHECK_STR_EQ(
                s, "{\"metadata\":{},\"status\":\"Failure\",\"message\":\"command terminated with non-zero "
                   "exit "
                   "code: command terminated with exit code 42\",\"reason\":\"NonZeroExitCode\",\"details\":"
                   "{\"causes\":[{\"reason\":\"ExitCode\",\"message\":\"42\"}]}}");
        free(s);
        s = status(WS, 5, STREAM_KIND_ATTACH, STREAM_RESULT_ERROR, 0, "gone");
        CHECK_STR_EQ(
                s, "{\"metadata\":{},\"status\":\"Failure\",\"message\":\"Internal error occurred: error "
                   "attaching "
                   "to container: gone\",\"reason\":\"InternalError\",\"details\":{\"causes\":[{\"message\":"
                   "\"error attaching to container: gone\"}]},\"code\":500}");
        free(s);
        /* before v4: the message of a failure as text, nothing on success */
        s = status(SPDY, 3, STREAM_KIND_EXEC, STREAM_RESULT_SUCCESS, 0, NULL);
        CHECK(s == NULL);
        s = status(WS, 1, STREAM_KIND_EXEC, STREAM_RESULT_EXIT_CODE, 2, NULL);
        CHECK_STR_EQ(
                s,
                "command terminated with non-zero exit code: error executing command [sh -c exit 7], exit "
                "code 2");
        free(s);
}

TEST(json_string) {
        struct stream_buf b = {};
        CHECK_INT_EQ(stream_json_string(&b, "a\"\\\n\x01<&>\xe2\x80\xa8\xc3\xa9\xff\xed\xa0\x80z"), 0);
        stream_buf_append(&b, "", 1);
        CHECK_STR_EQ((const char *) stream_buf_head(&b),
                     "\"a\\\"\\\\\\n\\u0001\\u003c\\u0026\\u003e\\u2028\xc3\xa9"
                     "\\ufffd\\ufffd\\ufffd\\ufffdz\"");
        stream_buf_free(&b);
}

static void on_size(void *userdata, uint16_t w, uint16_t h) {
        char *log = userdata;
        size_t l = strlen(log);
        snprintf(log + l, 256 - l, "%ux%u;", w, h);
}

TEST(resize) {
        struct stream_resize r = {};
        char log[256] = "";

        /* as client-go's json.Encoder writes them, split anywhere */
        const char *in =
                "{\"Width\":80,\"Height\":24}\n{\"width\":100,\"HEIGHT\":40,\"x\":[1]}\n null \n{\"Wid";
        stream_resize_feed(&r, in, strlen(in), on_size, log);
        CHECK_STR_EQ(log, "80x24;100x40;0x0;");
        stream_resize_feed(&r, "th\":7}", 6, on_size, log);
        CHECK_STR_EQ(log, "80x24;100x40;0x0;7x0;");
        /* a value that does not decode ends resizing */
        stream_resize_feed(&r, "{\"Width\":70000}{\"Width\":1}", 26, on_size, log);
        CHECK(r.failed);
        stream_resize_feed(&r, "{\"Width\":2}", 11, on_size, log);
        CHECK_STR_EQ(log, "80x24;100x40;0x0;7x0;");
        stream_resize_done(&r);

        struct stream_resize r2 = {};
        stream_resize_feed(&r2, "[1]", 3, on_size, log);
        CHECK(r2.failed);
        stream_resize_done(&r2);
        struct stream_resize r3 = {};
        stream_resize_feed(&r3, "{\"Width\":1.5}", 13, on_size, log);
        CHECK(r3.failed);
        stream_resize_done(&r3);
}
