/* SPDX-License-Identifier: Apache-2.0 */
/* The content store: blob commit and verification, crash leftovers, image records (add,
 * lookup by name/ID/prefix/repo digest, name moves), removal of what nothing references,
 * GC that spares images in use. Runs in a temp dir; layers are real tars unpacked by the
 * store (tests run as root). */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdio.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <systemd/sd-event.h>

#include "cri/cri.h"
#include "common/fs.h"
#include "cri/image/store-internal.h"
#include "tests/lib/tar.h"
#include "test.h"

/* ==== helpers ============================================================================= */

struct img {
        char manifest[DIGEST_STRING_MAX];
        char config[DIGEST_STRING_MAX];
        char layers[4][DIGEST_STRING_MAX];
        char chains[4][DIGEST_STRING_MAX];
        size_t n;
};

/* An image whose layer i holds the single file files[i]; `cmd` makes the config unique. */
static int make_image(struct image_store *s, const char *const *files, size_t n, const char *cmd,
                      struct img *ret) {
        nl_error err = NL_ERROR_INIT;
        char *diff_ids[4], **chains = NULL;
        json_t *cfg, *man;
        char *str;
        int r = 0;

        memset(ret, 0, sizeof(*ret));
        ret->n = n;
        man = json_pack("{s:i, s:s, s:[]}", "schemaVersion", 2, "mediaType", MEDIA_OCI_MANIFEST, "layers");
        cfg = json_pack("{s:s, s:s, s:{s:[s]}, s:{s:s, s:[]}}", "architecture", "amd64", "os", "linux",
                        "config", "Cmd", cmd, "rootfs", "type", "layers", "diff_ids");
        for (size_t i = 0; i < n; i++) {
                struct membuf t;
                tar_of_names(&files[i], 1, &t);
                r = image_store_put_blob(s, t.data, t.len, NULL, ret->layers[i], &err);
                free(t.data);
                if (r < 0)
                        goto out;
                json_array_append_new(json_object_get(json_object_get(cfg, "rootfs"), "diff_ids"),
                                      json_string(ret->layers[i]));
                json_array_append_new(json_object_get(man, "layers"),
                                      json_pack("{s:s, s:s, s:I}", "mediaType", MEDIA_OCI_LAYER, "digest",
                                                ret->layers[i], "size", (json_int_t) t.len));
                diff_ids[i] = ret->layers[i];
        }
        r = image_chain_ids(diff_ids, n, &chains);
        if (r < 0)
                goto out;
        for (size_t i = 0; i < n; i++) {
                snprintf(ret->chains[i], DIGEST_STRING_MAX, "%s", chains[i]);
                r = image_store_unpack_layer(s, ret->layers[i], MEDIA_OCI_LAYER, ret->layers[i], chains[i],
                                             &err);
                if (r < 0)
                        goto out;
        }
        str = json_dumps(cfg, JSON_COMPACT);
        r = image_store_put_blob(s, str, strlen(str), NULL, ret->config, &err);
        json_object_set_new(man, "config",
                            json_pack("{s:s, s:s, s:I}", "mediaType", MEDIA_OCI_CONFIG, "digest",
                                      ret->config, "size", (json_int_t) strlen(str)));
        free(str);
        if (r < 0)
                goto out;
        str = json_dumps(man, JSON_COMPACT);
        r = image_store_put_blob(s, str, strlen(str), NULL, ret->manifest, &err);
        free(str);
out:
        if (r < 0)
                fprintf(stderr, "  make_image: %s\n", err.msg ? err.msg : strerror(-r));
        if (chains) {
                for (size_t i = 0; i < n; i++)
                        free(chains[i]);
                free(chains);
        }
        json_decref(cfg);
        json_decref(man);
        nl_error_clear(&err);
        return r;
}

static char *tmp_root(void) {
        char *d = strdup("/tmp/nl-test-store-XXXXXX");
        if (!d || !mkdtemp(d)) {
                free(d);
                return NULL;
        }
        return d;
}

static void cleanup_root(char *dir) {
        if (dir)
                nl_rm_rf_at(AT_FDCWD, dir);
        free(dir);
}

static struct image_store *open_store(const char *dir) {
        struct image_store *s = NULL;
        nl_error err = NL_ERROR_INIT;
        char *root = nl_strdupf("%s/store", dir);
        if (image_store_open(root, &s, &err) < 0)
                TEST_FAIL("open store: %s", err.msg);
        nl_error_clear(&err);
        free(root);
        return s;
}

static bool path_exists(const char *p) {
        struct stat st;
        return lstat(p, &st) == 0;
}

static bool blob_file_exists(struct image_store *s, const char *digest) {
        char *p = image_store_blob_path(s, digest);
        bool r = p && path_exists(p);
        free(p);
        return r;
}

static bool layer_dir_exists(struct image_store *s, const char *chain) {
        char *p = image_store_layer_path(s, chain);
        bool r = p && path_exists(p);
        free(p);
        return r;
}

/* ==== blobs =============================================================================== */

TEST(commit_blob_good) {
        char *dir = tmp_root();
        struct image_store *s = open_store(dir);
        nl_error err = NL_ERROR_INIT;
        char digest[DIGEST_STRING_MAX], *path = NULL, *buf = NULL;
        size_t len = 0;
        int fd = -1;

        CHECK(s);
        if (!s)
                goto out;
        digest_buffer("hello", 5, digest);
        CHECK(!image_store_has_blob(s, digest));
        CHECK_INT_EQ(image_store_tmpfile(s, &path, &fd), 0);
        CHECK_INT_EQ(write(fd, "hello", 5), 5);
        close(fd);
        CHECK_INT_EQ(image_store_commit_blob(s, path, digest, 5, &err), 0);
        CHECK(image_store_has_blob(s, digest));
        CHECK(!path_exists(path));
        CHECK_INT_EQ(image_store_read_blob(s, digest, 100, &buf, &len, &err), 0);
        CHECK_INT_EQ(len, 5);
        CHECK_STR_EQ(buf, "hello");
        free(buf);
        buf = NULL;
        /* a cap below the size refuses */
        CHECK_INT_EQ(image_store_read_blob(s, digest, 4, &buf, &len, &err), -EFBIG);
        CHECK(err.msg && strstr(err.msg, digest));
        /* put_blob of known content is a no-op that still answers the digest */
        char d2[DIGEST_STRING_MAX];
        CHECK_INT_EQ(image_store_put_blob(s, "hello", 5, digest, d2, &err), 0);
        CHECK_STR_EQ(d2, digest);
        free(path);
out:
        nl_error_clear(&err);
        image_store_close(s);
        cleanup_root(dir);
}

TEST(commit_blob_wrong_digest_and_size) {
        char *dir = tmp_root();
        struct image_store *s = open_store(dir);
        nl_error err = NL_ERROR_INIT;
        char want[DIGEST_STRING_MAX], *path = NULL;
        int fd = -1;

        CHECK(s);
        if (!s)
                goto out;
        digest_buffer("something else", 14, want);
        CHECK_INT_EQ(image_store_tmpfile(s, &path, &fd), 0);
        CHECK_INT_EQ(write(fd, "hello", 5), 5);
        close(fd);
        CHECK_INT_EQ(image_store_commit_blob(s, path, want, -1, &err), -EBADMSG);
        CHECK(err.msg && strstr(err.msg, want));
        CHECK(!path_exists(path)); /* the temp file went */
        CHECK(!image_store_has_blob(s, want));
        free(path);

        digest_buffer("hello", 5, want);
        CHECK_INT_EQ(image_store_tmpfile(s, &path, &fd), 0);
        CHECK_INT_EQ(write(fd, "hello", 5), 5);
        close(fd);
        CHECK_INT_EQ(image_store_commit_blob(s, path, want, 6, &err), -EBADMSG);
        CHECK(err.msg && strstr(err.msg, want) && strstr(err.msg, "size"));
        CHECK(!path_exists(path));
        CHECK(!image_store_has_blob(s, want));
        free(path);

        /* a file outside the store's temp area is never moved in */
        CHECK_INT_EQ(image_store_commit_blob(s, "/etc/hostname", want, -1, &err), -EINVAL);
        CHECK(path_exists("/etc/hostname"));
        /* put_blob with a digest that does not match */
        digest_buffer("x", 1, want);
        CHECK_INT_EQ(image_store_put_blob(s, "y", 1, want, NULL, &err), -EBADMSG);
        CHECK(!image_store_has_blob(s, want));
        CHECK(image_store_blob_path(s, "sha256:short") == NULL);
out:
        nl_error_clear(&err);
        image_store_close(s);
        cleanup_root(dir);
}

TEST(crash_leftovers_cleaned_on_open) {
        char *dir = tmp_root();
        struct image_store *s = open_store(dir), *s2 = NULL;
        char *p;
        int fd;

        CHECK(s);
        if (!s)
                goto out;
        /* a dead session: a tmp dir whose .lock nobody holds, with a partial unpack inside
         * (a symlink to / that must not be followed by the cleanup) */
        p = nl_strdupf("%s/store/tmp/s-dead00", dir);
        CHECK_INT_EQ(mkdir(p, 0700), 0);
        free(p);
        p = nl_strdupf("%s/store/tmp/s-dead00/.lock", dir);
        fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        close(fd);
        free(p);
        p = nl_strdupf("%s/store/tmp/s-dead00/unpack-1/rootfs/etc", dir);
        CHECK_INT_EQ(nl_mkdir_p(p, 0755), 0);
        free(p);
        p = nl_strdupf("%s/store/tmp/s-dead00/unpack-1/rootfs/etc/root", dir);
        CHECK_INT_EQ(symlink("/", p), 0);
        free(p);
        p = nl_strdupf("%s/store/tmp/junk", dir);
        fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        close(fd);
        free(p);

        /* s is alive: its session must survive a second open */
        s2 = open_store(dir);
        CHECK(s2);
        p = nl_strdupf("%s/store/tmp/s-dead00", dir);
        CHECK(!path_exists(p));
        free(p);
        p = nl_strdupf("%s/store/tmp/junk", dir);
        CHECK(!path_exists(p));
        free(p);
        CHECK(path_exists(s->tmp_dir));
        CHECK(s2 && path_exists(s2->tmp_dir));
        CHECK(path_exists("/etc/hostname"));
        image_store_close(s2);
        s2 = NULL;
        /* close removes its own temp area */
        p = strdup(s->tmp_dir);
        image_store_close(s);
        s = NULL;
        CHECK(!path_exists(p));
        free(p);
out:
        image_store_close(s);
        cleanup_root(dir);
}

TEST(lock_nesting) {
        char *dir = tmp_root();
        struct image_store *s = open_store(dir);

        CHECK(s);
        if (!s)
                goto out;
        CHECK_INT_EQ(store_lock(s, false), 0);
        CHECK_INT_EQ(store_lock(s, false), 0);
        CHECK_INT_EQ(store_lock(s, true), -EDEADLK); /* no silent upgrade */
        store_unlock(s);
        store_unlock(s);
        CHECK_INT_EQ(store_lock(s, true), 0);
        CHECK_INT_EQ(store_lock(s, false), 0);
        /* another open file (another process, the CLI) cannot get it meanwhile */
        {
                char *p = nl_strdupf("%s/store/lock", dir);
                int fd = open(p, O_RDWR | O_CLOEXEC);
                CHECK(fd >= 0);
                CHECK(flock(fd, LOCK_SH | LOCK_NB) < 0);
                store_unlock(s);
                store_unlock(s);
                CHECK_INT_EQ(flock(fd, LOCK_SH | LOCK_NB), 0);
                close(fd);
                free(p);
        }
out:
        image_store_close(s);
        cleanup_root(dir);
}

/* A forked child shares its parent's open lock file: locking through it would convert the
 * parent's lock instead of waiting for it (the store's slow calls run in forks). */
TEST(lock_in_a_fork_waits_for_the_parent) {
        char *dir = tmp_root();
        struct image_store *s = open_store(dir);
        int status = 0;

        CHECK(s);
        if (!s)
                goto out;
        CHECK_INT_EQ(store_lock(s, false), 0);
        pid_t pid = fork();
        if (pid == 0) {
                alarm(1); /* still waiting then: killed by SIGALRM, as it should be */
                _exit(store_lock(s, true) == 0 ? 0 : 1);
        }
        CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
        CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM);
        store_unlock(s);
        /* and once the parent lets go, a fork gets it */
        pid = fork();
        if (pid == 0) {
                alarm(5);
                _exit(store_lock(s, true) == 0 ? 0 : 1);
        }
        CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
out:
        image_store_close(s);
        cleanup_root(dir);
}

/* ==== the slow calls off the loop ========================================================= */

struct async_fx {
        sd_event *event;
        int done, r, ticks;
        char *msg;
        const char *fifo; /* opened for writing from the timer: lets a blocked child go on */
};

static void async_done(int r, const nl_error *err, void *userdata) {
        struct async_fx *a = userdata;
        a->done++;
        a->r = r;
        free(a->msg);
        a->msg = err && err->msg ? strdup(err->msg) : NULL;
}

static int async_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        struct async_fx *a = userdata;
        a->ticks++;
        if (a->fifo && a->ticks >= 5) {
                int fd = open(a->fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
                if (fd >= 0) {
                        close(fd);
                        a->fifo = NULL;
                }
        }
        (void) sd_event_source_set_time_relative(s, 10000);
        return sd_event_source_set_enabled(s, SD_EVENT_ON);
}

static void async_run(struct async_fx *a) {
        sd_event_source *t = NULL;
        a->done = a->ticks = 0;
        CHECK_INT_EQ(sd_event_add_time_relative(a->event, &t, CLOCK_MONOTONIC, 10000, 0, async_tick, a), 0);
        while (!a->done && a->ticks < 1000) /* 10 s at most */
                CHECK(sd_event_run(a->event, UINT64_MAX) >= 0);
        sd_event_source_disable_unref(t);
}

TEST(async_commit_and_unpack) {
        char *dir = tmp_root();
        struct image_store *s = open_store(dir);
        struct async_fx a = {};
        struct image_store_job *j = NULL;
        nl_error err = NL_ERROR_INIT;
        char digest[DIGEST_STRING_MAX], *path = NULL, *fifo = NULL;
        int fd = -1;

        CHECK(s);
        CHECK_INT_EQ(sd_event_new(&a.event), 0);
        if (!s || !a.event)
                goto out;
        /* a good blob is committed, from the loop */
        digest_buffer("hello", 5, digest);
        CHECK_INT_EQ(image_store_tmpfile(s, &path, &fd), 0);
        CHECK_INT_EQ(write(fd, "hello", 5), 5);
        close(fd);
        CHECK_INT_EQ(image_store_commit_blob_async(s, a.event, path, digest, 5, async_done, &a, &j, &err), 0);
        CHECK_INT_EQ(a.done, 0); /* never from the start call */
        async_run(&a);
        CHECK_INT_EQ(a.done, 1);
        CHECK_INT_EQ(a.r, 0);
        CHECK(image_store_has_blob(s, digest));
        free(path);
        path = NULL;

        /* A child that cannot go on (its "blob" is a FIFO nobody writes) does not hold up the
         * loop: the timer runs until it lets the child go; the child's error comes back whole. */
        fifo = nl_strdupf("%s/fifo", s->tmp_dir);
        CHECK_INT_EQ(mkfifo(fifo, 0600), 0);
        CHECK_INT_EQ(image_store_commit_blob_async(s, a.event, fifo, digest, 5, async_done, &a, &j, &err), 0);
        a.fifo = fifo;
        async_run(&a);
        CHECK_INT_EQ(a.done, 1);
        CHECK(a.ticks >= 5);
        CHECK_INT_EQ(a.r, -EINVAL);
        CHECK(a.msg && strstr(a.msg, "is not a regular file"));

        /* a layer is unpacked */
        const char *names[] = {"etc/hello"};
        struct membuf t;
        char layer[DIGEST_STRING_MAX];
        tar_of_names(names, 1, &t);
        CHECK_INT_EQ(image_store_put_blob(s, t.data, t.len, NULL, layer, &err), 0);
        free(t.data);
        CHECK_INT_EQ(image_store_unpack_layer_async(s, a.event, layer, MEDIA_OCI_LAYER, layer, layer, async_done, &a,
                                                    &j, &err), 0);
        async_run(&a);
        CHECK_INT_EQ(a.done, 1);
        CHECK_INT_EQ(a.r, 0);
        CHECK(layer_dir_exists(s, layer));
        /* a diff ID that is not the content's: the message names both */
        char other[DIGEST_STRING_MAX];
        digest_buffer("x", 1, other);
        CHECK_INT_EQ(image_store_unpack_layer_async(s, a.event, layer, MEDIA_OCI_LAYER, other, other, async_done, &a,
                                                    &j, &err), 0);
        async_run(&a);
        CHECK_INT_EQ(a.r, -EBADMSG);
        CHECK(a.msg && strstr(a.msg, "expected diff_id"));

        /* cancelled: done never comes, the child is reaped from the loop */
        (void) unlink(fifo);
        CHECK_INT_EQ(mkfifo(fifo, 0600), 0);
        CHECK_INT_EQ(image_store_commit_blob_async(s, a.event, fifo, digest, 5, async_done, &a, &j, &err), 0);
        image_store_job_cancel(j);
        a.fifo = NULL;
        a.done = 0;
        for (int i = 0; i < 20; i++)
                CHECK(sd_event_run(a.event, 10000) >= 0);
        CHECK_INT_EQ(a.done, 0);
        CHECK(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD);
out:
        free(fifo);
        free(a.msg);
        nl_error_clear(&err);
        sd_event_unref(a.event);
        image_store_close(s);
        cleanup_root(dir);
}

/* ==== records ============================================================================= */

TEST(add_and_lookup) {
        static const char *const files[] = {"base", "app"};
        char *dir = tmp_root();
        struct image_store *s = open_store(dir);
        nl_error err = NL_ERROR_INIT;
        struct image_info *i = NULL;
        struct img a;
        char q[128], *rd;

        CHECK(s);
        if (!s || make_image(s, files, 2, "a", &a) < 0)
                goto out;
        CHECK_INT_EQ(image_store_add_image(s, "docker.io/library/app:1", a.manifest, NULL, &err), 0);

        CHECK_INT_EQ(image_store_lookup(s, "docker.io/library/app:1", &i, &err), 0);
        if (i) {
                CHECK_STR_EQ(i->id, a.config);
                CHECK_STR_EQ(i->manifest_digest, a.manifest);
                CHECK(i->index_digest == NULL);
                CHECK_INT_EQ(i->n_names, 1);
                CHECK_INT_EQ(i->n_repo_digests, 1);
                rd = nl_strdupf("docker.io/library/app@%s", a.manifest);
                CHECK_STR_EQ(i->repo_digests[0], rd);
                free(rd);
                CHECK_INT_EQ(i->n_chain_ids, 2);
                CHECK_STR_EQ(i->chain_ids[0], a.chains[0]);
                CHECK_STR_EQ(i->chain_ids[1], a.chains[1]);
                CHECK(i->size > 0);
                CHECK(i->created > 0 && i->last_used >= i->created);
                CHECK(i->config && i->config->n_diff_ids == 2);
        }
        image_info_free(i);
        i = NULL;

        /* by full id, by "sha256:" + 12 hex, by bare 12 hex, by repo digest */
        CHECK_INT_EQ(image_store_lookup(s, a.config, &i, &err), 0);
        image_info_free(i);
        i = NULL;
        snprintf(q, sizeof(q), "sha256:%.12s", digest_hex(a.config));
        CHECK_INT_EQ(image_store_lookup(s, q, &i, &err), 0);
        image_info_free(i);
        i = NULL;
        snprintf(q, sizeof(q), "%.12s", digest_hex(a.config));
        CHECK_INT_EQ(image_store_lookup(s, q, &i, &err), 0);
        CHECK(i && streq(i->id, a.config));
        image_info_free(i);
        i = NULL;
        snprintf(q, sizeof(q), "%.11s", digest_hex(a.config)); /* too short to be an ID */
        CHECK_INT_EQ(image_store_lookup(s, q, &i, &err), -ENOENT);
        snprintf(q, sizeof(q), "docker.io/library/app@%s", a.manifest);
        CHECK_INT_EQ(image_store_lookup(s, q, &i, &err), 0);
        image_info_free(i);
        i = NULL;
        CHECK_INT_EQ(image_store_lookup(s, "docker.io/library/nope:1", &i, &err), -ENOENT);
        CHECK(err.msg && strstr(err.msg, "docker.io/library/nope:1"));

        /* a digest pull: the name carries the digest, which becomes a repo digest only */
        snprintf(q, sizeof(q), "docker.io/library/app@%s", a.manifest);
        CHECK_INT_EQ(image_store_add_image(s, q, a.manifest, NULL, &err), 0);
        CHECK_INT_EQ(image_store_lookup(s, a.config, &i, &err), 0);
        CHECK(i && i->n_names == 1 && i->n_repo_digests == 1);
        image_info_free(i);
        i = NULL;

        /* records survive a reopen; touch moves last_used */
        image_store_close(s);
        s = open_store(dir);
        CHECK_INT_EQ(image_store_lookup(s, "docker.io/library/app:1", &i, &err), 0);
        usec_t before = i ? i->last_used : 0;
        image_info_free(i);
        i = NULL;
        usleep(2000);
        CHECK_INT_EQ(image_store_touch(s, a.config), 0);
        CHECK_INT_EQ(image_store_lookup(s, a.config, &i, &err), 0);
        CHECK(i && i->last_used > before);
        image_info_free(i);
        i = NULL;

        /* refused: a missing layer, a bad name, an index as manifest */
        CHECK_INT_EQ(image_store_add_image(s, "bad name", a.manifest, NULL, &err), -EINVAL);
out:
        nl_error_clear(&err);
        image_store_close(s);
        cleanup_root(dir);
}

TEST(add_refuses_incomplete) {
        static const char *const files[] = {"only"};
        char *dir = tmp_root();
        struct image_store *s = open_store(dir);
        nl_error err = NL_ERROR_INIT;
        struct img a;
        char *p;

        CHECK(s);
        if (!s || make_image(s, files, 1, "x", &a) < 0)
                goto out;
        /* without its unpacked layer the image is not whole */
        p = nl_strdupf("%s/store/layers/%s", dir, digest_hex(a.chains[0]));
        CHECK_INT_EQ(nl_rm_rf_at(AT_FDCWD, p), 0);
        free(p);
        CHECK_INT_EQ(image_store_add_image(s, "docker.io/library/x:1", a.manifest, NULL, &err), -ENOENT);
        CHECK(err.msg && strstr(err.msg, a.layers[0]));
        /* nor without its manifest */
        char missing[DIGEST_STRING_MAX];
        digest_buffer("nothing", 7, missing);
        CHECK(image_store_add_image(s, NULL, missing, NULL, &err) < 0);
        struct image_info **l = NULL;
        size_t n = 99;
        CHECK_INT_EQ(image_store_list(s, &l, &n, &err), 0);
        CHECK_INT_EQ(n, 0);
        image_info_list_free(l, n);
out:
        nl_error_clear(&err);
        image_store_close(s);
        cleanup_root(dir);
}

TEST(name_moves) {
        static const char *const fa[] = {"a1"}, *const fb[] = {"b1"};
        char *dir = tmp_root();
        struct image_store *s = open_store(dir);
        nl_error err = NL_ERROR_INIT;
        struct image_info *i = NULL, **l = NULL;
        struct img a, b;
        size_t n = 0;

        CHECK(s);
        if (!s || make_image(s, fa, 1, "a", &a) < 0 || make_image(s, fb, 1, "b", &b) < 0)
                goto out;
        CHECK_INT_EQ(image_store_add_image(s, "docker.io/library/x:latest", a.manifest, NULL, &err), 0);
        CHECK_INT_EQ(image_store_add_image(s, "docker.io/library/x:old", a.manifest, NULL, &err), 0);
        CHECK_INT_EQ(image_store_add_image(s, "docker.io/library/x:latest", b.manifest, NULL, &err), 0);
        CHECK_INT_EQ(image_store_lookup(s, "docker.io/library/x:latest", &i, &err), 0);
        CHECK(i && streq(i->id, b.config));
        image_info_free(i);
        i = NULL;
        CHECK_INT_EQ(image_store_lookup(s, a.config, &i, &err), 0);
        CHECK(i && i->n_names == 1 && streq(i->names[0], "docker.io/library/x:old"));
        image_info_free(i);
        i = NULL;
        CHECK_INT_EQ(image_store_list(s, &l, &n, &err), 0);
        CHECK_INT_EQ(n, 2);
        if (n == 2)
                CHECK(strcmp(l[0]->id, l[1]->id) < 0);
        image_info_list_free(l, n);
out:
        nl_error_clear(&err);
        image_store_close(s);
        cleanup_root(dir);
}

TEST(remove_keeps_shared) {
        static const char *const fa[] = {"shared", "a-only"}, *const fb[] = {"shared", "b-only"};
        char *dir = tmp_root();
        struct image_store *s = open_store(dir);
        nl_error err = NL_ERROR_INIT;
        struct image_info *i = NULL;
        struct img a, b;

        CHECK(s);
        if (!s || make_image(s, fa, 2, "a", &a) < 0 || make_image(s, fb, 2, "b", &b) < 0)
                goto out;
        CHECK_STR_EQ(a.chains[0], b.chains[0]);
        CHECK_INT_EQ(image_store_add_image(s, "docker.io/library/a:1", a.manifest, NULL, &err), 0);
        CHECK_INT_EQ(image_store_add_image(s, "docker.io/library/a:2", a.manifest, NULL, &err), 0);
        CHECK_INT_EQ(image_store_add_image(s, "docker.io/library/b:1", b.manifest, NULL, &err), 0);

        /* removing one of two names keeps the image */
        CHECK_INT_EQ(image_store_remove(s, "docker.io/library/a:1", &err), 0);
        CHECK_INT_EQ(image_store_lookup(s, "docker.io/library/a:2", &i, &err), 0);
        image_info_free(i);
        i = NULL;
        CHECK(blob_file_exists(s, a.layers[1]));

        /* the last name takes the image and what only it used */
        CHECK_INT_EQ(image_store_remove(s, "docker.io/library/a:2", &err), 0);
        CHECK_INT_EQ(image_store_lookup(s, a.config, &i, &err), -ENOENT);
        CHECK(!blob_file_exists(s, a.manifest));
        CHECK(!blob_file_exists(s, a.config));
        CHECK(!blob_file_exists(s, a.layers[1]));
        CHECK(!image_store_has_layer(s, a.chains[1]));
        CHECK(!layer_dir_exists(s, a.chains[1]));
        /* shared with b: kept */
        CHECK(blob_file_exists(s, a.layers[0]));
        CHECK(image_store_has_layer(s, a.chains[0]));
        CHECK(layer_dir_exists(s, b.chains[0]));
        CHECK(blob_file_exists(s, b.manifest));
        CHECK_INT_EQ(image_store_lookup(s, "docker.io/library/b:1", &i, &err), 0);
        image_info_free(i);
        i = NULL;

        /* by ID, the image goes whole */
        CHECK_INT_EQ(image_store_remove(s, b.config, &err), 0);
        CHECK(!image_store_has_layer(s, b.chains[0]));
        CHECK(!blob_file_exists(s, b.layers[0]));
        CHECK_INT_EQ(image_store_remove(s, b.config, &err), -ENOENT);
        CHECK(err.msg && strstr(err.msg, b.config));
out:
        nl_error_clear(&err);
        image_store_close(s);
        cleanup_root(dir);
}

TEST(gc_keeps_in_use) {
        static const char *const fa[] = {"ga"}, *const fb[] = {"gb"}, *const fc[] = {"gc"};
        char *dir = tmp_root();
        struct image_store *s = open_store(dir);
        nl_error err = NL_ERROR_INIT;
        struct image_info *i = NULL;
        struct img a, b, c;

        CHECK(s);
        if (!s || make_image(s, fa, 1, "a", &a) < 0 || make_image(s, fb, 1, "b", &b) < 0 ||
            make_image(s, fc, 1, "c", &c) < 0)
                goto out;
        CHECK_INT_EQ(image_store_add_image(s, "docker.io/library/a:1", a.manifest, NULL, &err), 0);
        CHECK_INT_EQ(image_store_add_image(s, "docker.io/library/b:1", b.manifest, NULL, &err), 0);
        CHECK_INT_EQ(image_store_add_image(s, "docker.io/library/c:1", c.manifest, NULL, &err), 0);
        char *in_use[] = {b.config};

        /* below the high threshold: nothing happens */
        CHECK_INT_EQ(image_store_gc(s, in_use, 1, 100, 90, &err), 0);
        CHECK_INT_EQ(image_store_lookup(s, a.config, &i, &err), 0);
        image_info_free(i);
        i = NULL;
        /* above it (1%) with a target no filesystem reaches (0%): every unused image goes */
        CHECK_INT_EQ(image_store_gc(s, in_use, 1, 1, 0, &err), 2);
        CHECK_INT_EQ(image_store_lookup(s, a.config, &i, &err), -ENOENT);
        CHECK_INT_EQ(image_store_lookup(s, c.config, &i, &err), -ENOENT);
        CHECK_INT_EQ(image_store_lookup(s, b.config, &i, &err), 0);
        image_info_free(i);
        i = NULL;
        CHECK(image_store_has_layer(s, b.chains[0]));
        CHECK(!image_store_has_layer(s, a.chains[0]));
        /* prune (high 0) also spares it; then, unused, it goes */
        CHECK_INT_EQ(image_store_gc(s, in_use, 1, 0, 0, &err), 0);
        CHECK_INT_EQ(image_store_gc(s, NULL, 0, 0, 0, &err), 1);
        CHECK(!image_store_has_layer(s, b.chains[0]));
        CHECK_INT_EQ(image_store_gc(s, NULL, 0, 80, 85, &err), -EINVAL);
out:
        nl_error_clear(&err);
        image_store_close(s);
        cleanup_root(dir);
}
