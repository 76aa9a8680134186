/* SPDX-License-Identifier: Apache-2.0 */
/* The pod's QoS class as the kubelet computes it (pkg/apis/core/v1/helper/qos/qos.go GetPodQOS,
 * ComputePodQOS, resourceQOS). Only cpu and memory count (supportedQoSComputeResources).
 *
 * Each requirement set (a container's, or the pod-level spec.resources) has a class of its own:
 *   BestEffort  no requests and no limits at all (of any resource);
 *   Guaranteed  cpu and memory both have request == limit, and neither is zero;
 *   BestEffort  cpu and memory both have request and limit zero or absent;
 *   Burstable   otherwise.
 * The pod: pod-level resources decide alone when spec.resources is present (PodLevelResources,
 * beta and on by default since 1.34); else init and app containers together: Burstable if any is,
 * Guaranteed or BestEffort if all agree, Burstable when they are mixed. */
#include "podspec.h"

/* One object per class: results are compared by pointer below. */
static const char QOS_GUARANTEED[] = "Guaranteed";
static const char QOS_BURSTABLE[] = "Burstable";
static const char QOS_BEST_EFFORT[] = "BestEffort";

static const char *const qos_resources[] = {"cpu", "memory"};

static const pod_quantity *resource_find(const struct pod_resource *list, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (streq_ptr(list[i].name, name))
                        return &list[i].q;
        return NULL;
}

/* A container's request as the API server's defaulting leaves it: the limit when no request is
 * given. Pods from the API server arrive defaulted; this keeps the answer the same when not. */
static const pod_quantity *container_request(const struct pod_resource_requirements *r, const char *name) {
        const pod_quantity *q = resource_find(r->requests, r->n_requests, name);
        return q ? q : resource_find(r->limits, r->n_limits, name);
}

/* resourceQOS, with the requests for cpu and memory given (NULL: absent, i.e. zero). */
static const char *requirements_qos(const struct pod_resource_requirements *r,
                                    const pod_quantity *const req[2]) {
        static const pod_quantity zero = {};
        const char *qos = NULL;

        if (r->n_requests == 0 && r->n_limits == 0)
                return QOS_BEST_EFFORT;

        for (size_t i = 0; i < ELEMENTSOF(qos_resources); i++) {
                const pod_quantity *rq = req[i] ? req[i] : &zero;
                const pod_quantity *lim = resource_find(r->limits, r->n_limits, qos_resources[i]);
                if (!lim)
                        lim = &zero;
                if (pod_quantity_cmp(rq, lim) != 0)
                        return QOS_BURSTABLE; /* they differ, so one is not zero */
                const char *cls = pod_quantity_is_zero(rq) ? QOS_BEST_EFFORT : QOS_GUARANTEED;
                if (qos && qos != cls)
                        return QOS_BURSTABLE; /* e.g. cpu guaranteed, memory not set */
                qos = cls;
        }
        return qos;
}

static const char *container_qos(const struct pod_container *c) {
        const pod_quantity *req[ELEMENTSOF(qos_resources)];

        if (!c->resources)
                return QOS_BEST_EFFORT;
        for (size_t i = 0; i < ELEMENTSOF(qos_resources); i++)
                req[i] = container_request(c->resources, qos_resources[i]);
        return requirements_qos(c->resources, req);
}

/* ---- pod-level defaults --------------------------------------------------------------------- */

struct agg {
        bool present;
        __int128 nano;
};

static __int128 sat_add(__int128 a, __int128 b) {
        const __int128 max = (__int128) (((unsigned __int128) 1 << 127) - 1), min = -max - 1;
        if (b > 0 && a > max - b)
                return max;
        if (b < 0 && a < min - b)
                return min;
        return a + b;
}

static void agg_add(struct agg *a, const struct agg *b) {
        if (!b->present)
                return;
        a->present = true;
        a->nano = sat_add(a->nano, b->nano);
}

static void agg_max(struct agg *a, const struct agg *b) {
        if (!b->present)
                return;
        if (!a->present || b->nano > a->nano)
                a->nano = b->nano;
        a->present = true;
}

static struct agg container_request_agg(const struct pod_container *c, const char *name) {
        const pod_quantity *q = c->resources ? container_request(c->resources, name) : NULL;
        return (struct agg){q != NULL, q ? q->nano : 0};
}

/* The containers' effective request for one resource, as component-helpers'
 * AggregateContainerRequests: app containers and sidecars (restartPolicy Always init
 * containers) add up; each other init container runs alongside the sidecars started before it;
 * the pod needs the larger of the two. */
static struct agg aggregate_container_requests(const struct pod_spec *s, const char *name) {
        struct agg sum = {}, sidecars = {}, init_max = {};

        for (size_t i = 0; i < s->n_containers; i++) {
                struct agg r = container_request_agg(&s->containers[i], name);
                agg_add(&sum, &r);
        }
        for (size_t i = 0; i < s->n_init_containers; i++) {
                const struct pod_container *c = &s->init_containers[i];
                struct agg r = container_request_agg(c, name), cur = {};
                if (streq_ptr(c->restart_policy, "Always")) {
                        agg_add(&sum, &r);
                        agg_add(&sidecars, &r);
                        cur = sidecars;
                } else {
                        agg_add(&cur, &r);
                        agg_add(&cur, &sidecars);
                }
                agg_max(&init_max, &cur);
        }
        agg_max(&sum, &init_max);
        return sum;
}

/* Pod-level resources: the API server defaults a missing pod-level request, when pod-level
 * limits are given, to the containers' aggregate request for it, or else to the pod-level limit
 * (pkg/apis/core/v1/defaults.go). Applied here too so an undefaulted pod gets the same class. */
static const char *pod_level_qos(const struct pod_spec *s) {
        const struct pod_resource_requirements *r = s->resources;
        const pod_quantity *req[ELEMENTSOF(qos_resources)];
        pod_quantity defaulted[ELEMENTSOF(qos_resources)] = {};

        for (size_t i = 0; i < ELEMENTSOF(qos_resources); i++) {
                req[i] = resource_find(r->requests, r->n_requests, qos_resources[i]);
                if (req[i] || r->n_limits == 0)
                        continue;
                struct agg a = aggregate_container_requests(s, qos_resources[i]);
                if (a.present) {
                        defaulted[i] = (pod_quantity){.set = true, .nano = a.nano};
                        req[i] = &defaulted[i];
                } else
                        req[i] = resource_find(r->limits, r->n_limits, qos_resources[i]);
        }
        return requirements_qos(r, req);
}

const char *pod_qos_class(const struct pod *p) {
        const char *qos = NULL;

        if (!p)
                return QOS_BEST_EFFORT;

        /* GetPodQOS: the class recorded in status wins (the API server sets it at creation and it
         * does not change, e.g. across an in-place resize). Only the three known values. */
        if (p->status.qos_class) {
                if (streq(p->status.qos_class, QOS_GUARANTEED))
                        return QOS_GUARANTEED;
                if (streq(p->status.qos_class, QOS_BURSTABLE))
                        return QOS_BURSTABLE;
                if (streq(p->status.qos_class, QOS_BEST_EFFORT))
                        return QOS_BEST_EFFORT;
        }

        if (p->spec.resources)
                return pod_level_qos(&p->spec);

        const struct pod_container *lists[2] = {p->spec.init_containers, p->spec.containers};
        const size_t counts[2] = {p->spec.n_init_containers, p->spec.n_containers};
        for (size_t l = 0; l < 2; l++)
                for (size_t i = 0; i < counts[l]; i++) {
                        const char *c = container_qos(&lists[l][i]);
                        if (c == QOS_BURSTABLE)
                                return QOS_BURSTABLE;
                        if (qos && qos != c)
                                return QOS_BURSTABLE; /* one BestEffort, one Guaranteed */
                        qos = c;
                }
        return qos ? qos : QOS_BEST_EFFORT; /* no containers at all */
}
