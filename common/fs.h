/* SPDX-License-Identifier: Apache-2.0 */
/* File system helpers: directories, crash-safe writes, capped reads, removal that never
 * follows symlinks or leaves its file system. */
#pragma once

#include <sys/types.h>

#include "util.h"

/* mkdir -p: missing parents made with parent_mode, path itself with mode; existing directories
 * are fine, anything else in the way is -ENOTDIR. */
int nl_mkdir_parents_p(const char *path, mode_t parent_mode, mode_t mode);
static inline int nl_mkdir_p(const char *path, mode_t mode) {
        return nl_mkdir_parents_p(path, mode, mode);
}
/* write(2) until all of data is written (EINTR retried). */
int nl_write_all(int fd, const void *data, size_t len);
/* read(2) until n bytes or end of file; the bytes read, or -errno. */
ssize_t nl_read_all(int fd, void *buf, size_t n);
/* Write name in dfd crash-safely, so a reader (or a reboot) sees the old file or the new one,
 * never a torn one: a new temp file (in tmp_dir when not NULL, e.g. a store's temp area that is
 * cleaned after a crash, on the same file system; else beside name as ".<name>.tmp.XXXXXXXX"),
 * mode, fsync, rename over name, fsync of the directory. */
int nl_write_file_atomic_at(int dfd, const char *name, const char *tmp_dir, const void *data, size_t len,
                            mode_t mode);
/* The same for a path. */
int nl_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);
/* Everything left in fd up to max bytes (-EFBIG beyond), NUL-terminated. */
int nl_read_fd(int fd, size_t max, char **ret, size_t *ret_len);
/* Whole file up to max bytes (-EFBIG beyond), NUL-terminated. O_NOFOLLOW when nofollow. */
int nl_read_file(const char *path, size_t max, bool nofollow, char **ret, size_t *ret_len);
/* A file holding one unsigned number, as cgroup and /proc files do ("max" is UINT64_MAX). */
int nl_read_u64_file(const char *path, uint64_t *ret);
/* A file below root, resolving symlinks as if root were "/" (openat2 RESOLVE_IN_ROOT), as a
 * container would see it; -ENOENT when absent. */
int nl_read_file_in_root(const char *root, const char *path, size_t max, char **ret, size_t *ret_len);
/* A directory stream on name in dfd (not through a symlink; "." is a new stream on dfd itself). */
int nl_opendir_at(int dfd, const char *name, DIR **ret);
/* The next entry but "." and ".."; NULL at the end (errno 0) or on an error (errno set). */
struct dirent *nl_readdir(DIR *d);

/* Whether name in dfd ("": dfd itself) is the root of a mount, of another file system or a bind
 * mount of the same one: 1 or 0, or -errno. */
int nl_is_mount_point_at(int dfd, const char *name);
int nl_is_mount_point(const char *path);

/* Deep enough for an image layer's deepest path (256 components) below the store's temp area. */
#define NL_RM_MAX_DEPTH 272
/* rm -rf of name in dfd (AT_FDCWD: a path) that does not follow symlinks and does not enter a
 * mount point below it, bind mounts included (it stops there, -EBUSY). Gone already is fine. */
int nl_rm_rf_at(int dfd, const char *name);
int nl_rm_rf(const char *path);
