/* SPDX-License-Identifier: Apache-2.0 */
/* The attach socket's server in nodelet-shim (the protocol is in shim.h). Nothing here may
 * block the monitor: output goes to each client with MSG_DONTWAIT and queues behind a slow
 * one up to a cap, past which that client is dropped (the log still gets every byte); stdin
 * that the container does not read yet is held, and clients are not read meanwhile, so the
 * back-pressure reaches the writer. */
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>

#include "shim.h"

#define CLIENTS_MAX (ATTACH_POLL_MAX - 2)
#define CLIENT_QUEUE_MAX (4u * 1024u * 1024u)
#define PENDING_MAX (SHIM_ATTACH_DATA_MAX + 1)

struct qmsg {
        struct qmsg *next;
        size_t len;
        uint8_t data[];
};

struct client {
        int fd;
        struct qmsg *head, *tail;
        size_t queued;
        bool stdin_user; /* it attached with stdin: its end is stdin's end with stdinOnce */
};

struct attach {
        int listen_fd;
        int in_fd, pty;
        bool stdin_once;
        struct client clients[CLIENTS_MAX];
        size_t n_clients;
        uint8_t pending[PENDING_MAX]; /* stdin not written yet */
        size_t pending_off, pending_len;
};

static void close_stdin(struct attach *a) {
        if (a->in_fd < 0)
                return;
        /* a terminal's end of input is its EOF character (the master stays: it is the output) */
        if (a->pty >= 0)
                (void) !write(a->in_fd, "\x04", 1);
        close(a->in_fd);
        a->in_fd = -1;
        a->pending_len = a->pending_off = 0;
}

static void client_drop(struct attach *a, size_t i) {
        struct client *c = &a->clients[i];
        for (struct qmsg *m = c->head, *next; m; m = next) {
                next = m->next;
                free(m);
        }
        close(c->fd);
        bool stdin_user = c->stdin_user;
        a->clients[i] = a->clients[--a->n_clients];
        /* stdinOnce: "stdin is closed after the first attach session completes" (core/v1) */
        if (stdin_user && a->stdin_once)
                close_stdin(a);
}

static ssize_t find_client(const struct attach *a, int fd) {
        for (size_t i = 0; i < a->n_clients; i++)
                if (a->clients[i].fd == fd)
                        return (ssize_t) i;
        return -1;
}

int attach_open(const char *state_dir, int in_fd, int pty, bool stdin_once, struct attach **ret) {
        struct attach *a = calloc(1, sizeof(*a));
        if (!a)
                return -ENOMEM;
        *a = (struct attach){ .listen_fd = -1, .in_fd = in_fd, .pty = pty, .stdin_once = stdin_once };
        _cleanup_close_ int dfd = open(state_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0) {
                int r = -errno;
                attach_free(a);
                return r;
        }
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s", dfd, SHIM_ATTACH_SOCKET);
        (void) unlinkat(dfd, SHIM_ATTACH_SOCKET, 0);
        a->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (a->listen_fd < 0 || bind(a->listen_fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 ||
            fchmodat(dfd, SHIM_ATTACH_SOCKET, 0600, 0) < 0 || listen(a->listen_fd, 8) < 0) {
                int r = -errno;
                attach_free(a);
                return r;
        }
        if (a->in_fd >= 0)
                (void) fcntl(a->in_fd, F_SETFL, fcntl(a->in_fd, F_GETFL) | O_NONBLOCK);
        *ret = a;
        return 0;
}

void attach_free(struct attach *a) {
        if (!a)
                return;
        a->stdin_once = false; /* leaving: the container's stdin goes with us anyway */
        /* the output's end: what is queued still goes, within a second per client */
        for (size_t i = 0; i < a->n_clients; i++) {
                struct client *c = &a->clients[i];
                struct timeval tv = { .tv_sec = 1 };
                (void) fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) & ~O_NONBLOCK);
                (void) setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
                for (struct qmsg *m = c->head; m; m = m->next)
                        if (send(c->fd, m->data, m->len, MSG_NOSIGNAL) < 0)
                                break;
        }
        while (a->n_clients > 0)
                client_drop(a, a->n_clients - 1);
        if (a->listen_fd >= 0)
                close(a->listen_fd);
        if (a->in_fd >= 0)
                close(a->in_fd);
        free(a);
}

size_t attach_poll_fill(struct attach *a, struct pollfd *p) {
        size_t n = 0;
        if (a->n_clients < CLIENTS_MAX)
                p[n++] = (struct pollfd){ .fd = a->listen_fd, .events = POLLIN };
        if (a->pending_len > a->pending_off && a->in_fd >= 0)
                p[n++] = (struct pollfd){ .fd = a->in_fd, .events = POLLOUT };
        bool stdin_busy = a->pending_len > a->pending_off;
        for (size_t i = 0; i < a->n_clients; i++) {
                struct client *c = &a->clients[i];
                short ev = (short) ((stdin_busy ? 0 : POLLIN) | (c->head ? POLLOUT : 0));
                p[n++] = (struct pollfd){ .fd = c->fd, .events = ev };
        }
        return n;
}

/* Write what is held for stdin; what the container does not take yet stays held. */
static void flush_stdin(struct attach *a) {
        while (a->in_fd >= 0 && a->pending_off < a->pending_len) {
                ssize_t k = write(a->in_fd, a->pending + a->pending_off, a->pending_len - a->pending_off);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0 && errno == EAGAIN)
                        return;
                if (k <= 0) { /* the container closed its stdin */
                        close_stdin(a);
                        return;
                }
                a->pending_off += (size_t) k;
        }
        a->pending_off = a->pending_len = 0;
}

static void client_flush(struct attach *a, size_t i) {
        struct client *c = &a->clients[i];
        while (c->head) {
                ssize_t k = send(c->fd, c->head->data, c->head->len, MSG_DONTWAIT | MSG_NOSIGNAL);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0 && errno == EAGAIN)
                        return;
                if (k < 0) {
                        client_drop(a, i);
                        return;
                }
                struct qmsg *m = c->head;
                c->head = m->next;
                if (!c->head)
                        c->tail = NULL;
                c->queued -= m->len;
                free(m);
        }
}

/* One message from a client; false when it went away. */
static bool client_read(struct attach *a, size_t i) {
        struct client *c = &a->clients[i];
        uint8_t buf[SHIM_ATTACH_DATA_MAX + 1];
        ssize_t k = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (k < 0 && (errno == EAGAIN || errno == EINTR))
                return true;
        if (k <= 0) {
                client_drop(a, i);
                return false;
        }
        size_t len = (size_t) k - 1;
        switch (buf[0]) {
        case SHIM_ATTACH_STDIN:
                c->stdin_user = true;
                if (a->in_fd >= 0 && len > 0) {
                        memcpy(a->pending, buf + 1, len);
                        a->pending_off = 0;
                        a->pending_len = len;
                        flush_stdin(a);
                }
                break;
        case SHIM_ATTACH_STDIN_CLOSE:
                c->stdin_user = true;
                if (a->stdin_once)
                        close_stdin(a);
                break;
        case SHIM_ATTACH_RESIZE:
                if (len == 4 && a->pty >= 0) {
                        uint16_t wh[2];
                        memcpy(wh, buf + 1, sizeof(wh));
                        struct winsize ws = { .ws_col = wh[0], .ws_row = wh[1] };
                        (void) ioctl(a->pty, TIOCSWINSZ, &ws);
                }
                break;
        default:
                break; /* unknown kinds are ignored: a newer client may send more */
        }
        return true;
}

void attach_poll_dispatch(struct attach *a, const struct pollfd *p, size_t n) {
        for (size_t j = 0; j < n; j++) {
                if (!p[j].revents)
                        continue;
                if (p[j].fd == a->listen_fd) {
                        int fd = accept4(a->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
                        if (fd >= 0 && a->n_clients < CLIENTS_MAX)
                                a->clients[a->n_clients++] = (struct client){ .fd = fd };
                        else if (fd >= 0)
                                close(fd);
                        continue;
                }
                if (p[j].fd == a->in_fd && (p[j].events & POLLOUT)) {
                        flush_stdin(a);
                        continue;
                }
                ssize_t i = find_client(a, p[j].fd);
                if (i < 0)
                        continue;
                if ((p[j].revents & POLLOUT) && a->clients[i].head) {
                        client_flush(a, (size_t) i);
                        if ((i = find_client(a, p[j].fd)) < 0)
                                continue;
                }
                if (p[j].revents & (POLLIN | POLLHUP | POLLERR))
                        (void) client_read(a, (size_t) i);
        }
}

static int client_queue(struct client *c, const uint8_t *msg, size_t len) {
        if (c->queued + len > CLIENT_QUEUE_MAX)
                return -ENOBUFS;
        struct qmsg *m = malloc(sizeof(*m) + len);
        if (!m)
                return -ENOMEM;
        m->next = NULL;
        m->len = len;
        memcpy(m->data, msg, len);
        if (c->tail)
                c->tail->next = m;
        else
                c->head = m;
        c->tail = m;
        c->queued += len;
        return 0;
}

void attach_broadcast(struct attach *a, int kind, const void *data, size_t len) {
        uint8_t msg[SHIM_ATTACH_DATA_MAX + 1];
        const uint8_t *d = data;
        msg[0] = (uint8_t) kind;
        while (len > 0) {
                size_t k = len < SHIM_ATTACH_DATA_MAX ? len : SHIM_ATTACH_DATA_MAX;
                memcpy(msg + 1, d, k);
                for (size_t i = 0; i < a->n_clients;) {
                        struct client *c = &a->clients[i];
                        ssize_t sent = -1;
                        if (!c->head)
                                sent = send(c->fd, msg, k + 1, MSG_DONTWAIT | MSG_NOSIGNAL);
                        if (sent < 0 && c->head == NULL && errno != EAGAIN) {
                                client_drop(a, i);
                                continue;
                        }
                        if (sent < 0 && client_queue(c, msg, k + 1) < 0) {
                                client_drop(a, i); /* too far behind: the log keeps it all */
                                continue;
                        }
                        i++;
                }
                d += k;
                len -= k;
        }
}
