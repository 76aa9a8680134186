/* SPDX-License-Identifier: Apache-2.0 */
/* What a user looks at: `nodelet pods`, `nodelet get pod`, `nodelet logs`, `nodelet exec`.
 * They read what the daemon writes (<root_dir>/pods/<uid>/pod.json, the CRI log files) and
 * work whether or not the daemon runs. */
#include <getopt.h>
#include <signal.h>
#include <inttypes.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <time.h>

#include "cli.h"
#include "agent/state/state.h"
#include "common/fs.h"
#include "common/time-util.h"
#include "cri/cri.h"
#include "cri/layout.h"
#include "podspec/podspec.h"

struct cli_opts {
        const char *root_dir, *run_dir, *log_dir, *namespace, *output, *container, *runtime;
        bool previous, follow, timestamps, tty, stdin_;
        long tail;
        json_t *daemon; /* <run_dir>/nodelet.json: the daemon's dirs and readiness, or NULL */
};

/* The daemon's own words on why pods cannot start here, or NULL. */
static const char *daemon_not_ready(const struct cli_opts *o) {
        static const char *const conds[][2] = { { "runtime", "container runtime not ready" },
                                                { "network", "container runtime network not ready" } };
        for (size_t i = 0; i < ELEMENTSOF(conds); i++) {
                json_t *c = json_object_get(o->daemon, conds[i][0]);
                if (c && !json_is_true(json_object_get(c, "ready")))
                        return json_string_value(json_object_get(c, "message")) ?: conds[i][1];
        }
        return NULL;
}

static bool daemon_running(const struct cli_opts *o) {
        json_int_t pid = json_integer_value(json_object_get(o->daemon, "pid"));
        return pid > 0 && pid <= INT32_MAX && (kill((pid_t) pid, 0) == 0 || errno == EPERM);
}

static json_t *load_pods(const struct cli_opts *o) {
        json_t *all = node_pods_load(o->root_dir);
        return all ? all : json_array();
}

static json_t *find_pod(const struct cli_opts *o, json_t *all, const char *name) {
        return node_pods_find(all, o->namespace ? o->namespace : "default", name);
}

/* kubectl's STATUS column (printPod): the most telling reason, else the phase. */
static char *pod_status_text(json_t *p) {
        json_t *st = json_object_get(p, "status");
        const char *reason = json_string_value(json_object_get(st, "reason"));
        if (reason)
                return strdup(reason);
        json_t *inits = json_object_get(st, "initContainerStatuses");
        size_t n_init = json_array_size(inits), i;
        json_t *c;
        json_array_foreach(inits, i, c) {
                json_t *state = json_object_get(c, "state");
                json_t *term = json_object_get(state, "terminated"), *wait = json_object_get(state, "waiting");
                if (term && json_integer_value(json_object_get(term, "exitCode")) == 0)
                        continue;
                if (term)
                        return nl_strdupf("Init:%s", json_string_value(json_object_get(term, "reason")) ?: "Error");
                if (wait && !streq_ptr(json_string_value(json_object_get(wait, "reason")), "PodInitializing"))
                        return nl_strdupf("Init:%s", json_string_value(json_object_get(wait, "reason")));
                if (json_object_get(state, "running") && json_is_true(json_object_get(c, "started")))
                        continue; /* a started sidecar */
                return nl_strdupf("Init:%zu/%zu", i, n_init);
        }
        const char *out = jpath_str(p, "status", "phase", NULL);
        json_array_foreach(json_object_get(st, "containerStatuses"), i, c) {
                json_t *state = json_object_get(c, "state");
                const char *w = json_string_value(json_object_get(json_object_get(state, "waiting"), "reason"));
                const char *t = json_string_value(json_object_get(json_object_get(state, "terminated"), "reason"));
                if (w && !streq(w, "ContainerCreating"))
                        return strdup(w);
                if (w)
                        out = w;
                else if (t)
                        out = t;
        }
        return strdup(out ? out : "Unknown");
}

static char *age(const char *start) {
        usec_t t = parse_rfc3339(start);
        if (!t)
                return strdup("-");
        uint64_t s = (now_realtime() - t) / USEC_PER_SEC;
        if (s < 120)
                return nl_strdupf("%" PRIu64 "s", s);
        if (s < 7200)
                return nl_strdupf("%" PRIu64 "m", s / 60);
        if (s < 172800)
                return nl_strdupf("%" PRIu64 "h", s / 3600);
        return nl_strdupf("%" PRIu64 "d", s / 86400);
}

static int pods_list(const struct cli_opts *o) {
        const char *why = daemon_running(o) ? daemon_not_ready(o) : NULL;
        if (why)
                /* the table alone would show pods waiting in ContainerCreating without a word why */
                fprintf(stderr, "nodelet: pods cannot start on this node: %s\n", why);
        json_t *all = load_pods(o);
        if (o->output && (streq(o->output, "json") || streq(o->output, "yaml"))) {
                /* a v1 PodList as the API server would return it */
                json_t *list = json_pack("{s:s, s:s, s:O}", "apiVersion", "v1", "kind", "PodList", "items", all);
                _cleanup_free_ char *s = NULL;
                if (streq(o->output, "json"))
                        s = json_dumps(list, JSON_INDENT(4));
                else if (podspec_json_to_yaml(list, &s) < 0)
                        s = NULL;
                fputs(strempty(s), stdout);
                if (streq(o->output, "json"))
                        fputc('\n', stdout);
                json_decref(list);
                json_decref(all);
                return 0;
        }
        bool wide = o->output && streq(o->output, "wide");
        printf("%-16s %-40s %-6s %-26s %-9s %-6s %-16s%s\n", "NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE",
               "IP", wide ? " NODE             QOS" : "");
        size_t i;
        json_t *p;
        json_array_foreach(all, i, p) {
                size_t ready = 0, total = 0, k;
                long restarts = 0;
                json_t *c;
                json_array_foreach(json_object_get(json_object_get(p, "status"), "containerStatuses"), k, c) {
                        total++;
                        ready += json_is_true(json_object_get(c, "ready"));
                        restarts += (long) json_integer_value(json_object_get(c, "restartCount"));
                }
                const char *ip = jpath_str(p, "status", "podIP", NULL);
                _cleanup_free_ char *status = pod_status_text(p), *a = age(jpath_str(p, "status", "startTime", NULL)),
                                    *rd = nl_strdupf("%zu/%zu", ready, total);
                printf("%-16s %-40s %-6s %-26s %-9ld %-6s %-16s", strempty(jpath_str(p, "metadata", "namespace", NULL)),
                       strempty(jpath_str(p, "metadata", "name", NULL)), strempty(rd), strempty(status), restarts,
                       strempty(a), ip ? ip : "<none>");
                if (wide)
                        printf(" %-16s %s", strempty(jpath_str(p, "spec", "nodeName", NULL)),
                               strempty(jpath_str(p, "status", "qosClass", NULL)));
                fputc('\n', stdout);
        }
        json_decref(all);
        return 0;
}

static int pod_get(const struct cli_opts *o, const char *name) {
        json_t *all = load_pods(o);
        json_t *p = find_pod(o, all, name);
        int ret = 0;
        if (!p) {
                fprintf(stderr, "nodelet: pod \"%s\" not found in namespace \"%s\"\n", name,
                        o->namespace ? o->namespace : "default");
                ret = 1;
        } else if (o->output && streq(o->output, "yaml")) {
                _cleanup_free_ char *y = NULL;
                if (podspec_json_to_yaml(p, &y) == 0)
                        fputs(y, stdout);
        } else {
                _cleanup_free_ char *s = json_dumps(p, JSON_INDENT(4));
                puts(strempty(s));
        }
        json_decref(all);
        return ret;
}

/* The pod's container status named c (or its only container). */
static json_t *container_of(json_t *pod, const char *name, bool *ret_init) {
        const char *lists[] = { "containerStatuses", "initContainerStatuses" };
        json_t *only = NULL;
        size_t count = 0;
        for (size_t l = 0; l < 2; l++) {
                size_t i;
                json_t *c;
                json_array_foreach(json_object_get(json_object_get(pod, "status"), lists[l]), i, c) {
                        if (name && streq_ptr(json_string_value(json_object_get(c, "name")), name)) {
                                *ret_init = l == 1;
                                return c;
                        }
                        if (l == 0) {
                                only = c;
                                count++;
                        }
                }
        }
        *ret_init = false;
        return !name && count == 1 ? only : NULL;
}

static int write_stdout(void *userdata, const char *buf, size_t len) {
        if (!buf)
                return fflush(stdout) == 0 ? 0 : -EPIPE;
        return fwrite(buf, 1, len, stdout) == len ? 0 : -EPIPE;
}

/* The node server's reader (agent/node-server.c): the same lines `kubectl logs` gets. */
static int pod_logs(const struct cli_opts *o, const char *name, const char *container) {
        struct node_log_target t = {};
        nl_error err = NL_ERROR_INIT;
        int r = node_logs_find(o->root_dir, o->log_dir, o->namespace ? o->namespace : "default", name, container,
                               o->previous, &t, &err);
        if (r < 0) {
                fprintf(stderr, "nodelet logs: %s\n", strempty(err.msg));
                nl_error_clear(&err);
                return 1;
        }
        struct node_log_options lo = { .follow = o->follow, .timestamps = o->timestamps, .tail_lines = o->tail };
        r = node_logs_copy(&t, &lo, write_stdout, NULL, -1);
        if (r < 0 && r != -EPIPE)
                fprintf(stderr, "nodelet logs: %s: %s\n", t.path, strerror(-r));
        node_log_target_done(&t);
        return r < 0 && r != -EPIPE ? 1 : 0;
}

/* The running container exec and attach reach: its runtime's name and its ID, or -1 with
 * the reason printed for command cmd. */
static int running_container(const struct cli_opts *o, const char *name, const char *cmd, char **ret_runtime,
                             char **ret_id) {
        json_t *all = load_pods(o);
        json_t *p = find_pod(o, all, name);
        bool init = false;
        json_t *c = p ? container_of(p, o->container, &init) : NULL;
        const char *cid = c ? json_string_value(json_object_get(c, "containerID")) : NULL;
        const char *sep = cid ? strstr(cid, "://") : NULL;
        if (!sep || !json_object_get(json_object_get(c, "state"), "running")) {
                fprintf(stderr, "nodelet %s: %s\n", cmd, !p ? "pod not found" : !c ? "container not found" : "container is not running");
                json_decref(all);
                return -1;
        }
        *ret_runtime = strndup(cid, (size_t) (sep - cid));
        *ret_id = strdup(sep + 3);
        json_decref(all);
        return *ret_runtime && *ret_id ? 0 : -1;
}

static int pod_exec(const struct cli_opts *o, const char *name, char **argv) {
        _cleanup_free_ char *runtime = NULL, *id = NULL;
        if (running_container(o, name, "exec", &runtime, &id) < 0)
                return 1;
        _cleanup_free_ char *root = layout_runtime_root(o->run_dir, runtime);
        size_t n = 0;
        while (argv[n])
                n++;
        char **args = calloc(n + 8, sizeof(char *));
        size_t k = 0;
        args[k++] = o->runtime ? (char *) o->runtime : runtime;
        args[k++] = "--root";
        args[k++] = root;
        args[k++] = "exec";
        if (o->tty)
                args[k++] = "--tty";
        args[k++] = id;
        for (size_t i = 0; i < n; i++)
                args[k++] = argv[i];
        execvp(args[0], args);
        fprintf(stderr, "nodelet exec: %s: %s\n", args[0], strerror(errno));
        free(args);
        return 1;
}

/* nodelet attach: the container's live output, and with -i our stdin to its stdin, through
 * the shim's attach socket (the code kubectl attach reaches through the node server). */
static int pod_attach(const struct cli_opts *o, const char *name) {
        _cleanup_free_ char *runtime = NULL, *id = NULL;
        if (running_container(o, name, "attach", &runtime, &id) < 0)
                return 1;
        struct cri_config cfg = { .root_dir = o->root_dir, .run_dir = o->run_dir };
        struct winsize ws = {};
        struct termios saved, raw;
        bool restore = false;
        /* with -t our terminal goes raw: keys reach the container's terminal as typed */
        if (o->tty && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0) {
                raw = saved;
                cfmakeraw(&raw);
                restore = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
        }
        /* the size of whichever end is our terminal */
        if (o->tty && ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0)
                (void) ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws);
        nl_error err = NL_ERROR_INIT;
        signal(SIGPIPE, SIG_IGN);
        int r = cri_attach_run(&cfg, id, o->stdin_ ? STDIN_FILENO : -1, STDOUT_FILENO, STDERR_FILENO, ws.ws_col,
                               ws.ws_row, &err);
        if (restore)
                (void) tcsetattr(STDIN_FILENO, TCSANOW, &saved);
        if (r < 0) {
                fprintf(stderr, "nodelet attach: %s\n", strempty(err.msg));
                nl_error_clear(&err);
                return 1;
        }
        return 0;
}

/* ---- nodelet port-forward: kubectl port-forward's job in static mode -------------------- */

/* Copy both ways between two sockets until both directions ended. */
static void relay(int a, int b) {
        char buf[32 * 1024];
        bool open_in[2] = { true, true }; /* a->b, b->a */
        int fds[2] = { a, b };
        while (open_in[0] || open_in[1]) {
                struct pollfd p[2] = { { .fd = open_in[0] ? a : -1, .events = POLLIN },
                                       { .fd = open_in[1] ? b : -1, .events = POLLIN } };
                if (poll(p, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return;
                }
                for (int i = 0; i < 2; i++) {
                        if (!open_in[i] || !p[i].revents)
                                continue;
                        ssize_t k = read(fds[i], buf, sizeof(buf));
                        if (k < 0 && errno == EINTR)
                                continue;
                        if (k <= 0 || nl_write_all(fds[1 - i], buf, (size_t) k) < 0) {
                                open_in[i] = false;
                                (void) shutdown(fds[1 - i], SHUT_WR);
                        }
                }
        }
}

struct forward {
        uint16_t local, remote;
        int listener;
};

static int parse_forward(const char *arg, struct forward *f) {
        int64_t l, r;
        const char *colon = strchr(arg, ':');
        _cleanup_free_ char *left = colon ? strndup(arg, (size_t) (colon - arg)) : strdup(arg);
        if (!left || nl_parse_int64(left, 1, 65535, &l) < 0 || nl_parse_int64(colon ? colon + 1 : arg, 1, 65535, &r) < 0)
                return -EINVAL;
        *f = (struct forward){ .local = (uint16_t) l, .remote = (uint16_t) r, .listener = -1 };
        return 0;
}

static int pod_port_forward(const struct cli_opts *o, const char *name, char **specs, size_t n) {
        struct forward *fw = calloc(n, sizeof(*fw));
        if (!fw)
                return 1;
        for (size_t i = 0; i < n; i++)
                if (parse_forward(specs[i], &fw[i]) < 0) {
                        fprintf(stderr, "nodelet port-forward: \"%s\": want LOCAL:REMOTE or PORT (1-65535)\n", specs[i]);
                        free(fw);
                        return 2;
                }
        json_t *all = load_pods(o);
        json_t *p = find_pod(o, all, name);
        const char *uid = json_string_value(json_object_get(json_object_get(p, "metadata"), "uid"));
        _cleanup_free_ char *id_path = uid ? layout_pod_file(o->root_dir, uid, LAYOUT_SANDBOX_ID) : NULL, *sb_id = NULL;
        struct cri_config cfg = { .root_dir = o->root_dir, .run_dir = o->run_dir };
        struct sandbox *sb = NULL;
        nl_error err = NL_ERROR_INIT;
        int netns = -1, rc = 1;
        if (!p) {
                fprintf(stderr, "nodelet port-forward: pod not found\n");
                goto out;
        }
        if (!id_path || nl_read_file(id_path, 128, true, &sb_id, NULL) < 0 ||
            (sb_id[strcspn(sb_id, "\n")] = '\0', cri_sandbox_load(&cfg, sb_id, &sb, &err) < 0)) {
                fprintf(stderr, "nodelet port-forward: pod %s has no sandbox%s%s\n", name, err.msg ? ": " : "", strempty(err.msg));
                goto out;
        }
        if (sb->netns_path && (netns = open(sb->netns_path, O_RDONLY | O_CLOEXEC)) < 0) {
                fprintf(stderr, "nodelet port-forward: open the pod's network namespace: %m\n");
                goto out;
        }
        /* the listeners in the node's network namespace, then ours becomes the pod's: every
         * connection we make from here on is made inside the pod, as the kubelet's are */
        for (size_t i = 0; i < n; i++) {
                struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(fw[i].local),
                                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
                int one = 1;
                fw[i].listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (fw[i].listener < 0 || setsockopt(fw[i].listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
                    bind(fw[i].listener, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(fw[i].listener, 64) < 0) {
                        fprintf(stderr, "nodelet port-forward: listen on 127.0.0.1:%u: %m\n", fw[i].local);
                        goto out;
                }
                printf("Forwarding from 127.0.0.1:%u -> %u\n", fw[i].local, fw[i].remote);
        }
        fflush(stdout);
        if (netns >= 0 && setns(netns, CLONE_NEWNET) < 0) {
                fprintf(stderr, "nodelet port-forward: enter the pod's network namespace: %m\n");
                goto out;
        }
        /* connections are children, never waited for */
        struct sigaction sa_chld = { .sa_handler = SIG_IGN, .sa_flags = SA_NOCLDWAIT };
        (void) sigaction(SIGCHLD, &sa_chld, NULL);
        signal(SIGPIPE, SIG_IGN);
        for (;;) {
                struct pollfd pf[64];
                size_t np = n < 64 ? n : 64;
                for (size_t i = 0; i < np; i++)
                        pf[i] = (struct pollfd){ .fd = fw[i].listener, .events = POLLIN };
                if (poll(pf, np, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                for (size_t i = 0; i < np; i++) {
                        if (!pf[i].revents)
                                continue;
                        int c = accept4(fw[i].listener, NULL, NULL, SOCK_CLOEXEC);
                        if (c < 0)
                                continue;
                        printf("Handling connection for %u\n", fw[i].local);
                        fflush(stdout);
                        pid_t pid = fork();
                        if (pid == 0) {
                                struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(fw[i].remote),
                                                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
                                int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
                                if (s < 0 || connect(s, (struct sockaddr *) &to, sizeof(to)) < 0) {
                                        /* kubectl's words for the same failure */
                                        fprintf(stderr, "error forwarding port %u to pod %s: failed to connect to localhost:%u inside the pod's network namespace: %m\n",
                                                fw[i].remote, name, fw[i].remote);
                                        _exit(1);
                                }
                                relay(c, s);
                                _exit(0);
                        }
                        close(c);
                }
        }
        rc = 0;
out:
        for (size_t i = 0; i < n; i++)
                if (fw[i].listener >= 0)
                        close(fw[i].listener);
        free(fw);
        if (netns >= 0)
                close(netns);
        sandbox_free(sb);
        nl_error_clear(&err);
        json_decref(all);
        return rc;
}

static void print_kv_map(const char *title, json_t *map) {
        printf("%-18s", title);
        if (!json_object_size(map)) {
                printf("<none>\n");
                return;
        }
        const char *k;
        json_t *v;
        bool first = true;
        json_object_foreach(map, k, v) {
                printf("%s%s=%s\n", first ? "" : "                  ", k, strempty(json_string_value(v)));
                first = false;
        }
}

static void print_container(json_t *spec, json_t *status) {
        printf("  %s:\n", strempty(json_string_value(json_object_get(spec, "name"))));
        printf("    Container ID:  %s\n", strempty(json_string_value(json_object_get(status, "containerID"))));
        printf("    Image:         %s\n", strempty(json_string_value(json_object_get(spec, "image"))));
        printf("    Image ID:      %s\n", strempty(json_string_value(json_object_get(status, "imageID"))));
        json_t *state = json_object_get(status, "state"), *last = json_object_get(status, "lastState");
        const char *names[] = { "State:       ", "Last State:  " };
        json_t *states[] = { state, last };
        for (size_t i = 0; i < 2; i++) {
                json_t *run = json_object_get(states[i], "running"), *wait = json_object_get(states[i], "waiting"),
                       *term = json_object_get(states[i], "terminated");
                if (run)
                        printf("    %s  Running\n      Started:     %s\n", names[i],
                               strempty(json_string_value(json_object_get(run, "startedAt"))));
                else if (wait) {
                        printf("    %s  Waiting\n      Reason:      %s\n", names[i],
                               strempty(json_string_value(json_object_get(wait, "reason"))));
                        if (json_object_get(wait, "message"))
                                printf("      Message:     %s\n", json_string_value(json_object_get(wait, "message")));
                } else if (term) {
                        printf("    %s  Terminated\n      Reason:      %s\n      Exit Code:   %lld\n", names[i],
                               strempty(json_string_value(json_object_get(term, "reason"))),
                               (long long) json_integer_value(json_object_get(term, "exitCode")));
                        if (json_object_get(term, "message"))
                                printf("      Message:     %s\n", json_string_value(json_object_get(term, "message")));
                        printf("      Started:     %s\n      Finished:    %s\n",
                               strempty(json_string_value(json_object_get(term, "startedAt"))),
                               strempty(json_string_value(json_object_get(term, "finishedAt"))));
                } else if (i == 0)
                        printf("    %s  Unknown\n", names[i]);
        }
        printf("    Ready:         %s\n", json_is_true(json_object_get(status, "ready")) ? "True" : "False");
        printf("    Restart Count: %lld\n", (long long) json_integer_value(json_object_get(status, "restartCount")));
}

/* Like `kubectl describe pod`: the spec in short, the status, the events. */
static int pod_describe(const struct cli_opts *o, const char *name) {
        json_t *all = load_pods(o);
        json_t *p = find_pod(o, all, name);
        if (!p) {
                fprintf(stderr, "nodelet describe: pod \"%s\" not found in namespace \"%s\"\n", name,
                        o->namespace ? o->namespace : "default");
                json_decref(all);
                return 1;
        }
        json_t *meta = json_object_get(p, "metadata"), *spec = json_object_get(p, "spec"), *st = json_object_get(p, "status");
        printf("%-18s%s\n", "Name:", strempty(jpath_str(p, "metadata", "name", NULL)));
        printf("%-18s%s\n", "Namespace:", strempty(jpath_str(p, "metadata", "namespace", NULL)));
        printf("%-18s%s\n", "Node:", strempty(jpath_str(p, "spec", "nodeName", NULL)));
        const char *start = jpath_str(p, "status", "startTime", NULL), *ip = jpath_str(p, "status", "podIP", NULL);
        printf("%-18s%s\n", "Start Time:", start ? start : "<unset>");
        print_kv_map("Labels:", json_object_get(meta, "labels"));
        print_kv_map("Annotations:", json_object_get(meta, "annotations"));
        printf("%-18s%s\n", "Status:", strempty(jpath_str(p, "status", "phase", NULL)));
        if (jpath_str(p, "status", "reason", NULL))
                printf("%-18s%s\n%-18s%s\n", "Reason:", jpath_str(p, "status", "reason", NULL), "Message:",
                       strempty(jpath_str(p, "status", "message", NULL)));
        printf("%-18s%s\n", "IP:", ip ? ip : "");
        printf("%-18s%s\n", "QoS Class:", strempty(jpath_str(p, "status", "qosClass", NULL)));
        const char *lists[][2] = { { "initContainers", "initContainerStatuses" }, { "containers", "containerStatuses" } };
        for (size_t l = 0; l < 2; l++) {
                json_t *cs = json_object_get(spec, lists[l][0]);
                if (!json_array_size(cs))
                        continue;
                printf("%s:\n", l == 0 ? "Init Containers" : "Containers");
                size_t i;
                json_t *c;
                json_array_foreach(cs, i, c)
                        print_container(c, node_json_named(json_object_get(st, lists[l][1]),
                                                        json_string_value(json_object_get(c, "name"))));
        }
        printf("Conditions:\n  %-28s %s\n", "Type", "Status");
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(st, "conditions"), i, c)
                printf("  %-28s %s\n", strempty(json_string_value(json_object_get(c, "type"))),
                       strempty(json_string_value(json_object_get(c, "status"))));
        printf("Events:\n");
        json_t *events = node_pod_events(o->root_dir, strempty(jpath_str(p, "metadata", "uid", NULL)));
        if (!json_array_size(events))
                printf("  <none>\n");
        else
                printf("  %-8s %-24s %-10s %-8s %s\n", "Type", "Reason", "Age", "From", "Message");
        json_array_foreach(events, i, c) {
                _cleanup_free_ char *a = age(json_string_value(json_object_get(c, "lastTimestamp")));
                long long n = (long long) json_integer_value(json_object_get(c, "count"));
                _cleanup_free_ char *agecol = n > 1 ? nl_strdupf("%s (x%lld)", strempty(a), n) : strdup(strempty(a));
                printf("  %-8s %-24s %-10s %-8s %s\n", strempty(json_string_value(json_object_get(c, "type"))),
                       strempty(json_string_value(json_object_get(c, "reason"))), strempty(agecol), "kubelet",
                       strempty(json_string_value(json_object_get(c, "message"))));
        }
        json_decref(events);
        json_decref(all);
        return 0;
}

static void cli_usage(FILE *f) {
        fprintf(f, "Usage:\n"
                   "  nodelet pods [-o json|yaml|wide]          the node's pods (like kubectl get pods)\n"
                   "  nodelet get pod NAME [-o json|yaml]       one pod with its status\n"
                   "  nodelet workloads [-o json|yaml]          static mode's Deployments, Jobs, ... and status\n"
                   "  nodelet get deployment|replicaset|daemonset|statefulset|job|cronjob [NAME] [-o json|yaml]\n"
                   "  nodelet describe POD                      a pod's containers, conditions and events\n"
                   "  nodelet logs POD [CONTAINER] [-p] [-f] [--timestamps] [--tail N]\n"
                   "  nodelet exec POD [-c CONTAINER] [-t] -- COMMAND [ARG...]\n"
                   "  nodelet attach POD [-c CONTAINER] [-i] [-t] its live output (and -i: stdin)\n"
                   "  nodelet port-forward POD LOCAL:REMOTE|PORT...  127.0.0.1:LOCAL to the pod's REMOTE\n"
                   "\n"
                   "Options:\n"
                   "  -n, --namespace NS      the pod's namespace (default \"default\")\n"
                   "  -c, --container NAME    the container (default: the pod's only one)\n"
                   "  -p, --previous          logs of the previous instance of the container\n"
                   "  -f, --follow            keep printing while the container runs\n"
                   "  --timestamps            prefix each log line with its time\n"
                   "  --tail N                only the last N lines\n"
                   "  -t, --tty               exec with a terminal; attach: our terminal goes raw\n"
                   "  -i, --stdin             attach: send our stdin to the container's\n"
                   "  --run-dir DIR           the daemon's run dir (default /run/nodelet): the other dirs\n"
                   "                          are read from the daemon's DIR/nodelet.json\n"
                   "  --root-dir DIR          /var/lib/nodelet, or the daemon's\n"
                   "  --pod-log-dir DIR       /var/log/pods, or the daemon's\n");
}

/* Shared by the four commands: options anywhere, the rest positional. Returns the number of
 * positional arguments left in *rest, or -1 (usage printed), or -2 after --help. */
static int parse_cli(int argc, char **argv, struct cli_opts *o, char ***rest) {
        static const struct option options[] = {
                { "namespace", required_argument, NULL, 'n' }, { "output", required_argument, NULL, 'o' },
                { "container", required_argument, NULL, 'c' }, { "previous", no_argument, NULL, 'p' },
                { "follow", no_argument, NULL, 'f' },          { "timestamps", no_argument, NULL, 'T' },
                { "tail", required_argument, NULL, 'L' },      { "tty", no_argument, NULL, 't' },
                { "stdin", no_argument, NULL, 'i' },           { "root-dir", required_argument, NULL, 'R' },
                { "run-dir", required_argument, NULL, 'U' },   { "pod-log-dir", required_argument, NULL, 'D' },
                { "help", no_argument, NULL, 'h' },            {},
        };
        *o = (struct cli_opts){ .run_dir = "/run/nodelet", .tail = -1 };
        int c;
        int64_t v;
        optind = 1;
        while ((c = getopt_long(argc, argv, "n:o:c:pftih", options, NULL)) >= 0) {
                switch (c) {
                case 'n': o->namespace = optarg; break;
                case 'o': o->output = optarg; break;
                case 'c': o->container = optarg; break;
                case 'p': o->previous = true; break;
                case 'f': o->follow = true; break;
                case 'T': o->timestamps = true; break;
                case 'L':
                        if (nl_parse_int64(optarg, -1, INT32_MAX, &v) < 0) {
                                fprintf(stderr, "nodelet: --tail takes a number\n");
                                return -1;
                        }
                        o->tail = (long) v;
                        break;
                case 't': o->tty = true; break;
                case 'i': o->stdin_ = true; break;
                case 'R': o->root_dir = optarg; break;
                case 'U': o->run_dir = optarg; break;
                case 'D': o->log_dir = optarg; break;
                case 'h': cli_usage(stdout); return -2;
                default: cli_usage(stderr); return -1;
                }
        }
        /* what the flags leave open, the daemon that used this run dir says */
        o->daemon = daemon_info_read(o->run_dir);
        if (!o->root_dir)
                o->root_dir = json_string_value(json_object_get(o->daemon, "rootDir")) ?: "/var/lib/nodelet";
        if (!o->log_dir)
                o->log_dir = json_string_value(json_object_get(o->daemon, "podLogDir")) ?: "/var/log/pods";
        *rest = argv + optind;
        return argc - optind;
}


static int run_pods(struct cli_opts *o, int n, char **rest) {
        return pods_list(o);
}

/* ---- workloads (static mode): what the daemon writes to <root>/workloads.json ---------------- */

static const char *workload_kind(const char *arg) {
        /* kubectl's names: singular, plural, short */
        static const char *const kinds[][4] = {
                {"deployment", "deployments", "deploy", "Deployment"}, {"replicaset", "replicasets", "rs", "ReplicaSet"},
                {"daemonset", "daemonsets", "ds", "DaemonSet"},       {"statefulset", "statefulsets", "sts", "StatefulSet"},
                {"job", "jobs", "job", "Job"},                        {"cronjob", "cronjobs", "cj", "CronJob"},
        };
        for (size_t i = 0; i < ELEMENTSOF(kinds); i++)
                if (streq(arg, kinds[i][0]) || streq(arg, kinds[i][1]) || streq(arg, kinds[i][2]))
                        return kinds[i][3];
        return NULL;
}

static json_t *load_workloads(const struct cli_opts *o) {
        _cleanup_free_ char *path = nl_strdupf("%s/workloads.json", o->root_dir), *buf = NULL;
        size_t len = 0;
        json_t *j = path && nl_read_file(path, 64 * 1024 * 1024, true, &buf, &len) == 0 ? json_loadb(buf, len, 0, NULL)
                                                                                         : NULL;
        return json_is_array(j) ? j : (json_decref(j), json_array());
}

/* READY (or COMPLETIONS, or ACTIVE) as kubectl's columns show them */
static char *workload_ready(json_t *w) {
        json_t *st = json_object_get(w, "status");
        const char *kind = json_string_value(json_object_get(w, "kind"));
        if (streq_ptr(kind, "Job"))
                return nl_strdupf("%lld/%lld", (long long) json_integer_value(json_object_get(st, "succeeded")),
                                  (long long) json_integer_value(json_object_get(st, "completions")));
        if (streq_ptr(kind, "CronJob"))
                return nl_strdupf("%zu active", json_array_size(json_object_get(st, "active")));
        return nl_strdupf("%lld/%lld", (long long) json_integer_value(json_object_get(st, "readyReplicas")),
                          (long long) json_integer_value(json_object_get(st, "desired")));
}

static int workloads_list(const struct cli_opts *o, const char *kind, const char *name) {
        json_t *all = load_workloads(o), *sel = json_array();
        const char *ns = o->namespace ? o->namespace : "default";
        size_t i;
        json_t *w;
        json_array_foreach(all, i, w) {
                if ((kind && !streq_ptr(json_string_value(json_object_get(w, "kind")), kind)) ||
                    (name && !streq_ptr(json_string_value(json_object_get(w, "name")), name)) ||
                    !streq_ptr(json_string_value(json_object_get(w, "namespace")), ns))
                        continue;
                json_array_append(sel, w);
        }
        json_decref(all);
        int r = 0;
        if (name && json_array_size(sel) == 0) {
                fprintf(stderr, "nodelet: %s \"%s\" not found in namespace \"%s\" (%s/workloads.json)\n", kind, name, ns,
                        o->root_dir);
                r = 1;
        } else if (o->output && (streq(o->output, "json") || streq(o->output, "yaml"))) {
                json_t *doc = name ? json_incref(json_array_get(sel, 0)) : json_incref(sel);
                _cleanup_free_ char *s = NULL;
                if (streq(o->output, "json"))
                        s = json_dumps(doc, JSON_INDENT(4));
                else if (podspec_json_to_yaml(doc, &s) < 0)
                        s = NULL;
                printf("%s%s", strempty(s), streq(o->output, "json") ? "\n" : "");
                json_decref(doc);
        } else {
                printf("%-12s %-32s %-10s %-8s %s\n", "KIND", "NAME", "READY", "UP-TO-DATE", "STATUS");
                json_array_foreach(sel, i, w) {
                        json_t *st = json_object_get(w, "status");
                        _cleanup_free_ char *ready = workload_ready(w);
                        const char *cond = json_string_value(json_object_get(st, "condition"));
                        printf("%-12s %-32s %-10s %-10lld %s\n", strempty(json_string_value(json_object_get(w, "kind"))),
                               strempty(json_string_value(json_object_get(w, "name"))), strempty(ready),
                               (long long) json_integer_value(json_object_get(st, "updatedReplicas")),
                               isempty(cond) ? "" : cond);
                }
        }
        json_decref(sel);
        return r;
}

static int run_workloads(struct cli_opts *o, int n, char **rest) {
        if (n != 0) {
                cli_usage(stderr);
                return 2;
        }
        return workloads_list(o, NULL, NULL);
}

static int run_get(struct cli_opts *o, int n, char **rest) {
        if (n == 1 && (streq(rest[0], "pods") || streq(rest[0], "pod")))
                return pods_list(o);
        const char *kind = n >= 1 ? workload_kind(rest[0]) : NULL;
        if (kind && n <= 2)
                return workloads_list(o, kind, n == 2 ? rest[1] : NULL);
        if (n != 2 || (!streq(rest[0], "pod") && !streq(rest[0], "pods"))) {
                cli_usage(stderr);
                return 2;
        }
        return pod_get(o, rest[1]);
}

static int run_logs(struct cli_opts *o, int n, char **rest) {
        if (n < 1 || n > 2) {
                cli_usage(stderr);
                return 2;
        }
        return pod_logs(o, rest[0], n == 2 ? rest[1] : o->container);
}

static int run_exec(struct cli_opts *o, int n, char **rest) {
        if (n < 2) {
                cli_usage(stderr);
                return 2;
        }
        return pod_exec(o, rest[0], rest + 1);
}

static int run_attach(struct cli_opts *o, int n, char **rest) {
        if (n != 1) {
                cli_usage(stderr);
                return 2;
        }
        return pod_attach(o, rest[0]);
}

static int run_port_forward(struct cli_opts *o, int n, char **rest) {
        if (n < 2) {
                cli_usage(stderr);
                return 2;
        }
        return pod_port_forward(o, rest[0], rest + 1, (size_t) n - 1);
}

static int run_describe(struct cli_opts *o, int n, char **rest) {
        if (n == 2 && (streq(rest[0], "pod") || streq(rest[0], "pods")))
                return pod_describe(o, rest[1]);
        if (n != 1) {
                cli_usage(stderr);
                return 2;
        }
        return pod_describe(o, rest[0]);
}

static int cli_main(int argc, char **argv, int (*run)(struct cli_opts *o, int n, char **rest)) {
        struct cli_opts o;
        char **rest;
        int n = parse_cli(argc, argv, &o, &rest);
        if (n < 0)
                return n == -2 ? 0 : 2;
        int r = run(&o, n, rest);
        json_decref(o.daemon);
        return r;
}

int cmd_pods(int argc, char **argv) {
        return cli_main(argc, argv, run_pods);
}

int cmd_workloads(int argc, char **argv) {
        return cli_main(argc, argv, run_workloads);
}

int cmd_get(int argc, char **argv) {
        return cli_main(argc, argv, run_get);
}

int cmd_logs(int argc, char **argv) {
        return cli_main(argc, argv, run_logs);
}

int cmd_exec(int argc, char **argv) {
        return cli_main(argc, argv, run_exec);
}

int cmd_describe(int argc, char **argv) {
        return cli_main(argc, argv, run_describe);
}

int cmd_attach(int argc, char **argv) {
        return cli_main(argc, argv, run_attach);
}

int cmd_port_forward(int argc, char **argv) {
        return cli_main(argc, argv, run_port_forward);
}
