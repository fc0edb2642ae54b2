/*
 * Aggregation pipelines (see pipeline.h): each stage is compiled once, then
 * run over a materialized document list, turning it into the next list.
 * $match, $project and $sort delegate to the matcher, projection and sort
 * modules; $group is in pipeline_group.c; $addFields/$unset/$unwind/$lookup
 * edit documents through the mutable tree (mdoc.h, pipeline_fields.c).
 * $sortByCount compiles into a $group and a $sort.
 */
#include "docstore/agg/pipeline.h"

#include "docstore/query/match.h"
#include "docstore/agg/pipeline_internal.h"
#include "docstore/base/deadline.h"
#include "docstore/query/project.h"
#include "docstore/query/sort.h"
#include "docstore/query/sorter.h"
#include "docstore/query/value.h"

#include <stdlib.h>
#include <string.h>

typedef enum stage_kind {
    ST_MATCH = 0,         /* $match */
    ST_PROJECT = 1,       /* $project */
    ST_ADD_FIELDS = 2,    /* $addFields / $set */
    ST_UNSET = 3,         /* $unset */
    ST_SORT = 4,          /* $sort */
    ST_SKIP = 5,          /* $skip */
    ST_LIMIT = 6,         /* $limit */
    ST_COUNT = 7,         /* $count */
    ST_GROUP = 8,         /* $group (and the first half of $sortByCount) */
    ST_UNWIND = 9,        /* $unwind */
    ST_LOOKUP = 10,       /* $lookup */
    ST_REPLACE_ROOT = 11, /* $replaceRoot / $replaceWith */
    ST_FACET = 12,        /* $facet */
    ST_SAMPLE = 13,       /* $sample */
    ST_UNION_WITH = 14,   /* $unionWith */
} stage_kind_t;

typedef struct stage {
    stage_kind_t kind;
    bson_t *filter;              /* $match: the filter (owned copy) */
    docstore_matcher_t *matcher; /* $match */
    docstore_projection_t *proj; /* $project */
    docstore_sort_t *sort;       /* $sort */
    int64_t num;                 /* $skip / $limit */
    size_t n;                    /* $addFields / $unset: fields */
    char **paths;                /* $addFields / $unset: dotted paths; $count: [0] name */
    docstore_expr_t **exprs;     /* $addFields values; $replaceRoot: [0] */
    pipe_group_t group;          /* $group */
    char *path;                  /* $unwind path (without $) */
    char *index_field;           /* $unwind includeArrayIndex, or NULL */
    bool preserve;               /* $unwind preserveNullAndEmptyArrays */
    char *from;                  /* $unionWith coll */
    pipe_lookup_t lookup;        /* $lookup */
    docstore_pipeline_t **subs;  /* $facet pipelines (names in paths); $unionWith: [0] */
} stage_t;

struct docstore_pipeline {
    stage_t *stages;
    size_t n;
    bool disk_use; /* allowDiskUse: true was asked (wording of 292 only) */
    const docstore_collation_t *coll; /* the aggregate's collation ($group keys), or NULL */
    size_t mem_limit; /* bytes a blocking $sort or $group may hold */
};

static void stage_free(stage_t *s)
{
    if (s->filter != NULL)
        bson_destroy(s->filter);
    docstore_matcher_free(s->matcher);
    docstore_projection_free(s->proj);
    docstore_sort_free(s->sort);
    for (size_t i = 0; i < s->n; i++) {
        if (s->paths != NULL)
            free(s->paths[i]);
        if (s->exprs != NULL)
            docstore_expr_free(s->exprs[i]);
    }
    free(s->paths);
    free(s->exprs);
    pipe_group_free(&s->group);
    free(s->path);
    free(s->index_field);
    free(s->from);
    pipe_lookup_free(&s->lookup);
    if (s->subs != NULL) {
        for (size_t i = 0; i < s->n; i++)
            docstore_pipeline_free(s->subs[i]);
        free(s->subs);
    }
}

void docstore_pipeline_free(docstore_pipeline_t *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->n; i++)
        stage_free(&p->stages[i]);
    free(p->stages);
    free(p);
}

const bson_t *docstore_pipeline_leading_match(const docstore_pipeline_t *p)
{
    if (p == NULL || p->n == 0 || p->stages[0].kind != ST_MATCH)
        return NULL;
    return p->stages[0].filter;
}

/* How many sorted documents the stages after stage i (a $sort) use: n for a
 * following {$limit: n}, s + n for {$skip: s}, {$limit: n}; 0 for all. This
 * is MongoDB's $sort + $limit coalescence: a top-k sort. */
static size_t sort_keep(const docstore_pipeline_t *p, size_t i)
{
    if (i + 1 < p->n && p->stages[i + 1].kind == ST_LIMIT)
        return (size_t)p->stages[i + 1].num;
    if (i + 2 < p->n && p->stages[i + 1].kind == ST_SKIP && p->stages[i + 2].kind == ST_LIMIT &&
        p->stages[i + 1].num <= INT64_MAX - p->stages[i + 2].num)
        return (size_t)(p->stages[i + 1].num + p->stages[i + 2].num);
    return 0;
}

const docstore_sort_t *docstore_pipeline_leading_sort(const docstore_pipeline_t *p, size_t *keep)
{
    size_t i = p->n > 0 && p->stages[0].kind == ST_MATCH ? 1 : 0;
    if (i >= p->n || p->stages[i].kind != ST_SORT)
        return NULL;
    *keep = sort_keep(p, i);
    return p->stages[i].sort;
}

void docstore_pipeline_set_disk_use(docstore_pipeline_t *p, bool disk_use)
{
    p->disk_use = disk_use;
}

void docstore_pipeline_set_collation(docstore_pipeline_t *p, const docstore_collation_t *coll)
{
    p->coll = coll;
    for (size_t i = 0; i < p->n; i++) {
        stage_t *s = &p->stages[i];
        if (s->matcher != NULL)
            docstore_matcher_set_collation(s->matcher, coll);
        if (s->sort != NULL)
            docstore_sort_set_collation(s->sort, coll);
        if (s->lookup.pipeline != NULL)
            docstore_pipeline_set_collation(s->lookup.pipeline, coll);
        for (size_t k = 0; s->subs != NULL && k < s->n; k++)
            docstore_pipeline_set_collation(s->subs[k], coll);
    }
}

void docstore_pipeline_set_memory_limit(docstore_pipeline_t *p, size_t bytes)
{
    p->mem_limit = bytes;
}

/* A string that will name a field: valid UTF-8 without NUL, as BSON keys are. */
static bool valid_field_name(const char *s, uint32_t len)
{
    return len > 0 && strlen(s) == len && bson_utf8_validate(s, len, false);
}

static bool get_doc(const bson_value_t *v, bson_t *out)
{
    return v->value_type == BSON_TYPE_DOCUMENT &&
           bson_init_static(out, v->value.v_doc.data, v->value.v_doc.data_len);
}

static bool get_int(const bson_value_t *v, int64_t *out)
{
    double d;
    switch (v->value_type) {
    case BSON_TYPE_INT32:
        *out = v->value.v_int32;
        return true;
    case BSON_TYPE_INT64:
        *out = v->value.v_int64;
        return true;
    case BSON_TYPE_DOUBLE:
    case BSON_TYPE_DECIMAL128:
        if (!docstore_value_as_double(v, &d) || d != (double)(int64_t)d)
            return false;
        *out = (int64_t)d;
        return true;
    default:
        return false;
    }
}

/* --- parsing ------------------------------------------------------------------ */

/* Flattens {a: {b: expr}} (documents that are not operator expressions) into
 * dotted paths, as $addFields reads nested specifications. */
static int add_fields_collect(stage_t *s, const bson_t *spec, const char *prefix, int depth,
                              docstore_error_t *err)
{
    bson_iter_t it;
    if (depth > 50) {
        docstore_error_set(err, DOCSTORE_BAD_VALUE, "$addFields specification too deep");
        return -1;
    }
    bson_iter_init(&it, spec);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (k[0] == '$' || k[0] == '\0') {
            docstore_error_set(err, DOCSTORE_LOCATION_16410,
                               "FieldPath field names may not start with '$'.");
            return -1;
        }
        char *path = NULL;
        if (asprintf(&path, "%s%s%s", prefix, prefix[0] ? "." : "", k) < 0)
            return docstore_error_oom(err);
        bson_t sub;
        bson_iter_t first;
        if (get_doc(bson_iter_value(&it), &sub) && !bson_empty(&sub) &&
            bson_iter_init(&first, &sub) && bson_iter_next(&first) &&
            bson_iter_key(&first)[0] != '$') {
            int rc = add_fields_collect(s, &sub, path, depth + 1, err);
            free(path);
            if (rc != 0)
                return -1;
            continue;
        }
        char **paths = realloc(s->paths, (s->n + 1) * sizeof *paths);
        if (paths == NULL) {
            free(path);
            return docstore_error_oom(err);
        }
        s->paths = paths;
        docstore_expr_t **exprs = realloc(s->exprs, (s->n + 1) * sizeof *exprs);
        if (exprs == NULL) {
            free(path);
            return docstore_error_oom(err);
        }
        s->exprs = exprs;
        s->paths[s->n] = path;
        s->exprs[s->n] = NULL;
        s->n++;
        if (docstore_expr_new(bson_iter_value(&it), &s->exprs[s->n - 1], err) != 0)
            return -1;
    }
    return 0;
}

static int parse_unset(docstore_pipeline_t *p, stage_t *s, const char *name, const bson_value_t *v,
                       docstore_error_t *err)
{
    (void)p;
    (void)name;
    size_t n = 1;
    bson_iter_t it;
    if (v->value_type == BSON_TYPE_ARRAY) {
        bson_iter_init_from_data(&it, v->value.v_doc.data, v->value.v_doc.data_len);
        n = 0;
        while (bson_iter_next(&it)) {
            if (!BSON_ITER_HOLDS_UTF8(&it)) {
                docstore_error_set(err, DOCSTORE_LOCATION_31120,
                                   "$unset specification must be a string or an array "
                                   "containing only string values");
                return -1;
            }
            n++;
        }
    } else if (v->value_type != BSON_TYPE_UTF8) {
        docstore_error_set(err, DOCSTORE_LOCATION_31002,
                           "$unset specification must be a string or an array");
        return -1;
    }
    if (n == 0) {
        docstore_error_set(err, DOCSTORE_LOCATION_31119,
                           "$unset specification must be a string or an array with at least "
                           "one field");
        return -1;
    }
    s->paths = calloc(n, sizeof *s->paths);
    if (s->paths == NULL)
        return docstore_error_oom(err);
    if (v->value_type == BSON_TYPE_UTF8) {
        s->paths[s->n++] = strdup(v->value.v_utf8.str);
    } else {
        bson_iter_init_from_data(&it, v->value.v_doc.data, v->value.v_doc.data_len);
        while (bson_iter_next(&it))
            s->paths[s->n++] = strdup(bson_iter_utf8(&it, NULL));
    }
    for (size_t i = 0; i < s->n; i++) {
        if (s->paths[i] == NULL)
            return docstore_error_oom(err);
        if (s->paths[i][0] == '$' || s->paths[i][0] == '\0') {
            docstore_error_set(err, DOCSTORE_LOCATION_16410,
                               "FieldPath field names may not start with '$'.");
            return -1;
        }
    }
    return 0;
}

static int parse_unwind(docstore_pipeline_t *p, stage_t *s, const char *name, const bson_value_t *v,
                        docstore_error_t *err)
{
    (void)p;
    (void)name;
    const char *path = NULL;
    bson_t d;
    if (v->value_type == BSON_TYPE_UTF8) {
        path = v->value.v_utf8.str;
    } else if (get_doc(v, &d)) {
        bson_iter_t it;
        bson_iter_init(&it, &d);
        while (bson_iter_next(&it)) {
            const char *k = bson_iter_key(&it);
            if (strcmp(k, "path") == 0) {
                if (!BSON_ITER_HOLDS_UTF8(&it)) {
                    docstore_error_set(err, DOCSTORE_LOCATION_28808,
                                       "expected a string as the path for $unwind stage");
                    return -1;
                }
                path = bson_iter_utf8(&it, NULL);
            } else if (strcmp(k, "includeArrayIndex") == 0) {
                uint32_t ilen = 0;
                if (!BSON_ITER_HOLDS_UTF8(&it) || bson_iter_utf8(&it, &ilen)[0] == '$' ||
                    !valid_field_name(bson_iter_utf8(&it, NULL), ilen)) {
                    docstore_error_set(err, DOCSTORE_LOCATION_28810,
                                       "expected a non-empty string for the includeArrayIndex "
                                       "option to $unwind stage");
                    return -1;
                }
                free(s->index_field);
                s->index_field = strdup(bson_iter_utf8(&it, NULL));
                if (s->index_field == NULL)
                    return docstore_error_oom(err);
            } else if (strcmp(k, "preserveNullAndEmptyArrays") == 0) {
                if (!BSON_ITER_HOLDS_BOOL(&it)) {
                    docstore_error_set(err, DOCSTORE_LOCATION_28809,
                                       "expected a boolean for the preserveNullAndEmptyArrays "
                                       "option to $unwind stage");
                    return -1;
                }
                s->preserve = bson_iter_bool(&it);
            } else {
                docstore_error_set(err, DOCSTORE_LOCATION_28811,
                                   "unrecognized option to $unwind stage: %.100s", k);
                return -1;
            }
        }
        if (path == NULL) {
            docstore_error_set(err, DOCSTORE_LOCATION_28812, "no path specified to $unwind stage");
            return -1;
        }
    } else {
        docstore_error_set(err, DOCSTORE_LOCATION_15981,
                           "expected either a string or an object as specification for $unwind "
                           "stage, got %s",
                           docstore_type_name(v->value_type));
        return -1;
    }
    if (path[0] != '$' || path[1] == '\0' || path[1] == '$') {
        docstore_error_set(err, DOCSTORE_LOCATION_28818,
                           "path option to $unwind stage should be prefixed with a '$': %.100s",
                           path);
        return -1;
    }
    s->path = strdup(path + 1);
    return s->path ? 0 : docstore_error_oom(err);
}

static int parse_lookup(docstore_pipeline_t *p, stage_t *s, const char *name, const bson_value_t *v,
                        docstore_error_t *err)
{
    (void)p;
    (void)name;
    return pipe_lookup_parse(v, &s->lookup, err);
}

static int parse_count(docstore_pipeline_t *p, stage_t *s, const char *name, const bson_value_t *v,
                       docstore_error_t *err)
{
    (void)p;
    (void)name;
    if (v->value_type != BSON_TYPE_UTF8 ||
        !valid_field_name(v->value.v_utf8.str, v->value.v_utf8.len)) {
        docstore_error_set(err, DOCSTORE_LOCATION_40156,
                           "the count field must be a non-empty string");
        return -1;
    }
    const char *field = v->value.v_utf8.str;
    if (field[0] == '$') {
        docstore_error_set(err, DOCSTORE_LOCATION_40158,
                           "the count field cannot be a $-prefixed path");
        return -1;
    }
    if (strchr(field, '.') != NULL) {
        docstore_error_set(err, DOCSTORE_LOCATION_40160, "the count field cannot contain '.'");
        return -1;
    }
    s->paths = calloc(1, sizeof *s->paths);
    if (s->paths == NULL || (s->paths[0] = strdup(field)) == NULL)
        return docstore_error_oom(err);
    s->n = 1;
    return 0;
}

static int parse_replace_root(docstore_pipeline_t *p, stage_t *s, const char *name,
                              const bson_value_t *v, docstore_error_t *err)
{
    (void)p;
    const bson_value_t *root = v;
    bson_value_t found; /* shallow copy, into v's data */
    bson_t d;
    bson_iter_t it;
    if (strcmp(name, "$replaceRoot") == 0) {
        if (!get_doc(v, &d)) {
            docstore_error_set(err, DOCSTORE_LOCATION_40229,
                               "expected an object as specification for $replaceRoot stage, got "
                               "%s",
                               docstore_type_name(v->value_type));
            return -1;
        }
        bson_iter_init(&it, &d);
        root = NULL;
        while (bson_iter_next(&it)) {
            if (strcmp(bson_iter_key(&it), "newRoot") != 0) {
                docstore_error_set(err, DOCSTORE_LOCATION_40415,
                                   "BSON field '$replaceRoot.%.100s' is an unknown field.",
                                   bson_iter_key(&it));
                return -1;
            }
            found = *bson_iter_value(&it);
            root = &found;
        }
        if (root == NULL) {
            docstore_error_set(err, DOCSTORE_LOCATION_40414,
                               "BSON field '$replaceRoot.newRoot' is missing but a required "
                               "field");
            return -1;
        }
    }
    s->exprs = calloc(1, sizeof *s->exprs);
    if (s->exprs == NULL)
        return docstore_error_oom(err);
    s->n = 1;
    return docstore_expr_new(root, &s->exprs[0], err);
}

/* A sub-pipeline of $facet, $unionWith or $lookup; stages that write or nest
 * $facet are refused inside it. */
int pipe_parse_sub(const bson_value_t *v, const char *owner, docstore_pipeline_t **out,
                   docstore_error_t *err)
{
    bson_t arr;
    if (v->value_type != BSON_TYPE_ARRAY ||
        !bson_init_static(&arr, v->value.v_doc.data, v->value.v_doc.data_len)) {
        docstore_error_set(err, DOCSTORE_LOCATION_40170,
                           "%s sub-pipelines must be arrays, found %s", owner,
                           docstore_type_name(v->value_type));
        return -1;
    }
    bson_iter_t it, st;
    bson_iter_init(&it, &arr);
    while (bson_iter_next(&it)) {
        if (!BSON_ITER_HOLDS_DOCUMENT(&it) || !bson_iter_recurse(&it, &st) || !bson_iter_next(&st))
            continue; /* docstore_pipeline_new reports it */
        const char *k = bson_iter_key(&st);
        if (strcmp(k, "$out") == 0 || strcmp(k, "$merge") == 0 ||
            (strcmp(owner, "$facet") == 0 && strcmp(k, "$facet") == 0)) {
            docstore_error_set(err, DOCSTORE_LOCATION_40600,
                               "%s is not allowed to be used within a %s stage", k, owner);
            return -1;
        }
    }
    return docstore_pipeline_new(&arr, out, err);
}

static int parse_facet(docstore_pipeline_t *p, stage_t *s, const char *name, const bson_value_t *v,
                       docstore_error_t *err)
{
    (void)p;
    (void)name;
    bson_t d;
    if (!get_doc(v, &d)) {
        docstore_error_set(err, DOCSTORE_LOCATION_40169,
                           "the $facet specification must be a non-empty object");
        return -1;
    }
    size_t n = bson_count_keys(&d);
    if (n == 0) {
        docstore_error_set(err, DOCSTORE_LOCATION_40169,
                           "the $facet specification must be a non-empty object");
        return -1;
    }
    s->paths = calloc(n, sizeof *s->paths);
    s->subs = calloc(n, sizeof *s->subs);
    if (s->paths == NULL || s->subs == NULL)
        return docstore_error_oom(err);
    bson_iter_t it;
    bson_iter_init(&it, &d);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (k[0] == '$' || k[0] == '\0' || strchr(k, '.') != NULL) {
            docstore_error_set(err, DOCSTORE_LOCATION_40173,
                               "$facet output field name '%.100s' is not valid", k);
            return -1;
        }
        s->paths[s->n] = strdup(k);
        s->n++;
        if (s->paths[s->n - 1] == NULL)
            return docstore_error_oom(err);
        if (pipe_parse_sub(bson_iter_value(&it), "$facet", &s->subs[s->n - 1], err) != 0)
            return -1;
    }
    return 0;
}

static int parse_union_with(docstore_pipeline_t *p, stage_t *s, const char *name,
                            const bson_value_t *v, docstore_error_t *err)
{
    (void)p;
    (void)name;
    bson_t d;
    bson_value_t pipe = {.value_type = BSON_TYPE_EOD}; /* shallow, into v's data */
    if (v->value_type == BSON_TYPE_UTF8) {
        s->from = strdup(v->value.v_utf8.str);
    } else if (get_doc(v, &d)) {
        bson_iter_t it;
        bson_iter_init(&it, &d);
        while (bson_iter_next(&it)) {
            const char *k = bson_iter_key(&it);
            if (strcmp(k, "coll") == 0 && BSON_ITER_HOLDS_UTF8(&it)) {
                free(s->from);
                s->from = strdup(bson_iter_utf8(&it, NULL));
                if (s->from == NULL)
                    return docstore_error_oom(err);
            } else if (strcmp(k, "pipeline") == 0) {
                pipe = *bson_iter_value(&it);
            } else {
                docstore_error_set(err, DOCSTORE_LOCATION_40415,
                                   "BSON field '$unionWith.%.100s' is an unknown field.", k);
                return -1;
            }
        }
    }
    if (s->from == NULL) {
        docstore_error_set(err, DOCSTORE_FAILED_TO_PARSE,
                           "$unionWith requires a collection name: {$unionWith: 'coll'} or "
                           "{$unionWith: {coll: 'coll', pipeline: [...]}}");
        return -1;
    }
    if (pipe.value_type == BSON_TYPE_EOD)
        return 0;
    s->subs = calloc(1, sizeof *s->subs);
    if (s->subs == NULL)
        return docstore_error_oom(err);
    s->n = 1;
    return pipe_parse_sub(&pipe, "$unionWith", &s->subs[0], err);
}

/* {key: {$literal: v}} in parent. */
static void bucket_append_literal(bson_t *parent, const char *key, const bson_value_t *v)
{
    bson_t lit;
    bson_append_document_begin(parent, key, -1, &lit);
    bson_append_value(&lit, "$literal", -1, v);
    bson_append_document_end(parent, &lit);
}

/* {op: [group_by, {$literal: bound}]} as element key of the array arr. */
static void bucket_append_compare(bson_t *arr, const char *key, const char *op,
                                  const bson_value_t *group_by, const bson_value_t *bound)
{
    bson_t cmp, args;
    bson_append_document_begin(arr, key, -1, &cmp);
    bson_append_array_begin(&cmp, op, -1, &args);
    bson_append_value(&args, "0", 1, group_by);
    bucket_append_literal(&args, "1", bound);
    bson_append_array_end(&cmp, &args);
    bson_append_document_end(arr, &cmp);
}

/* $bucket is a $group keyed by a $switch over the boundaries, then a $sort
 * on _id, as MongoDB itself rewrites it. */
static int parse_bucket(docstore_pipeline_t *p, stage_t *s, const char *name, const bson_value_t *v,
                        docstore_error_t *err)
{
    (void)name;
    bson_t d, bounds, output;
    bson_value_t group_by = {.value_type = BSON_TYPE_EOD}, dflt = {.value_type = BSON_TYPE_EOD};
    bool have_bounds = false, have_output = false;
    if (!get_doc(v, &d)) {
        docstore_error_set(err, DOCSTORE_LOCATION_40201,
                           "Argument to $bucket stage must be an object");
        return -1;
    }
    bson_iter_t it;
    bson_iter_init(&it, &d);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "groupBy") == 0) {
            group_by = *bson_iter_value(&it);
        } else if (strcmp(k, "boundaries") == 0 && BSON_ITER_HOLDS_ARRAY(&it)) {
            uint32_t len;
            const uint8_t *data;
            bson_iter_array(&it, &len, &data);
            have_bounds = bson_init_static(&bounds, data, len);
        } else if (strcmp(k, "default") == 0) {
            dflt = *bson_iter_value(&it);
        } else if (strcmp(k, "output") == 0 && BSON_ITER_HOLDS_DOCUMENT(&it)) {
            uint32_t len;
            const uint8_t *data;
            bson_iter_document(&it, &len, &data);
            have_output = bson_init_static(&output, data, len);
        } else {
            docstore_error_set(err, DOCSTORE_LOCATION_40197,
                               "Unrecognized option to $bucket: %.100s.", k);
            return -1;
        }
    }
    bool path = group_by.value_type == BSON_TYPE_UTF8 && group_by.value.v_utf8.str[0] == '$';
    if (!path && group_by.value_type != BSON_TYPE_DOCUMENT) {
        docstore_error_set(err, DOCSTORE_LOCATION_40202,
                           "The $bucket 'groupBy' field must be defined as a $-prefixed path or "
                           "an expression object");
        return -1;
    }
    if (!have_bounds || bson_count_keys(&bounds) < 2) {
        docstore_error_set(err, DOCSTORE_LOCATION_40192,
                           "The $bucket 'boundaries' field must have at least 2 values");
        return -1;
    }
    /* Boundaries ascending, one type bracket; the default outside them. */
    bson_value_t prev = {.value_type = BSON_TYPE_EOD}, first = prev, last = prev;
    bson_iter_init(&it, &bounds);
    while (bson_iter_next(&it)) {
        bson_value_t cur = *bson_iter_value(&it);
        if (prev.value_type != BSON_TYPE_EOD &&
            (docstore_type_rank(cur.value_type) != docstore_type_rank(prev.value_type) ||
             docstore_value_compare(&prev, &cur) >= 0)) {
            docstore_error_set(err, DOCSTORE_LOCATION_40194,
                               "The 'boundaries' option to $bucket must be sorted in ascending "
                               "order, of one type");
            return -1;
        }
        if (first.value_type == BSON_TYPE_EOD)
            first = cur;
        prev = last = cur;
    }
    if (dflt.value_type != BSON_TYPE_EOD &&
        docstore_type_rank(dflt.value_type) == docstore_type_rank(first.value_type) &&
        docstore_value_compare(&dflt, &first) >= 0 && docstore_value_compare(&dflt, &last) < 0) {
        docstore_error_set(err, DOCSTORE_LOCATION_40199,
                           "The $bucket 'default' field must be less than the lowest boundary or "
                           "greater than or equal to the highest boundary.");
        return -1;
    }
    /* {_id: {$switch: {branches: [{case: {$and: [{$gte: [g, b_i]}, {$lt: [g, b_i+1]}]},
     *  then: b_i}, ...], default: d}}, <output or count: {$sum: 1}>} */
    bson_t *g = bson_new(), id, sw, br, arr;
    bson_append_document_begin(g, "_id", 3, &id);
    bson_append_document_begin(&id, "$switch", -1, &sw);
    bson_append_array_begin(&sw, "branches", -1, &arr);
    bson_iter_t lo, hi;
    bson_iter_init(&lo, &bounds);
    bson_iter_init(&hi, &bounds);
    bson_iter_next(&hi);
    uint32_t bi = 0;
    while (bson_iter_next(&lo) && bson_iter_next(&hi)) {
        char key[16];
        const char *kp;
        bson_uint32_to_string(bi++, &kp, key, sizeof key);
        bson_t c, and_arr;
        bson_append_document_begin(&arr, kp, -1, &br);
        bson_append_document_begin(&br, "case", -1, &c);
        bson_append_array_begin(&c, "$and", -1, &and_arr);
        bucket_append_compare(&and_arr, "0", "$gte", &group_by, bson_iter_value(&lo));
        bucket_append_compare(&and_arr, "1", "$lt", &group_by, bson_iter_value(&hi));
        bson_append_array_end(&c, &and_arr);
        bson_append_document_end(&br, &c);
        bucket_append_literal(&br, "then", bson_iter_value(&lo));
        bson_append_document_end(&arr, &br);
    }
    bson_append_array_end(&sw, &arr);
    if (dflt.value_type != BSON_TYPE_EOD)
        bucket_append_literal(&sw, "default", &dflt);
    bson_append_document_end(&id, &sw);
    bson_append_document_end(g, &id);
    if (have_output) {
        bson_concat(g, &output);
    } else {
        bson_t sum;
        bson_append_document_begin(g, "count", -1, &sum);
        BSON_APPEND_INT32(&sum, "$sum", 1);
        bson_append_document_end(g, &sum);
    }
    int rc = pipe_group_parse(g, &s->group, err);
    bson_destroy(g);
    if (rc != 0)
        return -1;
    bson_t *sort = BCON_NEW("_id", BCON_INT32(1));
    stage_t *s2 = &p->stages[p->n++];
    memset(s2, 0, sizeof *s2);
    s2->kind = ST_SORT;
    rc = docstore_sort_new(sort, &s2->sort, err);
    bson_destroy(sort);
    return rc;
}

static const char *const unsupported_stages[] = {
    "$bucketAuto", "$graphLookup",   "$redact",       "$densify",         "$fill",        "$setWindowFields",
    "$geoNear",   "$collStats",    "$indexStats",      "$currentOp",   "$listSessions",
    "$documents", "$changeStream", "$listLocalSessions", "$planCacheStats", "$search",
    "$searchMeta",
};

static int parse_match(docstore_pipeline_t *p, stage_t *s, const char *name, const bson_value_t *v,
                       docstore_error_t *err)
{
    (void)p;
    (void)name;
    bson_t d;
    if (!get_doc(v, &d)) {
        docstore_error_set(err, DOCSTORE_LOCATION_15959,
                           "the match filter must be an expression in an object");
        return -1;
    }
    s->filter = bson_copy(&d);
    if (s->filter == NULL)
        return docstore_error_oom(err);
    return docstore_matcher_new(s->filter, &s->matcher, err);
}

static int parse_project(docstore_pipeline_t *p, stage_t *s, const char *name,
                         const bson_value_t *v, docstore_error_t *err)
{
    (void)p;
    (void)name;
    bson_t d;
    if (!get_doc(v, &d)) {
        docstore_error_set(err, DOCSTORE_LOCATION_15969,
                           "$project specification must be an object");
        return -1;
    }
    if (bson_empty(&d)) {
        docstore_error_set(err, DOCSTORE_LOCATION_51272,
                           "projection specification must have at least one field");
        return -1;
    }
    return docstore_projection_new(&d, &s->proj, err);
}

static int parse_add_fields(docstore_pipeline_t *p, stage_t *s, const char *name,
                            const bson_value_t *v, docstore_error_t *err)
{
    (void)p;
    bson_t d;
    if (!get_doc(v, &d)) {
        docstore_error_set(err, DOCSTORE_LOCATION_40272,
                           "%s specification stage must be an object, got %s", name,
                           docstore_type_name(v->value_type));
        return -1;
    }
    return add_fields_collect(s, &d, "", 0, err);
}

static int parse_sort(docstore_pipeline_t *p, stage_t *s, const char *name, const bson_value_t *v,
                      docstore_error_t *err)
{
    (void)p;
    (void)name;
    bson_t d;
    if (!get_doc(v, &d)) {
        docstore_error_set(err, DOCSTORE_LOCATION_15973,
                           "the $sort key specification must be an object");
        return -1;
    }
    if (bson_empty(&d)) {
        docstore_error_set(err, DOCSTORE_LOCATION_15976,
                           "$sort stage must have at least one sort key");
        return -1;
    }
    return docstore_sort_new(&d, &s->sort, err);
}

static int parse_skip_limit(docstore_pipeline_t *p, stage_t *s, const char *name,
                            const bson_value_t *v, docstore_error_t *err)
{
    (void)p;
    bool skip = s->kind == ST_SKIP;
    if (!get_int(v, &s->num)) {
        docstore_error_set(err, skip ? DOCSTORE_LOCATION_15972 : DOCSTORE_LOCATION_15957,
                           "invalid argument to %s stage: Expected an integer: %s", name,
                           docstore_type_name(v->value_type));
        return -1;
    }
    if (skip && s->num < 0) {
        docstore_error_set(err, DOCSTORE_LOCATION_5107200,
                           "invalid argument to $skip stage: Expected a non-negative "
                           "number");
        return -1;
    }
    if (!skip && s->num <= 0) {
        docstore_error_set(err, DOCSTORE_LOCATION_15958, "the limit must be positive");
        return -1;
    }
    return 0;
}

static int parse_group(docstore_pipeline_t *p, stage_t *s, const char *name, const bson_value_t *v,
                       docstore_error_t *err)
{
    (void)p;
    (void)name;
    bson_t d;
    if (!get_doc(v, &d)) {
        docstore_error_set(err, DOCSTORE_LOCATION_15947,
                           "a group's fields must be specified in an object");
        return -1;
    }
    return pipe_group_parse(&d, &s->group, err);
}

/* {$group: {_id: <expr>, count: {$sum: 1}}}, {$sort: {count: -1}} */
static int parse_sort_by_count(docstore_pipeline_t *p, stage_t *s, const char *name,
                               const bson_value_t *v, docstore_error_t *err)
{
    (void)name;
    bson_t d;
    if (!((v->value_type == BSON_TYPE_UTF8 && v->value.v_utf8.str[0] == '$') ||
          (get_doc(v, &d) && !bson_empty(&d)))) {
        docstore_error_set(err, DOCSTORE_LOCATION_40148,
                           "the sortByCount field must be defined as a $-prefixed path or "
                           "an expression inside an object");
        return -1;
    }
    bson_t *g = bson_new(), *sum = bson_new(), *sort = BCON_NEW("count", BCON_INT32(-1));
    BSON_APPEND_VALUE(g, "_id", v);
    BSON_APPEND_INT32(sum, "$sum", 1);
    BSON_APPEND_DOCUMENT(g, "count", sum);
    int rc = pipe_group_parse(g, &s->group, err);
    bson_destroy(g);
    bson_destroy(sum);
    if (rc == 0) {
        stage_t *s2 = &p->stages[p->n++];
        memset(s2, 0, sizeof *s2);
        s2->kind = ST_SORT;
        rc = docstore_sort_new(sort, &s2->sort, err);
    }
    bson_destroy(sort);
    return rc;
}

static int parse_sample(docstore_pipeline_t *p, stage_t *s, const char *name, const bson_value_t *v,
                        docstore_error_t *err)
{
    (void)p;
    (void)name;
    bson_t d;
    bson_iter_t it;
    if (!get_doc(v, &d) || !bson_iter_init_find(&it, &d, "size") || bson_count_keys(&d) != 1) {
        docstore_error_set(err, DOCSTORE_LOCATION_28745, "$sample stage must specify a size");
        return -1;
    }
    if (!get_int(bson_iter_value(&it), &s->num)) {
        docstore_error_set(err, DOCSTORE_LOCATION_28746,
                           "size argument to $sample must be a number");
        return -1;
    }
    if (s->num < 0) {
        docstore_error_set(err, DOCSTORE_LOCATION_28747,
                           "size argument to $sample must not be negative");
        return -1;
    }
    return 0;
}

/* The stages by name: the kind each becomes and its parser (which may add a
 * second stage, as $sortByCount and $bucket add a $sort). How each kind runs
 * is stage_runs below. */
static const struct stage_def {
    const char *name;
    stage_kind_t kind;
    int (*parse)(docstore_pipeline_t *p, stage_t *s, const char *name, const bson_value_t *v,
                 docstore_error_t *err);
} stage_defs[] = {
    {"$match", ST_MATCH, parse_match},
    {"$project", ST_PROJECT, parse_project},
    {"$addFields", ST_ADD_FIELDS, parse_add_fields},
    {"$set", ST_ADD_FIELDS, parse_add_fields},
    {"$unset", ST_UNSET, parse_unset},
    {"$sort", ST_SORT, parse_sort},
    {"$skip", ST_SKIP, parse_skip_limit},
    {"$limit", ST_LIMIT, parse_skip_limit},
    {"$count", ST_COUNT, parse_count},
    {"$group", ST_GROUP, parse_group},
    {"$sortByCount", ST_GROUP, parse_sort_by_count},
    {"$bucket", ST_GROUP, parse_bucket},
    {"$unwind", ST_UNWIND, parse_unwind},
    {"$lookup", ST_LOOKUP, parse_lookup},
    {"$replaceRoot", ST_REPLACE_ROOT, parse_replace_root},
    {"$replaceWith", ST_REPLACE_ROOT, parse_replace_root},
    {"$facet", ST_FACET, parse_facet},
    {"$sample", ST_SAMPLE, parse_sample},
    {"$unionWith", ST_UNION_WITH, parse_union_with},
};

static int parse_stage(docstore_pipeline_t *p, const char *name, const bson_value_t *v,
                       docstore_error_t *err)
{
    for (size_t i = 0; i < sizeof stage_defs / sizeof stage_defs[0]; i++) {
        if (strcmp(name, stage_defs[i].name) != 0)
            continue;
        stage_t *s = &p->stages[p->n];
        memset(s, 0, sizeof *s);
        p->n++;
        s->kind = stage_defs[i].kind;
        return stage_defs[i].parse(p, s, name, v, err);
    }
    if (strcmp(name, "$out") == 0 || strcmp(name, "$merge") == 0) {
        docstore_error_set(err, DOCSTORE_NOT_IMPLEMENTED, "%s is not supported by the docstore",
                           name);
        return -1;
    }
    for (size_t i = 0; i < sizeof unsupported_stages / sizeof unsupported_stages[0]; i++) {
        if (strcmp(name, unsupported_stages[i]) == 0) {
            docstore_error_set(err, DOCSTORE_NOT_IMPLEMENTED,
                               "the %s stage is not supported by the docstore", name);
            return -1;
        }
    }
    docstore_error_set(err, DOCSTORE_LOCATION_40324, "Unrecognized pipeline stage name: '%.100s'",
                       name);
    return -1;
}

int docstore_pipeline_new(const bson_t *pipeline, docstore_pipeline_t **out,
                          docstore_error_t *err)
{
    *out = NULL;
    docstore_pipeline_t *p = calloc(1, sizeof *p);
    if (p != NULL)
        p->mem_limit = DOCSTORE_SORT_MEMORY_LIMIT;
    if (p == NULL)
        return docstore_error_oom(err);
    size_t n = bson_count_keys(pipeline);
    /* Room for $sortByCount's two stages. */
    p->stages = calloc(n * 2 + 1, sizeof *p->stages);
    if (p->stages == NULL) {
        free(p);
        return docstore_error_oom(err);
    }
    bson_iter_t it;
    if (!bson_iter_init(&it, pipeline)) {
        docstore_error_set(err, DOCSTORE_INVALID_BSON, "invalid pipeline");
        goto fail;
    }
    while (bson_iter_next(&it)) {
        bson_t stage;
        if (!get_doc(bson_iter_value(&it), &stage)) {
            docstore_error_set(err, DOCSTORE_TYPE_MISMATCH,
                               "Each element of the 'pipeline' array must be an object");
            goto fail;
        }
        bson_iter_t si;
        if (bson_count_keys(&stage) != 1 || !bson_iter_init(&si, &stage) || !bson_iter_next(&si)) {
            docstore_error_set(err, DOCSTORE_LOCATION_40323,
                               "A pipeline stage specification object must contain exactly one "
                               "field.");
            goto fail;
        }
        if (parse_stage(p, bson_iter_key(&si), bson_iter_value(&si), err) != 0)
            goto fail;
    }
    *out = p;
    return 0;
fail:
    docstore_pipeline_free(p);
    return -1;
}

/* --- running ------------------------------------------------------------------ */

/* What a stage's runner is given besides the documents. */
typedef struct stage_run {
    const docstore_pipeline_t *p;         /* the pipeline */
    size_t si;                            /* the stage's index in p */
    const stage_t *s;                     /* &p->stages[si] */
    docstore_collection_reader_fn reader; /* $lookup, $facet, $unionWith read through it */
    void *reader_ctx;
    const bson_t *vars; /* user variables of an enclosing $lookup's let, or NULL */
} stage_run_t;

static int run_match(const stage_run_t *sr, docstore_doclist_t *docs, docstore_doclist_t *out,
                     docstore_error_t *err)
{
    const stage_t *s = sr->s;
    for (size_t i = 0; i < docs->n; i++) {
        if (docstore_deadline_check(err) != 0)
            return -1;
        if (docstore_matcher_matches_vars(s->matcher, docs->docs[i], sr->vars, NULL)) {
            if (docstore_doclist_push(out, docs->docs[i]) != 0) {
                docs->docs[i] = NULL;
                return docstore_error_oom(err);
            }
            docs->docs[i] = NULL;
        }
    }
    return docstore_matcher_status(s->matcher, err);
}

static int run_project(const stage_run_t *sr, docstore_doclist_t *docs, docstore_doclist_t *out,
                       docstore_error_t *err)
{
    const stage_t *s = sr->s;
    for (size_t i = 0; i < docs->n; i++) {
        if (docstore_deadline_check(err) != 0)
            return -1;
        bson_t *r = bson_new();
        if (docstore_projection_apply_vars(s->proj, docs->docs[i], sr->vars, r, err) != 0) {
            bson_destroy(r);
            return -1;
        }
        if (docstore_doclist_push(out, r) != 0)
            return docstore_error_oom(err);
    }
    return 0;
}

static int finish_tree(docstore_mnode_t *root, docstore_doclist_t *out, docstore_error_t *err)
{
    bson_t *r = bson_new();
    bool ok = docstore_mnode_to_doc(root, r);
    docstore_mnode_free(root);
    if (!ok || r->len > 16 * 1024 * 1024) {
        bson_destroy(r);
        docstore_error_set(err, DOCSTORE_BSON_OBJECT_TOO_LARGE,
                           "document produced by the pipeline is too large");
        return -1;
    }
    return docstore_doclist_push(out, r) == 0 ? 0 : docstore_error_oom(err);
}

static int run_add_fields(const stage_run_t *sr, docstore_doclist_t *docs, docstore_doclist_t *out,
                          docstore_error_t *err)
{
    const stage_t *s = sr->s;
    for (size_t i = 0; i < docs->n; i++) {
        if (docstore_deadline_check(err) != 0)
            return -1;
        docstore_mnode_t *root = docstore_mnode_from_doc(docs->docs[i]);
        if (root == NULL)
            return docstore_error_oom(err);
        for (size_t f = 0; f < s->n; f++) {
            bson_value_t v;
            /* Every expression sees the input document, not earlier fields. */
            if (docstore_expr_eval(s->exprs[f], docs->docs[i], sr->vars, &v, err) != 0) {
                docstore_mnode_free(root);
                return -1;
            }
            bool ok = pipe_path_set(root, s->paths[f], &v);
            bson_value_destroy(&v);
            if (!ok) {
                docstore_mnode_free(root);
                return docstore_error_oom(err);
            }
        }
        if (finish_tree(root, out, err) != 0)
            return -1;
    }
    return 0;
}

static int run_unset(const stage_run_t *sr, docstore_doclist_t *docs, docstore_doclist_t *out,
                     docstore_error_t *err)
{
    const stage_t *s = sr->s;
    for (size_t i = 0; i < docs->n; i++) {
        docstore_mnode_t *root = docstore_mnode_from_doc(docs->docs[i]);
        if (root == NULL)
            return docstore_error_oom(err);
        for (size_t f = 0; f < s->n; f++)
            pipe_path_unset(root, s->paths[f]);
        if (finish_tree(root, out, err) != 0)
            return -1;
    }
    return 0;
}

static int run_unwind(const stage_run_t *sr, docstore_doclist_t *docs, docstore_doclist_t *out,
                      docstore_error_t *err)
{
    const stage_t *s = sr->s;
    for (size_t i = 0; i < docs->n; i++) {
        if (docstore_deadline_check(err) != 0)
            return -1;
        const bson_t *doc = docs->docs[i];
        bson_iter_t it;
        bool found = docstore_path_get(doc, s->path, &it);
        const bson_value_t *v = found ? bson_iter_value(&it) : NULL;
        bson_value_t null = {.value_type = BSON_TYPE_NULL};
        if (v != NULL && v->value_type == BSON_TYPE_ARRAY) {
            bson_value_t arr;
            bson_value_copy(v, &arr);
            bson_iter_t ai;
            int64_t idx = 0;
            bool any = false;
            bson_iter_init_from_data(&ai, arr.value.v_doc.data, arr.value.v_doc.data_len);
            while (bson_iter_next(&ai)) {
                any = true;
                docstore_mnode_t *root = docstore_mnode_from_doc(doc);
                bson_value_t ix = {.value_type = BSON_TYPE_INT64};
                ix.value.v_int64 = idx++;
                if (root == NULL || !pipe_path_set(root, s->path, bson_iter_value(&ai)) ||
                    (s->index_field && !pipe_path_set(root, s->index_field, &ix))) {
                    docstore_mnode_free(root);
                    bson_value_destroy(&arr);
                    return docstore_error_oom(err);
                }
                if (finish_tree(root, out, err) != 0) {
                    bson_value_destroy(&arr);
                    return -1;
                }
            }
            bson_value_destroy(&arr);
            if (any || !s->preserve)
                continue;
            /* An empty array, preserved: the field goes away. */
            docstore_mnode_t *root = docstore_mnode_from_doc(doc);
            if (root == NULL)
                return docstore_error_oom(err);
            pipe_path_unset(root, s->path);
            if (s->index_field && !pipe_path_set(root, s->index_field, &null)) {
                docstore_mnode_free(root);
                return docstore_error_oom(err);
            }
            if (finish_tree(root, out, err) != 0)
                return -1;
            continue;
        }
        bool nullish = v == NULL || v->value_type == BSON_TYPE_NULL ||
                       v->value_type == BSON_TYPE_UNDEFINED;
        if (nullish && !s->preserve)
            continue;
        /* A non-array value unwinds to itself; null/missing only when preserved. */
        if (s->index_field == NULL) {
            if (docstore_doclist_push_copy(out, doc) != 0)
                return docstore_error_oom(err);
            continue;
        }
        docstore_mnode_t *root = docstore_mnode_from_doc(doc);
        if (root == NULL || !pipe_path_set(root, s->index_field, &null)) {
            docstore_mnode_free(root);
            return docstore_error_oom(err);
        }
        if (finish_tree(root, out, err) != 0)
            return -1;
    }
    return 0;
}

static int run_replace_root(const stage_run_t *sr, docstore_doclist_t *docs,
                            docstore_doclist_t *out, docstore_error_t *err)
{
    const stage_t *s = sr->s;
    for (size_t i = 0; i < docs->n; i++) {
        bson_value_t v;
        if (docstore_expr_eval(s->exprs[0], docs->docs[i], sr->vars, &v, err) != 0)
            return -1;
        if (v.value_type != BSON_TYPE_DOCUMENT) {
            docstore_error_set(err, DOCSTORE_LOCATION_40228,
                               "'newRoot' expression must evaluate to an object, but resulting "
                               "value was of type: '%s'",
                               v.value_type == BSON_TYPE_EOD ? "missing"
                                                             : docstore_type_name(v.value_type));
            bson_value_destroy(&v);
            return -1;
        }
        bson_t *r = bson_new_from_data(v.value.v_doc.data, v.value.v_doc.data_len);
        bson_value_destroy(&v);
        if (r == NULL || docstore_doclist_push(out, r) != 0)
            return docstore_error_oom(err);
    }
    return 0;
}

static int run_facet(const stage_run_t *sr, docstore_doclist_t *docs, docstore_doclist_t *out,
                     docstore_error_t *err)
{
    const stage_t *s = sr->s;
    docstore_collection_reader_fn reader = sr->reader;
    void *reader_ctx = sr->reader_ctx;
    bson_t *r = bson_new();
    for (size_t f = 0; f < s->n; f++) {
        docstore_doclist_t copy;
        docstore_doclist_init(&copy);
        for (size_t i = 0; i < docs->n; i++) {
            if (docstore_doclist_push_copy(&copy, docs->docs[i]) != 0) {
                docstore_doclist_free(&copy);
                bson_destroy(r);
                return docstore_error_oom(err);
            }
        }
        if (pipe_run_vars(s->subs[f], 0, &copy, reader, reader_ctx, sr->vars, err) != 0) {
            bson_destroy(r);
            return -1;
        }
        bson_t arr;
        bool ok = bson_append_array_begin(r, s->paths[f], -1, &arr);
        for (size_t i = 0; ok && i < copy.n; i++) {
            char key[16];
            const char *k;
            bson_uint32_to_string((uint32_t)i, &k, key, sizeof key);
            ok = bson_append_document(&arr, k, -1, copy.docs[i]);
        }
        ok = bson_append_array_end(r, &arr) && ok;
        docstore_doclist_free(&copy);
        if (!ok || r->len > 16 * 1024 * 1024) {
            bson_destroy(r);
            docstore_error_set(err, DOCSTORE_BSON_OBJECT_TOO_LARGE,
                               "document constructed by $facet exceeds 16777216 bytes");
            return -1;
        }
    }
    return docstore_doclist_push(out, r) == 0 ? 0 : docstore_error_oom(err);
}

/* Fisher-Yates over the first n slots; the rest are dropped. */
static int run_sample(const stage_run_t *sr, docstore_doclist_t *docs, docstore_doclist_t *out,
                      docstore_error_t *err)
{
    (void)out;
    (void)err;
    const stage_t *s = sr->s;
    size_t n = (uint64_t)s->num < docs->n ? (size_t)s->num : docs->n;
    for (size_t i = 0; i < n; i++) {
        size_t j = i + (size_t)arc4random_uniform((uint32_t)(docs->n - i));
        bson_t *t = docs->docs[i];
        docs->docs[i] = docs->docs[j];
        docs->docs[j] = t;
    }
    for (size_t i = n; i < docs->n; i++)
        bson_destroy(docs->docs[i]);
    docs->n = n;
    return 0;
}

static int run_union_with(const stage_run_t *sr, docstore_doclist_t *docs, docstore_doclist_t *out,
                          docstore_error_t *err)
{
    (void)out;
    const stage_t *s = sr->s;
    docstore_collection_reader_fn reader = sr->reader;
    void *reader_ctx = sr->reader_ctx;
    if (reader == NULL) {
        docstore_error_set(err, DOCSTORE_NOT_IMPLEMENTED, "$unionWith has no collection reader");
        return -1;
    }
    docstore_doclist_t other;
    docstore_doclist_init(&other);
    if (reader(reader_ctx, s->from, &other, err) != 0) {
        docstore_doclist_free(&other);
        return -1;
    }
    if (s->subs != NULL &&
        pipe_run_vars(s->subs[0], 0, &other, reader, reader_ctx, sr->vars, err) != 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < other.n; i++) {
        if (rc == 0 && docstore_doclist_push(docs, other.docs[i]) != 0)
            rc = docstore_error_oom(err);
        else if (rc != 0)
            bson_destroy(other.docs[i]);
    }
    free(other.docs);
    return rc;
}

/* A $sort stage: a bounded sorter over the list, keeping keep (0: all). */
static int run_sort(const stage_run_t *sr, docstore_doclist_t *docs, docstore_doclist_t *out,
                    docstore_error_t *err)
{
    (void)out;
    const docstore_pipeline_t *p = sr->p;
    const stage_t *s = sr->s;
    size_t keep = sort_keep(p, sr->si);
    docstore_sorter_t *st;
    if (docstore_sorter_new(s->sort, keep, p->mem_limit, p->disk_use,
                            DOCSTORE_SORT_AGGREGATE, &st, err) != 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < docs->n; i++) {
        if (rc == 0 && docstore_sorter_would_keep(st, docs->docs[i]))
            rc = docstore_sorter_add(st, docs->docs[i], err);
        else
            bson_destroy(docs->docs[i]);
        docs->docs[i] = NULL;
    }
    docs->n = 0;
    if (rc == 0)
        rc = docstore_sorter_finish(st, docs, err);
    docstore_sorter_free(st);
    return rc;
}

static int run_skip_limit(const stage_run_t *sr, docstore_doclist_t *docs, docstore_doclist_t *out,
                          docstore_error_t *err)
{
    (void)out;
    (void)err;
    const stage_t *s = sr->s;
    size_t n = docs->n;
    size_t from = 0, to = n;
    if (s->kind == ST_SKIP)
        from = (uint64_t)s->num < n ? (size_t)s->num : n;
    else
        to = (uint64_t)s->num < n ? (size_t)s->num : n;
    for (size_t i = 0; i < n; i++) {
        if (i >= from && i < to) {
            docs->docs[i - from] = docs->docs[i];
        } else {
            bson_destroy(docs->docs[i]);
        }
    }
    docs->n = to - from;
    return 0;
}

static int run_count(const stage_run_t *sr, docstore_doclist_t *docs, docstore_doclist_t *out,
                     docstore_error_t *err)
{
    const stage_t *s = sr->s;
    if (docs->n == 0)
        return 0;
    bson_t *b = bson_new();
    if (docs->n > INT32_MAX)
        BSON_APPEND_INT64(b, s->paths[0], (int64_t)docs->n);
    else
        BSON_APPEND_INT32(b, s->paths[0], (int32_t)docs->n);
    return docstore_doclist_push(out, b) == 0 ? 0 : docstore_error_oom(err);
}

static int run_group(const stage_run_t *sr, docstore_doclist_t *docs, docstore_doclist_t *out,
                     docstore_error_t *err)
{
    (void)out;
    return pipe_group_run(&sr->s->group, docs, sr->p->mem_limit, sr->p->disk_use, sr->vars,
                          sr->p->coll, err);
}

static int run_lookup(const stage_run_t *sr, docstore_doclist_t *docs, docstore_doclist_t *out,
                      docstore_error_t *err)
{
    return pipe_lookup_run(&sr->s->lookup, docs, out, sr->reader, sr->reader_ctx, sr->vars, err);
}

/* How each kind runs. in_place: the runner rewrites docs itself; otherwise
 * it appends its output to out (moving documents out of docs leaves NULL
 * slots), and docs becomes out. */
static const struct stage_runner {
    int (*run)(const stage_run_t *sr, docstore_doclist_t *docs, docstore_doclist_t *out,
               docstore_error_t *err);
    bool in_place;
} stage_runs[] = {
    [ST_MATCH] = {run_match, false},
    [ST_PROJECT] = {run_project, false},
    [ST_ADD_FIELDS] = {run_add_fields, false},
    [ST_UNSET] = {run_unset, false},
    [ST_SORT] = {run_sort, true},
    [ST_SKIP] = {run_skip_limit, true},
    [ST_LIMIT] = {run_skip_limit, true},
    [ST_COUNT] = {run_count, false},
    [ST_GROUP] = {run_group, true},
    [ST_UNWIND] = {run_unwind, false},
    [ST_LOOKUP] = {run_lookup, false},
    [ST_REPLACE_ROOT] = {run_replace_root, false},
    [ST_FACET] = {run_facet, false},
    [ST_SAMPLE] = {run_sample, true},
    [ST_UNION_WITH] = {run_union_with, true},
};

static int run_stage_in(const docstore_pipeline_t *p, size_t si, docstore_doclist_t *docs,
                        docstore_collection_reader_fn reader, void *reader_ctx, const bson_t *vars,
                        docstore_error_t *err);

/* Runs stage si with expressions, $addToSet, $min/$max and $lookup's join
 * comparing under the aggregate's collation (docstore_expr_set_collation). */
static int run_stage(const docstore_pipeline_t *p, size_t si, docstore_doclist_t *docs,
                     docstore_collection_reader_fn reader, void *reader_ctx, const bson_t *vars,
                     docstore_error_t *err)
{
    const docstore_collation_t *prev = docstore_expr_set_collation(p->coll);
    int rc = run_stage_in(p, si, docs, reader, reader_ctx, vars, err);
    docstore_expr_set_collation(prev);
    return rc;
}

static int run_stage_in(const docstore_pipeline_t *p, size_t si, docstore_doclist_t *docs,
                        docstore_collection_reader_fn reader, void *reader_ctx, const bson_t *vars,
                        docstore_error_t *err)
{
    const stage_run_t sr = {p, si, &p->stages[si], reader, reader_ctx, vars};
    const struct stage_runner *run = &stage_runs[sr.s->kind];
    docstore_doclist_t out;
    docstore_doclist_init(&out);
    if (run->in_place)
        return run->run(&sr, docs, &out, err);
    int rc = run->run(&sr, docs, &out, err);
    /* run_match moved its survivors out and left NULL slots. */
    size_t keep = 0;
    for (size_t i = 0; i < docs->n; i++) {
        if (docs->docs[i] != NULL)
            docs->docs[keep++] = docs->docs[i];
    }
    docs->n = keep;
    docstore_doclist_free(docs);
    *docs = out;
    if (rc != 0)
        docstore_doclist_free(docs);
    return rc;
}

static int run_from(const docstore_pipeline_t *p, size_t skip_sort, docstore_doclist_t *docs,
                    docstore_collection_reader_fn reader, void *reader_ctx, docstore_error_t *err)
{
    for (size_t i = 0; i < p->n; i++) {
        if (i + 1 == skip_sort)
            continue;
        if (run_stage(p, i, docs, reader, reader_ctx, NULL, err) != 0) {
            docstore_doclist_free(docs);
            return -1;
        }
    }
    return 0;
}

int docstore_pipeline_run(const docstore_pipeline_t *p, docstore_doclist_t *docs,
                          docstore_collection_reader_fn reader, void *reader_ctx,
                          docstore_error_t *err)
{
    return run_from(p, 0, docs, reader, reader_ctx, err);
}

int docstore_pipeline_run_sorted(const docstore_pipeline_t *p, docstore_doclist_t *docs,
                                 docstore_collection_reader_fn reader, void *reader_ctx,
                                 docstore_error_t *err)
{
    size_t keep;
    if (docstore_pipeline_leading_sort(p, &keep) == NULL)
        return run_from(p, 0, docs, reader, reader_ctx, err);
    size_t at = p->stages[0].kind == ST_MATCH ? 1 : 0;
    return run_from(p, at + 1, docs, reader, reader_ctx, err);
}

int pipe_run_vars(const docstore_pipeline_t *p, size_t from, docstore_doclist_t *docs,
                  docstore_collection_reader_fn reader, void *reader_ctx, const bson_t *vars,
                  docstore_error_t *err)
{
    for (size_t i = from; i < p->n; i++) {
        if (run_stage(p, i, docs, reader, reader_ctx, vars, err) != 0) {
            docstore_doclist_free(docs);
            return -1;
        }
    }
    return 0;
}

const docstore_matcher_t *pipe_leading_matcher(const docstore_pipeline_t *p)
{
    if (p == NULL || p->n == 0 || p->stages[0].kind != ST_MATCH)
        return NULL;
    return p->stages[0].matcher;
}
