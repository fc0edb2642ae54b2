/*
 * Administrative commands: the handshake (hello and its legacy forms), and
 * what drivers, mongosh and operators ask a server about itself (buildInfo,
 * getParameter, serverStatus, currentOp, ...). The docstore presents itself as
 * a standalone MongoDB 6.0 (wire version 17) server; every number in hello
 * is an int32 (docs/docstore.md, "Admin commands"). The authentication parts of hello
 * (saslSupportedMechs, speculativeAuthenticate) and of serverStatus are
 * cmd_auth.c's.
 */
#include "docstore/base/clock.h"
#include "docstore/cmd/cmd_admin.h"

#include "common/log.h"
#include "docstore/cmd/cmd_auth.h"
#include "docstore/cmd/command.h"
#include "docstore/net/conn.h"
#include "docstore/cmd/cursor.h"
#include "docstore/query/match.h"
#include "docstore/net/wire.h"

#include <openssl/opensslv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#define SERVER_VERSION      "6.0.0"
#define TETHER_VERSION      "0.1.0"
#define MAX_CLIENT_METADATA 4096 /* bytes of hello.client kept per connection */

/* Fields a driver may add to any command: never parameters or filters. */
static bool is_generic_field(const char *k)
{
    static const char *const generic[] = {
        "lsid",         "apiVersion",  "apiStrict", "apiDeprecationErrors", "comment", "maxTimeMS",
        "writeConcern", "readConcern", "txnNumber", "autocommit",           NULL,
    };
    if (k[0] == '$')
        return true;
    for (size_t i = 0; generic[i]; i++) {
        if (strcmp(k, generic[i]) == 0)
            return true;
    }
    return false;
}

static bool bool_field(const bson_t *cmd, const char *name)
{
    bson_iter_t it;
    return bson_iter_init_find(&it, cmd, name) && bson_iter_as_bool(&it);
}

static const char *first_key(const bson_t *cmd)
{
    bson_iter_t it;
    if (bson_iter_init(&it, cmd) && bson_iter_next(&it))
        return bson_iter_key(&it);
    return "";
}

/* ---- hello --------------------------------------------------------------- */

static void log_client(docstore_conn_t *conn)
{
    bson_iter_t it;
    const char *driver = "?", *version = "?", *app = "";
    if (bson_iter_init(&it, conn->client_meta) &&
        bson_iter_find_descendant(&it, "driver.name", &it) && BSON_ITER_HOLDS_UTF8(&it))
        driver = bson_iter_utf8(&it, NULL);
    if (bson_iter_init(&it, conn->client_meta) &&
        bson_iter_find_descendant(&it, "driver.version", &it) && BSON_ITER_HOLDS_UTF8(&it))
        version = bson_iter_utf8(&it, NULL);
    if (bson_iter_init(&it, conn->client_meta) &&
        bson_iter_find_descendant(&it, "application.name", &it) && BSON_ITER_HOLDS_UTF8(&it))
        app = bson_iter_utf8(&it, NULL);
    log_info(conn->who, "client %.64s %.64s%s%.64s", driver, version, app[0] ? " app " : "", app);
}

static int cmd_hello(docstore_ctx_t *ctx, const char *db, const bson_t *cmd, bson_t *reply,
                     docstore_error_t *err)
{
    (void)db;
    docstore_conn_t *conn = ctx->conn;
    bool legacy = strcmp(first_key(cmd), "hello") != 0;
    bson_iter_t it;
    if (bson_iter_init_find(&it, cmd, "client")) {
        if (conn != NULL && conn->client_meta != NULL) {
            docstore_error_set(err, DOCSTORE_CLIENT_METADATA_CANNOT_BE_MUTATED,
                               "The client metadata document may only be sent in the first "
                               "hello");
            return -1;
        }
        if (!BSON_ITER_HOLDS_DOCUMENT(&it)) {
            docstore_error_set(err, DOCSTORE_TYPE_MISMATCH,
                               "The client metadata must be a document");
            return -1;
        }
        const uint8_t *data;
        uint32_t len;
        bson_iter_document(&it, &len, &data);
        if (len > MAX_CLIENT_METADATA) {
            docstore_error_set(err, DOCSTORE_BAD_VALUE,
                               "The client metadata document must be less than or equal to %d "
                               "bytes",
                               MAX_CLIENT_METADATA);
            return -1;
        }
        if (conn != NULL) {
            conn->client_meta = bson_new_from_data(data, len);
            if (conn->client_meta != NULL)
                log_client(conn);
        }
    }
    BSON_APPEND_BOOL(reply, "helloOk", true);
    BSON_APPEND_BOOL(reply, legacy ? "ismaster" : "isWritablePrimary", true);
    BSON_APPEND_INT32(reply, "maxBsonObjectSize", DOCSTORE_WIRE_MAX_BSON);
    BSON_APPEND_INT32(reply, "maxMessageSizeBytes", DOCSTORE_WIRE_MAX_MESSAGE);
    BSON_APPEND_INT32(reply, "maxWriteBatchSize", 100000);
    BSON_APPEND_DATE_TIME(reply, "localTime", docstore_wall_ms());
    BSON_APPEND_INT32(reply, "logicalSessionTimeoutMinutes",
                      ctx->server != NULL ? ctx->server->cfg.session_timeout_min : 30);
    BSON_APPEND_INT32(reply, "connectionId", conn ? (int32_t)conn->id : 0);
    BSON_APPEND_INT32(reply, "minWireVersion", 0);
    BSON_APPEND_INT32(reply, "maxWireVersion", 17);
    BSON_APPEND_BOOL(reply, "readOnly", false);
    /* saslSupportedMechs: MongoDB omits the field for an unknown user. */
    docstore_auth_hello_mechs(ctx, cmd, reply);
    return docstore_auth_hello_speculative(ctx, cmd, reply, err);
}

static int cmd_ping(docstore_ctx_t *ctx, const char *db, const bson_t *cmd, bson_t *reply,
                    docstore_error_t *err)
{
    (void)ctx, (void)db, (void)cmd, (void)reply, (void)err;
    return 0;
}

static int cmd_build_info(docstore_ctx_t *ctx, const char *db, const bson_t *cmd, bson_t *reply,
                          docstore_error_t *err)
{
    (void)ctx, (void)db, (void)cmd, (void)err;
    bson_t arr, sub;
    BSON_APPEND_UTF8(reply, "version", SERVER_VERSION);
    BSON_APPEND_UTF8(reply, "gitVersion", "tether-" TETHER_VERSION);
    BSON_APPEND_ARRAY_BEGIN(reply, "modules", &arr);
    bson_append_array_end(reply, &arr);
    BSON_APPEND_UTF8(reply, "allocator", "system");
    BSON_APPEND_UTF8(reply, "javascriptEngine", "none");
    BSON_APPEND_UTF8(reply, "sysInfo", "deprecated");
    BSON_APPEND_ARRAY_BEGIN(reply, "versionArray", &arr);
    BSON_APPEND_INT32(&arr, "0", 6);
    BSON_APPEND_INT32(&arr, "1", 0);
    BSON_APPEND_INT32(&arr, "2", 0);
    BSON_APPEND_INT32(&arr, "3", 0);
    bson_append_array_end(reply, &arr);
    BSON_APPEND_DOCUMENT_BEGIN(reply, "openssl", &sub);
    BSON_APPEND_UTF8(&sub, "running", OPENSSL_VERSION_TEXT);
    BSON_APPEND_UTF8(&sub, "compiled", OPENSSL_VERSION_TEXT);
    bson_append_document_end(reply, &sub);
    BSON_APPEND_DOCUMENT_BEGIN(reply, "buildEnvironment", &sub);
    BSON_APPEND_UTF8(&sub, "distmod", "tether");
    BSON_APPEND_UTF8(&sub, "target_os", "linux");
    bson_append_document_end(reply, &sub);
    BSON_APPEND_INT32(reply, "bits", (int32_t)(sizeof(void *) * 8));
    BSON_APPEND_BOOL(reply, "debug", false);
    BSON_APPEND_INT32(reply, "maxBsonObjectSize", DOCSTORE_WIRE_MAX_BSON);
    BSON_APPEND_ARRAY_BEGIN(reply, "storageEngines", &arr);
    BSON_APPEND_UTF8(&arr, "0", "sqlite");
    bson_append_array_end(reply, &arr);
    BSON_APPEND_UTF8(reply, "tetherVersion", TETHER_VERSION);
    return 0;
}

/* ---- getParameter ---------------------------------------------------------- */

static bool append_parameter(docstore_ctx_t *ctx, const char *name, bson_t *reply)
{
    docstore_server_t *s = ctx->server;
    if (strcmp(name, "featureCompatibilityVersion") == 0) {
        bson_t sub;
        BSON_APPEND_DOCUMENT_BEGIN(reply, name, &sub);
        BSON_APPEND_UTF8(&sub, "version", "6.0");
        bson_append_document_end(reply, &sub);
    } else if (strcmp(name, "authenticationMechanisms") == 0) {
        bson_t arr;
        BSON_APPEND_ARRAY_BEGIN(reply, name, &arr);
        enum docstore_auth_mode mode = s ? s->cfg.auth : DOCSTORE_AUTH_NONE;
        if (mode == DOCSTORE_AUTH_SCRAM || mode == DOCSTORE_AUTH_BOTH) {
            BSON_APPEND_UTF8(&arr, "0", "SCRAM-SHA-1");
            BSON_APPEND_UTF8(&arr, "1", "SCRAM-SHA-256");
        }
        if (mode == DOCSTORE_AUTH_AWS || mode == DOCSTORE_AUTH_BOTH)
            BSON_APPEND_UTF8(&arr, mode == DOCSTORE_AUTH_BOTH ? "2" : "0", "MONGODB-AWS");
        bson_append_array_end(reply, &arr);
    } else if (strcmp(name, "maxIncomingConnections") == 0) {
        BSON_APPEND_INT32(reply, name,
                          s && s->cfg.max_connections > 0 ? s->cfg.max_connections : 1000000);
    } else if (strcmp(name, "cursorTimeoutMillis") == 0) {
        BSON_APPEND_INT64(reply, name, 600000);
    } else if (strcmp(name, "logLevel") == 0) {
        BSON_APPEND_INT32(reply, name, log_get_level() >= LOG_LEVEL_DEBUG ? 1 : 0);
    } else if (strcmp(name, "quiet") == 0) {
        BSON_APPEND_BOOL(reply, name, false);
    } else if (strcmp(name, "maxBSONDepth") == 0) {
        BSON_APPEND_INT32(reply, name, DOCSTORE_WIRE_MAX_DEPTH);
    } else if (strcmp(name, "tlsMode") == 0) {
        BSON_APPEND_UTF8(reply, name, s && s->tls ? "requireTLS" : "disabled");
    } else if (strcmp(name, "requireApiVersion") == 0) {
        BSON_APPEND_BOOL(reply, name, false);
    } else if (strcmp(name, "idleTimeoutSeconds") == 0) {
        BSON_APPEND_INT32(reply, name, s ? s->cfg.idle_timeout_s : 0);
    } else {
        return false;
    }
    return true;
}

static const char *const all_parameters[] = {
    "authenticationMechanisms",
    "cursorTimeoutMillis",
    "featureCompatibilityVersion",
    "idleTimeoutSeconds",
    "logLevel",
    "maxBSONDepth",
    "maxIncomingConnections",
    "quiet",
    "requireApiVersion",
    "tlsMode",
    NULL,
};

static int cmd_get_parameter(docstore_ctx_t *ctx, const char *db, const bson_t *cmd, bson_t *reply,
                             docstore_error_t *err)
{
    (void)db;
    bson_iter_t it;
    bool all = false;
    if (bson_iter_init(&it, cmd) && bson_iter_next(&it)) {
        if (BSON_ITER_HOLDS_UTF8(&it) && strcmp(bson_iter_utf8(&it, NULL), "*") == 0)
            all = true;
        else if (BSON_ITER_HOLDS_DOCUMENT(&it)) {
            bson_t opts;
            const uint8_t *data;
            uint32_t len;
            bson_iter_document(&it, &len, &data);
            if (bson_init_static(&opts, data, len) && bool_field(&opts, "allParameters"))
                all = true;
        }
    }
    if (all) {
        for (size_t i = 0; all_parameters[i]; i++)
            append_parameter(ctx, all_parameters[i], reply);
        return 0;
    }
    int found = 0;
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (is_generic_field(k))
            continue;
        if (!append_parameter(ctx, k, reply)) {
            docstore_error_set(err, DOCSTORE_INVALID_OPTIONS, "no option found to get: %.100s", k);
            return -1;
        }
        found++;
    }
    if (found == 0) {
        docstore_error_set(err, DOCSTORE_INVALID_OPTIONS, "no option found to get");
        return -1;
    }
    return 0;
}

/* ---- host and process ---------------------------------------------------- */

static void os_name(char *out, size_t outlen)
{
    snprintf(out, outlen, "Linux");
    FILE *f = fopen("/etc/os-release", "re");
    if (f == NULL)
        return;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "PRETTY_NAME=", 12) == 0) {
            char *v = line + 12;
            v[strcspn(v, "\n")] = '\0';
            if (*v == '"') {
                v++;
                v[strcspn(v, "\"")] = '\0';
            }
            snprintf(out, outlen, "%.100s", v);
            break;
        }
    }
    fclose(f);
}

static int cmd_host_info(docstore_ctx_t *ctx, const char *db, const bson_t *cmd, bson_t *reply,
                         docstore_error_t *err)
{
    (void)ctx, (void)db, (void)cmd, (void)err;
    struct utsname u;
    if (uname(&u) == -1)
        memset(&u, 0, sizeof u);
    struct sysinfo si;
    int64_t mem_mb = 0;
    if (sysinfo(&si) == 0)
        mem_mb = (int64_t)si.totalram * si.mem_unit / (1024 * 1024);
    char hostname[256] = "localhost";
    gethostname(hostname, sizeof hostname - 1);
    char osname[128];
    os_name(osname, sizeof osname);
    bson_t sub;
    BSON_APPEND_DOCUMENT_BEGIN(reply, "system", &sub);
    BSON_APPEND_DATE_TIME(&sub, "currentTime", docstore_wall_ms());
    BSON_APPEND_UTF8(&sub, "hostname", hostname);
    BSON_APPEND_INT32(&sub, "cpuAddrSize", (int32_t)(sizeof(void *) * 8));
    BSON_APPEND_INT64(&sub, "memSizeMB", mem_mb);
    BSON_APPEND_INT64(&sub, "memLimitMB", mem_mb);
    BSON_APPEND_INT32(&sub, "numCores", (int32_t)sysconf(_SC_NPROCESSORS_ONLN));
    BSON_APPEND_UTF8(&sub, "cpuArch", u.machine);
    BSON_APPEND_BOOL(&sub, "numaEnabled", false);
    bson_append_document_end(reply, &sub);
    BSON_APPEND_DOCUMENT_BEGIN(reply, "os", &sub);
    BSON_APPEND_UTF8(&sub, "type", u.sysname[0] ? u.sysname : "Linux");
    BSON_APPEND_UTF8(&sub, "name", osname);
    BSON_APPEND_UTF8(&sub, "version", u.release);
    bson_append_document_end(reply, &sub);
    BSON_APPEND_DOCUMENT_BEGIN(reply, "extra", &sub);
    BSON_APPEND_UTF8(&sub, "versionString", u.version);
    BSON_APPEND_INT64(&sub, "pageSize", (int64_t)sysconf(_SC_PAGESIZE));
    bson_append_document_end(reply, &sub);
    return 0;
}

static int cmd_whatsmyuri(docstore_ctx_t *ctx, const char *db, const bson_t *cmd, bson_t *reply,
                          docstore_error_t *err)
{
    (void)db, (void)cmd, (void)err;
    BSON_APPEND_UTF8(reply, "you", ctx->conn ? ctx->conn->peer : "");
    return 0;
}

static int cmd_get_cmd_line_opts(docstore_ctx_t *ctx, const char *db, const bson_t *cmd,
                                 bson_t *reply, docstore_error_t *err)
{
    (void)db, (void)cmd, (void)err;
    docstore_server_t *s = ctx->server;
    bson_t arr, parsed, sub;
    if (s && s->argv) {
        BSON_APPEND_ARRAY(reply, "argv", s->argv);
    } else {
        BSON_APPEND_ARRAY_BEGIN(reply, "argv", &arr);
        BSON_APPEND_UTF8(&arr, "0", "tether");
        BSON_APPEND_UTF8(&arr, "1", "db");
        bson_append_array_end(reply, &arr);
    }
    BSON_APPEND_DOCUMENT_BEGIN(reply, "parsed", &parsed);
    BSON_APPEND_DOCUMENT_BEGIN(&parsed, "net", &sub);
    BSON_APPEND_UTF8(&sub, "bindIp", s && s->cfg.bind_address ? s->cfg.bind_address : "");
    BSON_APPEND_INT32(&sub, "port", s ? s->port : 0);
    if (s && s->cfg.max_connections > 0)
        BSON_APPEND_INT32(&sub, "maxIncomingConnections", s->cfg.max_connections);
    bson_append_document_end(&parsed, &sub);
    if (s && s->cfg.dir) {
        BSON_APPEND_DOCUMENT_BEGIN(&parsed, "storage", &sub);
        BSON_APPEND_UTF8(&sub, "dbPath", s->cfg.dir);
        bson_append_document_end(&parsed, &sub);
    }
    bson_append_document_end(reply, &parsed);
    return 0;
}

static int cmd_get_log(docstore_ctx_t *ctx, const char *db, const bson_t *cmd, bson_t *reply,
                       docstore_error_t *err)
{
    (void)ctx, (void)db;
    bson_iter_t it;
    bson_t arr;
    if (!bson_iter_init(&it, cmd) || !bson_iter_next(&it) || !BSON_ITER_HOLDS_UTF8(&it)) {
        docstore_error_set(err, DOCSTORE_TYPE_MISMATCH,
                           "Argument to getLog must be of type String");
        return -1;
    }
    const char *which = bson_iter_utf8(&it, NULL);
    if (strcmp(which, "*") == 0) {
        BSON_APPEND_ARRAY_BEGIN(reply, "names", &arr);
        BSON_APPEND_UTF8(&arr, "0", "global");
        BSON_APPEND_UTF8(&arr, "1", "startupWarnings");
        bson_append_array_end(reply, &arr);
        return 0;
    }
    if (strcmp(which, "global") != 0 && strcmp(which, "startupWarnings") != 0) {
        docstore_error_set(err, DOCSTORE_OPERATION_FAILED, "No log named '%.100s'", which);
        return -1;
    }
    /* The log goes to stderr; nothing is kept in memory to hand out. */
    BSON_APPEND_INT32(reply, "totalLinesWritten", 0);
    BSON_APPEND_ARRAY_BEGIN(reply, "log", &arr);
    bson_append_array_end(reply, &arr);
    return 0;
}

static void append_users(const docstore_conn_t *conn, bson_t *doc, const char *field)
{
    bson_t arr, u;
    BSON_APPEND_ARRAY_BEGIN(doc, field, &arr);
    if (conn && conn->auth == DOCSTORE_CONN_AUTH_DONE) {
        BSON_APPEND_DOCUMENT_BEGIN(&arr, "0", &u);
        BSON_APPEND_UTF8(&u, "user", conn->user);
        BSON_APPEND_UTF8(&u, "db", conn->user_db);
        bson_append_document_end(&arr, &u);
    }
    bson_append_array_end(doc, &arr);
}

static int cmd_connection_status(docstore_ctx_t *ctx, const char *db, const bson_t *cmd,
                                 bson_t *reply, docstore_error_t *err)
{
    (void)db, (void)err;
    docstore_auth_append_info(ctx, bool_field(cmd, "showPrivileges"), reply);
    return 0;
}

/* ---- serverStatus and currentOp --------------------------------------------- */

static void memory_mb(int32_t *resident, int32_t *virt)
{
    *resident = *virt = 0;
    FILE *f = fopen("/proc/self/statm", "re");
    if (f == NULL)
        return;
    unsigned long pages_virt = 0, pages_res = 0;
    if (fscanf(f, "%lu %lu", &pages_virt, &pages_res) == 2) {
        long page = sysconf(_SC_PAGESIZE);
        *virt = (int32_t)((double)pages_virt * page / (1024 * 1024));
        *resident = (int32_t)((double)pages_res * page / (1024 * 1024));
    }
    fclose(f);
}

static int32_t available_connections(const docstore_server_t *s)
{
    if (s->cfg.max_connections > 0)
        return s->cfg.max_connections - s->current;
    struct rlimit rl;
    int64_t limit = 1000000;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        limit = (int64_t)rl.rlim_cur * 8 / 10; /* as mongod: 80% of the descriptors */
    int64_t avail = limit - s->current;
    return avail < 0 ? 0 : (int32_t)(avail > INT32_MAX ? INT32_MAX : avail);
}

static int cmd_server_status(docstore_ctx_t *ctx, const char *db, const bson_t *cmd, bson_t *reply,
                             docstore_error_t *err)
{
    (void)db, (void)cmd;
    docstore_server_t *s = ctx->server;
    if (s == NULL) {
        docstore_error_set(err, DOCSTORE_INTERNAL_ERROR, "no server");
        return -1;
    }
    int64_t up_ms = docstore_now_ms() - s->started_ms;
    int32_t active = 0;
    for (const docstore_conn_t *c = s->conns; c; c = c->next)
        active += c->active;
    bson_t sub, sub2;
    BSON_APPEND_UTF8(reply, "host", s->host);
    BSON_APPEND_UTF8(reply, "version", SERVER_VERSION);
    BSON_APPEND_UTF8(reply, "process", "tether");
    BSON_APPEND_INT64(reply, "pid", (int64_t)getpid());
    BSON_APPEND_DOUBLE(reply, "uptime", (double)(up_ms / 1000));
    BSON_APPEND_INT64(reply, "uptimeMillis", up_ms);
    BSON_APPEND_INT64(reply, "uptimeEstimate", up_ms / 1000);
    BSON_APPEND_DATE_TIME(reply, "localTime", docstore_wall_ms());
    BSON_APPEND_DOCUMENT_BEGIN(reply, "connections", &sub);
    BSON_APPEND_INT32(&sub, "current", s->current);
    BSON_APPEND_INT32(&sub, "available", available_connections(s));
    BSON_APPEND_INT64(&sub, "totalCreated", s->total_created);
    BSON_APPEND_INT64(&sub, "rejected", s->rejected);
    BSON_APPEND_INT32(&sub, "active", active);
    BSON_APPEND_INT64(&sub, "rejectedByAccessList", s->rejected_access);
    BSON_APPEND_INT64(&sub, "closedIdle", s->idle_closed);
    BSON_APPEND_INT64(&sub, "closedSlow", s->slow_closed);
    bson_append_document_end(reply, &sub);
    BSON_APPEND_DOCUMENT_BEGIN(reply, "network", &sub);
    BSON_APPEND_INT64(&sub, "bytesIn", s->bytes_in);
    BSON_APPEND_INT64(&sub, "bytesOut", s->bytes_out);
    BSON_APPEND_INT64(&sub, "numRequests", s->num_requests);
    bson_append_document_end(reply, &sub);
    BSON_APPEND_DOCUMENT_BEGIN(reply, "opcounters", &sub);
    BSON_APPEND_INT64(&sub, "insert", s->ops.insert);
    BSON_APPEND_INT64(&sub, "query", s->ops.query);
    BSON_APPEND_INT64(&sub, "update", s->ops.update);
    BSON_APPEND_INT64(&sub, "delete", s->ops.delete_);
    BSON_APPEND_INT64(&sub, "getmore", s->ops.getmore);
    BSON_APPEND_INT64(&sub, "command", s->ops.command);
    bson_append_document_end(reply, &sub);
    int32_t res, virt;
    memory_mb(&res, &virt);
    BSON_APPEND_DOCUMENT_BEGIN(reply, "mem", &sub);
    BSON_APPEND_INT32(&sub, "bits", (int32_t)(sizeof(void *) * 8));
    BSON_APPEND_INT32(&sub, "resident", res);
    BSON_APPEND_INT32(&sub, "virtual", virt);
    BSON_APPEND_BOOL(&sub, "supported", true);
    bson_append_document_end(reply, &sub);
    BSON_APPEND_DOCUMENT_BEGIN(reply, "metrics", &sub);
    BSON_APPEND_DOCUMENT_BEGIN(&sub, "cursor", &sub2);
    BSON_APPEND_INT64(&sub2, "timedOut", docstore_cursors_timed_out(s->cursors));
    bson_t open;
    BSON_APPEND_DOCUMENT_BEGIN(&sub2, "open", &open);
    BSON_APPEND_INT64(&open, "total", docstore_cursors_open(s->cursors));
    bson_append_document_end(&sub2, &open);
    bson_append_document_end(&sub, &sub2);
    /* Documents read by scans since start: an index-served query reads few. */
    BSON_APPEND_DOCUMENT_BEGIN(&sub, "queryExecutor", &sub2);
    BSON_APPEND_INT64(&sub2, "scannedObjects", docstore_storage_docs_examined(ctx->storage));
    bson_append_document_end(&sub, &sub2);
    int64_t ttl_passes = 0, ttl_deleted = 0;
    if (ctx->storage)
        docstore_storage_ttl_stats(ctx->storage, &ttl_passes, &ttl_deleted);
    BSON_APPEND_DOCUMENT_BEGIN(&sub, "ttl", &sub2);
    BSON_APPEND_INT64(&sub2, "deletedDocuments", ttl_deleted);
    BSON_APPEND_INT64(&sub2, "passes", ttl_passes);
    bson_append_document_end(&sub, &sub2);
    bson_append_document_end(reply, &sub);
    BSON_APPEND_DOCUMENT_BEGIN(reply, "storageEngine", &sub);
    BSON_APPEND_UTF8(&sub, "name", "sqlite");
    BSON_APPEND_BOOL(&sub, "supportsCommittedReads", false);
    BSON_APPEND_BOOL(&sub, "persistent", s->cfg.dir != NULL);
    bson_append_document_end(reply, &sub);
    docstore_auth_append_status(s, reply);
    return 0;
}

static void describe_conn(const docstore_server_t *s, const docstore_conn_t *c, bson_t *op)
{
    int64_t now = docstore_now_ms();
    char desc[32], when[64];
    snprintf(desc, sizeof desc, "conn%lld", (long long)c->id);
    int64_t wall = docstore_wall_ms();
    time_t secs = (time_t)(wall / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t n = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + n, sizeof when - n, ".%03dZ", (int)(wall % 1000));
    BSON_APPEND_UTF8(op, "type", "op");
    BSON_APPEND_UTF8(op, "host", s->host);
    BSON_APPEND_UTF8(op, "desc", desc);
    BSON_APPEND_INT64(op, "connectionId", c->id);
    BSON_APPEND_UTF8(op, "client", c->peer);
    bson_iter_t it;
    if (c->client_meta != NULL) {
        if (bson_iter_init(&it, c->client_meta) &&
            bson_iter_find_descendant(&it, "application.name", &it) && BSON_ITER_HOLDS_UTF8(&it))
            BSON_APPEND_UTF8(op, "appName", bson_iter_utf8(&it, NULL));
        BSON_APPEND_DOCUMENT(op, "clientMetadata", c->client_meta);
    }
    BSON_APPEND_BOOL(op, "active", c->active);
    BSON_APPEND_UTF8(op, "currentOpTime", when);
    BSON_APPEND_INT64(op, "opid", c->id);
    BSON_APPEND_UTF8(op, "op", c->active ? "command" : "none");
    BSON_APPEND_INT64(op, "idleMillis", c->active ? 0 : now - c->last_active_ms);
    BSON_APPEND_INT64(op, "connectedMillis", docstore_wall_ms() - c->created_ms);
    BSON_APPEND_INT64(op, "requests", c->requests);
    append_users(c, op, "effectiveUsers");
}

int docstore_admin_current_op(docstore_ctx_t *ctx, bool idle_connections, bool all_users,
                              docstore_doclist_t *out, docstore_error_t *err)
{
    docstore_server_t *s = ctx->server;
    if (s == NULL) {
        docstore_error_set(err, DOCSTORE_INTERNAL_ERROR, "no server");
        return -1;
    }
    bool own_only;
    if (docstore_auth_current_op_scope(ctx, all_users, &own_only, err) != 0)
        return -1;
    for (const docstore_conn_t *c = s->conns; c; c = c->next) {
        if (!idle_connections && !c->active)
            continue;
        if (own_only && !docstore_auth_same_user(ctx, c))
            continue;
        bson_t *op = bson_new();
        describe_conn(s, c, op);
        if (docstore_doclist_push(out, op) != 0) {
            docstore_error_oom(err);
            return -1;
        }
    }
    return 0;
}

static int cmd_current_op(docstore_ctx_t *ctx, const char *db, const bson_t *cmd, bson_t *reply,
                          docstore_error_t *err)
{
    (void)db;
    bool all = bool_field(cmd, "$all");
    bool own_ops = bool_field(cmd, "$ownOps");
    /* The other fields are a filter on the entries, as in MongoDB. */
    bson_t filter = BSON_INITIALIZER;
    bson_iter_t it;
    if (bson_iter_init(&it, cmd) && bson_iter_next(&it)) {
        while (bson_iter_next(&it)) {
            const char *k = bson_iter_key(&it);
            if (is_generic_field(k))
                continue;
            bson_append_iter(&filter, k, -1, &it);
        }
    }
    docstore_matcher_t *m = NULL;
    if (!bson_empty(&filter) && docstore_matcher_new(&filter, &m, err) != 0) {
        bson_destroy(&filter);
        return -1;
    }
    bson_destroy(&filter);
    docstore_doclist_t ops;
    docstore_doclist_init(&ops);
    int rc = docstore_admin_current_op(ctx, all, !own_ops, &ops, err);
    if (rc == 0) {
        bson_t arr;
        uint32_t i = 0;
        BSON_APPEND_ARRAY_BEGIN(reply, "inprog", &arr);
        for (size_t k = 0; k < ops.n; k++) {
            if (m != NULL && !docstore_matcher_matches(m, ops.docs[k], NULL))
                continue;
            char keybuf[16];
            const char *key;
            size_t keylen = bson_uint32_to_string(i++, &key, keybuf, sizeof keybuf);
            bson_append_document(&arr, key, (int)keylen, ops.docs[k]);
        }
        bson_append_array_end(reply, &arr);
    }
    docstore_doclist_free(&ops);
    if (m != NULL)
        docstore_matcher_free(m);
    return rc;
}

/* ---- sessions ------------------------------------------------------------ */

/* Whose sessions this connection may end, kill or refresh: its user's
 * (docstore_auth_uid), anyone's without authentication; false when the server
 * requires authentication and the connection has none, which touches nothing. */
static bool session_owner(const docstore_ctx_t *ctx, int64_t *owner /* OUT */)
{
    if (ctx->conn == NULL || ctx->conn->auth == DOCSTORE_CONN_AUTH_OPEN) {
        *owner = DOCSTORE_CURSORS_ANY_OWNER;
        return true;
    }
    *owner = docstore_auth_uid(ctx);
    return ctx->conn->auth == DOCSTORE_CONN_AUTH_DONE && *owner != 0;
}

/* endSessions, killSessions, refreshSessions: for each session listed in cmd's
 * first field that belongs to the caller, frees (kill) or refreshes its
 * cursors. Another user's session, as in mongod, is silently ignored (mongod
 * keys a session by its UUID and its user, so the name matches none of the
 * caller's). killSessions: [] means every session of the caller. */
static int act_on_listed_sessions(docstore_ctx_t *ctx, const bson_t *cmd, bool kill,
                                  docstore_error_t *err)
{
    bson_iter_t it, arr, sub;
    if (!bson_iter_init(&it, cmd) || !bson_iter_next(&it) || !BSON_ITER_HOLDS_ARRAY(&it)) {
        docstore_error_set(err, DOCSTORE_TYPE_MISMATCH, "%s takes an array of session ids",
                           first_key(cmd));
        return -1;
    }
    int64_t owner;
    if (!session_owner(ctx, &owner))
        return 0;
    bool listed = false;
    bson_iter_recurse(&it, &arr);
    while (bson_iter_next(&arr)) {
        listed = true;
        if (!BSON_ITER_HOLDS_DOCUMENT(&arr) || !bson_iter_recurse(&arr, &sub) ||
            !bson_iter_find(&sub, "id") || !BSON_ITER_HOLDS_BINARY(&sub))
            continue;
        bson_subtype_t st;
        uint32_t len;
        const uint8_t *data;
        bson_iter_binary(&sub, &st, &len, &data);
        if (len != 16)
            continue;
        if (kill)
            docstore_cursors_kill_session(ctx->cursors, data, owner);
        else
            docstore_cursors_refresh_session(ctx->cursors, data, owner);
    }
    if (!listed && kill && strcmp(first_key(cmd), "killSessions") == 0 &&
        owner != DOCSTORE_CURSORS_ANY_OWNER)
        docstore_cursors_kill_session(ctx->cursors, NULL, owner);
    return 0;
}

static int cmd_end_sessions(docstore_ctx_t *ctx, const char *db, const bson_t *cmd, bson_t *reply,
                            docstore_error_t *err)
{
    (void)db, (void)reply;
    return act_on_listed_sessions(ctx, cmd, true, err);
}

static int cmd_refresh_sessions(docstore_ctx_t *ctx, const char *db, const bson_t *cmd,
                                bson_t *reply, docstore_error_t *err)
{
    (void)db, (void)reply;
    return act_on_listed_sessions(ctx, cmd, false, err);
}

static int cmd_kill_all_sessions(docstore_ctx_t *ctx, const char *db, const bson_t *cmd,
                                 bson_t *reply, docstore_error_t *err)
{
    (void)db, (void)cmd, (void)reply, (void)err;
    docstore_cursors_kill_session(ctx->cursors, NULL, DOCSTORE_CURSORS_ANY_OWNER);
    return 0;
}

/* ---- listCommands, logout, auth ------------------------------------------- */

static void list_one(const docstore_command_t *c, void *arg)
{
    bson_t *cmds = arg, sub;
    bson_iter_t it;
    if (bson_iter_init_find(&it, cmds, c->name))
        return;
    BSON_APPEND_DOCUMENT_BEGIN(cmds, c->name, &sub);
    BSON_APPEND_UTF8(&sub, "help", "");
    BSON_APPEND_BOOL(&sub, "requiresAuth", !(c->flags & DOCSTORE_CMD_NO_AUTH));
    BSON_APPEND_BOOL(&sub, "secondaryOk", true);
    BSON_APPEND_BOOL(&sub, "adminOnly", (c->flags & DOCSTORE_CMD_ADMIN_ONLY) != 0);
    bson_append_document_end(cmds, &sub);
}

static int cmd_list_commands(docstore_ctx_t *ctx, const char *db, const bson_t *cmd, bson_t *reply,
                             docstore_error_t *err)
{
    (void)ctx, (void)db, (void)cmd, (void)err;
    bson_t cmds = BSON_INITIALIZER;
    docstore_command_foreach(list_one, &cmds);
    BSON_APPEND_DOCUMENT(reply, "commands", &cmds);
    bson_destroy(&cmds);
    return 0;
}

static int cmd_logout(docstore_ctx_t *ctx, const char *db, const bson_t *cmd, bson_t *reply,
                      docstore_error_t *err)
{
    (void)db, (void)cmd, (void)reply, (void)err;
    docstore_conn_t *c = ctx->conn;
    if (c != NULL && c->auth == DOCSTORE_CONN_AUTH_DONE) {
        c->auth = DOCSTORE_CONN_AUTH_NONE;
        c->user[0] = c->user_db[0] = '\0';
    }
    return 0;
}

const docstore_command_t docstore_admin_commands[] = {
    {"hello", cmd_hello, DOCSTORE_CMD_NO_AUTH},
    {"isMaster", cmd_hello, DOCSTORE_CMD_NO_AUTH},
    {"ismaster", cmd_hello, DOCSTORE_CMD_NO_AUTH},
    {"ping", cmd_ping, DOCSTORE_CMD_NO_AUTH},
    {"buildInfo", cmd_build_info, DOCSTORE_CMD_NO_AUTH},
    {"buildinfo", cmd_build_info, DOCSTORE_CMD_NO_AUTH},
    {"getParameter", cmd_get_parameter, DOCSTORE_CMD_ADMIN_ONLY},
    {"hostInfo", cmd_host_info, DOCSTORE_CMD_NONE},
    {"whatsmyuri", cmd_whatsmyuri, DOCSTORE_CMD_NO_AUTH},
    {"getCmdLineOpts", cmd_get_cmd_line_opts, DOCSTORE_CMD_ADMIN_ONLY},
    {"getLog", cmd_get_log, DOCSTORE_CMD_ADMIN_ONLY},
    {"connectionStatus", cmd_connection_status, DOCSTORE_CMD_NO_AUTH},
    {"serverStatus", cmd_server_status, DOCSTORE_CMD_NONE},
    {"currentOp", cmd_current_op, DOCSTORE_CMD_ADMIN_ONLY},
    {"endSessions", cmd_end_sessions, DOCSTORE_CMD_NO_AUTH},
    {"killSessions", cmd_end_sessions, DOCSTORE_CMD_NONE},
    {"refreshSessions", cmd_refresh_sessions, DOCSTORE_CMD_NO_AUTH},
    {"killAllSessions", cmd_kill_all_sessions, DOCSTORE_CMD_NONE},
    {"listCommands", cmd_list_commands, DOCSTORE_CMD_NONE},
    {"logout", cmd_logout, DOCSTORE_CMD_NO_AUTH},
    {"saslStart", docstore_cmd_sasl_start, DOCSTORE_CMD_NO_AUTH},
    {"saslContinue", docstore_cmd_sasl_continue, DOCSTORE_CMD_NO_AUTH},
    {"authenticate", docstore_cmd_authenticate, DOCSTORE_CMD_NO_AUTH},
    {NULL, NULL, 0},
};
