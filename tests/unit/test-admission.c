/* SPDX-License-Identifier: Apache-2.0 */
/* agent/admission.c: the kubelet's predicate admission rules, pure. Cases follow upstream's
 * tests: component-helpers' nodeaffinity_test.go (operators, matchFields, terms ORed),
 * nodeports' node_ports_test.go (hostIP 0.0.0.0 against specific, protocol), component-helpers'
 * resource helpers_test.go (PodRequests with init containers, sidecars and overhead), and
 * pkg/kubelet/lifecycle/predicate_test.go (reasons and messages). */
#include <stdlib.h>

#include "agent/admission.h"
#include "test.h"

static struct pod *mk(const char *json) {
        json_error_t je;
        json_t *j = json_loads(json, 0, &je);
        if (!j) {
                TEST_FAIL("bad test JSON: %s: %s", je.text, json);
                abort();
        }
        struct pod *p = pod_from_json(j, NULL, NULL);
        json_decref(j);
        if (!p || pod_set_defaults(p) < 0)
                abort();
        return p;
}

static const struct pod_kv node_labels[] = {
        { "kubernetes.io/hostname", "node1" }, { "kubernetes.io/os", "linux" }, { "disk", "ssd" },
        { "gen", "5" },
};

static struct admission_node node1(void) {
        return (struct admission_node){
                .name = "node1",
                .labels = node_labels,
                .n_labels = ELEMENTSOF(node_labels),
                .milli_cpu = 2000,
                .memory = 1024 * 1024 * 1024,
                .ephemeral_storage = 10LL << 30,
                .pods = 110,
        };
}

/* A pod with a required node affinity of one term holding one expression. */
static bool expr_matches(const char *expr) {
        _cleanup_free_ char *json = nl_strdupf(
                "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\"}],"
                "\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":"
                "{\"nodeSelectorTerms\":[%s]}}}}}",
                expr);
        struct pod *p = mk(json);
        struct admission_node n = node1();
        bool r = admission_node_affinity_matches(p, &n);
        pod_free(p);
        return r;
}

#define TERM(e) "{\"matchExpressions\":[" e "]}"
#define FIELDS(e) "{\"matchFields\":[" e "]}"

TEST(affinity_operators) {
        CHECK(expr_matches(TERM("{\"key\":\"disk\",\"operator\":\"In\",\"values\":[\"hdd\",\"ssd\"]}")));
        CHECK(!expr_matches(TERM("{\"key\":\"disk\",\"operator\":\"In\",\"values\":[\"hdd\"]}")));
        CHECK(!expr_matches(TERM("{\"key\":\"nope\",\"operator\":\"In\",\"values\":[\"ssd\"]}")));
        CHECK(expr_matches(TERM("{\"key\":\"disk\",\"operator\":\"NotIn\",\"values\":[\"hdd\"]}")));
        CHECK(!expr_matches(TERM("{\"key\":\"disk\",\"operator\":\"NotIn\",\"values\":[\"ssd\"]}")));
        /* NotIn of a missing label matches */
        CHECK(expr_matches(TERM("{\"key\":\"nope\",\"operator\":\"NotIn\",\"values\":[\"x\"]}")));
        CHECK(expr_matches(TERM("{\"key\":\"disk\",\"operator\":\"Exists\"}")));
        CHECK(!expr_matches(TERM("{\"key\":\"nope\",\"operator\":\"Exists\"}")));
        CHECK(expr_matches(TERM("{\"key\":\"nope\",\"operator\":\"DoesNotExist\"}")));
        CHECK(!expr_matches(TERM("{\"key\":\"disk\",\"operator\":\"DoesNotExist\"}")));
        CHECK(expr_matches(TERM("{\"key\":\"gen\",\"operator\":\"Gt\",\"values\":[\"4\"]}")));
        CHECK(!expr_matches(TERM("{\"key\":\"gen\",\"operator\":\"Gt\",\"values\":[\"5\"]}")));
        CHECK(expr_matches(TERM("{\"key\":\"gen\",\"operator\":\"Lt\",\"values\":[\"6\"]}")));
        CHECK(!expr_matches(TERM("{\"key\":\"gen\",\"operator\":\"Lt\",\"values\":[\"5\"]}")));
        CHECK(expr_matches(TERM("{\"key\":\"gen\",\"operator\":\"Gt\",\"values\":[\"-3\"]}")));
        /* Gt on a label that is not a number, or a value that is not one: no match */
        CHECK(!expr_matches(TERM("{\"key\":\"disk\",\"operator\":\"Gt\",\"values\":[\"1\"]}")));
        CHECK(!expr_matches(TERM("{\"key\":\"gen\",\"operator\":\"Gt\",\"values\":[\"one\"]}")));
        CHECK(!expr_matches(TERM("{\"key\":\"gen\",\"operator\":\"Gt\",\"values\":[\"1\",\"2\"]}")));
        CHECK(!expr_matches(TERM("{\"key\":\"gen\",\"operator\":\"Gt\",\"values\":[\" 1\"]}")));
        /* values the operator cannot take: the term matches nothing */
        CHECK(!expr_matches(TERM("{\"key\":\"disk\",\"operator\":\"In\",\"values\":[]}")));
        CHECK(!expr_matches(TERM("{\"key\":\"disk\",\"operator\":\"Exists\",\"values\":[\"ssd\"]}")));
        CHECK(!expr_matches(TERM("{\"key\":\"disk\",\"operator\":\"Like\",\"values\":[\"ssd\"]}")));
        /* all requirements of a term */
        CHECK(expr_matches(TERM("{\"key\":\"disk\",\"operator\":\"Exists\"},"
                                "{\"key\":\"gen\",\"operator\":\"In\",\"values\":[\"5\"]}")));
        CHECK(!expr_matches(TERM("{\"key\":\"disk\",\"operator\":\"Exists\"},"
                                 "{\"key\":\"gen\",\"operator\":\"In\",\"values\":[\"6\"]}")));
}

TEST(affinity_terms_and_fields) {
        /* terms are ORed */
        CHECK(expr_matches(TERM("{\"key\":\"disk\",\"operator\":\"In\",\"values\":[\"hdd\"]}") ","
                                   TERM("{\"key\":\"disk\",\"operator\":\"In\",\"values\":[\"ssd\"]}")));
        /* no terms, or an empty term: nothing matches */
        CHECK(!expr_matches(""));
        CHECK(!expr_matches("{}"));
        CHECK(expr_matches(FIELDS("{\"key\":\"metadata.name\",\"operator\":\"In\",\"values\":[\"node1\"]}")));
        CHECK(!expr_matches(FIELDS("{\"key\":\"metadata.name\",\"operator\":\"In\",\"values\":[\"node2\"]}")));
        CHECK(expr_matches(FIELDS("{\"key\":\"metadata.name\",\"operator\":\"NotIn\",\"values\":[\"node2\"]}")));
        CHECK(!expr_matches(FIELDS("{\"key\":\"metadata.name\",\"operator\":\"NotIn\",\"values\":[\"node1\"]}")));
        /* only metadata.name, one value, In or NotIn */
        CHECK(!expr_matches(FIELDS("{\"key\":\"metadata.uid\",\"operator\":\"In\",\"values\":[\"node1\"]}")));
        CHECK(!expr_matches(FIELDS(
                "{\"key\":\"metadata.name\",\"operator\":\"In\",\"values\":[\"node1\",\"node2\"]}")));
        CHECK(!expr_matches(FIELDS("{\"key\":\"metadata.name\",\"operator\":\"Exists\"}")));
        /* expressions and fields in one term: both */
        CHECK(expr_matches("{\"matchExpressions\":[{\"key\":\"disk\",\"operator\":\"Exists\"}],"
                           "\"matchFields\":[{\"key\":\"metadata.name\",\"operator\":\"In\",\"values\":[\"node1\"]}]}"));
        CHECK(!expr_matches("{\"matchExpressions\":[{\"key\":\"disk\",\"operator\":\"Exists\"}],"
                            "\"matchFields\":[{\"key\":\"metadata.name\",\"operator\":\"In\",\"values\":[\"x\"]}]}"));
}

TEST(node_selector) {
        struct admission_node n = node1();
        struct pod *p = mk("{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\"}],"
                           "\"nodeSelector\":{\"disk\":\"ssd\",\"kubernetes.io/os\":\"linux\"}}}");
        CHECK(admission_node_affinity_matches(p, &n));
        pod_free(p);
        p = mk("{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\"}],"
               "\"nodeSelector\":{\"disk\":\"hdd\"}}}");
        CHECK(!admission_node_affinity_matches(p, &n));
        char *reason = NULL, *message = NULL;
        CHECK_INT_EQ(admission_check(&n, p, NULL, 0, &reason, &message), -1);
        CHECK_STR_EQ(reason, "NodeAffinity");
        CHECK_STR_EQ(message, "Predicate NodeAffinity failed: node(s) didn't match Pod's node affinity/selector");
        free(reason);
        free(message);
        pod_free(p);
        /* the selector and the affinity must both match */
        p = mk("{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\"}],"
               "\"nodeSelector\":{\"disk\":\"ssd\"},\"affinity\":{\"nodeAffinity\":{"
               "\"requiredDuringSchedulingIgnoredDuringExecution\":{\"nodeSelectorTerms\":[" TERM(
                       "{\"key\":\"gen\",\"operator\":\"Lt\",\"values\":[\"2\"]}") "]}}}}}");
        CHECK(!admission_node_affinity_matches(p, &n));
        pod_free(p);
        /* a preferred affinity alone does not constrain */
        p = mk("{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\"}],"
               "\"affinity\":{\"nodeAffinity\":{\"preferredDuringSchedulingIgnoredDuringExecution\":[{\"weight\":1,"
               "\"preference\":" TERM("{\"key\":\"disk\",\"operator\":\"In\",\"values\":[\"hdd\"]}") "}]}}}}");
        CHECK(admission_node_affinity_matches(p, &n));
        pod_free(p);
}

/* A pod with one container and these ports. */
static struct pod *with_ports(const char *ports) {
        _cleanup_free_ char *json = nl_strdupf(
                "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\","
                "\"ports\":[%s]}]}}",
                ports);
        return mk(json);
}

static bool ports_fit(const char *want, const char *have) {
        struct pod *a = with_ports(want), *b = with_ports(have);
        const struct pod *others[] = { b };
        bool r = admission_ports_fit(a, others, 1);
        pod_free(a);
        pod_free(b);
        return r;
}

TEST(host_ports) {
        CHECK(!ports_fit("{\"containerPort\":80,\"hostPort\":8080}", "{\"containerPort\":81,\"hostPort\":8080}"));
        CHECK(ports_fit("{\"containerPort\":80,\"hostPort\":8080}", "{\"containerPort\":80,\"hostPort\":8081}"));
        /* protocol: TCP by default, UDP apart */
        CHECK(ports_fit("{\"containerPort\":80,\"hostPort\":8080,\"protocol\":\"UDP\"}",
                        "{\"containerPort\":80,\"hostPort\":8080}"));
        CHECK(!ports_fit("{\"containerPort\":80,\"hostPort\":8080,\"protocol\":\"TCP\"}",
                         "{\"containerPort\":80,\"hostPort\":8080}"));
        /* hostIP: 0.0.0.0 (or empty) takes every address; two specific ones are apart */
        CHECK(!ports_fit("{\"containerPort\":80,\"hostPort\":8080,\"hostIP\":\"127.0.0.1\"}",
                         "{\"containerPort\":80,\"hostPort\":8080}"));
        CHECK(!ports_fit("{\"containerPort\":80,\"hostPort\":8080}",
                         "{\"containerPort\":80,\"hostPort\":8080,\"hostIP\":\"127.0.0.1\"}"));
        CHECK(!ports_fit("{\"containerPort\":80,\"hostPort\":8080,\"hostIP\":\"0.0.0.0\"}",
                         "{\"containerPort\":80,\"hostPort\":8080,\"hostIP\":\"10.0.0.1\"}"));
        CHECK(ports_fit("{\"containerPort\":80,\"hostPort\":8080,\"hostIP\":\"127.0.0.1\"}",
                        "{\"containerPort\":80,\"hostPort\":8080,\"hostIP\":\"10.0.0.1\"}"));
        CHECK(!ports_fit("{\"containerPort\":80,\"hostPort\":8080,\"hostIP\":\"10.0.0.1\"}",
                         "{\"containerPort\":80,\"hostPort\":8080,\"hostIP\":\"10.0.0.1\"}"));
        /* no hostPort: nothing taken */
        CHECK(ports_fit("{\"containerPort\":80}", "{\"containerPort\":80}"));

        struct admission_node n = node1();
        struct pod *a = with_ports("{\"containerPort\":80,\"hostPort\":8080}"), *b = with_ports(
                                                                                      "{\"containerPort\":80,\"hostPort\":8080}");
        const struct pod *others[] = { b };
        char *reason = NULL, *message = NULL;
        CHECK_INT_EQ(admission_check(&n, a, others, 1, &reason, &message), -1);
        CHECK_STR_EQ(reason, "NodePorts");
        CHECK_STR_EQ(message, "Predicate NodePorts failed: node(s) didn't have free ports for the requested pod ports");
        free(reason);
        free(message);
        pod_free(a);
        pod_free(b);
}

TEST(pod_requests) {
        /* max(sum of apps + sidecars, each init + the sidecars before it) + overhead */
        struct pod *p = mk(
                "{\"metadata\":{\"name\":\"p\"},\"spec\":{"
                "\"initContainers\":["
                "{\"name\":\"i1\",\"image\":\"i\",\"resources\":{\"requests\":{\"cpu\":\"1\",\"memory\":\"100Mi\"}}},"
                "{\"name\":\"s1\",\"image\":\"i\",\"restartPolicy\":\"Always\",\"resources\":{\"requests\":{\"cpu\":\"500m\"}}},"
                "{\"name\":\"i2\",\"image\":\"i\",\"resources\":{\"requests\":{\"cpu\":\"800m\",\"memory\":\"1Gi\"}}}],"
                "\"containers\":["
                "{\"name\":\"a\",\"image\":\"i\",\"resources\":{\"requests\":{\"cpu\":\"200m\",\"memory\":\"10Mi\"}}},"
                "{\"name\":\"b\",\"image\":\"i\",\"resources\":{\"limits\":{\"cpu\":\"100m\",\"memory\":\"20Mi\"}}}],"
                "\"overhead\":{\"cpu\":\"10m\",\"memory\":\"1Mi\"}}}");
        /* cpu: apps 300m + sidecar 500m = 800m; i1 1000m; i2 800m + 500m = 1300m -> 1300m + 10m */
        CHECK_INT_EQ(admission_pod_request(p, "cpu"), 1310);
        /* memory: apps 30Mi; i1 100Mi; i2 1Gi -> 1Gi + 1Mi */
        CHECK_INT_EQ(admission_pod_request(p, "memory"), (1LL << 30) + (1LL << 20));
        CHECK_INT_EQ(admission_pod_request(p, "ephemeral-storage"), 0);
        pod_free(p);
        /* sidecars add to the apps once the inits are done */
        p = mk("{\"metadata\":{\"name\":\"p\"},\"spec\":{"
               "\"initContainers\":[{\"name\":\"s1\",\"image\":\"i\",\"restartPolicy\":\"Always\","
               "\"resources\":{\"requests\":{\"cpu\":\"2\"}}}],"
               "\"containers\":[{\"name\":\"a\",\"image\":\"i\",\"resources\":{\"requests\":{\"cpu\":\"1\"}}}]}}");
        CHECK_INT_EQ(admission_pod_request(p, "cpu"), 3000);
        pod_free(p);
}

static int check(const struct admission_node *n, const char *pod_json, const struct pod *other, char **reason,
                 char **message) {
        struct pod *p = mk(pod_json);
        const struct pod *others[] = { other };
        int r = admission_check(n, p, others, other ? 1 : 0, reason, message);
        pod_free(p);
        return r;
}

#define POD_REQ(res) \
        "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\"," \
        "\"resources\":{\"requests\":{" res "}}}]}}"

TEST(resources) {
        struct admission_node n = node1();
        char *reason = NULL, *message = NULL;
        struct pod *used = mk(POD_REQ("\"cpu\":\"1500m\",\"memory\":\"512Mi\""));
        CHECK_INT_EQ(check(&n, POD_REQ("\"cpu\":\"500m\""), used, &reason, &message), 0);
        CHECK_INT_EQ(check(&n, POD_REQ("\"cpu\":\"501m\""), used, &reason, &message), -1);
        CHECK_STR_EQ(reason, "OutOfcpu");
        CHECK_STR_EQ(message, "Node didn't have enough resource: cpu, requested: 501, used: 1500, capacity: 2000");
        free(reason);
        free(message);
        CHECK_INT_EQ(check(&n, POD_REQ("\"memory\":\"600Mi\""), used, &reason, &message), -1);
        CHECK_STR_EQ(reason, "OutOfmemory");
        CHECK_STR_EQ(message, "Node didn't have enough resource: memory, requested: 629145600, used: 536870912, "
                              "capacity: 1073741824");
        free(reason);
        free(message);
        CHECK_INT_EQ(check(&n, POD_REQ("\"ephemeral-storage\":\"11Gi\""), NULL, &reason, &message), -1);
        CHECK_STR_EQ(reason, "OutOfephemeral-storage");
        CHECK_STR_EQ(message, "Node didn't have enough resource: ephemeral-storage, requested: 11811160064, used: 0, "
                              "capacity: 10737418240");
        free(reason);
        free(message);
        /* hugepages the node has not: OutOfhugepages-2Mi */
        CHECK_INT_EQ(check(&n, "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[{\"name\":\"c\","
                               "\"image\":\"i\",\"resources\":{\"requests\":{\"hugepages-2Mi\":\"4Mi\","
                               "\"memory\":\"10Mi\"},\"limits\":{\"hugepages-2Mi\":\"4Mi\",\"memory\":\"10Mi\"}}}]}}",
                           NULL, &reason, &message),
                     -1);
        CHECK_STR_EQ(reason, "OutOfhugepages-2Mi");
        CHECK_STR_EQ(message, "Node didn't have enough resource: hugepages-2Mi, requested: 4194304, used: 0, capacity: 0");
        free(reason);
        free(message);
        /* with them */
        struct admission_scalar hp[] = { { "hugepages-2Mi", 8 << 20 } };
        struct admission_node nh = node1();
        nh.scalars = hp;
        nh.n_scalars = 1;
        CHECK_INT_EQ(check(&nh, POD_REQ("\"hugepages-2Mi\":\"4Mi\""), NULL, &reason, &message), 0);
        /* an extended resource the node does not know is left to the cluster: admitted */
        CHECK_INT_EQ(check(&n, POD_REQ("\"example.com/widget\":\"3\""), NULL, &reason, &message), 0);
        /* pods: the count of the others against maxPods */
        struct admission_node n1 = node1();
        n1.pods = 1;
        CHECK_INT_EQ(check(&n1, POD_REQ("\"cpu\":\"1m\""), used, &reason, &message), -1);
        CHECK_STR_EQ(reason, "OutOfpods");
        CHECK_STR_EQ(message, "Node didn't have enough resource: pods, requested: 1, used: 1, capacity: 1");
        free(reason);
        free(message);
        /* a pod without requests fits a full node, as upstream */
        CHECK_INT_EQ(check(&n, POD_REQ(""), used, &reason, &message), 0);
        pod_free(used);
}

TEST(os_name_taints) {
        struct admission_node n = node1();
        char *reason = NULL, *message = NULL;
        CHECK_INT_EQ(check(&n, "{\"metadata\":{\"name\":\"p\",\"labels\":{\"kubernetes.io/os\":\"windows\"}},"
                               "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}",
                           NULL, &reason, &message),
                     -1);
        CHECK_STR_EQ(reason, "PodOSSelectorNodeLabelDoesNotMatch");
        CHECK_STR_EQ(message, "Failed to admit pod as the `kubernetes.io/os` label doesn't match node label");
        free(reason);
        free(message);
        CHECK_INT_EQ(check(&n, "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"os\":{\"name\":\"windows\"},"
                               "\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}",
                           NULL, &reason, &message),
                     -1);
        CHECK_STR_EQ(reason, "PodOSNotSupported");
        free(reason);
        free(message);
        CHECK_INT_EQ(check(&n, "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"nodeName\":\"node2\","
                               "\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}",
                           NULL, &reason, &message),
                     -1);
        CHECK_STR_EQ(reason, "NodeName");
        CHECK_STR_EQ(message, "Predicate NodeName failed: node(s) didn't match the requested node name");
        free(reason);
        free(message);

        /* taints: only NoExecute ones count; static pods are exempt */
        struct admission_taint t[] = { { "dedicated", "gpu", "NoSchedule" }, { "maint", "", "NoExecute" } };
        n.taints = t;
        n.n_taints = ELEMENTSOF(t);
        CHECK_INT_EQ(check(&n, "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}",
                           NULL, &reason, &message),
                     -1);
        CHECK_STR_EQ(reason, "TaintToleration");
        CHECK_STR_EQ(message, "Predicate TaintToleration failed: node(s) had taints that the pod didn't tolerate");
        free(reason);
        free(message);
        CHECK_INT_EQ(check(&n, "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\"}],"
                               "\"tolerations\":[{\"key\":\"maint\",\"operator\":\"Exists\"}]}}",
                           NULL, &reason, &message),
                     0);
        CHECK_INT_EQ(check(&n, "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\"}],"
                               "\"tolerations\":[{\"key\":\"maint\",\"value\":\"x\"}]}}",
                           NULL, &reason, &message),
                     -1);
        free(reason);
        free(message);
        CHECK_INT_EQ(check(&n, "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\"}],"
                               "\"tolerations\":[{\"operator\":\"Exists\",\"effect\":\"NoExecute\"}]}}",
                           NULL, &reason, &message),
                     0);
        CHECK_INT_EQ(check(&n, "{\"metadata\":{\"name\":\"p\",\"annotations\":{\"kubernetes.io/config.source\":\"file\"}},"
                               "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}",
                           NULL, &reason, &message),
                     0);
}

TEST(first_failure_wins) {
        /* resources come before node affinity, as scheduler.AdmissionCheck */
        struct admission_node n = node1();
        char *reason = NULL, *message = NULL;
        CHECK_INT_EQ(check(&n, "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"nodeSelector\":{\"disk\":\"hdd\"},"
                               "\"containers\":[{\"name\":\"c\",\"image\":\"i\",\"resources\":{\"requests\":{\"cpu\":\"3\"}}}]}}",
                           NULL, &reason, &message),
                     -1);
        CHECK_STR_EQ(reason, "OutOfcpu");
        free(reason);
        free(message);
}
