/* orders.list: every order, as a JSON array (at most 100). */
#include "orders.h"
#include "orders_db.h"

int orders_list(const tether_event_t *event, tether_response_t *res, void *user)
{
    (void)event;
    (void)user;
    mongoc_collection_t *coll = orders_collection();
    if (coll == NULL)
        return tether_response_error(res, "DatabaseUnavailable", "%s", tether_db_error());
    bson_t filter = BSON_INITIALIZER;
    bson_t *opts = BCON_NEW("projection", "{", "_id", BCON_INT32(0), "}", "limit", BCON_INT64(100));
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, &filter, opts, NULL);
    const bson_t *doc;
    bson_error_t error;
    int rc = tether_response_printf(res, "[");
    for (int n = 0; rc == 0 && mongoc_cursor_next(cur, &doc); n++) {
        char *json = bson_as_relaxed_extended_json(doc, NULL);
        rc = tether_response_printf(res, "%s%s", n ? "," : "", json);
        bson_free(json);
    }
    if (rc == 0 && mongoc_cursor_error(cur, &error))
        rc = tether_response_error(res, "DatabaseError", "database %s: %s", tether_db_hosts(),
                                   error.message);
    else if (rc == 0)
        rc = tether_response_printf(res, "]");
    mongoc_cursor_destroy(cur);
    bson_destroy(opts);
    bson_destroy(&filter);
    mongoc_collection_destroy(coll);
    return rc;
}
