/* SPDX-License-Identifier: Apache-2.0 */
/* Host ID ranges for pods with hostUsers: false, as the kubelet's user namespace manager
 * (pkg/kubelet/userns): the node's range is the subordinate IDs of a user named "kubelet"
 * (/etc/subuid and /etc/subgid, the same range in both), else every ID from 65536 up; each pod
 * gets idsPerPod (65536) of them, never range 0, kept in <root>/pods/<uid>/userns
 * ({"uidMappings": [{"hostId", "containerId", "length"}], "gidMappings": [...]}) so a restart
 * of the daemon gives a running pod the same IDs, and freed when the pod's dir goes. All on
 * the loop: two sandboxes forked at once cannot take the same range. */
#include <dirent.h>
#include <stdio.h>

#include "common/fs.h"
#include "manager.h"
#include "cri/layout.h"

#define USERNS_FILE_MAX 4096
#define DEFAULT_FIRST_ID (1ULL << 16)
#define DEFAULT_LENGTH ((1ULL << 32) - DEFAULT_FIRST_ID)

/* "kubelet:<start>:<count>" in an /etc/sub[ug]id file; -ENOENT when absent. */
static int subid_range(const char *path, uint64_t *ret_start, uint64_t *ret_count) {
        _cleanup_free_ char *text = NULL;
        if (nl_read_file(path, 1024 * 1024, false, &text, NULL) < 0)
                return -ENOENT;
        for (char *save = NULL, *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char name[64];
                unsigned long long start, count;
                if (sscanf(line, "%63[^:]:%llu:%llu", name, &start, &count) == 3 && streq(name, "kubelet")) {
                        *ret_start = start;
                        *ret_count = count;
                        return 0;
                }
        }
        return -ENOENT;
}

int userns_manager_init(struct manager *m, nl_error *err) {
        struct userns_alloc *a = &m->userns;
        uint64_t per = m->cfg->userns_ids_per_pod ? m->cfg->userns_ids_per_pod : 65536;
        uint64_t first = DEFAULT_FIRST_ID, length = DEFAULT_LENGTH, gfirst, glength;
        if (subid_range("/etc/subuid", &first, &length) == 0) {
                if (subid_range("/etc/subgid", &gfirst, &glength) < 0 || gfirst != first || glength != length)
                        return nl_error_set(err, -EINVAL, "user namespaces: the \"kubelet\" ranges of /etc/subuid and "
                                                          "/etc/subgid must be the same");
        }
        /* the kubelet's checks of its mappings */
        if (first % per != 0 || first < per)
                return nl_error_set(err, -EINVAL, "user namespaces: the node's first ID %llu must be a multiple of "
                                    "idsPerPod %llu, and not 0", (unsigned long long) first, (unsigned long long) per);
        if (length % per != 0 || length / per < (uint64_t) m->cfg->max_pods)
                return nl_error_set(err, -EINVAL, "user namespaces: the node's %llu IDs are not enough for %d pods of %llu",
                                    (unsigned long long) length, m->cfg->max_pods, (unsigned long long) per);
        a->first = first;
        a->per_pod = per;
        a->n_slots = length / per;
        a->used = calloc((a->n_slots + 7) / 8, 1);
        if (!a->used)
                return -ENOMEM;
        return 0;
}

void userns_manager_done(struct userns_alloc *a) {
        free(a->used);
        a->used = NULL;
}

static bool slot_used(const struct userns_alloc *a, uint64_t i) {
        return a->used[i / 8] & (1u << (i % 8));
}

static void slot_set(struct userns_alloc *a, uint64_t i, bool on) {
        if (on)
                a->used[i / 8] |= (uint8_t) (1u << (i % 8));
        else
                a->used[i / 8] &= (uint8_t) ~(1u << (i % 8));
}

static char *mapping_path(const struct manager *m, const char *uid) {
        return layout_pod_file(m->cri.root_dir, uid, LAYOUT_USERNS);
}

/* The pod's file: 0 and its mapping, -ENOENT when it has none, -EBADMSG when it is not one we
 * would have written (the kubelet's checks: one mapping, the same for users and groups, from
 * container ID 0). */
static int mapping_read(const struct manager *m, const char *uid, struct cri_userns *ret) {
        _cleanup_free_ char *path = mapping_path(m, uid), *text = NULL;
        size_t len = 0;
        if (!path)
                return -ENOMEM;
        int r = nl_read_file(path, USERNS_FILE_MAX, true, &text, &len);
        if (r < 0)
                return r == -ENOENT ? -ENOENT : r;
        json_t *j = json_loadb(text, len, 0, NULL);
        json_t *u = json_object_get(j, "uidMappings"), *g = json_object_get(j, "gidMappings");
        r = -EBADMSG;
        if (json_array_size(u) == 1 && json_array_size(g) == 1 && json_equal(json_array_get(u, 0), json_array_get(g, 0))) {
                json_t *e = json_array_get(u, 0);
                json_int_t host = json_integer_value(json_object_get(e, "hostId")),
                           cont = json_integer_value(json_object_get(e, "containerId")),
                           n = json_integer_value(json_object_get(e, "length"));
                if (json_is_integer(json_object_get(e, "containerId")) && cont == 0 && host > 0 && host <= UINT32_MAX &&
                    n > 0 && n <= UINT32_MAX) {
                        *ret = (struct cri_userns){ (uint32_t) host, (uint32_t) n };
                        r = 0;
                }
        }
        json_decref(j);
        return r;
}

/* Mark the pod's range used; -EEXIST when another pod has it, -ERANGE when it is not one of
 * the node's slots. */
static int record(struct userns_alloc *a, const struct cri_userns *u) {
        if (u->size != a->per_pod || u->host_id % a->per_pod != 0 || u->host_id < a->first)
                return -ERANGE;
        uint64_t i = (u->host_id - a->first) / a->per_pod;
        if (i >= a->n_slots)
                return -ERANGE;
        if (slot_used(a, i))
                return -EEXIST;
        slot_set(a, i, true);
        return 0;
}

void userns_manager_scan(struct manager *m) {
        _cleanup_free_ char *dir = layout_pods_dir(m->cri.root_dir);
        DIR *d = dir && m->userns.used ? opendir(dir) : NULL;
        if (!d)
                return;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                struct cri_userns u;
                int r = mapping_read(m, de->d_name, &u);
                if (r == -ENOENT)
                        continue;
                if (r >= 0)
                        r = record(&m->userns, &u);
                if (r < 0)
                        log_warning("pod %s: its user namespace mapping cannot be kept (%s); the pod gets a new one",
                                    de->d_name, r == -EEXIST ? "another pod has it" : "not one of this node's ranges");
        }
        closedir(d);
}

int userns_pod_mapping(struct manager *m, const struct pod *pod, struct cri_userns *ret, char **ret_error) {
        const char *uid = strempty(pod->metadata.uid);
        struct userns_alloc *a = &m->userns;
        *ret = (struct cri_userns){};
        if (!(pod->spec.host_users.set && !pod->spec.host_users.v))
                return 0;
        if (!m->runtime.userns_supported || !a->used) {
                /* the kubelet's words, with why */
                *ret_error = nl_strdupf("can't set `spec.hostUsers: false`, runtime does not support user namespaces: %s",
                                        strempty(m->runtime.userns_error));
                return -EOPNOTSUPP;
        }
        struct cri_userns u;
        int r = mapping_read(m, uid, &u);
        if (r >= 0) {
                uint64_t i = (u.host_id - a->first) / a->per_pod;
                /* recorded at start, or a moment ago by this pod */
                if (u.size == a->per_pod && u.host_id % a->per_pod == 0 && u.host_id >= a->first && i < a->n_slots &&
                    slot_used(a, i)) {
                        *ret = u;
                        return 0;
                }
        }
        /* a new range: the first free slot */
        uint64_t i = 0;
        while (i < a->n_slots && slot_used(a, i))
                i++;
        if (i == a->n_slots) {
                *ret_error = strdup("user namespace: could not find an empty slot to allocate a user namespace");
                return -ENOSPC;
        }
        u = (struct cri_userns){ (uint32_t) (a->first + i * a->per_pod), (uint32_t) a->per_pod };
        _cleanup_free_ char *path = mapping_path(m, uid), *dir = layout_pod_dir(m->cri.root_dir, uid);
        json_t *e = json_pack("{s:I, s:i, s:I}", "hostId", (json_int_t) u.host_id, "containerId", 0, "length",
                              (json_int_t) u.size);
        json_t *j = e ? json_pack("{s:[O], s:[O]}", "uidMappings", e, "gidMappings", e) : NULL;
        _cleanup_free_ char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(e);
        json_decref(j);
        if (!path || !dir || !text)
                return -ENOMEM;
        (void) nl_mkdir_p(dir, 0700);
        r = nl_write_file_atomic(path, text, strlen(text), 0600);
        if (r < 0) {
                *ret_error = nl_strdupf("create user namespace: write %s: %s", path, strerror(-r));
                return r;
        }
        slot_set(a, i, true);
        *ret = u;
        return 0;
}

void userns_pod_release(struct manager *m, const char *uid) {
        struct userns_alloc *a = &m->userns;
        struct cri_userns u;
        if (!a->used || mapping_read(m, uid, &u) < 0)
                return;
        if (u.size == a->per_pod && u.host_id % a->per_pod == 0 && u.host_id >= a->first) {
                uint64_t i = (u.host_id - a->first) / a->per_pod;
                if (i < a->n_slots)
                        slot_set(a, i, false);
        }
        _cleanup_free_ char *path = mapping_path(m, uid);
        if (path)
                (void) unlink(path);
}
