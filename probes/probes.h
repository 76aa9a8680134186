/* SPDX-License-Identifier: Apache-2.0 */
/* probes: the network probe and hook handlers (httpGet, tcpSocket, grpc), run on the caller's
 * sd-event loop without blocking it. Exec probes and hooks run through the runtime's exec
 * (cri_exec_sync in a child of the agent); the agent schedules probes and decides what a
 * result means. This header is the library's one public face. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "../common/time-util.h"
#include "../common/util.h"

struct pod_http_get_action;

enum probe_result {
        PROBE_SUCCESS,
        PROBE_WARNING, /* success, with a warning in the output (e.g. a redirect left the host) */
        PROBE_FAILURE,
        PROBE_UNKNOWN, /* could not be run; the kubelet treats it as a failure after retries */
};

/* output: what the kubelet would put in the Unhealthy event after "<Kind> probe failed: ",
 * e.g. "HTTP probe failed with statuscode: 500" or
 * "Get \"http://10.88.0.5:8080/healthz\": dial tcp 10.88.0.5:8080: connect: connection refused". */
typedef void (*probe_done_fn)(enum probe_result r, const char *output, void *userdata);

struct probe_runner; /* one per event loop: a curl multi handle for http and grpc */
struct probe_op;     /* one probe in flight */

int probe_runner_new(sd_event *event, struct probe_runner **ret);
void probe_runner_free(struct probe_runner *r);

/* The kubelet's version for the User-Agent "kube-probe/<major>.<minor>". */
#define PROBE_KUBE_VERSION_MAJOR 1
#define PROBE_KUBE_VERSION_MINOR 34

/* httpGet: scheme HTTP or HTTPS (no certificate verification), host = action->host or
 * default_host (the pod IP), port already resolved to a number, path, httpHeaders; success for
 * 200-399; User-Agent and Accept added unless given; redirects followed as the kubelet does
 * (same host: followed, up to 10; another host: success with a warning); at most 10 KiB of
 * body read. A probe that passes the timeout fails. done is called exactly once, from the
 * loop, never from inside probe_*_start. */
int probe_http_start(struct probe_runner *r, const struct pod_http_get_action *action, const char *default_host,
                     int port, usec_t timeout, probe_done_fn done, void *userdata, struct probe_op **ret);
/* tcpSocket: non-blocking connect to host:port within timeout. */
int probe_tcp_start(struct probe_runner *r, const char *host, int port, usec_t timeout, probe_done_fn done,
                    void *userdata, struct probe_op **ret);
/* grpc: grpc.health.v1.Health/Check over HTTP/2 cleartext (prior knowledge), the optional
 * service name in the request; SERVING is success, anything else (or a gRPC error) failure. */
int probe_grpc_start(struct probe_runner *r, const char *host, int port, const char *service, usec_t timeout,
                     probe_done_fn done, void *userdata, struct probe_op **ret);
/* Stop a probe in flight: done is not called. */
void probe_op_cancel(struct probe_op *op);
