/* SPDX-License-Identifier: Apache-2.0 */
/* The v1 Pod schema as tables: JSON field name -> C member. Field names and types follow
 * k8s.io/api/core/v1 (types.go); int32 fields are FK_INT32 so out-of-range values fail to
 * decode as they do for Go. The tables are ordered as the Go structs, which is the order the
 * API server prints fields in. */
#include <stddef.h>

#include "internal.h"

#define FS(js, m) { js, FK_STRING, offsetof(T, m), 0, NULL }
#define FI(js, m) { js, FK_INT, offsetof(T, m), 0, NULL }
#define FI32(js, m) { js, FK_INT32, offsetof(T, m), 0, NULL }
#define FB(js, m) { js, FK_BOOL, offsetof(T, m), 0, NULL }
#define FQ(js, m) { js, FK_QUANTITY, offsetof(T, m), 0, NULL }
#define FIOS(js, m) { js, FK_INT_OR_STRING, offsetof(T, m), 0, NULL }
#define FRAW(js, m) { js, FK_RAW, offsetof(T, m), 0, NULL }
#define FSL(js, m) { js, FK_STRING_LIST, offsetof(T, m), offsetof(T, n_##m), NULL }
#define FIL(js, m) { js, FK_INT64_LIST, offsetof(T, m), offsetof(T, n_##m), NULL }
#define FSM(js, m) { js, FK_STRING_MAP, offsetof(T, m), offsetof(T, n_##m), NULL }
#define FRM(js, m) { js, FK_RESOURCE_MAP, offsetof(T, m), offsetof(T, n_##m), NULL }
#define FO(js, m, d) { js, FK_OBJECT, offsetof(T, m), 0, &d }
#define FE(js, m, d) { js, FK_EMBED, offsetof(T, m), 0, &d }
#define FOL(js, m, d) { js, FK_OBJECT_LIST, offsetof(T, m), offsetof(T, n_##m), &d }

#define TYPE_EXTRA(var, take, fr, enc, ...)                                                        \
        static const struct field_desc var##_fields[] = { __VA_ARGS__ };                           \
        static const struct type_desc var = { #var, sizeof(T), var##_fields, ELEMENTSOF(var##_fields), \
                                              take, fr, enc }
#define TYPE(var, ...) TYPE_EXTRA(var, NULL, NULL, NULL, __VA_ARGS__)

/* ---- metadata ---- */
#define T struct pod_owner_reference
TYPE(owner_reference_desc, FS("apiVersion", api_version), FS("kind", kind), FS("name", name), FS("uid", uid),
     FB("controller", controller), FB("blockOwnerDeletion", block_owner_deletion));
#undef T

/* Server-owned metadata the node neither needs nor echoes back. */
static bool object_meta_take_unknown(void *obj, const char *key, json_t *value) {
        return streq(key, "managedFields") || streq(key, "selfLink");
}

#define T struct pod_object_meta
TYPE_EXTRA(object_meta_desc, object_meta_take_unknown, NULL, NULL, FS("name", name), FS("generateName", generate_name), FS("namespace", namespace),
     FS("uid", uid), FS("resourceVersion", resource_version), FI("generation", generation),
     FS("creationTimestamp", creation_timestamp), FS("deletionTimestamp", deletion_timestamp),
     FI("deletionGracePeriodSeconds", deletion_grace_period_seconds), FSM("labels", labels),
     FSM("annotations", annotations), FOL("ownerReferences", owner_references, owner_reference_desc),
     FSL("finalizers", finalizers));
#undef T

/* ---- env, resources ---- */
#define T struct pod_object_field_selector
TYPE(object_field_selector_desc, FS("apiVersion", api_version), FS("fieldPath", field_path));
#undef T

#define T struct pod_resource_field_selector
TYPE(resource_field_selector_desc, FS("containerName", container_name), FS("resource", resource),
     FQ("divisor", divisor));
#undef T

#define T struct pod_key_selector
TYPE(key_selector_desc, FS("name", name), FS("key", key), FB("optional", optional));
#undef T

#define T struct pod_env_var_source
TYPE(env_var_source_desc, FO("fieldRef", field_ref, object_field_selector_desc),
     FO("resourceFieldRef", resource_field_ref, resource_field_selector_desc),
     FO("configMapKeyRef", config_map_key_ref, key_selector_desc),
     FO("secretKeyRef", secret_key_ref, key_selector_desc));
#undef T

#define T struct pod_env_var
TYPE(env_var_desc, FS("name", name), FS("value", value), FO("valueFrom", value_from, env_var_source_desc));
#undef T

#define T struct pod_local_ref_optional
TYPE(local_ref_optional_desc, FS("name", name), FB("optional", optional));
#undef T

#define T struct pod_env_from_source
TYPE(env_from_source_desc, FS("prefix", prefix), FO("configMapRef", config_map_ref, local_ref_optional_desc),
     FO("secretRef", secret_ref, local_ref_optional_desc));
#undef T

#define T struct pod_resource_requirements
TYPE(resource_requirements_desc, FRM("limits", limits), FRM("requests", requests), FRAW("claims", claims));
#undef T

/* ---- probes and hooks ---- */
#define T struct pod_exec_action
TYPE(exec_action_desc, FSL("command", command));
#undef T

#define T struct pod_http_header
TYPE(http_header_desc, FS("name", name), FS("value", value));
#undef T

#define T struct pod_http_get_action
TYPE(http_get_action_desc, FS("path", path), FIOS("port", port), FS("host", host), FS("scheme", scheme),
     FOL("httpHeaders", http_headers, http_header_desc));
#undef T

#define T struct pod_tcp_socket_action
TYPE(tcp_socket_action_desc, FIOS("port", port), FS("host", host));
#undef T

#define T struct pod_grpc_action
TYPE(grpc_action_desc, FI32("port", port), FS("service", service));
#undef T

#define T struct pod_sleep_action
TYPE(sleep_action_desc, FI("seconds", seconds));
#undef T

#define T struct pod_probe
TYPE(probe_desc, FO("exec", exec, exec_action_desc), FO("httpGet", http_get, http_get_action_desc),
     FO("tcpSocket", tcp_socket, tcp_socket_action_desc), FO("grpc", grpc, grpc_action_desc),
     FI32("initialDelaySeconds", initial_delay_seconds), FI32("timeoutSeconds", timeout_seconds),
     FI32("periodSeconds", period_seconds), FI32("successThreshold", success_threshold),
     FI32("failureThreshold", failure_threshold),
     FI("terminationGracePeriodSeconds", termination_grace_period_seconds));
#undef T

#define T struct pod_lifecycle_handler
TYPE(lifecycle_handler_desc, FO("exec", exec, exec_action_desc), FO("httpGet", http_get, http_get_action_desc),
     FO("tcpSocket", tcp_socket, tcp_socket_action_desc), FO("sleep", sleep, sleep_action_desc));
#undef T

#define T struct pod_lifecycle
TYPE(lifecycle_desc, FO("postStart", post_start, lifecycle_handler_desc),
     FO("preStop", pre_stop, lifecycle_handler_desc), FS("stopSignal", stop_signal));
#undef T

/* ---- security ---- */
#define T struct pod_capabilities
TYPE(capabilities_desc, FSL("add", add), FSL("drop", drop));
#undef T

#define T struct pod_se_linux_options
TYPE(se_linux_options_desc, FS("user", user), FS("role", role), FS("type", type), FS("level", level));
#undef T

#define T struct pod_seccomp_profile
TYPE(seccomp_profile_desc, FS("type", type), FS("localhostProfile", localhost_profile));
#undef T

#define T struct pod_app_armor_profile
TYPE(app_armor_profile_desc, FS("type", type), FS("localhostProfile", localhost_profile));
#undef T

#define T struct pod_sysctl
TYPE(sysctl_desc, FS("name", name), FS("value", value));
#undef T

#define T struct pod_security_context
TYPE(security_context_desc, FO("capabilities", capabilities, capabilities_desc), FB("privileged", privileged),
     FO("seLinuxOptions", se_linux_options, se_linux_options_desc), FRAW("windowsOptions", windows_options),
     FI("runAsUser", run_as_user), FI("runAsGroup", run_as_group), FB("runAsNonRoot", run_as_non_root),
     FB("readOnlyRootFilesystem", read_only_root_filesystem),
     FB("allowPrivilegeEscalation", allow_privilege_escalation), FS("procMount", proc_mount),
     FO("seccompProfile", seccomp_profile, seccomp_profile_desc),
     FO("appArmorProfile", app_armor_profile, app_armor_profile_desc));
#undef T

#define T struct pod_pod_security_context
TYPE(pod_security_context_desc, FO("seLinuxOptions", se_linux_options, se_linux_options_desc),
     FRAW("windowsOptions", windows_options), FI("runAsUser", run_as_user), FI("runAsGroup", run_as_group),
     FB("runAsNonRoot", run_as_non_root), FIL("supplementalGroups", supplemental_groups),
     FS("supplementalGroupsPolicy", supplemental_groups_policy), FI("fsGroup", fs_group),
     FOL("sysctls", sysctls, sysctl_desc), FS("fsGroupChangePolicy", fs_group_change_policy),
     FO("seccompProfile", seccomp_profile, seccomp_profile_desc),
     FO("appArmorProfile", app_armor_profile, app_armor_profile_desc),
     FS("seLinuxChangePolicy", se_linux_change_policy));
#undef T

/* ---- containers ---- */
#define T struct pod_container_port
TYPE(container_port_desc, FS("name", name), FI32("hostPort", host_port), FI32("containerPort", container_port),
     FS("protocol", protocol), FS("hostIP", host_ip));
#undef T

#define T struct pod_volume_mount
TYPE(volume_mount_desc, FS("name", name), FB("readOnly", read_only), FS("recursiveReadOnly", recursive_read_only),
     FS("mountPath", mount_path), FS("subPath", sub_path), FS("mountPropagation", mount_propagation),
     FS("subPathExpr", sub_path_expr));
#undef T

#define T struct pod_container
/* EphemeralContainerCommon has exactly the Container's fields; an EphemeralContainer adds
 * targetContainerName (a regular container with that field is an unknown field under --strict) */
#define CONTAINER_FIELDS FS("name", name), FS("image", image), FSL("command", command), FSL("args", args), \
     FS("workingDir", working_dir), FOL("ports", ports, container_port_desc), \
     FOL("envFrom", env_from, env_from_source_desc), FOL("env", env, env_var_desc), \
     FO("resources", resources, resource_requirements_desc), FRAW("resizePolicy", resize_policy), \
     FS("restartPolicy", restart_policy), FOL("volumeMounts", volume_mounts, volume_mount_desc), \
     FRAW("volumeDevices", volume_devices), FO("livenessProbe", liveness_probe, probe_desc), \
     FO("readinessProbe", readiness_probe, probe_desc), FO("startupProbe", startup_probe, probe_desc), \
     FO("lifecycle", lifecycle, lifecycle_desc), FS("terminationMessagePath", termination_message_path), \
     FS("terminationMessagePolicy", termination_message_policy), FS("imagePullPolicy", image_pull_policy), \
     FO("securityContext", security_context, security_context_desc), FB("stdin", stdin_), \
     FB("stdinOnce", stdin_once), FB("tty", tty)
TYPE(container_desc, CONTAINER_FIELDS);
TYPE(ephemeral_container_desc, CONTAINER_FIELDS, FS("targetContainerName", target_container_name));
#undef CONTAINER_FIELDS
#undef T

/* ---- volumes ---- */
#define T struct pod_key_to_path
TYPE(key_to_path_desc, FS("key", key), FS("path", path), FI32("mode", mode));
#undef T

#define T struct pod_host_path_volume
TYPE(host_path_desc, FS("path", path), FS("type", type));
#undef T

#define T struct pod_empty_dir_volume
TYPE(empty_dir_desc, FS("medium", medium), FQ("sizeLimit", size_limit));
#undef T

#define T struct pod_secret_volume
TYPE(secret_volume_desc, FS("secretName", secret_name), FOL("items", items, key_to_path_desc),
     FI32("defaultMode", default_mode), FB("optional", optional));
#undef T

#define T struct pod_config_map_volume
TYPE(config_map_volume_desc, FS("name", name), FOL("items", items, key_to_path_desc),
     FI32("defaultMode", default_mode), FB("optional", optional));
#undef T

#define T struct pod_downward_api_file
TYPE(downward_api_file_desc, FS("path", path), FO("fieldRef", field_ref, object_field_selector_desc),
     FO("resourceFieldRef", resource_field_ref, resource_field_selector_desc), FI32("mode", mode));
#undef T

#define T struct pod_downward_api_volume
TYPE(downward_api_volume_desc, FOL("items", items, downward_api_file_desc), FI32("defaultMode", default_mode));
#undef T

#define T struct pod_secret_projection
TYPE(secret_projection_desc, FS("name", name), FOL("items", items, key_to_path_desc), FB("optional", optional));
#undef T

#define T struct pod_config_map_projection
TYPE(config_map_projection_desc, FS("name", name), FOL("items", items, key_to_path_desc),
     FB("optional", optional));
#undef T

#define T struct pod_downward_api_projection
TYPE(downward_api_projection_desc, FOL("items", items, downward_api_file_desc));
#undef T

#define T struct pod_service_account_token_projection
TYPE(service_account_token_desc, FS("audience", audience), FI("expirationSeconds", expiration_seconds),
     FS("path", path));
#undef T

#define T struct pod_volume_projection
TYPE(volume_projection_desc, FO("secret", secret, secret_projection_desc),
     FO("configMap", config_map, config_map_projection_desc),
     FO("downwardAPI", downward_api, downward_api_projection_desc),
     FO("serviceAccountToken", service_account_token, service_account_token_desc),
     FRAW("clusterTrustBundle", cluster_trust_bundle), FRAW("podCertificate", pod_certificate));
#undef T

#define T struct pod_projected_volume
TYPE(projected_volume_desc, FOL("sources", sources, volume_projection_desc), FI32("defaultMode", default_mode));
#undef T

/* Volume sources of k8s.io/api/core/v1 VolumeSource that the node does not implement: kept
 * raw, so decoding accepts what the API server accepts and the runtime can name the type. */
static const char *const other_volume_sources[] = {
        "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "nfs", "iscsi", "glusterfs",
        "persistentVolumeClaim", "rbd", "flexVolume", "cinder", "cephfs", "flocker", "fc", "azureFile",
        "vsphereVolume", "quobyte", "azureDisk", "photonPersistentDisk", "portworxVolume", "scaleIO",
        "storageos", "csi", "ephemeral", "image",
};

bool podspec_is_volume_source_name(const char *key) {
        static const char *const implemented[] = { "hostPath", "emptyDir", "secret", "configMap", "downwardAPI",
                                                   "projected" };
        for (size_t i = 0; i < ELEMENTSOF(implemented); i++)
                if (streq(key, implemented[i]))
                        return true;
        for (size_t i = 0; i < ELEMENTSOF(other_volume_sources); i++)
                if (streq(key, other_volume_sources[i]))
                        return true;
        return false;
}

static bool volume_take_unknown(void *obj, const char *key, json_t *value) {
        struct pod_volume *v = obj;
        bool known = false;
        for (size_t i = 0; i < ELEMENTSOF(other_volume_sources); i++)
                if (streq(key, other_volume_sources[i]))
                        known = true;
        if (!known)
                return false;
        if (json_is_null(value))
                return true;
        struct pod_other_volume_source *n = realloc(v->other, (v->n_other + 1) * sizeof(*n));
        if (!n)
                return true;
        v->other = n;
        v->other[v->n_other] = (struct pod_other_volume_source){ strdup(key), json_deep_copy(value) };
        v->n_other++;
        return true;
}

static void volume_free_extra(void *obj) {
        struct pod_volume *v = obj;
        for (size_t i = 0; i < v->n_other; i++) {
                free(v->other[i].type);
                json_decref(v->other[i].value);
        }
        free(v->other);
}

static int volume_encode_extra(const void *obj, json_t *out) {
        const struct pod_volume *v = obj;
        for (size_t i = 0; i < v->n_other; i++)
                if (v->other[i].type && v->other[i].value)
                        json_object_set(out, v->other[i].type, v->other[i].value);
        return 0;
}

#define T struct pod_volume
TYPE_EXTRA(volume_desc, volume_take_unknown, volume_free_extra, volume_encode_extra, FS("name", name),
           FO("hostPath", host_path, host_path_desc), FO("emptyDir", empty_dir, empty_dir_desc),
           FO("secret", secret, secret_volume_desc), FO("configMap", config_map, config_map_volume_desc),
           FO("downwardAPI", downward_api, downward_api_volume_desc),
           FO("projected", projected, projected_volume_desc));
#undef T

/* ---- pod spec ---- */
#define T struct pod_local_object_reference
TYPE(local_object_reference_desc, FS("name", name));
#undef T

#define T struct pod_toleration
TYPE(toleration_desc, FS("key", key), FS("operator", operator_), FS("value", value), FS("effect", effect),
     FI("tolerationSeconds", toleration_seconds));
#undef T

#define T struct pod_host_alias
TYPE(host_alias_desc, FS("ip", ip), FSL("hostnames", hostnames));
#undef T

#define T struct pod_dns_config_option
TYPE(dns_config_option_desc, FS("name", name), FS("value", value));
#undef T

#define T struct pod_dns_config
TYPE(dns_config_desc, FSL("nameservers", nameservers), FSL("searches", searches),
     FOL("options", options, dns_config_option_desc));
#undef T

#define T struct pod_readiness_gate
TYPE(readiness_gate_desc, FS("conditionType", condition_type));
#undef T

#define T struct pod_os
TYPE(os_desc, FS("name", name));
#undef T

#define T struct pod_spec
TYPE(pod_spec_desc, FOL("volumes", volumes, volume_desc), FOL("initContainers", init_containers, container_desc),
     FOL("containers", containers, container_desc), FOL("ephemeralContainers", ephemeral_containers, ephemeral_container_desc),
     FS("restartPolicy", restart_policy), FI("terminationGracePeriodSeconds", termination_grace_period_seconds),
     FI("activeDeadlineSeconds", active_deadline_seconds), FS("dnsPolicy", dns_policy),
     FSM("nodeSelector", node_selector), FS("serviceAccountName", service_account_name),
     FS("serviceAccount", service_account), FB("automountServiceAccountToken", automount_service_account_token),
     FS("nodeName", node_name), FB("hostNetwork", host_network), FB("hostPID", host_pid), FB("hostIPC", host_ipc),
     FB("shareProcessNamespace", share_process_namespace),
     FO("securityContext", security_context, pod_security_context_desc),
     FOL("imagePullSecrets", image_pull_secrets, local_object_reference_desc), FS("hostname", hostname),
     FS("subdomain", subdomain), FRAW("affinity", affinity), FS("schedulerName", scheduler_name),
     FOL("tolerations", tolerations, toleration_desc), FOL("hostAliases", host_aliases, host_alias_desc),
     FS("priorityClassName", priority_class_name), FI32("priority", priority),
     FO("dnsConfig", dns_config, dns_config_desc), FOL("readinessGates", readiness_gates, readiness_gate_desc),
     FS("runtimeClassName", runtime_class_name), FB("enableServiceLinks", enable_service_links),
     FS("preemptionPolicy", preemption_policy), FRM("overhead", overhead),
     FRAW("topologySpreadConstraints", topology_spread_constraints),
     FB("setHostnameAsFQDN", set_hostname_as_fqdn), FO("os", os, os_desc), FB("hostUsers", host_users),
     FRAW("schedulingGates", scheduling_gates), FRAW("resourceClaims", resource_claims),
     FO("resources", resources, resource_requirements_desc), FS("hostnameOverride", hostname_override));
#undef T

/* ---- status ---- */
#define T struct pod_condition
TYPE(condition_desc, FS("type", type), FI("observedGeneration", observed_generation), FS("status", status),
     FS("lastProbeTime", last_probe_time), FS("lastTransitionTime", last_transition_time), FS("reason", reason),
     FS("message", message));
#undef T

#define T struct pod_container_state_waiting
TYPE(state_waiting_desc, FS("reason", reason), FS("message", message));
#undef T

#define T struct pod_container_state_running
TYPE(state_running_desc, FS("startedAt", started_at));
#undef T

#define T struct pod_container_state_terminated
TYPE(state_terminated_desc, FI32("exitCode", exit_code), FI32("signal", signal), FS("reason", reason),
     FS("message", message), FS("startedAt", started_at), FS("finishedAt", finished_at),
     FS("containerID", container_id));
#undef T

#define T struct pod_container_state
TYPE(container_state_desc, FO("waiting", waiting, state_waiting_desc),
     FO("running", running, state_running_desc), FO("terminated", terminated, state_terminated_desc));
#undef T

#define T struct pod_container_status
TYPE(container_status_desc, FS("name", name), FO("state", state, container_state_desc),
     FO("lastState", last_state, container_state_desc), FB("ready", ready), FI32("restartCount", restart_count),
     FS("image", image), FS("imageID", image_id), FS("containerID", container_id), FB("started", started),
     FRM("allocatedResources", allocated_resources), FO("resources", resources, resource_requirements_desc),
     FRAW("user", user), FRAW("volumeMounts", volume_mounts), FS("stopSignal", stop_signal));
#undef T

#define T struct pod_ip
TYPE(pod_ip_desc, FS("ip", ip));
#undef T

#define T struct pod_status
TYPE(pod_status_desc, FI("observedGeneration", observed_generation), FS("phase", phase),
     FOL("conditions", conditions, condition_desc), FS("message", message), FS("reason", reason),
     FS("nominatedNodeName", nominated_node_name), FS("hostIP", host_ip), FOL("hostIPs", host_ips, pod_ip_desc),
     FS("podIP", pod_ip), FOL("podIPs", pod_ips, pod_ip_desc), FS("startTime", start_time),
     FOL("initContainerStatuses", init_container_statuses, container_status_desc),
     FOL("containerStatuses", container_statuses, container_status_desc),
     FRAW("ephemeralContainerStatuses", ephemeral_container_statuses), FS("qosClass", qos_class),
     FS("resize", resize), FRAW("resourceClaimStatuses", resource_claim_statuses));
#undef T

#define T struct pod
static const struct field_desc pod_fields[] = {
        FS("apiVersion", api_version),
        FS("kind", kind),
        FE("metadata", metadata, object_meta_desc),
        FE("spec", spec, pod_spec_desc),
        FE("status", status, pod_status_desc),
};
const struct type_desc pod_type_desc = { "pod", sizeof(T), pod_fields, ELEMENTSOF(pod_fields), NULL, NULL, NULL };
#undef T
