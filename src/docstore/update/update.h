/*
 * Update documents: replacement, or operators $set $unset $inc $mul $min $max
 * $rename $setOnInsert $currentDate $push ($each $slice $sort $position)
 * $addToSet ($each) $pop $pull $pullAll, with positional $, $[] and
 * $[identifier] (arrayFilters). Also builds an upsert's seed document.
 */
#ifndef TETHER_DOCSTORE_UPDATE_H
#define TETHER_DOCSTORE_UPDATE_H

#include "docstore/base/error.h"

#include <bson/bson.h>
#include <stdbool.h>

typedef struct docstore_update docstore_update_t;

/* Compiles spec: an operator document, a replacement document (no $ keys), or
 * an aggregation pipeline (array document) where supported. array_filters may
 * be NULL. Errors: FailedToParse (9) for unknown operators ("Unknown modifier:
 * $foo"), ConflictingUpdateOperators (40) for two ops on one path. 0 or -1. */
__attribute__((warn_unused_result)) int docstore_update_new(const bson_t *spec,
                                                            const bson_t *array_filters,
                                                            docstore_update_t **out,
                                                            docstore_error_t *err);

bool docstore_update_is_replacement(const docstore_update_t *u);

/* Applies u to doc into out (bson_init'd by the caller). matched_pos is the
 * positional-$ index from the matcher (-1: none; using $ then fails with
 * BadValue 2 "The positional operator did not find the match needed from the
 * query."). is_insert: building an upsert's new document ($setOnInsert applies).
 * _id is kept; changing it is ImmutableField (66). *changed tells whether out
 * differs from doc. 0 or -1 with err. */
__attribute__((warn_unused_result)) int docstore_update_apply(const docstore_update_t *u,
                                                              const bson_t *doc,
                                                              int32_t matched_pos, bool is_insert,
                                                              bson_t *out, bool *changed /* OUT */,
                                                              docstore_error_t *err);

/* The document an upsert starts from: the equality conditions of filter
 * ({a: 1}, {a: {$eq: 1}}, {"b.c": 2}, inside $and), as MongoDB builds it.
 * out is bson_init'd by the caller. 0 or -1. */
__attribute__((warn_unused_result)) int docstore_update_upsert_seed(const bson_t *filter,
                                                                    bson_t *out,
                                                                    docstore_error_t *err);

void docstore_update_free(docstore_update_t *u);

#endif
