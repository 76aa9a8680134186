/* SPDX-License-Identifier: Apache-2.0 */
/* nodelet run: the daemon. */
#include <stdio.h>

#include "cli.h"
#include "agent/manager.h"

int cmd_run(int argc, char **argv) {
        struct nodelet_config cfg;
        nl_error err = NL_ERROR_INIT;
        struct manager *m = NULL;
        int ret = 1;

        config_init_defaults(&cfg);
        int r = config_parse_run_args(&cfg, argc, argv, &err);
        if (r != 0) {
                if (r < 0)
                        fprintf(stderr, "nodelet run: %s\n", strempty(err.msg));
                ret = r > 0 ? 0 : 2;
                goto out;
        }
        arg_log_level = cfg.verbosity > 2 ? 4 : 2;
        {
                /* once, at start: what the file and the kubelet's flags set that nodelet ignores */
                _cleanup_free_ char *w = config_warnings(&cfg);
                for (char *line = w, *nl; line && *line; line = nl + 1) {
                        nl = strchr(line, '\n');
                        if (!nl)
                                break;
                        *nl = '\0';
                        log_warning("%s", line);
                }
        }
        if (manager_new(&cfg, &m, &err) < 0 || manager_start(m, &err) < 0) {
                log_error("%s", err.msg ? err.msg : "cannot start");
                goto out;
        }
        r = sd_event_loop(m->event);
        ret = r < 0 ? 1 : 0;
out:
        manager_free(m);
        config_done(&cfg);
        nl_error_clear(&err);
        return ret;
}
