/* SPDX-License-Identifier: Apache-2.0 */
/* podspec internals: the table-driven schema that decodes, encodes and frees the Pod model. */
#pragma once

#include "podspec.h"

typedef enum field_kind {
        FK_STRING,        /* char * */
        FK_INT,           /* nl_opt_int, any int64 */
        FK_INT32,         /* nl_opt_int, Go int32: decode rejects values outside int32 */
        FK_BOOL,          /* nl_opt_bool */
        FK_QUANTITY,      /* pod_quantity, JSON string or number */
        FK_INT_OR_STRING, /* pod_int_or_string */
        FK_RAW,           /* json_t *, kept as given */
        FK_STRING_LIST,   /* char **, n */
        FK_INT64_LIST,    /* int64_t *, n */
        FK_STRING_MAP,    /* struct pod_kv *, n */
        FK_RESOURCE_MAP,  /* struct pod_resource *, n */
        FK_OBJECT,        /* struct T *, allocated when present (even for {}) */
        FK_EMBED,         /* struct T embedded in the parent */
        FK_OBJECT_LIST,   /* struct T *, n */
        _FIELD_KIND_MAX,
} field_kind;

struct type_desc;

struct field_desc {
        const char *json;
        field_kind kind;
        size_t offset;
        size_t count_offset; /* lists and maps */
        const struct type_desc *type;
};

struct type_desc {
        const char *name;
        size_t size;
        const struct field_desc *fields;
        size_t n_fields;
        /* Called for a key the table does not know; returns true when it took the value. */
        bool (*take_unknown)(void *obj, const char *key, json_t *value);
        /* Frees what take_unknown stored. */
        void (*free_extra)(void *obj);
        /* Adds what take_unknown stored back to the JSON object. */
        int (*encode_extra)(const void *obj, json_t *out);
};

extern const struct type_desc pod_type_desc;

/* Decode j (an object) into obj (zeroed, of type t). path is the JSON path of j. */
void schema_decode(const struct type_desc *t, void *obj, const json_t *j, nl_buf *path, pod_error_list *errors,
                   pod_error_list *unknown);
json_t *schema_encode(const struct type_desc *t, const void *obj);
void schema_free(const struct type_desc *t, void *obj);

/* Volume source field names the API server knows; other than the ones the node implements they
 * are kept raw in pod_volume.other. */
bool podspec_is_volume_source_name(const char *key);
