/*
 * Storage, part 4: renaming a collection. Within a database it is a catalog
 * update; across databases (files) the collection is copied, documents and
 * indexes, then the source is dropped (not atomic: docs/docstore.md). On top
 * of storage.c, storage_docs.c and storage_index.c, which never call it.
 */
#include "docstore/storage/storage_internal.h"

#include <stdio.h>
#include <string.h>

/* Copies every document and index of from into a new collection to. */
static int copy_collection(docstore_storage_t *st, st_db_t *fd, st_coll_t *from, const char *to_db,
                           const char *to, docstore_error_t *err)
{
    if (docstore_storage_create_collection(st, to_db, to, true, err))
        return -1;
    for (size_t i = 0; i < from->nindexes; i++) {
        bool created;
        if (docstore_storage_create_index(st, to_db, to, from->indexes[i].spec, &created, err))
            return -1;
    }
    char sql[64];
    snprintf(sql, sizeof sql, "SELECT doc FROM c%lld ORDER BY rid", (long long)from->id);
    sqlite3_stmt *s;
    if (st_stmt(fd, sql, &s, err))
        return -1;
    int r, rc = 0;
    while (rc == 0 && (r = sqlite3_step(s)) == SQLITE_ROW) {
        bson_t doc;
        if (!bson_init_static(&doc, sqlite3_column_blob(s, 0), (size_t)sqlite3_column_bytes(s, 0)))
            continue;
        rc = docstore_storage_insert(st, to_db, to, &doc, err);
    }
    st_stmt_done(fd, s);
    return rc;
}

int docstore_storage_rename_collection(docstore_storage_t *st, const char *from_db,
                                       const char *from, const char *to_db, const char *to,
                                       bool drop_target, docstore_error_t *err)
{
    st_db_t *fd, *td;
    if (st_check_coll_name(to_db, to, err) || st_db_get(st, from_db, false, &fd, err))
        return -1;
    st_coll_t *c = fd ? st_coll_find(fd, from) : NULL;
    if (c == NULL) {
        docstore_error_set(err, DOCSTORE_NAMESPACE_NOT_FOUND, "source namespace does not exist");
        return -1;
    }
    if (strcmp(from_db, to_db) == 0 && strcmp(from, to) == 0) {
        docstore_error_set(err, DOCSTORE_ILLEGAL_OPERATION, "Can't rename a collection to itself");
        return -1;
    }
    if (st_db_get(st, to_db, false, &td, err))
        return -1;
    if (td != NULL && st_coll_find(td, to) != NULL) {
        if (!drop_target) {
            docstore_error_set(err, DOCSTORE_NAMESPACE_EXISTS, "target namespace exists");
            return -1;
        }
        if (docstore_storage_drop_collection(st, to_db, to, NULL, err))
            return -1;
        c = st_coll_find(fd, from); /* the catalog was reloaded if same db */
    }
    if (strcmp(from_db, to_db) != 0) {
        /* Across files: copy, then drop the source (not atomic: documented). */
        if (copy_collection(st, fd, c, to_db, to, err)) {
            docstore_storage_drop_collection(st, to_db, to, NULL, NULL);
            return -1;
        }
        return docstore_storage_drop_collection(st, from_db, from, NULL, err);
    }
    if (st_op_begin(fd, err))
        return -1;
    sqlite3_stmt *s = NULL;
    int rc = -1;
    if (st_stmt(fd, "UPDATE _catalog SET name = ?2 WHERE name = ?1", &s, err))
        goto out;
    sqlite3_bind_text(s, 1, from, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, to, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(s) != SQLITE_DONE) {
        st_sql_error(fd, "rename", err);
        goto out;
    }
    st_stmt_done(fd, s);
    s = NULL;
    if (st_stmt(fd, "UPDATE _indexes SET coll = ?2 WHERE coll = ?1", &s, err))
        goto out;
    sqlite3_bind_text(s, 1, from, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, to, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(s) != SQLITE_DONE) {
        st_sql_error(fd, "rename", err);
        goto out;
    }
    rc = st_meta_load(fd, err);
out:
    st_stmt_done(fd, s);
    if (st_op_end(fd, rc == 0, err) != 0)
        return -1;
    return rc;
}
