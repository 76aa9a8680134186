/* SPDX-License-Identifier: Apache-2.0 */
/* The eviction manager's decisions, without I/O: thresholds parsed as the kubelet's
 * ParseThresholdConfig (pkg/kubelet/eviction/helpers.go), threshold math, pod ranking and the
 * kubelet's eviction messages. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "eviction.h"
#include "config-internal.h"

#define EVICTION_MAX_STATEMENTS 32 /* more than every signal twice */
#define SYSTEM_CRITICAL_PRIORITY 2000000000

static const char *const signal_names[_EVICTION_SIGNAL_MAX] = {
        [EVICTION_MEMORY_AVAILABLE] = "memory.available",
        [EVICTION_NODEFS_AVAILABLE] = "nodefs.available",
        [EVICTION_NODEFS_INODES_FREE] = "nodefs.inodesFree",
        [EVICTION_IMAGEFS_AVAILABLE] = "imagefs.available",
        [EVICTION_IMAGEFS_INODES_FREE] = "imagefs.inodesFree",
        [EVICTION_PID_AVAILABLE] = "pid.available",
};

const char *eviction_signal_to_string(enum eviction_signal s) {
        return s >= 0 && s < _EVICTION_SIGNAL_MAX ? signal_names[s] : NULL;
}

enum eviction_signal eviction_signal_from_string(const char *s) {
        for (int i = 0; i < _EVICTION_SIGNAL_MAX; i++)
                if (streq_ptr(s, signal_names[i]))
                        return (enum eviction_signal) i;
        return _EVICTION_SIGNAL_INVALID;
}

enum eviction_pressure eviction_signal_pressure(enum eviction_signal s) {
        switch (s) {
        case EVICTION_MEMORY_AVAILABLE:
                return PRESSURE_MEMORY;
        case EVICTION_PID_AVAILABLE:
                return PRESSURE_PID;
        default:
                return PRESSURE_DISK;
        }
}

enum eviction_resource eviction_signal_resource(enum eviction_signal s) {
        switch (s) {
        case EVICTION_MEMORY_AVAILABLE:
                return RESOURCE_MEMORY;
        case EVICTION_NODEFS_AVAILABLE:
        case EVICTION_IMAGEFS_AVAILABLE:
                return RESOURCE_EPHEMERAL_STORAGE;
        case EVICTION_PID_AVAILABLE:
                return RESOURCE_PIDS;
        default:
                return RESOURCE_INODES;
        }
}

const char *eviction_resource_to_string(enum eviction_resource r) {
        static const char *const names[] = { "memory", "ephemeral-storage", "inodes", "pids" };
        return r < ELEMENTSOF(names) ? names[r] : "unknown";
}

/* ---- parsing ----------------------------------------------------------------------------- */

/* One "key<sep>value" statement of a map flag; a later key replaces an earlier one (a Go map). */
struct statement {
        char *key, *value;
};

static void statements_free(struct statement *s, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(s[i].key);
                free(s[i].value);
        }
        free(s);
}

static int split_statements(const char *in, char sep, const char *what, struct statement **ret, size_t *ret_n,
                            nl_error *err) {
        struct statement *v = NULL;
        size_t n = 0;
        *ret = NULL;
        *ret_n = 0;
        for (const char *p = strempty(in); *p;) {
                size_t len = strcspn(p, ",");
                if (len == 0) {
                        p++;
                        continue;
                }
                const char *s = memchr(p, sep, len);
                if (!s || s == p) {
                        statements_free(v, n);
                        return nl_error_set(err, -EINVAL, "%s: \"%.*s\" is not SIGNAL%cVALUE", what, (int) len, p,
                                            sep);
                }
                if (n >= EVICTION_MAX_STATEMENTS) {
                        statements_free(v, n);
                        return nl_error_set(err, -E2BIG, "%s: more than %d statements", what,
                                            EVICTION_MAX_STATEMENTS);
                }
                char *key = strndup(p, (size_t) (s - p)), *value = strndup(s + 1, len - (size_t) (s - p) - 1);
                size_t k;
                for (k = 0; k < n && key && !streq(v[k].key, key); k++)
                        ;
                struct statement *nv = k == n ? realloc(v, (n + 1) * sizeof(*v)) : v;
                if (!key || !value || !nv) {
                        free(key);
                        free(value);
                        statements_free(nv ? nv : v, n);
                        return -ENOMEM;
                }
                v = nv;
                if (k < n) {
                        free(v[k].key);
                        free(v[k].value);
                } else
                        n++;
                v[k] = (struct statement){ key, value };
                p += len;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

static int parse_percent(const char *what, const char *signal, const char *val, double *ret, nl_error *err) {
        size_t len = strlen(val);
        _cleanup_free_ char *num = strndup(val, len - 1);
        char *end;
        if (!num)
                return -ENOMEM;
        errno = 0;
        double d = strtod(num, &end);
        if (!*num || *end || errno || !isfinite(d))
                return nl_error_set(err, -EINVAL, "%s: %s: strconv.ParseFloat: parsing \"%s\": invalid syntax",
                                    what, signal, num);
        *ret = d / 100;
        return 0;
}

static int parse_quantity(const char *what, const char *val, pod_quantity *ret, nl_error *err) {
        int r = pod_quantity_parse(val, ret);
        if (r < 0)
                return nl_error_set(err, -EINVAL, "%s: quantities must match the regular expression "
                                    "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$': \"%s\"", what, val);
        return 0;
}

/* parseThresholdStatement; 1 when the statement is ignored (0% and 100%). */
static int parse_threshold(const char *what, const struct statement *st, struct eviction_threshold *ret,
                           nl_error *err) {
        enum eviction_signal sig = eviction_signal_from_string(st->key);
        int r;
        if (sig < 0)
                return nl_error_set(err, -EINVAL, "%s: unsupported eviction signal %s", what, st->key);
        *ret = (struct eviction_threshold){ .signal = sig };
        if (*st->value && st->value[strlen(st->value) - 1] == '%') {
                if (streq(st->value, "0%") || streq(st->value, "100%"))
                        return 1;
                if ((r = parse_percent(what, st->key, st->value, &ret->value.fraction, err)) < 0)
                        return r;
                if (ret->value.fraction < 0)
                        return nl_error_set(err, -EINVAL, "%s: eviction percentage threshold %s must be >= 0%%: %s",
                                            what, st->key, st->value);
                if (ret->value.fraction > 1)
                        return nl_error_set(err, -EINVAL, "%s: eviction percentage threshold %s must be <= 100%%: %s",
                                            what, st->key, st->value);
                ret->value.is_percent = true;
                return 0;
        }
        if ((r = parse_quantity(what, st->value, &ret->value.quantity, err)) < 0)
                return r;
        if (pod_quantity_is_negative(&ret->value.quantity) || pod_quantity_is_zero(&ret->value.quantity))
                return nl_error_set(err, -EINVAL, "%s: eviction threshold %s must be positive: %s", what, st->key,
                                    st->value);
        return 0;
}

static int parse_thresholds(const char *in, const char *what, struct eviction_config *c, size_t *ret_first,
                            nl_error *err) {
        struct statement *st = NULL;
        size_t n = 0;
        int r = split_statements(in, '<', what, &st, &n, err);
        if (r < 0)
                return r;
        *ret_first = c->n_thresholds;
        struct eviction_threshold *t = realloc(c->thresholds, (c->n_thresholds + n + 1) * sizeof(*t));
        if (!t) {
                statements_free(st, n);
                return -ENOMEM;
        }
        c->thresholds = t;
        for (size_t i = 0; i < n; i++) {
                r = parse_threshold(what, &st[i], &c->thresholds[c->n_thresholds], err);
                if (r < 0)
                        break;
                if (r == 0)
                        c->n_thresholds++;
        }
        statements_free(st, n);
        return r < 0 ? r : 0;
}

int eviction_config_parse(const char *hard, const char *soft, const char *grace, const char *min_reclaim,
                          struct eviction_config *ret, nl_error *err) {
        struct eviction_config c = { .pressure_transition_period = 5 * 60 * USEC_PER_SEC };
        struct statement *st = NULL;
        size_t n = 0, first_soft = 0, dummy;
        int r;

        if ((r = parse_thresholds(hard, "evictionHard (--eviction-hard)", &c, &dummy, err)) < 0 ||
            (r = parse_thresholds(soft, "evictionSoft (--eviction-soft)", &c, &first_soft, err)) < 0)
                goto fail;
        /* grace periods: each soft threshold needs one */
        const char *gwhat = "evictionSoftGracePeriod (--eviction-soft-grace-period)";
        if ((r = split_statements(grace, '=', gwhat, &st, &n, err)) < 0)
                goto fail;
        for (size_t i = 0; i < n; i++)
                if (eviction_signal_from_string(st[i].key) < 0) {
                        r = nl_error_set(err, -EINVAL, "%s: unsupported eviction signal %s", gwhat, st[i].key);
                        goto fail;
                }
        for (size_t i = first_soft; i < c.n_thresholds; i++) {
                const char *name = eviction_signal_to_string(c.thresholds[i].signal);
                const struct statement *g = NULL;
                for (size_t k = 0; k < n; k++)
                        if (streq(st[k].key, name))
                                g = &st[k];
                if (!g) {
                        r = nl_error_set(err, -EINVAL, "%s: grace period must be specified for the soft eviction "
                                         "threshold %s", gwhat, name);
                        goto fail;
                }
                _cleanup_free_ char *what = nl_strdupf("%s: %s", gwhat, name);
                usec_t p = 0;
                if (!what) {
                        r = -ENOMEM;
                        goto fail;
                }
                if (streq(g->value, "0") || streq(g->value, "0s")) {
                        /* a soft threshold with no grace period acts at once, as a hard one */
                        r = 0;
                } else if ((r = config_parse_period(g->value, what, &p, err)) < 0)
                        goto fail;
                c.thresholds[i].grace_period = p;
        }
        statements_free(st, n);
        st = NULL;
        n = 0;

        const char *mwhat = "evictionMinimumReclaim (--eviction-minimum-reclaim)";
        if ((r = split_statements(min_reclaim, '=', mwhat, &st, &n, err)) < 0)
                goto fail;
        for (size_t i = 0; i < n; i++) {
                enum eviction_signal sig = eviction_signal_from_string(st[i].key);
                struct eviction_value v = {};
                if (sig < 0) {
                        r = nl_error_set(err, -EINVAL, "%s: unsupported eviction signal %s", mwhat, st[i].key);
                        goto fail;
                }
                if (*st[i].value && st[i].value[strlen(st[i].value) - 1] == '%') {
                        if ((r = parse_percent(mwhat, st[i].key, st[i].value, &v.fraction, err)) < 0)
                                goto fail;
                        if (v.fraction <= 0) {
                                r = nl_error_set(err, -EINVAL, "%s: eviction percentage minimum reclaim %s must be "
                                                 "positive: %s", mwhat, st[i].key, st[i].value);
                                goto fail;
                        }
                        v.is_percent = true;
                } else {
                        if ((r = parse_quantity(mwhat, st[i].value, &v.quantity, err)) < 0)
                                goto fail;
                        if (pod_quantity_is_negative(&v.quantity)) {
                                r = nl_error_set(err, -EINVAL, "%s: negative eviction minimum reclaim specified "
                                                 "for %s", mwhat, st[i].key);
                                goto fail;
                        }
                }
                for (size_t k = 0; k < c.n_thresholds; k++)
                        if (c.thresholds[k].signal == sig) {
                                c.thresholds[k].has_min_reclaim = true;
                                c.thresholds[k].min_reclaim = v;
                        }
        }
        statements_free(st, n);
        *ret = c;
        return 0;
fail:
        statements_free(st, n);
        eviction_config_done(&c);
        return r;
}

void eviction_config_done(struct eviction_config *c) {
        free(c->thresholds);
        c->thresholds = NULL;
        c->n_thresholds = 0;
}

/* ---- threshold math ---------------------------------------------------------------------- */

int64_t eviction_value_quantity(const struct eviction_value *v, int64_t capacity) {
        if (v->is_percent)
                /* int64(float64(capacity) * float64(percentage)), as GetThresholdQuantity */
                return (int64_t) ((double) capacity * (double) (float) v->fraction);
        return pod_quantity_value(&v->quantity);
}

int64_t eviction_hard_reservation(const struct eviction_config *c, enum eviction_signal signal, int64_t capacity) {
        for (size_t i = 0; c && i < c->n_thresholds; i++)
                if (c->thresholds[i].signal == signal && c->thresholds[i].grace_period == 0)
                        return eviction_value_quantity(&c->thresholds[i].value, capacity);
        return 0;
}

bool eviction_threshold_met(const struct eviction_threshold *t, const struct eviction_observation obs[],
                            bool enforce_min_reclaim) {
        const struct eviction_observation *o = &obs[t->signal];
        if (!o->known)
                return false;
        int64_t q = eviction_value_quantity(&t->value, o->capacity);
        if (enforce_min_reclaim && t->has_min_reclaim)
                q += eviction_value_quantity(&t->min_reclaim, o->capacity);
        return q > o->available;
}

/* ---- ranking ----------------------------------------------------------------------------- */

static enum eviction_resource rank_resource;

static int cmp_bool(bool a, bool b) { /* true first */
        return a == b ? 0 : a ? -1 : 1;
}

static int cmp_i64_desc(int64_t a, int64_t b) {
        return a == b ? 0 : a > b ? -1 : 1;
}

static int rank_cmp(const void *pa, const void *pb) {
        const struct eviction_pod_stats *a = pa, *b = pb;
        int r;
        /* pods without stats go first (the kubelet cannot tell what they use) */
        if (!a->has_stats || !b->has_stats)
                return cmp_bool(!a->has_stats, !b->has_stats);
        if (rank_resource == RESOURCE_PIDS) {
                if (a->priority != b->priority)
                        return a->priority < b->priority ? -1 : 1;
                return cmp_i64_desc(a->processes, b->processes);
        }
        bool mem = rank_resource == RESOURCE_MEMORY;
        int64_t ua = mem ? a->memory_usage : rank_resource == RESOURCE_INODES ? a->inodes_usage : a->disk_usage;
        int64_t ub = mem ? b->memory_usage : rank_resource == RESOURCE_INODES ? b->inodes_usage : b->disk_usage;
        int64_t ra = mem ? a->memory_request : a->disk_request, rb = mem ? b->memory_request : b->disk_request;
        /* exceeds its request, then the lower priority, then the larger usage above request */
        if ((r = cmp_bool(ua > ra, ub > rb)) != 0)
                return r;
        if (a->priority != b->priority)
                return a->priority < b->priority ? -1 : 1;
        return cmp_i64_desc(ua - ra, ub - rb);
}

void eviction_rank(enum eviction_resource resource, struct eviction_pod_stats *pods, size_t n) {
        rank_resource = resource;
        /* stable, as sort.Sort is not but the kubelet's input order is arbitrary anyway: keep the
         * caller's order among equals so results are reproducible */
        for (size_t i = 1; i < n; i++) {
                struct eviction_pod_stats x = pods[i];
                size_t k = i;
                while (k > 0 && rank_cmp(&pods[k - 1], &x) > 0) {
                        pods[k] = pods[k - 1];
                        k--;
                }
                pods[k] = x;
        }
}

/* ---- messages ---------------------------------------------------------------------------- */

char *eviction_format_bytes(int64_t n) {
        pod_quantity q = { .set = true, .nano = (__int128) n * 1000000000, .format = QUANTITY_BINARY_SI };
        return pod_quantity_format(&q);
}

char *eviction_message(enum eviction_resource resource, bool threshold_known, int64_t threshold_quantity,
                       int64_t available, const struct eviction_container_usage *ctrs, size_t n) {
        const char *res = eviction_resource_to_string(resource);
        nl_buf b = {};
        nl_buf_printf(&b, "The node was low on resource: %s. ", res);
        if (threshold_known) {
                _cleanup_free_ char *q = eviction_format_bytes(threshold_quantity), *a = eviction_format_bytes(available);
                nl_buf_printf(&b, "Threshold quantity: %s, available: %s. ", strempty(q), strempty(a));
        }
        for (size_t i = 0; i < n; i++) {
                pod_quantity u = { .set = true, .nano = (__int128) ctrs[i].usage * 1000000000,
                                   .format = QUANTITY_BINARY_SI };
                if (pod_quantity_cmp(&u, &ctrs[i].request) <= 0)
                        continue;
                /* an absent request prints as Go's zero Quantity, "0" */
                pod_quantity zero = { .set = true, .format = QUANTITY_DECIMAL_SI };
                _cleanup_free_ char *us = pod_quantity_format(&u),
                                    *rq = pod_quantity_format(ctrs[i].request.set ? &ctrs[i].request : &zero);
                nl_buf_printf(&b, "Container %s was using %s, request is %s, has larger consumption of %s. ",
                              ctrs[i].name, strempty(us), strempty(rq), res);
        }
        return nl_buf_steal(&b);
}

char *eviction_message_empty_dir(const char *volume, const pod_quantity *limit) {
        _cleanup_free_ char *l = pod_quantity_format(limit);
        return nl_strdupf("Usage of EmptyDir volume \"%s\" exceeds the limit \"%s\". ", volume, strempty(l));
}

char *eviction_message_container_storage(const char *container, const pod_quantity *limit) {
        _cleanup_free_ char *l = pod_quantity_format(limit);
        return nl_strdupf("Container %s exceeded its local ephemeral storage limit \"%s\". ", container, strempty(l));
}

char *eviction_message_pod_storage(int64_t limit) {
        _cleanup_free_ char *l = eviction_format_bytes(limit);
        return nl_strdupf("Pod ephemeral local storage usage exceeds the total limit of containers %s. ", strempty(l));
}

bool eviction_pod_is_critical(const struct pod *pod, bool is_static) {
        if (is_static)
                return true;
        for (size_t i = 0; i < pod->metadata.n_annotations; i++)
                if (streq_ptr(pod->metadata.annotations[i].key, "kubernetes.io/config.mirror"))
                        return true;
        return pod->spec.priority.set && pod->spec.priority.v >= SYSTEM_CRITICAL_PRIORITY;
}

/* ToleratesTaint for the taint {key, value "", effect}. */
static bool tolerates(const struct pod *pod, const char *key, const char *effect) {
        for (size_t i = 0; i < pod->spec.n_tolerations; i++) {
                const struct pod_toleration *t = &pod->spec.tolerations[i];
                if (!isempty(t->effect) && !streq(t->effect, effect))
                        continue;
                bool exists = streq_ptr(t->operator_, "Exists");
                if (isempty(t->key) ? !exists : !streq(t->key, key))
                        continue;
                if (exists || isempty(t->value))
                        return true;
        }
        return false;
}

char *eviction_admit_message(const struct pod *pod, bool is_static, const bool pressure[_PRESSURE_MAX]) {
        static const char *const names[_PRESSURE_MAX] = { "MemoryPressure", "DiskPressure", "PIDPressure" };
        size_t n = 0;
        for (int p = 0; p < _PRESSURE_MAX; p++)
                n += pressure[p];
        if (n == 0 || eviction_pod_is_critical(pod, is_static))
                return NULL;
        /* memory pressure alone: only BestEffort pods that do not tolerate its taint wait */
        if (n == 1 && pressure[PRESSURE_MEMORY] &&
            (!streq(pod_qos_class(pod), "BestEffort") ||
             tolerates(pod, "node.kubernetes.io/memory-pressure", "NoSchedule")))
                return NULL;
        nl_buf b = {};
        nl_buf_puts(&b, "The node had condition: [");
        const char *sep = "";
        for (int p = 0; p < _PRESSURE_MAX; p++)
                if (pressure[p]) {
                        nl_buf_printf(&b, "%s%s", sep, names[p]);
                        sep = " ";
                }
        nl_buf_puts(&b, "]. ");
        return nl_buf_steal(&b);
}
