/* SPDX-License-Identifier: Apache-2.0 */
/* Blocking work off the event loop: the runtime layer's calls (crun/runc invocations, CNI
 * plugins, mounts) take tens of milliseconds each and can hang, so each runs in a forked
 * child that does the work synchronously and writes a JSON result to a pipe. The loop reads
 * the result as it comes (a pipe holds 64 KiB: a child writing more would block until read)
 * and hands it over when the child has exited. A result is capped at OP_RESULT_MAX: the child
 * sends an error instead of a larger one, and the loop keeps no more than that. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/wait.h>

#include "common/time-util.h"
#include "cri/layout.h"
#include "manager.h"

#define OP_RESULT_MAX (256 * 1024)

struct op {
        struct manager *m;
        sd_event_source *child, *io;
        int fd; /* read end */
        bool too_big;
        op_done_fn done;
        void *userdata;
        char *what;
        nl_buf buf;
};

static void op_free(struct op *o) {
        if (!o)
                return;
        sd_event_source_disable_unref(o->child);
        sd_event_source_disable_unref(o->io);
        closep(&o->fd);
        nl_buf_free(&o->buf);
        free(o->what);
        free(o);
}

static void drain(struct op *o) {
        char chunk[8192];
        for (;;) {
                ssize_t n = read(o->fd, chunk, sizeof(chunk));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return;
                if (o->buf.len + (size_t) n <= OP_RESULT_MAX)
                        nl_buf_append(&o->buf, chunk, (size_t) n);
                else
                        o->too_big = true; /* read on, keep nothing more: the child must not block */
        }
}

static int on_readable(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct op *o = userdata;
        drain(o);
        if (revents & (EPOLLHUP | EPOLLERR))
                /* the child closed its end (it exits): the child source finishes */
                (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
        return 0;
}

static int on_child(sd_event_source *s, const siginfo_t *si, void *userdata) {
        struct op *o = userdata;
        drain(o);
        json_t *result = NULL;
        if (o->too_big)
                result = json_pack("{s:s}", "error", "operation result larger than 256 KiB");
        else if (o->buf.len > 0) {
                json_error_t je;
                result = json_loadb(o->buf.data, o->buf.len, 0, &je);
        }
        if (!result)
                result = json_pack("{s:s}", "error",
                                   si->si_code == CLD_EXITED ? "operation ended without a result"
                                                             : "operation process was killed");
        o->m->n_ops--;
        op_done_fn done = o->done;
        void *ud = o->userdata;
        op_free(o);
        done(result, ud);
        json_decref(result);
        return 0;
}

/* <run_dir>/ops.lock: every op child holds it shared for its whole life (the lock is taken
 * before the fork on a descriptor only the child keeps), so a daemon that starts after a crash
 * can wait for the operations of the one before to end before it reads the node's state: an
 * operation that finished after that read made a second sandbox or container. */
static int ops_lock_open(const struct manager *m) {
        _cleanup_free_ char *path = layout_ops_lock(m->cfg->run_dir);
        return path ? open(path, O_RDONLY | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600) : -ENOMEM;
}

void ops_wait_previous(struct manager *m) {
        _cleanup_close_ int fd = ops_lock_open(m);
        if (fd < 0)
                return;
        /* as long as the runtime's own timeout (2 min) and a little more */
        usec_t deadline = now_monotonic() + 130 * USEC_PER_SEC;
        bool said = false;
        while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                if (errno != EWOULDBLOCK && errno != EINTR)
                        return;
                if (!said) {
                        log_info("waiting for the operations of the previous daemon to end");
                        said = true;
                }
                if (now_monotonic() > deadline) {
                        log_warning("operations of the previous daemon still run after 130 s; going on");
                        return;
                }
                usleep(50000);
        }
        if (said)
                log_info("the previous daemon's operations ended");
        (void) flock(fd, LOCK_UN);
}

int op_start(struct manager *m, const char *what, op_work_fn work, const void *arg, op_done_fn done, void *userdata) {
        int p[2];
        _cleanup_close_ int lock = ops_lock_open(m);
        if (lock >= 0 && flock(lock, LOCK_SH) < 0)
                lock = -1; /* the lock is a safety net for crashes; an op runs without it */
        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        /* the child writes everything before it exits: make the read end non-blocking so the
         * parent's drain never waits */
        (void) fcntl(p[0], F_SETFL, O_NONBLOCK);
        pid_t pid = fork();
        if (pid < 0) {
                int r = -errno;
                close(p[0]);
                close(p[1]);
                return r;
        }
        if (pid == 0) {
                /* The child: no event loop, default signal dispositions, do the work. */
                close(p[0]);
                /* the lock stays with this process (the parent closes its copy) until it exits */
                lock = -1;
                sigset_t all;
                sigemptyset(&all);
                sigprocmask(SIG_SETMASK, &all, NULL);
                signal(SIGPIPE, SIG_DFL);
                json_t *r = work(m, arg);
                char *s = r ? json_dumps(r, JSON_COMPACT) : strdup("{\"error\":\"out of memory\"}");
                if (s && strlen(s) > OP_RESULT_MAX) {
                        /* keep the "error" key's meaning: the caller reports it */
                        free(s);
                        s = strdup("{\"error\":\"operation result larger than 256 KiB\"}");
                }
                if (s) {
                        size_t len = strlen(s), done_bytes = 0;
                        while (done_bytes < len) {
                                ssize_t n = write(p[1], s + done_bytes, len - done_bytes);
                                if (n < 0 && errno == EINTR)
                                        continue;
                                if (n <= 0)
                                        break;
                                done_bytes += (size_t) n;
                        }
                }
                _exit(0);
        }
        close(p[1]);
        struct op *o = calloc(1, sizeof(*o));
        if (!o) {
                close(p[0]);
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
                return -ENOMEM;
        }
        *o = (struct op){ .m = m, .fd = p[0], .done = done, .userdata = userdata, .what = strdup(what) };
        int r = sd_event_add_child(m->event, &o->child, pid, WEXITED, on_child, o);
        if (r < 0) {
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
                op_free(o);
                return r;
        }
        (void) sd_event_source_set_description(o->child, what);
        /* results larger than a pipe's buffer must not stall the child: read as they come */
        r = sd_event_add_io(m->event, &o->io, o->fd, EPOLLIN, on_readable, o);
        if (r < 0) {
                kill(pid, SIGKILL);
                op_free(o);
                waitpid(pid, NULL, 0);
                return r;
        }
        (void) sd_event_source_set_description(o->io, what);
        m->n_ops++;
        return 0;
}
