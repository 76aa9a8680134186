/* SPDX-License-Identifier: Apache-2.0 */
/* Reading a container's CRI log the kubelet's way (tail, since, limitBytes, timestamps,
 * previous, follow across rotations), for `nodelet logs` and the node server's /containerLogs. */
#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include "common/fs.h"
#include "cri/cri.h"
#include "cri/layout.h"
#include "state.h"

#define LOG_READ_CHUNK 65536
#define LOG_ENTRY_MAX (1024u * 1024u) /* a longer "line" is not ours: skipped */
#define LOG_POLL_MSEC 1000            /* follow: wake at least this often */
#define LOG_POLL_NO_INOTIFY_MSEC 250
#define LOG_STATE_CHECK_USEC USEC_PER_SEC /* follow: re-read pod.json at most this often */

static const char *const spec_lists[] = {"containers", "initContainers", "ephemeralContainers"};

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
                in_spec = node_json_named(json_object_get(spec, spec_lists[l]), container) != NULL;
        if (!in_spec) {
                r = nl_error_set(err, -ENOENT, "container \"%s\" not found in pod \"%s\"",
                                 strempty(container), pod);
                goto out;
        }
        json_t *c = node_pod_container_status(p, container);
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
            !path_component_ok(container) || restart < 0 || restart > UINT32_MAX) {
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
                .path = layout_container_log(log_dir, namespace, pod, uid, container, (unsigned) restart),
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
        json_t *p = node_pod_load(t->root_dir, t->uid);
        if (!p)
                return false;
        json_t *c = node_pod_container_status(p, t->container);
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
