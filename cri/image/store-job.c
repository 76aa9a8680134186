/* SPDX-License-Identifier: Apache-2.0 */
/* The store's slow calls off the caller's event loop: unpacking a layer (libarchive in a
 * grandchild, then a syncfs and a rename) and committing a downloaded blob (an fsync, a sha256
 * of the whole file, a rename) run in a fork of the caller, which does the blocking call and
 * reports its result through a pipe. The loop watches the child's pidfd: no SIGCHLD handling,
 * so the daemon, the CLI and the tests run it alike. As the agent's operations (agent/ops.c),
 * but here, because the image service must not depend on the agent. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "common/fs.h"
#include "store-internal.h"

#define JOB_MSG_MAX 4096

struct image_store_job {
        sd_event_source *watch; /* the child's pidfd; owns it */
        pid_t pid;
        int fd; /* read end of the result pipe, non-blocking */
        image_store_job_done_fn done; /* NULL once cancelled */
        void *userdata;
};

typedef int (*job_work_fn)(struct image_store *s, const void *arg, nl_error *err);

static void job_destroy(void *userdata) {
        struct image_store_job *j = userdata;
        if (j->fd >= 0)
                close(j->fd);
        free(j);
}

static void report(int fd, int code, const char *msg) {
        char buf[JOB_MSG_MAX];
        int n = snprintf(buf, sizeof(buf), "%d\n%s", code, strempty(msg));
        size_t len = n < 0 ? 0 : (size_t) n < sizeof(buf) ? (size_t) n : sizeof(buf) - 1;
        (void) nl_write_all(fd, buf, len);
}

_Noreturn static void child_main(pid_t parent, struct image_store *s, job_work_fn work, const void *arg,
                                 int wr) {
        nl_error err = NL_ERROR_INIT;
        sigset_t none;

        /* the caller's loop blocks the signals it handles; this child is killed by them */
        sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);
        (void) signal(SIGPIPE, SIG_DFL);
        /* no work for nobody: a caller that dies (a daemon killed by its watchdog) takes its
         * unpack along, and the next one starts it again on a store a crash leaves clean */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
                _exit(1);
        int r = work(s, arg, &err);
        report(wr, r < 0 ? r : 0, r < 0 ? (err.msg ? err.msg : strerror(-r)) : "");
        /* never image_store_close(): the temp area is the caller's */
        _exit(r < 0 ? 1 : 0);
}

/* What the child said and how it ended: its code and message, or why there is none. */
static int job_result(struct image_store_job *j, nl_error *err) {
        char buf[JOB_MSG_MAX + 1];
        size_t len = 0;
        int status = 0;

        ssize_t got = nl_read_all(j->fd, buf, sizeof(buf) - 1);
        len = got > 0 ? (size_t) got : 0;
        buf[len] = '\0';
        /* the pidfd said it exited: this does not wait */
        while (waitpid(j->pid, &status, 0) < 0)
                if (errno != EINTR)
                        return nl_error_set(err, -errno, "store process %d: wait: %m", (int) j->pid);
        if (WIFSIGNALED(status))
                return nl_error_set(err, -EIO, "store process killed by signal %d", WTERMSIG(status));
        char *nl = strchr(buf, '\n');
        int64_t code;
        if (!nl)
                return nl_error_set(err, -EIO, "store process exited with status %d without a result",
                                    WEXITSTATUS(status));
        *nl = '\0';
        if (nl_parse_int64(buf, -4095, 0, &code) < 0 || (code == 0) != (WEXITSTATUS(status) == 0))
                return nl_error_set(err, -EIO, "store process sent a bad result");
        if (code < 0)
                return nl_error_set(err, (int) code, "%s", nl + 1);
        return 0;
}

static int on_exit_ready(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct image_store_job *j = userdata;
        nl_error err = NL_ERROR_INIT;
        image_store_job_done_fn done = TAKE_PTR(j->done);
        void *ud = j->userdata;

        int r = job_result(j, &err);
        /* the loop holds the only reference to the floating source: handing it back drops
         * it, and the job with it (job_destroy, after this dispatch) */
        (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
        (void) sd_event_source_set_floating(s, false);
        if (done)
                done(r, r < 0 ? &err : NULL, ud);
        nl_error_clear(&err);
        return 0;
}

static int job_start(struct image_store *s, sd_event *event, const char *what, job_work_fn work, const void *arg,
                     image_store_job_done_fn done, void *userdata, struct image_store_job **ret, nl_error *err) {
        struct image_store_job *j = NULL;
        int p[2], pidfd = -1, r;
        pid_t parent = getpid();

        if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
                return nl_error_set(err, -errno, "%s: pipe: %m", what);
        pid_t pid = fork();
        if (pid < 0) {
                r = -errno;
                close(p[0]);
                close(p[1]);
                return nl_error_set(err, r, "%s: fork: %s", what, strerror(-r));
        }
        if (pid == 0) {
                close(p[0]);
                (void) fcntl(p[1], F_SETFL, 0); /* the child's writes block, the loop's reads do not */
                child_main(parent, s, work, arg, p[1]);
        }
        close(p[1]);
        j = malloc(sizeof(*j));
        if (!j) {
                r = -ENOMEM;
                goto fail;
        }
        *j = (struct image_store_job){.pid = pid, .fd = TAKE_FD(p[0]), .done = done, .userdata = userdata};
        pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (pidfd < 0) {
                r = -errno;
                goto fail;
        }
        r = sd_event_add_io(event, &j->watch, pidfd, EPOLLIN, on_exit_ready, j);
        if (r < 0)
                goto fail;
        (void) sd_event_source_set_io_fd_own(j->watch, true);
        pidfd = -1;
        (void) sd_event_source_set_description(j->watch, what);
        /* The loop owns the source, and through it the job, until the child is reaped: a
         * cancelled job stays until then, and goes with the loop if that goes first. */
        r = sd_event_source_set_destroy_callback(j->watch, job_destroy);
        if (r >= 0)
                r = sd_event_source_set_floating(j->watch, true);
        if (r < 0)
                goto fail;
        sd_event_source_unref(j->watch);
        *ret = j;
        return 0;

fail:
        (void) kill(pid, SIGKILL);
        (void) waitpid(pid, NULL, 0);
        if (pidfd >= 0)
                close(pidfd);
        if (p[0] >= 0)
                close(p[0]);
        if (j) {
                if (j->watch) {
                        (void) sd_event_source_set_destroy_callback(j->watch, NULL);
                        sd_event_source_disable_unref(j->watch);
                }
                if (j->fd >= 0)
                        close(j->fd);
                free(j);
        }
        return nl_error_set(err, r, "%s: watch the child: %s", what, strerror(-r));
}

void image_store_job_cancel(struct image_store_job *j) {
        if (!j)
                return;
        j->done = NULL;
        (void) kill(j->pid, SIGKILL); /* not reaped yet: the pid is still this child's */
}

/* ==== the calls ============================================================================ */

struct unpack_args {
        const char *blob_digest, *media_type, *diff_id, *chain_id;
};

static int unpack_work(struct image_store *s, const void *arg, nl_error *err) {
        const struct unpack_args *a = arg;
        return image_store_unpack_layer(s, a->blob_digest, a->media_type, a->diff_id, a->chain_id, err);
}

int image_store_unpack_layer_async(struct image_store *s, sd_event *event, const char *blob_digest,
                                   const char *media_type, const char *diff_id, const char *chain_id,
                                   image_store_job_done_fn done, void *userdata, struct image_store_job **ret,
                                   nl_error *err) {
        const struct unpack_args a = {blob_digest, media_type, diff_id, chain_id};
        return job_start(s, event, "image-unpack", unpack_work, &a, done, userdata, ret, err);
}

struct commit_args {
        const char *tmp_path, *expected_digest;
        int64_t expected_size;
};

static int commit_work(struct image_store *s, const void *arg, nl_error *err) {
        const struct commit_args *a = arg;
        return image_store_commit_blob(s, a->tmp_path, a->expected_digest, a->expected_size, err);
}

int image_store_commit_blob_async(struct image_store *s, sd_event *event, const char *tmp_path,
                                  const char *expected_digest, int64_t expected_size,
                                  image_store_job_done_fn done, void *userdata, struct image_store_job **ret,
                                  nl_error *err) {
        const struct commit_args a = {tmp_path, expected_digest, expected_size};
        return job_start(s, event, "image-commit-blob", commit_work, &a, done, userdata, ret, err);
}
