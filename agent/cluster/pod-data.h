/* SPDX-License-Identifier: Apache-2.0 */
/* Cluster mode: what one pod references in the API server, fetched on the loop before its
 * sandbox and containers are made: the ConfigMaps and Secrets of its volumes, projections,
 * env valueFrom and envFrom, and imagePullSecrets; a service account token per projected
 * serviceAccountToken source (TokenRequest bound to the pod); and the Services whose docker
 * link variables go into every container's env. The runtime layer reads the result through
 * plan_context and volume_context callbacks, in op children that inherit it with fork(). */
#pragma once

#include <jansson.h>

#include "agent/cluster/api.h"
#include "common/time-util.h"
#include "cri/cri.h"
#include "podspec/podspec.h"

/* Bounds on what a pod can make us hold: Services considered for links (the kubelet has
 * none; thousands of services make an env nobody wants) and the answer's objects. */
#define POD_DATA_MAX_SERVICES 1000

struct pod_data;
struct pod_data_fetch;

/* d is the new data (owned by the callee) or NULL when something other than a missing object
 * failed (API unreachable, 5xx, 403): then error says what, in words for an Event. */
typedef void (*pod_data_done_fn)(struct pod_data *d, const char *error, void *userdata);

/* Start fetching everything pod references (a missing object is data, not a failure).
 * prev (may be NULL) lends the tokens it holds that are not due for a refresh (copied: prev
 * may go away meanwhile). done() is called once, later, on the loop, unless the fetch is
 * cancelled; the fetch frees itself after done() returns. -errno (no done()) when the
 * requests could not be started. */
int pod_data_fetch(struct api_client *c, const struct pod *pod, const struct pod_data *prev,
                   pod_data_done_fn done, void *userdata, struct pod_data_fetch **ret);
/* Static mode: the same data from the manifests' own ConfigMaps and Secrets, at once. lookup
 * returns the object (as the API server would return it) or NULL when there is none: a
 * missing object is data, as above. No tokens (there is no API server to ask) and no service
 * links (no Services run). */
typedef const json_t *(*pod_data_lookup_fn)(void *userdata, bool secret, const char *ns, const char *name);
int pod_data_from_manifests(const struct pod *pod, pod_data_lookup_fn lookup, void *userdata,
                            struct pod_data **ret);
/* Stop it: done() is not called. NULL is fine. */
void pod_data_fetch_cancel(struct pod_data_fetch *f);

void pod_data_free(struct pod_data *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct pod_data *, pod_data_free)

/* The same objects (and which are missing) and the same tokens: what volumes are made of.
 * Service links are not compared (they only matter to containers created later). */
bool pod_data_equal(const struct pod_data *a, const struct pod_data *b);
/* A token is due (the kubelet's token manager: past 80% of its TTL, or older than 24 h). */
bool pod_data_token_refresh_due(const struct pod_data *d, usec_t now_realtime_usec);

/* Point the runtime's callbacks at d (valid while d lives): lookup_key, get_object for
 * envFrom and the service env for containers; get_object and get_token for volumes. */
void pod_data_fill_plan(struct pod_data *d, struct plan_context *pc);
void pod_data_fill_volumes(struct pod_data *d, struct volume_context *vc);

/* Registry credentials for repo ("<domain>/<path>", the normalized image without tag) from the
 * pod's imagePullSecrets (types kubernetes.io/dockerconfigjson and kubernetes.io/dockercfg),
 * matched as the kubelet's keyring does: keys without scheme and /v1/ or /v2/, hosts with
 * globs per label, the port exactly, the key's path a prefix of the repository's; more
 * specific keys first; index.docker.io for Docker Hub images. 0 with NULLs when nothing
 * matches. */
int pod_data_pull_auth(const struct pod_data *d, const struct pod *pod, const char *repo, char **ret_user,
                       char **ret_password);

/* ---- the pure parts, for tests ------------------------------------------------------------ */

struct pod_data *pod_data_new(void);
/* Record an answer: obj is the API's ConfigMap or Secret, NULL when it was not found. Secret
 * data and ConfigMap binaryData are base64-decoded here. */
int pod_data_set_object(struct pod_data *d, bool secret, const char *name, const json_t *obj);
/* A TokenRequest's answer for the projection's (audience, expiration_seconds): the token,
 * its expiry (CLOCK_REALTIME) and the TTL the API server granted. */
int pod_data_set_token(struct pod_data *d, const char *audience, int64_t expiration_seconds,
                       const char *token, usec_t expires_at, usec_t ttl_usec);
/* The kubelet's getServiceEnvVarMap + envvars.FromServices: ns_services the items of the
 * pod namespace's ServiceList (NULL when enableServiceLinks is false), master the Service
 * default/kubernetes (NULL when absent). Replaces d's service env. */
int pod_data_set_services(struct pod_data *d, const json_t *ns_services, const json_t *master);
/* "NAME=value" strings, in the order they were made. */
char *const *pod_data_service_env(const struct pod_data *d, size_t *ret_n);
