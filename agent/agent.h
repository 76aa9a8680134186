/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "common/util.h"
#include "config.h"

/* Subcommands: take (argc, argv) with argv[0] the command's name; return the exit code. */
int cmd_validate(int argc, char **argv);
int cmd_images(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_pods(int argc, char **argv);
int cmd_get(int argc, char **argv);
int cmd_describe(int argc, char **argv);
int cmd_logs(int argc, char **argv);
int cmd_exec(int argc, char **argv);

/* Read a whole file (or stdin for "-") up to max bytes; -EFBIG when larger. */
int read_file_capped(const char *path, size_t max, char **ret, size_t *ret_len);
