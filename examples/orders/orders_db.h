/*
 * Pattern 2: several logical functions in one bootstrap, one client module.
 *
 * MongoDB's guidance for several functions packaged together: isolate the
 * client in its own module so that every function shares it. This is that
 * module: orders_db_init() runs once from the init callback, and
 * orders_collection() is what each of the three handlers (create.c, get.c,
 * list.c) uses. They never create a client of their own.
 */
#ifndef ORDERS_DB_H
#define ORDERS_DB_H

#include <tether/db.h>

/* Opens the shared client (from $MONGODB_URI). For the init callback. */
int orders_db_init(tether_error_t *err);

/* The orders collection on the shared client; mongoc_collection_destroy() it. */
mongoc_collection_t *orders_collection(void);

#endif
