/*
 * Collations (MongoDB's `collation` option): string comparison by ICU's
 * collator for a locale, strength 1-5, caseLevel, caseFirst,
 * numericOrdering, alternate, maxVariable, normalization and backwards.
 * `{locale: "simple"}` is the binary comparison and compiles to NULL, which
 * every compare function reads as "by bytes".
 */
#ifndef TETHER_DOCSTORE_COLLATION_H
#define TETHER_DOCSTORE_COLLATION_H

#include "common/buf.h"
#include "docstore/base/error.h"

#include <bson/bson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct docstore_collation docstore_collation_t;

/* Compiles a collation document. *out is NULL for {locale: "simple"}. A
 * missing locale is 40414, an unknown field 40415, a bad value 2 BadValue,
 * a locale ICU does not know 2 BadValue; ICU that cannot be loaded is 238.
 * 0 or -1. */
__attribute__((warn_unused_result)) int
docstore_collation_new(const bson_t *spec, docstore_collation_t **out, docstore_error_t *err);

/* Compares two UTF-8 strings under c (NULL: by bytes): <0, 0, >0. */
int docstore_collation_compare(const docstore_collation_t *c, const char *a, size_t alen,
                               const char *b, size_t blen);

/* Appends to out the ICU sort key of the UTF-8 string s[0..len) under c
 * (not NULL), without its ending 0x00 (the only zero byte of a key): two
 * keys compare by memcmp as the strings do under c. 0 or -1 (out of
 * memory, invalid UTF-8, a string past 16 MiB). */
__attribute__((warn_unused_result)) int
docstore_collation_sort_key(const docstore_collation_t *c, const char *s, size_t len, buf_t *out);

/* A copy of v (owned: bson_value_destroy) in which every string, also
 * inside documents and arrays, is replaced by its ICU sort key as binData:
 * two values are equal under c exactly when their normalized copies are
 * equal by bytes, so hashing and deduplication can work on them. c NULL: a
 * plain copy. 0 or -1. */
__attribute__((warn_unused_result)) int
docstore_collation_normalize(const docstore_collation_t *c, const bson_value_t *v,
                             bson_value_t *out /* OUT */, docstore_error_t *err);

/* Appends the collation's full specification, as MongoDB reports it
 * (listCollections, explain): {locale, caseLevel, caseFirst, strength,
 * numericOrdering, alternate, maxVariable, normalization, backwards,
 * version}. */
void docstore_collation_append_spec(const docstore_collation_t *c, bson_t *out);

/* Whether two collations compare alike (both NULL, or the same spec). */
bool docstore_collation_same(const docstore_collation_t *a, const docstore_collation_t *b);

void docstore_collation_free(docstore_collation_t *c);

#endif
