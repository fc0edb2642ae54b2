/*
 * Collection create options (cmd_coll_options.c): `create`'s capped, size
 * and max checked as MongoDB checks them, and the capped figures collStats
 * reports. Kept apart from cmd_ddl.c so the option rules live in one place.
 */
#ifndef TETHER_DOCSTORE_CMD_COLL_OPTIONS_H
#define TETHER_DOCSTORE_CMD_COLL_OPTIONS_H

#include "docstore/base/error.h"
#include "docstore/query/collation.h"
#include "docstore/storage/storage.h"

#include <bson/bson.h>

/* Reads create's options from cmd into out as the catalog keeps them
 * ({capped: true, size, max} with size rounded as MongoDB rounds it;
 * collation as its full specification, none for "simple"; nothing for a
 * plain collection). 72 InvalidOptions / 14 TypeMismatch / 2 BadValue
 * as MongoDB answers bad ones. 0 or -1. */
__attribute__((warn_unused_result)) int docstore_create_options(const bson_t *cmd, bson_t *out,
                                                                docstore_error_t *err);

/* The collation a command (or one update/delete statement) runs under: its
 * `collation` field, else the collection's default collation (create's
 * `collation` option), else none. *out is NULL for the binary comparison
 * ({locale: "simple"} too); otherwise the caller frees it with
 * docstore_collation_free. 0 or -1 (a bad collation). */
__attribute__((warn_unused_result)) int
docstore_cmd_collation(docstore_storage_t *st, const char *db, const char *coll, const bson_t *cmd,
                       docstore_collation_t **out, docstore_error_t *err);

/* The full specification of c in spec (initialized here) for the storage
 * planner, which compares it with its indexes' collations: spec, or NULL
 * for the simple collation (c NULL; spec then untouched). A non-NULL
 * result is released with bson_destroy(spec). */
const bson_t *docstore_cmd_collation_spec(const docstore_collation_t *c, bson_t *spec);

/* Appends collStats' capped fields (capped, and max/maxSize when capped). */
void docstore_coll_stats_capped(docstore_storage_t *st, const char *db, const char *coll,
                                bson_t *reply);

#endif
