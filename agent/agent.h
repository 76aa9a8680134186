/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "common/util.h"

#define NODELET_VERSION "0.1.0"

/* Subcommands: take (argc, argv) with argv[0] the command's name; return the exit code. */
int cmd_validate(int argc, char **argv);

/* Read a whole file (or stdin for "-") up to max bytes; -EFBIG when larger. */
int read_file_capped(const char *path, size_t max, char **ret, size_t *ret_len);
