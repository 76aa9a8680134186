/* SPDX-License-Identifier: Apache-2.0 */
/* Workloads in static mode (see podspec.h, "workloads"): a Deployment, ReplicaSet, DaemonSet,
 * StatefulSet or Job read into what the agent's controller needs (counts, strategy, the pod
 * template and its hash), checked as the API server checks them, and the pods it makes, with
 * their predictable names and labels. Pure: no I/O. */
#include <stdio.h>

#include "internal.h"
#include "../common/strv.h"

/* FNV-1a 64 over the template's canonical JSON: the pod-template-hash (the controllers hash
 * the template too; any stable hash does, the value only names and tells apart templates). */
static void template_hash(const json_t *t, char out[WORKLOAD_HASH_LEN + 1]) {
        _cleanup_free_ char *s = json_dumps(t, JSON_COMPACT | JSON_SORT_KEYS);
        uint64_t h = 1469598103934665603ULL;
        for (const char *p = strempty(s); *p; p++) {
                h ^= (unsigned char) *p;
                h *= 1099511628211ULL;
        }
        /* the controllers' SafeEncodeString alphabet: no vowels, no look-alikes */
        static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
        for (int i = 0; i < WORKLOAD_HASH_LEN; i++) {
                out[i] = alphabet[h % (sizeof(alphabet) - 1)];
                h /= sizeof(alphabet) - 1;
        }
        out[WORKLOAD_HASH_LEN] = '\0';
}

static void field_error(pod_error_list *errors, pod_error_type t, const char *prefix, const char *field,
                        const char *value, const char *detail) {
        _cleanup_free_ char *f = nl_strdupf("%s%s%s", prefix, *prefix ? "." : "", field);
        pod_error_add(errors, t, f, value, "%s", strempty(detail));
}

/* An int field >= min (default when absent). */
static int int_field(const json_t *o, const char *key, int def, int min, const char *prefix, const char *path,
                     pod_error_list *errors) {
        json_t *v = json_object_get(o, key);
        if (!v || json_is_null(v))
                return def;
        if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > 1000000) {
                _cleanup_free_ char *val = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
                field_error(errors, POD_ERROR_INVALID, prefix, path, val,
                            min == 0 ? "must be greater than or equal to 0" : "must be greater than 0");
                return def;
        }
        return (int) json_integer_value(v);
}

/* intstr.GetScaledValueFromIntOrPercent: "25%" of total, rounded up or down. */
static int int_or_percent(const json_t *v, int def, int total, bool round_up, const char *prefix, const char *path,
                          pod_error_list *errors) {
        if (!v || json_is_null(v))
                return def;
        if (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) <= 1000000)
                return (int) json_integer_value(v);
        const char *s = json_string_value(v);
        char *end = NULL;
        long pct = s ? strtol(s, &end, 10) : -1;
        if (!s || end == s || !end || strcmp(end, "%") != 0 || pct < 0 || pct > 100) {
                _cleanup_free_ char *val = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
                field_error(errors, POD_ERROR_INVALID, prefix, path, val,
                            "a valid percent string must be a numeric string followed by an ending '%' "
                            "(e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')");
                return def;
        }
        long n = pct * total;
        return (int) (round_up ? (n + 99) / 100 : n / 100);
}

void workload_spec_free(struct workload_spec *w) {
        if (!w)
                return;
        free(w->name);
        free(w->namespace);
        json_decref(w->object);
        json_decref(w->template);
        strv_free_n(w->claims, w->n_claims);
        free(w);
}

static int add_claims(struct workload_spec *w, const json_t *templates, const char *prefix, pod_error_list *errors) {
        size_t i;
        json_t *t;
        json_array_foreach(templates, i, t) {
                const char *n = json_string_value(json_object_get(json_object_get(t, "metadata"), "name"));
                if (isempty(n) || !podspec_is_dns1123_label(n)) {
                        _cleanup_free_ char *f = nl_strdupf("spec.volumeClaimTemplates[%zu].metadata.name", i);
                        _cleanup_free_ char *q = pod_error_quote(strempty(n));
                        field_error(errors, isempty(n) ? POD_ERROR_REQUIRED : POD_ERROR_INVALID, prefix, f,
                                    isempty(n) ? NULL : q, isempty(n) ? "" : "must be a DNS-1123 label");
                        continue;
                }
                char **c = reallocarray(w->claims, w->n_claims + 1, sizeof(char *));
                if (!c)
                        return -ENOMEM;
                w->claims = c;
                if (!(w->claims[w->n_claims] = strdup(n)))
                        return -ENOMEM;
                w->n_claims++;
        }
        return 0;
}

int workload_spec_parse(enum manifest_kind k, const json_t *obj, const char *prefix, struct workload_spec **ret,
                        pod_error_list *errors) {
        struct workload_spec *w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        size_t before = errors->n_items;
        prefix = strempty(prefix);
        json_t *md = json_object_get(obj, "metadata"), *spec = json_object_get(obj, "spec");
        const char *name = json_string_value(json_object_get(md, "name"));
        const char *ns = json_string_value(json_object_get(md, "namespace"));
        w->kind = k;
        w->object = json_incref((json_t *) obj);
        w->name = strdup(strempty(name));
        w->namespace = strdup(isempty(ns) ? "default" : ns);
        if (!w->name || !w->namespace)
                goto oom;
        if (isempty(name))
                field_error(errors, POD_ERROR_REQUIRED, prefix, "metadata.name", NULL, "name or generateName is required");
        /* the workload's name begins every pod's name (and a Deployment's adds "-<hash>-<n>") */
        else if (!podspec_is_dns1123_subdomain(name) || strlen(name) > 52) {
                _cleanup_free_ char *q = pod_error_quote(name);
                field_error(errors, POD_ERROR_INVALID, prefix, "metadata.name", q,
                            "must be a lowercase RFC 1123 subdomain of at most 52 characters (its pods' names "
                            "start with it)");
        }
        if (!json_is_object(spec)) {
                field_error(errors, POD_ERROR_REQUIRED, prefix, "spec", NULL, "");
                goto done;
        }
        json_t *tspec = spec;
        if (k == MANIFEST_CRONJOB) {
                /* a CronJob's Jobs: schedule here, the Job's spec under jobTemplate */
                const char *sched = json_string_value(json_object_get(spec, "schedule"));
                if (isempty(sched))
                        field_error(errors, POD_ERROR_REQUIRED, prefix, "spec.schedule", NULL, "");
                else if (cron_parse(sched, &w->cron) < 0) {
                        _cleanup_free_ char *q = pod_error_quote(sched);
                        field_error(errors, POD_ERROR_INVALID, prefix, "spec.schedule", q,
                                    "unparseable cron expression");
                }
                const char *tz = json_string_value(json_object_get(spec, "timeZone"));
                if (tz && (!*tz || strstr(tz, "..") || tz[0] == '/' || strlen(tz) > 128)) {
                        _cleanup_free_ char *q = pod_error_quote(tz);
                        field_error(errors, POD_ERROR_INVALID, prefix, "spec.timeZone", q, "unknown time zone");
                }
                const char *cp = json_string_value(json_object_get(spec, "concurrencyPolicy"));
                w->concurrency = !cp || streq(cp, "Allow") ? WORKLOAD_CONCURRENCY_ALLOW
                               : streq(cp, "Forbid")       ? WORKLOAD_CONCURRENCY_FORBID
                               : streq(cp, "Replace")      ? WORKLOAD_CONCURRENCY_REPLACE
                                                           : -1;
                if (w->concurrency < 0) {
                        _cleanup_free_ char *q = pod_error_quote(cp);
                        field_error(errors, POD_ERROR_NOT_SUPPORTED, prefix, "spec.concurrencyPolicy", q,
                                    "supported values: \"Allow\", \"Forbid\", \"Replace\"");
                }
                w->suspend = json_is_true(json_object_get(spec, "suspend"));
                w->successful_history =
                        int_field(spec, "successfulJobsHistoryLimit", 3, 0, prefix, "spec.successfulJobsHistoryLimit", errors);
                w->failed_history =
                        int_field(spec, "failedJobsHistoryLimit", 1, 0, prefix, "spec.failedJobsHistoryLimit", errors);
                tspec = json_object_get(json_object_get(spec, "jobTemplate"), "spec");
                if (!json_is_object(tspec)) {
                        field_error(errors, POD_ERROR_REQUIRED, prefix, "spec.jobTemplate.spec", NULL, "");
                        goto done;
                }
        }
        json_t *tmpl = json_object_get(tspec, "template");
        if (!json_is_object(tmpl) || !json_is_object(json_object_get(tmpl, "spec"))) {
                field_error(errors, POD_ERROR_REQUIRED, prefix,
                            k == MANIFEST_CRONJOB ? "spec.jobTemplate.spec.template.spec" : "spec.template.spec", NULL, "");
                goto done;
        }
        w->template = json_deep_copy(tmpl);
        if (!w->template)
                goto oom;
        template_hash(w->template, w->hash);

        switch (k) {
        case MANIFEST_DEPLOYMENT:
        case MANIFEST_REPLICASET:
        case MANIFEST_STATEFULSET:
                w->replicas = int_field(spec, "replicas", 1, 0, prefix, "spec.replicas", errors);
                break;
        default:
                w->replicas = 1;
        }
        if (k == MANIFEST_DEPLOYMENT) {
                json_t *st = json_object_get(spec, "strategy");
                const char *type = json_string_value(json_object_get(st, "type"));
                if (type && !streq(type, "RollingUpdate") && !streq(type, "Recreate")) {
                        _cleanup_free_ char *q = pod_error_quote(type);
                        field_error(errors, POD_ERROR_NOT_SUPPORTED, prefix, "spec.strategy.type", q,
                                    "supported values: \"Recreate\", \"RollingUpdate\"");
                }
                w->recreate = streq_ptr(type, "Recreate");
                json_t *ru = json_object_get(st, "rollingUpdate");
                /* the API server's defaults: 25% each, surge rounded up, unavailable down */
                w->max_surge = int_or_percent(json_object_get(ru, "maxSurge"), -1, w->replicas, true, prefix,
                                              "spec.strategy.rollingUpdate.maxSurge", errors);
                w->max_unavailable = int_or_percent(json_object_get(ru, "maxUnavailable"), -1, w->replicas, false,
                                                    prefix, "spec.strategy.rollingUpdate.maxUnavailable", errors);
                if (w->max_surge < 0)
                        w->max_surge = (w->replicas * 25 + 99) / 100;
                if (w->max_unavailable < 0)
                        w->max_unavailable = w->replicas * 25 / 100;
                if (!w->recreate && w->max_surge == 0 && w->max_unavailable == 0)
                        field_error(errors, POD_ERROR_INVALID, prefix, "spec.strategy.rollingUpdate.maxUnavailable",
                                    "0", "may not be 0 when `maxSurge` is 0");
        }
        if (k == MANIFEST_STATEFULSET) {
                const char *pmp = json_string_value(json_object_get(spec, "podManagementPolicy"));
                w->parallel = streq_ptr(pmp, "Parallel");
                if (add_claims(w, json_object_get(spec, "volumeClaimTemplates"), prefix, errors) < 0)
                        goto oom;
        }
        if (k == MANIFEST_JOB || k == MANIFEST_CRONJOB) {
                const char *jp = k == MANIFEST_CRONJOB ? "spec.jobTemplate.spec." : "spec.";
                _cleanup_free_ char *pc = nl_strdupf("%scompletions", jp), *pp = nl_strdupf("%sparallelism", jp),
                                    *pb = nl_strdupf("%sbackoffLimit", jp);
                /* the API server's defaults: both unset is 1 and 1; parallelism alone is a
                 * work queue (done when one pod succeeds: treated here as completions 1) */
                w->completions = int_field(tspec, "completions", 1, 0, prefix, strempty(pc), errors);
                w->parallelism = int_field(tspec, "parallelism", 1, 0, prefix, strempty(pp), errors);
                w->backoff_limit = int_field(tspec, "backoffLimit", 6, 0, prefix, strempty(pb), errors);
        }
        /* the pod template's restartPolicy as the API server requires it */
        const char *rp = json_string_value(json_object_get(json_object_get(w->template, "spec"), "restartPolicy"));
        bool job = k == MANIFEST_JOB || k == MANIFEST_CRONJOB;
        if (job ? !rp || streq(rp, "Always") : rp && !streq(rp, "Always")) {
                _cleanup_free_ char *q = rp ? pod_error_quote(rp) : NULL;
                if (job && !rp)
                        field_error(errors, POD_ERROR_REQUIRED, prefix,
                                    k == MANIFEST_CRONJOB ? "spec.jobTemplate.spec.template.spec.restartPolicy"
                                                          : "spec.template.spec.restartPolicy",
                                    NULL, "");
                else
                        field_error(errors, POD_ERROR_NOT_SUPPORTED, prefix,
                                    job ? (k == MANIFEST_CRONJOB ? "spec.jobTemplate.spec.template.spec.restartPolicy"
                                                                 : "spec.template.spec.restartPolicy")
                                        : "spec.template.spec.restartPolicy",
                                    q, job ? "supported values: \"OnFailure\", \"Never\"" : "supported values: \"Always\"");
        }
done:
        if (errors->n_items > before) {
                workload_spec_free(w);
                *ret = NULL;
                return 0;
        }
        *ret = w;
        return 0;
oom:
        workload_spec_free(w);
        return -ENOMEM;
}

char *workload_pod_name(const struct workload_spec *w, const char *hash, unsigned index) {
        switch (w->kind) {
        case MANIFEST_DEPLOYMENT:
                return nl_strdupf("%s-%s-%u", w->name, hash, index);
        case MANIFEST_DAEMONSET:
                return strdup(w->name);
        default: /* ReplicaSet, StatefulSet ordinals; a Job's attempts */
                return nl_strdupf("%s-%u", w->name, index);
        }
}

static int set_str(json_t *o, const char *key, const char *v) {
        return json_object_set_new(o, key, json_string(v));
}

/* A persistentVolumeClaim volume: the claim's node-local directory. */
static int claim_to_host_path(json_t *vol, const char *claims_dir, const char *claim) {
        json_t *hp = json_pack("{s:s++, s:s}", "path", claims_dir, "/", claim, "type", "DirectoryOrCreate");
        if (!hp)
                return -ENOMEM;
        json_object_del(vol, "persistentVolumeClaim");
        return json_object_set_new(vol, "hostPath", hp);
}

int workload_claims_to_host_paths(json_t *pod_spec, const char *claims_dir) {
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(pod_spec, "volumes"), i, v) {
                const char *claim =
                        json_string_value(json_object_get(json_object_get(v, "persistentVolumeClaim"), "claimName"));
                if (claim && podspec_is_dns1123_subdomain(claim) && claim_to_host_path(v, claims_dir, claim) < 0)
                        return -ENOMEM;
        }
        return 0;
}

json_t *workload_pod_json(const struct workload_spec *w, unsigned index, const char *job_name,
                          const char *claims_dir) {
        _cleanup_free_ char *name = job_name ? nl_strdupf("%s-%u", job_name, index) : workload_pod_name(w, w->hash, index);
        _cleanup_free_ char *owner = nl_strdupf("%s/%s", manifest_kind_name(w->kind), w->name);
        _cleanup_free_ char *idx = nl_strdupf("%u", index);
        json_t *pod = json_pack("{s:s, s:s, s:O}", "apiVersion", "v1", "kind", "Pod", "spec",
                                json_object_get(w->template, "spec"));
        json_t *md = json_deep_copy(json_object_get(w->template, "metadata"));
        if (!md)
                md = json_object();
        if (!name || !pod || !md || json_object_set_new(pod, "metadata", md) < 0)
                goto oom;
        json_t *spec = json_deep_copy(json_object_get(pod, "spec"));
        if (!spec || json_object_set_new(pod, "spec", spec) < 0)
                goto oom;
        json_object_del(md, "generateName");
        json_object_del(md, "uid");
        if (set_str(md, "name", name) < 0 || set_str(md, "namespace", w->namespace) < 0)
                goto oom;
        json_t *labels = json_object_get(md, "labels");
        if (!json_is_object(labels)) {
                if (json_object_set_new(md, "labels", json_object()) < 0)
                        goto oom;
                labels = json_object_get(md, "labels");
        }
        json_t *ann = json_object_get(md, "annotations");
        if (!json_is_object(ann)) {
                if (json_object_set_new(md, "annotations", json_object()) < 0)
                        goto oom;
                ann = json_object_get(md, "annotations");
        }
        if (!owner || !idx || set_str(ann, WORKLOAD_ANNOTATION, owner) < 0)
                goto oom;
        switch (w->kind) {
        case MANIFEST_DEPLOYMENT:
        case MANIFEST_REPLICASET:
        case MANIFEST_DAEMONSET:
                if (set_str(labels, "pod-template-hash", w->hash) < 0)
                        goto oom;
                break;
        case MANIFEST_STATEFULSET: {
                /* the StatefulSet controller's identity: labels, hostname, subdomain, claims */
                const char *svc = json_string_value(json_object_get(json_object_get(w->object, "spec"), "serviceName"));
                if (set_str(labels, "statefulset.kubernetes.io/pod-name", name) < 0 ||
                    set_str(labels, "apps.kubernetes.io/pod-index", idx) < 0 ||
                    set_str(labels, "controller-revision-hash", w->hash) < 0 || set_str(spec, "hostname", name) < 0 ||
                    (!isempty(svc) && set_str(spec, "subdomain", svc) < 0))
                        goto oom;
                json_t *vols = json_object_get(spec, "volumes");
                if (!json_is_array(vols)) {
                        if (json_object_set_new(spec, "volumes", json_array()) < 0)
                                goto oom;
                        vols = json_object_get(spec, "volumes");
                }
                for (size_t i = 0; i < w->n_claims; i++) {
                        _cleanup_free_ char *claim = nl_strdupf("%s-%s", w->claims[i], name);
                        json_t *v = json_pack("{s:s}", "name", w->claims[i]);
                        if (!claim || !v || claim_to_host_path(v, claims_dir, claim) < 0 ||
                            json_array_append_new(vols, v) < 0)
                                goto oom;
                }
                break;
        }
        case MANIFEST_JOB:
        case MANIFEST_CRONJOB: {
                const char *job = job_name ? job_name : w->name;
                if (set_str(labels, "job-name", job) < 0 || set_str(labels, "batch.kubernetes.io/job-name", job) < 0)
                        goto oom;
                break;
        }
        default:
                break;
        }
        if (workload_claims_to_host_paths(spec, claims_dir) < 0)
                goto oom;
        return pod;
oom:
        json_decref(pod);
        return NULL;
}

/* A workload as the API server checks it: its own fields, and its pod template as a Pod (the
 * pod it makes first, with the static-pod rules). */
int workload_validate(enum manifest_kind k, const json_t *obj, const char *prefix, const char *node_name,
                      pod_error_list *errs) {
        struct workload_spec *w = NULL;
        if (workload_spec_parse(k, obj, prefix, &w, errs) < 0)
                return -ENOMEM;
        if (!w)
                return 0;
        json_t *j = workload_pod_json(w, 0, NULL, "/claims");
        pod_error_list perrs = {};
        struct pod *p = j ? pod_from_json(j, &perrs, NULL) : NULL;
        nl_error err = NL_ERROR_INIT;
        int r = 0;
        if (!p || pod_set_defaults(p) < 0)
                r = perrs.n_items > 0 ? 0 : -ENOMEM;
        else if (pod_apply_static_rules(p, node_name, "check", "", 0, &err) < 0)
                pod_error_add(&perrs, POD_ERROR_INVALID, "metadata.name", NULL, "%s", strempty(err.msg));
        else
                pod_validate(p, &perrs);
        /* the template's fields: "spec.template.spec.containers[0].image: ..." */
        const char *tp = k == MANIFEST_CRONJOB ? "spec.jobTemplate.spec.template." : "spec.template.";
        for (size_t i = 0; i < perrs.n_items; i++) {
                const char *m = perrs.items[i].message;
                if (strncmp(m, "metadata.name", 13) == 0)
                        pod_error_add(errs, POD_ERROR_INVALID, prefix, NULL, "its pods' names: %s", m);
                else
                        pod_error_add(errs, POD_ERROR_SYNTAX, NULL, NULL, "%s%s%s%s", prefix, *prefix ? "." : "", tp, m);
        }
        nl_error_clear(&err);
        pod_error_list_done(&perrs);
        pod_free(p);
        json_decref(j);
        workload_spec_free(w);
        return r;
}
