/* SPDX-License-Identifier: Apache-2.0 */
/* Tars built in memory with libarchive, for the tests of the image store, layer unpacking and
 * import, and for the hostile archives of tests/hardening/mkimage.c. */
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Bytes being built; free(data) when done. */
struct membuf {
        char *data;
        size_t len, cap;
};

/* Append (aborts when out of memory: a test cannot go on). */
void membuf_put(struct membuf *m, const void *p, size_t n);
/* libarchive's write callback into a struct membuf (userdata). */
la_ssize_t membuf_archive_write(struct archive *a, void *userdata, const void *buf, size_t n);
/* in compressed by libarchive's raw writer with filter "gzip" or "zstd", a bare stream. */
void membuf_compress(const void *in, size_t len, const char *filter, struct membuf *ret);

/* A pax tar being written. */
struct tb {
        struct archive *a;
        struct membuf out;
        bool failed; /* an entry could not be written (said on stderr) */
};

/* Blocked as tar writes by default (10240-byte records), or unblocked: out then holds exactly
 * what was written so far. */
void tb_init(struct tb *t);
void tb_init_unblocked(struct tb *t);
/* A new entry (mtime 1600000000), to be given to tb_put. */
struct archive_entry *tb_entry(const char *path, mode_t type, mode_t perm, int64_t uid, int64_t gid);
/* Write the entry (taken) with its data. */
void tb_put(struct tb *t, struct archive_entry *e, const void *data, size_t len);
void tb_file(struct tb *t, const char *path, const void *data, size_t len, mode_t perm);
void tb_dir(struct tb *t, const char *path, mode_t perm);
void tb_symlink(struct tb *t, const char *path, const char *target);
void tb_hardlink(struct tb *t, const char *path, const char *target);
void tb_dev(struct tb *t, const char *path, mode_t type, unsigned major, unsigned minor);
/* Close the tar, hand its bytes to ret; -EIO when an entry failed. */
int tb_finish(struct tb *t, struct membuf *ret);

/* A tar with one regular file per name (mode 0644), its content the name. */
void tar_of_names(const char *const *names, size_t n, struct membuf *ret);
