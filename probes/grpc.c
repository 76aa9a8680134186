/* SPDX-License-Identifier: Apache-2.0 */
/* grpc probes, as the kubelet's pkg/probe/grpc: grpc.health.v1.Health/Check over HTTP/2
 * cleartext (prior knowledge) through libcurl, the request and answer encoded by hand (a
 * HealthCheckRequest is one string field, a HealthCheckResponse one enum). Like grpc-go's
 * blocking dial, a connection that fails is tried again until the deadline, and the failure
 * is then "timeout: failed to connect service ...". */
#include <ctype.h>
#include <stdio.h>

#include "common/curl-event.h"
#include "common/time-util.h"
#include "probes-internal.h"

/* grpc-go's first reconnect backoff (baseDelay). */
#define GRPC_RETRY_USEC (1 * USEC_PER_SEC)
/* Service names are short; a cap keeps the request one small frame. */
#define GRPC_MAX_SERVICE 4096

enum {
        HEALTH_UNKNOWN = 0,
        HEALTH_SERVING = 1,
        HEALTH_NOT_SERVING = 2,
        HEALTH_SERVICE_UNKNOWN = 3,
};

struct grpc_probe {
        char *addr; /* "10.0.0.1:9000", as grpc-go names the target */
        char *url;
        unsigned char *req;
        size_t req_len;
        sd_event_source *retry;

        nl_buf body;
        bool body_too_big;
        size_t header_bytes;
        int grpc_status; /* -1: none seen */
        char *grpc_message;
        char *content_type;
};

static void grpc_free(struct probe_op *op) {
        struct grpc_probe *g = op->data;
        sd_event_source_disable_unref(g->retry);
        free(g->addr);
        free(g->url);
        free(g->req);
        nl_buf_free(&g->body);
        free(g->grpc_message);
        free(g->content_type);
}

static const char *const code_names[] = {
        "OK",       "Canceled",        "Unknown",          "InvalidArgument",   "DeadlineExceeded",
        "NotFound", "AlreadyExists",   "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
        "Aborted",  "OutOfRange",      "Unimplemented",    "Internal",          "Unavailable",
        "DataLoss", "Unauthenticated",
};

enum {
        CODE_UNKNOWN = 2,
        CODE_DEADLINE_EXCEEDED = 4,
        CODE_PERMISSION_DENIED = 7,
        CODE_RESOURCE_EXHAUSTED = 8,
        CODE_UNIMPLEMENTED = 12,
        CODE_INTERNAL = 13,
        CODE_UNAVAILABLE = 14,
        CODE_UNAUTHENTICATED = 16,
};

/* grpc-message is percent-encoded (gRPC over HTTP/2, "Percent-Encoded"). */
static char *percent_decode(const char *s, size_t n) {
        char *d = malloc(n + 1), *o = d;
        if (!d)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                if (s[i] == '%' && i + 2 < n && isxdigit((unsigned char) s[i + 1]) &&
                    isxdigit((unsigned char) s[i + 2])) {
                        char hx[3] = {s[i + 1], s[i + 2], 0};
                        *o++ = (char) strtol(hx, NULL, 16);
                        i += 2;
                } else
                        *o++ = s[i];
        }
        *o = 0;
        return d;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userdata) {
        struct probe_op *op = userdata;
        struct grpc_probe *g = op->data;
        size_t n = size * nmemb;

        g->header_bytes += n;
        if (g->header_bytes > PROBE_MAX_HEADER_BYTES)
                return 0;
        size_t name_len, vlen;
        const char *v;
        if (!curl_header_split(data, n, &name_len, &v, &vlen))
                return n;

        if (name_len == 11 && strncasecmp(data, "grpc-status", 11) == 0) {
                int64_t code;
                _cleanup_free_ char *s = strndup(v, vlen);
                if (!s)
                        return 0;
                g->grpc_status = nl_parse_int64(s, 0, INT32_MAX, &code) >= 0 ? (int) code : CODE_UNKNOWN;
        } else if (name_len == 12 && strncasecmp(data, "grpc-message", 12) == 0) {
                free(g->grpc_message);
                g->grpc_message = percent_decode(v, vlen);
                if (!g->grpc_message)
                        return 0;
        } else if (name_len == 12 && strncasecmp(data, "content-type", 12) == 0 && !g->content_type) {
                g->content_type = strndup(v, vlen);
                if (!g->content_type)
                        return 0;
        }
        return n;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *userdata) {
        struct probe_op *op = userdata;
        struct grpc_probe *g = op->data;
        size_t n = size * nmemb;

        if (g->body.len + n > PROBE_GRPC_MAX_BODY) {
                g->body_too_big = true;
                return 0;
        }
        nl_buf_append(&g->body, data, n);
        return g->body.oom ? 0 : n;
}

static void append_varint(unsigned char *p, size_t *len, uint64_t v) {
        while (v >= 0x80) {
                p[(*len)++] = (unsigned char) (v | 0x80);
                v >>= 7;
        }
        p[(*len)++] = (unsigned char) v;
}

/* The gRPC message: 5-byte frame header (uncompressed, big-endian length), then the
 * HealthCheckRequest: field 1 (service, a string) unless empty. */
static int build_request(struct grpc_probe *g, const char *service) {
        size_t n = strlen(service), len = 5;

        g->req = malloc(5 + 1 + 10 + n);
        if (!g->req)
                return -ENOMEM;
        if (n > 0) {
                g->req[len++] = 0x0a;
                append_varint(g->req, &len, n);
                memcpy(g->req + len, service, n);
                len += n;
        }
        uint32_t m = (uint32_t) (len - 5);
        g->req[0] = 0;
        g->req[1] = (unsigned char) (m >> 24);
        g->req[2] = (unsigned char) (m >> 16);
        g->req[3] = (unsigned char) (m >> 8);
        g->req[4] = (unsigned char) m;
        g->req_len = len;
        return 0;
}

static int add_header(struct probe_op *op, const char *line) {
        struct curl_slist *l = curl_slist_append(op->headers, line);
        if (!l)
                return -ENOMEM;
        op->headers = l;
        return 0;
}

static int grpc_attempt(struct probe_op *op) {
        struct grpc_probe *g = op->data;
        char line[64];
        uint64_t now = 0;
        int k;

        k = probe_op_easy_init(op, g->url);
        if (k < 0)
                return k;
        nl_buf_free(&g->body);
        g->body_too_big = false;
        g->header_bytes = 0;
        g->grpc_status = -1;
        free(g->grpc_message);
        g->grpc_message = NULL;
        free(g->content_type);
        g->content_type = NULL;

        curl_slist_free_all(op->headers);
        op->headers = NULL;
        snprintf(line, sizeof(line), "User-Agent: kube-probe/%d.%d", PROBE_KUBE_VERSION_MAJOR,
                 PROBE_KUBE_VERSION_MINOR);
        if (add_header(op, "Content-Type: application/grpc") < 0 || add_header(op, "TE: trailers") < 0 ||
            add_header(op, line) < 0 || add_header(op, "Accept:") < 0 || add_header(op, "Expect:") < 0)
                return -ENOMEM;
        /* grpc-go tells the server the time left, from the context's deadline. */
        if (op->deadline > 0 && (now = now_monotonic()) > 0 && op->deadline > now) {
                uint64_t left = op->deadline - now;
                if (left < 100000000ULL)
                        snprintf(line, sizeof(line), "grpc-timeout: %lluu", (unsigned long long) left);
                else
                        snprintf(line, sizeof(line), "grpc-timeout: %llum",
                                 (unsigned long long) (left / 1000));
                if (add_header(op, line) < 0)
                        return -ENOMEM;
        }

        CURL *e = op->easy;
        if (curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long) CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE) !=
                    CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_POST, 1L) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_POSTFIELDS, g->req) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long) g->req_len) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_HEADERDATA, op) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_WRITEDATA, op) != CURLE_OK)
                return -EIO;
        return probe_op_easy_start(op);
}

static void finish_fmt(struct probe_op *op, enum probe_result result, char *output) {
        probe_op_finish(op, result, output ? output : "out of memory");
        free(output);
}

/* A gRPC error status, as the kubelet words it. */
static void finish_status(struct probe_op *op, int code, const char *message) {
        _cleanup_free_ char *timeout = NULL;
        char name[32];

        if (code == CODE_UNIMPLEMENTED) {
                finish_fmt(op, PROBE_FAILURE,
                           nl_strdupf("error: this server does not implement the grpc health protocol "
                                      "(grpc.health.v1.Health): %s",
                                      strempty(message)));
                return;
        }
        if (code == CODE_DEADLINE_EXCEEDED) {
                timeout = probe_format_duration(op->timeout);
                finish_fmt(op, PROBE_FAILURE,
                           nl_strdupf("timeout: health rpc did not complete within %s", strempty(timeout)));
                return;
        }
        if (code >= 0 && (size_t) code < ELEMENTSOF(code_names))
                snprintf(name, sizeof(name), "%s", code_names[code]);
        else
                snprintf(name, sizeof(name), "Code(%d)", code);
        finish_fmt(op, PROBE_FAILURE,
                   nl_strdupf("error: health rpc probe failed: rpc error: code = %s desc = %s", name,
                              strempty(message)));
}

/* grpc-go's mapping of a non-200 HTTP answer without grpc-status. */
static int code_from_http(long status) {
        switch (status) {
        case 400:
                return CODE_INTERNAL;
        case 401:
                return CODE_UNAUTHENTICATED;
        case 403:
                return CODE_PERMISSION_DENIED;
        case 404:
                return CODE_UNIMPLEMENTED;
        case 429:
        case 502:
        case 503:
        case 504:
                return CODE_UNAVAILABLE;
        default:
                return CODE_UNKNOWN;
        }
}

static int read_varint(const unsigned char **p, const unsigned char *end, uint64_t *ret) {
        uint64_t v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
                if (*p >= end)
                        return -EBADMSG;
                unsigned char c = *(*p)++;
                v |= (uint64_t) (c & 0x7f) << shift;
                if (!(c & 0x80)) {
                        *ret = v;
                        return 0;
                }
        }
        return -EBADMSG;
}

/* HealthCheckResponse: field 1, status, an enum (varint); other fields skipped. */
static int parse_response(const unsigned char *p, size_t n, uint64_t *ret_status) {
        const unsigned char *end = p + n;
        uint64_t status = HEALTH_UNKNOWN, key, v;

        while (p < end) {
                if (read_varint(&p, end, &key) < 0)
                        return -EBADMSG;
                switch (key & 7) {
                case 0:
                        if (read_varint(&p, end, &v) < 0)
                                return -EBADMSG;
                        if (key >> 3 == 1)
                                status = v;
                        break;
                case 1:
                        if ((size_t) (end - p) < 8)
                                return -EBADMSG;
                        p += 8;
                        break;
                case 2:
                        if (read_varint(&p, end, &v) < 0 || v > (uint64_t) (end - p))
                                return -EBADMSG;
                        p += v;
                        break;
                case 5:
                        if ((size_t) (end - p) < 4)
                                return -EBADMSG;
                        p += 4;
                        break;
                default:
                        return -EBADMSG;
                }
        }
        *ret_status = status;
        return 0;
}

static void grpc_answer(struct probe_op *op) {
        struct grpc_probe *g = op->data;
        long http_status = 0;

        (void) curl_easy_getinfo(op->easy, CURLINFO_RESPONSE_CODE, &http_status);
        if (http_status != 200) {
                _cleanup_free_ char *msg =
                        nl_strdupf("unexpected HTTP status code received from server: %ld", http_status);
                finish_status(op, code_from_http(http_status), msg);
                return;
        }
        if (!g->content_type || strncmp(g->content_type, "application/grpc", 16) != 0) {
                _cleanup_free_ char *msg = nl_strdupf("transport: received unexpected content-type \"%s\"",
                                                      strempty(g->content_type));
                finish_status(op, CODE_UNKNOWN, msg);
                return;
        }
        if (g->grpc_status < 0) {
                finish_status(op, CODE_INTERNAL, "server closed the stream without sending trailers");
                return;
        }
        if (g->grpc_status != 0) {
                finish_status(op, g->grpc_status, g->grpc_message);
                return;
        }

        const unsigned char *b = (const unsigned char *) g->body.data;
        if (g->body.len < 5) {
                finish_status(op, CODE_INTERNAL,
                              "cardinality violation: received no response message from "
                              "non-server-streaming RPC");
                return;
        }
        uint32_t m = (uint32_t) b[1] << 24 | (uint32_t) b[2] << 16 | (uint32_t) b[3] << 8 | b[4];
        uint64_t status;
        if (b[0] != 0) {
                finish_status(op, CODE_INTERNAL,
                              "grpc: compressed flag set with identity or empty encoding");
                return;
        }
        if (m > g->body.len - 5 || parse_response(b + 5, m, &status) < 0) {
                finish_status(op, CODE_INTERNAL,
                              "grpc: failed to unmarshal the received message: proto: cannot parse invalid "
                              "wire-format data");
                return;
        }
        if (status == HEALTH_SERVING) {
                probe_op_finish(op, PROBE_SUCCESS, "service healthy");
                return;
        }
        static const char *const names[] = {"UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"};
        if (status < ELEMENTSOF(names))
                finish_fmt(op, PROBE_FAILURE,
                           nl_strdupf("service unhealthy (responded with \"%s\")", names[status]));
        else
                /* protobuf-go prints an enum value it has no name for as its number. */
                finish_fmt(op, PROBE_FAILURE,
                           nl_strdupf("service unhealthy (responded with \"%llu\")",
                                      (unsigned long long) status));
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        struct probe_op *op = userdata;
        int k = grpc_attempt(op);
        if (k < 0)
                finish_fmt(op, PROBE_UNKNOWN, nl_strdupf("starting the request: %s", strerror(-k)));
        return 0;
}

static void grpc_curl_done(struct probe_op *op, CURLcode code) {
        struct grpc_probe *g = op->data;
        long http_status = 0;
        uint64_t now = 0;
        int k;

        if (code == CURLE_OK) {
                grpc_answer(op);
                return;
        }
        (void) curl_easy_getinfo(op->easy, CURLINFO_RESPONSE_CODE, &http_status);
        if (g->body_too_big) {
                finish_status(op, CODE_RESOURCE_EXHAUSTED, "grpc: received message larger than max");
                return;
        }
        if (http_status > 0) {
                /* The stream broke after the server answered. */
                finish_status(op, CODE_UNAVAILABLE, op->errbuf[0] ? op->errbuf : curl_easy_strerror(code));
                return;
        }

        /* No HTTP/2 answer at all: grpc-go's blocking dial tries again until the deadline. */
        op->connected = false;
        if (op->deadline == 0) {
                _cleanup_free_ char *dial = probe_curl_dial_error(op, code, "", g->addr);
                finish_fmt(op, PROBE_FAILURE,
                           nl_strdupf("error: failed to connect service at \"%s\": %s", g->addr,
                                      dial            ? dial
                                      : op->errbuf[0] ? op->errbuf
                                                      : curl_easy_strerror(code)));
                return;
        }
        now = now_monotonic();
        if (now + GRPC_RETRY_USEC >= op->deadline)
                return; /* nothing to do but wait for the deadline */
        if (!g->retry) {
                k = sd_event_add_time(op->runner->event, &g->retry, CLOCK_MONOTONIC, now + GRPC_RETRY_USEC,
                                      0, on_retry, op);
                if (k >= 0)
                        (void) sd_event_source_set_description(g->retry, "probe-grpc-retry");
        } else {
                k = sd_event_source_set_time(g->retry, now + GRPC_RETRY_USEC);
                if (k >= 0)
                        k = sd_event_source_set_enabled(g->retry, SD_EVENT_ONESHOT);
        }
        /* Without a retry the deadline still ends the probe. */
}

static void grpc_timeout(struct probe_op *op) {
        struct grpc_probe *g = op->data;
        _cleanup_free_ char *d = probe_format_duration(op->timeout);

        /* Connected: the RPC went out and no answer came in time. */
        if (op->connected)
                finish_fmt(op, PROBE_FAILURE,
                           nl_strdupf("timeout: health rpc did not complete within %s", strempty(d)));
        else
                finish_fmt(op, PROBE_FAILURE,
                           nl_strdupf("timeout: failed to connect service \"%s\" within %s: context "
                                      "deadline exceeded",
                                      g->addr, strempty(d)));
}

static const struct probe_op_ops grpc_ops = {
        .kind = "grpc",
        .curl_done = grpc_curl_done,
        .timeout = grpc_timeout,
        .free = grpc_free,
};

int probe_grpc_start(struct probe_runner *r, const char *host, int port, const char *service, usec_t timeout,
                     probe_done_fn done, void *userdata, struct probe_op **ret) {
        struct probe_op *op = NULL;
        struct grpc_probe *g;
        int k;

        k = probe_op_new(r, &grpc_ops, timeout, done, userdata, sizeof(*g), &op);
        if (k < 0)
                return k;
        g = op->data;
        g->grpc_status = -1;
        g->addr = probe_join_host_port(strempty(host), port);
        g->url = nl_strdupf("http://%s/grpc.health.v1.Health/Check", g->addr ? g->addr : "");
        if (!g->addr || !g->url) {
                k = -ENOMEM;
                goto fail;
        }
        if (strlen(strempty(service)) > GRPC_MAX_SERVICE) {
                k = probe_op_finish_deferred(op, PROBE_FAILURE,
                                             "error: health rpc probe failed: service name too long");
        } else if (port <= 0 || port > 65535 || isempty(host)) {
                _cleanup_free_ char *msg =
                        nl_strdupf("error: failed to connect service at \"%s\": invalid address", g->addr);
                k = msg ? probe_op_finish_deferred(op, PROBE_FAILURE, msg) : -ENOMEM;
        } else {
                k = build_request(g, strempty(service));
                if (k >= 0)
                        k = grpc_attempt(op);
        }
        if (k < 0)
                goto fail;
        *ret = op;
        return 0;
fail:
        probe_op_free(op);
        return k;
}
