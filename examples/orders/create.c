/* orders.create: inserts the event (a JSON object) as an order; answers {"created": true}. */
#include "orders.h"
#include "orders_db.h"

int orders_create(const tether_event_t *event, tether_response_t *res, void *user)
{
    (void)user;
    bson_error_t error;
    bson_t *doc =
        bson_new_from_json((const uint8_t *)event->payload, (ssize_t)event->payload_len, &error);
    if (doc == NULL)
        return tether_response_error(res, "InvalidOrder", "the event is not a JSON object: %s",
                                     error.message);
    mongoc_collection_t *coll = orders_collection();
    int rc;
    if (coll == NULL)
        rc = tether_response_error(res, "DatabaseUnavailable", "%s", tether_db_error());
    else if (!mongoc_collection_insert_one(coll, doc, NULL, NULL, &error))
        rc = tether_response_error(res, "DatabaseError", "database %s: %s", tether_db_hosts(),
                                   error.message);
    else
        rc = tether_response_printf(res, "{\"created\":true}");
    if (coll != NULL)
        mongoc_collection_destroy(coll);
    bson_destroy(doc);
    return rc;
}
