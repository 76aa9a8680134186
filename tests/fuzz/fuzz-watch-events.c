/* SPDX-License-Identifier: Apache-2.0 */
/* The API watch stream's framing: any bytes, cut into chunks at places the input itself picks
 * (its first byte), must give the same events as the whole fed at once; every event has a type
 * and an object; no line longer than the cap is ever kept. */
#include <stdio.h>
#include <stdlib.h>

#include "agent/cluster/api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_LINE 4096

static void fail(const char *what) {
        fprintf(stderr, "fuzz-watch-events: %s\n", what);
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 1 || size > 64 * 1024)
                return 0;
        size_t chunk = (size_t) data[0] % 7 + 1;
        const char *in = (const char *) data + 1;
        size_t n = size - 1;

        nl_buf whole_partial = {}, cut_partial = {};
        json_t *whole = json_array(), *cut = json_array();
        int r1 = api_watch_feed(&whole_partial, in, n, MAX_LINE, whole);
        int r2 = 0;
        for (size_t off = 0; off < n && r2 == 0; off += chunk)
                r2 = api_watch_feed(&cut_partial, in + off, off + chunk <= n ? chunk : n - off, MAX_LINE, cut);
        if ((r1 < 0) != (r2 < 0))
                fail("chunking changed whether the stream was refused");
        if (r1 == 0) {
                if (!json_equal(whole, cut))
                        fail("chunking changed the events");
                if (whole_partial.len != cut_partial.len || whole_partial.len > MAX_LINE)
                        fail("partial line differs or exceeds the cap");
        }
        size_t i;
        json_t *e;
        json_array_foreach(whole, i, e) {
                if (!json_is_string(json_object_get(e, "type")) || !json_is_object(json_object_get(e, "object")))
                        fail("an event without type or object");
        }
        json_decref(whole);
        json_decref(cut);
        nl_buf_free(&whole_partial);
        nl_buf_free(&cut_partial);
        return 0;
}
