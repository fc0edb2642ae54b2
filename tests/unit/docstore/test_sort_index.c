/* Unit tests of bounded blocking sorts (sorter.c: top-k, the 100 MB bound,
 * 292) and of sorts served by an index (storage_index.c's ordered scan and
 * cmd_crud.c's read_sorted): every find and aggregate is run on a collection
 * with indexes and on a copy without, and their results must be the same
 * bytes, over mixed BSON types, missing fields, null/undefined, decimals a
 * double cannot tell apart, and (once the index turned multikey) arrays. */
#include "harness.h"
#include "docstore/cmd/command.h"
#include "docstore/cmd/cursor.h"
#include "docstore/agg/pipeline.h"
#include "docstore/query/sort.h"
#include "docstore/query/sorter.h"
#include "docstore/storage/storage.h"

#include <stdlib.h>

static docstore_ctx_t ctx;

static const docstore_command_t *lookup(const char *name)
{
    const docstore_command_t *tables[] = {docstore_crud_commands, docstore_ddl_commands};
    for (size_t t = 0; t < 2; t++) {
        for (const docstore_command_t *c = tables[t]; c->name; c++) {
            if (strcmp(c->name, name) == 0)
                return c;
        }
    }
    return NULL;
}

static bson_t *from_json(const char *json)
{
    bson_error_t e;
    bson_t *b = bson_new_from_json((const uint8_t *)json, -1, &e);
    if (b == NULL)
        fprintf(stderr, "bad json %s: %s\n", json, e.message);
    CHECK(b != NULL);
    return b;
}

/* Runs a command given as JSON; 0 or the handler's -1 (err set). */
static int run(const char *json, bson_t *reply, docstore_error_t *err)
{
    bson_t *cmd = from_json(json);
    bson_init(reply);
    if (cmd == NULL)
        return -2;
    bson_iter_t it;
    bson_iter_init(&it, cmd);
    bson_iter_next(&it);
    const docstore_command_t *c = lookup(bson_iter_key(&it));
    CHECK(c != NULL);
    docstore_error_clear(err);
    int rc = c ? c->fn(&ctx, "t", cmd, reply, err) : -2;
    bson_destroy(cmd);
    return rc;
}

/* The firstBatch of a cursor command, as an owned array document. */
static bson_t *batch_of(const char *json)
{
    bson_t reply;
    docstore_error_t err = {0};
    int rc = run(json, &reply, &err);
    if (rc != 0)
        fprintf(stderr, "%s: %s\n", json, err.msg);
    CHECK_INT(rc, 0);
    docstore_error_clear(&err);
    bson_iter_t it, d;
    bson_t *out = NULL;
    if (rc == 0 && bson_iter_init(&it, &reply) &&
        bson_iter_find_descendant(&it, "cursor.firstBatch", &d) && BSON_ITER_HOLDS_ARRAY(&d)) {
        uint32_t len;
        const uint8_t *data;
        bson_iter_array(&d, &len, &data);
        out = bson_new_from_data(data, len);
    }
    bson_destroy(&reply);
    return out ? out : bson_new();
}

/* fmt with its one "%s" replaced by coll. */
static void subst(char *out, size_t n, const char *fmt, const char *coll)
{
    const char *at = strstr(fmt, "%s");
    if (at == NULL) {
        snprintf(out, n, "%s", fmt);
        return;
    }
    snprintf(out, n, "%.*s%s%s", (int)(at - fmt), fmt, coll, at + 2);
}

/* Runs the same command (with %s for the collection) on "ix" (indexed) and
 * "plain"; their batches must be identical. Returns the batch length. */
static int same_on_both(const char *fmt)
{
    char a[1024], b[1024];
    subst(a, sizeof a, fmt, "ix");
    subst(b, sizeof b, fmt, "plain");
    bson_t *ra = batch_of(a), *rb = batch_of(b);
    bool same = ra->len == rb->len && memcmp(bson_get_data(ra), bson_get_data(rb), ra->len) == 0;
    if (!same) {
        /* Show the first element that differs. */
        bson_iter_t ia, ib;
        bool more_a = bson_iter_init(&ia, ra), more_b = bson_iter_init(&ib, rb);
        for (int i = 0;; i++) {
            more_a = more_a && bson_iter_next(&ia);
            more_b = more_b && bson_iter_next(&ib);
            if (!more_a || !more_b) {
                fprintf(stderr, "%s\n  lengths differ at %d\n", a, i);
                break;
            }
            const bson_value_t *va = bson_iter_value(&ia), *vb = bson_iter_value(&ib);
            if (va->value.v_doc.data_len != vb->value.v_doc.data_len ||
                memcmp(va->value.v_doc.data, vb->value.v_doc.data, va->value.v_doc.data_len)) {
                bson_t da, db;
                bson_init_static(&da, va->value.v_doc.data, va->value.v_doc.data_len);
                bson_init_static(&db, vb->value.v_doc.data, vb->value.v_doc.data_len);
                char *ja = bson_as_relaxed_extended_json(&da, NULL);
                char *jb = bson_as_relaxed_extended_json(&db, NULL);
                fprintf(stderr, "%s\n  at %d indexed: %s\n  plain: %s\n", a, i, ja, jb);
                bson_free(ja);
                bson_free(jb);
                break;
            }
        }
    }
    CHECK(same);
    int n = (int)bson_count_keys(ra);
    bson_destroy(ra);
    bson_destroy(rb);
    return n;
}

static uint64_t rng_state = 12345;
static uint32_t rnd(uint32_t n)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(rng_state >> 33) % n;
}

/* A value of a random type (or nothing: the field stays missing). */
/* level 0: values whose index keys order them exactly; 1: also undefined and
 * decimals a double cannot hold; 2: also arrays. */
static void append_value(bson_t *d, const char *key, int level)
{
    static const char *decimals[] = {"1", "1.0000000000000000001", "2.5", "0.99999999999999999999"};
    static const char *strings[] = {"", "a", "ab", "b", "B"};
    uint32_t kind = rnd(level >= 2 ? 17 : 15);
    bson_decimal128_t dec;
    bson_oid_t oid;
    switch (kind) {
    case 0:
        BSON_APPEND_INT32(d, key, (int32_t)rnd(7) - 3);
        break;
    case 1:
        BSON_APPEND_INT64(d, key, (INT64_C(1) << 53) + (int64_t)rnd(3));
        break;
    case 2: {
        static const double dv[] = {1.0, -0.0, 0.0, 2.5, 9007199254740992.0, -1e300};
        BSON_APPEND_DOUBLE(d, key, dv[rnd(6)]);
        break;
    }
    case 3:
        bson_decimal128_from_string(decimals[level >= 1 ? rnd(4) : 2 * rnd(2)], &dec);
        BSON_APPEND_DECIMAL128(d, key, &dec);
        break;
    case 4: {
        const char *str = strings[rnd(5)]; /* the macro evaluates it twice */
        BSON_APPEND_UTF8(d, key, str);
        break;
    }
    case 5:
        BSON_APPEND_NULL(d, key);
        break;
    case 6:
        break; /* missing */
    case 7:
        if (level >= 1)
            BSON_APPEND_UNDEFINED(d, key);
        else
            BSON_APPEND_UTF8(d, key, "u");
        break;
    case 8:
        BSON_APPEND_BOOL(d, key, rnd(2));
        break;
    case 9:
        BSON_APPEND_DATE_TIME(d, key, (int64_t)rnd(3) * 1000 - 1000);
        break;
    case 10: {
        uint8_t bytes[12] = {0};
        bytes[11] = (uint8_t)rnd(3);
        bson_oid_init_from_data(&oid, bytes);
        BSON_APPEND_OID(d, key, &oid);
        break;
    }
    case 11: {
        bson_t sub;
        BSON_APPEND_DOCUMENT_BEGIN(d, key, &sub);
        BSON_APPEND_INT32(&sub, "x", (int32_t)rnd(2));
        bson_append_document_end(d, &sub);
        break;
    }
    case 12:
        BSON_APPEND_MINKEY(d, key);
        break;
    case 13:
        BSON_APPEND_MAXKEY(d, key);
        break;
    case 14:
        BSON_APPEND_INT32(d, key, 1);
        break;
    case 15: {
        bson_t arr;
        BSON_APPEND_ARRAY_BEGIN(d, key, &arr);
        BSON_APPEND_INT32(&arr, "0", (int32_t)rnd(5));
        BSON_APPEND_UTF8(&arr, "1", "x");
        bson_append_array_end(d, &arr);
        break;
    }
    default: {
        bson_t arr;
        BSON_APPEND_ARRAY_BEGIN(d, key, &arr);
        bson_append_array_end(d, &arr);
        break;
    }
    }
}

static void insert_both(int id, int level)
{
    bson_t *d = bson_new();
    BSON_APPEND_INT32(d, "_id", id);
    append_value(d, "a", level);
    if (rnd(4) != 0)
        BSON_APPEND_INT32(d, "b", (int32_t)rnd(4));
    if (rnd(3) != 0) {
        bson_t n;
        BSON_APPEND_DOCUMENT_BEGIN(d, "n", &n);
        append_value(&n, "b", level > 1 ? 1 : level);
        bson_append_document_end(d, &n);
    } else if (rnd(2)) {
        BSON_APPEND_INT32(d, "n", 7); /* "n.b" stopped by a scalar: null */
    }
    docstore_error_t err = {0};
    CHECK_INT(docstore_storage_insert(ctx.storage, "t", "ix", d, &err), 0);
    CHECK_INT(docstore_storage_insert(ctx.storage, "t", "plain", d, &err), 0);
    bson_destroy(d);
}

static void create_index(const char *coll, const char *spec_json)
{
    bson_t *spec = from_json(spec_json);
    docstore_error_t err = {0};
    bool created;
    int rc = docstore_storage_create_index(ctx.storage, "t", coll, spec, &created, &err);
    if (rc != 0)
        fprintf(stderr, "create index %s: %s\n", spec_json, err.msg);
    CHECK_INT(rc, 0);
    bson_destroy(spec);
}

static const char *const queries[] = {
    "{\"find\": \"%s\", \"sort\": {\"a\": 1}, \"batchSize\": 100000}",
    "{\"find\": \"%s\", \"sort\": {\"a\": -1}, \"batchSize\": 100000}",
    "{\"find\": \"%s\", \"sort\": {\"a\": 1}, \"limit\": 7}",
    "{\"find\": \"%s\", \"sort\": {\"a\": -1}, \"skip\": 13, \"limit\": 5}",
    "{\"find\": \"%s\", \"sort\": {\"a\": 1}, \"limit\": 1}",
    "{\"find\": \"%s\", \"filter\": {\"a\": {\"$gte\": 0}}, \"sort\": {\"a\": 1}, \"limit\": 20}",
    "{\"find\": \"%s\", \"filter\": {\"a\": {\"$lt\": \"b\"}}, \"sort\": {\"a\": -1}, "
    "\"batchSize\": 100000}",
    "{\"find\": \"%s\", \"filter\": {\"a\": {\"$in\": [1, \"a\", null, true]}}, "
    "\"sort\": {\"a\": -1}, \"batchSize\": 100000}",
    "{\"find\": \"%s\", \"filter\": {\"b\": 2}, \"sort\": {\"a\": 1}, \"limit\": 9}",
    "{\"find\": \"%s\", \"filter\": {\"n\": {\"$exists\": true}}, \"sort\": {\"a\": 1}, "
    "\"limit\": 30}",
    "{\"find\": \"%s\", \"sort\": {\"a\": 1, \"b\": -1}, \"batchSize\": 100000}",
    "{\"find\": \"%s\", \"sort\": {\"a\": -1, \"b\": 1}, \"limit\": 25}",
    "{\"find\": \"%s\", \"sort\": {\"n.b\": 1}, \"batchSize\": 100000}",
    "{\"find\": \"%s\", \"sort\": {\"n.b\": -1}, \"limit\": 11}",
    "{\"find\": \"%s\", \"sort\": {\"_id\": -1}, \"limit\": 6}",
    "{\"find\": \"%s\", \"filter\": {\"b\": 1}, \"sort\": {\"a\": -1, \"n.b\": -1}, "
    "\"limit\": 15}",
    "{\"find\": \"%s\", \"filter\": {\"b\": {\"$in\": [3]}}, \"sort\": {\"a\": 1}, "
    "\"batchSize\": 100000}",
    "{\"find\": \"%s\", \"filter\": {\"b\": {\"$in\": [1, 2]}}, \"sort\": {\"a\": 1}, "
    "\"batchSize\": 100000}",
    "{\"find\": \"%s\", \"filter\": {\"b\": null}, \"sort\": {\"a\": 1, \"n.b\": 1}, "
    "\"batchSize\": 100000}",
    "{\"find\": \"%s\", \"filter\": {\"n.b\": {\"$gte\": 0}}, \"sort\": {\"n.b\": 1}, "
    "\"limit\": 10}",
    "{\"find\": \"%s\", \"filter\": {\"n.b\": {\"$gt\": \"\", \"$lte\": \"b\"}}, "
    "\"sort\": {\"n.b\": -1}, \"batchSize\": 100000}",
    "{\"find\": \"%s\", \"filter\": {\"n.b\": {\"$lt\": 2}}, \"sort\": {\"n.b\": -1}, "
    "\"batchSize\": 100000}",
    "{\"find\": \"%s\", \"filter\": {\"_id\": {\"$gt\": 100}}, \"sort\": {\"_id\": 1}, "
    "\"limit\": 6}",
    "{\"find\": \"%s\", \"filter\": {\"b\": {\"$gte\": 1}}, \"sort\": {\"b\": 1, \"a\": 1}, "
    "\"limit\": 40}",
    "{\"aggregate\": \"%s\", \"pipeline\": [{\"$sort\": {\"a\": 1}}, {\"$limit\": 12}], "
    "\"cursor\": {\"batchSize\": 100000}}",
    "{\"aggregate\": \"%s\", \"pipeline\": [{\"$match\": {\"b\": {\"$ne\": 1}}}, "
    "{\"$sort\": {\"a\": -1}}, {\"$skip\": 4}, {\"$limit\": 10}], "
    "\"cursor\": {\"batchSize\": 100000}}",
    "{\"aggregate\": \"%s\", \"pipeline\": [{\"$sort\": {\"n.b\": 1}}, "
    "{\"$project\": {\"a\": 1}}], \"cursor\": {\"batchSize\": 100000}}",
    "{\"aggregate\": \"%s\", \"pipeline\": [{\"$project\": {\"a\": 1, \"b\": 1}}, "
    "{\"$sort\": {\"a\": 1, \"b\": -1}}, {\"$limit\": 15}], \"cursor\": {\"batchSize\": 100000}}",
};

/* findAndModify with a sort picks the same document on both (a top-1 sort or
 * an index walk), and modifies it on both. */
static void same_fam_on_both(const char *fmt)
{
    char cmd[2][1024];
    subst(cmd[0], sizeof cmd[0], fmt, "ix");
    subst(cmd[1], sizeof cmd[1], fmt, "plain");
    bson_t *val[2];
    for (int i = 0; i < 2; i++) {
        bson_t reply;
        docstore_error_t err = {0};
        CHECK_INT(run(cmd[i], &reply, &err), 0);
        docstore_error_clear(&err);
        bson_iter_t it;
        uint32_t len = 0;
        const uint8_t *data = NULL;
        if (bson_iter_init_find(&it, &reply, "value") && BSON_ITER_HOLDS_DOCUMENT(&it))
            bson_iter_document(&it, &len, &data);
        val[i] = data ? bson_new_from_data(data, len) : bson_new();
        bson_destroy(&reply);
    }
    CHECK(val[0]->len > 5);
    CHECK(bson_equal(val[0], val[1]));
    bson_destroy(val[0]);
    bson_destroy(val[1]);
}

static void run_queries(void)
{
    for (size_t i = 0; i < sizeof queries / sizeof *queries; i++)
        CHECK(same_on_both(queries[i]) > 0);
    same_fam_on_both("{\"findAndModify\": \"%s\", \"query\": {\"b\": 1}, \"sort\": {\"a\": -1}, "
                     "\"update\": {\"$inc\": {\"z\": 1}}}");
    same_fam_on_both("{\"findAndModify\": \"%s\", \"query\": {}, \"sort\": {\"a\": 1, \"b\": -1}, "
                     "\"update\": {\"$inc\": {\"z\": 1}}, \"new\": true}");
    same_fam_on_both("{\"findAndModify\": \"%s\", \"query\": {\"a\": {\"$gt\": 0}}, "
                     "\"sort\": {\"a\": 1}, \"update\": {\"$inc\": {\"z\": 1}}}");
}

static void test_index_sort_matches_memory_sort(void)
{
    for (int i = 0; i < 600; i++)
        insert_both(i, 0);
    create_index("ix", "{\"key\": {\"a\": 1}, \"name\": \"a_1\"}");
    create_index("ix", "{\"key\": {\"a\": 1, \"b\": -1}, \"name\": \"a_1_b_-1\"}");
    create_index("ix", "{\"key\": {\"n.b\": -1}, \"name\": \"nb\"}");
    create_index("ix", "{\"key\": {\"b\": 1, \"a\": 1, \"n.b\": 1}, \"name\": \"ban\"}");
    run_queries();
    /* The indexes served the sorts: a limit reads about what it returns. */
    int64_t b0 = docstore_storage_docs_examined(ctx.storage);
    same_on_both("{\"find\": \"%s\", \"filter\": {\"a\": {\"$gt\": 0}}, "
                 "\"sort\": {\"a\": -1}, \"limit\": 3}");
    CHECK(docstore_storage_docs_examined(ctx.storage) - b0 <= 600 + 3 + 40); /* + ties */
    b0 = docstore_storage_docs_examined(ctx.storage);
    same_on_both("{\"find\": \"%s\", \"sort\": {\"a\": 1, \"b\": -1}, \"limit\": 4}");
    CHECK(docstore_storage_docs_examined(ctx.storage) - b0 <= 600 + 4 + 40);
    int64_t before = docstore_storage_docs_examined(ctx.storage);
    same_on_both("{\"find\": \"%s\", \"sort\": {\"_id\": -1}, \"limit\": 5}");
    int64_t ix_read = docstore_storage_docs_examined(ctx.storage) - before;
    CHECK(ix_read <= 12); /* both walk _id: 5 each and the one that ends the run */
}

/* undefined (keyed as null) and decimals a double cannot hold (keyed through
 * it): the walk meets them, drops what it read and sorts in memory. */
static void test_ambiguous_keys_fall_back(void)
{
    for (int i = 600; i < 800; i++)
        insert_both(i, 1);
    run_queries();
}

/* Once an array lands on an indexed path the index is multikey: it no longer
 * serves sorts, and results stay those of the in-memory sort. */
static void test_multikey_falls_back(void)
{
    for (int i = 800; i < 1000; i++)
        insert_both(i, 2);
    run_queries();
}

static void test_limit_reads_only_what_it_returns(void)
{
    docstore_error_t err = {0};
    for (int i = 0; i < 2000; i++) {
        bson_t *d = BCON_NEW("_id", BCON_INT32(i), "k", BCON_INT32((i * 7919) % 2000));
        CHECK_INT(docstore_storage_insert(ctx.storage, "t", "big", d, &err), 0);
        bson_destroy(d);
    }
    create_index("big", "{\"key\": {\"k\": -1}, \"name\": \"k_-1\"}");
    int64_t before = docstore_storage_docs_examined(ctx.storage);
    bson_t *r = batch_of("{\"find\": \"big\", \"sort\": {\"k\": 1}, \"limit\": 10}");
    CHECK(docstore_storage_docs_examined(ctx.storage) - before <= 11);
    bson_iter_t it, v;
    CHECK(bson_iter_init(&it, r) && bson_iter_find_descendant(&it, "9.k", &v));
    CHECK_INT(bson_iter_as_int64(&v), 9);
    bson_destroy(r);
    before = docstore_storage_docs_examined(ctx.storage);
    r = batch_of("{\"aggregate\": \"big\", \"pipeline\": [{\"$match\": {\"k\": {\"$in\": "
                 "[5, 700, 9, 1999]}}}, {\"$sort\": {\"k\": -1}}, {\"$limit\": 3}], "
                 "\"cursor\": {}}");
    CHECK(docstore_storage_docs_examined(ctx.storage) - before <= 4);
    CHECK(bson_iter_init(&it, r) && bson_iter_find_descendant(&it, "2.k", &v));
    CHECK_INT(bson_iter_as_int64(&v), 9);
    bson_destroy(r);
    /* A range on the descending index narrows the walk too. */
    before = docstore_storage_docs_examined(ctx.storage);
    r = batch_of("{\"aggregate\": \"big\", \"pipeline\": [{\"$match\": {\"k\": {\"$lt\": 500}}}, "
                 "{\"$sort\": {\"k\": -1}}, {\"$limit\": 3}], \"cursor\": {}}");
    CHECK(docstore_storage_docs_examined(ctx.storage) - before <= 4);
    CHECK(bson_iter_init(&it, r) && bson_iter_find_descendant(&it, "0.k", &v));
    CHECK_INT(bson_iter_as_int64(&v), 499);
    bson_destroy(r);
    before = docstore_storage_docs_examined(ctx.storage);
    r = batch_of("{\"find\": \"big\", \"filter\": {\"k\": {\"$gt\": 1990, \"$lte\": 1995}}, "
                 "\"sort\": {\"k\": 1}}");
    CHECK_INT(docstore_storage_docs_examined(ctx.storage) - before, 5);
    CHECK(bson_iter_init(&it, r) && bson_iter_find_descendant(&it, "0.k", &v));
    CHECK_INT(bson_iter_as_int64(&v), 1991);
    CHECK_INT(bson_count_keys(r), 5);
    bson_destroy(r);
    /* An equality on the leading field, the sort on the next: {user: 3} sorted
     * by {t: -1} on {user: 1, t: -1}. */
    for (int i = 0; i < 2000; i++) {
        bson_t *d = BCON_NEW("_id", BCON_INT32(i), "user", BCON_INT32(i % 10), "t", BCON_INT32(i));
        CHECK_INT(docstore_storage_insert(ctx.storage, "t", "ev", d, &err), 0);
        bson_destroy(d);
    }
    create_index("ev", "{\"key\": {\"user\": 1, \"t\": -1}, \"name\": \"user_1_t_-1\"}");
    before = docstore_storage_docs_examined(ctx.storage);
    r = batch_of("{\"find\": \"ev\", \"filter\": {\"user\": 3}, \"sort\": {\"t\": -1}, "
                 "\"limit\": 5}");
    CHECK(docstore_storage_docs_examined(ctx.storage) - before <= 6);
    CHECK(bson_iter_init(&it, r) && bson_iter_find_descendant(&it, "4.t", &v));
    CHECK_INT(bson_iter_as_int64(&v), 1953);
    bson_destroy(r);
    before = docstore_storage_docs_examined(ctx.storage);
    r = batch_of("{\"find\": \"ev\", \"filter\": {\"user\": 3, \"t\": {\"$lt\": 100}}, "
                 "\"sort\": {\"t\": 1}, \"limit\": 2}");
    CHECK(docstore_storage_docs_examined(ctx.storage) - before <= 200);
    CHECK(bson_iter_init(&it, r) && bson_iter_find_descendant(&it, "1.t", &v));
    CHECK_INT(bson_iter_as_int64(&v), 13);
    bson_destroy(r);
    /* Unindexed: the whole collection is read, but only the top 10 are held. */
    before = docstore_storage_docs_examined(ctx.storage);
    r = batch_of("{\"find\": \"big\", \"sort\": {\"_id\": 1, \"k\": 1}, \"skip\": 2, "
                 "\"limit\": 3}");
    CHECK_INT(docstore_storage_docs_examined(ctx.storage) - before, 2000);
    CHECK(bson_iter_init(&it, r) && bson_iter_find_descendant(&it, "0._id", &v));
    CHECK_INT(bson_iter_as_int64(&v), 2);
    bson_destroy(r);
}

/* The sorter's first k equal the full sort's first k, stably. */
static void test_sorter_top_k(void)
{
    bson_t *spec = BCON_NEW("v", BCON_INT32(1));
    docstore_sort_t *s;
    docstore_error_t err = {0};
    CHECK_INT(docstore_sort_new(spec, &s, &err), 0);
    const size_t n = 3000;
    const size_t ks[] = {1, 3, 255, 256, 700, 2999, 3000, 5000, 0};
    for (size_t ki = 0; ki < sizeof ks / sizeof *ks; ki++) {
        docstore_sorter_t *st;
        CHECK_INT(docstore_sorter_new(s, ks[ki], DOCSTORE_SORT_MEMORY_LIMIT, false,
                                      DOCSTORE_SORT_FIND, &st, &err),
                  0);
        bson_t **all = calloc(n, sizeof *all);
        rng_state = 99;
        for (size_t i = 0; i < n; i++) {
            all[i] = BCON_NEW("v", BCON_INT32((int32_t)rnd(50)), "i", BCON_INT32((int32_t)i));
            /* Half the runs skip what cannot make the cut, as find does. */
            if (ki % 2 == 0 || docstore_sorter_would_keep(st, all[i]))
                CHECK_INT(docstore_sorter_add(st, bson_copy(all[i]), &err), 0);
        }
        docstore_sort_docs(s, all, n);
        docstore_doclist_t out;
        docstore_doclist_init(&out);
        CHECK_INT(docstore_sorter_finish(st, &out, &err), 0);
        size_t want = ks[ki] && ks[ki] < n ? ks[ki] : n;
        CHECK_INT(out.n, want);
        for (size_t i = 0; i < out.n && i < want; i++)
            CHECK(bson_equal(out.docs[i], all[i]));
        if (ks[ki] > 0 && ks[ki] < 256)
            CHECK(docstore_sorter_peak_bytes(st) < (ks[ki] + 256) * 100);
        docstore_doclist_free(&out);
        for (size_t i = 0; i < n; i++)
            bson_destroy(all[i]);
        free(all);
        docstore_sorter_free(st);
    }
    docstore_sort_free(s);
    bson_destroy(spec);
}

/* Past the byte budget: 292 with MongoDB's message; a top-k that fits does not fail. */
static void test_sorter_memory_bound(void)
{
    bson_t *spec = BCON_NEW("v", BCON_INT32(-1));
    docstore_sort_t *s;
    docstore_error_t err = {0};
    CHECK_INT(docstore_sort_new(spec, &s, &err), 0);
    char pad[1000];
    memset(pad, 'x', sizeof pad - 1);
    pad[sizeof pad - 1] = '\0';
    docstore_sorter_t *st;
    CHECK_INT(docstore_sorter_new(s, 0, 20000, false, DOCSTORE_SORT_FIND, &st, &err), 0);
    int rc = 0, added = 0;
    for (int i = 0; i < 100 && rc == 0; i++) {
        rc = docstore_sorter_add(st, BCON_NEW("v", BCON_INT32(i), "p", BCON_UTF8(pad)), &err);
        added += rc == 0;
    }
    CHECK_INT(rc, -1);
    CHECK_INT(err.code, 292);
    CHECK_STR(docstore_code_name(err.code), "QueryExceededMemoryLimitNoDiskUseAllowed");
    CHECK(strstr(err.msg, "Sort exceeded memory limit of 20000 bytes, but did not opt in to "
                          "external sorting.") != NULL);
    CHECK(added >= 15 && added < 20);
    CHECK(docstore_sorter_bytes(st) <= 20000);
    docstore_sorter_free(st);
    docstore_error_clear(&err);

    CHECK_INT(docstore_sorter_new(s, 5, 20000, true, DOCSTORE_SORT_AGGREGATE, &st, &err), 0);
    for (int i = 0; i < 1000; i++)
        CHECK_INT(docstore_sorter_add(st, BCON_NEW("v", BCON_INT32(i), "p", BCON_UTF8(pad)), &err),
                  0);
    CHECK(docstore_sorter_peak_bytes(st) <= 20000);
    docstore_doclist_t out;
    docstore_doclist_init(&out);
    CHECK_INT(docstore_sorter_finish(st, &out, &err), 0);
    CHECK_INT(out.n, 5);
    bson_iter_t it;
    CHECK(out.n == 5 && bson_iter_init_find(&it, out.docs[0], "v") && bson_iter_int32(&it) == 999);
    docstore_doclist_free(&out);
    docstore_sorter_free(st);

    /* k documents that alone pass the budget still fail. */
    CHECK_INT(docstore_sorter_new(s, 50, 20000, true, DOCSTORE_SORT_AGGREGATE, &st, &err), 0);
    rc = 0;
    for (int i = 0; i < 100 && rc == 0; i++)
        rc = docstore_sorter_add(st, BCON_NEW("v", BCON_INT32(i), "p", BCON_UTF8(pad)), &err);
    CHECK_INT(rc, -1);
    CHECK_INT(err.code, 292);
    CHECK(strstr(err.msg, "allowDiskUse is not supported by the docstore") != NULL);
    CHECK(strstr(err.msg, "PlanExecutor error during aggregation") != NULL);
    docstore_sorter_free(st);
    docstore_error_clear(&err);
    docstore_sort_free(s);
    bson_destroy(spec);
}

/* Runs pipeline_json over 200 documents of ~1 KB under a 50,000-byte limit;
 * returns the handler result, *n the documents out. */
static int run_bounded_pipeline(const char *pipeline_json, bool disk_use, size_t *n,
                                docstore_error_t *err)
{
    char pad[1000];
    memset(pad, 'x', sizeof pad - 1);
    pad[sizeof pad - 1] = '\0';
    docstore_doclist_t docs;
    docstore_doclist_init(&docs);
    for (int i = 0; i < 200; i++) {
        pad[0] = (char)('a' + i % 26);
        pad[1] = (char)('a' + i / 26);
        CHECK_INT(docstore_doclist_push(&docs, BCON_NEW("v", BCON_INT32(i), "g", BCON_INT32(i % 4),
                                                        "p", BCON_UTF8(pad))),
                  0);
    }
    bson_t *pipe = from_json(pipeline_json);
    docstore_pipeline_t *p = NULL;
    int rc = docstore_pipeline_new(pipe, &p, err);
    CHECK_INT(rc, 0);
    if (rc == 0) {
        docstore_pipeline_set_memory_limit(p, 50000);
        docstore_pipeline_set_disk_use(p, disk_use);
        rc = docstore_pipeline_run(p, &docs, NULL, NULL, err);
        docstore_pipeline_free(p);
    }
    *n = docs.n;
    if (rc == 0 && docs.n > 0) {
        bson_iter_t it;
        if (bson_iter_init_find(&it, docs.docs[0], "v"))
            *n += 1000 * (size_t)bson_iter_as_int64(&it); /* the first v, for checks */
    }
    docstore_doclist_free(&docs);
    bson_destroy(pipe);
    return rc;
}

/* Blocking stages of a pipeline: $sort and $group past the limit are 292;
 * $sort + $limit is a top-k within it. */
static void test_pipeline_memory_bound(void)
{
    docstore_error_t err = {0};
    size_t n;
    CHECK_INT(run_bounded_pipeline("{\"0\": {\"$sort\": {\"v\": 1}}}", false, &n, &err), -1);
    CHECK_INT(err.code, 292);
    CHECK(strstr(err.msg, "Sort exceeded memory limit of 50000 bytes, but did not opt in to "
                          "external sorting. Aborting operation. Pass allowDiskUse:true to opt "
                          "in.") != NULL);
    docstore_error_clear(&err);
    CHECK_INT(run_bounded_pipeline("{\"0\": {\"$sort\": {\"v\": -1}}, \"1\": {\"$limit\": 3}}",
                                   false, &n, &err),
              0);
    CHECK_INT(n, 199 * 1000 + 3);
    CHECK_INT(run_bounded_pipeline("{\"0\": {\"$sort\": {\"v\": 1}}, \"1\": {\"$skip\": 5}, "
                                   "\"2\": {\"$limit\": 2}}",
                                   false, &n, &err),
              0);
    CHECK_INT(n, 5 * 1000 + 2);
    CHECK_INT(
        run_bounded_pipeline("{\"0\": {\"$group\": {\"_id\": \"$g\", \"p\": {\"$push\": \"$p\"}}}}",
                             false, &n, &err),
        -1);
    CHECK_INT(err.code, 292);
    CHECK(strstr(err.msg, "Exceeded memory limit for $group, but didn't allow external sort. "
                          "Pass allowDiskUse:true to opt in.") != NULL);
    docstore_error_clear(&err);
    CHECK_INT(run_bounded_pipeline("{\"0\": {\"$group\": {\"_id\": \"$p\", \"n\": {\"$sum\": 1}}}}",
                                   true, &n, &err),
              -1);
    CHECK_INT(err.code, 292);
    CHECK(strstr(err.msg, "allowDiskUse is not supported by the docstore") != NULL);
    docstore_error_clear(&err);
    CHECK_INT(run_bounded_pipeline("{\"0\": {\"$group\": {\"_id\": \"$g\", \"s\": {\"$addToSet\": "
                                   "\"$p\"}}}}",
                                   false, &n, &err),
              -1);
    CHECK_INT(err.code, 292);
    docstore_error_clear(&err);
    CHECK_INT(run_bounded_pipeline("{\"0\": {\"$group\": {\"_id\": \"$g\", \"n\": {\"$sum\": 1}, "
                                   "\"f\": {\"$first\": \"$p\"}, \"m\": {\"$max\": \"$v\"}}}}",
                                   false, &n, &err),
              0);
    CHECK_INT(n % 1000, 4);
}

int main(void)
{
    docstore_error_t err = {0};
    if (docstore_storage_open(NULL, &ctx.storage, &err) != 0) {
        fprintf(stderr, "open: %s\n", err.msg);
        return 1;
    }
    if (docstore_cursors_new(&ctx.cursors) != 0)
        return 1;
    RUN(test_sorter_top_k);
    RUN(test_sorter_memory_bound);
    RUN(test_pipeline_memory_bound);
    RUN(test_index_sort_matches_memory_sort);
    RUN(test_ambiguous_keys_fall_back);
    RUN(test_multikey_falls_back);
    RUN(test_limit_reads_only_what_it_returns);
    docstore_cursors_free(ctx.cursors);
    docstore_storage_close(ctx.storage);
    return TEST_REPORT();
}
