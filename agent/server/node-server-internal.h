/* SPDX-License-Identifier: Apache-2.0 */
/* Inside the node server: what node-server.c and node-stats.c share. */
#pragma once

#include <jansson.h>
#include <stdio.h>

/* node-stats.c: the Summary API's JSON, and the /metrics/resource text. */
int node_stats_summary(const char *root_dir, const char *node_name, json_t **ret);
int node_stats_resource_metrics(const char *root_dir, FILE *out);
