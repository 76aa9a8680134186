/* SPDX-License-Identifier: Apache-2.0 */
/* The static-pod source: the manifests of --pod-manifest-path, followed with inotify and a
 * periodic rescan, as the kubelet's file source (pkg/kubelet/config/file.go, file_linux.go).
 *
 * Every inotify event (coalesced over COALESCE_USEC, so an editor's write-temp-and-rename is one
 * update) and every rescan tick re-reads the directory; a file is reported only when what it
 * defines changed: its bytes are hashed (sha256) and its result (pod UIDs, or the error text)
 * is compared with the last one reported.
 *
 * As the kubelet: names starting with '.' are ignored, subdirectories are not recursed into,
 * symlinks are followed (os.Stat and os.Open follow them) and only what resolves to a regular
 * file is read; files that vanish between listing and reading are skipped. The path may also
 * name one file instead of a directory, as the kubelet allows. A missing directory is retried at
 * each rescan (the kubelet retries its watch every second and lists at each fileCheckFrequency
 * tick, so a new directory's pods appear at the next tick there too). */
#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include "source-file.h"
#include "common/curl-event.h"
#include "common/fs.h"
#include "common/strv.h"
#include "common/time-util.h"
#include "podspec/podspec.h"

#define COALESCE_USEC (100 * 1000ULL)      /* quiet time before a burst of events is acted on */
#define COALESCE_WHOLE_USEC (1000ULL)      /* ... when the events say the file is whole (renamed in,
                                              closed after writing, removed) */
#define COALESCE_MAX_USEC (1000 * 1000ULL) /* ... but never delayed longer than this */
#define FILE_SOURCE_MAX_FILES 1024         /* manifests read from one directory */
#define FILE_SOURCE_MAX_NAMES 8192         /* names listed; the ones past MAX_FILES get an error */
#define FILE_SOURCE_MAX_ERROR_LINES 5      /* error lines of one file in its report */

#define CONFIG_SEEN_ANNOTATION "kubernetes.io/config.seen"

#define WATCH_MASK                                                                                          \
        (IN_CREATE | IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_DELETE_SELF |            \
         IN_MOVE_SELF | IN_ATTRIB)

struct file_entry {
        char *path;
        unsigned char sha256[32];
        bool have_sha;   /* false when the file could not be read whole */
        char *signature; /* what was last reported: "E<error>" or "P<uid>\n<pod>\n..." */
        char **warnings; /* ... and its warnings: each is said once, not at every edit */
        size_t n_warnings;
        bool seen;       /* in the current scan */
};

struct file_source {
        sd_event *event;
        char *dir;
        char *node_name;
        usec_t rescan;
        file_source_update_fn fn;
        void *userdata;

        int inotify_fd;
        int wd; /* -1 when the path is not watched (missing, or the watch failed) */
        sd_event_source *io, *coalesce, *rescan_timer, *initial;
        usec_t first_event; /* of the burst the coalescing timer is waiting out */

        struct file_entry *entries;
        size_t n_entries;
        bool scanning, scan_again;
        bool pods_only;

        /* --manifest-url: fetched at each scan, an entry of its own (path = the URL) */
        char *url;
        struct curl_slist *url_headers;
        struct curl_event *curl;
        CURL *fetch; /* in flight */
        nl_buf body;
        bool body_too_big;
};

/* ---- reading and decoding one file ------------------------------------------------------- */


/* Open what name resolves to (symlinks followed) if it is a regular file. -ENOENT when it is
 * gone or is not a regular file: such names are skipped as if absent. */
static int open_manifest(int dirfd, const char *name, int *ret_fd) {
        struct stat st;
        if (fstatat(dirfd, name, &st, 0) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -ENOENT; /* the kubelet: "not recursing into manifest path" / "not a file" */
        /* O_NONBLOCK: the name may have become a FIFO since the stat */
        int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                close(fd);
                return -ENOENT;
        }
        *ret_fd = fd;
        return 0;
}

struct file_result {
        struct pod **pods;
        size_t n_pods;
        json_t *objects; /* see struct file_update */
        char **warnings;
        size_t n_warnings;
        nl_buf errors; /* lines "<path>: <message>" */
        size_t n_errors;
};

static void file_result_done(struct file_result *res) {
        for (size_t i = 0; i < res->n_pods; i++)
                pod_free(res->pods[i]);
        free(res->pods);
        json_decref(res->objects);
        strv_free_n(res->warnings, res->n_warnings);
        nl_buf_free(&res->errors);
        *res = (struct file_result){};
}

static void add_error(struct file_result *res, const char *path, bool multi_doc, size_t doc,
                      const char *prefix, const char *msg) {
        if (res->n_errors++ >= FILE_SOURCE_MAX_ERROR_LINES)
                return;
        if (res->errors.len > 0)
                nl_buf_puts(&res->errors, "\n");
        nl_buf_puts(&res->errors, path);
        if (multi_doc)
                nl_buf_printf(&res->errors, "[%zu]", doc);
        nl_buf_printf(&res->errors, ": %s%s", strempty(prefix), msg);
}

static void add_error_list(struct file_result *res, const char *path, bool multi_doc,
                           const struct podspec_document *d, const pod_error_list *l) {
        _cleanup_free_ char *prefix = d->in_list ? nl_strdupf("items[%zu].", d->item) : NULL;
        for (size_t i = 0; i < l->n_items; i++)
                add_error(res, path, multi_doc, d->index, prefix, l->items[i].message);
        if (l->truncated)
                res->n_errors++;
}

static int set_annotation(struct pod *p, const char *key, const char *value) {
        _cleanup_free_ char *v = strdup(value);
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < p->metadata.n_annotations; i++)
                if (streq(p->metadata.annotations[i].key, key)) {
                        free(p->metadata.annotations[i].value);
                        p->metadata.annotations[i].value = TAKE_PTR(v);
                        return 0;
                }
        _cleanup_free_ char *k = strdup(key);
        struct pod_kv *a = reallocarray(p->metadata.annotations, p->metadata.n_annotations + 1, sizeof(*a));
        if (!k || !a)
                return -ENOMEM;
        p->metadata.annotations = a;
        a[p->metadata.n_annotations++] = (struct pod_kv){TAKE_PTR(k), TAKE_PTR(v)};
        return 0;
}

/* One document through the API server's defaults, the static-pod rules and validation, as the
 * kubelet's tryDecodeSinglePod does. Returns the pod, or NULL with errors added. */
static struct pod *document_to_pod(struct file_source *s, const char *path, bool multi_doc,
                                   struct podspec_document *d, const char *seen, struct file_result *res) {
        _cleanup_free_ char *prefix = d->in_list ? nl_strdupf("items[%zu].", d->item) : NULL;
        nl_error err = NL_ERROR_INIT;

        if (d->errors.n_items > 0 || !d->pod) {
                add_error_list(res, path, multi_doc, d, &d->errors);
                if (d->errors.n_items == 0)
                        add_error(res, path, multi_doc, d->index, prefix, "not a Pod");
                return NULL;
        }
        if (pod_set_defaults(d->pod) < 0)
                return NULL;
        /* The UID hashes the document's canonical JSON, not the file's bytes: like the kubelet
         * (which hashes the decoded object), a comment or formatting change keeps the UID, and
         * each document of a multi-document file gets its own. */
        _cleanup_free_ char *canonical = json_dumps(d->json, JSON_COMPACT | JSON_SORT_KEYS);
        if (!canonical)
                return NULL;
        if (pod_apply_static_rules(d->pod, s->node_name, path, canonical, strlen(canonical), &err) < 0) {
                add_error(res, path, multi_doc, d->index, prefix, err.msg ? err.msg : "out of memory");
                nl_error_clear(&err);
                return NULL;
        }
        pod_error_list errs = {};
        pod_validate(d->pod, &errs);
        if (errs.n_items > 0) {
                add_error_list(res, path, multi_doc, d, &errs);
                pod_error_list_done(&errs);
                return NULL;
        }
        pod_error_list_done(&errs);
        if (seen && set_annotation(d->pod, CONFIG_SEEN_ANNOTATION, seen) < 0)
                return NULL;
        return TAKE_PTR(d->pod);
}

static void add_warning(struct file_result *res, const char *path, bool multi_doc, size_t doc, const char *fmt,
                        ...) _printf_(5, 6);
static void add_warning(struct file_result *res, const char *path, bool multi_doc, size_t doc, const char *fmt,
                        ...) {
        if (res->n_warnings >= PODSPEC_MAX_DOCUMENTS)
                return;
        _cleanup_free_ char *msg = NL_FORMAT_VA(fmt);
        _cleanup_free_ char *where = multi_doc ? nl_strdupf("%s[%zu]", path, doc) : strdup(path);
        char *w = msg && where ? nl_strdupf("%s: %s", where, msg) : NULL;
        char **n = w ? reallocarray(res->warnings, res->n_warnings + 1, sizeof(char *)) : NULL;
        if (!n) {
                free(w);
                res->errors.oom = true;
                return;
        }
        res->warnings = n;
        res->warnings[res->n_warnings++] = w;
}

/* A document of another kind than Pod: a data object is checked and kept, a kind nodelet does
 * not run is skipped with a warning (never an error: a Helm chart's Service or RBAC must not
 * stop its Deployment). In cluster mode static files hold Pods only, as the kubelet's. */
static void document_other(struct file_source *s, const char *path, bool multi_doc, struct podspec_document *d,
                           struct file_result *res) {
        const char *kind = json_string_value(json_object_get(d->json, "kind"));
        const char *api = json_string_value(json_object_get(d->json, "apiVersion"));
        json_t *md = json_object_get(d->json, "metadata");
        const char *name = json_string_value(json_object_get(md, "name"));
        _cleanup_free_ char *prefix = d->in_list ? nl_strdupf("items[%zu]", d->item) : strdup("");
        _cleanup_free_ char *qkind = pod_error_quote(strempty(kind)), *qname = pod_error_quote(strempty(name));
        enum manifest_kind k = manifest_kind_of(api, kind);

        if (!prefix || !qkind || !qname) {
                res->errors.oom = true;
                return;
        }
        if (s->pods_only) {
                _cleanup_free_ char *m = nl_strdupf(
                        "%s%skind: Unsupported value: %s: static pod files hold Pods only when nodelet runs "
                        "with an API server (as the kubelet's); create this %s through the API server",
                        prefix, *prefix ? "." : "", qkind, strempty(kind));
                add_error(res, path, multi_doc, d->index, NULL, m ? m : "out of memory");
                return;
        }
        switch (k) {
        case MANIFEST_CONFIGMAP:
        case MANIFEST_SECRET:
        case MANIFEST_PVC:
        case MANIFEST_DEPLOYMENT:
        case MANIFEST_REPLICASET:
        case MANIFEST_DAEMONSET:
        case MANIFEST_STATEFULSET:
        case MANIFEST_JOB:
        case MANIFEST_CRONJOB: {
                pod_error_list errs = {};
                if (k <= MANIFEST_PVC)
                        manifest_validate_object(k, d->json, prefix, &errs);
                else if (workload_validate(k, d->json, prefix, s->node_name, &errs) < 0) {
                        res->errors.oom = true;
                        return;
                }
                if (errs.n_items > 0) {
                        for (size_t i = 0; i < errs.n_items; i++)
                                add_error(res, path, multi_doc, d->index, NULL, errs.items[i].message);
                        pod_error_list_done(&errs);
                        return;
                }
                json_t *obj = NULL;
                if (manifest_object_normalize(k, d->json, &obj) < 0) {
                        res->errors.oom = true;
                        return;
                }
                const char *ns = json_string_value(json_object_get(json_object_get(obj, "metadata"), "namespace"));
                size_t i;
                json_t *o;
                json_array_foreach(res->objects, i, o)
                        if (streq_ptr(json_string_value(json_object_get(o, "kind")), kind) &&
                            streq_ptr(json_string_value(json_object_get(o, "namespace")), ns) &&
                            streq_ptr(json_string_value(json_object_get(o, "name")), name)) {
                                _cleanup_free_ char *m = nl_strdupf("%s%smetadata.name: Duplicate value: %s", prefix,
                                                                    *prefix ? "." : "", qname);
                                add_error(res, path, multi_doc, d->index, NULL, m ? m : "duplicate object");
                                json_decref(obj);
                                return;
                        }
                if (json_array_append_new(res->objects, json_pack("{s:s, s:s, s:s, s:o}", "kind", kind, "namespace",
                                                                  strempty(ns), "name", name, "object", obj)) < 0)
                        res->errors.oom = true;
                return;
        }
        default:
                add_warning(res, path, multi_doc, d->index, "skipped %s %s (%s): static mode runs no such kind",
                            strempty(kind), qname, strempty(api));
                return;
        }
}

/* Decode a manifest: every document must be a valid Pod or data object, or the whole file is
 * an error (so a broken edit never runs half a file); kinds nodelet does not run are warnings.
 * Returns -ENOMEM only. */
static int decode_manifest(struct file_source *s, const char *path, const char *buf, size_t len,
                           struct file_result *res) {
        struct podspec_file *f = NULL;
        if (!(res->objects = json_array()) || podspec_parse_flags(buf, len, PODSPEC_PARSE_ANY_KIND, &f) < 0)
                return -ENOMEM;

        size_t max_index = 0;
        for (size_t i = 0; i < f->n_documents; i++)
                if (f->documents[i].index > max_index)
                        max_index = f->documents[i].index;
        bool multi_doc = max_index > 0;
        _cleanup_free_ char *seen = format_rfc3339nano(now_realtime());

        for (size_t i = 0; i < f->n_documents; i++) {
                struct podspec_document *d = &f->documents[i];
                if (d->other_kind) {
                        document_other(s, path, multi_doc, d, res);
                        continue;
                }
                size_t before = res->n_errors;
                struct pod *p = document_to_pod(s, path, multi_doc, d, seen, res);
                if (!p) {
                        if (res->n_errors == before) {
                                podspec_file_free(f);
                                return -ENOMEM;
                        }
                        continue;
                }
                /* two documents may not define the same pod */
                for (size_t k = 0; k < res->n_pods; k++)
                        if (streq(res->pods[k]->metadata.name, p->metadata.name) &&
                            streq_ptr(res->pods[k]->metadata.namespace, p->metadata.namespace)) {
                                _cleanup_free_ char *q = pod_error_quote(p->metadata.name);
                                _cleanup_free_ char *m = nl_strdupf("metadata.name: Duplicate value: %s",
                                                                    q ? q : p->metadata.name);
                                add_error(res, path, multi_doc, d->index, NULL, m ? m : "duplicate pod");
                                pod_free(TAKE_PTR(p));
                                break;
                        }
                if (!p)
                        continue;
                struct pod **n = reallocarray(res->pods, res->n_pods + 1, sizeof(*n));
                if (!n) {
                        pod_free(p);
                        podspec_file_free(f);
                        return -ENOMEM;
                }
                res->pods = n;
                res->pods[res->n_pods++] = p;
        }
        if (f->error) {
                res->n_errors++;
                if (res->errors.len > 0)
                        nl_buf_puts(&res->errors, "\n");
                nl_buf_printf(&res->errors, "%s: %s", path, f->error);
        } else if (f->n_documents == 0)
                add_error(res, path, false, 0, NULL, "no Pod in this file");
        podspec_file_free(f);
        return res->errors.oom ? -ENOMEM : 0;
}

/* ---- the per-file state ------------------------------------------------------------------ */

static struct file_entry *entry_find(struct file_source *s, const char *path) {
        for (size_t i = 0; i < s->n_entries; i++)
                if (streq(s->entries[i].path, path))
                        return &s->entries[i];
        return NULL;
}

static struct file_entry *entry_add(struct file_source *s, const char *path) {
        struct file_entry *n = reallocarray(s->entries, s->n_entries + 1, sizeof(*n));
        if (!n)
                return NULL;
        s->entries = n;
        n[s->n_entries] = (struct file_entry){.path = strdup(path)};
        if (!n[s->n_entries].path)
                return NULL;
        return &n[s->n_entries++];
}

static void entry_remove(struct file_source *s, size_t i) {
        free(s->entries[i].path);
        free(s->entries[i].signature);
        strv_free_n(s->entries[i].warnings, s->entries[i].n_warnings);
        memmove(&s->entries[i], &s->entries[i + 1], (s->n_entries - i - 1) * sizeof(s->entries[0]));
        s->n_entries--;
}

/* Report the file's new result unless it is the one reported last. Takes res's pods. */
static int report(struct file_source *s, struct file_entry *e, struct file_result *res, const char *error) {
        nl_buf sig = {};
        if (error)
                nl_buf_printf(&sig, "E%s", error);
        else {
                nl_buf_puts(&sig, "P");
                /* the pods' content too, not only their UIDs: a manifest with its own
                 * metadata.uid keeps it across edits, and its edits are updates of that pod */
                for (size_t i = 0; i < res->n_pods; i++) {
                        json_t *j = pod_to_json(res->pods[i]);
                        json_object_del(json_object_get(json_object_get(j, "metadata"), "annotations"),
                                        CONFIG_SEEN_ANNOTATION);
                        _cleanup_free_ char *c = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
                        json_decref(j);
                        if (!c)
                                sig.oom = true;
                        nl_buf_printf(&sig, "%s\n%s\n", res->pods[i]->metadata.uid, strempty(c));
                }
                /* the data objects, and what was skipped (its warnings are said again when
                 * they change) */
                _cleanup_free_ char *o = res->objects ? json_dumps(res->objects, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
                nl_buf_printf(&sig, "O%s\n", strempty(o));
                for (size_t i = 0; i < res->n_warnings; i++)
                        nl_buf_printf(&sig, "W%s\n", res->warnings[i]);
        }
        _cleanup_free_ char *signature = nl_buf_steal(&sig);
        if (!signature)
                return -ENOMEM;
        if (streq_ptr(signature, e->signature))
                return 0;
        free(e->signature);
        e->signature = TAKE_PTR(signature);

        _cleanup_(json_decrefp) json_t *none = json_array();
        if (!none)
                return -ENOMEM;
        /* only the warnings the last report did not have */
        size_t n_new = 0;
        _cleanup_free_ char **fresh = error ? NULL : calloc(res->n_warnings + 1, sizeof(char *));
        for (size_t i = 0; fresh && i < res->n_warnings; i++) {
                bool said = false;
                for (size_t k = 0; k < e->n_warnings && !said; k++)
                        said = streq(e->warnings[k], res->warnings[i]);
                if (!said)
                        fresh[n_new++] = res->warnings[i];
        }
        struct file_update u = {
                .pods = error ? NULL : TAKE_PTR(res->pods),
                .n_pods = error ? 0 : res->n_pods,
                .objects = !error && res->objects ? res->objects : none,
                .warnings = fresh,
                .n_warnings = n_new,
                .error = error,
        };
        res->n_pods = error ? res->n_pods : 0;
        s->fn(e->path, &u, s->userdata);
        free(u.pods);
        if (!error) {
                strv_free_n(e->warnings, e->n_warnings);
                e->warnings = TAKE_PTR(res->warnings);
                e->n_warnings = res->n_warnings;
                res->n_warnings = 0;
        }
        return 0;
}

/* The bytes a file (or the URL) holds now: decoded and reported unless they are the ones
 * decoded last. */
static int process_bytes(struct file_source *s, struct file_entry *e, const char *buf, size_t len) {
        _cleanup_free_ char *error = NULL;
        struct file_result res = {};
        unsigned char sha[32];
        const char *path = e->path;
        int r;

        unsigned int sha_len = 0;
        /* fetched once (OpenSSL 3 fetches the algorithm again for EVP_sha256() on every call) */
        static EVP_MD *md;
        if (!md)
                md = EVP_MD_fetch(NULL, "SHA256", NULL);
        if (EVP_Digest(buf, len, sha, &sha_len, md ? md : EVP_sha256(), NULL) != 1 || sha_len != sizeof(sha))
                return -EIO;
        if (e->have_sha && memcmp(e->sha256, sha, sizeof(sha)) == 0)
                return 0; /* the same bytes: nothing to say */
        memcpy(e->sha256, sha, sizeof(sha));
        e->have_sha = true;

        r = decode_manifest(s, path, buf, len, &res);
        if (r >= 0 && res.n_errors > 0) {
                if (res.n_errors > FILE_SOURCE_MAX_ERROR_LINES)
                        nl_buf_printf(&res.errors, "\n%s: and %zu more errors", path,
                                      res.n_errors - FILE_SOURCE_MAX_ERROR_LINES);
                if (!(error = nl_buf_steal(&res.errors)))
                        r = -ENOMEM;
        }
        if (r >= 0)
                r = report(s, e, &res, error);
        if (r < 0)
                e->have_sha = false; /* try again next time */
        file_result_done(&res);
        return r;
}

static int process_file(struct file_source *s, int dirfd, const char *name, const char *path,
                        bool over_cap) {
        _cleanup_free_ char *buf = NULL, *error = NULL;
        _cleanup_close_ int fd = -1;
        struct file_result res = {};
        size_t len = 0;
        int r;

        r = over_cap ? 0 : open_manifest(dirfd, name, &fd);
        if (r == -ENOENT)
                return 0; /* gone, dangling symlink, directory, FIFO...: as if absent */

        struct file_entry *e = entry_find(s, path);
        if (!e && !(e = entry_add(s, path)))
                return -ENOMEM;
        e->seen = true;

        if (over_cap)
                error = nl_strdupf("%s: not read: the manifest directory has more than %d files", path,
                                   FILE_SOURCE_MAX_FILES);
        else if (r < 0)
                error = nl_strdupf("%s: cannot open: %s", path, strerror(-r));
        else if ((r = nl_read_fd(fd, PODSPEC_MAX_INPUT_BYTES, &buf, &len)) == -EFBIG)
                error = nl_strdupf("%s: larger than %u bytes, the API server's limit for an object", path,
                                   PODSPEC_MAX_INPUT_BYTES);
        else if (r == -ENOMEM)
                return r;
        else if (r < 0)
                error = nl_strdupf("%s: cannot read: %s", path, strerror(-r));
        if (error || r < 0) {
                e->have_sha = false;
                if (!error)
                        return -ENOMEM;
                return report(s, e, &res, error);
        }

        return process_bytes(s, e, buf, len);
}

static int compare_names(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The directory's candidate names, sorted (the kubelet reads them in order too). */
static int list_dir(int dirfd, char ***ret, size_t *ret_n) {
        int fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return -errno;
        DIR *d = fdopendir(fd);
        if (!d) {
                close(fd);
                return -errno;
        }
        char **names = NULL;
        size_t n = 0;
        int r = 0;
        struct dirent *de;
        errno = 0;
        while (n < FILE_SOURCE_MAX_NAMES && (de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue; /* dot-files, ".", "..": the kubelet globs "[^.]*" */
                char **nn = reallocarray(names, n + 1, sizeof(char *));
                if (!nn || !(nn[n] = strdup(de->d_name))) {
                        names = nn ? nn : names;
                        r = -ENOMEM;
                        break;
                }
                names = nn;
                n++;
        }
        closedir(d);
        if (r < 0) {
                for (size_t i = 0; i < n; i++)
                        free(names[i]);
                free(names);
                return r;
        }
        if (n > 0)
                qsort(names, n, sizeof(char *), compare_names);
        *ret = names;
        *ret_n = n;
        return 0;
}

static void try_watch(struct file_source *s) {
        if (s->wd >= 0 || !s->dir)
                return;
        int wd = inotify_add_watch(s->inotify_fd, s->dir, WATCH_MASK);
        /* not there yet, or no more watches (ENOSPC): the periodic rescan still runs */
        if (wd >= 0)
                s->wd = wd;
}

/* ---- --manifest-url ------------------------------------------------------------------------ */

#define URL_TIMEOUT_SECONDS 10 /* the kubelet's HTTP source client timeout */

static size_t on_body(char *data, size_t size, size_t n, void *userdata) {
        struct file_source *s = userdata;
        size_t len = size * n;
        if (s->body.len + len > PODSPEC_MAX_INPUT_BYTES) {
                s->body_too_big = true;
                return 0; /* stops the transfer */
        }
        nl_buf_append(&s->body, data, len);
        return s->body.oom ? 0 : len;
}

static void on_fetched(CURL *easy, CURLcode code, void *userdata) {
        struct file_source *s = userdata;
        long status = 0;
        (void) curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
        s->fetch = NULL;
        struct file_entry *e = entry_find(s, s->url);
        if (!e && !(e = entry_add(s, s->url))) {
                curl_easy_cleanup(easy);
                return;
        }
        e->seen = true;
        _cleanup_free_ char *error = NULL;
        if (s->body_too_big)
                error = nl_strdupf("%s: larger than %u bytes, the API server's limit for an object", s->url,
                                   PODSPEC_MAX_INPUT_BYTES);
        else if (code != CURLE_OK)
                error = nl_strdupf("%s: cannot fetch: %s", s->url, curl_easy_strerror(code));
        else if (status != 200)
                /* the kubelet's words: "%v: %v" with the status */
                error = nl_strdupf("%s: %ld: the server answered HTTP %ld", s->url, status, status);
        curl_easy_cleanup(easy);
        if (error) {
                /* what the URL defined last keeps running, as the kubelet keeps its last update */
                struct file_result res = {};
                e->have_sha = false;
                (void) report(s, e, &res, error);
        } else if (s->body.len == 0) {
                /* as the kubelet: an empty answer defines no pods */
                struct file_result res = {.objects = json_array()};
                if (res.objects && report(s, e, &res, NULL) >= 0)
                        memset(e->sha256, 0, sizeof(e->sha256)), e->have_sha = false;
                file_result_done(&res);
        } else
                (void) process_bytes(s, e, s->body.data, s->body.len);
        nl_buf_free(&s->body);
}

static void url_fetch_start(struct file_source *s) {
        if (!s->url || s->fetch)
                return;
        struct file_entry *e = entry_find(s, s->url);
        if (e)
                e->seen = true; /* what it defined stays until the answer says otherwise */
        CURL *easy = curl_easy_init();
        if (!easy)
                return;
        nl_buf_free(&s->body);
        s->body = (nl_buf){};
        s->body_too_big = false;
        if (curl_easy_setopt(easy, CURLOPT_URL, s->url) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_WRITEDATA, s) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_HTTPHEADER, s->url_headers) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_TIMEOUT, (long) URL_TIMEOUT_SECONDS) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_USERAGENT, "nodelet") != CURLE_OK ||
            curl_event_add(s->curl, easy) < 0) {
                curl_easy_cleanup(easy);
                return;
        }
        s->fetch = easy;
}

int file_source_set_url(struct file_source *s, const char *url, char *const *headers, size_t n_headers,
                        nl_error *err) {
        int r = curl_event_new(s->event, "manifest-url", on_fetched, s, &s->curl);
        if (r < 0)
                return nl_error_set(err, r, "--manifest-url: %s", strerror(-r));
        if (!(s->url = strdup(url)))
                return nl_error_set(err, -ENOMEM, "--manifest-url: out of memory");
        for (size_t i = 0; i < n_headers; i++) {
                /* "Name:value" as the flag gives it -> "Name: value" on the wire (the kubelet
                 * sets each value under its name) */
                const char *colon = strchr(headers[i], ':');
                const char *v = colon ? colon + 1 : "";
                while (*v == ' ' || *v == '\t')
                        v++;
                _cleanup_free_ char *h = nl_strdupf("%.*s: %s", (int) (colon ? colon - headers[i] : 0), headers[i], v);
                struct curl_slist *l = h ? curl_slist_append(s->url_headers, h) : NULL;
                if (!l)
                        return nl_error_set(err, -ENOMEM, "--manifest-url-header: out of memory");
                s->url_headers = l;
        }
        return 0;
}

static int scan_once(struct file_source *s) {
        _cleanup_close_ int dirfd = -1;
        struct stat st;
        int r = 0;

        try_watch(s);
        for (size_t i = 0; i < s->n_entries; i++)
                s->entries[i].seen = false;
        url_fetch_start(s);

        dirfd = s->dir ? open(s->dir, O_RDONLY | O_CLOEXEC | O_PATH) : -1;
        if (!s->dir)
                errno = ENOENT; /* --manifest-url alone */
        if (dirfd < 0 && errno != ENOENT && errno != ENOTDIR)
                return -errno; /* unreadable: keep what we have, as the kubelet does */
        if (dirfd >= 0 && fstat(dirfd, &st) < 0)
                return -errno;

        if (dirfd >= 0 && S_ISDIR(st.st_mode)) {
                _cleanup_close_ int rd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                char **names = NULL;
                size_t n = 0;
                if (rd < 0)
                        return -errno;
                r = list_dir(rd, &names, &n);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < n; i++) {
                        _cleanup_free_ char *path = nl_strdupf("%s/%s", s->dir, names[i]);
                        int k = path ? process_file(s, rd, names[i], path, i >= FILE_SOURCE_MAX_FILES)
                                     : -ENOMEM;
                        if (k < 0 && r >= 0)
                                r = k;
                }
                for (size_t i = 0; i < n; i++)
                        free(names[i]);
                free(names);
        } else if (dirfd >= 0 && S_ISREG(st.st_mode)) {
                /* the path names one manifest file */
                _cleanup_close_ int parent = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (parent < 0)
                        return -errno;
                r = process_file(s, parent, s->dir, s->dir, false);
        }
        /* else: missing, or neither a directory nor a file: it defines no pods */

        /* what is no longer there defines no pods */
        for (size_t i = s->n_entries; i > 0; i--) {
                struct file_entry *e = &s->entries[i - 1];
                if (e->seen)
                        continue;
                _cleanup_free_ char *path = TAKE_PTR(e->path);
                bool reported = e->signature != NULL;
                entry_remove(s, i - 1);
                _cleanup_(json_decrefp) json_t *none = json_array();
                struct file_update u = {.objects = none};
                if (reported && none)
                        s->fn(path, &u, s->userdata);
        }
        return r;
}

void file_source_set_pods_only(struct file_source *s, bool pods_only) {
        s->pods_only = pods_only;
}

int file_source_rescan(struct file_source *s) {
        if (s->scanning) { /* called from the update callback: once more when this scan ends */
                s->scan_again = true;
                return 0;
        }
        s->scanning = true;
        int r = 0;
        do {
                s->scan_again = false;
                r = scan_once(s);
        } while (s->scan_again);
        s->scanning = false;
        return r;
}

/* ---- events ------------------------------------------------------------------------------ */

static void schedule_scan(struct file_source *s, bool whole) {
        usec_t now;
        int enabled = SD_EVENT_OFF;
        if (sd_event_now(s->event, CLOCK_MONOTONIC, &now) < 0)
                return;
        (void) sd_event_source_get_enabled(s->coalesce, &enabled);
        if (enabled == SD_EVENT_OFF)
                s->first_event = now;
        /* a manifest renamed in or closed after writing is complete: act at once (bench/
         * measured the full quiet time as most of a pod's start); a creation or a write in
         * progress waits for the quiet time */
        usec_t at = now + (whole ? COALESCE_WHOLE_USEC : COALESCE_USEC);
        if (enabled != SD_EVENT_OFF && !whole) {
                uint64_t pending = 0;
                if (sd_event_source_get_time(s->coalesce, &pending) >= 0 && pending < at)
                        at = pending; /* a whole file already asked for an early scan */
        }
        if (at > s->first_event + COALESCE_MAX_USEC)
                at = s->first_event + COALESCE_MAX_USEC;
        (void) sd_event_source_set_time(s->coalesce, at);
        (void) sd_event_source_set_enabled(s->coalesce, SD_EVENT_ONESHOT);
}

static int on_inotify(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
        struct file_source *s = userdata;
        union {
                struct inotify_event ev;
                char buf[16 * 1024];
        } u;

        for (;;) {
                ssize_t n = read(fd, &u, sizeof(u));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        break; /* EAGAIN: drained */
                }
                if (n == 0)
                        break;
                for (char *p = u.buf; p < u.buf + n;) {
                        const struct inotify_event *e = (const struct inotify_event *) p;
                        p += sizeof(*e) + e->len;
                        if (e->mask & IN_Q_OVERFLOW) {
                                schedule_scan(s, false);
                                continue;
                        }
                        if (e->wd != s->wd)
                                continue; /* a watch we already dropped */
                        if (e->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT | IN_IGNORED)) {
                                /* the directory went away or moved: watch the path again when it
                                 * is back (at a rescan) */
                                if (!(e->mask & IN_IGNORED))
                                        (void) inotify_rm_watch(s->inotify_fd, s->wd);
                                s->wd = -1;
                                schedule_scan(s, false);
                                continue;
                        }
                        if (e->len > 0 && e->name[0] == '.')
                                continue; /* the kubelet ignores dot-files' events */
                        schedule_scan(s, (e->mask & (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE)) != 0);
                }
        }
        return 0;
}

static int on_coalesced(sd_event_source *es, uint64_t usec, void *userdata) {
        (void) file_source_rescan(userdata);
        return 0;
}

static int on_rescan(sd_event_source *es, uint64_t usec, void *userdata) {
        struct file_source *s = userdata;
        usec_t now;
        (void) file_source_rescan(s);
        if (sd_event_now(s->event, CLOCK_MONOTONIC, &now) >= 0)
                (void) sd_event_source_set_time(es, now + s->rescan);
        (void) sd_event_source_set_enabled(es, SD_EVENT_ONESHOT);
        return 0;
}

static int on_initial(sd_event_source *es, void *userdata) {
        (void) file_source_rescan(userdata);
        return 0;
}

void file_source_free(struct file_source *s) {
        if (!s)
                return;
        sd_event_source_disable_unref(s->io);
        sd_event_source_disable_unref(s->coalesce);
        sd_event_source_disable_unref(s->rescan_timer);
        sd_event_source_disable_unref(s->initial);
        if (s->fetch) {
                curl_event_remove(s->curl, s->fetch);
                curl_easy_cleanup(s->fetch);
        }
        curl_event_free(s->curl);
        curl_slist_free_all(s->url_headers);
        free(s->url);
        nl_buf_free(&s->body);
        if (s->inotify_fd >= 0)
                close(s->inotify_fd);
        for (size_t i = 0; i < s->n_entries; i++) {
                free(s->entries[i].path);
                free(s->entries[i].signature);
                strv_free_n(s->entries[i].warnings, s->entries[i].n_warnings);
        }
        free(s->entries);
        sd_event_unref(s->event);
        free(s->dir);
        free(s->node_name);
        free(s);
}

int file_source_new(sd_event *event, const char *dir, const char *node_name, usec_t rescan,
                    file_source_update_fn fn, void *userdata, struct file_source **ret, nl_error *err) {
        _cleanup_(file_source_freep) struct file_source *s = NULL;
        usec_t now;
        int r;

        if (!event || (dir && !*dir) || isempty(node_name) || !fn || rescan == 0)
                return nl_error_set(err, -EINVAL, "static pods: invalid arguments");
        s = calloc(1, sizeof(*s));
        if (!s)
                return nl_error_set(err, -ENOMEM, "static pods: out of memory");
        s->inotify_fd = -1;
        s->wd = -1;
        s->event = sd_event_ref(event);
        s->rescan = rescan;
        s->fn = fn;
        s->userdata = userdata;
        /* "golang.org/x/exp/inotify requires a path without trailing /": the kubelet trims it,
         * which also keeps reported paths clean */
        size_t len = dir ? strlen(dir) : 0;
        while (len > 1 && dir[len - 1] == '/')
                len--;
        s->dir = dir ? strndup(dir, len) : NULL;
        s->node_name = strdup(node_name);
        if ((dir && !s->dir) || !s->node_name)
                return nl_error_set(err, -ENOMEM, "static pods: out of memory");

        s->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (s->inotify_fd < 0) {
                r = -errno;
                return nl_error_set(err, r, "watch manifest directory \"%s\": inotify: %s", s->dir,
                                    strerror(-r));
        }
        r = sd_event_add_io(event, &s->io, s->inotify_fd, EPOLLIN, on_inotify, s);
        if (r < 0)
                return nl_error_set(err, r, "watch manifest directory \"%s\": %s", s->dir, strerror(-r));
        (void) sd_event_source_set_description(s->io, "file-source-inotify");

        r = sd_event_now(event, CLOCK_MONOTONIC, &now);
        if (r >= 0)
                r = sd_event_add_time(event, &s->coalesce, CLOCK_MONOTONIC, now, 1000, on_coalesced, s);
        if (r >= 0)
                r = sd_event_source_set_enabled(s->coalesce, SD_EVENT_OFF);
        if (r >= 0)
                r = sd_event_add_time(event, &s->rescan_timer, CLOCK_MONOTONIC, now + rescan,
                                      rescan / 20 > 1000 ? rescan / 20 : 1000, on_rescan, s);
        if (r >= 0)
                r = sd_event_add_defer(event, &s->initial, on_initial, s);
        if (r < 0)
                return nl_error_set(err, r, "watch manifest directory \"%s\": %s", s->dir, strerror(-r));
        (void) sd_event_source_set_description(s->coalesce, "file-source-coalesce");
        (void) sd_event_source_set_description(s->rescan_timer, "file-source-rescan");
        (void) sd_event_source_set_description(s->initial, "file-source-initial-scan");

        try_watch(s); /* before the first scan, so no change between the two is missed */
        *ret = TAKE_PTR(s);
        return 0;
}
