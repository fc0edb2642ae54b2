/*
 * BSON values as MongoDB orders and reaches them: the cross-type comparison
 * order (MinKey < null < numbers < strings < objects < arrays < binData <
 * ObjectId < bool < date < timestamp < regex < MaxKey), numeric comparison
 * across int32/int64/double/decimal128, and dotted-path lookup. The matcher,
 * sort, update and aggregation engines all compare through here.
 */
#ifndef TETHER_DOCSTORE_VALUE_H
#define TETHER_DOCSTORE_VALUE_H

#include "docstore/query/collation.h"

#include <bson/bson.h>
#include <stdbool.h>

/* The rank of a type in MongoDB's comparison order; numbers share one rank,
 * as do string and symbol, and null and undefined. */
int docstore_type_rank(bson_type_t t);

/* Compares as MongoDB sorts: <0, 0, >0. Documents and arrays compare field by
 * field (name then value); strings by binary order (no collation). */
int docstore_value_compare(const bson_value_t *a, const bson_value_t *b);

/* docstore_value_compare with strings (also inside documents and arrays)
 * compared under the collation coll (NULL: by bytes). */
int docstore_value_compare_coll(const bson_value_t *a, const bson_value_t *b,
                                const docstore_collation_t *coll);

/* docstore_value_compare(a, b) == 0. */
bool docstore_value_equal(const bson_value_t *a, const bson_value_t *b);

/* Compares whole documents as MongoDB does for equality and sort of objects. */
int docstore_doc_compare(const bson_t *a, const bson_t *b);

/* Follows a dotted path ("a.b.2.c") through embedded documents and, where a
 * component is a non-negative integer, into arrays by index; no implicit array
 * traversal. On success *out is positioned on the value (borrowed from doc). */
bool docstore_path_get(const bson_t *doc, const char *path, bson_iter_t *out /* OUT */);

/* A dotted path's component s[0..len) as an array index: canonical decimal
 * digits (no leading zero, at most 9 digits), else -1. */
int docstore_path_part_index(const char *s, int len);

/* A running $sum, as $group's $sum/$avg/$count and the expression forms of
 * $sum/$avg add (mongod's AccumulatorSum): integers stay int32, then int64,
 * while the sum fits, and widen to double on a double or an int64 overflow;
 * decimal128 operands add up apart, exactly, and a decimal seen makes the
 * result the decimal total plus the other numbers' total (docstore_sum_result).
 * Zero-initialise. */
typedef struct docstore_sum {
    int kind;              /* 0 int32, 1 int64, 2 double: the non-decimal total */
    int64_t i;             /* the integer sum while kind < 2 */
    double d;              /* the sum once kind == 2 */
    bool has_dec;          /* a decimal128 was added */
    bson_decimal128_t dec; /* the decimal total, once has_dec */
} docstore_sum_t;

/* Adds the number v. x is v as a double (ignored for a decimal128). */
void docstore_sum_add(docstore_sum_t *s, const bson_value_t *v, double x);

/* The sum as mongod returns it: int32, int64, double or decimal128. */
void docstore_sum_result(const docstore_sum_t *s, bson_value_t *out /* OUT */);

/* The average of count numbers summed in s (count > 0): a double, or a
 * decimal128 when a decimal was added. */
void docstore_sum_avg(const docstore_sum_t *s, int64_t count, bson_value_t *out /* OUT */);

/* The numeric value as a double; false if v is not a number. */
bool docstore_value_as_double(const bson_value_t *v, double *out /* OUT */);

/* The BSON type alias MongoDB uses in $type and error messages ("double",
 * "string", "object", "array", "objectId", "bool", "null", "int", "long", ...). */
const char *docstore_type_name(bson_type_t t);

#endif
