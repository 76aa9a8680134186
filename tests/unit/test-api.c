/* SPDX-License-Identifier: Apache-2.0 */
/* Cluster mode's parsers: kubeconfig files (forms, paths, errors that name the file and key)
 * and the watch stream's framing. */
#include <stdlib.h>

#include "agent/cluster/api.h"
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
