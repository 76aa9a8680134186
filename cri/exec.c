/* SPDX-License-Identifier: Apache-2.0 */
/* A command in a running container for a stream (kubectl exec, nodelet exec): the runtime's
 * exec in the foreground with the stdio we hand it, or, with a tty, a pty it makes inside the
 * container and hands us over a console socket (crun and runc both speak it, as containerd
 * and conmon use it). The runtime's exit status is the command's. Blocking; used by the node
 * server's connection children and the CLI, never on the daemon's loop. */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>

#include "common/fs.h"
#include "layout.h"
#include "console.h"
#include "runtime.h"
#include "shim/shim.h"

#define CONSOLE_SOCKET_TIMEOUT_MSEC 10000

static void attach_send_size(int sock, uint16_t width, uint16_t height);

static int random_hex(char ret[17]) {
        unsigned char raw[8];
        if (getrandom(raw, sizeof(raw), 0) != (ssize_t) sizeof(raw))
                return -EIO;
        for (size_t i = 0; i < sizeof(raw); i++)
                snprintf(ret + 2 * i, 3, "%02x", raw[i]);
        return 0;
}

/* The pty master the runtime sends over the console socket, within the deadline; if the
 * runtime exits first, its own words (diag: its stderr) say why. */
static int receive_master(int listener, int pidfd, int diag, nl_error *err) {
        struct pollfd pfs[2] = { { .fd = listener, .events = POLLIN }, { .fd = pidfd, .events = POLLIN } };
        int k = poll(pfs, 2, CONSOLE_SOCKET_TIMEOUT_MSEC);
        if (k > 0 && !(pfs[0].revents & POLLIN)) {
                char buf[1024];
                ssize_t n = diag >= 0 ? read(diag, buf, sizeof(buf) - 1) : 0;
                buf[n > 0 ? n : 0] = '\0';
                buf[strcspn(buf, "\n")] = '\0';
                return nl_error_set(err, -EIO, "%s", buf[0] ? buf : "the runtime exited before it sent the terminal");
        }
        if (k <= 0)
                return nl_error_set(err, k == 0 ? -ETIMEDOUT : -errno, "the runtime did not send the terminal");
        int master = -1;
        int r = console_receive(listener, &master);
        if (r < 0)
                return nl_error_set(err, r, "console socket: %s", strerror(-r));
        return master;
}

static void close_pair(int p[2]) {
        for (int i = 0; i < 2; i++)
                if (p[i] >= 0) {
                        close(p[i]);
                        p[i] = -1;
                }
}

/* With a terminal of a known size, the process is given whole (--process): the container's own
 * process with our command, a terminal and its size, so the runtime sizes the terminal before
 * the command runs (containerd builds an exec's process from the container's the same way). */
static char *write_process_json(const char *dir, const char *hex, char *const *argv, uint16_t width,
                                uint16_t height, nl_error *err) {
        _cleanup_free_ char *config = nl_strdupf("%s/config.json", dir);
        json_error_t jerr;
        json_t *spec = config ? json_load_file(config, 0, &jerr) : NULL;
        json_t *proc = json_deep_copy(json_object_get(spec, "process"));
        json_decref(spec);
        json_t *args = json_array();
        for (size_t i = 0; argv[i]; i++)
                json_array_append_new(args, json_string(argv[i]));
        if (!json_is_object(proc) || !args ||
            json_object_set_new(proc, "args", args) < 0 || json_object_set_new(proc, "terminal", json_true()) < 0 ||
            json_object_set_new(proc, "consoleSize", json_pack("{s:i, s:i}", "height", (int) height, "width", (int) width)) < 0) {
                json_decref(proc);
                nl_error_set(err, -EINVAL, "exec: the container's process in %s/config.json cannot be read", dir);
                return NULL;
        }
        /* the command's own: never the container's starting arguments' leftovers */
        json_object_del(proc, "commandLine");
        char *path = nl_strdupf("%s/exec-%s.json", dir, hex);
        _cleanup_free_ char *text = json_dumps(proc, JSON_COMPACT);
        json_decref(proc);
        if (!path || !text || nl_write_file_atomic(path, text, strlen(text), 0600) < 0) {
                nl_error_set(err, -EIO, "exec: write %s", strempty(path));
                free(path);
                return NULL;
        }
        return path;
}

int cri_exec_start(const struct cri_config *cfg, const char *id, char *const *argv, bool tty, bool want_stdin,
                   bool want_stdout, bool want_stderr, uint16_t width, uint16_t height,
                   struct cri_exec_process *ret, nl_error *err) {
        struct oci_runtime *rt = NULL;
        *ret = (struct cri_exec_process){ .pid = -1, .pidfd = -1, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1,
                                          .pty = -1, .attach_fd = -1 };
        if (!argv || !argv[0])
                return nl_error_set(err, -EINVAL, "exec: no command");
        int r = oci_runtime_open(cfg, &rt, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *dir = layout_container_dir(cfg->root_dir, id), *sock_path = NULL, *sock_tmpdir = NULL;
        char hex[17];
        if (!dir || random_hex(hex) < 0) {
                oci_runtime_free(rt);
                return nl_error_set(err, -ENOMEM, "out of memory");
        }
        struct stat st;
        if (stat(dir, &st) < 0) {
                oci_runtime_free(rt);
                return nl_error_set(err, -ENOENT, "container %s does not exist", id);
        }
        char *pid_file = nl_strdupf("%s/exec-%s.pid", dir, hex);
        _cleanup_free_ char *process_json = NULL;
        _cleanup_close_ int listener = -1;
        int in[2] = { -1, -1 }, out[2] = { -1, -1 }, errp[2] = { -1, -1 };
        /* the console socket in the run dir (a unix socket's path has 108 bytes at most) */
        _cleanup_free_ char *sock_name = nl_strdupf("exec-%s.sock", hex);
        if (tty && (r = console_listen(dir, strempty(sock_name), &sock_path, &sock_tmpdir, &listener)) < 0) {
                nl_error_set(err, r, "console socket in %s: %s", dir, strerror(-r));
                goto fail;
        }
        if (tty && width > 0 && height > 0 && !(process_json = write_process_json(dir, hex, argv, width, height, err))) {
                r = -EIO;
                goto fail;
        }
        /* with a tty, stderr is the runtime's own (its error if it fails before the terminal) */
        if ((!tty && want_stdin && pipe2(in, O_CLOEXEC) < 0) || (!tty && want_stdout && pipe2(out, O_CLOEXEC) < 0) ||
            ((tty || want_stderr) && pipe2(errp, O_CLOEXEC) < 0)) {
                r = nl_error_set(err, -errno, "exec: pipe: %m");
                goto fail;
        }
        /* the runtime's command line: both take the same flags */
        size_t n = 0;
        while (argv[n])
                n++;
        const char **args = calloc(n + 16, sizeof(char *));
        if (!args || !pid_file) {
                free(args);
                r = nl_error_set(err, -ENOMEM, "out of memory");
                goto fail;
        }
        size_t k = 0;
        args[k++] = rt->path;
        args[k++] = "--root";
        args[k++] = rt->root;
        args[k++] = "exec";
        if (tty) {
                args[k++] = "--tty";
                args[k++] = "--console-socket";
                args[k++] = sock_path;
        }
        args[k++] = "--pid-file";
        args[k++] = pid_file;
        if (process_json) {
                args[k++] = "--process";
                args[k++] = process_json;
        }
        args[k++] = id;
        for (size_t i = 0; !process_json && i < n; i++)
                args[k++] = argv[i];
        args[k] = NULL;

        pid_t pid = fork();
        if (pid < 0) {
                free(args);
                r = nl_error_set(err, -errno, "exec: fork: %m");
                goto fail;
        }
        if (pid == 0) {
                (void) setpgid(0, 0);
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);
                (void) dup2(in[0] >= 0 ? in[0] : null, STDIN_FILENO);
                (void) dup2(out[1] >= 0 ? out[1] : null, STDOUT_FILENO);
                (void) dup2(errp[1] >= 0 ? errp[1] : null, STDERR_FILENO);
                sigset_t none;
                sigemptyset(&none);
                (void) sigprocmask(SIG_SETMASK, &none, NULL);
                signal(SIGPIPE, SIG_DFL);
                /* the daemon's systemd variables are not the container's (crun would proxy them) */
                unsetenv("NOTIFY_SOCKET");
                unsetenv("LISTEN_FDS");
                unsetenv("LISTEN_PID");
                execv(args[0], (char *const *) args);
                dprintf(STDERR_FILENO, "exec %s: %s\n", args[0], strerror(errno));
                _exit(127);
        }
        free(args);
        ret->pid = pid;
        ret->pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (ret->pidfd < 0) {
                r = nl_error_set(err, -errno, "exec: pidfd: %m");
                goto fail_child;
        }
        if (tty) {
                close(errp[1]);
                errp[1] = -1;
                int m = receive_master(listener, ret->pidfd, errp[0], err);
                if (m < 0) {
                        r = m;
                        goto fail_child;
                }
                ret->pty = m;
                ret->stdout_fd = fcntl(m, F_DUPFD_CLOEXEC, 3);
                ret->stdin_fd = want_stdin ? fcntl(m, F_DUPFD_CLOEXEC, 3) : -1;
                if (ret->stdout_fd < 0 || (want_stdin && ret->stdin_fd < 0)) {
                        r = nl_error_set(err, -errno, "exec: dup the terminal: %m");
                        goto fail_child;
                }
        } else {
                ret->stdin_fd = in[1];
                ret->stdout_fd = out[0];
                ret->stderr_fd = errp[0];
                in[1] = out[0] = errp[0] = -1;
        }
        close_pair(in);
        close_pair(out);
        close_pair(errp);
        if (sock_path)
                (void) unlink(sock_path);
        if (sock_tmpdir)
                (void) rmdir(sock_tmpdir);
        if (process_json) /* the runtime read it before it sent the terminal */
                (void) unlink(process_json);
        ret->pid_file = pid_file;
        oci_runtime_free(rt);
        return 0;

fail_child:
        kill(-pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
        ret->pid = -1;
fail:
        close_pair(in);
        close_pair(out);
        close_pair(errp);
        if (sock_path)
                (void) unlink(sock_path);
        if (sock_tmpdir)
                (void) rmdir(sock_tmpdir);
        if (process_json)
                (void) unlink(process_json);
        if (pid_file)
                (void) unlink(pid_file);
        free(pid_file);
        cri_exec_process_done(ret);
        oci_runtime_free(rt);
        return r;
}

int cri_exec_resize(const struct cri_exec_process *p, uint16_t width, uint16_t height) {
        if (p->attach_fd >= 0) {
                attach_send_size(p->attach_fd, width, height);
                return 0;
        }
        if (p->pty < 0)
                return -ENOTTY;
        struct winsize ws = { .ws_row = height, .ws_col = width };
        return ioctl(p->pty, TIOCSWINSZ, &ws) < 0 ? -errno : 0;
}

int cri_exec_wait(struct cri_exec_process *p, int *ret_exit_code, nl_error *err) {
        if (p->pid <= 0)
                return nl_error_set(err, -ECHILD, "exec: no process");
        int status;
        while (waitpid(p->pid, &status, 0) < 0)
                if (errno != EINTR)
                        return nl_error_set(err, -errno, "exec: wait: %m");
        p->pid = -1;
        *ret_exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return 0;
}

void cri_exec_kill(struct cri_exec_process *p) {
        /* the command first (it is not our child: its pid is in the pid file), then the runtime */
        _cleanup_free_ char *pid_s = NULL;
        int64_t cpid;
        if (p->pid_file && nl_read_file(p->pid_file, 64, true, &pid_s, NULL) == 0 &&
            nl_parse_int64(strtok(pid_s, "\n"), 2, INT32_MAX, &cpid) == 0)
                (void) kill((pid_t) cpid, SIGKILL);
        if (p->pid > 0)
                (void) kill(-p->pid, SIGKILL);
}

void cri_exec_process_done(struct cri_exec_process *p) {
        int *fds[] = { &p->pidfd, &p->stdin_fd, &p->stdout_fd, &p->stderr_fd, &p->pty, &p->attach_fd };
        for (size_t i = 0; i < ELEMENTSOF(fds); i++)
                if (*fds[i] >= 0) {
                        close(*fds[i]);
                        *fds[i] = -1;
                }
        if (p->pid_file) {
                (void) unlink(p->pid_file);
                free(p->pid_file);
                p->pid_file = NULL;
        }
}

/* ---- attach: a bridge between the shim's attach socket and the stream's pipes -------------- */

/* The bridge: stdin from in to the socket, the socket's output to out and errfd; it ends (0)
 * when the shim closes (the container's output ended) or the other side goes away. */
static int attach_bridge(int sock, int in, int out, int errfd) {
        uint8_t buf[SHIM_ATTACH_DATA_MAX + 1];
        for (;;) {
                struct pollfd p[2] = { { .fd = sock, .events = POLLIN }, { .fd = in, .events = POLLIN } };
                if (poll(p, in >= 0 ? 2 : 1, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (p[0].revents) {
                        ssize_t k = recv(sock, buf, sizeof(buf), 0);
                        if (k < 0 && errno == EINTR)
                                continue;
                        if (k <= 0)
                                return 0;
                        int fd = buf[0] == SHIM_ATTACH_STDERR ? errfd : buf[0] == SHIM_ATTACH_STDOUT ? out : -1;
                        if (fd >= 0 && nl_write_all(fd, buf + 1, (size_t) k - 1) < 0)
                                return 0; /* the stream is gone */
                }
                if (in >= 0 && p[1].revents) {
                        ssize_t k = read(in, buf + 1, SHIM_ATTACH_DATA_MAX);
                        if (k < 0 && errno == EINTR)
                                continue;
                        if (k <= 0) {
                                buf[0] = SHIM_ATTACH_STDIN_CLOSE;
                                (void) send(sock, buf, 1, MSG_NOSIGNAL);
                                close(in);
                                in = -1;
                                continue;
                        }
                        buf[0] = SHIM_ATTACH_STDIN;
                        if (send(sock, buf, (size_t) k + 1, MSG_NOSIGNAL) < 0)
                                return 0;
                }
        }
}

static int attach_connect(const struct cri_config *cfg, const char *id, bool want_stdin, nl_error *err) {
        _cleanup_free_ char *state = layout_container_state_dir(cfg->root_dir, id);
        if (!state)
                return nl_error_set(err, -ENOMEM, "out of memory");
        _cleanup_close_ int dfd = open(state, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return nl_error_set(err, -ENOENT, "container %s does not exist", id);
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s", dfd, SHIM_ATTACH_SOCKET);
        _cleanup_close_ int sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (sock < 0 || connect(sock, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return nl_error_set(err, -errno, "container %s cannot be attached to (its monitor has no attach socket: %m)", id);
        if (want_stdin) { /* says "this client is stdin's" (stdinOnce) */
                uint8_t hello = SHIM_ATTACH_STDIN;
                (void) send(sock, &hello, 1, MSG_NOSIGNAL);
        }
        return TAKE_FD(sock);
}

static void attach_send_size(int sock, uint16_t width, uint16_t height) {
        uint8_t msg[5] = { SHIM_ATTACH_RESIZE };
        uint16_t wh[2] = { width, height };
        memcpy(msg + 1, wh, sizeof(wh));
        (void) send(sock, msg, sizeof(msg), MSG_NOSIGNAL | MSG_DONTWAIT);
}

int cri_attach_run(const struct cri_config *cfg, const char *id, int in_fd, int out_fd, int err_fd,
                   uint16_t width, uint16_t height, nl_error *err) {
        _cleanup_close_ int sock = attach_connect(cfg, id, in_fd >= 0, err);
        if (sock < 0)
                return sock;
        if (width > 0 && height > 0)
                attach_send_size(sock, width, height);
        int r = attach_bridge(sock, in_fd, out_fd, err_fd);
        return r < 0 ? nl_error_set(err, r, "attach: %s", strerror(-r)) : 0;
}

int cri_attach_start(const struct cri_config *cfg, const char *id, bool tty, bool want_stdin, bool want_stdout,
                     bool want_stderr, struct cri_exec_process *ret, nl_error *err) {
        *ret = (struct cri_exec_process){ .pid = -1, .pidfd = -1, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1,
                                          .pty = -1, .attach_fd = -1 };
        _cleanup_close_ int sock = attach_connect(cfg, id, want_stdin, err);
        if (sock < 0)
                return sock;
        int in[2] = { -1, -1 }, out[2] = { -1, -1 }, errp[2] = { -1, -1 };
        int r = 0;
        /* with a tty, everything is stdout (the terminal merges the streams) */
        if ((want_stdin && pipe2(in, O_CLOEXEC) < 0) || (want_stdout && pipe2(out, O_CLOEXEC) < 0) ||
            (!tty && want_stderr && pipe2(errp, O_CLOEXEC) < 0)) {
                r = nl_error_set(err, -errno, "attach: pipe: %m");
                goto fail;
        }
        pid_t pid = fork();
        if (pid < 0) {
                r = nl_error_set(err, -errno, "attach: fork: %m");
                goto fail;
        }
        if (pid == 0) {
                (void) setpgid(0, 0);
                signal(SIGPIPE, SIG_IGN);
                /* our ends only: a copy of the stdin pipe's write end would keep its EOF away */
                for (int *fd = (int[]){ in[1], out[0], errp[0] }, i = 0; i < 3; i++)
                        if (fd[i] >= 0)
                                close(fd[i]);
                _exit(attach_bridge(sock, in[0], out[1], errp[1]) < 0 ? 1 : 0);
        }
        ret->pid = pid;
        ret->pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (ret->pidfd < 0) {
                r = nl_error_set(err, -errno, "attach: pidfd: %m");
                kill(pid, SIGKILL);
                while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                        ;
                ret->pid = -1;
                goto fail;
        }
        ret->stdin_fd = in[1];
        ret->stdout_fd = out[0];
        ret->stderr_fd = errp[0];
        in[1] = out[0] = errp[0] = -1;
        if (tty)
                ret->attach_fd = TAKE_FD(sock); /* resizes go to the shim */
fail:
        close_pair(in);
        close_pair(out);
        close_pair(errp);
        if (r < 0)
                cri_exec_process_done(ret);
        return r;
}
