/*
 * Internals shared by pipeline.c (stage parsing and the simple stages),
 * pipeline_group.c ($group and its accumulators) and pipeline_fields.c
 * (setting and removing dotted paths for $addFields/$unset/$unwind/$lookup,
 * and the value hash that groups and lookups use).
 */
#ifndef TETHER_DOCSTORE_PIPELINE_INTERNAL_H
#define TETHER_DOCSTORE_PIPELINE_INTERNAL_H

#include "docstore/base/doclist.h"
#include "docstore/base/error.h"
#include "docstore/query/expr.h"
#include "docstore/base/mdoc.h"
#include "docstore/agg/pipeline.h"
#include "docstore/query/match.h"

#include <bson/bson.h>
#include <stdbool.h>
#include <stdint.h>

typedef enum pipe_acc_op {
    ACC_SUM = 0,        /* $sum */
    ACC_AVG = 1,        /* $avg */
    ACC_MIN = 2,        /* $min */
    ACC_MAX = 3,        /* $max */
    ACC_FIRST = 4,      /* $first */
    ACC_LAST = 5,       /* $last */
    ACC_PUSH = 6,       /* $push */
    ACC_ADD_TO_SET = 7, /* $addToSet */
    ACC_COUNT = 8,      /* $count: {} */
    ACC_MERGE = 9,      /* $mergeObjects */
} pipe_acc_op_t;

typedef struct pipe_group {
    docstore_expr_t *id;     /* the group key expression */
    size_t n;                /* accumulators */
    char **names;            /* output field per accumulator */
    pipe_acc_op_t *ops;
    docstore_expr_t **exprs; /* operand per accumulator (NULL for $count) */
} pipe_group_t;

int pipe_group_parse(const bson_t *spec, pipe_group_t *g, docstore_error_t *err);
void pipe_group_free(pipe_group_t *g);
/* Replaces docs with one document per group. 0 or -1 (docs then emptied);
 * 292 when the groups' state passes mem_limit bytes (disk_use: allowDiskUse
 * was asked, which only changes the message). vars: user variables of an
 * enclosing $lookup's let, or NULL. coll: the aggregate's collation (keys
 * equal under it group together; the first one seen is the _id), or NULL. */
int pipe_group_run(const pipe_group_t *g, docstore_doclist_t *docs, size_t mem_limit, bool disk_use,
                   const bson_t *vars, const docstore_collation_t *coll, docstore_error_t *err);

/* A $lookup stage: the equality form (localField/foreignField), the
 * correlated form (let/pipeline), or both (the equality join, then the
 * pipeline over the matches, as MongoDB 5.0+). */
typedef struct pipe_lookup {
    char *from;                    /* the foreign collection */
    char *as;                      /* output array field */
    char *local, *foreign;         /* localField/foreignField, or both NULL */
    docstore_expr_t *local_e;      /* "$<localField>", NULL without it */
    docstore_expr_t *foreign_e;    /* "$<foreignField>", NULL without it */
    size_t nlet;                   /* let variables */
    char **let_names;              /* their names */
    docstore_expr_t **let_exprs;   /* their expressions, read against the input document */
    docstore_pipeline_t *pipeline; /* the sub-pipeline, or NULL */
    docstore_expr_t *probe_path;   /* the sub-pipeline starts with {$match: {$expr: {$eq:
                                      ["$path", "$$var"]}}}: "$path", else NULL */
    size_t probe_var;              /* that var's index in let_names */
} pipe_lookup_t;

/* Parses {$lookup: v} into l (zeroed by the caller). 0 or -1. */
int pipe_lookup_parse(const bson_value_t *v, pipe_lookup_t *l, docstore_error_t *err);
void pipe_lookup_free(pipe_lookup_t *l);
/* Appends to out one document per input document, with the matching (and,
 * with a pipeline, transformed) foreign documents in an array at l->as.
 * vars: the user variables of an enclosing $lookup (visible, under the
 * stage's own let, to a nested one), or NULL. */
int pipe_lookup_run(const pipe_lookup_t *l, docstore_doclist_t *docs, docstore_doclist_t *out,
                    docstore_collection_reader_fn reader, void *reader_ctx, const bson_t *vars,
                    docstore_error_t *err);

/* Compiles a sub-pipeline of $facet, $unionWith or $lookup (owner names the
 * stage in errors); $out and $merge (and $facet inside $facet) are refused. */
int pipe_parse_sub(const bson_value_t *v, const char *owner, docstore_pipeline_t **out,
                   docstore_error_t *err);
/* The compiled filter of p's leading $match, or NULL. */
const docstore_matcher_t *pipe_leading_matcher(const docstore_pipeline_t *p);
/* Runs p's stages from stage `from` on, with user variables vars (may be
 * NULL) visible to every expression and $expr. As docstore_pipeline_run. */
int pipe_run_vars(const docstore_pipeline_t *p, size_t from, docstore_doclist_t *docs,
                  docstore_collection_reader_fn reader, void *reader_ctx, const bson_t *vars,
                  docstore_error_t *err);

/* A hash consistent with docstore_value_equal: equal values hash alike
 * (1, 1.0 and 1L too; null, undefined and missing alike). */
uint64_t pipe_value_hash(const bson_value_t *v);

/* Sets value (NULL or EOD: removes) at a dotted path below root, creating
 * documents and descending into every document of an array on the way, as
 * $addFields does. false when out of memory or too deep. */
bool pipe_path_set(docstore_mnode_t *root, const char *path, const bson_value_t *value);
/* Removes a dotted path below root, through arrays of documents. */
void pipe_path_unset(docstore_mnode_t *root, const char *path);

#endif
