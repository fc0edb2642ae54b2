/*
 * Authentication and authorization on a connection, on top of auth.h:
 * saslStart / saslContinue and hello's speculativeAuthenticate and
 * saslSupportedMechs (the conversation itself, SCRAM or MONGODB-AWS, is
 * auth.c's; this file keeps its state on the connection and enforces the
 * server's --auth mode); the check of every command against the principal's
 * roles; what auth changes in other commands' answers (listDatabases,
 * connectionStatus, currentOp, cursor owners, serverStatus counters).
 */
#include "docstore/cmd/cmd_auth.h"

#include "common/log.h"
#include "docstore/auth/auth.h"
#include "docstore/net/conn.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Commands that change data; every other data command only reads. */
static const char *const write_commands[] = {
    "insert", "update",  "delete",           "findAndModify", "findandmodify",
    "create", "drop",    "dropDatabase",     "renameCollection", "createIndexes",
    "dropIndexes", "deleteIndexes", NULL,
};

static bool auth_is_data_command(const docstore_command_t *c)
{
    for (const docstore_command_t *t = docstore_crud_commands; t->name != NULL; t++) {
        if (t == c)
            return true;
    }
    for (const docstore_command_t *t = docstore_ddl_commands; t->name != NULL; t++) {
        if (t == c)
            return true;
    }
    for (const docstore_command_t *t = docstore_cursor_commands; t->name != NULL; t++) {
        if (t == c)
            return true;
    }
    return false;
}

static bool auth_is_write(const docstore_command_t *c)
{
    if (c->flags & DOCSTORE_CMD_WRITE)
        return true;
    for (size_t i = 0; write_commands[i] != NULL; i++) {
        if (strcmp(write_commands[i], c->name) == 0)
            return true;
    }
    return false;
}

/* Admin commands that need cluster privileges, as MongoDB's actions do;
 * currentOp checks its own ($ownOps, docstore_auth_current_op_scope). */
static docstore_cluster_t auth_cluster_need(const docstore_command_t *c)
{
    static const char *const monitor[] = {
        "serverStatus", "hostInfo", "getCmdLineOpts", "getLog", "getParameter", NULL,
    };
    for (size_t i = 0; monitor[i] != NULL; i++) {
        if (strcmp(monitor[i], c->name) == 0)
            return DOCSTORE_CLUSTER_MONITOR;
    }
    if (strcmp(c->name, "killAllSessions") == 0)
        return DOCSTORE_CLUSTER_ADMIN;
    return DOCSTORE_CLUSTER_NONE;
}

/* The database of the namespace string field of cmd ("db.coll"), into out. */
static bool auth_ns_db(const bson_t *cmd, const char *field, char *out, size_t cap)
{
    bson_iter_t it;
    if (!bson_iter_init_find(&it, cmd, field) || !BSON_ITER_HOLDS_UTF8(&it))
        return false;
    const char *ns = bson_iter_utf8(&it, NULL), *dot = strchr(ns, '.');
    if (dot == NULL || dot == ns || (size_t)(dot - ns) >= cap)
        return false;
    memcpy(out, ns, (size_t)(dot - ns));
    out[dot - ns] = '\0';
    return true;
}

static bool auth_flag(const bson_t *cmd, const char *name)
{
    bson_iter_t it;
    return bson_iter_init_find(&it, cmd, name) && bson_iter_as_bool(&it);
}

int docstore_auth_authorize(docstore_ctx_t *ctx, const docstore_command_t *c, const char *db,
                            const bson_t *cmd, docstore_error_t *err)
{
    docstore_conn_t *conn = ctx->conn;
    if (conn == NULL || conn->auth == DOCSTORE_CONN_AUTH_OPEN || (c->flags & DOCSTORE_CMD_NO_AUTH))
        return 0;
    if (conn->auth != DOCSTORE_CONN_AUTH_DONE || conn->principal == NULL) {
        docstore_error_set(err, DOCSTORE_UNAUTHORIZED, "command %s requires authentication",
                           c->name);
        return -1;
    }
    docstore_cluster_t cluster = auth_cluster_need(c);
    if (cluster != DOCSTORE_CLUSTER_NONE &&
        !docstore_principal_cluster(conn->principal, cluster)) {
        docstore_error_set(err, DOCSTORE_UNAUTHORIZED,
                           "not authorized on admin to execute command %s (it needs %s)",
                           c->name, cluster == DOCSTORE_CLUSTER_ADMIN ? "root" : "clusterMonitor");
        return -1;
    }
    if (!auth_is_data_command(c))
        return 0;
    /* listDatabases runs on admin for any authenticated user and shows what
     * the user may see (docstore_auth_filter_databases) */
    if (strcmp(c->name, "listDatabases") == 0)
        return 0;
    /* renameCollection runs on admin but acts on its two namespaces: it needs
     * readWrite on both (MongoDB's renameCollectionSameDB, or find/insert/
     * dropCollection across databases); a malformed one is the handler's error */
    char from[128], to[128];
    if (strcmp(c->name, "renameCollection") == 0 && auth_ns_db(cmd, "renameCollection", from,
                                                               sizeof from) &&
        auth_ns_db(cmd, "to", to, sizeof to)) {
        const char *bad = !docstore_principal_allows(conn->principal, from, DOCSTORE_ACCESS_WRITE)
                              ? from
                          : !docstore_principal_allows(conn->principal, to, DOCSTORE_ACCESS_WRITE)
                              ? to
                              : NULL;
        if (bad != NULL) {
            docstore_error_set(err, DOCSTORE_UNAUTHORIZED,
                               "not authorized on %.64s to execute command renameCollection",
                               bad);
            return -1;
        }
        return 0;
    }
    /* listCollections {nameOnly, authorizedCollections: true} runs without the
     * listCollections privilege and lists only what the user may see, as
     * MongoDB's (Compass and the drivers' authorizedCollections option) */
    if (strcmp(c->name, "listCollections") == 0 && auth_flag(cmd, "authorizedCollections") &&
        auth_flag(cmd, "nameOnly"))
        return 0;
    docstore_access_t level = DOCSTORE_ACCESS_READ;
    if (strcmp(c->name, "dropDatabase") == 0)
        level = DOCSTORE_ACCESS_DB_ADMIN;
    else if (auth_is_write(c))
        level = DOCSTORE_ACCESS_WRITE;
    if (!docstore_principal_allows(conn->principal, db, level)) {
        docstore_error_set(err, DOCSTORE_UNAUTHORIZED, "not authorized on %.64s to execute command %s",
                           db, c->name);
        return -1;
    }
    return 0;
}

static bool auth_mode_allows(enum docstore_auth_mode mode, const char *mechanism)
{
    bool aws = strcmp(mechanism, "MONGODB-AWS") == 0;
    switch (mode) {
    case DOCSTORE_AUTH_NONE:
        return false;
    case DOCSTORE_AUTH_SCRAM:
        return !aws;
    case DOCSTORE_AUTH_AWS:
        return aws;
    case DOCSTORE_AUTH_BOTH:
        return true;
    }
    return false;
}

/* The mechanisms, in the order of docstore_server.auth_counters. */
static const char *const auth_mech_names[] = {"SCRAM-SHA-1", "SCRAM-SHA-256", "MONGODB-AWS"};
#define AUTH_N_MECHS (sizeof auth_mech_names / sizeof auth_mech_names[0])

static docstore_auth_counters_t *auth_counters(docstore_server_t *srv, const char *mechanism)
{
    for (size_t i = 0; srv != NULL && i < AUTH_N_MECHS; i++) {
        if (strcmp(auth_mech_names[i], mechanism) == 0)
            return &srv->auth_counters[i];
    }
    return NULL;
}

static int auth_payload(const bson_t *cmd, const uint8_t **data, uint32_t *len,
                        docstore_error_t *err)
{
    bson_iter_t it;
    bson_subtype_t sub;
    if (bson_iter_init_find(&it, cmd, "payload")) {
        if (BSON_ITER_HOLDS_BINARY(&it)) {
            bson_iter_binary(&it, &sub, len, data);
            return 0;
        }
        if (BSON_ITER_HOLDS_UTF8(&it)) { /* some clients send base64 text: not supported */
            docstore_error_set(err, DOCSTORE_BAD_VALUE, "payload must be BinData");
            return -1;
        }
    }
    docstore_error_set(err, DOCSTORE_BAD_VALUE, "Missing required field 'payload'");
    return -1;
}

/* A finished conversation makes the connection authenticated as its principal. */
static int auth_finish(docstore_conn_t *conn, docstore_error_t *err)
{
    struct docstore_sasl *s = conn->sasl;
    if (!docstore_sasl_done(s) || conn->sasl_finished)
        return 0; /* under way, or finished at the step before the empty exchange */
    docstore_principal_t *p = calloc(1, sizeof *p);
    if (p == NULL) {
        docstore_error_oom(err);
        return -1;
    }
    docstore_principal_copy(docstore_sasl_principal(s), p);
    if (conn->principal != NULL) {
        bson_destroy(&conn->principal->roles);
        free(conn->principal);
    }
    conn->principal = p;
    conn->auth = DOCSTORE_CONN_AUTH_DONE;
    conn->sasl_finished = true;
    snprintf(conn->user, sizeof conn->user, "%s", p->user);
    snprintf(conn->user_db, sizeof conn->user_db, "%.63s", p->db);
    docstore_auth_counters_t *c = auth_counters(conn->server, docstore_sasl_mechanism(s));
    if (c != NULL) {
        c->successful++;
        c->spec_successful += conn->sasl_speculative;
    }
    log_info(conn->who, "authenticated as %s@%s with %s%s", p->user, p->db,
             docstore_sasl_mechanism(s), conn->sasl_speculative ? " (speculative)" : "");
    return 0;
}

static void auth_drop_conversation(docstore_conn_t *conn)
{
    docstore_sasl_free(conn->sasl);
    conn->sasl = NULL;
    conn->sasl_speculative = false;
    conn->sasl_finished = false;
    if (conn->auth == DOCSTORE_CONN_AUTH_CONVERSATION)
        conn->auth = DOCSTORE_CONN_AUTH_NONE;
}

/* saslStart, sent as a command or inside hello's speculativeAuthenticate:
 * starts a conversation on the connection and appends {conversationId,
 * done, payload} to reply. 0, or -1 with err. */
static int auth_start(docstore_ctx_t *ctx, const char *db, const bson_t *cmd, bool speculative,
                      bson_t *reply, docstore_error_t *err)
{
    docstore_conn_t *conn = ctx->conn;
    docstore_server_t *srv = ctx->server;
    if (srv == NULL || conn == NULL || srv->cfg.auth == DOCSTORE_AUTH_NONE || srv->auth == NULL) {
        docstore_error_set(err, DOCSTORE_AUTHENTICATION_FAILED,
                           "authentication is not enabled on this server: connect without "
                           "credentials");
        return -1;
    }
    bson_iter_t it;
    const char *mechanism = NULL;
    if (bson_iter_init_find(&it, cmd, "mechanism") && BSON_ITER_HOLDS_UTF8(&it))
        mechanism = bson_iter_utf8(&it, NULL);
    if (mechanism == NULL) {
        docstore_error_set(err, DOCSTORE_BAD_VALUE, "Missing required field 'mechanism'");
        return -1;
    }
    if (!auth_mode_allows(srv->cfg.auth, mechanism)) {
        docstore_error_set(err, DOCSTORE_MECHANISM_UNAVAILABLE,
                           "Received authentication for mechanism %.64s which is not enabled",
                           mechanism);
        log_warn(conn->who, "%sauthentication with %.64s refused: mechanism not enabled",
                 speculative ? "speculative " : "", mechanism);
        return -1;
    }
    docstore_auth_counters_t *counters = auth_counters(srv, mechanism);
    if (counters != NULL) {
        counters->received++;
        counters->spec_received += speculative;
    }
    bool skip_empty = false;
    bson_iter_t opt;
    if (bson_iter_init_find(&it, cmd, "options") && BSON_ITER_HOLDS_DOCUMENT(&it) &&
        bson_iter_recurse(&it, &opt) && bson_iter_find(&opt, "skipEmptyExchange"))
        skip_empty = bson_iter_as_bool(&opt);
    const uint8_t *data;
    uint32_t len;
    if (auth_payload(cmd, &data, &len, err) == -1)
        return -1;
    auth_drop_conversation(conn);
    struct docstore_sasl *s = NULL;
    if (docstore_sasl_start(srv->auth, db, mechanism, data, len, skip_empty, &s, reply, err) ==
        -1) {
        log_warn(conn->who, "%sauthentication failed (%.64s on %.64s)",
                 speculative ? "speculative " : "", mechanism, db);
        return -1;
    }
    conn->sasl = s;
    conn->sasl_speculative = speculative;
    if (conn->auth != DOCSTORE_CONN_AUTH_DONE)
        conn->auth = DOCSTORE_CONN_AUTH_CONVERSATION;
    return auth_finish(conn, err);
}

int docstore_cmd_sasl_start(docstore_ctx_t *ctx, const char *db, const bson_t *cmd, bson_t *reply,
                            docstore_error_t *err)
{
    return auth_start(ctx, db, cmd, false, reply, err);
}

int docstore_auth_hello_speculative(docstore_ctx_t *ctx, const bson_t *cmd, bson_t *reply,
                                    docstore_error_t *err)
{
    bson_iter_t it;
    if (!bson_iter_init_find(&it, cmd, "speculativeAuthenticate"))
        return 0;
    bson_t spec;
    uint32_t len;
    const uint8_t *data;
    if (!BSON_ITER_HOLDS_DOCUMENT(&it)) {
        docstore_error_set(err, DOCSTORE_BAD_VALUE,
                           "hello.speculativeAuthenticate must be an Object");
        return -1;
    }
    bson_iter_document(&it, &len, &data);
    if (!bson_init_static(&spec, data, len) || bson_empty(&spec)) {
        docstore_error_set(err, DOCSTORE_BAD_VALUE,
                           "hello.speculativeAuthenticate must be a non-empty Object");
        return -1;
    }
    bson_iter_t first;
    bson_iter_init(&first, &spec);
    bson_iter_next(&first);
    const char *name = bson_iter_key(&first);
    if (strcmp(name, "authenticate") == 0)
        return 0; /* MONGODB-X509 is not supported: the client falls back and is refused */
    if (strcmp(name, "saslStart") != 0) {
        docstore_error_set(err, DOCSTORE_LOCATION_51769,
                           "hello.speculativeAuthenticate unknown command: %.64s", name);
        return -1;
    }
    /* From here on a failure only leaves the field out: the driver then
     * authenticates with saslStart, as MongoDB expects it to. */
    const char *db = NULL;
    if (bson_iter_init_find(&it, &spec, "db") && BSON_ITER_HOLDS_UTF8(&it))
        db = bson_iter_utf8(&it, NULL);
    if (db == NULL || db[0] == '\0')
        return 0;
    bson_t out = BSON_INITIALIZER;
    docstore_error_t serr = {0};
    if (auth_start(ctx, db, &spec, true, &out, &serr) == 0)
        BSON_APPEND_DOCUMENT(reply, "speculativeAuthenticate", &out);
    else if (ctx->conn != NULL)
        auth_drop_conversation(ctx->conn);
    docstore_error_clear(&serr);
    bson_destroy(&out);
    return 0;
}

int docstore_cmd_sasl_continue(docstore_ctx_t *ctx, const char *db, const bson_t *cmd,
                               bson_t *reply, docstore_error_t *err)
{
    docstore_conn_t *conn = ctx->conn;
    bson_iter_t it;
    if (!bson_iter_init_find(&it, cmd, "conversationId")) {
        docstore_error_set(err, DOCSTORE_LOCATION_40414,
                           "BSON field 'saslContinue.conversationId' is missing but a required "
                           "field");
        return -1;
    }
    if (!BSON_ITER_HOLDS_NUMBER(&it)) {
        docstore_error_set(err, DOCSTORE_TYPE_MISMATCH,
                           "BSON field 'saslContinue.conversationId' is the wrong type, expected "
                           "type 'int'");
        return -1;
    }
    int64_t id = bson_iter_as_int64(&it);
    if (conn == NULL || conn->sasl == NULL) {
        docstore_error_set(err, DOCSTORE_PROTOCOL_ERROR, "No SASL session state found");
        return -1;
    }
    if (strcmp(db, docstore_sasl_db(conn->sasl)) != 0) {
        docstore_error_set(err, DOCSTORE_PROTOCOL_ERROR,
                           "Attempt to switch database target during SASL authentication.");
        auth_drop_conversation(conn);
        return -1;
    }
    if (id != DOCSTORE_SASL_CONVERSATION_ID) {
        docstore_error_set(err, DOCSTORE_PROTOCOL_ERROR, "sasl: Mismatched conversation id");
        auth_drop_conversation(conn);
        return -1;
    }
    const uint8_t *data;
    uint32_t len;
    if (auth_payload(cmd, &data, &len, err) == -1)
        return -1;
    if (docstore_sasl_continue(conn->sasl, time(NULL), data, len, reply, err) == -1) {
        log_warn(conn->who, "%sauthentication failed (%s)",
                 conn->sasl_speculative ? "speculative " : "",
                 docstore_sasl_mechanism(conn->sasl));
        auth_drop_conversation(conn);
        return -1;
    }
    return auth_finish(conn, err);
}

void docstore_auth_hello_mechs(docstore_ctx_t *ctx, const bson_t *cmd, bson_t *reply)
{
    bson_iter_t it;
    docstore_server_t *srv = ctx->server;
    if (srv == NULL || srv->auth == NULL ||
        !bson_iter_init_find(&it, cmd, "saslSupportedMechs") || !BSON_ITER_HOLDS_UTF8(&it))
        return;
    srv->sasl_mechs_received++;
    docstore_auth_append_mechs(srv->auth, bson_iter_utf8(&it, NULL),
                               auth_mode_allows(srv->cfg.auth, "SCRAM-SHA-256"),
                               auth_mode_allows(srv->cfg.auth, "MONGODB-AWS"), reply);
}

void docstore_auth_append_status(const docstore_server_t *srv, bson_t *reply)
{
    bson_t sec, authn, mechs, m, sub;
    BSON_APPEND_DOCUMENT_BEGIN(reply, "security", &sec);
    BSON_APPEND_DOCUMENT_BEGIN(&sec, "authentication", &authn);
    BSON_APPEND_INT64(&authn, "saslSupportedMechsReceived", srv->sasl_mechs_received);
    BSON_APPEND_DOCUMENT_BEGIN(&authn, "mechanisms", &mechs);
    for (size_t i = 0; i < AUTH_N_MECHS; i++) {
        if (!auth_mode_allows(srv->cfg.auth, auth_mech_names[i]))
            continue;
        const docstore_auth_counters_t *c = &srv->auth_counters[i];
        BSON_APPEND_DOCUMENT_BEGIN(&mechs, auth_mech_names[i], &m);
        BSON_APPEND_DOCUMENT_BEGIN(&m, "speculativeAuthenticate", &sub);
        BSON_APPEND_INT64(&sub, "received", c->spec_received);
        BSON_APPEND_INT64(&sub, "successful", c->spec_successful);
        bson_append_document_end(&m, &sub);
        BSON_APPEND_DOCUMENT_BEGIN(&m, "authenticate", &sub);
        BSON_APPEND_INT64(&sub, "received", c->received);
        BSON_APPEND_INT64(&sub, "successful", c->successful);
        bson_append_document_end(&m, &sub);
        bson_append_document_end(&mechs, &m);
    }
    bson_append_document_end(&authn, &mechs);
    bson_append_document_end(&sec, &authn);
    bson_append_document_end(reply, &sec);
}

/* The authenticated principal of the connection, or NULL (no auth, or not yet). */
static const docstore_principal_t *auth_principal(const docstore_ctx_t *ctx)
{
    const docstore_conn_t *conn = ctx->conn;
    if (conn == NULL || conn->auth != DOCSTORE_CONN_AUTH_DONE)
        return NULL;
    return conn->principal;
}

int docstore_auth_filter_databases(docstore_ctx_t *ctx, const bson_t *cmd, docstore_doclist_t *l,
                                   docstore_error_t *err)
{
    if (ctx->conn == NULL || ctx->conn->auth == DOCSTORE_CONN_AUTH_OPEN)
        return 0;
    const docstore_principal_t *p = auth_principal(ctx);
    bson_iter_t it;
    bool has_flag = bson_iter_init_find(&it, cmd, "authorizedDatabases");
    bool authorized_only = has_flag && bson_iter_as_bool(&it);
    bool lists = p != NULL && docstore_principal_lists_databases(p);
    if (has_flag && !authorized_only && !lists) {
        docstore_error_set(err, DOCSTORE_UNAUTHORIZED,
                           "not authorized on admin to execute command listDatabases with "
                           "authorizedDatabases: false");
        return -1;
    }
    if (lists && !authorized_only)
        return 0;
    size_t w = 0;
    for (size_t i = 0; i < l->n; i++) {
        const char *name = NULL;
        if (bson_iter_init_find(&it, l->docs[i], "name") && BSON_ITER_HOLDS_UTF8(&it))
            name = bson_iter_utf8(&it, NULL);
        if (p != NULL && name != NULL && docstore_principal_allows(p, name, DOCSTORE_ACCESS_READ))
            l->docs[w++] = l->docs[i];
        else
            bson_destroy(l->docs[i]);
    }
    l->n = w;
    return 0;
}

void docstore_auth_append_info(docstore_ctx_t *ctx, bool show_privileges, bson_t *reply)
{
    const docstore_principal_t *p = auth_principal(ctx);
    bson_t info, arr, u;
    BSON_APPEND_DOCUMENT_BEGIN(reply, "authInfo", &info);
    BSON_APPEND_ARRAY_BEGIN(&info, "authenticatedUsers", &arr);
    if (p != NULL) {
        BSON_APPEND_DOCUMENT_BEGIN(&arr, "0", &u);
        BSON_APPEND_UTF8(&u, "user", p->user);
        BSON_APPEND_UTF8(&u, "db", p->db);
        bson_append_document_end(&arr, &u);
    }
    bson_append_array_end(&info, &arr);
    if (p != NULL)
        BSON_APPEND_ARRAY(&info, "authenticatedUserRoles", &p->roles);
    else {
        BSON_APPEND_ARRAY_BEGIN(&info, "authenticatedUserRoles", &arr);
        bson_append_array_end(&info, &arr);
    }
    if (show_privileges) {
        BSON_APPEND_ARRAY_BEGIN(&info, "authenticatedUserPrivileges", &arr);
        if (p != NULL)
            docstore_principal_append_privileges(p, &arr);
        bson_append_array_end(&info, &arr);
    }
    bson_append_document_end(reply, &info);
}

int docstore_auth_current_op_scope(docstore_ctx_t *ctx, bool all_users, bool *own_only,
                                   docstore_error_t *err)
{
    *own_only = false;
    if (ctx->conn == NULL || ctx->conn->auth == DOCSTORE_CONN_AUTH_OPEN)
        return 0;
    const docstore_principal_t *p = auth_principal(ctx);
    if (!all_users) {
        *own_only = true;
        return 0;
    }
    if (p == NULL || !docstore_principal_cluster(p, DOCSTORE_CLUSTER_MONITOR)) {
        docstore_error_set(err, DOCSTORE_UNAUTHORIZED,
                           "not authorized on admin to see the operations of all users "
                           "(currentOp needs clusterMonitor; use $ownOps: true)");
        return -1;
    }
    return 0;
}

bool docstore_auth_same_user(const docstore_ctx_t *ctx, const struct docstore_conn *other)
{
    const docstore_principal_t *p = auth_principal(ctx);
    return p != NULL && other->auth == DOCSTORE_CONN_AUTH_DONE && other->principal != NULL &&
           strcmp(other->principal->user, p->user) == 0 &&
           strcmp(other->principal->db, p->db) == 0;
}

int64_t docstore_auth_uid(const docstore_ctx_t *ctx)
{
    const docstore_principal_t *p = auth_principal(ctx);
    return p != NULL ? p->uid : 0;
}

int docstore_cmd_authenticate(docstore_ctx_t *ctx, const char *db, const bson_t *cmd,
                              bson_t *reply, docstore_error_t *err)
{
    (void)ctx, (void)db, (void)reply;
    bson_iter_t it;
    const char *mechanism = NULL;
    if (bson_iter_init_find(&it, cmd, "mechanism") && BSON_ITER_HOLDS_UTF8(&it))
        mechanism = bson_iter_utf8(&it, NULL);
    if (mechanism == NULL) {
        docstore_error_set(err, DOCSTORE_BAD_VALUE, "Auth mechanism not specified");
        return -1;
    }
    docstore_error_set(err, DOCSTORE_MECHANISM_UNAVAILABLE,
                       "Received authentication for mechanism %.64s which is not enabled "
                       "(the docstore offers SCRAM-SHA-256, SCRAM-SHA-1 and MONGODB-AWS "
                       "through saslStart)",
                       mechanism);
    return -1;
}

bool docstore_auth_hides_collections(const docstore_ctx_t *ctx, const char *db)
{
    if (ctx->conn == NULL || ctx->conn->auth == DOCSTORE_CONN_AUTH_OPEN)
        return false;
    const docstore_principal_t *p = auth_principal(ctx);
    return p == NULL || !docstore_principal_allows(p, db, DOCSTORE_ACCESS_READ);
}
