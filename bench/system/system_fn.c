/*
 * bench_system's functions: the same database work done the two ways MongoDB's
 * Lambda guidance contrasts, in one bootstrap (_HANDLER picks):
 *
 *   system.managed  the client created once per instance (tether_db_open in
 *                   init) and reused: libtether's managed client, as
 *                   examples/counter does;
 *   system.naive    a mongoc_client_t created from $MONGODB_URI inside the
 *                   handler and destroyed before it returns: every invocation
 *                   connects, handshakes, authenticates (when the URI says
 *                   so) and closes.
 *
 * Each invocation does one findOneAndUpdate (upsert, $inc) of
 * {_id: $AWS_LAMBDA_FUNCTION_NAME} in bench.system and answers
 * {"n":N,"instance":PID,"handler_ns":T}, T being the handler's own time
 * (bench/harness reads "instance" and "handler_ns").
 */
#include <tether/db.h>
#include <tether/tether.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The invocation's work on coll: *n = the counter after the increment. */
static int increment(mongoc_collection_t *coll, long long *n /* OUT */, bson_error_t *error)
{
    const char *fn = getenv("AWS_LAMBDA_FUNCTION_NAME");
    bson_t *query = BCON_NEW("_id", BCON_UTF8(fn != NULL ? fn : "system"));
    bson_t *update = BCON_NEW("$inc", "{", "n", BCON_INT64(1), "}");
    mongoc_find_and_modify_opts_t *opts = mongoc_find_and_modify_opts_new();
    bson_t reply;
    int rc = -1;
    mongoc_find_and_modify_opts_set_update(opts, update);
    mongoc_find_and_modify_opts_set_flags(opts, MONGOC_FIND_AND_MODIFY_UPSERT |
                                                    MONGOC_FIND_AND_MODIFY_RETURN_NEW);
    if (mongoc_collection_find_and_modify_with_opts(coll, query, opts, &reply, error)) {
        bson_iter_t it;
        *n = 0;
        if (bson_iter_init(&it, &reply) && bson_iter_find_descendant(&it, "value.n", &it) &&
            BSON_ITER_HOLDS_NUMBER(&it))
            *n = (long long)bson_iter_as_int64(&it);
        rc = 0;
    }
    bson_destroy(&reply);
    mongoc_find_and_modify_opts_destroy(opts);
    bson_destroy(update);
    bson_destroy(query);
    return rc;
}

/* The answer, with the handler's own time since t0. */
static int answer(tether_response_t *res, int rc, long long n, const bson_error_t *error,
                  long long t0)
{
    if (rc != 0)
        return tether_response_error(res, "DatabaseError", "%s", error->message);
    return tether_response_printf(res, "{\"n\":%lld,\"instance\":%d,\"handler_ns\":%lld}", n,
                                  (int)getpid(), now_ns() - t0);
}

static int managed(const tether_event_t *event, tether_response_t *res, void *user)
{
    (void)event;
    (void)user;
    long long t0 = now_ns(), n = 0;
    bson_error_t error;
    mongoc_collection_t *coll = tether_db_collection("bench", "system");
    if (coll == NULL)
        return tether_response_error(res, "DatabaseUnavailable", "no database client");
    int rc = increment(coll, &n, &error);
    mongoc_collection_destroy(coll);
    return answer(res, rc, n, &error, t0);
}

static int naive(const tether_event_t *event, tether_response_t *res, void *user)
{
    (void)event;
    (void)user;
    long long t0 = now_ns(), n = 0;
    bson_error_t error;
    const char *uri = getenv("MONGODB_URI");
    mongoc_client_t *client = uri != NULL ? mongoc_client_new(uri) : NULL;
    if (client == NULL)
        return tether_response_error(res, "DatabaseUnavailable", "no usable MONGODB_URI");
    mongoc_client_set_error_api(client, MONGOC_ERROR_API_VERSION_2);
    mongoc_collection_t *coll = mongoc_client_get_collection(client, "bench", "system");
    int rc = increment(coll, &n, &error);
    mongoc_collection_destroy(coll);
    mongoc_client_destroy(client); /* ends the session, closes the connection */
    return answer(res, rc, n, &error, t0);
}

static int system_init(void **user, tether_error_t *err)
{
    (void)user;
    const char *handler = getenv("_HANDLER");
    if (handler != NULL && strcmp(handler, "system.naive") == 0) {
        mongoc_init(); /* idempotent; the naive handler makes its own clients */
        return 0;
    }
    return tether_db_open(NULL, err);
}

int main(void)
{
    static const tether_handler_t handlers[] = {
        {"system.managed", managed},
        {"system.naive", naive},
    };
    static const tether_config_t config = {
        .init = system_init,
        .handlers = handlers,
        .n_handlers = sizeof handlers / sizeof handlers[0],
    };
    return tether_run(&config);
}
