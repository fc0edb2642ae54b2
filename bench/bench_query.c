/*
 * Query engine micro-benchmark: the matcher's cost per scanned document for
 * typical filters, and sorting, on 100,000 in-memory documents. No I/O: this
 * is the CPU floor under every find, count, update and delete that scans.
 * Then find().sort().limit(10) through the find command on an in-memory
 * store of the same documents: the old way (every match materialized, then
 * sorted), the bounded top-k sort (unindexed field) and the index walk.
 * Then a query served by a partial index against the same query scanning an
 * unindexed copy, and the TTL monitor: a pass with nothing expired and
 * passes deleting half the documents.
 * Last, $lookup on 1,000 x 1,000 documents: the equality form (hash join),
 * let + pipeline ($expr correlated sub-pipeline) and both together.
 *   build/bench/bench_query [documents]
 */
#include "docstore/agg/pipeline.h"
#include "docstore/cmd/command.h"
#include "docstore/cmd/cursor.h"
#include "docstore/query/match.h"
#include "docstore/query/sort.h"
#include "docstore/storage/storage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static bson_t *make_doc(int i)
{
    char js[640];
    snprintf(
        js, sizeof js,
        "{\"_id\": %d, \"name\": \"user%d\", \"age\": %d, \"city\": \"c%d\", \"tags\": [\"t%d\", "
        "\"t%d\", \"t%d\"], \"addr\": {\"zip\": %d, \"street\": \"s\"}, \"score\": %f, "
        "\"active\": %s, \"rank\": %d, \"rank_u\": %d}",
        i, i, i % 90, i % 50, i % 7, i % 11, i % 13, i % 1000, i * 0.5, (i % 2) ? "true" : "false",
        (i * 7919) % 100003, (i * 7919) % 100003);
    return bson_new_from_json((const uint8_t *)js, -1, NULL);
}

static const char *const filters[] = {
    "{\"_id\": 500}",
    "{\"age\": {\"$gt\": 30, \"$lt\": 40}, \"active\": true}",
    "{\"tags\": \"t5\"}",
    "{\"addr.zip\": {\"$in\": [1, 2, 3, 500, 999]}}",
    "{\"name\": {\"$regex\": \"^user9\"}}",
    "{\"$or\": [{\"city\": \"c3\"}, {\"tags\": {\"$elemMatch\": {\"$eq\": \"t12\"}}}]}",
    "{\"nothere\": null}",
};

typedef struct collect {
    docstore_doclist_t all; /* a copy of every match, as find held them before */
    size_t bytes;
} collect_t;

static bool collect_cb(void *ctx, const bson_t *doc)
{
    collect_t *c = ctx;
    c->bytes += doc->len;
    return docstore_doclist_push_copy(&c->all, doc) == 0;
}

/* One find command; returns ms per run over runs, and the documents read. */
static double time_find(docstore_ctx_t *ctx, const char *json, int runs, int64_t *examined)
{
    const docstore_command_t *find = NULL;
    for (const docstore_command_t *c = docstore_crud_commands; c->name; c++) {
        if (strcmp(c->name, "find") == 0)
            find = c;
    }
    bson_t *cmd = bson_new_from_json((const uint8_t *)json, -1, NULL);
    if (find == NULL || cmd == NULL)
        return -1;
    int64_t before = docstore_storage_docs_examined(ctx->storage);
    double t0 = now();
    for (int r = 0; r < runs; r++) {
        bson_t reply = BSON_INITIALIZER;
        docstore_error_t e = {0};
        if (find->fn(ctx, "bench", cmd, &reply, &e) != 0)
            fprintf(stderr, "%s: %s\n", json, e.msg);
        bson_destroy(&reply);
        docstore_error_clear(&e);
    }
    double ms = (now() - t0) * 1e3 / runs;
    *examined = (docstore_storage_docs_examined(ctx->storage) - before) / runs;
    bson_destroy(cmd);
    return ms;
}

/* find().sort({rank: 1}).limit(10) on an indexed and an unindexed field with
 * the same values, and the old way: every match copied, then a full sort. */
static int bench_sort_limit(bson_t **docs, int n)
{
    docstore_ctx_t ctx = {0};
    docstore_error_t e = {0};
    if (docstore_storage_open(NULL, &ctx.storage, &e) != 0 || docstore_cursors_new(&ctx.cursors))
        return 1;
    if (docstore_storage_begin(ctx.storage, "bench", &e) != 0)
        return 1;
    for (int i = 0; i < n; i++) {
        if (docstore_storage_insert(ctx.storage, "bench", "c", docs[i], &e) != 0) {
            fprintf(stderr, "insert: %s\n", e.msg);
            return 1;
        }
    }
    if (docstore_storage_commit(ctx.storage, "bench", &e) != 0)
        return 1;
    bson_t *spec = bson_new_from_json(
        (const uint8_t *)"{\"key\": {\"rank\": 1}, \"name\": \"rank_1\"}", -1, NULL);
    bool created;
    if (docstore_storage_create_index(ctx.storage, "bench", "c", spec, &created, &e) != 0)
        return 1;
    bson_destroy(spec);

    /* before: the whole collection copied out, then sorted in memory */
    bson_t *sspec = bson_new_from_json((const uint8_t *)"{\"rank_u\": 1}", -1, NULL);
    docstore_sort_t *s = NULL;
    if (sspec == NULL || docstore_sort_new(sspec, &s, &e) != 0)
        return 1;
    const int runs = 5;
    double t0 = now();
    size_t bytes = 0;
    for (int r = 0; r < runs; r++) {
        collect_t c = {.bytes = 0};
        docstore_doclist_init(&c.all);
        if (docstore_storage_scan(ctx.storage, "bench", "c", NULL, collect_cb, &c, &e) != 0)
            return 1;
        docstore_sort_docs(s, c.all.docs, c.all.n);
        bytes = c.bytes;
        docstore_doclist_free(&c.all);
    }
    printf("sort+limit 10, before (all %d matches held, %.1f MB, full sort): %8.2f ms\n", n,
           (double)bytes / 1e6, (now() - t0) * 1e3 / runs);
    docstore_sort_free(s);
    bson_destroy(sspec);

    int64_t ex;
    double ms =
        time_find(&ctx, "{\"find\": \"c\", \"sort\": {\"rank_u\": 1}, \"limit\": 10}", runs, &ex);
    printf("sort+limit 10, unindexed field (top-k sort, 10 held):         %8.2f ms, %lld read\n",
           ms, (long long)ex);
    ms = time_find(&ctx, "{\"find\": \"c\", \"sort\": {\"rank\": 1}, \"limit\": 10}", 200, &ex);
    printf("sort+limit 10, indexed field (index walk, no sort):           %8.3f ms, %lld read\n",
           ms, (long long)ex);
    ms = time_find(&ctx, "{\"find\": \"c\", \"sort\": {\"rank\": -1}, \"limit\": 10}", 200, &ex);
    printf("sort+limit 10, indexed field reversed:                        %8.3f ms, %lld read\n",
           ms, (long long)ex);
    ms = time_find(&ctx,
                   "{\"find\": \"c\", \"filter\": {\"age\": 30}, \"sort\": {\"rank\": 1}, "
                   "\"limit\": 10}",
                   20, &ex);
    printf("sort+limit 10, indexed, filter {age: 30} (1 in 90 match):     %8.3f ms, %lld read\n",
           ms, (long long)ex);
    ms = time_find(&ctx,
                   "{\"find\": \"c\", \"filter\": {\"age\": 30}, \"sort\": {\"rank_u\": 1}, "
                   "\"limit\": 10}",
                   runs, &ex);
    printf("sort+limit 10, unindexed, filter {age: 30}:                   %8.3f ms, %lld read\n",
           ms, (long long)ex);
    spec = bson_new_from_json(
        (const uint8_t *)"{\"key\": {\"city\": 1, \"rank\": -1}, \"name\": \"city_rank\"}", -1,
        NULL);
    if (spec == NULL ||
        docstore_storage_create_index(ctx.storage, "bench", "c", spec, &created, &e) != 0)
        return 1;
    bson_destroy(spec);
    ms = time_find(&ctx,
                   "{\"find\": \"c\", \"filter\": {\"city\": \"c3\"}, \"sort\": {\"rank\": 1}, "
                   "\"limit\": 10}",
                   200, &ex);
    printf("sort+limit 10, {city: \"c3\"} on {city: 1, rank: -1} (1 in 50): %8.3f ms, %lld read\n",
           ms, (long long)ex);
    docstore_cursors_free(ctx.cursors);
    docstore_storage_close(ctx.storage);
    return 0;
}

static int insert_all(docstore_ctx_t *ctx, const char *coll, bson_t **docs, int n)
{
    docstore_error_t e = {0};
    if (docstore_storage_begin(ctx->storage, "bench", &e) != 0)
        return -1;
    for (int i = 0; i < n; i++) {
        if (docstore_storage_insert(ctx->storage, "bench", coll, docs[i], &e) != 0) {
            fprintf(stderr, "insert: %s\n", e.msg);
            return -1;
        }
    }
    return docstore_storage_commit(ctx->storage, "bench", &e);
}

static int create_index(docstore_ctx_t *ctx, const char *coll, const char *json)
{
    docstore_error_t e = {0};
    bson_t *spec = bson_new_from_json((const uint8_t *)json, -1, NULL);
    bool created;
    int rc =
        spec ? docstore_storage_create_index(ctx->storage, "bench", coll, spec, &created, &e) : -1;
    if (rc != 0)
        fprintf(stderr, "%s: %s\n", json, e.msg);
    if (spec)
        bson_destroy(spec);
    return rc;
}

/* A query served by a partial index ({city: 1}, only active documents)
 * against the same query on an unindexed copy; then the TTL monitor over n
 * documents with a TTL index, half of them expired. */
static int bench_partial_ttl(bson_t **docs, int n)
{
    docstore_ctx_t ctx = {0};
    docstore_error_t e = {0};
    docstore_storage_set_filter_ops(&docstore_partial_filter_ops);
    if (docstore_storage_open(NULL, &ctx.storage, &e) != 0 || docstore_cursors_new(&ctx.cursors))
        return 1;
    if (insert_all(&ctx, "part", docs, n) || insert_all(&ctx, "scan", docs, n) ||
        create_index(&ctx, "part",
                     "{\"key\": {\"city\": 1}, \"name\": \"city_active\", "
                     "\"partialFilterExpression\": {\"active\": true}}"))
        return 1;
    int64_t ex;
    double ms = time_find(&ctx,
                          "{\"find\": \"part\", \"filter\": {\"city\": \"c3\", "
                          "\"active\": true}, \"batchSize\": 10000}",
                          20, &ex);
    printf("find {city: \"c3\", active: true}, partial index:       %8.3f ms, %lld read\n", ms,
           (long long)ex);
    ms = time_find(&ctx,
                   "{\"find\": \"scan\", \"filter\": {\"city\": \"c3\", "
                   "\"active\": true}, \"batchSize\": 10000}",
                   5, &ex);
    printf("find {city: \"c3\", active: true}, collection scan:     %8.3f ms, %lld read\n", ms,
           (long long)ex);
    ms = time_find(&ctx,
                   "{\"find\": \"part\", \"filter\": {\"city\": \"c3\"}, "
                   "\"batchSize\": 10000}",
                   5, &ex);
    printf("find {city: \"c3\"} (not implying the filter): scan  %8.3f ms, %lld read\n", ms,
           (long long)ex);

    /* TTL: n documents, odd ones expired an hour ago, even ones in an hour. */
    int64_t now_ms = (int64_t)time(NULL) * 1000;
    bson_t **tdocs = malloc((size_t)n * sizeof *tdocs);
    if (tdocs == NULL)
        return 1;
    for (int i = 0; i < n; i++) {
        tdocs[i] = bson_new();
        BSON_APPEND_INT32(tdocs[i], "_id", i);
        BSON_APPEND_DATE_TIME(tdocs[i], "at", now_ms + ((i % 2) ? -3600000 : 3600000));
        BSON_APPEND_UTF8(tdocs[i], "pad", "a session's worth of data, more or less");
    }
    if (insert_all(&ctx, "ttl", tdocs, n) ||
        create_index(&ctx, "ttl",
                     "{\"key\": {\"at\": 1}, \"name\": \"at_1\", "
                     "\"expireAfterSeconds\": 0}"))
        return 1;
    bool more = false;
    double t0 = now();
    if (docstore_storage_ttl_pass(ctx.storage, now_ms - 7200000, &more, &e) != 0)
        return 1;
    printf("TTL pass, %d documents, none expired:               %8.3f ms\n", n, (now() - t0) * 1e3);
    int64_t passes, deleted;
    int npass = 0;
    t0 = now();
    do {
        if (docstore_storage_ttl_pass(ctx.storage, now_ms, &more, &e) != 0) {
            fprintf(stderr, "ttl: %s\n", e.msg);
            return 1;
        }
        npass++;
    } while (more);
    double dt = now() - t0;
    docstore_storage_ttl_stats(ctx.storage, &passes, &deleted);
    printf("TTL passes deleting %lld of %d documents (%d passes): %8.1f ms, %.2f us/document\n",
           (long long)deleted, n, npass, dt * 1e3, deleted ? dt * 1e6 / (double)deleted : 0);
    for (int i = 0; i < n; i++)
        bson_destroy(tdocs[i]);
    free(tdocs);
    docstore_cursors_free(ctx.cursors);
    docstore_storage_close(ctx.storage);
    return 0;
}

/* The foreign side of the $lookup benchmark: 1,000 customers. */
static int lookup_reader(void *ctx, const char *coll, docstore_doclist_t *out,
                         docstore_error_t *err)
{
    (void)ctx;
    (void)coll;
    (void)err;
    for (int i = 0; i < 1000; i++) {
        bson_t *d = BCON_NEW("_id", BCON_INT32(i), "name", BCON_UTF8("customer"), "tier",
                             BCON_INT32(i % 3));
        if (docstore_doclist_push(out, d) != 0)
            return -1;
    }
    return 0;
}

/* $lookup of 1,000 orders against 1,000 customers, each order matching one. */
static int bench_lookup_pipeline(void)
{
    static const char *const specs[] = {
        "[{\"$lookup\": {\"from\": \"c\", \"localField\": \"cust\", \"foreignField\": "
        "\"_id\", \"as\": \"c\"}}]",
        "[{\"$lookup\": {\"from\": \"c\", \"let\": {\"cid\": \"$cust\"}, \"pipeline\": "
        "[{\"$match\": {\"$expr\": {\"$eq\": [\"$_id\", \"$$cid\"]}}}], \"as\": \"c\"}}]",
        "[{\"$lookup\": {\"from\": \"c\", \"localField\": \"cust\", \"foreignField\": "
        "\"_id\", \"let\": {\"q\": \"$qty\"}, \"pipeline\": [{\"$project\": {\"name\": 1, "
        "\"q\": \"$$q\"}}], \"as\": \"c\"}}]",
        "[{\"$lookup\": {\"from\": \"c\", \"let\": {\"cid\": \"$cust\"}, \"pipeline\": "
        "[{\"$match\": {\"$expr\": {\"$or\": [{\"$eq\": [\"$_id\", \"$$cid\"]}, {\"$lt\": "
        "[\"$tier\", 0]}]}}}], \"as\": \"c\"}}]",
    };
    static const char *const names[] = {"localField/foreignField (hash join)",
                                        "let + pipeline, $expr $eq (correlated)",
                                        "localField/foreignField + let + pipeline",
                                        "let + pipeline, $expr $or (not probed)"};
    for (size_t k = 0; k < 4; k++) {
        bson_error_t be;
        bson_t *spec = bson_new_from_json((const uint8_t *)specs[k], -1, &be);
        docstore_pipeline_t *p = NULL;
        docstore_error_t e = {0};
        if (spec == NULL || docstore_pipeline_new(spec, &p, &e) != 0) {
            fprintf(stderr, "lookup %zu: %s %s\n", k, be.message, e.msg);
            return 1;
        }
        docstore_doclist_t docs;
        docstore_doclist_init(&docs);
        for (int i = 0; i < 1000; i++) {
            bson_t *d = BCON_NEW("_id", BCON_INT32(i), "cust", BCON_INT32((i * 7) % 1000), "qty",
                                 BCON_INT32(i % 5));
            if (docstore_doclist_push(&docs, d) != 0)
                return 1;
        }
        double t0 = now();
        if (docstore_pipeline_run(p, &docs, lookup_reader, NULL, &e) != 0) {
            fprintf(stderr, "lookup %zu: %s\n", k, e.msg);
            return 1;
        }
        printf("$lookup 1,000 x 1,000, %-42s %8.2f ms (%zu out)\n", names[k], (now() - t0) * 1e3,
               docs.n);
        docstore_doclist_free(&docs);
        docstore_pipeline_free(p);
        bson_destroy(spec);
    }
    return 0;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 100000;
    if (n <= 0)
        n = 100000;
    bson_t **docs = malloc((size_t)n * sizeof *docs);
    if (docs == NULL)
        return 1;
    for (int i = 0; i < n; i++)
        docs[i] = make_doc(i);
    printf("%d documents\n", n);
    for (size_t f = 0; f < sizeof filters / sizeof filters[0]; f++) {
        bson_t *fb = bson_new_from_json((const uint8_t *)filters[f], -1, NULL);
        docstore_matcher_t *m = NULL;
        docstore_error_t e = {0};
        if (fb == NULL || docstore_matcher_new(fb, &m, &e) != 0) {
            fprintf(stderr, "%s: %s\n", filters[f], e.msg);
            return 1;
        }
        long hits = 0;
        double t0 = now();
        for (int r = 0; r < 5; r++)
            for (int i = 0; i < n; i++)
                hits += docstore_matcher_matches(m, docs[i], NULL);
        double dt = now() - t0;
        printf("match %-70s %7.1f ns/doc (%ld matches)\n", filters[f], dt / (5.0 * n) * 1e9,
               hits / 5);
        docstore_matcher_free(m);
        bson_destroy(fb);
    }
    bson_t *spec = bson_new_from_json((const uint8_t *)"{\"age\": 1, \"score\": -1}", -1, NULL);
    docstore_sort_t *s = NULL;
    docstore_error_t e = {0};
    if (spec == NULL || docstore_sort_new(spec, &s, &e) != 0)
        return 1;
    double t0 = now();
    docstore_sort_docs(s, docs, (size_t)n);
    printf("sort {age: 1, score: -1}: %.1f ms\n", (now() - t0) * 1e3);
    docstore_sort_free(s);
    bson_destroy(spec);
    int rc = bench_sort_limit(docs, n);
    if (rc == 0)
        rc = bench_partial_ttl(docs, n);
    if (rc == 0)
        rc = bench_lookup_pipeline();
    for (int i = 0; i < n; i++)
        bson_destroy(docs[i]);
    free(docs);
    return rc;
}
