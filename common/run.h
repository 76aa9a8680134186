/* SPDX-License-Identifier: Apache-2.0 */
/* Running a program to its end with its output captured, for the OCI runtime's commands and the
 * CNI plugins: never longer than a deadline, never more output in memory than a cap. Blocking:
 * for op children and the CLI, not for the daemon's loop. */
#pragma once

#include "time-util.h"
#include "util.h"

struct nl_run_spec {
        char *const *argv; /* argv[0]: a path, or a name looked up on PATH */
        char *const *envp; /* its environment; NULL: ours, without systemd's protocol variables */
        const char *input; /* written to its stdin, which is then closed; NULL: /dev/null */
        usec_t timeout;    /* SIGKILL past it, its exit included; 0: no deadline */
        size_t max_stdout, max_stderr; /* what is kept of each stream; the rest is read and dropped */
        bool stdout_overflow_fails;    /* more stdout than max_stdout: killed, too_big */
        bool process_group;            /* its own process group, killed as a whole */
};

struct nl_run_result {
        int status; /* waitpid status */
        bool timed_out, too_big;
        char *out, *err; /* NUL-terminated, never NULL after success */
        size_t out_len, err_len;
};

/* -errno when it could not be run or watched (the result is then empty); 0 otherwise, whatever
 * the program did: see status, timed_out and too_big. An exec failure is exit status 127 with
 * the reason on its stderr. */
int nl_run(const struct nl_run_spec *spec, struct nl_run_result *ret);
void nl_run_result_done(struct nl_run_result *r);
/* The captured stderr, else stdout, without trailing blanks (trimmed in place), for messages. */
const char *nl_run_result_text(const struct nl_run_result *r);
