/* SPDX-License-Identifier: Apache-2.0 */
/* The table-driven engine behind pod_from_json / pod_to_json / pod_free. Decoding is
 * non-strict like the API server's: unknown fields are ignored (and listed for --strict),
 * null means "not set", and a value of the wrong JSON type is an error naming the field. */
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>

#include "internal.h"

#define MEMBER(obj, off, type) ((type *) ((char *) (obj) + (off)))
#define CMEMBER(obj, off, type) ((type const *) ((const char *) (obj) + (off)))

/* ---- paths ------------------------------------------------------------------------------ */

static size_t path_push_key(nl_buf *p, const char *key) {
        size_t old = p->len;
        if (p->len > 0)
                nl_buf_puts(p, ".");
        nl_buf_puts(p, key);
        return old;
}

static size_t path_push_index(nl_buf *p, size_t i) {
        size_t old = p->len;
        nl_buf_printf(p, "[%zu]", i);
        return old;
}

static size_t path_push_map_key(nl_buf *p, const char *key) {
        size_t old = p->len;
        nl_buf_printf(p, "[%s]", key);
        return old;
}

static void path_pop(nl_buf *p, size_t old) {
        if (p->data && old <= p->len) {
                p->len = old;
                p->data[old] = '\0';
        }
}

static const char *path_str(const nl_buf *p) {
        return p->data ? p->data : "";
}

static const char *json_type_name(const json_t *j) {
        switch (json_typeof(j)) {
        case JSON_OBJECT: return "object";
        case JSON_ARRAY: return "array";
        case JSON_STRING: return "string";
        case JSON_INTEGER:
        case JSON_REAL: return "number";
        case JSON_TRUE:
        case JSON_FALSE: return "bool";
        default: return "null";
        }
}

static void type_error(pod_error_list *errors, const nl_buf *path, const json_t *j, const char *want) {
        pod_error_add(errors, POD_ERROR_TYPE, path_str(path), NULL, "expected %s, got %s", want, json_type_name(j));
}

/* ---- scalars ----------------------------------------------------------------------------- */

static char *decode_string(const json_t *j, const nl_buf *path, pod_error_list *errors) {
        if (!json_is_string(j)) {
                type_error(errors, path, j, "string");
                return NULL;
        }
        return strndup(json_string_value(j), json_string_length(j));
}

static bool decode_int(const json_t *j, bool int32, const nl_buf *path, pod_error_list *errors, int64_t *ret) {
        int64_t v;
        if (json_is_integer(j))
                v = json_integer_value(j);
        else if (json_is_real(j) && json_real_value(j) == floor(json_real_value(j)) &&
                 fabs(json_real_value(j)) < 9.2e18)
                /* JSON has one number type: 5.0 is the integer 5 to Go's decoder too. */
                v = (int64_t) json_real_value(j);
        else {
                type_error(errors, path, j, int32 ? "int32" : "int64");
                return false;
        }
        if (int32 && (v < INT32_MIN || v > INT32_MAX)) {
                _cleanup_free_ char *val = nl_strdupf("%" PRId64, v);
                pod_error_add(errors, POD_ERROR_INVALID, path_str(path), val, "value out of range for int32");
                return false;
        }
        *ret = v;
        return true;
}

/* Text of a JSON number as a quantity string: integers exactly, reals in their shortest form. */
static char *number_text(const json_t *j) {
        if (json_is_integer(j))
                return nl_strdupf("%" PRId64, (int64_t) json_integer_value(j));
        double d = json_real_value(j);
        for (int prec = 15; prec <= 17; prec++) {
                char *s = nl_strdupf("%.*g", prec, d);
                if (!s || strtod(s, NULL) == d)
                        return s;
                free(s);
        }
        return nl_strdupf("%.17g", d);
}

static void decode_quantity(const json_t *j, const nl_buf *path, pod_error_list *errors, pod_quantity *q) {
        _cleanup_free_ char *text = NULL;
        if (json_is_string(j)) {
                /* Quantity's UnmarshalJSON trims surrounding white space. */
                const char *v = json_string_value(j);
                while (isspace((unsigned char) *v))
                        v++;
                size_t n = strlen(v);
                while (n > 0 && isspace((unsigned char) v[n - 1]))
                        n--;
                text = strndup(v, n);
        } else if (json_is_number(j))
                text = number_text(j);
        else {
                type_error(errors, path, j, "quantity (string or number)");
                return;
        }
        if (!text)
                return;
        pod_quantity v = {};
        int r = pod_quantity_parse(text, &v);
        if (r < 0) {
                _cleanup_free_ char *val = pod_error_quote(text);
                pod_error_add(errors, POD_ERROR_INVALID, path_str(path), val,
                              r == -ERANGE ? "quantity out of range"
                                           : "quantities must match the regular expression "
                                             "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
                return;
        }
        v.set = true;
        *q = v;
}

static void decode_int_or_string(const json_t *j, const nl_buf *path, pod_error_list *errors,
                                 pod_int_or_string *v) {
        if (json_is_string(j)) {
                v->str = strdup(json_string_value(j));
                v->is_string = true;
                v->set = v->str != NULL;
        } else if (json_is_number(j)) {
                int64_t n;
                if (!decode_int(j, true, path, errors, &n))
                        return;
                v->num = n;
                v->set = true;
        } else
                type_error(errors, path, j, "integer or string");
}

/* ---- collections ------------------------------------------------------------------------ */

static bool check_array(const json_t *j, const nl_buf *path, pod_error_list *errors) {
        if (!json_is_array(j)) {
                type_error(errors, path, j, "array");
                return false;
        }
        if (json_array_size(j) > PODSPEC_MAX_ARRAY) {
                _cleanup_free_ char *n = nl_strdupf("%zu", json_array_size(j));
                pod_error_add(errors, POD_ERROR_TOO_MANY, path_str(path), n, "must have at most %d items",
                              PODSPEC_MAX_ARRAY);
                return false;
        }
        return true;
}

static bool check_object(const json_t *j, const nl_buf *path, pod_error_list *errors) {
        if (!json_is_object(j)) {
                type_error(errors, path, j, "object");
                return false;
        }
        if (json_object_size(j) > PODSPEC_MAX_ARRAY) {
                _cleanup_free_ char *n = nl_strdupf("%zu", json_object_size(j));
                pod_error_add(errors, POD_ERROR_TOO_MANY, path_str(path), n, "must have at most %d items",
                              PODSPEC_MAX_ARRAY);
                return false;
        }
        return true;
}

static void decode_string_list(const json_t *j, nl_buf *path, pod_error_list *errors, char ***items, size_t *n) {
        if (!check_array(j, path, errors))
                return;
        size_t len = json_array_size(j);
        if (len == 0)
                return;
        char **a = calloc(len, sizeof(char *));
        if (!a)
                return;
        size_t k = 0;
        for (size_t i = 0; i < len; i++) {
                size_t old = path_push_index(path, i);
                char *s = decode_string(json_array_get(j, i), path, errors);
                path_pop(path, old);
                if (s)
                        a[k++] = s;
        }
        *items = a;
        *n = k;
}

static void decode_int64_list(const json_t *j, nl_buf *path, pod_error_list *errors, int64_t **items, size_t *n) {
        if (!check_array(j, path, errors))
                return;
        size_t len = json_array_size(j);
        if (len == 0)
                return;
        int64_t *a = calloc(len, sizeof(int64_t));
        if (!a)
                return;
        size_t k = 0;
        for (size_t i = 0; i < len; i++) {
                size_t old = path_push_index(path, i);
                if (decode_int(json_array_get(j, i), false, path, errors, &a[k]))
                        k++;
                path_pop(path, old);
        }
        *items = a;
        *n = k;
}

static void decode_string_map(const json_t *j, nl_buf *path, pod_error_list *errors, struct pod_kv **items,
                              size_t *n) {
        if (!check_object(j, path, errors))
                return;
        size_t len = json_object_size(j);
        if (len == 0)
                return;
        struct pod_kv *a = calloc(len, sizeof(*a));
        if (!a)
                return;
        size_t k = 0;
        const char *key;
        json_t *v;
        json_object_foreach((json_t *) j, key, v) {
                if (json_is_null(v))
                        continue;
                size_t old = path_push_map_key(path, key);
                char *s = decode_string(v, path, errors);
                path_pop(path, old);
                if (!s)
                        continue;
                a[k].key = strdup(key);
                a[k].value = s;
                if (!a[k].key) {
                        free(s);
                        continue;
                }
                k++;
        }
        *items = a;
        *n = k;
}

static void decode_resource_map(const json_t *j, nl_buf *path, pod_error_list *errors,
                                struct pod_resource **items, size_t *n) {
        if (!check_object(j, path, errors))
                return;
        size_t len = json_object_size(j);
        if (len == 0)
                return;
        struct pod_resource *a = calloc(len, sizeof(*a));
        if (!a)
                return;
        size_t k = 0;
        const char *key;
        json_t *v;
        json_object_foreach((json_t *) j, key, v) {
                if (json_is_null(v))
                        continue;
                size_t old = path_push_map_key(path, key);
                pod_quantity q = {};
                decode_quantity(v, path, errors, &q);
                path_pop(path, old);
                if (!q.set)
                        continue;
                a[k].name = strdup(key);
                if (!a[k].name)
                        continue;
                a[k].q = q;
                k++;
        }
        *items = a;
        *n = k;
}

static void decode_object_list(const struct type_desc *t, const json_t *j, nl_buf *path, pod_error_list *errors,
                               pod_error_list *unknown, void **items, size_t *n) {
        if (!check_array(j, path, errors))
                return;
        size_t len = json_array_size(j);
        if (len == 0)
                return;
        char *a = calloc(len, t->size);
        if (!a)
                return;
        /* Keep indices aligned with the input so field paths match what the user wrote: a
         * null or mistyped element decodes as an empty object. */
        for (size_t i = 0; i < len; i++) {
                size_t old = path_push_index(path, i);
                json_t *e = json_array_get(j, i);
                if (json_is_object(e))
                        schema_decode(t, a + i * t->size, e, path, errors, unknown);
                else if (!json_is_null(e))
                        type_error(errors, path, e, "object");
                path_pop(path, old);
        }
        *items = a;
        *n = len;
}

/* ---- decode ------------------------------------------------------------------------------ */

static const struct field_desc *find_field(const struct type_desc *t, const char *key) {
        for (size_t i = 0; i < t->n_fields; i++)
                if (streq(t->fields[i].json, key))
                        return &t->fields[i];
        return NULL;
}

static void decode_field(const struct field_desc *f, void *obj, const json_t *v, nl_buf *path,
                         pod_error_list *errors, pod_error_list *unknown) {
        switch (f->kind) {
        case FK_STRING: {
                char *s = decode_string(v, path, errors);
                if (s) {
                        free(*MEMBER(obj, f->offset, char *));
                        *MEMBER(obj, f->offset, char *) = s;
                }
                break;
        }
        case FK_INT:
        case FK_INT32: {
                int64_t n;
                if (decode_int(v, f->kind == FK_INT32, path, errors, &n))
                        *MEMBER(obj, f->offset, nl_opt_int) = (nl_opt_int){ true, n };
                break;
        }
        case FK_BOOL:
                if (json_is_boolean(v))
                        *MEMBER(obj, f->offset, nl_opt_bool) = (nl_opt_bool){ true, json_is_true(v) };
                else
                        type_error(errors, path, v, "bool");
                break;
        case FK_QUANTITY:
                decode_quantity(v, path, errors, MEMBER(obj, f->offset, pod_quantity));
                break;
        case FK_INT_OR_STRING:
                decode_int_or_string(v, path, errors, MEMBER(obj, f->offset, pod_int_or_string));
                break;
        case FK_RAW:
                json_decref(*MEMBER(obj, f->offset, json_t *));
                *MEMBER(obj, f->offset, json_t *) = json_deep_copy(v);
                break;
        case FK_STRING_LIST:
                decode_string_list(v, path, errors, MEMBER(obj, f->offset, char **),
                                   MEMBER(obj, f->count_offset, size_t));
                break;
        case FK_INT64_LIST:
                decode_int64_list(v, path, errors, MEMBER(obj, f->offset, int64_t *),
                                  MEMBER(obj, f->count_offset, size_t));
                break;
        case FK_STRING_MAP:
                decode_string_map(v, path, errors, MEMBER(obj, f->offset, struct pod_kv *),
                                  MEMBER(obj, f->count_offset, size_t));
                break;
        case FK_RESOURCE_MAP:
                decode_resource_map(v, path, errors, MEMBER(obj, f->offset, struct pod_resource *),
                                    MEMBER(obj, f->count_offset, size_t));
                break;
        case FK_OBJECT: {
                if (!check_object(v, path, errors))
                        break;
                void *child = calloc(1, f->type->size);
                if (!child)
                        break;
                schema_decode(f->type, child, v, path, errors, unknown);
                *MEMBER(obj, f->offset, void *) = child;
                break;
        }
        case FK_EMBED:
                if (check_object(v, path, errors))
                        schema_decode(f->type, MEMBER(obj, f->offset, char), v, path, errors, unknown);
                break;
        case FK_OBJECT_LIST:
                decode_object_list(f->type, v, path, errors, unknown, MEMBER(obj, f->offset, void *),
                                   MEMBER(obj, f->count_offset, size_t));
                break;
        default:
                break;
        }
}

void schema_decode(const struct type_desc *t, void *obj, const json_t *j, nl_buf *path, pod_error_list *errors,
                   pod_error_list *unknown) {
        const char *key;
        json_t *v;

        json_object_foreach((json_t *) j, key, v) {
                const struct field_desc *f = find_field(t, key);
                size_t old = path_push_key(path, key);
                if (f) {
                        /* null is "not set", as for Go's decoder. Each key appears once in a
                         * JSON tree, so every field starts out empty here. */
                        if (!json_is_null(v))
                                decode_field(f, obj, v, path, errors, unknown);
                } else if (!(t->take_unknown && t->take_unknown(obj, key, v)))
                        pod_error_add(unknown, POD_ERROR_UNKNOWN_FIELD, path_str(path), NULL, NULL);
                path_pop(path, old);
        }
}

/* ---- encode ------------------------------------------------------------------------------ */

static int cmp_kv(const void *a, const void *b) {
        return strcmp(((const struct pod_kv *) a)->key, ((const struct pod_kv *) b)->key);
}

static int cmp_resource(const void *a, const void *b) {
        return strcmp(((const struct pod_resource *) a)->name, ((const struct pod_resource *) b)->name);
}

static json_t *encode_quantity(const pod_quantity *q) {
        _cleanup_free_ char *s = pod_quantity_format(q);
        return s ? json_string(s) : NULL;
}

/* Go encodes maps with sorted keys; do the same so output is stable. */
static json_t *encode_string_map(const struct pod_kv *items, size_t n) {
        json_t *o = json_object();
        _cleanup_free_ struct pod_kv *sorted = n ? malloc(n * sizeof(*sorted)) : NULL;
        if (!o || (n && !sorted)) {
                json_decref(o);
                return NULL;
        }
        memcpy(sorted, items, n * sizeof(*sorted));
        qsort(sorted, n, sizeof(*sorted), cmp_kv);
        for (size_t i = 0; i < n; i++)
                json_object_set_new(o, sorted[i].key, json_string(strempty(sorted[i].value)));
        return o;
}

static json_t *encode_resource_map(const struct pod_resource *items, size_t n) {
        json_t *o = json_object();
        _cleanup_free_ struct pod_resource *sorted = n ? malloc(n * sizeof(*sorted)) : NULL;
        if (!o || (n && !sorted)) {
                json_decref(o);
                return NULL;
        }
        memcpy(sorted, items, n * sizeof(*sorted));
        qsort(sorted, n, sizeof(*sorted), cmp_resource);
        for (size_t i = 0; i < n; i++)
                json_object_set_new(o, sorted[i].name, encode_quantity(&sorted[i].q));
        return o;
}

static json_t *encode_field(const struct field_desc *f, const void *obj) {
        switch (f->kind) {
        case FK_STRING: {
                const char *s = *CMEMBER(obj, f->offset, char *);
                return s ? json_string(s) : NULL;
        }
        case FK_INT:
        case FK_INT32: {
                const nl_opt_int *v = CMEMBER(obj, f->offset, nl_opt_int);
                return v->set ? json_integer(v->v) : NULL;
        }
        case FK_BOOL: {
                const nl_opt_bool *v = CMEMBER(obj, f->offset, nl_opt_bool);
                return v->set ? json_boolean(v->v) : NULL;
        }
        case FK_QUANTITY: {
                const pod_quantity *q = CMEMBER(obj, f->offset, pod_quantity);
                return q->set ? encode_quantity(q) : NULL;
        }
        case FK_INT_OR_STRING: {
                const pod_int_or_string *v = CMEMBER(obj, f->offset, pod_int_or_string);
                if (!v->set)
                        return NULL;
                return v->is_string ? json_string(strempty(v->str)) : json_integer(v->num);
        }
        case FK_RAW: {
                json_t *v = *CMEMBER(obj, f->offset, json_t *);
                return v ? json_deep_copy(v) : NULL;
        }
        case FK_STRING_LIST: {
                char *const *a = *CMEMBER(obj, f->offset, char **);
                size_t n = *CMEMBER(obj, f->count_offset, size_t);
                if (n == 0)
                        return NULL;
                json_t *arr = json_array();
                for (size_t i = 0; arr && i < n; i++)
                        json_array_append_new(arr, json_string(strempty(a[i])));
                return arr;
        }
        case FK_INT64_LIST: {
                const int64_t *a = *CMEMBER(obj, f->offset, int64_t *);
                size_t n = *CMEMBER(obj, f->count_offset, size_t);
                if (n == 0)
                        return NULL;
                json_t *arr = json_array();
                for (size_t i = 0; arr && i < n; i++)
                        json_array_append_new(arr, json_integer(a[i]));
                return arr;
        }
        case FK_STRING_MAP: {
                size_t n = *CMEMBER(obj, f->count_offset, size_t);
                return n ? encode_string_map(*CMEMBER(obj, f->offset, struct pod_kv *), n) : NULL;
        }
        case FK_RESOURCE_MAP: {
                size_t n = *CMEMBER(obj, f->count_offset, size_t);
                return n ? encode_resource_map(*CMEMBER(obj, f->offset, struct pod_resource *), n) : NULL;
        }
        case FK_OBJECT: {
                const void *child = *CMEMBER(obj, f->offset, void *);
                return child ? schema_encode(f->type, child) : NULL;
        }
        case FK_EMBED:
                return schema_encode(f->type, CMEMBER(obj, f->offset, char));
        case FK_OBJECT_LIST: {
                const char *a = *CMEMBER(obj, f->offset, char *);
                size_t n = *CMEMBER(obj, f->count_offset, size_t);
                if (n == 0)
                        return NULL;
                json_t *arr = json_array();
                for (size_t i = 0; arr && i < n; i++)
                        json_array_append_new(arr, schema_encode(f->type, a + i * f->type->size));
                return arr;
        }
        default:
                return NULL;
        }
}

json_t *schema_encode(const struct type_desc *t, const void *obj) {
        json_t *o = json_object();
        if (!o)
                return NULL;
        for (size_t i = 0; i < t->n_fields; i++) {
                json_t *v = encode_field(&t->fields[i], obj);
                if (v)
                        json_object_set_new(o, t->fields[i].json, v);
        }
        if (t->encode_extra)
                t->encode_extra(obj, o);
        return o;
}

/* ---- free -------------------------------------------------------------------------------- */

static void free_field(const struct field_desc *f, void *obj) {
        switch (f->kind) {
        case FK_STRING:
                free(*MEMBER(obj, f->offset, char *));
                break;
        case FK_INT_OR_STRING:
                free(MEMBER(obj, f->offset, pod_int_or_string)->str);
                break;
        case FK_RAW:
                json_decref(*MEMBER(obj, f->offset, json_t *));
                break;
        case FK_STRING_LIST: {
                char **a = *MEMBER(obj, f->offset, char **);
                size_t n = *MEMBER(obj, f->count_offset, size_t);
                for (size_t i = 0; a && i < n; i++)
                        free(a[i]);
                free(a);
                break;
        }
        case FK_INT64_LIST:
                free(*MEMBER(obj, f->offset, int64_t *));
                break;
        case FK_STRING_MAP: {
                struct pod_kv *a = *MEMBER(obj, f->offset, struct pod_kv *);
                size_t n = *MEMBER(obj, f->count_offset, size_t);
                for (size_t i = 0; a && i < n; i++) {
                        free(a[i].key);
                        free(a[i].value);
                }
                free(a);
                break;
        }
        case FK_RESOURCE_MAP: {
                struct pod_resource *a = *MEMBER(obj, f->offset, struct pod_resource *);
                size_t n = *MEMBER(obj, f->count_offset, size_t);
                for (size_t i = 0; a && i < n; i++)
                        free(a[i].name);
                free(a);
                break;
        }
        case FK_OBJECT: {
                void *child = *MEMBER(obj, f->offset, void *);
                if (child) {
                        schema_free(f->type, child);
                        free(child);
                }
                break;
        }
        case FK_EMBED:
                schema_free(f->type, MEMBER(obj, f->offset, char));
                break;
        case FK_OBJECT_LIST: {
                char *a = *MEMBER(obj, f->offset, char *);
                size_t n = *MEMBER(obj, f->count_offset, size_t);
                for (size_t i = 0; a && i < n; i++)
                        schema_free(f->type, a + i * f->type->size);
                free(a);
                break;
        }
        default:
                break;
        }
}

void schema_free(const struct type_desc *t, void *obj) {
        if (!obj)
                return;
        for (size_t i = 0; i < t->n_fields; i++)
                free_field(&t->fields[i], obj);
        if (t->free_extra)
                t->free_extra(obj);
}

/* ---- public entry points ------------------------------------------------------------------ */

struct pod *pod_from_json(const json_t *j, pod_error_list *errors, pod_error_list *unknown) {
        if (!json_is_object(j)) {
                pod_error_add(errors, POD_ERROR_TYPE, "", NULL, "expected a Pod object, got %s", json_type_name(j));
                return NULL;
        }
        struct pod *p = calloc(1, sizeof(*p));
        if (!p)
                return NULL;
        nl_buf path = {};
        schema_decode(&pod_type_desc, p, j, &path, errors, unknown);
        nl_buf_free(&path);
        return p;
}

json_t *pod_to_json(const struct pod *p) {
        return p ? schema_encode(&pod_type_desc, p) : NULL;
}

void pod_free(struct pod *p) {
        if (!p)
                return;
        schema_free(&pod_type_desc, p);
        free(p);
}

struct pod *pod_copy(const struct pod *p) {
        json_t *j = pod_to_json(p);
        if (!j)
                return NULL;
        struct pod *c = pod_from_json(j, NULL, NULL);
        json_decref(j);
        return c;
}
