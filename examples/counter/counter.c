/*
 * Pattern 1: one function, its MongoDB client created outside the handler.
 *
 * MongoDB's Lambda guidance: "define the client outside the handler; create it
 * once; reuse it across invocations". In C that is the init callback: it runs
 * once per instance, before the first event, and opens the one shared client
 * (tether_db_open). Every invocation reuses it; the first command connects,
 * later ones use the same socket. The shutdown callback runs on SIGTERM; the
 * runtime closes the client after it.
 *
 * Each invocation increments {_id: "hits"} in app.counters and answers
 * {"hits": N, "instance": PID}.
 */
#include <tether/db.h>
#include <tether/tether.h>

#include <stdio.h>
#include <unistd.h>

static int counter_init(void **user, tether_error_t *err)
{
    (void)user;
    /* No network I/O yet: a bad URI (or TLS without a CA bundle) fails init,
       posted to /runtime/init/error; an unreachable server fails the
       invocation instead, with libmongoc's reason, before the timeout. */
    return tether_db_open(NULL, err);
}

static int counter_handler(const tether_event_t *event, tether_response_t *res, void *user)
{
    (void)event;
    (void)user;
    mongoc_collection_t *coll = tether_db_collection("app", "counters");
    if (coll == NULL)
        return tether_response_error(res, "DatabaseUnavailable", "%s", tether_db_error());
    bson_t *query = BCON_NEW("_id", BCON_UTF8("hits"));
    bson_t *update = BCON_NEW("$inc", "{", "n", BCON_INT64(1), "}");
    bson_t *fields = BCON_NEW("new", BCON_BOOL(true), "upsert", BCON_BOOL(true));
    bson_t reply;
    bson_error_t error;
    int rc;
    mongoc_find_and_modify_opts_t *opts = mongoc_find_and_modify_opts_new();
    mongoc_find_and_modify_opts_set_update(opts, update);
    mongoc_find_and_modify_opts_set_flags(opts, MONGOC_FIND_AND_MODIFY_UPSERT |
                                                    MONGOC_FIND_AND_MODIFY_RETURN_NEW);
    if (!mongoc_collection_find_and_modify_with_opts(coll, query, opts, &reply, &error)) {
        rc = tether_response_error(res, "DatabaseError", "database %s: %s", tether_db_hosts(),
                                   error.message);
    } else {
        bson_iter_t it;
        int64_t n = 0;
        if (bson_iter_init(&it, &reply) && bson_iter_find_descendant(&it, "value.n", &it) &&
            BSON_ITER_HOLDS_NUMBER(&it))
            n = bson_iter_as_int64(&it);
        rc = tether_response_printf(res, "{\"hits\":%lld,\"instance\":%d}", (long long)n,
                                    (int)getpid());
    }
    bson_destroy(&reply);
    mongoc_find_and_modify_opts_destroy(opts);
    bson_destroy(fields);
    bson_destroy(update);
    bson_destroy(query);
    mongoc_collection_destroy(coll);
    return rc;
}

static void counter_shutdown(void *user)
{
    (void)user;
    fprintf(stderr, "counter: shutting down, closing the database client\n");
    tether_db_close();
}

int main(void)
{
    static const tether_config_t config = {
        .init = counter_init,
        .shutdown = counter_shutdown,
        .handler = counter_handler,
    };
    return tether_run(&config);
}
