/* SPDX-License-Identifier: Apache-2.0 */
/* Cluster mode's parsers: kubeconfig files (forms, paths, errors that name the file and key)
 * and the watch stream's framing. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "agent/cluster/api.h"
#include "common/fs.h"
#include "test.h"

static int parse(const char *yaml, struct kubeconfig *kc, nl_error *err) {
        *kc = (struct kubeconfig){ .path = strdup("/etc/k/node.conf") };
        int r = kubeconfig_parse(yaml, strlen(yaml), "/etc/k", NULL, kc, err);
        if (r < 0)
                free(kc->path);
        return r;
}

#define CONTEXT "contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n"

TEST(kubeconfig_files_relative_to_its_directory) {
        struct kubeconfig kc;
        nl_error err = NL_ERROR_INIT;
        CHECK_INT_EQ(parse("clusters: [{name: c, cluster: {server: 'https://10.0.0.1:6443/', certificate-authority: pki/ca.crt}}]\n"
                           "users: [{name: u, user: {client-certificate: /abs/node.crt, client-key: node.key}}]\n" CONTEXT,
                           &kc, &err),
                     0);
        CHECK_STR_EQ(kc.server, "https://10.0.0.1:6443");
        CHECK_STR_EQ(kc.ca_file, "/etc/k/pki/ca.crt");
        CHECK_STR_EQ(kc.cert_file, "/abs/node.crt");
        CHECK_STR_EQ(kc.key_file, "/etc/k/node.key");
        CHECK(!kc.token && !kc.insecure);
        kubeconfig_done(&kc);
}

TEST(kubeconfig_embedded_data_decoded) {
        struct kubeconfig kc;
        nl_error err = NL_ERROR_INIT;
        CHECK_INT_EQ(parse("clusters: [{name: c, cluster: {server: 'https://a', certificate-authority-data: UEVN}}]\n"
                           "users: [{name: u, user: {client-certificate-data: Q0VSVA==, client-key-data: S0VZ, token: t0k}}]\n" CONTEXT,
                           &kc, &err),
                     0);
        CHECK(kc.ca_data && kc.ca_data_len == 3 && memcmp(kc.ca_data, "PEM", 3) == 0);
        CHECK(kc.cert_data && kc.cert_data_len == 4 && memcmp(kc.cert_data, "CERT", 4) == 0);
        CHECK(kc.key_data && kc.key_data_len == 3);
        CHECK_STR_EQ(kc.token, "t0k");
        kubeconfig_done(&kc);
}

TEST(kubeconfig_errors_name_file_and_key) {
        struct kubeconfig kc;
        nl_error err = NL_ERROR_INIT;
        CHECK(parse("clusters: []\n" CONTEXT, &kc, &err) < 0);
        CHECK_STR_EQ(err.msg, "/etc/k/node.conf: no cluster named \"c\"");
        nl_error_clear(&err);
        CHECK(parse("clusters: [{name: c, cluster: {server: ftp://x}}]\nusers: [{name: u, user: {}}]\n" CONTEXT, &kc, &err) < 0);
        CHECK_STR_EQ(err.msg, "/etc/k/node.conf: cluster \"c\": server must be an http(s) URL, got \"ftp://x\"");
        nl_error_clear(&err);
        CHECK(parse("clusters: [{name: c, cluster: {server: https://x, certificate-authority-data: '%%%'}}]\nusers: [{name: u, user: {}}]\n" CONTEXT,
                    &kc, &err) < 0);
        CHECK_STR_EQ(err.msg, "/etc/k/node.conf: cluster.certificate-authority-data is not valid base64");
        nl_error_clear(&err);
        CHECK(parse("clusters: [{name: c, cluster: {server: https://x}}]\nusers: [{name: u, user: {client-certificate: a.crt}}]\n" CONTEXT,
                    &kc, &err) < 0);
        CHECK(err.msg && strstr(err.msg, "a client certificate needs its key"));
        nl_error_clear(&err);
        CHECK(parse("clusters: [{name: c, cluster: {server: https://x}}]\nusers: [{name: u, user: {exec: {command: aws}}}]\n" CONTEXT,
                    &kc, &err) == -EOPNOTSUPP);
        CHECK(err.msg && strstr(err.msg, "exec and auth-provider credentials are not supported"));
        nl_error_clear(&err);
        CHECK(parse("current-context: ''\n", &kc, &err) < 0);
        CHECK_STR_EQ(err.msg, "/etc/k/node.conf: no current-context");
        nl_error_clear(&err);
}

TEST(kubeconfig_tls_server_name) {
        struct kubeconfig kc;
        nl_error err = NL_ERROR_INIT;
        CHECK_INT_EQ(parse("clusters: [{name: c, cluster: {server: 'https://10.0.0.1:6443/api-prefix/', tls-server-name: kubernetes.test}}]\n"
                           "users: [{name: u, user: {}}]\n" CONTEXT, &kc, &err),
                     0);
        CHECK_STR_EQ(kc.tls_url_base, "https://kubernetes.test:6443/api-prefix");
        CHECK_STR_EQ(kc.host_header, "Host: 10.0.0.1:6443");
        CHECK(kc.connect_to && !kc.connect_to->next);
        CHECK_STR_EQ(kc.connect_to ? kc.connect_to->data : NULL, "kubernetes.test::10.0.0.1:6443");
        kubeconfig_done(&kc);
        /* no port: the scheme's, for the connection; none in Host, as a request to the URL has */
        CHECK_INT_EQ(parse("clusters: [{name: c, cluster: {server: 'https://[::1]', tls-server-name: k.test}}]\n"
                           "users: [{name: u, user: {}}]\n" CONTEXT, &kc, &err),
                     0);
        CHECK_STR_EQ(kc.tls_url_base, "https://k.test");
        CHECK_STR_EQ(kc.host_header, "Host: [::1]");
        CHECK_STR_EQ(kc.connect_to ? kc.connect_to->data : NULL, "k.test::[::1]:443");
        kubeconfig_done(&kc);
        /* plain http has no TLS: nothing to apply */
        CHECK_INT_EQ(parse("clusters: [{name: c, cluster: {server: 'http://10.0.0.1:8080', tls-server-name: k.test}}]\n"
                           "users: [{name: u, user: {}}]\n" CONTEXT, &kc, &err),
                     0);
        CHECK(!kc.tls_url_base && !kc.connect_to);
        kubeconfig_done(&kc);
        CHECK(parse("clusters: [{name: c, cluster: {server: 'https://10.0.0.1', tls-server-name: 'a/b@c'}}]\n"
                    "users: [{name: u, user: {}}]\n" CONTEXT, &kc, &err) == -EINVAL);
        CHECK_STR_EQ(err.msg, "/etc/k/node.conf: cluster \"c\": tls-server-name must be a DNS name or an IPv4 address, "
                              "got \"a/b@c\"");
        nl_error_clear(&err);
}

/* The API client against a real TLS server: openssl s_server on 127.0.0.1 whose certificate
 * names only "kubernetes.test" (no IP). Verified against the server's address the certificate
 * does not match; with tls-server-name it does, and the request still reaches 127.0.0.1. */
static const char *tls_name_script =
        "set -e\n"
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt "
        "-subj /CN=test-ca -days 2 2>/dev/null\n"
        "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key -out server.csr "
        "-subj /CN=kubernetes.test 2>/dev/null\n"
        "printf 'subjectAltName=DNS:kubernetes.test\\n' > ext\n"
        "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 "
        "-extfile ext 2>/dev/null\n"
        "printf '{\"major\":\"1\",\"minor\":\"34\"}' > version\n";

static int free_port(void) {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t al = sizeof(a);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;
        if (fd >= 0 && bind(fd, (struct sockaddr *) &a, sizeof(a)) == 0 &&
            getsockname(fd, (struct sockaddr *) &a, &al) == 0)
                port = ntohs(a.sin_port);
        if (fd >= 0)
                close(fd);
        return port;
}

static bool port_answers(int port) {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t) port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        bool ok = fd >= 0 && connect(fd, (struct sockaddr *) &a, sizeof(a)) == 0;
        if (fd >= 0)
                close(fd);
        return ok;
}

static pid_t s_server_start(const char *dir, int port) {
        char accept_arg[32];
        snprintf(accept_arg, sizeof(accept_arg), "127.0.0.1:%d", port);
        pid_t pid = fork();
        if (pid == 0) {
                int null = open("/dev/null", O_RDWR);
                if (null < 0 || chdir(dir) < 0)
                        _exit(127);
                dup2(null, 0);
                dup2(null, 1);
                dup2(null, 2);
                execlp("openssl", "openssl", "s_server", "-quiet", "-accept", accept_arg, "-cert", "server.crt",
                       "-key", "server.key", "-WWW", (char *) NULL);
                _exit(127);
        }
        for (int i = 0; pid > 0 && i < 100 && !port_answers(port); i++)
                usleep(50000);
        return pid;
}

static int call_version(const char *dir, int port, const char *tls_server_name, long *ret_status, json_t **ret_body,
                        nl_error *err) {
        struct kubeconfig kc;
        _cleanup_free_ char *yaml = nl_strdupf(
                "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:%d', certificate-authority: '%s/ca.crt'%s%s}}]\n"
                "users: [{name: u, user: {token: t0k}}]\n" CONTEXT,
                port, dir, tls_server_name ? ", tls-server-name: " : "", tls_server_name ? tls_server_name : "");
        int r = parse(yaml, &kc, err);
        if (r < 0)
                return r;
        r = api_call_sync(&kc, "GET", "/version", NULL, NULL, ret_status, ret_body, err);
        kubeconfig_done(&kc);
        return r;
}

TEST(api_client_verifies_tls_server_name) {
        char tmpl[] = "/tmp/nodelet-test-api-XXXXXX";
        if (!mkdtemp(tmpl)) {
                TEST_FAIL("mkdtemp: %m");
                return;
        }
        _cleanup_free_ char *script = nl_strdupf("%s/make.sh", tmpl), *cmd = nl_strdupf("cd '%s' && sh ./make.sh", tmpl);
        FILE *f = fopen(script, "we");
        if (!f || fputs(tls_name_script, f) < 0 || fclose(f) != 0 || system(cmd) != 0) {
                TEST_FAIL("making the test certificates with the openssl CLI failed");
                (void) nl_rm_rf(tmpl);
                return;
        }
        int port = free_port();
        pid_t pid = port > 0 ? s_server_start(tmpl, port) : -1;
        if (pid <= 0 || !port_answers(port)) {
                TEST_FAIL("openssl s_server did not start on 127.0.0.1:%d", port);
        } else {
                nl_error err = NL_ERROR_INIT;
                long status = 0;
                json_t *body = NULL;
                /* the certificate is for kubernetes.test, not 127.0.0.1: refused */
                CHECK(call_version(tmpl, port, NULL, &status, &body, &err) < 0);
                CHECK(err.msg && strstr(err.msg, "127.0.0.1"));
                nl_error_clear(&err);
                /* checked against tls-server-name: accepted, and the answer is the server's */
                CHECK_INT_EQ(call_version(tmpl, port, "kubernetes.test", &status, &body, &err), 0);
                if (err.msg)
                        TEST_FAIL("with tls-server-name: %s", err.msg);
                nl_error_clear(&err);
                CHECK_INT_EQ(status, 200);
                CHECK_STR_EQ(body ? json_string_value(json_object_get(body, "minor")) : NULL, "34");
                json_decref(body);
                body = NULL;
                /* another name than the certificate's: refused too */
                CHECK(call_version(tmpl, port, "other.test", &status, &body, &err) < 0);
                nl_error_clear(&err);
        }
        if (pid > 0) {
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
        }
        (void) nl_rm_rf(tmpl);
}

TEST(watch_feed_frames_events_across_chunks) {
        const char *stream = "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\"}}}\n"
                             "{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"7\"}}}\r\n"
                             "\n"
                             "garbage\n"
                             "{\"type\":\"DELETED\",\"obj";
        nl_buf partial = {};
        json_t *ev = json_array();
        size_t n = strlen(stream);
        for (size_t off = 0; off < n; off += 5)
                CHECK_INT_EQ(api_watch_feed(&partial, stream + off, off + 5 <= n ? 5 : n - off, 1024, ev), 0);
        CHECK_INT_EQ((int) json_array_size(ev), 3);
        CHECK_STR_EQ(json_string_value(json_object_get(json_array_get(ev, 0), "type")), "ADDED");
        CHECK_STR_EQ(json_string_value(json_object_get(json_array_get(ev, 1), "type")), "BOOKMARK");
        CHECK_STR_EQ(json_string_value(json_object_get(json_array_get(ev, 2), "type")), "ERROR");
        CHECK_INT_EQ((int) partial.len, (int) strlen("{\"type\":\"DELETED\",\"obj"));
        /* a line past the cap is refused, not buffered */
        char big[64];
        memset(big, 'x', sizeof(big));
        CHECK_INT_EQ(api_watch_feed(&partial, big, sizeof(big), 32, ev), -E2BIG);
        json_decref(ev);
        nl_buf_free(&partial);
}

TEST(api_escape_query_values) {
        char *s = api_escape("spec.nodeName=node-1");
        CHECK_STR_EQ(s, "spec.nodeName%3Dnode-1");
        free(s);
        s = api_escape("a/b c");
        CHECK_STR_EQ(s, "a%2Fb%20c");
        free(s);
}
