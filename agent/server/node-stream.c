/* SPDX-License-Identifier: Apache-2.0 */
/* The kubelet's streaming endpoints on the node port, in the connection's child:
 *   /exec/{namespace}/{pod}[/{uid}]/{container}?command=..&input=1&output=1&error=1&tty=1
 *   /attach/{namespace}/{pod}[/{uid}]/{container}
 *   /portForward/{namespace}/{pod}[/{uid}]
 *   /run/{namespace}/{pod}[/{uid}]/{container}?cmd=...   (POST: the output as the body)
 * The upgrade, the SPDY and WebSocket sessions and the remotecommand and port-forward semantics
 * are stream/'s; here the pod and container are found in the node's state, the command runs
 * through the runtime's exec (cri_exec_start) and port-forward connects inside the pod's
 * network namespace, as containerd does. The request is authorized already (nodes/proxy, as
 * the kubelet authorizes these paths). */
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>

#include "agent/state/state.h"
#include "common/fs.h"
#include "cri/cri.h"
#include "cri/layout.h"
#include "node-server-internal.h"
#include "stream/stream.h"

#define RUN_OUTPUT_MAX (4u * 1024u * 1024u) /* /run's answer */
#define RUN_TIMEOUT (120ULL * USEC_PER_SEC)  /* the kubelet's runtimeRequestTimeout */

enum endpoint { EP_EXEC, EP_ATTACH, EP_PORTFORWARD, EP_RUN };

struct target {
        enum endpoint ep;
        const char *namespace, *pod, *uid, *container; /* into the request; uid may be NULL */
};

/* The path's shape: {ns}/{pod}[/{uid}]/{container} (portForward: {ns}/{pod}[/{uid}]). */
static bool parse_target(const struct request *rq, struct target *t) {
        static const char *const names[] = { [EP_EXEC] = "exec", [EP_ATTACH] = "attach",
                                             [EP_PORTFORWARD] = "portForward", [EP_RUN] = "run" };
        if (rq->n_seg < 1 || rq->trailing_slash)
                return false;
        for (size_t e = 0; e < ELEMENTSOF(names); e++) {
                if (!streq(rq->seg[0], names[e]))
                        continue;
                *t = (struct target){ .ep = (enum endpoint) e };
                size_t n = rq->n_seg - 1;
                if (e == EP_PORTFORWARD) {
                        if (n != 2 && n != 3)
                                return false;
                        t->uid = n == 3 ? rq->seg[3] : NULL;
                } else {
                        if (n != 3 && n != 4)
                                return false;
                        t->uid = n == 4 ? rq->seg[3] : NULL;
                        t->container = rq->seg[n];
                }
                t->namespace = rq->seg[1];
                t->pod = rq->seg[2];
                return true;
        }
        return false;
}

bool node_stream_path(const struct request *rq) {
        struct target t;
        return parse_target(rq, &t);
}

/* ---- the connection for stream/'s driver: the socket, or TLS over it ------------------------ */

static ssize_t tls_read(void *userdata, void *buf, size_t n) {
        SSL *ssl = userdata;
        int k = SSL_read(ssl, buf, n > INT32_MAX ? INT32_MAX : (int) n);
        if (k > 0)
                return k;
        switch (SSL_get_error(ssl, k)) {
        case SSL_ERROR_WANT_READ:
        case SSL_ERROR_WANT_WRITE:
                return -EAGAIN;
        case SSL_ERROR_ZERO_RETURN:
                return 0;
        default:
                return -EIO;
        }
}

static ssize_t tls_write(void *userdata, const void *buf, size_t n) {
        SSL *ssl = userdata;
        int k = SSL_write(ssl, buf, n > INT32_MAX ? INT32_MAX : (int) n);
        if (k > 0)
                return k;
        int e = SSL_get_error(ssl, k);
        return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? -EAGAIN : -EIO;
}

static bool tls_pending(void *userdata) {
        return SSL_pending(userdata) > 0;
}

static int tls_shutdown(void *userdata) {
        (void) SSL_shutdown(userdata);
        return 0;
}

static void stream_conn_for(struct conn *c, struct stream_conn *ret) {
        if (!c->ssl) {
                stream_conn_socket(c->fd, ret);
                return;
        }
        SSL_set_mode(c->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
        *ret = (struct stream_conn){ .fd = c->fd, .read = tls_read, .write = tls_write, .pending = tls_pending,
                                     .shutdown = tls_shutdown, .userdata = c->ssl };
}

/* ---- the pod and its container in the node's state -------------------------------------- */

struct found {
        json_t *pods;    /* owns what the pointers below borrow */
        json_t *pod;
        const char *uid; /* the pod's */
        char *container_id;
};

static void found_done(struct found *f) {
        json_decref(f->pods);
        free(f->container_id);
        *f = (struct found){};
}

/* 0, or the HTTP status to refuse with (msg: the kubelet's words) */
static int find(const struct node_server *s, const struct target *t, struct found *f, char **msg) {
        f->pods = node_pods_load(s->root_dir);
        f->pod = f->pods ? node_pods_find(f->pods, t->namespace, t->pod) : NULL;
        f->uid = jpath_str(f->pod, "metadata", "uid", NULL);
        if (!f->pod || (t->uid && !streq_ptr(t->uid, f->uid))) {
                *msg = nl_strdupf("pod %s/%s not found", t->namespace, t->pod);
                return 404;
        }
        if (!t->container)
                return 0;
        json_t *st = node_pod_container_status(f->pod, t->container);
        const char *cid = json_string_value(json_object_get(st, "containerID"));
        const char *sep = cid ? strstr(cid, "://") : NULL;
        if (!st || !sep) {
                *msg = nl_strdupf("container %s is not valid for pod %s", t->container, t->pod);
                return st ? 400 : 404;
        }
        if (!json_object_get(json_object_get(st, "state"), "running")) {
                *msg = nl_strdupf("container not found (\"%s\")", t->container);
                return 404;
        }
        f->container_id = strdup(sep + 3);
        return f->container_id ? 0 : 500;
}

/* ---- exec and attach ---------------------------------------------------------------------- */

struct exec_ctx {
        const struct node_server *s;
        const char *container_id;
        const struct stream_exec_options *opts;
        bool attach, tty, stdin; /* attach: the container's own tty and stdin */
        struct cri_exec_process proc;
        bool started;
        uint16_t width, height; /* the terminal's size before the process started */
};

/* A container's spec in the pod (app, init or ephemeral). */
static json_t *container_spec(json_t *pod, const char *name) {
        static const char *const lists[] = { "containers", "initContainers", "ephemeralContainers" };
        for (size_t l = 0; l < ELEMENTSOF(lists); l++) {
                json_t *arr = json_object_get(json_object_get(pod, "spec"), lists[l]), *c;
                size_t i;
                json_array_foreach (arr, i, c)
                        if (streq_ptr(json_string_value(json_object_get(c, "name")), name))
                                return c;
        }
        return NULL;
}

static int exec_start(void *userdata, struct stream_process *ret, nl_error *err) {
        struct exec_ctx *x = userdata;
        /* attach: the kubelet takes tty from the container's spec, and stdin reaches only a
         * container that has one */
        int r = x->attach ? cri_attach_start(x->s->cri, x->container_id, x->tty, x->opts->stdin && x->stdin,
                                             x->opts->stdout, x->opts->stderr, &x->proc, err)
                          : cri_exec_start(x->s->cri, x->container_id, x->opts->command, x->opts->tty,
                                           x->opts->stdin, x->opts->stdout, x->opts->stderr, x->width, x->height,
                                           &x->proc, err);
        if (r < 0)
                return r;
        x->started = true;
        if (x->width && x->height)
                (void) cri_exec_resize(&x->proc, x->width, x->height);
        /* the session owns these from now on */
        *ret = (struct stream_process){ .stdin_fd = x->proc.stdin_fd, .stdout_fd = x->proc.stdout_fd,
                                        .stderr_fd = x->proc.stderr_fd, .exit_fd = x->proc.pidfd };
        x->proc.stdin_fd = x->proc.stdout_fd = x->proc.stderr_fd = x->proc.pidfd = -1;
        return 0;
}

static void exec_resize(void *userdata, uint16_t width, uint16_t height) {
        struct exec_ctx *x = userdata;
        if (!x->started) {
                x->width = width;
                x->height = height;
                return;
        }
        (void) cri_exec_resize(&x->proc, width, height);
}

static int exec_wait(void *userdata, struct stream_result *ret) {
        struct exec_ctx *x = userdata;
        nl_error err = NL_ERROR_INIT;
        int code = 0;
        int r = cri_exec_wait(&x->proc, &code, &err);
        if (r < 0) {
                *ret = (struct stream_result){ .kind = STREAM_RESULT_ERROR, .message = err.msg };
                return 0;
        }
        *ret = (struct stream_result){ .kind = code == 0 ? STREAM_RESULT_SUCCESS : STREAM_RESULT_EXIT_CODE,
                                       .exit_code = code };
        return 0;
}

/* true when a session ran (the connection carries nothing after it) */
static bool serve_exec(struct conn *c, const struct request *rq, const struct target *t,
                       const struct stream_http_request *hrq, struct stream_upgrade *up) {
        bool session = false;
        struct found f = {};
        _cleanup_free_ char *msg = NULL;
        struct stream_exec_options opts = {};
        nl_error err = NL_ERROR_INIT;
        int status = find(c->s, t, &f, &msg);
        if (status == 0 && stream_exec_options_parse(rq->query, t->ep == EP_EXEC, &opts, &err) < 0) {
                status = 400;
                msg = TAKE_PTR(err.msg);
        }
        if (status != 0) {
                (void) send_text(c, status, msg ? msg : "Internal Server Error");
                goto out;
        }
        if (stream_upgrade(hrq, t->ep == EP_ATTACH ? STREAM_KIND_ATTACH : STREAM_KIND_EXEC, up, &err) < 0) {
                /* the refusal, as the kubelet's upgrader writes it */
                (void) conn_send(c, up->response ? up->response : "", up->response_len);
                goto out;
        }
        struct stream_conn sc;
        stream_conn_for(c, &sc);
        json_t *spec = container_spec(f.pod, t->container);
        struct exec_ctx x = { .s = c->s, .container_id = f.container_id, .opts = &opts, .attach = t->ep == EP_ATTACH,
                              .tty = json_is_true(json_object_get(spec, "tty")),
                              .stdin = json_is_true(json_object_get(spec, "stdin")) };
        x.proc = (struct cri_exec_process){ .pid = -1, .pidfd = -1, .stdin_fd = -1, .stdout_fd = -1,
                                            .stderr_fd = -1, .pty = -1, .attach_fd = -1 };
        struct stream_exec_ops ops = { .start = exec_start, .resize = exec_resize, .wait = exec_wait };
        struct stream_limits limits = { .idle_timeout = c->s->streaming_idle_timeout };
        session = true;
        int r = stream_exec_serve(&sc, up, &opts, &ops, &x, &limits, rq->raw + rq->head_len,
                                  rq->len - rq->head_len, &err);
        /* the client went away or broke the protocol: what it ran goes with it (the kubelet's
         * exec ends with its connection) */
        if (r < 0 && x.started)
                cri_exec_kill(&x.proc);
        cri_exec_process_done(&x.proc);
out:
        nl_error_clear(&err);
        stream_exec_options_done(&opts);
        found_done(&f);
        return session;
}

/* ---- run: the command's output as the answer ------------------------------------------------ */

static void serve_run(struct conn *c, const struct request *rq, const struct target *t) {
        struct found f = {};
        _cleanup_free_ char *msg = NULL, *cmd = NULL;
        int status = find(c->s, t, &f, &msg);
        if (status != 0) {
                (void) send_text(c, status, msg ? msg : "Internal Server Error");
                found_done(&f);
                return;
        }
        /* the kubelet: strings.Fields of the "cmd" form value */
        char *argv[STREAM_COMMAND_MAX + 1];
        size_t n = 0;
        if (query_get(rq->query, "cmd", &cmd) > 0)
                for (char *save = NULL, *w = strtok_r(cmd, " \t\n", &save); w && n < STREAM_COMMAND_MAX;
                     w = strtok_r(NULL, " \t\n", &save))
                        argv[n++] = w;
        argv[n] = NULL;
        if (n == 0) {
                (void) send_text(c, 400, "missing cmd");
                found_done(&f);
                return;
        }
        _cleanup_free_ char *out = NULL, *errout = NULL;
        int code = 0;
        nl_error err = NL_ERROR_INIT;
        if (cri_exec_sync(c->s->cri, f.container_id, argv, RUN_TIMEOUT, RUN_OUTPUT_MAX, &out, &errout, &code, &err) < 0)
                (void) send_text(c, 500, strempty(err.msg));
        else {
                /* combined output, as the kubelet's RunInContainer returns it */
                nl_buf b = {};
                nl_buf_puts(&b, strempty(out));
                nl_buf_puts(&b, strempty(errout));
                size_t len = b.len;
                _cleanup_free_ char *body = nl_buf_steal(&b);
                (void) send_response(c, 200, "application/json", strempty(body), body ? len : 0);
        }
        nl_error_clear(&err);
        found_done(&f);
}

/* ---- port-forward -------------------------------------------------------------------------- */

struct pf_ctx {
        int netns; /* the pod's network namespace, or -1: the host's (hostNetwork) */
        bool entered;
};

static int pf_connect(void *userdata, uint16_t port, int *ret_fd, nl_error *err) {
        struct pf_ctx *p = userdata;
        /* once, for the whole child: connections to the client were made before, in the node's
         * namespace, and stay there */
        if (p->netns >= 0 && !p->entered) {
                if (setns(p->netns, CLONE_NEWNET) < 0)
                        return nl_error_set(err, -errno, "enter the pod's network namespace: %m");
                p->entered = true;
        }
        /* localhost inside the pod, IPv4 then IPv6, as containerd's portforward */
        struct sockaddr_in in4 = { .sin_family = AF_INET, .sin_port = htons(port),
                                   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_addr = IN6ADDR_LOOPBACK_INIT };
        int e4 = 0, e6 = 0;
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0 && connect(fd, (struct sockaddr *) &in4, sizeof(in4)) == 0) {
                *ret_fd = fd;
                return 0;
        }
        e4 = errno;
        if (fd >= 0)
                close(fd);
        fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0 && connect(fd, (struct sockaddr *) &in6, sizeof(in6)) == 0) {
                *ret_fd = fd;
                return 0;
        }
        e6 = errno;
        if (fd >= 0)
                close(fd);
        return nl_error_set(err, -e4, "failed to connect to localhost:%u inside the pod's network namespace, IPv4: %s IPv6: %s",
                            port, strerror(e4), strerror(e6));
}

static bool serve_portforward(struct conn *c, const struct request *rq, const struct target *t,
                              const struct stream_http_request *hrq, struct stream_upgrade *up) {
        bool session = false;
        struct found f = {};
        _cleanup_free_ char *msg = NULL, *sb_id = NULL;
        _cleanup_free_ uint16_t *ports = NULL;
        size_t n_ports = 0;
        nl_error err = NL_ERROR_INIT;
        struct sandbox *sb = NULL;
        struct pf_ctx p = { .netns = -1 };
        int status = find(c->s, t, &f, &msg);
        /* the pod's sandbox: its network namespace */
        _cleanup_free_ char *id_path = status == 0 ? layout_pod_file(c->s->root_dir, f.uid, LAYOUT_SANDBOX_ID) : NULL;
        if (status == 0 && (!id_path || nl_read_file(id_path, 128, true, &sb_id, NULL) < 0 ||
                            (sb_id[strcspn(sb_id, "\n")] = '\0', cri_sandbox_load(c->s->cri, sb_id, &sb, &err) < 0))) {
                status = 404;
                msg = nl_strdupf("pod %s/%s has no sandbox", t->namespace, t->pod);
        }
        if (status == 0 && sb->netns_path && (p.netns = open(sb->netns_path, O_RDONLY | O_CLOEXEC)) < 0) {
                status = 500;
                msg = nl_strdupf("open the pod's network namespace: %s", strerror(errno));
        }
        if (status != 0) {
                (void) send_text(c, status, msg ? msg : "Internal Server Error");
                goto out;
        }
        if (stream_upgrade(hrq, STREAM_KIND_PORTFORWARD, up, &err) < 0) {
                (void) conn_send(c, up->response ? up->response : "", up->response_len);
                goto out;
        }
        if (up->transport == STREAM_TRANSPORT_WEBSOCKET && stream_ports_parse(rq->query, &ports, &n_ports, &err) < 0) {
                (void) send_text(c, 400, strempty(err.msg));
                goto out;
        }
        struct stream_conn sc;
        stream_conn_for(c, &sc);
        struct stream_portforward_ops ops = { .connect = pf_connect };
        struct stream_limits limits = { .idle_timeout = c->s->streaming_idle_timeout };
        session = true;
        (void) stream_portforward_serve(&sc, up, ports, n_ports, &ops, &p, t->pod, strempty(f.uid), &limits,
                                        rq->raw + rq->head_len, rq->len - rq->head_len, &err);
out:
        if (p.netns >= 0)
                close(p.netns);
        sandbox_free(sb);
        nl_error_clear(&err);
        found_done(&f);
        return session;
}

void node_stream_serve(struct conn *c, const struct request *rq) {
        struct target t;
        if (!parse_target(rq, &t)) {
                (void) send_text(c, 404, "404 page not found\n");
                return;
        }
        /* the kubelet serves these for GET and POST (run: POST) */
        bool get = streq(rq->method, "GET"), post = streq(rq->method, "POST");
        if (t.ep == EP_RUN ? !post : !(get || post)) {
                (void) send_text(c, 405, "405: Method Not Allowed");
                return;
        }
        if (t.ep == EP_RUN) {
                serve_run(c, rq, &t);
                return;
        }
        /* a session may idle for hours: the head's receive timeout is for the head only */
        struct timeval none = {};
        (void) setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof(none));
        (void) setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &none, sizeof(none));
        struct stream_http_request hrq = {};
        struct stream_upgrade up = {};
        if (stream_http_parse_head(rq->head, rq->head_len, &hrq) < 0) {
                (void) send_text(c, 400, "400 Bad Request");
                return;
        }
        if (!conn_long_slot(c)) {
                stream_http_request_done(&hrq);
                return;
        }
        bool session = t.ep == EP_PORTFORWARD ? serve_portforward(c, rq, &t, &hrq, &up)
                                              : serve_exec(c, rq, &t, &hrq, &up);
        stream_upgrade_done(&up);
        stream_http_request_done(&hrq);
        /* nothing more goes on this connection after a session (its bytes were the session's) */
        if (session)
                c->failed = true;
}
