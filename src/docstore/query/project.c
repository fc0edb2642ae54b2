/*
 * find projections (and the $project stage): the spec is compiled into a tree
 * of field names, one node per path component ("a.b": 1 and {a: {b: 1}} give
 * the same tree), each leaf saying what happens to the field: include,
 * exclude, $slice, $elemMatch, positional "$", or a computed value (an
 * aggregation expression, expr.h).
 *
 * A projection is either inclusion (only the named fields, _id by default,
 * then computed fields in spec order, then $elemMatch results, as MongoDB 4.4+
 * orders them) or exclusion (everything but the named fields). Both walk the
 * document once; through an array, a sub-projection applies to each element
 * (inclusion drops the scalar elements, exclusion keeps them).
 */
#include "docstore/query/project.h"
#include "docstore/query/expr.h"
#include "docstore/query/match.h"
#include "docstore/query/value.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum pnode_kind {
    PN_TREE = 0,       /* a sub-projection: kids apply to the embedded document(s) */
    PN_INCLUDE = 1,    /* a: 1 */
    PN_EXCLUDE = 2,    /* a: 0 */
    PN_SLICE = 3,      /* a: {$slice: ...} */
    PN_ELEMMATCH = 4,  /* a: {$elemMatch: ...} (top level only) */
    PN_COMPUTED = 5,   /* a: <expression> */
    PN_POSITIONAL = 6, /* "a.$": 1 */
};

typedef struct pnode pnode_t;

struct pnode {
    char *name; /* owned; this path component */
    enum pnode_kind kind;
    pnode_t **kids; /* PN_TREE: owned children in spec order */
    size_t nkids;
    bool has_computed;      /* PN_TREE: a computed field lies below */
    int64_t skip, limit;    /* PN_SLICE: skip may be negative (from the end) */
    bool has_skip;          /* PN_SLICE: the [skip, limit] form */
    docstore_matcher_t *em; /* PN_ELEMMATCH: {name: {$elemMatch: spec}}, owned */
    docstore_expr_t *expr;  /* PN_COMPUTED: owned */
};

struct docstore_projection {
    pnode_t *root;   /* a PN_TREE */
    bool inclusion;  /* inclusion mode, else exclusion */
    bool empty;      /* {}: the document as is */
    bool positional; /* has a "field.$" */
};

#define PROJECT_MAX_DEPTH 100

static void pnode_free(pnode_t *n)
{
    if (n == NULL)
        return;
    for (size_t i = 0; i < n->nkids; i++)
        pnode_free(n->kids[i]);
    free(n->kids);
    free(n->name);
    docstore_matcher_free(n->em);
    if (n->expr != NULL)
        docstore_expr_free(n->expr);
    free(n);
}

static pnode_t *pnode_new(const char *name, size_t len, enum pnode_kind kind)
{
    pnode_t *n = calloc(1, sizeof *n);
    if (n == NULL)
        return NULL;
    n->name = strndup(name, len);
    if (n->name == NULL) {
        free(n);
        return NULL;
    }
    n->kind = kind;
    return n;
}

static pnode_t *pnode_find(const pnode_t *tree, const char *name, size_t len)
{
    for (size_t i = 0; i < tree->nkids; i++)
        if (strncmp(tree->kids[i]->name, name, len) == 0 && tree->kids[i]->name[len] == '\0')
            return tree->kids[i];
    return NULL;
}

static int pnode_add(pnode_t *tree, pnode_t *kid, docstore_error_t *err)
{
    pnode_t **k = realloc(tree->kids, (tree->nkids + 1) * sizeof *k);
    if (k == NULL) {
        pnode_free(kid);
        return docstore_error_oom(err);
    }
    tree->kids = k;
    tree->kids[tree->nkids++] = kid;
    return 0;
}

/* What a spec entry does to the projection's mode. */
enum mode_vote {
    VOTE_NONE = 0,    /* $slice, _id */
    VOTE_INCLUDE = 1, /* inclusion, computed, positional */
    VOTE_EXCLUDE = 2, /* exclusion */
};

struct parse_state {
    docstore_projection_t *p;
    bool saw_include, saw_exclude, saw_elemmatch, saw_slice;
};

/* Places leaf (owned) at the dotted path full under root. */
static int insert_path(pnode_t *root, const char *full, pnode_t *leaf, docstore_error_t *err)
{
    pnode_t *t = root;
    const char *p = full;
    for (;;) {
        const char *dot = strchr(p, '.');
        if (dot == NULL)
            break;
        size_t len = (size_t)(dot - p);
        if (len == 0) {
            pnode_free(leaf);
            docstore_error_set(err, DOCSTORE_BAD_VALUE,
                               "FieldPath field names may not be empty strings.");
            return -1;
        }
        pnode_t *next = pnode_find(t, p, len);
        if (next == NULL) {
            next = pnode_new(p, len, PN_TREE);
            if (next == NULL || pnode_add(t, next, err) != 0) {
                pnode_free(leaf);
                return next == NULL ? docstore_error_oom(err) : -1;
            }
        } else if (next->kind != PN_TREE) {
            pnode_free(leaf);
            const char *tail = strchr(full, '.');
            docstore_error_set(err, DOCSTORE_LOCATION_31249,
                               "Path collision at %s remaining portion %s", full,
                               tail ? tail + 1 : full);
            return -1;
        }
        if (leaf->kind == PN_COMPUTED)
            next->has_computed = true;
        t = next;
        p = dot + 1;
    }
    if (*p == '\0') {
        pnode_free(leaf);
        docstore_error_set(err, DOCSTORE_BAD_VALUE,
                           "FieldPath field names may not be empty strings.");
        return -1;
    }
    if (pnode_find(t, p, strlen(p)) != NULL) {
        pnode_free(leaf);
        docstore_error_set(err, DOCSTORE_LOCATION_31250, "Path collision at %s", full);
        return -1;
    }
    free(leaf->name);
    leaf->name = strdup(p);
    if (leaf->name == NULL) {
        pnode_free(leaf);
        return docstore_error_oom(err);
    }
    return pnode_add(t, leaf, err);
}

static int vote(struct parse_state *st, const char *path, enum mode_vote v, bool is_id,
                bool computed, docstore_error_t *err)
{
    if (is_id || v == VOTE_NONE)
        return 0;
    if (v == VOTE_INCLUDE) {
        if (st->saw_exclude) {
            if (computed)
                docstore_error_set(
                    err, DOCSTORE_LOCATION_31252,
                    "Cannot use expression other than $meta in exclusion projection");
            else
                docstore_error_set(err, DOCSTORE_LOCATION_31253,
                                   "Cannot do inclusion on field %s in exclusion projection", path);
            return -1;
        }
        st->saw_include = true;
    } else {
        if (st->saw_include) {
            docstore_error_set(err, DOCSTORE_LOCATION_31254,
                               "Cannot do exclusion on field %s in inclusion projection", path);
            return -1;
        }
        st->saw_exclude = true;
    }
    return 0;
}

/* numberInt(): a number as int32, truncated and saturated as MongoDB reads $slice */
static int64_t as_int32(const bson_value_t *v)
{
    double d = 0;
    docstore_value_as_double(v, &d);
    if (isnan(d))
        return 0;
    return d >= 2147483647.0 ? 2147483647 : (d <= -2147483648.0 ? -2147483648LL : (int64_t)d);
}

static bool is_number_type(bson_type_t t)
{
    return t == BSON_TYPE_INT32 || t == BSON_TYPE_INT64 || t == BSON_TYPE_DOUBLE ||
           t == BSON_TYPE_DECIMAL128;
}

/* The find() form of $slice: n or [skip, limit]. */
static int parse_slice(const bson_value_t *v, pnode_t *n, docstore_error_t *err)
{
    if (is_number_type(v->value_type)) {
        n->limit = as_int32(v);
        return 0;
    }
    if (v->value_type != BSON_TYPE_ARRAY) {
        docstore_error_set(err, DOCSTORE_LOCATION_31273,
                           "$slice only supports numbers and [skip, limit] arrays");
        return -1;
    }
    bson_iter_t it;
    bson_value_t args[2];
    int count = 0;
    if (bson_iter_init_from_data(&it, v->value.v_doc.data, v->value.v_doc.data_len))
        while (bson_iter_next(&it)) {
            if (count < 2)
                args[count] = *bson_iter_value(&it);
            count++;
        }
    if (count != 2) {
        docstore_error_set(err, DOCSTORE_LOCATION_31272,
                           "$slice array argument should be of form [skip, limit]");
        return -1;
    }
    if (!is_number_type(args[0].value_type)) {
        docstore_error_set(err, DOCSTORE_LOCATION_31257,
                           "$slice expects the skip argument to be a number, got %s",
                           docstore_type_name(args[0].value_type));
        return -1;
    }
    if (!is_number_type(args[1].value_type)) {
        docstore_error_set(err, DOCSTORE_LOCATION_31258,
                           "$slice expects the limit argument to be a number, got %s",
                           docstore_type_name(args[1].value_type));
        return -1;
    }
    n->has_skip = true;
    n->skip = as_int32(&args[0]);
    n->limit = as_int32(&args[1]);
    if (n->limit <= 0) {
        docstore_error_set(err, DOCSTORE_LOCATION_31259, "$slice limit must be positive, got %lld",
                           (long long)n->limit);
        return -1;
    }
    return 0;
}

static bool value_is_number(const bson_value_t *v, double *d)
{
    return docstore_value_as_double(v, d) && (v->value_type != BSON_TYPE_DECIMAL128 || !isnan(*d));
}

static int parse_spec(struct parse_state *st, const uint8_t *data, uint32_t len, const char *prefix,
                      int depth, docstore_error_t *err);

/* One spec entry at full path. */
static int parse_entry(struct parse_state *st, const char *full, const bson_value_t *v, int depth,
                       docstore_error_t *err)
{
    if (!bson_utf8_validate(full, strlen(full), false)) {
        /* the name would be copied into the result: keep results valid BSON */
        docstore_error_set(err, DOCSTORE_BAD_VALUE, "projection field names must be valid UTF-8");
        return -1;
    }
    bool is_id = strcmp(full, "_id") == 0;
    const char *last = strrchr(full, '.');
    last = last ? last + 1 : full;
    if (last[0] == '$' && strcmp(last, "$") != 0) {
        docstore_error_set(
            err, DOCSTORE_LOCATION_16410,
            "FieldPath field names may not start with '$'. Consider using $getField or $setField.");
        return -1;
    }
    double d;
    pnode_t *n = NULL;
    if (strcmp(last, "$") == 0 || strstr(full, ".$.") != NULL) {
        /* "a.$": 1 */
        if (v->value_type == BSON_TYPE_DOCUMENT) {
            docstore_error_set(
                err, DOCSTORE_LOCATION_31271,
                "positional projection cannot be used with an expression or sub object");
            return -1;
        }
        if (v->value_type != BSON_TYPE_BOOL && !value_is_number(v, &d)) {
            docstore_error_set(err, DOCSTORE_LOCATION_31308,
                               "positional projection cannot be used with a literal");
            return -1;
        }
        if (last == full) {
            docstore_error_set(err, DOCSTORE_BAD_VALUE, "Positional projection '%s' is invalid",
                               full);
            return -1;
        }
        if (st->p->positional) {
            docstore_error_set(err, DOCSTORE_LOCATION_31276,
                               "Cannot specify more than one positional projection per query.");
            return -1;
        }
        if (st->saw_elemmatch) {
            docstore_error_set(err, DOCSTORE_LOCATION_31256,
                               "Cannot specify positional operator and $elemMatch.");
            return -1;
        }
        const char *first = strstr(full, ".$");
        if (first != NULL && (strstr(first + 2, ".$") != NULL || strcmp(first, ".$.$") == 0)) {
            docstore_error_set(err, DOCSTORE_LOCATION_31287,
                               "Cannot use positional operator twice: %s", full);
            return -1;
        }
        if (strstr(full, ".$.") != NULL) {
            docstore_error_set(
                err, DOCSTORE_LOCATION_31394,
                "As of 4.4, it's illegal to specify positional operator in the middle of a "
                "path.Positional projection may only be used at the end, for example: a.b.$. If "
                "the query previously used a form like a.b.$.d, remove the parts following the '$' "
                "and the results will be equivalent.");
            return -1;
        }
        if (v->value_type == BSON_TYPE_BOOL ? !v->value.v_bool : d == 0) {
            /* "a.$": 0 is an exclusion of a field named "$", which FieldPath refuses */
            docstore_error_set(err, DOCSTORE_LOCATION_16410,
                               "FieldPath field names may not start with '$'. Consider using "
                               "$getField or $setField.");
            return -1;
        }
        if (vote(st, full, VOTE_INCLUDE, false, false, err) != 0)
            return -1;
        st->p->positional = true;
        size_t plen = (size_t)(last - full) - 1;
        char *path = strndup(full, plen);
        n = pnode_new("", 0, PN_POSITIONAL);
        if (path == NULL || n == NULL) {
            free(path);
            pnode_free(n);
            return docstore_error_oom(err);
        }
        int rc = insert_path(st->p->root, path, n, err);
        free(path);
        return rc;
    }
    if (v->value_type == BSON_TYPE_BOOL || value_is_number(v, &d)) {
        bool include = v->value_type == BSON_TYPE_BOOL ? v->value.v_bool : d != 0;
        if (vote(st, full, include ? VOTE_INCLUDE : VOTE_EXCLUDE, is_id, false, err) != 0)
            return -1;
        n = pnode_new("", 0, include ? PN_INCLUDE : PN_EXCLUDE);
        return n == NULL ? docstore_error_oom(err) : insert_path(st->p->root, full, n, err);
    }
    if (v->value_type == BSON_TYPE_DOCUMENT) {
        bson_iter_t it;
        if (!bson_iter_init_from_data(&it, v->value.v_doc.data, v->value.v_doc.data_len) ||
            !bson_iter_next(&it)) {
            docstore_error_set(
                err, DOCSTORE_LOCATION_51270,
                "An empty sub-projection is not a valid value. Found empty object at path");
            return -1;
        }
        const char *op = bson_iter_key(&it);
        if (strcmp(op, "$slice") == 0) {
            n = pnode_new("", 0, PN_SLICE);
            if (n == NULL)
                return docstore_error_oom(err);
            if (parse_slice(bson_iter_value(&it), n, err) != 0) {
                /* not the find() form: maybe the aggregation $slice expression */
                docstore_error_t err2 = {0};
                pnode_free(n);
                n = pnode_new("", 0, PN_COMPUTED);
                if (n == NULL)
                    return docstore_error_oom(err);
                if (docstore_expr_new(v, &n->expr, &err2) != 0) {
                    docstore_error_clear(&err2);
                    pnode_free(n);
                    return -1; /* the find() form's error */
                }
                docstore_error_clear(err);
                if (vote(st, full, VOTE_INCLUDE, false, true, err) != 0) {
                    pnode_free(n);
                    return -1;
                }
                return insert_path(st->p->root, full, n, err);
            }
            st->saw_slice = true;
            return insert_path(st->p->root, full, n, err);
        }
        if (strcmp(op, "$elemMatch") == 0) {
            const bson_value_t *spec = bson_iter_value(&it);
            if (spec->value_type != BSON_TYPE_DOCUMENT) {
                docstore_error_set(err, DOCSTORE_LOCATION_31274,
                                   "elemMatch: Invalid argument, object required, but got %s",
                                   docstore_type_name(spec->value_type));
                return -1;
            }
            if (st->p->positional) {
                docstore_error_set(err, DOCSTORE_LOCATION_31255,
                                   "Cannot specify positional operator and $elemMatch.");
                return -1;
            }
            if (strchr(full, '.') != NULL) {
                docstore_error_set(err, DOCSTORE_LOCATION_31275,
                                   "Cannot use $elemMatch projection on a nested field.");
                return -1;
            }
            bson_t filter = BSON_INITIALIZER;
            BSON_APPEND_VALUE(&filter, full, v);
            n = pnode_new("", 0, PN_ELEMMATCH);
            int rc =
                n == NULL ? docstore_error_oom(err) : docstore_matcher_new(&filter, &n->em, err);
            bson_destroy(&filter);
            if (rc != 0) {
                pnode_free(n);
                return -1;
            }
            st->saw_elemmatch = true;
            return insert_path(st->p->root, full, n, err);
        }
        if (strcmp(op, "$meta") == 0) {
            docstore_error_set(err, DOCSTORE_NOT_IMPLEMENTED,
                               "$meta projections are not supported by the docstore");
            return -1;
        }
        if (op[0] != '$') {
            /* {a: {b: 1}}: a sub-projection, same as "a.b": 1 */
            if (depth >= PROJECT_MAX_DEPTH) {
                docstore_error_set(err, DOCSTORE_BAD_VALUE, "projection nested too deeply");
                return -1;
            }
            return parse_spec(st, v->value.v_doc.data, v->value.v_doc.data_len, full, depth + 1,
                              err);
        }
        /* an expression object: {$add: [...]} */
    }
    /* a literal or expression: a computed field */
    if (v->value_type != BSON_TYPE_DOCUMENT && st->saw_exclude) {
        char *json = NULL;
        bson_t one = BSON_INITIALIZER;
        BSON_APPEND_VALUE(&one, last, v);
        json = bson_as_relaxed_extended_json(&one, NULL);
        docstore_error_set(err, DOCSTORE_LOCATION_31310,
                           "Cannot use an expression %s in an exclusion projection",
                           json ? json : last);
        bson_free(json);
        bson_destroy(&one);
        return -1;
    }
    if (vote(st, full, VOTE_INCLUDE, false, true, err) != 0)
        return -1;
    n = pnode_new("", 0, PN_COMPUTED);
    if (n == NULL)
        return docstore_error_oom(err);
    if (docstore_expr_new(v, &n->expr, err) != 0) {
        pnode_free(n);
        return -1;
    }
    return insert_path(st->p->root, full, n, err);
}

static int parse_spec(struct parse_state *st, const uint8_t *data, uint32_t len, const char *prefix,
                      int depth, docstore_error_t *err)
{
    bson_iter_t it;
    if (!bson_iter_init_from_data(&it, data, len)) {
        docstore_error_set(err, DOCSTORE_BAD_VALUE, "invalid projection");
        return -1;
    }
    while (bson_iter_next(&it)) {
        const char *key = bson_iter_key(&it);
        char *full = NULL;
        if (prefix != NULL) {
            size_t n = strlen(prefix) + 1 + strlen(key) + 1;
            full = malloc(n);
            if (full == NULL)
                return docstore_error_oom(err);
            snprintf(full, n, "%s.%s", prefix, key);
        }
        int rc = parse_entry(st, full ? full : key, bson_iter_value(&it), depth, err);
        free(full);
        if (rc != 0)
            return -1;
    }
    return 0;
}

int docstore_projection_new(const bson_t *spec, docstore_projection_t **out, docstore_error_t *err)
{
    *out = NULL;
    docstore_projection_t *p = calloc(1, sizeof *p);
    if (p == NULL)
        return docstore_error_oom(err);
    p->root = pnode_new("", 0, PN_TREE);
    if (p->root == NULL) {
        free(p);
        return docstore_error_oom(err);
    }
    if (spec == NULL || bson_empty(spec)) {
        p->empty = true;
        *out = p;
        return 0;
    }
    struct parse_state st = {.p = p};
    if (parse_spec(&st, bson_get_data(spec), spec->len, NULL, 0, err) != 0) {
        docstore_projection_free(p);
        return -1;
    }
    pnode_t *id = pnode_find(p->root, "_id", 3);
    /* MongoDB's defaults when no field decided: $slice → exclusion, then
     * $elemMatch → inclusion, then {_id: 1} → inclusion, else exclusion */
    if (st.saw_include || st.saw_exclude)
        p->inclusion = st.saw_include;
    else if (st.saw_slice)
        p->inclusion = false;
    else
        p->inclusion = st.saw_elemmatch || (id != NULL && id->kind == PN_INCLUDE);
    if (p->inclusion && id == NULL) {
        /* _id is included unless excluded (output follows the document's order) */
        pnode_t *n = pnode_new("_id", 3, PN_INCLUDE);
        if (n == NULL || pnode_add(p->root, n, err) != 0) {
            docstore_projection_free(p);
            return n == NULL ? docstore_error_oom(err) : -1;
        }
    }
    *out = p;
    return 0;
}

/* ---- applying ---- */

static const uint8_t empty_doc[5] = {5, 0, 0, 0, 0};

struct apply_ctx {
    const docstore_projection_t *p;
    const bson_t *root; /* the whole document, for expressions and $elemMatch */
    int32_t pos;        /* positional index from the matcher, -1 when none */
    const bson_t *vars; /* user variables ($lookup's let), or NULL */
    docstore_error_t *err;
};

static int apply_tree(struct apply_ctx *c, const pnode_t *tree, const uint8_t *data, uint32_t len,
                      bson_t *out);

static void append_slice(const pnode_t *n, const char *key, const bson_value_t *v, bson_t *out)
{
    if (v->value_type != BSON_TYPE_ARRAY) {
        bson_append_value(out, key, -1, v);
        return;
    }
    bson_iter_t it;
    int64_t count = 0;
    if (bson_iter_init_from_data(&it, v->value.v_doc.data, v->value.v_doc.data_len))
        while (bson_iter_next(&it))
            count++;
    int64_t start, take;
    if (n->has_skip) {
        start = n->skip >= 0 ? n->skip : (count + n->skip < 0 ? 0 : count + n->skip);
        take = n->limit;
    } else if (n->limit >= 0) {
        start = 0;
        take = n->limit;
    } else {
        start = count + n->limit < 0 ? 0 : count + n->limit;
        take = count;
    }
    bson_t arr;
    bson_append_array_begin(out, key, -1, &arr);
    bson_iter_init_from_data(&it, v->value.v_doc.data, v->value.v_doc.data_len);
    int64_t i = 0, written = 0;
    while (bson_iter_next(&it) && written < take) {
        if (i++ < start)
            continue;
        char idx[16];
        const char *k;
        bson_uint32_to_string((uint32_t)written, &k, idx, sizeof idx);
        bson_append_value(&arr, k, -1, bson_iter_value(&it));
        written++;
    }
    bson_append_array_end(out, &arr);
}

/* Applies a sub-projection to each element of an array (inclusion drops scalars). */
static int apply_array(struct apply_ctx *c, const pnode_t *tree, const bson_value_t *v,
                       const char *key, bson_t *out, int depth)
{
    if (depth > PROJECT_MAX_DEPTH) {
        /* arrays nested deeper than MongoDB stores: kept as they are */
        bson_append_value(out, key, -1, v);
        return 0;
    }
    bson_t arr;
    bson_iter_t it;
    int rc = 0;
    bson_append_array_begin(out, key, -1, &arr);
    uint32_t k = 0;
    if (bson_iter_init_from_data(&it, v->value.v_doc.data, v->value.v_doc.data_len))
        while (rc == 0 && bson_iter_next(&it)) {
            const bson_value_t *e = bson_iter_value(&it);
            char idx[16];
            const char *ks;
            bson_uint32_to_string(k, &ks, idx, sizeof idx);
            if (e->value_type == BSON_TYPE_DOCUMENT) {
                bson_t sub;
                bson_append_document_begin(&arr, ks, -1, &sub);
                rc = apply_tree(c, tree, e->value.v_doc.data, e->value.v_doc.data_len, &sub);
                bson_append_document_end(&arr, &sub);
                k++;
            } else if (e->value_type == BSON_TYPE_ARRAY) {
                rc = apply_array(c, tree, e, ks, &arr, depth + 1);
                k++;
            } else if (!c->p->inclusion) {
                bson_append_value(&arr, ks, -1, e);
                k++;
            }
        }
    bson_append_array_end(out, &arr);
    return rc;
}

static int append_positional(struct apply_ctx *c, const char *key, const bson_value_t *v,
                             bson_t *out)
{
    if (v->value_type != BSON_TYPE_ARRAY) {
        bson_append_value(out, key, -1, v);
        return 0;
    }
    bson_iter_t it;
    int32_t k = 0;
    if (c->pos >= 0 && bson_iter_init_from_data(&it, v->value.v_doc.data, v->value.v_doc.data_len))
        while (bson_iter_next(&it)) {
            if (k++ == c->pos) {
                bson_t arr;
                bson_append_array_begin(out, key, -1, &arr);
                bson_append_value(&arr, "0", 1, bson_iter_value(&it));
                bson_append_array_end(out, &arr);
                return 0;
            }
        }
    docstore_error_set(c->err, DOCSTORE_LOCATION_51246,
                       "positional operator '.$' couldn't find a matching element in the array");
    return -1;
}

static int append_computed(struct apply_ctx *c, const pnode_t *n, bson_t *out)
{
    bson_value_t v;
    if (docstore_expr_eval(n->expr, c->root, c->vars, &v, c->err) != 0)
        return -1;
    if (v.value_type != BSON_TYPE_EOD)
        bson_append_value(out, n->name, -1, &v);
    bson_value_destroy(&v);
    return 0;
}

static int apply_tree(struct apply_ctx *c, const pnode_t *tree, const uint8_t *data, uint32_t len,
                      bson_t *out)
{
    bool incl = c->p->inclusion;
    bson_iter_t it;
    /* which TREE kids with computed fields were written while walking the document */
    bool done_stack[64];
    bool *done = tree->nkids <= 64 ? done_stack : calloc(tree->nkids, sizeof *done);
    if (done == NULL)
        return docstore_error_oom(c->err);
    memset(done, 0, tree->nkids * sizeof *done);
    int rc = 0;
    if (bson_iter_init_from_data(&it, data, len)) {
        while (rc == 0 && bson_iter_next(&it)) {
            const char *key = bson_iter_key(&it);
            const bson_value_t *v = bson_iter_value(&it);
            const pnode_t *n = NULL;
            size_t ni = 0;
            for (; ni < tree->nkids; ni++)
                if (strcmp(tree->kids[ni]->name, key) == 0) {
                    n = tree->kids[ni];
                    break;
                }
            if (n == NULL) {
                if (!incl)
                    bson_append_value(out, key, -1, v);
                continue;
            }
            switch (n->kind) {
            case PN_INCLUDE:
                bson_append_value(out, key, -1, v);
                break;
            case PN_EXCLUDE:
                break;
            case PN_SLICE:
                append_slice(n, key, v, out);
                break;
            case PN_POSITIONAL:
                rc = append_positional(c, key, v, out);
                break;
            case PN_TREE:
                if (v->value_type == BSON_TYPE_DOCUMENT) {
                    bson_t sub;
                    bson_append_document_begin(out, key, -1, &sub);
                    rc = apply_tree(c, n, v->value.v_doc.data, v->value.v_doc.data_len, &sub);
                    bson_append_document_end(out, &sub);
                    done[ni] = true;
                } else if (v->value_type == BSON_TYPE_ARRAY) {
                    rc = apply_array(c, n, v, key, out, 0);
                    done[ni] = true;
                } else if (!incl) {
                    bson_append_value(out, key, -1, v);
                }
                break;
            case PN_COMPUTED:  /* written after the walk, in spec order */
            case PN_ELEMMATCH: /* written last */
                break;
            }
        }
    }
    /* computed fields in spec order; sub-documents holding only computed fields */
    for (size_t i = 0; rc == 0 && i < tree->nkids; i++) {
        const pnode_t *n = tree->kids[i];
        if (n->kind == PN_COMPUTED) {
            rc = append_computed(c, n, out);
        } else if (n->kind == PN_TREE && n->has_computed && !done[i]) {
            /* missing or a scalar: a new sub-document of the computed fields */
            bson_t sub;
            bson_append_document_begin(out, n->name, -1, &sub);
            rc = apply_tree(c, n, empty_doc, sizeof empty_doc, &sub);
            bson_append_document_end(out, &sub);
        }
    }
    /* $elemMatch results come last (top level only) */
    for (size_t i = 0; rc == 0 && tree == c->p->root && i < tree->nkids; i++) {
        const pnode_t *n = tree->kids[i];
        int32_t pos = -1;
        if (n->kind != PN_ELEMMATCH || !docstore_matcher_matches(n->em, c->root, &pos) || pos < 0)
            continue;
        bson_iter_t f;
        if (!bson_iter_init_find(&f, c->root, n->name) || bson_iter_type(&f) != BSON_TYPE_ARRAY)
            continue;
        const bson_value_t *arr = bson_iter_value(&f);
        bson_iter_t e;
        int32_t k = 0;
        if (bson_iter_init_from_data(&e, arr->value.v_doc.data, arr->value.v_doc.data_len))
            while (bson_iter_next(&e))
                if (k++ == pos) {
                    bson_t one;
                    bson_append_array_begin(out, n->name, -1, &one);
                    bson_append_value(&one, "0", 1, bson_iter_value(&e));
                    bson_append_array_end(out, &one);
                    break;
                }
    }
    if (done != done_stack)
        free(done);
    return rc;
}

int docstore_projection_apply_positional(const docstore_projection_t *p, const bson_t *doc,
                                         int32_t array_pos, bson_t *out, docstore_error_t *err)
{
    if (p->empty) {
        bson_concat(out, doc);
        return 0;
    }
    struct apply_ctx c = {.p = p, .root = doc, .pos = array_pos, .err = err};
    return apply_tree(&c, p->root, bson_get_data(doc), doc->len, out);
}

int docstore_projection_apply(const docstore_projection_t *p, const bson_t *doc, bson_t *out,
                              docstore_error_t *err)
{
    return docstore_projection_apply_positional(p, doc, -1, out, err);
}

int docstore_projection_apply_vars(const docstore_projection_t *p, const bson_t *doc,
                                   const bson_t *vars, bson_t *out, docstore_error_t *err)
{
    if (p->empty) {
        bson_concat(out, doc);
        return 0;
    }
    struct apply_ctx c = {.p = p, .root = doc, .pos = -1, .vars = vars, .err = err};
    return apply_tree(&c, p->root, bson_get_data(doc), doc->len, out);
}

bool docstore_projection_is_positional(const docstore_projection_t *p)
{
    return p->positional;
}

void docstore_projection_free(docstore_projection_t *p)
{
    if (p == NULL)
        return;
    pnode_free(p->root);
    free(p);
}
