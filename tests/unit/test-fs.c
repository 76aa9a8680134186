/* SPDX-License-Identifier: Apache-2.0 */
/* common/fs.c: rm -rf stops at mount points, bind mounts of the same file system included. */
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "common/fs.h"
#include "test.h"

static int write_text(const char *path, const char *text) {
        return nl_write_file_atomic(path, text, strlen(text), 0644);
}

TEST(rm_rf_removes_a_tree) {
        char dir[] = "/tmp/test-fs-XXXXXX", p[128];
        CHECK(mkdtemp(dir) != NULL);
        snprintf(p, sizeof(p), "%s/a/b/c", dir);
        CHECK_INT_EQ(nl_mkdir_p(p, 0755), 0);
        snprintf(p, sizeof(p), "%s/a/b/c/f", dir);
        CHECK_INT_EQ(write_text(p, "x"), 0);
        snprintf(p, sizeof(p), "%s/a/link", dir);
        CHECK_INT_EQ(symlink("/etc", p), 0); /* removed, not followed */
        CHECK_INT_EQ(nl_rm_rf(dir), 0);
        CHECK(access(dir, F_OK) < 0);
        CHECK(access("/etc/passwd", F_OK) == 0);
}

/* A bind mount of a directory of the same file system (a volume or an image layer left
 * mounted under a pod's or container's dir) has the same st_dev: only the mount-root attribute
 * tells. rm -rf must leave what is behind it alone. */
TEST(rm_rf_stops_at_a_bind_mount) {
        if (geteuid() != 0) {
                fprintf(stderr, "  skip: bind mounts need root\n");
                return;
        }
        char dir[] = "/tmp/test-fs-XXXXXX", src[64], mnt[64], keep[96];
        CHECK(mkdtemp(dir) != NULL);
        snprintf(src, sizeof(src), "%s/source", dir);
        snprintf(mnt, sizeof(mnt), "%s/tree/sub/mnt", dir);
        snprintf(keep, sizeof(keep), "%s/precious", src);
        CHECK_INT_EQ(nl_mkdir_p(src, 0755), 0);
        CHECK_INT_EQ(nl_mkdir_p(mnt, 0755), 0);
        CHECK_INT_EQ(write_text(keep, "data"), 0);
        CHECK_INT_EQ(mount(src, mnt, NULL, MS_BIND, NULL), 0);
        char tree[128];
        snprintf(tree, sizeof(tree), "%s/tree", dir);
        CHECK_INT_EQ(nl_rm_rf(tree), -EBUSY);
        CHECK(access(keep, F_OK) == 0);
        CHECK_INT_EQ(umount2(mnt, MNT_DETACH), 0);
        CHECK_INT_EQ(nl_rm_rf(dir), 0);
}
