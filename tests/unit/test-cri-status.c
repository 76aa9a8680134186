/* SPDX-License-Identifier: Apache-2.0 */
/* cri_status(): the runtime's and the network's readiness as the CRI's Status reports them,
 * with fake runtimes (scripts) and CNI dirs in a temp dir. No root needed. */
#include <stdio.h>
#include <sys/stat.h>

#include "common/fs.h"
#include "cri/cri.h"
#include "test.h"

static char dir[64];

static void write_exec(const char *name, const char *text) {
        char path[128];
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        CHECK_INT_EQ(nl_write_file_atomic(path, text, strlen(text), 0755), 0);
}

static void setup(void) {
        if (dir[0])
                return;
        snprintf(dir, sizeof(dir), "/tmp/test-cri-status-XXXXXX");
        if (!mkdtemp(dir))
                abort();
        char p[128];
        snprintf(p, sizeof(p), "%s/net.d", dir);
        (void) mkdir(p, 0755);
        snprintf(p, sizeof(p), "%s/bin", dir);
        (void) mkdir(p, 0755);
        /* a runtime that works (the status check runs --version only) and a CNI plugin */
        write_exec("crun", "#!/bin/sh\necho 'crun version 1.8.1'\n");
        write_exec("bin/bridge", "#!/bin/sh\nexit 0\n");
        const char *net = "{\"cniVersion\": \"1.0.0\", \"name\": \"t\", \"plugins\": [{\"type\": \"bridge\"}]}";
        snprintf(p, sizeof(p), "%s/net.d/10-t.conflist", dir);
        CHECK_INT_EQ(nl_write_file_atomic(p, net, strlen(net), 0644), 0);
}

static struct cri_config config(const char *runtime, char *bin_dirs[1], char net_dir[128], char rt[128]) {
        snprintf(net_dir, 128, "%s/net.d", dir);
        snprintf(bin_dirs[0], 128, "%s/bin", dir);
        snprintf(rt, 128, "%s/%s", dir, runtime);
        return (struct cri_config){ .runtime_path = rt, .run_dir = dir, .root_dir = dir, .cni_conf_dir = net_dir,
                                    .cni_bin_dirs = bin_dirs, .n_cni_bin_dirs = 1 };
}

TEST(status_ready) {
        setup();
        char net[128], rt[128], bin[128], *bins[1] = { bin };
        struct cri_config cfg = config("crun", bins, net, rt);
        struct cri_status st;
        cri_status(&cfg, true, &st);
        /* crun's own check (hybrid cgroups) depends on the machine; the network does not */
        CHECK(st.network.ready);
        CHECK(st.network.reason == NULL && st.network.message == NULL);
        CHECK(st.binary_id != 0);
        cri_status_done(&st);
}

TEST(status_runtime_missing) {
        setup();
        char net[128], rt[128], bin[128], *bins[1] = { bin };
        struct cri_config cfg = config("no-such-runtime", bins, net, rt);
        struct cri_status st;
        cri_status(&cfg, true, &st);
        CHECK(!st.runtime.ready);
        CHECK_STR_EQ(st.runtime.reason, "RuntimeNotFound");
        CHECK(st.runtime.message && strstr(st.runtime.message, "no-such-runtime\" was not found"));
        CHECK(st.runtime.message && strstr(st.runtime.message, "install crun or runc"));
        CHECK_INT_EQ(st.binary_id, 0);
        cri_status_done(&st);
}

TEST(status_runtime_fails) {
        setup();
        write_exec("broken", "#!/bin/sh\necho 'error while loading shared libraries: libyajl.so.2' >&2\nexit 127\n");
        char net[128], rt[128], bin[128], *bins[1] = { bin };
        struct cri_config cfg = config("broken", bins, net, rt);
        struct cri_status st;
        cri_status(&cfg, true, &st);
        CHECK(!st.runtime.ready);
        CHECK_STR_EQ(st.runtime.reason, "RuntimeFailed");
        CHECK(st.runtime.message && strstr(st.runtime.message, "--version\" exited with status 127: error while "
                                                               "loading shared libraries: libyajl.so.2"));
        cri_status_done(&st);
        /* without running it, only what can be seen: found, not known to be broken; the
         * caller runs it again when its identity is not the one that last worked */
        cri_status(&cfg, false, &st);
        CHECK(st.binary_id != 0);
        CHECK(st.runtime.ready);
        cri_status_done(&st);
        /* a binary neither named crun nor runc that answers as neither */
        write_exec("odd", "#!/bin/sh\necho 'youki 0.3'\n");
        cfg = config("odd", bins, net, rt);
        cri_status(&cfg, true, &st);
        CHECK(!st.runtime.ready);
        CHECK(st.runtime.message && strstr(st.runtime.message, "is neither crun nor runc"));
        cri_status_done(&st);
}

TEST(status_network_missing_plugin) {
        setup();
        char net[128], rt[128], bin[128], *bins[1] = { bin };
        struct cri_config cfg = config("crun", bins, net, rt);
        snprintf(bin, sizeof(bin), "%s/empty", dir);
        (void) mkdir(bin, 0755);
        struct cri_status st;
        cri_status(&cfg, false, &st);
        CHECK(!st.network.ready);
        CHECK_STR_EQ(st.network.reason, "NetworkPluginNotReady");
        CHECK(st.network.message && strstr(st.network.message, "Network plugin returns error: "));
        CHECK(st.network.message && strstr(st.network.message, "plugin \"bridge\" not found"));
        cri_status_done(&st);
}

TEST(status_network_no_config) {
        setup();
        char net[128], rt[128], bin[128], *bins[1] = { bin };
        struct cri_config cfg = config("crun", bins, net, rt);
        snprintf(net, sizeof(net), "%s/empty-net.d", dir);
        (void) mkdir(net, 0755);
        struct cri_status st;
        cri_status(&cfg, false, &st);
        CHECK(!st.network.ready);
        CHECK(st.network.message && strstr(st.network.message, "no valid network config in"));
        cri_status_done(&st);
}

TEST(zz_cleanup) {
        if (dir[0])
                (void) nl_rm_rf(dir);
}
