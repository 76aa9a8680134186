/* SPDX-License-Identifier: Apache-2.0 */
/* httpGet probes and hooks, as the kubelet's pkg/probe/http: GET with the probe's headers plus
 * "User-Agent: kube-probe/<major>.<minor>" and "Accept: * / *" unless given (an empty Accept is
 * dropped), the Host header from the probe's headers, redirects followed by hand as its
 * RedirectChecker does, 10 KiB of body at most, Go's error texts. */
#include <ctype.h>
#include <stdio.h>

#include "common/curl-event.h"
#include "../podspec/podspec.h"
#include "probes-internal.h"

/* Go's http.Client.Do: requests in a chain before "stopped after 10 redirects". */
#define HTTP_MAX_REQUESTS 10
/* Go's Transport MaxResponseHeaderBytes default. */
#define HTTP_MAX_HEADER_BYTES (1024 * 1024)

struct http_header {
        char *name; /* canonical, as Go's http.Header keys */
        char *value;
};

struct http_probe {
        struct http_header *headers; /* the probe's, without Host */
        size_t n_headers;
        char *custom_host; /* the first Host header, NULL if none */
        char *host;        /* the first URL's host, as curl normalizes it */

        char *url;        /* the current request's, as Go prints it */
        char *host_value; /* the current request's Host header */
        char *referer;    /* after a redirect: the request before, as Go's client sets it */
        unsigned n_requests;

        long status;
        bool headers_done, headers_too_big;
        size_t header_bytes;
        char *location;
        nl_buf body;
        bool body_truncated;
};

static void http_free(struct probe_op *op) {
        struct http_probe *h = op->data;
        for (size_t i = 0; i < h->n_headers; i++) {
                free(h->headers[i].name);
                free(h->headers[i].value);
        }
        free(h->headers);
        free(h->custom_host);
        free(h->host);
        free(h->url);
        free(h->host_value);
        free(h->referer);
        free(h->location);
        nl_buf_free(&h->body);
}

/* ---- Go's header rules ---- */

static bool is_token_char(unsigned char c) {
        return c > 0x20 && c < 0x7f && !strchr("\"(),/:;<=>?@[\\]{}", c);
}

static bool header_name_valid(const char *s) {
        if (isempty(s))
                return false;
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (!is_token_char(*p))
                        return false;
        return true;
}

/* httpguts.ValidHeaderFieldValue: no control characters but tab. */
static bool header_value_valid(const char *s) {
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
                        return false;
        return true;
}

/* textproto.CanonicalMIMEHeaderKey: "x-custom-header" -> "X-Custom-Header"; names with bytes
 * outside a token are left as they are. */
static char *canonical_name(const char *s) {
        char *c = strdup(s);
        if (!c || !header_name_valid(s))
                return c;
        bool upper = true;
        for (char *p = c; *p; p++) {
                *p = (char) (upper ? toupper((unsigned char) *p) : tolower((unsigned char) *p));
                upper = *p == '-';
        }
        return c;
}

/* ---- URLs ---- */

/* The path as Go's url.URL.String() would print it, and curl can send: bytes Go escapes
 * (space, controls, non-ASCII, quotes...) percent-encoded; "/" put in front of a relative one. */
static void append_path(nl_buf *b, const char *path) {
        static const char hex[] = "0123456789ABCDEF";

        if (isempty(path))
                return;
        if (path[0] != '/')
                nl_buf_puts(b, "/");
        for (const unsigned char *p = (const unsigned char *) path; *p; p++) {
                if (*p <= 0x20 || *p >= 0x7f || strchr("\"<>\\^`{|}", *p)) {
                        char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
                        nl_buf_append(b, e, 3);
                } else
                        nl_buf_append(b, (const char *) p, 1);
        }
}

/* Host and optional port of an absolute URL, as curl parses it. ret_host keeps IPv6 brackets
 * (a Host header value); ret_hostname drops them (Go's URL.Hostname()). */
static int url_authority(const char *url, char **ret_hostport, char **ret_hostname) {
        CURLU *u = curl_url();
        char *host = NULL, *port = NULL;
        int r = -EINVAL;

        if (!u)
                return -ENOMEM;
        if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
                goto out;
        (void) curl_url_get(u, CURLUPART_PORT, &port, 0);
        if (ret_hostport) {
                *ret_hostport = port ? nl_strdupf("%s:%s", host, port) : strdup(host);
                if (!*ret_hostport) {
                        r = -ENOMEM;
                        goto out;
                }
        }
        if (ret_hostname) {
                size_t n = strlen(host);
                if (n >= 2 && host[0] == '[' && host[n - 1] == ']')
                        *ret_hostname = strndup(host + 1, n - 2);
                else
                        *ret_hostname = strdup(host);
                if (!*ret_hostname) {
                        if (ret_hostport)
                                free(*ret_hostport);
                        r = -ENOMEM;
                        goto out;
                }
        }
        r = 0;
out:
        curl_free(host);
        curl_free(port);
        curl_url_cleanup(u);
        return r;
}

/* Go's URL.IsAbs(): a scheme. */
static bool location_is_absolute(const char *loc) {
        const char *p = loc;
        if (!isalpha((unsigned char) *p))
                return false;
        while (isalnum((unsigned char) *p) || *p == '+' || *p == '-' || *p == '.')
                p++;
        return *p == ':';
}

/* ---- the transfer ---- */

static size_t on_header(char *data, size_t size, size_t nmemb, void *userdata) {
        struct probe_op *op = userdata;
        struct http_probe *h = op->data;
        size_t n = size * nmemb;

        h->header_bytes += n;
        if (h->header_bytes > HTTP_MAX_HEADER_BYTES) {
                h->headers_too_big = true;
                return 0;
        }
        if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
                /* A new response: a 1xx before the real one. */
                h->header_bytes = n;
                h->headers_done = false;
                free(h->location);
                h->location = NULL;
                nl_buf_free(&h->body);
                h->body_truncated = false;
                return n;
        }
        if (n <= 2 && (data[0] == '\r' || data[0] == '\n')) {
                h->headers_done = true;
                return n;
        }
        size_t name_len, vlen;
        const char *v;
        if (curl_header_split(data, n, &name_len, &v, &vlen) && name_len == 8 &&
            strncasecmp(data, "location", 8) == 0 && !h->location) { /* Header.Get: the first */
                h->location = strndup(v, vlen);
                if (!h->location)
                        return 0;
        }
        return n;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *userdata) {
        struct probe_op *op = userdata;
        struct http_probe *h = op->data;
        size_t n = size * nmemb;

        /* As utilio.ReadAtMost: the first 10 KiB, then the connection is dropped. */
        if (h->body.len + n >= PROBE_HTTP_MAX_BODY) {
                nl_buf_append(&h->body, data, PROBE_HTTP_MAX_BODY - h->body.len);
                h->body_truncated = true;
                return 0;
        }
        nl_buf_append(&h->body, data, n);
        return h->body.oom ? 0 : n;
}

static int header_raw(struct probe_op *op, const char *line) {
        struct curl_slist *l = curl_slist_append(op->headers, line);
        if (!l)
                return -ENOMEM;
        op->headers = l;
        return 0;
}

static int header_line(struct probe_op *op, const char *name, const char *value) {
        /* curl: "Name:" removes a header of its own, "Name;" sends it empty. */
        _cleanup_free_ char *line =
                isempty(value) ? nl_strdupf("%s;", name) : nl_strdupf("%s: %s", name, value);
        if (!line)
                return -ENOMEM;
        return header_raw(op, line);
}

static const char *find_header(struct http_probe *h, const char *canonical, bool *found) {
        for (size_t i = 0; i < h->n_headers; i++)
                if (streq(h->headers[i].name, canonical)) {
                        *found = true;
                        return h->headers[i].value;
                }
        *found = false;
        return NULL;
}

/* One request of the chain: the headers Go's Request.Write would send, on a fresh transfer. */
static int http_request_start(struct probe_op *op, const char *url) {
        struct http_probe *h = op->data;
        bool ua_set, accept_set;
        const char *ua, *accept;
        int r;

        r = probe_op_easy_init(op, url);
        if (r < 0)
                return r;
        curl_slist_free_all(op->headers);
        op->headers = NULL;

        r = header_line(op, "Host", h->host_value);
        if (r < 0)
                return r;
        /* Go writes the first User-Agent only, none when it is empty. */
        ua = find_header(h, "User-Agent", &ua_set);
        if (!ua_set) {
                char v[64];
                snprintf(v, sizeof(v), "kube-probe/%d.%d", PROBE_KUBE_VERSION_MAJOR,
                         PROBE_KUBE_VERSION_MINOR);
                r = header_line(op, "User-Agent", v);
        } else
                r = isempty(ua) ? header_raw(op, "User-Agent:") : header_line(op, "User-Agent", ua);
        if (r < 0)
                return r;
        /* No Accept: "* / *"; an Accept overridden but empty: none at all. */
        accept = find_header(h, "Accept", &accept_set);
        if (!accept_set)
                r = header_line(op, "Accept", "*/*");
        else if (isempty(accept))
                r = header_raw(op, "Accept:");
        if (r < 0)
                return r;
        for (size_t i = 0; i < h->n_headers; i++) {
                const char *name = h->headers[i].name;
                if (streq(name, "User-Agent") || (streq(name, "Accept") && isempty(accept)) ||
                    (streq(name, "Referer") && h->referer))
                        continue;
                r = header_line(op, name, h->headers[i].value);
                if (r < 0)
                        return r;
        }
        if (h->referer) {
                r = header_line(op, "Referer", h->referer);
                if (r < 0)
                        return r;
        }
        /* DisableKeepAlives: Go asks the server to close. */
        r = header_line(op, "Connection", "close");
        if (r < 0)
                return r;

        CURL *e = op->easy;
        bool https = strncmp(url, "https:", 6) == 0;
        if (curl_easy_setopt(e, CURLOPT_HTTPGET, 1L) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
                             (long) (https ? CURL_HTTP_VERSION_2TLS : CURL_HTTP_VERSION_1_1)) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_HEADERDATA, op) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_WRITEDATA, op) != CURLE_OK)
                return -EIO;

        free(h->url);
        h->url = strdup(url);
        if (!h->url)
                return -ENOMEM;
        h->n_requests++;
        h->status = 0;
        h->headers_done = h->headers_too_big = false;
        h->header_bytes = 0;
        free(h->location);
        h->location = NULL;
        nl_buf_free(&h->body);
        h->body_truncated = false;
        return probe_op_easy_start(op);
}

static void finish_fmt(struct probe_op *op, enum probe_result result, char *output) {
        probe_op_finish(op, result, output ? output : "out of memory");
        free(output);
}

/* A transport error before a response, in Go's words where we know them. */
static char *transport_error(struct probe_op *op, CURLcode code) {
        struct http_probe *h = op->data;
        char buf[128];
        long os_errno = 0;
        _cleanup_free_ char *hostname = NULL, *hostport = NULL;

        if (h->headers_too_big)
                return nl_strdupf("net/http: server response headers exceeded %d bytes; aborted",
                                  HTTP_MAX_HEADER_BYTES);
        if (url_authority(h->url, &hostport, &hostname) >= 0) {
                char *dial = probe_curl_dial_error(op, code, hostname, hostport);
                if (dial)
                        return dial;
        }
        (void) curl_easy_getinfo(op->easy, CURLINFO_OS_ERRNO, &os_errno);
        switch (code) {
        case CURLE_GOT_NOTHING:
                return strdup("EOF");
        case CURLE_PARTIAL_FILE:
                return strdup("unexpected EOF");
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
                if (os_errno > 0) {
                        /* Go's OpError: "read tcp 10.0.0.2:41234->10.0.0.1:80: read: connection reset by
                         * peer". */
                        const char *op_name = code == CURLE_RECV_ERROR ? "read" : "write";
                        char *lip = NULL, *rip = NULL;
                        long lport = 0, rport = 0;
                        (void) curl_easy_getinfo(op->easy, CURLINFO_LOCAL_IP, &lip);
                        (void) curl_easy_getinfo(op->easy, CURLINFO_LOCAL_PORT, &lport);
                        (void) curl_easy_getinfo(op->easy, CURLINFO_PRIMARY_IP, &rip);
                        (void) curl_easy_getinfo(op->easy, CURLINFO_PRIMARY_PORT, &rport);
                        _cleanup_free_ char *l = probe_join_host_port(strempty(lip), (int) lport);
                        _cleanup_free_ char *rr = probe_join_host_port(strempty(rip), (int) rport);
                        if (!l || !rr)
                                return NULL;
                        return nl_strdupf("%s tcp %s->%s: %s: %s", op_name, l, rr, op_name,
                                          probe_errno_string((int) os_errno, buf, sizeof(buf)));
                }
                break;
        case CURLE_WEIRD_SERVER_REPLY:
        case CURLE_UNSUPPORTED_PROTOCOL:
                return strdup("net/http: HTTP/1.x transport connection broken: malformed HTTP response");
        case CURLE_SSL_CONNECT_ERROR:
                if (strstr(op->errbuf, "wrong version number"))
                        return strdup("http: server gave HTTP response to HTTPS client");
                break;
        default:
                break;
        }
        return strdup(op->errbuf[0] ? op->errbuf : curl_easy_strerror(code));
}

static bool is_redirect(long status) {
        return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

/* Go's Client.Do on a redirect, with the kubelet's CheckRedirect: another host ends the chain
 * with this response, the same host is followed until 10 requests were made. Returns true when
 * the op went on (or finished). */
static bool follow_redirect(struct probe_op *op) {
        struct http_probe *h = op->data;
        char *next = NULL;
        _cleanup_free_ char *next_url = NULL, *hostport = NULL, *hostname = NULL;
        int r;

        if (curl_easy_getinfo(op->easy, CURLINFO_REDIRECT_URL, &next) != CURLE_OK || !next) {
                finish_fmt(op, PROBE_FAILURE,
                           nl_strdupf("Get \"%s\": failed to parse Location header \"%s\"", h->url,
                                      h->location));
                return true;
        }
        next_url = strdup(next);
        if (!next_url || url_authority(next_url, &hostport, &hostname) < 0) {
                finish_fmt(op, PROBE_FAILURE,
                           nl_strdupf("Get \"%s\": failed to parse Location header \"%s\"", h->url,
                                      h->location));
                return true;
        }
        if (!streq(hostname, h->host))
                return false; /* http.ErrUseLastResponse: this response is the answer */
        if (h->n_requests >= HTTP_MAX_REQUESTS) {
                /* Go names the Location as the server wrote it. */
                finish_fmt(op, PROBE_FAILURE,
                           nl_strdupf("Get \"%s\": stopped after 10 redirects", h->location));
                return true;
        }
        if (strncmp(next_url, "http://", 7) != 0 && strncmp(next_url, "https://", 8) != 0) {
                const char *colon = strchr(next_url, ':');
                finish_fmt(op, PROBE_FAILURE,
                           nl_strdupf("Get \"%s\": unsupported protocol scheme \"%.*s\"", next_url,
                                      (int) (colon ? colon - next_url : 0), next_url));
                return true;
        }
        /* A custom Host survives a relative redirect only. */
        char *host_value = h->custom_host && !location_is_absolute(h->location) ? strdup(h->custom_host)
                                                                                : strdup(hostport);
        if (!host_value) {
                finish_fmt(op, PROBE_UNKNOWN, NULL);
                return true;
        }
        free(h->host_value);
        h->host_value = host_value;
        /* Go's refererForURL: none from https to http. */
        free(h->referer);
        h->referer = NULL;
        if (!(strncmp(h->url, "https:", 6) == 0 && strncmp(next_url, "http:", 5) == 0) &&
            !(h->referer = strdup(h->url))) {
                finish_fmt(op, PROBE_UNKNOWN, NULL);
                return true;
        }
        r = http_request_start(op, next_url);
        if (r < 0)
                finish_fmt(op, PROBE_UNKNOWN, nl_strdupf("starting the request: %s", strerror(-r)));
        return true;
}

static void http_curl_done(struct probe_op *op, CURLcode code) {
        struct http_probe *h = op->data;
        long status = 0;

        (void) curl_easy_getinfo(op->easy, CURLINFO_RESPONSE_CODE, &status);
        if (code != CURLE_OK && !(code == CURLE_WRITE_ERROR && h->body_truncated)) {
                char *text = transport_error(op, code);
                if (status > 0 && h->headers_done && !h->headers_too_big) {
                        /* The body could not be read: an error, not a result, to the kubelet. */
                        finish_fmt(op, PROBE_UNKNOWN, text);
                        return;
                }
                char *msg = text ? nl_strdupf("Get \"%s\": %s", h->url, text) : NULL;
                free(text);
                finish_fmt(op, PROBE_FAILURE, msg);
                return;
        }
        h->status = status;
        if (is_redirect(status) && !isempty(h->location) && follow_redirect(op))
                return;

        if (status >= 200 && status < 300) {
                char *body = nl_buf_steal(&h->body);
                finish_fmt(op, PROBE_SUCCESS, body ? body : strdup(""));
        } else if (status >= 300 && status < 400) {
                char *body = nl_buf_steal(&h->body);
                finish_fmt(op, PROBE_WARNING,
                           nl_strdupf("Probe terminated redirects, Response body: %s", strempty(body)));
                free(body);
        } else
                finish_fmt(op, PROBE_FAILURE, nl_strdupf("HTTP probe failed with statuscode: %ld", status));
}

static void http_timeout(struct probe_op *op) {
        struct http_probe *h = op->data;

        if (h->headers_done && h->status == 0)
                (void) curl_easy_getinfo(op->easy, CURLINFO_RESPONSE_CODE, &h->status);
        if (h->headers_done)
                /* Go's cancelTimerBody: the deadline passed while reading the body. */
                probe_op_finish(op, PROBE_UNKNOWN,
                                "context deadline exceeded (Client.Timeout or context cancellation while "
                                "reading body)");
        else
                finish_fmt(op, PROBE_FAILURE,
                           nl_strdupf("Get \"%s\": context deadline exceeded (Client.Timeout exceeded while "
                                      "awaiting "
                                      "headers)",
                                      h->url));
}

static const struct probe_op_ops http_ops = {
        .kind = "http",
        .curl_done = http_curl_done,
        .timeout = http_timeout,
        .free = http_free,
};

/* The probe's headers as Go's http.Header: canonical names; Host kept aside. Returns an error
 * text for a header Go's transport refuses, NULL when all are fine (or on ENOMEM, *oom). */
static char *http_collect_headers(struct http_probe *h, const struct pod_http_get_action *a, bool *oom) {
        *oom = false;
        h->headers = calloc(a->n_http_headers ? a->n_http_headers : 1, sizeof(*h->headers));
        if (!h->headers) {
                *oom = true;
                return NULL;
        }
        for (size_t i = 0; i < a->n_http_headers; i++) {
                const char *name = strempty(a->http_headers[i].name),
                           *value = strempty(a->http_headers[i].value);
                if (!header_name_valid(name))
                        return nl_strdupf("net/http: invalid header field name \"%s\"", name);
                _cleanup_free_ char *c = canonical_name(name);
                if (!c) {
                        *oom = true;
                        return NULL;
                }
                if (!header_value_valid(value))
                        return nl_strdupf("net/http: invalid header field value for \"%s\"", c);
                if (streq(c, "Host")) {
                        if (!h->custom_host && !(h->custom_host = strdup(value))) {
                                *oom = true;
                                return NULL;
                        }
                        continue;
                }
                struct http_header *hh = &h->headers[h->n_headers];
                hh->name = TAKE_PTR(c);
                hh->value = strdup(value);
                h->n_headers++;
                if (!hh->value) {
                        *oom = true;
                        return NULL;
                }
        }
        /* Request.Host = headers.Get("Host"): an empty one is no override. */
        if (h->custom_host && !*h->custom_host) {
                free(h->custom_host);
                h->custom_host = NULL;
        }
        return NULL;
}

int probe_http_start(struct probe_runner *r, const struct pod_http_get_action *action,
                     const char *default_host, int port, usec_t timeout, probe_done_fn done, void *userdata,
                     struct probe_op **ret) {
        struct probe_op *op = NULL;
        struct http_probe *h;
        _cleanup_free_ char *scheme = NULL, *url = NULL, *hostport = NULL;
        char *bad = NULL;
        bool oom;
        nl_buf b = {};
        int k;

        if (!action)
                return -EINVAL;
        k = probe_op_new(r, &http_ops, timeout, done, userdata, sizeof(*h), &op);
        if (k < 0)
                return k;
        h = op->data;

        scheme = strdup(isempty(action->scheme) ? "http" : action->scheme);
        if (!scheme)
                goto oom;
        for (char *p = scheme; *p; p++)
                *p = (char) tolower((unsigned char) *p);
        const char *host = !isempty(action->host) ? action->host : strempty(default_host);

        hostport = probe_join_host_port(host, port);
        if (!hostport)
                goto oom;
        nl_buf_printf(&b, "%s://%s", scheme, hostport);
        append_path(&b, action->path);
        url = nl_buf_steal(&b);
        if (!url)
                goto oom;

        if (!streq(scheme, "http") && !streq(scheme, "https"))
                bad = nl_strdupf("Get \"%s\": unsupported protocol scheme \"%s\"", url, scheme);
        else if (port <= 0 || port > 65535)
                bad = nl_strdupf("Get \"%s\": dial tcp %s: invalid port", url, hostport);
        else if (isempty(host) || url_authority(url, NULL, &h->host) < 0)
                bad = nl_strdupf("Get \"%s\": http: no Host in request URL", url);
        else {
                char *e = http_collect_headers(h, action, &oom);
                if (oom)
                        goto oom;
                if (e) {
                        bad = nl_strdupf("Get \"%s\": %s", url, e);
                        free(e);
                }
        }
        if (bad) {
                k = probe_op_finish_deferred(op, PROBE_FAILURE, bad);
                free(bad);
                if (k < 0)
                        goto fail;
                *ret = op;
                return 0;
        }

        /* Go sends URL.Host, port and all, unless the probe set Host. */
        h->host_value = strdup(h->custom_host ? h->custom_host : hostport);
        if (!h->host_value)
                goto oom;
        k = http_request_start(op, url);
        if (k < 0)
                goto fail;
        *ret = op;
        return 0;
oom:
        k = -ENOMEM;
fail:
        probe_op_free(op);
        return k;
}
