/* SPDX-License-Identifier: Apache-2.0 */
/* probes: http, tcp and grpc probes against servers on 127.0.0.1, on this test's own sd-event
 * loop. The HTTP server is a forked child (one grandchild per connection); HTTPS is openssl
 * s_server when the openssl CLI is there; gRPC is tests/fixtures/grpc-health-server, built next
 * to this binary. Times are only checked against generous bounds. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../podspec/podspec.h"
#include "../../probes/probes-internal.h"
#include "test.h"

#define SEC_ ((usec_t) 1000000ULL)

static sd_event *ev;
static struct probe_runner *runner;

struct result {
        int calls;
        enum probe_result r;
        char *output;
        usec_t started, finished;
};

static void on_done(enum probe_result r, const char *output, void *userdata) {
        struct result *res = userdata;
        res->calls++;
        res->r = r;
        free(res->output);
        res->output = strdup(output ? output : "(null)");
        res->finished = now_monotonic();
}

static void result_reset(struct result *res) {
        free(res->output);
        *res = (struct result){.started = now_monotonic()};
}

static void run_loop(usec_t max, int *counter, int want) {
        usec_t end = now_monotonic() + max;
        while ((!counter || *counter < want) && now_monotonic() < end)
                (void) sd_event_run(ev, 50000);
}

static void setup(void) {
        if (ev)
                return;
        signal(SIGPIPE, SIG_IGN);
        if (sd_event_new(&ev) < 0 || probe_runner_new(ev, &runner) < 0) {
                fprintf(stderr, "cannot set up the loop\n");
                exit(1);
        }
}

/* A port nobody listens on. */
static int closed_port(void) {
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof(sa);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 ||
            getsockname(fd, (struct sockaddr *) &sa, &len) < 0)
                return 1;
        close(fd);
        return ntohs(sa.sin_port);
}

static int listen_local(int backlog, int *ret_port) {
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof(sa);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(fd, backlog) < 0 ||
            getsockname(fd, (struct sockaddr *) &sa, &len) < 0) {
                if (fd >= 0)
                        close(fd);
                return -1;
        }
        *ret_port = ntohs(sa.sin_port);
        return fd;
}

/* ---- the HTTP server ---- */

static pid_t http_pid;
static int http_port;

static void send_all(int fd, const char *p, size_t n) {
        while (n > 0) {
                ssize_t k = write(fd, p, n);
                if (k <= 0)
                        return;
                p += k;
                n -= (size_t) k;
        }
}

static void reply(int fd, int status, const char *extra, const char *body) {
        char head[1024];
        int n = snprintf(head, sizeof(head),
                         "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n", status,
                         strlen(body), extra);
        send_all(fd, head, (size_t) n);
        send_all(fd, body, strlen(body));
}

static void wait_eof(int fd) {
        char buf[256];
        while (read(fd, buf, sizeof(buf)) > 0)
                ;
}

static void handle(int fd) {
        static char req[16384];
        size_t len = 0;
        char path[1024], extra[1024];
        int n;

        while (len < sizeof(req) - 1) {
                ssize_t k = read(fd, req + len, sizeof(req) - 1 - len);
                if (k <= 0)
                        return;
                len += (size_t) k;
                req[len] = 0;
                if (strstr(req, "\r\n\r\n"))
                        break;
        }
        if (sscanf(req, "GET %1023s HTTP/1.1", path) != 1) {
                reply(fd, 400, "", "bad request");
                return;
        }
        if (strcmp(path, "/ok") == 0)
                reply(fd, 200, "", "ok");
        else if (strcmp(path, "/echo") == 0) {
                *strstr(req, "\r\n\r\n") = 0;
                reply(fd, 200, "", req);
        } else if (strcmp(path, "/redirect") == 0)
                reply(fd, 302, "Location: /echo\r\n", "");
        else if (strcmp(path, "/redirect-abs") == 0) {
                snprintf(extra, sizeof(extra), "Location: http://127.0.0.1:%d/echo\r\n", http_port);
                reply(fd, 301, extra, "");
        } else if (strcmp(path, "/other") == 0) {
                snprintf(extra, sizeof(extra), "Location: http://localhost:%d/ok\r\n", http_port);
                reply(fd, 302, extra, "<a href=\"http://localhost/ok\">Found</a>.");
        } else if (strcmp(path, "/loop") == 0)
                reply(fd, 302, "Location: /loop\r\n", "");
        else if (sscanf(path, "/chain/%d", &n) == 1) {
                if (n <= 0)
                        reply(fd, 200, "", "end of chain");
                else {
                        snprintf(extra, sizeof(extra), "Location: /chain/%d\r\n", n - 1);
                        reply(fd, 307, extra, "");
                }
        } else if (strcmp(path, "/304") == 0)
                reply(fd, 304, "", "");
        else if (strcmp(path, "/404") == 0)
                reply(fd, 404, "", "not found body");
        else if (strcmp(path, "/500") == 0)
                reply(fd, 500, "", "server error body");
        else if (strcmp(path, "/hang") == 0)
                wait_eof(fd);
        else if (strcmp(path, "/big") == 0) {
                size_t size = 100000;
                char *body = malloc(size + 1);
                memset(body, 'x', size);
                body[size] = 0;
                reply(fd, 200, "", body);
                free(body);
        } else if (strcmp(path, "/slowbody") == 0) {
                const char *h = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten..";
                send_all(fd, h, strlen(h));
                wait_eof(fd);
        } else if (strcmp(path, "/reset") == 0) {
                struct linger l = { .l_onoff = 1, .l_linger = 0 };
                (void) setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
                close(fd);
                _exit(0);
        } else if (strcmp(path, "/close") == 0) {
                /* nothing: the connection closes without an answer */
        } else
                reply(fd, 404, "", "no route");
}

static void http_server_start(void) {
        int lfd = listen_local(1024, &http_port);
        if (lfd < 0) {
                fprintf(stderr, "cannot listen\n");
                exit(1);
        }
        http_pid = fork();
        if (http_pid == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                signal(SIGCHLD, SIG_IGN);
                for (;;) {
                        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
                        if (fd < 0)
                                continue;
                        if (fork() == 0) {
                                prctl(PR_SET_PDEATHSIG, SIGKILL);
                                close(lfd);
                                handle(fd);
                                shutdown(fd, SHUT_WR);
                                wait_eof(fd);
                                _exit(0);
                        }
                        close(fd);
                }
        }
        close(lfd);
}

static void stop_child(pid_t *pid) {
        if (*pid > 0) {
                kill(*pid, SIGKILL);
                waitpid(*pid, NULL, 0);
                *pid = 0;
        }
}

static void http_setup(void) {
        setup();
        if (!http_pid)
                http_server_start();
}

static struct pod_http_get_action action(const char *path) {
        return (struct pod_http_get_action){.path = (char *) path};
}

static void http_probe(struct pod_http_get_action *a, const char *host, int port, usec_t timeout,
                       struct result *res) {
        struct probe_op *op = NULL;
        result_reset(res);
        CHECK_INT_EQ(probe_http_start(runner, a, host, port, timeout, on_done, res, &op), 0);
        CHECK(op != NULL);
        CHECK_INT_EQ(res->calls, 0); /* never from inside start */
        run_loop(4 * timeout + 5 * SEC_, &res->calls, 1);
        CHECK_INT_EQ(res->calls, 1);
}

static char *fmt(const char *f, ...) _printf_(1, 2);
static char *fmt(const char *f, ...) {
        static char bufs[8][512];
        static int i;
        va_list ap;
        char *b = bufs[i++ % 8];
        va_start(ap, f);
        vsnprintf(b, 512, f, ap);
        va_end(ap);
        return b;
}

/* ---- http ---- */

TEST(http_200) {
        struct result res = {};
        struct pod_http_get_action a = action("/ok");
        http_setup();
        http_probe(&a, "127.0.0.1", http_port, SEC_, &res);
        CHECK_INT_EQ(res.r, PROBE_SUCCESS);
        CHECK_STR_EQ(res.output, "ok");
        result_reset(&res);
}

TEST(http_redirect_same_host) {
        struct result res = {};
        struct pod_http_get_action a = action("/redirect");
        http_setup();
        http_probe(&a, "127.0.0.1", http_port, SEC_, &res);
        CHECK_INT_EQ(res.r, PROBE_SUCCESS);
        CHECK(res.output && strstr(res.output, "GET /echo HTTP/1.1\r\n"));
        CHECK(res.output && strstr(res.output, fmt("\r\nHost: 127.0.0.1:%d\r\n", http_port)));
        CHECK(res.output &&
              strstr(res.output, fmt("\r\nReferer: http://127.0.0.1:%d/redirect\r\n", http_port)));

        /* Absolute Location, same host: followed; Host from the Location. */
        a = action("/redirect-abs");
        http_probe(&a, "127.0.0.1", http_port, SEC_, &res);
        CHECK_INT_EQ(res.r, PROBE_SUCCESS);
        CHECK(res.output && strstr(res.output, "GET /echo HTTP/1.1\r\n"));

        /* Nine redirects are followed (ten requests)... */
        a = action("/chain/9");
        http_probe(&a, "127.0.0.1", http_port, 2 * SEC_, &res);
        CHECK_INT_EQ(res.r, PROBE_SUCCESS);
        CHECK_STR_EQ(res.output, "end of chain");
        /* ...a tenth is not, as Go's client with the kubelet's RedirectChecker. */
        a = action("/chain/10");
        http_probe(&a, "127.0.0.1", http_port, 2 * SEC_, &res);
        CHECK_INT_EQ(res.r, PROBE_FAILURE);
        CHECK_STR_EQ(res.output, "Get \"/chain/0\": stopped after 10 redirects");
        a = action("/loop");
        http_probe(&a, "127.0.0.1", http_port, 2 * SEC_, &res);
        CHECK_INT_EQ(res.r, PROBE_FAILURE);
        CHECK_STR_EQ(res.output, "Get \"/loop\": stopped after 10 redirects");
        result_reset(&res);
}

TEST(http_redirect_other_host) {
        struct result res = {};
        struct pod_http_get_action a = action("/other");
        http_setup();
        http_probe(&a, "127.0.0.1", http_port, SEC_, &res);
        CHECK_INT_EQ(res.r, PROBE_WARNING);
        CHECK_STR_EQ(
                res.output,
                "Probe terminated redirects, Response body: <a href=\"http://localhost/ok\">Found</a>.");

        /* A 3xx that is not a redirect Go follows is the same warning. */
        a = action("/304");
        http_probe(&a, "127.0.0.1", http_port, SEC_, &res);
        CHECK_INT_EQ(res.r, PROBE_WARNING);
        CHECK_STR_EQ(res.output, "Probe terminated redirects, Response body: ");
        result_reset(&res);
}

TEST(http_status_failures) {
        struct result res = {};
        struct pod_http_get_action a = action("/404");
        http_setup();
        http_probe(&a, "127.0.0.1", http_port, SEC_, &res);
        CHECK_INT_EQ(res.r, PROBE_FAILURE);
        CHECK_STR_EQ(res.output, "HTTP probe failed with statuscode: 404");
        a = action("/500");
        http_probe(&a, "127.0.0.1", http_port, SEC_, &res);
        CHECK_INT_EQ(res.r, PROBE_FAILURE);
        CHECK_STR_EQ(res.output, "HTTP probe failed with statuscode: 500");
        result_reset(&res);
}

TEST(http_headers) {
        struct result res = {};
        struct pod_http_header h1[] = {
                {(char *) "x-custom", (char *) "v1"},
                {(char *) "host", (char *) "example.com"},
                {(char *) "X-Empty", (char *) ""},
        };
        struct pod_http_get_action a = action("/echo");
        a.http_headers = h1;
        a.n_http_headers = ELEMENTSOF(h1);
        http_setup();
        http_probe(&a, "127.0.0.1", http_port, SEC_, &res);
        CHECK_INT_EQ(res.r, PROBE_SUCCESS);
        const char *o = strempty(res.output);
        CHECK(strstr(o, "GET /echo HTTP/1.1\r\n"));
        CHECK(strstr(o, "\r\nUser-Agent: kube-probe/1.34\r\n"));
        CHECK(strstr(o, "\r\nAccept: */*\r\n"));
        CHECK(strstr(o, "\r\nX-Custom: v1\r\n")); /* Go's canonical name */
        CHECK(strstr(o, "\r\nX-Empty: \r\n") || strstr(o, "\r\nX-Empty:\r\n"));
        CHECK(strstr(o, "\r\nHost: example.com\r\n"));
        CHECK(!strstr(o, fmt("Host: 127.0.0.1")));
        if (test_current_failed)
                fprintf(stderr, "  request seen:\n%s\n", o);

        /* User-Agent and Accept given: used; an empty Accept: none sent. Host from the URL. */
        struct pod_http_header h2[] = {
                {(char *) "User-Agent", (char *) "my-agent/2"},
                {(char *) "accept", (char *) ""},
        };
        a.http_headers = h2;
        a.n_http_headers = ELEMENTSOF(h2);
        http_probe(&a, "127.0.0.1", http_port, SEC_, &res);
        CHECK_INT_EQ(res.r, PROBE_SUCCESS);
        o = strempty(res.output);
        CHECK(strstr(o, "\r\nUser-Agent: my-agent/2\r\n"));
        CHECK(!strstr(o, "kube-probe"));
        CHECK(!strstr(o, "Accept:"));
        CHECK(strstr(o, fmt("\r\nHost: 127.0.0.1:%d\r\n", http_port)));

        /* A custom Host survives a relative redirect. */
        struct pod_http_header h3[] = {{(char *) "Host", (char *) "virtual.example"}};
        a = action("/redirect");
        a.http_headers = h3;
        a.n_http_headers = 1;
        http_probe(&a, "127.0.0.1", http_port, SEC_, &res);
        CHECK_INT_EQ(res.r, PROBE_SUCCESS);
        CHECK(strstr(strempty(res.output), "\r\nHost: virtual.example\r\n"));

        /* A header value Go's transport refuses. */
        struct pod_http_header h4[] = {{(char *) "X-Bad", (char *) "a\r\nInjected: 1"}};
        a = action("/echo");
        a.http_headers = h4;
        a.n_http_headers = 1;
        http_probe(&a, "127.0.0.1", http_port, SEC_, &res);
        CHECK_INT_EQ(res.r, PROBE_FAILURE);
        CHECK_STR_EQ(
                res.output,
                fmt("Get \"http://127.0.0.1:%d/echo\": net/http: invalid header field value for \"X-Bad\"",
                    http_port));
        result_reset(&res);
}

TEST(http_timeout) {
        struct result res = {};
        struct pod_http_get_action a = action("/hang");
        http_setup();
        http_probe(&a, "127.0.0.1", http_port, SEC_, &res);
        CHECK_INT_EQ(res.r, PROBE_FAILURE);
        CHECK_STR_EQ(res.output, fmt("Get \"http://127.0.0.1:%d/hang\": context deadline exceeded "
                                     "(Client.Timeout exceeded while "
                                     "awaiting headers)",
                                     http_port));
        CHECK(res.finished - res.started >= SEC_ * 9 / 10);
        CHECK(res.finished - res.started < 3 * SEC_);

        /* The deadline passes while the body is read: an error, as the kubelet's ReadAtMost. */
        a = action("/slowbody");
        http_probe(&a, "127.0.0.1", http_port, SEC_, &res);
        CHECK_INT_EQ(res.r, PROBE_UNKNOWN);
        CHECK_STR_EQ(
                res.output,
                "context deadline exceeded (Client.Timeout or context cancellation while reading body)");
        result_reset(&res);
}

TEST(http_transport_errors) {
        struct result res = {};
        struct pod_http_get_action a = action("/x");
        int port = closed_port();
        http_setup();
        http_probe(&a, "127.0.0.1", port, SEC_, &res);
        CHECK_INT_EQ(res.r, PROBE_FAILURE);
        CHECK_STR_EQ(res.output,
                     fmt("Get \"http://127.0.0.1:%d/x\": dial tcp 127.0.0.1:%d: connect: connection refused",
                         port, port));

        a = action("/close");
        http_probe(&a, "127.0.0.1", http_port, SEC_, &res);
        CHECK_INT_EQ(res.r, PROBE_FAILURE);
        CHECK_STR_EQ(res.output, fmt("Get \"http://127.0.0.1:%d/close\": EOF", http_port));

        a = action("/reset");
        http_probe(&a, "127.0.0.1", http_port, SEC_, &res);
        CHECK_INT_EQ(res.r, PROBE_FAILURE);
        CHECK(strstr(strempty(res.output), fmt("Get \"http://127.0.0.1:%d/reset\": read tcp 127.0.0.1:", http_port)));
        CHECK(strstr(strempty(res.output), fmt("->127.0.0.1:%d: read: connection reset by peer", http_port)));
        if (test_current_failed)
                fprintf(stderr, "  output: %s\n", strempty(res.output));

        /* Found at start, reported from the loop. */
        a = action("x");
        a.scheme = (char *) "FTP";
        http_probe(&a, "127.0.0.1", http_port, SEC_, &res);
        CHECK_INT_EQ(res.r, PROBE_FAILURE);
        CHECK_STR_EQ(res.output,
                     fmt("Get \"ftp://127.0.0.1:%d/x\": unsupported protocol scheme \"ftp\"", http_port));
        result_reset(&res);
}

TEST(http_body_cap) {
        struct result res = {};
        struct pod_http_get_action a = action("/big");
        http_setup();
        http_probe(&a, "127.0.0.1", http_port, SEC_, &res);
        CHECK_INT_EQ(res.r, PROBE_SUCCESS);
        CHECK_INT_EQ(strlen(strempty(res.output)), 10240);
        result_reset(&res);
}

TEST(http_ipv6) {
        struct result res = {};
        struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
        socklen_t len = sizeof(sa);
        int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
        setup();
        if (fd < 0 || bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 ||
            getsockname(fd, (struct sockaddr *) &sa, &len) < 0) {
                fprintf(stderr, "  (no IPv6 loopback: skipped)\n");
                if (fd >= 0)
                        close(fd);
                return;
        }
        int port = ntohs(sa.sin6_port);
        close(fd);
        struct pod_http_get_action a = action("/healthz");
        http_probe(&a, "::1", port, SEC_, &res);
        CHECK_INT_EQ(res.r, PROBE_FAILURE);
        CHECK_STR_EQ(res.output,
                     fmt("Get \"http://[::1]:%d/healthz\": dial tcp [::1]:%d: connect: connection refused",
                         port, port));
        result_reset(&res);
}

TEST(https_self_signed) {
        struct result res = {};
        char dir[] = "/tmp/test-probes-XXXXXX";
        char cmd[1024];
        setup();
        if (system("command -v openssl >/dev/null 2>&1") != 0 || !mkdtemp(dir)) {
                fprintf(stderr, "  (no openssl CLI: skipped)\n");
                return;
        }
        snprintf(cmd, sizeof(cmd),
                 "openssl req -x509 -newkey rsa:2048 -nodes -keyout %s/key.pem -out %s/cert.pem -subj "
                 "/CN=localhost "
                 "-days 1 >/dev/null 2>&1",
                 dir, dir);
        if (system(cmd) != 0) {
                TEST_FAIL("openssl req failed");
                return;
        }
        int port = closed_port();
        pid_t pid = fork();
        if (pid == 0) {
                char p[16], cert[256], key[256];
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                snprintf(p, sizeof(p), "%d", port);
                snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
                snprintf(key, sizeof(key), "%s/key.pem", dir);
                int null = open("/dev/null", O_RDWR);
                dup2(null, 0);
                dup2(null, 1);
                dup2(null, 2);
                execlp("openssl", "openssl", "s_server", "-accept", p, "-cert", cert, "-key", key, "-www",
                       "-quiet", (char *) NULL);
                _exit(127);
        }
        /* Wait until it listens. */
        for (int i = 0; i < 100; i++) {
                struct sockaddr_in sa = {.sin_family = AF_INET,
                                         .sin_port = htons((uint16_t) port),
                                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
                int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
                int ok = connect(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0;
                close(fd);
                if (ok)
                        break;
                usleep(50000);
        }
        struct pod_http_get_action a = action("/");
        a.scheme = (char *) "HTTPS";
        http_probe(&a, "127.0.0.1", port, 3 * SEC_, &res);
        CHECK_INT_EQ(res.r, PROBE_SUCCESS);
        if (res.r != PROBE_SUCCESS)
                fprintf(stderr, "  output: %s\n", strempty(res.output));
        stop_child(&pid);
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        nl_ignore(system(cmd));
        result_reset(&res);
}

/* ---- tcp ---- */

static void tcp_probe(const char *host, int port, usec_t timeout, struct result *res) {
        struct probe_op *op = NULL;
        result_reset(res);
        CHECK_INT_EQ(probe_tcp_start(runner, host, port, timeout, on_done, res, &op), 0);
        CHECK_INT_EQ(res->calls, 0);
        run_loop(4 * timeout + 5 * SEC_, &res->calls, 1);
        CHECK_INT_EQ(res->calls, 1);
}

TEST(tcp_open_and_closed) {
        struct result res = {};
        int port;
        int fd = listen_local(16, &port);
        setup();
        CHECK(fd >= 0);
        tcp_probe("127.0.0.1", port, SEC_, &res);
        CHECK_INT_EQ(res.r, PROBE_SUCCESS);
        CHECK_STR_EQ(res.output, "");
        /* A host name goes through curl's resolver. */
        tcp_probe("localhost", port, SEC_, &res);
        CHECK_INT_EQ(res.r, PROBE_SUCCESS);
        close(fd);

        port = closed_port();
        tcp_probe("127.0.0.1", port, SEC_, &res);
        CHECK_INT_EQ(res.r, PROBE_FAILURE);
        CHECK_STR_EQ(res.output, fmt("dial tcp 127.0.0.1:%d: connect: connection refused", port));
        tcp_probe("::1", port, SEC_, &res);
        CHECK_INT_EQ(res.r, PROBE_FAILURE);
        CHECK(strstr(strempty(res.output), fmt("dial tcp [::1]:%d: connect: ", port)));
        result_reset(&res);
}

TEST(tcp_timeout) {
        struct result res = {};
        int port, fillers[4], n = 0;
        /* A listener with backlog 0 whose queue is full: Linux drops further SYNs, so the connect
         * hangs as towards a blackhole. */
        int lfd = listen_local(0, &port);
        setup();
        CHECK(lfd >= 0);
        for (n = 0; n < 4; n++) {
                struct sockaddr_in sa = {.sin_family = AF_INET,
                                         .sin_port = htons((uint16_t) port),
                                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
                fillers[n] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
                (void) connect(fillers[n], (struct sockaddr *) &sa, sizeof(sa));
        }
        usleep(100000);
        tcp_probe("127.0.0.1", port, SEC_, &res);
        if (res.r == PROBE_SUCCESS)
                fprintf(stderr, "  (the kernel accepted past the backlog: timeout case not checked)\n");
        else {
                CHECK_INT_EQ(res.r, PROBE_FAILURE);
                CHECK_STR_EQ(res.output, fmt("dial tcp 127.0.0.1:%d: i/o timeout", port));
                /* never early: the timeout counts from the probe's start, not from the loop's
                 * cached time (the usleep above left it 100 ms stale) */
                CHECK(res.finished - res.started >= SEC_);
                CHECK(res.finished - res.started < 3 * SEC_);
        }
        for (int i = 0; i < n; i++)
                close(fillers[i]);
        close(lfd);
        result_reset(&res);
}

/* ---- grpc ---- */

static pid_t grpc_pid;
static int grpc_port;

static bool grpc_setup(void) {
        char exe[PATH_MAX], path[PATH_MAX + 32];
        int pipefd[2];
        setup();
        if (grpc_pid)
                return true;
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (n <= 0)
                return false;
        exe[n] = 0;
        snprintf(path, sizeof(path), "%s/grpc-health-server", dirname(exe));
        if (access(path, X_OK) < 0) {
                fprintf(stderr, "  (%s missing: make it; grpc cases skipped)\n", path);
                return false;
        }
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return false;
        grpc_pid = fork();
        if (grpc_pid == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                dup2(pipefd[1], 1);
                execl(path, path, "0", (char *) NULL);
                _exit(127);
        }
        close(pipefd[1]);
        char buf[64] = {};
        size_t len = 0;
        while (len < sizeof(buf) - 1 && !memchr(buf, '\n', len)) {
                ssize_t k = read(pipefd[0], buf + len, sizeof(buf) - 1 - len);
                if (k <= 0)
                        break;
                len += (size_t) k;
        }
        close(pipefd[0]);
        if (sscanf(buf, "port %d", &grpc_port) != 1) {
                TEST_FAIL("grpc-health-server did not start");
                stop_child(&grpc_pid);
                return false;
        }
        return true;
}

static void grpc_probe(int port, const char *service, usec_t timeout, struct result *res) {
        struct probe_op *op = NULL;
        result_reset(res);
        CHECK_INT_EQ(probe_grpc_start(runner, "127.0.0.1", port, service, timeout, on_done, res, &op), 0);
        CHECK_INT_EQ(res->calls, 0);
        run_loop(4 * timeout + 5 * SEC_, &res->calls, 1);
        CHECK_INT_EQ(res->calls, 1);
}

TEST(grpc_health) {
        struct result res = {};
        if (!grpc_setup())
                return;
        grpc_probe(grpc_port, "", SEC_, &res);
        CHECK_INT_EQ(res.r, PROBE_SUCCESS);
        CHECK_STR_EQ(res.output, "service healthy");
        grpc_probe(grpc_port, "ok", SEC_, &res);
        CHECK_INT_EQ(res.r, PROBE_SUCCESS);
        grpc_probe(grpc_port, "bad", SEC_, &res);
        CHECK_INT_EQ(res.r, PROBE_FAILURE);
        CHECK_STR_EQ(res.output, "service unhealthy (responded with \"NOT_SERVING\")");
        grpc_probe(grpc_port, "nope", SEC_, &res);
        CHECK_INT_EQ(res.r, PROBE_FAILURE);
        CHECK_STR_EQ(res.output,
                     "error: health rpc probe failed: rpc error: code = NotFound desc = unknown service");
        grpc_probe(grpc_port, "slow", SEC_, &res);
        CHECK_INT_EQ(res.r, PROBE_FAILURE);
        CHECK_STR_EQ(res.output, "timeout: health rpc did not complete within 1s");
        CHECK(res.finished - res.started < 3 * SEC_);
        result_reset(&res);
}

TEST(grpc_wrong_port) {
        struct result res = {};
        int port = closed_port();
        setup();
        grpc_probe(port, "", SEC_, &res);
        CHECK_INT_EQ(res.r, PROBE_FAILURE);
        CHECK_STR_EQ(res.output, fmt("timeout: failed to connect service \"127.0.0.1:%d\" within 1s: "
                                     "context deadline exceeded",
                                     port));
        CHECK(res.finished - res.started >= SEC_ * 9 / 10);
        CHECK(res.finished - res.started < 3 * SEC_);

        /* An HTTP/1 server is no gRPC server either. */
        http_setup();
        grpc_probe(http_port, "", SEC_, &res);
        CHECK_INT_EQ(res.r, PROBE_FAILURE);
        if (getenv("TEST_VERBOSE"))
                fprintf(stderr, "  grpc against HTTP/1: %s\n", strempty(res.output));
        result_reset(&res);
}

/* ---- lifecycle ---- */

TEST(cancel) {
        struct result res[4] = {};
        struct probe_op *op[4] = {};
        struct pod_http_get_action hang = action("/hang"), ftp = action("/");
        ftp.scheme = (char *) "ftp";
        http_setup();
        int port;
        int lfd = listen_local(0, &port);

        CHECK_INT_EQ(probe_http_start(runner, &hang, "127.0.0.1", http_port, SEC_, on_done, &res[0], &op[0]),
                     0);
        CHECK_INT_EQ(probe_http_start(runner, &ftp, "127.0.0.1", http_port, SEC_, on_done, &res[1], &op[1]),
                     0);
        CHECK_INT_EQ(probe_tcp_start(runner, "127.0.0.1", closed_port(), SEC_, on_done, &res[2], &op[2]), 0);
        CHECK_INT_EQ(
                probe_grpc_start(runner, "127.0.0.1", closed_port(), "", SEC_, on_done, &res[3], &op[3]), 0);
        /* The deferred failure is cancelled before the loop ever runs; the rest in flight. */
        probe_op_cancel(op[1]);
        run_loop(200000, NULL, 0);
        probe_op_cancel(op[0]);
        probe_op_cancel(op[3]);
        if (res[2].calls == 0)
                probe_op_cancel(op[2]);
        run_loop(2 * SEC_, NULL, 0);
        CHECK_INT_EQ(res[0].calls, 0);
        CHECK_INT_EQ(res[1].calls, 0);
        CHECK(res[2].calls <= 1);
        CHECK_INT_EQ(res[3].calls, 0);
        close(lfd);
        for (int i = 0; i < 4; i++)
                result_reset(&res[i]);
}

#define MANY 200

TEST(many_at_once) {
        static struct result res[MANY];
        struct probe_op *op;
        struct pod_http_get_action a = action("/ok");
        int done = 0, port;
        int lfd = listen_local(MANY, &port);
        http_setup();
        bool grpc = grpc_setup();

        usec_t start = now_monotonic();
        for (int i = 0; i < MANY; i++) {
                result_reset(&res[i]);
                int k = i % 4 == 0
                                ? probe_tcp_start(runner, "127.0.0.1", port, 5 * SEC_, on_done, &res[i], &op)
                        : i % 4 == 1 && grpc ? probe_grpc_start(runner, "127.0.0.1", grpc_port, "ok",
                                                                5 * SEC_, on_done, &res[i], &op)
                                             : probe_http_start(runner, &a, "127.0.0.1", http_port, 5 * SEC_,
                                                                on_done, &res[i], &op);
                CHECK_INT_EQ(k, 0);
        }
        usec_t end = now_monotonic() + 20 * SEC_;
        while (now_monotonic() < end) {
                done = 0;
                for (int i = 0; i < MANY; i++)
                        done += res[i].calls;
                if (done >= MANY)
                        break;
                (void) sd_event_run(ev, 50000);
        }
        CHECK_INT_EQ(done, MANY);
        int ok = 0;
        for (int i = 0; i < MANY; i++) {
                CHECK(res[i].calls <= 1);
                if (res[i].r == PROBE_SUCCESS && res[i].calls == 1)
                        ok++;
                else if (res[i].calls == 1)
                        fprintf(stderr, "  probe %d: %d %s\n", i, res[i].r, strempty(res[i].output));
                result_reset(&res[i]);
        }
        CHECK_INT_EQ(ok, MANY);
        if (getenv("TEST_VERBOSE"))
                fprintf(stderr, "  %d probes in %llu ms\n", MANY,
                        (unsigned long long) (now_monotonic() - start) / 1000);
        close(lfd);
}

TEST(go_durations) {
        const struct {
                usec_t u;
                const char *s;
        } cases[] = {
                {0, "0s"},         {SEC_, "1s"},         {500000, "500ms"},
                {1500000, "1.5s"}, {90 * SEC_, "1m30s"}, {3600 * SEC_, "1h0m0s"},
                {1250, "1.25ms"},  {10, "10\u00b5s"},    {60 * SEC_, "1m0s"},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char *s = probe_format_duration(cases[i].u);
                CHECK_STR_EQ(s, cases[i].s);
                free(s);
        }
}

TEST(zz_teardown) {
        probe_runner_free(runner);
        runner = NULL;
        sd_event_unref(ev);
        ev = NULL;
        stop_child(&http_pid);
        stop_child(&grpc_pid);
}
