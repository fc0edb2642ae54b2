/*
 * explain (cmd_explain.c): the `explain` command, and aggregate's
 * `explain: true`, answered with MongoDB's queryPlanner/executionStats
 * documents built from the storage planner's choice.
 */
#ifndef TETHER_DOCSTORE_CMD_EXPLAIN_H
#define TETHER_DOCSTORE_CMD_EXPLAIN_H

#include "docstore/cmd/command.h"

/* The explain command's table: {"explain"}. */
extern const docstore_command_t docstore_explain_commands[];

/* Explains the aggregate command inner (its `explain` field is ignored);
 * outer is the explain command carrying `verbosity`, or NULL (aggregate's
 * own explain: true, which is queryPlanner). Appends MongoDB's explain
 * fields to reply. 0 or -1. */
__attribute__((warn_unused_result)) int
docstore_explain_aggregate(docstore_ctx_t *ctx, const char *db, const bson_t *inner,
                           const bson_t *outer, bson_t *reply, docstore_error_t *err);

#endif
