/* SPDX-License-Identifier: Apache-2.0 */
/* The session driver of stream/ with a hostile client: the first input byte picks the session
 * (exec, attach or port-forward; SPDY, WebSocket of each framing, SPDY in WebSocket), the rest
 * is what the client sends after the upgrade, then it closes its side. The process is fake
 * (stdout "out", an exit code through an eventfd), port-forward connects to socket pairs or
 * fails. The driver must return (no hang: short timeouts) with every fd it was given closed. */
#include <fcntl.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include "common/util.h"
#include "stream/stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct mode {
        enum stream_kind kind;
        enum stream_transport transport;
        enum stream_protocol protocol;
        int version;
        bool base64;
};

static const struct mode modes[] = {
        {STREAM_KIND_EXEC, STREAM_TRANSPORT_SPDY, STREAM_PROTOCOL_V5, 5, false},
        {STREAM_KIND_EXEC, STREAM_TRANSPORT_SPDY, STREAM_PROTOCOL_V4, 4, false},
        {STREAM_KIND_EXEC, STREAM_TRANSPORT_SPDY, STREAM_PROTOCOL_V1, 1, false},
        {STREAM_KIND_ATTACH, STREAM_TRANSPORT_SPDY, STREAM_PROTOCOL_V3, 3, false},
        {STREAM_KIND_EXEC, STREAM_TRANSPORT_WEBSOCKET, STREAM_PROTOCOL_V5, 5, false},
        {STREAM_KIND_EXEC, STREAM_TRANSPORT_WEBSOCKET, STREAM_PROTOCOL_V4_BASE64, 4, true},
        {STREAM_KIND_ATTACH, STREAM_TRANSPORT_WEBSOCKET, STREAM_PROTOCOL_BASE64, 1, true},
        {STREAM_KIND_EXEC, STREAM_TRANSPORT_WEBSOCKET, STREAM_PROTOCOL_NONE, 1, false},
        {STREAM_KIND_PORTFORWARD, STREAM_TRANSPORT_SPDY, STREAM_PROTOCOL_PORTFORWARD, 1, false},
        {STREAM_KIND_PORTFORWARD, STREAM_TRANSPORT_SPDY_OVER_WEBSOCKET, STREAM_PROTOCOL_PF_TUNNEL, 1, false},
        {STREAM_KIND_PORTFORWARD, STREAM_TRANSPORT_WEBSOCKET, STREAM_PROTOCOL_V4, 4, false},
        {STREAM_KIND_PORTFORWARD, STREAM_TRANSPORT_WEBSOCKET, STREAM_PROTOCOL_V4_BASE64, 4, true},
};

/* The harness's ends of what it handed the driver, closed after each run. */
static int keep[64];
static size_t n_keep;

static void keep_fd(int fd) {
        if (n_keep < ELEMENTSOF(keep))
                keep[n_keep++] = fd;
        else
                close(fd);
}

static int fake_start(void *userdata, struct stream_process *ret, nl_error *err) {
        int in[2], out[2], errp[2];

        if (pipe2(in, O_CLOEXEC) < 0)
                return nl_error_set(err, -errno, "pipe");
        if (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0)
                abort();
        if (write(out[1], "out", 3) != 3)
                abort();
        close(out[1]);
        close(errp[1]);
        keep_fd(in[0]);
        *ret = (struct stream_process){in[1], out[0], errp[0], eventfd(1, EFD_CLOEXEC)};
        return 0;
}

static int fake_wait(void *userdata, struct stream_result *ret) {
        *ret = (struct stream_result){.kind = STREAM_RESULT_EXIT_CODE, .exit_code = 3};
        return 0;
}

static void fake_resize(void *userdata, uint16_t w, uint16_t h) {
}

static int fake_connect(void *userdata, uint16_t port, int *ret_fd, nl_error *err) {
        int s[2];

        if (port % 2)
                return nl_error_set(err, -ECONNREFUSED, "connection refused");
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s) < 0)
                return nl_error_set(err, -errno, "socketpair");
        if (write(s[1], "pod", 3) != 3)
                abort();
        keep_fd(s[1]);
        *ret_fd = s[0];
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static bool init;
        int s[2];

        if (!init) {
                signal(SIGPIPE, SIG_IGN);
                init = true;
        }
        if (size < 1 || size > 64 * 1024)
                return 0;
        const struct mode *m = &modes[data[0] % ELEMENTSOF(modes)];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s) < 0)
                return 0;
        int big = 1 << 20;
        (void) setsockopt(s[1], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
        (void) setsockopt(s[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
        if (size > 1 && write(s[1], data + 1, size - 1) != (ssize_t) (size - 1)) {
                close(s[0]);
                close(s[1]);
                return 0;
        }
        shutdown(s[1], SHUT_WR);

        char response[] = "HTTP/1.1 101 Switching Protocols\r\n\r\n";
        struct stream_upgrade up = {
                .kind = m->kind,
                .transport = m->transport,
                .protocol = m->protocol,
                .version = m->version,
                .base64 = m->base64,
                .status = 101,
                .response = response,
                .response_len = sizeof(response) - 1,
        };
        struct stream_limits lim = {
                .idle_timeout = 200000,
                .stream_creation_timeout = 20000,
                .linger = 1000,
                .drain = 1000,
                .max_streams = 16,
        };
        struct stream_conn conn;
        stream_conn_socket(s[0], &conn);
        nl_error err = NL_ERROR_INIT;
        n_keep = 0;
        if (m->kind == STREAM_KIND_PORTFORWARD) {
                static const uint16_t ports[] = {2, 3};
                const struct stream_portforward_ops ops = {.connect = fake_connect};
                (void) stream_portforward_serve(&conn, &up, ports, ELEMENTSOF(ports), &ops, NULL, "pod",
                                                "uid", &lim, NULL, 0, &err);
        } else {
                char *cmd[] = {(char *) "true", NULL};
                struct stream_exec_options o = {.stdin = true,
                                                .stdout = true,
                                                .stderr = !(data[0] & 0x80),
                                                .tty = data[0] & 0x80,
                                                .command = cmd,
                                                .n_command = 1};
                const struct stream_exec_ops ops = {
                        .start = fake_start, .resize = fake_resize, .wait = fake_wait};
                (void) stream_exec_serve(&conn, &up, &o, &ops, NULL, &lim, NULL, 0, &err);
        }
        nl_error_clear(&err);
        for (size_t i = 0; i < n_keep; i++)
                close(keep[i]);
        close(s[0]);
        close(s[1]);
        return 0;
}
