/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "common/util.h"

#define NODELET_VERSION "0.1.0"

/* Subcommands: take (argc, argv) with argv[0] the command's name; return the exit code. */
int cmd_validate(int argc, char **argv);
int cmd_images(int argc, char **argv);

/* Registry settings shared by `images` and `run`: kind is "insecure" (HOST), "ca" (HOST=FILE)
 * or "mirror" (HOST=URL). */
struct registry_config;
int registry_config_add(struct registry_config *c, const char *kind, const char *arg, nl_error *err);
void registry_config_done(struct registry_config *c);

/* Read a whole file (or stdin for "-") up to max bytes; -EFBIG when larger. */
int read_file_capped(const char *path, size_t max, char **ret, size_t *ret_len);
