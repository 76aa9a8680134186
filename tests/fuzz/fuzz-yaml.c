/* SPDX-License-Identifier: Apache-2.0 */
/* podspec_yaml_to_json on arbitrary bytes, checking what its contract promises. */
#include <stdio.h>

#include "podspec/podspec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        json_t *docs = NULL;
        char *error = NULL;
        int r = podspec_yaml_to_json((const char *) data, size, &docs, &error);

        if (r == -ENOMEM)
                return 0;
        /* 0 or -EINVAL; documents always; a message exactly on error, and it has a position */
        if ((r != 0 && r != -EINVAL) || !json_is_array(docs) || (r == 0) != (error == NULL))
                abort();
        if (error && strncmp(error, "line ", 5) != 0)
                abort();
        if (json_array_size(docs) > PODSPEC_MAX_DOCUMENTS)
                abort();

        /* the tree is JSON: it dumps, and reads back equal (strings valid UTF-8, no NaN) */
        char *s = json_dumps(docs, JSON_COMPACT);
        if (!s)
                abort();
        json_error_t jerr;
        json_t *back = json_loads(s, JSON_ALLOW_NUL, &jerr);
        if (!back || !json_equal(back, docs)) {
                fprintf(stderr, "round trip failed: %s\n", back ? "not equal" : jerr.text);
                abort();
        }
        json_decref(back);
        free(s);
        json_decref(docs);
        free(error);
        return 0;
}
