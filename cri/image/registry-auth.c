/* SPDX-License-Identifier: Apache-2.0 */
/* Registry authorization: WWW-Authenticate challenges (RFC 7235), credentials from a docker
 * config.json ("auths"), the distribution token flow (GET <realm>?service=..&scope=..,
 * answered with {"token": ..., "expires_in": ...}) and a cache of bearer tokens per
 * (registry, scope, user) until they expire, as containerd's docker authorizer does. */
#include <ctype.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "common/fs.h"
#include "registry-internal.h"

/* ==== WWW-Authenticate ==================================================================== */

static bool is_tchar(char c) {
        return isalnum((unsigned char) c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool is_token68_char(char c) {
        return isalnum((unsigned char) c) || (c && strchr("-._~+/", c));
}

static void skip_ws(const char **p) {
        while (**p == ' ' || **p == '\t')
                (*p)++;
}

static size_t token_len(const char *p) {
        size_t n = 0;
        while (is_tchar(p[n]))
                n++;
        return n;
}

/* A quoted-string starting at *p (on the quote); backslash escapes the next character. */
static int read_quoted(const char **p, char **ret) {
        nl_buf b = {};
        const char *q = *p + 1;

        for (;;) {
                if (*q == '\0') {
                        nl_buf_free(&b);
                        return -EINVAL;
                }
                if (*q == '"')
                        break;
                if (*q == '\\') {
                        q++;
                        if (*q == '\0') {
                                nl_buf_free(&b);
                                return -EINVAL;
                        }
                }
                nl_buf_append(&b, q, 1);
                q++;
        }
        if (!b.data)
                nl_buf_puts(&b, "");
        char *s = nl_buf_steal(&b);
        if (!s)
                return -ENOMEM;
        *p = q + 1;
        *ret = s;
        return 0;
}

static void challenge_done(struct auth_challenge *c) {
        free(c->scheme);
        free(c->token68);
        for (size_t i = 0; i < c->n_params; i++) {
                free(c->params[i].name);
                free(c->params[i].value);
        }
        free(c->params);
}

void auth_challenges_free(struct auth_challenge *c, size_t n) {
        if (!c)
                return;
        for (size_t i = 0; i < n; i++)
                challenge_done(&c[i]);
        free(c);
}

static char *strndup_lower(const char *s, size_t n) {
        char *d = strndup(s, n);
        if (d)
                for (char *p = d; *p; p++)
                        *p = (char) tolower((unsigned char) *p);
        return d;
}

/* After the scheme: a token68, or params (name = token / quoted-string) separated by commas.
 * Stops at the start of the next challenge (a token not followed by '='). */
static int parse_params(const char **pp, struct auth_challenge *c) {
        const char *p = *pp;
        bool first = true;

        for (;;) {
                skip_ws(&p);
                while (*p == ',') {
                        p++;
                        skip_ws(&p);
                        first = false;
                }
                if (*p == '\0')
                        break;

                size_t n = token_len(p);
                const char *q = p + n;
                skip_ws(&q);
                if (n > 0 && *q == '=') {
                        q++;
                        skip_ws(&q);
                        _cleanup_free_ char *value = NULL;
                        int r;
                        if (*q == '"') {
                                r = read_quoted(&q, &value);
                                if (r < 0)
                                        return r;
                        } else if (token_len(q) > 0) {
                                size_t vn = token_len(q);
                                value = strndup(q, vn);
                                if (!value)
                                        return -ENOMEM;
                                q += vn;
                        } else if (!first)
                                return -EINVAL;
                        if (value) {
                                if (c->n_params >= REGISTRY_MAX_CHALLENGE_PARAMS)
                                        return -E2BIG;
                                struct auth_param *a = reallocarray(c->params, c->n_params + 1, sizeof(*a));
                                if (!a)
                                        return -ENOMEM;
                                c->params = a;
                                a = &c->params[c->n_params];
                                a->name = strndup_lower(p, n);
                                if (!a->name)
                                        return -ENOMEM;
                                a->value = TAKE_PTR(value);
                                c->n_params++;
                                p = q;
                                first = false;
                                continue;
                        }
                        /* "name=" with no value right after the scheme: a token68 below */
                }
                if (first && is_token68_char(*p)) {
                        const char *t = p;
                        while (is_token68_char(*t))
                                t++;
                        while (*t == '=')
                                t++;
                        const char *after = t;
                        skip_ws(&after);
                        if (*after == '\0' || *after == ',') {
                                c->token68 = strndup(p, (size_t) (t - p));
                                if (!c->token68)
                                        return -ENOMEM;
                                p = after;
                                first = false;
                                continue;
                        }
                }
                if (n == 0)
                        return -EINVAL;
                break; /* the next challenge's scheme */
        }
        *pp = p;
        return 0;
}

int auth_challenges_parse(const char *s, struct auth_challenge **ret, size_t *ret_n) {
        struct auth_challenge *list = NULL;
        size_t n = 0;
        const char *p = s;
        int r = 0;

        if (!s)
                return -EINVAL;
        for (;;) {
                skip_ws(&p);
                while (*p == ',' || *p == ' ' || *p == '\t')
                        p++;
                if (*p == '\0')
                        break;
                size_t len = token_len(p);
                if (len == 0) {
                        r = -EINVAL;
                        goto fail;
                }
                if (n >= REGISTRY_MAX_CHALLENGES) {
                        r = -E2BIG;
                        goto fail;
                }
                struct auth_challenge *l = reallocarray(list, n + 1, sizeof(*l));
                if (!l) {
                        r = -ENOMEM;
                        goto fail;
                }
                list = l;
                list[n] = (struct auth_challenge){};
                list[n].scheme = strndup_lower(p, len);
                n++;
                if (!list[n - 1].scheme) {
                        r = -ENOMEM;
                        goto fail;
                }
                p += len;
                /* a scheme must be followed by whitespace, a comma or the end */
                if (*p != '\0' && *p != ' ' && *p != '\t' && *p != ',') {
                        r = -EINVAL;
                        goto fail;
                }
                r = parse_params(&p, &list[n - 1]);
                if (r < 0)
                        goto fail;
        }
        if (n == 0) {
                r = -EINVAL;
                goto fail;
        }
        *ret = list;
        *ret_n = n;
        return 0;
fail:
        auth_challenges_free(list, n);
        return r;
}

const char *auth_challenge_param(const struct auth_challenge *c, const char *name) {
        for (size_t i = 0; i < c->n_params; i++)
                if (strcasecmp(c->params[i].name, name) == 0)
                        return c->params[i].value;
        return NULL;
}

const struct auth_challenge *auth_challenges_pick(const struct auth_challenge *c, size_t n) {
        const struct auth_challenge *basic = NULL;
        for (size_t i = 0; i < n; i++) {
                if (streq(c[i].scheme, "bearer") && !isempty(auth_challenge_param(&c[i], "realm")))
                        return &c[i];
                if (streq(c[i].scheme, "basic") && !basic)
                        basic = &c[i];
        }
        return basic;
}

/* ==== base64 and docker config.json ======================================================= */

static bool host_is_docker_hub(const char *h, size_t n) {
        static const char *const aliases[] = {"docker.io", "index.docker.io", "registry-1.docker.io"};
        for (size_t i = 0; i < ELEMENTSOF(aliases); i++)
                if (strlen(aliases[i]) == n && strncasecmp(h, aliases[i], n) == 0)
                        return true;
        return false;
}

/* "https://host:port/v1/" -> "host:port" (pointer and length into s) */
static const char *host_part(const char *s, size_t *ret_len) {
        if (strncasecmp(s, "https://", 8) == 0)
                s += 8;
        else if (strncasecmp(s, "http://", 7) == 0)
                s += 7;
        *ret_len = strcspn(s, "/");
        return s;
}

bool auth_key_matches_host(const char *key, const char *host) {
        size_t kn, hn;
        const char *k = host_part(key, &kn), *h = host_part(host, &hn);

        if (kn == 0 || hn == 0)
                return false;
        if (kn == hn && strncasecmp(k, h, kn) == 0)
                return true;
        return host_is_docker_hub(k, kn) && host_is_docker_hub(h, hn);
}

static int auth_entry_credentials(json_t *entry, const char *key, char **ret_user, char **ret_pass,
                                  nl_error *err) {
        const char *auth = json_string_value(json_object_get(entry, "auth"));
        _cleanup_free_ char *user = NULL, *pass = NULL;

        if (!isempty(auth)) {
                _cleanup_free_ char *dec = NULL;
                size_t n;
                if (nl_base64_decode(auth, &dec, &n) < 0 || strlen(dec) != n)
                        return nl_error_set(err, -EINVAL, "auth file entry \"%s\": \"auth\" is not base64",
                                            key);
                char *colon = strchr(dec, ':');
                if (!colon)
                        return nl_error_set(err, -EINVAL,
                                            "auth file entry \"%s\": \"auth\" is not user:password", key);
                user = strndup(dec, (size_t) (colon - dec));
                pass = strdup(colon + 1);
        } else {
                const char *u = json_string_value(json_object_get(entry, "username"));
                const char *p = json_string_value(json_object_get(entry, "password"));
                if (isempty(u))
                        return 0;
                user = strdup(u);
                pass = strdup(strempty(p));
        }
        if (!user || !pass)
                return -ENOMEM;
        *ret_user = TAKE_PTR(user);
        *ret_pass = TAKE_PTR(pass);
        return 1;
}

int auth_config_lookup(json_t *config, const char *host, char **ret_user, char **ret_pass, nl_error *err) {
        json_t *auths = json_object_get(config, "auths"), *entry;
        const char *key;
        int r;

        *ret_user = *ret_pass = NULL;
        if (!json_is_object(auths))
                return 0;
        /* An exact key first, then "https://host/v1/"-style keys and docker.io aliases. */
        entry = json_object_get(auths, host);
        if (json_is_object(entry)) {
                r = auth_entry_credentials(entry, host, ret_user, ret_pass, err);
                if (r != 0)
                        return r < 0 ? r : 0;
        }
        json_object_foreach(auths, key, entry) {
                if (!json_is_object(entry) || !auth_key_matches_host(key, host))
                        continue;
                r = auth_entry_credentials(entry, key, ret_user, ret_pass, err);
                if (r != 0)
                        return r < 0 ? r : 0;
        }
        return 0;
}

int auth_file_lookup(const char *path, const char *host, char **ret_user, char **ret_pass, nl_error *err) {
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t len = 0;

        *ret_user = *ret_pass = NULL;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                if (errno == ENOENT)
                        return 0;
                return nl_error_set(err, -errno, "open auth file \"%s\": %s", path, strerror(errno));
        }
        if (fstat(fd, &st) < 0)
                return nl_error_set(err, -errno, "stat auth file \"%s\": %s", path, strerror(errno));
        if (!S_ISREG(st.st_mode) || st.st_size > (off_t) REGISTRY_MAX_AUTH_FILE)
                return nl_error_set(err, -EFBIG,
                                    "auth file \"%s\" is not a regular file of at most %u bytes", path,
                                    REGISTRY_MAX_AUTH_FILE);
        int r = nl_read_fd(fd, REGISTRY_MAX_AUTH_FILE, &buf, &len);
        if (r == -EFBIG)
                return nl_error_set(err, r, "auth file \"%s\" is larger than %u bytes", path,
                                    REGISTRY_MAX_AUTH_FILE);
        if (r < 0)
                return nl_error_set(err, r, "read auth file \"%s\": %s", path, strerror(-r));
        json_error_t je;
        json_t *config = json_loadb(buf, len, 0, &je);
        if (!config)
                return nl_error_set(err, -EINVAL, "auth file \"%s\": line %d: %s", path, je.line, je.text);
        r = auth_config_lookup(config, host, ret_user, ret_pass, err);
        json_decref(config);
        if (r < 0)
                return nl_error_prefix(err, "auth file \"%s\"", path);
        return 0;
}

/* ==== tokens ============================================================================== */

int auth_token_parse(const char *buf, size_t len, char **ret_token, uint64_t *ret_expires_sec,
                     nl_error *err) {
        json_error_t je;
        json_t *root = json_loadb(buf, len, 0, &je);
        const char *token;
        uint64_t expires = REGISTRY_TOKEN_DEFAULT_EXPIRY_SEC;

        if (!root)
                return nl_error_set(err, -EINVAL, "token response is not JSON: %s", je.text);
        token = json_string_value(json_object_get(root, "token"));
        if (isempty(token))
                token = json_string_value(json_object_get(root, "access_token"));
        if (isempty(token)) {
                json_decref(root);
                return nl_error_set(err, -EINVAL, "token response has no \"token\" or \"access_token\"");
        }
        /* Tokens go into a header line: refuse what would break it. */
        for (const char *p = token; *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f) {
                        json_decref(root);
                        return nl_error_set(err, -EINVAL,
                                            "token response has a token with control characters");
                }
        json_t *e = json_object_get(root, "expires_in");
        if (json_is_integer(e) && json_integer_value(e) > 0)
                expires = (uint64_t) json_integer_value(e);
        if (expires > 24 * 3600)
                expires = 24 * 3600;
        char *t = strdup(token);
        json_decref(root);
        if (!t)
                return -ENOMEM;
        *ret_token = t;
        *ret_expires_sec = expires;
        return 0;
}

struct token_entry {
        char *key; /* "<host>\n<scope>\n<user>" */
        char *token;
        usec_t expires;
};

struct token_cache {
        struct token_entry *e;
        size_t n;
};

int token_cache_new(struct token_cache **ret) {
        struct token_cache *tc = calloc(1, sizeof(*tc));
        if (!tc)
                return -ENOMEM;
        *ret = tc;
        return 0;
}

void token_cache_free(struct token_cache *tc) {
        if (!tc)
                return;
        for (size_t i = 0; i < tc->n; i++) {
                free(tc->e[i].key);
                free(tc->e[i].token);
        }
        free(tc->e);
        free(tc);
}

static char *token_key(const char *host, const char *scope, const char *user) {
        return nl_strdupf("%s\n%s\n%s", host, scope, strempty(user));
}

static ssize_t token_find(struct token_cache *tc, const char *key) {
        for (size_t i = 0; i < tc->n; i++)
                if (streq(tc->e[i].key, key))
                        return (ssize_t) i;
        return -1;
}

static void token_remove_at(struct token_cache *tc, size_t i) {
        free(tc->e[i].key);
        free(tc->e[i].token);
        memmove(&tc->e[i], &tc->e[i + 1], (tc->n - i - 1) * sizeof(tc->e[0]));
        tc->n--;
}

const char *token_cache_get(struct token_cache *tc, const char *host, const char *scope, const char *user,
                            usec_t now) {
        _cleanup_free_ char *key = token_key(host, scope, user);
        if (!key)
                return NULL;
        ssize_t i = token_find(tc, key);
        if (i < 0)
                return NULL;
        if (tc->e[i].expires <= now) {
                token_remove_at(tc, (size_t) i);
                return NULL;
        }
        return tc->e[i].token;
}

void token_cache_drop(struct token_cache *tc, const char *host, const char *scope, const char *user) {
        _cleanup_free_ char *key = token_key(host, scope, user);
        ssize_t i = key ? token_find(tc, key) : -1;
        if (i >= 0)
                token_remove_at(tc, (size_t) i);
}

int token_cache_put(struct token_cache *tc, const char *host, const char *scope, const char *user,
                    const char *token, usec_t expires) {
        _cleanup_free_ char *key = token_key(host, scope, user), *t = strdup(token);
        if (!key || !t)
                return -ENOMEM;
        ssize_t i = token_find(tc, key);
        if (i >= 0) {
                free(tc->e[i].token);
                tc->e[i].token = TAKE_PTR(t);
                tc->e[i].expires = expires;
                return 0;
        }
        if (tc->n >= REGISTRY_MAX_TOKENS) {
                /* the one closest to expiry goes */
                size_t oldest = 0;
                for (size_t j = 1; j < tc->n; j++)
                        if (tc->e[j].expires < tc->e[oldest].expires)
                                oldest = j;
                token_remove_at(tc, oldest);
        }
        struct token_entry *e = reallocarray(tc->e, tc->n + 1, sizeof(*e));
        if (!e)
                return -ENOMEM;
        tc->e = e;
        tc->e[tc->n++] = (struct token_entry){TAKE_PTR(key), TAKE_PTR(t), expires};
        return 0;
}

/* ==== authorized requests and the token flow ============================================== */

static usec_t now_usec(struct registry_client *c) {
        uint64_t now = 0;
        (void) sd_event_now(c->event, CLOCK_MONOTONIC, &now);
        return now;
}

int reg_request_new(struct reg_repo *repo, size_t ep, const char *suffix, http_request **ret) {
        struct reg_endpoint *e = &repo->ep[ep];
        _cleanup_free_ char *url = nl_strdupf("%s/v2/%s", e->base, suffix);
        http_request *r = NULL;
        int k;

        if (!url)
                return -ENOMEM;
        k = http_request_new(repo->client->http, url, e->skip_verify, e->ca_file, &r);
        if (k < 0)
                return k;
        const char *token = token_cache_get(repo->client->tokens, e->host, repo->scope, e->username,
                                            now_usec(repo->client));
        if (token)
                k = http_request_add_header(r, "Authorization: Bearer %s", token);
        else if (e->basic && e->username)
                k = http_request_set_basic(r, e->username, e->password);
        if (k < 0) {
                http_request_free(r);
                return k;
        }
        *ret = r;
        return 0;
}

struct auth_op {
        struct registry_client *client;
        struct reg_repo *repo;
        size_t ep;
        http_request *req;
        char *realm_host;
        auth_done_fn done;
        void *userdata;
        struct auth_op *prev, *next;
};

void auth_op_cancel(struct auth_op *op) {
        if (!op)
                return;
        struct registry_client *c = op->client;
        if (op->prev)
                op->prev->next = op->next;
        else if (c->auth_ops == op)
                c->auth_ops = op->next;
        if (op->next)
                op->next->prev = op->prev;
        http_request_free(op->req);
        reg_repo_unref(op->repo);
        free(op->realm_host);
        free(op);
}

static void on_token(http_request *req, void *userdata) {
        struct auth_op *op = userdata;
        struct reg_repo *repo = op->repo;
        struct reg_endpoint *e = &repo->ep[op->ep];
        nl_error err = NL_ERROR_INIT;
        _cleanup_free_ char *token = NULL;
        uint64_t expires_sec;
        int r;

        if (http_request_failed_transport(req))
                r = nl_error_set(&err, -EHOSTUNREACH,
                                 "token server \"%s\" for registry \"%s\" unavailable: %s", op->realm_host,
                                 e->host, http_request_strerror(req));
        else if (req->result != CURLE_OK)
                r = nl_error_set(&err, -EIO, "token server \"%s\" for registry \"%s\": %s", op->realm_host,
                                 e->host, http_request_strerror(req));
        else if (req->status == 401 || req->status == 403)
                r = nl_error_set(
                        &err, -EACCES,
                        "token server \"%s\" refused %s for repository \"%s\" on registry \"%s\" (HTTP %ld)",
                        op->realm_host, e->username ? "the credentials" : "anonymous access", repo->path,
                        e->host, req->status);
        else if (req->status >= 500)
                r = nl_error_set(&err, -EHOSTUNREACH,
                                 "token server \"%s\" for registry \"%s\" unavailable: HTTP %ld",
                                 op->realm_host, e->host, req->status);
        else if (req->status != 200)
                r = nl_error_set(&err, -EIO, "token server \"%s\" for registry \"%s\": HTTP %ld",
                                 op->realm_host, e->host, req->status);
        else {
                r = auth_token_parse(strempty(req->body.data), req->body.len, &token, &expires_sec, &err);
                if (r < 0)
                        nl_error_prefix(&err, "token server \"%s\"", op->realm_host);
        }
        if (r >= 0) {
                /* Renew a little early, so a token is not sent in its last seconds. */
                usec_t life = expires_sec * USEC_PER_SEC;
                if (expires_sec > 20)
                        life -= 10 * USEC_PER_SEC;
                r = token_cache_put(op->client->tokens, e->host, repo->scope, e->username, token,
                                    now_usec(op->client) + life);
                if (r < 0)
                        nl_error_set(&err, r, "cache token for registry \"%s\"", e->host);
        }

        auth_done_fn done = op->done;
        void *ud = op->userdata;
        auth_op_cancel(op);
        done(r, &err, ud);
        nl_error_clear(&err);
}

/* Split "scheme://host[:port]/..." for the realm's host. */
static char *url_host(const char *url) {
        size_t n;
        const char *h = host_part(url, &n);
        return strndup(h, n);
}

static int start_token_request(struct reg_repo *repo, size_t ep, const struct auth_challenge *ch,
                               auth_done_fn done, void *userdata, struct auth_op **ret_op, nl_error *err) {
        struct registry_client *c = repo->client;
        struct reg_endpoint *e = &repo->ep[ep];
        const char *realm = auth_challenge_param(ch, "realm");
        const char *service = auth_challenge_param(ch, "service");
        const char *ch_scope = auth_challenge_param(ch, "scope");
        _cleanup_free_ char *realm_host = NULL;
        nl_buf url = {};
        int r;

        if (strncasecmp(realm, "https://", 8) != 0 && strncasecmp(realm, "http://", 7) != 0)
                return nl_error_set(err, -EACCES,
                                    "registry \"%s\" names a token realm that is not an http(s) URL: \"%s\"",
                                    e->host, realm);
        realm_host = url_host(realm);
        if (!realm_host)
                return -ENOMEM;

        nl_buf_puts(&url, realm);
        char sep = strchr(realm, '?') ? '&' : '?';
        CURL *esc = curl_easy_init();
        if (!esc)
                return -ENOMEM;
        if (!isempty(service)) {
                char *s = curl_easy_escape(esc, service, 0);
                nl_buf_printf(&url, "%cservice=%s", sep, strempty(s));
                curl_free(s);
                sep = '&';
        }
        char *s = curl_easy_escape(esc, repo->scope, 0);
        nl_buf_printf(&url, "%cscope=%s", sep, strempty(s));
        curl_free(s);
        if (!isempty(ch_scope) && !streq(ch_scope, repo->scope)) {
                s = curl_easy_escape(esc, ch_scope, 0);
                nl_buf_printf(&url, "&scope=%s", strempty(s));
                curl_free(s);
        }
        curl_easy_cleanup(esc);
        _cleanup_free_ char *u = nl_buf_steal(&url);
        if (!u)
                return -ENOMEM;

        /* The realm gets this registry's TLS settings when it is the same host, else its own. */
        bool skip_verify = false;
        const char *ca_file = NULL;
        size_t hn;
        const char *eh = host_part(e->base, &hn);
        if (strlen(realm_host) == hn && strncasecmp(realm_host, eh, hn) == 0) {
                skip_verify = e->skip_verify;
                ca_file = e->ca_file;
        } else {
                const struct registry_host_config *hc = registry_host_config_find(c, realm_host);
                if (hc) {
                        skip_verify = hc->insecure;
                        ca_file = hc->ca_file;
                }
        }

        struct auth_op *op = calloc(1, sizeof(*op));
        if (!op)
                return -ENOMEM;
        op->client = c;
        op->repo = reg_repo_ref(repo);
        op->ep = ep;
        op->done = done;
        op->userdata = userdata;
        op->realm_host = TAKE_PTR(realm_host);
        op->next = c->auth_ops;
        if (c->auth_ops)
                c->auth_ops->prev = op;
        c->auth_ops = op;

        r = http_request_new(c->http, u, skip_verify, ca_file, &op->req);
        if (r >= 0) {
                op->req->body_max = REGISTRY_MAX_TOKEN_BYTES;
                if (e->username)
                        r = http_request_set_basic(op->req, e->username, e->password);
        }
        if (r >= 0)
                r = http_request_start(op->req, on_token, NULL, op);
        if (r < 0) {
                auth_op_cancel(op);
                return nl_error_set(err, r, "request a token from \"%s\" for registry \"%s\"", realm,
                                    e->host);
        }
        *ret_op = op;
        return 1;
}

int reg_authorize(struct reg_repo *repo, size_t ep, const char *www_authenticate, auth_done_fn done,
                  void *userdata, struct auth_op **ret_op, nl_error *err) {
        struct reg_endpoint *e = &repo->ep[ep];
        struct auth_challenge *ch = NULL;
        size_t n = 0;
        int r;

        *ret_op = NULL;
        if (isempty(www_authenticate))
                return nl_error_set(err, -EACCES,
                                    "registry \"%s\" answered 401 without a WWW-Authenticate challenge",
                                    e->host);
        r = auth_challenges_parse(www_authenticate, &ch, &n);
        if (r < 0)
                return nl_error_set(err, -EACCES,
                                    "registry \"%s\" sent a malformed WWW-Authenticate challenge", e->host);
        const struct auth_challenge *pick = auth_challenges_pick(ch, n);
        if (!pick)
                r = nl_error_set(err, -EACCES,
                                 "registry \"%s\" asks for an unsupported authentication scheme \"%s\"",
                                 e->host, ch[0].scheme);
        else if (streq(pick->scheme, "basic")) {
                if (!e->username)
                        r = nl_error_set(err, -EACCES,
                                         "registry \"%s\" requires credentials for repository \"%s\"",
                                         e->host, repo->path);
                else if (e->basic)
                        r = nl_error_set(err, -EACCES,
                                         "registry \"%s\" refused the credentials for repository \"%s\"",
                                         e->host, repo->path);
                else {
                        e->basic = true;
                        r = 0;
                }
        } else {
                /* A 401 while we held a token means the token is no good: get a fresh one. */
                token_cache_drop(repo->client->tokens, e->host, repo->scope, e->username);
                r = start_token_request(repo, ep, pick, done, userdata, ret_op, err);
        }
        auth_challenges_free(ch, n);
        return r;
}
