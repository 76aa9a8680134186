/* SPDX-License-Identifier: Apache-2.0 */
/* The runtime's readiness, as the CRI's Status() reports it to the kubelet: RuntimeReady
 * (can containers be run) and NetworkReady (can a pod network be set up). The kubelet asks
 * every 5 s and keeps pods from starting while either is false; so does the agent. */
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "cni.h"
#include "runtime.h"

#define VERSION_TIMEOUT (10 * USEC_PER_SEC)

static void set_condition(struct cri_condition *c, const char *reason, const char *fmt, ...) _printf_(3, 4);
static void set_condition(struct cri_condition *c, const char *reason, const char *fmt, ...) {
        c->ready = false;
        c->reason = strdup(reason);
        c->message = NL_FORMAT_VA(fmt);
}

static uint64_t binary_identity(const char *path) {
        struct stat st;
        if (stat(path, &st) < 0)
                return 0;
        /* FNV-1a over what changes when the binary is replaced */
        uint64_t parts[] = { (uint64_t) st.st_dev, (uint64_t) st.st_ino, (uint64_t) st.st_size,
                             (uint64_t) st.st_mtim.tv_sec, (uint64_t) st.st_mtim.tv_nsec };
        uint64_t h = 0xcbf29ce484222325ULL;
        for (size_t i = 0; i < ELEMENTSOF(parts); i++)
                for (int b = 0; b < 8; b++) {
                        h ^= (parts[i] >> (b * 8)) & 0xff;
                        h *= 0x100000001b3ULL;
                }
        return h ? h : 1;
}

static void check_runtime(const struct cri_config *cfg, bool run_binary, struct cri_status *st) {
        const char *want = isempty(cfg->runtime_path) ? "crun" : cfg->runtime_path;
        _cleanup_free_ char *path = oci_runtime_find(cfg);
        if (!path) {
                set_condition(&st->runtime, "RuntimeNotFound",
                              "the OCI runtime \"%s\" was not found%s; install crun or runc "
                              "(deploy/install-deps.sh) or name one with --container-runtime-path",
                              want, strchr(want, '/') ? "" : " on PATH");
                return;
        }
        st->binary_id = binary_identity(path);
        if (run_binary) {
                char *const argv[] = { path, "--version", NULL };
                struct nl_run_result rr;
                int r = run_command(argv, VERSION_TIMEOUT, 4096, &rr);
                if (r < 0) {
                        set_condition(&st->runtime, "RuntimeFailed", "run %s --version: %s", path, strerror(-r));
                        return;
                }
                bool ok = !rr.timed_out && WIFEXITED(rr.status) && WEXITSTATUS(rr.status) == 0;
                if (!ok) {
                        _cleanup_free_ char *how = rr.timed_out ? strdup("did not answer within 10 s")
                                                   : WIFEXITED(rr.status)
                                                           ? nl_strdupf("exited with status %d", WEXITSTATUS(rr.status))
                                                           : nl_strdupf("was killed by signal %d", WTERMSIG(rr.status));
                        const char *text = nl_run_result_text(&rr);
                        set_condition(&st->runtime, "RuntimeFailed", "\"%s --version\" %s%s%s", path, strempty(how),
                                      isempty(text) ? "" : ": ", strempty(text));
                        nl_run_result_done(&rr);
                        return;
                }
                nl_run_result_done(&rr);
        }
        /* which runtime it is: by name, or (only when it may be run) by asking it */
        const struct oci_runtime_ops *ops = oci_runtime_ops_by_name(path);
        struct oci_runtime *rt = NULL;
        nl_error err = NL_ERROR_INIT;
        if (!ops && run_binary) {
                if (oci_runtime_open(cfg, &rt, &err) < 0) {
                        set_condition(&st->runtime, "RuntimeFailed", "%s", strempty(err.msg));
                        nl_error_clear(&err);
                        return;
                }
                ops = rt->ops;
        }
        if (ops && ops->check_node && ops->check_node(&err) < 0)
                set_condition(&st->runtime, "CgroupsUnsupported", "%s", strempty(err.msg));
        nl_error_clear(&err);
        oci_runtime_free(rt);
}

static void check_network(const struct cri_config *cfg, struct cri_status *st) {
        json_t *net = NULL;
        nl_error err = NL_ERROR_INIT;
        /* the kubelet's words for it: NetworkPluginNotReady, "Network plugin returns error: ..." */
        if (cni_load_network(cfg->cni_conf_dir, cfg->cni_bin_dirs, cfg->n_cni_bin_dirs, &net, &err) < 0)
                set_condition(&st->network, "NetworkPluginNotReady",
                              "Network plugin returns error: %s (deploy/prepare-node.sh installs the CNI plugins and "
                              "a bridge network config)",
                              strempty(err.msg));
        json_decref(net);
        nl_error_clear(&err);
}

void cri_status(const struct cri_config *cfg, bool run_binary, struct cri_status *ret) {
        *ret = (struct cri_status){ .runtime.ready = true, .network.ready = true };
        check_runtime(cfg, run_binary, ret);
        check_network(cfg, ret);
}

void cri_status_done(struct cri_status *s) {
        if (!s)
                return;
        free(s->runtime.reason);
        free(s->runtime.message);
        free(s->network.reason);
        free(s->network.message);
        *s = (struct cri_status){};
}
