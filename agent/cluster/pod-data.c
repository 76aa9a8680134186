/* SPDX-License-Identifier: Apache-2.0 */
/* API-backed pod data (see pod-data.h). The kubelet gets the same from its ConfigMap and
 * Secret managers, its token manager and its service lister; we ask the API server once per
 * pod sync (each GET a node may do under the Node authorizer), keep the answers with the pod
 * worker, and hand them to the runtime layer through its callbacks. */
#include <ctype.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>

#include "pod-data.h"

#define TOKEN_MAX_AGE (24ULL * 3600 * USEC_PER_SEC) /* the token manager's maxTTL */
#define TOKEN_MIN_SECONDS 600              /* the API server's minimum expirationSeconds */

struct object {
        bool secret;
        char *name;
        bool missing;   /* 404: the runtime reports `configmap "x" not found` where it matters */
        char *type;     /* Secret type */
        json_t *data;   /* {key: string}: ConfigMap data, Secret data decoded */
        json_t *binary; /* ConfigMap binaryData decoded (volumes see it, env does not) */
};

struct token {
        char *audience;             /* "" when the projection names none */
        int64_t expiration_seconds; /* as the projection asks: the key */
        char *token;
        usec_t expires_at, ttl; /* CLOCK_REALTIME; the answer's spec.expirationSeconds */
};

struct pod_data {
        struct object *objects;
        size_t n_objects;
        struct token *tokens;
        size_t n_tokens;
        char **service_env;
        size_t n_service_env;
};

/* {key: base64} -> {key: bytes} (json_stringn_nocheck: secrets need not be UTF-8) */
static int decode_map(const json_t *in, json_t **ret) {
        json_t *out = json_object();
        if (!out)
                return -ENOMEM;
        const char *key;
        json_t *v;
        json_object_foreach((json_t *) in, key, v) {
                if (!json_is_string(v))
                        continue;
                _cleanup_free_ char *bytes = NULL;
                size_t n = 0;
                int r = nl_base64_decode_n(json_string_value(v), json_string_length(v), true, &bytes,
                                               &n);
                if (r < 0 || json_object_set_new(out, key, json_stringn_nocheck(bytes, n)) < 0) {
                        json_decref(out);
                        return r < 0 ? r : -ENOMEM;
                }
        }
        *ret = out;
        return 0;
}

/* ==== the data ================================================================================== */

struct pod_data *pod_data_new(void) {
        return calloc(1, sizeof(struct pod_data));
}

static void object_done(struct object *o) {
        free(o->name);
        free(o->type);
        json_decref(o->data);
        json_decref(o->binary);
}

static void token_done(struct token *t) {
        free(t->audience);
        free(t->token);
}

static void service_env_done(struct pod_data *d) {
        for (size_t i = 0; i < d->n_service_env; i++)
                free(d->service_env[i]);
        free(d->service_env);
        d->service_env = NULL;
        d->n_service_env = 0;
}

void pod_data_free(struct pod_data *d) {
        if (!d)
                return;
        for (size_t i = 0; i < d->n_objects; i++)
                object_done(&d->objects[i]);
        free(d->objects);
        for (size_t i = 0; i < d->n_tokens; i++)
                token_done(&d->tokens[i]);
        free(d->tokens);
        service_env_done(d);
        free(d);
}

static struct object *find_object(const struct pod_data *d, bool secret, const char *name) {
        for (size_t i = 0; d && i < d->n_objects; i++)
                if (d->objects[i].secret == secret && streq(d->objects[i].name, name))
                        return &d->objects[i];
        return NULL;
}

static struct token *find_token(const struct pod_data *d, const char *audience, int64_t expiration_seconds) {
        for (size_t i = 0; d && i < d->n_tokens; i++)
                if (d->tokens[i].expiration_seconds == expiration_seconds &&
                    streq(d->tokens[i].audience, audience))
                        return &d->tokens[i];
        return NULL;
}

int pod_data_set_object(struct pod_data *d, bool secret, const char *name, const json_t *obj) {
        struct object o = {.secret = secret, .missing = !obj};
        int r = -ENOMEM;
        o.name = strdup(name);
        if (!o.name)
                goto fail;
        if (obj) {
                json_t *data = json_object_get(obj, "data");
                if (secret) {
                        o.type = strdup(strempty(json_string_value(json_object_get(obj, "type"))));
                        if (!o.type)
                                goto fail;
                        r = data ? decode_map(data, &o.data) : 0;
                        if (r < 0)
                                goto fail;
                } else {
                        o.data = json_object();
                        const char *key;
                        json_t *v;
                        json_object_foreach(data, key, v) {
                                if (json_is_string(v))
                                        json_object_set(o.data, key, v);
                        }
                        json_t *bin = json_object_get(obj, "binaryData");
                        r = bin ? decode_map(bin, &o.binary) : 0;
                        if (r < 0)
                                goto fail;
                }
                if (!o.data && !(o.data = json_object())) {
                        r = -ENOMEM;
                        goto fail;
                }
        }
        struct object *slot = find_object(d, secret, name);
        if (slot) {
                object_done(slot);
                *slot = o;
                return 0;
        }
        struct object *n = realloc(d->objects, (d->n_objects + 1) * sizeof(*n));
        if (!n) {
                r = -ENOMEM;
                goto fail;
        }
        d->objects = n;
        d->objects[d->n_objects++] = o;
        return 0;
fail:
        object_done(&o);
        return r;
}

int pod_data_set_token(struct pod_data *d, const char *audience, int64_t expiration_seconds,
                       const char *token, usec_t expires_at, usec_t ttl_usec) {
        struct token t = {
                .expiration_seconds = expiration_seconds, .expires_at = expires_at, .ttl = ttl_usec};
        t.audience = strdup(audience);
        t.token = strdup(token);
        if (!t.audience || !t.token) {
                token_done(&t);
                return -ENOMEM;
        }
        struct token *slot = find_token(d, audience, expiration_seconds);
        if (slot) {
                token_done(slot);
                *slot = t;
                return 0;
        }
        struct token *n = realloc(d->tokens, (d->n_tokens + 1) * sizeof(*n));
        if (!n) {
                token_done(&t);
                return -ENOMEM;
        }
        d->tokens = n;
        d->tokens[d->n_tokens++] = t;
        return 0;
}

static bool token_due(const struct token *t, usec_t now) {
        /* pkg/kubelet/token requiresRefresh: older than maxTTL (24 h), or within 20% of the TTL
         * from expiry (without the jitter: syncFrequency spreads the refreshes already) */
        usec_t issued = t->expires_at > t->ttl ? t->expires_at - t->ttl : 0;
        if (now > issued + TOKEN_MAX_AGE)
                return true;
        return now + t->ttl / 5 > t->expires_at;
}

bool pod_data_token_refresh_due(const struct pod_data *d, usec_t now) {
        for (size_t i = 0; d && i < d->n_tokens; i++)
                if (token_due(&d->tokens[i], now))
                        return true;
        return false;
}

bool pod_data_equal(const struct pod_data *a, const struct pod_data *b) {
        if (!a || !b)
                return a == b;
        if (a->n_objects != b->n_objects || a->n_tokens != b->n_tokens)
                return false;
        for (size_t i = 0; i < a->n_objects; i++) {
                const struct object *x = &a->objects[i], *y = find_object(b, x->secret, x->name);
                if (!y || x->missing != y->missing || !streq_ptr(x->type, y->type))
                        return false;
                if ((x->data || y->data) && !json_equal(x->data, y->data))
                        return false;
                if ((x->binary || y->binary) && !json_equal(x->binary, y->binary))
                        return false;
        }
        for (size_t i = 0; i < a->n_tokens; i++) {
                const struct token *x = &a->tokens[i],
                                   *y = find_token(b, x->audience, x->expiration_seconds);
                if (!y || !streq(x->token, y->token))
                        return false;
        }
        return true;
}

/* ==== service links (pkg/kubelet/envvars) ======================================================= */

struct env_list {
        char **v;
        size_t n;
        bool oom;
};

/* a map, as the kubelet's: a name made twice keeps the last value; the name is formatted */
static void env_put(struct env_list *e, const char *value, const char *name_fmt, ...) _printf_(3, 4);
static void env_put(struct env_list *e, const char *value, const char *name_fmt, ...) {
        _cleanup_free_ char *name = NL_FORMAT_VA(name_fmt);
        char *s = name && value ? nl_strdupf("%s=%s", name, value) : NULL;
        if (!s) {
                e->oom = true;
                return;
        }
        size_t nl = strlen(name);
        for (size_t i = 0; i < e->n; i++)
                if (strncmp(e->v[i], name, nl) == 0 && e->v[i][nl] == '=') {
                        free(e->v[i]);
                        e->v[i] = s;
                        return;
                }
        char **n = realloc(e->v, (e->n + 1) * sizeof(char *));
        if (!n) {
                free(s);
                e->oom = true;
                return;
        }
        e->v = n;
        e->v[e->n++] = s;
}

/* makeEnvVariableName: upper case, '-' -> '_' */
static char *env_name(const char *s) {
        char *r = strdup(s);
        for (char *p = r; p && *p; p++)
                *p = *p == '-' ? '_' : (char) toupper((unsigned char) *p);
        return r;
}

static bool service_ip_set(const json_t *svc) {
        const char *ip = json_string_value(json_object_get(json_object_get(svc, "spec"), "clusterIP"));
        return !isempty(ip) && !streq(ip, "None");
}

static const char *service_name(const json_t *svc) {
        return strempty(json_string_value(json_object_get(json_object_get(svc, "metadata"), "name")));
}

/* envvars.FromServices for one service */
static void service_env(struct env_list *e, const json_t *svc) {
        json_t *spec = json_object_get(svc, "spec"), *ports = json_object_get(spec, "ports"), *p;
        const char *ip = json_string_value(json_object_get(spec, "clusterIP"));
        if (!json_is_array(ports) || json_array_size(ports) == 0)
                return; /* validation gives every service with a cluster IP a port */
        _cleanup_free_ char *prefix = env_name(service_name(svc));
        /* net.JoinHostPort: IPv6 in brackets */
        _cleanup_free_ char *host = strchr(ip, ':') ? nl_strdupf("[%s]", ip) : strdup(ip);
        if (!prefix || !host) {
                e->oom = true;
                return;
        }
        env_put(e, ip, "%s_SERVICE_HOST", prefix);
        /* the first port under the backward-compatible name, then every named one */
        size_t i;
        json_array_foreach(ports, i, p) {
                const char *pn = json_string_value(json_object_get(p, "name"));
                if (i > 0 && isempty(pn))
                        continue;
                _cleanup_free_ char *port =
                        nl_strdupf("%" PRId64, (int64_t) json_integer_value(json_object_get(p, "port")));
                _cleanup_free_ char *upn = isempty(pn) ? NULL : env_name(pn);
                if (i == 0)
                        env_put(e, port, "%s_SERVICE_PORT", prefix);
                if (upn)
                        env_put(e, port, "%s_SERVICE_PORT_%s", prefix, upn);
        }
        /* makeLinkVariables: docker's link variables, the first port special-cased */
        json_array_foreach(ports, i, p) {
                const char *proto = json_string_value(json_object_get(p, "protocol"));
                _cleanup_free_ char *upper = strdup(isempty(proto) ? "TCP" : proto),
                                    *lower = strdup(strempty(upper));
                for (char *c = upper; c && *c; c++)
                        *c = (char) toupper((unsigned char) *c);
                for (char *c = lower; c && *c; c++)
                        *c = (char) tolower((unsigned char) *c);
                int64_t port = json_integer_value(json_object_get(p, "port"));
                _cleanup_free_ char *url = nl_strdupf("%s://%s:%" PRId64, strempty(lower), host, port);
                _cleanup_free_ char *num = nl_strdupf("%" PRId64, port);
                if (!upper || !lower) {
                        e->oom = true;
                        return;
                }
                if (i == 0)
                        env_put(e, url, "%s_PORT", prefix);
                env_put(e, url, "%s_PORT_%" PRId64 "_%s", prefix, port, upper);
                env_put(e, lower, "%s_PORT_%" PRId64 "_%s_PROTO", prefix, port, upper);
                env_put(e, num, "%s_PORT_%" PRId64 "_%s_PORT", prefix, port, upper);
                env_put(e, ip, "%s_PORT_%" PRId64 "_%s_ADDR", prefix, port, upper);
        }
}

int pod_data_set_services(struct pod_data *d, const json_t *ns_services, const json_t *master) {
        /* getServiceEnvVarMap: the master service "kubernetes" of namespace default always,
         * the pod namespace's services when enableServiceLinks; by name, the namespace's own
         * replacing the master's; none without a cluster IP */
        const json_t *sel[POD_DATA_MAX_SERVICES];
        size_t n = 0;
        if (master && service_ip_set(master))
                sel[n++] = master;
        size_t i;
        json_t *svc;
        json_array_foreach(ns_services, i, svc) {
                if (!service_ip_set(svc))
                        continue;
                size_t k;
                for (k = 0; k < n; k++)
                        if (streq(service_name(svc), service_name(sel[k])))
                                break;
                if (k == n && n == POD_DATA_MAX_SERVICES)
                        break;
                sel[k] = svc;
                if (k == n)
                        n++;
        }
        struct env_list e = {};
        for (size_t k = 0; k < n && !e.oom; k++)
                service_env(&e, sel[k]);
        if (e.oom) {
                for (size_t k = 0; k < e.n; k++)
                        free(e.v[k]);
                free(e.v);
                return -ENOMEM;
        }
        service_env_done(d);
        d->service_env = e.v;
        d->n_service_env = e.n;
        return 0;
}

char *const *pod_data_service_env(const struct pod_data *d, size_t *ret_n) {
        *ret_n = d->n_service_env;
        return d->service_env;
}

/* ==== the runtime's callbacks ==================================================================== */

static const char *lookup_key(void *userdata, bool secret, const char *name, const char *key,
                              bool *ret_object_missing) {
        const struct object *o = find_object(userdata, secret, name);
        *ret_object_missing = !o || o->missing;
        if (*ret_object_missing)
                return NULL;
        return json_string_value(json_object_get(o->data, key));
}

/* envFrom: data only (a ConfigMap's binaryData is not env) */
static int env_object(void *userdata, bool secret, const char *name, json_t **ret) {
        const struct object *o = find_object(userdata, secret, name);
        if (!o || o->missing)
                return -ENOENT;
        *ret = json_incref(o->data);
        return 0;
}

/* volumes: a ConfigMap's data and binaryData together, as MakePayload does */
static int volume_object(void *userdata, bool secret, const char *name, json_t **ret) {
        const struct object *o = find_object(userdata, secret, name);
        if (!o || o->missing)
                return -ENOENT;
        if (!o->binary || json_object_size(o->binary) == 0) {
                *ret = json_incref(o->data);
                return 0;
        }
        json_t *all = json_copy(o->data);
        if (!all || json_object_update(all, o->binary) < 0) {
                json_decref(all);
                return -ENOMEM;
        }
        *ret = all;
        return 0;
}

static int get_token(void *userdata, const char *audience, int64_t expiration_seconds, char **ret_token) {
        const struct token *t = find_token(userdata, strempty(audience), expiration_seconds);
        if (!t)
                return -ENOENT;
        char *s = strdup(t->token);
        if (!s)
                return -ENOMEM;
        *ret_token = s;
        return 0;
}

void pod_data_fill_plan(struct pod_data *d, struct plan_context *pc) {
        pc->lookup_key = lookup_key;
        pc->get_object = env_object;
        pc->service_env = d->service_env;
        pc->n_service_env = d->n_service_env;
        pc->userdata = d;
}

void pod_data_fill_volumes(struct pod_data *d, struct volume_context *vc) {
        vc->get_object = volume_object;
        vc->get_token = get_token;
        vc->userdata = d;
}

/* ==== image pull secrets (pkg/credentialprovider) ================================================ */

struct cred {
        char *key; /* schemeless, without /v1/ or /v2/ */
        const char *user, *pass;
        size_t order;
};

static char *schemeless(const char *s) {
        if (strncmp(s, "https://", 8) == 0)
                s += 8;
        else if (strncmp(s, "http://", 7) == 0)
                s += 7;
        return strdup(s);
}

/* BasicDockerKeyring.Add: "https://index.docker.io/v1/" -> "index.docker.io" */
static char *keyring_key(const char *loc) {
        char *k = schemeless(loc);
        if (!k)
                return NULL;
        char *path = strchr(k, '/');
        if (!path)
                return k;
        if (strncmp(path, "/v2/", 4) == 0 || strncmp(path, "/v1/", 4) == 0)
                memmove(path, path + 3, strlen(path + 3) + 1);
        if (streq(path, "/"))
                *path = '\0';
        return k;
}

/* URLsMatch: ports equal, as many host labels, each matching as a glob, the key's path a
 * prefix of the image's */
static bool key_matches(const char *key, const char *repo) {
        size_t kh = strcspn(key, "/"), rh = strcspn(repo, "/");
        if (strncmp(repo + rh, key + kh, strlen(key + kh)) != 0)
                return false;
        _cleanup_free_ char *k = strndup(key, kh), *r = strndup(repo, rh);
        if (!k || !r)
                return false;
        char *kp = strrchr(k, ':'), *rp = strrchr(r, ':');
        if (!streq(kp ? kp : "", rp ? rp : ""))
                return false;
        if (kp)
                *kp = '\0';
        if (rp)
                *rp = '\0';
        char *ks = NULL, *rs = NULL;
        char *kl = strtok_r(k, ".", &ks), *rl = strtok_r(r, ".", &rs);
        for (; kl && rl; kl = strtok_r(NULL, ".", &ks), rl = strtok_r(NULL, ".", &rs))
                if (fnmatch(kl, rl, 0) != 0)
                        return false;
        return !kl && !rl;
}

/* isDefaultRegistryMatch */
static bool docker_hub_image(const char *repo) {
        const char *slash = strchr(repo, '/');
        if (!slash)
                return true;
        size_t n = (size_t) (slash - repo);
        if (n == 0)
                return false;
        if ((n == 9 && strncmp(repo, "docker.io", 9) == 0) ||
            (n == 15 && strncmp(repo, "index.docker.io", 15) == 0))
                return true;
        return !memchr(repo, '.', n) && !memchr(repo, ':', n);
}

static int cred_cmp(const void *a, const void *b) {
        const struct cred *x = a, *y = b;
        int c = strcmp(y->key, x->key); /* reverse: more specific paths first */
        return c ? c : (x->order > y->order) - (x->order < y->order);
}

/* One "auths" entry: "auth" (base64 of user:password, padded or not) wins over username and
 * password, as DockerConfigEntry.UnmarshalJSON does. user/pass borrow from entry or are
 * kept in *owned. */
static int entry_credentials(json_t *entry, const char **user, const char **pass, char **owned) {
        const char *auth = json_string_value(json_object_get(entry, "auth"));
        if (isempty(auth)) {
                *user = json_string_value(json_object_get(entry, "username"));
                *pass = json_string_value(json_object_get(entry, "password"));
                return isempty(*user) ? -ENOENT : 0;
        }
        size_t len = strlen(auth), n = 0;
        while (len > 0 && strchr(" \t\r\n", auth[len - 1]))
                len--;
        char *dec = NULL;
        int r = nl_base64_decode_n(auth, len, len > 0 && auth[len - 1] == '=', &dec, &n);
        if (r < 0)
                return r;
        char *colon = strchr(dec, ':');
        if (!colon || strlen(dec) != n) {
                free(dec);
                return -EINVAL;
        }
        *colon = '\0';
        *owned = dec;
        *user = dec;
        *pass = colon + 1;
        return 0;
}

int pod_data_pull_auth(const struct pod_data *d, const struct pod *pod, const char *repo, char **ret_user,
                       char **ret_password) {
        struct cred *creds = NULL;
        size_t n = 0;
        char **owned = NULL;
        size_t n_owned = 0;
        json_t **configs = NULL;
        size_t n_configs = 0;
        int r = -ENOMEM;

        *ret_user = *ret_password = NULL;
        for (size_t i = 0; i < pod->spec.n_image_pull_secrets; i++) {
                const char *name = pod->spec.image_pull_secrets[i].name;
                const struct object *o = isempty(name) ? NULL : find_object(d, true, name);
                if (!o || o->missing)
                        continue;
                bool is_json = streq_ptr(o->type, "kubernetes.io/dockerconfigjson");
                if (!is_json && !streq_ptr(o->type, "kubernetes.io/dockercfg"))
                        continue;
                json_t *raw = json_object_get(o->data, is_json ? ".dockerconfigjson" : ".dockercfg");
                /* a secret that does not parse is skipped (the kubelet fails the pull) */
                json_t *cfg =
                        raw ? json_loadb(json_string_value(raw), json_string_length(raw), 0, NULL) : NULL;
                if (!cfg)
                        continue;
                json_t **nc = realloc(configs, (n_configs + 1) * sizeof(*nc));
                if (!nc) {
                        json_decref(cfg);
                        goto out;
                }
                configs = nc;
                configs[n_configs++] = cfg;
                json_t *auths = is_json ? json_object_get(cfg, "auths") : cfg;
                const char *loc;
                json_t *entry;
                json_object_foreach(auths, loc, entry) {
                        const char *user = NULL, *pass = NULL;
                        char *dec = NULL;
                        if (!json_is_object(entry) || entry_credentials(entry, &user, &pass, &dec) < 0)
                                continue;
                        struct cred *nn = realloc(creds, (n + 1) * sizeof(*nn));
                        char **no = realloc(owned, (n_owned + 1) * sizeof(*no));
                        if (nn)
                                creds = nn;
                        if (no)
                                owned = no;
                        char *key = keyring_key(loc);
                        if (!nn || !no || !key) {
                                free(dec);
                                free(key);
                                goto out;
                        }
                        owned[n_owned++] = dec;
                        creds[n] =
                                (struct cred){.key = key, .user = user, .pass = strempty(pass), .order = n};
                        n++;
                }
        }
        qsort(creds, n, sizeof(*creds), cred_cmp);
        const struct cred *hit = NULL;
        for (size_t i = 0; i < n && !hit; i++)
                if (key_matches(creds[i].key, repo))
                        hit = &creds[i];
        for (size_t i = 0; i < n && !hit; i++)
                if (docker_hub_image(repo) && streq(creds[i].key, "index.docker.io"))
                        hit = &creds[i];
        r = 0;
        if (hit) {
                char *u = strdup(hit->user), *p = strdup(hit->pass);
                if (!u || !p) {
                        free(u);
                        free(p);
                        r = -ENOMEM;
                } else {
                        *ret_user = u;
                        *ret_password = p;
                }
        }
out:
        for (size_t i = 0; i < n; i++)
                free(creds[i].key);
        free(creds);
        for (size_t i = 0; i < n_owned; i++)
                free(owned[i]);
        free(owned);
        for (size_t i = 0; i < n_configs; i++)
                json_decref(configs[i]);
        free(configs);
        return r;
}

/* ==== the fetch ================================================================================== */

enum item_kind { ITEM_OBJECT, ITEM_TOKEN, ITEM_SERVICES, ITEM_MASTER };

struct item {
        struct pod_data_fetch *f;
        enum item_kind kind;
        bool secret;
        char *name;                 /* object; token: the audience */
        int64_t expiration_seconds; /* token */
        bool kept;                  /* a token still good from the previous data: not asked */
        struct api_request *req;
};

struct pod_data_fetch {
        struct pod_data *d;
        struct item *items;
        size_t n_items;
        size_t pending;
        bool links;
        char *error;
        json_t *services, *master;
        pod_data_done_fn done;
        void *userdata;
};

static void fetch_free(struct pod_data_fetch *f) {
        if (!f)
                return;
        for (size_t i = 0; i < f->n_items; i++) {
                api_request_cancel(f->items[i].req);
                free(f->items[i].name);
        }
        free(f->items);
        pod_data_free(f->d);
        free(f->error);
        json_decref(f->services);
        json_decref(f->master);
        free(f);
}

void pod_data_fetch_cancel(struct pod_data_fetch *f) {
        fetch_free(f);
}

static void finish(struct pod_data_fetch *f) {
        if (f->pending > 0)
                return;
        if (!f->error && pod_data_set_services(f->d, f->links ? json_object_get(f->services, "items") : NULL,
                                               f->master) < 0)
                f->error = strdup("out of memory");
        if (f->error)
                f->done(NULL, f->error, f->userdata);
        else
                f->done(TAKE_PTR(f->d), NULL, f->userdata);
        fetch_free(f);
}

/* The first failure decides: the requests still out are stopped. */
static void fail(struct pod_data_fetch *f, char *msg) {
        if (f->error) {
                free(msg);
                return;
        }
        f->error = msg ? msg : strdup("out of memory");
        for (size_t i = 0; i < f->n_items; i++)
                if (f->items[i].req) {
                        api_request_cancel(TAKE_PTR(f->items[i].req));
                        f->pending--;
                }
}

/* What went wrong, in the API's words when it gave some (a Status' message). */
static char *why(long status, json_t *body, const char *error) {
        const char *m = json_string_value(json_object_get(body, "message"));
        if (m)
                return strdup(m);
        if (status == 0)
                return strdup(error ? error : "no answer from the API server");
        if (status >= 200 && status < 300)
                return strdup("the API server's answer did not parse");
        return nl_strdupf("the API server answered %ld", status);
}

static void on_answer(long status, json_t *body, const char *error, void *userdata) {
        struct item *it = userdata;
        struct pod_data_fetch *f = it->f;
        it->req = NULL; /* freed by the client after this returns */
        f->pending--;
        bool ok = status >= 200 && status < 300 && json_is_object(body);
        switch (it->kind) {
        case ITEM_OBJECT:
                if (ok || status == 404) {
                        if (pod_data_set_object(f->d, it->secret, it->name, status == 404 ? NULL : body) < 0)
                                fail(f, nl_strdupf("%s \"%s\": data that does not decode",
                                                   it->secret ? "secret" : "configmap", it->name));
                } else {
                        _cleanup_free_ char *w = why(status, body, error);
                        fail(f, nl_strdupf("couldn't get %s %s: %s", it->secret ? "secret" : "configMap",
                                           it->name, strempty(w)));
                }
                break;
        case ITEM_TOKEN: {
                json_t *st = json_object_get(body, "status");
                const char *token = json_string_value(json_object_get(st, "token"));
                usec_t exp = parse_rfc3339(
                        strempty(json_string_value(json_object_get(st, "expirationTimestamp"))));
                json_t *ttl = json_object_get(json_object_get(body, "spec"), "expirationSeconds");
                int64_t ttl_s = json_is_integer(ttl) ? json_integer_value(ttl) : it->expiration_seconds;
                if (!ok || isempty(token) || exp == 0) {
                        _cleanup_free_ char *w =
                                ok ? strdup("no token in the answer") : why(status, body, error);
                        fail(f, nl_strdupf("failed to fetch token: %s", strempty(w)));
                } else if (pod_data_set_token(f->d, it->name, it->expiration_seconds, token, exp,
                                              (usec_t) (ttl_s > 0 ? ttl_s : 0) * USEC_PER_SEC) < 0)
                        fail(f, NULL);
                break;
        }
        case ITEM_SERVICES:
        case ITEM_MASTER:
                if (ok)
                        *(it->kind == ITEM_SERVICES ? &f->services : &f->master) = json_incref(body);
                else if (!(it->kind == ITEM_MASTER && status == 404)) {
                        _cleanup_free_ char *w = why(status, body, error);
                        fail(f, nl_strdupf("failed to list services when setting up env vars: %s",
                                           strempty(w)));
                }
                break;
        }
        finish(f);
}

static int add_item(struct pod_data_fetch *f, enum item_kind kind, bool secret, const char *name,
                    int64_t exp) {
        if (kind == ITEM_OBJECT && isempty(name))
                return 0;
        for (size_t i = 0; i < f->n_items; i++) {
                const struct item *it = &f->items[i];
                if (it->kind == kind && it->secret == secret && streq_ptr(it->name, name) &&
                    it->expiration_seconds == exp)
                        return 0;
        }
        struct item *n = realloc(f->items, (f->n_items + 1) * sizeof(*n));
        if (!n)
                return -ENOMEM;
        f->items = n;
        f->items[f->n_items] =
                (struct item){.f = f, .kind = kind, .secret = secret, .expiration_seconds = exp};
        if (name && !(f->items[f->n_items].name = strdup(name)))
                return -ENOMEM;
        f->n_items++;
        return 0;
}

static int64_t token_seconds(const struct pod_service_account_token_projection *t) {
        return t->expiration_seconds.set ? t->expiration_seconds.v : 3600;
}

static int collect_container(struct pod_data_fetch *f, const struct pod_container *c) {
        int r = 0;
        for (size_t i = 0; i < c->n_env_from && r >= 0; i++) {
                const struct pod_env_from_source *s = &c->env_from[i];
                if (s->config_map_ref)
                        r = add_item(f, ITEM_OBJECT, false, s->config_map_ref->name, 0);
                else if (s->secret_ref)
                        r = add_item(f, ITEM_OBJECT, true, s->secret_ref->name, 0);
        }
        for (size_t i = 0; i < c->n_env && r >= 0; i++) {
                const struct pod_env_var_source *s = c->env[i].value_from;
                if (s && s->config_map_key_ref)
                        r = add_item(f, ITEM_OBJECT, false, s->config_map_key_ref->name, 0);
                else if (s && s->secret_key_ref)
                        r = add_item(f, ITEM_OBJECT, true, s->secret_key_ref->name, 0);
        }
        return r;
}

/* Everything the pod names, each once. */
static int collect(struct pod_data_fetch *f, const struct pod *pod) {
        const struct pod_spec *s = &pod->spec;
        int r = 0;
        for (size_t i = 0; i < s->n_volumes && r >= 0; i++) {
                const struct pod_volume *v = &s->volumes[i];
                if (v->config_map)
                        r = add_item(f, ITEM_OBJECT, false, v->config_map->name, 0);
                else if (v->secret)
                        r = add_item(f, ITEM_OBJECT, true, v->secret->secret_name, 0);
                for (size_t k = 0; v->projected && k < v->projected->n_sources && r >= 0; k++) {
                        const struct pod_volume_projection *p = &v->projected->sources[k];
                        if (p->config_map)
                                r = add_item(f, ITEM_OBJECT, false, p->config_map->name, 0);
                        else if (p->secret)
                                r = add_item(f, ITEM_OBJECT, true, p->secret->name, 0);
                        else if (p->service_account_token)
                                r = add_item(f, ITEM_TOKEN, false,
                                             strempty(p->service_account_token->audience),
                                             token_seconds(p->service_account_token));
                }
        }
        for (size_t i = 0; i < s->n_init_containers && r >= 0; i++)
                r = collect_container(f, &s->init_containers[i]);
        for (size_t i = 0; i < s->n_containers && r >= 0; i++)
                r = collect_container(f, &s->containers[i]);
        /* as the kubelet's VisitPodConfigmapNames/VisitPodSecretNames: ephemeral containers too */
        for (size_t i = 0; i < s->n_ephemeral_containers && r >= 0; i++)
                r = collect_container(f, &s->ephemeral_containers[i]);
        for (size_t i = 0; i < s->n_image_pull_secrets && r >= 0; i++)
                r = add_item(f, ITEM_OBJECT, true, s->image_pull_secrets[i].name, 0);
        /* the master service always; the namespace's when links are on (one list covers the
         * master too in namespace default) */
        bool in_default = streq_ptr(pod->metadata.namespace, "default");
        if (r >= 0 && f->links)
                r = add_item(f, ITEM_SERVICES, false, NULL, 0);
        if (r >= 0 && !(f->links && in_default))
                r = add_item(f, ITEM_MASTER, false, NULL, 0);
        return r;
}

static json_t *token_request(const struct pod *pod, const char *audience, int64_t seconds) {
        json_t *spec = json_pack("{s:I, s:{s:s, s:s, s:s, s:s}}", "expirationSeconds",
                                 (json_int_t) (seconds < TOKEN_MIN_SECONDS ? TOKEN_MIN_SECONDS : seconds),
                                 "boundObjectRef", "apiVersion", "v1", "kind", "Pod", "name",
                                 strempty(pod->metadata.name), "uid", strempty(pod->metadata.uid));
        /* no audience: the API server's own (the kubelet sends none either) */
        if (spec && !isempty(audience))
                json_object_set_new(spec, "audiences", json_pack("[s]", audience));
        return spec ? json_pack("{s:s, s:s, s:o}", "apiVersion", "authentication.k8s.io/v1", "kind",
                                "TokenRequest", "spec", spec)
                    : NULL;
}

static int start_item(struct api_client *c, const struct pod *pod, struct item *it) {
        _cleanup_free_ char *ns = api_escape(strempty(pod->metadata.namespace)), *name = NULL, *path = NULL;
        json_t *body = NULL;
        const char *method = "GET";
        if (!ns)
                return -ENOMEM;
        switch (it->kind) {
        case ITEM_OBJECT:
                name = api_escape(it->name);
                path = name ? nl_strdupf("/api/v1/namespaces/%s/%s/%s", ns,
                                         it->secret ? "secrets" : "configmaps", name)
                            : NULL;
                break;
        case ITEM_TOKEN: {
                const char *sa = !isempty(pod->spec.service_account_name) ? pod->spec.service_account_name
                                                                          : "default";
                name = api_escape(sa);
                path = name ? nl_strdupf("/api/v1/namespaces/%s/serviceaccounts/%s/token", ns, name) : NULL;
                body = token_request(pod, it->name, it->expiration_seconds);
                method = "POST";
                if (!body)
                        return -ENOMEM;
                break;
        }
        case ITEM_SERVICES:
                path = nl_strdupf("/api/v1/namespaces/%s/services", ns);
                break;
        case ITEM_MASTER:
                path = strdup("/api/v1/namespaces/default/services/kubernetes");
                break;
        }
        if (path)
                it->req = api_request(c, method, path, body, NULL, on_answer, it);
        json_decref(body);
        return it->req ? 0 : -ENOMEM;
}

int pod_data_fetch(struct api_client *c, const struct pod *pod, const struct pod_data *prev,
                   pod_data_done_fn done, void *userdata, struct pod_data_fetch **ret) {
        struct pod_data_fetch *f = calloc(1, sizeof(*f));
        if (!f)
                return -ENOMEM;
        *f = (struct pod_data_fetch){.d = pod_data_new(),
                                     .done = done,
                                     .userdata = userdata,
                                     .links = !pod->spec.enable_service_links.set ||
                                              pod->spec.enable_service_links.v};
        int r = f->d ? collect(f, pod) : -ENOMEM;
        if (r < 0) {
                fetch_free(f);
                return r;
        }
        /* tokens that are still good are kept, as the token manager's cache does */
        usec_t now = now_realtime();
        for (size_t i = 0; i < f->n_items && r >= 0; i++) {
                struct item *it = &f->items[i];
                const struct token *t =
                        it->kind == ITEM_TOKEN ? find_token(prev, it->name, it->expiration_seconds) : NULL;
                if (t && !token_due(t, now)) {
                        it->kept = true;
                        r = pod_data_set_token(f->d, t->audience, t->expiration_seconds, t->token,
                                               t->expires_at, t->ttl);
                }
        }
        /* Answers come later, from the loop (api.h), so nothing finishes under this loop;
         * there is always one request at least (the services). */
        for (size_t i = 0; i < f->n_items && r >= 0; i++) {
                if (f->items[i].kept)
                        continue;
                r = start_item(c, pod, &f->items[i]);
                if (r >= 0)
                        f->pending++;
        }
        if (r < 0) {
                fetch_free(f); /* cancels what was started */
                return r;
        }
        *ret = f;
        return 0;
}

int pod_data_from_manifests(const struct pod *pod, pod_data_lookup_fn lookup, void *userdata,
                            struct pod_data **ret) {
        /* the same walk over what the pod names as the API fetch (collect), without requests */
        struct pod_data_fetch *f = calloc(1, sizeof(*f));
        if (!f)
                return -ENOMEM;
        f->d = pod_data_new();
        int r = f->d ? collect(f, pod) : -ENOMEM;
        for (size_t i = 0; i < f->n_items && r >= 0; i++) {
                const struct item *it = &f->items[i];
                if (it->kind != ITEM_OBJECT)
                        continue;
                r = pod_data_set_object(f->d, it->secret, it->name,
                                        lookup(userdata, it->secret, strempty(pod->metadata.namespace), it->name));
        }
        if (r >= 0)
                r = pod_data_set_services(f->d, NULL, NULL);
        if (r >= 0)
                *ret = TAKE_PTR(f->d);
        fetch_free(f);
        return r;
}
