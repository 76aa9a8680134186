/* SPDX-License-Identifier: Apache-2.0 */
/* The node server (the kubelet's pkg/kubelet/server): /healthz, /pods, /containerLogs, /metrics,
 * /metrics/resource and /stats/summary on port 10250 behind client-certificate or bearer-token
 * authentication and node-subresource authorization; /healthz alone on the plain healthz port.
 *
 * Following DESIGN.md ("work that can block runs in a child process") the loop only accepts:
 * every connection is served by a fork of the daemon, which does the blocking TLS handshake,
 * reads one request under a deadline, calls the (blocking) auth callbacks, answers and exits.
 * The child sees a copy-on-write snapshot of the daemon, reads what the daemon publishes on disk
 * (pod.json files, CRI logs, cgroup files) and never touches the event loop. */
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <time.h>

#include "common/fs.h"
#include "cri/cgroup.h"
#include "cri/cri.h"
#include "manager.h"
#include "node-server.h"

#define POD_JSON_MAX (16u * 1024u * 1024u)
#define NODE_PODS_MAX 4096

#define HEADER_MAX (16u * 1024u) /* request line and headers */
#define HEADER_LINES_MAX 128
#define READ_DEADLINE_SEC 10 /* handshake and request */
#define WRITE_TIMEOUT_SEC 60 /* a client that stops reading */
#define DEFAULT_MAX_CONNECTIONS 32
#define OUT_BUFFER 16384 /* response bytes gathered before a write */

#define LOG_READ_CHUNK 65536
#define LOG_ENTRY_MAX (1024u * 1024u) /* a longer "line" is not ours: skipped */
#define LOG_POLL_MSEC 1000            /* follow: wake at least this often */
#define LOG_POLL_NO_INOTIFY_MSEC 250
#define LOG_STATE_CHECK_USEC (1000ULL * 1000ULL) /* follow: re-read pod.json at most this often */

#define USEC_PER_SEC 1000000ULL
#define NSEC_PER_USEC 1000ULL

/* ==== pods on disk ========================================================================== */

/* o["a"]["b"]... as a string, NULL when absent. */
static const char *jpath_str(const json_t *o, const char *a, const char *b, const char *c) {
        const json_t *j = json_object_get(o, a);
        if (b)
                j = json_object_get(j, b);
        if (c)
                j = json_object_get(j, c);
        return json_string_value(j);
}

static json_t *pod_json_load(const char *path) {
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        if (nl_read_file(path, POD_JSON_MAX, true, &buf, &len) < 0)
                return NULL;
        json_t *j = json_loadb(buf, len, 0, NULL);
        if (j && !json_is_object(j)) {
                json_decref(j);
                return NULL;
        }
        return j;
}

json_t *node_pods_load(const char *root_dir) {
        json_t *all = json_array();
        _cleanup_free_ char *dir = nl_strdupf("%s/pods", root_dir);
        DIR *d = dir && all ? opendir(dir) : NULL;
        if (!d)
                return all;
        struct dirent *de;
        while ((de = readdir(d)) && json_array_size(all) < NODE_PODS_MAX) {
                if (de->d_name[0] == '.')
                        continue;
                _cleanup_free_ char *path = nl_strdupf("%s/%s/pod.json", dir, de->d_name);
                json_t *j = path ? pod_json_load(path) : NULL;
                if (j)
                        json_array_append_new(all, j);
        }
        closedir(d);
        return all;
}

json_t *node_pods_find(json_t *pods, const char *namespace, const char *name) {
        size_t i;
        json_t *p;
        json_array_foreach(pods, i, p) {
                if (streq_ptr(jpath_str(p, "metadata", "name", NULL), name) &&
                    streq_ptr(jpath_str(p, "metadata", "namespace", NULL), namespace))
                        return p;
        }
        return NULL;
}

static const char *const status_lists[] = {"containerStatuses", "initContainerStatuses",
                                           "ephemeralContainerStatuses"};
static const char *const spec_lists[] = {"containers", "initContainers", "ephemeralContainers"};

static json_t *named(json_t *list, const char *name) {
        size_t i;
        json_t *c;
        json_array_foreach(list, i, c) {
                if (streq_ptr(json_string_value(json_object_get(c, "name")), name))
                        return c;
        }
        return NULL;
}

static json_t *container_status(json_t *pod, const char *name) {
        json_t *st = json_object_get(pod, "status");
        for (size_t l = 0; l < ELEMENTSOF(status_lists); l++) {
                json_t *c = named(json_object_get(st, status_lists[l]), name);
                if (c)
                        return c;
        }
        return NULL;
}

/* A name from pod.json that becomes a path component: the daemon wrote it, but a component
 * that could leave the log directory is refused all the same. */
static bool path_component_ok(const char *s) {
        return !isempty(s) && !strchr(s, '/') && !streq(s, ".") && !streq(s, "..");
}

/* ==== container logs ======================================================================== */

void node_log_target_done(struct node_log_target *t) {
        if (!t)
                return;
        free(t->root_dir);
        free(t->namespace);
        free(t->pod);
        free(t->uid);
        free(t->container);
        free(t->path);
        *t = (struct node_log_target){};
}

static char *spec_names(json_t *pod) {
        nl_buf b = {};
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(json_object_get(pod, "spec"), "containers"), i, c) nl_buf_printf(
                &b, "%s%s", b.len ? " " : "", strempty(json_string_value(json_object_get(c, "name"))));
        return nl_buf_steal(&b);
}

/* The kubelet's validateContainerLogStatus, on our files: a container's instances are
 * <restart>.log, the current one restartCount, the previous one restartCount - 1. */
int node_logs_find(const char *root_dir, const char *log_dir, const char *namespace, const char *pod,
                   const char *container, bool previous, struct node_log_target *ret, nl_error *err) {
        json_t *all = node_pods_load(root_dir);
        if (!all)
                return nl_error_set(err, -ENOMEM, "out of memory");
        json_t *p = node_pods_find(all, namespace, pod);
        int r;
        if (!p) {
                r = nl_error_set(err, -ENOENT, "pod \"%s\" does not exist", pod);
                goto out;
        }
        json_t *spec = json_object_get(p, "spec");
        if (!container) {
                json_t *cs = json_object_get(spec, "containers");
                if (json_array_size(cs) != 1) {
                        _cleanup_free_ char *names = spec_names(p);
                        r = nl_error_set(
                                err, -EINVAL,
                                "a container name must be specified for pod %s, choose one of: [%s]", pod,
                                strempty(names));
                        goto out;
                }
                container = json_string_value(json_object_get(json_array_get(cs, 0), "name"));
        }
        bool in_spec = false;
        for (size_t l = 0; l < ELEMENTSOF(spec_lists) && !in_spec; l++)
                in_spec = named(json_object_get(spec, spec_lists[l]), container) != NULL;
        if (!in_spec) {
                r = nl_error_set(err, -ENOENT, "container \"%s\" not found in pod \"%s\"",
                                 strempty(container), pod);
                goto out;
        }
        json_t *c = container_status(p, container);
        if (!c) {
                r = nl_error_set(err, -EINVAL, "container \"%s\" in pod \"%s\" is not available", container,
                                 pod);
                goto out;
        }
        json_int_t restart = json_integer_value(json_object_get(c, "restartCount"));
        json_t *state = json_object_get(c, "state");
        if (previous) {
                if (restart <= 0 || !json_object_get(json_object_get(c, "lastState"), "terminated")) {
                        r = nl_error_set(err, -EINVAL,
                                         "previous terminated container \"%s\" in pod \"%s\" not found",
                                         container, pod);
                        goto out;
                }
                restart--;
        }
        const char *uid = jpath_str(p, "metadata", "uid", NULL);
        if (!path_component_ok(namespace) || !path_component_ok(pod) || !path_component_ok(uid) ||
            !path_component_ok(container) || restart < 0) {
                r = nl_error_set(err, -EINVAL, "container \"%s\" in pod \"%s\" is not available", container,
                                 pod);
                goto out;
        }
        struct node_log_target t = {
                .root_dir = strdup(root_dir),
                .namespace = strdup(namespace),
                .pod = strdup(pod),
                .uid = strdup(uid),
                .container = strdup(container),
                .restart = (long) restart,
                .previous = previous,
                .path = nl_strdupf("%s/%s_%s_%s/%s/%ld.log", log_dir, namespace, pod, uid, container,
                                   (long) restart),
        };
        if (!t.root_dir || !t.namespace || !t.pod || !t.uid || !t.container || !t.path) {
                node_log_target_done(&t);
                r = nl_error_set(err, -ENOMEM, "out of memory");
                goto out;
        }
        /* A container that never ran has no file: say why, as the kubelet does for a waiting
         * one. (Ours stays "waiting" in CrashLoopBackOff with its last instance's file there:
         * that file is served.) */
        json_t *waiting = json_object_get(state, "waiting");
        if (!previous && !json_object_get(state, "running") && access(t.path, F_OK) < 0) {
                const char *reason = json_string_value(json_object_get(waiting, "reason"));
                if (!waiting && !json_object_get(state, "terminated"))
                        r = nl_error_set(err, -EINVAL,
                                         "container \"%s\" in pod \"%s\" is waiting to start - no logs yet",
                                         container, pod);
                else if (waiting && streq_ptr(reason, "ErrImagePull"))
                        r = nl_error_set(
                                err, -EINVAL,
                                "container \"%s\" in pod \"%s\" is waiting to start: image can't be pulled",
                                container, pod);
                else if (waiting && streq_ptr(reason, "ImagePullBackOff"))
                        r = nl_error_set(err, -EINVAL,
                                         "container \"%s\" in pod \"%s\" is waiting to start: trying and "
                                         "failing to pull image",
                                         container, pod);
                else if (waiting)
                        r = nl_error_set(err, -EINVAL,
                                         "container \"%s\" in pod \"%s\" is waiting to start: %s", container,
                                         pod, strempty(reason));
                else
                        r = 0; /* terminated and its log gone: an empty log */
                if (r < 0) {
                        node_log_target_done(&t);
                        goto out;
                }
        }
        *ret = t;
        r = 0;
out:
        json_decref(all);
        return r;
}

/* Follow goes on while the instance being read runs: the pod still there (same UID), the
 * container running with the same restart count. */
static bool log_target_running(const struct node_log_target *t) {
        if (t->previous)
                return false;
        _cleanup_free_ char *path = nl_strdupf("%s/pods/%s/pod.json", t->root_dir, t->uid);
        json_t *p = path ? pod_json_load(path) : NULL;
        if (!p)
                return false;
        json_t *c = container_status(p, t->container);
        bool running = streq_ptr(jpath_str(p, "metadata", "uid", NULL), t->uid) && c &&
                       json_object_get(json_object_get(c, "state"), "running") &&
                       json_integer_value(json_object_get(c, "restartCount")) == t->restart;
        json_decref(p);
        return running;
}

struct log_copy {
        const struct node_log_options *o;
        node_log_write_fn write;
        void *userdata;
        int fd;
        dev_t dev;
        ino_t ino;
        off_t pos; /* bytes of the file consumed into buf */
        char *buf; /* bytes read, not yet a whole entry */
        size_t len, cap;
        bool skipping;      /* inside an over-long entry */
        bool line_start;    /* the next entry begins a line (its timestamp is printed) */
        int64_t skip_lines; /* tail: whole lines still to drop */
        int64_t written;
        bool done; /* limit_bytes reached */
};

static int copy_out(struct log_copy *lc, const char *s, size_t n) {
        if (lc->o->limit_bytes > 0) {
                int64_t left = lc->o->limit_bytes - lc->written;
                if ((int64_t) n >= left) {
                        n = (size_t) left;
                        lc->done = true;
                }
        }
        if (n == 0)
                return 0;
        lc->written += (int64_t) n;
        return lc->write(lc->userdata, s, n);
}

static int copy_entry(struct log_copy *lc, const char *line, size_t len) {
        struct log_line l;
        if (cri_log_parse_line(line, len, &l) < 0)
                return 0; /* not a CRI line: skipped, as the kubelet's reader does */
        bool starts = lc->line_start;
        lc->line_start = !l.partial;
        int r = 0;
        if (lc->skip_lines > 0) {
                if (!l.partial)
                        lc->skip_lines--;
        } else if (lc->o->since == 0 || parse_rfc3339(l.time) >= lc->o->since) {
                if (lc->o->timestamps && starts) {
                        r = copy_out(lc, l.time, strlen(l.time));
                        if (r >= 0 && !lc->done)
                                r = copy_out(lc, " ", 1);
                }
                if (r >= 0 && !lc->done)
                        r = copy_out(lc, l.msg, strlen(l.msg));
                if (r >= 0 && !lc->done && !l.partial)
                        r = copy_out(lc, "\n", 1);
        }
        log_line_done(&l);
        return r;
}

/* Read what the file has now and copy every whole entry; a trailing incomplete one waits. */
static int copy_available(struct log_copy *lc) {
        for (;;) {
                if (lc->cap - lc->len < LOG_READ_CHUNK) {
                        char *nb = realloc(lc->buf, lc->len + LOG_READ_CHUNK);
                        if (!nb)
                                return -ENOMEM;
                        lc->buf = nb;
                        lc->cap = lc->len + LOG_READ_CHUNK;
                }
                ssize_t n = read(lc->fd, lc->buf + lc->len, lc->cap - lc->len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return 0;
                lc->pos += n;
                lc->len += (size_t) n;
                size_t off = 0;
                for (;;) {
                        char *nl = memchr(lc->buf + off, '\n', lc->len - off);
                        if (!nl)
                                break;
                        size_t line_len = (size_t) (nl - (lc->buf + off)) + 1;
                        if (!lc->skipping) {
                                int r = copy_entry(lc, lc->buf + off, line_len);
                                if (r < 0)
                                        return r;
                                if (lc->done)
                                        return 0;
                        }
                        lc->skipping = false;
                        off += line_len;
                }
                memmove(lc->buf, lc->buf + off, lc->len - off);
                lc->len -= off;
                if (lc->len > LOG_ENTRY_MAX) { /* not a line we wrote: drop it to its end */
                        lc->len = 0;
                        lc->skipping = true;
                }
        }
}

/* Whether a CRI entry is partial; -EINVAL when it is not one (copy_entry skips it too). */
static int entry_partial(const char *line, size_t len) {
        struct log_line l;
        if (cri_log_parse_line(line, len, &l) < 0)
                return -EINVAL;
        bool partial = l.partial;
        log_line_done(&l);
        return partial;
}

/* How many lines (entries up to an "F" one; a trailing partial line counts) the file holds. */
static int count_lines(int fd, int64_t *ret) {
        _cleanup_free_ char *buf = malloc(LOG_READ_CHUNK);
        if (!buf)
                return -ENOMEM;
        int64_t lines = 0;
        off_t pos = 0;
        bool open_line = false;
        size_t len = 0;
        for (;;) {
                ssize_t n = pread(fd, buf + len, LOG_READ_CHUNK - len, pos);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                pos += n;
                len += (size_t) n;
                size_t off = 0;
                for (char *nl; (nl = memchr(buf + off, '\n', len - off)); off = (size_t) (nl - buf) + 1) {
                        int partial = entry_partial(buf + off, (size_t) (nl - (buf + off)));
                        if (partial < 0)
                                continue;
                        lines += !partial;
                        open_line = partial;
                }
                if (off == 0 && len == LOG_READ_CHUNK)
                        off = len; /* an entry longer than the buffer is not one of ours */
                memmove(buf, buf + off, len - off);
                len -= off;
        }
        *ret = lines + (open_line ? 1 : 0);
        return 0;
}

static int log_open(struct log_copy *lc, const char *path) {
        /* O_NONBLOCK: a FIFO planted at the path must not hang us before fstat refuses it. */
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        struct stat st;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                close(fd);
                return -EINVAL;
        }
        closep(&lc->fd);
        lc->fd = fd;
        lc->dev = st.st_dev;
        lc->ino = st.st_ino;
        lc->pos = 0;
        lc->len = 0;
        lc->skipping = false;
        return 0;
}

static int flush_out(struct log_copy *lc) {
        return lc->write(lc->userdata, NULL, 0);
}

/* Follow: after a rotation (the path names another file) finish the old file and go on with
 * the new one; after a truncation start over. */
static int follow_file_changes(struct log_copy *lc, const char *path) {
        struct stat st;
        if (lc->fd < 0) {
                (void) log_open(lc, path); /* not there yet: the container is starting */
                return 0;
        }
        if (stat(path, &st) == 0 && (st.st_dev != lc->dev || st.st_ino != lc->ino)) {
                int r = copy_available(lc);
                if (r < 0 || lc->done)
                        return r;
                r = log_open(lc, path);
                if (r < 0 && r != -ENOENT)
                        return r;
                lc->line_start = true;
                return 0;
        }
        if (fstat(lc->fd, &st) == 0 && st.st_size < lc->pos) {
                if (lseek(lc->fd, 0, SEEK_SET) < 0)
                        return -errno;
                lc->pos = 0;
                lc->len = 0;
                lc->line_start = true;
        }
        return 0;
}

static int log_wait(int ino_fd, int watch_fd) {
        struct pollfd p[2] = {
                {.fd = ino_fd, .events = POLLIN},
                {.fd = watch_fd, .events = POLLIN | POLLRDHUP},
        };
        int n = poll(p, 2, ino_fd >= 0 ? LOG_POLL_MSEC : LOG_POLL_NO_INOTIFY_MSEC);
        if (n < 0)
                return errno == EINTR ? 0 : -errno;
        if (watch_fd >= 0 && p[1].revents)
                return -EPIPE; /* the client sent something or hung up: it is gone */
        if (ino_fd >= 0 && (p[0].revents & POLLIN)) {
                char ev[4096];
                while (read(ino_fd, ev, sizeof(ev)) > 0)
                        ;
        }
        return 0;
}

int node_logs_copy(const struct node_log_target *t, const struct node_log_options *o,
                   node_log_write_fn write, void *userdata, int watch_fd) {
        struct log_copy lc = {.o = o, .write = write, .userdata = userdata, .fd = -1, .line_start = true};
        _cleanup_close_ int ino_fd = -1;
        int r = log_open(&lc, t->path);
        if (r < 0 && (r != -ENOENT || !o->follow))
                return r == -ENOENT ? 0 : r;
        if (lc.fd >= 0 && o->tail_lines >= 0) {
                int64_t lines = 0;
                r = count_lines(lc.fd, &lines);
                if (r < 0)
                        goto out;
                lc.skip_lines = lines > o->tail_lines ? lines - o->tail_lines : 0;
        }
        if (o->follow) {
                /* the directory, not the file: a rotation creates a new file under the same name */
                _cleanup_free_ char *dir = strdup(t->path);
                char *slash = dir ? strrchr(dir, '/') : NULL;
                if (slash) {
                        *slash = '\0';
                        ino_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
                        if (ino_fd >= 0 &&
                            inotify_add_watch(ino_fd, dir,
                                              IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM |
                                                      IN_DELETE | IN_CLOSE_WRITE) < 0)
                                closep(&ino_fd); /* polling every 250 ms instead */
                }
        }
        usec_t checked = 0;
        for (;;) {
                if (lc.fd >= 0) {
                        r = copy_available(&lc);
                        if (r < 0 || lc.done)
                                goto out;
                }
                if (!o->follow)
                        break;
                r = follow_file_changes(&lc, t->path);
                if (r < 0 || lc.done)
                        goto out;
                usec_t now = now_monotonic();
                if (now - checked >= LOG_STATE_CHECK_USEC) {
                        checked = now;
                        if (!log_target_running(t)) {
                                /* what was written before it stopped */
                                if (lc.fd >= 0 && (r = copy_available(&lc)) < 0)
                                        goto out;
                                break;
                        }
                }
                if ((r = flush_out(&lc)) < 0)
                        goto out;
                if ((r = log_wait(ino_fd, watch_fd)) < 0)
                        goto out;
        }
        r = 0;
out:
        if (r >= 0)
                r = flush_out(&lc);
        closep(&lc.fd);
        free(lc.buf);
        return r;
}

/* ==== metrics =============================================================================== */

static bool container_running(json_t *c) {
        return json_object_get(json_object_get(c, "state"), "running") != NULL;
}

/* utime + stime (clock ticks), start time (ticks after boot), vsize, rss (pages) of pid. */
struct proc_stat {
        uint64_t utime, stime, starttime, vsize, rss_pages;
};

static int read_proc_stat(pid_t pid, struct proc_stat *ret) {
        _cleanup_free_ char *path = nl_strdupf("/proc/%d/stat", (int) pid), *buf = NULL;
        if (!path || nl_read_file(path, 65536, false, &buf, NULL) < 0)
                return -EIO;
        /* the command name may hold anything: fields start after its last ')' */
        char *p = strrchr(buf, ')');
        if (!p)
                return -EIO;
        unsigned long long v[24] = {};
        char *save = NULL;
        size_t n = 0;
        /* fields 3.. of proc(5): state is field 3 */
        for (char *tok = strtok_r(p + 1, " \n", &save); tok && n < ELEMENTSOF(v);
             tok = strtok_r(NULL, " \n", &save))
                v[n++] = strtoull(tok, NULL, 10);
        if (n < 22)
                return -EIO;
        /* v[0] = field 3; utime 14, stime 15, starttime 22, vsize 23, rss 24 */
        *ret = (struct proc_stat){
                .utime = v[11], .stime = v[12], .starttime = v[19], .vsize = v[20], .rss_pages = v[21]};
        return 0;
}

static uint64_t boot_time_sec(void) {
        _cleanup_free_ char *buf = NULL;
        if (nl_read_file("/proc/stat", 1024 * 1024, false, &buf, NULL) < 0)
                return 0;
        const char *b = strstr(buf, "\nbtime ");
        return b ? strtoull(b + 7, NULL, 10) : 0;
}

static unsigned count_fds(pid_t pid) {
        _cleanup_free_ char *path = nl_strdupf("/proc/%d/fd", (int) pid);
        DIR *d = path ? opendir(path) : NULL;
        unsigned n = 0;
        if (!d)
                return 0;
        for (struct dirent *de; (de = readdir(d));)
                n += de->d_name[0] != '.';
        closedir(d);
        return n;
}

int node_metrics_write_default(const char *root_dir, pid_t pid, FILE *out) {
        json_t *pods = node_pods_load(root_dir);
        if (!pods)
                return -ENOMEM;
        unsigned running_pods = 0, running_containers = 0;
        size_t i;
        json_t *p;
        json_array_foreach(pods, i, p) {
                unsigned n = 0;
                for (size_t l = 0; l < ELEMENTSOF(status_lists); l++) {
                        size_t k;
                        json_t *c;
                        json_array_foreach(json_object_get(json_object_get(p, "status"), status_lists[l]), k,
                                           c) n += container_running(c);
                }
                running_containers += n;
                running_pods += n > 0;
        }
        json_decref(pods);
        fprintf(out,
                "# HELP nodelet_running_pods Number of pods that have a running container.\n"
                "# TYPE nodelet_running_pods gauge\n"
                "nodelet_running_pods %u\n"
                "# HELP nodelet_running_containers Number of containers currently running.\n"
                "# TYPE nodelet_running_containers gauge\n"
                "nodelet_running_containers{container_state=\"running\"} %u\n",
                running_pods, running_containers);

        struct proc_stat ps;
        long hz = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
        if (read_proc_stat(pid, &ps) == 0 && hz > 0 && page > 0) {
                fprintf(out,
                        "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n"
                        "# TYPE process_cpu_seconds_total counter\n"
                        "process_cpu_seconds_total %.2f\n"
                        "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
                        "# TYPE process_resident_memory_bytes gauge\n"
                        "process_resident_memory_bytes %" PRIu64 "\n"
                        "# HELP process_virtual_memory_bytes Virtual memory size in bytes.\n"
                        "# TYPE process_virtual_memory_bytes gauge\n"
                        "process_virtual_memory_bytes %" PRIu64 "\n"
                        "# HELP process_start_time_seconds Start time of the process since unix epoch in "
                        "seconds.\n"
                        "# TYPE process_start_time_seconds gauge\n"
                        "process_start_time_seconds %.2f\n"
                        "# HELP process_open_fds Number of open file descriptors.\n"
                        "# TYPE process_open_fds gauge\n"
                        "process_open_fds %u\n",
                        (double) (ps.utime + ps.stime) / (double) hz, ps.rss_pages * (uint64_t) page,
                        ps.vsize, (double) boot_time_sec() + (double) ps.starttime / (double) hz,
                        count_fds(pid));
        }
        return ferror(out) ? -EIO : 0;
}

/* ==== stats (the kubelet's Summary API, /metrics/resource) ================================== */

struct cg_roots {
        char *cpu, *memory; /* hierarchy mount points, NULL when that controller is not found */
        bool v2;
};

static bool has_controller(const char *list, const char *name) {
        size_t n = strlen(name);
        for (const char *p = list; p && *p;) {
                size_t k = strcspn(p, ",");
                if (k == n && memcmp(p, name, n) == 0)
                        return true;
                p += k + (p[k] == ',');
        }
        return false;
}

static void cg_roots_detect(struct cg_roots *ret) {
        struct cgroup_layout *l = NULL;
        *ret = (struct cg_roots){};
        if (cgroup_layout_detect(&l, NULL) < 0)
                return;
        if (cgroup_layout_is_v2(l)) {
                ret->cpu = strdup(l->unified);
                ret->memory = strdup(l->unified);
                ret->v2 = true;
        } else
                for (size_t i = 0; i < l->n_h; i++) {
                        if (l->h[i].v2)
                                continue;
                        if (!ret->cpu && has_controller(l->h[i].controllers, "cpuacct"))
                                ret->cpu = strdup(l->h[i].mount_point);
                        if (!ret->memory && has_controller(l->h[i].controllers, "memory"))
                                ret->memory = strdup(l->h[i].mount_point);
                }
        cgroup_layout_free(l);
}

static void cg_roots_done(struct cg_roots *r) {
        free(r->cpu);
        free(r->memory);
}

/* A file holding one number ("max" is UINT64_MAX). */
static int read_u64_file(const char *path, uint64_t *ret) {
        _cleanup_free_ char *buf = NULL;
        int r = nl_read_file(path, 4096, true, &buf, NULL);
        if (r < 0)
                return r;
        if (strncmp(buf, "max", 3) == 0) {
                *ret = UINT64_MAX;
                return 0;
        }
        char *end;
        errno = 0;
        unsigned long long v = strtoull(buf, &end, 10);
        if (errno || end == buf)
                return -EINVAL;
        *ret = v;
        return 0;
}

/* "key value" lines (memory.stat, cpu.stat, /proc/vmstat) or "Key: value kB" (/proc/meminfo). */
static bool kv_get(const char *buf, const char *key, uint64_t *ret) {
        size_t n = strlen(key);
        for (const char *p = buf; p && *p;) {
                if (strncmp(p, key, n) == 0 && (p[n] == ' ' || p[n] == ':')) {
                        const char *v = p + n + 1;
                        while (*v == ' ')
                                v++;
                        *ret = strtoull(v, NULL, 10);
                        return true;
                }
                p = strchr(p, '\n');
                if (p)
                        p++;
        }
        return false;
}

struct usage {
        bool has_cpu, has_memory, has_available;
        uint64_t cpu0, cpu; /* ns, two samples */
        usec_t t0, t;       /* CLOCK_MONOTONIC of the samples */
        usec_t when;        /* CLOCK_REALTIME of the second */
        uint64_t usage, working_set, rss, available, page_faults, major_page_faults;
};

static int cg_cpu(const struct cg_roots *roots, const char *cg, uint64_t *ret) {
        if (!roots->cpu)
                return -ENOENT;
        if (roots->v2) {
                _cleanup_free_ char *path = nl_strdupf("%s%s/cpu.stat", roots->cpu, cg), *buf = NULL;
                uint64_t us;
                if (!path || nl_read_file(path, 65536, true, &buf, NULL) < 0 ||
                    !kv_get(buf, "usage_usec", &us))
                        return -ENOENT;
                *ret = us * NSEC_PER_USEC;
                return 0;
        }
        _cleanup_free_ char *path = nl_strdupf("%s%s/cpuacct.usage", roots->cpu, cg);
        return path ? read_u64_file(path, ret) : -ENOMEM;
}

/* As cAdvisor: working set = usage - inactive file pages (not below 0); available only under a
 * limit. */
static void cg_memory(const struct cg_roots *roots, const char *cg, struct usage *u) {
        if (!roots->memory)
                return;
        const char *m = roots->memory;
        _cleanup_free_ char *usage_path =
                nl_strdupf(roots->v2 ? "%s%s/memory.current" : "%s%s/memory.usage_in_bytes", m, cg);
        _cleanup_free_ char *limit_path =
                nl_strdupf(roots->v2 ? "%s%s/memory.max" : "%s%s/memory.limit_in_bytes", m, cg);
        _cleanup_free_ char *stat_path = nl_strdupf("%s%s/memory.stat", m, cg), *stat = NULL;
        uint64_t usage, limit = UINT64_MAX, inactive = 0;
        if (!usage_path || !limit_path || !stat_path || read_u64_file(usage_path, &usage) < 0)
                return;
        (void) read_u64_file(limit_path, &limit);
        (void) nl_read_file(stat_path, 1024 * 1024, true, &stat, NULL);
        const char *st = strempty(stat);
        (void) kv_get(st, roots->v2 ? "inactive_file" : "total_inactive_file", &inactive);
        u->has_memory = true;
        u->usage = usage;
        u->working_set = usage > inactive ? usage - inactive : 0;
        (void) kv_get(st, roots->v2 ? "anon" : "total_rss", &u->rss);
        (void) kv_get(st, roots->v2 ? "pgfault" : "total_pgfault", &u->page_faults);
        (void) kv_get(st, roots->v2 ? "pgmajfault" : "total_pgmajfault", &u->major_page_faults);
        /* v1 reports "no limit" as a huge page-rounded number */
        if (limit != UINT64_MAX && limit < (UINT64_C(1) << 62)) {
                u->has_available = true;
                u->available = limit > u->working_set ? limit - u->working_set : 0;
        }
}

/* The node from /proc: cpu from /proc/stat (all but idle and iowait; guest time is in user
 * already), memory from /proc/meminfo (usage = total - free, as the root cgroup counts it). */
static int node_cpu(uint64_t *ret) {
        _cleanup_free_ char *buf = NULL;
        if (nl_read_file("/proc/stat", 1024 * 1024, false, &buf, NULL) < 0 || strncmp(buf, "cpu ", 4) != 0)
                return -EIO;
        unsigned long long v[8] = {};
        if (sscanf(buf + 4, "%llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4],
                   &v[5], &v[6], &v[7]) < 8)
                return -EIO;
        long hz = sysconf(_SC_CLK_TCK);
        if (hz <= 0)
                return -EIO;
        uint64_t ticks = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
        *ret = ticks * (1000000000ULL / (uint64_t) hz);
        return 0;
}

static void node_memory(struct usage *u) {
        _cleanup_free_ char *mi = NULL, *vm = NULL;
        uint64_t total, free_, inactive = 0, anon = 0;
        if (nl_read_file("/proc/meminfo", 1024 * 1024, false, &mi, NULL) < 0 ||
            !kv_get(mi, "MemTotal", &total) || !kv_get(mi, "MemFree", &free_))
                return;
        (void) kv_get(mi, "Inactive(file)", &inactive);
        (void) kv_get(mi, "AnonPages", &anon);
        total *= 1024;
        free_ *= 1024;
        u->has_memory = true;
        u->usage = total > free_ ? total - free_ : 0;
        u->working_set = u->usage > inactive * 1024 ? u->usage - inactive * 1024 : 0;
        u->rss = anon * 1024;
        u->has_available = true;
        u->available = total > u->working_set ? total - u->working_set : 0;
        if (nl_read_file("/proc/vmstat", 1024 * 1024, false, &vm, NULL) == 0) {
                (void) kv_get(vm, "pgfault", &u->page_faults);
                (void) kv_get(vm, "pgmajfault", &u->major_page_faults);
        }
}

/* Kubernetes times in whole seconds, as metav1.Time marshals them. */
static char *time_string(usec_t realtime) {
        char *s = format_rfc3339nano(realtime);
        char *dot = s ? strchr(s, '.') : NULL;
        if (dot)
                strcpy(dot, "Z");
        return s;
}

static void json_set_string_owned(json_t *o, const char *key, char *s) {
        if (s)
                json_object_set_new(o, key, json_string(s));
        free(s);
}

static json_t *cpu_json(const struct usage *u) {
        if (!u->has_cpu)
                return NULL;
        json_t *j = json_object();
        json_set_string_owned(j, "time", time_string(u->when));
        if (u->t0 && u->t > u->t0 && u->cpu >= u->cpu0)
                json_object_set_new(
                        j, "usageNanoCores",
                        json_integer((json_int_t) ((u->cpu - u->cpu0) * USEC_PER_SEC / (u->t - u->t0))));
        json_object_set_new(j, "usageCoreNanoSeconds", json_integer((json_int_t) u->cpu));
        return j;
}

static json_t *memory_json(const struct usage *u) {
        if (!u->has_memory)
                return NULL;
        json_t *j = json_object();
        json_set_string_owned(j, "time", time_string(u->when));
        if (u->has_available)
                json_object_set_new(j, "availableBytes", json_integer((json_int_t) u->available));
        json_object_set_new(j, "usageBytes", json_integer((json_int_t) u->usage));
        json_object_set_new(j, "workingSetBytes", json_integer((json_int_t) u->working_set));
        json_object_set_new(j, "rssBytes", json_integer((json_int_t) u->rss));
        json_object_set_new(j, "pageFaults", json_integer((json_int_t) u->page_faults));
        json_object_set_new(j, "majorPageFaults", json_integer((json_int_t) u->major_page_faults));
        return j;
}

static json_t *fs_json(const char *path, usec_t when) {
        struct statvfs sv;
        if (!path || statvfs(path, &sv) < 0)
                return NULL;
        uint64_t bs = sv.f_frsize ? sv.f_frsize : sv.f_bsize;
        json_t *j = json_object();
        json_set_string_owned(j, "time", time_string(when));
        json_object_set_new(j, "availableBytes", json_integer((json_int_t) (sv.f_bavail * bs)));
        json_object_set_new(j, "capacityBytes", json_integer((json_int_t) (sv.f_blocks * bs)));
        json_object_set_new(j, "usedBytes", json_integer((json_int_t) ((sv.f_blocks - sv.f_bfree) * bs)));
        json_object_set_new(j, "inodesFree", json_integer((json_int_t) sv.f_ffree));
        json_object_set_new(j, "inodes", json_integer((json_int_t) sv.f_files));
        json_object_set_new(j, "inodesUsed", json_integer((json_int_t) (sv.f_files - sv.f_ffree)));
        return j;
}

static void set_if(json_t *o, const char *key, json_t *v) {
        if (v)
                json_object_set_new(o, key, v);
}

/* One thing measured: the node (cg NULL), a pod or a container cgroup. */
struct stat_item {
        char *cg;
        json_t *pod;       /* borrowed */
        const char *name;  /* container name; NULL for the node and pods */
        const char *start; /* startTime / startedAt */
        size_t parent;     /* containers: the pod's item */
        struct usage u;
};

struct stats {
        json_t *pods;
        struct stat_item *items;
        size_t n;
        struct cg_roots roots;
};

static void stats_done(struct stats *st) {
        for (size_t i = 0; i < st->n; i++)
                free(st->items[i].cg);
        free(st->items);
        json_decref(st->pods);
        cg_roots_done(&st->roots);
}

static int stats_add(struct stats *st, struct stat_item item) {
        struct stat_item *n = realloc(st->items, (st->n + 1) * sizeof(*n));
        if (!n) {
                free(item.cg);
                return -ENOMEM;
        }
        st->items = n;
        st->items[st->n++] = item;
        return 0;
}

static void sample_cpu(struct stats *st, bool first) {
        usec_t now = now_monotonic();
        for (size_t i = 0; i < st->n; i++) {
                struct stat_item *it = &st->items[i];
                uint64_t v = 0;
                bool ok = (it->cg ? cg_cpu(&st->roots, it->cg, &v) : node_cpu(&v)) == 0;
                if (first) {
                        it->u.cpu0 = v;
                        it->u.t0 = ok ? now : 0;
                } else {
                        it->u.has_cpu = ok;
                        it->u.cpu = v;
                        it->u.t = now;
                }
        }
}

/* Gather the node, each pod's cgroup (the kubelet's cgroupfs layout: /kubepods[/<qos>]/pod<uid>)
 * and each running container's (<pod cgroup>/<container id>). usageNanoCores needs two samples:
 * with rate they are taken 100 ms apart, else only usageCoreNanoSeconds is reported. */
static int stats_collect(const char *root_dir, bool rate, struct stats *st) {
        *st = (struct stats){};
        cg_roots_detect(&st->roots);
        st->pods = node_pods_load(root_dir);
        if (!st->pods)
                return -ENOMEM;
        int r = stats_add(st, (struct stat_item){});
        if (r < 0)
                return r;
        size_t i;
        json_t *p;
        json_array_foreach(st->pods, i, p) {
                const char *uid = jpath_str(p, "metadata", "uid", NULL);
                if (!path_component_ok(uid))
                        continue;
                char *pod_cg = cgroup_pod_path(jpath_str(p, "status", "qosClass", NULL), uid);
                if (!pod_cg)
                        return -ENOMEM;
                size_t parent = st->n;
                if ((r = stats_add(st, (struct stat_item){
                                               .cg = pod_cg,
                                               .pod = p,
                                               .start = jpath_str(p, "status", "startTime", NULL)})) < 0)
                        return r;
                size_t k;
                json_t *c;
                json_array_foreach(json_object_get(json_object_get(p, "status"), "containerStatuses"), k,
                                   c) {
                        const char *cid = json_string_value(json_object_get(c, "containerID"));
                        const char *sep = cid ? strstr(cid, "://") : NULL;
                        if (!container_running(c) || !sep || !path_component_ok(sep + 3))
                                continue;
                        char *cg = cgroup_container_path(st->items[parent].cg, sep + 3);
                        if (!cg)
                                return -ENOMEM;
                        r = stats_add(st, (struct stat_item){
                                                  .cg = cg,
                                                  .pod = p,
                                                  .name = json_string_value(json_object_get(c, "name")),
                                                  .start = jpath_str(c, "state", "running", "startedAt"),
                                                  .parent = parent,
                                          });
                        if (r < 0)
                                return r;
                }
        }
        if (rate) {
                sample_cpu(st, true);
                struct timespec ts = {.tv_sec = 0, .tv_nsec = 100 * 1000 * 1000};
                while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                        ;
        }
        sample_cpu(st, false);
        usec_t when = now_realtime();
        for (size_t k = 0; k < st->n; k++) {
                struct stat_item *it = &st->items[k];
                it->u.when = when;
                if (it->cg)
                        cg_memory(&st->roots, it->cg, &it->u);
                else
                        node_memory(&it->u);
        }
        return 0;
}

static json_t *summary_json(const struct stats *st, const char *node_name, const char *root_dir) {
        const struct stat_item *node = &st->items[0];
        json_t *n = json_object(), *pods = json_array();
        json_object_set_new(n, "nodeName", json_string(strempty(node_name)));
        uint64_t btime = boot_time_sec();
        if (btime)
                json_set_string_owned(n, "startTime", time_string(btime * USEC_PER_SEC));
        set_if(n, "cpu", cpu_json(&node->u));
        set_if(n, "memory", memory_json(&node->u));
        set_if(n, "fs", fs_json(root_dir, node->u.when));
        _cleanup_free_ char *images = nl_strdupf("%s/images", root_dir);
        json_t *image_fs = fs_json(images && access(images, F_OK) == 0 ? images : root_dir, node->u.when);
        if (image_fs)
                json_object_set_new(n, "runtime", json_pack("{s:o}", "imageFs", image_fs));
        struct sysinfo si;
        uint64_t pid_max = 0;
        if (sysinfo(&si) == 0 && read_u64_file("/proc/sys/kernel/pid_max", &pid_max) == 0) {
                json_t *rl = json_object();
                json_set_string_owned(rl, "time", time_string(node->u.when));
                json_object_set_new(rl, "maxpid", json_integer((json_int_t) pid_max));
                json_object_set_new(rl, "curproc", json_integer((json_int_t) si.procs));
                json_object_set_new(n, "rlimit", rl);
        }
        json_t *pod = NULL, *containers = NULL;
        for (size_t i = 1; i < st->n; i++) {
                const struct stat_item *it = &st->items[i];
                if (!it->name) {
                        containers = json_array();
                        pod = json_pack("{s:{s:s, s:s, s:s}, s:o}", "podRef", "name",
                                        strempty(jpath_str(it->pod, "metadata", "name", NULL)), "namespace",
                                        strempty(jpath_str(it->pod, "metadata", "namespace", NULL)), "uid",
                                        strempty(jpath_str(it->pod, "metadata", "uid", NULL)), "containers",
                                        containers);
                        if (it->start)
                                json_object_set_new(pod, "startTime", json_string(it->start));
                        set_if(pod, "cpu", cpu_json(&it->u));
                        set_if(pod, "memory", memory_json(&it->u));
                        json_array_append_new(pods, pod);
                        continue;
                }
                json_t *c = json_pack("{s:s}", "name", it->name);
                if (it->start)
                        json_object_set_new(c, "startTime", json_string(it->start));
                set_if(c, "cpu", cpu_json(&it->u));
                set_if(c, "memory", memory_json(&it->u));
                json_array_append_new(containers, c);
        }
        return json_pack("{s:o, s:o}", "node", n, "pods", pods);
}

static void prom_label(FILE *out, const char *name, const char *value, bool last) {
        fprintf(out, "%s=\"", name);
        for (const char *p = strempty(value); *p; p++) {
                if (*p == '\\' || *p == '"')
                        fprintf(out, "\\%c", *p);
                else if (*p == '\n')
                        fputs("\\n", out);
                else
                        fputc(*p, out);
        }
        fputs(last ? "\"" : "\",", out);
}

/* One family of /metrics/resource: the metrics-server's source (`kubectl top`). kind: 0 node,
 * 1 pod, 2 container; what: 0 cpu seconds, 1 working set, 2 start time. */
static void resource_family(FILE *out, const struct stats *st, int kind, int what) {
        static const char *const kinds[] = {"node", "pod", "container"};
        static const char *const names[] = {"cpu_usage_seconds_total", "memory_working_set_bytes",
                                            "start_time_seconds"};
        static const char *const help[][2] = {{"Cumulative cpu time consumed by the", "in core-seconds"},
                                              {"Current working set of the", "in bytes"},
                                              {"Start time of the", "since unix epoch in seconds"}};
        fprintf(out, "# HELP %s_%s [STABLE] %s %s %s\n# TYPE %s_%s %s\n", kinds[kind], names[what],
                help[what][0], kinds[kind], help[what][1], kinds[kind], names[what],
                what == 0 ? "counter" : "gauge");
        for (size_t i = 0; i < st->n; i++) {
                const struct stat_item *it = &st->items[i];
                if ((kind == 0) != (i == 0) || (kind == 1 && it->name) || (kind == 2 && !it->name))
                        continue;
                double v;
                if (what == 0 && it->u.has_cpu)
                        v = (double) it->u.cpu / 1e9;
                else if (what == 1 && it->u.has_memory)
                        v = (double) it->u.working_set;
                else if (what == 2 && it->start && parse_rfc3339(it->start))
                        v = (double) (parse_rfc3339(it->start) / USEC_PER_SEC);
                else
                        continue;
                fprintf(out, "%s_%s", kinds[kind], names[what]);
                if (kind > 0) {
                        fputc('{', out);
                        if (kind == 2)
                                prom_label(out, "container", it->name, false);
                        prom_label(out, "namespace", jpath_str(it->pod, "metadata", "namespace", NULL),
                                   false);
                        prom_label(out, "pod", jpath_str(it->pod, "metadata", "name", NULL), true);
                        fputc('}', out);
                }
                fprintf(out, " %.9g %" PRIu64 "\n", v, (uint64_t) (it->u.when / 1000));
        }
}

static void resource_metrics(FILE *out, const struct stats *st) {
        resource_family(out, st, 2, 0);
        resource_family(out, st, 2, 1);
        resource_family(out, st, 2, 2);
        resource_family(out, st, 0, 0);
        resource_family(out, st, 0, 1);
        resource_family(out, st, 1, 0);
        resource_family(out, st, 1, 1);
        fputs("# HELP resource_scrape_error [STABLE] 1 if there was an error while getting container "
              "metrics, 0 otherwise\n"
              "# TYPE resource_scrape_error gauge\n"
              "resource_scrape_error 0\n",
              out);
}

/* ==== the server: state ====================================================================== */

struct file_id {
        dev_t dev;
        ino_t ino;
        off_t size;
        struct timespec mtime;
        bool exists;
};

struct listener {
        struct node_server *s;
        int fd;
        int port;
        bool tls; /* false: the healthz port */
        sd_event_source *io;
};

struct child {
        struct node_server *s;
        pid_t pid;
        sd_event_source *src;
};

struct node_server {
        sd_event *event;
        char *address, *healthz_address, *cert_file, *key_file, *client_ca_file, *node_name, *root_dir,
                *log_dir;
        struct node_server_auth auth;
        int (*write_metrics)(void *userdata, FILE *out);
        void *metrics_userdata;
        unsigned max_connections;
        pid_t pid; /* the daemon's, for the process_* metrics */
        SSL_CTX *ssl;
        struct file_id tls_files[3];  /* cert, key, client CA as loaded */
        struct listener listeners[2]; /* [0] the node port, [1] healthz */
        struct child **children;
        size_t n_children;
        usec_t refused_logged;
        unsigned refused;
};

/* ==== the child: connection I/O ============================================================== */

struct conn {
        struct node_server *s;
        int fd;
        SSL *ssl;
        bool head;    /* HEAD: headers only */
        bool chunked; /* the body goes in chunks */
        bool failed;  /* a write failed: the client is gone */
        char out[OUT_BUFFER];
        size_t out_len;
        char body[OUT_BUFFER]; /* chunked: the next chunk */
        size_t body_len;
};

static ssize_t conn_recv(struct conn *c, void *buf, size_t n) {
        if (c->ssl) {
                int k = SSL_read(c->ssl, buf, n > INT32_MAX ? INT32_MAX : (int) n);
                if (k > 0)
                        return k;
                return SSL_get_error(c->ssl, k) == SSL_ERROR_ZERO_RETURN ? 0 : -EIO;
        }
        for (;;) {
                ssize_t k = recv(c->fd, buf, n, 0);
                if (k < 0 && errno == EINTR)
                        continue;
                return k < 0 ? -errno : k;
        }
}

static int conn_send(struct conn *c, const char *buf, size_t n) {
        if (c->failed)
                return -EPIPE;
        while (n > 0) {
                ssize_t k;
                if (c->ssl) {
                        int w = SSL_write(c->ssl, buf, n > INT32_MAX ? INT32_MAX : (int) n);
                        k = w > 0 ? w : -1;
                } else {
                        k = send(c->fd, buf, n, MSG_NOSIGNAL);
                        if (k < 0 && errno == EINTR)
                                continue;
                }
                if (k <= 0) {
                        c->failed = true;
                        return -EPIPE;
                }
                buf += k;
                n -= (size_t) k;
        }
        return 0;
}

static int conn_flush(struct conn *c) {
        int r = conn_send(c, c->out, c->out_len);
        c->out_len = 0;
        return r;
}

static int conn_put(struct conn *c, const char *buf, size_t n) {
        if (c->out_len + n > sizeof(c->out)) {
                int r = conn_flush(c);
                if (r < 0)
                        return r;
                if (n > sizeof(c->out))
                        return conn_send(c, buf, n);
        }
        memcpy(c->out + c->out_len, buf, n);
        c->out_len += n;
        return 0;
}

static int chunk_emit(struct conn *c) {
        if (c->body_len == 0)
                return 0;
        char hdr[32];
        int k = snprintf(hdr, sizeof(hdr), "%zx\r\n", c->body_len);
        int r = conn_put(c, hdr, (size_t) k);
        if (r >= 0)
                r = conn_put(c, c->body, c->body_len);
        if (r >= 0)
                r = conn_put(c, "\r\n", 2);
        c->body_len = 0;
        return r;
}

/* The response body: chunked (gathered into chunks of up to OUT_BUFFER bytes) or as is. */
static int body_write(struct conn *c, const char *buf, size_t n) {
        if (c->head)
                return 0;
        if (!c->chunked)
                return conn_put(c, buf, n);
        while (n > 0) {
                size_t k = sizeof(c->body) - c->body_len < n ? sizeof(c->body) - c->body_len : n;
                memcpy(c->body + c->body_len, buf, k);
                c->body_len += k;
                buf += k;
                n -= k;
                if (c->body_len == sizeof(c->body)) {
                        int r = chunk_emit(c);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static int body_end(struct conn *c) {
        int r = 0;
        if (c->chunked && !c->head) {
                r = chunk_emit(c);
                if (r >= 0)
                        r = conn_put(c, "0\r\n\r\n", 5);
        }
        int q = conn_flush(c);
        return r < 0 ? r : q;
}

/* node_logs_copy's sink: a NULL write is "about to wait", so what is gathered goes out now. */
static int log_sink(void *userdata, const char *buf, size_t len) {
        struct conn *c = userdata;
        if (!buf) {
                int r = c->head ? 0 : chunk_emit(c);
                return r < 0 ? r : conn_flush(c);
        }
        return body_write(c, buf, len);
}

static const char *status_text(int status) {
        switch (status) {
        case 200:
                return "OK";
        case 400:
                return "Bad Request";
        case 401:
                return "Unauthorized";
        case 403:
                return "Forbidden";
        case 404:
                return "Not Found";
        case 405:
                return "Method Not Allowed";
        case 408:
                return "Request Timeout";
        case 413:
                return "Request Entity Too Large";
        case 422:
                return "Unprocessable Entity";
        case 431:
                return "Request Header Fields Too Large";
        case 500:
                return "Internal Server Error";
        case 503:
                return "Service Unavailable";
        default:
                return "Unknown";
        }
}

/* Status line and headers; content_length < 0: a chunked body. */
static int send_head(struct conn *c, int status, const char *content_type, int64_t content_length) {
        char date[64];
        time_t now = time(NULL);
        struct tm tm;
        strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", gmtime_r(&now, &tm));
        nl_buf b = {};
        nl_buf_printf(&b, "HTTP/1.1 %d %s\r\nDate: %s\r\nContent-Type: %s\r\n", status, status_text(status),
                      date, content_type);
        if (status >= 400)
                nl_buf_puts(&b, "X-Content-Type-Options: nosniff\r\n");
        if (content_length >= 0)
                nl_buf_printf(&b, "Content-Length: %" PRId64 "\r\n", content_length);
        else
                nl_buf_puts(&b, "Transfer-Encoding: chunked\r\n");
        nl_buf_puts(&b, "Connection: close\r\n\r\n");
        size_t len = b.len;
        _cleanup_free_ char *s = nl_buf_steal(&b);
        if (!s)
                return -ENOMEM;
        c->chunked = content_length < 0;
        return conn_put(c, s, len);
}

static int send_response(struct conn *c, int status, const char *content_type, const char *body,
                         size_t len) {
        int r = send_head(c, status, content_type, (int64_t) len);
        if (r >= 0)
                r = body_write(c, body, len);
        return r;
}

#define TEXT_PLAIN "text/plain; charset=utf-8"

static int send_text(struct conn *c, int status, const char *msg) {
        return send_response(c, status, TEXT_PLAIN, msg, strlen(msg));
}

static int send_json(struct conn *c, json_t *j) {
        _cleanup_free_ char *s = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
        if (!s)
                return send_text(c, 500, "Internal Server Error");
        return send_response(c, 200, "application/json", s, strlen(s));
}

/* ==== the child: the request ================================================================= */

#define PATH_SEGMENTS_MAX 32

struct request {
        char raw[HEADER_MAX + 1];
        size_t len;
        char *method, *target, *query; /* into raw */
        const char *authorization;     /* into raw, NULL when absent */
        char *seg[PATH_SEGMENTS_MAX];  /* the decoded path, one component each */
        size_t n_seg;
        bool trailing_slash;
};

static int hexval(char ch) {
        if (ch >= '0' && ch <= '9')
                return ch - '0';
        if (ch >= 'a' && ch <= 'f')
                return ch - 'a' + 10;
        if (ch >= 'A' && ch <= 'F')
                return ch - 'A' + 10;
        return -1;
}

/* Percent-decoding ('+' is a space in a query, itself in a path); -EINVAL for a bad escape or a
 * NUL. */
static int pct_decode(const char *s, size_t n, bool query, char **ret) {
        char *d = malloc(n + 1), *o = d;
        if (!d)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                char ch = s[i];
                if (ch == '%') {
                        int hi = i + 2 < n ? hexval(s[i + 1]) : -1, lo = i + 2 < n ? hexval(s[i + 2]) : -1;
                        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                                free(d);
                                return -EINVAL;
                        }
                        ch = (char) (hi << 4 | lo);
                        i += 2;
                } else if (ch == '+' && query)
                        ch = ' ';
                *o++ = ch;
        }
        *o = '\0';
        *ret = d;
        return 0;
}

/* The path's components, decoded. "..", ".", an encoded '/' or an empty component (//) in any of
 * them is a 400: the names go into lookups and must never name something else. */
static int split_path(struct request *rq, const char *path) {
        if (path[0] != '/')
                return -EINVAL;
        const char *p = path + 1;
        while (*p) {
                size_t n = strcspn(p, "/");
                if (n == 0)
                        return -EINVAL;
                if (rq->n_seg >= PATH_SEGMENTS_MAX)
                        return -EINVAL;
                char *seg;
                int r = pct_decode(p, n, false, &seg);
                if (r < 0)
                        return r;
                rq->seg[rq->n_seg++] = seg;
                if (strchr(seg, '/') || streq(seg, ".") || streq(seg, ".."))
                        return -EINVAL;
                p += n;
                if (*p == '/') {
                        p++;
                        if (!*p)
                                rq->trailing_slash = true;
                }
        }
        return 0;
}

/* The first value of key in the query, decoded: 1 found, 0 absent, < 0 a bad encoding. */
static int query_get(const char *query, const char *key, char **ret) {
        size_t klen = strlen(key);
        for (const char *p = query; p && *p;) {
                size_t n = strcspn(p, "&;");
                const char *eq = memchr(p, '=', n);
                size_t name_len = eq ? (size_t) (eq - p) : n;
                _cleanup_free_ char *name = NULL;
                int r = pct_decode(p, name_len, true, &name);
                if (r < 0)
                        return r;
                if (strlen(name) == klen && memcmp(name, key, klen) == 0) {
                        if (!eq)
                                return pct_decode("", 0, true, ret) < 0 ? -ENOMEM : 1;
                        r = pct_decode(eq + 1, n - name_len - 1, true, ret);
                        return r < 0 ? r : 1;
                }
                p += n;
                if (*p)
                        p++;
        }
        return 0;
}

static bool token_char(char ch) {
        return ch > ' ' && ch < 127 && !strchr("()<>@,;:\\\"/[]?={}", ch);
}

/* Read the request head; returns the HTTP status to refuse it with, 0 when it parsed, -1 when
 * the connection is to be dropped without an answer (closed early, timed out). */
static int request_read(struct conn *c, struct request *rq) {
        char *end = NULL;
        while (!end) {
                if (rq->len >= HEADER_MAX)
                        return 431;
                ssize_t n = conn_recv(c, rq->raw + rq->len, HEADER_MAX - rq->len);
                if (n <= 0)
                        return -1;
                size_t from = rq->len > 3 ? rq->len - 3 : 0;
                rq->len += (size_t) n;
                rq->raw[rq->len] = '\0';
                for (size_t i = from; i < rq->len && !end; i++) {
                        if (rq->raw[i] != '\n')
                                continue;
                        if ((i + 1 < rq->len && rq->raw[i + 1] == '\n') ||
                            (i + 2 < rq->len && rq->raw[i + 1] == '\r' && rq->raw[i + 2] == '\n'))
                                end = rq->raw + i + 1;
                }
        }
        *end = '\0'; /* the head ends at the empty line; anything after it is a body */
        if (memchr(rq->raw, '\0', (size_t) (end - rq->raw)))
                return 400;

        char *save = NULL;
        char *line = strtok_r(rq->raw, "\n", &save);
        if (!line)
                return 400;
        size_t ll = strlen(line);
        if (ll && line[ll - 1] == '\r')
                line[--ll] = '\0';
        /* METHOD SP request-target SP HTTP/1.x */
        char *sp1 = strchr(line, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
        if (!sp1 || !sp2 || strchr(sp2 + 1, ' '))
                return 400;
        *sp1 = *sp2 = '\0';
        rq->method = line;
        rq->target = sp1 + 1;
        if (!streq(sp2 + 1, "HTTP/1.1") && !streq(sp2 + 1, "HTTP/1.0"))
                return 400;
        for (const char *m = rq->method; *m; m++)
                if (!token_char(*m))
                        return 400;
        if (!*rq->method || rq->target[0] != '/')
                return 400;

        size_t lines = 0;
        bool has_body = false;
        while ((line = strtok_r(NULL, "\n", &save))) {
                ll = strlen(line);
                if (ll && line[ll - 1] == '\r')
                        line[--ll] = '\0';
                if (ll == 0)
                        break;
                if (++lines > HEADER_LINES_MAX)
                        return 431;
                char *colon = strchr(line, ':');
                if (!colon || colon == line)
                        return 400; /* also obs-fold continuation lines */
                for (char *k = line; k < colon; k++)
                        if (!token_char(*k))
                                return 400;
                *colon = '\0';
                char *v = colon + 1;
                v += strspn(v, " \t");
                for (size_t vl = strlen(v); vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t');)
                        v[--vl] = '\0';
                if (strcasecmp(line, "Authorization") == 0 && !rq->authorization)
                        rq->authorization = v;
                else if (strcasecmp(line, "Content-Length") == 0) {
                        int64_t cl;
                        if (nl_parse_int64(v, 0, INT64_MAX, &cl) < 0)
                                return 400;
                        has_body = has_body || cl > 0;
                } else if (strcasecmp(line, "Transfer-Encoding") == 0)
                        has_body = true;
        }
        /* these endpoints take no body: refuse one rather than read it */
        if (has_body)
                return 413;

        char *q = strchr(rq->target, '?');
        if (q)
                *q = '\0';
        rq->query = q ? q + 1 : NULL;
        if (strchr(rq->target, '#'))
                return 400;
        return split_path(rq, rq->target) < 0 ? 400 : 0;
}

static bool path_is(const struct request *rq, size_t n, ...) {
        if (rq->n_seg != n || rq->trailing_slash)
                return false;
        va_list ap;
        va_start(ap, n);
        bool ok = true;
        for (size_t i = 0; i < n && ok; i++) {
                const char *s = va_arg(ap, const char *);
                ok = !s || streq(rq->seg[i], s); /* NULL: any value */
        }
        va_end(ap);
        return ok;
}

/* The kubelet's (auth.go GetRequestAttributes) node subresource for a path. */
static const char *request_subresource(const struct request *rq) {
        const char *first = rq->n_seg ? rq->seg[0] : "";
        if (streq(first, "stats"))
                return "stats";
        if (streq(first, "metrics"))
                return "metrics";
        if (streq(first, "logs"))
                return "log";
        if (streq(first, "spec"))
                return "spec";
        return "proxy";
}

static const char *request_verb(const char *method) {
        static const char *const map[][2] = {{"GET", "get"},    {"HEAD", "get"},    {"POST", "create"},
                                             {"PUT", "update"}, {"PATCH", "patch"}, {"DELETE", "delete"}};
        for (size_t i = 0; i < ELEMENTSOF(map); i++)
                if (streq(method, map[i][0]))
                        return map[i][1];
        return NULL;
}

/* ==== the child: authentication and authorization ============================================ */

struct identity {
        char *user;
        char **groups;
        size_t n_groups;
};

static void identity_done(struct identity *id) {
        free(id->user);
        for (size_t i = 0; i < id->n_groups; i++)
                free(id->groups[i]);
        free(id->groups);
        *id = (struct identity){};
}

static char *name_entry(X509_NAME_ENTRY *e) {
        unsigned char *utf8 = NULL;
        int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));
        if (n < 0)
                return NULL;
        char *s = NULL;
        if (memchr(utf8, '\0', (size_t) n) == NULL) /* an embedded NUL is not a name */
                s = strndup((const char *) utf8, (size_t) n);
        OPENSSL_free(utf8);
        return s;
}

/* As the kubelet's x509 authenticator (CommonNameUserConversion): a certificate that chains to
 * the client CA (checked during the handshake) is the user of its subject CN, in the groups of
 * its O values; a certificate without a CN authenticates no one. */
static int authenticate_cert(struct conn *c, struct identity *ret) {
        if (!c->ssl)
                return 0;
        X509 *cert = SSL_get1_peer_certificate(c->ssl);
        if (!cert)
                return 0;
        int r = 0;
        struct identity id = {};
        if (SSL_get_verify_result(c->ssl) != X509_V_OK)
                goto out;
        X509_NAME *subject = X509_get_subject_name(cert);
        for (int i = 0; i < X509_NAME_entry_count(subject); i++) {
                X509_NAME_ENTRY *e = X509_NAME_get_entry(subject, i);
                int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
                if (nid == NID_commonName) {
                        free(id.user); /* Go keeps the last CN */
                        id.user = name_entry(e);
                } else if (nid == NID_organizationName) {
                        char **g = realloc(id.groups, (id.n_groups + 1) * sizeof(char *));
                        if (!g)
                                goto out;
                        id.groups = g;
                        if ((g[id.n_groups] = name_entry(e)))
                                id.n_groups++;
                }
        }
        if (isempty(id.user))
                goto out;
        *ret = id;
        id = (struct identity){};
        r = 1;
out:
        identity_done(&id);
        X509_free(cert);
        return r;
}

/* "Authorization: Bearer <token>" as the kubelet's bearertoken authenticator reads it. */
static int authenticate_token(struct conn *c, const char *authorization, struct identity *ret) {
        const struct node_server_auth *a = &c->s->auth;
        if (!authorization || !a->authenticate_token || strncasecmp(authorization, "bearer ", 7) != 0)
                return 0;
        const char *token = authorization + 7;
        token += strspn(token, " ");
        if (!*token || strchr(token, ' '))
                return 0;
        struct identity id = {};
        int r = a->authenticate_token(a->userdata, token, &id.user, &id.groups, &id.n_groups);
        if (r <= 0 || isempty(id.user)) {
                if (r < 0)
                        log_debug("node server: token review failed: %s", strerror(-r));
                if (r > 0)
                        identity_done(&id);
                return 0;
        }
        *ret = id;
        return 1;
}

/* ==== the child: endpoints =================================================================== */

static void serve_pods(struct conn *c) {
        json_t *items = node_pods_load(c->s->root_dir);
        json_t *list = items ? json_pack("{s:s, s:s, s:{}, s:o}", "kind", "PodList", "apiVersion", "v1",
                                         "metadata", "items", items)
                             : NULL;
        (void) send_json(c, list);
        json_decref(list);
}

/* Go's strconv.ParseBool, as query parameters of PodLogOptions decode. */
static int parse_bool(const char *s, bool *ret) {
        static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
        static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False", ""};
        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                if (streq(s, yes[i])) {
                        *ret = true;
                        return 0;
                }
        for (size_t i = 0; i < ELEMENTSOF(no); i++)
                if (streq(s, no[i])) {
                        *ret = false;
                        return 0;
                }
        return -EINVAL;
}

/* PodLogOptions from the query; 400 when it does not decode, 422 when ValidatePodLogOptions
 * would refuse it (the kubelet's answers), else 0. */
static int log_options(const char *query, struct node_log_options *o, bool *ret_previous) {
        *o = (struct node_log_options){.tail_lines = -1};
        *ret_previous = false;
        static const char *const bools[] = {"follow", "timestamps", "previous"};
        bool *bool_dst[] = {&o->follow, &o->timestamps, ret_previous};
        for (size_t i = 0; i < ELEMENTSOF(bools); i++) {
                _cleanup_free_ char *v = NULL;
                int r = query_get(query, bools[i], &v);
                if (r < 0 || (r > 0 && parse_bool(v, bool_dst[i]) < 0))
                        return 400;
        }
        static const char *const ints[] = {"tailLines", "sinceSeconds", "limitBytes"};
        int64_t vals[3];
        bool set[3] = {};
        for (size_t i = 0; i < ELEMENTSOF(ints); i++) {
                _cleanup_free_ char *v = NULL;
                int r = query_get(query, ints[i], &v);
                if (i == 0 && r == 0)
                        r = query_get(query, "tail", &v); /* the old name; "all" is no tail */
                if (r < 0)
                        return 400;
                if (r == 0 || (i == 0 && streq(v, "all")))
                        continue;
                if (nl_parse_int64(v, INT64_MIN, INT64_MAX, &vals[i]) < 0)
                        return 400;
                set[i] = true;
        }
        _cleanup_free_ char *since_time = NULL;
        int r = query_get(query, "sinceTime", &since_time);
        if (r < 0)
                return 400;
        usec_t since_abs = 0;
        if (r > 0 && !(since_abs = parse_rfc3339(since_time)))
                return 400;
        if ((set[0] && vals[0] < 0) || (set[1] && vals[1] < 1) || (set[2] && vals[2] < 1) ||
            (set[1] && since_abs))
                return 422;
        if (set[0])
                o->tail_lines = vals[0];
        if (set[2])
                o->limit_bytes = vals[2];
        if (set[1]) {
                usec_t now = now_realtime();
                uint64_t secs = (uint64_t) vals[1];
                o->since = secs >= now / USEC_PER_SEC ? 1 : now - secs * USEC_PER_SEC;
        } else
                o->since = since_abs;
        return 0;
}

static void serve_logs(struct conn *c, const struct request *rq) {
        struct node_log_options o;
        bool previous;
        int status = log_options(rq->query, &o, &previous);
        if (status == 400) {
                (void) send_text(c, 400, "{\"message\": \"Unable to decode query.\"}");
                return;
        }
        if (status == 422) {
                (void) send_text(c, 422, "{\"message\": \"Invalid request.\"}");
                return;
        }
        struct node_log_target t = {};
        nl_error err = NL_ERROR_INIT;
        int r = node_logs_find(c->s->root_dir, c->s->log_dir, rq->seg[1], rq->seg[2], rq->seg[3], previous,
                               &t, &err);
        if (r < 0) {
                (void) send_text(c, r == -ENOENT ? 404 : r == -ENOMEM ? 500 : 400, strempty(err.msg));
                nl_error_clear(&err);
                return;
        }
        if (send_head(c, 200, TEXT_PLAIN, -1) >= 0 && !c->head && conn_flush(c) >= 0) {
                r = node_logs_copy(&t, &o, log_sink, c, c->fd);
                if (r < 0 && r != -EPIPE)
                        log_debug("node server: logs of %s/%s/%s: %s", t.namespace, t.pod, t.container,
                                  strerror(-r));
        }
        node_log_target_done(&t);
}

static void serve_metrics(struct conn *c) {
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        if (!f) {
                (void) send_text(c, 500, "Internal Server Error");
                return;
        }
        int r = c->s->write_metrics ? c->s->write_metrics(c->s->metrics_userdata, f)
                                    : node_metrics_write_default(c->s->root_dir, c->s->pid, f);
        if (fclose(f) != 0 || r < 0 || !text) {
                (void) send_text(c, 500, "Internal Server Error");
                return;
        }
        (void) send_response(c, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
}

static void serve_stats(struct conn *c, bool resource) {
        struct stats st;
        int r = stats_collect(c->s->root_dir, !resource, &st);
        if (r < 0) {
                stats_done(&st);
                (void) send_text(c, 500, "Internal Server Error");
                return;
        }
        if (resource) {
                _cleanup_free_ char *text = NULL;
                size_t len = 0;
                FILE *f = open_memstream(&text, &len);
                if (f)
                        resource_metrics(f, &st);
                if (!f || fclose(f) != 0 || !text)
                        (void) send_text(c, 500, "Internal Server Error");
                else
                        (void) send_response(c, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
        } else {
                json_t *j = summary_json(&st, c->s->node_name, c->s->root_dir);
                (void) send_json(c, j);
                json_decref(j);
        }
        stats_done(&st);
}

static void route(struct conn *c, const struct request *rq) {
        bool get = streq(rq->method, "GET") || streq(rq->method, "HEAD");
        bool known = path_is(rq, 1, "healthz") || path_is(rq, 1, "pods") ||
                     path_is(rq, 4, "containerLogs", NULL, NULL, NULL) || path_is(rq, 1, "metrics") ||
                     path_is(rq, 2, "metrics", "resource") || path_is(rq, 2, "stats", "summary");
        if (!known) {
                (void) send_text(c, 404, "404 page not found\n");
                return;
        }
        if (!get) {
                (void) send_text(c, 405, "405: Method Not Allowed");
                return;
        }
        if (path_is(rq, 1, "healthz"))
                (void) send_text(c, 200, "ok");
        else if (path_is(rq, 1, "pods"))
                serve_pods(c);
        else if (path_is(rq, 1, "metrics"))
                serve_metrics(c);
        else if (path_is(rq, 2, "metrics", "resource"))
                serve_stats(c, true);
        else if (path_is(rq, 2, "stats", "summary"))
                serve_stats(c, false);
        else
                serve_logs(c, rq);
}

/* The kubelet's InstallAuthFilter: authenticate (401 "Unauthorized"), authorize the node
 * subresource (403 with the attributes, 500 when the authorizer fails). */
static bool authorized(struct conn *c, const struct request *rq) {
        struct identity id = {};
        if (authenticate_cert(c, &id) <= 0 && authenticate_token(c, rq->authorization, &id) <= 0) {
                (void) send_text(c, 401, "Unauthorized");
                return false;
        }
        const char *verb = request_verb(rq->method), *sub = request_subresource(rq);
        const struct node_server_auth *a = &c->s->auth;
        int r = a->authorize ? a->authorize(a->userdata, id.user, id.groups, id.n_groups, verb, sub) : 1;
        if (r <= 0) {
                _cleanup_free_ char *msg =
                        nl_strdupf("%s (user=%s, verb=%s, resource=nodes, subresource=%s)",
                                   r < 0 ? "Authorization error" : "Forbidden", id.user, verb, sub);
                (void) send_text(c, r < 0 ? 500 : 403, strempty(msg));
        }
        identity_done(&id);
        return r > 0;
}

/* Close without losing the answer: a close with unread bytes (a refused body, a pipelined
 * request) would reset the connection and the client might not see what we wrote. */
static void conn_close(struct conn *c) {
        if (c->ssl) {
                (void) SSL_shutdown(c->ssl);
                SSL_free(c->ssl);
                c->ssl = NULL;
        }
        (void) shutdown(c->fd, SHUT_WR);
        struct timeval tv = {.tv_sec = 1};
        (void) setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        char buf[4096];
        for (size_t total = 0; total < 256 * 1024;) {
                ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
                if (n <= 0)
                        break;
                total += (size_t) n;
        }
        close(c->fd);
}

static _Noreturn void child_serve(struct node_server *s, int fd, bool tls) {
        sigset_t none;
        sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_IGN);
        signal(SIGALRM, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        /* the deadline for the handshake and the request head, whatever the client trickles */
        alarm(READ_DEADLINE_SEC);
        struct timeval rcv = {.tv_sec = READ_DEADLINE_SEC}, snd = {.tv_sec = WRITE_TIMEOUT_SEC};
        (void) setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &rcv, sizeof(rcv));
        (void) setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &snd, sizeof(snd));
        int one = 1;
        (void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

        struct conn *c = calloc(1, sizeof(*c));
        struct request *rq = calloc(1, sizeof(*rq));
        if (!c || !rq)
                _exit(1);
        c->s = s;
        c->fd = fd;
        if (tls) {
                c->ssl = SSL_new(s->ssl);
                if (!c->ssl || SSL_set_fd(c->ssl, fd) != 1 || SSL_accept(c->ssl) != 1) {
                        log_debug("node server: TLS handshake failed");
                        _exit(0);
                }
        }
        int status = request_read(c, rq);
        alarm(0);
        if (status < 0)
                _exit(0);
        if (status > 0) {
                static const char *const msgs[] = {[0] = "400 Bad Request",
                                                   [1] = "413 Request Entity Too Large",
                                                   [2] = "431 Request Header Fields Too Large"};
                (void) send_text(c, status, msgs[status == 413 ? 1 : status == 431 ? 2 : 0]);
        } else {
                c->head = streq(rq->method, "HEAD");
                if (!request_verb(rq->method))
                        (void) send_text(c, 405, "405: Method Not Allowed");
                else if (!tls) /* the healthz port: /healthz only, no authentication */
                        (void) (path_is(rq, 1, "healthz") ? send_text(c, 200, "ok")
                                                          : send_text(c, 404, "404 page not found\n"));
                else if (authorized(c, rq))
                        route(c, rq);
        }
        (void) body_end(c);
        conn_close(c);
        _exit(0);
}

/* ==== TLS ==================================================================================== */

static char *ssl_error_string(void) {
        unsigned long e = ERR_get_error();
        char buf[256];
        if (!e)
                return strdup("unknown error");
        ERR_error_string_n(e, buf, sizeof(buf));
        ERR_clear_error();
        return strdup(buf);
}

static int ssl_fail(nl_error *err, const char *what, const char *path) {
        _cleanup_free_ char *e = ssl_error_string();
        return nl_error_set(err, -EINVAL, "%s \"%s\": %s", what, strempty(path), strempty(e));
}

/* The handshake goes on whatever the client certificate: as the kubelet (tls.RequestClientCert
 * plus the x509 authenticator), a certificate that does not verify only fails to authenticate,
 * so the request can still carry a bearer token. The result is read in authenticate_cert(). */
static int verify_keep_going(int ok, X509_STORE_CTX *ctx) {
        return 1;
}

/* HTTP/1.1 only: h2 is not spoken here. */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
                       unsigned int inlen, void *arg) {
        for (unsigned i = 0; i < inlen; i += 1u + in[i])
                if (in[i] == 8 && i + 9 <= inlen && memcmp(in + i + 1, "http/1.1", 8) == 0) {
                        *out = in + i + 1;
                        *outlen = 8;
                        return SSL_TLSEXT_ERR_OK;
                }
        return SSL_TLSEXT_ERR_NOACK;
}

/* Without --tls-cert-file the kubelet makes a self-signed certificate ("<host>@<unix time>"); so
 * do we, in memory, for a year. */
static int self_signed(SSL_CTX *ctx, const char *node_name, nl_error *err) {
        EVP_PKEY *key = EVP_EC_gen("P-256");
        X509 *x = X509_new();
        int r = -EINVAL;
        _cleanup_free_ char *cn = nl_strdupf("%s@%lld", strempty(node_name), (long long) time(NULL));
        _cleanup_free_ char *san = nl_strdupf("DNS:%s,DNS:localhost,IP:127.0.0.1", strempty(node_name));
        if (!key || !x || !cn || !san)
                goto out;
        X509_NAME *name = X509_get_subject_name(x);
        X509V3_CTX v3;
        if (X509_set_version(x, 2) != 1 ||
            ASN1_INTEGER_set(X509_get_serialNumber(x), (long) time(NULL)) != 1 ||
            !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
            !X509_gmtime_adj(X509_getm_notAfter(x), 365L * 24 * 3600) || X509_set_pubkey(x, key) != 1 ||
            X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *) cn, -1, -1, 0) !=
                    1 ||
            X509_set_issuer_name(x, name) != 1)
                goto out;
        X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
        const char *exts[][2] = {{"basicConstraints", "critical,CA:FALSE"},
                                 {"keyUsage", "critical,digitalSignature"},
                                 {"extendedKeyUsage", "serverAuth"},
                                 {"subjectAltName", san}};
        for (size_t i = 0; i < ELEMENTSOF(exts); i++) {
                X509_EXTENSION *e = X509V3_EXT_nconf(NULL, &v3, exts[i][0], exts[i][1]);
                if (!e && i == 3) /* a node name that is no DNS name: localhost only */
                        e = X509V3_EXT_nconf(NULL, &v3, exts[i][0], "DNS:localhost,IP:127.0.0.1");
                if (!e)
                        goto out;
                int ok = X509_add_ext(x, e, -1);
                X509_EXTENSION_free(e);
                if (ok != 1)
                        goto out;
        }
        if (X509_sign(x, key, EVP_sha256()) <= 0 || SSL_CTX_use_certificate(ctx, x) != 1 ||
            SSL_CTX_use_PrivateKey(ctx, key) != 1)
                goto out;
        r = 0;
out:
        if (r < 0)
                (void) ssl_fail(err, "self-signed serving certificate for", node_name);
        X509_free(x);
        EVP_PKEY_free(key);
        return r;
}

static int tls_context_new(const struct node_server *s, SSL_CTX **ret, nl_error *err) {
        SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
        int r;
        if (!ctx)
                return nl_error_set(err, -ENOMEM, "TLS context: out of memory");
        (void) SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
        SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
        /* every connection is its own process: a server-side session cache would be lost (tickets
         * still resume) */
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
        SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
        if (s->cert_file) {
                if (SSL_CTX_use_certificate_chain_file(ctx, s->cert_file) != 1) {
                        r = ssl_fail(err, "load --tls-cert-file", s->cert_file);
                        goto fail;
                }
                if (SSL_CTX_use_PrivateKey_file(ctx, s->key_file, SSL_FILETYPE_PEM) != 1) {
                        r = ssl_fail(err, "load --tls-private-key-file", s->key_file);
                        goto fail;
                }
                if (SSL_CTX_check_private_key(ctx) != 1) {
                        r = ssl_fail(err, "--tls-private-key-file does not match the certificate",
                                     s->key_file);
                        goto fail;
                }
        } else if ((r = self_signed(ctx, s->node_name, err)) < 0)
                goto fail;
        if (s->client_ca_file) {
                STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(s->client_ca_file);
                if (!names || SSL_CTX_load_verify_locations(ctx, s->client_ca_file, NULL) != 1) {
                        sk_X509_NAME_pop_free(names, X509_NAME_free);
                        r = ssl_fail(err, "load --client-ca-file", s->client_ca_file);
                        goto fail;
                }
                SSL_CTX_set_client_CA_list(ctx, names);
                SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_keep_going);
                SSL_CTX_set_verify_depth(ctx, 10);
                /* as Go's x509 verification with ExtKeyUsageClientAuth */
                (void) SSL_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
        }
        *ret = ctx;
        return 0;
fail:
        SSL_CTX_free(ctx);
        return r;
}

static void file_id_get(const char *path, struct file_id *ret) {
        struct stat st;
        *ret = (struct file_id){};
        if (path && stat(path, &st) == 0)
                *ret = (struct file_id){.dev = st.st_dev,
                                        .ino = st.st_ino,
                                        .size = st.st_size,
                                        .mtime = st.st_mtim,
                                        .exists = true};
}

static bool file_id_eq(const struct file_id *a, const struct file_id *b) {
        return a->exists == b->exists && a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
               a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

/* Certificates are rotated on disk (by hand, cert-manager, kubeadm): a change is picked up at the
 * next connection. A set that does not load (half written) keeps the old one until it changes
 * again. */
static void tls_maybe_reload(struct node_server *s) {
        const char *paths[3] = {s->cert_file, s->key_file, s->client_ca_file};
        struct file_id now[3];
        bool changed = false;
        for (size_t i = 0; i < 3; i++) {
                file_id_get(paths[i], &now[i]);
                changed = changed || !file_id_eq(&now[i], &s->tls_files[i]);
        }
        if (!changed)
                return;
        memcpy(s->tls_files, now, sizeof(now));
        SSL_CTX *ctx = NULL;
        nl_error err = NL_ERROR_INIT;
        if (tls_context_new(s, &ctx, &err) < 0) {
                log_warning("node server: reloading the certificates failed, keeping the old ones: %s",
                            err.msg);
                nl_error_clear(&err);
                return;
        }
        SSL_CTX_free(s->ssl);
        s->ssl = ctx;
        log_info("node server: certificates reloaded");
}

/* ==== the parent: accepting, children ======================================================== */

static void child_free(struct child *ch) {
        if (!ch)
                return;
        sd_event_source_disable_unref(ch->src);
        free(ch);
}

static void child_remove(struct node_server *s, struct child *ch) {
        for (size_t i = 0; i < s->n_children; i++)
                if (s->children[i] == ch) {
                        s->children[i] = s->children[--s->n_children];
                        break;
                }
        child_free(ch);
}

static int on_child_exit(sd_event_source *src, const siginfo_t *si, void *userdata) {
        struct child *ch = userdata;
        if (si->si_code != CLD_EXITED || si->si_status != 0)
                log_debug("node server: connection process %d ended with %s %d", (int) ch->pid,
                          si->si_code == CLD_EXITED ? "status" : "signal", si->si_status);
        child_remove(ch->s, ch);
        return 0;
}

static void serve_connection(struct node_server *s, struct listener *l, int fd) {
        struct child **list = realloc(s->children, (s->n_children + 1) * sizeof(*list));
        struct child *ch = calloc(1, sizeof(*ch));
        if (list)
                s->children = list;
        if (!list || !ch) {
                free(ch);
                return;
        }
        pid_t pid = fork();
        if (pid < 0) {
                log_warning("node server: cannot fork for a connection: %m");
                free(ch);
                return;
        }
        if (pid == 0) {
                /* the listening sockets stay the daemon's alone (a restart can bind them again
                 * while a `logs -f` still streams) */
                for (size_t i = 0; i < ELEMENTSOF(s->listeners); i++)
                        if (s->listeners[i].fd >= 0)
                                close(s->listeners[i].fd);
                child_serve(s, fd, l->tls);
        }
        *ch = (struct child){.s = s, .pid = pid};
        int r = sd_event_add_child(s->event, &ch->src, pid, WEXITED, on_child_exit, ch);
        if (r < 0) {
                log_warning("node server: cannot watch connection process %d: %s", (int) pid, strerror(-r));
                kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                free(ch);
                return;
        }
        (void) sd_event_source_set_description(ch->src, "node-server-connection");
        s->children[s->n_children++] = ch;
}

static int on_accept(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        struct listener *l = userdata;
        struct node_server *s = l->s;
        /* a few per wake-up, so a flood does not starve the rest of the loop */
        for (int i = 0; i < 16; i++) {
                int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
                if (cfd < 0) {
                        if (errno == EINTR || errno == ECONNABORTED)
                                continue;
                        if (errno != EAGAIN && errno != EWOULDBLOCK)
                                log_warning("node server: accept on port %d: %m", l->port);
                        break;
                }
                if (s->n_children >= s->max_connections) {
                        /* closed at once: one line per second says how many */
                        s->refused++;
                        usec_t now = now_monotonic();
                        if (now - s->refused_logged >= USEC_PER_SEC) {
                                log_warning(
                                        "node server: %zu connections being served (the limit), %u refused",
                                        s->n_children, s->refused);
                                s->refused_logged = now;
                                s->refused = 0;
                        }
                        close(cfd);
                        continue;
                }
                if (l->tls)
                        tls_maybe_reload(s);
                serve_connection(s, l, cfd);
                close(cfd);
        }
        return 0;
}

static int listener_open(struct node_server *s, struct listener *l, const char *address, int port, bool tls,
                         nl_error *err) {
        *l = (struct listener){.s = s, .fd = -1, .port = -1, .tls = tls};
        if (port == 0)
                return 0;
        if (port > 65535)
                return nl_error_set(err, -EINVAL, "port %d out of range", port);
        char portstr[16];
        snprintf(portstr, sizeof(portstr), "%d", port < 0 ? 0 : port);
        struct addrinfo hints = {.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV,
                                 .ai_socktype = SOCK_STREAM},
                        *ai = NULL;
        int g = getaddrinfo(address, portstr, &hints, &ai);
        if (g != 0)
                return nl_error_set(err, -EINVAL, "bind address \"%s\": %s", address, gai_strerror(g));
        int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        int one = 1, r = 0;
        if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
            bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, SOMAXCONN) < 0)
                r = -errno;
        freeaddrinfo(ai);
        if (r < 0) {
                if (fd >= 0)
                        close(fd);
                return nl_error_set(err, r, "listen on %s port %s: %s", address, portstr, strerror(-r));
        }
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        if (getsockname(fd, (struct sockaddr *) &ss, &sl) == 0)
                l->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *) &ss)->sin6_port
                                                         : ((struct sockaddr_in *) &ss)->sin_port);
        l->fd = fd;
        r = sd_event_add_io(s->event, &l->io, fd, EPOLLIN, on_accept, l);
        if (r < 0)
                return nl_error_set(err, r, "listen on %s port %d: %s", address, l->port, strerror(-r));
        (void) sd_event_source_set_description(l->io, tls ? "node-server" : "node-server-healthz");
        return 0;
}

void node_server_free(struct node_server *s) {
        if (!s)
                return;
        for (size_t i = 0; i < ELEMENTSOF(s->listeners); i++) {
                sd_event_source_disable_unref(s->listeners[i].io);
                closep(&s->listeners[i].fd);
        }
        /* what is still being served (log streams) ends with the server */
        for (size_t i = 0; i < s->n_children; i++) {
                struct child *ch = s->children[i];
                sd_event_source_disable_unref(ch->src);
                ch->src = NULL;
                kill(ch->pid, SIGKILL);
                (void) waitpid(ch->pid, NULL, 0);
                free(ch);
        }
        free(s->children);
        SSL_CTX_free(s->ssl);
        sd_event_unref(s->event);
        free(s->address);
        free(s->healthz_address);
        free(s->cert_file);
        free(s->key_file);
        free(s->client_ca_file);
        free(s->node_name);
        free(s->root_dir);
        free(s->log_dir);
        free(s);
}

static char *strdup_or_null(const char *s, bool *oom) {
        char *d = s ? strdup(s) : NULL;
        if (s && !d)
                *oom = true;
        return d;
}

int node_server_new(sd_event *event, const struct node_server_config *cfg, struct node_server **ret,
                    nl_error *err) {
        if (!event || !cfg || !cfg->cri || !cfg->cri->root_dir || !cfg->cri->log_dir)
                return nl_error_set(err, -EINVAL, "node server: no root or log directory");
        if (!cfg->cert_file != !cfg->key_file)
                return nl_error_set(err, -EINVAL, "--tls-cert-file and --tls-private-key-file go together");
        struct node_server *s = calloc(1, sizeof(*s));
        if (!s)
                return nl_error_set(err, -ENOMEM, "out of memory");
        bool oom = false;
        *s = (struct node_server){
                .event = sd_event_ref(event),
                .address = strdup_or_null(cfg->address ? cfg->address : "0.0.0.0", &oom),
                .healthz_address =
                        strdup_or_null(cfg->healthz_address ? cfg->healthz_address : "127.0.0.1", &oom),
                .cert_file = strdup_or_null(cfg->cert_file, &oom),
                .key_file = strdup_or_null(cfg->key_file, &oom),
                .client_ca_file = strdup_or_null(cfg->client_ca_file, &oom),
                .node_name = strdup_or_null(cfg->node_name ? cfg->node_name : "", &oom),
                .root_dir = strdup_or_null(cfg->cri->root_dir, &oom),
                .log_dir = strdup_or_null(cfg->cri->log_dir, &oom),
                .auth = cfg->auth,
                .write_metrics = cfg->write_metrics,
                .metrics_userdata = cfg->metrics_userdata,
                .max_connections = cfg->max_connections ? cfg->max_connections : DEFAULT_MAX_CONNECTIONS,
                .pid = getpid(),
                .listeners = {{.fd = -1, .port = -1}, {.fd = -1, .port = -1}},
        };
        int r;
        if (oom) {
                r = nl_error_set(err, -ENOMEM, "out of memory");
                goto fail;
        }
        if (cfg->port != 0) {
                const char *paths[3] = {s->cert_file, s->key_file, s->client_ca_file};
                for (size_t i = 0; i < 3; i++)
                        file_id_get(paths[i], &s->tls_files[i]);
                if ((r = tls_context_new(s, &s->ssl, err)) < 0)
                        goto fail;
        }
        if ((r = listener_open(s, &s->listeners[0], s->address, cfg->port, true, err)) < 0 ||
            (r = listener_open(s, &s->listeners[1], s->healthz_address, cfg->healthz_port, false, err)) < 0)
                goto fail;
        *ret = s;
        return 0;
fail:
        node_server_free(s);
        return r;
}

int node_server_port(const struct node_server *s, bool healthz) {
        return s ? s->listeners[healthz ? 1 : 0].port : -1;
}

unsigned node_server_connections(const struct node_server *s) {
        return s ? (unsigned) s->n_children : 0;
}
