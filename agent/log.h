/* SPDX-License-Identifier: Apache-2.0 */
/* The daemon's log (agent/log.c). Libraries never log; the agent does, once, where it decides
 * what to do. */
#pragma once

#include "common/util.h"

/* The level logged up to: 0 errors ... 4 debug (-v). */
extern int arg_log_level;

/* Lines go to stderr only from now on, never through sd_journal_send: for a child that closed
 * the daemon's descriptors (libsystemd's journal socket among them, cached by number). */
void log_plain_only(void);

/* Logging: plain lines on stderr, with a level. */
void log_msg(int level, const char *fmt, ...) _printf_(2, 3);
/* With the pod's name and UID (and container) as journal fields when logging to journald. */
void log_pod(int level, const char *pod, const char *uid, const char *container, const char *fmt, ...)
        _printf_(5, 6);
#define log_error(...) log_msg(0, __VA_ARGS__)
#define log_warning(...) log_msg(1, __VA_ARGS__)
#define log_info(...) log_msg(2, __VA_ARGS__)
#define log_debug(...) log_msg(4, __VA_ARGS__)
