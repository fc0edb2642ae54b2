/*
 * find projections and the $project stage: inclusion, exclusion, _id rules,
 * nested paths, $slice, $elemMatch, and (for $project and find in 4.4+) computed
 * fields given as aggregation expressions (see expr.h).
 */
#ifndef TETHER_DOCSTORE_PROJECT_H
#define TETHER_DOCSTORE_PROJECT_H

#include "docstore/base/error.h"

#include <bson/bson.h>
#include <stdbool.h>

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

/* As docstore_projection_apply, for a projection with a positional "field.$":
 * array_pos is the index docstore_matcher_matches reported for the query
 * filter. A positional projection with no matching element is error 51246. */
__attribute__((warn_unused_result)) int
docstore_projection_apply_positional(const docstore_projection_t *p, const bson_t *doc,
                                     int32_t array_pos, bson_t *out, docstore_error_t *err);

/* As docstore_projection_apply, with user variables (a $lookup's let:
 * {"x": v} is $$x) visible to computed fields. vars may be NULL. */
__attribute__((warn_unused_result)) int
docstore_projection_apply_vars(const docstore_projection_t *p, const bson_t *doc,
                               const bson_t *vars, bson_t *out, docstore_error_t *err);

/* True when the projection has a "field.$" (it needs the query's array_pos). */
bool docstore_projection_is_positional(const docstore_projection_t *p);

void docstore_projection_free(docstore_projection_t *p);

#endif
