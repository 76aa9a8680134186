/* SPDX-License-Identifier: Apache-2.0 */
/* Layer unpacking: what a layer holds comes out as it was (files, dirs, symlinks, hardlinks,
 * owners, modes, times, xattrs, devices), whiteouts in overlayfs form, gzip and zstd, and
 * every hostile layer refused with a message naming the entry: '..', absolute paths, writes
 * through a symlink (direct or chained), hardlinks out of the layer, compression bombs,
 * too many entries, diff_id mismatch, truncated streams. Tests run as root; the caps are
 * lowered through image_store_set_unpack_limits() (store-internal.h) to keep them fast. */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <dirent.h>

#include "cri/cri.h"
#include "common/fs.h"
#include "cri/image/store-internal.h"
#include "tests/lib/store.h"
#include "tests/lib/tar.h"
#include "test.h"

/* ==== building tars ======================================================================= */

/* A regular file with text content and an owner. */
static void tb_text(struct tb *t, const char *path, const char *content, mode_t perm, int64_t uid, int64_t gid) {
        tb_put(t, tb_entry(path, AE_IFREG, perm, uid, gid), content, strlen(content));
}

/* ==== fixture ============================================================================= */

struct fx {
        struct store_fx st;
        char layer[DIGEST_STRING_MAX];
};

static void fx_open(struct fx *f) {
        memset(f->layer, 0, sizeof(f->layer));
        if (store_fx_open(&f->st, "unpack") < 0)
                TEST_FAIL("store fixture: %s", strempty(f->st.err.msg));
}

static void fx_close(struct fx *f) {
        store_fx_close(&f->st);
}

/* Store `blob` (the tar as compressed, or the tar itself) and unpack it as a one-layer chain
 * whose diff_id is the sha256 of `tar`. */
static int fx_unpack(struct fx *f, const struct membuf *tar, const struct membuf *blob, const char *media) {
        char diff_id[DIGEST_STRING_MAX];

        digest_buffer(tar->data, tar->len, diff_id);
        nl_error_clear(&f->st.err);
        if (image_store_put_blob(f->st.s, blob->data, blob->len, NULL, f->layer, &f->st.err) < 0)
                return -EIO;
        return image_store_unpack_layer(f->st.s, f->layer, media, diff_id, diff_id, &f->st.err);
}

static char *fx_path(struct fx *f, const struct membuf *tar, const char *rel) {
        char diff_id[DIGEST_STRING_MAX];
        char *root, *p;

        digest_buffer(tar->data, tar->len, diff_id);
        root = image_store_layer_path(f->st.s, diff_id);
        p = nl_strdupf("%s/%s", root, rel);
        free(root);
        return p;
}

static bool fx_has_layer(struct fx *f, const struct membuf *tar) {
        char diff_id[DIGEST_STRING_MAX];
        digest_buffer(tar->data, tar->len, diff_id);
        return image_store_has_layer(f->st.s, diff_id);
}

/* Nothing of a refused layer stays: no layer, and the temp area holds only its lock. */
static void check_nothing_left(struct fx *f, const struct membuf *tar) {
        int n = 0;
        struct dirent *de;
        DIR *d = opendir(f->st.s->tmp_dir);

        CHECK(!fx_has_layer(f, tar));
        CHECK(d);
        while (d && (de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, "..") && !streq(de->d_name, ".lock"))
                        n++;
        if (d)
                closedir(d);
        CHECK_INT_EQ(n, 0);
}

#define CHECK_REFUSED(f, tar, r, needle)                                                                    \
        do {                                                                                                \
                CHECK((r) < 0);                                                                             \
                if (!(f)->st.err.msg || !strstr((f)->st.err.msg, (needle)) ||                               \
                    !strstr((f)->st.err.msg, (f)->layer))                                                   \
                        TEST_FAIL("message \"%s\" should name \"%s\" and the layer",                        \
                                  strempty((f)->st.err.msg), (needle));                                     \
                check_nothing_left((f), (tar));                                                             \
        } while (0)

/* ==== what a layer holds ================================================================== */

static void build_rich(struct membuf *tar) {
        struct tb t;
        struct archive_entry *e;
        /* security.capability v2: cap_net_bind_service permitted */
        static const uint32_t cap[5] = {0x02000001, 1u << 10, 0, 0, 0};

        tb_init(&t);
        tb_dir(&t, "./", 0755);
        tb_dir(&t, "./etc/", 0750);
        tb_text(&t, "./etc/passwd", "root:x:0:0::/root:/bin/sh\n", 0644, 0, 0);
        tb_text(&t, "usr/bin/tool", "#!/bin/sh\n", 04755, 1000, 1001);
        tb_symlink(&t, "usr/bin/link", "/usr/bin/tool");
        tb_symlink(&t, "usr/rel", "../etc/passwd");
        tb_hardlink(&t, "usr/bin/tool2", "usr/bin/tool");
        e = tb_entry("bin/ping", AE_IFREG, 0755, 0, 0);
        archive_entry_xattr_add_entry(e, "security.capability", cap, sizeof(cap));
        archive_entry_xattr_add_entry(e, "user.note", "hi", 2);
        archive_entry_xattr_add_entry(e, "trusted.overlay.redirect", "/etc", 4); /* never kept */
        tb_put(&t, e, "ELF", 3);
        e = tb_entry("dev/null", AE_IFCHR, 0666, 0, 0);
        archive_entry_set_rdevmajor(e, 1);
        archive_entry_set_rdevminor(e, 3);
        tb_put(&t, e, NULL, 0);
        tb_put(&t, tb_entry("run/fifo", AE_IFIFO, 0600, 0, 0), NULL, 0);
        /* whiteouts: a file, and an opaque directory */
        tb_text(&t, "var/.wh.gone", "", 0644, 0, 0);
        tb_dir(&t, "opaque", 0755);
        tb_text(&t, "opaque/.wh..wh..opq", "", 0644, 0, 0);
        tb_text(&t, "opaque/kept", "k", 0644, 0, 0);
        /* a later entry replaces an earlier one */
        tb_text(&t, "etc/motd", "old", 0644, 0, 0);
        tb_text(&t, "etc/motd", "new", 0600, 0, 0);
        CHECK(tb_finish(&t, tar) == 0);
}

static void check_rich(struct fx *f, const struct membuf *tar) {
        struct stat st, st2;
        char *p, buf[256];
        ssize_t n;

        p = fx_path(f, tar, "etc/passwd");
        CHECK(lstat(p, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0644);
        CHECK(st.st_mtime == 1600000000);
        free(p);
        p = fx_path(f, tar, "etc");
        CHECK(lstat(p, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0750);
        CHECK(st.st_mtime == 1600000000); /* set after its children were created */
        free(p);
        p = fx_path(f, tar, "usr/bin/tool");
        CHECK(lstat(p, &st) == 0 && (st.st_mode & 07777) == 04755 && st.st_uid == 1000 && st.st_gid == 1001);
        CHECK(st.st_nlink == 2);
        free(p);
        p = fx_path(f, tar, "usr/bin/tool2");
        CHECK(lstat(p, &st2) == 0 && st2.st_ino == st.st_ino);
        free(p);
        p = fx_path(f, tar, "usr/bin/link");
        n = readlink(p, buf, sizeof(buf) - 1);
        CHECK(n > 0);
        buf[n > 0 ? n : 0] = '\0';
        CHECK_STR_EQ(buf, "/usr/bin/tool");
        free(p);
        p = fx_path(f, tar, "usr/rel");
        n = readlink(p, buf, sizeof(buf) - 1);
        buf[n > 0 ? n : 0] = '\0';
        CHECK_STR_EQ(buf, "../etc/passwd");
        free(p);
        p = fx_path(f, tar, "bin/ping");
        CHECK(lgetxattr(p, "security.capability", buf, sizeof(buf)) > 0);
        CHECK(lgetxattr(p, "user.note", buf, sizeof(buf)) == 2 && memcmp(buf, "hi", 2) == 0);
        CHECK(lgetxattr(p, "trusted.overlay.redirect", buf, sizeof(buf)) < 0);
        free(p);
        p = fx_path(f, tar, "dev/null");
        CHECK(lstat(p, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3));
        free(p);
        p = fx_path(f, tar, "run/fifo");
        CHECK(lstat(p, &st) == 0 && S_ISFIFO(st.st_mode) && (st.st_mode & 0777) == 0600);
        free(p);
        p = fx_path(f, tar, "var/gone");
        CHECK(lstat(p, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == 0);
        free(p);
        p = fx_path(f, tar, "var/.wh.gone");
        CHECK(lstat(p, &st) < 0);
        free(p);
        p = fx_path(f, tar, "opaque");
        CHECK(lgetxattr(p, "trusted.overlay.opaque", buf, sizeof(buf)) == 1 && buf[0] == 'y');
        free(p);
        p = fx_path(f, tar, "opaque/.wh..wh..opq");
        CHECK(lstat(p, &st) < 0);
        free(p);
        p = fx_path(f, tar, "etc/motd");
        CHECK(lstat(p, &st) == 0 && st.st_size == 3 && (st.st_mode & 0777) == 0600);
        free(p);
}

TEST(unpack_plain_tar) {
        struct fx f;
        struct membuf tar;

        fx_open(&f);
        build_rich(&tar);
        CHECK_INT_EQ(fx_unpack(&f, &tar, &tar, MEDIA_OCI_LAYER), 0);
        if (f.st.err.msg)
                fprintf(stderr, "  %s\n", f.st.err.msg);
        check_rich(&f, &tar);
        /* the diff_id file sits next to rootfs; a second unpack reuses the layer */
        CHECK_INT_EQ(fx_unpack(&f, &tar, &tar, MEDIA_OCI_LAYER), 0);
        /* ...but not under a different diff_id claim for the same chain */
        {
                char other[DIGEST_STRING_MAX];
                char diff_id[DIGEST_STRING_MAX];
                digest_buffer(tar.data, tar.len, diff_id);
                digest_buffer("x", 1, other);
                CHECK_INT_EQ(image_store_unpack_layer(f.st.s, f.layer, MEDIA_OCI_LAYER, other, diff_id, &f.st.err),
                             -EEXIST);
        }
        free(tar.data);
        fx_close(&f);
}

TEST(unpack_gzip_and_zstd) {
        static const char *const filters[] = {"gzip", "zstd"};
        static const char *const media[] = {MEDIA_OCI_LAYER_GZIP, MEDIA_OCI_LAYER_ZSTD};

        for (size_t i = 0; i < ELEMENTSOF(filters); i++) {
                struct fx f;
                struct membuf tar, z;
                fx_open(&f);
                build_rich(&tar);
                membuf_compress(tar.data, tar.len, filters[i], &z);
                CHECK(z.len > 0 && z.len < tar.len);
                CHECK_INT_EQ(fx_unpack(&f, &tar, &z, media[i]), 0);
                if (f.st.err.msg)
                        fprintf(stderr, "  %s: %s\n", filters[i], f.st.err.msg);
                check_rich(&f, &tar);
                free(tar.data);
                free(z.data);
                fx_close(&f);
        }
}

TEST(unpack_unknown_media_type) {
        struct fx f;
        struct membuf tar;
        struct tb t;

        fx_open(&f);
        tb_init(&t);
        tb_text(&t, "a", "a", 0644, 0, 0);
        CHECK(tb_finish(&t, &tar) == 0);
        CHECK_INT_EQ(fx_unpack(&f, &tar, &tar, "application/vnd.oci.image.layer.v1.tar+bzip2"), -EINVAL);
        CHECK(f.st.err.msg && strstr(f.st.err.msg, "bzip2"));
        free(tar.data);
        fx_close(&f);
}

/* ==== hostile layers ====================================================================== */

struct hostile {
        const char *name;
        void (*build)(struct tb *t, const char *outside);
        const char *needle; /* in the message */
};

static void h_dotdot(struct tb *t, const char *outside) {
        tb_text(t, "ok", "fine", 0644, 0, 0);
        tb_text(t, "../escape", "x", 0644, 0, 0);
}
static void h_dotdot_inner(struct tb *t, const char *outside) {
        tb_text(t, "a/../../escape", "x", 0644, 0, 0);
}
static void h_abs(struct tb *t, const char *outside) {
        char *p = nl_strdupf("%s/abs", outside);
        tb_text(t, p, "x", 0644, 0, 0);
        free(p);
}
static void h_abs_dot(struct tb *t, const char *outside) {
        char *p = nl_strdupf(".//%s/abs", outside + 1);
        tb_text(t, p, "x", 0644, 0, 0);
        free(p);
}
static void h_symlink_dir(struct tb *t, const char *outside) {
        tb_symlink(t, "a", outside);
        tb_text(t, "a/x", "pwned", 0644, 0, 0);
}
static void h_symlink_chain(struct tb *t, const char *outside) {
        tb_symlink(t, "b", outside);
        tb_symlink(t, "c", "b");
        tb_dir(t, "d", 0755);
        tb_symlink(t, "d/e", "../c");
        tb_text(t, "d/e/x", "pwned", 0644, 0, 0);
}
static void h_symlink_mkdir(struct tb *t, const char *outside) {
        tb_symlink(t, "a", outside);
        tb_dir(t, "a/sub", 0755);
}
static void h_symlink_hardlink_target(struct tb *t, const char *outside) {
        tb_symlink(t, "a", outside);
        tb_hardlink(t, "h", "a/secret");
}
static void h_hardlink_out(struct tb *t, const char *outside) {
        tb_hardlink(t, "h", "../../etc/passwd");
}
static void h_hardlink_abs(struct tb *t, const char *outside) {
        tb_hardlink(t, "h", "/etc/passwd");
}
static void h_whiteout_dotdot(struct tb *t, const char *outside) {
        tb_text(t, "x/.wh...", "", 0644, 0, 0);
}
static void h_symlink_whiteout(struct tb *t, const char *outside) {
        tb_symlink(t, "a", outside);
        tb_text(t, "a/.wh.keep", "", 0644, 0, 0);
}

static const struct hostile hostile[] = {
        {"dotdot", h_dotdot, "../escape"},
        {"dotdot-inner", h_dotdot_inner, "a/../../escape"},
        {"absolute", h_abs, "/abs"},
        {"absolute-after-dot", h_abs_dot, "/abs"},
        {"symlink-dir", h_symlink_dir, "a/x"},
        {"symlink-chain", h_symlink_chain, "d/e/x"},
        {"symlink-mkdir", h_symlink_mkdir, "a/sub"},
        {"symlink-hardlink-target", h_symlink_hardlink_target, "\"h\""},
        {"hardlink-out", h_hardlink_out, "\"h\""},
        {"hardlink-absolute", h_hardlink_abs, "\"h\""},
        {"whiteout-dotdot", h_whiteout_dotdot, "x/.wh..."},
        {"symlink-whiteout", h_symlink_whiteout, "a/.wh.keep"},
};

/* Every path below root, as one "\n"-joined, sorted string; paths inside an unpack's own
 * rootfs (".../rootfs/...") are left out: that is the layer, where an entry may land. */
static int tree_cmp(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static void tree_collect(const char *root, const char *rel, char ***v, size_t *n) {
        char *path = nl_strdupf("%s%s%s", root, *rel ? "/" : "", rel);
        DIR *d = path ? opendir(path) : NULL;
        free(path);
        if (!d)
                return;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                char *r = nl_strdupf("%s%s%s", rel, *rel ? "/" : "", de->d_name);
                if (!r)
                        continue;
                bool in_layer = streq(de->d_name, "rootfs") && strstr(r, "unpack-");
                *v = realloc(*v, (*n + 1) * sizeof(char *));
                (*v)[(*n)++] = r;
                if (de->d_type == DT_DIR && !in_layer)
                        tree_collect(root, r, v, n);
        }
        closedir(d);
}

static char *tree_list(const char *root) {
        char **v = NULL;
        size_t n = 0;
        tree_collect(root, "", &v, &n);
        if (n > 0)
                qsort(v, n, sizeof(char *), tree_cmp);
        nl_buf b = {};
        for (size_t i = 0; i < n; i++) {
                nl_buf_printf(&b, "%s\n", v[i]);
                free(v[i]);
        }
        free(v);
        char *s = nl_buf_steal(&b);
        return s ? s : strdup("");
}

/* A path that appeared (in after, not in before) other than the layer's blob and an unpack's
 * own temp dir ".../unpack-<id>" and its ".../unpack-<id>/rootfs" (a refused unpack may leave
 * them), or NULL. */
static bool allowed_new(const char *line) {
        /* the layer's blob itself, which the fixture puts in the store before the unpack */
        if (strncmp(line, "store/blobs/", 12) == 0)
                return true;
        const char *base = strrchr(line, '/') ? strrchr(line, '/') + 1 : line;
        if (strncmp(base, "unpack-", 7) == 0)
                return true;
        if (!streq(base, "rootfs") || base == line)
                return false;
        size_t plen = (size_t) (base - 1 - line);
        const char *pbase = line;
        for (size_t i = 0; i < plen; i++)
                if (line[i] == '/')
                        pbase = line + i + 1;
        return strncmp(pbase, "unpack-", 7) == 0;
}

static char *tree_new_path(const char *before, const char *after) {
        for (const char *l = after; *l;) {
                size_t n = strcspn(l, "\n");
                char *line = strndup(l, n);
                char *needle = line ? nl_strdupf("\n%s\n", line) : NULL;
                char *hay = nl_strdupf("\n%s", before);
                bool found = needle && hay && strstr(hay, needle);
                free(needle);
                free(hay);
                if (line && !found && !allowed_new(line))
                        return line;
                free(line);
                l += n + (l[n] == '\n');
        }
        return NULL;
}

/* The check itself must be able to fail: an escape beside the layer's rootfs is seen. */
TEST(unpack_escape_detector_sees_an_escape) {
        CHECK(tree_new_path("a\n", "a\nstore/tmp/unpack-1\nstore/tmp/unpack-1/rootfs\n") == NULL);
        char *p = tree_new_path("a\n", "a\nstore/tmp/unpack-1\nstore/tmp/unpack-1/escape\n");
        CHECK_STR_EQ(p, "store/tmp/unpack-1/escape");
        free(p);
        p = tree_new_path("a\n", "a\noutside/x\n");
        CHECK_STR_EQ(p, "outside/x");
        free(p);
}

static void run_hostile(bool no_openat2) {
        for (size_t i = 0; i < ELEMENTSOF(hostile); i++) {
                struct fx f;
                struct membuf tar;
                struct tb t;
                struct stat st;
                char *outside, *keep;
                int r;

                fx_open(&f);
                if (!f.st.s) {
                        fx_close(&f);
                        return;
                }
                f.st.s->limits.no_openat2 = no_openat2;
                outside = nl_strdupf("%s/outside", f.st.dir);
                mkdir(outside, 0755);
                keep = nl_strdupf("%s/keep", outside);
                close(open(keep, O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
                tb_init(&t);
                hostile[i].build(&t, outside);
                CHECK(tb_finish(&t, &tar) == 0);
                char *before = tree_list(f.st.dir);
                r = fx_unpack(&f, &tar, &tar, MEDIA_OCI_LAYER);
                char *after = tree_list(f.st.dir), *appeared = tree_new_path(before, after);
                /* nothing anywhere in the fixture's tree but the layer's own dirs: wherever
                 * an escape would land (beside the rootfs, in the store, outside) */
                if (appeared)
                        TEST_FAIL("%s (openat2 %s): wrote outside the layer: %s", hostile[i].name,
                                  no_openat2 ? "off" : "on", appeared);
                free(appeared);
                free(before);
                free(after);
                if (r >= 0)
                        TEST_FAIL("%s (openat2 %s): accepted", hostile[i].name, no_openat2 ? "off" : "on");
                CHECK_REFUSED(&f, &tar, r, hostile[i].needle);
                if (getenv("TEST_VERBOSE"))
                        fprintf(stderr, "  %s: %s\n", hostile[i].name, strempty(f.st.err.msg));
                /* nothing written outside the layer */
                {
                        char *x = nl_strdupf("%s/x", outside), *sub = nl_strdupf("%s/sub", outside);
                        char *esc = nl_strdupf("%s/store/tmp/escape", f.st.dir);
                        CHECK(lstat(x, &st) < 0);
                        CHECK(lstat(sub, &st) < 0);
                        CHECK(lstat(esc, &st) < 0);
                        CHECK(lstat(keep, &st) == 0 && S_ISREG(st.st_mode));
                        free(x);
                        free(sub);
                        free(esc);
                }
                free(outside);
                free(keep);
                free(tar.data);
                fx_close(&f);
        }
}

TEST(unpack_hostile_refused) {
        run_hostile(false);
}

TEST(unpack_hostile_refused_without_openat2) {
        run_hostile(true);
}

TEST(unpack_gzip_bomb) {
        struct fx f;
        struct membuf tar, z;
        struct tb t;
        size_t big = 24u << 20;
        char *zeros = calloc(1, big);

        fx_open(&f);
        /* 24 MiB of zeros gzip to ~24 KiB: past 100x and past a 1 MiB floor */
        f.st.s->limits.ratio_floor = 1u << 20;
        tb_init(&t);
        tb_put(&t, tb_entry("bomb", AE_IFREG, 0644, 0, 0), zeros, big);
        CHECK(tb_finish(&t, &tar) == 0);
        membuf_compress(tar.data, tar.len, "gzip", &z);
        CHECK(z.len * 100 < tar.len);
        CHECK_REFUSED(&f, &tar, fx_unpack(&f, &tar, &z, MEDIA_OCI_LAYER_GZIP), "compression bomb");
        /* the same layer with the default floor (1 GiB) is fine */
        fx_close(&f);
        fx_open(&f);
        CHECK_INT_EQ(fx_unpack(&f, &tar, &z, MEDIA_OCI_LAYER_GZIP), 0);
        free(zeros);
        free(tar.data);
        free(z.data);
        fx_close(&f);
}

TEST(unpack_caps) {
        struct fx f;
        struct membuf tar;
        struct tb t;
        char name[32];

        fx_open(&f);
        f.st.s->limits.max_entries = 5;
        tb_init(&t);
        for (int i = 0; i < 10; i++) {
                snprintf(name, sizeof(name), "f%d", i);
                tb_text(&t, name, "x", 0644, 0, 0);
        }
        CHECK(tb_finish(&t, &tar) == 0);
        CHECK_REFUSED(&f, &tar, fx_unpack(&f, &tar, &tar, MEDIA_OCI_LAYER), "more than 5 entries");
        free(tar.data);
        fx_close(&f);

        fx_open(&f);
        f.st.s->limits.max_bytes = 4096;
        tb_init(&t);
        char *big = calloc(1, 65536);
        memset(big, 'a', 65535);
        tb_text(&t, "big", big, 0644, 0, 0);
        free(big);
        CHECK(tb_finish(&t, &tar) == 0);
        CHECK_REFUSED(&f, &tar, fx_unpack(&f, &tar, &tar, MEDIA_OCI_LAYER), "more than 4096 bytes");
        free(tar.data);
        fx_close(&f);
}

TEST(unpack_diff_id_mismatch) {
        struct fx f;
        struct membuf tar;
        struct tb t;
        char wrong[DIGEST_STRING_MAX];
        int r;

        fx_open(&f);
        tb_init(&t);
        tb_text(&t, "a", "a", 0644, 0, 0);
        CHECK(tb_finish(&t, &tar) == 0);
        digest_buffer("not this", 8, wrong);
        CHECK_INT_EQ(image_store_put_blob(f.st.s, tar.data, tar.len, NULL, f.layer, &f.st.err), 0);
        r = image_store_unpack_layer(f.st.s, f.layer, MEDIA_OCI_LAYER, wrong, wrong, &f.st.err);
        CHECK_INT_EQ(r, -EBADMSG);
        CHECK(f.st.err.msg && strstr(f.st.err.msg, wrong) && strstr(f.st.err.msg, f.layer));
        CHECK(!image_store_has_layer(f.st.s, wrong));
        check_nothing_left(&f, &tar);
        free(tar.data);
        fx_close(&f);
}

TEST(unpack_truncated) {
        struct fx f;
        struct membuf tar, z, cut;
        struct tb t;
        char *data = malloc(200000);

        for (size_t i = 0; i < 200000; i++)
                data[i] = (char) ((i * 7919u) >> 3); /* not too compressible */
        tb_init(&t);
        tb_put(&t, tb_entry("data", AE_IFREG, 0644, 0, 0), data, 200000);
        CHECK(tb_finish(&t, &tar) == 0);
        membuf_compress(tar.data, tar.len, "gzip", &z);

        fx_open(&f);
        cut = z;
        cut.len = z.len / 2;
        CHECK_REFUSED(&f, &tar, fx_unpack(&f, &tar, &cut, MEDIA_OCI_LAYER_GZIP), "");
        CHECK(f.st.err.msg && (strstr(f.st.err.msg, "truncated") || strstr(f.st.err.msg, "read") ||
                            strstr(f.st.err.msg, "decompress")));
        if (getenv("TEST_VERBOSE"))
                fprintf(stderr, "  truncated gzip: %s\n", strempty(f.st.err.msg));
        fx_close(&f);

        /* a truncated plain tar: the data of the entry is cut short */
        fx_open(&f);
        cut = tar;
        cut.len = 100000;
        CHECK_REFUSED(&f, &tar, fx_unpack(&f, &tar, &cut, MEDIA_OCI_LAYER), "\"data\"");
        fx_close(&f);

        /* garbage */
        fx_open(&f);
        cut = (struct membuf){.data = data, .len = 5000};
        CHECK_REFUSED(&f, &tar, fx_unpack(&f, &tar, &cut, MEDIA_OCI_LAYER), "");
        fx_close(&f);

        free(data);
        free(tar.data);
        free(z.data);
}
