/*
 * Aggregation pipelines: $match $project $addFields/$set $unset $sort $skip
 * $limit $count $group ($sum $avg $min $max $first $last $push $addToSet)
 * $unwind $lookup (equality, let/pipeline, or both) $replaceRoot/$replaceWith. Stages run over
 * materialized document lists; $lookup reads other collections through a
 * callback, so the pipeline knows nothing of storage.
 */
#ifndef TETHER_DOCSTORE_PIPELINE_H
#define TETHER_DOCSTORE_PIPELINE_H

#include "docstore/base/doclist.h"
#include "docstore/base/error.h"
#include "docstore/query/sort.h"

#include <bson/bson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct docstore_pipeline docstore_pipeline_t;

/* Fills out with every document of collection coll (same database). 0 or -1. */
typedef int (*docstore_collection_reader_fn)(void *ctx, const char *coll, docstore_doclist_t *out,
                                             docstore_error_t *err);

/* Compiles pipeline (an array document). An unknown stage is error 40324
 * "Unrecognized pipeline stage name: '$foo'"; $out/$merge are NotImplemented.
 * 0 and *out, or -1. */
__attribute__((warn_unused_result)) int docstore_pipeline_new(const bson_t *pipeline,
                                                              docstore_pipeline_t **out,
                                                              docstore_error_t *err);

/* The filter of a leading $match stage (borrowed), or NULL: the caller may use
 * it to narrow its scan through an index. The pipeline still applies it. */
const bson_t *docstore_pipeline_leading_match(const docstore_pipeline_t *p);

/* Runs the pipeline. docs is the input and becomes the output: the list's
 * documents are consumed and replaced. 0 or -1 with err (docs then empty). */
__attribute__((warn_unused_result)) int docstore_pipeline_run(const docstore_pipeline_t *p,
                                                              docstore_doclist_t *docs,
                                                              docstore_collection_reader_fn reader,
                                                              void *reader_ctx,
                                                              docstore_error_t *err);

/* When the pipeline starts with [$match] $sort: that sort (borrowed), and in
 * *keep how many of its first documents the stages after it can use (a
 * $limit, or $skip + $limit, right after it; 0: all). The caller may then
 * read the input already matched, sorted and cut to *keep, and run the rest
 * with docstore_pipeline_run_sorted. NULL otherwise. */
const docstore_sort_t *docstore_pipeline_leading_sort(const docstore_pipeline_t *p,
                                                      size_t *keep /* OUT */);

/* docstore_pipeline_run without the leading $sort: docs arrive sorted. */
__attribute__((warn_unused_result)) int
docstore_pipeline_run_sorted(const docstore_pipeline_t *p, docstore_doclist_t *docs,
                             docstore_collection_reader_fn reader, void *reader_ctx,
                             docstore_error_t *err);

/* allowDiskUse: true was asked. The docstore never spills to disk; this only
 * words the 292 error of a $sort or $group past 100 MB. Default false. */
void docstore_pipeline_set_disk_use(docstore_pipeline_t *p, bool disk_use);

/* Makes every $match and $sort (sub-pipelines included) compare strings
 * under coll (borrowed: it must outlive p), as aggregate's collation. */
void docstore_pipeline_set_collation(docstore_pipeline_t *p, const docstore_collation_t *coll);

/* Bytes one blocking $sort or $group may hold (default 100 MB, MongoDB's);
 * for tests. Stages inside $facet and $unionWith keep the default. */
void docstore_pipeline_set_memory_limit(docstore_pipeline_t *p, size_t bytes);

void docstore_pipeline_free(docstore_pipeline_t *p);

#endif
