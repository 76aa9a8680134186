/* SPDX-License-Identifier: Apache-2.0 */
/* Manifest files -> documents -> Pods. One path for both syntaxes: YAML is turned into JSON
 * trees first, JSON is read by jansson, and both decode through pod_from_json. */
#include <ctype.h>
#include <stdio.h>

#include "internal.h"

static int json_depth(const json_t *j, int depth) {
        if (depth > PODSPEC_MAX_DEPTH)
                return depth;
        int max = depth;
        const char *k;
        json_t *v;
        size_t i;
        if (json_is_object(j)) {
                json_object_foreach((json_t *) j, k, v) {
                        int d = json_depth(v, depth + 1);
                        if (d > max)
                                max = d;
                        if (max > PODSPEC_MAX_DEPTH)
                                break;
                }
        } else if (json_is_array(j)) {
                json_array_foreach(j, i, v) {
                        int d = json_depth(v, depth + 1);
                        if (d > max)
                                max = d;
                        if (max > PODSPEC_MAX_DEPTH)
                                break;
                }
        }
        return max;
}

static struct podspec_document *add_document(struct podspec_file *f, size_t index, json_t *j) {
        struct podspec_document *n = realloc(f->documents, (f->n_documents + 1) * sizeof(*n));
        if (!n)
                return NULL;
        f->documents = n;
        struct podspec_document *d = &f->documents[f->n_documents++];
        *d = (struct podspec_document){ .index = index, .json = json_incref(j) };
        return d;
}

static const char *str_field(const json_t *o, const char *key) {
        return json_string_value(json_object_get(o, key));
}

/* Checks apiVersion and kind of one object; prefix is "" or "items[N]". With any_kind, an
 * object of another kind that names its kind and apiVersion is kept undecoded
 * (d->other_kind) for the caller to dispatch. Returns true when it is to be decoded as a Pod. */
static bool check_kind(struct podspec_document *d, const json_t *o, const char *prefix, bool kind_may_be_empty,
                       bool any_kind) {
        pod_error_list *errors = &d->errors;
        const char *kind = str_field(o, "kind"), *api = str_field(o, "apiVersion");
        if (any_kind && !isempty(kind) && !streq(kind, "Pod") && !isempty(api)) {
                d->other_kind = true;
                return false;
        }
        _cleanup_free_ char *kf = nl_strdupf("%s%skind", prefix, *prefix ? "." : "");
        _cleanup_free_ char *af = nl_strdupf("%s%sapiVersion", prefix, *prefix ? "." : "");
        bool ok = true;

        if (isempty(kind) && !kind_may_be_empty) {
                pod_error_add(errors, POD_ERROR_REQUIRED, kf, NULL, "Object 'Kind' is missing");
                ok = false;
        } else if (!isempty(kind) && !streq(kind, "Pod")) {
                _cleanup_free_ char *q = pod_error_quote(kind);
                pod_error_add(errors, POD_ERROR_NOT_SUPPORTED, kf, q, "supported values: \"Pod\"");
                ok = false;
        }
        if (isempty(api) && !kind_may_be_empty) {
                pod_error_add(errors, POD_ERROR_REQUIRED, af, NULL, "Object 'apiVersion' is missing");
                ok = false;
        } else if (!isempty(api) && !streq(api, "v1")) {
                _cleanup_free_ char *q = pod_error_quote(api);
                pod_error_add(errors, POD_ERROR_NOT_SUPPORTED, af, q, "supported values: \"v1\"");
                ok = false;
        }
        return ok;
}

static void decode_pod(struct podspec_document *d, const json_t *o, const char *prefix) {
        if (!json_is_object(o)) {
                pod_error_add(&d->errors, POD_ERROR_TYPE, prefix, NULL, "expected an object");
                return;
        }
        struct pod *p = calloc(1, sizeof(*p));
        if (!p)
                return;
        nl_buf path = {};
        nl_buf_puts(&path, prefix);
        schema_decode(&pod_type_desc, p, o, &path, &d->errors, &d->unknown);
        nl_buf_free(&path);
        /* PodList items may omit kind and apiVersion; the decoded Pod carries them. */
        if (!p->kind)
                p->kind = strdup("Pod");
        if (!p->api_version)
                p->api_version = strdup("v1");
        d->pod = p;
}

static void add_json_document(struct podspec_file *f, size_t index, json_t *j, bool any_kind) {
        if (json_depth(j, 0) > PODSPEC_MAX_DEPTH) {
                struct podspec_document *d = add_document(f, index, NULL);
                if (d)
                        pod_error_add(&d->errors, POD_ERROR_SYNTAX, "", NULL,
                                      "document nests deeper than %d levels", PODSPEC_MAX_DEPTH);
                return;
        }
        if (!json_is_object(j)) {
                struct podspec_document *d = add_document(f, index, j);
                if (d)
                        pod_error_add(&d->errors, POD_ERROR_SYNTAX, "", NULL,
                                      "document is a %s, not an object with apiVersion and kind",
                                      json_is_array(j) ? "list" : "scalar");
                return;
        }

        const char *kind = str_field(j, "kind");
        if (kind && (streq(kind, "List") || streq(kind, "PodList"))) {
                bool pod_list = streq(kind, "PodList");
                json_t *items = json_object_get(j, "items");
                if (items && !json_is_array(items)) {
                        struct podspec_document *d = add_document(f, index, j);
                        if (d)
                                pod_error_add(&d->errors, POD_ERROR_SYNTAX, "", NULL,
                                              "items: Invalid type: expected array");
                        return;
                }
                size_t i;
                json_t *item;
                json_array_foreach(items, i, item) {
                        if (f->n_documents >= PODSPEC_MAX_DOCUMENTS) {
                                free(f->error);
                                f->error = nl_strdupf("more than %d pods in one file", PODSPEC_MAX_DOCUMENTS);
                                return;
                        }
                        struct podspec_document *d = add_document(f, index, item);
                        if (!d)
                                return;
                        d->in_list = true;
                        d->item = i;
                        _cleanup_free_ char *prefix = nl_strdupf("items[%zu]", i);
                        if (!prefix)
                                return;
                        /* a List's items may be of any kind; a PodList's are Pods */
                        if (json_is_object(item) && !check_kind(d, item, prefix, pod_list, any_kind && !pod_list))
                                continue;
                        decode_pod(d, item, prefix);
                }
                return;
        }

        struct podspec_document *d = add_document(f, index, j);
        if (!d)
                return;
        if (check_kind(d, j, "", false, any_kind))
                decode_pod(d, j, "");
}

static bool looks_like_json(const char *buf, size_t len) {
        for (size_t i = 0; i < len; i++) {
                if (isspace((unsigned char) buf[i]))
                        continue;
                return buf[i] == '{' || buf[i] == '[';
        }
        return false;
}

int podspec_parse_flags(const char *buf, size_t len, unsigned flags, struct podspec_file **ret) {
        bool any_kind = flags & PODSPEC_PARSE_ANY_KIND;
        struct podspec_file *f = calloc(1, sizeof(*f));
        if (!f)
                return -ENOMEM;

        if (len > PODSPEC_MAX_INPUT_BYTES) {
                f->error = nl_strdupf("file is %zu bytes, more than the %u bytes a manifest may have", len,
                                      PODSPEC_MAX_INPUT_BYTES);
                *ret = f;
                return 0;
        }

        if (looks_like_json(buf, len)) {
                json_error_t e;
                json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &e);
                if (!j)
                        f->error = nl_strdupf("line %d, column %d: %s", e.line, e.column, e.text);
                else {
                        add_json_document(f, 0, j, any_kind);
                        json_decref(j);
                }
        } else {
                json_t *docs = NULL;
                char *error = NULL;
                int r = podspec_yaml_to_json(buf, len, &docs, &error);
                if (r == -ENOMEM) {
                        json_decref(docs);
                        free(error);
                        podspec_file_free(f);
                        return -ENOMEM;
                }
                size_t i;
                json_t *doc;
                json_array_foreach(docs, i, doc) {
                        if (f->n_documents >= PODSPEC_MAX_DOCUMENTS)
                                break;
                        add_json_document(f, i, doc, any_kind);
                }
                json_decref(docs);
                if (r < 0 && !f->error)
                        f->error = error ? error : strdup("invalid YAML");
                else
                        free(error);
        }
        *ret = f;
        return 0;
}

int podspec_parse(const char *buf, size_t len, struct podspec_file **ret) {
        return podspec_parse_flags(buf, len, 0, ret);
}

void podspec_file_free(struct podspec_file *f) {
        if (!f)
                return;
        for (size_t i = 0; i < f->n_documents; i++) {
                struct podspec_document *d = &f->documents[i];
                json_decref(d->json);
                pod_free(d->pod);
                pod_error_list_done(&d->errors);
                pod_error_list_done(&d->unknown);
        }
        free(f->documents);
        free(f->error);
        free(f);
}
