/* SPDX-License-Identifier: Apache-2.0 */
/* agent/pod-actions.c: the container hash, what a spec update recreates, which container a new
 * spec restarts, and Ready with readiness gates (the kubelet's computePodActions,
 * containerChanged and GeneratePodReadyCondition). */
#include <stdlib.h>

#include "agent/pod-actions.h"
#include "test.h"

#define BASE                                                                                       \
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, uid: u1}\nspec:\n"                         \
        "  volumes: [{name: d, emptyDir: {}}]\n"

static struct pod *parse(const char *spec) {
        _cleanup_free_ char *yaml = nl_strdupf(BASE "%s", spec);
        struct podspec_file *f = NULL;
        if (!yaml || podspec_parse(yaml, strlen(yaml), &f) < 0 || f->n_documents != 1 || !f->documents[0].pod) {
                TEST_FAIL("cannot parse: %s", spec);
                podspec_file_free(f);
                return NULL;
        }
        struct pod *p = TAKE_PTR(f->documents[0].pod);
        podspec_file_free(f);
        return p;
}

#define TWO(img_a, img_b, extra)                                                                   \
        "  containers:\n"                                                                          \
        "  - {name: a, image: " img_a ", command: [sleep, '1'], ports: [{containerPort: 80}]}\n"   \
        "  - {name: b, image: " img_b ", resources: {limits: {cpu: '1'}}}\n" extra

/* Returns the recreate verdict and the field it names (or "" when in place). */
static int update(const char *a, const char *b, char **field) {
        _cleanup_(pod_freep) struct pod *old = parse(a), *new = parse(b);
        *field = NULL;
        if (!old || !new)
                return -1;
        return pod_update_needs_recreate(old, new, field);
}

TEST(container_hash_is_name_and_image) {
        struct pod_container a = { .name = "c", .image = "busybox:1.35" };
        struct pod_container b = a;
        char *cmd[] = { "sleep", "1" };
        b.command = cmd;
        b.n_command = 2;
        /* the kubelet hashes name and image only: a command change is not a new container */
        CHECK_INT_EQ(pod_container_hash(&a), pod_container_hash(&b));
        b.image = "busybox:latest";
        CHECK(pod_container_hash(&a) != pod_container_hash(&b));
        b = a;
        b.name = "d";
        CHECK(pod_container_hash(&a) != pod_container_hash(&b));
        /* stable across versions: it is kept on disk with each container (FNV-1a of
         * {"image":"busybox:1.35","name":"c"}) */
        CHECK_INT_EQ(pod_container_hash(&a), 0xbbbb7763u);
}

TEST(in_place_updates) {
        char *field = NULL;
        /* kubectl set image, a new command or resources: the pod stays */
        CHECK_INT_EQ(update(TWO("x:1", "y:1", ""), TWO("x:2", "y:1", ""), &field), 0);
        CHECK(!field);
        CHECK_INT_EQ(update(TWO("x:1", "y:1", ""), TWO("x:1", "y:1", ""), &field), 0);
        /* the fields the API server lets change on a running pod */
        CHECK_INT_EQ(update(TWO("x:1", "y:1", "  activeDeadlineSeconds: 60\n"),
                            TWO("x:1", "y:1", "  activeDeadlineSeconds: 5\n  terminationGracePeriodSeconds: 3\n"
                                              "  tolerations: [{key: k, operator: Exists}]\n"),
                            &field),
                     0);
        CHECK_INT_EQ(update(TWO("x:1", "y:1", ""), TWO("x:1", "y:1", "  readinessGates: [{conditionType: g}]\n"), &field),
                     0);
}

TEST(recreating_updates) {
        char *field = NULL;
        CHECK_INT_EQ(update(TWO("x:1", "y:1", ""), TWO("x:1", "y:1", "  hostname: h\n"), &field), 1);
        CHECK_STR_EQ(field, "spec.hostname");
        free(field);
        CHECK_INT_EQ(update(TWO("x:1", "y:1", ""), TWO("x:1", "y:1", "  hostNetwork: true\n"), &field), 1);
        CHECK_STR_EQ(field, "spec.hostNetwork");
        free(field);
        /* a container renamed, added, or its ports (the sandbox's hostPorts) changed */
        CHECK_INT_EQ(update(TWO("x:1", "y:1", ""),
                            "  containers:\n  - {name: a, image: x:1, ports: [{containerPort: 80}]}\n  - {name: c, image: y:1}\n",
                            &field),
                     1);
        CHECK_STR_EQ(field, "spec.containers[1].name");
        free(field);
        CHECK_INT_EQ(update("  containers:\n  - {name: a, image: x:1, ports: [{containerPort: 80}]}\n", TWO("x:1", "y:1", ""),
                            &field), 1);
        CHECK_STR_EQ(field, "spec.containers");
        free(field);
        CHECK_INT_EQ(update(TWO("x:1", "y:1", ""),
                            "  containers:\n  - {name: a, image: x:1, ports: [{containerPort: 80, hostPort: 8080}]}\n"
                            "  - {name: b, image: y:1}\n",
                            &field),
                     1);
        CHECK_STR_EQ(field, "spec.containers[0].ports");
        free(field);
}

#define EPH1 "  ephemeralContainers:\n  - {name: dbg, image: busybox, targetContainerName: a}\n"
#define EPH2 EPH1 "  - {name: dbg2, image: busybox, stdin: true}\n"

/* kubectl debug adds through pods/ephemeralcontainers: the pod stays; an ephemeral container
 * changed or removed (the API refuses it, a static manifest may) is a change of the pod */
TEST(ephemeral_container_updates) {
        char *field = NULL;
        CHECK_INT_EQ(update(TWO("x:1", "y:1", ""), TWO("x:1", "y:1", EPH1), &field), 0);
        CHECK(!field);
        CHECK_INT_EQ(update(TWO("x:1", "y:1", EPH1), TWO("x:1", "y:1", EPH2), &field), 0);
        CHECK(!field);
        CHECK_INT_EQ(update(TWO("x:1", "y:1", EPH2), TWO("x:1", "y:1", EPH1), &field), 1);
        CHECK_STR_EQ(field, "spec.ephemeralContainers[1]");
        free(field);
        CHECK_INT_EQ(update(TWO("x:1", "y:1", EPH1),
                            TWO("x:1", "y:1", "  ephemeralContainers:\n  - {name: dbg, image: busybox:2}\n"), &field),
                     1);
        CHECK_STR_EQ(field, "spec.ephemeralContainers[0]");
        free(field);
}

TEST(container_changed) {
        struct pod_container spec = { .name = "c", .image = "busybox:latest" };
        struct pod_container old = { .name = "c", .image = "busybox:1.35" };
        struct container_status st = { .state = CONTAINER_RUNNING, .has_hash = true, .hash = pod_container_hash(&old) };
        CHECK(pod_container_changed(&spec, &st));
        CHECK(!pod_container_changed(&old, &st));
        /* an exited container is not killed: the restart policy decides (with a fresh back-off) */
        st.state = CONTAINER_EXITED;
        CHECK(!pod_container_changed(&spec, &st));
        /* made before nodelet kept hashes: never restarted for that */
        st.state = CONTAINER_RUNNING;
        st.has_hash = false;
        CHECK(!pod_container_changed(&spec, &st));
        CHECK(!pod_container_changed(&spec, NULL));
}

TEST(readiness_gates) {
        _cleanup_(pod_freep) struct pod *none = parse("  containers: [{name: c, image: x}]\n");
        _cleanup_(pod_freep) struct pod *p =
                parse("  readinessGates: [{conditionType: example.com/a}, {conditionType: b}]\n"
                      "  containers: [{name: c, image: x}]\n");
        if (!none || !p)
                return;
        json_t *conds = json_pack("[{s:s, s:s}, {s:s, s:s}]", "type", "Ready", "status", "False", "type",
                                  "example.com/a", "status", "False");
        CHECK(!pod_readiness_gates_message(none, conds));
        char *m = pod_readiness_gates_message(p, conds);
        CHECK_STR_EQ(m, "the status of pod readiness gate \"example.com/a\" is not \"True\", but False, "
                        "corresponding condition of pod readiness gate \"b\" does not exist.");
        free(m);
        json_array_append_new(conds, json_pack("{s:s, s:s}", "type", "b", "status", "True"));
        json_object_set_new(json_array_get(conds, 1), "status", json_string("True"));
        CHECK(!pod_readiness_gates_message(p, conds));
        m = pod_readiness_gates_message(p, NULL);
        CHECK_STR_EQ(m, "corresponding condition of pod readiness gate \"example.com/a\" does not exist., "
                        "corresponding condition of pod readiness gate \"b\" does not exist.");
        free(m);
        json_decref(conds);
}

/* ---- in-place resize ------------------------------------------------------------------------ */

#define RES(cpu_req, cpu_lim, mem, policy)                                                         \
        "  containers:\n"                                                                          \
        "  - {name: a, image: x:1, resources: {requests: {cpu: '" cpu_req "', memory: " mem "},"   \
        " limits: {cpu: '" cpu_lim "', memory: " mem "}}" policy "}\n"                              \
        "  - {name: b, image: y:1}\n"

TEST(resize_is_in_place) {
        char *field = NULL;
        /* containers' resources and the pod-level resources change through pods/resize */
        CHECK_INT_EQ(update(RES("100m", "200m", "64Mi", ""), RES("300m", "400m", "96Mi", ""), &field), 0);
        CHECK_INT_EQ(update(RES("100m", "200m", "64Mi", ""),
                            RES("100m", "200m", "64Mi", "") "  resources: {limits: {cpu: '1'}}\n", &field),
                     0);
        CHECK(!field);
}

TEST(resources_changed) {
        _cleanup_(pod_freep) struct pod *a = parse(RES("100m", "200m", "64Mi", ""));
        _cleanup_(pod_freep) struct pod *same = parse(RES("0.1", "200m", "65536Ki", ""));
        _cleanup_(pod_freep) struct pod *cpu = parse(RES("150m", "200m", "64Mi", ""));
        _cleanup_(pod_freep) struct pod *pl = parse(RES("100m", "200m", "64Mi", "") "  resources: {limits: {cpu: '1'}}\n");
        if (!a || !same || !cpu || !pl)
                return;
        bool pod_level = true;
        /* quantities compare by value, as apiequality.Semantic */
        CHECK(!pod_resources_changed(a, same, &pod_level));
        CHECK(!pod_level);
        CHECK(pod_resources_changed(a, cpu, &pod_level));
        CHECK(!pod_level);
        CHECK(pod_resources_changed(a, pl, &pod_level));
        CHECK(pod_level);
}

TEST(pod_with_allocation) {
        _cleanup_(pod_freep) struct pod *alloc = parse(RES("100m", "200m", "64Mi", ""));
        _cleanup_(pod_freep) struct pod *desired = parse(
                "  containers:\n"
                "  - {name: a, image: x:2, resources: {requests: {cpu: 1, memory: 1Gi}, limits: {cpu: 2, memory: 1Gi}}}\n"
                "  - {name: b, image: y:1, resources: {requests: {cpu: 50m}}}\n");
        if (!alloc || !desired)
                return;
        _cleanup_(pod_freep) struct pod *p = pod_with_allocation(desired, alloc);
        CHECK(p != NULL);
        if (!p)
                return;
        /* the desired spec (its new image), with what is allocated */
        CHECK_STR_EQ(p->spec.containers[0].image, "x:2");
        CHECK(!pod_resources_changed(alloc, p, NULL));
        json_t *ra = pod_resources_json(p->spec.containers[0].resources);
        _cleanup_free_ char *sa = json_dumps(ra, JSON_COMPACT | JSON_SORT_KEYS);
        CHECK_STR_EQ(sa, "{\"limits\":{\"cpu\":\"200m\",\"memory\":\"64Mi\"},\"requests\":{\"cpu\":\"100m\",\"memory\":\"64Mi\"}}");
        json_decref(ra);
        /* b had no resources when allocated */
        json_t *rb = pod_resources_json(p->spec.containers[1].resources);
        _cleanup_free_ char *sb = json_dumps(rb, JSON_COMPACT);
        CHECK_STR_EQ(sb, "{}");
        json_decref(rb);
}

static bool needs_restart(const char *spec, const char *actuated, bool *changed) {
        _cleanup_(pod_freep) struct pod *p = parse(spec);
        json_t *act = json_loads(actuated, 0, NULL);
        bool r = p && act ? pod_resize_needs_restart(&p->spec.containers[0], act, changed) : false;
        json_decref(act);
        return r;
}

TEST(resize_policy) {
        const char *was = "{\"limits\":{\"cpu\":\"200m\",\"memory\":\"64Mi\"},\"requests\":{\"cpu\":\"100m\",\"memory\":\"64Mi\"}}";
        bool changed = false;
        /* nothing differs */
        CHECK(!needs_restart(RES("100m", "200m", "64Mi", ""), was, &changed));
        CHECK(!changed);
        /* no resizePolicy: NotRequired, an update in place */
        CHECK(!needs_restart(RES("300m", "400m", "64Mi", ""), was, &changed));
        CHECK(changed);
        /* RestartContainer for memory: a cpu change alone stays in place, a memory one restarts */
#define MEM_RESTART ", resizePolicy: [{resourceName: memory, restartPolicy: RestartContainer}]"
        CHECK(!needs_restart(RES("300m", "400m", "64Mi", MEM_RESTART), was, &changed));
        CHECK(changed);
        CHECK(needs_restart(RES("100m", "200m", "128Mi", MEM_RESTART), was, &changed));
        CHECK(changed);
        /* a limit that appears counts as a change */
        CHECK(!needs_restart(RES("100m", "200m", "64Mi", ""), "{\"requests\":{\"cpu\":\"100m\",\"memory\":\"64Mi\"}}",
                             &changed));
        CHECK(changed);
}

TEST(resize_event_message) {
        _cleanup_(pod_freep) struct pod *p = parse(RES("100m", "200m", "64Mi", ""));
        if (!p)
                return;
        p->metadata.generation = (nl_opt_int){ .set = true, .v = 2 };
        /* encoding/json of the kubelet's podResourceSummary (pkg/kubelet/events/resize.go) */
        _cleanup_free_ char *m = pod_resize_message(p, "Pod resize started", NULL);
        CHECK_STR_EQ(m, "Pod resize started: {\"containers\":[{\"name\":\"a\",\"resources\":{\"limits\":{\"cpu\":\"200m\","
                        "\"memory\":\"64Mi\"},\"requests\":{\"cpu\":\"100m\",\"memory\":\"64Mi\"}}},{\"name\":\"b\","
                        "\"resources\":{}}],\"generation\":2}");
        _cleanup_free_ char *d = pod_resize_message(p, "Pod resize Deferred", "Node didn't have enough resource: cpu");
        CHECK(d && strstr(d, ",\"generation\":2,\"error\":\"Node didn't have enough resource: cpu\"}"));
}
