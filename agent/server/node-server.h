/* SPDX-License-Identifier: Apache-2.0 */
/* The node's HTTP server, the kubelet's port 10250 (HTTPS, authenticated and authorized) and its
 * healthz port 10248 (plain HTTP on loopback, no auth). The daemon's loop only accepts; each
 * connection is served by a forked child (TLS handshake, one request, Connection: close), so a
 * slow client or a long `kubectl logs -f` never blocks the loop.
 * What it serves comes from the node's local state on disk (agent/state/state.h). */
#pragma once

#include <jansson.h>
#include <stdio.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "common/time-util.h"
#include "common/util.h"

struct cri_config;

/* ==== the server ============================================================================= */

/* Who made a request: a client certificate's CN and O values, or what a TokenReview said. */
struct node_identity {
        char *user, *uid; /* uid may be NULL */
        char **groups;
        size_t n_groups;
        json_t *extra; /* {"key": ["value", ...]} or NULL */
};
void node_identity_done(struct node_identity *id);

/* Authentication and authorization as the kubelet's webhook modes do them. Both callbacks run in
 * the connection's child process and may block (an API call). Their answers are cached across
 * connections as the kubelet's webhook caches are (authentication 2 min; authorization 5 min
 * allowed, 30 s denied); errors are not cached. */
struct node_server_auth {
        /* Bearer token -> identity (a TokenReview): 1 authenticated (*ret filled with malloc'ed
         * fields, freed by the server), 0 rejected, < 0 error (also a 401). NULL: bearer tokens
         * are not accepted. */
        int (*authenticate_token)(void *userdata, const char *token, struct node_identity *ret);
        /* (a SubjectAccessReview, with the identity's user, uid, groups and extra) 1 allowed,
         * 0 denied (403), < 0 error (500). The attributes are always resource "nodes", name =
         * the node, verb "get" (GET, HEAD), "create" (POST), "update", "patch" or "delete",
         * subresource "proxy", "log", "stats", "metrics" or "spec" from the path. NULL: everyone
         * authenticated is allowed (--authorization-mode AlwaysAllow). */
        int (*authorize)(void *userdata, const struct node_identity *id, const char *verb,
                         const char *subresource);
        void *userdata;
};

struct node_server_config {
        const char *address;         /* "0.0.0.0" (default when NULL), "127.0.0.1", "::" */
        int port;                    /* 10250; 0 disables; < 0 an ephemeral port (tests) */
        const char *cert_file;       /* serving certificate (chain) and key, PEM; NULL: a */
        const char *key_file;        /* self-signed one made at start, as the kubelet does */
        /* cert_file and key_file are where a certificate will be (serverTLSBootstrap's CSR):
         * self-signed until the file exists, then it (re-read when it changes) */
        bool self_signed_until_cert;
        const char *client_ca_file;  /* client certificates must chain to it: CN = user, O = groups;
                                      * NULL: no client certificates, bearer tokens only */
        const char *healthz_address; /* "127.0.0.1" when NULL */
        int healthz_port;            /* 10248; 0 disables; < 0 ephemeral */
        const char *node_name;
        const struct cri_config *cri; /* root_dir (pods/<uid>/pod.json, images/) and log_dir; kept
                                       * (it must outlive the server) for exec and port-forward */
        struct node_server_auth auth;
        /* /metrics: writes the daemon's Prometheus text (runs in the child); NULL writes
         * node_metrics_write_default()'s. */
        int (*write_metrics)(void *userdata, FILE *out);
        void *metrics_userdata;
        /* Budgets, so that no kind of client starves another: connections not yet
         * authenticated (the TLS handshake and the request head, 10 s at most) at most
         * max_connections (0: 32), half of them from one address; long-lived requests (logs
         * -f, exec, attach, port-forward) at most max_streams (0: 64), the next one answered
         * 429; the other authenticated requests are short and never wait for either. */
        unsigned max_connections;
        unsigned max_streams;
        usec_t streaming_idle_timeout; /* exec/attach/port-forward with no traffic end; 0: 4 h */
        /* /healthz: NULL when healthy, else what is wrong (runs in the child); NULL: healthy */
        const char *(*health)(void *userdata);
        void *health_userdata;
};

struct node_server;

/* Bind the ports and start accepting on event (SIGCHLD must be blocked: children are watched
 * with child sources). The certificate files are re-read when they change on disk. cfg is
 * copied. */
int node_server_new(sd_event *event, const struct node_server_config *cfg, struct node_server **ret,
                    nl_error *err);
/* Stop accepting and kill the connections still being served. NULL is fine. */
void node_server_free(struct node_server *s);
/* The bound port (useful with ephemeral ports), or -1 when that listener is off. */
int node_server_port(const struct node_server *s, bool healthz);
/* Connections being served right now. */
unsigned node_server_connections(const struct node_server *s);

/* The default /metrics text: nodelet_running_pods, nodelet_running_containers (from the pod.json
 * files) and the process_* metrics of pid (the daemon's, not the child's). */
int node_metrics_write_default(const char *root_dir, pid_t pid, FILE *out);
