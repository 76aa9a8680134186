/* SPDX-License-Identifier: Apache-2.0 */
/* Manifests and indexes: the first byte picks the Content-Type the registry claimed, the rest is
 * the document. What parses is checked for the promised invariants, and an index is asked for a
 * few platforms. */
#include <stdio.h>
#include <stdlib.h>

#include "cri/cri.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const content_types[] = {
        NULL,
        MEDIA_OCI_MANIFEST,
        MEDIA_OCI_INDEX,
        MEDIA_DOCKER_MANIFEST,
        MEDIA_DOCKER_LIST,
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
        "application/json",
        "application/vnd.oci.image.index.v1+json; charset=utf-8",
};

static const struct oci_platform platforms[] = {
        {(char *) "linux", (char *) "amd64", NULL},
        {(char *) "linux", (char *) "arm64", (char *) "v8"},
        {(char *) "linux", (char *) "arm", (char *) "v7"},
        {(char *) "linux", (char *) "amd64", (char *) "v3"},
        {(char *) "linux", (char *) "arm64", (char *) "v9.4"},
        {(char *) "Linux", (char *) "x86_64", NULL},
        {NULL, NULL, NULL},
};

static void check(bool ok, const char *what) {
        if (ok)
                return;
        fprintf(stderr, "fuzz-manifest: %s\n", what);
        abort();
}

static void check_descriptor(const struct oci_descriptor *d) {
        check(d->media_type != NULL, "descriptor without media type");
        check(digest_is_valid(d->digest), "descriptor with an invalid digest");
        check(d->size >= 0, "descriptor with a negative size");
        check(!d->annotations || json_is_object(d->annotations), "annotations not an object");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct oci_manifest *m = NULL;
        nl_error err = NL_ERROR_INIT;
        const char *ct;

        if (size < 1)
                return 0;
        ct = content_types[data[0] % ELEMENTSOF(content_types)];
        if (oci_manifest_parse((const char *) data + 1, size - 1, ct, &m, &err) < 0) {
                check(err.msg != NULL && err.code < 0, "error without a message");
                check(m == NULL, "output written on failure");
                nl_error_clear(&err);
                return 0;
        }
        check(m->media_type != NULL, "no media type");
        if (m->kind == OCI_KIND_MANIFEST) {
                check_descriptor(&m->config);
                check(m->n_layers <= IMAGE_MAX_LAYERS, "too many layers");
                for (size_t i = 0; i < m->n_layers; i++)
                        check_descriptor(&m->layers[i]);
                check(m->n_manifests == 0, "a manifest with manifests");
        } else {
                check(m->kind == OCI_KIND_INDEX, "unknown kind");
                check(m->n_layers == 0, "an index with layers");
                for (size_t i = 0; i < m->n_manifests; i++)
                        check_descriptor(&m->manifests[i]);
                for (size_t i = 0; i < ELEMENTSOF(platforms); i++) {
                        const struct oci_descriptor *d = NULL;
                        int r = oci_index_select(m, &platforms[i], &d, &err);
                        if (r < 0) {
                                check(r == -ENOENT && err.msg != NULL, "select failed without ENOENT");
                                nl_error_clear(&err);
                        } else {
                                check(d >= m->manifests && d < m->manifests + m->n_manifests,
                                      "selected descriptor not in the index");
                        }
                }
                struct oci_platform host;
                const struct oci_descriptor *d = NULL;
                oci_platform_host(&host);
                if (oci_index_select(m, &host, &d, &err) < 0)
                        nl_error_clear(&err);
        }
        oci_manifest_free(m);
        return 0;
}
