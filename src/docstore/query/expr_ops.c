/*
 * Expression operators beyond the core (see expr.c): arithmetic with
 * MongoDB's numeric promotion (int32 → int64 on overflow, int64 → double,
 * any decimal128 → decimal128 through base/decimal.h),
 * dates in $add/$subtract, strings (byte and code point), arrays ($filter and
 * $map bind a variable), type conversions that fail with ConversionFailure
 * as $convert without onError does, and UTC date parts. The operator table
 * at the end is what the compiler looks names up in.
 */
#include "docstore/query/expr_internal.h"
#include "docstore/base/decimal.h"
#include "docstore/query/value.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CONVERSION_FAILURE 241
/* --- arithmetic -------------------------------------------------------------- */

/* A running sum or product with MongoDB's widening. */
typedef struct num_acc {
    int kind;         /* 0 int32, 1 int64, 2 double, 3 decimal128 */
    int64_t i;        /* exact integer value while kind < 2 */
    double d;         /* value once kind == 2 */
    docstore_dec_t x; /* value once kind == 3 */
} num_acc_t;

static void acc_add(num_acc_t *a, const bson_value_t *v, bool mul)
{
    if (a->kind == 3 || v->value_type == BSON_TYPE_DECIMAL128) {
        /* mongod's AddState/ExpressionMultiply: the total so far becomes a
         * decimal (a double sum at 34 digits, a double product at 15), each
         * later operand is coerced (a double at 15 digits). */
        if (a->kind < 3) {
            a->x =
                a->kind == 2 ? docstore_dec_from_double(a->d, mul) : docstore_dec_from_int64(a->i);
            a->kind = 3;
        }
        docstore_dec_t y;
        (void)docstore_dec_from_value(v, &y);
        a->x = mul ? docstore_dec_mul(a->x, y) : docstore_dec_add(a->x, y);
        return;
    }
    int k = v->value_type == BSON_TYPE_INT32 ? 0 : v->value_type == BSON_TYPE_INT64 ? 1 : 2;
    if (a->kind < 2 && k < 2) {
        int64_t r;
        bool over = mul ? __builtin_mul_overflow(a->i, expr_as_int64(v), &r)
                        : __builtin_add_overflow(a->i, expr_as_int64(v), &r);
        if (!over) {
            a->i = r;
            if (k > a->kind)
                a->kind = k;
            return;
        }
        a->d = (double)a->i;
        a->kind = 2;
        a->d = mul ? a->d * (double)expr_as_int64(v) : a->d + (double)expr_as_int64(v);
        return;
    }
    if (a->kind < 2) {
        a->d = (double)a->i;
        a->kind = 2;
    }
    double x = expr_as_double(v);
    a->d = mul ? a->d * x : a->d + x;
}

static void acc_result(const num_acc_t *a, bson_value_t *out)
{
    if (a->kind == 3)
        docstore_dec_set(out, a->x);
    else if (a->kind == 2)
        expr_set_double(out, a->d);
    else
        expr_set_int(out, a->i, a->kind == 0);
}

static int op_add_mul(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out)
{
    bool mul = strcmp(e->name, "$multiply") == 0;
    bson_value_t *vals = expr_eval_vals(ctx, e);
    if (vals == NULL)
        return -1;
    num_acc_t acc = {.kind = 0, .i = mul ? 1 : 0};
    bool is_date = false, null = false;
    int rc = 0;
    for (size_t i = 0; i < e->n && rc == 0; i++) {
        const bson_value_t *v = &vals[i];
        if (expr_is_nullish(v)) {
            null = true;
        } else if (v->value_type == BSON_TYPE_DATE_TIME && !mul) {
            if (is_date)
                rc = expr_fail(ctx, DOCSTORE_LOCATION_16612,
                               "only one date allowed in an $add expression");
            is_date = true;
            bson_value_t ms = {.value_type = BSON_TYPE_INT64};
            ms.value.v_int64 = v->value.v_datetime;
            acc_add(&acc, &ms, false);
        } else if (!expr_is_number(v)) {
            rc = mul ? expr_fail(ctx, DOCSTORE_LOCATION_16555,
                                 "$multiply only supports numeric types, not %s", expr_type_name(v))
                     : expr_fail(ctx, DOCSTORE_LOCATION_16554,
                                 "$add only supports numeric or date types, not %s",
                                 expr_type_name(v));
        } else {
            acc_add(&acc, v, mul);
        }
    }
    expr_vals_free(vals, e->n);
    if (rc != 0)
        return -1;
    if (null) {
        expr_set_null(out);
    } else if (is_date) {
        out->value_type = BSON_TYPE_DATE_TIME;
        out->value.v_datetime = acc.kind == 3   ? (int64_t)llround(docstore_dec_to_double(acc.x))
                                : acc.kind == 2 ? (int64_t)llround(acc.d)
                                                : acc.i;
    } else {
        acc_result(&acc, out);
    }
    return 0;
}

static int op_subtract(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out)
{
    bson_value_t *v = expr_eval_vals(ctx, e);
    if (v == NULL)
        return -1;
    int rc = 0;
    bool ad = v[0].value_type == BSON_TYPE_DATE_TIME, bd = v[1].value_type == BSON_TYPE_DATE_TIME;
    if (expr_is_nullish(&v[0]) || expr_is_nullish(&v[1])) {
        expr_set_null(out);
    } else if (ad && bd) {
        expr_set_int(out, v[0].value.v_datetime - v[1].value.v_datetime, false);
    } else if (ad && expr_is_number(&v[1])) {
        out->value_type = BSON_TYPE_DATE_TIME;
        out->value.v_datetime =
            v[1].value_type == BSON_TYPE_DOUBLE
                ? v[0].value.v_datetime - (int64_t)llround(v[1].value.v_double)
            : v[1].value_type == BSON_TYPE_DECIMAL128
                ? v[0].value.v_datetime -
                      (int64_t)llround(docstore_dec_to_double(v[1].value.v_decimal128))
                : v[0].value.v_datetime - expr_as_int64(&v[1]);
    } else if (expr_is_number(&v[0]) && expr_is_number(&v[1]) &&
               (v[0].value_type == BSON_TYPE_DECIMAL128 ||
                v[1].value_type == BSON_TYPE_DECIMAL128)) {
        /* mongod: both sides coerced to decimal (a double at 15 digits). */
        docstore_dec_t a, b;
        (void)docstore_dec_from_value(&v[0], &a);
        (void)docstore_dec_from_value(&v[1], &b);
        docstore_dec_set(out, docstore_dec_sub(a, b));
    } else if (expr_is_number(&v[0]) && expr_is_number(&v[1])) {
        num_acc_t acc = {.kind = v[0].value_type == BSON_TYPE_INT32   ? 0
                                 : v[0].value_type == BSON_TYPE_INT64 ? 1
                                                                      : 2};
        acc.i = acc.kind < 2 ? expr_as_int64(&v[0]) : 0;
        acc.d = acc.kind == 2 ? v[0].value.v_double : 0;
        bson_value_t neg = v[1];
        if (neg.value_type == BSON_TYPE_DOUBLE) {
            neg.value.v_double = -neg.value.v_double;
        } else if (expr_as_int64(&neg) == INT64_MIN) {
            neg.value_type = BSON_TYPE_DOUBLE;
            neg.value.v_double = 9223372036854775808.0;
        } else if (neg.value_type == BSON_TYPE_INT32 && neg.value.v_int32 == INT32_MIN) {
            neg.value_type = BSON_TYPE_INT64;
            neg.value.v_int64 = -(int64_t)INT32_MIN;
        } else if (neg.value_type == BSON_TYPE_INT32) {
            neg.value.v_int32 = -neg.value.v_int32;
        } else {
            neg.value.v_int64 = -neg.value.v_int64;
        }
        acc_add(&acc, &neg, false);
        if (acc.kind == 1 && v[0].value_type == BSON_TYPE_INT32 &&
            v[1].value_type == BSON_TYPE_INT32)
            acc.kind = 0;
        acc_result(&acc, out);
    } else {
        rc = expr_fail(ctx, DOCSTORE_LOCATION_16556, "can't $subtract %s from %s",
                       expr_type_name(&v[1]), expr_type_name(&v[0]));
    }
    expr_vals_free(v, e->n);
    return rc;
}

static int op_divide_mod(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out)
{
    bool mod = strcmp(e->name, "$mod") == 0;
    bson_value_t *v = expr_eval_vals(ctx, e);
    if (v == NULL)
        return -1;
    int rc = 0;
    if (expr_is_nullish(&v[0]) || expr_is_nullish(&v[1])) {
        expr_set_null(out);
    } else if (!expr_is_number(&v[0]) || !expr_is_number(&v[1])) {
        rc = expr_fail(ctx, mod ? DOCSTORE_LOCATION_16611 : DOCSTORE_LOCATION_16609,
                       "%s only supports numeric types, not %s and %s", e->name,
                       expr_type_name(&v[0]), expr_type_name(&v[1]));
    } else if (v[0].value_type == BSON_TYPE_DECIMAL128 || v[1].value_type == BSON_TYPE_DECIMAL128) {
        docstore_dec_t a, b;
        (void)docstore_dec_from_value(&v[0], &a);
        (void)docstore_dec_from_value(&v[1], &b);
        if (docstore_dec_is_zero(b))
            rc = mod ? expr_fail(ctx, DOCSTORE_LOCATION_16610, "can't $mod by zero")
                     : expr_fail(ctx, DOCSTORE_BAD_VALUE, "can't $divide by zero");
        else
            docstore_dec_set(out, mod ? docstore_dec_fmod(a, b) : docstore_dec_div(a, b));
    } else if (expr_as_double(&v[1]) == 0.0) {
        rc = mod ? expr_fail(ctx, DOCSTORE_LOCATION_16610, "can't $mod by zero")
                 : expr_fail(ctx, DOCSTORE_BAD_VALUE, "can't $divide by zero");
    } else if (!mod) {
        expr_set_double(out, expr_as_double(&v[0]) / expr_as_double(&v[1]));
    } else if (v[0].value_type == BSON_TYPE_DOUBLE || v[1].value_type == BSON_TYPE_DOUBLE) {
        expr_set_double(out, fmod(expr_as_double(&v[0]), expr_as_double(&v[1])));
    } else {
        int64_t a = expr_as_int64(&v[0]), b = expr_as_int64(&v[1]);
        int64_t r = b == -1 ? 0 : a % b;
        expr_set_int(out, r,
                v[0].value_type == BSON_TYPE_INT32 && v[1].value_type == BSON_TYPE_INT32);
    }
    expr_vals_free(v, e->n);
    return rc;
}

/* $abs $ceil $floor $round $trunc $sqrt $exp $ln $log10 of a decimal, with
 * mongod's errors for arguments out of the domain. */
static int unary_decimal(expr_ctx_t *ctx, const char *n, docstore_dec_t x, int place,
                         bson_value_t *out)
{
    bool nonpositive = docstore_dec_is_negative(x) || docstore_dec_is_zero(x);
    if (strcmp(n, "$round") == 0 || strcmp(n, "$trunc") == 0) {
        docstore_dec_set(out, docstore_dec_round_place(x, place, n[1] == 't'));
        return 0;
    }
    if ((strcmp(n, "$ln") == 0 || strcmp(n, "$log10") == 0) && nonpositive &&
        !docstore_dec_is_nan(x)) {
        char s[BSON_DECIMAL128_STRING];
        bson_decimal128_to_string(&x, s);
        return expr_fail(ctx, n[2] == 'n' ? DOCSTORE_LOCATION_28766 : DOCSTORE_LOCATION_28761,
                         "%s's argument must be a positive number, but is %s", n, s);
    }
    if (strcmp(n, "$sqrt") == 0 && docstore_dec_is_negative(x))
        return expr_fail(ctx, DOCSTORE_LOCATION_28714,
                         "$sqrt's argument must be greater than or equal to 0");
    static const struct {
        const char *name;
        docstore_dec_fn_t fn;
    } fns[] = {{"$abs", DOCSTORE_DEC_ABS},     {"$ceil", DOCSTORE_DEC_CEIL},
               {"$floor", DOCSTORE_DEC_FLOOR}, {"$sqrt", DOCSTORE_DEC_SQRT},
               {"$exp", DOCSTORE_DEC_EXP},     {"$ln", DOCSTORE_DEC_LN},
               {"$log10", DOCSTORE_DEC_LOG10}};
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
        if (strcmp(n, fns[i].name) == 0) {
            docstore_dec_set(out, docstore_dec_apply(fns[i].fn, x));
            return 0;
        }
    }
    return expr_no_decimal(ctx, &(bson_value_t){.value_type = BSON_TYPE_DECIMAL128}, n);
}

static int op_unary_math(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out)
{
    bson_value_t *v = expr_eval_vals(ctx, e);
    if (v == NULL)
        return -1;
    int rc = 0;
    const char *n = e->name;
    bool transcendental = strcmp(n, "$exp") == 0 || strcmp(n, "$ln") == 0 ||
                          strcmp(n, "$log10") == 0 || strcmp(n, "$sqrt") == 0;
    int64_t place = 0;
    if (e->n > 1) {
        if (!expr_is_nullish(&v[1]) &&
            (!expr_is_number(&v[1]) || expr_as_double(&v[1]) != floor(expr_as_double(&v[1])) ||
             expr_as_double(&v[1]) < -20 || expr_as_double(&v[1]) >= 100)) {
            rc = expr_fail(ctx, DOCSTORE_LOCATION_51082,
                           "%s's place argument must be an integer in [-20, 100)", n);
            goto out;
        }
        place = (int64_t)expr_as_double(&v[1]);
    }
    if (expr_is_nullish(&v[0]) || (e->n > 1 && expr_is_nullish(&v[1]))) {
        expr_set_null(out);
    } else if (!expr_is_number(&v[0])) {
        rc = expr_fail(ctx, DOCSTORE_LOCATION_28765, "%s only supports numeric types, not %s", n,
                       expr_type_name(&v[0]));
    } else if (v[0].value_type == BSON_TYPE_DECIMAL128) {
        rc = unary_decimal(ctx, n, v[0].value.v_decimal128, (int)place, out);
    } else if (strcmp(n, "$abs") == 0) {
        if (v[0].value_type == BSON_TYPE_DOUBLE)
            expr_set_double(out, fabs(v[0].value.v_double));
        else if (v[0].value_type == BSON_TYPE_INT64 && v[0].value.v_int64 == INT64_MIN)
            rc = expr_fail(ctx, DOCSTORE_LOCATION_28680, "can't take $abs of long long min");
        else
            expr_set_int(out, llabs(expr_as_int64(&v[0])), v[0].value_type == BSON_TYPE_INT32);
    } else if (v[0].value_type != BSON_TYPE_DOUBLE && !transcendental) {
        if (place >= 0 || strcmp(n, "$ceil") == 0 || strcmp(n, "$floor") == 0) {
            bson_value_copy(&v[0], out);
        } else {
            int64_t x = expr_as_int64(&v[0]), p = 1;
            for (int64_t i = 0; i < -place && p <= INT64_MAX / 10; i++)
                p *= 10;
            int64_t q = x / p * p;
            if (strcmp(n, "$round") == 0) {
                int64_t r = x - q;
                if (llabs(r) * 2 > p || (llabs(r) * 2 == p && (q / p) % 2 != 0))
                    q += x < 0 ? -p : p;
            }
            expr_set_int(out, q, v[0].value_type == BSON_TYPE_INT32);
        }
    } else {
        double x = expr_as_double(&v[0]), s = pow(10.0, (double)place);
        if (strcmp(n, "$ceil") == 0)
            expr_set_double(out, ceil(x));
        else if (strcmp(n, "$floor") == 0)
            expr_set_double(out, floor(x));
        else if (strcmp(n, "$exp") == 0)
            expr_set_double(out, exp(x));
        else if (strcmp(n, "$ln") == 0 || strcmp(n, "$log10") == 0) {
            if (x <= 0)
                rc = expr_fail(ctx, n[2] == 'n' ? DOCSTORE_LOCATION_28766 : DOCSTORE_LOCATION_28761,
                               "%s's argument must be a positive number, but is %g", n, x);
            else
                expr_set_double(out, n[2] == 'n' ? log(x) : log10(x));
        } else if (strcmp(n, "$sqrt") == 0) {
            if (x < 0)
                rc = expr_fail(ctx, DOCSTORE_LOCATION_28714,
                               "$sqrt's argument must be greater than or equal to 0");
            else
                expr_set_double(out, sqrt(x));
        } else if (isnan(x) || isinf(x))
            expr_set_double(out, x);
        else if (strcmp(n, "$round") == 0)
            expr_set_double(out, nearbyint(x * s) / s);
        else
            expr_set_double(out, trunc(x * s) / s);
    }
out:
    expr_vals_free(v, e->n);
    return rc;
}

static int op_pow(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out)
{
    bson_value_t *v = expr_eval_vals(ctx, e);
    if (v == NULL)
        return -1;
    int rc = 0;
    if (expr_is_nullish(&v[0]) || expr_is_nullish(&v[1])) {
        expr_set_null(out);
    } else if (!expr_is_number(&v[0]) || !expr_is_number(&v[1])) {
        rc = expr_fail(ctx, DOCSTORE_LOCATION_28762, "$pow's base must be numeric, not %s",
                       expr_type_name(expr_is_number(&v[0]) ? &v[1] : &v[0]));
    } else if (v[0].value_type == BSON_TYPE_DECIMAL128 || v[1].value_type == BSON_TYPE_DECIMAL128) {
        docstore_dec_t b, x;
        (void)docstore_dec_from_value(&v[0], &b);
        (void)docstore_dec_from_value(&v[1], &x);
        if (docstore_dec_is_zero(b) && docstore_dec_is_negative(x))
            rc = expr_fail(ctx, DOCSTORE_LOCATION_28764,
                           "$pow cannot take a base of 0 and a negative exponent");
        else
            docstore_dec_set(out, docstore_dec_pow(b, x));
    } else {
        double b = expr_as_double(&v[0]), x = expr_as_double(&v[1]);
        bool ints = v[0].value_type != BSON_TYPE_DOUBLE && v[1].value_type != BSON_TYPE_DOUBLE;
        if (b == 0 && x < 0) {
            rc = expr_fail(ctx, DOCSTORE_LOCATION_28764,
                           "$pow cannot take a base of 0 and a negative exponent");
        } else if (ints && x >= 0) {
            /* Integral powers stay integral while they fit, as MongoDB's do. */
            int64_t base = expr_as_int64(&v[0]), r = 1;
            bool over = false;
            if (base == 0 || base == 1)
                r = x == 0 ? 1 : base;
            else if (base == -1)
                r = (int64_t)x % 2 == 0 ? 1 : -1;
            else if (x > 64)
                over = true;
            for (int64_t i = 0; i < (int64_t)x && !over && base != 0 && base != 1 && base != -1;
                 i++)
                over = __builtin_mul_overflow(r, base, &r);
            if (over)
                expr_set_double(out, pow(b, x));
            else
                expr_set_int(out, r, v[0].value_type == BSON_TYPE_INT32 &&
                                         v[1].value_type == BSON_TYPE_INT32);
        } else {
            expr_set_double(out, pow(b, x));
        }
    }
    expr_vals_free(v, e->n);
    return rc;
}

/* --- strings ----------------------------------------------------------------- */

static int op_concat(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out)
{
    bson_value_t *v = expr_eval_vals(ctx, e);
    if (v == NULL)
        return -1;
    size_t total = 0;
    int rc = 0;
    bool null = false;
    for (size_t i = 0; i < e->n; i++) {
        if (expr_is_nullish(&v[i]))
            null = true;
        else if (v[i].value_type != BSON_TYPE_UTF8) {
            rc = expr_fail(ctx, DOCSTORE_LOCATION_16702, "$concat only supports strings, not %s",
                           expr_type_name(&v[i]));
            break;
        } else
            total += v[i].value.v_utf8.len;
    }
    if (rc == 0 && total > 16 * 1024 * 1024)
        rc = expr_fail(ctx, DOCSTORE_LOCATION_16493, "string too long");
    if (rc == 0 && null) {
        expr_set_null(out);
    } else if (rc == 0) {
        char *s = bson_malloc(total + 1);
        size_t at = 0;
        for (size_t i = 0; i < e->n; i++) {
            memcpy(s + at, v[i].value.v_utf8.str, v[i].value.v_utf8.len);
            at += v[i].value.v_utf8.len;
        }
        s[at] = '\0';
        expr_set_string_owned(out, s, at);
    }
    expr_vals_free(v, e->n);
    return rc;
}

/* Coerces for $toUpper/$toLower/$substr*: null and missing become "". */
static int coerce_string(expr_ctx_t *ctx, const char *op, const bson_value_t *v, char **s)
{
    if (expr_is_nullish(v)) {
        *s = bson_strdup("");
        return 0;
    }
    if (!expr_to_string(v, s))
        return expr_fail(ctx, DOCSTORE_LOCATION_16007,
                         "%s: can't convert from BSON type %s to String", op, expr_type_name(v));
    return 0;
}

static int op_case(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out)
{
    bool upper = strcmp(e->name, "$toUpper") == 0;
    bson_value_t v;
    char *s;
    if (expr_eval(ctx, e->args[0], &v) != 0)
        return -1;
    int rc = coerce_string(ctx, e->name, &v, &s);
    bson_value_destroy(&v);
    if (rc != 0)
        return -1;
    for (char *p = s; *p; p++) {
        if (upper && *p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
        else if (!upper && *p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    }
    expr_set_string_owned(out, s, strlen(s));
    return 0;
}

static bool utf8_cont(unsigned char c)
{
    return (c & 0xC0) == 0x80;
}

static int op_substr(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out)
{
    bool cp = strcmp(e->name, "$substrCP") == 0;
    bson_value_t *v = expr_eval_vals(ctx, e);
    if (v == NULL)
        return -1;
    char *s = NULL;
    int rc = coerce_string(ctx, e->name, &v[0], &s);
    if (rc == 0 && !expr_is_number(&v[1]))
        rc = expr_fail(ctx, cp ? DOCSTORE_LOCATION_34450 : DOCSTORE_LOCATION_16034,
                       "%s: starting index must be a numeric type (is BSON type %s)", e->name,
                       expr_type_name(&v[1]));
    if (rc == 0 && !expr_is_number(&v[2]))
        rc = expr_fail(ctx, cp ? DOCSTORE_LOCATION_34452 : DOCSTORE_LOCATION_16035,
                       "%s: length must be a numeric type (is BSON type %s)", e->name,
                       expr_type_name(&v[2]));
    if (rc == 0) {
        double start = expr_as_double(&v[1]), len = expr_as_double(&v[2]);
        size_t slen = strlen(s);
        if (start < 0 && (cp || start < 0)) {
            if (cp) {
                rc = expr_fail(ctx, DOCSTORE_LOCATION_34455,
                               "%s: the starting index must be nonnegative integer.", e->name);
            } else {
                rc = expr_fail(ctx, DOCSTORE_LOCATION_50752,
                               "%s: starting index must be non-negative (got: %g)", e->name, start);
            }
        } else if (cp) {
            /* Code points: walk characters. */
            size_t b = 0, i = 0;
            while (b < slen && i < (size_t)start) {
                b++;
                while (b < slen && utf8_cont((unsigned char)s[b]))
                    b++;
                i++;
            }
            size_t end = b, n = 0;
            while (end < slen && (len < 0 || n < (size_t)len)) {
                end++;
                while (end < slen && utf8_cont((unsigned char)s[end]))
                    end++;
                n++;
            }
            expr_set_utf8(out, s + b, end - b);
        } else {
            size_t b = start >= (double)slen ? slen : (size_t)start;
            size_t end = len < 0 || (double)b + len >= (double)slen ? slen : b + (size_t)len;
            if (b < slen && utf8_cont((unsigned char)s[b]))
                rc = expr_fail(ctx, DOCSTORE_LOCATION_28656,
                               "%s:  Invalid range, starting index is a UTF-8 continuation byte.",
                               e->name);
            else if (end < slen && utf8_cont((unsigned char)s[end]))
                rc = expr_fail(ctx, DOCSTORE_LOCATION_28657,
                               "%s:  Invalid range, ending index is in the middle of a UTF-8 "
                               "character.",
                               e->name);
            else
                expr_set_utf8(out, s + b, end - b);
        }
    }
    bson_free(s);
    expr_vals_free(v, e->n);
    return rc;
}

static int op_strlen(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out)
{
    bool cp = strcmp(e->name, "$strLenCP") == 0;
    bson_value_t v;
    if (expr_eval(ctx, e->args[0], &v) != 0)
        return -1;
    int rc = 0;
    if (v.value_type != BSON_TYPE_UTF8) {
        rc = expr_fail(ctx, cp ? DOCSTORE_LOCATION_34471 : DOCSTORE_LOCATION_34473,
                       "%s requires a string argument, found: %s", e->name, expr_type_name(&v));
    } else {
        int64_t n = v.value.v_utf8.len;
        if (cp) {
            n = 0;
            for (uint32_t i = 0; i < v.value.v_utf8.len; i++)
                n += !utf8_cont((unsigned char)v.value.v_utf8.str[i]);
        }
        expr_set_int(out, n, true);
    }
    bson_value_destroy(&v);
    return rc;
}

static int op_split(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out)
{
    bson_value_t *v = expr_eval_vals(ctx, e);
    if (v == NULL)
        return -1;
    int rc = 0;
    if (expr_is_nullish(&v[0]) || expr_is_nullish(&v[1])) {
        expr_set_null(out);
    } else if (v[0].value_type != BSON_TYPE_UTF8) {
        rc = expr_fail(ctx, DOCSTORE_LOCATION_40085,
                       "$split requires an expression that evaluates to a string as a first "
                       "argument, found: %s",
                       expr_type_name(&v[0]));
    } else if (v[1].value_type != BSON_TYPE_UTF8) {
        rc = expr_fail(ctx, DOCSTORE_LOCATION_40086,
                       "$split requires an expression that evaluates to a string as a second "
                       "argument, found: %s",
                       expr_type_name(&v[1]));
    } else if (v[1].value.v_utf8.len == 0) {
        rc = expr_fail(ctx, DOCSTORE_LOCATION_40087, "$split requires a non-empty separator");
    } else {
        bson_t arr = BSON_INITIALIZER;
        const char *s = v[0].value.v_utf8.str, *end = s + v[0].value.v_utf8.len;
        const char *sep = v[1].value.v_utf8.str;
        size_t seplen = v[1].value.v_utf8.len;
        uint32_t i = 0;
        for (;;) {
            const char *hit = memmem(s, (size_t)(end - s), sep, seplen);
            bson_value_t part;
            expr_set_utf8(&part, s, hit ? (size_t)(hit - s) : (size_t)(end - s));
            expr_append_indexed(&arr, i++, &part);
            bson_value_destroy(&part);
            if (hit == NULL)
                break;
            s = hit + seplen;
        }
        expr_take_bson(&arr, BSON_TYPE_ARRAY, out);
    }
    expr_vals_free(v, e->n);
    return rc;
}

static int op_trim(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out)
{
    bool left = strcmp(e->name, "$rtrim") != 0, right = strcmp(e->name, "$ltrim") != 0;
    bson_value_t *v = expr_eval_vals(ctx, e);
    if (v == NULL)
        return -1;
    int rc = 0;
    static const char ws[] = " \t\n\v\f\r";
    const char *chars = ws;
    size_t nchars = sizeof ws; /* includes the NUL, which MongoDB trims too */
    if (expr_is_nullish(&v[0])) {
        expr_set_null(out);
        goto out;
    }
    if (v[0].value_type != BSON_TYPE_UTF8) {
        rc = expr_fail(ctx, DOCSTORE_LOCATION_50699, "%s requires its input to be a string, got %s",
                       e->name, expr_type_name(&v[0]));
        goto out;
    }
    if (e->args[1] != NULL) {
        if (expr_is_nullish(&v[1])) {
            expr_set_null(out);
            goto out;
        }
        if (v[1].value_type != BSON_TYPE_UTF8) {
            rc = expr_fail(ctx, DOCSTORE_LOCATION_50700,
                           "%s requires 'chars' to be a string, got %s", e->name,
                           expr_type_name(&v[1]));
            goto out;
        }
        chars = v[1].value.v_utf8.str;
        nchars = v[1].value.v_utf8.len;
    }
    const char *s = v[0].value.v_utf8.str;
    size_t b = 0, end = v[0].value.v_utf8.len;
    /* Byte-wise membership: exact for ASCII trim sets, the common case. */
    while (left && b < end && memchr(chars, s[b], nchars) != NULL)
        b++;
    while (right && end > b && memchr(chars, s[end - 1], nchars) != NULL)
        end--;
    expr_set_utf8(out, s + b, end - b);
out:
    expr_vals_free(v, e->n);
    return rc;
}

static int op_strcasecmp(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out)
{
    bson_value_t *v = expr_eval_vals(ctx, e);
    if (v == NULL)
        return -1;
    char *a = NULL, *b = NULL;
    int rc = coerce_string(ctx, e->name, &v[0], &a);
    if (rc == 0)
        rc = coerce_string(ctx, e->name, &v[1], &b);
    if (rc == 0) {
        int c = strcasecmp(a, b);
        expr_set_int(out, c < 0 ? -1 : c > 0, true);
    }
    bson_free(a);
    bson_free(b);
    expr_vals_free(v, e->n);
    return rc;
}

/* --- arrays ------------------------------------------------------------------ */

static int op_size(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out)
{
    bson_value_t v;
    if (expr_eval(ctx, e->args[0], &v) != 0)
        return -1;
    int rc = 0;
    if (v.value_type != BSON_TYPE_ARRAY)
        rc = expr_fail(ctx, DOCSTORE_LOCATION_17124,
                       "The argument to $size must be an array. Type of argument is: %s",
                       expr_type_name(&v));
    else
        expr_set_int(out, (int64_t)expr_array_len(&v), true);
    bson_value_destroy(&v);
    return rc;
}

/* Copies element i (negative: from the end) of arr into out, or leaves EOD. */
static int op_elem_at(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out)
{
    bool first = strcmp(e->name, "$first") == 0, last = strcmp(e->name, "$last") == 0;
    bson_value_t *v = expr_eval_vals(ctx, e);
    if (v == NULL)
        return -1;
    int rc = 0;
    if (expr_is_nullish(&v[0]) || (!first && !last && expr_is_nullish(&v[1]))) {
        expr_set_null(out);
    } else if (v[0].value_type != BSON_TYPE_ARRAY) {
        if (first || last)
            rc =
                expr_fail(ctx, DOCSTORE_LOCATION_28689, "%s's argument must be an array, but is %s",
                          e->name, expr_type_name(&v[0]));
        else
            rc = expr_fail(ctx, DOCSTORE_LOCATION_28689,
                           "$arrayElemAt's first argument must be an array, but is %s",
                           expr_type_name(&v[0]));
    } else if (first || last) {
        expr_array_at(&v[0], first ? 0 : -1, out);
    } else if (!expr_is_number(&v[1])) {
        rc = expr_fail(ctx, DOCSTORE_LOCATION_28690,
                       "$arrayElemAt's second argument must be a numeric value, but is %s",
                       expr_type_name(&v[1]));
    } else {
        double d = expr_as_double(&v[1]);
        if (d != floor(d) || d < INT32_MIN || d > INT32_MAX)
            rc = expr_fail(ctx, DOCSTORE_LOCATION_28691,
                           "$arrayElemAt's second argument must be representable as a 32-bit "
                           "integer: %g",
                           d);
        else
            expr_array_at(&v[0], (int64_t)d, out);
    }
    expr_vals_free(v, e->n);
    return rc;
}

static int op_in(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out)
{
    bson_value_t *v = expr_eval_vals(ctx, e);
    if (v == NULL)
        return -1;
    int rc = 0;
    if (v[1].value_type != BSON_TYPE_ARRAY) {
        rc = expr_fail(ctx, DOCSTORE_LOCATION_40081,
                       "$in requires an array as a second argument, found: %s",
                       expr_type_name(&v[1]));
    } else {
        bool found = false;
        bson_iter_t it;
        bson_iter_init_from_data(&it, v[1].value.v_doc.data, v[1].value.v_doc.data_len);
        while (!found && bson_iter_next(&it))
            found = expr_compare(&v[0], bson_iter_value(&it)) == 0;
        expr_set_bool(out, found);
    }
    expr_vals_free(v, e->n);
    return rc;
}

static int op_is_array(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out)
{
    bson_value_t v;
    if (expr_eval(ctx, e->args[0], &v) != 0)
        return -1;
    expr_set_bool(out, v.value_type == BSON_TYPE_ARRAY);
    bson_value_destroy(&v);
    return 0;
}

static int op_concat_arrays(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out)
{
    bson_value_t *v = expr_eval_vals(ctx, e);
    if (v == NULL)
        return -1;
    int rc = 0;
    bool null = false;
    for (size_t i = 0; i < e->n && rc == 0; i++) {
        if (expr_is_nullish(&v[i]))
            null = true;
        else if (v[i].value_type != BSON_TYPE_ARRAY)
            rc = expr_fail(ctx, DOCSTORE_LOCATION_28664,
                           "$concatArrays only supports arrays, not %s", expr_type_name(&v[i]));
    }
    if (rc == 0 && null) {
        expr_set_null(out);
    } else if (rc == 0) {
        bson_t arr = BSON_INITIALIZER;
        uint32_t k = 0;
        for (size_t i = 0; i < e->n; i++) {
            bson_iter_t it;
            bson_iter_init_from_data(&it, v[i].value.v_doc.data, v[i].value.v_doc.data_len);
            while (bson_iter_next(&it))
                expr_append_indexed(&arr, k++, bson_iter_value(&it));
        }
        expr_take_bson(&arr, BSON_TYPE_ARRAY, out);
    }
    expr_vals_free(v, e->n);
    return rc;
}

static int op_reverse(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out)
{
    bson_value_t v;
    if (expr_eval(ctx, e->args[0], &v) != 0)
        return -1;
    int rc = 0;
    if (expr_is_nullish(&v)) {
        expr_set_null(out);
    } else if (v.value_type != BSON_TYPE_ARRAY) {
        rc = expr_fail(ctx, DOCSTORE_LOCATION_34435,
                       "The argument to $reverseArray must be an array, but was of "
                       "type: %s",
                       expr_type_name(&v));
    } else {
        /* Shallow copies: iterator values point into v's data, alive until the end. */
        size_t n = expr_array_len(&v), i = 0;
        bson_value_t *els = calloc(n ? n : 1, sizeof *els);
        bson_t arr = BSON_INITIALIZER;
        bson_iter_t it;
        if (els == NULL) {
            bson_destroy(&arr);
            bson_value_destroy(&v);
            return expr_fail(ctx, DOCSTORE_INTERNAL_ERROR, "out of memory");
        }
        bson_iter_init_from_data(&it, v.value.v_doc.data, v.value.v_doc.data_len);
        while (i < n && bson_iter_next(&it))
            els[i++] = *bson_iter_value(&it);
        for (size_t k = 0; k < i; k++)
            expr_append_indexed(&arr, (uint32_t)k, &els[i - 1 - k]);
        free(els);
        expr_take_bson(&arr, BSON_TYPE_ARRAY, out);
    }
    bson_value_destroy(&v);
    return rc;
}

static int op_slice(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out)
{
    bson_value_t *v = expr_eval_vals(ctx, e);
    if (v == NULL)
        return -1;
    int rc = 0;
    bool null = false;
    for (size_t i = 0; i < e->n; i++)
        null = null || expr_is_nullish(&v[i]);
    if (null) {
        expr_set_null(out);
    } else if (v[0].value_type != BSON_TYPE_ARRAY) {
        rc = expr_fail(ctx, DOCSTORE_LOCATION_28724,
                       "First argument to $slice must be an array, but is of type: %s",
                       expr_type_name(&v[0]));
    } else if (!expr_is_number(&v[1]) || (e->n == 3 && !expr_is_number(&v[2]))) {
        rc = expr_fail(ctx, DOCSTORE_LOCATION_28725,
                       "Second argument to $slice must be a numeric value");
    } else {
        int64_t len = (int64_t)expr_array_len(&v[0]);
        int64_t start, count;
        if (e->n == 2) {
            int64_t n = (int64_t)expr_as_double(&v[1]);
            start = n >= 0 ? 0 : (len + n < 0 ? 0 : len + n);
            count = n >= 0 ? n : len;
        } else {
            int64_t p = (int64_t)expr_as_double(&v[1]);
            count = (int64_t)expr_as_double(&v[2]);
            if (count <= 0) {
                rc = expr_fail(ctx, DOCSTORE_LOCATION_28729,
                               "Third argument to $slice must be positive: %lld", (long long)count);
                goto out;
            }
            start = p >= 0 ? p : (len + p < 0 ? 0 : len + p);
        }
        bson_t arr = BSON_INITIALIZER;
        bson_iter_t it;
        uint32_t k = 0;
        bson_iter_init_from_data(&it, v[0].value.v_doc.data, v[0].value.v_doc.data_len);
        for (int64_t i = 0; bson_iter_next(&it); i++) {
            if (i >= start && i - start < count)
                expr_append_indexed(&arr, k++, bson_iter_value(&it));
        }
        expr_take_bson(&arr, BSON_TYPE_ARRAY, out);
    }
out:
    expr_vals_free(v, e->n);
    return rc;
}

/* $filter {input, as, cond, limit} and $map {input, as, in}. */
static int op_filter_map(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out)
{
    bool map = strcmp(e->name, "$map") == 0;
    bson_value_t input, limit = {.value_type = BSON_TYPE_EOD};
    if (expr_eval(ctx, e->args[0], &input) != 0)
        return -1;
    int rc = 0;
    int64_t max = -1;
    if (!map && e->args[3] != NULL) {
        if (expr_eval(ctx, e->args[3], &limit) != 0) {
            bson_value_destroy(&input);
            return -1;
        }
        if (!expr_is_nullish(&limit)) {
            if (!expr_is_number(&limit) || expr_as_double(&limit) < 1) {
                rc = expr_fail(ctx, DOCSTORE_LOCATION_327391,
                               "$filter: limit must be greater than 0");
                goto out;
            }
            max = (int64_t)expr_as_double(&limit);
        }
    }
    if (expr_is_nullish(&input)) {
        expr_set_null(out);
        goto out;
    }
    if (input.value_type != BSON_TYPE_ARRAY) {
        rc = map ? expr_fail(ctx, DOCSTORE_LOCATION_16883, "input to $map must be an array not %s",
                             expr_type_name(&input))
                 : expr_fail(ctx, DOCSTORE_LOCATION_28651,
                             "input to $filter must be an array not %s", expr_type_name(&input));
        goto out;
    }
    bson_t arr = BSON_INITIALIZER;
    bson_iter_t it;
    uint32_t k = 0;
    expr_local_t local = {.name = e->as ? e->as : "this", .next = ctx->locals};
    bson_iter_init_from_data(&it, input.value.v_doc.data, input.value.v_doc.data_len);
    ctx->locals = &local;
    while (rc == 0 && bson_iter_next(&it) && (max < 0 || k < max)) {
        local.value = bson_iter_value(&it);
        bson_value_t r;
        rc = expr_eval(ctx, e->args[map ? 2 : 1], &r);
        if (rc != 0)
            break;
        if (map) {
            bson_value_t null = {.value_type = BSON_TYPE_NULL};
            expr_append_indexed(&arr, k++, r.value_type == BSON_TYPE_EOD ? &null : &r);
        } else if (docstore_value_truthy(&r)) {
            expr_append_indexed(&arr, k++, local.value);
        }
        bson_value_destroy(&r);
    }
    ctx->locals = local.next;
    if (rc == 0)
        expr_take_bson(&arr, BSON_TYPE_ARRAY, out);
    else
        bson_destroy(&arr);
out:
    bson_value_destroy(&input);
    bson_value_destroy(&limit);
    return rc;
}

static int op_merge_objects(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out)
{
    bson_value_t *v = expr_eval_vals(ctx, e);
    if (v == NULL)
        return -1;
    int rc = 0;
    bson_t doc = BSON_INITIALIZER;
    for (size_t i = 0; i < e->n && rc == 0; i++) {
        if (expr_is_nullish(&v[i]))
            continue;
        if (v[i].value_type != BSON_TYPE_DOCUMENT) {
            rc = expr_fail(ctx, DOCSTORE_LOCATION_40400,
                           "$mergeObjects requires object inputs, but input %s is of type %s", "?",
                           expr_type_name(&v[i]));
            break;
        }
        /* Later fields win, in the position of their first appearance. */
        bson_t merged = BSON_INITIALIZER, add;
        bson_init_static(&add, v[i].value.v_doc.data, v[i].value.v_doc.data_len);
        bson_iter_t it, f;
        bson_iter_init(&it, &doc);
        while (bson_iter_next(&it)) {
            if (bson_iter_init_find(&f, &add, bson_iter_key(&it)))
                bson_append_value(&merged, bson_iter_key(&it), -1, bson_iter_value(&f));
            else
                bson_append_value(&merged, bson_iter_key(&it), -1, bson_iter_value(&it));
        }
        bson_iter_init(&it, &add);
        while (bson_iter_next(&it)) {
            if (!bson_iter_init_find(&f, &doc, bson_iter_key(&it)))
                bson_append_value(&merged, bson_iter_key(&it), -1, bson_iter_value(&it));
        }
        bson_destroy(&doc);
        bson_copy_to(&merged, &doc);
        bson_destroy(&merged);
    }
    if (rc == 0)
        expr_take_bson(&doc, BSON_TYPE_DOCUMENT, out);
    else
        bson_destroy(&doc);
    expr_vals_free(v, e->n);
    return rc;
}

/* --- the table ---------------------------------------------------------------- */

static const char *const cond_params[] = {"if", "then", "else", NULL};
static const char *const filter_params[] = {"input", "cond", "as", "limit", NULL};
static const char *const map_params[] = {"input", "as", "in", NULL};
static const char *const trim_params[] = {"input", "chars", NULL};
static const char *const date_params[] = {"date", "timezone", NULL};
static const char *const date_string_params[] = {"date", "format", "timezone", "onNull", NULL};
static const char *const convert_params[] = {"input", "to", "onError", "onNull", NULL};
static const char *const reduce_params[] = {"input", "initialValue", "in", NULL};
static const char *const regex_params[] = {"input", "regex", "options", NULL};
static const char *const replace_params[] = {"input", "find", "replacement", NULL};

static const expr_op_def_t ops[] = {
    {"$add", op_add_mul, 0, -1, NULL, 0},
    {"$multiply", op_add_mul, 0, -1, NULL, 0},
    {"$subtract", op_subtract, 2, 2, NULL, 0},
    {"$divide", op_divide_mod, 2, 2, NULL, 0},
    {"$mod", op_divide_mod, 2, 2, NULL, 0},
    {"$abs", op_unary_math, 1, 1, NULL, 0},
    {"$ceil", op_unary_math, 1, 1, NULL, 0},
    {"$floor", op_unary_math, 1, 1, NULL, 0},
    {"$sqrt", op_unary_math, 1, 1, NULL, 0},
    {"$round", op_unary_math, 1, 2, NULL, 0},
    {"$trunc", op_unary_math, 1, 2, NULL, 0},
    {"$eq", expr_op_cmp, 2, 2, NULL, 0},
    {"$ne", expr_op_cmp, 2, 2, NULL, 0},
    {"$gt", expr_op_cmp, 2, 2, NULL, 0},
    {"$gte", expr_op_cmp, 2, 2, NULL, 0},
    {"$lt", expr_op_cmp, 2, 2, NULL, 0},
    {"$lte", expr_op_cmp, 2, 2, NULL, 0},
    {"$cmp", expr_op_cmp, 2, 2, NULL, 0},
    {"$and", expr_op_and_or, 0, -1, NULL, 0},
    {"$or", expr_op_and_or, 0, -1, NULL, 0},
    {"$not", expr_op_not, 1, 1, NULL, 0},
    {"$cond", expr_op_cond, 3, 3, cond_params, 7},
    {"$ifNull", expr_op_if_null, 2, -1, NULL, 0},
    {"$switch", expr_op_switch, -1, -1, NULL, 0},
    {"$let", expr_op_let, -1, -1, NULL, 0},
    {"$concat", op_concat, 0, -1, NULL, 0},
    {"$toUpper", op_case, 1, 1, NULL, 0},
    {"$toLower", op_case, 1, 1, NULL, 0},
    {"$substr", op_substr, 3, 3, NULL, 0},
    {"$substrBytes", op_substr, 3, 3, NULL, 0},
    {"$substrCP", op_substr, 3, 3, NULL, 0},
    {"$strLenBytes", op_strlen, 1, 1, NULL, 0},
    {"$strLenCP", op_strlen, 1, 1, NULL, 0},
    {"$split", op_split, 2, 2, NULL, 0},
    {"$trim", op_trim, -1, -1, trim_params, 1},
    {"$ltrim", op_trim, -1, -1, trim_params, 1},
    {"$rtrim", op_trim, -1, -1, trim_params, 1},
    {"$strcasecmp", op_strcasecmp, 2, 2, NULL, 0},
    {"$size", op_size, 1, 1, NULL, 0},
    {"$arrayElemAt", op_elem_at, 2, 2, NULL, 0},
    {"$first", op_elem_at, 1, 1, NULL, 0},
    {"$last", op_elem_at, 1, 1, NULL, 0},
    {"$in", op_in, 2, 2, NULL, 0},
    {"$isArray", op_is_array, 1, 1, NULL, 0},
    {"$concatArrays", op_concat_arrays, 0, -1, NULL, 0},
    {"$reverseArray", op_reverse, 1, 1, NULL, 0},
    {"$slice", op_slice, 2, 3, NULL, 0},
    {"$filter", op_filter_map, -1, -1, filter_params, 3},
    {"$map", op_filter_map, -1, -1, map_params, 5},
    {"$mergeObjects", op_merge_objects, 0, -1, NULL, 0},
    {"$type", expr_op_type, 1, 1, NULL, 0},
    {"$isNumber", expr_op_is_number, 1, 1, NULL, 0},
    {"$toString", expr_op_to_type, 1, 1, NULL, 0},
    {"$toInt", expr_op_to_type, 1, 1, NULL, 0},
    {"$toLong", expr_op_to_type, 1, 1, NULL, 0},
    {"$toDouble", expr_op_to_type, 1, 1, NULL, 0},
    {"$toDecimal", expr_op_to_type, 1, 1, NULL, 0},
    {"$toBool", expr_op_to_type, 1, 1, NULL, 0},
    {"$toDate", expr_op_to_type, 1, 1, NULL, 0},
    {"$toObjectId", expr_op_to_type, 1, 1, NULL, 0},
    {"$convert", expr_op_convert, -1, -1, convert_params, 3},
    {"$year", expr_op_date_part, 1, 1, date_params, 1},
    {"$month", expr_op_date_part, 1, 1, date_params, 1},
    {"$dayOfMonth", expr_op_date_part, 1, 1, date_params, 1},
    {"$hour", expr_op_date_part, 1, 1, date_params, 1},
    {"$minute", expr_op_date_part, 1, 1, date_params, 1},
    {"$second", expr_op_date_part, 1, 1, date_params, 1},
    {"$millisecond", expr_op_date_part, 1, 1, date_params, 1},
    {"$dayOfWeek", expr_op_date_part, 1, 1, date_params, 1},
    {"$dayOfYear", expr_op_date_part, 1, 1, date_params, 1},
    {"$dateToString", expr_op_date_to_string, -1, -1, date_string_params, 1},
    {"$sum", expr_op_list_acc, 0, -1, NULL, 0},
    {"$avg", expr_op_list_acc, 0, -1, NULL, 0},
    {"$min", expr_op_list_acc, 1, -1, NULL, 0},
    {"$max", expr_op_list_acc, 1, -1, NULL, 0},
    {"$range", expr_op_range, 2, 3, NULL, 0},
    {"$indexOfArray", expr_op_index_of_array, 2, 4, NULL, 0},
    {"$indexOfBytes", expr_op_index_of_bytes, 2, 4, NULL, 0},
    {"$objectToArray", expr_op_object_to_array, 1, 1, NULL, 0},
    {"$arrayToObject", expr_op_array_to_object, 1, 1, NULL, 0},
    {"$reduce", expr_op_reduce, -1, -1, reduce_params, 7},
    {"$allElementsTrue", expr_op_elements_true, 1, 1, NULL, 0},
    {"$anyElementTrue", expr_op_elements_true, 1, 1, NULL, 0},
    {"$exp", op_unary_math, 1, 1, NULL, 0},
    {"$ln", op_unary_math, 1, 1, NULL, 0},
    {"$log10", op_unary_math, 1, 1, NULL, 0},
    {"$pow", op_pow, 2, 2, NULL, 0},
    {"$regexMatch", expr_op_regex, -1, -1, regex_params, 3},
    {"$regexFind", expr_op_regex, -1, -1, regex_params, 3},
    {"$regexFindAll", expr_op_regex, -1, -1, regex_params, 3},
    {"$replaceOne", expr_op_replace, -1, -1, replace_params, 7},
    {"$replaceAll", expr_op_replace, -1, -1, replace_params, 7},
    {"$setUnion", expr_op_set, 0, -1, NULL, 0},
    {"$setIntersection", expr_op_set, 0, -1, NULL, 0},
    {"$setDifference", expr_op_set, 2, 2, NULL, 0},
    {"$setEquals", expr_op_set, 2, -1, NULL, 0},
    {"$setIsSubset", expr_op_set, 2, 2, NULL, 0},
};

const expr_op_def_t *expr_ops_find(const char *name)
{
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        if (strcmp(ops[i].name, name) == 0)
            return &ops[i];
    }
    return NULL;
}
