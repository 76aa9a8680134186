/* SPDX-License-Identifier: Apache-2.0 */
/* Import: an OCI layout directory (bare tags against a default repository, multi-platform
 * indexes, nested indexes), the same layout as an oci-archive tar, a docker-archive
 * (`docker save`: manifest.json, RepoTags, layers by path, a symlinked layer), and damaged
 * input refused with a message naming the blob. Everything is built here with libarchive. */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "cri/cri.h"
#include "common/fs.h"
#include "cri/image/store-internal.h"
#include "tests/lib/store.h"
#include "tests/lib/tar.h"
#include "test.h"

/* Files of a layout or archive being built: path -> bytes, kept in order. */
struct file {
        char *path;
        char *data; /* NULL for a symlink */
        size_t len;
        char *link;
};

struct files {
        struct file v[64];
        size_t n;
};

static void files_add(struct files *f, const char *path, const void *data, size_t len) {
        struct file *x = &f->v[f->n++];
        x->path = strdup(path);
        x->data = malloc(len + 1);
        memcpy(x->data, data, len);
        x->len = len;
        x->link = NULL;
}

static void files_symlink(struct files *f, const char *path, const char *target) {
        struct file *x = &f->v[f->n++];
        x->path = strdup(path);
        x->data = NULL;
        x->len = 0;
        x->link = strdup(target);
}

static void files_free(struct files *f) {
        for (size_t i = 0; i < f->n; i++) {
                free(f->v[i].path);
                free(f->v[i].data);
                free(f->v[i].link);
        }
        f->n = 0;
}

/* Add a blob to an OCI layout, returning its digest. */
static void files_blob(struct files *f, const void *data, size_t len, char digest[DIGEST_STRING_MAX]) {
        char path[128];
        digest_buffer(data, len, digest);
        snprintf(path, sizeof(path), "blobs/sha256/%s", digest_hex(digest));
        for (size_t i = 0; i < f->n; i++)
                if (streq(f->v[i].path, path))
                        return;
        files_add(f, path, data, len);
}

static void files_json(struct files *f, json_t *j, char digest[DIGEST_STRING_MAX], size_t *ret_len) {
        char *s = json_dumps(j, JSON_COMPACT);
        files_blob(f, s, strlen(s), digest);
        if (ret_len)
                *ret_len = strlen(s);
        free(s);
        json_decref(j);
}

static int write_files_dir(const struct files *f, const char *dir) {
        for (size_t i = 0; i < f->n; i++) {
                char *p = nl_strdupf("%s/%s", dir, f->v[i].path);
                for (char *c = p + strlen(dir) + 1; *c; c++)
                        if (*c == '/') {
                                *c = '\0';
                                (void) mkdir(p, 0755);
                                *c = '/';
                        }
                if (f->v[i].link) {
                        if (symlink(f->v[i].link, p) < 0)
                                return -errno;
                } else {
                        int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                        if (fd < 0 || write(fd, f->v[i].data, f->v[i].len) != (ssize_t) f->v[i].len)
                                return -EIO;
                        close(fd);
                }
                free(p);
        }
        return 0;
}

static int write_files_tar(const struct files *f, const char *path, bool gzip) {
        struct archive *a = archive_write_new();

        archive_write_set_format_pax_restricted(a);
        if (gzip)
                archive_write_add_filter_gzip(a);
        if (archive_write_open_filename(a, path) != ARCHIVE_OK)
                return -EIO;
        for (size_t i = 0; i < f->n; i++) {
                struct archive_entry *e = archive_entry_new();
                archive_entry_set_pathname(e, f->v[i].path);
                archive_entry_set_perm(e, 0644);
                if (f->v[i].link) {
                        archive_entry_set_filetype(e, AE_IFLNK);
                        archive_entry_set_symlink(e, f->v[i].link);
                } else {
                        archive_entry_set_filetype(e, AE_IFREG);
                        archive_entry_set_size(e, (la_int64_t) f->v[i].len);
                }
                archive_write_header(a, e);
                if (f->v[i].data)
                        archive_write_data(a, f->v[i].data, f->v[i].len);
                archive_entry_free(e);
        }
        archive_write_close(a);
        archive_write_free(a);
        return 0;
}

/* An image in a layout: layers holding files named by `names`, gzip-compressed; returns the
 * manifest descriptor as a JSON object (to put in an index) and the config digest. */
static json_t *layout_image(struct files *f, const char *const *names, size_t n, const char *arch,
                            char config[DIGEST_STRING_MAX]) {
        json_t *cfg = json_pack("{s:s, s:s, s:{}, s:{s:s, s:[]}}", "architecture", arch, "os", "linux",
                                "config", "rootfs", "type", "layers", "diff_ids");
        json_t *man =
                json_pack("{s:i, s:s, s:[]}", "schemaVersion", 2, "mediaType", MEDIA_OCI_MANIFEST, "layers");
        char d[DIGEST_STRING_MAX], mdigest[DIGEST_STRING_MAX];
        size_t len;

        for (size_t i = 0; i < n; i++) {
                struct membuf tar, z;
                tar_of_names(&names[i], 1, &tar);
                membuf_compress(tar.data, tar.len, "gzip", &z);
                digest_buffer(tar.data, tar.len, d);
                json_array_append_new(json_object_get(json_object_get(cfg, "rootfs"), "diff_ids"),
                                      json_string(d));
                files_blob(f, z.data, z.len, d);
                json_array_append_new(json_object_get(man, "layers"),
                                      json_pack("{s:s, s:s, s:I}", "mediaType", MEDIA_OCI_LAYER_GZIP,
                                                "digest", d, "size", (json_int_t) z.len));
                free(tar.data);
                free(z.data);
        }
        files_json(f, cfg, config, &len);
        json_object_set_new(man, "config",
                            json_pack("{s:s, s:s, s:I}", "mediaType", MEDIA_OCI_CONFIG, "digest", config,
                                      "size", (json_int_t) len));
        files_json(f, man, mdigest, &len);
        return json_pack("{s:s, s:s, s:I}", "mediaType", MEDIA_OCI_MANIFEST, "digest", mdigest, "size",
                         (json_int_t) len);
}

static void layout_finish(struct files *f, json_t *manifests) {
        json_t *index = json_pack("{s:i, s:s, s:o}", "schemaVersion", 2, "mediaType", MEDIA_OCI_INDEX,
                                  "manifests", manifests);
        char *s = json_dumps(index, JSON_COMPACT);
        files_add(f, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 30);
        files_add(f, "index.json", s, strlen(s));
        free(s);
        json_decref(index);
}

static void fx_open(struct store_fx *f) {
        if (store_fx_open(f, "import") < 0)
                TEST_FAIL("store fixture: %s", strempty(f->err.msg));
}

static int fx_import(struct store_fx *f, const char *rel, const char *default_repo) {
        char *p = nl_strdupf("%s/%s", f->dir, rel);
        int r;

        nl_error_clear(&f->err);
        r = image_import(f->s, p, default_repo, &f->err);
        if (r < 0 && getenv("TEST_VERBOSE"))
                fprintf(stderr, "  import %s: %s\n", rel, strempty(f->err.msg));
        free(p);
        return r;
}

/* The image named `name` has id `config` and its layers unpacked, the top one holding `top`. */
static void check_image(struct store_fx *f, const char *name, const char *config, size_t n_layers,
                        const char *top) {
        struct image_info *i = NULL;
        nl_error err = NL_ERROR_INIT;

        if (image_store_lookup(f->s, name, &i, &err) < 0) {
                TEST_FAIL("lookup \"%s\": %s", name, err.msg);
                nl_error_clear(&err);
                return;
        }
        CHECK_STR_EQ(i->id, config);
        CHECK_INT_EQ(i->n_chain_ids, n_layers);
        if (i->n_chain_ids > 0) {
                char *lp = image_store_layer_path(f->s, i->chain_ids[i->n_chain_ids - 1]);
                char *p = nl_strdupf("%s/%s", lp, top);
                struct stat st;
                CHECK(stat(p, &st) == 0 && S_ISREG(st.st_mode));
                free(p);
                free(lp);
        }
        image_info_free(i);
}

static const char *const two_layers[] = {"base.txt", "app.txt"};

TEST(import_oci_dir) {
        struct store_fx f;
        struct files fs = {};
        char config[DIGEST_STRING_MAX];
        json_t *d;

        fx_open(&f);
        d = layout_image(&fs, two_layers, 2, "amd64", config);
        json_object_set_new(d, "annotations", json_pack("{s:s}", "org.opencontainers.image.ref.name", "v1"));
        layout_finish(&fs, json_pack("[o]", d));
        {
                char *p = nl_strdupf("%s/layout", f.dir);
                mkdir(p, 0755);
                CHECK_INT_EQ(write_files_dir(&fs, p), 0);
                free(p);
        }
        CHECK_INT_EQ(fx_import(&f, "layout", "example.com/app"), 1);
        check_image(&f, "example.com/app:v1", config, 2, "app.txt");
        /* again: nothing new, the same image */
        CHECK_INT_EQ(fx_import(&f, "layout", "example.com/app"), 1);
        /* without a default repository a bare tag names nothing: imported by ID */
        CHECK_INT_EQ(fx_import(&f, "layout", NULL), 1);
        check_image(&f, config, config, 2, "app.txt");
        files_free(&fs);
        store_fx_close(&f);
}

TEST(import_oci_multi_platform) {
        static const char *const one[] = {"host.txt"}, *const other[] = {"other.txt"};
        struct store_fx f;
        struct files fs = {};
        struct oci_platform host;
        char config[DIGEST_STRING_MAX], other_cfg[DIGEST_STRING_MAX], nested[DIGEST_STRING_MAX];
        json_t *dh, *dother, *manifests;
        struct image_info *i = NULL;
        size_t len;

        fx_open(&f);
        oci_platform_host(&host);
        /* index.json lists both platforms under one name: only the host's is imported */
        dh = layout_image(&fs, one, 1, host.architecture, config);
        dother = layout_image(&fs, other, 1, "nosucharch", other_cfg);
        json_object_set_new(dh, "platform",
                            json_pack("{s:s, s:s}", "os", "linux", "architecture", host.architecture));
        json_object_set_new(dother, "platform",
                            json_pack("{s:s, s:s}", "os", "linux", "architecture", "nosucharch"));
        json_object_set_new(dh, "annotations",
                            json_pack("{s:s}", "io.containerd.image.name", "registry.example.com/multi:2"));
        json_object_set_new(dother, "annotations",
                            json_pack("{s:s}", "io.containerd.image.name", "registry.example.com/multi:2"));
        manifests = json_pack("[O, O]", dother, dh);

        /* and a nested index (as docker 25 and buildx write) with both, under another name */
        json_t *nidx = json_pack("{s:i, s:s, s:[O, O]}", "schemaVersion", 2, "mediaType", MEDIA_OCI_INDEX,
                                 "manifests", dother, dh);
        files_json(&fs, nidx, nested, &len);
        json_array_append_new(manifests, json_pack("{s:s, s:s, s:I, s:{s:s}}", "mediaType", MEDIA_OCI_INDEX,
                                                   "digest", nested, "size", (json_int_t) len, "annotations",
                                                   "org.opencontainers.image.ref.name", "nested"));
        json_decref(dh);
        json_decref(dother);
        layout_finish(&fs, manifests);
        {
                char *p = nl_strdupf("%s/layout", f.dir);
                mkdir(p, 0755);
                CHECK_INT_EQ(write_files_dir(&fs, p), 0);
                free(p);
        }
        CHECK_INT_EQ(fx_import(&f, "layout", "example.com/n"), 2);
        check_image(&f, "registry.example.com/multi:2", config, 1, "host.txt");
        check_image(&f, "example.com/n:nested", config, 1, "host.txt");
        CHECK_INT_EQ(image_store_lookup(f.s, other_cfg, &i, &f.err), -ENOENT);
        CHECK_INT_EQ(image_store_lookup(f.s, config, &i, &f.err), 0);
        if (i) {
                char *rd = nl_strdupf("example.com/n@%s", nested);
                bool found = false;
                for (size_t k = 0; k < i->n_repo_digests; k++)
                        found |= streq(i->repo_digests[k], rd);
                CHECK(found); /* the repo digest of a nested index is the index's */
                free(rd);
        }
        image_info_free(i);
        files_free(&fs);
        store_fx_close(&f);
}

TEST(import_oci_archive) {
        struct store_fx f;
        struct files fs = {};
        char config[DIGEST_STRING_MAX];
        json_t *d;
        char *p;

        fx_open(&f);
        d = layout_image(&fs, two_layers, 2, "amd64", config);
        json_object_set_new(d, "annotations",
                            json_pack("{s:s}", "org.opencontainers.image.ref.name", "quay.io/team/app:3.1"));
        layout_finish(&fs, json_pack("[o]", d));
        /* a hostile extra entry: it names nothing and is never written anywhere */
        files_add(&fs, "../../escape", "x", 1);
        p = nl_strdupf("%s/image.tar", f.dir);
        CHECK_INT_EQ(write_files_tar(&fs, p, false), 0);
        free(p);
        CHECK_INT_EQ(fx_import(&f, "image.tar", NULL), 1);
        check_image(&f, "quay.io/team/app:3.1", config, 2, "app.txt");
        CHECK(access("/tmp/escape", F_OK) < 0);
        /* compressed archives too */
        p = nl_strdupf("%s/image.tar.gz", f.dir);
        CHECK_INT_EQ(write_files_tar(&fs, p, true), 0);
        free(p);
        CHECK_INT_EQ(fx_import(&f, "image.tar.gz", NULL), 1);
        files_free(&fs);
        store_fx_close(&f);
}

TEST(import_docker_archive) {
        struct store_fx f;
        struct files fs = {};
        struct membuf l1, l2;
        char d1[DIGEST_STRING_MAX], d2[DIGEST_STRING_MAX], config[DIGEST_STRING_MAX], cfgname[128];
        struct image_info *i = NULL;
        json_t *cfg, *man;
        char *s, *p, *mbuf = NULL;
        size_t mlen;

        fx_open(&f);
        tar_of_names((const char *const[]){"base.txt"}, 1, &l1);
        tar_of_names((const char *const[]){"app.txt"}, 1, &l2);
        digest_buffer(l1.data, l1.len, d1);
        digest_buffer(l2.data, l2.len, d2);
        cfg = json_pack("{s:s, s:s, s:{s:[s]}, s:{s:s, s:[s, s]}}", "architecture", "amd64", "os", "linux",
                        "config", "Cmd", "sh", "rootfs", "type", "layers", "diff_ids", d1, d2);
        s = json_dumps(cfg, JSON_COMPACT);
        digest_buffer(s, strlen(s), config);
        snprintf(cfgname, sizeof(cfgname), "%s.json", digest_hex(config));
        files_add(&fs, cfgname, s, strlen(s));
        free(s);
        json_decref(cfg);
        files_add(&fs, "aaa/layer.tar", l1.data, l1.len);
        files_add(&fs, "bbb/real.tar", l2.data, l2.len);
        files_symlink(&fs, "ccc/layer.tar", "../bbb/real.tar"); /* old docker save dedups so */
        man = json_pack("[{s:s, s:[s, s], s:[s, s]}]", "Config", cfgname, "RepoTags", "busybox:latest",
                        "example.com/x/y:1", "Layers", "./aaa/layer.tar", "ccc/layer.tar");
        s = json_dumps(man, JSON_COMPACT);
        files_add(&fs, "manifest.json", s, strlen(s));
        free(s);
        json_decref(man);
        p = nl_strdupf("%s/docker.tar", f.dir);
        CHECK_INT_EQ(write_files_tar(&fs, p, false), 0);
        free(p);

        CHECK_INT_EQ(fx_import(&f, "docker.tar", NULL), 1);
        check_image(&f, "docker.io/library/busybox:latest", config, 2, "app.txt");
        check_image(&f, "example.com/x/y:1", config, 2, "app.txt");
        /* the record points at a synthesized OCI manifest of uncompressed layers */
        CHECK_INT_EQ(image_store_lookup(f.s, config, &i, &f.err), 0);
        if (i && image_store_read_blob(f.s, i->manifest_digest, IMAGE_MAX_MANIFEST_BYTES, &mbuf, &mlen,
                                       &f.err) == 0) {
                struct oci_manifest *m = NULL;
                CHECK_INT_EQ(oci_manifest_parse(mbuf, mlen, NULL, &m, &f.err), 0);
                if (m) {
                        CHECK_INT_EQ(m->n_layers, 2);
                        CHECK_STR_EQ(m->layers[0].media_type, MEDIA_OCI_LAYER);
                        CHECK_STR_EQ(m->layers[0].digest, d1);
                        CHECK_STR_EQ(m->layers[1].digest, d2);
                        CHECK_STR_EQ(m->config.digest, config);
                        CHECK(image_store_has_blob(f.s, d1) && image_store_has_blob(f.s, d2));
                }
                oci_manifest_free(m);
        }
        free(mbuf);
        image_info_free(i);
        free(l1.data);
        free(l2.data);
        files_free(&fs);
        store_fx_close(&f);
}

TEST(import_refuses_damage) {
        struct store_fx f;
        struct files fs = {};
        char config[DIGEST_STRING_MAX], *p;
        json_t *d;
        int r;

        fx_open(&f);
        d = layout_image(&fs, two_layers, 2, "amd64", config);
        json_object_set_new(d, "annotations", json_pack("{s:s}", "org.opencontainers.image.ref.name", "v1"));
        layout_finish(&fs, json_pack("[o]", d));
        /* damage the first layer blob: same size, other bytes */
        for (size_t k = 0; k < fs.n; k++)
                if (strncmp(fs.v[k].path, "blobs/", 6) == 0 && fs.v[k].len > 100) {
                        char *digest = nl_strdupf("sha256:%s", fs.v[k].path + strlen("blobs/sha256/"));
                        fs.v[k].data[fs.v[k].len / 2] ^= 0x55;
                        p = nl_strdupf("%s/layout", f.dir);
                        mkdir(p, 0755);
                        CHECK_INT_EQ(write_files_dir(&fs, p), 0);
                        free(p);
                        r = fx_import(&f, "layout", "example.com/app");
                        CHECK_INT_EQ(r, -EBADMSG);
                        CHECK(f.err.msg && strstr(f.err.msg, digest));
                        CHECK(!image_store_has_blob(f.s, digest));
                        free(digest);
                        break;
                }
        struct image_info **l = NULL;
        size_t n = 9;
        CHECK_INT_EQ(image_store_list(f.s, &l, &n, &f.err), 0);
        CHECK_INT_EQ(n, 0);
        image_info_list_free(l, n);

        /* neither layout nor docker archive */
        p = nl_strdupf("%s/empty", f.dir);
        mkdir(p, 0755);
        free(p);
        CHECK_INT_EQ(fx_import(&f, "empty", NULL), -EINVAL);
        CHECK(f.err.msg && strstr(f.err.msg, "empty"));
        /* not a tar */
        p = nl_strdupf("%s/garbage.tar", f.dir);
        int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        CHECK_INT_EQ(write(fd, "this is not a tar archive at all, no", 36), 36);
        close(fd);
        free(p);
        CHECK(fx_import(&f, "garbage.tar", NULL) < 0);
        CHECK(f.err.msg && strstr(f.err.msg, "garbage.tar"));
        /* an OCI layout dir whose blob is a symlink out of it is not followed (a fresh store:
         * a blob in the store already is not read from the layout again) */
        store_fx_close(&f);
        fx_open(&f);
        files_free(&fs);
        d = layout_image(&fs, two_layers, 2, "amd64", config);
        layout_finish(&fs, json_pack("[o]", d));
        for (size_t k = 0; k < fs.n; k++)
                if (strstr(fs.v[k].path, digest_hex(config))) {
                        free(fs.v[k].data);
                        fs.v[k].data = NULL;
                        fs.v[k].link = strdup("/etc/hostname");
                }
        p = nl_strdupf("%s/linked", f.dir);
        mkdir(p, 0755);
        CHECK_INT_EQ(write_files_dir(&fs, p), 0);
        free(p);
        CHECK(fx_import(&f, "linked", NULL) < 0);
        CHECK(f.err.msg && strstr(f.err.msg, digest_hex(config)));
        files_free(&fs);
        store_fx_close(&f);
}
