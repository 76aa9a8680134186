/* SPDX-License-Identifier: Apache-2.0 */
/* Image manifests, indexes and configs (OCI image-spec v1 and Docker schema 2), validated as
 * containerd validates them before it trusts a document: schema 1 refused, the media type must
 * agree with the content, digests and sizes well formed, known layer types only. Platform
 * selection follows containerd's platforms.Only() for the host, within one architecture. */
#include <stdio.h>
#include <strings.h>
#include <sys/utsname.h>

#include "common/strv.h"
#include "image.h"

#define MEDIA_DOCKER_SCHEMA1 "application/vnd.docker.distribution.manifest.v1+json"
#define MEDIA_DOCKER_SCHEMA1_SIGNED "application/vnd.docker.distribution.manifest.v1+prettyjws"

/* Not in the header: an index lists a few platforms (twice that with buildkit's attestation
 * manifests); the 4 MiB document cap would otherwise allow ~20000 entries. */
#define INDEX_MAX_MANIFESTS 1024
/* RFC 6838: type and subtype are at most 127 characters each. */
#define MEDIA_TYPE_MAX 255
/* How much of a bad value an error message quotes. */
#define QUOTE_MAX 100
/* How many platforms the "no image for ..." message lists. */
#define LIST_PLATFORMS_MAX 16
/* Variant ladders are short (arm v8..v5, arm64 v9.4..v8); bounds what a caller can ask for. */
#define VARIANT_LADDER_MAX 24

enum doc_kind { DOC_UNKNOWN, DOC_MANIFEST, DOC_INDEX, DOC_SCHEMA1 };

/* Layer types we can unpack (unpack.c's list): tar, tar+gzip, tar+zstd in their OCI and OCI
 * non-distributable spellings, Docker's tar.gzip, and Docker's foreign layers (Windows base
 * layers, fetched from their URLs). containerd also knows Docker's uncompressed, zstd and
 * uncompressed-foreign spellings; registries do not serve them in practice, and accepting them
 * here would only move the refusal to unpack time. */
static const char *const layer_media_types[] = {
        MEDIA_OCI_LAYER,
        MEDIA_OCI_LAYER_GZIP,
        MEDIA_OCI_LAYER_ZSTD,
        "application/vnd.oci.image.layer.nondistributable.v1.tar",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
        MEDIA_DOCKER_LAYER_GZIP,
        MEDIA_DOCKER_LAYER_FOREIGN,
};

static bool is_layer_media_type(const char *mt) {
        for (size_t i = 0; i < ELEMENTSOF(layer_media_types); i++)
                if (streq(mt, layer_media_types[i]))
                        return true;
        return false;
}

/* Media types compare case-insensitively (RFC 6838); parameters (";charset=...") are ignored. */
static bool media_type_eq(const char *mt, size_t n, const char *known) {
        return n == strlen(known) && strncasecmp(mt, known, n) == 0;
}

static enum doc_kind classify_media_type(const char *mt) {
        size_t n;

        if (!mt)
                return DOC_UNKNOWN;
        while (*mt == ' ' || *mt == '\t')
                mt++;
        n = strcspn(mt, "; \t");
        if (media_type_eq(mt, n, MEDIA_OCI_MANIFEST) || media_type_eq(mt, n, MEDIA_DOCKER_MANIFEST))
                return DOC_MANIFEST;
        if (media_type_eq(mt, n, MEDIA_OCI_INDEX) || media_type_eq(mt, n, MEDIA_DOCKER_LIST))
                return DOC_INDEX;
        if (media_type_eq(mt, n, MEDIA_DOCKER_SCHEMA1) || media_type_eq(mt, n, MEDIA_DOCKER_SCHEMA1_SIGNED))
                return DOC_SCHEMA1;
        return DOC_UNKNOWN;
}

/* The canonical spelling of a known media type (the hint may differ in case or parameters). */
static const char *canonical_media_type(const char *mt) {
        static const char *const known[] = {
                MEDIA_OCI_MANIFEST,
                MEDIA_DOCKER_MANIFEST,
                MEDIA_OCI_INDEX,
                MEDIA_DOCKER_LIST,
        };
        size_t n;

        while (*mt == ' ' || *mt == '\t')
                mt++;
        n = strcspn(mt, "; \t");
        for (size_t i = 0; i < ELEMENTSOF(known); i++)
                if (media_type_eq(mt, n, known[i]))
                        return known[i];
        return NULL;
}

/* Go's encoding/json, which containerd decodes with, matches object keys to struct fields
 * case-insensitively when there is no exact match ("cmd" fills Cmd). Do the same. */
static json_t *obj_get(const json_t *obj, const char *key) {
        const char *k;
        json_t *v;

        if (!json_is_object(obj))
                return NULL;
        v = json_object_get(obj, key);
        if (v)
                return v;
        json_object_foreach((json_t *) obj, k, v) {
                if (strcasecmp(k, key) == 0)
                        return v;
        }
        return NULL;
}

/* A member that is present and not null (Go leaves null members at their zero value). */
static json_t *obj_get_set(const json_t *obj, const char *key) {
        json_t *v = obj_get(obj, key);
        return json_is_null(v) ? NULL : v;
}

/* Errors name the document ("image manifest", "image index", "image config") and the field. */
_printf_(4, 5) static int doc_error(nl_error *err, const char *doc, const char *where, const char *fmt,
                                    ...) {
        _cleanup_free_ char *why = NL_FORMAT_VA(fmt);
        if (!why)
                return nl_error_set(err, -ENOMEM, "out of memory");
        if (where)
                return nl_error_set(err, -EINVAL, "invalid %s: %s: %s", doc, where, why);
        return nl_error_set(err, -EINVAL, "invalid %s: %s", doc, why);
}

/* An optional string member: absent or null gives NULL. */
static int get_string(const json_t *obj, const char *key, const char *doc, const char *where, char **ret,
                      nl_error *err) {
        json_t *v = obj_get_set(obj, key);
        char *s;

        if (!v) {
                *ret = NULL;
                return 0;
        }
        if (!json_is_string(v))
                return doc_error(err, doc, where, "%s must be a string", key);
        s = strdup(json_string_value(v));
        if (!s)
                return nl_error_set(err, -ENOMEM, "out of memory");
        *ret = s;
        return 0;
}

/* An optional array of strings: absent or null gives NULL and 0, else a NULL-terminated copy. */
static int get_string_array(const json_t *obj, const char *key, const char *doc, const char *where,
                            char ***ret, size_t *ret_n, nl_error *err) {
        json_t *v = obj_get_set(obj, key);
        _cleanup_(strv_freep) char **l = NULL;
        size_t n;

        if (!v) {
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        if (!json_is_array(v))
                return doc_error(err, doc, where, "%s must be an array of strings", key);
        n = json_array_size(v);
        l = calloc(n + 1, sizeof(char *));
        if (!l)
                return nl_error_set(err, -ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
                json_t *e = json_array_get(v, i);
                if (!json_is_string(e))
                        return doc_error(err, doc, where, "%s[%zu] must be a string", key, i);
                l[i] = strdup(json_string_value(e));
                if (!l[i])
                        return nl_error_set(err, -ENOMEM, "out of memory");
        }
        *ret = TAKE_PTR(l);
        *ret_n = n;
        return 0;
}

/* An optional object whose values are all strings (Go's map[string]string). */
static int get_string_map(const json_t *obj, const char *key, const char *doc, const char *where,
                          json_t **ret, nl_error *err) {
        json_t *v = obj_get_set(obj, key), *e;
        const char *k;

        if (!v) {
                *ret = NULL;
                return 0;
        }
        if (!json_is_object(v))
                return doc_error(err, doc, where, "%s must be an object", key);
        json_object_foreach(v, k, e) {
                if (!json_is_string(e)) {
                        _cleanup_free_ char *q = nl_quote(k, QUOTE_MAX, true);
                        return doc_error(err, doc, where, "%s[\"%s\"] must be a string", key, strempty(q));
                }
        }
        *ret = json_incref(v);
        return 0;
}

static int check_digest(const char *d, const char *doc, const char *where, nl_error *err) {
        _cleanup_free_ char *q = NULL;
        const char *colon;

        if (digest_is_valid(d))
                return 0;
        q = nl_quote(d, QUOTE_MAX, true);
        colon = strchr(d, ':');
        if (colon && colon != d && strncmp(d, "sha256:", 7) != 0 &&
            strspn(d, "abcdefghijklmnopqrstuvwxyz0123456789+._-") == (size_t) (colon - d))
                return doc_error(err, doc, where,
                                 "unsupported digest algorithm in \"%s\" (only sha256 is supported)",
                                 strempty(q));
        return doc_error(err, doc, where, "invalid digest \"%s\"", strempty(q));
}

static void platform_done(struct oci_platform *p) {
        free(p->os);
        free(p->architecture);
        free(p->variant);
        *p = (struct oci_platform){};
}

static void descriptor_done(struct oci_descriptor *d) {
        free(d->media_type);
        free(d->digest);
        platform_done(&d->platform);
        json_decref(d->annotations);
        *d = (struct oci_descriptor){};
}

static int parse_descriptor(const json_t *j, const char *doc, const char *where, bool with_platform,
                            struct oci_descriptor *ret, nl_error *err) {
        _cleanup_(descriptor_done) struct oci_descriptor d = {};
        json_t *v;
        int r;

        if (!json_is_object(j))
                return doc_error(err, doc, where, "a descriptor must be an object");

        r = get_string(j, "mediaType", doc, where, &d.media_type, err);
        if (r < 0)
                return r;
        if (isempty(d.media_type))
                return doc_error(err, doc, where, "mediaType is missing");
        if (strlen(d.media_type) > MEDIA_TYPE_MAX)
                return doc_error(err, doc, where, "mediaType is longer than %d characters", MEDIA_TYPE_MAX);

        r = get_string(j, "digest", doc, where, &d.digest, err);
        if (r < 0)
                return r;
        if (!d.digest)
                return doc_error(err, doc, where, "digest is missing");
        r = check_digest(d.digest, doc, where, err);
        if (r < 0)
                return r;

        v = obj_get_set(j, "size");
        if (!v)
                return doc_error(err, doc, where, "size is missing");
        if (!json_is_integer(v))
                return doc_error(err, doc, where, "size must be an integer");
        if (json_integer_value(v) < 0)
                return doc_error(err, doc, where, "size %" JSON_INTEGER_FORMAT " is negative",
                                 json_integer_value(v));
        d.size = json_integer_value(v);

        r = get_string_map(j, "annotations", doc, where, &d.annotations, err);
        if (r < 0)
                return r;

        if (with_platform) {
                json_t *p = obj_get_set(j, "platform");
                if (p) {
                        if (!json_is_object(p))
                                return doc_error(err, doc, where, "platform must be an object");
                        r = get_string(p, "os", doc, where, &d.platform.os, err);
                        if (r < 0)
                                return r;
                        r = get_string(p, "architecture", doc, where, &d.platform.architecture, err);
                        if (r < 0)
                                return r;
                        r = get_string(p, "variant", doc, where, &d.platform.variant, err);
                        if (r < 0)
                                return r;
                }
        }

        *ret = d;
        d = (struct oci_descriptor){};
        return 0;
}

void oci_manifest_free(struct oci_manifest *m) {
        if (!m)
                return;
        free(m->media_type);
        descriptor_done(&m->config);
        for (size_t i = 0; i < m->n_layers; i++)
                descriptor_done(&m->layers[i]);
        free(m->layers);
        for (size_t i = 0; i < m->n_manifests; i++)
                descriptor_done(&m->manifests[i]);
        free(m->manifests);
        free(m);
}

static int parse_manifest_body(const json_t *root, struct oci_manifest *m, nl_error *err) {
        const char *doc = "image manifest";
        json_t *layers;
        size_t n;
        int r;

        r = parse_descriptor(obj_get_set(root, "config"), doc, "config", false, &m->config, err);
        if (r < 0)
                return r;

        layers = obj_get_set(root, "layers");
        if (!json_is_array(layers))
                return doc_error(err, doc, NULL, "layers must be an array");
        n = json_array_size(layers);
        if (n > IMAGE_MAX_LAYERS)
                return doc_error(err, doc, NULL, "%zu layers, more than the limit of %d", n,
                                 IMAGE_MAX_LAYERS);
        m->layers = calloc(n ? n : 1, sizeof(struct oci_descriptor));
        if (!m->layers)
                return nl_error_set(err, -ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
                char where[32];
                snprintf(where, sizeof(where), "layers[%zu]", i);
                r = parse_descriptor(json_array_get(layers, i), doc, where, false, &m->layers[i], err);
                if (r < 0)
                        return r;
                m->n_layers = i + 1;
                if (!is_layer_media_type(m->layers[i].media_type)) {
                        _cleanup_free_ char *q = nl_quote(m->layers[i].media_type, QUOTE_MAX, true);
                        return doc_error(err, doc, where, "unsupported layer media type \"%s\"",
                                         strempty(q));
                }
        }
        return 0;
}

static int parse_index_body(const json_t *root, struct oci_manifest *m, nl_error *err) {
        const char *doc = "image index";
        json_t *manifests = obj_get_set(root, "manifests");
        size_t n;
        int r;

        if (!json_is_array(manifests))
                return doc_error(err, doc, NULL, "manifests must be an array");
        n = json_array_size(manifests);
        if (n > INDEX_MAX_MANIFESTS)
                return doc_error(err, doc, NULL, "%zu manifests, more than the limit of %d", n,
                                 INDEX_MAX_MANIFESTS);
        m->manifests = calloc(n ? n : 1, sizeof(struct oci_descriptor));
        if (!m->manifests)
                return nl_error_set(err, -ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
                char where[32];
                snprintf(where, sizeof(where), "manifests[%zu]", i);
                r = parse_descriptor(json_array_get(manifests, i), doc, where, true, &m->manifests[i], err);
                if (r < 0)
                        return r;
                m->n_manifests = i + 1;
        }
        return 0;
}

static const char *kind_name(enum doc_kind k) {
        return k == DOC_INDEX ? "an index" : "a manifest";
}

int oci_manifest_parse(const char *buf, size_t len, const char *content_type, struct oci_manifest **ret,
                       nl_error *err) {
        _cleanup_(json_decrefp) json_t *root = NULL;
        _cleanup_(oci_manifest_freep) struct oci_manifest *m = NULL;
        enum doc_kind doc_kind = DOC_UNKNOWN, hint_kind, content_kind = DOC_UNKNOWN, kind;
        const char *doc_mt = NULL;
        json_error_t jerr;
        json_t *v;
        bool has_manifests, has_config_or_layers;
        int r;

        if (!buf && len > 0)
                return nl_error_set(err, -EINVAL, "invalid image manifest: no data");
        if (len > IMAGE_MAX_MANIFEST_BYTES)
                return nl_error_set(err, -EFBIG, "image manifest is %zu bytes, more than the limit of %u",
                                    len, IMAGE_MAX_MANIFEST_BYTES);

        root = json_loadb(buf ? buf : "", len, JSON_REJECT_DUPLICATES, &jerr);
        if (!root)
                return nl_error_set(err, -EINVAL, "invalid image manifest: line %d column %d: %s", jerr.line,
                                    jerr.column, jerr.text);
        if (!json_is_object(root))
                return nl_error_set(err, -EINVAL, "invalid image manifest: not a JSON object");

        /* Schema 1 (signed or not) names its layers "fsLayers"; containerd no longer converts it. */
        hint_kind = classify_media_type(content_type);
        v = obj_get_set(root, "mediaType");
        if (v) {
                if (!json_is_string(v))
                        return doc_error(err, "image manifest", NULL, "mediaType must be a string");
                doc_mt = json_string_value(v);
                doc_kind = classify_media_type(doc_mt);
        }
        if (obj_get(root, "fsLayers") || hint_kind == DOC_SCHEMA1 || doc_kind == DOC_SCHEMA1 ||
            (json_is_integer(obj_get_set(root, "schemaVersion")) &&
             json_integer_value(obj_get_set(root, "schemaVersion")) == 1))
                return nl_error_set(
                        err, -EINVAL,
                        "schema 1 manifests are not supported (Docker image manifest v2, schema 1 is "
                        "deprecated; push the image again with a current tool)");

        v = obj_get_set(root, "schemaVersion");
        if (!v)
                return doc_error(err, "image manifest", NULL, "schemaVersion is missing");
        if (!json_is_integer(v) || json_integer_value(v) != 2)
                return doc_error(err, "image manifest", NULL, "schemaVersion must be 2");

        if (doc_mt && doc_kind == DOC_UNKNOWN) {
                _cleanup_free_ char *q = nl_quote(doc_mt, QUOTE_MAX, true);
                return doc_error(err, "image manifest", NULL, "unsupported media type \"%s\"", strempty(q));
        }

        /* What the content says it is, as containerd's validateMediaType looks at it. */
        has_manifests = obj_get_set(root, "manifests") != NULL;
        has_config_or_layers = obj_get_set(root, "config") || obj_get_set(root, "layers");
        if (has_manifests && has_config_or_layers)
                return doc_error(
                        err, "image manifest", NULL,
                        "the document has both manifests (an index) and config or layers (a manifest)");
        if (has_manifests)
                content_kind = DOC_INDEX;
        else if (has_config_or_layers)
                content_kind = DOC_MANIFEST;

        if (doc_kind != DOC_UNKNOWN && hint_kind != DOC_UNKNOWN && doc_kind != hint_kind) {
                _cleanup_free_ char *q = nl_quote(content_type, QUOTE_MAX, true);
                return doc_error(err, "image manifest", NULL, "served as \"%s\" but its mediaType is \"%s\"",
                                 strempty(q), doc_mt);
        }
        kind = doc_kind != DOC_UNKNOWN ? doc_kind : hint_kind != DOC_UNKNOWN ? hint_kind : content_kind;
        if (kind == DOC_UNKNOWN)
                return doc_error(
                        err, "image manifest", NULL,
                        "neither a manifest nor an index (no mediaType, config, layers or manifests)");
        if (content_kind != DOC_UNKNOWN && content_kind != kind)
                return doc_error(err, "image manifest", NULL, "expected %s but found %s", kind_name(kind),
                                 kind_name(content_kind));

        m = calloc(1, sizeof(*m));
        if (!m)
                return nl_error_set(err, -ENOMEM, "out of memory");
        m->kind = kind == DOC_INDEX ? OCI_KIND_INDEX : OCI_KIND_MANIFEST;
        if (doc_mt)
                m->media_type = strdup(doc_mt);
        else if (hint_kind != DOC_UNKNOWN)
                m->media_type = strdup(canonical_media_type(content_type));
        else
                m->media_type = strdup(kind == DOC_INDEX ? MEDIA_OCI_INDEX : MEDIA_OCI_MANIFEST);
        if (!m->media_type)
                return nl_error_set(err, -ENOMEM, "out of memory");

        if (kind == DOC_INDEX)
                r = parse_index_body(root, m, err);
        else
                r = parse_manifest_body(root, m, err);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(m);
        return 0;
}

/* ==== platforms ========================================================================== */

/* uname's machine, for architectures without a GOARCH name here; filled once at load. */
static char host_machine[sizeof(((struct utsname *) NULL)->machine)];

void oci_platform_host(struct oci_platform *ret) {
        static const struct {
                const char *machine, *arch, *variant;
        } table[] = {
                {"x86_64", "amd64", NULL},    {"amd64", "amd64", NULL},
                {"aarch64", "arm64", "v8"},   {"arm64", "arm64", "v8"},
                {"armv8l", "arm", "v8"},      {"armv7l", "arm", "v7"},
                {"armv7", "arm", "v7"},       {"armv6l", "arm", "v6"},
                {"armv5tel", "arm", "v5"},    {"armv5tejl", "arm", "v5"},
                {"i386", "386", NULL},        {"i486", "386", NULL},
                {"i586", "386", NULL},        {"i686", "386", NULL},
                {"ppc64le", "ppc64le", NULL}, {"ppc64", "ppc64", NULL},
                {"s390x", "s390x", NULL},     {"riscv64", "riscv64", NULL},
                {"mips64", "mips64", NULL},   {"loongarch64", "loong64", NULL},
        };
        struct utsname u;

        *ret = (struct oci_platform){.os = (char *) "linux"};
        if (uname(&u) < 0) {
                ret->architecture = (char *) "unknown";
                return;
        }
        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (streq(u.machine, table[i].machine)) {
                        ret->architecture = (char *) table[i].arch;
                        ret->variant = (char *) table[i].variant;
                        return;
                }
        ret->architecture = host_machine[0] ? host_machine : (char *) "unknown";
}

__attribute__((constructor)) static void host_machine_init(void) {
        struct utsname u;

        if (uname(&u) == 0) {
                memcpy(host_machine, u.machine, sizeof(host_machine));
                host_machine[sizeof(host_machine) - 1] = '\0';
        }
}

struct norm_platform {
        char *os, *arch, *variant; /* owned, lowercase, never NULL */
};

static void norm_platform_done(struct norm_platform *p) {
        free(p->os);
        free(p->arch);
        free(p->variant);
        *p = (struct norm_platform){};
}

static char *lowercase_dup(const char *s) {
        char *d = strdup(strempty(s));
        if (!d)
                return NULL;
        for (char *p = d; *p; p++)
                if (*p >= 'A' && *p <= 'Z')
                        *p = (char) (*p - 'A' + 'a');
        return d;
}

static int replace(char **s, const char *v) {
        char *d = strdup(v);
        if (!d)
                return -ENOMEM;
        free(*s);
        *s = d;
        return 0;
}

/* containerd's platforms.Normalize: lowercase, GOOS/GOARCH names, canonical variants. An empty
 * os is the host's ("linux"). */
static int normalize_platform(const char *os, const char *arch, const char *variant,
                              struct norm_platform *ret) {
        struct norm_platform p = {lowercase_dup(os), lowercase_dup(arch), lowercase_dup(variant)};
        int r = 0;

        if (!p.os || !p.arch || !p.variant) {
                norm_platform_done(&p);
                return -ENOMEM;
        }
        if (isempty(p.os))
                r = replace(&p.os, "linux");
        else if (streq(p.os, "macos"))
                r = replace(&p.os, "darwin");

        if (r >= 0 && streq(p.arch, "i386")) {
                r = replace(&p.arch, "386");
                if (r >= 0)
                        r = replace(&p.variant, "");
        } else if (r >= 0 &&
                   (streq(p.arch, "x86_64") || streq(p.arch, "x86-64") || streq(p.arch, "amd64"))) {
                r = replace(&p.arch, "amd64");
                if (r >= 0 && streq(p.variant, "v1"))
                        r = replace(&p.variant, "");
        } else if (r >= 0 && (streq(p.arch, "aarch64") || streq(p.arch, "arm64"))) {
                r = replace(&p.arch, "arm64");
                if (r >= 0 && (streq(p.variant, "8") || streq(p.variant, "v8") || streq(p.variant, "v8.0")))
                        r = replace(&p.variant, "");
                else if (r >= 0 &&
                         (streq(p.variant, "9") || streq(p.variant, "9.0") || streq(p.variant, "v9.0")))
                        r = replace(&p.variant, "v9");
        } else if (r >= 0 && streq(p.arch, "armhf")) {
                r = replace(&p.arch, "arm");
                if (r >= 0)
                        r = replace(&p.variant, "v7");
        } else if (r >= 0 && streq(p.arch, "armel")) {
                r = replace(&p.arch, "arm");
                if (r >= 0)
                        r = replace(&p.variant, "v6");
        } else if (r >= 0 && streq(p.arch, "arm")) {
                if (streq(p.variant, "") || streq(p.variant, "7"))
                        r = replace(&p.variant, "v7");
                else if (streq(p.variant, "5") || streq(p.variant, "6") || streq(p.variant, "8")) {
                        char v[3] = {'v', p.variant[0], '\0'};
                        r = replace(&p.variant, v);
                }
        }
        if (r < 0) {
                norm_platform_done(&p);
                return r;
        }
        *ret = p;
        return 0;
}

/* "vN" with 1 <= N <= 99 -> N, else -1. */
static int variant_number(const char *s, size_t n) {
        int v = 0;

        if (n < 2 || n > 3 || s[0] != 'v')
                return -1;
        for (size_t i = 1; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -1;
                v = v * 10 + (s[i] - '0');
        }
        return v >= 1 ? v : -1;
}

struct ladder {
        char *v[VARIANT_LADDER_MAX];
        size_t n;
};

static void ladder_done(struct ladder *l) {
        for (size_t i = 0; i < l->n; i++)
                free(l->v[i]);
        l->n = 0;
}

static int ladder_add(struct ladder *l, const char *v) {
        if (l->n >= VARIANT_LADDER_MAX)
                return 0;
        l->v[l->n] = strdup(v);
        if (!l->v[l->n])
                return -ENOMEM;
        l->n++;
        return 0;
}

/* The variants this platform runs, best first, as containerd's platformVector lists them within
 * the architecture (all already normalized: arm64 v8 is "", amd64 v1 is ""):
 *   arm vN -> vN .. v5;  amd64 vN -> vN .. v2, "";  arm64 v8.x -> v8.x .. v8.1, "";
 *   arm64 v9.x -> v9.x .. v9.1, v9, v8.(x+5, at most 9) .. v8.1, "". */
static int variant_ladder(const struct norm_platform *p, struct ladder *ret) {
        struct ladder l = {};
        int r = ladder_add(&l, p->variant), n;
        char buf[16];

        if (r < 0)
                goto fail;
        if (streq(p->arch, "arm")) {
                n = variant_number(p->variant, strlen(p->variant));
                for (int k = n - 1; n > 5 && k >= 5 && r >= 0; k--) {
                        snprintf(buf, sizeof(buf), "v%d", k);
                        r = ladder_add(&l, buf);
                }
        } else if (streq(p->arch, "amd64")) {
                n = variant_number(p->variant, strlen(p->variant));
                for (int k = n - 1; n > 1 && k >= 1 && r >= 0; k--) {
                        snprintf(buf, sizeof(buf), "v%d", k);
                        r = ladder_add(&l, k == 1 ? "" : buf);
                }
        } else if (streq(p->arch, "arm64")) {
                const char *v = isempty(p->variant) ? "v8" : p->variant;
                size_t major_len = strcspn(v, ".");
                int major = variant_number(v, major_len), minor = 0;

                if (major >= 8 && strlen(v) == 4 && v[2] == '.' && v[3] >= '0' && v[3] <= '9')
                        minor = v[3] - '0';
                if (major == 9) {
                        for (int k = minor - 1; k >= 0 && r >= 0; k--) {
                                snprintf(buf, sizeof(buf), k == 0 ? "v9" : "v9.%d", k);
                                r = ladder_add(&l, buf);
                        }
                        minor = minor + 5 > 9 ? 9 : minor + 5;
                        major = 8;
                        snprintf(buf, sizeof(buf), "v8.%d", minor);
                        if (r >= 0)
                                r = ladder_add(&l, buf);
                }
                if (major == 8)
                        for (int k = minor - 1; k >= 0 && r >= 0; k--) {
                                snprintf(buf, sizeof(buf), "v8.%d", k);
                                r = ladder_add(&l, k == 0 ? "" : buf);
                        }
        }
        if (r < 0)
                goto fail;
        *ret = l;
        return 0;
fail:
        ladder_done(&l);
        return r;
}

/* Position of the entry's variant on the ladder (lower is better), or -1 when it does not run. */
static int platform_rank(const struct norm_platform *want, const struct ladder *l,
                         const struct oci_platform *have, int *ret) {
        struct norm_platform h = {};
        int r = normalize_platform(have->os, have->architecture, have->variant, &h);

        if (r < 0)
                return r;
        *ret = -1;
        if (streq(h.os, want->os) && streq(h.arch, want->arch))
                for (size_t i = 0; i < l->n; i++)
                        if (streq(h.variant, l->v[i])) {
                                *ret = (int) i;
                                break;
                        }
        norm_platform_done(&h);
        return 0;
}

static void format_platform(nl_buf *b, const char *os, const char *arch, const char *variant) {
        _cleanup_free_ char *qo = nl_quote(os, QUOTE_MAX, true), *qa = nl_quote(arch, QUOTE_MAX, true),
                            *qv = nl_quote(variant, QUOTE_MAX, true);

        nl_buf_printf(b, "%s/%s", isempty(qo) ? "unknown" : qo, isempty(qa) ? "unknown" : qa);
        if (!isempty(qv))
                nl_buf_printf(b, "/%s", qv);
}

/* buildkit's attestation manifests are listed as unknown/unknown; they are not images. */
static bool is_attestation(const struct oci_platform *p) {
        return streq_ptr(p->os, "unknown") && streq_ptr(p->architecture, "unknown");
}

static int no_match_error(const struct oci_manifest *index, const struct oci_platform *p, nl_error *err) {
        nl_buf want = {}, have = {};
        size_t listed = 0;

        format_platform(&want, p->os, p->architecture, p->variant);
        for (size_t i = 0; i < index->n_manifests; i++) {
                const struct oci_platform *e = &index->manifests[i].platform;
                if ((!e->os && !e->architecture) || is_attestation(e))
                        continue;
                if (listed == LIST_PLATFORMS_MAX) {
                        nl_buf_puts(&have, ", ...");
                        break;
                }
                if (listed > 0)
                        nl_buf_puts(&have, ", ");
                format_platform(&have, e->os, e->architecture, e->variant);
                listed++;
        }
        _cleanup_free_ char *w = nl_buf_steal(&want), *h = nl_buf_steal(&have);
        if (!w || !h)
                return nl_error_set(err, -ENOMEM, "out of memory");
        if (listed == 0)
                return nl_error_set(err, -ENOENT, "no image for %s in the index (it lists no platforms)", w);
        return nl_error_set(err, -ENOENT, "no image for %s in the index (it has %s)", w, h);
}

int oci_index_select(const struct oci_manifest *index, const struct oci_platform *p,
                     const struct oci_descriptor **ret, nl_error *err) {
        struct norm_platform want = {};
        struct ladder l = {};
        const struct oci_descriptor *best = NULL;
        int best_rank = -1, r;

        if (!index || !p || index->kind != OCI_KIND_INDEX)
                return nl_error_set(err, -EINVAL, "not an image index");
        r = normalize_platform(p->os, p->architecture, p->variant, &want);
        if (r < 0)
                return nl_error_set(err, r, "out of memory");
        r = variant_ladder(&want, &l);
        if (r < 0) {
                norm_platform_done(&want);
                return nl_error_set(err, r, "out of memory");
        }

        for (size_t i = 0; i < index->n_manifests; i++) {
                const struct oci_descriptor *d = &index->manifests[i];
                int rank;

                /* Without a platform we could only tell by fetching its config; skip it. */
                if (!d->platform.os && !d->platform.architecture)
                        continue;
                r = platform_rank(&want, &l, &d->platform, &rank);
                if (r < 0)
                        break;
                if (rank >= 0 && (!best || rank < best_rank)) {
                        best = d;
                        best_rank = rank;
                }
        }
        ladder_done(&l);
        norm_platform_done(&want);
        if (r < 0)
                return nl_error_set(err, r, "out of memory");
        if (!best)
                return no_match_error(index, p, err);
        *ret = best;
        return 0;
}

/* ==== image config ======================================================================= */

void image_config_free(struct image_config *c) {
        if (!c)
                return;
        free(c->os);
        free(c->architecture);
        free(c->variant);
        free(c->created);
        free(c->author);
        strv_free(c->entrypoint);
        strv_free(c->cmd);
        strv_free(c->env);
        strv_free(c->exposed_ports);
        free(c->working_dir);
        free(c->user);
        free(c->stop_signal);
        json_decref(c->labels);
        strv_free(c->diff_ids);
        json_decref(c->history);
        free(c);
}

static int parse_container_config(const json_t *cfg, struct image_config *c, nl_error *err) {
        const char *doc = "image config", *where = "config";
        json_t *ports;
        int r;

        if (!cfg)
                return 0;
        if (!json_is_object(cfg))
                return doc_error(err, doc, NULL, "config must be an object");

        r = get_string_array(cfg, "Entrypoint", doc, where, &c->entrypoint, &c->n_entrypoint, err);
        if (r < 0)
                return r;
        r = get_string_array(cfg, "Cmd", doc, where, &c->cmd, &c->n_cmd, err);
        if (r < 0)
                return r;
        r = get_string_array(cfg, "Env", doc, where, &c->env, &c->n_env, err);
        if (r < 0)
                return r;
        r = get_string(cfg, "WorkingDir", doc, where, &c->working_dir, err);
        if (r < 0)
                return r;
        r = get_string(cfg, "User", doc, where, &c->user, err);
        if (r < 0)
                return r;
        r = get_string(cfg, "StopSignal", doc, where, &c->stop_signal, err);
        if (r < 0)
                return r;
        r = get_string_map(cfg, "Labels", doc, where, &c->labels, err);
        if (r < 0)
                return r;

        /* ExposedPorts is a set: {"80/tcp": {}, "53/udp": {}}; we keep the keys in order. */
        ports = obj_get_set(cfg, "ExposedPorts");
        if (ports) {
                const char *k;
                json_t *v;
                size_t n = 0;

                if (!json_is_object(ports))
                        return doc_error(err, doc, where, "ExposedPorts must be an object");
                c->exposed_ports = calloc(json_object_size(ports) + 1, sizeof(char *));
                if (!c->exposed_ports)
                        return nl_error_set(err, -ENOMEM, "out of memory");
                json_object_foreach(ports, k, v) {
                        if (!json_is_object(v) && !json_is_null(v)) {
                                _cleanup_free_ char *q = nl_quote(k, QUOTE_MAX, true);
                                return doc_error(err, doc, where, "ExposedPorts[\"%s\"] must be an object",
                                                 strempty(q));
                        }
                        c->exposed_ports[n] = strdup(k);
                        if (!c->exposed_ports[n])
                                return nl_error_set(err, -ENOMEM, "out of memory");
                        c->n_exposed_ports = ++n;
                }
        }
        return 0;
}

static int parse_rootfs(const json_t *rootfs, struct image_config *c, nl_error *err) {
        const char *doc = "image config";
        json_t *type, *ids;
        size_t n;

        if (!rootfs)
                return doc_error(err, doc, NULL, "rootfs is missing");
        if (!json_is_object(rootfs))
                return doc_error(err, doc, NULL, "rootfs must be an object");
        type = obj_get_set(rootfs, "type");
        if (!json_is_string(type) || !streq(json_string_value(type), "layers"))
                return doc_error(err, doc, "rootfs", "type must be \"layers\"");

        /* Absent or null: an image of no layers. */
        ids = obj_get_set(rootfs, "diff_ids");
        if (ids && !json_is_array(ids))
                return doc_error(err, doc, "rootfs", "diff_ids must be an array");
        n = json_array_size(ids);
        if (n > IMAGE_MAX_LAYERS)
                return doc_error(err, doc, "rootfs", "%zu diff_ids, more than the limit of %d", n,
                                 IMAGE_MAX_LAYERS);
        c->diff_ids = calloc(n + 1, sizeof(char *));
        if (!c->diff_ids)
                return nl_error_set(err, -ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
                json_t *e = json_array_get(ids, i);
                char where[32];
                int r;

                snprintf(where, sizeof(where), "rootfs.diff_ids[%zu]", i);
                if (!json_is_string(e))
                        return doc_error(err, doc, where, "must be a string");
                r = check_digest(json_string_value(e), doc, where, err);
                if (r < 0)
                        return r;
                c->diff_ids[i] = strdup(json_string_value(e));
                if (!c->diff_ids[i])
                        return nl_error_set(err, -ENOMEM, "out of memory");
                c->n_diff_ids = i + 1;
        }
        return 0;
}

int image_config_parse(const char *buf, size_t len, struct image_config **ret, nl_error *err) {
        _cleanup_(json_decrefp) json_t *root = NULL;
        _cleanup_(image_config_freep) struct image_config *c = NULL;
        const char *doc = "image config";
        json_error_t jerr;
        json_t *history;
        int r;

        if (!buf && len > 0)
                return nl_error_set(err, -EINVAL, "invalid image config: no data");
        if (len > IMAGE_MAX_CONFIG_BYTES)
                return nl_error_set(err, -EFBIG, "image config is %zu bytes, more than the limit of %u", len,
                                    IMAGE_MAX_CONFIG_BYTES);
        root = json_loadb(buf ? buf : "", len, JSON_REJECT_DUPLICATES, &jerr);
        if (!root)
                return nl_error_set(err, -EINVAL, "invalid image config: line %d column %d: %s", jerr.line,
                                    jerr.column, jerr.text);
        if (!json_is_object(root))
                return nl_error_set(err, -EINVAL, "invalid image config: not a JSON object");

        c = calloc(1, sizeof(*c));
        if (!c)
                return nl_error_set(err, -ENOMEM, "out of memory");

        r = get_string(root, "os", doc, NULL, &c->os, err);
        if (r >= 0)
                r = get_string(root, "architecture", doc, NULL, &c->architecture, err);
        if (r >= 0)
                r = get_string(root, "variant", doc, NULL, &c->variant, err);
        if (r >= 0)
                r = get_string(root, "created", doc, NULL, &c->created, err);
        if (r >= 0)
                r = get_string(root, "author", doc, NULL, &c->author, err);
        if (r >= 0)
                r = parse_container_config(obj_get_set(root, "config"), c, err);
        if (r >= 0)
                r = parse_rootfs(obj_get_set(root, "rootfs"), c, err);
        if (r < 0)
                return r;

        history = obj_get_set(root, "history");
        if (history) {
                if (!json_is_array(history))
                        return doc_error(err, doc, NULL, "history must be an array");
                c->history = json_incref(history);
        }

        *ret = TAKE_PTR(c);
        return 0;
}

/* The OCI chain ID: ChainID(L0) = DiffID(L0), ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln)),
 * the names containerd gives unpacked snapshots. Returns a NULL-terminated array of n strings. */
int image_chain_ids(char *const *diff_ids, size_t n, char ***ret) {
        _cleanup_(strv_freep) char **l = NULL;

        if ((!diff_ids && n > 0) || n > IMAGE_MAX_LAYERS)
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                if (!digest_is_valid(diff_ids[i]))
                        return -EINVAL;
        l = calloc(n + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                if (i == 0) {
                        l[i] = strdup(diff_ids[0]);
                } else {
                        char d[DIGEST_STRING_MAX];
                        _cleanup_free_ char *s = nl_strdupf("%s %s", l[i - 1], diff_ids[i]);
                        int r;

                        if (!s)
                                return -ENOMEM;
                        r = digest_buffer(s, strlen(s), d);
                        if (r < 0)
                                return r;
                        l[i] = strdup(d);
                }
                if (!l[i])
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}
