/* SPDX-License-Identifier: Apache-2.0 */
/* The node server's child: one connection, served by a fork of the daemon (node-server.c only
 * accepts). The TLS handshake and one request under a deadline, authentication (client
 * certificate or bearer token) and authorization, then the endpoint: /healthz, /pods,
 * /containerLogs, /metrics, /metrics/resource, /stats/summary, from the node's local state on
 * disk. */
#include <dirent.h>
#include <poll.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <sys/stat.h>

#include "agent/log.h"
#include "agent/state/state.h"
#include "common/fs.h"
#include "cri/cri.h"
#include "node-server-internal.h"
#include "node-server.h"

#define HEADER_LINES_MAX 128
#define READ_DEADLINE_SEC 10 /* handshake and request */
#define WRITE_TIMEOUT_SEC 60 /* a client that stops reading */

/* ==== the child: connection I/O ============================================================== */


static ssize_t conn_recv(struct conn *c, void *buf, size_t n) {
        if (c->ssl) {
                int k = SSL_read(c->ssl, buf, n > INT32_MAX ? INT32_MAX : (int) n);
                if (k > 0)
                        return k;
                return SSL_get_error(c->ssl, k) == SSL_ERROR_ZERO_RETURN ? 0 : -EIO;
        }
        for (;;) {
                ssize_t k = recv(c->fd, buf, n, 0);
                if (k < 0 && errno == EINTR)
                        continue;
                return k < 0 ? -errno : k;
        }
}

int conn_send(struct conn *c, const char *buf, size_t n) {
        if (c->failed)
                return -EPIPE;
        while (n > 0) {
                ssize_t k;
                if (c->ssl) {
                        int w = SSL_write(c->ssl, buf, n > INT32_MAX ? INT32_MAX : (int) n);
                        k = w > 0 ? w : -1;
                } else {
                        k = send(c->fd, buf, n, MSG_NOSIGNAL);
                        if (k < 0 && errno == EINTR)
                                continue;
                }
                if (k <= 0) {
                        c->failed = true;
                        return -EPIPE;
                }
                buf += k;
                n -= (size_t) k;
        }
        return 0;
}

static int conn_flush(struct conn *c) {
        int r = conn_send(c, c->out, c->out_len);
        c->out_len = 0;
        return r;
}

static int conn_put(struct conn *c, const char *buf, size_t n) {
        if (c->out_len + n > sizeof(c->out)) {
                int r = conn_flush(c);
                if (r < 0)
                        return r;
                if (n > sizeof(c->out))
                        return conn_send(c, buf, n);
        }
        memcpy(c->out + c->out_len, buf, n);
        c->out_len += n;
        return 0;
}

static int chunk_emit(struct conn *c) {
        if (c->body_len == 0)
                return 0;
        char hdr[32];
        int k = snprintf(hdr, sizeof(hdr), "%zx\r\n", c->body_len);
        int r = conn_put(c, hdr, (size_t) k);
        if (r >= 0)
                r = conn_put(c, c->body, c->body_len);
        if (r >= 0)
                r = conn_put(c, "\r\n", 2);
        c->body_len = 0;
        return r;
}

/* The response body: chunked (gathered into chunks of up to OUT_BUFFER bytes) or as is. */
static int body_write(struct conn *c, const char *buf, size_t n) {
        if (c->head)
                return 0;
        if (!c->chunked)
                return conn_put(c, buf, n);
        while (n > 0) {
                size_t k = sizeof(c->body) - c->body_len < n ? sizeof(c->body) - c->body_len : n;
                memcpy(c->body + c->body_len, buf, k);
                c->body_len += k;
                buf += k;
                n -= k;
                if (c->body_len == sizeof(c->body)) {
                        int r = chunk_emit(c);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static int body_end(struct conn *c) {
        int r = 0;
        if (c->chunked && !c->head) {
                r = chunk_emit(c);
                if (r >= 0)
                        r = conn_put(c, "0\r\n\r\n", 5);
        }
        int q = conn_flush(c);
        return r < 0 ? r : q;
}

/* node_logs_copy's sink: a NULL write is "about to wait", so what is gathered goes out now. */
static int log_sink(void *userdata, const char *buf, size_t len) {
        struct conn *c = userdata;
        if (!buf) {
                int r = c->head ? 0 : chunk_emit(c);
                return r < 0 ? r : conn_flush(c);
        }
        return body_write(c, buf, len);
}

static const char *status_text(int status) {
        switch (status) {
        case 200:
                return "OK";
        case 400:
                return "Bad Request";
        case 401:
                return "Unauthorized";
        case 403:
                return "Forbidden";
        case 404:
                return "Not Found";
        case 405:
                return "Method Not Allowed";
        case 408:
                return "Request Timeout";
        case 413:
                return "Request Entity Too Large";
        case 422:
                return "Unprocessable Entity";
        case 431:
                return "Request Header Fields Too Large";
        case 500:
                return "Internal Server Error";
        case 503:
                return "Service Unavailable";
        default:
                return "Unknown";
        }
}

/* Status line and headers; content_length < 0: a chunked body. */
static int send_head(struct conn *c, int status, const char *content_type, int64_t content_length) {
        char date[64];
        time_t now = time(NULL);
        struct tm tm;
        strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", gmtime_r(&now, &tm));
        nl_buf b = {};
        nl_buf_printf(&b, "HTTP/1.1 %d %s\r\nDate: %s\r\nContent-Type: %s\r\n", status, status_text(status),
                      date, content_type);
        if (status >= 400)
                nl_buf_puts(&b, "X-Content-Type-Options: nosniff\r\n");
        if (content_length >= 0)
                nl_buf_printf(&b, "Content-Length: %" PRId64 "\r\n", content_length);
        else
                nl_buf_puts(&b, "Transfer-Encoding: chunked\r\n");
        nl_buf_puts(&b, "Connection: close\r\n\r\n");
        size_t len = b.len;
        _cleanup_free_ char *s = nl_buf_steal(&b);
        if (!s)
                return -ENOMEM;
        c->chunked = content_length < 0;
        return conn_put(c, s, len);
}

int send_response(struct conn *c, int status, const char *content_type, const char *body,
                         size_t len) {
        int r = send_head(c, status, content_type, (int64_t) len);
        if (r >= 0)
                r = body_write(c, body, len);
        return r;
}

#define TEXT_PLAIN "text/plain; charset=utf-8"

int send_text(struct conn *c, int status, const char *msg) {
        return send_response(c, status, TEXT_PLAIN, msg, strlen(msg));
}

/* /healthz as the kubelet's: "ok", or 500 with each check's line when one fails (here the
 * reason is given, not withheld: the node's admin is who asks) */
static int serve_healthz(struct conn *c) {
        const char *why = c->s->health ? c->s->health(c->s->health_userdata) : NULL;
        if (!why)
                return send_text(c, 200, "ok");
        _cleanup_free_ char *body = nl_strdupf("[+]ping ok\n[+]log ok\n[-]runtime failed: %s\nhealthz check failed\n", why);
        return send_text(c, 500, body ? body : "healthz check failed\n");
}

static int send_json(struct conn *c, json_t *j) {
        _cleanup_free_ char *s = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
        if (!s)
                return send_text(c, 500, "Internal Server Error");
        return send_response(c, 200, "application/json", s, strlen(s));
}

/* ==== the child: the request ================================================================= */


static int hexval(char ch) {
        if (ch >= '0' && ch <= '9')
                return ch - '0';
        if (ch >= 'a' && ch <= 'f')
                return ch - 'a' + 10;
        if (ch >= 'A' && ch <= 'F')
                return ch - 'A' + 10;
        return -1;
}

/* Percent-decoding ('+' is a space in a query, itself in a path); -EINVAL for a bad escape or a
 * NUL. */
static int pct_decode(const char *s, size_t n, bool query, char **ret) {
        char *d = malloc(n + 1), *o = d;
        if (!d)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                char ch = s[i];
                if (ch == '%') {
                        int hi = i + 2 < n ? hexval(s[i + 1]) : -1, lo = i + 2 < n ? hexval(s[i + 2]) : -1;
                        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                                free(d);
                                return -EINVAL;
                        }
                        ch = (char) (hi << 4 | lo);
                        i += 2;
                } else if (ch == '+' && query)
                        ch = ' ';
                *o++ = ch;
        }
        *o = '\0';
        *ret = d;
        return 0;
}

/* The path's components, decoded. "..", ".", an encoded '/' or an empty component (//) in any of
 * them is a 400: the names go into lookups and must never name something else. */
static int split_path(struct request *rq, const char *path) {
        if (path[0] != '/')
                return -EINVAL;
        const char *p = path + 1;
        while (*p) {
                size_t n = strcspn(p, "/");
                if (n == 0)
                        return -EINVAL;
                if (rq->n_seg >= PATH_SEGMENTS_MAX)
                        return -EINVAL;
                char *seg;
                int r = pct_decode(p, n, false, &seg);
                if (r < 0)
                        return r;
                rq->seg[rq->n_seg++] = seg;
                if (strchr(seg, '/') || streq(seg, ".") || streq(seg, ".."))
                        return -EINVAL;
                p += n;
                if (*p == '/') {
                        p++;
                        if (!*p)
                                rq->trailing_slash = true;
                }
        }
        return 0;
}

void node_request_done(struct request *rq) {
        for (size_t i = 0; i < rq->n_seg; i++)
                free(rq->seg[i]);
        rq->n_seg = 0;
}

/* The first value of key in the query, decoded: 1 found, 0 absent, < 0 a bad encoding. */
int query_get(const char *query, const char *key, char **ret) {
        size_t klen = strlen(key);
        for (const char *p = query; p && *p;) {
                size_t n = strcspn(p, "&;");
                const char *eq = memchr(p, '=', n);
                size_t name_len = eq ? (size_t) (eq - p) : n;
                _cleanup_free_ char *name = NULL;
                int r = pct_decode(p, name_len, true, &name);
                if (r < 0)
                        return r;
                if (strlen(name) == klen && memcmp(name, key, klen) == 0) {
                        if (!eq)
                                return pct_decode("", 0, true, ret) < 0 ? -ENOMEM : 1;
                        r = pct_decode(eq + 1, n - name_len - 1, true, ret);
                        return r < 0 ? r : 1;
                }
                p += n;
                if (*p)
                        p++;
        }
        return 0;
}

static bool token_char(char ch) {
        return ch > ' ' && ch < 127 && !strchr("()<>@,;:\\\"/[]?={}", ch);
}

/* Where the head in rq->raw[from..len) ends (the empty line); sets rq->head_len. */
static char *head_end(struct request *rq, size_t from) {
        for (size_t i = from; i < rq->len; i++) {
                if (rq->raw[i] != '\n')
                        continue;
                if (i + 1 < rq->len && rq->raw[i + 1] == '\n') {
                        rq->head_len = i + 2;
                        return rq->raw + i + 1;
                }
                if (i + 2 < rq->len && rq->raw[i + 1] == '\r' && rq->raw[i + 2] == '\n') {
                        rq->head_len = i + 3;
                        return rq->raw + i + 1;
                }
        }
        return NULL;
}

/* Read the request head; returns the HTTP status to refuse it with, 0 when it parsed, -1 when
 * the connection is to be dropped without an answer (closed early, timed out). */
static int request_read(struct conn *c, struct request *rq) {
        for (;;) {
                if (rq->len >= HEADER_MAX)
                        return 431;
                ssize_t n = conn_recv(c, rq->raw + rq->len, HEADER_MAX - rq->len);
                if (n <= 0)
                        return -1;
                size_t from = rq->len > 3 ? rq->len - 3 : 0;
                rq->len += (size_t) n;
                rq->raw[rq->len] = '\0';
                if (head_end(rq, from))
                        return node_request_parse(rq);
        }
}

int node_request_parse(struct request *rq) {
        char *end = head_end(rq, 0);
        if (!end)
                return rq->len >= HEADER_MAX ? 431 : 400;
        /* the head as it came, for the upgrades (all of its headers); raw[head_len..len) is
         * what the client sent after it (a session's first bytes) */
        memcpy(rq->head, rq->raw, rq->head_len);
        rq->head[rq->head_len] = '\0';
        *end = '\0'; /* the head ends at the empty line; anything after it is a body */
        if (memchr(rq->raw, '\0', (size_t) (end - rq->raw)))
                return 400;

        char *save = NULL;
        char *line = strtok_r(rq->raw, "\n", &save);
        if (!line)
                return 400;
        size_t ll = strlen(line);
        if (ll && line[ll - 1] == '\r')
                line[--ll] = '\0';
        /* METHOD SP request-target SP HTTP/1.x */
        char *sp1 = strchr(line, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
        if (!sp1 || !sp2 || strchr(sp2 + 1, ' '))
                return 400;
        *sp1 = *sp2 = '\0';
        rq->method = line;
        rq->target = sp1 + 1;
        if (!streq(sp2 + 1, "HTTP/1.1") && !streq(sp2 + 1, "HTTP/1.0"))
                return 400;
        for (const char *m = rq->method; *m; m++)
                if (!token_char(*m))
                        return 400;
        if (!*rq->method || rq->target[0] != '/')
                return 400;

        size_t lines = 0;
        bool has_body = false;
        while ((line = strtok_r(NULL, "\n", &save))) {
                ll = strlen(line);
                if (ll && line[ll - 1] == '\r')
                        line[--ll] = '\0';
                if (ll == 0)
                        break;
                if (++lines > HEADER_LINES_MAX)
                        return 431;
                char *colon = strchr(line, ':');
                if (!colon || colon == line)
                        return 400; /* also obs-fold continuation lines */
                for (char *k = line; k < colon; k++)
                        if (!token_char(*k))
                                return 400;
                *colon = '\0';
                char *v = colon + 1;
                v += strspn(v, " \t");
                for (size_t vl = strlen(v); vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t');)
                        v[--vl] = '\0';
                if (strcasecmp(line, "Authorization") == 0 && !rq->authorization)
                        rq->authorization = v;
                else if (strcasecmp(line, "Content-Length") == 0) {
                        int64_t cl;
                        if (nl_parse_int64(v, 0, INT64_MAX, &cl) < 0)
                                return 400;
                        has_body = has_body || cl > 0;
                } else if (strcasecmp(line, "Transfer-Encoding") == 0)
                        has_body = true;
        }
        /* these endpoints take no body: refuse one rather than read it */
        if (has_body)
                return 413;

        char *q = strchr(rq->target, '?');
        if (q)
                *q = '\0';
        rq->query = q ? q + 1 : NULL;
        if (strchr(rq->target, '#'))
                return 400;
        return split_path(rq, rq->target) < 0 ? 400 : 0;
}

static bool path_is(const struct request *rq, size_t n, ...) {
        if (rq->n_seg != n || rq->trailing_slash)
                return false;
        va_list ap;
        va_start(ap, n);
        bool ok = true;
        for (size_t i = 0; i < n && ok; i++) {
                const char *s = va_arg(ap, const char *);
                ok = !s || streq(rq->seg[i], s); /* NULL: any value */
        }
        va_end(ap);
        return ok;
}

/* The kubelet's (auth.go GetRequestAttributes) node subresource for a path. */
static const char *request_subresource(const struct request *rq) {
        const char *first = rq->n_seg ? rq->seg[0] : "";
        if (streq(first, "stats"))
                return "stats";
        if (streq(first, "metrics"))
                return "metrics";
        if (streq(first, "logs"))
                return "log";
        if (streq(first, "spec"))
                return "spec";
        return "proxy";
}

static const char *request_verb(const char *method) {
        static const char *const map[][2] = {{"GET", "get"},    {"HEAD", "get"},    {"POST", "create"},
                                             {"PUT", "update"}, {"PATCH", "patch"}, {"DELETE", "delete"}};
        for (size_t i = 0; i < ELEMENTSOF(map); i++)
                if (streq(method, map[i][0]))
                        return map[i][1];
        return NULL;
}

/* ==== the child: authentication and authorization ============================================ */

#define identity node_identity
#define identity_done node_identity_done

void node_identity_done(struct node_identity *id) {
        free(id->user);
        free(id->uid);
        for (size_t i = 0; i < id->n_groups; i++)
                free(id->groups[i]);
        free(id->groups);
        json_decref(id->extra);
        *id = (struct node_identity){};
}

/* ---- the parent's budgets ---- */

void conn_ctl_authenticated(struct node_server *s) {
        char b = CTL_AUTHENTICATED;
        if (s->ctl_fd >= 0)
                (void) send(s->ctl_fd, &b, 1, MSG_NOSIGNAL);
}

bool conn_ctl_long(struct node_server *s) {
        char b = CTL_LONG;
        if (s->ctl_fd < 0)
                return true;
        if (send(s->ctl_fd, &b, 1, MSG_NOSIGNAL) != 1)
                return false;
        struct pollfd p = {.fd = s->ctl_fd, .events = POLLIN};
        return poll(&p, 1, 5000) == 1 && recv(s->ctl_fd, &b, 1, 0) == 1 && b == CTL_YES;
}

/* ---- the answers of the reviews, cached across connections ----
 * As the kubelet's webhook authenticator and authorizer cache them (KubeletConfiguration
 * authentication.webhook.cacheTTL 2m, authorization.webhook.cacheAuthorizedTTL 5m and
 * cacheUnauthorizedTTL 30s). Each connection is its own process, so the cache is files in the
 * run dir (root's alone), named by the SHA-256 of what was asked: never a token in clear. */
#define AUTHN_TTL (120 * USEC_PER_SEC)
#define AUTHZ_ALLOWED_TTL (300 * USEC_PER_SEC)
#define AUTHZ_DENIED_TTL (30 * USEC_PER_SEC)
#define AUTH_CACHE_DIR "auth-cache"
#define AUTH_CACHE_MAX 4096 /* entries; past it, expired ones are removed */

static char *cache_path(const struct node_server *s, const char *kind, const char *what) {
        if (!s->cri || isempty(s->cri->run_dir))
                return NULL;
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned n = 0;
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
                  EVP_DigestUpdate(ctx, kind, strlen(kind) + 1) == 1 &&
                  EVP_DigestUpdate(ctx, what, strlen(what)) == 1 && EVP_DigestFinal_ex(ctx, md, &n) == 1;
        EVP_MD_CTX_free(ctx);
        if (!ok)
                return NULL;
        char hex[2 * EVP_MAX_MD_SIZE + 1];
        for (unsigned i = 0; i < n; i++)
                snprintf(hex + 2 * i, 3, "%02x", md[i]);
        return nl_strdupf("%s/%s/%s", s->cri->run_dir, AUTH_CACHE_DIR, hex);
}

/* The cached answer, or NULL (none, or expired). */
static json_t *cache_get(const struct node_server *s, const char *kind, const char *what) {
        _cleanup_free_ char *path = cache_path(s, kind, what);
        json_t *j = path ? json_load_file(path, 0, NULL) : NULL;
        json_int_t exp = json_integer_value(json_object_get(j, "expires"));
        if (j && (usec_t) exp > now_realtime())
                return j;
        json_decref(j);
        return NULL;
}

static void cache_prune(const char *dir) {
        DIR *d = opendir(dir);
        if (!d)
                return;
        size_t n = 0;
        struct dirent *de;
        while ((de = readdir(d)))
                n++;
        if (n > AUTH_CACHE_MAX) {
                rewinddir(d);
                while ((de = readdir(d))) {
                        if (de->d_name[0] == '.')
                                continue;
                        _cleanup_free_ char *p = nl_strdupf("%s/%s", dir, de->d_name);
                        json_t *j = p ? json_load_file(p, 0, NULL) : NULL;
                        if (!j || (usec_t) json_integer_value(json_object_get(j, "expires")) <= now_realtime())
                                (void) unlinkat(dirfd(d), de->d_name, 0);
                        json_decref(j);
                }
        }
        closedir(d);
}

static void cache_put(const struct node_server *s, const char *kind, const char *what, json_t *answer, usec_t ttl) {
        _cleanup_free_ char *path = cache_path(s, kind, what);
        if (!path || !answer || json_object_set_new(answer, "expires", json_integer((json_int_t) (now_realtime() + ttl))) < 0)
                return;
        char *slash = strrchr(path, '/');
        *slash = '\0';
        if (mkdir(path, 0700) < 0 && errno != EEXIST)
                return;
        cache_prune(path);
        *slash = '/';
        _cleanup_free_ char *text = json_dumps(answer, JSON_COMPACT);
        if (text)
                (void) nl_write_file_atomic(path, text, strlen(text), 0600);
}

static json_t *identity_to_json(const struct node_identity *id) {
        json_t *g = json_array();
        for (size_t i = 0; i < id->n_groups; i++)
                json_array_append_new(g, json_string(id->groups[i]));
        return json_pack("{s:s, s:s?, s:o, s:O?}", "user", id->user, "uid", id->uid, "groups", g, "extra", id->extra);
}

static int identity_from_json(json_t *j, struct node_identity *ret) {
        struct node_identity id = {};
        const char *user = json_string_value(json_object_get(j, "user"));
        const char *uid = json_string_value(json_object_get(j, "uid"));
        json_t *groups = json_object_get(j, "groups"), *g;
        size_t i;
        if (!user || !(id.user = strdup(user)) || (uid && !(id.uid = strdup(uid))) ||
            !(id.groups = calloc(json_array_size(groups) + 1, sizeof(char *)))) {
                identity_done(&id);
                return -ENOMEM;
        }
        json_array_foreach (groups, i, g)
                if (json_is_string(g) && (id.groups[id.n_groups] = strdup(json_string_value(g))))
                        id.n_groups++;
        id.extra = json_incref(json_object_get(j, "extra"));
        *ret = id;
        return 0;
}

static char *name_entry(X509_NAME_ENTRY *e) {
        unsigned char *utf8 = NULL;
        int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));
        if (n < 0)
                return NULL;
        char *s = NULL;
        if (memchr(utf8, '\0', (size_t) n) == NULL) /* an embedded NUL is not a name */
                s = strndup((const char *) utf8, (size_t) n);
        OPENSSL_free(utf8);
        return s;
}

/* As the kubelet's x509 authenticator (CommonNameUserConversion): a certificate that chains to
 * the client CA (checked during the handshake) is the user of its subject CN, in the groups of
 * its O values; a certificate without a CN authenticates no one. */
static int authenticate_cert(struct conn *c, struct identity *ret) {
        if (!c->ssl)
                return 0;
        X509 *cert = SSL_get1_peer_certificate(c->ssl);
        if (!cert)
                return 0;
        int r = 0;
        struct identity id = {};
        if (SSL_get_verify_result(c->ssl) != X509_V_OK)
                goto out;
        X509_NAME *subject = X509_get_subject_name(cert);
        for (int i = 0; i < X509_NAME_entry_count(subject); i++) {
                X509_NAME_ENTRY *e = X509_NAME_get_entry(subject, i);
                int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
                if (nid == NID_commonName) {
                        free(id.user); /* Go keeps the last CN */
                        id.user = name_entry(e);
                } else if (nid == NID_organizationName) {
                        char **g = realloc(id.groups, (id.n_groups + 1) * sizeof(char *));
                        if (!g)
                                goto out;
                        id.groups = g;
                        if ((g[id.n_groups] = name_entry(e)))
                                id.n_groups++;
                }
        }
        if (isempty(id.user))
                goto out;
        *ret = id;
        id = (struct identity){};
        r = 1;
out:
        identity_done(&id);
        X509_free(cert);
        return r;
}

/* "Authorization: Bearer <token>" as the kubelet's bearertoken authenticator reads it. */
static int authenticate_token(struct conn *c, const char *authorization, struct identity *ret) {
        const struct node_server_auth *a = &c->s->auth;
        if (!authorization || !a->authenticate_token || strncasecmp(authorization, "bearer ", 7) != 0)
                return 0;
        const char *token = authorization + 7;
        token += strspn(token, " ");
        if (!*token || strchr(token, ' '))
                return 0;
        struct identity id = {};
        json_t *cached = cache_get(c->s, "authn", token);
        if (cached) {
                int r = json_is_true(json_object_get(cached, "authenticated")) &&
                                        identity_from_json(json_object_get(cached, "identity"), ret) == 0
                                ? 1
                                : 0;
                json_decref(cached);
                return r;
        }
        int r = a->authenticate_token(a->userdata, token, &id);
        if (r <= 0 || isempty(id.user)) {
                if (r < 0)
                        log_debug("node server: token review failed: %s", strerror(-r));
                else /* a rejection is an answer too */
                        cache_put(c->s, "authn", token, json_pack("{s:b}", "authenticated", false), AUTHN_TTL);
                if (r > 0)
                        identity_done(&id);
                return 0;
        }
        cache_put(c->s, "authn", token, json_pack("{s:b, s:o}", "authenticated", true, "identity", identity_to_json(&id)),
                  AUTHN_TTL);
        *ret = id;
        return 1;
}

/* ==== the child: endpoints =================================================================== */

static void serve_pods(struct conn *c) {
        json_t *items = node_pods_load(c->s->root_dir);
        json_t *list = items ? json_pack("{s:s, s:s, s:{}, s:o}", "kind", "PodList", "apiVersion", "v1",
                                         "metadata", "items", items)
                             : NULL;
        (void) send_json(c, list);
        json_decref(list);
}

/* Go's strconv.ParseBool, as query parameters of PodLogOptions decode. */
static int parse_bool(const char *s, bool *ret) {
        static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
        static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False", ""};
        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                if (streq(s, yes[i])) {
                        *ret = true;
                        return 0;
                }
        for (size_t i = 0; i < ELEMENTSOF(no); i++)
                if (streq(s, no[i])) {
                        *ret = false;
                        return 0;
                }
        return -EINVAL;
}

/* PodLogOptions from the query; 400 when it does not decode, 422 when ValidatePodLogOptions
 * would refuse it (the kubelet's answers), else 0. */
static int log_options(const char *query, struct node_log_options *o, bool *ret_previous) {
        *o = (struct node_log_options){.tail_lines = -1};
        *ret_previous = false;
        static const char *const bools[] = {"follow", "timestamps", "previous"};
        bool *bool_dst[] = {&o->follow, &o->timestamps, ret_previous};
        for (size_t i = 0; i < ELEMENTSOF(bools); i++) {
                _cleanup_free_ char *v = NULL;
                int r = query_get(query, bools[i], &v);
                if (r < 0 || (r > 0 && parse_bool(v, bool_dst[i]) < 0))
                        return 400;
        }
        static const char *const ints[] = {"tailLines", "sinceSeconds", "limitBytes"};
        int64_t vals[3];
        bool set[3] = {};
        for (size_t i = 0; i < ELEMENTSOF(ints); i++) {
                _cleanup_free_ char *v = NULL;
                int r = query_get(query, ints[i], &v);
                if (i == 0 && r == 0)
                        r = query_get(query, "tail", &v); /* the old name; "all" is no tail */
                if (r < 0)
                        return 400;
                if (r == 0 || (i == 0 && streq(v, "all")))
                        continue;
                if (nl_parse_int64(v, INT64_MIN, INT64_MAX, &vals[i]) < 0)
                        return 400;
                set[i] = true;
        }
        _cleanup_free_ char *since_time = NULL;
        int r = query_get(query, "sinceTime", &since_time);
        if (r < 0)
                return 400;
        usec_t since_abs = 0;
        if (r > 0 && !(since_abs = parse_rfc3339(since_time)))
                return 400;
        if ((set[0] && vals[0] < 0) || (set[1] && vals[1] < 1) || (set[2] && vals[2] < 1) ||
            (set[1] && since_abs))
                return 422;
        if (set[0])
                o->tail_lines = vals[0];
        if (set[2])
                o->limit_bytes = vals[2];
        if (set[1]) {
                usec_t now = now_realtime();
                uint64_t secs = (uint64_t) vals[1];
                o->since = secs >= now / USEC_PER_SEC ? 1 : now - secs * USEC_PER_SEC;
        } else
                o->since = since_abs;
        return 0;
}

/* A long-lived request waits for a slot of its own budget: 429 when there is none. */
bool conn_long_slot(struct conn *c) {
        if (conn_ctl_long(c->s))
                return true;
        (void) send_text(c, 429, "Too many long-running requests (logs -f, exec, attach, port-forward) on this node; try again later");
        return false;
}

static void serve_logs(struct conn *c, const struct request *rq) {
        struct node_log_options o;
        bool previous;
        int status = log_options(rq->query, &o, &previous);
        if (status == 0 && o.follow && !conn_long_slot(c))
                return;
        if (status == 400) {
                (void) send_text(c, 400, "{\"message\": \"Unable to decode query.\"}");
                return;
        }
        if (status == 422) {
                (void) send_text(c, 422, "{\"message\": \"Invalid request.\"}");
                return;
        }
        struct node_log_target t = {};
        nl_error err = NL_ERROR_INIT;
        int r = node_logs_find(c->s->root_dir, c->s->log_dir, rq->seg[1], rq->seg[2], rq->seg[3], previous,
                               &t, &err);
        if (r < 0) {
                (void) send_text(c, r == -ENOENT ? 404 : r == -ENOMEM ? 500 : 400, strempty(err.msg));
                nl_error_clear(&err);
                return;
        }
        if (send_head(c, 200, TEXT_PLAIN, -1) >= 0 && !c->head && conn_flush(c) >= 0) {
                r = node_logs_copy(&t, &o, log_sink, c, c->fd);
                if (r < 0 && r != -EPIPE)
                        log_debug("node server: logs of %s/%s/%s: %s", t.namespace, t.pod, t.container,
                                  strerror(-r));
        }
        node_log_target_done(&t);
}

static void serve_metrics(struct conn *c) {
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        if (!f) {
                (void) send_text(c, 500, "Internal Server Error");
                return;
        }
        int r = c->s->write_metrics ? c->s->write_metrics(c->s->metrics_userdata, f)
                                    : node_metrics_write_default(c->s->root_dir, c->s->pid, f);
        if (fclose(f) != 0 || r < 0 || !text) {
                (void) send_text(c, 500, "Internal Server Error");
                return;
        }
        (void) send_response(c, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
}

static void serve_stats(struct conn *c, bool resource) {
        if (resource) {
                _cleanup_free_ char *text = NULL;
                size_t len = 0;
                FILE *f = open_memstream(&text, &len);
                int r = f ? node_stats_resource_metrics(c->s->root_dir, c->s->cri->cgroup_root, f) : -ENOMEM;
                if (!f || fclose(f) != 0 || r < 0 || !text)
                        (void) send_text(c, 500, "Internal Server Error");
                else
                        (void) send_response(c, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
                return;
        }
        json_t *j = NULL;
        if (node_stats_summary(c->s->root_dir, c->s->cri->cgroup_root, c->s->node_name, &j) < 0)
                (void) send_text(c, 500, "Internal Server Error");
        else
                (void) send_json(c, j);
        json_decref(j);
}

static void route(struct conn *c, const struct request *rq) {
        if (node_stream_path(rq)) {
                node_stream_serve(c, rq);
                return;
        }
        bool get = streq(rq->method, "GET") || streq(rq->method, "HEAD");
        bool known = path_is(rq, 1, "healthz") || path_is(rq, 1, "pods") ||
                     path_is(rq, 4, "containerLogs", NULL, NULL, NULL) || path_is(rq, 1, "metrics") ||
                     path_is(rq, 2, "metrics", "resource") || path_is(rq, 2, "stats", "summary");
        if (!known) {
                (void) send_text(c, 404, "404 page not found\n");
                return;
        }
        if (!get) {
                (void) send_text(c, 405, "405: Method Not Allowed");
                return;
        }
        if (path_is(rq, 1, "healthz"))
                (void) serve_healthz(c);
        else if (path_is(rq, 1, "pods"))
                serve_pods(c);
        else if (path_is(rq, 1, "metrics"))
                serve_metrics(c);
        else if (path_is(rq, 2, "metrics", "resource"))
                serve_stats(c, true);
        else if (path_is(rq, 2, "stats", "summary"))
                serve_stats(c, false);
        else
                serve_logs(c, rq);
}

/* The kubelet's InstallAuthFilter: authenticate (401 "Unauthorized"), authorize the node
 * subresource (403 with the attributes, 500 when the authorizer fails). */
static bool authorized(struct conn *c, const struct request *rq) {
        struct identity id = {};
        if (authenticate_cert(c, &id) <= 0 && authenticate_token(c, rq->authorization, &id) <= 0) {
                (void) send_text(c, 401, "Unauthorized");
                return false;
        }
        const char *verb = request_verb(rq->method), *sub = request_subresource(rq);
        const struct node_server_auth *a = &c->s->auth;
        int r = 1;
        if (a->authorize) {
                /* the question in full: user, uid, groups, extra and the attributes */
                json_t *q = identity_to_json(&id);
                (void) json_object_set_new(q, "verb", json_string(verb));
                (void) json_object_set_new(q, "subresource", json_string(sub));
                _cleanup_free_ char *key = q ? json_dumps(q, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
                json_decref(q);
                json_t *cached = key ? cache_get(c->s, "authz", key) : NULL;
                if (cached)
                        r = json_is_true(json_object_get(cached, "allowed"));
                else {
                        r = a->authorize(a->userdata, &id, verb, sub);
                        if (r >= 0 && key)
                                cache_put(c->s, "authz", key, json_pack("{s:b}", "allowed", r > 0),
                                          r > 0 ? AUTHZ_ALLOWED_TTL : AUTHZ_DENIED_TTL);
                }
                json_decref(cached);
        }
        if (r <= 0) {
                _cleanup_free_ char *msg =
                        nl_strdupf("%s (user=%s, verb=%s, resource=nodes, subresource=%s)",
                                   r < 0 ? "Authorization error" : "Forbidden", id.user, verb, sub);
                (void) send_text(c, r < 0 ? 500 : 403, strempty(msg));
        }
        identity_done(&id);
        return r > 0;
}

/* Close without losing the answer: a close with unread bytes (a refused body, a pipelined
 * request) would reset the connection and the client might not see what we wrote. */
static void conn_close(struct conn *c) {
        if (c->ssl) {
                (void) SSL_shutdown(c->ssl);
                SSL_free(c->ssl);
                c->ssl = NULL;
        }
        (void) shutdown(c->fd, SHUT_WR);
        struct timeval tv = {.tv_sec = 1};
        (void) setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        char buf[4096];
        for (size_t total = 0; total < 256 * 1024;) {
                ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
                if (n <= 0)
                        break;
                total += (size_t) n;
        }
        close(c->fd);
}

_Noreturn void node_conn_serve(struct node_server *s, int fd, bool tls) {
        sigset_t none;
        sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_IGN);
        signal(SIGALRM, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        /* the deadline for the handshake and the request head, whatever the client trickles */
        alarm(READ_DEADLINE_SEC);
        struct timeval rcv = {.tv_sec = READ_DEADLINE_SEC}, snd = {.tv_sec = WRITE_TIMEOUT_SEC};
        (void) setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &rcv, sizeof(rcv));
        (void) setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &snd, sizeof(snd));
        int one = 1;
        (void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

        struct conn *c = calloc(1, sizeof(*c));
        struct request *rq = calloc(1, sizeof(*rq));
        if (!c || !rq)
                _exit(1);
        c->s = s;
        c->fd = fd;
        if (tls) {
                c->ssl = SSL_new(s->ssl);
                if (!c->ssl || SSL_set_fd(c->ssl, fd) != 1 || SSL_accept(c->ssl) != 1) {
                        log_debug("node server: TLS handshake failed");
                        _exit(0);
                }
        }
        int status = request_read(c, rq);
        alarm(0);
        if (status < 0)
                _exit(0);
        if (status > 0) {
                static const char *const msgs[] = {[0] = "400 Bad Request",
                                                   [1] = "413 Request Entity Too Large",
                                                   [2] = "431 Request Header Fields Too Large"};
                (void) send_text(c, status, msgs[status == 413 ? 1 : status == 431 ? 2 : 0]);
        } else {
                c->head = streq(rq->method, "HEAD");
                if (!request_verb(rq->method))
                        (void) send_text(c, 405, "405: Method Not Allowed");
                else if (!tls) /* the healthz port: /healthz only, no authentication */
                        (void) (path_is(rq, 1, "healthz") ? serve_healthz(c)
                                                          : send_text(c, 404, "404 page not found\n"));
                else if (authorized(c, rq)) {
                        conn_ctl_authenticated(s);
                        route(c, rq);
                }
        }
        (void) body_end(c);
        conn_close(c);
        _exit(0);
}
