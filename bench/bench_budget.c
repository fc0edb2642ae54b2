/*
 * bench_budget: what the time budget (base/deadline.h) costs the common
 * paths, in one process and one binary, so that the machine's load does not
 * drown a few percent: the same commands through docstore_command_dispatch
 * on an in-memory store, alternately with the deadline armed (maxTimeMS:
 * 600000, every scan, stage and regex check counting) and with no budget
 * (maxTimeMS absent, no server default: every check is one test of a
 * thread-local). Rows interleave the two modes round by round and report
 * the median of the rounds, in this thread's CPU time.
 *
 *   find by _id        {find, filter: {_id: k}, limit: 1, singleBatch}
 *   cursor 1,000       {find} of 1,000 documents (batch 101) then getMores
 *
 * Then streamed cursors against the materialized read they replaced, in the
 * same binary (a first batch of 0 keeps a find on the materialized path:
 * the whole result set read, then held by the cursor), both with no budget:
 *
 *   index cursor 1,000 {find, filter: {n: {$gte: 0}}, batchSize: 1} served
 *                      by the index on n, then a getMore of the 999 others;
 *                      twin: batchSize 0 and a getMore of the 1,000
 *   _id cursor 1,000   the same with {_id: {$gte: 0}}
 *   find by _id        {find, filter: {_id: k}, limit: 1} (streamed, as a
 *                      driver's find().limit(1)); twin: singleBatch (the
 *                      materialized path, as find_one)
 *   scan 100,000       {find, filter: {n: -1}} over 100,000 documents (no match)
 *   $match + $group    aggregate over the 100,000
 *
 *   bench_budget [--rounds N]
 */
#include "docstore/base/deadline.h"
#include "docstore/cmd/command.h"
#include "docstore/cmd/cursor.h"
#include "docstore/storage/storage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { NDOCS = 100000, NCURSOR = 1000 };

/* This thread's CPU time: time spent descheduled on a loaded machine does
 * not count, so the two modes compare on work done. */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int64_t reply_cursor_id(const bson_t *reply)
{
    bson_iter_t it;
    if (bson_iter_init(&it, reply) && bson_iter_find_descendant(&it, "cursor.id", &it) &&
        BSON_ITER_HOLDS_INT64(&it))
        return bson_iter_int64(&it);
    return 0;
}

/* Runs cmd (and getMores to the end); false when a reply is not ok. */
static bool run(docstore_ctx_t *ctx, const bson_t *cmd)
{
    bson_t reply = BSON_INITIALIZER;
    docstore_command_dispatch(ctx, "bench", cmd, &reply);
    bson_iter_t it;
    bool ok = bson_iter_init_find(&it, &reply, "ok") && bson_iter_as_double(&it) == 1.0;
    int64_t id = ok ? reply_cursor_id(&reply) : 0;
    bson_destroy(&reply);
    while (ok && id != 0) {
        bson_t *gm = BCON_NEW("getMore", BCON_INT64(id), "collection", "c1000");
        bson_init(&reply);
        docstore_command_dispatch(ctx, "bench", gm, &reply);
        ok = bson_iter_init_find(&it, &reply, "ok") && bson_iter_as_double(&it) == 1.0;
        id = ok ? reply_cursor_id(&reply) : 0;
        bson_destroy(&reply);
        bson_destroy(gm);
    }
    return ok;
}

typedef struct row {
    const char *name;
    const char *json; /* the command, without maxTimeMS */
    int reps;         /* commands per timed round */
} row_t;

int main(int argc, char **argv)
{
    int rounds = 15;
    if (argc == 3 && strcmp(argv[1], "--rounds") == 0)
        rounds = atoi(argv[2]);
    if (rounds < 1 || rounds > 1000) {
        fprintf(stderr, "usage: bench_budget [--rounds N]\n");
        return 2;
    }
    docstore_ctx_t ctx = {0};
    docstore_error_t e = {0};
    if (docstore_storage_open(NULL, &ctx.storage, &e) != 0 || docstore_cursors_new(&ctx.cursors))
        return 1;
    if (docstore_storage_begin(ctx.storage, "bench", &e) != 0)
        return 1;
    for (int i = 0; i < NDOCS; i++) {
        bson_t *d = BCON_NEW("_id", BCON_INT32(i), "n", BCON_INT32(i % 1000), "s",
                             BCON_UTF8("some text of a document"), "g", BCON_INT32(i % 10));
        if (docstore_storage_insert(ctx.storage, "bench", "c", d, &e) != 0 ||
            (i < NCURSOR && docstore_storage_insert(ctx.storage, "bench", "c1000", d, &e) != 0))
            return 1;
        bson_destroy(d);
    }
    if (docstore_storage_commit(ctx.storage, "bench", &e) != 0)
        return 1;
    bson_t *ci = bson_new_from_json((const uint8_t *)"{\"createIndexes\": \"c1000\", \"indexes\": "
                                                     "[{\"key\": {\"n\": 1}, \"name\": \"n_1\"}]}",
                                    -1, NULL);
    bool ci_ok = run(&ctx, ci);
    bson_destroy(ci);
    if (!ci_ok)
        return 1;

    static const row_t rows[] = {
        {"find by _id",
         "{\"find\": \"c\", \"filter\": {\"_id\": 4242}, \"limit\": 1, "
         "\"singleBatch\": true}",
         2000},
        {"cursor 1,000 docs", "{\"find\": \"c1000\"}", 20},
        {"scan 100,000 docs", "{\"find\": \"c\", \"filter\": {\"n\": -1}}", 2},
        {"$match + $group 100,000",
         "{\"aggregate\": \"c\", \"pipeline\": [{\"$match\": "
         "{\"n\": {\"$gte\": 0}}}, {\"$group\": {\"_id\": \"$g\", "
         "\"t\": {\"$sum\": \"$n\"}}}], \"cursor\": {}}",
         1},
    };
    printf("bench_budget: %d rounds, median CPU time per command; 'armed' = maxTimeMS 600000\n\n",
           rounds);
    printf("  %-26s %14s %14s %9s\n", "command", "no budget", "armed", "cost");
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        bson_t *plain = bson_new_from_json((const uint8_t *)rows[r].json, -1, NULL);
        bson_t *armed = bson_copy(plain);
        BSON_APPEND_INT32(armed, "maxTimeMS", 600000);
        double *t[2];
        t[0] = calloc((size_t)rounds, sizeof(double));
        t[1] = calloc((size_t)rounds, sizeof(double));
        if (!run(&ctx, plain) || !run(&ctx, armed)) { /* warm, and check */
            fprintf(stderr, "%s: command failed\n", rows[r].name);
            return 1;
        }
        for (int k = 0; k < rounds; k++) {
            for (int m = 0; m < 2; m++) {
                const bson_t *cmd = (k + m) % 2 ? armed : plain; /* alternate who goes first */
                int which = cmd == armed;
                double t0 = now();
                for (int i = 0; i < rows[r].reps; i++)
                    run(&ctx, cmd);
                t[which][k] = (now() - t0) / rows[r].reps;
            }
        }
        qsort(t[0], (size_t)rounds, sizeof(double), cmp_double);
        qsort(t[1], (size_t)rounds, sizeof(double), cmp_double);
        double a = t[0][rounds / 2], b = t[1][rounds / 2];
        printf("  %-26s %11.2f us %11.2f us %+8.1f%%\n", rows[r].name, a * 1e6, b * 1e6,
               (b - a) / a * 100);
        free(t[0]);
        free(t[1]);
        bson_destroy(plain);
        bson_destroy(armed);
    }
    static const row_t twins[][2] = {
        {{"index cursor 1,000 docs",
          "{\"find\": \"c1000\", \"filter\": {\"n\": {\"$gte\": 0}}, \"batchSize\": 1}", 20},
         {"", "{\"find\": \"c1000\", \"filter\": {\"n\": {\"$gte\": 0}}, \"batchSize\": 0}",
          20}},
        {{"_id cursor 1,000 docs",
          "{\"find\": \"c1000\", \"filter\": {\"_id\": {\"$gte\": 0}}, \"batchSize\": 1}", 20},
         {"", "{\"find\": \"c1000\", \"filter\": {\"_id\": {\"$gte\": 0}}, \"batchSize\": 0}",
          20}},
        {{"find by _id, limit 1", "{\"find\": \"c\", \"filter\": {\"_id\": 4242}, \"limit\": 1}",
          2000},
         {"",
          "{\"find\": \"c\", \"filter\": {\"_id\": 4242}, \"limit\": 1, \"singleBatch\": "
          "true}",
          2000}},
    };
    printf("\n  %-26s %14s %14s %9s\n", "command", "materialized", "streamed", "change");
    for (size_t r = 0; r < sizeof twins / sizeof twins[0]; r++) {
        bson_t *cmds[2];
        double *t[2];
        for (int m = 0; m < 2; m++) {
            cmds[m] = bson_new_from_json((const uint8_t *)twins[r][m].json, -1, NULL);
            t[m] = calloc((size_t)rounds, sizeof(double));
            if (cmds[m] == NULL || !run(&ctx, cmds[m])) {
                fprintf(stderr, "%s: command failed\n", twins[r][0].name);
                return 1;
            }
        }
        for (int k = 0; k < rounds; k++) {
            for (int i = 0; i < 2; i++) {
                int m = (k + i) % 2; /* alternate who goes first */
                double t0 = now();
                for (int j = 0; j < twins[r][0].reps; j++)
                    run(&ctx, cmds[m]);
                t[m][k] = (now() - t0) / twins[r][0].reps;
            }
        }
        qsort(t[0], (size_t)rounds, sizeof(double), cmp_double);
        qsort(t[1], (size_t)rounds, sizeof(double), cmp_double);
        double str = t[0][rounds / 2], mat = t[1][rounds / 2];
        printf("  %-26s %11.2f us %11.2f us %+8.1f%%\n", twins[r][0].name, mat * 1e6, str * 1e6,
               (str - mat) / mat * 100);
        for (int m = 0; m < 2; m++) {
            free(t[m]);
            bson_destroy(cmds[m]);
        }
    }
    /* What every budgeted command pays whatever its work: looking for
     * maxTimeMS in the command, arming (a clock read) and disarming. */
    bson_t *cmd = bson_new_from_json((const uint8_t *)rows[0].json, -1, NULL);
    const int n = 1000000;
    double t0 = now();
    int found = 0;
    for (int i = 0; i < n; i++) {
        bson_iter_t it;
        found += bson_iter_init_find(&it, cmd, "maxTimeMS");
        docstore_deadline_arm(1000);
        found += docstore_deadline_expired();
        docstore_deadline_disarm();
    }
    printf("\n  fixed cost per budgeted command (find maxTimeMS, arm, disarm): %.1f ns%s\n",
           (now() - t0) / n * 1e9, found ? "?" : "");
    bson_destroy(cmd);
    docstore_cursors_free(ctx.cursors);
    docstore_storage_close(ctx.storage);
    return 0;
}
