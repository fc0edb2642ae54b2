/*
 * Query engine micro-benchmark: the matcher's cost per scanned document for
 * typical filters, and sorting, on 100,000 in-memory documents. No I/O: this
 * is the CPU floor under every find, count, update and delete that scans.
 *   build/bench/bench_query [documents]
 */
#include "docstore/match.h"
#include "docstore/sort.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static bson_t *make_doc(int i)
{
    char js[512];
    snprintf(
        js, sizeof js,
        "{\"_id\": %d, \"name\": \"user%d\", \"age\": %d, \"city\": \"c%d\", \"tags\": [\"t%d\", "
        "\"t%d\", \"t%d\"], \"addr\": {\"zip\": %d, \"street\": \"s\"}, \"score\": %f, "
        "\"active\": %s}",
        i, i, i % 90, i % 50, i % 7, i % 11, i % 13, i % 1000, i * 0.5, (i % 2) ? "true" : "false");
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
    for (int i = 0; i < n; i++)
        bson_destroy(docs[i]);
    free(docs);
    return 0;
}
