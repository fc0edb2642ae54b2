/*
 * Expression operators over lists and objects: $sum/$avg/$min/$max in their
 * expression forms (one array operand, or several operands), $range,
 * $indexOfArray, $indexOfBytes, $objectToArray, $arrayToObject, $reduce
 * (binding $$value and $$this), $allElementsTrue and $anyElementTrue, and
 * the set operators ($setUnion ... $setIsSubset; results keep first-seen
 * order, duplicates removed).
 */
#include "docstore/query/expr_internal.h"
#include "docstore/query/value.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A result array may not outgrow a BSON document. */
#define LIST_MAX_BYTES (16 * 1024 * 1024)

/* Calls fn on each operand value, or on each element when there is a single
 * array operand, as the expression forms of $sum/$avg/$min/$max read them. */
typedef void (*each_fn)(void *st, const bson_value_t *v);

static void for_each_operand(const docstore_expr_t *e, const bson_value_t *vals, each_fn fn,
                             void *st)
{
    if (e->n == 1 && vals[0].value_type == BSON_TYPE_ARRAY) {
        bson_iter_t it;
        if (bson_iter_init_from_data(&it, vals[0].value.v_doc.data, vals[0].value.v_doc.data_len)) {
            while (bson_iter_next(&it))
                fn(st, bson_iter_value(&it));
        }
        return;
    }
    for (size_t i = 0; i < e->n; i++)
        fn(st, &vals[i]);
}

typedef struct sum_state {
    docstore_sum_t sum;       /* $sum/$avg */
    int64_t count;            /* numbers seen */
    const bson_value_t *best; /* $min/$max: borrowed */
    bool want_min;
} sum_state_t;

static void sum_one(void *p, const bson_value_t *v)
{
    sum_state_t *s = p;
    if (!expr_is_number(v))
        return;
    s->count++;
    docstore_sum_add(&s->sum, v, expr_as_double(v));
}

static void minmax_one(void *p, const bson_value_t *v)
{
    sum_state_t *s = p;
    if (expr_is_nullish(v))
        return;
    if (s->best == NULL) {
        s->best = v;
        return;
    }
    int c = docstore_value_compare_coll(v, s->best, docstore_expr_collation());
    if (s->want_min ? c < 0 : c > 0)
        s->best = v;
}

/* $sum $avg $min $max as expressions. Elements borrowed from vals live as
 * long as vals, so $min/$max copy before freeing. */
int expr_op_list_acc(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out)
{
    bson_value_t *vals = expr_eval_vals(ctx, e);
    if (vals == NULL)
        return -1;
    sum_state_t s = {0};
    const char *n = e->name;
    if (strcmp(n, "$min") == 0 || strcmp(n, "$max") == 0) {
        s.want_min = n[2] == 'i';
        /* Array elements are iterator values; copy each candidate as it wins. */
        bson_value_t best = {.value_type = BSON_TYPE_EOD};
        if (e->n == 1 && vals[0].value_type == BSON_TYPE_ARRAY) {
            bson_iter_t it;
            bson_iter_init_from_data(&it, vals[0].value.v_doc.data, vals[0].value.v_doc.data_len);
            while (bson_iter_next(&it)) {
                const bson_value_t *v = bson_iter_value(&it);
                if (expr_is_nullish(v))
                    continue;
                int c = best.value_type == BSON_TYPE_EOD
                            ? -1
                            : docstore_value_compare_coll(v, &best, docstore_expr_collation());
                if (best.value_type == BSON_TYPE_EOD || (s.want_min ? c < 0 : c > 0)) {
                    bson_value_destroy(&best);
                    bson_value_copy(v, &best);
                }
            }
        } else {
            for_each_operand(e, vals, minmax_one, &s);
            if (s.best != NULL)
                bson_value_copy(s.best, &best);
        }
        if (best.value_type == BSON_TYPE_EOD)
            expr_set_null(out);
        else
            *out = best;
        expr_vals_free(vals, e->n);
        return 0;
    }
    for_each_operand(e, vals, sum_one, &s);
    expr_vals_free(vals, e->n);
    if (strcmp(n, "$avg") == 0) {
        if (s.count == 0)
            expr_set_null(out);
        else
            docstore_sum_avg(&s.sum, s.count, out);
    } else {
        docstore_sum_result(&s.sum, out);
    }
    return 0;
}

static bool is_int32(const bson_value_t *v, int64_t *out)
{
    if (!expr_is_number(v))
        return false;
    double d = expr_as_double(v);
    if (d != floor(d) || d < INT32_MIN || d > INT32_MAX)
        return false;
    *out = (int64_t)d;
    return true;
}

int expr_op_range(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out)
{
    bson_value_t *v = expr_eval_vals(ctx, e);
    if (v == NULL)
        return -1;
    int64_t start, end, step = 1;
    int rc = 0;
    if (!is_int32(&v[0], &start))
        rc = expr_fail(ctx, DOCSTORE_LOCATION_34443,
                       "$range requires a starting value that can be represented "
                       "as a 32-bit integer, found value: %s",
                       expr_type_name(&v[0]));
    else if (!is_int32(&v[1], &end))
        rc = expr_fail(ctx, DOCSTORE_LOCATION_34445,
                       "$range requires an ending value that can be represented as "
                       "a 32-bit integer, found value: %s",
                       expr_type_name(&v[1]));
    else if (e->n > 2 && !is_int32(&v[2], &step))
        rc = expr_fail(ctx, DOCSTORE_LOCATION_34447,
                       "$range requires a step value that can be represented as a "
                       "32-bit integer, found value: %s",
                       expr_type_name(&v[2]));
    else if (step == 0)
        rc = expr_fail(ctx, DOCSTORE_LOCATION_34449, "$range requires a non-zero step value");
    if (rc == 0) {
        bson_t arr = BSON_INITIALIZER;
        uint32_t k = 0;
        for (int64_t x = start; step > 0 ? x < end : x > end; x += step) {
            bson_value_t iv = {.value_type = BSON_TYPE_INT32, .value.v_int32 = (int32_t)x};
            expr_append_indexed(&arr, k++, &iv);
            if (arr.len > LIST_MAX_BYTES) {
                rc = expr_fail(ctx, DOCSTORE_LOCATION_5508500, "$range would use too much memory");
                break;
            }
        }
        if (rc == 0)
            expr_take_bson(&arr, BSON_TYPE_ARRAY, out);
        else
            bson_destroy(&arr);
    }
    expr_vals_free(v, e->n);
    return rc;
}

/* Optional [start, end) bounds of $indexOfArray / $indexOfBytes. */
static int index_bounds(expr_ctx_t *ctx, const docstore_expr_t *e, const bson_value_t *v,
                        int64_t len, int64_t *from, int64_t *to)
{
    *from = 0;
    *to = len;
    for (size_t i = 2; i < e->n; i++) {
        int64_t x;
        if (!is_int32(&v[i], &x) || x < 0)
            return expr_fail(ctx, DOCSTORE_LOCATION_40097,
                             "%s requires a non-negative integral index value, found %s", e->name,
                             expr_type_name(&v[i]));
        if (i == 2)
            *from = x;
        else if (x < *to)
            *to = x;
    }
    return 0;
}

int expr_op_index_of_array(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out)
{
    bson_value_t *v = expr_eval_vals(ctx, e);
    if (v == NULL)
        return -1;
    int rc = 0;
    if (expr_is_nullish(&v[0])) {
        expr_set_null(out);
    } else if (v[0].value_type != BSON_TYPE_ARRAY) {
        rc = expr_fail(ctx, DOCSTORE_LOCATION_40090,
                       "$indexOfArray requires an array as a first argument, found: %s",
                       expr_type_name(&v[0]));
    } else {
        int64_t from, to, found = -1, i = 0;
        rc = index_bounds(ctx, e, v, (int64_t)expr_array_len(&v[0]), &from, &to);
        bson_iter_t it;
        bson_iter_init_from_data(&it, v[0].value.v_doc.data, v[0].value.v_doc.data_len);
        while (rc == 0 && found < 0 && bson_iter_next(&it) && i < to) {
            if (i >= from && expr_compare(bson_iter_value(&it), &v[1]) == 0)
                found = i;
            i++;
        }
        if (rc == 0)
            expr_set_int(out, found, true);
    }
    expr_vals_free(v, e->n);
    return rc;
}

int expr_op_index_of_bytes(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out)
{
    bson_value_t *v = expr_eval_vals(ctx, e);
    if (v == NULL)
        return -1;
    int rc = 0;
    if (expr_is_nullish(&v[0])) {
        expr_set_null(out);
    } else if (v[0].value_type != BSON_TYPE_UTF8) {
        rc = expr_fail(ctx, DOCSTORE_LOCATION_40091,
                       "$indexOfBytes requires a string as the first argument, found: %s",
                       expr_type_name(&v[0]));
    } else if (v[1].value_type != BSON_TYPE_UTF8) {
        rc = expr_fail(ctx, DOCSTORE_LOCATION_40092,
                       "$indexOfBytes requires a string as the second argument, found: %s",
                       expr_type_name(&v[1]));
    } else {
        int64_t from, to, found = -1;
        int64_t len = v[0].value.v_utf8.len, sub = v[1].value.v_utf8.len;
        rc = index_bounds(ctx, e, v, len, &from, &to);
        for (int64_t i = from; rc == 0 && found < 0 && i + sub <= to; i++) {
            if (memcmp(v[0].value.v_utf8.str + i, v[1].value.v_utf8.str, (size_t)sub) == 0)
                found = i;
        }
        if (rc == 0)
            expr_set_int(out, found, true);
    }
    expr_vals_free(v, e->n);
    return rc;
}

int expr_op_object_to_array(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out)
{
    bson_value_t v;
    if (expr_eval(ctx, e->args[0], &v) != 0)
        return -1;
    int rc = 0;
    if (expr_is_nullish(&v)) {
        expr_set_null(out);
    } else if (v.value_type != BSON_TYPE_DOCUMENT) {
        rc = expr_fail(ctx, DOCSTORE_LOCATION_40390,
                       "$objectToArray requires a document input, found: %s", expr_type_name(&v));
    } else {
        bson_t arr = BSON_INITIALIZER;
        bson_iter_t it;
        uint32_t k = 0;
        bson_iter_init_from_data(&it, v.value.v_doc.data, v.value.v_doc.data_len);
        while (bson_iter_next(&it)) {
            bson_t kv = BSON_INITIALIZER;
            BSON_APPEND_UTF8(&kv, "k", bson_iter_key(&it));
            BSON_APPEND_VALUE(&kv, "v", bson_iter_value(&it));
            bson_value_t kvv;
            expr_take_bson(&kv, BSON_TYPE_DOCUMENT, &kvv);
            expr_append_indexed(&arr, k++, &kvv);
            bson_value_destroy(&kvv);
        }
        expr_take_bson(&arr, BSON_TYPE_ARRAY, out);
    }
    bson_value_destroy(&v);
    return rc;
}

int expr_op_array_to_object(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out)
{
    bson_value_t v;
    if (expr_eval(ctx, e->args[0], &v) != 0)
        return -1;
    int rc = 0;
    if (expr_is_nullish(&v)) {
        expr_set_null(out);
        bson_value_destroy(&v);
        return 0;
    }
    if (v.value_type != BSON_TYPE_ARRAY) {
        rc = expr_fail(ctx, DOCSTORE_LOCATION_40386,
                       "$arrayToObject requires an array input, found: %s", expr_type_name(&v));
        bson_value_destroy(&v);
        return rc;
    }
    bson_t doc = BSON_INITIALIZER;
    bson_iter_t it;
    bson_iter_init_from_data(&it, v.value.v_doc.data, v.value.v_doc.data_len);
    while (rc == 0 && bson_iter_next(&it)) {
        const bson_value_t *el = bson_iter_value(&it);
        bson_iter_t f;
        const bson_value_t *key = NULL, *val = NULL;
        bson_value_t kc = {0}, vc = {0};
        if (el->value_type == BSON_TYPE_ARRAY && bson_iter_recurse(&it, &f)) {
            if (bson_iter_next(&f)) {
                bson_value_copy(bson_iter_value(&f), &kc);
                key = &kc;
                if (bson_iter_next(&f)) {
                    bson_value_copy(bson_iter_value(&f), &vc);
                    val = &vc;
                    if (bson_iter_next(&f))
                        val = NULL;
                }
            }
        } else if (el->value_type == BSON_TYPE_DOCUMENT && bson_iter_recurse(&it, &f)) {
            while (bson_iter_next(&f)) {
                if (strcmp(bson_iter_key(&f), "k") == 0 && key == NULL) {
                    bson_value_copy(bson_iter_value(&f), &kc);
                    key = &kc;
                } else if (strcmp(bson_iter_key(&f), "v") == 0 && val == NULL) {
                    bson_value_copy(bson_iter_value(&f), &vc);
                    val = &vc;
                }
            }
        }
        if (key == NULL || val == NULL || key->value_type != BSON_TYPE_UTF8 ||
            strlen(key->value.v_utf8.str) != key->value.v_utf8.len ||
            !bson_utf8_validate(key->value.v_utf8.str, key->value.v_utf8.len, false))
            rc = expr_fail(ctx, DOCSTORE_LOCATION_40398,
                           "$arrayToObject requires each element to be a [k, v] pair or a {k, v} "
                           "document with a string k");
        else if (strchr(key->value.v_utf8.str, '.') != NULL || key->value.v_utf8.str[0] == '$')
            rc = expr_fail(ctx, DOCSTORE_LOCATION_4940400,
                           "$arrayToObject found a key with '.' or starting with '$': %.100s",
                           key->value.v_utf8.str);
        else {
            /* A repeated key keeps its first position and takes the last value. */
            bson_iter_t dup;
            if (bson_iter_init_find(&dup, &doc, key->value.v_utf8.str)) {
                bson_t copy = BSON_INITIALIZER;
                bson_iter_t di;
                bson_iter_init(&di, &doc);
                while (bson_iter_next(&di)) {
                    bool same = strcmp(bson_iter_key(&di), key->value.v_utf8.str) == 0;
                    bson_append_value(&copy, bson_iter_key(&di), -1,
                                      same ? val : bson_iter_value(&di));
                }
                bson_destroy(&doc);
                bson_copy_to(&copy, &doc);
                bson_destroy(&copy);
            } else {
                bson_append_value(&doc, key->value.v_utf8.str, -1, val);
            }
        }
        bson_value_destroy(&kc);
        bson_value_destroy(&vc);
    }
    bson_value_destroy(&v);
    if (rc == 0)
        expr_take_bson(&doc, BSON_TYPE_DOCUMENT, out);
    else
        bson_destroy(&doc);
    return rc;
}

/* $reduce {input, initialValue, in}: args in that order. */
int expr_op_reduce(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out)
{
    bson_value_t input, acc;
    if (expr_eval(ctx, e->args[0], &input) != 0)
        return -1;
    if (expr_is_nullish(&input)) {
        bson_value_destroy(&input);
        expr_set_null(out);
        return 0;
    }
    if (input.value_type != BSON_TYPE_ARRAY) {
        int rc = expr_fail(ctx, DOCSTORE_LOCATION_40080,
                           "$reduce requires that 'input' be an array, found: %s",
                           expr_type_name(&input));
        bson_value_destroy(&input);
        return rc;
    }
    if (expr_eval(ctx, e->args[1], &acc) != 0) {
        bson_value_destroy(&input);
        return -1;
    }
    expr_local_t value = {.name = "value", .value = &acc, .next = ctx->locals};
    expr_local_t self = {.name = "this", .next = &value};
    bson_iter_t it;
    int rc = 0;
    bson_iter_init_from_data(&it, input.value.v_doc.data, input.value.v_doc.data_len);
    ctx->locals = &self;
    while (rc == 0 && bson_iter_next(&it)) {
        self.value = bson_iter_value(&it);
        bson_value_t next;
        rc = expr_eval(ctx, e->args[2], &next);
        if (rc == 0) {
            bson_value_destroy(&acc);
            acc = next;
            if (acc.value_type == BSON_TYPE_DOCUMENT || acc.value_type == BSON_TYPE_ARRAY) {
                if (acc.value.v_doc.data_len > LIST_MAX_BYTES)
                    rc = expr_fail(ctx, DOCSTORE_BSON_OBJECT_TOO_LARGE, "$reduce value too large");
            }
        }
    }
    ctx->locals = value.next;
    bson_value_destroy(&input);
    if (rc != 0) {
        bson_value_destroy(&acc);
        return -1;
    }
    *out = acc;
    return 0;
}

/* $allElementsTrue / $anyElementTrue: [array]. */
int expr_op_elements_true(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out)
{
    bool all = strcmp(e->name, "$allElementsTrue") == 0;
    bson_value_t v;
    if (expr_eval(ctx, e->args[0], &v) != 0)
        return -1;
    int rc = 0;
    if (v.value_type != BSON_TYPE_ARRAY) {
        rc = expr_fail(ctx, all ? DOCSTORE_LOCATION_17040 : DOCSTORE_LOCATION_17041,
                       "%s's argument must be an array, but is %s", e->name, expr_type_name(&v));
    } else {
        bool result = all;
        bson_iter_t it;
        bson_iter_init_from_data(&it, v.value.v_doc.data, v.value.v_doc.data_len);
        while (bson_iter_next(&it)) {
            bool t = docstore_value_truthy(bson_iter_value(&it));
            if (all && !t) {
                result = false;
                break;
            }
            if (!all && t) {
                result = true;
                break;
            }
        }
        expr_set_bool(out, result);
    }
    bson_value_destroy(&v);
    return rc;
}

/* Distinct values, first-seen order; values borrowed from the operands. */
typedef struct vset {
    bson_value_t *own; /* shallow copies of iterator values, kept alive here */
    size_t n, cap;
} vset_t;

static bool vset_has(const vset_t *s, const bson_value_t *v)
{
    for (size_t i = 0; i < s->n; i++) {
        if (docstore_value_compare_coll(&s->own[i], v, docstore_expr_collation()) == 0)
            return true;
    }
    return false;
}

static bool vset_add(vset_t *s, const bson_value_t *v)
{
    if (vset_has(s, v))
        return true;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        bson_value_t *p = realloc(s->own, cap * sizeof *p);
        if (p == NULL)
            return false;
        s->own = p;
        s->cap = cap;
    }
    s->own[s->n++] = *v;
    return true;
}

static bool vset_of(vset_t *s, const bson_value_t *arr)
{
    bson_iter_t it;
    if (!bson_iter_init_from_data(&it, arr->value.v_doc.data, arr->value.v_doc.data_len))
        return false;
    while (bson_iter_next(&it)) {
        if (!vset_add(s, bson_iter_value(&it)))
            return false;
    }
    return true;
}

int expr_op_set(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out)
{
    const char *n = e->name;
    bool predicate = strcmp(n, "$setEquals") == 0 || strcmp(n, "$setIsSubset") == 0;
    bson_value_t *v = expr_eval_vals(ctx, e);
    if (v == NULL)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < e->n && rc == 0; i++) {
        if (expr_is_nullish(&v[i]) && !predicate) {
            expr_set_null(out);
            expr_vals_free(v, e->n);
            return 0;
        }
        if (v[i].value_type != BSON_TYPE_ARRAY)
            rc = expr_fail(ctx, DOCSTORE_LOCATION_17044,
                           "All operands of %s must be arrays. One argument is of type: %s", n,
                           expr_type_name(&v[i]));
    }
    vset_t acc = {0}, other = {0};
    bool ok = true, result = true;
    if (rc == 0 && e->n > 0)
        ok = vset_of(&acc, &v[0]);
    for (size_t i = 1; rc == 0 && ok && i < e->n; i++) {
        other.n = 0;
        ok = vset_of(&other, &v[i]);
        if (strcmp(n, "$setUnion") == 0) {
            for (size_t k = 0; ok && k < other.n; k++)
                ok = vset_add(&acc, &other.own[k]);
        } else if (strcmp(n, "$setIntersection") == 0 || strcmp(n, "$setDifference") == 0) {
            bool keep_common = n[4] == 'I';
            size_t w = 0;
            for (size_t k = 0; k < acc.n; k++) {
                if (vset_has(&other, &acc.own[k]) == keep_common)
                    acc.own[w++] = acc.own[k];
            }
            acc.n = w;
        } else {
            /* $setIsSubset: acc within other; $setEquals: same members. */
            for (size_t k = 0; k < acc.n && result; k++)
                result = vset_has(&other, &acc.own[k]);
            if (strcmp(n, "$setEquals") == 0)
                result = result && other.n == acc.n;
        }
    }
    if (rc == 0 && !ok)
        rc = expr_fail(ctx, DOCSTORE_INTERNAL_ERROR, "out of memory");
    if (rc == 0 && predicate) {
        expr_set_bool(out, result);
    } else if (rc == 0) {
        bson_t arr = BSON_INITIALIZER;
        for (size_t k = 0; k < acc.n; k++)
            expr_append_indexed(&arr, (uint32_t)k, &acc.own[k]);
        expr_take_bson(&arr, BSON_TYPE_ARRAY, out);
    }
    free(acc.own);
    free(other.own);
    expr_vals_free(v, e->n);
    return rc;
}
