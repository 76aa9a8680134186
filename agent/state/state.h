/* SPDX-License-Identifier: Apache-2.0 */
/* The node's local state as its readers see it: the pods the daemon publishes under the root dir
 * (pod.json, events.json), the containers' CRI logs, and the running daemon's record in the run
 * dir. One read model for the CLI (nodelet pods, get, describe, logs, exec) and the node server
 * (/pods, /containerLogs, /stats, /metrics); it works whether or not the daemon runs. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "common/time-util.h"
#include "common/util.h"

/* ==== pods on disk (agent/state/pods.c) ====================================================== */

/* <root_dir>/pods/<uid>/pod.json (the Pod with its status) as an object, or NULL. */
json_t *node_pod_load(const char *root_dir, const char *uid);
/* Every <root_dir>/pods/<uid>/pod.json that parses, as an array (never NULL unless out of
 * memory). */
json_t *node_pods_load(const char *root_dir);
/* The pod's events (the kubelet's, newest last) from events.json, an array, or NULL. */
json_t *node_pod_events(const char *root_dir, const char *uid);
/* The pod named name in namespace (borrowed from pods), or NULL. */
json_t *node_pods_find(json_t *pods, const char *namespace, const char *name);
/* The element of list whose "name" is name (containers, container statuses), or NULL. */
json_t *node_json_named(json_t *list, const char *name);
/* The status of the pod's container (init, app or ephemeral) named name, or NULL. */
json_t *node_pod_container_status(json_t *pod, const char *name);
/* o[a][b][c] as a string (b, c may be NULL), or NULL. */
const char *jpath_str(const json_t *o, const char *a, const char *b, const char *c);
/* A path component a request or a pod.json may name: not empty, not "." or "..", no '/'. */
bool path_component_ok(const char *s);
/* The pod status lists that hold container statuses. */
extern const char *const status_lists[3];

/* ==== container logs (agent/state/logs.c) =================================================== */

/* Which log file a request means. */
struct node_log_target {
        char *root_dir, *namespace, *pod, *uid, *container;
        long restart; /* the file's instance: <restart>.log */
        bool previous;
        char *path; /* <log_dir>/<namespace>_<pod>_<uid>/<container>/<restart>.log */
};

/* Resolve namespace/pod/container (container NULL: the pod's only container) as the kubelet's
 * validateContainerLogStatus does: -ENOENT for an unknown pod or container (HTTP 404), -EINVAL for
 * a container without the logs asked for (previous one not there, still waiting to start: 400),
 * with the kubelet's messages. */
int node_logs_find(const char *root_dir, const char *log_dir, const char *namespace, const char *pod,
                   const char *container, bool previous, struct node_log_target *ret, nl_error *err);
void node_log_target_done(struct node_log_target *t);

struct node_log_options {
        bool follow, timestamps;
        int64_t tail_lines;  /* < 0: all */
        int64_t limit_bytes; /* <= 0: no limit */
        usec_t since;        /* CLOCK_REALTIME; 0: from the start */
};

/* Output sink: write len bytes (buf NULL and len 0: flush, the copy is about to wait); < 0 stops
 * the copy with that error (the reader went away). */
typedef int (*node_log_write_fn)(void *userdata, const char *buf, size_t len);

/* Copy the container's log: CRI lines parsed, "P" entries joined to their line, the message
 * with its newline, "<RFC3339Nano> " before each line with timestamps; tail_lines counts lines
 * (partial entries joined), since drops older entries, limit_bytes cuts the output. follow keeps
 * reading (inotify on the directory, across a rotation to a new file or a truncation) until the
 * container stops running (its pod.json), or watch_fd (>= 0: the client's socket) becomes readable
 * or hangs up: then -EPIPE. Only the live file is read, as the kubelet does. */
int node_logs_copy(const struct node_log_target *t, const struct node_log_options *o,
                   node_log_write_fn write, void *userdata, int watch_fd);

/* ==== the daemon (agent/state/daemon-info.c) ================================================ */

/* What <run_dir>/nodelet.json says of a running daemon: its dirs, so the CLI finds its pods from
 * the run dir alone, and its runtime's readiness, so the CLI can say why pods wait. */
struct cri_condition;
struct daemon_info {
        const char *node_name, *root_dir, *run_dir, *log_dir, *containers_log_dir;
        const struct cri_condition *runtime, *network;
};
int daemon_info_write(const struct daemon_info *d);
/* The file's object, or NULL when there is none (no daemon ever ran with this run dir). */
json_t *daemon_info_read(const char *run_dir);
