/* SPDX-License-Identifier: Apache-2.0 */
/* The Pod model's decode/encode engine and podspec_parse: kinds, Lists, type errors, unknown
 * fields, caps, round trips. Validation and defaults are covered by the manifest corpus. */
#include <stdio.h>

#include "podspec/podspec.h"
#include "test.h"

static struct podspec_file *parse(const char *s) {
        struct podspec_file *f = NULL;
        if (podspec_parse(s, strlen(s), &f) < 0)
                return NULL;
        return f;
}

static bool has_message(const pod_error_list *l, const char *msg) {
        for (size_t i = 0; i < l->n_items; i++)
                if (streq(l->items[i].message, msg))
                        return true;
        return false;
}

static void dump(const pod_error_list *l) {
        for (size_t i = 0; i < l->n_items; i++)
                fprintf(stderr, "    got: %s\n", l->items[i].message);
}

#define CHECK_MSG(list, msg)                                                                       \
        do {                                                                                       \
                if (!has_message((list), (msg))) {                                                 \
                        TEST_FAIL("missing error: %s", (msg));                                     \
                        dump(list);                                                                \
                }                                                                                  \
        } while (0)

static const char RICH[] =
        "apiVersion: v1\n"
        "kind: Pod\n"
        "metadata:\n"
        "  name: rich\n"
        "  namespace: ns\n"
        "  uid: 0b5f2a9e-1111-2222-3333-444455556666\n"
        "  labels: {b: '2', a: '1'}\n"
        "  ownerReferences: [{apiVersion: v1, kind: Node, name: n1, uid: u1, controller: true}]\n"
        "  deletionGracePeriodSeconds: 30\n"
        "spec:\n"
        "  hostNetwork: false\n"
        "  shareProcessNamespace: true\n"
        "  terminationGracePeriodSeconds: 0\n"
        "  affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: []}}}\n"
        "  securityContext:\n"
        "    runAsUser: 1000\n"
        "    supplementalGroups: [4, 5]\n"
        "    sysctls: [{name: kernel.shm_rmid_forced, value: '1'}]\n"
        "  initContainers:\n"
        "  - name: side\n"
        "    image: busybox\n"
        "    restartPolicy: Always\n"
        "    startupProbe: {grpc: {port: 9000, service: ''}}\n"
        "  containers:\n"
        "  - name: c\n"
        "    image: busybox:1.36\n"
        "    command: [sh, -c]\n"
        "    args: ['echo $(A)']\n"
        "    stdin: true\n"
        "    env:\n"
        "    - {name: A, value: x}\n"
        "    - name: B\n"
        "      valueFrom: {resourceFieldRef: {resource: limits.cpu, divisor: 1m}}\n"
        "    resources: {limits: {cpu: '1.5', memory: 1Gi, example.com/gpu: 1}}\n"
        "    livenessProbe: {httpGet: {port: http, httpHeaders: [{name: X-A, value: b}]}}\n"
        "    lifecycle: {preStop: {sleep: {seconds: 5}}}\n"
        "    securityContext: {capabilities: {add: [NET_ADMIN], drop: [ALL]}, privileged: false}\n"
        "  volumes:\n"
        "  - {name: e, emptyDir: {}}\n"
        "  - {name: p, persistentVolumeClaim: {claimName: data}}\n"
        "  - name: proj\n"
        "    projected:\n"
        "      sources:\n"
        "      - serviceAccountToken: {path: token}\n"
        "      - downwardAPI: {items: [{path: l, fieldRef: {fieldPath: metadata.labels}}]}\n"
        "status:\n"
        "  phase: Running\n"
        "  containerStatuses:\n"
        "  - name: c\n"
        "    ready: true\n"
        "    restartCount: 2\n"
        "    state: {terminated: {exitCode: 137, reason: OOMKilled}}\n";

TEST(decode_rich_pod) {
        struct podspec_file *f = parse(RICH);
        CHECK(f && f->n_documents == 1 && !f->error);
        if (!f || f->n_documents != 1)
                return;
        struct podspec_document *d = &f->documents[0];
        CHECK_INT_EQ(d->errors.n_items, 0);
        CHECK_INT_EQ(d->unknown.n_items, 0);
        dump(&d->errors);
        dump(&d->unknown);
        struct pod *p = d->pod;
        CHECK_STR_EQ(p->metadata.name, "rich");
        CHECK_INT_EQ(p->metadata.n_labels, 2);
        CHECK(p->metadata.owner_references[0].controller.set && p->metadata.owner_references[0].controller.v);
        CHECK(p->spec.host_network.set && !p->spec.host_network.v);
        CHECK(p->spec.termination_grace_period_seconds.set && p->spec.termination_grace_period_seconds.v == 0);
        CHECK_INT_EQ(p->spec.security_context->supplemental_groups[1], 5);
        CHECK_STR_EQ(p->spec.init_containers[0].restart_policy, "Always");
        CHECK(p->spec.init_containers[0].startup_probe->grpc->service &&
              streq(p->spec.init_containers[0].startup_probe->grpc->service, ""));
        const struct pod_container *c = &p->spec.containers[0];
        CHECK_INT_EQ(c->n_args, 1);
        CHECK(c->stdin_.set && c->stdin_.v);
        CHECK_INT_EQ(c->resources->n_limits, 3);
        CHECK(c->liveness_probe->http_get->port.is_string);
        CHECK_STR_EQ(c->liveness_probe->http_get->port.str, "http");
        CHECK_INT_EQ(c->lifecycle->pre_stop->sleep->seconds.v, 5);
        CHECK_STR_EQ(c->security_context->capabilities->drop[0], "ALL");
        CHECK(p->spec.volumes[0].empty_dir != NULL); /* {} is kept as present */
        CHECK_INT_EQ(p->spec.volumes[1].n_other, 1);
        CHECK_STR_EQ(p->spec.volumes[1].other[0].type, "persistentVolumeClaim");
        CHECK(p->spec.affinity != NULL);
        CHECK_INT_EQ(p->status.container_statuses[0].state->terminated->exit_code.v, 137);
        podspec_file_free(f);
}

TEST(round_trip_is_stable) {
        struct podspec_file *f = parse(RICH);
        if (!f || f->n_documents != 1 || !f->documents[0].pod) {
                TEST_FAIL("parse failed");
                podspec_file_free(f);
                return;
        }
        json_t *j1 = pod_to_json(f->documents[0].pod);
        char *s1 = json_dumps(j1, JSON_COMPACT);
        struct pod *p2 = pod_from_json(j1, NULL, NULL);
        json_t *j2 = pod_to_json(p2);
        char *s2 = json_dumps(j2, JSON_COMPACT);
        CHECK_STR_EQ(s2, s1);
        /* encode: map keys sorted like Go, quantities canonical, raw fields kept */
        CHECK(strstr(s1, "\"labels\":{\"a\":\"1\",\"b\":\"2\"}") != NULL);
        CHECK(strstr(s1, "\"cpu\":\"1500m\"") != NULL);
        CHECK(strstr(s1, "\"example.com/gpu\":\"1\"") != NULL);
        CHECK(strstr(s1, "\"nodeSelectorTerms\":[]") != NULL);
        CHECK(strstr(s1, "\"persistentVolumeClaim\":{\"claimName\":\"data\"}") != NULL);
        CHECK(strstr(s1, "\"emptyDir\":{}") != NULL);
        CHECK(strstr(s1, "\"terminationGracePeriodSeconds\":0") != NULL);
        struct pod *p3 = pod_copy(p2);
        json_t *j3 = pod_to_json(p3);
        char *s3 = json_dumps(j3, JSON_COMPACT);
        CHECK_STR_EQ(s3, s1);
        free(s1);
        free(s2);
        free(s3);
        json_decref(j1);
        json_decref(j2);
        json_decref(j3);
        pod_free(p2);
        pod_free(p3);
        podspec_file_free(f);
}

TEST(type_errors_name_the_field) {
        struct podspec_file *f = parse("apiVersion: v1\nkind: Pod\nmetadata: {name: x, labels: {v: 1.0}}\n"
                                       "spec:\n  hostPID: 'yes'\n  containers:\n"
                                       "  - name: c\n    image: [a]\n    ports: [{containerPort: 3000000000}]\n"
                                       "    command: sh\n");
        if (!f || f->n_documents != 1) {
                TEST_FAIL("parse failed");
                podspec_file_free(f);
                return;
        }
        pod_error_list *e = &f->documents[0].errors;
        CHECK_MSG(e, "metadata.labels[v]: Invalid type: expected string, got number");
        CHECK_MSG(e, "spec.hostPID: Invalid type: expected bool, got string");
        CHECK_MSG(e, "spec.containers[0].image: Invalid type: expected string, got array");
        CHECK_MSG(e, "spec.containers[0].ports[0].containerPort: Invalid value: 3000000000: value out of range for int32");
        CHECK_MSG(e, "spec.containers[0].command: Invalid type: expected array, got string");
        podspec_file_free(f);
}

TEST(unknown_fields_are_listed_not_fatal) {
        struct podspec_file *f = parse("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"x\","
                                       "\"managedFields\":[]},\"spec\":{\"containerz\":[],\"containers\":"
                                       "[{\"name\":\"c\",\"image\":\"i\",\"resources\":{\"limit\":{}}}]}}");
        if (!f || f->n_documents != 1) {
                TEST_FAIL("parse failed");
                podspec_file_free(f);
                return;
        }
        struct podspec_document *d = &f->documents[0];
        CHECK_INT_EQ(d->errors.n_items, 0);
        CHECK_INT_EQ(d->unknown.n_items, 2);
        CHECK_MSG(&d->unknown, "unknown field \"spec.containerz\"");
        CHECK_MSG(&d->unknown, "unknown field \"spec.containers[0].resources.limit\"");
        CHECK(d->pod && d->pod->spec.n_containers == 1);
        podspec_file_free(f);
}

TEST(kinds_and_lists) {
        struct podspec_file *f = parse("apiVersion: v1\nkind: PodList\nitems:\n"
                                       "- metadata: {name: a}\n  spec: {containers: [{name: c, image: i}]}\n"
                                       "- kind: Service\n  apiVersion: v1\n"
                                       "---\n"
                                       "apiVersion: apps/v1\nkind: Deployment\n"
                                       "---\n"
                                       "kind: Pod\nmetadata: {name: noversion}\n");
        if (!f) {
                TEST_FAIL("parse failed");
                return;
        }
        CHECK_INT_EQ(f->n_documents, 4);
        if (f->n_documents == 4) {
                CHECK(f->documents[0].in_list && f->documents[0].item == 0 && f->documents[0].pod);
                CHECK_STR_EQ(f->documents[0].pod->kind, "Pod");
                CHECK(f->documents[1].in_list && f->documents[1].item == 1 && !f->documents[1].pod);
                CHECK_MSG(&f->documents[1].errors, "items[1].kind: Unsupported value: \"Service\": supported values: \"Pod\"");
                CHECK_INT_EQ(f->documents[2].index, 1);
                CHECK_MSG(&f->documents[2].errors, "kind: Unsupported value: \"Deployment\": supported values: \"Pod\"");
                CHECK_INT_EQ(f->documents[3].index, 2);
                CHECK_MSG(&f->documents[3].errors, "apiVersion: Required value: Object 'apiVersion' is missing");
        }
        podspec_file_free(f);
}

TEST(json_duplicate_keys_and_syntax) {
        struct podspec_file *f = parse("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"kind\":\"Pod\"}");
        CHECK(f && f->error && strstr(f->error, "duplicate"));
        podspec_file_free(f);
        f = parse("{\"apiVersion\":\"v1\",");
        CHECK(f && f->error && strstr(f->error, "line 1"));
        podspec_file_free(f);
}

TEST(caps_on_size_depth_and_counts) {
        /* input size */
        size_t big = PODSPEC_MAX_INPUT_BYTES + 1;
        char *buf = malloc(big);
        memset(buf, ' ', big);
        struct podspec_file *f = NULL;
        CHECK(podspec_parse(buf, big, &f) == 0 && f && f->error && strstr(f->error, "more than"));
        podspec_file_free(f);
        free(buf);

        /* nesting in JSON */
        nl_buf b = {};
        nl_buf_puts(&b, "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"annotations\":");
        for (int i = 0; i < PODSPEC_MAX_DEPTH + 5; i++)
                nl_buf_puts(&b, "[");
        for (int i = 0; i < PODSPEC_MAX_DEPTH + 5; i++)
                nl_buf_puts(&b, "]");
        nl_buf_puts(&b, "}}");
        f = parse(b.data);
        CHECK(f && f->n_documents == 1 && f->documents[0].errors.n_items == 1 && !f->documents[0].pod);
        if (f && f->n_documents == 1 && f->documents[0].errors.n_items == 1)
                CHECK(strstr(f->documents[0].errors.items[0].message, "deeper than"));
        podspec_file_free(f);
        nl_buf_free(&b);

        /* entries in one list */
        nl_buf_puts(&b, "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"spec\":{\"containers\":[{\"name\":\"c\","
                        "\"image\":\"i\",\"args\":[");
        for (int i = 0; i <= PODSPEC_MAX_ARRAY; i++)
                nl_buf_printf(&b, "%s\"a\"", i ? "," : "");
        nl_buf_puts(&b, "]}]}}");
        f = parse(b.data);
        CHECK(f && f->n_documents == 1);
        if (f && f->n_documents == 1)
                CHECK_MSG(&f->documents[0].errors,
                          "spec.containers[0].args: Too many: 10001: must have at most 10000 items");
        podspec_file_free(f);
        nl_buf_free(&b);
}

TEST(error_quote_matches_go) {
        char *q = pod_error_quote("a\"b\\c\n\t\x01é");
        CHECK_STR_EQ(q, "\"a\\\"b\\\\c\\n\\t\\x01é\"");
        free(q);
        q = pod_error_quote("\xff");
        CHECK_STR_EQ(q, "\"\\xff\"");
        free(q);
}

TEST(yaml_output_reads_back) {
        struct podspec_file *f = parse(RICH);
        if (!f || f->n_documents != 1 || !f->documents[0].pod) {
                TEST_FAIL("parse failed");
                podspec_file_free(f);
                return;
        }
        json_t *j = pod_to_json(f->documents[0].pod);
        char *yaml = NULL;
        CHECK(podspec_json_to_yaml(j, &yaml) == 0);
        struct podspec_file *g = yaml ? parse(yaml) : NULL;
        CHECK(g && g->n_documents == 1 && g->documents[0].pod);
        if (g && g->n_documents == 1 && g->documents[0].pod) {
                json_t *j2 = pod_to_json(g->documents[0].pod);
                CHECK(json_equal(j, j2));
                json_decref(j2);
        }
        podspec_file_free(g);
        free(yaml);
        json_decref(j);
        podspec_file_free(f);
}

/* The API server takes a negative terminationGracePeriodSeconds as 1 (with a warning); the
 * agent used to keep it, and its kill deadline wrapped around. */
TEST(negative_grace_period_defaults_to_one) {
        struct podspec_file *f = parse("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n"
                                       "  terminationGracePeriodSeconds: -5\n  containers: [{name: c, image: i}]\n");
        CHECK(f && f->n_documents == 1 && f->documents[0].pod);
        if (!f || !f->documents[0].pod)
                return;
        struct pod *p = f->documents[0].pod;
        CHECK_INT_EQ(pod_set_defaults(p), 0);
        CHECK(p->spec.termination_grace_period_seconds.set);
        CHECK_INT_EQ(p->spec.termination_grace_period_seconds.v, 1);
        podspec_file_free(f);
}
