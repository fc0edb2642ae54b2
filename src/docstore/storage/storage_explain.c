/*
 * Storage: explain. Describes the access path the planner picks for a filter
 * (and a sort) as MongoDB's plan stages: COLLSCAN, IXSCAN with its
 * indexBounds, FETCH, OR.
 */
#include "docstore/storage/storage_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* v as MongoDB writes it in indexBounds: 5, 5.5, inf.0, "abc", true, ... */
static void bound_str(const bson_value_t *v, char *out, size_t n)
{
    switch (v->value_type) {
    case BSON_TYPE_INT32:
        snprintf(out, n, "%d", v->value.v_int32);
        return;
    case BSON_TYPE_INT64:
        snprintf(out, n, "%lld", (long long)v->value.v_int64);
        return;
    case BSON_TYPE_DOUBLE: {
        double d = v->value.v_double;
        if (isinf(d))
            snprintf(out, n, "%sinf.0", d < 0 ? "-" : "");
        else if (isnan(d))
            snprintf(out, n, "nan.0");
        else if (d == floor(d) && fabs(d) < 1e15)
            snprintf(out, n, "%.1f", d);
        else
            snprintf(out, n, "%.17g", d);
        return;
    }
    case BSON_TYPE_UTF8:
        snprintf(out, n, "\"%.*s\"", (int)(v->value.v_utf8.len < 200 ? v->value.v_utf8.len : 200),
                 v->value.v_utf8.str);
        return;
    case BSON_TYPE_BOOL:
        snprintf(out, n, "%s", v->value.v_bool ? "true" : "false");
        return;
    case BSON_TYPE_NULL:
        snprintf(out, n, "null");
        return;
    case BSON_TYPE_OID: {
        char hex[25];
        bson_oid_to_string(&v->value.v_oid, hex);
        snprintf(out, n, "ObjectId('%s')", hex);
        return;
    }
    case BSON_TYPE_DATE_TIME:
        snprintf(out, n, "new Date(%lld)", (long long)v->value.v_datetime);
        return;
    case BSON_TYPE_MINKEY:
        snprintf(out, n, "MinKey");
        return;
    case BSON_TYPE_MAXKEY:
        snprintf(out, n, "MaxKey");
        return;
    default: {
        bson_t tmp = BSON_INITIALIZER;
        bson_append_value(&tmp, "v", 1, v);
        char *json = bson_as_relaxed_extended_json(&tmp, NULL);
        /* {"v" : X } */
        const char *x = json ? strchr(json, ':') : NULL;
        if (x != NULL) {
            size_t len = strlen(x + 2);
            snprintf(out, n, "%.*s", (int)(len > 2 ? len - 2 : len), x + 2);
        } else {
            snprintf(out, n, "?");
        }
        bson_free(json);
        bson_destroy(&tmp);
        return;
    }
    }
}

/* The edges of v's type bracket, as MongoDB writes open bounds; *hi_incl:
 * whether the upper edge is inside the bracket (strings end at {}, the first
 * object, exclusive). */
static void bracket_edges(bson_type_t t, const char **lo, const char **hi, bool *hi_incl)
{
    *hi_incl = t != BSON_TYPE_UTF8 && t != BSON_TYPE_SYMBOL && t != BSON_TYPE_DOCUMENT;
    switch (t) {
    case BSON_TYPE_INT32:
    case BSON_TYPE_INT64:
    case BSON_TYPE_DOUBLE:
    case BSON_TYPE_DECIMAL128:
        *lo = "-inf.0", *hi = "inf.0";
        return;
    case BSON_TYPE_UTF8:
    case BSON_TYPE_SYMBOL:
        *lo = "\"\"", *hi = "{}";
        return;
    case BSON_TYPE_DOCUMENT:
        *lo = "{}", *hi = "[]";
        return;
    case BSON_TYPE_OID:
        *lo = "ObjectId('000000000000000000000000')", *hi = "ObjectId('ffffffffffffffffffffffff')";
        return;
    case BSON_TYPE_BOOL:
        *lo = "false", *hi = "true";
        return;
    case BSON_TYPE_DATE_TIME:
        *lo = "new Date(-9223372036854775808)", *hi = "new Date(9223372036854775807)";
        return;
    default:
        *lo = "MinKey", *hi = "MaxKey";
        return;
    }
}

static void append_interval(bson_t *arr, uint32_t *i, const char *lo, bool lo_incl, const char *hi,
                            bool hi_incl, bool desc)
{
    char key[16], s[520];
    const char *k;
    bson_uint32_to_string((*i)++, &k, key, sizeof key);
    if (desc) /* a descending field lists its intervals from high to low */
        snprintf(s, sizeof s, "%s%s, %s%s", hi_incl ? "[" : "(", hi, lo, lo_incl ? "]" : ")");
    else
        snprintf(s, sizeof s, "%s%s, %s%s", lo_incl ? "[" : "(", lo, hi, hi_incl ? "]" : ")");
    bson_append_utf8(arr, k, -1, s, -1);
}

static void append_point(bson_t *arr, uint32_t *i, const bson_value_t *v, bool desc)
{
    char b[256];
    bound_str(v, b, sizeof b);
    append_interval(arr, i, b, true, b, true, desc);
}

/* A $in value with its index key, so the values sort in index order. */
typedef struct keyed_value {
    bson_value_t v;
    buf_t key;
} keyed_value_t;

static int keyed_cmp(const void *a, const void *b)
{
    return st_cmp_bytes(&((const keyed_value_t *)a)->key, &((const keyed_value_t *)b)->key);
}

/* The intervals field_plan reads for cond, in MongoDB's string form
 * ("[5, 5]", "(5, inf.0]"); every key when cond is NULL. */
static void explain_bounds(const bson_value_t *cond, bool desc, bool multikey,
                           const docstore_key_coll_t *kc, bson_t *arr)
{
    uint32_t i = 0;
    if (cond == NULL) {
        append_interval(arr, &i, "MinKey", true, "MaxKey", true, desc);
        return;
    }
    bson_iter_t it;
    if (cond->value_type != BSON_TYPE_DOCUMENT ||
        !bson_iter_init_from_data(&it, cond->value.v_doc.data, cond->value.v_doc.data_len) ||
        !bson_iter_next(&it) || bson_iter_key(&it)[0] != '$') {
        append_point(arr, &i, cond, desc);
        return;
    }
    bson_value_t eqv, inv, lov, hiv;
    const bson_value_t *eq = NULL, *in = NULL, *lo = NULL, *hi = NULL;
    bool lo_incl = false, hi_incl = false;
    do {
        const char *op = bson_iter_key(&it);
        const bson_value_t *v = bson_iter_value(&it);
        if (strcmp(op, "$eq") == 0 && st_point_ok(v))
            eqv = *v, eq = &eqv;
        else if (strcmp(op, "$in") == 0 && v->value_type == BSON_TYPE_ARRAY)
            inv = *v, in = &inv;
        else if ((strcmp(op, "$gt") == 0 || strcmp(op, "$gte") == 0) && st_bound_ok(v))
            lov = *v, lo = &lov, lo_incl = op[3] == 'e';
        else if ((strcmp(op, "$lt") == 0 || strcmp(op, "$lte") == 0) && st_bound_ok(v))
            hiv = *v, hi = &hiv, hi_incl = op[3] == 'e';
    } while (bson_iter_next(&it));
    if (eq) {
        append_point(arr, &i, eq, desc);
        return;
    }
    if (in) {
        keyed_value_t vals[64]; /* explain lists the first 64 */
        size_t n = 0;
        bson_iter_t ai;
        bson_iter_init_from_data(&ai, in->value.v_doc.data, in->value.v_doc.data_len);
        while (bson_iter_next(&ai) && n < 64) {
            vals[n].v = *bson_iter_value(&ai);
            buf_init(&vals[n].key, DOCSTORE_KEY_MAX);
            if (docstore_key_append_coll(&vals[n].key, &vals[n].v, false, kc) != 0)
                buf_reset(&vals[n].key);
            n++;
        }
        qsort(vals, n, sizeof *vals, keyed_cmp);
        for (size_t k = 0; k < n; k++) {
            size_t x = desc ? n - 1 - k : k;
            if (k == 0 || st_cmp_bytes(&vals[x].key, &vals[desc ? x + 1 : x - 1].key) != 0)
                append_point(arr, &i, &vals[x].v, desc);
        }
        for (size_t k = 0; k < n; k++)
            buf_free(&vals[k].key);
        return;
    }
    if (multikey && lo && hi)
        hi = NULL;
    if (lo && hi && docstore_key_rank(lo->value_type) != docstore_key_rank(hi->value_type))
        return; /* no value in both brackets: nothing is read */
    char lb[256], hb[256];
    const char *lo_edge, *hi_edge;
    bool edge_incl;
    bracket_edges((lo ? lo : hi)->value_type, &lo_edge, &hi_edge, &edge_incl);
    if (lo)
        bound_str(lo, lb, sizeof lb);
    if (hi)
        bound_str(hi, hb, sizeof hb);
    append_interval(arr, &i, lo ? lb : lo_edge, lo ? lo_incl : true, hi ? hb : hi_edge,
                    hi ? hi_incl : edge_incl, desc);
}

/* One IXSCAN stage for index target (nindexes: _id) of c, its leading field
 * bounded by cond (NULL: every key). */
static void explain_ixscan(const st_coll_t *c, size_t target, const bson_value_t *cond,
                           size_t fixed, bool reverse, bson_t *out)
{
    const st_index_t *ix = target == c->nindexes ? NULL : &c->indexes[target];
    BSON_APPEND_UTF8(out, "stage", "IXSCAN");
    bson_t kp, bounds, arr, mkp;
    if (ix != NULL) {
        BSON_APPEND_DOCUMENT(out, "keyPattern", ix->key);
    } else {
        BSON_APPEND_DOCUMENT_BEGIN(out, "keyPattern", &kp);
        BSON_APPEND_INT32(&kp, "_id", 1);
        bson_append_document_end(out, &kp);
    }
    BSON_APPEND_UTF8(out, "indexName", ix ? ix->name : "_id_");
    BSON_APPEND_BOOL(out, "isMultiKey", ix ? ix->multikey : false);
    BSON_APPEND_DOCUMENT_BEGIN(out, "multiKeyPaths", &mkp);
    for (size_t f = 0; f < (ix ? ix->nfields : 1); f++) {
        bson_t paths;
        bson_append_array_begin(&mkp, ix ? ix->fields[f] : "_id", -1, &paths);
        if (ix && ix->multikey)
            bson_append_utf8(&paths, "0", 1, ix->fields[f], -1);
        bson_append_array_end(&mkp, &paths);
    }
    bson_append_document_end(out, &mkp);
    BSON_APPEND_BOOL(out, "isUnique", ix ? ix->unique : true);
    BSON_APPEND_BOOL(out, "isSparse", ix ? ix->sparse : false);
    BSON_APPEND_BOOL(out, "isPartial", ix ? ix->partial != NULL : false);
    BSON_APPEND_INT32(out, "indexVersion", 2);
    if (ix != NULL && ix->collation != NULL)
        BSON_APPEND_DOCUMENT(out, "collation", ix->collation);
    BSON_APPEND_UTF8(out, "direction", reverse ? "backward" : "forward");
    BSON_APPEND_DOCUMENT_BEGIN(out, "indexBounds", &bounds);
    for (size_t f = 0; f < (ix ? ix->nfields : 1); f++) {
        bool desc = ix ? ix->desc[f] : false;
        bson_append_array_begin(&bounds, ix ? ix->fields[f] : "_id", -1, &arr);
        bson_t tmp = BSON_INITIALIZER;
        explain_bounds(f == 0 ? cond : NULL, desc, ix ? ix->multikey : false,
                       ix ? st_index_kc(ix) : NULL, &tmp);
        (void)fixed;
        /* A backward walk lists the intervals the other way round. */
        bson_iter_t ti;
        size_t cnt = 0;
        if (bson_iter_init(&ti, &tmp))
            while (bson_iter_next(&ti))
                cnt++;
        for (size_t k = 0; k < cnt; k++) {
            char key[16];
            const char *kk;
            bson_uint32_to_string((uint32_t)(reverse ? cnt - 1 - k : k), &kk, key, sizeof key);
            bson_iter_init_find(&ti, &tmp, kk);
            uint32_t len;
            const char *sv = bson_iter_utf8(&ti, &len);
            char buf[520];
            if (reverse && len > 2 && len < sizeof buf) {
                /* "[a, b)" walked backward is "(b, a]" */
                const char *comma = strstr(sv, ", ");
                char open = sv[0] == '[' ? ']' : ')';
                char close = sv[len - 1] == ']' ? '[' : '(';
                snprintf(buf, sizeof buf, "%c%.*s, %.*s%c", close,
                         (int)(len - 1 - (size_t)(comma + 2 - sv)), comma + 2,
                         (int)(comma - sv - 1), sv + 1, open);
                sv = buf;
            }
            char akey[16];
            const char *ak;
            bson_uint32_to_string((uint32_t)k, &ak, akey, sizeof akey);
            bson_append_utf8(&arr, ak, -1, sv, -1);
        }
        bson_destroy(&tmp);
        bson_append_array_end(&bounds, &arr);
    }
    bson_append_document_end(out, &bounds);
}

static void explain_plan(const st_coll_t *c, const st_plan_t *p, bool reverse, bson_t *out)
{
    if (p->nbranches == 0) {
        explain_ixscan(c, (size_t)(p->score % 1000), &p->cond, 0, reverse, out);
        return;
    }
    BSON_APPEND_UTF8(out, "stage", "OR");
    bson_t arr;
    BSON_APPEND_ARRAY_BEGIN(out, "inputStages", &arr);
    for (size_t i = 0; i < p->nbranches; i++) {
        char key[16];
        const char *k;
        bson_uint32_to_string((uint32_t)i, &k, key, sizeof key);
        bson_t st;
        bson_append_document_begin(&arr, k, -1, &st);
        explain_plan(c, &p->branches[i], false, &st);
        bson_append_document_end(&arr, &st);
    }
    bson_append_array_end(out, &arr);
}

int docstore_storage_explain(docstore_storage_t *st, const char *db, const char *coll,
                             const bson_t *filter, const char *const *fields, const int *dirs,
                             size_t n, bson_t *out, bool *sort_served, docstore_error_t *err)
{
    return docstore_storage_explain_coll(st, db, coll, filter, NULL, fields, dirs, n, out,
                                         sort_served, err);
}

int docstore_storage_explain_coll(docstore_storage_t *st, const char *db, const char *coll,
                                  const bson_t *filter, const bson_t *collation,
                                  const char *const *fields, const int *dirs, size_t n, bson_t *out,
                                  bool *sort_served, docstore_error_t *err)
{
    *sort_served = false;
    st_db_t *d;
    if (st_db_get(st, db, false, &d, err))
        return -1;
    st_coll_t *c = d ? st_coll_find(d, coll) : NULL;
    bool has_filter = filter != NULL && !bson_empty(filter);
    if (c == NULL) {
        BSON_APPEND_UTF8(out, "stage", "EOF");
        return 0;
    }
    st_plan_t best = {.score = ST_PLAN_NONE};
    if (filter)
        st_plan_conditions(filter, filter, c, collation, &best, 0);
    st_plan_normalize(&best);
    size_t target = c->nindexes + 1, off = 0;
    bool reverse = false;
    if (n > 0 && n <= 32)
        target =
            st_plan_ordered_target(c, filter, collation, &best, fields, dirs, n, &off, &reverse);
    *sort_served = target <= c->nindexes;
    if (best.score == ST_PLAN_NONE && !*sort_served) {
        BSON_APPEND_UTF8(out, "stage", "COLLSCAN");
        if (has_filter)
            BSON_APPEND_DOCUMENT(out, "filter", filter);
        BSON_APPEND_UTF8(out, "direction", "forward");
        st_plan_free(&best);
        return 0;
    }
    BSON_APPEND_UTF8(out, "stage", "FETCH");
    if (has_filter)
        BSON_APPEND_DOCUMENT(out, "filter", filter);
    bson_t in;
    BSON_APPEND_DOCUMENT_BEGIN(out, "inputStage", &in);
    if (best.score == ST_PLAN_NONE)
        explain_ixscan(c, target, NULL, 0, reverse, &in); /* a sort walking a whole index */
    else
        explain_plan(c, &best, reverse, &in);
    bson_append_document_end(out, &in);
    st_plan_free(&best);
    return 0;
}
