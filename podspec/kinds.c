/* SPDX-License-Identifier: Apache-2.0 */
/* What a static-pod manifest may hold besides Pods (see podspec.h, "manifest kinds"): which
 * kind a document is, and the API server's checks and defaults for the data kinds nodelet
 * keeps itself (ConfigMap, Secret, PersistentVolumeClaim). Pure: no I/O. */
#include <stdio.h>

#include "internal.h"
#include "names.h"

#define CONFIG_KEY_MAX 253
#define OBJECT_DATA_MAX (1024 * 1024) /* the API server's limit on a ConfigMap's or Secret's data */

static const struct {
        const char *api_version, *kind;
} kinds[_MANIFEST_KIND_MAX] = {
        [MANIFEST_POD] = {"v1", "Pod"},
        [MANIFEST_CONFIGMAP] = {"v1", "ConfigMap"},
        [MANIFEST_SECRET] = {"v1", "Secret"},
        [MANIFEST_PVC] = {"v1", "PersistentVolumeClaim"},
        [MANIFEST_DEPLOYMENT] = {"apps/v1", "Deployment"},
        [MANIFEST_REPLICASET] = {"apps/v1", "ReplicaSet"},
        [MANIFEST_DAEMONSET] = {"apps/v1", "DaemonSet"},
        [MANIFEST_STATEFULSET] = {"apps/v1", "StatefulSet"},
        [MANIFEST_JOB] = {"batch/v1", "Job"},
        [MANIFEST_CRONJOB] = {"batch/v1", "CronJob"},
};

enum manifest_kind manifest_kind_of(const char *api_version, const char *kind) {
        for (int i = 0; i < _MANIFEST_KIND_MAX; i++)
                if (streq_ptr(api_version, kinds[i].api_version) && streq_ptr(kind, kinds[i].kind))
                        return i;
        return MANIFEST_OTHER;
}

const char *manifest_kind_name(enum manifest_kind k) {
        return k >= 0 && k < _MANIFEST_KIND_MAX ? kinds[k].kind : NULL;
}

/* apimachinery IsConfigMapKey (also the rule for Secret keys) */
static void check_key(const char *field, const char *key, pod_error_list *errors) {
        _cleanup_free_ char *q = pod_error_quote(key);
        size_t n = strlen(key);
        if (n > CONFIG_KEY_MAX)
                pod_error_add(errors, POD_ERROR_INVALID, field, q, "must be no more than %d characters",
                              CONFIG_KEY_MAX);
        bool ok = n > 0;
        for (size_t i = 0; i < n; i++)
                if (!(key[i] == '-' || key[i] == '.' || key[i] == '_' || (key[i] >= 'a' && key[i] <= 'z') ||
                      (key[i] >= 'A' && key[i] <= 'Z') || (key[i] >= '0' && key[i] <= '9')))
                        ok = false;
        if (!ok)
                pod_error_add(errors, POD_ERROR_INVALID, field, q,
                              "a valid config key must consist of alphanumeric characters, '-', '_' or '.' "
                              "(e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation "
                              "is '[-._a-zA-Z0-9]+')");
        else if (streq(key, "."))
                pod_error_add(errors, POD_ERROR_INVALID, field, q, "must not be '.'");
        else if (streq(key, ".."))
                pod_error_add(errors, POD_ERROR_INVALID, field, q, "must not be '..'");
        else if (strncmp(key, "..", 2) == 0)
                pod_error_add(errors, POD_ERROR_INVALID, field, q, "must not start with '..'");
}

static void check_metadata(const json_t *obj, const char *prefix, pod_error_list *errors) {
        json_t *md = json_object_get(obj, "metadata");
        _cleanup_free_ char *f = nl_strdupf("%smetadata.name", prefix);
        const char *name = json_string_value(json_object_get(md, "name"));
        if (md && !json_is_object(md)) {
                _cleanup_free_ char *mf = nl_strdupf("%smetadata", prefix);
                pod_error_add(errors, POD_ERROR_TYPE, mf, NULL, "expected an object");
                return;
        }
        if (isempty(name)) {
                pod_error_add(errors, POD_ERROR_REQUIRED, f, NULL, "name or generateName is required");
                return;
        }
        const char *msgs[NAMES_MAX_MSGS];
        size_t k = names_dns1123_subdomain(name, msgs);
        _cleanup_free_ char *q = pod_error_quote(name);
        for (size_t i = 0; i < k; i++)
                pod_error_add(errors, POD_ERROR_INVALID, f, q, "%s", msgs[i]);
        const char *ns = json_string_value(json_object_get(md, "namespace"));
        if (!isempty(ns)) {
                k = names_dns1123_label(ns, msgs);
                _cleanup_free_ char *nf = nl_strdupf("%smetadata.namespace", prefix), *nq = pod_error_quote(ns);
                for (size_t i = 0; i < k; i++)
                        pod_error_add(errors, POD_ERROR_INVALID, nf, nq, "%s", msgs[i]);
        }
}

/* data / binaryData / stringData: an object of strings with valid keys. Returns their bytes. */
static size_t check_map(const json_t *obj, const char *prefix, const char *field, bool base64,
                        pod_error_list *errors) {
        json_t *m = json_object_get(obj, field);
        size_t total = 0;
        if (!m || json_is_null(m))
                return 0;
        if (!json_is_object(m)) {
                _cleanup_free_ char *f = nl_strdupf("%s%s", prefix, field);
                pod_error_add(errors, POD_ERROR_TYPE, f, NULL, "expected an object of strings");
                return 0;
        }
        const char *key;
        json_t *v;
        json_object_foreach(m, key, v) {
                _cleanup_free_ char *f = nl_strdupf("%s%s[%s]", prefix, field, key);
                check_key(f, key, errors);
                if (!json_is_string(v)) {
                        pod_error_add(errors, POD_ERROR_TYPE, f, NULL, "expected a string");
                        continue;
                }
                size_t n = json_string_length(v);
                if (base64) {
                        _cleanup_free_ char *bytes = NULL;
                        if (nl_base64_decode_n(json_string_value(v), n, true, &bytes, &n) < 0) {
                                pod_error_add(errors, POD_ERROR_TYPE, f, NULL, "expected a base64 string");
                                continue;
                        }
                }
                total += n;
        }
        return total;
}

static void check_both(const json_t *obj, const char *prefix, const char *a, const char *b,
                       pod_error_list *errors) {
        const char *key;
        json_t *v;
        json_object_foreach(json_object_get(obj, a), key, v) {
                if (!json_object_get(json_object_get(obj, b), key))
                        continue;
                _cleanup_free_ char *f = nl_strdupf("%s%s[%s]", prefix, a, key), *q = pod_error_quote(key);
                pod_error_add(errors, POD_ERROR_INVALID, f, q, "duplicate of key present in %s", b);
        }
}

void manifest_validate_object(enum manifest_kind k, const json_t *obj, const char *prefix,
                              pod_error_list *errors) {
        _cleanup_free_ char *p = nl_strdupf("%s%s", strempty(prefix), isempty(prefix) ? "" : ".");
        if (!p)
                return;
        check_metadata(obj, p, errors);
        size_t total = 0;
        switch (k) {
        case MANIFEST_CONFIGMAP: /* ValidateConfigMap */
                total += check_map(obj, p, "data", false, errors);
                total += check_map(obj, p, "binaryData", true, errors);
                check_both(obj, p, "data", "binaryData", errors);
                break;
        case MANIFEST_SECRET: /* ValidateSecret, after stringData is merged into data */
                total += check_map(obj, p, "data", true, errors);
                total += check_map(obj, p, "stringData", false, errors);
                if (json_object_get(obj, "type") && !json_is_string(json_object_get(obj, "type"))) {
                        _cleanup_free_ char *f = nl_strdupf("%stype", p);
                        pod_error_add(errors, POD_ERROR_TYPE, f, NULL, "expected a string");
                }
                break;
        case MANIFEST_PVC: {
                json_t *spec = json_object_get(obj, "spec");
                if (spec && !json_is_object(spec)) {
                        _cleanup_free_ char *f = nl_strdupf("%sspec", p);
                        pod_error_add(errors, POD_ERROR_TYPE, f, NULL, "expected an object");
                }
                break;
        }
        default:
                break;
        }
        if (total > OBJECT_DATA_MAX) {
                _cleanup_free_ char *f = nl_strdupf("%sdata", p);
                pod_error_add(errors, POD_ERROR_TOO_LONG, f, NULL, "must have at most %d bytes", OBJECT_DATA_MAX);
        }
}

static char *base64_encode(const char *s, size_t n) {
        static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        char *out = malloc((n + 2) / 3 * 4 + 1), *o = out;
        if (!out)
                return NULL;
        for (size_t i = 0; i < n; i += 3) {
                uint32_t v = (uint32_t) (unsigned char) s[i] << 16;
                if (i + 1 < n)
                        v |= (uint32_t) (unsigned char) s[i + 1] << 8;
                if (i + 2 < n)
                        v |= (unsigned char) s[i + 2];
                *o++ = tbl[(v >> 18) & 63];
                *o++ = tbl[(v >> 12) & 63];
                *o++ = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
                *o++ = i + 2 < n ? tbl[v & 63] : '=';
        }
        *o = '\0';
        return out;
}

int manifest_object_normalize(enum manifest_kind k, const json_t *obj, json_t **ret) {
        json_t *o = json_deep_copy(obj);
        if (!o)
                return -ENOMEM;
        json_t *md = json_object_get(o, "metadata");
        if (json_is_object(md) && isempty(json_string_value(json_object_get(md, "namespace"))) &&
            json_object_set_new(md, "namespace", json_string("default")) < 0)
                goto oom;
        if (k == MANIFEST_SECRET) {
                /* the API server merges stringData into data (stringData wins) and drops it */
                json_t *sd = json_object_get(o, "stringData");
                if (json_object_size(sd) > 0) {
                        json_t *data = json_object_get(o, "data");
                        if (!json_is_object(data)) {
                                if (json_object_set_new(o, "data", json_object()) < 0)
                                        goto oom;
                                data = json_object_get(o, "data");
                        }
                        const char *key;
                        json_t *v;
                        json_object_foreach(sd, key, v) {
                                _cleanup_free_ char *b =
                                        base64_encode(strempty(json_string_value(v)), json_string_length(v));
                                if (!b || json_object_set_new(data, key, json_string(b)) < 0)
                                        goto oom;
                        }
                }
                json_object_del(o, "stringData");
                if (!json_object_get(o, "type") && json_object_set_new(o, "type", json_string("Opaque")) < 0)
                        goto oom;
        }
        *ret = o;
        return 0;
oom:
        json_decref(o);
        return -ENOMEM;
}
