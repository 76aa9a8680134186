/* SPDX-License-Identifier: Apache-2.0 */
/* Container logs in the CRI format (what the kubelet reads and `kubectl logs` shows):
 *   2016-10-06T00:17:09.669794202Z stdout P log content 1
 *   2016-10-06T00:17:09.669794203Z stderr F log content 2
 * The writer half runs in nodelet-shim; it is linked there without the rest of libcri, so
 * this file uses nothing beyond libc and common/. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>

#include "cri.h"
#include "common/fs.h"
#include "log-writer.h"
#include "podspec/podspec.h"

/* ==== paths ================================================================================ */

static bool log_path_component_ok(const char *s) {
        return !isempty(s) && !strchr(s, '/') && !streq(s, ".") && !streq(s, "..");
}

/* As the kubelet's BuildContainerLogsDirectory + buildContainerLogsPath. */
char *cri_log_path(const struct cri_config *cfg, const struct pod *pod, const char *container,
                   unsigned restart) {
        if (!cfg || isempty(cfg->log_dir) || !pod)
                return NULL;
        const struct pod_object_meta *m = &pod->metadata;
        if (!log_path_component_ok(m->namespace) || !log_path_component_ok(m->name) ||
            !log_path_component_ok(m->uid) || !log_path_component_ok(container))
                return NULL;
        return nl_strdupf("%s/%s_%s_%s/%s/%u.log", cfg->log_dir, m->namespace, m->name, m->uid, container,
                          restart);
}

/* The pod's log directory goes with the pod, as the kubelet's container GC removes the log
 * directories of pods that are gone (evictPodLogsDirectories). */
int cri_pod_logs_remove(const struct cri_config *cfg, const struct pod *pod) {
        if (!cfg || isempty(cfg->log_dir) || !pod)
                return -EINVAL;
        const struct pod_object_meta *m = &pod->metadata;
        if (!log_path_component_ok(m->namespace) || !log_path_component_ok(m->name) ||
            !log_path_component_ok(m->uid))
                return -EINVAL;
        _cleanup_free_ char *dir = nl_strdupf("%s/%s_%s_%s", cfg->log_dir, m->namespace, m->name, m->uid);
        if (!dir)
                return -ENOMEM;
        int r = nl_rm_rf(dir);
        return r == -ENOENT ? 0 : r;
}

/* ==== parsing ============================================================================== */

static bool is_digits(const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (s[i] < '0' || s[i] > '9')
                        return false;
        return true;
}

static unsigned digits_value(const char *s, size_t n) {
        unsigned v = 0;
        for (size_t i = 0; i < n; i++)
                v = v * 10 + (unsigned) (s[i] - '0');
        return v;
}

static unsigned days_in_month(unsigned year, unsigned month) {
        static const unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        if (month == 2 && (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)))
                return 29;
        return days[month - 1];
}

/* What Go's time.Parse accepts for the kubelet's RFC3339NanoLenient layout
 * ("2006-01-02T15:04:05.999999999Z07:00"): any number of fractional digits, "Z" or a
 * numeric offset, fields in range (the day checked against the month). */
static bool rfc3339_valid(const char *s, size_t n) {
        if (n < 20 || !is_digits(s, 4) || s[4] != '-' || !is_digits(s + 5, 2) || s[7] != '-' ||
            !is_digits(s + 8, 2) || s[10] != 'T' || !is_digits(s + 11, 2) || s[13] != ':' ||
            !is_digits(s + 14, 2) || s[16] != ':' || !is_digits(s + 17, 2))
                return false;
        unsigned year = digits_value(s, 4), month = digits_value(s + 5, 2), day = digits_value(s + 8, 2);
        if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) ||
            digits_value(s + 11, 2) > 23 || digits_value(s + 14, 2) > 59 || digits_value(s + 17, 2) > 59)
                return false;
        size_t i = 19;
        if (s[i] == '.' || s[i] == ',') {
                size_t j = i + 1;
                while (j < n && s[j] >= '0' && s[j] <= '9')
                        j++;
                if (j == i + 1)
                        return false;
                i = j;
        }
        if (i < n && s[i] == 'Z')
                return i + 1 == n;
        if (i + 6 != n || (s[i] != '+' && s[i] != '-') || !is_digits(s + i + 1, 2) || s[i + 3] != ':' ||
            !is_digits(s + i + 4, 2))
                return false;
        return digits_value(s + i + 1, 2) <= 23 && digits_value(s + i + 4, 2) <= 59;
}

struct log_fields {
        size_t time_len;
        bool stderr_, partial;
        size_t msg_off; /* the message runs from here to the end of the line */
};

/* The kubelet's parseCRILog, on a line that may end with its '\n'. */
static int log_parse_fields(const char *line, size_t len, struct log_fields *ret) {
        const char *sp = memchr(line, ' ', len);
        if (!sp || !rfc3339_valid(line, (size_t) (sp - line)))
                return -EINVAL;
        size_t time_len = (size_t) (sp - line);

        const char *stream = sp + 1, *end = line + len;
        sp = memchr(stream, ' ', (size_t) (end - stream));
        if (!sp)
                return -EINVAL;
        bool is_stderr;
        if ((size_t) (sp - stream) == 6 && memcmp(stream, "stdout", 6) == 0)
                is_stderr = false;
        else if ((size_t) (sp - stream) == 6 && memcmp(stream, "stderr", 6) == 0)
                is_stderr = true;
        else
                return -EINVAL;

        /* Tags are ':'-separated, for forward compatibility; only the first one matters and
         * anything but "P" is a full line. */
        const char *tag = sp + 1;
        sp = memchr(tag, ' ', (size_t) (end - tag));
        if (!sp)
                return -EINVAL;
        const char *colon = memchr(tag, ':', (size_t) (sp - tag));
        size_t first_len = (size_t) ((colon ? colon : sp) - tag);

        *ret = (struct log_fields){
                .time_len = time_len,
                .stderr_ = is_stderr,
                .partial = first_len == 1 && tag[0] == 'P',
                .msg_off = (size_t) (sp + 1 - line),
        };
        return 0;
}

int cri_log_parse_line(const char *line, size_t len, struct log_line *ret) {
        struct log_fields f;
        if (!line || !ret)
                return -EINVAL;
        int r = log_parse_fields(line, len, &f);
        if (r < 0)
                return r;
        size_t msg_len = len - f.msg_off;
        if (msg_len > 0 && line[len - 1] == '\n')
                msg_len--;
        char *time = strndup(line, f.time_len);
        char *msg = malloc(msg_len + 1);
        if (!time || !msg) {
                free(time);
                free(msg);
                return -ENOMEM;
        }
        memcpy(msg, line + f.msg_off, msg_len);
        msg[msg_len] = '\0';
        *ret = (struct log_line){.time = time, .stderr_ = f.stderr_, .partial = f.partial, .msg = msg};
        return 0;
}

void log_line_done(struct log_line *l) {
        if (!l)
                return;
        free(l->time);
        free(l->msg);
        l->time = l->msg = NULL;
}

/* ==== the tail, for FallbackToLogsOnError ================================================== */
/* The kubelet (kuberuntime_container.go readLastStringFromContainerLogs) calls ReadLogs with
 * TailLines = MaxContainerTerminationMessageLogLines (80) into a circular buffer of
 * MaxContainerTerminationMessageLogLength (2048) bytes, so the message is the last 2048 bytes
 * of what the last 80 lines print. Its details, kept here:
 *  - the tail starts where pkg/util/tail.FindTailLineStartIndex says: counting '\n' backwards
 *    in 1 KiB blocks, so an unterminated last line is not counted;
 *  - it then reads lines until 80 of them parsed; a malformed line is skipped without being
 *    counted, except that a malformed first line is an error (getParseFunc);
 *  - an "F" entry prints its message with its newline, a "P" entry without;
 *  - both streams go to the same buffer; only the live file is read, not rotated ones.
 * Two deviations: the kubelet resolves symlinks at the path, we refuse one (O_NOFOLLOW: the
 * log directory is not trusted to be ours alone), and we read at most LOG_TAIL_REGION_MAX
 * bytes from the end (80 lines of our writer take at most 80 * (16 KiB + 41 B)). */

#define LOG_TAIL_BLOCK 1024
#define LOG_TAIL_REGION_MAX (4u * 1024u * 1024u)

static int log_tail_start(int fd, off_t size, size_t n, off_t *ret) {
        char buf[LOG_TAIL_BLOCK];
        size_t cnt = 0, len = 0;
        off_t left = 0;

        for (off_t right = size; right > 0 && cnt <= n; right -= LOG_TAIL_BLOCK) {
                left = right - LOG_TAIL_BLOCK;
                len = LOG_TAIL_BLOCK;
                if (left < 0) {
                        left = 0;
                        len = (size_t) right;
                }
                ssize_t k = pread(fd, buf, len, left);
                if (k < 0)
                        return -errno;
                if ((size_t) k != len)
                        return -EIO; /* the file shrank under us */
                for (size_t i = 0; i < len; i++)
                        cnt += buf[i] == '\n';
        }
        size_t off = 0;
        for (; cnt > n; cnt--) {
                const char *nl = memchr(buf + off, '\n', len - off);
                if (!nl)
                        return -EIO;
                size_t idx = (size_t) (nl - (buf + off)) + 1;
                off += idx;
                left += (off_t) idx;
        }
        *ret = left;
        return 0;
}

struct ring {
        char *data;
        size_t size, pos, filled;
};

static void ring_write(struct ring *r, const char *d, size_t n) {
        if (r->size == 0)
                return;
        if (n >= r->size) {
                memcpy(r->data, d + n - r->size, r->size);
                r->pos = 0;
                r->filled = r->size;
                return;
        }
        size_t first = r->size - r->pos < n ? r->size - r->pos : n;
        memcpy(r->data + r->pos, d, first);
        memcpy(r->data, d + first, n - first);
        r->pos = (r->pos + n) % r->size;
        r->filled = r->filled + n > r->size ? r->size : r->filled + n;
}

static char *ring_string(const struct ring *r) {
        char *s = malloc(r->filled + 1);
        if (!s)
                return NULL;
        if (r->filled < r->size)
                memcpy(s, r->data, r->filled);
        else {
                memcpy(s, r->data + r->pos, r->size - r->pos);
                memcpy(s + r->size - r->pos, r->data, r->pos);
        }
        s[r->filled] = '\0';
        return s;
}

int cri_log_tail(const char *path, size_t max_lines, size_t max_bytes, char **ret) {
        struct stat st;
        off_t start = 0;
        int r;

        if (!path || !ret)
                return -EINVAL;
        /* O_NONBLOCK: a FIFO planted at the path must not hang us before fstat refuses it. */
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EINVAL;
        r = log_tail_start(fd, st.st_size, max_lines, &start);
        if (r < 0)
                return r;

        bool cut = false;
        if (st.st_size - start > (off_t) LOG_TAIL_REGION_MAX) {
                start = st.st_size - (off_t) LOG_TAIL_REGION_MAX;
                cut = true;
        }
        size_t len = (size_t) (st.st_size - start);
        _cleanup_free_ char *region = malloc(len + 1);
        _cleanup_free_ char *ring_data = malloc(max_bytes + 1);
        if (!region || !ring_data)
                return -ENOMEM;
        size_t got = 0;
        while (got < len) {
                ssize_t k = pread(fd, region + got, len - got, start + (off_t) got);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        break;
                got += (size_t) k;
        }
        len = got;

        struct ring ring = {.data = ring_data, .size = max_bytes};
        const char *p = region, *end = region + len;
        if (cut) { /* skip the line we started in the middle of */
                const char *nl = memchr(p, '\n', len);
                p = nl ? nl + 1 : end;
        }
        bool first = true;
        for (size_t remaining = max_lines; remaining > 0 && p < end;) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                size_t line_len = nl ? (size_t) (nl - p) + 1 : (size_t) (end - p);
                struct log_fields f;

                if (log_parse_fields(p, line_len, &f) < 0) {
                        if (first)
                                return -EBADMSG;
                        p += line_len;
                        continue;
                }
                first = false;
                size_t msg_len = line_len - f.msg_off;
                if (f.partial && nl)
                        msg_len--;
                ring_write(&ring, p + f.msg_off, msg_len);
                remaining--;
                p += line_len;
        }

        char *s = ring_string(&ring);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

/* ==== the writer =========================================================================== */

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

static uint64_t now_mono_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

void log_format_time(const struct timespec *ts, char buf[LOG_TIME_MAX]) {
        struct tm tm;
        time_t s = ts->tv_sec;
        size_t n = gmtime_r(&s, &tm) ? strftime(buf, LOG_TIME_MAX, "%Y-%m-%dT%H:%M:%S", &tm) : 0;
        if (n != 19) /* beyond year 9999 */
                n = (size_t) snprintf(buf, LOG_TIME_MAX, "%s", "9999-12-31T23:59:59");
        snprintf(buf + n, LOG_TIME_MAX - n, ".%09luZ", (unsigned long) ts->tv_nsec % 1000000000UL);
}

static int log_open_live(struct log_writer *w) {
        /* 0640 as containerd creates them; O_NOFOLLOW: never write through a planted link. */
        int fd = openat(w->dir_fd, w->name,
                        O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0640);
        struct stat st;
        if (fd < 0)
                return -errno;
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
        w->dir_fd = open(slash ? (*dir ? dir : "/") : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (w->dir_fd < 0) {
                r = -errno;
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
        int fd = openat(w->dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return;
        DIR *d = fdopendir(fd);
        if (!d) {
                close(fd);
                return;
        }
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
        uint64_t now = now_mono_usec();
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
                uint64_t now = now_mono_usec();
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
                        if (done > 0)
                                (void) ftruncate(w->fd, (off_t) w->size);
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
