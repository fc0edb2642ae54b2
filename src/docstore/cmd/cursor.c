/*
 * Cursors: the rest of a result set waiting for getMore, either materialized
 * or, for a streamed find, a docstore_stream_t position that reads each next
 * batch from storage (docstore_storage_scan_stream[_ordered]). One
 * table per server (a getMore may come on another pooled connection), keyed
 * by a random 63-bit id. A cursor records the connection that opened it and
 * the session (lsid) it belongs to: endSessions/killSessions free a session's
 * cursors, a closed connection frees its session-less ones, and the server's
 * 1 s tick frees any cursor idle for 10 minutes.
 *
 * A second table holds the sessions that have cursors: the connections that
 * used each (any command carrying its lsid) and when it was last used. When
 * the last of them closes, the session's cursors go with it; a session unused
 * for the session timeout (localLogicalSessionTimeoutMinutes) ends too. The
 * bytes the cursors hold are counted against the server's cap. See cursor.h.
 */
#include "docstore/base/clock.h"
#include "docstore/base/deadline.h"
#include "docstore/cmd/cursor.h"
#include "docstore/cmd/cmd_auth.h"
#include "docstore/net/conn.h"
#include "docstore/query/match.h"
#include "docstore/query/project.h"
#include "docstore/query/sort.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define NBUCKETS            1024
#define SESSION_BUCKETS     256
#define SESSION_CONNS       8 /* connections remembered per session; more: never ended by closes */
#define FIRST_BATCH_DEFAULT 101
#define BATCH_MAX_BYTES     (16 * 1024 * 1024) /* documents in one batch */
#define DOC_OVERHEAD        64 /* bytes charged per held document besides its BSON */

/* A session that has cursors. */
typedef struct session {
    uint8_t lsid[16];             /* lsid.id */
    int64_t owner;                /* its user (docstore_auth_uid) */
    int64_t conns[SESSION_CONNS]; /* open connections that used it */
    int nconns;                   /* entries in conns */
    bool shared;                  /* used by more connections than conns holds */
    int64_t last_used_ms;         /* monotonic ms of its last command */
    int64_t ncursors;             /* its open cursors; the entry goes at 0 */
    struct session *next;         /* hash chain */
} session_t;

typedef struct cursor {
    int64_t id;              /* never 0 */
    char *ns;                /* "db.collection", owned */
    docstore_doclist_t docs; /* the result set; docs before pos are already sent (NULL) */
    size_t pos;              /* next document to send */
    int64_t last_used_ms;    /* monotonic ms of the last batch */
    int64_t conn_id;         /* the connection that opened it */
    bool has_lsid;           /* opened inside a session */
    uint8_t lsid[16];        /* that session's id */
    int64_t owner;           /* the user that opened it (docstore_auth_uid), 0 without auth */
    session_t *session;      /* its session's entry when has_lsid */
    int64_t bytes;           /* charged for the documents not yet sent */
    /* A streamed cursor (docs stays empty) reads each batch from storage: */
    bool stream;              /* reads on getMore */
    size_t dblen;             /* ns is db "." coll */
    docstore_matcher_t *m;    /* owned: the filter */
    docstore_projection_t *p; /* owned, or NULL */
    docstore_stream_t *sp;    /* owned: the filter and where the read stands */
    docstore_sort_t *so;      /* owned, or NULL: the sort an index walk serves */
    int64_t skip_left;        /* matches still to skip */
    int64_t limit_left;       /* documents still to return; 0: no limit */
    int64_t time_left_ms;     /* what the find's maxTimeMS left for getMores; 0: the
                                 server's budget each (mongod's leftover maxTimeMS) */
    struct cursor *next;     /* hash chain */
} cursor_t;

struct docstore_cursors {
    cursor_t *buckets[NBUCKETS];          /* chains by id */
    session_t *sessions[SESSION_BUCKETS]; /* sessions with cursors, by lsid */
    int64_t nsessions;                    /* entries in sessions */
    int64_t open;                         /* cursors in the table */
    int64_t timed_out;                    /* closed by idle expiry since start */
    int64_t bytes;                        /* held by every open cursor */
    int64_t bytes_max;                    /* cap on bytes; 0 = none */
    int64_t session_timeout_ms;           /* a session unused this long ends */
    int64_t sessions_closed;              /* sessions ended by their connections' close */
    uint64_t rng;                         /* splitmix64 state for ids */
};

int docstore_cursors_new(docstore_cursors_t **out)
{
    docstore_cursors_t *c = calloc(1, sizeof *c);
    *out = c;
    if (c == NULL)
        return -1;
    if (getrandom(&c->rng, sizeof c->rng, 0) != (ssize_t)sizeof c->rng)
        c->rng = (uint64_t)docstore_wall_ms() * 0x9E3779B97F4A7C15ull;
    c->session_timeout_ms = (int64_t)30 * 60 * 1000;
    return 0;
}

void docstore_cursors_configure(docstore_cursors_t *c, int64_t bytes_max,
                                int64_t session_timeout_ms)
{
    c->bytes_max = bytes_max;
    c->session_timeout_ms = session_timeout_ms;
}

static size_t session_bucket(const uint8_t *lsid)
{
    uint64_t h;
    memcpy(&h, lsid, sizeof h); /* a random UUID: its bytes are the hash */
    return (size_t)(h % SESSION_BUCKETS);
}

static session_t *session_find(docstore_cursors_t *c, const uint8_t *lsid, int64_t owner)
{
    for (session_t *s = c->sessions[session_bucket(lsid)]; s != NULL; s = s->next) {
        if (s->owner == owner && memcmp(s->lsid, lsid, 16) == 0)
            return s;
    }
    return NULL;
}

/* conn used session s now. */
static void session_use(session_t *s, int64_t conn_id, int64_t now)
{
    s->last_used_ms = now;
    for (int i = 0; i < s->nconns; i++) {
        if (s->conns[i] == conn_id)
            return;
    }
    if (s->nconns < SESSION_CONNS)
        s->conns[s->nconns++] = conn_id;
    else
        s->shared = true;
}

static void session_unlink(docstore_cursors_t *c, session_t *s)
{
    for (session_t **pp = &c->sessions[session_bucket(s->lsid)]; *pp; pp = &(*pp)->next) {
        if (*pp == s) {
            *pp = s->next;
            c->nsessions--;
            free(s);
            return;
        }
    }
}

static void cursor_free(cursor_t *cur)
{
    if (cur->m != NULL)
        docstore_matcher_free(cur->m);
    if (cur->p != NULL)
        docstore_projection_free(cur->p);
    docstore_stream_free(cur->sp);
    if (cur->so != NULL)
        docstore_sort_free(cur->so);
    for (size_t i = cur->pos; i < cur->docs.n; i++)
        bson_destroy(cur->docs.docs[i]);
    free(cur->docs.docs);
    free(cur->ns);
    free(cur);
}

/* Frees a cursor already out of the id table: its bytes and its session's
 * count go with it. */
static void cursor_release(docstore_cursors_t *c, cursor_t *cur)
{
    c->bytes -= cur->bytes;
    if (cur->session != NULL && --cur->session->ncursors == 0)
        session_unlink(c, cur->session);
    cursor_free(cur);
}

void docstore_cursors_free(docstore_cursors_t *c)
{
    if (c == NULL)
        return;
    for (size_t b = 0; b < NBUCKETS; b++) {
        while (c->buckets[b]) {
            cursor_t *cur = c->buckets[b];
            c->buckets[b] = cur->next;
            cursor_free(cur);
        }
    }
    for (size_t b = 0; b < SESSION_BUCKETS; b++) {
        while (c->sessions[b]) {
            session_t *s = c->sessions[b];
            c->sessions[b] = s->next;
            free(s);
        }
    }
    free(c);
}

/* Removes every cursor for which pred says so; returns how many. */
typedef bool (*cursor_pred)(const cursor_t *cur, const void *arg);

static int64_t remove_if(docstore_cursors_t *c, cursor_pred pred, const void *arg)
{
    int64_t n = 0;
    if (c == NULL)
        return 0;
    for (size_t b = 0; b < NBUCKETS; b++) {
        cursor_t **pp = &c->buckets[b];
        while (*pp) {
            cursor_t *cur = *pp;
            if (pred(cur, arg)) {
                *pp = cur->next;
                cursor_release(c, cur);
                c->open--;
                n++;
            } else {
                pp = &cur->next;
            }
        }
    }
    return n;
}

typedef struct cutoffs {
    int64_t cursor;  /* a cursor last used before this is idle */
    int64_t session; /* a session last used before this has timed out */
} cutoffs_t;

static bool idle_pred(const cursor_t *cur, const void *arg)
{
    const cutoffs_t *k = arg;
    return cur->last_used_ms < k->cursor ||
           (cur->session != NULL && cur->session->last_used_ms < k->session);
}

void docstore_cursors_expire(docstore_cursors_t *c, int64_t idle_ms)
{
    if (c == NULL || c->open == 0)
        return;
    int64_t now = docstore_now_ms();
    cutoffs_t k = {now - idle_ms, now - c->session_timeout_ms};
    c->timed_out += remove_if(c, idle_pred, &k);
}

static bool conn_pred(const cursor_t *cur, const void *arg)
{
    return !cur->has_lsid && cur->conn_id == *(const int64_t *)arg;
}

static bool session_ptr_pred(const cursor_t *cur, const void *arg)
{
    return cur->session == arg;
}

void docstore_cursors_conn_closed(docstore_cursors_t *c, int64_t conn_id)
{
    if (c == NULL)
        return;
    remove_if(c, conn_pred, &conn_id);
    if (c->nsessions == 0)
        return;
    for (size_t b = 0; b < SESSION_BUCKETS; b++) {
        session_t *next;
        for (session_t *s = c->sessions[b]; s != NULL; s = next) {
            next = s->next; /* killing s's cursors frees s, nothing else */
            bool used = false;
            for (int i = 0; i < s->nconns; i++) {
                if (s->conns[i] == conn_id) {
                    s->conns[i] = s->conns[--s->nconns];
                    used = true;
                    break;
                }
            }
            if (used && s->nconns == 0 && !s->shared) {
                c->sessions_closed++;
                remove_if(c, session_ptr_pred, s);
            }
        }
    }
}

void docstore_cursors_session_used(docstore_cursors_t *c, const uint8_t *uuid, int64_t owner,
                                   int64_t conn_id)
{
    if (c == NULL || c->nsessions == 0)
        return;
    session_t *s = session_find(c, uuid, owner);
    if (s != NULL)
        session_use(s, conn_id, docstore_now_ms());
}

int64_t docstore_cursors_bytes(const docstore_cursors_t *c)
{
    return c ? c->bytes : 0;
}

/* A session as a cursor's owner sees it: the UUID and the user, as mongod
 * keys a session by lsid.id and the digest of the user that created it. */
typedef struct session_key {
    const uint8_t *uuid; /* 16 bytes, or NULL for every session */
    int64_t owner;       /* docstore_auth_uid, or DOCSTORE_CURSORS_ANY_OWNER */
} session_key_t;

static bool session_match(const cursor_t *cur, const session_key_t *k)
{
    if (k->owner == DOCSTORE_CURSORS_ANY_OWNER && k->uuid == NULL)
        return true; /* killAllSessions: every cursor */
    if (!cur->has_lsid)
        return false;
    if (k->owner != DOCSTORE_CURSORS_ANY_OWNER && cur->owner != k->owner)
        return false;
    return k->uuid == NULL || memcmp(cur->lsid, k->uuid, 16) == 0;
}

static bool session_pred(const cursor_t *cur, const void *arg)
{
    return session_match(cur, arg);
}

void docstore_cursors_kill_session(docstore_cursors_t *c, const uint8_t *uuid, int64_t owner)
{
    session_key_t k = {uuid, owner};
    remove_if(c, session_pred, &k);
}

void docstore_cursors_refresh_session(docstore_cursors_t *c, const uint8_t *uuid, int64_t owner)
{
    session_key_t k = {uuid, owner};
    int64_t now = docstore_now_ms();
    if (c == NULL || uuid == NULL)
        return;
    for (size_t b = 0; b < NBUCKETS; b++) {
        for (cursor_t *cur = c->buckets[b]; cur != NULL; cur = cur->next) {
            if (session_match(cur, &k)) {
                cur->last_used_ms = now;
                cur->session->last_used_ms = now;
            }
        }
    }
}

int64_t docstore_cursors_open(const docstore_cursors_t *c)
{
    return c ? c->open : 0;
}

int64_t docstore_cursors_timed_out(const docstore_cursors_t *c)
{
    return c ? c->timed_out : 0;
}

static cursor_t *find(docstore_cursors_t *c, int64_t id)
{
    for (cursor_t *cur = c->buckets[(uint64_t)id % NBUCKETS]; cur; cur = cur->next) {
        if (cur->id == id)
            return cur;
    }
    return NULL;
}

static void unlink_cursor(docstore_cursors_t *c, cursor_t *target)
{
    for (cursor_t **pp = &c->buckets[(uint64_t)target->id % NBUCKETS]; *pp; pp = &(*pp)->next) {
        if (*pp == target) {
            *pp = target->next;
            c->open--;
            return;
        }
    }
}

static int64_t new_id(docstore_cursors_t *c)
{
    for (;;) {
        uint64_t z = (c->rng += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        int64_t id = (int64_t)(z & INT64_MAX);
        if (id != 0 && find(c, id) == NULL)
            return id;
    }
}

/* Appends documents from docs[*pos] to the array arr: at most max (0 = no
 * count limit), stopping before BATCH_MAX_BYTES (at least one document). Sent
 * documents are freed and their slots set to NULL. Returns the bytes they
 * were charged (held_bytes). */
static int64_t fill_batch(bson_t *arr, docstore_doclist_t *docs, size_t *pos, int64_t max)
{
    size_t bytes = 0;
    int64_t freed = 0;
    uint32_t idx = 0;
    while (*pos < docs->n) {
        if (max > 0 && idx >= (uint64_t)max)
            break;
        bson_t *d = docs->docs[*pos];
        if (idx > 0 && bytes + d->len > BATCH_MAX_BYTES)
            break;
        char keybuf[16];
        const char *key;
        size_t keylen = bson_uint32_to_string(idx, &key, keybuf, sizeof keybuf);
        bson_append_document(arr, key, (int)keylen, d);
        bytes += d->len + keylen + 2;
        freed += (int64_t)d->len + DOC_OVERHEAD;
        bson_destroy(d);
        docs->docs[*pos] = NULL;
        (*pos)++;
        idx++;
    }
    return freed;
}

/* What the documents of docs after a first batch of at most max (as
 * fill_batch counts it) would be charged while a cursor holds them. */
static int64_t held_after_batch(const docstore_doclist_t *docs, int64_t max)
{
    size_t i = 0, bytes = 0;
    for (; max != 0 && i < docs->n; i++) {
        if (max > 0 && i >= (uint64_t)max)
            break;
        if (i > 0 && bytes + docs->docs[i]->len > BATCH_MAX_BYTES)
            break;
        char keybuf[16];
        const char *key;
        bytes += docs->docs[i]->len + 2 +
                 bson_uint32_to_string((uint32_t)i, &key, keybuf, sizeof keybuf);
    }
    int64_t n = 0;
    for (; i < docs->n; i++)
        n += (int64_t)docs->docs[i]->len + DOC_OVERHEAD;
    return n;
}

/* A new cursor on ns in the table, owned by ctx's user, session and
 * connection, with nothing to send yet; NULL when out of memory. */
static cursor_t *cursor_add(docstore_ctx_t *ctx, const char *ns)
{
    docstore_cursors_t *cs = ctx->cursors;
    session_t *sess = NULL;
    int64_t owner = docstore_auth_uid(ctx);
    int64_t now = docstore_now_ms();
    int64_t conn_id = ctx->conn ? ctx->conn->id : 0;
    if (ctx->has_lsid) {
        sess = session_find(cs, ctx->lsid, owner);
        if (sess == NULL && (sess = calloc(1, sizeof *sess)) != NULL) {
            memcpy(sess->lsid, ctx->lsid, 16);
            sess->owner = owner;
            size_t sb = session_bucket(ctx->lsid);
            sess->next = cs->sessions[sb];
            cs->sessions[sb] = sess;
            cs->nsessions++;
        }
    }
    cursor_t *c = calloc(1, sizeof *c);
    char *nsc = strdup(ns);
    if (c == NULL || nsc == NULL || (ctx->has_lsid && sess == NULL)) {
        free(c);
        free(nsc);
        if (sess != NULL && sess->ncursors == 0)
            session_unlink(cs, sess);
        return NULL;
    }
    if (sess != NULL) {
        sess->ncursors++;
        session_use(sess, conn_id, now);
    }
    c->session = sess;
    c->id = new_id(cs);
    c->ns = nsc;
    c->last_used_ms = now;
    c->conn_id = conn_id;
    c->has_lsid = ctx->has_lsid;
    memcpy(c->lsid, ctx->lsid, sizeof c->lsid);
    c->owner = owner;
    size_t b = (uint64_t)c->id % NBUCKETS;
    c->next = cs->buckets[b];
    cs->buckets[b] = c;
    cs->open++;
    return c;
}

int docstore_cursor_reply(docstore_ctx_t *ctx, const char *ns, docstore_doclist_t *docs,
                          int64_t batch_size, bool single_batch, bson_t *reply,
                          docstore_error_t *err)
{
    docstore_doclist_t all = *docs;
    docstore_doclist_init(docs);
    if (docstore_deadline_expired()) {
        /* the work was cut short: no cursor over a partial result */
        docstore_doclist_free(&all);
        return docstore_deadline_error(err);
    }
    int64_t first = batch_size < 0 ? FIRST_BATCH_DEFAULT : batch_size;
    docstore_cursors_t *cs = ctx->cursors;
    if (!single_batch && cs != NULL && cs->bytes_max > 0 && all.n > 0) {
        int64_t bytes = held_after_batch(&all, first);
        if (cs->bytes + bytes > cs->bytes_max) {
            docstore_doclist_free(&all);
            docstore_error_set(err, DOCSTORE_EXCEEDED_MEMORY_LIMIT,
                               "cursor memory limit: open cursors hold %lld bytes, and this "
                               "result set's %lld more would pass the server's %lld "
                               "(--max-cursor-memory-mb); drain or kill cursors, or use a "
                               "smaller result",
                               (long long)cs->bytes, (long long)bytes, (long long)cs->bytes_max);
            return -1;
        }
    }
    size_t pos = 0;
    bson_t cur, arr;
    BSON_APPEND_DOCUMENT_BEGIN(reply, "cursor", &cur);
    BSON_APPEND_ARRAY_BEGIN(&cur, "firstBatch", &arr);
    if (batch_size != 0)
        fill_batch(&arr, &all, &pos, first);
    bson_append_array_end(&cur, &arr);
    int64_t id = 0;
    if (pos < all.n && !single_batch && ctx->cursors != NULL) {
        int64_t bytes = 0;
        for (size_t i = pos; i < all.n; i++)
            bytes += (int64_t)all.docs[i]->len + DOC_OVERHEAD;
        cursor_t *c = cursor_add(ctx, ns);
        if (c == NULL) {
            for (size_t i = pos; i < all.n; i++)
                bson_destroy(all.docs[i]);
            free(all.docs);
            docstore_error_set(err, DOCSTORE_INTERNAL_ERROR, "out of memory for a cursor");
            return -1;
        }
        c->bytes = bytes;
        cs->bytes += bytes;
        id = c->id;
        c->docs = all;
        c->pos = pos;
    } else {
        for (size_t i = pos; i < all.n; i++)
            bson_destroy(all.docs[i]);
        free(all.docs);
    }
    BSON_APPEND_INT64(&cur, "id", id);
    BSON_APPEND_UTF8(&cur, "ns", ns);
    bson_append_document_end(reply, &cur);
    return 0;
}

/* ---- streamed cursors ----------------------------------------------------- */

/* One streamed batch being read. */
typedef struct stream_ctx {
    cursor_t *cur; /* the stream's state (a cursor, or the first batch's) */
    bson_t *arr;   /* the batch */
    int64_t max;   /* documents in it at most; 0: only the 16 MiB bound */
    uint32_t idx;  /* documents in it */
    size_t bytes;  /* its size */
    bool more;     /* stopped with a matching document left for the next batch */
    bool failed;   /* err is set */
    docstore_error_t *err;
} stream_ctx_t;

static docstore_stream_step_t stream_cb(void *arg, const bson_t *doc, int64_t rid)
{
    (void)rid;
    stream_ctx_t *s = arg;
    cursor_t *c = s->cur;
    if (docstore_deadline_passed())
        return DOCSTORE_STREAM_STOP; /* stream_read reports 50 */
    if (c->m != NULL && !docstore_matcher_matches(c->m, doc, NULL))
        return DOCSTORE_STREAM_NEXT;
    if (c->skip_left > 0) {
        c->skip_left--;
        return DOCSTORE_STREAM_NEXT;
    }
    if ((s->max > 0 && s->idx >= (uint64_t)s->max) ||
        (s->idx > 0 && s->bytes + doc->len > BATCH_MAX_BYTES)) {
        s->more = true; /* not consumed: the next batch starts with it */
        return DOCSTORE_STREAM_STOP;
    }
    bson_t projected;
    const bson_t *out = doc;
    if (c->p != NULL) {
        bson_init(&projected);
        if (docstore_projection_apply(c->p, doc, &projected, s->err) != 0) {
            bson_destroy(&projected);
            s->failed = true;
            return DOCSTORE_STREAM_STOP;
        }
        out = &projected;
    }
    char keybuf[16];
    const char *key;
    size_t keylen = bson_uint32_to_string(s->idx, &key, keybuf, sizeof keybuf);
    bool ok = bson_append_document(s->arr, key, (int)keylen, out);
    s->bytes += out->len + keylen + 2;
    if (c->p != NULL)
        bson_destroy(&projected);
    if (!ok) {
        docstore_error_set(s->err, DOCSTORE_BSON_OBJECT_TOO_LARGE, "batch too large");
        s->failed = true;
        return DOCSTORE_STREAM_STOP;
    }
    s->idx++;
    if (c->limit_left == 0 || --c->limit_left > 0)
        return DOCSTORE_STREAM_NEXT;
    return DOCSTORE_STREAM_LAST;
}

/* Reads c's next batch (at most max documents, 0: up to 16 MiB) into arr.
 * *ordered false: the first read of a sorted stream found no index walk
 * for it (nothing to use). */
static int stream_read(docstore_ctx_t *ctx, cursor_t *c, const char *db, const char *coll,
                       int64_t max, bson_t *arr, bool *more /* OUT */, bool *ordered /* OUT */,
                       docstore_error_t *err)
{
    stream_ctx_t s = {.cur = c, .arr = arr, .max = max, .err = err};
    *more = false;
    *ordered = true;
    int rc;
    if (c->so != NULL) {
        const char *fields[32];
        int dirs[32];
        size_t n = docstore_sort_nfields(c->so);
        for (size_t i = 0; i < n && i < 32; i++)
            fields[i] = docstore_sort_field(c->so, i, &dirs[i]);
        rc = docstore_storage_scan_stream_ordered(ctx->storage, db, coll, c->sp, fields, dirs, n,
                                                  stream_cb, &s, ordered, err);
        if (rc == 0 && !*ordered)
            return 0;
    } else {
        rc = docstore_storage_scan_stream(ctx->storage, db, coll, c->sp, stream_cb, &s, err);
    }
    if (rc != 0 || s.failed)
        return -1;
    if (docstore_deadline_expired())
        return docstore_deadline_error(err); /* no batch from a cut-short read */
    if (c->m != NULL && docstore_matcher_status(c->m, err) != 0)
        return -1;
    *more = s.more;
    return 0;
}

int docstore_cursor_stream_find(docstore_ctx_t *ctx, const char *db, const char *coll,
                                const char *ns, const bson_t *filter, docstore_matcher_t **m,
                                docstore_projection_t **p, docstore_sort_t **so, int64_t skip,
                                int64_t limit, int64_t batch_size, bson_t *reply, bool *served,
                                docstore_error_t *err)
{
    *served = false;
    int64_t first = batch_size < 0 ? FIRST_BATCH_DEFAULT : batch_size;
    if (first == 0 || ctx->cursors == NULL || ctx->storage == NULL ||
        (*p != NULL && docstore_projection_is_positional(*p)))
        return 0;
    /* A collation: binary index keys neither narrow nor order it, and the
     * matcher and sort only borrow it (the command frees it): materialized. */
    if ((*m != NULL && docstore_matcher_collation(*m) != NULL) ||
        (*so != NULL && docstore_sort_collation(*so) != NULL))
        return 0;
    cursor_t st = {.m = *m, .p = *p, .so = *so, .skip_left = skip, .limit_left = limit};
    if (docstore_stream_new(filter, &st.sp) != 0) {
        docstore_error_set(err, DOCSTORE_INTERNAL_ERROR, "out of memory for a cursor");
        return -1;
    }
    bson_t arr = BSON_INITIALIZER;
    bool more = false, ordered = true;
    int rc = stream_read(ctx, &st, db, coll, first, &arr, &more, &ordered, err);
    if (rc == 0 && !ordered) {
        bson_destroy(&arr); /* no index walk serves the sort: the caller sorts */
        docstore_stream_free(st.sp);
        return 0;
    }
    *served = true;
    if (rc != 0) {
        bson_destroy(&arr);
        docstore_stream_free(st.sp);
        return -1;
    }
    int64_t id = 0;
    if (more) {
        cursor_t *c = docstore_stream_keep(st.sp) == 0 ? cursor_add(ctx, ns) : NULL;
        if (c == NULL) {
            bson_destroy(&arr);
            docstore_stream_free(st.sp);
            docstore_error_set(err, DOCSTORE_INTERNAL_ERROR, "out of memory for a cursor");
            return -1;
        }
        c->stream = true;
        c->dblen = strlen(db);
        c->m = *m;
        c->p = *p;
        c->so = *so;
        *m = NULL;
        *p = NULL;
        *so = NULL;
        c->sp = st.sp;
        st.sp = NULL;
        c->bytes = docstore_stream_bytes(c->sp);
        ctx->cursors->bytes += c->bytes;
        c->skip_left = st.skip_left;
        c->limit_left = st.limit_left;
        if (ctx->max_time_ms > 0) {
            int64_t left = docstore_deadline_remaining_ms();
            c->time_left_ms = left > 0 ? left : 1;
        }
        id = c->id;
    }
    docstore_stream_free(st.sp);
    bson_t cur;
    BSON_APPEND_DOCUMENT_BEGIN(reply, "cursor", &cur);
    BSON_APPEND_ARRAY(&cur, "firstBatch", &arr);
    BSON_APPEND_INT64(&cur, "id", id);
    BSON_APPEND_UTF8(&cur, "ns", ns);
    bson_append_document_end(reply, &cur);
    bson_destroy(&arr);
    return 0;
}

/* getMore of a streamed cursor: the next batch from storage. A failed read
 * (the budget ran out, a regex limit) ends the cursor, as mongod's does. */
static int stream_get_more(docstore_ctx_t *ctx, cursor_t *cur, const char *db, const char *coll,
                           int64_t batch_size, bson_t *reply, docstore_error_t *err)
{
    bson_t arr = BSON_INITIALIZER;
    bool more, ordered;
    if (cur->time_left_ms > 0)
        docstore_deadline_arm(cur->time_left_ms); /* replaces the server's default */
    int rc = stream_read(ctx, cur, db, coll, batch_size, &arr, &more, &ordered, err);
    if (cur->time_left_ms > 0) {
        int64_t left = docstore_deadline_remaining_ms();
        cur->time_left_ms = left > 0 ? left : 1;
    }
    if (rc != 0) {
        bson_destroy(&arr);
        unlink_cursor(ctx->cursors, cur);
        cursor_release(ctx->cursors, cur);
        return -1;
    }
    bson_t doc;
    BSON_APPEND_DOCUMENT_BEGIN(reply, "cursor", &doc);
    BSON_APPEND_ARRAY(&doc, "nextBatch", &arr);
    BSON_APPEND_INT64(&doc, "id", more ? cur->id : 0);
    BSON_APPEND_UTF8(&doc, "ns", cur->ns);
    bson_append_document_end(reply, &doc);
    bson_destroy(&arr);
    cur->last_used_ms = docstore_now_ms();
    if (!more) {
        unlink_cursor(ctx->cursors, cur);
        cursor_release(ctx->cursors, cur);
    }
    return 0;
}

/* ---- getMore and killCursors ------------------------------------------------- */

static bool iter_int64(const bson_iter_t *it, int64_t *v)
{
    if (BSON_ITER_HOLDS_INT64(it))
        *v = bson_iter_int64(it);
    else if (BSON_ITER_HOLDS_INT32(it))
        *v = bson_iter_int32(it);
    else
        return false;
    return true;
}

static int cmd_get_more(docstore_ctx_t *ctx, const char *db, const bson_t *cmd, bson_t *reply,
                        docstore_error_t *err)
{
    bson_iter_t it;
    int64_t id = 0;
    if (!bson_iter_init(&it, cmd) || !bson_iter_next(&it) || !iter_int64(&it, &id)) {
        docstore_error_set(err, DOCSTORE_TYPE_MISMATCH, "Field 'getMore' must be of type long");
        return -1;
    }
    const char *coll = NULL;
    int64_t batch_size = 0;
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "collection") == 0) {
            if (!BSON_ITER_HOLDS_UTF8(&it)) {
                docstore_error_set(err, DOCSTORE_TYPE_MISMATCH,
                                   "Field 'collection' must be of type string");
                return -1;
            }
            coll = bson_iter_utf8(&it, NULL);
        } else if (strcmp(k, "batchSize") == 0) {
            if (!BSON_ITER_HOLDS_NUMBER(&it)) {
                docstore_error_set(err, DOCSTORE_TYPE_MISMATCH,
                                   "Field 'batchSize' must be a number");
                return -1;
            }
            batch_size = bson_iter_as_int64(&it);
            if (batch_size < 0) {
                docstore_error_set(err, DOCSTORE_BAD_VALUE,
                                   "Batch size for getMore must be positive, but received: %lld",
                                   (long long)batch_size);
                return -1;
            }
        } else if (strcmp(k, "maxTimeMS") == 0) {
            /* mongod's answer: only tailable awaitData cursors, which the
             * docstore does not have, take a getMore budget */
            docstore_error_set(err, DOCSTORE_BAD_VALUE,
                               "cannot set maxTimeMS on getMore command for a non-awaitData "
                               "cursor");
            return -1;
        }
    }
    if (coll == NULL) {
        docstore_error_set(err, DOCSTORE_FAILED_TO_PARSE,
                           "getMore: BSON field 'collection' is missing but a required field");
        return -1;
    }
    cursor_t *cur = ctx->cursors ? find(ctx->cursors, id) : NULL;
    if (cur == NULL) {
        docstore_error_set(err, DOCSTORE_CURSOR_NOT_FOUND, "cursor id %lld not found",
                           (long long)id);
        return -1;
    }
    size_t dblen = strlen(db);
    if (strncmp(cur->ns, db, dblen) != 0 || cur->ns[dblen] != '.' ||
        strcmp(cur->ns + dblen + 1, coll) != 0) {
        docstore_error_set(err, DOCSTORE_UNAUTHORIZED,
                           "Requested getMore on namespace '%.100s.%.100s', but cursor belongs to "
                           "a different namespace %.200s",
                           db, coll, cur->ns);
        return -1;
    }
    if (cur->owner != docstore_auth_uid(ctx)) {
        docstore_error_set(err, DOCSTORE_UNAUTHORIZED,
                           "cursor id %lld was not created by the authenticated user",
                           (long long)id);
        return -1;
    }
    if (cur->has_lsid && !ctx->has_lsid) {
        docstore_error_set(err, DOCSTORE_LOCATION_50737,
                           "Cannot run getMore on cursor %lld, which was created in a session, "
                           "without an lsid",
                           (long long)id);
        return -1;
    }
    if (cur->has_lsid && memcmp(cur->lsid, ctx->lsid, 16) != 0) {
        docstore_error_set(err, DOCSTORE_LOCATION_50738,
                           "Cannot run getMore on cursor %lld, which was created in another "
                           "session",
                           (long long)id);
        return -1;
    }
    if (cur->stream)
        return stream_get_more(ctx, cur, db, coll, batch_size, reply, err);
    bson_t doc, arr;
    BSON_APPEND_DOCUMENT_BEGIN(reply, "cursor", &doc);
    BSON_APPEND_ARRAY_BEGIN(&doc, "nextBatch", &arr);
    int64_t freed = fill_batch(&arr, &cur->docs, &cur->pos, batch_size);
    cur->bytes -= freed;
    ctx->cursors->bytes -= freed;
    bson_append_array_end(&doc, &arr);
    bool done = cur->pos >= cur->docs.n;
    BSON_APPEND_INT64(&doc, "id", done ? 0 : id);
    BSON_APPEND_UTF8(&doc, "ns", cur->ns);
    bson_append_document_end(reply, &doc);
    cur->last_used_ms = docstore_now_ms();
    if (done) {
        unlink_cursor(ctx->cursors, cur);
        cursor_release(ctx->cursors, cur);
    }
    return 0;
}

static int cmd_kill_cursors(docstore_ctx_t *ctx, const char *db, const bson_t *cmd, bson_t *reply,
                            docstore_error_t *err)
{
    bson_iter_t it, ids;
    if (!bson_iter_init(&it, cmd) || !bson_iter_next(&it) || !BSON_ITER_HOLDS_UTF8(&it)) {
        docstore_error_set(err, DOCSTORE_TYPE_MISMATCH,
                           "Field 'killCursors' must be of type string");
        return -1;
    }
    const char *coll = bson_iter_utf8(&it, NULL);
    if (!bson_iter_init_find(&it, cmd, "cursors") || !BSON_ITER_HOLDS_ARRAY(&it) ||
        !bson_iter_recurse(&it, &ids)) {
        docstore_error_set(err, DOCSTORE_FAILED_TO_PARSE,
                           "killCursors: BSON field 'cursors' is missing or not an array");
        return -1;
    }
    bson_t killed = BSON_INITIALIZER, not_found = BSON_INITIALIZER;
    uint32_t nk = 0, nn = 0;
    size_t dblen = strlen(db);
    while (bson_iter_next(&ids)) {
        int64_t id;
        if (!iter_int64(&ids, &id)) {
            bson_destroy(&killed);
            bson_destroy(&not_found);
            docstore_error_set(err, DOCSTORE_TYPE_MISMATCH,
                               "killCursors: cursor ids must be of type long");
            return -1;
        }
        cursor_t *cur = ctx->cursors ? find(ctx->cursors, id) : NULL;
        /* another user's cursor is not theirs to kill: reported not found */
        bool same_ns = cur && strncmp(cur->ns, db, dblen) == 0 && cur->ns[dblen] == '.' &&
                       strcmp(cur->ns + dblen + 1, coll) == 0 &&
                       cur->owner == docstore_auth_uid(ctx);
        char keybuf[16];
        const char *key;
        if (same_ns) {
            bson_uint32_to_string(nk++, &key, keybuf, sizeof keybuf);
            BSON_APPEND_INT64(&killed, key, id);
            unlink_cursor(ctx->cursors, cur);
            cursor_release(ctx->cursors, cur);
        } else {
            bson_uint32_to_string(nn++, &key, keybuf, sizeof keybuf);
            BSON_APPEND_INT64(&not_found, key, id);
        }
    }
    bson_t empty = BSON_INITIALIZER;
    BSON_APPEND_ARRAY(reply, "cursorsKilled", &killed);
    BSON_APPEND_ARRAY(reply, "cursorsNotFound", &not_found);
    BSON_APPEND_ARRAY(reply, "cursorsAlive", &empty);
    BSON_APPEND_ARRAY(reply, "cursorsUnknown", &empty);
    bson_destroy(&killed);
    bson_destroy(&not_found);
    bson_destroy(&empty);
    return 0;
}

const docstore_command_t docstore_cursor_commands[] = {
    {"getMore", cmd_get_more, DOCSTORE_CMD_MAX_TIME},
    {"killCursors", cmd_kill_cursors, DOCSTORE_CMD_NONE},
    {NULL, NULL, 0},
};
