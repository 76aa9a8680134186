/* SPDX-License-Identifier: Apache-2.0 */
/* Pod validation: containers (env, resources, ports, probes and lifecycle hooks). */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>

#include "validate-internal.h"

static const char *const ENV_FIELD_PATHS[] = { "metadata.name", "metadata.namespace", "metadata.uid",
                                               "spec.nodeName", "spec.serviceAccountName", "status.hostIP",
                                               "status.hostIPs", "status.podIP", "status.podIPs", NULL };

/* ---- env ---------------------------------------------------------------------------------- */

static void validate_env(V *v, const struct pod_container *c) {
        for (size_t i = 0; i < c->n_env; i++) {
                const struct pod_env_var *e = &c->env[i];
                size_t o = vpush(v, "env[%zu]", i);
                if (isempty(e->name))
                        verr(v, POD_ERROR_REQUIRED, "name", NULL);
                else
                        check_name(v, "name", e->name, names_env_var_name);
                if (e->value_from) {
                        const struct pod_env_var_source *s = e->value_from;
                        size_t o2 = vpush(v, "valueFrom");
                        int n = !!s->field_ref + !!s->resource_field_ref + !!s->config_map_key_ref +
                                !!s->secret_key_ref;
                        if (s->field_ref)
                                validate_field_selector(v, s->field_ref, ENV_FIELD_PATHS);
                        if (s->resource_field_ref)
                                validate_resource_field_selector(v, s->resource_field_ref, false);
                        if (s->config_map_key_ref)
                                validate_key_selector(v, "configMapKeyRef", s->config_map_key_ref);
                        if (s->secret_key_ref)
                                validate_key_selector(v, "secretKeyRef", s->secret_key_ref);
                        if (n == 0)
                                verr_str(v, POD_ERROR_INVALID, NULL, "",
                                         "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` "
                                         "or `secretKeyRef`");
                        else if (!isempty(e->value))
                                verr_str(v, POD_ERROR_INVALID, NULL, "",
                                         "may not be specified when `value` is not empty");
                        else if (n > 1)
                                verr_str(v, POD_ERROR_INVALID, NULL, "",
                                         "may not have more than one field specified at a time");
                        vpop(v, o2);
                }
                vpop(v, o);
        }

        for (size_t i = 0; i < c->n_env_from; i++) {
                const struct pod_env_from_source *e = &c->env_from[i];
                size_t o = vpush(v, "envFrom[%zu]", i);
                if (e->prefix && *e->prefix)
                        check_name(v, "prefix", e->prefix, names_env_var_name);
                int n = !!e->config_map_ref + !!e->secret_ref;
                const struct pod_local_ref_optional *refs[] = { e->config_map_ref, e->secret_ref };
                const char *ref_names[] = { "configMapRef", "secretRef" };
                for (size_t k = 0; k < 2; k++) {
                        if (!refs[k])
                                continue;
                        size_t o2 = vpush(v, "%s", ref_names[k]);
                        if (isempty(refs[k]->name))
                                verr(v, POD_ERROR_REQUIRED, "name", NULL);
                        else
                                check_name(v, "name", refs[k]->name, names_dns1123_subdomain);
                        vpop(v, o2);
                }
                vpop(v, o);
                /* upstream reports the source count at the list's path */
                size_t o3 = vpush(v, "envFrom");
                if (n == 0)
                        verr_str(v, POD_ERROR_INVALID, NULL, "", "must specify one of: `configMapRef` or `secretRef`");
                else if (n > 1)
                        verr_str(v, POD_ERROR_INVALID, NULL, "", "may not have more than one field specified at a time");
                vpop(v, o3);
        }
}

/* ---- resources --------------------------------------------------------------------------- */

static bool is_native_resource(const char *name) {
        return !strchr(name, '/') || strstr(name, "kubernetes.io/") != NULL;
}

static bool is_standard_container_resource(const char *name) {
        return streq(name, "cpu") || streq(name, "memory") || streq(name, "ephemeral-storage") ||
               strncmp(name, "hugepages-", 10) == 0;
}

/* Resources that may be overcommitted (request < limit): cpu, memory, ephemeral-storage. */
static bool is_overcommit_allowed(const char *name) {
        return streq(name, "cpu") || streq(name, "memory") || streq(name, "ephemeral-storage");
}

void validate_resource_name(V *v, const char *child, const char *name) {
        const char *msgs[NAMES_MAX_MSGS];
        size_t n = names_qualified_name(name, msgs);
        /* ResourceName values print unquoted (the type has a String method). */
        for (size_t i = 0; i < n; i++)
                verr_v(v, POD_ERROR_INVALID, child, name, msgs[i]);
        if (n > 0)
                return;
        if (!strchr(name, '/')) {
                if (!is_standard_container_resource(name)) {
                        verr_v(v, POD_ERROR_INVALID, child, name, "must be a standard resource type or fully qualified");
                        verr_v(v, POD_ERROR_INVALID, child, name, "must be a standard resource for containers");
                }
        } else if (!is_native_resource(name) && (strncmp(name, "requests.", 9) == 0))
                verr_v(v, POD_ERROR_INVALID, child, name, "doesn't follow extended resource name standard");
}

static void validate_resource_list(V *v, const char *list, const struct pod_resource *r, size_t n) {
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *child = nl_strdupf("%s[%s]", list, r[i].name);
                validate_resource_name(v, child, r[i].name);
                if (pod_quantity_is_negative(&r[i].q)) {
                        _cleanup_free_ char *s = pod_quantity_format(&r[i].q);
                        verr_str(v, POD_ERROR_INVALID, child, strempty(s), "must be greater than or equal to 0");
                } else if (!is_native_resource(r[i].name) && pod_quantity_milli_value(&r[i].q) % 1000 != 0) {
                        _cleanup_free_ char *s = pod_quantity_format(&r[i].q);
                        verr_v(v, POD_ERROR_INVALID, child, s, "must be an integer");
                }
        }
}

static const struct pod_resource *find_resource(const struct pod_resource *r, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (streq(r[i].name, name))
                        return &r[i];
        return NULL;
}

static bool has_resource_prefix(const struct pod_resource *r, size_t n, const char *prefix) {
        for (size_t i = 0; i < n; i++)
                if (strncmp(r[i].name, prefix, strlen(prefix)) == 0)
                        return true;
        return false;
}

void validate_resources(V *v, const struct pod_resource_requirements *r) {
        if (!r)
                return;
        size_t o = vpush(v, "resources");
        if ((has_resource_prefix(r->limits, r->n_limits, "hugepages-") ||
             has_resource_prefix(r->requests, r->n_requests, "hugepages-")) &&
            !find_resource(r->limits, r->n_limits, "cpu") && !find_resource(r->limits, r->n_limits, "memory") &&
            !find_resource(r->requests, r->n_requests, "cpu") && !find_resource(r->requests, r->n_requests, "memory"))
                verr(v, POD_ERROR_FORBIDDEN, NULL, "HugePages require cpu or memory");
        validate_resource_list(v, "limits", r->limits, r->n_limits);
        validate_resource_list(v, "requests", r->requests, r->n_requests);
        for (size_t i = 0; i < r->n_requests; i++) {
                const struct pod_resource *req = &r->requests[i];
                const struct pod_resource *lim = find_resource(r->limits, r->n_limits, req->name);
                _cleanup_free_ char *rs = pod_quantity_format(&req->q);
                if (!lim) {
                        if (!is_overcommit_allowed(req->name) && !is_native_resource(req->name))
                                verr(v, POD_ERROR_REQUIRED, "limits",
                                     "Limit must be set for non overcommitable resources");
                        continue;
                }
                _cleanup_free_ char *ls = pod_quantity_format(&lim->q);
                if (is_overcommit_allowed(req->name)) {
                        if (pod_quantity_cmp(&req->q, &lim->q) > 0)
                                verr_str(v, POD_ERROR_INVALID, "requests", strempty(rs),
                                         "must be less than or equal to %s limit of %s", req->name, strempty(ls));
                } else if (pod_quantity_cmp(&req->q, &lim->q) != 0)
                        verr_str(v, POD_ERROR_INVALID, "requests", strempty(rs), "must be equal to %s limit of %s",
                                 req->name, strempty(ls));
        }
        vpop(v, o);
}

/* ---- probes and hooks --------------------------------------------------------------------- */

static bool header_name_ok(const char *s) {
        if (isempty(s))
                return false;
        for (const char *p = s; *p; p++)
                if (!isalnum((unsigned char) *p) && *p != '-')
                        return false;
        return true;
}

static void validate_http_get(V *v, const struct pod_http_get_action *h) {
        size_t o = vpush(v, "httpGet");
        if (isempty(h->path))
                verr(v, POD_ERROR_REQUIRED, "path", NULL);
        check_port_num_or_name(v, "port", &h->port);
        static const char *const schemes[] = { "HTTP", "HTTPS", NULL };
        if (h->scheme && !str_in(h->scheme, schemes))
                verr_unsupported(v, "scheme", h->scheme, schemes);
        for (size_t i = 0; i < h->n_http_headers; i++)
                if (!header_name_ok(h->http_headers[i].name))
                        verr_str(v, POD_ERROR_INVALID, "httpHeaders", strempty(h->http_headers[i].name),
                                 "a valid HTTP header must consist of alphanumeric characters or '-' (e.g. "
                                 "'X-Header-Name', regex used for validation is '[-A-Za-z0-9]+')");
        vpop(v, o);
}

static void validate_tcp_socket(V *v, const struct pod_tcp_socket_action *t) {
        size_t o = vpush(v, "tcpSocket");
        check_port_num_or_name(v, "port", &t->port);
        vpop(v, o);
}

static void validate_exec(V *v, const struct pod_exec_action *e) {
        if (e->n_command == 0)
                verr(v, POD_ERROR_REQUIRED, "exec.command", NULL);
}

/* validateHandler: exactly one of exec, httpGet, tcpSocket, grpc, sleep; extras Forbidden. */
static void validate_handler(V *v, const struct pod_exec_action *exec, const struct pod_http_get_action *http,
                             const struct pod_tcp_socket_action *tcp, const struct pod_grpc_action *grpc,
                             const struct pod_sleep_action *sleep, int64_t grace) {
        int n = 0;
        if (exec && n++ == 0)
                validate_exec(v, exec);
        if (http) {
                if (n++ == 0)
                        validate_http_get(v, http);
                else
                        verr(v, POD_ERROR_FORBIDDEN, "httpGet", "may not specify more than 1 handler type");
        }
        if (tcp) {
                if (n++ == 0)
                        validate_tcp_socket(v, tcp);
                else
                        verr(v, POD_ERROR_FORBIDDEN, "tcpSocket", "may not specify more than 1 handler type");
        }
        if (grpc) {
                if (n++ == 0)
                        check_port_number(v, "grpc.port", grpc->port.set ? grpc->port.v : 0);
                else
                        verr(v, POD_ERROR_FORBIDDEN, "grpc", "may not specify more than 1 handler type");
        }
        if (sleep) {
                if (n++ == 0) {
                        int64_t s = sleep->seconds.set ? sleep->seconds.v : 0;
                        if (s < 0 || s > grace)
                                verr_int(v, POD_ERROR_INVALID, "sleep", s,
                                         "must be non-negative and less than terminationGracePeriodSeconds (%" PRId64
                                         ")",
                                         grace);
                } else
                        verr(v, POD_ERROR_FORBIDDEN, "sleep", "may not specify more than 1 handler type");
        }
        if (n == 0)
                verr(v, POD_ERROR_REQUIRED, NULL, "must specify a handler type");
}

static void validate_probe(V *v, const char *name, const struct pod_probe *p, bool success_must_be_one,
                           bool readiness) {
        if (!p)
                return;
        size_t o = vpush(v, "%s", name);
        validate_handler(v, p->exec, p->http_get, p->tcp_socket, p->grpc, NULL, 0);
        check_nonneg(v, "initialDelaySeconds", p->initial_delay_seconds);
        check_nonneg(v, "timeoutSeconds", p->timeout_seconds);
        check_nonneg(v, "periodSeconds", p->period_seconds);
        check_nonneg(v, "successThreshold", p->success_threshold);
        check_nonneg(v, "failureThreshold", p->failure_threshold);
        if (p->termination_grace_period_seconds.set) {
                if (readiness)
                        verr_int(v, POD_ERROR_INVALID, "terminationGracePeriodSeconds",
                                 p->termination_grace_period_seconds.v, "must not be set for readinessProbes");
                else if (p->termination_grace_period_seconds.v <= 0)
                        verr_int(v, POD_ERROR_INVALID, "terminationGracePeriodSeconds",
                                 p->termination_grace_period_seconds.v, "must be greater than 0");
        }
        if (success_must_be_one && p->success_threshold.set && p->success_threshold.v != 1)
                verr_int(v, POD_ERROR_INVALID, "successThreshold", p->success_threshold.v, "must be 1");
        vpop(v, o);
}

static void validate_lifecycle(V *v, const struct pod_lifecycle *l, int64_t grace) {
        if (!l)
                return;
        size_t o = vpush(v, "lifecycle");
        const struct pod_lifecycle_handler *h[] = { l->post_start, l->pre_stop };
        const char *names[] = { "postStart", "preStop" };
        for (size_t i = 0; i < 2; i++) {
                if (!h[i])
                        continue;
                size_t o2 = vpush(v, "%s", names[i]);
                validate_handler(v, h[i]->exec, h[i]->http_get, h[i]->tcp_socket, NULL, h[i]->sleep, grace);
                vpop(v, o2);
        }
        vpop(v, o);
}

/* ---- containers --------------------------------------------------------------------------- */

static const char *const PULL_POLICIES[] = { "Always", "IfNotPresent", "Never", NULL };
static const char *const MESSAGE_POLICIES[] = { "File", "FallbackToLogsOnError", NULL };
static const char *const PROTOCOLS[] = { "SCTP", "TCP", "UDP", NULL };

static void validate_ports(V *v, const struct pod_container *c) {
        for (size_t i = 0; i < c->n_ports; i++) {
                const struct pod_container_port *p = &c->ports[i];
                size_t o = vpush(v, "ports[%zu]", i);
                if (p->name && *p->name) {
                        if (check_name(v, "name", p->name, names_port_name) == 0)
                                for (size_t k = 0; k < i; k++)
                                        if (streq_ptr(c->ports[k].name, p->name)) {
                                                verr_str(v, POD_ERROR_DUPLICATE, "name", p->name, NULL);
                                                break;
                                        }
                }
                if (!p->container_port.set || p->container_port.v == 0)
                        verr(v, POD_ERROR_REQUIRED, "containerPort", NULL);
                else
                        check_port_number(v, "containerPort", p->container_port.v);
                if (p->host_port.set && p->host_port.v != 0)
                        check_port_number(v, "hostPort", p->host_port.v);
                check_enum(v, "protocol", p->protocol, PROTOCOLS);
                vpop(v, o);
        }
}

struct host_ports {
        char **keys;
        size_t n;
};

/* AccumulateUniqueHostPorts: "<protocol>/<hostIP>/<hostPort>" must be unique. */
static void check_host_ports(V *v, const struct pod_container *c, struct host_ports *seen) {
        for (size_t i = 0; i < c->n_ports; i++) {
                const struct pod_container_port *p = &c->ports[i];
                if (!p->host_port.set || p->host_port.v == 0)
                        continue;
                _cleanup_free_ char *key = nl_strdupf("%s/%s/%" PRId64, strempty(p->protocol), strempty(p->host_ip),
                                                      p->host_port.v);
                if (!key)
                        continue;
                bool dup = false;
                for (size_t k = 0; k < seen->n; k++)
                        dup = dup || streq(seen->keys[k], key);
                if (dup) {
                        size_t o = vpush(v, "ports[%zu]", i);
                        verr_str(v, POD_ERROR_DUPLICATE, "hostPort", key, NULL);
                        vpop(v, o);
                        continue;
                }
                char **n = realloc(seen->keys, (seen->n + 1) * sizeof(char *));
                if (!n)
                        continue;
                seen->keys = n;
                seen->keys[seen->n++] = TAKE_PTR(key);
        }
}

static void host_ports_done(struct host_ports *h) {
        for (size_t i = 0; i < h->n; i++)
                free(h->keys[i]);
        free(h->keys);
}

/* validateResizePolicy: the node does not resize in place yet, but the API server's rules
 * still apply to what a manifest may say. */
static void validate_resize_policy(V *v, const json_t *rp, const struct pod_spec *spec) {
        static const char *const resources[] = { "cpu", "memory", NULL };
        static const char *const policies[] = { "NotRequired", "RestartContainer", NULL };
        size_t i;
        json_t *e;
        if (!json_is_array(rp))
                return;
        json_array_foreach(rp, i, e) {
                const char *res = json_string_value(json_object_get(e, "resourceName"));
                const char *pol = json_string_value(json_object_get(e, "restartPolicy"));
                if (isempty(res))
                        verr(v, POD_ERROR_REQUIRED, "resizePolicy", NULL);
                else if (!str_in(res, resources)) {
                        /* a ResourceName prints unquoted */
                        verr_v(v, POD_ERROR_NOT_SUPPORTED, "resizePolicy", res, "supported values: \"cpu\", \"memory\"");
                } else {
                        for (size_t k = 0; k < i; k++)
                                if (streq_ptr(json_string_value(json_object_get(json_array_get(rp, k), "resourceName")),
                                              res)) {
                                        _cleanup_free_ char *c = nl_strdupf("resizePolicy[%zu]", i);
                                        verr_str(v, POD_ERROR_DUPLICATE, c, res, NULL);
                                        break;
                                }
                }
                if (isempty(pol))
                        verr(v, POD_ERROR_REQUIRED, "resizePolicy", NULL);
                else if (!str_in(pol, policies))
                        verr_unsupported(v, "resizePolicy", pol, policies);
                else if (streq_ptr(spec->restart_policy, "Never") && !streq(pol, "NotRequired"))
                        verr_str(v, POD_ERROR_INVALID, "resizePolicy", pol,
                                 "must be 'NotRequired' when `restartPolicy` is 'Never'");
        }
}

static void validate_container_common(V *v, const struct pod_container *c, const struct pod_spec *spec,
                                      const char *const *volumes, size_t n_volumes) {
        if (isempty(c->name))
                verr(v, POD_ERROR_REQUIRED, "name", NULL);
        else
                check_name(v, "name", c->name, names_dns1123_label);
        if (isempty(c->image))
                verr(v, POD_ERROR_REQUIRED, "image", NULL);
        else if (isspace((unsigned char) c->image[0]) || isspace((unsigned char) c->image[strlen(c->image) - 1]))
                verr_str(v, POD_ERROR_INVALID, "image", c->image, "must not have leading or trailing whitespace");
        check_enum(v, "terminationMessagePolicy", c->termination_message_policy, MESSAGE_POLICIES);
        check_enum(v, "imagePullPolicy", c->image_pull_policy, PULL_POLICIES);
        validate_ports(v, c);
        validate_env(v, c);
        bool privileged = c->security_context && opt_true(c->security_context->privileged);
        validate_volume_mounts(v, c, volumes, n_volumes, privileged);
        validate_resources(v, c->resources);
        validate_resize_policy(v, c->resize_policy, spec);
        validate_security_context(v, c->security_context, spec);
}

static int64_t grace_period(const struct pod_spec *spec) {
        return spec->termination_grace_period_seconds.set ? spec->termination_grace_period_seconds.v : 30;
}

static bool names_container(const struct pod_container *list, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (streq_ptr(list[i].name, name))
                        return true;
        return false;
}

/* As kube-apiserver's validateEphemeralContainers (pods/ephemeralcontainers): the Container's
 * checks, then only the fields on its allow list (no ports, probes, lifecycle, resources,
 * resizePolicy, restartPolicy: "Ephemeral Containers should not be relied upon for fundamental
 * pod services"), no subPath or subPathExpr, a name unique among all the pod's containers and
 * a targetContainerName that names a container or an init container. */
static void validate_ephemeral_containers(V *v, const struct pod_spec *spec, const char *const *volumes,
                                          size_t n_volumes) {
        static const char *const not_allowed = "cannot be set for an Ephemeral Container";
        for (size_t i = 0; i < spec->n_ephemeral_containers; i++) {
                const struct pod_container *c = &spec->ephemeral_containers[i];
                size_t o = vpush(v, "ephemeralContainers[%zu]", i);
                validate_container_common(v, c, spec, volumes, n_volumes);
                const char *fields[] = { "ports", "resources", "resizePolicy", "restartPolicy", "livenessProbe",
                                         "readinessProbe", "startupProbe", "lifecycle" };
                const bool set[] = { c->n_ports > 0,
                                     c->resources && (c->resources->n_limits || c->resources->n_requests ||
                                                      json_array_size(c->resources->claims) > 0),
                                     c->resize_policy && json_array_size(c->resize_policy) > 0,
                                     c->restart_policy != NULL, c->liveness_probe, c->readiness_probe,
                                     c->startup_probe, c->lifecycle };
                for (size_t k = 0; k < ELEMENTSOF(fields); k++)
                        if (set[k])
                                verr(v, POD_ERROR_FORBIDDEN, fields[k], "%s", not_allowed);
                for (size_t k = 0; k < c->n_volume_mounts; k++) {
                        size_t o2 = vpush(v, "volumeMounts[%zu]", k);
                        if (!isempty(c->volume_mounts[k].sub_path))
                                verr(v, POD_ERROR_FORBIDDEN, "subPath", "%s", not_allowed);
                        if (!isempty(c->volume_mounts[k].sub_path_expr))
                                verr(v, POD_ERROR_FORBIDDEN, "subPathExpr", "%s", not_allowed);
                        vpop(v, o2);
                }
                if (!isempty(c->name) && (names_container(spec->containers, spec->n_containers, c->name) ||
                                          names_container(spec->init_containers, spec->n_init_containers, c->name) ||
                                          names_container(spec->ephemeral_containers, i, c->name)))
                        verr_str(v, POD_ERROR_DUPLICATE, "name", c->name, NULL);
                const char *target = c->target_container_name;
                if (!isempty(target) && !names_container(spec->containers, spec->n_containers, target) &&
                    !names_container(spec->init_containers, spec->n_init_containers, target))
                        verr_str(v, POD_ERROR_NOT_FOUND, "targetContainerName", target, NULL);
                vpop(v, o);
        }
}

void validate_containers(V *v, const struct pod_spec *spec, const char *const *volumes, size_t n_volumes) {
        struct host_ports seen = {};

        if (spec->n_containers == 0) {
                verr(v, POD_ERROR_REQUIRED, "containers", NULL);
        }
        for (size_t i = 0; i < spec->n_containers; i++) {
                const struct pod_container *c = &spec->containers[i];
                size_t o = vpush(v, "containers[%zu]", i);
                validate_container_common(v, c, spec, volumes, n_volumes);
                if (!isempty(c->name))
                        for (size_t k = 0; k < i; k++)
                                if (streq_ptr(spec->containers[k].name, c->name)) {
                                        verr_str(v, POD_ERROR_DUPLICATE, "name", c->name, NULL);
                                        break;
                                }
                validate_lifecycle(v, c->lifecycle, grace_period(spec));
                validate_probe(v, "livenessProbe", c->liveness_probe, true, false);
                validate_probe(v, "readinessProbe", c->readiness_probe, false, true);
                validate_probe(v, "startupProbe", c->startup_probe, true, false);
                if (c->restart_policy)
                        verr(v, POD_ERROR_FORBIDDEN, "restartPolicy", "may not be set for non-init containers");
                check_host_ports(v, c, &seen);
                vpop(v, o);
        }
        host_ports_done(&seen);

        for (size_t i = 0; i < spec->n_init_containers; i++) {
                const struct pod_container *c = &spec->init_containers[i];
                size_t o = vpush(v, "initContainers[%zu]", i);
                validate_container_common(v, c, spec, volumes, n_volumes);
                if (!isempty(c->name)) {
                        bool dup = false;
                        for (size_t k = 0; k < spec->n_containers; k++)
                                dup = dup || streq_ptr(spec->containers[k].name, c->name);
                        for (size_t k = 0; k < i; k++)
                                dup = dup || streq_ptr(spec->init_containers[k].name, c->name);
                        if (dup)
                                verr_str(v, POD_ERROR_DUPLICATE, "name", c->name, NULL);
                }
                bool sidecar = streq_ptr(c->restart_policy, "Always");
                if (c->restart_policy && !sidecar) {
                        static const char *const always[] = { "Always", NULL };
                        verr_unsupported(v, "restartPolicy", c->restart_policy, always);
                }
                if (sidecar) {
                        validate_lifecycle(v, c->lifecycle, grace_period(spec));
                        validate_probe(v, "livenessProbe", c->liveness_probe, true, false);
                        validate_probe(v, "readinessProbe", c->readiness_probe, false, true);
                        validate_probe(v, "startupProbe", c->startup_probe, true, false);
                } else {
                        const char *fields[] = { "lifecycle", "livenessProbe", "readinessProbe", "startupProbe" };
                        const bool set[] = { c->lifecycle, c->liveness_probe, c->readiness_probe, c->startup_probe };
                        for (size_t k = 0; k < ELEMENTSOF(fields); k++)
                                if (set[k])
                                        verr(v, POD_ERROR_FORBIDDEN, fields[k],
                                             "may not be set for init containers without restartPolicy=Always");
                }
                /* Each init container runs alone, so host ports only clash within one; unlike
                 * upstream (which reports these at index 0) we report the real index. */
                struct host_ports own = {};
                check_host_ports(v, c, &own);
                host_ports_done(&own);
                vpop(v, o);
        }
        validate_ephemeral_containers(v, spec, volumes, n_volumes);
}
