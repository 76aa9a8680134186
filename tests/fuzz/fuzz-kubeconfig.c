/* SPDX-License-Identifier: Apache-2.0 */
/* kubeconfig files: any bytes to kubeconfig_parse. A parse either fails with a message or
 * yields a server URL; nothing leaks (the replay runs under ASan in make check). */
#include <stdio.h>
#include <stdlib.h>

#include "agent/cluster/api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct kubeconfig kc = {};
        nl_error err = NL_ERROR_INIT;
        if (size > 256 * 1024)
                return 0;
        int r = kubeconfig_parse((const char *) data, size, "/etc/nodelet", NULL, &kc, &err);
        if (r < 0 && !err.msg) {
                fprintf(stderr, "fuzz-kubeconfig: error %d without a message\n", r);
                abort();
        }
        if (r >= 0 && (!kc.server || (strncmp(kc.server, "https://", 8) != 0 && strncmp(kc.server, "http://", 7) != 0))) {
                fprintf(stderr, "fuzz-kubeconfig: accepted without an http(s) server\n");
                abort();
        }
        if (r >= 0 && kc.ca_file && kc.ca_file[0] != '/') {
                fprintf(stderr, "fuzz-kubeconfig: relative path not resolved: %s\n", kc.ca_file);
                abort();
        }
        kubeconfig_done(&kc);
        nl_error_clear(&err);
        return 0;
}
