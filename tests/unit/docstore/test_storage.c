/* Unit tests of the SQLite storage: documents, _id collisions across numeric
 * types, unique and multikey indexes, index range scans (and that they do not
 * read the whole collection), DDL, transactions, in memory and on disk. */
#include "harness.h"
#include "docstore/query/match.h"
#include "docstore/storage/storage.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static bson_t *json(const char *s)
{
    bson_error_t e;
    bson_t *b = bson_new_from_json((const uint8_t *)s, -1, &e);
    if (b == NULL)
        fprintf(stderr, "bad json %s: %s\n", s, e.message);
    return b;
}

static int insert_json(docstore_storage_t *st, const char *coll, const char *s,
                       docstore_error_t *err)
{
    bson_t *d = json(s);
    int rc = docstore_storage_insert(st, "test", coll, d, err);
    bson_destroy(d);
    return rc;
}

typedef struct collect {
    docstore_doclist_t docs;
} collect_t;

static bool collect_cb(void *ctx, const bson_t *doc)
{
    collect_t *c = ctx;
    return docstore_doclist_push_copy(&c->docs, doc) == 0;
}

/* Scans coll with filter; returns the count, *examined gets the docs read. */
static long scan(docstore_storage_t *st, const char *coll, const char *filter, long *examined)
{
    bson_t *f = json(filter);
    collect_t c;
    docstore_doclist_init(&c.docs);
    docstore_error_t err = {0};
    int64_t before = docstore_storage_docs_examined(st);
    int rc = docstore_storage_scan(st, "test", coll, f, collect_cb, &c, &err);
    CHECK_INT(rc, 0);
    if (examined)
        *examined = (long)(docstore_storage_docs_examined(st) - before);
    long n = (long)c.docs.n;
    docstore_doclist_free(&c.docs);
    docstore_error_clear(&err);
    bson_destroy(f);
    return n;
}

static void check_dup_id(docstore_storage_t *st)
{
    docstore_error_t err = {0};
    CHECK_INT(insert_json(st, "ids", "{\"_id\": 1, \"x\": 1}", &err), 0);
    CHECK_INT(insert_json(st, "ids", "{\"_id\": 1.0, \"x\": 2}", &err), -1);
    CHECK_INT(err.code, 11000);
    CHECK_STR(err.msg, "E11000 duplicate key error collection: test.ids index: _id_ dup key: "
                       "{ _id: 1.0 }");
    CHECK(err.extra != NULL);
    if (err.extra) {
        char *s = bson_as_relaxed_extended_json(err.extra, NULL);
        CHECK_STR(s, "{ \"keyPattern\" : { \"_id\" : 1 }, \"keyValue\" : { \"_id\" : 1.0 } }");
        bson_free(s);
    }
    docstore_error_clear(&err);
    CHECK_INT(insert_json(st, "ids", "{\"_id\": {\"$numberLong\": \"1\"}}", &err), -1);
    CHECK_INT(err.code, 11000);
    docstore_error_clear(&err);
    CHECK_INT(insert_json(st, "ids", "{\"_id\": \"1\"}", &err), 0);
    CHECK_INT(insert_json(st, "ids", "{\"_id\": [1]}", &err), -1);
    CHECK_INT(err.code, 53);
    docstore_error_clear(&err);
    long ex;
    CHECK_INT(scan(st, "ids", "{\"_id\": {\"$numberLong\": \"1\"}}", &ex), 1);
    CHECK_INT(ex, 1);
    CHECK_INT(scan(st, "ids", "{}", NULL), 2);
}

static void check_unique_index(docstore_storage_t *st)
{
    docstore_error_t err = {0};
    bool created = false;
    bson_t *spec = json("{\"key\": {\"email\": 1}, \"name\": \"email_1\", \"unique\": true}");
    CHECK_INT(docstore_storage_create_index(st, "test", "users", spec, &created, &err), 0);
    CHECK(created);
    CHECK_INT(docstore_storage_create_index(st, "test", "users", spec, &created, &err), 0);
    CHECK(!created);
    bson_destroy(spec);
    CHECK_INT(insert_json(st, "users", "{\"_id\": 1, \"email\": \"a@x\"}", &err), 0);
    CHECK_INT(insert_json(st, "users", "{\"_id\": 2, \"email\": \"a@x\"}", &err), -1);
    CHECK_INT(err.code, 11000);
    CHECK_STR(err.msg, "E11000 duplicate key error collection: test.users index: email_1 dup "
                       "key: { email: \"a@x\" }");
    docstore_error_clear(&err);
    /* The failed insert left nothing behind. */
    CHECK_INT(scan(st, "users", "{\"_id\": 2}", NULL), 0);
    CHECK_INT(insert_json(st, "users", "{\"_id\": 3, \"email\": \"b@x\"}", &err), 0);
    /* A second document missing the field collides on null, as in MongoDB. */
    CHECK_INT(insert_json(st, "users", "{\"_id\": 4}", &err), 0);
    CHECK_INT(insert_json(st, "users", "{\"_id\": 5}", &err), -1);
    CHECK_INT(err.code, 11000);
    docstore_error_clear(&err);

    /* Replace moves index entries: the old email is free again. */
    bson_t *old = json("{\"_id\": 1, \"email\": \"a@x\"}");
    bson_t *nw = json("{\"_id\": 1, \"email\": \"c@x\"}");
    CHECK_INT(docstore_storage_replace(st, "test", "users", old, nw, &err), 0);
    CHECK_INT(scan(st, "users", "{\"email\": \"a@x\"}", NULL), 0);
    CHECK_INT(scan(st, "users", "{\"email\": \"c@x\"}", NULL), 1);
    CHECK_INT(insert_json(st, "users", "{\"_id\": 6, \"email\": \"a@x\"}", &err), 0);
    bson_t *bad = json("{\"_id\": 1, \"email\": \"b@x\"}");
    CHECK_INT(docstore_storage_replace(st, "test", "users", nw, bad, &err), -1);
    CHECK_INT(err.code, 11000);
    docstore_error_clear(&err);
    CHECK_INT(scan(st, "users", "{\"email\": \"c@x\"}", NULL), 1);
    CHECK_INT(docstore_storage_delete(st, "test", "users", nw, &err), 0);
    CHECK_INT(scan(st, "users", "{\"email\": \"c@x\"}", NULL), 0);
    bson_destroy(old);
    bson_destroy(nw);
    bson_destroy(bad);

    /* A unique index over existing duplicates is refused and not created. */
    CHECK_INT(insert_json(st, "dups", "{\"k\": 1, \"_id\": 1}", &err), 0);
    CHECK_INT(insert_json(st, "dups", "{\"k\": 1, \"_id\": 2}", &err), 0);
    spec = json("{\"key\": {\"k\": 1}, \"name\": \"k_1\", \"unique\": true}");
    CHECK_INT(docstore_storage_create_index(st, "test", "dups", spec, &created, &err), -1);
    CHECK_INT(err.code, 11000);
    docstore_error_clear(&err);
    bson_destroy(spec);
    docstore_doclist_t l;
    docstore_doclist_init(&l);
    CHECK_INT(docstore_storage_list_indexes(st, "test", "dups", &l, &err), 0);
    CHECK_INT(l.n, 1);
    docstore_doclist_free(&l);
}

static void check_index_scans(docstore_storage_t *st)
{
    docstore_error_t err = {0};
    CHECK_INT(docstore_storage_begin(st, "test", &err), 0);
    for (int i = 0; i < 200; i++) {
        char doc[160];
        snprintf(doc, sizeof doc, "{\"_id\": %d, \"n\": %d, \"s\": \"k%03d\", \"g\": %d}", i, i, i,
                 i % 10);
        CHECK_INT(insert_json(st, "nums", doc, &err), 0);
    }
    CHECK_INT(insert_json(st, "nums", "{\"_id\": 1000, \"n\": \"str\", \"tags\": [1, 2, 3]}", &err),
              0);
    CHECK_INT(insert_json(st, "nums", "{\"_id\": 1001, \"n\": null}", &err), 0);
    CHECK_INT(docstore_storage_commit(st, "test", &err), 0);
    bool created;
    const char *specs[] = {"{\"key\": {\"n\": 1}, \"name\": \"n_1\"}",
                           "{\"key\": {\"g\": 1, \"s\": -1}, \"name\": \"g_1_s_-1\"}",
                           "{\"key\": {\"tags\": 1}, \"name\": \"tags_1\"}",
                           "{\"key\": {\"s\": -1}, \"name\": \"s_-1\"}"};
    for (size_t i = 0; i < 4; i++) {
        bson_t *spec = json(specs[i]);
        CHECK_INT(docstore_storage_create_index(st, "test", "nums", spec, &created, &err), 0);
        CHECK(created);
        bson_destroy(spec);
    }
    long ex;
    CHECK_INT(scan(st, "nums", "{\"n\": 7}", &ex), 1);
    CHECK_INT(ex, 1);
    CHECK_INT(scan(st, "nums", "{\"n\": {\"$gt\": 190}}", &ex), 9);
    CHECK_INT(ex, 9); /* numbers only: the string and null are outside the bracket */
    CHECK_INT(scan(st, "nums", "{\"n\": {\"$gte\": 10, \"$lt\": 20}}", &ex), 10);
    CHECK_INT(ex, 10);
    CHECK_INT(scan(st, "nums", "{\"n\": {\"$lte\": 2.5}}", &ex), 3);
    CHECK_INT(scan(st, "nums", "{\"n\": {\"$gt\": \"a\"}}", &ex), 1);
    CHECK_INT(ex, 1);
    CHECK_INT(scan(st, "nums", "{\"n\": {\"$in\": [3, 4.0, 3, \"str\"]}}", &ex), 3);
    CHECK_INT(ex, 3);
    CHECK_INT(scan(st, "nums", "{\"n\": null}", &ex), 1); /* null and missing share a key */
    CHECK_INT(scan(st, "nums", "{\"g\": 3}", &ex), 20);   /* compound, leading field */
    CHECK_INT(ex, 20);
    CHECK_INT(scan(st, "nums", "{\"s\": \"k005\"}", &ex), 1); /* descending index */
    CHECK_INT(ex, 1);
    CHECK_INT(scan(st, "nums", "{\"tags\": 2}", &ex), 1); /* multikey, read once */
    CHECK_INT(scan(st, "nums", "{\"tags\": {\"$gte\": 1}}", &ex), 1);
    CHECK_INT(ex, 1);
    CHECK_INT(scan(st, "nums", "{\"$and\": [{\"x\": 1}, {\"n\": 9}]}", &ex), 1);
    CHECK_INT(ex, 1);
    CHECK_INT(scan(st, "nums", "{\"_id\": {\"$gte\": 100, \"$lt\": 110}}", &ex), 10);
    CHECK_INT(ex, 10);
    /* No usable predicate: a full scan. */
    CHECK_INT(scan(st, "nums", "{\"n\": {\"$ne\": 3}}", &ex), 202);
    CHECK_INT(ex, 202);
    CHECK_INT(scan(st, "nums", "{\"n\": {\"$gt\": 5, \"$lt\": \"a\"}}", &ex), 0);

    /* Stopping early. */
    CHECK_INT(scan(st, "missing", "{}", NULL), 0);

    docstore_doclist_t l;
    docstore_doclist_init(&l);
    CHECK_INT(docstore_storage_list_indexes(st, "test", "nums", &l, &err), 0);
    CHECK_INT(l.n, 5);
    docstore_doclist_free(&l);
    CHECK_INT(docstore_storage_drop_index(st, "test", "nums", "n_1", &err), 0);
    CHECK_INT(docstore_storage_drop_index(st, "test", "nums", "n_1", &err), -1);
    CHECK_INT(err.code, 27);
    docstore_error_clear(&err);
    CHECK_INT(docstore_storage_drop_index(st, "test", "nums", "_id_", &err), -1);
    CHECK_INT(err.code, 72);
    docstore_error_clear(&err);
    CHECK_INT(scan(st, "nums", "{\"n\": 7}", &ex), 202); /* the index is gone: full scan */
    CHECK_INT(ex, 202);
    CHECK_INT(docstore_storage_drop_index(st, "test", "nums", "*", &err), 0);
    docstore_doclist_init(&l);
    CHECK_INT(docstore_storage_list_indexes(st, "test", "nums", &l, &err), 0);
    CHECK_INT(l.n, 1);
    docstore_doclist_free(&l);

    bson_t *txt = json("{\"key\": {\"s\": \"text\"}}");
    CHECK_INT(docstore_storage_create_index(st, "test", "nums", txt, &created, &err), -1);
    CHECK_INT(err.code, 238);
    docstore_error_clear(&err);
    bson_destroy(txt);
}

static void check_transactions(docstore_storage_t *st)
{
    docstore_error_t err = {0};
    CHECK_INT(docstore_storage_begin(st, "test", &err), 0);
    CHECK_INT(insert_json(st, "tx", "{\"_id\": 1}", &err), 0);
    CHECK_INT(insert_json(st, "tx", "{\"_id\": 1}", &err), -1); /* fails alone */
    docstore_error_clear(&err);
    CHECK_INT(insert_json(st, "tx", "{\"_id\": 2}", &err), 0);
    docstore_storage_rollback(st, "test");
    CHECK_INT(scan(st, "tx", "{}", NULL), 0);
    CHECK_INT(docstore_storage_begin(st, "test", &err), 0);
    CHECK_INT(insert_json(st, "tx", "{\"_id\": 1}", &err), 0);
    CHECK_INT(insert_json(st, "tx", "{\"_id\": 1}", &err), -1);
    docstore_error_clear(&err);
    CHECK_INT(insert_json(st, "tx", "{\"_id\": 2}", &err), 0);
    CHECK_INT(docstore_storage_commit(st, "test", &err), 0);
    CHECK_INT(scan(st, "tx", "{}", NULL), 2);
}

static bool has_coll(docstore_storage_t *st, const char *db, const char *name)
{
    docstore_doclist_t l;
    docstore_doclist_init(&l);
    docstore_error_t err = {0};
    CHECK_INT(docstore_storage_list_collections(st, db, &l, &err), 0);
    bool found = false;
    for (size_t i = 0; i < l.n; i++) {
        bson_iter_t it;
        if (bson_iter_init_find(&it, l.docs[i], "name") &&
            strcmp(bson_iter_utf8(&it, NULL), name) == 0)
            found = true;
    }
    docstore_doclist_free(&l);
    return found;
}

static void check_ddl(docstore_storage_t *st)
{
    docstore_error_t err = {0};
    CHECK_INT(docstore_storage_create_collection(st, "test", "made", true, &err), 0);
    CHECK_INT(docstore_storage_create_collection(st, "test", "made", true, &err), -1);
    CHECK_INT(err.code, 48);
    docstore_error_clear(&err);
    CHECK_INT(docstore_storage_create_collection(st, "test", "made", false, &err), 0);
    CHECK_INT(docstore_storage_create_collection(st, "bad.db", "x", false, &err), -1);
    CHECK_INT(err.code, 73);
    docstore_error_clear(&err);
    CHECK_INT(docstore_storage_create_collection(st, "test", "a$b", false, &err), -1);
    CHECK_INT(err.code, 73);
    docstore_error_clear(&err);

    CHECK_INT(insert_json(st, "made", "{\"_id\": 1, \"a\": 5}", &err), 0);
    bool created;
    bson_t *spec = json("{\"key\": {\"a\": 1}, \"name\": \"a_1\"}");
    CHECK_INT(docstore_storage_create_index(st, "test", "made", spec, &created, &err), 0);
    bson_destroy(spec);
    CHECK_INT(
        docstore_storage_rename_collection(st, "test", "made", "test", "renamed", false, &err), 0);
    CHECK(!has_coll(st, "test", "made"));
    CHECK(has_coll(st, "test", "renamed"));
    long ex;
    CHECK_INT(scan(st, "renamed", "{\"a\": 5}", &ex), 1);
    CHECK_INT(ex, 1); /* the index came along */
    CHECK_INT(docstore_storage_create_collection(st, "test", "other", false, &err), 0);
    CHECK_INT(
        docstore_storage_rename_collection(st, "test", "renamed", "test", "other", false, &err),
        -1);
    CHECK_INT(err.code, 48);
    docstore_error_clear(&err);
    CHECK_INT(
        docstore_storage_rename_collection(st, "test", "renamed", "test", "other", true, &err), 0);
    CHECK_INT(scan(st, "other", "{}", NULL), 1);
    /* Across databases: copied with its indexes. */
    CHECK_INT(
        docstore_storage_rename_collection(st, "test", "other", "second", "moved", false, &err), 0);
    CHECK(!has_coll(st, "test", "other"));
    CHECK(has_coll(st, "second", "moved"));
    docstore_doclist_t l;
    docstore_doclist_init(&l);
    CHECK_INT(docstore_storage_list_indexes(st, "second", "moved", &l, &err), 0);
    CHECK_INT(l.n, 2);
    docstore_doclist_free(&l);
    CHECK_INT(docstore_storage_rename_collection(st, "test", "nope", "test", "x", false, &err), -1);
    CHECK_INT(err.code, 26);
    docstore_error_clear(&err);

    int64_t count, size;
    int32_t nix;
    CHECK_INT(docstore_storage_collection_stats(st, "second", "moved", &count, &size, &nix, &err),
              0);
    CHECK_INT(count, 1);
    CHECK(size > 10);
    CHECK_INT(nix, 2);

    docstore_doclist_init(&l);
    CHECK_INT(docstore_storage_list_databases(st, &l, &err), 0);
    CHECK_INT(l.n, 2); /* second, test */
    docstore_doclist_free(&l);
    bool existed;
    CHECK_INT(docstore_storage_drop_collection(st, "second", "moved", &existed, &err), 0);
    CHECK(existed);
    CHECK_INT(docstore_storage_drop_collection(st, "second", "moved", &existed, &err), 0);
    CHECK(!existed);
    docstore_doclist_init(&l);
    CHECK_INT(docstore_storage_list_databases(st, &l, &err), 0);
    CHECK_INT(l.n, 1); /* a database without collections does not exist */
    docstore_doclist_free(&l);
    CHECK_INT(docstore_storage_drop_database(st, "test", &err), 0);
    docstore_doclist_init(&l);
    CHECK_INT(docstore_storage_list_databases(st, &l, &err), 0);
    CHECK_INT(l.n, 0);
    docstore_doclist_free(&l);
    CHECK_INT(scan(st, "tx", "{}", NULL), 0);
}

static void run_all(docstore_storage_t *st)
{
    check_dup_id(st);
    check_unique_index(st);
    check_index_scans(st);
    check_transactions(st);
    check_ddl(st);
}

static void test_in_memory(void)
{
    docstore_storage_t *st;
    docstore_error_t err = {0};
    CHECK_INT(docstore_storage_open(NULL, &st, &err), 0);
    run_all(st);
    docstore_storage_close(st);
}

static void test_on_disk(void)
{
    char dir[] = "/tmp/tether-storage-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    docstore_storage_t *st;
    docstore_error_t err = {0};
    CHECK_INT(docstore_storage_open(dir, &st, &err), 0);
    run_all(st);
    /* Persistence: documents and indexes survive a reopen. */
    CHECK_INT(insert_json(st, "keep", "{\"_id\": 1, \"a\": 1}", &err), 0);
    CHECK_INT(insert_json(st, "keep", "{\"_id\": 2, \"a\": 2}", &err), 0);
    bool created;
    bson_t *spec = json("{\"key\": {\"a\": 1}, \"unique\": true}");
    CHECK_INT(docstore_storage_create_index(st, "test", "keep", spec, &created, &err), 0);
    bson_destroy(spec);
    docstore_storage_close(st);
    CHECK_INT(docstore_storage_open(dir, &st, &err), 0);
    long ex;
    CHECK_INT(scan(st, "keep", "{\"a\": 2}", &ex), 1);
    CHECK_INT(ex, 1);
    CHECK_INT(insert_json(st, "keep", "{\"_id\": 3, \"a\": 2}", &err), -1);
    CHECK_INT(err.code, 11000);
    CHECK(strstr(err.msg, "index: a_1 dup key: { a: 2 }") != NULL);
    docstore_error_clear(&err);
    docstore_doclist_t l;
    docstore_doclist_init(&l);
    CHECK_INT(docstore_storage_list_databases(st, &l, &err), 0);
    CHECK_INT(l.n, 1);
    docstore_doclist_free(&l);
    CHECK_INT(docstore_storage_drop_database(st, "test", &err), 0);
    docstore_storage_close(st);
    char path[128];
    snprintf(path, sizeof path, "%s/test.sqlite", dir);
    struct stat sb;
    CHECK(stat(path, &sb) == -1);
    rmdir(dir);
}

/* ---- index scans against the matcher: same answers as a full scan ---- */

static const char *const POOL[] = {"1",
                                   "2.5",
                                   "{\"$numberLong\": \"3\"}",
                                   "-1",
                                   "0",
                                   "1.0",
                                   "100",
                                   "\"a\"",
                                   "\"b\"",
                                   "\"\"",
                                   "null",
                                   "true",
                                   "false",
                                   "{\"x\": 1}",
                                   "{\"x\": \"a\"}",
                                   "[]",
                                   "[1, \"a\"]",
                                   "[2.5, [1]]",
                                   "[{\"x\": 1}]",
                                   "{\"$date\": {\"$numberLong\": \"5\"}}",
                                   "{\"$oid\": \"0123456789ab0123456789ab\"}",
                                   "{\"$numberDouble\": \"NaN\"}",
                                   "{\"$numberDecimal\": \"2.5\"}",
                                   "{\"$minKey\": 1}",
                                   "{\"$maxKey\": 1}"};
#define NPOOL (sizeof POOL / sizeof POOL[0])

typedef struct ids {
    char buf[4096];
} ids_t;

static bool ids_cb(void *ctx, const bson_t *doc)
{
    void **c = ctx;
    const docstore_matcher_t *m = c[0];
    ids_t *out = c[1];
    if (!docstore_matcher_matches(m, doc, NULL))
        return true;
    bson_iter_t it;
    if (bson_iter_init_find(&it, doc, "_id")) {
        size_t n = strlen(out->buf);
        snprintf(out->buf + n, sizeof out->buf - n, "%d,", bson_iter_int32(&it));
    }
    return true;
}

static void matched_ids(docstore_storage_t *st, const char *coll, const bson_t *f, ids_t *out)
{
    docstore_matcher_t *m;
    docstore_error_t err = {0};
    out->buf[0] = '\0';
    if (docstore_matcher_new(f, &m, &err) != 0) {
        snprintf(out->buf, sizeof out->buf, "error %d", err.code);
        docstore_error_clear(&err);
        return;
    }
    void *c[2] = {m, out};
    CHECK_INT(docstore_storage_scan(st, "test", coll, f, ids_cb, c, &err), 0);
    docstore_matcher_free(m);
}

static void test_index_agrees_with_matcher(void)
{
    docstore_storage_t *st;
    docstore_error_t err = {0};
    CHECK_INT(docstore_storage_open(NULL, &st, &err), 0);
    bool created;
    const char *specs[] = {"{\"key\": {\"v\": 1}}", "{\"key\": {\"w\": -1}}",
                           "{\"key\": {\"s.v\": 1, \"w\": 1}}", "{\"key\": {\"s\": 1}}"};
    for (size_t i = 0; i < 4; i++) {
        bson_t *spec = json(specs[i]);
        CHECK_INT(docstore_storage_create_index(st, "test", "indexed", spec, &created, &err), 0);
        bson_destroy(spec);
    }
    int id = 0;
    for (size_t i = 0; i < NPOOL; i++) {
        for (size_t j = 0; j < 3; j++) {
            char doc[512];
            size_t k = (i * 7 + j * 3) % NPOOL;
            if (j == 2)
                snprintf(doc, sizeof doc, "{\"_id\": %d, \"s\": [{\"v\": %s}, {\"v\": %s}]}", id,
                         POOL[i], POOL[k]);
            else
                snprintf(doc, sizeof doc, "{\"_id\": %d, \"v\": %s, \"w\": %s, \"s\": {\"v\": %s}}",
                         id, POOL[i], POOL[k], POOL[i]);
            CHECK_INT(insert_json(st, "indexed", doc, &err), 0);
            CHECK_INT(insert_json(st, "plain", doc, &err), 0);
            id++;
        }
    }
    CHECK_INT(insert_json(st, "indexed", "{\"_id\": 999}", &err), 0);
    CHECK_INT(insert_json(st, "plain", "{\"_id\": 999}", &err), 0);
    static const char *const shapes[][2] = {{"", ""},
                                            {"{\"$eq\": ", "}"},
                                            {"{\"$gt\": ", "}"},
                                            {"{\"$gte\": ", "}"},
                                            {"{\"$lt\": ", "}"},
                                            {"{\"$lte\": ", "}"},
                                            {"{\"$in\": [", ", 1, \"a\"]}"},
                                            {"{\"$gte\": ", ", \"$lt\": 100}"},
                                            {"{\"$in\": [null, ", "]}"},
                                            {"{\"$gt\": -5, \"$lte\": ", "}"},
                                            {"{\"$lt\": \"b\", \"$gt\": ", "}"},
                                            {"{\"$ne\": ", "}"},
                                            {"{\"$gt\": ", ", \"$eq\": 1}"}};
    static const char *const fields[] = {"v", "w", "s.v", "_id", "s"};
    int compared = 0, mismatches = 0;
    for (size_t f = 0; f < 5; f++) {
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            for (size_t i = 0; i < NPOOL; i++) {
                char q[512];
                snprintf(q, sizeof q, "{\"%s\": %s%s%s}", fields[f], shapes[s][0], POOL[i],
                         shapes[s][1]);
                bson_t *fq = json(q);
                if (fq == NULL)
                    continue;
                ids_t a, b;
                matched_ids(st, "indexed", fq, &a);
                matched_ids(st, "plain", fq, &b);
                if (strcmp(a.buf, b.buf) != 0 && mismatches++ < 10)
                    fprintf(stderr, "%s: index [%s] full scan [%s]\n", q, a.buf, b.buf);
                compared++;
                bson_destroy(fq);
            }
        }
    }
    CHECK_INT(mismatches, 0);
    CHECK(compared > 1500);
    /* $or: each branch through its own index, or a full scan when one
     * branch has none. */
    static const char *const ors[] = {
        "{\"$or\": [{\"v\": 1}, {\"w\": \"a\"}]}",
        "{\"$or\": [{\"v\": {\"$gt\": 2}}, {\"_id\": {\"$in\": [1, 2, 3]}}, {\"s.v\": null}]}",
        "{\"$or\": [{\"v\": 1}, {\"zz\": 1}]}",
        "{\"$or\": [{\"$or\": [{\"v\": \"a\"}, {\"w\": true}]}, {\"s\": {\"v\": 1}}]}",
        "{\"v\": {\"$gte\": 0}, \"$or\": [{\"w\": 1}, {\"w\": \"b\"}]}",
    };
    for (size_t i = 0; i < sizeof ors / sizeof ors[0]; i++) {
        bson_t *oq = json(ors[i]);
        ids_t x, y;
        matched_ids(st, "indexed", oq, &x);
        matched_ids(st, "plain", oq, &y);
        if (strcmp(x.buf, y.buf) != 0)
            fprintf(stderr, "%s: index [%s] full scan [%s]\n", ors[i], x.buf, y.buf);
        CHECK_STR(x.buf, y.buf);
        bson_destroy(oq);
    }
    int64_t before = docstore_storage_docs_examined(st);
    bson_t *oq = json("{\"$or\": [{\"_id\": 1}, {\"_id\": 2}, {\"v\": \"b\"}]}");
    ids_t x;
    matched_ids(st, "indexed", oq, &x);
    CHECK_INT(docstore_storage_docs_examined(st) - before, 4); /* 1, 2 and the two "b" */
    bson_destroy(oq);
    /* The same through $and. */
    bson_t *fq = json("{\"$and\": [{\"v\": {\"$gte\": 1}}, {\"w\": {\"$lt\": \"b\"}}]}");
    ids_t a, b;
    matched_ids(st, "indexed", fq, &a);
    matched_ids(st, "plain", fq, &b);
    CHECK_STR(a.buf, b.buf);
    bson_destroy(fq);
    docstore_storage_close(st);
}

int main(void)
{
    RUN(test_in_memory);
    RUN(test_on_disk);
    RUN(test_index_agrees_with_matcher);
    return TEST_REPORT();
}
