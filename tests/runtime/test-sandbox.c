/* SPDX-License-Identifier: Apache-2.0 */
/* Pod sandboxes for real, as root: pinned namespaces, the pid namespace holder, CNI with the
 * node's plugins (/usr/lib/cni: loopback, bridge, host-local, portmap, firewall) on a test
 * bridge and subnet of their own (nlt<n>, 10.99.<n>.0/24, IPAM data in the test's temp dir),
 * /etc files, the pod cgroup, and that stop + remove leave nothing behind: no mounts, no veth,
 * no IP reservation, no iptables rule naming the sandbox, no cgroup. Traffic only goes to the
 * pods' own namespaces and to loopback. Without root or the plugins, the root tests are
 * skipped with a note; the cgroup parsing tests run anywhere. */
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include "common/fs.h"
#include "common/mountinfo.h"
#include "cri/cgroup.h"
#include "cri/cni.h"
#include "cri/sandbox-internal.h"
#include "podspec/podspec.h"
#include "tests/lib/util.h"
#include "../unit/test.h"

#define CNI_BIN "/usr/lib/cni"

static struct {
        bool tried, ok;
        char base[256], run[300], root[300], conf[300], ipam[300], resolv[300];
        char bridge[16], net[32];
        unsigned n;
        char ip_forward[8];
        bool kubepods_existed;
        char *bin_dirs[1];
        struct cri_config cfg;
} fx;

static int write_text(const char *path, const char *s) {
        FILE *f = fopen(path, "we");
        if (!f)
                return -errno;
        fputs(s, f);
        return fclose(f) == 0 ? 0 : -errno;
}

static void conf_write(const char *extra_plugin) {
        char buf[4096];
        snprintf(
                buf, sizeof(buf),
                "{\n \"cniVersion\": \"1.0.0\",\n \"name\": \"%s\",\n \"plugins\": [\n"
                "  {\"type\": \"bridge\", \"bridge\": \"%s\", \"isGateway\": true, \"ipMasq\": true,"
                " \"hairpinMode\": true,\n   \"ipam\": {\"type\": \"host-local\", \"ranges\": "
                "[[{\"subnet\": "
                "\"10.99.%u.0/24\"}]],\n    \"routes\": [{\"dst\": \"0.0.0.0/0\"}], \"dataDir\": \"%s\"}},\n"
                "  {\"type\": \"portmap\", \"capabilities\": {\"portMappings\": true}, \"snat\": true},\n"
                "  {\"type\": \"firewall\", \"backend\": \"iptables\"}%s%s\n ]\n}\n",
                fx.net, fx.bridge, fx.n, fx.ipam, extra_plugin ? ",\n  " : "",
                extra_plugin ? extra_plugin : "");
        char path[400];
        snprintf(path, sizeof(path), "%s/10-test.conflist", fx.conf);
        if (write_text(path, buf) < 0)
                TEST_FAIL("write %s", path);
}

static void fixture_cleanup(void) {
        char cmd[600];
        if (!fx.ok)
                return;
        char sb[400];
        snprintf(sb, sizeof(sb), "%s/sandboxes", fx.run);
        while (umount2(sb, MNT_DETACH) == 0)
                ;
        snprintf(cmd, sizeof(cmd), "ip link del %s 2>/dev/null; rm -rf '%s'", fx.bridge, fx.base);
        (void) test_sh("%s", cmd);
        if (fx.ip_forward[0])
                (void) write_text("/proc/sys/net/ipv4/ip_forward", fx.ip_forward);
        /* the QoS tiers the tests made (the kubelet keeps them; a test leaves the node as it was) */
        struct cgroup_layout *l = NULL;
        if (!fx.kubepods_existed && cgroup_layout_detect(&l, NULL) >= 0) {
                static const char *const tiers[] = {"/kubepods/besteffort", "/kubepods/burstable",
                                                    "/kubepods"};
                for (size_t i = 0; i < l->n_h; i++)
                        for (size_t t = 0; t < ELEMENTSOF(tiers); t++) {
                                char d[512];
                                snprintf(d, sizeof(d), "%s%s", l->h[i].mount_point, tiers[t]);
                                (void) rmdir(d);
                        }
        }
        cgroup_layout_free(l);
}

static bool fixture(void) {
        if (fx.tried)
                return fx.ok;
        fx.tried = true;
        if (geteuid() != 0) {
                fprintf(stderr, "  (not root: sandbox tests skipped)\n");
                return false;
        }
        if (access(CNI_BIN "/bridge", X_OK) < 0 || access(CNI_BIN "/host-local", X_OK) < 0 ||
            access(CNI_BIN "/loopback", X_OK) < 0 || access(CNI_BIN "/portmap", X_OK) < 0) {
                fprintf(stderr, "  (no CNI plugins in " CNI_BIN ": sandbox tests skipped)\n");
                return false;
        }
        snprintf(fx.base, sizeof(fx.base), "/tmp/nodelet-sandbox-XXXXXX");
        if (!mkdtemp(fx.base))
                return false;
        fx.n = 100 + (unsigned) getpid() % 150;
        snprintf(fx.bridge, sizeof(fx.bridge), "nlt%u", fx.n);
        snprintf(fx.net, sizeof(fx.net), "nodelet-test-%u", fx.n);
        snprintf(fx.run, sizeof(fx.run), "%s/run", fx.base);
        snprintf(fx.root, sizeof(fx.root), "%s/root", fx.base);
        snprintf(fx.conf, sizeof(fx.conf), "%s/net.d", fx.base);
        snprintf(fx.ipam, sizeof(fx.ipam), "%s/ipam", fx.base);
        snprintf(fx.resolv, sizeof(fx.resolv), "%s/resolv.conf", fx.base);
        mkdir(fx.run, 0755);
        mkdir(fx.root, 0755);
        mkdir(fx.conf, 0755);
        write_text(fx.resolv, "nameserver 192.0.2.53\nsearch example.test\n");
        FILE *f = fopen("/proc/sys/net/ipv4/ip_forward", "re");
        if (f) {
                if (!fgets(fx.ip_forward, sizeof(fx.ip_forward), f))
                        fx.ip_forward[0] = '\0';
                fclose(f);
        }
        struct cgroup_layout *l = NULL;
        if (cgroup_layout_detect(&l, NULL) >= 0)
                fx.kubepods_existed = cgroup_exists(l, "/kubepods");
        cgroup_layout_free(l);
        fx.ok = true;
        conf_write(NULL);
        fx.bin_dirs[0] = CNI_BIN;
        fx.cfg = (struct cri_config){.root_dir = fx.root,
                                     .run_dir = fx.run,
                                     .cni_conf_dir = fx.conf,
                                     .cni_bin_dirs = fx.bin_dirs,
                                     .n_cni_bin_dirs = 1,
                                     .node_name = "node1",
                                     .resolv_conf = fx.resolv,
                                     .cluster_dns = "10.96.0.10",
                                     .cluster_domain = "cluster.local"};
        /* orphans (the pid namespace holder) come to us, as they do to the daemon */
        (void) prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        atexit(fixture_cleanup);
        return true;
}

static struct podspec_file *files[8];
static size_t n_files;

static struct pod *load(const char *yaml) {
        struct podspec_file *f = NULL;
        if (n_files >= ELEMENTSOF(files) || podspec_parse(yaml, strlen(yaml), &f) < 0 ||
            f->n_documents != 1 || !f->documents[0].pod) {
                podspec_file_free(f);
                return NULL;
        }
        files[n_files++] = f;
        struct pod *p = f->documents[0].pod;
        if (pod_set_defaults(p) < 0)
                return NULL;
        return p;
}

static void pods_free(void) {
        for (size_t i = 0; i < n_files; i++)
                podspec_file_free(files[i]);
        n_files = 0;
}

/* ---- looking into namespaces ----------------------------------------------------------------- */

/* Fork, join the namespace at path (type CLONE_NEW*), run fn, exit with its result. */
static int in_ns(const char *path, int type, int (*fn)(void *), void *arg) {
        pid_t pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                int fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0 || setns(fd, type) < 0)
                        _exit(100);
                _exit(fn(arg));
        }
        int st;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
                ;
        return WIFEXITED(st) ? WEXITSTATUS(st) : 101;
}

struct ifaddr_q {
        const char *ifname;
        char result[INET_ADDRSTRLEN];
        int pipe_w;
};

static int get_ifaddr(void *arg) {
        struct ifaddr_q *q = arg;
        int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct ifreq ifr = {};
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", q->ifname);
        if (s < 0 || ioctl(s, SIOCGIFADDR, &ifr) < 0)
                return 1;
        struct sockaddr_in *sin = (struct sockaddr_in *) &ifr.ifr_addr;
        char buf[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof(buf));
        if (write(q->pipe_w, buf, strlen(buf) + 1) < 0)
                return 1;
        /* lo up? */
        struct ifreq lo = {};
        snprintf(lo.ifr_name, sizeof(lo.ifr_name), "lo");
        if (ioctl(s, SIOCGIFFLAGS, &lo) < 0 || !(lo.ifr_flags & IFF_UP))
                return 2;
        return 0;
}

/* eth0's IPv4 address inside the netns; 0 when lo is up too. */
static int netns_eth0(const char *netns, char ret[INET_ADDRSTRLEN]) {
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
                return -1;
        struct ifaddr_q q = {.ifname = "eth0", .pipe_w = p[1]};
        int r = in_ns(netns, CLONE_NEWNET, get_ifaddr, &q);
        close(p[1]);
        ssize_t k = read(p[0], ret, INET_ADDRSTRLEN);
        close(p[0]);
        if (k <= 0)
                ret[0] = '\0';
        return r;
}

static int do_ping(void *arg) {
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "busybox ping -c1 -W2 %s >/dev/null 2>&1", (const char *) arg);
        return test_sh("%s", cmd);
}

static int get_nodename(void *arg) {
        struct utsname u;
        if (uname(&u) < 0)
                return 1;
        return streq(u.nodename, (const char *) arg) ? 0 : 2;
}

struct server_arg {
        int port;
        int ready_w;
};

/* A one-shot TCP server on 0.0.0.0:port in the pod's netns: says "hello" to whoever connects. */
static int serve_hello(void *arg) {
        struct server_arg *a = arg;
        int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int one = 1;
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t) a->port)};
        if (s < 0 || bind(s, (struct sockaddr *) &sin, sizeof(sin)) < 0 || listen(s, 4) < 0)
                return 1;
        nl_ignore(write(a->ready_w, "r", 1));
        for (int i = 0; i < 2; i++) { /* the direct connection and the hostPort one */
                struct pollfd pf = {.fd = s, .events = POLLIN};
                if (poll(&pf, 1, 10000) <= 0)
                        return 2;
                int c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
                if (c < 0)
                        return 3;
                nl_ignore(write(c, "hello", 5));
                close(c);
        }
        return 0;
}

static int connect_read(const char *ip, int port, char *buf, size_t len) {
        int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t) port)};
        inet_pton(AF_INET, ip, &sin.sin_addr);
        struct timeval tv = {3, 0};
        setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        if (connect(s, (struct sockaddr *) &sin, sizeof(sin)) < 0) {
                close(s);
                return -errno;
        }
        ssize_t k = read(s, buf, len - 1);
        close(s);
        if (k < 0)
                return -errno;
        buf[k] = '\0';
        return 0;
}

/* ---- leftovers --------------------------------------------------------------------------------- */

static bool mounts_under(const char *prefix) {
        char *mi = test_read_file("/proc/self/mountinfo", NULL);
        bool found = mi && strstr(mi, prefix);
        free(mi);
        return found;
}

static int bridge_ports(void) {
        char path[128];
        snprintf(path, sizeof(path), "/sys/class/net/%s/brif", fx.bridge);
        DIR *d = opendir(path);
        if (!d)
                return 0;
        int n = 0;
        struct dirent *e;
        while ((e = readdir(d)))
                if (e->d_name[0] != '.')
                        n++;
        closedir(d);
        return n;
}

/* host-local keeps one file per reserved IP holding the container id */
static bool ipam_has(const char *id) {
        char dir[400];
        snprintf(dir, sizeof(dir), "%s/%s", fx.ipam, fx.net);
        DIR *d = opendir(dir);
        if (!d)
                return false;
        bool found = false;
        struct dirent *e;
        while ((e = readdir(d)) && !found) {
                if (e->d_name[0] == '.')
                        continue;
                char p[700];
                snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
                char *s = test_read_file(p, NULL);
                found = s && strstr(s, id);
                free(s);
        }
        closedir(d);
        return found;
}

static bool iptables_has(const char *id) {
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "iptables-save 2>/dev/null | grep -q %s", id);
        return test_sh("%s", cmd) == 0;
}

static bool cgroup_left(const char *path) {
        struct cgroup_layout *l = NULL;
        if (cgroup_layout_detect(&l, NULL) < 0)
                return false;
        bool r = cgroup_exists(l, path);
        cgroup_layout_free(l);
        return r;
}

/* Stop and remove, then check nothing of the sandbox is left. */
static void teardown_and_check(struct sandbox *sb) {
        nl_error err = NL_ERROR_INIT;
        char *id = strdup(sb->id), *dir = strdup(sb->dir),
             *cg = sb->cgroup_parent ? strdup(sb->cgroup_parent) : NULL;
        char *hosts = sb->hosts_path ? strdup(sb->hosts_path) : NULL;
        pid_t holder = sb->pid_holder;
        int ports = bridge_ports(), veths = sb->host_network ? 0 : 1;
        if (cri_sandbox_stop(&fx.cfg, sb, &err) < 0)
                TEST_FAIL("stop: %s", strempty(err.msg));
        nl_error_clear(&err);
        if (cri_sandbox_stop(&fx.cfg, sb, &err) < 0) /* idempotent */
                TEST_FAIL("stop again: %s", strempty(err.msg));
        nl_error_clear(&err);
        if (cri_sandbox_remove(&fx.cfg, sb, &err) < 0)
                TEST_FAIL("remove: %s", strempty(err.msg));
        nl_error_clear(&err);
        sandbox_free(sb);

        CHECK(!mounts_under(dir));
        CHECK(access(dir, F_OK) < 0);
        CHECK(!ipam_has(id));
        CHECK(!iptables_has(id));
        CHECK_INT_EQ(bridge_ports(), ports - veths); /* its veth is gone */
        if (cg)
                CHECK(!cgroup_left(cg));
        if (hosts)
                CHECK(access(hosts, F_OK) < 0);
        if (holder > 0)
                CHECK(kill(holder, 0) < 0 && errno == ESRCH);
        free(id);
        free(dir);
        free(cg);
        free(hosts);
}

/* ==== cgroup layouts (no root needed) ============================================================= */

static const char MI_HYBRID[] =
        "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
        "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n"
        "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
        "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd\n"
        "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate\n";
static const char MI_V2[] =
        "30 23 0:27 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n"
        "99 23 0:27 /sub /mnt/x rw - cgroup2 cgroup2 rw\n";
static const char MI_V1[] = "32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n"
                            "33 31 0:30 / /sys/fs/my\\040cg rw - cgroup cgroup rw,memory,clone_children\n";

TEST(cgroup_layout_modes) {
        struct cgroup_layout *l = NULL;
        nl_error err = NL_ERROR_INIT;

        CHECK_INT_EQ(cgroup_layout_parse(MI_HYBRID, "", &l, NULL), 0);
        CHECK_INT_EQ(l->mode, CGROUP_MODE_HYBRID);
        CHECK_INT_EQ(l->n_h, 4);
        CHECK_STR_EQ(l->h[0].controllers, "cpu,cpuacct");
        CHECK_STR_EQ(l->h[2].controllers, "name=systemd");
        CHECK_STR_EQ(l->unified, "/sys/fs/cgroup/unified");
        CHECK(!cgroup_layout_is_v2(l));
        CHECK_INT_EQ(cgroup_check(l, NULL), 0);
        cgroup_layout_free(l);

        /* hugetlb left on the v2 side of a hybrid node: crun refuses; say how to fix it */
        CHECK_INT_EQ(cgroup_layout_parse(MI_HYBRID, "hugetlb\n", &l, NULL), 0);
        CHECK_INT_EQ(cgroup_check(l, &err), -EOPNOTSUPP);
        CHECK(err.msg && strstr(err.msg, "\"hugetlb\""));
        CHECK(err.msg &&
              strstr(err.msg, "mkdir -p /sys/fs/cgroup/hugetlb && mount -t cgroup -o hugetlb cgroup "
                              "/sys/fs/cgroup/hugetlb"));
        nl_error_clear(&err);
        cgroup_layout_free(l);

        CHECK_INT_EQ(cgroup_layout_parse(MI_V2, "cpu memory pids", &l, NULL), 0);
        CHECK_INT_EQ(l->mode, CGROUP_MODE_V2);
        CHECK_INT_EQ(l->n_h, 1); /* the sub-tree bind mount is not a hierarchy */
        CHECK(cgroup_layout_is_v2(l));
        CHECK_INT_EQ(cgroup_check(l, NULL), 0);
        cgroup_layout_free(l);

        CHECK_INT_EQ(cgroup_layout_parse(MI_V1, NULL, &l, NULL), 0);
        CHECK_INT_EQ(l->mode, CGROUP_MODE_V1);
        CHECK_STR_EQ(l->h[1].mount_point, "/sys/fs/my cg");
        CHECK_STR_EQ(l->h[1].controllers, "memory");
        cgroup_layout_free(l);

        CHECK_INT_EQ(cgroup_layout_parse("1 2 0:1 / / rw - ext4 /dev/sda rw\n", NULL, &l, NULL), -ENOENT);
}

/* cgroupDriver systemd: the pods go under the unit's delegated cgroup, the same in every
 * hierarchy; the root cgroup, or a cgroup that differs between hierarchies, is refused. */
TEST(cgroup_delegated_root) {
        struct cgroup_layout *l = NULL;
        nl_error err = NL_ERROR_INIT;
        char *root = NULL;

        CHECK_INT_EQ(cgroup_layout_parse(MI_HYBRID, "", &l, NULL), 0);
        CHECK_INT_EQ(cgroup_delegated_root(l,
                                           "12:memory:/system.slice/kubelet.service\n"
                                           "4:cpu,cpuacct:/system.slice/kubelet.service\n"
                                           "1:name=systemd:/system.slice/kubelet.service\n"
                                           "0::/system.slice/kubelet.service\n",
                                           &root, &err),
                     0);
        CHECK_STR_EQ(root, "/system.slice/kubelet.service");
        free(root);
        root = NULL;
        /* nodelet's own leaf (or DelegateSubgroup=nodelet): the unit's cgroup is its parent */
        CHECK_INT_EQ(cgroup_delegated_root(l,
                                           "12:memory:/system.slice/kubelet.service/nodelet\n"
                                           "4:cpu,cpuacct:/system.slice/kubelet.service/nodelet\n"
                                           "1:name=systemd:/system.slice/kubelet.service/nodelet\n",
                                           &root, &err),
                     0);
        CHECK_STR_EQ(root, "/system.slice/kubelet.service");
        free(root);
        root = NULL;
        CHECK_INT_EQ(cgroup_delegated_root(l, "12:memory:/user.slice/x\n4:cpu,cpuacct:/\n1:name=systemd:/\n", &root,
                                           &err),
                     -EINVAL);
        CHECK(err.msg && strstr(err.msg, "nodelet's cgroup is / in /sys/fs/cgroup/cpu,cpuacct but /user.slice/x in "
                                        "/sys/fs/cgroup/memory"));
        nl_error_clear(&err);
        CHECK_INT_EQ(cgroup_delegated_root(l, "12:memory:/\n4:cpu,cpuacct:/\n1:name=systemd:/\n0::/\n", &root, &err),
                     -EINVAL);
        CHECK(err.msg && strstr(err.msg, "nodelet runs in the root cgroup"));
        nl_error_clear(&err);
        CHECK(root == NULL);
        cgroup_layout_free(l);

        CHECK_INT_EQ(cgroup_layout_parse(MI_V2, "cpu memory pids", &l, NULL), 0);
        CHECK_INT_EQ(cgroup_delegated_root(l, "0::/system.slice/nodelet.service\n", &root, &err), 0);
        CHECK_STR_EQ(root, "/system.slice/nodelet.service");
        char *p = cgroup_pod_path(root, "Burstable", "abc");
        CHECK_STR_EQ(p, "/system.slice/nodelet.service/kubepods/burstable/podabc");
        free(p);
        free(root);
        cgroup_layout_free(l);
}

TEST(cgroup_names) {
        char *p = cgroup_pod_path("", "Burstable", "abc");
        CHECK_STR_EQ(p, "/kubepods/burstable/podabc");
        char *c = cgroup_container_path(p, "ctr1");
        CHECK_STR_EQ(c, "/kubepods/burstable/podabc/ctr1");
        free(p);
        free(c);
        p = cgroup_pod_path(NULL, "Guaranteed", "abc");
        CHECK_STR_EQ(p, "/kubepods/podabc");
        free(p);
        p = cgroup_pod_path("", "BestEffort", "abc");
        CHECK_STR_EQ(p, "/kubepods/besteffort/podabc");
        free(p);
}

TEST(cgroup_pod_resources) {
        struct cgroup_pod_resources r;
        struct pod *p = load("apiVersion: v1\nkind: Pod\nmetadata: {name: g, namespace: d, uid: u}\nspec:\n"
                             "  containers:\n"
                             "  - {name: a, image: x, resources: {limits: {cpu: 500m, memory: 64Mi}}}\n"
                             "  - {name: b, image: x, resources: {limits: {cpu: 250m, memory: 32Mi}}}\n");
        CHECK(p);
        cgroup_pod_resources(p, &r);
        CHECK_INT_EQ(r.cpu_shares, 768);
        CHECK_INT_EQ(r.cpu_quota, 75000);
        CHECK_INT_EQ(r.memory_limit, 96 * 1024 * 1024);

        /* Burstable: one container without limits -> no quota, no memory limit */
        p = load("apiVersion: v1\nkind: Pod\nmetadata: {name: b, namespace: d, uid: u}\nspec:\n"
                 "  containers:\n"
                 "  - {name: a, image: x, resources: {requests: {cpu: 100m}, limits: {cpu: 200m, memory: "
                 "64Mi}}}\n"
                 "  - {name: b, image: x}\n");
        cgroup_pod_resources(p, &r);
        CHECK_INT_EQ(r.cpu_shares, 102);
        CHECK_INT_EQ(r.cpu_quota, 0);
        CHECK_INT_EQ(r.memory_limit, 0);

        /* init containers count by their maximum */
        p = load("apiVersion: v1\nkind: Pod\nmetadata: {name: i, namespace: d, uid: u}\nspec:\n"
                 "  initContainers:\n"
                 "  - {name: i, image: x, resources: {requests: {cpu: \"2\"}, limits: {cpu: \"2\", memory: "
                 "1Gi}}}\n"
                 "  containers:\n"
                 "  - {name: a, image: x, resources: {requests: {cpu: 100m}, limits: {cpu: 1, memory: "
                 "64Mi}}}\n");
        cgroup_pod_resources(p, &r);
        CHECK_INT_EQ(r.cpu_shares, 2048);
        CHECK_INT_EQ(r.cpu_quota, 200000);
        CHECK_INT_EQ(r.memory_limit, 1024 * 1024 * 1024);

        p = load("apiVersion: v1\nkind: Pod\nmetadata: {name: e, namespace: d, uid: u}\nspec:\n"
                 "  containers:\n  - {name: a, image: x}\n");
        cgroup_pod_resources(p, &r);
        CHECK_INT_EQ(r.cpu_shares, 2);
        CHECK_INT_EQ(r.cpu_quota, 0);
        CHECK_INT_EQ(r.memory_limit, 0);
        pods_free();
}

/* ==== sandboxes ================================================================================== */

#define POD(name, uid, extra)                                                                               \
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: " name "\n  namespace: test\n  uid: " uid "\n"       \
        "spec:\n" extra "  containers:\n  - name: c\n    image: busybox\n"

TEST(sandbox_network_hostname_hosts) {
        if (!fixture())
                return;
        nl_error err = NL_ERROR_INIT;
        struct pod *pa = load(POD("pod-a", "aaaa-1111",
                                  "  hostname: alpha\n  subdomain: grp\n"
                                  "  hostAliases:\n  - ip: 123.45.67.89\n    hostnames: [foo, bar]\n"));
        struct pod *pb = load(POD("pod-b", "bbbb-2222", ""));
        struct sandbox *a = NULL, *b = NULL;
        CHECK(pa && pb);
        if (cri_sandbox_run(&fx.cfg, pa, &a, &err) < 0) {
                TEST_FAIL("run a: %s", strempty(err.msg));
                nl_error_clear(&err);
                pods_free();
                return;
        }
        if (cri_sandbox_run(&fx.cfg, pb, &b, &err) < 0) {
                TEST_FAIL("run b: %s", strempty(err.msg));
                nl_error_clear(&err);
                teardown_and_check(a);
                pods_free();
                return;
        }

        /* pinned namespaces */
        CHECK(nsfile_is_ns(a->netns_path, "net"));
        CHECK(nsfile_is_ns(a->ipcns_path, "ipc"));
        CHECK(nsfile_is_ns(a->utsns_path, "uts"));
        CHECK(!nsfile_is_ns(a->netns_path, "ipc"));
        CHECK(a->pidns_path == NULL && a->pid_holder == 0);
        CHECK(a->shm_path && mountinfo_is_mount_point(a->shm_path));
        /* only the sandboxes dir itself is a mount the host's other namespaces could see */
        char sbdir[400];
        snprintf(sbdir, sizeof(sbdir), "%s/sandboxes", fx.run);
        CHECK(mountinfo_is_mount_point(sbdir));

        /* IPs: from the test subnet, the same as eth0 inside, and lo is up */
        char prefix[32], inside[INET_ADDRSTRLEN];
        snprintf(prefix, sizeof(prefix), "10.99.%u.", fx.n);
        CHECK_INT_EQ(a->n_ips, 1);
        CHECK_INT_EQ(b->n_ips, 1);
        if (a->n_ips == 1 && b->n_ips == 1) {
                CHECK(strncmp(a->ips[0], prefix, strlen(prefix)) == 0);
                CHECK_INT_EQ(netns_eth0(a->netns_path, inside), 0);
                CHECK_STR_EQ(inside, a->ips[0]);
                /* the host reaches the pod over the test bridge, and the pods reach each other */
                CHECK_INT_EQ(do_ping(a->ips[0]), 0);
                CHECK_INT_EQ(in_ns(a->netns_path, CLONE_NEWNET, do_ping, b->ips[0]), 0);
                CHECK_INT_EQ(in_ns(b->netns_path, CLONE_NEWNET, do_ping, a->ips[0]), 0);
        }

        /* hostname in the UTS namespace, and the files */
        CHECK_STR_EQ(a->hostname, "alpha");
        CHECK_INT_EQ(in_ns(a->utsns_path, CLONE_NEWUTS, get_nodename, "alpha"), 0);
        CHECK_INT_EQ(in_ns(b->utsns_path, CLONE_NEWUTS, get_nodename, "pod-b"), 0);
        char *hosts = a->hosts_path ? test_read_file(a->hosts_path, NULL) : NULL;
        CHECK(hosts && strncmp(hosts, "# Kubernetes-managed hosts file.\n", 33) == 0);
        if (hosts && a->n_ips == 1) {
                char line[256];
                snprintf(line, sizeof(line), "\n%s\talpha.grp.test.svc.cluster.local\talpha\n", a->ips[0]);
                CHECK(strstr(hosts, line));
                CHECK(strstr(hosts, "123.45.67.89\tfoo\tbar\n"));
        }
        free(hosts);
        char *resolv = a->resolv_path ? test_read_file(a->resolv_path, NULL) : NULL;
        CHECK_STR_EQ(resolv, "search test.svc.cluster.local svc.cluster.local cluster.local example.test\n"
                             "nameserver 10.96.0.10\noptions ndots:5\n");
        free(resolv);
        char *hn = a->hostname_path ? test_read_file(a->hostname_path, NULL) : NULL;
        CHECK_STR_EQ(hn, "alpha\n");
        free(hn);

        /* the pod cgroup: BestEffort */
        CHECK_STR_EQ(a->cgroup_parent, "/kubepods/besteffort/podaaaa-1111");
        CHECK(cgroup_left(a->cgroup_parent));

        /* the record reads back; the list has both */
        struct sandbox *l = NULL;
        CHECK_INT_EQ(cri_sandbox_load(&fx.cfg, a->id, &l, NULL), 0);
        if (l) {
                CHECK_STR_EQ(l->pod_uid, "aaaa-1111");
                CHECK_STR_EQ(l->netns_path, a->netns_path);
                CHECK_STR_EQ(l->hosts_path, a->hosts_path);
                CHECK_INT_EQ(l->n_ips, a->n_ips);
                if (l->n_ips == 1 && a->n_ips == 1)
                        CHECK_STR_EQ(l->ips[0], a->ips[0]);
                CHECK_STR_EQ(l->cgroup_parent, a->cgroup_parent);
                sandbox_free(l);
        }
        char **ids = NULL;
        size_t n_ids = 0;
        CHECK_INT_EQ(cri_sandbox_list(&fx.cfg, &ids, &n_ids), 0);
        CHECK_INT_EQ(n_ids, 2);
        for (size_t i = 0; i < n_ids; i++)
                free(ids[i]);
        free(ids);

        /* CNI CHECK agrees */
        CHECK_INT_EQ(cni_check(&fx.cfg, a->dir, a->netns_path, &err), 0);
        if (err.msg)
                fprintf(stderr, "  cni check: %s\n", err.msg);
        nl_error_clear(&err);

        teardown_and_check(a);
        teardown_and_check(b);
        pods_free();
}

TEST(sandbox_host_port) {
        if (!fixture())
                return;
        nl_error err = NL_ERROR_INIT;
        int host_port = 20000 + (int) fx.n;
        char yaml[1024];
        snprintf(yaml, sizeof(yaml),
                 "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  namespace: test\n  uid: "
                 "cccc-3333\nspec:\n"
                 "  containers:\n  - name: c\n    image: busybox\n    ports:\n    - containerPort: 8080\n"
                 "      hostPort: %d\n",
                 host_port);
        struct pod *p = load(yaml);
        struct sandbox *sb = NULL;
        CHECK(p);
        if (cri_sandbox_run(&fx.cfg, p, &sb, &err) < 0) {
                TEST_FAIL("run: %s", strempty(err.msg));
                nl_error_clear(&err);
                pods_free();
                return;
        }
        CHECK_INT_EQ(sb->n_ips, 1);
        int ready[2];
        CHECK(pipe2(ready, O_CLOEXEC) == 0);
        pid_t server = fork();
        if (server == 0) {
                close(ready[0]);
                struct server_arg a = {8080, ready[1]};
                int fd = open(sb->netns_path, O_RDONLY | O_CLOEXEC);
                if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
                        _exit(100);
                _exit(serve_hello(&a));
        }
        close(ready[1]);
        char c;
        CHECK(read(ready[0], &c, 1) == 1);
        close(ready[0]);
        char buf[16] = "";
        if (sb->n_ips == 1) {
                /* the pod's port directly, then the hostPort through portmap's DNAT on loopback */
                CHECK_INT_EQ(connect_read(sb->ips[0], 8080, buf, sizeof(buf)), 0);
                CHECK_STR_EQ(buf, "hello");
                buf[0] = '\0';
                int r = connect_read("127.0.0.1", host_port, buf, sizeof(buf));
                CHECK_INT_EQ(r, 0);
                CHECK_STR_EQ(buf, "hello");
        }
        kill(server, SIGKILL);
        waitpid(server, NULL, 0);
        char id[40];
        snprintf(id, sizeof(id), "%s", sb->id);
        CHECK(iptables_has(id)); /* portmap's and bridge's rules name the sandbox */
        teardown_and_check(sb);
        pods_free();
}

TEST(sandbox_share_process_namespace) {
        if (!fixture())
                return;
        nl_error err = NL_ERROR_INIT;
        struct pod *p = load(POD("shared", "dddd-4444", "  shareProcessNamespace: true\n"));
        struct sandbox *sb = NULL;
        CHECK(p);
        if (cri_sandbox_run(&fx.cfg, p, &sb, &err) < 0) {
                TEST_FAIL("run: %s", strempty(err.msg));
                nl_error_clear(&err);
                pods_free();
                return;
        }
        CHECK(sb->pid_holder > 0);
        CHECK(sb->pidns_path && nsfile_is_ns(sb->pidns_path, "pid"));
        /* pid 1 of its namespace: NSpid lists our view, then 1 */
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/status", (int) sb->pid_holder);
        char *st = test_read_file(path, NULL);
        char *nspid = st ? strstr(st, "\nNSpid:") : NULL;
        CHECK(nspid);
        if (nspid) {
                char *eol = strchr(nspid + 1, '\n');
                if (eol)
                        *eol = '\0';
                CHECK(strlen(nspid) > 2 && streq(nspid + strlen(nspid) - 2, "\t1"));
        }
        free(st);
        /* detached: its own session */
        CHECK(getsid(sb->pid_holder) == sb->pid_holder);
        /* inside the pod cgroup */
        snprintf(path, sizeof(path), "/proc/%d/cgroup", (int) sb->pid_holder);
        char *cg = test_read_file(path, NULL);
        CHECK(cg && strstr(cg, "/kubepods/besteffort/poddddd-4444"));
        free(cg);
        /* restart-safe: a loaded record stops it too */
        struct sandbox *l = NULL;
        CHECK_INT_EQ(cri_sandbox_load(&fx.cfg, sb->id, &l, NULL), 0);
        if (l) {
                CHECK_INT_EQ(l->pid_holder, sb->pid_holder);
                sandbox_free(sb);
                sb = l;
        }
        teardown_and_check(sb);
        pods_free();
}

TEST(sandbox_host_network) {
        if (!fixture())
                return;
        nl_error err = NL_ERROR_INIT;
        struct pod *p = load(POD("hostnet", "eeee-5555",
                                 "  hostNetwork: true\n  hostAliases:\n  - ip: 123.45.67.89\n"
                                 "    hostnames: [foo, bar]\n"));
        struct sandbox *sb = NULL;
        CHECK(p);
        if (cri_sandbox_run(&fx.cfg, p, &sb, &err) < 0) {
                TEST_FAIL("run: %s", strempty(err.msg));
                nl_error_clear(&err);
                pods_free();
                return;
        }
        CHECK(sb->netns_path == NULL && sb->utsns_path == NULL);
        CHECK(nsfile_is_ns(sb->ipcns_path, "ipc"));
        char host[256] = "";
        gethostname(host, sizeof(host));
        CHECK_STR_EQ(sb->hostname, host);
        CHECK(sb->n_ips >= 1);
        char *hosts = sb->hosts_path ? test_read_file(sb->hosts_path, NULL) : NULL;
        CHECK(hosts && strncmp(hosts, "# Kubernetes-managed hosts file (host network).\n", 48) == 0);
        CHECK(hosts && strstr(hosts, "\n# Entries added by HostAliases.\n123.45.67.89\tfoo\tbar\n"));
        free(hosts);
        /* ClusterFirst on the host network is Default: the node's file */
        char *resolv = test_read_file(sb->resolv_path, NULL);
        CHECK_STR_EQ(resolv, "search example.test\nnameserver 192.0.2.53\n");
        free(resolv);
        teardown_and_check(sb);
        pods_free();
}

TEST(sandbox_failure_undoes) {
        if (!fixture())
                return;
        /* a plugin after bridge fails: the IP, the veth, the namespaces, the cgroup all go */
        conf_write("{\"type\": \"tuning\", \"sysctl\": {\"net.ipv4.conf.eth0.no_such_knob\": \"1\"}}");
        nl_error err = NL_ERROR_INIT;
        struct pod *p = load(POD("broken", "ffff-6666", ""));
        struct sandbox *sb = NULL;
        char sbdir[400];
        snprintf(sbdir, sizeof(sbdir), "%s/sandboxes/", fx.run);
        CHECK_INT_EQ(bridge_ports(), 0);
        int r = cri_sandbox_run(&fx.cfg, p, &sb, &err);
        CHECK(r < 0);
        CHECK(err.msg && strstr(err.msg, "CNI ADD of plugin tuning: "));
        if (err.msg)
                fprintf(stderr, "  (expected) %s\n", err.msg);
        nl_error_clear(&err);
        conf_write(NULL);
        CHECK(!mounts_under(sbdir));
        CHECK_INT_EQ(bridge_ports(), 0);
        CHECK(!cgroup_left("/kubepods/besteffort/podffff-6666"));
        char **ids = NULL;
        size_t n = 0;
        CHECK_INT_EQ(cri_sandbox_list(&fx.cfg, &ids, &n), 0);
        CHECK_INT_EQ(n, 0);
        free(ids);
        /* host-local's reservations: none left at all (every other test cleaned up too) */
        char ipam_dir[400];
        snprintf(ipam_dir, sizeof(ipam_dir), "%s/%s", fx.ipam, fx.net);
        DIR *d = opendir(ipam_dir);
        int reserved = 0;
        struct dirent *e;
        while (d && (e = readdir(d)))
                if (e->d_name[0] >= '0' && e->d_name[0] <= '9')
                        reserved++;
        if (d)
                closedir(d);
        CHECK_INT_EQ(reserved, 0);

        /* no network config at all: the error says where it looked */
        char path[400];
        snprintf(path, sizeof(path), "%s/10-test.conflist", fx.conf);
        char *saved = test_read_file(path, NULL);
        unlink(path);
        write_text(path,
                   "{\"cniVersion\": \"1.0.0\", \"name\": \"x\", \"plugins\": [{\"type\": \"nope\"}]}");
        CHECK(cri_sandbox_run(&fx.cfg, p, &sb, &err) < 0);
        CHECK(err.msg && strstr(err.msg, "no valid network config in ") &&
              strstr(err.msg, "plugin \"nope\" not found"));
        nl_error_clear(&err);
        if (saved)
                write_text(path, saved);
        free(saved);
        CHECK(!mounts_under(sbdir));
        pods_free();
}

TEST(sandbox_del_after_conf_change) {
        if (!fixture())
                return;
        /* DEL works from the cache: after a "restart" (load) with the conf dir emptied */
        nl_error err = NL_ERROR_INIT;
        struct pod *p = load(POD("cached", "abab-7777", ""));
        struct sandbox *sb = NULL;
        CHECK(p);
        if (cri_sandbox_run(&fx.cfg, p, &sb, &err) < 0) {
                TEST_FAIL("run: %s", strempty(err.msg));
                nl_error_clear(&err);
                pods_free();
                return;
        }
        char id[40];
        snprintf(id, sizeof(id), "%s", sb->id);
        CHECK(ipam_has(id));
        sandbox_free(sb);
        char path[400];
        snprintf(path, sizeof(path), "%s/10-test.conflist", fx.conf);
        char *saved = test_read_file(path, NULL);
        unlink(path);
        sb = NULL;
        CHECK_INT_EQ(cri_sandbox_load(&fx.cfg, id, &sb, &err), 0);
        nl_error_clear(&err);
        if (sb)
                teardown_and_check(sb);
        if (saved)
                write_text(path, saved);
        free(saved);
        pods_free();
}

TEST(deploy_conflist_loads) {
        /* the example config we ship is one this node's plugins accept */
        if (access(CNI_BIN "/bridge", X_OK) < 0 || access(CNI_BIN "/firewall", X_OK) < 0) {
                fprintf(stderr, "  (no CNI plugins in " CNI_BIN ": skipped)\n");
                return;
        }
        char *bins[] = {CNI_BIN};
        json_t *net = NULL;
        nl_error err = NL_ERROR_INIT;
        const char *src = getenv("NODELET_SOURCE_DIR");
        char dir[1024];
        snprintf(dir, sizeof(dir), "%s/deploy/cni", src ? src : ".");
        CHECK_INT_EQ(cni_load_network(dir, bins, 1, &net, &err), 0);
        if (err.msg)
                fprintf(stderr, "  %s\n", err.msg);
        nl_error_clear(&err);
        CHECK_STR_EQ(json_string_value(json_object_get(net, "name")), "nodelet");
        CHECK_INT_EQ(json_array_size(json_object_get(net, "plugins")), 3);
        json_decref(net);
}
