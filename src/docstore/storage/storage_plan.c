/*
 * Storage: the scan planner. It looks at the filter's top-level conditions
 * (and those of a top-level $and, and the branches of a $or) for equality,
 * $in or range predicates on _id or on the leading field of an index and
 * turns them into byte ranges of encoded keys (st_plan_t). Ranges stay inside
 * the bound's type bracket, as MongoDB's index bounds do: $gt: 5 covers
 * numbers above 5, not strings. It also picks the index an ordered scan
 * walks for a sort.
 */
#include "docstore/storage/storage_internal.h"

#include <stdlib.h>
#include <string.h>

#define PLAN_OR (50 * 1000)

void st_plan_free(st_plan_t *p)
{
    for (size_t i = 0; i < p->n; i++) {
        buf_free(&p->r[i].lo);
        buf_free(&p->r[i].hi);
    }
    free(p->r);
    p->r = NULL;
    p->n = 0;
    for (size_t i = 0; i < p->nbranches; i++)
        st_plan_free(&p->branches[i]);
    free(p->branches);
    p->branches = NULL;
    p->nbranches = 0;
}

st_range_t *st_plan_add(st_plan_t *p)
{
    st_range_t *r = realloc(p->r, (p->n + 1) * sizeof *r);
    if (r == NULL)
        return NULL;
    p->r = r;
    st_range_t *x = &p->r[p->n++];
    buf_init(&x->lo, DOCSTORE_KEY_MAX);
    buf_init(&x->hi, DOCSTORE_KEY_MAX);
    return x;
}

bool st_point_ok(const bson_value_t *v)
{
    return v->value_type != BSON_TYPE_ARRAY && v->value_type != BSON_TYPE_REGEX;
}

bool st_bound_ok(const bson_value_t *v)
{
    switch (v->value_type) {
    case BSON_TYPE_ARRAY:
    case BSON_TYPE_REGEX:
    case BSON_TYPE_NULL:
    case BSON_TYPE_UNDEFINED:
    case BSON_TYPE_MINKEY:
    case BSON_TYPE_MAXKEY:
    case BSON_TYPE_EOD:
        return false;
    default:
        return true;
    }
}

/* Every key whose leading component is v: [enc(v), prefix_end(enc(v))). */
static int add_point(st_plan_t *p, const bson_value_t *v, bool desc, const docstore_key_coll_t *kc)
{
    st_range_t *r = st_plan_add(p);
    if (r == NULL || docstore_key_append_coll(&r->lo, v, desc, kc) != 0)
        return -1;
    if (!docstore_key_prefix_end((const uint8_t *)r->lo.data, r->lo.len, &r->hi))
        buf_reset(&r->hi);
    return 0;
}

int st_cmp_bytes(const buf_t *a, const buf_t *b)
{
    size_t n = a->len < b->len ? a->len : b->len;
    int c = n ? memcmp(a->data, b->data, n) : 0;
    return c ? c : (a->len > b->len) - (a->len < b->len);
}

/* A range on a descending field. Its keys are the ascending encodings
 * complemented, so the order flips: v >= lo bounds the keys from above
 * (below prefix_end(~enc(lo)) inclusive, below ~enc(lo) exclusive), v <= hi
 * from below (from ~enc(hi) inclusive, from prefix_end(~enc(hi)) exclusive),
 * and a missing side stops at the edge of the other bound's type bracket,
 * whose keys start with the complemented bracket byte. */
static bool desc_range_plan(const bson_value_t *lo, bool lo_incl, const bson_value_t *hi,
                            bool hi_incl, const docstore_key_coll_t *kc, st_plan_t *p)
{
    st_range_t *r = st_plan_add(p);
    if (r == NULL)
        return false;
    uint8_t lo_rank = docstore_key_rank((lo ? lo : hi)->value_type);
    uint8_t hi_rank = docstore_key_rank((hi ? hi : lo)->value_type);
    buf_t tmp;
    buf_init(&tmp, DOCSTORE_KEY_MAX);
    bool ok = true;
    if (hi) {
        ok = docstore_key_append_coll(&tmp, hi, true, kc) == 0;
        if (ok && hi_incl)
            ok = buf_append(&r->lo, tmp.data, tmp.len) == 0;
        else if (ok)
            ok = docstore_key_prefix_end((const uint8_t *)tmp.data, tmp.len, &r->lo);
    } else {
        uint8_t start = (uint8_t)~lo_rank; /* the start of lo's bracket */
        ok = buf_append(&r->lo, &start, 1) == 0;
    }
    buf_reset(&tmp);
    if (ok && lo) {
        ok = docstore_key_append_coll(&tmp, lo, true, kc) == 0;
        if (ok && lo_incl)
            ok = docstore_key_prefix_end((const uint8_t *)tmp.data, tmp.len, &r->hi);
        else if (ok)
            ok = buf_append(&r->hi, tmp.data, tmp.len) == 0;
    } else if (ok) {
        uint8_t end = (uint8_t)((uint8_t)~hi_rank + 1); /* the end of hi's bracket */
        ok = buf_append(&r->hi, &end, 1) == 0;
    }
    if (ok && lo_rank != hi_rank) {
        buf_reset(&r->hi);
        ok = buf_append(&r->hi, r->lo.data, r->lo.len) == 0;
    }
    buf_free(&tmp);
    return ok;
}

/* The ranges for one field's condition; false when it cannot use an index.
 * On a multikey index, $gt and $lt may hold for different elements of one
 * array, so only the lower bound (else the upper) narrows the scan. */
static bool field_plan(const bson_value_t *cond, bool desc, bool multikey,
                       const docstore_key_coll_t *kc, st_plan_t *p)
{
    if (cond->value_type != BSON_TYPE_DOCUMENT) {
        if (!st_point_ok(cond))
            return false;
        return add_point(p, cond, desc, kc) == 0;
    }
    bson_t doc;
    bson_iter_t it;
    if (!bson_init_static(&doc, cond->value.v_doc.data, cond->value.v_doc.data_len) ||
        !bson_iter_init(&it, &doc))
        return false;
    if (!bson_iter_next(&it) || bson_iter_key(&it)[0] != '$')
        return add_point(p, cond, desc, kc) == 0; /* an embedded document, compared whole */
    /* bson_iter_value points into the iterator: keep copies. */
    bson_value_t eqv, inv, lov, hiv;
    const bson_value_t *eq = NULL, *in = NULL, *lo = NULL, *hi = NULL;
    bool lo_incl = false, hi_incl = false;
    do {
        const char *op = bson_iter_key(&it);
        const bson_value_t *v = bson_iter_value(&it);
        if (strcmp(op, "$eq") == 0 && st_point_ok(v))
            eqv = *v, eq = &eqv;
        else if (strcmp(op, "$in") == 0 && v->value_type == BSON_TYPE_ARRAY)
            inv = *v, in = &inv;
        else if ((strcmp(op, "$gt") == 0 || strcmp(op, "$gte") == 0) && st_bound_ok(v))
            lov = *v, lo = &lov, lo_incl = op[3] == 'e';
        else if ((strcmp(op, "$lt") == 0 || strcmp(op, "$lte") == 0) && st_bound_ok(v))
            hiv = *v, hi = &hiv, hi_incl = op[3] == 'e';
    } while (bson_iter_next(&it));
    if (eq)
        return add_point(p, eq, desc, kc) == 0;
    if (in) {
        bson_t arr;
        bson_iter_t ai;
        if (!bson_init_static(&arr, in->value.v_doc.data, in->value.v_doc.data_len) ||
            !bson_iter_init(&ai, &arr))
            return false;
        while (bson_iter_next(&ai)) {
            const bson_value_t *v = bson_iter_value(&ai);
            if (!st_point_ok(v) || add_point(p, v, desc, kc) != 0)
                return false;
        }
        return true; /* $in: [] reads nothing */
    }
    if (lo == NULL && hi == NULL)
        return false;
    if (multikey && lo && hi)
        hi = NULL;
    if (desc)
        return desc_range_plan(lo, lo_incl, hi, hi_incl, kc, p);
    st_range_t *r = st_plan_add(p);
    if (r == NULL)
        return false;
    buf_t tmp;
    buf_init(&tmp, DOCSTORE_KEY_MAX);
    bool ok = true;
    uint8_t lo_rank = docstore_key_rank((lo ? lo : hi)->value_type);
    uint8_t hi_rank = docstore_key_rank((hi ? hi : lo)->value_type);
    /* Lower bound: the value (inclusive) or past every key starting with it. */
    if (lo) {
        ok = docstore_key_append_coll(&tmp, lo, false, kc) == 0;
        if (ok && lo_incl)
            ok = buf_append(&r->lo, tmp.data, tmp.len) == 0;
        else if (ok)
            ok = docstore_key_prefix_end((const uint8_t *)tmp.data, tmp.len, &r->lo);
    } else {
        ok = buf_append(&r->lo, &hi_rank, 1) == 0; /* the start of hi's bracket */
    }
    buf_reset(&tmp);
    if (ok && hi) {
        ok = docstore_key_append_coll(&tmp, hi, false, kc) == 0;
        if (ok && hi_incl)
            ok = docstore_key_prefix_end((const uint8_t *)tmp.data, tmp.len, &r->hi);
        else if (ok)
            ok = buf_append(&r->hi, tmp.data, tmp.len) == 0;
    } else if (ok) {
        uint8_t end = (uint8_t)(lo_rank + 1); /* the end of lo's bracket */
        ok = buf_append(&r->hi, &end, 1) == 0;
    }
    if (ok && lo_rank != hi_rank) {
        /* {$gt: 5, $lt: "a"}: no value is in both brackets. */
        buf_reset(&r->hi);
        ok = buf_append(&r->hi, r->lo.data, r->lo.len) == 0;
    }
    buf_free(&tmp);
    return ok;
}

/* Whether v holds a string (or symbol), at any depth. */
static bool has_string(const bson_value_t *v, int depth)
{
    if (v->value_type == BSON_TYPE_UTF8 || v->value_type == BSON_TYPE_SYMBOL)
        return true;
    if (v->value_type != BSON_TYPE_DOCUMENT && v->value_type != BSON_TYPE_ARRAY)
        return false;
    bson_iter_t it;
    if (depth > 100 || !bson_iter_init_from_data(&it, v->value.v_doc.data, v->value.v_doc.data_len))
        return true;
    while (bson_iter_next(&it)) {
        if (has_string(bson_iter_value(&it), depth + 1))
            return true;
    }
    return false;
}

/* A $or whose every branch has an access path reads the union of those. */
static void plan_or(bson_iter_t *it, st_coll_t *c, const bson_t *qc, st_plan_t *best, int depth)
{
    st_plan_t orp = {.score = PLAN_OR};
    bson_iter_t ai;
    bool ok = bson_iter_recurse(it, &ai);
    while (ok && bson_iter_next(&ai)) {
        uint32_t len;
        const uint8_t *data;
        bson_t sub;
        ok = BSON_ITER_HOLDS_DOCUMENT(&ai);
        if (ok) {
            bson_iter_document(&ai, &len, &data);
            ok = bson_init_static(&sub, data, len);
        }
        st_plan_t b = {.score = ST_PLAN_NONE};
        if (ok)
            st_plan_conditions(&sub, &sub, c, qc, &b, depth + 1);
        ok = ok && b.score < ST_PLAN_NONE;
        st_plan_t *nb = ok ? realloc(orp.branches, (orp.nbranches + 1) * sizeof *nb) : NULL;
        if (nb == NULL) {
            ok = false;
            st_plan_free(&b);
            break;
        }
        orp.branches = nb;
        st_plan_normalize(&b);
        orp.branches[orp.nbranches++] = b;
    }
    if (ok && orp.nbranches > 0 && orp.score < best->score) {
        st_plan_free(best);
        *best = orp;
    } else {
        st_plan_free(&orp);
    }
}

/* Considers every top-level condition (and those inside a top-level $and,
 * and the branches of a $or). conj is the conjunction filter belongs to (the
 * whole filter, or a $or branch): a sparse or partial index is a candidate
 * only when conj guarantees every match is in it. */
void st_plan_conditions(const bson_t *filter, const bson_t *conj, st_coll_t *c, const bson_t *qc,
                        st_plan_t *best, int depth)
{
    bson_iter_t it;
    if (depth > 4 || !bson_iter_init(&it, filter))
        return;
    while (bson_iter_next(&it)) {
        const char *f = bson_iter_key(&it);
        if (strcmp(f, "$and") == 0 && BSON_ITER_HOLDS_ARRAY(&it)) {
            bson_iter_t ai;
            bson_iter_recurse(&it, &ai);
            while (bson_iter_next(&ai)) {
                if (!BSON_ITER_HOLDS_DOCUMENT(&ai))
                    continue;
                uint32_t len;
                const uint8_t *data;
                bson_iter_document(&ai, &len, &data);
                bson_t sub;
                if (bson_init_static(&sub, data, len))
                    st_plan_conditions(&sub, conj, c, qc, best, depth + 1);
            }
            continue;
        }
        if (strcmp(f, "$or") == 0 && BSON_ITER_HOLDS_ARRAY(&it)) {
            plan_or(&it, c, qc, best, depth);
            continue;
        }
        if (f[0] == '$')
            continue;
        const bson_value_t *cond = bson_iter_value(&it);
        /* Candidates: _id (score 0 points, 3 ranges), then each index whose
         * leading field is f (unique points 1, points 2, ranges 4). */
        for (size_t i = 0; i <= c->nindexes; i++) {
            bool is_id = i == c->nindexes;
            const st_index_t *ix = is_id ? NULL : &c->indexes[i];
            if (is_id ? strcmp(f, "_id") != 0 : strcmp(ix->fields[0], f) != 0)
                continue;
            if (!is_id && !st_index_usable(ix, conj))
                continue;
            /* An index under another collation than the query's (_id is
             * binary) orders strings otherwise: only string-free bounds. */
            bool same_coll = is_id ? qc == NULL : st_index_coll_is(ix, qc);
            if (!same_coll && has_string(cond, 0))
                continue;
            st_plan_t p = {0};
            if (!field_plan(cond, is_id ? false : ix->desc[0], is_id ? false : ix->multikey,
                            is_id ? NULL : st_index_kc(ix), &p)) {
                st_plan_free(&p);
                continue;
            }
            int score;
            bool is_range = p.n == 1 && cond->value_type == BSON_TYPE_DOCUMENT;
            if (is_range) {
                /* a document condition: points ($eq/$in/embedded doc) or a range */
                bson_t d;
                bson_iter_t di;
                is_range =
                    bson_init_static(&d, cond->value.v_doc.data, cond->value.v_doc.data_len) &&
                    bson_iter_init(&di, &d) && bson_iter_next(&di) &&
                    bson_iter_key(&di)[0] == '$' && !bson_iter_init_find(&di, &d, "$eq") &&
                    !bson_iter_init_find(&di, &d, "$in");
            }
            if (is_id)
                score = is_range ? 3 : 0;
            else
                score = is_range ? 4 : (ix->unique && ix->nfields == 1 ? 1 : 2);
            /* The target (index number, or nindexes for _id) rides in the low digits. */
            if (score * 1000 + (int)i < best->score) {
                st_plan_free(best);
                *best = p;
                best->score = score * 1000 + (int)i;
                best->cond = *cond;
            } else {
                st_plan_free(&p);
            }
        }
    }
}

static int range_cmp(const void *a, const void *b)
{
    return st_cmp_bytes(&((const st_range_t *)a)->lo, &((const st_range_t *)b)->lo);
}

/* Sorts ranges and merges overlapping ones, so no key is read twice. */
void st_plan_normalize(st_plan_t *p)
{
    if (p->n < 2)
        return;
    qsort(p->r, p->n, sizeof *p->r, range_cmp);
    size_t w = 0;
    for (size_t i = 1; i < p->n; i++) {
        st_range_t *cur = &p->r[w], *nx = &p->r[i];
        bool cur_open = cur->hi.len == 0;
        if (cur_open || st_cmp_bytes(&nx->lo, &cur->hi) <= 0) {
            if (!cur_open && (nx->hi.len == 0 || st_cmp_bytes(&nx->hi, &cur->hi) > 0)) {
                buf_t t = cur->hi;
                cur->hi = nx->hi;
                nx->hi = t;
            }
            buf_free(&nx->lo);
            buf_free(&nx->hi);
        } else {
            w++;
            if (w != i) {
                p->r[w] = *nx;
                buf_init(&nx->lo, DOCSTORE_KEY_MAX);
                buf_init(&nx->hi, DOCSTORE_KEY_MAX);
            }
        }
    }
    for (size_t i = w + 1; i < p->n; i++) {
        buf_free(&p->r[i].lo);
        buf_free(&p->r[i].hi);
    }
    p->n = w + 1;
}
/* Whether index ix (NULL: _id) serves a sort on fields/dirs from its field
 * off on (off 1: the filter fixes the leading field to one value): its
 * pattern there holds those fields, all in the sort's directions (*reverse
 * false) or all reversed (*reverse true), and no document ever put an array
 * on its paths (a multikey index orders documents by each element, not by the
 * document's sort key). */
static bool index_serves_sort(const st_index_t *ix, size_t off, const char *const *fields,
                              const int *dirs, size_t n, const bson_t *qc, bool *reverse)
{
    if (ix == NULL) {
        *reverse = dirs[0] < 0;
        return off == 0 && n == 1 && strcmp(fields[0], "_id") == 0 && qc == NULL;
    }
    /* Another collation orders strings otherwise (MongoDB too sorts then). */
    if (ix->multikey || ix->nfields < off + n || !st_index_coll_is(ix, qc))
        return false;
    bool same = true, flipped = true;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(ix->fields[off + i], fields[i]) != 0)
            return false;
        bool want_desc = dirs[i] < 0;
        same = same && ix->desc[off + i] == want_desc;
        flipped = flipped && ix->desc[off + i] != want_desc;
    }
    *reverse = !same;
    return same || flipped;
}

/* The index (nindexes: _id; more: none) an ordered scan walks for a sort on
 * fields/dirs, given the filter's access path best (normalized). */
size_t st_plan_ordered_target(const st_coll_t *c, const bson_t *filter, const bson_t *qc,
                              const st_plan_t *best, const char *const *fields, const int *dirs,
                              size_t n, size_t *off /* OUT */, bool *reverse /* OUT */)
{
    size_t target = c->nindexes + 1; /* none yet */
    *off = 0;
    *reverse = false;
    if (best->score < ST_PLAN_NONE) {
        /* The filter's access path must be the sort's index: the sort on its
         * first fields, or, when the filter fixes the leading field to one
         * value ({user: 5} on {user: 1, date: -1}), on the fields after it. */
        size_t t = (size_t)(best->score % 1000);
        int rank = best->score / 1000;
        const st_index_t *ix = t == c->nindexes ? NULL : &c->indexes[t];
        if (best->nbranches == 0 && index_serves_sort(ix, 0, fields, dirs, n, qc, reverse))
            target = t;
        else if (best->nbranches == 0 && ix != NULL && (rank == 1 || rank == 2) && best->n == 1 &&
                 index_serves_sort(ix, 1, fields, dirs, n, qc, reverse))
            target = t, *off = 1;
    } else {
        static const bson_t empty = BSON_INITIALIZER;
        for (size_t i = 0; i <= c->nindexes && target > c->nindexes; i++) {
            if (i < c->nindexes && !st_index_usable(&c->indexes[i], filter ? filter : &empty))
                continue; /* sparse or partial: would miss documents */
            if (index_serves_sort(i == c->nindexes ? NULL : &c->indexes[i], 0, fields, dirs, n, qc,
                                  reverse))
                target = i;
        }
    }
    return target;
}
