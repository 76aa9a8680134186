/* SPDX-License-Identifier: Apache-2.0 */
/* cri/cgroup.c for in-place resize, on fake cgroup trees in a temporary directory (no root):
 * the pod cgroup's values read back, and a resize's writes in v1 and v2 files, a memory limit
 * taken away included. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "common/fs.h"
#include "cri/cgroup.h"
#include "test.h"

#define POD "/kubepods/burstable/podu1"

static void put(const char *dir, const char *file, const char *value) {
        _cleanup_free_ char *p = nl_strdupf("%s/%s", dir, file);
        FILE *f = p ? fopen(p, "we") : NULL;
        if (!f) {
                TEST_FAIL("cannot write %s", strempty(p));
                return;
        }
        fputs(value, f);
        fclose(f);
}

/* regular files keep old bytes past a shorter write (cgroup files do not): empty them first */
static void clear(const char *dir, const char *const *files) {
        for (size_t i = 0; files[i]; i++)
                put(dir, files[i], "");
}

static char *get(const char *dir, const char *file) {
        _cleanup_free_ char *p = nl_strdupf("%s/%s", dir, file);
        char *v = NULL;
        if (!p || nl_read_file(p, 4096, false, &v, NULL) < 0)
                return strdup("?");
        v[strcspn(v, "\n")] = '\0';
        return v;
}

TEST(cgroup_resize_v1) {
        char tmpl[] = "/tmp/nodelet-test-cgroup-XXXXXX";
        char *root = mkdtemp(tmpl);
        CHECK(root != NULL);
        if (!root)
                return;
        _cleanup_free_ char *cpu = nl_strdupf("%s/cpu%s", root, POD), *mem = nl_strdupf("%s/memory%s", root, POD);
        _cleanup_free_ char *mi = nl_strdupf("1 0 0:1 / %s/cpu rw - cgroup cgroup rw,cpu,cpuacct\n"
                                             "2 0 0:2 / %s/memory rw - cgroup cgroup rw,memory\n",
                                             root, root);
        CHECK_INT_EQ(nl_mkdir_p(cpu, 0755), 0);
        CHECK_INT_EQ(nl_mkdir_p(mem, 0755), 0);
        put(cpu, "cpu.shares", "102\n");
        put(cpu, "cpu.cfs_period_us", "100000\n");
        put(cpu, "cpu.cfs_quota_us", "30000\n");
        put(mem, "memory.limit_in_bytes", "9223372036854771712\n"); /* none */
        struct cgroup_layout *l = NULL;
        CHECK_INT_EQ(cgroup_layout_parse(mi, NULL, &l, NULL), 0);
        if (!l)
                return;
        struct cgroup_pod_resources cur = {};
        CHECK_INT_EQ(cgroup_pod_read(l, POD, &cur), 0);
        CHECK_INT_EQ(cur.cpu_shares, 102);
        CHECK_INT_EQ(cur.cpu_quota, 30000);
        CHECK_INT_EQ(cur.cpu_period, 100000);
        CHECK_INT_EQ(cur.memory_limit, 0); /* v1's "unlimited" reads as none */

        struct cgroup_pod_resources want = { .cpu_shares = 409, .cpu_quota = 50000, .cpu_period = 100000,
                                             .memory_limit = 128 << 20 };
        const char *cpu_files[] = { "cpu.shares", "cpu.cfs_period_us", "cpu.cfs_quota_us", NULL };
        const char *mem_files[] = { "memory.limit_in_bytes", NULL };
        clear(cpu, cpu_files);
        clear(mem, mem_files);
        CHECK_INT_EQ(cgroup_pod_update(l, POD, &want, NULL), 0);
        _cleanup_free_ char *shares = get(cpu, "cpu.shares"), *quota = get(cpu, "cpu.cfs_quota_us"),
                            *limit = get(mem, "memory.limit_in_bytes");
        CHECK_STR_EQ(shares, "409");
        CHECK_STR_EQ(quota, "50000");
        CHECK_STR_EQ(limit, "134217728");
        /* limits taken away: -1, as a new cgroup has */
        want.cpu_quota = 0;
        want.memory_limit = 0;
        clear(cpu, cpu_files);
        clear(mem, mem_files);
        CHECK_INT_EQ(cgroup_pod_update(l, POD, &want, NULL), 0);
        _cleanup_free_ char *quota2 = get(cpu, "cpu.cfs_quota_us"), *limit2 = get(mem, "memory.limit_in_bytes");
        CHECK_STR_EQ(quota2, "-1");
        CHECK_STR_EQ(limit2, "-1");
        /* a bad path is refused, naming it */
        nl_error err = NL_ERROR_INIT;
        CHECK_INT_EQ(cgroup_pod_update(l, "/kubepods/../x", &want, &err), -EINVAL);
        CHECK(err.msg && strstr(err.msg, "/kubepods/../x"));
        nl_error_clear(&err);
        cgroup_layout_free(l);
        (void) nl_rm_rf(root);
}

TEST(cgroup_resize_v2) {
        char tmpl[] = "/tmp/nodelet-test-cgroup-XXXXXX";
        char *root = mkdtemp(tmpl);
        CHECK(root != NULL);
        if (!root)
                return;
        _cleanup_free_ char *dir = nl_strdupf("%s%s", root, POD);
        _cleanup_free_ char *mi = nl_strdupf("1 0 0:1 / %s rw - cgroup2 cgroup2 rw\n", root);
        CHECK_INT_EQ(nl_mkdir_p(dir, 0755), 0);
        put(dir, "cgroup.controllers", "cpu memory pids\n");
        put(dir, "cpu.weight", "4\n");
        put(dir, "cpu.max", "max 100000\n");
        put(dir, "memory.max", "67108864\n");
        struct cgroup_layout *l = NULL;
        CHECK_INT_EQ(cgroup_layout_parse(mi, "cpu memory pids", &l, NULL), 0);
        if (!l)
                return;
        struct cgroup_pod_resources cur = {};
        CHECK_INT_EQ(cgroup_pod_read(l, POD, &cur), 0);
        CHECK_INT_EQ(cur.cpu_quota, 0); /* "max" */
        CHECK_INT_EQ(cur.memory_limit, 67108864);
        CHECK(cur.cpu_shares >= 80 && cur.cpu_shares <= 110); /* weight 4 is about 102 shares */
        struct cgroup_pod_resources want = { .cpu_shares = 409, .cpu_quota = 50000, .cpu_period = 100000 };
        const char *files[] = { "cpu.weight", "cpu.max", "memory.max", NULL };
        clear(dir, files);
        CHECK_INT_EQ(cgroup_pod_update(l, POD, &want, NULL), 0);
        _cleanup_free_ char *max = get(dir, "cpu.max"), *mem = get(dir, "memory.max");
        CHECK_STR_EQ(max, "50000 100000");
        CHECK_STR_EQ(mem, "max");
        cgroup_layout_free(l);
        (void) nl_rm_rf(root);
}
