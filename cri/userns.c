/* SPDX-License-Identifier: Apache-2.0 */
/* User namespaces for pods (hostUsers: false), as the kubelet and containerd give them: the
 * pod's user namespace is pinned with its sandbox (cri/nsfile.c) and its network, IPC and UTS
 * namespaces belong to it; containers join it. Image layers and volumes are idmapped mounts
 * with the pod's mapping, so IDs on disk stay what they are and look the same inside. */
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include "userns.h"

/* the kubelet's UserNamespacesSupportKernelVersion: idmapped tmpfs mounts came in 6.3 */
#define USERNS_MIN_KERNEL_MAJOR 6
#define USERNS_MIN_KERNEL_MINOR 3

int userns_idmap_mount(const char *src, const char *dst, int userns_fd, bool recursive, nl_error *err) {
        unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0);
        _cleanup_close_ int fd = open_tree(AT_FDCWD, src, flags);
        if (fd < 0)
                return nl_error_set(err, -errno, "clone the mount of %s: %m", src);
        struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t) userns_fd };
        if (mount_setattr(fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr, sizeof(attr)) < 0) {
                int r = -errno;
                return nl_error_set(err, r, "idmapped mount of %s: %s%s", src, strerror(-r),
                                    r == -EINVAL ? " (its file system cannot be idmapped)" : "");
        }
        if (move_mount(fd, "", AT_FDCWD, dst, MOVE_MOUNT_F_EMPTY_PATH) < 0)
                return nl_error_set(err, -errno, "attach the idmapped mount of %s at %s: %m", src, dst);
        return 0;
}

static int write_map(pid_t pid, const char *which, const struct cri_userns *u, nl_error *err) {
        char path[64], line[64];
        snprintf(path, sizeof(path), "/proc/%d/%s", (int) pid, which);
        int n = snprintf(line, sizeof(line), "0 %u %u\n", u->host_id, u->size);
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, line, (size_t) n) != n)
                return nl_error_set(err, -errno, "write %s: %m", path);
        return 0;
}

int userns_write_maps(pid_t pid, const struct cri_userns *u, nl_error *err) {
        int r = write_map(pid, "uid_map", u, err);
        return r < 0 ? r : write_map(pid, "gid_map", u, err);
}

static int kernel_supports(nl_error *err) {
        struct utsname un;
        unsigned major = 0, minor = 0;
        if (uname(&un) < 0 || sscanf(un.release, "%u.%u", &major, &minor) != 2)
                return nl_error_set(err, -EIO, "cannot tell the kernel's version");
        if (major < USERNS_MIN_KERNEL_MAJOR || (major == USERNS_MIN_KERNEL_MAJOR && minor < USERNS_MIN_KERNEL_MINOR))
                return nl_error_set(err, -EOPNOTSUPP, "kernel %s is older than %d.%d (idmapped tmpfs mounts)",
                                    un.release, USERNS_MIN_KERNEL_MAJOR, USERNS_MIN_KERNEL_MINOR);
        return 0;
}

/* The runtime reaches a container's rootfs by path from inside the pod's user namespace, as a
 * user that owns nothing on the way: every directory above it must be searchable by others. */
static int path_searchable(const char *dir, nl_error *err) {
        _cleanup_free_ char *real = realpath(dir, NULL);
        if (!real)
                return nl_error_set(err, -errno, "resolve %s: %m", dir);
        for (char *s = real + strlen(real);; ) {
                struct stat st;
                if (stat(*real ? real : "/", &st) < 0)
                        return nl_error_set(err, -errno, "stat %s: %m", real);
                if (!(st.st_mode & S_IXOTH))
                        return nl_error_set(err, -EACCES,
                                            "%s is not searchable by other users (mode %04o): a container in a user "
                                            "namespace reaches its root through it (chmod o+x %s)",
                                            *real ? real : "/", (unsigned) (st.st_mode & 07777), *real ? real : "/");
                s = strrchr(real, '/');
                if (!s || s == real)
                        break;
                *s = '\0';
        }
        return 0;
}

int cri_userns_supported(const char *dir, nl_error *err) {
        int r = kernel_supports(err);
        if (r < 0)
                return r;
        r = path_searchable(dir, err);
        if (r < 0)
                return r;
        /* A throw-away user namespace, and an idmapped clone of dir that is never attached: the
         * file system of the root dir (image layers, volumes) must allow it. */
        int go[2], ready[2];
        if (pipe2(go, O_CLOEXEC) < 0)
                return nl_error_set(err, -errno, "pipe: %m");
        if (pipe2(ready, O_CLOEXEC) < 0) {
                r = nl_error_set(err, -errno, "pipe: %m");
                close(go[0]);
                close(go[1]);
                return r;
        }
        pid_t pid = fork();
        if (pid < 0) {
                r = nl_error_set(err, -errno, "fork: %m");
                close(go[0]);
                close(go[1]);
                close(ready[0]);
                close(ready[1]);
                return r;
        }
        if (pid == 0) {
                close(go[1]);
                close(ready[0]);
                char c = unshare(CLONE_NEWUSER) < 0 ? 'n' : 'y';
                nl_ignore(write(ready[1], &c, 1));
                nl_ignore(read(go[0], &c, 1)); /* until the parent is done with it */
                _exit(0);
        }
        close(go[0]);
        close(ready[1]);
        char c = 'n';
        if (read(ready[0], &c, 1) != 1 || c != 'y')
                r = nl_error_set(err, -EOPNOTSUPP, "cannot create a user namespace");
        close(ready[0]);
        struct cri_userns probe = { .host_id = 65536, .size = 65536 };
        char ns[64];
        snprintf(ns, sizeof(ns), "/proc/%d/ns/user", (int) pid);
        _cleanup_close_ int nsfd = -1;
        if (r >= 0 && (r = userns_write_maps(pid, &probe, err)) >= 0 && (nsfd = open(ns, O_RDONLY | O_CLOEXEC)) < 0)
                r = nl_error_set(err, -errno, "open %s: %m", ns);
        if (r >= 0) {
                _cleanup_close_ int fd = open_tree(AT_FDCWD, dir, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
                struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t) nsfd };
                if (fd < 0)
                        r = nl_error_set(err, -errno, "clone the mount of %s: %m", dir);
                else if (mount_setattr(fd, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
                        r = nl_error_set(err, -errno, "the file system of %s cannot be idmapped (%m)", dir);
        }
        close(go[1]);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
        return r;
}
