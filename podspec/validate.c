/* SPDX-License-Identifier: Apache-2.0 */
/* Pod validation as kube-apiserver does it on create (pkg/apis/core/validation:
 * ValidatePodCreate), with the same field paths and messages, every error collected. Feature
 * gates are taken at their v1.34 defaults (relaxed env var names, sleep 0 allowed, ...).
 * Where upstream prints a Go struct dump (%#v with pointers) we print the struct as JSON. */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>

#include "validate-internal.h"

size_t vpush(V *v, const char *fmt, ...) {
        size_t old = v->path.len;
        char *s = NL_FORMAT_VA(fmt);
        if (s) {
                if (v->path.len > 0 && s[0] != '[')
                        nl_buf_puts(&v->path, ".");
                nl_buf_puts(&v->path, s);
                free(s);
        }
        return old;
}

void vpop(V *v, size_t old) {
        if (v->path.data && old <= v->path.len) {
                v->path.len = old;
                v->path.data[old] = '\0';
        }
}

/* The field of an error: the current path plus an optional child ("name", "[3]"). */
char *vfield(V *v, const char *child) {
        const char *base = v->path.data ? v->path.data : "";
        if (isempty(child))
                return strdup(base);
        return nl_strdupf("%s%s%s", base, (*base && child[0] != '[') ? "." : "", child);
}

void verr_v(V *v, pod_error_type t, const char *child, const char *value, const char *detail) {
        _cleanup_free_ char *f = vfield(v, child);
        if (detail)
                pod_error_add(v->errs, t, f, value, "%s", detail);
        else
                pod_error_add(v->errs, t, f, value, NULL);
}

void verr(V *v, pod_error_type t, const char *child, const char *detail_fmt, ...) {
        _cleanup_free_ char *d = NULL;
        d = NL_FORMAT_VA(detail_fmt);
        verr_v(v, t, child, NULL, d);
}

void verr_str(V *v, pod_error_type t, const char *child, const char *value, const char *detail_fmt, ...) {
        _cleanup_free_ char *d = NULL, *q = pod_error_quote(value);
        d = NL_FORMAT_VA(detail_fmt);
        verr_v(v, t, child, q, d);
}

void verr_int(V *v, pod_error_type t, const char *child, int64_t value, const char *detail_fmt, ...) {
        _cleanup_free_ char *d = NULL, *q = nl_strdupf("%" PRId64, value);
        d = NL_FORMAT_VA(detail_fmt);
        verr_v(v, t, child, q, d);
}

/* "Unsupported value": supported values listed quoted, in the order given. */
void verr_unsupported(V *v, const char *child, const char *value, const char *const *supported) {
        nl_buf b = {};
        nl_buf_puts(&b, "supported values: ");
        for (size_t i = 0; supported[i]; i++) {
                _cleanup_free_ char *q = pod_error_quote(supported[i]);
                nl_buf_printf(&b, "%s%s", i ? ", " : "", strempty(q));
        }
        _cleanup_free_ char *d = nl_buf_steal(&b), *q = pod_error_quote(value);
        verr_v(v, POD_ERROR_NOT_SUPPORTED, child, q, d);
}

bool str_in(const char *s, const char *const *set) {
        for (size_t i = 0; set[i]; i++)
                if (streq(s, set[i]))
                        return true;
        return false;
}

/* Checks value against set; "" and NULL are Required. Returns true when valid. */
bool check_enum(V *v, const char *child, const char *value, const char *const *set) {
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


/* One "Invalid value" per message, as upstream appends one error per message. */
size_t check_name(V *v, const char *child, const char *value, name_check_fn fn) {
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

bool opt_true(nl_opt_bool b) {
        return b.set && b.v;
}

bool opt_false(nl_opt_bool b) {
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

void check_nonneg(V *v, const char *child, nl_opt_int n) {
        if (n.set && n.v < 0)
                verr_int(v, POD_ERROR_INVALID, child, n.v, "must be greater than or equal to 0");
}

void check_port_number(V *v, const char *child, int64_t port) {
        if (port < 1 || port > 65535)
                verr_int(v, POD_ERROR_INVALID, child, port, "must be between 1 and 65535, inclusive");
}

void check_port_num_or_name(V *v, const char *child, const pod_int_or_string *p) {
        if (!p->set) {
                verr(v, POD_ERROR_REQUIRED, child, NULL);
                return;
        }
        if (!p->is_string)
                check_port_number(v, child, p->num);
        else
                check_name(v, child, p->str, names_port_name);
}

void check_file_mode(V *v, const char *child, nl_opt_int mode) {
        if (mode.set && (mode.v < 0 || mode.v > 0777))
                verr_int(v, POD_ERROR_INVALID, child, mode.v,
                         "must be a number between 0 and 0777 (octal), both inclusive");
}

bool has_backstep(const char *p) {
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
void check_local_descending_path(V *v, const char *child, const char *p) {
        if (p[0] == '/')
                verr_str(v, POD_ERROR_INVALID, child, p, "must be a relative path");
        if (has_backstep(p))
                verr_str(v, POD_ERROR_INVALID, child, p, "must not contain '..'");
}

/* ValidateLocalNonReservedPath: also no leading ".." (reserved for the ..data swap). */
void check_local_non_reserved_path(V *v, const char *child, const char *p) {
        check_local_descending_path(v, child, p);
        if (strncmp(p, "..", 2) == 0 && strncmp(p, "../", 3) != 0)
                verr_str(v, POD_ERROR_INVALID, child, p, "must not start with '..'");
}

void check_user_id(V *v, const char *child, nl_opt_int id) {
        if (id.set && (id.v < 0 || id.v > 4294967295LL))
                verr_int(v, POD_ERROR_INVALID, child, id.v, "must be between 0 and 4294967295, inclusive");
}

/* Field labels the v1 Pod conversion knows (ConvertFieldLabel). */
static const char *const CONVERTIBLE_FIELD_PATHS[] = {
        "metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace", "metadata.uid",
        "spec.nodeName", "spec.restartPolicy", "spec.serviceAccountName", "spec.schedulerName", "status.phase",
        "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs", "spec.host", NULL
};

void validate_field_selector(V *v, const struct pod_object_field_selector *s,
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

void validate_resource_field_selector(V *v, const struct pod_resource_field_selector *s, bool volume) {
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

void validate_key_selector(V *v, const char *child, const struct pod_key_selector *s) {
        size_t o = vpush(v, "%s", child);
        check_name(v, "name", strempty(s->name), names_dns1123_subdomain);
        if (isempty(s->key))
                verr(v, POD_ERROR_REQUIRED, "key", NULL);
        else
                check_name(v, "key", s->key, names_config_map_key);
        vpop(v, o);
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
        if (spec->hostname_override) {
                /* validateHostnameOverride (GA in 1.37) */
                if (opt_true(spec->set_hostname_as_fqdn))
                        verr(v, POD_ERROR_FORBIDDEN, "hostnameOverride", "may not be specified when setHostnameAsFQDN is true");
                if (opt_true(spec->host_network))
                        verr(v, POD_ERROR_FORBIDDEN, "hostnameOverride", "may not be specified when hostNetwork is true");
                if (strlen(spec->hostname_override) > 64)
                        verr(v, POD_ERROR_TOO_LONG, "hostnameOverride", "may not be more than 64 bytes");
                check_name(v, "hostnameOverride", spec->hostname_override, names_dns1123_subdomain);
        }
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
        if (spec->n_ephemeral_containers > 0)
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
