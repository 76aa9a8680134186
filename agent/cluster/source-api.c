/* SPDX-License-Identifier: Apache-2.0 */
/* Cluster mode's pod source and status reporter, as the kubelet's config/apiserver.go (a
 * reflector: LIST then WATCH pods with fieldSelector spec.nodeName=<node>, resourceVersion
 * tracking, bookmarks, relist on 410 Gone, back-off 800 ms doubling to 30 s while the API server
 * is away), its status manager (strategic-merge PATCH of pods/status only when the status
 * changed, UID in the patch as a precondition; DELETE with gracePeriodSeconds 0 and a UID
 * precondition once a deleted pod's containers are gone), its mirror-pod client (a mirror pod
 * per static pod, owned by the Node, recreated when someone deletes it) and its event recorder
 * (rate limited). Pods keep running whatever the API server does: only its answers change what
 * runs. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/time-util.h"
#include "agent/manager.h"
#include "cluster.h"

#define BACKOFF_MIN (800 * 1000ULL) /* client-go's reflector back-off */
#define BACKOFF_MAX (30 * USEC_PER_SEC)
#define SMP "application/strategic-merge-patch+json"
#define MIRROR_ANNOTATION "kubernetes.io/config.mirror"
#define SOURCE_ANNOTATION "kubernetes.io/config.source"
#define HASH_ANNOTATION "kubernetes.io/config.hash"
/* the kubelet's event recorder: eventRecordQPS 50, eventBurst 100 */
#define EVENT_QPS 50
#define EVENT_BURST 100

/* What we know of one pod of ours in the API (or of a static pod's mirror). */
struct api_pod {
        char *uid, *ns, *name;
        char *spec; /* canonical JSON of the spec we run, to tell a spec change from a status echo */
        char *meta; /* the same of its labels and annotations */
        bool terminal_skipped;
        bool deleting;     /* deletionTimestamp seen: DELETE when the worker is gone */
        bool delete_after_patch; /* the worker is gone: DELETE once its final status is sent */
        char *last_status; /* what the API has from us */
        json_t *pending;   /* a newer status waiting for the patch in flight */
        struct api_request *patch;
};

/* A static pod's mirror in the API. */
struct mirror {
        char *static_uid, *ns, *name, *hash;
        char *mirror_uid; /* NULL until seen or created */
        json_t *pod;      /* the static pod (for re-creation) */
        struct api_request *req;
        char *last_status;
        json_t *pending;
        struct api_request *patch;
        bool gone; /* the static pod went: delete, do not recreate */
};

struct api_source {
        struct manager *m;
        char *rv;
        struct api_request *list, *watch;
        sd_event_source *retry;
        usec_t backoff;
        bool synced;
        struct api_pod *pods;
        size_t n_pods;
        struct mirror *mirrors;
        size_t n_mirrors;
        double tokens;
        usec_t tokens_at;
        unsigned events_dropped;
};

static void relist(struct api_source *s);
static void rewatch(struct api_source *s);
static void mirror_ensure(struct api_source *s, struct mirror *mi);

const char *pod_config_source(const struct pod *pod) {
        for (size_t i = 0; i < pod->metadata.n_annotations; i++)
                if (streq_ptr(pod->metadata.annotations[i].key, SOURCE_ANNOTATION))
                        return pod->metadata.annotations[i].value;
        return "api";
}

static const char *annotation(json_t *obj, const char *key) {
        return json_string_value(json_object_get(json_object_get(json_object_get(obj, "metadata"), "annotations"), key));
}

static const char *meta(json_t *obj, const char *key) {
        return json_string_value(json_object_get(json_object_get(obj, "metadata"), key));
}

bool api_source_synced(const struct api_source *s) {
        return s && s->synced;
}

/* ---- pods we know ------------------------------------------------------------------------ */

static struct api_pod *find_pod(struct api_source *s, const char *uid) {
        for (size_t i = 0; i < s->n_pods; i++)
                if (streq(s->pods[i].uid, uid))
                        return &s->pods[i];
        return NULL;
}

static struct api_pod *add_pod(struct api_source *s, json_t *obj) {
        struct api_pod *n = realloc(s->pods, (s->n_pods + 1) * sizeof(*n));
        if (!n)
                return NULL;
        s->pods = n;
        struct api_pod *p = &n[s->n_pods];
        *p = (struct api_pod){ .uid = strdup(strempty(meta(obj, "uid"))), .ns = strdup(strempty(meta(obj, "namespace"))),
                               .name = strdup(strempty(meta(obj, "name"))) };
        if (!p->uid || !p->ns || !p->name) {
                free(p->uid);
                free(p->ns);
                free(p->name);
                return NULL;
        }
        s->n_pods++;
        return p;
}

static void drop_pod(struct api_source *s, struct api_pod *p) {
        api_request_cancel(p->patch);
        json_decref(p->pending);
        free(p->uid);
        free(p->ns);
        free(p->name);
        free(p->spec);
        free(p->meta);
        free(p->last_status);
        size_t i = (size_t) (p - s->pods);
        memmove(p, p + 1, (s->n_pods - i - 1) * sizeof(*p));
        s->n_pods--;
}

static char *spec_string(json_t *obj) {
        return json_dumps(json_object_get(obj, "spec"), JSON_COMPACT | JSON_SORT_KEYS);
}

static char *meta_string(json_t *obj) {
        json_t *md = json_object_get(obj, "metadata");
        json_t *m = json_pack("{s:O?, s:O?}", "labels", json_object_get(md, "labels"), "annotations",
                              json_object_get(md, "annotations"));
        char *s = m ? json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        json_decref(m);
        return s;
}

/* The pod as the workers take it: decoded, with the config.source annotation the kubelet's
 * API source adds. */
static struct pod *decode_pod(json_t *obj) {
        json_t *copy = json_deep_copy(obj);
        if (!copy)
                return NULL;
        json_t *md = json_object_get(copy, "metadata");
        json_t *ann = json_object_get(md, "annotations");
        if (!json_is_object(ann)) {
                ann = json_object();
                json_object_set_new(md, "annotations", ann);
        }
        json_object_set_new(ann, SOURCE_ANNOTATION, json_string("api"));
        json_object_del(copy, "status");
        struct pod *pod = pod_from_json(copy, NULL, NULL);
        json_decref(copy);
        return pod;
}

static void delete_done(long status, json_t *body, const char *error, void *userdata) {
        char *what = userdata;
        if (error || (status >= 300 && status != 404 && status != 409))
                log_warning("delete %s: %s", what, error ? error : json_string_value(json_object_get(body, "message")));
        else
                log_info("deleted %s from the API server", what);
        free(what);
}

/* DELETE with gracePeriodSeconds 0 and the UID as precondition: a pod recreated under the same
 * name meanwhile is not touched (the kubelet's status manager). */
static void delete_pod(struct api_source *s, const char *ns, const char *name, const char *uid) {
        _cleanup_free_ char *ens = api_escape(ns), *ename = api_escape(name);
        _cleanup_free_ char *path = nl_strdupf("/api/v1/namespaces/%s/pods/%s", strempty(ens), strempty(ename));
        json_t *body = json_pack("{s:s, s:s, s:i, s:{s:s}}", "kind", "DeleteOptions", "apiVersion", "v1",
                                 "gracePeriodSeconds", 0, "preconditions", "uid", uid);
        char *what = nl_strdupf("pod %s/%s", ns, name);
        if (path && body && what && api_request(s->m->api, "DELETE", path, body, NULL, delete_done, what))
                what = NULL;
        free(what);
        json_decref(body);
}

/* ---- mirror pods ------------------------------------------------------------------------- */

static struct mirror *find_mirror_by_name(struct api_source *s, const char *ns, const char *name) {
        for (size_t i = 0; i < s->n_mirrors; i++)
                if (streq(s->mirrors[i].ns, ns) && streq(s->mirrors[i].name, name))
                        return &s->mirrors[i];
        return NULL;
}

static struct mirror *find_mirror(struct api_source *s, const char *static_uid) {
        for (size_t i = 0; i < s->n_mirrors; i++)
                if (streq(s->mirrors[i].static_uid, static_uid))
                        return &s->mirrors[i];
        return NULL;
}

static void mirror_free(struct mirror *mi) {
        api_request_cancel(mi->req);
        api_request_cancel(mi->patch);
        json_decref(mi->pod);
        json_decref(mi->pending);
        free(mi->static_uid);
        free(mi->ns);
        free(mi->name);
        free(mi->hash);
        free(mi->mirror_uid);
        free(mi->last_status);
}

static void mirror_drop(struct api_source *s, struct mirror *mi) {
        mirror_free(mi);
        size_t i = (size_t) (mi - s->mirrors);
        memmove(mi, mi + 1, (s->n_mirrors - i - 1) * sizeof(*mi));
        s->n_mirrors--;
}

struct mirror_op {
        struct api_source *s;
        char *static_uid;
};

static void mirror_op_done(long status, json_t *body, const char *error, void *userdata) {
        struct mirror_op *op = userdata;
        struct mirror *mi = find_mirror(op->s, op->static_uid);
        if (mi) {
                mi->req = NULL;
                if (error || status >= 300) {
                        if (status != 409) /* AlreadyExists: the watch shows it to us */
                                log_warning("mirror pod %s/%s: %s", mi->ns, mi->name,
                                            error ? error : strempty(json_string_value(json_object_get(body, "message"))));
                } else if (meta(body, "uid")) {
                        free(mi->mirror_uid);
                        mi->mirror_uid = strdup(meta(body, "uid"));
                        free(mi->last_status);
                        mi->last_status = NULL; /* a new object: its status is empty */
                        log_info("mirror pod %s/%s created", mi->ns, mi->name);
                }
        }
        free(op->static_uid);
        free(op);
}

static void mirror_ensure(struct api_source *s, struct mirror *mi) {
        if (mi->req || mi->mirror_uid || mi->gone || !mi->pod || !s->synced)
                return;
        const char *node_uid = node_status_uid(s->m->node_status);
        if (!node_uid)
                return; /* NodeRestriction wants the Node as owner: after registration */
        json_t *pod = json_deep_copy(mi->pod);
        json_t *md = json_object_get(pod, "metadata");
        json_object_del(md, "uid");
        json_object_del(md, "resourceVersion");
        json_object_del(md, "creationTimestamp");
        json_object_del(pod, "status");
        json_t *ann = json_object_get(md, "annotations");
        if (!json_is_object(ann)) {
                ann = json_object();
                json_object_set_new(md, "annotations", ann);
        }
        json_object_set_new(ann, MIRROR_ANNOTATION, json_string(mi->hash));
        json_object_set_new(md, "ownerReferences",
                            json_pack("[{s:s, s:s, s:s, s:s, s:b}]", "apiVersion", "v1", "kind", "Node", "name",
                                      s->m->cfg->node_name, "uid", node_uid, "controller", true));
        _cleanup_free_ char *ens = api_escape(mi->ns);
        _cleanup_free_ char *path = nl_strdupf("/api/v1/namespaces/%s/pods", strempty(ens));
        struct mirror_op *op = calloc(1, sizeof(*op));
        if (op && path && (op->static_uid = strdup(mi->static_uid))) {
                op->s = s;
                mi->req = api_request(s->m->api, "POST", path, pod, NULL, mirror_op_done, op);
                if (mi->req)
                        op = NULL;
        }
        if (op)
                free(op->static_uid);
        free(op);
        json_decref(pod);
}

/* A mirror pod as the watch shows it: ours (the hash matches) is recorded; a stale one (the
 * static pod changed) or one someone deleted goes, and ours is made again. */
static void mirror_seen(struct api_source *s, const char *type, json_t *obj) {
        const char *ns = meta(obj, "namespace"), *name = meta(obj, "name"), *uid = meta(obj, "uid");
        const char *hash = annotation(obj, MIRROR_ANNOTATION);
        struct mirror *mi = ns && name ? find_mirror_by_name(s, ns, name) : NULL;
        bool deleted = streq(type, "DELETED");
        log_debug("mirror pod %s/%s: %s (ours: %s)", strempty(ns), strempty(name), type, mi ? "yes" : "no");
        bool deleting = meta(obj, "deletionTimestamp") != NULL;
        if (!mi) {
                /* no static pod of that name (any more): an orphan mirror goes, once we know
                 * our static pods (after the first list, the file source has spoken) */
                if (!deleted && !deleting && uid && s->m->initial_scan_done) {
                        log_info("mirror pod %s/%s has no static pod: deleting it", strempty(ns), strempty(name));
                        delete_pod(s, ns, name, uid);
                }
                return;
        }
        if (deleted) {
                if (mi->mirror_uid && streq_ptr(mi->mirror_uid, uid)) {
                        free(mi->mirror_uid);
                        mi->mirror_uid = NULL;
                        log_info("mirror pod %s/%s was deleted: recreating it", mi->ns, mi->name);
                }
                mirror_ensure(s, mi);
                return;
        }
        if (deleting || !streq_ptr(hash, mi->hash)) {
                /* someone deleted it (graceful), or it mirrors an older version: delete now,
                 * the DELETED event recreates it */
                if (uid)
                        delete_pod(s, ns, name, uid);
                return;
        }
        if (!streq_ptr(mi->mirror_uid, uid)) {
                free(mi->mirror_uid);
                mi->mirror_uid = uid ? strdup(uid) : NULL;
                free(mi->last_status);
                mi->last_status = NULL;
        }
}

/* ---- status patches ---------------------------------------------------------------------- */

struct patch_op {
        struct api_source *s;
        char *uid;    /* API pod uid, or the static uid for mirrors */
        bool mirror;
        char *sent;
};

static void patch_send(struct api_source *s, const char *key_uid, bool mirror, const char *ns, const char *name,
                       const char *precondition_uid, json_t *status, const char *last, struct api_request **slot);

static void patch_done(long status, json_t *body, const char *error, void *userdata) {
        struct patch_op *op = userdata;
        struct api_source *s = op->s;
        struct api_request **slot = NULL;
        char **last = NULL;
        json_t **pending = NULL;
        const char *ns = NULL, *name = NULL, *pre = NULL;
        if (op->mirror) {
                struct mirror *mi = find_mirror(s, op->uid);
                if (mi) {
                        slot = &mi->patch, last = &mi->last_status, pending = &mi->pending;
                        ns = mi->ns, name = mi->name, pre = mi->mirror_uid;
                }
        } else {
                struct api_pod *p = find_pod(s, op->uid);
                if (p) {
                        slot = &p->patch, last = &p->last_status, pending = &p->pending;
                        ns = p->ns, name = p->name, pre = p->uid;
                }
        }
        if (slot) {
                *slot = NULL;
                if (!error && status >= 200 && status < 300) {
                        free(*last);
                        *last = TAKE_PTR(op->sent);
                } else if (status == 0)
                        log_debug("status of pod %s/%s: %s", strempty(ns), strempty(name), strempty(error));
                else if (status != 404 && status != 409)
                        log_warning("status of pod %s/%s: %s", strempty(ns), strempty(name),
                                    error ? error : strempty(json_string_value(json_object_get(body, "message"))));
                json_t *next = *pending;
                *pending = NULL;
                /* a failed patch is retried with the next status change or resync */
                if (next && pre)
                        patch_send(s, op->uid, op->mirror, ns, name, pre, next, *last, slot);
                json_decref(next);
                struct api_pod *p = op->mirror ? NULL : find_pod(s, op->uid);
                if (p && p->delete_after_patch && !p->patch) {
                        delete_pod(s, p->ns, p->name, p->uid);
                        drop_pod(s, p);
                }
        }
        free(op->uid);
        free(op->sent);
        free(op);
}

/* The status as a strategic-merge patch: conditions merge by type, field by field, so a
 * condition that lost its reason or message (Ready False -> True) says so with null, as the
 * kubelet's two-way merge patch does; otherwise the API keeps the stale ones beside the new
 * status. */
static bool has_condition(json_t *status, const char *type) {
        json_t *c;
        size_t i;
        json_array_foreach(json_object_get(status, "conditions"), i, c)
                if (streq_ptr(json_string_value(json_object_get(c, "type")), type))
                        return true;
        return false;
}

static json_t *patch_status(json_t *status, const char *last) {
        json_t *copy = json_deep_copy(status), *c;
        size_t i;
        json_array_foreach(json_object_get(copy, "conditions"), i, c) {
                if (!json_object_get(c, "reason"))
                        json_object_set_new(c, "reason", json_null());
                if (!json_object_get(c, "message"))
                        json_object_set_new(c, "message", json_null());
        }
        /* the resize conditions go when resolved (the kubelet's status manager clears them):
         * a merge patch must say so ("$patch": "delete" by the merge key); the other
         * conditions the node does not own (readiness gates) are never deleted */
        json_t *prev = last ? json_loads(last, 0, NULL) : NULL;
        const char *gone[] = { "PodResizePending", "PodResizeInProgress" };
        for (size_t k = 0; copy && k < ELEMENTSOF(gone); k++)
                if (has_condition(prev, gone[k]) && !has_condition(copy, gone[k])) {
                        json_t *list = json_object_get(copy, "conditions");
                        if (!list)
                                json_object_set_new(copy, "conditions", list = json_array());
                        json_array_append_new(list, json_pack("{s:s, s:s}", "type", gone[k], "$patch", "delete"));
                }
        json_decref(prev);
        return copy;
}

static void patch_send(struct api_source *s, const char *key_uid, bool mirror, const char *ns, const char *name,
                       const char *precondition_uid, json_t *status, const char *last, struct api_request **slot) {
        struct patch_op *op = calloc(1, sizeof(*op));
        _cleanup_free_ char *ens = api_escape(ns), *ename = api_escape(name);
        _cleanup_free_ char *path = nl_strdupf("/api/v1/namespaces/%s/pods/%s/status", strempty(ens), strempty(ename));
        json_t *body = json_pack("{s:{s:s}, s:o}", "metadata", "uid", precondition_uid, "status", patch_status(status, last));
        if (op && path && body && (op->uid = strdup(key_uid)) &&
            (op->sent = json_dumps(status, JSON_COMPACT | JSON_SORT_KEYS))) {
                op->s = s;
                op->mirror = mirror;
                *slot = api_request(s->m->api, "PATCH", path, body, SMP, patch_done, op);
                if (*slot)
                        op = NULL;
        }
        if (op) {
                free(op->uid);
                free(op->sent);
                free(op);
        }
        json_decref(body);
}

/* Send status unless the API has it already; one patch in flight per pod, the newest waits. */
static void status_update(struct api_source *s, const char *key_uid, bool mirror, const char *ns, const char *name,
                          const char *pre, json_t *status, char *last, json_t **pending, struct api_request **slot) {
        _cleanup_free_ char *now = json_dumps(status, JSON_COMPACT | JSON_SORT_KEYS);
        if (!now || streq_ptr(now, last))
                return;
        if (*slot) {
                json_decref(*pending);
                *pending = json_incref(status);
                return;
        }
        patch_send(s, key_uid, mirror, ns, name, pre, status, last, slot);
}

void api_source_pod_status(struct api_source *s, const struct pod *pod, json_t *status) {
        if (!s || !pod->metadata.uid)
                return;
        if (streq(pod_config_source(pod), "file")) {
                struct mirror *mi = find_mirror(s, pod->metadata.uid);
                if (!mi) {
                        struct mirror *n = realloc(s->mirrors, (s->n_mirrors + 1) * sizeof(*n));
                        if (!n)
                                return;
                        s->mirrors = n;
                        mi = &n[s->n_mirrors];
                        *mi = (struct mirror){ .static_uid = strdup(pod->metadata.uid),
                                               .ns = strdup(strempty(pod->metadata.namespace)),
                                               .name = strdup(strempty(pod->metadata.name)),
                                               .hash = strdup(pod->metadata.uid),
                                               .pod = pod_to_json(pod) };
                        if (!mi->static_uid || !mi->ns || !mi->name || !mi->hash || !mi->pod) {
                                mirror_free(mi);
                                return;
                        }
                        s->n_mirrors++;
                        for (size_t i = 0; i < pod->metadata.n_annotations; i++)
                                if (streq_ptr(pod->metadata.annotations[i].key, HASH_ANNOTATION)) {
                                        free(mi->hash);
                                        mi->hash = strdup(strempty(pod->metadata.annotations[i].value));
                                }
                }
                mirror_ensure(s, mi);
                if (mi->mirror_uid)
                        status_update(s, mi->static_uid, true, mi->ns, mi->name, mi->mirror_uid, status, mi->last_status,
                                      &mi->pending, &mi->patch);
                return;
        }
        struct api_pod *p = find_pod(s, pod->metadata.uid);
        if (p)
                status_update(s, p->uid, false, p->ns, p->name, p->uid, status, p->last_status, &p->pending, &p->patch);
}

void api_source_pod_gone(struct api_source *s, const struct pod *pod) {
        if (!s || !pod->metadata.uid)
                return;
        if (streq(pod_config_source(pod), "file")) {
                struct mirror *mi = find_mirror(s, pod->metadata.uid);
                if (!mi)
                        return;
                if (mi->mirror_uid)
                        delete_pod(s, mi->ns, mi->name, mi->mirror_uid);
                mirror_drop(s, mi);
                return;
        }
        struct api_pod *p = find_pod(s, pod->metadata.uid);
        if (p && p->deleting) {
                /* as the kubelet's status manager: the final status (containers terminated) is
                 * sent before the DELETE, which a finalizer may hold; the object then shows the
                 * terminated containers, not the last Running status */
                if (p->patch) {
                        p->delete_after_patch = true;
                        return;
                }
                delete_pod(s, p->ns, p->name, p->uid);
                drop_pod(s, p);
        }
}

/* ---- events ------------------------------------------------------------------------------ */

static void event_done(long status, json_t *body, const char *error, void *userdata) {
        if (error || status >= 300)
                log_debug("event: %s", error ? error : strempty(json_string_value(json_object_get(body, "message"))));
}

void api_source_pod_event(struct api_source *s, const struct pod *pod, json_t *ev) {
        if (!s || !pod->metadata.uid)
                return;
        /* token bucket: EVENT_BURST tokens, EVENT_QPS a second */
        usec_t now = now_monotonic();
        s->tokens += (double) (now - s->tokens_at) / USEC_PER_SEC * EVENT_QPS;
        if (s->tokens > EVENT_BURST)
                s->tokens = EVENT_BURST;
        s->tokens_at = now;
        if (s->tokens < 1) {
                if (s->events_dropped++ % 100 == 0)
                        log_warning("events: rate limit reached, dropping (as the kubelet's event recorder)");
                return;
        }
        s->tokens -= 1;
        const char *ns = strempty(pod->metadata.namespace);
        _cleanup_free_ char *ens = api_escape(ns);
        const char *name = json_string_value(json_object_get(ev, "name"));
        json_t *count = json_object_get(ev, "count"), *last = json_object_get(ev, "lastTimestamp");
        if (name) {
                /* a repeat: the correlator patches count and lastTimestamp of the one posted */
                _cleanup_free_ char *ename = api_escape(name);
                _cleanup_free_ char *path = nl_strdupf("/api/v1/namespaces/%s/events/%s", strempty(ens), strempty(ename));
                json_t *body = json_pack("{s:O, s:O}", "count", count, "lastTimestamp", last);
                if (path && body)
                        (void) api_request(s->m->api, "PATCH", path, body, SMP, event_done, NULL);
                json_decref(body);
                return;
        }
        /* the recorder's name: <object>.<unix nanoseconds in hex> */
        _cleanup_free_ char *ev_name = nl_strdupf("%s.%" PRIx64, strempty(pod->metadata.name), (uint64_t) now_realtime() * 1000);
        if (!ev_name)
                return;
        json_object_set_new(ev, "name", json_string(ev_name));
        json_t *body = json_pack(
                "{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s, s:s, s:s, s:s}, s:O, s:O, s:O, s:{s:s, s:s}, s:O, s:O, s:O, "
                "s:s, s:s}",
                "apiVersion", "v1", "kind", "Event", "metadata", "name", ev_name, "namespace", ns, "involvedObject",
                "apiVersion", "v1", "kind", "Pod", "name", strempty(pod->metadata.name), "namespace", ns, "uid",
                pod->metadata.uid, "reason", json_object_get(ev, "reason"), "message", json_object_get(ev, "message"),
                "type", json_object_get(ev, "type"), "source", "component", "kubelet", "host", s->m->cfg->node_name,
                "firstTimestamp", json_object_get(ev, "firstTimestamp"), "lastTimestamp", last, "count", count,
                "reportingComponent", "kubelet", "reportingInstance", s->m->cfg->node_name);
        _cleanup_free_ char *path = nl_strdupf("/api/v1/namespaces/%s/events", strempty(ens));
        if (body && path)
                (void) api_request(s->m->api, "POST", path, body, NULL, event_done, NULL);
        json_decref(body);
}

/* ---- the reflector ----------------------------------------------------------------------- */

static void handle_pod(struct api_source *s, const char *type, json_t *obj) {
        const char *uid = meta(obj, "uid");
        if (!uid)
                return;
        if (annotation(obj, MIRROR_ANNOTATION)) {
                mirror_seen(s, type, obj);
                return;
        }
        struct api_pod *p = find_pod(s, uid);
        if (streq(type, "DELETED")) {
                /* gone from the API (force deletion, or our own final DELETE): stop it */
                if (p)
                        drop_pod(s, p);
                manager_pod_update(s->m, uid, NULL);
                return;
        }
        bool fresh = !p;
        if (!p && !(p = add_pod(s, obj)))
                return;
        const char *deletion = meta(obj, "deletionTimestamp");
        json_t *status = json_object_get(obj, "status");
        if (fresh && !p->last_status && json_is_object(status))
                p->last_status = json_dumps(status, JSON_COMPACT | JSON_SORT_KEYS);
        if (deletion) {
                if (!p->deleting) {
                        p->deleting = true;
                        if (!manager_has_pod(s->m, uid) && manager_pod_on_disk(s->m, uid)) {
                                /* deleted while we were down, its containers still here: adopt
                                 * them to stop them properly, then the API object goes */
                                struct pod *pod = decode_pod(obj);
                                if (pod)
                                        manager_pod_update(s->m, uid, pod);
                        }
                        json_t *g = json_object_get(json_object_get(obj, "metadata"), "deletionGracePeriodSeconds");
                        int64_t grace = json_is_integer(g) ? json_integer_value(g) : 30;
                        if (!manager_pod_delete(s->m, uid, deletion, grace)) {
                                /* nothing runs for it here: delete it right away */
                                delete_pod(s, p->ns, p->name, p->uid);
                                drop_pod(s, p);
                        }
                }
                return;
        }
        _cleanup_free_ char *spec = spec_string(obj), *md = meta_string(obj);
        if (!fresh && streq_ptr(spec, p->spec)) {
                /* our own status patch coming back, or metadata only: new labels or
                 * annotations reach the downward API without a restart */
                if (!streq_ptr(md, p->meta)) {
                        free(p->meta);
                        p->meta = TAKE_PTR(md);
                        struct pod *pod = decode_pod(obj);
                        if (pod)
                                manager_pod_metadata(s->m, uid, pod);
                }
                /* or someone's status patch: a readiness gate's condition may have changed */
                manager_pod_conditions(s->m, uid, json_object_get(status, "conditions"));
                return;
        }
        free(p->meta);
        p->meta = TAKE_PTR(md);
        const char *phase = json_string_value(json_object_get(status, "phase"));
        if (fresh && !manager_has_pod(s->m, uid) && !manager_pod_on_disk(s->m, uid) &&
            (streq_ptr(phase, "Succeeded") || streq_ptr(phase, "Failed"))) {
                /* the kubelet does not run a pod that already finished; one whose containers
                 * are still here (we restarted) is adopted to keep them for its logs */
                p->terminal_skipped = true;
                free(p->spec);
                p->spec = TAKE_PTR(spec);
                return;
        }
        struct pod *pod = decode_pod(obj);
        if (!pod) {
                log_error("pod %s/%s from the API server does not decode, ignoring", p->ns, p->name);
                return;
        }
        if (!fresh || !manager_has_pod(s->m, uid))
                log_info("pod %s/%s from the API server%s", p->ns, p->name, fresh ? "" : ": spec changed");
        free(p->spec);
        p->spec = TAKE_PTR(spec);
        /* a pod running already (adopted from disk after our restart) takes the API's spec as
         * an update: what changed while we were away applies as any update does (containers
         * are compared by the hash kept with each), what did not leaves it alone */
        manager_pod_update(s->m, uid, pod);
        manager_pod_conditions(s->m, uid, json_object_get(status, "conditions"));
}

static int on_retry(sd_event_source *es, uint64_t usec, void *userdata) {
        struct api_source *s = userdata;
        if (s->rv)
                rewatch(s);
        else
                relist(s);
        return 0;
}

static void retry_later(struct api_source *s) {
        s->backoff = s->backoff ? s->backoff * 2 : BACKOFF_MIN;
        if (s->backoff > BACKOFF_MAX)
                s->backoff = BACKOFF_MAX;
        /* jitter, as wait.Backoff's: up to 10 % more */
        usec_t delay = s->backoff + (usec_t) (random() % (long) (s->backoff / 10 + 1));
        (void) sd_event_source_set_time_relative(s->retry, delay);
        (void) sd_event_source_set_enabled(s->retry, SD_EVENT_ONESHOT);
}

static void on_watch_event(const char *type, json_t *obj, void *userdata) {
        struct api_source *s = userdata;
        log_debug("pod watch: %s %s/%s", type, strempty(meta(obj, "namespace")), strempty(meta(obj, "name")));
        if (streq(type, "ERROR")) {
                long code = (long) json_integer_value(json_object_get(obj, "code"));
                log_info("pod watch: %s (%ld)%s", strempty(json_string_value(json_object_get(obj, "message"))), code,
                         code == 410 ? ": relisting" : "");
                if (code == 410) {
                        free(s->rv);
                        s->rv = NULL; /* the watch's end relists */
                }
                return;
        }
        const char *rv = meta(obj, "resourceVersion");
        if (rv) {
                free(s->rv);
                s->rv = strdup(rv);
        }
        s->backoff = 0;
        if (!streq(type, "BOOKMARK"))
                handle_pod(s, type, obj);
}

static void on_watch_done(long status, json_t *body, const char *error, void *userdata) {
        struct api_source *s = userdata;
        s->watch = NULL;
        if (status == 410) {
                free(s->rv);
                s->rv = NULL;
        }
        if (error || status != 200) {
                log_info("pod watch ended: %s", error ? error : strempty(json_string_value(json_object_get(body, "message"))));
                retry_later(s);
                return;
        }
        /* the server's timeoutSeconds ended it: go on from where we are */
        if (s->rv)
                rewatch(s);
        else
                relist(s);
}

static char *pods_path(struct api_source *s, bool watch) {
        _cleanup_free_ char *sel = nl_strdupf("spec.nodeName=%s", s->m->cfg->node_name);
        _cleanup_free_ char *esel = sel ? api_escape(sel) : NULL, *erv = s->rv ? api_escape(s->rv) : NULL;
        if (!esel)
                return NULL;
        if (!watch)
                return nl_strdupf("/api/v1/pods?fieldSelector=%s", esel);
        /* the reflector's watch timeout: random between 5 and 10 minutes */
        long timeout = 300 + random() % 300;
        return nl_strdupf("/api/v1/pods?fieldSelector=%s&watch=true&allowWatchBookmarks=true&timeoutSeconds=%ld%s%s",
                          esel, timeout, erv ? "&resourceVersion=" : "", strempty(erv));
}

static void rewatch(struct api_source *s) {
        _cleanup_free_ char *path = pods_path(s, true);
        s->watch = path ? api_watch(s->m->api, path, on_watch_event, on_watch_done, s) : NULL;
        if (!s->watch)
                retry_later(s);
}

static void on_list(long status, json_t *body, const char *error, void *userdata) {
        struct api_source *s = userdata;
        s->list = NULL;
        json_t *items = json_object_get(body, "items");
        if (error || status != 200 || !json_is_array(items)) {
                log_warning("listing pods from %s: %s", s->m->kubeconfig->server,
                            error ? error : status ? strempty(json_string_value(json_object_get(body, "message"))) : "no answer");
                retry_later(s);
                return;
        }
        s->backoff = 0;
        free(s->rv);
        s->rv = json_string_value(json_object_get(json_object_get(body, "metadata"), "resourceVersion"))
                        ? strdup(json_string_value(json_object_get(json_object_get(body, "metadata"), "resourceVersion")))
                        : NULL;
        /* pods we knew that the list no longer has were deleted while we did not watch */
        for (size_t i = 0; i < s->n_pods;) {
                bool found = false;
                size_t k;
                json_t *it;
                json_array_foreach(items, k, it) found = found || streq_ptr(meta(it, "uid"), s->pods[i].uid);
                if (found) {
                        i++;
                        continue;
                }
                _cleanup_free_ char *uid = strdup(s->pods[i].uid);
                drop_pod(s, &s->pods[i]);
                if (uid)
                        manager_pod_update(s->m, uid, NULL);
        }
        size_t k;
        json_t *it;
        json_array_foreach(items, k, it) handle_pod(s, "ADDED", it);
        bool first = !s->synced;
        s->synced = true;
        log_info("pods from %s: %zu listed (resourceVersion %s)", s->m->kubeconfig->server, json_array_size(items),
                 strempty(s->rv));
        if (first) {
                /* API pods on disk that the API no longer has can be judged now */
                manager_cleanup_orphans(s->m);
                for (size_t i = 0; i < s->n_mirrors; i++)
                        mirror_ensure(s, &s->mirrors[i]);
        }
        rewatch(s);
}

static void relist(struct api_source *s) {
        api_request_cancel(s->watch);
        s->watch = NULL;
        _cleanup_free_ char *path = pods_path(s, false);
        s->list = path ? api_request(s->m->api, "GET", path, NULL, NULL, on_list, s) : NULL;
        if (!s->list)
                retry_later(s);
}

int api_source_start(struct manager *m, nl_error *err) {
        struct api_source *s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->m = m;
        s->tokens = EVENT_BURST;
        s->tokens_at = now_monotonic();
        int r = sd_event_add_time(m->event, &s->retry, CLOCK_MONOTONIC, UINT64_MAX, 100000, on_retry, s);
        if (r < 0) {
                free(s);
                return nl_error_set(err, r, "API source timer: %s", strerror(-r));
        }
        (void) sd_event_source_set_description(s->retry, "api-pods-retry");
        (void) sd_event_source_set_enabled(s->retry, SD_EVENT_OFF);
        m->api_source = s;
        relist(s);
        return 0;
}

void api_source_free(struct api_source *s) {
        if (!s)
                return;
        api_request_cancel(s->list);
        api_request_cancel(s->watch);
        while (s->n_pods)
                drop_pod(s, &s->pods[s->n_pods - 1]);
        free(s->pods);
        for (size_t i = 0; i < s->n_mirrors; i++)
                mirror_free(&s->mirrors[i]);
        free(s->mirrors);
        sd_event_source_disable_unref(s->retry);
        free(s->rv);
        free(s);
}
