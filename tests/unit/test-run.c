/* SPDX-License-Identifier: Apache-2.0 */
/* common/run.c: a program run to its end with capped output, input, a deadline. */
#include <signal.h>
#include <sys/wait.h>

#include "common/run.h"
#include "test.h"

#define SPEC(...) (&(struct nl_run_spec){ __VA_ARGS__ })

static int sh(const char *script, const struct nl_run_spec *base, struct nl_run_result *ret) {
        char *const argv[] = { "/bin/sh", "-c", (char *) script, NULL };
        struct nl_run_spec spec = *base;
        spec.argv = argv;
        /* unless a case says: 64 bytes of each stream */
        spec.max_stdout = spec.max_stdout ?: 64;
        spec.max_stderr = spec.max_stderr ?: 64;
        return nl_run(&spec, ret);
}

TEST(output_and_status) {
        struct nl_run_result r;
        CHECK_INT_EQ(sh("echo out; echo err >&2; exit 3", SPEC(), &r), 0);
        CHECK(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 3);
        CHECK_STR_EQ(r.out, "out\n");
        CHECK_STR_EQ(r.err, "err\n");
        CHECK_STR_EQ(nl_run_result_text(&r), "err");
        CHECK(!r.timed_out && !r.too_big);
        nl_run_result_done(&r);
}

TEST(input) {
        struct nl_run_result r;
        CHECK_INT_EQ(sh("cat", SPEC(.input = "hello"), &r), 0);
        CHECK_STR_EQ(r.out, "hello");
        nl_run_result_done(&r);
        /* no input: /dev/null */
        CHECK_INT_EQ(sh("cat", SPEC(), &r), 0);
        CHECK_STR_EQ(r.out, "");
        CHECK_INT_EQ(r.out_len, 0);
        nl_run_result_done(&r);
}

TEST(output_capped_or_failed) {
        struct nl_run_result r;
        const char *lots = "i=0; while [ $i -lt 1000 ]; do echo 0123456789; i=$((i+1)); done";
        CHECK_INT_EQ(sh(lots, SPEC(.max_stdout = 100), &r), 0);
        CHECK_INT_EQ(r.out_len, 100);
        CHECK(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0 && !r.too_big);
        nl_run_result_done(&r);
        CHECK_INT_EQ(sh(lots, SPEC(.max_stdout = 100, .stdout_overflow_fails = true), &r), 0);
        CHECK(r.too_big);
        nl_run_result_done(&r);
}

TEST(deadline) {
        struct nl_run_result r;
        usec_t start = now_monotonic();
        CHECK_INT_EQ(sh("sleep 30", SPEC(.timeout = 200 * USEC_PER_MSEC, .process_group = true), &r), 0);
        CHECK(r.timed_out);
        CHECK(WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGKILL);
        CHECK(now_monotonic() - start < 10 * USEC_PER_SEC);
        nl_run_result_done(&r);
        /* outputs closed, still running: the deadline covers its exit too */
        start = now_monotonic();
        CHECK_INT_EQ(sh("exec >/dev/null 2>&1; sleep 30", SPEC(.timeout = 200 * USEC_PER_MSEC), &r),
                     0);
        CHECK(r.timed_out);
        CHECK(now_monotonic() - start < 10 * USEC_PER_SEC);
        nl_run_result_done(&r);
}

TEST(exec_failure) {
        struct nl_run_result r;
        char *const argv[] = { "/nonexistent/program", NULL };
        CHECK_INT_EQ(nl_run(SPEC(.argv = argv, .max_stdout = 64, .max_stderr = 256), &r), 0);
        CHECK(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 127);
        CHECK(strstr(r.err, "/nonexistent/program") != NULL);
        nl_run_result_done(&r);
}

TEST(environment) {
        struct nl_run_result r;
        char *const env[] = { "FOO=bar", NULL };
        CHECK_INT_EQ(sh("echo $FOO", SPEC(.envp = env), &r), 0);
        CHECK_STR_EQ(r.out, "bar\n");
        nl_run_result_done(&r);
}
