/* SPDX-License-Identifier: Apache-2.0 */
/* cri/image: the image service, the CRI's ImageService: references, digests, manifests and
 * image configs, the content store (blobs, unpacked layers, image records), layer unpacking,
 * import of OCI layouts and archives, the registry client, and the pull policy with its
 * back-off. It needs nothing of the rest of cri/ (only common/); the runtime side uses it
 * through this header. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "common/time-util.h"
#include "common/util.h"

/* ==== image references (github.com/distribution/reference grammar) ======================== */

struct image_ref {
        char *domain; /* "docker.io", "127.0.0.1:5000", "registry.example.com" */
        char *path;   /* "library/busybox", "team/app" */
        char *tag;    /* NULL when the reference has only a digest */
        char *digest; /* "sha256:<64 lowercase hex>" or NULL */
};

/* Parse and normalize as the kubelet/containerd do: no domain -> docker.io, a single path
 * component on docker.io -> library/<name>, neither tag nor digest -> tag "latest". A
 * reference with both keeps both (the digest decides what is pulled). Uppercase in the path,
 * bad tags (>128 chars, bad charset), bad digests, empty input: -EINVAL with a message that
 * the pod worker reports under the reason InvalidImageName. */
int image_ref_parse(const char *s, struct image_ref *ret, nl_error *err);
/* "docker.io/library/busybox:latest", "host:5000/a/b@sha256:...", "x/y:t@sha256:..." */
char *image_ref_string(const struct image_ref *r);
/* "docker.io/library/busybox" */
char *image_ref_repository(const struct image_ref *r);
void image_ref_done(struct image_ref *r);

/* ==== digests ============================================================================ */

#define DIGEST_STRING_MAX 72 /* "sha256:" + 64 hex + NUL */

/* "sha256:" followed by exactly 64 lowercase hex digits (the only algorithm we accept). */
bool digest_is_valid(const char *d);
int digest_buffer(const void *buf, size_t len, char ret[DIGEST_STRING_MAX]);

typedef struct digester digester;
digester *digester_new(void);
int digester_update(digester *d, const void *buf, size_t len);
int digester_final(digester *d, char ret[DIGEST_STRING_MAX]); /* d may be reused after */
void digester_free(digester *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(digester *, digester_free)

/* ==== manifests, indexes, image configs ================================================== */

#define MEDIA_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MEDIA_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MEDIA_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define MEDIA_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define MEDIA_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define MEDIA_OCI_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define MEDIA_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MEDIA_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MEDIA_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define MEDIA_DOCKER_LAYER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define MEDIA_DOCKER_LAYER_FOREIGN "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

#define IMAGE_MAX_MANIFEST_BYTES (4u * 1024u * 1024u) /* as containerd's limit */
#define IMAGE_MAX_CONFIG_BYTES (8u * 1024u * 1024u)
#define IMAGE_MAX_LAYERS 256

struct oci_platform {
        char *os, *architecture, *variant;
};

struct oci_descriptor {
        char *media_type;
        char *digest;
        int64_t size;
        struct oci_platform platform; /* index entries only; fields NULL when absent */
        json_t *annotations;          /* or NULL */
};

enum oci_kind { OCI_KIND_MANIFEST, OCI_KIND_INDEX };

struct oci_manifest {
        enum oci_kind kind;
        char *media_type; /* from the document's mediaType, else from the hint */
        /* OCI_KIND_MANIFEST */
        struct oci_descriptor config;
        struct oci_descriptor *layers;
        size_t n_layers;
        /* OCI_KIND_INDEX */
        struct oci_descriptor *manifests;
        size_t n_manifests;
};

/* Parse an image manifest or index (OCI and Docker schema 2; schema 1 is refused with a clear
 * error). content_type is the registry's Content-Type or NULL; the document's own mediaType
 * wins when present. Validates digests, sizes (>= 0), layer media types, counts. */
int oci_manifest_parse(const char *buf, size_t len, const char *content_type, struct oci_manifest **ret,
                       nl_error *err);
void oci_manifest_free(struct oci_manifest *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct oci_manifest *, oci_manifest_free)

/* This node's platform: GOOS/GOARCH names ("linux", "amd64"/"arm64"/...), variant for arm. */
void oci_platform_host(struct oci_platform *ret); /* static strings, do not free */
/* Pick the index entry for the platform as containerd's default matcher does (exact os/arch,
 * variant match or compatible fallback, e.g. arm64 accepts "v8" and ""). -ENOENT with a message
 * listing the platforms the index has when none fits. */
int oci_index_select(const struct oci_manifest *index, const struct oci_platform *p,
                     const struct oci_descriptor **ret, nl_error *err);

struct image_config {
        char *os, *architecture, *variant, *created, *author;
        char **entrypoint, **cmd, **env, **exposed_ports; /* NULL-terminated, each may be NULL */
        size_t n_entrypoint, n_cmd, n_env, n_exposed_ports;
        char *working_dir, *user, *stop_signal;
        json_t *labels;  /* object or NULL */
        char **diff_ids; /* rootfs.diff_ids, "sha256:..." */
        size_t n_diff_ids;
        json_t *history; /* array or NULL */
};

int image_config_parse(const char *buf, size_t len, struct image_config **ret, nl_error *err);
void image_config_free(struct image_config *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct image_config *, image_config_free)

/* chain ID of layer n = diff_id[0] if n == 0, else sha256(chain[n-1] + " " + diff_id[n]). */
int image_chain_ids(char *const *diff_ids, size_t n, char ***ret);

/* ==== content store ====================================================================== */

/* Layout under root (e.g. /var/lib/nodelet/images):
 *   blobs/sha256/<hex>        content-addressed, verified on write
 *   layers/<chain hex>/rootfs unpacked layers (overlay lower dirs), with a "diff_id" file
 *   images/<config hex>.json  one record per image: names, manifest, config, layers, sizes
 *   tmp/                      partial downloads and unpacks; cleared of stale entries on open
 *   lock                      flock: LOCK_SH for readers, LOCK_EX for writers, so the CLI and
 *                             the daemon can share a store
 * Every write is temp + fsync + rename; a record is written only after everything it names is
 * in place, so a crash never leaves an image that looks whole. */
struct image_store;

int image_store_open(const char *root, struct image_store **ret, nl_error *err);
void image_store_close(struct image_store *s);
const char *image_store_root(const struct image_store *s);

bool image_store_has_blob(struct image_store *s, const char *digest);
char *image_store_blob_path(struct image_store *s, const char *digest);
/* A new temp file in tmp/ (O_RDWR|O_CLOEXEC); the caller writes, then commits or unlinks. */
int image_store_tmpfile(struct image_store *s, char **ret_path, int *ret_fd);
/* Verify the temp file's sha256 (and size when expected_size >= 0) and move it into blobs/.
 * A mismatch unlinks the temp file and fails with a message naming the expected digest. */
int image_store_commit_blob(struct image_store *s, const char *tmp_path, const char *expected_digest,
                            int64_t expected_size, nl_error *err);
/* Store a buffer as a blob; expected_digest NULL computes it. */
int image_store_put_blob(struct image_store *s, const void *buf, size_t len, const char *expected_digest,
                         char ret_digest[DIGEST_STRING_MAX], nl_error *err);
int image_store_read_blob(struct image_store *s, const char *digest, size_t max, char **ret, size_t *ret_len,
                          nl_error *err);

/* Unpack the layer blob (tar, tar+gzip or tar+zstd, by media type) onto nothing (each layer is
 * its own overlay lower dir) in a child process with libarchive: ownership, modes, times,
 * xattrs, hardlinks, symlinks kept; OCI whiteouts (.wh.<name> -> 0:0 char device,
 * .wh..wh..opq -> trusted.overlay.opaque=y); entries with '..' components, absolute links that
 * the tar would follow, hardlinks or symlinks that lead out of the layer, and device nodes
 * outside a privileged context refused. The uncompressed stream's sha256 must equal diff_id.
 * Already-unpacked chain IDs are reused. Writes layers/<chain>/ atomically (unpack to tmp/,
 * then rename). */
int image_store_unpack_layer(struct image_store *s, const char *blob_digest, const char *media_type,
                             const char *diff_id, const char *chain_id, nl_error *err);
bool image_store_has_layer(struct image_store *s, const char *chain_id);

/* The two slow calls above, run in a forked child of the caller while its sd-event loop goes
 * on: a layer of a million files or a blob of gigabytes takes minutes to unpack, sync or hash,
 * and a daemon's loop must keep its probes, its Lease and its watchdog going meanwhile. The
 * child does exactly what the blocking call does (the store stays crash-safe: a killed child
 * is a crash) and sends "<code>\n<message>" through a pipe; the loop sees its exit on a
 * pidfd, so SIGCHLD need not be blocked. done is called once, from the loop, never from the
 * start call, after the job is gone (drop your pointer to it first thing). A start that fails
 * returns -errno with err set and never calls done. */
struct image_store_job;
typedef void (*image_store_job_done_fn)(int r, const nl_error *err, void *userdata);
int image_store_unpack_layer_async(struct image_store *s, sd_event *event, const char *blob_digest,
                                   const char *media_type, const char *diff_id, const char *chain_id,
                                   image_store_job_done_fn done, void *userdata, struct image_store_job **ret,
                                   nl_error *err);
int image_store_commit_blob_async(struct image_store *s, sd_event *event, const char *tmp_path,
                                  const char *expected_digest, int64_t expected_size,
                                  image_store_job_done_fn done, void *userdata, struct image_store_job **ret,
                                  nl_error *err);
/* Stop waiting: the child is killed (what it leaves is a crash's, cleared by the store) and
 * reaped from the loop when it is gone; done is not called. Accepts NULL. */
void image_store_job_cancel(struct image_store_job *j);
char *image_store_layer_path(struct image_store *s, const char *chain_id); /* .../rootfs */

struct image_info {
        char *id;              /* config digest */
        char *manifest_digest; /* the platform manifest */
        char *index_digest;    /* the index it was selected from, or NULL */
        char **names;          /* canonical references ("docker.io/library/busybox:latest") */
        size_t n_names;
        char **repo_digests; /* "docker.io/library/busybox@sha256:..." (index digest if any) */
        size_t n_repo_digests;
        char **chain_ids; /* bottom layer first */
        size_t n_chain_ids;
        int64_t size;      /* compressed layers + config, as the kubelet reports image size */
        usec_t created;    /* CLOCK_REALTIME, when stored */
        usec_t last_used;  /* CLOCK_REALTIME, touched by image_store_touch */
        struct image_config *config;
};

/* Record an image whose manifest, config and unpacked layers are all in the store, and point
 * name (a canonical reference string, may be NULL for digest-only pulls) at it; the name moves
 * from any image that had it. */
int image_store_add_image(struct image_store *s, const char *name, const char *manifest_digest,
                          const char *index_digest, nl_error *err);
/* Find by canonical name, by id ("sha256:..." or a unique hex prefix of at least 12), or by
 * repo digest. -ENOENT when absent. */
int image_store_lookup(struct image_store *s, const char *name_or_id, struct image_info **ret, nl_error *err);
int image_store_list(struct image_store *s, struct image_info ***ret, size_t *ret_n, nl_error *err);
void image_info_free(struct image_info *i);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct image_info *, image_info_free)
void image_info_list_free(struct image_info **l, size_t n);
int image_store_touch(struct image_store *s, const char *id);
/* Remove a name; the image goes when it has no names left. Unreferenced blobs and layers go. */
int image_store_remove(struct image_store *s, const char *name_or_id, nl_error *err);
/* Remove images not in in_use (ids), oldest last_used first, until the filesystem's usage is
 * at most low_pct, but only if it is above high_pct (the kubelet's 85/80). high_pct 0 removes
 * every unused image (prune). Returns the number of images removed. */
int image_store_gc(struct image_store *s, char *const *in_use, size_t n_in_use, int high_pct, int low_pct,
                   nl_error *err);

/* ==== import ============================================================================= */

/* Import every image of an OCI image layout directory, an oci-archive tar (a layout in a tar)
 * or a docker-archive tar (`docker save`: manifest.json + repositories), detected from the
 * content. Names come from the layout's org.opencontainers.image.ref.name annotations (a bare
 * tag is taken relative to default_repo, which may be NULL) or docker-archive RepoTags. Returns
 * the number of images imported. */
int image_import(struct image_store *s, const char *path, const char *default_repo, nl_error *err);

/* ==== registry client ===================================================================== */

struct registry_host_config {
        char *host;     /* "127.0.0.1:5000", "docker.io" */
        bool insecure;  /* plain HTTP, or TLS without verification */
        char *ca_file;  /* extra CA for this registry, or NULL */
        char **mirrors; /* tried in order before the host itself: "https://mirror:5000" */
        size_t n_mirrors;
};

struct registry_config {
        struct registry_host_config *hosts;
        size_t n_hosts;
        char *auth_file; /* docker config.json-style credentials ("auths"), or NULL */
        unsigned max_parallel_blobs; /* default 4 */
        unsigned retries;            /* per blob, default 3, with resume via Range */
};

/* Add one registry setting, as the flags give them: kind is "insecure" (HOST), "ca" (HOST=FILE)
 * or "mirror" (HOST=URL); settings for the same host go together. */
int registry_config_add(struct registry_config *c, const char *kind, const char *arg, nl_error *err);
void registry_config_done(struct registry_config *c);

struct registry_client;

/* The client runs on the caller's sd-event loop (curl multi driven by io and timer sources).
 * Credentials given here override the auth file (the cluster-mode issue passes
 * imagePullSecrets this way). */
int registry_client_new(sd_event *event, struct image_store *store, const struct registry_config *cfg,
                        struct registry_client **ret);
void registry_client_free(struct registry_client *c);

enum pull_error_kind {
        PULL_OK = 0,
        PULL_ERR_INVALID_NAME,    /* InvalidImageName */
        PULL_ERR_UNAVAILABLE,     /* RegistryUnavailable: could not connect, 5xx */
        PULL_ERR_NOT_FOUND,       /* ErrImagePull: manifest unknown */
        PULL_ERR_AUTH,            /* ErrImagePull: 401/403 after auth */
        PULL_ERR_DIGEST,          /* ErrImagePull: content did not match its digest */
        PULL_ERR_PLATFORM,        /* ErrImagePull: no manifest for this platform */
        PULL_ERR_OTHER,           /* ErrImagePull */
};

struct pull_progress {
        const char *digest; /* layer or config being fetched */
        int64_t done, total;
};

typedef void (*pull_progress_fn)(const struct pull_progress *p, void *userdata);
/* On success image_id is the config digest and err is NULL. */
typedef void (*pull_done_fn)(int r, enum pull_error_kind kind, const char *image_id, const nl_error *err,
                             void *userdata);

/* Pull ref into the store: manifest (selecting this platform from an index), config and
 * layers downloaded in parallel, each verified, layers unpacked, image recorded. A pull of a
 * reference already being pulled joins it (one download, every caller called back). Blobs
 * already in the store are not fetched again. Credentials: username/password may be NULL. */
int registry_pull(struct registry_client *c, const struct image_ref *ref, const char *username,
                  const char *password, pull_progress_fn progress, pull_done_fn done, void *userdata);

/* ==== pull policy and backoff ============================================================= */
/* What the pod worker does about a container's image, and the kubelet's waiting reasons. */

enum image_action {
        IMAGE_USE,       /* present and the policy allows it: use it */
        IMAGE_PULL,      /* pull now */
        IMAGE_BACKOFF,   /* a recent pull failed: wait (reason ImagePullBackOff) */
        IMAGE_NEVER,     /* policy Never and not present (reason ErrImageNeverPull) */
};

struct image_pull_backoff; /* per (pod UID, image) failure history */

struct image_pull_backoff *image_pull_backoff_new(void);
void image_pull_backoff_free(struct image_pull_backoff *b);

/* Decide for policy "Always", "IfNotPresent" or "Never" given whether the image is in the
 * store; while a backoff for (key) is running, IMAGE_PULL becomes IMAGE_BACKOFF and
 * *ret_wait says how long is left. now is CLOCK_MONOTONIC. */
enum image_action image_pull_decide(struct image_pull_backoff *b, const char *key, const char *policy,
                                    bool present, usec_t now, usec_t *ret_wait);
/* Record a failed pull: the kubelet's backoff, 10 s doubling to 300 s, forgotten after twice
 * the maximum without failures. */
void image_pull_failed(struct image_pull_backoff *b, const char *key, usec_t now);
void image_pull_succeeded(struct image_pull_backoff *b, const char *key);

/* The kubelet's waiting reason for a failed pull ("ErrImagePull", "RegistryUnavailable",
 * "InvalidImageName"), and the message it shows for the policy Never case. */
const char *image_pull_error_reason(enum pull_error_kind kind);
char *image_never_pull_message(const char *image);
