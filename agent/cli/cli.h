/* SPDX-License-Identifier: Apache-2.0 */
/* The nodelet binary's subcommands (agent/cli/): each a small function over library code, as
 * STYLE.md asks: main.c dispatches, run.c starts the daemon, the others read the node's state
 * (agent/state/) or work on the image store. */
#pragma once

#include "agent/config.h"
#include "common/util.h"

/* Subcommands: take (argc, argv) with argv[0] the command's name; return the exit code. */
int cmd_validate(int argc, char **argv);
int cmd_images(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_pods(int argc, char **argv);
int cmd_get(int argc, char **argv);
int cmd_workloads(int argc, char **argv);
int cmd_describe(int argc, char **argv);
int cmd_logs(int argc, char **argv);
int cmd_exec(int argc, char **argv);
int cmd_attach(int argc, char **argv);
int cmd_port_forward(int argc, char **argv);
