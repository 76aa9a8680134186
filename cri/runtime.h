/* SPDX-License-Identifier: Apache-2.0 */
/* cri internals: the OCI runtime binaries behind one ops table, and how their commands run. */
#pragma once

#include "common/run.h"
#include "common/time-util.h"
#include "cri.h"

struct oci_runtime;

struct oci_runtime_ops {
        const char *name;
        int (*start)(const struct oci_runtime *rt, const char *id, nl_error *err);
        int (*kill)(const struct oci_runtime *rt, const char *id, int sig, nl_error *err);
        int (*delete)(const struct oci_runtime *rt, const char *id, nl_error *err);
        int (*state)(const struct oci_runtime *rt, const char *id, json_t **ret, nl_error *err);
        /* A running container's cgroup values (in-place resize): cpu shares, period and quota
         * (-1: none), memory limit in bytes (-1: none). */
        int (*update)(const struct oci_runtime *rt, const char *id, const struct cri_linux_resources *res,
                      nl_error *err);
        /* argv for "exec" of a command with a pid file; NULL-terminated, caller frees */
        char **(*exec_argv)(const struct oci_runtime *rt, const char *id, const char *pid_file, char *const *argv);
        /* Can this runtime run containers on this node at all? NULL: nothing to check. */
        int (*check_node)(nl_error *err);
};

struct oci_runtime {
        const struct oci_runtime_ops *ops;
        char *path; /* the binary */
        char *root; /* its --root state directory */
};

/* Resolve cfg->runtime_path ("crun", "runc" or a path) and pick its ops by its --version. */
int oci_runtime_open(const struct cri_config *cfg, struct oci_runtime **ret, nl_error *err);
/* Find cfg->runtime_path (a path, or a name on PATH) without running it; NULL if absent. */
char *oci_runtime_find(const struct cri_config *cfg);
/* crun's or runc's ops when the binary's name says which, else NULL (then only running it
 * tells: oci_runtime_open). */
const struct oci_runtime_ops *oci_runtime_ops_by_name(const char *path);
void oci_runtime_free(struct oci_runtime *rt);

/* A runtime command (PATH search when argv[0] has no '/'), stdin /dev/null, each output
 * stream captured up to max_output, its process group killed at the deadline (0: none). */
static inline int run_command(char *const *argv, usec_t timeout, size_t max_output,
                              struct nl_run_result *ret) {
        return nl_run(&(struct nl_run_spec){ .argv = argv,
                                             .timeout = timeout,
                                             .max_stdout = max_output,
                                             .max_stderr = max_output,
                                             .process_group = true },
                      ret);
}

