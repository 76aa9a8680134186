/* SPDX-License-Identifier: Apache-2.0 */
/* Import of OCI image layouts (a directory or an oci-archive tar) and docker-archive tars
 * (`docker save`). Archives are read once, each regular file into a temp file of the store
 * (hashed on the way); paths in the archive are only keys, never filesystem paths. Every blob
 * is verified against its digest before it enters the store, and layers go through
 * image_store_unpack_layer like pulled ones. */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "common/fs.h"
#include "store-internal.h"

#define IMPORT_MAX_LINK_HOPS 8
#define IMPORT_MAX_INDEX_DEPTH 1 /* index.json -> (nested index ->) manifest */

struct src_entry {
        char *path; /* normalized path in the archive */
        char *link; /* normalized target of a symlink or hardlink, or NULL */
        char *tmp;  /* the content in the store's temp area; NULL once committed */
        char digest[DIGEST_STRING_MAX];
        int64_t size;
};

struct import_src {
        struct image_store *s;
        int dir_fd; /* an OCI layout directory, or -1 for an archive */
        struct src_entry *e;
        size_t n;
};

static void src_done(struct import_src *src) {
        for (size_t i = 0; i < src->n; i++) {
                if (src->e[i].tmp)
                        (void) unlink(src->e[i].tmp);
                free(src->e[i].tmp);
                free(src->e[i].path);
                free(src->e[i].link);
        }
        free(src->e);
        if (src->dir_fd >= 0)
                close(src->dir_fd);
}

DEFINE_TRIVIAL_CLEANUP_FUNC(struct archive *, archive_read_free)

/* Lexical normalization of a path inside the archive or layout: "./", "." and empty
 * components dropped, ".." pops a component; absolute paths and paths leaving the top refused
 * (-EINVAL). base is the directory a relative symlink target starts from, or NULL. */
static int path_norm(const char *base, const char *p, char **ret) {
        _cleanup_free_ char *joined = NULL;
        char *out, *q;
        size_t len = 0;

        if (!p || *p == '/' || strlen(p) > UNPACK_MAX_PATH)
                return -EINVAL;
        joined = base && *base ? nl_strdupf("%s/%s", base, p) : strdup(p);
        if (!joined)
                return -ENOMEM;
        out = malloc(strlen(joined) + 1);
        if (!out)
                return -ENOMEM;
        for (q = joined; *q;) {
                size_t n = strcspn(q, "/");
                if (n == 2 && q[0] == '.' && q[1] == '.') {
                        char *slash;
                        if (len == 0) {
                                free(out);
                                return -EINVAL;
                        }
                        out[len] = '\0';
                        slash = strrchr(out, '/');
                        len = slash ? (size_t) (slash - out) : 0;
                } else if (n > 0 && !(n == 1 && q[0] == '.')) {
                        if (len > 0)
                                out[len++] = '/';
                        memcpy(out + len, q, n);
                        len += n;
                }
                q += n;
                while (*q == '/')
                        q++;
        }
        out[len] = '\0';
        *ret = out;
        return 0;
}

/* ==== reading an archive into the temp area =============================================== */

static struct src_entry *src_find(struct import_src *src, const char *path) {
        _cleanup_free_ char *norm = NULL;
        const char *want;

        if (path_norm(NULL, path, &norm) < 0)
                return NULL;
        want = norm;
        for (unsigned hop = 0; hop <= IMPORT_MAX_LINK_HOPS; hop++) {
                struct src_entry *found = NULL;
                /* the last entry of a path wins, as when a tar is extracted */
                for (size_t i = src->n; i > 0 && !found; i--)
                        if (streq(src->e[i - 1].path, want))
                                found = &src->e[i - 1];
                if (!found || !found->link)
                        return found;
                want = found->link;
        }
        return NULL;
}

static int src_add(struct import_src *src, struct src_entry *ent) {
        struct src_entry *n = realloc(src->e, (src->n + 1) * sizeof(*n));

        if (!n)
                return -ENOMEM;
        src->e = n;
        src->e[src->n++] = *ent;
        *ent = (struct src_entry){};
        return 0;
}

static int archive_copy_entry(struct import_src *src, struct archive *a, struct src_entry *ent,
                              uint64_t *total, nl_error *err) {
        _cleanup_(digester_freep) digester *d = digester_new();
        _cleanup_close_ int fd = -1;
        char buf[64 * 1024];
        int r;

        if (!d)
                return nl_error_set(err, -ENOMEM, "out of memory");
        r = image_store_tmpfile(src->s, &ent->tmp, &fd);
        if (r < 0)
                return nl_error_set(err, r, "temp file: %s", strerror(-r));
        for (;;) {
                la_ssize_t n = archive_read_data(a, buf, sizeof(buf));
                if (n < 0)
                        return nl_error_set(err, -EBADMSG, "entry \"%s\": %s", ent->path,
                                            strempty(archive_error_string(a)));
                if (n == 0)
                        break;
                *total += (uint64_t) n;
                if (*total > IMPORT_MAX_BYTES)
                        return nl_error_set(err, -EFBIG, "more than %llu bytes", IMPORT_MAX_BYTES);
                /* A compressed archive (`docker save | gzip`) is held to the layers' rule: a
                 * small file must not fill the store's disk with zeros before anything checks it. */
                la_int64_t raw = archive_filter_bytes(a, -1);
                const struct unpack_limits *lim = &src->s->limits;
                if (archive_filter_count(a) > 1 && lim->max_ratio > 0 && raw > 0 && *total > lim->ratio_floor &&
                    *total / lim->max_ratio > (uint64_t) raw)
                        return nl_error_set(err, -EFBIG,
                                            "more than %" PRIu64 " bytes uncompressed from %" PRId64
                                            " compressed (ratio above %" PRIu64 "): refusing a compression bomb",
                                            *total, (int64_t) raw, lim->max_ratio);
                if (digester_update(d, buf, (size_t) n) < 0)
                        return nl_error_set(err, -EIO, "digest failed");
                for (la_ssize_t off = 0; off < n;) {
                        ssize_t k = write(fd, buf + off, (size_t) (n - off));
                        if (k < 0 && errno == EINTR)
                                continue;
                        if (k < 0)
                                return nl_error_set(err, -errno, "write temp file: %m");
                        off += k;
                }
                ent->size += n;
        }
        r = digester_final(d, ent->digest);
        if (r < 0)
                return nl_error_set(err, r, "digest failed");
        return 0;
}

static int src_load_archive(struct import_src *src, int fd, nl_error *err) {
        _cleanup_(archive_read_freep) struct archive *a = archive_read_new();
        struct archive_entry *e;
        uint64_t total = 0;
        int r;

        if (!a)
                return nl_error_set(err, -ENOMEM, "out of memory");
        /* `docker save | gzip` is common: compressed archives are taken too. */
        if (archive_read_support_filter_gzip(a) != ARCHIVE_OK ||
            archive_read_support_filter_zstd(a) != ARCHIVE_OK ||
            archive_read_support_format_tar(a) != ARCHIVE_OK)
                return nl_error_set(err, -EOPNOTSUPP, "libarchive lacks tar, gzip or zstd support");
        if (archive_read_open_fd(a, fd, 64 * 1024) != ARCHIVE_OK)
                return nl_error_set(err, -EBADMSG, "not a tar archive: %s",
                                    strempty(archive_error_string(a)));
        for (;;) {
                struct src_entry ent = {};
                const char *target;

                r = archive_read_next_header(a, &e);
                if (r == ARCHIVE_EOF)
                        break;
                if (r < ARCHIVE_WARN)
                        return nl_error_set(err, -EBADMSG, "not a readable tar archive: %s",
                                            strempty(archive_error_string(a)));
                if (src->n >= IMPORT_MAX_ENTRIES)
                        return nl_error_set(err, -EFBIG, "more than %u entries", IMPORT_MAX_ENTRIES);
                /* Paths that leave the archive cannot name anything we look up: skipped. */
                if (path_norm(NULL, archive_entry_pathname(e), &ent.path) < 0 || !*ent.path) {
                        free(ent.path);
                        continue;
                }
                if ((target = archive_entry_hardlink(e))) {
                        r = path_norm(NULL, target, &ent.link);
                } else if (archive_entry_filetype(e) == AE_IFLNK) {
                        _cleanup_free_ char *base = strdup(ent.path);
                        char *slash = base ? strrchr(base, '/') : NULL;
                        if (!base) {
                                r = -ENOMEM;
                        } else {
                                if (slash)
                                        *slash = '\0';
                                else
                                        *base = '\0';
                                r = path_norm(base, archive_entry_symlink(e), &ent.link);
                        }
                } else if (archive_entry_filetype(e) == AE_IFREG) {
                        r = archive_copy_entry(src, a, &ent, &total, err);
                        if (r < 0) {
                                if (ent.tmp)
                                        (void) unlink(ent.tmp);
                                free(ent.tmp);
                                free(ent.path);
                                return r;
                        }
                } else {
                        free(ent.path);
                        continue;
                }
                if (r < 0) { /* a link leading out of the archive: it names nothing */
                        free(ent.path);
                        free(ent.link);
                        if (r == -ENOMEM)
                                return nl_error_set(err, r, "out of memory");
                        continue;
                }
                r = src_add(src, &ent);
                if (r < 0) {
                        if (ent.tmp)
                                (void) unlink(ent.tmp);
                        free(ent.tmp);
                        free(ent.path);
                        free(ent.link);
                        return nl_error_set(err, r, "out of memory");
                }
        }
        return 0;
}

/* ==== reading from the source ============================================================= */

/* A file below the layout directory, never through a symlink. */
static int open_beneath(int dfd, const char *path) {
        struct open_how how = {
                .flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW,
                .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
        };
        _cleanup_free_ char *copy = NULL;
        _cleanup_close_ int fd = -1;
        char *p, *next;
        int r;

        r = (int) syscall(SYS_openat2, dfd, path, &how, sizeof(how));
        if (r >= 0 || (errno != ENOSYS && errno != EPERM && errno != E2BIG))
                return r >= 0 ? r : -errno;
        copy = strdup(path);
        if (!copy)
                return -ENOMEM;
        fd = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return -errno;
        for (p = copy; *p; p = next) {
                int nfd;
                next = p + strcspn(p, "/");
                if (*next)
                        *next++ = '\0';
                nfd = openat(fd, p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (*next ? O_DIRECTORY : 0));
                if (nfd < 0)
                        return -errno;
                close(fd);
                fd = nfd;
        }
        return TAKE_FD(fd);
}

static int src_open(struct import_src *src, const char *path, struct src_entry **ret_ent) {
        _cleanup_free_ char *norm = NULL;
        struct src_entry *ent;
        int r, fd;

        if (src->dir_fd >= 0) {
                r = path_norm(NULL, path, &norm);
                if (r < 0)
                        return r;
                return open_beneath(src->dir_fd, norm);
        }
        ent = src_find(src, path);
        if (!ent || !ent->tmp) {
                if (ent && ret_ent) {
                        *ret_ent = ent; /* committed already */
                        return -EALREADY;
                }
                return -ENOENT;
        }
        fd = open(ent->tmp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (ret_ent)
                *ret_ent = ent;
        return fd;
}

static bool src_exists(struct import_src *src, const char *path) {
        struct src_entry *ent = NULL;
        int fd = src_open(src, path, &ent);

        if (fd >= 0)
                close(fd);
        return fd >= 0;
}

static int src_read(struct import_src *src, const char *path, size_t max, char **ret, size_t *ret_len,
                    nl_error *err) {
        _cleanup_close_ int fd = src_open(src, path, NULL);
        int r;

        if (fd < 0)
                return nl_error_set(err, fd, "\"%s\": %s", path, strerror(-fd));
        r = nl_read_fd(fd, max, ret, ret_len);
        if (r < 0)
                return nl_error_set(err, r, "\"%s\": %s", path,
                                    r == -EFBIG ? "file too large" : strerror(-r));
        return 0;
}

/* Copy a file of the layout directory into a temp file, hashing it. */
static int copy_to_tmp(struct import_src *src, int fd, char **ret_tmp, char ret_digest[DIGEST_STRING_MAX],
                       int64_t *ret_size) {
        _cleanup_(digester_freep) digester *d = digester_new();
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int out = -1;
        char buf[64 * 1024];
        int64_t size = 0;
        int r;

        if (!d)
                return -ENOMEM;
        r = image_store_tmpfile(src->s, &tmp, &out);
        if (r < 0)
                return r;
        for (;;) {
                ssize_t n = read(fd, buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        r = -errno;
                        goto fail;
                }
                if (n == 0)
                        break;
                r = digester_update(d, buf, (size_t) n);
                for (ssize_t off = 0; r >= 0 && off < n;) {
                        ssize_t k = write(out, buf + off, (size_t) (n - off));
                        if (k < 0 && errno != EINTR)
                                r = -errno;
                        else if (k > 0)
                                off += k;
                }
                if (r < 0)
                        goto fail;
                size += n;
        }
        r = digester_final(d, ret_digest);
        if (r < 0)
                goto fail;
        *ret_tmp = TAKE_PTR(tmp);
        *ret_size = size;
        return 0;
fail:
        (void) unlink(tmp);
        return r;
}

/* Put the file at path into the store's blobs, verified against expected (and expected_size
 * when >= 0) if given; the digest it has is returned. */
static int src_blob(struct import_src *src, const char *path, const char *expected, int64_t expected_size,
                    char ret_digest[DIGEST_STRING_MAX], int64_t *ret_size, nl_error *err) {
        _cleanup_free_ char *tmp = NULL;
        char digest[DIGEST_STRING_MAX];
        struct src_entry *ent = NULL;
        int64_t size = 0;
        int r;

        if (expected && image_store_has_blob(src->s, expected)) {
                /* In the store already, verified when it went in: not copied again. */
                _cleanup_free_ char *bp = image_store_blob_path(src->s, expected);
                struct stat st;
                if (!bp || stat(bp, &st) < 0)
                        return nl_error_set(err, bp ? -errno : -ENOMEM, "blob %s: %m", expected);
                if (expected_size >= 0 && st.st_size != expected_size)
                        return nl_error_set(err, -EBADMSG, "blob %s is %" PRId64 " bytes, expected %" PRId64,
                                            expected, (int64_t) st.st_size, expected_size);
                memcpy(ret_digest, expected, DIGEST_STRING_MAX);
                if (ret_size)
                        *ret_size = st.st_size;
                return 0;
        }
        if (src->dir_fd >= 0) {
                _cleanup_close_ int fd = src_open(src, path, NULL);
                if (fd < 0)
                        return nl_error_set(err, fd, "\"%s\": %s", path, strerror(-fd));
                r = copy_to_tmp(src, fd, &tmp, digest, &size);
                if (r < 0)
                        return nl_error_set(err, r, "copy \"%s\": %s", path, strerror(-r));
        } else {
                r = src_open(src, path, &ent);
                if (r == -EALREADY) { /* shared by several images: in the store already */
                        memcpy(digest, ent->digest, DIGEST_STRING_MAX);
                        size = ent->size;
                } else if (r < 0)
                        return nl_error_set(err, r, "\"%s\" is not in the archive", path);
                else {
                        close(r);
                        memcpy(digest, ent->digest, DIGEST_STRING_MAX);
                        size = ent->size;
                }
        }
        if ((expected && !streq(digest, expected)) || (expected_size >= 0 && size != expected_size)) {
                if (tmp)
                        (void) unlink(tmp);
                if (expected && !streq(digest, expected))
                        return nl_error_set(err, -EBADMSG, "blob %s: content of \"%s\" has digest %s",
                                            expected, path, digest);
                return nl_error_set(err, -EBADMSG, "blob %s: \"%s\" is %" PRId64 " bytes, expected %" PRId64,
                                    digest, path, size, expected_size);
        }
        if (tmp)
                r = store_commit_known(src->s, tmp, digest, err);
        else if (ent && ent->tmp) {
                r = store_commit_known(src->s, ent->tmp, digest, err);
                free(ent->tmp);
                ent->tmp = NULL;
        } else
                r = image_store_has_blob(src->s, digest)
                            ? 0
                            : nl_error_set(err, -ENOENT, "blob %s went missing", digest);
        if (r < 0)
                return r;
        memcpy(ret_digest, digest, DIGEST_STRING_MAX);
        if (ret_size)
                *ret_size = size;
        return 0;
}

static char *oci_blob_path(const char *digest) {
        return nl_strdupf("blobs/sha256/%s", digest_hex(digest));
}

static int src_oci_blob(struct import_src *src, const struct oci_descriptor *d, nl_error *err) {
        _cleanup_free_ char *path = NULL;
        char got[DIGEST_STRING_MAX];

        if (!digest_is_valid(d->digest))
                return nl_error_set(err, -EINVAL, "invalid digest \"%s\"", strempty(d->digest));
        path = oci_blob_path(d->digest);
        if (!path)
                return nl_error_set(err, -ENOMEM, "out of memory");
        return src_blob(src, path, d->digest, d->size, got, NULL, err);
}

/* ==== common steps ======================================================================== */

static int canonical_name(const char *s, char **ret, nl_error *err) {
        struct image_ref ref = {};
        int r;

        r = image_ref_parse(s, &ref, err);
        if (r < 0)
                return r;
        *ret = image_ref_string(&ref);
        image_ref_done(&ref);
        return *ret ? 0 : nl_error_set(err, -ENOMEM, "out of memory");
}

static const char *layer_media_type_sniff(struct image_store *s, const char *digest) {
        _cleanup_free_ char *path = image_store_blob_path(s, digest);
        _cleanup_close_ int fd = path ? open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) : -1;
        unsigned char m[4] = {};

        if (fd >= 0 && read(fd, m, sizeof(m)) == (ssize_t) sizeof(m)) {
                if (m[0] == 0x1f && m[1] == 0x8b)
                        return MEDIA_OCI_LAYER_GZIP;
                if (m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd)
                        return MEDIA_OCI_LAYER_ZSTD;
        }
        return MEDIA_OCI_LAYER;
}

static int read_config(struct image_store *s, const char *digest, struct image_config **ret, nl_error *err) {
        _cleanup_free_ char *buf = NULL;
        size_t len;
        int r;

        r = image_store_read_blob(s, digest, IMAGE_MAX_CONFIG_BYTES, &buf, &len, err);
        if (r < 0)
                return r;
        r = image_config_parse(buf, len, ret, err);
        return r < 0 ? nl_error_prefix(err, "config %s", digest) : 0;
}

static int unpack_layers(struct image_store *s, struct image_config *c, char *const *blobs,
                         const char *const *media_types, size_t n, nl_error *err) {
        char **chains = NULL;
        int r;

        if (c->n_diff_ids != n)
                return nl_error_set(err, -EINVAL, "image has %zu layers but its config %zu diff_ids", n,
                                    c->n_diff_ids);
        r = image_chain_ids(c->diff_ids, n, &chains);
        if (r < 0)
                return nl_error_set(err, r, "chain IDs: %s", strerror(-r));
        for (size_t i = 0; i < n && r >= 0; i++)
                r = image_store_unpack_layer(s, blobs[i], media_types[i], c->diff_ids[i], chains[i], err);
        for (size_t i = 0; i < n; i++)
                free(chains[i]);
        free(chains);
        return r;
}

/* ==== OCI layout ========================================================================== */

/* The layout's manifest or index d (what names it: "manifest" or "index"), into the store and
 * parsed. */
static int read_oci_document(struct import_src *src, const struct oci_descriptor *d, const char *what,
                             struct oci_manifest **ret, nl_error *err) {
        _cleanup_free_ char *buf = NULL;
        size_t len;
        int r;

        r = src_oci_blob(src, d, err);
        if (r < 0)
                return r;
        r = image_store_read_blob(src->s, d->digest, IMAGE_MAX_MANIFEST_BYTES, &buf, &len, err);
        if (r < 0)
                return r;
        r = oci_manifest_parse(buf, len, d->media_type, ret, err);
        if (r < 0)
                return nl_error_prefix(err, "%s %s", what, d->digest);
        return 0;
}

static int import_manifest(struct import_src *src, const struct oci_descriptor *d, const char *name,
                           const char *index_digest, nl_error *err) {
        _cleanup_(oci_manifest_freep) struct oci_manifest *m = NULL;
        _cleanup_(image_config_freep) struct image_config *c = NULL;
        _cleanup_free_ char **blobs = NULL;
        _cleanup_free_ const char **types = NULL;
        int r;

        r = read_oci_document(src, d, "manifest", &m, err);
        if (r < 0)
                return r;
        if (m->kind != OCI_KIND_MANIFEST)
                return nl_error_set(err, -EINVAL, "manifest %s is an index inside an index", d->digest);
        r = src_oci_blob(src, &m->config, err);
        if (r < 0)
                return r;
        r = read_config(src->s, m->config.digest, &c, err);
        if (r < 0)
                return r;
        blobs = calloc(m->n_layers + 1, sizeof(*blobs));
        types = calloc(m->n_layers + 1, sizeof(*types));
        if (!blobs || !types)
                return nl_error_set(err, -ENOMEM, "out of memory");
        for (size_t i = 0; i < m->n_layers; i++) {
                r = src_oci_blob(src, &m->layers[i], err);
                if (r < 0)
                        return r;
                blobs[i] = m->layers[i].digest;
                types[i] = m->layers[i].media_type;
        }
        r = unpack_layers(src->s, c, blobs, types, m->n_layers, err);
        if (r < 0)
                return r;
        return image_store_add_image(src->s, name, d->digest, index_digest, err);
}

static bool is_index_type(const char *t) {
        return t && (streq(t, MEDIA_OCI_INDEX) || streq(t, MEDIA_DOCKER_LIST));
}

static int import_descriptor(struct import_src *src, const struct oci_descriptor *d, const char *name,
                             nl_error *err) {
        _cleanup_(oci_manifest_freep) struct oci_manifest *idx = NULL;
        const struct oci_descriptor *pick;
        struct oci_platform host;
        int r;

        if (!is_index_type(d->media_type))
                return import_manifest(src, d, name, NULL, err);
        /* A nested index (buildx, docker 25+): this platform's manifest from it. */
        r = read_oci_document(src, d, "index", &idx, err);
        if (r < 0)
                return r;
        if (idx->kind != OCI_KIND_INDEX)
                return nl_error_set(err, -EINVAL, "index %s is not an index", d->digest);
        oci_platform_host(&host);
        r = oci_index_select(idx, &host, &pick, err);
        if (r < 0)
                return nl_error_prefix(err, "index %s", d->digest);
        if (is_index_type(pick->media_type))
                return nl_error_set(err, -EINVAL, "index %s: nested more than %d deep", d->digest,
                                    IMPORT_MAX_INDEX_DEPTH);
        return import_manifest(src, pick, name, d->digest, err);
}

/* The name an index.json entry gives its image: containerd's io.containerd.image.name (a full
 * reference), else org.opencontainers.image.ref.name, a full reference or a bare tag taken
 * relative to default_repo. NULL when there is none (imported by ID only). */
static int descriptor_name(const struct oci_descriptor *d, const char *default_repo, char **ret,
                           nl_error *err) {
        const char *full = json_string_value(json_object_get(d->annotations, "io.containerd.image.name"));
        const char *ref =
                json_string_value(json_object_get(d->annotations, "org.opencontainers.image.ref.name"));
        _cleanup_free_ char *joined = NULL;

        *ret = NULL;
        if (full)
                return canonical_name(full, ret, err);
        if (!ref)
                return 0;
        if (!strpbrk(ref, "/:@")) {
                if (!default_repo)
                        return 0;
                joined = nl_strdupf("%s:%s", default_repo, ref);
                if (!joined)
                        return nl_error_set(err, -ENOMEM, "out of memory");
                ref = joined;
        }
        return canonical_name(ref, ret, err);
}

static int import_oci(struct import_src *src, const char *default_repo, nl_error *err) {
        _cleanup_(oci_manifest_freep) struct oci_manifest *index = NULL;
        _cleanup_free_ char *buf = NULL;
        _cleanup_free_ bool *done = NULL;
        _cleanup_(json_decrefp) json_t *layout = NULL;
        size_t len;
        int r, n = 0;

        r = src_read(src, "oci-layout", 64 * 1024, &buf, &len, err);
        if (r < 0)
                return r;
        layout = json_loadb(buf, len, 0, NULL);
        if (!json_is_string(json_object_get(layout, "imageLayoutVersion")))
                return nl_error_set(err, -EINVAL, "oci-layout has no imageLayoutVersion");
        free(TAKE_PTR(buf));
        r = src_read(src, "index.json", IMPORT_MAX_JSON_BYTES, &buf, &len, err);
        if (r < 0)
                return r;
        r = oci_manifest_parse(buf, len, MEDIA_OCI_INDEX, &index, err);
        if (r < 0)
                return nl_error_prefix(err, "index.json");
        if (index->kind != OCI_KIND_INDEX)
                return nl_error_set(err, -EINVAL, "index.json is not an image index");
        if (index->n_manifests > IMPORT_MAX_IMAGES)
                return nl_error_set(err, -EFBIG, "more than %u images", IMPORT_MAX_IMAGES);
        done = calloc(index->n_manifests + 1, sizeof(*done));
        if (!done)
                return nl_error_set(err, -ENOMEM, "out of memory");

        for (size_t i = 0; i < index->n_manifests; i++) {
                _cleanup_free_ char *name = NULL;
                const struct oci_descriptor *pick = &index->manifests[i];

                if (done[i])
                        continue;
                done[i] = true;
                r = descriptor_name(pick, default_repo, &name, err);
                if (r < 0)
                        return nl_error_prefix(err, "image name");
                if (pick->platform.os || pick->platform.architecture) {
                        /* Several platforms under one name right in index.json: this host's. */
                        _cleanup_free_ struct oci_descriptor *group =
                                calloc(index->n_manifests, sizeof(*group));
                        _cleanup_free_ size_t *orig = calloc(index->n_manifests, sizeof(*orig));
                        struct oci_manifest sub = {.kind = OCI_KIND_INDEX};
                        struct oci_platform host;

                        if (!group || !orig)
                                return nl_error_set(err, -ENOMEM, "out of memory");
                        for (size_t j = i; j < index->n_manifests; j++) {
                                const struct oci_descriptor *o = &index->manifests[j];
                                _cleanup_free_ char *oname = NULL;
                                if (!o->platform.os && !o->platform.architecture)
                                        continue;
                                if (j > i && (descriptor_name(o, default_repo, &oname, err) < 0 ||
                                              !streq_ptr(oname, name)))
                                        continue;
                                orig[sub.n_manifests] = j;
                                group[sub.n_manifests++] = *o; /* shallow: owned by index */
                                done[j] = true;
                        }
                        nl_error_clear(err);
                        sub.manifests = group;
                        oci_platform_host(&host);
                        r = oci_index_select(&sub, &host, &pick, err);
                        if (r < 0)
                                return r;
                        pick = &index->manifests[orig[pick - group]];
                }
                r = import_descriptor(src, pick, name, err);
                if (r < 0)
                        return name ? nl_error_prefix(err, "image \"%s\"", name) : r;
                n++;
        }
        return n;
}

/* ==== docker-archive ====================================================================== */

static int import_docker_one(struct import_src *src, json_t *item, size_t k, nl_error *err) {
        _cleanup_(image_config_freep) struct image_config *c = NULL;
        _cleanup_(json_decrefp) json_t *manifest = NULL;
        _cleanup_free_ char *mbuf = NULL;
        _cleanup_free_ char **blobs = NULL;
        _cleanup_free_ const char **types = NULL;
        char cdigest[DIGEST_STRING_MAX], mdigest[DIGEST_STRING_MAX];
        const char *cpath = json_string_value(json_object_get(item, "Config"));
        json_t *layers = json_object_get(item, "Layers"), *tags = json_object_get(item, "RepoTags"), *v;
        size_t n, i;
        int64_t csize;
        int r;

        if (!json_is_object(item) || !cpath || !json_is_array(layers) ||
            (tags && !json_is_null(tags) && !json_is_array(tags)))
                return nl_error_set(err, -EINVAL, "manifest.json entry %zu: needs Config and Layers", k);
        n = json_array_size(layers);
        if (n > IMAGE_MAX_LAYERS)
                return nl_error_set(err, -EFBIG, "manifest.json entry %zu: more than %d layers", k,
                                    IMAGE_MAX_LAYERS);
        r = src_blob(src, cpath, NULL, -1, cdigest, &csize, err);
        if (r < 0)
                return r;
        r = read_config(src->s, cdigest, &c, err);
        if (r < 0)
                return r;
        manifest = json_pack("{s:i, s:s, s:{s:s, s:s, s:I}, s:[]}", "schemaVersion", 2, "mediaType",
                             MEDIA_OCI_MANIFEST, "config", "mediaType", MEDIA_OCI_CONFIG, "digest", cdigest,
                             "size", (json_int_t) csize, "layers");
        blobs = calloc(n + 1, sizeof(*blobs));
        types = calloc(n + 1, sizeof(*types));
        if (!manifest || !blobs || !types)
                return nl_error_set(err, -ENOMEM, "out of memory");
        json_array_foreach(layers, i, v) {
                char ldigest[DIGEST_STRING_MAX];
                int64_t lsize;
                const char *lpath = json_string_value(v);
                if (!lpath)
                        return nl_error_set(err, -EINVAL, "manifest.json entry %zu: layer %zu is not a path",
                                            k, i);
                /* Layers are named by path: their digest is what they hash to. */
                r = src_blob(src, lpath, NULL, -1, ldigest, &lsize, err);
                if (r < 0)
                        return r;
                types[i] = layer_media_type_sniff(src->s, ldigest);
                if (json_array_append_new(json_object_get(manifest, "layers"),
                                          json_pack("{s:s, s:s, s:I}", "mediaType", types[i], "digest",
                                                    ldigest, "size", (json_int_t) lsize)) < 0)
                        return nl_error_set(err, -ENOMEM, "out of memory");
                blobs[i] = (char *) json_string_value(
                        json_object_get(json_array_get(json_object_get(manifest, "layers"), i), "digest"));
        }
        r = unpack_layers(src->s, c, blobs, types, n, err);
        if (r < 0)
                return r;
        /* The record points at an OCI manifest, as if the image had been pulled. */
        mbuf = json_dumps(manifest, JSON_COMPACT);
        if (!mbuf)
                return nl_error_set(err, -ENOMEM, "out of memory");
        r = image_store_put_blob(src->s, mbuf, strlen(mbuf), NULL, mdigest, err);
        if (r < 0)
                return r;
        if (json_array_size(tags) == 0)
                return image_store_add_image(src->s, NULL, mdigest, NULL, err);
        json_array_foreach(tags, i, v) {
                _cleanup_free_ char *name = NULL;
                if (!json_is_string(v))
                        return nl_error_set(err, -EINVAL,
                                            "manifest.json entry %zu: RepoTags %zu is not a string", k, i);
                r = canonical_name(json_string_value(v), &name, err);
                if (r < 0)
                        return nl_error_prefix(err, "RepoTags");
                r = image_store_add_image(src->s, name, mdigest, NULL, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int import_docker(struct import_src *src, nl_error *err) {
        _cleanup_(json_decrefp) json_t *list = NULL;
        _cleanup_free_ char *buf = NULL;
        json_error_t jerr;
        size_t len, i;
        json_t *item;
        int r;

        r = src_read(src, "manifest.json", IMPORT_MAX_JSON_BYTES, &buf, &len, err);
        if (r < 0)
                return r;
        list = json_loadb(buf, len, 0, &jerr);
        if (!json_is_array(list))
                return nl_error_set(err, -EINVAL, "manifest.json is not a JSON array");
        if (json_array_size(list) > IMPORT_MAX_IMAGES)
                return nl_error_set(err, -EFBIG, "more than %u images", IMPORT_MAX_IMAGES);
        json_array_foreach(list, i, item) {
                r = import_docker_one(src, item, i, err);
                if (r < 0)
                        return r;
        }
        return (int) json_array_size(list);
}

static int import_path(struct image_store *s, const char *path, const char *default_repo, nl_error *err);

int image_import(struct image_store *s, const char *path, const char *default_repo, nl_error *err) {
        int r;

        if (isempty(path))
                return nl_error_set(err, -EINVAL, "import: no path given");
        r = import_path(s, path, default_repo, err);
        return r < 0 ? nl_error_prefix(err, "import \"%s\"", path) : r;
}

static int import_path(struct image_store *s, const char *path, const char *default_repo, nl_error *err) {
        _cleanup_(src_done) struct import_src src = {.s = s, .dir_fd = -1};
        _cleanup_close_ int fd = -1;
        struct stat st;
        int r;

        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) < 0)
                return nl_error_set(err, -errno, "%m");
        if (S_ISDIR(st.st_mode))
                src.dir_fd = TAKE_FD(fd);
        else if (S_ISREG(st.st_mode)) {
                r = src_load_archive(&src, fd, err);
                if (r < 0)
                        return r;
        } else
                return nl_error_set(err, -EINVAL, "neither a directory nor a file");

        /* docker save writes manifest.json (since Docker 25 next to an OCI layout): its
         * RepoTags are the names users expect. */
        if (src_exists(&src, "manifest.json"))
                return import_docker(&src, err);
        if (src_exists(&src, "index.json"))
                return import_oci(&src, default_repo, err);
        return nl_error_set(err, -EINVAL,
                            "neither an OCI image layout nor a docker archive "
                            "(no index.json or manifest.json)");
}
