/* SPDX-License-Identifier: Apache-2.0 */
/* The kubelet's predicate admit handler (pkg/kubelet/lifecycle/predicate.go), with the
 * scheduler plugins it reuses (scheduler.AdmissionCheck: noderesources, nodeaffinity, nodename,
 * nodeports; tainttoleration for NoExecute taints). Reasons and messages are the kubelet's:
 * "OutOf<resource>" with "Node didn't have enough resource: ...", or the plugin's name with
 * "Predicate <name> failed: <the plugin's reason>". */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "admission.h"

#define CONFIG_SOURCE_ANNOTATION "kubernetes.io/config.source"

/* the scheduler plugins' failure reasons (pkg/scheduler/framework/plugins/...) */
#define NODE_AFFINITY_REASON "node(s) didn't match Pod's node affinity/selector"
#define NODE_NAME_REASON "node(s) didn't match the requested node name"
#define NODE_PORTS_REASON "node(s) didn't have free ports for the requested pod ports"
#define TAINT_REASON "node(s) had taints that the pod didn't tolerate"

static int64_t sat_sub(int64_t a, int64_t b) {
        int64_t r;
        if (__builtin_sub_overflow(a, b, &r))
                return b > 0 ? INT64_MIN : INT64_MAX;
        return r;
}

/* ---- requests --------------------------------------------------------------------------- */

static int64_t quantity_of(const pod_quantity *q, bool milli) {
        return milli ? pod_quantity_milli_value(q) : pod_quantity_value(q);
}

static int64_t container_request(const struct pod_container *c, const char *resource, bool milli) {
        const struct pod_resource_requirements *r = c->resources;
        for (size_t k = 0; r && k < r->n_requests; k++)
                if (streq_ptr(r->requests[k].name, resource))
                        return quantity_of(&r->requests[k].q, milli);
        return 0;
}

int64_t admission_pod_request(const struct pod *pod, const char *resource) {
        const struct pod_spec *s = &pod->spec;
        bool milli = streq(resource, "cpu");
        int64_t apps = 0, init_max = 0, sidecars = 0;
        for (size_t i = 0; i < s->n_init_containers; i++) {
                int64_t v = container_request(&s->init_containers[i], resource, milli);
                if (streq_ptr(s->init_containers[i].restart_policy, "Always"))
                        sidecars = nl_sat_add(sidecars, v);
                else if (nl_sat_add(v, sidecars) > init_max)
                        init_max = nl_sat_add(v, sidecars);
        }
        for (size_t i = 0; i < s->n_containers; i++)
                apps = nl_sat_add(apps, container_request(&s->containers[i], resource, milli));
        int64_t total = nl_sat_add(apps, sidecars) > init_max ? nl_sat_add(apps, sidecars) : init_max;
        for (size_t k = 0; k < s->n_overhead; k++)
                if (streq_ptr(s->overhead[k].name, resource))
                        total = nl_sat_add(total, quantity_of(&s->overhead[k].q, milli));
        return total;
}

/* ---- node affinity ---------------------------------------------------------------------- */

static const char *node_label(const struct admission_node *node, const char *key) {
        for (size_t i = 0; i < node->n_labels; i++)
                if (streq_ptr(node->labels[i].key, key))
                        return strempty(node->labels[i].value);
        return NULL;
}

/* strconv.ParseInt(s, 10, 64): an optional sign and decimal digits, nothing else. */
static bool parse_go_int(const char *s, int64_t *ret) {
        if (!s)
                return false;
        const char *p = s + (*s == '+' || *s == '-');
        if (!*p || strspn(p, "0123456789") != strlen(p))
                return false;
        int64_t v = 0;
        for (; *p; p++)
                if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, *p - '0', &v))
                        return false;
        *ret = *s == '-' ? -v : v;
        return true;
}

static bool json_values_contain(const json_t *values, const char *v) {
        size_t i;
        json_t *e;
        json_array_foreach(values, i, e) if (json_is_string(e) && streq(json_string_value(e), v)) return true;
        return false;
}

/* One matchExpressions requirement against the node's labels. A requirement that does not
 * parse (unknown operator, values the operator cannot take) matches nothing, as the term that
 * holds it (component-helpers' lazy-error node selector: the error is dropped at admission). */
static bool label_requirement_matches(const json_t *req, const struct admission_node *node) {
        const char *key = json_string_value(json_object_get(req, "key"));
        const char *op = json_string_value(json_object_get(req, "operator"));
        const json_t *values = json_object_get(req, "values");
        size_t n = json_is_array(values) ? json_array_size(values) : 0;
        if (isempty(key) || !op || (values && !json_is_array(values) && !json_is_null(values)))
                return false;
        const char *have = node_label(node, key);
        if (streq(op, "In") || streq(op, "NotIn")) {
                if (n == 0)
                        return false; /* "for 'in', 'notin' operators, values set can't be empty" */
                bool in = have && json_values_contain(values, have);
                return streq(op, "In") ? in : !in;
        }
        if (streq(op, "Exists") || streq(op, "DoesNotExist")) {
                if (n != 0)
                        return false;
                return streq(op, "Exists") ? have != NULL : have == NULL;
        }
        if (streq(op, "Gt") || streq(op, "Lt")) {
                int64_t want, got;
                if (n != 1 || !parse_go_int(json_string_value(json_array_get(values, 0)), &want))
                        return false;
                if (!have || !parse_go_int(have, &got))
                        return false;
                return streq(op, "Gt") ? got > want : got < want;
        }
        return false;
}

/* matchFields: only metadata.name, with In or NotIn and exactly one value. */
static bool field_requirement_matches(const json_t *req, const struct admission_node *node) {
        const char *key = json_string_value(json_object_get(req, "key"));
        const char *op = json_string_value(json_object_get(req, "operator"));
        const json_t *values = json_object_get(req, "values");
        if (!streq_ptr(key, "metadata.name") || !json_is_array(values) || json_array_size(values) != 1)
                return false;
        const char *v = json_string_value(json_array_get(values, 0));
        if (!v)
                return false;
        if (streq_ptr(op, "In"))
                return streq_ptr(node->name, v);
        if (streq_ptr(op, "NotIn"))
                return !streq_ptr(node->name, v);
        return false;
}

/* A term matches when all of its requirements do; an empty term matches nothing. */
static bool term_matches(const json_t *term, const struct admission_node *node) {
        const json_t *exprs = json_object_get(term, "matchExpressions");
        const json_t *fields = json_object_get(term, "matchFields");
        size_t ne = json_is_array(exprs) ? json_array_size(exprs) : 0;
        size_t nf = json_is_array(fields) ? json_array_size(fields) : 0;
        if (ne + nf == 0)
                return false;
        for (size_t i = 0; i < ne; i++)
                if (!label_requirement_matches(json_array_get(exprs, i), node))
                        return false;
        for (size_t i = 0; i < nf; i++)
                if (!field_requirement_matches(json_array_get(fields, i), node))
                        return false;
        return true;
}

bool admission_node_affinity_matches(const struct pod *pod, const struct admission_node *node) {
        const struct pod_spec *s = &pod->spec;
        /* nodeSelector: every entry is a label of the node with that value */
        for (size_t i = 0; i < s->n_node_selector; i++) {
                const char *have = node_label(node, strempty(s->node_selector[i].key));
                if (!have || !streq(have, strempty(s->node_selector[i].value)))
                        return false;
        }
        const json_t *required = json_object_get(
                json_object_get(s->affinity, "nodeAffinity"), "requiredDuringSchedulingIgnoredDuringExecution");
        if (!required || json_is_null(required))
                return true;
        /* the terms are ORed; no term matches nothing */
        const json_t *terms = json_object_get(required, "nodeSelectorTerms");
        for (size_t i = 0; json_is_array(terms) && i < json_array_size(terms); i++)
                if (term_matches(json_array_get(terms, i), node))
                        return true;
        return false;
}

/* ---- host ports ------------------------------------------------------------------------- */

static const char *port_ip(const struct pod_container_port *p) {
        return isempty(p->host_ip) ? "0.0.0.0" : p->host_ip;
}

static const char *port_protocol(const struct pod_container_port *p) {
        return isempty(p->protocol) ? "TCP" : p->protocol;
}

/* HostPortInfo.CheckConflict: 0.0.0.0 takes the port on every address */
static bool ports_conflict(const struct pod_container_port *a, const struct pod_container_port *b) {
        if (!a->host_port.set || !b->host_port.set || a->host_port.v != b->host_port.v || a->host_port.v <= 0)
                return false;
        if (!streq(port_protocol(a), port_protocol(b)))
                return false;
        return streq(port_ip(a), "0.0.0.0") || streq(port_ip(b), "0.0.0.0") || streq(port_ip(a), port_ip(b));
}

static bool port_taken(const struct pod_container_port *want, const struct pod *other) {
        /* the NodePorts plugin counts the app containers' ports */
        for (size_t c = 0; c < other->spec.n_containers; c++)
                for (size_t k = 0; k < other->spec.containers[c].n_ports; k++)
                        if (ports_conflict(want, &other->spec.containers[c].ports[k]))
                                return true;
        return false;
}

bool admission_ports_fit(const struct pod *pod, const struct pod *const *others, size_t n_others) {
        for (size_t c = 0; c < pod->spec.n_containers; c++)
                for (size_t k = 0; k < pod->spec.containers[c].n_ports; k++) {
                        const struct pod_container_port *p = &pod->spec.containers[c].ports[k];
                        if (!p->host_port.set || p->host_port.v <= 0)
                                continue;
                        for (size_t o = 0; o < n_others; o++)
                                if (port_taken(p, others[o]))
                                        return false;
                }
        return true;
}

/* ---- taints ----------------------------------------------------------------------------- */

/* v1.Toleration.ToleratesTaint */
static bool tolerates(const struct pod_toleration *t, const struct admission_taint *taint) {
        if (!isempty(t->effect) && !streq_ptr(t->effect, taint->effect))
                return false;
        if (!isempty(t->key) && !streq_ptr(t->key, taint->key))
                return false;
        if (isempty(t->operator_) || streq(t->operator_, "Equal"))
                return streq(strempty(t->value), strempty(taint->value));
        return streq(t->operator_, "Exists");
}

bool admission_taints_tolerated(const struct pod *pod, const struct admission_node *node) {
        for (size_t i = 0; i < node->n_taints; i++) {
                const struct admission_taint *taint = &node->taints[i];
                if (!streq_ptr(taint->effect, "NoExecute"))
                        continue; /* "Kubelet is only interested in the NoExecute taint" */
                bool ok = false;
                for (size_t k = 0; !ok && k < pod->spec.n_tolerations; k++)
                        ok = tolerates(&pod->spec.tolerations[k], taint);
                if (!ok)
                        return false;
        }
        return true;
}

bool admission_pod_is_static(const struct pod *pod) {
        for (size_t i = 0; i < pod->metadata.n_annotations; i++)
                if (streq_ptr(pod->metadata.annotations[i].key, CONFIG_SOURCE_ANNOTATION))
                        return !streq_ptr(pod->metadata.annotations[i].value, "api");
        return false; /* no source: not static (GetPodSource fails) */
}

/* ---- the handler ------------------------------------------------------------------------ */

static int fail(char **ret_reason, char **ret_message, char *reason, char *message) {
        if (!reason || !message) {
                free(reason);
                free(message);
                return -ENOMEM;
        }
        *ret_reason = reason;
        *ret_message = message;
        return -1;
}

static int predicate_failed(char **ret_reason, char **ret_message, const char *name, const char *why) {
        return fail(ret_reason, ret_message, strdup(name), nl_strdupf("Predicate %s failed: %s", name, why));
}

static int insufficient(char **ret_reason, char **ret_message, const char *resource, int64_t requested, int64_t used,
                        int64_t capacity) {
        return fail(ret_reason, ret_message, nl_strdupf("OutOf%s", resource),
                    nl_strdupf("Node didn't have enough resource: %s, requested: %" PRId64 ", used: %" PRId64
                               ", capacity: %" PRId64,
                               resource, requested, used, capacity));
}

static int64_t used_by(const struct pod *const *others, size_t n, const char *resource) {
        int64_t used = 0;
        for (size_t i = 0; i < n; i++)
                used = nl_sat_add(used, admission_pod_request(others[i], resource));
        return used;
}

static bool is_hugepages(const char *name) {
        return strncmp(name, "hugepages-", 10) == 0;
}

/* v1helper.IsExtendedResourceName: outside kubernetes.io, with a domain; the kubelet drops the
 * requests of those the node does not have (cluster-level resources) */
static bool is_extended(const char *name) {
        return strchr(name, '/') && !strstr(name, "kubernetes.io/") && strncmp(name, "requests.", 9) != 0;
}

/* A scalar resource the noderesources plugin checks: hugepages, extended ones, prefixed
 * native ones (*kubernetes.io/...). */
static bool is_scalar(const char *name) {
        return is_hugepages(name) || strchr(name, '/');
}

static const struct admission_scalar *node_scalar(const struct admission_node *node, const char *name) {
        for (size_t i = 0; i < node->n_scalars; i++)
                if (streq_ptr(node->scalars[i].name, name))
                        return &node->scalars[i];
        return NULL;
}

/* Has the name been seen among the pod's request names before container c, request k? */
static bool seen_before(const struct pod_spec *s, const char *name, size_t list, size_t c, size_t k) {
        const struct pod_container *lists[] = { s->init_containers, s->containers };
        size_t ns[] = { s->n_init_containers, s->n_containers };
        for (size_t l = 0; l <= list; l++)
                for (size_t i = 0; i < ns[l] && (l < list || i <= c); i++) {
                        const struct pod_resource_requirements *r = lists[l][i].resources;
                        size_t end = l == list && i == c ? k : (r ? r->n_requests : 0);
                        for (size_t j = 0; r && j < end; j++)
                                if (streq_ptr(r->requests[j].name, name))
                                        return true;
                }
        return false;
}

/* noderesources.Fits: the pod count, cpu, memory, ephemeral-storage, then each scalar
 * resource the pod asks for (in the pod's order: upstream walks a map). */
static int check_resources(const struct admission_node *node, const struct pod *pod, const struct pod *const *others,
                           size_t n_others, char **ret_reason, char **ret_message) {
        if ((int64_t) n_others + 1 > node->pods)
                return insufficient(ret_reason, ret_message, "pods", 1, (int64_t) n_others, node->pods);
        static const char *const basic[] = { "cpu", "memory", "ephemeral-storage" };
        const int64_t alloc[] = { node->milli_cpu, node->memory, node->ephemeral_storage };
        for (size_t i = 0; i < ELEMENTSOF(basic); i++) {
                int64_t want = admission_pod_request(pod, basic[i]);
                int64_t used = used_by(others, n_others, basic[i]);
                if (want > 0 && want > sat_sub(alloc[i], used))
                        return insufficient(ret_reason, ret_message, basic[i], want, used, alloc[i]);
        }
        const struct pod_spec *s = &pod->spec;
        const struct pod_container *lists[] = { s->init_containers, s->containers };
        size_t ns[] = { s->n_init_containers, s->n_containers };
        for (size_t l = 0; l < 2; l++)
                for (size_t c = 0; c < ns[l]; c++) {
                        const struct pod_resource_requirements *r = lists[l][c].resources;
                        for (size_t k = 0; r && k < r->n_requests; k++) {
                                const char *name = strempty(r->requests[k].name);
                                if (!is_scalar(name) || seen_before(s, name, l, c, k))
                                        continue;
                                const struct admission_scalar *have = node_scalar(node, name);
                                if (!have && is_extended(name))
                                        continue; /* removeMissingExtendedResources */
                                int64_t want = admission_pod_request(pod, name);
                                int64_t used = used_by(others, n_others, name);
                                int64_t cap = have ? have->value : 0;
                                if (want > 0 && want > sat_sub(cap, used))
                                        return insufficient(ret_reason, ret_message, name, want, used, cap);
                        }
                }
        return 0;
}

static const char *pod_label(const struct pod *pod, const char *key) {
        for (size_t i = 0; i < pod->metadata.n_labels; i++)
                if (streq_ptr(pod->metadata.labels[i].key, key))
                        return strempty(pod->metadata.labels[i].value);
        return NULL;
}

int admission_check(const struct admission_node *node, const struct pod *pod, const struct pod *const *others,
                    size_t n_others, char **ret_reason, char **ret_message) {
        /* first what preemption cannot help: the OS. Upstream compares the pod's *label*
         * kubernetes.io/os (not its nodeSelector, which the NodeAffinity check covers) with the
         * node's OS. */
        const char *os_label = pod_label(pod, "kubernetes.io/os");
        if (os_label && !streq(os_label, "linux"))
                return fail(ret_reason, ret_message, strdup("PodOSSelectorNodeLabelDoesNotMatch"),
                            strdup("Failed to admit pod as the `kubernetes.io/os` label doesn't match node label"));
        if (pod->spec.os && !streq_ptr(pod->spec.os->name, "linux"))
                return fail(ret_reason, ret_message, strdup("PodOSNotSupported"),
                            strdup("Failed to admit pod as the OS field doesn't match node OS"));
        /* then scheduler.AdmissionCheck's order; the first failure is the one reported */
        int r = check_resources(node, pod, others, n_others, ret_reason, ret_message);
        if (r != 0)
                return r;
        if (!admission_node_affinity_matches(pod, node))
                return predicate_failed(ret_reason, ret_message, "NodeAffinity", NODE_AFFINITY_REASON);
        if (!isempty(pod->spec.node_name) && !streq_ptr(pod->spec.node_name, node->name))
                return predicate_failed(ret_reason, ret_message, "NodeName", NODE_NAME_REASON);
        if (!admission_ports_fit(pod, others, n_others))
                return predicate_failed(ret_reason, ret_message, "NodePorts", NODE_PORTS_REASON);
        if (!admission_pod_is_static(pod) && !admission_taints_tolerated(pod, node))
                return predicate_failed(ret_reason, ret_message, "TaintToleration", TAINT_REASON);
        return 0;
}
