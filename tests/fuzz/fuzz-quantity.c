/* SPDX-License-Identifier: Apache-2.0 */
/* Quantities: parse arbitrary text; what parses must format canonically and re-parse to the
 * same value, and the arithmetic helpers must not trap. */
#include <stdio.h>

#include "podspec/podspec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size > 256)
                return 0;
        char *s = strndup((const char *) data, size);
        if (!s)
                return 0;
        pod_quantity q = {};
        if (pod_quantity_parse(s, &q) == 0) {
                q.set = true;
                char *f = pod_quantity_format(&q);
                if (f) {
                        pod_quantity back = {};
                        /* the canonical form parses back to the same value */
                        if (pod_quantity_parse(f, &back) != 0 || pod_quantity_cmp(&q, &back) != 0)
                                abort();
                        back.set = true;
                        (void) pod_quantity_value(&q);
                        (void) pod_quantity_milli_value(&q);
                        (void) pod_quantity_divide_ceil(&q, &back);
                        free(f);
                }
        }
        free(s);
        return 0;
}
