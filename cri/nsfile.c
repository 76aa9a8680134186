/* SPDX-License-Identifier: Apache-2.0 */
/* Pinned namespaces, as CRI-O's pinns: a short-lived child unshares the namespaces and the
 * parent bind-mounts /proc/<child>/ns/<type> onto files in the sandbox directory, so the
 * namespaces live on without any process (no pause container). The shared pid namespace is the
 * exception: it dies with its init, so a small holder process stays as its pid 1. */
#include <fcntl.h>
#include <inttypes.h>
#include <linux/nsfs.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>

#include "sandbox-internal.h"
#include "common/fs.h"
#include "common/mountinfo.h"
#include "userns.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

#define HOLDER_STOP_TIMEOUT_MSEC 5000

/* ---- mount points ----------------------------------------------------------------------- */

int nsfile_private_dir(const char *dir, nl_error *err) {
        int r = nl_mkdir_parents_p(dir, 0755, 0700);
        if (r < 0)
                return nl_error_set(err, r, "create %s: %s", dir, strerror(-r));
        _cleanup_free_ char *real = realpath(dir, NULL);
        if (!real)
                return nl_error_set(err, -errno, "resolve %s: %m", dir);
        if (!mountinfo_is_mount_point(real) && mount(real, real, NULL, MS_BIND | MS_REC, NULL) < 0)
                return nl_error_set(err, -errno, "bind-mount %s onto itself: %m", real);
        /* every time: cheap, and undoes anyone making it shared again */
        if (mount(NULL, real, NULL, MS_PRIVATE, NULL) < 0)
                return nl_error_set(err, -errno, "make %s a private mount: %m", real);
        return 0;
}

/* ---- pinning ---------------------------------------------------------------------------- */

int nsfile_pin(pid_t pid, const char *type, const char *path, nl_error *err) {
        char src[64];
        snprintf(src, sizeof(src), "/proc/%d/ns/%s", (int) pid, type);
        int fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOCTTY, 0444);
        if (fd < 0)
                return nl_error_set(err, -errno, "create %s: %m", path);
        close(fd);
        if (mount(src, path, NULL, MS_BIND, NULL) < 0) {
                int r = -errno;
                (void) unlink(path);
                return nl_error_set(err, r, "bind-mount %s onto %s: %s", src, path, strerror(-r));
        }
        return 0;
}

int nsfile_unpin(const char *path) {
        if (!path)
                return 0;
        /* lazily: a process that has it open (a runtime joining it) keeps the namespace alive,
         * but the file goes now */
        while (umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
                ; /* pinned twice by a crashed earlier attempt: unmount all */
        if (errno != EINVAL && errno != ENOENT)
                return -errno;
        if (unlink(path) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

static int ns_type_flag(const char *type) {
        if (streq(type, "net"))
                return CLONE_NEWNET;
        if (streq(type, "ipc"))
                return CLONE_NEWIPC;
        if (streq(type, "uts"))
                return CLONE_NEWUTS;
        if (streq(type, "pid"))
                return CLONE_NEWPID;
        if (streq(type, "user"))
                return CLONE_NEWUSER;
        return -1;
}

bool nsfile_is_ns(const char *path, const char *type) {
        struct statfs sf;
        if (!path || statfs(path, &sf) < 0 || sf.f_type != NSFS_MAGIC)
                return false;
        if (!type)
                return true;
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return false;
        int t = ioctl(fd, NS_GET_NSTYPE);
        return t >= 0 && t == ns_type_flag(type);
}

enum { STEP_OK, STEP_UNSHARE, STEP_HOSTNAME, STEP_USERNS };

struct child_report {
        int step;
        int error;
};

_Noreturn static void ns_child(int flags, const char *hostname, bool userns, int report_fd, int go_fd) {
        struct child_report rep = {STEP_OK, 0};
        if (userns) {
                /* first the user namespace; the parent writes its maps, then the others are
                 * made inside it (the creator has every capability in a new user namespace) */
                if (unshare(CLONE_NEWUSER) < 0)
                        rep = (struct child_report){STEP_USERNS, errno};
                (void) nl_write_all(report_fd, &rep, sizeof(rep));
                char c;
                if (rep.step != STEP_OK || nl_read_all(go_fd, &c, 1) != 1)
                        _exit(1);
        }
        if (unshare(flags) < 0)
                rep = (struct child_report){STEP_UNSHARE, errno};
        else if ((flags & CLONE_NEWUTS) && hostname && sethostname(hostname, strlen(hostname)) < 0)
                rep = (struct child_report){STEP_HOSTNAME, errno};
        (void) nl_write_all(report_fd, &rep, sizeof(rep));
        if (rep.step != STEP_OK)
                _exit(1);
        char c;
        (void) nl_read_all(go_fd, &c, 1); /* until the parent has pinned the namespaces */
        _exit(0);
}

int nsfile_create(int flags, const char *hostname, const char *net_path, const char *ipc_path,
                  const char *uts_path, nl_error *err) {
        return nsfile_create_userns(flags, hostname, NULL, NULL, net_path, ipc_path, uts_path, err);
}

int nsfile_create_userns(int flags, const char *hostname, const struct cri_userns *userns, const char *user_path,
                         const char *net_path, const char *ipc_path, const char *uts_path, nl_error *err) {
        int report[2] = {-1, -1}, go[2] = {-1, -1};
        bool user = userns && userns->host_id > 0;
        struct {
                int flag;
                const char *type, *path;
        } ns[] = {
                {CLONE_NEWUSER, "user", user_path},
                {CLONE_NEWNET, "net", net_path},
                {CLONE_NEWIPC, "ipc", ipc_path},
                {CLONE_NEWUTS, "uts", uts_path},
        };
        int pin_flags = flags | (user ? CLONE_NEWUSER : 0);
        size_t pinned = 0;
        int r = 0;

        if (flags == 0 || (flags & ~(CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS)))
                return nl_error_set(err, -EINVAL, "create namespaces: bad flags 0x%x", (unsigned) flags);
        if (pipe2(report, O_CLOEXEC) < 0)
                return nl_error_set(err, -errno, "create namespaces: pipe: %m");
        if (pipe2(go, O_CLOEXEC) < 0) {
                r = nl_error_set(err, -errno, "create namespaces: pipe: %m");
                close(report[0]);
                close(report[1]);
                return r;
        }
        pid_t pid = fork();
        if (pid < 0) {
                r = nl_error_set(err, -errno, "create namespaces: fork: %m");
                goto out;
        }
        if (pid == 0) {
                close(report[0]);
                close(go[1]);
                ns_child(flags, hostname, user, report[1], go[0]);
        }
        close(report[1]);
        report[1] = -1;
        close(go[0]);
        go[0] = -1;

        struct child_report rep;
        ssize_t k;
        if (user) {
                k = nl_read_all(report[0], &rep, sizeof(rep));
                if (k != (ssize_t) sizeof(rep)) {
                        r = nl_error_set(err, -ECHILD, "create the user namespace: the child died");
                        goto reap;
                }
                if (rep.step == STEP_USERNS) {
                        r = nl_error_set(err, -rep.error, "create the user namespace: %s", strerror(rep.error));
                        goto reap;
                }
                r = userns_write_maps(pid, userns, err);
                if (r < 0) {
                        nl_error_prefix(err, "map the user namespace");
                        goto reap;
                }
                if (nl_write_all(go[1], "m", 1) < 0) {
                        r = nl_error_set(err, -errno, "create namespaces: %m");
                        goto reap;
                }
        }
        k = nl_read_all(report[0], &rep, sizeof(rep));
        if (k != (ssize_t) sizeof(rep)) {
                r = nl_error_set(err, -ECHILD, "create namespaces: the child died");
                goto reap;
        }
        if (rep.step == STEP_UNSHARE) {
                r = nl_error_set(err, -rep.error, "create namespaces: unshare: %s", strerror(rep.error));
                goto reap;
        }
        if (rep.step == STEP_HOSTNAME) {
                r = nl_error_set(err, -rep.error, "set hostname \"%s\": %s", strempty(hostname),
                                 strerror(rep.error));
                goto reap;
        }
        for (pinned = 0; pinned < ELEMENTSOF(ns); pinned++) {
                if (!(pin_flags & ns[pinned].flag))
                        continue;
                if (!ns[pinned].path) {
                        r = nl_error_set(err, -EINVAL, "pin %s namespace: no path", ns[pinned].type);
                        break;
                }
                r = nsfile_pin(pid, ns[pinned].type, ns[pinned].path, err);
                if (r < 0) {
                        nl_error_prefix(err, "pin %s namespace",
                                        streq(ns[pinned].type, "net") ? "network" : ns[pinned].type);
                        break;
                }
        }
        if (r < 0)
                for (size_t i = 0; i < pinned; i++)
                        if (pin_flags & ns[i].flag)
                                (void) nsfile_unpin(ns[i].path);
reap:
        close(go[1]); /* the child exits */
        go[1] = -1;
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
out:
        for (int i = 0; i < 2; i++) {
                if (report[i] >= 0)
                        close(report[i]);
                if (go[i] >= 0)
                        close(go[i]);
        }
        return r;
}

/* ---- the pid namespace holder ----------------------------------------------------------- */

int proc_starttime(pid_t pid, uint64_t *ret) {
        char path[64];
        _cleanup_free_ char *stat = NULL;
        snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
        int r = nl_read_file(path, 4096, false, &stat, NULL);
        if (r < 0)
                return r == -ENOENT ? -ESRCH : r;
        /* comm may hold spaces and parentheses: fields restart after the last ')' */
        const char *p = strrchr(stat, ')');
        if (!p)
                return -EIO;
        p++;
        /* p is at field 3 (state) after a space; starttime is field 22 */
        for (int field = 2; field < 21; field++) {
                p = strchr(p + 1, ' ');
                if (!p)
                        return -EIO;
        }
        char *end;
        errno = 0;
        unsigned long long v = strtoull(p + 1, &end, 10);
        if (errno || end == p + 1)
                return -EIO;
        *ret = v;
        return 0;
}

static void holder_sigchld(int sig) {
        (void) sig;
}

_Noreturn static void holder_main(void) {
        /* pid 1 of the pod's pid namespace: nothing of the daemon stays open here */
        (void) close_range(3, ~0u, 0);
        (void) setsid();
        int null = open("/dev/null", O_RDWR | O_NOCTTY);
        if (null >= 0) {
                (void) dup2(null, 0);
                (void) dup2(null, 1);
                (void) dup2(null, 2);
                if (null > 2)
                        close(null);
        }
        (void) prctl(PR_SET_NAME, "nodelet-pidns", 0, 0, 0);
        nl_ignore(chdir("/"));

        sigset_t all, none;
        sigfillset(&all);
        sigemptyset(&none);
        struct sigaction sa = {.sa_handler = holder_sigchld};
        sigemptyset(&sa.sa_mask);
        (void) sigaction(SIGCHLD, &sa, NULL);
        (void) sigprocmask(SIG_SETMASK, &all, NULL);
        for (;;) {
                /* reap the orphans the pod's processes leave; sleep otherwise */
                while (waitpid(-1, NULL, WNOHANG) > 0)
                        ;
                sigsuspend(&none);
        }
}

int pidns_holder_start(char *const *cgroup_procs, size_t n_cgroup_procs, pid_t *ret_pid,
                       uint64_t *ret_starttime, nl_error *err) {
        return pidns_holder_start_in(NULL, cgroup_procs, n_cgroup_procs, ret_pid, ret_starttime, err);
}

int pidns_holder_start_in(const char *userns_path, char *const *cgroup_procs, size_t n_cgroup_procs,
                          pid_t *ret_pid, uint64_t *ret_starttime, nl_error *err) {
        int p[2];
        int r;
        _cleanup_close_ int userns_fd = -1;
        if (userns_path && (userns_fd = open(userns_path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
                return nl_error_set(err, -errno, "start pid namespace holder: open %s: %m", userns_path);

        if (pipe2(p, O_CLOEXEC) < 0)
                return nl_error_set(err, -errno, "start pid namespace holder: pipe: %m");
        pid_t mid = fork();
        if (mid < 0) {
                r = -errno;
                close(p[0]);
                close(p[1]);
                return nl_error_set(err, r, "start pid namespace holder: fork: %s", strerror(-r));
        }
        if (mid == 0) {
                /* detached: its own session, and the new namespace's init is its child */
                int rep[2] = {0, 0};
                close(p[0]);
                (void) setsid();
                /* in the pod's user namespace, which then owns the pid namespace (containers
                 * mount /proc for it from inside) */
                if (userns_fd >= 0 && setns(userns_fd, CLONE_NEWUSER) < 0) {
                        rep[0] = errno;
                        (void) nl_write_all(p[1], rep, sizeof(rep));
                        _exit(1);
                }
                if (unshare(CLONE_NEWPID) < 0) {
                        rep[0] = errno;
                        (void) nl_write_all(p[1], rep, sizeof(rep));
                        _exit(1);
                }
                pid_t h = fork();
                if (h < 0) {
                        rep[0] = errno;
                        (void) nl_write_all(p[1], rep, sizeof(rep));
                        _exit(1);
                }
                if (h == 0)
                        holder_main();
                rep[1] = h;
                (void) nl_write_all(p[1], rep, sizeof(rep));
                _exit(0);
        }
        close(p[1]);
        int rep[2];
        ssize_t k = nl_read_all(p[0], rep, sizeof(rep));
        close(p[0]);
        while (waitpid(mid, NULL, 0) < 0 && errno == EINTR)
                ;
        if (k != (ssize_t) sizeof(rep))
                return nl_error_set(err, -ECHILD, "start pid namespace holder: the child died");
        if (rep[0] != 0)
                return nl_error_set(err, -rep[0], "start pid namespace holder: %s", strerror(rep[0]));

        pid_t holder = rep[1];
        uint64_t st = 0;
        r = proc_starttime(holder, &st);
        if (r < 0) {
                (void) kill(holder, SIGKILL);
                return nl_error_set(err, r, "start pid namespace holder: read its start time: %s",
                                    strerror(-r));
        }
        for (size_t i = 0; i < n_cgroup_procs; i++) {
                _cleanup_close_ int fd = open(cgroup_procs[i], O_WRONLY | O_CLOEXEC | O_NOCTTY);
                char buf[32];
                int n = snprintf(buf, sizeof(buf), "%d", (int) holder);
                if (fd < 0 || write(fd, buf, (size_t) n) != n) {
                        r = -errno;
                        (void) pidns_holder_stop(holder, st);
                        return nl_error_set(err, r, "move pid namespace holder into %s: %s", cgroup_procs[i],
                                            strerror(-r));
                }
        }
        *ret_pid = holder;
        *ret_starttime = st;
        return 0;
}

int pidns_holder_stop(pid_t pid, uint64_t starttime) {
        uint64_t st;
        if (pid <= 0)
                return 0;
        if (proc_starttime(pid, &st) < 0 || st != starttime)
                return 0; /* gone, or the pid now belongs to someone else */
        int pfd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (pfd < 0)
                return errno == ESRCH ? 0 : -errno;
        /* the pidfd pins the process: check again that it is the one we started */
        if (proc_starttime(pid, &st) < 0 || st != starttime) {
                close(pfd);
                return 0;
        }
        int r = 0;
        if (syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0) < 0 && errno != ESRCH)
                r = -errno;
        struct pollfd pf = {.fd = pfd, .events = POLLIN};
        if (r == 0 && poll(&pf, 1, HOLDER_STOP_TIMEOUT_MSEC) == 0)
                r = -ETIMEDOUT;
        close(pfd);
        /* ours when we are a subreaper (the daemon is): reap it */
        (void) waitpid(pid, NULL, WNOHANG);
        return r;
}
