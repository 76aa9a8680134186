/* SPDX-License-Identifier: Apache-2.0 */
/* pod_qos_class against upstream's TestComputePodQOS table (pkg/apis/core/v1/helper/qos/qos_test.go)
 * plus quantity spellings, zero quantities, init containers, defaulting and pod-level resources. */
#include <stdlib.h>

#include "podspec/podspec.h"
#include "test.h"

/* One requirement set; NULL means the entry is absent. extra_* is put in requests and limits. */
struct rs {
        const char *req_cpu, *req_mem, *lim_cpu, *lim_mem;
        const char *extra_name, *extra_q;
        const char *restart_policy; /* init containers: "Always" for a sidecar */
        bool empty;                 /* resources present with no entries */
        bool bare;                  /* a container without resources at all */
};

#define RS(rc, rm, lc, lm)                                                                                  \
        { .req_cpu = rc, .req_mem = rm, .lim_cpu = lc, .lim_mem = lm }
#define NONE                                                                                                \
        { 0 }

struct qos_case {
        const char *name;
        struct rs app[3];
        struct rs init[3];
        bool pod_level;
        struct rs pod;
        const char *status;
        const char *want;
};

static void add_res(struct pod_resource **list, size_t *n, const char *name, const char *q) {
        if (!q)
                return;
        struct pod_resource *l = realloc(*list, (*n + 1) * sizeof(*l));
        if (!l)
                abort();
        *list = l;
        l[*n] = (struct pod_resource){.name = strdup(name)};
        if (pod_quantity_parse(q, &l[*n].q) < 0)
                TEST_FAIL("cannot parse quantity \"%s\"", q);
        (*n)++;
}

static bool rs_used(const struct rs *r) {
        return r->req_cpu || r->req_mem || r->lim_cpu || r->lim_mem || r->extra_name || r->empty ||
               r->restart_policy || r->bare;
}

static struct pod_resource_requirements *rs_build(const struct rs *r) {
        if (!r->req_cpu && !r->req_mem && !r->lim_cpu && !r->lim_mem && !r->extra_name && !r->empty)
                return NULL;
        struct pod_resource_requirements *rr = calloc(1, sizeof(*rr));
        if (!rr)
                abort();
        add_res(&rr->requests, &rr->n_requests, "cpu", r->req_cpu);
        add_res(&rr->requests, &rr->n_requests, "memory", r->req_mem);
        add_res(&rr->limits, &rr->n_limits, "cpu", r->lim_cpu);
        add_res(&rr->limits, &rr->n_limits, "memory", r->lim_mem);
        if (r->extra_name) {
                add_res(&rr->requests, &rr->n_requests, r->extra_name, r->extra_q);
                add_res(&rr->limits, &rr->n_limits, r->extra_name, r->extra_q);
        }
        return rr;
}

static void rs_free(struct pod_resource_requirements *rr) {
        if (!rr)
                return;
        for (size_t i = 0; i < rr->n_requests; i++)
                free(rr->requests[i].name);
        for (size_t i = 0; i < rr->n_limits; i++)
                free(rr->limits[i].name);
        free(rr->requests);
        free(rr->limits);
        free(rr);
}

static void build_containers(const struct rs *src, struct pod_container **ret, size_t *n) {
        size_t k = 0;
        while (k < 3 && rs_used(&src[k]))
                k++;
        *n = k;
        *ret = k ? calloc(k, sizeof(**ret)) : NULL;
        for (size_t i = 0; i < k; i++) {
                (*ret)[i].resources = rs_build(&src[i]);
                (*ret)[i].restart_policy = src[i].restart_policy ? strdup(src[i].restart_policy) : NULL;
        }
}

static void free_containers(struct pod_container *c, size_t n) {
        for (size_t i = 0; i < n; i++) {
                rs_free(c[i].resources);
                free(c[i].restart_policy);
        }
        free(c);
}

static void run_case(const struct qos_case *c) {
        struct pod p = {};

        build_containers(c->app, &p.spec.containers, &p.spec.n_containers);
        build_containers(c->init, &p.spec.init_containers, &p.spec.n_init_containers);
        if (c->pod_level) {
                p.spec.resources = rs_build(&c->pod);
                if (!p.spec.resources)
                        p.spec.resources = calloc(1, sizeof(*p.spec.resources));
        }
        p.status.qos_class = (char *) c->status;

        const char *got = pod_qos_class(&p);
        if (!got || !streq(got, c->want))
                TEST_FAIL("%s: got %s, want %s", c->name, got ? got : "(null)", c->want);

        free_containers(p.spec.containers, p.spec.n_containers);
        free_containers(p.spec.init_containers, p.spec.n_init_containers);
        rs_free(p.spec.resources);
}

#define G "Guaranteed"
#define B "Burstable"
#define BE "BestEffort"

/* Upstream's TestComputePodQOS, every row ("" resource lists become absent entries). */
static const struct qos_case upstream_cases[] = {
        {"guaranteed", {RS("100m", "100Mi", "100m", "100Mi")}, {}, false, NONE, NULL, G},
        {"guaranteed-guaranteed",
         {RS("100m", "100Mi", "100m", "100Mi"), RS("100m", "100Mi", "100m", "100Mi")},
         {},
         false,
         NONE,
         NULL,
         G},
        {"best-effort-best-effort", {{.empty = true}, {.empty = true}}, {}, false, NONE, NULL, BE},
        {"best-effort", {{.empty = true}}, {}, false, NONE, NULL, BE},
        {"best-effort-burstable", {{.empty = true}, RS("1", NULL, "2", NULL)}, {}, false, NONE, NULL, B},
        {"best-effort-guaranteed",
         {{.empty = true}, RS("10m", "100Mi", "10m", "100Mi")},
         {},
         false,
         NONE,
         NULL,
         B},
        {"burstable-cpu-guaranteed-memory", {RS(NULL, "100Mi", NULL, "100Mi")}, {}, false, NONE, NULL, B},
        {"burstable-no-limits", {RS("100m", "100Mi", NULL, NULL)}, {}, false, NONE, NULL, B},
        {"burstable-guaranteed",
         {RS("1", "100Mi", "2", "100Mi"), RS("100m", "100Mi", "100m", "100Mi")},
         {},
         false,
         NONE,
         NULL,
         B},
        {"burstable-unbounded-but-requests-match-limits",
         {RS("100m", "100Mi", "200m", "200Mi"), RS("100m", "100Mi", NULL, NULL)},
         {},
         false,
         NONE,
         NULL,
         B},
        {"burstable-1", {RS("10m", "100Mi", "100m", "200Mi")}, {}, false, NONE, NULL, B},
        {"burstable-2", {RS("0", "0", "100m", "200Mi")}, {}, false, NONE, NULL, B},
        {"best-effort-hugepages",
         {{.req_cpu = "0",
           .req_mem = "0",
           .lim_cpu = "0",
           .lim_mem = "0",
           .extra_name = "hugepages-2Mi",
           .extra_q = "1Gi"}},
         {},
         false,
         NONE,
         NULL,
         BE},
        {"init-container", {{.empty = true}}, {RS("10m", "100Mi", "100m", "200Mi")}, false, NONE, NULL, B},
        {"guaranteed-with-pod-level-resources",
         {{.empty = true}},
         {},
         true,
         RS("10m", "100Mi", "10m", "100Mi"),
         NULL,
         G},
        {"guaranteed-with-pod-and-container-level-resources",
         {RS("3m", "10Mi", "5m", "20Mi")},
         {},
         true,
         RS("10m", "100Mi", "10m", "100Mi"),
         NULL,
         G},
        {"burstable-with-pod-level-resources",
         {{.empty = true}},
         {},
         true,
         RS("10m", "10Mi", "20m", "50Mi"),
         NULL,
         B},
        {"burstable-with-pod-and-container-level-resources",
         {RS("5m", "10Mi", "5m", "10Mi")},
         {},
         true,
         RS("10m", "10Mi", "20m", "50Mi"),
         NULL,
         B},
        {"burstable-with-pod-and-container-level-requests",
         {RS("5m", "10Mi", NULL, NULL)},
         {},
         true,
         RS("10m", "10Mi", NULL, NULL),
         NULL,
         B},
        {"burstable-with-pod-and-container-level-resources-2",
         {RS("5m", "10Mi", NULL, NULL), RS("5m", "10Mi", "5m", "10Mi")},
         {},
         true,
         RS("10m", "10Mi", "5m", NULL),
         NULL,
         B},
};

TEST(qos_upstream_table) {
        for (size_t i = 0; i < ELEMENTSOF(upstream_cases); i++)
                run_case(&upstream_cases[i]);
}

static const struct qos_case spelling_cases[] = {
        {"cpu 1 == 1000m", {RS("1", "1Gi", "1000m", "1Gi")}, {}, false, NONE, NULL, G},
        {"memory 1Gi == 1024Mi", {RS("500m", "1Gi", "0.5", "1024Mi")}, {}, false, NONE, NULL, G},
        {"memory 1G != 1Gi", {RS("1", "1G", "1", "1Gi")}, {}, false, NONE, NULL, B},
        {"memory 1k == 1000", {RS("2", "1k", "2000m", "1000")}, {}, false, NONE, NULL, G},
};

TEST(qos_quantity_spellings) {
        for (size_t i = 0; i < ELEMENTSOF(spelling_cases); i++)
                run_case(&spelling_cases[i]);
}

static const struct qos_case zero_cases[] = {
        {"all zero", {RS("0", "0", "0", "0")}, {}, false, NONE, NULL, BE},
        {"zero requests only", {RS("0", "0m", NULL, NULL)}, {}, false, NONE, NULL, BE},
        {"zero cpu, guaranteed memory", {RS("0", "1Gi", "0", "1Gi")}, {}, false, NONE, NULL, B},
        {"zero limits, cpu request", {RS("100m", NULL, "0", "0")}, {}, false, NONE, NULL, B},
        {"zero app container next to guaranteed one",
         {RS("0", "0", "0", "0"), RS("1", "1Gi", "1", "1Gi")},
         {},
         false,
         NONE,
         NULL,
         B},
        {"only ephemeral-storage",
         {{.extra_name = "ephemeral-storage", .extra_q = "1Gi"}},
         {},
         false,
         NONE,
         NULL,
         BE},
        {"guaranteed plus ephemeral-storage",
         {{.req_cpu = "1",
           .req_mem = "1Gi",
           .lim_cpu = "1",
           .lim_mem = "1Gi",
           .extra_name = "ephemeral-storage",
           .extra_q = "2Gi"}},
         {},
         false,
         NONE,
         NULL,
         G},
        {"nvidia gpu does not count",
         {{.extra_name = "nvidia.com/gpu", .extra_q = "1"}},
         {},
         false,
         NONE,
         NULL,
         BE},
};

TEST(qos_zero_and_other_resources) {
        for (size_t i = 0; i < ELEMENTSOF(zero_cases); i++)
                run_case(&zero_cases[i]);
}

static const struct qos_case init_cases[] = {
        {"guaranteed init and app",
         {RS("1", "1Gi", "1", "1Gi")},
         {RS("2", "2Gi", "2", "2Gi")},
         false,
         NONE,
         NULL,
         G},
        {"no init containers, guaranteed app", {RS("1", "1Gi", "1", "1Gi")}, {NONE}, false, NONE, NULL, G},
        {"init without resources, guaranteed app",
         {RS("1", "1Gi", "1", "1Gi")},
         {{.bare = true}},
         false,
         NONE,
         NULL,
         B},
        {"best-effort init (resources {}), guaranteed app",
         {RS("1", "1Gi", "1", "1Gi")},
         {{.empty = true}},
         false,
         NONE,
         NULL,
         B},
        {"burstable init, guaranteed app",
         {RS("1", "1Gi", "1", "1Gi")},
         {RS("1", "1Gi", "2", "1Gi")},
         false,
         NONE,
         NULL,
         B},
        {"guaranteed init, best-effort app",
         {{.empty = true}},
         {RS("1", "1Gi", "1", "1Gi")},
         false,
         NONE,
         NULL,
         B},
        {"guaranteed sidecar and app",
         {RS("1", "1Gi", "1", "1Gi")},
         {{.req_cpu = "100m",
           .req_mem = "64Mi",
           .lim_cpu = "100m",
           .lim_mem = "64Mi",
           .restart_policy = "Always"}},
         false,
         NONE,
         NULL,
         G},
        {"best-effort everywhere", {{.empty = true}}, {{.empty = true}}, false, NONE, NULL, BE},
        {"no containers at all", {}, {}, false, NONE, NULL, BE},
};

TEST(qos_init_containers) {
        for (size_t i = 0; i < ELEMENTSOF(init_cases); i++)
                run_case(&init_cases[i]);
}

/* Requests the API server would default from limits give the same answer when missing. */
static const struct qos_case defaulting_cases[] = {
        {"limits only", {RS(NULL, NULL, "1", "1Gi")}, {}, false, NONE, NULL, G},
        {"limits only, different spelling", {RS(NULL, NULL, "1000m", "1024Mi")}, {}, false, NONE, NULL, G},
        {"memory limit only", {RS(NULL, NULL, NULL, "1Gi")}, {}, false, NONE, NULL, B},
        {"cpu request, both limits", {RS("1", NULL, "1", "1Gi")}, {}, false, NONE, NULL, G},
        {"cpu request lower, both limits", {RS("500m", NULL, "1", "1Gi")}, {}, false, NONE, NULL, B},
        {"init limits only",
         {RS("1", "1Gi", "1", "1Gi")},
         {RS(NULL, NULL, "1", "1Gi")},
         false,
         NONE,
         NULL,
         G},
};

TEST(qos_requests_defaulted_from_limits) {
        for (size_t i = 0; i < ELEMENTSOF(defaulting_cases); i++)
                run_case(&defaulting_cases[i]);
}

static const struct qos_case pod_level_cases[] = {
        {"pod resources {} decide alone", {RS("1", "1Gi", "1", "1Gi")}, {}, true, {.empty = true}, NULL, BE},
        {"pod limits only, no container requests: requests default to limits",
         {{.empty = true}},
         {},
         true,
         RS(NULL, NULL, "1", "1Gi"),
         NULL,
         G},
        {"pod limits only, containers request less: requests default to their sum",
         {RS("250m", "256Mi", NULL, NULL), RS("250m", "256Mi", NULL, NULL)},
         {},
         true,
         RS(NULL, NULL, "1", "1Gi"),
         NULL,
         B},
        {"pod limits only, containers request all of it",
         {RS("500m", "512Mi", NULL, NULL), RS("500m", "512Mi", NULL, NULL)},
         {},
         true,
         RS(NULL, NULL, "1", "1Gi"),
         NULL,
         G},
        {"pod limits only, init container needs the most",
         {RS("500m", "512Mi", NULL, NULL)},
         {RS("1", "1Gi", NULL, NULL)},
         true,
         RS(NULL, NULL, "1", "1Gi"),
         NULL,
         G},
        {"pod limits only, sidecar adds to app containers",
         {RS("500m", "512Mi", NULL, NULL)},
         {{.req_cpu = "500m", .req_mem = "512Mi", .restart_policy = "Always"}},
         true,
         RS(NULL, NULL, "1", "1Gi"),
         NULL,
         G},
        {"pod limits only, init runs next to earlier sidecar",
         {RS("100m", "128Mi", NULL, NULL)},
         {{.req_cpu = "300m", .req_mem = "256Mi", .restart_policy = "Always"},
          RS("700m", "768Mi", NULL, NULL)},
         true,
         RS(NULL, NULL, "1", "1Gi"),
         NULL,
         G},
        {"pod limits only, container requests from container limits",
         {RS(NULL, NULL, "1", "1Gi")},
         {},
         true,
         RS(NULL, NULL, "1", "1Gi"),
         NULL,
         G},
        {"pod cpu limit only", {{.empty = true}}, {}, true, RS(NULL, NULL, "1", NULL), NULL, B},
        {"pod requests only", {{.empty = true}}, {}, true, RS("1", "1Gi", NULL, NULL), NULL, B},
        {"pod-level guaranteed overrides burstable containers",
         {RS("100m", "100Mi", NULL, NULL)},
         {},
         true,
         RS("1", "1Gi", "1000m", "1024Mi"),
         NULL,
         G},
};

TEST(qos_pod_level_resources) {
        for (size_t i = 0; i < ELEMENTSOF(pod_level_cases); i++)
                run_case(&pod_level_cases[i]);
}

static const struct qos_case status_cases[] = {
        {"status wins", {RS("1", "1Gi", "2", "2Gi")}, {}, false, NONE, "Guaranteed", G},
        {"status BestEffort wins", {RS("1", "1Gi", "1", "1Gi")}, {}, false, NONE, "BestEffort", BE},
        {"unknown status computed", {RS("1", "1Gi", "2", "2Gi")}, {}, false, NONE, "Platinum", B},
        {"empty status computed", {RS("1", "1Gi", "1", "1Gi")}, {}, false, NONE, "", G},
};

TEST(qos_status_class_kept) {
        for (size_t i = 0; i < ELEMENTSOF(status_cases); i++)
                run_case(&status_cases[i]);
        CHECK_STR_EQ(pod_qos_class(NULL), "BestEffort");
}
