/*
 * find projections and the $project stage: inclusion, exclusion, _id rules,
 * nested paths, $slice, $elemMatch, and (for $project and find in 4.4+) computed
 * fields given as aggregation expressions (see expr.h).
 */
#ifndef TETHER_DOCSTORE_PROJECT_H
#define TETHER_DOCSTORE_PROJECT_H

#include "docstore/error.h"

#include <bson/bson.h>

typedef struct docstore_projection docstore_projection_t;

/* Compiles spec. Mixing inclusion and exclusion (other than _id) is error 31254
 * "Cannot do exclusion on field x in inclusion projection" as MongoDB says.
 * Returns 0 and *out, or -1 with err. */
__attribute__((warn_unused_result)) int docstore_projection_new(const bson_t *spec,
                                                                docstore_projection_t **out,
                                                                docstore_error_t *err);

/* Writes the projected doc into out (bson_init'd by the caller). 0 or -1. */
__attribute__((warn_unused_result)) int docstore_projection_apply(const docstore_projection_t *p,
                                                                  const bson_t *doc, bson_t *out,
                                                                  docstore_error_t *err);

void docstore_projection_free(docstore_projection_t *p);

#endif
