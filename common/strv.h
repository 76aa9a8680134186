/* SPDX-License-Identifier: Apache-2.0 */
/* String vectors: an array of malloc'd strings with its count, kept NULL-terminated, as the
 * Pod model and the runtime's structs hold them (char **v; size_t n). */
#pragma once

#include <sys/types.h>

#include "util.h"

/* NULL-safe. strv_free takes a NULL-terminated vector, strv_free_n one with its count. */
void strv_free(char **v);
void strv_free_n(char **v, size_t n);
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, strv_free)
#define _cleanup_strv_free_ _cleanup_(strv_freep)

/* Append a copy of the first len bytes of s. */
int strv_push_n(char ***v, size_t *n, const char *s, size_t len);
int strv_push(char ***v, size_t *n, const char *s);
/* Append item, which is taken (freed on failure); NULL, an allocation that failed, is -ENOMEM. */
int strv_consume(char ***v, size_t *n, char *item);

/* The index of the first element equal to s, or -1. */
ssize_t strv_find(char *const *v, size_t n, const char *s);
static inline bool strv_contains(char *const *v, size_t n, const char *s) {
        return strv_find(v, n, s) >= 0;
}
/* The elements joined by sep; "" for none, NULL when out of memory. */
char *strv_join(char *const *v, size_t n, const char *sep);

/* A vector being built up. */
struct strv {
        char **v;
        size_t n;
};

static inline int strv_add(struct strv *s, char *item) {
        return strv_consume(&s->v, &s->n, item);
}
void strv_done(struct strv *s);
