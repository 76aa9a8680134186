/* SPDX-License-Identifier: Apache-2.0 */
/* The API client on the daemon's loop: each request is one curl easy handle on a shared multi
 * handle (common/curl-event.c), so lists, watches, status patches and lease renewals run side
 * by side over reused keep-alive connections without blocking anything. A watch is
 * a long GET whose body is newline-delimited JSON events, handed over one by one as they
 * arrive. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "common/curl-event.h"
#include "common/time-util.h"

#define API_TIMEOUT_MS (60 * 1000)             /* client-go's default request timeout is 0 (none); the
                                                  kubelet bounds its calls, 60 s keeps a dead peer from
                                                  holding a request forever */
#define API_MAX_BODY (64u * 1024 * 1024)        /* a whole PodList */
#define API_MAX_EVENT (16u * 1024 * 1024)       /* one watch event */

struct api_client {
        sd_event *event;
        struct curl_event *curl;
        sd_event_source *deliver; /* watch events go out from here, not from curl's callbacks */
        const struct kubeconfig *kc;
        char *user_agent;
        struct api_request *requests;
        usec_t credentials_changed; /* CLOCK_MONOTONIC of the last api_client_credentials_changed() */
};

struct api_request {
        struct api_client *c;
        struct api_request *prev, *next;
        CURL *easy;
        struct curl_slist *headers;
        char *body_out; /* what we send */
        nl_buf in;      /* what came back (a watch: the unfinished line) */
        bool watch, in_callback, cancelled, too_big;
        json_t *queue; /* watch events parsed, not yet handed over */
        api_done_fn done;
        api_event_fn ev;
        void *userdata;
        char errbuf[CURL_ERROR_SIZE];
};

static void request_free(struct api_request *r) {
        if (!r)
                return;
        if (r->c) {
                if (r->prev)
                        r->prev->next = r->next;
                else
                        r->c->requests = r->next;
                if (r->next)
                        r->next->prev = r->prev;
        }
        if (r->easy)
                curl_easy_cleanup(r->easy);
        curl_slist_free_all(r->headers);
        json_decref(r->queue);
        free(r->body_out);
        nl_buf_free(&r->in);
        free(r);
}

json_t *api_watch_event_parse(const char *line, size_t len) {
        while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' '))
                len--;
        if (len == 0)
                return NULL;
        json_t *j = json_loadb(line, len, JSON_ALLOW_NUL, NULL);
        const char *type = json_string_value(json_object_get(j, "type"));
        if (!type || !json_is_object(json_object_get(j, "object"))) {
                json_decref(j);
                return json_pack("{s:s, s:{s:s, s:i}}", "type", "ERROR", "object", "message", "malformed watch event",
                                 "code", 500);
        }
        return j;
}

int api_watch_feed(nl_buf *partial, const char *data, size_t n, size_t max_line, json_t *events) {
        size_t start = 0;
        for (size_t i = 0; i < n; i++) {
                if (data[i] != '\n')
                        continue;
                json_t *e;
                if (partial->len > 0) {
                        if (partial->len + (i - start) > max_line)
                                return -E2BIG;
                        nl_buf_append(partial, data + start, i - start);
                        if (partial->oom)
                                return -ENOMEM;
                        e = api_watch_event_parse(partial->data, partial->len);
                        partial->len = 0;
                } else {
                        if (i - start > max_line)
                                return -E2BIG;
                        e = api_watch_event_parse(data + start, i - start);
                }
                if (e)
                        json_array_append_new(events, e);
                start = i + 1;
        }
        if (start < n) {
                if (partial->len + (n - start) > max_line)
                        return -E2BIG;
                nl_buf_append(partial, data + start, n - start);
                if (partial->oom)
                        return -ENOMEM;
        }
        return 0;
}

/* Hand queued events to their watchers; a handler may cancel its own or others' watches. */
static void deliver_queue(struct api_request *r) {
        while (!r->cancelled && json_array_size(r->queue) > 0) {
                json_t *e = json_incref(json_array_get(r->queue, 0));
                json_array_remove(r->queue, 0);
                r->in_callback = true;
                r->ev(json_string_value(json_object_get(e, "type")), json_object_get(e, "object"), r->userdata);
                r->in_callback = false;
                json_decref(e);
        }
}

static int on_deliver(sd_event_source *es, void *userdata) {
        struct api_client *c = userdata;
        for (struct api_request *r = c->requests, *next; r; r = next) {
                next = r->next;
                if (json_array_size(r->queue) == 0)
                        continue;
                deliver_queue(r);
                if (r->cancelled) {
                        /* cancelled from its handler: it is ours to drop now */
                        curl_event_remove(c->curl, r->easy);
                        request_free(r);
                }
                /* a handler may have cancelled (freed) any other request: start over; those
                 * handed over already have empty queues */
                next = c->requests;
        }
        return 0;
}

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *userdata) {
        struct api_request *r = userdata;
        size_t n = size * nmemb;
        if (r->cancelled)
                return 0;
        long status = 0;
        (void) curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
        if (!r->watch || status != 200) {
                if (r->in.len + n > API_MAX_BODY) {
                        r->too_big = true;
                        return 0;
                }
                nl_buf_append(&r->in, ptr, n);
                return r->in.oom ? 0 : n;
        }
        /* a watch: queue every complete event (libcurl forbids starting or stopping
         * transfers from inside its callbacks, and a handler will), keep the rest */
        if (!r->queue && !(r->queue = json_array()))
                return 0;
        int k = api_watch_feed(&r->in, ptr, n, API_MAX_EVENT, r->queue);
        if (k == -E2BIG)
                r->too_big = true;
        if (k < 0)
                return 0;
        if (json_array_size(r->queue) > 0)
                (void) sd_event_source_set_enabled(r->c->deliver, SD_EVENT_ONESHOT);
        return n;
}

static void on_done(CURL *easy, CURLcode code, void *userdata) {
        struct api_request *r = NULL;
        if (curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **) &r) != CURLE_OK || !r)
                return;
        if (r->cancelled) {
                request_free(r);
                return;
        }
        long status = 0;
        (void) curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
        _cleanup_free_ char *error = NULL;
        json_t *body = NULL;
        if (r->too_big)
                error = strdup(r->watch ? "watch event too large" : "response too large");
        else if (code != CURLE_OK && !(r->watch && code == CURLE_PARTIAL_FILE))
                error = strdup(r->errbuf[0] ? r->errbuf : curl_easy_strerror(code));
        if (r->watch && status == 200) {
                deliver_queue(r); /* what came before the end */
                if (r->cancelled) {
                        request_free(r);
                        return;
                }
        }
        if (r->in.len > 0 && (!r->watch || status != 200))
                body = json_loadb(r->in.data, r->in.len, JSON_ALLOW_NUL, NULL);
        api_done_fn done = r->done;
        void *ud = r->userdata;
        /* take it off the list first: done may free the client's other requests or start new ones */
        r->in_callback = true;
        if (done)
                done(status, body, error, ud);
        json_decref(body);
        request_free(r);
}

int api_client_new(sd_event *event, const struct kubeconfig *kc, const char *user_agent, struct api_client **ret) {
        struct api_client *c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->event = sd_event_ref(event);
        c->kc = kc;
        c->user_agent = strdup(user_agent ? user_agent : "nodelet");
        int r = c->user_agent ? curl_event_new(event, "api", on_done, c, &c->curl) : -ENOMEM;
        if (r >= 0 && (r = sd_event_add_defer(event, &c->deliver, on_deliver, c)) >= 0) {
                (void) sd_event_source_set_description(c->deliver, "api-watch-events");
                (void) sd_event_source_set_enabled(c->deliver, SD_EVENT_OFF);
        }
        if (r < 0) {
                api_client_free(c);
                return r;
        }
        *ret = c;
        return 0;
}

void api_client_free(struct api_client *c) {
        if (!c)
                return;
        while (c->requests) {
                struct api_request *r = c->requests;
                curl_event_remove(c->curl, r->easy);
                request_free(r);
        }
        curl_event_free(c->curl);
        sd_event_source_disable_unref(c->deliver);
        sd_event_unref(c->event);
        free(c->user_agent);
        free(c);
}

/* The easy handle both the loop's requests and the children's blocking calls use. */
static CURL *make_easy(const struct kubeconfig *kc, const char *user_agent, const char *method, const char *path,
                       const char *body, const char *content_type, struct curl_slist **headers, char *errbuf) {
        CURL *e = curl_easy_init();
        if (!e)
                return NULL;
        _cleanup_free_ char *ct = nl_strdupf("Content-Type: %s", content_type ? content_type : "application/json");
        struct curl_slist *h = curl_slist_append(NULL, "Accept: application/json");
        if (h && body && ct)
                h = curl_slist_append(h, ct);
        bool ok = h && kubeconfig_apply(kc, e, path, &h) == 0;
        ok = ok && curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method) == CURLE_OK &&
             curl_easy_setopt(e, CURLOPT_HTTPHEADER, h) == CURLE_OK &&
             curl_easy_setopt(e, CURLOPT_USERAGENT, user_agent) == CURLE_OK &&
             curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
             curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf) == CURLE_OK &&
             curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L) == CURLE_OK &&
             curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L) == CURLE_OK &&
             curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK;
        if (ok && streq(method, "HEAD"))
                ok = curl_easy_setopt(e, CURLOPT_NOBODY, 1L) == CURLE_OK;
        if (ok && body)
                ok = curl_easy_setopt(e, CURLOPT_POSTFIELDS, body) == CURLE_OK &&
                     curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long) strlen(body)) == CURLE_OK;
        if (!ok) {
                curl_slist_free_all(h);
                curl_easy_cleanup(e);
                return NULL;
        }
        *headers = h;
        return e;
}

static struct api_request *start(struct api_client *c, const char *method, const char *path, json_t *body,
                                 const char *content_type, bool watch, api_event_fn ev, api_done_fn done,
                                 void *userdata) {
        struct api_request *r = calloc(1, sizeof(*r));
        if (!r)
                return NULL;
        r->watch = watch;
        r->ev = ev;
        r->done = done;
        r->userdata = userdata;
        if (body && !(r->body_out = json_dumps(body, JSON_COMPACT))) {
                free(r);
                return NULL;
        }
        r->easy = make_easy(c->kc, c->user_agent, method, path, r->body_out, content_type, &r->headers, r->errbuf);
        if (!r->easy || curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, on_write) != CURLE_OK ||
            curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r) != CURLE_OK ||
            curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r) != CURLE_OK ||
            (!watch && curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, (long) API_TIMEOUT_MS) != CURLE_OK)) {
                request_free(r);
                return NULL;
        }
        if (c->credentials_changed) {
                /* no connection made with the old certificate is reused: within the first
                 * seconds a new one always, later none older than the change */
                usec_t age = now_monotonic() - c->credentials_changed;
                (void) curl_easy_setopt(r->easy, CURLOPT_FRESH_CONNECT, age < 2 * USEC_PER_SEC ? 1L : 0L);
                (void) curl_easy_setopt(r->easy, CURLOPT_MAXLIFETIME_CONN, (long) (age / USEC_PER_SEC));
        }
        if (watch)
                /* a quiet watch is normal; a dead connection is found by keep-alive probes and
                 * the server's own timeoutSeconds */
                (void) curl_easy_setopt(r->easy, CURLOPT_TCP_KEEPIDLE, 30L);
        r->c = c;
        r->next = c->requests;
        if (c->requests)
                c->requests->prev = r;
        c->requests = r;
        if (curl_event_add(c->curl, r->easy) < 0) {
                request_free(r);
                return NULL;
        }
        return r;
}

struct api_request *api_request(struct api_client *c, const char *method, const char *path, json_t *body,
                                const char *content_type, api_done_fn done, void *userdata) {
        return start(c, method, path, body, content_type, false, NULL, done, userdata);
}

struct api_request *api_watch(struct api_client *c, const char *path, api_event_fn ev, api_done_fn done,
                              void *userdata) {
        return start(c, "GET", path, NULL, NULL, true, ev, done, userdata);
}

void api_request_cancel(struct api_request *r) {
        if (!r || r->cancelled)
                return;
        r->cancelled = true;
        r->done = NULL;
        if (r->in_callback)
                return; /* inside its own handler: whoever called that frees it */
        curl_event_remove(r->c->curl, r->easy);
        request_free(r);
}

void api_client_credentials_changed(struct api_client *c) {
        c->credentials_changed = now_monotonic();
        if (c->credentials_changed == 0)
                c->credentials_changed = 1;
        /* as the kubelet after a client certificate rotation (its transport closes every
         * connection so they come back with the new certificate): watches end now, as when the
         * server closes one, and their owners re-watch from the resourceVersion they have;
         * other requests are short and finish on the connection they have */
        size_t n = 0;
        for (struct api_request *r = c->requests; r; r = r->next)
                n += r->watch && !r->cancelled;
        if (n == 0)
                return;
        struct api_request **ws = calloc(n, sizeof(*ws));
        if (!ws)
                return;
        size_t k = 0;
        for (struct api_request *r = c->requests; r && k < n; r = r->next)
                if (r->watch && !r->cancelled)
                        ws[k++] = r;
        /* a handler may cancel any of them: while in_callback that only marks it, and it is
         * freed here */
        for (size_t i = 0; i < k; i++) {
                curl_event_remove(c->curl, ws[i]->easy);
                ws[i]->in_callback = true;
        }
        for (size_t i = 0; i < k; i++) {
                struct api_request *r = ws[i];
                if (!r->cancelled) {
                        deliver_queue(r); /* what came before */
                        r->in_callback = true;
                }
                api_done_fn done = r->cancelled ? NULL : r->done;
                void *ud = r->userdata;
                r->cancelled = true;
                r->done = NULL;
                if (done)
                        done(200, NULL, NULL, ud);
        }
        for (size_t i = 0; i < k; i++)
                request_free(ws[i]);
        free(ws);
}

static size_t sync_write(char *ptr, size_t size, size_t nmemb, void *userdata) {
        nl_buf *b = userdata;
        size_t n = size * nmemb;
        if (b->len + n > API_MAX_BODY)
                return 0;
        nl_buf_append(b, ptr, n);
        return b->oom ? 0 : n;
}

int api_call_sync(const struct kubeconfig *kc, const char *method, const char *path, json_t *body,
                  const char *content_type, long *ret_status, json_t **ret_body, nl_error *err) {
        char errbuf[CURL_ERROR_SIZE] = "";
        struct curl_slist *headers = NULL;
        _cleanup_free_ char *out = body ? json_dumps(body, JSON_COMPACT) : NULL;
        if (body && !out)
                return -ENOMEM;
        CURL *e = make_easy(kc, "nodelet", method, path, out, content_type, &headers, errbuf);
        if (!e)
                return nl_error_set(err, -ENOMEM, "%s %s: cannot set up the request", method, path);
        nl_buf in = {};
        (void) curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sync_write);
        (void) curl_easy_setopt(e, CURLOPT_WRITEDATA, &in);
        (void) curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long) API_TIMEOUT_MS);
        CURLcode code = curl_easy_perform(e);
        long status = 0;
        (void) curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_cleanup(e);
        curl_slist_free_all(headers);
        if (code != CURLE_OK) {
                nl_buf_free(&in);
                return nl_error_set(err, -EIO, "%s %s: %s", method, path, errbuf[0] ? errbuf : curl_easy_strerror(code));
        }
        if (ret_body)
                *ret_body = in.len ? json_loadb(in.data, in.len, JSON_ALLOW_NUL, NULL) : NULL;
        nl_buf_free(&in);
        if (ret_status)
                *ret_status = status;
        return 0;
}

char *api_escape(const char *s) {
        nl_buf b = {};
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
                    *p == '.' || *p == '_' || *p == '~')
                        nl_buf_append(&b, (const char *) p, 1);
                else
                        nl_buf_printf(&b, "%%%02X", *p);
        }
        return nl_buf_steal(&b);
}
