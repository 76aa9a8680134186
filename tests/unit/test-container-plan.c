/* SPDX-License-Identifier: Apache-2.0 */
/* Container planning: command/args vs ENTRYPOINT/CMD, env and $(VAR) expansion, downward API
 * values, users and groups, runAsNonRoot, capabilities, cgroup formulas, OOM scores. */
#include <stdio.h>

#include "cri/cri.h"
#include "podspec/podspec.h"
#include "test.h"

static const char PASSWD[] = "root:x:0:0:root:/root:/bin/sh\n"
                             "nobody:x:65534:65534:nobody:/:/bin/false\n"
                             "app:x:1000:1000:app:/home/app:/bin/sh\n";
static const char GROUP[] = "root:x:0:\nwheel:x:10:app,other\nnogroup:x:65534:\napp:x:1000:\nvideo:x:44:app\n";

static struct podspec_file *file;

static struct pod *load(const char *yaml) {
        podspec_file_free(file);
        file = NULL;
        if (podspec_parse(yaml, strlen(yaml), &file) < 0 || file->n_documents != 1 || !file->documents[0].pod)
                return NULL;
        struct pod *p = file->documents[0].pod;
        if (!p->metadata.namespace)
                p->metadata.namespace = strdup("default");
        if (pod_set_defaults(p) < 0)
                return NULL;
        return p;
}

static struct image_config *image(const char *entrypoint0, const char *cmd0, const char *user) {
        struct image_config *c = calloc(1, sizeof(*c));
        if (entrypoint0) {
                c->entrypoint = calloc(2, sizeof(char *));
                c->entrypoint[0] = strdup(entrypoint0);
                c->n_entrypoint = 1;
        }
        if (cmd0) {
                c->cmd = calloc(2, sizeof(char *));
                c->cmd[0] = strdup(cmd0);
                c->n_cmd = 1;
        }
        c->env = calloc(3, sizeof(char *));
        c->env[0] = strdup("PATH=/usr/bin:/bin");
        c->env[1] = strdup("FOO=image");
        c->n_env = 2;
        c->user = user ? strdup(user) : NULL;
        c->working_dir = strdup("/work");
        return c;
}

static struct plan_context ctx(void) {
        static char *ips[] = { "10.88.0.5", "fd00::5" };
        return (struct plan_context){
                .node_name = "node1",
                .pod_ip = "10.88.0.5",
                .pod_ips = ips,
                .n_pod_ips = 2,
                .host_ip = "192.0.2.1",
                .host_ips = ips,
                .n_host_ips = 1,
                .node_allocatable_milli_cpu = 2000,
                .node_allocatable_memory = 8LL << 30,
                .etc_passwd = PASSWD,
                .etc_group = GROUP,
        };
}

static struct container_plan *plan_for(const struct pod *p, size_t idx, const struct image_config *img,
                                       const char **reason, char **msg) {
        struct plan_context c = ctx();
        struct container_plan *plan = NULL;
        nl_error err = NL_ERROR_INIT;
        const char *r = NULL;
        if (container_plan_build(p, &p->spec.containers[idx], img, &c, &plan, &r, &err) < 0)
                plan = NULL;
        if (reason)
                *reason = r;
        if (msg)
                *msg = err.msg ? strdup(err.msg) : NULL;
        nl_error_clear(&err);
        return plan;
}

static char *args_str(const struct container_plan *p) {
        nl_buf b = {};
        for (size_t i = 0; p && i < p->n_args; i++)
                nl_buf_printf(&b, "%s[%s]", i ? " " : "", p->args[i]);
        return nl_buf_steal(&b);
}

static const char *env_get(const struct container_plan *p, const char *name) {
        size_t n = strlen(name);
        for (size_t i = 0; p && i < p->n_env; i++)
                if (strncmp(p->env[i], name, n) == 0 && p->env[i][n] == '=')
                        return p->env[i] + n + 1;
        return NULL;
}

static bool has_cap(char **caps, size_t n, const char *cap) {
        for (size_t i = 0; i < n; i++)
                if (streq(caps[i], cap))
                        return true;
        return false;
}

#define POD(spec) "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: ns, uid: u-1, labels: {app: web}}\nspec:\n" spec

TEST(command_and_args) {
        struct image_config *img = image("/entry", "cmd", NULL);
        struct {
                const char *spec, *want;
        } cases[] = {
                /* upstream conformance: containers.go 1-4 */
                { "  containers: [{name: c, image: i}]\n", "[/entry] [cmd]" },
                { "  containers: [{name: c, image: i, args: [a1, a2]}]\n", "[/entry] [a1] [a2]" },
                { "  containers: [{name: c, image: i, command: [/c]}]\n", "[/c]" },
                { "  containers: [{name: c, image: i, command: [/c], args: [a]}]\n", "[/c] [a]" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                nl_buf b = {};
                nl_buf_puts(&b, "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n");
                nl_buf_puts(&b, cases[i].spec);
                struct pod *p = load(b.data);
                nl_buf_free(&b);
                struct container_plan *plan = p ? plan_for(p, 0, img, NULL, NULL) : NULL;
                _cleanup_free_ char *got = args_str(plan);
                CHECK_STR_EQ(got, cases[i].want);
                container_plan_free(plan);
        }
        image_config_free(img);
}

TEST(no_command_is_an_error) {
        struct image_config *img = image(NULL, NULL, NULL);
        struct pod *p = load(POD("  containers: [{name: c, image: i}]\n"));
        const char *reason = NULL;
        _cleanup_free_ char *msg = NULL;
        struct container_plan *plan = plan_for(p, 0, img, &reason, &msg);
        CHECK(plan == NULL);
        CHECK_STR_EQ(reason, "CreateContainerError");
        CHECK_STR_EQ(msg, "no command specified");
        image_config_free(img);
}

TEST(env_expansion) {
        struct image_config *img = image(NULL, "sh", NULL);
        /* upstream expansion.go: FOOBAR=$(FOO);;$(BAR); command and args see the env */
        struct pod *p = load(POD("  containers:\n"
                                 "  - name: c\n    image: i\n"
                                 "    command: [sh, -c, 'TEST_VAR=wrong echo \"$(TEST_VAR)\"']\n"
                                 "    args: ['$(FOOBAR)', '$(MISSING)', '$$(TEST_VAR)']\n"
                                 "    env:\n"
                                 "    - {name: FOO, value: foo-value}\n"
                                 "    - {name: BAR, value: bar-value}\n"
                                 "    - {name: FOOBAR, value: '$(FOO);;$(BAR)'}\n"
                                 "    - {name: TEST_VAR, value: test-value}\n"
                                 "    - {name: LATER, value: '$(NOTYET)'}\n"
                                 "    - {name: NOTYET, value: x}\n"));
        struct container_plan *plan = plan_for(p, 0, img, NULL, NULL);
        CHECK(plan != NULL);
        CHECK_STR_EQ(env_get(plan, "FOOBAR"), "foo-value;;bar-value");
        CHECK_STR_EQ(env_get(plan, "LATER"), "$(NOTYET)");
        CHECK_STR_EQ(env_get(plan, "FOO"), "foo-value"); /* the Pod's value wins over the image's */
        CHECK_STR_EQ(env_get(plan, "PATH"), "/usr/bin:/bin");
        _cleanup_free_ char *got = args_str(plan);
        CHECK_STR_EQ(got, "[sh] [-c] [TEST_VAR=wrong echo \"test-value\"] [foo-value;;bar-value] [$(MISSING)] [$(TEST_VAR)]");
        CHECK_STR_EQ(plan ? plan->cwd : NULL, "/work");
        container_plan_free(plan);
        image_config_free(img);
}

TEST(downward_api_env) {
        struct image_config *img = image(NULL, "sh", NULL);
        /* upstream downwardapi.go: requests 250m/32Mi limits 1250m/64Mi */
        struct pod *p = load(POD("  serviceAccountName: sa\n  containers:\n"
                                 "  - name: c\n    image: i\n"
                                 "    resources: {requests: {cpu: 250m, memory: 32Mi}, limits: {cpu: 1250m, memory: 64Mi}}\n"
                                 "    env:\n"
                                 "    - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}\n"
                                 "    - {name: POD_NAMESPACE, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}\n"
                                 "    - {name: POD_UID, valueFrom: {fieldRef: {fieldPath: metadata.uid}}}\n"
                                 "    - {name: POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}\n"
                                 "    - {name: POD_IPS, valueFrom: {fieldRef: {fieldPath: status.podIPs}}}\n"
                                 "    - {name: HOST_IP, valueFrom: {fieldRef: {fieldPath: status.hostIP}}}\n"
                                 "    - {name: NODE, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}\n"
                                 "    - {name: SA, valueFrom: {fieldRef: {fieldPath: spec.serviceAccountName}}}\n"
                                 "    - {name: APP, valueFrom: {fieldRef: {fieldPath: \"metadata.labels['app']\"}}}\n"
                                 "    - {name: CPU_LIMIT, valueFrom: {resourceFieldRef: {resource: limits.cpu}}}\n"
                                 "    - {name: MEMORY_LIMIT, valueFrom: {resourceFieldRef: {resource: limits.memory}}}\n"
                                 "    - {name: CPU_REQUEST, valueFrom: {resourceFieldRef: {resource: requests.cpu}}}\n"
                                 "    - {name: MEMORY_REQUEST, valueFrom: {resourceFieldRef: {resource: requests.memory}}}\n"
                                 "    - {name: CPU_MILLI, valueFrom: {resourceFieldRef: {resource: limits.cpu, divisor: 1m}}}\n"
                                 "    - {name: MEM_MI, valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: 1Mi}}}\n"
                                 "  - name: d\n    image: i\n"
                                 "    env:\n"
                                 "    - {name: CPU_LIMIT, valueFrom: {resourceFieldRef: {resource: limits.cpu}}}\n"
                                 "    - {name: MEMORY_LIMIT, valueFrom: {resourceFieldRef: {resource: limits.memory}}}\n"
                                 "    - {name: OTHER, valueFrom: {resourceFieldRef: {containerName: c, resource: limits.memory}}}\n"));
        struct container_plan *plan = plan_for(p, 0, img, NULL, NULL);
        CHECK_STR_EQ(env_get(plan, "POD_NAME"), "p");
        CHECK_STR_EQ(env_get(plan, "POD_NAMESPACE"), "ns");
        CHECK_STR_EQ(env_get(plan, "POD_UID"), "u-1");
        CHECK_STR_EQ(env_get(plan, "POD_IP"), "10.88.0.5");
        CHECK_STR_EQ(env_get(plan, "POD_IPS"), "10.88.0.5,fd00::5");
        CHECK_STR_EQ(env_get(plan, "HOST_IP"), "192.0.2.1");
        CHECK_STR_EQ(env_get(plan, "NODE"), "node1");
        CHECK_STR_EQ(env_get(plan, "SA"), "sa");
        CHECK_STR_EQ(env_get(plan, "APP"), "web");
        CHECK_STR_EQ(env_get(plan, "CPU_LIMIT"), "2");
        CHECK_STR_EQ(env_get(plan, "MEMORY_LIMIT"), "67108864");
        CHECK_STR_EQ(env_get(plan, "CPU_REQUEST"), "1");
        CHECK_STR_EQ(env_get(plan, "MEMORY_REQUEST"), "33554432");
        CHECK_STR_EQ(env_get(plan, "CPU_MILLI"), "1250");
        CHECK_STR_EQ(env_get(plan, "MEM_MI"), "64");
        container_plan_free(plan);
        /* no limits: the node's allocatable (downwardapi.go 16) */
        plan = plan_for(p, 1, img, NULL, NULL);
        CHECK_STR_EQ(env_get(plan, "CPU_LIMIT"), "2");
        CHECK_STR_EQ(env_get(plan, "MEMORY_LIMIT"), "8589934592");
        CHECK_STR_EQ(env_get(plan, "OTHER"), "67108864");
        container_plan_free(plan);
        image_config_free(img);
}

TEST(config_map_env_without_api_server) {
        struct image_config *img = image(NULL, "sh", NULL);
        struct pod *p = load(POD("  containers:\n  - name: c\n    image: i\n    env:\n"
                                 "    - {name: A, valueFrom: {configMapKeyRef: {name: cm, key: k, optional: true}}}\n"
                                 "    - {name: B, value: b}\n"));
        struct container_plan *plan = plan_for(p, 0, img, NULL, NULL);
        CHECK(plan && env_get(plan, "A") == NULL && streq_ptr(env_get(plan, "B"), "b"));
        container_plan_free(plan);
        p = load(POD("  containers:\n  - name: c\n    image: i\n    env:\n"
                     "    - {name: A, valueFrom: {secretKeyRef: {name: s, key: k}}}\n"));
        const char *reason = NULL;
        _cleanup_free_ char *msg = NULL;
        plan = plan_for(p, 0, img, &reason, &msg);
        CHECK(plan == NULL);
        CHECK_STR_EQ(reason, "CreateContainerConfigError");
        CHECK_STR_EQ(msg, "secret \"s\" not found");
        image_config_free(img);
}

/* Cluster mode: the service links sit under the container's env and feed $(VAR); envFrom
 * takes whole objects with a prefix, env replaces what envFrom set. */
static int fake_object(void *userdata, bool secret, const char *name, json_t **ret) {
        if (!secret && streq(name, "cm")) {
                *ret = json_pack("{s:s, s:s, s:s}", "k1", "v1", "k2", "v2", "1st", "digit");
                return 0;
        }
        if (secret && streq(name, "s")) {
                *ret = json_pack("{s:s}", "TOKEN", "t0p");
                return 0;
        }
        return -ENOENT;
}

static const char *fake_key(void *userdata, bool secret, const char *name, const char *key, bool *missing) {
        *missing = !(secret && streq(name, "s"));
        return !*missing && streq(key, "TOKEN") ? "t0p" : NULL;
}

static struct container_plan *plan_cluster(const struct pod *p, const struct image_config *img, const char **reason,
                                           char **msg) {
        static char *const svc[] = { "KUBERNETES_SERVICE_HOST=10.96.0.1", "MY_SVC_SERVICE_HOST=10.96.0.10",
                                     "MY_SVC_SERVICE_PORT=80", "FOO=from-service", "P_k2=from-service" };
        struct plan_context c = ctx();
        c.service_env = svc;
        c.n_service_env = ELEMENTSOF(svc);
        c.get_object = fake_object;
        c.lookup_key = fake_key;
        struct container_plan *plan = NULL;
        nl_error err = NL_ERROR_INIT;
        if (container_plan_build(p, &p->spec.containers[0], img, &c, &plan, reason, &err) < 0)
                plan = NULL;
        if (msg)
                *msg = err.msg ? strdup(err.msg) : NULL;
        nl_error_clear(&err);
        return plan;
}

TEST(service_env_and_env_from) {
        struct image_config *img = image(NULL, "sh", NULL);
        struct pod *p = load(POD("  containers:\n  - name: c\n    image: i\n"
                                 "    args: ['$(MY_SVC_SERVICE_HOST):$(MY_SVC_SERVICE_PORT)']\n"
                                 "    envFrom:\n    - {prefix: P_, configMapRef: {name: cm}}\n"
                                 "    - {secretRef: {name: s}}\n    - {configMapRef: {name: nope, optional: true}}\n"
                                 "    env:\n"
                                 "    - {name: EARLY, value: '$(FOO)'}\n"
                                 "    - {name: FOO, value: mine}\n"
                                 "    - {name: URL, value: 'http://$(MY_SVC_SERVICE_HOST):$(MY_SVC_SERVICE_PORT)/$(P_k1)'}\n"
                                 "    - {name: LATE, value: '$(FOO)'}\n"
                                 "    - {name: P_k1, value: override}\n"
                                 "    - {name: T, valueFrom: {secretKeyRef: {name: s, key: TOKEN}}}\n"));
        struct container_plan *plan = plan_cluster(p, img, NULL, NULL);
        CHECK(plan);
        /* the container's own wins; the service's value stays for what referred to it before */
        CHECK_STR_EQ(env_get(plan, "FOO"), "mine");
        CHECK_STR_EQ(env_get(plan, "EARLY"), "from-service");
        CHECK_STR_EQ(env_get(plan, "LATE"), "mine");
        CHECK_STR_EQ(env_get(plan, "KUBERNETES_SERVICE_HOST"), "10.96.0.1");
        CHECK_STR_EQ(env_get(plan, "URL"), "http://10.96.0.10:80/v1");
        /* envFrom: every key with the prefix; env replaces it; envFrom replaces a service's */
        CHECK_STR_EQ(env_get(plan, "P_k1"), "override");
        CHECK_STR_EQ(env_get(plan, "P_k2"), "v2");
        CHECK_STR_EQ(env_get(plan, "P_1st"), "digit");
        CHECK_STR_EQ(env_get(plan, "TOKEN"), "t0p");
        CHECK_STR_EQ(env_get(plan, "T"), "t0p");
        /* the image's env is under all of it */
        CHECK_STR_EQ(env_get(plan, "PATH"), "/usr/bin:/bin");
        _cleanup_free_ char *args = args_str(plan);
        CHECK_STR_EQ(args, "[10.96.0.10:80]");
        container_plan_free(plan);

        /* a missing object: CreateContainerConfigError, as the kubelet's managers name it */
        p = load(POD("  containers:\n  - name: c\n    image: i\n    envFrom:\n    - {configMapRef: {name: nope}}\n"));
        const char *reason = NULL;
        _cleanup_free_ char *msg = NULL;
        plan = plan_cluster(p, img, &reason, &msg);
        CHECK(!plan);
        CHECK_STR_EQ(reason, "CreateContainerConfigError");
        CHECK_STR_EQ(msg, "configmap \"nope\" not found");
        free(msg);
        msg = NULL;
        p = load(POD("  containers:\n  - name: c\n    image: i\n    env:\n"
                     "    - {name: A, valueFrom: {secretKeyRef: {name: s, key: other}}}\n"));
        plan = plan_cluster(p, img, &reason, &msg);
        CHECK(!plan);
        CHECK_STR_EQ(msg, "couldn't find key other in Secret ns/s");
        free(msg);
        msg = NULL;

        /* static mode: no API objects at all */
        p = load(POD("  containers:\n  - name: c\n    image: i\n    envFrom:\n    - {secretRef: {name: s}}\n"));
        plan = plan_for(p, 0, img, &reason, &msg);
        CHECK(!plan);
        CHECK_STR_EQ(msg, "secret \"s\" not found");
        image_config_free(img);
}

TEST(users_and_groups) {
        struct image_config *img = image(NULL, "sh", "app");
        struct pod *p = load(POD("  securityContext: {supplementalGroups: [5000], fsGroup: 2000}\n"
                                 "  containers: [{name: c, image: i}]\n"));
        struct container_plan *plan = plan_for(p, 0, img, NULL, NULL);
        CHECK(plan && plan->uid == 1000 && plan->gid == 1000);
        /* /etc/group membership, then supplementalGroups, then fsGroup */
        CHECK(plan && plan->n_additional_gids == 4);
        if (plan && plan->n_additional_gids == 4)
                CHECK(plan->additional_gids[0] == 10 && plan->additional_gids[1] == 44 &&
                      plan->additional_gids[2] == 5000 && plan->additional_gids[3] == 2000);
        container_plan_free(plan);

        /* pod-level runAsUser/runAsGroup (security_context.go 65), container overrides (66) */
        p = load(POD("  securityContext: {runAsUser: 1001, runAsGroup: 2002}\n"
                     "  containers: [{name: c, image: i}, {name: d, image: i, securityContext: {runAsUser: 65534}}]\n"));
        plan = plan_for(p, 0, img, NULL, NULL);
        CHECK(plan && plan->uid == 1001 && plan->gid == 2002);
        container_plan_free(plan);
        plan = plan_for(p, 1, img, NULL, NULL);
        CHECK(plan && plan->uid == 65534 && plan->gid == 2002);
        container_plan_free(plan);
        image_config_free(img);

        /* USER name:group, and unknown names */
        img = image(NULL, "sh", "nobody:video");
        p = load(POD("  containers: [{name: c, image: i}]\n"));
        plan = plan_for(p, 0, img, NULL, NULL);
        CHECK(plan && plan->uid == 65534 && plan->gid == 44);
        container_plan_free(plan);
        image_config_free(img);
        img = image(NULL, "sh", "ghost");
        const char *reason = NULL;
        _cleanup_free_ char *msg = NULL;
        plan = plan_for(p, 0, img, &reason, &msg);
        CHECK(plan == NULL);
        CHECK_STR_EQ(reason, "CreateContainerError");
        CHECK_STR_EQ(msg, "unable to find user ghost: no matching entries in passwd file");
        image_config_free(img);
}

TEST(run_as_non_root) {
        struct {
                const char *user, *sc, *want;
        } cases[] = {
                { NULL, "{runAsNonRoot: true}",
                  "container has runAsNonRoot and image will run as root (pod: \"p_ns(u-1)\", container: c)" },
                { "0", "{runAsNonRoot: true}",
                  "container has runAsNonRoot and image will run as root (pod: \"p_ns(u-1)\", container: c)" },
                { "app", "{runAsNonRoot: true}",
                  "container has runAsNonRoot and image has non-numeric user (app), cannot verify user is non-root (pod: \"p_ns(u-1)\", container: c)" },
                { "1000", "{runAsNonRoot: true, runAsUser: 0}",
                  "container's runAsUser breaks non-root policy (pod: \"p_ns(u-1)\", container: c)" },
                { "1000", "{runAsNonRoot: true}", NULL },
                { NULL, "{runAsNonRoot: true, runAsUser: 1000}", NULL },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct image_config *img = image(NULL, "sh", cases[i].user);
                nl_buf b = {};
                nl_buf_printf(&b, POD("  containers: [{name: c, image: i, securityContext: %s}]\n"), cases[i].sc);
                struct pod *p = load(b.data);
                nl_buf_free(&b);
                const char *reason = NULL;
                _cleanup_free_ char *msg = NULL;
                struct container_plan *plan = plan_for(p, 0, img, &reason, &msg);
                if (cases[i].want) {
                        CHECK(plan == NULL);
                        CHECK_STR_EQ(reason, "CreateContainerConfigError");
                        CHECK_STR_EQ(msg, cases[i].want);
                } else
                        CHECK(plan != NULL);
                container_plan_free(plan);
                image_config_free(img);
        }
}

TEST(capabilities) {
        struct image_config *img = image(NULL, "sh", NULL);
        struct pod *p = load(POD("  containers:\n"
                                 "  - {name: a, image: i}\n"
                                 "  - {name: b, image: i, securityContext: {capabilities: {add: [NET_ADMIN], drop: [MKNOD, net_raw]}}}\n"
                                 "  - {name: c, image: i, securityContext: {capabilities: {drop: [ALL], add: [NET_BIND_SERVICE]}}}\n"
                                 "  - {name: d, image: i, securityContext: {runAsUser: 1000}}\n"
                                 "  - {name: e, image: i, securityContext: {privileged: true, allowPrivilegeEscalation: true}}\n"
                                 "  - {name: f, image: i, securityContext: {capabilities: {add: [BOGUS]}}}\n"
                                 "  - {name: g, image: i, securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, seccompProfile: {type: RuntimeDefault}}}\n"));
        struct container_plan *plan = plan_for(p, 0, img, NULL, NULL);
        CHECK(plan && plan->n_cap_bounding == 14 && plan->n_cap_effective == 14);
        CHECK(plan && has_cap(plan->cap_bounding, plan->n_cap_bounding, "CAP_AUDIT_WRITE") &&
              !has_cap(plan->cap_bounding, plan->n_cap_bounding, "CAP_SYS_ADMIN"));
        CHECK(plan && !plan->no_new_privileges && streq(plan->seccomp_type, "Unconfined"));
        container_plan_free(plan);
        plan = plan_for(p, 1, img, NULL, NULL);
        CHECK(plan && plan->n_cap_bounding == 13 && has_cap(plan->cap_bounding, plan->n_cap_bounding, "CAP_NET_ADMIN") &&
              !has_cap(plan->cap_bounding, plan->n_cap_bounding, "CAP_MKNOD") &&
              !has_cap(plan->cap_bounding, plan->n_cap_bounding, "CAP_NET_RAW"));
        container_plan_free(plan);
        plan = plan_for(p, 2, img, NULL, NULL);
        CHECK(plan && plan->n_cap_bounding == 1 && streq(plan->cap_bounding[0], "CAP_NET_BIND_SERVICE"));
        container_plan_free(plan);
        plan = plan_for(p, 3, img, NULL, NULL);
        CHECK(plan && plan->n_cap_bounding == 14 && plan->n_cap_effective == 0);
        container_plan_free(plan);
        plan = plan_for(p, 4, img, NULL, NULL);
        CHECK(plan && plan->privileged && plan->n_cap_bounding == 41 && !plan->no_new_privileges);
        container_plan_free(plan);
        _cleanup_free_ char *msg = NULL;
        plan = plan_for(p, 5, img, NULL, &msg);
        CHECK(plan == NULL);
        CHECK_STR_EQ(msg, "unknown capability \"CAP_BOGUS\"");
        plan = plan_for(p, 6, img, NULL, NULL);
        CHECK(plan && plan->no_new_privileges && plan->read_only_rootfs && streq(plan->seccomp_type, "RuntimeDefault"));
        container_plan_free(plan);
        image_config_free(img);
}

TEST(cgroup_formulas) {
        CHECK_INT_EQ(cri_milli_cpu_to_shares(0), 2);
        CHECK_INT_EQ(cri_milli_cpu_to_shares(1), 2);
        CHECK_INT_EQ(cri_milli_cpu_to_shares(250), 256);
        CHECK_INT_EQ(cri_milli_cpu_to_shares(1000), 1024);
        CHECK_INT_EQ(cri_milli_cpu_to_shares(1000000), 262144);
        CHECK_INT_EQ(cri_milli_cpu_to_quota(0, 100000), 0);
        CHECK_INT_EQ(cri_milli_cpu_to_quota(5, 100000), 1000);
        CHECK_INT_EQ(cri_milli_cpu_to_quota(500, 100000), 50000);
        CHECK_INT_EQ(cri_milli_cpu_to_quota(1250, 100000), 125000);

        struct image_config *img = image(NULL, "sh", NULL);
        struct pod *p = load(POD("  containers: [{name: c, image: i, resources: {limits: {cpu: 500m, memory: 64Mi}}}]\n"));
        struct container_plan *plan = plan_for(p, 0, img, NULL, NULL);
        CHECK(plan && plan->cpu_shares == 512 && plan->cpu_quota == 50000 && plan->memory_limit == 67108864);
        CHECK(plan && streq(plan->qos_class, "Guaranteed") && plan->oom_score_adj == -997);
        container_plan_free(plan);
        p = load(POD("  containers: [{name: c, image: i}]\n"));
        plan = plan_for(p, 0, img, NULL, NULL);
        CHECK(plan && plan->cpu_shares == 2 && plan->cpu_quota == 0 && plan->memory_limit == 0);
        CHECK(plan && streq(plan->qos_class, "BestEffort") && plan->oom_score_adj == 1000);
        container_plan_free(plan);
        /* Burstable: 1000 - 1000*request/capacity, clamped to [3, 999] */
        p = load(POD("  containers: [{name: c, image: i, resources: {requests: {memory: 4Gi}}}]\n"));
        plan = plan_for(p, 0, img, NULL, NULL);
        CHECK(plan && streq(plan->qos_class, "Burstable") && plan->oom_score_adj == 500);
        container_plan_free(plan);
        p = load(POD("  containers: [{name: c, image: i, resources: {requests: {cpu: 100m}}}]\n"));
        plan = plan_for(p, 0, img, NULL, NULL);
        CHECK(plan && plan->oom_score_adj == 999);
        container_plan_free(plan);
        p = load(POD("  containers: [{name: c, image: i, resources: {requests: {memory: 16Gi}}}]\n"));
        plan = plan_for(p, 0, img, NULL, NULL);
        CHECK(plan && plan->oom_score_adj == 3);
        container_plan_free(plan);
        image_config_free(img);
        podspec_file_free(file);
        file = NULL;
}

/* procMount Unmasked drops the masks only for a root that is not the host's: with the pod's own
 * user namespace in the config; without one (whatever validation let through), /proc stays
 * masked and read-only. */
TEST(unmasked_proc_needs_a_user_namespace) {
        struct pod *p = load(POD("  hostUsers: false\n  containers:\n  - name: c\n    image: busybox\n"
                                 "    securityContext: {procMount: Unmasked}\n"));
        CHECK(p != NULL);
        if (!p)
                return;
        struct image_config *img = image("/bin/sh", NULL, NULL);
        struct container_plan *plan = plan_for(p, 0, img, NULL, NULL);
        image_config_free(img);
        CHECK(plan && plan->unmasked_proc);
        if (!plan)
                return;
        struct oci_spec_input si = { .plan = plan, .rootfs = "/r", .new_pid_ns = true };
        json_t *spec = oci_spec_build(&si);
        json_t *linux_ = json_object_get(spec, "linux");
        CHECK(json_array_size(json_object_get(linux_, "maskedPaths")) > 0);
        CHECK(json_array_size(json_object_get(linux_, "readonlyPaths")) > 0);
        CHECK(json_object_get(linux_, "uidMappings") == NULL);
        json_decref(spec);

        si.userns_path = "/run/nodelet/sandboxes/x/user";
        si.userns = (struct cri_userns){ 131072, 65536 };
        spec = oci_spec_build(&si);
        linux_ = json_object_get(spec, "linux");
        CHECK(json_object_get(linux_, "maskedPaths") == NULL);
        json_t *ns0 = json_array_get(json_object_get(linux_, "namespaces"), 0);
        CHECK_STR_EQ(json_string_value(json_object_get(ns0, "type")), "user");
        CHECK_STR_EQ(json_string_value(json_object_get(ns0, "path")), "/run/nodelet/sandboxes/x/user");
        json_t *map = json_array_get(json_object_get(linux_, "uidMappings"), 0);
        CHECK_INT_EQ(json_integer_value(json_object_get(map, "containerID")), 0);
        CHECK_INT_EQ(json_integer_value(json_object_get(map, "hostID")), 131072);
        CHECK_INT_EQ(json_integer_value(json_object_get(map, "size")), 65536);
        CHECK(json_equal(json_object_get(linux_, "gidMappings"), json_object_get(linux_, "uidMappings")));
        json_decref(spec);
        container_plan_free(plan);
}
