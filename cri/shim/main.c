/* SPDX-License-Identifier: Apache-2.0 */
/* nodelet-shim: the per-container monitor (see "the shim" in cri/cri.h).
 *
 *   nodelet-shim --id ID --bundle DIR --state DIR --runtime PATH --runtime-root DIR
 *                --log PATH [--log-max-size BYTES] [--log-max-files N] [--cgroup PATH] [--tty]
 *                [--stdin [--stdin-once]]
 *
 * The foreground part forks the monitor, waits for its one line ("created <pid>" or
 * "error <message>"), prints it and exits, so the caller is never the monitor's parent. The
 * monitor starts a session of its own, becomes a child subreaper (the container's init is
 * reparented to it when the runtime's create exits), and keeps only /dev/null as stdio: it
 * must outlive the daemon and hold none of its descriptors. */
#include <dirent.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include "shim.h"

#define DEFAULT_LOG_MAX_SIZE (10 * 1024 * 1024) /* the kubelet's containerLogMaxSize */
#define DEFAULT_LOG_MAX_FILES 5                 /* containerLogMaxFiles */

/* Whatever the caller left open without O_CLOEXEC is not ours to hold. */
static void close_inherited_fds(void) {
        if (close_range(3, ~0U, 0) == 0)
                return;
        DIR *d = opendir("/proc/self/fd");
        if (!d)
                return;
        int self = dirfd(d);
        struct dirent *de;
        while ((de = readdir(d))) {
                int64_t fd;
                if (nl_parse_int64(de->d_name, 3, INT32_MAX, &fd) == 0 && fd != self)
                        close((int) fd);
        }
        closedir(d);
}

/* Signal state survives exec: a daemon's blocked mask (signalfd) or ignored SIGPIPE would
 * otherwise reach us and, through us, the container. */
static void reset_signals(void) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        for (int sig = 1; sig < _NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        (void) signal(sig, SIG_DFL);
}

static int usage_error(const char *fmt, ...) _printf_(1, 2);
static int usage_error(const char *fmt, ...) {
        va_list ap;
        printf("error nodelet-shim: ");
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        printf("\n");
        return 1;
}

/* Paths are kept absolute: the monitor moves to "/". */
static char *absolute(const char *p) {
        if (p[0] == '/')
                return strdup(p);
        _cleanup_free_ char *cwd = getcwd(NULL, 0);
        return cwd ? nl_strdupf("%s/%s", cwd, p) : NULL;
}

enum {
        ARG_ID = 256,
        ARG_BUNDLE,
        ARG_STATE,
        ARG_RUNTIME,
        ARG_RUNTIME_ROOT,
        ARG_LOG,
        ARG_LOG_MAX_SIZE,
        ARG_LOG_MAX_FILES,
        ARG_CGROUP,
        ARG_TTY,
        ARG_STDIN,
        ARG_STDIN_ONCE,
};

static int parse_args(int argc, char **argv, struct shim_args *a) {
        static const struct option options[] = {
                {"id", required_argument, NULL, ARG_ID},
                {"bundle", required_argument, NULL, ARG_BUNDLE},
                {"state", required_argument, NULL, ARG_STATE},
                {"runtime", required_argument, NULL, ARG_RUNTIME},
                {"runtime-root", required_argument, NULL, ARG_RUNTIME_ROOT},
                {"log", required_argument, NULL, ARG_LOG},
                {"log-max-size", required_argument, NULL, ARG_LOG_MAX_SIZE},
                {"log-max-files", required_argument, NULL, ARG_LOG_MAX_FILES},
                {"cgroup", required_argument, NULL, ARG_CGROUP},
                {"tty", no_argument, NULL, ARG_TTY},
                {"stdin", no_argument, NULL, ARG_STDIN},
                {"stdin-once", no_argument, NULL, ARG_STDIN_ONCE},
                {},
        };
        int64_t v;
        int c;

        *a = (struct shim_args){.log_max_size = DEFAULT_LOG_MAX_SIZE,
                                .log_max_files = DEFAULT_LOG_MAX_FILES};
        opterr = 0;
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
                switch (c) {
                case ARG_ID:
                        a->id = optarg;
                        break;
                case ARG_BUNDLE:
                        a->bundle = optarg;
                        break;
                case ARG_STATE:
                        a->state_dir = optarg;
                        break;
                case ARG_RUNTIME:
                        a->runtime = optarg;
                        break;
                case ARG_RUNTIME_ROOT:
                        a->runtime_root = optarg;
                        break;
                case ARG_LOG:
                        a->log_path = optarg;
                        break;
                case ARG_LOG_MAX_SIZE:
                        if (nl_parse_int64(optarg, 0, INT64_MAX, &v) < 0)
                                return usage_error("bad --log-max-size \"%s\"", optarg);
                        a->log_max_size = v;
                        break;
                case ARG_LOG_MAX_FILES:
                        if (nl_parse_int64(optarg, 1, 1000, &v) < 0)
                                return usage_error("bad --log-max-files \"%s\" (1..1000)", optarg);
                        a->log_max_files = (int) v;
                        break;
                case ARG_CGROUP:
                        a->cgroup = optarg;
                        break;
                case ARG_TTY:
                        a->tty = true;
                        break;
                case ARG_STDIN:
                        a->stdin_open = true;
                        break;
                case ARG_STDIN_ONCE:
                        a->stdin_once = true;
                        break;
                default:
                        return usage_error("unknown option \"%s\"", argv[optind - 1]);
                }
        }
        if (optind < argc)
                return usage_error("unexpected argument \"%s\"", argv[optind]);
        const struct {
                const char *value, *name;
        } required[] = {
                {a->id, "--id"},
                {a->bundle, "--bundle"},
                {a->state_dir, "--state"},
                {a->runtime, "--runtime"},
                {a->runtime_root, "--runtime-root"},
                {a->log_path, "--log"},
        };
        for (size_t i = 0; i < ELEMENTSOF(required); i++)
                if (isempty(required[i].value))
                        return usage_error("%s is required", required[i].name);
        if (strchr(a->id, '/') || a->id[0] == '-' || strlen(a->id) > 1024)
                return usage_error("bad --id \"%s\"", a->id);
        return 0;
}

static int make_absolute(struct shim_args *a) {
        const char **paths[] = {&a->bundle, &a->state_dir, &a->runtime_root, &a->log_path};
        for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
                char *p = absolute(*paths[i]);
                if (!p)
                        return -ENOMEM;
                *paths[i] = p; /* lives as long as the process */
        }
        if (strchr(a->runtime, '/') && !(a->runtime = absolute(a->runtime)))
                return -ENOMEM;
        return 0;
}

static void become_daemon(void) {
        (void) setsid();
        (void) prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        int null = open("/dev/null", O_RDWR | O_CLOEXEC | O_NOCTTY);
        if (null >= 0) {
                for (int fd = 0; fd < 3; fd++)
                        (void) dup2(null, fd);
                if (null > 2)
                        close(null);
        }
        nl_ignore(chdir("/"));
        (void) signal(SIGPIPE, SIG_IGN); /* a vanished reader is an error return, not death */
}

/* The foreground part: relay the monitor's one line. */
static int relay(int fd) {
        char line[SHIM_LINE_MAX + 1];
        size_t len = 0;
        while (len < SHIM_LINE_MAX) {
                ssize_t k = read(fd, line + len, SHIM_LINE_MAX - len);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        break;
                len += (size_t) k;
                if (memchr(line, '\n', len))
                        break;
        }
        line[len] = '\0';
        char *nl = strchr(line, '\n');
        if (!nl) {
                printf("error nodelet-shim: the monitor exited before reporting\n");
                return 1;
        }
        nl[1] = '\0';
        fputs(line, stdout);
        return strncmp(line, "created ", 8) == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
        static struct shim_args a;
        int report[2];

        close_inherited_fds();
        reset_signals();
        /* The daemon's systemd protocol variables are not the container's: crun would take
         * NOTIFY_SOCKET as the container's own and proxy it. */
        unsetenv("NOTIFY_SOCKET");
        unsetenv("WATCHDOG_PID");
        unsetenv("WATCHDOG_USEC");
        unsetenv("LISTEN_FDS");
        unsetenv("LISTEN_PID");
        if (parse_args(argc, argv, &a) != 0)
                return 1;
        if (make_absolute(&a) < 0 || pipe2(report, O_CLOEXEC) < 0)
                return usage_error("%s", strerror(errno ? errno : ENOMEM));
        fflush(stdout);

        pid_t pid = fork();
        if (pid < 0)
                return usage_error("fork: %s", strerror(errno));
        if (pid == 0) {
                close(report[0]);
                become_daemon();
                exit(shim_monitor(&a, report[1])); /* exit: sanitizers check leaks at exit */
        }
        close(report[1]);
        int r = relay(report[0]);
        close(report[0]);
        return r;
}
