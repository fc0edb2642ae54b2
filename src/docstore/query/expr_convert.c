/*
 * Expression operators on types and dates: $type, $isNumber, the $toX
 * conversions and $convert (failing with ConversionFailure 241 as $convert
 * without onError does), $toDate (numbers, ObjectIds, timestamps and ISO-8601
 * strings), the UTC date parts ($year ... $millisecond) and $dateToString.
 * Only the UTC timezone is supported; others are NotImplemented.
 */
#include "docstore/base/decimal.h"
#include "docstore/query/expr_internal.h"
#include "docstore/query/value.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CONVERSION_FAILURE 241

/* --- types ------------------------------------------------------------------- */

int expr_op_type(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out)
{
    bson_value_t v;
    if (expr_eval(ctx, e->args[0], &v) != 0)
        return -1;
    const char *n = expr_type_name(&v);
    bson_value_destroy(&v);
    expr_set_utf8(out, n, strlen(n));
    return 0;
}

int expr_op_is_number(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out)
{
    bson_value_t v;
    if (expr_eval(ctx, e->args[0], &v) != 0)
        return -1;
    expr_set_bool(out, expr_is_number(&v));
    bson_value_destroy(&v);
    return 0;
}

static int unsupported(expr_ctx_t *ctx, const bson_value_t *v, const char *to)
{
    return expr_fail(ctx, CONVERSION_FAILURE,
                     "Unsupported conversion from %s to %s in $convert with no onError value",
                     expr_type_name(v), to);
}

static int parse_integer(expr_ctx_t *ctx, const char *s, int64_t *out)
{
    const char *p = s;
    if (*p == '-' || *p == '+')
        p++;
    if (*p == '\0')
        return expr_fail(ctx, CONVERSION_FAILURE,
                         "Failed to parse number '%.100s' in $convert with no onError value: No "
                         "digits",
                         s);
    for (const char *q = p; *q; q++) {
        if (*q < '0' || *q > '9')
            return expr_fail(ctx, CONVERSION_FAILURE,
                             "Failed to parse number '%.100s' in $convert with no onError value: "
                             "Did not consume whole string.",
                             s);
    }
    errno = 0;
    long long v = strtoll(s, NULL, 10);
    if (errno == ERANGE)
        return expr_fail(ctx, CONVERSION_FAILURE,
                         "Failed to parse number '%.100s' in $convert with no onError value: "
                         "Out of range",
                         s);
    *out = v;
    return 0;
}

/* Parses "YYYY-MM-DD[(T| )HH:MM[:SS[.fff]]][Z|+HH:MM|-HHMM]" into ms. */
static bool parse_iso_date(const char *s, int64_t *ms)
{
    int y, mo, d, h = 0, mi = 0, sec = 0, n = 0;
    double frac = 0;
    if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10)
        return false;
    const char *p = s + n;
    if (*p == 'T' || *p == ' ') {
        int m2 = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &h, &mi, &m2) != 2 || m2 != 5)
            return false;
        p += 1 + m2;
        if (*p == ':') {
            if (sscanf(p + 1, "%2d%n", &sec, &m2) != 1 || m2 != 2)
                return false;
            p += 1 + m2;
            if (*p == '.') {
                char *end;
                frac = strtod(p, &end);
                p = end;
            }
        }
    }
    int off = 0;
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om = 0, m2 = 0;
        int sign = *p == '-' ? -1 : 1;
        if (sscanf(p + 1, "%2d%n", &oh, &m2) != 1 || m2 != 2)
            return false;
        p += 1 + m2;
        if (*p == ':')
            p++;
        if (*p >= '0' && *p <= '9') {
            if (sscanf(p, "%2d%n", &om, &m2) != 1 || m2 != 2)
                return false;
            p += m2;
        }
        off = sign * (oh * 60 + om);
    }
    if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return false;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
                    .tm_hour = h, .tm_min = mi, .tm_sec = sec};
    time_t t = timegm(&tm);
    *ms = (int64_t)t * 1000 + (int64_t)llround(frac * 1000) - (int64_t)off * 60000;
    return true;
}

static int to_date(expr_ctx_t *ctx, const bson_value_t *v, bson_value_t *out)
{
    int64_t ms;
    double d;
    switch (v->value_type) {
    case BSON_TYPE_DATE_TIME:
        ms = v->value.v_datetime;
        break;
    case BSON_TYPE_TIMESTAMP:
        ms = (int64_t)v->value.v_timestamp.timestamp * 1000;
        break;
    case BSON_TYPE_OID:
        ms = (int64_t)bson_oid_get_time_t(&v->value.v_oid) * 1000;
        break;
    case BSON_TYPE_INT32:
    case BSON_TYPE_INT64:
        ms = expr_as_int64(v);
        break;
    case BSON_TYPE_DOUBLE:
    case BSON_TYPE_DECIMAL128:
        d = expr_as_double(v);
        if (isnan(d) || isinf(d) || d < -9.2e18 || d > 9.2e18)
            return expr_fail(ctx, CONVERSION_FAILURE,
                             "Conversion would overflow target type in $convert with no onError "
                             "value: %g",
                             d);
        ms = (int64_t)trunc(d);
        break;
    case BSON_TYPE_UTF8:
        if (!parse_iso_date(v->value.v_utf8.str, &ms))
            return expr_fail(ctx, CONVERSION_FAILURE,
                             "Error parsing date string '%.100s'; the docstore reads "
                             "YYYY-MM-DD[THH:MM[:SS[.mmm]]][Z|+hh:mm]",
                             v->value.v_utf8.str);
        break;
    default:
        return expr_fail(ctx, CONVERSION_FAILURE,
                         "Unsupported conversion from %s to date in $convert with no onError "
                         "value",
                         expr_type_name(v));
    }
    out->value_type = BSON_TYPE_DATE_TIME;
    out->value.v_datetime = ms;
    return 0;
}

static int to_object_id(expr_ctx_t *ctx, const bson_value_t *vp, bson_value_t *out)
{
    bson_value_t v = *vp;
    int rc = 0;
    if (v.value_type == BSON_TYPE_OID) {
        bson_value_copy(&v, out);
    } else if (v.value_type == BSON_TYPE_UTF8 && bson_oid_is_valid(v.value.v_utf8.str,
                                                                    v.value.v_utf8.len) &&
               v.value.v_utf8.len == 24) {
        out->value_type = BSON_TYPE_OID;
        bson_oid_init_from_string(&out->value.v_oid, v.value.v_utf8.str);
    } else if (v.value_type == BSON_TYPE_UTF8) {
        rc = expr_fail(ctx, CONVERSION_FAILURE,
                       "Failed to parse objectId '%.100s' in $convert with no onError value: "
                       "Invalid string length for parsing to OID, expected 24 but found %u",
                       v.value.v_utf8.str, v.value.v_utf8.len);
    } else {
        rc = unsupported(ctx, &v, "objectId");
    }
    return rc;
}

/* Converts a non-null v to the type named by target ("$toInt"-style names). */
static int convert_to(expr_ctx_t *ctx, const bson_value_t *vp, const char *n, bson_value_t *out)
{
    bson_value_t v = *vp; /* shallow: read only */
    int rc = 0;
    if (strcmp(n, "$toDate") == 0) {
        rc = to_date(ctx, &v, out);
    } else if (strcmp(n, "$toObjectId") == 0) {
        rc = to_object_id(ctx, &v, out);
    } else if (strcmp(n, "$toString") == 0) {
        char *s;
        if (!expr_to_string(&v, &s))
            rc = unsupported(ctx, &v, "string");
        else
            expr_set_string_owned(out, s, strlen(s));
    } else if (strcmp(n, "$toBool") == 0) {
        expr_set_bool(out, v.value_type == BSON_TYPE_UTF8 ? true : docstore_value_truthy(&v));
    } else if (strcmp(n, "$toDecimal") == 0) {
        /* mongod: numbers as coerceToDecimal (a double at 15 digits), bool
         * 1/0, a date's milliseconds, a string parsed whole. */
        docstore_dec_t d;
        if (docstore_dec_from_value(&v, &d)) {
            docstore_dec_set(out, d);
        } else if (v.value_type == BSON_TYPE_BOOL) {
            docstore_dec_set(out, docstore_dec_from_int64(v.value.v_bool ? 1 : 0));
        } else if (v.value_type == BSON_TYPE_DATE_TIME) {
            docstore_dec_set(out, docstore_dec_from_int64(v.value.v_datetime));
        } else if (v.value_type == BSON_TYPE_UTF8) {
            if (v.value.v_utf8.len == 0 || v.value.v_utf8.len > 200 ||
                !bson_decimal128_from_string(v.value.v_utf8.str, &d))
                rc = expr_fail(ctx, CONVERSION_FAILURE,
                               "Failed to parse number '%.100s' in $convert with no onError "
                               "value: Failed to parse string to decimal",
                               v.value.v_utf8.str);
            else
                docstore_dec_set(out, d);
        } else {
            rc = unsupported(ctx, &v, "decimal");
        }
    } else if (strcmp(n, "$toDouble") == 0) {
        if (expr_is_number(&v)) {
            expr_set_double(out, expr_as_double(&v));
        } else if (v.value_type == BSON_TYPE_BOOL) {
            expr_set_double(out, v.value.v_bool ? 1 : 0);
        } else if (v.value_type == BSON_TYPE_DATE_TIME) {
            expr_set_double(out, (double)v.value.v_datetime);
        } else if (v.value_type == BSON_TYPE_UTF8) {
            char *end;
            double d = strtod(v.value.v_utf8.str, &end);
            if (v.value.v_utf8.len == 0 || *end != '\0')
                rc = expr_fail(ctx, CONVERSION_FAILURE,
                               "Failed to parse number '%.100s' in $convert with no onError "
                               "value: Did not consume whole string.",
                               v.value.v_utf8.str);
            else
                expr_set_double(out, d);
        } else {
            rc = unsupported(ctx, &v, "double");
        }
    } else {
        bool to_int = strcmp(n, "$toInt") == 0;
        int64_t lo = to_int ? INT32_MIN : INT64_MIN, hi = to_int ? INT32_MAX : INT64_MAX;
        int64_t r = 0;
        if (v.value_type == BSON_TYPE_INT32 || v.value_type == BSON_TYPE_INT64) {
            r = expr_as_int64(&v);
        } else if (v.value_type == BSON_TYPE_BOOL) {
            r = v.value.v_bool;
        } else if (v.value_type == BSON_TYPE_DECIMAL128 &&
                   docstore_dec_to_int64(v.value.v_decimal128, &r)) {
            /* truncated exactly; the range check below decides for int */
        } else if (v.value_type == BSON_TYPE_DOUBLE || v.value_type == BSON_TYPE_DECIMAL128) {
            double d = expr_as_double(&v);
            if (isnan(d) || isinf(d)) {
                rc = expr_fail(ctx, CONVERSION_FAILURE,
                               "Attempt to convert %s value to integer type in $convert with no "
                               "onError value",
                               isnan(d) ? "NaN" : "infinity");
                goto out;
            }
            if (d < (double)lo || d >= -(double)lo) {
                rc = expr_fail(ctx, CONVERSION_FAILURE,
                               "Conversion would overflow target type in $convert with no "
                               "onError value: %g",
                               d);
                goto out;
            }
            r = (int64_t)trunc(d);
        } else if (v.value_type == BSON_TYPE_DATE_TIME && !to_int) {
            r = v.value.v_datetime;
        } else if (v.value_type == BSON_TYPE_UTF8) {
            if (parse_integer(ctx, v.value.v_utf8.str, &r) != 0) {
                rc = -1;
                goto out;
            }
        } else {
            rc = unsupported(ctx, &v, to_int ? "int" : "long");
            goto out;
        }
        if (r < lo || r > hi) {
            rc = expr_fail(ctx, CONVERSION_FAILURE,
                           "Conversion would overflow target type in $convert with no onError "
                           "value: %lld",
                           (long long)r);
            goto out;
        }
        if (to_int) {
            out->value_type = BSON_TYPE_INT32;
            out->value.v_int32 = (int32_t)r;
        } else {
            out->value_type = BSON_TYPE_INT64;
            out->value.v_int64 = r;
        }
    }
out:
    return rc;
}

/* $toString $toInt $toLong $toDouble $toDecimal $toBool $toDate $toObjectId */
int expr_op_to_type(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out)
{
    bson_value_t v;
    if (expr_eval(ctx, e->args[0], &v) != 0)
        return -1;
    int rc = 0;
    if (expr_is_nullish(&v))
        expr_set_null(out);
    else
        rc = convert_to(ctx, &v, e->name, out);
    bson_value_destroy(&v);
    return rc;
}

/* $convert {input, to, onError, onNull}: args in that order. */
int expr_op_convert(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out)
{
    static const struct {
        const char *name;
        int code;
        const char *op;
    } targets[] = {
        {"double", 1, "$toDouble"}, {"string", 2, "$toString"},    {"objectId", 7, "$toObjectId"},
        {"bool", 8, "$toBool"},     {"date", 9, "$toDate"},        {"int", 16, "$toInt"},
        {"long", 18, "$toLong"},    {"decimal", 19, "$toDecimal"},
    };
    bson_value_t in, to;
    if (expr_eval(ctx, e->args[0], &in) != 0)
        return -1;
    if (expr_eval(ctx, e->args[1], &to) != 0) {
        bson_value_destroy(&in);
        return -1;
    }
    const char *op = NULL;
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
        if ((to.value_type == BSON_TYPE_UTF8 && strcmp(to.value.v_utf8.str, targets[i].name) == 0) ||
            (expr_is_number(&to) && expr_as_double(&to) == targets[i].code))
            op = targets[i].op;
    }
    int rc = 0;
    if (op == NULL) {
        rc = expr_is_nullish(&to) ? (expr_set_null(out), 0)
                                  : expr_fail(ctx, DOCSTORE_NOT_IMPLEMENTED,
                                              "$convert to this type is not supported by the "
                                              "docstore");
    } else if (expr_is_nullish(&in)) {
        if (e->args[3] != NULL)
            rc = expr_eval(ctx, e->args[3], out);
        else
            expr_set_null(out);
    } else if (convert_to(ctx, &in, op, out) != 0) {
        if (e->args[2] != NULL && ctx->err != NULL && ctx->err->code == CONVERSION_FAILURE) {
            docstore_error_clear(ctx->err);
            bson_value_destroy(out);
            rc = expr_eval(ctx, e->args[2], out);
        } else {
            rc = -1;
        }
    }
    bson_value_destroy(&in);
    bson_value_destroy(&to);
    return rc;
}

/* --- dates ------------------------------------------------------------------- */

int expr_op_date_part(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out)
{
    bson_value_t *v = expr_eval_vals(ctx, e);
    if (v == NULL)
        return -1;
    int rc = 0;
    int64_t ms = 0;
    if (e->n > 1 && !expr_is_nullish(&v[1])) {
        const char *tz = v[1].value_type == BSON_TYPE_UTF8 ? v[1].value.v_utf8.str : "";
        if (strcmp(tz, "UTC") != 0 && strcmp(tz, "GMT") != 0 && strcmp(tz, "Z") != 0 &&
            strcmp(tz, "Etc/UTC") != 0 && strcmp(tz, "+00:00") != 0 &&
            strcmp(tz, "+0000") != 0 && strcmp(tz, "+00") != 0) {
            rc = expr_fail(ctx, DOCSTORE_NOT_IMPLEMENTED,
                           "%s: the docstore supports only the UTC timezone", e->name);
            goto out;
        }
    }
    if (expr_is_nullish(&v[0]) || (e->n > 1 && v[1].value_type == BSON_TYPE_NULL)) {
        expr_set_null(out);
        goto out;
    }
    if (v[0].value_type == BSON_TYPE_DATE_TIME)
        ms = v[0].value.v_datetime;
    else if (v[0].value_type == BSON_TYPE_TIMESTAMP)
        ms = (int64_t)v[0].value.v_timestamp.timestamp * 1000;
    else if (v[0].value_type == BSON_TYPE_OID)
        ms = (int64_t)bson_oid_get_time_t(&v[0].value.v_oid) * 1000;
    else {
        rc = expr_fail(ctx, DOCSTORE_LOCATION_16006, "can't convert from BSON type %s to Date",
                       expr_type_name(&v[0]));
        goto out;
    }
    int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    time_t t = (time_t)secs;
    struct tm tm;
    gmtime_r(&t, &tm);
    const char *n = e->name;
    int r;
    if (strcmp(n, "$year") == 0)
        r = tm.tm_year + 1900;
    else if (strcmp(n, "$month") == 0)
        r = tm.tm_mon + 1;
    else if (strcmp(n, "$dayOfMonth") == 0)
        r = tm.tm_mday;
    else if (strcmp(n, "$hour") == 0)
        r = tm.tm_hour;
    else if (strcmp(n, "$minute") == 0)
        r = tm.tm_min;
    else if (strcmp(n, "$second") == 0)
        r = tm.tm_sec;
    else if (strcmp(n, "$millisecond") == 0)
        r = (int)(ms - secs * 1000);
    else if (strcmp(n, "$dayOfWeek") == 0)
        r = tm.tm_wday + 1;
    else
        r = tm.tm_yday + 1;
    expr_set_int(out, r, true);
out:
    expr_vals_free(v, e->n);
    return rc;
}

/* Whether tz names UTC: absent, null, "UTC", "GMT", "Z", "+00:00"... */
static int check_utc(expr_ctx_t *ctx, const char *op, const bson_value_t *tz)
{
    if (expr_is_nullish(tz))
        return 0;
    const char *s = tz->value_type == BSON_TYPE_UTF8 ? tz->value.v_utf8.str : "";
    static const char *const utc[] = {"UTC", "GMT", "Z", "Etc/UTC", "Etc/GMT", "+00:00",
                                      "+0000", "+00", "-00:00"};
    for (size_t i = 0; i < sizeof utc / sizeof utc[0]; i++) {
        if (strcmp(s, utc[i]) == 0)
            return 0;
    }
    return expr_fail(ctx, DOCSTORE_NOT_IMPLEMENTED,
                     "%s: the docstore supports only the UTC timezone", op);
}

/* $dateToString {date, format, timezone, onNull}, UTC only. */
int expr_op_date_to_string(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out)
{
    bson_value_t *v = expr_eval_vals(ctx, e);
    if (v == NULL)
        return -1;
    int rc = check_utc(ctx, e->name, &v[2]);
    const char *fmt = "%Y-%m-%dT%H:%M:%S.%LZ";
    bson_value_t date;
    if (rc != 0)
        goto out;
    if (e->args[1] != NULL) {
        if (v[1].value_type != BSON_TYPE_UTF8) {
            rc = expr_fail(ctx, DOCSTORE_LOCATION_18533,
                           "$dateToString requires that 'format' be a string, "
                           "found: %s",
                           expr_type_name(&v[1]));
            goto out;
        }
        fmt = v[1].value.v_utf8.str;
    }
    if (expr_is_nullish(&v[0])) {
        if (e->args[3] != NULL)
            bson_value_copy(&v[3], out);
        else
            expr_set_null(out);
        goto out;
    }
    if (v[0].value_type != BSON_TYPE_DATE_TIME && v[0].value_type != BSON_TYPE_TIMESTAMP &&
        v[0].value_type != BSON_TYPE_OID) {
        rc = expr_fail(ctx, DOCSTORE_LOCATION_16006, "can't convert from BSON type %s to Date",
                       expr_type_name(&v[0]));
        goto out;
    }
    if (to_date(ctx, &v[0], &date) != 0) {
        rc = -1;
        goto out;
    }
    int64_t ms = date.value.v_datetime;
    int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    int millis = (int)(ms - secs * 1000);
    time_t t = (time_t)secs;
    struct tm tm;
    gmtime_r(&t, &tm);
    char buf[512];
    size_t at = 0;
    for (const char *p = fmt; *p && at < sizeof buf - 16; p++) {
        if (*p != '%') {
            buf[at++] = *p;
            continue;
        }
        p++;
        int n;
        switch (*p) {
        case 'Y': n = snprintf(buf + at, 16, "%04d", tm.tm_year + 1900); break;
        case 'm': n = snprintf(buf + at, 16, "%02d", tm.tm_mon + 1); break;
        case 'd': n = snprintf(buf + at, 16, "%02d", tm.tm_mday); break;
        case 'H': n = snprintf(buf + at, 16, "%02d", tm.tm_hour); break;
        case 'M': n = snprintf(buf + at, 16, "%02d", tm.tm_min); break;
        case 'S': n = snprintf(buf + at, 16, "%02d", tm.tm_sec); break;
        case 'L': n = snprintf(buf + at, 16, "%03d", millis); break;
        case 'j': n = snprintf(buf + at, 16, "%03d", tm.tm_yday + 1); break;
        case 'w': n = snprintf(buf + at, 16, "%d", tm.tm_wday + 1); break;
        case 'u': n = snprintf(buf + at, 16, "%d", tm.tm_wday == 0 ? 7 : tm.tm_wday); break;
        case 'z': n = snprintf(buf + at, 16, "+0000"); break;
        case 'Z': n = snprintf(buf + at, 16, "0"); break;
        case '%': n = snprintf(buf + at, 16, "%%"); break;
        default:
            rc = expr_fail(ctx, DOCSTORE_LOCATION_18536,
                           "Invalid format character '%%%c' in format string", *p ? *p : ' ');
            goto out;
        }
        at += (size_t)n;
    }
    expr_set_utf8(out, buf, at);
out:
    expr_vals_free(v, e->n);
    return rc;
}
