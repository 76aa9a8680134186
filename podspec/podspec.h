/* SPDX-License-Identifier: Apache-2.0 */
/* podspec: the v1 Pod model. Manifests (YAML or JSON) -> typed structs -> JSON, with the API
 * server's defaults and validation. Pure: no I/O beyond the buffers it is given. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "../common/util.h"

/* ---- limits ----------------------------------------------------------------------------- */

#define PODSPEC_MAX_INPUT_BYTES (3u * 1024u * 1024u) /* the API server's request body limit */
#define PODSPEC_MAX_DEPTH 64                         /* nesting of maps and lists */
#define PODSPEC_MAX_NODES 200000                     /* scalars+collections after alias expansion */
#define PODSPEC_MAX_DOCUMENTS 1024                   /* documents in a stream or items in a List */
#define PODSPEC_MAX_ARRAY 10000                      /* entries in any one list or map */

/* ---- optional scalars ------------------------------------------------------------------- */

typedef struct nl_opt_int {
        bool set;
        int64_t v;
} nl_opt_int;

typedef struct nl_opt_bool {
        bool set;
        bool v;
} nl_opt_bool;

/* ---- resource quantities (k8s.io/apimachinery resource.Quantity) ------------------------ */

typedef enum quantity_format {
        QUANTITY_DECIMAL_SI,       /* "100m", "1k", "5" */
        QUANTITY_BINARY_SI,        /* "1Ki", "1.5Gi" */
        QUANTITY_DECIMAL_EXPONENT, /* "1e3", "12E-3" */
        _QUANTITY_FORMAT_MAX,
        _QUANTITY_FORMAT_INVALID = -EINVAL,
} quantity_format;

/* The value is held exactly in nano-units (value * 10^9) as a 128-bit integer, which is the
 * apimachinery's precision: digits below 1n are rounded up, as Quantity does. */
typedef struct pod_quantity {
        bool set;
        __int128 nano;
        quantity_format format;
} pod_quantity;

/* Parse the Kubernetes quantity grammar: <signedNumber><suffix>, suffix one of
 * Ki Mi Gi Ti Pi Ei, n u m "" k M G T P E, or e/E<signedInt>. -EINVAL when malformed,
 * -ERANGE when the value does not fit. */
int pod_quantity_parse(const char *s, pod_quantity *ret);
/* Canonical string form, as Quantity.String(): e.g. "1000m" -> "1", "1.5Gi" -> "1536Mi",
 * "0.5" -> "500m", "1000" -> "1k". Returns a malloc'ed string, NULL on OOM. */
char *pod_quantity_format(const pod_quantity *q);
/* <0, 0, >0 as a < b; unset compares as zero. */
int pod_quantity_cmp(const pod_quantity *a, const pod_quantity *b);
/* Value rounded up to an integer (Quantity.Value()) and in milli-units rounded up
 * (Quantity.MilliValue()); saturate at INT64_MAX/INT64_MIN. */
int64_t pod_quantity_value(const pod_quantity *q);
int64_t pod_quantity_milli_value(const pod_quantity *q);
bool pod_quantity_is_negative(const pod_quantity *q);
bool pod_quantity_is_zero(const pod_quantity *q);
/* ceil(q / divisor) as the downward API computes resourceFieldRef values; divisor zero or unset
 * means 1. */
int64_t pod_quantity_divide_ceil(const pod_quantity *q, const pod_quantity *divisor);

/* ---- small shared shapes ------------------------------------------------------------------ */

struct pod_kv { /* map[string]string entry */
        char *key;
        char *value;
};

struct pod_resource { /* map[ResourceName]Quantity entry */
        char *name;
        pod_quantity q;
};

typedef struct pod_int_or_string { /* intstr.IntOrString */
        bool set;
        bool is_string;
        int64_t num;
        char *str;
} pod_int_or_string;

#define POD_ARRAY(type, name)                                                                      \
        type *name;                                                                                \
        size_t n_##name

/* ---- metadata ------------------------------------------------------------------------------ */

struct pod_owner_reference {
        char *api_version, *kind, *name, *uid;
        nl_opt_bool controller, block_owner_deletion;
};

struct pod_object_meta {
        char *name, *generate_name, *namespace, *uid, *resource_version;
        nl_opt_int generation;
        char *creation_timestamp, *deletion_timestamp;
        nl_opt_int deletion_grace_period_seconds;
        POD_ARRAY(struct pod_kv, labels);
        POD_ARRAY(struct pod_kv, annotations);
        POD_ARRAY(struct pod_owner_reference, owner_references);
        POD_ARRAY(char *, finalizers);
};

/* ---- env, resources ------------------------------------------------------------------------ */

struct pod_object_field_selector {
        char *api_version, *field_path;
};

struct pod_resource_field_selector {
        char *container_name, *resource;
        pod_quantity divisor;
};

struct pod_key_selector { /* ConfigMapKeySelector / SecretKeySelector */
        char *name, *key;
        nl_opt_bool optional;
};

struct pod_env_var_source {
        struct pod_object_field_selector *field_ref;
        struct pod_resource_field_selector *resource_field_ref;
        struct pod_key_selector *config_map_key_ref;
        struct pod_key_selector *secret_key_ref;
};

struct pod_env_var {
        char *name;
        char *value;
        struct pod_env_var_source *value_from;
};

struct pod_local_ref_optional { /* ConfigMapEnvSource / SecretEnvSource */
        char *name;
        nl_opt_bool optional;
};

struct pod_env_from_source {
        char *prefix;
        struct pod_local_ref_optional *config_map_ref;
        struct pod_local_ref_optional *secret_ref;
};

struct pod_resource_requirements {
        POD_ARRAY(struct pod_resource, limits);
        POD_ARRAY(struct pod_resource, requests);
        json_t *claims; /* kept as given; the node does not act on it */
};

/* ---- probes and hooks ------------------------------------------------------------------- */

struct pod_exec_action {
        POD_ARRAY(char *, command);
};

struct pod_http_header {
        char *name, *value;
};

struct pod_http_get_action {
        char *path;
        pod_int_or_string port;
        char *host;
        char *scheme;
        POD_ARRAY(struct pod_http_header, http_headers);
};

struct pod_tcp_socket_action {
        pod_int_or_string port;
        char *host;
};

struct pod_grpc_action {
        nl_opt_int port;
        char *service; /* NULL: not set; "" is the server's overall health */
};

struct pod_sleep_action {
        nl_opt_int seconds;
};

struct pod_probe {
        struct pod_exec_action *exec;
        struct pod_http_get_action *http_get;
        struct pod_tcp_socket_action *tcp_socket;
        struct pod_grpc_action *grpc;
        nl_opt_int initial_delay_seconds, timeout_seconds, period_seconds;
        nl_opt_int success_threshold, failure_threshold;
        nl_opt_int termination_grace_period_seconds;
};

struct pod_lifecycle_handler {
        struct pod_exec_action *exec;
        struct pod_http_get_action *http_get;
        struct pod_tcp_socket_action *tcp_socket; /* deprecated upstream, accepted, not run */
        struct pod_sleep_action *sleep;
};

struct pod_lifecycle {
        struct pod_lifecycle_handler *post_start;
        struct pod_lifecycle_handler *pre_stop;
        char *stop_signal;
};

/* ---- security -------------------------------------------------------------------------- */

struct pod_capabilities {
        POD_ARRAY(char *, add);
        POD_ARRAY(char *, drop);
};

struct pod_se_linux_options {
        char *user, *role, *type, *level;
};

struct pod_seccomp_profile {
        char *type;
        char *localhost_profile;
};

struct pod_app_armor_profile {
        char *type;
        char *localhost_profile;
};

struct pod_sysctl {
        char *name, *value;
};

struct pod_security_context { /* container-level SecurityContext */
        struct pod_capabilities *capabilities;
        nl_opt_bool privileged;
        struct pod_se_linux_options *se_linux_options;
        json_t *windows_options;
        nl_opt_int run_as_user, run_as_group;
        nl_opt_bool run_as_non_root;
        nl_opt_bool read_only_root_filesystem;
        nl_opt_bool allow_privilege_escalation;
        char *proc_mount;
        struct pod_seccomp_profile *seccomp_profile;
        struct pod_app_armor_profile *app_armor_profile;
};

struct pod_pod_security_context {
        struct pod_se_linux_options *se_linux_options;
        json_t *windows_options;
        nl_opt_int run_as_user, run_as_group;
        nl_opt_bool run_as_non_root;
        POD_ARRAY(int64_t, supplemental_groups);
        char *supplemental_groups_policy;
        nl_opt_int fs_group;
        POD_ARRAY(struct pod_sysctl, sysctls);
        char *fs_group_change_policy;
        struct pod_seccomp_profile *seccomp_profile;
        struct pod_app_armor_profile *app_armor_profile;
        char *se_linux_change_policy;
};

/* ---- containers ------------------------------------------------------------------------- */

struct pod_container_port {
        char *name;
        nl_opt_int host_port;
        nl_opt_int container_port;
        char *protocol;
        char *host_ip;
};

struct pod_volume_mount {
        char *name;
        nl_opt_bool read_only;
        char *recursive_read_only;
        char *mount_path;
        char *sub_path;
        char *mount_propagation;
        char *sub_path_expr;
};

struct pod_container {
        char *name;
        char *image;
        POD_ARRAY(char *, command);
        POD_ARRAY(char *, args);
        char *working_dir;
        POD_ARRAY(struct pod_container_port, ports);
        POD_ARRAY(struct pod_env_from_source, env_from);
        POD_ARRAY(struct pod_env_var, env);
        struct pod_resource_requirements *resources;
        json_t *resize_policy;
        char *restart_policy; /* init containers only: "Always" makes a sidecar */
        POD_ARRAY(struct pod_volume_mount, volume_mounts);
        json_t *volume_devices;
        struct pod_probe *liveness_probe, *readiness_probe, *startup_probe;
        struct pod_lifecycle *lifecycle;
        char *termination_message_path;
        char *termination_message_policy;
        char *image_pull_policy;
        struct pod_security_context *security_context;
        nl_opt_bool stdin_, stdin_once, tty;
        /* ephemeral containers only (EphemeralContainer.targetContainerName): the container whose
         * PID namespace it joins; its other fields are EphemeralContainerCommon, which has the
         * Container's fields */
        char *target_container_name;
};

/* ---- volumes ---------------------------------------------------------------------------- */

struct pod_key_to_path {
        char *key, *path;
        nl_opt_int mode;
};

struct pod_host_path_volume {
        char *path;
        char *type; /* NULL and "" both mean no check */
};

struct pod_empty_dir_volume {
        char *medium;
        pod_quantity size_limit;
};

struct pod_secret_volume {
        char *secret_name;
        POD_ARRAY(struct pod_key_to_path, items);
        nl_opt_int default_mode;
        nl_opt_bool optional;
};

struct pod_config_map_volume {
        char *name;
        POD_ARRAY(struct pod_key_to_path, items);
        nl_opt_int default_mode;
        nl_opt_bool optional;
};

struct pod_downward_api_file {
        char *path;
        struct pod_object_field_selector *field_ref;
        struct pod_resource_field_selector *resource_field_ref;
        nl_opt_int mode;
};

struct pod_downward_api_volume {
        POD_ARRAY(struct pod_downward_api_file, items);
        nl_opt_int default_mode;
};

struct pod_secret_projection {
        char *name;
        POD_ARRAY(struct pod_key_to_path, items);
        nl_opt_bool optional;
};

struct pod_config_map_projection {
        char *name;
        POD_ARRAY(struct pod_key_to_path, items);
        nl_opt_bool optional;
};

struct pod_downward_api_projection {
        POD_ARRAY(struct pod_downward_api_file, items);
};

struct pod_service_account_token_projection {
        char *audience;
        nl_opt_int expiration_seconds;
        char *path;
};

struct pod_volume_projection {
        struct pod_secret_projection *secret;
        struct pod_config_map_projection *config_map;
        struct pod_downward_api_projection *downward_api;
        struct pod_service_account_token_projection *service_account_token;
        json_t *cluster_trust_bundle;
        json_t *pod_certificate;
};

struct pod_projected_volume {
        POD_ARRAY(struct pod_volume_projection, sources);
        nl_opt_int default_mode;
};

struct pod_other_volume_source {
        char *type; /* the field name, e.g. "nfs" */
        json_t *value;
};

struct pod_volume {
        char *name;
        struct pod_host_path_volume *host_path;
        struct pod_empty_dir_volume *empty_dir;
        struct pod_secret_volume *secret;
        struct pod_config_map_volume *config_map;
        struct pod_downward_api_volume *downward_api;
        struct pod_projected_volume *projected;
        /* Any other upstream volume source (nfs, persistentVolumeClaim, csi, ...): accepted as
         * the API server accepts it, kept as given; the node reports it unsupported. */
        POD_ARRAY(struct pod_other_volume_source, other);
};

/* ---- pod spec ------------------------------------------------------------------------- */

struct pod_local_object_reference {
        char *name;
};

struct pod_toleration {
        char *key, *operator_, *value, *effect;
        nl_opt_int toleration_seconds;
};

struct pod_host_alias {
        char *ip;
        POD_ARRAY(char *, hostnames);
};

struct pod_dns_config_option {
        char *name;
        char *value;
};

struct pod_dns_config {
        POD_ARRAY(char *, nameservers);
        POD_ARRAY(char *, searches);
        POD_ARRAY(struct pod_dns_config_option, options);
};

struct pod_readiness_gate {
        char *condition_type;
};

struct pod_os {
        char *name;
};

struct pod_spec {
        POD_ARRAY(struct pod_volume, volumes);
        POD_ARRAY(struct pod_container, init_containers);
        POD_ARRAY(struct pod_container, containers);
        POD_ARRAY(struct pod_container, ephemeral_containers); /* added through pods/ephemeralcontainers */
        char *restart_policy;
        nl_opt_int termination_grace_period_seconds;
        nl_opt_int active_deadline_seconds;
        char *dns_policy;
        POD_ARRAY(struct pod_kv, node_selector);
        char *service_account_name;
        char *service_account; /* deprecated alias of serviceAccountName */
        nl_opt_bool automount_service_account_token;
        char *node_name;
        nl_opt_bool host_network, host_pid, host_ipc;
        nl_opt_bool share_process_namespace;
        struct pod_pod_security_context *security_context;
        POD_ARRAY(struct pod_local_object_reference, image_pull_secrets);
        char *hostname;
        char *subdomain;
        char *hostname_override; /* *string: NULL when absent, "" is a value (and invalid) */
        json_t *affinity;
        char *scheduler_name;
        POD_ARRAY(struct pod_toleration, tolerations);
        POD_ARRAY(struct pod_host_alias, host_aliases);
        char *priority_class_name;
        nl_opt_int priority;
        struct pod_dns_config *dns_config;
        POD_ARRAY(struct pod_readiness_gate, readiness_gates);
        char *runtime_class_name;
        nl_opt_bool enable_service_links;
        char *preemption_policy;
        POD_ARRAY(struct pod_resource, overhead);
        json_t *topology_spread_constraints;
        nl_opt_bool set_hostname_as_fqdn;
        struct pod_os *os;
        nl_opt_bool host_users;
        json_t *scheduling_gates;
        json_t *resource_claims;
        struct pod_resource_requirements *resources; /* pod-level resources */
};

/* ---- pod status ------------------------------------------------------------------------ */

struct pod_condition {
        char *type, *status;
        nl_opt_int observed_generation;
        char *last_probe_time, *last_transition_time;
        char *reason, *message;
};

struct pod_container_state_waiting {
        char *reason, *message;
};

struct pod_container_state_running {
        char *started_at;
};

struct pod_container_state_terminated {
        nl_opt_int exit_code, signal;
        char *reason, *message;
        char *started_at, *finished_at;
        char *container_id;
};

struct pod_container_state {
        struct pod_container_state_waiting *waiting;
        struct pod_container_state_running *running;
        struct pod_container_state_terminated *terminated;
};

struct pod_container_status {
        char *name;
        struct pod_container_state *state;
        struct pod_container_state *last_state;
        nl_opt_bool ready;
        nl_opt_int restart_count;
        char *image, *image_id, *container_id;
        nl_opt_bool started;
        POD_ARRAY(struct pod_resource, allocated_resources);
        struct pod_resource_requirements *resources;
        json_t *user;
        json_t *volume_mounts;
        char *stop_signal;
};

struct pod_ip {
        char *ip;
};

struct pod_status {
        nl_opt_int observed_generation;
        char *phase;
        POD_ARRAY(struct pod_condition, conditions);
        char *message, *reason, *nominated_node_name;
        char *host_ip;
        POD_ARRAY(struct pod_ip, host_ips);
        char *pod_ip;
        POD_ARRAY(struct pod_ip, pod_ips);
        char *start_time;
        POD_ARRAY(struct pod_container_status, init_container_statuses);
        POD_ARRAY(struct pod_container_status, container_statuses);
        json_t *ephemeral_container_statuses;
        char *qos_class;
        char *resize;
        json_t *resource_claim_statuses;
};

struct pod {
        char *api_version, *kind;
        struct pod_object_meta metadata;
        struct pod_spec spec;
        struct pod_status status;
};

/* ---- decoding ------------------------------------------------------------------------- */

/* One field-level problem, in the API server's form: "<field>: <type>: <detail>". */
typedef enum pod_error_type {
        POD_ERROR_REQUIRED,      /* "Required value" */
        POD_ERROR_INVALID,       /* "Invalid value: <value>: <detail>" */
        POD_ERROR_NOT_SUPPORTED, /* "Unsupported value: <value>: supported values: ..." */
        POD_ERROR_DUPLICATE,     /* "Duplicate value: <value>" */
        POD_ERROR_FORBIDDEN,     /* "Forbidden: <detail>" */
        POD_ERROR_NOT_FOUND,     /* "Not found: <value>" */
        POD_ERROR_TOO_LONG,      /* "Too long: <detail>" */
        POD_ERROR_TOO_MANY,      /* "Too many: <n>: must have at most <m> items" */
        POD_ERROR_TYPE,          /* decoding: wrong JSON type for the field */
        POD_ERROR_UNKNOWN_FIELD, /* strict decoding only */
        POD_ERROR_SYNTAX,        /* the document did not parse */
        _POD_ERROR_TYPE_MAX,
        _POD_ERROR_TYPE_INVALID = -EINVAL,
} pod_error_type;

struct pod_field_error {
        pod_error_type type;
        char *field;   /* "spec.containers[0].ports[0].containerPort" */
        char *message; /* full line without the file prefix, e.g. "<field>: Invalid value: ..." */
};

typedef struct pod_error_list {
        POD_ARRAY(struct pod_field_error, items);
        bool truncated; /* more errors than PODSPEC_MAX_ERRORS were found */
} pod_error_list;

#define PODSPEC_MAX_ERRORS 1000

void pod_error_list_done(pod_error_list *l);
/* Add an error; `value` is the rendered value for Invalid/NotSupported/Duplicate/NotFound (already
 * quoted for strings, see pod_error_quote) or NULL. */
void pod_error_add(pod_error_list *l, pod_error_type type, const char *field, const char *value,
                   const char *detail_fmt, ...) _printf_(5, 6);

/* A parsed manifest file: every document / List item that was a Pod, plus what went wrong.
 * The decoders never stop at the first bad document: each document's errors carry its index. */
struct podspec_document {
        size_t index;     /* index among the stream's non-empty documents (0-based) */
        bool in_list;     /* an item of a List/PodList: its field paths start "items[<item>]." */
        size_t item;
        json_t *json;     /* the document/item as a JSON tree (owned) */
        struct pod *pod;  /* NULL when it did not decode */
        bool other_kind;  /* PODSPEC_PARSE_ANY_KIND: an object of another kind, not decoded */
        pod_error_list errors;   /* decode errors (type, syntax) */
        pod_error_list unknown;  /* unknown fields (for --strict) */
};

struct podspec_file {
        POD_ARRAY(struct podspec_document, documents);
        char *error; /* whole-file error (too large, YAML syntax before any document), or NULL */
};

/* YAML (one or more documents; JSON is YAML too, but JSON input goes through jansson) -> JSON
 * trees. Anchors and aliases are accepted but the expanded size is bounded by
 * PODSPEC_MAX_NODES; duplicate keys, non-scalar or null keys, tags other than the core ones,
 * and nesting deeper than PODSPEC_MAX_DEPTH are errors that name the line and column; scalar
 * keys become their text as sigs.k8s.io/yaml makes them (y -> "true", 0x10 -> "16"). Scalars
 * resolve as sigs.k8s.io/yaml does (YAML 1.1: yes/no/on/off are booleans, 0644 is octal).
 * Empty documents are skipped. On error returns -EINVAL with *ret_error set; documents parsed
 * before the error are still returned in *ret_docs. */
int podspec_yaml_to_json(const char *buf, size_t len, json_t **ret_docs, char **ret_error);

/* JSON tree -> YAML text (one document), strings quoted where a reader would resolve them to
 * another type. */
int podspec_json_to_yaml(const json_t *j, char **ret);

/* Parse a manifest buffer. Detects JSON (first non-space byte '{' or '[') vs YAML. Expands
 * kind List / PodList into its items. Never fails on bad content: it is reported in the result.
 * Returns -ENOMEM only. */
int podspec_parse(const char *buf, size_t len, struct podspec_file **ret);
/* The same; with PODSPEC_PARSE_ANY_KIND a document (or List item) that names a kind other than
 * Pod, and an apiVersion, is no error: it is kept as json with other_kind set and pod NULL (the
 * static-pod source dispatches it, see podspec/kinds.c). A PodList's items are Pods still. */
#define PODSPEC_PARSE_ANY_KIND 1U
int podspec_parse_flags(const char *buf, size_t len, unsigned flags, struct podspec_file **ret);
void podspec_file_free(struct podspec_file *f);

/* Decode one JSON object (kind Pod) into a struct pod. Type errors go to errors, unknown
 * fields to unknown (either may be NULL). Returns NULL only when nothing could be decoded. */
struct pod *pod_from_json(const json_t *j, pod_error_list *errors, pod_error_list *unknown);
/* Encode back to JSON as the API server would print it (omitting unset fields). */
json_t *pod_to_json(const struct pod *p);
struct pod *pod_copy(const struct pod *p);
void pod_free(struct pod *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct pod *, pod_free)

/* ---- defaults and validation ---------------------------------------------------------- */

/* Apply kube-apiserver's defaults (pkg/apis/core/v1/defaults.go) in place. -ENOMEM only. */
int pod_set_defaults(struct pod *p);

/* Validate like kube-apiserver on create (ValidatePodCreate): every error is collected. */
void pod_validate(const struct pod *p, pod_error_list *errors);

/* ---- names and values ----------------------------------------------------------------- */

/* Rendered value for error messages: strings as Go's %q. Caller frees. */
char *pod_error_quote(const char *s);

/* NULL when s is a qualified name (a label or taint key) / a label value, else the API's
 * first message about it (a static string). */
const char *podspec_qualified_name_error(const char *s);
const char *podspec_label_value_error(const char *s);
bool podspec_is_dns1123_label(const char *s);
bool podspec_is_dns1123_subdomain(const char *s);

/* ---- static pods ---------------------------------------------------------------------- */

/* A pod UID nodelet may use as a directory name (<root>/pods/<uid>, log dirs): 1 to 128 of
 * [A-Za-z0-9._-], not "." or "..". The API server's UIDs (UUIDs) and the static pods' (hex) are;
 * a manifest's own metadata.uid must be (the kubelet would take any string). */
bool pod_uid_is_path_safe(const char *uid);

/* The kubelet's static-pod rules (pkg/kubelet/config/common.go): name "<name>-<node>",
 * namespace "default" when empty, UID = md5(node name, file path, content) unless set,
 * annotation kubernetes.io/config.hash = UID, kubernetes.io/config.source = "file",
 * toleration for all NoExecute taints (operator Exists, effect NoExecute), spec.nodeName = node.
 * kubernetes.io/config.seen is a timestamp the agent adds when it reads the file. */
int pod_apply_static_rules(struct pod *p, const char *node_name, const char *source_path,
                           const char *content, size_t content_len, nl_error *err);

/* ---- expansion ------------------------------------------------------------------------ */

/* Expand $(VAR) references as the kubelet's expansion package does: $(NAME) from lookup,
 * unresolved references kept literally, $$ an escaped '$'. Returns malloc'ed string. */
typedef const char *(*podspec_lookup_fn)(const char *name, void *userdata);
char *podspec_expand(const char *in, podspec_lookup_fn lookup, void *userdata);

/* The kubelet's container hash (its name and image): a running container whose recorded hash
 * differs from its spec's is restarted. */
uint32_t pod_container_hash(const struct pod_container *c);

/* Kubelet's QoS class of a pod: "Guaranteed", "Burstable" or "BestEffort". */
const char *pod_qos_class(const struct pod *p);

/* ---- manifest kinds (podspec/kinds.c) -------------------------------------------------- */

/* The kinds static mode runs or keeps; everything else is MANIFEST_OTHER (skipped with a
 * warning). Matched on apiVersion and kind together: apps/v1 Deployment, batch/v1 Job, ... */
enum manifest_kind {
        MANIFEST_POD,
        MANIFEST_CONFIGMAP,
        MANIFEST_SECRET,
        MANIFEST_PVC,
        MANIFEST_DEPLOYMENT,
        MANIFEST_REPLICASET,
        MANIFEST_DAEMONSET,
        MANIFEST_STATEFULSET,
        MANIFEST_JOB,
        MANIFEST_CRONJOB,
        _MANIFEST_KIND_MAX,
        MANIFEST_OTHER = -1,
};
enum manifest_kind manifest_kind_of(const char *api_version, const char *kind);
const char *manifest_kind_name(enum manifest_kind k);
/* The API server's create checks for a ConfigMap, Secret or PersistentVolumeClaim: name,
 * namespace, keys (IsConfigMapKey), base64 data, the 1 MiB data limit. Field paths start with
 * prefix ("" or "items[N]"). */
void manifest_validate_object(enum manifest_kind k, const json_t *obj, const char *prefix, pod_error_list *errors);
/* The object as the API server would store it: namespace "default" when unset; a Secret's
 * stringData merged into data (base64) and type Opaque by default. */
int manifest_object_normalize(enum manifest_kind k, const json_t *obj, json_t **ret);

/* ---- workloads (podspec/workloads.c, podspec/cron.c) ----------------------------------- */

/* A CronJob schedule: bit n set for each value n that matches. */
struct cron {
        uint64_t minutes, hours, days_of_month, months, days_of_week;
        bool day_or; /* both day fields restricted: either matches (cron's rule) */
        bool dom_star, dow_star;
};
/* "m h dom mon dow" with lists, ranges, steps, names; @yearly @monthly @weekly @daily
 * @midnight @hourly. -EINVAL when it does not parse. */
int cron_parse(const char *expr, struct cron *ret);
/* The first matching minute after `after`, in the process's local time zone (TZ); 0 when none
 * within five years. */
time_t cron_next(const struct cron *c, time_t after);

#define WORKLOAD_HASH_LEN 10
#define WORKLOAD_ANNOTATION "nodelet.io/workload" /* "<Kind>/<name>" on each pod it makes */

enum workload_concurrency { WORKLOAD_CONCURRENCY_ALLOW, WORKLOAD_CONCURRENCY_FORBID, WORKLOAD_CONCURRENCY_REPLACE };

/* What the static-mode controller needs of a Deployment, ReplicaSet, DaemonSet, StatefulSet,
 * Job or CronJob, with the API server's defaults applied. */
struct workload_spec {
        enum manifest_kind kind;
        char *name, *namespace;
        json_t *object;   /* the document */
        json_t *template; /* the pod template ({metadata, spec}); a CronJob's Job's */
        char hash[WORKLOAD_HASH_LEN + 1]; /* of the template: pod-template-hash */
        int replicas;     /* Deployment, ReplicaSet, StatefulSet (default 1); 1 for the others */
        int max_surge, max_unavailable; /* Deployment RollingUpdate, resolved against replicas */
        bool recreate;    /* Deployment strategy Recreate */
        bool parallel;    /* StatefulSet podManagementPolicy Parallel */
        char **claims;    /* StatefulSet volumeClaimTemplates' names */
        size_t n_claims;
        int completions, parallelism, backoff_limit; /* Job, a CronJob's Jobs */
        struct cron cron;                            /* CronJob */
        int concurrency;                             /* enum workload_concurrency */
        bool suspend;
        int successful_history, failed_history;
};
/* Read and check one workload document (kind k). Problems go to errors (field paths after
 * prefix) and give *ret NULL. -ENOMEM only. */
int workload_spec_parse(enum manifest_kind k, const json_t *obj, const char *prefix, struct workload_spec **ret,
                        pod_error_list *errors);
void workload_spec_free(struct workload_spec *w);
/* workload_spec_parse's checks and the pod template's as a static Pod on node_name (its errors
 * prefixed "spec.template."). -ENOMEM only. */
int workload_validate(enum manifest_kind k, const json_t *obj, const char *prefix, const char *node_name,
                      pod_error_list *errs);
/* The pod names, documented in docs/agent.md: Deployment "<name>-<hash>-<n>", ReplicaSet and
 * StatefulSet "<name>-<n>", DaemonSet "<name>", a Job's "<job>-<n>" (n counts its pods). The
 * static-pod rule then appends "-<node>". */
char *workload_pod_name(const struct workload_spec *w, const char *hash, unsigned index);
/* The pod (JSON, kind Pod) for index n (a Job's: of job_name, NULL for the Job itself):
 * the template with the name, namespace, the controllers' labels, the nodelet.io/workload
 * annotation; persistentVolumeClaim volumes and a StatefulSet's claim templates become
 * hostPath volumes on <claims_dir>/<claim> (DirectoryOrCreate). */
json_t *workload_pod_json(const struct workload_spec *w, unsigned index, const char *job_name, const char *claims_dir);
/* persistentVolumeClaim volumes of a pod spec (JSON) -> hostPath <claims_dir>/<claimName>. */
int workload_claims_to_host_paths(json_t *pod_spec, const char *claims_dir);
