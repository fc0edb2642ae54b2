/*
 * The docstore judged by libmongoc 1.23, the C driver functions use: handshake,
 * CRUD, cursors over many batches and killCursors, aggregation, indexes and
 * duplicate keys, bulk write errors, listings, error shapes and a few
 * query/update semantics. Run by tests/integration/test_docstore_libmongoc.sh.
 *
 *   docstore_libmongoc URI single   one single-threaded mongoc_client_t
 *   docstore_libmongoc URI pool     a mongoc_client_pool_t: the same checks on
 *                                   a popped client, then 8 threads at once
 *
 * Prints one line per check; exits 1 when any check failed.
 */
#include <mongoc/mongoc.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;
static int passes;

/* Fails the current check (a function returning bool) with a message. */
#define REQUIRE(cond, ...)                                                                         \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            printf("     line %d: %s: ", __LINE__, #cond);                                         \
            printf(__VA_ARGS__);                                                                   \
            printf("\n");                                                                          \
            return false;                                                                          \
        }                                                                                          \
    } while (0)

typedef struct suite {
    mongoc_client_t *client;
    mongoc_database_t *db;
    const char *dbname;
} suite_t;

static bson_t *json(const char *s)
{
    bson_error_t e;
    bson_t *b = bson_new_from_json((const uint8_t *)s, -1, &e);
    if (!b) {
        fprintf(stderr, "bad JSON in the test: %s: %s\n", s, e.message);
        exit(2);
    }
    return b;
}

/* Canonical relaxed JSON of a document, for comparisons; caller frees. */
static char *as_json(const bson_t *b)
{
    return bson_as_relaxed_extended_json(b, NULL);
}

/* True when doc equals the JSON text (field order included). */
static bool doc_is(const bson_t *doc, const char *expect_json)
{
    bson_t *e = json(expect_json);
    bool same = bson_equal(doc, e);
    if (!same) {
        char *a = as_json(doc), *b = as_json(e);
        printf("     got %s\n     want %s\n", a, b);
        bson_free(a);
        bson_free(b);
    }
    bson_destroy(e);
    return same;
}

static int64_t get_int(const bson_t *doc, const char *dotted)
{
    bson_iter_t it;
    if (bson_iter_init(&it, doc) && bson_iter_find_descendant(&it, dotted, &it) &&
        BSON_ITER_HOLDS_NUMBER(&it))
        return bson_iter_as_int64(&it);
    return -999999;
}

static mongoc_collection_t *coll(suite_t *s, const char *name)
{
    return mongoc_client_get_collection(s->client, s->dbname, name);
}

/* Runs filter with opts and writes the _id of every result as "1,2,3". */
static bool find_ids(mongoc_collection_t *c, const char *filter, const char *opts, char *out,
                     size_t cap)
{
    bson_t *f = json(filter), *o = json(opts ? opts : "{}");
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(c, f, o, NULL);
    const bson_t *doc;
    bson_error_t err;
    out[0] = '\0';
    while (mongoc_cursor_next(cur, &doc)) {
        bson_iter_t it;
        char one[64] = "?";
        if (bson_iter_init_find(&it, doc, "_id")) {
            if (BSON_ITER_HOLDS_NUMBER(&it))
                snprintf(one, sizeof one, "%lld", (long long)bson_iter_as_int64(&it));
            else if (BSON_ITER_HOLDS_UTF8(&it))
                snprintf(one, sizeof one, "%s", bson_iter_utf8(&it, NULL));
        }
        size_t len = strlen(out);
        snprintf(out + len, cap - len, "%s%s", len ? "," : "", one);
    }
    bool ok = !mongoc_cursor_error(cur, &err);
    if (!ok)
        printf("     find %s: %s (%u)\n", filter, err.message, err.code);
    mongoc_cursor_destroy(cur);
    bson_destroy(f);
    bson_destroy(o);
    return ok;
}

static bool ids_are(mongoc_collection_t *c, const char *filter, const char *opts, const char *want)
{
    char got[4096];
    if (!find_ids(c, filter, opts, got, sizeof got))
        return false;
    if (strcmp(got, want) != 0) {
        printf("     filter %s opts %s: got [%s] want [%s]\n", filter, opts ? opts : "{}", got,
               want);
        return false;
    }
    return true;
}

static bool insert_json(mongoc_collection_t *c, const char *doc)
{
    bson_t *d = json(doc);
    bson_error_t err;
    bool ok = mongoc_collection_insert_one(c, d, NULL, NULL, &err);
    if (!ok)
        printf("     insert %s: %s (%u)\n", doc, err.message, err.code);
    bson_destroy(d);
    return ok;
}

static bool check_hello(suite_t *s)
{
    bson_t *cmd = json("{\"hello\": 1}");
    bson_t reply;
    bson_error_t err;
    bool ok = mongoc_client_command_simple(s->client, "admin", cmd, NULL, &reply, &err);
    bson_destroy(cmd);
    REQUIRE(ok, "%s", err.message);
    bson_iter_t it;
    REQUIRE(bson_iter_init_find(&it, &reply, "isWritablePrimary") && BSON_ITER_HOLDS_BOOL(&it) &&
                bson_iter_bool(&it),
            "isWritablePrimary");
    REQUIRE(bson_iter_init_find(&it, &reply, "maxWireVersion") && BSON_ITER_HOLDS_INT32(&it) &&
                bson_iter_int32(&it) <= 17,
            "maxWireVersion int32 <= 17");
    REQUIRE(!bson_iter_init_find(&it, &reply, "setName"), "no setName");
    bson_destroy(&reply);
    cmd = json("{\"ping\": 1}");
    ok = mongoc_client_command_simple(s->client, "admin", cmd, NULL, &reply, &err);
    bson_destroy(cmd);
    bson_destroy(&reply);
    REQUIRE(ok, "ping: %s", err.message);
    return true;
}

static bool check_crud(suite_t *s)
{
    mongoc_collection_t *c = coll(s, "crud");
    bson_error_t err;
    bson_t reply;
    bool result = false;

    const char *people[] = {
        "{\"_id\": 1, \"name\": \"bob\", \"age\": 25, \"city\": \"Oslo\"}",
        "{\"_id\": 2, \"name\": \"cy\", \"age\": 40, \"city\": \"Rome\"}",
        "{\"_id\": 3, \"name\": \"dee\", \"age\": 35, \"city\": \"Oslo\"}",
        "{\"_id\": 4, \"name\": \"eve\", \"age\": 22, \"city\": \"Lima\", \"n\": {\"x\": 5}}",
    };
    bson_t *docs[4];
    const bson_t *cdocs[4];
    for (int i = 0; i < 4; i++)
        cdocs[i] = docs[i] = json(people[i]);
    bool ok = mongoc_collection_insert_many(c, cdocs, 4, NULL, &reply, &err);
    for (int i = 0; i < 4; i++)
        bson_destroy(docs[i]);
    if (!ok || get_int(&reply, "insertedCount") != 4) {
        printf("     insert_many: %s\n", err.message);
        bson_destroy(&reply);
        goto out;
    }
    bson_destroy(&reply);

    if (!ids_are(c, "{\"age\": {\"$gte\": 25}}", "{\"sort\": {\"age\": -1}}", "2,3,1") ||
        !ids_are(c, "{}", "{\"sort\": {\"age\": 1}, \"skip\": 1, \"limit\": 2}", "1,3") ||
        !ids_are(c, "{\"city\": {\"$in\": [\"Oslo\", \"Lima\"]}}",
                 "{\"sort\": {\"city\": 1, \"age\": -1}}", "4,3,1") ||
        !ids_are(c, "{\"n.x\": 5}", NULL, "4"))
        goto out;

    /* projection */
    {
        bson_t *f = json("{\"_id\": 4}"), *o = json("{\"projection\": {\"city\": 0, \"n\": 0}}");
        mongoc_cursor_t *cur = mongoc_collection_find_with_opts(c, f, o, NULL);
        const bson_t *d;
        bool got = mongoc_cursor_next(cur, &d);
        bool same = got && doc_is(d, "{\"_id\": 4, \"name\": \"eve\", \"age\": 22}");
        mongoc_cursor_destroy(cur);
        bson_destroy(f);
        bson_destroy(o);
        if (!same)
            goto out;
    }

    /* updates */
    {
        bson_t *f = json("{\"_id\": 1}"), *u = json("{\"$inc\": {\"age\": 1}}");
        ok = mongoc_collection_update_one(c, f, u, NULL, &reply, &err);
        bool good = ok && get_int(&reply, "matchedCount") == 1 && get_int(&reply, "modifiedCount") == 1;
        bson_destroy(f);
        bson_destroy(u);
        bson_destroy(&reply);
        if (!good) {
            printf("     update_one: %s\n", err.message);
            goto out;
        }
        f = json("{\"city\": \"Oslo\"}");
        u = json("{\"$set\": {\"country\": \"NO\"}}");
        ok = mongoc_collection_update_many(c, f, u, NULL, &reply, &err);
        good = ok && get_int(&reply, "modifiedCount") == 2;
        bson_destroy(f);
        bson_destroy(u);
        bson_destroy(&reply);
        if (!good) {
            printf("     update_many: %s\n", err.message);
            goto out;
        }
        f = json("{\"_id\": 2}");
        u = json("{\"name\": \"cy\"}");
        ok = mongoc_collection_replace_one(c, f, u, NULL, &reply, &err);
        good = ok && get_int(&reply, "modifiedCount") == 1;
        bson_destroy(f);
        bson_destroy(u);
        bson_destroy(&reply);
        if (!good) {
            printf("     replace_one: %s\n", err.message);
            goto out;
        }
        f = json("{\"_id\": 7}");
        u = json("{\"$set\": {\"name\": \"up\"}}");
        bson_t *o = json("{\"upsert\": true}");
        ok = mongoc_collection_update_one(c, f, u, o, &reply, &err);
        good = ok && get_int(&reply, "upsertedCount") == 1 && get_int(&reply, "upsertedId") == 7;
        if (!good) {
            char *r = as_json(&reply);
            printf("     upsert: %s reply %s\n", err.message, r);
            bson_free(r);
        }
        bson_destroy(f);
        bson_destroy(u);
        bson_destroy(o);
        bson_destroy(&reply);
        if (!good)
            goto out;
    }
    if (!ids_are(c, "{\"country\": \"NO\"}", "{\"sort\": {\"_id\": 1}}", "1,3") ||
        !ids_are(c, "{\"name\": \"up\"}", NULL, "7"))
        goto out;

    /* deletes */
    {
        bson_t *f = json("{\"_id\": 7}");
        ok = mongoc_collection_delete_one(c, f, NULL, &reply, &err);
        bool good = ok && get_int(&reply, "deletedCount") == 1;
        bson_destroy(f);
        bson_destroy(&reply);
        f = json("{\"city\": \"Nowhere\"}");
        ok = mongoc_collection_delete_many(c, f, NULL, &reply, &err);
        good = good && ok && get_int(&reply, "deletedCount") == 0;
        bson_destroy(f);
        bson_destroy(&reply);
        if (!good) {
            printf("     deletes: %s\n", err.message);
            goto out;
        }
    }

    /* findAndModify */
    {
        mongoc_find_and_modify_opts_t *fam = mongoc_find_and_modify_opts_new();
        bson_t *u = json("{\"$inc\": {\"age\": 10}}"), *sort = json("{\"age\": -1}");
        bson_t *q = json("{\"city\": \"Oslo\"}");
        mongoc_find_and_modify_opts_set_update(fam, u);
        mongoc_find_and_modify_opts_set_sort(fam, sort);
        mongoc_find_and_modify_opts_set_flags(fam, MONGOC_FIND_AND_MODIFY_RETURN_NEW);
        ok = mongoc_collection_find_and_modify_with_opts(c, q, fam, &reply, &err);
        bool good = ok && get_int(&reply, "value._id") == 3 && get_int(&reply, "value.age") == 45;
        if (!good) {
            char *r = as_json(&reply);
            printf("     findAndModify: %s reply %s\n", err.message, r);
            bson_free(r);
        }
        bson_destroy(&reply);
        mongoc_find_and_modify_opts_destroy(fam);
        bson_destroy(u);
        bson_destroy(sort);
        bson_destroy(q);
        if (!good)
            goto out;
        fam = mongoc_find_and_modify_opts_new();
        q = json("{\"_id\": 4}");
        mongoc_find_and_modify_opts_set_flags(fam, MONGOC_FIND_AND_MODIFY_REMOVE);
        ok = mongoc_collection_find_and_modify_with_opts(c, q, fam, &reply, &err);
        good = ok && get_int(&reply, "value.age") == 22;
        bson_destroy(&reply);
        mongoc_find_and_modify_opts_destroy(fam);
        bson_destroy(q);
        if (!good) {
            printf("     findAndModify remove: %s\n", err.message);
            goto out;
        }
    }

    /* counts and distinct */
    {
        bson_t *f = json("{\"city\": \"Oslo\"}");
        int64_t n = mongoc_collection_count_documents(c, f, NULL, NULL, NULL, &err);
        bson_destroy(f);
        int64_t est = mongoc_collection_estimated_document_count(c, NULL, NULL, NULL, &err);
        if (n != 2 || est != 3) {
            printf("     count_documents %lld (want 2), estimated %lld (want 3): %s\n",
                   (long long)n, (long long)est, err.message);
            goto out;
        }
        bson_t *cmd = json("{\"distinct\": \"crud\", \"key\": \"city\", \"query\": {}}");
        ok = mongoc_collection_read_command_with_opts(c, cmd, NULL, NULL, &reply, &err);
        bson_destroy(cmd);
        bson_iter_t it, arr;
        int count = 0;
        if (ok && bson_iter_init_find(&it, &reply, "values") && BSON_ITER_HOLDS_ARRAY(&it) &&
            bson_iter_recurse(&it, &arr))
            while (bson_iter_next(&arr))
                count++;
        bson_destroy(&reply);
        if (!ok || count != 1) { /* only Oslo is left: 2 was replaced, 4 removed */
            printf("     distinct: %d values, %s\n", count, err.message);
            goto out;
        }
    }
    result = true;
out:
    mongoc_collection_destroy(c);
    return result;
}

static bool check_cursor(suite_t *s)
{
    mongoc_collection_t *c = coll(s, "big");
    bson_error_t err;
    bool result = false;
    mongoc_bulk_operation_t *bulk = mongoc_collection_create_bulk_operation_with_opts(c, NULL);
    for (int i = 0; i < 1111; i++) {
        bson_t *d = BCON_NEW("_id", BCON_INT32(i), "v", BCON_INT32(i % 10));
        mongoc_bulk_operation_insert(bulk, d);
        bson_destroy(d);
    }
    bson_t reply;
    bool ok = mongoc_bulk_operation_execute(bulk, &reply, &err) != 0;
    bool good = ok && get_int(&reply, "nInserted") == 1111;
    bson_destroy(&reply);
    mongoc_bulk_operation_destroy(bulk);
    if (!good) {
        printf("     bulk insert: %s\n", err.message);
        goto out;
    }

    bson_t *f = json("{}"), *o = json("{\"sort\": {\"_id\": 1}, \"batchSize\": 7}");
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(c, f, o, NULL);
    const bson_t *d;
    int n = 0;
    bool in_order = true;
    while (mongoc_cursor_next(cur, &d)) {
        if (get_int(d, "_id") != n)
            in_order = false;
        n++;
    }
    ok = !mongoc_cursor_error(cur, &err);
    mongoc_cursor_destroy(cur);
    bson_destroy(f);
    bson_destroy(o);
    if (!ok || n != 1111 || !in_order) {
        printf("     cursor: %d docs, in order %d, %s\n", n, in_order, err.message);
        goto out;
    }

    /* early destroy sends killCursors: a getMore on that id is then 43 */
    f = json("{}");
    o = json("{\"batchSize\": 7}");
    cur = mongoc_collection_find_with_opts(c, f, o, NULL);
    ok = mongoc_cursor_next(cur, &d);
    int64_t id = mongoc_cursor_get_id(cur);
    mongoc_cursor_destroy(cur);
    bson_destroy(f);
    bson_destroy(o);
    if (!ok || id == 0) {
        printf("     cursor id %lld after the first batch\n", (long long)id);
        goto out;
    }
    bson_t *gm = BCON_NEW("getMore", BCON_INT64(id), "collection", "big");
    ok = mongoc_client_command_simple(s->client, s->dbname, gm, NULL, &reply, &err);
    bson_destroy(gm);
    bson_destroy(&reply);
    if (ok || err.code != 43) {
        printf("     getMore after destroy: ok %d code %u (want 43) %s\n", ok, err.code, err.message);
        goto out;
    }

    /* aggregation cursor across batches */
    bson_t *pipe = json("{\"pipeline\": [{\"$match\": {\"v\": 3}}, {\"$sort\": {\"_id\": -1}}]}");
    o = json("{\"batchSize\": 7}");
    cur = mongoc_collection_aggregate(c, MONGOC_QUERY_NONE, pipe, o, NULL);
    n = 0;
    while (mongoc_cursor_next(cur, &d))
        n++;
    ok = !mongoc_cursor_error(cur, &err);
    mongoc_cursor_destroy(cur);
    bson_destroy(pipe);
    bson_destroy(o);
    if (!ok || n != 111) {
        printf("     aggregate cursor: %d docs (want 111) %s\n", n, err.message);
        goto out;
    }
    result = true;
out:
    mongoc_collection_destroy(c);
    return result;
}

static bool check_aggregate(suite_t *s)
{
    mongoc_collection_t *c = coll(s, "sales");
    mongoc_collection_t *st = coll(s, "stores");
    bool result = false;
    if (!insert_json(c, "{\"_id\": 1, \"item\": \"apple\", \"qty\": 5, \"tags\": [\"f\", \"r\"], \"s\": \"n\"}") ||
        !insert_json(c, "{\"_id\": 2, \"item\": \"apple\", \"qty\": 3, \"tags\": [\"f\"], \"s\": \"s\"}") ||
        !insert_json(c, "{\"_id\": 3, \"item\": \"pear\", \"qty\": 10, \"tags\": [\"f\", \"g\"], \"s\": \"n\"}") ||
        !insert_json(st, "{\"_id\": \"n\", \"city\": \"North\"}") ||
        !insert_json(st, "{\"_id\": \"s\", \"city\": \"South\"}"))
        goto out;
    static const struct {
        const char *pipeline;
        const char *want; /* the results as one JSON object {r: [...]} */
    } cases[] = {
        {"[{\"$match\": {\"qty\": {\"$gt\": 1}}}, {\"$group\": {\"_id\": \"$item\", \"t\": {\"$sum\": \"$qty\"}}},"
         " {\"$sort\": {\"t\": -1}}, {\"$project\": {\"_id\": 0, \"item\": \"$_id\", \"t\": 1}}]",
         "{\"r\": [{\"t\": 10, \"item\": \"pear\"}, {\"t\": 8, \"item\": \"apple\"}]}"},
        {"[{\"$unwind\": \"$tags\"}, {\"$group\": {\"_id\": \"$tags\", \"c\": {\"$sum\": 1}}},"
         " {\"$sort\": {\"c\": -1, \"_id\": 1}}, {\"$limit\": 2}]",
         "{\"r\": [{\"_id\": \"f\", \"c\": 3}, {\"_id\": \"g\", \"c\": 1}]}"},
        {"[{\"$match\": {\"_id\": 2}}, {\"$lookup\": {\"from\": \"stores\", \"localField\": \"s\","
         " \"foreignField\": \"_id\", \"as\": \"st\"}}, {\"$project\": {\"st\": 1}}]",
         "{\"r\": [{\"_id\": 2, \"st\": [{\"_id\": \"s\", \"city\": \"South\"}]}]}"},
        {"[{\"$match\": {\"tags\": \"f\"}}, {\"$count\": \"n\"}]", "{\"r\": [{\"n\": 3}]}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[1024];
        snprintf(buf, sizeof buf, "{\"pipeline\": %s}", cases[i].pipeline);
        bson_t *pipe = json(buf);
        mongoc_cursor_t *cur = mongoc_collection_aggregate(c, MONGOC_QUERY_NONE, pipe, NULL, NULL);
        bson_t all = BSON_INITIALIZER, arr;
        const bson_t *d;
        uint32_t n = 0;
        bson_append_array_begin(&all, "r", 1, &arr);
        while (mongoc_cursor_next(cur, &d)) {
            char key[16];
            const char *k;
            bson_uint32_to_string(n++, &k, key, sizeof key);
            bson_append_document(&arr, k, -1, d);
        }
        bson_append_array_end(&all, &arr);
        bson_error_t err;
        bool ok = !mongoc_cursor_error(cur, &err);
        if (!ok)
            printf("     pipeline %zu: %s (%u)\n", i, err.message, err.code);
        ok = ok && doc_is(&all, cases[i].want);
        mongoc_cursor_destroy(cur);
        bson_destroy(pipe);
        bson_destroy(&all);
        if (!ok) {
            printf("     pipeline %s\n", cases[i].pipeline);
            goto out;
        }
    }
    result = true;
out:
    mongoc_collection_destroy(c);
    mongoc_collection_destroy(st);
    return result;
}

static bool check_indexes(suite_t *s)
{
    mongoc_collection_t *c = coll(s, "uniq");
    bson_error_t err;
    bson_t reply;
    bool result = false;
    bson_t *cmd = json("{\"createIndexes\": \"uniq\", \"indexes\": [{\"key\": {\"email\": 1}, "
                       "\"name\": \"email_1\", \"unique\": true}, {\"key\": {\"a\": 1, \"b\": -1}, "
                       "\"name\": \"a_1_b_-1\"}]}");
    bool ok = mongoc_collection_write_command_with_opts(c, cmd, NULL, &reply, &err);
    bson_destroy(cmd);
    bson_destroy(&reply);
    if (!ok) {
        printf("     createIndexes: %s (%u)\n", err.message, err.code);
        goto out;
    }
    mongoc_cursor_t *cur = mongoc_collection_find_indexes_with_opts(c, NULL);
    const bson_t *d;
    char names[256] = "";
    while (mongoc_cursor_next(cur, &d)) {
        bson_iter_t it;
        if (bson_iter_init_find(&it, d, "name") && BSON_ITER_HOLDS_UTF8(&it)) {
            size_t len = strlen(names);
            snprintf(names + len, sizeof names - len, "%s%s", len ? "," : "", bson_iter_utf8(&it, NULL));
        }
    }
    ok = !mongoc_cursor_error(cur, &err);
    mongoc_cursor_destroy(cur);
    if (!ok || strcmp(names, "_id_,email_1,a_1_b_-1") != 0) {
        printf("     listIndexes: [%s] %s\n", names, err.message);
        goto out;
    }

    if (!insert_json(c, "{\"_id\": 1, \"email\": \"a@x\"}"))
        goto out;
    bson_t *dup = json("{\"_id\": 2, \"email\": \"a@x\"}");
    ok = mongoc_collection_insert_one(c, dup, NULL, &reply, &err);
    bson_destroy(dup);
    /* errmsg names the database: check the fields one by one. */
    bson_iter_t it;
    bool good = !ok && err.code == 11000 && get_int(&reply, "writeErrors.0.code") == 11000 &&
           bson_iter_init(&it, &reply) &&
           bson_iter_find_descendant(&it, "writeErrors.0.keyValue.email", &it) &&
           BSON_ITER_HOLDS_UTF8(&it) && strcmp(bson_iter_utf8(&it, NULL), "a@x") == 0 &&
           get_int(&reply, "writeErrors.0.keyPattern.email") == 1;
    if (!good) {
        char *r = as_json(&reply);
        printf("     duplicate insert: ok %d code %u reply %s\n", ok, err.code, r);
        bson_free(r);
    }
    bson_destroy(&reply);
    if (!good)
        goto out;

    /* unordered bulk: one duplicate, the rest inserted */
    bson_t *bo = json("{\"ordered\": false}");
    mongoc_bulk_operation_t *bulk = mongoc_collection_create_bulk_operation_with_opts(c, bo);
    bson_destroy(bo);
    const char *bdocs[] = {"{\"_id\": 3, \"email\": \"b@x\"}", "{\"_id\": 4, \"email\": \"a@x\"}",
                           "{\"_id\": 5, \"email\": \"c@x\"}", "{\"_id\": 1}"};
    for (int i = 0; i < 4; i++) {
        bson_t *b = json(bdocs[i]);
        mongoc_bulk_operation_insert(bulk, b);
        bson_destroy(b);
    }
    ok = mongoc_bulk_operation_execute(bulk, &reply, &err) != 0;
    good = !ok && err.code == 11000 && get_int(&reply, "nInserted") == 2 &&
           get_int(&reply, "writeErrors.0.index") == 1 && get_int(&reply, "writeErrors.1.index") == 3;
    if (!good) {
        char *r = as_json(&reply);
        printf("     unordered bulk: ok %d code %u reply %s\n", ok, err.code, r);
        bson_free(r);
    }
    bson_destroy(&reply);
    mongoc_bulk_operation_destroy(bulk);
    if (!good)
        goto out;

    ok = mongoc_collection_drop_index_with_opts(c, "a_1_b_-1", NULL, &err);
    if (!ok) {
        printf("     drop_index: %s\n", err.message);
        goto out;
    }
    ok = mongoc_collection_drop_index_with_opts(c, "a_1_b_-1", NULL, &err);
    if (ok || err.code != 27) {
        printf("     drop missing index: ok %d code %u (want 27)\n", ok, err.code);
        goto out;
    }
    result = true;
out:
    mongoc_collection_destroy(c);
    return result;
}

static bool has_name(char **names, const char *n)
{
    for (int i = 0; names && names[i]; i++)
        if (strcmp(names[i], n) == 0)
            return true;
    return false;
}

static bool check_listings(suite_t *s)
{
    bson_error_t err;
    char **dbs = mongoc_client_get_database_names_with_opts(s->client, NULL, &err);
    bool good = dbs && has_name(dbs, s->dbname);
    bson_strfreev(dbs);
    REQUIRE(good, "%s not listed: %s", s->dbname, err.message);
    char **colls = mongoc_database_get_collection_names_with_opts(s->db, NULL, &err);
    good = colls && has_name(colls, "crud") && has_name(colls, "big") && has_name(colls, "uniq");
    bson_strfreev(colls);
    REQUIRE(good, "collections not listed: %s", err.message);
    mongoc_collection_t *c = coll(s, "stores");
    good = mongoc_collection_drop_with_opts(c, NULL, &err);
    mongoc_collection_destroy(c);
    REQUIRE(good, "drop: %s", err.message);
    colls = mongoc_database_get_collection_names_with_opts(s->db, NULL, &err);
    good = colls && !has_name(colls, "stores");
    bson_strfreev(colls);
    REQUIRE(good, "dropped collection still listed");
    char tmpname[64];
    snprintf(tmpname, sizeof tmpname, "%s_tmp", s->dbname);
    mongoc_collection_t *t = mongoc_client_get_collection(s->client, tmpname, "t");
    good = insert_json(t, "{\"a\": 1}");
    mongoc_collection_destroy(t);
    REQUIRE(good, "insert in a second database");
    mongoc_database_t *tdb = mongoc_client_get_database(s->client, tmpname);
    good = mongoc_database_drop_with_opts(tdb, NULL, &err);
    mongoc_database_destroy(tdb);
    REQUIRE(good, "dropDatabase: %s", err.message);
    dbs = mongoc_client_get_database_names_with_opts(s->client, NULL, &err);
    good = dbs && !has_name(dbs, tmpname);
    bson_strfreev(dbs);
    REQUIRE(good, "dropped database still listed");
    return true;
}

static bool check_errors(suite_t *s)
{
    bson_error_t err;
    bson_t reply;
    bson_t *cmd = json("{\"noSuchCommand\": 1}");
    bool ok = mongoc_client_command_simple(s->client, s->dbname, cmd, NULL, &reply, &err);
    bson_destroy(cmd);
    bson_iter_t it;
    bool named = bson_iter_init_find(&it, &reply, "codeName") && BSON_ITER_HOLDS_UTF8(&it) &&
                 strcmp(bson_iter_utf8(&it, NULL), "CommandNotFound") == 0;
    bson_destroy(&reply);
    REQUIRE(!ok && err.code == 59 && named, "unknown command: ok %d code %u", ok, err.code);

    mongoc_collection_t *c = coll(s, "crud");
    bson_t *f = json("{\"a\": {\"$bogus\": 1}}");
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(c, f, NULL, NULL);
    const bson_t *d;
    while (mongoc_cursor_next(cur, &d))
        ;
    ok = !mongoc_cursor_error(cur, &err);
    mongoc_cursor_destroy(cur);
    bson_destroy(f);
    bool good = !ok && err.code == 2;
    f = json("{\"_id\": 1}");
    bson_t *u = json("{\"$bogus\": {\"a\": 1}}");
    ok = mongoc_collection_update_one(c, f, u, NULL, &reply, &err);
    bson_destroy(f);
    bson_destroy(u);
    bson_destroy(&reply);
    good = good && !ok && err.code == 9;
    mongoc_collection_destroy(c);
    REQUIRE(good, "bad operators: last code %u %s", err.code, err.message);
    return true;
}

static bool check_semantics(suite_t *s)
{
    mongoc_collection_t *c = coll(s, "sem");
    bool result = false;
    if (!insert_json(c, "{\"_id\": 1, \"a\": [{\"b\": 1}, {\"b\": 2}], \"x\": null, \"r\": [82, 85, 88]}") ||
        !insert_json(c, "{\"_id\": 2, \"a\": {\"b\": 2}, \"r\": [75, 88, 89]}") ||
        !insert_json(c, "{\"_id\": 3, \"a\": [[{\"b\": 2}]], \"x\": 1, \"r\": \"s\"}"))
        goto out;
    if (!ids_are(c, "{\"a.b\": 2}", "{\"sort\": {\"_id\": 1}}", "1,2") ||
        !ids_are(c, "{\"x\": null}", "{\"sort\": {\"_id\": 1}}", "1,2") ||
        !ids_are(c, "{\"x\": {\"$exists\": true}}", "{\"sort\": {\"_id\": 1}}", "1,3") ||
        !ids_are(c, "{\"r\": {\"$elemMatch\": {\"$gte\": 80, \"$lt\": 85}}}", NULL, "1") ||
        !ids_are(c, "{\"r\": {\"$gt\": 80}}", "{\"sort\": {\"_id\": 1}}", "1,2") ||
        !ids_are(c, "{}", "{\"sort\": {\"r\": 1, \"_id\": 1}}", "2,1,3"))
        goto out;
    bson_error_t err;
    bson_t *f = json("{\"_id\": 2, \"r\": 88}");
    bson_t *u = json("{\"$set\": {\"r.$\": 0}, \"$push\": {\"l\": {\"$each\": [3, 1, 2], \"$sort\": 1, \"$slice\": -2}},"
                     " \"$addToSet\": {\"s\": {\"$each\": [1, 1, 2]}}}");
    bool ok = mongoc_collection_update_one(c, f, u, NULL, NULL, &err);
    bson_destroy(f);
    bson_destroy(u);
    if (!ok) {
        printf("     update: %s (%u)\n", err.message, err.code);
        goto out;
    }
    f = json("{\"_id\": 2}");
    bson_t *o = json("{\"projection\": {\"_id\": 0, \"r\": 1, \"l\": 1, \"s\": 1}}");
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(c, f, o, NULL);
    const bson_t *d;
    ok = mongoc_cursor_next(cur, &d) && doc_is(d, "{\"r\": [75, 0, 89], \"l\": [2, 3], \"s\": [1, 2]}");
    mongoc_cursor_destroy(cur);
    bson_destroy(f);
    bson_destroy(o);
    result = ok;
out:
    mongoc_collection_destroy(c);
    return result;
}

typedef struct worker {
    mongoc_client_pool_t *pool;
    int n;      /* worker number */
    bool ok;    /* OUT */
} worker_t;

/* One pooled client per thread: inserts and reads back its own documents. */
static void *worker_main(void *arg)
{
    worker_t *w = arg;
    mongoc_client_t *cl = mongoc_client_pool_pop(w->pool);
    mongoc_collection_t *c = mongoc_client_get_collection(cl, "cdrv_pool", "threads");
    bson_error_t err;
    w->ok = true;
    for (int i = 0; i < 100 && w->ok; i++) {
        bson_t *d = BCON_NEW("w", BCON_INT32(w->n), "i", BCON_INT32(i));
        if (!mongoc_collection_insert_one(c, d, NULL, NULL, &err)) {
            printf("     worker %d insert: %s\n", w->n, err.message);
            w->ok = false;
        }
        bson_destroy(d);
        bson_t *f = BCON_NEW("w", BCON_INT32(w->n), "i", BCON_INT32(i));
        int64_t n = mongoc_collection_count_documents(c, f, NULL, NULL, NULL, &err);
        bson_destroy(f);
        if (n != 1) {
            printf("     worker %d count %lld: %s\n", w->n, (long long)n, err.message);
            w->ok = false;
        }
    }
    mongoc_collection_destroy(c);
    mongoc_client_pool_push(w->pool, cl);
    return NULL;
}

static bool check_pool_threads(mongoc_client_pool_t *pool)
{
    enum { NTHREADS = 8 };
    pthread_t th[NTHREADS];
    worker_t w[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        w[i] = (worker_t){.pool = pool, .n = i, .ok = false};
        REQUIRE(pthread_create(&th[i], NULL, worker_main, &w[i]) == 0, "pthread_create");
    }
    bool all = true;
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(th[i], NULL);
        all = all && w[i].ok;
    }
    REQUIRE(all, "a worker failed");
    mongoc_client_t *cl = mongoc_client_pool_pop(pool);
    mongoc_collection_t *c = mongoc_client_get_collection(cl, "cdrv_pool", "threads");
    bson_error_t err;
    bson_t empty = BSON_INITIALIZER;
    int64_t n = mongoc_collection_count_documents(c, &empty, NULL, NULL, NULL, &err);
    mongoc_collection_destroy(c);
    mongoc_client_pool_push(pool, cl);
    REQUIRE(n == NTHREADS * 100, "%lld documents", (long long)n);
    return true;
}

static void run(const char *name, bool (*fn)(suite_t *), suite_t *s)
{
    if (fn(s)) {
        passes++;
        printf("ok   %s\n", name);
    } else {
        failures++;
        printf("FAIL %s\n", name);
    }
    fflush(stdout);
}

static void run_all(suite_t *s)
{
    run("hello and ping", check_hello, s);
    run("CRUD", check_crud, s);
    run("cursor across many batches, killCursors", check_cursor, s);
    run("aggregation", check_aggregate, s);
    run("indexes, duplicate keys, bulk write errors", check_indexes, s);
    run("listDatabases / listCollections / drop", check_listings, s);
    run("error shapes", check_errors, s);
    run("query/update semantics", check_semantics, s);
}

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[2], "single") != 0 && strcmp(argv[2], "pool") != 0)) {
        fprintf(stderr, "usage: %s URI single|pool\n", argv[0]);
        return 2;
    }
    mongoc_init();
    bson_error_t err;
    mongoc_uri_t *uri = mongoc_uri_new_with_error(argv[1], &err);
    if (!uri) {
        fprintf(stderr, "bad URI: %s\n", err.message);
        return 2;
    }
    bool pooled = strcmp(argv[2], "pool") == 0;
    suite_t s = {.dbname = pooled ? "cdrv_pool" : "cdrv_single"};
    mongoc_client_pool_t *pool = NULL;
    if (pooled) {
        pool = mongoc_client_pool_new(uri);
        mongoc_client_pool_set_error_api(pool, MONGOC_ERROR_API_VERSION_2);
        mongoc_client_pool_set_appname(pool, "tether-libmongoc-pool");
        s.client = mongoc_client_pool_pop(pool);
    } else {
        s.client = mongoc_client_new_from_uri(uri);
        mongoc_client_set_error_api(s.client, MONGOC_ERROR_API_VERSION_2);
        mongoc_client_set_appname(s.client, "tether-libmongoc-single");
    }
    s.db = mongoc_client_get_database(s.client, s.dbname);
    mongoc_database_drop_with_opts(s.db, NULL, NULL);
    run_all(&s);
    mongoc_database_destroy(s.db);
    if (pooled) {
        mongoc_client_pool_push(pool, s.client);
        if (check_pool_threads(pool)) {
            passes++;
            printf("ok   8 threads on pooled clients\n");
        } else {
            failures++;
            printf("FAIL 8 threads on pooled clients\n");
        }
        mongoc_client_pool_destroy(pool);
    } else {
        mongoc_client_destroy(s.client);
    }
    mongoc_uri_destroy(uri);
    mongoc_cleanup();
    printf("%d/%d checks passed (%s)\n", passes, passes + failures, argv[2]);
    return failures ? 1 : 0;
}
