/* SPDX-License-Identifier: Apache-2.0 */
/* A content store in a temp dir, as the store, unpack and import tests use one. */
#pragma once

#include "cri/cri.h"

struct store_fx {
        char *dir;              /* /tmp/nl-test-<name>-XXXXXX, removed by store_fx_close */
        struct image_store *s;  /* <dir>/store */
        nl_error err;           /* for the test's calls */
};

/* 0, or -errno with why in f->err. */
int store_fx_open(struct store_fx *f, const char *name);
void store_fx_close(struct store_fx *f);
