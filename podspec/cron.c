/* SPDX-License-Identifier: Apache-2.0 */
/* A CronJob's schedule: the standard five fields (minute hour day-of-month month day-of-week)
 * with lists, ranges, steps, month and weekday names, and the @-macros, as the CronJob
 * controller's parser (robfig/cron's standard parser) takes them. Pure: the time zone is the
 * process's (the caller sets TZ for a CronJob's timeZone). */
#include <ctype.h>
#include <stdio.h>
#include <strings.h>
#include <time.h>

#include "internal.h"

static const char *const months[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                     "jul", "aug", "sep", "oct", "nov", "dec"};
static const char *const days[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

static int parse_value(const char *s, size_t n, unsigned min, unsigned max, const char *const *names,
                       unsigned names_base, unsigned *ret) {
        if (n == 0 || n > 10)
                return -EINVAL;
        if (names && n == 3)
                for (unsigned i = 0; i <= max - min && i < 12; i++)
                        if (names[i] && strncasecmp(s, names[i], 3) == 0) {
                                *ret = names_base + i;
                                return 0;
                        }
        unsigned v = 0;
        for (size_t i = 0; i < n; i++) {
                if (!isdigit((unsigned char) s[i]))
                        return -EINVAL;
                v = v * 10 + (unsigned) (s[i] - '0');
        }
        if (v < min || v > max)
                return -EINVAL;
        *ret = v;
        return 0;
}

/* One field: "a,b-c,*\/n,d-e/n" -> bits. *star tells whether it began with '*' or '?'. */
static int parse_field(const char *s, size_t len, unsigned min, unsigned max, const char *const *names,
                       unsigned names_base, uint64_t *ret, bool *star) {
        uint64_t bits = 0;
        *star = len > 0 && (s[0] == '*' || s[0] == '?');
        const char *end = s + len;
        while (s < end) {
                const char *comma = memchr(s, ',', (size_t) (end - s));
                const char *item_end = comma ? comma : end;
                const char *slash = memchr(s, '/', (size_t) (item_end - s));
                const char *range_end = slash ? slash : item_end;
                unsigned lo, hi, step = 1;
                if (range_end - s == 1 && (s[0] == '*' || s[0] == '?')) {
                        lo = min;
                        hi = max;
                } else {
                        const char *dash = memchr(s, '-', (size_t) (range_end - s));
                        if (parse_value(s, (size_t) ((dash ? dash : range_end) - s), min, max, names, names_base, &lo) < 0)
                                return -EINVAL;
                        hi = lo;
                        if (dash && parse_value(dash + 1, (size_t) (range_end - dash - 1), min, max, names,
                                                names_base, &hi) < 0)
                                return -EINVAL;
                        if (hi < lo)
                                return -EINVAL;
                        if (slash && !dash)
                                hi = max; /* "5/15": from 5 to the end */
                }
                if (slash && (parse_value(slash + 1, (size_t) (item_end - slash - 1), 1, 1000, NULL, 0, &step) < 0))
                        return -EINVAL;
                for (unsigned v = lo; v <= hi; v += step)
                        bits |= 1ULL << v;
                s = comma ? comma + 1 : end;
                if (comma && s == end)
                        return -EINVAL;
        }
        if (!bits)
                return -EINVAL;
        *ret = bits;
        return 0;
}

int cron_parse(const char *expr, struct cron *ret) {
        static const struct {
                const char *name, *expr;
        } macros[] = {
                {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
                {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
                {"@hourly", "0 * * * *"},
        };
        if (!expr || strlen(expr) > 256)
                return -EINVAL;
        while (isspace((unsigned char) *expr))
                expr++;
        for (size_t i = 0; i < ELEMENTSOF(macros); i++) {
                size_t n = strlen(macros[i].name);
                if (strncmp(expr, macros[i].name, n) == 0 && (expr[n] == '\0' || isspace((unsigned char) expr[n])))
                        return cron_parse(macros[i].expr, ret);
        }
        const char *f[5];
        size_t len[5], n = 0;
        for (const char *p = expr; *p;) {
                while (isspace((unsigned char) *p))
                        p++;
                if (!*p)
                        break;
                if (n == 5)
                        return -EINVAL;
                f[n] = p;
                while (*p && !isspace((unsigned char) *p))
                        p++;
                len[n] = (size_t) (p - f[n]);
                n++;
        }
        if (n != 5)
                return -EINVAL;
        struct cron c = {};
        bool star, dom_star, dow_star;
        uint64_t dow;
        if (parse_field(f[0], len[0], 0, 59, NULL, 0, &c.minutes, &star) < 0 ||
            parse_field(f[1], len[1], 0, 23, NULL, 0, &c.hours, &star) < 0 ||
            parse_field(f[2], len[2], 1, 31, NULL, 0, &c.days_of_month, &dom_star) < 0 ||
            parse_field(f[3], len[3], 1, 12, months, 1, &c.months, &star) < 0 ||
            parse_field(f[4], len[4], 0, 7, days, 0, &dow, &dow_star) < 0)
                return -EINVAL;
        if (dow & (1ULL << 7)) /* 7 is Sunday too */
                dow = (dow | 1ULL) & ~(1ULL << 7);
        c.days_of_week = dow;
        /* as robfig/cron: a field given as '*' leaves the day to the other field alone */
        c.day_or = !dom_star && !dow_star;
        c.dom_star = dom_star;
        c.dow_star = dow_star;
        *ret = c;
        return 0;
}

static bool day_matches(const struct cron *c, const struct tm *tm) {
        bool dom = c->days_of_month & (1ULL << tm->tm_mday), dow = c->days_of_week & (1ULL << tm->tm_wday);
        if (c->day_or)
                return dom || dow;
        return dom && dow;
}

time_t cron_next(const struct cron *c, time_t after) {
        struct tm tm;
        time_t t = after - after % 60 + 60; /* the next whole minute */
        if (!localtime_r(&t, &tm))
                return 0;
        /* day by day (at most 5 years: "0 0 30 2 *" never comes), then the day's hours and minutes */
        for (int day = 0; day < 5 * 366; day++) {
                if ((c->months & (1ULL << (tm.tm_mon + 1))) && day_matches(c, &tm)) {
                        for (int h = day == 0 ? tm.tm_hour : 0; h < 24; h++) {
                                if (!(c->hours & (1ULL << h)))
                                        continue;
                                for (int m = day == 0 && h == tm.tm_hour ? tm.tm_min : 0; m < 60; m++) {
                                        if (!(c->minutes & (1ULL << m)))
                                                continue;
                                        struct tm x = tm;
                                        x.tm_hour = h;
                                        x.tm_min = m;
                                        x.tm_sec = 0;
                                        x.tm_isdst = -1;
                                        time_t r = mktime(&x);
                                        /* a time the clock skips (DST) comes out shifted: take
                                         * it only if it is still ahead */
                                        if (r != (time_t) -1 && r > after)
                                                return r;
                                }
                        }
                }
                /* the next day at 00:00 */
                tm.tm_mday++;
                tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
                tm.tm_isdst = -1;
                time_t nt = mktime(&tm);
                if (nt == (time_t) -1 || !localtime_r(&nt, &tm))
                        return 0;
        }
        return 0;
}
