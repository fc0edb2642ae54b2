/*
 * Storage, part 3: secondary indexes (create, list, drop; their specs are
 * parsed in storage.c, which loads them from the catalog) and the scan
 * planner. A scan looks at the filter's top-level conditions (and those of a
 * top-level $and) for equality, $in or range predicates on _id or on the
 * leading field of an index, turns them into byte ranges of encoded keys and
 * reads only those ranges; the matcher still filters what comes back. Ranges
 * stay inside the bound's type bracket, as MongoDB's index bounds do: $gt: 5
 * covers numbers above 5, not strings.
 */
#include "docstore/base/decimal.h"
#include "docstore/storage/storage_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int st_index_create_tables(st_db_t *d, int64_t id, bool unique, docstore_error_t *err)
{
    char sql[160];
    if (unique)
        snprintf(sql, sizeof sql,
                 "CREATE TABLE i%lld(k BLOB PRIMARY KEY, rid INTEGER NOT NULL) WITHOUT ROWID",
                 (long long)id);
    else
        snprintf(sql, sizeof sql,
                 "CREATE TABLE i%lld(k BLOB NOT NULL, rid INTEGER NOT NULL, PRIMARY KEY(k, rid))"
                 " WITHOUT ROWID",
                 (long long)id);
    return st_exec(d, sql, err);
}

static bool same_key(const bson_t *a, const bson_t *b)
{
    /* Key patterns match when fields and directions match ({a: 1} == {a: 1.0}). */
    bson_iter_t x, y;
    if (!bson_iter_init(&x, a) || !bson_iter_init(&y, b))
        return false;
    for (;;) {
        bool nx = bson_iter_next(&x), ny = bson_iter_next(&y);
        if (!nx || !ny)
            return nx == ny;
        if (strcmp(bson_iter_key(&x), bson_iter_key(&y)) != 0)
            return false;
        if ((bson_iter_as_double(&x) < 0) != (bson_iter_as_double(&y) < 0))
            return false;
    }
}

static int build_index(st_db_t *d, st_coll_t *c, st_index_t *ix, docstore_error_t *err)
{
    char sql[64];
    snprintf(sql, sizeof sql, "SELECT rid, doc FROM c%lld", (long long)c->id);
    sqlite3_stmt *s;
    if (st_stmt(d, sql, &s, err))
        return -1;
    int r, rc = 0;
    while (rc == 0 && (r = sqlite3_step(s)) == SQLITE_ROW) {
        bson_t doc;
        if (!bson_init_static(&doc, sqlite3_column_blob(s, 1), (size_t)sqlite3_column_bytes(s, 1)))
            continue;
        rc = st_index_add_doc(d, c, ix, &doc, sqlite3_column_int64(s, 0), err);
    }
    if (rc == 0 && r != SQLITE_DONE)
        rc = st_sql_error(d, "index build", err);
    st_stmt_done(d, s);
    return rc;
}

static int create_index_in_op(st_db_t *d, const char *coll, st_index_t *ix, bool *created,
                              docstore_error_t *err)
{
    st_coll_t *c = st_coll_find(d, coll);
    if (c == NULL && st_coll_create(d, coll, &c, err))
        return -1;
    if (st_index_opts_inherit(ix, c->options, err) != 0)
        return -1;
    for (size_t i = 0; i < c->nindexes; i++) {
        st_index_t *o = &c->indexes[i];
        /* As MongoDB: one key pattern may have an index per collation. */
        bool key_eq = same_key(o->key, ix->key) && st_index_coll_equal(o, ix);
        if (strcmp(o->name, ix->name) == 0) {
            if (key_eq && st_index_opts_equal(o, ix))
                return 0; /* already there */
            if (key_eq) {
                docstore_error_set(err, DOCSTORE_INDEX_OPTIONS_CONFLICT,
                                   "An equivalent index already exists with the same name but "
                                   "different options. Requested index: %s, existing index: %s",
                                   ix->name, o->name);
                return -1;
            }
            docstore_error_set(err, DOCSTORE_INDEX_KEY_SPECS_CONFLICT,
                               "An existing index has the same name as the requested index. "
                               "Requested index: %s, existing index: %s",
                               ix->name, o->name);
            return -1;
        }
        if (key_eq) {
            docstore_error_set(err, DOCSTORE_INDEX_OPTIONS_CONFLICT,
                               "Index already exists with a different name: %s", o->name);
            return -1;
        }
    }
    if (c->nindexes >= 63) {
        docstore_error_set(err, DOCSTORE_CANNOT_CREATE_INDEX,
                           "add index fails, too many indexes for %s.%s", d->name, coll);
        return -1;
    }
    int64_t id;
    if (st_next_id(d, &id, err) || st_index_create_tables(d, id, ix->unique, err))
        return -1;
    ix->id = id;
    sqlite3_stmt *s;
    if (st_stmt(d, "INSERT INTO _indexes(coll, name, id, spec) VALUES (?1, ?2, ?3, ?4)", &s, err))
        return -1;
    sqlite3_bind_text(s, 1, coll, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, ix->name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 3, id);
    sqlite3_bind_blob(s, 4, bson_get_data(ix->spec), (int)ix->spec->len, SQLITE_TRANSIENT);
    int r = sqlite3_step(s);
    st_stmt_done(d, s);
    if (r != SQLITE_DONE)
        return st_sql_error(d, "create index", err);
    if (build_index(d, c, ix, err))
        return -1;
    *created = true;
    return st_meta_load(d, err);
}

/* {key: {_id: 1}} (named _id_ or unnamed): the index every collection has. */
static bool is_id_index(const bson_t *spec)
{
    bson_iter_t it, k;
    if (!bson_iter_init_find(&it, spec, "key") || !BSON_ITER_HOLDS_DOCUMENT(&it) ||
        !bson_iter_recurse(&it, &k) || !bson_iter_next(&k) || strcmp(bson_iter_key(&k), "_id") ||
        !BSON_ITER_HOLDS_NUMBER(&k) || bson_iter_as_double(&k) != 1 || bson_iter_next(&k))
        return false;
    if (bson_iter_init_find(&it, spec, "unique") && bson_iter_as_bool(&it))
        return false;
    /* sparse/partial/TTL on _id: st_index_parse's error, not a silent _id_. */
    if ((bson_iter_init_find(&it, spec, "sparse") && bson_iter_as_bool(&it)) ||
        bson_iter_init_find(&it, spec, "partialFilterExpression") ||
        bson_iter_init_find(&it, spec, "expireAfterSeconds") ||
        bson_iter_init_find(&it, spec, "collation"))
        return false;
    return !bson_iter_init_find(&it, spec, "name") ||
           (BSON_ITER_HOLDS_UTF8(&it) && strcmp(bson_iter_utf8(&it, NULL), "_id_") == 0);
}

int docstore_storage_create_index(docstore_storage_t *st, const char *db, const char *coll,
                                  const bson_t *spec, bool *created, docstore_error_t *err)
{
    *created = false;
    st_db_t *d;
    st_index_t ix;
    if (is_id_index(spec))
        return docstore_storage_create_collection(st, db, coll, false, err); /* _id_ exists */
    if (st_check_coll_name(db, coll, err) || st_index_parse(spec, &ix, err))
        return -1;
    int rc = -1;
    if (st_db_get(st, db, true, &d, err) || st_op_begin(d, err))
        goto out;
    rc = create_index_in_op(d, coll, &ix, created, err);
    if (st_op_end(d, rc == 0, err) != 0)
        rc = -1;
    if (rc != 0)
        *created = false;
out:
    st_index_free(&ix);
    return rc;
}

int docstore_storage_list_indexes(docstore_storage_t *st, const char *db, const char *coll,
                                  docstore_doclist_t *out, docstore_error_t *err)
{
    st_db_t *d;
    if (st_db_get(st, db, false, &d, err))
        return -1;
    st_coll_t *c = d ? st_coll_find(d, coll) : NULL;
    if (c == NULL) {
        docstore_error_set(err, DOCSTORE_NAMESPACE_NOT_FOUND, "ns does not exist: %s.%s", db, coll);
        return -1;
    }
    bson_t *id = BCON_NEW("v", BCON_INT32(2), "key", "{", "_id", BCON_INT32(1), "}", "name",
                          BCON_UTF8("_id_"));
    if (docstore_doclist_push(out, id))
        goto nomem;
    for (size_t i = 0; i < c->nindexes; i++) {
        if (docstore_doclist_push_copy(out, c->indexes[i].spec))
            goto nomem;
    }
    return 0;
nomem:
    docstore_error_set(err, DOCSTORE_INTERNAL_ERROR, "storage: out of memory");
    return -1;
}

int docstore_storage_drop_index(docstore_storage_t *st, const char *db, const char *coll,
                                const char *name, docstore_error_t *err)
{
    st_db_t *d;
    if (st_db_get(st, db, false, &d, err))
        return -1;
    st_coll_t *c = d ? st_coll_find(d, coll) : NULL;
    if (c == NULL) {
        docstore_error_set(err, DOCSTORE_NAMESPACE_NOT_FOUND, "ns not found %s.%s", db, coll);
        return -1;
    }
    if (strcmp(name, "_id_") == 0) {
        docstore_error_set(err, DOCSTORE_INVALID_OPTIONS, "cannot drop _id index");
        return -1;
    }
    bool all = strcmp(name, "*") == 0, found = false;
    for (size_t i = 0; i < c->nindexes; i++)
        found |= all || strcmp(c->indexes[i].name, name) == 0;
    if (!found) {
        if (all)
            return 0;
        docstore_error_set(err, DOCSTORE_INDEX_NOT_FOUND, "index not found with name [%s]", name);
        return -1;
    }
    if (st_op_begin(d, err))
        return -1;
    st_stmt_clear(d);
    int rc = 0;
    for (size_t i = 0; i < c->nindexes && rc == 0; i++) {
        if (!all && strcmp(c->indexes[i].name, name) != 0)
            continue;
        char sql[128];
        snprintf(sql, sizeof sql,
                 "DROP TABLE IF EXISTS i%lld; DELETE FROM _multikey WHERE id = %lld",
                 (long long)c->indexes[i].id, (long long)c->indexes[i].id);
        rc = st_exec(d, sql, err);
        sqlite3_stmt *s;
        if (rc == 0 &&
            (rc = st_stmt(d, "DELETE FROM _indexes WHERE coll = ?1 AND name = ?2", &s, err)) == 0) {
            sqlite3_bind_text(s, 1, coll, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(s, 2, c->indexes[i].name, -1, SQLITE_TRANSIENT);
            if (sqlite3_step(s) != SQLITE_DONE)
                rc = st_sql_error(d, "drop index", err);
            st_stmt_done(d, s);
        }
    }
    if (rc == 0)
        rc = st_meta_load(d, err);
    if (st_op_end(d, rc == 0, err) != 0)
        return -1;
    return rc;
}

/* ---- scan planning ---- */

typedef struct range {
    buf_t lo; /* inclusive; empty: from the start */
    buf_t hi; /* exclusive; empty: to the end */
} range_t;

typedef struct plan {
    range_t *r;
    size_t n;
    int score;             /* lower is better: rank * 1000 + target; 100000: none */
    struct plan *branches; /* a $or: one plan per branch, their union */
    size_t nbranches;
    bson_value_t cond; /* the condition the ranges come from (explain; into the filter) */
} plan_t;

#define PLAN_NONE (100 * 1000)
#define PLAN_OR   (50 * 1000)

static void plan_free(plan_t *p)
{
    for (size_t i = 0; i < p->n; i++) {
        buf_free(&p->r[i].lo);
        buf_free(&p->r[i].hi);
    }
    free(p->r);
    p->r = NULL;
    p->n = 0;
    for (size_t i = 0; i < p->nbranches; i++)
        plan_free(&p->branches[i]);
    free(p->branches);
    p->branches = NULL;
    p->nbranches = 0;
}

static range_t *plan_add(plan_t *p)
{
    range_t *r = realloc(p->r, (p->n + 1) * sizeof *r);
    if (r == NULL)
        return NULL;
    p->r = r;
    range_t *x = &p->r[p->n++];
    buf_init(&x->lo, DOCSTORE_KEY_MAX);
    buf_init(&x->hi, DOCSTORE_KEY_MAX);
    return x;
}

static bool point_ok(const bson_value_t *v)
{
    return v->value_type != BSON_TYPE_ARRAY && v->value_type != BSON_TYPE_REGEX;
}

static bool bound_ok(const bson_value_t *v)
{
    switch (v->value_type) {
    case BSON_TYPE_ARRAY:
    case BSON_TYPE_REGEX:
    case BSON_TYPE_NULL:
    case BSON_TYPE_UNDEFINED:
    case BSON_TYPE_MINKEY:
    case BSON_TYPE_MAXKEY:
    case BSON_TYPE_EOD:
        return false;
    default:
        return true;
    }
}

/* Every key whose leading component is v: [enc(v), prefix_end(enc(v))). */
static int add_point(plan_t *p, const bson_value_t *v, bool desc, const docstore_key_coll_t *kc)
{
    range_t *r = plan_add(p);
    if (r == NULL || docstore_key_append_coll(&r->lo, v, desc, kc) != 0)
        return -1;
    if (!docstore_key_prefix_end((const uint8_t *)r->lo.data, r->lo.len, &r->hi))
        buf_reset(&r->hi);
    return 0;
}

static int cmp_bytes(const buf_t *a, const buf_t *b)
{
    size_t n = a->len < b->len ? a->len : b->len;
    int c = n ? memcmp(a->data, b->data, n) : 0;
    return c ? c : (a->len > b->len) - (a->len < b->len);
}

/* A range on a descending field. Its keys are the ascending encodings
 * complemented, so the order flips: v >= lo bounds the keys from above
 * (below prefix_end(~enc(lo)) inclusive, below ~enc(lo) exclusive), v <= hi
 * from below (from ~enc(hi) inclusive, from prefix_end(~enc(hi)) exclusive),
 * and a missing side stops at the edge of the other bound's type bracket,
 * whose keys start with the complemented bracket byte. */
static bool desc_range_plan(const bson_value_t *lo, bool lo_incl, const bson_value_t *hi,
                            bool hi_incl, const docstore_key_coll_t *kc, plan_t *p)
{
    range_t *r = plan_add(p);
    if (r == NULL)
        return false;
    uint8_t lo_rank = docstore_key_rank((lo ? lo : hi)->value_type);
    uint8_t hi_rank = docstore_key_rank((hi ? hi : lo)->value_type);
    buf_t tmp;
    buf_init(&tmp, DOCSTORE_KEY_MAX);
    bool ok = true;
    if (hi) {
        ok = docstore_key_append_coll(&tmp, hi, true, kc) == 0;
        if (ok && hi_incl)
            ok = buf_append(&r->lo, tmp.data, tmp.len) == 0;
        else if (ok)
            ok = docstore_key_prefix_end((const uint8_t *)tmp.data, tmp.len, &r->lo);
    } else {
        uint8_t start = (uint8_t)~lo_rank; /* the start of lo's bracket */
        ok = buf_append(&r->lo, &start, 1) == 0;
    }
    buf_reset(&tmp);
    if (ok && lo) {
        ok = docstore_key_append_coll(&tmp, lo, true, kc) == 0;
        if (ok && lo_incl)
            ok = docstore_key_prefix_end((const uint8_t *)tmp.data, tmp.len, &r->hi);
        else if (ok)
            ok = buf_append(&r->hi, tmp.data, tmp.len) == 0;
    } else if (ok) {
        uint8_t end = (uint8_t)((uint8_t)~hi_rank + 1); /* the end of hi's bracket */
        ok = buf_append(&r->hi, &end, 1) == 0;
    }
    if (ok && lo_rank != hi_rank) {
        buf_reset(&r->hi);
        ok = buf_append(&r->hi, r->lo.data, r->lo.len) == 0;
    }
    buf_free(&tmp);
    return ok;
}

/* The ranges for one field's condition; false when it cannot use an index.
 * On a multikey index, $gt and $lt may hold for different elements of one
 * array, so only the lower bound (else the upper) narrows the scan. */
static bool field_plan(const bson_value_t *cond, bool desc, bool multikey,
                       const docstore_key_coll_t *kc, plan_t *p)
{
    if (cond->value_type != BSON_TYPE_DOCUMENT) {
        if (!point_ok(cond))
            return false;
        return add_point(p, cond, desc, kc) == 0;
    }
    bson_t doc;
    bson_iter_t it;
    if (!bson_init_static(&doc, cond->value.v_doc.data, cond->value.v_doc.data_len) ||
        !bson_iter_init(&it, &doc))
        return false;
    if (!bson_iter_next(&it) || bson_iter_key(&it)[0] != '$')
        return add_point(p, cond, desc, kc) == 0; /* an embedded document, compared whole */
    /* bson_iter_value points into the iterator: keep copies. */
    bson_value_t eqv, inv, lov, hiv;
    const bson_value_t *eq = NULL, *in = NULL, *lo = NULL, *hi = NULL;
    bool lo_incl = false, hi_incl = false;
    do {
        const char *op = bson_iter_key(&it);
        const bson_value_t *v = bson_iter_value(&it);
        if (strcmp(op, "$eq") == 0 && point_ok(v))
            eqv = *v, eq = &eqv;
        else if (strcmp(op, "$in") == 0 && v->value_type == BSON_TYPE_ARRAY)
            inv = *v, in = &inv;
        else if ((strcmp(op, "$gt") == 0 || strcmp(op, "$gte") == 0) && bound_ok(v))
            lov = *v, lo = &lov, lo_incl = op[3] == 'e';
        else if ((strcmp(op, "$lt") == 0 || strcmp(op, "$lte") == 0) && bound_ok(v))
            hiv = *v, hi = &hiv, hi_incl = op[3] == 'e';
    } while (bson_iter_next(&it));
    if (eq)
        return add_point(p, eq, desc, kc) == 0;
    if (in) {
        bson_t arr;
        bson_iter_t ai;
        if (!bson_init_static(&arr, in->value.v_doc.data, in->value.v_doc.data_len) ||
            !bson_iter_init(&ai, &arr))
            return false;
        while (bson_iter_next(&ai)) {
            const bson_value_t *v = bson_iter_value(&ai);
            if (!point_ok(v) || add_point(p, v, desc, kc) != 0)
                return false;
        }
        return true; /* $in: [] reads nothing */
    }
    if (lo == NULL && hi == NULL)
        return false;
    if (multikey && lo && hi)
        hi = NULL;
    if (desc)
        return desc_range_plan(lo, lo_incl, hi, hi_incl, kc, p);
    range_t *r = plan_add(p);
    if (r == NULL)
        return false;
    buf_t tmp;
    buf_init(&tmp, DOCSTORE_KEY_MAX);
    bool ok = true;
    uint8_t lo_rank = docstore_key_rank((lo ? lo : hi)->value_type);
    uint8_t hi_rank = docstore_key_rank((hi ? hi : lo)->value_type);
    /* Lower bound: the value (inclusive) or past every key starting with it. */
    if (lo) {
        ok = docstore_key_append_coll(&tmp, lo, false, kc) == 0;
        if (ok && lo_incl)
            ok = buf_append(&r->lo, tmp.data, tmp.len) == 0;
        else if (ok)
            ok = docstore_key_prefix_end((const uint8_t *)tmp.data, tmp.len, &r->lo);
    } else {
        ok = buf_append(&r->lo, &hi_rank, 1) == 0; /* the start of hi's bracket */
    }
    buf_reset(&tmp);
    if (ok && hi) {
        ok = docstore_key_append_coll(&tmp, hi, false, kc) == 0;
        if (ok && hi_incl)
            ok = docstore_key_prefix_end((const uint8_t *)tmp.data, tmp.len, &r->hi);
        else if (ok)
            ok = buf_append(&r->hi, tmp.data, tmp.len) == 0;
    } else if (ok) {
        uint8_t end = (uint8_t)(lo_rank + 1); /* the end of lo's bracket */
        ok = buf_append(&r->hi, &end, 1) == 0;
    }
    if (ok && lo_rank != hi_rank) {
        /* {$gt: 5, $lt: "a"}: no value is in both brackets. */
        buf_reset(&r->hi);
        ok = buf_append(&r->hi, r->lo.data, r->lo.len) == 0;
    }
    buf_free(&tmp);
    return ok;
}

static void plan_conditions(const bson_t *filter, const bson_t *conj, st_coll_t *c,
                            const bson_t *qc, plan_t *best, int depth);
static void plan_normalize(plan_t *p);

/* Whether v holds a string (or symbol), at any depth. */
static bool has_string(const bson_value_t *v, int depth)
{
    if (v->value_type == BSON_TYPE_UTF8 || v->value_type == BSON_TYPE_SYMBOL)
        return true;
    if (v->value_type != BSON_TYPE_DOCUMENT && v->value_type != BSON_TYPE_ARRAY)
        return false;
    bson_iter_t it;
    if (depth > 100 || !bson_iter_init_from_data(&it, v->value.v_doc.data, v->value.v_doc.data_len))
        return true;
    while (bson_iter_next(&it)) {
        if (has_string(bson_iter_value(&it), depth + 1))
            return true;
    }
    return false;
}

/* A $or whose every branch has an access path reads the union of those. */
static void plan_or(bson_iter_t *it, st_coll_t *c, const bson_t *qc, plan_t *best, int depth)
{
    plan_t orp = {.score = PLAN_OR};
    bson_iter_t ai;
    bool ok = bson_iter_recurse(it, &ai);
    while (ok && bson_iter_next(&ai)) {
        uint32_t len;
        const uint8_t *data;
        bson_t sub;
        ok = BSON_ITER_HOLDS_DOCUMENT(&ai);
        if (ok) {
            bson_iter_document(&ai, &len, &data);
            ok = bson_init_static(&sub, data, len);
        }
        plan_t b = {.score = PLAN_NONE};
        if (ok)
            plan_conditions(&sub, &sub, c, qc, &b, depth + 1);
        ok = ok && b.score < PLAN_NONE;
        plan_t *nb = ok ? realloc(orp.branches, (orp.nbranches + 1) * sizeof *nb) : NULL;
        if (nb == NULL) {
            ok = false;
            plan_free(&b);
            break;
        }
        orp.branches = nb;
        plan_normalize(&b);
        orp.branches[orp.nbranches++] = b;
    }
    if (ok && orp.nbranches > 0 && orp.score < best->score) {
        plan_free(best);
        *best = orp;
    } else {
        plan_free(&orp);
    }
}

/* Considers every top-level condition (and those inside a top-level $and,
 * and the branches of a $or). conj is the conjunction filter belongs to (the
 * whole filter, or a $or branch): a sparse or partial index is a candidate
 * only when conj guarantees every match is in it. */
static void plan_conditions(const bson_t *filter, const bson_t *conj, st_coll_t *c,
                            const bson_t *qc, plan_t *best, int depth)
{
    bson_iter_t it;
    if (depth > 4 || !bson_iter_init(&it, filter))
        return;
    while (bson_iter_next(&it)) {
        const char *f = bson_iter_key(&it);
        if (strcmp(f, "$and") == 0 && BSON_ITER_HOLDS_ARRAY(&it)) {
            bson_iter_t ai;
            bson_iter_recurse(&it, &ai);
            while (bson_iter_next(&ai)) {
                if (!BSON_ITER_HOLDS_DOCUMENT(&ai))
                    continue;
                uint32_t len;
                const uint8_t *data;
                bson_iter_document(&ai, &len, &data);
                bson_t sub;
                if (bson_init_static(&sub, data, len))
                    plan_conditions(&sub, conj, c, qc, best, depth + 1);
            }
            continue;
        }
        if (strcmp(f, "$or") == 0 && BSON_ITER_HOLDS_ARRAY(&it)) {
            plan_or(&it, c, qc, best, depth);
            continue;
        }
        if (f[0] == '$')
            continue;
        const bson_value_t *cond = bson_iter_value(&it);
        /* Candidates: _id (score 0 points, 3 ranges), then each index whose
         * leading field is f (unique points 1, points 2, ranges 4). */
        for (size_t i = 0; i <= c->nindexes; i++) {
            bool is_id = i == c->nindexes;
            const st_index_t *ix = is_id ? NULL : &c->indexes[i];
            if (is_id ? strcmp(f, "_id") != 0 : strcmp(ix->fields[0], f) != 0)
                continue;
            if (!is_id && !st_index_usable(ix, conj))
                continue;
            /* An index under another collation than the query's (_id is
             * binary) orders strings otherwise: only string-free bounds. */
            bool same_coll = is_id ? qc == NULL : st_index_coll_is(ix, qc);
            if (!same_coll && has_string(cond, 0))
                continue;
            plan_t p = {0};
            if (!field_plan(cond, is_id ? false : ix->desc[0], is_id ? false : ix->multikey,
                            is_id ? NULL : st_index_kc(ix), &p)) {
                plan_free(&p);
                continue;
            }
            int score;
            bool is_range = p.n == 1 && cond->value_type == BSON_TYPE_DOCUMENT;
            if (is_range) {
                /* a document condition: points ($eq/$in/embedded doc) or a range */
                bson_t d;
                bson_iter_t di;
                is_range =
                    bson_init_static(&d, cond->value.v_doc.data, cond->value.v_doc.data_len) &&
                    bson_iter_init(&di, &d) && bson_iter_next(&di) &&
                    bson_iter_key(&di)[0] == '$' && !bson_iter_init_find(&di, &d, "$eq") &&
                    !bson_iter_init_find(&di, &d, "$in");
            }
            if (is_id)
                score = is_range ? 3 : 0;
            else
                score = is_range ? 4 : (ix->unique && ix->nfields == 1 ? 1 : 2);
            /* The target (index number, or nindexes for _id) rides in the low digits. */
            if (score * 1000 + (int)i < best->score) {
                plan_free(best);
                *best = p;
                best->score = score * 1000 + (int)i;
                best->cond = *cond;
            } else {
                plan_free(&p);
            }
        }
    }
}

static int range_cmp(const void *a, const void *b)
{
    return cmp_bytes(&((const range_t *)a)->lo, &((const range_t *)b)->lo);
}

/* Sorts ranges and merges overlapping ones, so no key is read twice. */
static void plan_normalize(plan_t *p)
{
    if (p->n < 2)
        return;
    qsort(p->r, p->n, sizeof *p->r, range_cmp);
    size_t w = 0;
    for (size_t i = 1; i < p->n; i++) {
        range_t *cur = &p->r[w], *nx = &p->r[i];
        bool cur_open = cur->hi.len == 0;
        if (cur_open || cmp_bytes(&nx->lo, &cur->hi) <= 0) {
            if (!cur_open && (nx->hi.len == 0 || cmp_bytes(&nx->hi, &cur->hi) > 0)) {
                buf_t t = cur->hi;
                cur->hi = nx->hi;
                nx->hi = t;
            }
            buf_free(&nx->lo);
            buf_free(&nx->hi);
        } else {
            w++;
            if (w != i) {
                p->r[w] = *nx;
                buf_init(&nx->lo, DOCSTORE_KEY_MAX);
                buf_init(&nx->hi, DOCSTORE_KEY_MAX);
            }
        }
    }
    for (size_t i = w + 1; i < p->n; i++) {
        buf_free(&p->r[i].lo);
        buf_free(&p->r[i].hi);
    }
    p->n = w + 1;
}

static int emit(docstore_storage_t *st, sqlite3_stmt *s, int col, docstore_doc_cb cb, void *ctx,
                bool *stop)
{
    bson_t doc;
    if (!bson_init_static(&doc, sqlite3_column_blob(s, col), (size_t)sqlite3_column_bytes(s, col)))
        return 0;
    st->docs_examined++;
    if (!cb(ctx, &doc))
        *stop = true;
    return 0;
}

static void bind_range(sqlite3_stmt *s, const range_t *r)
{
    sqlite3_bind_blob(s, 1, r->lo.data ? r->lo.data : "", (int)r->lo.len, SQLITE_STATIC);
    if (r->hi.len)
        sqlite3_bind_blob(s, 2, r->hi.data, (int)r->hi.len, SQLITE_STATIC);
}

static int scan_id_ranges(docstore_storage_t *st, st_db_t *d, st_coll_t *c, const plan_t *p,
                          docstore_doc_cb cb, void *ctx, docstore_error_t *err)
{
    char bounded[96], open[96];
    snprintf(bounded, sizeof bounded, "SELECT doc FROM c%lld WHERE id >= ?1 AND id < ?2",
             (long long)c->id);
    snprintf(open, sizeof open, "SELECT doc FROM c%lld WHERE id >= ?1", (long long)c->id);
    bool stop = false;
    for (size_t i = 0; i < p->n && !stop; i++) {
        sqlite3_stmt *s;
        if (st_stmt(d, p->r[i].hi.len ? bounded : open, &s, err))
            return -1;
        bind_range(s, &p->r[i]);
        int r;
        while (!stop && (r = sqlite3_step(s)) == SQLITE_ROW)
            emit(st, s, 0, cb, ctx, &stop);
        st_stmt_done(d, s);
        if (!stop && r != SQLITE_DONE)
            return st_sql_error(d, "scan", err);
    }
    return 0;
}

static int rid_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

typedef struct ridvec {
    int64_t *v;
    size_t n, cap;
} ridvec_t;

/* Appends the rids of plan p's ranges over target (an index, or _id). */
static int collect_rids(st_db_t *d, st_coll_t *c, size_t target, const plan_t *p, ridvec_t *out,
                        docstore_error_t *err)
{
    char bounded[96], open[96];
    if (target == c->nindexes) {
        snprintf(bounded, sizeof bounded, "SELECT rid FROM c%lld WHERE id >= ?1 AND id < ?2",
                 (long long)c->id);
        snprintf(open, sizeof open, "SELECT rid FROM c%lld WHERE id >= ?1", (long long)c->id);
    } else {
        long long id = (long long)c->indexes[target].id;
        snprintf(bounded, sizeof bounded, "SELECT rid FROM i%lld WHERE k >= ?1 AND k < ?2", id);
        snprintf(open, sizeof open, "SELECT rid FROM i%lld WHERE k >= ?1", id);
    }
    for (size_t i = 0; i < p->n; i++) {
        sqlite3_stmt *s;
        if (st_stmt(d, p->r[i].hi.len ? bounded : open, &s, err))
            return -1;
        bind_range(s, &p->r[i]);
        int r;
        while ((r = sqlite3_step(s)) == SQLITE_ROW) {
            if (out->n == out->cap) {
                size_t cap = out->cap ? out->cap * 2 : 64;
                int64_t *q = realloc(out->v, cap * sizeof *q);
                if (q == NULL) {
                    st_stmt_done(d, s);
                    docstore_error_set(err, DOCSTORE_INTERNAL_ERROR, "storage: out of memory");
                    return -1;
                }
                out->v = q;
                out->cap = cap;
            }
            out->v[out->n++] = sqlite3_column_int64(s, 0);
        }
        st_stmt_done(d, s);
        if (r != SQLITE_DONE)
            return st_sql_error(d, "index scan", err);
    }
    return 0;
}

/* Reads the documents of the rids, each once, in rid (insertion) order: a
 * multikey document may sit under several keys, a $or document under several
 * branches. */
static int fetch_rids(docstore_storage_t *st, st_db_t *d, st_coll_t *c, ridvec_t *rids,
                      docstore_doc_cb cb, void *ctx, docstore_error_t *err)
{
    if (rids->n > 1)
        qsort(rids->v, rids->n, sizeof *rids->v, rid_cmp);
    char sql[64];
    snprintf(sql, sizeof sql, "SELECT doc FROM c%lld WHERE rid = ?1", (long long)c->id);
    bool stop = false;
    for (size_t i = 0; i < rids->n && !stop; i++) {
        if (i > 0 && rids->v[i] == rids->v[i - 1])
            continue;
        sqlite3_stmt *s;
        if (st_stmt(d, sql, &s, err))
            return -1;
        sqlite3_bind_int64(s, 1, rids->v[i]);
        if (sqlite3_step(s) == SQLITE_ROW)
            emit(st, s, 0, cb, ctx, &stop);
        st_stmt_done(d, s);
    }
    return 0;
}

/* The rids of a plan: its ranges, or the union of its $or branches. */
static int collect_plan_rids(st_db_t *d, st_coll_t *c, const plan_t *p, ridvec_t *out,
                             docstore_error_t *err)
{
    if (p->nbranches == 0)
        return collect_rids(d, c, (size_t)(p->score % 1000), p, out, err);
    for (size_t i = 0; i < p->nbranches; i++) {
        if (collect_plan_rids(d, c, &p->branches[i], out, err))
            return -1;
    }
    return 0;
}

static int scan_plan(docstore_storage_t *st, st_db_t *d, st_coll_t *c, plan_t *p,
                     docstore_doc_cb cb, void *ctx, docstore_error_t *err)
{
    size_t target = (size_t)(p->score % 1000);
    if (p->nbranches == 0 && target == c->nindexes)
        return scan_id_ranges(st, d, c, p, cb, ctx, err); /* disjoint: no rid pass */
    ridvec_t rids = {0};
    int rc = collect_plan_rids(d, c, p, &rids, err);
    if (rc == 0)
        rc = fetch_rids(st, d, c, &rids, cb, ctx, err);
    free(rids.v);
    return rc;
}

int docstore_storage_scan(docstore_storage_t *st, const char *db, const char *coll,
                          const bson_t *filter, docstore_doc_cb cb, void *ctx,
                          docstore_error_t *err)
{
    return docstore_storage_scan_coll(st, db, coll, filter, NULL, cb, ctx, err);
}

int docstore_storage_index_serves(docstore_storage_t *st, const char *db, const char *coll,
                                  const bson_t *filter, const bson_t *collation, bool *served,
                                  docstore_error_t *err)
{
    *served = false;
    st_db_t *d;
    if (st_db_get(st, db, false, &d, err))
        return -1;
    st_coll_t *c = d ? st_coll_find(d, coll) : NULL;
    if (c == NULL || filter == NULL)
        return 0;
    plan_t best = {.score = PLAN_NONE};
    plan_conditions(filter, filter, c, collation, &best, 0);
    *served = best.score < PLAN_NONE;
    plan_free(&best);
    return 0;
}

int docstore_storage_scan_coll(docstore_storage_t *st, const char *db, const char *coll,
                               const bson_t *filter, const bson_t *collation, docstore_doc_cb cb,
                               void *ctx, docstore_error_t *err)
{
    st_db_t *d;
    if (st_db_get(st, db, false, &d, err))
        return -1;
    st_coll_t *c = d ? st_coll_find(d, coll) : NULL;
    if (c == NULL)
        return 0;
    plan_t best = {.score = PLAN_NONE};
    if (filter)
        plan_conditions(filter, filter, c, collation, &best, 0);
    if (best.score < PLAN_NONE) {
        plan_normalize(&best);
        int rc = scan_plan(st, d, c, &best, cb, ctx, err);
        plan_free(&best);
        return rc;
    }
    char sql[64];
    snprintf(sql, sizeof sql, "SELECT doc FROM c%lld ORDER BY rid", (long long)c->id);
    sqlite3_stmt *s;
    if (st_stmt(d, sql, &s, err))
        return -1;
    bool stop = false;
    int r = SQLITE_DONE;
    while (!stop && (r = sqlite3_step(s)) == SQLITE_ROW)
        emit(st, s, 0, cb, ctx, &stop);
    st_stmt_done(d, s);
    if (!stop && r != SQLITE_DONE)
        return st_sql_error(d, "scan", err);
    return 0;
}

int docstore_storage_scan_after(docstore_storage_t *st, const char *db, const char *coll,
                                const bson_t *filter, int64_t after_rid, docstore_rid_doc_cb cb,
                                void *ctx, bool *served, docstore_error_t *err)
{
    *served = true;
    st_db_t *d;
    if (st_db_get(st, db, false, &d, err))
        return -1;
    st_coll_t *c = d ? st_coll_find(d, coll) : NULL;
    if (c == NULL)
        return 0;
    plan_t best = {.score = PLAN_NONE};
    if (filter)
        plan_conditions(filter, filter, c, NULL, &best, 0);
    if (best.score < PLAN_NONE) {
        plan_free(&best);
        *served = false;
        return 0;
    }
    char sql[80];
    snprintf(sql, sizeof sql, "SELECT rid, doc FROM c%lld WHERE rid > ?1 ORDER BY rid",
             (long long)c->id);
    sqlite3_stmt *s;
    if (st_stmt(d, sql, &s, err))
        return -1;
    sqlite3_bind_int64(s, 1, after_rid);
    int r = SQLITE_DONE;
    while ((r = sqlite3_step(s)) == SQLITE_ROW) {
        bson_t doc;
        if (!bson_init_static(&doc, sqlite3_column_blob(s, 1), (size_t)sqlite3_column_bytes(s, 1)))
            continue;
        st->docs_examined++;
        if (!cb(ctx, &doc, sqlite3_column_int64(s, 0)))
            break;
    }
    st_stmt_done(d, s);
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        return st_sql_error(d, "scan", err);
    return 0;
}

/* ---- ordered scans: a sort served by an index ---- */

/* Whether index ix (NULL: _id) serves a sort on fields/dirs from its field
 * off on (off 1: the filter fixes the leading field to one value): its
 * pattern there holds those fields, all in the sort's directions (*reverse
 * false) or all reversed (*reverse true), and no document ever put an array
 * on its paths (a multikey index orders documents by each element, not by the
 * document's sort key). */
static bool index_serves_sort(const st_index_t *ix, size_t off, const char *const *fields,
                              const int *dirs, size_t n, const bson_t *qc, bool *reverse)
{
    if (ix == NULL) {
        *reverse = dirs[0] < 0;
        return off == 0 && n == 1 && strcmp(fields[0], "_id") == 0 && qc == NULL;
    }
    /* Another collation orders strings otherwise (MongoDB too sorts then). */
    if (ix->multikey || ix->nfields < off + n || !st_index_coll_is(ix, qc))
        return false;
    bool same = true, flipped = true;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(ix->fields[off + i], fields[i]) != 0)
            return false;
        bool want_desc = dirs[i] < 0;
        same = same && ix->desc[off + i] == want_desc;
        flipped = flipped && ix->desc[off + i] != want_desc;
    }
    *reverse = !same;
    return same || flipped;
}

typedef struct ordered_walk {
    docstore_storage_t *st;
    st_db_t *d;
    st_coll_t *c;
    const st_index_t *ix;      /* NULL: _id */
    const char *const *fields; /* the sort's paths: ix's, from the first or second on */
    const bool *desc;          /* ix's directions for them */
    size_t nsort;
    bool reverse;   /* walk the keys backwards */
    bool ambiguous; /* met a value its key cannot order exactly: stopped */
    buf_t prev;     /* the previous document's sort key bytes */
    bool have_prev;
    docstore_ordered_doc_cb cb;
    void *ctx;
} ordered_walk_t;

/* Whether v's key may equal the key of a value that compares differently:
 * undefined keys as null (the sort puts it below null), and a decimal128
 * beyond the range of doubles (keyenc.c: those share keys). */
static bool key_is_ambiguous(const bson_value_t *v)
{
    if (v->value_type == BSON_TYPE_UNDEFINED)
        return true;
    if (v->value_type != BSON_TYPE_DECIMAL128)
        return false;
    docstore_dec_t dec = v->value.v_decimal128;
    if (docstore_dec_is_nan(dec) || docstore_dec_is_inf(dec) || docstore_dec_is_zero(dec))
        return false;
    double d = docstore_dec_to_double(dec);
    return isinf(d) || d == 0;
}

/* The bytes of doc's sort key (the pattern's first nsort fields). Sets
 * w->ambiguous when a value's key cannot order it exactly. */
static int walk_key(ordered_walk_t *w, const bson_t *doc, buf_t *out, docstore_error_t *err)
{
    buf_reset(out);
    docstore_keyset_t ks;
    if (docstore_keyset_build_coll(&ks, doc, w->fields, w->desc, w->nsort,
                                   w->ix ? st_index_kc(w->ix) : NULL, err) != 0)
        return -1;
    int rc = 0;
    if (ks.n != 1) {
        w->ambiguous = true; /* an array after all: not this walk's order */
    } else {
        for (size_t i = 0; i < w->nsort; i++)
            w->ambiguous = w->ambiguous || key_is_ambiguous(&ks.values[i]);
        rc = buf_append(out, ks.keys[0].data, ks.keys[0].len);
    }
    docstore_keyset_free(&ks);
    return rc == 0 ? 0 : -1;
}

static int walk_range(ordered_walk_t *w, const range_t *r, bool *stop, docstore_error_t *err)
{
    char sql[320];
    const char *order = w->reverse ? "DESC" : "ASC";
    const char *cond;
    if (w->ix == NULL) {
        cond = r->hi.len ? " AND id < ?2" : "";
        snprintf(sql, sizeof sql, "SELECT doc, rid FROM c%lld WHERE id >= ?1%s ORDER BY id %s",
                 (long long)w->c->id, cond, order);
    } else {
        cond = r->hi.len ? " AND i.k < ?2" : "";
        if (w->ix->unique)
            snprintf(sql, sizeof sql,
                     "SELECT c.doc, i.rid FROM i%lld AS i CROSS JOIN c%lld AS c "
                     "ON c.rid = i.rid WHERE i.k >= ?1%s ORDER BY i.k %s",
                     (long long)w->ix->id, (long long)w->c->id, cond, order);
        else
            snprintf(sql, sizeof sql,
                     "SELECT c.doc, i.rid FROM i%lld AS i CROSS JOIN c%lld AS c "
                     "ON c.rid = i.rid WHERE i.k >= ?1%s ORDER BY i.k %s, i.rid %s",
                     (long long)w->ix->id, (long long)w->c->id, cond, order, order);
    }
    sqlite3_stmt *s;
    if (st_stmt(w->d, sql, &s, err))
        return -1;
    bind_range(s, r);
    buf_t key;
    buf_init(&key, DOCSTORE_KEY_MAX);
    int rc = 0, step = SQLITE_DONE;
    while (!*stop && (step = sqlite3_step(s)) == SQLITE_ROW) {
        bson_t doc;
        if (!bson_init_static(&doc, sqlite3_column_blob(s, 0),
                              (size_t)sqlite3_column_bytes(s, 0)))
            continue;
        if (walk_key(w, &doc, &key, err) != 0) {
            rc = -1;
            break;
        }
        if (w->ambiguous) {
            *stop = true;
            break;
        }
        bool tie = w->have_prev && cmp_bytes(&key, &w->prev) == 0;
        buf_t t = w->prev;
        w->prev = key;
        key = t;
        w->have_prev = true;
        w->st->docs_examined++;
        if (!w->cb(w->ctx, &doc, sqlite3_column_int64(s, 1), tie))
            *stop = true;
    }
    st_stmt_done(w->d, s);
    buf_free(&key);
    if (rc == 0 && !*stop && step != SQLITE_DONE)
        return st_sql_error(w->d, "ordered scan", err);
    return rc;
}

/* The index (nindexes: _id; more: none) an ordered scan walks for a sort on
 * fields/dirs, given the filter's access path best (normalized). */
static size_t ordered_target(const st_coll_t *c, const bson_t *filter, const bson_t *qc,
                             const plan_t *best, const char *const *fields, const int *dirs,
                             size_t n, size_t *off /* OUT */, bool *reverse /* OUT */)
{
    size_t target = c->nindexes + 1; /* none yet */
    *off = 0;
    *reverse = false;
    if (best->score < PLAN_NONE) {
        /* The filter's access path must be the sort's index: the sort on its
         * first fields, or, when the filter fixes the leading field to one
         * value ({user: 5} on {user: 1, date: -1}), on the fields after it. */
        size_t t = (size_t)(best->score % 1000);
        int rank = best->score / 1000;
        const st_index_t *ix = t == c->nindexes ? NULL : &c->indexes[t];
        if (best->nbranches == 0 && index_serves_sort(ix, 0, fields, dirs, n, qc, reverse))
            target = t;
        else if (best->nbranches == 0 && ix != NULL && (rank == 1 || rank == 2) && best->n == 1 &&
                 index_serves_sort(ix, 1, fields, dirs, n, qc, reverse))
            target = t, *off = 1;
    } else {
        static const bson_t empty = BSON_INITIALIZER;
        for (size_t i = 0; i <= c->nindexes && target > c->nindexes; i++) {
            if (i < c->nindexes && !st_index_usable(&c->indexes[i], filter ? filter : &empty))
                continue; /* sparse or partial: would miss documents */
            if (index_serves_sort(i == c->nindexes ? NULL : &c->indexes[i], 0, fields, dirs, n, qc,
                                  reverse))
                target = i;
        }
    }
    return target;
}

int docstore_storage_scan_ordered(docstore_storage_t *st, const char *db, const char *coll,
                                  const bson_t *filter, const char *const *fields, const int *dirs,
                                  size_t n, docstore_ordered_doc_cb cb, void *ctx,
                                  bool *ordered, docstore_error_t *err)
{
    return docstore_storage_scan_ordered_coll(st, db, coll, filter, NULL, fields, dirs, n, cb, ctx,
                                              ordered, err);
}

int docstore_storage_scan_ordered_coll(docstore_storage_t *st, const char *db, const char *coll,
                                       const bson_t *filter, const bson_t *collation,
                                       const char *const *fields, const int *dirs, size_t n,
                                       docstore_ordered_doc_cb cb, void *ctx, bool *ordered,
                                       docstore_error_t *err)
{
    *ordered = false;
    if (n == 0)
        return 0;
    st_db_t *d;
    if (st_db_get(st, db, false, &d, err))
        return -1;
    st_coll_t *c = d ? st_coll_find(d, coll) : NULL;
    if (c == NULL) {
        *ordered = true; /* no documents: any order */
        return 0;
    }
    plan_t best = {.score = PLAN_NONE};
    if (filter)
        plan_conditions(filter, filter, c, collation, &best, 0);
    size_t off = 0;       /* leading index fields the filter fixes */
    bool reverse = false; /* walk the keys backwards */
    plan_normalize(&best);
    size_t target = ordered_target(c, filter, collation, &best, fields, dirs, n, &off, &reverse);
    if (target > c->nindexes) {
        plan_free(&best);
        return 0;
    }
    if (best.score == PLAN_NONE && plan_add(&best) == NULL) { /* one range: every key */
        plan_free(&best);
        docstore_error_set(err, DOCSTORE_INTERNAL_ERROR, "storage: out of memory");
        return -1;
    }
    static const bool ascending[1] = {false};
    const st_index_t *ix = target == c->nindexes ? NULL : &c->indexes[target];
    ordered_walk_t w = {.st = st,
                        .d = d,
                        .c = c,
                        .ix = ix,
                        .fields = fields,
                        .desc = ix ? ix->desc + off : ascending,
                        .nsort = n,
                        .reverse = reverse,
                        .cb = cb,
                        .ctx = ctx};
    buf_init(&w.prev, DOCSTORE_KEY_MAX);
    bool stop = false;
    int rc = 0;
    for (size_t i = 0; i < best.n && !stop && rc == 0; i++)
        rc = walk_range(&w, &best.r[reverse ? best.n - 1 - i : i], &stop, err);
    *ordered = !w.ambiguous;
    buf_free(&w.prev);
    plan_free(&best);
    return rc;
}

/* ---- streamed scans: resumable reads for cursors ---- */

typedef enum stream_kind {
    STREAM_UNSTARTED = 0, /* no call yet */
    STREAM_EMPTY,         /* the collection did not exist at the first call */
    STREAM_RIDS,          /* rid order: a full scan, or an index's rids */
    STREAM_IDS,           /* _id order: the filter's _id ranges */
    STREAM_ORDERED,       /* a sort's order: an index walk */
} stream_kind_t;

struct docstore_stream {
    stream_kind_t kind;
    const bson_t *filter; /* the caller's until docstore_stream_keep, then copy; NULL: all */
    bson_t *copy;         /* owned: the filter's copy, or NULL */
    uint8_t uuid[16]; /* the collection the first call read */
    int64_t index_id; /* the index the first call read (table i<id>); 0: none or several */
    char *index_name; /* its name (the error when it is dropped) */
    int64_t last_rid; /* STREAM_RIDS: the last rid consumed */
    buf_t last_id;    /* STREAM_IDS: the encoded _id of the last document consumed */
    int64_t *win;     /* STREAM_RIDS through an index: the next rids, ascending */
    size_t win_n;     /* rids in win */
    size_t win_pos;   /* next one to read */
    bool win_last;    /* the last refill found everything left: no more refills */
    /* STREAM_ORDERED: the walk, and the (key, rid) of the last entry consumed */
    size_t target;   /* the index walked (its position when the first call planned) */
    size_t off;      /* leading index fields the filter fixes */
    bool reverse;    /* keys walked backwards */
    buf_t last_k;    /* its index key (empty: none yet) */
};

int docstore_stream_new(const bson_t *filter, docstore_stream_t **out)
{
    docstore_stream_t *s = calloc(1, sizeof *s);
    *out = s;
    if (s == NULL)
        return -1;
    buf_init(&s->last_id, DOCSTORE_KEY_MAX);
    buf_init(&s->last_k, DOCSTORE_KEY_MAX);
    s->filter = filter;
    return 0;
}

int docstore_stream_keep(docstore_stream_t *s)
{
    if (s->filter == NULL || s->copy != NULL)
        return 0;
    if ((s->copy = bson_copy(s->filter)) == NULL)
        return -1;
    s->filter = s->copy;
    return 0;
}

void docstore_stream_free(docstore_stream_t *s)
{
    if (s == NULL)
        return;
    if (s->copy != NULL)
        bson_destroy(s->copy);
    buf_free(&s->last_id);
    buf_free(&s->last_k);
    free(s->index_name);
    free(s->win);
    free(s);
}

int64_t docstore_stream_bytes(const docstore_stream_t *s)
{
    /* the window counted whether allocated yet or not: the charge stays put */
    return (int64_t)(sizeof *s + (s->filter ? s->filter->len : 0) + s->last_id.cap +
                     s->last_k.cap + DOCSTORE_STREAM_WINDOW * sizeof *s->win);
}

/* Keeps the first DOCSTORE_STREAM_WINDOW distinct rids of v, ascending. */
static void window_trim(ridvec_t *v)
{
    if (v->n > 1)
        qsort(v->v, v->n, sizeof *v->v, rid_cmp);
    size_t w = 0;
    for (size_t i = 0; i < v->n && w < DOCSTORE_STREAM_WINDOW; i++) {
        if (w == 0 || v->v[i] != v->v[w - 1])
            v->v[w++] = v->v[i];
    }
    v->n = w;
}

/* Appends the smallest rids above after of plan p's ranges (and its $or
 * branches), at most a window of each range. */
static int window_collect(st_db_t *d, st_coll_t *c, const plan_t *p, int64_t after, ridvec_t *out,
                          docstore_error_t *err)
{
    for (size_t b = 0; b < p->nbranches; b++) {
        if (window_collect(d, c, &p->branches[b], after, out, err))
            return -1;
    }
    if (p->nbranches > 0)
        return 0;
    size_t target = (size_t)(p->score % 1000);
    char bounded[160], open[160];
    if (target == c->nindexes) { /* "+rid": walk the id index, not the rows in rid order */
        snprintf(bounded, sizeof bounded,
                 "SELECT rid FROM c%lld WHERE id >= ?1 AND id < ?2 AND +rid > ?3 "
                 "ORDER BY +rid LIMIT %d",
                 (long long)c->id, DOCSTORE_STREAM_WINDOW);
        snprintf(open, sizeof open,
                 "SELECT rid FROM c%lld WHERE id >= ?1 AND +rid > ?3 ORDER BY +rid LIMIT %d",
                 (long long)c->id, DOCSTORE_STREAM_WINDOW);
    } else {
        long long id = (long long)c->indexes[target].id;
        snprintf(bounded, sizeof bounded,
                 "SELECT rid FROM i%lld WHERE k >= ?1 AND k < ?2 AND rid > ?3 "
                 "ORDER BY rid LIMIT %d",
                 id, DOCSTORE_STREAM_WINDOW);
        snprintf(open, sizeof open,
                 "SELECT rid FROM i%lld WHERE k >= ?1 AND rid > ?3 ORDER BY rid LIMIT %d", id,
                 DOCSTORE_STREAM_WINDOW);
    }
    for (size_t i = 0; i < p->n; i++) {
        sqlite3_stmt *s;
        if (st_stmt(d, p->r[i].hi.len ? bounded : open, &s, err))
            return -1;
        bind_range(s, &p->r[i]);
        sqlite3_bind_int64(s, 3, after);
        int r;
        while ((r = sqlite3_step(s)) == SQLITE_ROW) {
            if (out->n == out->cap) {
                size_t cap = out->cap ? out->cap * 2 : 64;
                int64_t *q = realloc(out->v, cap * sizeof *q);
                if (q == NULL) {
                    st_stmt_done(d, s);
                    docstore_error_set(err, DOCSTORE_INTERNAL_ERROR, "storage: out of memory");
                    return -1;
                }
                out->v = q;
                out->cap = cap;
            }
            out->v[out->n++] = sqlite3_column_int64(s, 0);
        }
        st_stmt_done(d, s);
        if (r != SQLITE_DONE)
            return st_sql_error(d, "index scan", err);
        if (out->n > 2 * DOCSTORE_STREAM_WINDOW)
            window_trim(out); /* bounded however many ranges */
    }
    return 0;
}

/* Refills s's window with the next rids of plan p after s->last_rid. */
static int window_refill(docstore_stream_t *s, st_db_t *d, st_coll_t *c, const plan_t *p,
                         docstore_error_t *err)
{
    ridvec_t v = {0};
    if (window_collect(d, c, p, s->last_rid, &v, err)) {
        free(v.v);
        return -1;
    }
    window_trim(&v);
    if (s->win == NULL && (s->win = malloc(DOCSTORE_STREAM_WINDOW * sizeof *s->win)) == NULL) {
        free(v.v);
        docstore_error_set(err, DOCSTORE_INTERNAL_ERROR, "storage: out of memory");
        return -1;
    }
    if (v.n > 0)
        memcpy(s->win, v.v, v.n * sizeof *v.v);
    s->win_n = v.n;
    s->win_pos = 0;
    s->win_last = v.n < DOCSTORE_STREAM_WINDOW;
    free(v.v);
    return 0;
}

/* STREAM_RIDS through plan p: the window's documents, refilled as it runs out. */
static int stream_rids_plan(docstore_storage_t *st, docstore_stream_t *s, st_db_t *d, st_coll_t *c,
                            const plan_t *p, docstore_stream_cb cb, void *ctx,
                            docstore_error_t *err)
{
    char sql[64];
    snprintf(sql, sizeof sql, "SELECT doc FROM c%lld WHERE rid = ?1", (long long)c->id);
    for (;;) {
        while (s->win_pos < s->win_n && s->win[s->win_pos] <= s->last_rid)
            s->win_pos++;
        if (s->win_pos == s->win_n) {
            if (s->win != NULL && s->win_last)
                return 0;
            if (window_refill(s, d, c, p, err))
                return -1;
            if (s->win_n == 0)
                return 0;
        }
        int64_t rid = s->win[s->win_pos];
        sqlite3_stmt *q;
        if (st_stmt(d, sql, &q, err))
            return -1;
        sqlite3_bind_int64(q, 1, rid);
        docstore_stream_step_t step = DOCSTORE_STREAM_NEXT;
        int r = sqlite3_step(q);
        if (r == SQLITE_ROW) {
            bson_t doc;
            if (bson_init_static(&doc, sqlite3_column_blob(q, 0),
                                 (size_t)sqlite3_column_bytes(q, 0))) {
                st->docs_examined++;
                step = cb(ctx, &doc, rid);
            }
        }
        st_stmt_done(d, q);
        if (r != SQLITE_ROW && r != SQLITE_DONE)
            return st_sql_error(d, "scan", err);
        if (step == DOCSTORE_STREAM_STOP)
            return 0;
        s->last_rid = rid; /* consumed, or deleted since the refill */
        s->win_pos++;
        if (step == DOCSTORE_STREAM_LAST)
            return 0;
    }
}

/* STREAM_RIDS without an index: the rows after s->last_rid. */
static int stream_rids_scan(docstore_storage_t *st, docstore_stream_t *s, st_db_t *d, st_coll_t *c,
                            docstore_stream_cb cb, void *ctx, docstore_error_t *err)
{
    char sql[80];
    snprintf(sql, sizeof sql, "SELECT rid, doc FROM c%lld WHERE rid > ?1 ORDER BY rid",
             (long long)c->id);
    sqlite3_stmt *q;
    if (st_stmt(d, sql, &q, err))
        return -1;
    sqlite3_bind_int64(q, 1, s->last_rid);
    int r;
    docstore_stream_step_t step = DOCSTORE_STREAM_NEXT;
    while (step == DOCSTORE_STREAM_NEXT && (r = sqlite3_step(q)) == SQLITE_ROW) {
        bson_t doc;
        int64_t rid = sqlite3_column_int64(q, 0);
        if (!bson_init_static(&doc, sqlite3_column_blob(q, 1), (size_t)sqlite3_column_bytes(q, 1)))
            continue;
        st->docs_examined++;
        step = cb(ctx, &doc, rid);
        if (step != DOCSTORE_STREAM_STOP)
            s->last_rid = rid;
    }
    st_stmt_done(d, q);
    if (step == DOCSTORE_STREAM_NEXT && r != SQLITE_DONE)
        return st_sql_error(d, "scan", err);
    return 0;
}

/* STREAM_IDS: plan p's _id ranges (sorted, disjoint) from after s->last_id. */
static int stream_ids(docstore_storage_t *st, docstore_stream_t *s, st_db_t *d, st_coll_t *c,
                      const plan_t *p, docstore_stream_cb cb, void *ctx, docstore_error_t *err)
{
    char bounded[128], open[128];
    snprintf(bounded, sizeof bounded,
             "SELECT id, rid, doc FROM c%lld WHERE id >= ?1 AND id < ?2 AND id > ?3 ORDER BY id",
             (long long)c->id);
    snprintf(open, sizeof open,
             "SELECT id, rid, doc FROM c%lld WHERE id >= ?1 AND id > ?3 ORDER BY id",
             (long long)c->id);
    docstore_stream_step_t step = DOCSTORE_STREAM_NEXT;
    for (size_t i = 0; i < p->n && step == DOCSTORE_STREAM_NEXT; i++) {
        if (s->last_id.len > 0 && p->r[i].hi.len > 0 && cmp_bytes(&p->r[i].hi, &s->last_id) <= 0)
            continue; /* read in an earlier call */
        sqlite3_stmt *q;
        if (st_stmt(d, p->r[i].hi.len ? bounded : open, &q, err))
            return -1;
        bind_range(q, &p->r[i]);
        sqlite3_bind_blob(q, 3, s->last_id.len ? s->last_id.data : "", (int)s->last_id.len,
                          SQLITE_TRANSIENT);
        int r = SQLITE_DONE, rc = 0;
        while (step == DOCSTORE_STREAM_NEXT && (r = sqlite3_step(q)) == SQLITE_ROW) {
            bson_t doc;
            if (!bson_init_static(&doc, sqlite3_column_blob(q, 2),
                                  (size_t)sqlite3_column_bytes(q, 2)))
                continue;
            st->docs_examined++;
            step = cb(ctx, &doc, sqlite3_column_int64(q, 1));
            if (step != DOCSTORE_STREAM_STOP) {
                buf_reset(&s->last_id);
                rc = buf_append(&s->last_id, sqlite3_column_blob(q, 0),
                                (size_t)sqlite3_column_bytes(q, 0));
                if (rc != 0)
                    break;
            }
        }
        st_stmt_done(d, q);
        if (rc != 0) {
            docstore_error_set(err, DOCSTORE_INTERNAL_ERROR, "storage: out of memory");
            return -1;
        }
        if (step == DOCSTORE_STREAM_NEXT && r != SQLITE_DONE)
            return st_sql_error(d, "scan", err);
    }
    return 0;
}

/* The 175 QueryPlanKilled of a stream whose collection is gone from under it. */
static int stream_killed(st_db_t *d, const docstore_stream_t *s, const char *db, const char *coll,
                         docstore_error_t *err)
{
    char uuid[40];
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            uuid[o++] = '-';
        uuid[o++] = hex[s->uuid[i] >> 4];
        uuid[o++] = hex[s->uuid[i] & 15];
    }
    uuid[o] = '\0';
    for (size_t i = 0; d != NULL && i < d->ncolls; i++) {
        if (memcmp(d->colls[i].uuid, s->uuid, 16) == 0) {
            docstore_error_set(err, DOCSTORE_QUERY_PLAN_KILLED,
                               "collection renamed from '%s.%s' to '%s.%s'. UUID %s", db, coll, db,
                               d->colls[i].name, uuid);
            return -1;
        }
    }
    docstore_error_set(err, DOCSTORE_QUERY_PLAN_KILLED, "collection dropped. UUID %s", uuid);
    return -1;
}

/* The collection of a started stream, checked: 175 when it or the index the
 * stream reads went since its first call. */
static int stream_coll(st_db_t *d, docstore_stream_t *s, const char *db, const char *coll,
                       st_coll_t **out, docstore_error_t *err)
{
    st_coll_t *c = d ? st_coll_find(d, coll) : NULL;
    *out = c;
    if (c == NULL || memcmp(c->uuid, s->uuid, 16) != 0)
        return stream_killed(d, s, db, coll, err);
    for (size_t i = 0; s->index_id != 0 && i < c->nindexes; i++) {
        if (c->indexes[i].id == s->index_id) {
            s->target = i;
            return 0;
        }
    }
    if (s->index_id == 0)
        return 0;
    docstore_error_set(err, DOCSTORE_QUERY_PLAN_KILLED, "index '%s' dropped", s->index_name);
    return -1;
}

/* One query of an ordered stream: sql bound by range r (or none) and the
 * position, handing each document on until cb stops or a first call meets a
 * key that cannot order its value (*ambiguous). */
static int ordered_query(ordered_walk_t *w, docstore_stream_t *s, const char *sql,
                         const range_t *r, bool first, bool *stop, docstore_stream_cb cb,
                         void *ctx, docstore_error_t *err)
{
    sqlite3_stmt *q;
    if (st_stmt(w->d, sql, &q, err))
        return -1;
    if (r != NULL)
        bind_range(q, r);
    sqlite3_bind_blob(q, 3, s->last_k.len ? s->last_k.data : "", (int)s->last_k.len,
                      SQLITE_TRANSIENT);
    sqlite3_bind_int64(q, 4, s->last_rid);
    buf_t key;
    buf_init(&key, DOCSTORE_KEY_MAX);
    int rc = 0, step = SQLITE_DONE;
    while (!*stop && (step = sqlite3_step(q)) == SQLITE_ROW) {
        bson_t doc;
        if (!bson_init_static(&doc, sqlite3_column_blob(q, 0),
                              (size_t)sqlite3_column_bytes(q, 0)))
            continue;
        w->ambiguous = false;
        if (walk_key(w, &doc, &key, err) != 0) {
            rc = -1;
            break;
        }
        docstore_stream_step_t st = DOCSTORE_STREAM_NEXT;
        docstore_keyset_t ks;
        bool array = false;
        if (w->ambiguous) {
            /* an array since the first call (the index is multikey now): its
             * entries are not the sort's order, and one per element; skipped */
            if (docstore_keyset_build(&ks, &doc, w->fields, w->desc, w->nsort, err) != 0) {
                rc = -1;
                break;
            }
            array = ks.n != 1;
            docstore_keyset_free(&ks);
            if (first && !array) {
                *stop = true; /* the caller sorts in memory instead */
                break;
            }
        }
        if (!array) {
            w->st->docs_examined++;
            st = cb(ctx, &doc, sqlite3_column_int64(q, 1));
        }
        if (st == DOCSTORE_STREAM_STOP) {
            *stop = true;
            break;
        }
        buf_reset(&s->last_k);
        if (buf_append(&s->last_k, sqlite3_column_blob(q, 2), (size_t)sqlite3_column_bytes(q, 2))) {
            docstore_error_set(err, DOCSTORE_INTERNAL_ERROR, "storage: out of memory");
            rc = -1;
            break;
        }
        s->last_rid = sqlite3_column_int64(q, 1);
        if (st == DOCSTORE_STREAM_LAST)
            *stop = true;
    }
    st_stmt_done(w->d, q);
    buf_free(&key);
    if (rc == 0 && !*stop && step != SQLITE_DONE)
        return st_sql_error(w->d, "ordered scan", err);
    return rc;
}

int docstore_storage_scan_stream_ordered(docstore_storage_t *st, const char *db, const char *coll,
                                         docstore_stream_t *s, const char *const *fields,
                                         const int *dirs, size_t n, docstore_stream_cb cb,
                                         void *ctx, bool *ordered, docstore_error_t *err)
{
    *ordered = true;
    if (s->kind == STREAM_EMPTY)
        return 0;
    st_db_t *d;
    if (st_db_get(st, db, false, &d, err))
        return -1;
    st_coll_t *c;
    bool first = s->kind == STREAM_UNSTARTED;
    plan_t best = {.score = PLAN_NONE};
    if (first) {
        if ((c = d ? st_coll_find(d, coll) : NULL) == NULL) {
            s->kind = STREAM_EMPTY;
            return 0;
        }
        *ordered = false;
        if (n == 0 || n > 32)
            return 0;
        if (s->filter)
            plan_conditions(s->filter, s->filter, c, NULL, &best, 0);
        plan_normalize(&best);
        s->target = ordered_target(c, s->filter, NULL, &best, fields, dirs, n, &s->off, &s->reverse);
        size_t nfields = s->target < c->nindexes ? c->indexes[s->target].nfields : 1;
        if (s->target > c->nindexes || s->off + n != nfields) {
            plan_free(&best); /* no walk, or ties that need reordering: not streamed */
            return 0;
        }
        memcpy(s->uuid, c->uuid, 16);
        if (s->target < c->nindexes) {
            s->index_id = c->indexes[s->target].id;
            if ((s->index_name = strdup(c->indexes[s->target].name)) == NULL) {
                plan_free(&best);
                docstore_error_set(err, DOCSTORE_INTERNAL_ERROR, "storage: out of memory");
                return -1;
            }
        }
        s->kind = STREAM_ORDERED;
    } else {
        if (stream_coll(d, s, db, coll, &c, err))
            return -1;
        if (s->index_id == 0)
            s->target = c->nindexes;
        if (s->filter)
            plan_conditions(s->filter, s->filter, c, NULL, &best, 0);
        plan_normalize(&best);
        if (best.score == PLAN_NONE || best.nbranches > 0 ||
            (size_t)(best.score % 1000) != s->target) {
            plan_free(&best); /* the walk's own ranges go: every key (the matcher filters) */
            best = (plan_t){.score = PLAN_NONE};
        }
    }
    if (best.score == PLAN_NONE && plan_add(&best) == NULL) { /* one range: every key */
        plan_free(&best);
        docstore_error_set(err, DOCSTORE_INTERNAL_ERROR, "storage: out of memory");
        return -1;
    }
    static const bool ascending[1] = {false};
    const st_index_t *ix = s->target == c->nindexes ? NULL : &c->indexes[s->target];
    ordered_walk_t w = {.st = st,
                        .d = d,
                        .c = c,
                        .ix = ix,
                        .fields = fields,
                        .desc = ix ? ix->desc + s->off : ascending,
                        .nsort = n,
                        .reverse = s->reverse};
    char tie[224], bounded[320], open[320];
    const char *cmp = s->reverse ? "<" : ">", *order = s->reverse ? "DESC" : "ASC";
    if (ix == NULL) {
        snprintf(tie, sizeof tie, "SELECT doc, rid, id FROM c%lld WHERE id = ?3 AND rid > ?4",
                 (long long)c->id);
        snprintf(bounded, sizeof bounded,
                 "SELECT doc, rid, id FROM c%lld WHERE id >= ?1 AND id < ?2 AND id %s ?3 "
                 "ORDER BY id %s",
                 (long long)c->id, s->last_k.len ? cmp : "<>", order);
        snprintf(open, sizeof open,
                 "SELECT doc, rid, id FROM c%lld WHERE id >= ?1 AND id %s ?3 ORDER BY id %s",
                 (long long)c->id, s->last_k.len ? cmp : "<>", order);
    } else {
        long long iid = (long long)ix->id, cid = (long long)c->id;
        snprintf(tie, sizeof tie,
                 "SELECT c.doc, i.rid, i.k FROM i%lld AS i CROSS JOIN c%lld AS c ON c.rid = i.rid "
                 "WHERE i.k = ?3 AND i.rid > ?4 ORDER BY i.rid",
                 iid, cid);
        snprintf(bounded, sizeof bounded,
                 "SELECT c.doc, i.rid, i.k FROM i%lld AS i CROSS JOIN c%lld AS c ON c.rid = i.rid "
                 "WHERE i.k >= ?1 AND i.k < ?2 AND i.k %s ?3 ORDER BY i.k %s, i.rid ASC",
                 iid, cid, s->last_k.len ? cmp : "<>", order);
        snprintf(open, sizeof open,
                 "SELECT c.doc, i.rid, i.k FROM i%lld AS i CROSS JOIN c%lld AS c ON c.rid = i.rid "
                 "WHERE i.k >= ?1 AND i.k %s ?3 ORDER BY i.k %s, i.rid ASC",
                 iid, cid, s->last_k.len ? cmp : "<>", order);
    }
    bool stop = false;
    int rc = 0;
    if (s->last_k.len > 0) /* the rest of the run of ties in progress, in rid order */
        rc = ordered_query(&w, s, tie, NULL, false, &stop, cb, ctx, err);
    for (size_t i = 0; i < best.n && !stop && rc == 0; i++) {
        const range_t *r = &best.r[s->reverse ? best.n - 1 - i : i];
        rc = ordered_query(&w, s, r->hi.len ? bounded : open, r, first, &stop, cb, ctx, err);
    }
    if (rc == 0 && first && w.ambiguous)
        *ordered = false;
    else
        *ordered = true;
    plan_free(&best);
    return rc;
}

int docstore_storage_scan_stream(docstore_storage_t *st, const char *db, const char *coll,
                                 docstore_stream_t *s, docstore_stream_cb cb, void *ctx,
                                 docstore_error_t *err)
{
    if (s->kind == STREAM_EMPTY)
        return 0;
    st_db_t *d;
    if (st_db_get(st, db, false, &d, err))
        return -1;
    st_coll_t *c = d ? st_coll_find(d, coll) : NULL;
    if (s->kind == STREAM_UNSTARTED) {
        if (c == NULL) {
            s->kind = STREAM_EMPTY;
            return 0;
        }
        memcpy(s->uuid, c->uuid, 16);
    } else if (stream_coll(d, s, db, coll, &c, err)) {
        return -1;
    }
    plan_t best = {.score = PLAN_NONE};
    if (s->kind == STREAM_IDS) {
        st_coll_t only_id = *c; /* the same _id ranges, whatever indexes came since */
        only_id.nindexes = 0;
        plan_conditions(s->filter, s->filter, &only_id, NULL, &best, 0);
    } else if (s->filter != NULL) {
        plan_conditions(s->filter, s->filter, c, NULL, &best, 0);
    }
    plan_normalize(&best);
    size_t target = (size_t)(best.score % 1000);
    if (s->kind == STREAM_UNSTARTED) {
        s->kind = best.score < PLAN_NONE && best.nbranches == 0 && target == c->nindexes
                      ? STREAM_IDS
                      : STREAM_RIDS;
        if (best.score < PLAN_NONE && best.nbranches == 0 && target < c->nindexes) {
            s->index_id = c->indexes[target].id;
            if ((s->index_name = strdup(c->indexes[target].name)) == NULL) {
                plan_free(&best);
                docstore_error_set(err, DOCSTORE_INTERNAL_ERROR, "storage: out of memory");
                return -1;
            }
        }
    }
    int rc;
    if (s->kind == STREAM_IDS)
        rc = stream_ids(st, s, d, c, &best, cb, ctx, err);
    else if (best.score < PLAN_NONE)
        rc = stream_rids_plan(st, s, d, c, &best, cb, ctx, err);
    else
        rc = stream_rids_scan(st, s, d, c, cb, ctx, err);
    plan_free(&best);
    return rc;
}

/* ---- explain: the access path, as MongoDB's plan stages ---- */

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
    return cmp_bytes(&((const keyed_value_t *)a)->key, &((const keyed_value_t *)b)->key);
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
        if (strcmp(op, "$eq") == 0 && point_ok(v))
            eqv = *v, eq = &eqv;
        else if (strcmp(op, "$in") == 0 && v->value_type == BSON_TYPE_ARRAY)
            inv = *v, in = &inv;
        else if ((strcmp(op, "$gt") == 0 || strcmp(op, "$gte") == 0) && bound_ok(v))
            lov = *v, lo = &lov, lo_incl = op[3] == 'e';
        else if ((strcmp(op, "$lt") == 0 || strcmp(op, "$lte") == 0) && bound_ok(v))
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
            if (k == 0 || cmp_bytes(&vals[x].key, &vals[desc ? x + 1 : x - 1].key) != 0)
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

static void explain_plan(const st_coll_t *c, const plan_t *p, bool reverse, bson_t *out)
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
    plan_t best = {.score = PLAN_NONE};
    if (filter)
        plan_conditions(filter, filter, c, collation, &best, 0);
    plan_normalize(&best);
    size_t target = c->nindexes + 1, off = 0;
    bool reverse = false;
    if (n > 0 && n <= 32)
        target = ordered_target(c, filter, collation, &best, fields, dirs, n, &off, &reverse);
    *sort_served = target <= c->nindexes;
    if (best.score == PLAN_NONE && !*sort_served) {
        BSON_APPEND_UTF8(out, "stage", "COLLSCAN");
        if (has_filter)
            BSON_APPEND_DOCUMENT(out, "filter", filter);
        BSON_APPEND_UTF8(out, "direction", "forward");
        plan_free(&best);
        return 0;
    }
    BSON_APPEND_UTF8(out, "stage", "FETCH");
    if (has_filter)
        BSON_APPEND_DOCUMENT(out, "filter", filter);
    bson_t in;
    BSON_APPEND_DOCUMENT_BEGIN(out, "inputStage", &in);
    if (best.score == PLAN_NONE)
        explain_ixscan(c, target, NULL, 0, reverse, &in); /* a sort walking a whole index */
    else
        explain_plan(c, &best, reverse, &in);
    bson_append_document_end(out, &in);
    plan_free(&best);
    return 0;
}
