/* SPDX-License-Identifier: Apache-2.0 */
/* CRI log files: the line parser on arbitrary bytes; the tail reader (FallbackToLogsOnError,
 * bounded by its byte cap) on the input as a log file; and the writer round trip: the input
 * fed as a container's stdout comes back, entry by entry, as the same bytes. Files live in a
 * private temp dir, removed after each input. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/util.h"
#include "cri/cri.h"
#include "cri/log-writer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *dir;

static int write_file(const char *path, const void *data, size_t size) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
                return -1;
        ssize_t n = size ? write(fd, data, size) : 0;
        close(fd);
        return n == (ssize_t) size ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (!dir) {
                char tmpl[] = "/tmp/fuzz-cri-log-XXXXXX";
                if (!mkdtemp(tmpl))
                        return 0;
                dir = strdup(tmpl);
        }

        /* every line of the input through the parser */
        const char *p = (const char *) data, *end = p + size;
        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                size_t len = nl ? (size_t) (nl - p) : (size_t) (end - p);
                struct log_line l = {};
                if (cri_log_parse_line(p, len, &l) == 0) {
                        if (!l.time || !l.msg)
                                abort();
                        log_line_done(&l);
                }
                p += len + 1;
        }

        /* the tail reader on the input as a log file: never more than it was asked for */
        char *path = NULL;
        if (asprintf(&path, "%s/0.log", dir) < 0)
                return 0;
        if (write_file(path, data, size) == 0) {
                char *tail = NULL;
                if (cri_log_tail(path, 80, 2048, &tail) == 0 && tail && strlen(tail) > 2048)
                        abort();
                free(tail);
        }
        unlink(path);

        /* the writer: stdout bytes in, CRI entries out; the messages joined ("F" adds the
         * newline back) are the input up to its last newline */
        struct log_writer *w = NULL;
        if (log_writer_open(path, 0, 5, &w) == 0) {
                log_writer_feed(w, LOG_STREAM_STDOUT, data, size);
                log_writer_eof(w, LOG_STREAM_STDOUT);
                log_writer_free(w);
                char *buf = NULL;
                size_t got = 0;
                if (nl_read_file(path, 64u * 1024u * 1024u, false, &buf, &got) < 0)
                        buf = NULL;
                char *joined = malloc(size + 2);
                size_t jn = 0;
                const char *q = buf, *qe = buf ? buf + got : NULL;
                while (buf && joined && q < qe) {
                        const char *nl = memchr(q, '\n', (size_t) (qe - q));
                        if (!nl)
                                abort(); /* the writer ends every entry with a newline */
                        struct log_line l = {};
                        if (cri_log_parse_line(q, (size_t) (nl - q), &l) < 0)
                                abort(); /* and writes only lines its parser reads */
                        size_t ml = strlen(l.msg);
                        if (jn + ml + 1 > size + 1)
                                abort();
                        memcpy(joined + jn, l.msg, ml);
                        jn += ml;
                        if (!l.partial)
                                joined[jn++] = '\n';
                        log_line_done(&l);
                        q = nl + 1;
                }
                /* what must come back: the input with "\r\n" read as "\n" (bufio.ReadLine, as
                 * containerd reads a container's output) */
                char *want = malloc(size + 1);
                size_t wn = 0;
                for (size_t i = 0; want && i < size; i++)
                        if (!(data[i] == '\r' && i + 1 < size && data[i + 1] == '\n'))
                                want[wn++] = (char) data[i];
                /* NUL bytes end a C string message early: compare only NUL-free inputs */
                if (buf && joined && want && !memchr(data, '\0', size)) {
                        size = wn;
                        data = (const uint8_t *) want;
                        /* an unterminated last line may come out as an "F" entry */
                        if (jn == size + 1) {
                                if (joined[jn - 1] != '\n' || memcmp(joined, data, size) != 0)
                                        abort();
                        } else if (jn != size || memcmp(joined, data, size) != 0)
                                abort();
                }
                free(want);
                free(joined);
                free(buf);
        }
        unlink(path);
        free(path);
        return 0;
}
