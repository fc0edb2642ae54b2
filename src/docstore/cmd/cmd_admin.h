/*
 * What the admin commands share with other command modules: the currentOp
 * entries, so an aggregate on admin whose first stage is $currentOp can feed
 * the same documents into the rest of its pipeline.
 */
#ifndef TETHER_DOCSTORE_CMD_ADMIN_H
#define TETHER_DOCSTORE_CMD_ADMIN_H

#include "docstore/cmd/command.h"
#include "docstore/base/doclist.h"

#include <stdbool.h>

/* Appends one currentOp entry per connection to out: every connection when
 * idle_connections ($all: true, or $currentOp's idleConnections), else only
 * those running a command. all_users (currentOp without $ownOps, $currentOp's
 * allUsers) lists every user's connections and under --auth needs
 * clusterMonitor or root (else 13); otherwise only the caller's user's. 0, or
 * -1 with err. */
__attribute__((warn_unused_result)) int docstore_admin_current_op(docstore_ctx_t *ctx,
                                                                  bool idle_connections,
                                                                  bool all_users,
                                                                  docstore_doclist_t *out,
                                                                  docstore_error_t *err);

#endif
