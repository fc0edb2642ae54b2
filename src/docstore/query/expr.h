/*
 * Aggregation expressions: field paths ("$a.b"), variables ("$$ROOT",
 * "$$CURRENT", "$$REMOVE", $let/$map names), literals, expression objects and
 * arrays, and operators ($add $subtract $multiply $divide $mod $eq $ne $gt $gte
 * $lt $lte $cmp $and $or $not $cond $ifNull $concat $toUpper $toLower $substr
 * $size $arrayElemAt $in $literal $type $toString ...). Used by $expr in the
 * matcher, computed projections, $group keys and accumulators, $addFields.
 */
#ifndef TETHER_DOCSTORE_EXPR_H
#define TETHER_DOCSTORE_EXPR_H

#include "docstore/base/error.h"

#include <bson/bson.h>
#include <stdbool.h>

typedef struct docstore_expr docstore_expr_t;
typedef struct docstore_collation docstore_collation_t; /* query/collation.h */

/* Compiles the expression spec (copied). An unknown operator is error 168
 * InvalidPipelineOperator "Unrecognized expression '$foo'". 0 and *out, or -1. */
__attribute__((warn_unused_result)) int docstore_expr_new(const bson_value_t *spec,
                                                          docstore_expr_t **out,
                                                          docstore_error_t *err);

/* Evaluates e against doc ($$ROOT and $$CURRENT). vars (may be NULL) binds more
 * variables by name ({"x": 1} is $$x). *out is owned by the caller (free it
 * with bson_value_destroy); a missing value has value_type BSON_TYPE_EOD.
 * 0, or -1 with err (e.g. $add of a string: TypeMismatch-style 16554). */
__attribute__((warn_unused_result)) int docstore_expr_eval(const docstore_expr_t *e,
                                                           const bson_t *doc, const bson_t *vars,
                                                           bson_value_t *out /* OUT */,
                                                           docstore_error_t *err);

void docstore_expr_free(docstore_expr_t *e);

/* The collation comparisons inside expressions run under on this thread
 * ($eq $ne $gt $gte $lt $lte $cmp, $in, $indexOfArray, $min/$max, the set
 * operators), as MongoDB applies an aggregate's collation to them: set by
 * the aggregate around its run (NULL: binary) and put back after, like the
 * ambient deadline (base/deadline.h); returns the previous one. c is
 * borrowed for as long as it is set. */
const docstore_collation_t *docstore_expr_set_collation(const docstore_collation_t *c);
/* The collation set by docstore_expr_set_collation (NULL: binary). */
const docstore_collation_t *docstore_expr_collation(void);

/* Truthiness as $cond and $expr see it: false, null, missing, undefined and 0
 * are false; everything else (including "" and []) is true. */
bool docstore_value_truthy(const bson_value_t *v);

#endif
