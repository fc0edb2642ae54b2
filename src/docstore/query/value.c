/*
 * BSON values in MongoDB's order (see value.h). Everything the matcher, sort,
 * update and aggregation engines compare goes through docstore_value_compare,
 * so it must never allocate: documents and arrays are walked in place.
 *
 * Numbers compare exactly across int32/int64/double (an int64 beyond 2^53 is
 * not rounded through a double); NaN sorts below every other number and equals
 * itself, as MongoDB orders it. decimal128 compares exactly with every
 * numeric type (query/decimal.c, mongod's algorithm).
 */
#include "docstore/query/value.h"

#include "docstore/base/decimal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* MongoDB's canonical type order (BSONType canonicalizeBSONType). */
int docstore_type_rank(bson_type_t t)
{
    switch (t) {
    case BSON_TYPE_MINKEY:
        return 0;
    case BSON_TYPE_EOD:
    case BSON_TYPE_UNDEFINED:
    case BSON_TYPE_NULL:
        return 5;
    case BSON_TYPE_DOUBLE:
    case BSON_TYPE_INT32:
    case BSON_TYPE_INT64:
    case BSON_TYPE_DECIMAL128:
        return 10;
    case BSON_TYPE_UTF8:
    case BSON_TYPE_SYMBOL:
        return 15;
    case BSON_TYPE_DOCUMENT:
        return 20;
    case BSON_TYPE_ARRAY:
        return 25;
    case BSON_TYPE_BINARY:
        return 30;
    case BSON_TYPE_OID:
        return 35;
    case BSON_TYPE_BOOL:
        return 40;
    case BSON_TYPE_DATE_TIME:
        return 45;
    case BSON_TYPE_TIMESTAMP:
        return 47;
    case BSON_TYPE_REGEX:
        return 50;
    case BSON_TYPE_DBPOINTER:
        return 55;
    case BSON_TYPE_CODE:
        return 60;
    case BSON_TYPE_CODEWSCOPE:
        return 65;
    case BSON_TYPE_MAXKEY:
        return 127;
    }
    return 127;
}

static int cmp_int64(int64_t a, int64_t b)
{
    return a < b ? -1 : (a > b ? 1 : 0);
}

/* NaN equals NaN and sorts below every number. */
static int cmp_double(double a, double b)
{
    if (isnan(a))
        return isnan(b) ? 0 : -1;
    if (isnan(b))
        return 1;
    return a < b ? -1 : (a > b ? 1 : 0);
}

/* Exact comparison of an int64 with a double (no rounding of the int64). */
static int cmp_int64_double(int64_t l, double d)
{
    if (isnan(d))
        return 1;
    if (d >= 9223372036854775808.0) /* 2^63: above every int64 */
        return -1;
    if (d < -9223372036854775808.0)
        return 1;
    double t = trunc(d);
    int64_t ti = (int64_t)t; /* exact: t is integral and in range */
    if (l != ti)
        return l < ti ? -1 : 1;
    double frac = d - t; /* exact for doubles */
    return frac > 0 ? -1 : (frac < 0 ? 1 : 0);
}

static int cmp_numbers(const bson_value_t *a, const bson_value_t *b)
{
    bson_type_t ta = a->value_type, tb = b->value_type;
    if (ta == BSON_TYPE_DECIMAL128 || tb == BSON_TYPE_DECIMAL128) {
        const bson_value_t *d = ta == BSON_TYPE_DECIMAL128 ? a : b, *o = d == a ? b : a;
        int sign = d == a ? 1 : -1, c;
        if (o->value_type == BSON_TYPE_DECIMAL128)
            c = docstore_dec_compare(d->value.v_decimal128, o->value.v_decimal128);
        else if (o->value_type == BSON_TYPE_DOUBLE)
            c = docstore_dec_compare_double(d->value.v_decimal128, o->value.v_double);
        else
            c = docstore_dec_compare_int64(d->value.v_decimal128, o->value_type == BSON_TYPE_INT32
                                                                      ? o->value.v_int32
                                                                      : o->value.v_int64);
        return sign * c;
    }
    if (ta == BSON_TYPE_DOUBLE && tb == BSON_TYPE_DOUBLE)
        return cmp_double(a->value.v_double, b->value.v_double);
    if (ta == BSON_TYPE_DOUBLE) {
        int64_t l = tb == BSON_TYPE_INT32 ? b->value.v_int32 : b->value.v_int64;
        return -cmp_int64_double(l, a->value.v_double);
    }
    if (tb == BSON_TYPE_DOUBLE) {
        int64_t l = ta == BSON_TYPE_INT32 ? a->value.v_int32 : a->value.v_int64;
        return cmp_int64_double(l, b->value.v_double);
    }
    int64_t la = ta == BSON_TYPE_INT32 ? a->value.v_int32 : a->value.v_int64;
    int64_t lb = tb == BSON_TYPE_INT32 ? b->value.v_int32 : b->value.v_int64;
    return cmp_int64(la, lb);
}

/* Binary comparison, then length (MongoDB's StringData compare). */
static int cmp_bytes(const void *a, size_t alen, const void *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c != 0)
        return c < 0 ? -1 : 1;
    return alen < blen ? -1 : (alen > blen ? 1 : 0);
}

/* Past this nesting, documents compare by their bytes: deeper than MongoDB
 * stores (its limit is 180 levels), and the recursion must stay bounded. */
#define VALUE_MAX_DEPTH 200

static int cmp_raw_docs(const uint8_t *a, uint32_t alen, const uint8_t *b, uint32_t blen, int depth,
                        const docstore_collation_t *coll);

/* coll: the collation strings compare under (NULL: by bytes). */
static int cmp_values(const bson_value_t *a, const bson_value_t *b, int depth,
                      const docstore_collation_t *coll)
{
    int ra = docstore_type_rank(a->value_type), rb = docstore_type_rank(b->value_type);
    if (ra != rb)
        return ra < rb ? -1 : 1;
    switch (a->value_type) {
    case BSON_TYPE_DOUBLE:
    case BSON_TYPE_INT32:
    case BSON_TYPE_INT64:
    case BSON_TYPE_DECIMAL128:
        return cmp_numbers(a, b);
    case BSON_TYPE_UTF8:
    case BSON_TYPE_SYMBOL: {
        const char *sa =
            a->value_type == BSON_TYPE_UTF8 ? a->value.v_utf8.str : a->value.v_symbol.symbol;
        size_t la = a->value_type == BSON_TYPE_UTF8 ? a->value.v_utf8.len : a->value.v_symbol.len;
        const char *sb =
            b->value_type == BSON_TYPE_UTF8 ? b->value.v_utf8.str : b->value.v_symbol.symbol;
        size_t lb = b->value_type == BSON_TYPE_UTF8 ? b->value.v_utf8.len : b->value.v_symbol.len;
        if (coll != NULL && a->value_type == BSON_TYPE_UTF8 && b->value_type == BSON_TYPE_UTF8)
            return docstore_collation_compare(coll, sa, la, sb, lb);
        return cmp_bytes(sa, la, sb, lb);
    }
    case BSON_TYPE_DOCUMENT:
    case BSON_TYPE_ARRAY:
        return cmp_raw_docs(a->value.v_doc.data, a->value.v_doc.data_len, b->value.v_doc.data,
                            b->value.v_doc.data_len, depth + 1, coll);
    case BSON_TYPE_BINARY: {
        uint32_t la = a->value.v_binary.data_len, lb = b->value.v_binary.data_len;
        if (la != lb)
            return la < lb ? -1 : 1;
        if (a->value.v_binary.subtype != b->value.v_binary.subtype)
            return a->value.v_binary.subtype < b->value.v_binary.subtype ? -1 : 1;
        return cmp_bytes(a->value.v_binary.data, la, b->value.v_binary.data, lb);
    }
    case BSON_TYPE_OID:
        return cmp_bytes(a->value.v_oid.bytes, 12, b->value.v_oid.bytes, 12);
    case BSON_TYPE_BOOL:
        return (int)a->value.v_bool - (int)b->value.v_bool;
    case BSON_TYPE_DATE_TIME:
        return cmp_int64(a->value.v_datetime, b->value.v_datetime);
    case BSON_TYPE_TIMESTAMP: {
        uint64_t ta =
            ((uint64_t)a->value.v_timestamp.timestamp << 32) | a->value.v_timestamp.increment;
        uint64_t tb =
            ((uint64_t)b->value.v_timestamp.timestamp << 32) | b->value.v_timestamp.increment;
        return ta < tb ? -1 : (ta > tb ? 1 : 0);
    }
    case BSON_TYPE_REGEX: {
        int c = strcmp(a->value.v_regex.regex, b->value.v_regex.regex);
        if (c != 0)
            return c < 0 ? -1 : 1;
        c = strcmp(a->value.v_regex.options ? a->value.v_regex.options : "",
                   b->value.v_regex.options ? b->value.v_regex.options : "");
        return c < 0 ? -1 : (c > 0 ? 1 : 0);
    }
    case BSON_TYPE_DBPOINTER: {
        int c = cmp_bytes(a->value.v_dbpointer.collection, a->value.v_dbpointer.collection_len,
                          b->value.v_dbpointer.collection, b->value.v_dbpointer.collection_len);
        if (c != 0)
            return c;
        return cmp_bytes(a->value.v_dbpointer.oid.bytes, 12, b->value.v_dbpointer.oid.bytes, 12);
    }
    case BSON_TYPE_CODE:
        return cmp_bytes(a->value.v_code.code, a->value.v_code.code_len, b->value.v_code.code,
                         b->value.v_code.code_len);
    case BSON_TYPE_CODEWSCOPE: {
        int c = cmp_bytes(a->value.v_codewscope.code, a->value.v_codewscope.code_len,
                          b->value.v_codewscope.code, b->value.v_codewscope.code_len);
        if (c != 0)
            return c;
        return cmp_raw_docs(a->value.v_codewscope.scope_data, a->value.v_codewscope.scope_len,
                            b->value.v_codewscope.scope_data, b->value.v_codewscope.scope_len,
                            depth + 1, coll);
    }
    default: /* MinKey, MaxKey, null, undefined, missing: one value each */
        return 0;
    }
}

/* Element by element: type rank, then field name, then value (BSONObj::woCompare). */
static int cmp_raw_docs(const uint8_t *a, uint32_t alen, const uint8_t *b, uint32_t blen, int depth,
                        const docstore_collation_t *coll)
{
    bson_iter_t ia, ib;
    if (depth > VALUE_MAX_DEPTH || !bson_iter_init_from_data(&ia, a, alen) ||
        !bson_iter_init_from_data(&ib, b, blen))
        return cmp_bytes(a, alen, b, blen);
    for (;;) {
        bool ma = bson_iter_next(&ia), mb = bson_iter_next(&ib);
        if (!ma || !mb)
            return ma == mb ? 0 : (ma ? 1 : -1);
        int ra = docstore_type_rank(bson_iter_type(&ia)),
            rb = docstore_type_rank(bson_iter_type(&ib));
        if (ra != rb)
            return ra < rb ? -1 : 1;
        int c = strcmp(bson_iter_key(&ia), bson_iter_key(&ib));
        if (c != 0)
            return c < 0 ? -1 : 1;
        c = cmp_values(bson_iter_value(&ia), bson_iter_value(&ib), depth, coll);
        if (c != 0)
            return c;
    }
}

int docstore_value_compare(const bson_value_t *a, const bson_value_t *b)
{
    return cmp_values(a, b, 0, NULL);
}

int docstore_value_compare_coll(const bson_value_t *a, const bson_value_t *b,
                                const docstore_collation_t *coll)
{
    return cmp_values(a, b, 0, coll);
}

bool docstore_value_equal(const bson_value_t *a, const bson_value_t *b)
{
    return cmp_values(a, b, 0, NULL) == 0;
}

int docstore_doc_compare(const bson_t *a, const bson_t *b)
{
    return cmp_raw_docs(bson_get_data(a), a->len, bson_get_data(b), b->len, 0, NULL);
}

int docstore_path_part_index(const char *s, int len)
{
    if (len == 0 || len > 9 || (len > 1 && s[0] == '0'))
        return -1;
    int v = 0;
    for (int i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

bool docstore_path_get(const bson_t *doc, const char *path, bson_iter_t *out)
{
    bson_iter_t it;
    if (!bson_iter_init(&it, doc))
        return false;
    const char *p = path;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (!bson_iter_find_w_len(&it, p, (int)n))
            return false;
        if (dot == NULL) {
            *out = it;
            return true;
        }
        bson_type_t t = bson_iter_type(&it);
        if (t != BSON_TYPE_DOCUMENT && t != BSON_TYPE_ARRAY)
            return false;
        bson_iter_t child;
        if (!bson_iter_recurse(&it, &child))
            return false;
        it = child;
        p = dot + 1;
    }
}

void docstore_sum_add(docstore_sum_t *s, const bson_value_t *v, double x)
{
    if (v->value_type == BSON_TYPE_DECIMAL128) {
        if (!s->has_dec)
            s->dec = docstore_dec_from_int64(0); /* mongod's decimalTotal starts at 0E0 */
        s->has_dec = true;
        s->dec = docstore_dec_add(s->dec, v->value.v_decimal128);
        return;
    }
    int k = v->value_type == BSON_TYPE_INT32 ? 0 : v->value_type == BSON_TYPE_INT64 ? 1 : 2;
    if (s->kind < 2 && k < 2) {
        int64_t n = v->value_type == BSON_TYPE_INT32 ? v->value.v_int32 : v->value.v_int64, r;
        if (!__builtin_add_overflow(s->i, n, &r)) {
            s->i = r;
            if (k > s->kind)
                s->kind = k;
            if (s->kind == 0 && (r < INT32_MIN || r > INT32_MAX))
                s->kind = 1;
            return;
        }
    }
    if (s->kind < 2) {
        s->d = (double)s->i;
        s->kind = 2;
    }
    s->d += x;
}

/* mongod: decimalTotal + nonDecimalTotal.getDecimal() (a double total at
 * 34 digits). */
static docstore_dec_t sum_decimal(const docstore_sum_t *s)
{
    docstore_dec_t rest =
        s->kind == 2 ? docstore_dec_from_double(s->d, false) : docstore_dec_from_int64(s->i);
    return docstore_dec_add(s->dec, rest);
}

void docstore_sum_result(const docstore_sum_t *s, bson_value_t *out)
{
    memset(out, 0, sizeof *out);
    if (s->has_dec) {
        docstore_dec_set(out, sum_decimal(s));
    } else if (s->kind == 2) {
        out->value_type = BSON_TYPE_DOUBLE;
        out->value.v_double = s->d;
    } else if (s->kind == 1) {
        out->value_type = BSON_TYPE_INT64;
        out->value.v_int64 = s->i;
    } else {
        out->value_type = BSON_TYPE_INT32;
        out->value.v_int32 = (int32_t)s->i;
    }
}

void docstore_sum_avg(const docstore_sum_t *s, int64_t count, bson_value_t *out)
{
    memset(out, 0, sizeof *out);
    if (s->has_dec) {
        docstore_dec_set(out, docstore_dec_div(sum_decimal(s), docstore_dec_from_int64(count)));
    } else {
        out->value_type = BSON_TYPE_DOUBLE;
        out->value.v_double = (s->kind == 2 ? s->d : (double)s->i) / (double)count;
    }
}

bool docstore_value_as_double(const bson_value_t *v, double *out)
{
    switch (v->value_type) {
    case BSON_TYPE_INT32:
        *out = v->value.v_int32;
        return true;
    case BSON_TYPE_INT64:
        *out = (double)v->value.v_int64;
        return true;
    case BSON_TYPE_DOUBLE:
        *out = v->value.v_double;
        return true;
    case BSON_TYPE_DECIMAL128:
        *out = docstore_dec_to_double(v->value.v_decimal128);
        return true;
    default:
        return false;
    }
}

const char *docstore_type_name(bson_type_t t)
{
    switch (t) {
    case BSON_TYPE_EOD:
        return "missing";
    case BSON_TYPE_DOUBLE:
        return "double";
    case BSON_TYPE_UTF8:
        return "string";
    case BSON_TYPE_DOCUMENT:
        return "object";
    case BSON_TYPE_ARRAY:
        return "array";
    case BSON_TYPE_BINARY:
        return "binData";
    case BSON_TYPE_UNDEFINED:
        return "undefined";
    case BSON_TYPE_OID:
        return "objectId";
    case BSON_TYPE_BOOL:
        return "bool";
    case BSON_TYPE_DATE_TIME:
        return "date";
    case BSON_TYPE_NULL:
        return "null";
    case BSON_TYPE_REGEX:
        return "regex";
    case BSON_TYPE_DBPOINTER:
        return "dbPointer";
    case BSON_TYPE_CODE:
        return "javascript";
    case BSON_TYPE_SYMBOL:
        return "symbol";
    case BSON_TYPE_CODEWSCOPE:
        return "javascriptWithScope";
    case BSON_TYPE_INT32:
        return "int";
    case BSON_TYPE_TIMESTAMP:
        return "timestamp";
    case BSON_TYPE_INT64:
        return "long";
    case BSON_TYPE_DECIMAL128:
        return "decimal";
    case BSON_TYPE_MAXKEY:
        return "maxKey";
    case BSON_TYPE_MINKEY:
        return "minKey";
    }
    return "unknown";
}
