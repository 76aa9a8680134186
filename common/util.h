/* SPDX-License-Identifier: Apache-2.0 */
/* Small helpers shared by every nodelet library: cleanup attributes, ownership hand-over, the
 * user-facing error type (nl_error), string helpers, the growable buffer (nl_buf), quoting for
 * messages, base64. The functions are in util.c. */
#pragma once

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _cleanup_(f) __attribute__((cleanup(f)))
#define _warn_unused_result_ __attribute__((warn_unused_result))

static inline void freep(void *p) {
        free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

/* Close *fd unless it is negative, and make it -1 (errno kept). */
static inline void closep(int *fd) {
        if (*fd >= 0) {
                int saved = errno;
                close(*fd);
                errno = saved;
                *fd = -1;
        }
}
#define _cleanup_close_ _cleanup_(closep)

/* funcp(&p) calls func(p) unless p is NULL: the cleanup of a pointer whose type has a
 * destructor, declared once next to the destructor (systemd's DEFINE_TRIVIAL_CLEANUP_FUNC). */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)                                                    \
        static inline void func##p(type *p) {                                                      \
                if (*p)                                                                            \
                        func(*p);                                                                  \
        }

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir)
DEFINE_TRIVIAL_CLEANUP_FUNC(FILE *, fclose)
/* for files that include jansson.h (json_decrefp is jansson's) */
#define _cleanup_json_ _cleanup_(json_decrefp)

/* Hand ownership on: returns the value and clears the variable so its cleanup is a no-op. */
#define TAKE_PTR(p)                                                                                \
        ({                                                                                         \
                __typeof__(p) _p_ = (p);                                                           \
                (p) = NULL;                                                                        \
                _p_;                                                                               \
        })
#define TAKE_FD(fd)                                                                                \
        ({                                                                                         \
                int _fd_ = (fd);                                                                   \
                (fd) = -1;                                                                         \
                _fd_;                                                                              \
        })

/* A call whose failure changes nothing for the caller (best effort), under FORTIFY_SOURCE's
 * warn_unused_result: nl_ignore(chdir("/")). */
static inline void nl_ignore(long r) {
        (void) r;
}

static inline bool streq(const char *a, const char *b) {
        return strcmp(a, b) == 0;
}
static inline bool streq_ptr(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        return strcmp(a, b) == 0;
}
static inline bool isempty(const char *s) {
        return !s || !*s;
}
static inline const char *strempty(const char *s) {
        return s ? s : "";
}

/* A message for a user: what failed, naming the thing. */
typedef struct nl_error {
        int code;  /* -errno, or -EINVAL for bad input */
        char *msg; /* owned; NULL when no error */
} nl_error;

#define NL_ERROR_INIT { 0, NULL }

/* Set the error (replacing any previous one) and return code, so callers can
 * `return nl_error_set(err, -EINVAL, "...")`. err may be NULL. */
int nl_error_set(nl_error *err, int code, const char *fmt, ...) _printf_(3, 4);
int nl_error_setv(nl_error *err, int code, const char *fmt, va_list ap) _printf_(3, 0);
/* Prepend "<context>: " to the message; returns the error's code. */
int nl_error_prefix(nl_error *err, const char *fmt, ...) _printf_(2, 3);
void nl_error_clear(nl_error *err);

/* asprintf that returns NULL on failure instead of an undefined pointer. */
char *nl_strdupf(const char *fmt, ...) _printf_(1, 2);
char *nl_vstrdupf(const char *fmt, va_list ap) _printf_(1, 0);
/* In a function whose last named parameter is fmt: what fmt and the variable arguments make,
 * malloc'd; NULL when fmt is NULL or out of memory. */
#define NL_FORMAT_VA(fmt)                                                                          \
        ({                                                                                         \
                char *_s_ = NULL;                                                                  \
                if (fmt) {                                                                         \
                        va_list _ap_;                                                              \
                        va_start(_ap_, fmt);                                                       \
                        _s_ = nl_vstrdupf(fmt, _ap_);                                              \
                        va_end(_ap_);                                                              \
                }                                                                                  \
                _s_;                                                                               \
        })

/* s for an error message about input that may be hostile: at most max bytes ("..." after it),
 * control bytes, DEL, '"' and '\' written \xHH, and with ascii_only every byte above 0x7f too,
 * so that it cannot garble a log, an Event or a terminal. NULL only when out of memory. */
char *nl_quote(const char *s, size_t max, bool ascii_only);

/* Parse a whole base-10 integer; -EINVAL unless the string is entirely a number, -ERANGE
 * when out of [min, max]. */
int nl_parse_int64(const char *s, int64_t min, int64_t max, int64_t *ret);

/* Growable string buffer for building messages and output. */
typedef struct nl_buf {
        char *data;
        size_t len, cap;
        bool oom;
} nl_buf;

void nl_buf_append(nl_buf *b, const char *s, size_t n);
void nl_buf_puts(nl_buf *b, const char *s);
void nl_buf_printf(nl_buf *b, const char *fmt, ...) _printf_(2, 3);
/* Returns the string (never NULL unless out of memory) and resets the buffer. */
char *nl_buf_steal(nl_buf *b);
void nl_buf_free(nl_buf *b);

/* Standard base64 as Go's encoding/base64: padded (StdEncoding: whole quanta, "=" only at the
 * end) or raw (RawStdEncoding: no "="), \r and \n skipped anywhere -> malloc'd bytes,
 * NUL-terminated; -EINVAL on a character outside the alphabet or a bad length. */
int nl_base64_decode_n(const char *s, size_t len, bool padded, char **ret, size_t *ret_len);
/* The same for a string, padded when it ends in "=", raw otherwise. */
int nl_base64_decode(const char *s, char **ret, size_t *ret_len);

/* a + b for counts and quantities that must not wrap: INT64_MAX (or INT64_MIN) at the edge */
static inline int64_t nl_sat_add(int64_t a, int64_t b) {
        int64_t r;
        if (__builtin_add_overflow(a, b, &r))
                return b > 0 ? INT64_MAX : INT64_MIN;
        return r;
}
