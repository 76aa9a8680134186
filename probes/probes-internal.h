/* SPDX-License-Identifier: Apache-2.0 */
/* probes: what runner.c shares with the http, tcp and grpc handlers. Not installed; the public
 * face is probes.h. */
#pragma once

#include <curl/curl.h>

#include "probes.h"


/* As the kubelet: at most 10 KiB of an HTTP body is read (pkg/probe/http maxRespBodyLength). */
#define PROBE_HTTP_MAX_BODY (10 * 1024)
/* Response headers per request, and one header line; beyond that the response is refused. */
#define PROBE_MAX_HEADER_BYTES (64 * 1024)
/* A gRPC health answer is a few bytes; anything this big is not one. */
#define PROBE_GRPC_MAX_BODY (64 * 1024)

struct probe_op;

/* What each kind of probe does when its curl transfer ends, when its deadline passes, and
 * what it frees of its state (op->data, never NULL then; freed itself by probe_op_free). */
struct probe_op_ops {
        const char *kind; /* for event source descriptions: "http", "tcp", "grpc" */
        void (*curl_done)(struct probe_op *op, CURLcode code);
        void (*timeout)(struct probe_op *op);
        void (*free)(struct probe_op *op);
};

struct probe_runner {
        sd_event *event;
        struct curl_event *curl;
        struct probe_op *ops; /* every op in flight */
};

struct probe_op {
        struct probe_runner *runner;
        struct probe_op *prev, *next;
        const struct probe_op_ops *ops;
        probe_done_fn done;
        void *userdata;

        usec_t timeout;          /* as given, for messages */
        usec_t deadline;         /* CLOCK_MONOTONIC; 0: none */
        sd_event_source *expire; /* the deadline */
        sd_event_source *defer;  /* a result found at start, delivered from the loop */
        enum probe_result deferred_result;
        char *deferred_output;

        CURL *easy;
        bool in_multi;
        bool connected; /* the current transfer's connection was made (and TLS done) */
        struct curl_slist *headers;
        char errbuf[CURL_ERROR_SIZE];

        void *data; /* the kind's own state, freed by ops->free */
};

/* A new op with data_size bytes of zeroed state of its kind in op->data. */
int probe_op_new(struct probe_runner *r, const struct probe_op_ops *ops, usec_t timeout, probe_done_fn done,
                 void *userdata, size_t data_size, struct probe_op **ret);
/* Report the result now (from a loop callback only): the op is freed before done runs. */
void probe_op_finish(struct probe_op *op, enum probe_result result, const char *output);
/* Report a result found while starting: delivered from the loop, never from the caller. */
int probe_op_finish_deferred(struct probe_op *op, enum probe_result result, const char *output);
/* Free without reporting. */
void probe_op_free(struct probe_op *op);

/* A fresh easy handle on op->easy with what every probe transfer shares: no proxy, no
 * connection reuse (the kubelet disables keep-alives), close-on-exec sockets, no signals. */
int probe_op_easy_init(struct probe_op *op, const char *url);
int probe_op_easy_start(struct probe_op *op);
/* Take the transfer off the multi handle, keeping the easy handle for another go. */
void probe_op_easy_stop(struct probe_op *op);

/* ---- Go's wording ---- */

/* net.JoinHostPort: brackets around a host with a colon. */
char *probe_join_host_port(const char *host, int port);
/* time.Duration.String(): "1s", "500ms", "1m30s", "1.5s". */
char *probe_format_duration(usec_t u);
/* Go's syscall.Errno text: strerror with a lower-case first letter ("connection refused"). */
const char *probe_errno_string(int err, char *buf, size_t n);
/* What Go's net.Dial says when a finished curl transfer failed before talking HTTP
 * ("dial tcp 10.0.0.1:80: connect: connection refused"), or NULL when the failure came later.
 * hostport is used when curl does not know the address it tried. */
char *probe_curl_dial_error(struct probe_op *op, CURLcode code, const char *host, const char *hostport);
