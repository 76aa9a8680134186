/* SPDX-License-Identifier: Apache-2.0 */
/* The wire protocols of kubectl exec, attach and port-forward, as the kubelet serves them on
 * its node port (the CRI streaming server, k8s.io/cri-streaming, and the WebSocket translator
 * it puts in front for v5.channel.k8s.io):
 *
 *   - SPDY/3.1 as github.com/moby/spdystream speaks it (frames, zlib-compressed header blocks
 *     with the SPDY/3 dictionary, stream state, PING, GOAWAY, WINDOW_UPDATE);
 *   - WebSocket (RFC 6455) server framing;
 *   - the HTTP/1.1 upgrades to both, with the subprotocol negotiation of each;
 *   - the remotecommand subprotocols (channel.k8s.io up to v5.channel.k8s.io, base64) and the
 *     port-forward ones (portforward.k8s.io over SPDY, tunnelled in WebSocket, and the
 *     kubelet's WebSocket channel framing);
 *   - a session driver that runs one upgraded connection with poll() against local file
 *     descriptors (a process's stdio, connected sockets), for a forked connection child.
 *
 * Everything below the driver is pure: it parses and produces bytes in buffers. Every size a
 * peer controls has a cap (frame sizes, inflated header blocks, streams, messages). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/time-util.h"
#include "common/util.h"

/* ==== byte buffers ============================================================================ */

/* Bytes data[off..len) are pending; appends grow it, consumption advances off. */
struct stream_buf {
        uint8_t *data;
        size_t off, len, cap;
};

int stream_buf_append(struct stream_buf *b, const void *p, size_t n); /* -ENOMEM */
static inline size_t stream_buf_size(const struct stream_buf *b) {
        return b->len - b->off;
}
/* Never NULL: an empty buffer that never held anything gives an empty string. */
static inline const uint8_t *stream_buf_head(const struct stream_buf *b) {
        return b->data ? b->data + b->off : (const uint8_t *) "";
}
void stream_buf_consume(struct stream_buf *b, size_t n);
void stream_buf_clear(struct stream_buf *b);
void stream_buf_free(struct stream_buf *b);

/* ==== SPDY/3.1 ================================================================================ */

enum spdy_type {
        SPDY_DATA = 0, /* not a control frame: the parser's tag for data frames */
        SPDY_SYN_STREAM = 1,
        SPDY_SYN_REPLY = 2,
        SPDY_RST_STREAM = 3,
        SPDY_SETTINGS = 4,
        SPDY_PING = 6,
        SPDY_GOAWAY = 7,
        SPDY_HEADERS = 8,
        SPDY_WINDOW_UPDATE = 9,
        SPDY_UNKNOWN = 0xffff, /* a control frame of another type: skipped, as the spec asks */
};

#define SPDY_FLAG_FIN 0x01
#define SPDY_FLAG_UNIDIRECTIONAL 0x02

enum spdy_rst_status {
        SPDY_PROTOCOL_ERROR = 1,
        SPDY_INVALID_STREAM = 2,
        SPDY_REFUSED_STREAM = 3,
        SPDY_UNSUPPORTED_VERSION = 4,
        SPDY_CANCEL = 5,
        SPDY_INTERNAL_ERROR = 6,
        SPDY_FLOW_CONTROL_ERROR = 7,
        SPDY_STREAM_IN_USE = 8,
        SPDY_STREAM_ALREADY_CLOSED = 9,
        SPDY_FRAME_TOO_LARGE = 11,
};

enum spdy_goaway_status {
        SPDY_GOAWAY_OK = 0,
        SPDY_GOAWAY_PROTOCOL_ERROR = 1,
        SPDY_GOAWAY_INTERNAL_ERROR = 2,
};

#define SPDY_SETTINGS_INITIAL_WINDOW_SIZE 7
#define SPDY_INITIAL_WINDOW (64u * 1024u) /* SPDY/3.1's default stream and session window */

/* Caps on what a peer sends. Kubernetes' header blocks are a few dozen bytes. */
#define SPDY_CONTROL_MAX (64u * 1024u)      /* a control frame's payload, as sent (compressed) */
#define SPDY_HEADER_BLOCK_MAX (64u * 1024u) /* a header block after inflation (zlib bombs) */
#define SPDY_HEADERS_MAX 64u                /* name/value pairs in one block */
#define SPDY_SETTINGS_MAX 64u               /* entries in one SETTINGS frame */
#define SPDY_DATA_MAX ((1u << 24) - 1)      /* the 24-bit length field */

/* One name/value pair. Names are lowercase on the wire; value holds value_len bytes (NUL
 * terminated after them) in which NUL bytes separate several values of the name. */
struct spdy_header {
        char *name;
        char *value;
        size_t value_len;
};

struct spdy_headers {
        struct spdy_header *v;
        size_t n;
};

/* The first value of a name (compared case-insensitively, as Go's http.Header.Get), or NULL. */
const char *spdy_headers_get(const struct spdy_headers *h, const char *name);
void spdy_headers_free(struct spdy_headers *h);

struct spdy_setting {
        uint8_t flags;
        uint32_t id; /* 24 bits */
        uint32_t value;
};

/* One frame as parsed. Data frames arrive in chunks as their bytes are read: data/len is this
 * chunk, last says it is the frame's final one (a zero-length frame is one empty, last chunk). */
struct spdy_frame {
        enum spdy_type type;
        uint8_t flags;
        uint32_t stream_id; /* GOAWAY: the last good stream id */
        const uint8_t *data;
        size_t len;
        bool last;
        uint32_t associated_id; /* SYN_STREAM */
        uint8_t priority;       /* SYN_STREAM, 3 bits */
        uint32_t status;        /* RST_STREAM, GOAWAY */
        uint32_t ping_id;
        uint32_t delta; /* WINDOW_UPDATE */
        const struct spdy_headers *headers;
        const struct spdy_setting *settings;
        size_t n_settings;
        uint16_t raw_type; /* SPDY_UNKNOWN: the type on the wire */
};

/* The SPDY/3 header dictionary (the SPDY/3 draft, 2.6.10.1): 1423 bytes. */
const uint8_t *spdy_dictionary(size_t *ret_len);

/* Push parser for one direction: framing, and the zlib stream its header blocks share. */
struct spdy_parser;
typedef int (*spdy_frame_fn)(void *userdata, const struct spdy_frame *f);
int spdy_parser_new(struct spdy_parser **ret);
struct spdy_parser *spdy_parser_free(struct spdy_parser *p);
/* Consumes all of data, calling fn for each frame (or data chunk) completed. Returns 0, fn's
 * negative return, -EPROTO on a malformed frame, -EMSGSIZE over a cap, -ENOMEM. After an
 * error the parser must not be fed again. */
int spdy_parser_feed(struct spdy_parser *p, const void *data, size_t len, spdy_frame_fn fn, void *userdata);

/* Encoders append one frame to out. Header blocks go through the encoder's zlib stream (one per
 * direction, for the whole connection, as the peer's decoder expects). */
struct spdy_encoder;
int spdy_encoder_new(struct spdy_encoder **ret);
struct spdy_encoder *spdy_encoder_free(struct spdy_encoder *e);
int spdy_encode_syn_stream(struct spdy_encoder *e, struct stream_buf *out, uint32_t id,
                           uint32_t associated_id, uint8_t priority, uint8_t flags,
                           const struct spdy_header *h, size_t n);
int spdy_encode_syn_reply(struct spdy_encoder *e, struct stream_buf *out, uint32_t id, uint8_t flags,
                          const struct spdy_header *h, size_t n);
int spdy_encode_headers(struct spdy_encoder *e, struct stream_buf *out, uint32_t id, uint8_t flags,
                        const struct spdy_header *h, size_t n);
int spdy_encode_data(struct stream_buf *out, uint32_t id, uint8_t flags, const void *data, size_t len);
int spdy_encode_rst_stream(struct stream_buf *out, uint32_t id, uint32_t status);
int spdy_encode_settings(struct stream_buf *out, uint8_t flags, const struct spdy_setting *s, size_t n);
int spdy_encode_ping(struct stream_buf *out, uint32_t id);
int spdy_encode_goaway(struct stream_buf *out, uint32_t last_good_id, uint32_t status);
int spdy_encode_window_update(struct stream_buf *out, uint32_t id, uint32_t delta);

/* The server side of a SPDY connection: stream state, the answers the protocol makes by itself
 * (PING echo, RST_STREAM for bad or surplus streams, GOAWAY on a protocol error, WINDOW_UPDATE
 * as received data is consumed), and what the application is told. */
enum spdy_event_type {
        SPDY_EVENT_OPEN,   /* a new client stream: headers; fin if the client already half-closed */
        SPDY_EVENT_DATA,   /* a chunk of data on a stream */
        SPDY_EVENT_FIN,    /* the client half-closed the stream */
        SPDY_EVENT_RESET,  /* the client reset the stream (status); it is gone */
        SPDY_EVENT_GOAWAY, /* the client is going away: no new streams */
};

struct spdy_event {
        enum spdy_event_type type;
        uint32_t stream_id;
        const struct spdy_headers *headers;
        bool fin;
        const uint8_t *data;
        size_t len;
        uint32_t status;
};

typedef int (*spdy_event_fn)(void *userdata, const struct spdy_event *ev);
struct spdy_session;
/* max_streams: streams open at once; more are refused (RST_STREAM REFUSED_STREAM). */
int spdy_session_new(unsigned max_streams, spdy_event_fn fn, void *userdata, struct spdy_session **ret);
struct spdy_session *spdy_session_free(struct spdy_session *s);
/* Bytes from the client. On a protocol error a GOAWAY(PROTOCOL_ERROR) is queued and -EPROTO (or
 * -EMSGSIZE) returned; fn's negative return is passed on. */
int spdy_session_feed(struct spdy_session *s, const void *data, size_t len);
/* What to send to the client; the caller consumes what it wrote. */
struct stream_buf *spdy_session_output(struct spdy_session *s);
/* Accept a stream opened by the client (SYN_REPLY with no headers, as the kubelet replies). */
int spdy_session_reply(struct spdy_session *s, uint32_t id);
/* How many data bytes id may send now: what the client's flow-control windows allow once it has
 * shown it speaks flow control (a WINDOW_UPDATE or an initial window SETTING), else SIZE_MAX:
 * spdystream, Kubernetes' SPDY, neither sends nor reads WINDOW_UPDATE. 0 for a closed stream. */
size_t spdy_session_send_window(const struct spdy_session *s, uint32_t id);
/* Data on a stream (in frames of at most 32 KiB), fin half-closes it; -EPIPE when the stream is
 * closed for sending, -ENOENT when it does not exist. */
int spdy_session_send(struct spdy_session *s, uint32_t id, const void *data, size_t len, bool fin);
int spdy_session_reset(struct spdy_session *s, uint32_t id, uint32_t status);
/* The application has consumed n bytes received on id: WINDOW_UPDATE frames when due. */
int spdy_session_consumed(struct spdy_session *s, uint32_t id, size_t n);
/* GOAWAY(OK) naming the last stream accepted; once. */
int spdy_session_goaway(struct spdy_session *s);
bool spdy_session_stream_exists(const struct spdy_session *s, uint32_t id);
unsigned spdy_session_n_streams(const struct spdy_session *s);

/* ==== WebSocket (RFC 6455) ==================================================================== */

enum ws_opcode {
        WS_CONTINUATION = 0x0,
        WS_TEXT = 0x1,
        WS_BINARY = 0x2,
        WS_CLOSE = 0x8,
        WS_PING = 0x9,
        WS_PONG = 0xa,
};

enum ws_close_code {
        WS_CLOSE_NORMAL = 1000,
        WS_CLOSE_GOING_AWAY = 1001,
        WS_CLOSE_PROTOCOL_ERROR = 1002,
        WS_CLOSE_UNSUPPORTED = 1003,
        WS_CLOSE_NO_STATUS = 1005, /* reported when a close frame carries no code; never sent */
        WS_CLOSE_INVALID_DATA = 1007,
        WS_CLOSE_TOO_BIG = 1009,
        WS_CLOSE_INTERNAL_ERROR = 1011,
};

#define WS_CONTROL_MAX 125u
#define WS_ACCEPT_LEN 28 /* base64 of a SHA-1 */

/* Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(SHA-1(key + the RFC's GUID)). */
int ws_accept_key(const char *key, char ret[WS_ACCEPT_LEN + 1]);

/* One frame, appended to out; mask is the 4-byte masking key of a client frame, NULL for a
 * server frame. The payload is prefix followed by data (the channel byte and the bytes). */
int ws_encode_frame(struct stream_buf *out, enum ws_opcode opcode, bool fin, const uint8_t mask[4],
                    const void *prefix, size_t prefix_len, const void *data, size_t len);

enum ws_event_type {
        WS_EVENT_MESSAGE_START, /* opcode: WS_TEXT or WS_BINARY */
        WS_EVENT_MESSAGE_DATA,  /* a chunk of the message, unmasked */
        WS_EVENT_MESSAGE_END,
        WS_EVENT_CLOSE, /* the peer's close frame: close_code (WS_CLOSE_NO_STATUS if none) */
};

struct ws_event {
        enum ws_event_type type;
        enum ws_opcode opcode;
        const uint8_t *data;
        size_t len;
        uint16_t close_code;
};

typedef int (*ws_event_fn)(void *userdata, const struct ws_event *ev);
struct ws_session;
/* The server side: client frames must be masked; messages are streamed (data events as bytes
 * arrive, control frames in between), pings answered with pongs, a close answered once.
 * max_message caps a message's total size (0: no cap). */
int ws_session_new(uint64_t max_message, ws_event_fn fn, void *userdata, struct ws_session **ret);
struct ws_session *ws_session_free(struct ws_session *s);
/* On a protocol violation a close frame (1002, 1007 or 1009) is queued and -EPROTO or
 * -EMSGSIZE returned; after the peer's close frame further bytes are ignored. */
int ws_session_feed(struct ws_session *s, const void *data, size_t len);
struct stream_buf *ws_session_output(struct ws_session *s);
/* One whole message, prefix then data, as a single unmasked frame; -EPIPE after a close. */
int ws_session_send(struct ws_session *s, enum ws_opcode opcode, const void *prefix, size_t prefix_len,
                    const void *data, size_t len);
/* Our close frame, once (code 0: no code). */
int ws_session_close(struct ws_session *s, uint16_t code, const char *reason);
bool ws_session_close_sent(const struct ws_session *s);
bool ws_session_close_received(const struct ws_session *s);

/* ==== HTTP/1.1 request heads and the upgrades ================================================= */

#define STREAM_HTTP_HEAD_MAX (16u * 1024u)
#define STREAM_HTTP_HEADERS_MAX 100u

struct stream_http_header {
        const char *name;
        const char *value; /* trimmed */
};

/* A request head. The node server may fill this itself (method, target, headers pointing into
 * its own buffer); stream_http_parse_head() fills it from raw bytes, owning a copy in buf. */
struct stream_http_request {
        char *buf;
        const char *method;
        const char *target; /* as sent: path and query */
        struct stream_http_header headers[STREAM_HTTP_HEADERS_MAX];
        size_t n_headers;
        size_t head_len; /* bytes the head took in the input: what follows belongs to the session */
};

/* -EAGAIN: the head is not complete yet; -EMSGSIZE: over STREAM_HTTP_HEAD_MAX or the header cap;
 * -EBADMSG: not an HTTP/1.x request head. */
int stream_http_parse_head(const void *data, size_t len, struct stream_http_request *ret);
void stream_http_request_done(struct stream_http_request *rq);
/* The first value of a header, case-insensitive name, or NULL. */
const char *stream_http_header(const struct stream_http_request *rq, const char *name);
/* Whether a comma-separated header (all its lines) lists token, case-insensitively. */
bool stream_http_header_has_token(const struct stream_http_request *rq, const char *name, const char *token);

enum stream_kind {
        STREAM_KIND_EXEC,
        STREAM_KIND_ATTACH,
        STREAM_KIND_PORTFORWARD,
};

enum stream_transport {
        STREAM_TRANSPORT_SPDY,
        STREAM_TRANSPORT_WEBSOCKET,
        STREAM_TRANSPORT_SPDY_OVER_WEBSOCKET, /* "SPDY/3.1+portforward.k8s.io": SPDY in binary messages */
};

enum stream_protocol {
        STREAM_PROTOCOL_NONE,        /* WebSocket without a subprotocol: channel.k8s.io framing */
        STREAM_PROTOCOL_V1,          /* channel.k8s.io */
        STREAM_PROTOCOL_V2,          /* v2.channel.k8s.io (SPDY) */
        STREAM_PROTOCOL_V3,          /* v3.channel.k8s.io (SPDY): resize */
        STREAM_PROTOCOL_V4,          /* v4.channel.k8s.io: exit codes as a Status */
        STREAM_PROTOCOL_V5,          /* v5.channel.k8s.io: stream close (WebSocket) */
        STREAM_PROTOCOL_BASE64,      /* base64.channel.k8s.io (WebSocket, text frames) */
        STREAM_PROTOCOL_V4_BASE64,   /* v4.base64.channel.k8s.io */
        STREAM_PROTOCOL_PORTFORWARD, /* portforward.k8s.io (SPDY) */
        STREAM_PROTOCOL_PF_TUNNEL,   /* SPDY/3.1+portforward.k8s.io (WebSocket) */
        _STREAM_PROTOCOL_MAX,
};

const char *stream_protocol_name(enum stream_protocol p);

struct stream_upgrade {
        enum stream_kind kind;
        enum stream_transport transport;
        enum stream_protocol protocol;
        int version;    /* remotecommand: 1..5 (the error stream carries a Status from 4 on) */
        bool base64;    /* WebSocket text frames with base64 payloads and '0'+channel */
        int status;     /* 101, or the refusal's HTTP status */
        char *response; /* the 101 answer to send before the session, or the whole refusal */
        size_t response_len;
};

/* Negotiate an upgrade as the kubelet does: SPDY/3.1 with X-Stream-Protocol-Version (the
 * client's first protocol the server speaks; refused with 403 and X-Accepted-Stream-Protocol-
 * Versions when none), or WebSocket with Sec-WebSocket-Protocol. Fills ret in both cases: on a
 * refusal it returns -EPROTONOSUPPORT or -EBADMSG, err says why and ret->response carries the
 * HTTP answer (text/plain, as http.Error writes it). */
int stream_upgrade(const struct stream_http_request *rq, enum stream_kind kind, struct stream_upgrade *ret,
                   nl_error *err);
void stream_upgrade_done(struct stream_upgrade *u);

/* ==== remotecommand and port-forward semantics ================================================ */

/* Channel and stream ids of remotecommand (the same on both transports). */
enum {
        STREAM_CHANNEL_STDIN = 0,
        STREAM_CHANNEL_STDOUT = 1,
        STREAM_CHANNEL_STDERR = 2,
        STREAM_CHANNEL_ERROR = 3,
        STREAM_CHANNEL_RESIZE = 4,
        STREAM_CHANNEL_CLOSE = 255, /* v5: [255, channel] closes a channel */
};

#define STREAM_COMMAND_MAX 1024u            /* command arguments */
#define STREAM_COMMAND_BYTES (128u * 1024u) /* their total size */
#define STREAM_PORTS_MAX 64u                /* ports of one WebSocket port-forward */

struct stream_exec_options {
        bool stdin, stdout, stderr, tty;
        char **command; /* exec: NULL-terminated */
        size_t n_command;
};

/* The query of /exec, /attach as the kubelet reads it: input, output, error, tty ("1"), and for
 * exec every command. tty with stderr drops stderr; none of the three is an error. */
int stream_exec_options_parse(const char *query, bool exec, struct stream_exec_options *ret, nl_error *err);
void stream_exec_options_done(struct stream_exec_options *o);
/* The ports of a WebSocket port-forward: every "port" parameter, comma-separated lists, 1-65535. */
int stream_ports_parse(const char *query, uint16_t **ret, size_t *ret_n, nl_error *err);

enum stream_result_kind {
        STREAM_RESULT_SUCCESS,
        STREAM_RESULT_EXIT_CODE, /* the process exited with a non-zero code */
        STREAM_RESULT_ERROR,     /* the runtime failed: message says how */
};

struct stream_result {
        enum stream_result_kind kind;
        int exit_code;
        char *message;
};

void stream_result_done(struct stream_result *r);

/* What goes on the error stream at the end, or NULL with *ret_len 0 when nothing does (success
 * before v4). From v4 on a metav1.Status: the CRI streaming server's form on SPDY and the older
 * WebSocket protocols ({"status":"Success"}; "command terminated with non-zero exit code: error
 * executing command [cmd], exit code N", as containerd and CRI-O word it), the kubelet's
 * WebSocket translator's form on v5.channel.k8s.io ({"metadata":{},"status":"Success"}). */
int stream_status_encode(const struct stream_upgrade *up, const struct stream_result *r,
                         char *const *command, char **ret, size_t *ret_len);

/* The resize stream: {"Width":W,"Height":H} objects one after the other, as Go's json.Decoder
 * reads them (keys case-insensitive, unknown keys ignored). As the kubelet, the first value that
 * does not decode ends resizing for the session. */
struct stream_resize {
        struct stream_buf buf;
        bool failed;
};
typedef void (*stream_resize_fn)(void *userdata, uint16_t width, uint16_t height);
void stream_resize_feed(struct stream_resize *r, const void *data, size_t len, stream_resize_fn fn,
                        void *userdata);
void stream_resize_done(struct stream_resize *r);

/* ==== the session driver ====================================================================== */

/* The upgraded connection: non-blocking reads and writes through callbacks (plain socket or
 * OpenSSL). read/write return bytes, 0 for end of file (read), -EAGAIN when the fd must become
 * readable/writable first, -errno on failure. pending says whether read has bytes without the
 * fd becoming readable (SSL_pending); shutdown ends our sending side (shutdown(SHUT_WR),
 * SSL_shutdown). With OpenSSL, set SSL_MODE_ENABLE_PARTIAL_WRITE and
 * SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER. The driver puts fd in non-blocking mode. */
struct stream_conn {
        int fd;
        ssize_t (*read)(void *userdata, void *buf, size_t n);
        ssize_t (*write)(void *userdata, const void *buf, size_t n);
        bool (*pending)(void *userdata);
        int (*shutdown)(void *userdata);
        void *userdata;
};

/* A plain TCP socket (recv, send with MSG_NOSIGNAL, shutdown(SHUT_WR)); userdata is the fd. */
void stream_conn_socket(int fd, struct stream_conn *ret);

struct stream_limits {
        usec_t idle_timeout;            /* no byte either way: the session ends (0: 4 h, the kubelet's) */
        usec_t stream_creation_timeout; /* the client's streams must all be there (0: 30 s) */
        usec_t linger;                  /* after our last byte, waiting for the client to close (0: 5 s) */
        usec_t drain;                   /* after the process ended, waiting for its output's end (0: 2 s) */
        unsigned max_streams;           /* SPDY streams open at once (0: 8 exec, 256 port-forward) */
};

/* The process side of an exec or attach, given by start(): fds the session owns from then on
 * (-1 when absent). stdin_fd is written (closed at the client's end of stdin), stdout_fd and
 * stderr_fd read to their end (EIO from a pty master counts as the end), exit_fd polled for
 * POLLIN (a pidfd), after which wait() gives the result. Without exit_fd, wait() is called once
 * stdout and stderr ended. Under a tty, stdin_fd and stdout_fd are two fds of the pty master.
 * The caller ignores SIGPIPE. */
struct stream_process {
        int stdin_fd, stdout_fd, stderr_fd, exit_fd;
};

struct stream_exec_ops {
        /* The client's streams are all there: start the process (exec) or attach to it. */
        int (*start)(void *userdata, struct stream_process *ret, nl_error *err);
        /* A terminal size from the resize stream (tty sessions). The first may come before
         * start() (a terminal's process waits up to STREAM_FIRST_SIZE_WAIT for it); the last
         * size seen before start() is given again right after it. */
        void (*resize)(void *userdata, uint16_t width, uint16_t height);
        /* The process ended: its result. A failure here is reported as the runtime's error. */
        int (*wait)(void *userdata, struct stream_result *ret);
};

/* Runs an exec or attach session on an upgraded connection: sends up->response (the 101), then
 * serves until the process ended, its output and result are delivered and the client closed
 * (or linger ran out). preread: bytes read past the request head. Returns 0 when the client
 * got the result; -ECONNRESET when the client went away or broke the protocol first (the
 * caller kills the process, as the kubelet's exec ends with its connection); -ETIMEDOUT when
 * streams were not created in time or the session was idle too long. */
int stream_exec_serve(const struct stream_conn *conn, const struct stream_upgrade *up,
                      const struct stream_exec_options *opts, const struct stream_exec_ops *ops,
                      void *userdata, const struct stream_limits *limits, const void *preread,
                      size_t preread_len, nl_error *err);

struct stream_portforward_ops {
        /* A connected socket to port inside the pod (blocking is fine: the driver makes it
         * non-blocking). err's message goes to the client's error stream. */
        int (*connect)(void *userdata, uint16_t port, int *ret_fd, nl_error *err);
};

/* Runs a port-forward session: SPDY (and SPDY tunnelled in WebSocket) pairs of data and error
 * streams per connection, by requestID; WebSocket channel pairs for ports (from the query, see
 * stream_ports_parse). pod and uid name the pod in error messages ("error forwarding port P to
 * pod POD, uid UID: ..."). Returns 0 when the client closed, -ETIMEDOUT when idle, -ECONNRESET
 * on a protocol error. */
int stream_portforward_serve(const struct stream_conn *conn, const struct stream_upgrade *up,
                             const uint16_t *ports, size_t n_ports, const struct stream_portforward_ops *ops,
                             void *userdata, const char *pod, const char *uid,
                             const struct stream_limits *limits, const void *preread, size_t preread_len,
                             nl_error *err);
