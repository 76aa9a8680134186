/* SPDX-License-Identifier: Apache-2.0 */
/* API-backed pod data, the pure parts: Go's base64 (padded and raw), ConfigMap and Secret
 * answers as the runtime's callbacks see them, the kubelet's service link variables, image
 * pull secrets matched as its keyring does, token refresh times and pod_data_equal. */
#include <openssl/evp.h>
#include <stdio.h>

#include "agent/cluster/pod-data.h"
#include "test.h"

#define SEC 1000000ULL

static char *b64(const char *s) {
        size_t n = strlen(s);
        char *out = calloc(1, 4 * ((n + 2) / 3) + 1);
        if (out)
                EVP_EncodeBlock((unsigned char *) out, (const unsigned char *) s, (int) n);
        return out;
}

static json_t *parse(const char *s) {
        json_t *j = json_loads(s, 0, NULL);
        if (!j)
                TEST_FAIL("bad test JSON: %s", s);
        return j;
}

static struct podspec_file *pfile;

static struct pod *load(const char *yaml) {
        podspec_file_free(pfile);
        pfile = NULL;
        if (podspec_parse(yaml, strlen(yaml), &pfile) < 0 || pfile->n_documents != 1 ||
            !pfile->documents[0].pod)
                return NULL;
        return pfile->documents[0].pod;
}

/* ---- base64 --------------------------------------------------------------------------- */

static char *dec(const char *s, bool padded, size_t *n) {
        char *out = NULL;
        size_t len = 0;
        if (nl_base64_decode_n(s, strlen(s), padded, &out, &len) < 0)
                return NULL;
        if (n)
                *n = len;
        return out;
}

TEST(base64_padded) {
        struct {
                const char *in, *want;
        } ok[] = {
                {"", ""},
                {"YQ==", "a"},
                {"YWI=", "ab"},
                {"YWJj", "abc"},
                {"YWJjZA==", "abcd"},
                {"YW\r\nJj", "abc"}, /* Go skips \r and \n */
                {"dXNlcjpwYXNz", "user:pass"},
        };
        for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
                _cleanup_free_ char *got = dec(ok[i].in, true, NULL);
                CHECK_STR_EQ(got, ok[i].want);
        }
        const char *bad[] = {
                "YQ", "YQ=", "YWJ", "Y", "=", "====", "YQ==YQ==", "Y===", "YW=j", "YWJj*A==", "YQ== "};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_free_ char *got = dec(bad[i], true, NULL);
                if (got)
                        TEST_FAIL("\"%s\" decoded to \"%s\"", bad[i], got);
        }
        /* binary, with a NUL inside */
        size_t n = 0;
        _cleanup_free_ char *bin = dec("AAEC/w==", true, &n);
        CHECK(bin && n == 4 && bin[0] == 0 && bin[1] == 1 && bin[2] == 2 && (unsigned char) bin[3] == 0xff);
}

TEST(base64_raw) {
        _cleanup_free_ char *a = dec("YQ", false, NULL), *b = dec("YWI", false, NULL),
                            *c = dec("YWJj", false, NULL);
        CHECK_STR_EQ(a, "a");
        CHECK_STR_EQ(b, "ab");
        CHECK_STR_EQ(c, "abc");
        _cleanup_free_ char *d = dec("YQ==", false, NULL), *e = dec("Y", false, NULL);
        CHECK(!d); /* RawStdEncoding has no padding */
        CHECK(!e);
}

/* ---- objects through the runtime's callbacks -------------------------------------------- */

TEST(objects_for_env_and_volumes) {
        struct pod_data *d = pod_data_new();
        _cleanup_free_ char *pw = b64("s3cr3t");
        json_t *cm = parse("{\"kind\":\"ConfigMap\",\"data\":{\"k\":\"v\",\"game.properties\":\"a=1\\n\"},"
                           "\"binaryData\":{\"blob\":\"AAEC\"}}");
        json_t *sec = json_pack("{s:s, s:s, s:{s:s, s:s}}", "kind", "Secret", "type", "Opaque", "data",
                                "password", pw, "bin", "/wA=");
        CHECK_INT_EQ(pod_data_set_object(d, false, "cm", cm), 0);
        CHECK_INT_EQ(pod_data_set_object(d, true, "sec", sec), 0);
        CHECK_INT_EQ(pod_data_set_object(d, false, "gone", NULL), 0);
        json_t *bad = parse("{\"data\":{\"x\":\"not base64!\"}}");
        CHECK(pod_data_set_object(d, true, "bad", bad) < 0);

        struct plan_context pc = {};
        pod_data_fill_plan(d, &pc);
        bool missing = false;
        CHECK_STR_EQ(pc.lookup_key(pc.userdata, false, "cm", "k", &missing), "v");
        CHECK(!missing);
        CHECK(pc.lookup_key(pc.userdata, false, "cm", "nokey", &missing) == NULL && !missing);
        CHECK(pc.lookup_key(pc.userdata, false, "gone", "k", &missing) == NULL && missing);
        CHECK(pc.lookup_key(pc.userdata, false, "never-fetched", "k", &missing) == NULL && missing);
        CHECK_STR_EQ(pc.lookup_key(pc.userdata, true, "sec", "password", &missing), "s3cr3t");
        CHECK(pc.lookup_key(pc.userdata, false, "sec", "password", &missing) == NULL &&
              missing); /* kind matters */

        /* envFrom sees a ConfigMap's data, volumes its binaryData too */
        json_t *o = NULL;
        CHECK_INT_EQ(pc.get_object(pc.userdata, false, "cm", &o), 0);
        CHECK(json_object_size(o) == 2 && !json_object_get(o, "blob"));
        json_decref(o);
        CHECK_INT_EQ(pc.get_object(pc.userdata, false, "gone", &o), -ENOENT);

        struct volume_context vc = {};
        pod_data_fill_volumes(d, &vc);
        o = NULL;
        CHECK_INT_EQ(vc.get_object(vc.userdata, false, "cm", &o), 0);
        json_t *blob = json_object_get(o, "blob");
        CHECK(json_object_size(o) == 3 && json_string_length(blob) == 3 &&
              memcmp(json_string_value(blob), "\0\1\2", 3) == 0);
        json_decref(o);
        o = NULL;
        CHECK_INT_EQ(vc.get_object(vc.userdata, true, "sec", &o), 0);
        json_t *bin = json_object_get(o, "bin");
        CHECK(json_string_length(bin) == 2 && (unsigned char) json_string_value(bin)[0] == 0xff &&
              json_string_value(bin)[1] == 0);
        json_decref(o);
        CHECK_INT_EQ(vc.get_object(vc.userdata, true, "gone", &o), -ENOENT);

        /* tokens by (audience, expirationSeconds) */
        usec_t now = now_realtime();
        CHECK_INT_EQ(pod_data_set_token(d, "", 3607, "tok-api", now + 3607 * SEC, 3607 * SEC), 0);
        CHECK_INT_EQ(pod_data_set_token(d, "vault", 600, "tok-vault", now + 600 * SEC, 600 * SEC), 0);
        char *t = NULL;
        CHECK_INT_EQ(vc.get_token(vc.userdata, "", 3607, &t), 0);
        CHECK_STR_EQ(t, "tok-api");
        free(t);
        t = NULL;
        CHECK_INT_EQ(vc.get_token(vc.userdata, "vault", 600, &t), 0);
        CHECK_STR_EQ(t, "tok-vault");
        free(t);
        CHECK(vc.get_token(vc.userdata, "vault", 3600, &t) < 0);
        json_decref(cm);
        json_decref(sec);
        json_decref(bad);
        pod_data_free(d);
}

/* ---- service links ------------------------------------------------------------------------ */

static const char *env_of(const struct pod_data *d, const char *name) {
        size_t n = 0, len = strlen(name);
        char *const *env = pod_data_service_env(d, &n);
        for (size_t i = 0; i < n; i++)
                if (strncmp(env[i], name, len) == 0 && env[i][len] == '=')
                        return env[i] + len + 1;
        return NULL;
}

static const char MASTER[] = "{\"metadata\":{\"name\":\"kubernetes\",\"namespace\":\"default\"},\"spec\":{"
                             "\"clusterIP\":\"10.96.0.1\",\"ports\":[{\"name\":\"https\",\"port\":443,"
                             "\"protocol\":\"TCP\",\"targetPort\":6443}]}}";

static const char SERVICES[] =
        "[{\"metadata\":{\"name\":\"my-svc\"},\"spec\":{\"clusterIP\":\"10.96.0.10\",\"ports\":["
        "{\"name\":\"http\",\"port\":80,\"protocol\":\"TCP\"},{\"name\":\"metrics-port\",\"port\":9090,"
        "\"protocol\":\"TCP\"}]}},"
        " {\"metadata\":{\"name\":\"headless\"},\"spec\":{\"clusterIP\":\"None\",\"ports\":[{\"port\":80}]}}"
        ","
        " {\"metadata\":{\"name\":\"external\"},\"spec\":{\"type\":\"ExternalName\",\"externalName\":"
        "\"example.com\"}},"
        " {\"metadata\":{\"name\":\"dns\"},\"spec\":{\"clusterIP\":\"10.96.0.11\",\"ports\":["
        "{\"port\":53,\"protocol\":\"UDP\"},{\"name\":\"dns-tcp\",\"port\":53,\"protocol\":\"TCP\"}]}},"
        " {\"metadata\":{\"name\":\"v6\"},\"spec\":{\"clusterIP\":\"fd00::1\",\"ports\":[{\"port\":8080}]}}"
        "]";

TEST(service_links) {
        struct pod_data *d = pod_data_new();
        json_t *master = parse(MASTER), *svcs = parse(SERVICES);
        CHECK_INT_EQ(pod_data_set_services(d, svcs, master), 0);

        /* the master service, always */
        CHECK_STR_EQ(env_of(d, "KUBERNETES_SERVICE_HOST"), "10.96.0.1");
        CHECK_STR_EQ(env_of(d, "KUBERNETES_SERVICE_PORT"), "443");
        CHECK_STR_EQ(env_of(d, "KUBERNETES_SERVICE_PORT_HTTPS"), "443");
        CHECK_STR_EQ(env_of(d, "KUBERNETES_PORT"), "tcp://10.96.0.1:443");
        CHECK_STR_EQ(env_of(d, "KUBERNETES_PORT_443_TCP"), "tcp://10.96.0.1:443");
        CHECK_STR_EQ(env_of(d, "KUBERNETES_PORT_443_TCP_PROTO"), "tcp");
        CHECK_STR_EQ(env_of(d, "KUBERNETES_PORT_443_TCP_PORT"), "443");
        CHECK_STR_EQ(env_of(d, "KUBERNETES_PORT_443_TCP_ADDR"), "10.96.0.1");
        /* named ports, dashes, several ports */
        CHECK_STR_EQ(env_of(d, "MY_SVC_SERVICE_HOST"), "10.96.0.10");
        CHECK_STR_EQ(env_of(d, "MY_SVC_SERVICE_PORT"), "80");
        CHECK_STR_EQ(env_of(d, "MY_SVC_SERVICE_PORT_HTTP"), "80");
        CHECK_STR_EQ(env_of(d, "MY_SVC_SERVICE_PORT_METRICS_PORT"), "9090");
        CHECK_STR_EQ(env_of(d, "MY_SVC_PORT"), "tcp://10.96.0.10:80");
        CHECK_STR_EQ(env_of(d, "MY_SVC_PORT_9090_TCP"), "tcp://10.96.0.10:9090");
        CHECK_STR_EQ(env_of(d, "MY_SVC_PORT_9090_TCP_ADDR"), "10.96.0.10");
        /* an unnamed first port, UDP, the same port number under two protocols */
        CHECK_STR_EQ(env_of(d, "DNS_SERVICE_PORT"), "53");
        CHECK_STR_EQ(env_of(d, "DNS_SERVICE_PORT_DNS_TCP"), "53");
        CHECK_STR_EQ(env_of(d, "DNS_PORT"), "udp://10.96.0.11:53");
        CHECK_STR_EQ(env_of(d, "DNS_PORT_53_UDP"), "udp://10.96.0.11:53");
        CHECK_STR_EQ(env_of(d, "DNS_PORT_53_UDP_PROTO"), "udp");
        CHECK_STR_EQ(env_of(d, "DNS_PORT_53_TCP"), "tcp://10.96.0.11:53");
        CHECK_STR_EQ(env_of(d, "DNS_PORT_53_TCP_PROTO"), "tcp");
        /* IPv6: JoinHostPort's brackets in URLs only; protocol defaults to TCP */
        CHECK_STR_EQ(env_of(d, "V6_SERVICE_HOST"), "fd00::1");
        CHECK_STR_EQ(env_of(d, "V6_PORT"), "tcp://[fd00::1]:8080");
        CHECK_STR_EQ(env_of(d, "V6_PORT_8080_TCP_ADDR"), "fd00::1");
        /* no cluster IP, no variables */
        CHECK(!env_of(d, "HEADLESS_SERVICE_HOST") && !env_of(d, "EXTERNAL_SERVICE_HOST"));
        size_t n = 0;
        (void) pod_data_service_env(d, &n);
        /* kubernetes 8; my-svc 2 + 2 named + 1 + 2 * 4; dns 2 + 1 named + 1 + 2 * 4; v6 2 + 1 + 4 */
        CHECK_INT_EQ(n, 8 + 13 + 12 + 7);

        /* enableServiceLinks: false keeps the master's only */
        CHECK_INT_EQ(pod_data_set_services(d, NULL, master), 0);
        (void) pod_data_service_env(d, &n);
        CHECK_INT_EQ(n, 8);
        CHECK(!env_of(d, "MY_SVC_SERVICE_HOST"));
        /* no master service (404): nothing */
        CHECK_INT_EQ(pod_data_set_services(d, NULL, NULL), 0);
        (void) pod_data_service_env(d, &n);
        CHECK_INT_EQ(n, 0);
        /* a namespace's own "kubernetes" service takes the name */
        json_t *own = parse("[{\"metadata\":{\"name\":\"kubernetes\",\"namespace\":\"team\"},\"spec\":{"
                            "\"clusterIP\":\"10.96.5.5\",\"ports\":[{\"port\":8443}]}}]");
        CHECK_INT_EQ(pod_data_set_services(d, own, master), 0);
        CHECK_STR_EQ(env_of(d, "KUBERNETES_SERVICE_HOST"), "10.96.5.5");
        CHECK(!env_of(d, "KUBERNETES_SERVICE_PORT_HTTPS"));
        json_decref(own);
        json_decref(master);
        json_decref(svcs);
        pod_data_free(d);
}

/* ---- image pull secrets ------------------------------------------------------------------ */

static json_t *pull_secret(const char *type, const char *key, const char *config) {
        _cleanup_free_ char *enc = b64(config);
        return json_pack("{s:s, s:s, s:{s:s}}", "kind", "Secret", "type", type, "data", key, enc);
}

static void check_auth(struct pod_data *d, struct pod *pod, const char *repo, const char *user,
                       const char *pass) {
        char *u = NULL, *p = NULL;
        int r = pod_data_pull_auth(d, pod, repo, &u, &p);
        if (r < 0 || !streq_ptr(u, user) || !streq_ptr(p, pass))
                TEST_FAIL("%s: got %d %s:%s, want %s:%s", repo, r, u ? u : "(null)", p ? p : "(null)",
                          user ? user : "(null)", pass ? pass : "(null)");
        free(u);
        free(p);
}

TEST(pull_secrets) {
        struct pod *pod = load("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: ns}\nspec:\n"
                               "  containers: [{name: c, image: i}]\n"
                               "  imagePullSecrets: [{name: absent}, {name: opaque}, {name: json}, {name: "
                               "team}, {name: cfg}]\n");
        CHECK(pod);
        if (!pod)
                return;
        struct pod_data *d = pod_data_new();
        _cleanup_free_ char *alice = b64("alice:pw1"), *bob = b64("bob:pw:with:colons");
        /* the "auth" field without its padding, as some tools write it */
        for (char *e = bob + strlen(bob); e > bob && e[-1] == '='; e--)
                e[-1] = '\0';
        _cleanup_free_ char *json_cfg = nl_strdupf(
                "{\"auths\":{\"registry.example.com\":{\"auth\":\"%s\",\"username\":\"ignored\"},"
                "\"https://index.docker.io/v1/\":{\"username\":\"hub\",\"password\":\"hubpw\"},"
                "\"http://plain.example:8080/v2/\":{\"username\":\"plain\",\"password\":\"ppw\"}}}",
                alice);
        _cleanup_free_ char *cfg = nl_strdupf("{\"*.corp.example:5000\":{\"auth\":\"%s\"}}", bob);
        json_t *s1 = pull_secret("kubernetes.io/dockerconfigjson", ".dockerconfigjson", json_cfg);
        json_t *s2 = pull_secret("kubernetes.io/dockercfg", ".dockercfg", cfg);
        json_t *s3 = pull_secret("Opaque", ".dockerconfigjson",
                                 "{\"auths\":{\"quay.io\":{\"username\":\"x\",\"password\":\"y\"}}}");
        json_t *s4 = pull_secret(
                "kubernetes.io/dockerconfigjson", ".dockerconfigjson",
                "{\"auths\":{\"registry.example.com/team\":{\"username\":\"carol\",\"password\":\"pw3\"}}}");
        CHECK_INT_EQ(pod_data_set_object(d, true, "json", s1), 0);
        CHECK_INT_EQ(pod_data_set_object(d, true, "cfg", s2), 0);
        CHECK_INT_EQ(pod_data_set_object(d, true, "opaque", s3), 0);
        CHECK_INT_EQ(pod_data_set_object(d, true, "team", s4), 0);
        CHECK_INT_EQ(pod_data_set_object(d, true, "absent", NULL), 0);

        check_auth(d, pod, "registry.example.com/other/app", "alice", "pw1");
        check_auth(d, pod, "registry.example.com/team/app", "carol", "pw3"); /* the more specific key */
        check_auth(d, pod, "docker.io/library/busybox", "hub", "hubpw");     /* index.docker.io/v1/ */
        check_auth(d, pod, "plain.example:8080/x", "plain", "ppw");
        check_auth(d, pod, "reg.corp.example:5000/x/y", "bob", "pw:with:colons");
        check_auth(d, pod, "reg.corp.example/x", NULL, NULL);        /* the port must match */
        check_auth(d, pod, "a.reg.corp.example:5000/x", NULL, NULL); /* as many labels as the glob */
        check_auth(d, pod, "quay.io/x", NULL, NULL); /* Opaque secrets are not pull secrets */
        check_auth(d, pod, "127.0.0.1:5000/x", NULL, NULL);

        json_decref(s1);
        json_decref(s2);
        json_decref(s3);
        json_decref(s4);
        pod_data_free(d);
}

/* ---- tokens and equality ------------------------------------------------------------------ */

TEST(token_refresh) {
        usec_t now = now_realtime();
        struct pod_data *d = pod_data_new();
        CHECK(!pod_data_token_refresh_due(d, now));
        CHECK_INT_EQ(pod_data_set_token(d, "", 3600, "t", now + 3600 * SEC, 3600 * SEC), 0);
        CHECK(!pod_data_token_refresh_due(d, now));
        CHECK(!pod_data_token_refresh_due(d, now + 2800 * SEC)); /* 800 s left: more than 20% */
        CHECK(pod_data_token_refresh_due(d, now + 2900 * SEC));  /* 700 s left */
        /* a year-long token is replaced after 24 h */
        usec_t year = 365ULL * 24 * 3600 * SEC;
        CHECK_INT_EQ(pod_data_set_token(d, "", 3600, "t", now + year, year), 0);
        CHECK(!pod_data_token_refresh_due(d, now + 23ULL * 3600 * SEC));
        CHECK(pod_data_token_refresh_due(d, now + 25ULL * 3600 * SEC));
        pod_data_free(d);
}

static struct pod_data *sample(const char *value, const char *token) {
        struct pod_data *d = pod_data_new();
        json_t *cm = json_pack("{s:{s:s}}", "data", "k", value);
        (void) pod_data_set_object(d, false, "cm", cm);
        (void) pod_data_set_object(d, true, "gone", NULL);
        (void) pod_data_set_token(d, "", 3600, token, 1000 * SEC, 3600 * SEC);
        json_decref(cm);
        return d;
}

TEST(equality) {
        struct pod_data *a = sample("v", "t"), *b = sample("v", "t"), *c = sample("v2", "t"),
                        *e = sample("v", "t2");
        CHECK(pod_data_equal(a, b));
        CHECK(!pod_data_equal(a, c));
        CHECK(!pod_data_equal(a, e));
        CHECK(!pod_data_equal(a, NULL));
        CHECK(pod_data_equal(NULL, NULL));
        /* the object came into being */
        struct pod_data *f = sample("v", "t");
        json_t *cm = json_pack("{s:{}}", "data");
        CHECK_INT_EQ(pod_data_set_object(f, true, "gone", cm), 0);
        CHECK(!pod_data_equal(a, f));
        /* service links are not volume data */
        json_t *master = parse(MASTER);
        CHECK_INT_EQ(pod_data_set_services(b, NULL, master), 0);
        CHECK(pod_data_equal(a, b));
        /* a different order of the same objects is the same data */
        struct pod_data *g = pod_data_new();
        json_t *cmv = json_pack("{s:{s:s}}", "data", "k", "v");
        (void) pod_data_set_token(g, "", 3600, "t", 5 * SEC, 3600 * SEC);
        (void) pod_data_set_object(g, true, "gone", NULL);
        (void) pod_data_set_object(g, false, "cm", cmv);
        CHECK(pod_data_equal(a, g));
        json_decref(cmv);
        json_decref(cm);
        json_decref(master);
        pod_data_free(a);
        pod_data_free(b);
        pod_data_free(c);
        pod_data_free(e);
        pod_data_free(f);
        pod_data_free(g);
}

TEST(zz_cleanup) {
        podspec_file_free(pfile);
        pfile = NULL;
}
