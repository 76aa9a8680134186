/* SPDX-License-Identifier: Apache-2.0 */
/* Small things test files need again and again. */
#pragma once

#include <stddef.h>

#include "common/util.h"

/* The whole file (up to 256 MiB), NUL-terminated, or NULL; ret_len may be NULL. */
char *test_read_file(const char *path, size_t *ret_len);
/* system() of the formatted command: its exit status, or -1 when it did not exit. */
int test_sh(const char *fmt, ...) _printf_(1, 2);
