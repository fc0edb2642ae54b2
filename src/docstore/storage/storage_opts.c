/*
 * Storage, part 4: index options beyond the key pattern — sparse,
 * partialFilterExpression and expireAfterSeconds (TTL). The TTL pass that
 * acts on them is storage_ttl.c (it writes through storage_docs.c, which
 * reads these options: one way).
 *
 * - Parsing and validation (st_index_opt_parse, st_index_opts_finish): the
 *   operators MongoDB 6.0 allows in a partial filter (equality, $eq,
 *   $exists: true, $gt/$gte/$lt/$lte, $type, $in, $and and $or), TTL on a
 *   single field, options written back into the spec listIndexes shows.
 * - Membership (st_index_covers): a sparse index leaves out documents missing
 *   every key field; a partial index those its filter does not match. The
 *   filter is matched by the query engine through hooks the server installs
 *   (docstore_storage_set_filter_ops): storage does not know the query
 *   language, and one matcher means one set of semantics.
 * - Implication (st_index_usable): the planner may read such an index only
 *   when the query guarantees every matching document is in it, as MongoDB
 *   decides it: each condition of the filter follows from a condition of the
 *   query on the same path (storage_index.c asks before planning on it).
 */
#include "docstore/storage/storage_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const docstore_storage_filter_ops_t *filter_ops;
static const docstore_storage_collation_ops_t *collation_ops;

void docstore_storage_set_filter_ops(const docstore_storage_filter_ops_t *ops)
{
    filter_ops = ops;
}

void docstore_storage_set_collation_ops(const docstore_storage_collation_ops_t *ops)
{
    collation_ops = ops;
}

/* Compiles collation document spec into ix (its collator and full spec;
 * nothing for the simple collation). */
static int collation_compile(st_index_t *ix, const bson_t *spec, docstore_error_t *err)
{
    if (collation_ops == NULL) {
        docstore_error_set(err, DOCSTORE_NOT_IMPLEMENTED,
                           "index collation is not supported by this storage (no collator "
                           "installed)");
        return -1;
    }
    void *c = NULL;
    bson_t *full = bson_new();
    if (full == NULL)
        return docstore_error_oom(err);
    if (collation_ops->compile(spec, &c, full, err) != 0) {
        bson_destroy(full);
        return -1;
    }
    if (c == NULL) {
        bson_destroy(full); /* simple: binary keys */
        return 0;
    }
    ix->collation = full;
    ix->kc.sort_key = collation_ops->sort_key;
    ix->kc.coll = c;
    return 0;
}

const docstore_key_coll_t *st_index_kc(const st_index_t *ix)
{
    return ix->collation != NULL ? &ix->kc : NULL;
}

bool st_index_coll_is(const st_index_t *ix, const bson_t *qc)
{
    if (ix->collation == NULL || qc == NULL)
        return ix->collation == NULL && qc == NULL;
    return ix->collation->len == qc->len &&
           memcmp(bson_get_data(ix->collation), bson_get_data(qc), qc->len) == 0;
}

bool st_index_coll_equal(const st_index_t *a, const st_index_t *b)
{
    return st_index_coll_is(a, b->collation);
}

int st_index_keyset(const st_index_t *ix, const bson_t *doc, docstore_keyset_t *ks,
                    docstore_error_t *err)
{
    return docstore_keyset_build_coll(ks, doc, (const char *const *)ix->fields, ix->desc,
                                      ix->nfields, st_index_kc(ix), err);
}

int st_index_opts_inherit(st_index_t *ix, const bson_t *opts, docstore_error_t *err)
{
    bson_iter_t it;
    if (ix->collation_given || opts == NULL || !bson_iter_init_find(&it, opts, "collation") ||
        !BSON_ITER_HOLDS_DOCUMENT(&it))
        return 0;
    uint32_t len;
    const uint8_t *data;
    bson_iter_document(&it, &len, &data);
    bson_t spec;
    if (!bson_init_static(&spec, data, len) || collation_compile(ix, &spec, err) != 0)
        return -1;
    ix->collation_given = true;
    if (ix->collation != NULL)
        BSON_APPEND_DOCUMENT(ix->spec, "collation", ix->collation);
    return 0;
}

/* ---- parsing ---- */

static int partial_error(const char *what, docstore_error_t *err)
{
    docstore_error_set(err, DOCSTORE_CANNOT_CREATE_INDEX,
                       "Error in specification { partialFilterExpression: ... } :: caused by :: "
                       "Expression not supported in partial index: %s",
                       what);
    return -1;
}

static int check_partial(const bson_t *f, int depth, docstore_error_t *err);

static int check_partial_list(bson_iter_t *it, const char *op, int depth, docstore_error_t *err)
{
    bson_iter_t ai;
    if (!BSON_ITER_HOLDS_ARRAY(it) || !bson_iter_recurse(it, &ai))
        return partial_error(op, err);
    bool any = false;
    while (bson_iter_next(&ai)) {
        uint32_t len;
        const uint8_t *data;
        bson_t sub;
        if (!BSON_ITER_HOLDS_DOCUMENT(&ai))
            return partial_error(op, err);
        bson_iter_document(&ai, &len, &data);
        if (!bson_init_static(&sub, data, len) || check_partial(&sub, depth + 1, err))
            return -1;
        any = true;
    }
    if (!any) {
        docstore_error_set(err, DOCSTORE_BAD_VALUE, "%s must be a nonempty array", op);
        return -1;
    }
    return 0;
}

/* One field's condition: a value (equality) or operators from the list. */
static int check_partial_field(bson_iter_t *it, docstore_error_t *err)
{
    if (!BSON_ITER_HOLDS_DOCUMENT(it))
        return BSON_ITER_HOLDS_REGEX(it) ? partial_error("$regex", err) : 0;
    bson_iter_t ci;
    if (!bson_iter_recurse(it, &ci))
        return partial_error("?", err);
    bool first = true;
    while (bson_iter_next(&ci)) {
        const char *op = bson_iter_key(&ci);
        if (op[0] != '$') {
            if (first)
                return 0; /* an embedded document, compared whole */
            return partial_error(op, err);
        }
        first = false;
        if (strcmp(op, "$exists") == 0) {
            if (!bson_iter_as_bool(&ci))
                return partial_error("$exists: false", err);
        } else if (strcmp(op, "$in") == 0) {
            if (!BSON_ITER_HOLDS_ARRAY(&ci))
                return partial_error("$in", err);
        } else if (strcmp(op, "$eq") != 0 && strcmp(op, "$gt") != 0 && strcmp(op, "$gte") != 0 &&
                   strcmp(op, "$lt") != 0 && strcmp(op, "$lte") != 0 && strcmp(op, "$type") != 0) {
            return partial_error(op, err);
        }
    }
    return 0;
}

static int check_partial(const bson_t *f, int depth, docstore_error_t *err)
{
    bson_iter_t it;
    if (depth > 4 || !bson_iter_init(&it, f))
        return partial_error("nesting", err);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "$and") == 0 || strcmp(k, "$or") == 0) {
            if (check_partial_list(&it, k, depth, err))
                return -1;
        } else if (k[0] == '$') {
            return partial_error(k, err);
        } else if (check_partial_field(&it, err)) {
            return -1;
        }
    }
    return 0;
}

int st_index_opt_parse(bson_iter_t *it, st_index_t *ix, docstore_error_t *err)
{
    const char *f = bson_iter_key(it);
    if (strcmp(f, "sparse") == 0) {
        ix->sparse = bson_iter_as_bool(it);
        return 1;
    }
    if (strcmp(f, "expireAfterSeconds") == 0) {
        if (!BSON_ITER_HOLDS_NUMBER(it)) {
            docstore_error_set(err, DOCSTORE_CANNOT_CREATE_INDEX,
                               "TTL index 'expireAfterSeconds' option must be numeric");
            return -1;
        }
        double v = bson_iter_as_double(it);
        if (!(v >= 0 && v <= 2147483647.0)) {
            docstore_error_set(err, DOCSTORE_CANNOT_CREATE_INDEX,
                               "TTL index 'expireAfterSeconds' option must be within an "
                               "acceptable range [0, 2147483647]");
            return -1;
        }
        ix->ttl = (int64_t)v;
        return 1;
    }
    if (strcmp(f, "collation") == 0) {
        if (!BSON_ITER_HOLDS_DOCUMENT(it)) {
            docstore_error_set(err, DOCSTORE_TYPE_MISMATCH,
                               "The field 'collation' must be an object");
            return -1;
        }
        uint32_t len;
        const uint8_t *data;
        bson_iter_document(it, &len, &data);
        bson_t spec;
        if (ix->collation_given || !bson_init_static(&spec, data, len)) {
            docstore_error_set(err, DOCSTORE_BAD_VALUE, "invalid index collation");
            return -1;
        }
        if (collation_compile(ix, &spec, err) != 0)
            return -1;
        ix->collation_given = true;
        return 1;
    }
    if (strcmp(f, "partialFilterExpression") == 0) {
        if (!BSON_ITER_HOLDS_DOCUMENT(it)) {
            docstore_error_set(err, DOCSTORE_TYPE_MISMATCH,
                               "The field 'partialFilterExpression' must be an object");
            return -1;
        }
        uint32_t len;
        const uint8_t *data;
        bson_iter_document(it, &len, &data);
        bson_t f2;
        if (!bson_init_static(&f2, data, len) || check_partial(&f2, 0, err))
            return -1;
        if (filter_ops == NULL) {
            docstore_error_set(err, DOCSTORE_NOT_IMPLEMENTED,
                               "partialFilterExpression is not supported by this storage "
                               "(no matcher installed)");
            return -1;
        }
        /* The matcher's own checks ($type names, ...) fail the creation, not
         * every later write. */
        void *m = NULL;
        if (filter_ops->compile(&f2, &m, err) != 0)
            return -1;
        filter_ops->free(m);
        if (ix->partial)
            bson_destroy(ix->partial);
        ix->partial = bson_new_from_data(data, len);
        if (ix->partial == NULL) {
            docstore_error_set(err, DOCSTORE_INTERNAL_ERROR, "storage: out of memory");
            return -1;
        }
        return 1;
    }
    return 0;
}

int st_index_opts_check_id(const st_index_t *ix, docstore_error_t *err)
{
    if ((ix->sparse || ix->partial || ix->ttl >= 0 || ix->collation) && ix->nfields == 1 &&
        strcmp(ix->fields[0], "_id") == 0) {
        docstore_error_set(err, DOCSTORE_INVALID_INDEX_SPECIFICATION_OPTION,
                           "The field '%s' is not valid for an _id index specification.",
                           ix->ttl >= 0  ? "expireAfterSeconds"
                           : ix->sparse  ? "sparse"
                           : ix->partial ? "partialFilterExpression"
                                         : "collation");
        return -1;
    }
    return 0;
}

int st_index_opts_finish(st_index_t *ix, docstore_error_t *err)
{
    if (ix->sparse && ix->partial) {
        docstore_error_set(err, DOCSTORE_CANNOT_CREATE_INDEX,
                           "cannot mix \"partialFilterExpression\" and \"sparse\" options");
        return -1;
    }
    if (ix->ttl >= 0 && ix->nfields != 1) {
        docstore_error_set(err, DOCSTORE_CANNOT_CREATE_INDEX,
                           "TTL indexes are single-field indexes, compound indexes do not "
                           "support TTL. Index spec: %s",
                           ix->name);
        return -1;
    }
    if (ix->sparse)
        BSON_APPEND_BOOL(ix->spec, "sparse", true);
    if (ix->partial)
        BSON_APPEND_DOCUMENT(ix->spec, "partialFilterExpression", ix->partial);
    if (ix->ttl >= 0)
        BSON_APPEND_INT32(ix->spec, "expireAfterSeconds", (int32_t)ix->ttl);
    if (ix->collation)
        BSON_APPEND_DOCUMENT(ix->spec, "collation", ix->collation);
    return 0;
}

void st_index_opts_free(st_index_t *ix)
{
    if (ix->partial)
        bson_destroy(ix->partial);
    if (ix->partial_m && filter_ops)
        filter_ops->free(ix->partial_m);
    ix->partial = NULL;
    ix->partial_m = NULL;
    if (ix->collation)
        bson_destroy(ix->collation);
    if (ix->kc.coll && collation_ops)
        collation_ops->free((void *)(uintptr_t)ix->kc.coll);
    ix->collation = NULL;
    ix->kc.coll = NULL;
}

bool st_index_opts_equal(const st_index_t *a, const st_index_t *b)
{
    if (a->unique != b->unique || a->sparse != b->sparse || a->ttl != b->ttl)
        return false;
    if ((a->partial == NULL) != (b->partial == NULL))
        return false;
    return a->partial == NULL ||
           (a->partial->len == b->partial->len &&
            memcmp(bson_get_data(a->partial), bson_get_data(b->partial), a->partial->len) == 0);
}

/* ---- membership ---- */

static bool path_exists(const uint8_t *data, uint32_t len, const char *path, int depth);

/* The rest of a path inside one array element: a numeric component names
 * the element itself, and a document element holds the rest directly. */
static bool path_exists_in_array(const uint8_t *data, uint32_t len, const char *path, int depth)
{
    bson_t arr;
    bson_iter_t ai;
    if (depth > 100 || !bson_init_static(&arr, data, len) || !bson_iter_init(&ai, &arr))
        return false;
    const char *dot = strchr(path, '.');
    size_t n = dot ? (size_t)(dot - path) : strlen(path);
    while (bson_iter_next(&ai)) {
        uint32_t el;
        const uint8_t *ed;
        const char *key = bson_iter_key(&ai);
        if (strlen(key) == n && memcmp(key, path, n) == 0) {
            if (dot == NULL)
                return true;
            if (BSON_ITER_HOLDS_DOCUMENT(&ai)) {
                bson_iter_document(&ai, &el, &ed);
                if (path_exists(ed, el, dot + 1, depth + 1))
                    return true;
            } else if (BSON_ITER_HOLDS_ARRAY(&ai)) {
                bson_iter_array(&ai, &el, &ed);
                if (path_exists_in_array(ed, el, dot + 1, depth + 1))
                    return true;
            }
        }
        if (BSON_ITER_HOLDS_DOCUMENT(&ai)) {
            bson_iter_document(&ai, &el, &ed);
            if (path_exists(ed, el, path, depth + 1))
                return true;
        }
    }
    return false;
}

/* Whether path exists in a document, through arrays as MongoDB's sparse
 * indexes see it (an array element holding the rest of the path counts). */
static bool path_exists(const uint8_t *data, uint32_t len, const char *path, int depth)
{
    bson_t doc;
    bson_iter_t it;
    if (depth > 100 || !bson_init_static(&doc, data, len) || !bson_iter_init(&it, &doc))
        return false;
    const char *dot = strchr(path, '.');
    size_t n = dot ? (size_t)(dot - path) : strlen(path);
    if (!bson_iter_find_w_len(&it, path, (int)n))
        return false;
    if (dot == NULL)
        return true;
    uint32_t clen;
    const uint8_t *cdata;
    if (BSON_ITER_HOLDS_DOCUMENT(&it)) {
        bson_iter_document(&it, &clen, &cdata);
        return path_exists(cdata, clen, dot + 1, depth + 1);
    }
    if (!BSON_ITER_HOLDS_ARRAY(&it))
        return false;
    bson_iter_array(&it, &clen, &cdata);
    return path_exists_in_array(cdata, clen, dot + 1, depth + 1);
}

int st_index_covers(st_index_t *ix, const bson_t *doc, bool *in, docstore_error_t *err)
{
    *in = true;
    if (ix->sparse) {
        bool any = false;
        for (size_t i = 0; i < ix->nfields && !any; i++)
            any = path_exists(bson_get_data(doc), doc->len, ix->fields[i], 0);
        if (!any) {
            *in = false;
            return 0;
        }
    }
    if (ix->partial) {
        if (filter_ops == NULL) {
            docstore_error_set(err, DOCSTORE_NOT_IMPLEMENTED,
                               "partial index %s: no matcher installed", ix->name);
            return -1;
        }
        if (ix->partial_m == NULL && filter_ops->compile(ix->partial, &ix->partial_m, err) != 0)
            return -1;
        *in = filter_ops->matches(ix->partial_m, doc);
    }
    return 0;
}

/* ---- implication: may the planner read this index for this query? ---- */

/* One condition of a conjunction: path, operator, operand. */
typedef struct cond {
    const char *path;
    size_t plen;
    const char *op; /* "$eq" for a plain value */
    bson_value_t v; /* borrowed */
} cond_t;

typedef struct conds {
    cond_t c[64];
    size_t n;
    bool overflow;
} conds_t;

static void conds_add(conds_t *cs, const char *path, size_t plen, const char *op,
                      const bson_value_t *v)
{
    if (cs->n == 64) {
        cs->overflow = true;
        return;
    }
    cs->c[cs->n++] = (cond_t){path, plen, op, *v};
}

/* Flattens a filter's top level and its $and into conditions; a $or is left
 * out (the query's $or only narrows further: leaving it out is safe). */
static void conds_collect(const bson_t *f, conds_t *cs, int depth)
{
    bson_iter_t it;
    if (depth > 4 || !bson_iter_init(&it, f))
        return;
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "$and") == 0 && BSON_ITER_HOLDS_ARRAY(&it)) {
            bson_iter_t ai;
            bson_iter_recurse(&it, &ai);
            while (bson_iter_next(&ai)) {
                uint32_t len;
                const uint8_t *data;
                bson_t sub;
                if (!BSON_ITER_HOLDS_DOCUMENT(&ai))
                    continue;
                bson_iter_document(&ai, &len, &data);
                if (bson_init_static(&sub, data, len))
                    conds_collect(&sub, cs, depth + 1);
            }
            continue;
        }
        if (k[0] == '$')
            continue;
        const bson_value_t *v = bson_iter_value(&it);
        if (v->value_type == BSON_TYPE_DOCUMENT) {
            bson_t d;
            bson_iter_t di;
            if (bson_init_static(&d, v->value.v_doc.data, v->value.v_doc.data_len) &&
                bson_iter_init(&di, &d) && bson_iter_next(&di) && bson_iter_key(&di)[0] == '$') {
                do
                    conds_add(cs, k, strlen(k), bson_iter_key(&di), bson_iter_value(&di));
                while (bson_iter_next(&di));
                continue;
            }
        }
        conds_add(cs, k, strlen(k), "$eq", v);
    }
}

/* Compares two values through their key encodings (MongoDB's order):
 * *bracket is whether both are in one type bracket. */
static int enc_cmp(const bson_value_t *a, const bson_value_t *b, bool *bracket)
{
    buf_t x, y;
    buf_init(&x, DOCSTORE_KEY_MAX);
    buf_init(&y, DOCSTORE_KEY_MAX);
    int c = 2;
    if (docstore_key_append(&x, a, false) == 0 && docstore_key_append(&y, b, false) == 0) {
        size_t n = x.len < y.len ? x.len : y.len;
        c = memcmp(x.data, y.data, n);
        c = c ? (c > 0 ? 1 : -1) : (x.len > y.len) - (x.len < y.len);
        *bracket = x.data[0] == y.data[0];
    } else {
        *bracket = false;
    }
    buf_free(&x);
    buf_free(&y);
    return c;
}

static bool is_nullish(const bson_value_t *v)
{
    return v->value_type == BSON_TYPE_NULL || v->value_type == BSON_TYPE_UNDEFINED ||
           v->value_type == BSON_TYPE_MINKEY || v->value_type == BSON_TYPE_MAXKEY;
}

/* $exists: x as MongoDB reads x: false, 0 and null are false. */
static bool value_truthy(const bson_value_t *v)
{
    switch (v->value_type) {
    case BSON_TYPE_BOOL:
        return v->value.v_bool;
    case BSON_TYPE_INT32:
        return v->value.v_int32 != 0;
    case BSON_TYPE_INT64:
        return v->value.v_int64 != 0;
    case BSON_TYPE_DOUBLE:
        return v->value.v_double != 0;
    case BSON_TYPE_NULL:
    case BSON_TYPE_UNDEFINED:
        return false;
    default:
        return true;
    }
}

/* Does a query value v (an equality) satisfy the filter condition f? */
static bool value_satisfies(const bson_value_t *v, const cond_t *f)
{
    bool br;
    if (strcmp(f->op, "$exists") == 0)
        return !is_nullish(v);
    if (strcmp(f->op, "$eq") == 0)
        return v->value_type != BSON_TYPE_REGEX && v->value_type != BSON_TYPE_ARRAY &&
               enc_cmp(v, &f->v, &br) == 0;
    if (strcmp(f->op, "$in") == 0) {
        bson_t arr;
        bson_iter_t ai;
        if (v->value_type == BSON_TYPE_REGEX || v->value_type == BSON_TYPE_ARRAY ||
            f->v.value_type != BSON_TYPE_ARRAY ||
            !bson_init_static(&arr, f->v.value.v_doc.data, f->v.value.v_doc.data_len) ||
            !bson_iter_init(&ai, &arr))
            return false;
        while (bson_iter_next(&ai)) {
            if (enc_cmp(v, bson_iter_value(&ai), &br) == 0)
                return true;
        }
        return false;
    }
    if (f->op[1] == 'g' || f->op[1] == 'l') { /* $gt $gte $lt $lte */
        if (is_nullish(v) || is_nullish(&f->v) || v->value_type == BSON_TYPE_REGEX ||
            v->value_type == BSON_TYPE_ARRAY)
            return false;
        int c = enc_cmp(v, &f->v, &br);
        if (!br)
            return false;
        bool incl = f->op[3] == 'e';
        return f->op[1] == 'g' ? (c > 0 || (incl && c == 0)) : (c < 0 || (incl && c == 0));
    }
    return false;
}

/* Does the query condition q imply the filter condition f (same path)? */
static bool cond_implies(const cond_t *q, const cond_t *f)
{
    const char *qo = q->op, *fo = f->op;
    bool br;
    if (strcmp(qo, "$eq") == 0)
        return value_satisfies(&q->v, f);
    if (strcmp(qo, "$in") == 0) {
        bson_t arr;
        bson_iter_t ai;
        if (q->v.value_type != BSON_TYPE_ARRAY ||
            !bson_init_static(&arr, q->v.value.v_doc.data, q->v.value.v_doc.data_len) ||
            !bson_iter_init(&ai, &arr))
            return false;
        while (bson_iter_next(&ai)) {
            if (!value_satisfies(bson_iter_value(&ai), f))
                return false;
        }
        return true; /* $in: [] matches nothing */
    }
    if (strcmp(fo, "$exists") == 0) {
        /* Conditions no missing field meets (SERVER-18457's list). */
        if (strcmp(qo, "$exists") == 0)
            return value_truthy(&q->v);
        if (strcmp(qo, "$type") == 0 || strcmp(qo, "$regex") == 0 ||
            strcmp(qo, "$elemMatch") == 0 || strcmp(qo, "$size") == 0 || strcmp(qo, "$mod") == 0 ||
            strcmp(qo, "$all") == 0)
            return true;
        if (qo[1] == 'g' || qo[1] == 'l')
            return !is_nullish(&q->v);
        return false;
    }
    if (strcmp(fo, "$type") == 0)
        return strcmp(qo, "$type") == 0 && enc_cmp(&q->v, &f->v, &br) == 0;
    if ((fo[1] == 'g' || fo[1] == 'l') && qo[1] == fo[1] &&
        (strcmp(qo, "$gt") == 0 || strcmp(qo, "$gte") == 0 || strcmp(qo, "$lt") == 0 ||
         strcmp(qo, "$lte") == 0)) {
        if (is_nullish(&q->v) || is_nullish(&f->v))
            return false;
        int c = enc_cmp(&q->v, &f->v, &br);
        if (!br)
            return false;
        bool q_incl = qo[3] == 'e', f_incl = fo[3] == 'e';
        if (fo[1] == 'g') /* q: v > a (>= a) implies v > b (>= b)? */
            return c > 0 || (c == 0 && (f_incl || !q_incl));
        return c < 0 || (c == 0 && (f_incl || !q_incl));
    }
    return false;
}

static bool conj_implies(const conds_t *q, const bson_t *filter, int depth);

/* Does the query's conjunction q imply every condition of filter (its top
 * level, $and and $or, the last by one branch implied)? */
static bool conj_implies(const conds_t *q, const bson_t *filter, int depth)
{
    bson_iter_t it;
    if (depth > 4 || !bson_iter_init(&it, filter))
        return false;
    conds_t fs = {.n = 0};
    conds_collect(filter, &fs, 0);
    if (fs.overflow)
        return false;
    for (size_t i = 0; i < fs.n; i++) {
        bool ok = false;
        for (size_t j = 0; j < q->n && !ok; j++) {
            ok = q->c[j].plen == fs.c[i].plen &&
                 memcmp(q->c[j].path, fs.c[i].path, fs.c[i].plen) == 0 &&
                 cond_implies(&q->c[j], &fs.c[i]);
        }
        if (!ok)
            return false;
    }
    /* Each $or of the filter (at the top or inside its $and): one branch. */
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        bool is_or = strcmp(k, "$or") == 0, is_and = strcmp(k, "$and") == 0;
        if ((!is_or && !is_and) || !BSON_ITER_HOLDS_ARRAY(&it))
            continue;
        bson_iter_t ai;
        bson_iter_recurse(&it, &ai);
        bool any = false;
        while (bson_iter_next(&ai)) {
            uint32_t len;
            const uint8_t *data;
            bson_t sub;
            if (!BSON_ITER_HOLDS_DOCUMENT(&ai))
                return false;
            bson_iter_document(&ai, &len, &data);
            if (!bson_init_static(&sub, data, len))
                return false;
            if (is_and) {
                /* Its plain conditions were collected above; its $or remain. */
                bson_iter_t si;
                if (bson_iter_init_find(&si, &sub, "$or") && !conj_implies(q, &sub, depth + 1))
                    return false;
                continue;
            }
            if (conj_implies(q, &sub, depth + 1)) {
                any = true;
                break;
            }
        }
        if (is_or && !any)
            return false;
    }
    return true;
}

bool st_index_usable(const st_index_t *ix, const bson_t *query)
{
    if (!ix->sparse && ix->partial == NULL)
        return true;
    conds_t q = {.n = 0};
    conds_collect(query, &q, 0);
    if (ix->sparse) {
        /* Some key field must be known present: a condition missing fields fail. */
        bool present = false;
        for (size_t i = 0; i < ix->nfields && !present; i++) {
            cond_t f = {ix->fields[i], strlen(ix->fields[i]), "$exists", {0}};
            for (size_t j = 0; j < q.n && !present; j++)
                present = q.c[j].plen == f.plen && memcmp(q.c[j].path, f.path, f.plen) == 0 &&
                          cond_implies(&q.c[j], &f);
        }
        if (!present)
            return false;
    }
    return ix->partial == NULL || conj_implies(&q, ix->partial, 0);
}
