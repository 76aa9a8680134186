/* SPDX-License-Identifier: Apache-2.0 */
#include "strv.h"

void strv_free(char **v) {
        for (char **p = v; p && *p; p++)
                free(*p);
        free(v);
}

void strv_free_n(char **v, size_t n) {
        for (size_t i = 0; v && i < n; i++)
                free(v[i]);
        free(v);
}

int strv_consume(char ***v, size_t *n, char *item) {
        if (!item)
                return -ENOMEM;
        char **nv = reallocarray(*v, *n + 2, sizeof(char *));
        if (!nv) {
                free(item);
                return -ENOMEM;
        }
        nv[(*n)++] = item;
        nv[*n] = NULL;
        *v = nv;
        return 0;
}

int strv_push_n(char ***v, size_t *n, const char *s, size_t len) {
        return strv_consume(v, n, strndup(s, len));
}

int strv_push(char ***v, size_t *n, const char *s) {
        return strv_consume(v, n, strdup(s));
}

ssize_t strv_find(char *const *v, size_t n, const char *s) {
        for (size_t i = 0; i < n; i++)
                if (streq_ptr(v[i], s))
                        return (ssize_t) i;
        return -1;
}

char *strv_join(char *const *v, size_t n, const char *sep) {
        nl_buf b = {};
        for (size_t i = 0; i < n; i++) {
                if (i > 0)
                        nl_buf_puts(&b, sep);
                nl_buf_puts(&b, v[i]);
        }
        return nl_buf_steal(&b);
}

void strv_done(struct strv *s) {
        strv_free_n(s->v, s->n);
        *s = (struct strv){};
}
