/*
 * Storage, part 3: secondary indexes (create, list, drop; their specs are
 * parsed in storage.c, which loads them from the catalog) and the scans that
 * read them. A scan asks the planner (storage_plan.c) for the access path of
 * its filter, reads only the byte ranges of encoded keys the plan names and
 * hands every document to the callback; the matcher still filters what comes
 * back. An ordered scan walks the index the planner picks for a sort, in key
 * order. Streamed (resumable) scans are storage_stream.c, explain is
 * storage_explain.c.
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

/* ---- scans ---- */

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

void st_bind_range(sqlite3_stmt *s, const st_range_t *r)
{
    sqlite3_bind_blob(s, 1, r->lo.data ? r->lo.data : "", (int)r->lo.len, SQLITE_STATIC);
    if (r->hi.len)
        sqlite3_bind_blob(s, 2, r->hi.data, (int)r->hi.len, SQLITE_STATIC);
}

static int scan_id_ranges(docstore_storage_t *st, st_db_t *d, st_coll_t *c, const st_plan_t *p,
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
        st_bind_range(s, &p->r[i]);
        int r;
        while (!stop && (r = sqlite3_step(s)) == SQLITE_ROW)
            emit(st, s, 0, cb, ctx, &stop);
        st_stmt_done(d, s);
        if (!stop && r != SQLITE_DONE)
            return st_sql_error(d, "scan", err);
    }
    return 0;
}

int st_ridvec_read(st_db_t *d, sqlite3_stmt *s, st_ridvec_t *out, docstore_error_t *err)
{
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
    return r == SQLITE_DONE ? 0 : st_sql_error(d, "index scan", err);
}

int st_rid_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Appends the rids of plan p's ranges over target (an index, or _id). */
static int collect_rids(st_db_t *d, st_coll_t *c, size_t target, const st_plan_t *p,
                        st_ridvec_t *out, docstore_error_t *err)
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
        st_bind_range(s, &p->r[i]);
        if (st_ridvec_read(d, s, out, err) != 0)
            return -1;
    }
    return 0;
}

/* Reads the documents of the rids, each once, in rid (insertion) order: a
 * multikey document may sit under several keys, a $or document under several
 * branches. */
static int fetch_rids(docstore_storage_t *st, st_db_t *d, st_coll_t *c, st_ridvec_t *rids,
                      docstore_doc_cb cb, void *ctx, docstore_error_t *err)
{
    if (rids->n > 1)
        qsort(rids->v, rids->n, sizeof *rids->v, st_rid_cmp);
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
static int collect_plan_rids(st_db_t *d, st_coll_t *c, const st_plan_t *p, st_ridvec_t *out,
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

static int scan_plan(docstore_storage_t *st, st_db_t *d, st_coll_t *c, st_plan_t *p,
                     docstore_doc_cb cb, void *ctx, docstore_error_t *err)
{
    size_t target = (size_t)(p->score % 1000);
    if (p->nbranches == 0 && target == c->nindexes)
        return scan_id_ranges(st, d, c, p, cb, ctx, err); /* disjoint: no rid pass */
    st_ridvec_t rids = {0};
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
    st_plan_t best = {.score = ST_PLAN_NONE};
    st_plan_conditions(filter, filter, c, collation, &best, 0);
    *served = best.score < ST_PLAN_NONE;
    st_plan_free(&best);
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
    st_plan_t best = {.score = ST_PLAN_NONE};
    if (filter)
        st_plan_conditions(filter, filter, c, collation, &best, 0);
    if (best.score < ST_PLAN_NONE) {
        st_plan_normalize(&best);
        int rc = scan_plan(st, d, c, &best, cb, ctx, err);
        st_plan_free(&best);
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

/* ---- ordered scans: a sort served by an index ---- */

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
int st_walk_key(st_walk_t *w, const bson_t *doc, buf_t *out, docstore_error_t *err)
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

static int walk_range(st_walk_t *w, const st_range_t *r, bool *stop, docstore_error_t *err)
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
    st_bind_range(s, r);
    buf_t key;
    buf_init(&key, DOCSTORE_KEY_MAX);
    int rc = 0, step = SQLITE_DONE;
    while (!*stop && (step = sqlite3_step(s)) == SQLITE_ROW) {
        bson_t doc;
        if (!bson_init_static(&doc, sqlite3_column_blob(s, 0),
                              (size_t)sqlite3_column_bytes(s, 0)))
            continue;
        if (st_walk_key(w, &doc, &key, err) != 0) {
            rc = -1;
            break;
        }
        if (w->ambiguous) {
            *stop = true;
            break;
        }
        bool tie = w->have_prev && st_cmp_bytes(&key, &w->prev) == 0;
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
    st_plan_t best = {.score = ST_PLAN_NONE};
    if (filter)
        st_plan_conditions(filter, filter, c, collation, &best, 0);
    size_t off = 0;       /* leading index fields the filter fixes */
    bool reverse = false; /* walk the keys backwards */
    st_plan_normalize(&best);
    size_t target =
        st_plan_ordered_target(c, filter, collation, &best, fields, dirs, n, &off, &reverse);
    if (target > c->nindexes) {
        st_plan_free(&best);
        return 0;
    }
    if (best.score == ST_PLAN_NONE && st_plan_add(&best) == NULL) { /* one range: every key */
        st_plan_free(&best);
        docstore_error_set(err, DOCSTORE_INTERNAL_ERROR, "storage: out of memory");
        return -1;
    }
    static const bool ascending[1] = {false};
    const st_index_t *ix = target == c->nindexes ? NULL : &c->indexes[target];
    st_walk_t w = {.st = st,
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
    st_plan_free(&best);
    return rc;
}
