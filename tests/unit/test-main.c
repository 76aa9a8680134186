/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>

#include "test.h"

struct test_case test_cases[TEST_MAX];
size_t test_count;
int test_current_failed;
static unsigned test_extra_passed, test_extra_failed;

void test_add_result(const char *name, int ok) {
        if (ok) {
                test_extra_passed++;
                if (getenv("TEST_VERBOSE"))
                        fprintf(stderr, "ok   %s\n", name);
        } else {
                test_extra_failed++;
                fprintf(stderr, "FAIL %s\n", name);
        }
}

int test_main(int argc, char **argv) {
        const char *only = argc > 1 ? argv[1] : NULL;
        unsigned passed = 0, failed = 0;

        for (size_t i = 0; i < test_count; i++) {
                if (only && !strstr(test_cases[i].name, only))
                        continue;
                test_current_failed = 0;
                test_cases[i].fn();
                if (test_current_failed) {
                        failed++;
                        fprintf(stderr, "FAIL %s\n", test_cases[i].name);
                } else {
                        passed++;
                        if (getenv("TEST_VERBOSE"))
                                fprintf(stderr, "ok   %s\n", test_cases[i].name);
                }
        }
        passed += test_extra_passed;
        failed += test_extra_failed;
        printf("%s: %u passed, %u failed\n", argv[0], passed, failed);
        return failed ? 1 : 0;
}

int main(int argc, char **argv) {
        return test_main(argc, argv);
}
