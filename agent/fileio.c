/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <sys/stat.h>

#include "agent.h"

int read_file_capped(const char *path, size_t max, char **ret, size_t *ret_len) {
        _cleanup_close_ int own = -1;
        int fd;
        if (streq(path, "-"))
                fd = STDIN_FILENO;
        else {
                own = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (own < 0)
                        return -errno;
                struct stat st;
                if (fstat(own, &st) < 0)
                        return -errno;
                if (S_ISDIR(st.st_mode))
                        return -EISDIR;
                fd = own;
        }

        nl_buf b = {};
        char chunk[65536];
        for (;;) {
                ssize_t n = read(fd, chunk, sizeof(chunk));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        int r = -errno;
                        nl_buf_free(&b);
                        return r;
                }
                if (n == 0)
                        break;
                /* Read one byte past the cap so "too large" is told apart from "exactly max". */
                if (b.len + (size_t) n > max + 1) {
                        nl_buf_free(&b);
                        return -EFBIG;
                }
                nl_buf_append(&b, chunk, (size_t) n);
        }
        size_t len = b.len;
        if (len > max) {
                nl_buf_free(&b);
                return -EFBIG;
        }
        char *s = nl_buf_steal(&b);
        if (!s)
                return -ENOMEM;
        *ret = s;
        *ret_len = len;
        return 0;
}
