/* SPDX-License-Identifier: Apache-2.0 */
/* The pods the daemon publishes, as the CLI and the node server read them:
 * <root_dir>/pods/<uid>/pod.json (the Pod with its status) and events.json. */
#include <dirent.h>

#include "common/fs.h"
#include "cri/layout.h"
#include "state.h"

#define POD_JSON_MAX (16u * 1024u * 1024u)
#define EVENTS_JSON_MAX (4u * 1024u * 1024u)
#define NODE_PODS_MAX 4096

/* o["a"]["b"]... as a string, NULL when absent. */
const char *jpath_str(const json_t *o, const char *a, const char *b, const char *c) {
        const json_t *j = json_object_get(o, a);
        if (b)
                j = json_object_get(j, b);
        if (c)
                j = json_object_get(j, c);
        return json_string_value(j);
}

/* A pod's file as JSON of the given type, or NULL. */
static json_t *pod_file_load(const char *root_dir, const char *uid, const char *name, size_t max, json_type type) {
        _cleanup_free_ char *path = layout_pod_file(root_dir, uid, name), *buf = NULL;
        size_t len = 0;
        if (!path || nl_read_file(path, max, true, &buf, &len) < 0)
                return NULL;
        json_t *j = json_loadb(buf, len, 0, NULL);
        if (j && json_typeof(j) != type) {
                json_decref(j);
                return NULL;
        }
        return j;
}

json_t *node_pod_load(const char *root_dir, const char *uid) {
        return pod_file_load(root_dir, uid, LAYOUT_POD_JSON, POD_JSON_MAX, JSON_OBJECT);
}

json_t *node_pod_events(const char *root_dir, const char *uid) {
        return pod_file_load(root_dir, uid, LAYOUT_EVENTS_JSON, EVENTS_JSON_MAX, JSON_ARRAY);
}

json_t *node_pods_load(const char *root_dir) {
        json_t *all = json_array();
        _cleanup_free_ char *dir = layout_pods_dir(root_dir);
        DIR *d = dir && all ? opendir(dir) : NULL;
        if (!d)
                return all;
        struct dirent *de;
        while ((de = readdir(d)) && json_array_size(all) < NODE_PODS_MAX) {
                if (de->d_name[0] == '.')
                        continue;
                json_t *j = node_pod_load(root_dir, de->d_name);
                if (j)
                        json_array_append_new(all, j);
        }
        closedir(d);
        return all;
}

json_t *node_pods_find(json_t *pods, const char *namespace, const char *name) {
        size_t i;
        json_t *p;
        json_array_foreach(pods, i, p) {
                if (streq_ptr(jpath_str(p, "metadata", "name", NULL), name) &&
                    streq_ptr(jpath_str(p, "metadata", "namespace", NULL), namespace))
                        return p;
        }
        return NULL;
}

const char *const status_lists[3] = {"containerStatuses", "initContainerStatuses",
                                           "ephemeralContainerStatuses"};

json_t *node_json_named(json_t *list, const char *name) {
        size_t i;
        json_t *c;
        json_array_foreach(list, i, c) {
                if (streq_ptr(json_string_value(json_object_get(c, "name")), name))
                        return c;
        }
        return NULL;
}

json_t *node_pod_container_status(json_t *pod, const char *name) {
        json_t *st = json_object_get(pod, "status");
        for (size_t l = 0; l < ELEMENTSOF(status_lists); l++) {
                json_t *c = node_json_named(json_object_get(st, status_lists[l]), name);
                if (c)
                        return c;
        }
        return NULL;
}

/* A name from pod.json that becomes a path component: the daemon wrote it, but a component
 * that could leave the log directory is refused all the same. */
bool path_component_ok(const char *s) {
        return !isempty(s) && !strchr(s, '/') && !streq(s, ".") && !streq(s, "..");
}
