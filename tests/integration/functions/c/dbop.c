/*
 * A test function that runs one database operation through libtether's
 * managed client and reports libmongoc's outcome as data, for
 * test_platform_db_users.js: the event is {"op": "insert" | "find"} on
 * app.dbop; the answer {"ok": true, "n": N} (documents found, or 1 inserted)
 * or {"ok": false, "domain": D, "code": C, "message": M}, libmongoc's
 * bson_error_t (a server's refusal has the server's code: 13 Unauthorized,
 * 18 AuthenticationFailed). Built as build/tests/functions/dbop/bootstrap.
 */
#include <tether/db.h>
#include <tether/tether.h>

#include <string.h>

static int dbop_init(void **user, tether_error_t *err)
{
    (void)user;
    return tether_db_open(NULL, err);
}

/* The answer as relaxed extended JSON (libbson escapes the message). */
static int dbop_answer(tether_response_t *res, const bson_t *doc)
{
    size_t len;
    char *json = bson_as_relaxed_extended_json(doc, &len);
    int rc = json != NULL ? tether_response_set(res, json, len)
                          : tether_response_error(res, "InternalError", "bson_as_json failed");
    bson_free(json);
    return rc;
}

static int dbop_handler(const tether_event_t *event, tether_response_t *res, void *user)
{
    (void)user;
    bool insert = strstr(event->payload, "\"insert\"") != NULL; /* NUL-terminated */
    mongoc_collection_t *coll = tether_db_collection("app", "dbop");
    if (coll == NULL)
        return tether_response_error(res, "DatabaseUnavailable", "%s", tether_db_error());
    bson_error_t error;
    int64_t n = 0;
    bool ok;
    if (insert) {
        bson_t *doc = BCON_NEW("by", BCON_UTF8("dbop"));
        ok = mongoc_collection_insert_one(coll, doc, NULL, NULL, &error);
        n = ok ? 1 : 0;
        bson_destroy(doc);
    } else {
        bson_t filter = BSON_INITIALIZER;
        mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, &filter, NULL, NULL);
        const bson_t *doc;
        while (mongoc_cursor_next(cur, &doc))
            n++;
        ok = !mongoc_cursor_error(cur, &error);
        mongoc_cursor_destroy(cur);
        bson_destroy(&filter);
    }
    mongoc_collection_destroy(coll);
    bson_t answer = BSON_INITIALIZER;
    BSON_APPEND_BOOL(&answer, "ok", ok);
    if (ok) {
        BSON_APPEND_INT64(&answer, "n", n);
    } else {
        BSON_APPEND_INT32(&answer, "domain", (int32_t)error.domain);
        BSON_APPEND_INT32(&answer, "code", (int32_t)error.code);
        BSON_APPEND_UTF8(&answer, "message", error.message);
    }
    int rc = dbop_answer(res, &answer);
    bson_destroy(&answer);
    return rc;
}

int main(void)
{
    static const tether_config_t config = {
        .init = dbop_init,
        .handler = dbop_handler,
    };
    return tether_run(&config);
}
