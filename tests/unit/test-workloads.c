/* SPDX-License-Identifier: Apache-2.0 */
/* podspec/workloads.c and podspec/cron.c: a workload's defaults and checks, its pods' names,
 * labels and claims, and CronJob schedules. */
#include <stdlib.h>
#include <time.h>

#include "podspec/podspec.h"
#include "test.h"

static json_t *load(const char *text) {
        json_t *docs = NULL;
        char *error = NULL;
        if (podspec_yaml_to_json(text, strlen(text), &docs, &error) < 0 || json_array_size(docs) != 1)
                abort();
        json_t *j = json_incref(json_array_get(docs, 0));
        json_decref(docs);
        return j;
}

static struct workload_spec *parse(enum manifest_kind k, const char *text, char **ret_errors) {
        json_t *j = load(text);
        pod_error_list l = {};
        struct workload_spec *w = NULL;
        if (workload_spec_parse(k, j, "", &w, &l) < 0)
                abort();
        nl_buf b = {};
        for (size_t i = 0; i < l.n_items; i++)
                nl_buf_printf(&b, "%s%s", i ? "\n" : "", l.items[i].message);
        pod_error_list_done(&l);
        json_decref(j);
        char *s = nl_buf_steal(&b);
        *ret_errors = s ? s : strdup("");
        return w;
}

#define TEMPLATE "  template:\n    metadata: {labels: {app: x}}\n    spec: {containers: [{name: c, image: busybox}]}\n"

TEST(deployment_defaults) {
        char *e = NULL;
        struct workload_spec *w = parse(MANIFEST_DEPLOYMENT, "metadata: {name: web}\nspec:\n  replicas: 3\n" TEMPLATE, &e);
        CHECK_STR_EQ(e, "");
        CHECK(w);
        if (w) {
                /* 25% each: surge rounded up, unavailable down */
                CHECK_INT_EQ(w->replicas, 3);
                CHECK_INT_EQ(w->max_surge, 1);
                CHECK_INT_EQ(w->max_unavailable, 0);
                CHECK_STR_EQ(w->namespace, "default");
                CHECK_INT_EQ(strlen(w->hash), WORKLOAD_HASH_LEN);
                char *n = workload_pod_name(w, w->hash, 1), *want = nl_strdupf("web-%s-1", w->hash);
                CHECK_STR_EQ(n, want);
                free(n);
                free(want);
        }
        workload_spec_free(w);
        free(e);

        w = parse(MANIFEST_DEPLOYMENT,
                  "metadata: {name: web}\nspec:\n  replicas: 4\n  strategy: {rollingUpdate: {maxSurge: 50%, maxUnavailable: 1}}\n" TEMPLATE,
                  &e);
        CHECK(w && w->max_surge == 2 && w->max_unavailable == 1);
        workload_spec_free(w);
        free(e);

        w = parse(MANIFEST_DEPLOYMENT,
                  "metadata: {name: web}\nspec:\n  strategy: {rollingUpdate: {maxSurge: 0, maxUnavailable: 0}}\n" TEMPLATE, &e);
        CHECK(!w);
        CHECK_STR_EQ(e, "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0");
        free(e);

        w = parse(MANIFEST_DEPLOYMENT, "metadata: {name: web}\nspec: {replicas: -1}\n", &e);
        CHECK(!w);
        CHECK(strstr(e, "spec.template.spec: Required value"));
        free(e);

        /* the template hash changes with the template only */
        struct workload_spec *a = parse(MANIFEST_DEPLOYMENT, "metadata: {name: a}\nspec:\n  replicas: 1\n" TEMPLATE, &e);
        free(e);
        struct workload_spec *b = parse(MANIFEST_DEPLOYMENT, "metadata: {name: a}\nspec:\n  replicas: 5\n" TEMPLATE, &e);
        free(e);
        struct workload_spec *c = parse(MANIFEST_DEPLOYMENT,
                                        "metadata: {name: a}\nspec:\n  template:\n    spec: {containers: [{name: c, image: other}]}\n",
                                        &e);
        free(e);
        CHECK(a && b && c && streq(a->hash, b->hash) && !streq(a->hash, c->hash));
        workload_spec_free(a);
        workload_spec_free(b);
        workload_spec_free(c);
}

TEST(statefulset_pods) {
        char *e = NULL;
        struct workload_spec *w = parse(MANIFEST_STATEFULSET,
                                        "metadata: {name: db, namespace: data}\nspec:\n  replicas: 2\n  serviceName: dbs\n"
                                        "  volumeClaimTemplates: [{metadata: {name: vol}}]\n"
                                        "  template:\n    spec:\n      containers: [{name: c, image: busybox}]\n"
                                        "      volumes: [{name: shared, persistentVolumeClaim: {claimName: common}}]\n",
                                        &e);
        CHECK_STR_EQ(e, "");
        free(e);
        CHECK(w && w->n_claims == 1);
        json_t *p = w ? workload_pod_json(w, 1, NULL, "/var/lib/nodelet/claims/data") : NULL;
        char *s = p ? json_dumps(json_object_get(p, "spec"), JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        CHECK_STR_EQ(s, "{\"containers\":[{\"image\":\"busybox\",\"name\":\"c\"}],\"hostname\":\"db-1\",\"subdomain\":\"dbs\","
                        "\"volumes\":[{\"hostPath\":{\"path\":\"/var/lib/nodelet/claims/data/common\",\"type\":"
                        "\"DirectoryOrCreate\"},\"name\":\"shared\"},{\"hostPath\":{\"path\":"
                        "\"/var/lib/nodelet/claims/data/vol-db-1\",\"type\":\"DirectoryOrCreate\"},\"name\":\"vol\"}]}");
        free(s);
        json_t *md = json_object_get(p, "metadata");
        CHECK_STR_EQ(json_string_value(json_object_get(md, "name")), "db-1");
        CHECK_STR_EQ(json_string_value(json_object_get(md, "namespace")), "data");
        CHECK_STR_EQ(json_string_value(json_object_get(json_object_get(md, "labels"), "apps.kubernetes.io/pod-index")), "1");
        CHECK_STR_EQ(json_string_value(json_object_get(json_object_get(md, "annotations"), WORKLOAD_ANNOTATION)),
                     "StatefulSet/db");
        json_decref(p);
        workload_spec_free(w);
}

TEST(job_and_names) {
        char *e = NULL;
        struct workload_spec *w = parse(MANIFEST_JOB, "metadata: {name: j}\nspec:\n" TEMPLATE, &e);
        CHECK(!w);
        CHECK_STR_EQ(e, "spec.template.spec.restartPolicy: Required value");
        free(e);
        w = parse(MANIFEST_JOB,
                  "metadata: {name: j}\nspec:\n  completions: 5\n  template:\n    spec: {restartPolicy: Never, containers: "
                  "[{name: c, image: b}]}\n",
                  &e);
        CHECK(w && w->completions == 5 && w->parallelism == 1 && w->backoff_limit == 6);
        free(e);
        if (w) {
                json_t *p = workload_pod_json(w, 3, NULL, "/c");
                CHECK_STR_EQ(json_string_value(json_object_get(json_object_get(p, "metadata"), "name")), "j-3");
                CHECK_STR_EQ(json_string_value(json_object_get(json_object_get(json_object_get(p, "metadata"), "labels"),
                                                                "job-name")),
                             "j");
                json_decref(p);
        }
        workload_spec_free(w);
        w = parse(MANIFEST_DAEMONSET, "metadata: {name: agent}\nspec:\n" TEMPLATE, &e);
        char *n = w ? workload_pod_name(w, w->hash, 0) : NULL;
        CHECK_STR_EQ(n, "agent");
        free(n);
        free(e);
        workload_spec_free(w);
        w = parse(MANIFEST_REPLICASET, "metadata: {name: rs}\nspec:\n  template:\n    spec: {restartPolicy: Never, "
                                       "containers: [{name: c, image: b}]}\n",
                  &e);
        CHECK(!w);
        CHECK_STR_EQ(e, "spec.template.spec.restartPolicy: Unsupported value: \"Never\": supported values: \"Always\"");
        free(e);
        w = parse(MANIFEST_CRONJOB, "metadata: {name: cj}\nspec:\n  schedule: '61 * * * *'\n  concurrencyPolicy: Sometimes\n"
                                    "  jobTemplate: {spec: {template: {spec: {restartPolicy: OnFailure, containers: [{name: c, image: b}]}}}}\n",
                  &e);
        CHECK(!w);
        CHECK(strstr(e, "spec.schedule: Invalid value: \"61 * * * *\": unparseable cron expression"));
        CHECK(strstr(e, "spec.concurrencyPolicy: Unsupported value: \"Sometimes\""));
        free(e);
}

static time_t utc(int y, int mo, int d, int h, int mi) {
        struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_isdst = -1};
        return mktime(&tm);
}

TEST(cron) {
        setenv("TZ", "UTC", 1);
        tzset();
        struct cron c;
        static const char *const bad[] = {"60 * * * *", "* * *", "* * * * * *", "a b c d e", "5-1 * * * *",
                                          "*/0 * * * *", "* * 0 * *", "* * * 13 *", "1,,2 * * * *", "", "@sometimes"};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                if (cron_parse(bad[i], &c) != -EINVAL)
                        TEST_FAIL("\"%s\" parsed", bad[i]);
        /* 2026-12-07 is a Monday */
        time_t t = utc(2026, 12, 7, 10, 7);
        CHECK_INT_EQ(cron_parse("*/15 * * * *", &c), 0);
        CHECK_INT_EQ(cron_next(&c, t), utc(2026, 12, 7, 10, 15));
        CHECK_INT_EQ(cron_next(&c, utc(2026, 12, 7, 10, 15)), utc(2026, 12, 7, 10, 30));
        CHECK_INT_EQ(cron_parse("@hourly", &c), 0);
        CHECK_INT_EQ(cron_next(&c, t), utc(2026, 12, 7, 11, 0));
        CHECK_INT_EQ(cron_parse("30 2 * * sun", &c), 0);
        CHECK_INT_EQ(cron_next(&c, t), utc(2026, 12, 13, 2, 30));
        CHECK_INT_EQ(cron_parse("0 0 * * 7", &c), 0); /* 7 is Sunday too */
        CHECK_INT_EQ(cron_next(&c, t), utc(2026, 12, 13, 0, 0));
        CHECK_INT_EQ(cron_parse("0 9 1 jan-mar *", &c), 0);
        CHECK_INT_EQ(cron_next(&c, t), utc(2027, 1, 1, 9, 0));
        /* both day fields restricted: either (the 15th, or a Friday) */
        CHECK_INT_EQ(cron_parse("0 0 15 * 5", &c), 0);
        CHECK_INT_EQ(cron_next(&c, t), utc(2026, 12, 11, 0, 0));
        CHECK_INT_EQ(cron_parse("5-10/2,50 8 * * 1-5", &c), 0);
        CHECK_INT_EQ(cron_next(&c, t), utc(2026, 12, 8, 8, 5));
        CHECK_INT_EQ(cron_next(&c, utc(2026, 12, 8, 8, 9)), utc(2026, 12, 8, 8, 50));
        CHECK_INT_EQ(cron_parse("0 0 30 2 *", &c), 0);
        CHECK_INT_EQ(cron_next(&c, t), 0); /* never */
        /* another zone: 9:00 in Tokyo is 0:00 UTC */
        setenv("TZ", "Asia/Tokyo", 1);
        tzset();
        CHECK_INT_EQ(cron_parse("0 9 * * *", &c), 0);
        time_t tokyo = cron_next(&c, t);
        setenv("TZ", "UTC", 1);
        tzset();
        CHECK_INT_EQ(tokyo, utc(2026, 12, 8, 0, 0));
        unsetenv("TZ");
        tzset();
}
