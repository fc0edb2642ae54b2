/*
 * CRUD commands: insert, find, update, delete, findAndModify, count, distinct
 * and aggregate. Each reads through docstore_storage_scan (which narrows by
 * index) and filters with the matcher; each write command runs as one storage
 * transaction, so a batch of N documents costs one commit and the reply is
 * sent only after that commit. Per-document failures become writeErrors with
 * ok: 1, as MongoDB reports them; ordered batches stop at the first.
 */
#include "docstore/cmd/cmd_admin.h"
#include "docstore/cmd/cmd_coll_options.h"
#include "docstore/cmd/cmd_explain.h"
#include "docstore/cmd/cmd_util.h"
#include "docstore/cmd/command.h"
#include "docstore/cmd/cursor.h"
#include "docstore/storage/keyenc.h"
#include "docstore/query/expr.h"
#include "docstore/query/match.h"
#include "docstore/agg/pipeline.h"
#include "docstore/query/project.h"
#include "docstore/query/sort.h"
#include "docstore/query/sorter.h"
#include "docstore/base/deadline.h"
#include "docstore/storage/storage.h"
#include "docstore/update/update.h"
#include "docstore/query/value.h"

#include <stdlib.h>
#include <string.h>

#define NS_MAX 300

/* ---- reading ---- */

typedef struct match_ctx {
    const docstore_matcher_t *m; /* NULL: everything the scan gives */
    docstore_doclist_t *out;     /* matching documents (copies); NULL: only count them */
    size_t n;                    /* matches counted when out is NULL */
    size_t stop_after;           /* stop once this many matched; 0: never */
    bool oom;                    /* a copy failed */
} match_ctx_t;

static bool match_cb(void *ctx, const bson_t *doc)
{
    match_ctx_t *c = ctx;
    if (docstore_deadline_passed())
        return false; /* the caller reports 50 */
    if (c->m && !docstore_matcher_matches(c->m, doc, NULL))
        return true;
    if (c->out == NULL) /* count: nothing held */
        return ++c->n != c->stop_after;
    if (docstore_doclist_push_copy(c->out, doc) != 0) {
        c->oom = true;
        return false;
    }
    return c->stop_after == 0 || c->out->n < c->stop_after;
}

/* Runs c (its matcher c->m compiled from filter) over db.coll: through the
 * indexes of the filter's collation, cut short by the time budget, failed
 * when a regex hit a PCRE2 limit (no answer, not "no match"). 0 or -1. */
static int scan_matching(docstore_ctx_t *ctx, const char *db, const char *coll,
                         const bson_t *filter, match_ctx_t *c, docstore_error_t *err)
{
    const docstore_matcher_t *m = c->m;
    bson_t qcs;
    const bson_t *qc = docstore_cmd_collation_spec(m ? docstore_matcher_collation(m) : NULL, &qcs);
    int rc = docstore_storage_scan_coll(ctx->storage, db, coll, filter, qc, match_cb, c, err);
    if (qc != NULL)
        bson_destroy(&qcs);
    if (rc != 0)
        return -1;
    if (docstore_deadline_expired())
        return docstore_deadline_error(err); /* cut short: never a partial answer */
    if (m != NULL && docstore_matcher_status(m, err) != 0)
        return -1;
    return 0;
}

/* Appends to out the documents of db.coll matching filter (m compiled from
 * it), at most stop_after of them (0: all). 0 or -1. */
static int find_matching(docstore_ctx_t *ctx, const char *db, const char *coll,
                         const bson_t *filter, const docstore_matcher_t *m, size_t stop_after,
                         docstore_doclist_t *out, docstore_error_t *err)
{
    match_ctx_t c = {.m = m, .out = out, .stop_after = stop_after};
    if (scan_matching(ctx, db, coll, filter, &c, err) != 0)
        return -1;
    if (c.oom) {
        docstore_error_set(err, DOCSTORE_INTERNAL_ERROR, "out of memory reading %s", coll);
        return -1;
    }
    return 0;
}

/* The number of documents of db.coll matching filter, at most stop_after
 * (0: all), without holding them. 0 or -1. */
static int count_matching(docstore_ctx_t *ctx, const char *db, const char *coll,
                          const bson_t *filter, const docstore_matcher_t *m, size_t stop_after,
                          size_t *n /* OUT */, docstore_error_t *err)
{
    match_ctx_t c = {.m = m, .stop_after = stop_after};
    if (scan_matching(ctx, db, coll, filter, &c, err) != 0)
        return -1;
    *n = c.n;
    return 0;
}

/* ---- sorted reads ---- */

/* A read in sort order through an index (docstore_storage_scan_ordered):
 * matching documents are appended to out; each run of ties (equal sort keys)
 * is put in rid order, as the stable in-memory sort of a rid-order scan has
 * them (MongoDB leaves the order of ties unspecified). */
typedef struct ordered_ctx {
    const docstore_matcher_t *m;
    docstore_doclist_t *out;
    size_t start;      /* out->n before the read */
    size_t keep;       /* stop once this many are complete; 0: never */
    size_t run_start;  /* index in out of the current run of ties */
    int64_t *rids;     /* rid of out->docs[run_start + i] */
    size_t nrids, cap; /* rids in use, allocated */
    bool oom;
} ordered_ctx_t;

typedef struct rid_doc {
    int64_t rid;
    bson_t *doc;
} rid_doc_t;

static int rid_doc_cmp(const void *a, const void *b)
{
    int64_t x = ((const rid_doc_t *)a)->rid, y = ((const rid_doc_t *)b)->rid;
    return (x > y) - (x < y);
}

/* Puts the current run of ties in rid order. */
static void ordered_close_run(ordered_ctx_t *c)
{
    size_t n = c->out->n - c->run_start;
    if (n > 1) {
        bson_t **docs = c->out->docs + c->run_start;
        rid_doc_t *rd = malloc(n * sizeof *rd);
        if (rd == NULL) {
            c->oom = true;
            return;
        }
        for (size_t i = 0; i < n; i++)
            rd[i] = (rid_doc_t){c->rids[i], docs[i]};
        qsort(rd, n, sizeof *rd, rid_doc_cmp);
        for (size_t i = 0; i < n; i++)
            docs[i] = rd[i].doc;
        free(rd);
    }
    c->run_start = c->out->n;
    c->nrids = 0;
}

static bool ordered_cb(void *ctx, const bson_t *doc, int64_t rid, bool tie)
{
    ordered_ctx_t *c = ctx;
    if (docstore_deadline_passed())
        return false; /* read_sorted reports 50 */
    if (!tie) {
        ordered_close_run(c);
        if (c->keep > 0 && c->out->n - c->start >= c->keep)
            return false; /* the first keep are complete */
    }
    if (c->m && !docstore_matcher_matches(c->m, doc, NULL))
        return true;
    if (c->nrids == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        int64_t *r = realloc(c->rids, cap * sizeof *r);
        if (r == NULL) {
            c->oom = true;
            return false;
        }
        c->rids = r;
        c->cap = cap;
    }
    if (docstore_doclist_push_copy(c->out, doc) != 0) {
        c->oom = true;
        return false;
    }
    c->rids[c->nrids++] = rid;
    return true;
}

typedef struct sorter_ctx {
    const docstore_matcher_t *m;
    docstore_sorter_t *sorter;
    docstore_error_t *err;
    bool failed; /* err is set */
} sorter_ctx_t;

static bool sorter_cb(void *ctx, const bson_t *doc)
{
    sorter_ctx_t *c = ctx;
    if (docstore_deadline_passed())
        return false; /* read_sorted reports 50 */
    if (c->m && !docstore_matcher_matches(c->m, doc, NULL))
        return true;
    if (!docstore_sorter_would_keep(c->sorter, doc))
        return true;
    bson_t *copy = bson_copy(doc);
    if (copy == NULL) {
        docstore_error_oom(c->err);
        c->failed = true;
        return false;
    }
    if (docstore_sorter_add(c->sorter, copy, c->err) != 0) {
        c->failed = true;
        return false;
    }
    return true;
}

/* Appends to out the first keep (0: all) documents of db.coll matching filter
 * (m compiled from it) in the order of s: by walking an index that serves the
 * sort when there is one (no blocking sort, and a limit reads only what it
 * returns), else through a bounded sorter (top-k with a keep; 292 past
 * 100 MB). *used_index tells which (may be NULL). 0 or -1. */
static int read_sorted(docstore_ctx_t *ctx, const char *db, const char *coll, const bson_t *filter,
                       const docstore_matcher_t *m, const docstore_sort_t *s, size_t keep,
                       bool disk_use, docstore_sort_origin_t origin, docstore_doclist_t *out,
                       bool *used_index /* OUT, may be NULL */, docstore_error_t *err)
{
    size_t n = docstore_sort_nfields(s);
    const char *fields[32];
    int dirs[32];
    bool ordered = false;
    /* The filter's and the sort's collation are the command's: the planner
     * uses the indexes of that collation (to narrow and to order). */
    const docstore_collation_t *cl = docstore_sort_collation(s);
    if (cl == NULL && m != NULL)
        cl = docstore_matcher_collation(m);
    bson_t qcs;
    const bson_t *qc = docstore_cmd_collation_spec(cl, &qcs);
    if (n <= 32) {
        for (size_t i = 0; i < n; i++)
            fields[i] = docstore_sort_field(s, i, &dirs[i]);
        size_t start = out->n;
        ordered_ctx_t oc = {.m = m, .out = out, .start = start, .keep = keep, .run_start = start};
        int rc = docstore_storage_scan_ordered_coll(ctx->storage, db, coll, filter, qc, fields,
                                                    dirs, n, ordered_cb, &oc, &ordered, err);
        if (rc == 0 && ordered)
            ordered_close_run(&oc);
        free(oc.rids);
        if (rc == 0 && docstore_deadline_expired())
            rc = docstore_deadline_error(err);
        if (rc == 0 && m != NULL)
            rc = docstore_matcher_status(m, err);
        if (rc == 0 && oc.oom) {
            docstore_error_set(err, DOCSTORE_INTERNAL_ERROR, "out of memory reading %s", coll);
            rc = -1;
        }
        /* Past keep, or (not ordered after all) everything the walk gave. */
        size_t cut = rc == 0 && ordered ? (keep > 0 ? start + keep : out->n) : start;
        while (out->n > cut)
            bson_destroy(out->docs[--out->n]);
        if (rc != 0) {
            if (qc != NULL)
                bson_destroy(&qcs);
            return -1;
        }
    }
    if (used_index)
        *used_index = ordered;
    docstore_sorter_t *sorter = NULL;
    if (ordered ||
        docstore_sorter_new(s, keep, DOCSTORE_SORT_MEMORY_LIMIT, disk_use, origin, &sorter, err)) {
        if (qc != NULL)
            bson_destroy(&qcs);
        return ordered ? 0 : -1;
    }
    sorter_ctx_t sc = {.m = m, .sorter = sorter, .err = err};
    int rc = docstore_storage_scan_coll(ctx->storage, db, coll, filter, qc, sorter_cb, &sc, err);
    if (qc != NULL)
        bson_destroy(&qcs);
    if (rc == 0 && sc.failed)
        rc = -1;
    if (rc == 0 && docstore_deadline_expired())
        rc = docstore_deadline_error(err);
    if (rc == 0 && m != NULL)
        rc = docstore_matcher_status(m, err);
    if (rc == 0)
        rc = docstore_sorter_finish(sorter, out, err);
    docstore_sorter_free(sorter);
    return rc;
}

static int reader_cb(void *rctx, const char *coll, docstore_doclist_t *out, docstore_error_t *err)
{
    void **pair = rctx;
    return find_matching(pair[0], pair[1], coll, NULL, NULL, 0, out, err);
}

static int not_supported(docstore_error_t *err, const char *what)
{
    docstore_error_set(err, DOCSTORE_NOT_IMPLEMENTED, "%s is not supported by the docstore", what);
    return -1;
}

/* ---- find ---- */

static int cmd_find(docstore_ctx_t *ctx, const char *db, const bson_t *cmd, bson_t *reply,
                    docstore_error_t *err)
{
    const char *coll;
    bson_t filter, projection, sort;
    bool has_filter, has_proj, has_sort;
    int64_t skip, limit, batch;
    if (docstore_cmd_coll(cmd, &coll, err) ||
        docstore_cmd_doc(cmd, "find", "filter", &filter, &has_filter, err) ||
        docstore_cmd_doc(cmd, "find", "projection", &projection, &has_proj, err) ||
        docstore_cmd_doc(cmd, "find", "sort", &sort, &has_sort, err) ||
        docstore_cmd_int64(cmd, "find", "skip", 0, &skip, err) ||
        docstore_cmd_int64(cmd, "find", "limit", 0, &limit, err) ||
        docstore_cmd_int64(cmd, "find", "batchSize", -1, &batch, err))
        return -1;
    if (docstore_cmd_has(cmd, "min") || docstore_cmd_has(cmd, "max"))
        return not_supported(err, "find with min/max");
    if (docstore_cmd_bool(cmd, "tailable", false))
        return not_supported(err, "a tailable cursor");
    if (skip < 0) {
        docstore_error_set(err, DOCSTORE_LOCATION_51024,
                           "BSON field 'skip' value must be >= 0, actual value '%lld'",
                           (long long)skip);
        return -1;
    }
    if (docstore_cmd_has(cmd, "batchSize") && batch < 0) {
        docstore_error_set(err, DOCSTORE_LOCATION_51024,
                           "BSON field 'batchSize' value must be >= 0, actual value '%lld'",
                           (long long)batch);
        return -1;
    }
    bool single = docstore_cmd_bool(cmd, "singleBatch", false);
    if (limit < 0) {
        limit = -limit;
        single = true;
        batch = limit;
    }

    docstore_matcher_t *m = NULL;
    docstore_sort_t *s = NULL;
    docstore_projection_t *p = NULL;
    docstore_collation_t *cl = NULL;
    docstore_doclist_t all, out;
    docstore_doclist_init(&all);
    docstore_doclist_init(&out);
    int rc = -1;
    bson_t empty = BSON_INITIALIZER;
    const bson_t *f = has_filter ? &filter : &empty;
    if (docstore_cmd_collation(ctx->storage, db, coll, cmd, &cl, err) ||
        docstore_matcher_new(f, &m, err))
        goto out;
    docstore_matcher_set_collation(m, cl);
    /* {$natural: 1|-1}: insertion order (the order scans return) or its reverse. */
    int natural = 0;
    bson_iter_t nit;
    if (has_sort && bson_iter_init(&nit, &sort) && bson_iter_next(&nit) &&
        strcmp(bson_iter_key(&nit), "$natural") == 0) {
        natural = bson_iter_as_int64(&nit) < 0 ? -1 : 1;
        if (bson_iter_next(&nit)) {
            docstore_error_set(err, DOCSTORE_BAD_VALUE,
                               "$natural sort cannot be combined with "
                               "other sort fields");
            goto out;
        }
    }
    if (!natural && has_sort && !bson_empty(&sort) && docstore_sort_new(&sort, &s, err))
        goto out;
    if (s)
        docstore_sort_set_collation(s, cl);
    if (has_proj && !bson_empty(&projection) && docstore_projection_new(&projection, &p, err))
        goto out;
    char ns[NS_MAX];
    docstore_cmd_ns(ns, sizeof ns, db, coll);
    if (natural == 0 && !single) {
        /* no sort, or one an index walk serves: a cursor that reads on
         * getMore (not under a collation: docstore_cursor_stream_find) */
        bool streamed = false;
        int src = docstore_cursor_stream_find(ctx, db, coll, ns, f, &m, &p, &s, skip, limit,
                                              batch, reply, &streamed, err);
        if (streamed) {
            rc = src;
            goto out;
        }
    }
    /* skip + limit documents are all a limited find needs, sorted or not. */
    size_t wanted = limit > 0 && skip <= INT64_MAX - limit ? (size_t)(skip + limit) : 0;
    if (s) {
        if (read_sorted(ctx, db, coll, f, m, s, wanted,
                        docstore_cmd_bool(cmd, "allowDiskUse", false), DOCSTORE_SORT_FIND, &all,
                        NULL, err))
            goto out;
    } else if (find_matching(ctx, db, coll, f, m, natural >= 0 ? wanted : 0, &all, err)) {
        goto out;
    }
    for (size_t i = 0; natural < 0 && i < all.n / 2; i++) {
        bson_t *t = all.docs[i];
        all.docs[i] = all.docs[all.n - 1 - i];
        all.docs[all.n - 1 - i] = t;
    }
    for (size_t i = 0; i < all.n; i++) {
        if ((int64_t)i < skip || (limit > 0 && (int64_t)i >= skip + limit))
            continue;
        bson_t *doc = all.docs[i];
        all.docs[i] = NULL;
        if (p) {
            bson_t *projected = bson_new();
            int prc;
            if (docstore_projection_is_positional(p)) {
                /* "a.$" needs the array index the filter matched in this document */
                int32_t pos = -1;
                docstore_matcher_matches(m, doc, &pos);
                prc = docstore_projection_apply_positional(p, doc, pos, projected, err);
            } else {
                prc = docstore_projection_apply(p, doc, projected, err);
            }
            bson_destroy(doc);
            if (prc) {
                bson_destroy(projected);
                goto out;
            }
            doc = projected;
        }
        if (docstore_doclist_push(&out, doc)) {
            docstore_error_oom(err);
            goto out;
        }
    }
    rc = docstore_cursor_reply(ctx, ns, &out, batch, single, reply, err);
out:
    for (size_t i = 0; i < all.n; i++) {
        if (all.docs[i])
            bson_destroy(all.docs[i]);
    }
    all.n = 0;
    docstore_doclist_free(&all);
    docstore_doclist_free(&out);
    if (m)
        docstore_matcher_free(m);
    if (s)
        docstore_sort_free(s);
    if (p)
        docstore_projection_free(p);
    docstore_collation_free(cl);
    return rc;
}

/* ---- writes ---- */

typedef struct write_result {
    int64_t n;          /* inserted / matched / deleted */
    int64_t n_modified; /* updates that changed a document */
    bson_t upserted;    /* [{index, _id}] */
    uint32_t n_upserted;
    bson_t errors; /* writeErrors */
    uint32_t n_errors;
} write_result_t;

static void wr_init(write_result_t *w)
{
    memset(w, 0, sizeof *w);
    bson_init(&w->upserted);
    bson_init(&w->errors);
}

static void wr_free(write_result_t *w)
{
    bson_destroy(&w->upserted);
    bson_destroy(&w->errors);
}

static void wr_error(write_result_t *w, size_t index, docstore_error_t *e)
{
    char key[16];
    const char *k;
    bson_uint32_to_string(w->n_errors++, &k, key, sizeof key);
    bson_t child;
    BSON_APPEND_DOCUMENT_BEGIN(&w->errors, k, &child);
    BSON_APPEND_INT32(&child, "index", (int32_t)index);
    BSON_APPEND_INT32(&child, "code", e->code);
    if (e->extra)
        bson_concat(&child, e->extra);
    BSON_APPEND_UTF8(&child, "errmsg", e->msg);
    bson_append_document_end(&w->errors, &child);
    docstore_error_clear(e);
}

static void wr_upserted(write_result_t *w, size_t index, const bson_value_t *id)
{
    char key[16];
    const char *k;
    bson_uint32_to_string(w->n_upserted++, &k, key, sizeof key);
    bson_t child;
    BSON_APPEND_DOCUMENT_BEGIN(&w->upserted, k, &child);
    BSON_APPEND_INT32(&child, "index", (int32_t)index);
    BSON_APPEND_VALUE(&child, "_id", id);
    bson_append_document_end(&w->upserted, &child);
}

/* Commits the command's transaction and appends the result fields. */
static int wr_finish(docstore_ctx_t *ctx, const char *db, write_result_t *w, bool with_modified,
                     bson_t *reply, docstore_error_t *err)
{
    if (docstore_storage_commit(ctx->storage, db, err))
        return -1;
    BSON_APPEND_INT32(reply, "n", (int32_t)w->n);
    if (w->n_upserted)
        BSON_APPEND_ARRAY(reply, "upserted", &w->upserted);
    if (with_modified)
        BSON_APPEND_INT32(reply, "nModified", (int32_t)w->n_modified);
    if (w->n_errors)
        BSON_APPEND_ARRAY(reply, "writeErrors", &w->errors);
    return 0;
}

static int batch_docs(const bson_t *cmd, const char *cmd_name, const char *field, bson_t *arr,
                      docstore_error_t *err)
{
    bool present;
    if (docstore_cmd_array(cmd, cmd_name, field, arr, &present, err))
        return -1;
    if (!present) {
        docstore_error_set(err, DOCSTORE_LOCATION_40414,
                           "BSON field '%s.%s' is missing but a required field", cmd_name, field);
        return -1;
    }
    uint32_t n = bson_count_keys(arr);
    if (n == 0 || n > 100000) {
        docstore_error_set(err, DOCSTORE_INVALID_LENGTH,
                           "Write batch sizes must be between 1 and 100000. Got %u operations.", n);
        return -1;
    }
    return 0;
}

static int cmd_insert(docstore_ctx_t *ctx, const char *db, const bson_t *cmd, bson_t *reply,
                      docstore_error_t *err)
{
    const char *coll;
    bson_t docs;
    if (docstore_cmd_coll(cmd, &coll, err) || batch_docs(cmd, "insert", "documents", &docs, err))
        return -1;
    bool ordered = docstore_cmd_bool(cmd, "ordered", true);
    if (docstore_storage_begin(ctx->storage, db, err))
        return -1;
    /* A bad name fails the command, not each document. */
    if (docstore_storage_create_collection(ctx->storage, db, coll, false, err)) {
        docstore_storage_rollback(ctx->storage, db);
        return -1;
    }
    write_result_t w;
    wr_init(&w);
    bson_iter_t it;
    bson_iter_init(&it, &docs);
    for (size_t i = 0; bson_iter_next(&it); i++) {
        docstore_error_t e = {0};
        if (!BSON_ITER_HOLDS_DOCUMENT(&it)) {
            docstore_error_set(&e, DOCSTORE_TYPE_MISMATCH, "documents to insert must be objects");
        } else {
            uint32_t len;
            const uint8_t *data;
            bson_iter_document(&it, &len, &data);
            bson_t doc, stored = BSON_INITIALIZER;
            if (len >
                16777216) /* maxBsonObjectSize: the command may be 16 KiB larger, a document not */
                docstore_error_set(
                    &e, DOCSTORE_BSON_OBJECT_TOO_LARGE,
                    "object to insert too large. size in bytes: %u, max size: 16777216", len);
            else if (bson_init_static(&doc, data, len) &&
                     docstore_doc_with_id_first(&doc, &stored, NULL, &e) == 0 &&
                     docstore_storage_insert(ctx->storage, db, coll, &stored, &e) == 0)
                w.n++;
            bson_destroy(&stored);
        }
        if (e.code) {
            wr_error(&w, i, &e);
            if (ordered)
                break;
        }
    }
    int rc = wr_finish(ctx, db, &w, false, reply, err);
    wr_free(&w);
    return rc;
}

/* Builds the document an upsert inserts: the filter's equalities, then the
 * update (with $setOnInsert), _id first (generated when absent). */
static int upsert_doc(const bson_t *q, const docstore_update_t *u, bson_t *out, bson_value_t *id,
                      docstore_error_t *err)
{
    bson_t seed = BSON_INITIALIZER, applied = BSON_INITIALIZER;
    bool changed;
    int rc = -1;
    if (docstore_update_upsert_seed(q, &seed, err) == 0 &&
        docstore_update_apply(u, &seed, -1, true, &applied, &changed, err) == 0 &&
        docstore_doc_with_id_first(&applied, out, id, err) == 0)
        rc = 0;
    bson_destroy(&seed);
    bson_destroy(&applied);
    return rc;
}

/* Applies u to the matched docs; counts into *matched and *modified. */
static int update_docs(docstore_ctx_t *ctx, const char *db, const char *coll,
                       const docstore_matcher_t *m, const docstore_update_t *u,
                       docstore_doclist_t *docs, int64_t *matched, int64_t *modified,
                       docstore_error_t *err)
{
    for (size_t i = 0; i < docs->n; i++) {
        int32_t pos = -1;
        docstore_matcher_matches(m, docs->docs[i], &pos);
        bson_t out = BSON_INITIALIZER;
        bool changed = false;
        /* $addToSet, $pull, $min/$max compare under the statement's collation */
        const docstore_collation_t *prev =
            docstore_expr_set_collation(docstore_matcher_collation(m));
        int arc = docstore_update_apply(u, docs->docs[i], pos, false, &out, &changed, err);
        docstore_expr_set_collation(prev);
        if (arc != 0 || (changed && docstore_storage_replace(ctx->storage, db, coll, docs->docs[i],
                                                             &out, err) != 0)) {
            bson_destroy(&out);
            return -1;
        }
        bson_destroy(&out);
        (*matched)++;
        if (changed)
            (*modified)++;
    }
    return 0;
}

/* One statement of an update command. */
/* The update spec under key: an operator or replacement document, or a
 * pipeline (array). Borrowed into out; false when absent or of another type. */
static bool update_spec(const bson_t *doc, const char *key, bson_t *out)
{
    bson_iter_t it;
    uint32_t len;
    const uint8_t *data;
    if (!bson_iter_init_find(&it, doc, key))
        return false;
    if (BSON_ITER_HOLDS_DOCUMENT(&it))
        bson_iter_document(&it, &len, &data);
    else if (BSON_ITER_HOLDS_ARRAY(&it))
        bson_iter_array(&it, &len, &data);
    else
        return false;
    return bson_init_static(out, data, len);
}

static int update_one_stmt(docstore_ctx_t *ctx, const char *db, const char *coll,
                           const bson_t *stmt, size_t index, write_result_t *w,
                           docstore_error_t *err)
{
    bson_t q, u, filters;
    bool has_q, has_af;
    if (docstore_cmd_doc(stmt, "update.updates", "q", &q, &has_q, err) ||
        docstore_cmd_array(stmt, "update.updates", "arrayFilters", &filters, &has_af, err))
        return -1;
    bool has_u = update_spec(stmt, "u", &u);
    if (!has_q || !has_u) {
        docstore_error_set(err, DOCSTORE_LOCATION_40414,
                           "BSON field 'update.updates.%s' is missing but a required "
                           "field",
                           has_q ? "u" : "q");
        return -1;
    }
    bool multi = docstore_cmd_bool(stmt, "multi", false);
    bool upsert = docstore_cmd_bool(stmt, "upsert", false);
    docstore_matcher_t *m = NULL;
    docstore_update_t *up = NULL;
    docstore_collation_t *cl = NULL;
    docstore_doclist_t docs;
    docstore_doclist_init(&docs);
    int rc = -1;
    if (docstore_cmd_collation(ctx->storage, db, coll, stmt, &cl, err))
        return -1;
    if (docstore_matcher_new(&q, &m, err) == 0)
        docstore_matcher_set_collation(m, cl);
    if (m == NULL || docstore_update_new(&u, has_af ? &filters : NULL, &up, err))
        goto out;
    if (multi && docstore_update_is_replacement(up)) {
        docstore_error_set(err, DOCSTORE_FAILED_TO_PARSE,
                           "multi update is not supported for replacement-style update");
        goto out;
    }
    if (find_matching(ctx, db, coll, &q, m, multi ? 0 : 1, &docs, err))
        goto out;
    if (docs.n == 0 && upsert) {
        bson_t doc = BSON_INITIALIZER;
        bson_value_t id;
        if (upsert_doc(&q, up, &doc, &id, err) == 0) {
            if (docstore_storage_insert(ctx->storage, db, coll, &doc, err) == 0) {
                wr_upserted(w, index, &id);
                w->n++;
                rc = 0;
            }
            bson_value_destroy(&id);
        }
        bson_destroy(&doc);
        goto out;
    }
    rc = update_docs(ctx, db, coll, m, up, &docs, &w->n, &w->n_modified, err);
out:
    docstore_doclist_free(&docs);
    if (m)
        docstore_matcher_free(m);
    if (up)
        docstore_update_free(up);
    docstore_collation_free(cl);
    return rc;
}

/* One statement of an update or delete batch; its error goes in err. */
typedef int (*write_stmt_fn)(docstore_ctx_t *ctx, const char *db, const char *coll,
                             const bson_t *stmt, size_t index, write_result_t *w,
                             docstore_error_t *err);

/* The batch loop update and delete share: statements from `field` (body array
 * or kind-1 sequence), one transaction, per-statement errors in writeErrors,
 * stopping at the first one when ordered. */
static int run_write_batch(docstore_ctx_t *ctx, const char *db, const bson_t *cmd,
                           const char *name, const char *field, write_stmt_fn fn,
                           bool upserts, bson_t *reply, docstore_error_t *err)
{
    const char *coll;
    bson_t stmts;
    if (docstore_cmd_coll(cmd, &coll, err) || batch_docs(cmd, name, field, &stmts, err))
        return -1;
    bool ordered = docstore_cmd_bool(cmd, "ordered", true);
    if (docstore_storage_begin(ctx->storage, db, err))
        return -1;
    write_result_t w;
    wr_init(&w);
    bson_iter_t it;
    bson_iter_init(&it, &stmts);
    for (size_t i = 0; bson_iter_next(&it); i++) {
        docstore_error_t e = {0};
        bson_t stmt;
        uint32_t len;
        const uint8_t *data;
        if (!BSON_ITER_HOLDS_DOCUMENT(&it)) {
            docstore_error_set(&e, DOCSTORE_TYPE_MISMATCH, "%s statements must be objects", name);
        } else {
            bson_iter_document(&it, &len, &data);
            if (bson_init_static(&stmt, data, len))
                fn(ctx, db, coll, &stmt, i, &w, &e);
        }
        if (e.code) {
            wr_error(&w, i, &e);
            if (ordered)
                break;
        }
    }
    int rc = wr_finish(ctx, db, &w, upserts, reply, err);
    wr_free(&w);
    return rc;
}

static int cmd_update(docstore_ctx_t *ctx, const char *db, const bson_t *cmd, bson_t *reply,
                      docstore_error_t *err)
{
    return run_write_batch(ctx, db, cmd, "update", "updates", update_one_stmt, true, reply, err);
}

static int delete_one_stmt(docstore_ctx_t *ctx, const char *db, const char *coll,
                           const bson_t *stmt, size_t index, write_result_t *w,
                           docstore_error_t *err)
{
    (void)index;
    bson_t q;
    bool has_q;
    int64_t limit;
    if (docstore_cmd_doc(stmt, "delete.deletes", "q", &q, &has_q, err) ||
        docstore_cmd_int64(stmt, "delete.deletes", "limit", 0, &limit, err))
        return -1;
    if (!has_q) {
        docstore_error_set(err, DOCSTORE_LOCATION_40414,
                           "BSON field 'delete.deletes.q' is missing but a required field");
        return -1;
    }
    if (limit != 0 && limit != 1) {
        docstore_error_set(err, DOCSTORE_FAILED_TO_PARSE,
                           "The limit field in delete objects must be 0 or 1. Got %lld",
                           (long long)limit);
        return -1;
    }
    docstore_matcher_t *m = NULL;
    docstore_collation_t *cl = NULL;
    docstore_doclist_t docs;
    docstore_doclist_init(&docs);
    int rc = -1;
    if (docstore_cmd_collation(ctx->storage, db, coll, stmt, &cl, err))
        return -1;
    if (docstore_matcher_new(&q, &m, err) == 0)
        docstore_matcher_set_collation(m, cl);
    if (m == NULL || find_matching(ctx, db, coll, &q, m, (size_t)limit, &docs, err))
        goto out;
    for (size_t i = 0; i < docs.n; i++) {
        if (docstore_storage_delete(ctx->storage, db, coll, docs.docs[i], err))
            goto out;
        w->n++;
    }
    rc = 0;
out:
    docstore_doclist_free(&docs);
    if (m)
        docstore_matcher_free(m);
    docstore_collation_free(cl);
    return rc;
}

static int cmd_delete(docstore_ctx_t *ctx, const char *db, const bson_t *cmd, bson_t *reply,
                      docstore_error_t *err)
{
    return run_write_batch(ctx, db, cmd, "delete", "deletes", delete_one_stmt, false, reply,
                           err);
}

/* ---- findAndModify ---- */

static int project_into(const docstore_projection_t *p, const bson_t *doc, bson_t *reply,
                        docstore_error_t *err)
{
    if (doc == NULL)
        return BSON_APPEND_NULL(reply, "value") ? 0 : -1;
    if (p == NULL)
        return BSON_APPEND_DOCUMENT(reply, "value", doc) ? 0 : -1;
    bson_t out = BSON_INITIALIZER;
    int rc = docstore_projection_apply(p, doc, &out, err);
    if (rc == 0)
        BSON_APPEND_DOCUMENT(reply, "value", &out);
    bson_destroy(&out);
    return rc;
}

static int fam_run(docstore_ctx_t *ctx, const char *db, const char *coll, const bson_t *cmd,
                   bson_t *reply, docstore_error_t *err)
{
    bson_t q, sort, fields, upd, filters;
    bool has_q, has_sort, has_fields, has_af;
    if (docstore_cmd_doc(cmd, "findAndModify", "query", &q, &has_q, err) ||
        docstore_cmd_doc(cmd, "findAndModify", "sort", &sort, &has_sort, err) ||
        docstore_cmd_doc(cmd, "findAndModify", "fields", &fields, &has_fields, err) ||
        docstore_cmd_array(cmd, "findAndModify", "arrayFilters", &filters, &has_af, err))
        return -1;
    bool has_upd = update_spec(cmd, "update", &upd);
    bool remove = docstore_cmd_bool(cmd, "remove", false);
    bool want_new = docstore_cmd_bool(cmd, "new", false);
    bool upsert = docstore_cmd_bool(cmd, "upsert", false);
    if (remove && has_upd) {
        docstore_error_set(err, DOCSTORE_FAILED_TO_PARSE,
                           "Cannot specify both an update and remove=true");
        return -1;
    }
    if (!remove && !has_upd) {
        docstore_error_set(err, DOCSTORE_FAILED_TO_PARSE,
                           "Either an update or remove=true must be specified");
        return -1;
    }
    if (remove && (upsert || want_new)) {
        docstore_error_set(err, DOCSTORE_FAILED_TO_PARSE,
                           "Cannot specify both upsert=true and remove=true");
        return -1;
    }
    bson_t empty = BSON_INITIALIZER;
    const bson_t *filter = has_q ? &q : &empty;
    docstore_collation_t *cl = NULL;
    if (docstore_cmd_collation(ctx->storage, db, coll, cmd, &cl, err))
        return -1;
    docstore_matcher_t *m = NULL;
    docstore_sort_t *s = NULL;
    docstore_projection_t *p = NULL;
    docstore_update_t *up = NULL;
    docstore_doclist_t docs;
    docstore_doclist_init(&docs);
    bson_t newdoc = BSON_INITIALIZER;
    bson_value_t id = {0};
    int rc = -1;
    if (docstore_matcher_new(filter, &m, err) ||
        (has_sort && !bson_empty(&sort) && docstore_sort_new(&sort, &s, err)) ||
        (has_fields && !bson_empty(&fields) && docstore_projection_new(&fields, &p, err)) ||
        (has_upd && docstore_update_new(&upd, has_af ? &filters : NULL, &up, err)))
        goto out;
    docstore_matcher_set_collation(m, cl);
    if (s)
        docstore_sort_set_collation(s, cl);
    /* Only the first document in sort order is wanted: an index walk or a
     * top-1 sort, never every match held. */
    if (s ? read_sorted(ctx, db, coll, filter, m, s, 1, false, DOCSTORE_SORT_FIND, &docs, NULL, err)
          : find_matching(ctx, db, coll, filter, m, 1, &docs, err))
        goto out;
    const bson_t *found = docs.n ? docs.docs[0] : NULL;
    bson_t leo;
    if (found == NULL && !upsert) {
        BSON_APPEND_DOCUMENT_BEGIN(reply, "lastErrorObject", &leo);
        BSON_APPEND_INT32(&leo, "n", 0);
        if (!remove)
            BSON_APPEND_BOOL(&leo, "updatedExisting", false);
        bson_append_document_end(reply, &leo);
        rc = project_into(p, NULL, reply, err);
        goto out;
    }
    if (found == NULL) {
        if (upsert_doc(filter, up, &newdoc, &id, err) ||
            docstore_storage_insert(ctx->storage, db, coll, &newdoc, err))
            goto out;
        BSON_APPEND_DOCUMENT_BEGIN(reply, "lastErrorObject", &leo);
        BSON_APPEND_INT32(&leo, "n", 1);
        BSON_APPEND_BOOL(&leo, "updatedExisting", false);
        BSON_APPEND_VALUE(&leo, "upserted", &id);
        bson_append_document_end(reply, &leo);
        rc = project_into(p, want_new ? &newdoc : NULL, reply, err);
        goto out;
    }
    if (remove) {
        if (docstore_storage_delete(ctx->storage, db, coll, found, err))
            goto out;
        BSON_APPEND_DOCUMENT_BEGIN(reply, "lastErrorObject", &leo);
        BSON_APPEND_INT32(&leo, "n", 1);
        bson_append_document_end(reply, &leo);
        rc = project_into(p, found, reply, err);
        goto out;
    }
    int32_t pos = -1;
    docstore_matcher_matches(m, found, &pos);
    bool changed = false;
    const docstore_collation_t *prev_cl = docstore_expr_set_collation(cl);
    int arc = docstore_update_apply(up, found, pos, false, &newdoc, &changed, err);
    docstore_expr_set_collation(prev_cl);
    if (arc || (changed && docstore_storage_replace(ctx->storage, db, coll, found, &newdoc, err)))
        goto out;
    BSON_APPEND_DOCUMENT_BEGIN(reply, "lastErrorObject", &leo);
    BSON_APPEND_INT32(&leo, "n", 1);
    BSON_APPEND_BOOL(&leo, "updatedExisting", true);
    bson_append_document_end(reply, &leo);
    rc = project_into(p, want_new ? &newdoc : found, reply, err);
out:
    if (id.value_type != BSON_TYPE_EOD)
        bson_value_destroy(&id);
    bson_destroy(&newdoc);
    docstore_doclist_free(&docs);
    if (m)
        docstore_matcher_free(m);
    if (s)
        docstore_sort_free(s);
    if (p)
        docstore_projection_free(p);
    if (up)
        docstore_update_free(up);
    docstore_collation_free(cl);
    return rc;
}

static int cmd_find_and_modify(docstore_ctx_t *ctx, const char *db, const bson_t *cmd,
                               bson_t *reply, docstore_error_t *err)
{
    const char *coll;
    if (docstore_cmd_coll(cmd, &coll, err))
        return -1;
    if (docstore_storage_begin(ctx->storage, db, err))
        return -1;
    if (fam_run(ctx, db, coll, cmd, reply, err)) {
        docstore_storage_rollback(ctx->storage, db);
        return -1;
    }
    return docstore_storage_commit(ctx->storage, db, err);
}

/* ---- count, distinct ---- */

static int cmd_count(docstore_ctx_t *ctx, const char *db, const bson_t *cmd, bson_t *reply,
                     docstore_error_t *err)
{
    const char *coll;
    bson_t q;
    bool has_q;
    int64_t skip, limit;
    if (docstore_cmd_coll(cmd, &coll, err) ||
        docstore_cmd_doc(cmd, "count", "query", &q, &has_q, err) ||
        docstore_cmd_int64(cmd, "count", "skip", 0, &skip, err) ||
        docstore_cmd_int64(cmd, "count", "limit", 0, &limit, err))
        return -1;
    if (skip < 0) {
        docstore_error_set(err, DOCSTORE_FAILED_TO_PARSE, "skip value is negative in count query");
        return -1;
    }
    if (limit < 0)
        limit = -limit;
    bson_t empty = BSON_INITIALIZER;
    const bson_t *filter = has_q ? &q : &empty;
    docstore_matcher_t *m = NULL;
    docstore_collation_t *cl = NULL;
    docstore_doclist_t docs;
    docstore_doclist_init(&docs);
    int rc = -1;
    int64_t total;
    if (docstore_cmd_collation(ctx->storage, db, coll, cmd, &cl, err))
        return -1;
    if (bson_empty(filter)) {
        /* The whole collection: its row count, no documents read. */
        int64_t size;
        int32_t nix;
        docstore_error_t missing = {0};
        if (docstore_storage_collection_stats(ctx->storage, db, coll, &total, &size, &nix,
                                              &missing) != 0)
            total = 0;
        docstore_error_clear(&missing);
    } else {
        size_t matched = 0;
        if (docstore_matcher_new(filter, &m, err) == 0)
            docstore_matcher_set_collation(m, cl);
        if (m == NULL ||
            count_matching(ctx, db, coll, filter, m, limit ? (size_t)(skip + limit) : 0, &matched,
                           err))
            goto out;
        total = (int64_t)matched;
    }
    int64_t n = total - skip;
    if (n < 0)
        n = 0;
    if (limit > 0 && n > limit)
        n = limit;
    BSON_APPEND_INT32(reply, "n", (int32_t)n);
    rc = 0;
out:
    docstore_doclist_free(&docs);
    if (m)
        docstore_matcher_free(m);
    docstore_collation_free(cl);
    return rc;
}

typedef struct distinct_set {
    const docstore_collation_t *coll; /* values equal under it are one (NULL: bytes) */
    buf_t *keys;          /* encoded values, for BSON equality (1 == 1.0) */
    bson_value_t *values; /* copies */
    size_t n, cap;
} distinct_set_t;

static int distinct_add(distinct_set_t *d, const bson_value_t *v)
{
    buf_t k;
    buf_init(&k, DOCSTORE_KEY_MAX);
    bson_value_t norm;
    docstore_error_t ignored = {0};
    if (docstore_collation_normalize(d->coll, v, &norm, &ignored) != 0) {
        docstore_error_clear(&ignored);
        buf_free(&k);
        return -1;
    }
    int krc = docstore_key_append(&k, &norm, false);
    bson_value_destroy(&norm);
    if (krc != 0) {
        buf_free(&k);
        return -1;
    }
    for (size_t i = 0; i < d->n; i++) {
        if (d->keys[i].len == k.len && memcmp(d->keys[i].data, k.data, k.len) == 0) {
            buf_free(&k);
            return 0;
        }
    }
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 16;
        buf_t *nk = realloc(d->keys, cap * sizeof *nk);
        if (nk == NULL) {
            buf_free(&k);
            return -1;
        }
        d->keys = nk;
        bson_value_t *nv = realloc(d->values, cap * sizeof *nv);
        if (nv == NULL) {
            buf_free(&k);
            return -1;
        }
        d->values = nv;
        d->cap = cap;
    }
    d->keys[d->n] = k;
    bson_value_copy(v, &d->values[d->n]);
    d->n++;
    return 0;
}

/* The values at path in a document, arrays unwound one level at the end and
 * traversed in the middle, as distinct reads them. */
static int distinct_collect(distinct_set_t *d, const uint8_t *data, uint32_t len, const char *path,
                            int depth)
{
    if (depth > 100)
        return 0;
    bson_t doc;
    bson_iter_t it;
    const char *dot = strchr(path, '.');
    size_t clen = dot ? (size_t)(dot - path) : strlen(path);
    if (!bson_init_static(&doc, data, len) || !bson_iter_init(&it, &doc))
        return 0;
    while (bson_iter_next(&it)) {
        if (bson_iter_key_len(&it) != clen || memcmp(bson_iter_key(&it), path, clen) != 0)
            continue;
        const bson_value_t *v = bson_iter_value(&it);
        if (v->value_type == BSON_TYPE_ARRAY) {
            bson_iter_t ai;
            bson_iter_recurse(&it, &ai);
            while (bson_iter_next(&ai)) {
                const bson_value_t *ev = bson_iter_value(&ai);
                if (dot == NULL) {
                    if (distinct_add(d, ev))
                        return -1;
                } else if (ev->value_type == BSON_TYPE_DOCUMENT) {
                    if (distinct_collect(d, ev->value.v_doc.data, ev->value.v_doc.data_len, dot + 1,
                                         depth + 1))
                        return -1;
                }
            }
        } else if (dot == NULL) {
            return distinct_add(d, v);
        } else if (v->value_type == BSON_TYPE_DOCUMENT) {
            return distinct_collect(d, v->value.v_doc.data, v->value.v_doc.data_len, dot + 1,
                                    depth + 1);
        }
        return 0;
    }
    return 0;
}

static int cmd_distinct(docstore_ctx_t *ctx, const char *db, const bson_t *cmd, bson_t *reply,
                        docstore_error_t *err)
{
    const char *coll;
    bson_t q;
    bool has_q;
    bson_iter_t it;
    if (docstore_cmd_coll(cmd, &coll, err) ||
        docstore_cmd_doc(cmd, "distinct", "query", &q, &has_q, err))
        return -1;
    if (!bson_iter_init_find(&it, cmd, "key") || !BSON_ITER_HOLDS_UTF8(&it)) {
        docstore_error_set(err, DOCSTORE_TYPE_MISMATCH,
                           "BSON field 'distinct.key' is missing or not a string");
        return -1;
    }
    const char *key = bson_iter_utf8(&it, NULL);
    bson_t empty = BSON_INITIALIZER;
    const bson_t *filter = has_q ? &q : &empty;
    docstore_matcher_t *m = NULL;
    docstore_collation_t *cl = NULL;
    docstore_doclist_t docs;
    docstore_doclist_init(&docs);
    distinct_set_t set = {0};
    int rc = -1;
    if (docstore_cmd_collation(ctx->storage, db, coll, cmd, &cl, err))
        return -1;
    if (docstore_matcher_new(filter, &m, err) == 0)
        docstore_matcher_set_collation(m, cl);
    if (m == NULL || find_matching(ctx, db, coll, filter, m, 0, &docs, err))
        goto out;
    set.coll = cl;
    for (size_t i = 0; i < docs.n; i++) {
        if (distinct_collect(&set, bson_get_data(docs.docs[i]), docs.docs[i]->len, key, 0)) {
            docstore_error_set(err, DOCSTORE_INTERNAL_ERROR, "out of memory in distinct");
            goto out;
        }
    }
    bson_t arr;
    BSON_APPEND_ARRAY_BEGIN(reply, "values", &arr);
    for (size_t i = 0; i < set.n; i++) {
        char k[16];
        const char *ks;
        bson_uint32_to_string((uint32_t)i, &ks, k, sizeof k);
        bson_append_value(&arr, ks, -1, &set.values[i]);
    }
    bson_append_array_end(reply, &arr);
    rc = 0;
out:
    for (size_t i = 0; i < set.n; i++) {
        buf_free(&set.keys[i]);
        bson_value_destroy(&set.values[i]);
    }
    free(set.keys);
    free(set.values);
    docstore_doclist_free(&docs);
    if (m)
        docstore_matcher_free(m);
    docstore_collation_free(cl);
    return rc;
}

/* ---- aggregate ---- */

/* A collection-less aggregate: the first stage must be {$currentOp: {...}} on
 * admin. Fills docs with its entries and rest with the stages after it. */
static int current_op_source(docstore_ctx_t *ctx, const char *db, const bson_t *pipe,
                             docstore_doclist_t *docs, bson_t *rest, docstore_error_t *err)
{
    bson_iter_t it, stage, opt;
    if (!bson_iter_init(&it, pipe) || !bson_iter_next(&it) || !BSON_ITER_HOLDS_DOCUMENT(&it) ||
        !bson_iter_recurse(&it, &stage) || !bson_iter_next(&stage) ||
        strcmp(bson_iter_key(&stage), "$currentOp") != 0)
        return not_supported(err, "aggregate without a collection, other than $currentOp");
    if (strcmp(db, "admin") != 0) {
        docstore_error_set(err, DOCSTORE_INVALID_NAMESPACE,
                           "$currentOp must be run against the 'admin' database "
                           "with {aggregate: 1}");
        return -1;
    }
    bool idle = false, all_users = false;
    if (BSON_ITER_HOLDS_DOCUMENT(&stage) && bson_iter_recurse(&stage, &opt)) {
        while (bson_iter_next(&opt)) {
            if (strcmp(bson_iter_key(&opt), "idleConnections") == 0)
                idle = bson_iter_as_bool(&opt);
            else if (strcmp(bson_iter_key(&opt), "allUsers") == 0)
                all_users = bson_iter_as_bool(&opt);
        }
    }
    if (docstore_admin_current_op(ctx, idle, all_users, docs, err))
        return -1;
    uint32_t i = 0;
    while (bson_iter_next(&it)) {
        char k[16];
        const char *ks;
        bson_uint32_to_string(i++, &ks, k, sizeof k);
        bson_append_iter(rest, ks, -1, &it);
    }
    return 0;
}

static int cmd_aggregate(docstore_ctx_t *ctx, const char *db, const bson_t *cmd, bson_t *reply,
                         docstore_error_t *err)
{
    bson_iter_t it;
    if (!bson_iter_init(&it, cmd) || !bson_iter_next(&it))
        return -1;
    const char *coll = NULL;
    bson_t pipe, cursor;
    bool has_pipe, has_cursor;
    int64_t batch = -1;
    if ((BSON_ITER_HOLDS_UTF8(&it) && docstore_cmd_coll(cmd, &coll, err)) ||
        docstore_cmd_array(cmd, "aggregate", "pipeline", &pipe, &has_pipe, err) ||
        docstore_cmd_doc(cmd, "aggregate", "cursor", &cursor, &has_cursor, err))
        return -1;
    if (docstore_cmd_bool(cmd, "explain", false))
        return docstore_explain_aggregate(ctx, db, cmd, NULL, reply, err);
    if (!has_pipe) {
        docstore_error_set(err, DOCSTORE_LOCATION_40414,
                           "BSON field 'aggregate.pipeline' is missing but a required field");
        return -1;
    }
    if (!has_cursor) {
        docstore_error_set(err, DOCSTORE_FAILED_TO_PARSE,
                           "The 'cursor' option is required, except for aggregate with the "
                           "explain argument");
        return -1;
    }
    if (docstore_cmd_int64(&cursor, "aggregate.cursor", "batchSize", -1, &batch, err))
        return -1;
    docstore_collation_t *cl = NULL;
    if (docstore_cmd_collation(ctx->storage, db, coll, cmd, &cl, err))
        return -1;
    docstore_pipeline_t *p = NULL;
    docstore_matcher_t *m = NULL;
    const docstore_sort_t *lead_sort = NULL;
    bool disk_use = docstore_cmd_bool(cmd, "allowDiskUse", false);
    docstore_doclist_t docs;
    docstore_doclist_init(&docs);
    bson_t rest = BSON_INITIALIZER;
    int rc = -1;
    if (coll == NULL) {
        /* aggregate: 1 — only {$currentOp} on admin as the first stage (mongosh's
         * db.currentOp()); its documents feed the rest of the pipeline. */
        if (current_op_source(ctx, db, &pipe, &docs, &rest, err))
            goto out;
        if (docstore_pipeline_new(&rest, &p, err))
            goto out;
    } else {
        if (docstore_pipeline_new(&pipe, &p, err))
            goto out;
        docstore_pipeline_set_disk_use(p, disk_use);
        docstore_pipeline_set_collation(p, cl);
        const bson_t *lead = docstore_pipeline_leading_match(p);
        size_t keep = 0;
        lead_sort = docstore_pipeline_leading_sort(p, &keep);
        if (lead_sort) {
            /* [$match] $sort [$limit]: matched and sorted while reading, through
             * an index or a bounded top-k sort, never the whole collection. */
            if (lead && docstore_matcher_new(lead, &m, err))
                goto out;
            if (m)
                docstore_matcher_set_collation(m, cl);
            if (read_sorted(ctx, db, coll, lead, m, lead_sort, keep, disk_use,
                            DOCSTORE_SORT_AGGREGATE, &docs, NULL, err))
                goto out;
        } else if (find_matching(ctx, db, coll, cl != NULL ? NULL : lead, NULL, 0, &docs, err)) {
            goto out;
        }
    }
    void *rctx[2] = {ctx, (void *)(uintptr_t)db};
    if ((lead_sort ? docstore_pipeline_run_sorted : docstore_pipeline_run)(p, &docs, reader_cb,
                                                                           rctx, err))
        goto out;
    char ns[NS_MAX];
    docstore_cmd_ns(ns, sizeof ns, db, coll ? coll : "$cmd.aggregate");
    rc = docstore_cursor_reply(ctx, ns, &docs, batch, false, reply, err);
out:
    bson_destroy(&rest);
    docstore_doclist_free(&docs);
    if (m)
        docstore_matcher_free(m);
    if (p)
        docstore_pipeline_free(p);
    docstore_collation_free(cl);
    return rc;
}

const docstore_command_t docstore_crud_commands[] = {
    {"insert", cmd_insert, DOCSTORE_CMD_WRITE},
    {"find", cmd_find, DOCSTORE_CMD_MAX_TIME},
    {"update", cmd_update, DOCSTORE_CMD_WRITE | DOCSTORE_CMD_MAX_TIME},
    {"delete", cmd_delete, DOCSTORE_CMD_WRITE | DOCSTORE_CMD_MAX_TIME},
    {"findAndModify", cmd_find_and_modify, DOCSTORE_CMD_WRITE | DOCSTORE_CMD_MAX_TIME},
    {"findandmodify", cmd_find_and_modify, DOCSTORE_CMD_WRITE | DOCSTORE_CMD_MAX_TIME},
    {"count", cmd_count, DOCSTORE_CMD_MAX_TIME},
    {"distinct", cmd_distinct, DOCSTORE_CMD_MAX_TIME},
    {"aggregate", cmd_aggregate, DOCSTORE_CMD_MAX_TIME},
    {NULL, NULL, 0},
};
