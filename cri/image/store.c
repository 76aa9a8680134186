/* SPDX-License-Identifier: Apache-2.0 */
/* The content store: verified blobs, unpacked layers and image records under one root, shared
 * by the daemon and the CLI through a flock'ed lock file. See cri.h for the layout. */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include "common/fs.h"
#include "store-internal.h"


DEFINE_TRIVIAL_CLEANUP_FUNC(struct image_store *, store_unlock)

/* ==== small filesystem helpers ============================================================ */

static int mkdirat_dir(int dfd, const char *name, mode_t mode) {
        struct stat st;

        if (mkdirat(dfd, name, mode) < 0 && errno != EEXIST)
                return -errno;
        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/* ==== locking and the temp area =========================================================== */

/* flock belongs to the open file, and a forked child shares its parent's: a child taking the
 * lock through the inherited descriptor would convert the parent's lock (or have its own
 * dropped by the parent's unlock) instead of waiting for it. So a process other than the one
 * that opened the descriptor opens the lock file again. The store's slow calls run in forked
 * children (store-job.c, and the agent's operations read layers). */
static int lock_fd_ours(struct image_store *s) {
        if (s->lock_pid == getpid())
                return 0;
        int fd = openat(s->root_fd, "lock", O_RDWR | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        close(s->lock_fd); /* the parent's lock stays: it holds the open file too */
        s->lock_fd = fd;
        s->lock_pid = getpid();
        s->lock_depth = 0;
        return 0;
}

int store_lock(struct image_store *s, bool exclusive) {
        int r = lock_fd_ours(s);
        if (r < 0)
                return r;
        if (s->lock_depth > 0) {
                if (exclusive && !s->lock_exclusive)
                        return -EDEADLK;
                s->lock_depth++;
                return 0;
        }
        while (flock(s->lock_fd, exclusive ? LOCK_EX : LOCK_SH) < 0)
                if (errno != EINTR)
                        return -errno;
        s->lock_depth = 1;
        s->lock_exclusive = exclusive;
        return 0;
}

void store_unlock(struct image_store *s) {
        if (s->lock_depth == 0 || s->lock_pid != getpid())
                return;
        if (--s->lock_depth == 0)
                (void) flock(s->lock_fd, LOCK_UN);
}

/* Each open store has its own directory in tmp/ holding a flock'ed ".lock": a directory whose
 * lock can be taken belongs to a process that is gone (crash, kill), so its partial downloads
 * and unpacks are removed. Called with the store lock held exclusively, as is the creation of
 * a session, so a session is never seen between its mkdir and its flock. */
static int tmp_clean_stale(struct image_store *s) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int r = nl_opendir_at(s->root_fd, "tmp", &d);

        if (r < 0)
                return r;
        while ((de = nl_readdir(d))) {
                _cleanup_free_ char *lock = NULL;
                _cleanup_close_ int lfd = -1;
                int q;

                lock = nl_strdupf("%s/.lock", de->d_name);
                if (!lock)
                        return -ENOMEM;
                lfd = openat(dirfd(d), lock, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
                if (lfd >= 0 && flock(lfd, LOCK_EX | LOCK_NB) < 0)
                        continue; /* a live session (EWOULDBLOCK) */
                q = nl_rm_rf_at(dirfd(d), de->d_name);
                if (q < 0 && r == 0)
                        r = q;
        }
        return r;
}

static int session_create(struct image_store *s) {
        _cleanup_free_ char *dir = NULL, *lock = NULL;
        _cleanup_close_ int fd = -1;

        dir = nl_strdupf("%s/tmp/s-XXXXXX", s->root);
        if (!dir)
                return -ENOMEM;
        if (!mkdtemp(dir))
                return -errno;
        lock = nl_strdupf("%s/.lock", dir);
        if (!lock)
                return -ENOMEM;
        fd = open(lock, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        if (flock(fd, LOCK_EX | LOCK_NB) < 0)
                return -errno;
        s->session_fd = TAKE_FD(fd);
        s->tmp_dir = TAKE_PTR(dir);
        return 0;
}

int store_mkdtemp(struct image_store *s, const char *prefix, char **ret_path) {
        char *p = nl_strdupf("%s/%sXXXXXX", s->tmp_dir, prefix);

        if (!p)
                return -ENOMEM;
        if (!mkdtemp(p)) {
                int r = -errno;
                free(p);
                return r;
        }
        *ret_path = p;
        return 0;
}

/* ==== open / close ======================================================================== */

void image_store_set_unpack_limits(struct image_store *s, const struct unpack_limits *l) {
        s->limits = *l;
}

int image_store_open(const char *root, struct image_store **ret, nl_error *err) {
        static const char *const dirs[] = {"blobs", "blobs/sha256", "layers", "images", "tmp"};
        struct image_store *s;
        int r;

        if (isempty(root))
                return nl_error_set(err, -EINVAL, "image store: no root directory given");
        r = nl_mkdir_parents_p(root, 0755, 0700);
        if (r < 0)
                return nl_error_set(err, r, "create image store \"%s\": %s", root, strerror(-r));

        s = calloc(1, sizeof(*s));
        if (!s)
                return nl_error_set(err, -ENOMEM, "open image store \"%s\": out of memory", root);
        s->root_fd = s->lock_fd = s->session_fd = -1;
        s->limits = (struct unpack_limits){
                .max_bytes = UNPACK_MAX_BYTES,
                .max_entries = UNPACK_MAX_ENTRIES,
                .max_ratio = UNPACK_MAX_RATIO,
                .ratio_floor = UNPACK_RATIO_FLOOR,
        };
        s->root = strdup(root);
        if (!s->root) {
                r = -ENOMEM;
                goto fail;
        }
        s->root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s->root_fd < 0) {
                r = -errno;
                goto fail;
        }
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                r = mkdirat_dir(s->root_fd, dirs[i], 0700);
                if (r < 0) {
                        image_store_close(s);
                        return nl_error_set(err, r, "open image store \"%s\": directory \"%s\": %s", root,
                                            dirs[i], strerror(-r));
                }
        }
        s->lock_fd = openat(s->root_fd, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (s->lock_fd < 0) {
                r = -errno;
                goto fail;
        }
        s->lock_pid = getpid();
        r = store_lock(s, true);
        if (r < 0)
                goto fail;
        (void) tmp_clean_stale(s); /* best effort: what cannot go now goes at the next open */
        r = session_create(s);
        store_unlock(s);
        if (r < 0)
                goto fail;
        *ret = s;
        return 0;
fail:
        image_store_close(s);
        return nl_error_set(err, r, "open image store \"%s\": %s", root, strerror(-r));
}

void image_store_close(struct image_store *s) {
        if (!s)
                return;
        if (s->tmp_dir)
                (void) nl_rm_rf_at(AT_FDCWD, s->tmp_dir);
        if (s->session_fd >= 0)
                close(s->session_fd);
        if (s->lock_fd >= 0)
                close(s->lock_fd);
        if (s->root_fd >= 0)
                close(s->root_fd);
        free(s->tmp_dir);
        free(s->root);
        free(s);
}

const char *image_store_root(const struct image_store *s) {
        return s->root;
}

/* ==== blobs =============================================================================== */

int store_blob_name(const char *digest, char ret[DIGEST_STRING_MAX + 16]) {
        if (!digest_is_valid(digest))
                return -EINVAL;
        snprintf(ret, DIGEST_STRING_MAX + 16, "blobs/sha256/%s", digest_hex(digest));
        return 0;
}

bool image_store_has_blob(struct image_store *s, const char *digest) {
        char name[DIGEST_STRING_MAX + 16];
        struct stat st;

        if (store_blob_name(digest, name) < 0)
                return false;
        return fstatat(s->root_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

char *image_store_blob_path(struct image_store *s, const char *digest) {
        if (!digest_is_valid(digest))
                return NULL;
        return nl_strdupf("%s/blobs/sha256/%s", s->root, digest_hex(digest));
}

int image_store_tmpfile(struct image_store *s, char **ret_path, int *ret_fd) {
        _cleanup_free_ char *p = nl_strdupf("%s/blob-XXXXXX", s->tmp_dir);
        int fd;

        if (!p)
                return -ENOMEM;
        fd = mkostemp(p, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        *ret_path = TAKE_PTR(p);
        *ret_fd = fd;
        return 0;
}

/* Only files of this handle's temp area are committed: a caller cannot move an arbitrary
 * file into the store by naming it. */
static bool tmp_path_ours(struct image_store *s, const char *path) {
        size_t n = strlen(s->tmp_dir);

        return strncmp(path, s->tmp_dir, n) == 0 && path[n] == '/' && path[n + 1] != '\0' &&
               !strchr(path + n + 1, '/');
}

static int hash_fd(int fd, char ret[DIGEST_STRING_MAX], uint64_t *ret_size) {
        _cleanup_(digester_freep) digester *d = digester_new();
        char buf[64 * 1024];
        uint64_t size = 0;
        int r;

        if (!d)
                return -ENOMEM;
        for (;;) {
                ssize_t n = read(fd, buf, sizeof(buf));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                r = digester_update(d, buf, (size_t) n);
                if (r < 0)
                        return r;
                size += (uint64_t) n;
        }
        r = digester_final(d, ret);
        if (r < 0)
                return r;
        *ret_size = size;
        return 0;
}

int store_commit_known(struct image_store *s, const char *tmp_path, const char *digest, nl_error *err) {
        _cleanup_(store_unlockp) struct image_store *locked = NULL;
        _cleanup_close_ int fd = -1, dfd = -1;
        int r;

        if (!digest_is_valid(digest) || !tmp_path_ours(s, tmp_path)) {
                (void) unlink(tmp_path);
                return nl_error_set(err, -EINVAL, "commit blob \"%s\": invalid digest or temp file",
                                    strempty(digest));
        }
        fd = open(tmp_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 || fsync(fd) < 0) {
                r = -errno;
                (void) unlink(tmp_path);
                return nl_error_set(err, r, "commit blob %s: %s", digest, strerror(-r));
        }
        dfd = openat(s->root_fd, "blobs/sha256", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0) {
                r = -errno;
                (void) unlink(tmp_path);
                return nl_error_set(err, r, "commit blob %s: blobs directory: %s", digest, strerror(-r));
        }
        r = store_lock(s, true);
        if (r < 0) {
                (void) unlink(tmp_path);
                return nl_error_set(err, r, "commit blob %s: lock store: %s", digest, strerror(-r));
        }
        locked = s;
        /* Same digest, same bytes: replacing a blob that is there already is harmless. */
        if (renameat(AT_FDCWD, tmp_path, dfd, digest_hex(digest)) < 0) {
                r = -errno;
                (void) unlink(tmp_path);
                return nl_error_set(err, r, "commit blob %s: %s", digest, strerror(-r));
        }
        if (fsync(dfd) < 0)
                return nl_error_set(err, -errno, "commit blob %s: sync blobs directory: %m", digest);
        return 0;
}

int image_store_commit_blob(struct image_store *s, const char *tmp_path, const char *expected_digest,
                            int64_t expected_size, nl_error *err) {
        _cleanup_close_ int fd = -1;
        char got[DIGEST_STRING_MAX];
        uint64_t size = 0;
        struct stat st;
        int r;

        if (!digest_is_valid(expected_digest)) {
                (void) unlink(tmp_path);
                return nl_error_set(err, -EINVAL, "commit blob: invalid digest \"%s\"",
                                    strempty(expected_digest));
        }
        if (!tmp_path_ours(s, tmp_path))
                return nl_error_set(err, -EINVAL, "commit blob %s: \"%s\" is not a temp file of this store",
                                    expected_digest, tmp_path);
        fd = open(tmp_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return nl_error_set(err, -errno, "commit blob %s: open \"%s\": %m", expected_digest,
                                    tmp_path);
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                (void) unlink(tmp_path);
                return nl_error_set(err, -EINVAL, "commit blob %s: \"%s\" is not a regular file",
                                    expected_digest, tmp_path);
        }
        r = hash_fd(fd, got, &size);
        if (r < 0) {
                (void) unlink(tmp_path);
                return nl_error_set(err, r, "commit blob %s: read: %s", expected_digest, strerror(-r));
        }
        if (expected_size >= 0 && size != (uint64_t) expected_size) {
                (void) unlink(tmp_path);
                return nl_error_set(err, -EBADMSG, "blob %s: size %" PRIu64 " bytes, expected %" PRId64,
                                    expected_digest, size, expected_size);
        }
        if (!streq(got, expected_digest)) {
                (void) unlink(tmp_path);
                return nl_error_set(err, -EBADMSG, "blob %s: content has digest %s", expected_digest, got);
        }
        return store_commit_known(s, tmp_path, expected_digest, err);
}

int image_store_put_blob(struct image_store *s, const void *buf, size_t len, const char *expected_digest,
                         char ret_digest[DIGEST_STRING_MAX], nl_error *err) {
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = -1;
        char got[DIGEST_STRING_MAX];
        int r;

        if (expected_digest && !digest_is_valid(expected_digest))
                return nl_error_set(err, -EINVAL, "store blob: invalid digest \"%s\"", expected_digest);
        r = digest_buffer(buf, len, got);
        if (r < 0)
                return nl_error_set(err, r, "store blob: digest: %s", strerror(-r));
        if (expected_digest && !streq(got, expected_digest))
                return nl_error_set(err, -EBADMSG, "blob %s: content has digest %s", expected_digest, got);
        if (!image_store_has_blob(s, got)) {
                r = image_store_tmpfile(s, &tmp, &fd);
                if (r < 0)
                        return nl_error_set(err, r, "store blob %s: temp file: %s", got, strerror(-r));
                r = nl_write_all(fd, buf, len);
                if (r < 0) {
                        (void) unlink(tmp);
                        return nl_error_set(err, r, "store blob %s: write: %s", got, strerror(-r));
                }
                r = store_commit_known(s, tmp, got, err);
                if (r < 0)
                        return r;
        }
        if (ret_digest)
                memcpy(ret_digest, got, DIGEST_STRING_MAX);
        return 0;
}

int image_store_read_blob(struct image_store *s, const char *digest, size_t max, char **ret, size_t *ret_len,
                          nl_error *err) {
        char name[DIGEST_STRING_MAX + 16], got[DIGEST_STRING_MAX];
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t len = 0;
        int r;

        if (store_blob_name(digest, name) < 0)
                return nl_error_set(err, -EINVAL, "read blob: invalid digest \"%s\"", strempty(digest));
        fd = openat(s->root_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return nl_error_set(err, -errno, "read blob %s: %m", digest);
        if (fstat(fd, &st) < 0)
                return nl_error_set(err, -errno, "read blob %s: %m", digest);
        if (!S_ISREG(st.st_mode))
                return nl_error_set(err, -EINVAL, "read blob %s: not a regular file", digest);
        if ((uint64_t) st.st_size > max)
                return nl_error_set(err, -EFBIG, "blob %s is %" PRIu64 " bytes, more than the %zu allowed",
                                    digest, (uint64_t) st.st_size, max);
        buf = malloc((size_t) st.st_size + 1);
        if (!buf)
                return nl_error_set(err, -ENOMEM, "read blob %s: out of memory", digest);
        while (len < (size_t) st.st_size) {
                ssize_t n = read(fd, buf + len, (size_t) st.st_size - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return nl_error_set(err, -errno, "read blob %s: %m", digest);
                if (n == 0)
                        break;
                len += (size_t) n;
        }
        buf[len] = '\0';
        /* Cheap for what is read whole (manifests, configs) and catches a damaged store. */
        r = digest_buffer(buf, len, got);
        if (r < 0)
                return nl_error_set(err, r, "read blob %s: digest: %s", digest, strerror(-r));
        if (!streq(got, digest))
                return nl_error_set(err, -EBADMSG, "blob %s in the store is damaged: content has digest %s",
                                    digest, got);
        *ret = TAKE_PTR(buf);
        if (ret_len)
                *ret_len = len;
        return 0;
}

/* ==== layers ============================================================================== */

bool image_store_has_layer(struct image_store *s, const char *chain_id) {
        _cleanup_free_ char *name = NULL;
        struct stat st;

        if (!digest_is_valid(chain_id))
                return false;
        /* The diff_id file is written before the layer directory is renamed into place. */
        name = nl_strdupf("layers/%s/diff_id", digest_hex(chain_id));
        return name && fstatat(s->root_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

char *image_store_layer_path(struct image_store *s, const char *chain_id) {
        if (!digest_is_valid(chain_id))
                return NULL;
        return nl_strdupf("%s/layers/%s/rootfs", s->root, digest_hex(chain_id));
}
