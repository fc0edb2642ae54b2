/* orders.get: {"id": X} → the order whose "id" is X, as relaxed extended JSON. */
#include "orders.h"
#include "orders_db.h"

#include <string.h>

int orders_get(const tether_event_t *event, tether_response_t *res, void *user)
{
    (void)user;
    bson_error_t error;
    bson_t *req =
        bson_new_from_json((const uint8_t *)event->payload, (ssize_t)event->payload_len, &error);
    bson_iter_t it;
    if (req == NULL || !bson_iter_init_find(&it, req, "id")) {
        if (req != NULL)
            bson_destroy(req);
        return tether_response_error(res, "InvalidRequest", "expected {\"id\": ...}");
    }
    bson_t filter = BSON_INITIALIZER;
    bson_append_iter(&filter, "id", 2, &it);
    bson_t *opts = BCON_NEW("projection", "{", "_id", BCON_INT32(0), "}", "limit", BCON_INT64(1));
    mongoc_collection_t *coll = orders_collection();
    int rc;
    if (coll == NULL) {
        rc = tether_response_error(res, "DatabaseUnavailable", "%s", tether_db_error());
    } else {
        mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, &filter, opts, NULL);
        const bson_t *doc;
        if (mongoc_cursor_next(cur, &doc)) {
            char *json = bson_as_relaxed_extended_json(doc, NULL);
            rc = tether_response_set(res, json, strlen(json));
            bson_free(json);
        } else if (mongoc_cursor_error(cur, &error)) {
            rc = tether_response_error(res, "DatabaseError", "database %s: %s", tether_db_hosts(),
                                       error.message);
        } else {
            rc = tether_response_error(res, "NotFound", "no such order");
        }
        mongoc_cursor_destroy(cur);
        mongoc_collection_destroy(coll);
    }
    bson_destroy(opts);
    bson_destroy(&filter);
    bson_destroy(req);
    return rc;
}
