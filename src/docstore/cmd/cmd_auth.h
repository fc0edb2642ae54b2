/*
 * The authentication commands (saslStart, saslContinue, authenticate), hello's
 * authentication fields and the per-command authorization check, on top of
 * auth.h. command.c calls the check for every command; cmd_admin.c's table
 * routes the SASL commands here; hello, serverStatus, connectionStatus,
 * currentOp, listDatabases and the cursors call the hooks below.
 */
#ifndef TETHER_DOCSTORE_CMD_AUTH_H
#define TETHER_DOCSTORE_CMD_AUTH_H

#include "docstore/cmd/command.h"
#include "docstore/base/doclist.h"

/* saslStart: starts a conversation on the connection (replacing one under
 * way) and appends {conversationId, done, payload}. */
int docstore_cmd_sasl_start(docstore_ctx_t *ctx, const char *db, const bson_t *cmd, bson_t *reply,
                            docstore_error_t *err);
/* The authenticate command (MONGODB-X509, the removed MONGODB-CR): 334
 * MechanismUnavailable, so a driver configured for X.509 says why. */
int docstore_cmd_authenticate(docstore_ctx_t *ctx, const char *db, const bson_t *cmd,
                              bson_t *reply, docstore_error_t *err);
/* saslContinue: the next step; needs conversationId (40414), a conversation
 * (17), the same id and database (17); a failure ends the conversation. */
int docstore_cmd_sasl_continue(docstore_ctx_t *ctx, const char *db, const bson_t *cmd,
                               bson_t *reply, docstore_error_t *err);

/* hello's saslSupportedMechs: "db.user" → the user's enabled mechanisms, when asked. */
void docstore_auth_hello_mechs(docstore_ctx_t *ctx, const bson_t *cmd, bson_t *reply);

/* hello's speculativeAuthenticate: a saslStart command document (with the
 * authentication database in "db") run as saslStart would be; its reply goes
 * into reply's speculativeAuthenticate. A saslStart that fails leaves the
 * field out (the driver then authenticates the usual way) and returns 0; a
 * malformed field (not a document, empty, an unknown command) fails the hello
 * as MongoDB does: -1 with err. */
int docstore_auth_hello_speculative(docstore_ctx_t *ctx, const bson_t *cmd, bson_t *reply,
                                    docstore_error_t *err);

/* serverStatus.security.authentication: saslSupportedMechsReceived and, per
 * enabled mechanism, {speculativeAuthenticate, authenticate}: {received, successful}. */
void docstore_auth_append_status(const struct docstore_server *srv, bson_t *reply);

/* May the connection run command cmd (whose handler is c) on db?
 * Authentication first (unless c is DOCSTORE_CMD_NO_AUTH); cluster privileges
 * for the monitoring commands (serverStatus, hostInfo, getLog, getParameter,
 * getCmdLineOpts: clusterMonitor or root) and killAllSessions (root); for
 * data commands a role on db that reads, writes or (dropDatabase) owns it;
 * renameCollection needs readWrite on both its namespaces' databases. 0, or
 * -1 with Unauthorized (13) in err. */
int docstore_auth_authorize(docstore_ctx_t *ctx, const docstore_command_t *c, const char *db,
                            const bson_t *cmd, docstore_error_t *err);

/* listDatabases under --auth, as MongoDB: l holds the databases (documents
 * with "name"); keeps every one for a user with the listDatabases action on
 * the cluster (the any-database roles) unless the command says
 * authorizedDatabases: true, else only those the user holds a role on.
 * authorizedDatabases: false without the action is -1 with Unauthorized (13).
 * Without --auth, l is left as it is. */
int docstore_auth_filter_databases(docstore_ctx_t *ctx, const bson_t *cmd, docstore_doclist_t *l,
                                   docstore_error_t *err);

/* connectionStatus' authInfo: authenticatedUsers, authenticatedUserRoles
 * ([{role, db}]) and, with show_privileges, authenticatedUserPrivileges. */
void docstore_auth_append_info(docstore_ctx_t *ctx, bool show_privileges, bson_t *reply);

/* currentOp and $currentOp under --auth: all_users (currentOp without
 * $ownOps, $currentOp with allUsers) needs clusterMonitor or root, else -1
 * with Unauthorized; otherwise *own_only says to list only the connections
 * of the caller's user (docstore_auth_same_user). Without --auth everything
 * is listed. */
int docstore_auth_current_op_scope(docstore_ctx_t *ctx, bool all_users, bool *own_only,
                                   docstore_error_t *err);
/* Is other authenticated as the same user as the caller? */
bool docstore_auth_same_user(const docstore_ctx_t *ctx, const struct docstore_conn *other);

/* The authenticated user's number (docstore_principal_t.uid), 0 without one:
 * a cursor answers getMore and killCursors only for the user that opened it. */
int64_t docstore_auth_uid(const docstore_ctx_t *ctx);

/* listCollections with nameOnly and authorizedCollections passes the check
 * without a role on db (as MongoDB's); then this says to list nothing. */
bool docstore_auth_hides_collections(const docstore_ctx_t *ctx, const char *db);

#endif
