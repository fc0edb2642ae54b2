/* Placeholder until the owning module lands: every call reports NotImplemented. */
#include "docstore/storage.h"

#define NOT_BUILT(err)                                                                             \
    do {                                                                                           \
        docstore_error_set((err), DOCSTORE_NOT_IMPLEMENTED, "storage not built yet");              \
        return -1;                                                                                 \
    } while (0)

int docstore_storage_open(const char *dir, docstore_storage_t **out, docstore_error_t *err)
{
    (void)dir;
    *out = NULL;
    NOT_BUILT(err);
}

void docstore_storage_close(docstore_storage_t *st)
{
    (void)st;
}

int docstore_storage_list_databases(docstore_storage_t *st, docstore_doclist_t *out,
                                    docstore_error_t *err)
{
    (void)st, (void)out;
    NOT_BUILT(err);
}

int docstore_storage_drop_database(docstore_storage_t *st, const char *db, docstore_error_t *err)
{
    (void)st, (void)db;
    NOT_BUILT(err);
}

int docstore_storage_list_collections(docstore_storage_t *st, const char *db,
                                      docstore_doclist_t *out, docstore_error_t *err)
{
    (void)st, (void)db, (void)out;
    NOT_BUILT(err);
}

int docstore_storage_create_collection(docstore_storage_t *st, const char *db, const char *coll,
                                       bool must_not_exist, docstore_error_t *err)
{
    (void)st, (void)db, (void)coll, (void)must_not_exist;
    NOT_BUILT(err);
}

int docstore_storage_drop_collection(docstore_storage_t *st, const char *db, const char *coll,
                                     bool *existed, docstore_error_t *err)
{
    (void)st, (void)db, (void)coll, (void)existed;
    NOT_BUILT(err);
}

int docstore_storage_rename_collection(docstore_storage_t *st, const char *from_db,
                                       const char *from, const char *to_db, const char *to,
                                       bool drop_target, docstore_error_t *err)
{
    (void)st, (void)from_db, (void)from, (void)to_db, (void)to, (void)drop_target;
    NOT_BUILT(err);
}

int docstore_storage_collection_stats(docstore_storage_t *st, const char *db, const char *coll,
                                      int64_t *count, int64_t *size, int32_t *nindexes,
                                      docstore_error_t *err)
{
    (void)st, (void)db, (void)coll, (void)count, (void)size, (void)nindexes;
    NOT_BUILT(err);
}

int docstore_storage_begin(docstore_storage_t *st, const char *db, docstore_error_t *err)
{
    (void)st, (void)db;
    NOT_BUILT(err);
}

int docstore_storage_commit(docstore_storage_t *st, const char *db, docstore_error_t *err)
{
    (void)st, (void)db;
    NOT_BUILT(err);
}

void docstore_storage_rollback(docstore_storage_t *st, const char *db)
{
    (void)st, (void)db;
}

int docstore_storage_insert(docstore_storage_t *st, const char *db, const char *coll,
                            const bson_t *doc, docstore_error_t *err)
{
    (void)st, (void)db, (void)coll, (void)doc;
    NOT_BUILT(err);
}

int docstore_storage_replace(docstore_storage_t *st, const char *db, const char *coll,
                             const bson_t *old_doc, const bson_t *new_doc, docstore_error_t *err)
{
    (void)st, (void)db, (void)coll, (void)old_doc, (void)new_doc;
    NOT_BUILT(err);
}

int docstore_storage_delete(docstore_storage_t *st, const char *db, const char *coll,
                            const bson_t *doc, docstore_error_t *err)
{
    (void)st, (void)db, (void)coll, (void)doc;
    NOT_BUILT(err);
}

int docstore_storage_scan(docstore_storage_t *st, const char *db, const char *coll,
                          const bson_t *filter, docstore_doc_cb cb, void *ctx,
                          docstore_error_t *err)
{
    (void)st, (void)db, (void)coll, (void)filter, (void)cb, (void)ctx;
    NOT_BUILT(err);
}

int docstore_storage_create_index(docstore_storage_t *st, const char *db, const char *coll,
                                  const bson_t *spec, bool *created, docstore_error_t *err)
{
    (void)st, (void)db, (void)coll, (void)spec, (void)created;
    NOT_BUILT(err);
}

int docstore_storage_list_indexes(docstore_storage_t *st, const char *db, const char *coll,
                                  docstore_doclist_t *out, docstore_error_t *err)
{
    (void)st, (void)db, (void)coll, (void)out;
    NOT_BUILT(err);
}

int docstore_storage_drop_index(docstore_storage_t *st, const char *db, const char *coll,
                                const char *name, docstore_error_t *err)
{
    (void)st, (void)db, (void)coll, (void)name;
    NOT_BUILT(err);
}
