/*
 * Cursors: a result set larger than one batch stays here until getMore drains
 * it, killCursors or the connection's end closes it, or it is idle for 10
 * minutes: a find without a sort or with one an index walk serves as a
 * position in storage read on each getMore (streamed), anything else
 * materialized. Replies are {cursor: {id, ns, firstBatch|nextBatch}}.
 */
#ifndef TETHER_DOCSTORE_CURSOR_H
#define TETHER_DOCSTORE_CURSOR_H

#include "docstore/cmd/command.h"
#include "docstore/base/doclist.h"
#include "docstore/query/match.h"
#include "docstore/query/project.h"
#include "docstore/query/sort.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct docstore_cursors docstore_cursors_t;

__attribute__((warn_unused_result)) int docstore_cursors_new(docstore_cursors_t **out);
void docstore_cursors_free(docstore_cursors_t *c);
/* The server's limits: the bytes all open cursors may hold together (0: no
 * cap; past it a new cursor is 146 ExceededMemoryLimit), and how long a
 * session with cursors may go unused before they end (default 30 minutes). */
void docstore_cursors_configure(docstore_cursors_t *c, int64_t bytes_max,
                                int64_t session_timeout_ms);
/* Closes cursors idle for longer than idle_ms, and those of sessions unused
 * for the session timeout; call from a timer. */
void docstore_cursors_expire(docstore_cursors_t *c, int64_t idle_ms);
/* A connection closed: frees the cursors it opened outside a session, and
 * those of every session no other open connection has used (a session used
 * on two pooled connections keeps its cursors while either is open). */
void docstore_cursors_conn_closed(docstore_cursors_t *c, int64_t conn_id);
/* A command carrying lsid.id uuid ran for user owner on connection conn_id:
 * that session (if it has cursors) is in use there, now. Cheap when no
 * session has cursors. */
void docstore_cursors_session_used(docstore_cursors_t *c, const uint8_t *uuid, int64_t owner,
                                   int64_t conn_id);
/* Bytes held by open cursors (their unsent documents, plus 64 each). */
int64_t docstore_cursors_bytes(const docstore_cursors_t *c);
/* Any user: killAllSessions, or a server without authentication. */
#define DOCSTORE_CURSORS_ANY_OWNER INT64_MIN
/* Frees the cursors opened in the session whose lsid.id is the 16-byte UUID by
 * the user owner (docstore_auth_uid) (endSessions, killSessions): a session is
 * its UUID and its user, as in mongod, so another user's session of the same
 * UUID is left alone. uuid NULL: every session of owner (killSessions []);
 * uuid NULL and DOCSTORE_CURSORS_ANY_OWNER: every cursor (killAllSessions). */
void docstore_cursors_kill_session(docstore_cursors_t *c, const uint8_t *uuid, int64_t owner);
/* refreshSessions: the cursors of that session of owner count as used now
 * (the 10-minute idle expiry restarts). uuid NULL refreshes nothing. */
void docstore_cursors_refresh_session(docstore_cursors_t *c, const uint8_t *uuid, int64_t owner);
/* Open cursors, and cursors closed by idle expiry since start (serverStatus). */
int64_t docstore_cursors_open(const docstore_cursors_t *c);
int64_t docstore_cursors_timed_out(const docstore_cursors_t *c);

/* Appends {cursor: {firstBatch, id, ns}} to reply. Takes the documents of docs
 * (the list is left empty). batch_size < 0 means the default (101 for the
 * first batch); a batch also ends before 16 MiB. When documents remain and
 * !single_batch, they become a cursor owned by ctx->conn's session; else id 0.
 * 0 or -1 with err. */
__attribute__((warn_unused_result)) int docstore_cursor_reply(docstore_ctx_t *ctx, const char *ns,
                                                              docstore_doclist_t *docs,
                                                              int64_t batch_size, bool single_batch,
                                                              bson_t *reply, docstore_error_t *err);

/* A find streamed from storage: no positional projection, not
 * single-batch, a first batch of at least one document, and no sort or a
 * sort an index walk serves (docstore_storage_scan_stream_ordered; so may
 * point to NULL). Reads the first batch now and, when more may follow, keeps
 * a cursor that reads each next batch on getMore from where the last one
 * ended: it holds no documents, only *m, *p and *so (taken: set to NULL) and
 * a docstore_stream_t. The order is the materialized read's (insertion
 * order, _id order for an _id-only access path, or the sort's with ties in
 * insertion order). *served false: a sort no index walk serves (or a
 * collated one), nothing was done, and *m, *p and *so are untouched (the
 * caller reads as before). 0 or -1 with err. */
__attribute__((warn_unused_result)) int
docstore_cursor_stream_find(docstore_ctx_t *ctx, const char *db, const char *coll, const char *ns,
                            const bson_t *filter, docstore_matcher_t **m, docstore_projection_t **p,
                            docstore_sort_t **so, int64_t skip, int64_t limit, int64_t batch_size,
                            bson_t *reply, bool *served /* OUT */, docstore_error_t *err);

#endif
