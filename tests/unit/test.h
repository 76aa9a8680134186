/* SPDX-License-Identifier: Apache-2.0 */
/* A tiny test harness: TEST(name) { ... } functions run in file order by test_main();
 * CHECK* record a failure and continue; each binary prints "N passed, N failed". */
#pragma once

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

typedef void (*test_fn)(void);
struct test_case {
        const char *name;
        test_fn fn;
};

#define TEST_MAX 1024
extern struct test_case test_cases[TEST_MAX];
extern size_t test_count;
extern int test_current_failed;

#define TEST(name)                                                                                 \
        static void test_##name(void);                                                             \
        __attribute__((constructor)) static void test_register_##name(void) {                      \
                if (test_count < TEST_MAX)                                                         \
                        test_cases[test_count++] = (struct test_case){ #name, test_##name };       \
        }                                                                                          \
        static void test_##name(void)

#define TEST_FAIL(...)                                                                             \
        do {                                                                                       \
                fprintf(stderr, "  %s:%d: ", __FILE__, __LINE__);                                  \
                fprintf(stderr, __VA_ARGS__);                                                      \
                fputc('\n', stderr);                                                               \
                test_current_failed = 1;                                                           \
        } while (0)

#define CHECK(cond)                                                                                \
        do {                                                                                       \
                if (!(cond))                                                                       \
                        TEST_FAIL("CHECK(%s) failed", #cond);                                      \
        } while (0)

#define CHECK_INT_EQ(a, b)                                                                         \
        do {                                                                                       \
                long long _a = (long long) (a), _b = (long long) (b);                              \
                if (_a != _b)                                                                      \
                        TEST_FAIL("%s == %s: got %lld, want %lld", #a, #b, _a, _b);                \
        } while (0)

#define CHECK_STR_EQ(a, b)                                                                         \
        do {                                                                                       \
                const char *_a = (a), *_b = (b);                                                   \
                if (!_a || !_b || strcmp(_a, _b) != 0)                                             \
                        TEST_FAIL("%s == %s: got \"%s\", want \"%s\"", #a, #b, _a ? _a : "(null)", \
                                  _b ? _b : "(null)");                                             \
        } while (0)

/* Data-driven tests (e.g. one result per corpus file) add results beyond the registered TEST()s;
 * they are counted in the closing "N passed, N failed" line. A failure prints "FAIL <name>". */
void test_add_result(const char *name, int ok);

/* Defined in test-main.c: runs every registered test, prints the summary, returns exit code. */
int test_main(int argc, char **argv);
