/* SPDX-License-Identifier: Apache-2.0 */
/* The content store's image records (images/<config hex>.json): lookup, list, add, remove and
 * garbage collection, with the blobs and layers only records reference. The store itself
 * (locking, blobs, layers) is store.c. */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>

#include "common/fs.h"
#include "common/strv.h"
#include "store-internal.h"

#define STORE_MAX_RECORDS 65536u

DEFINE_TRIVIAL_CLEANUP_FUNC(struct image_store *, store_unlock)

/* ==== image records ======================================================================= */

/* A record (images/<config hex>.json):
 *   { "id", "manifest_digest", "index_digest" (or null), "names": [], "repo_digests": [],
 *     "chain_ids": [], "layer_digests": [], "size", "created", "last_used" }
 * layer_digests are the compressed blobs, kept so that removal knows what it may delete. */

static bool json_strv_valid(json_t *a, size_t max, bool digests) {
        size_t i;
        json_t *v;

        if (!json_is_array(a) || json_array_size(a) > max)
                return false;
        json_array_foreach(a, i, v) {
                const char *str = json_string_value(v);
                if (!str || (digests ? !digest_is_valid(str) : strlen(str) > STORE_MAX_NAME_LEN))
                        return false;
        }
        return true;
}

static bool record_valid(json_t *j, const char *file_hex) {
        const char *id = json_string_value(json_object_get(j, "id"));
        json_t *idx = json_object_get(j, "index_digest");

        return json_is_object(j) && digest_is_valid(id) && (!file_hex || streq(digest_hex(id), file_hex)) &&
               digest_is_valid(json_string_value(json_object_get(j, "manifest_digest"))) &&
               (!idx || json_is_null(idx) || digest_is_valid(json_string_value(idx))) &&
               json_strv_valid(json_object_get(j, "names"), STORE_MAX_NAMES, false) &&
               json_strv_valid(json_object_get(j, "repo_digests"), STORE_MAX_NAMES, false) &&
               json_strv_valid(json_object_get(j, "chain_ids"), IMAGE_MAX_LAYERS, true) &&
               json_strv_valid(json_object_get(j, "layer_digests"), IMAGE_MAX_LAYERS, true) &&
               json_is_integer(json_object_get(j, "size")) &&
               json_is_integer(json_object_get(j, "created")) &&
               json_is_integer(json_object_get(j, "last_used"));
}

static const char *rec_id(json_t *rec) {
        return json_string_value(json_object_get(rec, "id"));
}

static bool json_strv_has(json_t *a, const char *s) {
        size_t i;
        json_t *v;

        json_array_foreach(a, i, v) if (streq_ptr(json_string_value(v), s)) return true;
        return false;
}

static bool json_strv_remove(json_t *a, const char *s) {
        bool found = false;

        for (size_t i = json_array_size(a); i > 0; i--)
                if (streq_ptr(json_string_value(json_array_get(a, i - 1)), s)) {
                        json_array_remove(a, i - 1);
                        found = true;
                }
        return found;
}

static int json_strv_add(json_t *a, const char *s) {
        if (json_strv_has(a, s))
                return 0;
        if (json_array_size(a) >= STORE_MAX_NAMES)
                return -E2BIG;
        return json_array_append_new(a, json_string(s)) < 0 ? -ENOMEM : 0;
}

struct records {
        json_t **v;
        size_t n;
};

static void records_done(struct records *r) {
        for (size_t i = 0; i < r->n; i++)
                json_decref(r->v[i]);
        free(r->v);
        *r = (struct records){};
}

/* Every well-formed record; others (half-written by a foreign tool, damaged) are skipped: a
 * record is only ever written whole, by rename. */
static int records_load(struct image_store *s, struct records *ret) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct records recs = {};
        struct dirent *de;
        int r = nl_opendir_at(s->root_fd, "images", &d);

        if (r < 0)
                return r;
        while ((de = readdir(d))) {
                _cleanup_free_ char *buf = NULL, *hex = NULL;
                _cleanup_close_ int rfd = -1;
                size_t len, n = strlen(de->d_name);
                json_t *j, **nv;

                if (n != 64 + 5 || !streq(de->d_name + 64, ".json"))
                        continue;
                if (recs.n >= STORE_MAX_RECORDS)
                        break;
                hex = strndup(de->d_name, 64);
                if (!hex) {
                        records_done(&recs);
                        return -ENOMEM;
                }
                rfd = openat(dirfd(d), de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                if (rfd < 0 || nl_read_fd(rfd, STORE_MAX_RECORD_BYTES, &buf, &len) < 0)
                        continue;
                j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
                if (!j || !record_valid(j, hex)) {
                        json_decref(j);
                        continue;
                }
                nv = realloc(recs.v, (recs.n + 1) * sizeof(*nv));
                if (!nv) {
                        json_decref(j);
                        records_done(&recs);
                        return -ENOMEM;
                }
                recs.v = nv;
                recs.v[recs.n++] = j;
        }
        *ret = recs;
        return 0;
}

static int record_write(struct image_store *s, json_t *rec) {
        _cleanup_free_ char *data = NULL, *name = NULL;
        _cleanup_close_ int dfd = -1;

        data = json_dumps(rec, JSON_COMPACT);
        name = nl_strdupf("%s.json", digest_hex(rec_id(rec)));
        if (!data || !name)
                return -ENOMEM;
        if (strlen(data) > STORE_MAX_RECORD_BYTES)
                return -E2BIG;
        dfd = openat(s->root_fd, "images", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        return nl_write_file_atomic_at(dfd, name, s->tmp_dir, data, strlen(data), 0644);
}

static int record_delete(struct image_store *s, const char *id) {
        _cleanup_free_ char *name = nl_strdupf("images/%s.json", digest_hex(id));
        _cleanup_close_ int dfd = -1;

        if (!name)
                return -ENOMEM;
        if (unlinkat(s->root_fd, name, 0) < 0 && errno != ENOENT)
                return -errno;
        dfd = openat(s->root_fd, "images", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0 || fsync(dfd) < 0)
                return -errno;
        return 0;
}

static char **json_strv_dup(json_t *a, size_t *ret_n) {
        size_t n = json_array_size(a);
        char **v = calloc(n + 1, sizeof(char *));

        if (!v)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                v[i] = strdup(json_string_value(json_array_get(a, i)));
                if (!v[i]) {
                        strv_free_n(v, i);
                        return NULL;
                }
        }
        *ret_n = n;
        return v;
}

void image_info_free(struct image_info *i) {
        if (!i)
                return;
        free(i->id);
        free(i->manifest_digest);
        free(i->index_digest);
        strv_free_n(i->names, i->n_names);
        strv_free_n(i->repo_digests, i->n_repo_digests);
        strv_free_n(i->chain_ids, i->n_chain_ids);
        image_config_free(i->config);
        free(i);
}

void image_info_list_free(struct image_info **l, size_t n) {
        if (!l)
                return;
        for (size_t i = 0; i < n; i++)
                image_info_free(l[i]);
        free(l);
}

static int record_to_info(struct image_store *s, json_t *rec, struct image_info **ret, nl_error *err) {
        _cleanup_(image_info_freep) struct image_info *i = calloc(1, sizeof(*i));
        _cleanup_free_ char *buf = NULL;
        const char *idx = json_string_value(json_object_get(rec, "index_digest"));
        size_t len;
        int r;

        if (!i)
                return nl_error_set(err, -ENOMEM, "out of memory");
        i->id = strdup(rec_id(rec));
        i->manifest_digest = strdup(json_string_value(json_object_get(rec, "manifest_digest")));
        i->index_digest = idx ? strdup(idx) : NULL;
        i->names = json_strv_dup(json_object_get(rec, "names"), &i->n_names);
        i->repo_digests = json_strv_dup(json_object_get(rec, "repo_digests"), &i->n_repo_digests);
        i->chain_ids = json_strv_dup(json_object_get(rec, "chain_ids"), &i->n_chain_ids);
        if (!i->id || !i->manifest_digest || (idx && !i->index_digest) || !i->names || !i->repo_digests ||
            !i->chain_ids)
                return nl_error_set(err, -ENOMEM, "out of memory");
        i->size = json_integer_value(json_object_get(rec, "size"));
        i->created = (usec_t) json_integer_value(json_object_get(rec, "created"));
        i->last_used = (usec_t) json_integer_value(json_object_get(rec, "last_used"));
        r = image_store_read_blob(s, i->id, IMAGE_MAX_CONFIG_BYTES, &buf, &len, err);
        if (r < 0)
                return nl_error_prefix(err, "image %s: config", i->id);
        r = image_config_parse(buf, len, &i->config, err);
        if (r < 0)
                return nl_error_prefix(err, "image %s: config", i->id);
        *ret = TAKE_PTR(i);
        return 0;
}

static bool is_hex_prefix(const char *s) {
        size_t n = strlen(s);

        if (n < 12 || n > 64)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return true;
}

enum match_kind { MATCH_NAME, MATCH_REPO_DIGEST, MATCH_ID };

/* Exact name first, then repo digest, then id or unique id prefix. Returns the index. */
static int records_find(const struct records *recs, const char *q, enum match_kind *ret_kind,
                        nl_error *err) {
        const char *prefix = q;
        ssize_t found = -1;

        for (size_t i = 0; i < recs->n; i++)
                if (json_strv_has(json_object_get(recs->v[i], "names"), q)) {
                        *ret_kind = MATCH_NAME;
                        return (int) i;
                }
        for (size_t i = 0; i < recs->n; i++)
                if (json_strv_has(json_object_get(recs->v[i], "repo_digests"), q)) {
                        *ret_kind = MATCH_REPO_DIGEST;
                        return (int) i;
                }
        if (strncmp(prefix, "sha256:", 7) == 0)
                prefix += 7;
        if (is_hex_prefix(prefix)) {
                for (size_t i = 0; i < recs->n; i++) {
                        if (strncmp(digest_hex(rec_id(recs->v[i])), prefix, strlen(prefix)) != 0)
                                continue;
                        if (found >= 0)
                                return nl_error_set(err, -EINVAL, "image ID prefix \"%s\" is ambiguous", q);
                        found = (ssize_t) i;
                }
                if (found >= 0) {
                        *ret_kind = MATCH_ID;
                        return (int) found;
                }
        }
        return nl_error_set(err, -ENOENT, "image \"%s\" not found", q);
}

int image_store_lookup(struct image_store *s, const char *name_or_id, struct image_info **ret,
                       nl_error *err) {
        _cleanup_(store_unlockp) struct image_store *locked = NULL;
        _cleanup_(records_done) struct records recs = {};
        enum match_kind kind;
        int r, i;

        if (isempty(name_or_id))
                return nl_error_set(err, -EINVAL, "look up image: empty name");
        r = store_lock(s, false);
        if (r < 0)
                return nl_error_set(err, r, "look up image \"%s\": lock store: %s", name_or_id,
                                    strerror(-r));
        locked = s;
        r = records_load(s, &recs);
        if (r < 0)
                return nl_error_set(err, r, "look up image \"%s\": read records: %s", name_or_id,
                                    strerror(-r));
        i = records_find(&recs, name_or_id, &kind, err);
        if (i == -ENOENT) {
                /* "busybox:1.35" is stored as "docker.io/library/busybox:1.35": try the
                 * reference's canonical form, as the kubelet asks the runtime for it */
                struct image_ref ref = {};
                if (image_ref_parse(name_or_id, &ref, NULL) == 0) {
                        _cleanup_free_ char *canonical = image_ref_string(&ref);
                        if (canonical && !streq(canonical, name_or_id)) {
                                nl_error_clear(err);
                                i = records_find(&recs, canonical, &kind, err);
                        }
                }
                image_ref_done(&ref);
        }
        if (i < 0)
                return i;
        return record_to_info(s, recs.v[i], ret, err);
}

static int info_cmp(const void *a, const void *b) {
        return strcmp((*(struct image_info *const *) a)->id, (*(struct image_info *const *) b)->id);
}

int image_store_list(struct image_store *s, struct image_info ***ret, size_t *ret_n, nl_error *err) {
        _cleanup_(store_unlockp) struct image_store *locked = NULL;
        _cleanup_(records_done) struct records recs = {};
        struct image_info **l = NULL;
        size_t n = 0;
        int r;

        r = store_lock(s, false);
        if (r < 0)
                return nl_error_set(err, r, "list images: lock store: %s", strerror(-r));
        locked = s;
        r = records_load(s, &recs);
        if (r < 0)
                return nl_error_set(err, r, "list images: read records: %s", strerror(-r));
        l = calloc(recs.n + 1, sizeof(*l));
        if (!l)
                return nl_error_set(err, -ENOMEM, "list images: out of memory");
        for (size_t i = 0; i < recs.n; i++) {
                nl_error e = NL_ERROR_INIT;
                /* An image whose config cannot be read is not whole: not listed. */
                if (record_to_info(s, recs.v[i], &l[n], &e) >= 0)
                        n++;
                nl_error_clear(&e);
        }
        qsort(l, n, sizeof(*l), info_cmp);
        *ret = l;
        *ret_n = n;
        return 0;
}

static int record_find_id(const struct records *recs, const char *id) {
        for (size_t i = 0; i < recs->n; i++)
                if (streq(rec_id(recs->v[i]), id))
                        return (int) i;
        return -ENOENT;
}

int image_store_touch(struct image_store *s, const char *id) {
        _cleanup_(store_unlockp) struct image_store *locked = NULL;
        _cleanup_(records_done) struct records recs = {};
        int r, i;

        if (!digest_is_valid(id))
                return -EINVAL;
        r = store_lock(s, true);
        if (r < 0)
                return r;
        locked = s;
        r = records_load(s, &recs);
        if (r < 0)
                return r;
        i = record_find_id(&recs, id);
        if (i < 0)
                return i;
        if (json_object_set_new(recs.v[i], "last_used", json_integer((json_int_t) now_realtime())) < 0)
                return -ENOMEM;
        return record_write(s, recs.v[i]);
}

/* ==== adding and removing ================================================================= */

static bool name_valid(const char *name) {
        size_t n = strlen(name);

        if (n == 0 || n > STORE_MAX_NAME_LEN)
                return false;
        for (size_t i = 0; i < n; i++)
                if (name[i] <= ' ' || name[i] >= 0x7f)
                        return false;
        return true;
}

/* "repo:tag" -> tagged name "repo:tag", repo digest "repo@<digest>"; "repo:tag@sha256:x" or
 * "repo@sha256:x" (a digest pull) -> the tag if any, and "repo@sha256:x". */
static int name_split(const char *name, const char *digest, char **ret_name, char **ret_repo_digest) {
        _cleanup_free_ char *ref = NULL, *repo = NULL;
        const char *at = strchr(name, '@'), *slash, *colon;

        ref = at ? strndup(name, (size_t) (at - name)) : strdup(name);
        if (!ref)
                return -ENOMEM;
        if (at) {
                digest = at + 1;
                if (!digest_is_valid(digest))
                        return -EINVAL;
        }
        slash = strrchr(ref, '/');
        colon = strrchr(slash ? slash : ref, ':');
        repo = colon ? strndup(ref, (size_t) (colon - ref)) : strdup(ref);
        if (!repo || isempty(repo))
                return repo ? -EINVAL : -ENOMEM;
        *ret_repo_digest = nl_strdupf("%s@%s", repo, digest);
        if (!*ret_repo_digest)
                return -ENOMEM;
        *ret_name = (!at || colon) ? TAKE_PTR(ref) : NULL;
        return 0;
}

static void add_candidate(json_t *set, const char *digest) {
        if (digest)
                (void) json_object_set_new(set, digest, json_true());
}

static void record_blobs(json_t *rec, json_t *set) {
        size_t i;
        json_t *v;

        add_candidate(set, rec_id(rec));
        add_candidate(set, json_string_value(json_object_get(rec, "manifest_digest")));
        add_candidate(set, json_string_value(json_object_get(rec, "index_digest")));
        json_array_foreach(json_object_get(rec, "layer_digests"), i, v)
                add_candidate(set, json_string_value(v));
}

static int layer_delete(struct image_store *s, const char *chain_id) {
        _cleanup_free_ char *name = nl_strdupf("layers/%s", digest_hex(chain_id)), *grave = NULL;
        int r;

        if (!name)
                return -ENOMEM;
        /* Out of layers/ in one rename, so nothing sees a half-deleted layer; then removed. */
        r = store_mkdtemp(s, "del-", &grave);
        if (r < 0)
                return r;
        if (renameat(s->root_fd, name, AT_FDCWD, grave) < 0) {
                r = errno == ENOENT ? 0 : -errno;
                (void) rmdir(grave);
                return r;
        }
        return nl_rm_rf_at(AT_FDCWD, grave);
}

/* Delete the blobs and layers of `gone` that no record in recs (other than gone) uses. Held
 * with the store lock exclusive. Failures are left for the next removal to retry: records
 * never name what is missing, so a leftover is only wasted space. */
static void collect_unreferenced(struct image_store *s, const struct records *recs, json_t *gone) {
        _cleanup_json_ json_t *blobs = json_object(), *used = json_object();
        const char *key;
        size_t i;
        json_t *v;

        if (!blobs || !used)
                return;
        record_blobs(gone, blobs);
        for (size_t k = 0; k < recs->n; k++) {
                if (recs->v[k] == gone)
                        continue;
                record_blobs(recs->v[k], used);
                json_array_foreach(json_object_get(recs->v[k], "chain_ids"), i, v)
                        add_candidate(used, json_string_value(v));
        }
        json_object_foreach(blobs, key, v) {
                char name[DIGEST_STRING_MAX + 16];
                if (json_object_get(used, key) || store_blob_name(key, name) < 0)
                        continue;
                (void) unlinkat(s->root_fd, name, 0);
        }
        json_array_foreach(json_object_get(gone, "chain_ids"), i, v) {
                const char *c = json_string_value(v);
                if (!json_object_get(used, c))
                        (void) layer_delete(s, c);
        }
}

int image_store_add_image(struct image_store *s, const char *name, const char *manifest_digest,
                          const char *index_digest, nl_error *err) {
        _cleanup_(store_unlockp) struct image_store *locked = NULL;
        _cleanup_(records_done) struct records recs = {};
        _cleanup_(oci_manifest_freep) struct oci_manifest *m = NULL;
        _cleanup_(image_config_freep) struct image_config *c = NULL;
        _cleanup_free_ char *mbuf = NULL, *cbuf = NULL, *tagged = NULL, *repo_digest = NULL;
        _cleanup_json_ json_t *rec = NULL, *old = NULL;
        char **chains = NULL;
        size_t mlen, clen;
        int64_t size;
        int r, k;

        if (!digest_is_valid(manifest_digest))
                return nl_error_set(err, -EINVAL, "add image: invalid manifest digest \"%s\"",
                                    strempty(manifest_digest));
        if (index_digest && !digest_is_valid(index_digest))
                return nl_error_set(err, -EINVAL, "add image: invalid index digest \"%s\"", index_digest);
        if (name) {
                if (!name_valid(name))
                        return nl_error_set(err, -EINVAL, "add image: invalid name \"%.*s\"", 256, name);
                r = name_split(name, index_digest ? index_digest : manifest_digest, &tagged, &repo_digest);
                if (r < 0)
                        return nl_error_set(err, r, "add image: invalid name \"%s\"", name);
        }

        r = store_lock(s, true);
        if (r < 0)
                return nl_error_set(err, r, "add image %s: lock store: %s", manifest_digest, strerror(-r));
        locked = s;

        r = image_store_read_blob(s, manifest_digest, IMAGE_MAX_MANIFEST_BYTES, &mbuf, &mlen, err);
        if (r < 0)
                return nl_error_prefix(err, "add image");
        r = oci_manifest_parse(mbuf, mlen, NULL, &m, err);
        if (r < 0)
                return nl_error_prefix(err, "add image: manifest %s", manifest_digest);
        if (m->kind != OCI_KIND_MANIFEST)
                return nl_error_set(err, -EINVAL, "add image: %s is an index, not an image manifest",
                                    manifest_digest);
        if (index_digest && !image_store_has_blob(s, index_digest))
                return nl_error_set(err, -ENOENT, "add image %s: index %s is not in the store",
                                    manifest_digest, index_digest);
        r = image_store_read_blob(s, m->config.digest, IMAGE_MAX_CONFIG_BYTES, &cbuf, &clen, err);
        if (r < 0)
                return nl_error_prefix(err, "add image %s: config", manifest_digest);
        r = image_config_parse(cbuf, clen, &c, err);
        if (r < 0)
                return nl_error_prefix(err, "add image %s: config %s", manifest_digest, m->config.digest);
        if (c->n_diff_ids != m->n_layers)
                return nl_error_set(err, -EINVAL,
                                    "add image %s: manifest has %zu layers, config %s has %zu diff_ids",
                                    manifest_digest, m->n_layers, m->config.digest, c->n_diff_ids);

        rec = json_pack("{s:s, s:s, s:o, s:[], s:[], s:[], s:[]}", "id", m->config.digest, "manifest_digest",
                        manifest_digest, "index_digest",
                        index_digest ? json_string(index_digest) : json_null(), "names", "repo_digests",
                        "chain_ids", "layer_digests");
        if (!rec)
                return nl_error_set(err, -ENOMEM, "add image %s: out of memory", manifest_digest);
        r = image_chain_ids(c->diff_ids, c->n_diff_ids, &chains);
        if (r < 0)
                return nl_error_set(err, r, "add image %s: chain IDs: %s", manifest_digest, strerror(-r));
        size = m->config.size;
        r = 0;
        for (size_t i = 0; i < m->n_layers; i++) {
                if (r >= 0 && !image_store_has_layer(s, chains[i]))
                        r = nl_error_set(err, -ENOENT, "add image %s: layer %s (chain %s) is not unpacked",
                                         manifest_digest, m->layers[i].digest, chains[i]);
                else if (r >= 0 && !image_store_has_blob(s, m->layers[i].digest))
                        r = nl_error_set(err, -ENOENT, "add image %s: layer blob %s is not in the store",
                                         manifest_digest, m->layers[i].digest);
                if (r >= 0 &&
                    (json_array_append_new(json_object_get(rec, "chain_ids"), json_string(chains[i])) < 0 ||
                     json_array_append_new(json_object_get(rec, "layer_digests"),
                                           json_string(m->layers[i].digest)) < 0))
                        r = nl_error_set(err, -ENOMEM, "add image %s: out of memory", manifest_digest);
                size += m->layers[i].size;
        }
        strv_free_n(chains, c->n_diff_ids);
        if (r < 0)
                return r;

        r = records_load(s, &recs);
        if (r < 0)
                return nl_error_set(err, r, "add image %s: read records: %s", manifest_digest, strerror(-r));
        k = record_find_id(&recs, m->config.digest);
        if (k >= 0) {
                /* The same image again (another tag, another pull): keep its names and times. */
                old = json_incref(recs.v[k]);
                json_object_set_new(rec, "names", json_deep_copy(json_object_get(old, "names")));
                json_object_set_new(rec, "repo_digests",
                                    json_deep_copy(json_object_get(old, "repo_digests")));
                json_object_set(rec, "created", json_object_get(old, "created"));
                json_object_set(rec, "last_used", json_object_get(old, "last_used"));
        } else {
                json_object_set_new(rec, "created", json_integer((json_int_t) now_realtime()));
                json_object_set_new(rec, "last_used", json_integer((json_int_t) now_realtime()));
        }
        json_object_set_new(rec, "size", json_integer(size));
        if ((tagged && json_strv_add(json_object_get(rec, "names"), tagged) < 0) ||
            (repo_digest && json_strv_add(json_object_get(rec, "repo_digests"), repo_digest) < 0))
                return nl_error_set(err, -E2BIG, "add image %s: too many names", manifest_digest);

        /* The name moves: off the other images first, so a crash in between loses the name
         * (a re-pull brings it back) rather than leaving it on two images. */
        if (tagged)
                for (size_t i = 0; i < recs.n; i++) {
                        if ((int) i == k || !json_strv_remove(json_object_get(recs.v[i], "names"), tagged))
                                continue;
                        r = record_write(s, recs.v[i]);
                        if (r < 0)
                                return nl_error_set(
                                        err, r, "add image %s: move name \"%s\" from image %s: %s",
                                        manifest_digest, tagged, rec_id(recs.v[i]), strerror(-r));
                }
        r = record_write(s, rec);
        if (r < 0)
                return nl_error_set(err, r, "add image %s: write record: %s", manifest_digest, strerror(-r));

        /* Re-recorded from another manifest (an import after a pull): the old manifest and
         * index may be unused now. Only those are candidates; layers are the same ones. */
        if (old && (!streq(json_string_value(json_object_get(old, "manifest_digest")), manifest_digest) ||
                    !streq_ptr(json_string_value(json_object_get(old, "index_digest")), index_digest))) {
                json_decref(recs.v[k]);
                recs.v[k] = json_incref(rec);
                json_object_del(old, "id");
                json_array_clear(json_object_get(old, "chain_ids"));
                json_array_clear(json_object_get(old, "layer_digests"));
                collect_unreferenced(s, &recs, old);
        }
        return 0;
}

static int remove_record(struct image_store *s, struct records *recs, size_t k) {
        json_t *gone = recs->v[k];
        int r;

        r = record_delete(s, rec_id(gone));
        if (r < 0)
                return r;
        collect_unreferenced(s, recs, gone);
        json_decref(gone);
        memmove(recs->v + k, recs->v + k + 1, (recs->n - k - 1) * sizeof(*recs->v));
        recs->n--;
        return 0;
}

/* A name removes that name (the image goes with its last one), as `podman untag`; an ID or a
 * repo digest removes the image, as `crictl rmi`. */
int image_store_remove(struct image_store *s, const char *name_or_id, nl_error *err) {
        _cleanup_(store_unlockp) struct image_store *locked = NULL;
        _cleanup_(records_done) struct records recs = {};
        enum match_kind kind;
        json_t *names;
        int r, k;

        if (isempty(name_or_id))
                return nl_error_set(err, -EINVAL, "remove image: empty name");
        r = store_lock(s, true);
        if (r < 0)
                return nl_error_set(err, r, "remove image \"%s\": lock store: %s", name_or_id, strerror(-r));
        locked = s;
        r = records_load(s, &recs);
        if (r < 0)
                return nl_error_set(err, r, "remove image \"%s\": read records: %s", name_or_id,
                                    strerror(-r));
        k = records_find(&recs, name_or_id, &kind, err);
        if (k < 0)
                return k;
        names = json_object_get(recs.v[k], "names");
        if (kind == MATCH_NAME) {
                json_strv_remove(names, name_or_id);
                if (json_array_size(names) > 0) {
                        r = record_write(s, recs.v[k]);
                        if (r < 0)
                                return nl_error_set(err, r, "remove image \"%s\": write record: %s",
                                                    name_or_id, strerror(-r));
                        return 0;
                }
        }
        r = remove_record(s, &recs, (size_t) k);
        if (r < 0)
                return nl_error_set(err, r, "remove image \"%s\": %s", name_or_id, strerror(-r));
        return 0;
}

/* ==== garbage collection ================================================================== */

/* As the kubelet: usage = 100 - available * 100 / capacity. */
static int fs_usage_pct(struct image_store *s, int *ret) {
        struct statvfs sv;

        if (fstatvfs(s->root_fd, &sv) < 0)
                return -errno;
        if (sv.f_blocks == 0) {
                *ret = 0;
                return 0;
        }
        *ret = 100 - (int) ((uint64_t) sv.f_bavail * 100 / (uint64_t) sv.f_blocks);
        return 0;
}

static bool rec_in_use(json_t *rec, char *const *in_use, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (in_use[i] && (streq(rec_id(rec), in_use[i]) ||
                                  json_strv_has(json_object_get(rec, "names"), in_use[i]) ||
                                  json_strv_has(json_object_get(rec, "repo_digests"), in_use[i])))
                        return true;
        return false;
}

static int last_used_cmp(const void *a, const void *b) {
        json_int_t x = json_integer_value(json_object_get(*(json_t *const *) a, "last_used"));
        json_int_t y = json_integer_value(json_object_get(*(json_t *const *) b, "last_used"));

        return x < y ? -1 : x > y ? 1 : strcmp(rec_id(*(json_t *const *) a), rec_id(*(json_t *const *) b));
}

int image_store_gc(struct image_store *s, char *const *in_use, size_t n_in_use, int high_pct, int low_pct,
                   nl_error *err) {
        _cleanup_(store_unlockp) struct image_store *locked = NULL;
        _cleanup_(records_done) struct records recs = {};
        int r, usage, removed = 0;

        if (high_pct < 0 || high_pct > 100 || low_pct < 0 || low_pct > 100 ||
            (high_pct > 0 && low_pct > high_pct))
                return nl_error_set(err, -EINVAL, "image GC: bad thresholds %d%%/%d%%", high_pct, low_pct);
        r = fs_usage_pct(s, &usage);
        if (r < 0)
                return nl_error_set(err, r, "image GC: statvfs \"%s\": %s", s->root, strerror(-r));
        if (high_pct > 0 && usage < high_pct)
                return 0;

        r = store_lock(s, true);
        if (r < 0)
                return nl_error_set(err, r, "image GC: lock store: %s", strerror(-r));
        locked = s;
        r = records_load(s, &recs);
        if (r < 0)
                return nl_error_set(err, r, "image GC: read records: %s", strerror(-r));
        qsort(recs.v, recs.n, sizeof(*recs.v), last_used_cmp);
        for (size_t k = 0; k < recs.n;) {
                if (high_pct > 0) {
                        r = fs_usage_pct(s, &usage);
                        if (r < 0)
                                return nl_error_set(err, r, "image GC: statvfs \"%s\": %s", s->root,
                                                    strerror(-r));
                        if (usage <= low_pct)
                                break;
                }
                if (rec_in_use(recs.v[k], in_use, n_in_use)) {
                        k++;
                        continue;
                }
                {
                        _cleanup_free_ char *id = strdup(rec_id(recs.v[k]));
                        r = remove_record(s, &recs, k);
                        if (r < 0)
                                return nl_error_set(err, r, "image GC: remove image %s: %s", strempty(id),
                                                    strerror(-r));
                }
                removed++;
        }
        return removed;
}
