/*
 * Sorting documents as MongoDB's find and $sort do (see sort.h).
 *
 * Each sort field yields one key per document, computed the way MongoDB builds
 * sort keys: the path is followed through embedded documents and through
 * arrays of documents (a numeric component picks that element instead); an
 * array at the end of the path contributes its elements; the key is the
 * smallest value reached for an ascending field and the largest for a
 * descending one. A missing field (or a path stopped by a scalar) is null; an
 * empty array is "undefined", which sorts after MinKey and before null, as the
 * manual says ("the empty array as less than a null value or a missing field
 * value").
 *
 * Known difference: MongoDB correlates the keys of two sort fields under the
 * same array of documents ({"a.b": 1, "a.c": 1} takes the smallest (b, c) pair
 * of one element); here each field's key is taken on its own.
 *
 * docstore_sort_docs computes every key once, then merge-sorts (stable).
 */
#include "docstore/query/sort.h"
#include "docstore/query/value.h"

#include <stdlib.h>
#include <string.h>

struct sort_field {
    char *path;         /* owned; the dotted path as given */
    char *path_buf;     /* owned; '.' replaced by '\0' */
    const char **parts; /* owned; pointers into path_buf */
    int *part_len;      /* owned */
    int *part_index;    /* owned; -1 when not an array index */
    size_t nparts;
    int dir; /* 1 ascending, -1 descending */
    const docstore_collation_t *coll; /* strings compare under it (NULL: bytes); borrowed */
};

struct docstore_sort {
    struct sort_field *fields; /* owned */
    size_t nfields;
};

static const bson_value_t null_value = {.value_type = BSON_TYPE_NULL};
static const bson_value_t undefined_value = {.value_type = BSON_TYPE_UNDEFINED};

/* Type rank for sort keys: undefined (the empty array) sorts below null. */
static int key_rank(const bson_value_t *v)
{
    if (v->value_type == BSON_TYPE_UNDEFINED)
        return 4;
    return docstore_type_rank(v->value_type);
}

static int key_compare(const bson_value_t *a, const bson_value_t *b,
                       const docstore_collation_t *coll)
{
    int ra = key_rank(a), rb = key_rank(b);
    if (ra != rb)
        return ra < rb ? -1 : 1;
    if (ra == 4)
        return 0;
    return docstore_value_compare_coll(a, b, coll);
}

/* The key being built: the best value so far (borrowed from the document). */
struct key_acc {
    bson_value_t best;
    bool have;
    int dir;
    const docstore_collation_t *coll;
};

static void acc_offer(struct key_acc *acc, const bson_value_t *v)
{
    if (!acc->have) {
        acc->best = *v;
        acc->have = true;
        return;
    }
    int c = key_compare(v, &acc->best, acc->coll);
    if ((acc->dir > 0 && c < 0) || (acc->dir < 0 && c > 0))
        acc->best = *v;
}

static void key_walk_doc(const struct sort_field *f, const uint8_t *data, uint32_t len, size_t i,
                         struct key_acc *acc);

static void key_walk_value(const struct sort_field *f, const bson_value_t *v, size_t i,
                           struct key_acc *acc)
{
    bson_iter_t it;
    if (i == f->nparts) {
        if (v->value_type != BSON_TYPE_ARRAY) {
            acc_offer(acc, v);
            return;
        }
        bool any = false;
        if (bson_iter_init_from_data(&it, v->value.v_doc.data, v->value.v_doc.data_len))
            while (bson_iter_next(&it)) {
                acc_offer(acc, bson_iter_value(&it));
                any = true;
            }
        if (!any)
            acc_offer(acc, &undefined_value);
        return;
    }
    if (v->value_type == BSON_TYPE_DOCUMENT) {
        key_walk_doc(f, v->value.v_doc.data, v->value.v_doc.data_len, i, acc);
        return;
    }
    if (v->value_type != BSON_TYPE_ARRAY ||
        !bson_iter_init_from_data(&it, v->value.v_doc.data, v->value.v_doc.data_len)) {
        acc_offer(acc, &null_value);
        return;
    }
    int index = f->part_index[i];
    if (index >= 0) {
        /* a positional component takes the element at that index only; an
         * array found there is one value, not expanded ("a.0" of [[1]] is [1]) */
        for (int k = 0; bson_iter_next(&it); k++)
            if (k == index) {
                if (i + 1 == f->nparts)
                    acc_offer(acc, bson_iter_value(&it));
                else
                    key_walk_value(f, bson_iter_value(&it), i + 1, acc);
                return;
            }
        acc_offer(acc, &null_value);
        return;
    }
    /* every element: documents are followed, anything else (or nothing) is null */
    bool any = false;
    while (bson_iter_next(&it)) {
        const bson_value_t *e = bson_iter_value(&it);
        if (e->value_type == BSON_TYPE_DOCUMENT)
            key_walk_doc(f, e->value.v_doc.data, e->value.v_doc.data_len, i, acc);
        else
            acc_offer(acc, &null_value);
        any = true;
    }
    if (!any)
        acc_offer(acc, &null_value);
}

static void key_walk_doc(const struct sort_field *f, const uint8_t *data, uint32_t len, size_t i,
                         struct key_acc *acc)
{
    bson_iter_t it;
    if (!bson_iter_init_from_data(&it, data, len) ||
        !bson_iter_find_w_len(&it, f->parts[i], f->part_len[i])) {
        acc_offer(acc, &null_value);
        return;
    }
    key_walk_value(f, bson_iter_value(&it), i + 1, acc);
}

static bson_value_t sort_key(const struct sort_field *f, const bson_t *doc)
{
    struct key_acc acc = {.have = false, .dir = f->dir, .coll = f->coll};
    key_walk_doc(f, bson_get_data(doc), doc->len, 0, &acc);
    return acc.have ? acc.best : null_value;
}

static void field_free(struct sort_field *f)
{
    free(f->path);
    free(f->path_buf);
    free(f->parts);
    free(f->part_len);
    free(f->part_index);
}

static int field_init(struct sort_field *f, const char *path, int dir, docstore_error_t *err)
{
    size_t count = 1;
    for (const char *p = path; *p; p++)
        count += *p == '.';
    f->dir = dir;
    f->path = strdup(path);
    f->path_buf = strdup(path);
    f->parts = calloc(count, sizeof *f->parts);
    f->part_len = calloc(count, sizeof *f->part_len);
    f->part_index = calloc(count, sizeof *f->part_index);
    if (f->path == NULL || f->path_buf == NULL || f->parts == NULL || f->part_len == NULL ||
        f->part_index == NULL) {
        docstore_error_oom(err);
        return -1;
    }
    char *p = f->path_buf;
    for (size_t i = 0; i < count; i++) {
        char *dot = strchr(p, '.');
        if (dot != NULL)
            *dot = '\0';
        f->parts[i] = p;
        f->part_len[i] = (int)strlen(p);
        f->part_index[i] = docstore_path_part_index(p, f->part_len[i]);
        if (f->part_len[i] == 0) {
            docstore_error_set(err, DOCSTORE_BAD_VALUE,
                               "FieldPath field names may not be empty strings.");
            return -1;
        }
        p = dot ? dot + 1 : p;
    }
    f->nparts = count;
    return 0;
}

/* 1 or -1 from a sort spec value; 0 when it is neither. */
static int direction_of(const bson_value_t *v)
{
    double d;
    if (!docstore_value_as_double(v, &d))
        return 0;
    return d == 1.0 ? 1 : (d == -1.0 ? -1 : 0);
}

int docstore_sort_new(const bson_t *spec, docstore_sort_t **out, docstore_error_t *err)
{
    *out = NULL;
    docstore_sort_t *s = calloc(1, sizeof *s);
    if (s == NULL) {
        docstore_error_oom(err);
        return -1;
    }
    uint32_t n = spec != NULL ? bson_count_keys(spec) : 0;
    s->fields = calloc(n ? n : 1, sizeof *s->fields);
    if (s->fields == NULL) {
        free(s);
        docstore_error_oom(err);
        return -1;
    }
    bson_iter_t it;
    if (n > 0 && bson_iter_init(&it, spec)) {
        while (bson_iter_next(&it)) {
            const bson_value_t *v = bson_iter_value(&it);
            if (v->value_type == BSON_TYPE_DOCUMENT) {
                bson_iter_t sub;
                if (bson_iter_recurse(&it, &sub) && bson_iter_find(&sub, "$meta")) {
                    docstore_error_set(err, DOCSTORE_NOT_IMPLEMENTED,
                                       "$meta sort keys are not supported by the docstore");
                    goto fail;
                }
                docstore_error_set(err, DOCSTORE_BAD_VALUE,
                                   "Illegal key in $sort specification: %s: %s", bson_iter_key(&it),
                                   "object");
                goto fail;
            }
            int dir = direction_of(v);
            if (dir == 0) {
                docstore_error_set(
                    err, DOCSTORE_BAD_VALUE,
                    "$sort key ordering must be 1 (for ascending) or -1 (for descending)");
                goto fail;
            }
            struct sort_field *f = &s->fields[s->nfields++];
            if (field_init(f, bson_iter_key(&it), dir, err) != 0)
                goto fail;
        }
    }
    *out = s;
    return 0;
fail:
    docstore_sort_free(s);
    return -1;
}

int docstore_sort_compare(const docstore_sort_t *s, const bson_t *a, const bson_t *b)
{
    for (size_t i = 0; i < s->nfields; i++) {
        bson_value_t ka = sort_key(&s->fields[i], a), kb = sort_key(&s->fields[i], b);
        int c = key_compare(&ka, &kb, s->fields[i].coll);
        if (c != 0)
            return s->fields[i].dir > 0 ? c : -c;
    }
    return 0;
}

/* Keys of document d are keys[d * nfields .. d * nfields + nfields - 1]. */
struct sort_ctx {
    const docstore_sort_t *s;
    const bson_value_t *keys;
};

static int compare_indexed(const struct sort_ctx *ctx, size_t a, size_t b)
{
    size_t nf = ctx->s->nfields;
    for (size_t i = 0; i < nf; i++) {
        int c = key_compare(&ctx->keys[a * nf + i], &ctx->keys[b * nf + i], ctx->s->fields[i].coll);
        if (c != 0)
            return ctx->s->fields[i].dir > 0 ? c : -c;
    }
    return 0;
}

/* Stable top-down merge sort of idx[lo, hi) using tmp. */
static void merge_sort(const struct sort_ctx *ctx, size_t *idx, size_t *tmp, size_t lo, size_t hi)
{
    if (hi - lo < 2)
        return;
    if (hi - lo <= 8) { /* insertion sort: stable and cheap on short runs */
        for (size_t i = lo + 1; i < hi; i++) {
            size_t v = idx[i], j = i;
            while (j > lo && compare_indexed(ctx, idx[j - 1], v) > 0) {
                idx[j] = idx[j - 1];
                j--;
            }
            idx[j] = v;
        }
        return;
    }
    size_t mid = lo + (hi - lo) / 2;
    merge_sort(ctx, idx, tmp, lo, mid);
    merge_sort(ctx, idx, tmp, mid, hi);
    if (compare_indexed(ctx, idx[mid - 1], idx[mid]) <= 0)
        return;
    size_t i = lo, j = mid, k = lo;
    while (i < mid && j < hi)
        tmp[k++] = compare_indexed(ctx, idx[j], idx[i]) < 0 ? idx[j++] : idx[i++];
    while (i < mid)
        tmp[k++] = idx[i++];
    while (j < hi)
        tmp[k++] = idx[j++];
    memcpy(idx + lo, tmp + lo, (hi - lo) * sizeof *idx);
}

/* Without memory for keys, falls back to a stable insertion sort comparing on the fly. */
static void insertion_sort_docs(const docstore_sort_t *s, bson_t **docs, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        bson_t *v = docs[i];
        size_t j = i;
        while (j > 0 && docstore_sort_compare(s, docs[j - 1], v) > 0) {
            docs[j] = docs[j - 1];
            j--;
        }
        docs[j] = v;
    }
}

void docstore_sort_docs(const docstore_sort_t *s, bson_t **docs, size_t n)
{
    if (n < 2 || s->nfields == 0)
        return;
    size_t nf = s->nfields;
    bson_value_t *keys = malloc(n * nf * sizeof *keys);
    size_t *idx = malloc(n * sizeof *idx);
    size_t *tmp = malloc(n * sizeof *tmp);
    bson_t **sorted = malloc(n * sizeof *sorted);
    if (keys == NULL || idx == NULL || tmp == NULL || sorted == NULL) {
        free(keys);
        free(idx);
        free(tmp);
        free(sorted);
        insertion_sort_docs(s, docs, n);
        return;
    }
    for (size_t d = 0; d < n; d++) {
        idx[d] = d;
        for (size_t i = 0; i < nf; i++)
            keys[d * nf + i] = sort_key(&s->fields[i], docs[d]);
    }
    struct sort_ctx ctx = {.s = s, .keys = keys};
    merge_sort(&ctx, idx, tmp, 0, n);
    for (size_t d = 0; d < n; d++)
        sorted[d] = docs[idx[d]];
    memcpy(docs, sorted, n * sizeof *docs);
    free(keys);
    free(idx);
    free(tmp);
    free(sorted);
}

size_t docstore_sort_nfields(const docstore_sort_t *s)
{
    return s->nfields;
}

const char *docstore_sort_field(const docstore_sort_t *s, size_t i, int *dir)
{
    *dir = s->fields[i].dir;
    return s->fields[i].path;
}

void docstore_sort_set_collation(docstore_sort_t *s, const docstore_collation_t *coll)
{
    for (size_t i = 0; i < s->nfields; i++)
        s->fields[i].coll = coll;
}

const docstore_collation_t *docstore_sort_collation(const docstore_sort_t *s)
{
    return s->nfields > 0 ? s->fields[0].coll : NULL;
}

void docstore_sort_free(docstore_sort_t *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->nfields; i++)
        field_free(&s->fields[i]);
    free(s->fields);
    free(s);
}
