/*
 * Running one compiled update item on a mutable document: walking its path
 * (creating intermediate documents, padding arrays with null, expanding the
 * positional $, $[] and $[identifier]), then the operator itself on the field
 * it reaches. Numbers follow MongoDB's promotion rules for $inc and $mul:
 * int32 results that overflow become int64, int64 overflow is an error, and
 * a double on either side gives a double.
 */
#include "docstore/base/decimal.h"
#include "docstore/update/update_internal.h"
#include "docstore/query/expr.h"
#include "docstore/query/value.h"

#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

/* The largest array index a path may pad an array up to, as MongoDB allows. */
#define UPD_MAX_PAD 1500000

void update_ctx_init_time(upd_ctx_t *ctx)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    ctx->now_ms = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
    ctx->now_s = (uint32_t)tv.tv_sec;
}

static void id_str(const upd_ctx_t *ctx, char *buf, size_t size)
{
    ptrdiff_t k = docstore_mnode_find(ctx->root, "_id");
    if (k < 0) {
        snprintf(buf, size, "{}");
        return;
    }
    bson_value_t v;
    char tmp[160];
    if (!docstore_mnode_to_value(ctx->root->kids[k], &v)) {
        snprintf(buf, size, "{}");
        return;
    }
    update_fmt_value(&v, tmp, sizeof tmp);
    bson_value_destroy(&v);
    snprintf(buf, size, "{_id: %s}", tmp);
}

static void node_str(const docstore_mnode_t *n, char *buf, size_t size)
{
    bson_value_t v;
    if (!docstore_mnode_to_value(n, &v)) {
        snprintf(buf, size, "?");
        return;
    }
    update_fmt_value(&v, buf, size);
    bson_value_destroy(&v);
}

/* Where a leaf operator acts: an existing child, or a place for a new one. */
typedef struct upd_slot {
    docstore_mnode_t *parent; /* a document or an array */
    ptrdiff_t idx;            /* existing child, or -1 */
    const char *key;          /* name of a new field in a document */
    size_t arr_idx;           /* index of a new element in an array */
} upd_slot_t;

static docstore_mnode_t *slot_node(const upd_slot_t *s)
{
    return s->idx >= 0 ? s->parent->kids[s->idx] : NULL;
}

/* Puts node at the slot (ownership taken), padding arrays with null. */
static int slot_set(upd_ctx_t *ctx, upd_slot_t *s, docstore_mnode_t *node)
{
    if (node == NULL)
        return docstore_error_oom(ctx->err);
    if (s->idx >= 0)
        return docstore_mnode_replace(s->parent, (size_t)s->idx, node)
                   ? 0
                   : docstore_error_oom(ctx->err);
    if (s->parent->v.value_type == BSON_TYPE_ARRAY) {
        if (s->arr_idx > UPD_MAX_PAD) {
            docstore_mnode_free(node);
            docstore_error_set(ctx->err, DOCSTORE_BAD_VALUE,
                               "can't backfill array to larger than %d elements", UPD_MAX_PAD);
            return -1;
        }
        bson_value_t null = {.value_type = BSON_TYPE_NULL};
        while (s->parent->n < s->arr_idx) {
            if (!docstore_mnode_append(s->parent, docstore_mnode_from_value("", &null))) {
                docstore_mnode_free(node);
                return docstore_error_oom(ctx->err);
            }
        }
        if (!docstore_mnode_set_key(node, "")) {
            docstore_mnode_free(node);
            return docstore_error_oom(ctx->err);
        }
    } else if (!docstore_mnode_set_key(node, s->key)) {
        docstore_mnode_free(node);
        return docstore_error_oom(ctx->err);
    }
    if (!docstore_mnode_append(s->parent, node))
        return docstore_error_oom(ctx->err);
    s->idx = (ptrdiff_t)s->parent->n - 1;
    return 0;
}

/* --- arithmetic ------------------------------------------------------------- */

static const char *num_tag(bson_type_t t)
{
    switch (t) {
    case BSON_TYPE_INT32:
        return "NumberInt";
    case BSON_TYPE_INT64:
        return "NumberLong";
    case BSON_TYPE_DOUBLE:
        return "NumberDouble";
    default:
        return "NumberDecimal";
    }
}

static int arith(upd_ctx_t *ctx, const upd_item_t *it, const bson_value_t *cur,
                 const bson_value_t *arg, bson_value_t *res)
{
    bool mul = it->op == UPD_MUL;
    bson_type_t a = cur->value_type, b = arg->value_type;
    if (a == BSON_TYPE_DECIMAL128 || b == BSON_TYPE_DECIMAL128) {
        /* mongod's SafeNum: both sides as decimals (a double at 15 digits). */
        docstore_dec_t x, y;
        (void)docstore_dec_from_value(cur, &x);
        (void)docstore_dec_from_value(arg, &y);
        docstore_dec_set(res, mul ? docstore_dec_mul(x, y) : docstore_dec_add(x, y));
        return 0;
    }
    if (a == BSON_TYPE_DOUBLE || b == BSON_TYPE_DOUBLE) {
        double x = a == BSON_TYPE_DOUBLE  ? cur->value.v_double
                   : a == BSON_TYPE_INT32 ? cur->value.v_int32
                                          : (double)cur->value.v_int64;
        double y = b == BSON_TYPE_DOUBLE  ? arg->value.v_double
                   : b == BSON_TYPE_INT32 ? arg->value.v_int32
                                          : (double)arg->value.v_int64;
        res->value_type = BSON_TYPE_DOUBLE;
        res->value.v_double = mul ? x * y : x + y;
        return 0;
    }
    int64_t x = a == BSON_TYPE_INT32 ? cur->value.v_int32 : cur->value.v_int64;
    int64_t y = b == BSON_TYPE_INT32 ? arg->value.v_int32 : arg->value.v_int64;
    int64_t r;
    bool overflow = mul ? __builtin_mul_overflow(x, y, &r) : __builtin_add_overflow(x, y, &r);
    if (overflow) {
        char id[200];
        id_str(ctx, id, sizeof id);
        docstore_error_set(ctx->err, DOCSTORE_BAD_VALUE,
                           "Failed to apply %s operations to current value ((%s)%lld) for "
                           "document %s",
                           mul ? "$mul" : "$inc", num_tag(a), (long long)x, id);
        return -1;
    }
    if (a == BSON_TYPE_INT32 && b == BSON_TYPE_INT32 && r >= INT32_MIN && r <= INT32_MAX) {
        res->value_type = BSON_TYPE_INT32;
        res->value.v_int32 = (int32_t)r;
    } else {
        res->value_type = BSON_TYPE_INT64;
        res->value.v_int64 = r;
    }
    return 0;
}

static bool node_is_number(const docstore_mnode_t *n)
{
    bson_type_t t = n->v.value_type;
    return t == BSON_TYPE_INT32 || t == BSON_TYPE_INT64 || t == BSON_TYPE_DOUBLE ||
           t == BSON_TYPE_DECIMAL128;
}

static int leaf_arith(upd_ctx_t *ctx, const upd_item_t *it, upd_slot_t *s)
{
    docstore_mnode_t *cur = slot_node(s);
    bson_value_t res;
    if (cur == NULL && it->arg.value_type == BSON_TYPE_DECIMAL128) {
        /* mongod computes arg + 0 or arg * 0 (so $mul of 1.50 gives 0.00). */
        bson_value_t zero = {.value_type = BSON_TYPE_INT32};
        if (arith(ctx, it, &zero, &it->arg, &res) != 0)
            return -1;
        return slot_set(ctx, s, docstore_mnode_from_value("", &res));
    }
    if (cur == NULL) {
        if (it->op == UPD_INC)
            return slot_set(ctx, s, docstore_mnode_from_value("", &it->arg));
        /* $mul of a missing field creates 0 of the argument's type. */
        res = it->arg;
        if (res.value_type == BSON_TYPE_INT32)
            res.value.v_int32 = 0;
        else if (res.value_type == BSON_TYPE_INT64)
            res.value.v_int64 = 0;
        else if (res.value_type == BSON_TYPE_DOUBLE)
            res.value.v_double = 0.0;
        return slot_set(ctx, s, docstore_mnode_from_value("", &res));
    }
    if (!node_is_number(cur)) {
        char id[200];
        id_str(ctx, id, sizeof id);
        docstore_error_set(ctx->err, DOCSTORE_TYPE_MISMATCH,
                           "Cannot apply %s to a value of non-numeric type. %s has the field "
                           "'%.100s' of non-numeric type %s",
                           it->op == UPD_INC ? "$inc" : "$mul", id, it->comps[it->ncomps - 1],
                           docstore_type_name(cur->v.value_type));
        return -1;
    }
    if (arith(ctx, it, &cur->v, &it->arg, &res) != 0)
        return -1;
    cur->v = res; /* numbers own no memory */
    return 0;
}

/* --- arrays ------------------------------------------------------------------ */

/* Element values of an array node, built once for comparisons. */
typedef struct upd_elems {
    bson_value_t *v;
    size_t n;
} upd_elems_t;

static bool elems_init(upd_elems_t *e, const docstore_mnode_t *arr)
{
    e->n = 0;
    e->v = calloc(arr->n ? arr->n : 1, sizeof *e->v);
    if (e->v == NULL)
        return false;
    for (size_t i = 0; i < arr->n; i++) {
        if (!docstore_mnode_to_value(arr->kids[i], &e->v[i]))
            return false;
        e->n++;
    }
    return true;
}

static void elems_free(upd_elems_t *e)
{
    for (size_t i = 0; i < e->n; i++)
        bson_value_destroy(&e->v[i]);
    free(e->v);
}

typedef struct sort_ent {
    docstore_mnode_t *node;
    bson_value_t val; /* the element as a value (owned) */
} sort_ent_t;

/* Field sorts see the element, or {} for elements that are not documents.
 * (A bson_t cannot be copied by value, so it is made here, on the stack.) */
static void ent_doc(const sort_ent_t *e, bson_t *out)
{
    static const uint8_t empty[5] = {5, 0, 0, 0, 0};
    if (e->val.value_type != BSON_TYPE_DOCUMENT ||
        !bson_init_static(out, e->val.value.v_doc.data, e->val.value.v_doc.data_len))
        bson_init_static(out, empty, sizeof empty);
}

static int sort_ent_cmp(const upd_item_t *it, const sort_ent_t *a, const sort_ent_t *b)
{
    if (it->sort != NULL) {
        bson_t da, db;
        ent_doc(a, &da);
        ent_doc(b, &db);
        return docstore_sort_compare(it->sort, &da, &db);
    }
    int c = docstore_value_compare(&a->val, &b->val);
    return it->sort_dir < 0 ? -c : c;
}

static void merge_sort(const upd_item_t *it, sort_ent_t *a, sort_ent_t *tmp, size_t n)
{
    if (n < 2)
        return;
    size_t h = n / 2;
    merge_sort(it, a, tmp, h);
    merge_sort(it, a + h, tmp, n - h);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        tmp[k++] = sort_ent_cmp(it, &a[j], &a[i]) < 0 ? a[j++] : a[i++];
    while (i < h)
        tmp[k++] = a[i++];
    while (j < n)
        tmp[k++] = a[j++];
    memcpy(a, tmp, n * sizeof *a);
}

static int push_sort(upd_ctx_t *ctx, const upd_item_t *it, docstore_mnode_t *arr)
{
    size_t n = arr->n;
    sort_ent_t *e = calloc(n ? n : 1, sizeof *e);
    sort_ent_t *tmp = calloc(n ? n : 1, sizeof *tmp);
    int rc = 0;
    if (e == NULL || tmp == NULL) {
        free(e);
        free(tmp);
        return docstore_error_oom(ctx->err);
    }
    size_t built = 0;
    for (; built < n; built++) {
        e[built].node = arr->kids[built];
        if (!docstore_mnode_to_value(arr->kids[built], &e[built].val)) {
            rc = docstore_error_oom(ctx->err);
            break;
        }
    }
    if (rc == 0) {
        merge_sort(it, e, tmp, n);
        for (size_t i = 0; i < n; i++)
            arr->kids[i] = e[i].node;
    }
    for (size_t i = 0; i < built; i++)
        bson_value_destroy(&e[i].val);
    free(e);
    free(tmp);
    return rc;
}

static int leaf_push(upd_ctx_t *ctx, const upd_item_t *it, upd_slot_t *s)
{
    docstore_mnode_t *arr = slot_node(s);
    if (arr == NULL) {
        if (slot_set(ctx, s, docstore_mnode_new_container("", BSON_TYPE_ARRAY)) != 0)
            return -1;
        arr = slot_node(s);
    } else if (arr->v.value_type != BSON_TYPE_ARRAY) {
        char id[200];
        id_str(ctx, id, sizeof id);
        docstore_error_set(ctx->err, DOCSTORE_BAD_VALUE,
                           "The field '%.100s' must be an array but is of type %s in document %s",
                           it->comps[it->ncomps - 1], docstore_type_name(arr->v.value_type), id);
        return -1;
    }
    if (!docstore_mnode_unpack(arr))
        return docstore_error_oom(ctx->err);
    size_t at = arr->n;
    if (it->has_position) {
        if (it->position >= 0)
            at = (uint64_t)it->position < arr->n ? (size_t)it->position : arr->n;
        else
            at = (uint64_t)(-it->position) >= arr->n ? 0 : arr->n - (size_t)(-it->position);
    }
    if (it->each) {
        bson_t d;
        bson_iter_t i, each;
        bson_init_static(&d, it->arg.value.v_doc.data, it->arg.value.v_doc.data_len);
        if (bson_iter_init_find(&i, &d, "$each") && bson_iter_recurse(&i, &each)) {
            while (bson_iter_next(&each)) {
                if (!docstore_mnode_insert(arr, at++,
                                           docstore_mnode_from_value("", bson_iter_value(&each))))
                    return docstore_error_oom(ctx->err);
            }
        }
    } else if (!docstore_mnode_insert(arr, at, docstore_mnode_from_value("", &it->arg))) {
        return docstore_error_oom(ctx->err);
    }
    if ((it->sort != NULL || it->sort_dir != 0) && push_sort(ctx, it, arr) != 0)
        return -1;
    if (it->has_slice) {
        if (it->slice >= 0) {
            while (arr->n > (uint64_t)it->slice)
                docstore_mnode_remove(arr, arr->n - 1);
        } else {
            uint64_t keep = (uint64_t)(-(it->slice + 1)) + 1;
            if (arr->n > keep) {
                size_t drop = arr->n - (size_t)keep;
                for (size_t i = 0; i < drop; i++)
                    docstore_mnode_free(arr->kids[i]);
                memmove(arr->kids, arr->kids + drop, (size_t)keep * sizeof *arr->kids);
                arr->n = (size_t)keep;
            }
        }
    }
    return 0;
}

static int add_one(upd_ctx_t *ctx, docstore_mnode_t *arr, upd_elems_t *have, const bson_value_t *v)
{
    /* Equal under the statement's collation (docstore_expr_set_collation). */
    for (size_t i = 0; i < have->n; i++) {
        if (docstore_value_compare_coll(&have->v[i], v, docstore_expr_collation()) == 0)
            return 0;
    }
    if (!docstore_mnode_append(arr, docstore_mnode_from_value("", v)))
        return docstore_error_oom(ctx->err);
    bson_value_t *grown = realloc(have->v, (have->n + 1) * sizeof *grown);
    if (grown == NULL)
        return docstore_error_oom(ctx->err);
    have->v = grown;
    bson_value_copy(v, &have->v[have->n++]);
    return 0;
}

static int leaf_add_to_set(upd_ctx_t *ctx, const upd_item_t *it, upd_slot_t *s)
{
    docstore_mnode_t *arr = slot_node(s);
    if (arr == NULL) {
        if (slot_set(ctx, s, docstore_mnode_new_container("", BSON_TYPE_ARRAY)) != 0)
            return -1;
        arr = slot_node(s);
    } else if (arr->v.value_type != BSON_TYPE_ARRAY) {
        docstore_error_set(ctx->err, DOCSTORE_BAD_VALUE,
                           "Cannot apply $addToSet to non-array field. Field named '%.100s' has "
                           "non-array type %s",
                           it->comps[it->ncomps - 1], docstore_type_name(arr->v.value_type));
        return -1;
    }
    if (!docstore_mnode_unpack(arr))
        return docstore_error_oom(ctx->err);
    upd_elems_t have;
    if (!elems_init(&have, arr)) {
        elems_free(&have);
        return docstore_error_oom(ctx->err);
    }
    int rc = 0;
    if (it->each) {
        bson_t d;
        bson_iter_t i, each;
        bson_init_static(&d, it->arg.value.v_doc.data, it->arg.value.v_doc.data_len);
        if (bson_iter_init_find(&i, &d, "$each") && bson_iter_recurse(&i, &each)) {
            while (rc == 0 && bson_iter_next(&each))
                rc = add_one(ctx, arr, &have, bson_iter_value(&each));
        }
    } else {
        rc = add_one(ctx, arr, &have, &it->arg);
    }
    elems_free(&have);
    return rc;
}

static bool pull_matches(const upd_item_t *it, const bson_value_t *v)
{
    if (it->op == UPD_PULL_ALL) {
        bson_iter_t i;
        if (!bson_iter_init_from_data(&i, it->arg.value.v_doc.data, it->arg.value.v_doc.data_len))
            return false;
        while (bson_iter_next(&i)) {
            if (docstore_value_compare_coll(bson_iter_value(&i), v, docstore_expr_collation()) == 0)
                return true;
        }
        return false;
    }
    if (it->pull_matcher == NULL)
        return docstore_value_compare_coll(&it->arg, v, docstore_expr_collation()) == 0;
    if (it->pull_wrap) {
        bson_t w = BSON_INITIALIZER;
        bool ok = bson_append_value(&w, UPD_PULL_KEY, -1, v) &&
                  docstore_matcher_matches(it->pull_matcher, &w, NULL);
        bson_destroy(&w);
        return ok;
    }
    if (v->value_type != BSON_TYPE_DOCUMENT)
        return false;
    bson_t d;
    if (!bson_init_static(&d, v->value.v_doc.data, v->value.v_doc.data_len))
        return false;
    return docstore_matcher_matches(it->pull_matcher, &d, NULL);
}

static int leaf_pull(upd_ctx_t *ctx, const upd_item_t *it, upd_slot_t *s)
{
    docstore_mnode_t *arr = slot_node(s);
    if (arr == NULL)
        return 0;
    if (arr->v.value_type != BSON_TYPE_ARRAY) {
        docstore_error_set(ctx->err, DOCSTORE_BAD_VALUE, "Cannot apply %s to a non-array value",
                           it->op == UPD_PULL ? "$pull" : "$pullAll");
        return -1;
    }
    if (!docstore_mnode_unpack(arr))
        return docstore_error_oom(ctx->err);
    size_t i = 0;
    while (i < arr->n) {
        bson_value_t v;
        if (!docstore_mnode_to_value(arr->kids[i], &v))
            return docstore_error_oom(ctx->err);
        bool hit = pull_matches(it, &v);
        bson_value_destroy(&v);
        if (hit)
            docstore_mnode_remove(arr, i);
        else
            i++;
    }
    return 0;
}

static int leaf_pop(upd_ctx_t *ctx, const upd_item_t *it, upd_slot_t *s)
{
    docstore_mnode_t *arr = slot_node(s);
    if (arr == NULL)
        return 0;
    if (arr->v.value_type != BSON_TYPE_ARRAY) {
        docstore_error_set(ctx->err, DOCSTORE_TYPE_MISMATCH,
                           "Path '%.200s' contains an element of non-array type '%s'", it->path,
                           docstore_type_name(arr->v.value_type));
        return -1;
    }
    if (!docstore_mnode_unpack(arr))
        return docstore_error_oom(ctx->err);
    if (arr->n > 0)
        docstore_mnode_remove(arr, it->pop_first ? 0 : arr->n - 1);
    return 0;
}

static int leaf_minmax(upd_ctx_t *ctx, const upd_item_t *it, upd_slot_t *s)
{
    docstore_mnode_t *cur = slot_node(s);
    if (cur == NULL)
        return slot_set(ctx, s, docstore_mnode_from_value("", &it->arg));
    bson_value_t v;
    if (!docstore_mnode_to_value(cur, &v))
        return docstore_error_oom(ctx->err);
    int c = docstore_value_compare_coll(&it->arg, &v, docstore_expr_collation());
    bson_value_destroy(&v);
    if ((it->op == UPD_MIN && c < 0) || (it->op == UPD_MAX && c > 0))
        return slot_set(ctx, s, docstore_mnode_from_value("", &it->arg));
    return 0;
}

static int leaf(upd_ctx_t *ctx, const upd_item_t *it, upd_slot_t *s)
{
    static uint32_t ts_increment;
    switch (it->op) {
    case UPD_SET:
    case UPD_SET_ON_INSERT:
        return slot_set(ctx, s, docstore_mnode_from_value("", &it->arg));
    case UPD_UNSET:
        if (s->idx < 0)
            return 0;
        if (s->parent->v.value_type == BSON_TYPE_ARRAY) {
            bson_value_t null = {.value_type = BSON_TYPE_NULL};
            return slot_set(ctx, s, docstore_mnode_from_value("", &null));
        }
        docstore_mnode_remove(s->parent, (size_t)s->idx);
        return 0;
    case UPD_INC:
    case UPD_MUL:
        return leaf_arith(ctx, it, s);
    case UPD_MIN:
    case UPD_MAX:
        return leaf_minmax(ctx, it, s);
    case UPD_CURRENT_DATE: {
        bson_value_t v = {.value_type = BSON_TYPE_DATE_TIME};
        if (it->timestamp) {
            v.value_type = BSON_TYPE_TIMESTAMP;
            v.value.v_timestamp.timestamp = ctx->now_s;
            v.value.v_timestamp.increment = ++ts_increment;
        } else {
            v.value.v_datetime = ctx->now_ms;
        }
        return slot_set(ctx, s, docstore_mnode_from_value("", &v));
    }
    case UPD_PUSH:
        return leaf_push(ctx, it, s);
    case UPD_ADD_TO_SET:
        return leaf_add_to_set(ctx, it, s);
    case UPD_POP:
        return leaf_pop(ctx, it, s);
    case UPD_PULL:
    case UPD_PULL_ALL:
        return leaf_pull(ctx, it, s);
    case UPD_RENAME:
        break;
    }
    return 0;
}

/* --- path walking ------------------------------------------------------------ */

static bool op_creates(const upd_item_t *it)
{
    switch (it->op) {
    case UPD_UNSET:
    case UPD_POP:
    case UPD_PULL:
    case UPD_PULL_ALL:
        return false;
    default:
        return true;
    }
}

static bool comp_is_positional(const char *c)
{
    return c[0] == '$';
}

static const upd_filter_t *find_filter(const docstore_update_t *u, const char *comp)
{
    size_t len = strlen(comp);
    for (size_t f = 0; f < u->nfilters; f++) {
        if (strlen(u->filters[f].id) == len - 3 && strncmp(u->filters[f].id, comp + 2, len - 3) == 0)
            return &u->filters[f];
    }
    return NULL;
}

static bool filter_matches(const upd_filter_t *f, const docstore_mnode_t *elem)
{
    bson_value_t v;
    if (!docstore_mnode_to_value(elem, &v))
        return false;
    bson_t w = BSON_INITIALIZER;
    bool ok = bson_append_value(&w, f->id, -1, &v) && docstore_matcher_matches(f->m, &w, NULL);
    bson_destroy(&w);
    bson_value_destroy(&v);
    return ok;
}

static int walk(upd_ctx_t *ctx, const upd_item_t *it, docstore_mnode_t *node, size_t ci);

/* Continues below the slot s reached by component ci. */
static int descend(upd_ctx_t *ctx, const upd_item_t *it, upd_slot_t *s, size_t ci)
{
    if (ci + 1 == it->ncomps)
        return leaf(ctx, it, s);
    docstore_mnode_t *child = slot_node(s);
    const char *next = it->comps[ci + 1];
    if (child != NULL && docstore_mnode_is_container(child))
        return walk(ctx, it, child, ci + 1);
    if (!op_creates(it))
        return 0;
    if (child != NULL) {
        char buf[200];
        node_str(child, buf, sizeof buf);
        if (comp_is_positional(next) && strcmp(next, "$") != 0) {
            docstore_error_set(ctx->err, DOCSTORE_BAD_VALUE,
                               "Cannot apply array updates to non-array element %.100s: %s",
                               child->key, buf);
            return -1;
        }
        docstore_error_set(ctx->err, DOCSTORE_PATH_NOT_VIABLE,
                           "Cannot create field '%.100s' in element {%.100s: %s}", next,
                           child->key, buf);
        return -1;
    }
    if (comp_is_positional(next)) {
        if (strcmp(next, "$") == 0 && ctx->matched_pos < 0) {
            docstore_error_set(ctx->err, DOCSTORE_BAD_VALUE,
                               "The positional operator did not find the match needed from the "
                               "query.");
            return -1;
        }
        docstore_error_set(ctx->err, DOCSTORE_BAD_VALUE,
                           "The path '%.200s' must exist in the document in order to apply array "
                           "updates.",
                           it->path);
        return -1;
    }
    if (slot_set(ctx, s, docstore_mnode_new_container("", BSON_TYPE_DOCUMENT)) != 0)
        return -1;
    return walk(ctx, it, slot_node(s), ci + 1);
}

static int walk(upd_ctx_t *ctx, const upd_item_t *it, docstore_mnode_t *node, size_t ci)
{
    const char *c = it->comps[ci];
    if (!docstore_mnode_unpack(node))
        return docstore_error_oom(ctx->err);
    upd_slot_t s = {.parent = node, .idx = -1, .key = c};
    if (strcmp(c, "$") == 0) {
        if (ctx->matched_pos < 0) {
            docstore_error_set(ctx->err, DOCSTORE_BAD_VALUE,
                               "The positional operator did not find the match needed from the "
                               "query.");
            return -1;
        }
        if (node->v.value_type != BSON_TYPE_ARRAY)
            return 0;
        s.arr_idx = (size_t)ctx->matched_pos;
        if (s.arr_idx < node->n)
            s.idx = (ptrdiff_t)s.arr_idx;
        return descend(ctx, it, &s, ci);
    }
    if (comp_is_positional(c)) {
        if (node->v.value_type != BSON_TYPE_ARRAY) {
            char buf[200];
            node_str(node, buf, sizeof buf);
            docstore_error_set(ctx->err, DOCSTORE_BAD_VALUE,
                               "Cannot apply array updates to non-array element %.100s: %s",
                               node->key, buf);
            return -1;
        }
        const upd_filter_t *f = strcmp(c, "$[]") == 0 ? NULL : find_filter(ctx->u, c);
        /* Walk backwards so $pull/$unset below cannot shift what is left to visit. */
        for (size_t i = node->n; i-- > 0;) {
            if (f != NULL && !filter_matches(f, node->kids[i]))
                continue;
            s.idx = (ptrdiff_t)i;
            s.arr_idx = i;
            if (descend(ctx, it, &s, ci) != 0)
                return -1;
        }
        return 0;
    }
    if (node->v.value_type == BSON_TYPE_ARRAY) {
        size_t idx;
        if (!docstore_path_index(c, &idx)) {
            if (!op_creates(it))
                return 0;
            char buf[200];
            node_str(node, buf, sizeof buf);
            docstore_error_set(ctx->err, DOCSTORE_PATH_NOT_VIABLE,
                               "Cannot create field '%.100s' in element {%.100s: %s}", c,
                               node->key, buf);
            return -1;
        }
        s.arr_idx = idx;
        if (idx < node->n)
            s.idx = (ptrdiff_t)idx;
        return descend(ctx, it, &s, ci);
    }
    s.idx = docstore_mnode_find(node, c);
    return descend(ctx, it, &s, ci);
}

/* $rename: detach the source (never through an array), then set the target. */
static int apply_rename(upd_ctx_t *ctx, const upd_item_t *it)
{
    docstore_mnode_t *node = ctx->root;
    ptrdiff_t k = -1;
    for (size_t i = 0; i < it->nfrom; i++) {
        if (node->v.value_type == BSON_TYPE_ARRAY) {
            char buf[200];
            node_str(node, buf, sizeof buf);
            docstore_error_set(ctx->err, DOCSTORE_BAD_VALUE,
                               "The source field cannot be an array element, '%.200s' in doc with "
                               "%.100s: %s",
                               it->from, node->key, buf);
            return -1;
        }
        k = docstore_mnode_find(node, it->from_comps[i]);
        if (k < 0)
            return 0;
        if (i + 1 < it->nfrom) {
            node = node->kids[k];
            if (!docstore_mnode_is_container(node))
                return 0;
        }
    }
    docstore_mnode_t *moved = node->kids[k];
    memmove(node->kids + k, node->kids + k + 1, (node->n - (size_t)k - 1) * sizeof *node->kids);
    node->n--;

    docstore_mnode_t *dst = ctx->root;
    for (size_t i = 0; i + 1 < it->ncomps; i++) {
        ptrdiff_t d = docstore_mnode_find(dst, it->comps[i]);
        if (d < 0) {
            if (!docstore_mnode_append(dst, docstore_mnode_new_container(it->comps[i],
                                                                         BSON_TYPE_DOCUMENT))) {
                docstore_mnode_free(moved);
                return docstore_error_oom(ctx->err);
            }
            d = (ptrdiff_t)dst->n - 1;
        }
        docstore_mnode_t *next = dst->kids[d];
        if (next->v.value_type != BSON_TYPE_DOCUMENT) {
            char buf[200];
            node_str(next, buf, sizeof buf);
            if (next->v.value_type == BSON_TYPE_ARRAY)
                docstore_error_set(ctx->err, DOCSTORE_BAD_VALUE,
                                   "The destination field cannot be an array element, '%.200s' in "
                                   "doc with %.100s: %s",
                                   it->path, next->key, buf);
            else
                docstore_error_set(ctx->err, DOCSTORE_PATH_NOT_VIABLE,
                                   "Cannot create field '%.100s' in element {%.100s: %s}",
                                   it->comps[i + 1], next->key, buf);
            docstore_mnode_free(moved);
            return -1;
        }
        dst = next;
    }
    upd_slot_t s = {.parent = dst, .key = it->comps[it->ncomps - 1]};
    s.idx = docstore_mnode_find(dst, s.key);
    return slot_set(ctx, &s, moved);
}

int update_apply_item(upd_ctx_t *ctx, const upd_item_t *it)
{
    if (it->op == UPD_SET_ON_INSERT && !ctx->is_insert)
        return 0;
    if (it->op == UPD_RENAME)
        return apply_rename(ctx, it);
    return walk(ctx, it, ctx->root, 0);
}
