/*
 * Decimal128 arithmetic as mongod does it, through Intel's Decimal
 * Floating-Point Math Library (the library mongod itself computes with):
 * IEEE 754-2008 decimal128, 34 digits, round half to even. bson_decimal128_t
 * and the library's BID_UINT128 are the same BID encoding with the same
 * layout (low 64 bits first), so values pass between them by copy.
 *
 * Conversions follow mongod: int32/int64 are exact; a double becomes a
 * decimal rounded to 15 significant digits where mongod's Value and SafeNum
 * coerce one ($add, $subtract, $multiply, $divide operands, $inc, $mul), and
 * to 34 digits where it turns a running double total into a decimal ($sum,
 * $avg, the running $add/$multiply total). Comparisons are exact across
 * decimal, int and double.
 */
#ifndef TETHER_DOCSTORE_DECIMAL_H
#define TETHER_DOCSTORE_DECIMAL_H

#include <bson/bson.h>
#include <stdbool.h>
#include <stdint.h>

typedef bson_decimal128_t docstore_dec_t;

docstore_dec_t docstore_dec_from_int64(int64_t x);

/* digits15: mongod's coerceToDecimal (15 significant digits, so 0.1 becomes
 * 0.100000000000000); otherwise the double rounded to 34 digits. */
docstore_dec_t docstore_dec_from_double(double d, bool digits15);

/* A number as a decimal (double through 15 digits); false if v is not one. */
bool docstore_dec_from_value(const bson_value_t *v, docstore_dec_t *out /* OUT */);

docstore_dec_t docstore_dec_add(docstore_dec_t a, docstore_dec_t b);
docstore_dec_t docstore_dec_sub(docstore_dec_t a, docstore_dec_t b);
docstore_dec_t docstore_dec_mul(docstore_dec_t a, docstore_dec_t b);
docstore_dec_t docstore_dec_div(docstore_dec_t a, docstore_dec_t b);
/* The remainder of a / b truncated toward zero (C's fmod; mongod's $mod). */
docstore_dec_t docstore_dec_fmod(docstore_dec_t a, docstore_dec_t b);

/* One-argument math as mongod's Decimal128 does it. */
typedef enum docstore_dec_fn {
    DOCSTORE_DEC_ABS = 0, /* |a| */
    DOCSTORE_DEC_CEIL,    /* toward +infinity, to an integer */
    DOCSTORE_DEC_FLOOR,   /* toward -infinity, to an integer */
    DOCSTORE_DEC_SQRT,    /* square root (correctly rounded) */
    DOCSTORE_DEC_EXP,     /* e^a (the library's, as mongod's) */
    DOCSTORE_DEC_LN,      /* natural logarithm */
    DOCSTORE_DEC_LOG10,   /* base-10 logarithm */
} docstore_dec_fn_t;
docstore_dec_t docstore_dec_apply(docstore_dec_fn_t fn, docstore_dec_t a);
docstore_dec_t docstore_dec_pow(docstore_dec_t a, docstore_dec_t b);
/* a quantized to 10^-place: half to even ($round) or toward zero ($trunc),
 * as mongod's $round/$trunc of a decimal. */
docstore_dec_t docstore_dec_round_place(docstore_dec_t a, int place, bool truncate);
bool docstore_dec_is_negative(docstore_dec_t a);
/* a truncated toward zero to an int64; false for NaN, infinities and values
 * out of range. */
bool docstore_dec_to_int64(docstore_dec_t a, int64_t *out /* OUT */);

bool docstore_dec_is_zero(docstore_dec_t a);
bool docstore_dec_is_nan(docstore_dec_t a);
bool docstore_dec_is_inf(docstore_dec_t a);

/* The nearest double. */
double docstore_dec_to_double(docstore_dec_t a);

/* Exact comparisons, <0, 0, >0; NaN equals NaN and sorts below every number,
 * as MongoDB orders them. */
int docstore_dec_compare(docstore_dec_t a, docstore_dec_t b);
int docstore_dec_compare_double(docstore_dec_t a, double d);
int docstore_dec_compare_int64(docstore_dec_t a, int64_t x);

/* Splits a finite decimal into sign, coefficient (hi:lo, < 10^34) and
 * exponent; a non-canonical coefficient reads as 0, as IEEE 754 says.
 * false for NaN and infinities. */
bool docstore_dec_parts(docstore_dec_t a, bool *negative /* OUT */, uint64_t *hi /* OUT */,
                        uint64_t *lo /* OUT */, int *exponent /* OUT */);

void docstore_dec_set(bson_value_t *out /* OUT */, docstore_dec_t a);

#endif
