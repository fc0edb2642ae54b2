/*
 * The managed MongoDB client (see include/tether/db.h): one single-threaded
 * mongoc_client_t per process, made from $MONGODB_URI with the options a
 * frozen-and-thawed Lambda instance needs, and shared by every handler.
 * Nothing here logs the URI: only its host list and the appname.
 */
#include "tether/db.h"

#include "runtime/log.h"
#include "runtime/loop.h"
#include "runtime/response.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DB_SOCKET_CHECK_MS     1000
#define DB_SERVER_SELECTION_MS 5000

static mongoc_client_t *db_client;
static char *db_default_name; /* the URI's database, or NULL */
static int db_mongoc_inited;

static void db_fail(tether_error_t *err, const char *msg)
{
    runtime_log_error("db: %s", msg);
    if (err != NULL)
        tether_error_set(err, "DatabaseConfigError", "%s", msg);
}

/* "host:port,host:port" (or the SRV name) for log lines: never credentials. */
static void db_describe_hosts(const mongoc_uri_t *uri, char *out, size_t cap)
{
    out[0] = '\0';
    const char *srv = mongoc_uri_get_srv_hostname(uri);
    if (srv != NULL) {
        snprintf(out, cap, "%s (SRV)", srv);
        return;
    }
    size_t used = 0;
    for (const mongoc_host_list_t *h = mongoc_uri_get_hosts(uri); h != NULL && used + 1 < cap;
         h = h->next) {
        int n = snprintf(out + used, cap - used, "%s%s", used ? "," : "", h->host_and_port);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

int tether_db_open(const char *uri_string, tether_error_t *err)
{
    if (db_client != NULL)
        return 0;
    if (uri_string == NULL)
        uri_string = getenv("MONGODB_URI");
    if (uri_string == NULL || uri_string[0] == '\0') {
        db_fail(err, "MONGODB_URI is not set: no database to connect to");
        return TETHER_ERR_CONFIG;
    }
    if (!db_mongoc_inited) {
        mongoc_init(); /* idempotent */
        db_mongoc_inited = 1;
    }
    bson_error_t berr;
    mongoc_uri_t *uri = mongoc_uri_new_with_error(uri_string, &berr);
    if (uri == NULL) {
        /* libmongoc's message may quote the URI: do not pass it on */
        db_fail(err, "MONGODB_URI is not a valid MongoDB connection string");
        return TETHER_ERR_CONFIG;
    }
    const char *fn = getenv("AWS_LAMBDA_FUNCTION_NAME");
    if (!mongoc_uri_has_option(uri, MONGOC_URI_APPNAME) && fn != NULL && fn[0] != '\0')
        (void)mongoc_uri_set_appname(uri, fn); /* too long (> 128 bytes): keep the default */
    if (!mongoc_uri_has_option(uri, MONGOC_URI_SOCKETCHECKINTERVALMS))
        mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SOCKETCHECKINTERVALMS, DB_SOCKET_CHECK_MS);
    if (!mongoc_uri_has_option(uri, MONGOC_URI_SERVERSELECTIONTRYONCE))
        mongoc_uri_set_option_as_bool(uri, MONGOC_URI_SERVERSELECTIONTRYONCE, false);
    if (!mongoc_uri_has_option(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS))
        mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS,
                                       DB_SERVER_SELECTION_MS);
    if (!mongoc_uri_has_option(uri, MONGOC_URI_RETRYWRITES))
        mongoc_uri_set_option_as_bool(uri, MONGOC_URI_RETRYWRITES, true);

    mongoc_client_t *client = mongoc_client_new_from_uri_with_error(uri, &berr);
    if (client == NULL) {
        mongoc_uri_destroy(uri);
        db_fail(err, "libmongoc could not create a client for MONGODB_URI");
        return TETHER_ERR_CONFIG;
    }
    mongoc_client_set_error_api(client, MONGOC_ERROR_API_VERSION_2);
    const char *dbname = mongoc_uri_get_database(uri);
    free(db_default_name);
    db_default_name = NULL;
    if (dbname != NULL) {
        db_default_name = strdup(dbname);
        if (db_default_name == NULL) {
            mongoc_client_destroy(client);
            mongoc_uri_destroy(uri);
            return TETHER_ERR_NOMEM;
        }
    }
    char hosts[256];
    db_describe_hosts(uri, hosts, sizeof hosts);
    const char *mech = mongoc_uri_get_auth_mechanism(uri);
    runtime_log_info("db: one client for %s (appname %s, auth %s)", hosts,
                     mongoc_uri_get_appname(uri) ? mongoc_uri_get_appname(uri) : "-",
                     mech ? mech : (mongoc_uri_get_username(uri) ? "default" : "none"));
    mongoc_uri_destroy(uri);
    db_client = client;
    runtime_db_close_hook = tether_db_close;
    return 0;
}

mongoc_client_t *tether_db(void)
{
    if (db_client == NULL && tether_db_open(NULL, NULL) != 0)
        return NULL;
    return db_client;
}

mongoc_collection_t *tether_db_collection(const char *db, const char *name)
{
    mongoc_client_t *c = tether_db();
    if (c == NULL || name == NULL)
        return NULL;
    if (db == NULL)
        db = db_default_name ? db_default_name : "test";
    return mongoc_client_get_collection(c, db, name);
}

void tether_db_close(void)
{
    if (db_client != NULL) {
        mongoc_client_destroy(db_client);
        db_client = NULL;
        runtime_log_info("db: client closed");
    }
    free(db_default_name);
    db_default_name = NULL;
    /* no mongoc_cleanup(): libmongoc cannot be initialised again after it,
       and the process is about to exit anyway */
}
