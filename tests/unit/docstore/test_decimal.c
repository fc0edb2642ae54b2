/*
 * Unit tests of base/decimal.c: mongod's conversions (a double to 15
 * significant digits or to 34, integers exactly), arithmetic results with
 * their exponents, exact comparisons against doubles and integers (NaN
 * lowest, equal to NaN), and the coefficient/exponent split the key encoding
 * reads.
 */
#include "harness.h"
#include "docstore/base/decimal.h"

#include <math.h>
#include <string.h>

static docstore_dec_t dec(const char *s)
{
    docstore_dec_t d;
    CHECK(bson_decimal128_from_string(s, &d));
    return d;
}

static void check_str(docstore_dec_t d, const char *want)
{
    char s[BSON_DECIMAL128_STRING];
    bson_decimal128_to_string(&d, s);
    CHECK_STR(s, want);
}

static void test_from_double(void)
{
    check_str(docstore_dec_from_double(0.1, true), "0.100000000000000");
    check_str(docstore_dec_from_double(1.0 / 3, true), "0.333333333333333");
    check_str(docstore_dec_from_double(2.5, true), "2.50000000000000");
    check_str(docstore_dec_from_double(-1e20, true), "-1.00000000000000E+20");
    check_str(docstore_dec_from_double(0.1, false), "0.1000000000000000055511151231257827");
    check_str(docstore_dec_from_double(3.0, false), "3");
    check_str(docstore_dec_from_double(0.0, true), "0");
    /* 15 nines then a carry: 0.9999999999999999 (a double just below 1) */
    check_str(docstore_dec_from_double(0.99999999999999989, true), "1.00000000000000");
    CHECK(docstore_dec_is_nan(docstore_dec_from_double(NAN, true)));
    CHECK(docstore_dec_is_inf(docstore_dec_from_double(INFINITY, true)));
    check_str(docstore_dec_from_int64(INT64_MIN), "-9223372036854775808");
}

static void test_arithmetic(void)
{
    check_str(docstore_dec_add(dec("0.1"), dec("0.2")), "0.3");
    check_str(docstore_dec_add(dec("1.50"), dec("0")), "1.50");
    check_str(docstore_dec_sub(dec("1"), dec("0.001")), "0.999");
    check_str(docstore_dec_mul(dec("1.10"), dec("3")), "3.30");
    check_str(docstore_dec_div(dec("1"), dec("3")), "0.3333333333333333333333333333333333");
    check_str(docstore_dec_div(dec("6"), dec("3")), "2");
    check_str(docstore_dec_fmod(dec("7.5"), dec("2")), "1.5");
    /* 34 digits, then round half to even */
    check_str(docstore_dec_add(dec("9999999999999999999999999999999999"), dec("0.5")),
              "1.000000000000000000000000000000000E+34");
    check_str(docstore_dec_round_place(dec("1.25"), 1, false), "1.2");
    check_str(docstore_dec_round_place(dec("1.29"), 1, true), "1.2");
    check_str(docstore_dec_apply(DOCSTORE_DEC_FLOOR, dec("-1.5")), "-2");
}

static void test_compare(void)
{
    CHECK(docstore_dec_compare(dec("1.0"), dec("1")) == 0);
    CHECK(docstore_dec_compare(dec("0.1"), dec("0.1000000000000000000000000000000001")) < 0);
    CHECK(docstore_dec_compare(dec("NaN"), dec("-Infinity")) < 0);
    CHECK(docstore_dec_compare(dec("NaN"), dec("NaN")) == 0);
    CHECK(docstore_dec_compare(dec("-0"), dec("0")) == 0);
    /* Against doubles, exactly: the double 0.1 is 0.1000000000000000055... */
    CHECK(docstore_dec_compare_double(dec("0.1"), 0.1) < 0);
    CHECK(docstore_dec_compare_double(dec("0.1000000000000000055511151231257827"), 0.1) < 0);
    CHECK(docstore_dec_compare_double(dec("0.1000000000000000055511151231257828"), 0.1) > 0);
    CHECK(docstore_dec_compare_double(dec("0.5"), 0.5) == 0);
    CHECK(docstore_dec_compare_double(dec("1E+400"), INFINITY) < 0);
    CHECK(docstore_dec_compare_double(dec("1E+400"), 1e308) > 0);
    CHECK(docstore_dec_compare_double(dec("-1E+400"), -INFINITY) > 0);
    CHECK(docstore_dec_compare_double(dec("NaN"), NAN) == 0);
    CHECK(docstore_dec_compare_double(dec("NaN"), -INFINITY) < 0);
    CHECK(docstore_dec_compare_double(dec("-Infinity"), NAN) > 0);
    CHECK(docstore_dec_compare_int64(dec("9223372036854775807"), INT64_MAX) == 0);
    CHECK(docstore_dec_compare_int64(dec("9223372036854775806.5"), INT64_MAX) < 0);
}

static void test_parts(void)
{
    bool neg;
    uint64_t hi, lo;
    int e;
    CHECK(docstore_dec_parts(dec("-12.5"), &neg, &hi, &lo, &e));
    CHECK(neg && hi == 0 && lo == 125 && e == -1);
    CHECK(docstore_dec_parts(dec("9999999999999999999999999999999999E+10"), &neg, &hi, &lo, &e));
    CHECK(!neg && hi == UINT64_C(0x1ed09bead87c0) && lo == UINT64_C(0x378d8e63ffffffff) && e == 10);
    CHECK(!docstore_dec_parts(dec("Infinity"), &neg, &hi, &lo, &e));
    CHECK(!docstore_dec_parts(dec("NaN"), &neg, &hi, &lo, &e));
    /* A coefficient above 10^34 - 1 is non-canonical: zero. */
    docstore_dec_t big = {.high = (UINT64_C(0x3040) << 48) | UINT64_C(0x1ffffffffffff),
                          .low = UINT64_MAX};
    CHECK(docstore_dec_parts(big, &neg, &hi, &lo, &e));
    CHECK(hi == 0 && lo == 0);
}

int main(void)
{
    RUN(test_from_double);
    RUN(test_arithmetic);
    RUN(test_compare);
    RUN(test_parts);
    return TEST_REPORT();
}
