/* SPDX-License-Identifier: Apache-2.0 */
/* Layer unpacking: a layer blob (tar, tar+gzip, tar+zstd) becomes layers/<chain>/rootfs, an
 * overlay lower dir. The bytes are hostile: libarchive parses them in a child process, which
 * creates every path component by component from the layer root without following symlinks,
 * refuses '..' and absolute paths, caps sizes and counts, and reports the sha256 of the
 * uncompressed stream (the diff_id) through a pipe. The parent verifies the diff_id and moves
 * the finished tree into place with one rename. */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/openat2.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>

#include "common/fs.h"
#include "store-internal.h"

#define UNPACK_MSG_MAX 4096
#define UNPACK_BUF (128 * 1024)

bool layer_media_type_known(const char *media_type) {
        static const char *const known[] = {
                MEDIA_OCI_LAYER,
                MEDIA_OCI_LAYER_GZIP,
                MEDIA_OCI_LAYER_ZSTD,
                MEDIA_DOCKER_LAYER_GZIP,
                MEDIA_DOCKER_LAYER_FOREIGN,
                "application/vnd.oci.image.layer.nondistributable.v1.tar",
                "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
                "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
        };

        if (!media_type)
                return false;
        for (size_t i = 0; i < ELEMENTSOF(known); i++)
                if (streq(media_type, known[i]))
                        return true;
        return false;
}

struct dir_time {
        char *path; /* normalized, "" for the root */
        struct timespec ts[2];
};

struct unpack_ctx {
        const struct unpack_limits *lim;
        struct archive *raw; /* the decompressor: raw format over gzip/zstd/none */
        digester *dg;
        uint64_t total;      /* uncompressed bytes read so far */
        uint64_t compressed; /* size of the blob */
        uint64_t n_entries;
        int root_fd;
        bool use_openat2;
        bool privileged;
        int cap_error; /* set by the read callback when a cap is hit */
        nl_error *err;
        struct dir_time *dirs;
        size_t n_dirs;
        char buf[UNPACK_BUF];
};

_printf_(4, 5) static int entry_error(struct unpack_ctx *c, int code, const char *entry, const char *fmt,
                                      ...) {
        int saved_errno = errno; /* for %m in fmt; nl_quote() may clobber it */
        /* entry names are hostile: control bytes escaped, cut at 256 bytes */
        _cleanup_free_ char *q = nl_quote(entry, 256, false);
        errno = saved_errno;
        _cleanup_free_ char *m = NL_FORMAT_VA(fmt);
        return nl_error_set(c->err, code, "entry \"%s\": %s", strempty(q), m ? m : "out of memory");
}

/* ==== paths =============================================================================== */

/* Normalize a tar path: leading "./" dropped, empty and "." components dropped; absolute
 * paths and ".." components refused. "" is the layer root. */
static int path_normalize(struct unpack_ctx *c, const char *entry, const char *p, const char *what,
                          char **ret) {
        nl_buf b = {};
        unsigned depth = 0;

        if (!p)
                return entry_error(c, -EINVAL, entry, "%s cannot be read", what);
        if (strlen(p) > UNPACK_MAX_PATH)
                return entry_error(c, -ENAMETOOLONG, entry, "%s is longer than %d bytes", what,
                                   UNPACK_MAX_PATH);
        while (p[0] == '.' && p[1] == '/')
                p += 2;
        if (p[0] == '/')
                return entry_error(c, -EPERM, entry, "%s is absolute", what);
        while (*p) {
                size_t n = strcspn(p, "/");
                if (n == 2 && p[0] == '.' && p[1] == '.') {
                        nl_buf_free(&b);
                        return entry_error(c, -EPERM, entry, "%s has a \"..\" component", what);
                }
                if (n > 0 && !(n == 1 && p[0] == '.')) {
                        if (++depth > UNPACK_MAX_DEPTH) {
                                nl_buf_free(&b);
                                return entry_error(c, -ENAMETOOLONG, entry,
                                                   "%s is deeper than %d directories", what,
                                                   UNPACK_MAX_DEPTH);
                        }
                        if (b.len > 0)
                                nl_buf_append(&b, "/", 1);
                        nl_buf_append(&b, p, n);
                }
                p += n;
                while (*p == '/')
                        p++;
        }
        nl_buf_puts(&b, "");
        *ret = nl_buf_steal(&b);
        return *ret ? 0 : -ENOMEM;
}

static int sys_openat2(int dfd, const char *path, struct open_how *how) {
        return (int) syscall(SYS_openat2, dfd, path, how, sizeof(*how));
}

/* Open (creating as 0755 directories when create) the directory `dir` (normalized, "" for the
 * root) below the layer root, never following a symlink: openat2 with RESOLVE_BENEATH and
 * RESOLVE_NO_SYMLINKS when the kernel has it, else openat(O_NOFOLLOW) component by component.
 * A symlink or non-directory on the way refuses the entry. */
static int open_dir_beneath(struct unpack_ctx *c, const char *entry, const char *dir, bool create,
                            int *ret_fd) {
        _cleanup_free_ char *copy = NULL;
        _cleanup_close_ int fd = -1;
        char *p, *next;

        if (c->use_openat2 && *dir) {
                struct open_how how = {
                        .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
                        .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
                                   RESOLVE_NO_XDEV,
                };
                fd = sys_openat2(c->root_fd, dir, &how);
                if (fd >= 0) {
                        *ret_fd = TAKE_FD(fd);
                        return 0;
                }
                if (errno == ENOSYS || errno == EPERM || errno == E2BIG)
                        c->use_openat2 = false; /* no openat2 here (old kernel, seccomp) */
                else if (errno != ENOENT && errno != ELOOP && errno != ENOTDIR && errno != EXDEV &&
                         errno != EAGAIN)
                        return entry_error(c, -errno, entry, "open directory: %m");
                /* fall through: the walk creates what is missing and names what is wrong */
        }

        fd = openat(c->root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return entry_error(c, -errno, entry, "open layer root: %m");
        copy = strdup(dir);
        if (!copy)
                return -ENOMEM;
        for (p = copy; *p; p = next) {
                int nfd;
                next = p + strcspn(p, "/");
                if (*next)
                        *next++ = '\0';
                nfd = openat(fd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (nfd < 0 && errno == ENOENT && create) {
                        if (mkdirat(fd, p, 0755) < 0 && errno != EEXIST)
                                return entry_error(c, -errno, entry, "create directory \"%s\": %m", p);
                        nfd = openat(fd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                }
                if (nfd < 0) {
                        struct stat st;
                        int e = errno;
                        if ((e == ELOOP || e == ENOTDIR) && fstatat(fd, p, &st, AT_SYMLINK_NOFOLLOW) == 0) {
                                if (S_ISLNK(st.st_mode))
                                        return entry_error(c, -ELOOP, entry,
                                                           "path goes through the symlink \"%s\", which is "
                                                           "not followed",
                                                           p);
                                return entry_error(c, -ENOTDIR, entry,
                                                   "path goes through \"%s\", not a directory", p);
                        }
                        return entry_error(c, -e, entry, "open directory \"%s\": %s", p, strerror(e));
                }
                close(fd);
                fd = nfd;
        }
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* Split "a/b/c" into the opened directory "a/b" and the leaf "c" (pointing into path). */
static int open_parent(struct unpack_ctx *c, const char *entry, const char *path, bool create, int *ret_fd,
                       const char **ret_leaf) {
        _cleanup_free_ char *dir = NULL;
        const char *slash = strrchr(path, '/');

        dir = slash ? strndup(path, (size_t) (slash - path)) : strdup("");
        if (!dir)
                return -ENOMEM;
        *ret_leaf = slash ? slash + 1 : path;
        return open_dir_beneath(c, entry, dir, create, ret_fd);
}

/* Clear the way for a new entry: tar semantics, the later entry wins. A directory over a
 * directory is kept (only its metadata changes). Returns 1 when a directory was kept. */
static int clear_leaf(struct unpack_ctx *c, const char *entry, int pfd, const char *leaf, bool want_dir) {
        struct stat st;
        int r;

        if (fstatat(pfd, leaf, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : entry_error(c, -errno, entry, "stat: %m");
        if (want_dir && S_ISDIR(st.st_mode))
                return 1;
        r = nl_rm_rf_at(pfd, leaf);
        if (r < 0)
                return entry_error(c, r, entry, "replace existing entry: %s", strerror(-r));
        return 0;
}

/* ==== metadata ============================================================================ */

static int entry_owner(struct unpack_ctx *c, struct archive_entry *e, const char *entry, uid_t *uid,
                       gid_t *gid) {
        int64_t u = archive_entry_uid(e), g = archive_entry_gid(e);

        if (u < 0 || u >= (int64_t) UINT32_MAX || g < 0 || g >= (int64_t) UINT32_MAX)
                return entry_error(c, -EINVAL, entry, "owner %" PRId64 ":%" PRId64 " out of range", u, g);
        *uid = (uid_t) u;
        *gid = (gid_t) g;
        return 0;
}

static void entry_times(struct archive_entry *e, struct timespec ts[2]) {
        ts[1] = archive_entry_mtime_is_set(e)
                        ? (struct timespec){archive_entry_mtime(e), archive_entry_mtime_nsec(e)}
                        : (struct timespec){0, UTIME_OMIT};
        ts[0] = archive_entry_atime_is_set(e)
                        ? (struct timespec){archive_entry_atime(e), archive_entry_atime_nsec(e)}
                        : ts[1];
}

/* Extended attributes from SCHILY.xattr/LIBARCHIVE.xattr records. trusted.overlay.* and
 * user.overlay.* would steer overlayfs (opaque, redirect, metacopy) from inside the image:
 * only our own whiteout handling sets those. Others the filesystem refuses are skipped, but a
 * file capability that cannot be kept fails the layer: the program would run without it. */
static int apply_xattrs(struct unpack_ctx *c, struct archive_entry *e, const char *entry, int fd) {
        const char *name;
        const void *value;
        size_t size;

        archive_entry_xattr_reset(e);
        while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
                if (!name || strncmp(name, "trusted.overlay.", 16) == 0 ||
                    strncmp(name, "user.overlay.", 13) == 0)
                        continue;
                if (fsetxattr(fd, name, value, size, 0) < 0 && streq(name, "security.capability"))
                        return entry_error(c, -errno, entry, "set security.capability: %m");
        }
        return 0;
}

/* Owner, then mode (chown clears set-id bits), then xattrs (chown clears file capabilities). */
static int apply_meta_fd(struct unpack_ctx *c, struct archive_entry *e, const char *entry, int fd) {
        uid_t uid;
        gid_t gid;
        int r;

        r = entry_owner(c, e, entry, &uid, &gid);
        if (r < 0)
                return r;
        if (c->privileged && fchown(fd, uid, gid) < 0)
                return entry_error(c, -errno, entry, "chown %u:%u: %m", uid, gid);
        if (fchmod(fd, archive_entry_mode(e) & 07777) < 0)
                return entry_error(c, -errno, entry, "chmod: %m");
        return apply_xattrs(c, e, entry, fd);
}

/* For nodes that cannot be opened for writing metadata (symlinks, devices, fifos): by name. */
static int apply_meta_at(struct unpack_ctx *c, struct archive_entry *e, const char *entry, int pfd,
                         const char *leaf, bool is_link) {
        struct timespec ts[2];
        uid_t uid;
        gid_t gid;
        int r;

        r = entry_owner(c, e, entry, &uid, &gid);
        if (r < 0)
                return r;
        if (c->privileged && fchownat(pfd, leaf, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
                return entry_error(c, -errno, entry, "chown %u:%u: %m", uid, gid);
        /* leaf was created by us just now and is not a symlink: fchmodat cannot be led away */
        if (!is_link && fchmodat(pfd, leaf, archive_entry_mode(e) & 07777, 0) < 0)
                return entry_error(c, -errno, entry, "chmod: %m");
        entry_times(e, ts);
        (void) utimensat(pfd, leaf, ts, AT_SYMLINK_NOFOLLOW);
        return 0;
}

/* ==== entries ============================================================================= */

static int read_error(struct unpack_ctx *c, struct archive *a, const char *entry) {
        if (c->cap_error)
                return c->cap_error; /* the read callback said why */
        if (entry)
                return entry_error(c, -EBADMSG, entry, "read: %s", strempty(archive_error_string(a)));
        return nl_error_set(c->err, -EBADMSG, "read: %s", strempty(archive_error_string(a)));
}

static int write_all_at(int fd, const char *p, size_t n, int64_t off) {
        while (n > 0) {
                ssize_t k = pwrite(fd, p, n, off);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += k;
                n -= (size_t) k;
                off += k;
        }
        return 0;
}

static int extract_file(struct unpack_ctx *c, struct archive *a, struct archive_entry *e, const char *entry,
                        int pfd, const char *leaf) {
        _cleanup_close_ int fd = -1;
        struct timespec ts[2];
        int64_t size = archive_entry_size(e);
        int r;

        if (size < 0 || (uint64_t) size > c->lim->max_bytes)
                return entry_error(c, -EFBIG, entry, "size %" PRId64 " out of range", size);
        fd = openat(pfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return entry_error(c, -errno, entry, "create: %m");
        for (;;) {
                const void *buf;
                size_t n;
                la_int64_t off;
                r = archive_read_data_block(a, &buf, &n, &off);
                if (r == ARCHIVE_EOF)
                        break;
                if (r < ARCHIVE_WARN)
                        return read_error(c, a, entry);
                if (off < 0 || (uint64_t) off + n > (uint64_t) size)
                        return entry_error(c, -EBADMSG, entry, "data beyond the entry's size");
                r = write_all_at(fd, buf, n, off);
                if (r < 0)
                        return entry_error(c, r, entry, "write: %s", strerror(-r));
        }
        /* Sparse files end in a hole that no data block covers. */
        if (ftruncate(fd, size) < 0)
                return entry_error(c, -errno, entry, "truncate: %m");
        r = apply_meta_fd(c, e, entry, fd);
        if (r < 0)
                return r;
        entry_times(e, ts);
        (void) futimens(fd, ts);
        return 0;
}

static int defer_dir_time(struct unpack_ctx *c, const char *path, struct archive_entry *e) {
        struct dir_time *n;

        n = realloc(c->dirs, (c->n_dirs + 1) * sizeof(*n));
        if (!n)
                return -ENOMEM;
        c->dirs = n;
        c->dirs[c->n_dirs].path = strdup(path);
        if (!c->dirs[c->n_dirs].path)
                return -ENOMEM;
        entry_times(e, c->dirs[c->n_dirs].ts);
        c->n_dirs++;
        return 0;
}

static int extract_dir(struct unpack_ctx *c, struct archive_entry *e, const char *entry, const char *path,
                       int pfd, const char *leaf) {
        _cleanup_close_ int fd = -1;
        int r;

        if (pfd < 0) /* the layer root itself ("./") */
                fd = openat(c->root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        else {
                r = clear_leaf(c, entry, pfd, leaf, true);
                if (r < 0)
                        return r;
                if (r == 0 && mkdirat(pfd, leaf, 0700) < 0)
                        return entry_error(c, -errno, entry, "mkdir: %m");
                fd = openat(pfd, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        if (fd < 0)
                return entry_error(c, -errno, entry, "open directory: %m");
        r = apply_meta_fd(c, e, entry, fd);
        if (r < 0)
                return r;
        /* Entries created in it later change its mtime: its times are set at the end. */
        return defer_dir_time(c, path, e);
}

static int extract_hardlink(struct unpack_ctx *c, struct archive_entry *e, const char *entry, int pfd,
                            const char *leaf) {
        _cleanup_free_ char *target = NULL;
        _cleanup_close_ int tfd = -1;
        const char *tleaf;
        struct stat st;
        int r;

        r = path_normalize(c, entry, archive_entry_hardlink(e), "hardlink target", &target);
        if (r < 0)
                return r;
        if (!*target)
                return entry_error(c, -EPERM, entry, "hardlink to the layer root");
        r = open_parent(c, entry, target, false, &tfd, &tleaf);
        if (r < 0)
                return r;
        if (fstatat(tfd, tleaf, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return entry_error(c, -errno, entry, "hardlink target: %m");
        if (S_ISDIR(st.st_mode))
                return entry_error(c, -EPERM, entry, "hardlink to a directory");
        r = clear_leaf(c, entry, pfd, leaf, false);
        if (r < 0)
                return r;
        /* flags 0: a symlink target is linked itself, never followed */
        if (linkat(tfd, tleaf, pfd, leaf, 0) < 0)
                return entry_error(c, -errno, entry, "hardlink: %m");
        return 0;
}

static int extract_whiteout(struct unpack_ctx *c, const char *entry, const char *path, int pfd,
                            const char *leaf) {
        const char *name = leaf + strlen(".wh.");

        if (streq(leaf, ".wh..wh..opq")) {
                if (fsetxattr(pfd, "trusted.overlay.opaque", "y", 1, 0) < 0)
                        return entry_error(c, -errno, entry, "mark directory opaque: %m");
                return 0;
        }
        if (strncmp(leaf, ".wh..wh.", 8) == 0)
                return 0; /* aufs bookkeeping (.wh..wh.plnk, .wh..wh.aufs): nothing to do */
        if (!*name || streq(name, ".") || streq(name, ".."))
                return entry_error(c, -EPERM, entry, "bad whiteout name");
        int r = clear_leaf(c, entry, pfd, name, false);
        if (r < 0)
                return r;
        /* overlayfs's whiteout: a 0:0 character device with the hidden name */
        if (mknodat(pfd, name, S_IFCHR | 0000, makedev(0, 0)) < 0)
                return entry_error(c, -errno, entry, "create whiteout: %m");
        return 0;
}

static int extract_entry(struct unpack_ctx *c, struct archive *a, struct archive_entry *e) {
        const char *entry = archive_entry_pathname(e), *leaf = NULL;
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int pfd = -1;
        mode_t type = archive_entry_filetype(e);
        bool hardlink = archive_entry_hardlink(e) != NULL;
        int r;

        r = path_normalize(c, entry, entry, "path", &path);
        if (r < 0)
                return r;
        if (!*path) {
                if (type != AE_IFDIR || hardlink)
                        return entry_error(c, -EPERM, entry, "the layer root can only be a directory");
                return extract_dir(c, e, entry, path, -1, NULL);
        }
        r = open_parent(c, entry, path, true, &pfd, &leaf);
        if (r < 0)
                return r;
        if (strncmp(leaf, ".wh.", 4) == 0)
                return extract_whiteout(c, entry, path, pfd, leaf);
        if (hardlink)
                return extract_hardlink(c, e, entry, pfd, leaf);

        switch (type) {
        case AE_IFDIR:
                return extract_dir(c, e, entry, path, pfd, leaf);
        case AE_IFREG:
                r = clear_leaf(c, entry, pfd, leaf, false);
                return r < 0 ? r : extract_file(c, a, e, entry, pfd, leaf);
        case AE_IFLNK: {
                const char *target = archive_entry_symlink(e);
                /* Any target is fine: symlinks are data here, resolved later inside the
                 * container's root, and never followed while we extract. */
                if (isempty(target) || strlen(target) > UNPACK_MAX_PATH)
                        return entry_error(c, -EINVAL, entry, "bad symlink target");
                r = clear_leaf(c, entry, pfd, leaf, false);
                if (r < 0)
                        return r;
                if (symlinkat(target, pfd, leaf) < 0)
                        return entry_error(c, -errno, entry, "symlink: %m");
                return apply_meta_at(c, e, entry, pfd, leaf, true);
        }
        case AE_IFCHR:
        case AE_IFBLK:
        case AE_IFIFO:
                if (type != AE_IFIFO && !c->privileged)
                        return entry_error(c, -EPERM, entry, "device nodes are only created by root");
                r = clear_leaf(c, entry, pfd, leaf, false);
                if (r < 0)
                        return r;
                if (mknodat(pfd, leaf, type | (archive_entry_mode(e) & 07777),
                            type == AE_IFIFO
                                    ? 0
                                    : makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e))) < 0)
                        return entry_error(c, -errno, entry, "mknod: %m");
                return apply_meta_at(c, e, entry, pfd, leaf, false);
        default:
                return 0; /* sockets and the unknown: nothing a container can use */
        }
}

/* ==== the stream ========================================================================== */

/* The tar reader's input: the decompressor's output, hashed and counted on the way, so the
 * digest covers exactly the uncompressed bytes. */
static la_ssize_t tar_read_cb(struct archive *a, void *userdata, const void **ret) {
        struct unpack_ctx *c = userdata;
        la_ssize_t n;

        n = archive_read_data(c->raw, c->buf, sizeof(c->buf));
        if (n < 0) {
                c->cap_error = nl_error_set(c->err, -EBADMSG, "decompress: %s",
                                            strempty(archive_error_string(c->raw)));
                return -1;
        }
        if (n > 0 && digester_update(c->dg, c->buf, (size_t) n) < 0) {
                c->cap_error = nl_error_set(c->err, -EIO, "digest failed");
                return -1;
        }
        c->total += (uint64_t) n;
        if (c->total > c->lim->max_bytes) {
                c->cap_error = nl_error_set(c->err, -EFBIG, "more than %" PRIu64 " bytes uncompressed",
                                            c->lim->max_bytes);
                return -1;
        }
        if (c->lim->max_ratio > 0 && c->total > c->lim->ratio_floor &&
            c->total / c->lim->max_ratio > c->compressed) {
                c->cap_error =
                        nl_error_set(c->err, -EFBIG,
                                     "more than %" PRIu64 " bytes uncompressed from %" PRIu64
                                     " compressed (ratio above %" PRIu64 "): refusing a compression bomb",
                                     c->total, c->compressed, c->lim->max_ratio);
                return -1;
        }
        *ret = c->buf;
        return n;
}

static void finish_dir_times(struct unpack_ctx *c) {
        for (size_t i = c->n_dirs; i > 0; i--) {
                struct dir_time *d = &c->dirs[i - 1];
                _cleanup_close_ int pfd = -1;
                const char *leaf;
                nl_error ignored = NL_ERROR_INIT;

                if (!*d->path)
                        (void) futimens(c->root_fd, d->ts);
                else {
                        nl_error *saved = c->err;
                        c->err = &ignored;
                        if (open_parent(c, d->path, d->path, false, &pfd, &leaf) >= 0)
                                (void) utimensat(pfd, leaf, d->ts, AT_SYMLINK_NOFOLLOW);
                        c->err = saved;
                        nl_error_clear(&ignored);
                }
        }
}

static int extract_stream(struct unpack_ctx *c, int blob_fd, char ret_diff_id[DIGEST_STRING_MAX]) {
        struct archive *tar = NULL;
        struct archive_entry *e;
        int r;

        c->raw = archive_read_new();
        tar = archive_read_new();
        c->dg = digester_new();
        if (!c->raw || !tar || !c->dg) {
                r = nl_error_set(c->err, -ENOMEM, "out of memory");
                goto out;
        }
        /* Compression detected from the content, as containerd does; the media type only
         * said it is a layer. */
        if (archive_read_support_filter_gzip(c->raw) != ARCHIVE_OK ||
            archive_read_support_filter_zstd(c->raw) != ARCHIVE_OK ||
            archive_read_support_format_raw(c->raw) != ARCHIVE_OK ||
            archive_read_support_format_tar(tar) != ARCHIVE_OK) {
                r = nl_error_set(c->err, -EOPNOTSUPP, "libarchive lacks gzip, zstd or tar support");
                goto out;
        }
        if (archive_read_open_fd(c->raw, blob_fd, UNPACK_BUF) != ARCHIVE_OK ||
            archive_read_next_header(c->raw, &e) != ARCHIVE_OK) {
                r = nl_error_set(c->err, -EBADMSG, "read: %s", strempty(archive_error_string(c->raw)));
                goto out;
        }
        if (archive_read_open(tar, c, NULL, tar_read_cb, NULL) != ARCHIVE_OK) {
                r = read_error(c, tar, NULL);
                goto out;
        }
        for (;;) {
                r = archive_read_next_header(tar, &e);
                if (r == ARCHIVE_EOF)
                        break;
                if (r < ARCHIVE_WARN) {
                        r = read_error(c, tar, NULL);
                        goto out;
                }
                if (++c->n_entries > c->lim->max_entries) {
                        r = nl_error_set(c->err, -EFBIG, "more than %" PRIu64 " entries",
                                         c->lim->max_entries);
                        goto out;
                }
                r = extract_entry(c, tar, e);
                if (r < 0)
                        goto out;
        }
        /* The tar reader stops at the end-of-archive blocks; the diff_id covers the whole
         * stream, padding included. */
        for (;;) {
                const void *buf;
                la_ssize_t n = tar_read_cb(tar, c, &buf);
                if (n < 0) {
                        r = c->cap_error;
                        goto out;
                }
                if (n == 0)
                        break;
        }
        finish_dir_times(c);
        r = digester_final(c->dg, ret_diff_id);
        if (r < 0)
                nl_error_set(c->err, r, "digest failed");
out:
        archive_read_free(tar);
        archive_read_free(c->raw);
        c->raw = NULL;
        digester_free(c->dg);
        c->dg = NULL;
        for (size_t i = 0; i < c->n_dirs; i++)
                free(c->dirs[i].path);
        free(c->dirs);
        c->dirs = NULL;
        c->n_dirs = 0;
        return r;
}

/* ==== child and parent ==================================================================== */

static void child_report(int fd, int code, const char *msg) {
        char buf[UNPACK_MSG_MAX];
        int n = snprintf(buf, sizeof(buf), "%d\n%s", code, strempty(msg));
        if (n < 0)
                return;
        (void) nl_write_all(fd, buf, (size_t) n < sizeof(buf) ? (size_t) n : sizeof(buf) - 1);
}

_Noreturn static void child_run(struct image_store *s, int blob_fd, int root_fd, int report_fd) {
        struct unpack_ctx *c = calloc(1, sizeof(*c));
        nl_error err = NL_ERROR_INIT;
        char diff_id[DIGEST_STRING_MAX];
        struct stat st;
        int r;

        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
        (void) prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        if (!c) {
                child_report(report_fd, -ENOMEM, "out of memory");
                _exit(1);
        }
        umask(0);
        /* UTF-8 pax paths come out as they are, without iconv, which is not there after chroot. */
        (void) setlocale(LC_CTYPE, "C.UTF-8");
        /* Defence in depth: with the layer as "/", even a path bug cannot name the host's
         * files. Without CAP_SYS_CHROOT the checks below still hold on their own. */
        if (fchdir(root_fd) == 0)
                nl_ignore(chroot("."));
        c->lim = &s->limits;
        c->err = &err;
        c->root_fd = root_fd;
        c->use_openat2 = !s->limits.no_openat2;
        c->privileged = geteuid() == 0;
        c->compressed = fstat(blob_fd, &st) == 0 ? (uint64_t) st.st_size : 0;
        r = extract_stream(c, blob_fd, diff_id);
        if (r >= 0)
                child_report(report_fd, 0, diff_id);
        else
                child_report(report_fd, r < 0 ? r : -EIO, err.msg ? err.msg : strerror(-r));
        _exit(r >= 0 ? 0 : 1);
}

/* Read the child's report (capped) and reap it. Today this runs in CLI context and blocks in
 * waitpid; the daemon will run the child from an sd-event child source (pidfd) instead, with
 * the same pipe protocol: "<code>\n<diff_id or message>". */
static int child_wait(pid_t pid, int fd, int *ret_code, char **ret_msg) {
        char buf[UNPACK_MSG_MAX + 1];
        size_t len = 0;
        int status, r = 0;

        ssize_t got = nl_read_all(fd, buf, sizeof(buf) - 1);
        len = got > 0 ? (size_t) got : 0;
        buf[len] = '\0';
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        if (WIFSIGNALED(status)) {
                *ret_code = -EIO;
                *ret_msg = nl_strdupf("unpack process killed by signal %d", WTERMSIG(status));
                return *ret_msg ? 0 : -ENOMEM;
        }
        char *nl = strchr(buf, '\n');
        int64_t code;
        if (!nl) {
                *ret_code = -EIO;
                *ret_msg = nl_strdupf("unpack process exited with status %d without a report",
                                      WEXITSTATUS(status));
                return *ret_msg ? 0 : -ENOMEM;
        }
        *nl = '\0';
        r = nl_parse_int64(buf, -4095, 0, &code);
        if (r < 0 || (code == 0) != (WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
                *ret_code = -EIO;
                *ret_msg = strdup("unpack process sent a bad report");
        } else {
                *ret_code = (int) code;
                *ret_msg = strdup(nl + 1);
        }
        return *ret_msg ? 0 : -ENOMEM;
}

static int read_layer_diff_id(struct image_store *s, const char *chain_id, char ret[DIGEST_STRING_MAX]) {
        _cleanup_free_ char *name = nl_strdupf("layers/%s/diff_id", digest_hex(chain_id));
        _cleanup_close_ int fd = -1;
        ssize_t n;

        if (!name)
                return -ENOMEM;
        fd = openat(s->root_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        n = read(fd, ret, DIGEST_STRING_MAX - 1);
        if (n < 0)
                return -errno;
        ret[n] = '\0';
        return digest_is_valid(ret) ? 0 : -EBADMSG;
}

static int install_layer(struct image_store *s, const char *dir, const char *chain_id, const char *diff_id) {
        _cleanup_(closep) int dfd = -1, lfd = -1, rfd = -1;
        _cleanup_free_ char *target = nl_strdupf("layers/%s", digest_hex(chain_id));
        int r;

        if (!target)
                return -ENOMEM;
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        r = nl_write_file_atomic_at(dfd, "diff_id", s->tmp_dir, diff_id, strlen(diff_id), 0644);
        if (r < 0)
                return r;
        /* One syncfs for the whole tree rather than an fsync per file: the rename below must
         * not reach the disk before the files do. */
        rfd = openat(dfd, "rootfs", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (rfd < 0 || syncfs(rfd) < 0)
                return -errno;
        r = store_lock(s, true);
        if (r < 0)
                return r;
        if (image_store_has_layer(s, chain_id))
                r = 0; /* unpacked meanwhile by another process: ours goes away */
        else if (renameat(AT_FDCWD, dir, s->root_fd, target) < 0)
                r = -errno;
        else {
                lfd = openat(s->root_fd, "layers", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                r = lfd < 0 || fsync(lfd) < 0 ? -errno : 1;
        }
        store_unlock(s);
        return r;
}

int image_store_unpack_layer(struct image_store *s, const char *blob_digest, const char *media_type,
                             const char *diff_id, const char *chain_id, nl_error *err) {
        _cleanup_free_ char *dir = NULL, *rootfs = NULL, *blob = NULL, *msg = NULL;
        _cleanup_close_ int blob_fd = -1, root_fd = -1, rd = -1, wr = -1;
        char have[DIGEST_STRING_MAX];
        int pipefd[2], code = 0, r;
        pid_t pid;

        if (!digest_is_valid(blob_digest) || !digest_is_valid(diff_id) || !digest_is_valid(chain_id))
                return nl_error_set(err, -EINVAL, "unpack layer \"%s\": invalid digest",
                                    strempty(blob_digest));
        if (!layer_media_type_known(media_type))
                return nl_error_set(err, -EINVAL, "layer %s: unsupported media type \"%s\"", blob_digest,
                                    strempty(media_type));
        if (image_store_has_layer(s, chain_id)) {
                r = read_layer_diff_id(s, chain_id, have);
                if (r < 0)
                        return nl_error_set(err, r, "layer %s: read diff_id of chain %s: %s", blob_digest,
                                            chain_id, strerror(-r));
                if (!streq(have, diff_id))
                        return nl_error_set(err, -EEXIST,
                                            "layer %s: chain %s in the store has diff_id %s, not %s",
                                            blob_digest, chain_id, have, diff_id);
                return 0;
        }

        blob = image_store_blob_path(s, blob_digest);
        if (!blob)
                return nl_error_set(err, -ENOMEM, "layer %s: out of memory", blob_digest);
        blob_fd = open(blob, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (blob_fd < 0)
                return nl_error_set(err, -errno, "layer %s: open blob: %m", blob_digest);
        r = store_mkdtemp(s, "unpack-", &dir);
        if (r < 0)
                return nl_error_set(err, r, "layer %s: temp directory: %s", blob_digest, strerror(-r));
        rootfs = nl_strdupf("%s/rootfs", dir);
        if (!rootfs || mkdir(rootfs, 0755) < 0 ||
            (root_fd = open(rootfs, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
                r = rootfs ? -errno : -ENOMEM;
                goto fail_msg;
        }
        if (pipe2(pipefd, O_CLOEXEC) < 0) {
                r = -errno;
                goto fail_msg;
        }
        rd = pipefd[0];
        wr = pipefd[1];
        pid = fork();
        if (pid < 0) {
                r = -errno;
                goto fail_msg;
        }
        if (pid == 0) {
                close(rd);
                child_run(s, blob_fd, root_fd, wr);
        }
        close(TAKE_FD(wr));
        r = child_wait(pid, rd, &code, &msg);
        if (r < 0)
                goto fail_msg;
        if (code < 0) {
                (void) nl_rm_rf_at(AT_FDCWD, dir);
                return nl_error_set(err, code, "layer %s: %s", blob_digest, msg);
        }
        if (!streq(msg, diff_id)) {
                (void) nl_rm_rf_at(AT_FDCWD, dir);
                return nl_error_set(err, -EBADMSG,
                                    "layer %s: uncompressed content has digest %s, expected diff_id %s",
                                    blob_digest, msg, diff_id);
        }
        r = install_layer(s, dir, chain_id, diff_id);
        if (r < 0)
                goto fail_msg;
        if (r == 0)
                (void) nl_rm_rf_at(AT_FDCWD, dir);
        return 0;

fail_msg:
        if (dir)
                (void) nl_rm_rf_at(AT_FDCWD, dir);
        return nl_error_set(err, r, "layer %s: unpack: %s", blob_digest, strerror(-r));
}
