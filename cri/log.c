/* SPDX-License-Identifier: Apache-2.0 */
/* Container logs in the CRI format (what the kubelet reads and `kubectl logs` shows):
 *   2016-10-06T00:17:09.669794202Z stdout P log content 1
 *   2016-10-06T00:17:09.669794203Z stderr F log content 2
 * Paths, the line parser and the tail; the writer is cri/log-writer.c. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>

#include "cri.h"
#include "common/fs.h"
#include "log-writer.h"
#include "cri/layout.h"
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
        return layout_container_log(cfg->log_dir, m->namespace, m->name, m->uid, container, restart);
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
        _cleanup_free_ char *dir = layout_pod_log_dir(cfg->log_dir, m->namespace, m->name, m->uid);
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
