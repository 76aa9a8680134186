/* SPDX-License-Identifier: Apache-2.0 */
/* A manifest (YAML, or JSON detected by podspec_parse) through everything a static pod file goes
 * through: parse, defaults, validation, encoding. */
#include "podspec/podspec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct podspec_file *f = NULL;

        if (podspec_parse((const char *) data, size, &f) < 0)
                return 0;
        for (size_t i = 0; i < f->n_documents; i++) {
                struct pod *p = f->documents[i].pod;
                if (!p)
                        continue;
                if (pod_set_defaults(p) < 0)
                        continue;
                pod_error_list errors = {};
                pod_validate(p, &errors);
                pod_error_list_done(&errors);
                json_t *j = pod_to_json(p);
                if (j) {
                        free(json_dumps(j, JSON_COMPACT));
                        json_decref(j);
                }
        }
        podspec_file_free(f);
        return 0;
}
