/* SPDX-License-Identifier: Apache-2.0 */
/* crun and runc behind one ops table. Both take the same command line for what we use
 * (start, kill, delete --force, state, exec --process --pid-file), so the entries share
 * code; the table is where a runtime's differences go. */
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "cgroup.h"
#include "runtime.h"
#include "cri/layout.h"

#define RUNTIME_TIMEOUT (120 * USEC_PER_SEC) /* the kubelet's runtimeRequestTimeout, 2 m */
#define RUNTIME_MAX_OUTPUT (64 * 1024)

/* Run "<runtime> --root <root> <args...>" and turn a failure into a message. */
static int runtime_call(const struct oci_runtime *rt, const char *what, char *const *args, struct nl_run_result *ret,
                        nl_error *err) {
        const char *argv[16];
        size_t n = 0;
        argv[n++] = rt->path;
        argv[n++] = "--root";
        argv[n++] = rt->root;
        for (size_t i = 0; args[i] && n < ELEMENTSOF(argv) - 1; i++)
                argv[n++] = args[i];
        argv[n] = NULL;
        struct nl_run_result rr;
        int r = run_command((char *const *) argv, RUNTIME_TIMEOUT, RUNTIME_MAX_OUTPUT, &rr);
        if (r < 0)
                return nl_error_set(err, r, "%s %s: %s", rt->ops->name, what, strerror(-r));
        if (rr.timed_out || !WIFEXITED(rr.status) || WEXITSTATUS(rr.status) != 0) {
                r = nl_error_set(err, rr.timed_out ? -ETIMEDOUT : -EIO, "%s %s: %s", rt->ops->name, what,
                                 rr.timed_out ? "timed out" : nl_run_result_text(&rr));
                nl_run_result_done(&rr);
                return r;
        }
        if (ret)
                *ret = rr;
        else
                nl_run_result_done(&rr);
        return 0;
}

static int generic_start(const struct oci_runtime *rt, const char *id, nl_error *err) {
        char *const args[] = { "start", (char *) id, NULL };
        return runtime_call(rt, "start", args, NULL, err);
}

static int generic_kill(const struct oci_runtime *rt, const char *id, int sig, nl_error *err) {
        char sigbuf[16];
        snprintf(sigbuf, sizeof(sigbuf), "%d", sig);
        char *const args[] = { "kill", (char *) id, sigbuf, NULL };
        return runtime_call(rt, "kill", args, NULL, err);
}

static int generic_delete(const struct oci_runtime *rt, const char *id, nl_error *err) {
        char *const args[] = { "delete", "--force", (char *) id, NULL };
        return runtime_call(rt, "delete", args, NULL, err);
}

static int generic_state(const struct oci_runtime *rt, const char *id, json_t **ret, nl_error *err) {
        char *const args[] = { "state", (char *) id, NULL };
        struct nl_run_result rr;
        int r = runtime_call(rt, "state", args, &rr, err);
        if (r < 0)
                return r;
        json_error_t je;
        json_t *j = json_loads(strempty(rr.out), 0, &je);
        nl_run_result_done(&rr);
        if (!j)
                return nl_error_set(err, -EIO, "%s state: unreadable output: %s", rt->ops->name, je.text);
        *ret = j;
        return 0;
}

/* Both take the same flags ("update --cpu-share ... ID"); -1 lifts a limit. */
static int generic_update(const struct oci_runtime *rt, const char *id, const struct cri_linux_resources *res,
                          nl_error *err) {
        char shares[32], period[32], quota[32], memory[32];
        snprintf(shares, sizeof(shares), "%" PRIu64, res->cpu_shares);
        snprintf(period, sizeof(period), "%" PRIu64, res->cpu_period);
        snprintf(quota, sizeof(quota), "%" PRId64, res->cpu_quota > 0 ? res->cpu_quota : -1);
        snprintf(memory, sizeof(memory), "%" PRId64, res->memory_limit > 0 ? res->memory_limit : -1);
        char *const args[] = { "update",     "--cpu-share", shares, "--cpu-period", period, "--cpu-quota",
                               quota,        "--memory",    memory, (char *) id,    NULL };
        return runtime_call(rt, "update", args, NULL, err);
}

static char **generic_exec_argv(const struct oci_runtime *rt, const char *id, const char *pid_file,
                                char *const *argv) {
        size_t n = 0;
        while (argv[n])
                n++;
        char **v = calloc(n + 8, sizeof(char *));
        if (!v)
                return NULL;
        const char *head[] = { rt->path, "--root", rt->root, "exec", "--pid-file", pid_file, id };
        size_t k = 0;
        for (size_t i = 0; i < ELEMENTSOF(head); i++)
                v[k++] = strdup(head[i]);
        for (size_t i = 0; i < n; i++)
                v[k++] = strdup(argv[i]);
        for (size_t i = 0; i < k; i++)
                if (!v[i]) {
                        for (size_t j = 0; j < k; j++)
                                free(v[j]);
                        free(v);
                        return NULL;
                }
        return v;
}

/* crun (1.8 here) refuses a hybrid node while a controller sits on the cgroup2 hierarchy
 * ("cgroups in hybrid mode not supported, drop all controllers from cgroupv2"); runc runs
 * such a node on its v1 hierarchies. */
static int crun_check_node(nl_error *err) {
        struct cgroup_layout *l = NULL;
        int r = cgroup_layout_detect(&l, err);
        if (r >= 0)
                r = cgroup_check(l, err);
        cgroup_layout_free(l);
        return r;
}

static const struct oci_runtime_ops crun_ops = {
        .name = "crun",
        .check_node = crun_check_node,
        .start = generic_start,
        .kill = generic_kill,
        .delete = generic_delete,
        .state = generic_state,
        .update = generic_update,
        .exec_argv = generic_exec_argv,
};

static const struct oci_runtime_ops runc_ops = {
        .name = "runc",
        .start = generic_start,
        .kill = generic_kill,
        .delete = generic_delete,
        .state = generic_state,
        .update = generic_update,
        .exec_argv = generic_exec_argv,
};

static char *find_in_path(const char *name) {
        if (strchr(name, '/'))
                return access(name, X_OK) == 0 ? strdup(name) : NULL;
        const char *path = getenv("PATH");
        if (isempty(path))
                path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        _cleanup_free_ char *copy = strdup(path);
        char *save = NULL;
        for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
                char *p = nl_strdupf("%s/%s", dir, name);
                if (p && access(p, X_OK) == 0)
                        return p;
                free(p);
        }
        return NULL;
}

const struct oci_runtime_ops *oci_runtime_ops_by_name(const char *path) {
        const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
        return streq(base, "crun") ? &crun_ops : streq(base, "runc") ? &runc_ops : NULL;
}

char *oci_runtime_find(const struct cri_config *cfg) {
        return find_in_path(isempty(cfg->runtime_path) ? "crun" : cfg->runtime_path);
}

int oci_runtime_open(const struct cri_config *cfg, struct oci_runtime **ret, nl_error *err) {
        const char *want = isempty(cfg->runtime_path) ? "crun" : cfg->runtime_path;
        _cleanup_free_ char *path = find_in_path(want);
        if (!path)
                return nl_error_set(err, -ENOENT, "OCI runtime \"%s\" not found (install crun or runc)", want);

        /* The binary's name usually says which it is; otherwise ask it. */
        const struct oci_runtime_ops *ops = oci_runtime_ops_by_name(path);
        if (!ops) {
                char *const argv[] = { path, "--version", NULL };
                struct nl_run_result rr;
                int r = run_command(argv, 10 * USEC_PER_SEC, 4096, &rr);
                if (r < 0 || !WIFEXITED(rr.status) || WEXITSTATUS(rr.status) != 0) {
                        if (r >= 0)
                                nl_run_result_done(&rr);
                        return nl_error_set(err, -EIO, "OCI runtime \"%s\" does not answer --version", path);
                }
                ops = strstr(rr.out, "crun") ? &crun_ops : strstr(rr.out, "runc") ? &runc_ops : NULL;
                nl_run_result_done(&rr);
        }
        if (!ops)
                return nl_error_set(err, -EINVAL, "OCI runtime \"%s\" is neither crun nor runc", path);

        struct oci_runtime *rt = calloc(1, sizeof(*rt));
        if (!rt)
                return -ENOMEM;
        rt->ops = ops;
        rt->path = TAKE_PTR(path);
        rt->root = layout_runtime_root(cfg->run_dir, ops->name);
        if (!rt->root) {
                oci_runtime_free(rt);
                return -ENOMEM;
        }
        *ret = rt;
        return 0;
}

void oci_runtime_free(struct oci_runtime *rt) {
        if (!rt)
                return;
        free(rt->path);
        free(rt->root);
        free(rt);
}
