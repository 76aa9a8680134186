/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tar.h"

void membuf_put(struct membuf *m, const void *p, size_t n) {
        if (m->len + n > m->cap) {
                size_t cap = (m->len + n) * 2;
                char *d = realloc(m->data, cap);
                if (!d)
                        abort();
                m->data = d;
                m->cap = cap;
        }
        memcpy(m->data + m->len, p, n);
        m->len += n;
}

la_ssize_t membuf_archive_write(struct archive *a, void *userdata, const void *buf, size_t n) {
        membuf_put(userdata, buf, n);
        return (la_ssize_t) n;
}

void membuf_compress(const void *in, size_t len, const char *filter, struct membuf *ret) {
        struct archive *a = archive_write_new();
        struct archive_entry *e = archive_entry_new();
        *ret = (struct membuf){};
        archive_write_set_format_raw(a);
        archive_write_add_filter_by_name(a, filter);
        archive_write_set_bytes_in_last_block(a, 1); /* no zero padding after the stream */
        archive_write_open(a, ret, NULL, membuf_archive_write, NULL);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_size(e, (la_int64_t) len);
        archive_write_header(a, e);
        archive_write_data(a, in, len);
        archive_entry_free(e);
        archive_write_close(a);
        archive_write_free(a);
}

static void init(struct tb *t, bool blocked) {
        *t = (struct tb){ .a = archive_write_new() };
        archive_write_set_format_pax_restricted(t->a);
        if (!blocked)
                archive_write_set_bytes_per_block(t->a, 0);
        archive_write_open(t->a, &t->out, NULL, membuf_archive_write, NULL);
}

void tb_init(struct tb *t) {
        init(t, true);
}

void tb_init_unblocked(struct tb *t) {
        init(t, false);
}

struct archive_entry *tb_entry(const char *path, mode_t type, mode_t perm, int64_t uid, int64_t gid) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, path);
        archive_entry_set_filetype(e, type);
        archive_entry_set_perm(e, perm);
        archive_entry_set_uid(e, uid);
        archive_entry_set_gid(e, gid);
        archive_entry_set_mtime(e, 1600000000, 0);
        return e;
}

void tb_put(struct tb *t, struct archive_entry *e, const void *data, size_t len) {
        archive_entry_set_size(e, (la_int64_t) len);
        if (archive_write_header(t->a, e) != ARCHIVE_OK) {
                fprintf(stderr, "tar header \"%s\": %s\n", archive_entry_pathname(e), archive_error_string(t->a));
                t->failed = true;
        } else if (len)
                archive_write_data(t->a, data, len);
        archive_entry_free(e);
}

void tb_file(struct tb *t, const char *path, const void *data, size_t len, mode_t perm) {
        tb_put(t, tb_entry(path, AE_IFREG, perm, 0, 0), data, len);
}

void tb_dir(struct tb *t, const char *path, mode_t perm) {
        tb_put(t, tb_entry(path, AE_IFDIR, perm, 0, 0), NULL, 0);
}

void tb_symlink(struct tb *t, const char *path, const char *target) {
        struct archive_entry *e = tb_entry(path, AE_IFLNK, 0777, 0, 0);
        archive_entry_set_symlink(e, target);
        tb_put(t, e, NULL, 0);
}

void tb_hardlink(struct tb *t, const char *path, const char *target) {
        struct archive_entry *e = tb_entry(path, AE_IFREG, 0644, 0, 0);
        archive_entry_set_hardlink(e, target);
        tb_put(t, e, NULL, 0);
}

void tb_dev(struct tb *t, const char *path, mode_t type, unsigned major, unsigned minor) {
        struct archive_entry *e = tb_entry(path, type, 0666, 0, 0);
        archive_entry_set_rdevmajor(e, major);
        archive_entry_set_rdevminor(e, minor);
        tb_put(t, e, NULL, 0);
}

int tb_finish(struct tb *t, struct membuf *ret) {
        archive_write_close(t->a);
        archive_write_free(t->a);
        *ret = t->out;
        return t->failed ? -EIO : 0;
}

void tar_of_names(const char *const *names, size_t n, struct membuf *ret) {
        struct tb t;
        tb_init(&t);
        for (size_t i = 0; i < n; i++)
                tb_file(&t, names[i], names[i], strlen(names[i]), 0644);
        (void) tb_finish(&t, ret);
}
