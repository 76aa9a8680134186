/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "run.h"

_Noreturn static void child(const struct nl_run_spec *spec, int in, int out, int err) {
        if (spec->process_group)
                (void) setpgid(0, 0);
        sigset_t none;
        sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);
        for (int s = 1; s < NSIG; s++)
                (void) signal(s, SIG_DFL);
        if (in < 0)
                in = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (dup2(in, STDIN_FILENO) < 0 || dup2(out, STDOUT_FILENO) < 0 || dup2(err, STDERR_FILENO) < 0)
                _exit(127);
        if (spec->envp)
                execvpe(spec->argv[0], spec->argv, spec->envp);
        else {
                /* the daemon's systemd protocol variables are not the program's: crun would take
                 * NOTIFY_SOCKET as the container's and proxy it */
                unsetenv("NOTIFY_SOCKET");
                unsetenv("WATCHDOG_PID");
                unsetenv("WATCHDOG_USEC");
                unsetenv("LISTEN_FDS");
                unsetenv("LISTEN_PID");
                execvp(spec->argv[0], spec->argv);
        }
        dprintf(STDERR_FILENO, "exec %s: %s", spec->argv[0], strerror(errno));
        _exit(127);
}

/* Read what is there into b, keeping at most max bytes. 0 at end of file, 1 to go on, -EFBIG past
 * max when overflow fails, -errno. */
static int drain(int fd, nl_buf *b, size_t max, bool overflow_fails) {
        char chunk[16384];
        ssize_t k = read(fd, chunk, sizeof(chunk));
        if (k < 0)
                return errno == EINTR || errno == EAGAIN ? 1 : -errno;
        if (k == 0)
                return 0;
        size_t n = (size_t) k;
        if (b->len + n > max) {
                if (overflow_fails)
                        return -EFBIG;
                n = b->len < max ? max - b->len : 0;
        }
        nl_buf_append(b, chunk, n);
        return b->oom ? -ENOMEM : 1;
}

static int poll_until(struct pollfd *p, nfds_t n, usec_t deadline) {
        int ms = -1;
        if (deadline) {
                usec_t now = now_monotonic();
                if (now >= deadline)
                        return 0;
                ms = (int) ((deadline - now + USEC_PER_MSEC - 1) / USEC_PER_MSEC);
        }
        int k = poll(p, n, ms);
        return k < 0 && errno == EINTR ? 1 : k < 0 ? -errno : k;
}

int nl_run(const struct nl_run_spec *spec, struct nl_run_result *ret) {
        int in[2] = { -1, -1 }, out[2] = { -1, -1 }, errp[2] = { -1, -1 }, pidfd = -1;
        nl_buf bo = {}, be = {};
        int r = 0;

        *ret = (struct nl_run_result){};
        if ((spec->input && pipe2(in, O_CLOEXEC) < 0) || pipe2(out, O_CLOEXEC) < 0 ||
            pipe2(errp, O_CLOEXEC) < 0) {
                r = -errno;
                goto close_all;
        }
        pid_t pid = fork();
        if (pid < 0) {
                r = -errno;
                goto close_all;
        }
        if (pid == 0)
                child(spec, in[0], out[1], errp[1]);
        pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        closep(&in[0]);
        closep(&out[1]);
        closep(&errp[1]);
        const char *data = spec->input;
        size_t written = 0, data_len = data ? strlen(data) : 0;
        if (in[1] >= 0 && data_len == 0)
                closep(&in[1]);
        if (in[1] >= 0)
                (void) fcntl(in[1], F_SETFL, O_NONBLOCK);

        usec_t deadline = spec->timeout ? now_monotonic() + spec->timeout : 0;
        bool out_open = true, err_open = true;
        while (out_open || err_open || in[1] >= 0) {
                struct pollfd pf[3];
                nfds_t np = 0;
                int i_in = -1, i_out = -1, i_err = -1;
                if (in[1] >= 0) {
                        i_in = (int) np;
                        pf[np++] = (struct pollfd){ .fd = in[1], .events = POLLOUT };
                }
                if (out_open) {
                        i_out = (int) np;
                        pf[np++] = (struct pollfd){ .fd = out[0], .events = POLLIN };
                }
                if (err_open) {
                        i_err = (int) np;
                        pf[np++] = (struct pollfd){ .fd = errp[0], .events = POLLIN };
                }
                int k = poll_until(pf, np, deadline);
                if (k == 0) {
                        ret->timed_out = true;
                        break;
                }
                if (k < 0) {
                        r = k;
                        break;
                }
                if (i_in >= 0 && pf[i_in].revents) {
                        ssize_t w = write(in[1], data + written, data_len - written);
                        if (w > 0)
                                written += (size_t) w;
                        if ((w < 0 && errno != EAGAIN && errno != EINTR) || written == data_len)
                                closep(&in[1]); /* EOF for the program (EPIPE: it did not want it) */
                }
                if (i_out >= 0 && pf[i_out].revents) {
                        int q = drain(out[0], &bo, spec->max_stdout, spec->stdout_overflow_fails);
                        if (q == -EFBIG) {
                                ret->too_big = true;
                                break;
                        }
                        if (q < 0) {
                                r = q;
                                break;
                        }
                        out_open = q > 0;
                }
                if (i_err >= 0 && pf[i_err].revents) {
                        int q = drain(errp[0], &be, spec->max_stderr, false);
                        if (q < 0) {
                                r = q;
                                break;
                        }
                        err_open = q > 0;
                }
        }
        /* its exit, within what is left of the deadline */
        if (r == 0 && !ret->timed_out && !ret->too_big && pidfd >= 0) {
                for (;;) {
                        struct pollfd pf = { .fd = pidfd, .events = POLLIN };
                        int k = poll_until(&pf, 1, deadline);
                        if (k == 0)
                                ret->timed_out = true;
                        if (k <= 0 || pf.revents)
                                break;
                }
        }
        if (r < 0 || ret->timed_out || ret->too_big)
                (void) kill(spec->process_group ? -pid : pid, SIGKILL);
        while (waitpid(pid, &ret->status, 0) < 0 && errno == EINTR)
                ;
        if (r == 0) {
                ret->out_len = bo.len;
                ret->err_len = be.len;
                ret->out = nl_buf_steal(&bo);
                ret->err = nl_buf_steal(&be);
                if (!ret->out || !ret->err) {
                        nl_run_result_done(ret);
                        r = -ENOMEM;
                }
        }
close_all:
        closep(&pidfd);
        for (int i = 0; i < 2; i++) {
                closep(&in[i]);
                closep(&out[i]);
                closep(&errp[i]);
        }
        nl_buf_free(&bo);
        nl_buf_free(&be);
        return r;
}

void nl_run_result_done(struct nl_run_result *r) {
        free(r->out);
        free(r->err);
        *r = (struct nl_run_result){};
}

const char *nl_run_result_text(const struct nl_run_result *r) {
        char *s = !isempty(r->err) ? r->err : r->out;
        if (!s)
                return "";
        size_t n = strlen(s);
        while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
                s[--n] = '\0';
        return s;
}
