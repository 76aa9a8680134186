/* SPDX-License-Identifier: Apache-2.0 */
/* The registry client's HTTP requests on the sd-event loop (libcurl multi through
 * common/curl-event.c). Nothing here blocks. Response headers and bodies are capped. */
#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/epoll.h>

#include "common/curl-event.h"
#include "registry-internal.h"

struct http_engine {
        sd_event *event;
        struct curl_event *curl; /* the socket and timer plumbing (common/curl-event.c) */
        http_request *requests;  /* every request not yet freed */
        bool dispatching;
};

/* Connections that stall are given up on (and retried by the caller); a slow but moving
 * transfer is not. */
#define HTTP_CONNECT_TIMEOUT_SEC 30L
#define HTTP_LOW_SPEED_TIME_SEC 60L
#define HTTP_MAX_REDIRECTS 10L

static void engine_dispatch_finished(http_engine *g);

/* A transfer finished (curl_event took it off the multi handle): record how, then call the
 * owners of finished requests. */
static void on_curl_done(CURL *easy, CURLcode result, void *userdata) {
        http_engine *g = userdata;
        http_request *r = NULL;
        if (curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **) &r) != CURLE_OK || !r)
                return;
        r->running = false;
        r->finished = true;
        r->result = result;
        if (result == CURLE_OK || r->status == 0)
                (void) curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &r->status);
        engine_dispatch_finished(g);
}

int http_engine_new(sd_event *event, http_engine **ret) {
        http_engine *g = calloc(1, sizeof(*g));
        if (!g)
                return -ENOMEM;
        g->event = sd_event_ref(event);
        int r = curl_event_new(event, "registry", on_curl_done, g, &g->curl);
        if (r < 0) {
                http_engine_free(g);
                return r;
        }
        *ret = g;
        return 0;
}

void http_engine_free(http_engine *g) {
        if (!g)
                return;
        /* Owners free their requests first; whatever is left is cut loose, not leaked. */
        while (g->requests)
                http_request_free(g->requests);
        curl_event_free(g->curl);
        sd_event_unref(g->event);
        free(g);
}

/* Call the owners of finished requests one at a time, looking the list up again after every
 * callback: a callback may free or start any request. */
static void engine_dispatch_finished(http_engine *g) {
        if (g->dispatching)
                return;
        g->dispatching = true;
        for (;;) {
                http_request *r;
                for (r = g->requests; r; r = r->next)
                        if (r->finished)
                                break;
                if (!r)
                        break;
                r->finished = false;
                if (r->done)
                        r->done(r, r->userdata);
        }
        g->dispatching = false;
}

static void response_reset(http_request *r) {
        for (size_t i = 0; i < r->n_resp_headers; i++) {
                free(r->resp_headers[i].name);
                free(r->resp_headers[i].value);
        }
        free(r->resp_headers);
        r->resp_headers = NULL;
        r->n_resp_headers = 0;
        r->status = 0;
        nl_buf_free(&r->body);
        r->body_too_big = false;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userdata) {
        http_request *r = userdata;
        size_t n = size * nmemb;

        r->header_bytes += n;
        if (n > REGISTRY_MAX_HEADER_LINE || r->header_bytes > REGISTRY_MAX_HEADER_BYTES)
                return 0; /* aborts with CURLE_WRITE_ERROR */

        if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
                /* A new response (after a redirect, a 100 Continue, a proxy CONNECT). */
                response_reset(r);
                r->header_bytes = n;
                const char *sp = memchr(data, ' ', n);
                if (sp && (size_t) (sp - data) + 4 <= n && isdigit((unsigned char) sp[1]) &&
                    isdigit((unsigned char) sp[2]) && isdigit((unsigned char) sp[3]))
                        r->status = (sp[1] - '0') * 100 + (sp[2] - '0') * 10 + (sp[3] - '0');
                return n;
        }

        size_t name_len, vlen;
        const char *v;
        if (!curl_header_split(data, n, &name_len, &v, &vlen))
                return n; /* the blank line ending the headers, or junk we ignore */

        struct http_header *h = reallocarray(r->resp_headers, r->n_resp_headers + 1, sizeof(*h));
        if (!h)
                return 0;
        r->resp_headers = h;
        h = &r->resp_headers[r->n_resp_headers];
        h->name = strndup(data, name_len);
        h->value = strndup(v, vlen);
        if (!h->name || !h->value) {
                free(h->name);
                free(h->value);
                return 0;
        }
        for (char *p = h->name; *p; p++)
                *p = (char) tolower((unsigned char) *p);
        r->n_resp_headers++;
        return n;
}

static bool status_is_success(long status) {
        return status >= 200 && status < 300;
}

/* "bytes <first>-<last>/<total>": the first byte of a 206 answer. */
static int content_range_first(const http_request *r, uint64_t *ret) {
        _cleanup_free_ char *cr = http_request_header(r, "content-range");
        uint64_t first = 0;
        const char *p;

        if (!cr || strncmp(cr, "bytes ", 6) != 0)
                return -EINVAL;
        p = cr + 6;
        if (!isdigit((unsigned char) *p))
                return -EINVAL;
        for (; isdigit((unsigned char) *p); p++) {
                if (first > (UINT64_MAX - 9) / 10)
                        return -ERANGE;
                first = first * 10 + (uint64_t) (*p - '0');
        }
        if (*p != '-')
                return -EINVAL;
        *ret = first;
        return 0;
}

static size_t write_fd(http_request *r, const char *data, size_t n) {
        if (!r->out_started) {
                r->out_started = true;
                if (r->status == 200 && r->out_offset > 0) {
                        /* The server ignored our Range: start the file over. */
                        if (ftruncate(r->out_fd, 0) < 0) {
                                r->out_errno = errno;
                                return 0;
                        }
                        r->out_offset = 0;
                        r->out_restarted = true;
                } else if (r->status == 206) {
                        uint64_t first;
                        if (content_range_first(r, &first) < 0 || first != r->out_offset) {
                                r->out_errno = EPROTO;
                                return 0;
                        }
                }
        }
        if (n > r->out_max || r->out_offset > r->out_max - n) {
                r->out_too_big = true;
                return 0;
        }
        for (size_t done = 0; done < n;) {
                ssize_t k = pwrite(r->out_fd, data + done, n - done, (off_t) r->out_offset);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        r->out_errno = errno;
                        return 0;
                }
                done += (size_t) k;
                r->out_offset += (uint64_t) k;
        }
        if (r->on_data)
                r->on_data(r, r->userdata);
        return n;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *userdata) {
        http_request *r = userdata;
        size_t n = size * nmemb;

        if (r->out_fd >= 0 && status_is_success(r->status))
                return write_fd(r, data, n);

        bool ok = status_is_success(r->status);
        size_t max = ok ? r->body_max : REGISTRY_MAX_ERROR_BODY;
        if (r->body.len + n > max) {
                if (ok) {
                        r->body_too_big = true;
                        return 0;
                }
                /* An error page: keep its start, drop the rest. */
                if (r->body.len < max)
                        nl_buf_append(&r->body, data, max - r->body.len);
                return n;
        }
        nl_buf_append(&r->body, data, n);
        return r->body.oom ? 0 : n;
}

int http_request_new(http_engine *g, const char *url, bool skip_verify, const char *ca_file,
                     http_request **ret) {
        http_request *r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        r->engine = g;
        r->out_fd = -1;
        r->body_max = REGISTRY_MAX_ERROR_BODY;
        r->url = strdup(url);
        r->easy = curl_easy_init();
        if (!r->url || !r->easy) {
                curl_easy_cleanup(r->easy);
                free(r->url);
                free(r);
                return -ENOMEM;
        }
        r->next = g->requests;
        if (g->requests)
                g->requests->prev = r;
        g->requests = r;

        CURL *e = r->easy;
        bool ok = curl_easy_setopt(e, CURLOPT_URL, r->url) == CURLE_OK &&
                  curl_easy_setopt(e, CURLOPT_PRIVATE, r) == CURLE_OK &&
                  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf) == CURLE_OK &&
                  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK &&
                  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") == CURLE_OK &&
                  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L) == CURLE_OK &&
                  curl_easy_setopt(e, CURLOPT_MAXREDIRS, HTTP_MAX_REDIRECTS) == CURLE_OK &&
                  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
                  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, HTTP_CONNECT_TIMEOUT_SEC) == CURLE_OK &&
                  curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L) == CURLE_OK &&
                  curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, HTTP_LOW_SPEED_TIME_SEC) == CURLE_OK &&
                  curl_easy_setopt(e, CURLOPT_USERAGENT, "nodelet") == CURLE_OK &&
                  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header) == CURLE_OK &&
                  curl_easy_setopt(e, CURLOPT_HEADERDATA, r) == CURLE_OK &&
                  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write) == CURLE_OK &&
                  curl_easy_setopt(e, CURLOPT_WRITEDATA, r) == CURLE_OK;
        if (ok && skip_verify)
                ok = curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L) == CURLE_OK &&
                     curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L) == CURLE_OK;
        if (ok && ca_file)
                ok = curl_easy_setopt(e, CURLOPT_CAINFO, ca_file) == CURLE_OK;
        if (!ok) {
                http_request_free(r);
                return -EIO;
        }
        *ret = r;
        return 0;
}

int http_request_add_header(http_request *r, const char *fmt, ...) {
        char *line = NL_FORMAT_VA(fmt);
        struct curl_slist *l;

        if (!line)
                return -ENOMEM;
        l = curl_slist_append(r->headers, line);
        free(line);
        if (!l)
                return -ENOMEM;
        r->headers = l;
        return 0;
}

int http_request_set_basic(http_request *r, const char *username, const char *password) {
        if (curl_easy_setopt(r->easy, CURLOPT_HTTPAUTH, (long) CURLAUTH_BASIC) != CURLE_OK ||
            curl_easy_setopt(r->easy, CURLOPT_USERNAME, strempty(username)) != CURLE_OK ||
            curl_easy_setopt(r->easy, CURLOPT_PASSWORD, strempty(password)) != CURLE_OK)
                return -EIO;
        return 0;
}

int http_request_set_output(http_request *r, int fd, uint64_t offset, uint64_t max) {
        r->out_fd = fd;
        r->out_offset = offset;
        r->out_max = max;
        if (offset > 0)
                return http_request_add_header(r, "Range: bytes=%" PRIu64 "-", offset);
        return 0;
}

int http_request_start(http_request *r, http_done_fn done, http_data_fn on_data, void *userdata) {
        r->done = done;
        r->on_data = on_data;
        r->userdata = userdata;
        if (r->headers && curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers) != CURLE_OK)
                return -EIO;
        if (curl_event_add(r->engine->curl, r->easy) < 0)
                return -EIO;
        r->running = true;
        return 0;
}

void http_request_free(http_request *r) {
        if (!r)
                return;
        http_engine *g = r->engine;
        if (r->running)
                curl_event_remove(g->curl, r->easy);
        if (r->prev)
                r->prev->next = r->next;
        else if (g->requests == r)
                g->requests = r->next;
        if (r->next)
                r->next->prev = r->prev;
        curl_easy_cleanup(r->easy);
        curl_slist_free_all(r->headers);
        response_reset(r);
        free(r->url);
        free(r);
}

char *http_request_header(const http_request *r, const char *name) {
        nl_buf b = {};
        for (size_t i = 0; i < r->n_resp_headers; i++) {
                if (strcasecmp(r->resp_headers[i].name, name) != 0)
                        continue;
                if (strcasecmp(name, "www-authenticate") != 0)
                        nl_buf_free(&b); /* the last one wins */
                else if (b.len > 0)
                        nl_buf_puts(&b, ", ");
                nl_buf_puts(&b, r->resp_headers[i].value);
        }
        if (!b.data)
                return NULL;
        return nl_buf_steal(&b);
}

const char *http_request_strerror(const http_request *r) {
        if (r->out_too_big)
                return "more data than declared";
        if (r->body_too_big)
                return "response too large";
        if (r->out_errno)
                return strerror(r->out_errno);
        if (r->errbuf[0])
                return r->errbuf;
        return curl_easy_strerror(r->result);
}

bool http_request_failed_tls(const http_request *r) {
        switch (r->result) {
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        case CURLE_SSL_ISSUER_ERROR:
                return true;
        default:
                return false;
        }
}

bool http_request_failed_transport(const http_request *r) {
        return r->result != CURLE_OK && !r->out_too_big && !r->body_too_big && r->out_errno == 0 &&
               !http_request_failed_tls(r);
}
