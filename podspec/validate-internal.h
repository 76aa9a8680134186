/* SPDX-License-Identifier: Apache-2.0 */
/* Inside pod validation (validate*.c): the validator's state, its error helpers and the checks
 * the topics share. validate.c holds the helpers, metadata and the pod spec; the volumes,
 * containers and security contexts have a file each. */
#pragma once

#include "internal.h"
#include "names.h"

typedef struct V {
        pod_error_list *errs;
        nl_buf path;
        const struct pod *pod;
} V;

typedef size_t (*name_check_fn)(const char *s, const char **msgs);

size_t vpush(V *v, const char *fmt, ...) _printf_(2, 3);
void vpop(V *v, size_t old);
char *vfield(V *v, const char *child);
void verr_v(V *v, pod_error_type t, const char *child, const char *value, const char *detail);
void verr(V *v, pod_error_type t, const char *child, const char *detail_fmt, ...) _printf_(4, 5);
void verr_str(V *v, pod_error_type t, const char *child, const char *value, const char *detail_fmt, ...) _printf_(5, 6);
void verr_int(V *v, pod_error_type t, const char *child, int64_t value, const char *detail_fmt, ...) _printf_(5, 6);
void verr_unsupported(V *v, const char *child, const char *value, const char *const *supported);
bool str_in(const char *s, const char *const *set);
bool check_enum(V *v, const char *child, const char *value, const char *const *set);
size_t check_name(V *v, const char *child, const char *value, name_check_fn fn);
bool opt_true(nl_opt_bool b);
bool opt_false(nl_opt_bool b);
void check_nonneg(V *v, const char *child, nl_opt_int n);
void check_port_number(V *v, const char *child, int64_t port);
void check_port_num_or_name(V *v, const char *child, const pod_int_or_string *p);
void check_file_mode(V *v, const char *child, nl_opt_int mode);
bool has_backstep(const char *p);
void check_local_descending_path(V *v, const char *child, const char *p);
void check_local_non_reserved_path(V *v, const char *child, const char *p);
void check_user_id(V *v, const char *child, nl_opt_int id);
void validate_field_selector(V *v, const struct pod_object_field_selector *s,
                             const char *const *allowed);
void validate_resource_field_selector(V *v, const struct pod_resource_field_selector *s, bool volume);
void validate_key_selector(V *v, const char *child, const struct pod_key_selector *s);
void validate_security_context(V *v, const struct pod_security_context *sc, const struct pod_spec *spec);
void validate_resource_name(V *v, const char *child, const char *name);
void validate_resources(V *v, const struct pod_resource_requirements *r);
void validate_pod_security_context(V *v, const struct pod_spec *spec);
bool validate_volume(V *v, const struct pod_volume *vol, const struct pod_spec *spec);
void validate_volume_mounts(V *v, const struct pod_container *c, const char *const *volumes,
                            size_t n_volumes, bool privileged);
void validate_containers(V *v, const struct pod_spec *spec, const char *const *volumes, size_t n_volumes);
