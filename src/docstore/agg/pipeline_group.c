/*
 * The $group stage: documents are bucketed by the value of the _id expression
 * (a hash table keyed by pipe_value_hash, resolved with MongoDB equality, so
 * 1 and 1.0 share a group and a missing key groups with null), each group
 * carrying one state per accumulator. Groups come out in the order their
 * first document arrived. The state is charged in bytes as it grows (keys,
 * held values, $push/$addToSet arrays): past the limit (100 MB, MongoDB's
 * internalDocumentSourceGroupMaxMemoryBytes) the stage fails with 292.
 */
#include "docstore/agg/pipeline_internal.h"
#include "docstore/base/deadline.h"
#include "docstore/query/sorter.h"
#include "docstore/query/value.h"

#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    pipe_acc_op_t op;
} acc_names[] = {
    {"$sum", ACC_SUM},   {"$avg", ACC_AVG},           {"$min", ACC_MIN},
    {"$max", ACC_MAX},   {"$first", ACC_FIRST},       {"$last", ACC_LAST},
    {"$push", ACC_PUSH}, {"$addToSet", ACC_ADD_TO_SET}, {"$count", ACC_COUNT},
    {"$mergeObjects", ACC_MERGE},
};

void pipe_group_free(pipe_group_t *g)
{
    docstore_expr_free(g->id);
    for (size_t i = 0; i < g->n; i++) {
        free(g->names[i]);
        docstore_expr_free(g->exprs[i]);
    }
    free(g->names);
    free(g->ops);
    free(g->exprs);
    memset(g, 0, sizeof *g);
}

int pipe_group_parse(const bson_t *spec, pipe_group_t *g, docstore_error_t *err)
{
    memset(g, 0, sizeof *g);
    size_t n = bson_count_keys(spec);
    g->names = calloc(n ? n : 1, sizeof *g->names);
    g->ops = calloc(n ? n : 1, sizeof *g->ops);
    g->exprs = calloc(n ? n : 1, sizeof *g->exprs);
    if (g->names == NULL || g->ops == NULL || g->exprs == NULL) {
        docstore_error_oom(err);
        return -1;
    }
    bson_iter_t it;
    bool have_id = false;
    bson_iter_init(&it, spec);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "_id") == 0) {
            have_id = true;
            if (docstore_expr_new(bson_iter_value(&it), &g->id, err) != 0)
                return -1;
            continue;
        }
        if (strchr(k, '.') != NULL) {
            docstore_error_set(err, DOCSTORE_LOCATION_40235,
                               "The field name '%.100s' cannot contain '.'", k);
            return -1;
        }
        if (k[0] == '$') {
            docstore_error_set(err, DOCSTORE_LOCATION_40236,
                               "The field name '%.100s' cannot be an operator name", k);
            return -1;
        }
        if (!BSON_ITER_HOLDS_DOCUMENT(&it)) {
            docstore_error_set(err, DOCSTORE_LOCATION_40234,
                               "The field '%.100s' must be an accumulator object", k);
            return -1;
        }
        bson_iter_t acc;
        bson_iter_recurse(&it, &acc);
        if (!bson_iter_next(&acc)) {
            docstore_error_set(err, DOCSTORE_LOCATION_40238,
                               "The field '%.100s' must specify one accumulator", k);
            return -1;
        }
        const char *op = bson_iter_key(&acc);
        int found = -1;
        for (size_t i = 0; i < sizeof acc_names / sizeof acc_names[0]; i++) {
            if (strcmp(op, acc_names[i].name) == 0)
                found = (int)acc_names[i].op;
        }
        if (found < 0) {
            docstore_error_set(err, DOCSTORE_LOCATION_15952, "unknown group operator '%.100s'", op);
            return -1;
        }
        size_t i = g->n;
        g->names[i] = strdup(k);
        g->ops[i] = (pipe_acc_op_t)found;
        g->n++;
        if (g->names[i] == NULL) {
            docstore_error_oom(err);
            return -1;
        }
        if (found == ACC_COUNT) {
            if (!BSON_ITER_HOLDS_DOCUMENT(&acc)) {
                docstore_error_set(err, DOCSTORE_TYPE_MISMATCH,
                                   "$count takes no arguments, i.e. $count:{}");
                return -1;
            }
            uint32_t len;
            const uint8_t *data;
            bson_iter_document(&acc, &len, &data);
            if (len != 5) {
                docstore_error_set(err, DOCSTORE_TYPE_MISMATCH,
                                   "$count takes no arguments, i.e. $count:{}");
                return -1;
            }
        } else if (docstore_expr_new(bson_iter_value(&acc), &g->exprs[i], err) != 0) {
            return -1;
        }
        if (bson_iter_next(&acc)) {
            docstore_error_set(err, DOCSTORE_LOCATION_40238,
                               "The field '%.100s' must specify one accumulator", k);
            return -1;
        }
    }
    if (!have_id) {
        docstore_error_set(err, DOCSTORE_LOCATION_15955,
                           "a group specification must include an _id");
        return -1;
    }
    return 0;
}

/* --- running ------------------------------------------------------------------ */

typedef struct acc_state {
    docstore_sum_t sum; /* $sum/$avg/$count */
    int64_t count;     /* $avg: numbers seen */
    bool has;          /* min/max/first/last/merge: a value is held */
    bson_value_t v;    /* min/max/first/last value (owned) */
    bson_t *arr;       /* $push/$addToSet/$mergeObjects result being built */
    uint32_t n;        /* elements in arr */
    bson_value_t *set; /* $addToSet: values held, for equality (owned) */
    size_t nset, capset;
    size_t *slots;     /* $addToSet: open-addressing index into set (+1), by hash */
    uint64_t *hashes;  /* $addToSet: hash of each value in set */
    size_t nslots;     /* a power of two, at least twice nset */
} acc_state_t;

typedef struct group_slot {
    bson_value_t key;   /* owned */
    bson_value_t shown; /* owned: the key as computed, when key is its collation-normalized
                           copy (docstore_collation_normalize); else EOD */
    uint64_t hash;
    acc_state_t *acc; /* one per accumulator */
} group_slot_t;

typedef struct group_table {
    group_slot_t *groups; /* in arrival order */
    size_t n, cap;
    size_t *buckets; /* index + 1 into groups; 0 = empty */
    size_t nbuckets;
} group_table_t;

static void sum_add(acc_state_t *s, const bson_value_t *v)
{
    double x = 0;
    docstore_value_as_double(v, &x);
    docstore_sum_add(&s->sum, v, x);
}

static bool is_number(const bson_value_t *v)
{
    return v->value_type == BSON_TYPE_INT32 || v->value_type == BSON_TYPE_INT64 ||
           v->value_type == BSON_TYPE_DOUBLE || v->value_type == BSON_TYPE_DECIMAL128;
}

static bool is_nullish(const bson_value_t *v)
{
    return v->value_type == BSON_TYPE_EOD || v->value_type == BSON_TYPE_NULL ||
           v->value_type == BSON_TYPE_UNDEFINED;
}

static void arr_append(acc_state_t *s, const bson_value_t *v)
{
    char key[16];
    const char *k;
    if (s->arr == NULL)
        s->arr = bson_new();
    bson_uint32_to_string(s->n++, &k, key, sizeof key);
    bson_append_value(s->arr, k, -1, v);
}

static bool set_rehash(acc_state_t *s, size_t nslots)
{
    size_t *slots = calloc(nslots, sizeof *slots);
    if (slots == NULL)
        return false;
    for (size_t i = 0; i < s->nset; i++) {
        size_t h = (size_t)s->hashes[i] & (nslots - 1);
        while (slots[h] != 0)
            h = (h + 1) & (nslots - 1);
        slots[h] = i + 1;
    }
    free(s->slots);
    s->slots = slots;
    s->nslots = nslots;
    return true;
}

/* Adds v to the set and the output array unless an equal value is there.
 * 1 added, 0 already present, -1 out of memory. */
static int set_add(acc_state_t *s, const bson_value_t *v)
{
    if ((s->nset + 1) * 2 > s->nslots && !set_rehash(s, s->nslots ? s->nslots * 2 : 16))
        return -1;
    uint64_t hash = pipe_value_hash(v);
    size_t h = (size_t)hash & (s->nslots - 1);
    while (s->slots[h] != 0) {
        size_t i = s->slots[h] - 1;
        if (s->hashes[i] == hash &&
            docstore_value_compare_coll(&s->set[i], v, docstore_expr_collation()) == 0)
            return 0;
        h = (h + 1) & (s->nslots - 1);
    }
    if (s->nset == s->capset) {
        size_t cap = s->capset ? s->capset * 2 : 8;
        bson_value_t *p = realloc(s->set, cap * sizeof *p);
        if (p == NULL)
            return -1;
        s->set = p;
        uint64_t *hp = realloc(s->hashes, cap * sizeof *hp);
        if (hp == NULL)
            return -1;
        s->hashes = hp;
        s->capset = cap;
    }
    bson_value_copy(v, &s->set[s->nset]);
    s->hashes[s->nset] = hash;
    s->slots[h] = ++s->nset;
    arr_append(s, v);
    return 1;
}

static int acc_update(pipe_acc_op_t op, acc_state_t *s, const bson_value_t *v,
                      docstore_error_t *err)
{
    switch (op) {
    case ACC_COUNT: {
        bson_value_t one = {.value_type = BSON_TYPE_INT32, .value.v_int32 = 1};
        sum_add(s, &one);
        break;
    }
    case ACC_SUM:
    case ACC_AVG:
        if (is_number(v)) {
            sum_add(s, v);
            s->count++;
        }
        break;
    case ACC_MIN:
    case ACC_MAX:
        if (is_nullish(v))
            break;
        int c = s->has ? docstore_value_compare_coll(v, &s->v, docstore_expr_collation()) : 0;
        if (!s->has || (op == ACC_MIN ? c < 0 : c > 0)) {
            if (s->has)
                bson_value_destroy(&s->v);
            bson_value_copy(v, &s->v);
            s->has = true;
        }
        break;
    case ACC_FIRST:
    case ACC_LAST:
        if (op == ACC_FIRST && s->has)
            break;
        if (s->has)
            bson_value_destroy(&s->v);
        if (v->value_type == BSON_TYPE_EOD)
            s->v.value_type = BSON_TYPE_NULL;
        else
            bson_value_copy(v, &s->v);
        s->has = true;
        break;
    case ACC_PUSH:
        if (v->value_type != BSON_TYPE_EOD)
            arr_append(s, v);
        break;
    case ACC_ADD_TO_SET:
        if (v->value_type == BSON_TYPE_EOD)
            break;
        if (set_add(s, v) < 0) {
            docstore_error_oom(err);
            return -1;
        }
        break;
    case ACC_MERGE: {
        if (is_nullish(v))
            break;
        if (v->value_type != BSON_TYPE_DOCUMENT) {
            docstore_error_set(err, DOCSTORE_LOCATION_40400,
                               "$mergeObjects requires object inputs, but input is of type %s",
                               docstore_type_name(v->value_type));
            return -1;
        }
        bson_t add, *merged = bson_new();
        bson_iter_t it, f;
        bson_init_static(&add, v->value.v_doc.data, v->value.v_doc.data_len);
        if (s->arr != NULL) {
            bson_iter_init(&it, s->arr);
            while (bson_iter_next(&it)) {
                bool in_add = bson_iter_init_find(&f, &add, bson_iter_key(&it));
                bson_append_value(merged, bson_iter_key(&it), -1,
                                  in_add ? bson_iter_value(&f) : bson_iter_value(&it));
            }
        }
        bson_iter_init(&it, &add);
        while (bson_iter_next(&it)) {
            if (s->arr == NULL || !bson_iter_init_find(&f, s->arr, bson_iter_key(&it)))
                bson_append_value(merged, bson_iter_key(&it), -1, bson_iter_value(&it));
        }
        if (s->arr != NULL)
            bson_destroy(s->arr);
        s->arr = merged;
        break;
    }
    }
    return 0;
}

static void acc_result(pipe_acc_op_t op, const acc_state_t *s, const char *name, bson_t *out)
{
    switch (op) {
    case ACC_SUM:
    case ACC_COUNT: {
        bson_value_t r;
        docstore_sum_result(&s->sum, &r);
        BSON_APPEND_VALUE(out, name, &r);
        break;
    }
    case ACC_AVG:
        if (s->count == 0) {
            BSON_APPEND_NULL(out, name);
        } else {
            bson_value_t r;
            docstore_sum_avg(&s->sum, s->count, &r);
            BSON_APPEND_VALUE(out, name, &r);
        }
        break;
    case ACC_MIN:
    case ACC_MAX:
    case ACC_FIRST:
    case ACC_LAST:
        if (s->has)
            BSON_APPEND_VALUE(out, name, &s->v);
        else
            BSON_APPEND_NULL(out, name);
        break;
    case ACC_PUSH:
    case ACC_ADD_TO_SET:
        if (s->arr != NULL) {
            BSON_APPEND_ARRAY(out, name, s->arr);
        } else {
            bson_t empty = BSON_INITIALIZER;
            BSON_APPEND_ARRAY(out, name, &empty);
            bson_destroy(&empty);
        }
        break;
    case ACC_MERGE:
        if (s->arr != NULL) {
            BSON_APPEND_DOCUMENT(out, name, s->arr);
        } else {
            bson_t empty = BSON_INITIALIZER;
            BSON_APPEND_DOCUMENT(out, name, &empty);
            bson_destroy(&empty);
        }
        break;
    }
}

static void acc_free(acc_state_t *s)
{
    if (s->has)
        bson_value_destroy(&s->v);
    if (s->arr != NULL)
        bson_destroy(s->arr);
    for (size_t i = 0; i < s->nset; i++)
        bson_value_destroy(&s->set[i]);
    free(s->set);
    free(s->slots);
    free(s->hashes);
}

static void table_free(group_table_t *t, size_t nacc)
{
    for (size_t i = 0; i < t->n; i++) {
        bson_value_destroy(&t->groups[i].key);
        if (t->groups[i].shown.value_type != BSON_TYPE_EOD)
            bson_value_destroy(&t->groups[i].shown);
        for (size_t a = 0; a < nacc; a++)
            acc_free(&t->groups[i].acc[a]);
        free(t->groups[i].acc);
    }
    free(t->groups);
    free(t->buckets);
}

static bool table_rehash(group_table_t *t, size_t nb)
{
    size_t *b = calloc(nb, sizeof *b);
    if (b == NULL)
        return false;
    for (size_t i = 0; i < t->n; i++) {
        size_t h = (size_t)t->groups[i].hash & (nb - 1);
        while (b[h] != 0)
            h = (h + 1) & (nb - 1);
        b[h] = i + 1;
    }
    free(t->buckets);
    t->buckets = b;
    t->nbuckets = nb;
    return true;
}

/* The group for key (taking ownership of key), created when new; NULL on OOM. */
static group_slot_t *table_get(group_table_t *t, bson_value_t *key, size_t nacc)
{
    uint64_t hash = pipe_value_hash(key);
    if (t->nbuckets == 0 && !table_rehash(t, 64))
        return NULL;
    size_t h = (size_t)hash & (t->nbuckets - 1);
    while (t->buckets[h] != 0) {
        group_slot_t *g = &t->groups[t->buckets[h] - 1];
        if (g->hash == hash && docstore_value_equal(&g->key, key)) {
            bson_value_destroy(key);
            return g;
        }
        h = (h + 1) & (t->nbuckets - 1);
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        group_slot_t *p = realloc(t->groups, cap * sizeof *p);
        if (p == NULL)
            return NULL;
        t->groups = p;
        t->cap = cap;
    }
    group_slot_t *g = &t->groups[t->n];
    g->acc = calloc(nacc ? nacc : 1, sizeof *g->acc);
    if (g->acc == NULL)
        return NULL;
    g->key = *key;
    g->shown.value_type = BSON_TYPE_EOD;
    g->hash = hash;
    t->buckets[h] = ++t->n;
    if (t->n * 2 > t->nbuckets && !table_rehash(t, t->nbuckets * 2))
        return NULL;
    return g;
}

/* Bytes a value holds beyond its bson_value_t. */
static size_t value_bytes(const bson_value_t *v)
{
    switch (v->value_type) {
    case BSON_TYPE_UTF8:
        return v->value.v_utf8.len;
    case BSON_TYPE_DOCUMENT:
    case BSON_TYPE_ARRAY:
        return v->value.v_doc.data_len;
    case BSON_TYPE_BINARY:
        return v->value.v_binary.data_len;
    default:
        return 0;
    }
}

/* Bytes an accumulator's state holds: its value, its array, and for
 * $addToSet the set's own copies, hashes and slots. */
static size_t acc_bytes(const acc_state_t *s)
{
    size_t n = s->has ? value_bytes(&s->v) : 0;
    if (s->arr != NULL)
        n += s->arr->len;
    if (s->set != NULL)
        n += s->arr != NULL ? s->arr->len : 0;
    n += s->capset * (sizeof *s->set + sizeof *s->hashes) + s->nslots * sizeof *s->slots;
    return n;
}

int pipe_group_run(const pipe_group_t *g, docstore_doclist_t *docs, size_t mem_limit, bool disk_use,
                   const bson_t *vars, const docstore_collation_t *coll, docstore_error_t *err)
{
    group_table_t t = {0};
    int rc = 0;
    size_t bytes = 0; /* the groups' state */
    for (size_t d = 0; d < docs->n && rc == 0; d++) {
        bson_value_t key;
        if (docstore_deadline_check(err) != 0 ||
            docstore_expr_eval(g->id, docs->docs[d], vars, &key, err) != 0) {
            rc = -1;
            break;
        }
        if (key.value_type == BSON_TYPE_EOD || key.value_type == BSON_TYPE_UNDEFINED)
            key.value_type = BSON_TYPE_NULL;
        size_t ngroups = t.n, key_bytes = value_bytes(&key);
        bson_value_t shown = {.value_type = BSON_TYPE_EOD};
        if (coll != NULL) {
            /* Groups by the collation: the key's normalized copy finds the
             * group, the first key as computed is its _id. */
            shown = key;
            if (docstore_collation_normalize(coll, &shown, &key, err) != 0) {
                bson_value_destroy(&shown);
                rc = -1;
                break;
            }
        }
        group_slot_t *slot = table_get(&t, &key, g->n);
        if (slot == NULL) {
            bson_value_destroy(&key);
            if (shown.value_type != BSON_TYPE_EOD)
                bson_value_destroy(&shown);
            docstore_error_oom(err);
            rc = -1;
            break;
        }
        if (shown.value_type != BSON_TYPE_EOD && slot->shown.value_type == BSON_TYPE_EOD)
            slot->shown = shown;
        else if (shown.value_type != BSON_TYPE_EOD)
            bson_value_destroy(&shown);
        if (t.n > ngroups)
            bytes += sizeof *slot + 2 * sizeof *t.buckets + key_bytes + g->n * sizeof *slot->acc;
        for (size_t a = 0; a < g->n && rc == 0; a++) {
            bson_value_t v = {.value_type = BSON_TYPE_EOD};
            if (g->exprs[a] != NULL &&
                docstore_expr_eval(g->exprs[a], docs->docs[d], vars, &v, err) != 0) {
                rc = -1;
                break;
            }
            size_t before = acc_bytes(&slot->acc[a]);
            rc = acc_update(g->ops[a], &slot->acc[a], &v, err);
            bson_value_destroy(&v);
            bytes = bytes - before + acc_bytes(&slot->acc[a]);
        }
        if (rc == 0 && bytes > mem_limit) {
            docstore_sort_memory_error(err, "$group", mem_limit, disk_use,
                                       DOCSTORE_SORT_AGGREGATE);
            rc = -1;
        }
    }
    docstore_doclist_free(docs);
    for (size_t i = 0; i < t.n && rc == 0; i++) {
        bson_t *out = bson_new();
        BSON_APPEND_VALUE(out, "_id",
                          t.groups[i].shown.value_type != BSON_TYPE_EOD ? &t.groups[i].shown
                                                                        : &t.groups[i].key);
        for (size_t a = 0; a < g->n; a++)
            acc_result(g->ops[a], &t.groups[i].acc[a], g->names[a], out);
        if (docstore_doclist_push(docs, out) != 0) {
            docstore_error_oom(err);
            rc = -1;
        }
    }
    if (rc != 0)
        docstore_doclist_free(docs);
    table_free(&t, g->n);
    return rc;
}
