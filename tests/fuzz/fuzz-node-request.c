/* SPDX-License-Identifier: Apache-2.0 */
/* The node server's request head parser (agent/server/node-conn.c) on arbitrary bytes, and what
 * a request then goes through before any authentication: the path's segments, the query's
 * values, the stream endpoints' shapes. A parsed request must be self-consistent: segments
 * without '/' and never "." or "..", a method of token characters. */
#include <stdio.h>

#include "agent/server/node-server-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static struct request rq;
        if (size > HEADER_MAX)
                size = HEADER_MAX;
        memset(&rq, 0, sizeof(rq));
        memcpy(rq.raw, data, size);
        rq.len = size;
        rq.raw[size] = '\0';
        int status = node_request_parse(&rq);
        if (status != 0) {
                if (status != 400 && status != 413 && status != 431)
                        abort();
                node_request_done(&rq);
                return 0;
        }
        if (!rq.method || !*rq.method || !rq.target || rq.n_seg > PATH_SEGMENTS_MAX || rq.head_len > rq.len)
                abort();
        for (size_t i = 0; i < rq.n_seg; i++)
                if (strchr(rq.seg[i], '/') || streq(rq.seg[i], ".") || streq(rq.seg[i], ".."))
                        abort();
        static const char *const keys[] = { "command", "follow", "tailLines", "ports", "cmd", "stdin", "tty" };
        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                char *v = NULL;
                if (query_get(rq.query, keys[i], &v) > 0 && !v)
                        abort();
                free(v);
        }
        (void) node_stream_path(&rq);
        node_request_done(&rq);
        return 0;
}
