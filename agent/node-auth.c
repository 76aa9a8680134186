/* SPDX-License-Identifier: Apache-2.0 */
/* The daemon's side of the node server (agent/server/): its configuration from the manager's,
 * and its webhook authentication and authorization, as the kubelet's defaults in a
 * cluster (authentication.webhook.enabled, authorization.mode Webhook): a bearer token is checked
 * with a TokenReview, every request with a SubjectAccessReview for nodes/<subresource>. Both run
 * in the connection's child, so blocking calls are fine there. The Node authorizer lets a node
 * create both reviews. */
#include <errno.h>
#include <stdio.h>

#include "agent/server/node-server.h"
#include "manager.h"

static int strv_from_json(json_t *a, char ***ret, size_t *ret_n) {
        size_t n = json_array_size(a), i;
        char **v = calloc(n + 1, sizeof(char *));
        json_t *e;
        if (!v)
                return -ENOMEM;
        size_t k = 0;
        json_array_foreach(a, i, e) if (json_is_string(e) && (v[k] = strdup(json_string_value(e)))) k++;
        *ret = v;
        *ret_n = k;
        return 0;
}

static int token_review(void *userdata, const char *token, struct node_identity *ret) {
        struct manager *m = userdata;
        json_t *body = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "authentication.k8s.io/v1", "kind", "TokenReview",
                                 "spec", "token", token);
        json_t *answer = NULL;
        long status = 0;
        int r = body ? api_call_sync(m->kubeconfig, "POST", "/apis/authentication.k8s.io/v1/tokenreviews", body, NULL,
                                     &status, &answer, NULL)
                     : -ENOMEM;
        json_decref(body);
        if (r < 0 || status != 201) {
                json_decref(answer);
                return r < 0 ? r : -EIO;
        }
        json_t *st = json_object_get(answer, "status");
        json_t *user = json_object_get(st, "user");
        const char *name = json_string_value(json_object_get(user, "username"));
        if (!json_is_true(json_object_get(st, "authenticated")) || !name) {
                json_decref(answer);
                return 0;
        }
        const char *uid = json_string_value(json_object_get(user, "uid"));
        *ret = (struct node_identity){ .user = strdup(name), .uid = uid ? strdup(uid) : NULL };
        json_t *extra = json_object_get(user, "extra");
        if (json_is_object(extra) && json_object_size(extra) > 0)
                ret->extra = json_incref(extra);
        r = ret->user && (!uid || ret->uid) ? strv_from_json(json_object_get(user, "groups"), &ret->groups, &ret->n_groups)
                                            : -ENOMEM;
        json_decref(answer);
        if (r < 0)
                node_identity_done(ret);
        return r < 0 ? r : 1;
}

/* The user's uid and extra go with the review, as the kubelet's webhook authorizer sends them
 * (an authorizer may decide on them). */
static int access_review(void *userdata, const struct node_identity *id, const char *verb, const char *subresource) {
        struct manager *m = userdata;
        json_t *g = json_array();
        for (size_t i = 0; i < id->n_groups; i++)
                json_array_append_new(g, json_string(id->groups[i]));
        json_t *body = json_pack("{s:s, s:s, s:{s:s, s:s?, s:o, s:O?, s:{s:s, s:s, s:s, s:s, s:s}}}", "apiVersion",
                                 "authorization.k8s.io/v1", "kind", "SubjectAccessReview", "spec", "user", id->user,
                                 "uid", id->uid, "groups", g, "extra", id->extra, "resourceAttributes", "verb", verb,
                                 "group", "", "resource", "nodes", "subresource", subresource, "name",
                                 m->cfg->node_name);
        json_t *answer = NULL;
        long status = 0;
        int r = body ? api_call_sync(m->kubeconfig, "POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", body,
                                     NULL, &status, &answer, NULL)
                     : -ENOMEM;
        json_decref(body);
        if (r < 0 || status != 201) {
                json_decref(answer);
                return r < 0 ? r : -EIO;
        }
        bool allowed = json_is_true(json_object_get(json_object_get(answer, "status"), "allowed"));
        json_decref(answer);
        return allowed ? 1 : 0;
}

static const char *health(void *userdata) {
        /* the runtime only: a node waiting for its pod network (kubeadm before a CNI is
         * installed) is a healthy agent */
        return manager_runtime_error(userdata, true);
}

int manager_start_node_server(struct manager *m) {
        const struct nodelet_config *c = m->cfg;
        /* 10250 needs credentials to check: the API server's reviews, or at least a client CA */
        bool serve = c->port > 0 && (m->api || c->client_ca_file);
        /* serverTLSBootstrap: the CSR's pair in the cert dir (certificate and key in one file) */
        _cleanup_free_ char *serving = manager_serving_cert_path(m);
        struct node_server_config sc = {
                .address = c->address,
                .port = serve ? c->port : 0,
                .cert_file = serving ? serving : c->tls_cert_file,
                .key_file = serving ? serving : c->tls_private_key_file,
                .self_signed_until_cert = serving != NULL,
                .client_ca_file = c->client_ca_file,
                .healthz_address = c->healthz_bind_address,
                .healthz_port = c->healthz_port,
                .node_name = c->node_name,
                .cri = &m->cri,
                .auth = {
                        .authenticate_token = m->api ? token_review : NULL,
                        .authorize = m->api ? access_review : NULL,
                        .userdata = m,
                },
                .health = health,
                .health_userdata = m,
                .streaming_idle_timeout = c->streaming_idle_timeout,
        };
        if (sc.port == 0 && sc.healthz_port == 0)
                return 0;
        nl_error err = NL_ERROR_INIT;
        int r = node_server_new(m->event, &sc, &m->node_server, &err);
        if (r < 0) {
                /* pods matter more than the node API: say so loudly and go on */
                log_error("node server: %s; running without it", strempty(err.msg));
                nl_error_clear(&err);
                return r;
        }
        if (sc.port)
                log_info("node server on %s:%d (TLS), healthz on %s:%d", strempty(c->address), c->port,
                         strempty(c->healthz_bind_address), c->healthz_port);
        else
                log_info("healthz on %s:%d", strempty(c->healthz_bind_address), c->healthz_port);
        return 0;
}
