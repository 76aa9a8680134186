/* SPDX-License-Identifier: Apache-2.0 */
/* Registry client internals shared by registry.c (pulls, manifests, unpack), registry-blob.c
 * (shared blob downloads with resume), registry-auth.c (challenges, credentials, tokens) and
 * registry-http.c (libcurl multi on sd-event). Not a public API: tests include it to reach
 * the pure parsers and the download counters. */
#pragma once

#include <curl/curl.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "image.h"

/* Caps on what a registry or an auth server can make us hold. */
#define REGISTRY_MAX_TOKEN_BYTES (1024u * 1024u) /* token endpoint responses */
#define REGISTRY_MAX_ERROR_BODY (64u * 1024u)    /* bodies of non-2xx answers, kept for messages */
#define REGISTRY_MAX_HEADER_BYTES (64u * 1024u)  /* all header lines of one response */
#define REGISTRY_MAX_HEADER_LINE (16u * 1024u)   /* one header line */
#define REGISTRY_MAX_AUTH_FILE (1024u * 1024u)   /* docker config.json */
#define REGISTRY_MAX_CHALLENGES 16
#define REGISTRY_MAX_CHALLENGE_PARAMS 32
#define REGISTRY_MAX_TOKENS 256              /* cached bearer tokens */
#define REGISTRY_TOKEN_DEFAULT_EXPIRY_SEC 60 /* as the distribution token spec */


/* ==== HTTP on the event loop (registry-http.c) =========================================== */

typedef struct http_engine http_engine;
typedef struct http_request http_request;
typedef void (*http_done_fn)(http_request *r, void *userdata);
/* Called from curl's write callback after body bytes went to the output fd: no curl calls
 * from here. */
typedef void (*http_data_fn)(http_request *r, void *userdata);

struct http_header {
        char *name; /* lowercase */
        char *value;
};

struct http_request {
        http_engine *engine;
        CURL *easy;
        struct curl_slist *headers;
        char *url;
        char errbuf[CURL_ERROR_SIZE];
        http_done_fn done;
        http_data_fn on_data;
        void *userdata;
        struct http_request *prev, *next; /* engine's list */
        bool running, finished;

        /* the final response (redirects followed); reset at every status line */
        CURLcode result;
        long status;
        struct http_header *resp_headers;
        size_t n_resp_headers;
        size_t header_bytes;

        /* body of a 2xx answer into out_fd from out_offset (bytes beyond out_max abort the
         * transfer with out_too_big); else into body, capped at body_max (answers beyond the
         * cap abort with body_too_big for 2xx, are truncated otherwise) */
        int out_fd;
        uint64_t out_offset, out_max;
        bool out_started, out_too_big, out_restarted;
        int out_errno;
        nl_buf body;
        size_t body_max;
        bool body_too_big;
};

int http_engine_new(sd_event *event, http_engine **ret);
void http_engine_free(http_engine *g);

/* A GET of url. TLS is verified unless skip_verify; ca_file adds a CA bundle. */
int http_request_new(http_engine *g, const char *url, bool skip_verify, const char *ca_file,
                     http_request **ret);
int http_request_add_header(http_request *r, const char *fmt, ...) _printf_(2, 3);
int http_request_set_basic(http_request *r, const char *username, const char *password);
/* Write a 2xx body to fd starting at offset (asking for the rest with Range when offset > 0;
 * a 200 answer to a Range request rewrites from zero), never past max bytes in total. */
int http_request_set_output(http_request *r, int fd, uint64_t offset, uint64_t max);
/* Runs the request on the loop; done is called once, from the loop, never from here. The
 * request stays owned by the caller, who frees it (also from done). */
int http_request_start(http_request *r, http_done_fn done, http_data_fn on_data, void *userdata);
/* Cancels a running request; accepts NULL. */
void http_request_free(http_request *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(http_request *, http_request_free)
/* The last value of a response header (name in any case); several WWW-Authenticate lines
 * come back joined with ", " as HTTP list semantics allow. Caller frees. */
char *http_request_header(const http_request *r, const char *name);
const char *http_request_strerror(const http_request *r);
/* True when the transfer failed on the way: refused, reset, timed out, DNS, cut short. */
bool http_request_failed_transport(const http_request *r);
/* True when the server's certificate was refused (or our CA file was): a configuration
 * problem, not an unavailable registry. */
bool http_request_failed_tls(const http_request *r);

/* ==== challenges, credentials, tokens (registry-auth.c) ================================== */

struct auth_param {
        char *name; /* lowercase */
        char *value;
};

struct auth_challenge {
        char *scheme;  /* lowercase: "bearer", "basic", ... */
        char *token68; /* or NULL */
        struct auth_param *params;
        size_t n_params;
};

/* Parse a WWW-Authenticate value (RFC 7235): several challenges, each a scheme followed by
 * a token68 or by name=value params (tokens or quoted strings with backslash escapes).
 * -EINVAL on malformed input, -E2BIG past the caps. */
int auth_challenges_parse(const char *s, struct auth_challenge **ret, size_t *ret_n);
void auth_challenges_free(struct auth_challenge *c, size_t n);
const char *auth_challenge_param(const struct auth_challenge *c, const char *name);
/* The challenge we answer: Bearer preferred over Basic; NULL when neither is offered. */
const struct auth_challenge *auth_challenges_pick(const struct auth_challenge *c, size_t n);


/* Does an "auths" key of a docker config.json name host? Keys may be "host", "host:port",
 * "https://host/v1/"; "docker.io", "index.docker.io", "registry-1.docker.io" are one host. */
bool auth_key_matches_host(const char *key, const char *host);
/* Credentials for host from a parsed docker config.json: "auth" (base64 user:pass) or
 * "username"/"password". 0 and NULLs when none; -EINVAL with a message on a bad entry. */
int auth_config_lookup(json_t *config, const char *host, char **ret_user, char **ret_pass, nl_error *err);
/* The same from a file (capped at REGISTRY_MAX_AUTH_FILE); a missing file has no entries. */
int auth_file_lookup(const char *path, const char *host, char **ret_user, char **ret_pass, nl_error *err);

/* A token endpoint's JSON answer: "token" or "access_token", "expires_in" (seconds,
 * default 60). */
int auth_token_parse(const char *buf, size_t len, char **ret_token, uint64_t *ret_expires_sec,
                     nl_error *err);

struct token_cache;
int token_cache_new(struct token_cache **ret);
void token_cache_free(struct token_cache *tc);
/* Key: (registry host, scope, user); now is CLOCK_MONOTONIC. */
const char *token_cache_get(struct token_cache *tc, const char *host, const char *scope, const char *user,
                            usec_t now);
int token_cache_put(struct token_cache *tc, const char *host, const char *scope, const char *user,
                    const char *token, usec_t expires);
void token_cache_drop(struct token_cache *tc, const char *host, const char *scope, const char *user);

/* ==== endpoints and repositories (registry.c) ============================================ */

struct reg_endpoint {
        char *base; /* "https://registry-1.docker.io", no trailing slash */
        char *host; /* "registry-1.docker.io": messages, token cache */
        bool skip_verify;
        char *ca_file;
        bool mirror;
        char *username, *password; /* for this endpoint, or NULL */
        bool basic;                /* the registry asked for Basic: send the credentials */
};

/* What a request needs to reach one repository: shared (refcounted) by a pull and the
 * blob downloads it started, which may outlive it. */
struct reg_repo {
        unsigned n_ref;
        struct registry_client *client;
        char *domain; /* as in the reference, for messages */
        char *path;
        char *scope; /* "repository:<path>:pull" */
        struct reg_endpoint *ep;
        size_t n_ep;
};

struct reg_repo *reg_repo_ref(struct reg_repo *r);
struct reg_repo *reg_repo_unref(struct reg_repo *r);

/* A GET of <endpoint base>/v2/<suffix> with the endpoint's TLS settings and whatever
 * authorization is known for it. */
int reg_request_new(struct reg_repo *repo, size_t ep, const char *suffix, http_request **ret);

/* Answer a 401: parse its challenge and make the next reg_request_new() for this endpoint
 * authorized. Returns 0 when that is done already (Basic, or a cached token), 1 when a token
 * request was started (done is called later, from the loop; *ret_op can cancel it), or a
 * negative errno with a message (no usable challenge, no credentials). */
struct auth_op;
typedef void (*auth_done_fn)(int r, const nl_error *err, void *userdata);
int reg_authorize(struct reg_repo *repo, size_t ep, const char *www_authenticate, auth_done_fn done,
                  void *userdata, struct auth_op **ret_op, nl_error *err);
void auth_op_cancel(struct auth_op *op);

/* ==== the client ========================================================================= */

struct blob_job;
struct pull_job;

struct registry_client {
        sd_event *event;
        struct image_store *store;
        http_engine *http;
        struct token_cache *tokens;

        struct registry_host_config *hosts;
        size_t n_hosts;
        char *auth_file;
        unsigned max_parallel_blobs, retries;

        struct pull_job *pulls; /* in flight, keyed by canonical reference */
        struct blob_job *blobs; /* in flight or queued, keyed by digest */
        unsigned n_blobs_running;
        sd_event_source *blob_schedule; /* starts queued downloads, from the loop */
        struct auth_op *auth_ops;       /* token requests in flight */

        /* counters, for tests and metrics */
        uint64_t n_blob_requests; /* blob GETs started (retries included) */
        uint64_t n_manifest_requests;
};

const struct registry_host_config *registry_host_config_find(const struct registry_client *c,
                                                             const char *host);

/* ==== shared blob downloads (registry-blob.c) ============================================ */

/* A pull waiting on a blob is told once, from the loop: r < 0 with kind and message on
 * failure. */
typedef void (*blob_done_fn)(struct pull_job *p, const char *digest, int r, enum pull_error_kind kind,
                             const nl_error *err);
typedef void (*blob_progress_fn)(struct pull_job *p, const char *digest, int64_t done, int64_t total);

/* Have the blob fetched into the store (joining a download of the same digest already under
 * way). The descriptor's size is authoritative. */
int blob_fetch(struct registry_client *c, struct reg_repo *repo, size_t ep, const struct oci_descriptor *d,
               struct pull_job *p, blob_done_fn done, blob_progress_fn progress);
/* The pull stops waiting for every blob; downloads nobody waits for are cancelled. */
void blob_detach(struct registry_client *c, struct pull_job *p);
int blob_scheduler_new(struct registry_client *c);
void blob_jobs_free_all(struct registry_client *c);

/* -EACCES: PULL_ERR_AUTH; -EHOSTUNREACH: PULL_ERR_UNAVAILABLE; else PULL_ERR_OTHER. */
static inline enum pull_error_kind auth_error_kind(int r) {
        return r == -EACCES ? PULL_ERR_AUTH : r == -EHOSTUNREACH ? PULL_ERR_UNAVAILABLE : PULL_ERR_OTHER;
}
