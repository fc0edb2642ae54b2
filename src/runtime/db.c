/*
 * The managed MongoDB client (see include/tether/db.h): one single-threaded
 * mongoc_client_t per process, made from $MONGODB_URI with the options a
 * frozen-and-thawed Lambda instance needs, and shared by every handler.
 *
 * tether_db_open() checks the URI (so a bad one is an init error that says
 * what is wrong) and finds the CA bundle when it asks for TLS; the client is
 * created at first use (tether_db()), when the runtime knows how much time the
 * phase in progress has left, and its server selection and connect timeouts
 * are bounded by it (docs/runtime.md, "Timeouts"). libmongoc's log goes
 * through the runtime's log at the matching level.
 *
 * Nothing here logs or returns the URI's credentials: every message that may
 * quote the URI goes through db_scrub() first.
 */
#include "tether/db.h"

#include "runtime/db_network.h"
#include "runtime/log.h"
#include "runtime/loop.h"
#include "runtime/metrics.h"
#include "runtime/response.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DB_SOCKET_CHECK_MS     1000
#define DB_SERVER_SELECTION_MS 5000  /* tether's default serverSelectionTimeoutMS */
#define DB_CONNECT_MS          10000 /* libmongoc's default connectTimeoutMS */
#define DB_BOUND_MIN_MS        100   /* the least either timeout is bounded to */
#define DB_MSG_MAX             1024

/* Where CA bundles live, in the order they are tried when neither tlsCAFile
 * nor SSL_CERT_FILE names one. The Lambda base images first. */
static const char *const db_ca_known[] = {
    "/etc/pki/tls/certs/ca-bundle.crt",                  /* Amazon Linux 2023 and 2 (Lambda
                                                            provided.al2023/al2), RHEL, Fedora */
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", /* the same, as update-ca-trust writes it
                                                          */
    "/etc/ssl/certs/ca-certificates.crt",                /* Debian, Ubuntu, Alpine, Arch */
    "/etc/ssl/ca-bundle.pem",                            /* openSUSE, SLES */
    "/etc/ssl/cert.pem",                                 /* Alpine, LibreSSL, macOS */
    NULL,
};
static const char *const *db_ca_paths = db_ca_known; /* a unit test points it elsewhere */

static mongoc_uri_t *db_uri;           /* checked at open, with the Lambda options; owned */
static mongoc_client_t *db_client;     /* created from db_uri at first use */
static char *db_default_name;          /* the URI's database, or NULL */
static char db_hosts[256];             /* "host:port,..." or "name (SRV)": for messages */
static char db_last_error[DB_MSG_MAX]; /* why tether_db() last returned NULL */
static char *db_secrets[5];            /* passwords as written and decoded, a session token */
static int db_mongoc_inited;

/* libmongoc's log lines while a URI is parsed: they say what is wrong with it */
static char db_capture[DB_MSG_MAX];
static int db_capturing;

/*
 * libmongoc's own initiator (TCP or Unix socket, then TLS), exported by
 * libmongoc 1.23 but not declared in its public headers; user_data must be
 * the client. Declared here as mongoc-client.c defines it.
 */
mongoc_stream_t *mongoc_client_default_stream_initiator(const mongoc_uri_t *uri,
                                                        const mongoc_host_list_t *host,
                                                        void *user_data, bson_error_t *error);

/*
 * The managed client's stream initiator: libmongoc's default, counted for
 * the per-invocation metrics (metrics.h). The client is single-threaded, so
 * every connection it makes (the scanner's, which commands then use too)
 * goes through here: one call is one real connection attempt.
 */
static mongoc_stream_t *db_counting_initiator(const mongoc_uri_t *uri,
                                              const mongoc_host_list_t *host, void *client,
                                              bson_error_t *error)
{
    /* the default initiator returns only "Failed to connect to target
       host" for a failed connect, and closes the socket before returning:
       errno then says ENOTCONN when connect() failed at once (refused; on
       Linux an unreachable network fails at once too) and is left at the
       timed-out wait's value otherwise. Give the error that cause, worded as
       libmongoc's own scanner words it (docs/runtime.md, "Metrics") */
    errno = 0;
    mongoc_stream_t *s = mongoc_client_default_stream_initiator(uri, host, client, error);
    int cause_errno = errno;
    if (s != NULL) {
        runtime_metrics_db_opened();
        return s;
    }
    runtime_metrics_db_failed();
    if (error->domain == MONGOC_ERROR_STREAM && error->code == MONGOC_ERROR_STREAM_CONNECT &&
        strncmp(error->message, "Failed to connect", 17) == 0) {
        const char *cause = cause_errno == ECONNREFUSED ? "connection refused"
                            : cause_errno == ENOTCONN   ? "connection refused (or unreachable)"
                            : cause_errno == ETIMEDOUT || cause_errno == EINPROGRESS ||
                                    cause_errno == EAGAIN || cause_errno == 0
                                ? "connection timeout"
                                : strerror(cause_errno);
        bson_set_error(error, MONGOC_ERROR_STREAM, MONGOC_ERROR_STREAM_CONNECT,
                       "%s calling hello on '%s'", cause, host->host_and_port);
    }
    return NULL;
}

/* Copies s into out (cap bytes), percent-decoded. */
static void db_percent_decode(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < cap; i++) {
        if (s[i] == '%' && i + 2 < n && isxdigit((unsigned char)s[i + 1]) &&
            isxdigit((unsigned char)s[i + 2])) {
            char hex[3] = {s[i + 1], s[i + 2], '\0'};
            out[o++] = (char)strtol(hex, NULL, 16);
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
}

static void db_secrets_free(void)
{
    for (size_t i = 0; i < sizeof db_secrets / sizeof db_secrets[0]; i++) {
        free(db_secrets[i]);
        db_secrets[i] = NULL;
    }
}

static void db_secret_add(const char *s, size_t n)
{
    if (n == 0)
        return;
    for (size_t i = 0; i < sizeof db_secrets / sizeof db_secrets[0]; i++) {
        if (db_secrets[i] == NULL) {
            db_secrets[i] = strndup(s, n);
            return;
        }
    }
}

/* Remembers the password of the userinfo that ends at the last '@' before
 * end, as written and percent-decoded. */
static void db_secrets_learn_password(const char *start, const char *end)
{
    const char *at = NULL;
    for (const char *p = start; p < end; p++)
        if (*p == '@')
            at = p;
    const char *colon = at ? memchr(start, ':', (size_t)(at - start)) : NULL;
    if (colon == NULL)
        return;
    size_t n = (size_t)(at - colon - 1);
    char decoded[512];
    db_percent_decode(colon + 1, n, decoded, sizeof decoded);
    for (size_t i = 0; i < sizeof db_secrets / sizeof db_secrets[0]; i++)
        if (db_secrets[i] != NULL && strlen(db_secrets[i]) == n &&
            strncmp(db_secrets[i], colon + 1, n) == 0)
            return; /* known already */
    db_secret_add(colon + 1, n);
    if (strlen(decoded) != n || strncmp(decoded, colon + 1, n) != 0)
        db_secret_add(decoded, strlen(decoded));
}

/*
 * Remembers the secrets of a URI string, whether or not libmongoc accepts it:
 * the password (the userinfo is everything between "://" and the last '@'
 * before the options; a malformed URI may have a '?' in its password, so the
 * last '@' of all counts too), as written and percent-decoded, and an
 * AWS_SESSION_TOKEN in authMechanismProperties. Scrubbing too much is
 * harmless; too little is not.
 */
static void db_secrets_learn(const char *uri)
{
    db_secrets_free();
    const char *start = strstr(uri, "://");
    if (start != NULL) {
        start += 3;
        const char *q = strchr(start, '?');
        db_secrets_learn_password(start, q ? q : start + strlen(start));
        db_secrets_learn_password(start, start + strlen(start));
    }
    const char *tok = strstr(uri, "AWS_SESSION_TOKEN:");
    if (tok != NULL) {
        tok += strlen("AWS_SESSION_TOKEN:");
        db_secret_add(tok, strcspn(tok, "&,"));
    }
}

/*
 * Copies in to out (cap bytes) with credentials removed: whatever lies
 * between "://" and a following '@' becomes "***", and so does every
 * occurrence of a remembered secret.
 */
static void db_scrub(const char *in, char *out, size_t cap)
{
    size_t o = 0;
    for (const char *p = in; *p != '\0' && o + 1 < cap;) {
        if (strncmp(p, "://", 3) == 0) {
            const char *at = p + 3;
            size_t span = strcspn(at, "@ \t\n\"'");
            if (at[span] == '@') {
                int n = snprintf(out + o, cap - o, "://***@");
                o = n < 0 ? o : (o + (size_t)n >= cap ? cap - 1 : o + (size_t)n);
                p = at + span + 1;
                continue;
            }
        }
        int hit = 0;
        for (size_t i = 0; i < sizeof db_secrets / sizeof db_secrets[0] && !hit; i++) {
            size_t n = db_secrets[i] ? strlen(db_secrets[i]) : 0;
            if (n > 0 && strncmp(p, db_secrets[i], n) == 0) {
                int w = snprintf(out + o, cap - o, "***");
                o = w < 0 ? o : (o + (size_t)w >= cap ? cap - 1 : o + (size_t)w);
                p += n;
                hit = 1;
            }
        }
        if (!hit)
            out[o++] = *p++;
    }
    out[o < cap ? o : cap - 1] = '\0';
}

static runtime_log_level_t db_log_level(mongoc_log_level_t level)
{
    switch (level) {
    case MONGOC_LOG_LEVEL_ERROR:
    case MONGOC_LOG_LEVEL_CRITICAL:
        return RUNTIME_LOG_ERROR;
    case MONGOC_LOG_LEVEL_WARNING:
        return RUNTIME_LOG_WARN;
    case MONGOC_LOG_LEVEL_MESSAGE:
    case MONGOC_LOG_LEVEL_INFO:
        return RUNTIME_LOG_INFO;
    case MONGOC_LOG_LEVEL_DEBUG:
    case MONGOC_LOG_LEVEL_TRACE:
    default:
        return RUNTIME_LOG_DEBUG;
    }
}

/*
 * libmongoc's log handler: its lines go to the runtime's log at the matching
 * level (debug and trace only when the runtime's level is debug), scrubbed.
 * While a URI is parsed, its errors and warnings are kept for the init error
 * instead.
 */
static void db_log_handler(mongoc_log_level_t level, const char *domain, const char *message,
                           void *user)
{
    (void)user;
    runtime_log_level_t to = db_log_level(level);
    int keep = db_capturing && to <= RUNTIME_LOG_WARN;
    if (!keep && !runtime_log_enabled(to))
        return;
    char clean[DB_MSG_MAX];
    db_scrub(message, clean, sizeof clean);
    size_t n = strlen(clean);
    while (n > 0 && isspace((unsigned char)clean[n - 1]))
        clean[--n] = '\0';
    if (keep) {
        size_t used = strlen(db_capture);
        snprintf(db_capture + used, sizeof db_capture - used, "%s%s", used ? "; " : "", clean);
        return;
    }
    runtime_log(to, "mongoc %s: %s", domain ? domain : "-", clean);
}

static void db_mongoc_init(void)
{
    if (db_mongoc_inited)
        return;
    mongoc_init(); /* idempotent */
    mongoc_log_set_handler(db_log_handler, NULL);
    /* trace lines (a libmongoc built with ENABLE_TRACING) hex-dump the wire,
       authentication included: never, whatever the level */
    mongoc_log_trace_disable();
    db_mongoc_inited = 1;
}

/* Records why the client is unavailable: the log, tether_db_error(), and the
 * init error when err is not NULL. msg must hold no credentials. */
static void db_fail(tether_error_t *err, const char *msg)
{
    /* a longer message is cut here (the log line keeps it whole) */
    snprintf(db_last_error, sizeof db_last_error, "%.*s", (int)sizeof db_last_error - 1, msg);
    runtime_log_error("db: %s", msg);
    if (err != NULL)
        tether_error_set(err, "DatabaseConfigError", "%s", msg);
}

/* "host:port,host:port" (or the SRV name) for messages: never credentials. */
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

/* The scheme check libmongoc does, with a message that shows what was found
 * (only the scheme: it is short and never a secret). 0 or -1 with msg set. */
static int db_check_scheme(const char *s, char *msg, size_t cap)
{
    if (strncmp(s, "mongodb://", 10) == 0 || strncmp(s, "mongodb+srv://", 14) == 0)
        return 0;
    size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-");
    if (n > 0 && n <= 16 && strncmp(s + n, "://", 3) == 0)
        snprintf(msg, cap,
                 "MONGODB_URI must start with mongodb:// or mongodb+srv://, not %.*s:// "
                 "(mongodb://HOST[:PORT][,HOST...]/[DB][?OPTIONS])",
                 (int)n, s);
    else
        snprintf(msg, cap,
                 "MONGODB_URI must start with mongodb:// or mongodb+srv:// "
                 "(mongodb://HOST[:PORT][,HOST...]/[DB][?OPTIONS])");
    return -1;
}

/* A readable regular file: 0, or -1 with why in msg. */
static int db_check_file(const char *path, char *why, size_t cap)
{
    struct stat st;
    if (stat(path, &st) == -1 || access(path, R_OK) == -1) {
        snprintf(why, cap, "%s", strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(why, cap, "not a regular file");
        return -1;
    }
    return 0;
}

/*
 * For a URI that asks for TLS, the CA bundle libmongoc verifies the server
 * with: the URI's tlsCAFile, else $SSL_CERT_FILE, else the first of
 * db_ca_paths that exists, set as the URI's tlsCAFile. 0, or -1 after
 * db_fail() naming every place looked at and the fix.
 */
static int db_find_ca(mongoc_uri_t *uri, tether_error_t *err)
{
    char msg[DB_MSG_MAX], why[128];
    if (!mongoc_uri_get_tls(uri) ||
        mongoc_uri_get_option_as_bool(uri, MONGOC_URI_TLSINSECURE, false) ||
        mongoc_uri_get_option_as_bool(uri, MONGOC_URI_TLSALLOWINVALIDCERTIFICATES, false))
        return 0; /* no TLS, or no certificate to verify */
    const char *given = mongoc_uri_get_option_as_utf8(uri, MONGOC_URI_TLSCAFILE, NULL);
    if (given != NULL) {
        if (db_check_file(given, why, sizeof why) == 0)
            return 0;
        snprintf(msg, sizeof msg, "MONGODB_URI's tlsCAFile %s cannot be read (%s)", given, why);
        db_fail(err, msg);
        return -1;
    }
    const char *env = getenv("SSL_CERT_FILE");
    const char *found = NULL;
    if (env != NULL && env[0] != '\0') {
        if (db_check_file(env, why, sizeof why) != 0) {
            snprintf(msg, sizeof msg,
                     "MONGODB_URI asks for TLS and SSL_CERT_FILE=%s cannot be read (%s): set it "
                     "to a PEM file of trusted CA certificates",
                     env, why);
            db_fail(err, msg);
            return -1;
        }
        found = env;
    }
    for (size_t i = 0; found == NULL && db_ca_paths[i] != NULL; i++)
        if (db_check_file(db_ca_paths[i], why, sizeof why) == 0)
            found = db_ca_paths[i];
    if (found == NULL) {
        int n =
            snprintf(msg, sizeof msg,
                     "MONGODB_URI asks for TLS but no CA certificate bundle was found to verify "
                     "the server with; looked at: SSL_CERT_FILE (not set)");
        for (size_t i = 0; db_ca_paths[i] != NULL && n > 0 && (size_t)n < sizeof msg; i++)
            n += snprintf(msg + n, sizeof msg - (size_t)n, ", %s", db_ca_paths[i]);
        if (n > 0 && (size_t)n < sizeof msg)
            snprintf(msg + n, sizeof msg - (size_t)n,
                     ". Set SSL_CERT_FILE to a PEM file of trusted CA certificates, or add "
                     "tlsCAFile=/path/to/ca.pem to MONGODB_URI (a file in the function's zip "
                     "is under /var/task)");
        db_fail(err, msg);
        return -1;
    }
    if (!mongoc_uri_set_option_as_utf8(uri, MONGOC_URI_TLSCAFILE, found)) {
        db_fail(err, "libmongoc refused the CA bundle's path as tlsCAFile");
        return -1;
    }
    runtime_log_info("db: TLS: CA certificates from %s", found);
    return 0;
}

/* Parses uri_string into *out, or fails with a message saying what is wrong. */
static int db_parse(const char *uri_string, mongoc_uri_t **out, tether_error_t *err)
{
    char msg[3 * DB_MSG_MAX];
    *out = NULL;
    if (db_check_scheme(uri_string, msg, sizeof msg) != 0) {
        db_fail(err, msg);
        return TETHER_ERR_CONFIG;
    }
    bson_error_t berr;
    memset(&berr, 0, sizeof berr);
    db_capture[0] = '\0';
    db_capturing = 1;
    mongoc_uri_t *uri = mongoc_uri_new_with_error(uri_string, &berr);
    db_capturing = 0;
    char clean[DB_MSG_MAX];
    db_scrub(berr.message, clean, sizeof clean);
    if (uri == NULL) {
        snprintf(msg, sizeof msg, "MONGODB_URI is not a valid MongoDB connection string: %s%s%s%s",
                 clean, db_capture[0] ? " (libmongoc: " : "", db_capture, db_capture[0] ? ")" : "");
        db_fail(err, msg);
        return TETHER_ERR_CONFIG;
    }
    if (strstr(db_capture, "Unsupported URI option") != NULL) {
        /* libmongoc accepts a URI with an option it does not know and ignores
           the option: a misspelt one would silently do nothing */
        snprintf(msg, sizeof msg,
                 "MONGODB_URI: %s: libmongoc %s would ignore it; correct it or remove it",
                 db_capture, MONGOC_VERSION_S);
        mongoc_uri_destroy(uri);
        db_fail(err, msg);
        return TETHER_ERR_CONFIG;
    }
    if (db_capture[0] != '\0') /* e.g. a compressor this build lacks: the URI works */
        runtime_log_warn("db: MONGODB_URI: %s", db_capture);
    *out = uri;
    return 0;
}

int tether_db_open(const char *uri_string, tether_error_t *err)
{
    if (db_uri != NULL)
        return 0;
    if (uri_string == NULL)
        uri_string = getenv("MONGODB_URI");
    if (uri_string == NULL || uri_string[0] == '\0') {
        db_fail(err, "MONGODB_URI is not set: no database to connect to");
        return TETHER_ERR_CONFIG;
    }
    db_mongoc_init();
    db_secrets_learn(uri_string);
    mongoc_uri_t *uri;
    int rc = db_parse(uri_string, &uri, err);
    if (rc != 0)
        return rc;
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
    char why[DB_MSG_MAX];
    if (runtime_db_network_check(uri, why, sizeof why) != 0) {
        mongoc_uri_destroy(uri);
        db_fail(err, why);
        return TETHER_ERR_CONFIG;
    }
    if (db_find_ca(uri, err) != 0) {
        mongoc_uri_destroy(uri);
        return TETHER_ERR_CONFIG;
    }
    const char *dbname = mongoc_uri_get_database(uri);
    free(db_default_name);
    db_default_name = NULL;
    if (dbname != NULL) {
        db_default_name = strdup(dbname);
        if (db_default_name == NULL) {
            mongoc_uri_destroy(uri);
            return TETHER_ERR_NOMEM;
        }
    }
    db_describe_hosts(uri, db_hosts, sizeof db_hosts);
    const char *mech = mongoc_uri_get_auth_mechanism(uri);
    runtime_log_info("db: one client for %s (appname %s, auth %s)", db_hosts,
                     mongoc_uri_get_appname(uri) ? mongoc_uri_get_appname(uri) : "-",
                     mech ? mech : (mongoc_uri_get_username(uri) ? "default" : "none"));
    db_uri = uri;
    db_last_error[0] = '\0';
    runtime_db_close_hook = tether_db_close;
    return 0;
}

/*
 * What serverSelectionTimeoutMS and connectTimeoutMS may each be, given the
 * time the runtime's phase in progress (the event, or init) has left: that
 * time less a tenth and 100 ms (for the handler to answer with the error),
 * halved, because a scan that begins just before selection gives up may
 * still take connectTimeoutMS. 0 outside a phase: no bound.
 */
static int32_t db_budget_ms(int64_t *left /* OUT: time left, or 0 */)
{
    tether_event_t phase = {.deadline_ms = runtime_loop_deadline_ms()};
    *left = 0;
    if (phase.deadline_ms == 0)
        return 0;
    *left = tether_remaining_ms(&phase);
    int64_t b = (*left - *left / 10 - 100) / 2;
    if (b < DB_BOUND_MIN_MS)
        b = DB_BOUND_MIN_MS;
    return b > INT32_MAX ? INT32_MAX : (int32_t)b;
}

/* Sets option (default dflt when the URI has none) to at most bound. */
static int32_t db_bound_option(mongoc_uri_t *uri, const char *option, int32_t dflt, int32_t bound)
{
    int32_t v = mongoc_uri_get_option_as_int32(uri, option, dflt);
    if (v <= 0)
        v = dflt;
    if (bound > 0 && v > bound)
        v = bound;
    mongoc_uri_set_option_as_int32(uri, option, v);
    return v;
}

mongoc_client_t *tether_db(void)
{
    if (db_client != NULL)
        return db_client;
    if (db_uri == NULL && tether_db_open(NULL, NULL) != 0)
        return NULL;
    mongoc_uri_t *uri = mongoc_uri_copy(db_uri);
    if (uri == NULL) {
        db_fail(NULL, "out of memory copying the database URI");
        return NULL;
    }
    int64_t left;
    int32_t bound = db_budget_ms(&left);
    int32_t sst =
        db_bound_option(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, DB_SERVER_SELECTION_MS, bound);
    int32_t ct = db_bound_option(uri, MONGOC_URI_CONNECTTIMEOUTMS, DB_CONNECT_MS, bound);
    bson_error_t berr;
    memset(&berr, 0, sizeof berr);
    mongoc_client_t *client = mongoc_client_new_from_uri_with_error(uri, &berr);
    mongoc_uri_destroy(uri);
    if (client == NULL) {
        char clean[sizeof berr.message], msg[sizeof clean + sizeof db_hosts + 64];
        db_scrub(berr.message, clean, sizeof clean);
        snprintf(msg, sizeof msg, "cannot create a client for %s: %s", db_hosts,
                 clean[0] ? clean : "libmongoc gave no reason");
        db_fail(NULL, msg);
        return NULL;
    }
    mongoc_client_set_error_api(client, MONGOC_ERROR_API_VERSION_2);
    mongoc_client_set_stream_initiator(client, db_counting_initiator, client);
    if (bound > 0)
        runtime_log_info("db: client for %s: serverSelectionTimeoutMS %d, connectTimeoutMS %d "
                         "(%lld ms left)",
                         db_hosts, (int)sst, (int)ct, (long long)left);
    else
        runtime_log_info("db: client for %s: serverSelectionTimeoutMS %d, connectTimeoutMS %d",
                         db_hosts, (int)sst, (int)ct);
    db_last_error[0] = '\0';
    db_client = client;
    return db_client;
}

const char *tether_db_hosts(void)
{
    return db_uri != NULL ? db_hosts : "";
}

const char *tether_db_error(void)
{
    return db_last_error;
}

mongoc_collection_t *tether_db_collection(const char *db, const char *name)
{
    if (name == NULL)
        return NULL;
    mongoc_client_t *c = tether_db();
    if (c == NULL)
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
    if (db_uri != NULL) {
        mongoc_uri_destroy(db_uri);
        db_uri = NULL;
    }
    free(db_default_name);
    db_default_name = NULL;
    db_secrets_free();
    /* no mongoc_cleanup(): libmongoc cannot be initialised again after it,
       and the process is about to exit anyway */
}
