/*
 * The $lookup stage. The foreign collection is read once through the reader
 * callback. The equality form (localField/foreignField) is a hash join:
 * every value the foreignField holds (arrays contribute each element;
 * missing counts as null) goes into a hash table, and each input document
 * probes it with the values of its localField. The correlated form
 * (let/pipeline) evaluates the let expressions against each input document
 * and runs the sub-pipeline over the foreign documents with those variables
 * ($$name) bound; its leading $match is applied while copying the foreign
 * documents, so only the ones it keeps are copied. With both, the pipeline
 * runs over the equality join's matches (MongoDB 5.0+). Matches keep the
 * foreign collection's order. A pipeline that has no let and no enclosing
 * variables is uncorrelated: it runs once and its result is reused. A
 * sub-pipeline starting with {$match: {$expr: {$eq: ["$path", "$$var"]}}}
 * (the usual correlated join; also one operand of an $expr $and) is probed
 * through a hash of every foreign
 * document's "$path" value, so each input document tests only the foreign
 * documents whose value hashes as its $$var does (the $match still decides).
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

/* --- parsing ------------------------------------------------------------------ */

/* A let variable name, as MongoDB's user variables: a lowercase ASCII letter
 * or a non-ASCII byte first, then letters, digits, '_' or non-ASCII. */
static bool valid_let_name(const char *s)
{
    if (!((s[0] >= 'a' && s[0] <= 'z') || (unsigned char)s[0] >= 0x80))
        return false;
    for (const char *p = s; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || (unsigned char)*p >= 0x80))
            return false;
    }
    return true;
}

static int parse_let(const bson_iter_t *field, pipe_lookup_t *l, docstore_error_t *err)
{
    if (!BSON_ITER_HOLDS_DOCUMENT(field)) {
        docstore_error_set(err, DOCSTORE_FAILED_TO_PARSE,
                           "$lookup argument 'let' must be an object, is type %s",
                           docstore_type_name(bson_iter_type(field)));
        return -1;
    }
    bson_iter_t it;
    bson_iter_recurse(field, &it);
    size_t n = 0;
    while (bson_iter_next(&it))
        n++;
    l->let_names = calloc(n + 1, sizeof *l->let_names);
    l->let_exprs = calloc(n + 1, sizeof *l->let_exprs);
    if (l->let_names == NULL || l->let_exprs == NULL)
        return docstore_error_oom(err);
    bson_iter_recurse(field, &it);
    while (bson_iter_next(&it)) {
        const char *name = bson_iter_key(&it);
        if (!valid_let_name(name)) {
            docstore_error_set(err, DOCSTORE_LOCATION_16870,
                               "'%.100s' starts with an invalid character for a user variable "
                               "name",
                               name);
            return -1;
        }
        l->let_names[l->nlet] = strdup(name);
        if (l->let_names[l->nlet] == NULL)
            return docstore_error_oom(err);
        l->nlet++;
        if (docstore_expr_new(bson_iter_value(&it), &l->let_exprs[l->nlet - 1], err) != 0)
            return -1;
    }
    return 0;
}

static int field_path_expr(const char *field, docstore_expr_t **out, docstore_error_t *err)
{
    char *spec = NULL;
    if (asprintf(&spec, "$%s", field) < 0)
        return docstore_error_oom(err);
    bson_value_t sv = {.value_type = BSON_TYPE_UTF8};
    sv.value.v_utf8.str = spec;
    sv.value.v_utf8.len = (uint32_t)strlen(spec);
    int rc = docstore_expr_new(&sv, out, err);
    free(spec);
    return rc;
}

/* A "$path" string (a field path, not a variable) or "$$name". */
static const char *dollar_string(const bson_value_t *v, bool var)
{
    if (v->value_type != BSON_TYPE_UTF8 || v->value.v_utf8.str[0] != '$')
        return NULL;
    bool is_var = v->value.v_utf8.str[1] == '$';
    if (is_var != var || (var ? v->value.v_utf8.str[2] : v->value.v_utf8.str[1]) == '\0')
        return NULL;
    return v->value.v_utf8.str + (var ? 2 : 1);
}

/* Whether the expression document at it is {$eq: ["$path", "$$var"]} (either
 * order) with var one of the stage's let names: then sets l->probe_path. */
static int probe_from_eq(pipe_lookup_t *l, const bson_iter_t *it, bool *found,
                         docstore_error_t *err)
{
    bson_iter_t eq, arr;
    *found = false;
    if (!BSON_ITER_HOLDS_DOCUMENT(it) || !bson_iter_recurse(it, &eq) || !bson_iter_next(&eq) ||
        strcmp(bson_iter_key(&eq), "$eq") != 0 || !BSON_ITER_HOLDS_ARRAY(&eq) ||
        !bson_iter_recurse(&eq, &arr) || bson_iter_next(&eq))
        return 0;
    bson_value_t side[2];
    int n = 0;
    while (bson_iter_next(&arr) && n < 3) {
        if (n < 2)
            side[n] = *bson_iter_value(&arr);
        n++;
    }
    if (n != 2)
        return 0;
    for (int k = 0; k < 2; k++) {
        const char *path = dollar_string(&side[k], false);
        const char *var = dollar_string(&side[1 - k], true);
        if (path == NULL || var == NULL || strchr(var, '.') != NULL)
            continue;
        for (size_t i = 0; i < l->nlet; i++) {
            if (strcmp(l->let_names[i], var) != 0)
                continue;
            l->probe_var = i;
            *found = true;
            return docstore_expr_new(&side[k], &l->probe_path, err);
        }
    }
    return 0;
}

/* Recognizes a leading {$match: {$expr: E}} where E is such an $eq, or an
 * $and with one among its operands (all must hold, so that one must). */
static int find_probe(pipe_lookup_t *l, docstore_error_t *err)
{
    const bson_t *m = l->pipeline ? docstore_pipeline_leading_match(l->pipeline) : NULL;
    bson_iter_t it, op, args;
    bool found = false;
    if (m == NULL || l->local_e != NULL || bson_count_keys(m) != 1 ||
        !bson_iter_init_find(&it, m, "$expr"))
        return 0;
    int rc = probe_from_eq(l, &it, &found, err);
    if (rc != 0 || found)
        return rc;
    if (!BSON_ITER_HOLDS_DOCUMENT(&it) || !bson_iter_recurse(&it, &op) || !bson_iter_next(&op) ||
        strcmp(bson_iter_key(&op), "$and") != 0 || !BSON_ITER_HOLDS_ARRAY(&op) ||
        !bson_iter_recurse(&op, &args) || bson_iter_next(&op))
        return 0;
    while (!found && bson_iter_next(&args)) {
        if (probe_from_eq(l, &args, &found, err) != 0)
            return -1;
    }
    return 0;
}

int pipe_lookup_parse(const bson_value_t *v, pipe_lookup_t *l, docstore_error_t *err)
{
    if (v->value_type != BSON_TYPE_DOCUMENT) {
        docstore_error_set(err, DOCSTORE_FAILED_TO_PARSE,
                           "the $lookup specification must be an Object, but found %s",
                           docstore_type_name(v->value_type));
        return -1;
    }
    bson_iter_t it;
    bson_iter_init_from_data(&it, v->value.v_doc.data, v->value.v_doc.data_len);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "let") == 0) {
            if (l->let_names != NULL) {
                docstore_error_set(err, DOCSTORE_FAILED_TO_PARSE, "$lookup: 'let' given twice");
                return -1;
            }
            if (parse_let(&it, l, err) != 0)
                return -1;
            continue;
        }
        if (strcmp(k, "pipeline") == 0) {
            if (l->pipeline != NULL) {
                docstore_error_set(err, DOCSTORE_FAILED_TO_PARSE,
                                   "$lookup: 'pipeline' given twice");
                return -1;
            }
            if (!BSON_ITER_HOLDS_ARRAY(&it)) {
                docstore_error_set(err, DOCSTORE_FAILED_TO_PARSE,
                                   "$lookup argument 'pipeline' must be an array, is type %s",
                                   docstore_type_name(bson_iter_type(&it)));
                return -1;
            }
            if (pipe_parse_sub(bson_iter_value(&it), "$lookup", &l->pipeline, err) != 0)
                return -1;
            continue;
        }
        char **slot = strcmp(k, "from") == 0           ? &l->from
                      : strcmp(k, "localField") == 0   ? &l->local
                      : strcmp(k, "foreignField") == 0 ? &l->foreign
                      : strcmp(k, "as") == 0           ? &l->as
                                                       : NULL;
        if (slot == NULL) {
            docstore_error_set(err, DOCSTORE_FAILED_TO_PARSE, "unknown argument to $lookup: %.100s",
                               k);
            return -1;
        }
        uint32_t slen = 0;
        const char *str = BSON_ITER_HOLDS_UTF8(&it) ? bson_iter_utf8(&it, &slen) : NULL;
        if (str == NULL || slen == 0 || strlen(str) != slen ||
            !bson_utf8_validate(str, slen, false)) {
            docstore_error_set(err, DOCSTORE_FAILED_TO_PARSE,
                               "$lookup argument '%s' must be a non-empty UTF-8 string, found %s",
                               k, docstore_type_name(bson_iter_type(&it)));
            return -1;
        }
        free(*slot);
        *slot = strdup(str);
        if (*slot == NULL)
            return docstore_error_oom(err);
    }
    if (l->from == NULL) {
        docstore_error_set(err, DOCSTORE_FAILED_TO_PARSE,
                           "missing 'from' option to $lookup stage specification");
        return -1;
    }
    if (l->as == NULL) {
        docstore_error_set(err, DOCSTORE_FAILED_TO_PARSE, "must specify 'as' field for a $lookup");
        return -1;
    }
    if ((l->local == NULL) != (l->foreign == NULL)) {
        docstore_error_set(err, DOCSTORE_FAILED_TO_PARSE,
                           l->pipeline != NULL
                               ? "$lookup requires both or neither of 'localField' and "
                                 "'foreignField' to be specified"
                               : "$lookup requires either 'pipeline' or both 'localField' and "
                                 "'foreignField' to be specified");
        return -1;
    }
    if (l->local == NULL && l->pipeline == NULL) {
        docstore_error_set(err, DOCSTORE_FAILED_TO_PARSE,
                           "$lookup requires either 'pipeline' or both 'localField' and "
                           "'foreignField' to be specified");
        return -1;
    }
    if (l->let_names != NULL && l->pipeline == NULL) {
        docstore_error_set(err, DOCSTORE_FAILED_TO_PARSE,
                           "$lookup with 'let' must also specify a 'pipeline'");
        return -1;
    }
    if (l->local != NULL && (field_path_expr(l->local, &l->local_e, err) != 0 ||
                             field_path_expr(l->foreign, &l->foreign_e, err) != 0))
        return -1;
    return find_probe(l, err);
}

void pipe_lookup_free(pipe_lookup_t *l)
{
    free(l->from);
    free(l->as);
    free(l->local);
    free(l->foreign);
    docstore_expr_free(l->local_e);
    docstore_expr_free(l->foreign_e);
    docstore_expr_free(l->probe_path);
    for (size_t i = 0; i < l->nlet; i++) {
        free(l->let_names[i]);
        docstore_expr_free(l->let_exprs[i]);
    }
    free(l->let_names);
    free(l->let_exprs);
    docstore_pipeline_free(l->pipeline);
    memset(l, 0, sizeof *l);
}

/* --- running ------------------------------------------------------------------ */

/* The variables the sub-pipeline sees for doc: the stage's let, evaluated
 * against doc (a missing value binds null), then the enclosing variables it
 * does not shadow. *out is NULL when there are none. */
static int bind_vars(const pipe_lookup_t *l, const bson_t *doc, const bson_t *outer, bson_t **out,
                     docstore_error_t *err)
{
    *out = NULL;
    if (l->nlet == 0 && outer == NULL)
        return 0;
    bson_t *b = bson_new();
    for (size_t i = 0; i < l->nlet; i++) {
        bson_value_t v;
        if (docstore_expr_eval(l->let_exprs[i], doc, outer, &v, err) != 0) {
            bson_destroy(b);
            return -1;
        }
        if (v.value_type == BSON_TYPE_EOD)
            v.value_type = BSON_TYPE_NULL;
        bool ok = bson_append_value(b, l->let_names[i], -1, &v);
        bson_value_destroy(&v);
        if (!ok) {
            bson_destroy(b);
            docstore_error_set(err, DOCSTORE_BSON_OBJECT_TOO_LARGE, "$lookup 'let' too large");
            return -1;
        }
    }
    bson_iter_t it;
    if (outer != NULL && bson_iter_init(&it, outer)) {
        while (bson_iter_next(&it)) {
            bool shadowed = false;
            for (size_t i = 0; i < l->nlet && !shadowed; i++)
                shadowed = strcmp(l->let_names[i], bson_iter_key(&it)) == 0;
            if (!shadowed)
                bson_append_iter(b, NULL, 0, &it);
        }
    }
    *out = b;
    return 0;
}

/* The join state: the foreign documents and, for the equality form, their
 * hashed foreignField values. */
typedef struct lookup_state {
    docstore_doclist_t fdocs;
    value_list_t *fvals; /* per foreign document */
    join_table_t t;
    size_t *hits;        /* foreign documents matched by the current input document */
    size_t *stamp;       /* per foreign document: input index + 1 that last hit it */
    bson_value_t *pvals; /* per foreign document: its probe_path value */
    join_table_t probe;  /* pvals hashed, when l->probe_path */
} lookup_state_t;

static void state_free(lookup_state_t *s)
{
    for (size_t j = 0; s->fvals != NULL && j < s->fdocs.n; j++)
        vl_free(&s->fvals[j]);
    free(s->fvals);
    free(s->hits);
    free(s->stamp);
    free(s->t.e);
    free(s->t.buckets);
    for (size_t j = 0; s->pvals != NULL && j < s->fdocs.n; j++)
        bson_value_destroy(&s->pvals[j]);
    free(s->pvals);
    free(s->probe.e);
    free(s->probe.buckets);
    docstore_doclist_free(&s->fdocs);
}

static int probe_build(const pipe_lookup_t *l, lookup_state_t *s, docstore_error_t *err)
{
    size_t n = s->fdocs.n ? s->fdocs.n : 1;
    s->pvals = calloc(n, sizeof *s->pvals);
    s->probe.nbuckets = 64;
    while (s->probe.nbuckets < s->fdocs.n * 2)
        s->probe.nbuckets *= 2;
    s->probe.buckets = calloc(s->probe.nbuckets, sizeof *s->probe.buckets);
    if (s->pvals == NULL || s->probe.buckets == NULL)
        return docstore_error_oom(err);
    for (size_t j = 0; j < s->fdocs.n; j++) {
        if (docstore_expr_eval(l->probe_path, s->fdocs.docs[j], NULL, &s->pvals[j], err) != 0)
            return -1;
        if (!join_add(&s->probe, &s->pvals[j], j))
            return docstore_error_oom(err);
    }
    return 0;
}

/* The foreign documents whose probe value hashes as v does, ascending. */
static void probe_find(lookup_state_t *s, const bson_value_t *v, size_t *nhits)
{
    uint64_t h = pipe_value_hash(v);
    *nhits = 0;
    for (size_t x = s->probe.buckets[(size_t)h & (s->probe.nbuckets - 1)]; x != 0;
         x = s->probe.e[x - 1].next) {
        if (s->probe.e[x - 1].hash == h)
            s->hits[(*nhits)++] = s->probe.e[x - 1].doc;
    }
    qsort(s->hits, *nhits, sizeof *s->hits, size_cmp);
}

static int state_build(const pipe_lookup_t *l, lookup_state_t *s, docstore_error_t *err)
{
    size_t n = s->fdocs.n ? s->fdocs.n : 1;
    s->hits = calloc(n, sizeof *s->hits);
    s->stamp = calloc(n, sizeof *s->stamp);
    if (s->hits == NULL || s->stamp == NULL)
        return docstore_error_oom(err);
    if (l->foreign_e == NULL)
        return 0;
    s->fvals = calloc(n, sizeof *s->fvals);
    if (s->fvals == NULL)
        return docstore_error_oom(err);
    size_t total = 0;
    for (size_t j = 0; j < s->fdocs.n; j++) {
        if (!field_values(l->foreign_e, s->fdocs.docs[j], &s->fvals[j], err))
            return -1;
        total += s->fvals[j].n;
    }
    s->t.nbuckets = 64;
    while (s->t.nbuckets < total * 2)
        s->t.nbuckets *= 2;
    s->t.buckets = calloc(s->t.nbuckets, sizeof *s->t.buckets);
    if (s->t.buckets == NULL)
        return docstore_error_oom(err);
    for (size_t j = 0; j < s->fdocs.n; j++) {
        for (size_t k = 0; k < s->fvals[j].n; k++) {
            if (!join_add(&s->t, &s->fvals[j].v[k], j))
                return docstore_error_oom(err);
        }
    }
    return 0;
}

/* The foreign documents (indexes into s->fdocs, ascending) whose
 * foreignField equals a value of doc's localField (input number i). */
static int join_probe(const pipe_lookup_t *l, lookup_state_t *s, const bson_t *doc, size_t i,
                      size_t *nhits /* OUT */, docstore_error_t *err)
{
    value_list_t lv = {0};
    *nhits = 0;
    if (!field_values(l->local_e, doc, &lv, err)) {
        vl_free(&lv);
        return -1;
    }
    const join_table_t *t = &s->t;
    for (size_t k = 0; k < lv.n; k++) {
        uint64_t h = pipe_value_hash(&lv.v[k]);
        for (size_t x = t->buckets[(size_t)h & (t->nbuckets - 1)]; x != 0; x = t->e[x - 1].next) {
            const join_entry_t *en = &t->e[x - 1];
            if (en->hash != h || s->stamp[en->doc] == i + 1)
                continue;
            bool both_null =
                lv.v[k].value_type == BSON_TYPE_NULL && en->value->value_type == BSON_TYPE_NULL;
            if (both_null ||
                docstore_value_compare_coll(&lv.v[k], en->value, docstore_expr_collation()) == 0) {
                s->stamp[en->doc] = i + 1;
                s->hits[(*nhits)++] = en->doc;
            }
        }
    }
    vl_free(&lv);
    qsort(s->hits, *nhits, sizeof *s->hits, size_cmp);
    return 0;
}

/* Runs the sub-pipeline over the foreign documents listed in idx (n of
 * them; idx NULL: all of them) with vars bound: the leading $match is
 * tested before a document is copied. result receives the output. */
static int run_sub(const pipe_lookup_t *l, const lookup_state_t *s, const size_t *idx, size_t n,
                   docstore_collection_reader_fn reader, void *reader_ctx, const bson_t *vars,
                   docstore_doclist_t *result, docstore_error_t *err)
{
    const docstore_matcher_t *m = pipe_leading_matcher(l->pipeline);
    for (size_t k = 0; k < n; k++) {
        const bson_t *fd = s->fdocs.docs[idx != NULL ? idx[k] : k];
        if (m != NULL && !docstore_matcher_matches_vars(m, fd, vars, NULL))
            continue;
        if (docstore_doclist_push_copy(result, fd) != 0) {
            docstore_doclist_free(result);
            return docstore_error_oom(err);
        }
    }
    if (m != NULL && docstore_matcher_status(m, err) != 0) {
        docstore_doclist_free(result);
        return -1;
    }
    return pipe_run_vars(l->pipeline, m != NULL ? 1 : 0, result, reader, reader_ctx, vars, err);
}

/* Sets as = [docs...] on a copy of doc and appends it to out. */
/* Appends doc with its matches under l->as to out; held counts the bytes the
 * stage's output holds, bounded as a blocking stage's (292 past it). */
static int emit(const pipe_lookup_t *l, const bson_t *doc, const bson_t *const *docs, size_t n,
                size_t *held, docstore_doclist_t *out, docstore_error_t *err)
{
    bson_t arr = BSON_INITIALIZER;
    for (size_t k = 0; k < n; k++) {
        char key[16];
        const char *kp;
        bson_uint32_to_string((uint32_t)k, &kp, key, sizeof key);
        if (!bson_append_document(&arr, kp, -1, docs[k])) {
            bson_destroy(&arr);
            docstore_error_set(err, DOCSTORE_BSON_OBJECT_TOO_LARGE, "$lookup result too large");
            return -1;
        }
    }
    bson_value_t av;
    uint32_t len = 0;
    av.value_type = BSON_TYPE_ARRAY;
    av.value.v_doc.data = bson_destroy_with_steal(&arr, true, &len);
    av.value.v_doc.data_len = len;
    int rc = 0;
    docstore_mnode_t *root = docstore_mnode_from_doc(doc);
    bson_t *r = bson_new();
    if (root == NULL || !pipe_path_set(root, l->as, &av) || !docstore_mnode_to_doc(root, r) ||
        r->len > 16 * 1024 * 1024) {
        docstore_error_set(err, DOCSTORE_BSON_OBJECT_TOO_LARGE, "$lookup result too large");
        bson_destroy(r);
        rc = -1;
    } else if ((*held += r->len) > DOCSTORE_SORT_MEMORY_LIMIT) {
        docstore_error_set(err, DOCSTORE_QUERY_EXCEEDED_MEMORY_LIMIT,
                           "PlanExecutor error during aggregation :: caused by :: $lookup "
                           "exceeded memory limit of %zu bytes (the docstore holds a "
                           "stage's output in memory)",
                           (size_t)DOCSTORE_SORT_MEMORY_LIMIT);
        bson_destroy(r);
        rc = -1;
    } else if (docstore_doclist_push(out, r) != 0) {
        rc = docstore_error_oom(err);
    }
    docstore_mnode_free(root);
    bson_value_destroy(&av);
    return rc;
}

int pipe_lookup_run(const pipe_lookup_t *l, docstore_doclist_t *docs, docstore_doclist_t *out,
                    docstore_collection_reader_fn reader, void *reader_ctx, const bson_t *vars,
                    docstore_error_t *err)
{
    if (reader == NULL) {
        docstore_error_set(err, DOCSTORE_NOT_IMPLEMENTED, "$lookup has no collection reader");
        return -1;
    }
    lookup_state_t s = {0};
    docstore_doclist_init(&s.fdocs);
    docstore_doclist_t once; /* an uncorrelated pipeline's result */
    docstore_doclist_init(&once);
    bool have_once = false;
    size_t held = 0; /* bytes of the stage's output */
    int rc = reader(reader_ctx, l->from, &s.fdocs, err);
    if (rc == 0)
        rc = state_build(l, &s, err);
    if (rc == 0 && l->probe_path != NULL)
        rc = probe_build(l, &s, err);
    for (size_t i = 0; i < docs->n && rc == 0; i++) {
        const bson_t *doc = docs->docs[i];
        size_t nhits = s.fdocs.n;
        const size_t *idx = NULL;
        if (l->local_e != NULL) {
            if ((rc = join_probe(l, &s, doc, i, &nhits, err)) != 0)
                break;
            idx = s.hits;
        }
        /* copying the matches is the cost: 600 x 600 stops within the budget */
        if (docstore_deadline_tick(1 + (uint32_t)(nhits / 8))) {
            rc = docstore_deadline_error(err);
            break;
        }
        if (l->pipeline == NULL) {
            const bson_t **sel = calloc(nhits ? nhits : 1, sizeof *sel);
            if (sel == NULL) {
                rc = docstore_error_oom(err);
                break;
            }
            for (size_t k = 0; k < nhits; k++)
                sel[k] = s.fdocs.docs[idx[k]];
            rc = emit(l, doc, (const bson_t *const *)sel, nhits, &held, out, err);
            free(sel);
            continue;
        }
        if (l->nlet == 0 && vars == NULL && l->local_e == NULL) {
            if (!have_once &&
                (rc = run_sub(l, &s, NULL, nhits, reader, reader_ctx, NULL, &once, err)) != 0)
                break;
            have_once = true;
            rc = emit(l, doc, (const bson_t *const *)once.docs, once.n, &held, out, err);
            continue;
        }
        bson_t *bound = NULL;
        if ((rc = bind_vars(l, doc, vars, &bound, err)) != 0)
            break;
        bson_iter_t pv;
        if (l->probe_path != NULL && bound != NULL &&
            bson_iter_init_find(&pv, bound, l->let_names[l->probe_var])) {
            probe_find(&s, bson_iter_value(&pv), &nhits);
            idx = s.hits;
        }
        docstore_doclist_t result;
        docstore_doclist_init(&result);
        rc = run_sub(l, &s, idx, nhits, reader, reader_ctx, bound, &result, err);
        if (rc == 0)
            rc = emit(l, doc, (const bson_t *const *)result.docs, result.n, &held, out, err);
        docstore_doclist_free(&result);
        if (bound != NULL)
            bson_destroy(bound);
    }
    docstore_doclist_free(&once);
    state_free(&s);
    return rc;
}
