/*
 * Commands: how a parsed request reaches its handler. The wire layer turns an
 * OP_MSG (body plus kind-1 sequences, merged into the body as arrays) or an
 * OP_QUERY on db.$cmd into (db, command document); the dispatcher finds the
 * handler by the first key's name in the tables below and builds the reply:
 * the handler's fields then ok: 1.0, or {ok: 0, errmsg, code, codeName}.
 */
#ifndef TETHER_DOCSTORE_COMMAND_H
#define TETHER_DOCSTORE_COMMAND_H

#include "docstore/base/error.h"
#include "docstore/storage/storage.h"

#include <bson/bson.h>
#include <stdbool.h>

struct docstore_server;
struct docstore_conn;
struct docstore_cursors;

/* What a handler may reach while it runs. */
typedef struct docstore_ctx {
    docstore_storage_t *storage;      /* the documents */
    struct docstore_cursors *cursors; /* open cursors (cursor.h) */
    struct docstore_server *server;   /* config and counters (server.h) */
    struct docstore_conn *conn;       /* the calling connection (server.h) */
    bool has_lsid;                    /* the command carries lsid.id (a session) */
    int64_t max_time_ms;              /* the command's own maxTimeMS, 0 if none (dispatcher) */
    uint8_t lsid[16];                 /* that session's UUID */
} docstore_ctx_t;

/* Appends the result fields to reply (not ok) and returns 0, or returns -1
 * with err set; the dispatcher then discards reply and sends the error. */
typedef int (*docstore_command_fn)(docstore_ctx_t *ctx, const char *db, const bson_t *cmd,
                                   bson_t *reply, docstore_error_t *err);

enum docstore_command_flags {
    DOCSTORE_CMD_NONE = 0,          /* runs only on an authenticated connection */
    DOCSTORE_CMD_NO_AUTH = 1 << 0,  /* allowed before authentication (hello, saslStart, ping) */
    DOCSTORE_CMD_ADMIN_ONLY = 1 << 1, /* only against the admin database */
    DOCSTORE_CMD_WRITE = 1 << 2,    /* needs readWrite on the database */
    DOCSTORE_CMD_MAX_TIME = 1 << 3, /* runs under a time budget: maxTimeMS or the server's
                                       default (base/deadline.h) */
};

typedef struct docstore_command {
    const char *name;        /* matched exactly; list aliases ("isMaster", "ismaster") apart */
    docstore_command_fn fn;  /* the handler */
    unsigned flags;          /* docstore_command_flags */
} docstore_command_t;

/* Tables, each ended by an entry with name NULL. */
extern const docstore_command_t docstore_admin_commands[]; /* cmd_admin.c: hello, ping, buildInfo, ... */
extern const docstore_command_t docstore_cursor_commands[]; /* cursor.c: getMore, killCursors */
extern const docstore_command_t docstore_crud_commands[]; /* cmd_crud.c: insert, find, update, ... */
extern const docstore_command_t docstore_ddl_commands[];  /* cmd_ddl.c: create, drop, indexes, ... */
/* cmd_ddl.c: the query matcher as storage's filter for partial indexes; the
 * server installs it (docstore_storage_set_filter_ops) before opening storage. */
extern const docstore_storage_filter_ops_t docstore_partial_filter_ops;
/* cmd_ddl.c: ICU collations (query/collation.h) as storage's collators for
 * indexes with a collation; installed beside docstore_partial_filter_ops. */
extern const docstore_storage_collation_ops_t docstore_index_collation_ops;

/* The handler named name in any table, or NULL. */
const docstore_command_t *docstore_command_find(const char *name);
/* Calls fn for every command of every table (listCommands). */
void docstore_command_foreach(void (*fn)(const docstore_command_t *cmd, void *arg), void *arg);

/* Runs cmd against db and writes the whole reply document (with ok) into
 * reply (bson_init'd by the caller). Unknown commands: 59 CommandNotFound
 * "no such command: 'x'". A DOCSTORE_CMD_MAX_TIME command runs with the
 * current thread's deadline armed; if it runs out, the reply is 50
 * MaxTimeMSExpired (a write batch reports it per statement instead). Never
 * fails to produce a reply. */
void docstore_command_dispatch(docstore_ctx_t *ctx, const char *db, const bson_t *cmd,
                               bson_t *reply);

#endif
