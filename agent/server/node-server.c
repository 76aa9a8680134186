/* SPDX-License-Identifier: Apache-2.0 */
/* The node server (the kubelet's pkg/kubelet/server): /healthz, /pods, /containerLogs, /metrics,
 * /metrics/resource and /stats/summary on port 10250 behind client-certificate or bearer-token
 * authentication and node-subresource authorization; /healthz alone on the plain healthz port.
 *
 * Following DESIGN.md ("work that can block runs in a child process") the loop only accepts:
 * every connection is served by a fork of the daemon, which does the blocking TLS handshake,
 * reads one request under a deadline, calls the (blocking) auth callbacks, answers and exits.
 * The child sees a copy-on-write snapshot of the daemon, reads what the daemon publishes on disk
 * (pod.json files, CRI logs, cgroup files) and never touches the event loop. */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include "agent/log.h"
#include "cri/cri.h"
#include "node-server.h"
#include "node-server-internal.h"


#define DEFAULT_MAX_CONNECTIONS 32
#define DEFAULT_MAX_STREAMS 64
#define MAX_SHORT 256 /* authenticated short requests: a bound on processes, not a budget */

/* ==== TLS ==================================================================================== */

static char *ssl_error_string(void) {
        unsigned long e = ERR_get_error();
        char buf[256];
        if (!e)
                return strdup("unknown error");
        ERR_error_string_n(e, buf, sizeof(buf));
        ERR_clear_error();
        return strdup(buf);
}

static int ssl_fail(nl_error *err, const char *what, const char *path) {
        _cleanup_free_ char *e = ssl_error_string();
        return nl_error_set(err, -EINVAL, "%s \"%s\": %s", what, strempty(path), strempty(e));
}

/* The handshake goes on whatever the client certificate: as the kubelet (tls.RequestClientCert
 * plus the x509 authenticator), a certificate that does not verify only fails to authenticate,
 * so the request can still carry a bearer token. The result is read in authenticate_cert(). */
static int verify_keep_going(int ok, X509_STORE_CTX *ctx) {
        return 1;
}

/* HTTP/1.1 only: h2 is not spoken here. */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
                       unsigned int inlen, void *arg) {
        for (unsigned i = 0; i < inlen; i += 1u + in[i])
                if (in[i] == 8 && i + 9 <= inlen && memcmp(in + i + 1, "http/1.1", 8) == 0) {
                        *out = in + i + 1;
                        *outlen = 8;
                        return SSL_TLSEXT_ERR_OK;
                }
        return SSL_TLSEXT_ERR_NOACK;
}

/* Without --tls-cert-file the kubelet makes a self-signed certificate ("<host>@<unix time>"); so
 * do we, in memory, for a year. */
static int self_signed(SSL_CTX *ctx, const char *node_name, nl_error *err) {
        EVP_PKEY *key = EVP_EC_gen("P-256");
        X509 *x = X509_new();
        int r = -EINVAL;
        _cleanup_free_ char *cn = nl_strdupf("%s@%lld", strempty(node_name), (long long) time(NULL));
        _cleanup_free_ char *san = nl_strdupf("DNS:%s,DNS:localhost,IP:127.0.0.1", strempty(node_name));
        if (!key || !x || !cn || !san)
                goto out;
        X509_NAME *name = X509_get_subject_name(x);
        X509V3_CTX v3;
        if (X509_set_version(x, 2) != 1 ||
            ASN1_INTEGER_set(X509_get_serialNumber(x), (long) time(NULL)) != 1 ||
            !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
            !X509_gmtime_adj(X509_getm_notAfter(x), 365L * 24 * 3600) || X509_set_pubkey(x, key) != 1 ||
            X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *) cn, -1, -1, 0) !=
                    1 ||
            X509_set_issuer_name(x, name) != 1)
                goto out;
        X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
        const char *exts[][2] = {{"basicConstraints", "critical,CA:FALSE"},
                                 {"keyUsage", "critical,digitalSignature"},
                                 {"extendedKeyUsage", "serverAuth"},
                                 {"subjectAltName", san}};
        for (size_t i = 0; i < ELEMENTSOF(exts); i++) {
                X509_EXTENSION *e = X509V3_EXT_nconf(NULL, &v3, exts[i][0], exts[i][1]);
                if (!e && i == 3) /* a node name that is no DNS name: localhost only */
                        e = X509V3_EXT_nconf(NULL, &v3, exts[i][0], "DNS:localhost,IP:127.0.0.1");
                if (!e)
                        goto out;
                int ok = X509_add_ext(x, e, -1);
                X509_EXTENSION_free(e);
                if (ok != 1)
                        goto out;
        }
        if (X509_sign(x, key, EVP_sha256()) <= 0 || SSL_CTX_use_certificate(ctx, x) != 1 ||
            SSL_CTX_use_PrivateKey(ctx, key) != 1)
                goto out;
        r = 0;
out:
        if (r < 0)
                (void) ssl_fail(err, "self-signed serving certificate for", node_name);
        X509_free(x);
        EVP_PKEY_free(key);
        return r;
}

static int tls_context_new(const struct node_server *s, SSL_CTX **ret, nl_error *err) {
        SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
        int r;
        if (!ctx)
                return nl_error_set(err, -ENOMEM, "TLS context: out of memory");
        (void) SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
        SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
        /* every connection is its own process: a server-side session cache would be lost (tickets
         * still resume) */
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
        SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
        if (s->cert_file && !(s->self_signed_until_cert && access(s->cert_file, F_OK) < 0)) {
                if (SSL_CTX_use_certificate_chain_file(ctx, s->cert_file) != 1) {
                        r = ssl_fail(err, "load --tls-cert-file", s->cert_file);
                        goto fail;
                }
                if (SSL_CTX_use_PrivateKey_file(ctx, s->key_file, SSL_FILETYPE_PEM) != 1) {
                        r = ssl_fail(err, "load --tls-private-key-file", s->key_file);
                        goto fail;
                }
                if (SSL_CTX_check_private_key(ctx) != 1) {
                        r = ssl_fail(err, "--tls-private-key-file does not match the certificate",
                                     s->key_file);
                        goto fail;
                }
        } else if ((r = self_signed(ctx, s->node_name, err)) < 0)
                goto fail;
        if (s->client_ca_file) {
                STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(s->client_ca_file);
                if (!names || SSL_CTX_load_verify_locations(ctx, s->client_ca_file, NULL) != 1) {
                        sk_X509_NAME_pop_free(names, X509_NAME_free);
                        r = ssl_fail(err, "load --client-ca-file", s->client_ca_file);
                        goto fail;
                }
                SSL_CTX_set_client_CA_list(ctx, names);
                SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_keep_going);
                SSL_CTX_set_verify_depth(ctx, 10);
                /* as Go's x509 verification with ExtKeyUsageClientAuth */
                (void) SSL_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
        }
        *ret = ctx;
        return 0;
fail:
        SSL_CTX_free(ctx);
        return r;
}

static void file_id_get(const char *path, struct file_id *ret) {
        struct stat st;
        *ret = (struct file_id){};
        if (path && stat(path, &st) == 0)
                *ret = (struct file_id){.dev = st.st_dev,
                                        .ino = st.st_ino,
                                        .size = st.st_size,
                                        .mtime = st.st_mtim,
                                        .exists = true};
}

static bool file_id_eq(const struct file_id *a, const struct file_id *b) {
        return a->exists == b->exists && a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
               a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

/* Certificates are rotated on disk (by hand, cert-manager, kubeadm): a change is picked up at the
 * next connection. A set that does not load (half written) keeps the old one until it changes
 * again. */
static void tls_maybe_reload(struct node_server *s) {
        const char *paths[3] = {s->cert_file, s->key_file, s->client_ca_file};
        struct file_id now[3];
        bool changed = false;
        for (size_t i = 0; i < 3; i++) {
                file_id_get(paths[i], &now[i]);
                changed = changed || !file_id_eq(&now[i], &s->tls_files[i]);
        }
        if (!changed)
                return;
        memcpy(s->tls_files, now, sizeof(now));
        SSL_CTX *ctx = NULL;
        nl_error err = NL_ERROR_INIT;
        if (tls_context_new(s, &ctx, &err) < 0) {
                log_warning("node server: reloading the certificates failed, keeping the old ones: %s",
                            err.msg);
                nl_error_clear(&err);
                return;
        }
        SSL_CTX_free(s->ssl);
        s->ssl = ctx;
        log_info("node server: certificates reloaded");
}

/* ==== the parent: accepting, children ======================================================== */

static void child_free(struct child *ch) {
        if (!ch)
                return;
        sd_event_source_disable_unref(ch->src);
        sd_event_source_disable_unref(ch->ctl_src);
        if (ch->ctl_fd >= 0)
                close(ch->ctl_fd);
        free(ch);
}

static size_t count_children(const struct node_server *s, enum child_kind kind, const char *peer) {
        size_t n = 0;
        for (size_t i = 0; i < s->n_children; i++)
                if (s->children[i]->kind == kind && (!peer || streq(s->children[i]->peer, peer)))
                        n++;
        return n;
}

/* A child says what it does now (and asks for a long-lived slot). */
static int on_child_ctl(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        struct child *ch = userdata;
        char b;
        ssize_t k = recv(fd, &b, 1, MSG_DONTWAIT);
        if (k <= 0) {
                if (k == 0 || (errno != EAGAIN && errno != EINTR))
                        ch->ctl_src = sd_event_source_disable_unref(ch->ctl_src);
                return 0;
        }
        if (b == CTL_AUTHENTICATED && ch->kind == CHILD_PENDING)
                ch->kind = CHILD_SHORT;
        else if (b == CTL_LONG) {
                bool yes = ch->kind == CHILD_LONG || count_children(ch->s, CHILD_LONG, NULL) < ch->s->max_streams;
                if (yes)
                        ch->kind = CHILD_LONG;
                char a = yes ? CTL_YES : CTL_NO;
                (void) send(fd, &a, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
        }
        return 0;
}

static void child_remove(struct node_server *s, struct child *ch) {
        for (size_t i = 0; i < s->n_children; i++)
                if (s->children[i] == ch) {
                        s->children[i] = s->children[--s->n_children];
                        break;
                }
        child_free(ch);
}

static int on_child_exit(sd_event_source *src, const siginfo_t *si, void *userdata) {
        struct child *ch = userdata;
        if (si->si_code != CLD_EXITED || si->si_status != 0)
                log_debug("node server: connection process %d ended with %s %d", (int) ch->pid,
                          si->si_code == CLD_EXITED ? "status" : "signal", si->si_status);
        child_remove(ch->s, ch);
        return 0;
}

/* In a connection's child: only the connection, the control socket and stdio stay open. The
 * listening sockets stay the daemon's alone (a restart can bind them again while a `logs -f`
 * still streams), and nothing else of the daemon's (its loop, the runtime's and the API
 * server's sockets, other connections) is the child's to hold. */
static void close_daemon_fds(int keep1, int keep2) {
        int lo = keep1 < keep2 ? keep1 : keep2, hi = keep1 < keep2 ? keep2 : keep1;
        if (lo > 3)
                (void) close_range(3, (unsigned) lo - 1, 0);
        if (hi > lo + 1)
                (void) close_range((unsigned) lo + 1, (unsigned) hi - 1, 0);
        (void) close_range((unsigned) hi + 1, ~0U, 0);
}

static void peer_of(int fd, char ret[64]) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        ret[0] = '\0';
        if (getpeername(fd, (struct sockaddr *) &ss, &sl) < 0)
                return;
        if (ss.ss_family == AF_INET)
                inet_ntop(AF_INET, &((struct sockaddr_in *) &ss)->sin_addr, ret, 64);
        else if (ss.ss_family == AF_INET6)
                inet_ntop(AF_INET6, &((struct sockaddr_in6 *) &ss)->sin6_addr, ret, 64);
}

static void serve_connection(struct node_server *s, struct listener *l, int fd, const char *peer) {
        struct child **list = realloc(s->children, (s->n_children + 1) * sizeof(*list));
        struct child *ch = calloc(1, sizeof(*ch));
        int ctl[2] = {-1, -1};
        if (list)
                s->children = list;
        if (!list || !ch || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl) < 0) {
                free(ch);
                return;
        }
        pid_t pid = fork();
        if (pid < 0) {
                log_warning("node server: cannot fork for a connection: %m");
                close(ctl[0]);
                close(ctl[1]);
                free(ch);
                return;
        }
        if (pid == 0) {
                log_plain_only(); /* the journal's socket is one of the daemon's */
                close_daemon_fds(fd, ctl[1]);
                s->ctl_fd = ctl[1];
                node_conn_serve(s, fd, l->tls);
        }
        close(ctl[1]);
        *ch = (struct child){.s = s, .pid = pid, .ctl_fd = ctl[0], .kind = CHILD_PENDING};
        snprintf(ch->peer, sizeof(ch->peer), "%s", peer);
        if (sd_event_add_io(s->event, &ch->ctl_src, ch->ctl_fd, EPOLLIN, on_child_ctl, ch) < 0)
                ch->ctl_src = NULL; /* without it the child stays "pending" and asks in vain */
        int r = sd_event_add_child(s->event, &ch->src, pid, WEXITED, on_child_exit, ch);
        if (r < 0) {
                log_warning("node server: cannot watch connection process %d: %s", (int) pid, strerror(-r));
                kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                free(ch);
                return;
        }
        (void) sd_event_source_set_description(ch->src, "node-server-connection");
        s->children[s->n_children++] = ch;
}

static int on_accept(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        struct listener *l = userdata;
        struct node_server *s = l->s;
        /* a few per wake-up, so a flood does not starve the rest of the loop */
        for (int i = 0; i < 16; i++) {
                int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
                if (cfd < 0) {
                        if (errno == EINTR || errno == ECONNABORTED)
                                continue;
                        if (errno != EAGAIN && errno != EWOULDBLOCK)
                                log_warning("node server: accept on port %d: %m", l->port);
                        break;
                }
                char peer[64];
                peer_of(cfd, peer);
                /* not yet authenticated: max_connections, half of it for one address; the
                 * authenticated ones have budgets of their own */
                size_t pending = count_children(s, CHILD_PENDING, NULL);
                size_t from_peer = count_children(s, CHILD_PENDING, peer);
                if (pending >= s->max_connections || from_peer >= (s->max_connections + 1) / 2 ||
                    s->n_children >= (size_t) s->max_connections + s->max_streams + MAX_SHORT) {
                        /* closed at once: one line per second says how many */
                        s->refused++;
                        usec_t now = now_monotonic();
                        if (now - s->refused_logged >= USEC_PER_SEC) {
                                log_warning("node server: %zu connections not yet authenticated (%zu from %s), "
                                            "%zu in all: %u refused",
                                            pending, from_peer, peer, s->n_children, s->refused);
                                s->refused_logged = now;
                                s->refused = 0;
                        }
                        close(cfd);
                        continue;
                }
                if (l->tls)
                        tls_maybe_reload(s);
                serve_connection(s, l, cfd, peer);
                close(cfd);
        }
        return 0;
}

static int listener_open(struct node_server *s, struct listener *l, const char *address, int port, bool tls,
                         nl_error *err) {
        *l = (struct listener){.s = s, .fd = -1, .port = -1, .tls = tls};
        if (port == 0)
                return 0;
        if (port > 65535)
                return nl_error_set(err, -EINVAL, "port %d out of range", port);
        char portstr[16];
        snprintf(portstr, sizeof(portstr), "%d", port < 0 ? 0 : port);
        struct addrinfo hints = {.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV,
                                 .ai_socktype = SOCK_STREAM},
                        *ai = NULL;
        int g = getaddrinfo(address, portstr, &hints, &ai);
        if (g != 0)
                return nl_error_set(err, -EINVAL, "bind address \"%s\": %s", address, gai_strerror(g));
        int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        int one = 1, r = 0;
        if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
            bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, SOMAXCONN) < 0)
                r = -errno;
        freeaddrinfo(ai);
        if (r < 0) {
                if (fd >= 0)
                        close(fd);
                return nl_error_set(err, r, "listen on %s port %s: %s", address, portstr, strerror(-r));
        }
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        if (getsockname(fd, (struct sockaddr *) &ss, &sl) == 0)
                l->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *) &ss)->sin6_port
                                                         : ((struct sockaddr_in *) &ss)->sin_port);
        l->fd = fd;
        r = sd_event_add_io(s->event, &l->io, fd, EPOLLIN, on_accept, l);
        if (r < 0)
                return nl_error_set(err, r, "listen on %s port %d: %s", address, l->port, strerror(-r));
        (void) sd_event_source_set_description(l->io, tls ? "node-server" : "node-server-healthz");
        return 0;
}

void node_server_free(struct node_server *s) {
        if (!s)
                return;
        for (size_t i = 0; i < ELEMENTSOF(s->listeners); i++) {
                sd_event_source_disable_unref(s->listeners[i].io);
                closep(&s->listeners[i].fd);
        }
        /* what is still being served (log streams) ends with the server */
        for (size_t i = 0; i < s->n_children; i++) {
                struct child *ch = s->children[i];
                sd_event_source_disable_unref(ch->src);
                ch->src = NULL;
                kill(ch->pid, SIGKILL);
                (void) waitpid(ch->pid, NULL, 0);
                child_free(ch); /* its control socket's source too */
        }
        free(s->children);
        SSL_CTX_free(s->ssl);
        sd_event_unref(s->event);
        free(s->address);
        free(s->healthz_address);
        free(s->cert_file);
        free(s->key_file);
        free(s->client_ca_file);
        free(s->node_name);
        free(s->root_dir);
        free(s->log_dir);
        free(s);
}

static char *strdup_or_null(const char *s, bool *oom) {
        char *d = s ? strdup(s) : NULL;
        if (s && !d)
                *oom = true;
        return d;
}

int node_server_new(sd_event *event, const struct node_server_config *cfg, struct node_server **ret,
                    nl_error *err) {
        if (!event || !cfg || !cfg->cri || !cfg->cri->root_dir || !cfg->cri->log_dir)
                return nl_error_set(err, -EINVAL, "node server: no root or log directory");
        if (!cfg->cert_file != !cfg->key_file)
                return nl_error_set(err, -EINVAL, "--tls-cert-file and --tls-private-key-file go together");
        struct node_server *s = calloc(1, sizeof(*s));
        if (!s)
                return nl_error_set(err, -ENOMEM, "out of memory");
        bool oom = false;
        *s = (struct node_server){
                .event = sd_event_ref(event),
                .address = strdup_or_null(cfg->address ? cfg->address : "0.0.0.0", &oom),
                .healthz_address =
                        strdup_or_null(cfg->healthz_address ? cfg->healthz_address : "127.0.0.1", &oom),
                .cert_file = strdup_or_null(cfg->cert_file, &oom),
                .key_file = strdup_or_null(cfg->key_file, &oom),
                .client_ca_file = strdup_or_null(cfg->client_ca_file, &oom),
                .self_signed_until_cert = cfg->self_signed_until_cert,
                .node_name = strdup_or_null(cfg->node_name ? cfg->node_name : "", &oom),
                .root_dir = strdup_or_null(cfg->cri->root_dir, &oom),
                .log_dir = strdup_or_null(cfg->cri->log_dir, &oom),
                .cri = cfg->cri,
                .auth = cfg->auth,
                .write_metrics = cfg->write_metrics,
                .metrics_userdata = cfg->metrics_userdata,
                .health = cfg->health,
                .health_userdata = cfg->health_userdata,
                .max_connections = cfg->max_connections ? cfg->max_connections : DEFAULT_MAX_CONNECTIONS,
                .max_streams = cfg->max_streams ? cfg->max_streams : DEFAULT_MAX_STREAMS,
                .streaming_idle_timeout = cfg->streaming_idle_timeout,
                .ctl_fd = -1,
                .pid = getpid(),
                .listeners = {{.fd = -1, .port = -1}, {.fd = -1, .port = -1}},
        };
        int r;
        if (oom) {
                r = nl_error_set(err, -ENOMEM, "out of memory");
                goto fail;
        }
        if (cfg->port != 0) {
                const char *paths[3] = {s->cert_file, s->key_file, s->client_ca_file};
                for (size_t i = 0; i < 3; i++)
                        file_id_get(paths[i], &s->tls_files[i]);
                if ((r = tls_context_new(s, &s->ssl, err)) < 0)
                        goto fail;
        }
        if ((r = listener_open(s, &s->listeners[0], s->address, cfg->port, true, err)) < 0 ||
            (r = listener_open(s, &s->listeners[1], s->healthz_address, cfg->healthz_port, false, err)) < 0)
                goto fail;
        *ret = s;
        return 0;
fail:
        node_server_free(s);
        return r;
}

int node_server_port(const struct node_server *s, bool healthz) {
        return s ? s->listeners[healthz ? 1 : 0].port : -1;
}

unsigned node_server_connections(const struct node_server *s) {
        return s ? (unsigned) s->n_children : 0;
}
