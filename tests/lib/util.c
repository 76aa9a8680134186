/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stdio.h>
#include <sys/wait.h>

#include "common/fs.h"
#include "util.h"

char *test_read_file(const char *path, size_t *ret_len) {
        char *buf = NULL;
        return nl_read_file(path, 256u * 1024u * 1024u, false, &buf, ret_len) < 0 ? NULL : buf;
}

int test_sh(const char *fmt, ...) {
        va_list ap;
        char *cmd = NULL;
        va_start(ap, fmt);
        int k = vasprintf(&cmd, fmt, ap);
        va_end(ap);
        if (k < 0)
                return -1;
        int r = system(cmd);
        free(cmd);
        return WIFEXITED(r) ? WEXITSTATUS(r) : -1;
}
