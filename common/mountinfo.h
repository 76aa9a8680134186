/* SPDX-License-Identifier: Apache-2.0 */
/* /proc/<pid>/mountinfo (proc(5)): one parser for the sandbox (is a path a mount point), the
 * cgroup layout, the volumes' mount propagation and the shim's memory cgroup. */
#pragma once

#include "util.h"

#define MOUNTINFO_MAX_BYTES (16u * 1024u * 1024u) /* a node with many pods has many mounts */

/* One line: "id parent major:minor root mount-point options [optional...] - fstype source
 * super-options". The strings point into the parsed line, their \ooo escapes undone; source and
 * super_options are NULL when the line ends early. */
struct mountinfo_entry {
        uint64_t id, parent_id;
        const char *root, *mount_point, *options;
        bool shared, slave; /* optional fields "shared:N", "master:N" */
        const char *fstype, *source, *super_options;
};

/* Parse line, splitting and unescaping it in place; -EINVAL when it is not a mountinfo line. */
int mountinfo_parse_line(char *line, struct mountinfo_entry *ret);
/* mountinfo escapes space, tab, newline and backslash as \ooo: undo it in place. */
void mountinfo_unescape(char *s);
/* /proc/self/mountinfo, NUL-terminated, at most MOUNTINFO_MAX_BYTES. */
int mountinfo_read(char **ret);
/* Whether path (as the kernel prints it: absolute, no symlinks) is a mount point. */
bool mountinfo_is_mount_point(const char *path);
