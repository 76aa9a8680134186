/* SPDX-License-Identifier: Apache-2.0 */
/* CertificateSigningRequests and certificate rotation on the loop (see csr.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "agent/manager.h" /* the daemon's log */
#include "certs.h"
#include "common/fs.h"
#include "common/strv.h"
#include "csr.h"

#define CSR_PATH "/apis/certificates.k8s.io/v1/certificatesigningrequests"
/* client-go waits on the CSR with an informer (a watch); we ask for it every 2 s instead: one
 * small GET, for the minute or so a CSR waits for its approver */
#define CSR_POLL_USEC (2 * USEC_PER_SEC)

struct csr_request {
        sd_event *event;
        struct api_client *api;
        struct api_request *req;
        sd_event_source *timer;
        char *name, *uid, *csr_pem, *signer_name;
        bool named; /* a fixed name: an existing CSR of that name is ours (the bootstrap's) */
        bool created; /* the API server has it: the timer polls it, else sends it again */
        json_t *object;
        usec_t deadline; /* CLOCK_MONOTONIC */
        csr_done_fn done;
        void *userdata;
};

static char *b64(const char *s) {
        size_t n = strlen(s);
        char *out = malloc(4 * ((n + 2) / 3) + 1);
        if (out)
                EVP_EncodeBlock((unsigned char *) out, (const unsigned char *) s, (int) n);
        return out;
}

json_t *csr_object(const struct csr_spec *spec) {
        _cleanup_free_ char *req = b64(spec->csr_pem);
        json_t *usages = json_array();
        for (size_t i = 0; spec->usages && spec->usages[i]; i++)
                json_array_append_new(usages, json_string(spec->usages[i]));
        if (!req || !usages) {
                json_decref(usages);
                return NULL;
        }
        return json_pack("{s:s, s:s, s:{s:s}, s:{s:s, s:s, s:o}}", "apiVersion", "certificates.k8s.io/v1", "kind",
                         "CertificateSigningRequest", "metadata", spec->name ? "name" : "generateName",
                         spec->name ? spec->name : "csr-", "spec", "request", req, "signerName",
                         spec->signer_name, "usages", usages);
}

int csr_status(json_t *csr, char **ret_cert_pem, size_t *ret_len, char **ret_why) {
        json_t *st = json_object_get(csr, "status"), *c;
        size_t i;
        bool approved = false;
        json_array_foreach(json_object_get(st, "conditions"), i, c) {
                const char *type = json_string_value(json_object_get(c, "type"));
                const char *reason = json_string_value(json_object_get(c, "reason"));
                const char *msg = json_string_value(json_object_get(c, "message"));
                /* as client-go's WaitForCertificate: Denied and Failed end the wait */
                if (streq_ptr(type, "Denied") || streq_ptr(type, "Failed")) {
                        *ret_why = nl_strdupf("certificate signing request %s is %s, reason: %s, message: %s",
                                              strempty(json_string_value(json_object_get(
                                                      json_object_get(csr, "metadata"), "name"))),
                                              streq(type, "Denied") ? "denied" : "failed", strempty(reason),
                                              strempty(msg));
                        return -EACCES;
                }
                if (streq_ptr(type, "Approved"))
                        approved = true;
        }
        const char *cert = json_string_value(json_object_get(st, "certificate"));
        if (!approved || isempty(cert))
                return 0;
        char *pem = NULL;
        size_t len = 0;
        if (nl_base64_decode(cert, &pem, &len) < 0) {
                *ret_why = strdup("status.certificate is not valid base64");
                return -EINVAL;
        }
        *ret_cert_pem = pem;
        *ret_len = len;
        return 1;
}

static void finish(struct csr_request *r, const char *cert, size_t len, const char *error) {
        csr_done_fn done = r->done;
        r->done = NULL;
        api_request_cancel(r->req);
        r->req = NULL;
        (void) sd_event_source_set_enabled(r->timer, SD_EVENT_OFF);
        if (done)
                done(cert, len, error, r->userdata);
}

static const char *api_message(json_t *body, const char *error) {
        const char *m = json_string_value(json_object_get(body, "message"));
        return error ? error : m ? m : "no message";
}

static void poll_later(struct csr_request *r) {
        usec_t now = now_monotonic();
        if (now >= r->deadline) {
                _cleanup_free_ char *e = nl_strdupf("timed out waiting for certificate signing request %s to be signed",
                                                    strempty(r->name));
                finish(r, NULL, 0, e ? e : "timed out");
                return;
        }
        (void) sd_event_source_set_time(r->timer, now + CSR_POLL_USEC < r->deadline ? now + CSR_POLL_USEC : r->deadline);
        (void) sd_event_source_set_enabled(r->timer, SD_EVENT_ONESHOT);
}


/* The CSR as the API server answered it: signed, refused, or still waiting (read again later). */
static void follow(struct csr_request *r, json_t *body) {
        _cleanup_free_ char *cert = NULL, *why = NULL;
        size_t len = 0;
        int k = csr_status(body, &cert, &len, &why);
        if (k < 0)
                finish(r, NULL, 0, why ? why : "denied");
        else if (k > 0)
                finish(r, cert, len, NULL);
        else
                poll_later(r);
}

static void on_get(long status, json_t *body, const char *error, void *userdata) {
        struct csr_request *r = userdata;
        r->req = NULL;
        if (error || status != 200) {
                if (status == 404) {
                        _cleanup_free_ char *e = nl_strdupf("certificate signing request %s was deleted", r->name);
                        finish(r, NULL, 0, e ? e : "deleted");
                        return;
                }
                /* the API server away for a moment: ask again until the deadline */
                log_debug("certificate signing request %s: %ld %s", r->name, status, api_message(body, error));
                poll_later(r);
                return;
        }
        const char *uid = json_string_value(json_object_get(json_object_get(body, "metadata"), "uid"));
        if (r->uid && !streq_ptr(uid, r->uid)) {
                _cleanup_free_ char *e = nl_strdupf("certificate signing request %s was replaced (uid %s, was %s)", r->name,
                                                    strempty(uid), r->uid);
                finish(r, NULL, 0, e ? e : "replaced");
                return;
        }
        follow(r, body);
}

static void on_created(long status, json_t *body, const char *error, void *userdata);

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct csr_request *r = userdata;
        (void) s;
        (void) usec;
        if (!r->created) {
                r->req = api_request(r->api, "POST", CSR_PATH, r->object, NULL, on_created, r);
                if (!r->req)
                        poll_later(r);
                return 0;
        }
        _cleanup_free_ char *en = api_escape(r->name);
        _cleanup_free_ char *path = en ? nl_strdupf(CSR_PATH "/%s", en) : NULL;
        r->req = path ? api_request(r->api, "GET", path, NULL, NULL, on_get, r) : NULL;
        if (!r->req)
                poll_later(r);
        return 0;
}

static void adopt(struct csr_request *r, json_t *obj) {
        json_t *meta = json_object_get(obj, "metadata");
        const char *name = json_string_value(json_object_get(meta, "name"));
        const char *uid = json_string_value(json_object_get(meta, "uid"));
        free(r->name);
        r->name = name ? strdup(name) : NULL;
        free(r->uid);
        r->uid = uid ? strdup(uid) : NULL;
}

static void on_existing(long status, json_t *body, const char *error, void *userdata) {
        struct csr_request *r = userdata;
        r->req = NULL;
        const char *signer = json_string_value(json_object_get(json_object_get(body, "spec"), "signerName"));
        if (error || status != 200 || !streq_ptr(signer, r->signer_name)) {
                _cleanup_free_ char *e = nl_strdupf("certificate signing request %s exists and cannot be reused: %s",
                                                    r->name,
                                                    error || status != 200 ? api_message(body, error) : "another signer");
                finish(r, NULL, 0, e ? e : "exists");
                return;
        }
        log_info("certificate signing request %s exists already (sent before a restart): waiting for it", r->name);
        r->created = true;
        adopt(r, body);
        on_get(status, body, NULL, r);
}

static void on_created(long status, json_t *body, const char *error, void *userdata) {
        struct csr_request *r = userdata;
        r->req = NULL;
        if (status == 409 && r->named) {
                /* client-go's RequestCertificate: AlreadyExists with our own name is our request */
                _cleanup_free_ char *en = api_escape(r->name);
                _cleanup_free_ char *path = en ? nl_strdupf(CSR_PATH "/%s", en) : NULL;
                r->req = path ? api_request(r->api, "GET", path, NULL, NULL, on_existing, r) : NULL;
                if (!r->req)
                        finish(r, NULL, 0, "out of memory");
                return;
        }
        if (error || status == 0 || status == 429 || status >= 500) {
                /* the API server not there (yet, or for a moment): send it again until the
                 * deadline, as the kubelet waits for its API server before its bootstrap */
                log_info("create certificate signing request: %s; trying again", api_message(body, error));
                poll_later(r);
                return;
        }
        if (status != 201) {
                _cleanup_free_ char *e = nl_strdupf("create certificate signing request: %s (HTTP %ld)",
                                                    api_message(body, error), status);
                finish(r, NULL, 0, e ? e : "refused");
                return;
        }
        r->created = true;
        adopt(r, body);
        if (!r->name) {
                finish(r, NULL, 0, "the API server's CertificateSigningRequest has no name");
                return;
        }
        log_info("certificate signing request %s sent (signer %s)", r->name, r->signer_name);
        /* it may be signed already (an auto-approver is fast) */
        follow(r, body);
}

int csr_request_start(sd_event *event, struct api_client *api, const struct csr_spec *spec, csr_done_fn done,
                      void *userdata, struct csr_request **ret) {
        struct csr_request *r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        *r = (struct csr_request){
                .event = sd_event_ref(event),
                .api = api,
                .named = spec->name != NULL,
                .name = spec->name ? strdup(spec->name) : NULL,
                .signer_name = strdup(spec->signer_name),
                .deadline = now_monotonic() + spec->timeout,
                .done = done,
                .userdata = userdata,
        };
        json_t *obj = r->object = csr_object(spec);
        int k = -ENOMEM;
        if (obj && r->signer_name && (!spec->name || r->name) &&
            (k = sd_event_add_time(event, &r->timer, CLOCK_MONOTONIC, 0, 10 * USEC_PER_MSEC, on_timer, r)) >= 0) {
                (void) sd_event_source_set_enabled(r->timer, SD_EVENT_OFF);
                (void) sd_event_source_set_description(r->timer, "csr-poll");
                r->req = api_request(api, "POST", CSR_PATH, obj, NULL, on_created, r);
                k = r->req ? 0 : -ENOMEM;
        }
        if (k < 0) {
                r->done = NULL;
                csr_request_free(r);
                return k;
        }
        *ret = r;
        return 0;
}

void csr_request_free(struct csr_request *r) {
        if (!r)
                return;
        api_request_cancel(r->req);
        sd_event_source_disable_unref(r->timer);
        sd_event_unref(r->event);
        free(r->name);
        free(r->uid);
        free(r->csr_pem);
        free(r->signer_name);
        json_decref(r->object);
        free(r);
}

const char *csr_request_name(const struct csr_request *r) {
        return r ? r->name : NULL;
}

/* ==== the rotator ============================================================================ */

/* client-go's certificate manager: a failed rotation is retried after 2, 4, 8, 16 and 32 s
 * (wait.Backoff{2s, x2, 5 steps}), then every 32 s; it waits for the signer up to 15 min */
#define ROTATE_WAIT_USEC (15 * 60 * USEC_PER_SEC)
#define ROTATE_RETRY_MAX_SEC 32

struct cert_rotator {
        sd_event *event;
        struct api_client *api;
        sd_event_source *timer;
        struct csr_request *csr;
        char *dir, *prefix, *what, *signer_name, *cn;
        char **usages, **orgs, **dns_names, **ips;
        char *current; /* <dir>/<prefix>-current.pem */
        char *initial_cert_file, *initial_key_file;
        char *pending_key; /* the key of the CSR in flight */
        time_t deadline;
        unsigned failures;
        cert_rotated_fn rotated;
        void *userdata;
};

static char **strv_dup(const char *const *v) {
        size_t n = 0;
        while (v && v[n])
                n++;
        char **d = calloc(n + 1, sizeof(char *));
        for (size_t i = 0; d && i < n; i++)
                if (!(d[i] = strdup(v[i]))) {
                        strv_free(d);
                        return NULL;
                }
        return d;
}

/* The pair in use: the store's current file, else the initial (kubeconfig's) one. */
static int read_current(struct cert_rotator *cr, char **ret_cert, size_t *ret_len, bool *ret_usable) {
        _cleanup_free_ char *cert = NULL, *key = NULL;
        size_t len = 0, key_len = 0;
        int r = nl_read_file(cr->current, CERT_PEM_MAX, false, &cert, &len);
        if (r == 0)
                r = nl_read_file(cr->current, CERT_PEM_MAX, false, &key, &key_len);
        else if (cr->initial_cert_file && cr->initial_key_file) {
                r = nl_read_file(cr->initial_cert_file, CERT_PEM_MAX, false, &cert, &len);
                if (r == 0)
                        r = nl_read_file(cr->initial_key_file, CERT_PEM_MAX, false, &key, &key_len);
        }
        if (r < 0)
                return r;
        *ret_usable = cert_pair_usable(cert, len, key, key_len, time(NULL), NULL) &&
                      cert_satisfies(cert, len, cr->cn, (const char *const *) cr->orgs,
                                     (const char *const *) cr->dns_names, (const char *const *) cr->ips);
        if (key)
                explicit_bzero(key, key_len);
        *ret_cert = TAKE_PTR(cert);
        *ret_len = len;
        return 0;
}

static void arm(struct cert_rotator *cr, time_t when) {
        cr->deadline = when;
        usec_t at = when <= 0 ? 1 : (usec_t) when * USEC_PER_SEC;
        (void) sd_event_source_set_time(cr->timer, at);
        (void) sd_event_source_set_enabled(cr->timer, SD_EVENT_ONESHOT);
}

static void schedule(struct cert_rotator *cr) {
        _cleanup_free_ char *cert = NULL;
        size_t len = 0;
        bool usable = false;
        time_t nb, na, now = time(NULL);
        if (read_current(cr, &cert, &len, &usable) < 0 || !usable || cert_pem_validity(cert, len, &nb, &na, NULL) < 0) {
                log_info("%s: none usable in %s, requesting one now", cr->what, cr->dir);
                arm(cr, now);
                return;
        }
        /* random() is seeded per process; the jitter only spreads nodes apart */
        time_t d = cert_rotation_deadline(nb, na, (double) random() / ((double) RAND_MAX + 1.0));
        log_info("%s: expires %lld, rotation in %lld s", cr->what, (long long) na, (long long) (d > now ? d - now : 0));
        arm(cr, d);
}

static void retry(struct cert_rotator *cr) {
        unsigned s = cr->failures < 5 ? 2u << cr->failures : ROTATE_RETRY_MAX_SEC;
        if (s > ROTATE_RETRY_MAX_SEC)
                s = ROTATE_RETRY_MAX_SEC;
        cr->failures++;
        arm(cr, time(NULL) + s);
}

static void on_issued(const char *cert_pem, size_t len, const char *error, void *userdata) {
        struct cert_rotator *cr = userdata;
        _cleanup_free_ char *key = TAKE_PTR(cr->pending_key);
        _cleanup_free_ char *name = strdup(strempty(csr_request_name(cr->csr)));
        csr_request_free(cr->csr);
        cr->csr = NULL;
        if (error) {
                log_warning("%s: certificate request was not signed: %s", cr->what, error);
                retry(cr);
                return;
        }
        nl_error err = NL_ERROR_INIT;
        _cleanup_free_ char *path = NULL;
        int r = cert_store_update(cr->dir, cr->prefix, cert_pem, len, key, time(NULL), &path, &err);
        explicit_bzero(key, strlen(key));
        if (r < 0) {
                log_warning("%s: unable to store the new pair: %s", cr->what, err.msg);
                nl_error_clear(&err);
                retry(cr);
                return;
        }
        cr->failures = 0;
        log_info("%s: %s issued by %s, now %s", cr->what, strempty(name), cr->signer_name, path);
        if (cr->rotated)
                cr->rotated(cr->current, cr->userdata);
        schedule(cr);
}

static int rotate(sd_event_source *s, uint64_t usec, void *userdata) {
        struct cert_rotator *cr = userdata;
        (void) s;
        (void) usec;
        if (cr->csr)
                return 0;
        nl_error err = NL_ERROR_INIT;
        _cleanup_free_ char *key = NULL, *csr = NULL;
        log_info("%s: rotating", cr->what);
        int r = cert_key_generate(&key, &err);
        if (r >= 0)
                r = cert_csr_make(key, cr->cn, (const char *const *) cr->orgs, (const char *const *) cr->dns_names,
                                  (const char *const *) cr->ips, &csr, &err);
        if (r < 0) {
                log_warning("%s: unable to generate a certificate signing request: %s", cr->what, err.msg);
                nl_error_clear(&err);
                retry(cr);
                return 0;
        }
        struct csr_spec spec = {
                .signer_name = cr->signer_name,
                .usages = (const char *const *) cr->usages,
                .csr_pem = csr,
                .timeout = ROTATE_WAIT_USEC,
        };
        r = csr_request_start(cr->event, cr->api, &spec, on_issued, cr, &cr->csr);
        if (r < 0) {
                log_warning("%s: unable to send the certificate signing request: %s", cr->what, strerror(-r));
                retry(cr);
                return 0;
        }
        cr->pending_key = TAKE_PTR(key);
        return 0;
}

int cert_rotator_new(sd_event *event, struct api_client *api, const struct cert_rotator_config *cfg,
                     struct cert_rotator **ret, nl_error *err) {
        struct cert_rotator *cr = calloc(1, sizeof(*cr));
        if (!cr)
                return nl_error_set(err, -ENOMEM, "out of memory");
        *cr = (struct cert_rotator){
                .event = sd_event_ref(event),
                .api = api,
                .dir = strdup(cfg->dir),
                .prefix = strdup(cfg->prefix),
                .what = strdup(cfg->what),
                .signer_name = strdup(cfg->signer_name),
                .cn = strdup(cfg->cn),
                .usages = strv_dup(cfg->usages),
                .orgs = strv_dup(cfg->orgs),
                .dns_names = strv_dup(cfg->dns_names),
                .ips = strv_dup(cfg->ips),
                .current = cert_store_current_path(cfg->dir, cfg->prefix),
                .initial_cert_file = cfg->initial_cert_file ? strdup(cfg->initial_cert_file) : NULL,
                .initial_key_file = cfg->initial_key_file ? strdup(cfg->initial_key_file) : NULL,
                .rotated = cfg->rotated,
                .userdata = cfg->userdata,
        };
        int r = -ENOMEM;
        if (cr->dir && cr->prefix && cr->what && cr->signer_name && cr->cn && cr->usages && cr->orgs &&
            cr->dns_names && cr->ips && cr->current &&
            (r = sd_event_add_time(event, &cr->timer, CLOCK_REALTIME, 0, USEC_PER_SEC, rotate, cr)) >= 0) {
                (void) sd_event_source_set_description(cr->timer, "cert-rotation");
                schedule(cr);
        }
        if (r < 0) {
                cert_rotator_free(cr);
                return nl_error_set(err, r, "%s rotation: %s", cfg->what, strerror(-r));
        }
        *ret = cr;
        return 0;
}

void cert_rotator_free(struct cert_rotator *cr) {
        if (!cr)
                return;
        csr_request_free(cr->csr);
        sd_event_source_disable_unref(cr->timer);
        sd_event_unref(cr->event);
        if (cr->pending_key)
                explicit_bzero(cr->pending_key, strlen(cr->pending_key));
        free(cr->pending_key);
        free(cr->dir);
        free(cr->prefix);
        free(cr->what);
        free(cr->signer_name);
        free(cr->cn);
        strv_free(cr->usages);
        strv_free(cr->orgs);
        strv_free(cr->dns_names);
        strv_free(cr->ips);
        free(cr->current);
        free(cr->initial_cert_file);
        free(cr->initial_key_file);
        free(cr);
}

time_t cert_rotator_deadline(const struct cert_rotator *cr) {
        return cr ? cr->deadline : 0;
}
