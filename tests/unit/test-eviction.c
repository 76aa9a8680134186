/* SPDX-License-Identifier: Apache-2.0 */
/* The eviction manager's pure part (agent/eviction-policy.c): thresholds parsed as the
 * kubelet's ParseThresholdConfig with its errors, threshold math (percentages, minimum
 * reclaim), allocatable's reservation, ranking as rankMemoryPressure / rankDiskPressureFunc /
 * rankPIDPressure, and the kubelet's messages. */
#include "agent/eviction.h"
#include "test.h"

static char *parse_error(const char *hard, const char *soft, const char *grace, const char *reclaim) {
        struct eviction_config c = {};
        nl_error err = NL_ERROR_INIT;
        if (eviction_config_parse(hard, soft, grace, reclaim, &c, &err) >= 0) {
                eviction_config_done(&c);
                return strdup("(no error)");
        }
        return err.msg ? err.msg : strdup("(no message)");
}

#define CHECK_PARSE_ERROR(hard, soft, grace, reclaim, want)                                        \
        do {                                                                                       \
                char *_m = parse_error(hard, soft, grace, reclaim);                                \
                CHECK_STR_EQ(_m, want);                                                            \
                free(_m);                                                                          \
        } while (0)

static const struct eviction_threshold *find(const struct eviction_config *c, enum eviction_signal s, bool soft) {
        for (size_t i = 0; i < c->n_thresholds; i++)
                if (c->thresholds[i].signal == s && (c->thresholds[i].grace_period != 0) == soft)
                        return &c->thresholds[i];
        return NULL;
}

TEST(parse_defaults) {
        struct eviction_config c = {};
        CHECK_INT_EQ(eviction_config_parse("memory.available<100Mi,nodefs.available<10%,imagefs.available<15%,"
                                           "nodefs.inodesFree<5%",
                                           NULL, NULL, NULL, &c, NULL),
                     0);
        CHECK_INT_EQ(c.n_thresholds, 4);
        const struct eviction_threshold *t = find(&c, EVICTION_MEMORY_AVAILABLE, false);
        CHECK(t && !t->value.is_percent && eviction_value_quantity(&t->value, 0) == 100 * 1024 * 1024);
        t = find(&c, EVICTION_NODEFS_AVAILABLE, false);
        CHECK(t && t->value.is_percent);
        /* int64(float64(capacity) * float64(float32(0.1))), as GetThresholdQuantity */
        CHECK_INT_EQ(eviction_value_quantity(&t->value, 1000000), 100000);
        CHECK_INT_EQ(c.pressure_transition_period, 300 * 1000000LL);
        eviction_config_done(&c);
}

TEST(parse_soft_and_reclaim) {
        struct eviction_config c = {};
        CHECK_INT_EQ(eviction_config_parse("memory.available<100Mi", "memory.available<1Gi,pid.available<10%",
                                           "memory.available=1m30s,pid.available=10s",
                                           "memory.available=200Mi,nodefs.available=1%", &c, NULL),
                     0);
        CHECK_INT_EQ(c.n_thresholds, 3);
        const struct eviction_threshold *soft = find(&c, EVICTION_MEMORY_AVAILABLE, true),
                                        *hard = find(&c, EVICTION_MEMORY_AVAILABLE, false);
        CHECK(soft && soft->grace_period == 90 * 1000000ULL);
        CHECK(soft && soft->has_min_reclaim && hard && hard->has_min_reclaim);
        CHECK(hard && eviction_value_quantity(&hard->min_reclaim, 0) == 200 * 1024 * 1024);
        CHECK(find(&c, EVICTION_PID_AVAILABLE, true) != NULL);
        eviction_config_done(&c);

        /* 0% and 100% are ignored; a later statement for a signal replaces an earlier one */
        CHECK_INT_EQ(eviction_config_parse("nodefs.available<0%,imagefs.available<100%,memory.available<1Mi,"
                                           "memory.available<2Mi",
                                           "", "", "", &c, NULL),
                     0);
        CHECK_INT_EQ(c.n_thresholds, 1);
        CHECK_INT_EQ(eviction_value_quantity(&c.thresholds[0].value, 0), 2 * 1024 * 1024);
        eviction_config_done(&c);
}

TEST(parse_errors) {
        CHECK_PARSE_ERROR("memory.free<1Mi", NULL, NULL, NULL,
                          "evictionHard (--eviction-hard): unsupported eviction signal memory.free");
        CHECK_PARSE_ERROR("memory.available", NULL, NULL, NULL,
                          "evictionHard (--eviction-hard): \"memory.available\" is not SIGNAL<VALUE");
        CHECK_PARSE_ERROR("memory.available<0", NULL, NULL, NULL,
                          "evictionHard (--eviction-hard): eviction threshold memory.available must be positive: 0");
        CHECK_PARSE_ERROR("memory.available<-1Mi", NULL, NULL, NULL,
                          "evictionHard (--eviction-hard): eviction threshold memory.available must be positive: -1Mi");
        CHECK_PARSE_ERROR("nodefs.available<-5%", NULL, NULL, NULL,
                          "evictionHard (--eviction-hard): eviction percentage threshold nodefs.available must be "
                          ">= 0%: -5%");
        CHECK_PARSE_ERROR("nodefs.available<101%", NULL, NULL, NULL,
                          "evictionHard (--eviction-hard): eviction percentage threshold nodefs.available must be "
                          "<= 100%: 101%");
        CHECK_PARSE_ERROR("nodefs.available<x%", NULL, NULL, NULL,
                          "evictionHard (--eviction-hard): nodefs.available: strconv.ParseFloat: parsing \"x\": "
                          "invalid syntax");
        CHECK_PARSE_ERROR(NULL, "memory.available<1Gi", NULL, NULL,
                          "evictionSoftGracePeriod (--eviction-soft-grace-period): grace period must be specified "
                          "for the soft eviction threshold memory.available");
        CHECK_PARSE_ERROR(NULL, "memory.available<1Gi", "memory.available=soon", NULL,
                          "evictionSoftGracePeriod (--eviction-soft-grace-period): memory.available: time: invalid "
                          "duration \"soon\"");
        CHECK_PARSE_ERROR(NULL, NULL, "disk.available=1m", NULL,
                          "evictionSoftGracePeriod (--eviction-soft-grace-period): unsupported eviction signal "
                          "disk.available");
        CHECK_PARSE_ERROR(NULL, NULL, NULL, "memory.available=-1Mi",
                          "evictionMinimumReclaim (--eviction-minimum-reclaim): negative eviction minimum reclaim "
                          "specified for memory.available");
        CHECK_PARSE_ERROR(NULL, NULL, NULL, "memory.available=0%",
                          "evictionMinimumReclaim (--eviction-minimum-reclaim): eviction percentage minimum reclaim "
                          "memory.available must be positive: 0%");
}

TEST(threshold_met_and_min_reclaim) {
        struct eviction_config c = {};
        CHECK_INT_EQ(eviction_config_parse("memory.available<100Mi,nodefs.available<10%", NULL, NULL,
                                           "memory.available=50Mi", &c, NULL),
                     0);
        struct eviction_observation obs[_EVICTION_SIGNAL_MAX] = {};
        const struct eviction_threshold *mem = find(&c, EVICTION_MEMORY_AVAILABLE, false),
                                        *disk = find(&c, EVICTION_NODEFS_AVAILABLE, false);
        /* nothing observed: never met */
        CHECK(!eviction_threshold_met(mem, obs, false));
        obs[EVICTION_MEMORY_AVAILABLE] = (struct eviction_observation){ true, 99 * 1024 * 1024, 8LL << 30 };
        CHECK(eviction_threshold_met(mem, obs, false));
        obs[EVICTION_MEMORY_AVAILABLE].available = 100 * 1024 * 1024; /* available == threshold: not below */
        CHECK(!eviction_threshold_met(mem, obs, false));
        /* met before: stays until threshold + minimum reclaim are available */
        CHECK(eviction_threshold_met(mem, obs, true));
        obs[EVICTION_MEMORY_AVAILABLE].available = 150 * 1024 * 1024;
        CHECK(!eviction_threshold_met(mem, obs, true));
        obs[EVICTION_NODEFS_AVAILABLE] = (struct eviction_observation){ true, 9, 100 };
        CHECK(eviction_threshold_met(disk, obs, false));
        obs[EVICTION_NODEFS_AVAILABLE].available = 10;
        CHECK(!eviction_threshold_met(disk, obs, false));

        /* allocatable: capacity minus the hard thresholds */
        CHECK_INT_EQ(eviction_hard_reservation(&c, EVICTION_MEMORY_AVAILABLE, 8LL << 30), 100 * 1024 * 1024);
        CHECK_INT_EQ(eviction_hard_reservation(&c, EVICTION_NODEFS_AVAILABLE, 1000), 100);
        CHECK_INT_EQ(eviction_hard_reservation(&c, EVICTION_PID_AVAILABLE, 1000), 0);
        eviction_config_done(&c);
}

static const char *order(struct eviction_pod_stats *p, size_t n) {
        static char buf[256];
        buf[0] = '\0';
        for (size_t i = 0; i < n; i++) {
                strcat(buf, p[i].name);
                if (i + 1 < n)
                        strcat(buf, " ");
        }
        return buf;
}

TEST(rank_memory) {
        const int64_t Mi = 1024 * 1024;
        /* rankMemoryPressure: exceeding the request first, then the lower priority, then the
         * larger usage above the request */
        struct eviction_pod_stats p[] = {
                { .name = "guaranteed", .has_stats = true, .memory_usage = 60 * Mi, .memory_request = 64 * Mi },
                { .name = "hog", .has_stats = true, .memory_usage = 400 * Mi, .memory_request = 16 * Mi },
                { .name = "small-over", .has_stats = true, .memory_usage = 20 * Mi, .memory_request = 16 * Mi },
                { .name = "besteffort", .has_stats = true, .memory_usage = 1 * Mi },
                { .name = "important-over", .has_stats = true, .priority = 1000, .memory_usage = 900 * Mi },
        };
        eviction_rank(RESOURCE_MEMORY, p, ELEMENTSOF(p));
        CHECK_STR_EQ(order(p, ELEMENTSOF(p)), "hog small-over besteffort important-over guaranteed");

        /* under their requests, the larger use above (here: closest to) the request goes first */
        struct eviction_pod_stats q[] = {
                { .name = "g", .has_stats = true, .memory_usage = 1 * Mi, .memory_request = 64 * Mi },
                { .name = "b", .has_stats = true, .memory_usage = 1 * Mi, .memory_request = 16 * Mi },
                { .name = "nostats", .has_stats = false },
        };
        eviction_rank(RESOURCE_MEMORY, q, ELEMENTSOF(q));
        CHECK_STR_EQ(order(q, ELEMENTSOF(q)), "nostats b g");
}

TEST(rank_disk_and_pids) {
        struct eviction_pod_stats p[] = {
                { .name = "quiet", .has_stats = true, .disk_usage = 10, .disk_request = 100 },
                { .name = "filler", .has_stats = true, .disk_usage = 5000 },
                { .name = "within", .has_stats = true, .disk_usage = 90, .disk_request = 100 },
        };
        eviction_rank(RESOURCE_EPHEMERAL_STORAGE, p, ELEMENTSOF(p));
        CHECK_STR_EQ(order(p, ELEMENTSOF(p)), "filler within quiet");

        struct eviction_pod_stats q[] = {
                { .name = "few", .has_stats = true, .processes = 2 },
                { .name = "high", .has_stats = true, .priority = 10, .processes = 500 },
                { .name = "many", .has_stats = true, .processes = 300 },
        };
        eviction_rank(RESOURCE_PIDS, q, ELEMENTSOF(q));
        CHECK_STR_EQ(order(q, ELEMENTSOF(q)), "many few high");
}

TEST(messages) {
        const int64_t Mi = 1024 * 1024;
        pod_quantity req;
        CHECK_INT_EQ(pod_quantity_parse("16Mi", &req), 0);
        struct eviction_container_usage u[] = {
                { .name = "hog", .usage = 400 * Mi, .request = req },
                { .name = "idle", .usage = 1 * Mi, .request = req }, /* within its request: not named */
                { .name = "norequest", .usage = 4096 },
        };
        char *m = eviction_message(RESOURCE_MEMORY, true, 100 * Mi, 52428800, u, ELEMENTSOF(u));
        CHECK_STR_EQ(m, "The node was low on resource: memory. Threshold quantity: 100Mi, available: 50Mi. "
                        "Container hog was using 400Mi, request is 16Mi, has larger consumption of memory. "
                        "Container norequest was using 4Ki, request is 0, has larger consumption of memory. ");
        free(m);
        m = eviction_message(RESOURCE_EPHEMERAL_STORAGE, false, 0, 0, NULL, 0);
        CHECK_STR_EQ(m, "The node was low on resource: ephemeral-storage. ");
        free(m);

        pod_quantity lim;
        CHECK_INT_EQ(pod_quantity_parse("2Mi", &lim), 0);
        m = eviction_message_empty_dir("cache", &lim);
        CHECK_STR_EQ(m, "Usage of EmptyDir volume \"cache\" exceeds the limit \"2Mi\". ");
        free(m);
        m = eviction_message_container_storage("writer", &lim);
        CHECK_STR_EQ(m, "Container writer exceeded its local ephemeral storage limit \"2Mi\". ");
        free(m);
        m = eviction_message_pod_storage(3 * Mi);
        CHECK_STR_EQ(m, "Pod ephemeral local storage usage exceeds the total limit of containers 3Mi. ");
        free(m);
        m = eviction_format_bytes(12345);
        CHECK_STR_EQ(m, "12345");
        free(m);
}

TEST(signals_and_critical_pods) {
        CHECK_INT_EQ(eviction_signal_from_string("nodefs.inodesFree"), EVICTION_NODEFS_INODES_FREE);
        CHECK_INT_EQ(eviction_signal_from_string("allocatableMemory.available"), _EVICTION_SIGNAL_INVALID);
        CHECK_INT_EQ(eviction_signal_pressure(EVICTION_IMAGEFS_AVAILABLE), PRESSURE_DISK);
        CHECK_INT_EQ(eviction_signal_pressure(EVICTION_PID_AVAILABLE), PRESSURE_PID);
        CHECK_STR_EQ(eviction_resource_to_string(eviction_signal_resource(EVICTION_NODEFS_INODES_FREE)), "inodes");

        struct pod p = {};
        CHECK(!eviction_pod_is_critical(&p, false));
        CHECK(eviction_pod_is_critical(&p, true)); /* static */
        p.spec.priority = (nl_opt_int){ true, 2000000000 };
        CHECK(eviction_pod_is_critical(&p, false)); /* system-cluster-critical */
        p.spec.priority = (nl_opt_int){ true, 1999999999 };
        CHECK(!eviction_pod_is_critical(&p, false));
        struct pod_kv a = { (char *) "kubernetes.io/config.mirror", (char *) "x" };
        p.metadata.annotations = &a;
        p.metadata.n_annotations = 1;
        CHECK(eviction_pod_is_critical(&p, false)); /* a mirror pod */
}

TEST(admit_under_pressure) {
        bool none[_PRESSURE_MAX] = {}, mem[_PRESSURE_MAX] = { [PRESSURE_MEMORY] = true },
             disk[_PRESSURE_MAX] = { [PRESSURE_DISK] = true },
             both[_PRESSURE_MAX] = { [PRESSURE_MEMORY] = true, [PRESSURE_DISK] = true };
        struct pod besteffort = {};
        struct pod_resource req = { (char *) "memory", {} };
        CHECK_INT_EQ(pod_quantity_parse("16Mi", &req.q), 0);
        struct pod_resource_requirements rr = { .requests = &req, .n_requests = 1 };
        struct pod_container ctr = { .name = (char *) "c", .resources = &rr };
        struct pod burstable = { .spec = { .containers = &ctr, .n_containers = 1 } };
        CHECK(eviction_admit_message(&besteffort, false, none) == NULL);
        /* memory pressure alone: BestEffort refused, Burstable admitted */
        char *m = eviction_admit_message(&besteffort, false, mem);
        CHECK_STR_EQ(m, "The node had condition: [MemoryPressure]. ");
        free(m);
        CHECK(eviction_admit_message(&burstable, false, mem) == NULL);
        /* ... unless it tolerates the memory-pressure taint */
        struct pod_toleration tol = { .key = (char *) "node.kubernetes.io/memory-pressure",
                                      .operator_ = (char *) "Exists", .effect = (char *) "NoSchedule" };
        besteffort.spec.tolerations = &tol;
        besteffort.spec.n_tolerations = 1;
        CHECK(eviction_admit_message(&besteffort, false, mem) == NULL);
        /* any other pressure: everything but critical pods */
        m = eviction_admit_message(&burstable, false, disk);
        CHECK_STR_EQ(m, "The node had condition: [DiskPressure]. ");
        free(m);
        m = eviction_admit_message(&besteffort, false, both);
        CHECK_STR_EQ(m, "The node had condition: [MemoryPressure DiskPressure]. ");
        free(m);
        CHECK(eviction_admit_message(&burstable, true, disk) == NULL); /* a static pod */
}
