/* SPDX-License-Identifier: Apache-2.0 */
/* The static-pod file source on a real sd-event loop and a temp directory: the initial scan,
 * files appearing, edits (write-temp-and-rename, in place), removal, broken files beside good
 * ones, what is ignored (dot-files, subdirectories, FIFOs), rewrites that change nothing, a
 * directory that appears later, multi-document files and Lists, symlinks, a single-file path. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

#include "agent/source-file.h"
#include "common/fs.h"
#include "podspec/podspec.h"
#include "test.h"

#define NODE "node1"
#define MSEC 1000ULL
#define LONG_RESCAN (3600ULL * 1000 * MSEC) /* events only: the periodic rescan never fires */

/* ==== helpers ============================================================================= */

struct update {
        char *path;
        size_t n_pods;
        char *names[8], *uids[8], *namespaces[8], *hashes[8];
        char *error;
        char *objects; /* the data objects, as JSON */
        size_t n_warnings;
        char *warning; /* the first */
};

struct collector {
        struct update updates[64];
        size_t n;
};

static const char *annotation(const struct pod *p, const char *key) {
        for (size_t i = 0; i < p->metadata.n_annotations; i++)
                if (streq(p->metadata.annotations[i].key, key))
                        return p->metadata.annotations[i].value;
        return NULL;
}

static void on_update(const char *path, struct file_update *fu, void *userdata) {
        struct collector *c = userdata;
        struct pod **pods = fu->pods;
        size_t n_pods = fu->n_pods;
        const char *error = fu->error;
        if (c->n >= ELEMENTSOF(c->updates))
                abort();
        struct update *u = &c->updates[c->n++];
        *u = (struct update){.path = strdup(path), .n_pods = n_pods, .error = error ? strdup(error) : NULL,
                             .objects = json_dumps(fu->objects, JSON_COMPACT | JSON_SORT_KEYS),
                             .n_warnings = fu->n_warnings,
                             .warning = fu->n_warnings ? strdup(fu->warnings[0]) : NULL};
        for (size_t i = 0; i < n_pods; i++) {
                if (i < ELEMENTSOF(u->names)) {
                        u->names[i] = strdup(strempty(pods[i]->metadata.name));
                        u->uids[i] = strdup(strempty(pods[i]->metadata.uid));
                        u->namespaces[i] = strdup(strempty(pods[i]->metadata.namespace));
                        const char *h = annotation(pods[i], "kubernetes.io/config.hash");
                        u->hashes[i] = h ? strdup(h) : NULL;
                }
                pod_free(pods[i]); /* ours now */
        }
}

static void collector_clear(struct collector *c) {
        for (size_t i = 0; i < c->n; i++) {
                struct update *u = &c->updates[i];
                free(u->path);
                free(u->error);
                free(u->objects);
                free(u->warning);
                for (size_t k = 0; k < ELEMENTSOF(u->names); k++) {
                        free(u->names[k]);
                        free(u->uids[k]);
                        free(u->namespaces[k]);
                        free(u->hashes[k]);
                }
        }
        c->n = 0;
}

static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000ULL;
}

/* Run the loop until the collector holds want updates or timeout passes. */
static void run_until(sd_event *e, struct collector *c, size_t want, uint64_t timeout) {
        uint64_t end = now_usec() + timeout;
        while (c->n < want && now_usec() < end)
                (void) sd_event_run(e, 20 * MSEC);
}

/* Run the loop for a while, whatever happens (to show nothing is reported). */
static void run_for(sd_event *e, uint64_t duration) {
        uint64_t end = now_usec() + duration;
        while (now_usec() < end)
                (void) sd_event_run(e, 20 * MSEC);
}

static const struct update *find_update(const struct collector *c, const char *suffix) {
        for (size_t i = c->n; i > 0; i--) {
                const char *p = c->updates[i - 1].path;
                size_t n = strlen(p), m = strlen(suffix);
                if (n >= m && streq(p + n - m, suffix))
                        return &c->updates[i - 1];
        }
        return NULL;
}

static char *make_dir(void) {
        char tmpl[] = "/tmp/nodelet-test-source-XXXXXX";
        return mkdtemp(tmpl) ? strdup(tmpl) : NULL;
}

static void write_in_place(const char *dir, const char *name, const char *text) {
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t) strlen(text))
                abort();
        close(fd);
}

/* As an editor saves: a temp file beside it, renamed over it. */
static void write_renamed(const char *dir, const char *name, const char *text) {
        char tmp[512], path[512];
        snprintf(tmp, sizeof(tmp), ".%s.swp", name);
        write_in_place(dir, tmp, text);
        snprintf(tmp, sizeof(tmp), "%s/.%s.swp", dir, name);
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        if (rename(tmp, path) < 0)
                abort();
}

static char *pod_yaml(const char *name, const char *image) {
        return nl_strdupf("apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\nspec:\n  containers:\n"
                          "  - name: main\n    image: %s\n",
                          name, image);
}

struct fixture {
        sd_event *event;
        char *dir;
        struct file_source *source;
        struct collector c;
};

static bool fixture_start(struct fixture *f, const char *dir, usec_t rescan) {
        nl_error err = NL_ERROR_INIT;
        if (sd_event_new(&f->event) < 0)
                return false;
        int r = file_source_new(f->event, dir, NODE, rescan, on_update, &f->c, &f->source, &err);
        if (r < 0) {
                TEST_FAIL("file_source_new: %s", err.msg ? err.msg : strerror(-r));
                nl_error_clear(&err);
                return false;
        }
        return true;
}

static void fixture_done(struct fixture *f) {
        file_source_free(f->source);
        sd_event_unref(f->event);
        collector_clear(&f->c);
        if (f->dir)
                (void) nl_rm_rf(f->dir);
        free(f->dir);
        *f = (struct fixture){};
}

/* ==== tests =============================================================================== */

TEST(initial_scan_and_ignored_names) {
        struct fixture f = {};
        f.dir = make_dir();
        CHECK(f.dir);
        char *web = pod_yaml("web", "busybox:1"), *db = pod_yaml("db", "busybox:1"),
             *hidden = pod_yaml("hidden", "x");
        write_in_place(f.dir, "web.yaml", web);
        write_in_place(f.dir, "db.json.yaml", db);
        write_in_place(f.dir, ".hidden.yaml", hidden);
        char sub[512], fifo[512];
        snprintf(sub, sizeof(sub), "%s/subdir", f.dir);
        CHECK(mkdir(sub, 0755) == 0);
        snprintf(sub, sizeof(sub), "%s/subdir/inner.yaml", f.dir);
        CHECK(nl_write_file_atomic(sub, hidden, strlen(hidden), 0644) == 0);
        snprintf(fifo, sizeof(fifo), "%s/fifo.yaml", f.dir);
        CHECK(mkfifo(fifo, 0644) == 0);

        if (fixture_start(&f, f.dir, LONG_RESCAN)) {
                run_until(f.event, &f.c, 2, 2000 * MSEC);
                run_for(f.event, 300 * MSEC);
                CHECK_INT_EQ(f.c.n, 2);
                /* sorted: db.json.yaml, then web.yaml */
                const struct update *u = find_update(&f.c, "/web.yaml");
                CHECK(u && u->n_pods == 1 && !u->error);
                if (u && u->n_pods == 1) {
                        char *want = nl_strdupf("%s/web.yaml", f.dir);
                        CHECK_STR_EQ(u->path, want);
                        free(want);
                        CHECK_STR_EQ(u->names[0], "web-" NODE);
                        CHECK_STR_EQ(u->namespaces[0], "default");
                        CHECK(u->uids[0] && strlen(u->uids[0]) == 32);
                        CHECK_STR_EQ(u->hashes[0], u->uids[0]);
                }
                u = find_update(&f.c, "/db.json.yaml");
                CHECK(u && u->n_pods == 1 && !u->error);
                if (u && u->n_pods == 1)
                        CHECK_STR_EQ(u->names[0], "db-" NODE);
                CHECK(!find_update(&f.c, "hidden.yaml") && !find_update(&f.c, "inner.yaml") &&
                      !find_update(&f.c, "fifo.yaml"));

                /* new dot-files and subdirectories later: still nothing */
                collector_clear(&f.c);
                write_in_place(f.dir, ".another.yaml", web);
                snprintf(sub, sizeof(sub), "%s/subdir2", f.dir);
                CHECK(mkdir(sub, 0755) == 0);
                run_for(f.event, 400 * MSEC);
                CHECK_INT_EQ(f.c.n, 0);
        }
        free(web);
        free(db);
        free(hidden);
        fixture_done(&f);
}

TEST(add_edit_rewrite_remove) {
        struct fixture f = {};
        f.dir = make_dir();
        CHECK(f.dir);
        char *v1 = pod_yaml("app", "busybox:1"), *v2 = pod_yaml("app", "busybox:2"),
             *v3 = pod_yaml("app", "busybox:3");
        char *other = pod_yaml("other", "busybox:1");
        write_in_place(f.dir, "other.yaml", other);
        if (!fixture_start(&f, f.dir, LONG_RESCAN))
                goto out;
        run_until(f.event, &f.c, 1, 2000 * MSEC);
        CHECK_INT_EQ(f.c.n, 1);
        collector_clear(&f.c);

        /* a new file appears (written in place: create + close-write, one update) */
        write_in_place(f.dir, "app.yaml", v1);
        run_until(f.event, &f.c, 1, 2000 * MSEC);
        run_for(f.event, 300 * MSEC);
        CHECK_INT_EQ(f.c.n, 1);
        const struct update *u = find_update(&f.c, "/app.yaml");
        char *uid1 = u && u->n_pods == 1 ? strdup(u->uids[0]) : NULL;
        CHECK(uid1);
        collector_clear(&f.c);

        /* an editor's save: temp file + rename, one update with a new UID and config hash */
        write_renamed(f.dir, "app.yaml", v2);
        run_until(f.event, &f.c, 1, 2000 * MSEC);
        run_for(f.event, 300 * MSEC);
        CHECK_INT_EQ(f.c.n, 1);
        u = find_update(&f.c, "/app.yaml");
        char *uid2 = u && u->n_pods == 1 ? strdup(u->uids[0]) : NULL;
        CHECK(uid2 && uid1 && !streq(uid1, uid2));
        if (u && u->n_pods == 1)
                CHECK_STR_EQ(u->hashes[0], uid2);
        collector_clear(&f.c);

        /* an in-place write */
        write_in_place(f.dir, "app.yaml", v3);
        run_until(f.event, &f.c, 1, 2000 * MSEC);
        run_for(f.event, 300 * MSEC);
        CHECK_INT_EQ(f.c.n, 1);
        u = find_update(&f.c, "/app.yaml");
        CHECK(u && u->n_pods == 1 && uid2 && !streq(u->uids[0], uid2) &&
              !streq(u->uids[0], uid1 ? uid1 : ""));
        collector_clear(&f.c);

        /* the same bytes again, both ways, and a touch: nothing */
        write_in_place(f.dir, "app.yaml", v3);
        write_renamed(f.dir, "app.yaml", v3);
        char path[512];
        snprintf(path, sizeof(path), "%s/app.yaml", f.dir);
        CHECK(utimensat(AT_FDCWD, path, NULL, 0) == 0);
        run_for(f.event, 500 * MSEC);
        CHECK_INT_EQ(f.c.n, 0);

        /* only a comment changes: the pod is the same (same UID), nothing to say either */
        char *commented = nl_strdupf("# a comment\n%s", v3);
        write_renamed(f.dir, "app.yaml", commented);
        free(commented);
        run_for(f.event, 500 * MSEC);
        CHECK_INT_EQ(f.c.n, 0);

        /* file_source_rescan finds nothing new either */
        CHECK(file_source_rescan(f.source) >= 0);
        CHECK_INT_EQ(f.c.n, 0);

        /* removed: zero pods, no error */
        CHECK(unlink(path) == 0);
        run_until(f.event, &f.c, 1, 2000 * MSEC);
        run_for(f.event, 300 * MSEC);
        CHECK_INT_EQ(f.c.n, 1);
        u = find_update(&f.c, "/app.yaml");
        CHECK(u && u->n_pods == 0 && !u->error);
        collector_clear(&f.c);

        /* moved out of the directory (or to a dot-name): removed too; moved back: there again */
        char hidden[512];
        snprintf(hidden, sizeof(hidden), "%s/.other.yaml", f.dir);
        snprintf(path, sizeof(path), "%s/other.yaml", f.dir);
        CHECK(rename(path, hidden) == 0);
        run_until(f.event, &f.c, 1, 2000 * MSEC);
        u = find_update(&f.c, "/other.yaml");
        CHECK(u && u->n_pods == 0 && !u->error);
        collector_clear(&f.c);
        CHECK(rename(hidden, path) == 0);
        run_until(f.event, &f.c, 1, 2000 * MSEC);
        u = find_update(&f.c, "/other.yaml");
        CHECK(u && u->n_pods == 1);
        collector_clear(&f.c);

        free(uid1);
        free(uid2);
out:
        free(v1);
        free(v2);
        free(v3);
        free(other);
        fixture_done(&f);
}

/* A manifest with its own metadata.uid keeps it across edits: each edit is reported (an update
 * of that pod, applied in place by the worker), a comment-only change is not. */
TEST(own_uid_edits_reported) {
        struct fixture f = {};
        f.dir = make_dir();
        CHECK(f.dir);
        const char *v1 = "apiVersion: v1\nkind: Pod\nmetadata: {name: app, uid: fixed-1}\n"
                         "spec: {containers: [{name: main, image: busybox:1}]}\n";
        const char *v2 = "apiVersion: v1\nkind: Pod\nmetadata: {name: app, uid: fixed-1}\n"
                         "spec: {containers: [{name: main, image: busybox:2}]}\n";
        write_in_place(f.dir, "app.yaml", v1);
        if (!fixture_start(&f, f.dir, LONG_RESCAN))
                goto out;
        run_until(f.event, &f.c, 1, 2000 * MSEC);
        CHECK_INT_EQ(f.c.n, 1);
        collector_clear(&f.c);

        write_renamed(f.dir, "app.yaml", v2);
        run_until(f.event, &f.c, 1, 2000 * MSEC);
        run_for(f.event, 300 * MSEC);
        CHECK_INT_EQ(f.c.n, 1);
        const struct update *u = find_update(&f.c, "/app.yaml");
        CHECK(u && u->n_pods == 1 && streq(u->uids[0], "fixed-1"));
        collector_clear(&f.c);

        char *commented = nl_strdupf("# a comment\n%s", v2);
        write_renamed(f.dir, "app.yaml", commented ? commented : v2);
        free(commented);
        run_for(f.event, 500 * MSEC);
        CHECK_INT_EQ(f.c.n, 0);
out:
        fixture_done(&f);
}

TEST(broken_file_beside_good_ones) {
        struct fixture f = {};
        f.dir = make_dir();
        CHECK(f.dir);
        char *good = pod_yaml("good", "busybox:1");
        write_in_place(f.dir, "good.yaml", good);
        write_in_place(f.dir, "broken.yaml",
                       "apiVersion: v1\nkind: Pod\nmetadata:\n  name: broken\nspec:\n"
                       "  containers:\n  - name: Bad_Name\n    image: busybox\n");
        write_in_place(f.dir, "syntax.yaml", "apiVersion: v1\nkind: Pod\nmetadata: [\n");
        if (!fixture_start(&f, f.dir, LONG_RESCAN))
                goto out;
        run_until(f.event, &f.c, 3, 2000 * MSEC);
        CHECK_INT_EQ(f.c.n, 3);
        const struct update *u = find_update(&f.c, "/good.yaml");
        CHECK(u && u->n_pods == 1 && !u->error);
        u = find_update(&f.c, "/broken.yaml");
        CHECK(u && u->n_pods == 0 && u->error);
        if (u && u->error) {
                /* the file's name, then the validation error */
                char *want = nl_strdupf(
                        "%s/broken.yaml: spec.containers[0].name: Invalid value: \"Bad_Name\"", f.dir);
                if (strncmp(u->error, want, strlen(want)) != 0)
                        TEST_FAIL("error \"%s\" does not start with \"%s\"", u->error, want);
                free(want);
        }
        u = find_update(&f.c, "/syntax.yaml");
        CHECK(u && u->n_pods == 0 && u->error && strstr(u->error, "/syntax.yaml: "));
        collector_clear(&f.c);

        /* good.yaml breaks: an error for it, nothing for the others */
        write_renamed(f.dir, "good.yaml",
                      "apiVersion: v1\nkind: Pod\nmetadata: {}\nspec: {containers: []}\n");
        run_until(f.event, &f.c, 1, 2000 * MSEC);
        run_for(f.event, 300 * MSEC);
        CHECK_INT_EQ(f.c.n, 1);
        u = find_update(&f.c, "/good.yaml");
        CHECK(u && u->n_pods == 0 && u->error && strstr(u->error, "name is needed for a static pod"));
        collector_clear(&f.c);

        /* broken.yaml fixed: its pod, nothing for the others */
        char *fixed = pod_yaml("broken", "busybox:1");
        write_renamed(f.dir, "broken.yaml", fixed);
        free(fixed);
        run_until(f.event, &f.c, 1, 2000 * MSEC);
        run_for(f.event, 300 * MSEC);
        CHECK_INT_EQ(f.c.n, 1);
        u = find_update(&f.c, "/broken.yaml");
        CHECK(u && u->n_pods == 1 && !u->error);
        collector_clear(&f.c);

        /* an empty file is an error too (the kubelet cannot decode it) */
        write_in_place(f.dir, "empty.yaml", "");
        run_until(f.event, &f.c, 1, 2000 * MSEC);
        u = find_update(&f.c, "/empty.yaml");
        CHECK(u && u->n_pods == 0 && u->error && strstr(u->error, "no Pod in this file"));
        collector_clear(&f.c);

        /* many errors: the first few lines and a count */
        nl_buf b = {};
        nl_buf_puts(&b, "apiVersion: v1\nkind: Pod\nmetadata: {name: many}\nspec:\n  containers:\n");
        for (int i = 0; i < 8; i++)
                nl_buf_printf(&b, "  - {name: Bad_%d, image: busybox}\n", i);
        char *many = nl_buf_steal(&b);
        write_in_place(f.dir, "many.yaml", many);
        free(many);
        run_until(f.event, &f.c, 1, 2000 * MSEC);
        u = find_update(&f.c, "/many.yaml");
        CHECK(u && u->error && strstr(u->error, "more errors"));
        if (u && u->error) {
                size_t lines = 1;
                for (const char *p = u->error; *p; p++)
                        lines += *p == '\n';
                CHECK_INT_EQ(lines, 6);
        }
out:
        free(good);
        fixture_done(&f);
}

TEST(multi_document_and_list) {
        struct fixture f = {};
        f.dir = make_dir();
        CHECK(f.dir);
        char *a = pod_yaml("a", "busybox:1"), *b = pod_yaml("b", "busybox:1");
        char *multi = nl_strdupf("%s---\n%s", a, b);
        write_in_place(f.dir, "multi.yaml", multi);
        write_in_place(f.dir, "list.json",
                       "{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": ["
                       "{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"name\": \"c\"},"
                       " \"spec\": {\"containers\": [{\"name\": \"m\", \"image\": \"busybox\"}]}},"
                       "{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"name\": \"d\", "
                       "\"namespace\": \"kube-system\"},"
                       " \"spec\": {\"containers\": [{\"name\": \"m\", \"image\": \"busybox\"}]}}]}");
        char *dup = nl_strdupf("%s---\n%s", a, a);
        write_in_place(f.dir, "dup.yaml", dup);
        if (!fixture_start(&f, f.dir, LONG_RESCAN))
                goto out;
        run_until(f.event, &f.c, 3, 2000 * MSEC);
        CHECK_INT_EQ(f.c.n, 3);
        const struct update *u = find_update(&f.c, "/multi.yaml");
        CHECK(u && u->n_pods == 2 && !u->error);
        if (u && u->n_pods == 2) {
                CHECK_STR_EQ(u->names[0], "a-" NODE);
                CHECK_STR_EQ(u->names[1], "b-" NODE);
                CHECK(!streq(u->uids[0], u->uids[1]));
        }
        char *uid_a = u && u->n_pods == 2 ? strdup(u->uids[0]) : NULL;
        u = find_update(&f.c, "/list.json");
        CHECK(u && u->n_pods == 2 && !u->error);
        if (u && u->n_pods == 2) {
                CHECK_STR_EQ(u->names[0], "c-" NODE);
                CHECK_STR_EQ(u->namespaces[0], "default");
                CHECK_STR_EQ(u->names[1], "d-" NODE);
                CHECK_STR_EQ(u->namespaces[1], "kube-system");
        }
        u = find_update(&f.c, "/dup.yaml");
        CHECK(u && u->n_pods == 0 && u->error && strstr(u->error, "Duplicate value: \"a-" NODE "\""));
        collector_clear(&f.c);

        /* editing b leaves a's UID alone: only b restarts */
        char *b2 = pod_yaml("b", "busybox:2");
        char *multi2 = nl_strdupf("%s---\n%s", a, b2);
        write_renamed(f.dir, "multi.yaml", multi2);
        run_until(f.event, &f.c, 1, 2000 * MSEC);
        u = find_update(&f.c, "/multi.yaml");
        CHECK(u && u->n_pods == 2);
        if (u && u->n_pods == 2 && uid_a)
                CHECK_STR_EQ(u->uids[0], uid_a);
        free(b2);
        free(multi2);
        free(uid_a);
out:
        free(a);
        free(b);
        free(multi);
        free(dup);
        fixture_done(&f);
}

TEST(symlinks_followed) {
        struct fixture f = {};
        f.dir = make_dir();
        char *outside = make_dir();
        CHECK(f.dir && outside);
        char *pod = pod_yaml("linked", "busybox:1");
        write_in_place(outside, "real.yaml", pod);
        char target[512], link[512];
        snprintf(target, sizeof(target), "%s/real.yaml", outside);
        snprintf(link, sizeof(link), "%s/linked.yaml", f.dir);
        CHECK(symlink(target, link) == 0);
        snprintf(link, sizeof(link), "%s/dangling.yaml", f.dir);
        CHECK(symlink("/nonexistent/nodelet-test", link) == 0);
        snprintf(link, sizeof(link), "%s/dirlink", f.dir);
        CHECK(symlink(outside, link) == 0);
        if (fixture_start(&f, f.dir, LONG_RESCAN)) {
                run_until(f.event, &f.c, 1, 2000 * MSEC);
                run_for(f.event, 300 * MSEC);
                CHECK_INT_EQ(f.c.n, 1);
                const struct update *u = find_update(&f.c, "/linked.yaml");
                CHECK(u && u->n_pods == 1 && !u->error);
                if (u && u->n_pods == 1)
                        CHECK_STR_EQ(u->names[0], "linked-" NODE);
        }
        free(pod);
        fixture_done(&f);
        (void) nl_rm_rf(outside);
        free(outside);
}

TEST(directory_created_later) {
        struct fixture f = {};
        char *parent = make_dir();
        CHECK(parent);
        f.dir = nl_strdupf("%s/manifests", parent);
        if (!fixture_start(&f, f.dir, 300 * MSEC))
                goto out;
        run_for(f.event, 500 * MSEC);
        CHECK_INT_EQ(f.c.n, 0);
        CHECK(mkdir(f.dir, 0755) == 0);
        char *pod = pod_yaml("late", "busybox:1");
        write_in_place(f.dir, "late.yaml", pod);
        free(pod);
        /* picked up at the next rescan */
        run_until(f.event, &f.c, 1, 2000 * MSEC);
        CHECK_INT_EQ(f.c.n, 1);
        const struct update *u = find_update(&f.c, "/manifests/late.yaml");
        CHECK(u && u->n_pods == 1);
        collector_clear(&f.c);

        /* now watched: a second file is seen by inotify, well before a rescan would matter */
        pod = pod_yaml("later", "busybox:1");
        write_in_place(f.dir, "later.yaml", pod);
        free(pod);
        run_until(f.event, &f.c, 1, 2000 * MSEC);
        CHECK(find_update(&f.c, "/later.yaml"));
        collector_clear(&f.c);

        /* the directory goes: every file's pods go; it comes back: they are back */
        char moved[512];
        snprintf(moved, sizeof(moved), "%s/moved", parent);
        CHECK(rename(f.dir, moved) == 0);
        run_until(f.event, &f.c, 2, 2000 * MSEC);
        CHECK_INT_EQ(f.c.n, 2);
        for (size_t i = 0; i < f.c.n; i++)
                CHECK(f.c.updates[i].n_pods == 0 && !f.c.updates[i].error);
        collector_clear(&f.c);
        CHECK(rename(moved, f.dir) == 0);
        run_until(f.event, &f.c, 2, 2000 * MSEC);
        CHECK_INT_EQ(f.c.n, 2);
        for (size_t i = 0; i < f.c.n; i++)
                CHECK(f.c.updates[i].n_pods == 1);
out:
        fixture_done(&f);
        (void) nl_rm_rf(parent);
        free(parent);
}

TEST(single_file_path) {
        struct fixture f = {};
        char *dir = make_dir();
        CHECK(dir);
        char *pod = pod_yaml("solo", "busybox:1"), *pod2 = pod_yaml("solo", "busybox:2");
        write_in_place(dir, "solo.yaml", pod);
        char *path = nl_strdupf("%s/solo.yaml", dir);
        if (fixture_start(&f, path, LONG_RESCAN)) {
                run_until(f.event, &f.c, 1, 2000 * MSEC);
                CHECK_INT_EQ(f.c.n, 1);
                CHECK(f.c.n == 1 && streq(f.c.updates[0].path, path) && f.c.updates[0].n_pods == 1);
                collector_clear(&f.c);
                write_renamed(dir, "solo.yaml", pod2);
                run_until(f.event, &f.c, 1, 2000 * MSEC);
                CHECK(f.c.n >= 1 && f.c.updates[f.c.n - 1].n_pods == 1);
        }
        fixture_done(&f);
        (void) nl_rm_rf(dir);
        free(dir);
        free(path);
        free(pod);
        free(pod2);
}

TEST(bad_arguments) {
        sd_event *e = NULL;
        struct file_source *s = NULL;
        nl_error err = NL_ERROR_INIT;
        CHECK(sd_event_new(&e) >= 0);
        CHECK(file_source_new(e, "/tmp", "", LONG_RESCAN, on_update, NULL, &s, &err) == -EINVAL);
        CHECK(err.msg != NULL);
        nl_error_clear(&err);
        CHECK(file_source_new(e, "/tmp", NODE, 0, on_update, NULL, &s, &err) == -EINVAL);
        nl_error_clear(&err);
        CHECK(s == NULL);
        file_source_free(NULL);
        sd_event_unref(e);
}

/* A Helm-style stream: kinds nodelet does not run are one warning each, never an error; the
 * ConfigMap and Secret come with the file's pods; cluster mode refuses them for the file. */
TEST(other_kinds) {
        static const char *const text =
                "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 80}]}\n---\n"
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {greeting: hello}\n---\n"
                "apiVersion: v1\nkind: Secret\nmetadata: {name: sec, namespace: other}\n"
                "stringData: {password: s3cret}\n---\n"
                "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: r}\n---\n"
                "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\n"
                "spec: {containers: [{name: main, image: busybox}]}\n";
        for (int pods_only = 0; pods_only <= 1; pods_only++) {
                struct fixture f = {};
                f.dir = make_dir();
                CHECK(f.dir);
                write_in_place(f.dir, "app.yaml", text);
                if (fixture_start(&f, f.dir, LONG_RESCAN)) {
                        file_source_set_pods_only(f.source, pods_only);
                        run_until(f.event, &f.c, 1, 2000 * MSEC);
                        const struct update *u = find_update(&f.c, "/app.yaml");
                        CHECK(u);
                        if (u && !pods_only) {
                                CHECK(!u->error);
                                CHECK_INT_EQ(u->n_pods, 1);
                                CHECK_INT_EQ(u->n_warnings, 2);
                                CHECK(u->warning && strstr(u->warning, "/app.yaml[0]: skipped Service \"web\" (v1)"));
                                CHECK_STR_EQ(u->objects,
                                             "[{\"kind\":\"ConfigMap\",\"name\":\"cfg\",\"namespace\":\"default\","
                                             "\"object\":{\"apiVersion\":\"v1\",\"data\":{\"greeting\":\"hello\"},"
                                             "\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"cfg\",\"namespace\":"
                                             "\"default\"}}},{\"kind\":\"Secret\",\"name\":\"sec\",\"namespace\":"
                                             "\"other\",\"object\":{\"apiVersion\":\"v1\",\"data\":{\"password\":"
                                             "\"czNjcmV0\"},\"kind\":\"Secret\",\"metadata\":{\"name\":\"sec\","
                                             "\"namespace\":\"other\"},\"type\":\"Opaque\"}}]");
                        } else if (u) {
                                CHECK_INT_EQ(u->n_pods, 0);
                                CHECK(u->error && strstr(u->error, "/app.yaml[0]: kind: Unsupported value: \"Service\": "
                                                                   "static pod files hold Pods only"));
                        }
                        /* a bad ConfigMap fails the file, as a bad Pod does */
                        write_renamed(f.dir, "app.yaml",
                                      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\n"
                                      "data: {\"a b\": x}\n");
                        run_until(f.event, &f.c, 2, 2000 * MSEC);
                        u = find_update(&f.c, "/app.yaml");
                        if (!pods_only)
                                CHECK(u && u->error && strstr(u->error, "data[a b]: Invalid value: \"a b\""));
                }
                fixture_done(&f);
        }
}
