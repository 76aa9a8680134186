/* SPDX-License-Identifier: Apache-2.0 */
/* Eviction settings (agent/eviction-policy.c): four lines (hard, soft, grace periods, minimum
 * reclaim) as the flags give them; whatever parses must give thresholds of known signals whose
 * quantities and messages can be computed without a trap. */
#include <stdio.h>

#include "agent/eviction.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size > 4096)
                return 0;
        char *s = strndup((const char *) data, size), *line[4] = {};
        if (!s)
                return 0;
        char *p = s;
        for (int i = 0; i < 4 && p; i++) {
                line[i] = p;
                p = strchr(p, '\n');
                if (p)
                        *p++ = '\0';
        }
        struct eviction_config c = {};
        nl_error err = NL_ERROR_INIT;
        if (eviction_config_parse(line[0], line[1], line[2], line[3], &c, &err) >= 0) {
                struct eviction_observation obs[_EVICTION_SIGNAL_MAX];
                for (int i = 0; i < _EVICTION_SIGNAL_MAX; i++)
                        obs[i] = (struct eviction_observation){ true, 1 << 20, 1 << 30 };
                for (size_t i = 0; i < c.n_thresholds; i++) {
                        if (!eviction_signal_to_string(c.thresholds[i].signal))
                                abort();
                        (void) eviction_threshold_met(&c.thresholds[i], obs, true);
                        char *m = eviction_message(eviction_signal_resource(c.thresholds[i].signal), true,
                                                   eviction_value_quantity(&c.thresholds[i].value, 1 << 30), 1 << 20,
                                                   NULL, 0);
                        free(m);
                }
                eviction_config_done(&c);
        } else if (!err.msg)
                abort(); /* every refusal says why */
        nl_error_clear(&err);
        free(s);
        return 0;
}
