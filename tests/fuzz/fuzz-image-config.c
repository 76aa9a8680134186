/* SPDX-License-Identifier: Apache-2.0 */
/* Image configs: any bytes to image_config_parse; what parses must hold valid diff_ids with a
 * chain ID for each, and arrays that end where their counts say. */
#include <stdio.h>
#include <stdlib.h>

#include "cri/cri.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok, const char *what) {
        if (ok)
                return;
        fprintf(stderr, "fuzz-image-config: %s\n", what);
        abort();
}

static void check_strv(char **l, size_t n, const char *what) {
        if (!l) {
                check(n == 0, what);
                return;
        }
        for (size_t i = 0; i < n; i++)
                check(l[i] != NULL, what);
        check(l[n] == NULL, what);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct image_config *c = NULL;
        nl_error err = NL_ERROR_INIT;
        char **chain = NULL;

        if (image_config_parse((const char *) data, size, &c, &err) < 0) {
                check(err.msg != NULL && err.code < 0, "error without a message");
                check(c == NULL, "output written on failure");
                nl_error_clear(&err);
                return 0;
        }
        check_strv(c->entrypoint, c->n_entrypoint, "Entrypoint count");
        check_strv(c->cmd, c->n_cmd, "Cmd count");
        check_strv(c->env, c->n_env, "Env count");
        check_strv(c->exposed_ports, c->n_exposed_ports, "ExposedPorts count");
        check_strv(c->diff_ids, c->n_diff_ids, "diff_ids count");
        check(c->n_diff_ids <= IMAGE_MAX_LAYERS, "too many diff_ids");
        check(!c->labels || json_is_object(c->labels), "labels not an object");
        check(!c->history || json_is_array(c->history), "history not an array");
        for (size_t i = 0; i < c->n_diff_ids; i++)
                check(digest_is_valid(c->diff_ids[i]), "invalid diff_id accepted");

        check(image_chain_ids(c->diff_ids, c->n_diff_ids, &chain) == 0, "no chain IDs for valid diff_ids");
        check_strv(chain, c->n_diff_ids, "chain ID count");
        check(c->n_diff_ids == 0 || streq(chain[0], c->diff_ids[0]),
              "first chain ID is not the first diff_id");
        for (size_t i = 0; i < c->n_diff_ids; i++) {
                check(digest_is_valid(chain[i]), "invalid chain ID");
                free(chain[i]);
        }
        free(chain);
        image_config_free(c);
        return 0;
}
