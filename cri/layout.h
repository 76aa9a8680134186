/* SPDX-License-Identifier: Apache-2.0 */
/* The node's state on disk has one owner: every path under the root, run and log directories is
 * made here, so the daemon, the CLI, the node server and the runtime agree on it.
 *
 *   <root_dir>/pods/<uid>/               pod.json (the pod with its status), events.json,
 *                                        sandbox.id, userns, etc-hosts, resolv.conf, hostname,
 *                                        volumes/<plugin>/<name>/,
 *                                        volume-subpaths/<volume>/<container>/<index>
 *   <root_dir>/containers/<id>/          config.json, rootfs, state/ (shim.pid, exit.json)
 *   <root_dir>/images/                   the image store (cri/image/image.h)
 *   <root_dir>/seccomp/                  Localhost seccomp profiles
 *   <run_dir>/sandboxes/<id>/            pinned namespaces, the CNI cache, sandbox.json
 *   <run_dir>/runtime/<runtime>/         the OCI runtime's --root
 *   <run_dir>/nodelet.json               the daemon that runs with this run dir
 *   <run_dir>/ops.lock                   held by every operation child of the daemon
 *   <log_dir>/<ns>_<name>_<uid>/<container>/<restart>.log    CRI logs
 *   <containers_log_dir>/<pod>_<ns>_<container>-<id>.log   links to them
 *
 * Each function returns a malloc'd path, NULL when out of memory. */
#pragma once

#include "common/util.h"

#define LAYOUT_POD_JSON "pod.json"
#define LAYOUT_EVENTS_JSON "events.json"
#define LAYOUT_ALLOCATION "allocated.json" /* in-place resize: the allocation checkpoint */
#define LAYOUT_SANDBOX_ID "sandbox.id"
#define LAYOUT_USERNS "userns"
#define LAYOUT_DAEMON_INFO "nodelet.json"
#define LAYOUT_OPS_LOCK "ops.lock"
#define LAYOUT_VOLUMES "volumes"
#define LAYOUT_VOLUME_SUBPATHS "volume-subpaths"

char *layout_pods_dir(const char *root_dir);
char *layout_pod_dir(const char *root_dir, const char *uid);
/* <root_dir>/pods/<uid>/<name> */
char *layout_pod_file(const char *root_dir, const char *uid, const char *name);
/* <root_dir>/pods/<uid>/volumes/<plugin>/<name> */
char *layout_volume_dir(const char *root_dir, const char *uid, const char *plugin, const char *name);
/* <root_dir>/pods/<uid>/volume-subpaths/<volume>/<container> */
char *layout_volume_subpaths_dir(const char *root_dir, const char *uid, const char *volume, const char *container);

char *layout_containers_dir(const char *root_dir);
char *layout_container_dir(const char *root_dir, const char *id);
char *layout_container_state_dir(const char *root_dir, const char *id);

char *layout_images_dir(const char *root_dir);
/* Open the node's image store, <root_dir>/images (the daemon, its op children and the CLI each
 * open their own handle: the store's lock is per open file). */
struct image_store;
int layout_image_store_open(const char *root_dir, struct image_store **ret, nl_error *err);
char *layout_seccomp_dir(const char *root_dir);

char *layout_sandboxes_dir(const char *run_dir);
char *layout_runtime_root(const char *run_dir, const char *runtime);
char *layout_daemon_info(const char *run_dir);
char *layout_ops_lock(const char *run_dir);

/* <log_dir>/<namespace>_<name>_<uid> */
char *layout_pod_log_dir(const char *log_dir, const char *namespace, const char *name, const char *uid);
/* <log_dir>/<namespace>_<name>_<uid>/<container>/<restart>.log */
char *layout_container_log(const char *log_dir, const char *namespace, const char *name, const char *uid,
                           const char *container, unsigned restart);
/* <containers_log_dir>/<pod>_<namespace>_<container>-<id>.log, the kubelet's link name */
char *layout_container_log_link(const char *containers_log_dir, const char *pod, const char *namespace,
                                const char *container, const char *id);
