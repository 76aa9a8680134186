/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <time.h>

#include "time-util.h"
#include "util.h"

usec_t now_realtime(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / NSEC_PER_USEC;
}

usec_t now_monotonic(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / NSEC_PER_USEC;
}

char *format_rfc3339nano(usec_t t) {
        time_t s = (time_t) (t / USEC_PER_SEC);
        struct tm tm;
        char buf[64];
        if (!gmtime_r(&s, &tm) || strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
                return NULL;
        return nl_strdupf("%s.%09lluZ", buf, (unsigned long long) (t % USEC_PER_SEC) * NSEC_PER_USEC);
}

usec_t parse_rfc3339(const char *s) {
        struct tm tm = {};
        const char *p = strptime(strempty(s), "%Y-%m-%dT%H:%M:%S", &tm);
        if (!p)
                return 0;
        usec_t frac = 0;
        if (*p == '.') {
                usec_t scale = 100000;
                for (p++; *p >= '0' && *p <= '9'; p++) {
                        frac += (usec_t) (*p - '0') * scale;
                        scale /= 10;
                }
        }
        if (*p != 'Z')
                return 0;
        time_t secs = timegm(&tm);
        if (secs < 0)
                return 0;
        return (usec_t) secs * USEC_PER_SEC + frac;
}


char *format_rfc3339(usec_t t) {
        if (!t)
                return NULL;
        char *s = format_rfc3339nano(t);
        char *dot = s ? strchr(s, '.') : NULL;
        if (dot)
                strcpy(dot, "Z");
        return s;
}
