/* SPDX-License-Identifier: Apache-2.0 */
/* The atomic writer of projected volumes: payload layout ("..data" -> "..<timestamp>",
 * user-visible links), modes, nested paths, updates, the unchanged-payload no-op, removal of
 * names that left the payload, path validation, fsGroup, and that a reader never sees a
 * half-updated volume. */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "cri/volume-internal.h"
#include "test.h"

static char *tmpdir(void) {
        char tmpl[] = "/tmp/test-aw-XXXXXX";
        char *d = mkdtemp(tmpl);
        return d ? strdup(d) : NULL;
}

static void rmrf(const char *path) {
        _cleanup_free_ char *copy = strdup(path);
        char *slash = strrchr(copy, '/');
        *slash = 0;
        int fd = open(*copy ? copy : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0) {
                fs_remove_tree(fd, slash + 1);
                close(fd);
        }
}

static char *read_at(const char *dir, const char *name) {
        _cleanup_free_ char *p = nl_strdupf("%s/%s", dir, name);
        FILE *f = fopen(p, "re");
        if (!f)
                return NULL;
        char buf[8192];
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = 0;
        return strdup(buf);
}

static char *link_at(const char *dir, const char *name) {
        _cleanup_free_ char *p = nl_strdupf("%s/%s", dir, name);
        char buf[512];
        ssize_t n = readlink(p, buf, sizeof(buf) - 1);
        if (n < 0)
                return NULL;
        buf[n] = 0;
        return strdup(buf);
}

static mode_t mode_at(const char *dir, const char *name) {
        _cleanup_free_ char *p = nl_strdupf("%s/%s", dir, name);
        struct stat st;
        return stat(p, &st) < 0 ? (mode_t) -1 : st.st_mode & 07777;
}

static bool exists_at(const char *dir, const char *name) {
        _cleanup_free_ char *p = nl_strdupf("%s/%s", dir, name);
        struct stat st;
        return lstat(p, &st) == 0;
}

/* hidden "..<timestamp>" dirs in dir */
static int count_ts_dirs(const char *dir) {
        DIR *d = opendir(dir);
        int n = 0;
        struct dirent *de;
        while (d && (de = readdir(d)))
                if (strncmp(de->d_name, "..", 2) == 0 && de->d_name[2] && !streq(de->d_name, "..data"))
                        n++;
        if (d)
                closedir(d);
        return n;
}

static int add(struct aw_payload *p, const char *path, const char *data, mode_t mode) {
        nl_error e = NL_ERROR_INIT;
        int r = aw_payload_add(p, path, data, strlen(data), mode, &e);
        nl_error_clear(&e);
        return r;
}

static int write_payload(const char *dir, const struct aw_payload *p, int64_t gid) {
        nl_error e = NL_ERROR_INIT;
        int r = atomic_writer_write(dir, p, gid, &e);
        if (r < 0)
                fprintf(stderr, "  atomic_writer_write: %s\n", e.msg ? e.msg : "(no message)");
        nl_error_clear(&e);
        return r;
}

TEST(layout_and_content) {
        _cleanup_free_ char *d = tmpdir();
        _cleanup_(aw_payload_done) struct aw_payload p = {};
        CHECK_INT_EQ(add(&p, "podName", "web-1", 0644), 0);
        CHECK_INT_EQ(add(&p, "labels", "app=\"web\"", 0644), 0);
        CHECK_INT_EQ(write_payload(d, &p, -1), 1);

        _cleanup_free_ char *data = link_at(d, "..data");
        CHECK(data && strncmp(data, "..", 2) == 0 && strlen(data) > 22); /* ..YYYY_MM_DD_HH_MM_SS.N */
        _cleanup_free_ char *l1 = link_at(d, "podName");
        CHECK_STR_EQ(l1, "..data/podName");
        _cleanup_free_ char *c1 = read_at(d, "podName");
        CHECK_STR_EQ(c1, "web-1");
        _cleanup_free_ char *c2 = read_at(d, "labels");
        CHECK_STR_EQ(c2, "app=\"web\"");
        CHECK_INT_EQ(mode_at(d, data), 0755);
        CHECK(!exists_at(d, "..data_tmp"));
        CHECK_INT_EQ(count_ts_dirs(d), 1);
        rmrf(d);
}

TEST(unchanged_payload_is_a_no_op) {
        _cleanup_free_ char *d = tmpdir();
        _cleanup_(aw_payload_done) struct aw_payload p = {};
        add(&p, "a", "one", 0644);
        add(&p, "b", "two", 0600);
        CHECK_INT_EQ(write_payload(d, &p, -1), 1);
        _cleanup_free_ char *before = link_at(d, "..data");
        CHECK_INT_EQ(write_payload(d, &p, -1), 0);
        _cleanup_free_ char *after = link_at(d, "..data");
        CHECK_STR_EQ(after, before);
        CHECK_INT_EQ(count_ts_dirs(d), 1);

        /* a lost user-visible link comes back without a rewrite (kubernetes#121472) */
        _cleanup_free_ char *a = nl_strdupf("%s/a", d);
        unlink(a);
        CHECK_INT_EQ(write_payload(d, &p, -1), 0);
        _cleanup_free_ char *l = link_at(d, "a");
        CHECK_STR_EQ(l, "..data/a");
        rmrf(d);
}

TEST(update_swaps_and_removes_old_version) {
        _cleanup_free_ char *d = tmpdir();
        _cleanup_(aw_payload_done) struct aw_payload p = {};
        add(&p, "a", "one", 0644);
        CHECK_INT_EQ(write_payload(d, &p, -1), 1);
        _cleanup_free_ char *old = link_at(d, "..data");

        add(&p, "a", "uno", 0644); /* replaces, as a map would */
        CHECK_INT_EQ(p.n, 1);
        CHECK_INT_EQ(write_payload(d, &p, -1), 1);
        _cleanup_free_ char *now = link_at(d, "..data");
        CHECK(now && old && !streq(now, old));
        CHECK(!exists_at(d, old));
        _cleanup_free_ char *c = read_at(d, "a");
        CHECK_STR_EQ(c, "uno");
        CHECK_INT_EQ(count_ts_dirs(d), 1);

        /* a mode change alone is an update too */
        add(&p, "a", "uno", 0600);
        CHECK_INT_EQ(write_payload(d, &p, -1), 1);
        CHECK_INT_EQ(mode_at(d, "a"), 0600);
        rmrf(d);
}

TEST(modes_ignore_umask) {
        _cleanup_free_ char *d = tmpdir();
        mode_t old = umask(077);
        _cleanup_(aw_payload_done) struct aw_payload p = {};
        add(&p, "r", "x", 0400);
        add(&p, "rw", "x", 0644);
        add(&p, "x", "x", 0755);
        add(&p, "all", "x", 0777);
        CHECK_INT_EQ(write_payload(d, &p, -1), 1);
        umask(old);
        CHECK_INT_EQ(mode_at(d, "r"), 0400);
        CHECK_INT_EQ(mode_at(d, "rw"), 0644);
        CHECK_INT_EQ(mode_at(d, "x"), 0755);
        CHECK_INT_EQ(mode_at(d, "all"), 0777);
        _cleanup_free_ char *data = link_at(d, "..data");
        CHECK_INT_EQ(mode_at(d, data), 0755);
        rmrf(d);
}

TEST(nested_paths_link_only_the_top_directory) {
        _cleanup_free_ char *d = tmpdir();
        _cleanup_(aw_payload_done) struct aw_payload p = {};
        add(&p, "conf/app/settings.yaml", "k: v", 0644);
        add(&p, "conf/other", "o", 0644);
        add(&p, "./top//file", "t", 0644); /* cleaned to top/file */
        CHECK_INT_EQ(write_payload(d, &p, -1), 1);
        _cleanup_free_ char *l = link_at(d, "conf");
        CHECK_STR_EQ(l, "..data/conf");
        _cleanup_free_ char *t = link_at(d, "top");
        CHECK_STR_EQ(t, "..data/top");
        _cleanup_free_ char *c = read_at(d, "conf/app/settings.yaml");
        CHECK_STR_EQ(c, "k: v");
        _cleanup_free_ char *c2 = read_at(d, "top/file");
        CHECK_STR_EQ(c2, "t");
        /* the intermediate directories are real directories inside the data dir */
        struct stat st;
        _cleanup_free_ char *sub = nl_strdupf("%s/conf/app", d);
        CHECK(lstat(sub, &st) == 0 && S_ISDIR(st.st_mode));
        CHECK(!exists_at(d, "app"));
        rmrf(d);
}

TEST(names_that_left_the_payload_are_removed) {
        _cleanup_free_ char *d = tmpdir();
        _cleanup_(aw_payload_done) struct aw_payload p1 = {}, p2 = {};
        add(&p1, "a", "1", 0644);
        add(&p1, "b", "2", 0644);
        add(&p1, "dir/x", "x", 0644);
        add(&p1, "dir/y", "y", 0644);
        add(&p1, "gone/z", "z", 0644);
        CHECK_INT_EQ(write_payload(d, &p1, -1), 1);

        add(&p2, "a", "1", 0644);
        add(&p2, "dir/x", "x", 0644);
        /* same content for what stays: the removals alone force a new version */
        CHECK_INT_EQ(write_payload(d, &p2, -1), 1);
        CHECK(exists_at(d, "a"));
        CHECK(!exists_at(d, "b"));
        CHECK(!exists_at(d, "gone"));
        CHECK(exists_at(d, "dir/x"));
        CHECK(!exists_at(d, "dir/y"));
        CHECK_INT_EQ(count_ts_dirs(d), 1);
        rmrf(d);
}

TEST(invalid_paths) {
        _cleanup_(aw_payload_done) struct aw_payload p = {};
        nl_error e = NL_ERROR_INIT;
        CHECK_INT_EQ(aw_payload_add(&p, "", "x", 1, 0644, &e), -EINVAL);
        CHECK(e.msg && strstr(e.msg, "must not be empty"));
        CHECK_INT_EQ(aw_payload_add(&p, "/etc/passwd", "x", 1, 0644, &e), -EINVAL);
        CHECK_STR_EQ(e.msg, "invalid path: must be relative path: /etc/passwd");
        CHECK_INT_EQ(aw_payload_add(&p, "a/../../b", "x", 1, 0644, &e), -EINVAL);
        CHECK_STR_EQ(e.msg, "invalid path: must not contain '..': a/../../b");
        CHECK_INT_EQ(aw_payload_add(&p, "..", "x", 1, 0644, &e), -EINVAL);
        CHECK_INT_EQ(aw_payload_add(&p, "..data", "x", 1, 0644, &e), -EINVAL);
        CHECK_STR_EQ(e.msg, "invalid path: must not start with '..': ..data");
        CHECK_INT_EQ(aw_payload_add(&p, "./..data", "x", 1, 0644, &e), -EINVAL);
        CHECK_INT_EQ(aw_payload_add(&p, ".", "x", 1, 0644, &e), -EINVAL);
        char longname[300];
        memset(longname, 'a', sizeof(longname) - 1);
        longname[sizeof(longname) - 1] = 0;
        CHECK_INT_EQ(aw_payload_add(&p, longname, "x", 1, 0644, &e), -EINVAL);
        CHECK_STR_EQ(e.msg, "invalid path: filenames must be less than or equal to 255 characters");
        /* hidden names and ".." inside a name are fine */
        CHECK_INT_EQ(aw_payload_add(&p, ".hidden", "x", 1, 0644, &e), 0);
        CHECK_INT_EQ(aw_payload_add(&p, "a..b/c", "x", 1, 0644, &e), 0);
        CHECK_INT_EQ(p.n, 2);
        nl_error_clear(&e);
}

TEST(size_caps) {
        _cleanup_(aw_payload_done) struct aw_payload p = {};
        nl_error e = NL_ERROR_INIT;
        size_t big = VOLUME_MAX_PAYLOAD_BYTES / 2 + 1;
        char *buf = calloc(1, big);
        CHECK_INT_EQ(aw_payload_add(&p, "one", buf, big, 0644, &e), 0);
        CHECK_INT_EQ(aw_payload_add(&p, "two", buf, big, 0644, &e), -E2BIG);
        free(buf);
        nl_error_clear(&e);
}

TEST(fs_group_ownership) {
        if (geteuid() != 0) {
                fprintf(stderr, "  not root, skipping the fsGroup checks\n");
                return;
        }
        _cleanup_free_ char *d = tmpdir();
        _cleanup_(aw_payload_done) struct aw_payload p = {};
        add(&p, "secret", "s", 0400);
        add(&p, "nested/f", "n", 0600);
        CHECK_INT_EQ(write_payload(d, &p, 4321), 1);
        _cleanup_free_ char *f = nl_strdupf("%s/secret", d);
        struct stat st;
        CHECK(stat(f, &st) == 0 && st.st_gid == 4321 && (st.st_mode & 07777) == 0440);
        _cleanup_free_ char *n = nl_strdupf("%s/nested/f", d);
        CHECK(stat(n, &st) == 0 && st.st_gid == 4321 && (st.st_mode & 07777) == 0640);
        _cleanup_free_ char *nd = nl_strdupf("%s/nested", d);
        CHECK(stat(nd, &st) == 0 && st.st_gid == 4321 && (st.st_mode & 07777) == (02755));
        CHECK(stat(d, &st) == 0 && st.st_gid == 4321 && (st.st_mode & S_ISGID));
        /* the link itself was lchown'ed, its target's mode left alone */
        CHECK(lstat(f, &st) == 0 && S_ISLNK(st.st_mode) && st.st_gid == 4321);
        rmrf(d);
}

TEST(leftovers_of_an_interrupted_write_are_cleaned) {
        _cleanup_free_ char *d = tmpdir();
        _cleanup_(aw_payload_done) struct aw_payload p = {};
        add(&p, "a", "1", 0644);
        CHECK_INT_EQ(write_payload(d, &p, -1), 1);
        _cleanup_free_ char *orphan = nl_strdupf("%s/..2001_01_01_00_00_00.123", d);
        _cleanup_free_ char *tmp = nl_strdupf("%s/..data_tmp", d);
        CHECK(mkdir(orphan, 0755) == 0);
        CHECK(symlink("..2001_01_01_00_00_00.123", tmp) == 0);
        add(&p, "a", "2", 0644);
        CHECK_INT_EQ(write_payload(d, &p, -1), 1);
        CHECK(!exists_at(d, "..2001_01_01_00_00_00.123"));
        CHECK(!exists_at(d, "..data_tmp"));
        CHECK_INT_EQ(count_ts_dirs(d), 1);
        rmrf(d);
}

/* A reader in another process opens and reads the file in a loop while the writer flips the
 * payload between two versions of different lengths: every read sees one whole version, never
 * a mix or a partial file. As upstream, a reader whose path walk went through "..data" just
 * before the swap may find the old directory already gone (ENOENT) and must retry; that is
 * counted, not failed. */
TEST(swap_is_atomic_for_readers) {
        _cleanup_free_ char *d = tmpdir();
        static char a[3000], b[5000];
        memset(a, 'A', sizeof(a) - 1);
        memset(b, 'B', sizeof(b) - 1);
        _cleanup_(aw_payload_done) struct aw_payload p = {};
        add(&p, "conf/file", a, 0644);
        CHECK_INT_EQ(write_payload(d, &p, -1), 1);

        _cleanup_free_ char *path = nl_strdupf("%s/conf/file", d);
        int go[2], done[2];
        CHECK(pipe2(go, O_CLOEXEC) == 0 && pipe2(done, O_CLOEXEC) == 0);
        CHECK(fcntl(done[0], F_SETFL, O_NONBLOCK) == 0);
        pid_t pid = fork();
        if (pid == 0) {
                close(done[1]);
                close(go[0]);
                unsigned reads = 0, bad = 0, missing = 0;
                char buf[8192], c;
                nl_ignore(write(go[1], "x", 1)); /* reader running: start writing */
                while (read(done[0], &c, 1) != 0) {
                        int fd = open(path, O_RDONLY | O_CLOEXEC);
                        if (fd < 0) {
                                if (errno == ENOENT)
                                        missing++;
                                else
                                        bad++;
                                continue;
                        }
                        size_t n = 0;
                        ssize_t k;
                        while ((k = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
                                n += (size_t) k;
                        close(fd);
                        buf[n] = 0;
                        if (!streq(buf, a) && !streq(buf, b))
                                bad++;
                        reads++;
                }
                if (getenv("TEST_VERBOSE"))
                        fprintf(stderr, "  reader: %u whole reads, %u retried (ENOENT), %u bad\n", reads,
                                missing, bad);
                _exit(bad ? 1 : reads > 0 ? 0 : 2);
        }
        close(done[0]);
        close(go[1]);
        char c;
        CHECK(read(go[0], &c, 1) == 1);
        close(go[0]);
        for (int i = 0; i < 300; i++) {
                add(&p, "conf/file", i % 2 ? a : b, 0644);
                if (write_payload(d, &p, -1) != 1) {
                        TEST_FAIL("write %d failed", i);
                        break;
                }
        }
        close(done[1]);
        int status = 0;
        waitpid(pid, &status, 0);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        CHECK_INT_EQ(count_ts_dirs(d), 1);
        rmrf(d);
}
