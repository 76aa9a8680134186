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

/* Authentication and authorization as the kubelet's webhook modes do them. Both callbacks run in
 * the connection's child process and may block (an API call). */
struct node_server_auth {
        /* Bearer token -> user (a TokenReview): 1 authenticated (*ret_user and the array of
         * *ret_n_groups strings in *ret_groups malloc'ed, freed by the server), 0 rejected, < 0
         * error (also a 401). NULL: bearer tokens are not accepted. */
        int (*authenticate_token)(void *userdata, const char *token, char **ret_user, char ***ret_groups,
                                  size_t *ret_n_groups);
        /* (a SubjectAccessReview) 1 allowed, 0 denied (403), < 0 error (500). The attributes are
         * always resource "nodes", name = the node, verb "get" (GET, HEAD), "create" (POST),
         * "update", "patch" or "delete", subresource "proxy", "log", "stats", "metrics" or "spec"
         * from the path. NULL: everyone authenticated is allowed (--authorization-mode
         * AlwaysAllow). */
        int (*authorize)(void *userdata, const char *user, char **groups, size_t n_groups, const char *verb,
                         const char *subresource);
        void *userdata;
};

struct node_server_config {
        const char *address;         /* "0.0.0.0" (default when NULL), "127.0.0.1", "::" */
        int port;                    /* 10250; 0 disables; < 0 an ephemeral port (tests) */
        const char *cert_file;       /* serving certificate (chain) and key, PEM; NULL: a */
        const char *key_file;        /* self-signed one made at start, as the kubelet does */
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
        unsigned max_connections; /* connections served at once (children); 0: 32 */
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
