/* SPDX-License-Identifier: Apache-2.0 */
/* Content store internals shared by store.c, unpack.c and import.c. Not a public API: tests
 * include it to lower the unpack caps and to look at the store's temp area. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "image.h"

/* Caps on what one layer may make us write. The ratio guard refuses a layer whose
 * uncompressed stream grows past both ratio * compressed size and ratio_floor bytes: a gzip
 * bomb is refused early, a well-compressed real layer (text, zeroes) of modest size is not. */
#define UNPACK_MAX_BYTES (64ull * 1024 * 1024 * 1024) /* uncompressed tar stream */
#define UNPACK_MAX_ENTRIES 1000000ull
#define UNPACK_MAX_RATIO 100ull
#define UNPACK_RATIO_FLOOR (1024ull * 1024 * 1024)
#define UNPACK_MAX_PATH 4096 /* bytes of an entry's path or link target */
#define UNPACK_MAX_DEPTH 256 /* path components */

struct unpack_limits {
        uint64_t max_bytes;
        uint64_t max_entries;
        uint64_t max_ratio;
        uint64_t ratio_floor;
        bool no_openat2; /* walk paths component by component even when openat2() exists */
};

/* Caps on an import archive (oci-archive or docker-archive). */
#define IMPORT_MAX_ENTRIES 65536u
#define IMPORT_MAX_BYTES (256ull * 1024 * 1024 * 1024)
#define IMPORT_MAX_JSON_BYTES (4u * 1024u * 1024u) /* index.json, oci-layout, manifest.json */
#define IMPORT_MAX_IMAGES 1024u

#define STORE_MAX_RECORD_BYTES (1024u * 1024u)
#define STORE_MAX_NAMES 1024u
#define STORE_MAX_NAME_LEN 1024u

struct image_store {
        char *root;
        int root_fd;
        int lock_fd;
        pid_t lock_pid;      /* the process lock_fd was opened by */
        unsigned lock_depth; /* flock is per open file: nested lock calls only count */
        bool lock_exclusive;
        char *session;  /* tmp/<session>: this handle's temp area, alive while session_fd is locked */
        char *tmp_dir;  /* <root>/tmp/<session> */
        int session_fd; /* tmp/<session>/.lock, held with LOCK_EX */
        struct unpack_limits limits;
};

/* Tests only: lower the unpack caps of this store handle (the defaults are the UNPACK_* above). */
void image_store_set_unpack_limits(struct image_store *s, const struct unpack_limits *l);

/* flock the store lock: LOCK_SH or LOCK_EX. Nested calls count; a shared holder asking for
 * exclusive gets -EDEADLK (flock would convert the lock non-atomically). */
int store_lock(struct image_store *s, bool exclusive);
void store_unlock(struct image_store *s);

/* Move a temp file of this handle whose sha256 is known (computed by the caller while writing
 * it) into blobs/. The file is consumed either way. */
int store_commit_known(struct image_store *s, const char *tmp_path, const char *digest, nl_error *err);

/* "blobs/sha256/<hex>" for a valid digest; -EINVAL otherwise. */
int store_blob_name(const char *digest, char ret[DIGEST_STRING_MAX + 16]);

/* A new directory in this handle's temp area: <tmp_dir>/<prefix>XXXXXX. */
int store_mkdtemp(struct image_store *s, const char *prefix, char **ret_path);

/* Does name carry a known layer media type? Sets *ret_ok. */
bool layer_media_type_known(const char *media_type);

static inline const char *digest_hex(const char *digest) {
        return digest + strlen("sha256:");
}
