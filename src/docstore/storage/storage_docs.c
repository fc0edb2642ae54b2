/*
 * Storage, part 2: document writes. A document is one row of c<id> keyed by
 * the encoded _id (keyenc.h), and one row per index key in each i<id> table.
 * Every write runs in a savepoint, so a duplicate key found in the third index
 * leaves no trace of the document; outside a command transaction the
 * savepoint's release is the commit.
 */
#include "docstore/storage/storage_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Appends v as MongoDB prints it in a dup key message. */
static void fmt_value(buf_t *b, const bson_value_t *v)
{
    int rc = 0;
    switch (v->value_type) {
    case BSON_TYPE_INT32:
        rc = buf_printf(b, "%d", v->value.v_int32);
        break;
    case BSON_TYPE_INT64:
        rc = buf_printf(b, "%lld", (long long)v->value.v_int64);
        break;
    case BSON_TYPE_DOUBLE: {
        double d = v->value.v_double;
        if (d == (double)(long long)d && d > -1e15 && d < 1e15)
            rc = buf_printf(b, "%.1f", d);
        else
            rc = buf_printf(b, "%.17g", d);
        break;
    }
    case BSON_TYPE_UTF8:
        rc = buf_printf(b, "\"%.*s\"", (int)v->value.v_utf8.len, v->value.v_utf8.str);
        break;
    case BSON_TYPE_OID: {
        char hex[25];
        bson_oid_to_string(&v->value.v_oid, hex);
        rc = buf_printf(b, "ObjectId('%s')", hex);
        break;
    }
    case BSON_TYPE_NULL:
    case BSON_TYPE_EOD:
    case BSON_TYPE_UNDEFINED:
        rc = buf_append_str(b, "null");
        break;
    case BSON_TYPE_BOOL:
        rc = buf_append_str(b, v->value.v_bool ? "true" : "false");
        break;
    default: {
        bson_t tmp = BSON_INITIALIZER;
        bson_append_value(&tmp, "v", 1, v);
        size_t n;
        char *json = bson_as_relaxed_extended_json(&tmp, &n);
        /* {"v" : X } → X */
        if (json && n > 9)
            rc = buf_printf(b, "%.*s", (int)(n - 9), json + 7);
        bson_free(json);
        bson_destroy(&tmp);
        break;
    }
    }
    (void)rc; /* a truncated message is still a message */
}

/* Fills err with DuplicateKey for index ix (NULL: _id_) and the key values. */
static int dup_key_error(st_db_t *d, st_coll_t *c, const st_index_t *ix, const bson_value_t *values,
                         docstore_error_t *err)
{
    static const char *const id_field[] = {"_id"};
    const char *const *fields = ix ? (const char *const *)ix->fields : id_field;
    size_t n = ix ? ix->nfields : 1;
    buf_t msg;
    buf_init(&msg, 400);
    if (buf_append_str(&msg, "{ ") != 0)
        goto done;
    for (size_t i = 0; i < n; i++) {
        if (buf_printf(&msg, "%s%s: ", i ? ", " : "", fields[i]) != 0)
            break;
        fmt_value(&msg, &values[i]);
    }
    if (buf_append_str(&msg, " }") != 0)
        goto done;
done:
    docstore_error_set(err, DOCSTORE_DUPLICATE_KEY,
                       "E11000 duplicate key error collection: %s.%s index: %s dup key: %s",
                       d->name, c->name, ix ? ix->name : "_id_", msg.data ? msg.data : "{ }");
    buf_free(&msg);
    if (err) {
        if (err->extra)
            bson_destroy(err->extra);
        err->extra = bson_new();
        bson_t child;
        BSON_APPEND_DOCUMENT_BEGIN(err->extra, "keyPattern", &child);
        if (ix) {
            bson_concat(&child, ix->key);
        } else {
            BSON_APPEND_INT32(&child, "_id", 1);
        }
        bson_append_document_end(err->extra, &child);
        BSON_APPEND_DOCUMENT_BEGIN(err->extra, "keyValue", &child);
        for (size_t i = 0; i < n; i++)
            bson_append_value(&child, fields[i], -1, &values[i]);
        bson_append_document_end(err->extra, &child);
    }
    return -1;
}

/* The encoded _id of doc into key. InvalidIdField for arrays, regexes, undefined. */
static int id_key(const bson_t *doc, buf_t *key, bson_value_t *idv, docstore_error_t *err)
{
    bson_iter_t it;
    if (!bson_iter_init_find(&it, doc, "_id")) {
        docstore_error_set(err, DOCSTORE_INVALID_ID_FIELD, "document has no _id");
        return -1;
    }
    const bson_value_t *v = bson_iter_value(&it);
    switch (v->value_type) {
    case BSON_TYPE_ARRAY:
        docstore_error_set(err, DOCSTORE_INVALID_ID_FIELD,
                           "The '_id' value cannot be of type array");
        return -1;
    case BSON_TYPE_REGEX:
        docstore_error_set(err, DOCSTORE_INVALID_ID_FIELD, "can't use a regex for _id");
        return -1;
    case BSON_TYPE_UNDEFINED:
        docstore_error_set(err, DOCSTORE_INVALID_ID_FIELD, "can't use a undefined for _id");
        return -1;
    default:
        break;
    }
    if (idv)
        *idv = *v;
    if (docstore_key_append(key, v, false) != 0) {
        docstore_error_set(err, DOCSTORE_BAD_VALUE, "_id too large or too deeply nested");
        return -1;
    }
    return 0;
}

int st_index_add_doc(st_db_t *d, st_coll_t *c, st_index_t *ix, const bson_t *doc, int64_t rid,
                     docstore_error_t *err)
{
    bool in;
    if (st_index_covers(ix, doc, &in, err))
        return -1;
    if (!in)
        return 0; /* sparse or partial: not this index's document */
    docstore_keyset_t ks;
    if (st_index_keyset(ix, doc, &ks, err))
        return -1;
    char sql[80];
    sqlite3_stmt *s;
    int rc = -1;
    if (ks.multikey && !ix->multikey) {
        /* Rolled back with the write if it fails: the catalog reload then
         * forgets the flag too. */
        if (st_stmt(d, "INSERT OR IGNORE INTO _multikey(id) VALUES (?1)", &s, err))
            goto out;
        sqlite3_bind_int64(s, 1, ix->id);
        int r = sqlite3_step(s);
        st_stmt_done(d, s);
        if (r != SQLITE_DONE) {
            st_sql_error(d, "multikey", err);
            goto out;
        }
        ix->multikey = true;
    }
    snprintf(sql, sizeof sql, "INSERT INTO i%lld(k, rid) VALUES (?1, ?2)", (long long)ix->id);
    if (st_stmt(d, sql, &s, err))
        goto out;
    for (size_t i = 0; i < ks.n; i++) {
        sqlite3_bind_blob(s, 1, ks.keys[i].data, (int)ks.keys[i].len, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, rid);
        int r = sqlite3_step(s);
        sqlite3_reset(s);
        if (r == SQLITE_CONSTRAINT) {
            st_stmt_done(d, s);
            dup_key_error(d, c, ix, &ks.values[i * ks.nfields], err);
            goto out;
        }
        if (r != SQLITE_DONE) {
            st_sql_error(d, "index insert", err);
            st_stmt_done(d, s);
            goto out;
        }
    }
    st_stmt_done(d, s);
    rc = 0;
out:
    docstore_keyset_free(&ks);
    return rc;
}

static int index_remove_doc(st_db_t *d, st_index_t *ix, const bson_t *doc, int64_t rid,
                            docstore_error_t *err)
{
    docstore_keyset_t ks;
    if (st_index_keyset(ix, doc, &ks, err)) {
        /* Stored before a failure mode existed: fall back to removing by rid. */
        docstore_error_clear(err);
        char sql[80];
        snprintf(sql, sizeof sql, "DELETE FROM i%lld WHERE rid = ?1", (long long)ix->id);
        sqlite3_stmt *s;
        if (st_stmt(d, sql, &s, err))
            return -1;
        sqlite3_bind_int64(s, 1, rid);
        int r = sqlite3_step(s);
        st_stmt_done(d, s);
        return r == SQLITE_DONE ? 0 : st_sql_error(d, "index delete", err);
    }
    char sql[80];
    snprintf(sql, sizeof sql, "DELETE FROM i%lld WHERE k = ?1 AND rid = ?2", (long long)ix->id);
    sqlite3_stmt *s;
    int rc = -1;
    if (st_stmt(d, sql, &s, err))
        goto out;
    for (size_t i = 0; i < ks.n; i++) {
        sqlite3_bind_blob(s, 1, ks.keys[i].data, (int)ks.keys[i].len, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, rid);
        int r = sqlite3_step(s);
        sqlite3_reset(s);
        if (r != SQLITE_DONE) {
            st_sql_error(d, "index delete", err);
            st_stmt_done(d, s);
            goto out;
        }
    }
    st_stmt_done(d, s);
    rc = 0;
out:
    docstore_keyset_free(&ks);
    return rc;
}

static int insert_in_op(st_db_t *d, const char *coll, const bson_t *doc, docstore_error_t *err)
{
    st_coll_t *c = st_coll_find(d, coll);
    if (c == NULL && st_coll_create(d, coll, &c, err))
        return -1;
    buf_t key;
    buf_init(&key, DOCSTORE_KEY_MAX);
    bson_value_t idv;
    int rc = -1;
    if (id_key(doc, &key, &idv, err))
        goto out;
    char sql[80];
    snprintf(sql, sizeof sql, "INSERT INTO c%lld(id, doc) VALUES (?1, ?2)", (long long)c->id);
    sqlite3_stmt *s;
    if (st_stmt(d, sql, &s, err))
        goto out;
    sqlite3_bind_blob(s, 1, key.data, (int)key.len, SQLITE_STATIC);
    sqlite3_bind_blob(s, 2, bson_get_data(doc), (int)doc->len, SQLITE_STATIC);
    int r = sqlite3_step(s);
    st_stmt_done(d, s);
    if (r == SQLITE_CONSTRAINT) {
        dup_key_error(d, c, NULL, &idv, err);
        goto out;
    }
    if (r != SQLITE_DONE) {
        st_sql_error(d, "insert", err);
        goto out;
    }
    int64_t rid = sqlite3_last_insert_rowid(d->sql);
    for (size_t i = 0; i < c->nindexes; i++) {
        if (st_index_add_doc(d, c, &c->indexes[i], doc, rid, err))
            goto out;
    }
    if (c->capped && st_cap_trim(d, c, rid, (int64_t)doc->len, err))
        goto out;
    rc = 0;
out:
    buf_free(&key);
    return rc;
}

int docstore_storage_insert(docstore_storage_t *st, const char *db, const char *coll,
                            const bson_t *doc, docstore_error_t *err)
{
    st_db_t *d;
    if (st_check_coll_name(db, coll, err) || st_db_get(st, db, true, &d, err))
        return -1;
    if (doc->len > 16 * 1024 * 1024 + 16 * 1024) {
        docstore_error_set(err, DOCSTORE_BSON_OBJECT_TOO_LARGE, "object to insert too large");
        return -1;
    }
    if (st_op_begin(d, err))
        return -1;
    int rc = insert_in_op(d, coll, doc, err);
    if (st_op_end(d, rc == 0, err) != 0)
        return -1;
    return rc;
}

/* Finds the stored row with doc's _id: its rid and a copy of the stored document. */
static int find_stored(st_db_t *d, st_coll_t *c, const buf_t *key, int64_t *rid, bson_t **stored,
                       docstore_error_t *err)
{
    char sql[80];
    snprintf(sql, sizeof sql, "SELECT rid, doc FROM c%lld WHERE id = ?1", (long long)c->id);
    sqlite3_stmt *s;
    if (st_stmt(d, sql, &s, err))
        return -1;
    sqlite3_bind_blob(s, 1, key->data, (int)key->len, SQLITE_STATIC);
    int r = sqlite3_step(s);
    int rc = 0;
    *stored = NULL;
    if (r == SQLITE_ROW) {
        *rid = sqlite3_column_int64(s, 0);
        *stored = bson_new_from_data(sqlite3_column_blob(s, 1), (size_t)sqlite3_column_bytes(s, 1));
        if (*stored == NULL)
            rc = st_sql_error(d, "corrupt document", err);
    } else if (r != SQLITE_DONE) {
        rc = st_sql_error(d, "read", err);
    }
    st_stmt_done(d, s);
    return rc;
}

static int remove_in_op(st_db_t *d, st_coll_t *c, int64_t rid, const bson_t *stored,
                        docstore_error_t *err)
{
    for (size_t i = 0; i < c->nindexes; i++) {
        if (index_remove_doc(d, &c->indexes[i], stored, rid, err))
            return -1;
    }
    return 0;
}

int docstore_storage_replace(docstore_storage_t *st, const char *db, const char *coll,
                             const bson_t *old_doc, const bson_t *new_doc, docstore_error_t *err)
{
    st_db_t *d;
    if (st_db_get(st, db, false, &d, err))
        return -1;
    st_coll_t *c = d ? st_coll_find(d, coll) : NULL;
    if (c == NULL) {
        docstore_error_set(err, DOCSTORE_NAMESPACE_NOT_FOUND, "ns not found");
        return -1;
    }
    if (new_doc->len > 16 * 1024 * 1024) {
        docstore_error_set(err, DOCSTORE_BSON_OBJECT_TOO_LARGE,
                           "Resulting document after update is larger than 16777216");
        return -1;
    }
    buf_t key, nkey;
    buf_init(&key, DOCSTORE_KEY_MAX);
    buf_init(&nkey, DOCSTORE_KEY_MAX);
    bson_t *stored = NULL;
    int64_t rid = 0;
    int rc = -1;
    if (id_key(old_doc, &key, NULL, err) || id_key(new_doc, &nkey, NULL, err))
        goto out;
    if (key.len != nkey.len || memcmp(key.data, nkey.data, key.len) != 0) {
        docstore_error_set(err, DOCSTORE_IMMUTABLE_FIELD,
                           "After applying the update, the (immutable) field '_id' was found to "
                           "have been altered");
        goto out;
    }
    if (st_op_begin(d, err))
        goto out;
    c->cap_known = false; /* a capped collection recounts at its next insert */
    if (find_stored(d, c, &key, &rid, &stored, err) == 0) {
        if (stored == NULL) {
            docstore_error_set(err, DOCSTORE_NO_SUCH_KEY, "document to replace not found");
        } else if (remove_in_op(d, c, rid, stored, err) == 0) {
            char sql[80];
            snprintf(sql, sizeof sql, "UPDATE c%lld SET doc = ?2 WHERE rid = ?1", (long long)c->id);
            sqlite3_stmt *s;
            if (st_stmt(d, sql, &s, err) == 0) {
                sqlite3_bind_int64(s, 1, rid);
                sqlite3_bind_blob(s, 2, bson_get_data(new_doc), (int)new_doc->len, SQLITE_STATIC);
                int r = sqlite3_step(s);
                st_stmt_done(d, s);
                if (r != SQLITE_DONE) {
                    st_sql_error(d, "update", err);
                } else {
                    rc = 0;
                    for (size_t i = 0; i < c->nindexes && rc == 0; i++)
                        rc = st_index_add_doc(d, c, &c->indexes[i], new_doc, rid, err);
                }
            }
        }
    }
    if (st_op_end(d, rc == 0, err) != 0)
        rc = -1;
out:
    if (stored)
        bson_destroy(stored);
    buf_free(&key);
    buf_free(&nkey);
    return rc;
}

int docstore_storage_delete(docstore_storage_t *st, const char *db, const char *coll,
                            const bson_t *doc, docstore_error_t *err)
{
    st_db_t *d;
    if (st_db_get(st, db, false, &d, err))
        return -1;
    st_coll_t *c = d ? st_coll_find(d, coll) : NULL;
    if (c == NULL)
        return 0;
    buf_t key;
    buf_init(&key, DOCSTORE_KEY_MAX);
    bson_t *stored = NULL;
    int64_t rid = 0;
    int rc = -1;
    if (id_key(doc, &key, NULL, err))
        goto out;
    if (st_op_begin(d, err))
        goto out;
    c->cap_known = false;
    if (find_stored(d, c, &key, &rid, &stored, err) == 0) {
        if (stored == NULL) {
            rc = 0; /* already gone */
        } else if (remove_in_op(d, c, rid, stored, err) == 0) {
            char sql[80];
            snprintf(sql, sizeof sql, "DELETE FROM c%lld WHERE rid = ?1", (long long)c->id);
            sqlite3_stmt *s;
            if (st_stmt(d, sql, &s, err) == 0) {
                sqlite3_bind_int64(s, 1, rid);
                int r = sqlite3_step(s);
                st_stmt_done(d, s);
                rc = r == SQLITE_DONE ? 0 : st_sql_error(d, "delete", err);
            }
        }
    }
    if (st_op_end(d, rc == 0, err) != 0)
        rc = -1;
out:
    if (stored)
        bson_destroy(stored);
    buf_free(&key);
    return rc;
}

/* ---- capped collections ---- */

/* The table's document count and bytes, read once and then kept up to date
 * by inserts (updates, deletes and rollbacks make the next insert recount). */
static int cap_figures(st_db_t *d, st_coll_t *c, docstore_error_t *err)
{
    if (c->cap_known)
        return 0;
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT count(*), coalesce(sum(length(doc)), 0) FROM c%lld",
             (long long)c->id);
    sqlite3_stmt *s;
    if (st_stmt(d, sql, &s, err))
        return -1;
    int rc = 0;
    if (sqlite3_step(s) == SQLITE_ROW) {
        c->cap_count = sqlite3_column_int64(s, 0);
        c->cap_bytes = sqlite3_column_int64(s, 1);
        c->cap_known = true;
    } else {
        rc = st_sql_error(d, "capped", err);
    }
    st_stmt_done(d, s);
    return rc;
}

int st_cap_trim(st_db_t *d, st_coll_t *c, int64_t rid, int64_t len, docstore_error_t *err)
{
    bool was_known = c->cap_known;
    if (cap_figures(d, c, err))
        return -1;
    if (was_known) { /* the recount already saw the new row */
        c->cap_count++;
        c->cap_bytes += len;
    }
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT rid, doc FROM c%lld WHERE rid < ?1 ORDER BY rid LIMIT 1",
             (long long)c->id);
    while (c->cap_bytes > c->cap_size || (c->cap_max > 0 && c->cap_count > c->cap_max)) {
        sqlite3_stmt *s;
        if (st_stmt(d, sql, &s, err))
            return -1;
        sqlite3_bind_int64(s, 1, rid);
        int r = sqlite3_step(s);
        int64_t old = 0;
        bson_t *stored = NULL;
        if (r == SQLITE_ROW) {
            old = sqlite3_column_int64(s, 0);
            stored =
                bson_new_from_data(sqlite3_column_blob(s, 1), (size_t)sqlite3_column_bytes(s, 1));
        }
        st_stmt_done(d, s);
        if (r == SQLITE_DONE)
            return 0; /* only the new document is left: it stays */
        if (r != SQLITE_ROW || stored == NULL)
            return st_sql_error(d, "capped", err);
        int rc = remove_in_op(d, c, old, stored, err);
        int64_t gone = stored->len;
        bson_destroy(stored);
        if (rc)
            return -1;
        char del[80];
        snprintf(del, sizeof del, "DELETE FROM c%lld WHERE rid = ?1", (long long)c->id);
        if (st_stmt(d, del, &s, err))
            return -1;
        sqlite3_bind_int64(s, 1, old);
        r = sqlite3_step(s);
        st_stmt_done(d, s);
        if (r != SQLITE_DONE)
            return st_sql_error(d, "capped", err);
        c->cap_count--;
        c->cap_bytes -= gone;
    }
    return 0;
}
