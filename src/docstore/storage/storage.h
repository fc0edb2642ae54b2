/*
 * Storage: databases, collections, documents and indexes in SQLite (WAL), one
 * file per MongoDB database under a folder, or in memory. Documents are keyed
 * by an order-preserving encoding of _id; secondary indexes are SQLite tables
 * of (encoded key, _id key), so equality and range predicates on an indexed
 * field read only the matching range. Every write call returns after its
 * SQLite transaction committed, unless it runs inside begin/commit.
 */
#ifndef TETHER_DOCSTORE_STORAGE_H
#define TETHER_DOCSTORE_STORAGE_H

#include "common/buf.h"
#include "docstore/base/doclist.h"
#include "docstore/base/error.h"

#include <bson/bson.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct docstore_storage docstore_storage_t;

/* The lock file in a store's dir: flock'ed by the one server using dir, and
 * holding its pid. */
#define DOCSTORE_DIR_LOCK "docstore.lock"

/* Opens (creating) the store in dir, or in memory when dir is NULL. A dir is
 * locked for the store's life (until docstore_storage_close): when another
 * process holds it, -1 with a message naming dir and that process's pid.
 * 0 or -1. */
__attribute__((warn_unused_result)) int
docstore_storage_open(const char *dir, docstore_storage_t **out, docstore_error_t *err);
void docstore_storage_close(docstore_storage_t *st);

/* Databases: {name, sizeOnDisk, empty} per database. */
int docstore_storage_list_databases(docstore_storage_t *st, docstore_doclist_t *out,
                                    docstore_error_t *err);
int docstore_storage_drop_database(docstore_storage_t *st, const char *db, docstore_error_t *err);

/* Collections: {name, type: "collection", options: {}, info: {readOnly: false,
 * uuid}, idIndex: {v: 2, key: {_id: 1}, name: "_id_"}} per collection. */
int docstore_storage_list_collections(docstore_storage_t *st, const char *db,
                                      docstore_doclist_t *out, docstore_error_t *err);
/* Creates coll; when it exists: 0 if !must_not_exist, else NamespaceExists (48). */
int docstore_storage_create_collection(docstore_storage_t *st, const char *db, const char *coll,
                                       bool must_not_exist, docstore_error_t *err);
/* As docstore_storage_create_collection, with create options kept in the
 * catalog and shown by listCollections: {capped: true, size, max} makes a
 * capped collection (the caller checks and rounds them), collation its
 * default collation. options may be NULL. */
int docstore_storage_create_collection_opts(docstore_storage_t *st, const char *db,
                                            const char *coll, const bson_t *options,
                                            bool must_not_exist, docstore_error_t *err);
/* Appends the collection's create options to out. NamespaceNotFound (26). */
int docstore_storage_collection_options(docstore_storage_t *st, const char *db, const char *coll,
                                        bson_t *out, docstore_error_t *err);
int docstore_storage_drop_collection(docstore_storage_t *st, const char *db, const char *coll,
                                     bool *existed /* OUT, may be NULL */, docstore_error_t *err);
int docstore_storage_rename_collection(docstore_storage_t *st, const char *from_db,
                                       const char *from, const char *to_db, const char *to,
                                       bool drop_target, docstore_error_t *err);
int docstore_storage_collection_stats(docstore_storage_t *st, const char *db, const char *coll,
                                      int64_t *count /* OUT */, int64_t *size /* OUT */,
                                      int32_t *nindexes /* OUT */, docstore_error_t *err);

/* Bytes on disk (SQLite pages) of the collection's documents, of each index
 * (appended to index_sizes as name: int64, _id_ first) and of all indexes.
 * Reads every page of the collection (SQLite's dbstat): for stats commands.
 * NamespaceNotFound (26) when the collection does not exist. */
int docstore_storage_collection_sizes(docstore_storage_t *st, const char *db, const char *coll,
                                      int64_t *storage_size /* OUT */, bson_t *index_sizes,
                                      int64_t *total_index_size /* OUT */, docstore_error_t *err);

/* Transactions grouping several writes to one database (one write command).
 * Without them each write commits on its own. */
int docstore_storage_begin(docstore_storage_t *st, const char *db, docstore_error_t *err);
int docstore_storage_commit(docstore_storage_t *st, const char *db, docstore_error_t *err);
void docstore_storage_rollback(docstore_storage_t *st, const char *db);

/* Inserts doc, which has an _id first. Creates the collection when missing.
 * A unique index violation (including _id) is DuplicateKey (11000) with
 * err->extra = {keyPattern, keyValue} and MongoDB's errmsg
 * "E11000 duplicate key error collection: db.coll index: name dup key: { ... }". */
int docstore_storage_insert(docstore_storage_t *st, const char *db, const char *coll,
                            const bson_t *doc, docstore_error_t *err);
/* Replaces the document whose _id is old_doc's _id by new_doc (same _id). */
int docstore_storage_replace(docstore_storage_t *st, const char *db, const char *coll,
                             const bson_t *old_doc, const bson_t *new_doc, docstore_error_t *err);
int docstore_storage_delete(docstore_storage_t *st, const char *db, const char *coll,
                            const bson_t *doc, docstore_error_t *err);

/* Calls cb for each document that may match filter: a superset the caller
 * filters with the matcher. Uses an index when filter has an equality or range
 * predicate on an index's leading field, or on _id. doc is borrowed for the
 * call; cb returns false to stop. A missing collection has no documents. */
typedef bool (*docstore_doc_cb)(void *ctx, const bson_t *doc);
int docstore_storage_scan(docstore_storage_t *st, const char *db, const char *coll,
                          const bson_t *filter, docstore_doc_cb cb, void *ctx,
                          docstore_error_t *err);

/* A streamed read's position (cursors that read on getMore; see
 * docstore_storage_scan_stream). Owned by the cursor. docstore_stream_new
 * borrows the filter the read re-plans with on each call (NULL: every
 * document) until docstore_stream_keep copies it (a cursor keeps the stream
 * past the command: -1 when out of memory). Holds the collection's UUID, the index it reads, where
 * it stands and at most DOCSTORE_STREAM_WINDOW record ids. */
typedef struct docstore_stream docstore_stream_t;
#define DOCSTORE_STREAM_WINDOW 1024
__attribute__((warn_unused_result)) int docstore_stream_new(const bson_t *filter,
                                                            docstore_stream_t **out);
__attribute__((warn_unused_result)) int docstore_stream_keep(docstore_stream_t *s);
void docstore_stream_free(docstore_stream_t *s);
/* Bytes s holds (charged to the cursor that owns it). */
int64_t docstore_stream_bytes(const docstore_stream_t *s);

/* What a streamed read's callback did with a document. */
typedef enum docstore_stream_step {
    DOCSTORE_STREAM_NEXT = 0, /* consumed; go on */
    DOCSTORE_STREAM_LAST = 1, /* consumed; stop */
    DOCSTORE_STREAM_STOP = 2, /* not consumed (the next call starts with it); stop */
} docstore_stream_step_t;
typedef docstore_stream_step_t (*docstore_stream_cb)(void *ctx, const bson_t *doc, int64_t rid);

/* Calls cb for each document of db.coll that may match s's filter after the
 * last one consumed by an earlier call (from the start on the first), in the
 * order docstore_storage_scan gives: by _id when the filter's access path is
 * _id alone, else insertion (rid) order, read through the filter's index
 * when one serves it. Each call re-plans and reads only what cb consumes
 * (plus a window of at most DOCSTORE_STREAM_WINDOW rids of an index range,
 * so a resumed index read does not rescan its range per batch). A document
 * is handed at most once over all calls; a document deleted before a call
 * is not handed by it. Fails with 175 QueryPlanKilled when the collection the first
 * call read was dropped, renamed (or dropped and recreated) since, or the
 * index it read was dropped, as mongod kills such a query. A collection
 * missing at the first call has no documents. */
__attribute__((warn_unused_result)) int
docstore_storage_scan_stream(docstore_storage_t *st, const char *db, const char *coll,
                             docstore_stream_t *s, docstore_stream_cb cb, void *ctx,
                             docstore_error_t *err);

/* A streamed read in the order of a sort on fields/dirs (n of them), when an
 * index walk serves it as docstore_storage_scan_ordered's does and the sort
 * covers the walked index's fields (after those the filter fixes), so that
 * ties are equal index keys, each run in rid order: resumed after the (key,
 * rid) of the last document consumed. *ordered false on the first call: no
 * such walk, or it met a value its key cannot order (undefined, a decimal128
 * beyond doubles); the documents handed are to be dropped and s not reused
 * (the caller sorts in memory). On later calls such a value is handed in key
 * order, and a document that has put an array on the index's paths since
 * the first call is skipped (its entries are one per element). Fails with
 * 175 as docstore_storage_scan_stream. */
__attribute__((warn_unused_result)) int docstore_storage_scan_stream_ordered(
    docstore_storage_t *st, const char *db, const char *coll, docstore_stream_t *s,
    const char *const *fields, const int *dirs, size_t n, docstore_stream_cb cb, void *ctx,
    bool *ordered /* OUT */, docstore_error_t *err);

/* A document of an ordered scan: rid is its row (insertion order); tie is
 * true when its sort key equals the previous document's (the index orders
 * ties by its other fields or rid, the caller may reorder them). Returns
 * false to stop. */
typedef bool (*docstore_ordered_doc_cb)(void *ctx, const bson_t *doc, int64_t rid, bool tie);

/* Calls cb for each document that may match filter, in the order of a sort on
 * fields[i] (dotted paths) with dirs[i] (1 or -1), i < n, when an index serves
 * it: _id for {_id: ±1}, or an index whose key pattern starts with those
 * fields in those directions (or all of them reversed) and that never held an
 * array on its paths (not multikey). The filter must use that same index, or
 * no index; a filter that fixes the index's leading field to one value (an
 * equality) lets the sort be on the fields after it. *ordered is false when no index serves the
 * sort (nothing was read), or when the walk met a sort value whose key cannot order it exactly
 * (undefined, which keys as null; a decimal128 a double cannot hold): the
 * documents already given are then to be dropped, and the caller scans and
 * sorts. */
int docstore_storage_scan_ordered(docstore_storage_t *st, const char *db, const char *coll,
                                  const bson_t *filter, const char *const *fields, const int *dirs,
                                  size_t n, docstore_ordered_doc_cb cb, void *ctx,
                                  bool *ordered /* OUT */, docstore_error_t *err);

/* What docstore_storage_scan (n == 0) or docstore_storage_scan_ordered
 * (a sort on fields/dirs, n > 0) would read for filter, as the stages of
 * MongoDB's explain winningPlan, appended to out (an open stage document):
 * {stage: "COLLSCAN", filter, direction}, or {stage: "FETCH", filter,
 * inputStage: {stage: "IXSCAN", keyPattern, indexName, isMultiKey,
 * multiKeyPaths, isUnique, isSparse, isPartial, indexVersion, direction,
 * indexBounds: {field: ["[5, 5]", ...]}}} (an "OR" of such stages for a
 * $or), or {stage: "EOF"} for a missing collection. The planner's own choice,
 * read without touching a document. *sort_served: an ordered scan would
 * serve the sort (no blocking sort needed). 0 or -1. */
int docstore_storage_explain(docstore_storage_t *st, const char *db, const char *coll,
                             const bson_t *filter, const char *const *fields, const int *dirs,
                             size_t n, bson_t *out, bool *sort_served /* OUT */,
                             docstore_error_t *err);

/* Indexes. spec is the createIndexes entry ({key, name, unique, ...}); an
 * existing identical index is no error (*created false); same name with other
 * keys is IndexKeySpecsConflict (86), same keys other options 85. Building a
 * unique index over duplicates fails with 11000. */
int docstore_storage_create_index(docstore_storage_t *st, const char *db, const char *coll,
                                  const bson_t *spec, bool *created /* OUT */,
                                  docstore_error_t *err);
/* {v: 2, key, name[, unique]} per index, _id_ first. NamespaceNotFound (26)
 * when the collection does not exist. */
int docstore_storage_list_indexes(docstore_storage_t *st, const char *db, const char *coll,
                                  docstore_doclist_t *out, docstore_error_t *err);
/* Drops the named index ("*": all but _id_). IndexNotFound (27); dropping
 * _id_ is InvalidOptions (72). */
int docstore_storage_drop_index(docstore_storage_t *st, const char *db, const char *coll,
                                const char *name, docstore_error_t *err);

/* How storage matches a partial index's filter against a document: the
 * server installs the query engine's matcher once, before opening a store
 * (storage does not know the query language). compile returns 0 or -1;
 * matches takes what compile made; free releases it. Without them, creating
 * a partial index is NotImplemented (238). */
typedef struct docstore_storage_filter_ops {
    int (*compile)(const bson_t *filter, void **out, docstore_error_t *err);
    bool (*matches)(void *compiled, const bson_t *doc);
    void (*free)(void *compiled);
} docstore_storage_filter_ops_t;
void docstore_storage_set_filter_ops(const docstore_storage_filter_ops_t *ops);

/* How storage compiles an index's `collation` and keys its strings: the
 * server installs the query engine's ICU collations once, before opening a
 * store (storage does not know ICU). compile makes *out from a collation
 * document (NULL for {locale: "simple"}) and appends its full specification
 * to full (what listIndexes shows; two collations are the same exactly when
 * their full specs are the same bytes); 0 or -1 with err. sort_key as
 * docstore_key_coll_t's (keyenc.h). Without them, an index with a
 * collation is NotImplemented (238). */
typedef struct docstore_storage_collation_ops {
    int (*compile)(const bson_t *spec, void **out, bson_t *full, docstore_error_t *err);
    int (*sort_key)(const void *coll, const char *s, size_t n, buf_t *out);
    void (*free)(void *compiled);
} docstore_storage_collation_ops_t;
void docstore_storage_set_collation_ops(const docstore_storage_collation_ops_t *ops);

/* The reads above under a query collation: collation is its full
 * specification (docstore_storage_collation_ops_t's full), NULL for the
 * simple (binary) one, which is what docstore_storage_scan,
 * docstore_storage_scan_ordered and docstore_storage_explain use. An index
 * with a collation serves a read under the same collation; an index under
 * another collation (a binary index, or _id, under a collated read; a
 * collated index under the simple one) only conditions holding no string
 * and never a sort, as MongoDB decides. */
int docstore_storage_scan_coll(docstore_storage_t *st, const char *db, const char *coll,
                               const bson_t *filter, const bson_t *collation, docstore_doc_cb cb,
                               void *ctx, docstore_error_t *err);
int docstore_storage_scan_ordered_coll(docstore_storage_t *st, const char *db, const char *coll,
                                       const bson_t *filter, const bson_t *collation,
                                       const char *const *fields, const int *dirs, size_t n,
                                       docstore_ordered_doc_cb cb, void *ctx,
                                       bool *ordered /* OUT */, docstore_error_t *err);
int docstore_storage_explain_coll(docstore_storage_t *st, const char *db, const char *coll,
                                  const bson_t *filter, const bson_t *collation,
                                  const char *const *fields, const int *dirs, size_t n, bson_t *out,
                                  bool *sort_served /* OUT */, docstore_error_t *err);
/* Whether docstore_storage_scan_coll would read an index for filter under
 * collation (*served), without reading anything. 0 or -1. */
int docstore_storage_index_serves(docstore_storage_t *st, const char *db, const char *coll,
                                  const bson_t *filter, const bson_t *collation,
                                  bool *served /* OUT */, docstore_error_t *err);

/* collMod's index.expireAfterSeconds: sets the TTL of the named index to
 * seconds, *old receiving the previous value. IndexNotFound (27); an index
 * without TTL is InvalidOptions (72). */
int docstore_storage_set_index_ttl(docstore_storage_t *st, const char *db, const char *coll,
                                   const char *name, int64_t seconds, int64_t *old /* OUT */,
                                   docstore_error_t *err);

/* One TTL monitor pass: deletes, in every database, the documents whose TTL
 * index field holds a date (for an array, its earliest date) before now_ms -
 * expireAfterSeconds; non-dates never expire. At most 10,000 documents a
 * pass: *more is then true and the caller runs another soon. 0 or -1. */
int docstore_storage_ttl_pass(docstore_storage_t *st, int64_t now_ms, bool *more /* OUT */,
                              docstore_error_t *err);
/* Passes run and documents they deleted since open. */
void docstore_storage_ttl_stats(const docstore_storage_t *st, int64_t *passes /* OUT */,
                                int64_t *deleted /* OUT */);

/* The name MongoDB gives an index with key pattern key: "a_1_b_-1". 0 or -1. */
int docstore_index_default_name(const bson_t *key, char *out, size_t n);

/* Documents handed to scan callbacks since open: lets tests (and explain-like
 * diagnostics) check that an indexed lookup did not read the whole collection. */
int64_t docstore_storage_docs_examined(const docstore_storage_t *st);

#endif
