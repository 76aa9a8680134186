/* SPDX-License-Identifier: Apache-2.0 */
/* Workloads in static mode: the manifests' Deployments, ReplicaSets, DaemonSets, StatefulSets,
 * Jobs and CronJobs become static pods, made and replaced here as their controllers in
 * kube-controller-manager would on one node, and PersistentVolumeClaims become directories.
 *
 * One timer on the loop (every second, and at once after a manifest changed) compares each
 * workload's pods with what it asks for and makes one step: create a pod
 * (manager_pod_update with a pod from podspec's workload_pod_json through the static-pod
 * rules) or terminate one. Pod state comes from the workers' last status. What a workload made
 * is kept in <root>/workloads/<ns>_<Kind>_<name>.json, so a daemon restart adopts the same pods
 * (their pod.json) instead of making new ones; the status every workload reports is written
 * to <root>/workloads.json for `nodelet workloads` and `nodelet get deployment NAME`. */
#include <dirent.h>
#include <stdio.h>
#include <sys/stat.h>

#include "manager.h"
#include "pod-worker.h"
#include "workloads.h"
#include "common/fs.h"
#include "common/time-util.h"
#include "agent/state/state.h"

#define TICK_USEC (1000 * 1000ULL)
#define RETAIN_ANNOTATION "nodelet.io/retain" /* on a PersistentVolumeClaim: "true" keeps its data */

struct wl_pod {
        char *uid;
        char *hash;       /* the template it was made from */
        unsigned index;   /* ordinal, replica number, or a Job's pod count */
        bool deleting;    /* terminated by us: dropped once its worker is gone */
};

struct workload {
        char *path; /* the manifest file */
        struct workload_spec *spec;
        char *key;  /* "<ns>_<Kind>_<name>" */
        struct wl_pod *pods;
        size_t n_pods;
        unsigned next_index; /* a Job's next pod number */
        bool seen;           /* in the file's latest update */
        /* Jobs */
        char *parent;        /* a CronJob's Job: the CronJob's key */
        bool job_done, job_failed;
        usec_t job_done_at;  /* CLOCK_REALTIME, for the CronJob's history */
        time_t scheduled;    /* a CronJob's Job: the minute it was made for */
        /* CronJobs */
        time_t last_schedule;
};

struct claim {
        char *path, *ns, *name, *dir;
        bool retain, seen;
};

struct workloads {
        struct manager *m;
        sd_event_source *timer;
        struct workload **items;
        size_t n_items;
        struct claim *claims;
        size_t n_claims;
        char *dir, *claims_dir, *status_path;
        json_t *written;
};

/* ---- pods -------------------------------------------------------------------------------- */

static const json_t *pod_status(struct workloads *c, const char *uid) {
        return manager_pod_status(c->m, uid);
}

static const char *phase_of(struct workloads *c, const struct wl_pod *p) {
        return json_string_value(json_object_get(pod_status(c, p->uid), "phase"));
}

static bool pod_ready(struct workloads *c, const struct wl_pod *p) {
        const json_t *st = pod_status(c, p->uid);
        if (!streq_ptr(json_string_value(json_object_get(st, "phase")), "Running"))
                return false;
        size_t i;
        json_t *cond;
        json_array_foreach(json_object_get(st, "conditions"), i, cond)
                if (streq_ptr(json_string_value(json_object_get(cond, "type")), "Ready"))
                        return streq_ptr(json_string_value(json_object_get(cond, "status")), "True");
        return false;
}

static void wl_pod_done(struct wl_pod *p) {
        free(p->uid);
        free(p->hash);
}

static char *source_path(const struct workload *w) {
        return nl_strdupf("%s#%s/%s/%s", w->path, manifest_kind_name(w->spec->kind), w->spec->namespace, w->spec->name);
}

/* The pod for index (a Job's: the n-th) through defaults, the static-pod rules and validation,
 * handed to the manager. */
static int create_pod(struct workloads *c, struct workload *w, unsigned index) {
        _cleanup_free_ char *claims = nl_strdupf("%s/%s", c->claims_dir, w->spec->namespace);
        json_t *j = claims ? workload_pod_json(w->spec, index, NULL, claims) : NULL;
        _cleanup_free_ char *canonical = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        _cleanup_free_ char *src = source_path(w);
        pod_error_list errs = {};
        struct pod *p = j ? pod_from_json(j, &errs, NULL) : NULL;
        json_decref(j);
        nl_error err = NL_ERROR_INIT;
        int r = -ENOMEM;
        if (!p || !canonical || !src || pod_set_defaults(p) < 0)
                goto fail;
        if ((r = pod_apply_static_rules(p, c->m->cfg->node_name, src, canonical, strlen(canonical), &err)) < 0)
                goto fail;
        pod_validate(p, &errs);
        if (errs.n_items > 0) {
                log_error("%s %s: its pod does not validate: %s", manifest_kind_name(w->spec->kind), w->spec->name,
                          errs.items[0].message);
                r = -EINVAL;
                goto fail;
        }
        struct wl_pod *n = reallocarray(w->pods, w->n_pods + 1, sizeof(*n));
        if (!n)
                goto fail;
        w->pods = n;
        n[w->n_pods] = (struct wl_pod){.uid = strdup(p->metadata.uid), .hash = strdup(w->spec->hash), .index = index};
        if (!n[w->n_pods].uid || !n[w->n_pods].hash) {
                wl_pod_done(&n[w->n_pods]);
                goto fail;
        }
        w->n_pods++;
        log_info("%s %s: pod %s", manifest_kind_name(w->spec->kind), w->spec->name, p->metadata.name);
        manager_pod_update(c->m, n[w->n_pods - 1].uid, p);
        pod_error_list_done(&errs);
        return 0;
fail:
        pod_error_list_done(&errs);
        nl_error_clear(&err);
        pod_free(p);
        return r;
}

static void delete_pod(struct workloads *c, struct wl_pod *p) {
        if (p->deleting)
                return;
        p->deleting = true;
        manager_pod_update(c->m, p->uid, NULL);
}

/* Forget pods whose workers are gone (terminated by us, or lost). */
static void prune(struct workloads *c, struct workload *w) {
        for (size_t i = w->n_pods; i > 0; i--) {
                struct wl_pod *p = &w->pods[i - 1];
                if (manager_has_pod(c->m, p->uid))
                        continue;
                wl_pod_done(p);
                memmove(p, p + 1, (w->n_pods - i) * sizeof(*p));
                w->n_pods--;
        }
}

static struct wl_pod *find_index(struct workload *w, unsigned index, bool current, const char *hash) {
        for (size_t i = 0; i < w->n_pods; i++)
                if (w->pods[i].index == index && !w->pods[i].deleting &&
                    (!current || streq(w->pods[i].hash, hash)))
                        return &w->pods[i];
        return NULL;
}

/* ---- the controllers, one step each -------------------------------------------------------- */

/* The Deployment controller's rolling update on one node: new pods (this template) up to
 * replicas, never more than replicas + maxSurge pods, never fewer than replicas -
 * maxUnavailable ready; one pod at a time, the next only when the last new one is ready. */
static void step_deployment(struct workloads *c, struct workload *w) {
        const struct workload_spec *s = w->spec;
        size_t total = 0, new_n = 0, ready = 0, old_n = 0;
        bool new_unready = false;
        for (size_t i = 0; i < w->n_pods; i++) {
                struct wl_pod *p = &w->pods[i];
                if (p->deleting)
                        continue;
                bool cur = streq(p->hash, s->hash), rdy = pod_ready(c, p);
                total++;
                ready += rdy;
                if (cur) {
                        new_n++;
                        new_unready |= !rdy;
                } else
                        old_n++;
        }
        if (s->recreate && old_n > 0) {
                for (size_t i = 0; i < w->n_pods; i++)
                        if (!streq(w->pods[i].hash, s->hash))
                                delete_pod(c, &w->pods[i]);
                return;
        }
        if (s->recreate && w->n_pods > total)
                return; /* Recreate: the old pods are gone before new ones start */
        /* scale down: the newest extra pods of this template go */
        if (new_n > (size_t) s->replicas) {
                struct wl_pod *last = NULL;
                for (size_t i = 0; i < w->n_pods; i++)
                        if (!w->pods[i].deleting && streq(w->pods[i].hash, s->hash) &&
                            (!last || w->pods[i].index > last->index))
                                last = &w->pods[i];
                if (last)
                        delete_pod(c, last);
                return;
        }
        if (new_n < (size_t) s->replicas && !(old_n > 0 && new_unready) &&
            total < (size_t) (s->replicas + (old_n > 0 ? s->max_surge : 0))) {
                for (unsigned idx = 0;; idx++)
                        if (!find_index(w, idx, true, s->hash)) {
                                (void) create_pod(c, w, idx);
                                return;
                        }
        }
        if (old_n > 0) {
                /* an old pod that is not ready goes first; a ready one only while enough stay ready */
                struct wl_pod *victim = NULL;
                for (size_t i = 0; i < w->n_pods && !victim; i++)
                        if (!w->pods[i].deleting && !streq(w->pods[i].hash, s->hash) && !pod_ready(c, &w->pods[i]))
                                victim = &w->pods[i];
                if (!victim && !new_unready && ready >= (size_t) (s->replicas - s->max_unavailable) + 1)
                        for (size_t i = 0; i < w->n_pods && !victim; i++)
                                if (!w->pods[i].deleting && !streq(w->pods[i].hash, s->hash))
                                        victim = &w->pods[i];
                if (victim)
                        delete_pod(c, victim);
        }
}

/* ReplicaSet: replicas pods "<name>-<n>". As its controller, a template change does not touch
 * the pods that run (only pods made later use it). DaemonSet: one pod "<name>", replaced when
 * its template changes (RollingUpdate with maxUnavailable 1: the old one goes first). */
static void step_replicas(struct workloads *c, struct workload *w) {
        const struct workload_spec *s = w->spec;
        bool daemon = s->kind == MANIFEST_DAEMONSET;
        for (size_t i = 0; i < w->n_pods; i++) {
                struct wl_pod *p = &w->pods[i];
                if (p->deleting)
                        continue;
                if (p->index >= (unsigned) s->replicas || (daemon && !streq(p->hash, s->hash))) {
                        delete_pod(c, p);
                        return;
                }
        }
        for (unsigned idx = 0; idx < (unsigned) s->replicas; idx++) {
                bool any = false; /* a pod of this index, terminating or not, holds its name */
                for (size_t i = 0; i < w->n_pods; i++)
                        any |= w->pods[i].index == idx;
                if (!any) {
                        (void) create_pod(c, w, idx);
                        return;
                }
        }
}

/* StatefulSet: pods "<name>-<n>", made in order (OrderedReady: each once the ones before are
 * Running and Ready; Parallel: all at once), removed from the highest ordinal; a template
 * change replaces them from the highest ordinal down, one at a time, each once the others are
 * ready (RollingUpdate). A pod's claims keep their directories. */
static void step_statefulset(struct workloads *c, struct workload *w) {
        const struct workload_spec *s = w->spec;
        struct wl_pod *extra = NULL;
        for (size_t i = 0; i < w->n_pods; i++)
                if (!w->pods[i].deleting && w->pods[i].index >= (unsigned) s->replicas &&
                    (!extra || w->pods[i].index > extra->index))
                        extra = &w->pods[i];
        if (extra) {
                delete_pod(c, extra);
                return;
        }
        bool all_ready = true;
        for (unsigned idx = 0; idx < (unsigned) s->replicas; idx++) {
                bool any = false;
                for (size_t i = 0; i < w->n_pods; i++)
                        any |= w->pods[i].index == idx;
                if (!any) {
                        if (all_ready || s->parallel)
                                (void) create_pod(c, w, idx);
                        if (!s->parallel)
                                return;
                        all_ready = false;
                        continue;
                }
                struct wl_pod *p = find_index(w, idx, false, NULL);
                if (!p || !pod_ready(c, p))
                        all_ready = false;
        }
        if (!all_ready)
                return;
        for (unsigned idx = (unsigned) s->replicas; idx > 0; idx--) {
                struct wl_pod *p = find_index(w, idx - 1, false, NULL);
                if (p && !streq(p->hash, s->hash)) {
                        delete_pod(c, p);
                        return;
                }
        }
}

/* Job: pods "<name>-<n>" until completions succeeded, at most parallelism at once; more than
 * backoffLimit failed pods fail the Job (its running pods are stopped). Finished pods are kept,
 * as the Job controller keeps them, for their status and logs. */
static void step_job(struct workloads *c, struct workload *w) {
        const struct workload_spec *s = w->spec;
        int succeeded = 0, failed = 0, active = 0;
        for (size_t i = 0; i < w->n_pods; i++) {
                const char *ph = phase_of(c, &w->pods[i]);
                if (streq_ptr(ph, "Succeeded"))
                        succeeded++;
                else if (streq_ptr(ph, "Failed"))
                        failed++;
                else if (!w->pods[i].deleting)
                        active++;
        }
        if (w->job_done || w->job_failed)
                return;
        if (succeeded >= s->completions) {
                w->job_done = true;
                w->job_done_at = now_realtime();
                log_info("Job %s: complete (%d of %d succeeded)", s->name, succeeded, s->completions);
                return;
        }
        if (failed > s->backoff_limit) {
                w->job_failed = true;
                w->job_done_at = now_realtime();
                log_warning("Job %s: failed: Job has reached the specified backoff limit", s->name);
                for (size_t i = 0; i < w->n_pods; i++) {
                        const char *ph = phase_of(c, &w->pods[i]);
                        if (!streq_ptr(ph, "Succeeded") && !streq_ptr(ph, "Failed"))
                                delete_pod(c, &w->pods[i]);
                }
                return;
        }
        int want = s->completions - succeeded;
        if (want > s->parallelism)
                want = s->parallelism;
        if (active < want)
                (void) create_pod(c, w, w->next_index++);
}

static void save(struct workloads *c, struct workload *w);
static struct workload *workload_new(struct workloads *c, const char *path, struct workload_spec *spec);
static void workload_remove(struct workloads *c, size_t i);

/* CronJob: at each scheduled minute (the node's time zone, or spec.timeZone) a Job
 * "<name>-<minutes since the epoch>" from jobTemplate, as the CronJob controller names them;
 * concurrencyPolicy Forbid skips a run while one is active, Replace stops the active one;
 * successfulJobsHistoryLimit and failedJobsHistoryLimit finished Jobs are kept. A run missed
 * while the daemon was down is not made up (startingDeadlineSeconds is not supported). */
static time_t cron_next_in_zone(const struct workload_spec *s, time_t after) {
        const char *tz = json_string_value(json_object_get(json_object_get(s->object, "spec"), "timeZone"));
        if (isempty(tz))
                return cron_next(&s->cron, after);
        /* the loop is one thread: TZ is switched for this computation and put back */
        _cleanup_free_ char *old = getenv("TZ") ? strdup(getenv("TZ")) : NULL;
        setenv("TZ", tz, 1);
        tzset();
        time_t t = cron_next(&s->cron, after);
        if (old)
                setenv("TZ", old, 1);
        else
                unsetenv("TZ");
        tzset();
        return t;
}

static void step_cronjob(struct workloads *c, struct workload *w) {
        const struct workload_spec *s = w->spec;
        time_t now = (time_t) (now_realtime() / USEC_PER_SEC);
        if (w->last_schedule == 0)
                w->last_schedule = now; /* from when it was first seen */
        /* history: the oldest finished Jobs beyond the limits go, with their pods */
        for (int pass = 0; pass < 2; pass++) {
                int keep = pass == 0 ? s->successful_history : s->failed_history, n = 0;
                for (size_t i = c->n_items; i > 0; i--) {
                        struct workload *j = c->items[i - 1];
                        if (!streq_ptr(j->parent, w->key) || !(pass == 0 ? j->job_done : j->job_failed))
                                continue;
                        if (++n > keep) {
                                workload_remove(c, i - 1);
                                return;
                        }
                }
        }
        if (s->suspend)
                return;
        time_t next = cron_next_in_zone(s, w->last_schedule);
        if (next == 0 || next > now)
                return;
        w->last_schedule = next;
        bool active = false;
        for (size_t i = 0; i < c->n_items; i++) {
                struct workload *j = c->items[i];
                if (streq_ptr(j->parent, w->key) && !j->job_done && !j->job_failed) {
                        active = true;
                        if (s->concurrency == WORKLOAD_CONCURRENCY_REPLACE) {
                                j->job_failed = true; /* stopped: its pods go */
                                for (size_t k = 0; k < j->n_pods; k++)
                                        delete_pod(c, &j->pods[k]);
                        }
                }
        }
        if (active && s->concurrency == WORKLOAD_CONCURRENCY_FORBID) {
                log_info("CronJob %s: a run is still active, skipping this one (concurrencyPolicy Forbid)", s->name);
                save(c, w);
                return;
        }
        /* the Job: a workload of its own, its spec from jobTemplate */
        json_t *jt = json_object_get(json_object_get(s->object, "spec"), "jobTemplate");
        _cleanup_free_ char *name = nl_strdupf("%s-%lld", s->name, (long long) (next / 60));
        json_t *job = json_pack("{s:s, s:s, s:{s:s?, s:s}, s:O}", "apiVersion", "batch/v1", "kind", "Job", "metadata",
                                "name", name, "namespace", s->namespace, "spec", json_object_get(jt, "spec"));
        pod_error_list errs = {};
        struct workload_spec *js = NULL;
        if (job && workload_spec_parse(MANIFEST_JOB, job, "", &js, &errs) >= 0 && js) {
                struct workload *j = workload_new(c, w->path, js);
                if (j) {
                        j->parent = strdup(w->key);
                        j->scheduled = next;
                        j->seen = true;
                        log_info("CronJob %s: Job %s", s->name, name);
                        save(c, j);
                }
        }
        pod_error_list_done(&errs);
        json_decref(job);
        save(c, w);
}

/* ---- status --------------------------------------------------------------------------------- */

static json_t *workload_status(struct workloads *c, struct workload *w) {
        const struct workload_spec *s = w->spec;
        json_int_t ready = 0, updated = 0, total = 0, succeeded = 0, failed = 0, active = 0;
        json_t *pods = json_array();
        for (size_t i = 0; i < w->n_pods; i++) {
                struct wl_pod *p = &w->pods[i];
                const char *ph = phase_of(c, p);
                if (!p->deleting) {
                        total++;
                        ready += pod_ready(c, p);
                        updated += streq(p->hash, s->hash);
                }
                succeeded += streq_ptr(ph, "Succeeded");
                failed += streq_ptr(ph, "Failed");
                active += !p->deleting && !streq_ptr(ph, "Succeeded") && !streq_ptr(ph, "Failed");
                json_t *pod = json_pack("{s:s, s:s, s:s?, s:b, s:b}", "uid", p->uid, "hash", p->hash, "phase", ph,
                                        "ready", pod_ready(c, p), "terminating", p->deleting);
                json_array_append_new(pods, pod);
        }
        json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:o}", "kind", manifest_kind_name(s->kind), "namespace",
                              s->namespace, "name", s->name, "file", w->path, "pods", pods);
        if (!j)
                return NULL;
        switch (s->kind) {
        case MANIFEST_JOB:
                json_object_set_new(j, "status",
                                    json_pack("{s:I, s:I, s:I, s:I, s:s}", "completions", (json_int_t) s->completions,
                                              "active", active, "succeeded", succeeded, "failed", failed, "condition",
                                              w->job_done ? "Complete" : w->job_failed ? "Failed" : ""));
                if (w->parent)
                        json_object_set_new(j, "cronJob", json_string(strchr(w->parent, '_') ? strrchr(w->parent, '_') + 1 : w->parent));
                break;
        case MANIFEST_CRONJOB: {
                json_t *act = json_array();
                for (size_t i = 0; i < c->n_items; i++)
                        if (streq_ptr(c->items[i]->parent, w->key) && !c->items[i]->job_done && !c->items[i]->job_failed)
                                json_array_append_new(act, json_string(c->items[i]->spec->name));
                _cleanup_free_ char *last = w->last_schedule ? format_rfc3339nano((usec_t) w->last_schedule * USEC_PER_SEC) : NULL;
                json_object_set_new(j, "status", json_pack("{s:o, s:s?}", "active", act, "lastScheduleTime", last));
                break;
        }
        default:
                json_object_set_new(j, "status",
                                    json_pack("{s:I, s:I, s:I, s:I, s:I}", "replicas", total, "readyReplicas", ready,
                                              "updatedReplicas", updated, "availableReplicas", ready, "desired",
                                              (json_int_t) s->replicas));
        }
        return j;
}

static void write_status(struct workloads *c) {
        json_t *all = json_array();
        for (size_t i = 0; all && i < c->n_items; i++)
                json_array_append_new(all, workload_status(c, c->items[i]));
        if (!all || json_equal(all, c->written)) {
                json_decref(all);
                return;
        }
        _cleanup_free_ char *text = json_dumps(all, JSON_INDENT(1) | JSON_SORT_KEYS);
        if (text && nl_write_file_atomic(c->status_path, text, strlen(text), 0644) >= 0) {
                json_decref(c->written);
                c->written = all;
        } else
                json_decref(all);
}

/* ---- persistence ------------------------------------------------------------------------- */

static char *state_path(struct workloads *c, const struct workload *w) {
        return nl_strdupf("%s/%s.json", c->dir, w->key);
}

static void save(struct workloads *c, struct workload *w) {
        json_t *pods = json_array();
        for (size_t i = 0; pods && i < w->n_pods; i++)
                json_array_append_new(pods, json_pack("{s:s, s:s, s:I, s:b}", "uid", w->pods[i].uid, "hash",
                                                      w->pods[i].hash, "index", (json_int_t) w->pods[i].index,
                                                      "deleting", w->pods[i].deleting));
        json_t *j = json_pack("{s:o, s:I, s:b, s:b, s:I, s:I, s:s?, s:O?}", "pods", pods, "next",
                              (json_int_t) w->next_index, "done", w->job_done, "failed", w->job_failed, "lastSchedule",
                              (json_int_t) w->last_schedule, "scheduled", (json_int_t) w->scheduled, "parent",
                              w->parent, "object", w->parent ? w->spec->object : NULL);
        _cleanup_free_ char *text = j ? json_dumps(j, JSON_COMPACT) : NULL, *path = state_path(c, w);
        json_decref(j);
        if (text && path && nl_write_file_atomic(path, text, strlen(text), 0600) < 0)
                log_warning("cannot write %s, ignoring", path);
}

/* What a previous run made: the pods it recorded are adopted from their pod.json. */
static void load(struct workloads *c, struct workload *w) {
        _cleanup_free_ char *path = state_path(c, w), *buf = NULL;
        size_t len = 0;
        if (!path || nl_read_file(path, 4 * 1024 * 1024, true, &buf, &len) < 0)
                return;
        json_t *j = json_loadb(buf, len, 0, NULL);
        if (!j)
                return;
        w->next_index = (unsigned) json_integer_value(json_object_get(j, "next"));
        w->job_done = json_is_true(json_object_get(j, "done"));
        w->job_failed = json_is_true(json_object_get(j, "failed"));
        w->last_schedule = (time_t) json_integer_value(json_object_get(j, "lastSchedule"));
        size_t i;
        json_t *p;
        json_array_foreach(json_object_get(j, "pods"), i, p) {
                const char *uid = json_string_value(json_object_get(p, "uid"));
                const char *hash = json_string_value(json_object_get(p, "hash"));
                if (!uid || !hash || !pod_uid_is_path_safe(uid))
                        continue;
                if (!manager_has_pod(c->m, uid)) {
                        json_t *pj = node_pod_load(c->m->cri.root_dir, uid);
                        struct pod *pod = pj ? pod_from_json(pj, NULL, NULL) : NULL;
                        json_decref(pj);
                        if (!pod)
                                continue;
                        manager_pod_update(c->m, uid, pod);
                }
                struct wl_pod *n = reallocarray(w->pods, w->n_pods + 1, sizeof(*n));
                if (!n)
                        break;
                w->pods = n;
                n[w->n_pods] = (struct wl_pod){.uid = strdup(uid), .hash = strdup(hash),
                                               .index = (unsigned) json_integer_value(json_object_get(p, "index"))};
                if (json_is_true(json_object_get(p, "deleting")))
                        delete_pod(c, &n[w->n_pods]);
                w->n_pods++;
        }
        json_decref(j);
}

/* ---- the set of workloads ------------------------------------------------------------------ */

static void workload_free(struct workload *w) {
        if (!w)
                return;
        for (size_t i = 0; i < w->n_pods; i++)
                wl_pod_done(&w->pods[i]);
        free(w->pods);
        free(w->path);
        free(w->key);
        free(w->parent);
        workload_spec_free(w->spec);
        free(w);
}

static struct workload *workload_new(struct workloads *c, const char *path, struct workload_spec *spec) {
        struct workload *w = calloc(1, sizeof(*w));
        struct workload **n = w ? reallocarray(c->items, c->n_items + 1, sizeof(*n)) : NULL;
        if (!n) {
                free(w);
                workload_spec_free(spec);
                return NULL;
        }
        c->items = n;
        w->spec = spec;
        w->path = strdup(path);
        w->key = nl_strdupf("%s_%s_%s", spec->namespace, manifest_kind_name(spec->kind), spec->name);
        c->items[c->n_items++] = w;
        if (!w->path || !w->key)
                return NULL;
        load(c, w);
        return w;
}

/* The workload's document went: its pods go (the garbage collector's cascade), and so do a
 * CronJob's Jobs. */
static void workload_remove(struct workloads *c, size_t idx) {
        struct workload *w = c->items[idx];
        for (size_t i = 0; i < w->n_pods; i++)
                manager_pod_update(c->m, w->pods[i].uid, NULL);
        _cleanup_free_ char *path = state_path(c, w);
        if (path)
                (void) unlink(path);
        memmove(&c->items[idx], &c->items[idx + 1], (c->n_items - idx - 1) * sizeof(c->items[0]));
        c->n_items--;
        if (w->spec->kind == MANIFEST_CRONJOB)
                for (size_t i = c->n_items; i > 0; i--)
                        if (streq_ptr(c->items[i - 1]->parent, w->key))
                                workload_remove(c, i - 1);
        workload_free(w);
}

static struct workload *find(struct workloads *c, const char *path, enum manifest_kind k, const char *ns,
                             const char *name) {
        for (size_t i = 0; i < c->n_items; i++) {
                struct workload *w = c->items[i];
                if (!w->parent && streq(w->path, path) && w->spec->kind == k && streq(w->spec->namespace, ns) &&
                    streq(w->spec->name, name))
                        return w;
        }
        return NULL;
}

static void claim_update(struct workloads *c, const char *path, const json_t *obj) {
        json_t *md = json_object_get(obj, "metadata");
        const char *ns = json_string_value(json_object_get(md, "namespace")),
                   *name = json_string_value(json_object_get(md, "name"));
        bool retain = streq_ptr(json_string_value(json_object_get(json_object_get(md, "annotations"), RETAIN_ANNOTATION)),
                                "true");
        if (!ns || !name)
                return;
        for (size_t i = 0; i < c->n_claims; i++)
                if (streq(c->claims[i].path, path) && streq(c->claims[i].ns, ns) && streq(c->claims[i].name, name)) {
                        c->claims[i].seen = true;
                        c->claims[i].retain = retain;
                        return;
                }
        struct claim *n = reallocarray(c->claims, c->n_claims + 1, sizeof(*n));
        if (!n)
                return;
        c->claims = n;
        struct claim *cl = &n[c->n_claims];
        *cl = (struct claim){.path = strdup(path), .ns = strdup(ns), .name = strdup(name), .retain = retain, .seen = true};
        cl->dir = nl_strdupf("%s/%s/%s", c->claims_dir, ns, name);
        if (!cl->path || !cl->ns || !cl->name || !cl->dir) {
                free(cl->path), free(cl->ns), free(cl->name), free(cl->dir);
                return;
        }
        c->n_claims++;
        if (nl_mkdir_p(cl->dir, 0755) < 0)
                log_warning("PersistentVolumeClaim %s/%s: cannot make %s: %m, ignoring", ns, name, cl->dir);
}

static void claim_remove(struct workloads *c, size_t i) {
        struct claim *cl = &c->claims[i];
        if (cl->retain)
                log_info("PersistentVolumeClaim %s/%s removed; its data stays in %s (%s)", cl->ns, cl->name, cl->dir,
                         RETAIN_ANNOTATION);
        else {
                log_info("PersistentVolumeClaim %s/%s removed: removing %s", cl->ns, cl->name, cl->dir);
                (void) nl_rm_rf(cl->dir);
        }
        free(cl->path), free(cl->ns), free(cl->name), free(cl->dir);
        memmove(cl, cl + 1, (c->n_claims - i - 1) * sizeof(*cl));
        c->n_claims--;
}

void workloads_file_update(struct workloads *c, const char *path, const json_t *objects) {
        for (size_t i = 0; i < c->n_items; i++)
                if (streq(c->items[i]->path, path))
                        c->items[i]->seen = false;
        for (size_t i = 0; i < c->n_claims; i++)
                if (streq(c->claims[i].path, path))
                        c->claims[i].seen = false;
        size_t i;
        json_t *o;
        json_array_foreach(objects, i, o) {
                const json_t *obj = json_object_get(o, "object");
                enum manifest_kind k = manifest_kind_of(json_string_value(json_object_get(obj, "apiVersion")),
                                                        json_string_value(json_object_get(obj, "kind")));
                if (k == MANIFEST_PVC) {
                        claim_update(c, path, obj);
                        continue;
                }
                if (k < MANIFEST_DEPLOYMENT)
                        continue;
                pod_error_list errs = {};
                struct workload_spec *s = NULL;
                if (workload_spec_parse(k, obj, "", &s, &errs) < 0 || !s) {
                        pod_error_list_done(&errs);
                        continue; /* the file source checked it */
                }
                pod_error_list_done(&errs);
                struct workload *w = find(c, path, k, s->namespace, s->name);
                if (w) {
                        if (!streq(w->spec->hash, s->hash))
                                log_info("%s %s: template changed (%s -> %s)", manifest_kind_name(k), s->name,
                                         w->spec->hash, s->hash);
                        workload_spec_free(w->spec);
                        w->spec = s;
                } else if (!(w = workload_new(c, path, s)))
                        continue;
                w->seen = true;
        }
        for (size_t k = c->n_items; k > 0; k--)
                if (streq(c->items[k - 1]->path, path) && !c->items[k - 1]->seen && !c->items[k - 1]->parent)
                        workload_remove(c, k - 1);
        for (size_t k = c->n_claims; k > 0; k--)
                if (streq(c->claims[k - 1].path, path) && !c->claims[k - 1].seen)
                        claim_remove(c, k - 1);
        (void) sd_event_source_set_time_relative(c->timer, 1);
        (void) sd_event_source_set_enabled(c->timer, SD_EVENT_ONESHOT);
}

/* A CronJob's Jobs from a previous run: their state files name their parent. */
static void load_children(struct workloads *c) {
        DIR *d = opendir(c->dir);
        struct dirent *de;
        while (d && (de = readdir(d))) {
                size_t n = strlen(de->d_name);
                if (de->d_name[0] == '.' || n < 6 || !streq(de->d_name + n - 5, ".json"))
                        continue;
                _cleanup_free_ char *path = nl_strdupf("%s/%s", c->dir, de->d_name), *buf = NULL;
                size_t len = 0;
                if (!path || nl_read_file(path, 4 * 1024 * 1024, true, &buf, &len) < 0)
                        continue;
                json_t *j = json_loadb(buf, len, 0, NULL);
                const char *parent = json_string_value(json_object_get(j, "parent"));
                pod_error_list errs = {};
                struct workload_spec *s = NULL;
                if (parent && workload_spec_parse(MANIFEST_JOB, json_object_get(j, "object"), "", &s, &errs) >= 0 && s) {
                        struct workload *w = workload_new(c, "", s);
                        if (w) {
                                w->parent = strdup(parent);
                                w->scheduled = (time_t) json_integer_value(json_object_get(j, "scheduled"));
                                w->seen = true;
                        }
                }
                pod_error_list_done(&errs);
                json_decref(j);
        }
        if (d)
                closedir(d);
}

static int on_tick(sd_event_source *es, uint64_t usec, void *userdata) {
        struct workloads *c = userdata;
        for (size_t i = 0; i < c->n_items; i++) {
                struct workload *w = c->items[i];
                /* a CronJob's Job whose CronJob went away goes too */
                if (w->parent) {
                        bool found = false;
                        for (size_t k = 0; k < c->n_items; k++)
                                found |= streq(c->items[k]->key, w->parent) && !c->items[k]->parent;
                        if (!found && c->m->initial_scan_done) {
                                workload_remove(c, i);
                                break;
                        }
                }
                size_t before = w->n_pods;
                bool done = w->job_done, failed = w->job_failed;
                prune(c, w);
                switch (w->spec->kind) {
                case MANIFEST_DEPLOYMENT:
                        step_deployment(c, w);
                        break;
                case MANIFEST_REPLICASET:
                case MANIFEST_DAEMONSET:
                        step_replicas(c, w);
                        break;
                case MANIFEST_STATEFULSET:
                        step_statefulset(c, w);
                        break;
                case MANIFEST_JOB:
                        step_job(c, w);
                        break;
                case MANIFEST_CRONJOB:
                        step_cronjob(c, w);
                        break;
                default:
                        break;
                }
                if (i < c->n_items && c->items[i] == w &&
                    (w->n_pods != before || done != w->job_done || failed != w->job_failed))
                        save(c, w);
        }
        write_status(c);
        (void) sd_event_source_set_time_relative(es, TICK_USEC);
        (void) sd_event_source_set_enabled(es, SD_EVENT_ONESHOT);
        return 0;
}

int workloads_new(struct manager *m, struct workloads **ret, nl_error *err) {
        struct workloads *c = calloc(1, sizeof(*c));
        if (!c)
                return nl_error_set(err, -ENOMEM, "workloads: out of memory");
        c->m = m;
        c->dir = nl_strdupf("%s/workloads", m->cri.root_dir);
        c->claims_dir = nl_strdupf("%s/claims", m->cri.root_dir);
        c->status_path = nl_strdupf("%s/workloads.json", m->cri.root_dir);
        int r;
        if (!c->dir || !c->claims_dir || !c->status_path) {
                workloads_free(c);
                return nl_error_set(err, -ENOMEM, "workloads: out of memory");
        }
        if ((r = nl_mkdir_p(c->dir, 0700)) < 0 || (r = nl_mkdir_p(c->claims_dir, 0755)) < 0) {
                workloads_free(c);
                return nl_error_set(err, r, "workloads: cannot make \"%s\": %s", c->dir, strerror(-r));
        }
        r = sd_event_add_time_relative(m->event, &c->timer, CLOCK_MONOTONIC, TICK_USEC, 100 * 1000, on_tick, c);
        if (r < 0) {
                workloads_free(c);
                return nl_error_set(err, r, "workloads: timer: %s", strerror(-r));
        }
        (void) sd_event_source_set_description(c->timer, "workloads");
        load_children(c);
        *ret = c;
        return 0;
}

void workloads_free(struct workloads *c) {
        if (!c)
                return;
        sd_event_source_disable_unref(c->timer);
        for (size_t i = 0; i < c->n_items; i++)
                workload_free(c->items[i]);
        free(c->items);
        for (size_t i = 0; i < c->n_claims; i++) {
                free(c->claims[i].path), free(c->claims[i].ns), free(c->claims[i].name), free(c->claims[i].dir);
        }
        free(c->claims);
        free(c->dir);
        free(c->claims_dir);
        free(c->status_path);
        json_decref(c->written);
        free(c);
}
