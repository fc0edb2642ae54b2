/*
 * saslStart / saslContinue on a connection, and authorization of every
 * command against the authenticated principal's roles. The conversation
 * itself (SCRAM, MONGODB-AWS) is auth.c's; this file keeps its state on the
 * connection and enforces the server's --auth mode.
 */
#include "docstore/cmd_auth.h"

#include "common/log.h"
#include "docstore/auth.h"
#include "docstore/conn.h"

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

int docstore_auth_authorize(docstore_ctx_t *ctx, const docstore_command_t *c, const char *db,
                            docstore_error_t *err)
{
    docstore_conn_t *conn = ctx->conn;
    if (conn == NULL || conn->auth == DOCSTORE_CONN_AUTH_OPEN || (c->flags & DOCSTORE_CMD_NO_AUTH))
        return 0;
    if (conn->auth != DOCSTORE_CONN_AUTH_DONE || conn->principal == NULL) {
        docstore_error_set(err, DOCSTORE_UNAUTHORIZED, "command %s requires authentication",
                           c->name);
        return -1;
    }
    if (!auth_is_data_command(c))
        return 0;
    /* listDatabases and the like run on admin for any authenticated user */
    if (strcmp(c->name, "listDatabases") == 0)
        return 0;
    bool write = auth_is_write(c);
    if (!docstore_principal_can(conn->principal, db, write)) {
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
    if (!docstore_sasl_done(s))
        return 0;
    docstore_principal_t *p = calloc(1, sizeof *p);
    if (p == NULL) {
        docstore_error_set(err, DOCSTORE_INTERNAL_ERROR, "out of memory");
        return -1;
    }
    docstore_principal_copy(docstore_sasl_principal(s), p);
    if (conn->principal != NULL) {
        bson_destroy(&conn->principal->roles);
        free(conn->principal);
    }
    conn->principal = p;
    conn->auth = DOCSTORE_CONN_AUTH_DONE;
    snprintf(conn->user, sizeof conn->user, "%s", p->user);
    snprintf(conn->user_db, sizeof conn->user_db, "%.63s", p->db);
    log_info(conn->who, "authenticated as %s@%s with %s", p->user, p->db,
             docstore_sasl_mechanism(s));
    return 0;
}

static void auth_drop_conversation(docstore_conn_t *conn)
{
    docstore_sasl_free(conn->sasl);
    conn->sasl = NULL;
    if (conn->auth == DOCSTORE_CONN_AUTH_CONVERSATION)
        conn->auth = DOCSTORE_CONN_AUTH_NONE;
}

int docstore_cmd_sasl_start(docstore_ctx_t *ctx, const char *db, const bson_t *cmd, bson_t *reply,
                            docstore_error_t *err)
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
        return -1;
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
        log_warn(conn->who, "authentication failed (%.64s on %.64s)", mechanism, db);
        return -1;
    }
    conn->sasl = s;
    if (conn->auth != DOCSTORE_CONN_AUTH_DONE)
        conn->auth = DOCSTORE_CONN_AUTH_CONVERSATION;
    return auth_finish(conn, err);
}

int docstore_cmd_sasl_continue(docstore_ctx_t *ctx, const char *db, const bson_t *cmd,
                               bson_t *reply, docstore_error_t *err)
{
    (void)db;
    docstore_conn_t *conn = ctx->conn;
    if (conn == NULL || conn->sasl == NULL) {
        docstore_error_set(err, DOCSTORE_PROTOCOL_ERROR, "No SASL session state found");
        return -1;
    }
    const uint8_t *data;
    uint32_t len;
    if (auth_payload(cmd, &data, &len, err) == -1)
        return -1;
    if (docstore_sasl_continue(conn->sasl, time(NULL), data, len, reply, err) == -1) {
        log_warn(conn->who, "authentication failed (%s)", docstore_sasl_mechanism(conn->sasl));
        auth_drop_conversation(conn);
        return -1;
    }
    return auth_finish(conn, err);
}

void docstore_auth_hello_mechs(docstore_ctx_t *ctx, const bson_t *cmd, bson_t *reply)
{
    bson_iter_t it;
    if (ctx->server == NULL || ctx->server->auth == NULL ||
        !bson_iter_init_find(&it, cmd, "saslSupportedMechs") || !BSON_ITER_HOLDS_UTF8(&it))
        return;
    docstore_auth_append_mechs(ctx->server->auth, bson_iter_utf8(&it, NULL), reply);
}
