/*
 * Database and collection commands: create, drop, dropDatabase,
 * listDatabases, listCollections, renameCollection, collStats, dbStats,
 * createIndexes, listIndexes, dropIndexes, collMod (a TTL index's
 * expireAfterSeconds). Thin layers over storage.h with MongoDB's reply
 * shapes; list commands answer through cursors. Also the query matcher as
 * storage's filter for partial indexes (docstore_partial_filter_ops), and
 * ICU collations as its index collators (docstore_index_collation_ops).
 */
#include "docstore/cmd/cmd_auth.h"
#include "docstore/cmd/cmd_coll_options.h"
#include "docstore/cmd/cmd_util.h"
#include "docstore/cmd/command.h"
#include "docstore/cmd/cursor.h"
#include "docstore/query/match.h"
#include "docstore/query/value.h"

#include <stdio.h>
#include <string.h>

#define NS_MAX 300

static int not_supported(docstore_error_t *err, const char *what)
{
    docstore_error_set(err, DOCSTORE_NOT_IMPLEMENTED, "%s is not supported by the docstore", what);
    return -1;
}

/* Keeps the documents of l matching filter (all when filter is NULL). */
static int filter_list(docstore_doclist_t *l, const bson_t *filter, docstore_error_t *err)
{
    if (filter == NULL || bson_empty(filter))
        return 0;
    docstore_matcher_t *m;
    if (docstore_matcher_new(filter, &m, err))
        return -1;
    size_t w = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (docstore_matcher_matches(m, l->docs[i], NULL))
            l->docs[w++] = l->docs[i];
        else
            bson_destroy(l->docs[i]);
    }
    l->n = w;
    docstore_matcher_free(m);
    return 0;
}

static int cmd_create(docstore_ctx_t *ctx, const char *db, const bson_t *cmd, bson_t *reply,
                      docstore_error_t *err)
{
    (void)reply;
    const char *coll;
    if (docstore_cmd_coll(cmd, &coll, err))
        return -1;
    static const char *const unsupported[] = {"viewOn",
                                              "pipeline",
                                              "validator",
                                              "timeseries",
                                              "clusteredIndex",
                                              "changeStreamPreAndPostImages",
                                              "expireAfterSeconds",
                                              "storageEngine",
                                              "indexOptionDefaults",
                                              "encryptedFields"};
    for (size_t i = 0; i < sizeof unsupported / sizeof unsupported[0]; i++) {
        bson_iter_t it;
        if (bson_iter_init_find(&it, cmd, unsupported[i])) {
            char what[96];
            snprintf(what, sizeof what, "create option '%s'", unsupported[i]);
            return not_supported(err, what);
        }
    }
    bson_t options = BSON_INITIALIZER;
    int rc = docstore_create_options(cmd, &options, err);
    if (rc == 0)
        rc = docstore_storage_create_collection_opts(
            ctx->storage, db, coll, bson_empty(&options) ? NULL : &options, true, err);
    bson_destroy(&options);
    return rc;
}

static int cmd_drop(docstore_ctx_t *ctx, const char *db, const bson_t *cmd, bson_t *reply,
                    docstore_error_t *err)
{
    const char *coll;
    if (docstore_cmd_coll(cmd, &coll, err))
        return -1;
    int64_t count, size;
    int32_t nindexes;
    if (docstore_storage_collection_stats(ctx->storage, db, coll, &count, &size, &nindexes, err)) {
        if (err->code == DOCSTORE_NAMESPACE_NOT_FOUND)
            docstore_error_set(err, DOCSTORE_NAMESPACE_NOT_FOUND, "ns not found");
        return -1;
    }
    bool existed;
    if (docstore_storage_drop_collection(ctx->storage, db, coll, &existed, err))
        return -1;
    char ns[NS_MAX];
    docstore_cmd_ns(ns, sizeof ns, db, coll);
    BSON_APPEND_INT32(reply, "nIndexesWas", nindexes);
    BSON_APPEND_UTF8(reply, "ns", ns);
    return 0;
}

static int cmd_drop_database(docstore_ctx_t *ctx, const char *db, const bson_t *cmd, bson_t *reply,
                             docstore_error_t *err)
{
    (void)cmd;
    if (docstore_storage_drop_database(ctx->storage, db, err))
        return -1;
    BSON_APPEND_UTF8(reply, "dropped", db);
    return 0;
}

static int cmd_list_databases(docstore_ctx_t *ctx, const char *db, const bson_t *cmd, bson_t *reply,
                              docstore_error_t *err)
{
    (void)db;
    bson_t filter;
    bool has_filter;
    if (docstore_cmd_doc(cmd, "listDatabases", "filter", &filter, &has_filter, err))
        return -1;
    bool name_only = docstore_cmd_bool(cmd, "nameOnly", false);
    docstore_doclist_t l;
    docstore_doclist_init(&l);
    int rc = -1;
    if (docstore_storage_list_databases(ctx->storage, &l, err) ||
        docstore_auth_filter_databases(ctx, cmd, &l, err) ||
        filter_list(&l, has_filter ? &filter : NULL, err))
        goto out;
    int64_t total = 0;
    bson_t arr;
    BSON_APPEND_ARRAY_BEGIN(reply, "databases", &arr);
    for (size_t i = 0; i < l.n; i++) {
        char k[16];
        const char *ks;
        bson_uint32_to_string((uint32_t)i, &ks, k, sizeof k);
        bson_iter_t it;
        if (bson_iter_init_find(&it, l.docs[i], "sizeOnDisk"))
            total += bson_iter_as_int64(&it);
        if (name_only) {
            bson_t one;
            BSON_APPEND_DOCUMENT_BEGIN(&arr, ks, &one);
            if (bson_iter_init_find(&it, l.docs[i], "name"))
                BSON_APPEND_UTF8(&one, "name", bson_iter_utf8(&it, NULL));
            bson_append_document_end(&arr, &one);
        } else {
            BSON_APPEND_DOCUMENT(&arr, ks, l.docs[i]);
        }
    }
    bson_append_array_end(reply, &arr);
    if (!name_only) {
        BSON_APPEND_INT64(reply, "totalSize", total);
        BSON_APPEND_INT64(reply, "totalSizeMb", total / (1024 * 1024));
    }
    rc = 0;
out:
    docstore_doclist_free(&l);
    return rc;
}

static int cmd_list_collections(docstore_ctx_t *ctx, const char *db, const bson_t *cmd,
                                bson_t *reply, docstore_error_t *err)
{
    bson_t filter, cursor;
    bool has_filter, has_cursor;
    int64_t batch = -1;
    if (docstore_cmd_doc(cmd, "listCollections", "filter", &filter, &has_filter, err) ||
        docstore_cmd_doc(cmd, "listCollections", "cursor", &cursor, &has_cursor, err))
        return -1;
    if (has_cursor &&
        docstore_cmd_int64(&cursor, "listCollections.cursor", "batchSize", -1, &batch, err))
        return -1;
    bool name_only = docstore_cmd_bool(cmd, "nameOnly", false);
    docstore_doclist_t l;
    docstore_doclist_init(&l);
    int rc = -1;
    /* authorizedCollections without a role on db: an empty list (cmd_auth.h) */
    if (!docstore_auth_hides_collections(ctx, db) &&
        (docstore_storage_list_collections(ctx->storage, db, &l, err) ||
         filter_list(&l, has_filter ? &filter : NULL, err)))
        goto out;
    if (name_only) {
        for (size_t i = 0; i < l.n; i++) {
            bson_iter_t it;
            bson_t *one = bson_new();
            if (bson_iter_init_find(&it, l.docs[i], "name"))
                BSON_APPEND_UTF8(one, "name", bson_iter_utf8(&it, NULL));
            BSON_APPEND_UTF8(one, "type", "collection");
            bson_destroy(l.docs[i]);
            l.docs[i] = one;
        }
    }
    char ns[NS_MAX];
    docstore_cmd_ns(ns, sizeof ns, db, "$cmd.listCollections");
    rc = docstore_cursor_reply(ctx, ns, &l, batch, false, reply, err);
out:
    docstore_doclist_free(&l);
    return rc;
}

/* "db.coll" into db and coll buffers. */
static int split_ns(const char *ns, char *db, size_t dbn, char *coll, size_t colln,
                    docstore_error_t *err)
{
    const char *dot = ns ? strchr(ns, '.') : NULL;
    if (dot == NULL || dot == ns || dot[1] == '\0' || (size_t)(dot - ns) >= dbn ||
        strlen(dot + 1) >= colln) {
        docstore_error_set(err, DOCSTORE_INVALID_NAMESPACE, "Invalid namespace specified '%s'",
                           ns ? ns : "");
        return -1;
    }
    memcpy(db, ns, (size_t)(dot - ns));
    db[dot - ns] = '\0';
    strcpy(coll, dot + 1);
    return 0;
}

static int cmd_rename_collection(docstore_ctx_t *ctx, const char *db, const bson_t *cmd,
                                 bson_t *reply, docstore_error_t *err)
{
    (void)db, (void)reply;
    bson_iter_t it;
    const char *from = NULL, *to = NULL;
    if (bson_iter_init(&it, cmd) && bson_iter_next(&it) && BSON_ITER_HOLDS_UTF8(&it))
        from = bson_iter_utf8(&it, NULL);
    if (bson_iter_init_find(&it, cmd, "to") && BSON_ITER_HOLDS_UTF8(&it))
        to = bson_iter_utf8(&it, NULL);
    if (from == NULL || to == NULL) {
        docstore_error_set(err, DOCSTORE_TYPE_MISMATCH,
                           "renameCollection and to must be namespace strings");
        return -1;
    }
    char fdb[64], fcoll[256], tdb[64], tcoll[256];
    if (split_ns(from, fdb, sizeof fdb, fcoll, sizeof fcoll, err) ||
        split_ns(to, tdb, sizeof tdb, tcoll, sizeof tcoll, err))
        return -1;
    return docstore_storage_rename_collection(ctx->storage, fdb, fcoll, tdb, tcoll,
                                              docstore_cmd_bool(cmd, "dropTarget", false), err);
}

static int64_t scale_of(const bson_t *cmd)
{
    bson_iter_t it;
    if (bson_iter_init_find(&it, cmd, "scale") && BSON_ITER_HOLDS_NUMBER(&it)) {
        int64_t s = bson_iter_as_int64(&it);
        if (s > 0)
            return s;
    }
    return 1;
}

static int cmd_coll_stats(docstore_ctx_t *ctx, const char *db, const bson_t *cmd, bson_t *reply,
                          docstore_error_t *err)
{
    const char *coll;
    if (docstore_cmd_coll(cmd, &coll, err))
        return -1;
    int64_t count, size, storage, ixtotal, scale = scale_of(cmd);
    int32_t nindexes;
    bson_t sizes = BSON_INITIALIZER;
    if (docstore_storage_collection_stats(ctx->storage, db, coll, &count, &size, &nindexes, err) ||
        docstore_storage_collection_sizes(ctx->storage, db, coll, &storage, &sizes, &ixtotal,
                                          err)) {
        bson_destroy(&sizes);
        if (err->code == DOCSTORE_NAMESPACE_NOT_FOUND)
            docstore_error_set(err, DOCSTORE_NAMESPACE_NOT_FOUND, "Collection [%s.%s] not found.",
                               db, coll);
        return -1;
    }
    char ns[NS_MAX];
    docstore_cmd_ns(ns, sizeof ns, db, coll);
    BSON_APPEND_UTF8(reply, "ns", ns);
    BSON_APPEND_INT64(reply, "size", size / scale);
    BSON_APPEND_INT64(reply, "count", count);
    BSON_APPEND_INT64(reply, "avgObjSize", count ? size / count : 0);
    BSON_APPEND_INT64(reply, "storageSize", storage / scale);
    BSON_APPEND_INT64(reply, "freeStorageSize", 0);
    docstore_coll_stats_capped(ctx->storage, db, coll, reply);
    BSON_APPEND_INT32(reply, "nindexes", nindexes);
    BSON_APPEND_INT64(reply, "totalIndexSize", ixtotal / scale);
    BSON_APPEND_INT64(reply, "totalSize", (storage + ixtotal) / scale);
    bson_t scaled;
    bson_iter_t it;
    BSON_APPEND_DOCUMENT_BEGIN(reply, "indexSizes", &scaled);
    if (bson_iter_init(&it, &sizes)) {
        while (bson_iter_next(&it))
            BSON_APPEND_INT64(&scaled, bson_iter_key(&it), bson_iter_as_int64(&it) / scale);
    }
    bson_append_document_end(reply, &scaled);
    BSON_APPEND_INT64(reply, "scaleFactor", scale);
    bson_destroy(&sizes);
    return 0;
}

static int cmd_db_stats(docstore_ctx_t *ctx, const char *db, const bson_t *cmd, bson_t *reply,
                        docstore_error_t *err)
{
    int64_t scale = scale_of(cmd);
    docstore_doclist_t l;
    docstore_doclist_init(&l);
    if (docstore_storage_list_collections(ctx->storage, db, &l, err))
        return -1;
    int64_t objects = 0, data = 0, indexes = 0, storage = 0, ixsize = 0;
    for (size_t i = 0; i < l.n; i++) {
        bson_iter_t it;
        if (!bson_iter_init_find(&it, l.docs[i], "name"))
            continue;
        const char *name = bson_iter_utf8(&it, NULL);
        int64_t count, size, st_size, ix_size;
        int32_t nix;
        bson_t sizes = BSON_INITIALIZER;
        docstore_error_t ignored = {0};
        if (docstore_storage_collection_stats(ctx->storage, db, name, &count, &size, &nix,
                                              &ignored) == 0 &&
            docstore_storage_collection_sizes(ctx->storage, db, name, &st_size, &sizes, &ix_size,
                                              &ignored) == 0) {
            objects += count;
            data += size;
            indexes += nix;
            storage += st_size;
            ixsize += ix_size;
        }
        bson_destroy(&sizes);
        docstore_error_clear(&ignored);
    }
    BSON_APPEND_UTF8(reply, "db", db);
    BSON_APPEND_INT64(reply, "collections", (int64_t)l.n);
    BSON_APPEND_INT64(reply, "views", 0);
    BSON_APPEND_INT64(reply, "objects", objects);
    BSON_APPEND_DOUBLE(reply, "avgObjSize", objects ? (double)data / (double)objects : 0.0);
    BSON_APPEND_DOUBLE(reply, "dataSize", (double)(data / scale));
    BSON_APPEND_DOUBLE(reply, "storageSize", (double)(storage / scale));
    BSON_APPEND_INT64(reply, "indexes", indexes);
    BSON_APPEND_DOUBLE(reply, "indexSize", (double)(ixsize / scale));
    BSON_APPEND_DOUBLE(reply, "totalSize", (double)((storage + ixsize) / scale));
    BSON_APPEND_INT64(reply, "scaleFactor", scale);
    docstore_doclist_free(&l);
    return 0;
}

static bool coll_exists(docstore_ctx_t *ctx, const char *db, const char *coll)
{
    int64_t count, size;
    int32_t nix;
    docstore_error_t ignored = {0};
    bool ok = docstore_storage_collection_stats(ctx->storage, db, coll, &count, &size, &nix,
                                                &ignored) == 0;
    docstore_error_clear(&ignored);
    return ok;
}

static int32_t count_indexes(docstore_ctx_t *ctx, const char *db, const char *coll)
{
    int64_t count, size;
    int32_t nix = 0;
    docstore_error_t ignored = {0};
    if (docstore_storage_collection_stats(ctx->storage, db, coll, &count, &size, &nix, &ignored))
        nix = 0;
    docstore_error_clear(&ignored);
    return nix;
}

static int cmd_create_indexes(docstore_ctx_t *ctx, const char *db, const bson_t *cmd, bson_t *reply,
                              docstore_error_t *err)
{
    const char *coll;
    bson_t specs;
    bool has_specs;
    if (docstore_cmd_coll(cmd, &coll, err) ||
        docstore_cmd_array(cmd, "createIndexes", "indexes", &specs, &has_specs, err))
        return -1;
    if (!has_specs || bson_empty(&specs)) {
        docstore_error_set(err, DOCSTORE_BAD_VALUE, "Must specify at least one index to create");
        return -1;
    }
    bool existed = coll_exists(ctx, db, coll);
    int32_t before = existed ? count_indexes(ctx, db, coll) : 1;
    if (docstore_storage_begin(ctx->storage, db, err))
        return -1;
    bson_iter_t it;
    bson_iter_init(&it, &specs);
    int created_n = 0;
    while (bson_iter_next(&it)) {
        if (!BSON_ITER_HOLDS_DOCUMENT(&it)) {
            docstore_error_set(err, DOCSTORE_TYPE_MISMATCH, "index specifications must be objects");
            goto fail;
        }
        uint32_t len;
        const uint8_t *data;
        bson_iter_document(&it, &len, &data);
        bson_t spec;
        if (!bson_init_static(&spec, data, len))
            goto fail;
        bool created = false;
        if (docstore_storage_create_index(ctx->storage, db, coll, &spec, &created, err))
            goto fail;
        created_n += created;
    }
    if (docstore_storage_commit(ctx->storage, db, err))
        return -1;
    BSON_APPEND_INT32(reply, "numIndexesBefore", before);
    BSON_APPEND_INT32(reply, "numIndexesAfter", count_indexes(ctx, db, coll));
    BSON_APPEND_BOOL(reply, "createdCollectionAutomatically", !existed);
    if (created_n == 0)
        BSON_APPEND_UTF8(reply, "note", "all indexes already exist");
    return 0;
fail:
    docstore_storage_rollback(ctx->storage, db);
    return -1;
}

static int cmd_list_indexes(docstore_ctx_t *ctx, const char *db, const bson_t *cmd, bson_t *reply,
                            docstore_error_t *err)
{
    const char *coll;
    bson_t cursor;
    bool has_cursor;
    int64_t batch = -1;
    if (docstore_cmd_coll(cmd, &coll, err) ||
        docstore_cmd_doc(cmd, "listIndexes", "cursor", &cursor, &has_cursor, err))
        return -1;
    if (has_cursor &&
        docstore_cmd_int64(&cursor, "listIndexes.cursor", "batchSize", -1, &batch, err))
        return -1;
    docstore_doclist_t l;
    docstore_doclist_init(&l);
    if (docstore_storage_list_indexes(ctx->storage, db, coll, &l, err))
        return -1;
    char ns[NS_MAX];
    snprintf(ns, sizeof ns, "%s.$cmd.listIndexes.%s", db, coll);
    int rc = docstore_cursor_reply(ctx, ns, &l, batch, false, reply, err);
    docstore_doclist_free(&l);
    return rc;
}

/* The name of the index whose key pattern equals key, into out. */
static int index_name_for_key(docstore_ctx_t *ctx, const char *db, const char *coll,
                              const bson_t *key, char *out, size_t n, docstore_error_t *err)
{
    docstore_doclist_t l;
    docstore_doclist_init(&l);
    if (docstore_storage_list_indexes(ctx->storage, db, coll, &l, err))
        return -1;
    int rc = -1;
    for (size_t i = 0; i < l.n && rc != 0; i++) {
        bson_iter_t it, nit;
        if (!bson_iter_init_find(&it, l.docs[i], "key") || !BSON_ITER_HOLDS_DOCUMENT(&it))
            continue;
        uint32_t len;
        const uint8_t *data;
        bson_iter_document(&it, &len, &data);
        bson_t k;
        if (!bson_init_static(&k, data, len) || docstore_doc_compare(&k, key) != 0)
            continue;
        if (bson_iter_init_find(&nit, l.docs[i], "name") && BSON_ITER_HOLDS_UTF8(&nit)) {
            snprintf(out, n, "%s", bson_iter_utf8(&nit, NULL));
            rc = 0;
        }
    }
    docstore_doclist_free(&l);
    if (rc != 0) {
        char *json = bson_as_relaxed_extended_json(key, NULL);
        docstore_error_set(err, DOCSTORE_INDEX_NOT_FOUND, "can't find index with key: %s",
                           json ? json : "{}");
        bson_free(json);
    }
    return rc;
}

static int cmd_drop_indexes(docstore_ctx_t *ctx, const char *db, const bson_t *cmd, bson_t *reply,
                            docstore_error_t *err)
{
    const char *coll;
    if (docstore_cmd_coll(cmd, &coll, err))
        return -1;
    if (!coll_exists(ctx, db, coll)) {
        docstore_error_set(err, DOCSTORE_NAMESPACE_NOT_FOUND, "ns not found %s.%s", db, coll);
        return -1;
    }
    int32_t was = count_indexes(ctx, db, coll);
    bson_iter_t it;
    if (!bson_iter_init_find(&it, cmd, "index")) {
        docstore_error_set(err, DOCSTORE_LOCATION_40414,
                           "BSON field 'dropIndexes.index' is missing but a required field");
        return -1;
    }
    char name[1024];
    if (BSON_ITER_HOLDS_UTF8(&it)) {
        if (docstore_storage_drop_index(ctx->storage, db, coll, bson_iter_utf8(&it, NULL), err))
            return -1;
    } else if (BSON_ITER_HOLDS_DOCUMENT(&it)) {
        uint32_t len;
        const uint8_t *data;
        bson_iter_document(&it, &len, &data);
        bson_t key;
        if (!bson_init_static(&key, data, len) ||
            index_name_for_key(ctx, db, coll, &key, name, sizeof name, err) ||
            docstore_storage_drop_index(ctx->storage, db, coll, name, err))
            return -1;
    } else if (BSON_ITER_HOLDS_ARRAY(&it)) {
        /* All named indexes must exist before any is dropped. */
        docstore_doclist_t l;
        docstore_doclist_init(&l);
        if (docstore_storage_list_indexes(ctx->storage, db, coll, &l, err))
            return -1;
        bson_iter_t ai, ni;
        bson_iter_recurse(&it, &ai);
        while (bson_iter_next(&ai)) {
            bool found = false;
            if (!BSON_ITER_HOLDS_UTF8(&ai)) {
                docstore_doclist_free(&l);
                docstore_error_set(err, DOCSTORE_TYPE_MISMATCH, "index names must be strings");
                return -1;
            }
            for (size_t i = 0; i < l.n && !found; i++)
                found = bson_iter_init_find(&ni, l.docs[i], "name") &&
                        strcmp(bson_iter_utf8(&ni, NULL), bson_iter_utf8(&ai, NULL)) == 0;
            if (!found) {
                docstore_error_set(err, DOCSTORE_INDEX_NOT_FOUND, "index not found with name [%s]",
                                   bson_iter_utf8(&ai, NULL));
                docstore_doclist_free(&l);
                return -1;
            }
        }
        docstore_doclist_free(&l);
        bson_iter_recurse(&it, &ai);
        while (bson_iter_next(&ai)) {
            if (docstore_storage_drop_index(ctx->storage, db, coll, bson_iter_utf8(&ai, NULL), err))
                return -1;
        }
    } else {
        docstore_error_set(err, DOCSTORE_TYPE_MISMATCH,
                           "dropIndexes.index must be a string, an object or an array");
        return -1;
    }
    BSON_APPEND_INT32(reply, "nIndexesWas", was);
    return 0;
}

/* collMod: only {index: {name | keyPattern, expireAfterSeconds}}; any other
 * modification is NotImplemented. */
static int cmd_coll_mod(docstore_ctx_t *ctx, const char *db, const bson_t *cmd, bson_t *reply,
                        docstore_error_t *err)
{
    const char *coll;
    if (docstore_cmd_coll(cmd, &coll, err))
        return -1;
    bson_iter_t it;
    bson_t index;
    bool has_index = false;
    bson_iter_init(&it, cmd);
    bson_iter_next(&it); /* collMod itself */
    while (bson_iter_next(&it)) {
        const char *f = bson_iter_key(&it);
        if (strcmp(f, "index") == 0) {
            if (!BSON_ITER_HOLDS_DOCUMENT(&it)) {
                docstore_error_set(err, DOCSTORE_TYPE_MISMATCH,
                                   "BSON field 'collMod.index' is the wrong type");
                return -1;
            }
            uint32_t len;
            const uint8_t *data;
            bson_iter_document(&it, &len, &data);
            if (!bson_init_static(&index, data, len))
                return -1;
            has_index = true;
        } else if (f[0] != '$' && strcmp(f, "lsid") != 0 && strcmp(f, "writeConcern") != 0 &&
                   strcmp(f, "comment") != 0 && strcmp(f, "txnNumber") != 0) {
            char what[128];
            snprintf(what, sizeof what, "collMod option '%.80s'", f);
            return not_supported(err, what);
        }
    }
    if (!has_index) {
        docstore_error_set(err, DOCSTORE_INVALID_OPTIONS, "no collMod option specified");
        return -1;
    }
    char name[1024] = "";
    bool has_ttl = false;
    int64_t ttl = 0;
    bson_iter_init(&it, &index);
    while (bson_iter_next(&it)) {
        const char *f = bson_iter_key(&it);
        if (strcmp(f, "name") == 0 && BSON_ITER_HOLDS_UTF8(&it)) {
            snprintf(name, sizeof name, "%s", bson_iter_utf8(&it, NULL));
        } else if (strcmp(f, "keyPattern") == 0 && BSON_ITER_HOLDS_DOCUMENT(&it)) {
            uint32_t len;
            const uint8_t *data;
            bson_iter_document(&it, &len, &data);
            bson_t key;
            if (!bson_init_static(&key, data, len) ||
                index_name_for_key(ctx, db, coll, &key, name, sizeof name, err))
                return -1;
        } else if (strcmp(f, "expireAfterSeconds") == 0 && BSON_ITER_HOLDS_NUMBER(&it)) {
            has_ttl = true;
            ttl = bson_iter_as_int64(&it);
        } else if (strcmp(f, "expireAfterSeconds") == 0) {
            docstore_error_set(err, DOCSTORE_TYPE_MISMATCH,
                               "BSON field 'collMod.index.expireAfterSeconds' is the wrong type");
            return -1;
        } else {
            char what[128];
            snprintf(what, sizeof what, "collMod index option '%.80s'", f);
            return not_supported(err, what);
        }
    }
    if (name[0] == '\0') {
        docstore_error_set(err, DOCSTORE_INVALID_OPTIONS,
                           "must specify either index name or key pattern for collMod");
        return -1;
    }
    if (!has_ttl) {
        docstore_error_set(err, DOCSTORE_INVALID_OPTIONS, "no expireAfterSeconds field to update");
        return -1;
    }
    int64_t old = 0;
    if (docstore_storage_set_index_ttl(ctx->storage, db, coll, name, ttl, &old, err))
        return -1;
    BSON_APPEND_INT64(reply, "expireAfterSeconds_old", old);
    BSON_APPEND_INT64(reply, "expireAfterSeconds_new", ttl);
    return 0;
}

/* ---- the query matcher as storage's partial-index filter ---- */

static int partial_compile(const bson_t *filter, void **out, docstore_error_t *err)
{
    docstore_matcher_t *m;
    if (docstore_matcher_new(filter, &m, err))
        return -1;
    *out = m;
    return 0;
}

static bool partial_matches(void *m, const bson_t *doc)
{
    return docstore_matcher_matches(m, doc, NULL);
}

static void partial_free(void *m)
{
    docstore_matcher_free(m);
}

const docstore_storage_filter_ops_t docstore_partial_filter_ops = {
    .compile = partial_compile,
    .matches = partial_matches,
    .free = partial_free,
};

/* ---- ICU collations as storage's index collators ---- */

static int index_coll_compile(const bson_t *spec, void **out, bson_t *full, docstore_error_t *err)
{
    docstore_collation_t *c;
    if (docstore_collation_new(spec, &c, err) != 0)
        return -1;
    if (c != NULL)
        docstore_collation_append_spec(c, full);
    *out = c;
    return 0;
}

static int index_coll_sort_key(const void *c, const char *s, size_t n, buf_t *out)
{
    return docstore_collation_sort_key(c, s, n, out);
}

static void index_coll_free(void *c)
{
    docstore_collation_free(c);
}

const docstore_storage_collation_ops_t docstore_index_collation_ops = {
    .compile = index_coll_compile,
    .sort_key = index_coll_sort_key,
    .free = index_coll_free,
};

const docstore_command_t docstore_ddl_commands[] = {
    {"collMod", cmd_coll_mod, DOCSTORE_CMD_WRITE},
    {"create", cmd_create, DOCSTORE_CMD_WRITE},
    {"drop", cmd_drop, DOCSTORE_CMD_WRITE},
    {"dropDatabase", cmd_drop_database, DOCSTORE_CMD_WRITE},
    {"listDatabases", cmd_list_databases, DOCSTORE_CMD_ADMIN_ONLY},
    {"listCollections", cmd_list_collections, DOCSTORE_CMD_NONE},
    {"renameCollection", cmd_rename_collection, DOCSTORE_CMD_ADMIN_ONLY | DOCSTORE_CMD_WRITE},
    {"collStats", cmd_coll_stats, DOCSTORE_CMD_NONE},
    {"dbStats", cmd_db_stats, DOCSTORE_CMD_NONE},
    {"dbstats", cmd_db_stats, DOCSTORE_CMD_NONE},
    {"createIndexes", cmd_create_indexes, DOCSTORE_CMD_WRITE},
    {"listIndexes", cmd_list_indexes, DOCSTORE_CMD_NONE},
    {"dropIndexes", cmd_drop_indexes, DOCSTORE_CMD_WRITE},
    {"deleteIndexes", cmd_drop_indexes, DOCSTORE_CMD_WRITE},
    {NULL, NULL, 0},
};
