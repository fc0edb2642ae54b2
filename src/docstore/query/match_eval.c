/*
 * Evaluating a compiled filter (match_internal.h) against one document, with
 * MongoDB's path semantics:
 *  - a path component over an embedded document descends into it;
 *  - over an array, it descends into every element that is a document and,
 *    when the component is a number, into the element at that index as well;
 *    scalar elements and nested arrays contribute nothing;
 *  - a path that ends on an array tests every element and then the array
 *    itself (except $size and $elemMatch, which test only the array);
 *  - a path that stops at a scalar or a missing field tests "missing", which
 *    equals null.
 * Nothing here allocates; the hot path is one iterator walk per predicate.
 */
#include "docstore/query/match_internal.h"
#include "docstore/query/regex.h"
#include "docstore/query/value.h"

#include <math.h>
#include <string.h>

static const bson_value_t missing_value = {.value_type = BSON_TYPE_EOD};

static bool is_nullish(bson_type_t t)
{
    return t == BSON_TYPE_NULL || t == BSON_TYPE_UNDEFINED || t == BSON_TYPE_EOD;
}

static bool is_number(bson_type_t t)
{
    return t == BSON_TYPE_INT32 || t == BSON_TYPE_INT64 || t == BSON_TYPE_DOUBLE ||
           t == BSON_TYPE_DECIMAL128;
}

static bool number_is_nan(const bson_value_t *v)
{
    double d;
    if (v->value_type == BSON_TYPE_DOUBLE)
        return isnan(v->value.v_double);
    if (v->value_type == BSON_TYPE_DECIMAL128)
        return docstore_value_as_double(v, &d) && isnan(d);
    return false;
}

/* A comparison operator on one value, with MongoDB's type bracketing. */
static bool compare_test(enum mnode_kind kind, const bson_value_t *v, const bson_value_t *rhs,
                         const docstore_collation_t *coll)
{
    bson_type_t vt = v->value_type, rt = rhs->value_type;
    int rv = docstore_type_rank(vt), rr = docstore_type_rank(rt);
    if (rv != rr) {
        if (rt != BSON_TYPE_MINKEY && rt != BSON_TYPE_MAXKEY)
            return false;
        if (kind == MN_LT || kind == MN_LTE)
            return rv < rr;
        if (kind == MN_GT || kind == MN_GTE)
            return rv > rr;
        return false;
    }
    if (is_number(vt) && (number_is_nan(v) || number_is_nan(rhs))) {
        /* NaN equals NaN and is neither less nor greater than anything */
        bool both = number_is_nan(v) && number_is_nan(rhs);
        return (kind == MN_EQ || kind == MN_LTE || kind == MN_GTE) && both;
    }
    int c = docstore_value_compare_coll(v, rhs, coll);
    switch (kind) {
    case MN_EQ:
        return c == 0;
    case MN_LT:
        return c < 0;
    case MN_LTE:
        return c <= 0;
    case MN_GT:
        return c > 0;
    case MN_GTE:
        return c >= 0;
    default:
        return false;
    }
}

static bool eq_test(const bson_value_t *v, const bson_value_t *rhs,
                    const docstore_collation_t *coll)
{
    if (is_nullish(rhs->value_type))
        return is_nullish(v->value_type);
    return compare_test(MN_EQ, v, rhs, coll);
}

static bool regex_test(const mnode_t *n, const bson_value_t *v)
{
    const char *s;
    size_t len;
    if (v->value_type == BSON_TYPE_UTF8) {
        s = v->value.v_utf8.str;
        len = v->value.v_utf8.len;
    } else if (v->value_type == BSON_TYPE_SYMBOL) {
        s = v->value.v_symbol.symbol;
        len = v->value.v_symbol.len;
    } else if (v->value_type == BSON_TYPE_REGEX) {
        const char *opts = v->value.v_regex.options ? v->value.v_regex.options : "";
        return strcmp(v->value.v_regex.regex, n->re_pattern) == 0 && strcmp(opts, n->re_flags) == 0;
    } else {
        return false;
    }
    int rc = docstore_regex_match(n->re, s, len, 0, n->md);
    if (rc < 0 && rc != PCRE2_ERROR_NOMATCH && n->regex_rc != NULL && *n->regex_rc == 0)
        *n->regex_rc = rc; /* not an answer: docstore_matcher_status reports it */
    return rc >= 0;
}

static bool type_test(const mnode_t *n, const bson_value_t *v)
{
    bson_type_t t = v->value_type;
    if (t == BSON_TYPE_EOD)
        return false;
    if (n->any_number && is_number(t))
        return true;
    unsigned b = (unsigned)t & 0xff;
    return (n->types[b >> 5] >> (b & 31)) & 1u;
}

static int64_t number_as_int64(const bson_value_t *v)
{
    double d;
    switch (v->value_type) {
    case BSON_TYPE_INT32:
        return v->value.v_int32;
    case BSON_TYPE_INT64:
        return v->value.v_int64;
    default:
        if (!docstore_value_as_double(v, &d) || isnan(d))
            return 0;
        if (d >= 9223372036854775807.0)
            return INT64_MAX;
        if (d <= -9223372036854775808.0)
            return INT64_MIN;
        return (int64_t)d;
    }
}

static bool mod_test(const mnode_t *n, const bson_value_t *v)
{
    if (!is_number(v->value_type))
        return false;
    double d;
    if (docstore_value_as_double(v, &d) && !isfinite(d))
        return false;
    int64_t x = number_as_int64(v);
    if (n->divisor == -1)
        return n->remainder == 0;
    return x % n->divisor == n->remainder;
}

static uint32_t count_elements(const bson_value_t *v)
{
    bson_iter_t it;
    uint32_t c = 0;
    if (!bson_iter_init_from_data(&it, v->value.v_doc.data, v->value.v_doc.data_len))
        return 0;
    while (bson_iter_next(&it))
        c++;
    return c;
}

static bool value_test(const mnode_t *n, const bson_value_t *v, const bson_t *root, int32_t *pos);

/* All kids (value tests) pass on v. */
static bool all_kids_pass(const mnode_t *n, const bson_value_t *v, const bson_t *root)
{
    for (size_t i = 0; i < n->nkids; i++)
        if (!value_test(n->kids[i], v, root, NULL))
            return false;
    return true;
}

static bool elemmatch_test(const mnode_t *n, const bson_value_t *v, const bson_t *root,
                           int32_t *pos)
{
    if (v->value_type != BSON_TYPE_ARRAY)
        return false;
    bson_iter_t it;
    if (!bson_iter_init_from_data(&it, v->value.v_doc.data, v->value.v_doc.data_len))
        return false;
    for (int32_t k = 0; bson_iter_next(&it); k++) {
        const bson_value_t *e = bson_iter_value(&it);
        bool ok;
        if (n->kind == MN_ELEMMATCH_OBJ) {
            if (e->value_type != BSON_TYPE_DOCUMENT && e->value_type != BSON_TYPE_ARRAY)
                continue;
            ok = docstore_match_node(n->kids[0], e->value.v_doc.data, e->value.v_doc.data_len, root,
                                     NULL);
        } else {
            ok = all_kids_pass(n, e, root);
        }
        if (ok) {
            if (pos != NULL)
                *pos = k;
            return true;
        }
    }
    return false;
}

static bool value_test(const mnode_t *n, const bson_value_t *v, const bson_t *root, int32_t *pos)
{
    switch (n->kind) {
    case MN_EQ:
        return eq_test(v, &n->operand, n->coll);
    case MN_LT:
    case MN_LTE:
    case MN_GT:
    case MN_GTE:
        return compare_test(n->kind, v, &n->operand, n->coll);
    case MN_IN: {
        /* in_vals is sorted by docstore_value_compare, whose 0 is eq_test's
         * equality (null = undefined = missing, NaN = NaN, 1 = 1.0) */
        size_t lo = 0, hi = n->nin;
        for (size_t i = 0; n->coll != NULL && i < n->nin; i++) {
            /* sorted by bytes, not by the collation: a linear pass */
            if (docstore_value_compare_coll(v, &n->in_vals[i], n->coll) == 0)
                return true;
        }
        if (n->coll != NULL)
            lo = hi; /* the binary search below is for bytes */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            int c = docstore_value_compare(v, &n->in_vals[mid]);
            if (c == 0)
                return true;
            if (c < 0)
                hi = mid;
            else
                lo = mid + 1;
        }
        for (size_t i = 0; i < n->nkids; i++)
            if (regex_test(n->kids[i], v))
                return true;
        return false;
    }
    case MN_REGEX:
        return regex_test(n, v);
    case MN_EXISTS:
        return v->value_type != BSON_TYPE_EOD;
    case MN_TYPE:
        return type_test(n, v);
    case MN_SIZE:
        return v->value_type == BSON_TYPE_ARRAY && (int64_t)count_elements(v) == n->size;
    case MN_MOD:
        return mod_test(n, v);
    case MN_ELEMMATCH_OBJ:
    case MN_ELEMMATCH_VAL:
        return elemmatch_test(n, v, root, pos);
    case MN_VNOT:
        return !all_kids_pass(n, v, root);
    default:
        return false;
    }
}

static bool walk_value(const mnode_t *n, const bson_value_t *v, size_t i, bool by_index,
                       const bson_t *root, int32_t *pos);

/* Looks up parts[i] in the document (data, len) and walks on from there. */
static bool walk_doc(const mnode_t *n, const uint8_t *data, uint32_t len, size_t i,
                     const bson_t *root, int32_t *pos)
{
    bson_iter_t it;
    if (!bson_iter_init_from_data(&it, data, len) ||
        !bson_iter_find_w_len(&it, n->parts[i], n->part_len[i]))
        return value_test(n->kids[0], &missing_value, root, pos);
    return walk_value(n, bson_iter_value(&it), i + 1, false, root, pos);
}

/* v is the value reached by parts[0 .. i-1]; by_index when the last of them
 * was an array index (an array found that way is one value: {"a.0": 42} does
 * not match {a: [[42]]}, as MongoDB's match_numeric_components test shows). */
static bool walk_value(const mnode_t *n, const bson_value_t *v, size_t i, bool by_index,
                       const bson_t *root, int32_t *pos)
{
    const mnode_t *test = n->kids[0];
    bson_iter_t it;
    if (i == n->nparts) {
        if (v->value_type == BSON_TYPE_ARRAY && n->expand_leaf && !by_index &&
            bson_iter_init_from_data(&it, v->value.v_doc.data, v->value.v_doc.data_len)) {
            for (int32_t k = 0; bson_iter_next(&it); k++) {
                if (value_test(test, bson_iter_value(&it), root, NULL)) {
                    if (pos != NULL)
                        *pos = k;
                    return true;
                }
            }
        }
        return value_test(test, v, root, pos);
    }
    if (v->value_type == BSON_TYPE_DOCUMENT)
        return walk_doc(n, v->value.v_doc.data, v->value.v_doc.data_len, i, root, pos);
    if (v->value_type != BSON_TYPE_ARRAY)
        return value_test(test, &missing_value, root, pos);
    if (!bson_iter_init_from_data(&it, v->value.v_doc.data, v->value.v_doc.data_len))
        return false;
    int index = n->part_index[i];
    for (int32_t k = 0; bson_iter_next(&it); k++) {
        const bson_value_t *e = bson_iter_value(&it);
        bool ok = false;
        if (k == index)
            ok = walk_value(n, e, i + 1, true, root, pos);
        if (!ok && e->value_type == BSON_TYPE_DOCUMENT)
            ok = walk_doc(n, e->value.v_doc.data, e->value.v_doc.data_len, i, root, pos);
        if (ok) {
            if (pos != NULL)
                *pos = k; /* the outermost array traversed wins */
            return true;
        }
    }
    return false;
}

static bool expr_test(const mnode_t *n, const bson_t *root)
{
    bson_value_t out;
    docstore_error_t err = {0};
    /* $expr compares under the filter's collation, as MongoDB does. */
    const docstore_collation_t *prev = docstore_expr_set_collation(n->coll);
    int rc = root == NULL ? -1 : docstore_expr_eval(n->expr, root, NULL, &out, &err);
    docstore_expr_set_collation(prev);
    if (rc != 0) {
        docstore_error_clear(&err);
        return false;
    }
    bool t = docstore_value_truthy(&out);
    bson_value_destroy(&out);
    return t;
}

bool docstore_match_node(const mnode_t *n, const uint8_t *data, uint32_t len, const bson_t *root,
                         int32_t *pos)
{
    switch (n->kind) {
    case MN_AND:
        for (size_t i = 0; i < n->nkids; i++) {
            int32_t p = -1;
            if (!docstore_match_node(n->kids[i], data, len, root, pos ? &p : NULL))
                return false;
            if (pos != NULL && *pos < 0)
                *pos = p;
        }
        return true;
    case MN_OR:
        for (size_t i = 0; i < n->nkids; i++)
            if (docstore_match_node(n->kids[i], data, len, root, pos))
                return true;
        return false;
    case MN_NOR:
        for (size_t i = 0; i < n->nkids; i++)
            if (docstore_match_node(n->kids[i], data, len, root, NULL))
                return false;
        return true;
    case MN_NOT:
        return !docstore_match_node(n->kids[0], data, len, root, NULL);
    case MN_PATH:
        return walk_doc(n, data, len, 0, root, pos);
    case MN_EXPR:
        return expr_test(n, root);
    case MN_TRUE:
        return true;
    case MN_FALSE:
        return false;
    default:
        return false;
    }
}

bool docstore_match_node_vars(const mnode_t *n, const bson_t *root, const bson_t *vars,
                              int32_t *pos)
{
    bson_value_t out;
    docstore_error_t err = {0};
    switch (n->kind) {
    case MN_AND:
        for (size_t i = 0; i < n->nkids; i++) {
            int32_t p = -1;
            if (!docstore_match_node_vars(n->kids[i], root, vars, pos ? &p : NULL))
                return false;
            if (pos != NULL && *pos < 0)
                *pos = p;
        }
        return true;
    case MN_OR:
        for (size_t i = 0; i < n->nkids; i++)
            if (docstore_match_node_vars(n->kids[i], root, vars, pos))
                return true;
        return false;
    case MN_NOR:
        for (size_t i = 0; i < n->nkids; i++)
            if (docstore_match_node_vars(n->kids[i], root, vars, NULL))
                return false;
        return true;
    case MN_EXPR: {
        const docstore_collation_t *prev = docstore_expr_set_collation(n->coll);
        int rc = docstore_expr_eval(n->expr, root, vars, &out, &err);
        docstore_expr_set_collation(prev);
        if (rc != 0) {
            docstore_error_clear(&err);
            return false;
        }
        bool t = docstore_value_truthy(&out);
        bson_value_destroy(&out);
        return t;
    }
    default:
        return docstore_match_node(n, bson_get_data(root), root->len, root, pos);
    }
}
