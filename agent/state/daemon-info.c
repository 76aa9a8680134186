/* SPDX-License-Identifier: Apache-2.0 */
/* <run_dir>/nodelet.json: what a running daemon is (its pid, node name, the directories it
 * uses) and whether its runtime is ready, so the CLI finds the daemon's pods from the run dir
 * alone (or with no flags at all, for a daemon with the default dirs) and can say why pods
 * wait. Rewritten at start and whenever the runtime's readiness changes; left behind at exit,
 * since the pods it names keep running. */
#include <stdio.h>

#include "common/fs.h"
#include "cri/cri.h"
#include "cri/layout.h"
#include "state.h"

#define DAEMON_INFO_MAX (64 * 1024)

static json_t *condition(const struct cri_condition *c) {
        return json_pack("{s:b, s:s?, s:s?}", "ready", c->ready, "reason", c->reason, "message", c->message);
}

int daemon_info_write(const struct daemon_info *d) {
        _cleanup_free_ char *path = layout_daemon_info(d->run_dir), *text = NULL;
        json_t *j = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s?, s:o, s:o}", "pid", (int) getpid(), "nodeName",
                              strempty(d->node_name), "rootDir", strempty(d->root_dir), "runDir", strempty(d->run_dir),
                              "podLogDir", strempty(d->log_dir), "containersLogDir", d->containers_log_dir, "runtime",
                              condition(d->runtime), "network", condition(d->network));
        if (j)
                text = json_dumps(j, JSON_INDENT(2));
        json_decref(j);
        if (!path || !text)
                return -ENOMEM;
        return nl_write_file_atomic(path, text, strlen(text), 0644);
}

json_t *daemon_info_read(const char *run_dir) {
        _cleanup_free_ char *path = layout_daemon_info(run_dir), *buf = NULL;
        size_t len = 0;
        if (!path || nl_read_file(path, DAEMON_INFO_MAX, true, &buf, &len) < 0)
                return NULL;
        json_t *j = json_loadb(buf, len, 0, NULL);
        if (!json_is_object(j)) {
                json_decref(j);
                return NULL;
        }
        return j;
}
