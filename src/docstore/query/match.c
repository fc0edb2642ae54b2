/*
 * Compiling a MongoDB filter document into the tree of match_internal.h, with
 * the errors MongoDB gives for malformed filters, and the public matcher API.
 * Evaluation lives in match_eval.c.
 *
 * Shape: the top level is an AND of one node per field; {a: {$gt: 1, $lt: 5}}
 * is two PATH nodes (each traverses a's array on its own, as MongoDB does);
 * $ne and $nin are NOT over the path ($ne: 5 rejects [1, 5]); $not is NOT over
 * the PATH nodes of its operators; $all is an AND of equalities or
 * $elemMatches; a regex value in equality or $in is a regex match.
 */
#include "docstore/query/match_internal.h"
#include "docstore/query/regex.h"
#include "docstore/base/deadline.h"
#include "docstore/query/value.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MATCH_MAX_DEPTH 100 /* nesting of $and/$or/$elemMatch/$not, as MongoDB caps it */

static void node_free(mnode_t *n)
{
    if (n == NULL)
        return;
    for (size_t i = 0; i < n->nkids; i++)
        node_free(n->kids[i]);
    free(n->kids);
    free(n->path_buf);
    free(n->parts);
    free(n->part_len);
    free(n->part_index);
    free(n->in_vals);
    if (n->md != NULL)
        pcre2_match_data_free(n->md);
    if (n->re != NULL)
        pcre2_code_free(n->re);
    if (n->expr != NULL)
        docstore_expr_free(n->expr);
    free(n);
}

static mnode_t *node_new(enum mnode_kind kind)
{
    mnode_t *n = calloc(1, sizeof *n);
    if (n != NULL)
        n->kind = kind;
    return n;
}

/* Appends kid to n (takes ownership of kid, also on failure). */
static int node_add(mnode_t *n, mnode_t *kid, docstore_error_t *err)
{
    mnode_t **k = realloc(n->kids, (n->nkids + 1) * sizeof *k);
    if (k == NULL) {
        node_free(kid);
        docstore_error_oom(err);
        return -1;
    }
    n->kids = k;
    n->kids[n->nkids++] = kid;
    return 0;
}

/* A PATH node over path testing test (owned, also on failure). */
static int path_node_new(const char *path, mnode_t *test, mnode_t **out, docstore_error_t *err)
{
    mnode_t *n = node_new(MN_PATH);
    if (n == NULL) {
        node_free(test);
        return docstore_error_oom(err);
    }
    if (node_add(n, test, err) != 0) {
        node_free(n);
        return -1;
    }
    n->expand_leaf =
        test->kind != MN_SIZE && test->kind != MN_ELEMMATCH_OBJ && test->kind != MN_ELEMMATCH_VAL;
    n->path_buf = strdup(path);
    size_t count = 1;
    for (const char *p = path; *p; p++)
        count += *p == '.';
    n->parts = calloc(count, sizeof *n->parts);
    n->part_len = calloc(count, sizeof *n->part_len);
    n->part_index = calloc(count, sizeof *n->part_index);
    if (n->path_buf == NULL || n->parts == NULL || n->part_len == NULL || n->part_index == NULL) {
        node_free(n);
        return docstore_error_oom(err);
    }
    char *p = n->path_buf;
    for (size_t i = 0; i < count; i++) {
        char *dot = strchr(p, '.');
        if (dot != NULL)
            *dot = '\0';
        n->parts[i] = p;
        n->part_len[i] = (int)strlen(p);
        n->part_index[i] = docstore_path_part_index(p, n->part_len[i]);
        if (n->part_len[i] == 0) {
            docstore_error_set(err, DOCSTORE_BAD_VALUE,
                               "FieldPath field names may not be empty strings.");
            node_free(n);
            return -1;
        }
        p = dot ? dot + 1 : p;
    }
    n->nparts = count;
    *out = n;
    return 0;
}

static int compile_regex(mnode_t *n, const char *pattern, const char *options,
                         docstore_error_t *err)
{
    uint32_t flags = PCRE2_UTF;
    char sorted[8] = {0};
    const char *order = "imsux";
    for (const char *o = options; *o; o++) {
        switch (*o) {
        case 'i':
            flags |= PCRE2_CASELESS;
            break;
        case 'm':
            flags |= PCRE2_MULTILINE;
            break;
        case 's':
            flags |= PCRE2_DOTALL;
            break;
        case 'x':
            flags |= PCRE2_EXTENDED;
            break;
        case 'u':
            break;
        default:
            docstore_error_set(err, DOCSTORE_BAD_VALUE, "invalid flag in regex options: %c", *o);
            return -1;
        }
    }
    size_t k = 0;
    for (const char *c = order; *c; c++)
        if (strchr(options, *c) != NULL)
            sorted[k++] = *c;
    memcpy(n->re_flags, sorted, sizeof n->re_flags);
    if (docstore_deadline_tick(16)) /* compiling 15,000 regexes takes seconds */
        return docstore_deadline_error(err);
    int ecode;
    PCRE2_SIZE eoff;
    n->re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, flags, &ecode, &eoff, NULL);
    if (n->re == NULL) {
        PCRE2_UCHAR msg[200];
        pcre2_get_error_message(ecode, msg, sizeof msg);
        docstore_error_set(err, DOCSTORE_LOCATION_51091, "Regular expression is invalid: %s",
                           (char *)msg);
        return -1;
    }
    docstore_regex_jit(n->re); /* compiled once per filter, run once per document */
    n->md = pcre2_match_data_create_from_pattern(n->re, NULL);
    if (n->md == NULL)
        return docstore_error_oom(err);
    n->re_pattern = pattern;
    return 0;
}

/* A REGEX test from a BSON regex value or a pattern string plus options. */
static int regex_node_new(const char *pattern, const char *options, mnode_t **out,
                          docstore_error_t *err)
{
    mnode_t *n = node_new(MN_REGEX);
    if (n == NULL)
        return docstore_error_oom(err);
    if (compile_regex(n, pattern, options ? options : "", err) != 0) {
        node_free(n);
        return -1;
    }
    *out = n;
    return 0;
}

static int value_node_new(enum mnode_kind kind, const bson_value_t *v, mnode_t **out,
                          docstore_error_t *err)
{
    mnode_t *n = node_new(kind);
    if (n == NULL)
        return docstore_error_oom(err);
    n->operand = *v;
    *out = n;
    return 0;
}

/* An equality test; a regex value means a regex match (implicit $eq and $in). */
static int eq_or_regex_node(const bson_value_t *v, bool regex_matches, mnode_t **out,
                            docstore_error_t *err)
{
    if (regex_matches && v->value_type == BSON_TYPE_REGEX)
        return regex_node_new(v->value.v_regex.regex, v->value.v_regex.options, out, err);
    if (v->value_type == BSON_TYPE_UNDEFINED) {
        docstore_error_set(err, DOCSTORE_BAD_VALUE, "cannot compare to undefined");
        return -1;
    }
    return value_node_new(MN_EQ, v, out, err);
}

static bool is_number_type(bson_type_t t)
{
    return t == BSON_TYPE_INT32 || t == BSON_TYPE_INT64 || t == BSON_TYPE_DOUBLE ||
           t == BSON_TYPE_DECIMAL128;
}

static bool value_as_whole(const bson_value_t *v, int64_t *out)
{
    double d;
    if (v->value_type == BSON_TYPE_INT32) {
        *out = v->value.v_int32;
        return true;
    }
    if (v->value_type == BSON_TYPE_INT64) {
        *out = v->value.v_int64;
        return true;
    }
    if (!docstore_value_as_double(v, &d) || !isfinite(d) || d != trunc(d) ||
        d >= 9223372036854775807.0 || d < -9223372036854775808.0)
        return false;
    *out = (int64_t)d;
    return true;
}

static const struct {
    const char *name;
    int code;
} type_aliases[] = {
    {"double", BSON_TYPE_DOUBLE},
    {"string", BSON_TYPE_UTF8},
    {"object", BSON_TYPE_DOCUMENT},
    {"array", BSON_TYPE_ARRAY},
    {"binData", BSON_TYPE_BINARY},
    {"undefined", BSON_TYPE_UNDEFINED},
    {"objectId", BSON_TYPE_OID},
    {"bool", BSON_TYPE_BOOL},
    {"date", BSON_TYPE_DATE_TIME},
    {"null", BSON_TYPE_NULL},
    {"regex", BSON_TYPE_REGEX},
    {"dbPointer", BSON_TYPE_DBPOINTER},
    {"javascript", BSON_TYPE_CODE},
    {"symbol", BSON_TYPE_SYMBOL},
    {"javascriptWithScope", BSON_TYPE_CODEWSCOPE},
    {"int", BSON_TYPE_INT32},
    {"timestamp", BSON_TYPE_TIMESTAMP},
    {"long", BSON_TYPE_INT64},
    {"decimal", BSON_TYPE_DECIMAL128},
    {"minKey", BSON_TYPE_MINKEY},
    {"maxKey", BSON_TYPE_MAXKEY},
};

static void type_set(mnode_t *n, int code)
{
    unsigned b = (unsigned)code & 0xff;
    n->types[b >> 5] |= 1u << (b & 31);
}

/* One $type argument: a number code or an alias. */
static int type_add(mnode_t *n, const bson_value_t *v, docstore_error_t *err)
{
    if (v->value_type == BSON_TYPE_UTF8) {
        if (strcmp(v->value.v_utf8.str, "number") == 0) {
            n->any_number = true;
            return 0;
        }
        for (size_t i = 0; i < sizeof type_aliases / sizeof type_aliases[0]; i++)
            if (strcmp(v->value.v_utf8.str, type_aliases[i].name) == 0) {
                type_set(n, type_aliases[i].code);
                return 0;
            }
        docstore_error_set(err, DOCSTORE_BAD_VALUE, "Unknown type name alias: %s",
                           v->value.v_utf8.str);
        return -1;
    }
    int64_t code;
    if (!is_number_type(v->value_type)) {
        docstore_error_set(err, DOCSTORE_TYPE_MISMATCH,
                           "type must be represented as a number or a string");
        return -1;
    }
    if (!value_as_whole(v, &code)) {
        docstore_error_set(err, DOCSTORE_BAD_VALUE, "Invalid numerical type code");
        return -1;
    }
    if (code == -1) {
        type_set(n, BSON_TYPE_MINKEY);
        return 0;
    }
    if (code == 127 || (code >= 1 && code <= 19)) {
        type_set(n, (int)code);
        return 0;
    }
    docstore_error_set(err, DOCSTORE_BAD_VALUE, "Invalid numerical type code: %lld",
                       (long long)code);
    return -1;
}

static int type_node_new(const bson_value_t *v, mnode_t **out, docstore_error_t *err)
{
    mnode_t *n = node_new(MN_TYPE);
    if (n == NULL)
        return docstore_error_oom(err);
    if (v->value_type == BSON_TYPE_ARRAY) {
        bson_iter_t it;
        if (bson_iter_init_from_data(&it, v->value.v_doc.data, v->value.v_doc.data_len))
            while (bson_iter_next(&it))
                if (type_add(n, bson_iter_value(&it), err) != 0) {
                    node_free(n);
                    return -1;
                }
    } else if (type_add(n, v, err) != 0) {
        node_free(n);
        return -1;
    }
    *out = n;
    return 0;
}

static int parse_filter(const uint8_t *data, uint32_t len, mnode_t *and_node, int depth, bool top,
                        docstore_error_t *err);
static int parse_ops(const bson_value_t *ops, const char *path, mnode_t *dest, int depth,
                     docstore_error_t *err);

/* Adds test to dest: wrapped in a PATH node when path is set, else (the value
 * form of $elemMatch, $not inside it) as a value test. */
static int add_test(mnode_t *dest, const char *path, mnode_t *test, bool negate,
                    docstore_error_t *err)
{
    mnode_t *n = test;
    if (path != NULL && path_node_new(path, test, &n, err) != 0)
        return -1;
    if (negate) {
        mnode_t *neg = node_new(path != NULL ? MN_NOT : MN_VNOT);
        if (neg == NULL) {
            node_free(n);
            return docstore_error_oom(err);
        }
        if (node_add(neg, n, err) != 0) {
            node_free(neg);
            return -1;
        }
        n = neg;
    }
    return node_add(dest, n, err);
}

/* DBRef fields are field names, not operators ({"$id": 1} in a filter). */
static bool is_dbref_field(const char *k)
{
    return strcmp(k, "$ref") == 0 || strcmp(k, "$id") == 0 || strcmp(k, "$db") == 0;
}

static bool is_elemmatch_value_form(const bson_value_t *spec)
{
    bson_iter_t it;
    if (!bson_iter_init_from_data(&it, spec->value.v_doc.data, spec->value.v_doc.data_len) ||
        !bson_iter_next(&it))
        return false;
    const char *k = bson_iter_key(&it);
    return k[0] == '$' && !is_dbref_field(k) && strcmp(k, "$and") != 0 && strcmp(k, "$or") != 0 &&
           strcmp(k, "$nor") != 0 && strcmp(k, "$expr") != 0 && strcmp(k, "$where") != 0 &&
           strcmp(k, "$comment") != 0 && strcmp(k, "$alwaysTrue") != 0 &&
           strcmp(k, "$alwaysFalse") != 0;
}

static int elemmatch_node_new(const bson_value_t *spec, mnode_t **out, int depth,
                              docstore_error_t *err)
{
    if (spec->value_type != BSON_TYPE_DOCUMENT) {
        docstore_error_set(err, DOCSTORE_BAD_VALUE, "$elemMatch needs an Object");
        return -1;
    }
    bool value_form = is_elemmatch_value_form(spec);
    mnode_t *n = node_new(value_form ? MN_ELEMMATCH_VAL : MN_ELEMMATCH_OBJ);
    if (n == NULL)
        return docstore_error_oom(err);
    int rc;
    if (value_form) {
        rc = parse_ops(spec, NULL, n, depth + 1, err);
    } else {
        mnode_t *sub = node_new(MN_AND);
        rc = sub == NULL ? docstore_error_oom(err) : node_add(n, sub, err);
        if (rc == 0)
            rc = parse_filter(spec->value.v_doc.data, spec->value.v_doc.data_len, sub, depth + 1,
                              false, err);
    }
    if (rc != 0) {
        node_free(n);
        return -1;
    }
    *out = n;
    return 0;
}

static int all_node(const bson_value_t *v, const char *path, mnode_t *dest, int depth,
                    docstore_error_t *err)
{
    if (v->value_type != BSON_TYPE_ARRAY) {
        docstore_error_set(err, DOCSTORE_BAD_VALUE, "$all needs an array");
        return -1;
    }
    bson_iter_t it;
    if (!bson_iter_init_from_data(&it, v->value.v_doc.data, v->value.v_doc.data_len))
        return -1;
    size_t count = 0;
    int elemmatches = 0;
    while (bson_iter_next(&it)) {
        const bson_value_t *e = bson_iter_value(&it);
        bool is_em = false;
        bson_iter_t sub; /* e may point into it */
        if (e->value_type == BSON_TYPE_DOCUMENT) {
            is_em = bson_iter_init_from_data(&sub, e->value.v_doc.data, e->value.v_doc.data_len) &&
                    bson_iter_next(&sub) && strcmp(bson_iter_key(&sub), "$elemMatch") == 0;
            if (is_em)
                e = bson_iter_value(&sub);
        }
        if ((count > 0 && is_em != (elemmatches > 0)) || (is_em && path == NULL)) {
            docstore_error_set(err, DOCSTORE_BAD_VALUE, "$all/$elemMatch has to be consistent");
            return -1;
        }
        mnode_t *t;
        int rc = is_em ? elemmatch_node_new(e, &t, depth, err) : eq_or_regex_node(e, true, &t, err);
        if (rc != 0 || add_test(dest, path, t, false, err) != 0)
            return -1;
        elemmatches += is_em;
        count++;
    }
    if (count == 0) {
        /* $all: [] matches no document */
        mnode_t *f = node_new(path != NULL ? MN_FALSE : MN_VNOT);
        if (f == NULL)
            return docstore_error_oom(err);
        return node_add(dest, f, err);
    }
    return 0;
}

static int in_val_cmp(const void *a, const void *b)
{
    return docstore_value_compare(a, b);
}

static int in_node_new(const bson_value_t *v, const char *op, mnode_t **out, docstore_error_t *err)
{
    if (v->value_type != BSON_TYPE_ARRAY) {
        docstore_error_set(err, DOCSTORE_BAD_VALUE, "%s needs an array", op);
        return -1;
    }
    mnode_t *n = node_new(MN_IN);
    if (n == NULL)
        return docstore_error_oom(err);
    bson_iter_t it;
    size_t count = 0;
    if (bson_iter_init_from_data(&it, v->value.v_doc.data, v->value.v_doc.data_len))
        while (bson_iter_next(&it))
            count++;
    n->in_vals = calloc(count ? count : 1, sizeof *n->in_vals);
    if (n->in_vals == NULL) {
        node_free(n);
        return docstore_error_oom(err);
    }
    bson_iter_init_from_data(&it, v->value.v_doc.data, v->value.v_doc.data_len);
    while (bson_iter_next(&it)) {
        const bson_value_t *e = bson_iter_value(&it);
        if (e->value_type == BSON_TYPE_REGEX) {
            mnode_t *re;
            if (regex_node_new(e->value.v_regex.regex, e->value.v_regex.options, &re, err) != 0 ||
                node_add(n, re, err) != 0) {
                node_free(n);
                return -1;
            }
            continue;
        }
        if (e->value_type == BSON_TYPE_DOCUMENT) {
            bson_iter_t sub;
            if (bson_iter_init_from_data(&sub, e->value.v_doc.data, e->value.v_doc.data_len) &&
                bson_iter_next(&sub) && bson_iter_key(&sub)[0] == '$' &&
                strcmp(bson_iter_key(&sub), "$ref") != 0) {
                docstore_error_set(err, DOCSTORE_BAD_VALUE, "cannot nest $ under %s", op);
                node_free(n);
                return -1;
            }
        }
        if (e->value_type == BSON_TYPE_UNDEFINED) {
            docstore_error_set(err, DOCSTORE_BAD_VALUE,
                               "InMatchExpression equality cannot be undefined");
            node_free(n);
            return -1;
        }
        n->in_vals[n->nin++] = *e; /* points into the matcher's filter copy */
    }
    /* sorted for binary search: equality is exactly docstore_value_compare() == 0 */
    qsort(n->in_vals, n->nin, sizeof *n->in_vals, in_val_cmp);
    *out = n;
    return 0;
}

/* A $mod operand as an integer: int32/int64 exactly, others truncated. */
static bool mod_operand(const bson_value_t *v, int64_t *out)
{
    double d;
    if (v->value_type == BSON_TYPE_INT32 || v->value_type == BSON_TYPE_INT64) {
        *out = v->value_type == BSON_TYPE_INT32 ? v->value.v_int32 : v->value.v_int64;
        return true;
    }
    if (!docstore_value_as_double(v, &d) || !isfinite(d) || d >= 9223372036854775807.0 ||
        d < -9223372036854775808.0)
        return false;
    *out = (int64_t)d;
    return true;
}

static int mod_node_new(const bson_value_t *v, mnode_t **out, docstore_error_t *err)
{
    if (v->value_type != BSON_TYPE_ARRAY) {
        docstore_error_set(err, DOCSTORE_BAD_VALUE, "malformed mod, needs to be an array");
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
    if (count < 2) {
        docstore_error_set(err, DOCSTORE_BAD_VALUE, "malformed mod, not enough elements");
        return -1;
    }
    if (count > 2) {
        docstore_error_set(err, DOCSTORE_BAD_VALUE, "malformed mod, too many elements");
        return -1;
    }
    if (!is_number_type(args[0].value_type)) {
        docstore_error_set(err, DOCSTORE_BAD_VALUE, "malformed mod, divisor not a number");
        return -1;
    }
    if (!is_number_type(args[1].value_type)) {
        docstore_error_set(err, DOCSTORE_BAD_VALUE, "malformed mod, remainder not a number");
        return -1;
    }
    int64_t divisor, remainder;
    if (!mod_operand(&args[0], &divisor) || !mod_operand(&args[1], &remainder)) {
        docstore_error_set(err, DOCSTORE_BAD_VALUE, "malformed mod, divisor value is invalid");
        return -1;
    }
    if (divisor == 0) {
        docstore_error_set(err, DOCSTORE_BAD_VALUE, "divisor cannot be 0");
        return -1;
    }
    mnode_t *n = node_new(MN_MOD);
    if (n == NULL)
        return docstore_error_oom(err);
    n->divisor = divisor;
    n->remainder = remainder;
    *out = n;
    return 0;
}

static int size_node_new(const bson_value_t *v, mnode_t **out, docstore_error_t *err)
{
    int64_t size;
    if (!is_number_type(v->value_type)) {
        docstore_error_set(err, DOCSTORE_BAD_VALUE, "$size needs a number");
        return -1;
    }
    if (!value_as_whole(v, &size)) {
        docstore_error_set(err, DOCSTORE_BAD_VALUE, "$size must be a whole number");
        return -1;
    }
    if (size < 0) {
        docstore_error_set(err, DOCSTORE_BAD_VALUE, "$size may not be negative");
        return -1;
    }
    mnode_t *n = node_new(MN_SIZE);
    if (n == NULL)
        return docstore_error_oom(err);
    n->size = size;
    *out = n;
    return 0;
}

static bool value_truthy_for_exists(const bson_value_t *v)
{
    switch (v->value_type) {
    case BSON_TYPE_BOOL:
        return v->value.v_bool;
    case BSON_TYPE_INT32:
    case BSON_TYPE_INT64:
    case BSON_TYPE_DOUBLE:
    case BSON_TYPE_DECIMAL128: {
        double d = 0;
        docstore_value_as_double(v, &d);
        return d != 0;
    }
    case BSON_TYPE_NULL:
    case BSON_TYPE_UNDEFINED:
    case BSON_TYPE_EOD:
        return false;
    default:
        return true;
    }
}

static const char *const unsupported_ops[] = {
    "$geoWithin",  "$geoIntersects", "$near",       "$nearSphere",   "$within",
    "$bitsAllSet", "$bitsAllClear",  "$bitsAnySet", "$bitsAnyClear", "$text",
    "$where",      "$jsonSchema",    NULL,
};

/* The operators of an operator object ({$gt: 1, $lt: 5}) on path (NULL in the
 * value form of $elemMatch), each added to dest. */
static int parse_ops(const bson_value_t *ops, const char *path, mnode_t *dest, int depth,
                     docstore_error_t *err)
{
    if (depth > MATCH_MAX_DEPTH) {
        docstore_error_set(err, DOCSTORE_BAD_VALUE,
                           "exceeded depth limit of %d when parsing the filter", MATCH_MAX_DEPTH);
        return -1;
    }
    bson_iter_t it;
    if (!bson_iter_init_from_data(&it, ops->value.v_doc.data, ops->value.v_doc.data_len)) {
        docstore_error_set(err, DOCSTORE_BAD_VALUE, "invalid filter document");
        return -1;
    }
    /* $regex and $options form one test */
    const bson_value_t *regex = NULL, *options = NULL;
    bson_value_t regex_v, options_v;
    bson_iter_t scan = it;
    while (bson_iter_next(&scan)) {
        if (strcmp(bson_iter_key(&scan), "$regex") == 0) {
            regex_v = *bson_iter_value(&scan);
            regex = &regex_v;
        } else if (strcmp(bson_iter_key(&scan), "$options") == 0) {
            options_v = *bson_iter_value(&scan);
            options = &options_v;
        }
    }
    if (options != NULL && regex == NULL) {
        docstore_error_set(err, DOCSTORE_BAD_VALUE, "$options needs a $regex");
        return -1;
    }
    if (regex != NULL) {
        const char *pattern, *opts = "";
        if (regex->value_type == BSON_TYPE_UTF8) {
            pattern = regex->value.v_utf8.str;
            if (strlen(pattern) != regex->value.v_utf8.len) {
                docstore_error_set(err, DOCSTORE_BAD_VALUE,
                                   "Regular expression cannot contain an embedded null byte");
                return -1;
            }
        } else if (regex->value_type == BSON_TYPE_REGEX) {
            pattern = regex->value.v_regex.regex;
            opts = regex->value.v_regex.options ? regex->value.v_regex.options : "";
        } else {
            docstore_error_set(err, DOCSTORE_BAD_VALUE, "$regex has to be a string");
            return -1;
        }
        if (options != NULL) {
            if (options->value_type != BSON_TYPE_UTF8) {
                docstore_error_set(err, DOCSTORE_BAD_VALUE, "$options has to be a string");
                return -1;
            }
            if (opts[0] != '\0') {
                docstore_error_set(err, DOCSTORE_BAD_VALUE,
                                   "options set in both $regex and $options");
                return -1;
            }
            opts = options->value.v_utf8.str;
        }
        mnode_t *t;
        if (regex_node_new(pattern, opts, &t, err) != 0 || add_test(dest, path, t, false, err) != 0)
            return -1;
    }

    while (bson_iter_next(&it)) {
        const char *op = bson_iter_key(&it);
        const bson_value_t *v = bson_iter_value(&it);
        mnode_t *t = NULL;
        int rc = 0;
        bool negate = false;
        if (strcmp(op, "$regex") == 0 || strcmp(op, "$options") == 0)
            continue;
        if (strcmp(op, "$eq") == 0 || strcmp(op, "$ne") == 0) {
            negate = op[1] == 'n';
            if (negate && v->value_type == BSON_TYPE_REGEX) {
                docstore_error_set(err, DOCSTORE_BAD_VALUE, "Can't have regex as arg to $ne.");
                return -1;
            }
            rc = eq_or_regex_node(v, false, &t, err);
        } else if (strcmp(op, "$lt") == 0 || strcmp(op, "$lte") == 0 || strcmp(op, "$gt") == 0 ||
                   strcmp(op, "$gte") == 0) {
            if (v->value_type == BSON_TYPE_UNDEFINED) {
                docstore_error_set(err, DOCSTORE_BAD_VALUE, "cannot compare to undefined");
                return -1;
            }
            enum mnode_kind k =
                op[1] == 'l' ? (op[3] == 'e' ? MN_LTE : MN_LT) : (op[3] == 'e' ? MN_GTE : MN_GT);
            rc = value_node_new(k, v, &t, err);
        } else if (strcmp(op, "$in") == 0 || strcmp(op, "$nin") == 0) {
            negate = op[1] == 'n';
            rc = in_node_new(v, op, &t, err);
        } else if (strcmp(op, "$exists") == 0) {
            negate = !value_truthy_for_exists(v);
            t = node_new(MN_EXISTS);
            rc = t == NULL ? docstore_error_oom(err) : 0;
        } else if (strcmp(op, "$type") == 0) {
            rc = type_node_new(v, &t, err);
        } else if (strcmp(op, "$size") == 0) {
            rc = size_node_new(v, &t, err);
        } else if (strcmp(op, "$mod") == 0) {
            rc = mod_node_new(v, &t, err);
        } else if (strcmp(op, "$elemMatch") == 0) {
            rc = elemmatch_node_new(v, &t, depth, err);
        } else if (strcmp(op, "$all") == 0) {
            if (all_node(v, path, dest, depth, err) != 0)
                return -1;
            continue;
        } else if (strcmp(op, "$not") == 0) {
            mnode_t *inner = node_new(MN_AND);
            if (inner == NULL)
                return docstore_error_oom(err);
            if (v->value_type == BSON_TYPE_REGEX) {
                rc = regex_node_new(v->value.v_regex.regex, v->value.v_regex.options, &t, err);
                if (rc == 0)
                    rc = add_test(inner, path, t, false, err);
            } else if (v->value_type == BSON_TYPE_DOCUMENT) {
                bson_iter_t sub;
                if (!bson_iter_init_from_data(&sub, v->value.v_doc.data, v->value.v_doc.data_len) ||
                    !bson_iter_next(&sub)) {
                    docstore_error_set(err, DOCSTORE_BAD_VALUE, "$not cannot be empty");
                    rc = -1;
                } else if (bson_iter_key(&sub)[0] != '$') {
                    docstore_error_set(err, DOCSTORE_BAD_VALUE, "unknown operator: %s",
                                       bson_iter_key(&sub));
                    rc = -1;
                } else {
                    rc = parse_ops(v, path, inner, depth + 1, err);
                }
            } else {
                docstore_error_set(err, DOCSTORE_BAD_VALUE, "$not needs a regex or a document");
                rc = -1;
            }
            if (rc != 0) {
                node_free(inner);
                return -1;
            }
            mnode_t *neg = node_new(path != NULL ? MN_NOT : MN_VNOT);
            if (neg == NULL) {
                node_free(inner);
                return docstore_error_oom(err);
            }
            if (path != NULL) {
                if (node_add(neg, inner, err) != 0) {
                    node_free(neg);
                    return -1;
                }
            } else {
                /* value context: VNOT over the inner tests directly */
                neg->kids = inner->kids;
                neg->nkids = inner->nkids;
                inner->kids = NULL;
                inner->nkids = 0;
                node_free(inner);
            }
            if (node_add(dest, neg, err) != 0)
                return -1;
            continue;
        } else if (strcmp(op, "$comment") == 0 && path == NULL) {
            continue;
        } else {
            for (int i = 0; unsupported_ops[i] != NULL; i++)
                if (strcmp(op, unsupported_ops[i]) == 0) {
                    docstore_error_set(err, DOCSTORE_NOT_IMPLEMENTED,
                                       "%s is not supported by the docstore", op);
                    return -1;
                }
            docstore_error_set(err, DOCSTORE_BAD_VALUE, "unknown operator: %s", op);
            return -1;
        }
        if (rc != 0 || add_test(dest, path, t, negate, err) != 0)
            return -1;
    }
    return 0;
}

/* {field: value}: an operator object, a regex, or equality. */
static int parse_field(const char *path, const bson_value_t *v, mnode_t *dest, int depth,
                       docstore_error_t *err)
{
    if (v->value_type == BSON_TYPE_DOCUMENT) {
        bson_iter_t sub;
        if (bson_iter_init_from_data(&sub, v->value.v_doc.data, v->value.v_doc.data_len) &&
            bson_iter_next(&sub)) {
            const char *k = bson_iter_key(&sub);
            if (k[0] == '$' && !is_dbref_field(k))
                return parse_ops(v, path, dest, depth, err);
        }
    }
    mnode_t *t;
    if (eq_or_regex_node(v, true, &t, err) != 0)
        return -1;
    return add_test(dest, path, t, false, err);
}

static int parse_logical(const char *op, const bson_value_t *v, mnode_t *dest, int depth, bool top,
                         docstore_error_t *err)
{
    enum mnode_kind kind = op[1] == 'a' ? MN_AND : (op[1] == 'o' ? MN_OR : MN_NOR);
    bson_iter_t it;
    if (v->value_type != BSON_TYPE_ARRAY ||
        !bson_iter_init_from_data(&it, v->value.v_doc.data, v->value.v_doc.data_len)) {
        docstore_error_set(err, DOCSTORE_BAD_VALUE, "%s must be an array", op);
        return -1;
    }
    mnode_t *n = node_new(kind);
    if (n == NULL)
        return docstore_error_oom(err);
    while (bson_iter_next(&it)) {
        const bson_value_t *e = bson_iter_value(&it);
        if (e->value_type != BSON_TYPE_DOCUMENT) {
            docstore_error_set(err, DOCSTORE_BAD_VALUE,
                               "$or/$and/$nor entries need to be full objects");
            node_free(n);
            return -1;
        }
        mnode_t *clause = node_new(MN_AND);
        if (clause == NULL || node_add(n, clause, err) != 0 ||
            parse_filter(e->value.v_doc.data, e->value.v_doc.data_len, clause, depth + 1, top,
                         err) != 0) {
            if (clause == NULL)
                docstore_error_oom(err);
            node_free(n);
            return -1;
        }
    }
    if (n->nkids == 0) {
        docstore_error_set(err, DOCSTORE_BAD_VALUE, "$and/$or/$nor must be a nonempty array");
        node_free(n);
        return -1;
    }
    return node_add(dest, n, err);
}

static int parse_filter(const uint8_t *data, uint32_t len, mnode_t *and_node, int depth, bool top,
                        docstore_error_t *err)
{
    if (depth > MATCH_MAX_DEPTH) {
        docstore_error_set(err, DOCSTORE_BAD_VALUE,
                           "exceeded depth limit of %d when parsing the filter", MATCH_MAX_DEPTH);
        return -1;
    }
    bson_iter_t it;
    if (!bson_iter_init_from_data(&it, data, len)) {
        docstore_error_set(err, DOCSTORE_BAD_VALUE, "invalid filter document");
        return -1;
    }
    while (bson_iter_next(&it)) {
        const char *key = bson_iter_key(&it);
        const bson_value_t *v = bson_iter_value(&it);
        if (key[0] != '$' || is_dbref_field(key)) {
            if (parse_field(key, v, and_node, depth, err) != 0)
                return -1;
            continue;
        }
        if (strcmp(key, "$and") == 0 || strcmp(key, "$or") == 0 || strcmp(key, "$nor") == 0) {
            if (parse_logical(key, v, and_node, depth, top, err) != 0)
                return -1;
        } else if (strcmp(key, "$comment") == 0) {
            continue;
        } else if (strcmp(key, "$alwaysTrue") == 0 || strcmp(key, "$alwaysFalse") == 0) {
            mnode_t *n = node_new(key[7] == 'T' ? MN_TRUE : MN_FALSE);
            if (n == NULL)
                return docstore_error_oom(err);
            if (node_add(and_node, n, err) != 0)
                return -1;
        } else if (strcmp(key, "$expr") == 0) {
            if (!top) {
                docstore_error_set(err, DOCSTORE_BAD_VALUE,
                                   "$expr can only be applied to the top-level document");
                return -1;
            }
            mnode_t *n = node_new(MN_EXPR);
            if (n == NULL)
                return docstore_error_oom(err);
            if (docstore_expr_new(v, &n->expr, err) != 0) {
                node_free(n);
                return -1;
            }
            if (node_add(and_node, n, err) != 0)
                return -1;
        } else if (strcmp(key, "$where") == 0 || strcmp(key, "$text") == 0 ||
                   strcmp(key, "$jsonSchema") == 0 || strcmp(key, "$sampleRate") == 0) {
            docstore_error_set(err, DOCSTORE_NOT_IMPLEMENTED, "%s is not supported by the docstore",
                               key);
            return -1;
        } else {
            docstore_error_set(err, DOCSTORE_BAD_VALUE, "unknown top level operator: %s", key);
            return -1;
        }
    }
    return 0;
}

/* Points every regex test under n at the matcher's error slot. */
static void regex_status_attach(mnode_t *n, int *rc)
{
    if (n->kind == MN_REGEX)
        n->regex_rc = rc;
    for (size_t i = 0; i < n->nkids; i++)
        regex_status_attach(n->kids[i], rc);
}

int docstore_matcher_new(const bson_t *filter, docstore_matcher_t **out, docstore_error_t *err)
{
    *out = NULL;
    docstore_matcher_t *m = calloc(1, sizeof *m);
    if (m == NULL)
        return docstore_error_oom(err);
    m->filter = filter != NULL ? bson_copy(filter) : bson_new();
    m->root = node_new(MN_AND);
    m->regex_rc = calloc(1, sizeof *m->regex_rc);
    if (m->filter == NULL || m->root == NULL || m->regex_rc == NULL) {
        docstore_matcher_free(m);
        return docstore_error_oom(err);
    }
    if (parse_filter(bson_get_data(m->filter), m->filter->len, m->root, 0, true, err) != 0) {
        docstore_matcher_free(m);
        return -1;
    }
    regex_status_attach(m->root, m->regex_rc);
    *out = m;
    return 0;
}

bool docstore_matcher_matches(const docstore_matcher_t *m, const bson_t *doc, int32_t *array_pos)
{
    if (array_pos != NULL)
        *array_pos = -1;
    return docstore_match_node(m->root, bson_get_data(doc), doc->len, doc, array_pos);
}

bool docstore_matcher_matches_vars(const docstore_matcher_t *m, const bson_t *doc,
                                   const bson_t *vars, int32_t *array_pos)
{
    if (vars == NULL)
        return docstore_matcher_matches(m, doc, array_pos);
    if (array_pos != NULL)
        *array_pos = -1;
    return docstore_match_node_vars(m->root, doc, vars, array_pos);
}

static void collation_attach(mnode_t *n, const docstore_collation_t *coll)
{
    n->coll = coll;
    for (size_t i = 0; i < n->nkids; i++)
        collation_attach(n->kids[i], coll);
}

void docstore_matcher_set_collation(docstore_matcher_t *m, const docstore_collation_t *coll)
{
    m->coll = coll;
    collation_attach(m->root, coll);
}

const docstore_collation_t *docstore_matcher_collation(const docstore_matcher_t *m)
{
    return m->coll;
}

int docstore_matcher_status(const docstore_matcher_t *m, docstore_error_t *err)
{
    if (*m->regex_rc == 0)
        return 0;
    char msg[120];
    docstore_regex_error_message(*m->regex_rc, msg, sizeof msg);
    docstore_error_set(err, DOCSTORE_LOCATION_51156,
                       "Error occurred while executing the regular expression in $regex. "
                       "Result code: %s",
                       msg);
    return -1;
}

bool docstore_matcher_is_empty(const docstore_matcher_t *m)
{
    return m->root->nkids == 0;
}

void docstore_matcher_free(docstore_matcher_t *m)
{
    if (m == NULL)
        return;
    node_free(m->root);
    free(m->regex_rc);
    if (m->filter != NULL)
        bson_destroy(m->filter);
    free(m);
}
