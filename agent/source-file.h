/* SPDX-License-Identifier: Apache-2.0 */
/* Static pod manifests (agent/source-file.c): a directory watched for Pod files. */
#pragma once

#include <jansson.h>
#include <systemd/sd-event.h>

#include "common/time-util.h"
#include "common/util.h"

struct pod;

/* What one manifest file defines now: its pods (already through podspec defaults, validation
 * and the static-pod rules; each owned by the callee after the call), the data objects it
 * holds, the warnings for what it holds and nodelet does not run, or an error text when the
 * file does not parse or validate (then it defines nothing). A removed file reports nothing and
 * no error. */
struct file_update {
        struct pod **pods;
        size_t n_pods;
        /* [{"kind", "namespace", "name", "object"}]: ConfigMaps and Secrets as the API server
         * would store them (manifest_object_normalize); borrowed, never NULL */
        json_t *objects;
        char **warnings; /* "<path>[<doc>]: skipped Service \"web\" (v1): ...", borrowed */
        size_t n_warnings;
        const char *error;
};
typedef void (*file_source_update_fn)(const char *path, struct file_update *u, void *userdata);

struct file_source;

/* Watch dir with inotify (create, close-write, moved-to/from, delete) and rescan it every
 * `rescan` (the kubelet's fileCheckFrequency): dot-files and subdirectories ignored, each
 * regular file one Pod or a List. A file is reported only when its content changed (or it
 * appeared/disappeared). A missing directory is not an error: it is watched for. dir NULL: no
 * directory (--manifest-url alone). */
int file_source_new(sd_event *event, const char *dir, const char *node_name, usec_t rescan,
                    file_source_update_fn fn, void *userdata, struct file_source **ret, nl_error *err);
void file_source_free(struct file_source *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct file_source *, file_source_free)
/* Cluster mode: a file holds Pods only, as the kubelet requires; another kind is an error of
 * the file that says so. */
void file_source_set_pods_only(struct file_source *s, bool pods_only);
/* Also fetch url (--manifest-url, with "Name:value" headers) at each scan, with libcurl on the
 * loop; its answer is one more manifest, reported under the URL as its path. */
int file_source_set_url(struct file_source *s, const char *url, char *const *headers, size_t n_headers,
                        nl_error *err);
/* Scan now (also done once by file_source_new, from a deferred event). */
int file_source_rescan(struct file_source *s);
