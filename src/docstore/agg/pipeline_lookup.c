/*
 * The $lookup stage, equality form, as a hash join: the foreign collection is
 * read once through the reader callback, every value its foreignField holds
 * (arrays contribute each element; missing counts as null) goes into a hash
 * table, and each input document probes it with the values of its
 * localField. Matches keep the foreign collection's order.
 */
#include "docstore/agg/pipeline_internal.h"
#include "docstore/base/deadline.h"
#include "docstore/query/sorter.h"
#include "docstore/query/value.h"

#include <stdlib.h>
#include <string.h>

/* Values a $lookup field holds, flattening one level of arrays; a missing or
 * empty result is [null], which matches null and missing on the other side. */
typedef struct value_list {
    bson_value_t *v;
    size_t n, cap;
} value_list_t;

static bool vl_push(value_list_t *l, const bson_value_t *v)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4;
        bson_value_t *p = realloc(l->v, cap * sizeof *p);
        if (p == NULL)
            return false;
        l->v = p;
        l->cap = cap;
    }
    bson_value_t *dst = &l->v[l->n++];
    bson_value_copy(v, dst);
    if (dst->value_type == BSON_TYPE_UNDEFINED)
        dst->value_type = BSON_TYPE_NULL;
    return true;
}

static void vl_free(value_list_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        bson_value_destroy(&l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static bool field_values(const docstore_expr_t *e, const bson_t *doc, value_list_t *out,
                         docstore_error_t *err)
{
    bson_value_t v;
    if (docstore_expr_eval(e, doc, NULL, &v, err) != 0)
        return false;
    bool ok = true;
    if (v.value_type == BSON_TYPE_ARRAY) {
        bson_iter_t it;
        bson_iter_init_from_data(&it, v.value.v_doc.data, v.value.v_doc.data_len);
        while (ok && bson_iter_next(&it)) {
            const bson_value_t *el = bson_iter_value(&it);
            if (el->value_type == BSON_TYPE_ARRAY) {
                /* Arrays met while traversing the path flatten once more. */
                bson_iter_t in;
                bson_iter_init_from_data(&in, el->value.v_doc.data, el->value.v_doc.data_len);
                while (ok && bson_iter_next(&in))
                    ok = vl_push(out, bson_iter_value(&in));
            } else {
                ok = vl_push(out, el);
            }
        }
    } else if (v.value_type != BSON_TYPE_EOD) {
        ok = vl_push(out, &v);
    }
    if (ok && out->n == 0) {
        bson_value_t null = {.value_type = BSON_TYPE_NULL};
        ok = vl_push(out, &null);
    }
    bson_value_destroy(&v);
    if (!ok)
        docstore_error_oom(err);
    return ok;
}

/* One foreign value in the hash table. */
typedef struct join_entry {
    uint64_t hash;
    const bson_value_t *value; /* borrowed from the foreign value lists */
    size_t doc;                /* index of the foreign document */
    size_t next;               /* next entry in the bucket + 1, 0 = end */
} join_entry_t;

typedef struct join_table {
    join_entry_t *e;
    size_t n, cap;
    size_t *buckets; /* first entry + 1 */
    size_t nbuckets;
} join_table_t;

static bool join_add(join_table_t *t, const bson_value_t *v, size_t doc)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        join_entry_t *p = realloc(t->e, cap * sizeof *p);
        if (p == NULL)
            return false;
        t->e = p;
        t->cap = cap;
    }
    uint64_t h = pipe_value_hash(v);
    size_t b = (size_t)h & (t->nbuckets - 1);
    t->e[t->n] = (join_entry_t){h, v, doc, t->buckets[b]};
    t->buckets[b] = ++t->n;
    return true;
}

static int size_cmp(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

int pipe_lookup_run(const docstore_expr_t *local, const docstore_expr_t *foreign, const char *from,
                    const char *as, docstore_doclist_t *docs, docstore_doclist_t *out,
                    docstore_collection_reader_fn reader, void *reader_ctx, docstore_error_t *err)
{
    if (reader == NULL) {
        docstore_error_set(err, DOCSTORE_NOT_IMPLEMENTED, "$lookup has no collection reader");
        return -1;
    }
    docstore_doclist_t fdocs;
    docstore_doclist_init(&fdocs);
    if (reader(reader_ctx, from, &fdocs, err) != 0) {
        docstore_doclist_free(&fdocs);
        return -1;
    }
    int rc = 0;
    size_t out_bytes = 0; /* the stage's output, held in memory: bounded as a blocking stage */
    join_table_t t = {0};
    value_list_t *fvals = calloc(fdocs.n ? fdocs.n : 1, sizeof *fvals);
    size_t *hits = calloc(fdocs.n ? fdocs.n : 1, sizeof *hits);
    size_t *stamp = calloc(fdocs.n ? fdocs.n : 1, sizeof *stamp);
    size_t total = 0;
    for (size_t j = 0; fvals != NULL && j < fdocs.n && rc == 0; j++) {
        if (!field_values(foreign, fdocs.docs[j], &fvals[j], err))
            rc = -1;
        else
            total += fvals[j].n;
    }
    t.nbuckets = 64;
    while (t.nbuckets < total * 2)
        t.nbuckets *= 2;
    t.buckets = calloc(t.nbuckets, sizeof *t.buckets);
    if (fvals == NULL || hits == NULL || stamp == NULL || t.buckets == NULL) {
        docstore_error_oom(err);
        rc = -1;
    }
    for (size_t j = 0; rc == 0 && j < fdocs.n; j++) {
        for (size_t k = 0; k < fvals[j].n && rc == 0; k++) {
            if (!join_add(&t, &fvals[j].v[k], j)) {
                docstore_error_oom(err);
                rc = -1;
            }
        }
    }
    for (size_t i = 0; i < docs->n && rc == 0; i++) {
        value_list_t lv = {0};
        if (!field_values(local, docs->docs[i], &lv, err)) {
            vl_free(&lv);
            rc = -1;
            break;
        }
        size_t nhits = 0;
        for (size_t k = 0; k < lv.n; k++) {
            uint64_t h = pipe_value_hash(&lv.v[k]);
            for (size_t x = t.buckets[(size_t)h & (t.nbuckets - 1)]; x != 0; x = t.e[x - 1].next) {
                const join_entry_t *en = &t.e[x - 1];
                if (en->hash != h || stamp[en->doc] == i + 1)
                    continue;
                bool both_null = lv.v[k].value_type == BSON_TYPE_NULL &&
                                 en->value->value_type == BSON_TYPE_NULL;
                if (both_null || docstore_value_equal(&lv.v[k], en->value)) {
                    stamp[en->doc] = i + 1;
                    hits[nhits++] = en->doc;
                }
            }
        }
        vl_free(&lv);
        /* copying the matches is the cost: 600 x 600 stops within the budget */
        if (docstore_deadline_tick(1 + (uint32_t)(nhits / 8))) {
            rc = docstore_deadline_error(err);
            break;
        }
        qsort(hits, nhits, sizeof *hits, size_cmp);
        bson_t arr = BSON_INITIALIZER;
        for (size_t k = 0; k < nhits; k++) {
            char key[16];
            const char *kp;
            bson_uint32_to_string((uint32_t)k, &kp, key, sizeof key);
            if (!bson_append_document(&arr, kp, -1, fdocs.docs[hits[k]])) {
                docstore_error_set(err, DOCSTORE_BSON_OBJECT_TOO_LARGE,
                                   "$lookup result too large");
                rc = -1;
                break;
            }
        }
        bson_value_t av;
        uint32_t len = 0;
        av.value_type = BSON_TYPE_ARRAY;
        av.value.v_doc.data = bson_destroy_with_steal(&arr, true, &len);
        av.value.v_doc.data_len = len;
        if (rc == 0) {
            docstore_mnode_t *root = docstore_mnode_from_doc(docs->docs[i]);
            bson_t *r = bson_new();
            if (root == NULL || !pipe_path_set(root, as, &av) || !docstore_mnode_to_doc(root, r) ||
                r->len > 16 * 1024 * 1024) {
                docstore_error_set(err, DOCSTORE_BSON_OBJECT_TOO_LARGE,
                                   "$lookup result too large");
                bson_destroy(r);
                rc = -1;
            } else if ((out_bytes += r->len) > DOCSTORE_SORT_MEMORY_LIMIT) {
                docstore_error_set(err, DOCSTORE_QUERY_EXCEEDED_MEMORY_LIMIT,
                                   "PlanExecutor error during aggregation :: caused by :: $lookup "
                                   "exceeded memory limit of %zu bytes (the docstore holds a "
                                   "stage's output in memory)",
                                   DOCSTORE_SORT_MEMORY_LIMIT);
                bson_destroy(r);
                rc = -1;
            } else if (docstore_doclist_push(out, r) != 0) {
                docstore_error_oom(err);
                rc = -1;
            }
            docstore_mnode_free(root);
        }
        bson_value_destroy(&av);
    }
    for (size_t j = 0; fvals != NULL && j < fdocs.n; j++)
        vl_free(&fvals[j]);
    free(fvals);
    free(hits);
    free(stamp);
    free(t.e);
    free(t.buckets);
    docstore_doclist_free(&fdocs);
    return rc;
}
