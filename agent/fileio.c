/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <sys/stat.h>

#include "agent.h"
#include "common/fs.h"

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

        /* one byte past the cap tells "too large" apart from "exactly max" */
        return nl_read_fd(fd, max, ret, ret_len);
}
