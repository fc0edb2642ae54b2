/*
 * Unit tests of cursors and dispatch: first batch sizes (default 101,
 * batchSize, 0, singleBatch, the 16 MiB cap), getMore across batches and its
 * namespace and session checks, killCursors' reply, expiry, connection close,
 * session ends (only the owner's), and the dispatcher's reply shapes.
 */
#include "docstore/cmd/command.h"
#include "docstore/net/conn.h"
#include "docstore/cmd/cursor.h"
#include "harness.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static void fill(docstore_doclist_t *l, int n, size_t pad)
{
    char *s = malloc(pad + 1);
    memset(s, 'x', pad);
    s[pad] = '\0';
    docstore_doclist_init(l);
    for (int i = 0; i < n; i++) {
        bson_t *d = bson_new();
        BSON_APPEND_INT32(d, "_id", i);
        if (pad)
            BSON_APPEND_UTF8(d, "pad", s);
        if (docstore_doclist_push(l, d) != 0)
            abort();
    }
    free(s);
}

/* Count of the array at path in doc, and the cursor id. */
static int batch_len(const bson_t *doc, const char *path)
{
    bson_iter_t it, arr;
    int n = 0;
    if (!bson_iter_init(&it, doc) || !bson_iter_find_descendant(&it, path, &it) ||
        !bson_iter_recurse(&it, &arr))
        return -1;
    while (bson_iter_next(&arr))
        n++;
    return n;
}

static int64_t cursor_id(const bson_t *doc)
{
    bson_iter_t it;
    if (!bson_iter_init(&it, doc) || !bson_iter_find_descendant(&it, "cursor.id", &it) ||
        !BSON_ITER_HOLDS_INT64(&it))
        return -1;
    return bson_iter_int64(&it);
}

static int32_t code_of(const bson_t *doc)
{
    bson_iter_t it;
    return bson_iter_init_find(&it, doc, "code") ? bson_iter_int32(&it) : 0;
}

static double ok_of(const bson_t *doc)
{
    bson_iter_t it;
    return bson_iter_init_find(&it, doc, "ok") ? bson_iter_double(&it) : -1;
}

static void get_more(docstore_ctx_t *ctx, const char *db, int64_t id, const char *coll,
                     int batch, bson_t *reply)
{
    bson_t *cmd = BCON_NEW("getMore", BCON_INT64(id), "collection", BCON_UTF8(coll));
    if (batch >= 0)
        BSON_APPEND_INT32(cmd, "batchSize", batch);
    bson_reinit(reply);
    docstore_command_dispatch(ctx, db, cmd, reply);
    bson_destroy(cmd);
}

static void test_batches(void)
{
    docstore_cursors_t *cs;
    CHECK_INT(docstore_cursors_new(&cs), 0);
    docstore_ctx_t ctx = {.cursors = cs};
    docstore_doclist_t l;
    docstore_error_t err = {0};
    bson_t reply = BSON_INITIALIZER;

    fill(&l, 250, 0);
    CHECK_INT(docstore_cursor_reply(&ctx, "app.c", &l, -1, false, &reply, &err), 0);
    CHECK_INT(l.n, 0);
    CHECK_INT(batch_len(&reply, "cursor.firstBatch"), 101);
    int64_t id = cursor_id(&reply);
    CHECK(id > 0);
    CHECK_INT(docstore_cursors_open(cs), 1);
    get_more(&ctx, "app", id, "c", 100, &reply);
    CHECK(ok_of(&reply) == 1.0);
    CHECK_INT(batch_len(&reply, "cursor.nextBatch"), 100);
    CHECK_INT(cursor_id(&reply), id);
    /* wrong collection: Unauthorized, and the cursor survives */
    get_more(&ctx, "app", id, "other", -1, &reply);
    CHECK_INT(code_of(&reply), 13);
    get_more(&ctx, "other", id, "c", -1, &reply);
    CHECK_INT(code_of(&reply), 13);
    get_more(&ctx, "app", id, "c", -1, &reply);
    CHECK_INT(batch_len(&reply, "cursor.nextBatch"), 49);
    CHECK_INT(cursor_id(&reply), 0);
    CHECK_INT(docstore_cursors_open(cs), 0);
    get_more(&ctx, "app", id, "c", -1, &reply);
    CHECK_INT(code_of(&reply), 43);

    /* batchSize 0: empty first batch, cursor open; singleBatch: no cursor */
    bson_reinit(&reply);
    fill(&l, 5, 0);
    CHECK_INT(docstore_cursor_reply(&ctx, "app.c", &l, 0, false, &reply, &err), 0);
    CHECK_INT(batch_len(&reply, "cursor.firstBatch"), 0);
    CHECK(cursor_id(&reply) > 0);
    bson_reinit(&reply);
    fill(&l, 5, 0);
    CHECK_INT(docstore_cursor_reply(&ctx, "app.c", &l, 2, true, &reply, &err), 0);
    CHECK_INT(batch_len(&reply, "cursor.firstBatch"), 2);
    CHECK_INT(cursor_id(&reply), 0);
    /* everything fits: id 0 */
    bson_reinit(&reply);
    fill(&l, 3, 0);
    CHECK_INT(docstore_cursor_reply(&ctx, "app.c", &l, -1, false, &reply, &err), 0);
    CHECK_INT(batch_len(&reply, "cursor.firstBatch"), 3);
    CHECK_INT(cursor_id(&reply), 0);
    CHECK_INT(docstore_cursors_open(cs), 1);

    /* 16 MiB per batch: 40 documents of 1 MiB come in batches of 15 */
    bson_reinit(&reply);
    fill(&l, 40, 1024 * 1024);
    CHECK_INT(docstore_cursor_reply(&ctx, "app.big", &l, 1000, false, &reply, &err), 0);
    CHECK_INT(batch_len(&reply, "cursor.firstBatch"), 15);
    CHECK(reply.len < 16 * 1024 * 1024 + 16 * 1024);
    id = cursor_id(&reply);
    get_more(&ctx, "app", id, "big", 0, &reply);
    CHECK_INT(batch_len(&reply, "cursor.nextBatch"), 15);

    /* killCursors */
    bson_t *kill = BCON_NEW("killCursors", "big", "cursors", "[", BCON_INT64(id), BCON_INT64(777),
                            "]");
    bson_reinit(&reply);
    docstore_command_dispatch(&ctx, "app", kill, &reply);
    CHECK(ok_of(&reply) == 1.0);
    CHECK_INT(batch_len(&reply, "cursorsKilled"), 1);
    CHECK_INT(batch_len(&reply, "cursorsNotFound"), 1);
    CHECK_INT(batch_len(&reply, "cursorsAlive"), 0);
    CHECK_INT(batch_len(&reply, "cursorsUnknown"), 0);
    bson_destroy(kill);

    /* idle expiry */
    CHECK_INT(docstore_cursors_open(cs), 1);
    docstore_cursors_expire(cs, 60000);
    CHECK_INT(docstore_cursors_open(cs), 1);
    docstore_cursors_expire(cs, -1);
    CHECK_INT(docstore_cursors_open(cs), 0);
    CHECK_INT(docstore_cursors_timed_out(cs), 1);
    bson_destroy(&reply);
    docstore_cursors_free(cs);
}

static void test_sessions_and_connections(void)
{
    docstore_cursors_t *cs;
    CHECK_INT(docstore_cursors_new(&cs), 0);
    docstore_conn_t conn = {.id = 5, .auth = DOCSTORE_CONN_AUTH_OPEN};
    docstore_ctx_t ctx = {.cursors = cs, .conn = &conn};
    docstore_doclist_t l;
    docstore_error_t err = {0};
    bson_t reply = BSON_INITIALIZER;

    /* without a session: freed when its connection closes */
    fill(&l, 200, 0);
    CHECK_INT(docstore_cursor_reply(&ctx, "app.c", &l, 10, false, &reply, &err), 0);
    CHECK_INT(docstore_cursors_open(cs), 1);
    docstore_cursors_conn_closed(cs, 6);
    CHECK_INT(docstore_cursors_open(cs), 1);
    docstore_cursors_conn_closed(cs, 5);
    CHECK_INT(docstore_cursors_open(cs), 0);

    /* in a session used by its connection alone: freed when that connection closes */
    uint8_t uuid[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    ctx.has_lsid = true;
    memcpy(ctx.lsid, uuid, 16);
    bson_reinit(&reply);
    fill(&l, 200, 0);
    CHECK_INT(docstore_cursor_reply(&ctx, "app.c", &l, 10, false, &reply, &err), 0);
    CHECK(docstore_cursors_bytes(cs) > 190 * 64);
    docstore_cursors_session_used(cs, uuid, 0, 5);
    docstore_cursors_conn_closed(cs, 5);
    CHECK_INT(docstore_cursors_open(cs), 0);
    CHECK_INT(docstore_cursors_bytes(cs), 0);

    /* in a session another connection used: outlives the first connection,
       checked against lsid, ended by endSessions */
    bson_reinit(&reply);
    fill(&l, 200, 0);
    CHECK_INT(docstore_cursor_reply(&ctx, "app.c", &l, 10, false, &reply, &err), 0);
    int64_t id = cursor_id(&reply);
    uint8_t unknown[16] = {77};
    docstore_cursors_session_used(cs, unknown, 0, 6); /* another session: no effect */
    docstore_cursors_conn_closed(cs, 5);
    CHECK_INT(docstore_cursors_open(cs), 0);
    bson_reinit(&reply);
    fill(&l, 200, 0);
    CHECK_INT(docstore_cursor_reply(&ctx, "app.c", &l, 10, false, &reply, &err), 0);
    id = cursor_id(&reply);
    docstore_cursors_session_used(cs, uuid, 0, 6);
    docstore_cursors_session_used(cs, uuid, 1, 7); /* another user's session of that UUID */
    docstore_cursors_conn_closed(cs, 5);
    CHECK_INT(docstore_cursors_open(cs), 1);
    get_more(&ctx, "app", id, "c", 10, &reply); /* no lsid in the command */
    CHECK_INT(code_of(&reply), 50737);
    uint8_t other[16] = {99};
    bson_t *cmd = BCON_NEW("getMore", BCON_INT64(id), "collection", "c", "lsid", "{", "id",
                           BCON_BIN(BSON_SUBTYPE_UUID, other, 16), "}");
    bson_reinit(&reply);
    docstore_command_dispatch(&ctx, "app", cmd, &reply);
    CHECK_INT(code_of(&reply), 50738);
    bson_destroy(cmd);
    /* the dispatcher reads lsid from the command */
    cmd = BCON_NEW("getMore", BCON_INT64(id), "collection", "c", "lsid", "{", "id",
                   BCON_BIN(BSON_SUBTYPE_UUID, uuid, 16), "}");
    bson_reinit(&reply);
    docstore_command_dispatch(&ctx, "app", cmd, &reply);
    CHECK(ok_of(&reply) == 1.0);
    CHECK_INT(batch_len(&reply, "cursor.nextBatch"), 190);
    bson_destroy(cmd);

    bson_reinit(&reply);
    fill(&l, 200, 0);
    ctx.has_lsid = true;
    memcpy(ctx.lsid, uuid, 16);
    CHECK_INT(docstore_cursor_reply(&ctx, "app.c", &l, 10, false, &reply, &err), 0);
    CHECK_INT(docstore_cursors_open(cs), 1);
    bson_t *end = BCON_NEW("endSessions", "[", "{", "id", BCON_BIN(BSON_SUBTYPE_UUID, uuid, 16),
                           "}", "]");
    bson_reinit(&reply);
    docstore_command_dispatch(&ctx, "admin", end, &reply);
    CHECK(ok_of(&reply) == 1.0);
    CHECK_INT(docstore_cursors_open(cs), 0);
    bson_destroy(end);

    bson_reinit(&reply);
    fill(&l, 200, 0);
    ctx.has_lsid = true;
    CHECK_INT(docstore_cursor_reply(&ctx, "app.c", &l, 10, false, &reply, &err), 0);
    CHECK_INT(docstore_cursors_open(cs), 1);
    bson_t *killall = BCON_NEW("killAllSessions", "[", "]");
    bson_reinit(&reply);
    docstore_command_dispatch(&ctx, "admin", killall, &reply);
    CHECK_INT(docstore_cursors_open(cs), 0);
    bson_destroy(killall);
    bson_destroy(&reply);
    docstore_cursors_free(cs);
}

/* A session is its UUID and its user: another user's kill or refresh naming
 * the UUID leaves the cursor alone; the owner's kill frees it. */
static void test_session_owner(void)
{
    docstore_cursors_t *cs;
    CHECK_INT(docstore_cursors_new(&cs), 0);
    docstore_principal_t alice = {.user = "alice", .db = "app", .uid = 7};
    docstore_conn_t conn = {.id = 5, .auth = DOCSTORE_CONN_AUTH_DONE, .principal = &alice};
    docstore_ctx_t ctx = {.cursors = cs, .conn = &conn, .has_lsid = true};
    uint8_t uuid[16] = {42};
    memcpy(ctx.lsid, uuid, 16);
    docstore_doclist_t l;
    docstore_error_t err = {0};
    bson_t reply = BSON_INITIALIZER;
    fill(&l, 50, 0);
    CHECK_INT(docstore_cursor_reply(&ctx, "app.c", &l, 10, false, &reply, &err), 0);
    CHECK_INT(docstore_cursors_open(cs), 1);
    docstore_cursors_kill_session(cs, uuid, 8); /* bob */
    docstore_cursors_kill_session(cs, NULL, 8); /* bob's killSessions: [] */
    docstore_cursors_refresh_session(cs, uuid, 8);
    CHECK_INT(docstore_cursors_open(cs), 1);
    uint8_t other[16] = {43};
    docstore_cursors_kill_session(cs, other, 7);
    CHECK_INT(docstore_cursors_open(cs), 1);
    docstore_cursors_kill_session(cs, uuid, 7);
    CHECK_INT(docstore_cursors_open(cs), 0);
    bson_destroy(&reply);
    docstore_cursors_free(cs);
}

static void test_dispatch(void)
{
    docstore_cursors_t *cs;
    CHECK_INT(docstore_cursors_new(&cs), 0);
    docstore_conn_t conn = {.id = 1, .auth = DOCSTORE_CONN_AUTH_OPEN};
    docstore_ctx_t ctx = {.cursors = cs, .conn = &conn};
    bson_t reply = BSON_INITIALIZER;
    bson_iter_t it;

    bson_t *cmd = BCON_NEW("nope", BCON_INT32(1), "$db", "admin");
    docstore_command_dispatch(&ctx, "admin", cmd, &reply);
    CHECK(ok_of(&reply) == 0.0);
    CHECK_INT(code_of(&reply), 59);
    CHECK(bson_iter_init_find(&it, &reply, "errmsg"));
    CHECK_STR(bson_iter_utf8(&it, NULL), "no such command: 'nope'");
    CHECK(bson_iter_init_find(&it, &reply, "codeName"));
    CHECK_STR(bson_iter_utf8(&it, NULL), "CommandNotFound");
    bson_destroy(cmd);

    /* ok comes after the handler's fields */
    cmd = BCON_NEW("whatsmyuri", BCON_INT32(1), "lsid", "{", "}", "$clusterTime", "{", "}",
                   "apiVersion", "1", "$readPreference", "{", "mode", "primary", "}");
    strcpy(conn.peer, "127.0.0.1:1");
    bson_reinit(&reply);
    docstore_command_dispatch(&ctx, "admin", cmd, &reply);
    CHECK(bson_iter_init(&it, &reply) && bson_iter_next(&it));
    CHECK_STR(bson_iter_key(&it), "you");
    CHECK(bson_iter_next(&it));
    CHECK_STR(bson_iter_key(&it), "ok");
    bson_destroy(cmd);

    /* transactions are refused on a standalone server */
    cmd = BCON_NEW("ping", BCON_INT32(1), "txnNumber", BCON_INT64(1));
    bson_reinit(&reply);
    docstore_command_dispatch(&ctx, "admin", cmd, &reply);
    CHECK_INT(code_of(&reply), 20);
    bson_destroy(cmd);

    /* auth required: only NO_AUTH commands run */
    conn.auth = DOCSTORE_CONN_AUTH_NONE;
    cmd = BCON_NEW("listCommands", BCON_INT32(1));
    bson_reinit(&reply);
    docstore_command_dispatch(&ctx, "admin", cmd, &reply);
    CHECK_INT(code_of(&reply), 13);
    bson_destroy(cmd);
    cmd = BCON_NEW("hello", BCON_INT32(1), "client", "{", "driver", "{", "name", "t", "}", "}");
    bson_reinit(&reply);
    docstore_command_dispatch(&ctx, "admin", cmd, &reply);
    CHECK(ok_of(&reply) == 1.0);
    CHECK(conn.client_meta != NULL);
    bson_reinit(&reply);
    docstore_command_dispatch(&ctx, "admin", cmd, &reply);
    CHECK_INT(code_of(&reply), 186);
    bson_destroy(cmd);
    bson_destroy(conn.client_meta);

    /* getParameter is admin-only; unknown parameters fail */
    conn.auth = DOCSTORE_CONN_AUTH_OPEN;
    cmd = BCON_NEW("getParameter", BCON_INT32(1), "featureCompatibilityVersion", BCON_INT32(1));
    bson_reinit(&reply);
    docstore_command_dispatch(&ctx, "app", cmd, &reply);
    CHECK_INT(code_of(&reply), 13);
    bson_reinit(&reply);
    docstore_command_dispatch(&ctx, "admin", cmd, &reply);
    CHECK(ok_of(&reply) == 1.0);
    CHECK(bson_iter_init(&it, &reply) &&
          bson_iter_find_descendant(&it, "featureCompatibilityVersion.version", &it));
    bson_destroy(cmd);
    cmd = BCON_NEW("getParameter", BCON_INT32(1), "nonsense", BCON_INT32(1));
    bson_reinit(&reply);
    docstore_command_dispatch(&ctx, "admin", cmd, &reply);
    CHECK_INT(code_of(&reply), 72);
    bson_destroy(cmd);

    bson_destroy(&reply);
    docstore_cursors_free(cs);
}

/* The server's limits: the bytes all cursors hold (146 past the cap, nothing
 * kept), and the session timeout (a session unused for it loses its cursors;
 * session-less cursors keep the 10-minute idle rule). */
static void test_limits(void)
{
    docstore_cursors_t *cs;
    CHECK_INT(docstore_cursors_new(&cs), 0);
    docstore_cursors_configure(cs, 300 * 1024, 5);
    docstore_conn_t conn = {.id = 5, .auth = DOCSTORE_CONN_AUTH_OPEN};
    docstore_ctx_t ctx = {.cursors = cs, .conn = &conn};
    docstore_doclist_t l;
    docstore_error_t err = {0};
    bson_t reply = BSON_INITIALIZER;
    fill(&l, 200, 1000); /* ~190 KB held */
    CHECK_INT(docstore_cursor_reply(&ctx, "app.c", &l, 10, false, &reply, &err), 0);
    int64_t held = docstore_cursors_bytes(cs);
    CHECK(held > 190 * 1000 && held < 200 * 1200);
    bson_reinit(&reply);
    fill(&l, 200, 1000);
    CHECK_INT(docstore_cursor_reply(&ctx, "app.c", &l, 10, false, &reply, &err), -1);
    CHECK_INT(err.code, 146);
    docstore_error_clear(&err);
    CHECK_INT(docstore_cursors_open(cs), 1);
    CHECK_INT(docstore_cursors_bytes(cs), held);

    uint8_t uuid[16] = {9};
    ctx.has_lsid = true;
    memcpy(ctx.lsid, uuid, 16);
    bson_reinit(&reply);
    fill(&l, 50, 0);
    CHECK_INT(docstore_cursor_reply(&ctx, "app.c", &l, 10, false, &reply, &err), 0);
    CHECK_INT(docstore_cursors_open(cs), 2);
    struct timespec ts = {0, 30 * 1000 * 1000}; /* past the 5 ms session timeout */
    nanosleep(&ts, NULL);
    docstore_cursors_expire(cs, 10 * 60 * 1000);
    CHECK_INT(docstore_cursors_open(cs), 1); /* the session's went; the other stays */
    docstore_cursors_conn_closed(cs, 5);
    CHECK_INT(docstore_cursors_open(cs), 0);
    CHECK_INT(docstore_cursors_bytes(cs), 0);
    bson_destroy(&reply);
    docstore_cursors_free(cs);
}

int main(void)
{
    RUN(test_batches);
    RUN(test_sessions_and_connections);
    RUN(test_session_owner);
    RUN(test_limits);
    RUN(test_dispatch);
    return TEST_REPORT();
}
