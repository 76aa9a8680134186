/* SPDX-License-Identifier: Apache-2.0 */
/* podspec/kinds.c: which kind a manifest document is, the data kinds' checks and defaults, and
 * the any-kind parse that keeps them for the static-pod source. */
#include <stdlib.h>

#include "podspec/podspec.h"
#include "test.h"

TEST(kind_dispatch) {
        CHECK_INT_EQ(manifest_kind_of("v1", "Pod"), MANIFEST_POD);
        CHECK_INT_EQ(manifest_kind_of("v1", "ConfigMap"), MANIFEST_CONFIGMAP);
        CHECK_INT_EQ(manifest_kind_of("v1", "Secret"), MANIFEST_SECRET);
        CHECK_INT_EQ(manifest_kind_of("v1", "PersistentVolumeClaim"), MANIFEST_PVC);
        CHECK_INT_EQ(manifest_kind_of("apps/v1", "Deployment"), MANIFEST_DEPLOYMENT);
        CHECK_INT_EQ(manifest_kind_of("apps/v1", "StatefulSet"), MANIFEST_STATEFULSET);
        CHECK_INT_EQ(manifest_kind_of("batch/v1", "CronJob"), MANIFEST_CRONJOB);
        /* the group must match: an old extensions Deployment is not ours to run */
        CHECK_INT_EQ(manifest_kind_of("extensions/v1beta1", "Deployment"), MANIFEST_OTHER);
        CHECK_INT_EQ(manifest_kind_of("v1", "Service"), MANIFEST_OTHER);
        CHECK_INT_EQ(manifest_kind_of(NULL, "Pod"), MANIFEST_OTHER);
        CHECK_STR_EQ(manifest_kind_name(MANIFEST_JOB), "Job");
        CHECK(manifest_kind_name(MANIFEST_OTHER) == NULL);
}

static json_t *load(const char *text) {
        json_t *docs = NULL;
        char *error = NULL;
        if (podspec_yaml_to_json(text, strlen(text), &docs, &error) < 0 || json_array_size(docs) != 1)
                abort();
        json_t *j = json_incref(json_array_get(docs, 0));
        json_decref(docs);
        return j;
}

static char *errors_of(enum manifest_kind k, const char *text) {
        json_t *j = load(text);
        pod_error_list l = {};
        manifest_validate_object(k, j, "", &l);
        nl_buf b = {};
        for (size_t i = 0; i < l.n_items; i++)
                nl_buf_printf(&b, "%s%s", i ? "\n" : "", l.items[i].message);
        pod_error_list_done(&l);
        json_decref(j);
        char *s = nl_buf_steal(&b);
        return s ? s : strdup("");
}

TEST(data_objects_validate) {
        char *e = errors_of(MANIFEST_CONFIGMAP, "kind: ConfigMap\nmetadata: {name: cfg}\ndata: {a: b, c.d: e}\n");
        CHECK_STR_EQ(e, "");
        free(e);
        e = errors_of(MANIFEST_CONFIGMAP, "kind: ConfigMap\nmetadata: {}\n");
        CHECK_STR_EQ(e, "metadata.name: Required value: name or generateName is required");
        free(e);
        e = errors_of(MANIFEST_CONFIGMAP, "kind: ConfigMap\nmetadata: {name: Cfg}\ndata: {..a: b}\n"
                                          "binaryData: {x: eA==}\n");
        CHECK(strstr(e, "metadata.name: Invalid value: \"Cfg\": a lowercase RFC 1123 subdomain"));
        CHECK(strstr(e, "data[..a]: Invalid value: \"..a\": must not start with '..'"));
        free(e);
        e = errors_of(MANIFEST_CONFIGMAP, "kind: ConfigMap\nmetadata: {name: c}\ndata: {x: b}\n"
                                          "binaryData: {x: eA==}\n");
        CHECK_STR_EQ(e, "data[x]: Invalid value: \"x\": duplicate of key present in binaryData");
        free(e);
        e = errors_of(MANIFEST_SECRET, "kind: Secret\nmetadata: {name: s}\ndata: {k: '%%%'}\n");
        CHECK_STR_EQ(e, "data[k]: Invalid type: expected a base64 string");
        free(e);
        e = errors_of(MANIFEST_CONFIGMAP, "kind: ConfigMap\nmetadata: {name: c}\ndata: {x: 1}\n");
        CHECK_STR_EQ(e, "data[x]: Invalid type: expected a string");
        free(e);
}

TEST(secret_normalize) {
        json_t *j = load("kind: Secret\nmetadata: {name: s}\ndata: {a: YQ==, b: YQ==}\nstringData: {b: hi!, c: ''}\n");
        json_t *o = NULL;
        CHECK_INT_EQ(manifest_object_normalize(MANIFEST_SECRET, j, &o), 0);
        char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
        /* stringData wins over data, and goes; the namespace and type are defaulted */
        CHECK_STR_EQ(s, "{\"data\":{\"a\":\"YQ==\",\"b\":\"aGkh\",\"c\":\"\"},\"kind\":\"Secret\","
                        "\"metadata\":{\"name\":\"s\",\"namespace\":\"default\"},\"type\":\"Opaque\"}");
        free(s);
        json_decref(o);
        json_decref(j);
}

TEST(parse_any_kind) {
        static const char *const text = "apiVersion: v1\nkind: List\nitems:\n"
                                        "- {apiVersion: v1, kind: Service, metadata: {name: s}}\n"
                                        "- {apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {containers: []}}\n"
                                        "---\nkind: Widget\nmetadata: {name: w}\n";
        struct podspec_file *f = NULL;
        CHECK_INT_EQ(podspec_parse_flags(text, strlen(text), PODSPEC_PARSE_ANY_KIND, &f), 0);
        CHECK_INT_EQ(f->n_documents, 3);
        if (f->n_documents == 3) {
                CHECK(f->documents[0].other_kind && f->documents[0].in_list && !f->documents[0].pod);
                CHECK(!f->documents[1].other_kind && f->documents[1].pod);
                /* without an apiVersion it is not a kind we can name: an error as before */
                CHECK(!f->documents[2].other_kind && f->documents[2].errors.n_items > 0);
        }
        podspec_file_free(f);
        /* without the flag, as before: Pods only */
        CHECK_INT_EQ(podspec_parse(text, strlen(text), &f), 0);
        CHECK(f->n_documents == 3 && !f->documents[0].other_kind && f->documents[0].errors.n_items == 1);
        podspec_file_free(f);
}
