/*
 * Command dispatch: finds a command's handler by the first key of the
 * command document in the four tables (admin, cursor, crud, ddl), applies the
 * checks every command shares (authentication, admin-only, transactions on a
 * standalone server), counts it for serverStatus, and shapes the reply: the
 * handler's fields followed by ok: 1.0, or {ok: 0.0, errmsg, code, codeName}.
 * Session fields (lsid, $clusterTime, $readPreference, apiVersion, ...) are
 * accepted and left for handlers to ignore; lsid.id is handed to cursors.
 */
#include "docstore/cmd/command.h"
#include "docstore/cmd/cmd_auth.h"
#include "docstore/cmd/cursor.h"

#include "common/log.h"
#include "docstore/base/deadline.h"
#include "docstore/net/conn.h"
#include "docstore/net/wire.h"
#include "docstore/cmd/cmd_explain.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

static const docstore_command_t *const tables[] = {
    docstore_admin_commands, docstore_cursor_commands,  docstore_crud_commands,
    docstore_ddl_commands,   docstore_explain_commands,
};

const docstore_command_t *docstore_command_find(const char *name)
{
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++) {
        for (const docstore_command_t *c = tables[t]; c->name != NULL; c++) {
            if (strcmp(c->name, name) == 0)
                return c;
        }
    }
    return NULL;
}

void docstore_command_foreach(void (*fn)(const docstore_command_t *cmd, void *arg), void *arg)
{
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++) {
        for (const docstore_command_t *c = tables[t]; c->name != NULL; c++)
            fn(c, arg);
    }
}

static size_t count_array(const bson_t *cmd, const char *field)
{
    bson_iter_t it, arr;
    size_t n = 0;
    if (bson_iter_init_find(&it, cmd, field) && BSON_ITER_HOLDS_ARRAY(&it) &&
        bson_iter_recurse(&it, &arr)) {
        while (bson_iter_next(&arr))
            n++;
    }
    return n;
}

static void count_op(docstore_ctx_t *ctx, const char *name, const bson_t *cmd)
{
    if (ctx->server == NULL)
        return;
    docstore_opcounters_t *ops = &ctx->server->ops;
    if (strcmp(name, "insert") == 0)
        ops->insert += (int64_t)count_array(cmd, "documents");
    else if (strcmp(name, "update") == 0)
        ops->update += (int64_t)count_array(cmd, "updates");
    else if (strcmp(name, "delete") == 0)
        ops->delete_ += (int64_t)count_array(cmd, "deletes");
    else if (strcmp(name, "find") == 0)
        ops->query++;
    else if (strcmp(name, "getMore") == 0)
        ops->getmore++;
    else
        ops->command++;
}

/* Finds lsid.id (a UUID) for the cursors. */
static void read_lsid(docstore_ctx_t *ctx, const bson_t *cmd)
{
    bson_iter_t it, sub;
    ctx->has_lsid = false;
    if (!bson_iter_init_find(&it, cmd, "lsid") || !BSON_ITER_HOLDS_DOCUMENT(&it) ||
        !bson_iter_recurse(&it, &sub) || !bson_iter_find(&sub, "id") ||
        !BSON_ITER_HOLDS_BINARY(&sub))
        return;
    bson_subtype_t st;
    uint32_t len;
    const uint8_t *data;
    bson_iter_binary(&sub, &st, &len, &data);
    if (len != 16)
        return;
    memcpy(ctx->lsid, data, 16);
    ctx->has_lsid = true;
}

static int common_checks(docstore_ctx_t *ctx, const docstore_command_t *c, const char *db,
                         const bson_t *cmd, docstore_error_t *err)
{
    bson_iter_t it;
    if (bson_iter_init_find(&it, cmd, "txnNumber") ||
        bson_iter_init_find(&it, cmd, "startTransaction") ||
        bson_iter_init_find(&it, cmd, "autocommit")) {
        docstore_error_set(err, DOCSTORE_ILLEGAL_OPERATION,
                           "Transaction numbers are only allowed on a replica set member or mongos");
        return -1;
    }
    docstore_conn_t *conn = ctx->conn;
    if (conn != NULL && docstore_auth_authorize(ctx, c, db, cmd, err) != 0)
        return -1;
    if ((c->flags & DOCSTORE_CMD_ADMIN_ONLY) && strcmp(db, "admin") != 0) {
        docstore_error_set(err, DOCSTORE_UNAUTHORIZED,
                           "%s may only be run against the admin database.", c->name);
        return -1;
    }
    return 0;
}

/* maxTimeMS as mongod parses it (0 when absent): a whole number of
 * milliseconds from 0 to 2^31-1. */
static int read_max_time(const bson_t *cmd, int64_t *out /* OUT */, docstore_error_t *err)
{
    bson_iter_t it;
    *out = 0;
    if (!bson_iter_init_find(&it, cmd, "maxTimeMS"))
        return 0;
    if (!BSON_ITER_HOLDS_NUMBER(&it)) {
        docstore_error_set(err, DOCSTORE_BAD_VALUE, "maxTimeMS must be a number");
        return -1;
    }
    if (BSON_ITER_HOLDS_DOUBLE(&it)) {
        double d = bson_iter_double(&it);
        if (d != floor(d)) {
            docstore_error_set(err, DOCSTORE_BAD_VALUE, "maxTimeMS has non-integral value");
            return -1;
        }
        if (!(d >= 0 && d <= INT32_MAX)) {
            docstore_error_set(err, DOCSTORE_BAD_VALUE, "maxTimeMS out of range");
            return -1;
        }
        *out = (int64_t)d;
        return 0;
    }
    int64_t v = bson_iter_as_int64(&it);
    if (v < 0 || v > INT32_MAX) {
        docstore_error_set(err, DOCSTORE_BAD_VALUE, "maxTimeMS out of range");
        return -1;
    }
    *out = v;
    return 0;
}

/* Arms the thread's deadline for a DOCSTORE_CMD_MAX_TIME command: its
 * maxTimeMS, or (absent or 0) the server's --max-time-ms. getMore arms its
 * cursor's own budget itself (cursor.c). */
static int arm_budget(docstore_ctx_t *ctx, const docstore_command_t *c, const bson_t *cmd,
                      docstore_error_t *err)
{
    int64_t budget = 0;
    if (strcmp(c->name, "getMore") != 0 && read_max_time(cmd, &budget, err) != 0)
        return -1;
    ctx->max_time_ms = budget; /* a streamed cursor keeps what is left of it */
    if (budget == 0 && ctx->server != NULL)
        budget = ctx->server->cfg.max_time_ms;
    /* The connection read the clock when the message completed, just now:
     * the budget counts from there, and the common path reads no clock. */
    if (ctx->conn != NULL && ctx->conn->last_active_ms != 0)
        docstore_deadline_arm_from(ctx->conn->last_active_ms, budget);
    else
        docstore_deadline_arm(budget);
    return 0;
}

void docstore_command_dispatch(docstore_ctx_t *ctx, const char *db, const bson_t *cmd,
                               bson_t *reply)
{
    docstore_error_t err = {0};
    bson_iter_t it;
    const char *name = "";
    if (bson_iter_init(&it, cmd) && bson_iter_next(&it))
        name = bson_iter_key(&it);
    const docstore_command_t *c = docstore_command_find(name);
    count_op(ctx, name, cmd);
    read_lsid(ctx, cmd);
    if (ctx->has_lsid && ctx->cursors != NULL)
        docstore_cursors_session_used(ctx->cursors, ctx->lsid, docstore_auth_uid(ctx),
                                      ctx->conn ? ctx->conn->id : 0);
    if (c == NULL) {
        docstore_error_set(&err, DOCSTORE_COMMAND_NOT_FOUND, "no such command: '%.100s'", name);
        goto fail;
    }
    if (ctx->conn != NULL)
        log_debug(ctx->conn->who, "%s on %s", c->name, db);
    if (common_checks(ctx, c, db, cmd, &err) != 0)
        goto fail;
    bool budget = (c->flags & DOCSTORE_CMD_MAX_TIME) != 0;
    if (budget && arm_budget(ctx, c, cmd, &err) != 0)
        goto fail;
    int rc = c->fn(ctx, db, cmd, reply, &err);
    if (budget) {
        /* A budget that ran out is the answer, whatever error the unwinding
         * work reported (a regex stopped early, a stage cut short); a read
         * that succeeded anyway is cut short too. A write batch has put 50
         * on the statements it did not finish. */
        bool expired = docstore_deadline_expired();
        docstore_deadline_disarm();
        bool whole = (c->flags & DOCSTORE_CMD_WRITE) == 0 && strcmp(c->name, "getMore") != 0;
        if (expired && (rc != 0 || whole)) {
            docstore_error_clear(&err);
            docstore_deadline_error(&err);
            goto fail;
        }
    }
    if (rc != 0) {
        if (err.code == 0)
            docstore_error_set(&err, DOCSTORE_INTERNAL_ERROR, "%s failed", c->name);
        goto fail;
    }
    if (reply->len > DOCSTORE_WIRE_MAX_REPLY_BSON) {
        docstore_error_set(&err, DOCSTORE_BSON_OBJECT_TOO_LARGE,
                           "BSONObj size: %u is invalid. Size must be between 0 and %d(16MB)",
                           reply->len, DOCSTORE_WIRE_MAX_REPLY_BSON);
        goto fail;
    }
    BSON_APPEND_DOUBLE(reply, "ok", 1.0);
    return;
fail:
    bson_reinit(reply);
    BSON_APPEND_DOUBLE(reply, "ok", 0.0);
    docstore_error_append(&err, reply);
    docstore_error_clear(&err);
}
