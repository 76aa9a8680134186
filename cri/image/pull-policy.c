/* SPDX-License-Identifier: Apache-2.0 */
/* Pull policies and the kubelet's image pull backoff (pkg/kubelet/images/image_manager.go and
 * flowcontrol.Backoff): 10 s initial, doubling to 300 s; an entry unused for 2 x max is reset. */
#include <stdio.h>

#include "image.h"

#define BACKOFF_INITIAL (10 * USEC_PER_SEC)
#define BACKOFF_MAX (300 * USEC_PER_SEC)
#define BACKOFF_MAX_ENTRIES 4096 /* one per (pod, image); old ones are dropped first */

struct backoff_entry {
        char *key;
        usec_t last_failure;
        usec_t delay;
};

struct image_pull_backoff {
        struct backoff_entry *e;
        size_t n;
};

struct image_pull_backoff *image_pull_backoff_new(void) {
        return calloc(1, sizeof(struct image_pull_backoff));
}

void image_pull_backoff_free(struct image_pull_backoff *b) {
        if (!b)
                return;
        for (size_t i = 0; i < b->n; i++)
                free(b->e[i].key);
        free(b->e);
        free(b);
}

static struct backoff_entry *find(struct image_pull_backoff *b, const char *key) {
        for (size_t i = 0; i < b->n; i++)
                if (streq(b->e[i].key, key))
                        return &b->e[i];
        return NULL;
}

static void drop(struct image_pull_backoff *b, struct backoff_entry *e) {
        free(e->key);
        size_t i = (size_t) (e - b->e);
        memmove(b->e + i, b->e + i + 1, (b->n - i - 1) * sizeof(*e));
        b->n--;
}

enum image_action image_pull_decide(struct image_pull_backoff *b, const char *key, const char *policy,
                                    bool present, usec_t now, usec_t *ret_wait) {
        if (ret_wait)
                *ret_wait = 0;
        if (streq_ptr(policy, "Never"))
                return present ? IMAGE_USE : IMAGE_NEVER;
        if (present && !streq_ptr(policy, "Always"))
                return IMAGE_USE;
        struct backoff_entry *e = b ? find(b, key) : NULL;
        if (e) {
                if (now - e->last_failure > 2 * BACKOFF_MAX) {
                        drop(b, e);
                        return IMAGE_PULL;
                }
                if (now < e->last_failure + e->delay) {
                        if (ret_wait)
                                *ret_wait = e->last_failure + e->delay - now;
                        return IMAGE_BACKOFF;
                }
        }
        return IMAGE_PULL;
}

void image_pull_failed(struct image_pull_backoff *b, const char *key, usec_t now) {
        if (!b)
                return;
        struct backoff_entry *e = find(b, key);
        if (e) {
                /* flowcontrol.Backoff.Next: reset after 2 x max without failures, else double */
                if (now - e->last_failure > 2 * BACKOFF_MAX)
                        e->delay = BACKOFF_INITIAL;
                else
                        e->delay = e->delay * 2 > BACKOFF_MAX ? BACKOFF_MAX : e->delay * 2;
                e->last_failure = now;
                return;
        }
        if (b->n >= BACKOFF_MAX_ENTRIES)
                drop(b, &b->e[0]);
        struct backoff_entry *n = realloc(b->e, (b->n + 1) * sizeof(*n));
        if (!n)
                return;
        b->e = n;
        char *k = strdup(key);
        if (!k)
                return;
        b->e[b->n++] = (struct backoff_entry){ k, now, BACKOFF_INITIAL };
}

void image_pull_succeeded(struct image_pull_backoff *b, const char *key) {
        struct backoff_entry *e = b ? find(b, key) : NULL;
        if (e)
                drop(b, e);
}

const char *image_pull_error_reason(enum pull_error_kind kind) {
        switch (kind) {
        case PULL_OK: return NULL;
        case PULL_ERR_INVALID_NAME: return "InvalidImageName";
        case PULL_ERR_UNAVAILABLE: return "RegistryUnavailable";
        default: return "ErrImagePull";
        }
}

char *image_never_pull_message(const char *image) {
        /* the kubelet's wording for ErrImageNeverPull */
        return nl_strdupf("Container image \"%s\" is not present with pull policy of Never", strempty(image));
}
