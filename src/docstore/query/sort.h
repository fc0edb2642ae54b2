/*
 * Sort specifications ({a: 1, "b.c": -1}) compared as MongoDB sorts: missing
 * sorts as null, an array field sorts by its smallest element ascending and its
 * largest descending, values of different types by the type order (value.h).
 */
#ifndef TETHER_DOCSTORE_SORT_H
#define TETHER_DOCSTORE_SORT_H

#include "docstore/base/error.h"
#include "docstore/query/collation.h"

#include <bson/bson.h>
#include <stddef.h>

typedef struct docstore_sort docstore_sort_t;

/* Compiles spec; each value must be 1 or -1 (or {$meta} → NotImplemented).
 * Returns 0 and *out, or -1 with err (BadValue). */
__attribute__((warn_unused_result)) int docstore_sort_new(const bson_t *spec,
                                                          docstore_sort_t **out,
                                                          docstore_error_t *err);

int docstore_sort_compare(const docstore_sort_t *s, const bson_t *a, const bson_t *b);

/* Sorts docs in place, stably. */
void docstore_sort_docs(const docstore_sort_t *s, bson_t **docs, size_t n);

/* The fields of a sort, in order: the dotted path (borrowed from s) and the
 * direction (1 or -1) of field i < docstore_sort_nfields(s). */
size_t docstore_sort_nfields(const docstore_sort_t *s);
const char *docstore_sort_field(const docstore_sort_t *s, size_t i, int *dir /* OUT */);

/* Makes string keys compare under coll (borrowed: it must outlive s; NULL:
 * by bytes, the default), as a command's collation. */
void docstore_sort_set_collation(docstore_sort_t *s, const docstore_collation_t *coll);
/* The collation set on s, or NULL. An index (binary keys) serves only a
 * sort without one. */
const docstore_collation_t *docstore_sort_collation(const docstore_sort_t *s);

void docstore_sort_free(docstore_sort_t *s);

#endif
