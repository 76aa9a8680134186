/* SPDX-License-Identifier: Apache-2.0 */
/* kubeconfig files (client-go's clientcmd v1 shape): clusters, users and contexts by name,
 * current-context picking one of each. A node agent needs the server, how to trust it, and
 * who it is: a client certificate (the node's usual credential) or a bearer token. */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "common/fs.h"
#include "podspec/podspec.h"

#define KUBECONFIG_MAX_BYTES (4 * 1024 * 1024)

static json_t *named(json_t *list, const char *key, const char *name, const char *what, const char *file,
                     nl_error *err) {
        size_t i;
        json_t *e;
        if (list && !json_is_array(list)) {
                nl_error_set(err, -EINVAL, "%s: %s must be a list", file, what);
                return NULL;
        }
        json_array_foreach(list, i, e) {
                if (streq_ptr(json_string_value(json_object_get(e, "name")), name)) {
                        json_t *v = json_object_get(e, key);
                        if (!json_is_object(v)) {
                                nl_error_set(err, -EINVAL, "%s: %s \"%s\" has no %s", file, what, name, key);
                                return NULL;
                        }
                        return v;
                }
        }
        nl_error_set(err, -ENOENT, "%s: no %s named \"%s\"", file, what, name);
        return NULL;
}

/* A string field; NULL when absent; -EINVAL when present with another type. */
static int str_field(json_t *obj, const char *key, const char *file, const char *where, const char **ret,
                     nl_error *err) {
        json_t *v = json_object_get(obj, key);
        *ret = NULL;
        if (!v || json_is_null(v))
                return 0;
        if (!json_is_string(v))
                return nl_error_set(err, -EINVAL, "%s: %s.%s must be a string", file, where, key);
        *ret = json_string_value(v);
        return 0;
}

static int data_field(json_t *obj, const char *key, const char *file, const char *where, char **ret,
                      size_t *ret_len, nl_error *err) {
        const char *s;
        int r = str_field(obj, key, file, where, &s, err);
        if (r < 0 || !s)
                return r;
        if (nl_base64_decode(s, ret, ret_len) < 0)
                return nl_error_set(err, -EINVAL, "%s: %s.%s is not valid base64", file, where, key);
        return 0;
}

static int path_field(json_t *obj, const char *key, const char *dir, const char *file, const char *where,
                      char **ret, nl_error *err) {
        const char *s;
        int r = str_field(obj, key, file, where, &s, err);
        if (r < 0 || !s || !*s)
                return r;
        /* client-go resolves relative paths against the kubeconfig's directory */
        *ret = s[0] == '/' || !dir ? strdup(s) : nl_strdupf("%s/%s", dir, s);
        return *ret ? 0 : -ENOMEM;
}

/* tls-server-name, as client-go's rest.TLSClientConfig.ServerName (which the kubelet's
 * kubeconfig loading fills from it): the name sent as SNI and checked against the server's
 * certificate, while the connection still goes to `server`. libcurl (7.88 here) has no option
 * for "verify this other name": the URL names tls-server-name, CURLOPT_CONNECT_TO sends the
 * connection to the server's host and port, and Host: keeps the server's authority, as
 * client-go's requests carry it. An http server has no TLS: the name is unused, as in Go. */
static bool dns_name_ok(const char *s) {
        size_t n = strlen(s);
        if (n == 0 || n > 253 || s[0] == '.' || s[0] == '-' || s[n - 1] == '.' || strstr(s, ".."))
                return false;
        for (const char *p = s; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
                      *p == '.'))
                        return false;
        return true;
}

static int tls_server_name_setup(struct kubeconfig *kc, const char *file, const char *cluster, nl_error *err) {
        if (!dns_name_ok(kc->tls_server_name))
                return nl_error_set(err, -EINVAL,
                                    "%s: cluster \"%s\": tls-server-name must be a DNS name or an IPv4 address, got \"%s\"",
                                    file, cluster, kc->tls_server_name);
        if (strncmp(kc->server, "https://", 8) != 0)
                return 0;
        CURLU *u = curl_url();
        char *host = NULL, *port = NULL, *explicit_port = NULL, *base = NULL;
        _cleanup_free_ char *to = NULL;
        int r = -ENOMEM;
        if (!u)
                goto out;
        if (curl_url_set(u, CURLUPART_URL, kc->server, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK ||
            curl_url_set(u, CURLUPART_HOST, kc->tls_server_name, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_URL, &base, 0) != CURLUE_OK) {
                r = nl_error_set(err, -EINVAL, "%s: cluster \"%s\": server \"%s\" with tls-server-name \"%s\": not a URL libcurl takes",
                                 file, cluster, kc->server, kc->tls_server_name);
                goto out;
        }
        /* libcurl gives "https://name:6443/" for a server without a path: requests add theirs */
        size_t n = strlen(base);
        while (n > 0 && base[n - 1] == '/')
                base[--n] = '\0';
        to = nl_strdupf("%s::%s:%s", kc->tls_server_name, host, port);
        kc->tls_url_base = strdup(base);
        /* the Host a request to `server` carries: its port only when the URL has one */
        if (curl_url_get(u, CURLUPART_PORT, &explicit_port, 0) == CURLUE_OK)
                kc->host_header = nl_strdupf("Host: %s:%s", host, explicit_port);
        else
                kc->host_header = nl_strdupf("Host: %s", host);
        kc->connect_to = to ? curl_slist_append(NULL, to) : NULL;
        r = kc->tls_url_base && kc->host_header && kc->connect_to ? 0 : -ENOMEM;
out:
        curl_free(host);
        curl_free(port);
        curl_free(explicit_port);
        curl_free(base);
        curl_url_cleanup(u);
        return r;
}

int kubeconfig_parse(const char *buf, size_t len, const char *dir, const char *context, struct kubeconfig *ret,
                     nl_error *err) {
        const char *file = ret->path ? ret->path : "kubeconfig";
        _cleanup_free_ char *yerr = NULL;
        json_t *docs = NULL;
        int r = podspec_yaml_to_json(buf, len, &docs, &yerr);
        if (r < 0) {
                json_decref(docs);
                return nl_error_set(err, -EINVAL, "%s: %s", file, strempty(yerr));
        }
        json_t *root = json_array_get(docs, 0);
        if (json_array_size(docs) != 1 || !json_is_object(root)) {
                json_decref(docs);
                return nl_error_set(err, -EINVAL, "%s: expected one kubeconfig document", file);
        }
        struct kubeconfig kc = { .path = ret->path };
        const char *ctx_name = context, *cluster_name, *user_name, *s;
        json_t *ctx = NULL, *cluster = NULL, *user = NULL;
        if (!ctx_name && (r = str_field(root, "current-context", file, "kubeconfig", &ctx_name, err)) < 0)
                goto fail;
        if (isempty(ctx_name)) {
                r = nl_error_set(err, -EINVAL, "%s: no current-context", file);
                goto fail;
        }
        if (!(ctx = named(json_object_get(root, "contexts"), "context", ctx_name, "context", file, err)) ||
            (r = str_field(ctx, "cluster", file, "context", &cluster_name, err)) < 0 ||
            (r = str_field(ctx, "user", file, "context", &user_name, err)) < 0) {
                r = r < 0 ? r : -EINVAL;
                goto fail;
        }
        if (!cluster_name || !(cluster = named(json_object_get(root, "clusters"), "cluster", cluster_name, "cluster",
                                               file, err))) {
                r = cluster_name ? -EINVAL : nl_error_set(err, -EINVAL, "%s: context \"%s\" names no cluster", file,
                                                          ctx_name);
                goto fail;
        }
        if ((r = str_field(cluster, "server", file, "cluster", &s, err)) < 0)
                goto fail;
        /* "https:///" has no host (and trimming its slashes below would leave "https:") */
        const char *host = s && strstr(s, "://") ? strstr(s, "://") + 3 : NULL;
        if (isempty(s) || (strncmp(s, "https://", 8) != 0 && strncmp(s, "http://", 7) != 0) || !host ||
            *host == '\0' || *host == '/') {
                r = nl_error_set(err, -EINVAL, "%s: cluster \"%s\": server must be an http(s) URL, got \"%s\"", file,
                                 cluster_name, strempty(s));
                goto fail;
        }
        kc.server = strdup(s);
        size_t n = strlen(kc.server);
        while (n > 0 && kc.server[n - 1] == '/')
                kc.server[--n] = '\0';
        json_t *insecure = json_object_get(cluster, "insecure-skip-tls-verify");
        kc.insecure = json_is_true(insecure);
        if ((r = str_field(cluster, "tls-server-name", file, "cluster", &s, err)) < 0)
                goto fail;
        kc.tls_server_name = s && *s ? strdup(s) : NULL;
        if (kc.tls_server_name && (r = tls_server_name_setup(&kc, file, cluster_name, err)) < 0)
                goto fail;
        if ((r = path_field(cluster, "certificate-authority", dir, file, "cluster", &kc.ca_file, err)) < 0 ||
            (r = data_field(cluster, "certificate-authority-data", file, "cluster", &kc.ca_data, &kc.ca_data_len, err)) <
                    0)
                goto fail;
        if (user_name) {
                if (!(user = named(json_object_get(root, "users"), "user", user_name, "user", file, err))) {
                        r = -EINVAL;
                        goto fail;
                }
                if ((r = path_field(user, "client-certificate", dir, file, "user", &kc.cert_file, err)) < 0 ||
                    (r = data_field(user, "client-certificate-data", file, "user", &kc.cert_data, &kc.cert_data_len,
                                    err)) < 0 ||
                    (r = path_field(user, "client-key", dir, file, "user", &kc.key_file, err)) < 0 ||
                    (r = data_field(user, "client-key-data", file, "user", &kc.key_data, &kc.key_data_len, err)) < 0 ||
                    (r = path_field(user, "tokenFile", dir, file, "user", &kc.token_file, err)) < 0 ||
                    (r = str_field(user, "token", file, "user", &s, err)) < 0)
                        goto fail;
                kc.token = s && *s ? strdup(s) : NULL;
                if (json_object_get(user, "exec") || json_object_get(user, "auth-provider")) {
                        r = nl_error_set(err, -EOPNOTSUPP, "%s: user \"%s\": exec and auth-provider credentials are not supported",
                                         file, user_name);
                        goto fail;
                }
        }
        if ((kc.cert_file || kc.cert_data) != (kc.key_file || kc.key_data)) {
                r = nl_error_set(err, -EINVAL, "%s: user \"%s\": a client certificate needs its key (and the other way round)",
                                 file, strempty(user_name));
                goto fail;
        }
        json_decref(docs);
        *ret = kc;
        return 0;
fail:
        kc.path = NULL;
        kubeconfig_done(&kc);
        json_decref(docs);
        return r < 0 ? r : -EINVAL;
}

int kubeconfig_load(const char *path, const char *context, struct kubeconfig *ret, nl_error *err) {
        _cleanup_free_ char *buf = NULL, *copy = strdup(path), *abs = NULL;
        size_t len = 0;
        if (!copy)
                return -ENOMEM;
        int r = nl_read_file(path, KUBECONFIG_MAX_BYTES, true, &buf, &len);
        if (r == -EFBIG)
                return nl_error_set(err, r, "kubeconfig %s: larger than %d bytes", path, KUBECONFIG_MAX_BYTES);
        if (r < 0)
                return nl_error_set(err, r, "kubeconfig %s: %s", path, strerror(-r));
        char *dir = dirname(copy);
        if (dir[0] != '/') {
                char cwd[4096];
                if (getcwd(cwd, sizeof(cwd)))
                        abs = nl_strdupf("%s/%s", cwd, dir);
        }
        struct kubeconfig kc = { .path = strdup(path) };
        if (!kc.path)
                return -ENOMEM;
        r = kubeconfig_parse(buf, len, abs ? abs : dir, context, &kc, err);
        if (r < 0) {
                free(kc.path);
                return r;
        }
        *ret = kc;
        return 0;
}

void kubeconfig_done(struct kubeconfig *kc) {
        if (!kc)
                return;
        free(kc->path);
        free(kc->server);
        free(kc->tls_server_name);
        free(kc->tls_url_base);
        curl_slist_free_all(kc->connect_to);
        free(kc->host_header);
        free(kc->ca_file);
        free(kc->ca_data);
        free(kc->cert_file);
        free(kc->cert_data);
        if (kc->key_data)
                explicit_bzero(kc->key_data, kc->key_data_len);
        free(kc->key_file);
        free(kc->key_data);
        if (kc->token)
                explicit_bzero(kc->token, strlen(kc->token));
        free(kc->token);
        free(kc->token_file);
        *kc = (struct kubeconfig){};
}

int kubeconfig_apply(const struct kubeconfig *kc, CURL *e, const char *path, struct curl_slist **headers) {
        _cleanup_free_ char *url = nl_strdupf("%s%s", kc->tls_url_base ?: kc->server, path);
        bool ok = url && curl_easy_setopt(e, CURLOPT_URL, url) == CURLE_OK;
        if (kc->tls_url_base) {
                struct curl_slist *n = curl_slist_append(*headers, kc->host_header);
                if (!n)
                        return -ENOMEM;
                *headers = n;
                ok = ok && curl_easy_setopt(e, CURLOPT_CONNECT_TO, kc->connect_to) == CURLE_OK;
        }
        if (kc->insecure)
                ok = ok && curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L) == CURLE_OK &&
                     curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L) == CURLE_OK;
        if (kc->ca_data) {
                struct curl_blob b = { .data = kc->ca_data, .len = kc->ca_data_len, .flags = CURL_BLOB_COPY };
                ok = ok && curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &b) == CURLE_OK;
        } else if (kc->ca_file)
                ok = ok && curl_easy_setopt(e, CURLOPT_CAINFO, kc->ca_file) == CURLE_OK;
        if (kc->cert_data) {
                struct curl_blob b = { .data = kc->cert_data, .len = kc->cert_data_len, .flags = CURL_BLOB_COPY };
                ok = ok && curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &b) == CURLE_OK &&
                     curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM") == CURLE_OK;
        } else if (kc->cert_file)
                ok = ok && curl_easy_setopt(e, CURLOPT_SSLCERT, kc->cert_file) == CURLE_OK;
        if (kc->key_data) {
                struct curl_blob b = { .data = kc->key_data, .len = kc->key_data_len, .flags = CURL_BLOB_COPY };
                ok = ok && curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &b) == CURLE_OK &&
                     curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM") == CURLE_OK;
        } else if (kc->key_file)
                ok = ok && curl_easy_setopt(e, CURLOPT_SSLKEY, kc->key_file) == CURLE_OK;
        if (!ok)
                return -EIO;
        _cleanup_free_ char *token = NULL;
        if (kc->token_file) {
                size_t len = 0;
                /* re-read each time, as client-go does, so a rotated token is picked up */
                if (nl_read_file(kc->token_file, 64 * 1024, true, &token, &len) == 0) {
                        while (len > 0 && (token[len - 1] == '\n' || token[len - 1] == '\r' || token[len - 1] == ' '))
                                token[--len] = '\0';
                }
        }
        const char *t = token && *token ? token : kc->token;
        if (t) {
                _cleanup_free_ char *h = nl_strdupf("Authorization: Bearer %s", t);
                struct curl_slist *n = h ? curl_slist_append(*headers, h) : NULL;
                if (h)
                        explicit_bzero(h, strlen(h));
                if (!n)
                        return -ENOMEM;
                *headers = n;
        }
        return 0;
}
