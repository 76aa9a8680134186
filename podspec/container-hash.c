/* SPDX-License-Identifier: Apache-2.0 */
/* The container hash the kubelet keeps with each container to tell whether the container still
 * matches its spec. */
#include <jansson.h>

#include "podspec.h"

/* As the kubelet's HashContainer (pkg/kubelet/container/helpers.go, since v1.31): only the
 * name and the image are hashed, the fields a running pod's container may change that need a
 * new container. Resources change in place (resize), and hashing every field would restart
 * every container whenever an upgrade adds a field. FNV-1a (32 bits) over the JSON object
 * {"image": ..., "name": ...} with sorted keys: stable across nodelet versions, which matters
 * because the hash is kept on disk with each container. */
uint32_t pod_container_hash(const struct pod_container *c) {
        json_t *j = json_pack("{s:s, s:s}", "name", c->name ? c->name : "", "image", c->image ? c->image : "");
        char *s = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        json_decref(j);
        uint32_t h = 2166136261u;
        for (const unsigned char *p = (const unsigned char *) (s ? s : ""); *p; p++) {
                h ^= *p;
                h *= 16777619u;
        }
        free(s);
        return h;
}
