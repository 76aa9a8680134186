/* SPDX-License-Identifier: Apache-2.0 */
/* What the stream library's files share and the public header does not say. */
#pragma once

#include "stream.h"

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* The largest chunk read from a local fd or sent in one data frame or message: client-go's
 * io.Copy buffer, and the WebSocket client's read buffer (32 KiB plus the channel byte). */
#define STREAM_CHUNK (32u * 1024u)

/* JSON string escaping as Go's encoding/json writes it (HTML-safe: <, >, & as \u003c...;
 * invalid UTF-8 as \ufffd; U+2028 and U+2029 escaped), appended with the quotes. */
int stream_json_string(struct stream_buf *out, const char *s);
