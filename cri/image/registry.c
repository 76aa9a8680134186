/* SPDX-License-Identifier: Apache-2.0 */
/* Image pulls over the Registry HTTP API v2, on the caller's sd-event loop: the endpoints of
 * a reference (mirrors in order, then the registry itself), GET /v2/ to learn how it wants us
 * to authorize, the manifest (an index or list narrowed to this node's platform and fetched
 * again by digest), the config and layers through the shared blob downloads, then the
 * layers unpacked in order and the image recorded in the store. Pulls of one reference in
 * flight at the same time are one pull with several callers, as the kubelet's image puller
 * and containerd's resolver dedupe them. */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>

#include "common/strv.h"
#include "registry-internal.h"

struct pull_caller {
        pull_progress_fn progress;
        pull_done_fn done;
        void *userdata;
};

struct pull_job {
        struct registry_client *client;
        char *key; /* canonical reference: what joins pulls, and the name the image is recorded
                    * under (the store keeps "repo:tag" as a name, "repo@digest" as a repo digest) */
        struct image_ref ref;
        char *username, *password;

        struct pull_caller *callers;
        size_t n_callers;

        struct reg_repo *repo;
        size_t ep;
        sd_event_source *step; /* start, then the next layer's unpack started per dispatch */
        struct image_store_job *unpack; /* the layer being unpacked, off the loop */
        http_request *req;
        struct auth_op *auth;
        bool auth_tried;

        /* the manifest being fetched: the reference's tag or digest, then the platform's */
        char *want;
        bool want_is_digest;
        int64_t want_size; /* from the index entry, or -1 */

        char *index_digest;
        char *index_body;
        size_t index_len;
        char *manifest_digest;
        char *manifest_body;
        size_t manifest_len;
        struct oci_manifest *manifest;

        char **pending; /* digests of the blobs still downloading */
        size_t n_pending;
        struct image_config *config;
        char **chain_ids;
        size_t unpack_next;

        struct pull_job *prev, *next;
};

static void ping_start(struct pull_job *p);
static void manifest_start(struct pull_job *p);

/* ==== hosts and endpoints ================================================================ */

static bool host_is_docker_hub(const char *h) {
        return strcasecmp(h, "docker.io") == 0 || strcasecmp(h, "index.docker.io") == 0 ||
               strcasecmp(h, "registry-1.docker.io") == 0;
}

const struct registry_host_config *registry_host_config_find(const struct registry_client *c,
                                                             const char *host) {
        for (size_t i = 0; i < c->n_hosts; i++)
                if (strcasecmp(c->hosts[i].host, host) == 0)
                        return &c->hosts[i];
        if (host_is_docker_hub(host))
                for (size_t i = 0; i < c->n_hosts; i++)
                        if (host_is_docker_hub(c->hosts[i].host))
                                return &c->hosts[i];
        return NULL;
}

/* localhost, 127.0.0.0/8 and ::1, with or without a port. */
static bool host_is_loopback(const char *host) {
        size_t n;
        if (host[0] == '[')
                return strncmp(host, "[::1]", 5) == 0;
        n = strcspn(host, ":");
        if (n == 9 && strncasecmp(host, "localhost", 9) == 0)
                return true;
        return strncmp(host, "127.", 4) == 0;
}

static void endpoint_done(struct reg_endpoint *e) {
        free(e->base);
        free(e->host);
        free(e->ca_file);
        free(e->username);
        free(e->password);
}

struct reg_repo *reg_repo_ref(struct reg_repo *r) {
        if (r)
                r->n_ref++;
        return r;
}

struct reg_repo *reg_repo_unref(struct reg_repo *r) {
        if (!r || --r->n_ref > 0)
                return NULL;
        for (size_t i = 0; i < r->n_ep; i++)
                endpoint_done(&r->ep[i]);
        free(r->ep);
        free(r->domain);
        free(r->path);
        free(r->scope);
        free(r);
        return NULL;
}

/* "https://mirror:5000/" -> base "https://mirror:5000", host "mirror:5000". A mirror without a
 * scheme speaks https unless its registry is insecure; https given explicitly to an insecure
 * registry's mirror is TLS without verification (containerd's skip_verify). */
static int endpoint_from_mirror(const char *mirror, const struct registry_host_config *hc,
                                struct reg_endpoint *e) {
        const char *rest;
        if (strncasecmp(mirror, "https://", 8) == 0) {
                rest = mirror + 8;
                e->base = nl_strdupf("https://%s", rest);
                e->skip_verify = hc->insecure;
        } else if (strncasecmp(mirror, "http://", 7) == 0) {
                rest = mirror + 7;
                e->base = nl_strdupf("http://%s", rest);
        } else {
                rest = mirror;
                e->base = nl_strdupf("%s://%s", hc->insecure ? "http" : "https", rest);
        }
        e->host = strndup(rest, strcspn(rest, "/"));
        if (!e->base || !e->host)
                return -ENOMEM;
        if (isempty(e->host))
                return -EINVAL;
        /* "https://m/", "https://m/v2" and "https://m/v2/" all mean the mirror's root. */
        size_t n = strlen(e->base);
        while (n > 0 && e->base[n - 1] == '/')
                e->base[--n] = '\0';
        if (n >= 3 && streq(e->base + n - 3, "/v2") && strchr(rest, '/'))
                e->base[n - 3] = '\0';
        e->mirror = true;
        return 0;
}

static int endpoint_credentials(struct registry_client *c, struct reg_endpoint *e, const char *domain,
                                const char *username, const char *password, nl_error *err) {
        int r;
        /* Credentials given to the pull are for the reference's registry, not for mirrors (the
         * kubelet matches pull secrets to the image's registry too). */
        if (username && !e->mirror) {
                e->username = strdup(username);
                e->password = strdup(strempty(password));
                return e->username && e->password ? 0 : -ENOMEM;
        }
        if (!c->auth_file)
                return 0;
        r = auth_file_lookup(c->auth_file, e->mirror ? e->host : domain, &e->username, &e->password, err);
        return r;
}

static int repo_new(struct registry_client *c, const struct image_ref *ref, const char *username,
                    const char *password, struct reg_repo **ret, nl_error *err) {
        const struct registry_host_config *hc = registry_host_config_find(c, ref->domain);
        struct reg_repo *repo = calloc(1, sizeof(*repo));
        int r = -ENOMEM;

        if (!repo)
                return -ENOMEM;
        repo->n_ref = 1;
        repo->client = c;
        repo->domain = strdup(ref->domain);
        repo->path = strdup(ref->path);
        repo->scope = nl_strdupf("repository:%s:pull", ref->path);
        size_t n_mirrors = hc ? hc->n_mirrors : 0;
        repo->ep = calloc(n_mirrors + 1, sizeof(*repo->ep));
        if (!repo->domain || !repo->path || !repo->scope || !repo->ep)
                goto fail;
        for (size_t i = 0; i < n_mirrors; i++) {
                struct reg_endpoint *e = &repo->ep[repo->n_ep++];
                r = endpoint_from_mirror(hc->mirrors[i], hc, e);
                if (r < 0) {
                        nl_error_set(err, r, "registry \"%s\": bad mirror \"%s\"", ref->domain,
                                     hc->mirrors[i]);
                        goto fail;
                }
                if (hc->ca_file && !(e->ca_file = strdup(hc->ca_file))) {
                        r = -ENOMEM;
                        goto fail;
                }
        }

        /* The registry itself: https, or plain http when marked insecure (containerd's
         * plain-http) or, unconfigured, on loopback (Docker treats 127.0.0.0/8 as insecure). */
        struct reg_endpoint *e = &repo->ep[repo->n_ep++];
        const char *api = host_is_docker_hub(ref->domain) ? "registry-1.docker.io" : ref->domain;
        bool plain = hc ? hc->insecure : host_is_loopback(ref->domain);
        e->base = nl_strdupf("%s://%s", plain ? "http" : "https", api);
        e->host = strdup(api);
        if (!e->base || !e->host || (hc && hc->ca_file && !(e->ca_file = strdup(hc->ca_file)))) {
                r = -ENOMEM;
                goto fail;
        }

        for (size_t i = 0; i < repo->n_ep; i++) {
                r = endpoint_credentials(c, &repo->ep[i], ref->domain, username, password, err);
                if (r < 0)
                        goto fail;
        }
        *ret = repo;
        return 0;
fail:
        reg_repo_unref(repo);
        return r;
}

/* ==== pull jobs ========================================================================== */

static void pull_unlink(struct pull_job *p) {
        struct registry_client *c = p->client;
        if (p->prev)
                p->prev->next = p->next;
        else if (c->pulls == p)
                c->pulls = p->next;
        if (p->next)
                p->next->prev = p->prev;
        p->prev = p->next = NULL;
}

static void pull_free(struct pull_job *p) {
        if (!p)
                return;
        pull_unlink(p);
        blob_detach(p->client, p);
        sd_event_source_disable_unref(p->step);
        image_store_job_cancel(p->unpack);
        http_request_free(p->req);
        auth_op_cancel(p->auth);
        reg_repo_unref(p->repo);
        free(p->key);
        image_ref_done(&p->ref);
        free(p->username);
        if (p->password) {
                explicit_bzero(p->password, strlen(p->password));
                free(p->password);
        }
        free(p->callers);
        free(p->want);
        free(p->index_digest);
        free(p->index_body);
        free(p->manifest_digest);
        free(p->manifest_body);
        oci_manifest_free(p->manifest);
        strv_free_n(p->pending, p->n_pending);
        image_config_free(p->config);
        strv_free(p->chain_ids);
        free(p);
}

/* The pull is over: it leaves the table first (so a caller may pull again from its done
 * callback), then every caller hears the result. */
static void pull_finish(struct pull_job *p, int r, enum pull_error_kind kind, nl_error *err) {
        struct pull_caller *callers = TAKE_PTR(p->callers);
        size_t n = p->n_callers;
        _cleanup_free_ char *image_id = NULL;

        p->n_callers = 0;
        if (r >= 0 && p->manifest && p->manifest->config.digest)
                image_id = strdup(p->manifest->config.digest);
        if (r >= 0 && !image_id) {
                r = -ENOMEM;
                kind = PULL_ERR_OTHER;
                nl_error_set(err, r, "out of memory");
        }
        if (r < 0) {
                if (!err->msg)
                        nl_error_set(err, r, "%s", strerror(-r));
                nl_error_prefix(err, "failed to pull \"%s\"", p->key);
        }
        pull_free(p);
        for (size_t i = 0; i < n; i++)
                callers[i].done(r, r < 0 ? kind : PULL_OK, r < 0 ? NULL : image_id, r < 0 ? err : NULL,
                                callers[i].userdata);
        free(callers);
}

static void pull_fail(struct pull_job *p, int r, enum pull_error_kind kind, const char *fmt, ...)
        _printf_(4, 5);
static void pull_fail(struct pull_job *p, int r, enum pull_error_kind kind, const char *fmt, ...) {
        _cleanup_free_ char *m = NL_FORMAT_VA(fmt);
        nl_error err = NL_ERROR_INIT;
        nl_error_set(&err, r, "%s", m ?: strerror(-r));
        pull_finish(p, r, kind, &err);
        nl_error_clear(&err);
}

/* This endpoint failed: a mirror gives way to the next endpoint, from the ping on; the
 * registry itself (always last) fails the pull. */
static void endpoint_failed(struct pull_job *p, int r, enum pull_error_kind kind, const char *msg) {
        if (p->ep + 1 < p->repo->n_ep) {
                p->ep++;
                free(p->index_digest);
                free(p->index_body);
                p->index_digest = p->index_body = NULL;
                p->index_len = 0;
                free(p->want);
                p->want = NULL;
                ping_start(p);
                return;
        }
        pull_fail(p, r, kind, "%s", msg);
}

static const char *endpoint_host(struct pull_job *p) {
        return p->repo->ep[p->ep].host;
}

/* Transport failures and 5xx: RegistryUnavailable. Returns true when it handled req. */
static bool handle_unavailable(struct pull_job *p, http_request *req, const char *what) {
        char msg[512];
        if (http_request_failed_transport(req))
                snprintf(msg, sizeof(msg), "registry \"%s\" unavailable: %s: %s", endpoint_host(p), what,
                         http_request_strerror(req));
        else if (req->result == CURLE_OK && (req->status >= 500 || req->status == 429))
                snprintf(msg, sizeof(msg), "registry \"%s\" unavailable: %s: HTTP %ld", endpoint_host(p),
                         what, req->status);
        else
                return false;
        http_request_free(req);
        endpoint_failed(p, -EHOSTUNREACH, PULL_ERR_UNAVAILABLE, msg);
        return true;
}

/* ==== ping and authorization ============================================================== */

static void on_auth(int r, const nl_error *err, void *userdata) {
        struct pull_job *p = userdata;
        p->auth = NULL;
        if (r < 0) {
                endpoint_failed(p, r, auth_error_kind(r), strempty(err ? err->msg : NULL));
                return;
        }
        manifest_start(p);
}

/* Answer a 401 (from the ping or the manifest), then go on with the manifest. */
static void authorize_then_manifest(struct pull_job *p, http_request *req) {
        _cleanup_free_ char *wa = http_request_header(req, "www-authenticate");
        nl_error err = NL_ERROR_INIT;
        int r;

        http_request_free(req);
        r = reg_authorize(p->repo, p->ep, wa, on_auth, p, &p->auth, &err);
        if (r < 0) {
                endpoint_failed(p, r, auth_error_kind(r), strempty(err.msg));
                nl_error_clear(&err);
                return;
        }
        if (r == 0)
                manifest_start(p);
}

static void on_ping(http_request *req, void *userdata) {
        struct pull_job *p = userdata;

        p->req = NULL;
        if (handle_unavailable(p, req, "GET /v2/"))
                return;
        if (req->result != CURLE_OK) {
                char msg[512];
                snprintf(msg, sizeof(msg), "registry \"%s\": GET /v2/: %s", endpoint_host(p),
                         http_request_strerror(req));
                http_request_free(req);
                endpoint_failed(p, -EIO, PULL_ERR_OTHER, msg);
                return;
        }
        if (req->status == 401) {
                struct reg_endpoint *e = &p->repo->ep[p->ep];
                uint64_t now = 0;
                (void) sd_event_now(p->client->event, CLOCK_MONOTONIC, &now);
                if (token_cache_get(p->client->tokens, e->host, p->repo->scope, e->username, now)) {
                        /* A token from an earlier pull: try it; a 401 gets a fresh one. */
                        http_request_free(req);
                        p->auth_tried = false;
                        manifest_start(p);
                        return;
                }
                /* The ping's challenge has no scope; ours is added when asking for a token. */
                p->auth_tried = true;
                authorize_then_manifest(p, req);
                return;
        }
        /* 200, or a registry that does not implement the ping (404): on with the manifest. */
        http_request_free(req);
        p->auth_tried = false;
        manifest_start(p);
}

static void ping_start(struct pull_job *p) {
        int r = reg_request_new(p->repo, p->ep, "", &p->req);
        if (r >= 0)
                r = http_request_start(p->req, on_ping, NULL, p);
        if (r < 0) {
                http_request_free(TAKE_PTR(p->req));
                pull_fail(p, r, PULL_ERR_OTHER, "registry \"%s\": cannot start a request: %s",
                          endpoint_host(p), strerror(-r));
        }
}

/* ==== manifests ========================================================================== */

static void blobs_start(struct pull_job *p);

static bool is_sha256(const char *d) {
        return d && strncmp(d, "sha256:", 7) == 0;
}

/* The body is what was asked for: its own digest is the one requested (by digest), and the
 * registry's Docker-Content-Digest agrees with it. */
static int check_manifest_digest(struct pull_job *p, http_request *req, char digest[DIGEST_STRING_MAX]) {
        _cleanup_free_ char *dcd = http_request_header(req, "docker-content-digest");
        int r = digest_buffer(strempty(req->body.data), req->body.len, digest);
        if (r < 0)
                return pull_fail(p, r, PULL_ERR_OTHER, "hash manifest: %s", strerror(-r)), r;
        if (p->want_is_digest && !streq(digest, p->want)) {
                pull_fail(p, -EBADMSG, PULL_ERR_DIGEST,
                          "manifest %s from registry \"%s\" does not match its digest (content is %s)",
                          p->want, endpoint_host(p), digest);
                return -EBADMSG;
        }
        if (is_sha256(dcd) && !streq(dcd, digest)) {
                pull_fail(p, -EBADMSG, PULL_ERR_DIGEST,
                          "manifest %s from registry \"%s\": Docker-Content-Digest %s does not match the "
                          "content (%s)",
                          p->want, endpoint_host(p), dcd, digest);
                return -EBADMSG;
        }
        if (p->want_size >= 0 && (int64_t) req->body.len != p->want_size) {
                pull_fail(p, -EBADMSG, PULL_ERR_DIGEST,
                          "manifest %s from registry \"%s\" has %zu bytes, the index says %" PRId64, p->want,
                          endpoint_host(p), req->body.len, p->want_size);
                return -EBADMSG;
        }
        return 0;
}

static void select_platform(struct pull_job *p, struct oci_manifest *index, const char *digest,
                            http_request *req) {
        struct oci_platform host;
        const struct oci_descriptor *d = NULL;
        nl_error err = NL_ERROR_INIT;
        int r;

        if (p->index_digest) {
                oci_manifest_free(index);
                http_request_free(req);
                pull_fail(p, -EINVAL, PULL_ERR_OTHER, "index %s names another index, which is not supported",
                          p->index_digest);
                return;
        }
        oci_platform_host(&host);
        r = oci_index_select(index, &host, &d, &err);
        if (r < 0) {
                oci_manifest_free(index);
                http_request_free(req);
                pull_finish(p, r, PULL_ERR_PLATFORM, &err);
                nl_error_clear(&err);
                return;
        }
        free(p->want);
        p->want = strdup(d->digest);
        p->want_is_digest = true;
        p->want_size = d->size;
        oci_manifest_free(index);
        p->index_digest = strdup(digest);
        p->index_len = req->body.len;
        p->index_body = nl_buf_steal(&req->body);
        http_request_free(req);
        if (!p->want || !p->index_digest || !p->index_body) {
                pull_fail(p, -ENOMEM, PULL_ERR_OTHER, "out of memory");
                return;
        }
        p->auth_tried = false;
        manifest_start(p);
}

static void on_manifest(http_request *req, void *userdata) {
        struct pull_job *p = userdata;
        char digest[DIGEST_STRING_MAX], msg[512];
        struct oci_manifest *m = NULL;
        nl_error err = NL_ERROR_INIT;
        int r;

        p->req = NULL;
        if (req->body_too_big) {
                http_request_free(req);
                pull_fail(p, -EFBIG, PULL_ERR_OTHER, "manifest %s is larger than %u bytes", p->want,
                          IMAGE_MAX_MANIFEST_BYTES);
                return;
        }
        if (handle_unavailable(p, req, "GET manifest"))
                return;
        if (req->result != CURLE_OK) {
                snprintf(msg, sizeof(msg), "registry \"%s\": GET manifest %s: %s", endpoint_host(p), p->want,
                         http_request_strerror(req));
                http_request_free(req);
                endpoint_failed(p, -EIO, PULL_ERR_OTHER, msg);
                return;
        }
        if (req->status == 401 && !p->auth_tried) {
                p->auth_tried = true;
                authorize_then_manifest(p, req);
                return;
        }
        if (req->status == 401 || req->status == 403) {
                snprintf(msg, sizeof(msg),
                         "authorization failed for repository \"%s\" on registry \"%s\" (HTTP %ld)",
                         p->repo->path, endpoint_host(p), req->status);
                http_request_free(req);
                endpoint_failed(p, -EACCES, PULL_ERR_AUTH, msg);
                return;
        }
        if (req->status == 404) {
                http_request_free(req);
                endpoint_failed(p, -ENOENT, PULL_ERR_NOT_FOUND, "manifest unknown");
                return;
        }
        if (req->status != 200) {
                snprintf(msg, sizeof(msg), "registry \"%s\": GET manifest %s: unexpected HTTP %ld",
                         endpoint_host(p), p->want, req->status);
                http_request_free(req);
                endpoint_failed(p, -EIO, PULL_ERR_OTHER, msg);
                return;
        }

        if (check_manifest_digest(p, req, digest) < 0) {
                http_request_free(req);
                return;
        }
        _cleanup_free_ char *ct = http_request_header(req, "content-type");
        r = oci_manifest_parse(strempty(req->body.data), req->body.len, ct, &m, &err);
        if (r < 0) {
                http_request_free(req);
                nl_error_prefix(&err, "manifest %s", digest);
                pull_finish(p, r, PULL_ERR_OTHER, &err);
                nl_error_clear(&err);
                return;
        }
        if (m->kind == OCI_KIND_INDEX) {
                select_platform(p, m, digest, req);
                return;
        }
        p->manifest = m;
        p->manifest_digest = strdup(digest);
        p->manifest_len = req->body.len;
        p->manifest_body = nl_buf_steal(&req->body);
        http_request_free(req);
        if (!p->manifest_digest || !p->manifest_body) {
                pull_fail(p, -ENOMEM, PULL_ERR_OTHER, "out of memory");
                return;
        }
        blobs_start(p);
}

static void manifest_start(struct pull_job *p) {
        _cleanup_free_ char *suffix = NULL;
        int r;

        if (!p->want) {
                p->want_is_digest = p->ref.digest != NULL;
                p->want = strdup(p->ref.digest ? p->ref.digest : p->ref.tag);
                p->want_size = -1;
                if (!p->want) {
                        pull_fail(p, -ENOMEM, PULL_ERR_OTHER, "out of memory");
                        return;
                }
        }
        suffix = nl_strdupf("%s/manifests/%s", p->repo->path, p->want);
        r = suffix ? reg_request_new(p->repo, p->ep, suffix, &p->req) : -ENOMEM;
        if (r >= 0) {
                p->req->body_max = IMAGE_MAX_MANIFEST_BYTES;
                r = http_request_add_header(p->req, "Accept: %s, %s, %s, %s", MEDIA_OCI_MANIFEST,
                                            MEDIA_OCI_INDEX, MEDIA_DOCKER_MANIFEST, MEDIA_DOCKER_LIST);
        }
        if (r >= 0)
                r = http_request_start(p->req, on_manifest, NULL, p);
        if (r < 0) {
                http_request_free(TAKE_PTR(p->req));
                pull_fail(p, r, PULL_ERR_OTHER, "registry \"%s\": cannot start a request: %s",
                          endpoint_host(p), strerror(-r));
                return;
        }
        p->client->n_manifest_requests++;
}

/* ==== blobs, unpack, record ============================================================== */

static void unpack_step(struct pull_job *p);

static void on_blob_progress(struct pull_job *p, const char *digest, int64_t done, int64_t total) {
        struct pull_progress pp = {.digest = digest, .done = done, .total = total};
        for (size_t i = 0; i < p->n_callers; i++)
                if (p->callers[i].progress)
                        p->callers[i].progress(&pp, p->callers[i].userdata);
}

static int on_step(sd_event_source *s, void *userdata) {
        unpack_step(userdata);
        return 0;
}

static void blobs_done(struct pull_job *p) {
        nl_error err = NL_ERROR_INIT;
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        int r;

        r = image_store_read_blob(p->client->store, p->manifest->config.digest, IMAGE_MAX_CONFIG_BYTES, &buf,
                                  &len, &err);
        if (r >= 0)
                r = image_config_parse(buf, len, &p->config, &err);
        if (r < 0) {
                nl_error_prefix(&err, "image config %s", p->manifest->config.digest);
                pull_finish(p, r, PULL_ERR_OTHER, &err);
                nl_error_clear(&err);
                return;
        }
        if (p->config->n_diff_ids != p->manifest->n_layers) {
                pull_fail(p, -EINVAL, PULL_ERR_OTHER, "image config %s lists %zu diff_ids for %zu layers",
                          p->manifest->config.digest, p->config->n_diff_ids, p->manifest->n_layers);
                return;
        }
        r = image_chain_ids(p->config->diff_ids, p->config->n_diff_ids, &p->chain_ids);
        if (r < 0) {
                pull_fail(p, r, PULL_ERR_OTHER, "image config %s: chain ids: %s", p->manifest->config.digest,
                          strerror(-r));
                return;
        }
        r = sd_event_add_defer(p->client->event, &p->step, on_step, p);
        if (r < 0) {
                pull_fail(p, r, PULL_ERR_OTHER, "cannot schedule the unpack: %s", strerror(-r));
                return;
        }
        (void) sd_event_source_set_description(p->step, "registry-unpack");
}

static void on_blob_done(struct pull_job *p, const char *digest, int r, enum pull_error_kind kind,
                         const nl_error *err) {
        if (r < 0) {
                pull_fail(p, r, kind, "%s", err && err->msg ? err->msg : strerror(-r));
                return;
        }
        for (size_t i = 0; i < p->n_pending; i++)
                if (streq(p->pending[i], digest)) {
                        free(p->pending[i]);
                        p->pending[i] = p->pending[--p->n_pending];
                        break;
                }
        if (p->n_pending == 0)
                blobs_done(p);
}

static bool pending_has(struct pull_job *p, const char *digest) {
        for (size_t i = 0; i < p->n_pending; i++)
                if (streq(p->pending[i], digest))
                        return true;
        return false;
}

static int want_blob(struct pull_job *p, const struct oci_descriptor *d) {
        if (image_store_has_blob(p->client->store, d->digest) || pending_has(p, d->digest))
                return 0;
        char *s = strdup(d->digest);
        if (!s)
                return -ENOMEM;
        p->pending[p->n_pending++] = s;
        int r = blob_fetch(p->client, p->repo, p->ep, d, p, on_blob_done, on_blob_progress);
        if (r < 0) {
                free(p->pending[--p->n_pending]);
                return r;
        }
        return 0;
}

static void blobs_start(struct pull_job *p) {
        struct oci_manifest *m = p->manifest;
        int r;

        if (m->config.size < 0 || (uint64_t) m->config.size > IMAGE_MAX_CONFIG_BYTES) {
                pull_fail(p, -EFBIG, PULL_ERR_OTHER,
                          "image config %s has size %" PRId64 ", the limit is %u bytes", m->config.digest,
                          m->config.size, IMAGE_MAX_CONFIG_BYTES);
                return;
        }
        p->pending = calloc(m->n_layers + 1, sizeof(char *));
        if (!p->pending) {
                pull_fail(p, -ENOMEM, PULL_ERR_OTHER, "out of memory");
                return;
        }
        r = want_blob(p, &m->config);
        for (size_t i = 0; r >= 0 && i < m->n_layers; i++)
                r = want_blob(p, &m->layers[i]);
        if (r < 0) {
                pull_fail(p, r, PULL_ERR_OTHER, "cannot start blob downloads: %s", strerror(-r));
                return;
        }
        /* Blob downloads call back from the loop, never from blob_fetch(). */
        if (p->n_pending == 0)
                blobs_done(p);
}

static void record_image(struct pull_job *p) {
        nl_error err = NL_ERROR_INIT;
        int r;

        char stored[DIGEST_STRING_MAX];
        /* The manifest (and index) go in last, so a failed pull leaves no manifest behind. */
        r = image_store_put_blob(p->client->store, p->manifest_body, p->manifest_len, p->manifest_digest,
                                 stored, &err);
        if (r >= 0 && p->index_digest)
                r = image_store_put_blob(p->client->store, p->index_body, p->index_len, p->index_digest,
                                         stored, &err);
        if (r >= 0)
                r = image_store_add_image(p->client->store, p->key, p->manifest_digest, p->index_digest,
                                          &err);
        if (r < 0) {
                pull_finish(p, r, r == -EBADMSG ? PULL_ERR_DIGEST : PULL_ERR_OTHER, &err);
                nl_error_clear(&err);
                return;
        }
        pull_finish(p, 0, PULL_OK, &err);
}

static void on_unpacked(int r, const nl_error *err, void *userdata) {
        struct pull_job *p = userdata;
        size_t i = p->unpack_next - 1;

        p->unpack = NULL;
        if (r < 0) {
                nl_error e = NL_ERROR_INIT;
                nl_error_set(&e, r, "%s", err && err->msg ? err->msg : strerror(-r));
                nl_error_prefix(&e, "layer %zu (%s)", i, p->manifest->layers[i].digest);
                pull_finish(p, r, r == -EBADMSG ? PULL_ERR_DIGEST : PULL_ERR_OTHER, &e);
                nl_error_clear(&e);
                return;
        }
        r = sd_event_source_set_enabled(p->step, SD_EVENT_ONESHOT);
        if (r < 0)
                pull_fail(p, r, PULL_ERR_OTHER, "cannot schedule the unpack: %s", strerror(-r));
}

/* The layers in order, each unpacked in a child of ours (image_store_unpack_layer_async):
 * a layer of a million files or gigabytes takes minutes, and the loop runs probes, the Lease
 * and the watchdog meanwhile. The next one starts from the loop when a child is done. */
static void unpack_step(struct pull_job *p) {
        struct oci_manifest *m = p->manifest;
        nl_error err = NL_ERROR_INIT;
        int r;

        while (p->unpack_next < m->n_layers && image_store_has_layer(p->client->store, p->chain_ids[p->unpack_next]))
                p->unpack_next++;
        if (p->unpack_next >= m->n_layers) {
                p->step = sd_event_source_disable_unref(p->step);
                record_image(p);
                return;
        }
        size_t i = p->unpack_next++;
        r = image_store_unpack_layer_async(p->client->store, p->client->event, m->layers[i].digest,
                                           m->layers[i].media_type, p->config->diff_ids[i], p->chain_ids[i],
                                           on_unpacked, p, &p->unpack, &err);
        if (r < 0) {
                nl_error_prefix(&err, "layer %zu (%s)", i, m->layers[i].digest);
                pull_finish(p, r, PULL_ERR_OTHER, &err);
                nl_error_clear(&err);
        }
}

/* ==== starting, joining ================================================================== */

static int on_start(sd_event_source *s, void *userdata) {
        struct pull_job *p = userdata;
        nl_error err = NL_ERROR_INIT;
        int r;

        p->step = sd_event_source_disable_unref(p->step);
        r = repo_new(p->client, &p->ref, p->username, p->password, &p->repo, &err);
        if (r < 0) {
                if (!err.msg)
                        nl_error_set(&err, r, "registry \"%s\": %s", p->ref.domain, strerror(-r));
                pull_finish(p, r, PULL_ERR_OTHER, &err);
                nl_error_clear(&err);
                return 0;
        }
        p->ep = 0;
        ping_start(p);
        return 0;
}

static int ref_copy(const struct image_ref *src, struct image_ref *dst) {
        *dst = (struct image_ref){};
        dst->domain = strdup(src->domain);
        dst->path = strdup(src->path);
        dst->tag = src->tag ? strdup(src->tag) : NULL;
        dst->digest = src->digest ? strdup(src->digest) : NULL;
        if (!dst->domain || !dst->path || (src->tag && !dst->tag) || (src->digest && !dst->digest)) {
                image_ref_done(dst);
                return -ENOMEM;
        }
        return 0;
}

static int add_caller(struct pull_job *p, pull_progress_fn progress, pull_done_fn done, void *userdata) {
        struct pull_caller *l = reallocarray(p->callers, p->n_callers + 1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        p->callers = l;
        l[p->n_callers++] = (struct pull_caller){progress, done, userdata};
        return 0;
}

int registry_pull(struct registry_client *c, const struct image_ref *ref, const char *username,
                  const char *password, pull_progress_fn progress, pull_done_fn done, void *userdata) {
        _cleanup_free_ char *key = NULL;
        struct pull_job *p;
        int r;

        if (!c || !ref || !done || isempty(ref->domain) || isempty(ref->path) || (!ref->tag && !ref->digest))
                return -EINVAL;
        if (ref->digest && !digest_is_valid(ref->digest))
                return -EINVAL;
        key = image_ref_string(ref);
        if (!key)
                return -ENOMEM;

        /* Joined: the first caller's credentials are used. */
        for (p = c->pulls; p; p = p->next)
                if (streq(p->key, key))
                        return add_caller(p, progress, done, userdata);

        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->client = c;
        p->want_size = -1;
        p->key = TAKE_PTR(key);
        r = ref_copy(ref, &p->ref);
        if (r < 0) {
                free(p->key);
                free(p);
                return r;
        }
        if (username && (!(p->username = strdup(username)) || !(p->password = strdup(strempty(password))))) {
                pull_free(p);
                return -ENOMEM;
        }
        r = add_caller(p, progress, done, userdata);
        if (r >= 0)
                r = sd_event_add_defer(c->event, &p->step, on_start, p);
        if (r < 0) {
                pull_free(p);
                return r;
        }
        (void) sd_event_source_set_description(p->step, "registry-pull-start");
        p->next = c->pulls;
        if (c->pulls)
                c->pulls->prev = p;
        c->pulls = p;
        return 0;
}

/* ==== the client ========================================================================= */

static void host_config_done(struct registry_host_config *h) {
        free(h->host);
        free(h->ca_file);
        strv_free_n(h->mirrors, h->n_mirrors);
}

static int host_config_copy(const struct registry_host_config *src, struct registry_host_config *dst) {
        *dst = (struct registry_host_config){.insecure = src->insecure};
        dst->host = strdup(strempty(src->host));
        dst->ca_file = src->ca_file ? strdup(src->ca_file) : NULL;
        dst->mirrors = calloc(src->n_mirrors + 1, sizeof(char *));
        if (!dst->host || (src->ca_file && !dst->ca_file) || !dst->mirrors)
                return -ENOMEM;
        for (size_t i = 0; i < src->n_mirrors; i++) {
                dst->mirrors[i] = strdup(strempty(src->mirrors[i]));
                if (!dst->mirrors[i])
                        return -ENOMEM;
                dst->n_mirrors++;
        }
        return 0;
}

int registry_client_new(sd_event *event, struct image_store *store, const struct registry_config *cfg,
                        struct registry_client **ret) {
        struct registry_client *c;
        int r;

        if (!event || !store || !ret)
                return -EINVAL;
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->event = sd_event_ref(event);
        c->store = store;
        /* Zero means the default, so a zeroed config is a sensible one. */
        c->max_parallel_blobs = cfg && cfg->max_parallel_blobs ? cfg->max_parallel_blobs : 4;
        c->retries = cfg && cfg->retries ? cfg->retries : 3;
        if (cfg) {
                if (cfg->auth_file && !(c->auth_file = strdup(cfg->auth_file))) {
                        registry_client_free(c);
                        return -ENOMEM;
                }
                c->hosts = calloc(cfg->n_hosts + 1, sizeof(*c->hosts));
                if (!c->hosts) {
                        registry_client_free(c);
                        return -ENOMEM;
                }
                for (size_t i = 0; i < cfg->n_hosts; i++) {
                        r = host_config_copy(&cfg->hosts[i], &c->hosts[i]);
                        c->n_hosts++;
                        if (r < 0) {
                                registry_client_free(c);
                                return r;
                        }
                }
        }
        r = http_engine_new(event, &c->http);
        if (r >= 0)
                r = token_cache_new(&c->tokens);
        if (r >= 0)
                r = blob_scheduler_new(c);
        if (r < 0) {
                registry_client_free(c);
                return r;
        }
        *ret = c;
        return 0;
}

/* Pulls in flight are dropped without their callbacks: the caller is going away. Not to be
 * called from a pull's own callbacks. */
void registry_client_free(struct registry_client *c) {
        if (!c)
                return;
        while (c->pulls)
                pull_free(c->pulls);
        blob_jobs_free_all(c);
        while (c->auth_ops)
                auth_op_cancel(c->auth_ops);
        http_engine_free(c->http);
        token_cache_free(c->tokens);
        for (size_t i = 0; i < c->n_hosts; i++)
                host_config_done(&c->hosts[i]);
        free(c->hosts);
        free(c->auth_file);
        sd_event_unref(c->event);
        free(c);
}
