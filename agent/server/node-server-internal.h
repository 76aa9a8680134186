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

/* What a connection's child is doing, as it tells the parent on its control socket: each
 * kind has its own budget (node_server_config). */
enum child_kind {
        CHILD_PENDING, /* handshake, request head, authentication */
        CHILD_SHORT,   /* authenticated, a short request */
        CHILD_LONG,    /* authenticated, a long-lived one (logs -f, exec, attach, port-forward) */
};
/* on the control socket, child -> parent; the parent answers CTL_LONG with CTL_YES or CTL_NO */
#define CTL_AUTHENTICATED 'a'
#define CTL_LONG 'l'
#define CTL_YES 'y'
#define CTL_NO 'n'

struct child {
        struct node_server *s;
        pid_t pid;
        sd_event_source *src;
        int ctl_fd; /* the parent's end of the control socket */
        sd_event_source *ctl_src;
        enum child_kind kind;
        char peer[64]; /* the client's address, for the per-address budget */
};

struct node_server {
        sd_event *event;
        char *address, *healthz_address, *cert_file, *key_file, *client_ca_file, *node_name, *root_dir,
                *log_dir;
        bool self_signed_until_cert; /* cert_file may not exist yet: self-signed until it does */
        /* the runtime's configuration (the daemon's, which outlives the server): exec and
         * port-forward in the connection children */
        const struct cri_config *cri;
        struct node_server_auth auth;
        int (*write_metrics)(void *userdata, FILE *out);
        void *metrics_userdata;
        const char *(*health)(void *userdata);
        void *health_userdata;
        unsigned max_connections, max_streams;
        usec_t streaming_idle_timeout;
        int ctl_fd; /* in a connection's child: its end of the control socket, else -1 */
        pid_t pid; /* the daemon's, for the process_* metrics */
        SSL_CTX *ssl;
        struct file_id tls_files[3];  /* cert, key, client CA as loaded */
        struct listener listeners[2]; /* [0] the node port, [1] healthz */
        struct child **children;
        size_t n_children;
        usec_t refused_logged;
        unsigned refused;
};


/* ---- a connection's child (node-conn.c) ---- */

/* Tell the parent: authenticated (CTL_AUTHENTICATED), or ask for a long-lived slot
 * (CTL_LONG: true when granted). */
void conn_ctl_authenticated(struct node_server *s);
bool conn_ctl_long(struct node_server *s);

#define HEADER_MAX (16u * 1024u) /* request line and headers */
#define OUT_BUFFER 16384         /* response bytes gathered before a write */

struct conn {
        struct node_server *s;
        int fd;
        SSL *ssl;
        bool head;    /* HEAD: headers only */
        bool chunked; /* the body goes in chunks */
        bool failed;  /* a write failed: the client is gone */
        char out[OUT_BUFFER];
        size_t out_len;
        char body[OUT_BUFFER]; /* chunked: the next chunk */
        size_t body_len;
};

#define PATH_SEGMENTS_MAX 32

struct request {
        char raw[HEADER_MAX + 1];
        size_t len;
        char head[HEADER_MAX + 1]; /* the head as received, untouched: the upgrades read all of it */
        size_t head_len;           /* its length; raw[head_len..len) is what followed it */
        char *method, *target, *query; /* into raw */
        const char *authorization;     /* into raw, NULL when absent */
        char *seg[PATH_SEGMENTS_MAX];  /* the decoded path, one component each */
        size_t n_seg;
        bool trailing_slash;
};

/* The request head in rq->raw[0..len) (NUL-terminated at len): 0 when it parsed (rq's fields
 * point into raw), else the HTTP status to refuse it with. */
int node_request_parse(struct request *rq);
/* Frees what parsing allocated (the path's segments; a connection's child leaves that to
 * its exit). */
void node_request_done(struct request *rq);

/* Answers on the connection (node-conn.c). */
int send_text(struct conn *c, int status, const char *msg);
/* A long-lived request (logs -f, a stream) takes a slot of its budget; false: refused (429
 * sent). */
bool conn_long_slot(struct conn *c);
int send_response(struct conn *c, int status, const char *content_type, const char *body, size_t len);
int conn_send(struct conn *c, const char *buf, size_t n);
/* The first value of key in the query, decoded: 1 found, 0 absent, < 0 a bad encoding. */
int query_get(const char *query, const char *key, char **ret);

/* node-stream.c: /exec, /attach, /run and /portForward (the request is authorized). */
bool node_stream_path(const struct request *rq);
void node_stream_serve(struct conn *c, const struct request *rq);

/* node-conn.c: serve one connection on fd (tls: the node port, else healthz) and exit. */
_Noreturn void node_conn_serve(struct node_server *s, int fd, bool tls);

/* node-stats.c: the Summary API's JSON, and the /metrics/resource text. */
/* cgroup_root: the cri_config's (where /kubepods is) */
int node_stats_summary(const char *root_dir, const char *cgroup_root, const char *node_name, json_t **ret);
int node_stats_resource_metrics(const char *root_dir, const char *cgroup_root, FILE *out);
