/* SPDX-License-Identifier: Apache-2.0 */
/* Registry pulls end to end, as root, against the fixtures: Debian's docker-registry on
 * 127.0.0.1 (plain, htpasswd Basic, TLS with a test CA, Bearer tokens from
 * tests/fixtures/token-server.c) holding images built by tests/fixtures/make-images.sh, plus
 * a small fault-injecting registry forked by this test (cut transfers, ignored Range, 503s,
 * oversized blobs). The fixtures are started here, on their own ports (PULL_TEST_PORT_BASE,
 * default 15600), and stopped at exit; run from the source tree (or set NODELET_SOURCE_DIR).
 * Without root or the fixture tools every test is skipped with a note. Each test runs its
 * own sd-event loop until the done callbacks fire. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "cri/image/registry-internal.h"
#include "tests/lib/util.h"
#include "../unit/test.h"

#define PULL_TIMEOUT_USEC (60 * USEC_PER_SEC)

/* ==== fixtures =========================================================================== */

static struct {
        bool tried, ok;
        char src[1024];
        char images[256]; /* make-images.sh output */
        unsigned base;
        unsigned plain, basic, tls, token, tamper, dead;
        char env_path[300];
        char tamper_dir[256];
        pid_t fake_pid;
        unsigned fake_port;
        char fake_log[300];
} fx;

static const char *image_env(const char *key) {
        static char value[256];
        char line[512];
        FILE *f = fopen(fx.env_path, "re");
        size_t kl = strlen(key);
        const char *res = NULL;

        if (!f)
                return NULL;
        while (fgets(line, sizeof(line), f)) {
                if (strncmp(line, key, kl) == 0 && line[kl] == '=') {
                        snprintf(value, sizeof(value), "%s", line + kl + 1);
                        value[strcspn(value, "\n")] = '\0';
                        res = value;
                        break;
                }
        }
        fclose(f);
        return res;
}

/* A copy, for holding several at once. */
static char *image_env_dup(const char *key) {
        const char *v = image_env(key);
        return v ? strdup(v) : NULL;
}

static void fake_registry_stop(void);

static void fixtures_stop(void) {
        fake_registry_stop();
        unsigned ports[] = {fx.plain, fx.basic, fx.tls, fx.token, fx.tamper};
        for (size_t i = 0; i < ELEMENTSOF(ports); i++)
                if (ports[i])
                        test_sh("'%s/tests/fixtures/registry.sh' stop --port %u >/dev/null 2>&1", fx.src,
                           ports[i]);
        if (fx.images[0])
                test_sh("rm -rf '%s'", fx.images);
}

static int fake_registry_start(void);

static bool fixture(void) {
        if (fx.tried)
                return fx.ok;
        fx.tried = true;

        const char *src = getenv("NODELET_SOURCE_DIR");
        snprintf(fx.src, sizeof(fx.src), "%s", src ? src : ".");
        char probe[1100];
        snprintf(probe, sizeof(probe), "%s/tests/fixtures/registry.sh", fx.src);
        if (geteuid() != 0) {
                fprintf(stderr, "test-pull: not root, skipping\n");
                return false;
        }
        if (access(probe, X_OK) < 0 || access("/usr/bin/docker-registry", X_OK) < 0 ||
            access("/usr/bin/skopeo", X_OK) < 0) {
                fprintf(stderr, "test-pull: fixtures or docker-registry/skopeo missing "
                                "(tests/fixtures/deps.sh), skipping\n");
                return false;
        }
        const char *b = getenv("PULL_TEST_PORT_BASE");
        fx.base = b ? (unsigned) strtoul(b, NULL, 10) : 15600;
        fx.plain = fx.base;
        fx.basic = fx.base + 1;
        fx.tls = fx.base + 2;
        fx.token = fx.base + 3; /* its token server on +1000 */
        fx.tamper = fx.base + 4;
        fx.dead = fx.base + 9;
        atexit(fixtures_stop);

        snprintf(fx.images, sizeof(fx.images), "/tmp/nodelet-pull-test-images.XXXXXX");
        if (!mkdtemp(fx.images)) {
                fx.images[0] = '\0';
                return false;
        }
        snprintf(fx.env_path, sizeof(fx.env_path), "%s/images.env", fx.images);
        if (test_sh("'%s/tests/fixtures/make-images.sh' '%s' >/dev/null", fx.src, fx.images) != 0) {
                fprintf(stderr, "test-pull: make-images.sh failed\n");
                return false;
        }
        static const char *const variants[] = {"--auth none", "--auth basic", "--auth none --tls",
                                               "--auth token", "--auth none"};
        unsigned ports[] = {fx.plain, fx.basic, fx.tls, fx.token, fx.tamper};
        for (size_t i = 0; i < ELEMENTSOF(ports); i++) {
                if (test_sh("'%s/tests/fixtures/registry.sh' start %s --port %u >/dev/null", fx.src, variants[i],
                       ports[i]) != 0 ||
                    test_sh("'%s/tests/fixtures/registry.sh' push '%s' --port %u >/dev/null", fx.src, fx.images,
                       ports[i]) != 0) {
                        fprintf(stderr, "test-pull: starting the registry on port %u failed\n", ports[i]);
                        return false;
                }
        }
        snprintf(fx.tamper_dir, sizeof(fx.tamper_dir), "/tmp/nodelet-registry-%u", fx.tamper);
        if (fake_registry_start() < 0) {
                fprintf(stderr, "test-pull: fake registry failed\n");
                return false;
        }
        fx.ok = true;
        return true;
}

/* ==== a registry that misbehaves on purpose ================================================ */
/* Serves the fixture layout. The first path component picks the fault, applied to the
 * busybox layer: /v2/cut/... sends half the layer and hangs up the first time, then honours
 * Range; /v2/norange/... cuts the same way, then ignores Range (200, whole blob);
 * /v2/flaky/... answers 503 twice first; /v2/big/... sends more bytes than the manifest
 * declares; /v2/down/... always 503; /v2/baddcd/... sends a wrong Docker-Content-Digest with
 * the manifest; anything else serves normally. Every manifest request, whatever its tag or
 * digest, gets the busybox manifest. Every layer request is
 * logged as "<fault> <range or ->" to fx.fake_log. */

static void fake_send(int fd, const void *buf, size_t len) {
        const char *p = buf;
        while (len > 0) {
                ssize_t k = write(fd, p, len);
                if (k <= 0)
                        return;
                p += k;
                len -= (size_t) k;
        }
}

static void fake_serve(int fd, const char *layout, const char *layer_digest, const char *manifest_digest,
                       unsigned *counts) {
        char req[8192];
        size_t n = 0;
        while (n < sizeof(req) - 1) {
                ssize_t k = read(fd, req + n, sizeof(req) - 1 - n);
                if (k <= 0)
                        break;
                n += (size_t) k;
                req[n] = '\0';
                if (strstr(req, "\r\n\r\n"))
                        break;
        }
        req[n] = '\0';
        char method[16], path[2048];
        if (sscanf(req, "%15s %2047s", method, path) != 2) {
                return;
        }
        uint64_t range = 0;
        bool has_range = false;
        const char *rh = strcasestr(req, "\r\nRange: bytes=");
        if (rh) {
                has_range = true;
                range = strtoull(rh + 15, NULL, 10);
        }
        char hdr[1024];
        if (streq(path, "/v2/")) {
                const char *r = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
                fake_send(fd, r, strlen(r));
                return;
        }
        char fault[64] = "";
        sscanf(path, "/v2/%63[^/]", fault);
        const char *m = strstr(path, "/manifests/"), *bl = strstr(path, "/blobs/");
        const char *digest = NULL, *ctype = "application/octet-stream";
        if (streq(fault, "down")) {
                const char *r =
                        "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
                fake_send(fd, r, strlen(r));
                return;
        }
        if (m) {
                digest = manifest_digest;
                ctype = MEDIA_OCI_MANIFEST;
        } else if (bl)
                digest = bl + 7;
        char file[2048];
        snprintf(file, sizeof(file), "%s/blobs/sha256/%s", layout,
                 digest && strlen(digest) > 7 ? digest + 7 : "x");
        size_t len = 0;
        char *body = digest ? test_read_file(file, &len) : NULL;
        if (!body) {
                const char *r = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
                fake_send(fd, r, strlen(r));
                return;
        }
        bool is_layer = bl && streq(digest, layer_digest);
        unsigned nth = 0;
        if (is_layer) {
                int which = streq(fault, "cut")       ? 0
                            : streq(fault, "norange") ? 1
                            : streq(fault, "flaky")   ? 2
                                                      : 3;
                nth = counts[which]++;
                FILE *lf = fopen(fx.fake_log, "ae");
                if (lf) {
                        if (has_range)
                                fprintf(lf, "%s %llu\n", fault, (unsigned long long) range);
                        else
                                fprintf(lf, "%s -\n", fault);
                        fclose(lf);
                }
        }
        if (is_layer && streq(fault, "flaky") && nth < 2) {
                const char *r =
                        "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
                fake_send(fd, r, strlen(r));
        } else if (is_layer && (streq(fault, "cut") || streq(fault, "norange")) && nth == 0) {
                snprintf(hdr, sizeof(hdr),
                         "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", len);
                fake_send(fd, hdr, strlen(hdr));
                fake_send(fd, body, len / 2);
        } else if (is_layer && streq(fault, "cut") && has_range && range < len) {
                snprintf(hdr, sizeof(hdr),
                         "HTTP/1.1 206 Partial Content\r\nContent-Length: %zu\r\nContent-Range: bytes "
                         "%llu-%zu/%zu\r\n"
                         "Connection: close\r\n\r\n",
                         len - (size_t) range, (unsigned long long) range, len - 1, len);
                fake_send(fd, hdr, strlen(hdr));
                fake_send(fd, body + range, len - (size_t) range);
        } else if (is_layer && streq(fault, "big")) {
                snprintf(hdr, sizeof(hdr),
                         "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", len + 4096);
                fake_send(fd, hdr, strlen(hdr));
                fake_send(fd, body, len);
                char zeros[4096] = {};
                fake_send(fd, zeros, sizeof(zeros));
        } else {
                snprintf(hdr, sizeof(hdr),
                         "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s%s%sConnection: "
                         "close\r\n\r\n",
                         ctype, len, m ? "Docker-Content-Digest: " : "",
                         !m ? ""
                         : streq(fault, "baddcd")
                                 ? "sha256:0000000000000000000000000000000000000000000000000000000000000000"
                                 : manifest_digest,
                         m ? "\r\n" : "");
                fake_send(fd, hdr, strlen(hdr));
                if (!streq(method, "HEAD"))
                        fake_send(fd, body, len);
        }
        free(body);
}

static int fake_registry_start(void) {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t al = sizeof(a);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *) &a, sizeof(a)) < 0 || listen(fd, 64) < 0 ||
            getsockname(fd, (struct sockaddr *) &a, &al) < 0) {
                if (fd >= 0)
                        close(fd);
                return -errno;
        }
        fx.fake_port = ntohs(a.sin_port);
        snprintf(fx.fake_log, sizeof(fx.fake_log), "%s/fake.log", fx.images);
        char layout[300];
        snprintf(layout, sizeof(layout), "%s/layout", fx.images);
        char *layer = image_env_dup("BUSYBOX_LAYER_DIGEST"),
             *manifest = image_env_dup("DIGEST_BUSYBOX_LATEST");
        if (!layer || !manifest) {
                free(layer);
                free(manifest);
                close(fd);
                return -ENOENT;
        }
        pid_t pid = fork();
        if (pid < 0) {
                close(fd);
                return -errno;
        }
        if (pid == 0) {
                unsigned counts[4] = {};
                signal(SIGPIPE, SIG_IGN);
                for (;;) {
                        int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
                        if (c < 0)
                                continue;
                        fake_serve(c, layout, layer, manifest, counts);
                        shutdown(c, SHUT_WR);
                        close(c);
                }
        }
        free(layer);
        free(manifest);
        close(fd);
        fx.fake_pid = pid;
        return 0;
}

static void fake_registry_stop(void) {
        if (fx.fake_pid > 0) {
                kill(fx.fake_pid, SIGKILL);
                waitpid(fx.fake_pid, NULL, 0);
                fx.fake_pid = 0;
        }
}

/* ==== pulling ============================================================================ */

struct result {
        bool done;
        int r;
        enum pull_error_kind kind;
        char *image_id;
        char *msg;
        unsigned n_progress;
        int64_t last_done, last_total;
};

static void result_done(struct result *res) {
        free(res->image_id);
        free(res->msg);
        *res = (struct result){};
}

static void on_done(int r, enum pull_error_kind kind, const char *image_id, const nl_error *err,
                    void *userdata) {
        struct result *res = userdata;
        CHECK(!res->done); /* once */
        res->done = true;
        res->r = r;
        res->kind = kind;
        res->image_id = image_id ? strdup(image_id) : NULL;
        res->msg = err && err->msg ? strdup(err->msg) : NULL;
        if (getenv("TEST_VERBOSE") && err && err->msg)
                fprintf(stderr, "    pull: %s\n", err->msg);
}

static void on_progress(const struct pull_progress *p, void *userdata) {
        struct result *res = userdata;
        res->n_progress++;
        res->last_done = p->done;
        res->last_total = p->total;
        if (p->done > p->total || p->done < 0)
                TEST_FAIL("progress %" PRId64 "/%" PRId64 " for %s", p->done, p->total, p->digest);
}

struct env {
        char root[128];
        sd_event *event;
        struct image_store *store;
        struct registry_client *client;
        struct registry_host_config hosts[4];
        char *mirrors[4];
        struct registry_config cfg;
};

static bool env_open(struct env *e, const struct registry_host_config *hosts, size_t n_hosts,
                     const char *auth_file) {
        nl_error err = NL_ERROR_INIT;
        *e = (struct env){};
        snprintf(e->root, sizeof(e->root), "/tmp/nodelet-pull-store.XXXXXX");
        if (!mkdtemp(e->root))
                return false;
        CHECK_INT_EQ(sd_event_new(&e->event), 0);
        int r = image_store_open(e->root, &e->store, &err);
        CHECK_INT_EQ(r, 0);
        if (r < 0) {
                fprintf(stderr, "  store: %s\n", strempty(err.msg));
                nl_error_clear(&err);
                return false;
        }
        e->cfg.hosts = (struct registry_host_config *) hosts;
        e->cfg.n_hosts = n_hosts;
        e->cfg.auth_file = (char *) auth_file;
        CHECK_INT_EQ(registry_client_new(e->event, e->store, &e->cfg, &e->client), 0);
        return e->client != NULL;
}

/* A second client on the same store (a daemon restart, say). */
static void env_new_client(struct env *e) {
        registry_client_free(e->client);
        e->client = NULL;
        CHECK_INT_EQ(registry_client_new(e->event, e->store, &e->cfg, &e->client), 0);
}

static void env_close(struct env *e) {
        registry_client_free(e->client);
        image_store_close(e->store);
        sd_event_unref(e->event);
        if (e->root[0])
                test_sh("rm -rf '%s'", e->root);
}

static bool all_done(struct result *res, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (!res[i].done)
                        return false;
        return true;
}

static void run_loop(struct env *e, struct result *res, size_t n) {
        uint64_t start, now;
        sd_event_now(e->event, CLOCK_MONOTONIC, &start);
        while (!all_done(res, n)) {
                CHECK(sd_event_run(e->event, 100 * USEC_PER_MSEC) >= 0);
                sd_event_now(e->event, CLOCK_MONOTONIC, &now);
                if (now - start > PULL_TIMEOUT_USEC) {
                        TEST_FAIL("pull did not finish in time");
                        return;
                }
        }
        /* Let anything left over (cancelled downloads) settle. */
        for (int i = 0; i < 3; i++)
                sd_event_run(e->event, 0);
}

static int parse_ref(const char *s, struct image_ref *ref) {
        nl_error err = NL_ERROR_INIT;
        int r = image_ref_parse(s, ref, &err);
        if (r < 0)
                TEST_FAIL("parse \"%s\": %s", s, strempty(err.msg));
        nl_error_clear(&err);
        return r;
}

static void pull(struct env *e, const char *refs, const char *user, const char *pass, struct result *res) {
        struct image_ref ref = {};
        *res = (struct result){};
        if (parse_ref(refs, &ref) < 0)
                return;
        CHECK_INT_EQ(registry_pull(e->client, &ref, user, pass, on_progress, on_done, res), 0);
        image_ref_done(&ref);
        run_loop(e, res, 1);
}

static char *ref_at(unsigned port, const char *rest) {
        return nl_strdupf("127.0.0.1:%u/%s", port, rest);
}

static void check_ok(struct result *res, const char *want_id) {
        CHECK_INT_EQ(res->r, 0);
        CHECK_INT_EQ(res->kind, PULL_OK);
        CHECK(res->msg == NULL);
        if (res->r < 0)
                fprintf(stderr, "  pull failed: %s\n", strempty(res->msg));
        if (want_id)
                CHECK_STR_EQ(res->image_id, want_id);
}

static void check_fail(struct result *res, enum pull_error_kind kind, const char *needle) {
        CHECK(res->r < 0);
        CHECK_INT_EQ(res->kind, kind);
        CHECK(res->image_id == NULL);
        CHECK(res->msg != NULL);
        if (needle && (!res->msg || !strstr(res->msg, needle)))
                TEST_FAIL("message \"%s\" lacks \"%s\"", strempty(res->msg), needle);
}

static bool store_has_image(struct env *e, const char *name) {
        struct image_info *info = NULL;
        int r = image_store_lookup(e->store, name, &info, NULL);
        image_info_free(info);
        return r >= 0;
}

/* ==== tests ============================================================================== */

TEST(pull_by_tag) {
        if (!fixture())
                return;
        struct env e;
        struct result res;
        _cleanup_free_ char *ref = ref_at(fx.plain, "busybox:latest");
        _cleanup_free_ char *id = image_env_dup("CONFIG_BUSYBOX_LATEST");
        _cleanup_free_ char *manifest = image_env_dup("DIGEST_BUSYBOX_LATEST");
        _cleanup_free_ char *layer = image_env_dup("BUSYBOX_LAYER_DIGEST");
        /* no host config: 127.0.0.1 speaks plain http by default */
        if (!env_open(&e, NULL, 0, NULL))
                return;
        pull(&e, ref, NULL, NULL, &res);
        check_ok(&res, id);
        CHECK(res.n_progress >= 2);
        CHECK(e.client->n_blob_requests == 2);

        struct image_info *info = NULL;
        CHECK_INT_EQ(image_store_lookup(e.store, ref, &info, NULL), 0);
        if (info) {
                CHECK_STR_EQ(info->id, id);
                CHECK_STR_EQ(info->manifest_digest, manifest);
                CHECK(info->index_digest == NULL);
                CHECK_INT_EQ(info->n_chain_ids, 1);
                CHECK(info->n_names == 1 && streq(info->names[0], ref));
        }
        image_info_free(info);
        CHECK(image_store_has_blob(e.store, layer));
        CHECK(image_store_has_blob(e.store, manifest));
        result_done(&res);
        env_close(&e);
}

TEST(pull_by_digest_and_tag_plus_digest) {
        if (!fixture())
                return;
        struct env e;
        struct result res;
        _cleanup_free_ char *id = image_env_dup("CONFIG_BUSYBOX_LATEST");
        _cleanup_free_ char *manifest = image_env_dup("DIGEST_BUSYBOX_LATEST");
        _cleanup_free_ char *ref = nl_strdupf("127.0.0.1:%u/busybox@%s", fx.plain, manifest);
        _cleanup_free_ char *ref2 = nl_strdupf("127.0.0.1:%u/busybox:1.35@%s", fx.plain, manifest);
        _cleanup_free_ char *name2 = ref_at(fx.plain, "busybox:1.35");
        struct registry_host_config h = {.host = (char *) "127.0.0.1:15600", .insecure = true};
        char host[32];
        snprintf(host, sizeof(host), "127.0.0.1:%u", fx.plain);
        h.host = host;
        if (!env_open(&e, &h, 1, NULL))
                return;
        pull(&e, ref, NULL, NULL, &res);
        check_ok(&res, id);
        /* found by repo digest, no name */
        CHECK(store_has_image(&e, ref));
        result_done(&res);

        /* tag and digest: the digest picks, the tag names */
        pull(&e, ref2, NULL, NULL, &res);
        check_ok(&res, id);
        CHECK(store_has_image(&e, name2));
        result_done(&res);

        /* a digest the registry does not have */
        _cleanup_free_ char *bad = ref_at(
                fx.plain, "busybox@sha256:0000000000000000000000000000000000000000000000000000000000000000");
        pull(&e, bad, NULL, NULL, &res);
        check_fail(&res, PULL_ERR_NOT_FOUND, "manifest unknown");
        result_done(&res);
        env_close(&e);
}

TEST(pull_layered_and_docker_format) {
        if (!fixture())
                return;
        struct env e;
        struct result res;
        _cleanup_free_ char *ref = ref_at(fx.plain, "layered:latest");
        _cleanup_free_ char *dref = ref_at(fx.plain, "docker/layered:latest");
        _cleanup_free_ char *id = image_env_dup("CONFIG_LAYERED_LATEST");
        if (!env_open(&e, NULL, 0, NULL))
                return;
        pull(&e, ref, NULL, NULL, &res);
        check_ok(&res, id);
        struct image_info *info = NULL;
        CHECK_INT_EQ(image_store_lookup(e.store, ref, &info, NULL), 0);
        if (info) {
                CHECK_INT_EQ(info->n_chain_ids, 3);
                for (size_t i = 0; i < info->n_chain_ids; i++)
                        CHECK(image_store_has_layer(e.store, info->chain_ids[i]));
        }
        image_info_free(info);
        result_done(&res);

        /* The same image in Docker schema 2: same config and layers (nothing fetched but the
         * manifest), a different manifest digest. */
        uint64_t before = e.client->n_blob_requests;
        pull(&e, dref, NULL, NULL, &res);
        check_ok(&res, id);
        CHECK(e.client->n_blob_requests == before);
        result_done(&res);
        env_close(&e);
}

TEST(pull_index_selects_platform) {
        if (!fixture())
                return;
        struct env e;
        struct result res;
        _cleanup_free_ char *ref = ref_at(fx.plain, "multi:latest");
        _cleanup_free_ char *dref = ref_at(fx.plain, "docker/multi:latest");
        _cleanup_free_ char *id = image_env_dup("CONFIG_BUSYBOX_LATEST");
        _cleanup_free_ char *index = image_env_dup("DIGEST_MULTI_LATEST");
        _cleanup_free_ char *manifest = image_env_dup("DIGEST_BUSYBOX_LATEST");
        if (!env_open(&e, NULL, 0, NULL))
                return;
        pull(&e, ref, NULL, NULL, &res);
        check_ok(&res, id);
        struct image_info *info = NULL;
        CHECK_INT_EQ(image_store_lookup(e.store, ref, &info, NULL), 0);
        if (info) {
                CHECK_STR_EQ(info->index_digest, index);
                CHECK_STR_EQ(info->manifest_digest, manifest);
        }
        image_info_free(info);
        /* only this platform's blobs came down */
        CHECK(e.client->n_blob_requests == 2);
        CHECK(e.client->n_manifest_requests == 2);
        result_done(&res);

        /* a Docker manifest list */
        pull(&e, dref, NULL, NULL, &res);
        check_ok(&res, id);
        result_done(&res);

        /* pulled by the index digest */
        _cleanup_free_ char *byd = nl_strdupf("127.0.0.1:%u/multi@%s", fx.plain, index);
        pull(&e, byd, NULL, NULL, &res);
        check_ok(&res, id);
        result_done(&res);
        env_close(&e);
}

TEST(basic_auth) {
        if (!fixture())
                return;
        struct env e;
        struct result res;
        _cleanup_free_ char *ref = ref_at(fx.basic, "busybox:latest");
        _cleanup_free_ char *id = image_env_dup("CONFIG_BUSYBOX_LATEST");
        char host[32];
        snprintf(host, sizeof(host), "127.0.0.1:%u", fx.basic);

        if (!env_open(&e, NULL, 0, NULL))
                return;
        pull(&e, ref, "nodelet", "wrong", &res);
        check_fail(&res, PULL_ERR_AUTH, host);
        CHECK(res.msg && strstr(res.msg, "busybox"));
        CHECK(res.msg && strstr(res.msg, "failed to pull \""));
        result_done(&res);

        pull(&e, ref, NULL, NULL, &res);
        check_fail(&res, PULL_ERR_AUTH, host);
        result_done(&res);
        CHECK(!store_has_image(&e, ref));

        pull(&e, ref, "nodelet", "s3cret", &res);
        check_ok(&res, id);
        result_done(&res);
        env_close(&e);

        /* credentials from an auth file, "https://host/v1/"-style key */
        char auth_path[] = "/tmp/nodelet-pull-auth.XXXXXX";
        int fd = mkstemp(auth_path);
        CHECK(fd >= 0);
        if (fd < 0)
                return;
        FILE *f = fdopen(fd, "w");
        fprintf(f, "{\"auths\":{\"https://%s/v1/\":{\"auth\":\"bm9kZWxldDpzM2NyZXQ=\"}}}", host);
        fclose(f);
        if (env_open(&e, NULL, 0, auth_path)) {
                pull(&e, ref, NULL, NULL, &res);
                check_ok(&res, id);
                result_done(&res);
                /* explicit credentials override the file */
                pull(&e, ref, "nodelet", "nope", &res);
                check_fail(&res, PULL_ERR_AUTH, host);
                result_done(&res);
        }
        env_close(&e);
        unlink(auth_path);
}

TEST(bearer_token) {
        if (!fixture())
                return;
        struct env e;
        struct result res;
        _cleanup_free_ char *ref = ref_at(fx.token, "busybox:latest");
        _cleanup_free_ char *lref = ref_at(fx.token, "layered:latest");
        _cleanup_free_ char *id = image_env_dup("CONFIG_BUSYBOX_LATEST");
        char host[32];
        snprintf(host, sizeof(host), "127.0.0.1:%u", fx.token);

        if (!env_open(&e, NULL, 0, NULL))
                return;
        pull(&e, ref, NULL, NULL, &res);
        check_fail(&res, PULL_ERR_AUTH, host);
        result_done(&res);

        pull(&e, ref, "nodelet", "wrong", &res);
        check_fail(&res, PULL_ERR_AUTH, host);
        result_done(&res);

        pull(&e, ref, "nodelet", "s3cret", &res);
        check_ok(&res, id);
        result_done(&res);

        /* a read-only user, another repository: a token for that scope */
        pull(&e, lref, "reader", "r3ader", &res);
        check_ok(&res, NULL);
        result_done(&res);
        env_close(&e);
}

TEST(tls_with_ca) {
        if (!fixture())
                return;
        struct env e;
        struct result res;
        _cleanup_free_ char *ref = ref_at(fx.tls, "busybox:latest");
        _cleanup_free_ char *id = image_env_dup("CONFIG_BUSYBOX_LATEST");
        char host[32], ca[300];
        snprintf(host, sizeof(host), "127.0.0.1:%u", fx.tls);
        snprintf(ca, sizeof(ca), "/tmp/nodelet-registry-%u/certs/ca.crt", fx.tls);

        /* A configured host is https; without its CA the certificate is refused. */
        struct registry_host_config h = {.host = host};
        if (!env_open(&e, &h, 1, NULL))
                return;
        pull(&e, ref, NULL, NULL, &res);
        CHECK(res.r < 0);
        CHECK(res.msg && strstr(res.msg, host));
        result_done(&res);
        env_close(&e);

        h.ca_file = ca;
        if (!env_open(&e, &h, 1, NULL))
                return;
        pull(&e, ref, NULL, NULL, &res);
        check_ok(&res, id);
        result_done(&res);
        env_close(&e);
}

TEST(mirrors) {
        if (!fixture())
                return;
        struct env e;
        struct result res;
        _cleanup_free_ char *id = image_env_dup("CONFIG_BUSYBOX_LATEST");
        char host[32], dead[64], tls[64];
        snprintf(host, sizeof(host), "127.0.0.1:%u", fx.plain);
        snprintf(dead, sizeof(dead), "http://127.0.0.1:%u", fx.dead);
        snprintf(tls, sizeof(tls), "https://127.0.0.1:%u/", fx.tls);

        /* a dead mirror, then the host */
        char *m1[] = {dead};
        struct registry_host_config h = {.host = host, .insecure = true, .mirrors = m1, .n_mirrors = 1};
        _cleanup_free_ char *ref = ref_at(fx.plain, "busybox:latest");
        if (!env_open(&e, &h, 1, NULL))
                return;
        pull(&e, ref, NULL, NULL, &res);
        check_ok(&res, id);
        result_done(&res);
        env_close(&e);

        /* a registry that is down, served by its mirrors: the first wants credentials we do
         * not have for it, the second is https given explicitly for an insecure registry (TLS
         * without verification) */
        char basic[64];
        snprintf(basic, sizeof(basic), "http://127.0.0.1:%u", fx.basic);
        char *m2[] = {basic, tls};
        char gone[32];
        snprintf(gone, sizeof(gone), "127.0.0.1:%u", fx.dead);
        struct registry_host_config h2 = {.host = gone, .insecure = true, .mirrors = m2, .n_mirrors = 2};
        _cleanup_free_ char *ref2 = ref_at(fx.dead, "busybox:latest");
        _cleanup_free_ char *ref3 = ref_at(fx.dead, "busybox:1.35");
        if (!env_open(&e, &h2, 1, NULL))
                return;
        pull(&e, ref2, NULL, NULL, &res);
        check_ok(&res, id);
        result_done(&res);
        CHECK(store_has_image(&e, ref2));
        pull(&e, ref3, NULL, NULL, &res);
        check_ok(&res, id);
        result_done(&res);
        env_close(&e);
}

TEST(registry_down) {
        if (!fixture())
                return;
        struct env e;
        struct result res;
        _cleanup_free_ char *ref = ref_at(fx.dead, "busybox:latest");
        char host[32];
        snprintf(host, sizeof(host), "127.0.0.1:%u", fx.dead);
        if (!env_open(&e, NULL, 0, NULL))
                return;
        pull(&e, ref, NULL, NULL, &res);
        check_fail(&res, PULL_ERR_UNAVAILABLE, host);
        result_done(&res);

        /* 503 from the registry */
        _cleanup_free_ char *ref503 = nl_strdupf("127.0.0.1:%u/down/busybox:latest", fx.fake_port);
        pull(&e, ref503, NULL, NULL, &res);
        check_fail(&res, PULL_ERR_UNAVAILABLE, "503");
        result_done(&res);
        env_close(&e);
}

TEST(unknown_tag_and_repository) {
        if (!fixture())
                return;
        struct env e;
        struct result res;
        _cleanup_free_ char *ref = ref_at(fx.plain, "busybox:nope");
        _cleanup_free_ char *ref2 = ref_at(fx.plain, "nope:1");
        _cleanup_free_ char *want = nl_strdupf("failed to pull \"%s\": manifest unknown", ref2);
        if (!env_open(&e, NULL, 0, NULL))
                return;
        pull(&e, ref, NULL, NULL, &res);
        check_fail(&res, PULL_ERR_NOT_FOUND, "manifest unknown");
        result_done(&res);
        pull(&e, ref2, NULL, NULL, &res);
        check_fail(&res, PULL_ERR_NOT_FOUND, NULL);
        CHECK_STR_EQ(res.msg, want);
        result_done(&res);
        env_close(&e);
}

TEST(tampered_blob) {
        if (!fixture())
                return;
        struct env e;
        struct result res;
        _cleanup_free_ char *ref = ref_at(fx.tamper, "busybox:latest");
        _cleanup_free_ char *layer = image_env_dup("BUSYBOX_LAYER_DIGEST");
        CHECK(layer);
        if (!layer)
                return;
        /* flip a byte in the middle of the layer as the registry stores it (size unchanged) */
        CHECK_INT_EQ(
                test_sh("f='%s/data/docker/registry/v2/blobs/sha256/%.2s/%s/data' && "
                   "printf '\\001\\002\\003\\004' | dd of=\"$f\" bs=1 seek=1000 conv=notrunc status=none",
                   fx.tamper_dir, layer + 7, layer + 7),
                0);
        if (!env_open(&e, NULL, 0, NULL))
                return;
        pull(&e, ref, NULL, NULL, &res);
        check_fail(&res, PULL_ERR_DIGEST, layer);
        CHECK(!image_store_has_blob(e.store, layer));
        CHECK(!store_has_image(&e, ref));
        result_done(&res);
        env_close(&e);
}

TEST(concurrent_pulls_share_downloads) {
        if (!fixture())
                return;
        struct env e;
        struct result res[4] = {};
        _cleanup_free_ char *bb = ref_at(fx.plain, "busybox:latest");
        _cleanup_free_ char *la = ref_at(fx.plain, "layered:latest");
        _cleanup_free_ char *id = image_env_dup("CONFIG_BUSYBOX_LATEST");
        struct image_ref rbb = {}, rla = {};
        if (!env_open(&e, NULL, 0, NULL) || parse_ref(bb, &rbb) < 0 || parse_ref(la, &rla) < 0) {
                image_ref_done(&rbb);
                env_close(&e);
                return;
        }
        /* the same reference twice: one pull; another image sharing the busybox layer: its
         * own manifest, the shared layer fetched once */
        CHECK_INT_EQ(registry_pull(e.client, &rbb, NULL, NULL, on_progress, on_done, &res[0]), 0);
        CHECK_INT_EQ(registry_pull(e.client, &rbb, NULL, NULL, on_progress, on_done, &res[1]), 0);
        CHECK_INT_EQ(registry_pull(e.client, &rla, NULL, NULL, on_progress, on_done, &res[2]), 0);
        run_loop(&e, res, 3);
        check_ok(&res[0], id);
        check_ok(&res[1], id);
        check_ok(&res[2], NULL);
        CHECK(res[0].n_progress > 0 && res[1].n_progress > 0);
        /* busybox: config + layer; layered: config + 2 own layers */
        CHECK_INT_EQ(e.client->n_blob_requests, 5);
        CHECK_INT_EQ(e.client->n_manifest_requests, 2);

        /* again, with a fresh client: every blob is present, nothing is downloaded */
        env_new_client(&e);
        for (int i = 0; i < 4; i++)
                result_done(&res[i]);
        CHECK_INT_EQ(registry_pull(e.client, &rbb, NULL, NULL, on_progress, on_done, &res[0]), 0);
        CHECK_INT_EQ(registry_pull(e.client, &rla, NULL, NULL, on_progress, on_done, &res[1]), 0);
        run_loop(&e, res, 2);
        check_ok(&res[0], id);
        check_ok(&res[1], NULL);
        CHECK_INT_EQ(e.client->n_blob_requests, 0);
        for (int i = 0; i < 4; i++)
                result_done(&res[i]);
        image_ref_done(&rbb);
        image_ref_done(&rla);
        env_close(&e);
}

static char *fake_log_read(void) {
        size_t len;
        char *s = test_read_file(fx.fake_log, &len);
        return s ? s : strdup("");
}

TEST(resume_with_range) {
        if (!fixture())
                return;
        struct env e;
        struct result res;
        _cleanup_free_ char *id = image_env_dup("CONFIG_BUSYBOX_LATEST");
        _cleanup_free_ char *ref = nl_strdupf("127.0.0.1:%u/cut/busybox:latest", fx.fake_port);
        unlink(fx.fake_log);
        if (!env_open(&e, NULL, 0, NULL))
                return;
        pull(&e, ref, NULL, NULL, &res);
        check_ok(&res, id);
        result_done(&res);
        _cleanup_free_ char *log = fake_log_read();
        /* the first GET whole, the second from where the first stopped */
        CHECK(strncmp(log, "cut -\ncut ", 10) == 0);
        CHECK(strstr(log, "cut 0\n") == NULL);
        env_close(&e);
}

TEST(restart_when_range_ignored) {
        if (!fixture())
                return;
        struct env e;
        struct result res;
        _cleanup_free_ char *id = image_env_dup("CONFIG_BUSYBOX_LATEST");
        _cleanup_free_ char *ref = nl_strdupf("127.0.0.1:%u/norange/busybox:latest", fx.fake_port);
        unlink(fx.fake_log);
        if (!env_open(&e, NULL, 0, NULL))
                return;
        pull(&e, ref, NULL, NULL, &res);
        check_ok(&res, id);
        result_done(&res);
        _cleanup_free_ char *log = fake_log_read();
        CHECK(strncmp(log, "norange -\nnorange ", 18) == 0);
        env_close(&e);
}

TEST(retries_on_503) {
        if (!fixture())
                return;
        struct env e;
        struct result res;
        _cleanup_free_ char *id = image_env_dup("CONFIG_BUSYBOX_LATEST");
        _cleanup_free_ char *ref = nl_strdupf("127.0.0.1:%u/flaky/busybox:latest", fx.fake_port);
        unlink(fx.fake_log);
        if (!env_open(&e, NULL, 0, NULL))
                return;
        pull(&e, ref, NULL, NULL, &res);
        check_ok(&res, id);
        result_done(&res);
        _cleanup_free_ char *log = fake_log_read();
        CHECK_STR_EQ(log, "flaky -\nflaky -\nflaky -\n");
        env_close(&e);
}

TEST(blob_larger_than_declared) {
        if (!fixture())
                return;
        struct env e;
        struct result res;
        _cleanup_free_ char *ref = nl_strdupf("127.0.0.1:%u/big/busybox:latest", fx.fake_port);
        _cleanup_free_ char *layer = image_env_dup("BUSYBOX_LAYER_DIGEST");
        if (!env_open(&e, NULL, 0, NULL))
                return;
        pull(&e, ref, NULL, NULL, &res);
        check_fail(&res, PULL_ERR_DIGEST, "larger than its declared size");
        CHECK(layer && !image_store_has_blob(e.store, layer));
        result_done(&res);
        env_close(&e);
}

TEST(manifest_digest_checks) {
        if (!fixture())
                return;
        struct env e;
        struct result res;
        _cleanup_free_ char *config = image_env_dup("CONFIG_BUSYBOX_LATEST");
        _cleanup_free_ char *ref = nl_strdupf("127.0.0.1:%u/baddcd/busybox:latest", fx.fake_port);
        _cleanup_free_ char *byd = nl_strdupf("127.0.0.1:%u/any/busybox@%s", fx.fake_port, config);
        if (!env_open(&e, NULL, 0, NULL))
                return;
        /* the registry's Docker-Content-Digest disagrees with the body */
        pull(&e, ref, NULL, NULL, &res);
        check_fail(&res, PULL_ERR_DIGEST, "Docker-Content-Digest");
        result_done(&res);
        /* asked by digest, served something else */
        pull(&e, byd, NULL, NULL, &res);
        check_fail(&res, PULL_ERR_DIGEST, config);
        result_done(&res);
        CHECK_INT_EQ(e.client->n_blob_requests, 0);
        env_close(&e);
}
