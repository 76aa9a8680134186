/* SPDX-License-Identifier: Apache-2.0 */
/* The CNI client (cni.c): the node's network config, plugins run for ADD, DEL and CHECK with
 * their results cached per sandbox, and hostPort mappings. Used by the sandbox (sandbox.c) and
 * the runtime's network readiness (status.c). */
#pragma once

#include <jansson.h>

#include "cri.h"
#include "podspec/podspec.h"

#define CNI_MAX_CONF_BYTES (1u * 1024u * 1024u)
#define CNI_MAX_CONF_FILES 1024u
#define CNI_MAX_PLUGINS 32u
#define CNI_MAX_OUTPUT_BYTES (1u * 1024u * 1024u) /* a plugin's stdout */
#define CNI_MAX_STDERR_BYTES (64u * 1024u)
#define CNI_PLUGIN_TIMEOUT_USEC (60 * USEC_PER_SEC) /* per plugin invocation */
#define CNI_MAX_PORT_MAPPINGS 1024u

struct cni_port_mapping {
        int host_port, container_port;
        char protocol[8]; /* "tcp", "udp", "sctp" */
        char *host_ip;    /* or NULL */
};

struct cni_attach {
        const char *id;    /* sandbox id: CNI_CONTAINERID, K8S_POD_INFRA_CONTAINER_ID */
        const char *netns; /* the pinned netns file */
        const char *pod_namespace, *pod_name, *pod_uid;
        const struct cni_port_mapping *port_mappings;
        size_t n_port_mappings;
};

/* The port mappings of the pod's containers with a hostPort (kubelet makePortMappings). */
int cni_port_mappings(const struct pod *pod, struct cni_port_mapping **ret, size_t *ret_n, nl_error *err);
void cni_port_mappings_free(struct cni_port_mapping *m, size_t n);

/* Load the network: the first valid *.conflist / *.conf / *.json (sorted by name) in conf_dir,
 * a .conf becoming a one-plugin list. The result is a conflist object. */
int cni_load_network(const char *conf_dir, char *const *bin_dirs, size_t n_bin_dirs, json_t **ret,
                     nl_error *err);

/* ADD: loopback for "lo", then the network's plugins for "eth0" in order. The configs sent and
 * the results are cached in <dir>/cni.json so DEL works after a restart even if conf_dir
 * changed. On failure, DEL is run for what was attempted and nothing is cached. Returns the
 * pod IPs (ips[].address of the final result, without the prefix length). */
int cni_add(const struct cri_config *cfg, const char *dir, const struct cni_attach *a, char ***ret_ips,
            size_t *ret_n_ips, nl_error *err);
/* DEL with the cached configs and results, plugins in reverse order, loopback last; every
 * plugin is run even when one fails (the first error is returned); the cache goes on success.
 * No cache: nothing to do. */
int cni_del(const struct cri_config *cfg, const char *dir, const char *netns, nl_error *err);
/* CHECK (CNI >= 0.4.0 and unless disableCheck) with the cached configs and results. */
int cni_check(const struct cri_config *cfg, const char *dir, const char *netns, nl_error *err);
