/* SPDX-License-Identifier: Apache-2.0 */
/* CRI log format: parsing, the shim's writer (line splitting, rotation, write failures) and
 * the kubelet's FallbackToLogsOnError tail. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "cri/cri.h"
#include "cri/log-writer.h"
#include "podspec/podspec.h"
#include "tests/lib/util.h"
#include "test.h"

#define TS "2024-02-29T23:59:59.123456789Z"

static char *make_tmpdir(void) {
        char tmpl[] = "/tmp/nodelet-test-log.XXXXXX";
        return mkdtemp(tmpl) ? strdup(tmpl) : NULL;
}

static void rm_dir(const char *dir) {
        DIR *d = opendir(dir);
        if (!d)
                return;
        struct dirent *de;
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, "..")) {
                        char *p = nl_strdupf("%s/%s", dir, de->d_name);
                        if (p)
                                unlink(p);
                        free(p);
                }
        closedir(d);
        rmdir(dir);
}

static int write_text(const char *path, const char *text) {
        FILE *f = fopen(path, "we");
        if (!f)
                return -errno;
        fputs(text, f);
        return fclose(f) == 0 ? 0 : -errno;
}

/* The entries of a log file: parsed lines, each checked to be well formed. */
struct entries {
        struct log_line l[256];
        size_t len[256];
        size_t n;
        bool bad;
};

static void entries_load(struct entries *e, const char *path) {
        memset(e, 0, sizeof(*e));
        char *text = test_read_file(path, NULL);
        if (!text) {
                e->bad = true;
                return;
        }
        for (char *p = text; *p && e->n < ELEMENTSOF(e->l);) {
                char *nl = strchr(p, '\n');
                if (!nl) {
                        e->bad = true; /* every entry ends with a newline */
                        break;
                }
                if (cri_log_parse_line(p, (size_t) (nl - p) + 1, &e->l[e->n]) < 0 ||
                    strlen(e->l[e->n].time) != 30) {
                        e->bad = true;
                        break;
                }
                e->len[e->n] = strlen(e->l[e->n].msg);
                e->n++;
                p = nl + 1;
        }
        free(text);
}

static void entries_done(struct entries *e) {
        for (size_t i = 0; i < e->n; i++)
                log_line_done(&e->l[i]);
}

/* ==== parsing ============================================================================== */

TEST(parse_lines) {
        struct log_line l;
        const char *s = TS " stdout F hello world\n";
        CHECK_INT_EQ(cri_log_parse_line(s, strlen(s), &l), 0);
        CHECK_STR_EQ(l.time, TS);
        CHECK(!l.stderr_);
        CHECK(!l.partial);
        CHECK_STR_EQ(l.msg, "hello world");
        log_line_done(&l);

        s = TS " stderr P  two  spaces ";
        CHECK_INT_EQ(cri_log_parse_line(s, strlen(s), &l), 0);
        CHECK(l.stderr_);
        CHECK(l.partial);
        CHECK_STR_EQ(l.msg, " two  spaces ");
        log_line_done(&l);

        s = TS " stdout F \n"; /* an empty line */
        CHECK_INT_EQ(cri_log_parse_line(s, strlen(s), &l), 0);
        CHECK_STR_EQ(l.msg, "");
        log_line_done(&l);

        /* tags are ':'-separated; only the first decides; time as Go parses RFC3339 leniently */
        s = "2016-10-06T00:17:09.669794202+02:00 stdout P:extra x";
        CHECK_INT_EQ(cri_log_parse_line(s, strlen(s), &l), 0);
        CHECK(l.partial);
        CHECK_STR_EQ(l.msg, "x");
        log_line_done(&l);
        s = "2016-10-06T00:17:09Z stdout F:P x";
        CHECK_INT_EQ(cri_log_parse_line(s, strlen(s), &l), 0);
        CHECK(!l.partial);
        log_line_done(&l);
        s = "2016-10-06T00:17:09.1Z stdout XYZ x";
        CHECK_INT_EQ(cri_log_parse_line(s, strlen(s), &l), 0);
        CHECK(!l.partial);
        log_line_done(&l);
}

TEST(parse_rejects) {
        static const char *bad[] = {
                "",
                TS,
                TS " stdout",
                TS " stdout F",   /* no space after the tag */
                TS " stdout F\n", /* the kubelet needs "F " even for an empty message */
                TS " stdin F x",
                TS " STDOUT F x",
                "2024-13-01T00:00:00Z stdout F x",
                "2023-02-29T00:00:00Z stdout F x",
                "2024-01-01 00:00:00Z stdout F x",
                "2024-01-01T24:00:00Z stdout F x",
                "2024-01-01T00:00:00 stdout F x",
                "2024-01-01T00:00:00.Z stdout F x",
                "2024-01-01T00:00:00+0200 stdout F x",
                "{\"log\":\"x\"} stdout F x",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                struct log_line l = {};
                int r = cri_log_parse_line(bad[i], strlen(bad[i]), &l);
                if (r != -EINVAL)
                        TEST_FAIL("accepted \"%s\"", bad[i]);
                if (r == 0)
                        log_line_done(&l);
        }
}

TEST(log_path) {
        struct cri_config cfg = {.log_dir = "/var/log/pods"};
        struct pod pod = {};
        pod.metadata.namespace = "default";
        pod.metadata.name = "web";
        pod.metadata.uid = "0b5cc2f4-7d1b-4bd4-9a8f-3f3b6c7d1e2a";
        char *p = cri_log_path(&cfg, &pod, "nginx", 3);
        CHECK_STR_EQ(p, "/var/log/pods/default_web_0b5cc2f4-7d1b-4bd4-9a8f-3f3b6c7d1e2a/nginx/3.log");
        free(p);
        CHECK(cri_log_path(&cfg, &pod, "../x", 0) == NULL);
        CHECK(cri_log_path(&cfg, &pod, "", 0) == NULL);
        pod.metadata.name = NULL;
        CHECK(cri_log_path(&cfg, &pod, "nginx", 0) == NULL);
}

/* ==== the writer =========================================================================== */

TEST(writer_streams_and_line_ends) {
        _cleanup_free_ char *dir = make_tmpdir(), *path = nl_strdupf("%s/0.log", dir);
        struct log_writer *w = NULL;
        CHECK_INT_EQ(log_writer_open(path, 0, 5, &w), 0);
        if (!w)
                return;
        log_writer_feed(w, LOG_STREAM_STDOUT, "a\nb", 3);
        log_writer_feed(w, LOG_STREAM_STDERR, "c\r", 2);
        log_writer_feed(w, LOG_STREAM_STDERR, "\nd\n\n", 4);
        log_writer_feed(w, LOG_STREAM_STDOUT, "e\rf\n", 4); /* a lone '\r' is content */
        log_writer_feed(w, LOG_STREAM_STDOUT, "tail", 4);
        log_writer_eof(w, LOG_STREAM_STDOUT);
        log_writer_eof(w, LOG_STREAM_STDERR);
        CHECK_INT_EQ(log_writer_dropped_bytes(w), 0);
        log_writer_free(w);

        struct entries e;
        entries_load(&e, path);
        CHECK(!e.bad);
        CHECK_INT_EQ(e.n, 6);
        if (e.n == 6) {
                CHECK_STR_EQ(e.l[0].msg, "a");
                CHECK(!e.l[0].stderr_ && !e.l[0].partial);
                CHECK_STR_EQ(e.l[1].msg, "c");
                CHECK(e.l[1].stderr_ && !e.l[1].partial);
                CHECK_STR_EQ(e.l[2].msg, "d");
                CHECK_STR_EQ(e.l[3].msg, "");
                CHECK(e.l[3].stderr_);
                CHECK_STR_EQ(e.l[4].msg, "be\rf");
                CHECK(!e.l[4].stderr_);
                /* output that never got its newline: "P", as containerd writes it */
                CHECK_STR_EQ(e.l[5].msg, "tail");
                CHECK(e.l[5].partial);
                CHECK(e.l[0].time[29] == 'Z' && e.l[0].time[19] == '.');
        }
        entries_done(&e);
        rm_dir(dir);
}

static void check_split(size_t line_len, size_t chunk, const size_t *want, size_t n_want, bool crlf) {
        _cleanup_free_ char *dir = make_tmpdir(), *path = nl_strdupf("%s/0.log", dir);
        struct log_writer *w = NULL;
        CHECK_INT_EQ(log_writer_open(path, 0, 5, &w), 0);
        if (!w)
                return;
        size_t total = line_len + (crlf ? 2 : 1);
        char *data = malloc(total);
        for (size_t i = 0; i < line_len; i++)
                data[i] = (char) ('a' + i % 26);
        if (crlf)
                data[line_len] = '\r';
        data[total - 1] = '\n';
        for (size_t off = 0; off < total; off += chunk)
                log_writer_feed(w, LOG_STREAM_STDOUT, data + off, total - off < chunk ? total - off : chunk);
        log_writer_free(w);

        struct entries *e = malloc(sizeof(*e));
        entries_load(e, path);
        CHECK(!e->bad);
        CHECK_INT_EQ(e->n, n_want);
        size_t off = 0;
        for (size_t i = 0; i < e->n && i < n_want; i++) {
                CHECK_INT_EQ(e->len[i], want[i]);
                CHECK_INT_EQ(e->l[i].partial, i + 1 < n_want);
                CHECK(memcmp(e->l[i].msg, data + off, e->len[i]) == 0);
                off += e->len[i];
        }
        entries_done(e);
        free(e);
        free(data);
        rm_dir(dir);
}

TEST(writer_splits_long_lines_like_containerd) {
        const size_t k16 = LOG_LINE_MAX;
        /* 40 KiB: P 16 KiB, P 16 KiB, F 8 KiB, however the bytes arrive */
        check_split(40 * 1024, 65536, (size_t[]){k16, k16, 8192}, 3, false);
        check_split(40 * 1024, 1000, (size_t[]){k16, k16, 8192}, 3, false);
        check_split(40 * 1024, 1, (size_t[]){k16, k16, 8192}, 3, false);
        /* exactly 16 KiB is one full line; one byte more spills into an "F" of 1 */
        check_split(k16, 4096, (size_t[]){k16}, 1, false);
        check_split(k16 + 1, 4096, (size_t[]){k16, 1}, 2, false);
        check_split(2 * k16, 4096, (size_t[]){k16, k16}, 2, false);
        /* "\r\n" right at the boundary: the '\r' is the line end, not a 16 KiB + 1st byte */
        check_split(k16, 4096, (size_t[]){k16}, 1, true);
        check_split(k16, 1, (size_t[]){k16}, 1, true);
}

static unsigned count_files(const char *dir, size_t *ret_live_size) {
        DIR *d = opendir(dir);
        unsigned n = 0;
        struct dirent *de;
        while (d && (de = readdir(d)))
                if (strncmp(de->d_name, "0.log", 5) == 0)
                        n++;
        if (d)
                closedir(d);
        struct stat st;
        _cleanup_free_ char *live = nl_strdupf("%s/0.log", dir);
        if (ret_live_size)
                *ret_live_size = stat(live, &st) == 0 ? (size_t) st.st_size : 0;
        return n;
}

TEST(writer_rotates_and_keeps_max_files) {
        _cleanup_free_ char *dir = make_tmpdir(), *path = nl_strdupf("%s/0.log", dir);
        struct log_writer *w = NULL;
        CHECK_INT_EQ(log_writer_open(path, 1024, 3, &w), 0);
        if (!w)
                return;
        /* another container's log and a different restart's log are not ours to prune */
        _cleanup_free_ char *other = nl_strdupf("%s/10.log.20000101-000000", dir);
        CHECK_INT_EQ(write_text(other, "x"), 0);
        char line[64];
        for (int i = 0; i < 200; i++) {
                int n = snprintf(line, sizeof(line), "line %03d %s\n", i, "0123456789012345678901234567890");
                log_writer_feed(w, i % 2 ? LOG_STREAM_STDERR : LOG_STREAM_STDOUT, line, (size_t) n);
        }
        CHECK(log_writer_rotations(w) >= 10);
        CHECK_INT_EQ(log_writer_dropped_bytes(w), 0);
        log_writer_free(w);

        size_t live = 0;
        CHECK_INT_EQ(count_files(dir, &live), 3);
        CHECK(live > 0 && live <= 1024);
        CHECK(access(other, F_OK) == 0);
        /* the newest lines are in the live file, each file parses */
        struct entries e;
        entries_load(&e, path);
        CHECK(!e.bad);
        CHECK(e.n > 0 && e.n < 20);
        if (e.n > 0)
                CHECK(strncmp(e.l[e.n - 1].msg, "line 199 ", 9) == 0);
        entries_done(&e);

        /* max_files 1: rotated files go at once */
        _cleanup_free_ char *path2 = nl_strdupf("%s/1.log", dir);
        CHECK_INT_EQ(log_writer_open(path2, 512, 1, &w), 0);
        if (w) {
                for (int i = 0; i < 50; i++)
                        log_writer_feed(w, LOG_STREAM_STDOUT, "some output to rotate\n", 22);
                CHECK(log_writer_rotations(w) > 0);
                log_writer_free(w);
        }
        DIR *d = opendir(dir);
        unsigned ones = 0;
        struct dirent *de;
        while (d && (de = readdir(d)))
                ones += strncmp(de->d_name, "1.log", 5) == 0;
        if (d)
                closedir(d);
        CHECK_INT_EQ(ones, 1);
        rm_dir(dir);
}

TEST(writer_drops_on_write_failure) {
        _cleanup_free_ char *dir = make_tmpdir(), *path = nl_strdupf("%s/0.log", dir);
        struct log_writer *w = NULL;
        CHECK_INT_EQ(log_writer_open(path, 0, 5, &w), 0);
        if (!w)
                return;
        log_writer_feed(w, LOG_STREAM_STDOUT, "before\n", 7);
        log_writer_inject_error(w, ENOSPC);
        for (int i = 0; i < 1000; i++)
                log_writer_feed(w, LOG_STREAM_STDOUT, "lost line\n", 10);
        log_writer_feed(w, LOG_STREAM_STDERR, "partial", 7);
        log_writer_eof(w, LOG_STREAM_STDERR);
        CHECK_INT_EQ(log_writer_dropped_bytes(w), 1000 * 9 + 7);
        log_writer_inject_error(w, 0);
        log_writer_feed(w, LOG_STREAM_STDOUT, "after\n", 6);
        log_writer_free(w);

        struct entries e;
        entries_load(&e, path);
        CHECK(!e.bad);
        CHECK_INT_EQ(e.n, 2);
        if (e.n == 2) {
                CHECK_STR_EQ(e.l[0].msg, "before");
                CHECK_STR_EQ(e.l[1].msg, "after");
        }
        entries_done(&e);
        rm_dir(dir);
}

/* A link planted where the log goes (a pod with the log dir as a hostPath) is replaced by a
 * fresh file: the container still runs, and nothing is written through the link. */
TEST(writer_replaces_symlink) {
        _cleanup_free_ char *dir = make_tmpdir(), *path = nl_strdupf("%s/0.log", dir),
                            *target = nl_strdupf("%s/target", dir);
        CHECK_INT_EQ(write_text(target, ""), 0);
        CHECK_INT_EQ(symlink(target, path), 0);
        struct log_writer *w = NULL;
        CHECK_INT_EQ(log_writer_open(path, 0, 5, &w), 0);
        log_writer_feed(w, LOG_STREAM_STDOUT, "a\n", 2);
        log_writer_free(w);
        struct stat st;
        CHECK(lstat(path, &st) == 0 && S_ISREG(st.st_mode));
        _cleanup_free_ char *through = test_read_file(target, NULL);
        CHECK_STR_EQ(through, "");
        rm_dir(dir);
}

/* ==== the tail ============================================================================= */

static int tail_of(const char *text, size_t max_lines, size_t max_bytes, char **ret) {
        _cleanup_free_ char *dir = make_tmpdir(), *path = nl_strdupf("%s/0.log", dir);
        int r = write_text(path, text);
        if (r == 0)
                r = cri_log_tail(path, max_lines, max_bytes, ret);
        rm_dir(dir);
        return r;
}

TEST(tail_joins_messages) {
        char *s = NULL;
        CHECK_INT_EQ(tail_of(TS " stdout F a\n" TS " stderr F b\n", 80, 2048, &s), 0);
        CHECK_STR_EQ(s, "a\nb\n");
        free(s);
        /* "P" entries continue without a newline; a trailing "P" (echo -n DONE) ends bare,
         * which is what the conformance test "FallbackToLogsOnError" expects */
        CHECK_INT_EQ(tail_of(TS " stdout P DO\n" TS " stdout F NE\n" TS " stdout P DONE\n", 80, 2048, &s),
                     0);
        CHECK_STR_EQ(s, "DONE\nDONE");
        free(s);
        CHECK_INT_EQ(tail_of("", 80, 2048, &s), 0);
        CHECK_STR_EQ(s, "");
        free(s);
        CHECK_INT_EQ(tail_of(TS " stdout F a\n", 80, 0, &s), 0);
        CHECK_STR_EQ(s, "");
        free(s);
}

TEST(tail_limits_lines_and_bytes) {
        nl_buf b = {};
        for (int i = 0; i < 100; i++)
                nl_buf_printf(&b, TS " stdout F line %d\n", i);
        char *text = nl_buf_steal(&b), *s = NULL;
        /* the last 80 lines: 20..99 */
        CHECK_INT_EQ(tail_of(text, 80, 4096, &s), 0);
        CHECK(s && strncmp(s, "line 20\n", 8) == 0);
        CHECK(s && strstr(s, "line 99\n") && !strstr(s, "line 19\n"));
        free(s);
        /* and of those, the last 2048 bytes */
        free(text);
        for (int i = 0; i < 100; i++)
                nl_buf_printf(&b, TS " stdout F %0100d\n", i);
        text = nl_buf_steal(&b);
        CHECK_INT_EQ(tail_of(text, 80, 2048, &s), 0);
        CHECK(s && strlen(s) == 2048);
        CHECK(s && s[2047] == '\n' && strncmp(s + 2047 - 3, "099", 3) == 0);
        free(s);
        free(text);
}

TEST(tail_kubelet_quirks) {
        char *s = NULL;
        /* an unterminated last line is not counted by FindTailLineStartIndex, and reading
         * stops after 2 parsed lines: the kubelet shows a and b, not b and c */
        CHECK_INT_EQ(tail_of(TS " stdout F a\n" TS " stdout F b\n" TS " stdout F c", 2, 2048, &s), 0);
        CHECK_STR_EQ(s, "a\nb\n");
        free(s);
        /* a malformed line is skipped... */
        CHECK_INT_EQ(tail_of(TS " stdout F a\ngarbage\n" TS " stdout F c\n", 80, 2048, &s), 0);
        CHECK_STR_EQ(s, "a\nc\n");
        free(s);
        /* ...unless it is the first one read: then ReadLogs fails (no parse function) */
        s = NULL;
        CHECK_INT_EQ(tail_of("garbage\n" TS " stdout F c\n", 80, 2048, &s), -EBADMSG);
        CHECK(s == NULL);
        CHECK_INT_EQ(tail_of(TS " stdout F a\ngarbage\n" TS " stdout F c\n", 2, 2048, &s), -EBADMSG);
        /* a tail start in the middle of a block boundary */
        nl_buf b = {};
        for (int i = 0; i < 300; i++)
                nl_buf_printf(&b, TS " stdout F %d\n", i);
        char *text = nl_buf_steal(&b);
        CHECK_INT_EQ(tail_of(text, 3, 2048, &s), 0);
        CHECK_STR_EQ(s, "297\n298\n299\n");
        free(s);
        free(text);
}

TEST(tail_refuses_links_and_fifos) {
        _cleanup_free_ char *dir = make_tmpdir(), *path = nl_strdupf("%s/0.log", dir),
                            *secret = nl_strdupf("%s/secret", dir), *fifo = nl_strdupf("%s/fifo", dir);
        CHECK_INT_EQ(write_text(secret, TS " stdout F secret\n"), 0);
        CHECK_INT_EQ(symlink(secret, path), 0);
        char *s = NULL;
        CHECK_INT_EQ(cri_log_tail(path, 80, 2048, &s), -ELOOP);
        CHECK(s == NULL);
        CHECK_INT_EQ(mkfifo(fifo, 0600), 0);
        CHECK_INT_EQ(cri_log_tail(fifo, 80, 2048, &s), -EINVAL);
        CHECK_INT_EQ(cri_log_tail(secret, 80, 2048, &s), 0);
        CHECK_STR_EQ(s, "secret\n");
        free(s);
        rm_dir(dir);
        CHECK_INT_EQ(cri_log_tail("/nonexistent/0.log", 80, 2048, &s), -ENOENT);
}

TEST(tail_reads_what_the_writer_wrote) {
        _cleanup_free_ char *dir = make_tmpdir(), *path = nl_strdupf("%s/0.log", dir);
        struct log_writer *w = NULL;
        CHECK_INT_EQ(log_writer_open(path, 0, 5, &w), 0);
        if (!w)
                return;
        log_writer_feed(w, LOG_STREAM_STDOUT, "starting\n", 9);
        log_writer_feed(w, LOG_STREAM_STDERR, "DONE", 4);
        log_writer_eof(w, LOG_STREAM_STDERR);
        log_writer_free(w);
        char *s = NULL;
        CHECK_INT_EQ(cri_log_tail(path, 80, 2048, &s), 0);
        CHECK_STR_EQ(s, "starting\nDONE");
        free(s);
        rm_dir(dir);
}
