/*
 * explain: the `explain` command around find, aggregate, count, distinct,
 * update, delete and findAndModify, and `aggregate` with `explain: true`.
 * The plan is the storage planner's own choice (docstore_storage_explain:
 * the index it reads, with its bounds, or a collection scan), wrapped in the
 * stages the command layer adds (SORT when no index serves the sort, SKIP,
 * LIMIT, PROJECTION_*, UPDATE/DELETE). With verbosity executionStats or
 * allPlansExecution the read part is run through the real command handler
 * (writes are not performed: their filter is read as a find) and the
 * documents it examined (the storage's counter), returned and its time are
 * reported. There is one plan per query, so rejectedPlans is always empty.
 */
#include "docstore/cmd/cmd_explain.h"

#include "docstore/agg/pipeline.h"
#include "docstore/base/clock.h"
#include "docstore/cmd/cmd_coll_options.h"
#include "docstore/cmd/cmd_util.h"
#include "docstore/query/match.h"
#include "docstore/query/sort.h"
#include "docstore/storage/storage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NS_MAX      300
#define DRAIN_BATCH 1000000

typedef enum verbosity {
    VERB_PLANNER = 0,   /* queryPlanner */
    VERB_EXEC = 1,      /* executionStats */
    VERB_ALL_PLANS = 2, /* allPlansExecution */
} verbosity_t;

/* What running the read part gave. */
typedef struct exec_stats {
    int64_t returned; /* documents the command returned */
    int64_t examined; /* documents the storage handed out */
    int64_t millis;   /* wall time of the run */
} exec_stats_t;

static int parse_verbosity(const bson_t *cmd, verbosity_t *out, docstore_error_t *err)
{
    bson_iter_t it;
    *out = VERB_ALL_PLANS;
    if (!bson_iter_init_find(&it, cmd, "verbosity"))
        return 0;
    const char *v = BSON_ITER_HOLDS_UTF8(&it) ? bson_iter_utf8(&it, NULL) : "";
    if (strcmp(v, "queryPlanner") == 0)
        *out = VERB_PLANNER;
    else if (strcmp(v, "executionStats") == 0)
        *out = VERB_EXEC;
    else if (strcmp(v, "allPlansExecution") == 0)
        *out = VERB_ALL_PLANS;
    else {
        docstore_error_set(err, DOCSTORE_BAD_VALUE,
                           "verbosity string must be one of {'queryPlanner', 'executionStats', "
                           "'allPlansExecution'}");
        return -1;
    }
    return 0;
}

/* Copies cmd without the fields named in skip (NULL-terminated). */
static void copy_except(const bson_t *cmd, const char *const *skip, bson_t *out)
{
    bson_iter_t it;
    if (!bson_iter_init(&it, cmd))
        return;
    while (bson_iter_next(&it)) {
        bool drop = false;
        for (size_t i = 0; skip[i] != NULL && !drop; i++)
            drop = strcmp(bson_iter_key(&it), skip[i]) == 0;
        if (!drop)
            bson_append_iter(out, NULL, 0, &it);
    }
}

/* Counts the documents of a cursor reply ({cursor: {id, firstBatch}}) and
 * drains the cursor with getMore. */
static int drain(docstore_ctx_t *ctx, const char *db, const bson_t *reply, const char *coll,
                 int64_t *n, docstore_error_t *err)
{
    bson_iter_t it, batch;
    int64_t id = 0;
    if (bson_iter_init(&it, reply) && bson_iter_find_descendant(&it, "cursor.id", &batch))
        id = bson_iter_as_int64(&batch);
    if (bson_iter_init(&it, reply) && bson_iter_find_descendant(&it, "cursor.firstBatch", &batch) &&
        BSON_ITER_HOLDS_ARRAY(&batch)) {
        bson_iter_t el;
        bson_iter_recurse(&batch, &el);
        while (bson_iter_next(&el))
            (*n)++;
    }
    const docstore_command_t *gm = docstore_command_find("getMore");
    while (id != 0 && gm != NULL) {
        bson_t *cmd = BCON_NEW("getMore", BCON_INT64(id), "collection", BCON_UTF8(coll),
                               "batchSize", BCON_INT64(DRAIN_BATCH));
        bson_t r = BSON_INITIALIZER;
        int rc = gm->fn(ctx, db, cmd, &r, err);
        bson_destroy(cmd);
        id = 0;
        if (rc == 0 && bson_iter_init(&it, &r) &&
            bson_iter_find_descendant(&it, "cursor.id", &batch))
            id = bson_iter_as_int64(&batch);
        if (rc == 0 && bson_iter_init(&it, &r) &&
            bson_iter_find_descendant(&it, "cursor.nextBatch", &batch) &&
            BSON_ITER_HOLDS_ARRAY(&batch)) {
            bson_iter_t el;
            bson_iter_recurse(&batch, &el);
            while (bson_iter_next(&el))
                (*n)++;
        }
        bson_destroy(&r);
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* Runs a read command (find or aggregate, already given a large batch
 * size) through its handler and measures it. */
static int run_read(docstore_ctx_t *ctx, const char *db, const char *name, const bson_t *cmd,
                    const char *coll, exec_stats_t *st, docstore_error_t *err)
{
    const docstore_command_t *c = docstore_command_find(name);
    if (c == NULL) {
        docstore_error_set(err, DOCSTORE_COMMAND_NOT_FOUND, "no such command: '%s'", name);
        return -1;
    }
    int64_t ex0 = docstore_storage_docs_examined(ctx->storage);
    int64_t t0 = docstore_now_ms();
    bson_t r = BSON_INITIALIZER;
    int rc = c->fn(ctx, db, cmd, &r, err);
    if (rc == 0 && strcmp(name, "find") != 0 && strcmp(name, "aggregate") != 0) {
        bson_iter_t it;
        if (bson_iter_init_find(&it, &r, "values") && BSON_ITER_HOLDS_ARRAY(&it)) {
            bson_iter_t el;
            bson_iter_recurse(&it, &el);
            while (bson_iter_next(&el))
                st->returned++;
        }
    } else if (rc == 0) {
        rc = drain(ctx, db, &r, coll, &st->returned, err);
    }
    bson_destroy(&r);
    st->millis = docstore_now_ms() - t0;
    st->examined = docstore_storage_docs_examined(ctx->storage) - ex0;
    return rc;
}

/* The access stages for filter and (optional) sort spec; *blocking: a
 * SORT stage is needed above them. */
static int access_plan(docstore_ctx_t *ctx, const char *db, const char *coll, const bson_t *filter,
                       const bson_t *sort, const bson_t *cmd, bson_t *out, bool *blocking,
                       docstore_error_t *err)
{
    /* The planner picks indexes by the command's collation, as it runs. */
    docstore_collation_t *cl = NULL;
    if (docstore_cmd_collation(ctx->storage, db, coll, cmd, &cl, err) != 0)
        return -1;
    bson_t qc_spec;
    const bson_t *qc = docstore_cmd_collation_spec(cl, &qc_spec);
    docstore_collation_free(cl);
    const char *fields[32];
    int dirs[32];
    size_t n = 0;
    docstore_sort_t *s = NULL;
    *blocking = false;
    bson_iter_t it;
    bool natural = sort != NULL && bson_iter_init(&it, sort) && bson_iter_next(&it) &&
                   strcmp(bson_iter_key(&it), "$natural") == 0;
    if (sort != NULL && !bson_empty(sort) && !natural) {
        if (docstore_sort_new(sort, &s, err) != 0) {
            if (qc != NULL)
                bson_destroy(&qc_spec);
            return -1;
        }
        n = docstore_sort_nfields(s);
        for (size_t i = 0; i < n && i < 32; i++)
            fields[i] = docstore_sort_field(s, i, &dirs[i]);
    }
    bool served = false;
    int rc = docstore_storage_explain_coll(ctx->storage, db, coll, filter, qc, fields, dirs,
                                           n <= 32 ? n : 0, out, &served, err);
    if (qc != NULL)
        bson_destroy(&qc_spec);
    *blocking = n > 0 && !served;
    docstore_sort_free(s);
    bson_iter_t st;
    if (rc == 0 && natural && bson_iter_init(&it, sort) && bson_iter_next(&it) &&
        bson_iter_as_int64(&it) < 0 && bson_iter_init_find(&st, out, "stage") &&
        strcmp(bson_iter_utf8(&st, NULL), "COLLSCAN") == 0) {
        /* {$natural: -1}: the scan's order reversed */
        static const char *const skip[] = {"direction", NULL};
        bson_t copy = BSON_INITIALIZER;
        copy_except(out, skip, &copy);
        BSON_APPEND_UTF8(&copy, "direction", "backward");
        bson_reinit(out);
        bson_concat(out, &copy);
        bson_destroy(&copy);
    }
    return rc;
}

/* Wraps the document inner (a stage) in a new stage named name. */
static void wrap(bson_t *plan, const char *name, const char *k1, const bson_value_t *v1)
{
    bson_t w = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&w, "stage", name);
    if (k1 != NULL && v1 != NULL)
        bson_append_value(&w, k1, -1, v1);
    BSON_APPEND_DOCUMENT(&w, "inputStage", plan);
    bson_reinit(plan);
    bson_concat(plan, &w);
    bson_destroy(&w);
}

static void wrap_int(bson_t *plan, const char *name, const char *key, int64_t n)
{
    bson_value_t v = {.value_type = BSON_TYPE_INT64};
    v.value.v_int64 = n;
    if (n >= INT32_MIN && n <= INT32_MAX) {
        v.value_type = BSON_TYPE_INT32;
        v.value.v_int32 = (int32_t)n;
    }
    wrap(plan, name, key, &v);
}

/* The find-shaped plan: [PROJECTION] [LIMIT] [SKIP] [SORT] access. */
static int find_plan(docstore_ctx_t *ctx, const char *db, const char *coll, const bson_t *filter,
                     const bson_t *sort, const bson_t *proj, int64_t skip, int64_t limit,
                     const bson_t *cmd, bson_t *plan, docstore_error_t *err)
{
    bool blocking;
    docstore_matcher_t *m = NULL; /* a bad filter fails as the command would */
    if (docstore_matcher_new(filter, &m, err) != 0)
        return -1;
    docstore_matcher_free(m);
    if (access_plan(ctx, db, coll, filter, sort, cmd, plan, &blocking, err) != 0)
        return -1;
    if (blocking) {
        bson_t w = BSON_INITIALIZER;
        BSON_APPEND_UTF8(&w, "stage", "SORT");
        BSON_APPEND_DOCUMENT(&w, "sortPattern", sort);
        BSON_APPEND_INT64(&w, "memLimit", 104857600);
        if (limit > 0)
            BSON_APPEND_INT64(&w, "limitAmount", skip + limit);
        BSON_APPEND_UTF8(&w, "type", "simple");
        BSON_APPEND_DOCUMENT(&w, "inputStage", plan);
        bson_reinit(plan);
        bson_concat(plan, &w);
        bson_destroy(&w);
    }
    if (skip > 0)
        wrap_int(plan, "SKIP", "skipAmount", skip);
    if (limit > 0 && !blocking)
        wrap_int(plan, "LIMIT", "limitAmount", limit);
    if (proj != NULL && !bson_empty(proj)) {
        bson_value_t v = {.value_type = BSON_TYPE_DOCUMENT};
        v.value.v_doc.data = (uint8_t *)(uintptr_t)bson_get_data(proj);
        v.value.v_doc.data_len = proj->len;
        wrap(plan, "PROJECTION_DEFAULT", "transformBy", &v);
    }
    return 0;
}

/* A count as MongoDB types it: int32 while it fits. */
static void append_count(bson_t *b, const char *key, int64_t n)
{
    if (n >= INT32_MIN && n <= INT32_MAX)
        bson_append_int32(b, key, -1, (int32_t)n);
    else
        bson_append_int64(b, key, -1, n);
}

/* Copies a plan stage tree with execution figures on each stage. */
static void annotate(const bson_t *stage, const exec_stats_t *st, bool top, bson_t *out)
{
    bson_iter_t it;
    const char *name = "";
    if (bson_iter_init_find(&it, stage, "stage") && BSON_ITER_HOLDS_UTF8(&it))
        name = bson_iter_utf8(&it, NULL);
    bool scan = strcmp(name, "COLLSCAN") == 0 || strcmp(name, "FETCH") == 0;
    bool ix = strcmp(name, "IXSCAN") == 0;
    if (!bson_iter_init(&it, stage))
        return;
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "inputStage") == 0 && BSON_ITER_HOLDS_DOCUMENT(&it)) {
            uint32_t len;
            const uint8_t *data;
            bson_iter_document(&it, &len, &data);
            bson_t in, sub;
            if (!bson_init_static(&in, data, len))
                continue;
            BSON_APPEND_DOCUMENT_BEGIN(out, "inputStage", &sub);
            annotate(&in, st, false, &sub);
            bson_append_document_end(out, &sub);
            continue;
        }
        if (strcmp(k, "inputStages") == 0 && BSON_ITER_HOLDS_ARRAY(&it)) {
            bson_iter_t el;
            bson_t arr;
            bson_iter_recurse(&it, &el);
            BSON_APPEND_ARRAY_BEGIN(out, "inputStages", &arr);
            while (bson_iter_next(&el)) {
                uint32_t len;
                const uint8_t *data;
                bson_t in, sub;
                if (!BSON_ITER_HOLDS_DOCUMENT(&el))
                    continue;
                bson_iter_document(&el, &len, &data);
                if (!bson_init_static(&in, data, len))
                    continue;
                bson_append_document_begin(&arr, bson_iter_key(&el), -1, &sub);
                annotate(&in, st, false, &sub);
                bson_append_document_end(&arr, &sub);
            }
            bson_append_array_end(out, &arr);
            continue;
        }
        bson_append_iter(out, NULL, 0, &it);
        if (strcmp(k, "stage") == 0) {
            append_count(out, "nReturned",
                              top ? st->returned : (scan || ix ? st->examined : st->returned));
            append_count(out, "executionTimeMillisEstimate", top ? st->millis : 0);
            if (scan)
                append_count(out, "docsExamined", st->examined);
            if (ix)
                append_count(out, "keysExamined", st->examined);
        }
    }
}

/* A stage tree's IXSCAN count, for totalKeysExamined. */
static bool uses_index(const bson_t *plan)
{
    char *json = bson_as_relaxed_extended_json(plan, NULL);
    bool r = json != NULL && strstr(json, "\"IXSCAN\"") != NULL;
    bson_free(json);
    return r;
}

static void append_planner(const char *ns, const bson_t *filter, const bson_t *plan, bson_t *out)
{
    bson_t qp, rej;
    BSON_APPEND_DOCUMENT_BEGIN(out, "queryPlanner", &qp);
    BSON_APPEND_UTF8(&qp, "namespace", ns);
    BSON_APPEND_BOOL(&qp, "indexFilterSet", false);
    bson_t empty = BSON_INITIALIZER;
    BSON_APPEND_DOCUMENT(&qp, "parsedQuery", filter ? filter : &empty);
    BSON_APPEND_BOOL(&qp, "maxIndexedOrSolutionsReached", false);
    BSON_APPEND_BOOL(&qp, "maxIndexedAndSolutionsReached", false);
    BSON_APPEND_BOOL(&qp, "maxScansToExplodeReached", false);
    BSON_APPEND_DOCUMENT(&qp, "winningPlan", plan);
    BSON_APPEND_ARRAY_BEGIN(&qp, "rejectedPlans", &rej);
    bson_append_array_end(&qp, &rej);
    bson_append_document_end(out, &qp);
    bson_destroy(&empty);
}

static void append_exec(const bson_t *plan, const exec_stats_t *st, verbosity_t verb, bson_t *out)
{
    bson_t es, stages, all;
    BSON_APPEND_DOCUMENT_BEGIN(out, "executionStats", &es);
    BSON_APPEND_BOOL(&es, "executionSuccess", true);
    append_count(&es, "nReturned", st->returned);
    append_count(&es, "executionTimeMillis", st->millis);
    append_count(&es, "totalKeysExamined", uses_index(plan) ? st->examined : 0);
    append_count(&es, "totalDocsExamined", st->examined);
    BSON_APPEND_DOCUMENT_BEGIN(&es, "executionStages", &stages);
    annotate(plan, st, true, &stages);
    bson_append_document_end(&es, &stages);
    if (verb == VERB_ALL_PLANS) {
        BSON_APPEND_ARRAY_BEGIN(&es, "allPlansExecution", &all);
        bson_append_array_end(&es, &all);
    }
    bson_append_document_end(out, &es);
}

static void append_server_info(const bson_t *inner, const char *db, bson_t *reply)
{
    bson_t si, cmd;
    char host[256] = "localhost";
    if (gethostname(host, sizeof host) != 0)
        strcpy(host, "localhost");
    host[sizeof host - 1] = '\0';
    BSON_APPEND_DOCUMENT_BEGIN(reply, "command", &cmd);
    bson_concat(&cmd, inner);
    if (!docstore_cmd_has(inner, "$db"))
        BSON_APPEND_UTF8(&cmd, "$db", db);
    bson_append_document_end(reply, &cmd);
    BSON_APPEND_DOCUMENT_BEGIN(reply, "serverInfo", &si);
    BSON_APPEND_UTF8(&si, "host", host);
    BSON_APPEND_UTF8(&si, "version", "6.0.0");
    BSON_APPEND_UTF8(&si, "gitVersion", "tether");
    bson_append_document_end(reply, &si);
}

/* The explain of a read of db.coll (find, count, distinct): the planner's
 * part, the execution statistics unless verb is queryPlanner, the command
 * and the server. */
static void append_read_explain(const char *db, const char *coll, const bson_t *filter,
                                const bson_t *plan, const exec_stats_t *st, verbosity_t verb,
                                const bson_t *inner, bson_t *reply)
{
    char ns[NS_MAX];
    docstore_cmd_ns(ns, sizeof ns, db, coll);
    BSON_APPEND_UTF8(reply, "explainVersion", "1");
    append_planner(ns, filter, plan, reply);
    if (verb != VERB_PLANNER)
        append_exec(plan, st, verb, reply);
    append_server_info(inner, db, reply);
}

/* ---- find, count, distinct ---- */

static int explain_find(docstore_ctx_t *ctx, const char *db, const bson_t *inner, verbosity_t verb,
                        bson_t *reply, docstore_error_t *err)
{
    const char *coll;
    bson_t filter, sort, proj;
    bool has_filter, has_sort, has_proj;
    int64_t skip, limit;
    if (docstore_cmd_coll(inner, &coll, err) ||
        docstore_cmd_doc(inner, "find", "filter", &filter, &has_filter, err) ||
        docstore_cmd_doc(inner, "find", "sort", &sort, &has_sort, err) ||
        docstore_cmd_doc(inner, "find", "projection", &proj, &has_proj, err) ||
        docstore_cmd_int64(inner, "find", "skip", 0, &skip, err) ||
        docstore_cmd_int64(inner, "find", "limit", 0, &limit, err))
        return -1;
    if (limit < 0)
        limit = -limit;
    bson_t plan = BSON_INITIALIZER;
    int rc = find_plan(ctx, db, coll, has_filter ? &filter : NULL, has_sort ? &sort : NULL,
                       has_proj ? &proj : NULL, skip, limit, inner, &plan, err);
    exec_stats_t st = {0};
    if (rc == 0 && verb != VERB_PLANNER) {
        static const char *const skipf[] = {"batchSize", "singleBatch", "$db", "lsid", NULL};
        bson_t cmd = BSON_INITIALIZER;
        copy_except(inner, skipf, &cmd);
        BSON_APPEND_INT64(&cmd, "batchSize", DRAIN_BATCH);
        rc = run_read(ctx, db, "find", &cmd, coll, &st, err);
        bson_destroy(&cmd);
    }
    if (rc == 0)
        append_read_explain(db, coll, has_filter ? &filter : NULL, &plan, &st, verb, inner, reply);
    bson_destroy(&plan);
    return rc;
}

static int explain_count_distinct(docstore_ctx_t *ctx, const char *db, const char *name,
                                  const bson_t *inner, verbosity_t verb, bson_t *reply,
                                  docstore_error_t *err)
{
    const char *coll;
    bson_t filter;
    bool has_filter;
    bool count = strcmp(name, "count") == 0;
    if (docstore_cmd_coll(inner, &coll, err) ||
        docstore_cmd_doc(inner, name, "query", &filter, &has_filter, err))
        return -1;
    bson_t plan = BSON_INITIALIZER;
    bool blocking;
    int rc =
        access_plan(ctx, db, coll, has_filter ? &filter : NULL, NULL, inner, &plan, &blocking, err);
    if (rc == 0 && count) {
        int64_t skip = 0, limit = 0;
        if (docstore_cmd_int64(inner, "count", "skip", 0, &skip, err) ||
            docstore_cmd_int64(inner, "count", "limit", 0, &limit, err))
            rc = -1;
        if (rc == 0 && skip > 0)
            wrap_int(&plan, "SKIP", "skipAmount", skip);
        if (rc == 0 && limit != 0)
            wrap_int(&plan, "LIMIT", "limitAmount", limit < 0 ? -limit : limit);
        if (rc == 0)
            wrap(&plan, "COUNT", NULL, NULL);
    } else if (rc == 0) {
        wrap(&plan, "PROJECTION_DEFAULT", NULL, NULL);
    }
    exec_stats_t st = {0};
    if (rc == 0 && verb != VERB_PLANNER) {
        static const char *const skipf[] = {"$db", "lsid", NULL};
        bson_t cmd = BSON_INITIALIZER;
        copy_except(inner, skipf, &cmd);
        rc = run_read(ctx, db, name, &cmd, coll, &st, err);
        bson_destroy(&cmd);
        if (count)
            st.returned = 0; /* COUNT returns no documents, as MongoDB reports it */
    }
    if (rc == 0)
        append_read_explain(db, coll, has_filter ? &filter : NULL, &plan, &st, verb, inner, reply);
    bson_destroy(&plan);
    return rc;
}

/* ---- update, delete, findAndModify: planned and read, never written ---- */

static int explain_write(docstore_ctx_t *ctx, const char *db, const char *name, const bson_t *inner,
                         verbosity_t verb, bson_t *reply, docstore_error_t *err)
{
    const char *coll;
    bson_t filter = BSON_INITIALIZER, sort;
    bool has_sort = false, multi = false, remove = false;
    bson_t stmt;
    bool has_stmt = false;
    if (docstore_cmd_coll(inner, &coll, err) != 0)
        return -1;
    bool fam = strcmp(name, "update") != 0 && strcmp(name, "delete") != 0;
    if (fam) {
        bool has;
        if (docstore_cmd_doc(inner, name, "query", &filter, &has, err) ||
            docstore_cmd_doc(inner, name, "sort", &sort, &has_sort, err))
            return -1;
        if (!has)
            bson_init(&filter);
        remove = docstore_cmd_bool(inner, "remove", false);
        if (!remove && !docstore_cmd_has(inner, "update")) {
            docstore_error_set(err, DOCSTORE_FAILED_TO_PARSE,
                               "Either an update or remove=true must be specified");
            return -1;
        }
    } else {
        bson_t arr;
        bool has_arr;
        const char *list = strcmp(name, "update") == 0 ? "updates" : "deletes";
        if (docstore_cmd_array(inner, name, list, &arr, &has_arr, err))
            return -1;
        bson_iter_t it;
        if (has_arr && bson_iter_init(&it, &arr) && bson_iter_next(&it) &&
            BSON_ITER_HOLDS_DOCUMENT(&it)) {
            uint32_t len;
            const uint8_t *data;
            bson_iter_document(&it, &len, &data);
            has_stmt = bson_init_static(&stmt, data, len);
        }
        if (!has_stmt) {
            docstore_error_set(err, DOCSTORE_INVALID_LENGTH,
                               "explained %s must have exactly one statement", name);
            return -1;
        }
        bool has;
        if (docstore_cmd_doc(&stmt, name, "q", &filter, &has, err))
            return -1;
        if (!has)
            bson_init(&filter);
        remove = strcmp(name, "delete") == 0;
        multi = docstore_cmd_bool(&stmt, "multi", false);
        if (remove) { /* limit 0: every match, 1: one */
            int64_t lim = 0;
            if (docstore_cmd_int64(&stmt, name, "limit", 0, &lim, err))
                return -1;
            multi = lim == 0;
        }
    }
    bson_t plan = BSON_INITIALIZER;
    int rc = find_plan(ctx, db, coll, &filter, has_sort ? &sort : NULL, NULL, 0, multi ? 0 : 1,
                       has_stmt ? &stmt : inner, &plan, err);
    if (rc == 0)
        wrap(&plan, remove ? "DELETE" : "UPDATE", NULL, NULL);
    exec_stats_t st = {0};
    if (rc == 0 && verb != VERB_PLANNER) {
        bson_t cmd = BSON_INITIALIZER;
        BSON_APPEND_UTF8(&cmd, "find", coll);
        BSON_APPEND_DOCUMENT(&cmd, "filter", &filter);
        if (has_sort)
            BSON_APPEND_DOCUMENT(&cmd, "sort", &sort);
        if (!multi)
            BSON_APPEND_INT64(&cmd, "limit", 1);
        BSON_APPEND_INT64(&cmd, "batchSize", DRAIN_BATCH);
        rc = run_read(ctx, db, "find", &cmd, coll, &st, err);
        bson_destroy(&cmd);
    }
    if (rc == 0) {
        char ns[NS_MAX];
        docstore_cmd_ns(ns, sizeof ns, db, coll);
        BSON_APPEND_UTF8(reply, "explainVersion", "1");
        append_planner(ns, &filter, &plan, reply);
        if (verb != VERB_PLANNER) {
            /* The write stage reports what it would do: nothing is written. */
            append_exec(&plan, &st, verb, reply);
            append_count(reply, remove ? "nWouldDelete" : "nWouldModify", st.returned);
        }
        append_server_info(inner, db, reply);
    }
    bson_destroy(&plan);
    bson_destroy(&filter);
    return rc;
}

/* ---- aggregate ---- */

int docstore_explain_aggregate(docstore_ctx_t *ctx, const char *db, const bson_t *inner,
                               const bson_t *outer, bson_t *reply, docstore_error_t *err)
{
    verbosity_t verb = VERB_PLANNER;
    if (outer != NULL && parse_verbosity(outer, &verb, err) != 0)
        return -1;
    const char *coll;
    bson_t pipe;
    bool has_pipe;
    bson_iter_t it;
    if (!bson_iter_init(&it, inner) || !bson_iter_next(&it) || !BSON_ITER_HOLDS_UTF8(&it)) {
        docstore_error_set(err, DOCSTORE_NOT_IMPLEMENTED,
                           "explain of aggregate: 1 is not supported by the docstore");
        return -1;
    }
    if (docstore_cmd_coll(inner, &coll, err) ||
        docstore_cmd_array(inner, "aggregate", "pipeline", &pipe, &has_pipe, err))
        return -1;
    if (!has_pipe) {
        docstore_error_set(err, DOCSTORE_LOCATION_40414,
                           "BSON field 'aggregate.pipeline' is missing but a required field");
        return -1;
    }
    docstore_pipeline_t *compiled = NULL; /* a bad pipeline fails as the command would */
    if (docstore_pipeline_new(&pipe, &compiled, err) != 0)
        return -1;
    docstore_pipeline_free(compiled);
    /* The leading $match (and $sort after it) is what the query layer
     * reads, through the planner; the other stages run over its output. */
    bson_t match, sort;
    bool has_match = false, has_sort = false;
    size_t consumed = 0;
    bson_iter_t pi;
    bson_iter_init(&pi, &pipe);
    for (int k = 0; k < 2 && bson_iter_next(&pi); k++) {
        bson_iter_t st;
        if (!BSON_ITER_HOLDS_DOCUMENT(&pi) || !bson_iter_recurse(&pi, &st) || !bson_iter_next(&st))
            break;
        bool is_match = k == 0 && strcmp(bson_iter_key(&st), "$match") == 0;
        bool is_sort = strcmp(bson_iter_key(&st), "$sort") == 0;
        if ((!is_match && !is_sort) || !BSON_ITER_HOLDS_DOCUMENT(&st))
            break;
        uint32_t len;
        const uint8_t *data;
        bson_iter_document(&st, &len, &data);
        if (is_match)
            has_match = bson_init_static(&match, data, len);
        else
            has_sort = bson_init_static(&sort, data, len);
        consumed++;
        if (is_sort)
            break;
    }
    bson_t plan = BSON_INITIALIZER;
    int rc = find_plan(ctx, db, coll, has_match ? &match : NULL, has_sort ? &sort : NULL, NULL, 0,
                       0, inner, &plan, err);
    exec_stats_t st = {0};
    if (rc == 0 && verb != VERB_PLANNER) {
        /* The cursor part: what the query layer hands to the stages. */
        bson_t cmd = BSON_INITIALIZER;
        BSON_APPEND_UTF8(&cmd, "find", coll);
        if (has_match)
            BSON_APPEND_DOCUMENT(&cmd, "filter", &match);
        if (has_sort)
            BSON_APPEND_DOCUMENT(&cmd, "sort", &sort);
        BSON_APPEND_INT64(&cmd, "batchSize", DRAIN_BATCH);
        rc = run_read(ctx, db, "find", &cmd, coll, &st, err);
        bson_destroy(&cmd);
    }
    if (rc == 0) {
        char ns[NS_MAX];
        docstore_cmd_ns(ns, sizeof ns, db, coll);
        BSON_APPEND_UTF8(reply, "explainVersion", "1");
        if (consumed == bson_count_keys(&pipe)) {
            append_planner(ns, has_match ? &match : NULL, &plan, reply);
            if (verb != VERB_PLANNER)
                append_exec(&plan, &st, verb, reply);
        } else {
            bson_t stages, first, cur;
            BSON_APPEND_ARRAY_BEGIN(reply, "stages", &stages);
            BSON_APPEND_DOCUMENT_BEGIN(&stages, "0", &first);
            BSON_APPEND_DOCUMENT_BEGIN(&first, "$cursor", &cur);
            append_planner(ns, has_match ? &match : NULL, &plan, &cur);
            if (verb != VERB_PLANNER)
                append_exec(&plan, &st, verb, &cur);
            bson_append_document_end(&first, &cur);
            bson_append_document_end(&stages, &first);
            bson_iter_init(&pi, &pipe);
            uint32_t i = 1;
            for (size_t k = 0; bson_iter_next(&pi); k++) {
                if (k < consumed || !BSON_ITER_HOLDS_DOCUMENT(&pi))
                    continue;
                char key[16];
                const char *kp;
                bson_uint32_to_string(i++, &kp, key, sizeof key);
                bson_append_value(&stages, kp, -1, bson_iter_value(&pi));
            }
            bson_append_array_end(reply, &stages);
        }
        static const char *const skipf[] = {"explain", NULL};
        bson_t clean = BSON_INITIALIZER;
        copy_except(inner, skipf, &clean);
        append_server_info(&clean, db, reply);
        bson_destroy(&clean);
    }
    bson_destroy(&plan);
    return rc;
}

static int cmd_explain(docstore_ctx_t *ctx, const char *db, const bson_t *cmd, bson_t *reply,
                       docstore_error_t *err)
{
    bson_t inner;
    bool has;
    verbosity_t verb;
    if (docstore_cmd_doc(cmd, "explain", "explain", &inner, &has, err) ||
        parse_verbosity(cmd, &verb, err))
        return -1;
    bson_iter_t it;
    if (!has || !bson_iter_init(&it, &inner) || !bson_iter_next(&it)) {
        docstore_error_set(err, DOCSTORE_FAILED_TO_PARSE,
                           "explain command requires a nested object");
        return -1;
    }
    const char *name = bson_iter_key(&it);
    if (strcmp(name, "find") == 0)
        return explain_find(ctx, db, &inner, verb, reply, err);
    if (strcmp(name, "aggregate") == 0)
        return docstore_explain_aggregate(ctx, db, &inner, cmd, reply, err);
    if (strcmp(name, "count") == 0 || strcmp(name, "distinct") == 0)
        return explain_count_distinct(ctx, db, name, &inner, verb, reply, err);
    if (strcmp(name, "update") == 0 || strcmp(name, "delete") == 0 ||
        strcmp(name, "findAndModify") == 0 || strcmp(name, "findandmodify") == 0)
        return explain_write(ctx, db, name, &inner, verb, reply, err);
    if (docstore_command_find(name) == NULL) {
        docstore_error_set(err, DOCSTORE_COMMAND_NOT_FOUND,
                           "Explain failed due to unknown command: %.100s", name);
        return -1;
    }
    docstore_error_set(err, DOCSTORE_ILLEGAL_OPERATION, "Cannot explain cmd: %.100s", name);
    return -1;
}

const docstore_command_t docstore_explain_commands[] = {
    {"explain", cmd_explain, DOCSTORE_CMD_NONE},
    {NULL, NULL, 0},
};
