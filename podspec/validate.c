/* SPDX-License-Identifier: Apache-2.0 */
/* Pod validation as kube-apiserver does it on create (pkg/apis/core/validation:
 * ValidatePodCreate), with the same field paths and messages, every error collected. Feature
 * gates are taken at their v1.34 defaults (relaxed env var names, sleep 0 allowed, ...).
 * Where upstream prints a Go struct dump (%#v with pointers) we print the struct as JSON. */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>

#include "internal.h"
#include "names.h"

typedef struct V {
        pod_error_list *errs;
        nl_buf path;
        const struct pod *pod;
} V;

static size_t vpush(V *v, const char *fmt, ...) _printf_(2, 3);
static size_t vpush(V *v, const char *fmt, ...) {
        size_t old = v->path.len;
        char *s = NULL;
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                s = NULL;
        va_end(ap);
        if (s) {
                if (v->path.len > 0 && s[0] != '[')
                        nl_buf_puts(&v->path, ".");
                nl_buf_puts(&v->path, s);
                free(s);
        }
        return old;
}

static void vpop(V *v, size_t old) {
        if (v->path.data && old <= v->path.len) {
                v->path.len = old;
                v->path.data[old] = '\0';
        }
}

/* The field of an error: the current path plus an optional child ("name", "[3]"). */
static char *vfield(V *v, const char *child) {
        const char *base = v->path.data ? v->path.data : "";
        if (isempty(child))
                return strdup(base);
        return nl_strdupf("%s%s%s", base, (*base && child[0] != '[') ? "." : "", child);
}

static void verr_v(V *v, pod_error_type t, const char *child, const char *value, const char *detail) {
        _cleanup_free_ char *f = vfield(v, child);
        if (detail)
                pod_error_add(v->errs, t, f, value, "%s", detail);
        else
                pod_error_add(v->errs, t, f, value, NULL);
}

static void verr(V *v, pod_error_type t, const char *child, const char *detail_fmt, ...) _printf_(4, 5);
static void verr(V *v, pod_error_type t, const char *child, const char *detail_fmt, ...) {
        _cleanup_free_ char *d = NULL;
        if (detail_fmt) {
                va_list ap;
                va_start(ap, detail_fmt);
                if (vasprintf(&d, detail_fmt, ap) < 0)
                        d = NULL;
                va_end(ap);
        }
        verr_v(v, t, child, NULL, d);
}

static void verr_str(V *v, pod_error_type t, const char *child, const char *value, const char *detail_fmt, ...)
        _printf_(5, 6);
static void verr_str(V *v, pod_error_type t, const char *child, const char *value, const char *detail_fmt, ...) {
        _cleanup_free_ char *d = NULL, *q = pod_error_quote(value);
        if (detail_fmt) {
                va_list ap;
                va_start(ap, detail_fmt);
                if (vasprintf(&d, detail_fmt, ap) < 0)
                        d = NULL;
                va_end(ap);
        }
        verr_v(v, t, child, q, d);
}

static void verr_int(V *v, pod_error_type t, const char *child, int64_t value, const char *detail_fmt, ...)
        _printf_(5, 6);
static void verr_int(V *v, pod_error_type t, const char *child, int64_t value, const char *detail_fmt, ...) {
        _cleanup_free_ char *d = NULL, *q = nl_strdupf("%" PRId64, value);
        if (detail_fmt) {
                va_list ap;
                va_start(ap, detail_fmt);
                if (vasprintf(&d, detail_fmt, ap) < 0)
                        d = NULL;
                va_end(ap);
        }
        verr_v(v, t, child, q, d);
}

/* "Unsupported value": supported values listed quoted, in the order given. */
static void verr_unsupported(V *v, const char *child, const char *value, const char *const *supported) {
        nl_buf b = {};
        nl_buf_puts(&b, "supported values: ");
        for (size_t i = 0; supported[i]; i++) {
                _cleanup_free_ char *q = pod_error_quote(supported[i]);
                nl_buf_printf(&b, "%s%s", i ? ", " : "", strempty(q));
        }
        _cleanup_free_ char *d = nl_buf_steal(&b), *q = pod_error_quote(value);
        verr_v(v, POD_ERROR_NOT_SUPPORTED, child, q, d);
}

static bool str_in(const char *s, const char *const *set) {
        for (size_t i = 0; set[i]; i++)
                if (streq(s, set[i]))
                        return true;
        return false;
}

/* Checks value against set; "" and NULL are Required. Returns true when valid. */
static bool check_enum(V *v, const char *child, const char *value, const char *const *set) {
        if (isempty(value)) {
                verr(v, POD_ERROR_REQUIRED, child, NULL);
                return false;
        }
        if (!str_in(value, set)) {
                verr_unsupported(v, child, value, set);
                return false;
        }
        return true;
}

typedef size_t (*name_check_fn)(const char *s, const char **msgs);

/* One "Invalid value" per message, as upstream appends one error per message. */
static size_t check_name(V *v, const char *child, const char *value, name_check_fn fn) {
        const char *msgs[NAMES_MAX_MSGS];
        size_t n = fn(strempty(value), msgs);
        for (size_t i = 0; i < n; i++)
                verr_str(v, POD_ERROR_INVALID, child, strempty(value), "%s", msgs[i]);
        return n;
}

/* A []string as Go's %#v prints it in field errors: []string{"a", "b"} */
static char *go_strv(char *const *v, size_t n) {
        nl_buf b = {};
        nl_buf_puts(&b, "[]string{");
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *q = pod_error_quote(v[i]);
                nl_buf_printf(&b, "%s%s", i ? ", " : "", strempty(q));
        }
        nl_buf_puts(&b, "}");
        return nl_buf_steal(&b);
}

static bool opt_true(nl_opt_bool b) {
        return b.set && b.v;
}

static bool opt_false(nl_opt_bool b) {
        return b.set && !b.v;
}

/* ---- metadata ---------------------------------------------------------------------------- */

static void validate_labels(V *v, const char *child, const struct pod_kv *kv, size_t n) {
        for (size_t i = 0; i < n; i++) {
                check_name(v, child, kv[i].key, names_qualified_name);
                check_name(v, child, kv[i].value, names_label_value);
        }
}

#define TOTAL_ANNOTATION_SIZE_LIMIT (256 * 1024)

static void validate_metadata(V *v, const struct pod_object_meta *m) {
        size_t o = vpush(v, "metadata");

        if (!isempty(m->generate_name)) {
                /* A prefix: a trailing '-' is allowed because a random suffix follows. */
                _cleanup_free_ char *g = strdup(m->generate_name);
                size_t len = g ? strlen(g) : 0;
                if (len > 0 && g[len - 1] == '-')
                        g[len - 1] = 'a';
                const char *msgs[NAMES_MAX_MSGS];
                size_t k = names_dns1123_subdomain(strempty(g), msgs);
                for (size_t i = 0; i < k; i++)
                        verr_str(v, POD_ERROR_INVALID, "generateName", m->generate_name, "%s", msgs[i]);
        }
        if (isempty(m->name)) {
                if (isempty(m->generate_name))
                        verr(v, POD_ERROR_REQUIRED, "name", "name or generateName is required");
        } else
                check_name(v, "name", m->name, names_dns1123_subdomain);

        if (isempty(m->namespace))
                verr(v, POD_ERROR_REQUIRED, "namespace", NULL);
        else
                check_name(v, "namespace", m->namespace, names_dns1123_label);

        if (m->generation.set && m->generation.v < 0)
                verr_int(v, POD_ERROR_INVALID, "generation", m->generation.v, "must be greater than or equal to 0");

        validate_labels(v, "labels", m->labels, m->n_labels);

        size_t total = 0;
        for (size_t i = 0; i < m->n_annotations; i++) {
                _cleanup_free_ char *lower = strdup(m->annotations[i].key);
                for (char *p = lower; p && *p; p++)
                        *p = (char) tolower((unsigned char) *p);
                const char *msgs[NAMES_MAX_MSGS];
                size_t k = names_qualified_name(strempty(lower), msgs);
                for (size_t j = 0; j < k; j++)
                        verr_str(v, POD_ERROR_INVALID, "annotations", m->annotations[i].key, "%s", msgs[j]);
                total += strlen(m->annotations[i].key) + strlen(strempty(m->annotations[i].value));
        }
        if (total > TOTAL_ANNOTATION_SIZE_LIMIT)
                verr(v, POD_ERROR_TOO_LONG, "annotations", "must have at most %d bytes",
                     TOTAL_ANNOTATION_SIZE_LIMIT);

        bool orphan = false, foreground = false;
        for (size_t i = 0; i < m->n_finalizers; i++) {
                const char *f = m->finalizers[i];
                check_name(v, "finalizers", f, names_qualified_name);
                /* a single-segment finalizer must be one of the standard ones */
                if (!strchr(f, '/') && !streq(f, "kubernetes") && !streq(f, "orphan") &&
                    !streq(f, "foregroundDeletion")) {
                        _cleanup_free_ char *c = nl_strdupf("finalizers[%zu]", i);
                        verr_str(v, POD_ERROR_INVALID, c, f,
                                 "name is neither a standard finalizer name nor is it fully qualified");
                }
                orphan = orphan || streq(f, "orphan");
                foreground = foreground || streq(f, "foregroundDeletion");
        }
        if (orphan && foreground) {
                _cleanup_free_ char *val = go_strv(m->finalizers, m->n_finalizers);
                verr_v(v, POD_ERROR_INVALID, "finalizers", val,
                       "finalizer orphan and foregroundDeletion cannot be both set");
        }

        for (size_t i = 0; i < m->n_owner_references; i++) {
                const struct pod_owner_reference *r = &m->owner_references[i];
                size_t alen = strlen(strempty(r->api_version));
                if (alen == 0 || r->api_version[alen - 1] == '/')
                        verr_str(v, POD_ERROR_INVALID, "ownerReferences.apiVersion", strempty(r->api_version),
                                 "version must not be empty");
                if (isempty(r->kind))
                        verr_str(v, POD_ERROR_INVALID, "ownerReferences.kind", "", "kind must not be empty");
                if (isempty(r->name))
                        verr_str(v, POD_ERROR_INVALID, "ownerReferences.name", "", "name must not be empty");
                if (isempty(r->uid))
                        verr_str(v, POD_ERROR_INVALID, "ownerReferences.uid", "", "uid must not be empty");
        }
        vpop(v, o);
}

/* ---- shared pieces ------------------------------------------------------------------------ */

static void check_nonneg(V *v, const char *child, nl_opt_int n) {
        if (n.set && n.v < 0)
                verr_int(v, POD_ERROR_INVALID, child, n.v, "must be greater than or equal to 0");
}

static void check_port_number(V *v, const char *child, int64_t port) {
        if (port < 1 || port > 65535)
                verr_int(v, POD_ERROR_INVALID, child, port, "must be between 1 and 65535, inclusive");
}

static void check_port_num_or_name(V *v, const char *child, const pod_int_or_string *p) {
        if (!p->set) {
                verr(v, POD_ERROR_REQUIRED, child, NULL);
                return;
        }
        if (!p->is_string)
                check_port_number(v, child, p->num);
        else
                check_name(v, child, p->str, names_port_name);
}

static void check_file_mode(V *v, const char *child, nl_opt_int mode) {
        if (mode.set && (mode.v < 0 || mode.v > 0777))
                verr_int(v, POD_ERROR_INVALID, child, mode.v,
                         "must be a number between 0 and 0777 (octal), both inclusive");
}

static bool has_backstep(const char *p) {
        /* any path element equal to ".." */
        const char *s = p;
        while (*s) {
                const char *e = strchr(s, '/');
                size_t len = e ? (size_t) (e - s) : strlen(s);
                if (len == 2 && s[0] == '.' && s[1] == '.')
                        return true;
                if (!e)
                        break;
                s = e + 1;
        }
        return false;
}

/* validateLocalDescendingPath */
static void check_local_descending_path(V *v, const char *child, const char *p) {
        if (p[0] == '/')
                verr_str(v, POD_ERROR_INVALID, child, p, "must be a relative path");
        if (has_backstep(p))
                verr_str(v, POD_ERROR_INVALID, child, p, "must not contain '..'");
}

/* ValidateLocalNonReservedPath: also no leading ".." (reserved for the ..data swap). */
static void check_local_non_reserved_path(V *v, const char *child, const char *p) {
        check_local_descending_path(v, child, p);
        if (strncmp(p, "..", 2) == 0 && strncmp(p, "../", 3) != 0)
                verr_str(v, POD_ERROR_INVALID, child, p, "must not start with '..'");
}

static void check_user_id(V *v, const char *child, nl_opt_int id) {
        if (id.set && (id.v < 0 || id.v > 4294967295LL))
                verr_int(v, POD_ERROR_INVALID, child, id.v, "must be between 0 and 4294967295, inclusive");
}

static const char *const ENV_FIELD_PATHS[] = { "metadata.name", "metadata.namespace", "metadata.uid",
                                               "spec.nodeName", "spec.serviceAccountName", "status.hostIP",
                                               "status.hostIPs", "status.podIP", "status.podIPs", NULL };
static const char *const VOLUME_FIELD_PATHS[] = { "metadata.annotations", "metadata.labels", "metadata.name",
                                                  "metadata.namespace", "metadata.uid", NULL };
/* Field labels the v1 Pod conversion knows (ConvertFieldLabel). */
static const char *const CONVERTIBLE_FIELD_PATHS[] = {
        "metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace", "metadata.uid",
        "spec.nodeName", "spec.restartPolicy", "spec.serviceAccountName", "spec.schedulerName", "status.phase",
        "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs", "spec.host", NULL
};

static void validate_field_selector(V *v, const struct pod_object_field_selector *s,
                                    const char *const *allowed) {
        size_t o = vpush(v, "fieldRef");
        if (isempty(s->api_version))
                verr(v, POD_ERROR_REQUIRED, "apiVersion", NULL);
        if (isempty(s->field_path)) {
                verr(v, POD_ERROR_REQUIRED, "fieldPath", NULL);
                vpop(v, o);
                return;
        }
        const char *fp = s->field_path;
        if (!isempty(s->api_version) && !streq(s->api_version, "v1")) {
                verr_str(v, POD_ERROR_INVALID, "fieldPath", fp, "error converting fieldPath: unsupported pod version: %s",
                         s->api_version);
                vpop(v, o);
                return;
        }
        const char *bracket = strchr(fp, '[');
        if (bracket) {
                _cleanup_free_ char *base = strndup(fp, (size_t) (bracket - fp));
                size_t blen = strlen(fp);
                bool well_formed = blen >= (size_t) (bracket - fp) + 4 && bracket[1] == '\'' &&
                                   fp[blen - 1] == ']' && fp[blen - 2] == '\'';
                if (!base || !str_in(base, CONVERTIBLE_FIELD_PATHS)) {
                        verr_str(v, POD_ERROR_INVALID, "fieldPath", fp,
                                 "error converting fieldPath: field label not supported: %s", fp);
                } else if (!streq(base, "metadata.labels") && !streq(base, "metadata.annotations")) {
                        verr_str(v, POD_ERROR_INVALID, "fieldPath", fp,
                                 "error converting fieldPath: field label does not support subscript: %s", fp);
                } else if (!well_formed) {
                        verr_unsupported(v, "fieldPath", fp, allowed);
                } else {
                        _cleanup_free_ char *key = strndup(bracket + 2, blen - (size_t) (bracket - fp) - 4);
                        if (key && streq(base, "metadata.annotations"))
                                for (char *p = key; *p; p++)
                                        *p = (char) tolower((unsigned char) *p);
                        check_name(v, NULL, strempty(key), names_qualified_name);
                }
        } else if (!str_in(fp, CONVERTIBLE_FIELD_PATHS))
                verr_str(v, POD_ERROR_INVALID, "fieldPath", fp,
                         "error converting fieldPath: field label not supported: %s", fp);
        else if (!str_in(fp, allowed))
                verr_unsupported(v, "fieldPath", fp, allowed);
        vpop(v, o);
}

static const char *const RESOURCE_FIELD_PATHS[] = { "limits.cpu", "limits.ephemeral-storage", "limits.memory",
                                                    "requests.cpu", "requests.ephemeral-storage",
                                                    "requests.memory", NULL };

static bool quantity_is(const pod_quantity *q, const char *text) {
        pod_quantity t = {};
        if (pod_quantity_parse(text, &t) < 0)
                return false;
        return pod_quantity_cmp(q, &t) == 0;
}

static void validate_resource_field_selector(V *v, const struct pod_resource_field_selector *s, bool volume) {
        size_t o = vpush(v, "resourceFieldRef");
        if (volume && isempty(s->container_name))
                verr(v, POD_ERROR_REQUIRED, "containerName", NULL);
        else if (isempty(s->resource))
                verr(v, POD_ERROR_REQUIRED, "resource", NULL);
        else if (!str_in(s->resource, RESOURCE_FIELD_PATHS) && strncmp(s->resource, "limits.hugepages-", 17) != 0 &&
                 strncmp(s->resource, "requests.hugepages-", 19) != 0)
                verr_unsupported(v, "resource", s->resource, RESOURCE_FIELD_PATHS);
        else if (s->divisor.set && !pod_quantity_is_zero(&s->divisor)) {
                if (strstr(s->resource, ".cpu")) {
                        if (!quantity_is(&s->divisor, "1m") && !quantity_is(&s->divisor, "1"))
                                verr_str(v, POD_ERROR_INVALID, "divisor", s->resource,
                                         "only divisor's values 1m and 1 are supported with the cpu resource");
                } else {
                        static const char *const ok[] = { "1",   "1k",  "1M",  "1G",  "1T",  "1P",  "1E",
                                                          "1Ki", "1Mi", "1Gi", "1Ti", "1Pi", "1Ei", NULL };
                        bool good = false;
                        for (size_t i = 0; ok[i]; i++)
                                good = good || quantity_is(&s->divisor, ok[i]);
                        if (!good) {
                                const char *what = strstr(s->resource, "memory")              ? "memory"
                                                   : strstr(s->resource, "ephemeral-storage") ? "local ephemeral storage"
                                                                                              : "hugepages";
                                verr_str(v, POD_ERROR_INVALID, "divisor", s->resource,
                                         "only divisor's values 1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, "
                                         "1Pi, 1Ei are supported with the %s resource",
                                         what);
                        }
                }
        }
        vpop(v, o);
}

static void validate_key_selector(V *v, const char *child, const struct pod_key_selector *s) {
        size_t o = vpush(v, "%s", child);
        check_name(v, "name", strempty(s->name), names_dns1123_subdomain);
        if (isempty(s->key))
                verr(v, POD_ERROR_REQUIRED, "key", NULL);
        else
                check_name(v, "key", s->key, names_config_map_key);
        vpop(v, o);
}

/* ---- env ---------------------------------------------------------------------------------- */

static void validate_env(V *v, const struct pod_container *c) {
        for (size_t i = 0; i < c->n_env; i++) {
                const struct pod_env_var *e = &c->env[i];
                size_t o = vpush(v, "env[%zu]", i);
                if (isempty(e->name))
                        verr(v, POD_ERROR_REQUIRED, "name", NULL);
                else
                        check_name(v, "name", e->name, names_env_var_name);
                if (e->value_from) {
                        const struct pod_env_var_source *s = e->value_from;
                        size_t o2 = vpush(v, "valueFrom");
                        int n = !!s->field_ref + !!s->resource_field_ref + !!s->config_map_key_ref +
                                !!s->secret_key_ref;
                        if (s->field_ref)
                                validate_field_selector(v, s->field_ref, ENV_FIELD_PATHS);
                        if (s->resource_field_ref)
                                validate_resource_field_selector(v, s->resource_field_ref, false);
                        if (s->config_map_key_ref)
                                validate_key_selector(v, "configMapKeyRef", s->config_map_key_ref);
                        if (s->secret_key_ref)
                                validate_key_selector(v, "secretKeyRef", s->secret_key_ref);
                        if (n == 0)
                                verr_str(v, POD_ERROR_INVALID, NULL, "",
                                         "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` "
                                         "or `secretKeyRef`");
                        else if (!isempty(e->value))
                                verr_str(v, POD_ERROR_INVALID, NULL, "",
                                         "may not be specified when `value` is not empty");
                        else if (n > 1)
                                verr_str(v, POD_ERROR_INVALID, NULL, "",
                                         "may not have more than one field specified at a time");
                        vpop(v, o2);
                }
                vpop(v, o);
        }

        for (size_t i = 0; i < c->n_env_from; i++) {
                const struct pod_env_from_source *e = &c->env_from[i];
                size_t o = vpush(v, "envFrom[%zu]", i);
                if (e->prefix && *e->prefix)
                        check_name(v, "prefix", e->prefix, names_env_var_name);
                int n = !!e->config_map_ref + !!e->secret_ref;
                const struct pod_local_ref_optional *refs[] = { e->config_map_ref, e->secret_ref };
                const char *ref_names[] = { "configMapRef", "secretRef" };
                for (size_t k = 0; k < 2; k++) {
                        if (!refs[k])
                                continue;
                        size_t o2 = vpush(v, "%s", ref_names[k]);
                        if (isempty(refs[k]->name))
                                verr(v, POD_ERROR_REQUIRED, "name", NULL);
                        else
                                check_name(v, "name", refs[k]->name, names_dns1123_subdomain);
                        vpop(v, o2);
                }
                vpop(v, o);
                /* upstream reports the source count at the list's path */
                size_t o3 = vpush(v, "envFrom");
                if (n == 0)
                        verr_str(v, POD_ERROR_INVALID, NULL, "", "must specify one of: `configMapRef` or `secretRef`");
                else if (n > 1)
                        verr_str(v, POD_ERROR_INVALID, NULL, "", "may not have more than one field specified at a time");
                vpop(v, o3);
        }
}

/* ---- resources --------------------------------------------------------------------------- */

static bool is_native_resource(const char *name) {
        return !strchr(name, '/') || strstr(name, "kubernetes.io/") != NULL;
}

static bool is_standard_container_resource(const char *name) {
        return streq(name, "cpu") || streq(name, "memory") || streq(name, "ephemeral-storage") ||
               strncmp(name, "hugepages-", 10) == 0;
}

/* Resources that may be overcommitted (request < limit): cpu, memory, ephemeral-storage. */
static bool is_overcommit_allowed(const char *name) {
        return streq(name, "cpu") || streq(name, "memory") || streq(name, "ephemeral-storage");
}

static void validate_resource_name(V *v, const char *child, const char *name) {
        const char *msgs[NAMES_MAX_MSGS];
        size_t n = names_qualified_name(name, msgs);
        /* ResourceName values print unquoted (the type has a String method). */
        for (size_t i = 0; i < n; i++)
                verr_v(v, POD_ERROR_INVALID, child, name, msgs[i]);
        if (n > 0)
                return;
        if (!strchr(name, '/')) {
                if (!is_standard_container_resource(name)) {
                        verr_v(v, POD_ERROR_INVALID, child, name, "must be a standard resource type or fully qualified");
                        verr_v(v, POD_ERROR_INVALID, child, name, "must be a standard resource for containers");
                }
        } else if (!is_native_resource(name) && (strncmp(name, "requests.", 9) == 0))
                verr_v(v, POD_ERROR_INVALID, child, name, "doesn't follow extended resource name standard");
}

static void validate_resource_list(V *v, const char *list, const struct pod_resource *r, size_t n) {
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *child = nl_strdupf("%s[%s]", list, r[i].name);
                validate_resource_name(v, child, r[i].name);
                if (pod_quantity_is_negative(&r[i].q)) {
                        _cleanup_free_ char *s = pod_quantity_format(&r[i].q);
                        verr_str(v, POD_ERROR_INVALID, child, strempty(s), "must be greater than or equal to 0");
                } else if (!is_native_resource(r[i].name) && pod_quantity_milli_value(&r[i].q) % 1000 != 0) {
                        _cleanup_free_ char *s = pod_quantity_format(&r[i].q);
                        verr_v(v, POD_ERROR_INVALID, child, s, "must be an integer");
                }
        }
}

static const struct pod_resource *find_resource(const struct pod_resource *r, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (streq(r[i].name, name))
                        return &r[i];
        return NULL;
}

static bool has_resource_prefix(const struct pod_resource *r, size_t n, const char *prefix) {
        for (size_t i = 0; i < n; i++)
                if (strncmp(r[i].name, prefix, strlen(prefix)) == 0)
                        return true;
        return false;
}

static void validate_resources(V *v, const struct pod_resource_requirements *r) {
        if (!r)
                return;
        size_t o = vpush(v, "resources");
        if ((has_resource_prefix(r->limits, r->n_limits, "hugepages-") ||
             has_resource_prefix(r->requests, r->n_requests, "hugepages-")) &&
            !find_resource(r->limits, r->n_limits, "cpu") && !find_resource(r->limits, r->n_limits, "memory") &&
            !find_resource(r->requests, r->n_requests, "cpu") && !find_resource(r->requests, r->n_requests, "memory"))
                verr(v, POD_ERROR_FORBIDDEN, NULL, "HugePages require cpu or memory");
        validate_resource_list(v, "limits", r->limits, r->n_limits);
        validate_resource_list(v, "requests", r->requests, r->n_requests);
        for (size_t i = 0; i < r->n_requests; i++) {
                const struct pod_resource *req = &r->requests[i];
                const struct pod_resource *lim = find_resource(r->limits, r->n_limits, req->name);
                _cleanup_free_ char *rs = pod_quantity_format(&req->q);
                if (!lim) {
                        if (!is_overcommit_allowed(req->name) && !is_native_resource(req->name))
                                verr(v, POD_ERROR_REQUIRED, "limits",
                                     "Limit must be set for non overcommitable resources");
                        continue;
                }
                _cleanup_free_ char *ls = pod_quantity_format(&lim->q);
                if (is_overcommit_allowed(req->name)) {
                        if (pod_quantity_cmp(&req->q, &lim->q) > 0)
                                verr_str(v, POD_ERROR_INVALID, "requests", strempty(rs),
                                         "must be less than or equal to %s limit of %s", req->name, strempty(ls));
                } else if (pod_quantity_cmp(&req->q, &lim->q) != 0)
                        verr_str(v, POD_ERROR_INVALID, "requests", strempty(rs), "must be equal to %s limit of %s",
                                 req->name, strempty(ls));
        }
        vpop(v, o);
}

/* ---- volumes ----------------------------------------------------------------------------- */

static void validate_key_to_paths(V *v, const struct pod_key_to_path *items, size_t n) {
        for (size_t i = 0; i < n; i++) {
                size_t o = vpush(v, "items[%zu]", i);
                if (isempty(items[i].key))
                        verr(v, POD_ERROR_REQUIRED, "key", NULL);
                if (isempty(items[i].path))
                        verr(v, POD_ERROR_REQUIRED, "path", NULL);
                else
                        check_local_non_reserved_path(v, "path", items[i].path);
                check_file_mode(v, "mode", items[i].mode);
                vpop(v, o);
        }
}

/* Upstream validates each downward API file at the volume's path, not at items[i]. */
static void validate_downward_files(V *v, const struct pod_downward_api_file *items, size_t n) {
        for (size_t i = 0; i < n; i++) {
                const struct pod_downward_api_file *f = &items[i];
                if (isempty(f->path))
                        verr(v, POD_ERROR_REQUIRED, "path", NULL);
                else
                        check_local_non_reserved_path(v, "path", f->path);
                check_file_mode(v, "mode", f->mode);
                if (f->field_ref)
                        validate_field_selector(v, f->field_ref, VOLUME_FIELD_PATHS);
                if (f->field_ref && f->resource_field_ref)
                        verr_str(v, POD_ERROR_INVALID, NULL, "resource",
                                 "fieldRef and resourceFieldRef can not be specified simultaneously");
                else if (f->resource_field_ref)
                        validate_resource_field_selector(v, f->resource_field_ref, true);
                else if (!f->field_ref)
                        verr(v, POD_ERROR_REQUIRED, NULL, "one of fieldRef and resourceFieldRef is required");
        }
}

/* A path projected twice: upstream reports it once at the projected volume, naming the
 * source (secret or configMap name, or the path for downward API files and tokens). */
static void check_projected_path(V *v, const char *proj, const char ***paths, size_t *n, const char *path,
                                 const char *what) {
        for (size_t i = 0; i < *n; i++)
                if (streq((*paths)[i], path)) {
                        _cleanup_free_ char *q = pod_error_quote(what);
                        pod_error_add(v->errs, POD_ERROR_INVALID, proj, q, "conflicting duplicate paths");
                        return;
                }
        const char **np = realloc(*paths, (*n + 1) * sizeof(char *));
        if (!np)
                return;
        *paths = np;
        (*paths)[(*n)++] = path;
}

static void validate_projected(V *v, const struct pod_projected_volume *p, const struct pod_spec *spec) {
        size_t o = vpush(v, "projected");
        _cleanup_free_ char *proj = vfield(v, NULL);
        _cleanup_free_ const char **paths = NULL;
        size_t n_paths = 0;

        check_file_mode(v, "defaultMode", p->default_mode);
        for (size_t j = 0; j < p->n_sources; j++) {
                const struct pod_volume_projection *s = &p->sources[j];
                int kinds = !!s->secret + !!s->config_map + !!s->downward_api + !!s->service_account_token +
                            !!s->cluster_trust_bundle + !!s->pod_certificate;
                size_t o2 = vpush(v, "sources[%zu]", j);
                if (kinds > 1)
                        verr(v, POD_ERROR_FORBIDDEN, NULL, "may not specify more than 1 volume type per source");
                if (s->secret) {
                        size_t o3 = vpush(v, "secret");
                        if (isempty(s->secret->name))
                                verr(v, POD_ERROR_REQUIRED, "name", NULL);
                        validate_key_to_paths(v, s->secret->items, s->secret->n_items);
                        vpop(v, o3);
                        for (size_t k = 0; k < s->secret->n_items; k++)
                                if (s->secret->items[k].path)
                                        check_projected_path(v, proj, &paths, &n_paths, s->secret->items[k].path,
                                                             strempty(s->secret->name));
                }
                if (s->config_map) {
                        size_t o3 = vpush(v, "configMap");
                        if (isempty(s->config_map->name))
                                verr(v, POD_ERROR_REQUIRED, "name", NULL);
                        validate_key_to_paths(v, s->config_map->items, s->config_map->n_items);
                        vpop(v, o3);
                        for (size_t k = 0; k < s->config_map->n_items; k++)
                                if (s->config_map->items[k].path)
                                        check_projected_path(v, proj, &paths, &n_paths,
                                                             s->config_map->items[k].path,
                                                             strempty(s->config_map->name));
                }
                if (s->downward_api) {
                        size_t o3 = vpush(v, "downwardAPI");
                        validate_downward_files(v, s->downward_api->items, s->downward_api->n_items);
                        vpop(v, o3);
                        for (size_t k = 0; k < s->downward_api->n_items; k++)
                                if (s->downward_api->items[k].path)
                                        check_projected_path(v, proj, &paths, &n_paths,
                                                             s->downward_api->items[k].path,
                                                             s->downward_api->items[k].path);
                }
                if (s->service_account_token) {
                        const struct pod_service_account_token_projection *t = s->service_account_token;
                        size_t o3 = vpush(v, "serviceAccountToken");
                        if (isempty(spec->service_account_name))
                                verr(v, POD_ERROR_FORBIDDEN, NULL,
                                     "must not be specified when serviceAccountName is not set");
                        if (t->expiration_seconds.set) {
                                if (t->expiration_seconds.v < 600)
                                        verr_int(v, POD_ERROR_INVALID, "expirationSeconds", t->expiration_seconds.v,
                                                 "may not specify a duration less than 10 minutes");
                                else if (t->expiration_seconds.v > 4294967296LL)
                                        verr_int(v, POD_ERROR_INVALID, "expirationSeconds", t->expiration_seconds.v,
                                                 "may not specify a duration larger than 2^32 seconds");
                        }
                        vpop(v, o3);
                }
                vpop(v, o2);
                /* upstream reports a token's path at the projected volume's level */
                if (s->service_account_token) {
                        const char *tp = s->service_account_token->path;
                        if (isempty(tp))
                                verr(v, POD_ERROR_REQUIRED, "path", NULL);
                        else {
                                check_local_non_reserved_path(v, "path", tp);
                                check_projected_path(v, proj, &paths, &n_paths, tp, tp);
                        }
                }
        }
        vpop(v, o);
}

static const char *const HOST_PATH_TYPES[] = { "",     "BlockDevice",  "CharDevice", "Directory", "DirectoryOrCreate",
                                               "File", "FileOrCreate", "Socket",     NULL };

/* Returns whether the volume is valid (only valid volumes can be mounted). */
static bool validate_volume(V *v, const struct pod_volume *vol, const struct pod_spec *spec) {
        size_t before = v->errs->n_items;
        if (isempty(vol->name))
                verr(v, POD_ERROR_REQUIRED, "name", NULL);
        else
                check_name(v, "name", vol->name, names_dns1123_label);

        /* The first source counts; every further one is Forbidden, in upstream's order. */
        struct {
                const char *name;
                bool present;
        } sources[] = {
                { "emptyDir", vol->empty_dir },       { "hostPath", vol->host_path },
                { "secret", vol->secret },            { "downwardAPI", vol->downward_api },
                { "configMap", vol->config_map },     { "projected", vol->projected },
        };
        size_t n = 0;
        for (size_t i = 0; i < ELEMENTSOF(sources); i++)
                if (sources[i].present && n++ > 0)
                        verr(v, POD_ERROR_FORBIDDEN, sources[i].name, "may not specify more than 1 volume type");
        for (size_t i = 0; i < vol->n_other; i++)
                if (n++ > 0)
                        verr(v, POD_ERROR_FORBIDDEN, vol->other[i].type, "may not specify more than 1 volume type");
        if (n == 0)
                verr(v, POD_ERROR_REQUIRED, NULL, "must specify a volume type");

        if (vol->empty_dir && vol->empty_dir->size_limit.set && pod_quantity_is_negative(&vol->empty_dir->size_limit))
                verr(v, POD_ERROR_FORBIDDEN, "emptyDir.sizeLimit", "SizeLimit field must be a valid resource quantity");
        if (vol->host_path) {
                size_t o = vpush(v, "hostPath");
                if (isempty(vol->host_path->path))
                        verr(v, POD_ERROR_REQUIRED, "path", NULL);
                else {
                        if (has_backstep(vol->host_path->path))
                                verr_str(v, POD_ERROR_INVALID, "path", vol->host_path->path, "must not contain '..'");
                        if (vol->host_path->type && !str_in(vol->host_path->type, HOST_PATH_TYPES))
                                verr_unsupported(v, "type", vol->host_path->type, HOST_PATH_TYPES);
                }
                vpop(v, o);
        }
        if (vol->secret) {
                size_t o = vpush(v, "secret");
                if (isempty(vol->secret->secret_name))
                        verr(v, POD_ERROR_REQUIRED, "secretName", NULL);
                check_file_mode(v, "defaultMode", vol->secret->default_mode);
                validate_key_to_paths(v, vol->secret->items, vol->secret->n_items);
                vpop(v, o);
        }
        if (vol->config_map) {
                size_t o = vpush(v, "configMap");
                if (isempty(vol->config_map->name))
                        verr(v, POD_ERROR_REQUIRED, "name", NULL);
                check_file_mode(v, "defaultMode", vol->config_map->default_mode);
                validate_key_to_paths(v, vol->config_map->items, vol->config_map->n_items);
                vpop(v, o);
        }
        if (vol->downward_api) {
                size_t o = vpush(v, "downwardAPI");
                check_file_mode(v, "defaultMode", vol->downward_api->default_mode);
                validate_downward_files(v, vol->downward_api->items, vol->downward_api->n_items);
                vpop(v, o);
        }
        if (vol->projected)
                validate_projected(v, vol->projected, spec);
        for (size_t i = 0; i < vol->n_other; i++) {
                const char *t = vol->other[i].type;
                const json_t *j = vol->other[i].value;
                if (streq(t, "persistentVolumeClaim") &&
                    isempty(json_string_value(json_object_get(j, "claimName"))))
                        verr(v, POD_ERROR_REQUIRED, "persistentVolumeClaim.claimName", NULL);
                if (streq(t, "nfs")) {
                        const char *server = json_string_value(json_object_get(j, "server"));
                        const char *path = json_string_value(json_object_get(j, "path"));
                        if (isempty(server))
                                verr(v, POD_ERROR_REQUIRED, "nfs.server", NULL);
                        if (isempty(path))
                                verr(v, POD_ERROR_REQUIRED, "nfs.path", NULL);
                        /* upstream also says this of an empty path */
                        if (!path || path[0] != '/')
                                verr_str(v, POD_ERROR_INVALID, "nfs.path", strempty(path), "must be an absolute path");
                }
                if (streq(t, "gitRepo")) {
                        const char *repo = json_string_value(json_object_get(j, "repository"));
                        const char *dir = json_string_value(json_object_get(j, "directory"));
                        if (isempty(repo))
                                verr(v, POD_ERROR_REQUIRED, "gitRepo.repository", NULL);
                        if (!isempty(dir))
                                check_local_descending_path(v, "gitRepo.directory", dir);
                }
        }
        return v->errs->n_items == before;
}

/* ---- volume mounts ------------------------------------------------------------------------ */

static const char *const PROPAGATION_MODES[] = { "Bidirectional", "HostToContainer", "None", NULL };
static const char *const RRO_MODES[] = { "Disabled", "Enabled", "IfPossible", NULL };

static bool name_in(const char *name, const char *const *names, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (streq_ptr(names[i], name))
                        return true;
        return false;
}

static void validate_volume_mounts(V *v, const struct pod_container *c, const char *const *volumes,
                                   size_t n_volumes, bool privileged) {
        for (size_t i = 0; i < c->n_volume_mounts; i++) {
                const struct pod_volume_mount *m = &c->volume_mounts[i];
                size_t o = vpush(v, "volumeMounts[%zu]", i);
                if (isempty(m->name))
                        verr(v, POD_ERROR_REQUIRED, "name", NULL);
                if (!name_in(strempty(m->name), volumes, n_volumes))
                        verr_str(v, POD_ERROR_NOT_FOUND, "name", strempty(m->name), NULL);
                if (isempty(m->mount_path))
                        verr(v, POD_ERROR_REQUIRED, "mountPath", NULL);
                else
                        for (size_t k = 0; k < i; k++)
                                if (streq_ptr(c->volume_mounts[k].mount_path, m->mount_path)) {
                                        verr_str(v, POD_ERROR_INVALID, "mountPath", m->mount_path, "must be unique");
                                        break;
                                }
                if (!isempty(m->sub_path_expr) && !isempty(m->sub_path))
                        verr_str(v, POD_ERROR_INVALID, "subPathExpr", m->sub_path_expr,
                                 "subPathExpr and subPath are mutually exclusive");
                vpop(v, o);

                /* upstream reports these at the list's path, without the index */
                o = vpush(v, "volumeMounts");
                if (!isempty(m->sub_path))
                        check_local_descending_path(v, "subPath", m->sub_path);
                if (!isempty(m->sub_path_expr))
                        check_local_descending_path(v, "subPathExpr", m->sub_path_expr);
                if (m->mount_propagation) {
                        if (!str_in(m->mount_propagation, PROPAGATION_MODES))
                                verr_unsupported(v, "mountPropagation", m->mount_propagation, PROPAGATION_MODES);
                        else if (streq(m->mount_propagation, "Bidirectional") && !privileged)
                                verr(v, POD_ERROR_FORBIDDEN, "mountPropagation",
                                     "Bidirectional mount propagation is available only to privileged containers");
                }
                if (m->recursive_read_only) {
                        if (!str_in(m->recursive_read_only, RRO_MODES))
                                verr_unsupported(v, "recursiveReadOnly", m->recursive_read_only, RRO_MODES);
                        else if (!streq(m->recursive_read_only, "Disabled")) {
                                if (!opt_true(m->read_only))
                                        verr(v, POD_ERROR_FORBIDDEN, "recursiveReadOnly",
                                             "may only be specified when readOnly is true");
                                if (m->mount_propagation && !streq(m->mount_propagation, "None"))
                                        verr(v, POD_ERROR_FORBIDDEN, "recursiveReadOnly",
                                             "may only be specified when mountPropagation is None or not specified");
                        }
                }
                vpop(v, o);
        }
}

/* ---- probes and hooks --------------------------------------------------------------------- */

static bool header_name_ok(const char *s) {
        if (isempty(s))
                return false;
        for (const char *p = s; *p; p++)
                if (!isalnum((unsigned char) *p) && *p != '-')
                        return false;
        return true;
}

static void validate_http_get(V *v, const struct pod_http_get_action *h) {
        size_t o = vpush(v, "httpGet");
        if (isempty(h->path))
                verr(v, POD_ERROR_REQUIRED, "path", NULL);
        check_port_num_or_name(v, "port", &h->port);
        static const char *const schemes[] = { "HTTP", "HTTPS", NULL };
        if (h->scheme && !str_in(h->scheme, schemes))
                verr_unsupported(v, "scheme", h->scheme, schemes);
        for (size_t i = 0; i < h->n_http_headers; i++)
                if (!header_name_ok(h->http_headers[i].name))
                        verr_str(v, POD_ERROR_INVALID, "httpHeaders", strempty(h->http_headers[i].name),
                                 "a valid HTTP header must consist of alphanumeric characters or '-' (e.g. "
                                 "'X-Header-Name', regex used for validation is '[-A-Za-z0-9]+')");
        vpop(v, o);
}

static void validate_tcp_socket(V *v, const struct pod_tcp_socket_action *t) {
        size_t o = vpush(v, "tcpSocket");
        check_port_num_or_name(v, "port", &t->port);
        vpop(v, o);
}

static void validate_exec(V *v, const struct pod_exec_action *e) {
        if (e->n_command == 0)
                verr(v, POD_ERROR_REQUIRED, "exec.command", NULL);
}

/* validateHandler: exactly one of exec, httpGet, tcpSocket, grpc, sleep; extras Forbidden. */
static void validate_handler(V *v, const struct pod_exec_action *exec, const struct pod_http_get_action *http,
                             const struct pod_tcp_socket_action *tcp, const struct pod_grpc_action *grpc,
                             const struct pod_sleep_action *sleep, int64_t grace) {
        int n = 0;
        if (exec && n++ == 0)
                validate_exec(v, exec);
        if (http) {
                if (n++ == 0)
                        validate_http_get(v, http);
                else
                        verr(v, POD_ERROR_FORBIDDEN, "httpGet", "may not specify more than 1 handler type");
        }
        if (tcp) {
                if (n++ == 0)
                        validate_tcp_socket(v, tcp);
                else
                        verr(v, POD_ERROR_FORBIDDEN, "tcpSocket", "may not specify more than 1 handler type");
        }
        if (grpc) {
                if (n++ == 0)
                        check_port_number(v, "grpc.port", grpc->port.set ? grpc->port.v : 0);
                else
                        verr(v, POD_ERROR_FORBIDDEN, "grpc", "may not specify more than 1 handler type");
        }
        if (sleep) {
                if (n++ == 0) {
                        int64_t s = sleep->seconds.set ? sleep->seconds.v : 0;
                        if (s < 0 || s > grace)
                                verr_int(v, POD_ERROR_INVALID, "sleep", s,
                                         "must be non-negative and less than terminationGracePeriodSeconds (%" PRId64
                                         ")",
                                         grace);
                } else
                        verr(v, POD_ERROR_FORBIDDEN, "sleep", "may not specify more than 1 handler type");
        }
        if (n == 0)
                verr(v, POD_ERROR_REQUIRED, NULL, "must specify a handler type");
}

static void validate_probe(V *v, const char *name, const struct pod_probe *p, bool success_must_be_one,
                           bool readiness) {
        if (!p)
                return;
        size_t o = vpush(v, "%s", name);
        validate_handler(v, p->exec, p->http_get, p->tcp_socket, p->grpc, NULL, 0);
        check_nonneg(v, "initialDelaySeconds", p->initial_delay_seconds);
        check_nonneg(v, "timeoutSeconds", p->timeout_seconds);
        check_nonneg(v, "periodSeconds", p->period_seconds);
        check_nonneg(v, "successThreshold", p->success_threshold);
        check_nonneg(v, "failureThreshold", p->failure_threshold);
        if (p->termination_grace_period_seconds.set) {
                if (readiness)
                        verr_int(v, POD_ERROR_INVALID, "terminationGracePeriodSeconds",
                                 p->termination_grace_period_seconds.v, "must not be set for readinessProbes");
                else if (p->termination_grace_period_seconds.v <= 0)
                        verr_int(v, POD_ERROR_INVALID, "terminationGracePeriodSeconds",
                                 p->termination_grace_period_seconds.v, "must be greater than 0");
        }
        if (success_must_be_one && p->success_threshold.set && p->success_threshold.v != 1)
                verr_int(v, POD_ERROR_INVALID, "successThreshold", p->success_threshold.v, "must be 1");
        vpop(v, o);
}

static void validate_lifecycle(V *v, const struct pod_lifecycle *l, int64_t grace) {
        if (!l)
                return;
        size_t o = vpush(v, "lifecycle");
        const struct pod_lifecycle_handler *h[] = { l->post_start, l->pre_stop };
        const char *names[] = { "postStart", "preStop" };
        for (size_t i = 0; i < 2; i++) {
                if (!h[i])
                        continue;
                size_t o2 = vpush(v, "%s", names[i]);
                validate_handler(v, h[i]->exec, h[i]->http_get, h[i]->tcp_socket, NULL, h[i]->sleep, grace);
                vpop(v, o2);
        }
        vpop(v, o);
}

/* ---- security ---------------------------------------------------------------------------- */

static const char *const PROFILE_TYPES[] = { "Localhost", "RuntimeDefault", "Unconfined", NULL };

static void validate_seccomp(V *v, const struct pod_seccomp_profile *s) {
        if (!s)
                return;
        size_t o = vpush(v, "seccompProfile");
        if (isempty(s->type))
                verr(v, POD_ERROR_REQUIRED, "type", "type is required when seccompProfile is set");
        else if (!str_in(s->type, PROFILE_TYPES))
                verr_unsupported(v, "type", s->type, PROFILE_TYPES);
        else if (streq(s->type, "Localhost")) {
                if (!s->localhost_profile)
                        verr(v, POD_ERROR_REQUIRED, "localhostProfile", "must be set when seccomp type is Localhost");
                else
                        check_local_descending_path(v, "localhostProfile", s->localhost_profile);
        } else if (s->localhost_profile) {
                /* upstream dumps the Go struct here; we show the offending value */
                verr_str(v, POD_ERROR_INVALID, "localhostProfile", s->localhost_profile,
                         "can only be set when seccomp type is Localhost");
        }
        vpop(v, o);
}

static void validate_app_armor(V *v, const struct pod_app_armor_profile *a) {
        if (!a)
                return;
        size_t o = vpush(v, "appArmorProfile");
        if (isempty(a->type))
                verr(v, POD_ERROR_REQUIRED, "type", "type is required when appArmorProfile is set");
        else if (!str_in(a->type, PROFILE_TYPES))
                verr_unsupported(v, "type", a->type, PROFILE_TYPES);
        else if (streq(a->type, "Localhost")) {
                if (isempty(a->localhost_profile))
                        verr(v, POD_ERROR_REQUIRED, "localhostProfile", "must be set when AppArmor type is Localhost");
                else {
                        size_t n = strlen(a->localhost_profile);
                        if (isspace((unsigned char) a->localhost_profile[0]) ||
                            isspace((unsigned char) a->localhost_profile[n - 1]))
                                verr_str(v, POD_ERROR_INVALID, "localhostProfile", a->localhost_profile,
                                         "must not be padded with whitespace");
                }
        } else if (a->localhost_profile)
                verr_str(v, POD_ERROR_INVALID, "localhostProfile", a->localhost_profile,
                         "can only be set when AppArmor type is Localhost");
        vpop(v, o);
}

/* Upstream prints the whole SecurityContext (%#v) as the value of this error. */
static void verr_security_context(V *v, const struct pod_security_context *sc, const char *detail) {
        json_t *j = json_object();
        if (sc->privileged.set)
                json_object_set_new(j, "privileged", json_boolean(sc->privileged.v));
        if (sc->allow_privilege_escalation.set)
                json_object_set_new(j, "allowPrivilegeEscalation", json_boolean(sc->allow_privilege_escalation.v));
        _cleanup_free_ char *s = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        verr_v(v, POD_ERROR_INVALID, NULL, strempty(s), detail);
}

static void validate_security_context(V *v, const struct pod_security_context *sc, const struct pod_spec *spec) {
        if (!sc)
                return;
        size_t o = vpush(v, "securityContext");
        check_user_id(v, "runAsUser", sc->run_as_user);
        check_user_id(v, "runAsGroup", sc->run_as_group);
        if (sc->proc_mount) {
                static const char *const modes[] = { "Default", "Unmasked", NULL };
                if (!str_in(sc->proc_mount, modes))
                        verr_unsupported(v, "procMount", sc->proc_mount, modes);
                else if (streq(sc->proc_mount, "Unmasked") && !opt_false(spec->host_users))
                        verr_str(v, POD_ERROR_INVALID, "procMount", "Unmasked",
                                 "`hostUsers` must be false to use `Unmasked`");
        }
        validate_seccomp(v, sc->seccomp_profile);
        validate_app_armor(v, sc->app_armor_profile);
        if (opt_false(sc->allow_privilege_escalation)) {
                if (opt_true(sc->privileged))
                        verr_security_context(v, sc,
                                              "cannot set `allowPrivilegeEscalation` to false and `privileged` to true");
                if (sc->capabilities)
                        for (size_t i = 0; i < sc->capabilities->n_add; i++)
                                if (streq(sc->capabilities->add[i], "CAP_SYS_ADMIN"))
                                        verr_security_context(v, sc,
                                                              "cannot set `allowPrivilegeEscalation` to false and "
                                                              "`capabilities.Add` CAP_SYS_ADMIN");
        }
        if (sc->windows_options && spec->os && streq_ptr(spec->os->name, "linux"))
                verr(v, POD_ERROR_FORBIDDEN, "windowsOptions", "windows options cannot be set for a linux pod");
        vpop(v, o);
}

static bool is_ipc_sysctl(const char *n) {
        return strncmp(n, "kernel.shm", 10) == 0 || strncmp(n, "kernel.msg", 10) == 0 || streq(n, "kernel.sem") ||
               strncmp(n, "fs.mqueue.", 10) == 0;
}

static void validate_sysctls(V *v, const struct pod_spec *spec) {
        const struct pod_pod_security_context *sc = spec->security_context;
        for (size_t i = 0; i < sc->n_sysctls; i++) {
                const struct pod_sysctl *s = &sc->sysctls[i];
                size_t o = vpush(v, "sysctls[%zu]", i);
                if (isempty(s->name))
                        verr(v, POD_ERROR_REQUIRED, "name", NULL);
                else if (!names_is_sysctl_name(s->name))
                        verr_str(v, POD_ERROR_INVALID, "name", s->name,
                                 "must have at most 253 characters and match regex "
                                 "^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$");
                else {
                        bool dup = false;
                        for (size_t k = 0; k < i; k++)
                                dup = dup || streq_ptr(sc->sysctls[k].name, s->name);
                        if (dup)
                                verr_str(v, POD_ERROR_DUPLICATE, "name", s->name, NULL);
                }
                if (!isempty(s->name)) {
                        if (opt_true(spec->host_network) && strncmp(s->name, "net.", 4) == 0)
                                verr_str(v, POD_ERROR_INVALID, "name", s->name,
                                         "may not be specified when 'hostNetwork' is true");
                        if (opt_true(spec->host_ipc) && is_ipc_sysctl(s->name))
                                verr_str(v, POD_ERROR_INVALID, "name", s->name,
                                         "may not be specified when 'hostIPC' is true");
                }
                /* Not an API server rule: a value carrying '+' or '=' could smuggle a second
                 * sysctl into a runtime that passes "name=value" pairs (CVE-2022-0811), and
                 * no namespaced sysctl needs either character. Refused here for every runtime. */
                if (s->value && strpbrk(s->value, "+=\n"))
                        verr_str(v, POD_ERROR_INVALID, "value", s->value,
                                 "must not contain '+', '=' or a newline");
                vpop(v, o);
        }
}

static void validate_pod_security_context(V *v, const struct pod_spec *spec) {
        const struct pod_pod_security_context *sc = spec->security_context;
        if (!sc)
                return;
        size_t o = vpush(v, "securityContext");
        check_user_id(v, "runAsUser", sc->run_as_user);
        check_user_id(v, "runAsGroup", sc->run_as_group);
        check_user_id(v, "fsGroup", sc->fs_group);
        for (size_t i = 0; i < sc->n_supplemental_groups; i++) {
                _cleanup_free_ char *c = nl_strdupf("supplementalGroups[%zu]", i);
                check_user_id(v, c, (nl_opt_int){ true, sc->supplemental_groups[i] });
        }
        if (opt_true(spec->share_process_namespace) && opt_true(spec->host_pid))
                verr_v(v, POD_ERROR_INVALID, "shareProcessNamespace", "true",
                       "ShareProcessNamespace and HostPID cannot both be enabled");
        validate_sysctls(v, spec);
        if (sc->fs_group_change_policy) {
                static const char *const p[] = { "Always", "OnRootMismatch", NULL };
                if (!str_in(sc->fs_group_change_policy, p))
                        verr_unsupported(v, "fsGroupChangePolicy", sc->fs_group_change_policy, p);
        }
        if (sc->supplemental_groups_policy) {
                static const char *const p[] = { "Merge", "Strict", NULL };
                if (!str_in(sc->supplemental_groups_policy, p))
                        verr_unsupported(v, "supplementalGroupsPolicy", sc->supplemental_groups_policy, p);
        }
        if (sc->se_linux_change_policy) {
                static const char *const p[] = { "MountOption", "Recursive", NULL };
                if (!str_in(sc->se_linux_change_policy, p))
                        verr_unsupported(v, "seLinuxChangePolicy", sc->se_linux_change_policy, p);
        }
        validate_seccomp(v, sc->seccomp_profile);
        validate_app_armor(v, sc->app_armor_profile);
        if (sc->windows_options && spec->os && streq_ptr(spec->os->name, "linux"))
                verr(v, POD_ERROR_FORBIDDEN, "windowsOptions", "windows options cannot be set for a linux pod");
        vpop(v, o);
}

/* ---- containers --------------------------------------------------------------------------- */

static const char *const PULL_POLICIES[] = { "Always", "IfNotPresent", "Never", NULL };
static const char *const MESSAGE_POLICIES[] = { "File", "FallbackToLogsOnError", NULL };
static const char *const PROTOCOLS[] = { "SCTP", "TCP", "UDP", NULL };

static void validate_ports(V *v, const struct pod_container *c) {
        for (size_t i = 0; i < c->n_ports; i++) {
                const struct pod_container_port *p = &c->ports[i];
                size_t o = vpush(v, "ports[%zu]", i);
                if (p->name && *p->name) {
                        if (check_name(v, "name", p->name, names_port_name) == 0)
                                for (size_t k = 0; k < i; k++)
                                        if (streq_ptr(c->ports[k].name, p->name)) {
                                                verr_str(v, POD_ERROR_DUPLICATE, "name", p->name, NULL);
                                                break;
                                        }
                }
                if (!p->container_port.set || p->container_port.v == 0)
                        verr(v, POD_ERROR_REQUIRED, "containerPort", NULL);
                else
                        check_port_number(v, "containerPort", p->container_port.v);
                if (p->host_port.set && p->host_port.v != 0)
                        check_port_number(v, "hostPort", p->host_port.v);
                check_enum(v, "protocol", p->protocol, PROTOCOLS);
                vpop(v, o);
        }
}

struct host_ports {
        char **keys;
        size_t n;
};

/* AccumulateUniqueHostPorts: "<protocol>/<hostIP>/<hostPort>" must be unique. */
static void check_host_ports(V *v, const struct pod_container *c, struct host_ports *seen) {
        for (size_t i = 0; i < c->n_ports; i++) {
                const struct pod_container_port *p = &c->ports[i];
                if (!p->host_port.set || p->host_port.v == 0)
                        continue;
                _cleanup_free_ char *key = nl_strdupf("%s/%s/%" PRId64, strempty(p->protocol), strempty(p->host_ip),
                                                      p->host_port.v);
                if (!key)
                        continue;
                bool dup = false;
                for (size_t k = 0; k < seen->n; k++)
                        dup = dup || streq(seen->keys[k], key);
                if (dup) {
                        size_t o = vpush(v, "ports[%zu]", i);
                        verr_str(v, POD_ERROR_DUPLICATE, "hostPort", key, NULL);
                        vpop(v, o);
                        continue;
                }
                char **n = realloc(seen->keys, (seen->n + 1) * sizeof(char *));
                if (!n)
                        continue;
                seen->keys = n;
                seen->keys[seen->n++] = TAKE_PTR(key);
        }
}

static void host_ports_done(struct host_ports *h) {
        for (size_t i = 0; i < h->n; i++)
                free(h->keys[i]);
        free(h->keys);
}

/* validateResizePolicy: the node does not resize in place yet, but the API server's rules
 * still apply to what a manifest may say. */
static void validate_resize_policy(V *v, const json_t *rp, const struct pod_spec *spec) {
        static const char *const resources[] = { "cpu", "memory", NULL };
        static const char *const policies[] = { "NotRequired", "RestartContainer", NULL };
        size_t i;
        json_t *e;
        if (!json_is_array(rp))
                return;
        json_array_foreach(rp, i, e) {
                const char *res = json_string_value(json_object_get(e, "resourceName"));
                const char *pol = json_string_value(json_object_get(e, "restartPolicy"));
                if (isempty(res))
                        verr(v, POD_ERROR_REQUIRED, "resizePolicy", NULL);
                else if (!str_in(res, resources)) {
                        /* a ResourceName prints unquoted */
                        verr_v(v, POD_ERROR_NOT_SUPPORTED, "resizePolicy", res, "supported values: \"cpu\", \"memory\"");
                } else {
                        for (size_t k = 0; k < i; k++)
                                if (streq_ptr(json_string_value(json_object_get(json_array_get(rp, k), "resourceName")),
                                              res)) {
                                        _cleanup_free_ char *c = nl_strdupf("resizePolicy[%zu]", i);
                                        verr_str(v, POD_ERROR_DUPLICATE, c, res, NULL);
                                        break;
                                }
                }
                if (isempty(pol))
                        verr(v, POD_ERROR_REQUIRED, "resizePolicy", NULL);
                else if (!str_in(pol, policies))
                        verr_unsupported(v, "resizePolicy", pol, policies);
                else if (streq_ptr(spec->restart_policy, "Never") && !streq(pol, "NotRequired"))
                        verr_str(v, POD_ERROR_INVALID, "resizePolicy", pol,
                                 "must be 'NotRequired' when `restartPolicy` is 'Never'");
        }
}

static void validate_container_common(V *v, const struct pod_container *c, const struct pod_spec *spec,
                                      const char *const *volumes, size_t n_volumes) {
        if (isempty(c->name))
                verr(v, POD_ERROR_REQUIRED, "name", NULL);
        else
                check_name(v, "name", c->name, names_dns1123_label);
        if (isempty(c->image))
                verr(v, POD_ERROR_REQUIRED, "image", NULL);
        else if (isspace((unsigned char) c->image[0]) || isspace((unsigned char) c->image[strlen(c->image) - 1]))
                verr_str(v, POD_ERROR_INVALID, "image", c->image, "must not have leading or trailing whitespace");
        check_enum(v, "terminationMessagePolicy", c->termination_message_policy, MESSAGE_POLICIES);
        check_enum(v, "imagePullPolicy", c->image_pull_policy, PULL_POLICIES);
        validate_ports(v, c);
        validate_env(v, c);
        bool privileged = c->security_context && opt_true(c->security_context->privileged);
        validate_volume_mounts(v, c, volumes, n_volumes, privileged);
        validate_resources(v, c->resources);
        validate_resize_policy(v, c->resize_policy, spec);
        validate_security_context(v, c->security_context, spec);
}

static int64_t grace_period(const struct pod_spec *spec) {
        return spec->termination_grace_period_seconds.set ? spec->termination_grace_period_seconds.v : 30;
}

static void validate_containers(V *v, const struct pod_spec *spec, const char *const *volumes, size_t n_volumes) {
        struct host_ports seen = {};

        if (spec->n_containers == 0) {
                verr(v, POD_ERROR_REQUIRED, "containers", NULL);
        }
        for (size_t i = 0; i < spec->n_containers; i++) {
                const struct pod_container *c = &spec->containers[i];
                size_t o = vpush(v, "containers[%zu]", i);
                validate_container_common(v, c, spec, volumes, n_volumes);
                if (!isempty(c->name))
                        for (size_t k = 0; k < i; k++)
                                if (streq_ptr(spec->containers[k].name, c->name)) {
                                        verr_str(v, POD_ERROR_DUPLICATE, "name", c->name, NULL);
                                        break;
                                }
                validate_lifecycle(v, c->lifecycle, grace_period(spec));
                validate_probe(v, "livenessProbe", c->liveness_probe, true, false);
                validate_probe(v, "readinessProbe", c->readiness_probe, false, true);
                validate_probe(v, "startupProbe", c->startup_probe, true, false);
                if (c->restart_policy)
                        verr(v, POD_ERROR_FORBIDDEN, "restartPolicy", "may not be set for non-init containers");
                check_host_ports(v, c, &seen);
                vpop(v, o);
        }
        host_ports_done(&seen);

        for (size_t i = 0; i < spec->n_init_containers; i++) {
                const struct pod_container *c = &spec->init_containers[i];
                size_t o = vpush(v, "initContainers[%zu]", i);
                validate_container_common(v, c, spec, volumes, n_volumes);
                if (!isempty(c->name)) {
                        bool dup = false;
                        for (size_t k = 0; k < spec->n_containers; k++)
                                dup = dup || streq_ptr(spec->containers[k].name, c->name);
                        for (size_t k = 0; k < i; k++)
                                dup = dup || streq_ptr(spec->init_containers[k].name, c->name);
                        if (dup)
                                verr_str(v, POD_ERROR_DUPLICATE, "name", c->name, NULL);
                }
                bool sidecar = streq_ptr(c->restart_policy, "Always");
                if (c->restart_policy && !sidecar) {
                        static const char *const always[] = { "Always", NULL };
                        verr_unsupported(v, "restartPolicy", c->restart_policy, always);
                }
                if (sidecar) {
                        validate_lifecycle(v, c->lifecycle, grace_period(spec));
                        validate_probe(v, "livenessProbe", c->liveness_probe, true, false);
                        validate_probe(v, "readinessProbe", c->readiness_probe, false, true);
                        validate_probe(v, "startupProbe", c->startup_probe, true, false);
                } else {
                        const char *fields[] = { "lifecycle", "livenessProbe", "readinessProbe", "startupProbe" };
                        const bool set[] = { c->lifecycle, c->liveness_probe, c->readiness_probe, c->startup_probe };
                        for (size_t k = 0; k < ELEMENTSOF(fields); k++)
                                if (set[k])
                                        verr(v, POD_ERROR_FORBIDDEN, fields[k],
                                             "may not be set for init containers without restartPolicy=Always");
                }
                /* Each init container runs alone, so host ports only clash within one; unlike
                 * upstream (which reports these at index 0) we report the real index. */
                struct host_ports own = {};
                check_host_ports(v, c, &own);
                host_ports_done(&own);
                vpop(v, o);
        }
}

/* ---- pod spec ------------------------------------------------------------------------------ */

static void validate_dns(V *v, const struct pod_spec *spec) {
        static const char *const policies[] = { "ClusterFirstWithHostNet", "ClusterFirst", "Default", "None", NULL };
        check_enum(v, "dnsPolicy", spec->dns_policy, policies);

        bool none = streq_ptr(spec->dns_policy, "None");
        const struct pod_dns_config *d = spec->dns_config;
        if (none && !d) {
                verr(v, POD_ERROR_REQUIRED, "dnsConfig", "must provide `dnsConfig` when `dnsPolicy` is None");
                return;
        }
        if (!d)
                return;
        size_t o = vpush(v, "dnsConfig");
        if (none && d->n_nameservers == 0) {
                verr(v, POD_ERROR_REQUIRED, "nameservers",
                     "must provide at least one DNS nameserver when `dnsPolicy` is None");
                vpop(v, o);
                return;
        }
        if (d->n_nameservers > 3) {
                _cleanup_free_ char *val = go_strv(d->nameservers, d->n_nameservers);
                verr_v(v, POD_ERROR_INVALID, "nameservers", val, "must not have more than 3 nameservers");
        }
        for (size_t i = 0; i < d->n_nameservers; i++)
                if (!names_is_ip(d->nameservers[i])) {
                        _cleanup_free_ char *c = nl_strdupf("nameservers[%zu]", i);
                        verr_str(v, POD_ERROR_INVALID, c, d->nameservers[i],
                                 "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)");
                }
        if (d->n_searches > 32) {
                _cleanup_free_ char *val = go_strv(d->searches, d->n_searches);
                verr_v(v, POD_ERROR_INVALID, "searches", val, "must not have more than 32 search paths");
        }
        size_t total = 0;
        for (size_t i = 0; i < d->n_searches; i++) {
                total += strlen(d->searches[i]) + (i ? 1 : 0);
                /* RelaxedDNSSearchValidation (GA): '_' allowed, a trailing '.' and "." itself too;
                 * errors show the search without its trailing dot, as upstream trims it first. */
                _cleanup_free_ char *trimmed = strdup(d->searches[i]);
                size_t n = trimmed ? strlen(trimmed) : 0;
                if (n > 1 && trimmed[n - 1] == '.')
                        trimmed[n - 1] = '\0';
                _cleanup_free_ char *s = trimmed ? strdup(trimmed) : NULL;
                if (s && !streq(s, ".")) {
                        for (char *p = s; *p; p++)
                                if (*p == '_')
                                        *p = 'a';
                        const char *msgs[NAMES_MAX_MSGS];
                        size_t k = names_dns1123_subdomain(s, msgs);
                        _cleanup_free_ char *c = nl_strdupf("searches[%zu]", i);
                        for (size_t j = 0; j < k; j++)
                                verr_str(v, POD_ERROR_INVALID, c, trimmed, "%s",
                                         streq(msgs[j], "must be no more than 253 characters")
                                                 ? msgs[j]
                                                 : "a lowercase RFC 1123 subdomain must consist of lower case "
                                                   "alphanumeric characters, '_', '-' or '.', and must start and "
                                                   "end with an alphanumeric character (e.g. 'example.com', regex "
                                                   "used for validation is "
                                                   "'_?[a-z0-9]([-_a-z0-9]*[a-z0-9])?(\\._?[a-z0-9]([-_a-z0-9]*[a-z0-9])?)*')");
                }
        }
        if (total > 2048) {
                _cleanup_free_ char *c = NULL;
                verr(v, POD_ERROR_INVALID, "searches",
                     "must not have more than 2048 characters (including spaces) in the search list");
        }
        for (size_t i = 0; i < d->n_options; i++)
                if (isempty(d->options[i].name)) {
                        _cleanup_free_ char *c = nl_strdupf("options[%zu]", i);
                        verr(v, POD_ERROR_REQUIRED, c, "must not be empty");
                }
        vpop(v, o);
}

static void validate_tolerations(V *v, const struct pod_spec *spec) {
        static const char *const ops[] = { "Equal", "Exists", NULL };
        static const char *const effects[] = { "NoSchedule", "PreferNoSchedule", "NoExecute", NULL };
        for (size_t i = 0; i < spec->n_tolerations; i++) {
                const struct pod_toleration *t = &spec->tolerations[i];
                size_t o = vpush(v, "tolerations[%zu]", i);
                const char *op = strempty(t->operator_);
                if (!isempty(t->key))
                        check_name(v, "key", t->key, names_qualified_name);
                if (isempty(t->key) && !streq(op, "Exists"))
                        verr_str(v, POD_ERROR_INVALID, "operator", op,
                                 "operator must be Exists when `key` is empty, which means \"match all values "
                                 "and all keys\"");
                if (t->toleration_seconds.set && !streq_ptr(t->effect, "NoExecute"))
                        verr_str(v, POD_ERROR_INVALID, "effect", strempty(t->effect),
                                 "effect must be 'NoExecute' when `tolerationSeconds` is set");
                if (streq(op, "") || streq(op, "Equal")) {
                        const char *msgs[NAMES_MAX_MSGS];
                        size_t k = names_label_value(strempty(t->value), msgs);
                        if (k > 0) {
                                nl_buf b = {};
                                for (size_t j = 0; j < k; j++)
                                        nl_buf_printf(&b, "%s%s", j ? ";" : "", msgs[j]);
                                _cleanup_free_ char *d = nl_buf_steal(&b);
                                verr_str(v, POD_ERROR_INVALID, "operator", strempty(t->value), "%s", strempty(d));
                        }
                } else if (streq(op, "Exists")) {
                        if (!isempty(t->value))
                                verr_str(v, POD_ERROR_INVALID, "operator", t->value,
                                         "value must be empty when `operator` is 'Exists'");
                } else
                        verr_unsupported(v, "operator", op, ops);
                if (!isempty(t->effect) && !str_in(t->effect, effects))
                        verr_unsupported(v, "effect", t->effect, effects);
                vpop(v, o);
        }
}

static void validate_spec(V *v, const struct pod_spec *spec) {
        size_t o = vpush(v, "spec");

        if (!spec->termination_grace_period_seconds.set)
                verr(v, POD_ERROR_REQUIRED, "terminationGracePeriodSeconds", NULL);

        /* Volumes first: a volume with any error cannot be mounted ("Not found"). */
        _cleanup_free_ const char **volumes = calloc(spec->n_volumes + 1, sizeof(char *));
        size_t n_volumes = 0;
        for (size_t i = 0; i < spec->n_volumes; i++) {
                const struct pod_volume *vol = &spec->volumes[i];
                size_t o2 = vpush(v, "volumes[%zu]", i);
                bool ok = validate_volume(v, vol, spec);
                if (!isempty(vol->name)) {
                        bool dup = false;
                        for (size_t k = 0; k < i; k++)
                                dup = dup || streq_ptr(spec->volumes[k].name, vol->name);
                        if (dup) {
                                verr_str(v, POD_ERROR_DUPLICATE, "name", vol->name, NULL);
                                ok = false;
                        }
                }
                if (ok && volumes)
                        volumes[n_volumes++] = vol->name;
                vpop(v, o2);
        }

        validate_containers(v, spec, volumes, n_volumes);
        validate_resources(v, spec->resources);

        if (opt_true(spec->host_network))
                for (size_t i = 0; i < spec->n_containers; i++)
                        for (size_t k = 0; k < spec->containers[i].n_ports; k++) {
                                const struct pod_container_port *p = &spec->containers[i].ports[k];
                                if (p->host_port.set && p->container_port.set && p->host_port.v != p->container_port.v) {
                                        _cleanup_free_ char *c = nl_strdupf("containers[%zu].ports[%zu].hostPort", i, k);
                                        verr_int(v, POD_ERROR_INVALID, c, p->host_port.v,
                                                 "must match `containerPort` when `hostNetwork` is true");
                                }
                        }

        static const char *const restart[] = { "Always", "OnFailure", "Never", NULL };
        check_enum(v, "restartPolicy", spec->restart_policy, restart);
        validate_dns(v, spec);
        validate_labels(v, "nodeSelector", spec->node_selector, spec->n_node_selector);
        validate_pod_security_context(v, spec);

        for (size_t i = 0; i < spec->n_readiness_gates; i++) {
                _cleanup_free_ char *c = nl_strdupf("readinessGates[%zu].conditionType", i);
                check_name(v, c, strempty(spec->readiness_gates[i].condition_type), names_qualified_name);
        }
        if (opt_false(spec->host_users)) {
                if (opt_true(spec->host_network))
                        verr(v, POD_ERROR_FORBIDDEN, "hostNetwork", "when `pod.Spec.HostUsers` is false");
                if (opt_true(spec->host_pid))
                        verr(v, POD_ERROR_FORBIDDEN, "HostPID", "when `pod.Spec.HostUsers` is false");
                if (opt_true(spec->host_ipc))
                        verr(v, POD_ERROR_FORBIDDEN, "HostIPC", "when `pod.Spec.HostUsers` is false");
        }
        if (!isempty(spec->service_account_name))
                check_name(v, "serviceAccountName", spec->service_account_name, names_dns1123_subdomain);
        if (!isempty(spec->node_name))
                check_name(v, "nodeName", spec->node_name, names_dns1123_subdomain);
        if (spec->active_deadline_seconds.set &&
            (spec->active_deadline_seconds.v < 1 || spec->active_deadline_seconds.v > INT32_MAX))
                verr_int(v, POD_ERROR_INVALID, "activeDeadlineSeconds", spec->active_deadline_seconds.v,
                         "must be between 1 and 2147483647, inclusive");
        if (!isempty(spec->hostname))
                check_name(v, "hostname", spec->hostname, names_dns1123_label);
        if (!isempty(spec->subdomain))
                check_name(v, "subdomain", spec->subdomain, names_dns1123_label);
        validate_tolerations(v, spec);
        for (size_t i = 0; i < spec->n_host_aliases; i++) {
                const struct pod_host_alias *h = &spec->host_aliases[i];
                size_t o2 = vpush(v, "hostAliases[%zu]", i);
                if (!names_is_ip(strempty(h->ip)))
                        verr_str(v, POD_ERROR_INVALID, "ip", strempty(h->ip),
                                 "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)");
                for (size_t k = 0; k < h->n_hostnames; k++) {
                        _cleanup_free_ char *c = nl_strdupf("hostnames[%zu]", k);
                        check_name(v, c, h->hostnames[k], names_dns1123_subdomain);
                }
                vpop(v, o2);
        }
        if (!isempty(spec->priority_class_name))
                check_name(v, "priorityClassName", spec->priority_class_name, names_dns1123_subdomain);
        if (!isempty(spec->runtime_class_name))
                check_name(v, "runtimeClassName", spec->runtime_class_name, names_dns1123_subdomain);
        if (spec->preemption_policy) {
                static const char *const p[] = { "PreemptLowerPriority", "Never", NULL };
                if (!str_in(spec->preemption_policy, p))
                        verr_unsupported(v, "preemptionPolicy", spec->preemption_policy, p);
        }
        if (spec->n_overhead > 0) {
                size_t o2 = vpush(v, "overhead");
                for (size_t i = 0; i < spec->n_overhead; i++) {
                        _cleanup_free_ char *c = nl_strdupf("[%s]", spec->overhead[i].name);
                        validate_resource_name(v, c, spec->overhead[i].name);
                }
                vpop(v, o2);
        }
        if (spec->os) {
                static const char *const oses[] = { "linux", "windows", NULL };
                if (isempty(spec->os->name))
                        verr(v, POD_ERROR_REQUIRED, "os.name", "cannot be empty");
                else if (!str_in(spec->os->name, oses))
                        verr_unsupported(v, "os", spec->os->name, oses);
        }
        if (spec->ephemeral_containers && json_array_size(spec->ephemeral_containers) > 0)
                verr(v, POD_ERROR_FORBIDDEN, "ephemeralContainers", "cannot be set on create");
        vpop(v, o);
}

static bool is_seccomp_annotation_value(const char *s) {
        if (streq(s, "runtime/default") || streq(s, "docker/default") || streq(s, "unconfined"))
                return true;
        if (strncmp(s, "localhost/", 10) != 0)
                return false;
        const char *path = s + 10;
        return *path && path[0] != '/' && !has_backstep(path);
}

static bool has_container(const struct pod_spec *spec, const char *name) {
        for (size_t i = 0; i < spec->n_containers; i++)
                if (streq_ptr(spec->containers[i].name, name))
                        return true;
        for (size_t i = 0; i < spec->n_init_containers; i++)
                if (streq_ptr(spec->init_containers[i].name, name))
                        return true;
        return false;
}

/* Annotations with meaning for pods (ValidatePodSpecificAnnotations and the legacy seccomp
 * and AppArmor annotations). */
static void validate_pod_annotations(V *v, const struct pod *p) {
        static const char seccomp_pod[] = "seccomp.security.alpha.kubernetes.io/pod";
        static const char seccomp_ctr[] = "container.seccomp.security.alpha.kubernetes.io/";
        static const char apparmor_ctr[] = "container.apparmor.security.beta.kubernetes.io/";
        size_t o = vpush(v, "metadata");
        for (size_t i = 0; i < p->metadata.n_annotations; i++) {
                const char *k = p->metadata.annotations[i].key, *val = strempty(p->metadata.annotations[i].value);
                _cleanup_free_ char *keyed = nl_strdupf("annotations[%s]", k);
                if (streq(k, "kubernetes.io/config.mirror") && isempty(p->spec.node_name))
                        verr_str(v, POD_ERROR_INVALID, keyed, val,
                                 "must set spec.nodeName if mirror pod annotation is set");
                if (streq(k, "controller.kubernetes.io/pod-deletion-cost")) {
                        int64_t cost;
                        if (nl_parse_int64(val, INT32_MIN, INT32_MAX, &cost) < 0)
                                verr_str(v, POD_ERROR_INVALID, keyed, val, "must be a 32bit integer");
                }
                if ((streq(k, seccomp_pod) || strncmp(k, seccomp_ctr, sizeof(seccomp_ctr) - 1) == 0) &&
                    !is_seccomp_annotation_value(val)) {
                        /* upstream names these with a dot, not [key] */
                        _cleanup_free_ char *dotted = nl_strdupf("annotations.%s", k);
                        verr_str(v, POD_ERROR_INVALID, dotted, val, "must be a valid seccomp profile");
                }
                if (strncmp(k, apparmor_ctr, sizeof(apparmor_ctr) - 1) == 0) {
                        const char *ctr = k + sizeof(apparmor_ctr) - 1;
                        if (!has_container(&p->spec, ctr))
                                verr_str(v, POD_ERROR_INVALID, keyed, ctr, "container not found");
                        else if (*val && !streq(val, "runtime/default") && !streq(val, "unconfined") &&
                                 strncmp(val, "localhost/", 10) != 0) {
                                _cleanup_free_ char *q = pod_error_quote(val);
                                verr_str(v, POD_ERROR_INVALID, keyed, val, "invalid AppArmor profile name: %s",
                                         strempty(q));
                        }
                }
        }
        vpop(v, o);
}

void pod_validate(const struct pod *p, pod_error_list *errors) {
        V v = { .errs = errors, .pod = p };
        validate_metadata(&v, &p->metadata);
        validate_pod_annotations(&v, p);
        validate_spec(&v, &p->spec);
        nl_buf_free(&v.path);
}
