/* SPDX-License-Identifier: Apache-2.0 */
/* The CRI log writer the shim uses (cri/log-writer.c): container output in, CRI log lines out,
 *   "<RFC3339Nano UTC, 9 digits> <stdout|stderr> <F|P> <msg>\n"
 * with containerd's line splitting and the kubelet's rotation. Internal to cri/ and the shim;
 * readers use cri.h (cri_log_parse_line, cri_log_tail). */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* containerd's max_container_log_line_size: a longer line is written as 16 KiB "P" entries
 * and a final "F" entry. */
#define LOG_LINE_MAX (16 * 1024)
/* "2006-01-02T15:04:05.000000000Z" and its NUL */
#define LOG_TIME_MAX 31

enum log_stream {
        LOG_STREAM_STDOUT,
        LOG_STREAM_STDERR,
        _LOG_STREAM_MAX,
        _LOG_STREAM_INVALID = -EINVAL,
};

struct log_writer;

/* Open (create, append) the log at path, refusing a symlink there. max_size <= 0 turns
 * rotation off; max_files is how many files (the live one and rotated ones) may exist. */
int log_writer_open(const char *path, int64_t max_size, int max_files, struct log_writer **ret);
void log_writer_free(struct log_writer *w);

/* Hand over bytes read from a stream. Complete lines are written at once; the rest waits
 * for its newline (or for LOG_LINE_MAX bytes). Never fails: what cannot be written is
 * dropped and counted, so the container is never blocked by its log. */
void log_writer_feed(struct log_writer *w, enum log_stream s, const void *buf, size_t n);
/* The stream ended: write what is pending as a "P" entry (as containerd does for output
 * that did not end with a newline). */
void log_writer_eof(struct log_writer *w, enum log_stream s);

uint64_t log_writer_dropped_bytes(const struct log_writer *w);
unsigned log_writer_rotations(const struct log_writer *w);

/* For tests: every write fails with -error (as on a full disk) until called with 0. */
void log_writer_inject_error(struct log_writer *w, int error);

/* ts as "2006-01-02T15:04:05.000000000Z" (UTC, always 9 fractional digits). */
void log_format_time(const struct timespec *ts, char buf[LOG_TIME_MAX]);
