/* SPDX-License-Identifier: Apache-2.0 */
/* Digests, manifests, indexes, platform selection, image configs and chain IDs. Known digests were
 * computed independently with sha256sum (see each vector). */
#include <stdio.h>
#include <stdlib.h>

#include "cri/cri.h"
#include "test.h"

#define D_EMPTY "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define D_ABC "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
/* printf layer0 | sha256sum, and so on */
#define D_L0 "sha256:4fbec69b941195fd56f8212a5000e304129451d82efca94ff0e0fb2d5355472e"
#define D_L1 "sha256:77ea7eee3d80b1a38f83906dd3048e2689457eb90e18a7d12f839c5ae37106a2"
#define D_L2 "sha256:95cf1a2e1698fe3ca1fcc3f653119146b271d0b62e487ec264441e886a11bd06"
/* printf '%s' "$D_L0 $D_L1" | sha256sum; then "$C1 $D_L2" */
#define C_1 "sha256:ef232af0eb422cdfd7917631657cd8ed2bfd5b9461b37c427aa0d3e0a19adf79"
#define C_2 "sha256:7ad3896338947cc04ee0b35b50d400ff32538d63f42f85ec87feac78bf71a54d"

#define DA "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define DB "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define DC "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
#define DD "sha256:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"

/* ==== digests ============================================================================ */

TEST(digest_valid) {
        CHECK(digest_is_valid(D_EMPTY));
        CHECK(digest_is_valid(DA));
        CHECK(!digest_is_valid(NULL));
        CHECK(!digest_is_valid(""));
        CHECK(!digest_is_valid("sha256:"));
        CHECK(!digest_is_valid("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85"));
        CHECK(!digest_is_valid(D_EMPTY "5"));
        CHECK(!digest_is_valid("sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"));
        CHECK(!digest_is_valid("SHA256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
        CHECK(!digest_is_valid("sha512:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
        CHECK(!digest_is_valid("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
        CHECK(!digest_is_valid("sha256:g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
        CHECK(!digest_is_valid(" sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
}

TEST(digest_buffer_vectors) {
        char d[DIGEST_STRING_MAX];

        CHECK_INT_EQ(digest_buffer("", 0, d), 0);
        CHECK_STR_EQ(d, D_EMPTY);
        CHECK_INT_EQ(digest_buffer(NULL, 0, d), 0);
        CHECK_STR_EQ(d, D_EMPTY);
        CHECK_INT_EQ(digest_buffer("abc", 3, d), 0);
        CHECK_STR_EQ(d, D_ABC);
        CHECK_INT_EQ(digest_buffer("layer0", 6, d), 0);
        CHECK_STR_EQ(d, D_L0);
        CHECK(digest_is_valid(d));
        CHECK_INT_EQ(digest_buffer(NULL, 1, d), -EINVAL);
}

TEST(digester_incremental) {
        char d[DIGEST_STRING_MAX];
        digester *g = digester_new();

        CHECK(g != NULL);
        if (!g)
                return;
        /* a million 'a's (the FIPS 180 vector), fed in uneven pieces */
        char *buf = malloc(1000000);
        CHECK(buf != NULL);
        if (!buf) {
                digester_free(g);
                return;
        }
        memset(buf, 'a', 1000000);
        size_t off = 0, step = 1;
        while (off < 1000000) {
                size_t n = step < 1000000 - off ? step : 1000000 - off;
                CHECK_INT_EQ(digester_update(g, buf + off, n), 0);
                off += n;
                step = step * 3 + 1;
        }
        CHECK_INT_EQ(digester_final(g, d), 0);
        CHECK_STR_EQ(d, "sha256:cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
        free(buf);

        /* reusable after final */
        CHECK_INT_EQ(digester_update(g, "ab", 2), 0);
        CHECK_INT_EQ(digester_update(g, "c", 1), 0);
        CHECK_INT_EQ(digester_update(g, NULL, 0), 0);
        CHECK_INT_EQ(digester_final(g, d), 0);
        CHECK_STR_EQ(d, D_ABC);
        /* and final with nothing fed is the empty digest */
        CHECK_INT_EQ(digester_final(g, d), 0);
        CHECK_STR_EQ(d, D_EMPTY);
        CHECK_INT_EQ(digester_update(g, NULL, 5), -EINVAL);
        digester_free(g);
        digester_free(NULL);
}

/* ==== manifests ========================================================================== */

static const char oci_manifest[] =
        "{\n"
        "  \"schemaVersion\": 2,\n"
        "  \"mediaType\": \"application/vnd.oci.image.manifest.v1+json\",\n"
        "  \"config\": {\n"
        "    \"mediaType\": \"application/vnd.oci.image.config.v1+json\",\n"
        "    \"digest\": \"" DA "\",\n"
        "    \"size\": 7023\n"
        "  },\n"
        "  \"layers\": [\n"
        "    { \"mediaType\": \"application/vnd.oci.image.layer.v1.tar+gzip\",\n"
        "      \"digest\": \"" DB "\", \"size\": 32654 },\n"
        "    { \"mediaType\": \"application/vnd.oci.image.layer.v1.tar+zstd\",\n"
        "      \"digest\": \"" DC "\", \"size\": 16724,\n"
        "      \"annotations\": { \"org.opencontainers.image.title\": \"x\" } },\n"
        "    { \"mediaType\": \"application/vnd.oci.image.layer.v1.tar\",\n"
        "      \"digest\": \"" DD "\", \"size\": 0 }\n"
        "  ],\n"
        "  \"annotations\": { \"com.example.key1\": \"value1\" }\n"
        "}\n";

static const char docker_manifest[] =
        "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\","
        "\"config\":{\"mediaType\":\"application/vnd.docker.container.image.v1+json\",\"size\":1469,"
        "\"digest\":\"" DA "\"},"
        "\"layers\":[{\"mediaType\":\"application/vnd.docker.image.rootfs.diff.tar.gzip\",\"size\":2811478,"
        "\"digest\":\"" DB "\"},"
        "{\"mediaType\":\"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip\",\"size\":100,"
        "\"digest\":\"" DC "\",\"urls\":[\"https://example.com/layer\"]}]}";

static const char oci_index[] =
        "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":["
        "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" DA "\",\"size\":500,"
        "\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\",\"variant\":\"v8\"}},"
        "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" DB "\",\"size\":501,"
        "\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}},"
        "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" DC "\",\"size\":502,"
        "\"platform\":{\"architecture\":\"unknown\",\"os\":\"unknown\"},"
        "\"annotations\":{\"vnd.docker.reference.type\":\"attestation-manifest\"}}],"
        "\"annotations\":{\"x\":\"y\"}}";

static const char docker_list[] =
        "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.list.v2+json\","
        "\"manifests\":["
        "{\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\",\"size\":7143,"
        "\"digest\":\"" DA "\",\"platform\":{\"architecture\":\"ppc64le\",\"os\":\"linux\"}},"
        "{\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\",\"size\":7682,"
        "\"digest\":\"" DB "\",\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\","
        "\"features\":[\"sse4\"]}}]}";

static int parse(const char *s, const char *ct, struct oci_manifest **m, nl_error *err) {
        return oci_manifest_parse(s, strlen(s), ct, m, err);
}

TEST(parse_oci_manifest) {
        struct oci_manifest *m = NULL;
        nl_error err = NL_ERROR_INIT;

        CHECK_INT_EQ(parse(oci_manifest, NULL, &m, &err), 0);
        if (!m) {
                TEST_FAIL("%s", strempty(err.msg));
                return;
        }
        CHECK_INT_EQ(m->kind, OCI_KIND_MANIFEST);
        CHECK_STR_EQ(m->media_type, MEDIA_OCI_MANIFEST);
        CHECK_STR_EQ(m->config.media_type, MEDIA_OCI_CONFIG);
        CHECK_STR_EQ(m->config.digest, DA);
        CHECK_INT_EQ(m->config.size, 7023);
        CHECK_INT_EQ(m->n_layers, 3);
        CHECK_STR_EQ(m->layers[0].media_type, MEDIA_OCI_LAYER_GZIP);
        CHECK_STR_EQ(m->layers[0].digest, DB);
        CHECK_INT_EQ(m->layers[0].size, 32654);
        CHECK(m->layers[0].annotations == NULL);
        CHECK_STR_EQ(m->layers[1].media_type, MEDIA_OCI_LAYER_ZSTD);
        CHECK(json_is_object(m->layers[1].annotations));
        CHECK_STR_EQ(json_string_value(
                             json_object_get(m->layers[1].annotations, "org.opencontainers.image.title")),
                     "x");
        CHECK_STR_EQ(m->layers[2].media_type, MEDIA_OCI_LAYER);
        CHECK_INT_EQ(m->layers[2].size, 0);
        CHECK(m->n_manifests == 0 && m->manifests == NULL);
        CHECK(err.msg == NULL);
        oci_manifest_free(m);
        oci_manifest_free(NULL);
}

TEST(parse_docker_manifest) {
        struct oci_manifest *m = NULL;
        nl_error err = NL_ERROR_INIT;

        CHECK_INT_EQ(parse(docker_manifest, MEDIA_DOCKER_MANIFEST, &m, &err), 0);
        if (!m)
                return;
        CHECK_INT_EQ(m->kind, OCI_KIND_MANIFEST);
        CHECK_STR_EQ(m->media_type, MEDIA_DOCKER_MANIFEST);
        CHECK_STR_EQ(m->config.media_type, MEDIA_DOCKER_CONFIG);
        CHECK_INT_EQ(m->n_layers, 2);
        CHECK_STR_EQ(m->layers[0].media_type, MEDIA_DOCKER_LAYER_GZIP);
        CHECK_INT_EQ(m->layers[0].size, 2811478);
        CHECK_STR_EQ(m->layers[1].media_type, MEDIA_DOCKER_LAYER_FOREIGN);
        oci_manifest_free(m);
}

TEST(parse_oci_index) {
        struct oci_manifest *m = NULL;
        nl_error err = NL_ERROR_INIT;

        CHECK_INT_EQ(parse(oci_index, MEDIA_OCI_INDEX, &m, &err), 0);
        if (!m)
                return;
        CHECK_INT_EQ(m->kind, OCI_KIND_INDEX);
        CHECK_STR_EQ(m->media_type, MEDIA_OCI_INDEX);
        CHECK_INT_EQ(m->n_manifests, 3);
        CHECK_STR_EQ(m->manifests[0].platform.os, "linux");
        CHECK_STR_EQ(m->manifests[0].platform.architecture, "arm64");
        CHECK_STR_EQ(m->manifests[0].platform.variant, "v8");
        CHECK_STR_EQ(m->manifests[1].platform.architecture, "amd64");
        CHECK(m->manifests[1].platform.variant == NULL);
        CHECK_INT_EQ(m->manifests[1].size, 501);
        CHECK(json_is_object(m->manifests[2].annotations));
        CHECK(m->n_layers == 0 && m->layers == NULL);
        CHECK(m->config.digest == NULL);
        oci_manifest_free(m);
}

TEST(parse_docker_list) {
        struct oci_manifest *m = NULL;
        nl_error err = NL_ERROR_INIT;

        CHECK_INT_EQ(parse(docker_list, NULL, &m, &err), 0);
        if (!m)
                return;
        CHECK_INT_EQ(m->kind, OCI_KIND_INDEX);
        CHECK_STR_EQ(m->media_type, MEDIA_DOCKER_LIST);
        CHECK_INT_EQ(m->n_manifests, 2);
        CHECK_STR_EQ(m->manifests[0].media_type, MEDIA_DOCKER_MANIFEST);
        CHECK_STR_EQ(m->manifests[0].platform.architecture, "ppc64le");
        oci_manifest_free(m);
}

/* Without mediaType in the document, the Content-Type decides, then the content. */
TEST(media_type_from_hint_or_content) {
        static const char bare_manifest[] =
                "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" MEDIA_OCI_CONFIG "\",\"digest\":\"" DA
                "\",\"size\":1},\"layers\":[]}";
        static const char bare_index[] = "{\"schemaVersion\":2,\"manifests\":[]}";
        struct oci_manifest *m = NULL;
        nl_error err = NL_ERROR_INIT;

        CHECK_INT_EQ(parse(bare_manifest, MEDIA_DOCKER_MANIFEST, &m, &err), 0);
        if (m) {
                CHECK_STR_EQ(m->media_type, MEDIA_DOCKER_MANIFEST);
                CHECK_INT_EQ(m->n_layers, 0);
                oci_manifest_free(m);
                m = NULL;
        }
        CHECK_INT_EQ(
                parse(bare_manifest, "Application/VND.OCI.image.manifest.v1+json; charset=utf-8", &m, &err),
                0);
        if (m) {
                CHECK_STR_EQ(m->media_type, MEDIA_OCI_MANIFEST);
                oci_manifest_free(m);
                m = NULL;
        }
        CHECK_INT_EQ(parse(bare_manifest, "application/octet-stream", &m, &err), 0);
        if (m) {
                CHECK_INT_EQ(m->kind, OCI_KIND_MANIFEST);
                CHECK_STR_EQ(m->media_type, MEDIA_OCI_MANIFEST);
                oci_manifest_free(m);
                m = NULL;
        }
        CHECK_INT_EQ(parse(bare_index, NULL, &m, &err), 0);
        if (m) {
                CHECK_INT_EQ(m->kind, OCI_KIND_INDEX);
                CHECK_STR_EQ(m->media_type, MEDIA_OCI_INDEX);
                CHECK_INT_EQ(m->n_manifests, 0);
                oci_manifest_free(m);
                m = NULL;
        }
        CHECK_INT_EQ(parse(bare_index, MEDIA_DOCKER_LIST, &m, &err), 0);
        if (m) {
                CHECK_STR_EQ(m->media_type, MEDIA_DOCKER_LIST);
                oci_manifest_free(m);
                m = NULL;
        }
        /* the document's own mediaType wins over a hint of the same kind */
        CHECK_INT_EQ(parse(docker_manifest, MEDIA_OCI_MANIFEST, &m, &err), 0);
        if (m) {
                CHECK_STR_EQ(m->media_type, MEDIA_DOCKER_MANIFEST);
                oci_manifest_free(m);
                m = NULL;
        }
        CHECK(err.msg == NULL);
}

struct bad_case {
        const char *name, *json, *content_type, *message;
        int code;
};

#define CFG "\"config\":{\"mediaType\":\"" MEDIA_OCI_CONFIG "\",\"digest\":\"" DA "\",\"size\":1}"
#define LAYER(mt, dg, sz) "{\"mediaType\":\"" mt "\",\"digest\":\"" dg "\",\"size\":" sz "}"
#define OCI_M(body) "{\"schemaVersion\":2,\"mediaType\":\"" MEDIA_OCI_MANIFEST "\"," body "}"

static const struct bad_case bad_manifests[] = {
        {"not json", "{", NULL, "invalid image manifest: line", -EINVAL},
        {"empty", "", NULL, "invalid image manifest", -EINVAL},
        {"array", "[]", NULL, "not a JSON object", -EINVAL},
        {"trailing garbage", "{} x", NULL, "invalid image manifest", -EINVAL},
        {"duplicate key", "{\"schemaVersion\":2,\"schemaVersion\":2,\"manifests\":[]}", NULL, "duplicate",
         -EINVAL},
        {"nul in string", "{\"schemaVersion\":2,\"mediaType\":\"a\\u0000b\",\"manifests\":[]}", NULL,
         "invalid image manifest", -EINVAL},
        {"schema 1 fsLayers",
         "{\"schemaVersion\":1,\"name\":\"library/busybox\",\"tag\":\"latest\",\"architecture\":\"amd64\","
         "\"fsLayers\":[{\"blobSum\":\"" DA "\"}],\"history\":[{\"v1Compatibility\":\"{}\"}]}",
         NULL, "schema 1 manifests are not supported", -EINVAL},
        {"schema 1 by content type", "{\"schemaVersion\":2,\"manifests\":[]}",
         "application/vnd.docker.distribution.manifest.v1+prettyjws", "schema 1 manifests are not supported",
         -EINVAL},
        {"schema 1 by mediaType",
         "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.v1+json\"}",
         NULL, "schema 1 manifests are not supported", -EINVAL},
        {"schema 1 version only", "{\"schemaVersion\":1}", NULL, "schema 1 manifests are not supported",
         -EINVAL},
        {"fsLayers in a v2 document", "{\"schemaVersion\":2,\"fsLayers\":[]}", NULL,
         "schema 1 manifests are not supported", -EINVAL},
        {"no schemaVersion", "{\"mediaType\":\"" MEDIA_OCI_INDEX "\",\"manifests\":[]}", NULL,
         "schemaVersion is missing", -EINVAL},
        {"schemaVersion 3", "{\"schemaVersion\":3,\"manifests\":[]}", NULL, "schemaVersion must be 2",
         -EINVAL},
        {"schemaVersion string", "{\"schemaVersion\":\"2\",\"manifests\":[]}", NULL,
         "schemaVersion must be 2", -EINVAL},
        {"schemaVersion real", "{\"schemaVersion\":2.0,\"manifests\":[]}", NULL, "schemaVersion must be 2",
         -EINVAL},
        {"unknown mediaType",
         "{\"schemaVersion\":2,\"mediaType\":\"application/"
         "vnd.oci.artifact.manifest.v1+json\",\"blobs\":[]}",
         NULL, "unsupported media type \"application/vnd.oci.artifact.manifest.v1+json\"", -EINVAL},
        {"mediaType not a string", "{\"schemaVersion\":2,\"mediaType\":5,\"manifests\":[]}", NULL,
         "mediaType must be a string", -EINVAL},
        {"nothing to go by", "{\"schemaVersion\":2}", NULL, "neither a manifest nor an index", -EINVAL},
        {"manifest type with manifests",
         "{\"schemaVersion\":2,\"mediaType\":\"" MEDIA_OCI_MANIFEST "\",\"manifests\":[]}", NULL,
         "expected a manifest but found an index", -EINVAL},
        {"index type with layers",
         "{\"schemaVersion\":2,\"mediaType\":\"" MEDIA_DOCKER_LIST "\",\"layers\":[]}", NULL,
         "expected an index but found a manifest", -EINVAL},
        {"index hint with config", "{\"schemaVersion\":2," CFG ",\"layers\":[]}", MEDIA_OCI_INDEX,
         "expected an index but found a manifest", -EINVAL},
        {"both manifests and layers", "{\"schemaVersion\":2,\"manifests\":[],\"layers\":[]}", NULL,
         "both manifests", -EINVAL},
        {"both, with a mediaType", OCI_M(CFG ",\"layers\":[],\"manifests\":[]"), NULL, "both manifests",
         -EINVAL},
        {"hint and mediaType disagree", oci_index, MEDIA_DOCKER_MANIFEST, "served as", -EINVAL},
        {"no config", OCI_M("\"layers\":[]"), NULL, "config: a descriptor must be an object", -EINVAL},
        {"no layers", OCI_M(CFG), NULL, "layers must be an array", -EINVAL},
        {"layers an object", OCI_M(CFG ",\"layers\":{}"), NULL, "layers must be an array", -EINVAL},
        {"index manifests an object", "{\"schemaVersion\":2,\"mediaType\":\"" MEDIA_OCI_INDEX "\"}", NULL,
         "manifests must be an array", -EINVAL},
        {"short digest", OCI_M(CFG ",\"layers\":[" LAYER(MEDIA_OCI_LAYER_GZIP, "sha256:abc", "1") "]"), NULL,
         "layers[0]: invalid digest \"sha256:abc\"", -EINVAL},
        {"uppercase digest",
         OCI_M(CFG ",\"layers\":[" LAYER(
                 MEDIA_OCI_LAYER_GZIP,
                 "sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "1") "]"),
         NULL, "invalid digest", -EINVAL},
        {"sha512 digest",
         OCI_M(CFG ",\"layers\":[" LAYER(
                 MEDIA_OCI_LAYER_GZIP,
                 "sha512:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                 "1") "]"),
         NULL, "unsupported digest algorithm", -EINVAL},
        {"digest without algorithm",
         OCI_M(CFG ",\"layers\":[" LAYER(MEDIA_OCI_LAYER_GZIP,
                                         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                                         "1") "]"),
         NULL, "invalid digest", -EINVAL},
        {"config digest bad",
         OCI_M("\"config\":{\"mediaType\":\"" MEDIA_OCI_CONFIG
               "\",\"digest\":\"sha256:x\",\"size\":1},\"layers\":[]"),
         NULL, "config: invalid digest", -EINVAL},
        {"digest a number",
         OCI_M(CFG ",\"layers\":[{\"mediaType\":\"" MEDIA_OCI_LAYER "\",\"digest\":1,\"size\":1}]"), NULL,
         "digest must be a string", -EINVAL},
        {"digest missing", OCI_M(CFG ",\"layers\":[{\"mediaType\":\"" MEDIA_OCI_LAYER "\",\"size\":1}]"),
         NULL, "digest is missing", -EINVAL},
        {"negative size", OCI_M(CFG ",\"layers\":[" LAYER(MEDIA_OCI_LAYER, DB, "-1") "]"), NULL,
         "size -1 is negative", -EINVAL},
        {"size a string", OCI_M(CFG ",\"layers\":[" LAYER(MEDIA_OCI_LAYER, DB, "\"1\"") "]"), NULL,
         "size must be an integer", -EINVAL},
        {"size real", OCI_M(CFG ",\"layers\":[" LAYER(MEDIA_OCI_LAYER, DB, "1.5") "]"), NULL,
         "size must be an integer", -EINVAL},
        {"size huge", OCI_M(CFG ",\"layers\":[" LAYER(MEDIA_OCI_LAYER, DB, "99999999999999999999999") "]"),
         NULL, "invalid image manifest", -EINVAL},
        {"size missing",
         OCI_M(CFG ",\"layers\":[{\"mediaType\":\"" MEDIA_OCI_LAYER "\",\"digest\":\"" DB "\"}]"), NULL,
         "size is missing", -EINVAL},
        {"layer mediaType missing", OCI_M(CFG ",\"layers\":[{\"digest\":\"" DB "\",\"size\":1}]"), NULL,
         "layers[0]: mediaType is missing", -EINVAL},
        {"helm chart layer",
         OCI_M(CFG ",\"layers\":[" LAYER(MEDIA_OCI_LAYER, DB, "1") "," LAYER(
                 "application/vnd.cncf.helm.chart.content.v1.tar+gzip", DC, "1") "]"),
         NULL,
         "layers[1]: unsupported layer media type \"application/vnd.cncf.helm.chart.content.v1.tar+gzip\"",
         -EINVAL},
        {"encrypted layer",
         OCI_M(CFG
               ",\"layers\":[" LAYER("application/vnd.oci.image.layer.v1.tar+gzip+encrypted", DB, "1") "]"),
         NULL, "unsupported layer media type", -EINVAL},
        {"docker uncompressed layer (unpack cannot take it)",
         OCI_M(CFG ",\"layers\":[" LAYER("application/vnd.docker.image.rootfs.diff.tar", DB, "1") "]"), NULL,
         "unsupported layer media type", -EINVAL},
        {"layer not an object", OCI_M(CFG ",\"layers\":[\"" DB "\"]"), NULL,
         "a descriptor must be an object", -EINVAL},
        {"annotations not strings",
         OCI_M(CFG ",\"layers\":[{\"mediaType\":\"" MEDIA_OCI_LAYER "\",\"digest\":\"" DB
                   "\",\"size\":1,\"annotations\":{\"a\":1}}]"),
         NULL, "annotations[\"a\"] must be a string", -EINVAL},
        {"platform not an object",
         "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" MEDIA_OCI_MANIFEST "\",\"digest\":\"" DA
         "\",\"size\":1,\"platform\":\"linux/amd64\"}]}",
         NULL, "manifests[0]: platform must be an object", -EINVAL},
        {"platform os a number",
         "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" MEDIA_OCI_MANIFEST "\",\"digest\":\"" DA
         "\",\"size\":1,\"platform\":{\"os\":1,\"architecture\":\"amd64\"}}]}",
         NULL, "os must be a string", -EINVAL},
        {"index entry bad digest",
         "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" MEDIA_OCI_MANIFEST
         "\",\"digest\":\"sha256:zz\",\"size\":1}]}",
         NULL, "invalid image index: manifests[0]: invalid digest", -EINVAL},
};

static void check_bad_manifest(const struct bad_case *c) {
        struct oci_manifest *m = NULL;
        nl_error err = NL_ERROR_INIT;
        int r = parse(c->json, c->content_type, &m, &err);

        if (r != c->code)
                TEST_FAIL("%s: got %d, want %d (%s)", c->name, r, c->code, strempty(err.msg));
        if (m) {
                TEST_FAIL("%s: got a manifest", c->name);
                oci_manifest_free(m);
        }
        if (!err.msg || !strstr(err.msg, c->message))
                TEST_FAIL("%s: message \"%s\", want it to contain \"%s\"", c->name, strempty(err.msg),
                          c->message);
        nl_error_clear(&err);
}

#define ROW(name, body)                                                                                     \
        do {                                                                                                \
                int _saved = test_current_failed;                                                           \
                test_current_failed = 0;                                                                    \
                body;                                                                                       \
                test_add_result(name, !test_current_failed);                                                \
                test_current_failed |= _saved;                                                              \
        } while (0)

TEST(bad_manifests) {
        for (size_t i = 0; i < ELEMENTSOF(bad_manifests); i++)
                ROW(bad_manifests[i].name, check_bad_manifest(&bad_manifests[i]));
}

static const char *const good_layer_types[] = {
        "application/vnd.oci.image.layer.v1.tar",
        "application/vnd.oci.image.layer.v1.tar+gzip",
        "application/vnd.oci.image.layer.v1.tar+zstd",
        "application/vnd.oci.image.layer.nondistributable.v1.tar",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
        "application/vnd.docker.image.rootfs.diff.tar.gzip",
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
};

TEST(layer_media_types) {
        for (size_t i = 0; i < ELEMENTSOF(good_layer_types); i++) {
                _cleanup_free_ char *j = nl_strdupf("{\"schemaVersion\":2,%s,\"layers\":[{\"mediaType\":\"%"
                                                    "s\",\"digest\":\"%s\",\"size\":5}]}",
                                                    CFG, good_layer_types[i], DB);
                struct oci_manifest *m = NULL;
                nl_error err = NL_ERROR_INIT;
                if (parse(j, NULL, &m, &err) < 0) {
                        TEST_FAIL("%s: %s", good_layer_types[i], strempty(err.msg));
                        nl_error_clear(&err);
                        continue;
                }
                CHECK_STR_EQ(m->layers[0].media_type, good_layer_types[i]);
                oci_manifest_free(m);
        }
}

static char *manifest_with_layers(size_t n) {
        nl_buf b = {};
        nl_buf_puts(&b, "{\"schemaVersion\":2," CFG ",\"layers\":[");
        for (size_t i = 0; i < n; i++)
                nl_buf_printf(&b, "%s{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu}", i ? "," : "",
                              MEDIA_OCI_LAYER_GZIP, DB, i);
        nl_buf_puts(&b, "]}");
        return nl_buf_steal(&b);
}

static char *index_with_manifests(size_t n) {
        nl_buf b = {};
        nl_buf_puts(&b, "{\"schemaVersion\":2,\"manifests\":[");
        for (size_t i = 0; i < n; i++)
                nl_buf_printf(&b,
                              "%s{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":1,"
                              "\"platform\":{\"os\":\"linux\",\"architecture\":\"arch%zu\"}}",
                              i ? "," : "", MEDIA_OCI_MANIFEST, DA, i);
        nl_buf_puts(&b, "]}");
        return nl_buf_steal(&b);
}

TEST(huge_counts) {
        struct oci_manifest *m = NULL;
        nl_error err = NL_ERROR_INIT;
        _cleanup_free_ char *ok = manifest_with_layers(IMAGE_MAX_LAYERS);
        _cleanup_free_ char *bad = manifest_with_layers(IMAGE_MAX_LAYERS + 1);
        _cleanup_free_ char *big_index = index_with_manifests(5000);
        _cleanup_free_ char *index_ok = index_with_manifests(1000);

        CHECK_INT_EQ(parse(ok, NULL, &m, &err), 0);
        if (m)
                CHECK_INT_EQ(m->n_layers, IMAGE_MAX_LAYERS);
        oci_manifest_free(m);
        m = NULL;

        CHECK_INT_EQ(parse(bad, NULL, &m, &err), -EINVAL);
        CHECK(err.msg && strstr(err.msg, "257 layers, more than the limit of 256"));
        nl_error_clear(&err);

        CHECK_INT_EQ(parse(big_index, NULL, &m, &err), -EINVAL);
        CHECK(err.msg && strstr(err.msg, "5000 manifests"));
        nl_error_clear(&err);

        CHECK_INT_EQ(parse(index_ok, NULL, &m, &err), 0);
        if (m) {
                CHECK_INT_EQ(m->n_manifests, 1000);
                /* the no-match message lists a bounded number of platforms */
                struct oci_platform p = {.os = (char *) "linux", .architecture = (char *) "amd64"};
                const struct oci_descriptor *d = NULL;
                CHECK_INT_EQ(oci_index_select(m, &p, &d, &err), -ENOENT);
                CHECK(err.msg && strlen(err.msg) < 1000 && strstr(err.msg, ", ...)"));
                nl_error_clear(&err);
        }
        oci_manifest_free(m);
}

TEST(size_caps) {
        struct oci_manifest *m = NULL;
        struct image_config *c = NULL;
        nl_error err = NL_ERROR_INIT;
        size_t n = IMAGE_MAX_CONFIG_BYTES + 1;
        char *buf = malloc(n);

        CHECK(buf != NULL);
        if (!buf)
                return;
        memset(buf, ' ', n);
        buf[0] = '{';
        buf[n - 1] = '}';
        CHECK_INT_EQ(oci_manifest_parse(buf, IMAGE_MAX_MANIFEST_BYTES + 1, NULL, &m, &err), -EFBIG);
        CHECK(err.msg && strstr(err.msg, "more than the limit"));
        nl_error_clear(&err);
        CHECK_INT_EQ(image_config_parse(buf, n, &c, &err), -EFBIG);
        CHECK(err.msg && strstr(err.msg, "image config is"));
        nl_error_clear(&err);
        /* at the cap, size is not the problem */
        buf[IMAGE_MAX_CONFIG_BYTES - 1] = '}';
        CHECK_INT_EQ(image_config_parse(buf, IMAGE_MAX_CONFIG_BYTES, &c, &err), -EINVAL);
        CHECK(err.msg && strstr(err.msg, "rootfs is missing"));
        nl_error_clear(&err);
        free(buf);
        CHECK(m == NULL && c == NULL);
}

/* ==== platform selection ================================================================= */

static const char *select_digest(const char *index_json, const char *os, const char *arch,
                                 const char *variant, nl_error *err) {
        static char out[DIGEST_STRING_MAX];
        struct oci_manifest *m = NULL;
        const struct oci_descriptor *d = NULL;
        struct oci_platform p = {(char *) os, (char *) arch, (char *) variant};

        if (parse(index_json, NULL, &m, err) < 0)
                return "parse error";
        if (oci_index_select(m, &p, &d, err) < 0) {
                oci_manifest_free(m);
                return NULL;
        }
        snprintf(out, sizeof(out), "%s", d->digest);
        oci_manifest_free(m);
        return out;
}

#define ENTRY(dg, plat) "{\"mediaType\":\"" MEDIA_OCI_MANIFEST "\",\"digest\":\"" dg "\",\"size\":1" plat "}"
#define PLAT(os, arch) ",\"platform\":{\"os\":\"" os "\",\"architecture\":\"" arch "\"}"
#define PLATV(os, arch, v)                                                                                  \
        ",\"platform\":{\"os\":\"" os "\",\"architecture\":\"" arch "\",\"variant\":\"" v "\"}"
#define INDEX(...) "{\"schemaVersion\":2,\"manifests\":[" __VA_ARGS__ "]}"

struct select_case {
        const char *name, *index, *os, *arch, *variant;
        const char *want; /* digest, or NULL for -ENOENT */
};

static const struct select_case select_cases[] = {
        {"amd64 among others",
         INDEX(ENTRY(DA, PLATV("linux", "arm64", "v8")) "," ENTRY(DB, PLAT("linux", "amd64")) "," ENTRY(
                 DC, PLAT("linux", "s390x"))),
         "linux", "amd64", NULL, DB},
        {"arm64 v8 entry for an arm64 v8 host",
         INDEX(ENTRY(DA, PLAT("linux", "amd64")) "," ENTRY(DB, PLATV("linux", "arm64", "v8"))), "linux",
         "arm64", "v8", DB},
        {"arm64 entry without variant for an arm64 v8 host",
         INDEX(ENTRY(DA, PLAT("linux", "amd64")) "," ENTRY(DB, PLAT("linux", "arm64"))), "linux", "arm64",
         "v8", DB},
        {"arm64 v8 entry for an arm64 host without variant", INDEX(ENTRY(DA, PLATV("linux", "arm64", "v8"))),
         "linux", "arm64", NULL, DA},
        {"arm64 aarch64 spelling", INDEX(ENTRY(DA, PLATV("linux", "aarch64", "8"))), "linux", "arm64", "v8",
         DA},
        {"arm64 equal ranks: first wins",
         INDEX(ENTRY(DA, PLAT("linux", "arm64")) "," ENTRY(DB, PLATV("linux", "arm64", "v8"))), "linux",
         "arm64", "v8", DA},
        {"arm64 v8 host does not run v8.2", INDEX(ENTRY(DA, PLATV("linux", "arm64", "v8.2"))), "linux",
         "arm64", "v8", NULL},
        {"arm64 v8.2 host prefers v8.2, runs v8",
         INDEX(ENTRY(DA, PLATV("linux", "arm64", "v8")) "," ENTRY(DB, PLATV("linux", "arm64", "v8.2"))),
         "linux", "arm64", "v8.2", DB},
        {"arm64 v8.2 host runs v8.1",
         INDEX(ENTRY(DA, PLATV("linux", "arm64", "v8.1")) "," ENTRY(DB, PLATV("linux", "arm64", "v8.3"))),
         "linux", "arm64", "v8.2", DA},
        {"arm64 v9 host runs v8.5",
         INDEX(ENTRY(DA, PLATV("linux", "arm64", "v8.6")) "," ENTRY(DB, PLATV("linux", "arm64", "v8.5"))),
         "linux", "arm64", "v9", DB},
        {"arm v7 prefers v7",
         INDEX(ENTRY(DA, PLATV("linux", "arm", "v5")) "," ENTRY(DB, PLATV("linux", "arm", "v7")) "," ENTRY(
                 DC, PLATV("linux", "arm", "v6"))),
         "linux", "arm", "v7", DB},
        {"arm v7 falls back to v6 before v5",
         INDEX(ENTRY(DA, PLATV("linux", "arm", "v5")) "," ENTRY(DB, PLATV("linux", "arm", "v6"))), "linux",
         "arm", "v7", DB},
        {"arm v7 runs v5", INDEX(ENTRY(DA, PLATV("linux", "arm", "v5"))), "linux", "arm", "v7", DA},
        {"arm without variant is v7", INDEX(ENTRY(DA, PLAT("linux", "arm"))), "linux", "arm", "v7", DA},
        {"armhf is arm v7", INDEX(ENTRY(DA, PLAT("linux", "armhf"))), "linux", "arm", "v7", DA},
        {"arm v6 host does not run v7", INDEX(ENTRY(DA, PLATV("linux", "arm", "v7"))), "linux", "arm", "v6",
         NULL},
        {"arm v8 host runs v7", INDEX(ENTRY(DA, PLATV("linux", "arm", "v7"))), "linux", "arm", "v8", DA},
        {"case and spelling normalized", INDEX(ENTRY(DA, PLAT("Linux", "X86_64"))), "linux", "amd64", NULL,
         DA},
        {"amd64 v1 is amd64", INDEX(ENTRY(DA, PLATV("linux", "amd64", "v1"))), "linux", "amd64", NULL, DA},
        {"amd64 host does not run v3", INDEX(ENTRY(DA, PLATV("linux", "amd64", "v3"))), "linux", "amd64",
         NULL, NULL},
        {"amd64 v3 host prefers v3, then v2, then plain",
         INDEX(ENTRY(DA, PLAT("linux", "amd64")) "," ENTRY(DB, PLATV("linux", "amd64", "v2")) "," ENTRY(
                 DC, PLATV("linux", "amd64", "v3"))),
         "linux", "amd64", "v3", DC},
        {"amd64 v3 host runs v2 before plain",
         INDEX(ENTRY(DA, PLAT("linux", "amd64")) "," ENTRY(DB, PLATV("linux", "amd64", "v2"))), "linux",
         "amd64", "v3", DB},
        {"empty os is linux", INDEX(ENTRY(DA, ",\"platform\":{\"architecture\":\"amd64\"}")), "linux",
         "amd64", NULL, DA},
        {"windows is not linux", INDEX(ENTRY(DA, PLAT("windows", "amd64"))), "linux", "amd64", NULL, NULL},
        {"no cross-architecture fallback to 386", INDEX(ENTRY(DA, PLAT("linux", "386"))), "linux", "amd64",
         NULL, NULL},
        {"no cross-architecture fallback to arm", INDEX(ENTRY(DA, PLATV("linux", "arm", "v7"))), "linux",
         "arm64", "v8", NULL},
        {"entry without platform is skipped", INDEX(ENTRY(DA, "") "," ENTRY(DB, PLAT("linux", "amd64"))),
         "linux", "amd64", NULL, DB},
        {"only entries without platform", INDEX(ENTRY(DA, "")), "linux", "amd64", NULL, NULL},
        {"attestation manifests never match", INDEX(ENTRY(DA, PLAT("unknown", "unknown"))), "linux", "amd64",
         NULL, NULL},
        {"empty index", INDEX(), "linux", "amd64", NULL, NULL},
        {"riscv64", INDEX(ENTRY(DA, PLAT("linux", "amd64")) "," ENTRY(DB, PLAT("linux", "riscv64"))),
         "linux", "riscv64", NULL, DB},
        {"host given as uname spelling", INDEX(ENTRY(DA, PLAT("linux", "amd64"))), "linux", "x86_64", NULL,
         DA},
};

static void check_select(const struct select_case *c) {
        nl_error err = NL_ERROR_INIT;
        const char *got = select_digest(c->index, c->os, c->arch, c->variant, &err);

        if (c->want) {
                if (!got || !streq(got, c->want))
                        TEST_FAIL("%s: got %s, want %s (%s)", c->name, got ? got : "ENOENT", c->want,
                                  strempty(err.msg));
        } else {
                if (got)
                        TEST_FAIL("%s: got %s, want ENOENT", c->name, got);
                else if (err.code != -ENOENT || !err.msg || !strstr(err.msg, "no image for "))
                        TEST_FAIL("%s: error %d \"%s\"", c->name, err.code, strempty(err.msg));
        }
        nl_error_clear(&err);
}

TEST(index_select) {
        for (size_t i = 0; i < ELEMENTSOF(select_cases); i++)
                ROW(select_cases[i].name, check_select(&select_cases[i]));
}

TEST(index_select_messages) {
        nl_error err = NL_ERROR_INIT;
        const char *idx = INDEX(ENTRY(DA, PLATV("linux", "arm64", "v8")) "," ENTRY(DB, "") "," ENTRY(
                DC, PLAT("unknown", "unknown")) "," ENTRY(DD, PLAT("linux", "s390x")));

        CHECK(select_digest(idx, "linux", "amd64", NULL, &err) == NULL);
        CHECK_INT_EQ(err.code, -ENOENT);
        CHECK_STR_EQ(err.msg, "no image for linux/amd64 in the index (it has linux/arm64/v8, linux/s390x)");
        nl_error_clear(&err);

        CHECK(select_digest(INDEX(ENTRY(DA, "")), "linux", "arm", "v7", &err) == NULL);
        CHECK_STR_EQ(err.msg, "no image for linux/arm/v7 in the index (it lists no platforms)");
        nl_error_clear(&err);

        /* odd bytes in a registry's platform strings are escaped */
        CHECK(select_digest(INDEX(ENTRY(DA, PLAT("linux", "x\\ny"))), "linux", "amd64", NULL, &err) == NULL);
        CHECK_STR_EQ(err.msg, "no image for linux/amd64 in the index (it has linux/x\\x0ay)");
        nl_error_clear(&err);
}

TEST(index_select_not_an_index) {
        struct oci_manifest *m = NULL;
        nl_error err = NL_ERROR_INIT;
        const struct oci_descriptor *d = NULL;
        struct oci_platform p;

        oci_platform_host(&p);
        CHECK_INT_EQ(parse(oci_manifest, NULL, &m, &err), 0);
        if (m)
                CHECK_INT_EQ(oci_index_select(m, &p, &d, &err), -EINVAL);
        CHECK(d == NULL);
        nl_error_clear(&err);
        oci_manifest_free(m);
}

TEST(platform_host) {
        struct oci_platform p;

        oci_platform_host(&p);
        CHECK_STR_EQ(p.os, "linux");
        CHECK(!isempty(p.architecture));
#if defined(__x86_64__)
        CHECK_STR_EQ(p.architecture, "amd64");
        CHECK(p.variant == NULL);
#elif defined(__aarch64__)
        CHECK_STR_EQ(p.architecture, "arm64");
        CHECK_STR_EQ(p.variant, "v8");
#endif
        /* the host selects its own entry */
        nl_error err = NL_ERROR_INIT;
        _cleanup_free_ char *idx = nl_strdupf(
                "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":1,"
                "\"platform\":{\"os\":\"%s\",\"architecture\":\"%s\"%s%s%s}}]}",
                MEDIA_OCI_MANIFEST, DA, p.os, p.architecture, p.variant ? ",\"variant\":\"" : "",
                strempty(p.variant), p.variant ? "\"" : "");
        const char *got = select_digest(idx, p.os, p.architecture, p.variant, &err);
        CHECK_STR_EQ(got, DA);
        nl_error_clear(&err);
}

/* ==== image config ======================================================================= */

static const char docker_config[] =
        "{\"architecture\":\"amd64\",\"config\":{\"Hostname\":\"\",\"User\":\"1000:1000\",\"ExposedPorts\":"
        "{\"80/tcp\":{},\"53/udp\":{}},\"Env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin\","
        "\"NGINX_VERSION=1.25.3\"],\"Cmd\":[\"nginx\",\"-g\",\"daemon off;\"],\"Entrypoint\":null,"
        "\"WorkingDir\":\"/srv\",\"Labels\":{\"maintainer\":\"NGINX Docker "
        "Maintainers\"},\"StopSignal\":\"SIGQUIT\","
        "\"Volumes\":null,\"OnBuild\":null},\"container_config\":{\"Cmd\":[\"/bin/sh\"]},"
        "\"created\":\"2023-11-01T12:00:00.123456789Z\",\"author\":\"someone\",\"docker_version\":\"20.10."
        "23\","
        "\"history\":[{\"created\":\"2023-11-01T12:00:00Z\",\"created_by\":\"ADD file:abc in /\"},"
        "{\"created\":\"2023-11-01T12:00:01Z\",\"created_by\":\"CMD "
        "[\\\"nginx\\\"]\",\"empty_layer\":true}],"
        "\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" D_L0 "\",\"" D_L1 "\",\"" D_L2
        "\"]}}";

TEST(config_docker) {
        struct image_config *c = NULL;
        nl_error err = NL_ERROR_INIT;

        CHECK_INT_EQ(image_config_parse(docker_config, strlen(docker_config), &c, &err), 0);
        if (!c) {
                TEST_FAIL("%s", strempty(err.msg));
                return;
        }
        CHECK_STR_EQ(c->os, "linux");
        CHECK_STR_EQ(c->architecture, "amd64");
        CHECK(c->variant == NULL);
        CHECK_STR_EQ(c->created, "2023-11-01T12:00:00.123456789Z");
        CHECK_STR_EQ(c->author, "someone");
        CHECK(c->entrypoint == NULL);
        CHECK_INT_EQ(c->n_entrypoint, 0);
        CHECK_INT_EQ(c->n_cmd, 3);
        if (c->n_cmd == 3) {
                CHECK_STR_EQ(c->cmd[0], "nginx");
                CHECK_STR_EQ(c->cmd[2], "daemon off;");
                CHECK(c->cmd[3] == NULL);
        }
        CHECK_INT_EQ(c->n_env, 2);
        if (c->n_env == 2)
                CHECK_STR_EQ(c->env[1], "NGINX_VERSION=1.25.3");
        CHECK_INT_EQ(c->n_exposed_ports, 2);
        if (c->n_exposed_ports == 2) {
                CHECK_STR_EQ(c->exposed_ports[0], "80/tcp");
                CHECK_STR_EQ(c->exposed_ports[1], "53/udp");
                CHECK(c->exposed_ports[2] == NULL);
        }
        CHECK_STR_EQ(c->working_dir, "/srv");
        CHECK_STR_EQ(c->user, "1000:1000");
        CHECK_STR_EQ(c->stop_signal, "SIGQUIT");
        CHECK(json_is_object(c->labels));
        CHECK_STR_EQ(json_string_value(json_object_get(c->labels, "maintainer")),
                     "NGINX Docker Maintainers");
        CHECK_INT_EQ(c->n_diff_ids, 3);
        if (c->n_diff_ids == 3) {
                CHECK_STR_EQ(c->diff_ids[0], D_L0);
                CHECK_STR_EQ(c->diff_ids[2], D_L2);
                CHECK(c->diff_ids[3] == NULL);
        }
        CHECK(json_is_array(c->history));
        CHECK_INT_EQ(json_array_size(c->history), 2);
        image_config_free(c);
        image_config_free(NULL);
}

TEST(config_minimal_oci) {
        static const char j[] = "{\"architecture\":\"arm\",\"variant\":\"v7\",\"os\":\"linux\","
                                "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}";
        struct image_config *c = NULL;
        nl_error err = NL_ERROR_INIT;

        CHECK_INT_EQ(image_config_parse(j, strlen(j), &c, &err), 0);
        if (!c)
                return;
        CHECK_STR_EQ(c->variant, "v7");
        CHECK(c->entrypoint == NULL && c->cmd == NULL && c->env == NULL && c->exposed_ports == NULL);
        CHECK(c->working_dir == NULL && c->user == NULL && c->stop_signal == NULL && c->labels == NULL);
        CHECK(c->history == NULL);
        CHECK_INT_EQ(c->n_diff_ids, 0);
        CHECK(c->diff_ids != NULL && c->diff_ids[0] == NULL);
        image_config_free(c);
}

/* Go's encoding/json, which containerd and the kubelet decode with, matches keys case-insensitively. */
TEST(config_case_insensitive_keys) {
        static const char j[] =
                "{\"OS\":\"linux\",\"config\":{\"cmd\":[\"sh\"],\"ENTRYPOINT\":[\"/init\"],"
                "\"Cmd\":null},\"RootFS\":{\"Type\":\"layers\",\"Diff_IDs\":[\"" D_L0 "\"]}}";
        struct image_config *c = NULL;
        nl_error err = NL_ERROR_INIT;

        CHECK_INT_EQ(image_config_parse(j, strlen(j), &c, &err), 0);
        if (!c) {
                TEST_FAIL("%s", strempty(err.msg));
                return;
        }
        CHECK_STR_EQ(c->os, "linux");
        CHECK(c->cmd == NULL); /* the exact key wins */
        CHECK_INT_EQ(c->n_entrypoint, 1);
        CHECK_INT_EQ(c->n_diff_ids, 1);
        image_config_free(c);
}

static const struct bad_case bad_configs[] = {
        {"not json", "{\"rootfs\":", NULL, "invalid image config: line", -EINVAL},
        {"array", "[1]", NULL, "not a JSON object", -EINVAL},
        {"duplicate key",
         "{\"os\":\"linux\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}", NULL,
         "duplicate", -EINVAL},
        {"no rootfs", "{\"os\":\"linux\"}", NULL, "rootfs is missing", -EINVAL},
        {"rootfs an array", "{\"rootfs\":[]}", NULL, "rootfs must be an object", -EINVAL},
        {"rootfs type wrong", "{\"rootfs\":{\"type\":\"tar\",\"diff_ids\":[]}}", NULL,
         "type must be \"layers\"", -EINVAL},
        {"rootfs type missing", "{\"rootfs\":{\"diff_ids\":[]}}", NULL, "type must be \"layers\"", -EINVAL},
        {"diff_ids an object", "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":{}}}", NULL,
         "diff_ids must be an array", -EINVAL},
        {"diff_id bad", "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" D_L0 "\",\"sha256:123\"]}}",
         NULL, "rootfs.diff_ids[1]: invalid digest \"sha256:123\"", -EINVAL},
        {"diff_id a number", "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[5]}}", NULL, "must be a string",
         -EINVAL},
        {"os a number", "{\"os\":5,\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}", NULL,
         "os must be a string", -EINVAL},
        {"config an array", "{\"config\":[],\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}", NULL,
         "config must be an object", -EINVAL},
        {"Env not strings",
         "{\"config\":{\"Env\":[\"A=1\",2]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}", NULL,
         "config: Env[1] must be a string", -EINVAL},
        {"Cmd a string", "{\"config\":{\"Cmd\":\"sh\"},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}",
         NULL, "Cmd must be an array of strings", -EINVAL},
        {"ExposedPorts an array",
         "{\"config\":{\"ExposedPorts\":[\"80/tcp\"]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}",
         NULL, "ExposedPorts must be an object", -EINVAL},
        {"ExposedPorts value a string",
         "{\"config\":{\"ExposedPorts\":{\"80/"
         "tcp\":\"x\"}},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}",
         NULL, "ExposedPorts[\"80/tcp\"] must be an object", -EINVAL},
        {"Labels not strings",
         "{\"config\":{\"Labels\":{\"a\":true}},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}", NULL,
         "Labels[\"a\"] must be a string", -EINVAL},
        {"User a number", "{\"config\":{\"User\":0},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}", NULL,
         "User must be a string", -EINVAL},
        {"history an object", "{\"history\":{},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}", NULL,
         "history must be an array", -EINVAL},
        {"NUL in Env",
         "{\"config\":{\"Env\":[\"A=\\u0000\"]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}", NULL,
         "invalid image config", -EINVAL},
};

static void check_bad_config(const struct bad_case *bc) {
        struct image_config *c = NULL;
        nl_error err = NL_ERROR_INIT;
        int r = image_config_parse(bc->json, strlen(bc->json), &c, &err);

        if (r != bc->code)
                TEST_FAIL("%s: got %d, want %d (%s)", bc->name, r, bc->code, strempty(err.msg));
        if (c) {
                TEST_FAIL("%s: got a config", bc->name);
                image_config_free(c);
        }
        if (!err.msg || !strstr(err.msg, bc->message))
                TEST_FAIL("%s: message \"%s\", want it to contain \"%s\"", bc->name, strempty(err.msg),
                          bc->message);
        nl_error_clear(&err);
}

TEST(bad_configs) {
        for (size_t i = 0; i < ELEMENTSOF(bad_configs); i++)
                ROW(bad_configs[i].name, check_bad_config(&bad_configs[i]));
}

TEST(config_too_many_diff_ids) {
        nl_buf b = {};
        struct image_config *c = NULL;
        nl_error err = NL_ERROR_INIT;

        nl_buf_puts(&b, "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[");
        for (int i = 0; i <= IMAGE_MAX_LAYERS; i++)
                nl_buf_printf(&b, "%s\"%s\"", i ? "," : "", D_L0);
        nl_buf_puts(&b, "]}}");
        _cleanup_free_ char *j = nl_buf_steal(&b);
        CHECK_INT_EQ(image_config_parse(j, strlen(j), &c, &err), -EINVAL);
        CHECK(err.msg && strstr(err.msg, "257 diff_ids"));
        nl_error_clear(&err);
}

/* ==== chain IDs ========================================================================== */

static void strv_free_n(char **l) {
        if (!l)
                return;
        for (char **p = l; *p; p++)
                free(*p);
        free(l);
}

TEST(chain_ids) {
        char *diff_ids[] = {(char *) D_L0, (char *) D_L1, (char *) D_L2};
        char **chain = NULL;

        CHECK_INT_EQ(image_chain_ids(diff_ids, 3, &chain), 0);
        if (!chain)
                return;
        CHECK_STR_EQ(chain[0], D_L0);
        CHECK_STR_EQ(chain[1], C_1);
        CHECK_STR_EQ(chain[2], C_2);
        CHECK(chain[3] == NULL);
        strv_free_n(chain);

        chain = NULL;
        CHECK_INT_EQ(image_chain_ids(diff_ids, 1, &chain), 0);
        if (chain) {
                CHECK_STR_EQ(chain[0], D_L0);
                CHECK(chain[1] == NULL);
        }
        strv_free_n(chain);

        chain = NULL;
        CHECK_INT_EQ(image_chain_ids(NULL, 0, &chain), 0);
        CHECK(chain != NULL && chain[0] == NULL);
        strv_free_n(chain);

        /* the chain over the config's diff_ids */
        struct image_config *c = NULL;
        CHECK_INT_EQ(image_config_parse(docker_config, strlen(docker_config), &c, NULL), 0);
        chain = NULL;
        if (c)
                CHECK_INT_EQ(image_chain_ids(c->diff_ids, c->n_diff_ids, &chain), 0);
        if (chain)
                CHECK_STR_EQ(chain[2], C_2);
        strv_free_n(chain);
        image_config_free(c);

        char *bad[] = {(char *) D_L0, (char *) "sha256:a"};
        chain = NULL;
        CHECK_INT_EQ(image_chain_ids(bad, 2, &chain), -EINVAL);
        CHECK(chain == NULL);
        CHECK_INT_EQ(image_chain_ids(NULL, 1, &chain), -EINVAL);
}
