/* SPDX-License-Identifier: Apache-2.0 */
/* The node's credentials as the kubelet gets and keeps them: TLS bootstrap
 * (pkg/kubelet/certificate/bootstrap: --kubeconfig missing or its client certificate unusable,
 * a CSR sent with the --bootstrap-kubeconfig's token, the issued pair kept in --cert-dir and a
 * kubeconfig written that names it), client certificate rotation (rotateCertificates) and the
 * serving certificate through a CSR (serverTLSBootstrap). All on the loop: the CSR and its
 * polling are API requests like the others; key generation is a few milliseconds. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "agent/manager.h"
#include "certs.h"
#include "common/fs.h"
#include "csr.h"

#define SIGNER_CLIENT "kubernetes.io/kube-apiserver-client-kubelet"
#define SIGNER_SERVING "kubernetes.io/kubelet-serving"
/* the kubelet's bootstrap waits an hour for its certificate (requestNodeCertificate) */
#define BOOTSTRAP_WAIT_USEC (3600 * USEC_PER_SEC)
/* kept until the CSR is signed, so a restarted bootstrap sends the same key (and CSR name) */
#define BOOTSTRAP_KEY_TMP "kubelet-client.key.tmp"

static char *memdup0(const char *d, size_t n) {
        char *s = malloc(n + 1);
        if (s) {
                memcpy(s, d, n);
                s[n] = '\0';
        }
        return s;
}

static const char *const node_orgs[] = { "system:nodes", NULL };
/* The bootstrap's usages (requestNodeCertificate); the rotations' EC keys get no key
 * encipherment (the kubelet since 1.27: only RSA keys ask for it; both are permitted by the
 * signers) */
static const char *const bootstrap_usages[] = { "digital signature", "key encipherment", "client auth", NULL };
static const char *const client_usages[] = { "digital signature", "client auth", NULL };
static const char *const serving_usages[] = { "digital signature", "server auth", NULL };

/* isClientConfigStillValid: the file exists, loads, and its client certificate is there and
 * unexpired (with its key). A reason on false. */
static bool kubeconfig_usable(const char *path, char **ret_why) {
        struct kubeconfig kc = {};
        nl_error err = NL_ERROR_INIT;
        if (access(path, F_OK) < 0) {
                *ret_why = nl_strdupf("%s does not exist", path);
                return false;
        }
        if (kubeconfig_load(path, NULL, &kc, &err) < 0) {
                *ret_why = strdup(strempty(err.msg));
                nl_error_clear(&err);
                return false;
        }
        _cleanup_free_ char *cert = NULL, *key = NULL;
        size_t cert_len = 0, key_len = 0;
        bool ok = true;
        if (kc.cert_data)
                {
                cert = memdup0(kc.cert_data, kc.cert_data_len);
                cert_len = kc.cert_data_len;
        }
        else if (!kc.cert_file || nl_read_file(kc.cert_file, CERT_PEM_MAX, false, &cert, &cert_len) < 0)
                ok = false;
        if (kc.key_data)
                {
                key = memdup0(kc.key_data, kc.key_data_len);
                key_len = kc.key_data_len;
        }
        else if (!kc.key_file || nl_read_file(kc.key_file, CERT_PEM_MAX, false, &key, &key_len) < 0)
                ok = false;
        _cleanup_free_ char *why = NULL;
        if (!ok || !cert || !key)
                why = nl_strdupf("%s: no readable client certificate and key", path);
        else if (!cert_pair_usable(cert, cert_len, key, key_len, time(NULL), &why)) {
                char *w = nl_strdupf("%s: %s", path, strempty(why));
                free(why);
                why = w;
        }
        if (key)
                explicit_bzero(key, key_len);
        kubeconfig_done(&kc);
        if (why) {
                *ret_why = TAKE_PTR(why);
                return false;
        }
        return true;
}

int manager_cluster_load(struct manager *m, nl_error *err) {
        const struct nodelet_config *c = m->cfg;
        _cleanup_free_ char *why = NULL;
        if (c->bootstrap_kubeconfig && !kubeconfig_usable(c->kubeconfig, &why)) {
                log_info("TLS bootstrap with %s: %s", c->bootstrap_kubeconfig, strempty(why));
                if (!(m->bootstrap_kc = calloc(1, sizeof(*m->bootstrap_kc))))
                        return -ENOMEM;
                int r = kubeconfig_load(c->bootstrap_kubeconfig, NULL, m->bootstrap_kc, err);
                if (r < 0)
                        return nl_error_prefix(err, "--bootstrap-kubeconfig");
                r = api_client_new(m->event, m->bootstrap_kc, "nodelet/" NODELET_VERSION, &m->bootstrap_api);
                if (r < 0)
                        return nl_error_set(err, r, "API client: %s", strerror(-r));
                return 0;
        }
        if (!(m->kubeconfig = calloc(1, sizeof(*m->kubeconfig))))
                return -ENOMEM;
        int r = kubeconfig_load(c->kubeconfig, NULL, m->kubeconfig, err);
        if (r < 0)
                return r;
        r = api_client_new(m->event, m->kubeconfig, "nodelet/" NODELET_VERSION, &m->api);
        if (r < 0)
                return nl_error_set(err, r, "API client: %s", strerror(-r));
        return 0;
}

static char *b64(const char *d, size_t n) {
        char *out = malloc(4 * ((n + 2) / 3) + 1);
        if (out)
                EVP_EncodeBlock((unsigned char *) out, (const unsigned char *) d, (int) n);
        return out;
}

/* writeKubeconfigFromBootstrapping: the bootstrap kubeconfig's cluster (server, CA, and
 * tls-server-name, which the kubelet's drops), the pair in the cert dir as the user */
static int write_kubeconfig(const struct kubeconfig *bkc, const char *path, const char *pem, nl_error *err) {
        json_t *cluster = json_pack("{s:s}", "server", bkc->server);
        _cleanup_free_ char *ca = bkc->ca_data ? b64(bkc->ca_data, bkc->ca_data_len) : NULL;
        if (!cluster || (bkc->ca_data && !ca)) {
                json_decref(cluster);
                return nl_error_set(err, -ENOMEM, "out of memory");
        }
        if (bkc->ca_file)
                json_object_set_new(cluster, "certificate-authority", json_string(bkc->ca_file));
        else if (ca)
                json_object_set_new(cluster, "certificate-authority-data", json_string(ca));
        if (bkc->insecure)
                json_object_set_new(cluster, "insecure-skip-tls-verify", json_true());
        if (bkc->tls_server_name)
                json_object_set_new(cluster, "tls-server-name", json_string(bkc->tls_server_name));
        json_t *doc = json_pack("{s:s, s:s, s:[{s:s, s:o}], s:[{s:s, s:{s:s, s:s}}], s:[{s:s, s:{s:s, s:s, s:s}}], s:s}",
                                "apiVersion", "v1", "kind", "Config", "clusters", "name", "default-cluster", "cluster",
                                cluster, "users", "name", "default-auth", "user", "client-certificate", pem,
                                "client-key", pem, "contexts", "name", "default-context", "context", "cluster",
                                "default-cluster", "user", "default-auth", "namespace", "default",
                                "current-context", "default-context");
        /* JSON is YAML: the kubeconfig loaders take it */
        _cleanup_free_ char *text = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;
        json_decref(doc);
        if (!text)
                return nl_error_set(err, -ENOMEM, "out of memory");
        _cleanup_free_ char *copy = strdup(path);
        char *slash = copy ? strrchr(copy, '/') : NULL;
        if (slash && slash != copy) {
                *slash = '\0';
                (void) nl_mkdir_p(copy, 0755);
        }
        int r = nl_write_file_atomic(path, text, strlen(text), 0600);
        if (r < 0)
                return nl_error_set(err, r, "write --kubeconfig %s: %s", path, strerror(-r));
        return 0;
}

static void bootstrap_fail(struct manager *m, const char *msg) {
        log_error("TLS bootstrap failed: %s", msg);
        sd_event_exit(m->event, -EIO);
}

static void bootstrap_client_free(struct manager *m) {
        m->bootstrap_cleanup = sd_event_source_disable_unref(m->bootstrap_cleanup);
        api_client_free(m->bootstrap_api);
        m->bootstrap_api = NULL;
        kubeconfig_done(m->bootstrap_kc);
        free(m->bootstrap_kc);
        m->bootstrap_kc = NULL;
}

static int on_bootstrap_cleanup(sd_event_source *s, void *userdata) {
        (void) s;
        bootstrap_client_free(userdata);
        return 0;
}

static void on_bootstrap_issued(const char *cert_pem, size_t len, const char *error, void *userdata) {
        struct manager *m = userdata;
        const struct nodelet_config *c = m->cfg;
        _cleanup_free_ char *key = TAKE_PTR(m->bootstrap_key);
        csr_request_free(m->bootstrap_csr);
        m->bootstrap_csr = NULL;
        if (error) {
                bootstrap_fail(m, error);
                return;
        }
        nl_error err = NL_ERROR_INIT;
        _cleanup_free_ char *path = NULL, *tmp = nl_strdupf("%s/" BOOTSTRAP_KEY_TMP, c->cert_dir);
        _cleanup_free_ char *current = cert_store_current_path(c->cert_dir, "kubelet-client");
        int r = current ? cert_store_update(c->cert_dir, "kubelet-client", cert_pem, len, key, time(NULL), &path, &err)
                        : -ENOMEM;
        explicit_bzero(key, strlen(key));
        if (r >= 0)
                r = write_kubeconfig(m->bootstrap_kc, c->kubeconfig, current, &err);
        if (r < 0) {
                bootstrap_fail(m, err.msg ? err.msg : strerror(-r));
                nl_error_clear(&err);
                return;
        }
        if (tmp)
                (void) unlink(tmp);
        log_info("TLS bootstrap: client certificate %s, kubeconfig %s written", path, c->kubeconfig);
        /* the bootstrap client goes (and its connection with it) once out of its own callback */
        if (sd_event_add_defer(m->event, &m->bootstrap_cleanup, on_bootstrap_cleanup, m) >= 0)
                (void) sd_event_source_set_description(m->bootstrap_cleanup, "bootstrap-cleanup");
        /* on as if started with that kubeconfig */
        if ((r = manager_cluster_load(m, &err)) < 0 || (r = manager_start_cluster(m, &err)) < 0) {
                bootstrap_fail(m, err.msg ? err.msg : strerror(-r));
                nl_error_clear(&err);
        }
}

/* The key of an earlier, unfinished bootstrap, else a new one (written there first). */
static int bootstrap_key(const char *dir, char **ret, nl_error *err) {
        _cleanup_free_ char *path = nl_strdupf("%s/" BOOTSTRAP_KEY_TMP, dir), *key = NULL, *csr = NULL;
        size_t len = 0;
        if (!path)
                return -ENOMEM;
        if (nl_read_file(path, CERT_PEM_MAX, true, &key, &len) == 0 &&
            cert_csr_make(key, "probe", NULL, NULL, NULL, &csr, NULL) == 0) {
                *ret = TAKE_PTR(key);
                return 0;
        }
        free(key);
        key = NULL;
        int r = cert_key_generate(&key, err);
        if (r < 0)
                return r;
        if ((r = nl_mkdir_p(dir, 0755)) < 0 || (r = nl_write_file_atomic(path, key, strlen(key), 0600)) < 0)
                return nl_error_set(err, r, "write %s: %s", path, strerror(-r));
        *ret = TAKE_PTR(key);
        return 0;
}

int manager_bootstrap_start(struct manager *m, nl_error *err) {
        const struct nodelet_config *c = m->cfg;
        _cleanup_free_ char *key = NULL, *csr = NULL, *name = NULL;
        _cleanup_free_ char *cn = nl_strdupf("system:node:%s", c->node_name);
        if (!cn)
                return -ENOMEM;
        int r = bootstrap_key(c->cert_dir, &key, err);
        if (r >= 0)
                r = cert_csr_make(key, cn, node_orgs, NULL, NULL, &csr, err);
        if (r >= 0)
                r = cert_bootstrap_csr_name(key, cn, node_orgs, bootstrap_usages, &name, err);
        if (r < 0)
                return nl_error_prefix(err, "TLS bootstrap");
        struct csr_spec spec = {
                .name = name,
                .signer_name = SIGNER_CLIENT,
                .usages = bootstrap_usages,
                .csr_pem = csr,
                .timeout = BOOTSTRAP_WAIT_USEC,
        };
        r = csr_request_start(m->event, m->bootstrap_api, &spec, on_bootstrap_issued, m, &m->bootstrap_csr);
        if (r < 0)
                return nl_error_set(err, r, "TLS bootstrap: %s", strerror(-r));
        m->bootstrap_key = TAKE_PTR(key);
        log_info("TLS bootstrap: waiting for certificate signing request %s (%s, signer %s) against %s", name, cn,
                 SIGNER_CLIENT, m->bootstrap_kc->server);
        return 0;
}

/* ---- rotation ------------------------------------------------------------------------------ */

static void on_client_rotated(const char *path, void *userdata) {
        struct manager *m = userdata;
        struct kubeconfig *kc = m->kubeconfig;
        /* the kubeconfig's own pair (another file, or embedded) gives way to the store's, as
         * the kubelet's client uses its certificate manager's current pair from then on */
        if (!streq_ptr(kc->cert_file, path) || !streq_ptr(kc->key_file, path)) {
                char *a = strdup(path), *b = strdup(path);
                if (!a || !b) {
                        free(a);
                        free(b);
                        return;
                }
                free(kc->cert_file);
                free(kc->key_file);
                free(kc->cert_data);
                if (kc->key_data)
                        explicit_bzero(kc->key_data, kc->key_data_len);
                free(kc->key_data);
                kc->cert_file = a;
                kc->key_file = b;
                kc->cert_data = kc->key_data = NULL;
                kc->cert_data_len = kc->key_data_len = 0;
        }
        log_info("client certificate rotated: closing the API connections so they come back with it");
        api_client_credentials_changed(m->api);
}

static void on_serving_rotated(const char *path, void *userdata) {
        (void) userdata;
        /* the node server re-reads its files at its next connection */
        log_info("serving certificate now %s", path);
}

/* The serving certificate's file when serverTLSBootstrap makes it, else NULL. */
char *manager_serving_cert_path(struct manager *m) {
        const struct nodelet_config *c = m->cfg;
        if (!c->server_tls_bootstrap || !m->api || c->tls_cert_file)
                return NULL;
        return cert_store_current_path(c->cert_dir, "kubelet-server");
}

int manager_certs_start(struct manager *m, nl_error *err) {
        const struct nodelet_config *c = m->cfg;
        _cleanup_free_ char *cn = nl_strdupf("system:node:%s", c->node_name);
        if (!cn)
                return -ENOMEM;
        int r;
        if (c->rotate_certificates && (m->kubeconfig->cert_file || m->kubeconfig->cert_data)) {
                struct cert_rotator_config rc = {
                        .dir = c->cert_dir,
                        .prefix = "kubelet-client",
                        .what = "client certificate",
                        .signer_name = SIGNER_CLIENT,
                        .usages = client_usages,
                        .cn = cn,
                        .orgs = node_orgs,
                        .rotated = on_client_rotated,
                        .userdata = m,
                };
                if ((r = cert_rotator_new(m->event, m->api, &rc, &m->client_rotator, err)) < 0)
                        return r;
        } else if (c->rotate_certificates)
                log_warning("rotateCertificates: %s has no client certificate to rotate, ignoring", c->kubeconfig);
        if (c->server_tls_bootstrap && c->tls_cert_file)
                log_warning("serverTLSBootstrap: --tls-cert-file is given, serving that; no serving CSR");
        else if (c->server_tls_bootstrap) {
                /* pkg/kubelet's server certificate manager: the node's Hostname address as a DNS
                 * name, its InternalIP as an IP address */
                const char *dns[] = { c->node_name, NULL };
                const char *ips[] = { m->host_ip, NULL };
                struct cert_rotator_config rc = {
                        .dir = c->cert_dir,
                        .prefix = "kubelet-server",
                        .what = "serving certificate",
                        .signer_name = SIGNER_SERVING,
                        .usages = serving_usages,
                        .cn = cn,
                        .orgs = node_orgs,
                        .dns_names = dns,
                        .ips = ips,
                        .rotated = on_serving_rotated,
                        .userdata = m,
                };
                if ((r = cert_rotator_new(m->event, m->api, &rc, &m->server_rotator, err)) < 0)
                        return r;
        }
        return 0;
}

void manager_certs_free(struct manager *m) {
        cert_rotator_free(m->client_rotator);
        m->client_rotator = NULL;
        cert_rotator_free(m->server_rotator);
        m->server_rotator = NULL;
        csr_request_free(m->bootstrap_csr);
        m->bootstrap_csr = NULL;
        if (m->bootstrap_key)
                explicit_bzero(m->bootstrap_key, strlen(m->bootstrap_key));
        free(m->bootstrap_key);
        m->bootstrap_key = NULL;
        bootstrap_client_free(m);
}
