/* SPDX-License-Identifier: Apache-2.0 */
/* Crafted image archives for tests/hardening/images.sh: each case is a docker-archive or
 * oci-archive that `nodelet images import` must refuse (or, for device nodes, take and make
 * harmless), written as OUTDIR/<case>.tar with OUTDIR/<case>.want holding what the error
 * must say ("OK" when the import must succeed).
 *
 *   hard-mkimage OUTDIR OUTSIDE [BUSYBOX]
 *
 * OUTSIDE is a directory outside the store that hostile entries aim at (absolute paths,
 * symlink and hardlink targets); the test checks nothing there changed. BUSYBOX (a static
 * busybox, default /bin/busybox) makes the images that must run runnable.
 * Also written: big.tar, an oci-archive (tag "big") of busybox plus 8 MiB of random bytes,
 * for the disk-full pulls. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cri/cri.h"
#include "tests/lib/tar.h"

static const char *outdir, *outside, *busybox = "/bin/busybox";

/* ==== tars (tests/lib/tar.c) ================================================================ */

/* An archive that cannot be written as meant is no test case: stop. */
static void finish(struct tb *t, struct membuf *ret) {
        if (tb_finish(t, ret) < 0) {
                fprintf(stderr, "mkimage: a tar entry could not be written\n");
                exit(1);
        }
}

/* busybox as /bin/busybox with sh, cat, ls, echo, sleep, id, mknod and stat links */
static void tb_busybox(struct tb *t) {
        static const char *const applets[] = { "sh", "cat", "ls", "echo", "sleep", "id", "head", "stat", "dd", "true" };
        int fd = open(busybox, O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0) {
                fprintf(stderr, "mkimage: %s: %m\n", busybox);
                exit(1);
        }
        char *b = malloc((size_t) st.st_size);
        if (!b || read(fd, b, (size_t) st.st_size) != st.st_size)
                exit(1);
        close(fd);
        tb_dir(t, "bin", 0755);
        tb_file(t, "bin/busybox", b, (size_t) st.st_size, 0755);
        free(b);
        for (size_t i = 0; i < sizeof(applets) / sizeof(*applets); i++) {
                char p[64];
                snprintf(p, sizeof(p), "bin/%s", applets[i]);
                tb_symlink(t, p, "busybox");
        }
        tb_dir(t, "tmp", 0755);
        tb_dir(t, "proc", 0755);
        tb_dir(t, "dev", 0755);
        tb_dir(t, "sys", 0755);
        tb_dir(t, "etc", 0755);
}

/* ==== images ============================================================================== */

static const char *host_arch(void) {
#if defined(__x86_64__)
        return "amd64";
#elif defined(__aarch64__)
        return "arm64";
#else
        return "unknown";
#endif
}

/* The files of an archive: path -> bytes (or a big file of zeros, written by streaming). */
struct file {
        char *path;
        struct membuf data;
};

struct image {
        struct file f[16];
        size_t n;
        json_t *diff_ids, *layers; /* for the config and the manifest */
};

static void img_init(struct image *im) {
        *im = (struct image){ .diff_ids = json_array(), .layers = json_array() };
}

static void img_file(struct image *im, const char *path, const void *data, size_t len) {
        im->f[im->n].path = strdup(path);
        im->f[im->n].data = (struct membuf){};
        membuf_put(&im->f[im->n].data, data, len);
        im->n++;
}

static char *blob_path(const char *digest) {
        char *p = NULL;
        if (asprintf(&p, "blobs/sha256/%s", digest + 7) < 0)
                abort();
        return p;
}

/* A layer: its tar (uncompressed, for the diff ID) and the blob as stored (maybe gzipped);
 * size_override >= 0 puts a lie in the manifest. */
static void img_layer(struct image *im, const struct membuf *tar, const struct membuf *blob, const char *media,
                      json_int_t size_override) {
        char d[DIGEST_STRING_MAX], bd[DIGEST_STRING_MAX];
        digest_buffer(tar->data, tar->len, d);
        digest_buffer(blob->data, blob->len, bd);
        json_array_append_new(im->diff_ids, json_string(d));
        json_array_append_new(im->layers, json_pack("{s:s, s:s, s:I}", "mediaType", media, "digest", bd, "size",
                                                    size_override != -1 ? size_override : (json_int_t) blob->len));
        char *p = blob_path(bd);
        img_file(im, p, blob->data, blob->len);
        free(p);
}

static void img_plain_layer(struct image *im, struct tb *t) {
        struct membuf tar;
        finish(t, &tar);
        img_layer(im, &tar, &tar, MEDIA_OCI_LAYER, -1);
        free(tar.data);
}

struct lies {
        json_int_t config_size, manifest_size; /* -1: the truth */
};

/* config, manifest, index.json and oci-layout for an oci-archive tagged ref */
static void img_oci_finish(struct image *im, const char *ref, const struct lies *lies) {
        char cd[DIGEST_STRING_MAX], md[DIGEST_STRING_MAX];
        json_t *cfg = json_pack("{s:s, s:s, s:{s:[s], s:[s]}, s:{s:s, s:O}}", "architecture", host_arch(), "os",
                                "linux", "config", "Cmd", "/bin/sh", "Env", "PATH=/bin", "rootfs", "type", "layers",
                                "diff_ids", im->diff_ids);
        char *s = json_dumps(cfg, JSON_COMPACT);
        digest_buffer(s, strlen(s), cd);
        char *p = blob_path(cd);
        img_file(im, p, s, strlen(s));
        json_int_t clen = (json_int_t) strlen(s);
        free(p);
        free(s);
        json_t *man = json_pack("{s:i, s:s, s:{s:s, s:s, s:I}, s:O}", "schemaVersion", 2, "mediaType",
                                MEDIA_OCI_MANIFEST, "config", "mediaType", MEDIA_OCI_CONFIG, "digest", cd, "size",
                                lies && lies->config_size >= 0 ? lies->config_size : clen, "layers", im->layers);
        s = json_dumps(man, JSON_COMPACT);
        digest_buffer(s, strlen(s), md);
        p = blob_path(md);
        img_file(im, p, s, strlen(s));
        json_int_t mlen = (json_int_t) strlen(s);
        free(p);
        free(s);
        json_t *index = json_pack("{s:i, s:s, s:[{s:s, s:s, s:I, s:{s:s}}]}", "schemaVersion", 2, "mediaType",
                                  MEDIA_OCI_INDEX, "manifests", "mediaType", MEDIA_OCI_MANIFEST, "digest", md,
                                  "size", lies && lies->manifest_size >= 0 ? lies->manifest_size : mlen,
                                  "annotations", "org.opencontainers.image.ref.name", ref);
        s = json_dumps(index, JSON_COMPACT);
        img_file(im, "index.json", s, strlen(s));
        free(s);
        img_file(im, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 30);
        json_decref(cfg);
        json_decref(man);
        json_decref(index);
}

static char *out_path(const char *name, const char *ext) {
        char *p = NULL;
        if (asprintf(&p, "%s/%s.%s", outdir, name, ext) < 0)
                abort();
        return p;
}

static void write_whole(const char *path, const void *data, size_t len) {
        FILE *f = fopen(path, "we");
        if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
                fprintf(stderr, "mkimage: write %s: %m\n", path);
                exit(1);
        }
}

static void want(const char *name, const char *needle) {
        char *p = out_path(name, "want");
        write_whole(p, needle, strlen(needle));
        free(p);
}

static void img_write(struct image *im, const char *name) {
        struct tb t;
        struct membuf out;
        tb_init_unblocked(&t);
        for (size_t i = 0; i < im->n; i++)
                tb_file(&t, im->f[i].path, im->f[i].data.data, im->f[i].data.len, 0644);
        finish(&t, &out);
        char *p = out_path(name, "tar");
        write_whole(p, out.data, out.len);
        free(p);
        free(out.data);
        for (size_t i = 0; i < im->n; i++) {
                free(im->f[i].path);
                free(im->f[i].data.data);
        }
        json_decref(im->diff_ids);
        json_decref(im->layers);
}

/* One layer built by fn, as an oci-archive tagged hostile/<name>:1. */
static void one_layer(const char *name, void (*fn)(struct tb *t), const char *needle) {
        struct image im;
        struct tb t;
        char ref[128];
        img_init(&im);
        tb_init_unblocked(&t);
        fn(&t);
        img_plain_layer(&im, &t);
        snprintf(ref, sizeof(ref), "hostile/%s:1", name);
        img_oci_finish(&im, ref, NULL);
        img_write(&im, name);
        want(name, needle);
}

static char *outside_path(const char *leaf) {
        char *p = NULL;
        if (asprintf(&p, "%s/%s", outside, leaf) < 0)
                abort();
        return p;
}

/* ==== the layer cases (cri/image/unpack.c) ================================================ */

static void l_dotdot(struct tb *t) {
        tb_file(t, "ok", "fine", 4, 0644);
        tb_file(t, "../../../../../../escape", "x", 1, 0644);
}
static void l_absolute(struct tb *t) {
        char *p = outside_path("abs");
        tb_file(t, p, "x", 1, 0644);
        free(p);
}
static void l_symlink(struct tb *t) {
        tb_symlink(t, "a", outside);
        tb_file(t, "a/x", "pwned", 5, 0644);
}
static void l_hardlink(struct tb *t) {
        tb_hardlink(t, "h", "../../../../../../etc/passwd");
}
static void l_hardlink_abs(struct tb *t) {
        char *p = outside_path("keep");
        tb_hardlink(t, "h", p);
        free(p);
}
static void l_whiteout_dotdot(struct tb *t) {
        tb_file(t, "x/.wh...", "", 0, 0644);
}
static void l_whiteout_symlink(struct tb *t) {
        tb_symlink(t, "a", outside);
        tb_file(t, "a/.wh.keep", "", 0, 0644);
}
static void l_opaque_symlink(struct tb *t) {
        tb_symlink(t, "a", outside);
        tb_file(t, "a/.wh..wh..opq", "", 0, 0644);
}
static void l_deep(struct tb *t) {
        /* 300 components, deeper than the unpacker's 256 */
        char p[1024] = "";
        for (int i = 0; i < 300; i++)
                strcat(p, i ? "/d" : "d");
        tb_file(t, p, "x", 1, 0644);
}
static void l_devices(struct tb *t) {
        tb_busybox(t);
        tb_dev(t, "dev-mem", AE_IFCHR, 1, 1);  /* /dev/mem */
        tb_dev(t, "dev-kmsg", AE_IFCHR, 1, 11); /* /dev/kmsg */
        tb_dev(t, "dev-vda", AE_IFBLK, 253, 0);   /* virtio disk */
        tb_dev(t, "dev-sda", AE_IFBLK, 8, 0);
}

/* ==== a layer that lies in its manifest ================================================== */

static void lie_layer(const char *name, json_int_t layer_size, const struct lies *lies, const char *needle) {
        struct image im;
        struct tb t;
        struct membuf tar;
        img_init(&im);
        tb_init_unblocked(&t);
        tb_file(&t, "hello", "hello world\n", 12, 0644);
        finish(&t, &tar);
        img_layer(&im, &tar, &tar, MEDIA_OCI_LAYER, layer_size);
        free(tar.data);
        img_oci_finish(&im, "hostile/lies:1", lies);
        img_write(&im, name);
        want(name, needle);
}

/* A diff ID that does not match the layer. */
static void wrong_diff_id(void) {
        struct image im;
        struct tb t;
        struct membuf tar;
        img_init(&im);
        tb_init_unblocked(&t);
        tb_file(&t, "hello", "hello world\n", 12, 0644);
        finish(&t, &tar);
        img_layer(&im, &tar, &tar, MEDIA_OCI_LAYER, -1);
        json_array_set_new(im.diff_ids, 0, json_string("sha256:0000000000000000000000000000000000000000000000000000000000000000"));
        free(tar.data);
        img_oci_finish(&im, "hostile/diffid:1", NULL);
        img_write(&im, "diff-id-lie");
        want("diff-id-lie", "sha256:0000000000000000000000000000000000000000000000000000000000000000");
}

/* ==== docker-archive cases ================================================================ */

static void docker_archive(const char *name, const char *config_path, const char *layer_path, bool add_layer,
                           const char *needle) {
        struct tb t;
        struct membuf out, tar;
        char d[DIGEST_STRING_MAX];
        struct tb l;
        tb_init_unblocked(&l);
        tb_file(&l, "hello", "hello\n", 6, 0644);
        finish(&l, &tar);
        digest_buffer(tar.data, tar.len, d);
        json_t *cfg = json_pack("{s:s, s:s, s:{s:s, s:[s]}}", "architecture", host_arch(), "os", "linux", "rootfs",
                                "type", "layers", "diff_ids", d);
        char *cs = json_dumps(cfg, JSON_COMPACT);
        json_t *man = json_pack("[{s:s, s:[s], s:[s]}]", "Config", config_path, "RepoTags", "hostile/docker:1",
                                "Layers", layer_path);
        char *ms = json_dumps(man, JSON_COMPACT);
        tb_init_unblocked(&t);
        tb_file(&t, "manifest.json", ms, strlen(ms), 0644);
        if (strncmp(config_path, "/", 1) != 0 && !strstr(config_path, ".."))
                tb_file(&t, config_path, cs, strlen(cs), 0644);
        if (add_layer)
                tb_file(&t, "layer.tar", tar.data, tar.len, 0644);
        /* a symlinked layer: layer.tar -> the path given */
        if (!add_layer && strcmp(layer_path, "link/layer.tar") == 0)
                tb_symlink(&t, "link", "/etc");
        finish(&t, &out);
        char *p = out_path(name, "tar");
        write_whole(p, out.data, out.len);
        free(p);
        free(out.data);
        free(tar.data);
        free(cs);
        free(ms);
        json_decref(cfg);
        json_decref(man);
        want(name, needle);
}

/* ==== bombs ============================================================================== */

#define MiB (1024 * 1024)

/* A tar of one file of `mib` MiB of zeros, gzip-compressed as one member for the header and
 * one per MiB of zeros (multi-member gzip is valid): ~1 KiB per MiB, built in no time. */
static void zero_tar_gz(const char *entry_name, unsigned mib, struct membuf *ret_gz, char diff_id[DIGEST_STRING_MAX]) {
        struct tb t;
        struct membuf head, m;
        char *zeros = calloc(1, MiB);
        tb_init_unblocked(&t);
        struct archive_entry *e = tb_entry(entry_name, AE_IFREG, 0644, 0, 0);
        archive_entry_set_size(e, (la_int64_t) mib * MiB);
        archive_write_header(t.a, e);
        archive_entry_free(e);
        /* exactly the header block: the writer is unblocked (freeing it writes more) */
        head = (struct membuf){};
        membuf_put(&head, t.out.data, t.out.len);
        digester *d = digester_new();
        digester_update(d, head.data, head.len);
        *ret_gz = (struct membuf){};
        membuf_compress(head.data, head.len, "gzip", &m);
        membuf_put(ret_gz, m.data, m.len);
        free(m.data);
        membuf_compress(zeros, MiB, "gzip", &m);
        for (unsigned i = 0; i < mib; i++) {
                membuf_put(ret_gz, m.data, m.len);
                digester_update(d, zeros, MiB);
        }
        free(m.data);
        /* the end of the archive: two zero blocks, padded to a 10 KiB record as tar writes */
        membuf_compress(zeros, 10240, "gzip", &m);
        membuf_put(ret_gz, m.data, m.len);
        digester_update(d, zeros, 10240);
        free(m.data);
        digester_final(d, diff_id);
        digester_free(d);
        archive_write_free(t.a);
        free(t.out.data);
        free(head.data);
        free(zeros);
}

static void layer_bomb(void) {
        struct image im;
        struct membuf gz;
        char diff_id[DIGEST_STRING_MAX], bd[DIGEST_STRING_MAX];
        img_init(&im);
        zero_tar_gz("bomb", 1100, &gz, diff_id);
        digest_buffer(gz.data, gz.len, bd);
        json_array_append_new(im.diff_ids, json_string(diff_id));
        json_array_append_new(im.layers, json_pack("{s:s, s:s, s:I}", "mediaType", MEDIA_OCI_LAYER_GZIP, "digest",
                                                   bd, "size", (json_int_t) gz.len));
        char *p = blob_path(bd);
        img_file(&im, p, gz.data, gz.len);
        free(p);
        free(gz.data);
        img_oci_finish(&im, "hostile/layer-bomb:1", NULL);
        img_write(&im, "layer-gzip-bomb");
        want("layer-gzip-bomb", "compression bomb");
}

/* The archive itself gzipped, holding a 1.1 GiB blob of zeros (a valid, empty layer: a tar
 * of zeros ends at once): 1000x compression. */
static void archive_bomb(void) {
        const unsigned mib = 1100;
        char *zeros = calloc(1, MiB);
        char zd[DIGEST_STRING_MAX], cd[DIGEST_STRING_MAX], md[DIGEST_STRING_MAX];
        digester *d = digester_new();
        for (unsigned i = 0; i < mib; i++)
                digester_update(d, zeros, MiB);
        digester_final(d, zd);
        digester_free(d);
        json_t *cfg = json_pack("{s:s, s:s, s:{s:s, s:[s]}}", "architecture", host_arch(), "os", "linux", "rootfs",
                                "type", "layers", "diff_ids", zd);
        char *cs = json_dumps(cfg, JSON_COMPACT);
        digest_buffer(cs, strlen(cs), cd);
        json_t *man = json_pack("{s:i, s:s, s:{s:s, s:s, s:I}, s:[{s:s, s:s, s:I}]}", "schemaVersion", 2,
                                "mediaType", MEDIA_OCI_MANIFEST, "config", "mediaType", MEDIA_OCI_CONFIG, "digest",
                                cd, "size", (json_int_t) strlen(cs), "layers", "mediaType", MEDIA_OCI_LAYER,
                                "digest", zd, "size", (json_int_t) mib * MiB);
        char *ms = json_dumps(man, JSON_COMPACT);
        digest_buffer(ms, strlen(ms), md);
        json_t *index = json_pack("{s:i, s:[{s:s, s:s, s:I, s:{s:s}}]}", "schemaVersion", 2, "manifests",
                                  "mediaType", MEDIA_OCI_MANIFEST, "digest", md, "size", (json_int_t) strlen(ms),
                                  "annotations", "org.opencontainers.image.ref.name", "hostile/archive-bomb:1");
        char *is = json_dumps(index, JSON_COMPACT);
        struct tb t;
        tb_init_unblocked(&t);
        tb_file(&t, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 30, 0644);
        tb_file(&t, "index.json", is, strlen(is), 0644);
        char *p = blob_path(cd);
        tb_file(&t, p, cs, strlen(cs), 0644);
        free(p);
        p = blob_path(md);
        tb_file(&t, p, ms, strlen(ms), 0644);
        free(p);
        p = blob_path(zd);
        struct archive_entry *e = tb_entry(p, AE_IFREG, 0644, 0, 0);
        free(p);
        archive_entry_set_size(e, (la_int64_t) mib * MiB);
        archive_write_header(t.a, e);
        archive_entry_free(e);
        struct membuf out = {}, m;
        membuf_compress(t.out.data, t.out.len, "gzip", &m);
        membuf_put(&out, m.data, m.len);
        free(m.data);
        membuf_compress(zeros, MiB, "gzip", &m);
        for (unsigned i = 0; i < mib; i++)
                membuf_put(&out, m.data, m.len);
        free(m.data);
        membuf_compress(zeros, 10240, "gzip", &m);
        membuf_put(&out, m.data, m.len);
        free(m.data);
        archive_write_free(t.a);
        free(t.out.data);
        char *op = out_path("archive-gzip-bomb", "tar");
        write_whole(op, out.data, out.len);
        free(op);
        free(out.data);
        free(zeros);
        free(cs);
        free(ms);
        free(is);
        json_decref(cfg);
        json_decref(man);
        json_decref(index);
        want("archive-gzip-bomb", "compression bomb");
}

/* More entries than the importer takes (65,536). */
static void many_entries(void) {
        struct tb t;
        struct membuf out, gz;
        char name[32];
        tb_init_unblocked(&t);
        for (int i = 0; i < 70000; i++) {
                snprintf(name, sizeof(name), "f%d", i);
                tb_file(&t, name, "", 0, 0644);
        }
        finish(&t, &out);
        membuf_compress(out.data, out.len, "gzip", &gz);
        char *p = out_path("archive-many-entries", "tar");
        write_whole(p, gz.data, gz.len);
        free(p);
        free(out.data);
        free(gz.data);
        want("archive-many-entries", "more than 65536 entries");
}

/* ==== the runnable big image for the disk-full pulls ======================================== */

static void big_image(void) {
        struct image im;
        struct tb t;
        size_t n = 8 * MiB;
        char *rnd = malloc(n);
        for (size_t off = 0; off < n;) {
                ssize_t k = getrandom(rnd + off, n - off, 0);
                if (k <= 0)
                        exit(1);
                off += (size_t) k;
        }
        img_init(&im);
        tb_init_unblocked(&t);
        tb_busybox(&t);
        img_plain_layer(&im, &t);
        tb_init_unblocked(&t);
        tb_file(&t, "random", rnd, n, 0644);
        img_plain_layer(&im, &t);
        free(rnd);
        img_oci_finish(&im, "big", NULL);
        img_write(&im, "big");
}

/* A runnable image whose only oddity is its device nodes. */
static void devices_image(void) {
        one_layer("layer-devices", l_devices, "OK");
}

int main(int argc, char **argv) {
        if (argc < 3) {
                fprintf(stderr, "usage: %s OUTDIR OUTSIDE [BUSYBOX]\n", argv[0]);
                return 2;
        }
        outdir = argv[1];
        outside = argv[2];
        if (argc > 3)
                busybox = argv[3];
        if (mkdir(outdir, 0755) < 0 && errno != EEXIST)
                return 1;

        one_layer("layer-dotdot", l_dotdot, "../escape");
        one_layer("layer-absolute", l_absolute, "/abs");
        one_layer("layer-symlink-escape", l_symlink, "a/x");
        one_layer("layer-hardlink-escape", l_hardlink, "\"h\"");
        one_layer("layer-hardlink-absolute", l_hardlink_abs, "\"h\"");
        one_layer("layer-whiteout-dotdot", l_whiteout_dotdot, "x/.wh...");
        one_layer("layer-whiteout-symlink", l_whiteout_symlink, "a/.wh.keep");
        one_layer("layer-opaque-symlink", l_opaque_symlink, "a/.wh..wh..opq");
        one_layer("layer-deep", l_deep, "d/d/d");
        devices_image();

        lie_layer("size-lie-layer-small", 10, NULL, "size");
        lie_layer("size-lie-layer-huge", (json_int_t) 1 << 60, NULL, "size");
        lie_layer("size-lie-layer-negative", -2, NULL, "size");
        lie_layer("size-lie-config", -1, &(struct lies){ .config_size = 3, .manifest_size = -1 }, "size");
        lie_layer("size-lie-manifest", -1, &(struct lies){ .config_size = -1, .manifest_size = 5 }, "size");
        wrong_diff_id();

        docker_archive("docker-layer-dotdot", "config.json", "../../../../../etc/passwd", false, "etc/passwd");
        docker_archive("docker-config-absolute", "/etc/hostname", "layer.tar", true, "/etc/hostname");
        docker_archive("docker-layer-symlink-out", "config.json", "link/layer.tar", false, "link/layer.tar");

        layer_bomb();
        archive_bomb();
        many_entries();
        big_image();
        return 0;
}
