/* The three logical functions of the orders bootstrap; main.c maps _HANDLER to them. */
#ifndef ORDERS_H
#define ORDERS_H

#include <tether/tether.h>

int orders_create(const tether_event_t *event, tether_response_t *res, void *user);
int orders_get(const tether_event_t *event, tether_response_t *res, void *user);
int orders_list(const tether_event_t *event, tether_response_t *res, void *user);

#endif
