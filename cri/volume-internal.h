/* SPDX-License-Identifier: Apache-2.0 */
/* Volumes, inside cri: the atomic writer (pkg/volume/util/atomic_writer.go), the safe subPath
 * walk and bind (pkg/volume/util/subpath/subpath_linux.go), and the file-system helpers both
 * use. Not a public interface: tests include it to reach the pieces one by one. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cri.h"

struct pod_resource_field_selector;

/* Caps on what a pod can make us write: a ConfigMap or Secret is at most 1 MiB in the API, a
 * projected volume may combine several. */
#define VOLUME_MAX_PAYLOAD_BYTES (32u * 1024u * 1024u)
#define VOLUME_MAX_FILES 10000u

/* ---- atomic writer ---------------------------------------------------------------------- */

struct aw_file {
        char *path; /* cleaned, relative, validated */
        char *data;
        size_t len;
        mode_t mode; /* permission bits, 0..07777 */
};

struct aw_payload {
        struct aw_file *files;
        size_t n;
        size_t bytes;
};

/* Add (or replace, as a map would) one file. The path is validated as upstream's validatePath
 * (relative, no '..' element, no leading '..' name, names <= 255, path <= 4096) and cleaned;
 * -EINVAL with err set when it is not acceptable, -E2BIG past the caps. */
int aw_payload_add(struct aw_payload *p, const char *path, const void *data, size_t len, mode_t mode,
                   nl_error *err);
void aw_payload_done(struct aw_payload *p);

/* Project the payload into target_dir (which must exist) as the kubelet does: files go into a
 * new "..<UTC timestamp>.<random>" directory (0755), fs_group (>= 0) is applied to the whole
 * volume, "..data_tmp" -> the new dir is renamed over "..data", user-visible top-level
 * symlinks "<name>" -> "..data/<name>" are made, names gone from the payload are unlinked and
 * the previous timestamped directory removed. Returns 1 when something was written, 0 when
 * the volume already held exactly this payload (content and mode), -errno with err set. */
int atomic_writer_write(const char *target_dir, const struct aw_payload *p, int64_t fs_group, nl_error *err);

/* SetVolumeOwnership (pkg/volume/volume_linux.go) on the tree at dir_fd, the directory
 * included: group gid on everything (lchown, symlinks too), then mode |= 0440 (read_only) or
 * 0660, plus 0110 and setgid for directories; symlinks are never chmod'ed or followed. */
int volume_set_ownership(int dir_fd, gid_t gid, bool read_only);

/* ---- file-system helpers ---------------------------------------------------------------- */

/* Remove name under dir_fd and everything below: symlinks are unlinked, never followed; a
 * mount point met on the way is detached (MNT_DETACH, through an O_PATH fd of it) and never
 * descended into. ENOENT is success. Deep trees are flattened rather than recursed into. */
int fs_remove_tree(int dir_fd, const char *name);

/* ---- subPath ---------------------------------------------------------------------------- */

/* Resolve subpath beneath the volume at volume_path, one component at a time with
 * openat(O_PATH|O_NOFOLLOW): a symlink is followed only while its target stays inside the
 * volume (relative targets, '..' that does not climb above the volume root, absolute targets
 * under the volume's real path), as upstream's EvalSymlinks + PathWithinBase + doSafeOpen
 * allow; anything else is -EXDEV. With create, missing directories are made with mode perm
 * (mkdirat + fchmod, as SafeMakeDir) and *ret_created set. Returns an O_PATH fd of the final,
 * non-symlink target in *ret_fd. */
int subpath_open(const char *volume_path, const char *subpath, bool create, mode_t perm, int *ret_fd,
                 bool *ret_created);
/* Bind-mount the inode behind fd (through /proc/self/fd/N, so a path swapped since the walk
 * changes nothing) onto target, creating target as a directory (0750) or an empty file (0640)
 * to match; a target already bound to the same inode is left as it is, one bound to another is
 * detached first. The parent of target must exist. */
int subpath_bind(int fd, const char *target);


