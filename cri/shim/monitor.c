/* SPDX-License-Identifier: Apache-2.0 */
/* The long-lived part of nodelet-shim: detached from the daemon, child subreaper, it runs
 * "<runtime> create" with its pipes as the container's stdio, reports the result, then copies
 * the container's output into the CRI log, reaps, and writes exit.json when the init exits.
 * One poll loop over a signalfd (SIGCHLD) and the output pipes (or the pty master). */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "common/fs.h"
#include "common/time-util.h"
#include "cri/console.h"
#include "cri/log-writer.h"
#include "shim.h"

#define CREATE_ERR_MAX 2048 /* of the runtime's stderr, for the error line */
#define READ_CHUNK (64 * 1024)

struct shim {
        const struct shim_args *a;
        struct log_writer *log;
        int sig_fd;
        int out_fd, err_fd; /* read ends; out_fd is the pty master with --tty */
        int in_fd;          /* the container's stdin pipe's write end, with --stdin and no tty */
        struct attach *attach;
        int console_fd;     /* listening, with --tty, until the master arrived */
        char *console_path, *console_tmpdir;
        int report_fd;
        bool creating, create_timed_out;
        uint64_t create_deadline; /* CLOCK_MONOTONIC usec */
        pid_t runtime_pid, init_pid;
        int runtime_status, init_status;
        bool runtime_exited, init_exited;
        struct timespec finished_at;
        uint64_t drain_deadline; /* CLOCK_MONOTONIC usec */
        uint64_t oom_base;
        bool oom_known;
        char create_err[CREATE_ERR_MAX];
        size_t create_err_len;
};

static void close_fd(int *fd) {
        if (*fd >= 0)
                close(*fd);
        *fd = -1;
}

static void console_cleanup(struct shim *s) {
        close_fd(&s->console_fd);
        if (s->console_path)
                (void) unlink(s->console_path);
        if (s->console_tmpdir)
                (void) rmdir(s->console_tmpdir);
        free(s->console_path);
        free(s->console_tmpdir);
        s->console_path = s->console_tmpdir = NULL;
}

/* The one line the foreground part passes on: "error <message>", on one line. */
static int report_error(struct shim *s, const char *fmt, ...) _printf_(2, 3);
static int report_error(struct shim *s, const char *fmt, ...) {
        char line[SHIM_LINE_MAX];
        va_list ap;
        int n = snprintf(line, sizeof(line), "error ");
        va_start(ap, fmt);
        vsnprintf(line + n, sizeof(line) - (size_t) n - 1, fmt, ap);
        va_end(ap);
        for (char *p = line + n; *p; p++)
                if (*p == '\n' || *p == '\r')
                        *p = ' ';
        strcat(line, "\n");
        if (s->report_fd >= 0) {
                (void) !write(s->report_fd, line, strlen(line));
                close_fd(&s->report_fd);
        }
        console_cleanup(s);
        return 1;
}

static pid_t spawn_runtime(const struct shim *s, char *const argv[], int in, int out, int err) {
        pid_t pid = fork();
        if (pid != 0)
                return pid;
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        /* stdin: the pipe with --stdin, else /dev/null; dup2 clears O_CLOEXEC on the copies */
        if ((in >= 0 && dup2(in, STDIN_FILENO) < 0) || dup2(out, STDOUT_FILENO) < 0 ||
            dup2(err, STDERR_FILENO) < 0)
                _exit(127);
        if (strchr(s->a->runtime, '/'))
                execv(s->a->runtime, argv);
        else
                execvp(s->a->runtime, argv);
        dprintf(STDERR_FILENO, "exec %s: %s\n", s->a->runtime, strerror(errno));
        _exit(127);
}

/* The daemon gave up on us before we could report: take the container down again. */
static void undo_create(struct shim *s) {
        if (s->init_pid > 0)
                (void) kill(s->init_pid, SIGKILL);
        char *argv[] = {(char *) s->a->runtime, "--root", (char *) s->a->runtime_root, "delete", "-f",
                        (char *) s->a->id,      NULL};
        _cleanup_close_ int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
        pid_t pid = spawn_runtime(s, argv, -1, null, null);
        if (pid > 0)
                while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                        ;
}

static void create_err_append(struct shim *s, const char *d, size_t n) {
        size_t room = sizeof(s->create_err) - 1 - s->create_err_len;
        if (n > room)
                n = room;
        memcpy(s->create_err + s->create_err_len, d, n);
        s->create_err_len += n;
        s->create_err[s->create_err_len] = '\0';
}

static void read_stream(struct shim *s, int *fd, enum log_stream stream) {
        static char buf[READ_CHUNK];
        ssize_t k = read(*fd, buf, sizeof(buf));
        if (k < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (k <= 0) { /* EOF; EIO from a pty master whose slave side is all closed */
                close_fd(fd);
                log_writer_eof(s->log, stream);
                return;
        }
        if (stream == LOG_STREAM_STDERR && s->creating)
                create_err_append(s, buf, (size_t) k);
        else {
                log_writer_feed(s->log, stream, buf, (size_t) k);
                if (s->attach)
                        attach_broadcast(s->attach,
                                         stream == LOG_STREAM_STDERR ? SHIM_ATTACH_STDERR : SHIM_ATTACH_STDOUT,
                                         buf, (size_t) k);
        }
}

static void reap(struct shim *s) {
        for (;;) {
                int status;
                /* while creating, only the runtime: the init must stay unreaped until we know
                 * its pid */
                pid_t pid = waitpid(s->creating ? s->runtime_pid : -1, &status, WNOHANG);
                if (pid < 0 && errno == EINTR)
                        continue;
                if (pid <= 0)
                        return;
                if (pid == s->runtime_pid && !s->runtime_exited) {
                        s->runtime_exited = true;
                        s->runtime_status = status;
                } else if (pid == s->init_pid && !s->init_exited) {
                        s->init_exited = true;
                        s->init_status = status;
                        clock_gettime(CLOCK_REALTIME, &s->finished_at);
                        s->drain_deadline = now_monotonic() + SHIM_DRAIN_USEC;
                }
                /* anything else is an orphan handed to us as subreaper: reaped, forgotten */
        }
}

static int read_container_pid(const struct shim *s, pid_t *ret) {
        _cleanup_free_ char *path = nl_strdupf("%s/%s", s->a->state_dir, SHIM_CONTAINER_PID_FILE),
                            *text = NULL;
        int64_t v;
        if (!path)
                return -ENOMEM;
        int r = nl_read_file(path, 64, true, &text, NULL);
        if (r < 0)
                return r;
        text[strcspn(text, " \n")] = '\0';
        r = nl_parse_int64(text, 1, INT32_MAX, &v);
        if (r < 0)
                return r;
        *ret = (pid_t) v;
        return 0;
}

/* State files are written crash-safely: a reader (or a reboot) sees the old file or the new one. */
static int write_state_file(const struct shim *s, const char *name, const char *text, size_t len) {
        _cleanup_close_ int dfd = open(s->a->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        return nl_write_file_atomic_at(dfd, name, NULL, text, len, 0644);
}

static int write_shim_pid(const struct shim *s) {
        uint64_t start = 0;
        int r = shim_proc_starttime(getpid(), &start, NULL);
        if (r < 0)
                return r;
        char text[64];
        int n = snprintf(text, sizeof(text), "%d %llu\n", (int) getpid(), (unsigned long long) start);
        return write_state_file(s, SHIM_PID_FILE, text, (size_t) n);
}

/* The runtime's create returned: report, or give up. Returns 0 to go on monitoring. */
static int finish_create(struct shim *s) {
        int st = s->runtime_status, r;

        if (s->create_timed_out) {
                undo_create(s);
                return report_error(s, "%s create did not finish within %d s", s->a->runtime,
                                    SHIM_RUNTIME_CREATE_TIMEOUT_SEC);
        }
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
                char buf[512];
                ssize_t k;
                while (s->err_fd >= 0 && (k = read(s->err_fd, buf, sizeof(buf))) > 0)
                        create_err_append(s, buf, (size_t) k);
                char *e = s->create_err;
                size_t n = s->create_err_len;
                while (n > 0 && (e[n - 1] == '\n' || e[n - 1] == ' '))
                        e[--n] = '\0';
                if (n > 0)
                        return report_error(s, "%s", e);
                if (WIFSIGNALED(st))
                        return report_error(s, "%s create: killed by signal %d", s->a->runtime,
                                            WTERMSIG(st));
                return report_error(s, "%s create: exit status %d", s->a->runtime, WEXITSTATUS(st));
        }
        r = read_container_pid(s, &s->init_pid);
        if (r < 0) {
                undo_create(s);
                return report_error(s, "read %s/%s: %s", s->a->state_dir, SHIM_CONTAINER_PID_FILE,
                                    strerror(-r));
        }
        if (s->a->tty && s->out_fd < 0) {
                r = console_receive(s->console_fd, &s->out_fd);
                if (r < 0) {
                        undo_create(s);
                        return report_error(s, "no terminal from %s create: %s", s->a->runtime,
                                            strerror(-r));
                }
        }
        console_cleanup(s);
        /* the attach socket, before the daemon hears "created" (it may attach right after) */
        int in = s->in_fd;
        s->in_fd = -1;
        if (s->a->tty && s->a->stdin_open)
                in = fcntl(s->out_fd, F_DUPFD_CLOEXEC, 3);
        r = attach_open(s->a->state_dir, in, s->a->tty ? s->out_fd : -1, s->a->stdin_once, &s->attach);
        if (r < 0) {
                if (in >= 0)
                        close(in);
                undo_create(s);
                return report_error(s, "attach socket in %s: %s", s->a->state_dir, strerror(-r));
        }
        if (s->a->cgroup)
                s->oom_known = cgroup_oom_kills(s->a->cgroup, &s->oom_base) == 0;

        r = write_shim_pid(s);
        if (r < 0) {
                undo_create(s);
                return report_error(s, "write %s/%s: %s", s->a->state_dir, SHIM_PID_FILE, strerror(-r));
        }
        /* what the runtime said on a success (warnings) belongs to the container's log */
        if (s->create_err_len > 0)
                log_writer_feed(s->log, LOG_STREAM_STDERR, s->create_err, s->create_err_len);

        char line[64];
        int n = snprintf(line, sizeof(line), "created %d\n", (int) s->init_pid);
        if (write(s->report_fd, line, (size_t) n) != n) {
                undo_create(s);
                close_fd(&s->report_fd);
                return 1;
        }
        close_fd(&s->report_fd);
        s->creating = false;
        reap(s); /* the init may be gone already (killed before start) */
        return 0;
}

static int write_exit(struct shim *s) {
        int st = s->init_status, code, sig = 0;
        char when[LOG_TIME_MAX], text[512];
        uint64_t oom_now;

        if (WIFSIGNALED(st)) {
                sig = WTERMSIG(st);
                code = 128 + sig; /* as the kubelet reports a signal death */
        } else
                code = WEXITSTATUS(st);
        bool oom = s->oom_known && cgroup_oom_kills(s->a->cgroup, &oom_now) == 0 && oom_now > s->oom_base;
        const char *reason = oom ? "OOMKilled" : code == 0 ? "Completed" : "Error";
        log_format_time(&s->finished_at, when);
        int n = snprintf(
                text, sizeof(text),
                "{\"exitCode\":%d,\"signal\":%d,\"oomKilled\":%s,\"finishedAt\":\"%s\",\"reason\":\"%s\","
                "\"logDroppedBytes\":%llu}\n",
                code, sig, oom ? "true" : "false", when, reason,
                (unsigned long long) log_writer_dropped_bytes(s->log));
        return write_state_file(s, SHIM_EXIT_FILE, text, (size_t) n);
}

static int setup(struct shim *s, int pipe_in[2], int pipe_out[2], int pipe_err[2]) {
        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return -errno;
        s->sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (s->sig_fd < 0)
                return -errno;
        if (pipe2(pipe_err, O_CLOEXEC) < 0)
                return -errno;
        /* stdin: true without a tty: a pipe whose write end the attach clients feed */
        if (s->a->stdin_open && !s->a->tty && pipe2(pipe_in, O_CLOEXEC) < 0)
                return -errno;
        if (s->a->tty) {
                int r = console_listen(s->a->state_dir, "console.sock", &s->console_path, &s->console_tmpdir,
                                       &s->console_fd);
                if (r < 0)
                        return r;
                pipe_out[0] = -1;
                pipe_out[1] = open("/dev/null", O_WRONLY | O_CLOEXEC | O_NOCTTY);
                if (pipe_out[1] < 0)
                        return -errno;
        } else if (pipe2(pipe_out, O_CLOEXEC) < 0)
                return -errno;
        return 0;
}

static int start_create(struct shim *s) {
        int pipe_in[2] = {-1, -1}, pipe_out[2] = {-1, -1}, pipe_err[2] = {-1, -1};
        int r = setup(s, pipe_in, pipe_out, pipe_err);
        if (r < 0) {
                close_fd(&pipe_in[0]);
                close_fd(&pipe_in[1]);
                close_fd(&pipe_out[0]);
                close_fd(&pipe_out[1]);
                close_fd(&pipe_err[0]);
                close_fd(&pipe_err[1]);
                return report_error(s, "set up pipes for container \"%s\": %s", s->a->id, strerror(-r));
        }
        _cleanup_free_ char *pid_file = nl_strdupf("%s/%s", s->a->state_dir, SHIM_CONTAINER_PID_FILE);
        if (!pid_file)
                return report_error(s, "out of memory");
        (void) unlink(pid_file);
        char *argv[16];
        int n = 0;
        argv[n++] = (char *) s->a->runtime;
        argv[n++] = "--root";
        argv[n++] = (char *) s->a->runtime_root;
        argv[n++] = "create";
        argv[n++] = "--bundle";
        argv[n++] = (char *) s->a->bundle;
        argv[n++] = "--pid-file";
        argv[n++] = pid_file;
        if (s->console_path) {
                argv[n++] = "--console-socket";
                argv[n++] = s->console_path;
        }
        argv[n++] = (char *) s->a->id;
        argv[n] = NULL;

        s->runtime_pid = spawn_runtime(s, argv, pipe_in[0], pipe_out[1], pipe_err[1]);
        int saved = errno;
        close_fd(&pipe_in[0]);
        s->in_fd = pipe_in[1];
        close_fd(&pipe_out[1]);
        close_fd(&pipe_err[1]);
        s->out_fd = pipe_out[0];
        s->err_fd = pipe_err[0];
        if (s->runtime_pid < 0)
                return report_error(s, "fork %s: %s", s->a->runtime, strerror(saved));
        if (s->out_fd >= 0)
                (void) fcntl(s->out_fd, F_SETFL, O_NONBLOCK);
        (void) fcntl(s->err_fd, F_SETFL, O_NONBLOCK);
        s->creating = true;
        s->create_deadline = now_monotonic() + SHIM_RUNTIME_CREATE_TIMEOUT_SEC * USEC_PER_SEC;
        return 0;
}

static void drain_signals(struct shim *s) {
        struct signalfd_siginfo si[8];
        while (read(s->sig_fd, si, sizeof(si)) > 0)
                ;
}

int shim_monitor(const struct shim_args *a, int report_fd) {
        static struct shim shim; /* static: keeps the 2 KiB error buffer off the stack */
        struct shim *s = &shim;
        *s = (struct shim){
                .a = a,
                .sig_fd = -1,
                .out_fd = -1,
                .err_fd = -1,
                .console_fd = -1,
                .in_fd = -1,
                .report_fd = report_fd,
        };

        int r = log_writer_open(a->log_path, a->log_max_size, a->log_max_files, &s->log);
        if (r < 0)
                return report_error(s, "open log \"%s\": %s", a->log_path, strerror(-r));
        if (start_create(s) != 0)
                goto fail;

        for (;;) {
                struct pollfd p[4 + ATTACH_POLL_MAX];
                int np = 0, i_sig, i_out = -1, i_err = -1, i_con = -1, i_att = -1;
                size_t n_att = 0;
                p[i_sig = np++] = (struct pollfd){.fd = s->sig_fd, .events = POLLIN};
                if (s->out_fd >= 0)
                        p[i_out = np++] = (struct pollfd){.fd = s->out_fd, .events = POLLIN};
                if (s->err_fd >= 0)
                        p[i_err = np++] = (struct pollfd){.fd = s->err_fd, .events = POLLIN};
                if (s->console_fd >= 0 && s->out_fd < 0)
                        p[i_con = np++] = (struct pollfd){.fd = s->console_fd, .events = POLLIN};
                if (s->attach) {
                        i_att = np;
                        n_att = attach_poll_fill(s->attach, p + np);
                        np += (int) n_att;
                }

                int timeout = -1;
                if (s->creating && !s->runtime_exited) {
                        uint64_t now = now_monotonic();
                        if (now >= s->create_deadline && !s->create_timed_out) {
                                (void) kill(s->runtime_pid, SIGKILL);
                                s->create_timed_out = true;
                        }
                        if (!s->create_timed_out)
                                timeout = (int) ((s->create_deadline - now + 999) / 1000);
                } else if (s->init_exited) {
                        uint64_t now = now_monotonic();
                        if ((s->out_fd < 0 && s->err_fd < 0) || now >= s->drain_deadline)
                                break;
                        timeout = (int) ((s->drain_deadline - now + 999) / 1000);
                }
                if (poll(p, (nfds_t) np, timeout) < 0) {
                        /* never give up on a running container: exit.json must be true */
                        if (errno != EINTR)
                                nanosleep(&(struct timespec){.tv_nsec = 100 * 1000 * 1000}, NULL);
                        continue;
                }
                if (i_out >= 0 && p[i_out].revents)
                        read_stream(s, &s->out_fd, LOG_STREAM_STDOUT);
                if (i_err >= 0 && p[i_err].revents)
                        read_stream(s, &s->err_fd, LOG_STREAM_STDERR);
                if (i_con >= 0 && p[i_con].revents) {
                        r = console_receive(s->console_fd, &s->out_fd);
                        if (r == 0)
                                (void) fcntl(s->out_fd, F_SETFL, O_NONBLOCK);
                }
                if (i_att >= 0)
                        attach_poll_dispatch(s->attach, p + i_att, n_att);
                if (p[i_sig].revents) {
                        drain_signals(s);
                        reap(s);
                }
                if (s->creating && s->runtime_exited && finish_create(s) != 0)
                        goto fail;
        }

        /* Flush what did not end with a newline; the pipes may still be held by grandchildren
         * we stopped waiting for (they get EPIPE from now on). */
        log_writer_eof(s->log, LOG_STREAM_STDOUT);
        log_writer_eof(s->log, LOG_STREAM_STDERR);
        r = write_exit(s);
        /* the output ended: attached clients see their streams end */
        attach_free(s->attach);
        s->attach = NULL;
        close_fd(&s->out_fd);
        close_fd(&s->err_fd);
        close_fd(&s->sig_fd);
        log_writer_free(s->log);
        return r < 0 ? 1 : 0;

fail:
        attach_free(s->attach);
        close_fd(&s->in_fd);
        close_fd(&s->out_fd);
        close_fd(&s->err_fd);
        close_fd(&s->sig_fd);
        log_writer_free(s->log);
        return 1;
}
