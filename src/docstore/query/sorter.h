/*
 * Blocking sorts with MongoDB's memory bound: documents go in one at a time,
 * come out sorted (stably, in arrival order among equal keys). With a keep
 * count (a sort followed by a limit) only the best `keep` documents are held,
 * so sort + limit over any collection uses memory for `keep` documents. The
 * documents held may total at most a byte budget (MongoDB's
 * internalQueryMaxBlockingSortMemoryUsageBytes, 100 MB): past it the add fails
 * with 292 QueryExceededMemoryLimitNoDiskUseAllowed, as MongoDB's sort does
 * without external sorting. The docstore never sorts on disk.
 */
#ifndef TETHER_DOCSTORE_SORTER_H
#define TETHER_DOCSTORE_SORTER_H

#include "docstore/base/doclist.h"
#include "docstore/base/error.h"
#include "docstore/query/sort.h"

#include <bson/bson.h>
#include <stdbool.h>
#include <stddef.h>

/* MongoDB's default for a blocking sort and for $group: 100 MB. */
#define DOCSTORE_SORT_MEMORY_LIMIT ((size_t)104857600)

/* Bytes a held document is charged: its BSON size plus bookkeeping. */
#define DOCSTORE_SORT_DOC_OVERHEAD 64

/* Which command's wording the 292 error takes. */
typedef enum docstore_sort_origin {
    DOCSTORE_SORT_FIND = 0,      /* find (and findAndModify) */
    DOCSTORE_SORT_AGGREGATE = 1, /* an aggregation $sort */
} docstore_sort_origin_t;

typedef struct docstore_sorter docstore_sorter_t;

/* A sorter by s (borrowed; must outlive the sorter) keeping the first keep
 * documents in order (0: all), holding at most mem_limit bytes. disk_use tells
 * whether the command asked for allowDiskUse: true (only the error's wording
 * changes: the docstore has no external sort). 0 and *out, or -1 with err. */
__attribute__((warn_unused_result)) int
docstore_sorter_new(const docstore_sort_t *s, size_t keep, size_t mem_limit, bool disk_use,
                    docstore_sort_origin_t origin, docstore_sorter_t **out, docstore_error_t *err);

/* Takes doc (a heap bson_t; destroyed on failure). -1 with 292 when the
 * documents held would pass the limit, or InternalError out of memory. */
__attribute__((warn_unused_result)) int docstore_sorter_add(docstore_sorter_t *st, bson_t *doc,
                                                            docstore_error_t *err);

/* false when doc (borrowed) cannot be among the first keep any more: the
 * caller may skip copying it. Always true without a keep. */
bool docstore_sorter_would_keep(const docstore_sorter_t *st, const bson_t *doc);

/* Appends the sorted documents (at most keep) to out; the sorter is then
 * empty. 0 or -1 (out of memory). */
__attribute__((warn_unused_result)) int
docstore_sorter_finish(docstore_sorter_t *st, docstore_doclist_t *out, docstore_error_t *err);

/* Bytes held now, and the most held at once: for tests and diagnostics. */
size_t docstore_sorter_bytes(const docstore_sorter_t *st);
size_t docstore_sorter_peak_bytes(const docstore_sorter_t *st);

void docstore_sorter_free(docstore_sorter_t *st);

/* Sets err to MongoDB's 292 for a blocking stage over mem_limit. what is
 * "Sort" or "$group". */
void docstore_sort_memory_error(docstore_error_t *err, const char *what, size_t mem_limit,
                                bool disk_use, docstore_sort_origin_t origin);

#endif
