/* SPDX-License-Identifier: Apache-2.0 */
/* The CRI log writer (log-writer.h): container output in, CRI log lines out, with rotation. It
 * runs in nodelet-shim, which links it without the rest of libcri: nothing here goes beyond
 * libc and common/. */
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>

#include "common/fs.h"
#include "common/time-util.h"
#include "log-writer.h"

#define LOG_RETRY_USEC (1 * USEC_PER_SEC) /* after a failed rotation or reopen */
#define LOG_ROTATED_MAX 4096               /* rotated files we look at when pruning */

struct log_stream_buf {
        char line[LOG_LINE_MAX];
        size_t len;
        bool cr; /* a '\r' held back until we know whether '\n' follows */
};

struct log_writer {
        char *name; /* the live file's name in dir_fd */
        int dir_fd;
        int fd; /* -1 while the live file could not be (re)opened */
        uint64_t size;
        int64_t max_size;
        int max_files;
        uint64_t dropped;
        unsigned rotations;
        int inject_error;
        uint64_t retry_after; /* CLOCK_MONOTONIC usec */
        char last_suffix[32]; /* of the last rotation, and how many shared it */
        unsigned last_index;
        struct log_stream_buf streams[_LOG_STREAM_MAX];
};

void log_format_time(const struct timespec *ts, char buf[LOG_TIME_MAX]) {
        struct tm tm;
        time_t s = ts->tv_sec;
        size_t n = gmtime_r(&s, &tm) ? strftime(buf, LOG_TIME_MAX, "%Y-%m-%dT%H:%M:%S", &tm) : 0;
        if (n != 19) /* beyond year 9999 */
                n = (size_t) snprintf(buf, LOG_TIME_MAX, "%s", "9999-12-31T23:59:59");
        snprintf(buf + n, LOG_TIME_MAX - n, ".%09luZ", (unsigned long) ts->tv_nsec % 1000000000UL);
}

static int log_open_live(struct log_writer *w) {
        /* 0640 as containerd creates them; O_NOFOLLOW: never write through a planted link. A
         * link (or anything but a regular file) where the log goes was not made by us (a pod
         * with the log dir as a hostPath): it is removed and a fresh file made, so the
         * container still runs and nothing is written through it. */
        int fd = openat(w->dir_fd, w->name,
                        O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK, 0640);
        struct stat st;
        if (fd < 0 && (errno == ELOOP || errno == ENXIO || errno == EISDIR)) {
                if (fstatat(w->dir_fd, w->name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode) &&
                    unlinkat(w->dir_fd, w->name, 0) == 0)
                        fd = openat(w->dir_fd, w->name,
                                    O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0640);
                else
                        errno = ELOOP;
        }
        if (fd < 0)
                return -errno;
        /* blocking writes from here on (O_NONBLOCK only kept a planted FIFO from hanging the open) */
        (void) fcntl(fd, F_SETFL, O_APPEND);
        if (fstat(fd, &st) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        if (!S_ISREG(st.st_mode)) {
                close(fd);
                return -EINVAL;
        }
        w->fd = fd;
        w->size = (uint64_t) st.st_size;
        return 0;
}

/* <log dir>/<ns>_<pod>_<uid>/<container>: the log dir is the admin's (it may be a link), its two
 * levels below are what a pod with the log dir as a hostPath could replace with a link to
 * anywhere on the host: those are opened without following any link. */
static int open_log_dir(const char *dir) {
        _cleanup_free_ char *root = strdup(dir);
        if (!root)
                return -ENOMEM;
        const char *rel = NULL;
        for (int i = 0; i < 2; i++) {
                char *s = strrchr(root, '/');
                if (!s || s == root) {
                        rel = NULL;
                        break;
                }
                *s = '\0';
                rel = dir + (s - root) + 1;
        }
        if (!rel) {
                int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                return fd < 0 ? -errno : fd;
        }
        _cleanup_close_ int rfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (rfd < 0)
                return -errno;
        struct open_how how = { .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
                                .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS };
        long fd = syscall(SYS_openat2, rfd, rel, &how, sizeof(how));
        return fd < 0 ? -errno : (int) fd;
}

int log_writer_open(const char *path, int64_t max_size, int max_files, struct log_writer **ret) {
        if (isempty(path) || !ret)
                return -EINVAL;
        _cleanup_free_ char *dir = strdup(path);
        struct log_writer *w = calloc(1, sizeof(*w));
        if (!dir || !w) {
                free(w);
                return -ENOMEM;
        }
        char *slash = strrchr(dir, '/');
        const char *name = slash ? slash + 1 : path;
        if (slash)
                *slash = '\0';
        w->fd = w->dir_fd = -1;
        w->max_size = max_size;
        w->max_files = max_files;
        w->name = strdup(name);
        int r = -ENOMEM;
        if (!w->name)
                goto fail;
        r = -EINVAL;
        if (isempty(w->name))
                goto fail;
        w->dir_fd = open_log_dir(slash ? (*dir ? dir : "/") : ".");
        if (w->dir_fd < 0) {
                r = w->dir_fd;
                goto fail;
        }
        r = log_open_live(w);
        if (r < 0)
                goto fail;
        *ret = w;
        return 0;
fail:
        log_writer_free(w);
        return r;
}

void log_writer_free(struct log_writer *w) {
        if (!w)
                return;
        if (w->fd >= 0)
                close(w->fd);
        if (w->dir_fd >= 0)
                close(w->dir_fd);
        free(w->name);
        free(w);
}

static int name_cmp(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Keep at most max_files - 1 rotated files, removing the oldest first, as the kubelet's
 * container log manager does (removeExcessLogs: oldest to newest, names sort by time). */
static void log_remove_excess(struct log_writer *w) {
        if (w->max_files <= 0)
                return;
        DIR *d;
        if (nl_opendir_at(w->dir_fd, ".", &d) < 0)
                return;
        size_t prefix_len = strlen(w->name), n = 0;
        char **names = NULL;
        struct dirent *de;
        while ((de = readdir(d)) && n < LOG_ROTATED_MAX) {
                if (strncmp(de->d_name, w->name, prefix_len) != 0 || de->d_name[prefix_len] != '.' ||
                    de->d_name[prefix_len + 1] == '\0')
                        continue;
                char **nn = realloc(names, (n + 1) * sizeof(*names));
                if (!nn)
                        break;
                names = nn;
                if (!(names[n] = strdup(de->d_name)))
                        break;
                n++;
        }
        closedir(d);
        if (n > 0)
                qsort(names, n, sizeof(*names), name_cmp);
        size_t keep = (size_t) (w->max_files - 1);
        for (size_t i = 0; i < n; i++) {
                if (n - i > keep)
                        (void) unlinkat(w->dir_fd, names[i], 0);
                free(names[i]);
        }
        free(names);
}

static int log_rename_noreplace(int dir_fd, const char *from, const char *to) {
        if (renameat2(dir_fd, from, dir_fd, to, RENAME_NOREPLACE) == 0)
                return 0;
        if (errno != EINVAL && errno != ENOSYS)
                return -errno;
        /* a file system without RENAME_NOREPLACE */
        if (faccessat(dir_fd, to, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
                return -EEXIST;
        return renameat(dir_fd, from, dir_fd, to) < 0 ? -errno : 0;
}

/* The kubelet's rotateLatestLog: rename <n>.log to <n>.log.<YYYYMMDD-HHMMSS> and start a new
 * <n>.log. Differences: the suffix is UTC (the kubelet uses its local zone, which can run
 * backwards across a DST change and break the oldest-first order), a second rotation within
 * the same second gets ".001", ".002", ... (sorting after the first), and older rotated files
 * are not gzipped (the kubelet compresses all but the newest rotated file; we keep them plain
 * so they stay readable by anything that reads CRI logs). On failure the live file is kept
 * and grows, and we retry a second later: the container must never wait for its log. */
static void log_rotate(struct log_writer *w) {
        uint64_t now = now_monotonic();
        if (now < w->retry_after)
                return;

        struct timespec ts;
        struct tm tm;
        char suffix[32];
        clock_gettime(CLOCK_REALTIME, &ts);
        time_t s = ts.tv_sec;
        if (!gmtime_r(&s, &tm) || strftime(suffix, sizeof(suffix), "%Y%m%d-%H%M%S", &tm) == 0)
                snprintf(suffix, sizeof(suffix), "%s", "99991231-235959");

        unsigned i = streq(suffix, w->last_suffix) ? w->last_index + 1 : 0;
        _cleanup_free_ char *rotated = NULL;
        int r = -EEXIST;
        for (; r == -EEXIST && i < 1000; i++) {
                free(rotated);
                rotated = i == 0 ? nl_strdupf("%s.%s", w->name, suffix)
                                 : nl_strdupf("%s.%s.%03u", w->name, suffix, i);
                r = rotated ? log_rename_noreplace(w->dir_fd, w->name, rotated) : -ENOMEM;
        }
        if (r < 0) {
                w->retry_after = now + LOG_RETRY_USEC;
                return;
        }
        snprintf(w->last_suffix, sizeof(w->last_suffix), "%s", suffix);
        w->last_index = i - 1;
        w->rotations++;
        close(w->fd);
        w->fd = -1;
        if (log_open_live(w) < 0) /* dropping until a reopen works beats growing the old file */
                w->retry_after = now + LOG_RETRY_USEC;
        log_remove_excess(w);
}

/* Make room for an entry of len bytes: rotate when it would take the live file over
 * max_size (a file never holds less than one entry), reopen a live file we lost. */
static void log_prepare(struct log_writer *w, size_t len) {
        if (w->fd < 0) {
                uint64_t now = now_monotonic();
                if (now < w->retry_after || log_open_live(w) < 0) {
                        if (now >= w->retry_after)
                                w->retry_after = now + LOG_RETRY_USEC;
                        return;
                }
        }
        if (w->max_size > 0 && w->size > 0 && w->size + len > (uint64_t) w->max_size)
                log_rotate(w);
}

static void log_emit(struct log_writer *w, enum log_stream s, bool partial, const char *msg, size_t len) {
        char header[LOG_TIME_MAX + 16];
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        log_format_time(&ts, header);
        size_t hlen = strlen(header);
        hlen += (size_t) snprintf(header + hlen, sizeof(header) - hlen, " %s %c ",
                                  s == LOG_STREAM_STDERR ? "stderr" : "stdout", partial ? 'P' : 'F');

        size_t total = hlen + len + 1;
        log_prepare(w, total);
        if (w->fd < 0 || w->inject_error) {
                w->dropped += len;
                return;
        }

        struct iovec iov[3] = {
                {.iov_base = header, .iov_len = hlen},
                {.iov_base = (void *) msg, .iov_len = len},
                {.iov_base = (void *) "\n", .iov_len = 1},
        };
        struct iovec *v = iov;
        int nv = 3;
        size_t done = 0;
        while (done < total) {
                ssize_t k = writev(w->fd, v, nv);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0) {
                        /* ENOSPC, EIO, EDQUOT...: drop the entry; cut a torn one off so the
                         * file stays one entry per line. */
                        if (done > 0 && ftruncate(w->fd, (off_t) w->size) < 0)
                                w->dropped += 0; /* nothing more to do: the entry is dropped either way */
                        w->dropped += len;
                        return;
                }
                done += (size_t) k;
                while (nv > 0 && (size_t) k >= v->iov_len) {
                        k -= (ssize_t) v->iov_len;
                        v++;
                        nv--;
                }
                if (nv > 0) {
                        v->iov_base = (char *) v->iov_base + k;
                        v->iov_len -= (size_t) k;
                }
        }
        w->size += total;
}

static void stream_append(struct log_writer *w, enum log_stream s, const char *d, size_t n) {
        struct log_stream_buf *b = &w->streams[s];
        while (n > 0) {
                /* containerd writes a "P" entry of exactly LOG_LINE_MAX bytes once a line has
                 * more than that (so a line of exactly LOG_LINE_MAX is one "F" entry) */
                if (b->len == LOG_LINE_MAX) {
                        log_emit(w, s, true, b->line, b->len);
                        b->len = 0;
                }
                size_t k = LOG_LINE_MAX - b->len < n ? LOG_LINE_MAX - b->len : n;
                memcpy(b->line + b->len, d, k);
                b->len += k;
                d += k;
                n -= k;
        }
}

/* Lines end at "\n" or "\r\n" (containerd reads with bufio.ReadLine semantics); neither is
 * part of the message. */
void log_writer_feed(struct log_writer *w, enum log_stream s, const void *buf, size_t n) {
        if (!w || s < 0 || s >= _LOG_STREAM_MAX)
                return;
        struct log_stream_buf *b = &w->streams[s];
        const char *p = buf;
        while (n > 0) {
                if (b->cr) {
                        b->cr = false;
                        if (*p == '\n') {
                                log_emit(w, s, false, b->line, b->len);
                                b->len = 0;
                                p++;
                                n--;
                                continue;
                        }
                        stream_append(w, s, "\r", 1);
                }
                size_t run = 0;
                while (run < n && p[run] != '\n' && p[run] != '\r')
                        run++;
                stream_append(w, s, p, run);
                p += run;
                n -= run;
                if (n == 0)
                        break;
                if (*p == '\n') {
                        log_emit(w, s, false, b->line, b->len);
                        b->len = 0;
                } else
                        b->cr = true;
                p++;
                n--;
        }
}

void log_writer_eof(struct log_writer *w, enum log_stream s) {
        if (!w || s < 0 || s >= _LOG_STREAM_MAX)
                return;
        struct log_stream_buf *b = &w->streams[s];
        if (b->cr) {
                b->cr = false;
                stream_append(w, s, "\r", 1);
        }
        if (b->len > 0) {
                log_emit(w, s, true, b->line, b->len);
                b->len = 0;
        }
}

uint64_t log_writer_dropped_bytes(const struct log_writer *w) {
        return w ? w->dropped : 0;
}

unsigned log_writer_rotations(const struct log_writer *w) {
        return w ? w->rotations : 0;
}

void log_writer_inject_error(struct log_writer *w, int error) {
        if (w)
                w->inject_error = error;
}
