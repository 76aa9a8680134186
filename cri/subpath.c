/* SPDX-License-Identifier: Apache-2.0 */
/* subPath resolution and bind mounts as the kubelet's pkg/volume/util/subpath (the fixes for
 * CVE-2017-1002101 and CVE-2021-25741), and the volumes' tree removal, which neither follows
 * symlinks nor descends into mounts: it detaches them (common/fs.c's nl_rm_rf stops at them). */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "common/fs.h"
#include "volume-internal.h"

#define SUBPATH_MAX_DEPTH 256   /* directory fds held at once while walking */
#define SUBPATH_MAX_SYMLINKS 40 /* as the kernel's MAXSYMLINKS */
#define SUBPATH_MAX_PATH (64u * 1024u)
#define RM_MAX_DEPTH 64 /* deeper directories are moved up, not recursed into */
#define UMOUNT_MAX_STACKED 32

/* ---- mount points ------------------------------------------------------------------------ */

/* Detach whatever is mounted on name (all stacked mounts), addressing it through an O_PATH fd
 * so that no symlink planted in the path can redirect the unmount. */
static int detach_mounts(int dir_fd, const char *name) {
        for (unsigned i = 0; i < UMOUNT_MAX_STACKED; i++) {
                int r = nl_is_mount_point_at(dir_fd, name);
                if (r <= 0)
                        return r;
                _cleanup_close_ int fd = openat(dir_fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return -errno;
                char p[64];
                snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
                if (umount2(p, MNT_DETACH) < 0)
                        return -errno;
        }
        return -EBUSY;
}

/* ---- removal ----------------------------------------------------------------------------- */

static int rm_children(int fd, int top_fd, unsigned depth, unsigned *moved);

static int rm_at(int dir_fd, const char *name, int top_fd, unsigned depth, unsigned *moved) {
        int r = detach_mounts(dir_fd, name);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;

        struct stat st;
        if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (!S_ISDIR(st.st_mode))
                return unlinkat(dir_fd, name, 0) < 0 && errno != ENOENT ? -errno : 0;

        if (depth >= RM_MAX_DEPTH && top_fd >= 0) {
                /* Flatten instead of holding ever more fds: move the directory up to the top of
                 * this removal under a reserved name; the caller rescans the top. */
                for (;;) {
                        char tmp[64];
                        snprintf(tmp, sizeof(tmp), "..nodelet-rm-%u", (*moved)++);
                        if (renameat2(dir_fd, name, top_fd, tmp, RENAME_NOREPLACE) == 0)
                                return 0;
                        if (errno != EEXIST)
                                return -errno;
                }
        }

        _cleanup_close_ int fd =
                openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        /* Swapped for a mount point since the check? Then do not descend. */
        if (nl_is_mount_point_at(fd, "") > 0)
                return -EBUSY;
        r = rm_children(fd, top_fd >= 0 ? top_fd : fd, top_fd >= 0 ? depth + 1 : 1, moved);
        if (r < 0)
                return r;
        if (unlinkat(dir_fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

static int rm_children(int fd, int top_fd, unsigned depth, unsigned *moved) {
        for (unsigned pass = 0; pass < 1000000; pass++) {
                DIR *d;
                int r = nl_opendir_at(fd, ".", &d);
                if (r < 0)
                        return r;
                unsigned before = *moved;
                struct dirent *de;
                while ((de = nl_readdir(d))) {
                        r = rm_at(fd, de->d_name, top_fd, depth, moved);
                        if (r < 0)
                                break;
                }
                if (r == 0 && errno != 0)
                        r = -errno;
                closedir(d);
                if (r < 0)
                        return r;
                /* Only the top of the removal rescans: flattened directories land there. */
                if (fd != top_fd || *moved == before)
                        return 0;
        }
        return -EBUSY;
}

int fs_remove_tree(int dir_fd, const char *name) {
        unsigned moved = 0;
        return rm_at(dir_fd, name, -1, 0, &moved);
}

/* ---- subPath walk ------------------------------------------------------------------------ */

struct walk {
        int fds[SUBPATH_MAX_DEPTH];
        size_t depth; /* fds[0..depth] are open */
};

static void walk_done(struct walk *w) {
        for (size_t i = 0; i <= w->depth; i++)
                if (w->fds[i] >= 0)
                        close(w->fds[i]);
}

static char *read_link_fd(int fd) {
        for (size_t size = 256; size <= PATH_MAX * 2; size *= 2) {
                char *buf = malloc(size);
                if (!buf)
                        return NULL;
                ssize_t n = readlinkat(fd, "", buf, size);
                if (n < 0) {
                        free(buf);
                        return NULL;
                }
                if ((size_t) n < size) {
                        buf[n] = 0;
                        return buf;
                }
                free(buf);
        }
        errno = ENAMETOOLONG;
        return NULL;
}

/* root is a canonical absolute path; returns the part of target below it ("" for root itself),
 * or NULL when target is elsewhere. */
static const char *below_root(const char *root, const char *target) {
        if (streq(root, "/"))
                return target + 1;
        size_t n = strlen(root);
        if (strncmp(target, root, n) != 0)
                return NULL;
        if (target[n] == 0)
                return target + n;
        if (target[n] == '/')
                return target + n + 1;
        return NULL;
}

int subpath_open(const char *volume_path, const char *subpath, bool create, mode_t perm, int *ret_fd,
                 bool *ret_created) {
        struct walk w = {.depth = 0};
        bool created = false;
        unsigned links = 0;
        int r;

        _cleanup_free_ char *root = realpath(volume_path, NULL);
        if (!root)
                return -errno;
        w.fds[0] = open(root, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (w.fds[0] < 0)
                return -errno;

        _cleanup_free_ char *rest = strdup(subpath);
        if (!rest) {
                r = -ENOMEM;
                goto out;
        }
        size_t pos = 0;
        while (rest[pos]) {
                if (rest[pos] == '/') {
                        pos++;
                        continue;
                }
                size_t end = pos;
                while (rest[end] && rest[end] != '/')
                        end++;
                char saved = rest[end];
                rest[end] = 0;
                const char *comp = rest + pos;
                size_t next = saved ? end + 1 : end;

                if (streq(comp, ".")) {
                        pos = next;
                        continue;
                }
                if (streq(comp, "..")) {
                        if (w.depth == 0) { /* would climb out of the volume */
                                r = -EXDEV;
                                goto out;
                        }
                        close(w.fds[w.depth--]);
                        pos = next;
                        continue;
                }

                int fd = openat(w.fds[w.depth], comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0 && errno == ENOENT && create) {
                        /* SafeMakeDir: mkdirat under the held parent, reopen without following,
                         * fchmod because mkdirat went through the umask. */
                        bool made = mkdirat(w.fds[w.depth], comp, perm) >= 0;
                        if (!made && errno != EEXIST) {
                                r = -errno;
                                goto out;
                        }
                        fd = openat(w.fds[w.depth], comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (fd < 0) {
                                r = -errno;
                                goto out;
                        }
                        if (made) {
                                created = true;
                                if (fchmod(fd, perm) < 0) {
                                        r = -errno;
                                        close(fd);
                                        goto out;
                                }
                        }
                }
                if (fd < 0) {
                        r = -errno;
                        goto out;
                }
                struct stat st;
                if (fstat(fd, &st) < 0) {
                        r = -errno;
                        close(fd);
                        goto out;
                }

                if (S_ISLNK(st.st_mode)) {
                        _cleanup_free_ char *target = read_link_fd(fd);
                        r = target ? 0 : -errno;
                        close(fd);
                        if (r < 0)
                                goto out;
                        if (++links > SUBPATH_MAX_SYMLINKS) {
                                r = -ELOOP;
                                goto out;
                        }
                        const char *tail = rest + next;
                        const char *head = target;
                        if (target[0] == '/') {
                                /* Absolute: upstream resolves it on the host, then requires the
                                 * result to be within the volume. Restart from the root. */
                                head = below_root(root, target);
                                if (!head) {
                                        r = -EXDEV;
                                        goto out;
                                }
                                while (w.depth > 0)
                                        close(w.fds[w.depth--]);
                        }
                        size_t len = strlen(head) + 1 + strlen(tail) + 1;
                        if (len > SUBPATH_MAX_PATH) {
                                r = -ENAMETOOLONG;
                                goto out;
                        }
                        char *n = malloc(len);
                        if (!n) {
                                r = -ENOMEM;
                                goto out;
                        }
                        size_t hl = strlen(head), tl = strlen(tail);
                        memcpy(n, head, hl);
                        n[hl] = '/';
                        memcpy(n + hl + 1, tail, tl + 1);
                        free(rest);
                        rest = n;
                        pos = 0;
                        continue;
                }

                if (w.depth + 1 >= SUBPATH_MAX_DEPTH) {
                        close(fd);
                        r = -ENAMETOOLONG;
                        goto out;
                }
                w.fds[++w.depth] = fd;
                pos = next;
        }

        /* The final fd is O_PATH (or O_RDONLY for a directory we made): reopen as O_PATH so the
         * caller always gets the same kind. */
        int fd = openat(w.fds[w.depth], ".", O_PATH | O_CLOEXEC);
        struct stat st;
        if (fstat(w.fds[w.depth], &st) < 0) {
                r = -errno;
                if (fd >= 0)
                        close(fd);
                goto out;
        }
        if (!S_ISDIR(st.st_mode)) {
                /* "." only works on directories: hand over the fd we hold. */
                if (fd >= 0)
                        close(fd);
                fd = TAKE_FD(w.fds[w.depth]);
        }
        if (fd < 0) {
                r = -errno;
                goto out;
        }
        *ret_fd = fd;
        if (ret_created)
                *ret_created = created;
        r = 0;
out:
        walk_done(&w);
        return r;
}

/* ---- subPath bind ------------------------------------------------------------------------ */

static bool same_inode(const struct stat *a, const struct stat *b) {
        return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

int subpath_bind(int fd, const char *target) {
        struct stat src, st;
        int r;

        if (fstat(fd, &src) < 0)
                return -errno;
        bool dir = S_ISDIR(src.st_mode);

        _cleanup_free_ char *parent_path = strdup(target);
        if (!parent_path)
                return -ENOMEM;
        char *slash = strrchr(parent_path, '/');
        if (!slash || !slash[1])
                return -EINVAL;
        *slash = 0;
        const char *name = slash + 1;
        _cleanup_close_ int parent = open(isempty(parent_path) ? "/" : parent_path,
                                          O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (parent < 0)
                return -errno;

        r = nl_is_mount_point_at(parent, name);
        if (r > 0) {
                /* Already bound (a container restart): keep it when it is the same inode, as
                 * upstream's checkSubPathFileEqual; otherwise take it down first. */
                if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && same_inode(&st, &src))
                        return 0;
                r = detach_mounts(parent, name);
                if (r < 0)
                        return r;
        } else if (r < 0 && r != -ENOENT)
                return r;

        if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
                if (S_ISDIR(st.st_mode) != dir || (!dir && !S_ISREG(st.st_mode))) {
                        if (unlinkat(parent, name, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) < 0)
                                return -errno;
                }
        }
        if (dir) {
                if (mkdirat(parent, name, 0750) < 0 && errno != EEXIST)
                        return -errno;
        } else {
                /* A file is enough for any non-directory: bind-mounting onto it takes its type. */
                _cleanup_close_ int f =
                        openat(parent, name, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0640);
                if (f < 0)
                        return -errno;
        }

        /* Mount through the fd, never through the path the user could have changed since. The
         * target's own parent is ours (not writable from any container), so its path is safe. */
        _cleanup_close_ int tfd = openat(parent, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (tfd < 0)
                return -errno;
        char src_path[64], dst_path[64];
        snprintf(src_path, sizeof(src_path), "/proc/self/fd/%d", fd);
        snprintf(dst_path, sizeof(dst_path), "/proc/self/fd/%d", tfd);
        if (mount(src_path, dst_path, NULL, MS_BIND, NULL) < 0)
                return -errno;

        if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !same_inode(&st, &src)) {
                (void) detach_mounts(parent, name);
                return -EIO;
        }
        return 0;
}
