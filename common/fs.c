/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <time.h>

#include "fs.h"

int nl_mkdir_parents_p(const char *path, mode_t parent_mode, mode_t mode) {
        _cleanup_free_ char *p = strdup(path);
        if (!p)
                return -ENOMEM;
        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = '\0';
                if (mkdir(p, parent_mode) < 0 && errno != EEXIST)
                        return -errno;
                *s = '/';
        }
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return -errno;
        struct stat st;
        if (stat(p, &st) < 0)
                return -errno;
        return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

int nl_write_all(int fd, const void *data, size_t len) {
        const char *p = data;
        while (len > 0) {
                ssize_t n = write(fd, p, len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                p += n;
                len -= (size_t) n;
        }
        return 0;
}

ssize_t nl_read_all(int fd, void *buf, size_t n) {
        char *p = buf;
        size_t got = 0;
        while (got < n) {
                ssize_t k = read(fd, p + got, n - got);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        break;
                got += (size_t) k;
        }
        return (ssize_t) got;
}

/* A new file for writing in dfd, named after name with a random suffix. */
static int tmpfile_at(int dfd, const char *name, mode_t mode, char **ret_name) {
        const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
        for (int attempt = 0; attempt < 100; attempt++) {
                uint32_t rnd;
                if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd)) {
                        struct timespec ts;
                        clock_gettime(CLOCK_MONOTONIC, &ts);
                        rnd = (uint32_t) ts.tv_nsec ^ ((uint32_t) getpid() << 16) ^ (uint32_t) attempt;
                }
                _cleanup_free_ char *tmp = nl_strdupf(".%s.tmp.%08x", base, rnd);
                if (!tmp)
                        return -ENOMEM;
                int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
                if (fd < 0 && errno == EEXIST)
                        continue;
                if (fd < 0)
                        return -errno;
                *ret_name = TAKE_PTR(tmp);
                return fd;
        }
        return -EEXIST;
}

int nl_write_file_atomic_at(int dfd, const char *name, const char *tmp_dir, const void *data, size_t len,
                            mode_t mode) {
        _cleanup_close_ int tmp_dfd = -1;
        if (tmp_dir) {
                tmp_dfd = open(tmp_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (tmp_dfd < 0)
                        return -errno;
        }
        int in = tmp_dir ? tmp_dfd : dfd;
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = tmpfile_at(in, name, mode, &tmp);
        if (fd < 0)
                return fd;
        int r = nl_write_all(fd, data, len);
        if (r == 0 && fchmod(fd, mode) < 0)
                r = -errno;
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        if (r == 0 && renameat(in, tmp, dfd, name) < 0)
                r = -errno;
        if (r < 0) {
                (void) unlinkat(in, tmp, 0);
                return r;
        }
        return fsync(dfd) < 0 ? -errno : 0;
}

int nl_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode) {
        const char *slash = strrchr(path, '/');
        _cleanup_free_ char *dir = !slash         ? strdup(".")
                                   : slash == path ? strdup("/")
                                                   : strndup(path, (size_t) (slash - path));
        if (!dir)
                return -ENOMEM;
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        return nl_write_file_atomic_at(dfd, slash ? slash + 1 : path, NULL, data, len, mode);
}

int nl_read_fd(int fd, size_t max, char **ret, size_t *ret_len) {
        nl_buf b = {};
        char chunk[16384];
        for (;;) {
                ssize_t n = read(fd, chunk, sizeof(chunk));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        int r = -errno;
                        nl_buf_free(&b);
                        return r;
                }
                if (n == 0)
                        break;
                if (b.len + (size_t) n > max) {
                        nl_buf_free(&b);
                        return -EFBIG;
                }
                nl_buf_append(&b, chunk, (size_t) n);
        }
        size_t len = b.len;
        char *s = nl_buf_steal(&b);
        if (!s)
                return -ENOMEM;
        *ret = s;
        if (ret_len)
                *ret_len = len;
        return 0;
}

int nl_read_file(const char *path, size_t max, bool nofollow, char **ret, size_t *ret_len) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | (nofollow ? O_NOFOLLOW : 0));
        if (fd < 0)
                return -errno;
        return nl_read_fd(fd, max, ret, ret_len);
}

int nl_read_file_in_root(const char *root, const char *path, size_t max, char **ret, size_t *ret_len) {
        _cleanup_close_ int rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rfd < 0)
                return -errno;
        struct open_how how = { .flags = O_RDONLY | O_CLOEXEC | O_NOCTTY, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
        while (*path == '/')
                path++;
        _cleanup_close_ int fd = (int) syscall(SYS_openat2, rfd, path, &how, sizeof(how));
        if (fd < 0)
                return -errno;
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EINVAL;
        return nl_read_fd(fd, max, ret, ret_len);
}

int nl_is_mount_point_at(int dfd, const char *name) {
        int flags = AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | (isempty(name) ? AT_EMPTY_PATH : 0);
        struct statx sx, parent;
        if (statx(dfd, strempty(name), flags, STATX_TYPE | STATX_MNT_ID, &sx) < 0)
                return -errno;
        /* the kernel's answer (5.8+): the only one that sees a bind mount of the same directory */
        if (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)
                return !!(sx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
        if (isempty(name))
                return -EOPNOTSUPP;
        if (statx(dfd, "", AT_EMPTY_PATH | AT_NO_AUTOMOUNT, STATX_MNT_ID, &parent) < 0)
                return -errno;
        if (sx.stx_mask & parent.stx_mask & STATX_MNT_ID)
                return sx.stx_mnt_id != parent.stx_mnt_id;
        return sx.stx_dev_major != parent.stx_dev_major || sx.stx_dev_minor != parent.stx_dev_minor;
}

int nl_is_mount_point(const char *path) {
        const char *slash = strrchr(path, '/');
        if (!slash || !slash[1])
                return -EINVAL;
        _cleanup_free_ char *dir = slash == path ? strdup("/") : strndup(path, (size_t) (slash - path));
        if (!dir)
                return -ENOMEM;
        _cleanup_close_ int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        return nl_is_mount_point_at(dfd, slash + 1);
}

int nl_opendir_at(int dfd, const char *name, DIR **ret) {
        int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (streq(name, ".") ? 0 : O_NOFOLLOW));
        if (fd < 0)
                return -errno;
        DIR *d = fdopendir(fd);
        if (!d) {
                int r = -errno;
                close(fd);
                return r;
        }
        *ret = d;
        return 0;
}

struct dirent *nl_readdir(DIR *d) {
        struct dirent *de;
        while ((errno = 0, de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        break;
        return de;
}

/* d_type is the directory entry's type (DT_UNKNOWN: look). */
static int rm_rf_entry(int dfd, const char *name, unsigned char d_type, unsigned depth) {
        if (d_type == DT_UNKNOWN) {
                struct stat st;
                if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        return errno == ENOENT ? 0 : -errno;
                d_type = S_ISDIR(st.st_mode) ? DT_DIR : DT_REG;
        }
        if (d_type != DT_DIR)
                return unlinkat(dfd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
        /* a mount point, bind mounts included (a volume, a host path, an image layer left
         * mounted): never descend into it; what is behind it is not ours to delete */
        if (depth > 0 && nl_is_mount_point_at(dfd, name) > 0)
                return -EBUSY;
        if (depth > NL_RM_MAX_DEPTH)
                return -ELOOP;
        DIR *d;
        int r = nl_opendir_at(dfd, name, &d);
        if (r < 0)
                return r == -ENOENT ? 0 : r;
        struct dirent *de;
        while ((de = nl_readdir(d))) {
                int k = rm_rf_entry(dirfd(d), de->d_name, de->d_type, depth + 1);
                if (k < 0 && r == 0)
                        r = k;
        }
        if (errno != 0 && r == 0)
                r = -errno;
        closedir(d);
        if (r < 0)
                return r;
        return unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT ? -errno : 0;
}

int nl_rm_rf_at(int dfd, const char *name) {
        return rm_rf_entry(dfd, name, DT_UNKNOWN, 0);
}

int nl_rm_rf(const char *path) {
        return nl_rm_rf_at(AT_FDCWD, path);
}

int nl_read_u64_file(const char *path, uint64_t *ret) {
        _cleanup_free_ char *buf = NULL;
        int r = nl_read_file(path, 4096, true, &buf, NULL);
        if (r < 0)
                return r;
        if (strncmp(buf, "max", 3) == 0) {
                *ret = UINT64_MAX;
                return 0;
        }
        char *end;
        errno = 0;
        unsigned long long v = strtoull(buf, &end, 10);
        if (errno || end == buf)
                return -EINVAL;
        *ret = v;
        return 0;
}
