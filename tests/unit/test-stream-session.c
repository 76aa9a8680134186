/* SPDX-License-Identifier: Apache-2.0 */
/* The session driver of stream/ against a client made of the library's own encoders, over a
 * socket pair, the driver in a forked child: what the client-go interop cannot force. A client
 * that speaks SPDY flow control gets no more than its window; streams that never all arrive
 * end the session after the creation timeout, an idle one after the idle timeout; a bad v5
 * close signal ends it as the kubelet does; the exit code reaches the error stream. */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "stream/stream.h"
#include "test.h"

#define MSEC 1000ULL

struct fake {
        size_t out_bytes; /* written to stdout, which then ends */
        bool never_ends;
        int exit_code;
        int keep_out; /* the write end kept open when never_ends */
};

static int fake_start(void *userdata, struct stream_process *ret, nl_error *err) {
        struct fake *f = userdata;
        int in[2], out[2], errp[2];

        if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0)
                return nl_error_set(err, -errno, "pipe");
        if (fork() == 0) {
                /* the "process": writes its output slowly enough to need several reads */
                char buf[1000];
                memset(buf, 'a', sizeof(buf));
                for (size_t done = 0; done < f->out_bytes; done += sizeof(buf))
                        if (write(out[1], buf,
                                  f->out_bytes - done < sizeof(buf) ? f->out_bytes - done : sizeof(buf)) < 0)
                                _exit(1);
                _exit(0);
        }
        if (f->never_ends)
                f->keep_out = out[1];
        else
                close(out[1]);
        close(errp[1]);
        close(in[0]);
        *ret = (struct stream_process){in[1], out[0], errp[0], eventfd(f->never_ends ? 0 : 1, EFD_CLOEXEC)};
        return 0;
}

static int fake_wait(void *userdata, struct stream_result *ret) {
        struct fake *f = userdata;
        while (waitpid(-1, NULL, WNOHANG) > 0)
                ;
        *ret = (struct stream_result){.kind = f->exit_code ? STREAM_RESULT_EXIT_CODE : STREAM_RESULT_SUCCESS,
                                      .exit_code = f->exit_code};
        return 0;
}

/* Fork the driver on one end of a socket pair; the other end is returned. */
static pid_t serve(const struct stream_upgrade *up, const struct stream_exec_options *o, struct fake *f,
                   const struct stream_limits *lim, int *ret_fd) {
        int s[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s) < 0)
                return -1;
        pid_t pid = fork();
        if (pid == 0) {
                signal(SIGPIPE, SIG_IGN);
                close(s[1]);
                struct stream_conn conn;
                stream_conn_socket(s[0], &conn);
                const struct stream_exec_ops ops = {.start = fake_start, .wait = fake_wait};
                nl_error err = NL_ERROR_INIT;
                int r = stream_exec_serve(&conn, up, o, &ops, f, lim, NULL, 0, &err);
                _exit(r < 0 ? -r : 0);
        }
        close(s[0]);
        struct timeval tv = {.tv_sec = 10};
        setsockopt(s[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        *ret_fd = s[1];
        return pid;
}

static int child_exit(pid_t pid) {
        int st = 0;
        if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
                return -1;
        return WEXITSTATUS(st);
}

static void send_buf(int fd, struct stream_buf *b) {
        CHECK(write(fd, stream_buf_head(b), stream_buf_size(b)) == (ssize_t) stream_buf_size(b));
        stream_buf_clear(b);
}

/* What the client has read: data per stream, whether it ended, the GOAWAY. */
struct client_view {
        size_t data[8];
        char error[512];
        bool fin[8];
        bool goaway;
        bool replied[8];
};

static int view_frame(void *userdata, const struct spdy_frame *f) {
        struct client_view *v = userdata;
        uint32_t id = f->stream_id < 8 ? f->stream_id : 0;
        switch (f->type) {
        case SPDY_SYN_REPLY:
                v->replied[id] = true;
                break;
        case SPDY_DATA:
                if (id == 1 && strlen(v->error) + f->len < sizeof(v->error))
                        strncat(v->error, (const char *) f->data, f->len);
                v->data[id] += f->len;
                if (f->last && (f->flags & SPDY_FLAG_FIN))
                        v->fin[id] = true;
                break;
        case SPDY_GOAWAY:
                v->goaway = true;
                break;
        default:
                break;
        }
        return 0;
}

/* Read what the server sends until cond holds or nothing comes for 300 ms. */
static void read_until(int fd, struct spdy_parser *p, struct client_view *v,
                       bool (*cond)(const struct client_view *)) {
        while (!cond(v)) {
                struct pollfd pf = {.fd = fd, .events = POLLIN};
                if (poll(&pf, 1, 300) <= 0)
                        return;
                uint8_t buf[4096];
                ssize_t n = read(fd, buf, sizeof(buf));
                if (n <= 0)
                        return;
                CHECK_INT_EQ(spdy_parser_feed(p, buf, (size_t) n, view_frame, v), 0);
        }
}

static bool never(const struct client_view *v) {
        return false;
}

static bool has_goaway(const struct client_view *v) {
        return v->goaway;
}

static const char RESPONSE[] = "HTTP/1.1 101 Switching Protocols\r\n\r\n";

static void skip_response(int fd) {
        char buf[sizeof(RESPONSE) - 1];
        CHECK(recv(fd, buf, sizeof(buf), MSG_WAITALL) == (ssize_t) sizeof(buf));
}

TEST(spdy_flow_control_client) {
        struct stream_upgrade up = {.kind = STREAM_KIND_EXEC,
                                    .transport = STREAM_TRANSPORT_SPDY,
                                    .version = 4,
                                    .status = 101,
                                    .response = (char *) RESPONSE,
                                    .response_len = sizeof(RESPONSE) - 1};
        char *cmd[] = {(char *) "x", NULL};
        struct stream_exec_options o = {.stdout = true, .command = cmd, .n_command = 1};
        struct fake f = {.out_bytes = 5000, .exit_code = 7};
        struct spdy_encoder *e = NULL;
        struct spdy_parser *p = NULL;
        struct stream_buf out = {};
        struct client_view v = {};
        int fd;

        pid_t pid = serve(&up, &o, &f, NULL, &fd);
        CHECK(pid > 0);
        skip_response(fd);
        spdy_encoder_new(&e);
        spdy_parser_new(&p);
        /* a strict SPDY/3.1 client: stream windows of 1000 bytes */
        struct spdy_setting set = {0, SPDY_SETTINGS_INITIAL_WINDOW_SIZE, 1000};
        spdy_encode_settings(&out, 0, &set, 1);
        struct spdy_header h1 = {"streamtype", (char *) "error", 5},
                           h3 = {"streamtype", (char *) "stdout", 6};
        spdy_encode_syn_stream(e, &out, 1, 0, 0, 0, &h1, 1);
        spdy_encode_syn_stream(e, &out, 3, 0, 0, 0, &h3, 1);
        send_buf(fd, &out);
        read_until(fd, p, &v, never);
        CHECK(v.replied[1] && v.replied[3]);
        CHECK_INT_EQ(v.data[3], 1000); /* no more than the window */
        CHECK(!v.fin[3]);
        /* open the window: the rest, then the result and the end */
        spdy_encode_window_update(&out, 3, 4000);
        send_buf(fd, &out);
        read_until(fd, p, &v, has_goaway);
        CHECK_INT_EQ(v.data[3], 5000);
        CHECK(v.fin[1] && v.fin[3] && v.goaway);
        CHECK(strstr(v.error, "\"reason\":\"NonZeroExitCode\"") != NULL);
        CHECK(strstr(v.error, "error executing command [x], exit code 7") != NULL);
        close(fd);
        CHECK_INT_EQ(child_exit(pid), 0);
        stream_buf_free(&out);
        spdy_encoder_free(e);
        spdy_parser_free(p);
}

TEST(spdy_streams_never_all_there) {
        struct stream_upgrade up = {.kind = STREAM_KIND_EXEC,
                                    .transport = STREAM_TRANSPORT_SPDY,
                                    .version = 5,
                                    .status = 101,
                                    .response = (char *) RESPONSE,
                                    .response_len = sizeof(RESPONSE) - 1};
        char *cmd[] = {(char *) "x", NULL};
        struct stream_exec_options o = {.stdout = true, .stdin = true, .command = cmd, .n_command = 1};
        struct stream_limits lim = {.stream_creation_timeout = 200 * MSEC};
        struct fake f = {};
        struct spdy_encoder *e = NULL;
        struct stream_buf out = {};
        int fd;

        pid_t pid = serve(&up, &o, &f, &lim, &fd);
        skip_response(fd);
        spdy_encoder_new(&e);
        struct spdy_header h1 = {"streamtype", (char *) "error", 5};
        spdy_encode_syn_stream(e, &out, 1, 0, 0, 0, &h1, 1);
        send_buf(fd, &out);
        uint64_t t0 = now_monotonic();
        CHECK_INT_EQ(child_exit(pid), ETIMEDOUT);
        CHECK(now_monotonic() - t0 < 5000 * MSEC);
        close(fd);
        stream_buf_free(&out);
        spdy_encoder_free(e);
}

static const uint8_t MASK[4] = {1, 2, 3, 4};

TEST(websocket_bad_close_signal) {
        struct stream_upgrade up = {.kind = STREAM_KIND_EXEC,
                                    .transport = STREAM_TRANSPORT_WEBSOCKET,
                                    .version = 5,
                                    .status = 101,
                                    .response = (char *) RESPONSE,
                                    .response_len = sizeof(RESPONSE) - 1};
        char *cmd[] = {(char *) "x", NULL};
        struct stream_exec_options o = {.stdout = true, .stdin = true, .command = cmd, .n_command = 1};
        struct fake f = {.never_ends = true};
        struct stream_buf out = {};
        int fd;

        pid_t pid = serve(&up, &o, &f, NULL, &fd);
        skip_response(fd);
        /* "Close is targeted for a channel that is not valid": the kubelet ends the connection */
        ws_encode_frame(&out, WS_BINARY, true, MASK, "\xff\x09", 2, NULL, 0);
        send_buf(fd, &out);
        CHECK_INT_EQ(child_exit(pid), ECONNRESET);
        close(fd);
        stream_buf_free(&out);
}

TEST(websocket_idle_timeout) {
        struct stream_upgrade up = {.kind = STREAM_KIND_EXEC,
                                    .transport = STREAM_TRANSPORT_WEBSOCKET,
                                    .version = 5,
                                    .status = 101,
                                    .response = (char *) RESPONSE,
                                    .response_len = sizeof(RESPONSE) - 1};
        char *cmd[] = {(char *) "x", NULL};
        struct stream_exec_options o = {.stdout = true, .command = cmd, .n_command = 1};
        struct stream_limits lim = {.idle_timeout = 300 * MSEC};
        struct fake f = {.never_ends = true};
        int fd;

        pid_t pid = serve(&up, &o, &f, &lim, &fd);
        uint64_t t0 = now_monotonic();
        CHECK_INT_EQ(child_exit(pid), ETIMEDOUT);
        CHECK(now_monotonic() - t0 >= 250 * MSEC);
        close(fd);
}
