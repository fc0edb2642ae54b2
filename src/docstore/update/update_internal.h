/*
 * Internals shared by update.c (compiling an update, replacement, upsert seed)
 * and update_apply.c (walking paths and running each operator on a mutable
 * document). Not for other modules.
 */
#ifndef TETHER_DOCSTORE_UPDATE_INTERNAL_H
#define TETHER_DOCSTORE_UPDATE_INTERNAL_H

#include "docstore/base/error.h"
#include "docstore/query/match.h"
#include "docstore/base/mdoc.h"
#include "docstore/agg/pipeline.h"
#include "docstore/query/sort.h"
#include "docstore/update/update.h"

#include <bson/bson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The element key $pull and array filters wrap a bare value in for the matcher. */
#define UPD_PULL_KEY "__tether_pull"

typedef enum upd_op {
    UPD_SET = 0,           /* $set */
    UPD_UNSET = 1,         /* $unset */
    UPD_INC = 2,           /* $inc */
    UPD_MUL = 3,           /* $mul */
    UPD_MIN = 4,           /* $min */
    UPD_MAX = 5,           /* $max */
    UPD_RENAME = 6,        /* $rename: path is the destination, from the source */
    UPD_SET_ON_INSERT = 7, /* $setOnInsert */
    UPD_CURRENT_DATE = 8,  /* $currentDate */
    UPD_PUSH = 9,          /* $push */
    UPD_ADD_TO_SET = 10,   /* $addToSet */
    UPD_POP = 11,          /* $pop */
    UPD_PULL = 12,         /* $pull */
    UPD_PULL_ALL = 13,     /* $pullAll */
} upd_op_t;

typedef struct upd_item {
    upd_op_t op;
    size_t order;       /* position in the update document, for messages */
    char *path;         /* target path as written */
    char **comps;       /* path split at dots */
    size_t ncomps;
    bool positional;    /* path holds $, $[] or $[id] */
    bson_value_t arg;   /* the operator's argument (owned) */
    char *from;         /* $rename source */
    char **from_comps;  /* $rename source split */
    size_t nfrom;
    bool each;          /* $push/$addToSet with $each */
    bool has_position;  /* $push $position given */
    int64_t position;   /* $push $position */
    bool has_slice;     /* $push $slice given */
    int64_t slice;      /* $push $slice */
    int sort_dir;       /* $push $sort: 1/-1 on whole elements, 0 none */
    docstore_sort_t *sort; /* $push $sort on embedded fields, or NULL */
    bool pop_first;     /* $pop -1 */
    bool timestamp;     /* $currentDate {$type: "timestamp"} */
    docstore_matcher_t *pull_matcher; /* $pull condition, or NULL for equality */
    bool pull_wrap;     /* pull_matcher expects elements wrapped as {UPD_PULL_KEY: e} */
} upd_item_t;

typedef struct upd_filter {
    char *id;               /* identifier in $[id] */
    docstore_matcher_t *m;  /* tested against {id: element} */
    bool used;              /* some path names it */
} upd_filter_t;

struct docstore_update {
    bool replacement;     /* replacement document instead of operators */
    bson_t *repl;         /* the replacement (owned), or NULL */
    docstore_pipeline_t *pipeline; /* pipeline-style update, or NULL */
    upd_item_t *items;    /* operator items, sorted by path */
    size_t n;
    upd_filter_t *filters; /* arrayFilters */
    size_t nfilters;
};

typedef struct upd_ctx {
    const docstore_update_t *u;
    docstore_mnode_t *root;   /* the document being updated */
    int32_t matched_pos;      /* positional $ index, -1 when none */
    bool is_insert;           /* building an upsert's document */
    int64_t now_ms;           /* $currentDate's time, the same for every field */
    uint32_t now_s;
    docstore_error_t *err;
} upd_ctx_t;

int update_split_path(const char *path, char ***out, size_t *n, docstore_error_t *err);
void update_fmt_value(const bson_value_t *v, char *buf, size_t size);
void update_ctx_init_time(upd_ctx_t *ctx);
int update_apply_item(upd_ctx_t *ctx, const upd_item_t *it);

#endif
