/*
 * What the storage files (storage.c: databases, catalog, transactions;
 * storage_docs.c: document writes and index maintenance; storage_index.c:
 * index DDL and scans; storage_plan.c: the scan planner; storage_stream.c:
 * streamed scans; storage_explain.c: explain) share. Not for use outside
 * storage*.c.
 *
 * One SQLite connection per MongoDB database. Its schema:
 *   _catalog(name, id, uuid, options)   one row per collection
 *   _indexes(coll, name, id, spec)      one row per secondary index
 *   c<id>(rid INTEGER PRIMARY KEY, id BLOB UNIQUE, doc BLOB)   documents
 *   i<id>(k, rid)                       index entries, WITHOUT ROWID, keyed
 *                                       (k) when unique, else (k, rid)
 *   _multikey(id)                       indexes that met an array: their
 *                                       range bounds on one field cannot be
 *                                       intersected (each may hold for a
 *                                       different element)
 * Table names carry catalog ids, not collection names, so a rename within a
 * database is a catalog update and any collection name is safe.
 */
#ifndef TETHER_DOCSTORE_STORAGE_INTERNAL_H
#define TETHER_DOCSTORE_STORAGE_INTERNAL_H

#include "docstore/storage/keyenc.h"
#include "docstore/storage/storage.h"

#include <sqlite3.h>

typedef struct st_index {
    char *name;    /* "a_1" */
    int64_t id;    /* table i<id> */
    bson_t *spec;  /* {v: 2, key, name[, unique]} */
    bson_t *key;   /* the key pattern */
    bool unique;   /* entries keyed by k alone */
    bool multikey; /* some document had an array on a key path (_multikey row) */
    size_t nfields;
    char **fields; /* dotted paths of the pattern */
    bool *desc;    /* per field: descending */
    bool sparse;   /* documents missing every key field are left out */
    bson_t *partial; /* partialFilterExpression: only documents it matches, or NULL */
    void *partial_m; /* that filter compiled by the installed filter ops, on first use */
    int64_t ttl;     /* expireAfterSeconds, -1 when not a TTL index */
    bson_t *collation;      /* the full collation spec listIndexes shows, or NULL (simple) */
    bool collation_given;   /* the spec named one (maybe simple): no collection default */
    docstore_key_coll_t kc; /* its collator, compiled by the installed ops, for keyenc */
} st_index_t;

typedef struct st_coll {
    char *name;          /* collection name */
    int64_t id;          /* table c<id> */
    uint8_t uuid[16];    /* reported by listCollections */
    st_index_t *indexes; /* secondary indexes (not _id_) */
    size_t nindexes;
    bson_t *options;   /* create options as listCollections shows them (owned), or NULL */
    bool capped;       /* a capped collection: options.size bytes, options.max documents */
    int64_t cap_size;  /* bytes of BSON documents it keeps */
    int64_t cap_max;   /* documents it keeps; 0: no limit */
    bool cap_known;    /* cap_count/cap_bytes hold the table's figures */
    int64_t cap_count; /* documents in the table, while cap_known */
    int64_t cap_bytes; /* their BSON bytes, while cap_known */
} st_coll_t;

typedef struct st_stmt {
    char *sql;          /* the cache key */
    sqlite3_stmt *stmt; /* prepared once, reset after each use */
} st_stmt_t;

typedef struct st_db {
    char *name;       /* MongoDB database name */
    sqlite3 *sql;     /* its connection */
    st_coll_t *colls; /* catalog, loaded from _catalog/_indexes */
    size_t ncolls;
    st_stmt_t *stmts; /* prepared statement cache */
    size_t nstmts;
    int txn; /* begin() depth: >0 inside a command's transaction */
    struct st_db *next;
} st_db_t;

struct docstore_storage {
    char *dir;             /* folder of <db>.sqlite files; NULL in memory */
    st_db_t *dbs;          /* open databases */
    int64_t docs_examined; /* documents handed to scan callbacks, ever */
    int lock_fd;           /* DOCSTORE_DIR_LOCK in dir, flock'ed for st's life; -1 in memory */
    int64_t ttl_passes;    /* TTL passes run (serverStatus metrics.ttl.passes) */
    int64_t ttl_deleted;   /* documents they deleted (metrics.ttl.deletedDocuments) */
};

/* Validates a database name as MongoDB does (InvalidNamespace 73). */
int st_check_db_name(const char *db, docstore_error_t *err);
/* Validates a collection name for creation (InvalidNamespace 73). */
int st_check_coll_name(const char *db, const char *coll, docstore_error_t *err);

/* The open database db. create: open (creating the file) when missing; else
 * *out is NULL when the database does not exist. 0 or -1. */
int st_db_get(docstore_storage_t *st, const char *db, bool create, st_db_t **out,
              docstore_error_t *err);
st_coll_t *st_coll_find(st_db_t *d, const char *coll);
/* Reloads the catalog from SQLite (after DDL or a rollback). 0 or -1. */
int st_meta_load(st_db_t *d, docstore_error_t *err);

/* A prepared statement for sql, from the cache (or a fresh one when the
 * cached one is in use). Give it back with st_stmt_done. 0 or -1. */
int st_stmt(st_db_t *d, const char *sql, sqlite3_stmt **out, docstore_error_t *err);
void st_stmt_done(st_db_t *d, sqlite3_stmt *s);
/* Finalizes every cached statement (before DDL that drops tables). */
void st_stmt_clear(st_db_t *d);
int st_exec(st_db_t *d, const char *sql, docstore_error_t *err);
/* Sets err from the connection's last SQLite error. Returns -1. */
int st_sql_error(st_db_t *d, const char *what, docstore_error_t *err);

/* One write operation: a savepoint, committed on its own outside begin(). */
int st_op_begin(st_db_t *d, docstore_error_t *err);
int st_op_end(st_db_t *d, bool ok, docstore_error_t *err);

/* Creates the collection's tables and catalog row (inside an op). */
int st_coll_create(st_db_t *d, const char *coll, st_coll_t **out, docstore_error_t *err);
/* st_coll_create with create options (capped, size, max, collation), stored
 * in _catalog.options. options may be NULL. */
int st_coll_create_opts(st_db_t *d, const char *coll, const bson_t *options, st_coll_t **out,
                        docstore_error_t *err);
/* Forgets every capped collection's cached figures (after a rollback). */
void st_cap_forget(st_db_t *d);
/* After an insert (row rid, len bytes) into capped c: removes the oldest
 * documents until c holds at most cap_max documents and cap_size bytes,
 * never the one just inserted. 0 or -1. */
int st_cap_trim(st_db_t *d, st_coll_t *c, int64_t rid, int64_t len, docstore_error_t *err);
/* Drops the collection's tables and catalog rows (inside an op). */
int st_coll_drop(st_db_t *d, st_coll_t *c, docstore_error_t *err);

/* Index maintenance for one document (storage_docs.c). */
int st_index_add_doc(st_db_t *d, st_coll_t *c, st_index_t *ix, const bson_t *doc, int64_t rid,
                     docstore_error_t *err);
int st_index_create_tables(st_db_t *d, int64_t id, bool unique, docstore_error_t *err);
/* Parses an index spec into ix (owned strings). 0 or -1 (BadValue/NotImplemented). */
int st_index_parse(const bson_t *spec, st_index_t *ix, docstore_error_t *err);
void st_index_free(st_index_t *ix);
/* Index options (storage_opts.c). st_index_opt_parse: 1 when the spec
 * field at it is sparse/partialFilterExpression/expireAfterSeconds (parsed
 * into ix), 0 when it is none of them, -1 on a bad value. */
int st_index_opt_parse(bson_iter_t *it, st_index_t *ix, docstore_error_t *err);
/* sparse/partial/TTL on {_id: 1}: 197 InvalidIndexSpecificationOption. */
int st_index_opts_check_id(const st_index_t *ix, docstore_error_t *err);
/* Checks the options against the key pattern and appends them to ix->spec. */
int st_index_opts_finish(st_index_t *ix, docstore_error_t *err);
void st_index_opts_free(st_index_t *ix);
/* Same unique, sparse, partial filter and TTL. */
bool st_index_opts_equal(const st_index_t *a, const st_index_t *b);
/* Same collation (both simple, or the same full spec). */
bool st_index_coll_equal(const st_index_t *a, const st_index_t *b);
/* A new index on collection options opts (may be NULL) without a collation
 * of its own takes the collection's default, as MongoDB does. 0 or -1. */
int st_index_opts_inherit(st_index_t *ix, const bson_t *opts, docstore_error_t *err);
/* The index's collator for keyenc, or NULL (binary strings). */
const docstore_key_coll_t *st_index_kc(const st_index_t *ix);
/* Whether query collation qc (a full spec, NULL: simple) is ix's. */
bool st_index_coll_is(const st_index_t *ix, const bson_t *qc);
/* docstore_keyset_build for ix's pattern and collation. */
int st_index_keyset(const st_index_t *ix, const bson_t *doc, docstore_keyset_t *ks,
                    docstore_error_t *err);
/* Whether doc belongs in ix (sparse, partial filter). 0 or -1. */
int st_index_covers(st_index_t *ix, const bson_t *doc, bool *in /* OUT */, docstore_error_t *err);
/* Whether the planner may read ix for query: every document query matches is
 * in it (always, unless ix is sparse or partial). */
bool st_index_usable(const st_index_t *ix, const bson_t *query);
/* A fresh catalog id for a table. */
int st_next_id(st_db_t *d, int64_t *out, docstore_error_t *err);

/* ---- the scan planner (storage_plan.c) ---- */

/* A byte range of encoded keys (of an index, or of _id). */
typedef struct st_range {
    buf_t lo; /* inclusive; empty: from the start */
    buf_t hi; /* exclusive; empty: to the end */
} st_range_t;

/* An access path: ranges over one target, or the union of $or branches. */
typedef struct st_plan {
    st_range_t *r;
    size_t n;
    int score;                /* lower is better: rank * 1000 + target; 100000: none */
    struct st_plan *branches; /* a $or: one plan per branch, their union */
    size_t nbranches;
    bson_value_t cond; /* the condition the ranges come from (explain; into the filter) */
} st_plan_t;

#define ST_PLAN_NONE (100 * 1000)

void st_plan_free(st_plan_t *p);
/* Appends an empty range (every key) to p; NULL when out of memory. */
st_range_t *st_plan_add(st_plan_t *p);
/* Whether v may be an equality point / a range bound of a plan. */
bool st_point_ok(const bson_value_t *v);
bool st_bound_ok(const bson_value_t *v);
/* memcmp order of two byte strings, the shorter first on a tie. */
int st_cmp_bytes(const buf_t *a, const buf_t *b);
/* Keeps in *best the best access path of filter's conditions (those of a
 * top-level $and, and the branches of a $or) under query collation qc (NULL:
 * simple). conj is the conjunction filter belongs to; start with
 * {.score = ST_PLAN_NONE}, filter, filter and depth 0. */
void st_plan_conditions(const bson_t *filter, const bson_t *conj, st_coll_t *c, const bson_t *qc,
                        st_plan_t *best, int depth);
/* Sorts ranges and merges overlapping ones, so no key is read twice. */
void st_plan_normalize(st_plan_t *p);
/* The index (nindexes: _id; more: none) an ordered scan walks for a sort on
 * fields/dirs, given the filter's access path best (normalized); *off: the
 * leading index fields the filter fixes, *reverse: walk the keys backwards. */
size_t st_plan_ordered_target(const st_coll_t *c, const bson_t *filter, const bson_t *qc,
                              const st_plan_t *best, const char *const *fields, const int *dirs,
                              size_t n, size_t *off /* OUT */, bool *reverse /* OUT */);

/* ---- scans (storage_index.c), shared with streamed scans ---- */

/* A growing list of rids. */
typedef struct st_ridvec {
    int64_t *v;
    size_t n, cap;
} st_ridvec_t;

/* Binds r's bounds to ?1 and ?2 (only when r has an upper bound). */
void st_bind_range(sqlite3_stmt *s, const st_range_t *r);
/* Appends the rid (column 0) of every row of s to out, then finishes s.
 * 0, or -1 (out of memory, SQLite error). */
int st_ridvec_read(st_db_t *d, sqlite3_stmt *s, st_ridvec_t *out, docstore_error_t *err);
/* qsort order of int64_t rids. */
int st_rid_cmp(const void *a, const void *b);

/* An ordered walk: documents in an index's (or _id's) key order. */
typedef struct st_walk {
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
} st_walk_t;

/* The bytes of doc's sort key (the pattern's first nsort fields). Sets
 * w->ambiguous when a value's key cannot order it exactly. */
int st_walk_key(st_walk_t *w, const bson_t *doc, buf_t *out, docstore_error_t *err);

#endif
