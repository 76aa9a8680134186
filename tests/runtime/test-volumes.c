/* SPDX-License-Identifier: Apache-2.0 */
/* Volumes on a real file system, as root, in a private mount namespace (everything mounted
 * here is slave to the host and never propagates back): emptyDir on disk and on tmpfs (the
 * size option in /proc/self/mountinfo), every hostPath type and its failures, downwardAPI
 * files, configMap/secret projections, container mounts with subPath and subPathExpr, and
 * the subPath attacks: symlinks to the host, in the last and in intermediate components,
 * '..' and absolute subPaths, a symlink swapped in between resolution and mount. Teardown
 * must leave no mount and no file under the temporary root. Without root every test is
 * skipped with a note. */
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "common/fs.h"
#include "cri/volume-internal.h"
#include "podspec/podspec.h"
#include "tests/lib/util.h"
#include "../unit/test.h"

#define UID "1b4f5e7a-0c1d-4e2f-9a3b-5c6d7e8f9a0b"

static struct {
        bool tried, ok;
        char root[64]; /* the cri root_dir */
        char host[64]; /* stands in for host paths */
        struct cri_config cfg;
} fx;

static bool setup(void) {
        if (fx.tried)
                return fx.ok;
        fx.tried = true;
        if (geteuid() != 0) {
                fprintf(stderr, "test-volumes: not root, skipping\n");
                return false;
        }
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0) {
                fprintf(stderr, "test-volumes: no private mount namespace (%m), skipping\n");
                return false;
        }
        snprintf(fx.root, sizeof(fx.root), "/tmp/test-volumes-XXXXXX");
        snprintf(fx.host, sizeof(fx.host), "/tmp/test-volumes-host-XXXXXX");
        if (!mkdtemp(fx.root) || !mkdtemp(fx.host))
                return false;
        fx.cfg = (struct cri_config){.root_dir = fx.root};
        umask(022);
        fx.ok = true;
        return true;
}

#define SETUP()                                                                                             \
        do {                                                                                                \
                if (!setup())                                                                               \
                        return;                                                                             \
        } while (0)

/* ---- helpers ---------------------------------------------------------------------------- */

static struct podspec_file *pfile;

static struct pod *load(const char *yaml) {
        podspec_file_free(pfile);
        pfile = NULL;
        if (podspec_parse(yaml, strlen(yaml), &pfile) < 0 || pfile->n_documents != 1 ||
            !pfile->documents[0].pod) {
                fprintf(stderr, "  pod did not parse\n");
                return NULL;
        }
        struct pod *p = pfile->documents[0].pod;
        if (pod_set_defaults(p) < 0)
                return NULL;
        return p;
}

static struct plan_context plan = {
        .node_name = "node1",
        .node_allocatable_milli_cpu = 4000,
        .node_allocatable_memory = 1024LL * 1024 * 1024,
        .node_allocatable_ephemeral = 10LL * 1024 * 1024 * 1024,
};

static int fake_get_object(void *userdata, bool secret, const char *name, json_t **ret) {
        if (!secret && streq(name, "cm1")) {
                *ret = json_pack("{s:s, s:s, s:s}", "a", "alpha", "b", "beta", "c.conf", "x=1\n");
                return 0;
        }
        if (secret && streq(name, "s1")) {
                *ret = json_pack("{s:s}", "token", "s3cr3t");
                return 0;
        }
        return -ENOENT;
}

static int do_setup(const struct pod *pod, bool with_objects, char **ret_msg) {
        struct volume_context ctx = {.plan = &plan, .get_object = with_objects ? fake_get_object : NULL};
        nl_error e = NL_ERROR_INIT;
        int r = cri_volumes_setup(&fx.cfg, pod, &ctx, &e);
        if (ret_msg)
                *ret_msg = e.msg ? strdup(e.msg) : NULL;
        else if (r < 0)
                fprintf(stderr, "  setup: %s\n", e.msg ? e.msg : "(no message)");
        nl_error_clear(&e);
        return r;
}

static void teardown(const char *uid) {
        nl_error e = NL_ERROR_INIT;
        if (cri_volumes_teardown(&fx.cfg, uid, &e) < 0)
                TEST_FAIL("teardown: %s", e.msg ? e.msg : "(no message)");
        nl_error_clear(&e);
}

static char *vpath(const char *plugin, const char *name) {
        return nl_strdupf("%s/pods/" UID "/volumes/%s/%s", fx.root, plugin, name);
}

/* The mountinfo line of the mount whose mount point is exactly path, or NULL. */
static char *mount_line(const char *path) {
        _cleanup_free_ char *mi = test_read_file("/proc/self/mountinfo", NULL);
        if (!mi)
                return NULL;
        char *save = NULL;
        for (char *l = strtok_r(mi, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                char mp[4096];
                if (sscanf(l, "%*s %*s %*s %*s %4095s", mp) == 1 && streq(mp, path))
                        return strdup(l);
        }
        return NULL;
}

/* How many mounts sit at or below prefix. */
static int mounts_below(const char *prefix) {
        _cleanup_free_ char *mi = test_read_file("/proc/self/mountinfo", NULL);
        int n = 0;
        size_t len = strlen(prefix);
        char *save = NULL;
        for (char *l = mi ? strtok_r(mi, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save)) {
                char mp[4096];
                if (sscanf(l, "%*s %*s %*s %*s %4095s", mp) == 1 && strncmp(mp, prefix, len) == 0 &&
                    (mp[len] == 0 || mp[len] == '/'))
                        n++;
        }
        return n;
}

static int mounts(const struct pod *pod, const char *container, char *const *env, size_t n_env,
                  struct oci_mount **ret, size_t *ret_n, char **ret_msg) {
        const struct pod_container *c = NULL;
        for (size_t i = 0; i < pod->spec.n_containers; i++)
                if (streq(pod->spec.containers[i].name, container))
                        c = &pod->spec.containers[i];
        if (!c)
                return -ENOENT;
        nl_error e = NL_ERROR_INIT;
        int r = cri_volume_mounts(&fx.cfg, pod, c, env, n_env, ret, ret_n, &e);
        if (ret_msg)
                *ret_msg = e.msg ? strdup(e.msg) : NULL;
        else if (r < 0)
                fprintf(stderr, "  mounts: %s\n", e.msg ? e.msg : "(no message)");
        nl_error_clear(&e);
        return r;
}

static void mounts_free(struct oci_mount *m, size_t n) {
        for (size_t i = 0; i < n; i++)
                oci_mount_done(&m[i]);
        free(m);
}

static char *options(const struct oci_mount *m) {
        nl_buf b = {};
        nl_buf_puts(&b, "");
        for (size_t i = 0; i < m->n_options; i++)
                nl_buf_printf(&b, "%s%s", i ? "," : "", m->options[i]);
        return nl_buf_steal(&b);
}

static bool same_file(const char *a, const char *b) {
        struct stat sa, sb;
        return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static bool has_error(int r, const char *msg, const char *want) {
        if (r >= 0 || !msg || !strstr(msg, want)) {
                fprintf(stderr, "  got r=%d msg=\"%s\", want \"%s\"\n", r, msg ? msg : "(null)", want);
                return false;
        }
        return true;
}

static bool setup_fails(const struct pod *pod, bool with_objects, const char *want) {
        _cleanup_free_ char *msg = NULL;
        int r = pod ? do_setup(pod, with_objects, &msg) : 0;
        return has_error(r, msg, want);
}

static bool mounts_fail(const struct pod *pod, char *const *env, size_t n_env, const char *want) {
        _cleanup_free_ char *msg = NULL;
        struct oci_mount *m = NULL;
        size_t n = 0;
        int r = pod ? mounts(pod, "c", env, n_env, &m, &n, &msg) : 0;
        if (r >= 0)
                mounts_free(m, n);
        return has_error(r, msg, want);
}

/* ---- emptyDir ---------------------------------------------------------------------------- */

TEST(empty_dir_on_disk) {
        SETUP();
        struct pod *p =
                load("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: default, uid: " UID "}\n"
                     "spec:\n  containers: [{name: c, image: busybox}]\n"
                     "  volumes: [{name: scratch, emptyDir: {}}]\n");
        CHECK(p);
        if (!p)
                return;
        CHECK_INT_EQ(do_setup(p, false, NULL), 0);
        _cleanup_free_ char *d = vpath("kubernetes.io~empty-dir", "scratch");
        struct stat st;
        CHECK(lstat(d, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0777);
        /* idempotent: content survives a second setup */
        _cleanup_free_ char *f = nl_strdupf("%s/keep", d);
        CHECK(nl_write_file_atomic(f, "x", 1, 0644) == 0);
        CHECK_INT_EQ(do_setup(p, false, NULL), 0);
        CHECK(access(f, F_OK) == 0);
        teardown(UID);
        CHECK(access(d, F_OK) < 0);
}

TEST(empty_dir_memory_sizes) {
        SETUP();
        /* sizeLimit below everything: it wins */
        struct pod *p =
                load("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: default, uid: " UID "}\n"
                     "spec:\n  containers: [{name: c, image: busybox}]\n"
                     "  securityContext: {fsGroup: 2000}\n"
                     "  volumes: [{name: mem, emptyDir: {medium: Memory, sizeLimit: 64Mi}}]\n");
        CHECK(p);
        if (!p)
                return;
        CHECK_INT_EQ(do_setup(p, false, NULL), 0);
        _cleanup_free_ char *d = vpath("kubernetes.io~empty-dir", "mem");
        _cleanup_free_ char *line = mount_line(d);
        CHECK(line && strstr(line, " - tmpfs ") && strstr(line, "size=65536k"));
        CHECK(line && strstr(line, "nosuid") && strstr(line, "nodev"));
        struct stat st;
        CHECK(stat(d, &st) == 0 && st.st_gid == 2000 && (st.st_mode & S_ISGID));
        /* setup again: still exactly one tmpfs there */
        CHECK_INT_EQ(do_setup(p, false, NULL), 0);
        CHECK_INT_EQ(mounts_below(d), 1);
        teardown(UID);
        CHECK_INT_EQ(mounts_below(fx.root), 0);

        /* no sizeLimit, every container limited: the pod's memory limit (32Mi + 16Mi) */
        p = load("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: default, uid: " UID "}\n"
                 "spec:\n  containers:\n"
                 "  - {name: c, image: busybox, resources: {limits: {memory: 32Mi}}}\n"
                 "  - {name: d, image: busybox, resources: {limits: {memory: 16Mi}}}\n"
                 "  volumes: [{name: mem, emptyDir: {medium: Memory, sizeLimit: 1Gi}}]\n");
        CHECK_INT_EQ(do_setup(p, false, NULL), 0);
        free(line);
        line = mount_line(d);
        CHECK(line && strstr(line, "size=49152k"));
        teardown(UID);

        /* a container without a limit (Burstable): node allocatable (1Gi) */
        p = load("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: default, uid: " UID "}\n"
                 "spec:\n  containers:\n"
                 "  - {name: c, image: busybox, resources: {limits: {memory: 32Mi}}}\n"
                 "  - {name: d, image: busybox}\n"
                 "  volumes: [{name: mem, emptyDir: {medium: Memory}}]\n");
        CHECK_INT_EQ(do_setup(p, false, NULL), 0);
        free(line);
        line = mount_line(d);
        CHECK(line && strstr(line, "size=1048576k"));
        teardown(UID);
        CHECK_INT_EQ(mounts_below(fx.root), 0);
}

TEST(empty_dir_hugepages_refused) {
        SETUP();
        struct pod *p =
                load("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: default, uid: " UID "}\n"
                     "spec:\n  containers: [{name: c, image: busybox}]\n"
                     "  volumes: [{name: hp, emptyDir: {medium: HugePages}}]\n");
        CHECK(setup_fails(p, false,
                          "MountVolume.SetUp failed for volume \"hp\" : emptyDir medium \"HugePages\" is "
                          "not supported"));
        teardown(UID);
}

/* ---- hostPath ---------------------------------------------------------------------------- */

static int host_path(const char *path, const char *type, char **ret_msg) {
        _cleanup_free_ char *yaml = nl_strdupf(
                "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: default, uid: " UID "}\n"
                "spec:\n  containers: [{name: c, image: busybox}]\n"
                "  volumes: [{name: h, hostPath: {path: \"%s\"%s%s}}]\n",
                path, type ? ", type: " : "", type ? type : "");
        struct pod *p = load(yaml);
        if (!p)
                return -EINVAL;
        return do_setup(p, false, ret_msg);
}

static bool host_path_fails(const char *path, const char *type, const char *want) {
        _cleanup_free_ char *msg = NULL;
        int r = host_path(path, type, &msg);
        return has_error(r, msg, want);
}

TEST(host_path_types) {
        SETUP();
        _cleanup_free_ char *dir = nl_strdupf("%s/made/deep", fx.host);
        _cleanup_free_ char *file = nl_strdupf("%s/file", fx.host); /* NOLINT */
        _cleanup_free_ char *missing_parent = nl_strdupf("%s/nope/file", fx.host);
        _cleanup_free_ char *sock = nl_strdupf("%s/sock", fx.host);
        _cleanup_free_ char *link = nl_strdupf("%s/link-to-dir", fx.host);
        _cleanup_free_ char *missing = nl_strdupf("%s/missing", fx.host);
        struct stat st;
        char *msg = NULL;

        CHECK_INT_EQ(host_path(dir, "DirectoryOrCreate", NULL), 0);
        CHECK(stat(dir, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0755 && st.st_uid == 0);
        CHECK_INT_EQ(host_path(dir, "DirectoryOrCreate", NULL), 0);
        CHECK_INT_EQ(host_path(dir, "Directory", NULL), 0);
        CHECK_INT_EQ(host_path(file, "FileOrCreate", NULL), 0);
        CHECK(stat(file, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0644);
        CHECK_INT_EQ(host_path(file, "File", NULL), 0);
        CHECK_INT_EQ(host_path("/dev/null", "CharDevice", NULL), 0);
        CHECK_INT_EQ(host_path(missing, NULL, NULL), 0); /* no type: no check */

        /* FileOrCreate does not make the parent */
        CHECK(host_path(missing_parent, "FileOrCreate", &msg) < 0 && msg && strstr(msg, "No such file"));
        free(msg);

        int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
        CHECK(s >= 0 && bind(s, (struct sockaddr *) &sa, sizeof(sa)) == 0);
        CHECK_INT_EQ(host_path(sock, "Socket", NULL), 0);
        close(s);

        /* the type check follows symlinks, as upstream's os.Stat */
        CHECK(symlink(dir, link) == 0);
        CHECK_INT_EQ(host_path(link, "Directory", NULL), 0);

        char want[512];
        snprintf(want, sizeof(want), "hostPath type check failed: %s is not a directory, it's a File", file);
        CHECK(host_path_fails(file, "Directory", want));
        CHECK(host_path_fails(file, "DirectoryOrCreate", want));
        snprintf(want, sizeof(want), "hostPath type check failed: %s is not a file, it's a Directory", dir);
        CHECK(host_path_fails(dir, "File", want));
        CHECK(host_path_fails(dir, "FileOrCreate", want));
        snprintf(want, sizeof(want), "hostPath type check failed: %s is not a socket file, it's a Directory",
                 dir);
        CHECK(host_path_fails(dir, "Socket", want));
        snprintf(want, sizeof(want), "hostPath type check failed: %s is not a character device, it's a File",
                 file);
        CHECK(host_path_fails(file, "CharDevice", want));
        CHECK(host_path_fails(
                "/dev/null", "BlockDevice",
                "hostPath type check failed: /dev/null is not a block device, it's a CharDevice"));
        snprintf(want, sizeof(want), "MountVolume.SetUp failed for volume \"h\" : hostPath %s doesn't exist",
                 missing);
        CHECK(host_path_fails(missing, "Directory", want));
        CHECK(host_path_fails(missing, "Socket", want));
        CHECK(host_path_fails(dir, "Fifo", "Fifo is an invalid volume type"));

        /* nothing is made under the pod for a hostPath */
        _cleanup_free_ char *hp = nl_strdupf("%s/pods/" UID "/volumes/kubernetes.io~host-path", fx.root);
        CHECK(access(hp, F_OK) < 0);
        teardown(UID);
        CHECK(stat(dir, &st) == 0 && stat(file, &st) == 0);
}

/* ---- projections ------------------------------------------------------------------------- */

TEST(downward_api_files) {
        SETUP();
        struct pod *p = load(
                "apiVersion: v1\nkind: Pod\n"
                "metadata:\n  name: web-1\n  namespace: prod\n  uid: " UID "\n"
                "  labels: {tier: front, app: web}\n"
                "  annotations: {note: \"say \\\"hi\\\"\\nbye\", build: \"42\"}\n"
                "spec:\n  containers:\n"
                "  - name: c\n    image: busybox\n"
                "    resources: {requests: {cpu: 250m, memory: 32Mi}, limits: {cpu: 1250m, memory: 64Mi}}\n"
                "  - {name: nolimit, image: busybox}\n"
                "  volumes:\n  - name: info\n    downwardAPI:\n      items:\n"
                "      - {path: labels, fieldRef: {fieldPath: metadata.labels}}\n"
                "      - {path: annotations, fieldRef: {fieldPath: metadata.annotations}}\n"
                "      - {path: name, fieldRef: {fieldPath: metadata.name}}\n"
                "      - {path: ns/namespace, fieldRef: {fieldPath: metadata.namespace}}\n"
                "      - {path: tier, fieldRef: {fieldPath: \"metadata.labels['tier']\"}}\n"
                "      - {path: cpu_limit, resourceFieldRef: {containerName: c, resource: limits.cpu}}\n"
                "      - {path: cpu_request, resourceFieldRef: {containerName: c, resource: requests.cpu}}\n"
                "      - {path: mem_limit_mi, resourceFieldRef: {containerName: c, resource: limits.memory, "
                "divisor: 1Mi}}\n"
                "      - {path: node_cpu, resourceFieldRef: {containerName: nolimit, resource: "
                "limits.cpu}}\n"
                "      - {path: private, mode: 0400, fieldRef: {fieldPath: metadata.uid}}\n");
        CHECK(p);
        if (!p)
                return;
        CHECK_INT_EQ(do_setup(p, false, NULL), 0);
        _cleanup_free_ char *d = vpath("kubernetes.io~downward-api", "info");
        struct {
                const char *file, *want;
        } cases[] = {
                {"labels", "app=\"web\"\ntier=\"front\""},
                {"annotations", "build=\"42\"\nnote=\"say \\\"hi\\\"\\nbye\""},
                {"name", "web-1"},
                {"ns/namespace", "prod"},
                {"tier", "front"},
                {"cpu_limit", "2"},
                {"cpu_request", "1"},
                {"mem_limit_mi", "64"},
                {"node_cpu", "4"},
                {"private", UID},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *path = nl_strdupf("%s/%s", d, cases[i].file);
                _cleanup_free_ char *got = test_read_file(path, NULL);
                if (!got || !streq(got, cases[i].want))
                        TEST_FAIL("%s: got \"%s\", want \"%s\"", cases[i].file, got ? got : "(null)",
                                  cases[i].want);
        }
        _cleanup_free_ char *priv = nl_strdupf("%s/private", d);
        struct stat st;
        CHECK(stat(priv, &st) == 0 && (st.st_mode & 07777) == 0400);
        CHECK(stat(d, &st) == 0 && (st.st_mode & 07777) == 0777);
        /* unchanged pod: setup again is a no-op */
        _cleanup_free_ char *data1 = nl_strdupf("%s/..data", d);
        char before[256] = "", after[256] = "";
        CHECK(readlink(data1, before, sizeof(before) - 1) > 0);
        CHECK_INT_EQ(do_setup(p, false, NULL), 0);
        CHECK(readlink(data1, after, sizeof(after) - 1) > 0);
        CHECK_STR_EQ(after, before);
        teardown(UID);
        CHECK(access(d, F_OK) < 0);
}

TEST(config_map_and_secret) {
        SETUP();
        const char *yaml =
                "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: default, uid: " UID "}\n"
                "spec:\n  containers: [{name: c, image: busybox}]\n"
                "  volumes:\n"
                "  - {name: all, configMap: {name: cm1}}\n"
                "  - {name: some, configMap: {name: cm1, items: [{key: b, path: sub/renamed, mode: "
                "0600}]}}\n"
                "  - {name: opt, configMap: {name: absent, optional: true}}\n"
                "  - {name: sec, secret: {secretName: s1, defaultMode: 0400}}\n";
        struct pod *p = load(yaml);
        CHECK(p);
        if (!p)
                return;
        CHECK_INT_EQ(do_setup(p, true, NULL), 0);
        _cleanup_free_ char *all = vpath("kubernetes.io~configmap", "all");
        _cleanup_free_ char *a = nl_strdupf("%s/a", all), *c = nl_strdupf("%s/c.conf", all);
        _cleanup_free_ char *ga = test_read_file(a, NULL), *gc = test_read_file(c, NULL);
        CHECK_STR_EQ(ga, "alpha");
        CHECK_STR_EQ(gc, "x=1\n");
        _cleanup_free_ char *some = vpath("kubernetes.io~configmap", "some");
        _cleanup_free_ char *r = nl_strdupf("%s/sub/renamed", some), *sa = nl_strdupf("%s/a", some);
        _cleanup_free_ char *gr = test_read_file(r, NULL);
        CHECK_STR_EQ(gr, "beta");
        CHECK(access(sa, F_OK) < 0);
        struct stat st;
        CHECK(stat(r, &st) == 0 && (st.st_mode & 07777) == 0600);
        _cleanup_free_ char *opt = vpath("kubernetes.io~configmap", "opt");
        _cleanup_free_ char *optdata = nl_strdupf("%s/..data", opt);
        CHECK(lstat(optdata, &st) == 0 && S_ISLNK(st.st_mode));
        _cleanup_free_ char *sec = vpath("kubernetes.io~secret", "sec");
        _cleanup_free_ char *tok = nl_strdupf("%s/token", sec);
        _cleanup_free_ char *gt = test_read_file(tok, NULL);
        CHECK_STR_EQ(gt, "s3cr3t");
        CHECK(stat(tok, &st) == 0 && (st.st_mode & 07777) == 0400);
        _cleanup_free_ char *line = mount_line(sec);
        CHECK(line && strstr(line, " - tmpfs ")); /* secrets never touch the disk */

        /* static mode: no objects */
        _cleanup_free_ char *msg = NULL;
        CHECK(setup_fails(p, false,
                          "MountVolume.SetUp failed for volume \"all\" : configmap \"cm1\" not found"));
        teardown(UID);
        CHECK_INT_EQ(mounts_below(fx.root), 0);

        p = load("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: default, uid: " UID "}\n"
                 "spec:\n  containers: [{name: c, image: busybox}]\n"
                 "  volumes: [{name: s, secret: {secretName: s1, items: [{key: nokey, path: x}]}}]\n");
        free(msg);
        CHECK(setup_fails(p, true, "references non-existent secret key: nokey"));
        free(msg);
        p = load("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: default, uid: " UID "}\n"
                 "spec:\n  containers: [{name: c, image: busybox}]\n"
                 "  volumes: [{name: s, secret: {secretName: gone}}]\n");
        CHECK(setup_fails(p, true, "secret \"gone\" not found"));
        free(msg);
        p = load("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: default, uid: " UID "}\n"
                 "spec:\n  containers: [{name: c, image: busybox}]\n"
                 "  volumes:\n  - name: proj\n    projected:\n      sources:\n"
                 "      - configMap: {name: cm1, items: [{key: a, path: a}]}\n"
                 "      - serviceAccountToken: {path: token}\n");
        CHECK(setup_fails(p, true, "serviceAccountToken projection \"token\""));
        free(msg);
        msg = NULL;
        teardown(UID);
        CHECK_INT_EQ(mounts_below(fx.root), 0);
}

/* Cluster mode: a projected serviceAccountToken source writes the token the API server
 * issued, with the projection's defaultMode (0600 under fsGroup, then group-readable). */
static int fake_get_token(void *userdata, const char *audience, int64_t expiration_seconds, char **ret) {
        unsigned *calls = userdata;
        (*calls)++;
        if (streq(audience, "") && expiration_seconds == 3607)
                *ret = strdup("eyJhbGciOiJSUzI1NiJ9.api");
        else if (streq(audience, "vault") && expiration_seconds == 3600)
                *ret = strdup("eyJhbGciOiJSUzI1NiJ9.vault");
        else
                return -ENOENT;
        return *ret ? 0 : -ENOMEM;
}

static int token_setup(const struct pod *pod, unsigned *calls, char **ret_msg) {
        struct volume_context ctx = {.plan = &plan, .get_object = fake_get_object, .get_token = fake_get_token,
                                     .userdata = calls};
        nl_error e = NL_ERROR_INIT;
        int r = cri_volumes_setup(&fx.cfg, pod, &ctx, &e);
        *ret_msg = e.msg ? strdup(e.msg) : NULL;
        nl_error_clear(&e);
        return r;
}

TEST(service_account_token_projection) {
        SETUP();
        /* what the ServiceAccount admission plugin adds to every pod, plus an audience */
        struct pod *p = load("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: default, uid: " UID "}\n"
                             "spec:\n  containers: [{name: c, image: busybox}]\n"
                             "  volumes:\n  - name: kube-api-access\n    projected:\n      defaultMode: 0644\n"
                             "      sources:\n"
                             "      - serviceAccountToken: {path: token, expirationSeconds: 3607}\n"
                             "      - configMap: {name: cm1, items: [{key: a, path: ca.crt}]}\n"
                             "      - downwardAPI: {items: [{path: namespace, fieldRef: {fieldPath: metadata.namespace}}]}\n"
                             "  - name: vault\n    projected:\n      defaultMode: 0440\n      sources:\n"
                             "      - serviceAccountToken: {path: vault/token, audience: vault}\n");
        CHECK(p);
        if (!p)
                return;
        unsigned calls = 0;
        _cleanup_free_ char *msg = NULL;
        CHECK_INT_EQ(token_setup(p, &calls, &msg), 0);
        CHECK_INT_EQ(calls, 2);
        _cleanup_free_ char *dir = vpath("kubernetes.io~projected", "kube-api-access");
        _cleanup_free_ char *tok = nl_strdupf("%s/token", dir), *ns = nl_strdupf("%s/namespace", dir);
        _cleanup_free_ char *gt = test_read_file(tok, NULL), *gns = test_read_file(ns, NULL);
        CHECK_STR_EQ(gt, "eyJhbGciOiJSUzI1NiJ9.api");
        CHECK_STR_EQ(gns, "default");
        struct stat st;
        CHECK(stat(tok, &st) == 0 && (st.st_mode & 07777) == 0644);
        _cleanup_free_ char *vdir = vpath("kubernetes.io~projected", "vault");
        _cleanup_free_ char *vtok = nl_strdupf("%s/vault/token", vdir), *gv = test_read_file(vtok, NULL);
        CHECK_STR_EQ(gv, "eyJhbGciOiJSUzI1NiJ9.vault");
        CHECK(stat(vtok, &st) == 0 && (st.st_mode & 07777) == 0440);
        /* idempotent: a second pass (the resync's refresh) rewrites in place */
        free(msg);
        msg = NULL;
        CHECK_INT_EQ(token_setup(p, &calls, &msg), 0);
        teardown(UID);

        /* fsGroup: the token file is 0600 before the ownership pass */
        p = load("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: default, uid: " UID "}\n"
                 "spec:\n  securityContext: {fsGroup: 2000}\n  containers: [{name: c, image: busybox}]\n"
                 "  volumes:\n  - name: t\n    projected:\n      sources:\n"
                 "      - serviceAccountToken: {path: token, expirationSeconds: 3607}\n");
        free(msg);
        msg = NULL;
        CHECK_INT_EQ(token_setup(p, &calls, &msg), 0);
        _cleanup_free_ char *fdir = vpath("kubernetes.io~projected", "t");
        _cleanup_free_ char *ftok = nl_strdupf("%s/token", fdir);
        CHECK(stat(ftok, &st) == 0 && (st.st_mode & 0777) == 0640 && st.st_gid == 2000);
        teardown(UID);

        /* no token from the API server: the kubelet's message */
        p = load("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: default, uid: " UID "}\n"
                 "spec:\n  containers: [{name: c, image: busybox}]\n"
                 "  volumes:\n  - name: t\n    projected:\n      sources:\n"
                 "      - serviceAccountToken: {path: token, audience: other}\n");
        free(msg);
        msg = NULL;
        CHECK(token_setup(p, &calls, &msg) < 0);
        CHECK(has_error(-1, msg, "MountVolume.SetUp failed for volume \"t\" : failed to fetch token: "));
        /* static mode (get_token NULL) still refuses */
        CHECK(setup_fails(p, true, "serviceAccountToken projection \"token\" needs a token from the API server"));
        teardown(UID);
        CHECK_INT_EQ(mounts_below(fx.root), 0);
}

/* ---- container mounts and subPath ------------------------------------------------------- */

static const char *const SUBPATH_POD =
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web-1, namespace: default, uid: " UID "}\n"
        "spec:\n  containers:\n  - name: c\n    image: busybox\n    volumeMounts:\n%s"
        "  volumes:\n  - {name: data, emptyDir: {}}\n  - {name: cm, configMap: {name: cm1}}\n"
        "  - {name: host, hostPath: {path: \"%s\"}}\n";

static struct pod *subpath_pod(const char *mounts_yaml) {
        _cleanup_free_ char *yaml = nl_strdupf(SUBPATH_POD, mounts_yaml, fx.host);
        return load(yaml);
}

TEST(plain_mounts) {
        SETUP();
        struct pod *p = subpath_pod("    - {name: data, mountPath: /data}\n"
                                    "    - {name: cm, mountPath: etc/cm}\n"
                                    "    - {name: data, mountPath: /ro, readOnly: true}\n"
                                    "    - {name: host, mountPath: /host}\n");
        CHECK(p);
        if (!p)
                return;
        CHECK_INT_EQ(do_setup(p, true, NULL), 0);
        struct oci_mount *m = NULL;
        size_t n = 0;
        CHECK_INT_EQ(mounts(p, "c", NULL, 0, &m, &n, NULL), 0);
        CHECK_INT_EQ(n, 4);
        if (n == 4) {
                _cleanup_free_ char *d = vpath("kubernetes.io~empty-dir", "data");
                _cleanup_free_ char *cm = vpath("kubernetes.io~configmap", "cm");
                _cleanup_free_ char *o0 = options(&m[0]), *o1 = options(&m[1]), *o2 = options(&m[2]),
                                    *o3 = options(&m[3]);
                CHECK_STR_EQ(m[0].destination, "/data");
                CHECK_STR_EQ(m[0].type, "bind");
                CHECK_STR_EQ(m[0].source, d);
                CHECK_STR_EQ(o0, "rbind,rprivate,rw");
                CHECK_STR_EQ(m[1].destination, "/etc/cm");
                CHECK_STR_EQ(m[1].source, cm);
                CHECK_STR_EQ(o1, "rbind,rprivate,ro"); /* configMap: always read-only */
                CHECK_STR_EQ(o2, "rbind,rprivate,ro");
                CHECK_STR_EQ(m[3].source, fx.host);
                CHECK_STR_EQ(o3, "rbind,rprivate,rw");
        }
        mounts_free(m, n);

        /* a missing volume */
        p = subpath_pod("    - {name: nothere, mountPath: /x}\n");
        CHECK(mounts_fail(p, NULL, 0, "cannot find volume \"nothere\" to mount into container \"c\""));
        teardown(UID);
}

TEST(propagation_makes_the_root_shared) {
        SETUP();
        /* / is private here: a host path on it can be neither HostToContainer nor
         * Bidirectional (containerd's ensureSharedOrSlave / ensureShared) */
        struct pod *p =
                subpath_pod("    - {name: host, mountPath: /h, mountPropagation: HostToContainer}\n");
        CHECK(mounts_fail(p, NULL, 0, "but it is not a shared or slave mount"));
        p = subpath_pod("    - {name: host, mountPath: /h, mountPropagation: Bidirectional}\n");
        CHECK(mounts_fail(p, NULL, 0, "but it is not a shared mount"));
        p = subpath_pod("    - {name: host, mountPath: /h, mountPropagation: Sideways}\n");
        CHECK(mounts_fail(p, NULL, 0, "invalid MountPropagation mode: \"Sideways\""));

        /* a volume under the root dir: made an rshared mount (the kubelet makes its whole root
         * dir rshared), and a subPath of it joins its peer group */
        p = subpath_pod(
                "    - {name: data, mountPath: /data, mountPropagation: Bidirectional}\n"
                "    - {name: data, mountPath: /sub, subPath: s, mountPropagation: HostToContainer}\n"
                "    - {name: cm, mountPath: /cm, mountPropagation: HostToContainer}\n");
        CHECK(p);
        if (!p)
                return;
        CHECK_INT_EQ(do_setup(p, true, NULL), 0);
        struct oci_mount *m = NULL;
        size_t n = 0;
        CHECK_INT_EQ(mounts(p, "c", NULL, 0, &m, &n, NULL), 0);
        CHECK_INT_EQ(n, 3);
        if (n == 3) {
                _cleanup_free_ char *o = options(&m[0]), *o1 = options(&m[1]), *o2 = options(&m[2]);
                CHECK_STR_EQ(o, "rbind,rshared,rw");
                CHECK_STR_EQ(o1, "rbind,rslave,rw");
                CHECK_STR_EQ(o2, "rbind,rslave,ro");
                _cleanup_free_ char *l0 = mount_line(m[0].source), *l1 = mount_line(m[1].source);
                CHECK(l0 && strstr(l0, " shared:"));
                CHECK(l1 && strstr(l1, " shared:"));
                /* a mount made in the volume shows through the subPath bind: one peer group */
                _cleanup_free_ char *inner = nl_strdupf("%s/s/inner", m[0].source);
                _cleanup_free_ char *seen = nl_strdupf("%s/inner", m[1].source);
                CHECK(mkdir(inner, 0755) == 0);
                CHECK(mount("tmpfs", inner, "tmpfs", 0, "size=1m") == 0);
                _cleanup_free_ char *ls = mount_line(seen);
                CHECK(ls != NULL);
        }
        _cleanup_free_ char *rootline = mount_line(fx.root);
        CHECK(rootline == NULL); /* the root dir itself was left alone */
        mounts_free(m, n);
        teardown(UID);
        CHECK_INT_EQ(mounts_below(fx.root), 0);
}

static char *subpath_target(const char *volume, size_t index) {
        return nl_strdupf("%s/pods/" UID "/volume-subpaths/%s/c/%zu", fx.root, volume, index);
}

TEST(sub_path_existing_missing_and_expr) {
        SETUP();
        struct pod *p = subpath_pod("    - {name: data, mountPath: /a, subPath: existing}\n"
                                    "    - {name: data, mountPath: /b, subPath: new/deeper}\n"
                                    "    - {name: data, mountPath: /c, subPathExpr: \"pods/$(POD_NAME)\"}\n"
                                    "    - {name: cm, mountPath: /etc/a.conf, subPath: a}\n"
                                    "    - {name: data, mountPath: /e, subPath: inlink/x}\n");
        CHECK(p);
        if (!p)
                return;
        CHECK_INT_EQ(do_setup(p, true, NULL), 0);
        _cleanup_free_ char *d = vpath("kubernetes.io~empty-dir", "data");
        _cleanup_free_ char *existing = nl_strdupf("%s/existing", d);
        _cleanup_free_ char *inlink = nl_strdupf("%s/inlink", d);
        _cleanup_free_ char *x = nl_strdupf("%s/existing/x", d);
        CHECK(mkdir(existing, 0700) == 0);
        CHECK(mkdir(x, 0700) == 0);
        CHECK(symlink("existing", inlink) == 0); /* a symlink that stays inside: allowed */

        char *env[] = {"POD_NAME=wrong", "POD_NAME=web-1"};
        struct oci_mount *m = NULL;
        size_t n = 0;
        CHECK_INT_EQ(mounts(p, "c", env, 2, &m, &n, NULL), 0);
        CHECK_INT_EQ(n, 5);
        if (n == 5) {
                for (size_t i = 0; i < 5; i++) {
                        _cleanup_free_ char *t = subpath_target(i == 3 ? "cm" : "data", i);
                        CHECK_STR_EQ(m[i].source, t);
                        _cleanup_free_ char *line = mount_line(t);
                        CHECK(line != NULL);
                }
                CHECK(same_file(m[0].source, existing));
                _cleanup_free_ char *made = nl_strdupf("%s/new/deeper", d);
                struct stat st;
                /* created with the volume root's mode */
                CHECK(stat(made, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0777);
                CHECK(same_file(m[1].source, made));
                _cleanup_free_ char *expr = nl_strdupf("%s/pods/web-1", d);
                CHECK(same_file(m[2].source, expr));
                /* a configMap key through its ..data symlinks: a file bind */
                _cleanup_free_ char *cmdir = vpath("kubernetes.io~configmap", "cm");
                _cleanup_free_ char *cmfile = nl_strdupf("%s/a", cmdir);
                CHECK(same_file(m[3].source, cmfile));
                CHECK(stat(m[3].source, &st) == 0 && S_ISREG(st.st_mode));
                _cleanup_free_ char *o3 = options(&m[3]);
                CHECK_STR_EQ(o3, "rbind,rprivate,ro");
                CHECK(same_file(m[4].source, x));
        }
        mounts_free(m, n);

        /* again (a container restart): the same binds, nothing stacked */
        CHECK_INT_EQ(mounts(p, "c", env, 2, &m, &n, NULL), 0);
        mounts_free(m, n);
        _cleanup_free_ char *t0 = subpath_target("data", 0);
        CHECK_INT_EQ(mounts_below(t0), 1);

        /* subPathExpr with a missing variable */
        p = subpath_pod("    - {name: data, mountPath: /a, subPathExpr: \"$(NOPE)/$(ALSO)\"}\n");
        _cleanup_free_ char *msg = NULL;
        CHECK(mounts_fail(p, env, 2, "missing value for ALSO, NOPE"));
        teardown(UID);
        CHECK_INT_EQ(mounts_below(fx.root), 0);
}

/* ---- the attacks ------------------------------------------------------------------------- */

static void expect_refused(const char *sub, bool expr, char *const *env, size_t n_env, const char *want) {
        _cleanup_free_ char *line = nl_strdupf("    - {name: data, mountPath: /a, %s: \"%s\"}\n",
                                               expr ? "subPathExpr" : "subPath", sub);
        struct pod *p = subpath_pod(line);
        int before = mounts_below(fx.root);
        if (!mounts_fail(p, env, n_env, want))
                TEST_FAIL("subPath \"%s\" was not refused as expected", sub);
        if (mounts_below(fx.root) != before)
                TEST_FAIL("subPath \"%s\": something was mounted", sub);
        _cleanup_free_ char *t = subpath_target("data", 0);
        _cleanup_free_ char *tl = mount_line(t);
        if (tl)
                TEST_FAIL("subPath \"%s\": the bind target is mounted", sub);
}

TEST(sub_path_attacks) {
        SETUP();
        struct pod *p = subpath_pod("    - {name: data, mountPath: /a}\n");
        CHECK(p);
        if (!p)
                return;
        CHECK_INT_EQ(do_setup(p, true, NULL), 0);
        _cleanup_free_ char *d = vpath("kubernetes.io~empty-dir", "data");
        _cleanup_free_ char *link = nl_strdupf("%s/link", d);
        _cleanup_free_ char *sub = nl_strdupf("%s/sub", d);
        _cleanup_free_ char *mid = nl_strdupf("%s/sub/mid", d);
        _cleanup_free_ char *rel = nl_strdupf("%s/rel", d);
        _cleanup_free_ char *dangling = nl_strdupf("%s/dangling", d);
        CHECK(symlink("/etc", link) == 0);
        CHECK(mkdir(sub, 0755) == 0);
        CHECK(symlink("/etc", mid) == 0);
        CHECK(symlink("../../../../../../../../etc", rel) == 0);
        CHECK(symlink("/etc/nonexistent-dir", dangling) == 0);
        const char *prep = "failed to prepare subPath for volumeMount \"data\" of container \"c\"";
        const char *create =
                "failed to create subPath directory for volumeMount \"data\" of container \"c\"";

        expect_refused("link", false, NULL, 0, prep);
        expect_refused("link/passwd", false, NULL, 0, prep);
        expect_refused("sub/mid", false, NULL, 0, prep);
        expect_refused("sub/mid/passwd", false, NULL, 0, prep);
        expect_refused("rel", false, NULL, 0, prep);
        expect_refused("rel/passwd", false, NULL, 0, prep);
        /* upstream says "failed to create subPath directory" here (its existence check follows
         * the link first); refused either way */
        expect_refused("dangling/newdir", false, NULL, 0,
                       "subPath for volumeMount \"data\" of container \"c\"");
        (void) create;
        /* validation rejects these already; makeMounts checks again, and so do we */
        expect_refused("../x", false, NULL, 0, "unable to provision SubPath `../x`: must not contain '..'");
        expect_refused("a/../../x", false, NULL, 0, "must not contain '..'");
        expect_refused("/etc", false, NULL, 0, "error SubPath `/etc` must not be an absolute path");
        char *env[] = {"UP=..", "ABS=/etc"};
        expect_refused("$(UP)/x", true, env, 2, "unable to provision SubPath `../x`: must not contain '..'");
        expect_refused("$(ABS)", true, env, 2, "error SubPath `/etc` must not be an absolute path");
        CHECK(access("/etc/nonexistent-dir", F_OK) < 0);

        /* the walk itself refuses '..' above the root and absolute paths outside it */
        int fd = -1;
        CHECK_INT_EQ(subpath_open(d, "..", false, 0, &fd, NULL), -EXDEV);
        CHECK_INT_EQ(subpath_open(d, "sub/../../x", false, 0, &fd, NULL), -EXDEV);
        CHECK_INT_EQ(subpath_open(d, "link", false, 0, &fd, NULL), -EXDEV);
        CHECK_INT_EQ(subpath_open(d, "rel/passwd", false, 0, &fd, NULL), -EXDEV);
        /* an absolute link back into the volume is inside it, as upstream allows */
        _cleanup_free_ char *back = nl_strdupf("%s/back", d);
        CHECK(symlink(sub, back) == 0);
        CHECK_INT_EQ(subpath_open(d, "back", false, 0, &fd, NULL), 0);
        if (fd >= 0) {
                struct stat a, b;
                CHECK(fstat(fd, &a) == 0 && stat(sub, &b) == 0 && a.st_ino == b.st_ino);
                close(fd);
        }
        /* a symlink loop */
        _cleanup_free_ char *loop = nl_strdupf("%s/loop", d);
        CHECK(symlink("loop", loop) == 0);
        fd = -1;
        CHECK_INT_EQ(subpath_open(d, "loop", false, 0, &fd, NULL), -ELOOP);
        teardown(UID);
        CHECK(access("/etc/passwd", F_OK) == 0);
        CHECK_INT_EQ(mounts_below(fx.root), 0);
}

/* Resolve, then swap the directory for a symlink to /etc before the bind: the mount must pin
 * the inode that was resolved. */
TEST(sub_path_swap_race) {
        SETUP();
        struct pod *p = subpath_pod("    - {name: data, mountPath: /a}\n");
        CHECK(p);
        if (!p)
                return;
        CHECK_INT_EQ(do_setup(p, true, NULL), 0);
        _cleanup_free_ char *d = vpath("kubernetes.io~empty-dir", "data");
        _cleanup_free_ char *dir = nl_strdupf("%s/dir", d), *moved = nl_strdupf("%s/dir.orig", d);
        _cleanup_free_ char *file = nl_strdupf("%s/dir/marker", d);
        CHECK(mkdir(dir, 0755) == 0);
        CHECK(nl_write_file_atomic(file, "mine", 4, 0644) == 0);

        int fd = -1;
        CHECK_INT_EQ(subpath_open(d, "dir", false, 0, &fd, NULL), 0);
        CHECK(rename(dir, moved) == 0);
        CHECK(symlink("/etc", dir) == 0);

        _cleanup_free_ char *parent = nl_strdupf("%s/pods/" UID "/volume-subpaths/data/c", fx.root);
        _cleanup_free_ char *target = nl_strdupf("%s/7", parent);
        CHECK(nl_mkdir_p(parent, 0750) == 0);
        CHECK_INT_EQ(subpath_bind(fd, target), 0);
        close(fd);
        CHECK(same_file(target, moved));
        CHECK(!same_file(target, "/etc"));
        _cleanup_free_ char *seen = nl_strdupf("%s/marker", target);
        _cleanup_free_ char *content = test_read_file(seen, NULL);
        CHECK_STR_EQ(content, "mine");

        /* and through cri_volume_mounts: subPath "dir" is now the symlink: refused */
        expect_refused("dir", false, NULL, 0, "failed to prepare subPath");
        teardown(UID);
        CHECK_INT_EQ(mounts_below(fx.root), 0);
}

/* ---- teardown ---------------------------------------------------------------------------- */

TEST(teardown_leaves_nothing_and_touches_no_host_file) {
        SETUP();
        struct pod *p =
                load("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: default, uid: " UID "}\n"
                     "spec:\n  containers:\n  - name: c\n    image: busybox\n    volumeMounts:\n"
                     "    - {name: data, mountPath: /a, subPath: s}\n"
                     "    - {name: mem, mountPath: /m, subPath: t}\n"
                     "  volumes:\n  - {name: data, emptyDir: {}}\n"
                     "  - {name: mem, emptyDir: {medium: Memory, sizeLimit: 8Mi}}\n"
                     "  - {name: dapi, downwardAPI: {items: [{path: name, fieldRef: {fieldPath: "
                     "metadata.name}}]}}\n");
        CHECK(p);
        if (!p)
                return;
        CHECK_INT_EQ(do_setup(p, false, NULL), 0);
        struct oci_mount *m = NULL;
        size_t n = 0;
        CHECK_INT_EQ(mounts(p, "c", NULL, 0, &m, &n, NULL), 0);
        mounts_free(m, n);

        /* what a container could leave behind: links to host files and dirs, and a mount
         * propagated back into the volume */
        _cleanup_free_ char *d = vpath("kubernetes.io~empty-dir", "data");
        _cleanup_free_ char *hostdir = nl_strdupf("%s/precious", fx.host);
        _cleanup_free_ char *hostfile = nl_strdupf("%s/precious/file", fx.host);
        CHECK(mkdir(hostdir, 0755) == 0);
        CHECK(nl_write_file_atomic(hostfile, "keep", 4, 0644) == 0);
        _cleanup_free_ char *l1 = nl_strdupf("%s/s/to-host-dir", d), *l2 = nl_strdupf("%s/to-host-file", d);
        CHECK(symlink(hostdir, l1) == 0);
        CHECK(symlink(hostfile, l2) == 0);
        _cleanup_free_ char *mp = nl_strdupf("%s/s/mnt", d);
        CHECK(mkdir(mp, 0755) == 0);
        CHECK(mount(hostdir, mp, NULL, MS_BIND, NULL) == 0);
        /* deep nesting: flattened, not recursed into */
        _cleanup_free_ char *deep = nl_strdupf("%s/deep", d);
        CHECK(mkdir(deep, 0755) == 0);
        int fd = open(deep, O_PATH | O_DIRECTORY | O_CLOEXEC);
        for (int i = 0; fd >= 0 && i < 300; i++) {
                if (mkdirat(fd, "d", 0755) < 0)
                        break;
                int nfd = openat(fd, "d", O_PATH | O_DIRECTORY | O_CLOEXEC);
                close(fd);
                fd = nfd;
        }
        if (fd >= 0)
                close(fd);

        CHECK(mounts_below(fx.root) >= 4); /* tmpfs, two subpath binds, the container's */
        teardown(UID);
        CHECK_INT_EQ(mounts_below(fx.root), 0);
        _cleanup_free_ char *poddir = nl_strdupf("%s/pods/" UID, fx.root);
        _cleanup_free_ char *vols = nl_strdupf("%s/volumes", poddir),
                            *subs = nl_strdupf("%s/volume-subpaths", poddir);
        CHECK(access(vols, F_OK) < 0);
        CHECK(access(subs, F_OK) < 0);
        _cleanup_free_ char *kept = test_read_file(hostfile, NULL);
        CHECK_STR_EQ(kept, "keep");
        /* teardown again: nothing to do */
        teardown(UID);
}

TEST(zz_cleanup) {
        if (!fx.ok)
                return;
        CHECK_INT_EQ(mounts_below(fx.root), 0);
        int fd = open("/tmp", O_PATH | O_DIRECTORY | O_CLOEXEC);
        CHECK(fs_remove_tree(fd, fx.root + 5) == 0);
        CHECK(fs_remove_tree(fd, fx.host + 5) == 0);
        close(fd);
        CHECK(access(fx.root, F_OK) < 0);
        podspec_file_free(pfile);
        pfile = NULL;
}
