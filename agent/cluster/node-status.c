/* SPDX-License-Identifier: Apache-2.0 */
/* The Node object and its heartbeats, as the kubelet's kubelet_node_status.go and
 * nodelease: register (POST; an existing Node of that name is taken over), then every
 * nodeStatusUpdateFrequency (10 s) compute the status and PATCH it when it changed or when
 * nodeStatusReportFrequency (5 min) passed since the last report; renew the Lease
 * kube-node-lease/<node> every 10 s with leaseDurationSeconds 40. Everything is retried on the
 * next tick while the API server is away; nothing here stops pods. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>

#include "common/fs.h"
#include "common/time-util.h"
#include "agent/manager.h"
#include "agent/eviction.h"
#include "cluster.h"

#define LEASE_RENEW (10 * USEC_PER_SEC) /* the kubelet renews at a quarter of the 40 s duration */
#define MAX_IMAGES 50          /* nodeStatusMaxImages */
#define SMP "application/strategic-merge-patch+json"

struct node_status {
        struct manager *m;
        sd_event_source *timer, *lease_timer;
        bool registered;
        char *uid;
        struct api_request *reg, *patch, *lease_req, *get;
        char *last_reported; /* status without heartbeat times, as last sent */
        usec_t last_report;  /* CLOCK_MONOTONIC */
        char *lease_rv;      /* the Lease's resourceVersion for the next PUT */
        bool lease_exists;
        json_t *node_info;   /* computed once */
        char *ready_since, *pressure_since[3];
        bool ready;
        bool pressure[3];
};

const char *node_status_uid(const struct node_status *ns) {
        return ns ? ns->uid : NULL;
}

/* ---- facts ---------------------------------------------------------------------------------- */

static char *read_trimmed(const char *path) {
        char *buf = NULL;
        size_t len = 0;
        if (nl_read_file(path, 4096, true, &buf, &len) < 0)
                return NULL;
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
                buf[--len] = '\0';
        return buf;
}

static char *os_image(void) {
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        if (nl_read_file("/etc/os-release", 64 * 1024, true, &buf, &len) < 0)
                return strdup("Linux");
        for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
                if (strncmp(line, "PRETTY_NAME=", 12) != 0)
                        continue;
                char *v = line + 12;
                size_t n = strlen(v);
                if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
                        v[n - 1] = '\0';
                        v++;
                }
                return strdup(v);
        }
        return strdup("Linux");
}

/* "crun://1.8.1": the runtime's name and the version its --version prints first (the kubelet
 * shows "containerd://1.7.x"). Read once at start, before the loop runs. */
static char *runtime_version(const struct manager *m) {
        const char *rt = m->cri.runtime_path ? m->cri.runtime_path : "crun";
        const char *base = strrchr(rt, '/') ? strrchr(rt, '/') + 1 : rt;
        _cleanup_free_ char *cmd = nl_strdupf("'%s' --version 2>/dev/null", rt);
        char line[256] = "";
        FILE *f = cmd && !strchr(rt, '\'') ? popen(cmd, "re") : NULL;
        if (f) {
                while (fgets(line, sizeof(line), f)) {
                        /* "crun version 1.8.1" / "runc version 1.1.5" */
                        char *v = strstr(line, "version ");
                        if (v) {
                                v += 8;
                                v[strcspn(v, " \n")] = '\0';
                                memmove(line, v, strlen(v) + 1);
                                break;
                        }
                        line[0] = '\0';
                }
                pclose(f);
        }
        return nl_strdupf("%s://%s", base, line[0] ? line : "unknown");
}

static json_t *make_node_info(const struct manager *m) {
        struct utsname u;
        uname(&u);
        _cleanup_free_ char *machine_id = read_trimmed("/etc/machine-id"),
                            *boot_id = read_trimmed("/proc/sys/kernel/random/boot_id"),
                            *uuid = read_trimmed("/sys/class/dmi/id/product_uuid"), *os = os_image(),
                            *rt = runtime_version(m);
        return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "machineID", strempty(machine_id),
                         "systemUUID", strempty(uuid), "bootID", strempty(boot_id), "kernelVersion", u.release,
                         "osImage", strempty(os), "containerRuntimeVersion", strempty(rt), "kubeletVersion",
                         "v" NODELET_VERSION "-nodelet", "kubeProxyVersion", "", "operatingSystem", "linux",
                         "architecture", node_go_arch(u.machine));
}

/* Quantities as the API prints them (the API server keeps its own canonical form). */
static json_t *resources(const struct node_resources *r) {
        _cleanup_free_ char *cpu = node_resources_format_cpu(r->milli_cpu),
                            *mem = node_resources_format_bytes(r->memory),
                            *eph = node_resources_format_bytes(r->ephemeral_storage),
                            *h2 = node_resources_format_bytes(r->hugepages_2mi),
                            *h1 = node_resources_format_bytes(r->hugepages_1gi);
        char pods[32];
        snprintf(pods, sizeof(pods), "%" PRId64, r->pods);
        return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "cpu", strempty(cpu), "memory", strempty(mem), "pods",
                         pods, "ephemeral-storage", strempty(eph), "hugepages-2Mi", strempty(h2), "hugepages-1Gi",
                         strempty(h1));
}

static json_t *condition(const char *type, bool status, const char *reason, const char *message, const char *now,
                         const char *since) {
        return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type", type, "status", status ? "True" : "False",
                         "reason", reason, "message", message, "lastHeartbeatTime", now, "lastTransitionTime",
                         since ? since : now);
}

static char *now_rfc3339(void) {
        return format_rfc3339(now_realtime());
}

/* The node's conditions with the kubelet's reasons and messages; pressure as the eviction
 * manager decided it (its thresholds, held for evictionPressureTransitionPeriod). */
static json_t *conditions(struct node_status *ns, const char *now) {
        bool mem = eviction_node_pressure(ns->m, PRESSURE_MEMORY), disk = eviction_node_pressure(ns->m, PRESSURE_DISK),
             pid = eviction_node_pressure(ns->m, PRESSURE_PID);
        bool now_p[3] = { mem, disk, pid };
        for (int i = 0; i < 3; i++)
                if (!ns->pressure_since[i] || now_p[i] != ns->pressure[i]) {
                        free(ns->pressure_since[i]);
                        ns->pressure_since[i] = strdup(now);
                        ns->pressure[i] = now_p[i];
                }
        /* Ready as the kubelet's ReadyCondition setter: False with KubeletNotReady and the
         * runtime's and network's errors while either is not ready */
        _cleanup_free_ char *not_ready = manager_node_not_ready_message(ns->m);
        bool ready = !not_ready;
        if (!ns->ready_since || ready != ns->ready) {
                free(ns->ready_since);
                ns->ready_since = strdup(now);
                ns->ready = ready;
        }
        json_t *c = json_array();
        json_array_append_new(c, condition("MemoryPressure", mem, mem ? "KubeletHasInsufficientMemory" : "KubeletHasSufficientMemory",
                                           mem ? "kubelet has insufficient memory available" : "kubelet has sufficient memory available",
                                           now, ns->pressure_since[0]));
        json_array_append_new(c, condition("DiskPressure", disk, disk ? "KubeletHasDiskPressure" : "KubeletHasNoDiskPressure",
                                           disk ? "kubelet has disk pressure" : "kubelet has no disk pressure", now,
                                           ns->pressure_since[1]));
        json_array_append_new(c, condition("PIDPressure", pid, pid ? "KubeletHasInsufficientPID" : "KubeletHasSufficientPID",
                                           pid ? "kubelet has insufficient PID available" : "kubelet has sufficient PID available",
                                           now, ns->pressure_since[2]));
        json_array_append_new(c, condition("Ready", ready, ready ? "KubeletReady" : "KubeletNotReady",
                                           ready ? "kubelet is posting ready status" : not_ready, now,
                                           ns->ready_since));
        return c;
}

static json_t *images(struct manager *m) {
        struct image_info **list = NULL;
        size_t n = 0;
        json_t *a = json_array();
        if (image_store_list(m->store, &list, &n, NULL) < 0)
                return a;
        for (size_t i = 0; i < n && json_array_size(a) < MAX_IMAGES; i++) {
                json_t *names = json_array();
                for (size_t k = 0; k < list[i]->n_repo_digests; k++)
                        json_array_append_new(names, json_string(list[i]->repo_digests[k]));
                for (size_t k = 0; k < list[i]->n_names; k++)
                        json_array_append_new(names, json_string(list[i]->names[k]));
                json_array_append_new(a, json_pack("{s:o, s:I}", "names", names, "sizeBytes", (json_int_t) list[i]->size));
        }
        image_info_list_free(list, n);
        return a;
}

static json_t *node_status_json(struct node_status *ns, const char *now) {
        struct manager *m = ns->m;
        const char *ip = m->cfg->node_ip ? m->cfg->node_ip : m->host_ip;
        /* the runtime's one (default) handler and what it can do, as the kubelet reports the
         * CRI's RuntimeHandlers: user namespaces as the node's check found */
        json_t *handlers = json_pack("[{s:s, s:{s:b, s:b}}]", "name", "", "features", "recursiveReadOnlyMounts", false,
                                     "userNamespaces", m->runtime.userns_supported);
        return json_pack("{s:o, s:o, s:o, s:[{s:s, s:s}, {s:s, s:s}], s:{s:{s:i}}, s:O, s:o, s:o}", "capacity",
                         resources(&m->capacity), "allocatable", resources(&m->allocatable), "conditions", conditions(ns, now),
                         "addresses", "type", "InternalIP", "address", strempty(ip), "type", "Hostname", "address",
                         m->cfg->node_name, "daemonEndpoints", "kubeletEndpoint", "Port", m->cfg->port, "nodeInfo",
                         ns->node_info, "images", images(m), "runtimeHandlers", handlers);
}

/* What decides "changed": the status without its heartbeat times. */
static char *status_key(json_t *st) {
        json_t *copy = json_deep_copy(st);
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(copy, "conditions"), i, c) json_object_del(c, "lastHeartbeatTime");
        char *s = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(copy);
        return s;
}

/* ---- registration and status ------------------------------------------------------------------ */

static void report(struct node_status *ns, bool force);

static void take_uid(struct node_status *ns, json_t *node) {
        const char *uid = json_string_value(json_object_get(json_object_get(node, "metadata"), "uid"));
        if (uid && !streq_ptr(uid, ns->uid)) {
                free(ns->uid);
                ns->uid = strdup(uid);
        }
}

static void on_registered(long status, json_t *body, const char *error, void *userdata) {
        struct node_status *ns = userdata;
        ns->reg = NULL;
        if (status == 201 || status == 200) {
                take_uid(ns, body);
                manager_node_object(ns->m, body);
                ns->registered = true;
                log_info("node %s registered with %s", ns->m->cfg->node_name, ns->m->kubeconfig->server);
                report(ns, true);
                return;
        }
        if (status == 409) {
                /* it exists (we ran before, or someone made it): take it over, as the kubelet's
                 * tryRegisterWithAPIServer does for a Node of its own name */
                ns->registered = true;
                log_info("node %s already registered: updating it", ns->m->cfg->node_name);
                report(ns, true);
                return;
        }
        log_warning("registering node %s: %s", ns->m->cfg->node_name,
                    error ? error : strempty(json_string_value(json_object_get(body, "message"))));
}

static void do_register(struct node_status *ns) {
        struct manager *m = ns->m;
        _cleanup_free_ char *now = now_rfc3339();
        /* the same labels admission matches until the API server's Node is read back */
        json_t *labels = manager_own_node_labels(m);
        /* --register-with-taints: the Node is created with them; the kubelet sets them only at
         * registration (its initialNode), never on a Node that exists */
        json_t *spec = json_object();
        json_t *taints = m->cfg->n_register_taints ? json_array() : NULL;
        for (size_t i = 0; taints && i < m->cfg->n_register_taints; i++) {
                const char *t = m->cfg->register_taints[i], *colon = strrchr(t, ':');
                const char *eq = colon ? memchr(t, '=', (size_t) (colon - t)) : NULL;
                if (!colon)
                        continue;
                json_t *o = json_pack("{s:s%, s:s}", "key", t, (size_t) ((eq ? eq : colon) - t), "effect",
                                      colon + 1);
                if (o && eq)
                        json_object_set_new(o, "value", json_stringn(eq + 1, (size_t) (colon - eq - 1)));
                json_array_append_new(taints, o);
        }
        if (spec && taints)
                json_object_set_new(spec, "taints", taints);
        json_t *node = spec ? json_pack("{s:s, s:s, s:{s:s, s:o, s:{s:s}}, s:o, s:o}", "apiVersion", "v1",
                                        "kind", "Node", "metadata", "name", m->cfg->node_name, "labels", labels,
                                        "annotations", "volumes.kubernetes.io/controller-managed-attach-detach",
                                        "true", "spec", spec, "status", node_status_json(ns, strempty(now)))
                            : NULL;
        if (!spec)
                json_decref(labels);
        ns->reg = node ? api_request(m->api, "POST", "/api/v1/nodes", node, NULL, on_registered, ns) : NULL;
        json_decref(node);
}

static void on_patched(long status, json_t *body, const char *error, void *userdata) {
        struct node_status *ns = userdata;
        ns->patch = NULL;
        if (status == 200) {
                take_uid(ns, body);
                manager_node_object(ns->m, body);
                return;
        }
        if (status == 404) {
                /* someone deleted our Node: register again (the kubelet does on its next sync) */
                log_warning("node %s is not in the API server%s", ns->m->cfg->node_name,
                            ns->m->cfg->register_node ? ": registering again" : " (registerNode is false)");
                ns->registered = !ns->m->cfg->register_node;
                free(ns->last_reported);
                ns->last_reported = NULL;
                return;
        }
        free(ns->last_reported);
        ns->last_reported = NULL; /* send again next time */
        log_warning("node status: %s", error ? error : strempty(json_string_value(json_object_get(body, "message"))));
}

static void report(struct node_status *ns, bool force) {
        if (ns->patch)
                return;
        _cleanup_free_ char *now = now_rfc3339();
        json_t *st = node_status_json(ns, strempty(now));
        _cleanup_free_ char *key = st ? status_key(st) : NULL;
        usec_t mono = now_monotonic();
        bool changed = !streq_ptr(key, ns->last_reported);
        if (!st || (!force && !changed && mono - ns->last_report < ns->m->cfg->node_status_report_frequency)) {
                json_decref(st);
                return;
        }
        _cleanup_free_ char *ename = api_escape(ns->m->cfg->node_name);
        _cleanup_free_ char *path = nl_strdupf("/api/v1/nodes/%s/status", strempty(ename));
        json_t *body = json_pack("{s:o}", "status", st);
        if (path && body && (ns->patch = api_request(ns->m->api, "PATCH", path, body, SMP, on_patched, ns))) {
                free(ns->last_reported);
                ns->last_reported = TAKE_PTR(key);
                ns->last_report = mono;
        }
        json_decref(body);
}

void node_status_changed(struct node_status *ns) {
        /* as the kubelet's shutdown manager calls syncNodeStatus at once */
        if (ns && ns->registered)
                report(ns, false);
}

static void on_node(long status, json_t *body, const char *error, void *userdata) {
        struct node_status *ns = userdata;
        ns->get = NULL;
        if (status == 200)
                manager_node_object(ns->m, body);
}

/* The Node as the API server has it, for admission: labels and taints others may have set
 * (kubectl label, kubectl taint). The kubelet watches its Node; a read every tick that sent no
 * status (whose answer is the Node too) keeps it as fresh. */
static void read_node(struct node_status *ns) {
        if (ns->get || ns->patch)
                return;
        _cleanup_free_ char *ename = api_escape(ns->m->cfg->node_name);
        _cleanup_free_ char *path = nl_strdupf("/api/v1/nodes/%s", strempty(ename));
        if (path)
                ns->get = api_request(ns->m->api, "GET", path, NULL, NULL, on_node, ns);
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        struct node_status *ns = userdata;
        if (!ns->registered) {
                if (!ns->reg)
                        do_register(ns);
        } else {
                report(ns, false);
                read_node(ns);
        }
        (void) sd_event_source_set_time(s, usec + ns->m->cfg->node_status_update_frequency);
        (void) sd_event_source_set_enabled(s, SD_EVENT_ON);
        return 0;
}

/* ---- the lease ------------------------------------------------------------------------------ */

static void lease_tick(struct node_status *ns);

static char *micro_time(void) {
        /* metav1.MicroTime: RFC 3339 with microseconds */
        usec_t t = now_realtime();
        time_t secs = (time_t) (t / USEC_PER_SEC);
        struct tm tm;
        char buf[64];
        gmtime_r(&secs, &tm);
        size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(buf + n, sizeof(buf) - n, ".%06lluZ", (unsigned long long) (t % USEC_PER_SEC));
        return strdup(buf);
}

static void on_lease(long status, json_t *body, const char *error, void *userdata) {
        struct node_status *ns = userdata;
        ns->lease_req = NULL;
        const char *rv = json_string_value(json_object_get(json_object_get(body, "metadata"), "resourceVersion"));
        free(ns->lease_rv);
        ns->lease_rv = NULL;
        if ((status == 200 || status == 201) && rv) {
                ns->lease_exists = true;
                ns->lease_rv = strdup(rv);
                return;
        }
        if (status == 404) {
                ns->lease_exists = false;
                lease_tick(ns); /* create it now */
                return;
        }
        /* 409: it exists, or someone else wrote it; anything else: the API server is away. Read
         * it back on the next tick. */
        ns->lease_exists = true;
        if (status != 409)
                log_warning("node lease: %s", error ? error : strempty(json_string_value(json_object_get(body, "message"))));
}

static json_t *lease_json(struct node_status *ns, const char *now) {
        struct manager *m = ns->m;
        json_t *lease = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:i, s:s}}", "apiVersion", "coordination.k8s.io/v1",
                                  "kind", "Lease", "metadata", "name", m->cfg->node_name, "namespace", "kube-node-lease",
                                  "spec", "holderIdentity", m->cfg->node_name, "leaseDurationSeconds",
                                  m->cfg->node_lease_duration_seconds, "renewTime", now);
        json_t *md = json_object_get(lease, "metadata");
        if (ns->lease_rv)
                json_object_set_new(md, "resourceVersion", json_string(ns->lease_rv));
        /* owned by the Node, so it goes with it */
        if (ns->uid)
                json_object_set_new(md, "ownerReferences",
                                    json_pack("[{s:s, s:s, s:s, s:s}]", "apiVersion", "v1", "kind", "Node", "name",
                                              m->cfg->node_name, "uid", ns->uid));
        return lease;
}

/* Unknown version: GET it (404 -> create); known: PUT the renewal with it. */
static void lease_tick(struct node_status *ns) {
        struct manager *m = ns->m;
        if (ns->lease_req)
                return;
        _cleanup_free_ char *ename = api_escape(m->cfg->node_name);
        _cleanup_free_ char *now = micro_time();
        const char *coll = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases";
        _cleanup_free_ char *path = nl_strdupf("%s/%s", coll, strempty(ename));
        if (!path || !now)
                return;
        if (!ns->lease_rv && ns->lease_exists) {
                ns->lease_req = api_request(m->api, "GET", path, NULL, NULL, on_lease, ns);
                return;
        }
        json_t *lease = lease_json(ns, now);
        if (!ns->lease_rv)
                ns->lease_req = lease ? api_request(m->api, "POST", coll, lease, NULL, on_lease, ns) : NULL;
        else
                ns->lease_req = lease ? api_request(m->api, "PUT", path, lease, NULL, on_lease, ns) : NULL;
        json_decref(lease);
}

static int on_lease_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct node_status *ns = userdata;
        if (ns->registered)
                lease_tick(ns);
        (void) sd_event_source_set_time(s, usec + LEASE_RENEW);
        (void) sd_event_source_set_enabled(s, SD_EVENT_ON);
        return 0;
}

int node_status_start(struct manager *m, nl_error *err) {
        struct node_status *ns = calloc(1, sizeof(*ns));
        if (!ns)
                return -ENOMEM;
        ns->m = m;
        ns->node_info = make_node_info(m);
        ns->lease_exists = true; /* until a GET says otherwise: read before writing */
        /* registerNode: false: someone else made the Node; only its status is ours */
        ns->registered = !m->cfg->register_node;
        int r = sd_event_add_time_relative(m->event, &ns->timer, CLOCK_MONOTONIC, 0, 100000, on_tick, ns);
        if (r >= 0)
                r = sd_event_add_time_relative(m->event, &ns->lease_timer, CLOCK_MONOTONIC, USEC_PER_SEC, 100000, on_lease_timer, ns);
        if (r < 0 || !ns->node_info) {
                node_status_free(ns);
                return nl_error_set(err, r < 0 ? r : -ENOMEM, "node status timers: %s", strerror(r < 0 ? -r : ENOMEM));
        }
        (void) sd_event_source_set_description(ns->timer, "node-status");
        (void) sd_event_source_set_description(ns->lease_timer, "node-lease");
        m->node_status = ns;
        return 0;
}

void node_status_free(struct node_status *ns) {
        if (!ns)
                return;
        api_request_cancel(ns->reg);
        api_request_cancel(ns->patch);
        api_request_cancel(ns->lease_req);
        api_request_cancel(ns->get);
        sd_event_source_disable_unref(ns->timer);
        sd_event_source_disable_unref(ns->lease_timer);
        json_decref(ns->node_info);
        free(ns->uid);
        free(ns->last_reported);
        free(ns->lease_rv);
        free(ns->ready_since);
        for (int i = 0; i < 3; i++)
                free(ns->pressure_since[i]);
        free(ns);
}
