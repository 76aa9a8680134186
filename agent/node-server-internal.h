/* SPDX-License-Identifier: Apache-2.0 */
/* Inside the node server: what node-server.c, node-logs.c and node-stats.c share. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

/* node-logs.c */
/* o[a][b][c] as a string (b, c may be NULL), or NULL. */
const char *jpath_str(const json_t *o, const char *a, const char *b, const char *c);
/* A path component a request may name: not empty, not "." or "..", no '/' or NUL. */
bool path_component_ok(const char *s);
/* The pod status lists that hold container statuses. */
extern const char *const status_lists[3];

/* node-stats.c: the Summary API's JSON, and the /metrics/resource text. */
int node_stats_summary(const char *root_dir, const char *node_name, json_t **ret);
int node_stats_resource_metrics(const char *root_dir, FILE *out);
