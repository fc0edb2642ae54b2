/*
 * The query matcher: compiles a MongoDB filter document once, then tests
 * documents against it with MongoDB's semantics (implicit array traversal on
 * dotted paths, null matching missing, type bracketing of comparisons).
 * Operators: $eq $ne $gt $gte $lt $lte $in $nin $and $or $nor $not $exists
 * $type $regex $options $size $all $elemMatch $mod $expr $comment.
 */
#ifndef TETHER_DOCSTORE_MATCH_H
#define TETHER_DOCSTORE_MATCH_H

#include "docstore/base/error.h"
#include "docstore/query/collation.h"

#include <bson/bson.h>
#include <stdbool.h>

typedef struct docstore_matcher docstore_matcher_t;

/* Compiles filter (copied; the caller keeps ownership). An unknown operator is
 * BadValue "unknown operator: $foo"; a bad $regex is BadValue too. Returns 0
 * and *out, or -1 with err set. */
__attribute__((warn_unused_result)) int
docstore_matcher_new(const bson_t *filter, docstore_matcher_t **out, docstore_error_t *err);

/* Does doc match? array_pos (may be NULL) receives the index of the array
 * element that satisfied the first array-traversing predicate, for the
 * positional $ update/projection operator, or -1 when none did. */
bool docstore_matcher_matches(const docstore_matcher_t *m, const bson_t *doc,
                              int32_t *array_pos /* OUT, may be NULL */);

/* As docstore_matcher_matches, with user variables (a $lookup's let: {"x":
 * v} is $$x) visible to the filter's $expr. vars may be NULL. */
bool docstore_matcher_matches_vars(const docstore_matcher_t *m, const bson_t *doc,
                                   const bson_t *vars, int32_t *array_pos /* OUT, may be NULL */);

/* Makes the filter compare strings under coll (borrowed: it must outlive
 * the matcher; NULL: by bytes, the default), as a command's collation. */
void docstore_matcher_set_collation(docstore_matcher_t *m, const docstore_collation_t *coll);
/* The collation set on m, or NULL. An index (binary keys) narrows the scan
 * only for a matcher without one. */
const docstore_collation_t *docstore_matcher_collation(const docstore_matcher_t *m);

/* 0 when every regex of the filter could be evaluated so far; -1 with err
 * set (Location51156, as mongod's regex operators) once one hit a PCRE2
 * match or depth limit: the results of docstore_matcher_matches since then
 * are not answers, and the caller fails the operation. */
__attribute__((warn_unused_result)) int docstore_matcher_status(const docstore_matcher_t *m,
                                                                docstore_error_t *err);

/* True when the filter is empty (matches everything). */
bool docstore_matcher_is_empty(const docstore_matcher_t *m);

void docstore_matcher_free(docstore_matcher_t *m);

#endif
