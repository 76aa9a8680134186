/* SPDX-License-Identifier: Apache-2.0 */
/* nodelet-shim with real containers, as root, through crun and runc (every case runs for
 * both): CRI log lines and streams, long-line splitting, rotation, exit codes and reasons,
 * SIGKILL, OOM kills, surviving its parent, never blocking on an unwritable log, --tty.
 * The rootfs is /bin/busybox (busybox-static) with a few applet links; each case has its own
 * temp directory (bundle, state, logs, runtime root) and cgroup, removed after. Without root,
 * the shim binary (next to this test: ../nodelet-shim) or a runtime, cases are skipped with a
 * note. Under SANITIZE=1 the shim's sanitizer reports go to files that the last test checks. */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "cri/cri.h"
#include "tests/lib/util.h"
#include "../unit/test.h"

#define CGROUP_PARENT "/nodelet-test-shim"
#define EXIT_TIMEOUT_MSEC 30000

static const char *const runtimes[] = {"crun", "runc"};

static struct {
        bool tried, ok;
        char root[64]; /* /tmp/nodelet-test-shim.XXXXXX: rootfs/, sanitizer logs */
        char rootfs[128];
        char shim[PATH_MAX];
        char runtime_path[2][PATH_MAX];
} fx;

/* ==== helpers ============================================================================== */

static int run_quiet(const char *const argv[]) {
        pid_t pid = fork();
        if (pid == 0) {
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);
                dup2(null, 0);
                dup2(null, 1);
                dup2(null, 2);
                execvp(argv[0], (char *const *) argv);
                _exit(127);
        }
        int status = 0;
        if (pid < 0 || waitpid(pid, &status, 0) < 0)
                return -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int run_shell(const char *cmd) {
        const char *argv[] = {"/bin/sh", "-c", cmd, NULL};
        return run_quiet(argv);
}

static bool find_in_path(const char *name, char ret[PATH_MAX]) {
        const char *path = getenv("PATH");
        _cleanup_free_ char *copy =
                strdup(path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        char *save = NULL;
        for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
                snprintf(ret, PATH_MAX, "%s/%s", d, name);
                if (access(ret, X_OK) == 0)
                        return true;
        }
        return false;
}

static void cleanup_fixture(void) {
        if (fx.root[0]) {
                char cmd[256];
                snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx.root);
                run_shell(cmd);
        }
        run_shell("for d in /sys/fs/cgroup/*/" CGROUP_PARENT "; do [ -d \"$d\" ] && rmdir \"$d\"; done");
}

static bool fixture(void) {
        if (fx.tried)
                return fx.ok;
        fx.tried = true;
        if (geteuid() != 0) {
                fprintf(stderr, "  skip: runtime tests need root\n");
                return false;
        }
        char exe[PATH_MAX - 32];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (n <= 0)
                return false;
        exe[n] = '\0';
        *strrchr(exe, '/') = '\0';
        snprintf(fx.shim, sizeof(fx.shim), "%s/../nodelet-shim", exe);
        if (access(fx.shim, X_OK) < 0) {
                fprintf(stderr, "  skip: %s not built\n", fx.shim);
                return false;
        }
        if (access("/bin/busybox", X_OK) < 0) {
                fprintf(stderr, "  skip: /bin/busybox (busybox-static) missing\n");
                return false;
        }
        /* the node is prepared as a user prepares it (deploy/prepare-node.sh, run from the source
         * dir: make runs the tests there), so a bug in it fails these tests */
        const char *src = getenv("NODELET_SOURCE_DIR");
        char prepare[PATH_MAX];
        snprintf(prepare, sizeof(prepare), "'%s/deploy/prepare-node.sh' --quiet", src ? src : ".");
        if (run_shell(prepare) != 0) {
                TEST_FAIL("deploy/prepare-node.sh failed: the node cannot run containers");
                return false;
        }

        snprintf(fx.root, sizeof(fx.root), "/tmp/nodelet-test-shim.XXXXXX");
        if (!mkdtemp(fx.root)) {
                fx.root[0] = '\0';
                return false;
        }
        atexit(cleanup_fixture);
        snprintf(fx.rootfs, sizeof(fx.rootfs), "%s/rootfs", fx.root);
        char cmd[1024];
        snprintf(cmd, sizeof(cmd),
                 "set -e; cd '%s'; mkdir -p bin dev proc sys tmp etc; cp /bin/busybox bin/; "
                 "for a in sh echo cat sleep head tail tr dd printf kill true yes; do ln -s busybox bin/$a; "
                 "done",
                 fx.rootfs);
        if (mkdir(fx.rootfs, 0755) < 0 || run_shell(cmd) != 0)
                return false;
        /* the shim's sanitizer reports (SANITIZE=1): its stderr is /dev/null */
        char opts[256];
        snprintf(opts, sizeof(opts), "log_path=%s/sanitizer", fx.root);
        setenv("ASAN_OPTIONS", opts, 1);
        setenv("UBSAN_OPTIONS", opts, 1);
        fx.ok = true;
        return true;
}

static bool runtime_ok(int i) {
        if (!fx.runtime_path[i][0] && !find_in_path(runtimes[i], fx.runtime_path[i])) {
                fprintf(stderr, "  skip: %s not installed\n", runtimes[i]);
                fx.runtime_path[i][0] = '\0';
                return false;
        }
        return true;
}

/* ==== one container ======================================================================== */

struct ctr {
        const char *runtime;
        char dir[128], bundle[160], state[160], logdir[160], log[192], rtroot[160];
        char id[96], cgroup[160];
        pid_t init;
        bool created, log_mounted, immutable;
};

struct ctr_opts {
        const char *const *args;
        int64_t memory_limit;
        bool tty;
};

static bool ctr_setup(struct ctr *c, int rt, const char *name, const struct ctr_opts *o) {
        *c = (struct ctr){.runtime = fx.runtime_path[rt]};
        snprintf(c->dir, sizeof(c->dir), "/tmp/nodelet-shim-%s-%s.XXXXXX", runtimes[rt], name);
        if (!mkdtemp(c->dir)) {
                c->dir[0] = '\0';
                return false;
        }
        snprintf(c->bundle, sizeof(c->bundle), "%s/bundle", c->dir);
        snprintf(c->state, sizeof(c->state), "%s/state", c->dir);
        snprintf(c->logdir, sizeof(c->logdir), "%s/logs", c->dir);
        snprintf(c->log, sizeof(c->log), "%s/0.log", c->logdir);
        snprintf(c->rtroot, sizeof(c->rtroot), "%s/rt", c->dir);
        snprintf(c->id, sizeof(c->id), "shimtest-%s-%s-%d", runtimes[rt], name, (int) getpid());
        snprintf(c->cgroup, sizeof(c->cgroup), CGROUP_PARENT "/%s", c->id);
        if (mkdir(c->bundle, 0755) < 0 || mkdir(c->state, 0700) < 0 || mkdir(c->logdir, 0755) < 0 ||
            mkdir(c->rtroot, 0700) < 0)
                return false;

        char cmd[512];
        snprintf(cmd, sizeof(cmd), "cd '%s' && '%s' spec", c->bundle, c->runtime);
        if (run_shell(cmd) != 0)
                return false;
        _cleanup_free_ char *config = nl_strdupf("%s/config.json", c->bundle);
        json_error_t je;
        json_t *spec = json_load_file(config, 0, &je);
        if (!spec)
                return false;
        json_t *args = json_array();
        for (size_t i = 0; o->args[i]; i++)
                json_array_append_new(args, json_string(o->args[i]));
        json_t *process = json_object_get(spec, "process"), *linux_ = json_object_get(spec, "linux");
        json_object_set_new(process, "args", args);
        json_object_set_new(process, "terminal", json_boolean(o->tty));
        json_object_set_new(spec, "root", json_pack("{s:s, s:b}", "path", fx.rootfs, "readonly", 1));
        json_object_set_new(linux_, "cgroupsPath", json_string(c->cgroup));
        if (o->memory_limit > 0)
                json_object_set_new(linux_, "resources",
                                    json_pack("{s:{s:I}}", "memory", "limit", (json_int_t) o->memory_limit));
        int r = json_dump_file(spec, config, JSON_INDENT(2));
        json_decref(spec);
        return r == 0;
}

static int ctr_create(struct ctr *c, int64_t max_size, int max_files, bool tty, nl_error *err) {
        struct shim_start s = {
                .shim_path = fx.shim,
                .runtime_path = c->runtime,
                .runtime_root = c->rtroot,
                .id = c->id,
                .bundle = c->bundle,
                .state_dir = c->state,
                .log_path = c->log,
                .log_max_size = max_size,
                .log_max_files = max_files,
                .cgroup_path = c->cgroup,
                .tty = tty,
        };
        int r = shim_create(&s, &c->init, err);
        c->created = r == 0;
        return r;
}

static int ctr_runtime(struct ctr *c, const char *verb, const char *arg) {
        const char *argv[] = {c->runtime,        "--root",           c->rtroot, verb,
                              arg ? arg : c->id, arg ? c->id : NULL, NULL};
        return run_quiet(argv);
}

static int ctr_wait(struct ctr *c, struct shim_exit *ret) {
        for (int waited = 0; waited < EXIT_TIMEOUT_MSEC; waited += 20) {
                int r = shim_read_exit(c->state, ret, NULL);
                if (r != -ENOENT)
                        return r;
                nanosleep(&(struct timespec){.tv_nsec = 20 * 1000 * 1000}, NULL);
        }
        return -ETIMEDOUT;
}

static pid_t ctr_shim_pid(struct ctr *c) {
        _cleanup_free_ char *p = nl_strdupf("%s/shim.pid", c->state), *text = test_read_file(p, NULL);
        return text ? (pid_t) strtol(text, NULL, 10) : 0;
}

static void ctr_cleanup(struct ctr *c) {
        if (!c->dir[0])
                return;
        if (c->created) {
                const char *kill_argv[] = {c->runtime, "--root", c->rtroot, "kill", c->id, "KILL", NULL};
                run_quiet(kill_argv);
                ctr_runtime(c, "delete", "-f");
        }
        char cmd[512];
        if (c->immutable) {
                snprintf(cmd, sizeof(cmd), "chattr -R -i '%s'", c->logdir);
                run_shell(cmd);
        }
        if (c->log_mounted)
                umount2(c->logdir, MNT_DETACH);
        /* the shim may still be finishing (after a kill): give it a moment to exit */
        pid_t shim = ctr_shim_pid(c);
        for (int i = 0; shim > 0 && i < 100 && shim_alive(c->state); i++)
                nanosleep(&(struct timespec){.tv_nsec = 20 * 1000 * 1000}, NULL);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", c->dir);
        run_shell(cmd);
}

/* The log's entries, each checked to parse. */
struct entries {
        struct log_line *l;
        size_t n;
        bool bad;
};

static void entries_load(struct entries *e, const char *path) {
        *e = (struct entries){};
        _cleanup_free_ char *text = test_read_file(path, NULL);
        if (!text) {
                e->bad = true;
                return;
        }
        for (char *p = text; *p;) {
                char *nl = strchr(p, '\n');
                if (!nl) {
                        e->bad = true;
                        return;
                }
                struct log_line *l = realloc(e->l, (e->n + 1) * sizeof(*l));
                if (!l)
                        return;
                e->l = l;
                if (cri_log_parse_line(p, (size_t) (nl - p) + 1, &e->l[e->n]) < 0) {
                        e->bad = true;
                        return;
                }
                e->n++;
                p = nl + 1;
        }
}

static void entries_done(struct entries *e) {
        for (size_t i = 0; i < e->n; i++)
                log_line_done(&e->l[i]);
        free(e->l);
}

static ssize_t entries_find(const struct entries *e, const char *msg, bool is_stderr) {
        for (size_t i = 0; i < e->n; i++)
                if (streq(e->l[i].msg, msg) && e->l[i].stderr_ == is_stderr && !e->l[i].partial)
                        return (ssize_t) i;
        return -1;
}

/* Run a container to its end; the usual checks are the caller's. */
static bool run_to_exit(struct ctr *c, int rt, const char *name, const struct ctr_opts *o, int64_t max_size,
                        int max_files, struct shim_exit *ex) {
        nl_error err = NL_ERROR_INIT;
        if (!ctr_setup(c, rt, name, o)) {
                TEST_FAIL("%s %s: bundle setup failed", runtimes[rt], name);
                return false;
        }
        if (ctr_create(c, max_size, max_files, o->tty, &err) < 0) {
                TEST_FAIL("%s %s: create: %s", runtimes[rt], name, strempty(err.msg));
                nl_error_clear(&err);
                return false;
        }
        CHECK(c->init > 0);
        if (ctr_runtime(c, "start", NULL) != 0) {
                TEST_FAIL("%s %s: start failed", runtimes[rt], name);
                return false;
        }
        int r = ctr_wait(c, ex);
        if (r < 0) {
                TEST_FAIL("%s %s: no exit status: %s", runtimes[rt], name, strerror(-r));
                return false;
        }
        return true;
}

#define FOR_EACH_RUNTIME(rt)                                                                                \
        if (!fixture())                                                                                     \
                return;                                                                                     \
        for (int rt = 0; rt < (int) ELEMENTSOF(runtimes); rt++)                                             \
                if (runtime_ok(rt))

/* ==== cases ================================================================================ */

TEST(streams_in_cri_format) {
        FOR_EACH_RUNTIME(rt) {
                static const char *const args[] = {
                        "sh", "-c", "echo out1; echo err1 >&2; echo out2; echo err2 >&2; exit 0", NULL};
                struct ctr c;
                struct shim_exit ex = {};
                if (run_to_exit(&c, rt, "streams", &(struct ctr_opts){.args = args}, 0, 5, &ex)) {
                        CHECK_INT_EQ(ex.exit_code, 0);
                        CHECK_INT_EQ(ex.signal, 0);
                        CHECK(!ex.oom_killed);
                        CHECK_STR_EQ(ex.reason, "Completed");
                        CHECK(ex.finished_at && strlen(ex.finished_at) == 30);
                        struct entries e;
                        entries_load(&e, c.log);
                        CHECK(!e.bad);
                        CHECK_INT_EQ(e.n, 4);
                        ssize_t o1 = entries_find(&e, "out1", false), o2 = entries_find(&e, "out2", false),
                                e1 = entries_find(&e, "err1", true), e2 = entries_find(&e, "err2", true);
                        if (o1 < 0 || o2 < 0 || e1 < 0 || e2 < 0 || o1 > o2 || e1 > e2)
                                TEST_FAIL("%s: log lines %zd %zd %zd %zd", runtimes[rt], o1, o2, e1, e2);
                        entries_done(&e);
                }
                shim_exit_done(&ex);
                ctr_cleanup(&c);
        }
}

TEST(long_line_split_p_p_f) {
        FOR_EACH_RUNTIME(rt) {
                static const char *const args[] = {
                        "sh", "-c",
                        "dd if=/dev/zero bs=1024 count=40 2>/dev/null | tr '\\0' a; echo; echo -n end",
                        NULL};
                struct ctr c;
                struct shim_exit ex = {};
                if (run_to_exit(&c, rt, "longline", &(struct ctr_opts){.args = args}, 0, 5, &ex)) {
                        CHECK_INT_EQ(ex.exit_code, 0);
                        struct entries e;
                        entries_load(&e, c.log);
                        CHECK(!e.bad);
                        CHECK_INT_EQ(e.n, 4);
                        if (e.n == 4) {
                                CHECK(e.l[0].partial && strlen(e.l[0].msg) == 16384);
                                CHECK(e.l[1].partial && strlen(e.l[1].msg) == 16384);
                                CHECK(!e.l[2].partial && strlen(e.l[2].msg) == 8192);
                                CHECK(e.l[0].msg[0] == 'a' && e.l[2].msg[8191] == 'a');
                                /* output without a final newline: "P" at EOF, as containerd */
                                CHECK(e.l[3].partial);
                                CHECK_STR_EQ(e.l[3].msg, "end");
                        }
                        entries_done(&e);
                        char *tail = NULL;
                        CHECK_INT_EQ(cri_log_tail(c.log, 80, 2048, &tail), 0);
                        CHECK(tail && strlen(tail) == 2048 && strcmp(tail + 2048 - 5, "a\nend") == 0);
                        free(tail);
                }
                shim_exit_done(&ex);
                ctr_cleanup(&c);
        }
}

TEST(rotation_keeps_max_files) {
        FOR_EACH_RUNTIME(rt) {
                static const char *const args[] = {"sh", "-c",
                                                   "i=0; while [ $i -lt 400 ]; do echo \"line $i padding "
                                                   "padding padding\"; i=$((i+1)); done",
                                                   NULL};
                struct ctr c;
                struct shim_exit ex = {};
                if (run_to_exit(&c, rt, "rotate", &(struct ctr_opts){.args = args}, 4096, 3, &ex)) {
                        CHECK_INT_EQ(ex.exit_code, 0);
                        DIR *d = opendir(c.logdir);
                        unsigned files = 0;
                        struct dirent *de;
                        while (d && (de = readdir(d)))
                                if (strncmp(de->d_name, "0.log", 5) == 0)
                                        files++;
                        if (d)
                                closedir(d);
                        CHECK_INT_EQ(files, 3);
                        struct stat st;
                        CHECK(stat(c.log, &st) == 0 && st.st_size > 0 && st.st_size <= 4096);
                        struct entries e;
                        entries_load(&e, c.log);
                        CHECK(!e.bad);
                        CHECK(e.n > 0 && streq(e.l[e.n - 1].msg, "line 399 padding padding padding"));
                        entries_done(&e);
                }
                shim_exit_done(&ex);
                ctr_cleanup(&c);
        }
}

TEST(exit_codes_and_reasons) {
        FOR_EACH_RUNTIME(rt) {
                static const char *const fail[] = {"sh", "-c", "exit 3", NULL};
                static const char *const ok[] = {"true", NULL};
                struct ctr c;
                struct shim_exit ex = {};
                if (run_to_exit(&c, rt, "exit3", &(struct ctr_opts){.args = fail}, 0, 5, &ex)) {
                        CHECK_INT_EQ(ex.exit_code, 3);
                        CHECK_INT_EQ(ex.signal, 0);
                        CHECK_STR_EQ(ex.reason, "Error");
                }
                shim_exit_done(&ex);
                ctr_cleanup(&c);
                if (run_to_exit(&c, rt, "exit0", &(struct ctr_opts){.args = ok}, 0, 5, &ex)) {
                        CHECK_INT_EQ(ex.exit_code, 0);
                        CHECK_STR_EQ(ex.reason, "Completed");
                        /* the shim exits right after writing exit.json */
                        for (int i = 0; i < 100 && shim_alive(c.state); i++)
                                nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
                        CHECK(!shim_alive(c.state));
                }
                shim_exit_done(&ex);
                ctr_cleanup(&c);
        }
}

static long vm_rss_kb(pid_t pid) {
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
        _cleanup_free_ char *text = test_read_file(path, NULL);
        const char *p = text ? strstr(text, "VmRSS:") : NULL;
        return p ? strtol(p + 6, NULL, 10) : -1;
}

TEST(sigkill_gives_137) {
        FOR_EACH_RUNTIME(rt) {
                static const char *const args[] = {"sleep", "1000", NULL};
                struct ctr c;
                nl_error err = NL_ERROR_INIT;
                struct shim_exit ex = {};
                if (!ctr_setup(&c, rt, "kill9", &(struct ctr_opts){.args = args}) ||
                    ctr_create(&c, 0, 5, false, &err) < 0 || ctr_runtime(&c, "start", NULL) != 0) {
                        TEST_FAIL("%s: could not run: %s", runtimes[rt], strempty(err.msg));
                        nl_error_clear(&err);
                        ctr_cleanup(&c);
                        continue;
                }
                CHECK(shim_alive(c.state));
                CHECK(shim_read_exit(c.state, &ex, NULL) == -ENOENT);
                pid_t shim = ctr_shim_pid(&c);
                fprintf(stderr, "  %s: nodelet-shim VmRSS %ld kB with a running container\n", runtimes[rt],
                        vm_rss_kb(shim));
                CHECK_INT_EQ(kill(c.init, SIGKILL), 0);
                if (ctr_wait(&c, &ex) == 0) {
                        CHECK_INT_EQ(ex.exit_code, 137);
                        CHECK_INT_EQ(ex.signal, 9);
                        CHECK(!ex.oom_killed);
                        CHECK_STR_EQ(ex.reason, "Error");
                } else
                        TEST_FAIL("%s: no exit status after SIGKILL", runtimes[rt]);
                shim_exit_done(&ex);
                ctr_cleanup(&c);
        }
}

TEST(oom_killed) {
        FOR_EACH_RUNTIME(rt) {
                /* tail keeps the whole "line" (no newline in 100 MiB of zeros) in memory */
                static const char *const args[] = {
                        "sh", "-c", "head -c 104857600 /dev/zero | tail; echo status $?", NULL};
                struct ctr c;
                struct shim_exit ex = {};
                struct ctr_opts o = {.args = args, .memory_limit = 16 * 1024 * 1024};
                /* Which process the kernel picks is its choice (tail, or sh itself): only the
                 * container's verdict is checked, not a line the shell may not live to print. */
                if (run_to_exit(&c, rt, "oom", &o, 0, 5, &ex)) {
                        CHECK(ex.oom_killed);
                        CHECK_STR_EQ(ex.reason, "OOMKilled");
                }
                shim_exit_done(&ex);
                ctr_cleanup(&c);
        }
}

static bool fd_link_held(pid_t pid, const char *target) {
        char dir[64];
        snprintf(dir, sizeof(dir), "/proc/%d/fd", (int) pid);
        DIR *d = opendir(dir);
        struct dirent *de;
        bool held = false;
        while (d && (de = readdir(d))) {
                char path[PATH_MAX], link[PATH_MAX];
                snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
                ssize_t n = readlink(path, link, sizeof(link) - 1);
                if (n > 0) {
                        link[n] = '\0';
                        held |= streq(link, target);
                }
        }
        if (d)
                closedir(d);
        return held;
}

TEST(survives_its_parent_and_holds_no_caller_fds) {
        FOR_EACH_RUNTIME(rt) {
                static const char *const args[] = {"sh", "-c", "echo hello; sleep 1000", NULL};
                struct ctr c;
                struct shim_exit ex = {};
                if (!ctr_setup(&c, rt, "orphan", &(struct ctr_opts){.args = args})) {
                        TEST_FAIL("%s: setup", runtimes[rt]);
                        ctr_cleanup(&c);
                        continue;
                }
                /* a descriptor the "daemon" leaks without O_CLOEXEC */
                int leak[2];
                CHECK_INT_EQ(pipe(leak), 0);
                char leak_target[PATH_MAX], self_fd[64];
                snprintf(self_fd, sizeof(self_fd), "/proc/self/fd/%d", leak[1]);
                ssize_t n = readlink(self_fd, leak_target, sizeof(leak_target) - 1);
                leak_target[n > 0 ? n : 0] = '\0';

                /* the "daemon": creates the container, then dies by SIGKILL */
                int res[2];
                CHECK_INT_EQ(pipe2(res, O_CLOEXEC), 0);
                pid_t daemon = fork();
                if (daemon == 0) {
                        nl_error err = NL_ERROR_INIT;
                        int r = ctr_create(&c, 0, 5, false, &err);
                        int v = r < 0 ? r : (int) c.init;
                        (void) !write(res[1], &v, sizeof(v));
                        pause();
                        _exit(0);
                }
                close(res[1]);
                int v = 0;
                CHECK(read(res[0], &v, sizeof(v)) == sizeof(v));
                close(res[0]);
                kill(daemon, SIGKILL);
                waitpid(daemon, NULL, 0);
                close(leak[0]);
                close(leak[1]);
                if (v <= 0) {
                        TEST_FAIL("%s: create in the child failed: %d", runtimes[rt], v);
                        ctr_cleanup(&c);
                        continue;
                }
                c.created = true;
                c.init = v;

                pid_t shim = ctr_shim_pid(&c);
                CHECK(shim > 0 && shim_alive(c.state));
                CHECK(getsid(shim) == shim); /* its own session */
                char stat_path[64];
                snprintf(stat_path, sizeof(stat_path), "/proc/%d/stat", (int) shim);
                _cleanup_free_ char *stat = test_read_file(stat_path, NULL);
                const char *p = stat ? strrchr(stat, ')') : NULL;
                long ppid = p ? strtol(p + 4, NULL, 10) : -1; /* ") S <ppid>" */
                CHECK(ppid != getpid() && ppid != daemon);
                CHECK(!fd_link_held(shim, leak_target));
                for (int fd = 0; fd < 3; fd++) {
                        char path[64], link[PATH_MAX] = "";
                        snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int) shim, fd);
                        ssize_t k = readlink(path, link, sizeof(link) - 1);
                        link[k > 0 ? k : 0] = '\0';
                        CHECK_STR_EQ(link, "/dev/null");
                }

                /* the container starts and runs with its parent's parent gone */
                CHECK_INT_EQ(ctr_runtime(&c, "start", NULL), 0);
                nanosleep(&(struct timespec){.tv_nsec = 300 * 1000 * 1000}, NULL);
                CHECK_INT_EQ(kill(c.init, 0), 0);
                CHECK(shim_alive(c.state));
                CHECK(shim_read_exit(c.state, &ex, NULL) == -ENOENT);
                struct entries e;
                entries_load(&e, c.log);
                CHECK(entries_find(&e, "hello", false) >= 0);
                entries_done(&e);

                kill(c.init, SIGTERM); /* sh as pid 1 ignores it: SIGKILL then */
                kill(c.init, SIGKILL);
                if (ctr_wait(&c, &ex) == 0)
                        CHECK_INT_EQ(ex.exit_code, 137);
                else
                        TEST_FAIL("%s: no exit status", runtimes[rt]);
                shim_exit_done(&ex);
                ctr_cleanup(&c);
        }
}

static uint64_t dropped_bytes(const struct ctr *c) {
        _cleanup_free_ char *p = nl_strdupf("%s/exit.json", c->state), *text = test_read_file(p, NULL);
        const char *s = text ? strstr(text, "\"logDroppedBytes\":") : NULL;
        return s ? strtoull(s + 18, NULL, 10) : 0;
}

/* 4 MiB of output then "done": far more than a pipe holds, so a shim that stopped reading
 * would leave the container blocked in write(). */
static const char *const flood[] = {
        "sh", "-c", "dd if=/dev/zero bs=65536 count=64 2>/dev/null | tr '\\0' x; echo; echo done", NULL};

TEST(full_log_filesystem_does_not_block) {
        FOR_EACH_RUNTIME(rt) {
                struct ctr c;
                struct shim_exit ex = {};
                nl_error err = NL_ERROR_INIT;
                if (!ctr_setup(&c, rt, "enospc", &(struct ctr_opts){.args = flood})) {
                        TEST_FAIL("%s: setup", runtimes[rt]);
                        ctr_cleanup(&c);
                        continue;
                }
                if (mount("tmpfs", c.logdir, "tmpfs", MS_NOSUID | MS_NODEV, "size=128k") < 0) {
                        TEST_FAIL("%s: mount tmpfs: %m", runtimes[rt]);
                        ctr_cleanup(&c);
                        continue;
                }
                c.log_mounted = true;
                if (ctr_create(&c, 1024 * 1024, 3, false, &err) < 0 || ctr_runtime(&c, "start", NULL) != 0) {
                        TEST_FAIL("%s: could not run: %s", runtimes[rt], strempty(err.msg));
                        nl_error_clear(&err);
                        ctr_cleanup(&c);
                        continue;
                }
                struct timespec t0, t1;
                clock_gettime(CLOCK_MONOTONIC, &t0);
                if (ctr_wait(&c, &ex) == 0) {
                        clock_gettime(CLOCK_MONOTONIC, &t1);
                        CHECK_INT_EQ(ex.exit_code, 0);
                        CHECK(dropped_bytes(&c) > 0);
                        CHECK(t1.tv_sec - t0.tv_sec < 15);
                        /* what fit is well formed */
                        struct entries e;
                        entries_load(&e, c.log);
                        CHECK(!e.bad);
                        entries_done(&e);
                } else
                        TEST_FAIL("%s: the container did not finish with a full log file system",
                                  runtimes[rt]);
                shim_exit_done(&ex);
                ctr_cleanup(&c);
        }
}

TEST(unwritable_log_dir_does_not_block) {
        FOR_EACH_RUNTIME(rt) {
                struct ctr c;
                struct shim_exit ex = {};
                nl_error err = NL_ERROR_INIT;
                if (!ctr_setup(&c, rt, "immutable", &(struct ctr_opts){.args = flood}) ||
                    ctr_create(&c, 64 * 1024, 3, false, &err) < 0) {
                        TEST_FAIL("%s: could not create: %s", runtimes[rt], strempty(err.msg));
                        nl_error_clear(&err);
                        ctr_cleanup(&c);
                        continue;
                }
                /* root ignores modes: the immutable flag makes the directory (no rotation, no
                 * new file) and the live file (no write) unwritable even for the shim */
                char cmd[512];
                snprintf(cmd, sizeof(cmd), "chattr +i '%s' '%s'", c.log, c.logdir);
                c.immutable = true;
                if (run_shell(cmd) != 0) {
                        fprintf(stderr, "  skip: %s: chattr +i not supported here\n", runtimes[rt]);
                        ctr_cleanup(&c);
                        continue;
                }
                CHECK_INT_EQ(ctr_runtime(&c, "start", NULL), 0);
                if (ctr_wait(&c, &ex) == 0) {
                        CHECK_INT_EQ(ex.exit_code, 0);
                        CHECK(dropped_bytes(&c) >= 4 * 1024 * 1024);
                } else
                        TEST_FAIL("%s: the container did not finish with an unwritable log", runtimes[rt]);
                shim_exit_done(&ex);
                ctr_cleanup(&c);
        }
}

TEST(tty_output_through_console_socket) {
        FOR_EACH_RUNTIME(rt) {
                static const char *const args[] = {"sh", "-c", "echo tty-out; echo tty-err >&2; exit 4",
                                                   NULL};
                struct ctr c;
                struct shim_exit ex = {};
                if (run_to_exit(&c, rt, "tty", &(struct ctr_opts){.args = args, .tty = true}, 0, 5, &ex)) {
                        CHECK_INT_EQ(ex.exit_code, 4);
                        struct entries e;
                        entries_load(&e, c.log);
                        CHECK(!e.bad);
                        /* one stream, "\r\n" line ends taken off */
                        CHECK(entries_find(&e, "tty-out", false) >= 0);
                        CHECK(entries_find(&e, "tty-err", false) >= 0);
                        entries_done(&e);
                }
                shim_exit_done(&ex);
                ctr_cleanup(&c);
        }
}

TEST(runtime_error_is_reported) {
        FOR_EACH_RUNTIME(rt) {
                static const char *const args[] = {"/no-such-binary", NULL};
                struct ctr c;
                nl_error err = NL_ERROR_INIT;
                if (!ctr_setup(&c, rt, "error", &(struct ctr_opts){.args = args})) {
                        TEST_FAIL("%s: setup", runtimes[rt]);
                        ctr_cleanup(&c);
                        continue;
                }
                int r = ctr_create(&c, 0, 5, false, &err);
                CHECK(r < 0);
                if (r < 0 && (!err.msg || !strstr(err.msg, "no-such-binary")))
                        TEST_FAIL("%s: error \"%s\"", runtimes[rt], strempty(err.msg));
                if (r < 0)
                        c.created = true; /* the runtime may have left state: delete -f */
                nl_error_clear(&err);
                ctr_cleanup(&c);
        }
}

TEST(zz_no_sanitizer_reports_from_the_shim) {
        if (!fx.ok)
                return;
        DIR *d = opendir(fx.root);
        struct dirent *de;
        while (d && (de = readdir(d))) {
                if (strncmp(de->d_name, "sanitizer", 9) != 0)
                        continue;
                char path[PATH_MAX];
                snprintf(path, sizeof(path), "%s/%s", fx.root, de->d_name);
                _cleanup_free_ char *text = test_read_file(path, NULL);
                TEST_FAIL("sanitizer report from the shim (%s):\n%s", de->d_name, strempty(text));
        }
        if (d)
                closedir(d);
}
