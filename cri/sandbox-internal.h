/* SPDX-License-Identifier: Apache-2.0 */
/* Pod sandbox internals shared by sandbox.c, nsfile.c and etc-files.c: namespace pinning, the
 * shared pid namespace's holder, the kubelet's /etc/hosts and resolv.conf rules. Not a public
 * API: the tests include it (the etc-files rules are tested byte for byte). The CNI client the
 * sandbox uses is cri/cni.h. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cri.h"
#include "podspec/podspec.h"

/* ==== namespace files (nsfile.c) =========================================================== */

/* Make dir (created if needed) a private bind mount of itself, once: mounts made below it
 * (namespace files, the /dev/shm tmpfs) then never propagate to other mount namespaces, and
 * mounts from elsewhere do not appear in it (as iproute2 does for /run/netns, but private). */
int nsfile_private_dir(const char *dir, nl_error *err);
/* Bind-mount /proc/<pid>/ns/<type> onto path (an empty file created here, mode 0444). */
int nsfile_pin(pid_t pid, const char *type, const char *path, nl_error *err);
/* Unmount (lazily) and remove path; a missing or unmounted file is fine. */
int nsfile_unpin(const char *path);
/* Whether path is an nsfs file (a live, pinned namespace); with type ("net", "ipc", "uts",
 * "pid"), also of that type. */
bool nsfile_is_ns(const char *path, const char *type);

/* Fork a child that unshares flags (CLONE_NEWNET|CLONE_NEWIPC|CLONE_NEWUTS, any subset, not 0),
 * sets hostname when it has a new UTS namespace, and pins each new namespace at the matching
 * path (net_path, ipc_path, uts_path; NULL for those not in flags). On failure nothing is left
 * pinned. */
int nsfile_create(int flags, const char *hostname, const char *net_path, const char *ipc_path,
                  const char *uts_path, nl_error *err);
/* The same inside a new user namespace with userns's mapping, pinned at user_path: the other
 * namespaces belong to it (sysfs, proc and mqueue mount inside the containers, and ports below
 * 1024 bind, only when the user namespace owns them). */
int nsfile_create_userns(int flags, const char *hostname, const struct cri_userns *userns, const char *user_path,
                         const char *net_path, const char *ipc_path, const char *uts_path, nl_error *err);

/* The shared pid namespace's holder: a detached process (setsid) that is pid 1 of a new pid
 * namespace, reaps orphans and otherwise sleeps. Returns its pid in our namespace and its start
 * time (field 22 of /proc/<pid>/stat), which guards every later signal against pid reuse.
 * cgroup_procs: "cgroup.procs" files to put it in before it is reported (may be empty). */
int pidns_holder_start(char *const *cgroup_procs, size_t n_cgroup_procs, pid_t *ret_pid,
                       uint64_t *ret_starttime, nl_error *err);
/* The same, its pid namespace owned by the pinned user namespace userns_path (NULL: the host's). */
int pidns_holder_start_in(const char *userns_path, char *const *cgroup_procs, size_t n_cgroup_procs,
                          pid_t *ret_pid, uint64_t *ret_starttime, nl_error *err);
/* SIGKILL the holder if it is still the process that was started (pid and start time), wait
 * for it to exit (bounded) and reap it if it is our child. 0 when it is gone. */
int pidns_holder_stop(pid_t pid, uint64_t starttime);
/* Start time of pid, 0 and -ESRCH when it does not exist. */
int proc_starttime(pid_t pid, uint64_t *ret);

/* ==== /etc/hosts, hostname, resolv.conf (etc-files.c) ======================================= */

#define ETC_MAX_RESOLV_CONF_BYTES (10u * 1024u * 1024u) /* as the kubelet's maxResolveConfLength */
#define ETC_MAX_HOSTS_BYTES (10u * 1024u * 1024u)
#define DNS_MAX_NAMESERVERS 3     /* validation.MaxDNSNameservers */
#define DNS_MAX_SEARCH_PATHS 32   /* validation.MaxDNSSearchPaths (ExpandedDNSConfig, GA) */
#define DNS_MAX_SEARCH_CHARS 2048 /* validation.MaxDNSSearchListChars */
#define DNS_MAX_SEARCH_LEN 253    /* a search path longer than a DNS-1123 subdomain is dropped */

/* GeneratePodHostNameAndDomain: spec.hostname or the pod name, truncated to 63 characters
 * without a trailing '-' or '.'; the domain "<subdomain>.<namespace>.svc.<cluster domain>" when
 * spec.subdomain is set, else NULL. */
int pod_hostname_and_domain(const struct pod *pod, const char *cluster_domain, char **ret_hostname,
                            char **ret_domain, nl_error *err);
/* GetNodenameForKernel: the FQDN when setHostnameAsFQDN and a domain (at most 64 characters),
 * else hostname. */
int pod_kernel_hostname(const struct pod *pod, const char *hostname, const char *domain, char **ret,
                        nl_error *err);

/* managedHostsFileContent: the kubelet's hosts file for a pod on the pod network. */
char *etc_hosts_managed(char *const *ips, size_t n_ips, const char *hostname, const char *domain,
                        const struct pod_host_alias *aliases, size_t n_aliases);
/* nodeHostsFileContent: the node's hosts file under the "(host network)" header, plus aliases. */
char *etc_hosts_host_network(const char *node_hosts, size_t len, const struct pod_host_alias *aliases,
                             size_t n_aliases);

struct dns_config {
        char **servers, **searches, **options;
        size_t n_servers, n_searches, n_options;
};
void dns_config_done(struct dns_config *c);

/* The kubelet's parseResolvConf: nameservers accumulate, the last search and options lines
 * win, search paths lose a trailing '.'. */
int resolv_conf_parse(const char *buf, size_t len, struct dns_config *ret);

/* GetPodDNS. node_resolv is the node's resolv.conf content, or NULL when the kubelet has none
 * configured (--resolv-conf=""). cluster_dns may be NULL: ClusterFirst then falls back to
 * Default as the kubelet does. Warnings the kubelet records as events (MissingClusterDNS,
 * DNSConfigForming) are appended to *warnings as "<Reason>: <message>" strings. */
int pod_dns_config(const struct pod *pod, const char *node_resolv, size_t node_resolv_len,
                   const char *cluster_dns, const char *cluster_domain, struct dns_config *ret,
                   char ***warnings, size_t *n_warnings, nl_error *err);
/* resolv.conf text as containerd writes it ("search", "nameserver" lines, "options"); "" when
 * the config is empty (containerd then copies the node's file). */
char *dns_config_format(const struct dns_config *c);

/* Write <dir>/etc-hosts (unless the kubelet would not manage it: *ret_hosts_path NULL),
 * resolv.conf and hostname for the pod. */
int etc_files_write(const struct cri_config *cfg, const struct pod *pod, const char *dir, char *const *ips,
                    size_t n_ips, const char *kernel_hostname, bool host_network, char **ret_hosts_path,
                    char **ret_resolv_path, char **ret_hostname_path, char ***warnings, size_t *n_warnings,
                    nl_error *err);
