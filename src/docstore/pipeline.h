/*
 * Aggregation pipelines: $match $project $addFields/$set $unset $sort $skip
 * $limit $count $group ($sum $avg $min $max $first $last $push $addToSet)
 * $unwind $lookup (equality form) $replaceRoot/$replaceWith. Stages run over
 * materialized document lists; $lookup reads other collections through a
 * callback, so the pipeline knows nothing of storage.
 */
#ifndef TETHER_DOCSTORE_PIPELINE_H
#define TETHER_DOCSTORE_PIPELINE_H

#include "docstore/doclist.h"
#include "docstore/error.h"

#include <bson/bson.h>

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

void docstore_pipeline_free(docstore_pipeline_t *p);

#endif
