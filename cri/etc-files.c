/* SPDX-License-Identifier: Apache-2.0 */
/* The files a pod's containers see as /etc/hosts, /etc/resolv.conf and /etc/hostname, with the
 * kubelet's rules (pkg/kubelet/kubelet_pods.go, pkg/kubelet/network/dns/dns.go) and
 * containerd's way of writing resolv.conf from the CRI DNSConfig. */
#include <ctype.h>
#include <stdio.h>
#include <sys/stat.h>

#include "sandbox-internal.h"
#include "common/fs.h"
#include "common/strv.h"

#define HOSTNAME_MAX_LEN 63 /* truncatePodHostnameIfNeeded */
#define FQDN_MAX_LEN 64     /* GetNodenameForKernel */
#define NODE_HOSTS_PATH "/etc/hosts"

static const char MANAGED_HOSTS_HEADER[] = "# Kubernetes-managed hosts file.\n";
static const char MANAGED_HOSTS_HEADER_HOST_NETWORK[] = "# Kubernetes-managed hosts file (host network).\n";

/* ---- string vectors ------------------------------------------------------------------------ */

/* append src (omitDuplicates of the concatenation, first occurrence kept) */
static int strv_append_unique(char ***v, size_t *n, char *const *src, size_t n_src) {
        for (size_t i = 0; i < n_src; i++) {
                if (!src[i] || strv_contains(*v, *n, src[i]))
                        continue;
                int r = strv_push(v, n, src[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

void dns_config_done(struct dns_config *c) {
        strv_free_n(c->servers, c->n_servers);
        strv_free_n(c->searches, c->n_searches);
        strv_free_n(c->options, c->n_options);
        *c = (struct dns_config){};
}

/* ---- hostname ------------------------------------------------------------------------------ */

int pod_hostname_and_domain(const struct pod *pod, const char *cluster_domain, char **ret_hostname,
                            char **ret_domain, nl_error *err) {
        const char *name = pod->metadata.name;
        _cleanup_free_ char *hostname = NULL, *domain = NULL;
        bool override = pod->spec.hostname_override != NULL;

        /* spec.hostnameOverride (GA in 1.37) is the hostname as given, a DNS subdomain, and
         * takes hostname and subdomain's place: no domain, so no FQDN line in /etc/hosts
         * (the kubelet's GeneratePodHostNameAndDomain) */
        if (override) {
                if (!podspec_is_dns1123_subdomain(pod->spec.hostname_override)) {
                        _cleanup_free_ char *q = pod_error_quote(pod->spec.hostname_override);
                        return nl_error_set(err, -EINVAL, "pod HostnameOverride %s is not a valid DNS subdomain",
                                            strempty(q));
                }
                name = pod->spec.hostname_override;
        } else if (!isempty(pod->spec.hostname)) {
                if (!podspec_is_dns1123_label(pod->spec.hostname)) {
                        _cleanup_free_ char *q = pod_error_quote(pod->spec.hostname);
                        return nl_error_set(err, -EINVAL, "pod Hostname %s is not a valid DNS label",
                                            strempty(q));
                }
                name = pod->spec.hostname;
        }
        if (isempty(name))
                return nl_error_set(err, -EINVAL, "pod has no name to make a hostname of");
        /* as truncatePodHostnameIfNeeded: cap at 63, then no trailing '-' or '.' */
        size_t len = strlen(name);
        if (len > HOSTNAME_MAX_LEN) {
                len = HOSTNAME_MAX_LEN;
                while (len > 0 && (name[len - 1] == '-' || name[len - 1] == '.'))
                        len--;
                if (len == 0) {
                        _cleanup_free_ char *q = pod_error_quote(name);
                        return nl_error_set(err, -EINVAL, "hostname for pod was invalid: %s", strempty(q));
                }
        }
        hostname = strndup(name, len);
        if (!hostname)
                return nl_error_set(err, -ENOMEM, "out of memory");
        if (!override && !isempty(pod->spec.subdomain)) {
                if (!podspec_is_dns1123_label(pod->spec.subdomain)) {
                        _cleanup_free_ char *q = pod_error_quote(pod->spec.subdomain);
                        return nl_error_set(err, -EINVAL, "pod Subdomain %s is not a valid DNS label",
                                            strempty(q));
                }
                domain = nl_strdupf("%s.%s.svc.%s", pod->spec.subdomain, strempty(pod->metadata.namespace),
                                    strempty(cluster_domain));
                if (!domain)
                        return nl_error_set(err, -ENOMEM, "out of memory");
        }
        *ret_hostname = TAKE_PTR(hostname);
        *ret_domain = TAKE_PTR(domain);
        return 0;
}

int pod_kernel_hostname(const struct pod *pod, const char *hostname, const char *domain, char **ret,
                        nl_error *err) {
        char *h;
        if (!isempty(domain) && pod->spec.set_hostname_as_fqdn.set && pod->spec.set_hostname_as_fqdn.v) {
                h = nl_strdupf("%s.%s", hostname, domain);
                if (h && strlen(h) > FQDN_MAX_LEN) {
                        int r = nl_error_set(
                                err, -EINVAL,
                                "failed to construct FQDN from pod hostname and cluster domain, FQDN "
                                "%s is too long (%d characters is the max, %zu characters requested)",
                                h, FQDN_MAX_LEN, strlen(h));
                        free(h);
                        return r;
                }
        } else
                h = strdup(hostname);
        if (!h)
                return nl_error_set(err, -ENOMEM, "out of memory");
        *ret = h;
        return 0;
}

/* ---- /etc/hosts ---------------------------------------------------------------------------- */

static void hosts_aliases(nl_buf *b, const struct pod_host_alias *aliases, size_t n) {
        if (n == 0)
                return;
        nl_buf_puts(b, "\n# Entries added by HostAliases.\n");
        /* hostsEntriesFromHostAliases: one line per alias, hostnames tab-separated */
        for (size_t i = 0; i < n; i++) {
                nl_buf_puts(b, strempty(aliases[i].ip));
                nl_buf_puts(b, "\t");
                for (size_t j = 0; j < aliases[i].n_hostnames; j++) {
                        if (j)
                                nl_buf_puts(b, "\t");
                        nl_buf_puts(b, strempty(aliases[i].hostnames[j]));
                }
                nl_buf_puts(b, "\n");
        }
}

char *etc_hosts_managed(char *const *ips, size_t n_ips, const char *hostname, const char *domain,
                        const struct pod_host_alias *aliases, size_t n_aliases) {
        nl_buf b = {};
        nl_buf_puts(&b, MANAGED_HOSTS_HEADER);
        nl_buf_puts(&b, "127.0.0.1\tlocalhost\n");
        nl_buf_puts(&b, "::1\tlocalhost ip6-localhost ip6-loopback\n");
        nl_buf_puts(&b, "fe00::0\tip6-localnet\n");
        nl_buf_puts(&b, "fe00::0\tip6-mcastprefix\n");
        nl_buf_puts(&b, "fe00::1\tip6-allnodes\n");
        nl_buf_puts(&b, "fe00::2\tip6-allrouters\n");
        for (size_t i = 0; i < n_ips; i++) {
                if (!isempty(domain))
                        nl_buf_printf(&b, "%s\t%s.%s\t%s\n", ips[i], hostname, domain, hostname);
                else
                        nl_buf_printf(&b, "%s\t%s\n", ips[i], hostname);
        }
        hosts_aliases(&b, aliases, n_aliases);
        return nl_buf_steal(&b);
}

char *etc_hosts_host_network(const char *node_hosts, size_t len, const struct pod_host_alias *aliases,
                             size_t n_aliases) {
        nl_buf b = {};
        nl_buf_puts(&b, MANAGED_HOSTS_HEADER_HOST_NETWORK);
        nl_buf_append(&b, node_hosts ? node_hosts : "", node_hosts ? len : 0);
        hosts_aliases(&b, aliases, n_aliases);
        return nl_buf_steal(&b);
}

/* ---- resolv.conf --------------------------------------------------------------------------- */

static bool is_space(char c) {
        /* strings.Fields / TrimSpace on ASCII input */
        return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f' || c == '\n';
}

int resolv_conf_parse(const char *buf, size_t len, struct dns_config *ret) {
        _cleanup_(dns_config_done) struct dns_config c = {};
        bool bad_nameserver = false;
        int r;

        for (size_t pos = 0; pos < len;) {
                const char *line = buf + pos;
                const char *nl = memchr(line, '\n', len - pos);
                size_t llen = nl ? (size_t) (nl - line) : len - pos;
                pos += llen + 1;

                char **f = NULL;
                size_t nf = 0;
                size_t i = 0;
                while (i < llen && is_space(line[i]))
                        i++;
                if (i < llen && line[i] == '#')
                        continue;
                while (i < llen) {
                        size_t s = i;
                        while (i < llen && !is_space(line[i]))
                                i++;
                        if ((r = strv_push_n(&f, &nf, line + s, i - s)) < 0) {
                                strv_free_n(f, nf);
                                return r;
                        }
                        while (i < llen && is_space(line[i]))
                                i++;
                }
                r = 0;
                if (nf == 0) {
                        strv_free_n(f, nf);
                        continue;
                }
                if (streq(f[0], "nameserver")) {
                        if (nf >= 2)
                                r = strv_push(&c.servers, &c.n_servers, f[1]);
                        else
                                bad_nameserver = true;
                } else if (streq(f[0], "search")) {
                        /* the last one wins; "example.com." and "example.com" count once */
                        strv_free_n(c.searches, c.n_searches);
                        c.searches = NULL;
                        c.n_searches = 0;
                        for (size_t k = 1; k < nf && r >= 0; k++) {
                                size_t sl = strlen(f[k]);
                                if (sl > 0 && f[k][sl - 1] == '.')
                                        sl--;
                                r = strv_push_n(&c.searches, &c.n_searches, f[k], sl);
                        }
                } else if (streq(f[0], "options")) {
                        strv_free_n(c.options, c.n_options);
                        c.options = NULL;
                        c.n_options = 0;
                        for (size_t k = 1; k < nf && r >= 0; k++)
                                r = strv_push(&c.options, &c.n_options, f[k]);
                }
                strv_free_n(f, nf);
                if (r < 0)
                        return r;
        }
        if (bad_nameserver)
                return -EINVAL; /* "nameserver list is empty" */
        *ret = c;
        c = (struct dns_config){};
        return 0;
}

static int warn(char ***warnings, size_t *n_warnings, const char *reason, const char *msg) {
        if (!warnings)
                return 0;
        _cleanup_free_ char *s = nl_strdupf("%s: %s", reason, msg);
        if (!s)
                return -ENOMEM;
        return strv_push(warnings, n_warnings, s);
}

/* mergeDNSOptions: options from dnsConfig override existing ones by name. The kubelet builds a
 * Go map and emits it in random order; we keep the first-seen order so the file is stable. */
static int merge_options(struct dns_config *c, const struct pod_dns_config_option *opts, size_t n) {
        char **names = NULL, **values = NULL;
        size_t nn = 0, nv = 0;
        int r = 0;

        for (size_t i = 0; i < c->n_options + n && r >= 0; i++) {
                const char *name, *value;
                size_t name_len;
                if (i < c->n_options) {
                        const char *o = c->options[i], *colon = strchr(o, ':');
                        name = o;
                        name_len = colon ? (size_t) (colon - o) : strlen(o);
                        value = colon ? colon + 1 : "";
                } else {
                        const struct pod_dns_config_option *o = &opts[i - c->n_options];
                        name = strempty(o->name);
                        name_len = strlen(name);
                        value = strempty(o->value);
                }
                size_t k;
                for (k = 0; k < nn; k++)
                        if (strlen(names[k]) == name_len && memcmp(names[k], name, name_len) == 0)
                                break;
                if (k < nn) {
                        char *v = strdup(value);
                        if (!v) {
                                r = -ENOMEM;
                                break;
                        }
                        free(values[k]);
                        values[k] = v;
                } else if ((r = strv_push_n(&names, &nn, name, name_len)) >= 0)
                        r = strv_push(&values, &nv, value);
        }
        if (r >= 0 && nn != nv)
                r = -ENOMEM;
        char **out = NULL;
        size_t no = 0;
        for (size_t k = 0; k < nn && r >= 0; k++) {
                _cleanup_free_ char *s =
                        isempty(values[k]) ? strdup(names[k]) : nl_strdupf("%s:%s", names[k], values[k]);
                r = s ? strv_push(&out, &no, s) : -ENOMEM;
        }
        strv_free_n(names, nn);
        strv_free_n(values, nv);
        if (r < 0) {
                strv_free_n(out, no);
                return r;
        }
        strv_free_n(c->options, c->n_options);
        c->options = out;
        c->n_options = no;
        return 0;
}

/* The kubelet's DNSConfigForming event for a line cut to fit: "<what> limits were exceeded,
 * some <items> have been omitted, the applied <line> is: <the line>". */
static int warn_line_cut(char ***warnings, size_t *n_warnings, const char *what, char *const *v, size_t n) {
        _cleanup_free_ char *line = strv_join(v, n, " ");
        _cleanup_free_ char *msg = line ? nl_strdupf("%s%s", what, line) : NULL;
        if (!msg || warn(warnings, n_warnings, "DNSConfigForming", msg) < 0)
                return -ENOMEM;
        return 0;
}

/* formDNSNameserversFitsLimits, formDNSSearchFitsLimits */
static int fit_limits(struct dns_config *c, char ***warnings, size_t *n_warnings) {
        int r;
        if (c->n_servers > DNS_MAX_NAMESERVERS) {
                for (size_t i = DNS_MAX_NAMESERVERS; i < c->n_servers; i++)
                        free(c->servers[i]);
                c->n_servers = DNS_MAX_NAMESERVERS;
                c->servers[c->n_servers] = NULL;
                r = warn_line_cut(warnings, n_warnings,
                                  "Nameserver limits were exceeded, some nameservers have been omitted, "
                                  "the applied nameserver line is: ",
                                  c->servers, c->n_servers);
                if (r < 0)
                        return r;
        }

        bool exceeded = false;
        if (c->n_searches > DNS_MAX_SEARCH_PATHS) {
                for (size_t i = DNS_MAX_SEARCH_PATHS; i < c->n_searches; i++)
                        free(c->searches[i]);
                c->n_searches = DNS_MAX_SEARCH_PATHS;
                exceeded = true;
        }
        /* glibc may abort() on a search path longer than 255: drop those */
        size_t l = 0;
        for (size_t i = 0; i < c->n_searches; i++) {
                if (strlen(c->searches[i]) > DNS_MAX_SEARCH_LEN) {
                        free(c->searches[i]);
                        exceeded = true;
                        continue;
                }
                c->searches[l++] = c->searches[i];
        }
        c->n_searches = l;
        size_t total = 0;
        for (size_t i = 0; i < c->n_searches; i++)
                total += strlen(c->searches[i]) + (i ? 1 : 0);
        if (total > DNS_MAX_SEARCH_CHARS) {
                /* cut whole domains from the end until the line fits */
                size_t cut = 0;
                for (size_t i = c->n_searches; i > 0; i--) {
                        cut += strlen(c->searches[i - 1]) + 1;
                        free(c->searches[i - 1]);
                        c->n_searches = i - 1;
                        if (total - cut <= DNS_MAX_SEARCH_CHARS)
                                break;
                }
                exceeded = true;
        }
        if (c->searches)
                c->searches[c->n_searches] = NULL;
        if (exceeded)
                return warn_line_cut(warnings, n_warnings,
                                     "Search Line limits were exceeded, some search paths have been omitted, "
                                     "the applied search line is: ",
                                     c->searches, c->n_searches);
        return 0;
}

enum dns_type { DNS_CLUSTER, DNS_HOST, DNS_NONE };

int pod_dns_config(const struct pod *pod, const char *node_resolv, size_t node_resolv_len,
                   const char *cluster_dns, const char *cluster_domain, struct dns_config *ret,
                   char ***warnings, size_t *n_warnings, nl_error *err) {
        _cleanup_(dns_config_done) struct dns_config c = {};
        const char *policy = isempty(pod->spec.dns_policy) ? "ClusterFirst" : pod->spec.dns_policy;
        bool host_network = pod->spec.host_network.set && pod->spec.host_network.v;
        enum dns_type type = DNS_CLUSTER;
        int r;

        if (node_resolv) {
                r = resolv_conf_parse(node_resolv, node_resolv_len, &c);
                if (r == -EINVAL)
                        return nl_error_set(err, r, "node resolv.conf: nameserver list is empty");
                if (r < 0)
                        return nl_error_set(err, r, "node resolv.conf: %s", strerror(-r));
        }
        if (streq(policy, "None"))
                type = DNS_NONE;
        else if (streq(policy, "ClusterFirstWithHostNet"))
                type = DNS_CLUSTER;
        else if (streq(policy, "ClusterFirst"))
                type = host_network ? DNS_HOST : DNS_CLUSTER; /* hostNetwork falls back to Default */
        else if (streq(policy, "Default"))
                type = DNS_HOST;
        /* anything else: the API server would have refused it; the kubelet uses ClusterFirst */

        if (type == DNS_NONE)
                dns_config_done(&c);
        else if (type == DNS_CLUSTER && !isempty(cluster_dns)) {
                /* the cluster DNS server is the only nameserver: it forwards the rest */
                strv_free_n(c.servers, c.n_servers);
                c.servers = NULL;
                c.n_servers = 0;
                for (const char *p = cluster_dns; *p;) {
                        size_t n = strcspn(p, ", ");
                        if (n && (r = strv_push_n(&c.servers, &c.n_servers, p, n)) < 0)
                                return nl_error_set(err, r, "out of memory");
                        p += n;
                        while (*p == ',' || *p == ' ')
                                p++;
                }
                if (!isempty(cluster_domain)) {
                        char **s = NULL;
                        size_t ns = 0;
                        _cleanup_free_ char *a =
                                nl_strdupf("%s.svc.%s", strempty(pod->metadata.namespace), cluster_domain);
                        _cleanup_free_ char *b = nl_strdupf("svc.%s", cluster_domain);
                        char *cl[] = {a, b, (char *) cluster_domain};
                        if (!a || !b || strv_append_unique(&s, &ns, cl, 3) < 0 ||
                            strv_append_unique(&s, &ns, c.searches, c.n_searches) < 0) {
                                strv_free_n(s, ns);
                                return nl_error_set(err, -ENOMEM, "out of memory");
                        }
                        strv_free_n(c.searches, c.n_searches);
                        c.searches = s;
                        c.n_searches = ns;
                }
                strv_free_n(c.options, c.n_options);
                c.options = NULL;
                c.n_options = 0;
                if ((r = strv_push(&c.options, &c.n_options, "ndots:5")) < 0)
                        return nl_error_set(err, r, "out of memory");
        } else {
                if (type == DNS_CLUSTER &&
                    warn(warnings, n_warnings, "MissingClusterDNS",
                         "kubelet does not have ClusterDNS IP configured and cannot create Pod using "
                         "\"ClusterFirst\" policy. Falling back to \"Default\" policy.") < 0)
                        return nl_error_set(err, -ENOMEM, "out of memory");
                if (!node_resolv) {
                        /* no resolv.conf configured: effectively no DNS, "the nameserver on the
                         * local machine" */
                        strv_free_n(c.servers, c.n_servers);
                        strv_free_n(c.searches, c.n_searches);
                        c.servers = c.searches = NULL;
                        c.n_servers = c.n_searches = 0;
                        if (strv_push(&c.servers, &c.n_servers, "127.0.0.1") < 0 ||
                            strv_push(&c.searches, &c.n_searches, ".") < 0)
                                return nl_error_set(err, -ENOMEM, "out of memory");
                }
        }

        const struct pod_dns_config *dc = pod->spec.dns_config;
        if (dc) {
                if (strv_append_unique(&c.servers, &c.n_servers, dc->nameservers, dc->n_nameservers) < 0 ||
                    strv_append_unique(&c.searches, &c.n_searches, dc->searches, dc->n_searches) < 0 ||
                    merge_options(&c, dc->options, dc->n_options) < 0)
                        return nl_error_set(err, -ENOMEM, "out of memory");
        }
        if (fit_limits(&c, warnings, n_warnings) < 0)
                return nl_error_set(err, -ENOMEM, "out of memory");
        *ret = c;
        c = (struct dns_config){};
        return 0;
}

char *dns_config_format(const struct dns_config *c) {
        nl_buf b = {};
        nl_buf_puts(&b, "");
        if (c->n_searches) {
                _cleanup_free_ char *s = strv_join(c->searches, c->n_searches, " ");
                nl_buf_printf(&b, "search %s\n", strempty(s));
        }
        for (size_t i = 0; i < c->n_servers; i++)
                nl_buf_printf(&b, "nameserver %s\n", c->servers[i]);
        if (c->n_options) {
                _cleanup_free_ char *s = strv_join(c->options, c->n_options, " ");
                nl_buf_printf(&b, "options %s\n", strempty(s));
        }
        return nl_buf_steal(&b);
}

/* ---- writing them ---------------------------------------------------------------------------- */

int etc_files_write(const struct cri_config *cfg, const struct pod *pod, const char *dir, char *const *ips,
                    size_t n_ips, const char *kernel_hostname, bool host_network, char **ret_hosts_path,
                    char **ret_resolv_path, char **ret_hostname_path, char ***warnings, size_t *n_warnings,
                    nl_error *err) {
        _cleanup_free_ char *hosts_path = NULL, *resolv_path = NULL, *hostname_path = NULL;
        _cleanup_free_ char *hostname = NULL, *domain = NULL, *hosts = NULL, *node = NULL, *resolv = NULL;
        _cleanup_(dns_config_done) struct dns_config dns = {};
        size_t node_len = 0;
        int r;

        r = nl_mkdir_parents_p(dir, 0755, 0750);
        if (r < 0)
                return nl_error_set(err, r, "create %s: %s", dir, strerror(-r));

        /* /etc/hosts: managed once the pod has an IP, or on the host network (shouldMountHostsFile) */
        if (host_network || n_ips > 0) {
                r = pod_hostname_and_domain(pod, cfg->cluster_domain, &hostname, &domain, err);
                if (r < 0)
                        return nl_error_prefix(err, "write /etc/hosts");
                if (host_network) {
                        r = nl_read_file(NODE_HOSTS_PATH, ETC_MAX_HOSTS_BYTES, false, &node, &node_len);
                        if (r < 0)
                                return nl_error_set(err, r, "write /etc/hosts: read the node's %s: %s",
                                                    NODE_HOSTS_PATH, strerror(-r));
                        hosts = etc_hosts_host_network(node, node_len, pod->spec.host_aliases,
                                                       pod->spec.n_host_aliases);
                } else
                        hosts = etc_hosts_managed(ips, n_ips, hostname, domain, pod->spec.host_aliases,
                                                  pod->spec.n_host_aliases);
                hosts_path = nl_strdupf("%s/etc-hosts", dir);
                if (!hosts || !hosts_path)
                        return nl_error_set(err, -ENOMEM, "out of memory");
                r = nl_write_file_atomic(hosts_path, hosts, strlen(hosts), 0644);
                if (r < 0)
                        return nl_error_set(err, r, "write %s: %s", hosts_path, strerror(-r));
                free(node);
                node = NULL;
        }

        /* resolv.conf */
        if (!isempty(cfg->resolv_conf)) {
                r = nl_read_file(cfg->resolv_conf, ETC_MAX_RESOLV_CONF_BYTES, false, &node, &node_len);
                if (r < 0)
                        return nl_error_set(err, r, "write resolv.conf: read %s: %s", cfg->resolv_conf,
                                            strerror(-r));
        }
        r = pod_dns_config(pod, node, node_len, cfg->cluster_dns, cfg->cluster_domain, &dns, warnings,
                           n_warnings, err);
        if (r < 0)
                return nl_error_prefix(err, "write resolv.conf");
        resolv = dns_config_format(&dns);
        resolv_path = nl_strdupf("%s/resolv.conf", dir);
        if (!resolv || !resolv_path)
                return nl_error_set(err, -ENOMEM, "out of memory");
        /* containerd: an empty DNS config means a copy of the node's file */
        const char *content = resolv;
        size_t content_len = strlen(resolv);
        if (content_len == 0 && node) {
                content = node;
                content_len = node_len;
        }
        r = nl_write_file_atomic(resolv_path, content, content_len, 0644);
        if (r < 0)
                return nl_error_set(err, r, "write %s: %s", resolv_path, strerror(-r));

        /* hostname */
        hostname_path = nl_strdupf("%s/hostname", dir);
        _cleanup_free_ char *hn = nl_strdupf("%s\n", strempty(kernel_hostname));
        if (!hostname_path || !hn)
                return nl_error_set(err, -ENOMEM, "out of memory");
        r = nl_write_file_atomic(hostname_path, hn, strlen(hn), 0644);
        if (r < 0)
                return nl_error_set(err, r, "write %s: %s", hostname_path, strerror(-r));

        *ret_hosts_path = TAKE_PTR(hosts_path);
        *ret_resolv_path = TAKE_PTR(resolv_path);
        *ret_hostname_path = TAKE_PTR(hostname_path);
        return 0;
}
