/* SPDX-License-Identifier: Apache-2.0 */
/* Pod validation: volumes and volume mounts. */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>

#include "validate-internal.h"

static const char *const VOLUME_FIELD_PATHS[] = { "metadata.annotations", "metadata.labels", "metadata.name",
                                                  "metadata.namespace", "metadata.uid", NULL };

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
bool validate_volume(V *v, const struct pod_volume *vol, const struct pod_spec *spec) {
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

void validate_volume_mounts(V *v, const struct pod_container *c, const char *const *volumes,
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
