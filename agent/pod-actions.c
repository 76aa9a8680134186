/* SPDX-License-Identifier: Apache-2.0 */
/* Pure decisions of the pod worker about a spec update and readiness gates. */
#include "pod-actions.h"

/* Pod-level fields a running pod may change without a new sandbox. The API server allows only
 * these (and containers' images and resources) to change on a running pod
 * (ValidatePodUpdate); the pod worker reads them on every sync: activeDeadlineSeconds and
 * terminationGracePeriodSeconds take effect at once, tolerations and scheduling gates mean
 * nothing on the node, readiness gates only change how Ready is computed. Ephemeral containers
 * are added through pods/ephemeralcontainers and never change or go once added
 * (ValidatePodEphemeralContainersUpdate): additions start in the running pod, anything else
 * (a static manifest may do it) is a change of the pod (ephemeral_changed). The pod-level
 * resources change through pods/resize (InPlacePodLevelResourcesVerticalScaling): a resize,
 * not a new pod. */
static const char *const IN_PLACE_FIELDS[] = {
        "activeDeadlineSeconds", "terminationGracePeriodSeconds", "tolerations", "schedulingGates",
        "readinessGates", "ephemeralContainers", "resources", NULL,
};

/* What of a container's spec the sandbox or the worker's bookkeeping depends on: its name (a
 * worker keeps one slot per container) and its ports (the sandbox's hostPort mappings). */
static json_t *container_sandbox_view(json_t *list) {
        json_t *out = json_array(), *c;
        size_t i;
        json_array_foreach(list, i, c) {
                json_t *v = json_pack("{s:O?, s:O?}", "name", json_object_get(c, "name"), "ports",
                                      json_object_get(c, "ports"));
                if (v)
                        json_array_append_new(out, v);
        }
        return out;
}

static json_t *sandbox_view(const struct pod *p) {
        json_t *j = pod_to_json(p);
        json_t *spec = j ? json_incref(json_object_get(j, "spec")) : NULL;
        json_decref(j);
        if (!spec)
                return NULL;
        json_t *copy = json_deep_copy(spec);
        json_decref(spec);
        if (!copy)
                return NULL;
        for (size_t i = 0; IN_PLACE_FIELDS[i]; i++)
                (void) json_object_del(copy, IN_PLACE_FIELDS[i]);
        const char *lists[] = { "containers", "initContainers" };
        for (size_t i = 0; i < 2; i++) {
                json_t *l = json_object_get(copy, lists[i]);
                if (l)
                        json_object_set_new(copy, lists[i], container_sandbox_view(l));
        }
        return copy;
}

/* The old ephemeral containers, unchanged, must begin the new list; NULL when they do, else
 * the field that changed. */
static char *ephemeral_changed(const struct pod *old, const struct pod *new) {
        json_t *a = pod_to_json(old), *b = pod_to_json(new);
        json_t *la = json_object_get(json_object_get(a, "spec"), "ephemeralContainers");
        json_t *lb = json_object_get(json_object_get(b, "spec"), "ephemeralContainers");
        char *field = NULL;
        for (size_t i = 0; i < json_array_size(la) && !field; i++)
                if (!json_equal(json_array_get(la, i), json_array_get(lb, i)))
                        field = nl_strdupf("spec.ephemeralContainers[%zu]", i);
        if (!a || !b)
                field = strdup("spec");
        json_decref(a);
        json_decref(b);
        return field;
}

/* The first differing field of two container views, as "spec.containers[1].name". */
static char *container_diff(const char *list, json_t *a, json_t *b) {
        size_t n = json_array_size(a) > json_array_size(b) ? json_array_size(a) : json_array_size(b);
        for (size_t i = 0; i < n; i++) {
                json_t *x = json_array_get(a, i), *y = json_array_get(b, i);
                if (!x || !y)
                        return nl_strdupf("spec.%s", list); /* a container added or removed */
                if (!json_equal(json_object_get(x, "name"), json_object_get(y, "name")))
                        return nl_strdupf("spec.%s[%zu].name", list, i);
                if (!json_equal(json_object_get(x, "ports"), json_object_get(y, "ports")))
                        return nl_strdupf("spec.%s[%zu].ports", list, i);
        }
        return nl_strdupf("spec.%s", list);
}

/* computePodActions recreates the sandbox when it changed (its network namespace mode, or it
 * is gone); the kubelet's sandbox takes little from the spec after it exists, ours is made
 * from the pod-level spec (namespaces, DNS, hostname, security context, volumes, hostPorts),
 * so any change there (a static manifest may change anything) makes a new pod. */
int pod_update_needs_recreate(const struct pod *old, const struct pod *new, char **ret_field) {
        json_t *a = sandbox_view(old), *b = sandbox_view(new);
        int r = 0;
        char *field = NULL;
        if (!a || !b) {
                r = -ENOMEM;
                goto out;
        }
        if (json_equal(a, b)) {
                field = ephemeral_changed(old, new);
                r = field ? 1 : 0;
                goto out;
        }
        /* name the first field that differs, in key order */
        json_t *keys = json_array();
        const char *k;
        json_t *v;
        json_object_foreach(a, k, v) json_array_append_new(keys, json_string(k));
        json_object_foreach(b, k, v) if (!json_object_get(a, k)) json_array_append_new(keys, json_string(k));
        const char *first = NULL;
        size_t i;
        json_array_foreach(keys, i, v) {
                const char *key = json_string_value(v);
                if (!json_equal(json_object_get(a, key), json_object_get(b, key)) &&
                    (!first || strcmp(key, first) < 0))
                        first = key;
        }
        if (first && (streq(first, "containers") || streq(first, "initContainers")))
                field = container_diff(first, json_object_get(a, first), json_object_get(b, first));
        else
                field = nl_strdupf("spec.%s", first ? first : "?");
        json_decref(keys);
        r = field ? 1 : -ENOMEM;
out:
        json_decref(a);
        json_decref(b);
        if (r == 1)
                *ret_field = field;
        return r;
}

bool pod_container_changed(const struct pod_container *spec, const struct container_status *st) {
        if (!st || !st->has_hash || (st->state != CONTAINER_RUNNING && st->state != CONTAINER_CREATED))
                return false;
        return st->hash != pod_container_hash(spec);
}

char *pod_readiness_gates_message(const struct pod *pod, const json_t *conditions) {
        nl_buf b = {};
        for (size_t i = 0; i < pod->spec.n_readiness_gates; i++) {
                const char *type = strempty(pod->spec.readiness_gates[i].condition_type);
                const json_t *found = NULL, *c;
                size_t k;
                json_array_foreach(conditions, k, c)
                        if (streq_ptr(json_string_value(json_object_get(c, "type")), type))
                                found = c;
                const char *status = found ? json_string_value(json_object_get(found, "status")) : NULL;
                if (found && streq_ptr(status, "True"))
                        continue;
                if (b.len)
                        nl_buf_puts(&b, ", ");
                /* the kubelet's words (pkg/kubelet/status/generate.go), joined with ", " */
                if (!found)
                        nl_buf_printf(&b, "corresponding condition of pod readiness gate \"%s\" does not exist.", type);
                else
                        nl_buf_printf(&b, "the status of pod readiness gate \"%s\" is not \"True\", but %s", type,
                                      strempty(status));
        }
        if (!b.len && !b.oom) {
                nl_buf_free(&b);
                return NULL;
        }
        /* out of memory: still not ready, with a message */
        char *s = nl_buf_steal(&b);
        return s ? s : strdup("readiness gates not ready");
}

/* ---- in-place resize ---------------------------------------------------------------------- */

static int by_name(const void *a, const void *b) {
        return strcmp(strempty((*(const struct pod_resource *const *) a)->name),
                      strempty((*(const struct pod_resource *const *) b)->name));
}

/* a ResourceList with its keys sorted, as encoding/json writes a map */
static json_t *resource_map(const struct pod_resource *v, size_t n) {
        json_t *m = json_object();
        const struct pod_resource **sorted = calloc(n ? n : 1, sizeof(*sorted));
        if (!m || !sorted) {
                free(sorted);
                return m;
        }
        for (size_t i = 0; i < n; i++)
                sorted[i] = &v[i];
        qsort(sorted, n, sizeof(*sorted), by_name);
        for (size_t i = 0; i < n; i++) {
                char *q = pod_quantity_format(&sorted[i]->q);
                if (q && sorted[i]->name)
                        json_object_set_new(m, sorted[i]->name, json_string(q));
                free(q);
        }
        free(sorted);
        return m;
}

json_t *pod_resources_json(const struct pod_resource_requirements *r) {
        json_t *j = json_object();
        if (!j || !r)
                return j;
        if (r->n_limits)
                json_object_set_new(j, "limits", resource_map(r->limits, r->n_limits));
        if (r->n_requests)
                json_object_set_new(j, "requests", resource_map(r->requests, r->n_requests));
        return j;
}

static const pod_quantity *res_get(const struct pod_resource *v, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (streq_ptr(v[i].name, name))
                        return &v[i].q;
        return NULL;
}

static bool res_list_equal(const struct pod_resource *a, size_t na, const struct pod_resource *b, size_t nb) {
        if (na != nb)
                return false;
        for (size_t i = 0; i < na; i++) {
                const pod_quantity *q = res_get(b, nb, a[i].name);
                if (!q || pod_quantity_cmp(&a[i].q, q) != 0)
                        return false;
        }
        return true;
}

/* apiequality.Semantic.DeepEqual on ResourceRequirements: quantities by value */
static bool res_equal(const struct pod_resource_requirements *a, const struct pod_resource_requirements *b) {
        static const struct pod_resource_requirements none = {};
        if (!a)
                a = &none;
        if (!b)
                b = &none;
        return res_list_equal(a->limits, a->n_limits, b->limits, b->n_limits) &&
               res_list_equal(a->requests, a->n_requests, b->requests, b->n_requests);
}

static const struct pod_container *container_named(const struct pod_container *v, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (streq_ptr(v[i].name, name))
                        return &v[i];
        return NULL;
}

/* IsResizableContainer: app containers, and since v1.37 (InPlacePodVerticalScalingInitContainers
 * GA) init containers too, sidecars or not (a regular one that has run needs no actuation,
 * its requests still count in the pod's). */
static bool resizable(const struct pod_container *c, bool init) {
        return true;
}

bool pod_resources_changed(const struct pod *alloc, const struct pod *desired, bool *ret_pod_level) {
        bool changed = false;
        const struct pod_spec *a = &alloc->spec, *d = &desired->spec;
        for (size_t l = 0; l < 2; l++) {
                const struct pod_container *dv = l ? d->init_containers : d->containers;
                size_t dn = l ? d->n_init_containers : d->n_containers;
                for (size_t i = 0; i < dn; i++) {
                        const struct pod_container *ac = container_named(l ? a->init_containers : a->containers,
                                                                         l ? a->n_init_containers : a->n_containers,
                                                                         dv[i].name);
                        if (ac && resizable(&dv[i], l) && !res_equal(ac->resources, dv[i].resources))
                                changed = true;
                }
        }
        bool pod_level = !res_equal(a->resources, d->resources);
        if (ret_pod_level)
                *ret_pod_level = pod_level;
        return changed || pod_level;
}

static int res_list_copy(const struct pod_resource *v, size_t n, struct pod_resource **ret, size_t *ret_n) {
        struct pod_resource *c = calloc(n ? n : 1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                c[i] = v[i];
                c[i].name = v[i].name ? strdup(v[i].name) : NULL;
                if (v[i].name && !c[i].name) {
                        for (size_t k = 0; k < i; k++)
                                free(c[k].name);
                        free(c);
                        return -ENOMEM;
                }
        }
        *ret = c;
        *ret_n = n;
        return 0;
}

static void res_free(struct pod_resource_requirements *r) {
        if (!r)
                return;
        for (size_t i = 0; i < r->n_limits; i++)
                free(r->limits[i].name);
        for (size_t i = 0; i < r->n_requests; i++)
                free(r->requests[i].name);
        free(r->limits);
        free(r->requests);
        json_decref(r->claims);
        free(r);
}

/* copy a's limits and requests into *dst (claims stay the desired spec's) */
static int res_assign(struct pod_resource_requirements **dst, const struct pod_resource_requirements *a) {
        struct pod_resource_requirements *n = calloc(1, sizeof(*n));
        if (!n)
                return -ENOMEM;
        if ((a && (res_list_copy(a->limits, a->n_limits, &n->limits, &n->n_limits) < 0 ||
                   res_list_copy(a->requests, a->n_requests, &n->requests, &n->n_requests) < 0))) {
                res_free(n);
                return -ENOMEM;
        }
        if (*dst) {
                n->claims = (*dst)->claims;
                (*dst)->claims = NULL;
        }
        res_free(*dst);
        *dst = n;
        return 0;
}

struct pod *pod_with_allocation(const struct pod *desired, const struct pod *alloc) {
        struct pod *p = pod_copy(desired);
        if (!p)
                return NULL;
        struct pod_spec *s = &p->spec;
        const struct pod_spec *a = &alloc->spec;
        int r = 0;
        for (size_t i = 0; i < s->n_containers && r >= 0; i++) {
                const struct pod_container *ac = container_named(a->containers, a->n_containers, s->containers[i].name);
                if (ac && !res_equal(ac->resources, s->containers[i].resources))
                        r = res_assign(&s->containers[i].resources, ac->resources);
        }
        for (size_t i = 0; i < s->n_init_containers && r >= 0; i++) {
                const struct pod_container *ac =
                        container_named(a->init_containers, a->n_init_containers, s->init_containers[i].name);
                if (ac && !res_equal(ac->resources, s->init_containers[i].resources))
                        r = res_assign(&s->init_containers[i].resources, ac->resources);
        }
        if (r >= 0 && !res_equal(a->resources, s->resources)) {
                if (a->resources)
                        r = res_assign(&s->resources, a->resources);
                else {
                        res_free(s->resources);
                        s->resources = NULL;
                }
        }
        if (r < 0) {
                pod_free(p);
                return NULL;
        }
        return p;
}

/* a quantity of the actuated JSON, false when not set */
static bool json_quantity(const json_t *res, const char *kind, const char *name, pod_quantity *ret) {
        const char *s = json_string_value(json_object_get(json_object_get(res, kind), name));
        return s && pod_quantity_parse(s, ret) == 0;
}

static bool quantity_differs(const json_t *actuated, const struct pod_resource_requirements *r, bool limit,
                             const char *name) {
        pod_quantity a = {}, zero = {};
        bool has_a = json_quantity(actuated, limit ? "limits" : "requests", name, &a);
        const pod_quantity *b = r ? (limit ? res_get(r->limits, r->n_limits, name)
                                           : res_get(r->requests, r->n_requests, name))
                                  : NULL;
        return pod_quantity_cmp(has_a ? &a : &zero, b ? b : &zero) != 0;
}

/* the container's resizePolicy for a resource; NotRequired when none is given */
static bool policy_restarts(const struct pod_container *c, const char *name) {
        size_t i;
        json_t *p;
        json_array_foreach(c->resize_policy, i, p)
                if (streq_ptr(json_string_value(json_object_get(p, "resourceName")), name))
                        return streq_ptr(json_string_value(json_object_get(p, "restartPolicy")), "RestartContainer");
        return false;
}

bool pod_resize_needs_restart(const struct pod_container *spec, const json_t *actuated, bool *ret_changed) {
        bool changed = false, restart = false;
        const char *names[] = { "cpu", "memory" };
        for (size_t k = 0; k < 2; k++) {
                bool d = quantity_differs(actuated, spec->resources, true, names[k]) ||
                         quantity_differs(actuated, spec->resources, false, names[k]);
                changed |= d;
                restart |= d && policy_restarts(spec, names[k]);
        }
        if (ret_changed)
                *ret_changed = changed;
        return restart;
}

static json_t *summary_list(const struct pod_container *v, size_t n) {
        json_t *a = json_array();
        for (size_t i = 0; a && i < n; i++)
                json_array_append_new(a, json_pack("{s:s, s:o}", "name", strempty(v[i].name), "resources",
                                                   pod_resources_json(v[i].resources)));
        return a;
}

char *pod_resize_message(const struct pod *pod, const char *prefix, const char *error) {
        /* encoding/json of the kubelet's podResourceSummary: initContainers and containers
         * (omitted when empty), generation, error (omitted when empty), in that order */
        json_t *j = json_object();
        if (!j)
                return NULL;
        if (pod->spec.n_init_containers)
                json_object_set_new(j, "initContainers", summary_list(pod->spec.init_containers, pod->spec.n_init_containers));
        if (pod->spec.n_containers)
                json_object_set_new(j, "containers", summary_list(pod->spec.containers, pod->spec.n_containers));
        json_object_set_new(j, "generation",
                            json_integer(pod->metadata.generation.set ? pod->metadata.generation.v : 0));
        if (!isempty(error))
                json_object_set_new(j, "error", json_string(error));
        char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(j);
        char *m = s ? nl_strdupf("%s: %s", prefix, s) : NULL;
        free(s);
        return m;
}
