/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <stdio.h>

#include "common/fs.h"
#include "store.h"

int store_fx_open(struct store_fx *f, const char *name) {
        *f = (struct store_fx){};
        f->dir = nl_strdupf("/tmp/nl-test-%s-XXXXXX", name);
        if (!f->dir || !mkdtemp(f->dir)) {
                int r = f->dir ? -errno : -ENOMEM;
                free(f->dir);
                f->dir = NULL;
                return nl_error_set(&f->err, r, "mkdtemp: %s", strerror(-r));
        }
        _cleanup_free_ char *root = nl_strdupf("%s/store", f->dir);
        if (!root)
                return nl_error_set(&f->err, -ENOMEM, "out of memory");
        return image_store_open(root, &f->s, &f->err);
}

void store_fx_close(struct store_fx *f) {
        image_store_close(f->s);
        if (f->dir)
                nl_rm_rf(f->dir);
        free(f->dir);
        nl_error_clear(&f->err);
        *f = (struct store_fx){};
}
