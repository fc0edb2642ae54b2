/*
 * The orders bootstrap: three logical functions (orders.create, orders.get,
 * orders.list) in one binary. The template gives each its own FunctionName and
 * Handler; _HANDLER picks the entry. All three share the one client that
 * orders_db.c opens at init.
 */
#include "orders.h"
#include "orders_db.h"

static int orders_init(void **user, tether_error_t *err)
{
    (void)user;
    return orders_db_init(err);
}

int main(void)
{
    static const tether_handler_t handlers[] = {
        {"orders.create", orders_create},
        {"orders.get", orders_get},
        {"orders.list", orders_list},
    };
    static const tether_config_t config = {
        .init = orders_init,
        .handlers = handlers,
        .n_handlers = sizeof handlers / sizeof handlers[0],
    };
    return tether_run(&config);
}
