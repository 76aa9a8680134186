/* SPDX-License-Identifier: Apache-2.0 */
/* Cluster mode's way to the API server: the kubeconfig (server, CA, client certificate or
 * token), an asynchronous client on the daemon's sd-event loop (libcurl multi, see
 * common/curl-event.h), and a blocking call for forked children. */
#pragma once

#include <curl/curl.h>
#include <jansson.h>
#include <systemd/sd-event.h>

#include "common/util.h"

/* ==== kubeconfig (agent/kubeconfig.c) ======================================================== */

/* The parts of a kubeconfig's current context a node agent uses. *_data members hold the
 * decoded PEM bytes of certificate-authority-data / client-certificate-data / client-key-data;
 * file members are paths made absolute against the kubeconfig's directory. */
struct kubeconfig {
        char *path;
        char *server;          /* https://host:port, no trailing slash */
        char *tls_server_name; /* clusters[].cluster.tls-server-name */
        /* With tls-server-name on an https server: requests name that host in their URL (so
         * libcurl verifies the certificate against it and sends it as SNI), connect to the
         * server's own address (connect_to, CURLOPT_CONNECT_TO) and send its authority as
         * Host. NULL otherwise. */
        char *tls_url_base;    /* "https://<tls-server-name>:<port>[/prefix]" */
        struct curl_slist *connect_to;
        char *host_header;     /* "Host: <server's host>:<port>" */
        bool insecure;         /* insecure-skip-tls-verify */
        char *ca_file, *ca_data;
        size_t ca_data_len;
        char *cert_file, *cert_data;
        size_t cert_data_len;
        char *key_file, *key_data;
        size_t key_data_len;
        char *token;      /* users[].user.token, or what tokenFile held */
        char *token_file; /* re-read for every request, as client-go does */
};

/* Load path's current-context (or `context` when not NULL). Errors name the file and key. */
int kubeconfig_load(const char *path, const char *context, struct kubeconfig *ret, nl_error *err);
/* Parse from memory (the fuzz target's way in); dir resolves relative file paths. */
int kubeconfig_parse(const char *buf, size_t len, const char *dir, const char *context, struct kubeconfig *ret,
                     nl_error *err);
void kubeconfig_done(struct kubeconfig *kc);
/* Set the URL (server + path), TLS (CA, client certificate/key, verification, the name the
 * certificate must carry) on an easy handle and append the Host (with tls-server-name) and
 * Authorization (bearer token) headers to *headers. */
int kubeconfig_apply(const struct kubeconfig *kc, CURL *easy, const char *path, struct curl_slist **headers);

/* ==== the asynchronous client (agent/api-client.c) =========================================== */

struct api_client;
struct api_request;

/* status: the HTTP status (0 when the request never got an answer: then error says why);
 * body: the parsed JSON answer or NULL (borrowed: incref to keep). Called once, on the loop,
 * unless the request was cancelled. */
typedef void (*api_done_fn)(long status, json_t *body, const char *error, void *userdata);
/* One watch event: type ADDED, MODIFIED, DELETED, BOOKMARK or ERROR; object borrowed. */
typedef void (*api_event_fn)(const char *type, json_t *object, void *userdata);

int api_client_new(sd_event *event, const struct kubeconfig *kc, const char *user_agent, struct api_client **ret);
void api_client_free(struct api_client *c);

/* method GET/POST/PUT/PATCH/DELETE; path starts with "/" (query included); body may be NULL;
 * content_type NULL means application/json (PATCH callers name their patch type, e.g.
 * "application/strategic-merge-patch+json"). Timeout: 60 s. Returns NULL on allocation
 * failure only; the request is owned by the client and freed after done() returns. */
struct api_request *api_request(struct api_client *c, const char *method, const char *path, json_t *body,
                                const char *content_type, api_done_fn done, void *userdata);
/* A watch (path with watch=true): each newline-delimited event goes to ev as it arrives;
 * done() is called when the stream ends (server timeout, error status, connection lost). No
 * overall timeout: the caller's timeoutSeconds bounds it. */
struct api_request *api_watch(struct api_client *c, const char *path, api_event_fn ev, api_done_fn done,
                              void *userdata);
/* Stop a request: done() is not called. NULL is fine. */
/* The client certificate changed on disk (rotated): new requests use new connections, and
 * every watch ends now as if the server had closed it (its done gets 200, no body), so its owner
 * watches again, with the new certificate. */
void api_client_credentials_changed(struct api_client *c);
void api_request_cancel(struct api_request *r);

/* Blocking call for forked children (curl easy): ret_body gets the parsed answer (or NULL). */
int api_call_sync(const struct kubeconfig *kc, const char *method, const char *path, json_t *body,
                  const char *content_type, long *ret_status, json_t **ret_body, nl_error *err);

/* URL-encode one query value or path segment (malloc'd). */
char *api_escape(const char *s);

/* The watch stream's framing, pure for tests and the fuzz target: feed bytes as they come;
 * every complete line becomes an event appended to events ({"type", "object"}; a line that is
 * not one becomes {"type": "ERROR", "object": {"message": ..., "code": 500}}); partial keeps an
 * unfinished line. -E2BIG when a line would exceed max_line. */
int api_watch_feed(nl_buf *partial, const char *data, size_t n, size_t max_line, json_t *events);
json_t *api_watch_event_parse(const char *line, size_t len);
