/* SPDX-License-Identifier: Apache-2.0 */
/* The kubelet's rules for pods read from the static pod path (pkg/kubelet/config/common.go
 * applyDefaults and tryDecodeSinglePod, file.go; the config.source annotation comes from
 * config.go). Applied after decoding and before validation, as upstream does. */
#include <openssl/evp.h>
#include <stdio.h>

#include "podspec.h"

#define CONFIG_HASH_ANNOTATION "kubernetes.io/config.hash"
#define CONFIG_SOURCE_ANNOTATION "kubernetes.io/config.source"
#define CONFIG_SOURCE_FILE "file"
#define STATIC_POD_MAX_NAME 253 /* metadata.name is a DNS-1123 subdomain */

DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_MD_CTX *, EVP_MD_CTX_free)

/* Upstream hashes the decoded Go object, then "host:<node>" and "file:<path>" (the object first,
 * because its hashing resets the hasher). The Go object's encoding cannot be reproduced here, so
 * the file's bytes stand in for it: the UID still changes exactly when the manifest, its path or
 * the node changes, but it is not the value the kubelet would compute. Upstream has also moved
 * from md5 to FNV-128a; both give 32 hex digits. */
static int static_pod_uid(const char *node_name, const char *source_path, const char *content,
                          size_t content_len, char **ret) {
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned md_len = 0;

        if (!ctx)
                return -ENOMEM;
        if (EVP_DigestInit_ex(ctx, EVP_md5(), NULL) != 1 ||
            (content_len > 0 && EVP_DigestUpdate(ctx, content, content_len) != 1) ||
            EVP_DigestUpdate(ctx, "host:", 5) != 1 ||
            EVP_DigestUpdate(ctx, node_name, strlen(node_name)) != 1 ||
            EVP_DigestUpdate(ctx, "file:", 5) != 1 ||
            EVP_DigestUpdate(ctx, source_path, strlen(source_path)) != 1 ||
            EVP_DigestFinal_ex(ctx, md, &md_len) != 1)
                return -EIO; /* md5 unavailable, e.g. a FIPS-only OpenSSL */

        char *hex = malloc(2 * (size_t) md_len + 1);
        if (!hex)
                return -ENOMEM;
        for (unsigned i = 0; i < md_len; i++)
                snprintf(hex + 2 * i, 3, "%02x", md[i]);
        *ret = hex;
        return 0;
}

static char *strdup_lower_ascii(const char *s) {
        char *r = strdup(s);
        if (r)
                for (char *p = r; *p; p++)
                        if (*p >= 'A' && *p <= 'Z')
                                *p = (char) (*p - 'A' + 'a');
        return r;
}

static struct pod_kv *annotation_find(struct pod_object_meta *m, const char *key) {
        for (size_t i = 0; i < m->n_annotations; i++)
                if (streq_ptr(m->annotations[i].key, key))
                        return &m->annotations[i];
        return NULL;
}

/* Set key to *value (taking it), replacing an existing entry's value. The array must have room
 * for one more entry. Never fails. */
static void annotation_set(struct pod_object_meta *m, char **key, char **value) {
        struct pod_kv *kv = annotation_find(m, *key);
        if (kv) {
                free(kv->value);
                kv->value = TAKE_PTR(*value);
                return;
        }
        m->annotations[m->n_annotations++] = (struct pod_kv){TAKE_PTR(*key), TAKE_PTR(*value)};
}

/* Go's Toleration.MatchToleration: same key, operator, value and effect (unset == ""). */
static bool toleration_matches_all_no_execute(const struct pod_toleration *t) {
        return isempty(t->key) && streq(strempty(t->operator_), "Exists") && isempty(t->value) &&
               streq(strempty(t->effect), "NoExecute");
}

/* helper.AddOrUpdateTolerationInPod with {operator: Exists, effect: NoExecute}: nothing when an
 * identical toleration exists; otherwise every matching one (they can differ only in
 * tolerationSeconds) becomes the new one; otherwise it is appended. The array must have room for
 * one more entry; op/effect are taken when appended. Never fails. */
static void toleration_add_or_update(struct pod_spec *s, char **op, char **effect) {
        bool matched = false;

        for (size_t i = 0; i < s->n_tolerations; i++)
                if (toleration_matches_all_no_execute(&s->tolerations[i]) &&
                    !s->tolerations[i].toleration_seconds.set)
                        return;

        for (size_t i = 0; i < s->n_tolerations; i++) {
                struct pod_toleration *t = &s->tolerations[i];
                if (!toleration_matches_all_no_execute(t))
                        continue;
                t->toleration_seconds = (nl_opt_int){};
                matched = true;
        }
        if (matched)
                return;

        s->tolerations[s->n_tolerations++] = (struct pod_toleration){
                .operator_ = TAKE_PTR(*op),
                .effect = TAKE_PTR(*effect),
        };
}

bool pod_uid_is_path_safe(const char *uid) {
        size_t n = uid ? strlen(uid) : 0;
        if (n == 0 || n > 128 || streq(uid, ".") || streq(uid, ".."))
                return false;
        for (const char *c = uid; *c; c++)
                if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '-' ||
                      *c == '_' || *c == '.'))
                        return false;
        return true;
}

int pod_apply_static_rules(struct pod *p, const char *node_name, const char *source_path,
                           const char *content, size_t content_len, nl_error *err) {
        _cleanup_free_ char *uid = NULL, *name = NULL, *ns = NULL, *spec_node = NULL, *node_lower = NULL;
        _cleanup_free_ char *hash_key = NULL, *hash_value = NULL, *source_key = NULL, *source_value = NULL;
        _cleanup_free_ char *op = NULL, *effect = NULL, *phase = NULL;
        int r;

        if (!p || !source_path || (!content && content_len > 0))
                return nl_error_set(err, -EINVAL, "static pod: invalid arguments");
        if (isempty(node_name))
                return nl_error_set(err, -EINVAL, "static pod from \"%s\": node name is empty", source_path);

        /* As tryDecodeSinglePod: the name is checked before anything is defaulted, and
         * generateName is never used for static pods. */
        if (isempty(p->metadata.name)) {
                if (!isempty(p->metadata.generate_name))
                        return nl_error_set(err, -EINVAL,
                                            "metadata.name: Required value: name is needed for a static pod "
                                            "(metadata.generateName \"%.*s\" is not used for static pods)",
                                            STATIC_POD_MAX_NAME, p->metadata.generate_name);
                return nl_error_set(err, -EINVAL,
                                    "metadata.name: Required value: name is needed for a static pod");
        }

        node_lower = strdup_lower_ascii(node_name);
        if (!node_lower)
                return nl_error_set(err, -ENOMEM, "static pod: out of memory");

        /* Upstream builds the name unchecked and validation then rejects it; say why here. */
        size_t name_len = strlen(p->metadata.name), node_len = strlen(node_lower);
        if (name_len + 1 + node_len > STATIC_POD_MAX_NAME)
                return nl_error_set(
                        err, -EINVAL,
                        "metadata.name: Invalid value: \"%.*s-%s\": must be no more than %d characters "
                        "(a static pod's name is its metadata.name \"-\" the node name)",
                        STATIC_POD_MAX_NAME, p->metadata.name, node_lower, STATIC_POD_MAX_NAME);

        /* the UID names the pod's directories: "..", "/" or an empty name would lead them
         * elsewhere (removing such a pod removed the whole root dir) */
        if (!isempty(p->metadata.uid) && !pod_uid_is_path_safe(p->metadata.uid))
                return nl_error_set(err, -EINVAL,
                                    "metadata.uid: Invalid value: \"%.*s\": must be 1 to 128 letters, digits, '-', '_' "
                                    "or '.', and not \".\" or \"..\" (it names the pod's directories)",
                                    128, p->metadata.uid);
        if (isempty(p->metadata.uid)) {
                r = static_pod_uid(node_name, source_path, content, content_len, &uid);
                if (r < 0)
                        return nl_error_set(err, r, "static pod \"%s\": cannot compute the UID (md5): %s",
                                            p->metadata.name, strerror(-r));
        }

        name = nl_strdupf("%s-%s", p->metadata.name, node_lower);
        if (isempty(p->metadata.namespace))
                ns = strdup("default");
        spec_node = strdup(node_name); /* as given: the kubelet lowercases its hostname itself */
        hash_key = strdup(CONFIG_HASH_ANNOTATION);
        hash_value = strdup(uid ? uid : p->metadata.uid);
        source_key = strdup(CONFIG_SOURCE_ANNOTATION);
        source_value = strdup(CONFIG_SOURCE_FILE);
        op = strdup("Exists");
        effect = strdup("NoExecute");
        phase = strdup("Pending");
        if (!name || (isempty(p->metadata.namespace) && !ns) || !spec_node || !hash_key || !hash_value ||
            !source_key || !source_value || !op || !effect || !phase)
                return nl_error_set(err, -ENOMEM, "static pod: out of memory");

        /* Room for two annotations and one toleration, so nothing below can fail and the pod is
         * either fully updated or left as it was. */
        struct pod_kv *annotations =
                reallocarray(p->metadata.annotations, p->metadata.n_annotations + 2, sizeof(struct pod_kv));
        if (!annotations)
                return nl_error_set(err, -ENOMEM, "static pod: out of memory");
        p->metadata.annotations = annotations;
        struct pod_toleration *tolerations =
                reallocarray(p->spec.tolerations, p->spec.n_tolerations + 1, sizeof(struct pod_toleration));
        if (!tolerations)
                return nl_error_set(err, -ENOMEM, "static pod: out of memory");
        p->spec.tolerations = tolerations;

        if (uid) {
                free(p->metadata.uid);
                p->metadata.uid = TAKE_PTR(uid);
        }
        free(p->metadata.name);
        p->metadata.name = TAKE_PTR(name);
        if (ns) {
                free(p->metadata.namespace);
                p->metadata.namespace = TAKE_PTR(ns);
        }
        free(p->spec.node_name);
        p->spec.node_name = TAKE_PTR(spec_node);
        annotation_set(&p->metadata, &hash_key, &hash_value);
        annotation_set(&p->metadata, &source_key, &source_value);
        toleration_add_or_update(&p->spec, &op, &effect);
        /* applyDefaults also starts the pod as Pending. */
        free(p->status.phase);
        p->status.phase = TAKE_PTR(phase);
        return 0;
}
