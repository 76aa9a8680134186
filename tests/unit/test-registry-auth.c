/* SPDX-License-Identifier: Apache-2.0 */
/* Registry authorization, the pure parts: WWW-Authenticate challenges, base64, docker
 * config.json credentials (docker.io aliases, "https://host/v1/" keys), token responses and
 * the token cache. */
#include <stdio.h>

#include "cri/image/registry-internal.h"
#include "test.h"

static struct auth_challenge *parse(const char *s, size_t *n) {
        struct auth_challenge *c = NULL;
        *n = 0;
        if (auth_challenges_parse(s, &c, n) < 0)
                return NULL;
        return c;
}

TEST(challenge_bearer) {
        size_t n;
        struct auth_challenge *c =
                parse("Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
                      "scope=\"repository:library/busybox:pull\"",
                      &n);
        CHECK(c);
        if (!c)
                return;
        CHECK_INT_EQ(n, 1);
        CHECK_STR_EQ(c[0].scheme, "bearer");
        CHECK_STR_EQ(auth_challenge_param(&c[0], "realm"), "https://auth.docker.io/token");
        CHECK_STR_EQ(auth_challenge_param(&c[0], "service"), "registry.docker.io");
        CHECK_STR_EQ(auth_challenge_param(&c[0], "scope"), "repository:library/busybox:pull");
        CHECK(auth_challenges_pick(c, n) == &c[0]);
        auth_challenges_free(c, n);
}

TEST(challenge_basic_and_case) {
        size_t n;
        struct auth_challenge *c = parse("BASIC Realm=\"nodelet-registry\"", &n);
        CHECK(c);
        if (!c)
                return;
        CHECK_INT_EQ(n, 1);
        CHECK_STR_EQ(c[0].scheme, "basic");
        CHECK_STR_EQ(auth_challenge_param(&c[0], "REALM"), "nodelet-registry");
        auth_challenges_free(c, n);
}

TEST(challenge_multiple) {
        size_t n;
        struct auth_challenge *c = parse(
                "Basic realm=\"simple\", Newauth realm=\"apps\", type=1,  title=\"Login to \\\"apps\\\"\", "
                "Bearer realm=\"http://127.0.0.1:6003/token\",service=svc",
                &n);
        CHECK(c);
        if (!c)
                return;
        CHECK_INT_EQ(n, 3);
        CHECK_STR_EQ(c[0].scheme, "basic");
        CHECK_STR_EQ(auth_challenge_param(&c[0], "realm"), "simple");
        CHECK_STR_EQ(c[1].scheme, "newauth");
        CHECK_STR_EQ(auth_challenge_param(&c[1], "type"), "1");
        CHECK_STR_EQ(auth_challenge_param(&c[1], "title"), "Login to \"apps\"");
        CHECK_STR_EQ(c[2].scheme, "bearer");
        CHECK_STR_EQ(auth_challenge_param(&c[2], "service"), "svc");
        /* Bearer is preferred whatever the order. */
        CHECK(auth_challenges_pick(c, n) == &c[2]);
        auth_challenges_free(c, n);
}

TEST(challenge_escapes_and_spaces) {
        size_t n;
        struct auth_challenge *c = parse("  Bearer   realm = \"a\\\\b\\,c\" ,scope=\"x y\",,", &n);
        CHECK(c);
        if (!c)
                return;
        CHECK_INT_EQ(n, 1);
        CHECK_STR_EQ(auth_challenge_param(&c[0], "realm"), "a\\b,c");
        CHECK_STR_EQ(auth_challenge_param(&c[0], "scope"), "x y");
        auth_challenges_free(c, n);
}

TEST(challenge_token68) {
        size_t n;
        struct auth_challenge *c = parse("Negotiate YIIB==, Basic realm=r", &n);
        CHECK(c);
        if (!c)
                return;
        CHECK_INT_EQ(n, 2);
        CHECK_STR_EQ(c[0].scheme, "negotiate");
        CHECK_STR_EQ(c[0].token68, "YIIB==");
        CHECK_INT_EQ(c[0].n_params, 0);
        CHECK_STR_EQ(auth_challenge_param(&c[1], "realm"), "r");
        CHECK(auth_challenges_pick(c, n) == &c[1]);
        auth_challenges_free(c, n);
}

TEST(challenge_bare_scheme_and_empty_quoted) {
        size_t n;
        struct auth_challenge *c = parse("Basic, Bearer realm=\"\"", &n);
        CHECK(c);
        if (!c)
                return;
        CHECK_INT_EQ(n, 2);
        CHECK_STR_EQ(c[0].scheme, "basic");
        CHECK_INT_EQ(c[0].n_params, 0);
        CHECK_STR_EQ(auth_challenge_param(&c[1], "realm"), "");
        /* A Bearer without a realm cannot be answered: Basic it is. */
        CHECK(auth_challenges_pick(c, n) == &c[0]);
        auth_challenges_free(c, n);
}

TEST(challenge_malformed) {
        static const char *const bad[] = {
                "",
                "   ",
                "Bearer realm=\"unterminated",
                "Bearer realm=\"x\\",
                "=x",
                "Bearer realm=\"a\", =b",
                "Bear\"er realm=x",
                "Bearer realm=a, b=",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                struct auth_challenge *c = NULL;
                size_t n = 0;
                int r = auth_challenges_parse(bad[i], &c, &n);
                if (r >= 0) {
                        TEST_FAIL("accepted \"%s\"", bad[i]);
                        auth_challenges_free(c, n);
                }
        }
        CHECK(auth_challenges_parse(NULL, NULL, NULL) == -EINVAL);
}

TEST(challenge_caps) {
        nl_buf b = {};
        for (int i = 0; i < REGISTRY_MAX_CHALLENGES + 1; i++)
                nl_buf_printf(&b, "%sBasic realm=r%d", i ? ", " : "", i);
        struct auth_challenge *c = NULL;
        size_t n = 0;
        CHECK_INT_EQ(auth_challenges_parse(b.data, &c, &n), -E2BIG);
        nl_buf_free(&b);

        nl_buf_puts(&b, "Bearer ");
        for (int i = 0; i < REGISTRY_MAX_CHALLENGE_PARAMS + 1; i++)
                nl_buf_printf(&b, "%sp%d=v", i ? "," : "", i);
        CHECK_INT_EQ(auth_challenges_parse(b.data, &c, &n), -E2BIG);
        nl_buf_free(&b);
}

TEST(base64) {
        static const struct {
                const char *in, *out;
        } ok[] = {
                {"", ""},
                {"Zg==", "f"},
                {"Zm8=", "fo"},
                {"Zm9v", "foo"},
                {"Zm9vYg", "foob"},
                {"bm9kZWxldDpzM2NyZXQ=", "nodelet:s3cret"},
                {"dXNlcjpwYTpzcw==", "user:pa:ss"},
                {"Pz8/", "???"},
                {"Pj4+", ">>>"},
        };
        for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
                char *out = NULL;
                size_t len = 0;
                int r = nl_base64_decode(ok[i].in, &out, &len);
                CHECK_INT_EQ(r, 0);
                if (r == 0) {
                        CHECK_STR_EQ(out, ok[i].out);
                        CHECK_INT_EQ(len, strlen(ok[i].out));
                }
                free(out);
        }
        static const char *const bad[] = {"Z", "Zm9v!", "Zm 9v", "Zg===", "Z===", "-_8="};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char *out = NULL;
                size_t len;
                if (nl_base64_decode(bad[i], &out, &len) >= 0) {
                        TEST_FAIL("accepted \"%s\"", bad[i]);
                        free(out);
                }
        }
        /* binary with a NUL comes back whole, with its length */
        char *out = NULL;
        size_t len = 0;
        CHECK_INT_EQ(nl_base64_decode("YQBi", &out, &len), 0);
        CHECK_INT_EQ(len, 3);
        CHECK(out && out[0] == 'a' && out[1] == '\0' && out[2] == 'b');
        free(out);
}

TEST(auth_key_matching) {
        CHECK(auth_key_matches_host("127.0.0.1:5000", "127.0.0.1:5000"));
        CHECK(auth_key_matches_host("https://127.0.0.1:5000", "127.0.0.1:5000"));
        CHECK(auth_key_matches_host("http://127.0.0.1:5000/v2/", "127.0.0.1:5000"));
        CHECK(!auth_key_matches_host("127.0.0.1:5001", "127.0.0.1:5000"));
        CHECK(!auth_key_matches_host("127.0.0.1", "127.0.0.1:5000"));
        CHECK(auth_key_matches_host("Registry.Example.COM", "registry.example.com"));
        CHECK(auth_key_matches_host("https://index.docker.io/v1/", "docker.io"));
        CHECK(auth_key_matches_host("index.docker.io", "docker.io"));
        CHECK(auth_key_matches_host("docker.io", "registry-1.docker.io"));
        CHECK(auth_key_matches_host("registry-1.docker.io", "index.docker.io"));
        CHECK(!auth_key_matches_host("https://index.docker.io/v1/", "quay.io"));
        CHECK(!auth_key_matches_host("docker.io.evil.com", "docker.io"));
        CHECK(!auth_key_matches_host("", "docker.io"));
}

static json_t *load(const char *s) {
        json_error_t e;
        json_t *j = json_loads(s, 0, &e);
        if (!j)
                fprintf(stderr, "  bad test JSON: %s\n", e.text);
        return j;
}

TEST(auth_config_lookup) {
        json_t *cfg = load("{\"auths\": {"
                           "  \"https://index.docker.io/v1/\": {\"auth\": \"aHViOmh1YnBhc3M=\"},"
                           "  \"127.0.0.1:5001\": {\"auth\": \"bm9kZWxldDpzM2NyZXQ=\"},"
                           "  \"https://127.0.0.1:5002/\": {\"username\": \"u2\", \"password\": \"p2\"},"
                           "  \"127.0.0.1:5003\": {},"
                           "  \"bad.example\": {\"auth\": \"!!!\"},"
                           "  \"nocolon.example\": {\"auth\": \"bm9jb2xvbg==\"}"
                           "}, \"credsStore\": \"desktop\"}");
        char *u = NULL, *p = NULL;
        nl_error err = NL_ERROR_INIT;
        CHECK(cfg);
        if (!cfg)
                return;

        CHECK_INT_EQ(auth_config_lookup(cfg, "docker.io", &u, &p, &err), 0);
        CHECK_STR_EQ(u, "hub");
        CHECK_STR_EQ(p, "hubpass");
        free(u);
        free(p);

        CHECK_INT_EQ(auth_config_lookup(cfg, "registry-1.docker.io", &u, &p, &err), 0);
        CHECK_STR_EQ(u, "hub");
        free(u);
        free(p);

        CHECK_INT_EQ(auth_config_lookup(cfg, "127.0.0.1:5001", &u, &p, &err), 0);
        CHECK_STR_EQ(u, "nodelet");
        CHECK_STR_EQ(p, "s3cret");
        free(u);
        free(p);

        CHECK_INT_EQ(auth_config_lookup(cfg, "127.0.0.1:5002", &u, &p, &err), 0);
        CHECK_STR_EQ(u, "u2");
        CHECK_STR_EQ(p, "p2");
        free(u);
        free(p);

        /* an empty entry and an absent host: no credentials */
        CHECK_INT_EQ(auth_config_lookup(cfg, "127.0.0.1:5003", &u, &p, &err), 0);
        CHECK(!u && !p);
        CHECK_INT_EQ(auth_config_lookup(cfg, "quay.io", &u, &p, &err), 0);
        CHECK(!u && !p);

        CHECK_INT_EQ(auth_config_lookup(cfg, "bad.example", &u, &p, &err), -EINVAL);
        CHECK(err.msg && strstr(err.msg, "bad.example"));
        CHECK(!u && !p);
        CHECK_INT_EQ(auth_config_lookup(cfg, "nocolon.example", &u, &p, &err), -EINVAL);
        CHECK(err.msg && strstr(err.msg, "user:password"));
        nl_error_clear(&err);
        json_decref(cfg);

        /* no "auths" at all */
        cfg = load("{\"credHelpers\": {}}");
        CHECK_INT_EQ(auth_config_lookup(cfg, "docker.io", &u, &p, &err), 0);
        CHECK(!u && !p);
        json_decref(cfg);
}

TEST(auth_config_exact_key_first) {
        json_t *cfg = load("{\"auths\": {\"https://myreg:443/v1/\": {\"auth\": \"YTpi\"}, \"myreg:443\": "
                           "{\"auth\": \"Yzpk\"}}}");
        char *u = NULL, *p = NULL;
        CHECK_INT_EQ(auth_config_lookup(cfg, "myreg:443", &u, &p, NULL), 0);
        CHECK_STR_EQ(u, "c");
        CHECK_STR_EQ(p, "d");
        free(u);
        free(p);
        json_decref(cfg);
}

TEST(auth_file_lookup) {
        char path[] = "/tmp/test-registry-auth.XXXXXX";
        int fd = mkstemp(path);
        char *u = NULL, *p = NULL;
        nl_error err = NL_ERROR_INIT;
        CHECK(fd >= 0);
        if (fd < 0)
                return;
        const char *doc =
                "{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"bm9kZWxldDpzM2NyZXQ=\"}}}";
        CHECK(write(fd, doc, strlen(doc)) == (ssize_t) strlen(doc));
        close(fd);
        CHECK_INT_EQ(auth_file_lookup(path, "docker.io", &u, &p, &err), 0);
        CHECK_STR_EQ(u, "nodelet");
        CHECK_STR_EQ(p, "s3cret");
        free(u);
        free(p);

        /* not JSON: an error naming the file */
        FILE *f = fopen(path, "w");
        fputs("{nope", f);
        fclose(f);
        CHECK(auth_file_lookup(path, "docker.io", &u, &p, &err) < 0);
        CHECK(err.msg && strstr(err.msg, path));
        nl_error_clear(&err);
        unlink(path);

        /* a missing file holds no credentials */
        CHECK_INT_EQ(auth_file_lookup(path, "docker.io", &u, &p, &err), 0);
        CHECK(!u && !p);
}

TEST(token_parse) {
        char *t = NULL;
        uint64_t exp = 0;
        nl_error err = NL_ERROR_INIT;
        const char *a = "{\"token\":\"abc\",\"access_token\":\"def\",\"expires_in\":300}";
        CHECK_INT_EQ(auth_token_parse(a, strlen(a), &t, &exp, &err), 0);
        CHECK_STR_EQ(t, "abc");
        CHECK_INT_EQ(exp, 300);
        free(t);

        const char *b = "{\"access_token\":\"def\"}";
        CHECK_INT_EQ(auth_token_parse(b, strlen(b), &t, &exp, &err), 0);
        CHECK_STR_EQ(t, "def");
        CHECK_INT_EQ(exp, REGISTRY_TOKEN_DEFAULT_EXPIRY_SEC);
        free(t);

        const char *c = "{\"token\":\"\",\"expires_in\":-5}";
        CHECK(auth_token_parse(c, strlen(c), &t, &exp, &err) < 0);
        CHECK(err.msg && strstr(err.msg, "token"));
        const char *d = "{\"token\":\"a\\r\\nX-Evil: 1\"}";
        CHECK(auth_token_parse(d, strlen(d), &t, &exp, &err) < 0);
        const char *e = "not json";
        CHECK(auth_token_parse(e, strlen(e), &t, &exp, &err) < 0);
        nl_error_clear(&err);
}

TEST(token_cache) {
        struct token_cache *tc = NULL;
        CHECK_INT_EQ(token_cache_new(&tc), 0);
        if (!tc)
                return;
        usec_t now = 1000 * USEC_PER_SEC;
        CHECK(!token_cache_get(tc, "h", "repository:a:pull", NULL, now));
        CHECK_INT_EQ(token_cache_put(tc, "h", "repository:a:pull", NULL, "t1", now + 60 * USEC_PER_SEC), 0);
        CHECK_STR_EQ(token_cache_get(tc, "h", "repository:a:pull", NULL, now), "t1");
        /* per scope, per user, per registry */
        CHECK(!token_cache_get(tc, "h", "repository:b:pull", NULL, now));
        CHECK(!token_cache_get(tc, "h", "repository:a:pull", "alice", now));
        CHECK(!token_cache_get(tc, "h2", "repository:a:pull", NULL, now));
        /* replaced, then expired */
        CHECK_INT_EQ(token_cache_put(tc, "h", "repository:a:pull", NULL, "t2", now + 60 * USEC_PER_SEC), 0);
        CHECK_STR_EQ(token_cache_get(tc, "h", "repository:a:pull", NULL, now), "t2");
        CHECK(!token_cache_get(tc, "h", "repository:a:pull", NULL, now + 60 * USEC_PER_SEC));
        /* dropped */
        CHECK_INT_EQ(token_cache_put(tc, "h", "s", "u", "t3", now + USEC_PER_SEC), 0);
        token_cache_drop(tc, "h", "s", "u");
        CHECK(!token_cache_get(tc, "h", "s", "u", now));
        /* capped */
        for (int i = 0; i < REGISTRY_MAX_TOKENS + 10; i++) {
                char scope[32];
                snprintf(scope, sizeof(scope), "s%d", i);
                CHECK_INT_EQ(
                        token_cache_put(tc, "h", scope, NULL, "t", now + (usec_t) (i + 1) * USEC_PER_SEC),
                        0);
        }
        CHECK(!token_cache_get(tc, "h", "s0", NULL, now));
        CHECK_STR_EQ(token_cache_get(tc, "h", "s265", NULL, now), "t");
        token_cache_free(tc);
}
