/*
 * Order-preserving key encoding and index key sets; see keyenc.h.
 *
 * Layout of one value: a bracket byte (docstore_key_rank) then a payload that
 * sorts within the bracket:
 *   number     8 bytes: the nearest double D, sign-flipped so memcmp orders
 *              it (NaN lowest, -0 as 0), then 8 bytes: what D could not hold,
 *              trunc((v - D) / ulp(D) * 2^62) with ulp(D) = 2^(exponent of D
 *              - 53), 0 for doubles; so int64s beyond 2^53 and decimal128s
 *              order exactly and equal numbers of any type (1, 1.0,
 *              NumberLong(1), NumberDecimal("1.0")) encode alike
 *   string     bytes with 0x00 escaped as 0x00 0xff, ended by 0x00 0x00; under
 *              a collation (docstore_key_coll_t) the string's ICU sort key
 *              instead of its bytes, escaped alike, so memcmp is the
 *              collator's order and strings equal under it key alike
 *   document   per element: bracket, escaped name, payload; then 0x00
 *   array      per element: bracket, payload; then 0x00
 *   binData    4-byte length, subtype, bytes (MongoDB orders by length first)
 *   ObjectId   12 bytes; bool 1 byte; date 8 bytes signed; timestamp 8 bytes
 *   regex      escaped pattern, escaped flags
 * Why 2^62 steps of ulp(D) suffice for decimal128: two different decimals
 * of at most 34 digits near D differ by at least 10^-34 of their size, which
 * is more than two steps, so truncation keeps them apart and in order; a
 * decimal that is not exactly D but lies within one step of it gets +-1.
 * The remainder is computed exactly with a small bignum (decimal_residual).
 * Only decimals beyond the range of doubles (above 1.8e308 or below
 * 4.9e-324 in magnitude) share keys: each side's with one another.
 */
#include "docstore/storage/keyenc.h"

#include "docstore/base/decimal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define KEY_MAX_DEPTH 100

uint8_t docstore_key_rank(bson_type_t t)
{
    switch (t) {
    case BSON_TYPE_MINKEY:
        return DOCSTORE_KEY_MINKEY;
    case BSON_TYPE_EOD:
    case BSON_TYPE_NULL:
    case BSON_TYPE_UNDEFINED:
        return DOCSTORE_KEY_NULL;
    case BSON_TYPE_DOUBLE:
    case BSON_TYPE_INT32:
    case BSON_TYPE_INT64:
    case BSON_TYPE_DECIMAL128:
        return DOCSTORE_KEY_NUMBER;
    case BSON_TYPE_UTF8:
    case BSON_TYPE_SYMBOL:
        return DOCSTORE_KEY_STRING;
    case BSON_TYPE_DOCUMENT:
        return DOCSTORE_KEY_OBJECT;
    case BSON_TYPE_ARRAY:
        return DOCSTORE_KEY_ARRAY;
    case BSON_TYPE_BINARY:
        return DOCSTORE_KEY_BINARY;
    case BSON_TYPE_OID:
        return DOCSTORE_KEY_OID;
    case BSON_TYPE_BOOL:
        return DOCSTORE_KEY_BOOL;
    case BSON_TYPE_DATE_TIME:
        return DOCSTORE_KEY_DATE;
    case BSON_TYPE_TIMESTAMP:
        return DOCSTORE_KEY_TIMESTAMP;
    case BSON_TYPE_REGEX:
        return DOCSTORE_KEY_REGEX;
    case BSON_TYPE_DBPOINTER:
        return DOCSTORE_KEY_DBPOINTER;
    case BSON_TYPE_CODE:
        return DOCSTORE_KEY_CODE;
    case BSON_TYPE_CODEWSCOPE:
        return DOCSTORE_KEY_CODEWSCOPE;
    case BSON_TYPE_MAXKEY:
        return DOCSTORE_KEY_MAXKEY;
    }
    return DOCSTORE_KEY_MAXKEY;
}

static int put(buf_t *b, const void *p, size_t n)
{
    return buf_append(b, p, n) == 0 ? 0 : -1;
}

static int put_byte(buf_t *b, uint8_t c)
{
    return put(b, &c, 1);
}

static int put_u64(buf_t *b, uint64_t v)
{
    uint8_t o[8];
    for (int i = 7; i >= 0; i--) {
        o[i] = (uint8_t)(v & 0xff);
        v >>= 8;
    }
    return put(b, o, 8);
}

static int put_u32(buf_t *b, uint32_t v)
{
    uint8_t o[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    return put(b, o, 4);
}

/* Escaped bytes then the 0x00 0x00 terminator: prefix-free and memcmp-ordered. */
static int put_escaped(buf_t *b, const char *s, size_t n)
{
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\0') {
            static const uint8_t esc[2] = {0x00, 0xff};
            if (put(b, s + start, i - start) || put(b, esc, 2))
                return -1;
            start = i + 1;
        }
    }
    static const uint8_t end[2] = {0x00, 0x00};
    if (put(b, s + start, n - start) || put(b, end, 2))
        return -1;
    return 0;
}

static uint64_t double_bits_sortable(double d)
{
    if (isnan(d))
        return 0;
    if (d == 0)
        d = 0; /* -0 keys as 0 */
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    if (bits >> 63)
        return ~bits;
    return bits | (UINT64_C(1) << 63);
}

static int put_number(buf_t *b, double d, int64_t rem)
{
    if (put_u64(b, double_bits_sortable(d)))
        return -1;
    return put_u64(b, (uint64_t)rem ^ (UINT64_C(1) << 63));
}

/* D = m * 2^k with m an integer of at most 53 bits: k is the exponent of
 * ulp(D), which scales the remainder (2^-1074 for subnormals). */
static int ulp_exponent(double d)
{
    int x;
    (void)frexp(d, &x);
    return x - 53 < -1074 ? -1074 : x - 53;
}

static int put_int64(buf_t *b, int64_t x)
{
    double d = (double)x;
    int64_t rem;
    if (d >= 9223372036854775808.0)
        rem = (x - INT64_MAX) - 1; /* d is 2^63, one past INT64_MAX */
    else
        rem = x - (int64_t)d;
    if (rem != 0) {
        /* |rem| <= ulp/2 and ulp = 2^k with 1 <= k <= 10 here: exact. */
        int k = ulp_exponent(d);
        rem *= (int64_t)1 << (62 - k);
    }
    return put_number(b, d, rem);
}

/* ---- exact decimal remainders: a bignum just big enough ---- */

#define BIG_LIMBS 72 /* 2304 bits; the largest operand below is ~1,300 */

typedef struct big {
    uint32_t w[BIG_LIMBS]; /* little-endian limbs */
    int n;                 /* limbs in use */
    bool over;             /* a result did not fit: the caller falls back */
} big_t;

static void big_set(big_t *a, uint64_t hi, uint64_t lo)
{
    memset(a, 0, sizeof *a);
    uint32_t parts[4] = {(uint32_t)lo, (uint32_t)(lo >> 32), (uint32_t)hi, (uint32_t)(hi >> 32)};
    for (int i = 0; i < 4; i++)
        a->w[i] = parts[i];
    a->n = 4;
    while (a->n > 0 && a->w[a->n - 1] == 0)
        a->n--;
}

static void big_mul_small(big_t *a, uint32_t m)
{
    uint64_t carry = 0;
    for (int i = 0; i < a->n; i++) {
        uint64_t t = (uint64_t)a->w[i] * m + carry;
        a->w[i] = (uint32_t)t;
        carry = t >> 32;
    }
    if (carry) {
        if (a->n == BIG_LIMBS) {
            a->over = true;
            return;
        }
        a->w[a->n++] = (uint32_t)carry;
    }
}

static void big_mul_pow5(big_t *a, int p)
{
    for (; p >= 13; p -= 13)
        big_mul_small(a, 1220703125u); /* 5^13 */
    uint32_t m = 1;
    for (; p > 0; p--)
        m *= 5;
    big_mul_small(a, m);
}

static void big_shl(big_t *a, int bits)
{
    int limbs = bits / 32, r = bits % 32;
    if (a->n == 0)
        return;
    if (a->n + limbs + 1 > BIG_LIMBS) {
        a->over = true;
        return;
    }
    for (int i = a->n - 1 + limbs + 1; i >= 0; i--) {
        int src = i - limbs;
        uint64_t hi = src >= 0 && src < a->n ? a->w[src] : 0;
        uint64_t lo = src - 1 >= 0 && src - 1 < a->n ? a->w[src - 1] : 0;
        a->w[i] = r ? (uint32_t)((hi << r) | (lo >> (32 - r))) : (uint32_t)hi;
    }
    a->n += limbs + 1;
    while (a->n > 0 && a->w[a->n - 1] == 0)
        a->n--;
}

static void big_shr(big_t *a, int bits)
{
    int limbs = bits / 32, r = bits % 32;
    if (limbs >= a->n) {
        a->n = 0;
        return;
    }
    for (int i = 0; i < a->n - limbs; i++) {
        uint64_t lo = a->w[i + limbs];
        uint64_t hi = i + limbs + 1 < a->n ? a->w[i + limbs + 1] : 0;
        a->w[i] = r ? (uint32_t)((lo >> r) | (hi << (32 - r))) : (uint32_t)lo;
    }
    a->n -= limbs;
    while (a->n > 0 && a->w[a->n - 1] == 0)
        a->n--;
}

static int big_cmp(const big_t *a, const big_t *b)
{
    if (a->n != b->n)
        return a->n < b->n ? -1 : 1;
    for (int i = a->n - 1; i >= 0; i--) {
        if (a->w[i] != b->w[i])
            return a->w[i] < b->w[i] ? -1 : 1;
    }
    return 0;
}

/* a -= b, with a >= b. */
static void big_sub(big_t *a, const big_t *b)
{
    int64_t borrow = 0;
    for (int i = 0; i < a->n; i++) {
        int64_t t = (int64_t)a->w[i] - (i < b->n ? b->w[i] : 0) - borrow;
        borrow = t < 0;
        a->w[i] = (uint32_t)(t + (borrow ? ((int64_t)1 << 32) : 0));
    }
    while (a->n > 0 && a->w[a->n - 1] == 0)
        a->n--;
}

static void big_div_small(big_t *a, uint32_t d)
{
    uint64_t rem = 0;
    for (int i = a->n - 1; i >= 0; i--) {
        uint64_t cur = (rem << 32) | a->w[i];
        a->w[i] = (uint32_t)(cur / d);
        rem = cur % d;
    }
    while (a->n > 0 && a->w[a->n - 1] == 0)
        a->n--;
}

static void big_div_pow5(big_t *a, int p)
{
    for (; p >= 13; p -= 13)
        big_div_small(a, 1220703125u);
    uint32_t m = 1;
    for (; p > 0; p--)
        m *= 5;
    big_div_small(a, m);
}

/* trunc((|v| - |D|) * 2^(62 - k)) for |v| = c * 10^e, |D| = m * 2^k, as a
 * signed value; |v - D| <= ulp(D)/2 bounds it by 2^61. false if the bignum
 * overflowed (it cannot for decimals inside double's range). */
static bool decimal_residual(uint64_t chi, uint64_t clo, int e, uint64_t m, int k, int64_t *out)
{
    int p5 = e < 0 ? -e : 0, e5 = e > 0 ? e : 0;
    int a = e + 62 - k, q = a < 0 ? -a : 0;
    big_t n1, n2; /* ~600 bytes, in a leaf call */
    big_set(&n1, chi, clo);
    big_mul_pow5(&n1, e5);
    big_shl(&n1, a + q);
    big_set(&n2, 0, m);
    big_mul_pow5(&n2, p5);
    big_shl(&n2, 62 + q);
    if (n1.over || n2.over)
        return false;
    int sign = big_cmp(&n1, &n2);
    if (sign == 0) {
        *out = 0;
        return true;
    }
    big_t *hi = sign > 0 ? &n1 : &n2, *lo = sign > 0 ? &n2 : &n1;
    big_sub(hi, lo);
    big_shr(hi, q);
    big_div_pow5(hi, p5);
    if (hi->n > 2)
        return false;
    uint64_t mag = hi->n == 0 ? 0 : (hi->n == 1 ? hi->w[0] : ((uint64_t)hi->w[1] << 32) | hi->w[0]);
    if (mag > (UINT64_C(1) << 62))
        return false;
    if (mag == 0)
        mag = 1; /* not exactly D, but within one step of it */
    *out = sign > 0 ? (int64_t)mag : -(int64_t)mag;
    return true;
}

static int put_decimal(buf_t *b, docstore_dec_t dec)
{
    bool neg;
    uint64_t chi, clo;
    int e;
    if (!docstore_dec_parts(dec, &neg, &chi, &clo, &e)) /* NaN, infinities */
        return put_number(b, docstore_dec_to_double(dec), 0);
    if (chi == 0 && clo == 0)
        return put_number(b, 0, 0);
    double d = docstore_dec_to_double(dec);
    if (isinf(d)) /* beyond DBL_MAX: just inside the infinity */
        return put_number(b, d, neg ? 1 : -1);
    if (d == 0) /* below the smallest subnormal: just outside zero */
        return put_number(b, 0, neg ? -1 : 1);
    int k = ulp_exponent(d);
    uint64_t m = (uint64_t)ldexp(fabs(d), -k);
    int64_t r;
    if (!decimal_residual(chi, clo, e, m, k, &r))
        r = 0;
    return put_number(b, d, neg ? -r : r);
}

static int put_payload(buf_t *b, const bson_value_t *v, int depth, const docstore_key_coll_t *kc);

/* A string under a collation: its sort key, escaped like a string (ICU's
 * keys hold no 0x00 but their end, which is not written). */
static int put_collated(buf_t *b, const char *s, size_t n, const docstore_key_coll_t *kc)
{
    buf_t sk;
    buf_init(&sk, DOCSTORE_KEY_MAX);
    int rc = kc->sort_key(kc->coll, s, n, &sk);
    if (rc == 0)
        rc = put_escaped(b, sk.data ? sk.data : "", sk.len);
    buf_free(&sk);
    return rc;
}

/* The elements of a document (with names) or array (without), then END. */
static int put_container(buf_t *b, const uint8_t *data, uint32_t len, bool names, int depth,
                         const docstore_key_coll_t *kc)
{
    if (depth > KEY_MAX_DEPTH)
        return -1;
    bson_t doc;
    bson_iter_t it;
    if (!bson_init_static(&doc, data, len) || !bson_iter_init(&it, &doc))
        return -1;
    while (bson_iter_next(&it)) {
        const bson_value_t *ev = bson_iter_value(&it);
        if (put_byte(b, docstore_key_rank(ev->value_type)))
            return -1;
        if (names && put_escaped(b, bson_iter_key(&it), bson_iter_key_len(&it)))
            return -1;
        if (put_payload(b, ev, depth + 1, kc))
            return -1;
    }
    return put_byte(b, DOCSTORE_KEY_END);
}

static int put_payload(buf_t *b, const bson_value_t *v, int depth, const docstore_key_coll_t *kc)
{
    switch (v->value_type) {
    case BSON_TYPE_EOD:
    case BSON_TYPE_NULL:
    case BSON_TYPE_UNDEFINED:
    case BSON_TYPE_MINKEY:
    case BSON_TYPE_MAXKEY:
        return 0;
    case BSON_TYPE_DOUBLE:
        return put_number(b, v->value.v_double, 0);
    case BSON_TYPE_INT32:
        return put_number(b, (double)v->value.v_int32, 0);
    case BSON_TYPE_INT64:
        return put_int64(b, v->value.v_int64);
    case BSON_TYPE_DECIMAL128:
        return put_decimal(b, v->value.v_decimal128);
    case BSON_TYPE_UTF8:
        if (kc != NULL)
            return put_collated(b, v->value.v_utf8.str, v->value.v_utf8.len, kc);
        return put_escaped(b, v->value.v_utf8.str, v->value.v_utf8.len);
    case BSON_TYPE_SYMBOL:
        if (kc != NULL)
            return put_collated(b, v->value.v_symbol.symbol, v->value.v_symbol.len, kc);
        return put_escaped(b, v->value.v_symbol.symbol, v->value.v_symbol.len);
    case BSON_TYPE_DOCUMENT:
        return put_container(b, v->value.v_doc.data, v->value.v_doc.data_len, true, depth, kc);
    case BSON_TYPE_ARRAY:
        return put_container(b, v->value.v_doc.data, v->value.v_doc.data_len, false, depth, kc);
    case BSON_TYPE_BINARY:
        if (put_u32(b, v->value.v_binary.data_len) ||
            put_byte(b, (uint8_t)v->value.v_binary.subtype))
            return -1;
        return put(b, v->value.v_binary.data, v->value.v_binary.data_len);
    case BSON_TYPE_OID:
        return put(b, v->value.v_oid.bytes, 12);
    case BSON_TYPE_BOOL:
        return put_byte(b, v->value.v_bool ? 1 : 0);
    case BSON_TYPE_DATE_TIME:
        return put_u64(b, (uint64_t)v->value.v_datetime ^ (UINT64_C(1) << 63));
    case BSON_TYPE_TIMESTAMP:
        return put_u64(b, ((uint64_t)v->value.v_timestamp.timestamp << 32) |
                              v->value.v_timestamp.increment);
    case BSON_TYPE_REGEX: {
        const char *re = v->value.v_regex.regex ? v->value.v_regex.regex : "";
        const char *opt = v->value.v_regex.options ? v->value.v_regex.options : "";
        if (put_escaped(b, re, strlen(re)))
            return -1;
        return put_escaped(b, opt, strlen(opt));
    }
    case BSON_TYPE_DBPOINTER:
        if (put_escaped(b, v->value.v_dbpointer.collection, v->value.v_dbpointer.collection_len))
            return -1;
        return put(b, v->value.v_dbpointer.oid.bytes, 12);
    case BSON_TYPE_CODE:
        return put_escaped(b, v->value.v_code.code, v->value.v_code.code_len);
    case BSON_TYPE_CODEWSCOPE:
        if (put_escaped(b, v->value.v_codewscope.code, v->value.v_codewscope.code_len))
            return -1;
        return put_container(b, v->value.v_codewscope.scope_data, v->value.v_codewscope.scope_len,
                             true, depth, NULL);
    }
    return -1;
}

int docstore_key_append(buf_t *b, const bson_value_t *v, bool descending)
{
    return docstore_key_append_coll(b, v, descending, NULL);
}

int docstore_key_append_coll(buf_t *b, const bson_value_t *v, bool descending,
                             const docstore_key_coll_t *kc)
{
    size_t start = b->len;
    if (put_byte(b, docstore_key_rank(v->value_type)) || put_payload(b, v, 0, kc))
        return -1;
    if (descending) {
        for (size_t i = start; i < b->len; i++)
            b->data[i] = (char)~(uint8_t)b->data[i];
    }
    return 0;
}

bool docstore_key_prefix_end(const uint8_t *key, size_t len, buf_t *out)
{
    buf_reset(out);
    size_t n = len;
    while (n > 0 && key[n - 1] == 0xff)
        n--;
    if (n == 0)
        return false;
    if (buf_append(out, key, n) != 0)
        return false;
    out->data[n - 1] = (char)(uint8_t)(key[n - 1] + 1);
    return true;
}

/* ---- index key sets ---- */

typedef struct valvec {
    bson_value_t *v; /* borrowed values */
    size_t n, cap;
} valvec_t;

static int valvec_push(valvec_t *vv, const bson_value_t *v)
{
    if (vv->n == vv->cap) {
        size_t cap = vv->cap ? vv->cap * 2 : 4;
        bson_value_t *p = realloc(vv->v, cap * sizeof *p);
        if (p == NULL)
            return -1;
        vv->v = p;
        vv->cap = cap;
    }
    vv->v[vv->n++] = *v;
    return 0;
}

static bool all_digits(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
    }
    return true;
}

static int collect(const bson_value_t *container, const char *path, valvec_t *out, bool *multikey,
                   int depth);

/* The values of path inside one array element; a null when it gives none, as
 * MongoDB keys an element lacking the field. */
static int collect_element(const bson_value_t *elem, const char *path, valvec_t *out,
                           bool *multikey, int depth)
{
    size_t before = out->n;
    if (elem->value_type == BSON_TYPE_DOCUMENT &&
        collect(elem, path, out, multikey, depth + 1) != 0)
        return -1;
    if (out->n == before) {
        bson_value_t null = {.value_type = BSON_TYPE_NULL};
        return valvec_push(out, &null);
    }
    return 0;
}

/* Appends the values at path under container (a document), expanding arrays. */
static int collect(const bson_value_t *container, const char *path, valvec_t *out, bool *multikey,
                   int depth)
{
    if (depth > KEY_MAX_DEPTH)
        return -1;
    const char *dot = strchr(path, '.');
    size_t clen = dot ? (size_t)(dot - path) : strlen(path);
    bson_t doc;
    bson_iter_t it;
    if (!bson_init_static(&doc, container->value.v_doc.data, container->value.v_doc.data_len) ||
        !bson_iter_init(&it, &doc))
        return -1;
    bool found = false;
    while (bson_iter_next(&it)) {
        if (bson_iter_key_len(&it) == clen && memcmp(bson_iter_key(&it), path, clen) == 0) {
            found = true;
            break;
        }
    }
    if (!found)
        return 0;
    const bson_value_t *v = bson_iter_value(&it);
    if (dot == NULL) {
        if (v->value_type != BSON_TYPE_ARRAY)
            return valvec_push(out, v);
        *multikey = true;
        bson_t arr;
        bson_iter_t ai;
        if (!bson_init_static(&arr, v->value.v_doc.data, v->value.v_doc.data_len) ||
            !bson_iter_init(&ai, &arr))
            return -1;
        size_t before = out->n;
        while (bson_iter_next(&ai)) {
            if (valvec_push(out, bson_iter_value(&ai)))
                return -1;
        }
        if (out->n == before) {
            bson_value_t undef = {.value_type = BSON_TYPE_UNDEFINED};
            return valvec_push(out, &undef);
        }
        return 0;
    }
    const char *rest = dot + 1;
    if (v->value_type == BSON_TYPE_DOCUMENT)
        return collect(v, rest, out, multikey, depth + 1);
    if (v->value_type != BSON_TYPE_ARRAY)
        return 0;
    *multikey = true;
    /* "a.1.b": the element at index 1 as well as each element's field "1". */
    const char *ndot = strchr(rest, '.');
    size_t nlen = ndot ? (size_t)(ndot - rest) : strlen(rest);
    bson_t arr;
    bson_iter_t ai;
    if (!bson_init_static(&arr, v->value.v_doc.data, v->value.v_doc.data_len) ||
        !bson_iter_init(&ai, &arr))
        return -1;
    if (all_digits(rest, nlen)) {
        char idx[32];
        if (nlen < sizeof idx) {
            memcpy(idx, rest, nlen);
            idx[nlen] = '\0';
            bson_iter_t ei;
            if (bson_iter_init_find(&ei, &arr, idx)) {
                const bson_value_t *ev = bson_iter_value(&ei);
                if (ndot == NULL) {
                    if (valvec_push(out, ev))
                        return -1;
                } else if (ev->value_type == BSON_TYPE_DOCUMENT ||
                           ev->value_type == BSON_TYPE_ARRAY) {
                    bson_value_t as_doc = *ev;
                    as_doc.value_type = BSON_TYPE_DOCUMENT;
                    if (collect(&as_doc, ndot + 1, out, multikey, depth + 1))
                        return -1;
                }
            }
        }
    }
    while (bson_iter_next(&ai)) {
        if (collect_element(bson_iter_value(&ai), rest, out, multikey, depth))
            return -1;
    }
    return 0;
}

typedef struct keyent {
    buf_t key;
    bson_value_t *vals; /* nfields */
} keyent_t;

static int keyent_cmp(const void *a, const void *b)
{
    const keyent_t *x = a, *y = b;
    size_t n = x->key.len < y->key.len ? x->key.len : y->key.len;
    int c = n ? memcmp(x->key.data, y->key.data, n) : 0;
    if (c != 0)
        return c;
    return (x->key.len > y->key.len) - (x->key.len < y->key.len);
}

void docstore_keyset_free(docstore_keyset_t *ks)
{
    for (size_t i = 0; i < ks->n; i++)
        buf_free(&ks->keys[i]);
    free(ks->keys);
    free(ks->values);
    memset(ks, 0, sizeof *ks);
}

int docstore_keyset_build(docstore_keyset_t *ks, const bson_t *doc, const char *const *fields,
                          const bool *descending, size_t nfields, docstore_error_t *err)
{
    return docstore_keyset_build_coll(ks, doc, fields, descending, nfields, NULL, err);
}

int docstore_keyset_build_coll(docstore_keyset_t *ks, const bson_t *doc, const char *const *fields,
                               const bool *descending, size_t nfields,
                               const docstore_key_coll_t *kc, docstore_error_t *err)
{
    memset(ks, 0, sizeof *ks);
    ks->nfields = nfields;
    int rc = -1;
    valvec_t *per = calloc(nfields ? nfields : 1, sizeof *per);
    keyent_t *ents = NULL;
    size_t nents = 0;
    if (per == NULL)
        goto nomem;
    bson_value_t root = {.value_type = BSON_TYPE_DOCUMENT};
    root.value.v_doc.data = (uint8_t *)(uintptr_t)bson_get_data(doc);
    root.value.v_doc.data_len = doc->len;
    size_t multi_field = nfields, total = 1;
    for (size_t f = 0; f < nfields; f++) {
        bool multikey = false;
        if (collect(&root, fields[f], &per[f], &multikey, 0) != 0)
            goto nomem;
        ks->multikey |= multikey;
        if (per[f].n == 0) {
            bson_value_t null = {.value_type = BSON_TYPE_NULL};
            if (valvec_push(&per[f], &null))
                goto nomem;
        }
        if (per[f].n > 1) {
            if (multi_field != nfields) {
                docstore_error_set(err, DOCSTORE_CANNOT_INDEX_PARALLEL_ARRAYS,
                                   "cannot index parallel arrays [%s] [%s]", fields[f],
                                   fields[multi_field]);
                goto out;
            }
            multi_field = f;
        }
        total *= per[f].n;
    }
    ents = calloc(total, sizeof *ents);
    if (ents == NULL)
        goto nomem;
    /* At most one field has several values, so total is that field's count. */
    for (size_t k = 0; k < total; k++) {
        keyent_t *e = &ents[nents++];
        buf_init(&e->key, DOCSTORE_KEY_MAX);
        e->vals = calloc(nfields ? nfields : 1, sizeof *e->vals);
        if (e->vals == NULL)
            goto nomem;
        for (size_t f = 0; f < nfields; f++) {
            const bson_value_t *v = &per[f].v[per[f].n > 1 ? k : 0];
            e->vals[f] = *v;
            if (docstore_key_append_coll(&e->key, v, descending[f], kc) != 0) {
                docstore_error_set(err, DOCSTORE_LOCATION_17280,
                                   "index key too large or too deeply nested");
                goto out;
            }
        }
    }
    qsort(ents, nents, sizeof *ents, keyent_cmp);
    ks->keys = calloc(nents ? nents : 1, sizeof *ks->keys);
    ks->values = calloc((nents ? nents : 1) * (nfields ? nfields : 1), sizeof *ks->values);
    if (ks->keys == NULL || ks->values == NULL)
        goto nomem;
    for (size_t i = 0; i < nents; i++) {
        if (ks->n > 0) {
            keyent_t prev = {.key = ks->keys[ks->n - 1]};
            if (keyent_cmp(&ents[i], &prev) == 0)
                continue;
        }
        ks->keys[ks->n] = ents[i].key;
        buf_init(&ents[i].key, DOCSTORE_KEY_MAX);
        memcpy(&ks->values[ks->n * nfields], ents[i].vals, nfields * sizeof *ks->values);
        ks->n++;
    }
    rc = 0;
    goto out;
nomem:
    docstore_error_set(err, DOCSTORE_INTERNAL_ERROR, "out of memory building index keys");
out:
    for (size_t i = 0; i < nents; i++) {
        buf_free(&ents[i].key);
        free(ents[i].vals);
    }
    free(ents);
    for (size_t f = 0; f < nfields; f++)
        free(per ? per[f].v : NULL);
    free(per);
    if (rc != 0)
        docstore_keyset_free(ks);
    return rc;
}
