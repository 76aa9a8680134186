/* SPDX-License-Identifier: Apache-2.0 */
/* Graceful node shutdown, as the kubelet's pkg/kubelet/nodeshutdown: with shutdownGracePeriod
 * (or shutdownGracePeriodByPodPriority) set, hold a systemd-logind "delay" inhibitor lock on
 * shutdown; when logind says PrepareForShutdown(true), report the Node not Ready, stop the pods
 * group by group (lowest priority first, each within its group's share of the period) with the
 * kubelet's status (phase Failed, reason Terminated), then release the lock so the shutdown goes
 * on. PrepareForShutdown(false) (the shutdown was cancelled) takes the lock again and the node
 * is Ready again; pods already stopped stay stopped, as with the kubelet.
 *
 * Everything talks to logind through sd-bus on the daemon's sd-event loop, asynchronously. No
 * system bus or no logind: one warning, the feature is off (the kubelet logs the error and goes
 * on). When logind's InhibitDelayMaxUSec is shorter than the period, the kubelet writes a
 * logind.conf.d drop-in (99-kubelet.conf) raising InhibitDelayMaxSec and has systemd SIGHUP
 * logind; nodelet does the same (99-nodelet.conf in nodelet.logindConfDir), once, and turns the
 * feature off with the kubelet's error if logind still says less afterwards. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-bus.h>

#include "common/fs.h"
#include "common/time-util.h"
#include "manager.h"

#define LOGIND_SERVICE "org.freedesktop.login1"
#define LOGIND_PATH "/org/freedesktop/login1"
#define LOGIND_MANAGER "org.freedesktop.login1.Manager"
#define RECONNECT_PERIOD USEC_PER_SEC /* the kubelet's dbusReconnectPeriod */
#define GROUP_POLL (500 * USEC_PER_MSEC)
/* scheduling.DefaultPriorityWhenNoDefaultClassExists and SystemCriticalPriority */
#define PRIORITY_DEFAULT 0
#define PRIORITY_SYSTEM_CRITICAL 2000000000

struct shutdown_manager {
        struct manager *m;
        struct shutdown_grace_by_priority *groups; /* sorted by priority, low to high */
        size_t n_groups;
        sd_bus *bus;
        sd_bus_slot *call, *match, *disconnect;
        sd_event_source *retry, *poll;
        int lock_fd;             /* the inhibitor lock; -1 when not held */
        bool override_tried;     /* the logind.conf.d drop-in was written once */
        bool off;                /* no bus, no logind, or a setting logind refuses: given up */
        bool watching;           /* the first lock was taken: a lost bus is reconnected */
        bool shutting_down;      /* between PrepareForShutdown(true) and (false) */
        bool processing;         /* stopping pods group by group */
        bool cancel_pending;     /* cancelled while processing: handled when it ends */
        size_t group;            /* the group being stopped */
        usec_t group_deadline;   /* CLOCK_MONOTONIC */
        char **group_uids;       /* its pods */
        size_t n_group_uids;
};

static void connect_bus(struct shutdown_manager *sm);
static void take_lock(struct shutdown_manager *sm);
static void schedule_retry(struct shutdown_manager *sm);

/* ---- configuration ------------------------------------------------------------------------ */

static int cmp_priority(const void *a, const void *b) {
        const struct shutdown_grace_by_priority *x = a, *y = b;
        return x->priority < y->priority ? -1 : x->priority > y->priority;
}

/* The kubelet's migrateConfig: shutdownGracePeriod minus the critical pods' part for priority
 * 0 and up, the critical part for system-critical priorities; or the by-priority list as is. */
static int make_groups(const struct nodelet_config *cfg, struct shutdown_grace_by_priority **ret, size_t *ret_n) {
        size_t n = cfg->n_shutdown_by_priority ? cfg->n_shutdown_by_priority : 2;
        struct shutdown_grace_by_priority *g = calloc(n, sizeof(*g));
        if (!g)
                return -ENOMEM;
        if (cfg->n_shutdown_by_priority)
                memcpy(g, cfg->shutdown_by_priority, n * sizeof(*g));
        else {
                int64_t total = (int64_t) (cfg->shutdown_grace_period / USEC_PER_SEC),
                        critical = (int64_t) (cfg->shutdown_grace_period_critical_pods / USEC_PER_SEC);
                g[0] = (struct shutdown_grace_by_priority){ PRIORITY_DEFAULT, total - critical };
                g[1] = (struct shutdown_grace_by_priority){ PRIORITY_SYSTEM_CRITICAL, critical };
        }
        qsort(g, n, sizeof(*g), cmp_priority);
        *ret = g;
        *ret_n = n;
        return 0;
}

static usec_t period_requested(const struct shutdown_manager *sm) {
        int64_t sum = 0;
        for (size_t i = 0; i < sm->n_groups; i++)
                sum += sm->groups[i].seconds;
        return (usec_t) sum * USEC_PER_SEC;
}

/* The pod's priority: spec.priority as the API server resolved it. A static pod never passes
 * the API server's Priority admission: its two system class names are resolved here as that
 * plugin would (system-node-critical 2000001000, system-cluster-critical 2000000000); any other
 * class, or none, is 0, as the kubelet reads only spec.priority. */
static int32_t pod_priority(const struct pod *pod) {
        if (pod->spec.priority.set)
                return (int32_t) pod->spec.priority.v;
        if (streq_ptr(pod->spec.priority_class_name, "system-node-critical"))
                return PRIORITY_SYSTEM_CRITICAL + 1000;
        if (streq_ptr(pod->spec.priority_class_name, "system-cluster-critical"))
                return PRIORITY_SYSTEM_CRITICAL;
        return 0;
}

/* The kubelet's groupByPriority: the highest group whose priority is <= the pod's; below the
 * lowest, the lowest. */
static size_t group_of(const struct shutdown_manager *sm, int32_t priority) {
        size_t g = 0;
        for (size_t i = 0; i < sm->n_groups; i++)
                if (sm->groups[i].priority <= priority)
                        g = i;
        return g;
}

/* ---- the lock ----------------------------------------------------------------------------- */

static void release_lock(struct shutdown_manager *sm) {
        if (sm->lock_fd < 0)
                return;
        closep(&sm->lock_fd);
        log_info("graceful node shutdown: inhibitor lock released");
}

static int on_inhibit(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        struct shutdown_manager *sm = userdata;
        sm->call = sd_bus_slot_unref(sm->call);
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        int fd = -1;
        if (e) {
                log_warning("graceful node shutdown: failed creating systemd inhibitor: %s", strempty(e->message));
                return 0;
        }
        int r = sd_bus_message_read(reply, "h", &fd);
        if (r < 0 || (fd = fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0) {
                log_warning("graceful node shutdown: failed storing inhibit lock file descriptor: %s",
                            strerror(r < 0 ? -r : errno));
                return 0;
        }
        /* a new lock first, then the old one goes (the kubelet's acquireInhibitLock) */
        int old = sm->lock_fd;
        sm->lock_fd = fd;
        closep(&old);
        sm->watching = true;
        log_info("graceful node shutdown: inhibitor lock taken (shutdown delayed up to %llus)",
                 (unsigned long long) (period_requested(sm) / USEC_PER_SEC));
        return 0;
}

static void take_lock(struct shutdown_manager *sm) {
        sm->call = sd_bus_slot_unref(sm->call);
        int r = sd_bus_call_method_async(sm->bus, &sm->call, LOGIND_SERVICE, LOGIND_PATH, LOGIND_MANAGER, "Inhibit",
                                         on_inhibit, sm, "ssss", "shutdown", "nodelet",
                                         "Nodelet needs time to handle node shutdown", "delay");
        if (r < 0)
                log_warning("graceful node shutdown: failed creating systemd inhibitor: %s", strerror(-r));
}

/* ---- the shutdown ------------------------------------------------------------------------- */

static void group_uids_free(struct shutdown_manager *sm) {
        for (size_t i = 0; i < sm->n_group_uids; i++)
                free(sm->group_uids[i]);
        free(sm->group_uids);
        sm->group_uids = NULL;
        sm->n_group_uids = 0;
}

static void processing_done(struct shutdown_manager *sm) {
        sm->processing = false;
        sm->poll = sd_event_source_disable_unref(sm->poll);
        group_uids_free(sm);
        release_lock(sm);
        log_info("graceful node shutdown: pods stopped, the node will shut down shortly");
        if (sm->cancel_pending) {
                sm->cancel_pending = false;
                if (!sm->shutting_down && sm->bus)
                        take_lock(sm);
        }
}

static bool group_stopped(struct shutdown_manager *sm) {
        for (size_t i = 0; i < sm->n_group_uids; i++)
                if (manager_pod_stopping(sm->m, sm->group_uids[i]))
                        return false;
        return true;
}

static void start_group(struct shutdown_manager *sm);

static int on_poll(sd_event_source *s, uint64_t usec, void *userdata) {
        struct shutdown_manager *sm = userdata;
        if (group_stopped(sm))
                log_info("graceful node shutdown: priority group %d stopped", sm->groups[sm->group].priority);
        else if (now_monotonic() >= sm->group_deadline)
                /* the kubelet moves on when the group's time is up, whatever still runs */
                log_info("graceful node shutdown: priority group %d: its %llds are over", sm->groups[sm->group].priority,
                         (long long) sm->groups[sm->group].seconds);
        else {
                (void) sd_event_source_set_time(s, usec + GROUP_POLL);
                (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
                return 0;
        }
        sm->group++;
        start_group(sm);
        return 0;
}

/* Stop the next group that has pods (the kubelet skips empty groups without waiting). */
static void start_group(struct shutdown_manager *sm) {
        struct manager *m = sm->m;
        group_uids_free(sm);
        for (; sm->group < sm->n_groups; sm->group++) {
                const struct shutdown_grace_by_priority *g = &sm->groups[sm->group];
                size_t n = 0;
                for (size_t i = 0; i < m->n_workers; i++)
                        n += pod_worker_active(m->workers[i]) &&
                             group_of(sm, pod_priority(pod_worker_pod(m->workers[i]))) == sm->group;
                if (n == 0)
                        continue;
                sm->group_uids = calloc(n, sizeof(char *));
                if (!sm->group_uids)
                        break;
                for (size_t i = 0; i < m->n_workers && sm->n_group_uids < n; i++) {
                        struct pod_worker *w = m->workers[i];
                        if (!pod_worker_active(w) || group_of(sm, pod_priority(pod_worker_pod(w))) != sm->group)
                                continue;
                        /* the group's time, or the pod's own grace period when that is shorter */
                        const struct pod *p = pod_worker_pod(w);
                        int64_t grace = g->seconds;
                        if (p->spec.termination_grace_period_seconds.set && p->spec.termination_grace_period_seconds.v <= grace)
                                grace = p->spec.termination_grace_period_seconds.v;
                        char *uid = strdup(pod_worker_uid(w));
                        if (uid)
                                sm->group_uids[sm->n_group_uids++] = uid;
                        pod_worker_node_shutdown(w, grace);
                }
                log_info("graceful node shutdown: stopping %zu pods of priority group %d within %llds", sm->n_group_uids,
                         g->priority, (long long) g->seconds);
                sm->group_deadline = now_monotonic() + (usec_t) g->seconds * USEC_PER_SEC;
                if (!sm->poll) {
                        if (sd_event_add_time_relative(m->event, &sm->poll, CLOCK_MONOTONIC, GROUP_POLL, 100000, on_poll,
                                                       sm) < 0)
                                break;
                        (void) sd_event_source_set_description(sm->poll, "node-shutdown-group");
                } else {
                        (void) sd_event_source_set_time_relative(sm->poll, GROUP_POLL);
                        (void) sd_event_source_set_enabled(sm->poll, SD_EVENT_ONESHOT);
                }
                return;
        }
        processing_done(sm);
}

static int on_prepare_for_shutdown(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        struct shutdown_manager *sm = userdata;
        int active = 0;
        if (sd_bus_message_read(msg, "b", &active) < 0) {
                log_warning("graceful node shutdown: PrepareForShutdown without its boolean, ignoring");
                return 0;
        }
        if (active && sm->shutting_down)
                return 0;
        sm->shutting_down = active;
        if (active) {
                log_info("graceful node shutdown: shutdown detected: stopping pods");
                manager_node_changed(sm->m);
                if (sm->processing)
                        return 0;
                sm->processing = true;
                sm->group = 0;
                start_group(sm);
                return 0;
        }
        log_info("graceful node shutdown: shutdown cancelled");
        manager_node_changed(sm->m);
        /* the kubelet handles the cancellation once the pods of the shutdown are stopped */
        if (sm->processing)
                sm->cancel_pending = true;
        else
                take_lock(sm);
        return 0;
}

/* ---- logind's delay limit ----------------------------------------------------------------- */

static void check_delay(struct shutdown_manager *sm);

static int on_reload(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        struct shutdown_manager *sm = userdata;
        sm->call = sd_bus_slot_unref(sm->call);
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        if (e) {
                log_warning("graceful node shutdown off: unable to reload logind conf: %s", strempty(e->message));
                sm->off = true;
                return 0;
        }
        check_delay(sm);
        return 0;
}

/* The kubelet's OverrideInhibitDelay and ReloadLogindConf. */
static void override_delay(struct shutdown_manager *sm, usec_t requested) {
        const char *dir = sm->m->cfg->logind_conf_dir;
        _cleanup_free_ char *path = nl_strdupf("%s/99-nodelet.conf", dir);
        _cleanup_free_ char *text = nl_strdupf("# nodelet's logind override (graceful node shutdown)\n[Login]\n"
                                               "InhibitDelayMaxSec=%llu\n",
                                               (unsigned long long) (requested / USEC_PER_SEC));
        int r = path && text ? nl_mkdir_p(dir, 0755) : -ENOMEM;
        if (r >= 0)
                r = nl_write_file_atomic(path, text, strlen(text), 0644);
        if (r < 0) {
                log_warning("graceful node shutdown off: unable to override inhibit delay: failed writing logind "
                            "shutdown inhibit override file %s: %s",
                            strempty(path), strerror(-r));
                sm->off = true;
                return;
        }
        log_info("graceful node shutdown: wrote %s, reloading logind", path);
        sm->call = sd_bus_slot_unref(sm->call);
        r = sd_bus_call_method_async(sm->bus, &sm->call, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                     "org.freedesktop.systemd1.Manager", "KillUnit", on_reload, sm, "ssi",
                                     "systemd-logind.service", "all", (int32_t) SIGHUP);
        if (r < 0) {
                log_warning("graceful node shutdown off: unable to reload logind conf: %s", strerror(-r));
                sm->off = true;
        }
}

static int on_match_added(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        if (e)
                log_warning("graceful node shutdown: watching PrepareForShutdown: %s", strempty(e->message));
        return 0;
}

static int on_delay(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        struct shutdown_manager *sm = userdata;
        sm->call = sd_bus_slot_unref(sm->call);
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        uint64_t delay = 0;
        bool failed = e || sd_bus_message_read(reply, "v", "t", &delay) < 0;
        if (failed && sm->watching) {
                /* it worked before: logind is restarting; the kubelet keeps trying every second */
                log_warning("graceful node shutdown: failed reading InhibitDelayMaxUSec property from logind: %s; "
                            "retrying in 1s",
                            e ? strempty(e->message) : "not a uint64");
                schedule_retry(sm);
                return 0;
        }
        if (failed) {
                /* no logind (or not a logind we understand): as without a bus */
                log_warning("graceful node shutdown off: failed reading InhibitDelayMaxUSec property from logind: %s",
                            e ? strempty(e->message) : "not a uint64");
                sm->off = true;
                return 0;
        }
        usec_t requested = period_requested(sm);
        if (requested > delay) {
                if (!sm->override_tried) {
                        sm->override_tried = true;
                        override_delay(sm, requested);
                        return 0;
                }
                _cleanup_free_ char *want = config_format_duration(requested), *have = config_format_duration(delay);
                log_warning("graceful node shutdown off: node shutdown manager was unable to update logind "
                            "InhibitDelayMaxSec to %s (ShutdownGracePeriod), current value of InhibitDelayMaxSec (%s) "
                            "is less than requested ShutdownGracePeriod",
                            strempty(want), strempty(have));
                sm->off = true;
                return 0;
        }
        if (!sm->match) {
                int r = sd_bus_match_signal_async(sm->bus, &sm->match, LOGIND_SERVICE, LOGIND_PATH, LOGIND_MANAGER,
                                                  "PrepareForShutdown", on_prepare_for_shutdown, on_match_added, sm);
                if (r < 0) {
                        log_warning("graceful node shutdown off: failed to monitor shutdown: %s", strerror(-r));
                        sm->off = true;
                        return 0;
                }
        }
        take_lock(sm);
        return 0;
}

static void check_delay(struct shutdown_manager *sm) {
        sm->call = sd_bus_slot_unref(sm->call);
        int r = sd_bus_call_method_async(sm->bus, &sm->call, LOGIND_SERVICE, LOGIND_PATH, "org.freedesktop.DBus.Properties",
                                         "Get", on_delay, sm, "ss", LOGIND_MANAGER, "InhibitDelayMaxUSec");
        if (r < 0) {
                log_warning("graceful node shutdown off: %s", strerror(-r));
                sm->off = true;
        }
}

/* ---- the bus ------------------------------------------------------------------------------ */

static void drop_bus(struct shutdown_manager *sm) {
        sm->call = sd_bus_slot_unref(sm->call);
        sm->match = sd_bus_slot_unref(sm->match);
        sm->disconnect = sd_bus_slot_unref(sm->disconnect);
        if (sm->bus) {
                (void) sd_bus_detach_event(sm->bus);
                sm->bus = sd_bus_flush_close_unref(sm->bus);
        }
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        struct shutdown_manager *sm = userdata;
        log_debug("graceful node shutdown: watching for node shutdown events again");
        connect_bus(sm);
        return 0;
}

/* The bus went away (dbus or logind restarted): as the kubelet, watch again a second later. A
 * lock logind held is gone with the connection anyway. */
static int on_disconnected(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        struct shutdown_manager *sm = userdata;
        if (!sm->watching) {
                /* as the kubelet, whose first start failing turns the feature off */
                if (!sm->off)
                        log_warning("graceful node shutdown off: the system bus connection ended");
                sm->off = true;
                drop_bus(sm);
                return 0;
        }
        log_warning("graceful node shutdown: the system bus connection ended; reconnecting in 1s");
        schedule_retry(sm);
        return 0;
}

static void schedule_retry(struct shutdown_manager *sm) {
        drop_bus(sm);
        if (!sm->processing)
                release_lock(sm);
        if (!sm->retry) {
                if (sd_event_add_time_relative(sm->m->event, &sm->retry, CLOCK_MONOTONIC, RECONNECT_PERIOD, 100000,
                                               on_retry, sm) < 0)
                        return;
                (void) sd_event_source_set_description(sm->retry, "node-shutdown-reconnect");
        } else {
                (void) sd_event_source_set_time_relative(sm->retry, RECONNECT_PERIOD);
                (void) sd_event_source_set_enabled(sm->retry, SD_EVENT_ONESHOT);
        }
}

static void connect_bus(struct shutdown_manager *sm) {
        /* DBUS_SYSTEM_BUS_ADDRESS, else /run/dbus/system_bus_socket */
        int r = sd_bus_open_system(&sm->bus);
        if (r >= 0)
                r = sd_bus_attach_event(sm->bus, sm->m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r >= 0)
                r = sd_bus_match_signal(sm->bus, &sm->disconnect, "org.freedesktop.DBus.Local", "/org/freedesktop/DBus/Local",
                                        "org.freedesktop.DBus.Local", "Disconnected", on_disconnected, sm);
        if (r < 0 && sm->watching) {
                /* the bus is restarting: as the kubelet, try again every second */
                log_debug("graceful node shutdown: no system bus yet: %s", strerror(-r));
                schedule_retry(sm);
                return;
        }
        if (r < 0) {
                log_warning("graceful node shutdown off: no system bus: %s", strerror(-r));
                drop_bus(sm);
                sm->off = true;
                return;
        }
        check_delay(sm);
}

/* ---- the manager's view ------------------------------------------------------------------- */

int shutdown_manager_start(struct manager *m) {
        const struct nodelet_config *cfg = m->cfg;
        if (cfg->shutdown_grace_period == 0 && cfg->n_shutdown_by_priority == 0) {
                log_debug("graceful node shutdown: no shutdownGracePeriod: node shutdown will be immediate");
                return 0;
        }
        struct shutdown_manager *sm = calloc(1, sizeof(*sm));
        if (!sm)
                return -ENOMEM;
        sm->m = m;
        sm->lock_fd = -1;
        int r = make_groups(cfg, &sm->groups, &sm->n_groups);
        if (r < 0) {
                free(sm);
                return r;
        }
        m->shutdown = sm;
        connect_bus(sm);
        return 0;
}

bool shutdown_manager_shutting_down(const struct manager *m) {
        return m->shutdown && m->shutdown->shutting_down;
}

void shutdown_manager_free(struct shutdown_manager *sm) {
        if (!sm)
                return;
        drop_bus(sm);
        sd_event_source_disable_unref(sm->retry);
        sd_event_source_disable_unref(sm->poll);
        group_uids_free(sm);
        closep(&sm->lock_fd);
        free(sm->groups);
        free(sm);
}
