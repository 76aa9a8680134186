/* SPDX-License-Identifier: Apache-2.0 */
/* nodelet-shim's pieces (see "the shim" in cri/cri.h for what it does and its invocation).
 * The state-file names and the /proc start time reader are also used by cri/shim-client.c,
 * which is why they are static inline here: the shim links no part of libcri but cri/log.c. */
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <sys/types.h>

#include "common/time-util.h"
#include "common/util.h"

#define SHIM_PID_FILE "shim.pid"                /* "<pid> <starttime>\n" */
#define SHIM_CONTAINER_PID_FILE "container.pid" /* written by the runtime (--pid-file) */
#define SHIM_EXIT_FILE "exit.json"
#define SHIM_LINE_MAX 4096         /* the "created"/"error" line, with its newline */
#define SHIM_EXIT_FILE_MAX 4096    /* what readers accept */
#define SHIM_CREATE_TIMEOUT_SEC 60 /* for the runtime's create, as seen by shim_create */
/* the monitor gives up a little earlier, so the caller gets its error line, not a timeout */
#define SHIM_RUNTIME_CREATE_TIMEOUT_SEC (SHIM_CREATE_TIMEOUT_SEC - 5)
#define SHIM_DRAIN_USEC (2 * USEC_PER_SEC) /* output read after the init exits */

struct shim_args {
        const char *id, *bundle, *state_dir, *runtime, *runtime_root, *log_path, *cgroup;
        int64_t log_max_size;
        int log_max_files;
        bool tty;
        bool stdin_open, stdin_once; /* the container's stdin: true and stdinOnce */
};

/* The attach socket (kubectl attach; conmon keeps one per container for the same reason: it
 * works after the daemon restarts): a SOCK_SEQPACKET socket at <state>/attach, each message
 * one kind byte and its data. The shim sends what the container writes from the moment a
 * client connects (the kubelet's attach shows live output only); a client sends stdin, the
 * end of its stdin and terminal sizes. The shim closes its clients when the container's
 * output ends. Paths go through /proc/self/fd/<dir> on both sides: a state dir may be longer
 * than a unix socket's 108 bytes. */
#define SHIM_ATTACH_SOCKET "attach"
#define SHIM_ATTACH_DATA_MAX (32 * 1024) /* data bytes in one message */
enum {
        SHIM_ATTACH_STDOUT = 1,       /* shim -> client */
        SHIM_ATTACH_STDERR = 2,       /* shim -> client */
        SHIM_ATTACH_STDIN = 16,       /* client -> shim */
        SHIM_ATTACH_STDIN_CLOSE = 17, /* client -> shim: its stdin ended */
        SHIM_ATTACH_RESIZE = 18,      /* client -> shim: uint16 width, uint16 height */
};

/* monitor.c: the long-lived part. Runs the runtime's create, reports on report_fd
 * ("created <pid>\n" or "error <message>\n"), then logs, reaps and writes exit.json.
 * Returns the process exit status. */
int shim_monitor(const struct shim_args *a, int report_fd);


/* attach.c: the attach socket's server, driven by the monitor's poll loop. in_fd: where
 * clients' stdin goes (the stdin pipe, or the pty master), -1 without stdin; pty: the master
 * for resizes, or -1. Takes neither fd. */
struct attach;
int attach_open(const char *state_dir, int in_fd, int pty, bool stdin_once, struct attach **ret);
/* the fds to poll (at most ATTACH_POLL_MAX), and their results back */
#define ATTACH_POLL_MAX 34
size_t attach_poll_fill(struct attach *a, struct pollfd *p);
void attach_poll_dispatch(struct attach *a, const struct pollfd *p, size_t n);
/* output for every client (never blocks: a client that falls too far behind is dropped) */
void attach_broadcast(struct attach *a, int kind, const void *data, size_t len);
void attach_free(struct attach *a);

/* oom.c: the OOM kill count of a cgroup (cgroup v1 memory.oom_control or v2 memory.events
 * "oom_kill N"), the hierarchy found from /proc/self/mountinfo. */
int cgroup_oom_kills(const char *cgroup, uint64_t *ret);


/* The start time (field 22 of /proc/<pid>/stat, clock ticks since boot) and state letter of
 * a process: with the pid, it names a process without confusion by pid reuse. */
static inline int shim_proc_starttime(pid_t pid, uint64_t *ret_start, char *ret_state) {
        char path[64], buf[1024];
        snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        int saved = errno;
        close(fd);
        if (n < 0)
                return -saved;
        buf[n] = '\0';
        /* the command name in "(...)" may hold spaces and parentheses: skip to the last ')' */
        char *p = strrchr(buf, ')');
        if (!p || p[1] != ' ' || !p[2])
                return -EINVAL;
        char state = p[2];
        p += 2;
        for (int field = 3; field < 22; field++) {
                p = strchr(p, ' ');
                if (!p)
                        return -EINVAL;
                p++;
        }
        char *end = NULL;
        errno = 0;
        unsigned long long v = strtoull(p, &end, 10);
        if (errno != 0 || end == p || (*end != ' ' && *end != '\n' && *end != '\0'))
                return -EINVAL;
        if (ret_start)
                *ret_start = v;
        if (ret_state)
                *ret_state = state;
        return 0;
}
