/* SPDX-License-Identifier: Apache-2.0 */
/* nodelet run's configuration: defaults, every flag, the KubeletConfiguration file (each key,
 * unknown and unsupported keys, bad values), Go durations, flags over the file, and the
 * example deploy/config.yaml. Runs from the repository root (as `make test` does). */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "agent/config.h"
#include "common/fs.h"
#include "test.h"

/* ==== helpers ============================================================================= */

static char tmpdir[] = "/tmp/nodelet-test-config-XXXXXX";

static const char *test_dir(void) {
        static bool made;
        if (!made) {
                if (!mkdtemp(tmpdir))
                        abort();
                made = true;
        }
        return tmpdir;
}

/* Writes a config file with the usual header (unless raw) and returns its path (static). */
static const char *write_config_raw(const char *name, const char *text) {
        static char path[512];
        snprintf(path, sizeof(path), "%s/%s", test_dir(), name);
        if (nl_write_file_atomic(path, text, strlen(text), 0644) < 0)
                abort();
        return path;
}

#define HEADER "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"

static const char *write_config(const char *body) {
        char *text = nl_strdupf(HEADER "%s", body);
        if (!text)
                abort();
        const char *p = write_config_raw("config.yaml", text);
        free(text);
        return p;
}

/* Load body into fresh defaults; returns r and the error message (static copy). */
static int load(const char *body, struct nodelet_config *c, char **ret_msg) {
        nl_error err = NL_ERROR_INIT;
        config_init_defaults(c);
        int r = config_load_file(c, write_config(body), &err);
        *ret_msg = err.msg ? strdup(err.msg) : NULL;
        nl_error_clear(&err);
        return r;
}

/* The error message of loading body, with the file name replaced by "FILE". */
static char *load_error(const char *body) {
        struct nodelet_config c;
        char *msg = NULL;
        int r = load(body, &c, &msg);
        config_done(&c);
        if (r >= 0) {
                free(msg);
                return strdup("(loaded)");
        }
        if (!msg)
                return strdup("(no message)");
        char file[512];
        snprintf(file, sizeof(file), "%s/config.yaml: ", test_dir());
        char *out = strncmp(msg, file, strlen(file)) == 0 ? nl_strdupf("FILE: %s", msg + strlen(file))
                                                          : strdup(msg);
        free(msg);
        return out;
}

#define CHECK_LOAD_ERROR(body, want)                                                                        \
        do {                                                                                                \
                char *_m = load_error(body);                                                                \
                CHECK_STR_EQ(_m, want);                                                                     \
                free(_m);                                                                                   \
        } while (0)

#define CHECK_LOAD_ERROR_HAS(body, want)                                                                    \
        do {                                                                                                \
                char *_m = load_error(body);                                                                \
                if (!_m || !strstr(_m, want))                                                               \
                        TEST_FAIL("load error \"%s\" lacks \"%s\"", _m ? _m : "(null)", want);              \
                free(_m);                                                                                   \
        } while (0)

/* Parse flags into fresh defaults (argv[0] is "run" and is added here). */
static int parse(struct nodelet_config *c, char **ret_msg, const char *const *args) {
        char *argv[64] = {(char *) "run"};
        int argc = 1;
        for (; args[argc - 1] && argc < 63; argc++)
                argv[argc] = (char *) args[argc - 1];
        argv[argc] = NULL;
        nl_error err = NL_ERROR_INIT;
        config_init_defaults(c);
        int r = config_parse_run_args(c, argc, argv, &err);
        *ret_msg = err.msg ? strdup(err.msg) : NULL;
        nl_error_clear(&err);
        return r;
}

static char *parse_error(const char *const *args) {
        struct nodelet_config c;
        char *msg = NULL;
        int r = parse(&c, &msg, args);
        config_done(&c);
        if (r >= 0) {
                free(msg);
                return strdup("(parsed)");
        }
        return msg ? msg : strdup("(no message)");
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

#define CHECK_PARSE_ERROR(want, ...)                                                                        \
        do {                                                                                                \
                char *_m = parse_error(ARGS(__VA_ARGS__));                                                  \
                CHECK_STR_EQ(_m, want);                                                                     \
                free(_m);                                                                                   \
        } while (0)

static const struct registry_host_config *find_host(const struct nodelet_config *c, const char *host) {
        for (size_t i = 0; i < c->registry.n_hosts; i++)
                if (streq(c->registry.hosts[i].host, host))
                        return &c->registry.hosts[i];
        return NULL;
}

/* ==== defaults ============================================================================ */

TEST(defaults) {
        struct nodelet_config c;
        config_init_defaults(&c);
        CHECK(!isempty(c.node_name));
        for (const char *p = c.node_name; p && *p; p++)
                CHECK(!(*p >= 'A' && *p <= 'Z'));
        CHECK_STR_EQ(c.root_dir, "/var/lib/nodelet");
        CHECK_STR_EQ(c.run_dir, "/run/nodelet");
        CHECK_STR_EQ(c.log_dir, "/var/log/pods");
        CHECK_STR_EQ(c.containers_log_dir, "/var/log/containers");
        CHECK(c.pod_manifest_path == NULL);
        CHECK(c.config_file == NULL);
        CHECK_INT_EQ(c.file_check_frequency, 20 * 1000000ULL);
        CHECK_INT_EQ(c.sync_frequency, 60 * 1000000ULL);
        CHECK_STR_EQ(c.runtime_path, "crun");
        CHECK(c.shim_path && c.shim_path[0] == '/');
        CHECK(c.shim_path && strlen(c.shim_path) > 13 &&
              streq(c.shim_path + strlen(c.shim_path) - 13, "/nodelet-shim"));
        CHECK_STR_EQ(c.cni_conf_dir, "/etc/cni/net.d");
        CHECK_INT_EQ(c.n_cni_bin_dirs, 2);
        if (c.n_cni_bin_dirs == 2) {
                CHECK_STR_EQ(c.cni_bin_dirs[0], "/usr/lib/cni");
                CHECK_STR_EQ(c.cni_bin_dirs[1], "/opt/cni/bin");
        }
        CHECK_STR_EQ(c.seccomp_root, "/var/lib/nodelet/seccomp");
        CHECK_INT_EQ(c.max_pods, 110);
        CHECK_INT_EQ(c.container_log_max_size, 10 * 1024 * 1024);
        CHECK_INT_EQ(c.container_log_max_files, 5);
        CHECK(c.cluster_dns == NULL);
        CHECK_STR_EQ(c.cluster_domain, "cluster.local");
        CHECK_STR_EQ(c.resolv_conf, "/etc/resolv.conf");
        CHECK_INT_EQ(c.image_gc_high_threshold, 85);
        CHECK_INT_EQ(c.image_gc_low_threshold, 80);
        CHECK_INT_EQ(c.registry.n_hosts, 0);
        CHECK(c.registry.auth_file == NULL);
        CHECK_INT_EQ(c.verbosity, 0);

        struct cri_config cri;
        config_to_cri(&c, &cri);
        CHECK(cri.root_dir == c.root_dir);
        CHECK(cri.run_dir == c.run_dir);
        CHECK(cri.log_dir == c.log_dir);
        CHECK(cri.containers_log_dir == c.containers_log_dir);
        CHECK(cri.runtime_path == c.runtime_path);
        CHECK(cri.shim_path == c.shim_path);
        CHECK(cri.cni_conf_dir == c.cni_conf_dir);
        CHECK(cri.cni_bin_dirs == c.cni_bin_dirs);
        CHECK_INT_EQ(cri.n_cni_bin_dirs, 2);
        CHECK(cri.seccomp_root == c.seccomp_root);
        CHECK(cri.node_name == c.node_name);
        CHECK(cri.resolv_conf == c.resolv_conf);
        CHECK(cri.cluster_dns == NULL);
        CHECK(cri.cluster_domain == c.cluster_domain);
        CHECK_INT_EQ(cri.log_max_size, 10 * 1024 * 1024);
        CHECK_INT_EQ(cri.log_max_files, 5);
        config_done(&c);
        config_done(&c); /* twice is fine */
}

TEST(no_flags_is_defaults) {
        struct nodelet_config c;
        char *msg = NULL;
        char *argv[] = {(char *) "run", NULL};
        nl_error err = NL_ERROR_INIT;
        config_init_defaults(&c);
        CHECK_INT_EQ(config_parse_run_args(&c, 1, argv, &err), 0);
        CHECK(err.msg == NULL);
        CHECK_INT_EQ(c.max_pods, 110);
        free(msg);
        config_done(&c);
}

/* ==== flags =============================================================================== */

TEST(every_flag) {
        struct nodelet_config c;
        char *msg = NULL;
        int r = parse(&c, &msg,
                      ARGS("--pod-manifest-path", "/etc/kubernetes/manifests", "--hostname-override",
                           " Node-A.Lab ", "--root-dir", "/srv/nodelet", "--run-dir=/run/n2",
                           "--container-runtime-path", "runc", "--cni-conf-dir", "/etc/cni/other",
                           "--cni-bin-dir", "/a,/b", "--cni-bin-dir", "/c", "--max-pods", "42",
                           "--cluster-dns", "10.96.0.10", "--cluster-dns", "fd00::a,10.96.0.11",
                           "--cluster-domain", "k8s.example", "--resolv-conf",
                           "/run/systemd/resolve/resolv.conf", "--file-check-frequency", "1m30s",
                           "--sync-frequency", "500ms", "--container-log-max-size", "1Gi",
                           "--container-log-max-files", "3", "--image-gc-high-threshold", "90",
                           "--image-gc-low-threshold", "10", "--insecure-registry", "127.0.0.1:5000",
                           "--registry-ca", "reg.lab=/etc/ca.pem", "--registry-mirror",
                           "docker.io=https://mirror.lab:5000", "--registry-mirror",
                           "docker.io=http://mirror2.lab", "--auth-file", "/etc/nodelet/auth.json",
                           "--pod-log-dir", "/srv/logs", "-v", "4"));
        CHECK_INT_EQ(r, 0);
        if (msg)
                TEST_FAIL("unexpected error: %s", msg);
        CHECK_STR_EQ(c.pod_manifest_path, "/etc/kubernetes/manifests");
        CHECK_STR_EQ(c.node_name, "node-a.lab");
        CHECK_STR_EQ(c.root_dir, "/srv/nodelet");
        CHECK_STR_EQ(c.seccomp_root, "/srv/nodelet/seccomp");
        CHECK_STR_EQ(c.run_dir, "/run/n2");
        CHECK_STR_EQ(c.runtime_path, "runc");
        CHECK_STR_EQ(c.cni_conf_dir, "/etc/cni/other");
        CHECK_INT_EQ(c.n_cni_bin_dirs, 3);
        if (c.n_cni_bin_dirs == 3) {
                CHECK_STR_EQ(c.cni_bin_dirs[0], "/a");
                CHECK_STR_EQ(c.cni_bin_dirs[1], "/b");
                CHECK_STR_EQ(c.cni_bin_dirs[2], "/c");
                CHECK(c.cni_bin_dirs[3] == NULL);
        }
        CHECK_INT_EQ(c.max_pods, 42);
        CHECK_STR_EQ(c.cluster_dns, "10.96.0.10,fd00::a,10.96.0.11");
        CHECK_STR_EQ(c.cluster_domain, "k8s.example");
        CHECK_STR_EQ(c.resolv_conf, "/run/systemd/resolve/resolv.conf");
        CHECK_INT_EQ(c.file_check_frequency, 90 * 1000000ULL);
        CHECK_INT_EQ(c.sync_frequency, 500 * 1000ULL);
        CHECK_INT_EQ(c.container_log_max_size, 1024LL * 1024 * 1024);
        CHECK_INT_EQ(c.container_log_max_files, 3);
        CHECK_INT_EQ(c.image_gc_high_threshold, 90);
        CHECK_INT_EQ(c.image_gc_low_threshold, 10);
        const struct registry_host_config *h = find_host(&c, "127.0.0.1:5000");
        CHECK(h && h->insecure);
        h = find_host(&c, "reg.lab");
        CHECK(h && h->ca_file && streq(h->ca_file, "/etc/ca.pem"));
        h = find_host(&c, "docker.io");
        CHECK(h && h->n_mirrors == 2);
        if (h && h->n_mirrors == 2) {
                CHECK_STR_EQ(h->mirrors[0], "https://mirror.lab:5000");
                CHECK_STR_EQ(h->mirrors[1], "http://mirror2.lab");
        }
        CHECK_STR_EQ(c.registry.auth_file, "/etc/nodelet/auth.json");
        CHECK_STR_EQ(c.log_dir, "/srv/logs");
        CHECK_INT_EQ(c.verbosity, 4);
        free(msg);
        config_done(&c);
}

TEST(flag_forms) {
        struct nodelet_config c;
        char *msg = NULL;
        CHECK_INT_EQ(parse(&c, &msg, ARGS("--v=7", "--node-name=Box1")), 0);
        CHECK_INT_EQ(c.verbosity, 7);
        CHECK_STR_EQ(c.node_name, "box1");
        free(msg);
        config_done(&c);

        CHECK_INT_EQ(parse(&c, &msg, ARGS("-v3", "--container-runtime-path", "/usr/local/bin/crun")), 0);
        CHECK_INT_EQ(c.verbosity, 3);
        CHECK_STR_EQ(c.runtime_path, "/usr/local/bin/crun");
        free(msg);
        config_done(&c);

        /* an empty --pod-manifest-path turns static pods off, as staticPodPath: "" */
        CHECK_INT_EQ(parse(&c, &msg, ARGS("--pod-manifest-path", "/x", "--pod-manifest-path=")), 0);
        CHECK(c.pod_manifest_path == NULL);
        free(msg);
        config_done(&c);

        /* --help prints and returns 1 without applying anything, even with bad flags after */
        FILE *saved = stdout;
        stdout = fopen("/dev/null", "w");
        int r = parse(&c, &msg, ARGS("--max-pods", "5", "--help"));
        fclose(stdout);
        stdout = saved;
        CHECK_INT_EQ(r, 1);
        CHECK_INT_EQ(c.max_pods, 110);
        free(msg);
        config_done(&c);
}

TEST(flag_errors) {
        CHECK_PARSE_ERROR("unknown flag \"--no-such-flag\"; see 'nodelet run --help'", "--no-such-flag");
        CHECK_PARSE_ERROR("unknown flag -x; see 'nodelet run --help'", "-x");
        CHECK_PARSE_ERROR("flag --max-pods needs a value", "--max-pods");
        CHECK_PARSE_ERROR("unexpected argument \"extra\": nodelet run takes only flags", "extra");
        CHECK_PARSE_ERROR("--max-pods: \"ten\" is not an integer", "--max-pods", "ten");
        CHECK_PARSE_ERROR("--max-pods: 0 must be between 1 and 1000", "--max-pods", "0");
        CHECK_PARSE_ERROR("--v: -1 must be between 0 and 100", "-v", "-1");
        CHECK_PARSE_ERROR("--container-runtime-path: \"youki\" is not crun, runc or a path to one of them",
                          "--container-runtime-path", "youki");
        CHECK_PARSE_ERROR("--cluster-dns: \"10.0.0.300\" is not a valid IP address", "--cluster-dns",
                          "10.0.0.300");
        CHECK_PARSE_ERROR("--cluster-domain: \"Bad_Domain\" is not a DNS-1123 subdomain", "--cluster-domain",
                          "Bad_Domain");
        CHECK_PARSE_ERROR(
                "--hostname-override \"node_1\" is not a DNS-1123 subdomain (lowercase letters, digits, "
                "'-' and '.', at most 253 characters)",
                "--hostname-override", "node_1");
        CHECK_PARSE_ERROR("--hostname-override is empty", "--hostname-override", "  ");
        CHECK_PARSE_ERROR("--registry-ca takes HOST=FILE, not \"reg.lab\"", "--registry-ca", "reg.lab");
        CHECK_PARSE_ERROR("--registry-mirror: mirror \"mirror.lab\" must be an http:// or https:// URL",
                          "--registry-mirror", "docker.io=mirror.lab");
        CHECK_PARSE_ERROR("--root-dir: must not be empty", "--root-dir", "");
        CHECK_PARSE_ERROR("--file-check-frequency: time: invalid duration \"soon\"",
                          "--file-check-frequency", "soon");
        CHECK_PARSE_ERROR("--sync-frequency: \"0\" must be a positive duration such as \"20s\"",
                          "--sync-frequency", "0");
        CHECK_PARSE_ERROR("--container-log-max-size: \"10MB\" is not a quantity such as \"10Mi\"",
                          "--container-log-max-size", "10MB");
        CHECK_PARSE_ERROR("--container-log-max-files: 1 must be between 2 and 1000",
                          "--container-log-max-files", "1");
        CHECK_PARSE_ERROR("imageGCLowThresholdPercent (--image-gc-low-threshold) 85 must be less than "
                          "imageGCHighThresholdPercent (--image-gc-high-threshold) 85",
                          "--image-gc-low-threshold", "85");
        CHECK_PARSE_ERROR("--image-gc-high-threshold: 101 must be between 0 and 100",
                          "--image-gc-high-threshold", "101");
        CHECK_PARSE_ERROR("--config: the file name is empty", "--config", "");
}

/* ==== Go durations (time.ParseDuration), through --file-check-frequency ==================== */

TEST(go_durations) {
        static const struct {
                const char *in;
                uint64_t usec;
        } ok[] = {
                {"20s", 20000000},
                {"1m30s", 90000000},
                {"500ms", 500000},
                {"1.5h", 5400000000ULL},
                {".5s", 500000},
                {"1.s", 1000000},
                {"+5s", 5000000},
                {"1h2m3s4ms5us6ns", 3723004006ULL}, /* 3723004005006 ns, rounded up to a microsecond */
                {"1\xc2\xb5s", 1},
                {"1\xce\xbcs", 1},
                {"1us", 1},
                {"1ns", 1},
                {"3000000000ns", 3000000},
                {"0.000000001h", 4}, /* 3600 ns */
                {"9223372036854775807ns", 9223372036854776ULL},
                {"2562047h", 2562047ULL * 3600 * 1000000},
                {"1.00000000000000000000000000001s", 1000000}, /* digits past int64 dropped */
        };
        for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
                struct nodelet_config c;
                char *msg = NULL;
                int r = parse(&c, &msg, ARGS("--file-check-frequency", ok[i].in));
                if (r != 0 || c.file_check_frequency != ok[i].usec)
                        TEST_FAIL("\"%s\": r=%d usec=%" PRIu64 " want %" PRIu64 " (%s)", ok[i].in, r,
                                  (uint64_t) c.file_check_frequency, ok[i].usec, msg ? msg : "");
                free(msg);
                config_done(&c);
        }

        static const struct {
                const char *in, *err;
        } bad[] = {
                {"", "time: invalid duration \"\""},
                {"1", "time: missing unit in duration \"1\""},
                {"s", "time: invalid duration \"s\""},
                {".s", "time: invalid duration \".s\""},
                {"-.s", "time: invalid duration \"-.s\""},
                {"+", "time: invalid duration \"+\""},
                {"1d", "time: unknown unit \"d\" in duration \"1d\""},
                {"1 s", "time: unknown unit \" s\" in duration \"1 s\""},
                {"1sm", "time: unknown unit \"sm\" in duration \"1sm\""},
                {"3.4.5s", "time: missing unit in duration \"3.4.5s\""},
                {"1\xc3\xa9s", "time: unknown unit \"\\xc3\\xa9s\" in duration \"1\\xc3\\xa9s\""},
                {"1\"s", "time: unknown unit \"\\\"s\" in duration \"1\\\"s\""},
                {"9223372036854775808ns", "time: invalid duration \"9223372036854775808ns\""},
                {"9223372036854775807ns1ns", "time: invalid duration \"9223372036854775807ns1ns\""},
                {"2562048h", "time: invalid duration \"2562048h\""},
                {"99999999999999999999s", "time: invalid duration \"99999999999999999999s\""},
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char *want = nl_strdupf("--file-check-frequency: %s", bad[i].err);
                char *got = parse_error(ARGS("--file-check-frequency", bad[i].in));
                CHECK_STR_EQ(got, want);
                free(want);
                free(got);
        }

        /* valid Go durations that are no period */
        CHECK_PARSE_ERROR("--file-check-frequency: \"-1s\" must be a positive duration such as \"20s\"",
                          "--file-check-frequency", "-1s");
        CHECK_PARSE_ERROR(
                "--file-check-frequency: \"-9223372036854775808ns\" must be a positive duration such as "
                "\"20s\"",
                "--file-check-frequency", "-9223372036854775808ns");
        CHECK_PARSE_ERROR("--file-check-frequency: \"0s\" must be a positive duration such as \"20s\"",
                          "--file-check-frequency", "0s");
}

/* ==== the file ============================================================================ */

TEST(file_every_key) {
        struct nodelet_config c;
        char *msg = NULL;
        int r = load("staticPodPath: /etc/kubernetes/manifests\n"
                     "fileCheckFrequency: 5s\n"
                     "syncFrequency: 2m\n"
                     "maxPods: 50\n"
                     "containerLogMaxSize: 20Mi\n"
                     "containerLogMaxFiles: 3\n"
                     "clusterDNS: [10.96.0.10, \"fd00::10\"]\n"
                     "clusterDomain: lab.local\n"
                     "resolvConf: /run/systemd/resolve/resolv.conf\n"
                     "imageGCHighThresholdPercent: 70\n"
                     "imageGCLowThresholdPercent: 60\n"
                     "cgroupDriver: cgroupfs\n"
                     "nodelet:\n"
                     "  rootDir: /srv/nodelet\n"
                     "  runDir: /run/nl\n"
                     "  containerRuntime: runc\n"
                     "  cniConfDir: /etc/cni/lab\n"
                     "  cniBinDirs: [/opt/cni/bin]\n"
                     "  insecureRegistries: [\"127.0.0.1:5000\", reg.lab]\n"
                     "  registryCAs: {\"secure.lab:5443\": /etc/nodelet/ca.pem}\n"
                     "  registryMirrors:\n"
                     "    docker.io: [\"https://m1.lab\", \"http://m2.lab:5000\"]\n"
                     "  authFile: /etc/nodelet/auth.json\n"
                     "  podLogDir: /srv/logs\n",
                     &c, &msg);
        CHECK_INT_EQ(r, 0);
        if (msg)
                TEST_FAIL("unexpected error: %s", msg);
        CHECK(c.config_file && strstr(c.config_file, "config.yaml"));
        CHECK_STR_EQ(c.pod_manifest_path, "/etc/kubernetes/manifests");
        CHECK_INT_EQ(c.file_check_frequency, 5 * 1000000ULL);
        CHECK_INT_EQ(c.sync_frequency, 120 * 1000000ULL);
        CHECK_INT_EQ(c.max_pods, 50);
        CHECK_INT_EQ(c.container_log_max_size, 20 * 1024 * 1024);
        CHECK_INT_EQ(c.container_log_max_files, 3);
        CHECK_STR_EQ(c.cluster_dns, "10.96.0.10,fd00::10");
        CHECK_STR_EQ(c.cluster_domain, "lab.local");
        CHECK_STR_EQ(c.resolv_conf, "/run/systemd/resolve/resolv.conf");
        CHECK_INT_EQ(c.image_gc_high_threshold, 70);
        CHECK_INT_EQ(c.image_gc_low_threshold, 60);
        CHECK_STR_EQ(c.root_dir, "/srv/nodelet");
        CHECK_STR_EQ(c.seccomp_root, "/srv/nodelet/seccomp");
        CHECK_STR_EQ(c.run_dir, "/run/nl");
        CHECK_STR_EQ(c.runtime_path, "runc");
        CHECK_STR_EQ(c.cni_conf_dir, "/etc/cni/lab");
        CHECK_INT_EQ(c.n_cni_bin_dirs, 1);
        if (c.n_cni_bin_dirs == 1)
                CHECK_STR_EQ(c.cni_bin_dirs[0], "/opt/cni/bin");
        const struct registry_host_config *h = find_host(&c, "127.0.0.1:5000");
        CHECK(h && h->insecure);
        h = find_host(&c, "reg.lab");
        CHECK(h && h->insecure);
        h = find_host(&c, "secure.lab:5443");
        CHECK(h && !h->insecure && h->ca_file && streq(h->ca_file, "/etc/nodelet/ca.pem"));
        h = find_host(&c, "docker.io");
        CHECK(h && h->n_mirrors == 2);
        if (h && h->n_mirrors == 2) {
                CHECK_STR_EQ(h->mirrors[0], "https://m1.lab");
                CHECK_STR_EQ(h->mirrors[1], "http://m2.lab:5000");
        }
        CHECK_STR_EQ(c.registry.auth_file, "/etc/nodelet/auth.json");
        CHECK_STR_EQ(c.log_dir, "/srv/logs");
        free(msg);
        config_done(&c);
}

TEST(file_relative_paths_and_nulls) {
        struct nodelet_config c;
        char *msg = NULL;
        /* relative paths are the file's directory's, as the kubelet resolves staticPodPath */
        int r = load("staticPodPath: manifests\n"
                     "resolvConf: \"\"\n"
                     "clusterDNS: []\n"
                     "maxPods: null\n"
                     "nodelet:\n"
                     "  containerRuntime: bin/crun\n"
                     "  authFile: null\n",
                     &c, &msg);
        CHECK_INT_EQ(r, 0);
        char *want = nl_strdupf("%s/manifests", test_dir());
        CHECK_STR_EQ(c.pod_manifest_path, want);
        free(want);
        want = nl_strdupf("%s/bin/crun", test_dir());
        CHECK_STR_EQ(c.runtime_path, want);
        free(want);
        CHECK_STR_EQ(c.resolv_conf, "");
        CHECK(c.cluster_dns == NULL);
        CHECK_INT_EQ(c.max_pods, 110);
        CHECK(c.registry.auth_file == NULL);
        free(msg);
        config_done(&c);

        /* staticPodPath "" is "no static pods" */
        r = load("staticPodPath: \"\"\n", &c, &msg);
        CHECK_INT_EQ(r, 0);
        CHECK(c.pod_manifest_path == NULL);
        free(msg);
        config_done(&c);
}

/* Load body with --strict-config's setting. */
static char *load_error_strict(const char *body) {
        struct nodelet_config c;
        nl_error err = NL_ERROR_INIT;
        config_init_defaults(&c);
        c.strict_config = true;
        int r = config_load_file(&c, write_config(body), &err);
        char file[512];
        snprintf(file, sizeof(file), "%s/config.yaml: ", test_dir());
        char *out = r >= 0       ? strdup("(loaded)")
                    : !err.msg   ? strdup("(no message)")
                    : strncmp(err.msg, file, strlen(file)) == 0 ? nl_strdupf("FILE: %s", err.msg + strlen(file))
                                                                 : strdup(err.msg);
        nl_error_clear(&err);
        config_done(&c);
        return out;
}

static bool has_str(char *const *v, size_t n, const char *s) {
        for (size_t i = 0; i < n; i++)
                if (streq(v[i], s))
                        return true;
        return false;
}

/* Unknown keys: refused under --strict-config, else loaded and warned about. */
TEST(file_unknown_keys) {
        char *m = load_error_strict("staticPodPth: /etc/kubernetes/manifests\n");
        CHECK_STR_EQ(m, "FILE: unknown key \"staticPodPth\"");
        free(m);
        m = load_error_strict("nodelet:\n  rootDirr: /x\n");
        CHECK_STR_EQ(m, "FILE: unknown key \"nodelet.rootDirr\"");
        free(m);
        m = load_error_strict("authentication:\n  x509: {clientCAFil: /ca.crt}\n");
        CHECK_STR_EQ(m, "FILE: unknown key \"authentication.x509.clientCAFil\"");
        free(m);
        m = load_error_strict("authorization: {mod: Webhook}\n");
        CHECK_STR_EQ(m, "FILE: unknown key \"authorization.mod\"");
        free(m);
        /* the kubelet's keys are no unknown keys, strict or not */
        m = load_error_strict("evictionHard:\n  memory.available: 100Mi\nfeatureGates: {}\n");
        CHECK_STR_EQ(m, "(loaded)");
        free(m);

        struct nodelet_config c;
        char *msg = NULL;
        CHECK_INT_EQ(load("staticPodPth: /x\nnodelet:\n  rootDirr: /x\nmaxPods: 7\n", &c, &msg), 0);
        CHECK_INT_EQ(c.max_pods, 7);
        CHECK_INT_EQ(c.n_unknown_keys, 2);
        CHECK(has_str(c.unknown_keys, c.n_unknown_keys, "staticPodPth"));
        CHECK(has_str(c.unknown_keys, c.n_unknown_keys, "nodelet.rootDirr"));
        CHECK_INT_EQ(c.n_ignored_keys, 0);
        char *w = config_warnings(&c);
        CHECK(w && strstr(w, "unknown keys, ignored (--strict-config refuses them): staticPodPth, nodelet.rootDirr\n"));
        free(w);
        free(msg);
        config_done(&c);
}

/* The kubelet's keys nodelet does not act on: accepted, listed in one warning. */
TEST(file_ignored_kubelet_keys) {
        struct nodelet_config c;
        char *msg = NULL;
        CHECK_INT_EQ(load("eventRecordQPS: 5\n"
                          "featureGates: {Foo: true}\n"
                          "kubeReservedCgroup: /kube\n"
                          "imageMinimumGCAge: 2m\n"
                          "podPidsLimit: 100\n"
                          "tlsMinVersion: VersionTLS13\n"
                          "authorization:\n  webhook: {cacheAuthorizedTTL: 1m}\n",
                          &c, &msg),
                     0);
        if (msg)
                TEST_FAIL("%s", msg);
        CHECK_INT_EQ(c.n_ignored_keys, 7);
        static const char *const want[] = {"eventRecordQPS", "featureGates", "kubeReservedCgroup",
                                           "imageMinimumGCAge", "podPidsLimit", "tlsMinVersion",
                                           "authorization.webhook.cacheAuthorizedTTL"};
        for (size_t i = 0; i < ELEMENTSOF(want); i++)
                if (!has_str(c.ignored_keys, c.n_ignored_keys, want[i]))
                        TEST_FAIL("%s is not in the ignored keys", want[i]);
        char *w = config_warnings(&c);
        CHECK(w && strstr(w, "7 KubeletConfiguration keys that nodelet does not act on, ignored"));
        CHECK(w && strstr(w, ": eventRecordQPS, featureGates, kubeReservedCgroup, imageMinimumGCAge, podPidsLimit, "
                             "tlsMinVersion, authorization.webhook.cacheAuthorizedTTL\n"));
        /* one line for all of them */
        CHECK(w && strchr(w, '\n') == w + strlen(w) - 1);
        free(w);
        free(msg);
        config_done(&c);

        /* the values nodelet behaves as anyway are honoured, not listed */
        CHECK_INT_EQ(load("cgroupsPerQOS: true\nreadOnlyPort: 0\ncgroupRoot: /\nenableDebuggingHandlers: true\n"
                          "seccompDefault: false\ncpuCFSQuota: true\n"
                          "authorization:\n  mode: Webhook\n  webhook: {cacheAuthorizedTTL: 5m, "
                          "cacheUnauthorizedTTL: 30s}\n"
                          "authentication:\n  anonymous: {enabled: false}\n  webhook: {enabled: true, cacheTTL: 2m0s}\n"
                          "  x509: {clientCAFile: /etc/kubernetes/pki/ca.crt}\n",
                          &c, &msg),
                     0);
        if (msg)
                TEST_FAIL("%s", msg);
        CHECK_INT_EQ(c.n_ignored_keys, 0);
        CHECK_STR_EQ(c.client_ca_file, "/etc/kubernetes/pki/ca.crt");
        w = config_warnings(&c);
        CHECK(!w || !*w);
        free(w);
        free(msg);
        config_done(&c);
}

/* --register-with-taints and registerWithTaints (kubeadm-flags.env has the flag for a worker
 * joining with taints): the kubelet's taint syntax and checks. */
TEST(register_with_taints) {
        struct nodelet_config c;
        char *msg = NULL;
        CHECK_INT_EQ(parse(&c, &msg, ARGS("--register-with-taints=a=b:NoSchedule", "--register-with-taints",
                                          "example.com/x=y:NoExecute,only-key:PreferNoSchedule")),
                     0);
        if (msg)
                TEST_FAIL("%s", msg);
        /* the flag given again replaces the list, as the kubelet's */
        CHECK_INT_EQ(c.n_register_taints, 2);
        CHECK_STR_EQ(c.register_taints[0], "example.com/x=y:NoExecute");
        CHECK_STR_EQ(c.register_taints[1], "only-key:PreferNoSchedule");
        free(msg);
        config_done(&c);
        CHECK_PARSE_ERROR("--register-with-taints: invalid taint spec \"a=b\": not key=value:effect or key:effect",
                          "--register-with-taints=a=b");
        CHECK_PARSE_ERROR("--register-with-taints: taint \"a=b:Never\": invalid effect \"Never\" (NoSchedule, "
                          "PreferNoSchedule or NoExecute)",
                          "--register-with-taints=a=b:Never");
        CHECK_PARSE_ERROR("--register-with-taints: duplicated taints with the same key and effect: a:NoSchedule",
                          "--register-with-taints=a=1:NoSchedule,a=2:NoSchedule");
        char *m = parse_error(ARGS("--register-with-taints=bad key:NoSchedule"));
        CHECK(m && strstr(m, "--register-with-taints: taint \"bad key:NoSchedule\": key \"bad key\": "));
        free(m);
        m = parse_error(ARGS("--register-with-taints=a=bad value:NoSchedule"));
        CHECK(m && strstr(m, "value \"bad value\""));
        free(m);

        CHECK_INT_EQ(load("registerWithTaints:\n- {key: node-role.kubernetes.io/infra, effect: NoSchedule}\n"
                          "- {key: a, value: b, effect: NoExecute, timeAdded: null}\n",
                          &c, &msg),
                     0);
        if (msg)
                TEST_FAIL("%s", msg);
        CHECK_INT_EQ(c.n_register_taints, 2);
        CHECK_STR_EQ(c.register_taints[0], "node-role.kubernetes.io/infra:NoSchedule");
        CHECK_STR_EQ(c.register_taints[1], "a=b:NoExecute");
        CHECK_INT_EQ(c.n_ignored_keys, 0);
        free(msg);
        config_done(&c);
        CHECK_LOAD_ERROR("registerWithTaints: [{key: a}]\n", "FILE: registerWithTaints[0]: a taint needs a key and an effect");
        CHECK_LOAD_ERROR("registerWithTaints: [{key: a, effect: Sometimes}]\n",
                         "FILE: registerWithTaints[0]: taint \"a:Sometimes\": invalid effect \"Sometimes\" (NoSchedule, "
                         "PreferNoSchedule or NoExecute)");
        CHECK_LOAD_ERROR("registerWithTaints: [{key: a, effect: NoSchedule, colour: red}]\n",
                         "FILE: registerWithTaints[0].colour: unknown key");
        CHECK_LOAD_ERROR("registerWithTaints: a:NoSchedule\n", "FILE: registerWithTaints: must be a list, not a string");
}

/* The kubelet's keys set to what nodelet cannot do: refused, naming the key. */
TEST(file_refused_kubelet_values) {
        CHECK_LOAD_ERROR("cgroupsPerQOS: false\n",
                         "FILE: cgroupsPerQOS: false is not supported: nodelet always makes the QoS cgroups "
                         "(burstable, besteffort)");
        CHECK_LOAD_ERROR("readOnlyPort: 10255\n",
                         "FILE: readOnlyPort: 10255 is not supported: nodelet serves no unauthenticated read-only port");
        CHECK_LOAD_ERROR("cgroupRoot: /custom\n",
                         "FILE: cgroupRoot: \"/custom\" is not supported: pods go under /kubepods at the hierarchy's "
                         "root (see cgroupDriver)");
        CHECK_LOAD_ERROR_HAS("seccompDefault: true\n", "FILE: seccompDefault: true is not supported: ");
        CHECK_LOAD_ERROR_HAS("enableDebuggingHandlers: false\n", "FILE: enableDebuggingHandlers: false is not supported");
        CHECK_LOAD_ERROR_HAS("protectKernelDefaults: true\n", "FILE: protectKernelDefaults: true is not supported");
        CHECK_LOAD_ERROR_HAS("allowedUnsafeSysctls: [net.core.somaxconn]\n", "FILE: allowedUnsafeSysctls: not supported");
        CHECK_LOAD_ERROR_HAS("runOnce: true\n", "FILE: runOnce: true is not supported");
        CHECK_LOAD_ERROR("cgroupsPerQOS: \"no\"\n", "FILE: cgroupsPerQOS: must be true or false, not a string");
        CHECK_LOAD_ERROR("authentication:\n  anonymous: {enabled: true}\n",
                         "FILE: authentication.anonymous.enabled: true is not supported: nodelet's node server never "
                         "serves anonymous requests");
        CHECK_LOAD_ERROR("authentication:\n  webhook: {enabled: false}\n",
                         "FILE: authentication.webhook.enabled: false is not supported: in a cluster nodelet checks "
                         "bearer tokens with a TokenReview");
        CHECK_LOAD_ERROR("authorization: {mode: AlwaysAllow}\n",
                         "FILE: authorization.mode: \"AlwaysAllow\" is not supported: nodelet authorizes every "
                         "request with a SubjectAccessReview (\"Webhook\")");
        CHECK_LOAD_ERROR("authentication: [a]\n", "FILE: authentication: must be a map, not a list");
        CHECK_LOAD_ERROR("authentication:\n  webhook: {cacheTTL: 2x}\n",
                         "FILE: authentication.webhook.cacheTTL: time: unknown unit \"x\" in duration \"2x\"");
        CHECK_LOAD_ERROR("cgroupDriver: systemdd\n",
                         "FILE: cgroupDriver: \"systemdd\" is not a cgroup driver (\"cgroupfs\" or \"systemd\")");
}

/* "0s" is an unset duration: the default stays (kubeadm writes 0s for each). */
TEST(file_zero_durations_are_defaults) {
        struct nodelet_config c, d;
        char *msg = NULL;
        config_init_defaults(&d);
        CHECK_INT_EQ(load("syncFrequency: 0s\nfileCheckFrequency: \"0\"\nnodeStatusUpdateFrequency: 0s\n"
                          "nodeStatusReportFrequency: 0s\nstreamingConnectionIdleTimeout: 0s\n",
                          &c, &msg),
                     0);
        CHECK_INT_EQ(c.sync_frequency, d.sync_frequency);
        CHECK_INT_EQ(c.file_check_frequency, d.file_check_frequency);
        CHECK_INT_EQ(c.node_status_update_frequency, d.node_status_update_frequency);
        CHECK_INT_EQ(c.node_status_report_frequency, d.node_status_report_frequency);
        CHECK_INT_EQ(c.streaming_idle_timeout, d.streaming_idle_timeout);
        CHECK_INT_EQ(c.n_ignored_keys, 0);
        free(msg);
        config_done(&c);
        config_done(&d);
        /* enableServer: false is no node server, as the kubelet's */
        CHECK_INT_EQ(load("enableServer: false\nport: 10250\n", &c, &msg), 0);
        CHECK_INT_EQ(c.port, 0);
        free(msg);
        config_done(&c);
        /* podLogsDir is the kubelet's name of nodelet.podLogDir */
        CHECK_INT_EQ(load("podLogsDir: /srv/pod-logs\n", &c, &msg), 0);
        CHECK_STR_EQ(c.log_dir, "/srv/pod-logs");
        free(msg);
        config_done(&c);
}

/* The file the real kubeadm v1.37.2 writes to /var/lib/kubelet/config.yaml
 * (tests/fixtures/kubeadm/config.yaml, from `kubeadm init phase kubelet-start --dry-run` with
 * `kubeadm config print init-defaults`; the join path writes the same from the kubelet-config
 * ConfigMap): every key loads, even under --strict-config; what nodelet acts on is honoured and
 * the rest is listed, in one warning. */
TEST(kubeadm_config_loads) {
        struct nodelet_config c;
        nl_error err = NL_ERROR_INIT;
        config_init_defaults(&c);
        c.strict_config = true;
        int r = config_load_file(&c, "tests/fixtures/kubeadm/config.yaml", &err);
        CHECK_INT_EQ(r, 0);
        if (err.msg)
                TEST_FAIL("kubeadm's config.yaml: %s", err.msg);
        nl_error_clear(&err);
        CHECK_STR_EQ(c.pod_manifest_path, "/etc/kubernetes/manifests");
        CHECK_STR_EQ(c.cluster_dns, "10.96.0.10");
        CHECK_STR_EQ(c.cluster_domain, "cluster.local");
        CHECK_STR_EQ(c.client_ca_file, "/etc/kubernetes/pki/ca.crt");
        CHECK_STR_EQ(c.healthz_bind_address, "127.0.0.1");
        CHECK_INT_EQ(c.healthz_port, 10248);
        CHECK(c.cgroup_driver_systemd);
        CHECK_INT_EQ(c.n_unknown_keys, 0);
        static const char *const ignored[] = {
                "containerRuntimeEndpoint", "cpuManagerReconcilePeriod", "crashLoopBackOff",
                "httpCheckFrequency", "imageMaximumGCAge", "imageMinimumGCAge", "logging", "memorySwap",
                "runtimeRequestTimeout", "volumeStatsAggPeriod",
        };
        /* honoured: rotateCertificates (on), the eviction transition period and the shutdown
         * grace periods ("0s": the defaults, 5m and off) */
        CHECK(c.rotate_certificates);
        CHECK_INT_EQ(c.n_ignored_keys, ELEMENTSOF(ignored));
        _cleanup_free_ char *w = config_warnings(&c);
        for (size_t i = 0; i < ELEMENTSOF(ignored); i++) {
                if (!has_str(c.ignored_keys, c.n_ignored_keys, ignored[i]))
                        TEST_FAIL("%s is not listed as ignored", ignored[i]);
                if (!w || !strstr(w, ignored[i]))
                        TEST_FAIL("the warning does not name %s", ignored[i]);
        }
        CHECK(w && strstr(w, "tests/fixtures/kubeadm/config.yaml: 10 KubeletConfiguration keys that nodelet does "
                             "not act on, ignored"));
        config_done(&c);
}

/* kubeadm-flags.env and KUBELET_EXTRA_ARGS: the kubelet's flags nodelet has no use for are
 * accepted, one warning each; --hostname-override names the node. */
TEST(kubelet_flags) {
        struct nodelet_config c;
        char *msg = NULL;
        int r = parse(&c, &msg,
                      ARGS("--container-runtime-endpoint=unix:///var/run/containerd/containerd.sock",
                           "--pod-infra-container-image", "registry.k8s.io/pause:3.10", "--hostname-override=Worker-1",
                           "--node-ip=10.99.32.5", "--fail-swap-on=false", "--fail-swap-on", "--cgroup-driver",
                           "systemd", "--image-service-endpoint=unix:///x", "--volume-plugin-dir=/usr/libexec/x",
                           "--container-runtime-endpoint=unix:///var/run/containerd/containerd.sock"));
        CHECK_INT_EQ(r, 0);
        if (msg)
                TEST_FAIL("%s", msg);
        CHECK_STR_EQ(c.node_name, "worker-1");
        CHECK_STR_EQ(c.node_ip, "10.99.32.5");
        CHECK(c.cgroup_driver_systemd);
        CHECK_INT_EQ(c.n_ignored_flags, 6); /* the repeated one once */
        _cleanup_free_ char *w = config_warnings(&c);
        CHECK(w && strstr(w, "--container-runtime-endpoint=unix:///var/run/containerd/containerd.sock: ignored: "
                             "nodelet is its own container runtime"));
        CHECK(w && strstr(w, "--pod-infra-container-image=registry.k8s.io/pause:3.10: ignored: "));
        CHECK(w && strstr(w, "--fail-swap-on=false: ignored: "));
        CHECK(w && strstr(w, "--fail-swap-on: ignored: "));
        CHECK(w && strstr(w, "--image-service-endpoint=unix:///x: ignored: "));
        CHECK(w && strstr(w, "--volume-plugin-dir=/usr/libexec/x: ignored: "));
        free(msg);
        config_done(&c);

        CHECK_PARSE_ERROR("--cgroup-driver: \"systemdd\" is not a cgroup driver (\"cgroupfs\" or \"systemd\")",
                          "--cgroup-driver=systemdd");
        CHECK_PARSE_ERROR("flag --pod-infra-container-image needs a value", "--pod-infra-container-image");
        CHECK_PARSE_ERROR("unexpected argument \"false\": nodelet run takes only flags", "--fail-swap-on", "false");

        /* --strict-config applies to the file wherever it stands */
        _cleanup_free_ char *path = strdup(write_config("maxPodz: 3\n"));
        _cleanup_free_ char *want = nl_strdupf("%s: unknown key \"maxPodz\"", path);
        CHECK_PARSE_ERROR(want, "--config", path, "--strict-config");
        CHECK_PARSE_ERROR(want, "--strict-config", "--config", path);
        CHECK_INT_EQ(parse(&c, &msg, ARGS("--config", path)), 0);
        CHECK_INT_EQ(c.n_unknown_keys, 1);
        free(msg);
        config_done(&c);
}

/* The eviction keys: maps kept in the flags' form, a given map replacing the defaults whole (as
 * the kubelet), the kubelet's errors naming the key and the flag. */
TEST(file_eviction) {
        struct nodelet_config c;
        char *msg = NULL;
        int r = load("evictionHard:\n  memory.available: 200Mi\n  nodefs.available: \"5%\"\n"
                     "evictionSoft:\n  memory.available: 1Gi\nevictionSoftGracePeriod:\n  memory.available: 1m30s\n"
                     "evictionMinimumReclaim:\n  nodefs.available: 500Mi\n"
                     "evictionPressureTransitionPeriod: 30s\nevictionMaxPodGracePeriod: 20\n",
                     &c, &msg);
        CHECK_INT_EQ(r, 0);
        CHECK_STR_EQ(c.eviction_hard, "memory.available<200Mi,nodefs.available<5%");
        CHECK_STR_EQ(c.eviction_soft, "memory.available<1Gi");
        CHECK_STR_EQ(c.eviction_soft_grace_period, "memory.available=1m30s");
        CHECK_STR_EQ(c.eviction_minimum_reclaim, "nodefs.available=500Mi");
        CHECK_INT_EQ(c.eviction_pressure_transition_period, 30 * 1000000LL);
        CHECK_INT_EQ(c.eviction_max_pod_grace_period, 20);
        free(msg);
        config_done(&c);

        r = load("maxPods: 3\n", &c, &msg);
        CHECK_INT_EQ(r, 0);
        CHECK_STR_EQ(c.eviction_hard, "memory.available<100Mi,nodefs.available<10%,imagefs.available<15%,"
                                      "nodefs.inodesFree<5%");
        CHECK_INT_EQ(c.eviction_pressure_transition_period, 300 * 1000000LL);
        free(msg);
        config_done(&c);

        CHECK_LOAD_ERROR("evictionHard:\n  memory.avail: 100Mi\n",
                         "FILE: evictionHard (--eviction-hard): unsupported eviction signal memory.avail");
        CHECK_LOAD_ERROR("evictionSoft:\n  memory.available: 1Gi\n",
                         "FILE: evictionSoftGracePeriod (--eviction-soft-grace-period): grace period must be "
                         "specified for the soft eviction threshold memory.available");
        CHECK_LOAD_ERROR("evictionHard: [a]\n", "FILE: evictionHard: must be a map, not a list");
        CHECK_LOAD_ERROR("evictionHard:\n  memory.available: 5\n",
                         "FILE: evictionHard.memory.available: must be a string, not an integer");
        CHECK_LOAD_ERROR("evictionMaxPodGracePeriod: -1\n",
                         "FILE: evictionMaxPodGracePeriod: -1 must be between 0 and 86400");
}

TEST(file_header) {
        char *m;
        struct nodelet_config c;
        nl_error err = NL_ERROR_INIT;
        char path[512];

        CHECK_LOAD_ERROR_HAS("apiVersion: kubelet.config.k8s.io/v1beta1\n", "duplicate key \"apiVersion\"");
        config_init_defaults(&c);
        snprintf(path, sizeof(path), "%s", write_config_raw("noheader.yaml", "maxPods: 3\n"));
        CHECK(config_load_file(&c, path, &err) < 0);
        m = nl_strdupf("%s: apiVersion: must be \"kubelet.config.k8s.io/v1beta1\"", path);
        CHECK_STR_EQ(err.msg, m);
        free(m);
        nl_error_clear(&err);

        snprintf(path, sizeof(path), "%s",
                 write_config_raw("kind.yaml", "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: Pod\n"));
        CHECK(config_load_file(&c, path, &err) < 0);
        m = nl_strdupf("%s: kind: must be \"KubeletConfiguration\", not \"Pod\"", path);
        CHECK_STR_EQ(err.msg, m);
        free(m);
        nl_error_clear(&err);

        snprintf(path, sizeof(path), "%s", write_config_raw("empty.yaml", "# nothing\n"));
        CHECK(config_load_file(&c, path, &err) < 0);
        CHECK(err.msg && strstr(err.msg, "no settings in this file"));
        nl_error_clear(&err);

        snprintf(path, sizeof(path), "%s", write_config_raw("two.yaml", HEADER "---\n" HEADER));
        CHECK(config_load_file(&c, path, &err) < 0);
        CHECK(err.msg && strstr(err.msg, "more than one YAML document"));
        nl_error_clear(&err);

        snprintf(path, sizeof(path), "%s", write_config_raw("list.yaml", "- a\n"));
        CHECK(config_load_file(&c, path, &err) < 0);
        m = nl_strdupf("%s: must be a map of settings, not a list", path);
        CHECK_STR_EQ(err.msg, m);
        free(m);
        nl_error_clear(&err);

        snprintf(path, sizeof(path), "%s", write_config_raw("syntax.yaml", HEADER "maxPods: [1\n"));
        CHECK(config_load_file(&c, path, &err) < 0);
        CHECK(err.msg && strncmp(err.msg, path, strlen(path)) == 0);
        nl_error_clear(&err);

        snprintf(path, sizeof(path), "%s/does-not-exist.yaml", test_dir());
        CHECK_INT_EQ(config_load_file(&c, path, &err), -ENOENT);
        m = nl_strdupf("read config file %s: No such file or directory", path);
        CHECK_STR_EQ(err.msg, m);
        free(m);
        nl_error_clear(&err);
        config_done(&c);
}

TEST(file_bad_values) {
        CHECK_LOAD_ERROR("maxPods: \"110\"\n", "FILE: maxPods: must be an integer, not a string");
        CHECK_LOAD_ERROR("maxPods: 1.5\n",
                         "FILE: maxPods: must be an integer, not a number with a fraction");
        CHECK_LOAD_ERROR("maxPods: 0\n", "FILE: maxPods: 0 must be between 1 and 1000");
        CHECK_LOAD_ERROR("staticPodPath: [a]\n", "FILE: staticPodPath: must be a string, not a list");
        CHECK_LOAD_ERROR(
                "fileCheckFrequency: 20\n",
                "FILE: fileCheckFrequency: must be a duration string such as \"20s\", not an integer");
        CHECK_LOAD_ERROR("fileCheckFrequency: 20x\n",
                         "FILE: fileCheckFrequency: time: unknown unit \"x\" in duration \"20x\"");
        CHECK_LOAD_ERROR("syncFrequency: \"1\"\n",
                         "FILE: syncFrequency: time: missing unit in duration \"1\"");
        CHECK_LOAD_ERROR("syncFrequency: -1m\n",
                         "FILE: syncFrequency: \"-1m\" must be a positive duration such as \"20s\"");
        CHECK_LOAD_ERROR("containerLogMaxSize: 10MiB\n",
                         "FILE: containerLogMaxSize: \"10MiB\" is not a quantity such as \"10Mi\"");
        CHECK_LOAD_ERROR("containerLogMaxSize: \"0\"\n",
                         "FILE: containerLogMaxSize: \"0\" must be greater than zero");
        CHECK_LOAD_ERROR("containerLogMaxSize: 10485760\n",
                         "FILE: containerLogMaxSize: must be a string, not an integer");
        CHECK_LOAD_ERROR("containerLogMaxFiles: 1\n",
                         "FILE: containerLogMaxFiles: 1 must be between 2 and 1000");
        CHECK_LOAD_ERROR("clusterDNS: 10.96.0.10\n", "FILE: clusterDNS: must be a list, not a string");
        CHECK_LOAD_ERROR("clusterDNS: [10.96.0.10, dns.lab]\n",
                         "FILE: clusterDNS[1]: \"dns.lab\" is not a valid IP address");
        CHECK_LOAD_ERROR("clusterDomain: \"a b\"\n",
                         "FILE: clusterDomain: \"a b\" is not a DNS-1123 subdomain");
        CHECK_LOAD_ERROR("imageGCHighThresholdPercent: 101\n",
                         "FILE: imageGCHighThresholdPercent: 101 must be between 0 and 100");
        CHECK_LOAD_ERROR("imageGCLowThresholdPercent: -1\n",
                         "FILE: imageGCLowThresholdPercent: -1 must be between 0 and 100");
        CHECK_LOAD_ERROR("imageGCHighThresholdPercent: 50\nimageGCLowThresholdPercent: 50\n",
                         "FILE: imageGCLowThresholdPercent (--image-gc-low-threshold) 50 must be less than "
                         "imageGCHighThresholdPercent (--image-gc-high-threshold) 50");
        CHECK_LOAD_ERROR("nodelet: [a]\n", "FILE: nodelet: must be a map, not a list");
        CHECK_LOAD_ERROR("nodelet:\n  rootDir: \"\"\n", "FILE: nodelet.rootDir: must not be empty");
        CHECK_LOAD_ERROR(
                "nodelet:\n  containerRuntime: youki\n",
                "FILE: nodelet.containerRuntime: \"youki\" is not crun, runc or a path to one of them");
        CHECK_LOAD_ERROR("nodelet:\n  cniBinDirs: /opt/cni/bin\n",
                         "FILE: nodelet.cniBinDirs: must be a list, not a string");
        CHECK_LOAD_ERROR("nodelet:\n  cniBinDirs: [/a, 3]\n",
                         "FILE: nodelet.cniBinDirs[1]: must be a string, not an integer");
        CHECK_LOAD_ERROR("nodelet:\n  insecureRegistries: [yes]\n",
                         "FILE: nodelet.insecureRegistries[0]: must be a string, not a boolean");
        CHECK_LOAD_ERROR("nodelet:\n  registryCAs: [a]\n",
                         "FILE: nodelet.registryCAs: must be a map, not a list");
        CHECK_LOAD_ERROR("nodelet:\n  registryMirrors: {docker.io: \"https://m\"}\n",
                         "FILE: nodelet.registryMirrors[\"docker.io\"]: must be a list, not a string");
        CHECK_LOAD_ERROR(
                "nodelet:\n  registryMirrors: {docker.io: [m.lab]}\n",
                "FILE: nodelet.registryMirrors[\"docker.io\"]: mirror \"m.lab\" must be an http:// or "
                "https:// URL");
        CHECK_LOAD_ERROR_HAS(
                "clusterDNS: [1.1.1.1, 1.1.1.1, 1.1.1.1, 1.1.1.1, 1.1.1.1, 1.1.1.1, 1.1.1.1, 1.1.1.1,"
                " 1.1.1.1, 1.1.1.1, 1.1.1.1, 1.1.1.1, 1.1.1.1, 1.1.1.1, 1.1.1.1, 1.1.1.1, 1.1.1.1,"
                " 1.1.1.1, 1.1.1.1, 1.1.1.1, 1.1.1.1, 1.1.1.1, 1.1.1.1, 1.1.1.1, 1.1.1.1, 1.1.1.1,"
                " 1.1.1.1, 1.1.1.1, 1.1.1.1, 1.1.1.1, 1.1.1.1, 1.1.1.1, 1.1.1.1, 1.1.1.1, 1.1.1.1,"
                " 1.1.1.1, 1.1.1.1, 1.1.1.1, 1.1.1.1, 1.1.1.1, 1.1.1.1, 1.1.1.1, 1.1.1.1, 1.1.1.1,"
                " 1.1.1.1, 1.1.1.1, 1.1.1.1, 1.1.1.1, 1.1.1.1, 1.1.1.1, 1.1.1.1, 1.1.1.1, 1.1.1.1,"
                " 1.1.1.1, 1.1.1.1, 1.1.1.1, 1.1.1.1, 1.1.1.1, 1.1.1.1, 1.1.1.1, 1.1.1.1, 1.1.1.1,"
                " 1.1.1.1, 1.1.1.1, 1.1.1.1]\n",
                "clusterDNS: more than 64 entries");
        /* YAML 1.1, shared with manifests: "on" is a boolean, not a string */
        CHECK_LOAD_ERROR("clusterDomain: on\n", "FILE: clusterDomain: must be a string, not a boolean");
}

/* ==== graceful node shutdown =============================================================== */

TEST(shutdown_settings) {
        struct nodelet_config c;
        char *msg = NULL;
        /* off by default */
        config_init_defaults(&c);
        CHECK(c.shutdown_grace_period == 0 && c.shutdown_grace_period_critical_pods == 0 &&
              c.n_shutdown_by_priority == 0);
        CHECK_STR_EQ(c.logind_conf_dir, "/etc/systemd/logind.conf.d");
        config_done(&c);
        CHECK(load("shutdownGracePeriod: 1m30s\nshutdownGracePeriodCriticalPods: 30s\n", &c, &msg) >= 0);
        CHECK(c.shutdown_grace_period == 90 * USEC_PER_SEC && c.shutdown_grace_period_critical_pods == 30 * USEC_PER_SEC);
        config_done(&c);
        free(msg);
        CHECK(load("shutdownGracePeriodByPodPriority:\n- {priority: 100000, shutdownGracePeriodSeconds: 10}\n"
                   "- {priority: 0, shutdownGracePeriodSeconds: 30}\n",
                   &c, &msg) >= 0);
        CHECK(c.n_shutdown_by_priority == 2 && c.shutdown_by_priority[0].priority == 100000 &&
              c.shutdown_by_priority[0].seconds == 10 && c.shutdown_by_priority[1].seconds == 30);
        config_done(&c);
        free(msg);
        CHECK(parse(&c, &msg, ARGS("--shutdown-grace-period", "20s", "--shutdown-grace-period-critical-pods", "8s")) >= 0);
        CHECK(c.shutdown_grace_period == 20 * USEC_PER_SEC && c.shutdown_grace_period_critical_pods == 8 * USEC_PER_SEC);
        config_done(&c);
        free(msg);
        /* the kubelet's validation, its words and Go's duration format */
        CHECK_PARSE_ERROR("shutdownGracePeriodCriticalPods 1m0s must be <= shutdownGracePeriod 30s",
                          "--shutdown-grace-period", "30s", "--shutdown-grace-period-critical-pods", "1m");
        CHECK_PARSE_ERROR("shutdownGracePeriod 1.5ms must be either zero or otherwise >= 1 sec",
                          "--shutdown-grace-period", "1500us");
        CHECK_PARSE_ERROR("--shutdown-grace-period: \"-1s\" must be a duration >= 0 such as \"30s\"",
                          "--shutdown-grace-period=-1s");
        CHECK_LOAD_ERROR("shutdownGracePeriod: 30\n",
                         "FILE: shutdownGracePeriod: must be a duration string such as \"20s\", not an integer");
        CHECK_LOAD_ERROR("shutdownGracePeriodCriticalPods: 500ms\nshutdownGracePeriod: 1h\n",
                         "FILE: shutdownGracePeriodCriticalPods 500ms must be either zero or otherwise >= 1 sec");
        CHECK_LOAD_ERROR("shutdownGracePeriod: 2h0m0.25s\nshutdownGracePeriodCriticalPods: 3h\n",
                         "FILE: shutdownGracePeriodCriticalPods 3h0m0s must be <= shutdownGracePeriod 2h0m0.25s");
        CHECK_LOAD_ERROR("shutdownGracePeriod: 10s\nshutdownGracePeriodByPodPriority: [{priority: 1, "
                         "shutdownGracePeriodSeconds: 1}]\n",
                         "FILE: Cannot specify both shutdownGracePeriodByPodPriority and shutdownGracePeriod at the "
                         "same time");
        CHECK_LOAD_ERROR("shutdownGracePeriodByPodPriority: {priority: 1}\n",
                         "FILE: shutdownGracePeriodByPodPriority: must be a list, not a map");
        CHECK_LOAD_ERROR("shutdownGracePeriodByPodPriority: [{priority: 1, grace: 2}]\n",
                         "FILE: shutdownGracePeriodByPodPriority[0].grace: unknown key");
        CHECK_LOAD_ERROR("shutdownGracePeriodByPodPriority: [{priority: 3000000000}]\n",
                         "FILE: shutdownGracePeriodByPodPriority[0].priority: must be an integer from -2147483648 to "
                         "2147483647");
        CHECK_LOAD_ERROR("shutdownGracePeriodByPodPriority: [{shutdownGracePeriodSeconds: -1}]\n",
                         "FILE: shutdownGracePeriodByPodPriority[0].shutdownGracePeriodSeconds: must be an integer "
                         "from 0 to 31536000");
        /* Go's Duration.String() */
        const struct {
                usec_t u;
                const char *s;
        } durations[] = {
                { 0, "0s" }, { 7, "7\xc2\xb5s" }, { 1500, "1.5ms" }, { 250000, "250ms" }, { USEC_PER_SEC, "1s" },
                { 90 * USEC_PER_SEC, "1m30s" }, { 3600 * USEC_PER_SEC, "1h0m0s" }, { 1500000, "1.5s" },
        };
        for (size_t i = 0; i < ELEMENTSOF(durations); i++) {
                char *s = config_format_duration(durations[i].u);
                CHECK_STR_EQ(s, durations[i].s);
                free(s);
        }
}

TEST(file_too_large) {
        size_t n = 1024 * 1024 + 10;
        char *big = malloc(n + 1);
        if (!big)
                abort();
        memset(big, '#', n);
        big[n] = '\0';
        char path[512];
        snprintf(path, sizeof(path), "%s", write_config_raw("big.yaml", big));
        free(big);
        struct nodelet_config c;
        nl_error err = NL_ERROR_INIT;
        config_init_defaults(&c);
        CHECK_INT_EQ(config_load_file(&c, path, &err), -EFBIG);
        char *want = nl_strdupf("%s: larger than 1048576 bytes", path);
        CHECK_STR_EQ(err.msg, want);
        free(want);
        nl_error_clear(&err);
        config_done(&c);
}

/* ==== flags over the file ================================================================= */

TEST(flags_override_file) {
        const char *path = write_config("staticPodPath: /from/file\n"
                                        "maxPods: 50\n"
                                        "clusterDNS: [10.0.0.1]\n"
                                        "nodelet:\n"
                                        "  rootDir: /file/root\n"
                                        "  cniBinDirs: [/file/cni]\n"
                                        "  insecureRegistries: [file.lab]\n");
        char cfg[512];
        snprintf(cfg, sizeof(cfg), "%s", path);
        struct nodelet_config c;
        char *msg = NULL;
        /* --config after the flags: the file is still loaded first */
        int r = parse(&c, &msg,
                      ARGS("--max-pods", "20", "--cni-bin-dir", "/flag/cni", "--insecure-registry",
                           "flag.lab", "--cluster-dns", "10.0.0.2", "--config", cfg));
        CHECK_INT_EQ(r, 0);
        if (msg)
                TEST_FAIL("unexpected error: %s", msg);
        CHECK_STR_EQ(c.config_file, cfg);
        CHECK_INT_EQ(c.max_pods, 20);
        CHECK_STR_EQ(c.pod_manifest_path, "/from/file");
        CHECK_STR_EQ(c.root_dir, "/file/root");
        CHECK_STR_EQ(c.seccomp_root, "/file/root/seccomp");
        CHECK_INT_EQ(c.n_cni_bin_dirs, 1);
        if (c.n_cni_bin_dirs == 1)
                CHECK_STR_EQ(c.cni_bin_dirs[0], "/flag/cni");
        CHECK_STR_EQ(c.cluster_dns, "10.0.0.2");
        CHECK(find_host(&c, "file.lab") && find_host(&c, "file.lab")->insecure);
        CHECK(find_host(&c, "flag.lab") && find_host(&c, "flag.lab")->insecure);
        free(msg);
        config_done(&c);

        /* --config=FILE form; --root-dir moves the seccomp root along */
        char arg[600];
        snprintf(arg, sizeof(arg), "--config=%s", cfg);
        r = parse(&c, &msg, ARGS(arg, "--root-dir", "/flag/root"));
        CHECK_INT_EQ(r, 0);
        CHECK_STR_EQ(c.root_dir, "/flag/root");
        CHECK_STR_EQ(c.seccomp_root, "/flag/root/seccomp");
        CHECK_INT_EQ(c.max_pods, 50);
        free(msg);
        config_done(&c);

        /* a bad file fails the parse with the file's message */
        write_config("maxPods: many\n");
        char *m = parse_error(ARGS("--config", cfg));
        char *want = nl_strdupf("%s: maxPods: must be an integer, not a string", cfg);
        CHECK_STR_EQ(m, want);
        free(m);
        free(want);
}

/* kubeReserved / systemReserved: the kubelet's resources and words; flags replace the file's
 * map (not merge into it) and add up among themselves, as its MapStringString flags. */
TEST(reserved) {
        struct nodelet_config c;
        char *msg = NULL;
        CHECK_INT_EQ(load("kubeReserved: {cpu: 100m, memory: 1Gi, ephemeral-storage: 2G, pid: \"1000\"}\n"
                          "systemReserved: {cpu: \"1.5\"}\n",
                          &c, &msg),
                     0);
        CHECK_INT_EQ(c.kube_reserved.milli_cpu, 100);
        CHECK_INT_EQ(c.kube_reserved.memory, 1LL << 30);
        CHECK_INT_EQ(c.kube_reserved.ephemeral_storage, 2000000000);
        CHECK_INT_EQ(c.kube_reserved.pid, 1000);
        CHECK_INT_EQ(c.system_reserved.milli_cpu, 1500);
        free(msg);
        config_done(&c);
        CHECK_LOAD_ERROR("kubeReserved: {gpu: \"1\"}\n", "FILE: kubeReserved: cannot reserve \"gpu\" resource");
        CHECK_LOAD_ERROR("systemReserved: {memory: \"-1\"}\n",
                         "FILE: systemReserved: resource quantity for \"memory\" cannot be negative: -1");
        CHECK_LOAD_ERROR("kubeReserved: {cpu: abc}\n",
                         "FILE: kubeReserved: failed to parse quantity \"abc\" for \"cpu\" resource");
        CHECK_LOAD_ERROR("kubeReserved: [cpu]\n", "FILE: kubeReserved: must be a map, not a list");

        const char *path = write_config("kubeReserved: {cpu: 100m, memory: 1Gi}\n");
        char cfg[512];
        snprintf(cfg, sizeof(cfg), "%s", path);
        CHECK_INT_EQ(parse(&c, &msg, ARGS("--config", cfg, "--kube-reserved", " cpu = 200m ,", "--kube-reserved",
                                          "pid=10")),
                     0);
        CHECK_INT_EQ(c.kube_reserved.milli_cpu, 200);
        CHECK_INT_EQ(c.kube_reserved.memory, 0); /* the file's map is replaced */
        CHECK_INT_EQ(c.kube_reserved.pid, 10);
        free(msg);
        config_done(&c);
        CHECK_PARSE_ERROR("--system-reserved: malformed pair \"cpu\", expect string=string", "--system-reserved",
                          "cpu");
        CHECK_PARSE_ERROR("--kube-reserved: cannot reserve \"hugepages-2Mi\" resource", "--kube-reserved",
                          "hugepages-2Mi=2Mi");
}

/* ==== the example ========================================================================= */

TEST(deploy_example_loads) {
        struct nodelet_config c, d;
        nl_error err = NL_ERROR_INIT;
        config_init_defaults(&c);
        config_init_defaults(&d);
        int r = config_load_file(&c, "deploy/config.yaml", &err);
        CHECK_INT_EQ(r, 0);
        if (err.msg)
                TEST_FAIL("deploy/config.yaml: %s", err.msg);
        nl_error_clear(&err);
        /* it documents the defaults: loading it changes nothing but what it sets on purpose */
        CHECK_STR_EQ(c.pod_manifest_path, "/etc/nodelet/manifests");
        CHECK_INT_EQ(c.file_check_frequency, d.file_check_frequency);
        CHECK_INT_EQ(c.sync_frequency, d.sync_frequency);
        CHECK_INT_EQ(c.max_pods, d.max_pods);
        CHECK_INT_EQ(c.container_log_max_size, d.container_log_max_size);
        CHECK_INT_EQ(c.container_log_max_files, d.container_log_max_files);
        CHECK(c.cluster_dns == NULL);
        CHECK_STR_EQ(c.cluster_domain, d.cluster_domain);
        CHECK_STR_EQ(c.resolv_conf, d.resolv_conf);
        CHECK_INT_EQ(c.image_gc_high_threshold, d.image_gc_high_threshold);
        CHECK_INT_EQ(c.image_gc_low_threshold, d.image_gc_low_threshold);
        CHECK_STR_EQ(c.root_dir, d.root_dir);
        CHECK_STR_EQ(c.run_dir, d.run_dir);
        CHECK_STR_EQ(c.log_dir, d.log_dir);
        CHECK_STR_EQ(c.runtime_path, d.runtime_path);
        CHECK_STR_EQ(c.cni_conf_dir, d.cni_conf_dir);
        CHECK_INT_EQ(c.n_cni_bin_dirs, d.n_cni_bin_dirs);
        for (size_t i = 0; i < c.n_cni_bin_dirs && i < d.n_cni_bin_dirs; i++)
                CHECK_STR_EQ(c.cni_bin_dirs[i], d.cni_bin_dirs[i]);
        CHECK_INT_EQ(c.registry.n_hosts, 0);
        CHECK(c.registry.auth_file == NULL);
        config_done(&c);
        config_done(&d);
}

/* userNamespaces.idsPerPod: the kubelet's validation (a multiple of 65536). */
TEST(user_namespaces_ids_per_pod) {
        struct nodelet_config c;
        char *msg = NULL;
        CHECK_INT_EQ(load("maxPods: 10\n", &c, &msg), 0);
        CHECK_INT_EQ(c.userns_ids_per_pod, 65536);
        config_done(&c);
        free(msg);
        CHECK_INT_EQ(load("userNamespaces: {idsPerPod: 131072}\n", &c, &msg), 0);
        CHECK_INT_EQ(c.userns_ids_per_pod, 131072);
        config_done(&c);
        free(msg);
        CHECK_LOAD_ERROR_HAS("userNamespaces: {idsPerPod: 1000}\n",
                             "userNamespaces.idsPerPod: must be a multiple of 65536, at least 65536");
        CHECK_LOAD_ERROR_HAS("userNamespaces: {idsPerPod: 65536, length: 3}\n", "userNamespaces.length: unknown key");
        CHECK_LOAD_ERROR_HAS("userNamespaces: 5\n", "userNamespaces");
}

/* --manifest-url and its headers (staticPodURL, staticPodURLHeader), as the kubelet's flags */
TEST(manifest_url) {
        CHECK_PARSE_ERROR("--manifest-url: \"ftp://host/x\" is not an http:// or https:// URL", "--manifest-url",
                          "ftp://host/x");
        CHECK_PARSE_ERROR("--manifest-url-header: \"no colon\" is not KEY:VALUE with a header name",
                          "--manifest-url-header", "no colon");
        CHECK_LOAD_ERROR("staticPodURL: file:///etc/passwd\n",
                         "FILE: staticPodURL: \"file:///etc/passwd\" is not an http:// or https:// URL");
        CHECK_LOAD_ERROR("staticPodURLHeader: {X-A: b}\n", "FILE: staticPodURLHeader.X-A: must be a list of strings");
        struct nodelet_config c;
        char *msg = NULL;
        CHECK_INT_EQ(load("staticPodURL: http://10.0.0.1/pods.yaml\nstaticPodURLHeader: {X-A: [b, c], Auth: [t]}\n", &c,
                          &msg),
                     0);
        CHECK_STR_EQ(c.manifest_url, "http://10.0.0.1/pods.yaml");
        CHECK_INT_EQ(c.n_manifest_url_headers, 3);
        if (c.n_manifest_url_headers == 3) {
                CHECK_STR_EQ(c.manifest_url_headers[0], "X-A:b");
                CHECK_STR_EQ(c.manifest_url_headers[2], "Auth:t");
        }
        free(msg);
        /* the flags add to the file's headers */
        nl_error err = NL_ERROR_INIT;
        char *argv[] = {(char *) "run", (char *) "--manifest-url-header", (char *) "X-B:1,X-C:2", NULL};
        CHECK_INT_EQ(config_parse_run_args(&c, 3, argv, &err), 0);
        CHECK_INT_EQ(c.n_manifest_url_headers, 5);
        nl_error_clear(&err);
        config_done(&c);
}

/* ==== certificates (issue 23): the bootstrap's flags and kubeadm's two keys ================ */

TEST(certificate_settings) {
        struct nodelet_config c;
        char *msg = NULL;
        CHECK_INT_EQ(parse(&c, &msg, ARGS("--kubeconfig", "/k")), 0);
        CHECK_STR_EQ(c.cert_dir, "/var/lib/nodelet/pki");
        CHECK(!c.rotate_certificates && !c.server_tls_bootstrap && !c.bootstrap_kubeconfig);
        free(msg);
        config_done(&c);
        CHECK_INT_EQ(parse(&c, &msg, ARGS("--kubeconfig", "/k", "--bootstrap-kubeconfig", "/b", "--cert-dir", "/pki",
                                          "--rotate-certificates")),
                     0);
        CHECK_STR_EQ(c.bootstrap_kubeconfig, "/b");
        CHECK_STR_EQ(c.cert_dir, "/pki");
        CHECK(c.rotate_certificates);
        free(msg);
        config_done(&c);
        /* Go's boolean flag forms */
        CHECK_INT_EQ(parse(&c, &msg, ARGS("--rotate-certificates=false")), 0);
        CHECK(!c.rotate_certificates);
        free(msg);
        config_done(&c);
        CHECK_INT_EQ(parse(&c, &msg, ARGS("--rotate-certificates=true")), 0);
        CHECK(c.rotate_certificates);
        free(msg);
        config_done(&c);
        CHECK_PARSE_ERROR("--rotate-certificates: \"yes\" is not true or false", "--rotate-certificates=yes");
        CHECK_PARSE_ERROR("--bootstrap-kubeconfig needs --kubeconfig: the file the bootstrap writes",
                          "--bootstrap-kubeconfig", "/b");
        /* kubeadm's KubeletConfiguration sets both; a flag overrides the file */
        CHECK_INT_EQ(load("rotateCertificates: true\nserverTLSBootstrap: true\n", &c, &msg), 0);
        CHECK(c.rotate_certificates && c.server_tls_bootstrap);
        free(msg);
        config_done(&c);
        CHECK_LOAD_ERROR("serverTLSBootstrap: \"yes\"\n", "FILE: serverTLSBootstrap: must be true or false, not a string");
        const char *path = write_config("rotateCertificates: true\n");
        CHECK_INT_EQ(parse(&c, &msg, ARGS("--config", path, "--rotate-certificates=false")), 0);
        CHECK(!c.rotate_certificates);
        free(msg);
        config_done(&c);
}

TEST(zz_cleanup) {
        CHECK_INT_EQ(nl_rm_rf(test_dir()), 0);
}

