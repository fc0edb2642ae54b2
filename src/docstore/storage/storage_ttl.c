/*
 * Storage, part 5: TTL indexes at work. docstore_storage_set_index_ttl
 * (collMod) changes an index's expireAfterSeconds; the TTL pass
 * (docstore_storage_ttl_pass), per TTL index, deletes the documents whose
 * indexed field holds a date before now - expireAfterSeconds (any element of
 * an array: its earliest date decides), read as one key range of the index,
 * in one transaction per collection. The options themselves are parsed in
 * storage_opts.c.
 */
#include "docstore/storage/storage_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Documents one TTL pass deletes at most, over all collections: the rest wait
 * for the next pass (the server then runs one at its next tick). */
#define TTL_PASS_MAX 10000


int docstore_storage_set_index_ttl(docstore_storage_t *st, const char *db, const char *coll,
                                   const char *name, int64_t seconds, int64_t *old,
                                   docstore_error_t *err)
{
    st_db_t *d;
    if (st_db_get(st, db, false, &d, err))
        return -1;
    st_coll_t *c = d ? st_coll_find(d, coll) : NULL;
    if (c == NULL) {
        docstore_error_set(err, DOCSTORE_NAMESPACE_NOT_FOUND, "ns does not exist: %s.%s", db, coll);
        return -1;
    }
    st_index_t *ix = NULL;
    for (size_t i = 0; i < c->nindexes && ix == NULL; i++)
        if (strcmp(c->indexes[i].name, name) == 0)
            ix = &c->indexes[i];
    if (ix == NULL) {
        docstore_error_set(err, DOCSTORE_INDEX_NOT_FOUND, "cannot find index %s for ns %s.%s", name,
                           db, coll);
        return -1;
    }
    if (ix->ttl < 0) {
        docstore_error_set(err, DOCSTORE_INVALID_OPTIONS, "no expireAfterSeconds field to update");
        return -1;
    }
    if (seconds < 0 || seconds > 2147483647) {
        docstore_error_set(err, DOCSTORE_BAD_VALUE,
                           "TTL index 'expireAfterSeconds' option must be within an acceptable "
                           "range [0, 2147483647]");
        return -1;
    }
    *old = ix->ttl;
    /* The spec with the new value in place of the old. */
    bson_t *spec = bson_new();
    bson_iter_t it;
    bson_iter_init(&it, ix->spec);
    while (bson_iter_next(&it)) {
        if (strcmp(bson_iter_key(&it), "expireAfterSeconds") == 0)
            BSON_APPEND_INT32(spec, "expireAfterSeconds", (int32_t)seconds);
        else
            bson_append_iter(spec, NULL, 0, &it);
    }
    int rc = -1;
    sqlite3_stmt *s;
    if (st_op_begin(d, err))
        goto out;
    if (st_stmt(d, "UPDATE _indexes SET spec = ?3 WHERE coll = ?1 AND name = ?2", &s, err) == 0) {
        sqlite3_bind_text(s, 1, coll, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(s, 2, name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_blob(s, 3, bson_get_data(spec), (int)spec->len, SQLITE_TRANSIENT);
        int r = sqlite3_step(s);
        st_stmt_done(d, s);
        rc = r == SQLITE_DONE ? st_meta_load(d, err) : st_sql_error(d, "collMod", err);
    }
    if (st_op_end(d, rc == 0, err) != 0)
        rc = -1;
out:
    bson_destroy(spec);
    return rc;
}

/* The documents of one TTL index that expired by now_ms, at most max, into
 * out (copies). */
static int ttl_expired(st_db_t *d, st_coll_t *c, const st_index_t *ix, int64_t now_ms, size_t max,
                       docstore_doclist_t *out, docstore_error_t *err)
{
    bson_value_t cut = {.value_type = BSON_TYPE_DATE_TIME};
    cut.value.v_datetime = now_ms - ix->ttl * 1000;
    buf_t edge;
    buf_init(&edge, DOCSTORE_KEY_MAX);
    if (docstore_key_append(&edge, &cut, ix->desc[0]) != 0) {
        buf_free(&edge);
        return docstore_error_oom(err);
    }
    /* Dates before cut: [date bracket, enc(cut)) ascending; complemented keys
     * (descending) run the other way: (~enc(cut), end of ~bracket). */
    uint8_t bracket = DOCSTORE_KEY_DATE, lo[1], hi[1];
    char sql[200];
    if (!ix->desc[0]) {
        lo[0] = bracket;
        snprintf(sql, sizeof sql,
                 "SELECT c.doc FROM c%lld c WHERE c.rid IN (SELECT DISTINCT rid FROM i%lld "
                 "WHERE k >= ?1 AND k < ?2 LIMIT ?3)",
                 (long long)c->id, (long long)ix->id);
    } else {
        hi[0] = (uint8_t)((uint8_t)~bracket + 1);
        snprintf(sql, sizeof sql,
                 "SELECT c.doc FROM c%lld c WHERE c.rid IN (SELECT DISTINCT rid FROM i%lld "
                 "WHERE k > ?1 AND k < ?2 LIMIT ?3)",
                 (long long)c->id, (long long)ix->id);
    }
    sqlite3_stmt *s;
    int rc = -1;
    if (st_stmt(d, sql, &s, err))
        goto out;
    if (!ix->desc[0]) {
        sqlite3_bind_blob(s, 1, lo, 1, SQLITE_STATIC);
        sqlite3_bind_blob(s, 2, edge.data, (int)edge.len, SQLITE_STATIC);
    } else {
        sqlite3_bind_blob(s, 1, edge.data, (int)edge.len, SQLITE_STATIC);
        sqlite3_bind_blob(s, 2, hi, 1, SQLITE_STATIC);
    }
    sqlite3_bind_int64(s, 3, (sqlite3_int64)max);
    int r;
    rc = 0;
    while (rc == 0 && (r = sqlite3_step(s)) == SQLITE_ROW) {
        bson_t doc;
        if (!bson_init_static(&doc, sqlite3_column_blob(s, 0), (size_t)sqlite3_column_bytes(s, 0)))
            continue;
        if (docstore_doclist_push_copy(out, &doc))
            rc = docstore_error_oom(err);
    }
    if (rc == 0 && r != SQLITE_DONE)
        rc = st_sql_error(d, "ttl", err);
    st_stmt_done(d, s);
out:
    buf_free(&edge);
    return rc;
}

/* One collection's expired documents, deleted in one transaction. */
static int ttl_collection(docstore_storage_t *st, st_db_t *d, const char *coll, int64_t now_ms,
                          size_t *budget, docstore_error_t *err)
{
    docstore_doclist_t l;
    docstore_doclist_init(&l);
    st_coll_t *c = st_coll_find(d, coll);
    for (size_t i = 0; c && i<c->nindexes && * budget> l.n; i++) {
        if (c->indexes[i].ttl >= 0 &&
            ttl_expired(d, c, &c->indexes[i], now_ms, *budget - l.n, &l, err) != 0) {
            docstore_doclist_free(&l);
            return -1;
        }
    }
    if (l.n == 0)
        return 0;
    int rc = docstore_storage_begin(st, d->name, err);
    for (size_t i = 0; i < l.n && rc == 0; i++) {
        rc = docstore_storage_delete(st, d->name, coll, l.docs[i], err);
        if (rc == 0)
            st->ttl_deleted++;
    }
    if (rc == 0)
        rc = docstore_storage_commit(st, d->name, err);
    else
        docstore_storage_rollback(st, d->name);
    *budget = *budget > l.n ? *budget - l.n : 0;
    docstore_doclist_free(&l);
    return rc;
}

int docstore_storage_ttl_pass(docstore_storage_t *st, int64_t now_ms, bool *more,
                              docstore_error_t *err)
{
    *more = false;
    docstore_doclist_t dbs;
    docstore_doclist_init(&dbs);
    if (docstore_storage_list_databases(st, &dbs, err))
        return -1;
    size_t budget = TTL_PASS_MAX;
    int rc = 0;
    for (size_t i = 0; i < dbs.n && rc == 0 && budget > 0; i++) {
        bson_iter_t it;
        if (!bson_iter_init_find(&it, dbs.docs[i], "name") || !BSON_ITER_HOLDS_UTF8(&it))
            continue;
        st_db_t *d;
        if (st_db_get(st, bson_iter_utf8(&it, NULL), false, &d, err)) {
            rc = -1;
            break;
        }
        if (d == NULL)
            continue;
        /* Names first: deleting reloads nothing, but keep the walk simple. */
        for (size_t j = 0; j < d->ncolls && rc == 0 && budget > 0; j++) {
            bool has_ttl = false;
            for (size_t k = 0; k < d->colls[j].nindexes; k++)
                has_ttl |= d->colls[j].indexes[k].ttl >= 0;
            if (!has_ttl)
                continue;
            char *name = strdup(d->colls[j].name);
            if (name == NULL) {
                rc = docstore_error_oom(err);
                break;
            }
            rc = ttl_collection(st, d, name, now_ms, &budget, err);
            free(name);
        }
    }
    docstore_doclist_free(&dbs);
    st->ttl_passes++;
    *more = rc == 0 && budget == 0;
    return rc;
}

void docstore_storage_ttl_stats(const docstore_storage_t *st, int64_t *passes, int64_t *deleted)
{
    *passes = st->ttl_passes;
    *deleted = st->ttl_deleted;
}
