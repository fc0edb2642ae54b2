/*
 * Storage: streamed scans, the resumable reads behind cursors. A stream
 * remembers where it stopped (a rid, an encoded _id, or an index key and rid)
 * and the collection and index it read, so each getMore call reads on from
 * there, and fails with a clear error when the collection or index is gone.
 */
#include "docstore/storage/storage_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum stream_kind {
    STREAM_UNSTARTED = 0, /* no call yet */
    STREAM_EMPTY,         /* the collection did not exist at the first call */
    STREAM_RIDS,          /* rid order: a full scan, or an index's rids */
    STREAM_IDS,           /* _id order: the filter's _id ranges */
    STREAM_ORDERED,       /* a sort's order: an index walk */
} stream_kind_t;

struct docstore_stream {
    stream_kind_t kind;
    const bson_t *filter; /* the caller's until docstore_stream_keep, then copy; NULL: all */
    bson_t *copy;         /* owned: the filter's copy, or NULL */
    uint8_t uuid[16];     /* the collection the first call read */
    int64_t index_id;     /* the index the first call read (table i<id>); 0: none or several */
    char *index_name;     /* its name (the error when it is dropped) */
    int64_t last_rid;     /* STREAM_RIDS: the last rid consumed */
    buf_t last_id;        /* STREAM_IDS: the encoded _id of the last document consumed */
    int64_t *win;         /* STREAM_RIDS through an index: the next rids, ascending */
    size_t win_n;         /* rids in win */
    size_t win_pos;       /* next one to read */
    bool win_last;        /* the last refill found everything left: no more refills */
    /* STREAM_ORDERED: the walk, and the (key, rid) of the last entry consumed */
    size_t target; /* the index walked (its position when the first call planned) */
    size_t off;    /* leading index fields the filter fixes */
    bool reverse;  /* keys walked backwards */
    buf_t last_k;  /* its index key (empty: none yet) */
};

int docstore_stream_new(const bson_t *filter, docstore_stream_t **out)
{
    docstore_stream_t *s = calloc(1, sizeof *s);
    *out = s;
    if (s == NULL)
        return -1;
    buf_init(&s->last_id, DOCSTORE_KEY_MAX);
    buf_init(&s->last_k, DOCSTORE_KEY_MAX);
    s->filter = filter;
    return 0;
}

int docstore_stream_keep(docstore_stream_t *s)
{
    if (s->filter == NULL || s->copy != NULL)
        return 0;
    if ((s->copy = bson_copy(s->filter)) == NULL)
        return -1;
    s->filter = s->copy;
    return 0;
}

void docstore_stream_free(docstore_stream_t *s)
{
    if (s == NULL)
        return;
    if (s->copy != NULL)
        bson_destroy(s->copy);
    buf_free(&s->last_id);
    buf_free(&s->last_k);
    free(s->index_name);
    free(s->win);
    free(s);
}

int64_t docstore_stream_bytes(const docstore_stream_t *s)
{
    /* the window counted whether allocated yet or not: the charge stays put */
    return (int64_t)(sizeof *s + (s->filter ? s->filter->len : 0) + s->last_id.cap + s->last_k.cap +
                     DOCSTORE_STREAM_WINDOW * sizeof *s->win);
}

/* Keeps the first DOCSTORE_STREAM_WINDOW distinct rids of v, ascending. */
static void window_trim(st_ridvec_t *v)
{
    if (v->n > 1)
        qsort(v->v, v->n, sizeof *v->v, st_rid_cmp);
    size_t w = 0;
    for (size_t i = 0; i < v->n && w < DOCSTORE_STREAM_WINDOW; i++) {
        if (w == 0 || v->v[i] != v->v[w - 1])
            v->v[w++] = v->v[i];
    }
    v->n = w;
}

/* Appends the smallest rids above after of plan p's ranges (and its $or
 * branches), at most a window of each range. */
static int window_collect(st_db_t *d, st_coll_t *c, const st_plan_t *p, int64_t after,
                          st_ridvec_t *out, docstore_error_t *err)
{
    for (size_t b = 0; b < p->nbranches; b++) {
        if (window_collect(d, c, &p->branches[b], after, out, err))
            return -1;
    }
    if (p->nbranches > 0)
        return 0;
    size_t target = (size_t)(p->score % 1000);
    char bounded[160], open[160];
    if (target == c->nindexes) { /* "+rid": walk the id index, not the rows in rid order */
        snprintf(bounded, sizeof bounded,
                 "SELECT rid FROM c%lld WHERE id >= ?1 AND id < ?2 AND +rid > ?3 "
                 "ORDER BY +rid LIMIT %d",
                 (long long)c->id, DOCSTORE_STREAM_WINDOW);
        snprintf(open, sizeof open,
                 "SELECT rid FROM c%lld WHERE id >= ?1 AND +rid > ?3 ORDER BY +rid LIMIT %d",
                 (long long)c->id, DOCSTORE_STREAM_WINDOW);
    } else {
        long long id = (long long)c->indexes[target].id;
        snprintf(bounded, sizeof bounded,
                 "SELECT rid FROM i%lld WHERE k >= ?1 AND k < ?2 AND rid > ?3 "
                 "ORDER BY rid LIMIT %d",
                 id, DOCSTORE_STREAM_WINDOW);
        snprintf(open, sizeof open,
                 "SELECT rid FROM i%lld WHERE k >= ?1 AND rid > ?3 ORDER BY rid LIMIT %d", id,
                 DOCSTORE_STREAM_WINDOW);
    }
    for (size_t i = 0; i < p->n; i++) {
        sqlite3_stmt *s;
        if (st_stmt(d, p->r[i].hi.len ? bounded : open, &s, err))
            return -1;
        st_bind_range(s, &p->r[i]);
        sqlite3_bind_int64(s, 3, after);
        if (st_ridvec_read(d, s, out, err) != 0)
            return -1;
        if (out->n > 2 * DOCSTORE_STREAM_WINDOW)
            window_trim(out); /* bounded however many ranges */
    }
    return 0;
}

/* Refills s's window with the next rids of plan p after s->last_rid. */
static int window_refill(docstore_stream_t *s, st_db_t *d, st_coll_t *c, const st_plan_t *p,
                         docstore_error_t *err)
{
    st_ridvec_t v = {0};
    if (window_collect(d, c, p, s->last_rid, &v, err)) {
        free(v.v);
        return -1;
    }
    window_trim(&v);
    if (s->win == NULL && (s->win = malloc(DOCSTORE_STREAM_WINDOW * sizeof *s->win)) == NULL) {
        free(v.v);
        docstore_error_set(err, DOCSTORE_INTERNAL_ERROR, "storage: out of memory");
        return -1;
    }
    if (v.n > 0)
        memcpy(s->win, v.v, v.n * sizeof *v.v);
    s->win_n = v.n;
    s->win_pos = 0;
    s->win_last = v.n < DOCSTORE_STREAM_WINDOW;
    free(v.v);
    return 0;
}

/* STREAM_RIDS through plan p: the window's documents, refilled as it runs out. */
static int stream_rids_plan(docstore_storage_t *st, docstore_stream_t *s, st_db_t *d, st_coll_t *c,
                            const st_plan_t *p, docstore_stream_cb cb, void *ctx,
                            docstore_error_t *err)
{
    char sql[64];
    snprintf(sql, sizeof sql, "SELECT doc FROM c%lld WHERE rid = ?1", (long long)c->id);
    for (;;) {
        while (s->win_pos < s->win_n && s->win[s->win_pos] <= s->last_rid)
            s->win_pos++;
        if (s->win_pos == s->win_n) {
            if (s->win != NULL && s->win_last)
                return 0;
            if (window_refill(s, d, c, p, err))
                return -1;
            if (s->win_n == 0)
                return 0;
        }
        int64_t rid = s->win[s->win_pos];
        sqlite3_stmt *q;
        if (st_stmt(d, sql, &q, err))
            return -1;
        sqlite3_bind_int64(q, 1, rid);
        docstore_stream_step_t step = DOCSTORE_STREAM_NEXT;
        int r = sqlite3_step(q);
        if (r == SQLITE_ROW) {
            bson_t doc;
            if (bson_init_static(&doc, sqlite3_column_blob(q, 0),
                                 (size_t)sqlite3_column_bytes(q, 0))) {
                st->docs_examined++;
                step = cb(ctx, &doc, rid);
            }
        }
        st_stmt_done(d, q);
        if (r != SQLITE_ROW && r != SQLITE_DONE)
            return st_sql_error(d, "scan", err);
        if (step == DOCSTORE_STREAM_STOP)
            return 0;
        s->last_rid = rid; /* consumed, or deleted since the refill */
        s->win_pos++;
        if (step == DOCSTORE_STREAM_LAST)
            return 0;
    }
}

/* STREAM_RIDS without an index: the rows after s->last_rid. */
static int stream_rids_scan(docstore_storage_t *st, docstore_stream_t *s, st_db_t *d, st_coll_t *c,
                            docstore_stream_cb cb, void *ctx, docstore_error_t *err)
{
    char sql[80];
    snprintf(sql, sizeof sql, "SELECT rid, doc FROM c%lld WHERE rid > ?1 ORDER BY rid",
             (long long)c->id);
    sqlite3_stmt *q;
    if (st_stmt(d, sql, &q, err))
        return -1;
    sqlite3_bind_int64(q, 1, s->last_rid);
    int r;
    docstore_stream_step_t step = DOCSTORE_STREAM_NEXT;
    while (step == DOCSTORE_STREAM_NEXT && (r = sqlite3_step(q)) == SQLITE_ROW) {
        bson_t doc;
        int64_t rid = sqlite3_column_int64(q, 0);
        if (!bson_init_static(&doc, sqlite3_column_blob(q, 1), (size_t)sqlite3_column_bytes(q, 1)))
            continue;
        st->docs_examined++;
        step = cb(ctx, &doc, rid);
        if (step != DOCSTORE_STREAM_STOP)
            s->last_rid = rid;
    }
    st_stmt_done(d, q);
    if (step == DOCSTORE_STREAM_NEXT && r != SQLITE_DONE)
        return st_sql_error(d, "scan", err);
    return 0;
}

/* STREAM_IDS: plan p's _id ranges (sorted, disjoint) from after s->last_id. */
static int stream_ids(docstore_storage_t *st, docstore_stream_t *s, st_db_t *d, st_coll_t *c,
                      const st_plan_t *p, docstore_stream_cb cb, void *ctx, docstore_error_t *err)
{
    char bounded[128], open[128];
    snprintf(bounded, sizeof bounded,
             "SELECT id, rid, doc FROM c%lld WHERE id >= ?1 AND id < ?2 AND id > ?3 ORDER BY id",
             (long long)c->id);
    snprintf(open, sizeof open,
             "SELECT id, rid, doc FROM c%lld WHERE id >= ?1 AND id > ?3 ORDER BY id",
             (long long)c->id);
    docstore_stream_step_t step = DOCSTORE_STREAM_NEXT;
    for (size_t i = 0; i < p->n && step == DOCSTORE_STREAM_NEXT; i++) {
        if (s->last_id.len > 0 && p->r[i].hi.len > 0 && st_cmp_bytes(&p->r[i].hi, &s->last_id) <= 0)
            continue; /* read in an earlier call */
        sqlite3_stmt *q;
        if (st_stmt(d, p->r[i].hi.len ? bounded : open, &q, err))
            return -1;
        st_bind_range(q, &p->r[i]);
        sqlite3_bind_blob(q, 3, s->last_id.len ? s->last_id.data : "", (int)s->last_id.len,
                          SQLITE_TRANSIENT);
        int r = SQLITE_DONE, rc = 0;
        while (step == DOCSTORE_STREAM_NEXT && (r = sqlite3_step(q)) == SQLITE_ROW) {
            bson_t doc;
            if (!bson_init_static(&doc, sqlite3_column_blob(q, 2),
                                  (size_t)sqlite3_column_bytes(q, 2)))
                continue;
            st->docs_examined++;
            step = cb(ctx, &doc, sqlite3_column_int64(q, 1));
            if (step != DOCSTORE_STREAM_STOP) {
                buf_reset(&s->last_id);
                rc = buf_append(&s->last_id, sqlite3_column_blob(q, 0),
                                (size_t)sqlite3_column_bytes(q, 0));
                if (rc != 0)
                    break;
            }
        }
        st_stmt_done(d, q);
        if (rc != 0) {
            docstore_error_set(err, DOCSTORE_INTERNAL_ERROR, "storage: out of memory");
            return -1;
        }
        if (step == DOCSTORE_STREAM_NEXT && r != SQLITE_DONE)
            return st_sql_error(d, "scan", err);
    }
    return 0;
}

/* The 175 QueryPlanKilled of a stream whose collection is gone from under it. */
static int stream_killed(st_db_t *d, const docstore_stream_t *s, const char *db, const char *coll,
                         docstore_error_t *err)
{
    char uuid[40];
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            uuid[o++] = '-';
        uuid[o++] = hex[s->uuid[i] >> 4];
        uuid[o++] = hex[s->uuid[i] & 15];
    }
    uuid[o] = '\0';
    for (size_t i = 0; d != NULL && i < d->ncolls; i++) {
        if (memcmp(d->colls[i].uuid, s->uuid, 16) == 0) {
            docstore_error_set(err, DOCSTORE_QUERY_PLAN_KILLED,
                               "collection renamed from '%s.%s' to '%s.%s'. UUID %s", db, coll, db,
                               d->colls[i].name, uuid);
            return -1;
        }
    }
    docstore_error_set(err, DOCSTORE_QUERY_PLAN_KILLED, "collection dropped. UUID %s", uuid);
    return -1;
}

/* The collection of a started stream, checked: 175 when it or the index the
 * stream reads went since its first call. */
static int stream_coll(st_db_t *d, docstore_stream_t *s, const char *db, const char *coll,
                       st_coll_t **out, docstore_error_t *err)
{
    st_coll_t *c = d ? st_coll_find(d, coll) : NULL;
    *out = c;
    if (c == NULL || memcmp(c->uuid, s->uuid, 16) != 0)
        return stream_killed(d, s, db, coll, err);
    for (size_t i = 0; s->index_id != 0 && i < c->nindexes; i++) {
        if (c->indexes[i].id == s->index_id) {
            s->target = i;
            return 0;
        }
    }
    if (s->index_id == 0)
        return 0;
    docstore_error_set(err, DOCSTORE_QUERY_PLAN_KILLED, "index '%s' dropped", s->index_name);
    return -1;
}

/* One query of an ordered stream: sql bound by range r (or none) and the
 * position, handing each document on until cb stops or a first call meets a
 * key that cannot order its value (*ambiguous). */
static int ordered_query(st_walk_t *w, docstore_stream_t *s, const char *sql, const st_range_t *r,
                         bool first, bool *stop, docstore_stream_cb cb, void *ctx,
                         docstore_error_t *err)
{
    sqlite3_stmt *q;
    if (st_stmt(w->d, sql, &q, err))
        return -1;
    if (r != NULL)
        st_bind_range(q, r);
    sqlite3_bind_blob(q, 3, s->last_k.len ? s->last_k.data : "", (int)s->last_k.len,
                      SQLITE_TRANSIENT);
    sqlite3_bind_int64(q, 4, s->last_rid);
    buf_t key;
    buf_init(&key, DOCSTORE_KEY_MAX);
    int rc = 0, step = SQLITE_DONE;
    while (!*stop && (step = sqlite3_step(q)) == SQLITE_ROW) {
        bson_t doc;
        if (!bson_init_static(&doc, sqlite3_column_blob(q, 0), (size_t)sqlite3_column_bytes(q, 0)))
            continue;
        w->ambiguous = false;
        if (st_walk_key(w, &doc, &key, err) != 0) {
            rc = -1;
            break;
        }
        docstore_stream_step_t st = DOCSTORE_STREAM_NEXT;
        docstore_keyset_t ks;
        bool array = false;
        if (w->ambiguous) {
            /* an array since the first call (the index is multikey now): its
             * entries are not the sort's order, and one per element; skipped */
            if (docstore_keyset_build(&ks, &doc, w->fields, w->desc, w->nsort, err) != 0) {
                rc = -1;
                break;
            }
            array = ks.n != 1;
            docstore_keyset_free(&ks);
            if (first && !array) {
                *stop = true; /* the caller sorts in memory instead */
                break;
            }
        }
        if (!array) {
            w->st->docs_examined++;
            st = cb(ctx, &doc, sqlite3_column_int64(q, 1));
        }
        if (st == DOCSTORE_STREAM_STOP) {
            *stop = true;
            break;
        }
        buf_reset(&s->last_k);
        if (buf_append(&s->last_k, sqlite3_column_blob(q, 2), (size_t)sqlite3_column_bytes(q, 2))) {
            docstore_error_set(err, DOCSTORE_INTERNAL_ERROR, "storage: out of memory");
            rc = -1;
            break;
        }
        s->last_rid = sqlite3_column_int64(q, 1);
        if (st == DOCSTORE_STREAM_LAST)
            *stop = true;
    }
    st_stmt_done(w->d, q);
    buf_free(&key);
    if (rc == 0 && !*stop && step != SQLITE_DONE)
        return st_sql_error(w->d, "ordered scan", err);
    return rc;
}

int docstore_storage_scan_stream_ordered(docstore_storage_t *st, const char *db, const char *coll,
                                         docstore_stream_t *s, const char *const *fields,
                                         const int *dirs, size_t n, docstore_stream_cb cb,
                                         void *ctx, bool *ordered, docstore_error_t *err)
{
    *ordered = true;
    if (s->kind == STREAM_EMPTY)
        return 0;
    st_db_t *d;
    if (st_db_get(st, db, false, &d, err))
        return -1;
    st_coll_t *c;
    bool first = s->kind == STREAM_UNSTARTED;
    st_plan_t best = {.score = ST_PLAN_NONE};
    if (first) {
        if ((c = d ? st_coll_find(d, coll) : NULL) == NULL) {
            s->kind = STREAM_EMPTY;
            return 0;
        }
        *ordered = false;
        if (n == 0 || n > 32)
            return 0;
        if (s->filter)
            st_plan_conditions(s->filter, s->filter, c, NULL, &best, 0);
        st_plan_normalize(&best);
        s->target = st_plan_ordered_target(c, s->filter, NULL, &best, fields, dirs, n, &s->off,
                                           &s->reverse);
        size_t nfields = s->target < c->nindexes ? c->indexes[s->target].nfields : 1;
        if (s->target > c->nindexes || s->off + n != nfields) {
            st_plan_free(&best); /* no walk, or ties that need reordering: not streamed */
            return 0;
        }
        memcpy(s->uuid, c->uuid, 16);
        if (s->target < c->nindexes) {
            s->index_id = c->indexes[s->target].id;
            if ((s->index_name = strdup(c->indexes[s->target].name)) == NULL) {
                st_plan_free(&best);
                docstore_error_set(err, DOCSTORE_INTERNAL_ERROR, "storage: out of memory");
                return -1;
            }
        }
        s->kind = STREAM_ORDERED;
    } else {
        if (stream_coll(d, s, db, coll, &c, err))
            return -1;
        if (s->index_id == 0)
            s->target = c->nindexes;
        if (s->filter)
            st_plan_conditions(s->filter, s->filter, c, NULL, &best, 0);
        st_plan_normalize(&best);
        if (best.score == ST_PLAN_NONE || best.nbranches > 0 ||
            (size_t)(best.score % 1000) != s->target) {
            st_plan_free(&best); /* the walk's own ranges go: every key (the matcher filters) */
            best = (st_plan_t){.score = ST_PLAN_NONE};
        }
    }
    if (best.score == ST_PLAN_NONE && st_plan_add(&best) == NULL) { /* one range: every key */
        st_plan_free(&best);
        docstore_error_set(err, DOCSTORE_INTERNAL_ERROR, "storage: out of memory");
        return -1;
    }
    static const bool ascending[1] = {false};
    const st_index_t *ix = s->target == c->nindexes ? NULL : &c->indexes[s->target];
    st_walk_t w = {.st = st,
                   .d = d,
                   .c = c,
                   .ix = ix,
                   .fields = fields,
                   .desc = ix ? ix->desc + s->off : ascending,
                   .nsort = n,
                   .reverse = s->reverse};
    char tie[224], bounded[320], open[320];
    const char *cmp = s->reverse ? "<" : ">", *order = s->reverse ? "DESC" : "ASC";
    if (ix == NULL) {
        snprintf(tie, sizeof tie, "SELECT doc, rid, id FROM c%lld WHERE id = ?3 AND rid > ?4",
                 (long long)c->id);
        snprintf(bounded, sizeof bounded,
                 "SELECT doc, rid, id FROM c%lld WHERE id >= ?1 AND id < ?2 AND id %s ?3 "
                 "ORDER BY id %s",
                 (long long)c->id, s->last_k.len ? cmp : "<>", order);
        snprintf(open, sizeof open,
                 "SELECT doc, rid, id FROM c%lld WHERE id >= ?1 AND id %s ?3 ORDER BY id %s",
                 (long long)c->id, s->last_k.len ? cmp : "<>", order);
    } else {
        long long iid = (long long)ix->id, cid = (long long)c->id;
        snprintf(tie, sizeof tie,
                 "SELECT c.doc, i.rid, i.k FROM i%lld AS i CROSS JOIN c%lld AS c ON c.rid = i.rid "
                 "WHERE i.k = ?3 AND i.rid > ?4 ORDER BY i.rid",
                 iid, cid);
        snprintf(bounded, sizeof bounded,
                 "SELECT c.doc, i.rid, i.k FROM i%lld AS i CROSS JOIN c%lld AS c ON c.rid = i.rid "
                 "WHERE i.k >= ?1 AND i.k < ?2 AND i.k %s ?3 ORDER BY i.k %s, i.rid ASC",
                 iid, cid, s->last_k.len ? cmp : "<>", order);
        snprintf(open, sizeof open,
                 "SELECT c.doc, i.rid, i.k FROM i%lld AS i CROSS JOIN c%lld AS c ON c.rid = i.rid "
                 "WHERE i.k >= ?1 AND i.k %s ?3 ORDER BY i.k %s, i.rid ASC",
                 iid, cid, s->last_k.len ? cmp : "<>", order);
    }
    bool stop = false;
    int rc = 0;
    if (s->last_k.len > 0) /* the rest of the run of ties in progress, in rid order */
        rc = ordered_query(&w, s, tie, NULL, false, &stop, cb, ctx, err);
    for (size_t i = 0; i < best.n && !stop && rc == 0; i++) {
        const st_range_t *r = &best.r[s->reverse ? best.n - 1 - i : i];
        rc = ordered_query(&w, s, r->hi.len ? bounded : open, r, first, &stop, cb, ctx, err);
    }
    if (rc == 0 && first && w.ambiguous)
        *ordered = false;
    else
        *ordered = true;
    st_plan_free(&best);
    return rc;
}

int docstore_storage_scan_stream(docstore_storage_t *st, const char *db, const char *coll,
                                 docstore_stream_t *s, docstore_stream_cb cb, void *ctx,
                                 docstore_error_t *err)
{
    if (s->kind == STREAM_EMPTY)
        return 0;
    st_db_t *d;
    if (st_db_get(st, db, false, &d, err))
        return -1;
    st_coll_t *c = d ? st_coll_find(d, coll) : NULL;
    if (s->kind == STREAM_UNSTARTED) {
        if (c == NULL) {
            s->kind = STREAM_EMPTY;
            return 0;
        }
        memcpy(s->uuid, c->uuid, 16);
    } else if (stream_coll(d, s, db, coll, &c, err)) {
        return -1;
    }
    st_plan_t best = {.score = ST_PLAN_NONE};
    if (s->kind == STREAM_IDS) {
        st_coll_t only_id = *c; /* the same _id ranges, whatever indexes came since */
        only_id.nindexes = 0;
        st_plan_conditions(s->filter, s->filter, &only_id, NULL, &best, 0);
    } else if (s->filter != NULL) {
        st_plan_conditions(s->filter, s->filter, c, NULL, &best, 0);
    }
    st_plan_normalize(&best);
    size_t target = (size_t)(best.score % 1000);
    if (s->kind == STREAM_UNSTARTED) {
        s->kind = best.score < ST_PLAN_NONE && best.nbranches == 0 && target == c->nindexes
                      ? STREAM_IDS
                      : STREAM_RIDS;
        if (best.score < ST_PLAN_NONE && best.nbranches == 0 && target < c->nindexes) {
            s->index_id = c->indexes[target].id;
            if ((s->index_name = strdup(c->indexes[target].name)) == NULL) {
                st_plan_free(&best);
                docstore_error_set(err, DOCSTORE_INTERNAL_ERROR, "storage: out of memory");
                return -1;
            }
        }
    }
    int rc;
    if (s->kind == STREAM_IDS)
        rc = stream_ids(st, s, d, c, &best, cb, ctx, err);
    else if (best.score < ST_PLAN_NONE)
        rc = stream_rids_plan(st, s, d, c, &best, cb, ctx, err);
    else
        rc = stream_rids_scan(st, s, d, c, cb, ctx, err);
    st_plan_free(&best);
    return rc;
}
