/*
 * The managed MongoDB client: one libmongoc client per execution environment,
 * created once (in the init callback, or on first use), reused by every
 * invocation and by every logical function in the bootstrap, destroyed at
 * shutdown. This is MongoDB's Lambda guidance ("define the client outside the
 * handler") made the default for C.
 *
 * The client is libmongoc's single-threaded client: one socket per server,
 * monitoring on that socket, no background threads (none to freeze mid-way).
 * tether_db_open() adds to the URI, unless it sets them already:
 *   appname               = $AWS_LAMBDA_FUNCTION_NAME (shows in currentOp)
 *   socketCheckIntervalMS = 1000   a socket idle that long is checked before use,
 *                                  so one that died while the instance was frozen
 *                                  is replaced instead of failing the next command
 *   serverSelectionTryOnce= false  retry selection within the timeout
 *   serverSelectionTimeoutMS = 5000
 *   retryWrites           = true
 * With authMechanism=MONGODB-AWS and no user in the URI, libmongoc signs with
 * $AWS_ACCESS_KEY_ID / $AWS_SECRET_ACCESS_KEY / $AWS_SESSION_TOKEN, which
 * Lambda (and tether up, for a function with a Role) provides: no password in
 * the URI. The URI's credentials are never logged.
 *
 * Like the rest of libtether, call these from the runtime's thread only.
 */
#ifndef TETHER_DB_H
#define TETHER_DB_H

#include <mongoc/mongoc.h>

#include "tether/tether.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Creates the shared client from uri, or from $MONGODB_URI when uri is NULL.
 * Does no network I/O: the first command connects (and the connection is then
 * kept). Calling it again while a client exists does nothing and returns 0.
 * On failure returns TETHER_ERR_CONFIG (no URI, or one libmongoc rejects) or
 * TETHER_ERR_NOMEM and, when err is not NULL, records a "DatabaseConfigError"
 * for the init callback to return (the message never contains the URI).
 */
TETHER_API TETHER_WARN_UNUSED int tether_db_open(const char *uri, tether_error_t *err);

/*
 * The shared client. Opens it from $MONGODB_URI on first use when
 * tether_db_open() was not called; NULL when that fails (logged). The runtime
 * owns it: do not destroy it. Valid until tether_db_close().
 */
TETHER_API mongoc_client_t *tether_db(void);

/*
 * A collection of the shared client: database db (NULL: the URI's database,
 * else "test"), collection name. The caller owns the result and frees it with
 * mongoc_collection_destroy(). NULL when there is no client.
 */
TETHER_API mongoc_collection_t *tether_db_collection(const char *db, const char *name);

/*
 * Destroys the shared client (closing its connections). The runtime calls it
 * after the shutdown callback; calling it earlier is allowed, and harmless
 * when no client exists.
 */
TETHER_API void tether_db_close(void);

#ifdef __cplusplus
}
#endif

#endif
