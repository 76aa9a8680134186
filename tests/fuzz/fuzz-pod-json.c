/* SPDX-License-Identifier: Apache-2.0 */
/* The JSON side of podspec_parse: only inputs that start (after JSON whitespace) with '{' or '[',
 * so the fuzzer spends its time in the JSON decoder rather than in YAML. Then defaults,
 * validation and encoding, as for a static pod file. */
#include "podspec/podspec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct podspec_file *f = NULL;
        size_t i = 0;

        while (i < size && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r'))
                i++;
        if (i == size || (data[i] != '{' && data[i] != '['))
                return 0;

        if (podspec_parse((const char *) data, size, &f) < 0)
                return 0;
        for (size_t k = 0; k < f->n_documents; k++) {
                struct pod *p = f->documents[k].pod;
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
