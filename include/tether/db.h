/*
 * The managed MongoDB client: one libmongoc client per execution environment,
 * configured once (in the init callback), created at first use, reused by every
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
 *   tlsCAFile             = the CA bundle found (URI asking for TLS, see below)
 * and the client, created at first use, gets serverSelectionTimeoutMS and
 * connectTimeoutMS bounded by the time the event (or init) has left, so a
 * database that is down or unreachable fails the command with libmongoc's
 * reason before the function times out (docs/runtime.md, "Timeouts").
 *
 * TLS (tls=true, ssl=true, mongodb+srv): the CA bundle is the URI's tlsCAFile,
 * else $SSL_CERT_FILE, else the first that exists of the places Amazon Linux
 * (/etc/pki/tls/certs/ca-bundle.crt, the Lambda base images) and other
 * distributions keep theirs; none found is an init error naming them.
 *
 * With authMechanism=MONGODB-AWS and no user in the URI, libmongoc signs with
 * $AWS_ACCESS_KEY_ID / $AWS_SECRET_ACCESS_KEY / $AWS_SESSION_TOKEN, which
 * Lambda (and tether up, for a function with a Role) provides: no password in
 * the URI. The URI's credentials are never logged nor put in an error message.
 * libmongoc's own log lines go to the runtime's log at their level (its debug
 * lines only when TETHER_LOG_LEVEL/AWS_LAMBDA_LOG_LEVEL is debug; its trace
 * lines, which dump wire bytes, never).
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
 * Configures the shared client from uri, or from $MONGODB_URI when uri is
 * NULL: checks the URI (scheme, hosts, every option; an option libmongoc does
 * not know is an error too, since libmongoc would ignore it) and, when it asks
 * for TLS, finds the CA bundle. Does no network I/O and creates no client yet:
 * tether_db() does, at first use. Calling it again after a success does
 * nothing and returns 0. On failure returns TETHER_ERR_CONFIG (no URI, a URI
 * that is wrong, TLS without a CA bundle) or TETHER_ERR_NOMEM and, when err is
 * not NULL, records a "DatabaseConfigError" for the init callback to return,
 * saying what is wrong and how to fix it (never the URI's credentials).
 */
TETHER_API TETHER_WARN_UNUSED int tether_db_open(const char *uri, tether_error_t *err);

/*
 * The shared client. The first call creates it (calling tether_db_open(NULL)
 * first when nobody did), with serverSelectionTimeoutMS and connectTimeoutMS
 * bounded by the time the current event or init has left; later calls return
 * the same client. NULL when that fails: tether_db_error() says why. The
 * runtime owns it: do not destroy it. Valid until tether_db_close().
 */
TETHER_API mongoc_client_t *tether_db(void);

/*
 * Why the last tether_db() or tether_db_collection() returned NULL, naming the
 * database's hosts and never its credentials; "" when nothing failed. Owned
 * by the runtime, valid until the next tether_db* call.
 */
TETHER_API const char *tether_db_error(void);

/*
 * The database the client is for, for messages: its host list
 * ("host:port,host:port", or "name (SRV)"), never credentials; "" before
 * tether_db_open() succeeded. Owned by the runtime, valid until
 * tether_db_close(). libmongoc's own error messages do not always name the
 * host (a connection that died mid-command: "Failed to send ... socket error"):
 * prefix them with this one, as the examples do.
 */
TETHER_API const char *tether_db_hosts(void);

/*
 * A collection of the shared client: database db (NULL: the URI's database,
 * else "test"), collection name. The caller owns the result and frees it with
 * mongoc_collection_destroy(). NULL when there is no client (tether_db_error()
 * says why) or name is NULL.
 */
TETHER_API mongoc_collection_t *tether_db_collection(const char *db, const char *name);

/*
 * Destroys the shared client (closing its connections) and forgets the URI,
 * so tether_db_open() may be called again. The runtime calls it after the
 * shutdown callback; calling it earlier is allowed, and harmless when no
 * client exists.
 */
TETHER_API void tether_db_close(void);

#ifdef __cplusplus
}
#endif

#endif
