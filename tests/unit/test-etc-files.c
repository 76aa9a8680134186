/* SPDX-License-Identifier: Apache-2.0 */
/* The pod's /etc/hosts, hostname and resolv.conf, byte for byte as the kubelet makes them
 * (kubelet_pods.go managedHostsFileContent / nodeHostsFileContent / GeneratePodHostNameAndDomain,
 * network/dns/dns.go GetPodDNS) and as containerd writes resolv.conf from the CRI DNSConfig. */
#include <stdio.h>

#include "cri/sandbox-internal.h"
#include "podspec/podspec.h"
#include "test.h"

static struct podspec_file *file;

static struct pod *load(const char *yaml) {
        podspec_file_free(file);
        file = NULL;
        if (podspec_parse(yaml, strlen(yaml), &file) < 0 || file->n_documents != 1 ||
            !file->documents[0].pod)
                return NULL;
        struct pod *p = file->documents[0].pod;
        if (!p->metadata.namespace)
                p->metadata.namespace = strdup("default");
        if (pod_set_defaults(p) < 0)
                return NULL;
        return p;
}

static void done(void) {
        podspec_file_free(file);
        file = NULL;
}

#define POD_HEAD "apiVersion: v1\nkind: Pod\nmetadata:\n  name: nginx\n  namespace: web\n  uid: u1\n"
#define CONTAINERS "  containers:\n  - name: c\n    image: busybox\n"

static const char MANAGED_BASE[] = "# Kubernetes-managed hosts file.\n"
                                   "127.0.0.1\tlocalhost\n"
                                   "::1\tlocalhost ip6-localhost ip6-loopback\n"
                                   "fe00::0\tip6-localnet\n"
                                   "fe00::0\tip6-mcastprefix\n"
                                   "fe00::1\tip6-allnodes\n"
                                   "fe00::2\tip6-allrouters\n";

/* ==== /etc/hosts ============================================================================ */

TEST(hosts_plain) {
        char *ips[] = {"10.200.0.4"};
        char *got = etc_hosts_managed(ips, 1, "nginx", NULL, NULL, 0);
        char want[1024];
        snprintf(want, sizeof(want), "%s10.200.0.4\tnginx\n", MANAGED_BASE);
        CHECK_STR_EQ(got, want);
        free(got);
}

TEST(hosts_dual_stack) {
        char *ips[] = {"10.200.0.4", "fd00::4"};
        char *got = etc_hosts_managed(ips, 2, "nginx", NULL, NULL, 0);
        char want[1024];
        snprintf(want, sizeof(want), "%s10.200.0.4\tnginx\nfd00::4\tnginx\n", MANAGED_BASE);
        CHECK_STR_EQ(got, want);
        free(got);
}

TEST(hosts_subdomain_fqdn) {
        struct pod *p = load(POD_HEAD "spec:\n  hostname: web-0\n  subdomain: svc1\n" CONTAINERS);
        char *hostname = NULL, *domain = NULL;
        CHECK(p);
        CHECK_INT_EQ(pod_hostname_and_domain(p, "cluster.local", &hostname, &domain, NULL), 0);
        CHECK_STR_EQ(hostname, "web-0");
        CHECK_STR_EQ(domain, "svc1.web.svc.cluster.local");
        char *ips[] = {"10.200.0.4"};
        char *got = etc_hosts_managed(ips, 1, hostname, domain, NULL, 0);
        char want[1024];
        snprintf(want, sizeof(want), "%s10.200.0.4\tweb-0.svc1.web.svc.cluster.local\tweb-0\n",
                 MANAGED_BASE);
        CHECK_STR_EQ(got, want);
        free(got);
        free(hostname);
        free(domain);
        done();
}

TEST(hosts_aliases) {
        /* the conformance test (cn/kubelet.go) looks for "123.45.67.89\tfoo\tbar" */
        struct pod *p =
                load(POD_HEAD "spec:\n  hostAliases:\n  - ip: 123.45.67.89\n    hostnames: [foo, bar]\n"
                              "  - ip: 10.1.2.3\n    hostnames: [baz]\n" CONTAINERS);
        CHECK(p);
        char *ips[] = {"10.200.0.4"};
        char *got = etc_hosts_managed(ips, 1, "nginx", NULL, p->spec.host_aliases, p->spec.n_host_aliases);
        char want[1024];
        snprintf(want, sizeof(want),
                 "%s10.200.0.4\tnginx\n\n# Entries added by "
                 "HostAliases.\n123.45.67.89\tfoo\tbar\n10.1.2.3\tbaz\n",
                 MANAGED_BASE);
        CHECK_STR_EQ(got, want);
        CHECK(got && strstr(got, "123.45.67.89\tfoo\tbar"));
        free(got);
        done();
}

TEST(hosts_host_network) {
        struct pod *p = load(POD_HEAD "spec:\n  hostNetwork: true\n  hostAliases:\n  - ip: 123.45.67.89\n"
                                      "    hostnames: [foo, bar]\n" CONTAINERS);
        CHECK(p);
        const char node[] = "127.0.0.1 localhost\n192.168.1.10 node1\n";
        char *got = etc_hosts_host_network(node, strlen(node), p->spec.host_aliases, p->spec.n_host_aliases);
        CHECK_STR_EQ(
                got,
                "# Kubernetes-managed hosts file (host network).\n127.0.0.1 localhost\n192.168.1.10 node1\n"
                "\n# Entries added by HostAliases.\n123.45.67.89\tfoo\tbar\n");
        /* not the pod-network header (the conformance check on hostNetwork pods) */
        CHECK(got && strncmp(got, "# Kubernetes-managed hosts file.", 32) != 0);
        free(got);
        got = etc_hosts_host_network(node, strlen(node), NULL, 0);
        CHECK_STR_EQ(got, "# Kubernetes-managed hosts file (host network).\n127.0.0.1 "
                          "localhost\n192.168.1.10 node1\n");
        free(got);
        done();
}

/* ==== hostnames ============================================================================== */

TEST(hostname_from_name_truncated) {
        /* 62 chars then "-." then more: cut at 63, trailing '-' and '.' dropped */
        char yaml[1024];
        const char *name = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab-.cccccc";
        snprintf(yaml, sizeof(yaml),
                 "apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\n  uid: u\nspec:\n" CONTAINERS, name);
        struct pod *p = load(yaml);
        char *hostname = NULL, *domain = NULL;
        CHECK(p);
        CHECK_INT_EQ(pod_hostname_and_domain(p, "cluster.local", &hostname, &domain, NULL), 0);
        CHECK_INT_EQ(strlen(hostname), 62);
        CHECK(hostname && hostname[61] == 'b');
        CHECK(domain == NULL);
        free(hostname);
        done();
}

TEST(hostname_spec_and_errors) {
        struct pod *p = load(POD_HEAD "spec:\n  hostname: Bad_Name\n" CONTAINERS);
        char *hostname = NULL, *domain = NULL;
        nl_error err = NL_ERROR_INIT;
        CHECK(p);
        CHECK_INT_EQ(pod_hostname_and_domain(p, "cluster.local", &hostname, &domain, &err), -EINVAL);
        CHECK(err.msg && strstr(err.msg, "pod Hostname \"Bad_Name\" is not a valid DNS label"));
        nl_error_clear(&err);

        p = load(POD_HEAD "spec:\n  hostname: h1\n" CONTAINERS);
        CHECK_INT_EQ(pod_hostname_and_domain(p, "cluster.local", &hostname, &domain, NULL), 0);
        CHECK_STR_EQ(hostname, "h1");
        char *k = NULL;
        CHECK_INT_EQ(pod_kernel_hostname(p, hostname, domain, &k, NULL), 0);
        CHECK_STR_EQ(k, "h1");
        free(k);
        free(hostname);
        done();
}

TEST(hostname_override) {
        /* the e2e "Override hostname of Pod" tests: hostnameOverride wins over hostname and
         * subdomain, with no domain, so `hostname -f` prints it too */
        struct pod *p = load(POD_HEAD "spec:\n  hostname: custom-host\n  subdomain: sub\n"
                                      "  hostnameOverride: override.example.com\n" CONTAINERS);
        char *hostname = NULL, *domain = NULL, *k = NULL;
        nl_error err = NL_ERROR_INIT;
        CHECK(p);
        CHECK_INT_EQ(pod_hostname_and_domain(p, "cluster.local", &hostname, &domain, NULL), 0);
        CHECK_STR_EQ(hostname, "override.example.com");
        CHECK(domain == NULL);
        CHECK_INT_EQ(pod_kernel_hostname(p, hostname, domain, &k, NULL), 0);
        CHECK_STR_EQ(k, "override.example.com");
        char *ips[] = {"10.200.0.4"};
        char *got = etc_hosts_managed(ips, 1, hostname, domain, NULL, 0);
        char want[1024];
        snprintf(want, sizeof(want), "%s10.200.0.4\toverride.example.com\n", MANAGED_BASE);
        CHECK_STR_EQ(got, want);
        free(got);
        free(k);
        free(hostname);

        p = load(POD_HEAD "spec:\n  hostnameOverride: Not_A_Subdomain\n" CONTAINERS);
        CHECK(p);
        CHECK_INT_EQ(pod_hostname_and_domain(p, "cluster.local", &hostname, &domain, &err), -EINVAL);
        CHECK(err.msg && strstr(err.msg, "pod HostnameOverride \"Not_A_Subdomain\" is not a valid DNS subdomain"));
        nl_error_clear(&err);
        done();
}

TEST(kernel_hostname_fqdn) {
        struct pod *p = load(
                POD_HEAD "spec:\n  hostname: h1\n  subdomain: sub\n  setHostnameAsFQDN: true\n" CONTAINERS);
        char *hostname = NULL, *domain = NULL, *k = NULL;
        nl_error err = NL_ERROR_INIT;
        CHECK(p);
        CHECK_INT_EQ(pod_hostname_and_domain(p, "cluster.local", &hostname, &domain, NULL), 0);
        CHECK_INT_EQ(pod_kernel_hostname(p, hostname, domain, &k, NULL), 0);
        CHECK_STR_EQ(k, "h1.sub.web.svc.cluster.local");
        free(k);
        free(domain);
        domain = strdup("a-very-long-subdomain-name-here.some-namespace.svc.cluster.local");
        CHECK_INT_EQ(pod_kernel_hostname(p, hostname, domain, &k, &err), -EINVAL);
        CHECK(err.msg && strstr(err.msg, "is too long (64 characters is the max, 67 characters requested)"));
        nl_error_clear(&err);
        free(hostname);
        free(domain);
        done();
}

/* ==== resolv.conf =========================================================================== */

static const char NODE_RESOLV[] = "# generated\n"
                                  "nameserver 8.8.8.8\n"
                                  "search old.example\n"
                                  "search example.com. corp.local\n"
                                  "nameserver 8.8.4.4\n"
                                  "options timeout:2\n";

static char *resolv_for(const struct pod *p, const char *node, const char *cluster_dns, char ***w,
                        size_t *nw) {
        struct dns_config c = {};
        nl_error err = NL_ERROR_INIT;
        int r = pod_dns_config(p, node, node ? strlen(node) : 0, cluster_dns, "cluster.local", &c, w, nw,
                               &err);
        if (r < 0) {
                TEST_FAIL("pod_dns_config: %s", strempty(err.msg));
                nl_error_clear(&err);
                return NULL;
        }
        char *s = dns_config_format(&c);
        dns_config_done(&c);
        return s;
}

static void warnings_free(char **w, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(w[i]);
        free(w);
}

TEST(resolv_parse) {
        struct dns_config c = {};
        CHECK_INT_EQ(resolv_conf_parse(NODE_RESOLV, strlen(NODE_RESOLV), &c), 0);
        CHECK_INT_EQ(c.n_servers, 2);
        CHECK_INT_EQ(c.n_searches, 2); /* the last search line wins, trailing dot gone */
        CHECK_STR_EQ(c.searches[0], "example.com");
        CHECK_STR_EQ(c.searches[1], "corp.local");
        CHECK_INT_EQ(c.n_options, 1);
        dns_config_done(&c);
        CHECK_INT_EQ(resolv_conf_parse("nameserver\n", 11, &c), -EINVAL);
}

TEST(resolv_cluster_first) {
        struct pod *p = load(POD_HEAD "spec:\n" CONTAINERS);
        char **w = NULL;
        size_t nw = 0;
        char *s = resolv_for(p, NODE_RESOLV, "10.96.0.10", &w, &nw);
        CHECK_STR_EQ(s,
                     "search web.svc.cluster.local svc.cluster.local cluster.local example.com corp.local\n"
                     "nameserver 10.96.0.10\n"
                     "options ndots:5\n");
        CHECK_INT_EQ(nw, 0);
        free(s);
        done();
}

TEST(resolv_cluster_first_fallback) {
        /* no cluster DNS: the kubelet falls back to Default and records MissingClusterDNS */
        struct pod *p = load(POD_HEAD "spec:\n" CONTAINERS);
        char **w = NULL;
        size_t nw = 0;
        char *s = resolv_for(p, NODE_RESOLV, NULL, &w, &nw);
        CHECK_STR_EQ(s, "search example.com corp.local\nnameserver 8.8.8.8\nnameserver 8.8.4.4\noptions "
                        "timeout:2\n");
        CHECK_INT_EQ(nw, 1);
        CHECK(nw == 1 &&
              streq(w[0], "MissingClusterDNS: kubelet does not have ClusterDNS IP configured and cannot "
                          "create Pod using \"ClusterFirst\" policy. Falling back to \"Default\" policy."));
        warnings_free(w, nw);
        free(s);
        done();
}

TEST(resolv_default) {
        struct pod *p = load(POD_HEAD "spec:\n  dnsPolicy: Default\n" CONTAINERS);
        char *s = resolv_for(p, NODE_RESOLV, "10.96.0.10", NULL, NULL);
        CHECK_STR_EQ(s, "search example.com corp.local\nnameserver 8.8.8.8\nnameserver 8.8.4.4\noptions "
                        "timeout:2\n");
        free(s);
        /* no resolv.conf configured: the local machine's nameserver, search "." */
        s = resolv_for(p, NULL, "10.96.0.10", NULL, NULL);
        CHECK_STR_EQ(s, "search .\nnameserver 127.0.0.1\n");
        free(s);
        done();
}

TEST(resolv_host_network) {
        struct pod *p = load(POD_HEAD "spec:\n  hostNetwork: true\n" CONTAINERS);
        char *s = resolv_for(p, NODE_RESOLV, "10.96.0.10", NULL, NULL); /* ClusterFirst -> Default */
        CHECK_STR_EQ(s, "search example.com corp.local\nnameserver 8.8.8.8\nnameserver 8.8.4.4\noptions "
                        "timeout:2\n");
        free(s);
        p = load(POD_HEAD "spec:\n  hostNetwork: true\n  dnsPolicy: ClusterFirstWithHostNet\n" CONTAINERS);
        s = resolv_for(p, NODE_RESOLV, "10.96.0.10", NULL, NULL);
        CHECK_STR_EQ(s,
                     "search web.svc.cluster.local svc.cluster.local cluster.local example.com corp.local\n"
                     "nameserver 10.96.0.10\noptions ndots:5\n");
        free(s);
        done();
}

TEST(resolv_none) {
        /* the example of the Kubernetes docs (Pod's DNS Config) */
        struct pod *p =
                load(POD_HEAD
                     "spec:\n  dnsPolicy: None\n  dnsConfig:\n    nameservers: [192.0.2.1]\n"
                     "    searches: [ns1.svc.cluster-domain.example, my.dns.search.suffix]\n"
                     "    options:\n    - name: ndots\n      value: \"2\"\n    - name: edns0\n" CONTAINERS);
        char *s = resolv_for(p, NODE_RESOLV, "10.96.0.10", NULL, NULL);
        CHECK_STR_EQ(s, "search ns1.svc.cluster-domain.example my.dns.search.suffix\nnameserver 192.0.2.1\n"
                        "options ndots:2 edns0\n");
        free(s);
        /* nothing at all: empty (containerd then copies the node's file) */
        p = load(POD_HEAD "spec:\n  dnsPolicy: None\n" CONTAINERS);
        s = resolv_for(p, NODE_RESOLV, "10.96.0.10", NULL, NULL);
        CHECK_STR_EQ(s, "");
        free(s);
        done();
}

TEST(resolv_merge) {
        /* dnsConfig adds to ClusterFirst: duplicates omitted, options override by name */
        struct pod *p = load(POD_HEAD "spec:\n  dnsConfig:\n    nameservers: [10.96.0.10, 1.1.1.1]\n"
                                      "    searches: [cluster.local, extra.example]\n"
                                      "    options:\n    - name: ndots\n      value: \"2\"\n    - name: "
                                      "single-request\n" CONTAINERS);
        char *s = resolv_for(p, NODE_RESOLV, "10.96.0.10", NULL, NULL);
        CHECK_STR_EQ(s,
                     "search web.svc.cluster.local svc.cluster.local cluster.local example.com corp.local "
                     "extra.example\nnameserver 10.96.0.10\nnameserver 1.1.1.1\noptions ndots:2 "
                     "single-request\n");
        free(s);
        /* and to Default: the node's options merge too */
        p = load(POD_HEAD "spec:\n  dnsPolicy: Default\n  dnsConfig:\n    options:\n    - name: timeout\n"
                          "      value: \"5\"\n    - name: rotate\n" CONTAINERS);
        s = resolv_for(p, NODE_RESOLV, NULL, NULL, NULL);
        CHECK_STR_EQ(s, "search example.com corp.local\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n"
                        "options timeout:5 rotate\n");
        free(s);
        done();
}

TEST(resolv_limits_nameservers) {
        struct pod *p = load(POD_HEAD "spec:\n  dnsPolicy: Default\n  dnsConfig:\n    nameservers: "
                                      "[1.1.1.1, 9.9.9.9]\n" CONTAINERS);
        char **w = NULL;
        size_t nw = 0;
        char *s = resolv_for(p, NODE_RESOLV, NULL, &w, &nw);
        CHECK_STR_EQ(
                s,
                "search example.com corp.local\nnameserver 8.8.8.8\nnameserver 8.8.4.4\nnameserver 1.1.1.1\n"
                "options timeout:2\n");
        CHECK_INT_EQ(nw, 1);
        CHECK(nw == 1 &&
              streq(w[0], "DNSConfigForming: Nameserver limits were exceeded, some nameservers have been "
                          "omitted, the applied nameserver line is: 8.8.8.8 8.8.4.4 1.1.1.1"));
        warnings_free(w, nw);
        free(s);
        done();
}

TEST(resolv_limits_searches) {
        /* 40 searches: 32 kept */
        char node[4096] = "nameserver 8.8.8.8\nsearch";
        for (int i = 0; i < 40; i++) {
                char d[16];
                snprintf(d, sizeof(d), " d%d.x", i);
                strcat(node, d);
        }
        strcat(node, "\n");
        struct pod *p = load(POD_HEAD "spec:\n  dnsPolicy: Default\n" CONTAINERS);
        char **w = NULL;
        size_t nw = 0;
        struct dns_config c = {};
        CHECK_INT_EQ(pod_dns_config(p, node, strlen(node), NULL, "cluster.local", &c, &w, &nw, NULL), 0);
        CHECK_INT_EQ(c.n_searches, 32);
        CHECK_STR_EQ(c.searches[31], "d31.x");
        CHECK_INT_EQ(nw, 1);
        CHECK(nw == 1 && strstr(w[0], "DNSConfigForming: Search Line limits were exceeded"));
        dns_config_done(&c);
        warnings_free(w, nw);
        w = NULL;
        nw = 0;

        /* a path over 253 chars is dropped; a line over 2048 chars loses domains from its end */
        char big[8192];
        char label[250];
        memset(label, 'a', sizeof(label) - 1);
        label[sizeof(label) - 1] = '\0';
        snprintf(big, sizeof(big), "nameserver 8.8.8.8\nsearch %s.%s", label, "toolong"); /* 257 chars */
        for (int i = 0; i < 10; i++) {
                size_t l = strlen(big);
                snprintf(big + l, sizeof(big) - l, " %c%s", 'b' + i, label); /* 250 chars each */
        }
        strcat(big, "\n");
        CHECK_INT_EQ(pod_dns_config(p, big, strlen(big), NULL, "cluster.local", &c, &w, &nw, NULL), 0);
        /* 10 domains of 250 = 2509 chars joined; 8 fit (2007), 9 would not (2258) */
        CHECK_INT_EQ(c.n_searches, 8);
        CHECK(c.n_searches > 0 && c.searches[0][0] == 'b');
        size_t total = 0;
        for (size_t i = 0; i < c.n_searches; i++)
                total += strlen(c.searches[i]) + (i ? 1 : 0);
        CHECK(total <= DNS_MAX_SEARCH_CHARS);
        CHECK_INT_EQ(nw, 1);
        dns_config_done(&c);
        warnings_free(w, nw);
        done();
}
