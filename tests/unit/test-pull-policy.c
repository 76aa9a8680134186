/* SPDX-License-Identifier: Apache-2.0 */
#include "cri/cri.h"
#include "test.h"

#define SEC 1000000ULL

TEST(policies) {
        struct image_pull_backoff *b = image_pull_backoff_new();
        CHECK(image_pull_decide(b, "k", "Always", true, 0, NULL) == IMAGE_PULL);
        CHECK(image_pull_decide(b, "k", "Always", false, 0, NULL) == IMAGE_PULL);
        CHECK(image_pull_decide(b, "k", "IfNotPresent", true, 0, NULL) == IMAGE_USE);
        CHECK(image_pull_decide(b, "k", "IfNotPresent", false, 0, NULL) == IMAGE_PULL);
        CHECK(image_pull_decide(b, "k", "Never", true, 0, NULL) == IMAGE_USE);
        CHECK(image_pull_decide(b, "k", "Never", false, 0, NULL) == IMAGE_NEVER);
        image_pull_backoff_free(b);
}

TEST(backoff_doubles_to_five_minutes) {
        struct image_pull_backoff *b = image_pull_backoff_new();
        usec_t now = 1000 * SEC, wait = 0;
        const usec_t want[] = { 10, 20, 40, 80, 160, 300, 300 };
        for (size_t i = 0; i < ELEMENTSOF(want); i++) {
                image_pull_failed(b, "pod1_busybox", now);
                CHECK(image_pull_decide(b, "pod1_busybox", "IfNotPresent", false, now, &wait) == IMAGE_BACKOFF);
                CHECK_INT_EQ(wait / SEC, want[i]);
                /* another pod's pull of the same image is not held back */
                CHECK(image_pull_decide(b, "pod2_busybox", "IfNotPresent", false, now, NULL) == IMAGE_PULL);
                /* a present image with IfNotPresent needs no pull at all */
                CHECK(image_pull_decide(b, "pod1_busybox", "IfNotPresent", true, now, NULL) == IMAGE_USE);
                now += want[i] * SEC;
                CHECK(image_pull_decide(b, "pod1_busybox", "Always", true, now, NULL) == IMAGE_PULL);
        }
        /* after 2 x max without failures the delay starts again at 10 s */
        now += 601 * SEC;
        image_pull_failed(b, "pod1_busybox", now);
        CHECK(image_pull_decide(b, "pod1_busybox", "Always", true, now, &wait) == IMAGE_BACKOFF);
        CHECK_INT_EQ(wait / SEC, 10);
        image_pull_succeeded(b, "pod1_busybox");
        CHECK(image_pull_decide(b, "pod1_busybox", "Always", true, now, NULL) == IMAGE_PULL);
        image_pull_backoff_free(b);
}

TEST(reasons) {
        CHECK_STR_EQ(image_pull_error_reason(PULL_ERR_NOT_FOUND), "ErrImagePull");
        CHECK_STR_EQ(image_pull_error_reason(PULL_ERR_UNAVAILABLE), "RegistryUnavailable");
        CHECK_STR_EQ(image_pull_error_reason(PULL_ERR_INVALID_NAME), "InvalidImageName");
        CHECK_STR_EQ(image_pull_error_reason(PULL_ERR_DIGEST), "ErrImagePull");
        char *m = image_never_pull_message("busybox:1");
        CHECK_STR_EQ(m, "Container image \"busybox:1\" is not present with pull policy of Never");
        free(m);
}
