/* SPDX-License-Identifier: Apache-2.0 */
/* The daemon's log: lines on stderr with a level, or structured entries when stderr is the
 * journal (the pod's name and UID as fields, so journalctl POD_NAME=... finds a pod's lines). */
#include <stdio.h>
#include <sys/stat.h>
#include <syslog.h>
#include <systemd/sd-journal.h>
#include <time.h>

#include "log.h"

int arg_log_level = 2;

static bool stderr_is_journal(void) {
        /* systemd connects stderr to the journal and says so in JOURNAL_STREAM=<dev>:<ino> */
        const char *js = getenv("JOURNAL_STREAM");
        struct stat st;
        unsigned long long dev, ino;
        if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) < 0)
                return false;
        return (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
}

static int journal = -1;

void log_plain_only(void) {
        journal = 0;
}

static void log_v(int level, const char *pod, const char *uid, const char *container, const char *fmt, va_list ap) {
        if (level > arg_log_level)
                return;
        if (journal < 0)
                journal = stderr_is_journal();
        _cleanup_free_ char *msg = NULL;
        if (!(msg = nl_vstrdupf(fmt, ap)))
                return;
        static const int priorities[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_INFO, LOG_DEBUG };
        int prio = priorities[level < 0 ? 0 : level > 4 ? 4 : level];
        if (journal) {
                /* structured: journalctl POD_NAME=web-node1 finds a pod's lines */
                (void) sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", prio, "SYSLOG_IDENTIFIER=nodelet",
                                       pod ? "POD_NAME=%s" : "POD_NAME=", strempty(pod), uid ? "POD_UID=%s" : "POD_UID=",
                                       strempty(uid), container ? "CONTAINER=%s" : "CONTAINER=", strempty(container),
                                       NULL);
                return;
        }
        static const char *const names[] = { "error", "warning", "info", "info", "debug" };
        char ts[32];
        time_t now = time(NULL);
        struct tm tm;
        strftime(ts, sizeof(ts), "%H:%M:%S", localtime_r(&now, &tm));
        fprintf(stderr, "%s nodelet[%d] %s: %s\n", ts, (int) getpid(), names[level < 0 ? 0 : level > 4 ? 4 : level], msg);
}

void log_msg(int level, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        log_v(level, NULL, NULL, NULL, fmt, ap);
        va_end(ap);
}

void log_pod(int level, const char *pod, const char *uid, const char *container, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        log_v(level, pod, uid, container, fmt, ap);
        va_end(ap);
}
