/*
 * A tiny unit-test harness: CHECK records a failure and goes on, TEST_MAIN runs
 * the listed test functions and exits non-zero if any check failed. A unit test
 * may #include the .c under test to reach its statics.
 */
#ifndef TETHER_TEST_HARNESS_H
#define TETHER_TEST_HARNESS_H

#include <stdio.h>
#include <string.h>

static int harness_failures;
static const char *harness_current;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            harness_failures++;                                                                    \
            fprintf(stderr, "%s:%d: %s: CHECK(%s) failed\n", __FILE__, __LINE__, harness_current,  \
                    #cond);                                                                        \
        }                                                                                          \
    } while (0)

#define CHECK_INT(a, b)                                                                            \
    do {                                                                                           \
        long long ha_ = (long long)(a), hb_ = (long long)(b);                                      \
        if (ha_ != hb_) {                                                                          \
            harness_failures++;                                                                    \
            fprintf(stderr, "%s:%d: %s: %s == %lld, expected %lld\n", __FILE__, __LINE__,          \
                    harness_current, #a, ha_, hb_);                                                \
        }                                                                                          \
    } while (0)

#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *ha_ = (a), *hb_ = (b);                                                         \
        if (ha_ == NULL || hb_ == NULL || strcmp(ha_, hb_) != 0) {                                 \
            harness_failures++;                                                                    \
            fprintf(stderr, "%s:%d: %s: %s == \"%s\", expected \"%s\"\n", __FILE__, __LINE__,      \
                    harness_current, #a, ha_ ? ha_ : "(null)", hb_ ? hb_ : "(null)");              \
        }                                                                                          \
    } while (0)

#define RUN(fn)                                                                                    \
    do {                                                                                           \
        harness_current = #fn;                                                                     \
        fn();                                                                                      \
    } while (0)

#define TEST_REPORT()                                                                              \
    (harness_failures ? (fprintf(stderr, "%d check(s) failed\n", harness_failures), 1)             \
                      : (printf("all checks passed\n"), 0))

#endif
