/* SPDX-License-Identifier: Apache-2.0 */
#include "cri.h"
#include "layout.h"

char *layout_pods_dir(const char *root_dir) {
        return nl_strdupf("%s/pods", root_dir);
}

char *layout_pod_dir(const char *root_dir, const char *uid) {
        return nl_strdupf("%s/pods/%s", root_dir, uid);
}

char *layout_pod_file(const char *root_dir, const char *uid, const char *name) {
        return nl_strdupf("%s/pods/%s/%s", root_dir, uid, name);
}

char *layout_volume_dir(const char *root_dir, const char *uid, const char *plugin, const char *name) {
        return nl_strdupf("%s/pods/%s/" LAYOUT_VOLUMES "/%s/%s", root_dir, uid, plugin, name);
}

char *layout_volume_subpaths_dir(const char *root_dir, const char *uid, const char *volume, const char *container) {
        return nl_strdupf("%s/pods/%s/" LAYOUT_VOLUME_SUBPATHS "/%s/%s", root_dir, uid, volume, container);
}

char *layout_containers_dir(const char *root_dir) {
        return nl_strdupf("%s/containers", root_dir);
}

char *layout_container_dir(const char *root_dir, const char *id) {
        return nl_strdupf("%s/containers/%s", root_dir, id);
}

char *layout_container_state_dir(const char *root_dir, const char *id) {
        return nl_strdupf("%s/containers/%s/state", root_dir, id);
}

char *layout_images_dir(const char *root_dir) {
        return nl_strdupf("%s/images", root_dir);
}

int layout_image_store_open(const char *root_dir, struct image_store **ret, nl_error *err) {
        _cleanup_free_ char *dir = layout_images_dir(root_dir);
        if (!dir)
                return nl_error_set(err, -ENOMEM, "open image store: out of memory");
        return image_store_open(dir, ret, err);
}

char *layout_seccomp_dir(const char *root_dir) {
        return nl_strdupf("%s/seccomp", root_dir);
}

char *layout_sandboxes_dir(const char *run_dir) {
        return nl_strdupf("%s/sandboxes", run_dir);
}

char *layout_runtime_root(const char *run_dir, const char *runtime) {
        return nl_strdupf("%s/runtime/%s", run_dir, runtime);
}

char *layout_daemon_info(const char *run_dir) {
        return nl_strdupf("%s/" LAYOUT_DAEMON_INFO, run_dir);
}

char *layout_ops_lock(const char *run_dir) {
        return nl_strdupf("%s/" LAYOUT_OPS_LOCK, run_dir);
}

char *layout_pod_log_dir(const char *log_dir, const char *namespace, const char *name, const char *uid) {
        return nl_strdupf("%s/%s_%s_%s", log_dir, namespace, name, uid);
}

char *layout_container_log(const char *log_dir, const char *namespace, const char *name, const char *uid,
                           const char *container, unsigned restart) {
        return nl_strdupf("%s/%s_%s_%s/%s/%u.log", log_dir, namespace, name, uid, container, restart);
}

char *layout_container_log_link(const char *containers_log_dir, const char *pod, const char *namespace,
                                const char *container, const char *id) {
        return nl_strdupf("%s/%s_%s_%s-%s.log", containers_log_dir, pod, namespace, container, id);
}
