/* The orders functions' shared client module (see orders_db.h). */
#include "orders_db.h"

#include <stdlib.h>

int orders_db_init(tether_error_t *err)
{
    return tether_db_open(NULL, err);
}

mongoc_collection_t *orders_collection(void)
{
    const char *db = getenv("ORDERS_DB");
    return tether_db_collection(db ? db : "app", "orders");
}
