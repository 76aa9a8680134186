/* SPDX-License-Identifier: Apache-2.0 */
/* Inside the node server: what node-server.c (the parent: listeners, TLS, children),
 * node-conn.c (a connection's child) and node-stats.c share. */
#pragma once

#include <jansson.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <systemd/sd-event.h>

#include "node-server.h"

/* ---- the server's state (node-server.c) ---- */

struct file_id {
        dev_t dev;
        ino_t ino;
        off_t size;
        struct timespec mtime;
        bool exists;
};

struct listener {
        struct node_server *s;
        int fd;
        int port;
        bool tls; /* false: the healthz port */
        sd_event_source *io;
};

struct child {
        struct node_server *s;
        pid_t pid;
        sd_event_source *src;
};

struct node_server {
        sd_event *event;
        char *address, *healthz_address, *cert_file, *key_file, *client_ca_file, *node_name, *root_dir,
                *log_dir;
        struct node_server_auth auth;
        int (*write_metrics)(void *userdata, FILE *out);
        void *metrics_userdata;
        const char *(*health)(void *userdata);
        void *health_userdata;
        unsigned max_connections;
        pid_t pid; /* the daemon's, for the process_* metrics */
        SSL_CTX *ssl;
        struct file_id tls_files[3];  /* cert, key, client CA as loaded */
        struct listener listeners[2]; /* [0] the node port, [1] healthz */
        struct child **children;
        size_t n_children;
        usec_t refused_logged;
        unsigned refused;
};

/* node-conn.c: serve one connection on fd (tls: the node port, else healthz) and exit. */
_Noreturn void node_conn_serve(struct node_server *s, int fd, bool tls);

/* node-stats.c: the Summary API's JSON, and the /metrics/resource text. */
int node_stats_summary(const char *root_dir, const char *node_name, json_t **ret);
int node_stats_resource_metrics(const char *root_dir, FILE *out);
