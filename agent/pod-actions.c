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
 * (a static manifest may do it) is a change of the pod (ephemeral_changed). */
static const char *const IN_PLACE_FIELDS[] = {
        "activeDeadlineSeconds", "terminationGracePeriodSeconds", "tolerations", "schedulingGates",
        "readinessGates", "ephemeralContainers", NULL,
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
