/* SPDX-License-Identifier: Apache-2.0 */
/* bench/podwatch: times static pods from the manifest landing in the directory to every
 * container running as the daemon reports it, and back. Built and used by bench/start-latency.sh.
 *
 *   podwatch start ROOT MANIFEST_DIR STAGE_DIR
 *       takes the clock, renames every .yaml file of STAGE_DIR into MANIFEST_DIR (STAGE_DIR must be on
 *       the same file system: the rename is atomic, as a manifest should land), then waits until
 *       every pod's ROOT/pods/<uid>/pod.json says each of its spec's containers is running.
 *   podwatch stop ROOT MANIFEST_DIR
 *       takes the clock, unlinks every .yaml file of MANIFEST_DIR, then waits until ROOT/pods is empty
 *       (the daemon removes a pod's folder once its containers and sandbox are gone).
 *
 * The daemon's status file is read directly, not through `nodelet get pod`: each pod folder is
 * watched with inotify (pod.json is written by rename, so IN_MOVED_TO marks each new status), and
 * a new folder is read once as soon as its watch is in place (so no write can slip between the
 * two); the resolution is that of inotify, not a poll interval, and nothing is polled while the
 * daemon works (bench/ runs on small machines: the watcher must not compete for the CPU).
 * Teardown checks the folders' existence at each event on ROOT/pods and every 20 ms.
 *
 * Prints "t0 EPOCH" (wall clock at the start, to line up with traces), one line
 * "pod NAME SECONDS" per pod (from the clock start to that pod's containers all running, or to its
 * folder gone) and "total SECONDS" (all pods). Exits 1 on a timeout
 * (PODWATCH_TIMEOUT seconds, default 300) after printing what it has. Never judges the figures. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_PODS 4096

struct pod {
        char uid[256];
        char name[256];
        int wd;
        bool done;
        double t;
};

static struct pod pods[MAX_PODS];
static int n_pods;
static int ino;
static double t0;

static double now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec + ts.tv_nsec / 1e9;
}

static bool is_yaml(const char *n) {
        size_t l = strlen(n);
        return n[0] != '.' && l > 5 && strcmp(n + l - 5, ".yaml") == 0;
}

/* every container of the spec has a status with state.running */
static bool pod_running(const char *root, struct pod *p) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/pods/%s/pod.json", root, p->uid);
        json_t *j = json_load_file(path, 0, NULL);
        if (!j)
                return false;
        const char *name = json_string_value(json_object_get(json_object_get(j, "metadata"), "name"));
        if (name)
                snprintf(p->name, sizeof p->name, "%s", name);
        size_t want = json_array_size(json_object_get(json_object_get(j, "spec"), "containers"));
        json_t *cs = json_object_get(json_object_get(j, "status"), "containerStatuses");
        size_t running = 0, i;
        json_t *c;
        json_array_foreach(cs, i, c) {
                if (json_object_get(json_object_get(c, "state"), "running"))
                        running++;
        }
        json_decref(j);
        return want > 0 && running == want;
}

static struct pod *find_pod(const char *uid) {
        for (int i = 0; i < n_pods; i++)
                if (strcmp(pods[i].uid, uid) == 0)
                        return &pods[i];
        return NULL;
}

/* list ROOT/pods: new folders get a watch and a first look */
static void scan(const char *root, bool starting, bool check_all) {
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%s/pods", root);
        DIR *d = opendir(dir);
        if (!d)
                return;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                struct pod *p = find_pod(de->d_name);
                bool fresh = !p;
                if (!p) {
                        if (n_pods == MAX_PODS)
                                break;
                        p = &pods[n_pods++];
                        snprintf(p->uid, sizeof p->uid, "%s", de->d_name);
                        snprintf(p->name, sizeof p->name, "%s", de->d_name);
                        char sub[PATH_MAX];
                        snprintf(sub, sizeof sub, "%s/%s", dir, de->d_name);
                        p->wd = starting ? inotify_add_watch(ino, sub, IN_MOVED_TO | IN_CLOSE_WRITE) : -1;
                }
                if (starting && (fresh || check_all) && !p->done && pod_running(root, p)) {
                        p->done = true;
                        p->t = now() - t0;
                }
        }
        closedir(d);
}

static int count_done(void) {
        int n = 0;
        for (int i = 0; i < n_pods; i++)
                n += pods[i].done;
        return n;
}

static int usage(void) {
        fprintf(stderr, "usage: podwatch start ROOT MANIFEST_DIR STAGE_DIR | podwatch stop ROOT MANIFEST_DIR\n");
        return 2;
}

int main(int argc, char **argv) {
        if (argc < 4)
                return usage();
        bool starting = strcmp(argv[1], "start") == 0;
        if (!starting && strcmp(argv[1], "stop") != 0)
                return usage();
        if (starting && argc != 5)
                return usage();
        const char *root = argv[2], *mdir = argv[3], *stage = starting ? argv[4] : NULL;
        double timeout = getenv("PODWATCH_TIMEOUT") ? atof(getenv("PODWATCH_TIMEOUT")) : 300;

        char podsdir[PATH_MAX];
        snprintf(podsdir, sizeof podsdir, "%s/pods", root);
        (void) mkdir(root, 0700);
        (void) mkdir(podsdir, 0700);
        ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (ino < 0 || inotify_add_watch(ino, podsdir, IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM) < 0) {
                perror("podwatch: inotify");
                return 1;
        }

        /* the manifests to move */
        const char *from = starting ? stage : mdir;
        DIR *d = opendir(from);
        if (!d) {
                perror(from);
                return 1;
        }
        char **names = NULL;
        int n_names = 0;
        struct dirent *de;
        while ((de = readdir(d)))
                if (is_yaml(de->d_name)) {
                        names = realloc(names, (n_names + 1) * sizeof *names);
                        names[n_names++] = strdup(de->d_name);
                }
        closedir(d);

        int expect;
        if (starting) {
                scan(root, false, false); /* pods already there are not ours to time */
                for (int i = 0; i < n_pods; i++)
                        pods[i].done = true;
                expect = n_pods + n_names;
        } else {
                scan(root, false, false);
                expect = n_pods;
        }

        struct timespec rt;
        clock_gettime(CLOCK_REALTIME, &rt);
        t0 = now();
        for (int i = 0; i < n_names; i++) {
                char a[PATH_MAX], b[PATH_MAX];
                if (starting) {
                        snprintf(a, sizeof a, "%s/%s", stage, names[i]);
                        snprintf(b, sizeof b, "%s/%s", mdir, names[i]);
                        if (rename(a, b) < 0) {
                                perror(a);
                                return 1;
                        }
                } else {
                        snprintf(a, sizeof a, "%s/%s", mdir, names[i]);
                        if (unlink(a) < 0)
                                perror(a);
                }
        }

        int pre_done = starting ? n_pods : 0;
        char buf[64 * 1024];
        for (;;) {
                double t = now() - t0;
                if (starting) {
                        if (n_pods >= expect && count_done() >= expect)
                                break;
                } else {
                        /* gone: every folder seen at the start has disappeared */
                        int left = 0;
                        for (int i = 0; i < n_pods; i++) {
                                if (pods[i].done)
                                        continue;
                                char sub[PATH_MAX];
                                snprintf(sub, sizeof sub, "%s/%s", podsdir, pods[i].uid);
                                if (access(sub, F_OK) < 0 && errno == ENOENT) {
                                        pods[i].done = true;
                                        pods[i].t = t;
                                } else
                                        left++;
                        }
                        if (!left)
                                break;
                }
                if (t > timeout) {
                        fprintf(stderr, "podwatch: timeout after %.0f s: %d of %d pods\n", timeout,
                                count_done() - pre_done, expect - pre_done);
                        break;
                }
                struct pollfd pfd = {.fd = ino, .events = POLLIN};
                int r = poll(&pfd, 1, starting ? 200 : 20);
                bool rescan = false, check_all = false;
                if (r > 0) {
                        ssize_t len = read(ino, buf, sizeof buf);
                        for (char *p = buf; len > 0 && p < buf + len;) {
                                struct inotify_event *e = (struct inotify_event *) p;
                                p += sizeof *e + e->len;
                                if (!starting)
                                        continue;
                                if (e->mask & IN_Q_OVERFLOW) {
                                        rescan = check_all = true;
                                        continue;
                                }
                                if (e->len && (e->mask & (IN_CREATE | IN_MOVED_TO)) && !find_pod(e->name))
                                        rescan = true;
                                else
                                        for (int i = 0; i < n_pods; i++)
                                                if (pods[i].wd == e->wd && !pods[i].done &&
                                                    pod_running(root, &pods[i])) {
                                                        pods[i].done = true;
                                                        pods[i].t = now() - t0;
                                                }
                        }
                }
                if (rescan && starting)
                        scan(root, true, check_all);
        }

        printf("t0 %lld.%06ld\n", (long long) rt.tv_sec, rt.tv_nsec / 1000);
        double total = 0;
        int ok = 0;
        for (int i = pre_done; i < n_pods; i++) {
                if (!pods[i].done)
                        continue;
                ok++;
                if (pods[i].t > total)
                        total = pods[i].t;
                printf("pod %s %.6f\n", pods[i].name, pods[i].t);
        }
        if (!starting)
                pre_done = 0;
        if (ok < expect - pre_done) {
                printf("incomplete %d %d\n", ok, expect - pre_done);
                return 1;
        }
        printf("total %.6f\n", total);
        return 0;
}
