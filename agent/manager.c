/* SPDX-License-Identifier: Apache-2.0 */
/* The daemon's core: configuration -> runtime layer, the static-pod source feeding pod
 * workers by UID, systemd notification, and shutdown that leaves pods running (as the kubelet:
 * the next start adopts them). */
#include <arpa/inet.h>
#include <dirent.h>
#include <inttypes.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <sys/sysinfo.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "common/fs.h"
#include "common/strv.h"
#include "common/time-util.h"
#include "agent/state/state.h"
#include "log.h"
#include "source-file.h"
#include "workloads.h"
#include "manager.h"
#include "admission.h"
#include "eviction.h"
#include "cri/layout.h"
#include "agent/server/node-server.h"
#include "probes/probes.h"

/* ---- node facts ------------------------------------------------------------------------- */

/* The node's first non-loopback IPv4 address (the kubelet's default host IP), else 127.0.0.1. */
static char *detect_host_ip(void) {
        struct ifaddrs *ifs = NULL;
        char buf[INET6_ADDRSTRLEN] = "127.0.0.1";
        if (getifaddrs(&ifs) == 0) {
                for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
                        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || (i->ifa_flags & IFF_LOOPBACK) ||
                            !(i->ifa_flags & IFF_UP))
                                continue;
                        /* skip our own and the tests' pod bridges */
                        if (strncmp(i->ifa_name, "nodelet", 7) == 0 || strncmp(i->ifa_name, "nltest", 6) == 0 ||
                            strncmp(i->ifa_name, "cni", 3) == 0)
                                continue;
                        inet_ntop(AF_INET, &((struct sockaddr_in *) i->ifa_addr)->sin_addr, buf, sizeof(buf));
                        break;
                }
                freeifaddrs(ifs);
        }
        return strdup(buf);
}

/* ---- pods by UID ------------------------------------------------------------------------- */

static struct pod_worker *find_worker(struct manager *m, const char *uid) {
        for (size_t i = 0; i < m->n_workers; i++)
                if (streq(pod_worker_uid(m->workers[i]), uid))
                        return m->workers[i];
        return NULL;
}

static int add_worker(struct manager *m, struct pod *pod) {
        struct pod_worker **n = realloc(m->workers, (m->n_workers + 1) * sizeof(*n));
        if (!n)
                return -ENOMEM;
        m->workers = n;
        struct pod_worker *w = pod_worker_new(m, pod);
        if (!w)
                return -ENOMEM;
        m->workers[m->n_workers++] = w;
        return 0;
}

/* Does the pod ask for an AppArmor profile (the kubelet's apparmor isRequired): a profile other
 * than Unconfined in the pod's or a container's securityContext, or a beta annotation
 * container.apparmor.security.beta.kubernetes.io/<name> other than "unconfined". */
static bool apparmor_required(const struct pod *pod) {
        const struct pod_spec *s = &pod->spec;
        const struct pod_app_armor_profile *p = s->security_context ? s->security_context->app_armor_profile : NULL;
        if (p && !streq_ptr(p->type, "Unconfined"))
                return true;
        const struct pod_container *lists[] = { s->init_containers, s->containers };
        size_t ns[] = { s->n_init_containers, s->n_containers };
        for (size_t l = 0; l < 2; l++)
                for (size_t i = 0; i < ns[l]; i++) {
                        const struct pod_security_context *sc = lists[l][i].security_context;
                        if (sc && sc->app_armor_profile && !streq_ptr(sc->app_armor_profile->type, "Unconfined"))
                                return true;
                }
        for (size_t i = 0; i < pod->metadata.n_annotations; i++)
                if (strncmp(strempty(pod->metadata.annotations[i].key), "container.apparmor.security.beta.kubernetes.io/",
                            47) == 0 &&
                    !streq_ptr(pod->metadata.annotations[i].value, "unconfined"))
                        return true;
        return false;
}

static bool apparmor_enabled(void) {
        _cleanup_free_ char *v = NULL;
        return nl_read_file("/sys/module/apparmor/parameters/enabled", 16, false, &v, NULL) == 0 && v[0] == 'Y';
}

/* The node as admission sees it: its name, labels and taints (the API server's Node once
 * known), its allocatable. The arrays point into m->node_labels and m->node_taints. */
static int admission_node_of(const struct manager *m, struct admission_node *ret, struct pod_kv **ret_labels,
                             struct admission_taint **ret_taints) {
        size_t nl = json_object_size(m->node_labels), nt = json_array_size(m->node_taints);
        _cleanup_free_ struct pod_kv *labels = calloc(nl ? nl : 1, sizeof(*labels));
        _cleanup_free_ struct admission_taint *taints = calloc(nt ? nt : 1, sizeof(*taints));
        if (!labels || !taints)
                return -ENOMEM;
        const char *k;
        json_t *v;
        size_t n = 0;
        json_object_foreach(m->node_labels, k, v) if (json_is_string(v)) labels[n++] =
                (struct pod_kv){ (char *) k, (char *) json_string_value(v) };
        nl = n;
        n = 0;
        for (size_t i = 0; i < nt; i++) {
                json_t *t = json_array_get(m->node_taints, i);
                taints[n++] = (struct admission_taint){ json_string_value(json_object_get(t, "key")),
                                                        json_string_value(json_object_get(t, "value")),
                                                        json_string_value(json_object_get(t, "effect")) };
        }
        const struct node_resources *a = &m->allocatable;
        *ret = (struct admission_node){
                .name = m->cfg->node_name,
                .labels = labels,
                .n_labels = nl,
                .taints = taints,
                .n_taints = n,
                .milli_cpu = a->milli_cpu,
                .memory = a->memory,
                .ephemeral_storage = a->ephemeral_storage,
                .pods = a->pods,
        };
        *ret_labels = TAKE_PTR(labels);
        *ret_taints = TAKE_PTR(taints);
        return 0;
}

/* The kubelet's admit handlers that run before a pod's worker: the predicate handler
 * (agent/admission.c: OS, resources, node affinity, node name, host ports, NoExecute taints)
 * against the pods that run, then AppArmor. Sysctls are the worker's. */
static int admit(struct manager *m, const struct pod *pod, char **reason, char **message) {
        /* the eviction manager's admit handler first: no new pods while the node is under
         * pressure (reason Evicted, as the kubelet) */
        char *pressure = eviction_admit(m, pod);
        if (pressure) {
                *reason = strdup("Evicted");
                *message = pressure;
                return -1;
        }
        struct admission_node node;
        _cleanup_free_ struct pod_kv *labels = NULL;
        _cleanup_free_ struct admission_taint *taints = NULL;
        _cleanup_free_ const struct pod **others = calloc(m->n_workers + 1, sizeof(*others));
        if (!others || admission_node_of(m, &node, &labels, &taints) < 0)
                goto oom;
        struct admission_scalar scalars[] = {
                { "hugepages-2Mi", m->allocatable.hugepages_2mi },
                { "hugepages-1Gi", m->allocatable.hugepages_1gi },
        };
        node.scalars = scalars;
        node.n_scalars = ELEMENTSOF(scalars);
        size_t n = 0;
        for (size_t i = 0; i < m->n_workers; i++)
                if (pod_worker_admitted(m->workers[i]))
                        others[n++] = pod_worker_pod(m->workers[i]);
        int r = admission_check(&node, pod, others, n, reason, message);
        if (r == -ENOMEM)
                goto oom;
        if (r < 0)
                return -1;
        /* the kubelet's AppArmor admit handler: a profile that cannot be enforced is refused,
         * never silently dropped. Where AppArmor is enabled nodelet does not apply profiles
         * yet either: refused too, saying so (docs/reliability.md). */
        if (apparmor_required(pod)) {
                *reason = strdup("AppArmor");
                *message = strdup(apparmor_enabled()
                                          ? "Cannot enforce AppArmor: nodelet does not apply AppArmor profiles yet"
                                          : "Cannot enforce AppArmor: AppArmor is not enabled on the host");
                return -1;
        }
        /* last, as the kubelet's node shutdown admit handler comes after the others */
        if (shutdown_manager_shutting_down(m)) {
                *reason = strdup("NodeShutdown");
                *message = strdup("Pod was rejected as the node is shutting down.");
                return -1;
        }
        return 0;
oom:
        /* the kubelet's words for an admit handler's own failure */
        *reason = strdup("UnexpectedAdmissionError");
        *message = strdup("out of memory while admitting the pod");
        return -1;
}

int manager_resize_admit(struct manager *m, const struct pod_worker *self, const struct pod *pod, char **ret_message) {
        int64_t used_cpu = 0, used_mem = 0;
        for (size_t i = 0; i < m->n_workers; i++)
                if (m->workers[i] != self && pod_worker_admitted(m->workers[i])) {
                        used_cpu = nl_sat_add(used_cpu, admission_pod_request(pod_worker_pod(m->workers[i]), "cpu"));
                        used_mem = nl_sat_add(used_mem, admission_pod_request(pod_worker_pod(m->workers[i]), "memory"));
                }
        /* as the predicate admit handler's InsufficientResourceError; v1.37 defers a resize
         * beyond the node's capacity too (allocation_manager_test: "Request CPU increase beyond
         * node capacity - expect Deferred"), it no longer calls it Infeasible */
        int64_t cpu = admission_pod_request(pod, "cpu"), mem = admission_pod_request(pod, "memory");
        const struct node_resources *a = &m->allocatable;
        if (cpu > 0 && nl_sat_add(used_cpu, cpu) > a->milli_cpu) {
                *ret_message = nl_strdupf("Node didn't have enough resource: cpu, requested: %" PRId64 ", used: %" PRId64
                                          ", capacity: %" PRId64,
                                          cpu, used_cpu, a->milli_cpu);
                return -1;
        }
        if (mem > 0 && nl_sat_add(used_mem, mem) > a->memory) {
                *ret_message = nl_strdupf("Node didn't have enough resource: memory, requested: %" PRId64
                                          ", used: %" PRId64 ", capacity: %" PRId64,
                                          mem, used_mem, a->memory);
                return -1;
        }
        return 0;
}

void manager_resize_retry(struct manager *m) {
        for (size_t i = 0; i < m->n_workers; i++)
                pod_worker_resize_retry(m->workers[i]);
}

void manager_pod_update(struct manager *m, const char *uid, struct pod *spec) {
        if (!pod_uid_is_path_safe(uid)) {
                /* it names the pod's directories: never let one lead out of them */
                log_error("pod %s: UID \"%.128s\" cannot name a directory; ignoring the pod",
                          spec ? strempty(spec->metadata.name) : "?", strempty(uid));
                pod_free(spec);
                return;
        }
        struct pod_worker *w = find_worker(m, uid);
        if (!spec) {
                if (w)
                        pod_worker_terminate(w);
                return;
        }
        if (w) {
                pod_worker_update(w, spec);
                return;
        }
        _cleanup_free_ char *reason = NULL, *message = NULL;
        _cleanup_(pod_freep) struct pod *allocated = NULL;
        (void) pod_allocation_view(m, spec, &allocated);
        if (admit(m, allocated ? allocated : spec, &reason, &message) < 0) {
                struct pod_worker **n = realloc(m->workers, (m->n_workers + 1) * sizeof(*n));
                struct pod_worker *rw = n ? pod_worker_new_rejected(m, spec, reason, message) : NULL;
                if (n)
                        m->workers = n;
                if (rw)
                        m->workers[m->n_workers++] = rw;
                else
                        pod_free(spec);
                return;
        }
        if (add_worker(m, spec) < 0) {
                log_error("pod %s: out of memory", strempty(spec->metadata.name));
                pod_free(spec);
        }
        manager_notify_status(m);
}

void manager_pod_metadata(struct manager *m, const char *uid, struct pod *pod) {
        struct pod_worker *w = find_worker(m, uid);
        if (w)
                pod_worker_metadata(w, pod);
        else
                pod_free(pod);
}

void manager_pod_conditions(struct manager *m, const char *uid, json_t *conditions) {
        struct pod_worker *w = find_worker(m, uid);
        if (w)
                pod_worker_conditions(w, conditions);
}

const json_t *manager_pod_status(struct manager *m, const char *uid) {
        struct pod_worker *w = find_worker(m, uid);
        return w ? pod_worker_status(w) : NULL;
}

bool manager_has_pod(struct manager *m, const char *uid) {
        return find_worker(m, uid) != NULL;
}

bool manager_pod_on_disk(struct manager *m, const char *uid) {
        _cleanup_free_ char *path = layout_pod_file(m->cri.root_dir, uid, LAYOUT_POD_JSON);
        return path && access(path, F_OK) == 0;
}

bool manager_pod_delete(struct manager *m, const char *uid, const char *deletion_timestamp, int64_t grace) {
        struct pod_worker *w = find_worker(m, uid);
        if (!w)
                return false;
        pod_worker_delete(w, deletion_timestamp, grace);
        return true;
}

void manager_worker_gone(struct manager *m, struct pod_worker *w) {
        struct pod *next = pod_worker_take_next(w);
        api_source_pod_gone(m->api_source, pod_worker_pod(w));
        _cleanup_free_ char *dir = layout_pod_dir(m->cri.root_dir, pod_worker_uid(w));
        for (size_t i = 0; i < m->n_workers; i++)
                if (m->workers[i] == w) {
                        memmove(m->workers + i, m->workers + i + 1, (m->n_workers - i - 1) * sizeof(*m->workers));
                        m->n_workers--;
                        break;
                }
        userns_pod_release(m, pod_worker_uid(w));
        pod_worker_free(w);
        if (dir)
                (void) nl_rm_rf(dir);
        if (next && add_worker(m, next) < 0)
                pod_free(next);
        /* the kubelet retries pending resizes when pods are removed (TriggerReasonPodsRemoved) */
        manager_resize_retry(m);
        manager_notify_status(m);
        if (m->exiting && m->n_workers == 0)
                sd_event_exit(m->event, 0);
}

bool manager_pod_stopping(struct manager *m, const char *uid) {
        struct pod_worker *w = find_worker(m, uid);
        return w && pod_worker_stopping(w);
}

void manager_node_changed(struct manager *m) {
        node_status_changed(m->node_status);
        manager_notify_status(m);
}

void manager_notify_status(struct manager *m) {
        if (shutdown_manager_shutting_down(m)) {
                (void) sd_notifyf(false, "STATUS=%zu pods; node is shutting down", m->n_workers);
                return;
        }
        const char *why = manager_runtime_error(m, false);
        if (why)
                (void) sd_notifyf(false, "STATUS=%zu pods; %s", m->n_workers, why);
        else
                (void) sd_notifyf(false, "STATUS=%zu pods", m->n_workers);
}

/* ---- the static-pod source -------------------------------------------------------------- */

static struct file_pods *file_entry(struct manager *m, const char *path) {
        for (size_t i = 0; i < m->n_file_pods; i++)
                if (streq(m->file_pods[i].path, path))
                        return &m->file_pods[i];
        struct file_pods *n = realloc(m->file_pods, (m->n_file_pods + 1) * sizeof(*n));
        if (!n)
                return NULL;
        m->file_pods = n;
        n[m->n_file_pods] = (struct file_pods){ .path = strdup(path) };
        return &n[m->n_file_pods++];
}

enum pod_difference { POD_SAME, POD_METADATA, POD_SPEC };

/* How a manifest's pod differs from the one running: its spec, else its labels and
 * annotations (config.seen, a timestamp, aside), else not at all. */
static enum pod_difference pod_compare(const struct pod *a, const struct pod *b) {
        json_t *x = pod_to_json(a), *y = pod_to_json(b);
        enum pod_difference d = POD_SPEC;
        if (x && y && json_equal(json_object_get(x, "spec"), json_object_get(y, "spec"))) {
                d = POD_SAME;
                json_t *mx = json_object_get(x, "metadata"), *my = json_object_get(y, "metadata");
                json_object_del(json_object_get(mx, "annotations"), "kubernetes.io/config.seen");
                json_object_del(json_object_get(my, "annotations"), "kubernetes.io/config.seen");
                if (!json_equal(json_object_get(mx, "labels"), json_object_get(my, "labels")) ||
                    !json_equal(json_object_get(mx, "annotations"), json_object_get(my, "annotations")))
                        d = POD_METADATA;
        }
        json_decref(x);
        json_decref(y);
        return d;
}

const json_t *manager_manifest_object(struct manager *m, bool secret, const char *ns, const char *name) {
        const char *kind = secret ? "Secret" : "ConfigMap";
        const json_t *found = NULL;
        const char *found_path = NULL;
        for (size_t i = 0; i < m->n_file_pods; i++) {
                size_t k;
                json_t *o;
                json_array_foreach(m->file_pods[i].objects, k, o)
                        if (streq_ptr(json_string_value(json_object_get(o, "kind")), kind) &&
                            streq_ptr(json_string_value(json_object_get(o, "namespace")), ns) &&
                            streq_ptr(json_string_value(json_object_get(o, "name")), name) &&
                            (!found_path || strcmp(m->file_pods[i].path, found_path) < 0)) {
                                found = json_object_get(o, "object");
                                found_path = m->file_pods[i].path;
                        }
        }
        return found;
}

/* The manifests' ConfigMaps and Secrets changed: every pod looks at its data again, and a
 * running pod whose objects changed gets its volumes rewritten (pod-worker.c). */
static void objects_changed(struct manager *m) {
        for (size_t i = 0; i < m->n_workers; i++)
                pod_worker_kick(m->workers[i]);
}

/* A static pod's persistentVolumeClaim volume: the claim's directory, <root>/claims/<ns>/<claim>
 * (made by the claim's document, or on first use). */
static void claims_to_host_paths(struct manager *m, struct pod *p) {
        for (size_t i = 0; i < p->spec.n_volumes; i++) {
                struct pod_volume *v = &p->spec.volumes[i];
                for (size_t k = 0; k < v->n_other; k++) {
                        const char *claim = json_string_value(json_object_get(v->other[k].value, "claimName"));
                        if (!streq_ptr(v->other[k].type, "persistentVolumeClaim") || !claim ||
                            !podspec_is_dns1123_subdomain(claim) || v->host_path)
                                continue;
                        struct pod_host_path_volume *hp = calloc(1, sizeof(*hp));
                        if (!hp)
                                return;
                        hp->path = nl_strdupf("%s/claims/%s/%s", m->cri.root_dir, strempty(p->metadata.namespace), claim);
                        hp->type = strdup("DirectoryOrCreate");
                        if (!hp->path || !hp->type) {
                                free(hp->path), free(hp->type), free(hp);
                                return;
                        }
                        v->host_path = hp;
                        for (size_t x = 0; x < v->n_other; x++) {
                                free(v->other[x].type);
                                json_decref(v->other[x].value);
                        }
                        free(v->other);
                        v->other = NULL;
                        v->n_other = 0;
                        break;
                }
        }
}

static void on_file(const char *path, struct file_update *u, void *userdata) {
        struct manager *m = userdata;
        struct file_pods *f = file_entry(m, path);
        struct pod **pods = u->pods;
        size_t n = u->n_pods;
        if (u->error) {
                /* a broken file is reported and skipped; what it ran before keeps running, as
                 * the kubelet keeps the last good config when a manifest stops parsing */
                log_error("could not process manifest file %s: %s", path, u->error);
                return;
        }
        if (!f) {
                for (size_t i = 0; i < n; i++)
                        pod_free(pods[i]);
                return;
        }
        for (size_t i = 0; i < u->n_warnings; i++)
                log_warning("%s", u->warnings[i]);
        /* the data first: pods of this file start with their objects there */
        if (!json_equal(f->objects ? f->objects : u->objects, u->objects) ||
            (!f->objects && json_array_size(u->objects) > 0)) {
                json_decref(f->objects);
                f->objects = json_incref(u->objects);
                objects_changed(m);
                if (m->workloads)
                        workloads_file_update(m->workloads, path, u->objects);
        }
        /* persistentVolumeClaim volumes are the claims' node-local directories */
        for (size_t i = 0; i < n; i++)
                claims_to_host_paths(m, pods[i]);
        /* pods the file no longer has go */
        for (size_t k = 0; k < f->n; k++) {
                bool kept = false;
                for (size_t i = 0; i < n; i++)
                        kept = kept || streq_ptr(pods[i]->metadata.uid, f->uids[k]);
                if (!kept)
                        manager_pod_update(m, f->uids[k], NULL);
                free(f->uids[k]);
        }
        free(f->uids);
        f->uids = calloc(n ? n : 1, sizeof(char *));
        f->n = 0;
        for (size_t i = 0; i < n; i++) {
                const char *uid = strempty(pods[i]->metadata.uid);
                if (f->uids)
                        f->uids[f->n++] = strdup(uid);
                /* same UID: same content when the UID hashes it; a manifest with its own
                 * metadata.uid may have changed (the kubelet's config merge sees an UPDATE when
                 * the pods differ semantically) */
                struct pod_worker *w = find_worker(m, uid);
                if (w) {
                        switch (pod_compare(pod_worker_pod(w), pods[i])) {
                        case POD_SAME:
                                pod_free(pods[i]);
                                break;
                        case POD_METADATA:
                                manager_pod_metadata(m, uid, pods[i]);
                                break;
                        default:
                                log_info("manifest %s: pod %s changed", path, strempty(pods[i]->metadata.name));
                                manager_pod_update(m, uid, pods[i]);
                        }
                        continue;
                }
                log_info("manifest %s: pod %s", path, strempty(pods[i]->metadata.name));
                manager_pod_update(m, uid, pods[i]);
        }
        /* replaced content has new UIDs: the old pods were told to go above */
}

static void file_pods_free(struct manager *m) {
        for (size_t i = 0; i < m->n_file_pods; i++) {
                free(m->file_pods[i].path);
                for (size_t k = 0; k < m->file_pods[i].n; k++)
                        free(m->file_pods[i].uids[k]);
                free(m->file_pods[i].uids);
                json_decref(m->file_pods[i].objects);
        }
        free(m->file_pods);
}

/* ---- lifecycle --------------------------------------------------------------------------- */

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        struct manager *m = userdata;
        /* Pods keep running: their shims own them; the next start adopts them. */
        log_info("received %s: exiting, pods keep running", si->ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
        (void) sd_notify(false, "STOPPING=1");
        sd_event_exit(m->event, 0);
        return 0;
}

static int on_sync(sd_event_source *s, uint64_t usec, void *userdata) {
        struct manager *m = userdata;
        /* the kubelet's periodic resync: catches anything the events missed */
        for (size_t i = 0; i < m->n_workers; i++)
                pod_worker_kick(m->workers[i]);
        if (!m->ready_sent) {
                m->ready_sent = true;
                (void) sd_notify(false, "READY=1");
                manager_notify_status(m);
        }
        (void) sd_event_source_set_time(s, usec + m->cfg->sync_frequency);
        (void) sd_event_source_set_enabled(s, SD_EVENT_ON);
        return 0;
}

/* Pods on disk that no source wants any more (their file went while we were down): adopt
 * each from its last pod.json and terminate it, as the kubelet's HandlePodCleanups kills
 * running pods that are not desired. */
void manager_cleanup_orphans(struct manager *m) {
        _cleanup_free_ char *dir = layout_pods_dir(m->cri.root_dir);
        DIR *d = dir ? opendir(dir) : NULL;
        if (!d)
                return;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.' || find_worker(m, de->d_name))
                        continue;
                json_t *j = node_pod_load(m->cri.root_dir, de->d_name);
                struct pod *pod = j ? pod_from_json(j, NULL, NULL) : NULL;
                json_decref(j);
                if (!pod || !streq_ptr(pod->metadata.uid, de->d_name)) {
                        pod_free(pod);
                        continue;
                }
                /* an API pod is judged by the API source's first list; while the API server
                 * cannot be reached, what runs keeps running (as the kubelet) */
                if (streq(pod_config_source(pod), "api") && m->api && !api_source_synced(m->api_source)) {
                        pod_free(pod);
                        continue;
                }
                log_info("pod %s: no longer wanted: terminating it", strempty(pod->metadata.name));
                if (add_worker(m, pod) < 0) {
                        pod_free(pod);
                        continue;
                }
                pod_worker_terminate(m->workers[m->n_workers - 1]);
        }
        closedir(d);
}

/* Image garbage collection (the kubelet's ImageGCManager, every 5 minutes): images used by
 * any container on the node (running or kept for its logs) stay; others go, least recently
 * used first, when the image filesystem is above imageGCHighThresholdPercent, down to the low
 * threshold. Runs in an op child with its own store handle. */
#define IMAGE_GC_PERIOD (5 * 60 * USEC_PER_SEC)

static json_t *work_image_gc(struct manager *m, const void *arg) {
        _cleanup_strv_free_ char **in_use = NULL, **users = NULL;
        size_t n = 0;
        nl_error err = NL_ERROR_INIT;
        struct image_store *store = NULL;
        if (layout_image_store_open(m->cri.root_dir, &store, &err) < 0) {
                json_t *j = json_pack("{s:s}", "error", strempty(err.msg));
                nl_error_clear(&err);
                return j;
        }
        (void) cri_images_in_use(&m->cri, &in_use, &users, &n);
        int r = image_store_gc(store, in_use, n, m->cfg->image_gc_high_threshold, m->cfg->image_gc_low_threshold,
                               &err);
        json_t *j = r < 0 ? json_pack("{s:s}", "error", strempty(err.msg)) : json_pack("{s:i}", "removed", r);
        nl_error_clear(&err);
        image_store_close(store);
        return j;
}

static void done_image_gc(json_t *result, void *userdata) {
        const char *error = json_string_value(json_object_get(result, "error"));
        json_int_t removed = json_integer_value(json_object_get(result, "removed"));
        if (error)
                log_warning("image garbage collection: %s", error);
        else if (removed > 0)
                log_info("image garbage collection removed %lld images", (long long) removed);
}

static int on_image_gc(sd_event_source *s, uint64_t usec, void *userdata) {
        struct manager *m = userdata;
        if (op_start(m, "image-gc", work_image_gc, NULL, done_image_gc, m) < 0)
                log_warning("image garbage collection could not start");
        (void) sd_event_source_set_time(s, usec + IMAGE_GC_PERIOD);
        (void) sd_event_source_set_enabled(s, SD_EVENT_ON);
        return 0;
}

static int on_first_sync(sd_event_source *s, void *userdata) {
        struct manager *m = userdata;
        m->initial_scan_done = true;
        manager_cleanup_orphans(m);
        /* the initial scan has been handed to the workers: we are up */
        if (!m->ready_sent) {
                m->ready_sent = true;
                (void) sd_notify(false, "READY=1");
                manager_notify_status(m);
                size_t waiting = 0;
                for (size_t i = 0; i < m->n_workers; i++) {
                        const struct pod_spec *ps = &pod_worker_pod(m->workers[i])->spec;
                        waiting += manager_runtime_error(m, ps->host_network.set && ps->host_network.v) != NULL;
                }
                if (waiting > 0)
                        log_warning("started, but %zu of %zu pods wait for the container runtime (see above)", waiting,
                                    m->n_workers);
                else
                        log_info("ready: %zu pods", m->n_workers);
        }
        return 0;
}

/* cgroupDriver systemd: the pods go under the cgroup of the unit nodelet was started in
 * (Delegate=yes; cri/cgroup.h says why not a slice per pod through D-Bus). */
static int delegated_cgroup_root(struct nodelet_config *cfg, nl_error *err) {
        _cleanup_free_ char *root = NULL;
        int r = cri_cgroup_delegate(&root, err);
        if (r < 0)
                return r;
        log_info("cgroupDriver systemd: pods go under %s/kubepods (the unit's delegated cgroup)", root);
        cfg->cgroup_root = TAKE_PTR(root);
        return 0;
}

int manager_new(struct nodelet_config *cfg, struct manager **ret, nl_error *err) {
        struct manager *m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->cfg = cfg;
        int r;
        if (cfg->cgroup_driver_systemd && !cfg->cgroup_root && (r = delegated_cgroup_root(cfg, err)) < 0) {
                free(m);
                return r;
        }
        config_to_cri(cfg, &m->cri);
        r = sd_event_default(&m->event);
        if (r < 0) {
                manager_free(m);
                return nl_error_set(err, r, "event loop: %s", strerror(-r));
        }
        const char *dirs[] = { cfg->root_dir, cfg->run_dir, cfg->log_dir };
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++)
                if (dirs[i] && (r = nl_mkdir_p(dirs[i], 0755)) < 0) {
                        manager_free(m);
                        return nl_error_set(err, r, "create %s: %s", dirs[i], strerror(-r));
                }
        _cleanup_free_ char *pods = layout_pods_dir(cfg->root_dir);
        if (!pods) {
                manager_free(m);
                return -ENOMEM;
        }
        (void) nl_mkdir_p(pods, 0700);
        r = layout_image_store_open(cfg->root_dir, &m->store, err);
        if (r < 0) {
                manager_free(m);
                return r;
        }
        r = registry_client_new(m->event, m->store, &cfg->registry, &m->registry);
        if (r < 0) {
                manager_free(m);
                return nl_error_set(err, r, "registry client: %s", strerror(-r));
        }
        m->pull_backoff = image_pull_backoff_new();
        r = probe_runner_new(m->event, &m->probes);
        if (r < 0) {
                manager_free(m);
                return nl_error_set(err, r, "probe runner: %s", strerror(-r));
        }
        if (cfg->kubeconfig && (r = manager_cluster_load(m, err)) < 0) {
                manager_free(m);
                return r;
        }
        /* an operation a crashed daemon left running must end before the node's state is read */
        ops_wait_previous(m);
        r = userns_manager_init(m, err);
        if (r < 0) {
                manager_free(m);
                return r;
        }
        userns_manager_scan(m);
        m->host_ip = cfg->node_ip ? strdup(cfg->node_ip) : detect_host_ip();
        if (!m->pull_backoff || !m->host_ip || manager_node_resources_init(m) < 0) {
                manager_free(m);
                return -ENOMEM;
        }
        *ret = m;
        return 0;
}

int manager_start(struct manager *m, nl_error *err) {
        sigset_t ss;
        sigemptyset(&ss);
        sigaddset(&ss, SIGTERM);
        sigaddset(&ss, SIGINT);
        sigaddset(&ss, SIGCHLD);
        sigprocmask(SIG_BLOCK, &ss, NULL);
        int r;
        if ((r = sd_event_add_signal(m->event, &m->sigterm, SIGTERM, on_signal, m)) < 0 ||
            (r = sd_event_add_signal(m->event, &m->sigint, SIGINT, on_signal, m)) < 0)
                return nl_error_set(err, r, "signals: %s", strerror(-r));
        (void) sd_event_set_watchdog(m->event, true); /* WATCHDOG=1 when the unit asks for it */
        /* as the kubelet, which bootstraps its credentials before it starts anything else */
        if (m->bootstrap_api)
                return manager_bootstrap_start(m, err);
        return manager_start_cluster(m, err);
}

int manager_start_cluster(struct manager *m, nl_error *err) {
        int r;

        if ((r = sd_event_add_time_relative(m->event, &m->sync_timer, CLOCK_MONOTONIC, m->cfg->sync_frequency,
                                            100000, on_sync, m)) < 0)
                return nl_error_set(err, r, "sync timer: %s", strerror(-r));
        (void) sd_event_source_set_description(m->sync_timer, "sync-frequency");
        if ((r = sd_event_add_time_relative(m->event, &m->image_gc_timer, CLOCK_MONOTONIC, IMAGE_GC_PERIOD, USEC_PER_SEC,
                                            on_image_gc, m)) < 0)
                return nl_error_set(err, r, "image GC timer: %s", strerror(-r));
        (void) sd_event_source_set_description(m->image_gc_timer, "image-gc");
        /* before the first pod: a node that cannot run containers says so once, up front */
        if ((r = runtime_state_start(m, err)) < 0)
                return r;

        if ((r = eviction_manager_start(m, err)) < 0)
                return r;
        /* allocatable again, now less the hard eviction thresholds */
        manager_node_allocatable_update(m);
        if (m->cfg->pod_manifest_path || m->cfg->manifest_url) {
                r = file_source_new(m->event, m->cfg->pod_manifest_path, m->cfg->node_name, m->cfg->file_check_frequency,
                                    on_file, m, &m->files, err);
                if (r < 0)
                        return r;
                file_source_set_pods_only(m->files, m->api != NULL);
                if (m->cfg->manifest_url &&
                    (r = file_source_set_url(m->files, m->cfg->manifest_url, m->cfg->manifest_url_headers,
                                             m->cfg->n_manifest_url_headers, err)) < 0)
                        return r;
                if (!m->api && (r = workloads_new(m, &m->workloads, err)) < 0)
                        return r;
        }
        if (m->api) {
                if ((r = node_status_start(m, err)) < 0 || (r = api_source_start(m, err)) < 0 ||
                    (r = manager_certs_start(m, err)) < 0)
                        return r;
        }
        (void) manager_start_node_server(m);
        if ((r = shutdown_manager_start(m)) < 0)
                return nl_error_set(err, r, "graceful node shutdown: %s", strerror(-r));
        /* READY once the initial scan's pods have their workers: after the source's deferred
         * first scan, which runs before this (lower priority) one */
        sd_event_source *first = NULL;
        if ((r = sd_event_add_defer(m->event, &first, on_first_sync, m)) >= 0) {
                (void) sd_event_source_set_priority(first, SD_EVENT_PRIORITY_IDLE);
                (void) sd_event_source_set_floating(first, true);
                sd_event_source_unref(first);
        }
        log_info("node %s: static pods from %s, API server %s, runtime %s, root %s", m->cfg->node_name,
                 m->cfg->pod_manifest_path ? m->cfg->pod_manifest_path : "(none)",
                 m->kubeconfig ? m->kubeconfig->server : "(none)", strempty(m->cri.runtime_path), m->cri.root_dir);
        return 0;
}

void manager_free(struct manager *m) {
        if (!m)
                return;
        file_source_free(m->files);
        shutdown_manager_free(m->shutdown);
        m->shutdown = NULL;
        workloads_free(m->workloads);
        api_source_free(m->api_source);
        m->api_source = NULL;
        node_status_free(m->node_status);
        m->node_status = NULL;
        node_server_free(m->node_server);
        m->node_server = NULL;
        manager_certs_free(m);
        for (size_t i = 0; i < m->n_workers; i++)
                pod_worker_free(m->workers[i]);
        free(m->workers);
        file_pods_free(m);
        registry_client_free(m->registry);
        probe_runner_free(m->probes);
        api_client_free(m->api);
        kubeconfig_done(m->kubeconfig);
        free(m->kubeconfig);
        image_store_close(m->store);
        image_pull_backoff_free(m->pull_backoff);
        runtime_state_done(&m->runtime);
        userns_manager_done(&m->userns);
        eviction_manager_free(m->eviction);
        sd_event_source_disable_unref(m->sync_timer);
        sd_event_source_disable_unref(m->image_gc_timer);
        sd_event_source_disable_unref(m->sigterm);
        sd_event_source_disable_unref(m->sigint);
        sd_event_unref(m->event);
        free(m->host_ip);
        json_decref(m->node_labels);
        json_decref(m->node_taints);
        free(m);
}
