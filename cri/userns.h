/* SPDX-License-Identifier: Apache-2.0 */
/* cri internals for pods in their own user namespace (hostUsers: false): idmapped mounts, so
 * that what a container sees of the image, its volumes and its files keeps the IDs it has on
 * disk, whatever host IDs the pod's namespace maps them to. */
#pragma once

#include "cri.h"

/* Clone the mount tree at src (a directory or a file, its submounts too when recursive), give
 * the clone the ID mapping of the user namespace userns_fd, and attach it at dst (an existing
 * directory or file, of src's kind). A file written through dst by container ID n is stored as
 * n; one stored as n shows as n in the container. */
int userns_idmap_mount(const char *src, const char *dst, int userns_fd, bool recursive, nl_error *err);

/* /proc/<pid>/uid_map and gid_map of a process that just unshared its user namespace: container
 * IDs 0..size-1 are host IDs host_id..host_id+size-1, for users and groups alike. */
int userns_write_maps(pid_t pid, const struct cri_userns *u, nl_error *err);
