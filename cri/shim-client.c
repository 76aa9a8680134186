/* SPDX-License-Identifier: Apache-2.0 */
/* The daemon's side of nodelet-shim (cri/shim/): start it, read its state files. */
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>

#include "common/fs.h"
#include "cri.h"
#include "shim/shim.h"

static pid_t wait_pid(pid_t pid, int *ret_status) {
        pid_t r;
        do
                r = waitpid(pid, ret_status, 0);
        while (r < 0 && errno == EINTR);
        return r;
}

/* Read up to the first newline, for at most timeout_msec. */
static int read_line(int fd, unsigned timeout_msec, char *buf, size_t size) {
        uint64_t deadline = now_monotonic() / USEC_PER_MSEC + timeout_msec;
        size_t len = 0;
        buf[0] = '\0';
        while (len + 1 < size) {
                uint64_t now = now_monotonic() / USEC_PER_MSEC;
                if (now >= deadline)
                        return -ETIMEDOUT;
                struct pollfd p = {.fd = fd, .events = POLLIN};
                int n = poll(&p, 1, (int) (deadline - now));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return -ETIMEDOUT;
                ssize_t k = read(fd, buf + len, size - 1 - len);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        break;
                len += (size_t) k;
                buf[len] = '\0';
                if (memchr(buf, '\n', len))
                        break;
        }
        char *nl = strchr(buf, '\n');
        if (!nl)
                return -EBADMSG;
        *nl = '\0';
        return 0;
}

/* This blocks for as long as the runtime's create takes (bounded by the timeout): the
 * container planner calls it from a worker, not from the event loop. */
int shim_create(const struct shim_start *s, pid_t *ret_pid, nl_error *err) {
        char size_s[32], files_s[32];
        const char *argv[32];
        int n = 0;

        if (!s || isempty(s->shim_path) || isempty(s->runtime_path) || isempty(s->runtime_root) ||
            isempty(s->id) || isempty(s->bundle) || isempty(s->state_dir) || isempty(s->log_path))
                return nl_error_set(err, -EINVAL, "start shim: missing arguments");
        snprintf(size_s, sizeof(size_s), "%" PRId64, s->log_max_size > 0 ? s->log_max_size : 0);
        snprintf(files_s, sizeof(files_s), "%d", s->log_max_files > 0 ? s->log_max_files : 5);
        argv[n++] = s->shim_path;
        argv[n++] = "--id";
        argv[n++] = s->id;
        argv[n++] = "--bundle";
        argv[n++] = s->bundle;
        argv[n++] = "--state";
        argv[n++] = s->state_dir;
        argv[n++] = "--runtime";
        argv[n++] = s->runtime_path;
        argv[n++] = "--runtime-root";
        argv[n++] = s->runtime_root;
        argv[n++] = "--log";
        argv[n++] = s->log_path;
        argv[n++] = "--log-max-size";
        argv[n++] = size_s;
        argv[n++] = "--log-max-files";
        argv[n++] = files_s;
        if (!isempty(s->cgroup_path)) {
                argv[n++] = "--cgroup";
                argv[n++] = s->cgroup_path;
        }
        if (s->tty)
                argv[n++] = "--tty";
        if (s->stdin_open)
                argv[n++] = "--stdin";
        if (s->stdin_open && s->stdin_once)
                argv[n++] = "--stdin-once";
        argv[n] = NULL;

        int out[2];
        if (pipe2(out, O_CLOEXEC) < 0)
                return nl_error_set(err, -errno, "start shim for container \"%s\": pipe: %m", s->id);
        int null = open("/dev/null", O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (null < 0) {
                int r = -errno;
                close(out[0]);
                close(out[1]);
                return nl_error_set(err, r, "start shim for container \"%s\": open /dev/null: %s", s->id,
                                    strerror(-r));
        }
        pid_t pid = fork();
        if (pid == 0) {
                /* only async-signal-safe calls from here: the daemon's state is not ours */
                if (dup2(null, STDIN_FILENO) < 0 || dup2(out[1], STDOUT_FILENO) < 0)
                        _exit(127);
                if (strchr(s->shim_path, '/'))
                        execv(s->shim_path, (char *const *) argv);
                else
                        execvp(s->shim_path, (char *const *) argv);
                static const char msg[] = "error exec nodelet-shim failed\n";
                (void) !write(STDOUT_FILENO, msg, sizeof(msg) - 1);
                _exit(127);
        }
        int saved = errno;
        close(null);
        close(out[1]);
        if (pid < 0) {
                close(out[0]);
                return nl_error_set(err, -saved, "start shim for container \"%s\": fork: %s", s->id,
                                    strerror(saved));
        }

        char line[SHIM_LINE_MAX + 1];
        int r = read_line(out[0], SHIM_CREATE_TIMEOUT_SEC * 1000, line, sizeof(line));
        close(out[0]);
        if (r == -ETIMEDOUT) {
                /* the monitor sees its report pipe broken and deletes the container */
                (void) kill(pid, SIGKILL);
                (void) wait_pid(pid, NULL);
                return nl_error_set(err, -ETIMEDOUT,
                                    "create container \"%s\": no answer from the shim within %d s", s->id,
                                    SHIM_CREATE_TIMEOUT_SEC);
        }
        int status = 0;
        (void) wait_pid(pid, &status);
        if (r < 0)
                return nl_error_set(err, -EIO,
                                    "create container \"%s\": the shim exited (status %d) without a result",
                                    s->id, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
        if (strncmp(line, "created ", 8) == 0) {
                int64_t v;
                if (nl_parse_int64(line + 8, 1, INT32_MAX, &v) < 0)
                        return nl_error_set(err, -EBADMSG, "create container \"%s\": bad shim answer \"%s\"",
                                            s->id, line);
                if (ret_pid)
                        *ret_pid = (pid_t) v;
                return 0;
        }
        if (strncmp(line, "error ", 6) == 0)
                return nl_error_set(err, -EIO, "create container \"%s\": %s", s->id, line + 6);
        return nl_error_set(err, -EBADMSG, "create container \"%s\": bad shim answer \"%s\"", s->id, line);
}

int shim_read_exit(const char *state_dir, struct shim_exit *ret, nl_error *err) {
        _cleanup_free_ char *path = nl_strdupf("%s/%s", strempty(state_dir), SHIM_EXIT_FILE), *text = NULL;
        if (!path || !ret)
                return -ENOMEM;
        size_t len = 0;
        int r = nl_read_file(path, SHIM_EXIT_FILE_MAX, true, &text, &len);
        if (r == -ENOENT)
                return -ENOENT; /* still running: no message */
        if (r == -EFBIG)
                return nl_error_set(err, r, "read exit status \"%s\": larger than %d bytes", path,
                                    SHIM_EXIT_FILE_MAX);
        if (r < 0)
                return nl_error_set(err, r, "read exit status \"%s\": %s", path, strerror(-r));

        json_error_t je;
        json_t *j = json_loadb(text, len, 0, &je);
        if (!j)
                return nl_error_set(err, -EINVAL, "read exit status \"%s\": %s", path, je.text);
        json_t *code = json_object_get(j, "exitCode"), *sig = json_object_get(j, "signal"),
               *oom = json_object_get(j, "oomKilled"), *at = json_object_get(j, "finishedAt"),
               *reason = json_object_get(j, "reason"), *message = json_object_get(j, "message");
        if (!json_is_integer(code) || (sig && !json_is_integer(sig)) || (oom && !json_is_boolean(oom)) ||
            !json_is_string(at) || !json_is_string(reason) || (message && !json_is_string(message)) ||
            json_integer_value(code) < INT32_MIN || json_integer_value(code) > INT32_MAX ||
            (sig && (json_integer_value(sig) < 0 || json_integer_value(sig) > 255))) {
                json_decref(j);
                return nl_error_set(err, -EINVAL, "read exit status \"%s\": malformed", path);
        }
        struct shim_exit e = {
                .exit_code = (int) json_integer_value(code),
                .signal = sig ? (int) json_integer_value(sig) : 0,
                .oom_killed = oom && json_is_true(oom),
                .finished_at = strdup(json_string_value(at)),
                .reason = strdup(json_string_value(reason)),
                .message = message ? strdup(json_string_value(message)) : NULL,
        };
        json_decref(j);
        if (!e.finished_at || !e.reason || (message && !e.message)) {
                shim_exit_done(&e);
                return -ENOMEM;
        }
        *ret = e;
        return 0;
}

void shim_exit_done(struct shim_exit *e) {
        if (!e)
                return;
        free(e->finished_at);
        free(e->reason);
        free(e->message);
        e->finished_at = e->reason = e->message = NULL;
}

int shim_read_pid(const char *state_dir, pid_t *ret_pid, uint64_t *ret_start) {
        _cleanup_free_ char *path = nl_strdupf("%s/%s", strempty(state_dir), SHIM_PID_FILE), *buf = NULL;
        if (!path)
                return -ENOMEM;
        int r = nl_read_file(path, 64, true, &buf, NULL);
        if (r < 0)
                return r;
        int pid;
        unsigned long long start;
        char tail;
        if (sscanf(buf, "%d %llu%c", &pid, &start, &tail) != 3 || tail != '\n' || pid <= 0)
                return -EINVAL;
        *ret_pid = pid;
        if (ret_start)
                *ret_start = start;
        return 0;
}

bool shim_alive(const char *state_dir) {
        pid_t pid;
        uint64_t start, now_start;
        char state;
        if (shim_read_pid(state_dir, &pid, &start) < 0 || shim_proc_starttime(pid, &now_start, &state) < 0)
                return false;
        /* a zombie is dead: it only waits for init to reap it */
        return now_start == start && state != 'Z' && state != 'X';
}
