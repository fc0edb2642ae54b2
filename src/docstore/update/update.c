/*
 * Update documents (see update.h). An operator update compiles into a list of
 * items, one per (operator, path), checked for conflicts and sorted by path
 * the way MongoDB 5.0+ orders them (lexicographic, numeric components in
 * numeric order), so fields an update creates are appended in that order.
 * Applying unpacks the document into a mutable tree (mdoc.h), runs each item
 * on it, and writes the tree back; "changed" is a byte comparison with the
 * original, which is what nModified means. Replacement keeps the old _id.
 */
#include "docstore/update/update.h"

#include "docstore/query/match.h"
#include "docstore/base/mdoc.h"
#include "docstore/query/sort.h"
#include "docstore/update/update_internal.h"
#include "docstore/query/value.h"

#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    upd_op_t op;
} upd_ops[] = {
    {"$set", UPD_SET},
    {"$unset", UPD_UNSET},
    {"$inc", UPD_INC},
    {"$mul", UPD_MUL},
    {"$min", UPD_MIN},
    {"$max", UPD_MAX},
    {"$rename", UPD_RENAME},
    {"$setOnInsert", UPD_SET_ON_INSERT},
    {"$currentDate", UPD_CURRENT_DATE},
    {"$push", UPD_PUSH},
    {"$addToSet", UPD_ADD_TO_SET},
    {"$pop", UPD_POP},
    {"$pull", UPD_PULL},
    {"$pullAll", UPD_PULL_ALL},
};

/* --- paths ------------------------------------------------------------------ */

static void comps_free(char **comps, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(comps[i]);
    free(comps);
}

/* Splits path at dots. Empty path or empty components are EmptyFieldName. */
int update_split_path(const char *path, char ***out, size_t *n, docstore_error_t *err)
{
    *out = NULL;
    *n = 0;
    if (path[0] == '\0') {
        docstore_error_set(err, DOCSTORE_EMPTY_FIELD_NAME, "An empty update path is not valid.");
        return -1;
    }
    size_t count = 1;
    for (const char *p = path; *p; p++)
        count += *p == '.';
    if (count > DOCSTORE_MDOC_MAX_DEPTH) {
        docstore_error_set(err, DOCSTORE_BAD_VALUE, "The update path '%.200s' is too deep", path);
        return -1;
    }
    char **comps = calloc(count, sizeof *comps);
    if (comps == NULL)
        goto oom;
    const char *start = path;
    for (size_t i = 0; i < count; i++) {
        const char *dot = strchr(start, '.');
        size_t len = dot ? (size_t)(dot - start) : strlen(start);
        if (len == 0) {
            comps_free(comps, count);
            docstore_error_set(err, DOCSTORE_EMPTY_FIELD_NAME,
                               "The update path '%.200s' contains an empty field name, which is "
                               "not allowed.",
                               path);
            return -1;
        }
        comps[i] = strndup(start, len);
        if (comps[i] == NULL) {
            comps_free(comps, count);
            goto oom;
        }
        start = dot ? dot + 1 : start + len;
    }
    *out = comps;
    *n = count;
    return 0;
oom:
    docstore_error_oom(err);
    return -1;
}

/* Orders path components as MongoDB applies them: numbers numerically. */
static int comp_cmp(const char *a, const char *b)
{
    size_t ia, ib;
    if (docstore_path_index(a, &ia) && docstore_path_index(b, &ib))
        return ia < ib ? -1 : ia > ib;
    return strcmp(a, b);
}

static int comps_cmp(char **a, size_t na, char **b, size_t nb)
{
    for (size_t i = 0; i < na && i < nb; i++) {
        int c = comp_cmp(a[i], b[i]);
        if (c != 0)
            return c;
    }
    return na < nb ? -1 : na > nb;
}

static bool comps_is_prefix(char **a, size_t na, char **b, size_t nb)
{
    if (na > nb)
        return false;
    for (size_t i = 0; i < na; i++) {
        if (strcmp(a[i], b[i]) != 0)
            return false;
    }
    return true;
}

static bool is_identifier(const char *s)
{
    if (s[0] < 'a' || s[0] > 'z')
        return false;
    for (const char *p = s + 1; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
            return false;
    }
    return true;
}

/* --- compiling --------------------------------------------------------------- */

static void item_free(upd_item_t *it)
{
    comps_free(it->comps, it->ncomps);
    comps_free(it->from_comps, it->nfrom);
    free(it->path);
    free(it->from);
    bson_value_destroy(&it->arg);
    docstore_sort_free(it->sort);
    docstore_matcher_free(it->pull_matcher);
}

void docstore_update_free(docstore_update_t *u)
{
    if (u == NULL)
        return;
    for (size_t i = 0; i < u->n; i++)
        item_free(&u->items[i]);
    free(u->items);
    for (size_t i = 0; i < u->nfilters; i++) {
        free(u->filters[i].id);
        docstore_matcher_free(u->filters[i].m);
    }
    free(u->filters);
    if (u->repl != NULL)
        bson_destroy(u->repl);
    docstore_pipeline_free(u->pipeline);
    free(u);
}

bool docstore_update_is_replacement(const docstore_update_t *u)
{
    return u->replacement;
}

static int parse_filters(docstore_update_t *u, const bson_t *array_filters, docstore_error_t *err)
{
    bson_iter_t it;
    if (array_filters == NULL || !bson_iter_init(&it, array_filters))
        return 0;
    size_t count = bson_count_keys(array_filters);
    u->filters = calloc(count ? count : 1, sizeof *u->filters);
    if (u->filters == NULL) {
        docstore_error_oom(err);
        return -1;
    }
    while (bson_iter_next(&it)) {
        if (!BSON_ITER_HOLDS_DOCUMENT(&it)) {
            docstore_error_set(err, DOCSTORE_TYPE_MISMATCH,
                               "Each array filter must be an object, found %s",
                               docstore_type_name(bson_iter_type(&it)));
            return -1;
        }
        uint32_t len;
        const uint8_t *data;
        bson_iter_document(&it, &len, &data);
        bson_t f;
        if (!bson_init_static(&f, data, len)) {
            docstore_error_set(err, DOCSTORE_INVALID_BSON, "invalid array filter");
            return -1;
        }
        char id[128] = "";
        bson_iter_t fi;
        bson_iter_init(&fi, &f);
        while (bson_iter_next(&fi)) {
            const char *key = bson_iter_key(&fi);
            if (key[0] == '$')
                continue; /* $and/$or/$expr at top level carry no identifier */
            size_t n = strcspn(key, ".");
            if (n >= sizeof id)
                n = sizeof id - 1;
            if (id[0] == '\0') {
                memcpy(id, key, n);
                id[n] = '\0';
            } else if (strncmp(id, key, n) != 0 || id[n] != '\0') {
                docstore_error_set(err, DOCSTORE_FAILED_TO_PARSE,
                                   "Error parsing array filter :: caused by :: Expected a single "
                                   "top-level field name, found '%s' and '%.*s'",
                                   id, (int)n, key);
                return -1;
            }
        }
        if (id[0] == '\0') {
            docstore_error_set(err, DOCSTORE_FAILED_TO_PARSE,
                               "Cannot use an expression without a top-level field name in "
                               "arrayFilters");
            return -1;
        }
        if (!is_identifier(id)) {
            docstore_error_set(err, DOCSTORE_BAD_VALUE,
                               "Error parsing array filter :: caused by :: The top-level field "
                               "name must be an alphanumeric string beginning with a lowercase "
                               "letter, found '%s'",
                               id);
            return -1;
        }
        for (size_t i = 0; i < u->nfilters; i++) {
            if (strcmp(u->filters[i].id, id) == 0) {
                docstore_error_set(err, DOCSTORE_FAILED_TO_PARSE,
                                   "Found multiple array filters with the same top-level field "
                                   "name %s",
                                   id);
                return -1;
            }
        }
        upd_filter_t *flt = &u->filters[u->nfilters];
        flt->id = strdup(id);
        if (flt->id == NULL) {
            docstore_error_oom(err);
            return -1;
        }
        u->nfilters++;
        if (docstore_matcher_new(&f, &flt->m, err) != 0)
            return -1;
    }
    return 0;
}

/* Checks the components of a target path: positional forms and identifiers. */
static int check_target(docstore_update_t *u, upd_item_t *it, char **comps, size_t n,
                        docstore_error_t *err)
{
    int dollars = 0;
    for (size_t i = 0; i < n; i++) {
        const char *c = comps[i];
        if (c[0] != '$')
            continue;
        if (strcmp(c, "$") == 0) {
            if (++dollars > 1) {
                docstore_error_set(err, DOCSTORE_BAD_VALUE,
                                   "Too many positional (i.e. '$') elements found in path "
                                   "'%.200s'",
                                   it->path);
                return -1;
            }
            it->positional = true;
            continue;
        }
        size_t len = strlen(c);
        if (len >= 3 && c[1] == '[' && c[len - 1] == ']') {
            it->positional = true;
            if (len == 3)
                continue;
            char id[128];
            snprintf(id, sizeof id, "%.*s", (int)(len - 3), c + 2);
            bool found = false;
            for (size_t f = 0; f < u->nfilters; f++) {
                if (strcmp(u->filters[f].id, id) == 0) {
                    u->filters[f].used = true;
                    found = true;
                }
            }
            if (!found) {
                docstore_error_set(err, DOCSTORE_BAD_VALUE,
                                   "No array filter found for identifier '%s' in path '%.200s'",
                                   id, it->path);
                return -1;
            }
            continue;
        }
        docstore_error_set(err, DOCSTORE_DOLLAR_PREFIXED_FIELD_NAME,
                           "The dollar ($) prefixed field '%.100s' in '%.200s' is not allowed in "
                           "the context of an update's replacement document. Consider using an "
                           "aggregation pipeline with $replaceWith.",
                           c, it->path);
        return -1;
    }
    return 0;
}

static bool is_integral(const bson_value_t *v, int64_t *out)
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
        d = v->value.v_double;
        if (d != d || d < -9.2e18 || d > 9.2e18 || (double)(int64_t)d != d)
            return false;
        *out = (int64_t)d;
        return true;
    default:
        return false;
    }
}

static bool is_number(const bson_value_t *v)
{
    return v->value_type == BSON_TYPE_INT32 || v->value_type == BSON_TYPE_INT64 ||
           v->value_type == BSON_TYPE_DOUBLE || v->value_type == BSON_TYPE_DECIMAL128;
}

static int parse_push(upd_item_t *it, docstore_error_t *err)
{
    if (it->arg.value_type != BSON_TYPE_DOCUMENT)
        return 0;
    bson_t d;
    bson_iter_t i;
    if (!bson_init_static(&d, it->arg.value.v_doc.data, it->arg.value.v_doc.data_len) ||
        !bson_iter_init_find(&i, &d, "$each"))
        return 0; /* a plain document is pushed as it is */
    it->each = true;
    bson_iter_init(&i, &d);
    while (bson_iter_next(&i)) {
        const char *k = bson_iter_key(&i);
        const bson_value_t *v = bson_iter_value(&i);
        if (strcmp(k, "$each") == 0) {
            if (v->value_type != BSON_TYPE_ARRAY) {
                docstore_error_set(err, DOCSTORE_BAD_VALUE,
                                   "The argument to $each in %s must be an array but it was of "
                                   "type: %s",
                                   it->op == UPD_PUSH ? "$push" : "$addToSet",
                                   docstore_type_name(v->value_type));
                return -1;
            }
        } else if (it->op == UPD_ADD_TO_SET) {
            docstore_error_set(err, DOCSTORE_BAD_VALUE,
                               "Found unexpected fields after $each in $addToSet: %.100s", k);
            return -1;
        } else if (strcmp(k, "$slice") == 0) {
            if (!is_integral(v, &it->slice)) {
                docstore_error_set(err, DOCSTORE_BAD_VALUE,
                                   "The value for $slice must be an integer value but was given "
                                   "type: %s",
                                   docstore_type_name(v->value_type));
                return -1;
            }
            it->has_slice = true;
        } else if (strcmp(k, "$position") == 0) {
            if (!is_integral(v, &it->position)) {
                docstore_error_set(err, DOCSTORE_BAD_VALUE,
                                   "The value for $position must be an integer value, not of "
                                   "type: %s",
                                   docstore_type_name(v->value_type));
                return -1;
            }
            it->has_position = true;
        } else if (strcmp(k, "$sort") == 0) {
            int64_t dir;
            if (is_integral(v, &dir) && (dir == 1 || dir == -1)) {
                it->sort_dir = (int)dir;
            } else if (v->value_type == BSON_TYPE_DOCUMENT) {
                bson_t spec;
                bson_init_static(&spec, v->value.v_doc.data, v->value.v_doc.data_len);
                if (bson_empty(&spec)) {
                    docstore_error_set(err, DOCSTORE_BAD_VALUE,
                                       "The $sort pattern is empty when it should be a set of "
                                       "fields.");
                    return -1;
                }
                if (docstore_sort_new(&spec, &it->sort, err) != 0)
                    return -1;
            } else {
                docstore_error_set(err, DOCSTORE_BAD_VALUE,
                                   "The $sort is invalid: use 1/-1 to sort the whole element, or "
                                   "{field:1/-1} to sort embedded fields");
                return -1;
            }
        } else {
            docstore_error_set(err, DOCSTORE_BAD_VALUE, "Unrecognized clause in $push: %.100s",
                               k);
            return -1;
        }
    }
    return 0;
}

static bool is_top_level_logical(const char *k)
{
    return strcmp(k, "$and") == 0 || strcmp(k, "$or") == 0 || strcmp(k, "$nor") == 0 ||
           strcmp(k, "$expr") == 0 || strcmp(k, "$comment") == 0;
}

static int parse_pull(upd_item_t *it, docstore_error_t *err)
{
    const bson_value_t *a = &it->arg;
    bson_t filter = BSON_INITIALIZER;
    int rc = 0;
    if (a->value_type == BSON_TYPE_DOCUMENT) {
        bson_t d;
        bson_iter_t i;
        bson_init_static(&d, a->value.v_doc.data, a->value.v_doc.data_len);
        if (bson_iter_init(&i, &d) && bson_iter_next(&i) && bson_iter_key(&i)[0] == '$' &&
            !is_top_level_logical(bson_iter_key(&i))) {
            it->pull_wrap = true;
            BSON_APPEND_DOCUMENT(&filter, UPD_PULL_KEY, &d);
        } else {
            bson_concat(&filter, &d);
        }
    } else if (a->value_type == BSON_TYPE_REGEX) {
        it->pull_wrap = true;
        BSON_APPEND_VALUE(&filter, UPD_PULL_KEY, a);
    } else {
        bson_destroy(&filter);
        return 0; /* equality */
    }
    rc = docstore_matcher_new(&filter, &it->pull_matcher, err);
    bson_destroy(&filter);
    return rc;
}

static int parse_item(docstore_update_t *u, upd_item_t *it, bson_iter_t *field,
                      docstore_error_t *err)
{
    const char *path = bson_iter_key(field);
    const bson_value_t *v = bson_iter_value(field);
    it->path = strdup(path);
    if (it->path == NULL) {
        docstore_error_oom(err);
        return -1;
    }
    bson_value_copy(v, &it->arg);
    switch (it->op) {
    case UPD_INC:
    case UPD_MUL:
        if (!is_number(v)) {
            char buf[128];
            update_fmt_value(v, buf, sizeof buf);
            docstore_error_set(err, DOCSTORE_TYPE_MISMATCH,
                               "Cannot %s with non-numeric argument: {%.200s: %s}",
                               it->op == UPD_INC ? "increment" : "multiply", path, buf);
            return -1;
        }
        break;
    case UPD_POP: {
        int64_t d;
        if (!is_integral(v, &d) || (d != 1 && d != -1)) {
            char buf[128];
            update_fmt_value(v, buf, sizeof buf);
            docstore_error_set(err, DOCSTORE_FAILED_TO_PARSE, "$pop expects 1 or -1, found: %s",
                               buf);
            return -1;
        }
        it->pop_first = d == -1;
        break;
    }
    case UPD_PULL_ALL:
        if (v->value_type != BSON_TYPE_ARRAY) {
            docstore_error_set(err, DOCSTORE_BAD_VALUE,
                               "$pullAll requires an array argument but was given a %s",
                               docstore_type_name(v->value_type));
            return -1;
        }
        break;
    case UPD_CURRENT_DATE:
        if (v->value_type == BSON_TYPE_BOOL) {
            break;
        } else if (v->value_type == BSON_TYPE_DOCUMENT) {
            bson_t d;
            bson_iter_t i;
            bson_init_static(&d, v->value.v_doc.data, v->value.v_doc.data_len);
            if (bson_iter_init_find(&i, &d, "$type") && BSON_ITER_HOLDS_UTF8(&i) &&
                bson_count_keys(&d) == 1) {
                const char *t = bson_iter_utf8(&i, NULL);
                if (strcmp(t, "timestamp") == 0) {
                    it->timestamp = true;
                    break;
                }
                if (strcmp(t, "date") == 0)
                    break;
                docstore_error_set(err, DOCSTORE_BAD_VALUE,
                                   "The '$type' string field is required to be 'date' or "
                                   "'timestamp': {$currentDate: {field : {$type: 'date'}}}");
                return -1;
            }
        }
        docstore_error_set(err, DOCSTORE_BAD_VALUE,
                           "%.200s is not valid type for $currentDate. Please use a boolean "
                           "('true') or a $type expression ({$type: 'timestamp/date'}).",
                           docstore_type_name(v->value_type));
        return -1;
    case UPD_PUSH:
    case UPD_ADD_TO_SET:
        if (parse_push(it, err) != 0)
            return -1;
        break;
    case UPD_PULL:
        if (parse_pull(it, err) != 0)
            return -1;
        break;
    case UPD_RENAME: {
        if (v->value_type != BSON_TYPE_UTF8 || strlen(v->value.v_utf8.str) != v->value.v_utf8.len ||
            !bson_utf8_validate(v->value.v_utf8.str, v->value.v_utf8.len, false)) {
            char buf[128];
            update_fmt_value(v, buf, sizeof buf);
            docstore_error_set(err, DOCSTORE_BAD_VALUE,
                               "The 'to' field for $rename must be a string: %.200s: %s", path,
                               buf);
            return -1;
        }
        /* The item targets the destination; the source is kept aside. */
        it->from = it->path;
        it->path = strdup(v->value.v_utf8.str);
        if (it->path == NULL) {
            docstore_error_oom(err);
            return -1;
        }
        if (update_split_path(it->from, &it->from_comps, &it->nfrom, err) != 0)
            return -1;
        break;
    }
    default:
        break;
    }
    if (update_split_path(it->path, &it->comps, &it->ncomps, err) != 0)
        return -1;
    if (it->op == UPD_RENAME) {
        for (size_t i = 0; i < it->nfrom; i++) {
            if (it->from_comps[i][0] == '$') {
                docstore_error_set(err, DOCSTORE_BAD_VALUE,
                                   "The source field for $rename may not be dynamic: %.200s",
                                   it->from);
                return -1;
            }
        }
        for (size_t i = 0; i < it->ncomps; i++) {
            if (it->comps[i][0] == '$') {
                docstore_error_set(err, DOCSTORE_BAD_VALUE,
                                   "The destination field for $rename may not be dynamic: %.200s",
                                   it->path);
                return -1;
            }
        }
        if (strcmp(it->from, it->path) == 0) {
            docstore_error_set(err, DOCSTORE_BAD_VALUE,
                               "The source and target field for $rename must differ: %.200s: "
                               "\"%.200s\"",
                               it->from, it->path);
            return -1;
        }
        if (comps_is_prefix(it->from_comps, it->nfrom, it->comps, it->ncomps) ||
            comps_is_prefix(it->comps, it->ncomps, it->from_comps, it->nfrom)) {
            docstore_error_set(err, DOCSTORE_BAD_VALUE,
                               "The source and target field for $rename must not be on the same "
                               "path: %.200s: \"%.200s\"",
                               it->from, it->path);
            return -1;
        }
    }
    return check_target(u, it, it->comps, it->ncomps, err);
}

/* One path an update touches, for the conflict check. */
typedef struct upd_touch {
    char **comps;
    size_t n;
    size_t order; /* position in the spec */
    const char *path;
} upd_touch_t;

static int touch_cmp(const void *pa, const void *pb)
{
    const upd_touch_t *a = pa, *b = pb;
    int c = comps_cmp(a->comps, a->n, b->comps, b->n);
    if (c != 0)
        return c;
    return a->order < b->order ? -1 : a->order > b->order;
}

static int check_conflicts(docstore_update_t *u, docstore_error_t *err)
{
    size_t n = 0;
    for (size_t i = 0; i < u->n; i++)
        n += u->items[i].op == UPD_RENAME ? 2 : 1;
    if (n < 2)
        return 0;
    upd_touch_t *t = calloc(n, sizeof *t);
    if (t == NULL) {
        docstore_error_oom(err);
        return -1;
    }
    size_t k = 0;
    for (size_t i = 0; i < u->n; i++) {
        upd_item_t *it = &u->items[i];
        if (it->op == UPD_RENAME)
            t[k++] = (upd_touch_t){it->from_comps, it->nfrom, it->order, it->from};
        t[k++] = (upd_touch_t){it->comps, it->ncomps, it->order, it->path};
    }
    qsort(t, n, sizeof *t, touch_cmp);
    int rc = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        if (comps_is_prefix(t[i].comps, t[i].n, t[i + 1].comps, t[i + 1].n)) {
            const upd_touch_t *later = t[i].order > t[i + 1].order ? &t[i] : &t[i + 1];
            docstore_error_set(err, DOCSTORE_CONFLICTING_UPDATE_OPERATORS,
                               "Updating the path '%.200s' would create a conflict at '%.200s'",
                               later->path, t[i].path);
            rc = -1;
            break;
        }
    }
    free(t);
    return rc;
}

static int item_cmp(const void *pa, const void *pb)
{
    const upd_item_t *a = pa, *b = pb;
    int c = comps_cmp(a->comps, a->ncomps, b->comps, b->ncomps);
    if (c != 0)
        return c;
    return a->order < b->order ? -1 : a->order > b->order;
}

static int compile_replacement(docstore_update_t *u, const bson_t *spec, docstore_error_t *err)
{
    bson_iter_t it;
    bson_iter_init(&it, spec);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (k[0] == '$') {
            docstore_error_set(err, DOCSTORE_DOLLAR_PREFIXED_FIELD_NAME,
                               "The dollar ($) prefixed field '%.100s' in '%.100s' is not allowed "
                               "in the context of an update's replacement document. Consider "
                               "using an aggregation pipeline with $replaceWith.",
                               k, k);
            return -1;
        }
    }
    u->replacement = true;
    u->repl = bson_copy(spec);
    if (u->repl == NULL) {
        docstore_error_oom(err);
        return -1;
    }
    return 0;
}

static int check_size(const bson_t *out, docstore_error_t *err);

/* The command layer hands an update array over as a document with keys "0",
 * "1", ...: a pipeline when every value is a one-field $stage document. */
static bool looks_like_pipeline(const bson_t *spec)
{
    bson_iter_t it;
    uint32_t i = 0;
    if (bson_empty(spec) || !bson_iter_init(&it, spec))
        return false;
    while (bson_iter_next(&it)) {
        char key[16];
        const char *k;
        bson_uint32_to_string(i++, &k, key, sizeof key);
        if (strcmp(bson_iter_key(&it), k) != 0 || !BSON_ITER_HOLDS_DOCUMENT(&it))
            return false;
        bson_iter_t st;
        if (!bson_iter_recurse(&it, &st) || !bson_iter_next(&st) ||
            bson_iter_key(&st)[0] != '$' || bson_iter_next(&st))
            return false;
    }
    return true;
}

/* Pipeline-style updates allow the stages that reshape one document. */
static int compile_pipeline(docstore_update_t *u, const bson_t *spec, docstore_error_t *err)
{
    static const char *const allowed[] = {"$addFields", "$set", "$project", "$unset",
                                          "$replaceRoot", "$replaceWith"};
    bson_iter_t it, st;
    bson_iter_init(&it, spec);
    while (bson_iter_next(&it)) {
        bson_iter_recurse(&it, &st);
        bson_iter_next(&st);
        bool ok = false;
        for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
            ok = ok || strcmp(bson_iter_key(&st), allowed[i]) == 0;
        if (!ok) {
            docstore_error_set(err, DOCSTORE_INVALID_OPTIONS,
                               "%.100s is not allowed to be used within an update",
                               bson_iter_key(&st));
            return -1;
        }
    }
    return docstore_pipeline_new(spec, &u->pipeline, err);
}

/* Runs a pipeline update on one document; the result keeps the old _id. */
static int apply_pipeline(const docstore_update_t *u, const bson_t *doc, bson_t *out,
                          docstore_error_t *err)
{
    docstore_doclist_t docs;
    docstore_doclist_init(&docs);
    if (docstore_doclist_push_copy(&docs, doc) != 0) {
        docstore_error_oom(err);
        return -1;
    }
    if (docstore_pipeline_run(u->pipeline, &docs, NULL, NULL, err) != 0)
        return -1;
    int rc = -1;
    if (docs.n != 1) {
        docstore_error_set(err, DOCSTORE_INTERNAL_ERROR, "update pipeline produced %zu documents",
                           docs.n);
        goto out;
    }
    bson_iter_t old_id, new_id;
    bool has_old = bson_iter_init_find(&old_id, doc, "_id");
    bool has_new = bson_iter_init_find(&new_id, docs.docs[0], "_id");
    if (has_old && has_new &&
        !docstore_value_equal(bson_iter_value(&old_id), bson_iter_value(&new_id))) {
        docstore_error_set(err, DOCSTORE_IMMUTABLE_FIELD,
                           "Performing an update on the path '_id' would modify the immutable "
                           "field '_id'");
        goto out;
    }
    if (has_old && !has_new)
        bson_append_value(out, "_id", 3, bson_iter_value(&old_id));
    bson_concat(out, docs.docs[0]);
    rc = check_size(out, err);
out:
    docstore_doclist_free(&docs);
    return rc;
}

int docstore_update_new(const bson_t *spec, const bson_t *array_filters, docstore_update_t **out,
                        docstore_error_t *err)
{
    *out = NULL;
    docstore_update_t *u = calloc(1, sizeof *u);
    if (u == NULL) {
        docstore_error_oom(err);
        return -1;
    }
    bson_iter_t it;
    if (!bson_iter_init(&it, spec)) {
        docstore_error_set(err, DOCSTORE_INVALID_BSON, "invalid update document");
        goto fail;
    }
    if (looks_like_pipeline(spec)) {
        if (compile_pipeline(u, spec, err) != 0)
            goto fail;
        *out = u;
        return 0;
    }
    if (!bson_iter_next(&it) || bson_iter_key(&it)[0] != '$') {
        if (compile_replacement(u, spec, err) != 0)
            goto fail;
        *out = u;
        return 0;
    }
    if (parse_filters(u, array_filters, err) != 0)
        goto fail;
    size_t total = 0;
    bson_iter_init(&it, spec);
    while (bson_iter_next(&it)) {
        if (BSON_ITER_HOLDS_DOCUMENT(&it)) {
            uint32_t len;
            const uint8_t *data;
            bson_t d;
            bson_iter_document(&it, &len, &data);
            if (bson_init_static(&d, data, len))
                total += bson_count_keys(&d);
        }
    }
    u->items = calloc(total ? total : 1, sizeof *u->items);
    if (u->items == NULL) {
        docstore_error_oom(err);
        goto fail;
    }
    size_t order = 0;
    bson_iter_init(&it, spec);
    while (bson_iter_next(&it)) {
        const char *name = bson_iter_key(&it);
        int op = -1;
        for (size_t i = 0; i < sizeof upd_ops / sizeof upd_ops[0]; i++) {
            if (strcmp(name, upd_ops[i].name) == 0)
                op = (int)upd_ops[i].op;
        }
        if (op < 0) {
            docstore_error_set(err, DOCSTORE_FAILED_TO_PARSE,
                               "Unknown modifier: %.100s. Expected a valid update modifier or "
                               "pipeline-style update specified as an array",
                               name);
            goto fail;
        }
        if (!BSON_ITER_HOLDS_DOCUMENT(&it)) {
            char buf[128];
            update_fmt_value(bson_iter_value(&it), buf, sizeof buf);
            docstore_error_set(err, DOCSTORE_FAILED_TO_PARSE,
                               "Modifiers operate on fields but we found type %s instead. For "
                               "example: {$mod: {<field>: ...}} not {%s: %s}",
                               docstore_type_name(bson_iter_type(&it)), name, buf);
            goto fail;
        }
        bson_iter_t fields;
        bson_iter_recurse(&it, &fields);
        while (bson_iter_next(&fields)) {
            if (u->n == total) {
                /* Never trust the first count over malformed input: grow. */
                upd_item_t *more = realloc(u->items, (total * 2 + 1) * sizeof *more);
                if (more == NULL) {
                    docstore_error_oom(err);
                    goto fail;
                }
                memset(more + total, 0, (total + 1) * sizeof *more);
                u->items = more;
                total = total * 2 + 1;
            }
            upd_item_t *item = &u->items[u->n++];
            item->op = (upd_op_t)op;
            item->order = order++;
            if (parse_item(u, item, &fields, err) != 0)
                goto fail;
        }
    }
    for (size_t i = 0; i < u->nfilters; i++) {
        if (!u->filters[i].used) {
            docstore_error_set(err, DOCSTORE_FAILED_TO_PARSE,
                               "The array filter for identifier '%s' was not used in the update",
                               u->filters[i].id);
            goto fail;
        }
    }
    if (check_conflicts(u, err) != 0)
        goto fail;
    qsort(u->items, u->n, sizeof *u->items, item_cmp);
    *out = u;
    return 0;
fail:
    docstore_update_free(u);
    return -1;
}

/* --- applying: replacement and the driver loop -------------------------------- */

static int check_size(const bson_t *out, docstore_error_t *err)
{
    if (out->len > 16 * 1024 * 1024) {
        docstore_error_set(err, DOCSTORE_LOCATION_17419,
                           "Resulting document after update is larger than 16777216");
        return -1;
    }
    return 0;
}

static int apply_replacement(const docstore_update_t *u, const bson_t *doc, bson_t *out,
                             docstore_error_t *err)
{
    bson_iter_t old_id, new_id;
    bool has_old = bson_iter_init_find(&old_id, doc, "_id");
    bool has_new = bson_iter_init_find(&new_id, u->repl, "_id");
    if (has_old && has_new &&
        !docstore_value_equal(bson_iter_value(&old_id), bson_iter_value(&new_id))) {
        char buf[128];
        update_fmt_value(bson_iter_value(&new_id), buf, sizeof buf);
        docstore_error_set(err, DOCSTORE_IMMUTABLE_FIELD,
                           "After applying the update, the (immutable) field '_id' was found to "
                           "have been altered to _id: %s",
                           buf);
        return -1;
    }
    if (has_new)
        bson_append_value(out, "_id", 3, bson_iter_value(&new_id));
    else if (has_old)
        bson_append_value(out, "_id", 3, bson_iter_value(&old_id));
    bson_iter_t it;
    bson_iter_init(&it, u->repl);
    while (bson_iter_next(&it)) {
        if (strcmp(bson_iter_key(&it), "_id") == 0)
            continue;
        if (!bson_append_value(out, bson_iter_key(&it), -1, bson_iter_value(&it))) {
            docstore_error_set(err, DOCSTORE_LOCATION_17419,
                               "Resulting document after update is larger than 16777216");
            return -1;
        }
    }
    return check_size(out, err);
}

int docstore_update_apply(const docstore_update_t *u, const bson_t *doc, int32_t matched_pos,
                          bool is_insert, bson_t *out, bool *changed, docstore_error_t *err)
{
    *changed = false;
    if (u->pipeline != NULL) {
        if (apply_pipeline(u, doc, out, err) != 0)
            return -1;
        *changed = !(out->len == doc->len &&
                     memcmp(bson_get_data(out), bson_get_data(doc), doc->len) == 0);
        return 0;
    }
    if (u->replacement) {
        if (apply_replacement(u, doc, out, err) != 0)
            return -1;
        *changed = !(out->len == doc->len &&
                     memcmp(bson_get_data(out), bson_get_data(doc), doc->len) == 0);
        return 0;
    }
    docstore_mnode_t *root = docstore_mnode_from_doc(doc);
    if (root == NULL) {
        docstore_error_set(err, DOCSTORE_BAD_VALUE, "document too deep or out of memory");
        return -1;
    }
    upd_ctx_t ctx = {
        .u = u,
        .root = root,
        .matched_pos = matched_pos,
        .is_insert = is_insert,
        .err = err,
    };
    update_ctx_init_time(&ctx);
    int rc = 0;
    for (size_t i = 0; i < u->n && rc == 0; i++)
        rc = update_apply_item(&ctx, &u->items[i]);
    if (rc == 0 && !docstore_mnode_to_doc(root, out)) {
        docstore_error_set(err, DOCSTORE_LOCATION_17419,
                           "Resulting document after update is larger than 16777216");
        rc = -1;
    }
    docstore_mnode_free(root);
    if (rc != 0)
        return -1;
    bson_iter_t old_id, new_id;
    if (bson_iter_init_find(&old_id, doc, "_id")) {
        bool same = bson_iter_init_find(&new_id, out, "_id") &&
                    bson_iter_type(&old_id) == bson_iter_type(&new_id) &&
                    docstore_value_equal(bson_iter_value(&old_id), bson_iter_value(&new_id));
        if (!same) {
            const char *path = "_id";
            for (size_t i = 0; i < u->n; i++) {
                if (strcmp(u->items[i].comps[0], "_id") == 0 ||
                    (u->items[i].from_comps && strcmp(u->items[i].from_comps[0], "_id") == 0)) {
                    path = u->items[i].from_comps &&
                                   strcmp(u->items[i].from_comps[0], "_id") == 0
                               ? u->items[i].from
                               : u->items[i].path;
                    break;
                }
            }
            docstore_error_set(err, DOCSTORE_IMMUTABLE_FIELD,
                               "Performing an update on the path '%.200s' would modify the "
                               "immutable field '_id'",
                               path);
            return -1;
        }
    }
    if (check_size(out, err) != 0)
        return -1;
    if (!bson_validate(out, BSON_VALIDATE_NONE, NULL)) {
        /* Only reachable from malformed stored or sent documents (field
         * names that are not UTF-8): refuse rather than store them. */
        docstore_error_set(err, DOCSTORE_BAD_VALUE,
                           "the updated document would not be valid BSON");
        return -1;
    }
    *changed = !(out->len == doc->len &&
                 memcmp(bson_get_data(out), bson_get_data(doc), doc->len) == 0);
    return 0;
}

/* --- upsert seed ------------------------------------------------------------- */

static int seed_set(docstore_mnode_t *root, const char *path, const bson_value_t *v,
                    docstore_error_t *err)
{
    char **comps;
    size_t n;
    if (update_split_path(path, &comps, &n, err) != 0)
        return -1;
    int rc = -1;
    docstore_mnode_t *node = root;
    for (size_t i = 0; i < n; i++) {
        ptrdiff_t k = docstore_mnode_find(node, comps[i]);
        if (i + 1 == n) {
            if (k >= 0) {
                docstore_error_set(err, DOCSTORE_NOT_SINGLE_VALUE_FIELD,
                                   "cannot infer query fields to set, path '%.200s' is matched "
                                   "twice",
                                   path);
                goto out;
            }
            docstore_mnode_t *c = docstore_mnode_from_value(comps[i], v);
            if (!docstore_mnode_append(node, c))
                goto oom;
            break;
        }
        if (k < 0) {
            docstore_mnode_t *c = docstore_mnode_new_container(comps[i], BSON_TYPE_DOCUMENT);
            if (!docstore_mnode_append(node, c))
                goto oom;
            k = (ptrdiff_t)node->n - 1;
        }
        node = node->kids[k];
        if (node->v.value_type != BSON_TYPE_DOCUMENT) {
            docstore_error_set(err, DOCSTORE_NOT_SINGLE_VALUE_FIELD,
                               "cannot infer query fields to set, path '%.200s' is matched twice",
                               path);
            goto out;
        }
    }
    rc = 0;
    goto out;
oom:
    docstore_error_oom(err);
out:
    comps_free(comps, n);
    return rc;
}

static int seed_from(docstore_mnode_t *root, const bson_t *filter, int depth,
                     docstore_error_t *err)
{
    bson_iter_t it;
    if (depth > 20 || !bson_iter_init(&it, filter))
        return 0;
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        const bson_value_t *v = bson_iter_value(&it);
        if (strcmp(k, "$and") == 0 && v->value_type == BSON_TYPE_ARRAY) {
            bson_iter_t ai;
            bson_iter_recurse(&it, &ai);
            while (bson_iter_next(&ai)) {
                if (!BSON_ITER_HOLDS_DOCUMENT(&ai))
                    continue;
                uint32_t len;
                const uint8_t *data;
                bson_t sub;
                bson_iter_document(&ai, &len, &data);
                if (bson_init_static(&sub, data, len) && seed_from(root, &sub, depth + 1, err))
                    return -1;
            }
            continue;
        }
        if (k[0] == '$')
            continue;
        if (v->value_type == BSON_TYPE_REGEX)
            continue;
        if (v->value_type == BSON_TYPE_DOCUMENT) {
            bson_iter_t di;
            bson_iter_recurse(&it, &di);
            if (bson_iter_next(&di) && bson_iter_key(&di)[0] == '$') {
                /* An operator document: only $eq (and a one-value $in) give a value. */
                bson_iter_recurse(&it, &di);
                while (bson_iter_next(&di)) {
                    const char *op = bson_iter_key(&di);
                    if (strcmp(op, "$eq") == 0) {
                        if (seed_set(root, k, bson_iter_value(&di), err) != 0)
                            return -1;
                    } else if (strcmp(op, "$in") == 0 && BSON_ITER_HOLDS_ARRAY(&di)) {
                        bson_iter_t in;
                        bson_iter_recurse(&di, &in);
                        if (bson_iter_next(&in)) {
                            bson_value_t one;
                            bson_value_copy(bson_iter_value(&in), &one);
                            bool single = !bson_iter_next(&in);
                            int rc = single && one.value_type != BSON_TYPE_REGEX
                                         ? seed_set(root, k, &one, err)
                                         : 0;
                            bson_value_destroy(&one);
                            if (rc != 0)
                                return -1;
                        }
                    }
                }
                continue;
            }
        }
        if (seed_set(root, k, v, err) != 0)
            return -1;
    }
    return 0;
}

int docstore_update_upsert_seed(const bson_t *filter, bson_t *out, docstore_error_t *err)
{
    docstore_mnode_t *root = docstore_mnode_new_container("", BSON_TYPE_DOCUMENT);
    if (root == NULL) {
        docstore_error_oom(err);
        return -1;
    }
    int rc = seed_from(root, filter, 0, err);
    if (rc == 0) {
        /* _id first, as the server stores it. */
        ptrdiff_t k = docstore_mnode_find(root, "_id");
        if (k > 0) {
            docstore_mnode_t *id = root->kids[k];
            memmove(root->kids + 1, root->kids, (size_t)k * sizeof *root->kids);
            root->kids[0] = id;
        }
        if (!docstore_mnode_to_doc(root, out)) {
            docstore_error_set(err, DOCSTORE_BAD_VALUE, "upsert document too large");
            rc = -1;
        }
    }
    docstore_mnode_free(root);
    return rc;
}
