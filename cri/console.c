/* SPDX-License-Identifier: Apache-2.0 */
/* --tty: the runtime creates the pty and sends us its master over the unix socket given as
 * --console-socket, as one SCM_RIGHTS message (crun and runc alike; conmon and containerd's
 * shims receive it the same way). Used by nodelet-shim (a container's terminal) and by
 * cri/exec.c (an exec's). */
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "console.h"

#define CONSOLE_RECV_TIMEOUT_MSEC 5000

int console_listen(const char *dir, const char *name, char **ret_path, char **ret_tmpdir, int *ret_fd) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        _cleanup_free_ char *path = nl_strdupf("%s/%s", dir, name), *tmpdir = NULL;
        if (!path)
                return -ENOMEM;
        if (strlen(path) >= sizeof(sa.sun_path)) {
                /* a deep state directory: a private directory of our own instead */
                char tmpl[] = "/tmp/nodelet-shim-XXXXXX";
                if (!mkdtemp(tmpl))
                        return -errno;
                tmpdir = strdup(tmpl);
                free(path);
                path = nl_strdupf("%s/%s", tmpl, name);
                if (!tmpdir || !path) {
                        (void) rmdir(tmpl);
                        return -ENOMEM;
                }
        }
        strcpy(sa.sun_path, path);
        (void) unlink(path);

        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        int r = 0;
        if (fd < 0 || bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(fd, 1) < 0)
                r = -errno;
        if (r < 0) {
                if (tmpdir)
                        (void) rmdir(tmpdir);
                return r;
        }
        *ret_path = TAKE_PTR(path);
        *ret_tmpdir = TAKE_PTR(tmpdir);
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int console_receive(int listen_fd, int *ret_master) {
        _cleanup_close_ int c = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0)
                return errno == EWOULDBLOCK ? -EAGAIN : -errno;

        struct pollfd p = {.fd = c, .events = POLLIN};
        int n = poll(&p, 1, CONSOLE_RECV_TIMEOUT_MSEC);
        if (n < 0)
                return -errno;
        if (n == 0)
                return -ETIMEDOUT;

        char data[256]; /* runc sends the terminal's name along */
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int) * 4)];
        } control = {};
        struct iovec iov = {.iov_base = data, .iov_len = sizeof(data)};
        struct msghdr msg = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = control.buf,
                .msg_controllen = sizeof(control.buf),
        };
        ssize_t k;
        do
                k = recvmsg(c, &msg, MSG_CMSG_CLOEXEC);
        while (k < 0 && errno == EINTR);
        if (k < 0)
                return -errno;

        int master = -1;
        for (struct cmsghdr *h = CMSG_FIRSTHDR(&msg); h; h = CMSG_NXTHDR(&msg, h)) {
                if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
                        continue;
                size_t nfds = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                int fds[4];
                memcpy(fds, CMSG_DATA(h),
                       nfds * sizeof(int) > sizeof(fds) ? sizeof(fds) : nfds * sizeof(int));
                for (size_t i = 0; i < nfds && i < ELEMENTSOF(fds); i++) {
                        if (master < 0)
                                master = fds[i];
                        else
                                close(fds[i]);
                }
        }
        if (master < 0)
                return -EBADMSG;
        *ret_master = master;
        return 0;
}
