/* SPDX-License-Identifier: Apache-2.0 */
/* Blob downloads (configs and layers), shared by digest across every pull in flight: one
 * GET /v2/<name>/blobs/<digest> however many images want the blob. At most
 * max_parallel_blobs run at once; each is streamed into a temp file of the store, never past
 * its declared size, retried with a Range request from the bytes already written (from zero
 * when the server answers 200 instead of 206), and committed with the store's digest check. */
#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>

#include "registry-internal.h"

struct blob_waiter {
        struct pull_job *pull;
        blob_done_fn done;
        blob_progress_fn progress;
};

struct blob_job {
        struct registry_client *client;
        char *digest;
        char *media_type;
        int64_t size;
        struct reg_repo *repo; /* of the pull that asked first */
        size_t ep;

        struct blob_waiter *waiters;
        size_t n_waiters;

        bool running; /* holds one of the max_parallel_blobs slots */
        http_request *req;
        struct auth_op *auth;
        bool auth_tried; /* one authorization per attempt */
        sd_event_source *retry_timer;
        unsigned failures;

        char *tmp_path;
        int fd;
        struct image_store_job *commit; /* verifying and moving it into the store, off the loop */
        uint64_t reported; /* bytes last reported as progress */

        struct blob_job *prev, *next;
};

/* Report progress at most every this many bytes (and at the end). */
#define BLOB_PROGRESS_STEP (256u * 1024u)
#define BLOB_RETRY_BASE_USEC (250 * USEC_PER_MSEC)
#define BLOB_RETRY_MAX_USEC (4 * USEC_PER_SEC)

static void blob_schedule(struct registry_client *c);
static void attempt_start(struct blob_job *j);

static void job_unlink(struct blob_job *j) {
        struct registry_client *c = j->client;
        if (j->prev)
                j->prev->next = j->next;
        else if (c->blobs == j)
                c->blobs = j->next;
        if (j->next)
                j->next->prev = j->prev;
        j->prev = j->next = NULL;
}

static void job_free(struct blob_job *j) {
        job_unlink(j);
        if (j->running)
                j->client->n_blobs_running--;
        http_request_free(j->req);
        auth_op_cancel(j->auth);
        sd_event_source_disable_unref(j->retry_timer);
        image_store_job_cancel(j->commit);
        if (j->fd >= 0)
                close(j->fd);
        if (j->tmp_path)
                (void) unlink(j->tmp_path);
        free(j->tmp_path);
        reg_repo_unref(j->repo);
        free(j->waiters);
        free(j->digest);
        free(j->media_type);
        free(j);
}

/* The download is over: tell every pull waiting for it, then let the next one start. */
static void job_finish(struct blob_job *j, int r, enum pull_error_kind kind, const nl_error *err) {
        struct registry_client *c = j->client;
        struct blob_waiter *w = TAKE_PTR(j->waiters);
        size_t n = j->n_waiters;
        _cleanup_free_ char *digest = strdup(j->digest);

        j->n_waiters = 0;
        job_free(j);
        (void) sd_event_source_set_enabled(c->blob_schedule, SD_EVENT_ONESHOT);
        for (size_t i = 0; i < n; i++)
                w[i].done(w[i].pull, digest ? digest : "blob", r, kind, err);
        free(w);
}

static void job_fail(struct blob_job *j, int r, enum pull_error_kind kind, const char *fmt, ...)
        _printf_(4, 5);
static void job_fail(struct blob_job *j, int r, enum pull_error_kind kind, const char *fmt, ...) {
        _cleanup_free_ char *m = NL_FORMAT_VA(fmt);
        nl_error err = NL_ERROR_INIT;
        nl_error_set(&err, r, "%s", m ?: "blob download failed");
        job_finish(j, r, kind, &err);
        nl_error_clear(&err);
}

static void report_progress(struct blob_job *j, uint64_t done) {
        j->reported = done;
        for (size_t i = 0; i < j->n_waiters; i++)
                if (j->waiters[i].progress)
                        j->waiters[i].progress(j->waiters[i].pull, j->digest, (int64_t) done, j->size);
}

static void on_data(http_request *req, void *userdata) {
        struct blob_job *j = userdata;
        if (req->out_offset < j->reported || req->out_offset - j->reported >= BLOB_PROGRESS_STEP ||
            req->out_offset == (uint64_t) j->size)
                report_progress(j, req->out_offset);
}

static int on_retry_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct blob_job *j = userdata;
        j->retry_timer = sd_event_source_disable_unref(j->retry_timer);
        j->auth_tried = false;
        attempt_start(j);
        return 0;
}

/* A failure worth another try: after a backoff, resume from what is on disk. Past the retry
 * budget, a mirror gives way to the next endpoint; the last endpoint's failure is final. */
static void retry_or_fail(struct blob_job *j, enum pull_error_kind kind, const char *what) {
        struct registry_client *c = j->client;
        uint64_t now = 0;

        if (j->failures >= c->retries) {
                if (j->ep + 1 < j->repo->n_ep) {
                        j->ep++;
                        j->failures = 0;
                        j->auth_tried = false;
                        attempt_start(j);
                        return;
                }
                job_fail(j, kind == PULL_ERR_UNAVAILABLE ? -EHOSTUNREACH : -EIO, kind,
                         "%sfetch blob %s from registry \"%s\" (repository \"%s\"): %s",
                         kind == PULL_ERR_UNAVAILABLE ? "registry unavailable: " : "", j->digest,
                         j->repo->ep[j->ep].host, j->repo->path, what);
                return;
        }
        usec_t delay = BLOB_RETRY_BASE_USEC << (j->failures < 5 ? j->failures : 5);
        if (delay > BLOB_RETRY_MAX_USEC)
                delay = BLOB_RETRY_MAX_USEC;
        j->failures++;
        (void) sd_event_now(c->event, CLOCK_MONOTONIC, &now);
        if (sd_event_add_time(c->event, &j->retry_timer, CLOCK_MONOTONIC, now + delay, 0, on_retry_timer,
                              j) < 0) {
                job_fail(j, -ENOMEM, PULL_ERR_OTHER, "fetch blob %s: cannot arm retry timer", j->digest);
                return;
        }
        (void) sd_event_source_set_description(j->retry_timer, "registry-blob-retry");
}

/* Start the file over, for a server that cannot resume where we are. */
static int restart_from_zero(struct blob_job *j) {
        if (ftruncate(j->fd, 0) < 0)
                return -errno;
        j->reported = 0;
        return 0;
}

static void on_auth(int r, const nl_error *err, void *userdata) {
        struct blob_job *j = userdata;
        j->auth = NULL;
        if (r < 0) {
                job_fail(j, r, auth_error_kind(r), "fetch blob %s: %s", j->digest,
                         strempty(err ? err->msg : NULL));
                return;
        }
        attempt_start(j);
}

static void on_committed(int r, const nl_error *cerr, void *userdata) {
        struct blob_job *j = userdata;
        nl_error err = NL_ERROR_INIT;

        j->commit = NULL;
        if (r < 0) {
                /* The size is right (we wrote exactly that many bytes), so a failed check is the
                 * content: the registry served bytes that are not this digest. */
                enum pull_error_kind kind = r == -EBADMSG ? PULL_ERR_DIGEST : PULL_ERR_OTHER;
                (void) unlink(j->tmp_path);
                free(j->tmp_path);
                j->tmp_path = NULL;
                const char *detail = cerr && cerr->msg ? cerr->msg : strerror(-r);
                if (kind == PULL_ERR_DIGEST) {
                        /* The store says "blob <digest>: content has digest ...": keep the detail. */
                        size_t dl = strlen(j->digest);
                        if (strncmp(detail, "blob ", 5) == 0 && strncmp(detail + 5, j->digest, dl) == 0 &&
                            strncmp(detail + 5 + dl, ": ", 2) == 0)
                                detail += 7 + dl;
                        nl_error_set(&err, r, "blob %s from registry \"%s\" does not match its digest (%s)",
                                     j->digest, j->repo->ep[j->ep].host, detail);
                } else
                        nl_error_set(&err, r, "%s", detail);
                job_finish(j, r, kind, &err);
                nl_error_clear(&err);
                return;
        }
        free(j->tmp_path);
        j->tmp_path = NULL; /* moved into the store */
        job_finish(j, 0, PULL_OK, NULL);
}

/* The store's digest check reads the whole blob again and syncs it: gigabytes of a layer take
 * seconds to minutes, so it runs in a child of ours (image_store_commit_blob_async) and the
 * download's slot stays taken until it is done. */
static void commit(struct blob_job *j) {
        struct registry_client *c = j->client;
        nl_error err = NL_ERROR_INIT;
        int r;

        report_progress(j, (uint64_t) j->size);
        if (j->fd >= 0)
                close(j->fd);
        j->fd = -1;
        r = image_store_commit_blob_async(c->store, c->event, j->tmp_path, j->digest, j->size, on_committed, j,
                                          &j->commit, &err);
        if (r < 0) {
                job_finish(j, r, PULL_ERR_OTHER, &err);
                nl_error_clear(&err);
        }
}

static void on_blob(http_request *req, void *userdata) {
        struct blob_job *j = userdata;
        struct reg_endpoint *e = &j->repo->ep[j->ep];
        uint64_t written = req->out_offset;
        long status = req->status;
        char what[256];
        int r;

        j->req = NULL;
        if (req->out_too_big) {
                http_request_free(req);
                job_fail(j, -EBADMSG, PULL_ERR_DIGEST,
                         "blob %s from registry \"%s\" is larger than its declared size %" PRId64, j->digest,
                         e->host, j->size);
                return;
        }
        if (req->out_errno == EPROTO || status == 416) {
                /* A 206 for other bytes than we asked for, or a Range it will not serve. */
                http_request_free(req);
                r = restart_from_zero(j);
                if (r < 0) {
                        job_fail(j, r, PULL_ERR_OTHER, "fetch blob %s: truncate: %s", j->digest,
                                 strerror(-r));
                        return;
                }
                retry_or_fail(j, PULL_ERR_OTHER, "the registry cannot resume the download");
                return;
        }
        if (req->out_errno) {
                int e_no = req->out_errno;
                http_request_free(req);
                job_fail(j, -e_no, PULL_ERR_OTHER, "fetch blob %s: write: %s", j->digest, strerror(e_no));
                return;
        }
        if (status == 401 && !j->auth_tried) {
                _cleanup_free_ char *wa = http_request_header(req, "www-authenticate");
                nl_error err = NL_ERROR_INIT;
                http_request_free(req);
                j->auth_tried = true;
                r = reg_authorize(j->repo, j->ep, wa, on_auth, j, &j->auth, &err);
                if (r < 0) {
                        job_fail(j, r, auth_error_kind(r), "fetch blob %s: %s", j->digest,
                                 strempty(err.msg));
                        nl_error_clear(&err);
                } else if (r == 0)
                        attempt_start(j);
                return;
        }
        if (status == 401 || status == 403) {
                http_request_free(req);
                job_fail(j, -EACCES, PULL_ERR_AUTH,
                         "authorization failed for repository \"%s\" on registry \"%s\": blob %s: HTTP %ld",
                         j->repo->path, e->host, j->digest, status);
                return;
        }
        if (http_request_failed_transport(req) || status >= 500 || status == 429) {
                if (req->result != CURLE_OK)
                        snprintf(what, sizeof(what), "%s", http_request_strerror(req));
                else
                        snprintf(what, sizeof(what), "HTTP %ld", status);
                http_request_free(req);
                retry_or_fail(j, PULL_ERR_UNAVAILABLE, what);
                return;
        }
        if (status == 404) {
                http_request_free(req);
                if (j->ep + 1 < j->repo->n_ep) {
                        j->ep++;
                        j->failures = 0;
                        j->auth_tried = false;
                        if (restart_from_zero(j) >= 0) {
                                attempt_start(j);
                                return;
                        }
                }
                job_fail(j, -ENOENT, PULL_ERR_NOT_FOUND,
                         "blob unknown: %s in repository \"%s\" on registry \"%s\"", j->digest,
                         j->repo->path, e->host);
                return;
        }
        if (req->result != CURLE_OK || (status != 200 && status != 206)) {
                if (req->result != CURLE_OK)
                        snprintf(what, sizeof(what), "%s", http_request_strerror(req));
                else
                        snprintf(what, sizeof(what), "unexpected HTTP %ld", status);
                http_request_free(req);
                job_fail(j, -EIO, PULL_ERR_OTHER, "fetch blob %s from registry \"%s\": %s", j->digest,
                         e->host, what);
                return;
        }
        http_request_free(req);
        if (written < (uint64_t) j->size) {
                retry_or_fail(j, PULL_ERR_UNAVAILABLE, "the transfer ended early");
                return;
        }
        commit(j);
}

static void attempt_start(struct blob_job *j) {
        struct registry_client *c = j->client;
        _cleanup_free_ char *suffix = nl_strdupf("%s/blobs/%s", j->repo->path, j->digest);
        struct stat st;
        int r;

        if (!suffix) {
                job_fail(j, -ENOMEM, PULL_ERR_OTHER, "fetch blob %s: out of memory", j->digest);
                return;
        }
        /* What is on disk is what we have: resume from there. */
        if (fstat(j->fd, &st) < 0) {
                job_fail(j, -errno, PULL_ERR_OTHER, "fetch blob %s: stat: %s", j->digest, strerror(errno));
                return;
        }
        if ((uint64_t) st.st_size > (uint64_t) j->size && restart_from_zero(j) < 0) {
                job_fail(j, -errno, PULL_ERR_OTHER, "fetch blob %s: truncate: %s", j->digest,
                         strerror(errno));
                return;
        }
        uint64_t have = (uint64_t) st.st_size > (uint64_t) j->size ? 0 : (uint64_t) st.st_size;
        if (have == (uint64_t) j->size && j->size > 0) {
                commit(j);
                return;
        }
        r = reg_request_new(j->repo, j->ep, suffix, &j->req);
        if (r >= 0)
                r = http_request_set_output(j->req, j->fd, have, (uint64_t) j->size);
        if (r >= 0)
                r = http_request_start(j->req, on_blob, on_data, j);
        if (r < 0) {
                http_request_free(TAKE_PTR(j->req));
                job_fail(j, r, PULL_ERR_OTHER, "fetch blob %s: cannot start the request: %s", j->digest,
                         strerror(-r));
                return;
        }
        c->n_blob_requests++;
}

static void job_start(struct blob_job *j) {
        struct registry_client *c = j->client;
        int r;

        j->running = true;
        c->n_blobs_running++;
        r = image_store_tmpfile(c->store, &j->tmp_path, &j->fd);
        if (r < 0) {
                job_fail(j, r, PULL_ERR_OTHER, "fetch blob %s: create a temp file in the image store: %s",
                         j->digest, strerror(-r));
                return;
        }
        attempt_start(j);
}

/* Runs from a defer source, so that a pull asking for blobs is never called back before
 * blob_fetch() returns. */
static int on_schedule(sd_event_source *s, void *userdata) {
        blob_schedule(userdata);
        return 0;
}

static void blob_schedule(struct registry_client *c) {
        while (c->n_blobs_running < c->max_parallel_blobs) {
                struct blob_job *j;
                for (j = c->blobs; j; j = j->next)
                        if (!j->running)
                                break;
                if (!j)
                        break;
                job_start(j);
        }
}

int blob_scheduler_new(struct registry_client *c) {
        int r = sd_event_add_defer(c->event, &c->blob_schedule, on_schedule, c);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(c->blob_schedule, "registry-blob-schedule");
        return sd_event_source_set_enabled(c->blob_schedule, SD_EVENT_OFF);
}

int blob_fetch(struct registry_client *c, struct reg_repo *repo, size_t ep, const struct oci_descriptor *d,
               struct pull_job *p, blob_done_fn done, blob_progress_fn progress) {
        struct blob_job *j;

        for (j = c->blobs; j; j = j->next)
                if (streq(j->digest, d->digest))
                        break;
        if (!j) {
                j = calloc(1, sizeof(*j));
                if (!j)
                        return -ENOMEM;
                j->client = c;
                j->fd = -1;
                j->size = d->size;
                j->ep = ep;
                j->repo = reg_repo_ref(repo);
                j->digest = strdup(d->digest);
                j->media_type = d->media_type ? strdup(d->media_type) : NULL;
                if (!j->digest || (d->media_type && !j->media_type)) {
                        job_free(j);
                        return -ENOMEM;
                }
                /* Queued last: downloads start in the order they were asked for. */
                struct blob_job **tail = &c->blobs, *prev = NULL;
                while (*tail) {
                        prev = *tail;
                        tail = &(*tail)->next;
                }
                *tail = j;
                j->prev = prev;
        }
        struct blob_waiter *w = reallocarray(j->waiters, j->n_waiters + 1, sizeof(*w));
        if (!w) {
                if (j->n_waiters == 0)
                        job_free(j);
                return -ENOMEM;
        }
        j->waiters = w;
        j->waiters[j->n_waiters++] = (struct blob_waiter){p, done, progress};
        return sd_event_source_set_enabled(c->blob_schedule, SD_EVENT_ONESHOT);
}

void blob_detach(struct registry_client *c, struct pull_job *p) {
        struct blob_job *j = c->blobs;
        while (j) {
                struct blob_job *next = j->next;
                for (size_t i = 0; i < j->n_waiters;) {
                        if (j->waiters[i].pull == p) {
                                memmove(&j->waiters[i], &j->waiters[i + 1],
                                        (j->n_waiters - i - 1) * sizeof(j->waiters[0]));
                                j->n_waiters--;
                        } else
                                i++;
                }
                if (j->n_waiters == 0) {
                        /* Nobody wants it any more: stop, and let a queued one have the slot. */
                        job_free(j);
                        (void) sd_event_source_set_enabled(c->blob_schedule, SD_EVENT_ONESHOT);
                }
                j = next;
        }
}

void blob_jobs_free_all(struct registry_client *c) {
        while (c->blobs)
                job_free(c->blobs);
        c->blob_schedule = sd_event_source_disable_unref(c->blob_schedule);
}
