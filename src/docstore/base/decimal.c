/*
 * Decimal128 through Intel's BID library; see decimal.h. Every call passes
 * its own rounding mode and flags (libbidgcc000: no global state), so the
 * functions are reentrant.
 */
#include "docstore/base/decimal.h"

#include <bid_conf.h>
#include <bid_functions.h>
#include <math.h>
#include <string.h>

#define RN BID_ROUNDING_TO_NEAREST

static BID_UINT128 to_bid(docstore_dec_t a)
{
    BID_UINT128 x;
    x.w[0] = a.low;
    x.w[1] = a.high;
    return x;
}

static docstore_dec_t from_bid(BID_UINT128 x)
{
    docstore_dec_t a = {.low = x.w[0], .high = x.w[1]};
    return a;
}

docstore_dec_t docstore_dec_from_int64(int64_t x)
{
    return from_bid(bid128_from_int64(x));
}

/* 1E<q>: the quantum a result of exponent q is rounded to. */
static BID_UINT128 quantum(int q)
{
    BID_UINT128 x;
    x.w[0] = 1;
    x.w[1] = (uint64_t)(q + 6176) << 49;
    return x;
}

docstore_dec_t docstore_dec_from_double(double d, bool digits15)
{
    _IDEC_flags fl = 0;
    BID_UINT128 x = binary64_to_bid128(d, RN, &fl);
    if (!digits15 || d == 0 || isnan(d) || isinf(d))
        return from_bid(x);
    /* mongod's Decimal128(double, kRoundTo15Digits): quantize to the
     * exponent that leaves 15 significant digits; a carry to 16 digits
     * (9.999...95 -> 10.00...0) quantizes one place higher. */
    int top = bid128_ilogb(x, &fl);
    BID_UINT128 r = bid128_quantize(x, quantum(top - 14), RN, &fl);
    if (bid128_ilogb(r, &fl) > top)
        r = bid128_quantize(x, quantum(top - 13), RN, &fl);
    return from_bid(r);
}

bool docstore_dec_from_value(const bson_value_t *v, docstore_dec_t *out)
{
    switch (v->value_type) {
    case BSON_TYPE_INT32:
        *out = docstore_dec_from_int64(v->value.v_int32);
        return true;
    case BSON_TYPE_INT64:
        *out = docstore_dec_from_int64(v->value.v_int64);
        return true;
    case BSON_TYPE_DOUBLE:
        *out = docstore_dec_from_double(v->value.v_double, true);
        return true;
    case BSON_TYPE_DECIMAL128:
        *out = v->value.v_decimal128;
        return true;
    default:
        return false;
    }
}

docstore_dec_t docstore_dec_add(docstore_dec_t a, docstore_dec_t b)
{
    _IDEC_flags fl = 0;
    return from_bid(bid128_add(to_bid(a), to_bid(b), RN, &fl));
}

docstore_dec_t docstore_dec_sub(docstore_dec_t a, docstore_dec_t b)
{
    _IDEC_flags fl = 0;
    return from_bid(bid128_sub(to_bid(a), to_bid(b), RN, &fl));
}

docstore_dec_t docstore_dec_mul(docstore_dec_t a, docstore_dec_t b)
{
    _IDEC_flags fl = 0;
    return from_bid(bid128_mul(to_bid(a), to_bid(b), RN, &fl));
}

docstore_dec_t docstore_dec_div(docstore_dec_t a, docstore_dec_t b)
{
    _IDEC_flags fl = 0;
    return from_bid(bid128_div(to_bid(a), to_bid(b), RN, &fl));
}

docstore_dec_t docstore_dec_fmod(docstore_dec_t a, docstore_dec_t b)
{
    _IDEC_flags fl = 0;
    return from_bid(bid128_fmod(to_bid(a), to_bid(b), &fl));
}

docstore_dec_t docstore_dec_apply(docstore_dec_fn_t fn, docstore_dec_t a)
{
    _IDEC_flags fl = 0;
    BID_UINT128 x = to_bid(a);
    switch (fn) {
    case DOCSTORE_DEC_ABS:
        return from_bid(bid128_abs(x));
    case DOCSTORE_DEC_CEIL:
        return from_bid(bid128_round_integral_positive(x, &fl));
    case DOCSTORE_DEC_FLOOR:
        return from_bid(bid128_round_integral_negative(x, &fl));
    case DOCSTORE_DEC_SQRT:
        return from_bid(bid128_sqrt(x, RN, &fl));
    case DOCSTORE_DEC_EXP:
        return from_bid(bid128_exp(x, RN, &fl));
    case DOCSTORE_DEC_LN:
        return from_bid(bid128_log(x, RN, &fl));
    case DOCSTORE_DEC_LOG10:
        return from_bid(bid128_log10(x, RN, &fl));
    }
    return a;
}

docstore_dec_t docstore_dec_pow(docstore_dec_t a, docstore_dec_t b)
{
    _IDEC_flags fl = 0;
    return from_bid(bid128_pow(to_bid(a), to_bid(b), RN, &fl));
}

docstore_dec_t docstore_dec_round_place(docstore_dec_t a, int place, bool truncate)
{
    _IDEC_flags fl = 0;
    BID_UINT128 x = to_bid(a);
    if (bid128_isNaN(x) || bid128_isInf(x))
        return a;
    BID_UINT128 r = bid128_quantize(x, quantum(-place), truncate ? BID_ROUNDING_TO_ZERO : RN, &fl);
    /* A value too large to carry that many places stays as it is. */
    return (fl & BID_INVALID_EXCEPTION) ? a : from_bid(r);
}

bool docstore_dec_is_negative(docstore_dec_t a)
{
    return bid128_isSigned(to_bid(a)) && !bid128_isZero(to_bid(a)) && !bid128_isNaN(to_bid(a));
}

bool docstore_dec_to_int64(docstore_dec_t a, int64_t *out)
{
    _IDEC_flags fl = 0;
    BID_SINT64 r = bid128_to_int64_int(to_bid(a), &fl);
    if (fl & BID_INVALID_EXCEPTION)
        return false;
    *out = r;
    return true;
}

bool docstore_dec_is_zero(docstore_dec_t a)
{
    return bid128_isZero(to_bid(a)) != 0;
}

bool docstore_dec_is_nan(docstore_dec_t a)
{
    return bid128_isNaN(to_bid(a)) != 0;
}

bool docstore_dec_is_inf(docstore_dec_t a)
{
    return bid128_isInf(to_bid(a)) != 0;
}

double docstore_dec_to_double(docstore_dec_t a)
{
    _IDEC_flags fl = 0;
    return bid128_to_binary64(to_bid(a), RN, &fl);
}

int docstore_dec_compare(docstore_dec_t a, docstore_dec_t b)
{
    bool an = docstore_dec_is_nan(a), bn = docstore_dec_is_nan(b);
    if (an || bn)
        return an && bn ? 0 : (an ? -1 : 1);
    _IDEC_flags fl = 0;
    if (bid128_quiet_less(to_bid(a), to_bid(b), &fl))
        return -1;
    return bid128_quiet_equal(to_bid(a), to_bid(b), &fl) ? 0 : 1;
}

/* mongod's compareDecimalToDouble: the decimal rounded down to a double is
 * either equal to d (and then an inexact rounding means a > d) or decides. */
int docstore_dec_compare_double(docstore_dec_t a, double d)
{
    bool an = docstore_dec_is_nan(a);
    if (an || isnan(d))
        return an && isnan(d) ? 0 : (an ? -1 : 1);
    _IDEC_flags fl = 0;
    double down = bid128_to_binary64(to_bid(a), BID_ROUNDING_DOWN, &fl);
    if (down == d)
        return (fl & BID_INEXACT_EXCEPTION) ? 1 : 0;
    return down < d ? -1 : 1;
}

int docstore_dec_compare_int64(docstore_dec_t a, int64_t x)
{
    return docstore_dec_compare(a, docstore_dec_from_int64(x));
}

bool docstore_dec_parts(docstore_dec_t a, bool *negative, uint64_t *hi, uint64_t *lo, int *exponent)
{
    uint64_t h = a.high;
    *negative = (h >> 63) != 0;
    if (((h >> 58) & 0x1f) >= 0x1e) /* 11110 infinity, 11111 NaN */
        return false;
    if (((h >> 61) & 3) == 3) {
        /* The 11 form implies a coefficient of at least 2^113 > 10^34 - 1:
         * non-canonical, so zero; the exponent sits two bits lower. */
        *exponent = (int)((h >> 47) & 0x3fff) - 6176;
        *hi = 0;
        *lo = 0;
        return true;
    }
    *exponent = (int)((h >> 49) & 0x3fff) - 6176;
    *hi = h & UINT64_C(0x1ffffffffffff);
    *lo = a.low;
    /* 10^34 - 1 = 0x1ed09bead87c0 : 0x378d8e63ffffffff */
    if (*hi > UINT64_C(0x1ed09bead87c0) ||
        (*hi == UINT64_C(0x1ed09bead87c0) && *lo > UINT64_C(0x378d8e63ffffffff))) {
        *hi = 0;
        *lo = 0;
    }
    return true;
}

void docstore_dec_set(bson_value_t *out, docstore_dec_t a)
{
    memset(out, 0, sizeof *out);
    out->value_type = BSON_TYPE_DECIMAL128;
    out->value.v_decimal128 = a;
}
