/* SPDX-License-Identifier: Apache-2.0 */
/* pod_apply_static_rules: the kubelet's static pod naming, UID, annotations and toleration. */
#include <stdlib.h>

#include "podspec/podspec.h"
#include "test.h"

#define PATH "/etc/kubernetes/manifests/web.yaml"
#define CONTENT "kind: Pod\n"

static struct pod *pod_new(const char *name) {
        struct pod *p = calloc(1, sizeof(*p));
        if (p && name)
                p->metadata.name = strdup(name);
        return p;
}

/* Frees what these tests and pod_apply_static_rules allocate (pod_free is not linked here). */
static void pod_done(struct pod *p) {
        if (!p)
                return;
        free(p->metadata.name);
        free(p->metadata.generate_name);
        free(p->metadata.namespace);
        free(p->metadata.uid);
        for (size_t i = 0; i < p->metadata.n_annotations; i++) {
                free(p->metadata.annotations[i].key);
                free(p->metadata.annotations[i].value);
        }
        free(p->metadata.annotations);
        for (size_t i = 0; i < p->spec.n_tolerations; i++) {
                struct pod_toleration *t = &p->spec.tolerations[i];
                free(t->key);
                free(t->operator_);
                free(t->value);
                free(t->effect);
        }
        free(p->spec.tolerations);
        free(p->spec.node_name);
        free(p->status.phase);
        free(p);
}

static void add_annotation(struct pod *p, const char *k, const char *v) {
        struct pod_kv *a = realloc(p->metadata.annotations, (p->metadata.n_annotations + 1) * sizeof(*a));
        if (!a)
                abort();
        p->metadata.annotations = a;
        a[p->metadata.n_annotations++] = (struct pod_kv){strdup(k), strdup(v)};
}

static void add_toleration(struct pod *p, const char *key, const char *op, const char *effect,
                           bool has_seconds, int64_t seconds) {
        struct pod_toleration *t = realloc(p->spec.tolerations, (p->spec.n_tolerations + 1) * sizeof(*t));
        if (!t)
                abort();
        p->spec.tolerations = t;
        t[p->spec.n_tolerations++] = (struct pod_toleration){
                .key = key ? strdup(key) : NULL,
                .operator_ = op ? strdup(op) : NULL,
                .effect = effect ? strdup(effect) : NULL,
                .toleration_seconds = {has_seconds, seconds},
        };
}

static size_t count_annotation(const struct pod *p, const char *key, const char **ret_value) {
        size_t n = 0;
        for (size_t i = 0; i < p->metadata.n_annotations; i++)
                if (streq(p->metadata.annotations[i].key, key)) {
                        n++;
                        if (ret_value)
                                *ret_value = p->metadata.annotations[i].value;
                }
        return n;
}

static size_t count_tolerate_all_no_execute(const struct pod *p) {
        size_t n = 0;
        for (size_t i = 0; i < p->spec.n_tolerations; i++) {
                const struct pod_toleration *t = &p->spec.tolerations[i];
                if (isempty(t->key) && streq_ptr(t->operator_, "Exists") && isempty(t->value) &&
                    streq_ptr(t->effect, "NoExecute"))
                        n++;
        }
        return n;
}

/* Applies the rules to a fresh pod and returns its UID (caller frees). */
static char *uid_for(const char *node, const char *path, const char *content) {
        struct pod *p = pod_new("web");
        nl_error err = NL_ERROR_INIT;
        char *uid = NULL;
        if (pod_apply_static_rules(p, node, path, content, strlen(content), &err) == 0)
                uid = strdup(p->metadata.uid);
        else
                TEST_FAIL("pod_apply_static_rules: %s", strempty(err.msg));
        nl_error_clear(&err);
        pod_done(p);
        return uid;
}

TEST(static_basic) {
        struct pod *p = pod_new("web");
        nl_error err = NL_ERROR_INIT;
        const char *v = NULL;

        CHECK_INT_EQ(pod_apply_static_rules(p, "Node-A", PATH, CONTENT, strlen(CONTENT), &err), 0);
        CHECK(err.msg == NULL);
        CHECK_STR_EQ(p->metadata.name, "web-node-a");
        CHECK_STR_EQ(p->metadata.namespace, "default");
        /* md5(content, "host:<node>", "file:<path>"), the node as given. */
        CHECK_STR_EQ(p->metadata.uid, "c1621d186d642ca0fab112ea4677d279");
        CHECK_STR_EQ(p->spec.node_name, "Node-A");
        CHECK_INT_EQ(count_annotation(p, "kubernetes.io/config.hash", &v), 1);
        CHECK_STR_EQ(v, p->metadata.uid);
        CHECK_INT_EQ(count_annotation(p, "kubernetes.io/config.source", &v), 1);
        CHECK_STR_EQ(v, "file");
        CHECK_INT_EQ(p->metadata.n_annotations, 2);
        CHECK_INT_EQ(p->spec.n_tolerations, 1);
        CHECK_INT_EQ(count_tolerate_all_no_execute(p), 1);
        CHECK(!p->spec.tolerations[0].toleration_seconds.set);
        CHECK_STR_EQ(p->status.phase, "Pending");
        pod_done(p);
}

TEST(static_uid_is_hex_md5) {
        char *u = uid_for("n", "", "");
        CHECK_STR_EQ(u, "d211005d49c714c210e213cc68adc517");
        CHECK(u && strlen(u) == 32 && strspn(u, "0123456789abcdef") == 32);
        free(u);
}

TEST(static_uid_stability) {
        char *a = uid_for("node-a", PATH, CONTENT);
        char *b = uid_for("node-a", PATH, CONTENT);
        char *content = uid_for("node-a", PATH, "kind: Pod\n# changed\n");
        char *path = uid_for("node-a", "/etc/kubernetes/manifests/other.yaml", CONTENT);
        char *node = uid_for("node-b", PATH, CONTENT);
        char *node_case = uid_for("NODE-A", PATH, CONTENT);

        CHECK(a && b && content && path && node && node_case);
        if (a && b && content && path && node && node_case) {
                CHECK_STR_EQ(a, b);
                CHECK(!streq(a, content));
                CHECK(!streq(a, path));
                CHECK(!streq(a, node));
                CHECK(!streq(a, node_case)); /* upstream hashes the node name as given */
                CHECK(!streq(content, path));
        }
        free(a);
        free(b);
        free(content);
        free(path);
        free(node);
        free(node_case);
}

TEST(static_given_uid_and_namespace_kept) {
        struct pod *p = pod_new("web");
        nl_error err = NL_ERROR_INIT;
        const char *v = NULL;

        p->metadata.uid = strdup("11111111-2222-3333-4444-555555555555");
        p->metadata.namespace = strdup("kube-system");
        CHECK_INT_EQ(pod_apply_static_rules(p, "node-a", PATH, CONTENT, strlen(CONTENT), &err), 0);
        CHECK_STR_EQ(p->metadata.uid, "11111111-2222-3333-4444-555555555555");
        CHECK_STR_EQ(p->metadata.namespace, "kube-system");
        CHECK_INT_EQ(count_annotation(p, "kubernetes.io/config.hash", &v), 1);
        CHECK_STR_EQ(v, "11111111-2222-3333-4444-555555555555");
        pod_done(p);
}

/* A manifest's own UID names the pod's directories: one that leads elsewhere is refused, naming
 * the field (removing a pod with uid ".." used to remove the whole root dir). */
TEST(static_given_uid_must_be_path_safe) {
        static const char *const bad[] = { "..", ".", "a/b", "../../etc", "x y", "\n", NULL };
        for (size_t i = 0; bad[i]; i++) {
                struct pod *p = pod_new("web");
                nl_error err = NL_ERROR_INIT;
                p->metadata.uid = strdup(bad[i]);
                CHECK_INT_EQ(pod_apply_static_rules(p, "node-a", PATH, CONTENT, strlen(CONTENT), &err), -EINVAL);
                CHECK(err.msg && strncmp(err.msg, "metadata.uid: Invalid value: ", 29) == 0);
                CHECK_STR_EQ(p->metadata.name, "web"); /* untouched */
                nl_error_clear(&err);
                pod_done(p);
        }
        CHECK(pod_uid_is_path_safe("11111111-2222-3333-4444-555555555555"));
        CHECK(pod_uid_is_path_safe("c1621d186d642ca0fab112ea4677d279"));
        CHECK(pod_uid_is_path_safe("a.b_c-D"));
        CHECK(!pod_uid_is_path_safe(""));
        CHECK(!pod_uid_is_path_safe(NULL));
}

TEST(static_empty_uid_string_is_replaced) {
        struct pod *p = pod_new("web");
        nl_error err = NL_ERROR_INIT;

        p->metadata.uid = strdup("");
        p->metadata.namespace = strdup("");
        CHECK_INT_EQ(pod_apply_static_rules(p, "node-a", PATH, CONTENT, strlen(CONTENT), &err), 0);
        CHECK(p->metadata.uid && strlen(p->metadata.uid) == 32);
        CHECK_STR_EQ(p->metadata.namespace, "default");
        pod_done(p);
}

TEST(static_annotations_replaced_not_duplicated) {
        struct pod *p = pod_new("web");
        nl_error err = NL_ERROR_INIT;
        const char *v = NULL;

        add_annotation(p, "example.com/keep", "yes");
        add_annotation(p, "kubernetes.io/config.hash", "stale");
        add_annotation(p, "kubernetes.io/config.source", "api");
        CHECK_INT_EQ(pod_apply_static_rules(p, "node-a", PATH, CONTENT, strlen(CONTENT), &err), 0);
        CHECK_INT_EQ(p->metadata.n_annotations, 3);
        CHECK_INT_EQ(count_annotation(p, "kubernetes.io/config.hash", &v), 1);
        CHECK_STR_EQ(v, p->metadata.uid);
        CHECK_INT_EQ(count_annotation(p, "kubernetes.io/config.source", &v), 1);
        CHECK_STR_EQ(v, "file");
        CHECK_INT_EQ(count_annotation(p, "example.com/keep", &v), 1);
        CHECK_STR_EQ(v, "yes");
        CHECK_STR_EQ(p->metadata.annotations[0].key, "example.com/keep");
        pod_done(p);
}

TEST(static_applying_twice_is_stable_for_annotations) {
        struct pod *p = pod_new("web");
        nl_error err = NL_ERROR_INIT;

        CHECK_INT_EQ(pod_apply_static_rules(p, "node-a", PATH, CONTENT, strlen(CONTENT), &err), 0);
        CHECK_INT_EQ(pod_apply_static_rules(p, "node-a", PATH, CONTENT, strlen(CONTENT), &err), 0);
        CHECK_INT_EQ(p->metadata.n_annotations, 2);
        CHECK_INT_EQ(p->spec.n_tolerations, 1);
        CHECK_STR_EQ(p->metadata.name, "web-node-a-node-a"); /* as upstream: the rules are not idempotent */
        pod_done(p);
}

TEST(static_toleration_appended_after_others) {
        struct pod *p = pod_new("web");
        nl_error err = NL_ERROR_INIT;

        add_toleration(p, "dedicated", "Equal", "NoSchedule", false, 0);
        add_toleration(p, NULL, "Exists", "NoSchedule", false, 0);
        CHECK_INT_EQ(pod_apply_static_rules(p, "node-a", PATH, CONTENT, strlen(CONTENT), &err), 0);
        CHECK_INT_EQ(p->spec.n_tolerations, 3);
        CHECK_STR_EQ(p->spec.tolerations[0].key, "dedicated");
        CHECK_STR_EQ(p->spec.tolerations[1].effect, "NoSchedule");
        CHECK(p->spec.tolerations[2].key == NULL);
        CHECK_STR_EQ(p->spec.tolerations[2].operator_, "Exists");
        CHECK_STR_EQ(p->spec.tolerations[2].effect, "NoExecute");
        CHECK(!p->spec.tolerations[2].toleration_seconds.set);
        pod_done(p);
}

TEST(static_toleration_identical_not_duplicated) {
        struct pod *p = pod_new("web");
        nl_error err = NL_ERROR_INIT;

        add_toleration(p, NULL, "Exists", "NoExecute", false, 0);
        add_toleration(p, "other", "Exists", "NoExecute", false, 0);
        CHECK_INT_EQ(pod_apply_static_rules(p, "node-a", PATH, CONTENT, strlen(CONTENT), &err), 0);
        CHECK_INT_EQ(p->spec.n_tolerations, 2);
        CHECK_INT_EQ(count_tolerate_all_no_execute(p), 1);
        CHECK_STR_EQ(p->spec.tolerations[1].key, "other");
        pod_done(p);
}

TEST(static_toleration_with_seconds_is_updated) {
        struct pod *p = pod_new("web");
        nl_error err = NL_ERROR_INIT;

        /* Same key/operator/value/effect but tolerationSeconds: upstream replaces it in place. */
        add_toleration(p, "", "Exists", "NoExecute", true, 300);
        add_toleration(p, "node.kubernetes.io/unreachable", "Exists", "NoExecute", true, 300);
        CHECK_INT_EQ(pod_apply_static_rules(p, "node-a", PATH, CONTENT, strlen(CONTENT), &err), 0);
        CHECK_INT_EQ(p->spec.n_tolerations, 2);
        CHECK_INT_EQ(count_tolerate_all_no_execute(p), 1);
        CHECK(!p->spec.tolerations[0].toleration_seconds.set);
        CHECK(p->spec.tolerations[1].toleration_seconds.set);
        CHECK_INT_EQ(p->spec.tolerations[1].toleration_seconds.v, 300);
        pod_done(p);
}

TEST(static_toleration_equal_operator_is_different) {
        struct pod *p = pod_new("web");
        nl_error err = NL_ERROR_INIT;

        /* operator "" (Equal) does not match Exists: the Exists toleration is still added. */
        add_toleration(p, NULL, NULL, "NoExecute", false, 0);
        CHECK_INT_EQ(pod_apply_static_rules(p, "node-a", PATH, CONTENT, strlen(CONTENT), &err), 0);
        CHECK_INT_EQ(p->spec.n_tolerations, 2);
        CHECK_INT_EQ(count_tolerate_all_no_execute(p), 1);
        pod_done(p);
}

TEST(static_name_required) {
        struct pod *p = pod_new(NULL);
        nl_error err = NL_ERROR_INIT;

        CHECK_INT_EQ(pod_apply_static_rules(p, "node-a", PATH, CONTENT, strlen(CONTENT), &err), -EINVAL);
        CHECK(err.msg && strstr(err.msg, "metadata.name"));
        CHECK(p->metadata.uid == NULL && p->metadata.n_annotations == 0 && p->spec.n_tolerations == 0);
        nl_error_clear(&err);

        /* generateName is not used for static pods. */
        p->metadata.generate_name = strdup("web-");
        CHECK_INT_EQ(pod_apply_static_rules(p, "node-a", PATH, CONTENT, strlen(CONTENT), &err), -EINVAL);
        CHECK(err.msg && strstr(err.msg, "metadata.name") && strstr(err.msg, "generateName"));
        CHECK(p->metadata.name == NULL);
        nl_error_clear(&err);

        p->metadata.name = strdup("");
        CHECK_INT_EQ(pod_apply_static_rules(p, "node-a", PATH, CONTENT, strlen(CONTENT), &err), -EINVAL);
        nl_error_clear(&err);
        pod_done(p);
}

TEST(static_name_too_long) {
        char name[254];
        nl_error err = NL_ERROR_INIT;

        /* 246 + "-" + "node-a" = 253: allowed. */
        memset(name, 'a', 246);
        name[246] = '\0';
        struct pod *p = pod_new(name);
        CHECK_INT_EQ(pod_apply_static_rules(p, "node-a", PATH, CONTENT, strlen(CONTENT), &err), 0);
        CHECK_INT_EQ(strlen(p->metadata.name), 253);
        pod_done(p);

        /* One more: rejected, pod untouched. */
        name[246] = 'a';
        name[247] = '\0';
        p = pod_new(name);
        CHECK_INT_EQ(pod_apply_static_rules(p, "node-a", PATH, CONTENT, strlen(CONTENT), &err), -EINVAL);
        CHECK(err.msg && strstr(err.msg, "metadata.name") && strstr(err.msg, "253"));
        CHECK_STR_EQ(p->metadata.name, name);
        CHECK(p->metadata.uid == NULL && p->metadata.namespace == NULL && p->spec.node_name == NULL);
        nl_error_clear(&err);
        pod_done(p);

        /* A name of 253 alone leaves no room for the node. */
        memset(name, 'b', 253);
        name[253] = '\0';
        p = pod_new(name);
        CHECK_INT_EQ(pod_apply_static_rules(p, "n", PATH, CONTENT, strlen(CONTENT), &err), -EINVAL);
        nl_error_clear(&err);
        pod_done(p);
}

TEST(static_bad_arguments) {
        struct pod *p = pod_new("web");
        nl_error err = NL_ERROR_INIT;

        CHECK_INT_EQ(pod_apply_static_rules(p, "", PATH, CONTENT, strlen(CONTENT), &err), -EINVAL);
        CHECK(err.msg && strstr(err.msg, "node name"));
        nl_error_clear(&err);
        CHECK_INT_EQ(pod_apply_static_rules(p, NULL, PATH, CONTENT, strlen(CONTENT), &err), -EINVAL);
        nl_error_clear(&err);
        CHECK_INT_EQ(pod_apply_static_rules(p, "node-a", NULL, CONTENT, strlen(CONTENT), &err), -EINVAL);
        nl_error_clear(&err);
        CHECK_INT_EQ(pod_apply_static_rules(p, "node-a", PATH, NULL, 5, &err), -EINVAL);
        nl_error_clear(&err);
        /* err may be NULL. */
        CHECK_INT_EQ(pod_apply_static_rules(p, "", PATH, CONTENT, strlen(CONTENT), NULL), -EINVAL);
        CHECK_STR_EQ(p->metadata.name, "web");
        /* Empty content is fine. */
        CHECK_INT_EQ(pod_apply_static_rules(p, "node-a", PATH, NULL, 0, &err), 0);
        pod_done(p);
}
