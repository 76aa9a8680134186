/* SPDX-License-Identifier: Apache-2.0 */
/* The node server on its own sd-event loop, driven by the curl CLI (forked, so the loop keeps
 * running while it talks): a throw-away CA with server and client certificates made by the
 * openssl CLI, a fake pod.json and CRI log files in a temp root, fake token and authorization
 * callbacks. Authentication (none, other CA, wrong key usage, no CN, bearer tokens), the
 * kubelet's 401/403/500 answers and subresources, /pods, /containerLogs (tail, timestamps,
 * limitBytes, since, previous, follow across a rotation, the kubelet's error messages), request
 * limits (header size, bodies, traversal), healthz, metrics, the Summary API, the connection
 * cap, certificate reload, the self-signed fallback, and the shared log reader alone. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "agent/server/node-server.h"
#include "agent/state/state.h"
#include "common/fs.h"
#include "cri/cri.h"
#include "test.h"

#define NODE "node1"
#define MSEC 1000ULL
#define UID "uid-1234"

static uint64_t mono_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000ULL;
}

/* ==== fake auth (runs in the server's connection children) ================================== */

static char **strv(size_t n, ...) {
        char **v = calloc(n + 1, sizeof(char *));
        va_list ap;
        va_start(ap, n);
        for (size_t i = 0; i < n; i++)
                v[i] = strdup(va_arg(ap, const char *));
        va_end(ap);
        return v;
}

/* The reviews run in the connection's child: each call leaves a line in a file of the
 * fixture's dir (userdata), so a test can count them. */
static void count_call(void *userdata, const char *what) {
        if (!userdata)
                return;
        _cleanup_free_ char *path = nl_strdupf("%s/calls", (const char *) userdata);
        FILE *f = fopen(path, "a");
        if (f) {
                fprintf(f, "%s\n", what);
                fclose(f);
        }
}

static int fake_token(void *userdata, const char *token, struct node_identity *ret) {
        count_call(userdata, "authn");
        if (streq(token, "boom"))
                return -EIO;
        if (streq(token, "good-token") || streq(token, "uid-token")) {
                *ret = (struct node_identity){ .user = strdup("tokenuser"), .groups = strv(1, "g1"), .n_groups = 1 };
                if (streq(token, "uid-token")) {
                        ret->uid = strdup("u-42");
                        ret->extra = json_pack("{s:[s]}", "scopes", "read");
                }
                return 1;
        }
        if (streq(token, "autherr-token")) {
                *ret = (struct node_identity){ .user = strdup("erruser") };
                return 1;
        }
        return 0;
}

static int daemon_marker_fd = -1; /* one of "the daemon's" descriptors, for the child to lack */

static int fake_authorize(void *userdata, const struct node_identity *id, const char *verb, const char *subresource) {
        count_call(userdata, "authz");
        if (daemon_marker_fd >= 0 && fcntl(daemon_marker_fd, F_GETFD) >= 0)
                count_call(userdata, "daemon-fd-held");
        const char *user = id->user;
        char **groups = id->groups;
        size_t n_groups = id->n_groups;
        /* uid and extra reach the authorizer */
        if (id->uid) {
                json_t *want = json_pack("{s:[s]}", "scopes", "read");
                bool ok = streq(id->uid, "u-42") && json_equal(id->extra, want);
                json_decref(want);
                if (!ok)
                        return 0;
        }
        if (!streq(verb, "get"))
                return 0;
        if (streq(user, "admin"))
                return n_groups == 1 && streq(groups[0], "system:masters");
        if (streq(user, "alice"))
                return n_groups == 2 && streq(groups[0], "team-a") && streq(groups[1], "team-b");
        if (streq(user, "tokenuser"))
                return n_groups == 1 && streq(groups[0], "g1");
        if (streq(user, "erruser"))
                return -EIO;
        return 0;
}

/* ==== fixture ============================================================================== */

struct fixture {
        bool ok;
        char *dir, *root, *logs, *certs;
        sd_event *event;
        struct node_server *server;
        struct cri_config cri;
        int port, hport;
};

static struct fixture fx;

static void write_file(const char *path, const char *text) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t) strlen(text))
                abort();
        close(fd);
}

static void append_file(const char *path, const char *text) {
        int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t) strlen(text))
                abort();
        close(fd);
}

static char *path_of(const char *dir, const char *name) {
        return nl_strdupf("%s/%s", dir, name);
}

static const char *side_running = "{\"running\":{\"startedAt\":\"2024-01-01T00:00:01Z\"}}";
static const char *side_terminated = "{\"terminated\":{\"exitCode\":0,\"reason\":\"Completed\"}}";

static void write_pod(const char *side_state) {
        _cleanup_free_ char *json = nl_strdupf(
                "{\"apiVersion\":\"v1\",\"kind\":\"Pod\","
                "\"metadata\":{\"name\":\"web\",\"namespace\":\"default\",\"uid\":\"" UID "\"},"
                "\"spec\":{\"containers\":[{\"name\":\"app\",\"image\":\"busybox\"},{\"name\":\"side\","
                "\"image\":\"busybox\"}],"
                "\"initContainers\":[{\"name\":\"init\",\"image\":\"busybox\"}]},"
                "\"status\":{\"phase\":\"Running\",\"qosClass\":\"BestEffort\",\"startTime\":\"2024-01-"
                "01T00:00:00Z\","
                "\"containerStatuses\":["
                "{\"name\":\"app\",\"state\":{\"running\":{\"startedAt\":\"2024-01-01T00:00:01Z\"}},"
                "\"lastState\":{\"terminated\":{\"exitCode\":1,\"reason\":\"Error\"}},\"restartCount\":1,"
                "\"containerID\":\"crun://aaaa\"},"
                "{\"name\":\"side\",\"state\":%s,\"lastState\":{},\"restartCount\":0,\"containerID\":\"crun:"
                "//bbbb\"}],"
                "\"initContainerStatuses\":[{\"name\":\"init\",\"state\":{\"waiting\":{\"reason\":"
                "\"ErrImagePull\"}},"
                "\"lastState\":{},\"restartCount\":0}]}}",
                side_state);
        _cleanup_free_ char *dir = nl_strdupf("%s/pods/" UID, fx.root), *tmp = path_of(dir, ".pod.json.tmp"),
                            *path = path_of(dir, "pod.json");
        nl_mkdir_p(dir, 0755);
        write_file(tmp, json); /* atomically, as the daemon writes it */
        if (rename(tmp, path) < 0)
                abort();
}

static const char *app_log = "2024-01-01T00:00:01.000000000Z stdout F hello one\n"
                             "2024-01-01T00:00:02.000000000Z stderr P part-a-\n"
                             "2024-01-01T00:00:02.500000000Z stderr F part-b\n"
                             "not a cri line\n"
                             "2024-01-01T00:00:03.000000000Z stdout F last line\n";

static char *container_log(const char *container, const char *file) {
        return nl_strdupf("%s/default_web_" UID "/%s/%s", fx.logs, container, file);
}

static const char *certs_script =
        "set -e\n"
        "key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out \"$1\" 2>/dev/null; }\n"
        "ca() { key $1.key; openssl req -x509 -new -key $1.key -out $1.crt -subj \"/CN=$1\" -days 2 "
        "2>/dev/null; }\n"
        "sign() { key $1.key; openssl req -new -key $1.key -out $1.csr -subj \"$2\" 2>/dev/null;\n"
        "  printf '%s\\n' \"$4\" > $1.ext;\n"
        "  openssl x509 -req -in $1.csr -CA $3.crt -CAkey $3.key -CAcreateserial -out $1.crt -days 2 "
        "-extfile $1.ext 2>/dev/null; }\n"
        "ca ca; ca ca2\n"
        "sign server /CN=" NODE " ca 'subjectAltName=IP:127.0.0.1,DNS:localhost'\n"
        "sign server2 /CN=" NODE " ca2 'subjectAltName=IP:127.0.0.1,DNS:localhost'\n"
        "sign admin '/CN=admin/O=system:masters' ca 'extendedKeyUsage=clientAuth'\n"
        "sign bob /CN=bob ca 'extendedKeyUsage=clientAuth'\n"
        "sign alice '/CN=alice/O=team-a/O=team-b' ca 'extendedKeyUsage=clientAuth'\n"
        "sign nocn '/O=system:masters' ca 'extendedKeyUsage=clientAuth'\n"
        "sign eve '/CN=admin/O=system:masters' ca 'extendedKeyUsage=serverAuth'\n"
        "sign mallory '/CN=admin/O=system:masters' ca2 'extendedKeyUsage=clientAuth'\n";

static int certs_make(const char *dir) {
        _cleanup_free_ char *script = path_of(dir, "make.sh"),
                            *cmd = nl_strdupf("cd '%s' && sh ./make.sh", dir);
        write_file(script, certs_script);
        return system(cmd) == 0 ? 0 : -EIO;
}

static bool fixture(void) {
        if (fx.ok)
                return true;
        if (fx.dir)
                return false; /* set up once, failed */
        char tmpl[] = "/tmp/nodelet-test-node-server-XXXXXX";
        if (!mkdtemp(tmpl)) {
                TEST_FAIL("mkdtemp: %m");
                return false;
        }
        fx.dir = strdup(tmpl);
        fx.root = path_of(fx.dir, "root");
        fx.logs = path_of(fx.dir, "logs");
        fx.certs = path_of(fx.dir, "certs");
        nl_mkdir_p(fx.certs, 0700);
        if (certs_make(fx.certs) < 0) {
                TEST_FAIL("making the test certificates with the openssl CLI failed");
                return false;
        }
        write_pod(side_running);
        _cleanup_free_ char *app_dir = nl_strdupf("%s/default_web_" UID "/app", fx.logs),
                            *side_dir = nl_strdupf("%s/default_web_" UID "/side", fx.logs);
        nl_mkdir_p(app_dir, 0755);
        nl_mkdir_p(side_dir, 0755);
        _cleanup_free_ char *app1 = container_log("app", "1.log"), *app0 = container_log("app", "0.log"),
                            *side0 = container_log("side", "0.log");
        write_file(app1, app_log);
        write_file(app0, "2024-01-01T00:00:00.000000000Z stdout F previous run\n");
        write_file(side0, "2024-01-01T00:00:01.000000000Z stdout F first\n");

        /* child sources need SIGCHLD blocked, as the daemon has it */
        sigset_t ss;
        sigemptyset(&ss);
        sigaddset(&ss, SIGCHLD);
        sigprocmask(SIG_BLOCK, &ss, NULL);
        if (sd_event_new(&fx.event) < 0)
                abort();
        fx.cri = (struct cri_config){.root_dir = fx.root, .log_dir = fx.logs};
        _cleanup_free_ char *crt = path_of(fx.certs, "server.crt"), *key = path_of(fx.certs, "server.key"),
                            *ca = path_of(fx.certs, "ca.crt");
        struct node_server_config cfg = {
                .address = "127.0.0.1",
                .port = -1,
                .cert_file = crt,
                .key_file = key,
                .client_ca_file = ca,
                .healthz_port = -1,
                .node_name = NODE,
                .cri = &fx.cri,
                .auth = {.authenticate_token = fake_token, .authorize = fake_authorize},
        };
        nl_error err = NL_ERROR_INIT;
        if (node_server_new(fx.event, &cfg, &fx.server, &err) < 0) {
                TEST_FAIL("node_server_new: %s", err.msg);
                nl_error_clear(&err);
                return false;
        }
        fx.port = node_server_port(fx.server, false);
        fx.hport = node_server_port(fx.server, true);
        fx.ok = fx.port > 0 && fx.hport > 0;
        return fx.ok;
}

/* ==== curl ================================================================================= */

struct curl {
        pid_t pid;
        bool done;
        int exit_status;
        sd_event_source *src;
        char *body_path, *code_path;
};

static int on_curl_exit(sd_event_source *s, const siginfo_t *si, void *userdata) {
        struct curl *c = userdata;
        c->done = true;
        c->exit_status = si->si_status;
        return 0;
}

/* Start curl with the common options, args (NULL-terminated) and url last. */
static void curl_start(struct curl *c, const char *url, const char *const *args) {
        static unsigned seq;
        *c = (struct curl){};
        c->body_path = nl_strdupf("%s/curl-%u.body", fx.dir, seq);
        c->code_path = nl_strdupf("%s/curl-%u.code", fx.dir, seq++);
        _cleanup_free_ char *ca = path_of(fx.certs, "ca.crt");
        const char *argv[64] = {"curl",       "-sS", "--max-time",   "20",       "-o",
                                c->body_path, "-w",  "%{http_code}", "--cacert", ca};
        size_t n = 10;
        for (size_t i = 0; args && args[i] && n < ELEMENTSOF(argv) - 2; i++)
                argv[n++] = args[i];
        argv[n++] = url;
        argv[n] = NULL;
        c->pid = fork();
        if (c->pid == 0) {
                sigset_t none;
                sigemptyset(&none);
                sigprocmask(SIG_SETMASK, &none, NULL);
                int out = open(c->code_path, O_WRONLY | O_CREAT | O_TRUNC, 0644),
                    null = open("/dev/null", O_WRONLY);
                dup2(out, 1);
                dup2(null, 2);
                execvp("curl", (char **) argv);
                _exit(127);
        }
        if (c->pid < 0 || sd_event_add_child(fx.event, &c->src, c->pid, WEXITED, on_curl_exit, c) < 0)
                abort();
}

/* Run the loop until curl ends; returns the HTTP status (0: none), the body in *ret_body. */
static long curl_finish(struct curl *c, char **ret_body) {
        uint64_t end = mono_usec() + 30 * 1000 * MSEC;
        while (!c->done && mono_usec() < end)
                (void) sd_event_run(fx.event, 50 * MSEC);
        if (!c->done) {
                kill(c->pid, SIGKILL);
                while (!c->done)
                        (void) sd_event_run(fx.event, 50 * MSEC);
        }
        sd_event_source_unref(c->src);
        _cleanup_free_ char *code = NULL;
        char *body = NULL;
        (void) nl_read_file(c->code_path, 64, false, &code, NULL);
        if (nl_read_file(c->body_path, 64 * 1024 * 1024, false, &body, NULL) < 0)
                body = strdup("");
        unlink(c->body_path);
        unlink(c->code_path);
        free(c->body_path);
        free(c->code_path);
        if (ret_body)
                *ret_body = body;
        else
                free(body);
        return code ? strtol(code, NULL, 10) : 0;
}

static void run_for(uint64_t usec) {
        uint64_t end = mono_usec() + usec;
        while (mono_usec() < end)
                (void) sd_event_run(fx.event, 20 * MSEC);
}

/* GET https://127.0.0.1:<port><path> as who: a client certificate name, "token:<t>", or NULL. */
static long get_as(const char *who, const char *path, char **ret_body, const char *extra) {
        _cleanup_free_ char *url = nl_strdupf("https://127.0.0.1:%d%s", fx.port, path);
        _cleanup_free_ char *crt = NULL, *key = NULL, *hdr = NULL;
        const char *args[12] = {};
        size_t n = 0;
        if (who && strncmp(who, "token:", 6) == 0) {
                hdr = nl_strdupf("Authorization: Bearer %s", who + 6);
                args[n++] = "-H";
                args[n++] = hdr;
        } else if (who) {
                crt = nl_strdupf("%s/%s.crt", fx.certs, who);
                key = nl_strdupf("%s/%s.key", fx.certs, who);
                args[n++] = "--cert";
                args[n++] = crt;
                args[n++] = "--key";
                args[n++] = key;
        }
        /* extra: one option, or an option and its value split at the first space */
        _cleanup_free_ char *extra_copy = extra ? strdup(extra) : NULL;
        char *space = extra_copy ? strchr(extra_copy, ' ') : NULL;
        if (space)
                *space = '\0';
        if (extra_copy)
                args[n++] = extra_copy;
        if (space)
                args[n++] = space + 1;
        args[n++] = "--path-as-is";
        struct curl c;
        curl_start(&c, url, args);
        return curl_finish(&c, ret_body);
}

static long get(const char *path, char **ret_body) {
        return get_as("admin", path, ret_body, NULL);
}

/* ==== authentication and authorization ===================================================== */

TEST(no_credentials_is_401) {
        if (!fixture())
                return;
        _cleanup_free_ char *body = NULL;
        CHECK_INT_EQ(get_as(NULL, "/pods", &body, NULL), 401);
        CHECK_STR_EQ(body, "Unauthorized");
        /* /healthz on the node port wants credentials too, as the kubelet's */
        free(body);
        body = NULL;
        CHECK_INT_EQ(get_as(NULL, "/healthz", &body, NULL), 401);
}

TEST(client_certificates) {
        if (!fixture())
                return;
        _cleanup_free_ char *body = NULL;
        /* another CA, a serverAuth-only certificate, no CN: not authenticated */
        CHECK_INT_EQ(get_as("mallory", "/pods", NULL, NULL), 401);
        CHECK_INT_EQ(get_as("eve", "/pods", NULL, NULL), 401);
        CHECK_INT_EQ(get_as("nocn", "/pods", NULL, NULL), 401);
        /* CN = user, O values = groups, in order */
        CHECK_INT_EQ(get_as("alice", "/healthz", &body, NULL), 200);
        CHECK_STR_EQ(body, "ok");
        free(body);
        body = NULL;
        CHECK_INT_EQ(get_as("admin", "/healthz", &body, NULL), 200);
        CHECK_STR_EQ(body, "ok");
}

TEST(forbidden_names_the_subresource) {
        if (!fixture())
                return;
        static const struct {
                const char *path, *sub;
        } cases[] = {
                {"/pods", "proxy"},
                {"/containerLogs/default/web/app", "proxy"},
                {"/stats/summary", "stats"},
                {"/metrics", "metrics"},
                {"/metrics/resource", "metrics"},
                {"/logs/syslog", "log"},
                {"/spec/", "spec"},
                {"/nothing/here", "proxy"},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *body = NULL,
                                    *want = nl_strdupf(
                                            "Forbidden (user=bob, verb=get, resource=nodes, subresource=%s)",
                                            cases[i].sub);
                CHECK_INT_EQ(get_as("bob", cases[i].path, &body, NULL), 403);
                CHECK_STR_EQ(body, want);
        }
        /* POST is verb create: the fake authorizer refuses every create */
        _cleanup_free_ char *body = NULL;
        CHECK_INT_EQ(get_as("admin", "/pods", &body, "-XPOST"), 403);
        CHECK_STR_EQ(body, "Forbidden (user=admin, verb=create, resource=nodes, subresource=proxy)");
}

TEST(bearer_tokens) {
        if (!fixture())
                return;
        _cleanup_free_ char *body = NULL;
        CHECK_INT_EQ(get_as("token:bad-token", "/pods", &body, NULL), 401);
        CHECK_STR_EQ(body, "Unauthorized");
        CHECK_INT_EQ(get_as("token:boom", "/pods", NULL, NULL), 401); /* the review failed */
        free(body);
        body = NULL;
        CHECK_INT_EQ(get_as("token:good-token", "/pods", &body, NULL), 200);
        CHECK(body && strstr(body, "\"PodList\""));
        free(body);
        body = NULL;
        /* the authorizer failing is a 500 with the attributes */
        CHECK_INT_EQ(get_as("token:autherr-token", "/pods", &body, NULL), 500);
        CHECK_STR_EQ(body,
                     "Authorization error (user=erruser, verb=get, resource=nodes, subresource=proxy)");
        /* a client certificate from another CA does not stop a good token */
        _cleanup_free_ char *crt = nl_strdupf("%s/mallory.crt", fx.certs),
                            *key = nl_strdupf("%s/mallory.key", fx.certs),
                            *url = nl_strdupf("https://127.0.0.1:%d/healthz", fx.port);
        const char *args[] = {"--cert", crt, "--key", key, "-H", "Authorization: Bearer good-token", NULL};
        struct curl c;
        curl_start(&c, url, args);
        CHECK_INT_EQ(curl_finish(&c, NULL), 200);
}

/* ==== endpoints ============================================================================= */

TEST(pods) {
        if (!fixture())
                return;
        _cleanup_free_ char *body = NULL;
        CHECK_INT_EQ(get("/pods", &body), 200);
        json_t *j = json_loads(strempty(body), 0, NULL);
        CHECK(j != NULL);
        CHECK_STR_EQ(json_string_value(json_object_get(j, "kind")), "PodList");
        CHECK_STR_EQ(json_string_value(json_object_get(j, "apiVersion")), "v1");
        CHECK(json_is_object(json_object_get(j, "metadata")));
        json_t *items = json_object_get(j, "items");
        CHECK_INT_EQ(json_array_size(items), 1);
        CHECK_STR_EQ(json_string_value(
                             json_object_get(json_object_get(json_array_get(items, 0), "metadata"), "name")),
                     "web");
        json_decref(j);
}

static void check_logs(const char *query, long want_status, const char *want_body) {
        _cleanup_free_ char *body = NULL, *path = nl_strdupf("/containerLogs/%s", query);
        long status = get(path, &body);
        if (status != want_status || !body || !streq(body, want_body))
                TEST_FAIL("GET %s: got %ld \"%s\", want %ld \"%s\"", path, status, strempty(body),
                          want_status, want_body);
}

TEST(container_logs) {
        if (!fixture())
                return;
        check_logs("default/web/app", 200, "hello one\npart-a-part-b\nlast line\n");
        check_logs("default/web/app?tailLines=1&timestamps=true", 200,
                   "2024-01-01T00:00:03.000000000Z last line\n");
        /* a partial entry joins its line, the timestamp only at the line's start */
        check_logs(
                "default/web/app?tailLines=2&timestamps=1", 200,
                "2024-01-01T00:00:02.000000000Z part-a-part-b\n2024-01-01T00:00:03.000000000Z last line\n");
        check_logs("default/web/app?tail=all", 200, "hello one\npart-a-part-b\nlast line\n");
        check_logs("default/web/app?tailLines=0", 200, "");
        check_logs("default/web/app?limitBytes=7", 200, "hello o");
        check_logs("default/web/app?sinceTime=2024-01-01T00%3A00%3A02Z", 200, "part-a-part-b\nlast line\n");
        check_logs("default/web/app?sinceSeconds=60", 200, ""); /* all of it is from 2024 */
        check_logs("default/web/app?previous=true", 200, "previous run\n");
        check_logs("default/web/side", 200, "first\n");
}

TEST(container_log_errors) {
        if (!fixture())
                return;
        check_logs("default/web/side?previous=true", 400,
                   "previous terminated container \"side\" in pod \"web\" not found");
        check_logs("default/web/init", 400,
                   "container \"init\" in pod \"web\" is waiting to start: image can't be pulled");
        check_logs("default/nope/app", 404, "pod \"nope\" does not exist");
        check_logs("other/web/app", 404, "pod \"web\" does not exist");
        check_logs("default/web/nope", 404, "container \"nope\" not found in pod \"web\"");
        check_logs("default/web/app?tailLines=-1", 422, "{\"message\": \"Invalid request.\"}");
        check_logs("default/web/app?limitBytes=0", 422, "{\"message\": \"Invalid request.\"}");
        check_logs("default/web/app?sinceSeconds=5&sinceTime=2024-01-01T00%3A00%3A02Z", 422,
                   "{\"message\": \"Invalid request.\"}");
        check_logs("default/web/app?tailLines=ten", 400, "{\"message\": \"Unable to decode query.\"}");
        check_logs("default/web/app?follow=maybe", 400, "{\"message\": \"Unable to decode query.\"}");
}

TEST(path_traversal_is_400) {
        if (!fixture())
                return;
        static const char *const paths[] = {
                "/containerLogs/default/%2e%2e/app",
                "/containerLogs/default/../../../etc/passwd",
                "/containerLogs/default/web%2Fapp/x",
                "/containerLogs/default/web/%2E",
                "/containerLogs//web/app",
                "/pods/%00",
                "/containerLogs/default/web/app%zz",
        };
        for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
                long status = get(paths[i], NULL);
                if (status != 400)
                        TEST_FAIL("GET %s: got %ld, want 400", paths[i], status);
        }
}

TEST(unknown_paths_and_methods) {
        if (!fixture())
                return;
        _cleanup_free_ char *body = NULL;
        CHECK_INT_EQ(get("/nothing/here", &body), 404);
        CHECK_STR_EQ(body, "404 page not found\n");
        CHECK_INT_EQ(get("/pods/", NULL), 404);
        CHECK_INT_EQ(get("/containerLogs/default/web", NULL), 404);
        CHECK_INT_EQ(get_as("admin", "/pods", NULL, "-XDELETE"), 403); /* verb delete: not allowed */
        CHECK_INT_EQ(get_as("admin", "/pods", NULL, "-XBREW"), 405);
        /* HEAD: the headers alone */
        CHECK_INT_EQ(get_as("admin", "/healthz", NULL, "-I"), 200);
}

TEST(request_limits) {
        if (!fixture())
                return;
        _cleanup_free_ char *big = malloc(17 * 1024 + 16), *body = NULL;
        strcpy(big, "X-Big: ");
        memset(big + 7, 'x', 17 * 1024);
        big[7 + 17 * 1024] = '\0';
        _cleanup_free_ char *url = nl_strdupf("https://127.0.0.1:%d/pods", fx.port);
        const char *args[] = {"-H", big, NULL};
        struct curl c;
        curl_start(&c, url, args);
        CHECK_INT_EQ(curl_finish(&c, &body), 431);
        CHECK_STR_EQ(body, "431 Request Header Fields Too Large");
        /* no bodies on these endpoints */
        _cleanup_free_ char *crt = path_of(fx.certs, "admin.crt"), *key = path_of(fx.certs, "admin.key");
        const char *empty[] = {"--cert",        crt,          "--key", key, "-X", "GET",
                               "--data-binary", "@/dev/null", NULL};
        curl_start(&c, url, empty); /* Content-Length: 0 is no body */
        CHECK_INT_EQ(curl_finish(&c, NULL), 200);
        const char *post[] = {"--cert", crt, "--key", key, "-X", "GET", "--data", "x=1", NULL};
        curl_start(&c, url, post);
        CHECK_INT_EQ(curl_finish(&c, NULL), 413);
}

TEST(healthz_port) {
        if (!fixture())
                return;
        _cleanup_free_ char *url = nl_strdupf("http://127.0.0.1:%d/healthz", fx.hport),
                            *pods = nl_strdupf("http://127.0.0.1:%d/pods", fx.hport), *body = NULL;
        struct curl c;
        curl_start(&c, url, NULL);
        CHECK_INT_EQ(curl_finish(&c, &body), 200);
        CHECK_STR_EQ(body, "ok");
        curl_start(&c, pods, NULL);
        CHECK_INT_EQ(curl_finish(&c, NULL), 404);
}

TEST(metrics) {
        if (!fixture())
                return;
        _cleanup_free_ char *body = NULL;
        CHECK_INT_EQ(get("/metrics", &body), 200);
        CHECK(body && strstr(body, "# HELP nodelet_running_pods "));
        CHECK(body && strstr(body, "# TYPE nodelet_running_pods gauge\nnodelet_running_pods 1\n"));
        CHECK(body && strstr(body, "nodelet_running_containers{container_state=\"running\"} 2\n"));
        CHECK(body && strstr(body, "# HELP process_resident_memory_bytes "));
        CHECK(body && strstr(body, "\nprocess_cpu_seconds_total "));
        free(body);
        body = NULL;
        CHECK_INT_EQ(get("/metrics/resource", &body), 200);
        CHECK(body &&
              strstr(body, "# TYPE node_cpu_usage_seconds_total counter\nnode_cpu_usage_seconds_total "));
        CHECK(body && strstr(body, "\nnode_memory_working_set_bytes "));
        CHECK(body && strstr(body, "\nresource_scrape_error 0\n"));
}

TEST(stats_summary) {
        if (!fixture())
                return;
        /* something busy on the node meanwhile: usageNanoCores is in nano-cores, so at least some
         * tens of millions while a whole core spins (a units slip shows as thousands) */
        pid_t busy = fork();
        if (busy == 0)
                for (;;)
                        ;
        _cleanup_free_ char *body = NULL;
        CHECK_INT_EQ(get("/stats/summary", &body), 200);
        kill(busy, SIGKILL);
        (void) waitpid(busy, NULL, 0);
        json_t *j = json_loads(strempty(body), 0, NULL);
        CHECK(j != NULL);
        json_t *node = json_object_get(j, "node");
        CHECK_STR_EQ(json_string_value(json_object_get(node, "nodeName")), NODE);
        CHECK(json_string_value(json_object_get(node, "startTime")) != NULL);
        CHECK(json_integer_value(json_object_get(json_object_get(node, "cpu"), "usageCoreNanoSeconds")) > 0);
        json_int_t nano_cores =
                json_integer_value(json_object_get(json_object_get(node, "cpu"), "usageNanoCores"));
        if (nano_cores < 50 * 1000 * 1000 ||
            nano_cores > sysconf(_SC_NPROCESSORS_ONLN) * 1100LL * 1000 * 1000)
                TEST_FAIL("node usageNanoCores %lld with a core busy", (long long) nano_cores);
        CHECK(json_integer_value(json_object_get(json_object_get(node, "memory"), "workingSetBytes")) > 0);
        CHECK(json_integer_value(json_object_get(json_object_get(node, "fs"), "capacityBytes")) > 0);
        json_t *pod = json_array_get(json_object_get(j, "pods"), 0);
        CHECK_STR_EQ(json_string_value(json_object_get(json_object_get(pod, "podRef"), "name")), "web");
        CHECK_STR_EQ(json_string_value(json_object_get(json_object_get(pod, "podRef"), "uid")), UID);
        CHECK_INT_EQ(json_array_size(json_object_get(pod, "containers")), 2);
        json_decref(j);
}

/* ==== follow ================================================================================ */

static void start_follow(struct curl *c) {
        _cleanup_free_ char *url = nl_strdupf(
                                    "https://127.0.0.1:%d/containerLogs/default/web/side?follow=true",
                                    fx.port),
                            *crt = path_of(fx.certs, "admin.crt"), *key = path_of(fx.certs, "admin.key");
        const char *args[] = {"--cert", crt, "--key", key, "-N", NULL};
        curl_start(c, url, args);
}

TEST(follow_across_rotation) {
        if (!fixture())
                return;
        _cleanup_free_ char *live = container_log("side", "0.log"),
                            *rotated = container_log("side", "0.log.20240101-000000");
        struct curl c;
        start_follow(&c);
        run_for(600 * MSEC);
        CHECK(!c.done); /* still streaming */
        append_file(live, "2024-01-01T00:00:02.000000000Z stdout F second\n");
        run_for(400 * MSEC);
        /* the kubelet's rotation: rename, then a new file under the old name */
        CHECK_INT_EQ(rename(live, rotated), 0);
        append_file(rotated, "2024-01-01T00:00:03.000000000Z stdout F third\n");
        write_file(live, "2024-01-01T00:00:04.000000000Z stdout F fourth\n");
        run_for(600 * MSEC);
        append_file(live, "2024-01-01T00:00:05.000000000Z stdout F fifth\n");
        CHECK(!c.done);
        write_pod(side_terminated); /* the container ended: the stream ends */
        _cleanup_free_ char *body = NULL;
        uint64_t t0 = mono_usec();
        CHECK_INT_EQ(curl_finish(&c, &body), 200);
        CHECK(mono_usec() - t0 < 5000 * MSEC);
        CHECK_STR_EQ(body, "first\nsecond\nthird\nfourth\nfifth\n");
        /* the previous state back for the other tests */
        write_pod(side_running);
        write_file(live, "2024-01-01T00:00:01.000000000Z stdout F first\n");
        unlink(rotated);
}

TEST(follow_ends_when_the_client_goes) {
        if (!fixture())
                return;
        struct curl c;
        start_follow(&c);
        run_for(600 * MSEC);
        CHECK_INT_EQ(node_server_connections(fx.server), 1);
        kill(c.pid, SIGKILL);
        (void) curl_finish(&c, NULL);
        uint64_t end = mono_usec() + 5000 * MSEC;
        while (node_server_connections(fx.server) > 0 && mono_usec() < end)
                (void) sd_event_run(fx.event, 20 * MSEC);
        CHECK_INT_EQ(node_server_connections(fx.server), 0);
}

/* ==== the connection cap, certificate reload, self-signed ==================================== */

static struct node_server *second_server(unsigned max, const char *crt, const char *key) {
        _cleanup_free_ char *ca = path_of(fx.certs, "ca.crt");
        struct node_server_config cfg = {
                .address = "127.0.0.1",
                .port = -1,
                .cert_file = crt,
                .key_file = key,
                .client_ca_file = ca,
                .node_name = NODE,
                .cri = &fx.cri,
                .max_connections = max,
                .max_streams = 1,
                .auth = {.authenticate_token = fake_token, .authorize = fake_authorize},
        };
        struct node_server *s = NULL;
        nl_error err = NL_ERROR_INIT;
        if (node_server_new(fx.event, &cfg, &s, &err) < 0)
                TEST_FAIL("node_server_new: %s", err.msg);
        nl_error_clear(&err);
        return s;
}

/* A TCP connection that never says a thing (a slow or hostile client before its handshake). */
static int idle_connection(int port) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t) port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                abort();
        return fd;
}

TEST(connection_budgets) {
        if (!fixture())
                return;
        _cleanup_free_ char *crt = path_of(fx.certs, "server.crt"), *key = path_of(fx.certs, "server.key");
        /* 4 not yet authenticated (2 from one address), 1 long-lived stream */
        struct node_server *s = second_server(4, crt, key);
        if (!s)
                return;
        int main_port = fx.port;
        fx.port = node_server_port(s, false);
        /* two silent connections from 127.0.0.1 take that address's half */
        int idle1 = idle_connection(fx.port), idle2 = idle_connection(fx.port);
        run_for(300 * MSEC);
        CHECK_INT_EQ(node_server_connections(s), 2);
        CHECK_INT_EQ(get("/healthz", NULL), 0); /* closed at once */
        /* ... but not another address's */
        CHECK_INT_EQ(get_as("admin", "/healthz", NULL, "--interface 127.0.0.2"), 200);
        close(idle1);
        close(idle2);
        run_for(300 * MSEC);
        CHECK_INT_EQ(get("/healthz", NULL), 200);

        /* a long-lived stream holds the one long slot; a second is refused with 429, and the
         * short requests go on */
        struct curl c;
        start_follow(&c);
        run_for(600 * MSEC);
        CHECK(!c.done);
        _cleanup_free_ char *body = NULL, *url = nl_strdupf(
                "/containerLogs/default/web/side?follow=true");
        CHECK_INT_EQ(get(url, &body), 429);
        CHECK(body && strstr(body, "Too many long-running requests"));
        CHECK_INT_EQ(get("/pods", NULL), 200);
        CHECK_INT_EQ(get("/healthz", NULL), 200);
        write_pod(side_terminated);
        CHECK_INT_EQ(curl_finish(&c, NULL), 200);
        write_pod(side_running);
        run_for(200 * MSEC);
        node_server_free(s);
        fx.port = main_port;
}

static int count_lines(const char *path, const char *what) {
        _cleanup_free_ char *text = NULL;
        if (nl_read_file(path, 1 << 20, false, &text, NULL) < 0)
                return 0;
        int n = 0;
        size_t len = strlen(what);
        for (char *p = text; (p = strstr(p, what)); p += len)
                n++;
        return n;
}

/* The reviews' answers are kept as the kubelet's webhook caches keep them; uid and extra reach
 * the authorizer. */
TEST(review_answers_are_cached) {
        if (!fixture())
                return;
        _cleanup_free_ char *crt = path_of(fx.certs, "server.crt"), *key = path_of(fx.certs, "server.key"),
                            *ca = path_of(fx.certs, "ca.crt"), *run = path_of(fx.dir, "run-cache"),
                            *calls = path_of(fx.dir, "calls");
        nl_mkdir_p(run, 0700);
        unlink(calls);
        struct cri_config cri = fx.cri;
        cri.run_dir = run;
        struct node_server_config cfg = {
                .address = "127.0.0.1", .port = -1, .cert_file = crt, .key_file = key, .client_ca_file = ca,
                .node_name = NODE, .cri = &cri,
                .auth = {.authenticate_token = fake_token, .authorize = fake_authorize, .userdata = fx.dir},
        };
        struct node_server *s = NULL;
        nl_error err = NL_ERROR_INIT;
        if (node_server_new(fx.event, &cfg, &s, &err) < 0) {
                TEST_FAIL("node_server_new: %s", err.msg);
                nl_error_clear(&err);
                return;
        }
        int main_port = fx.port;
        fx.port = node_server_port(s, false);
        daemon_marker_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        for (int i = 0; i < 3; i++)
                CHECK_INT_EQ(get_as("token:good-token", "/pods", NULL, NULL), 200);
        CHECK_INT_EQ(count_lines(calls, "authn"), 1);
        CHECK_INT_EQ(count_lines(calls, "authz"), 1);
        /* the connection's child holds none of the daemon's descriptors */
        CHECK_INT_EQ(count_lines(calls, "daemon-fd-held"), 0);
        close(daemon_marker_fd);
        daemon_marker_fd = -1;
        /* a denial is cached too (POST: the fake refuses create), and another subresource is
         * another question */
        CHECK_INT_EQ(get_as("token:good-token", "/pods", NULL, "-XPOST"), 403);
        CHECK_INT_EQ(get_as("token:good-token", "/pods", NULL, "-XPOST"), 403);
        CHECK_INT_EQ(get_as("token:good-token", "/metrics", NULL, NULL), 200);
        CHECK_INT_EQ(count_lines(calls, "authz"), 3);
        /* a rejected token is remembered; a failed review is not */
        CHECK_INT_EQ(get_as("token:bad-token", "/pods", NULL, NULL), 401);
        CHECK_INT_EQ(get_as("token:bad-token", "/pods", NULL, NULL), 401);
        CHECK_INT_EQ(get_as("token:boom", "/pods", NULL, NULL), 401);
        CHECK_INT_EQ(get_as("token:boom", "/pods", NULL, NULL), 401);
        CHECK_INT_EQ(count_lines(calls, "authn"), 4);
        /* uid and extra: the fake authorizer allows them only as the token review gave them,
         * the first time and from the cache */
        CHECK_INT_EQ(get_as("token:uid-token", "/pods", NULL, NULL), 200);
        CHECK_INT_EQ(get_as("token:uid-token", "/pods", NULL, NULL), 200);
        CHECK_INT_EQ(count_lines(calls, "authn"), 5);
        /* nothing in the cache names a token */
        _cleanup_free_ char *cmd = nl_strdupf("grep -rq good-token %s", run);
        CHECK(system(cmd) != 0);
        node_server_free(s);
        fx.port = main_port;
}

static void copy_file(const char *from, const char *to) {
        _cleanup_free_ char *buf = NULL;
        if (nl_read_file(from, 1024 * 1024, false, &buf, NULL) < 0)
                abort();
        write_file(to, buf);
}

TEST(certificate_reload) {
        if (!fixture())
                return;
        _cleanup_free_ char *crt = path_of(fx.certs, "live.crt"), *key = path_of(fx.certs, "live.key"),
                            *c1 = path_of(fx.certs, "server.crt"), *k1 = path_of(fx.certs, "server.key"),
                            *c2 = path_of(fx.certs, "server2.crt"), *k2 = path_of(fx.certs, "server2.key"),
                            *ca2 = path_of(fx.certs, "ca2.crt");
        copy_file(c1, crt);
        copy_file(k1, key);
        struct node_server *s = second_server(0, crt, key);
        if (!s)
                return;
        int main_port = fx.port;
        fx.port = node_server_port(s, false);
        CHECK_INT_EQ(get("/healthz", NULL), 200);
        /* a certificate from the second CA now: our CA no longer verifies the server */
        copy_file(c2, crt);
        copy_file(k2, key);
        CHECK_INT_EQ(get("/healthz", NULL), 0);
        _cleanup_free_ char *url = nl_strdupf("https://127.0.0.1:%d/healthz", fx.port),
                            *acrt = path_of(fx.certs, "admin.crt"), *akey = path_of(fx.certs, "admin.key");
        const char *args[] = {"--cacert", ca2, "--cert", acrt, "--key", akey, NULL};
        struct curl c;
        curl_start(&c, url, args);
        CHECK_INT_EQ(curl_finish(&c, NULL), 200);
        /* a key that does not match: the last good pair stays */
        copy_file(k1, key);
        curl_start(&c, url, args);
        CHECK_INT_EQ(curl_finish(&c, NULL), 200);
        node_server_free(s);
        fx.port = main_port;
}

TEST(self_signed_without_cert_files) {
        if (!fixture())
                return;
        struct node_server *s = second_server(0, NULL, NULL);
        if (!s)
                return;
        _cleanup_free_ char *url = nl_strdupf("https://127.0.0.1:%d/healthz", node_server_port(s, false)),
                            *body = NULL;
        const char *args[] = {"-k", "-H", "Authorization: Bearer good-token", NULL};
        struct curl c;
        curl_start(&c, url, args);
        CHECK_INT_EQ(curl_finish(&c, &body), 200);
        CHECK_STR_EQ(body, "ok");
        node_server_free(s);
}

TEST(bad_configuration) {
        if (!fixture())
                return;
        _cleanup_free_ char *crt = path_of(fx.certs, "server.crt"), *key = path_of(fx.certs, "bob.key"),
                            *missing = path_of(fx.certs, "missing.crt");
        struct node_server_config cfg = {.address = "127.0.0.1",
                                         .port = -1,
                                         .cert_file = crt,
                                         .key_file = key,
                                         .node_name = NODE,
                                         .cri = &fx.cri};
        struct node_server *s = NULL;
        nl_error err = NL_ERROR_INIT;
        CHECK(node_server_new(fx.event, &cfg, &s, &err) < 0);
        CHECK(err.msg && strstr(err.msg, "bob.key") && strstr(err.msg, "mismatch"));
        nl_error_clear(&err);
        cfg.cert_file = missing;
        CHECK(node_server_new(fx.event, &cfg, &s, &err) < 0);
        CHECK(err.msg && strstr(err.msg, "missing.crt"));
        nl_error_clear(&err);
        cfg.cert_file = crt;
        cfg.key_file = NULL;
        CHECK(node_server_new(fx.event, &cfg, &s, &err) < 0);
        nl_error_clear(&err);
        cfg = (struct node_server_config){
                .address = "not-an-ip", .port = -1, .node_name = NODE, .cri = &fx.cri};
        CHECK(node_server_new(fx.event, &cfg, &s, &err) < 0);
        CHECK(err.msg && strstr(err.msg, "not-an-ip"));
        nl_error_clear(&err);
}

/* ==== the log reader alone (what `nodelet logs` uses) ======================================== */

static int collect(void *userdata, const char *buf, size_t len) {
        if (buf)
                nl_buf_append(userdata, buf, len);
        return 0;
}

TEST(log_reader) {
        if (!fixture())
                return;
        struct node_log_target t = {};
        nl_error err = NL_ERROR_INIT;
        CHECK_INT_EQ(node_logs_find(fx.root, fx.logs, "default", "web", "app", false, &t, &err), 0);
        CHECK_INT_EQ(t.restart, 1);
        /* a partial line at the end counts as a line and prints without its newline */
        _cleanup_free_ char *path = container_log("app", "1.log");
        append_file(path, "2024-01-01T00:00:04.000000000Z stdout P unfinished\n");
        struct node_log_options o = {.tail_lines = 2};
        nl_buf b = {};
        CHECK_INT_EQ(node_logs_copy(&t, &o, collect, &b, -1), 0);
        _cleanup_free_ char *s = nl_buf_steal(&b);
        CHECK_STR_EQ(s, "last line\nunfinished");
        write_file(path, app_log);
        node_log_target_done(&t);
        /* no container name: the pod's only one, else the kubectl message */
        CHECK_INT_EQ(node_logs_find(fx.root, fx.logs, "default", "web", NULL, false, &t, &err), -EINVAL);
        CHECK_STR_EQ(err.msg, "a container name must be specified for pod web, choose one of: [app side]");
        nl_error_clear(&err);
}

TEST(zz_cleanup) {
        if (!fx.dir)
                return;
        node_server_free(fx.server);
        fx.server = NULL;
        CHECK_INT_EQ(node_server_port(NULL, false), -1);
        sd_event_unref(fx.event);
        CHECK_INT_EQ(nl_rm_rf(fx.dir), 0);
        free(fx.dir);
        free(fx.root);
        free(fx.logs);
        free(fx.certs);
        fx = (struct fixture){};
}
