/* SPDX-License-Identifier: Apache-2.0 */
/* The kubelet's AtomicWriter (pkg/volume/util/atomic_writer.go) for downwardAPI, configMap,
 * secret and projected volumes: readers of the volume see either the old or the new payload,
 * never a mix, because the files live in a hidden timestamped directory reached through the
 * "..data" symlink, which is replaced with one rename(2).
 *
 * Crash safety: nothing is fsync'ed. The volume is scratch state rebuilt by the next setup:
 * the content is compared file by file, so a torn file left by a crash is rewritten, and
 * timestamped directories no "..data" points at are removed. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "common/fs.h"
#include "common/strv.h"
#include "volume-internal.h"

#define DATA_DIR "..data"
#define DATA_TMP "..data_tmp"
#define MAX_FILE_NAME 255
#define MAX_PATH_LEN 4096
#define MAX_OLD_ENTRIES (4 * VOLUME_MAX_FILES)

/* ---- payload ------------------------------------------------------------------------------ */

/* validatePath, then filepath.Clean. */
static int clean_path(const char *path, char **ret, nl_error *err) {
        if (isempty(path))
                return nl_error_set(err, -EINVAL, "invalid path: must not be empty: \"%s\"", strempty(path));
        if (path[0] == '/')
                return nl_error_set(err, -EINVAL, "invalid path: must be relative path: %s", path);
        if (strlen(path) > MAX_PATH_LEN)
                return nl_error_set(err, -EINVAL,
                                    "invalid path: must be less than or equal to %d characters",
                                    MAX_PATH_LEN);

        nl_buf b = {};
        nl_buf_puts(&b, "");
        bool first = true;
        for (const char *p = path;;) {
                const char *slash = strchr(p, '/');
                size_t len = slash ? (size_t) (slash - p) : strlen(p);
                if (len == 2 && strncmp(p, "..", 2) == 0) {
                        nl_buf_free(&b);
                        return nl_error_set(err, -EINVAL, "invalid path: must not contain '..': %s", path);
                }
                if (len > MAX_FILE_NAME) {
                        nl_buf_free(&b);
                        return nl_error_set(
                                err, -EINVAL,
                                "invalid path: filenames must be less than or equal to %d characters",
                                MAX_FILE_NAME);
                }
                if (p == path && len > 2 && strncmp(p, "..", 2) == 0) {
                        nl_buf_free(&b);
                        return nl_error_set(err, -EINVAL, "invalid path: must not start with '..': %s",
                                            path);
                }
                if (len > 0 && !(len == 1 && p[0] == '.')) {
                        if (!first)
                                nl_buf_puts(&b, "/");
                        nl_buf_append(&b, p, len);
                        first = false;
                }
                if (!slash)
                        break;
                p = slash + 1;
        }
        char *s = nl_buf_steal(&b);
        if (!s)
                return -ENOMEM;
        if (!*s) { /* "." or "./": nothing to name a file by */
                free(s);
                return nl_error_set(err, -EINVAL, "invalid path: must not be empty: \"%s\"", path);
        }
        /* The first element may be a hidden name (".x") but never the writer's own ("..x"),
         * which the check above covered before cleaning; check again after it ("./..x"). */
        if (strncmp(s, "..", 2) == 0) {
                free(s);
                return nl_error_set(err, -EINVAL, "invalid path: must not start with '..': %s", path);
        }
        *ret = s;
        return 0;
}

int aw_payload_add(struct aw_payload *p, const char *path, const void *data, size_t len, mode_t mode,
                   nl_error *err) {
        _cleanup_free_ char *clean = NULL;
        int r = clean_path(path, &clean, err);
        if (r < 0)
                return r;
        if (len > VOLUME_MAX_PAYLOAD_BYTES || p->bytes + len > VOLUME_MAX_PAYLOAD_BYTES)
                return nl_error_set(err, -E2BIG, "payload larger than %u bytes", VOLUME_MAX_PAYLOAD_BYTES);

        char *copy = malloc(len + 1);
        if (!copy)
                return -ENOMEM;
        if (len)
                memcpy(copy, data, len);
        copy[len] = 0;

        for (size_t i = 0; i < p->n; i++)
                if (streq(p->files[i].path, clean)) {
                        p->bytes -= p->files[i].len;
                        free(p->files[i].data);
                        p->files[i].data = copy;
                        p->files[i].len = len;
                        p->files[i].mode = mode & 07777;
                        p->bytes += len;
                        return 0;
                }
        if (p->n >= VOLUME_MAX_FILES) {
                free(copy);
                return nl_error_set(err, -E2BIG, "payload has more than %u files", VOLUME_MAX_FILES);
        }
        struct aw_file *n = realloc(p->files, (p->n + 1) * sizeof(*n));
        if (!n) {
                free(copy);
                return -ENOMEM;
        }
        p->files = n;
        p->files[p->n++] = (struct aw_file){TAKE_PTR(clean), copy, len, mode & 07777};
        p->bytes += len;
        return 0;
}

void aw_payload_done(struct aw_payload *p) {
        for (size_t i = 0; i < p->n; i++) {
                free(p->files[i].path);
                free(p->files[i].data);
        }
        free(p->files);
        *p = (struct aw_payload){};
}

/* ---- ownership ---------------------------------------------------------------------------- */

static bool entry_is_dir(int fd, const struct dirent *de) {
        if (de->d_type != DT_UNKNOWN)
                return de->d_type == DT_DIR;
        struct stat st;
        return fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

static int chown_one(int dir_fd, const char *name, gid_t gid, bool read_only) {
        struct stat st;
        int flags = isempty(name) ? AT_EMPTY_PATH : AT_SYMLINK_NOFOLLOW;
        if (fstatat(dir_fd, name, &st, flags | AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        if (fchownat(dir_fd, name, (uid_t) -1, gid, flags | AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        /* chmod would go through a symlink to its target: never. */
        if (S_ISLNK(st.st_mode))
                return 0;
        mode_t mask = read_only ? 0440 : 0660;
        if (S_ISDIR(st.st_mode))
                mask |= 0110 | S_ISGID;
        mode_t mode = (st.st_mode & 07777) | mask;
        if (isempty(name)) {
                char p[64];
                snprintf(p, sizeof(p), "/proc/self/fd/%d", dir_fd);
                return chmod(p, mode) < 0 ? -errno : 0;
        }
        return fchmodat(dir_fd, name, mode, 0) < 0 ? -errno : 0;
}

/* A depth-first walk below fd that never follows a symlink: visit() sees each entry (rel is its
 * path below fd, "a", "a/b") before what a directory holds; an error stops the walk. A tree
 * deeper than 64 levels is too_deep. */
typedef int (*walk_fn)(int dir_fd, const char *name, const char *rel, bool is_dir, void *userdata);

static int walk_tree(int fd, const char *prefix, unsigned depth, int too_deep, walk_fn visit, void *userdata) {
        if (depth > 64)
                return too_deep;
        DIR *d;
        int r = nl_opendir_at(fd, ".", &d);
        if (r < 0)
                return r;
        struct dirent *de;
        while ((de = nl_readdir(d))) {
                _cleanup_free_ char *rel =
                        prefix ? nl_strdupf("%s/%s", prefix, de->d_name) : strdup(de->d_name);
                bool is_dir = entry_is_dir(fd, de);
                r = rel ? visit(fd, de->d_name, rel, is_dir, userdata) : -ENOMEM;
                if (r < 0)
                        break;
                if (is_dir) {
                        _cleanup_close_ int c =
                                openat(fd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (c < 0) {
                                r = -errno;
                                break;
                        }
                        r = walk_tree(c, rel, depth + 1, too_deep, visit, userdata);
                        if (r < 0)
                                break;
                }
        }
        if (r == 0 && errno)
                r = -errno;
        closedir(d);
        return r;
}

struct ownership {
        gid_t gid;
        bool read_only;
};

static int visit_ownership(int dir_fd, const char *name, const char *rel, bool is_dir, void *userdata) {
        const struct ownership *o = userdata;
        return chown_one(dir_fd, name, o->gid, o->read_only);
}

int volume_set_ownership(int dir_fd, gid_t gid, bool read_only) {
        /* fchmodat(AT_EMPTY_PATH) does not exist; the root goes through /proc/self/fd. */
        int r = chown_one(dir_fd, "", gid, read_only);
        if (r < 0)
                return r;
        return walk_tree(dir_fd, NULL, 0, -ELOOP, visit_ownership, &(struct ownership){ gid, read_only });
}

/* ---- the old version ---------------------------------------------------------------------- */

/* Every path below the old timestamped dir, relative ("a", "a/b"), as filepath.Walk sees. */
static int visit_list(int dir_fd, const char *name, const char *rel, bool is_dir, void *userdata) {
        struct strv *out = userdata;
        int r = strv_add(out, strdup(rel));
        if (r < 0)
                return r;
        return is_dir && out->n > MAX_OLD_ENTRIES ? -E2BIG : 0;
}

/* Whether path is a payload file or a directory leading to one (upstream's newPaths). */
static bool in_payload(const struct aw_payload *p, const char *path) {
        size_t n = strlen(path);
        for (size_t i = 0; i < p->n; i++) {
                const char *f = p->files[i].path;
                if (strncmp(f, path, n) == 0 && (f[n] == 0 || f[n] == '/'))
                        return true;
        }
        return false;
}

static bool file_matches(int old_fd, const struct aw_file *f) {
        _cleanup_close_ int fd = openat(old_fd, f->path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
                return false;
        struct stat st;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t) st.st_size != f->len ||
            (st.st_mode & 07777) != f->mode)
                return false;
        char buf[16384];
        size_t off = 0;
        while (off < f->len) {
                ssize_t n = read(fd, buf, sizeof(buf));
                if (n <= 0)
                        return false;
                if ((size_t) n > f->len - off || memcmp(buf, f->data + off, (size_t) n) != 0)
                        return false;
                off += (size_t) n;
        }
        return true;
}

static bool is_ts_name(const char *s) {
        return strncmp(s, "..", 2) == 0 && s[2] && !streq(s, DATA_DIR) && !streq(s, DATA_TMP) &&
               !strchr(s, '/');
}

/* ---- writing ------------------------------------------------------------------------------ */

static int new_ts_dir(int dfd, char **ret) {
        for (int attempt = 0; attempt < 100; attempt++) {
                time_t now = time(NULL);
                struct tm tm;
                uint32_t rnd;
                char stamp[64];
                if (!gmtime_r(&now, &tm) || strftime(stamp, sizeof(stamp), "..%Y_%m_%d_%H_%M_%S.", &tm) == 0)
                        return -EINVAL;
                if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
                        return -errno;
                /* os.MkdirTemp: the pattern plus a random decimal number, mode 0700, then
                 * chmod 0755 so group and other can walk the tree. */
                char *name = nl_strdupf("%s%u", stamp, rnd);
                if (!name)
                        return -ENOMEM;
                if (mkdirat(dfd, name, 0700) < 0) {
                        int e = errno;
                        free(name);
                        if (e == EEXIST)
                                continue;
                        return -e;
                }
                if (fchmodat(dfd, name, 0755, 0) < 0) {
                        int e = errno;
                        free(name);
                        return -e;
                }
                *ret = name;
                return 0;
        }
        return -EEXIST;
}

/* mkdir -p for the file's parent inside the timestamped dir, then the file itself. */
static int write_file(int ts_fd, const struct aw_file *f) {
        _cleanup_free_ char *copy = strdup(f->path);
        if (!copy)
                return -ENOMEM;
        _cleanup_close_ int dir = openat(ts_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dir < 0)
                return -errno;
        char *name = copy;
        for (char *slash; (slash = strchr(name, '/')); name = slash + 1) {
                *slash = 0;
                if (mkdirat(dir, name, 0755) < 0 && errno != EEXIST)
                        return -errno;
                int n = openat(dir, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (n < 0)
                        return -errno;
                close(dir);
                dir = n;
        }
        _cleanup_close_ int fd =
                openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, f->mode);
        if (fd < 0)
                return -errno;
        for (size_t off = 0; off < f->len;) {
                ssize_t n = write(fd, f->data + off, f->len - off);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                off += (size_t) n;
        }
        /* The umask applied at creation; the payload's mode is what counts. */
        if (fchmod(fd, f->mode) < 0)
                return -errno;
        return 0;
}

static int user_visible_links(int dfd, const struct aw_payload *p) {
        for (size_t i = 0; i < p->n; i++) {
                const char *path = p->files[i].path;
                size_t len = strcspn(path, "/");
                _cleanup_free_ char *top = strndup(path, len);
                if (!top)
                        return -ENOMEM;
                char buf[8];
                if (readlinkat(dfd, top, buf, sizeof(buf)) >= 0 || errno != ENOENT)
                        continue;
                _cleanup_free_ char *target = nl_strdupf(DATA_DIR "/%s", top);
                if (!target)
                        return -ENOMEM;
                if (symlinkat(target, dfd, top) < 0 && errno != EEXIST)
                        return -errno;
        }
        return 0;
}

/* Timestamped dirs nothing points at and a "..data_tmp" left by an interrupted write. */
static void remove_stale(int dfd, const char *current) {
        DIR *d;
        if (nl_opendir_at(dfd, ".", &d) < 0)
                return;
        struct strv stale = {};
        struct dirent *de;
        while ((de = readdir(d)))
                if ((is_ts_name(de->d_name) && !streq_ptr(de->d_name, current)) ||
                    streq(de->d_name, DATA_TMP))
                        if (strv_add(&stale, strdup(de->d_name)) < 0)
                                break;
        closedir(d);
        for (size_t i = 0; i < stale.n; i++)
                (void) fs_remove_tree(dfd, stale.v[i]);
        strv_done(&stale);
}

int atomic_writer_write(const char *target_dir, const struct aw_payload *p, int64_t fs_group,
                        nl_error *err) {
        int r;

        _cleanup_close_ int dfd = open(target_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0)
                return nl_error_set(err, -errno, "open volume directory \"%s\": %m", target_dir);

        /* (2) the current version */
        char old[NAME_MAX + 1] = "";
        ssize_t n = readlinkat(dfd, DATA_DIR, old, sizeof(old) - 1);
        if (n < 0 && errno != ENOENT && errno != EINVAL)
                return nl_error_set(err, -errno, "read link \"%s/" DATA_DIR "\": %m", target_dir);
        old[n > 0 ? n : 0] = 0;
        if (*old && !is_ts_name(old))
                *old = 0; /* not ours: treat as no previous version */

        remove_stale(dfd, *old ? old : NULL);

        _cleanup_(strv_done) struct strv remove = {};
        bool write = true;
        if (*old) {
                _cleanup_close_ int old_fd =
                        openat(dfd, old, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (old_fd >= 0) {
                        /* (3) what the new payload no longer has */
                        _cleanup_(strv_done) struct strv all = {};
                        r = walk_tree(old_fd, NULL, 0, -E2BIG, visit_list, &all);
                        if (r < 0)
                                return nl_error_set(err, r, "list \"%s/%s\": %s", target_dir, old,
                                                    strerror(-r));
                        bool gone = false;
                        for (size_t i = 0; i < all.n; i++) {
                                if (in_payload(p, all.v[i]))
                                        continue;
                                gone = true;
                                /* only top-level names are user-visible links */
                                if (!strchr(all.v[i], '/')) {
                                        r = strv_add(&remove, TAKE_PTR(all.v[i]));
                                        if (r < 0)
                                                return r;
                                }
                        }
                        /* (4) anything to write? */
                        write = gone;
                        for (size_t i = 0; !write && i < p->n; i++)
                                write = !file_matches(old_fd, &p->files[i]);
                }
        }

        if (!write) {
                /* Up to date, but make sure the user-visible links exist (kubernetes#121472). */
                r = user_visible_links(dfd, p);
                if (r < 0)
                        return nl_error_set(err, r, "create links in \"%s\": %s", target_dir, strerror(-r));
                return 0;
        }

        /* (5) the new version */
        _cleanup_free_ char *ts = NULL;
        r = new_ts_dir(dfd, &ts);
        if (r < 0)
                return nl_error_set(err, r, "create data directory in \"%s\": %s", target_dir, strerror(-r));
        {
                _cleanup_close_ int ts_fd = openat(dfd, ts, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (ts_fd < 0) {
                        r = -errno;
                        goto fail;
                }
                /* (6) */
                for (size_t i = 0; i < p->n; i++) {
                        r = write_file(ts_fd, &p->files[i]);
                        if (r < 0) {
                                nl_error_set(err, r, "write \"%s\" in \"%s\": %s", p->files[i].path,
                                             target_dir, strerror(-r));
                                fs_remove_tree(dfd, ts);
                                return r;
                        }
                }
        }

        /* (7) fsGroup over the whole volume: files may have been created outside the new dir
         * on a first write, so not only the timestamped directory. */
        if (fs_group >= 0) {
                r = volume_set_ownership(dfd, (gid_t) fs_group, true);
                if (r < 0)
                        goto fail;
        }

        /* (8) + (9): the atomic swap */
        if (unlinkat(dfd, DATA_TMP, 0) < 0 && errno != ENOENT) {
                r = -errno;
                goto fail;
        }
        if (symlinkat(ts, dfd, DATA_TMP) < 0) {
                r = -errno;
                goto fail;
        }
        if (renameat(dfd, DATA_TMP, dfd, DATA_DIR) < 0) {
                r = -errno;
                (void) unlinkat(dfd, DATA_TMP, 0);
                goto fail;
        }

        /* (10) links for new names, (11) old names gone, (12) the old version */
        r = user_visible_links(dfd, p);
        if (r < 0)
                return nl_error_set(err, r, "create links in \"%s\": %s", target_dir, strerror(-r));
        for (size_t i = 0; i < remove.n; i++)
                if (unlinkat(dfd, remove.v[i], 0) < 0 && errno != ENOENT)
                        return nl_error_set(err, -errno, "remove \"%s/%s\": %m", target_dir, remove.v[i]);
        if (*old) {
                r = fs_remove_tree(dfd, old);
                if (r < 0)
                        return nl_error_set(err, r, "remove \"%s/%s\": %s", target_dir, old, strerror(-r));
        }
        return 1;

fail:
        nl_error_set(err, r, "update data in \"%s\": %s", target_dir, strerror(-r));
        fs_remove_tree(dfd, ts);
        return r;
}
