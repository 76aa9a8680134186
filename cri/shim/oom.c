/* SPDX-License-Identifier: Apache-2.0 */
/* How many times the kernel's OOM killer killed a process in the container's cgroup. The
 * shim reads it when the container is created and when its init exits: a rise means the
 * container was OOM killed (as containerd's CRI plugin reports reason "OOMKilled" when it saw
 * an OOM event for the container, whatever the exit code). cgroup v1 memory.oom_control and
 * v2 memory.events both carry "oom_kill N" (v1 since Linux 4.13). On a hybrid node the
 * memory controller is on v1, so a v1 memory hierarchy wins over the unified one. */
#include <stdio.h>

#include "common/fs.h"
#include "common/mountinfo.h"
#include "shim.h"

static bool has_option(const char *opts, const char *opt) {
        size_t n = strlen(opt);
        for (const char *p = opts; p && *p;) {
                const char *comma = strchr(p, ',');
                size_t len = comma ? (size_t) (comma - p) : strlen(p);
                if (len == n && strncmp(p, opt, n) == 0)
                        return true;
                p = comma ? comma + 1 : NULL;
        }
        return false;
}

/* The directory of cgroup in the memory hierarchy, and whether it is v1. */
static int memory_cgroup_dir(const char *cgroup, char **ret, bool *ret_v1) {
        _cleanup_free_ char *mi = NULL, *v1_root = NULL, *v1_mnt = NULL, *v2_root = NULL, *v2_mnt = NULL;
        int r = mountinfo_read(&mi);
        if (r < 0)
                return r;
        char *save = NULL;
        for (char *line = strtok_r(mi, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                struct mountinfo_entry e;
                if (mountinfo_parse_line(line, &e) < 0)
                        continue;
                if (streq(e.fstype, "cgroup") && e.super_options && has_option(e.super_options, "memory") &&
                    !v1_mnt) {
                        v1_root = strdup(e.root);
                        v1_mnt = strdup(e.mount_point);
                } else if (streq(e.fstype, "cgroup2") && !v2_mnt) {
                        v2_root = strdup(e.root);
                        v2_mnt = strdup(e.mount_point);
                }
        }

        bool v1 = v1_mnt && v1_root;
        char *root = v1 ? v1_root : v2_root, *mnt = v1 ? v1_mnt : v2_mnt;
        if (!mnt || !root)
                return -ENOENT;
        /* inside a cgroup namespace or a bind-mounted subtree, paths are relative to root */
        const char *rel = cgroup;
        size_t rl = strlen(root);
        if (!streq(root, "/") && strncmp(cgroup, root, rl) == 0 && (cgroup[rl] == '/' || cgroup[rl] == '\0'))
                rel = cgroup + rl;
        while (*rel == '/')
                rel++;
        char *dir = nl_strdupf("%s/%s", mnt, rel);
        if (!dir)
                return -ENOMEM;
        *ret = dir;
        *ret_v1 = v1;
        return 0;
}

int cgroup_oom_kills(const char *cgroup, uint64_t *ret) {
        _cleanup_free_ char *dir = NULL, *path = NULL, *text = NULL;
        bool v1 = false;
        if (isempty(cgroup) || strstr(cgroup, ".."))
                return -EINVAL;
        int r = memory_cgroup_dir(cgroup, &dir, &v1);
        if (r < 0)
                return r;
        path = nl_strdupf("%s/%s", dir, v1 ? "memory.oom_control" : "memory.events");
        if (!path)
                return -ENOMEM;
        r = nl_read_file(path, 4096, true, &text, NULL);
        if (r < 0)
                return r;
        for (char *p = text; p && *p;) {
                char *nl = strchr(p, '\n');
                if (nl)
                        *nl = '\0';
                if (strncmp(p, "oom_kill ", 9) == 0) {
                        int64_t v;
                        r = nl_parse_int64(p + 9, 0, INT64_MAX, &v);
                        if (r < 0)
                                return r;
                        *ret = (uint64_t) v;
                        return 0;
                }
                p = nl ? nl + 1 : NULL;
        }
        return -ENODATA;
}
