/* SPDX-License-Identifier: Apache-2.0 */
/* What the stream library's files share and the public header does not say. */
#pragma once

#include <poll.h>

#include "stream.h"

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* The largest chunk read from a local fd or sent in one data frame or message: client-go's
 * io.Copy buffer, and the WebSocket client's read buffer (32 KiB plus the channel byte). */
#define STREAM_CHUNK (32u * 1024u)
/* usec: a terminal waits this long for its size; kubectl sends one as soon as its streams are
 * there, but on a loaded machine that took more than the 500 ms tried first (clients that send
 * none, which kubectl never is with a tty, start this much later) */
#define STREAM_FIRST_SIZE_WAIT (2000ULL * 1000ULL)

/* JSON string escaping as Go's encoding/json writes it (HTML-safe: <, >, & as \u003c...;
 * invalid UTF-8 as \ufffd; U+2028 and U+2029 escaped), appended with the quotes. */
int stream_json_string(struct stream_buf *out, const char *s);

/* ==== the session driver's connection core (conn.c) ========================================== */

#define STREAM_OUT_MAX (256u * 1024u) /* bytes queued for the client before local reads pause */
#define STREAM_IN_MAX (256u * 1024u)  /* bytes queued for a local fd before client reads pause */
#define STREAM_WS_MESSAGE_MAX (16u * 1024u * 1024u) /* a whole base64 message, buffered to decode */


/* One upgraded connection: the transport layers (WebSocket, SPDY, or SPDY inside WebSocket
 * messages), the bytes to write, and the read/write state. */
struct stream_core {
        const struct stream_conn *io;
        enum stream_transport transport;
        struct spdy_session *spdy;
        struct ws_session *ws;
        void *ws_route; /* who gets the WebSocket's events */
        struct stream_buf out;
        bool eof;    /* the client closed its side (or its WebSocket close frame came) */
        bool failed; /* read or write failed, or the client broke the protocol */
        int error;
        usec_t last_activity;
};

int stream_core_init(struct stream_core *c, const struct stream_conn *io, const struct stream_upgrade *up,
                     unsigned max_streams, spdy_event_fn spdy_fn, ws_event_fn ws_fn, void *userdata);
void stream_core_done(struct stream_core *c);
/* Bytes from the client (a read, or what was read past the request head). */
int stream_core_feed(struct stream_core *c, const void *data, size_t len);
/* One read of at most STREAM_CHUNK bytes, fed through: > 0, 0 at end of file, -EAGAIN, or the
 * failure (c->failed set). */
int stream_core_read(struct stream_core *c);
/* Moves what the layers produced to c->out and writes what the connection takes: 0, or the
 * failure (c->failed set). */
int stream_core_flush(struct stream_core *c);
/* Bytes not yet written, all layers included. */
size_t stream_core_pending(const struct stream_core *c);
/* After our last byte: shutdown (if shut), then read and drop until the client closes or until
 * the deadline. */
void stream_core_linger(struct stream_core *c, usec_t until, bool shut);
/* A chunk of data on a remotecommand/port-forward channel of a WebSocket: binary [ch]+data,
 * or text '0'+ch and base64. */
int stream_core_ws_send(struct stream_core *c, bool base64, uint8_t channel, const void *data, size_t len);

/* Wait for the fds (and the connection) with a timeout in usec (USEC_INFINITY: none). */
#define USEC_INFINITY ((usec_t) -1)
int stream_poll(struct pollfd *fds, size_t n, usec_t timeout);
void stream_set_nonblock(int fd);
/* Read a whole WebSocket message's channel payload (base64 decoding). */
int stream_base64_decode(const uint8_t *in, size_t len, struct stream_buf *out);
