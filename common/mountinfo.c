/* SPDX-License-Identifier: Apache-2.0 */
#include "fs.h"
#include "mountinfo.h"

void mountinfo_unescape(char *s) {
        char *w = s;
        for (char *r = s; *r;) {
                if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' &&
                    r[3] <= '7') {
                        *w++ = (char) (((r[1] - '0') << 6) | ((r[2] - '0') << 3) | (r[3] - '0'));
                        r += 4;
                } else
                        *w++ = *r++;
        }
        *w = '\0';
}

int mountinfo_parse_line(char *line, struct mountinfo_entry *ret) {
        struct mountinfo_entry e = {};
        char *f[6], *save = NULL, *tok;
        size_t n = 0;
        int64_t v;

        for (tok = strtok_r(line, " \n", &save); tok && n < ELEMENTSOF(f); tok = strtok_r(NULL, " \n", &save))
                f[n++] = tok;
        if (n < ELEMENTSOF(f))
                return -EINVAL;
        if (nl_parse_int64(f[0], 0, INT64_MAX, &v) < 0)
                return -EINVAL;
        e.id = (uint64_t) v;
        if (nl_parse_int64(f[1], 0, INT64_MAX, &v) < 0)
                return -EINVAL;
        e.parent_id = (uint64_t) v;
        e.root = f[3];
        e.mount_point = f[4];
        e.options = f[5];
        /* the optional fields, up to the separator */
        for (; tok && !streq(tok, "-"); tok = strtok_r(NULL, " \n", &save)) {
                if (strncmp(tok, "shared:", 7) == 0)
                        e.shared = true;
                else if (strncmp(tok, "master:", 7) == 0)
                        e.slave = true;
        }
        if (!tok || !(e.fstype = strtok_r(NULL, " \n", &save)))
                return -EINVAL;
        if ((e.source = strtok_r(NULL, " \n", &save)))
                e.super_options = strtok_r(NULL, " \n", &save);
        mountinfo_unescape(f[3]);
        mountinfo_unescape(f[4]);
        if (e.source)
                mountinfo_unescape((char *) e.source);
        *ret = e;
        return 0;
}

int mountinfo_read(char **ret) {
        return nl_read_file("/proc/self/mountinfo", MOUNTINFO_MAX_BYTES, false, ret, NULL);
}

bool mountinfo_is_mount_point(const char *path) {
        _cleanup_free_ char *mi = NULL;
        if (mountinfo_read(&mi) < 0)
                return false;
        char *save = NULL;
        for (char *line = strtok_r(mi, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                struct mountinfo_entry e;
                if (mountinfo_parse_line(line, &e) == 0 && streq(e.mount_point, path))
                        return true;
        }
        return false;
}
