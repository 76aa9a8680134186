/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdint.h>

typedef uint64_t usec_t;

#define USEC_PER_SEC ((usec_t) 1000000ULL)
#define USEC_PER_MSEC ((usec_t) 1000ULL)
#define NSEC_PER_USEC ((usec_t) 1000ULL)
#define NSEC_PER_SEC ((usec_t) 1000000000ULL)

usec_t now_realtime(void);
usec_t now_monotonic(void);
/* RFC3339Nano in UTC, as Kubernetes prints times with nanoseconds. */
char *format_rfc3339nano(usec_t realtime_usec);
/* RFC3339 in whole seconds ("2026-11-29T02:48:00Z"), as metav1.Time marshals; NULL for 0. */
char *format_rfc3339(usec_t realtime_usec);
/* Parses what format_rfc3339nano writes (and plain RFC3339); 0 on error. */
usec_t parse_rfc3339(const char *s);
