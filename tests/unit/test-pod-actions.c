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
