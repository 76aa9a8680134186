/* SPDX-License-Identifier: Apache-2.0 */
/* Static pod manifests (agent/source-file.c): a directory watched for Pod files. */
#pragma once

#include <systemd/sd-event.h>

#include "common/time-util.h"
#include "common/util.h"

struct pod;

/* What one manifest file defines now: its pods (already through podspec defaults, validation
 * and the static-pod rules; owned by the callee after the call), or an error text when the
 * file does not parse or validate (then pods is empty). A removed file reports no pods and no
 * error. */
typedef void (*file_source_update_fn)(const char *path, struct pod **pods, size_t n_pods, const char *error,
                                      void *userdata);

struct file_source;

/* Watch dir with inotify (create, close-write, moved-to/from, delete) and rescan it every
 * `rescan` (the kubelet's fileCheckFrequency): dot-files and subdirectories ignored, each
 * regular file one Pod or a List. A file is reported only when its content changed (or it
 * appeared/disappeared). A missing directory is not an error: it is watched for. */
int file_source_new(sd_event *event, const char *dir, const char *node_name, usec_t rescan,
                    file_source_update_fn fn, void *userdata, struct file_source **ret, nl_error *err);
void file_source_free(struct file_source *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct file_source *, file_source_free)
/* Scan now (also done once by file_source_new, from a deferred event). */
int file_source_rescan(struct file_source *s);
