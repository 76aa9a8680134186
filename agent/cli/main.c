/* SPDX-License-Identifier: Apache-2.0 */
/* nodelet: one binary, subcommands. Each subcommand is a small function over library code. */
#include <stdio.h>

#include "cli.h"

static int help(void) {
        printf("Usage: nodelet COMMAND [OPTIONS]\n"
               "\n"
               "A Kubernetes node agent.\n"
               "\n"
               "Commands:\n"
               "  validate [--strict] [-o json|yaml] FILE...\n"
               "                 Check Pod manifests as the API server would and print every error;\n"
               "                 with -o, print the Pods with the API server's defaults applied.\n"
               "  run [OPTIONS]  Run the node agent (static pods from --pod-manifest-path).\n"
               "  pods           List the node's pods with their status.\n"
               "  workloads      List static mode's workloads (Deployments, Jobs, ...) with their status.\n"
               "  get pod NAME   Print a pod with its status (-o json|yaml).\n"
               "  describe POD   A pod's containers, conditions and events.\n"
               "  logs POD [C]   Print a container's log (-p previous, -f follow).\n"
               "  exec POD -- C  Run a command in a running container.\n"
               "  attach POD     Attach to a running container's output (and -i: stdin).\n"
               "  port-forward POD LOCAL:REMOTE  Forward a local port to a port in the pod.\n"
               "  images COMMAND Manage the node's images: pull, ls, inspect, rm, prune, import.\n"
               "  version        Print the version.\n"
               "  help           Show this help.\n"
               "\n"
               "Run 'nodelet COMMAND --help' for a command's options.\n");
        return 0;
}

int main(int argc, char **argv) {
        if (argc < 2) {
                help();
                return 2;
        }
        const char *cmd = argv[1];
        if (streq(cmd, "validate"))
                return cmd_validate(argc - 1, argv + 1);
        if (streq(cmd, "images"))
                return cmd_images(argc - 1, argv + 1);
        if (streq(cmd, "run"))
                return cmd_run(argc - 1, argv + 1);
        if (streq(cmd, "pods"))
                return cmd_pods(argc - 1, argv + 1);
        if (streq(cmd, "workloads"))
                return cmd_workloads(argc - 1, argv + 1);
        if (streq(cmd, "get"))
                return cmd_get(argc - 1, argv + 1);
        if (streq(cmd, "describe"))
                return cmd_describe(argc - 1, argv + 1);
        if (streq(cmd, "logs"))
                return cmd_logs(argc - 1, argv + 1);
        if (streq(cmd, "exec"))
                return cmd_exec(argc - 1, argv + 1);
        if (streq(cmd, "attach"))
                return cmd_attach(argc - 1, argv + 1);
        if (streq(cmd, "port-forward"))
                return cmd_port_forward(argc - 1, argv + 1);
        if (streq(cmd, "version") || streq(cmd, "--version")) {
                printf("nodelet %s\n", NODELET_VERSION);
                return 0;
        }
        if (streq(cmd, "help") || streq(cmd, "--help") || streq(cmd, "-h"))
                return help();
        fprintf(stderr, "nodelet: unknown command \"%s\"; see 'nodelet help'\n", cmd);
        return 2;
}
