/*
 * Aggregation expressions (see expr.h): compiling a spec into a tree of
 * literals, variables/field paths, object and array expressions and operator
 * nodes, and evaluating it against a document. Field paths traverse arrays
 * as MongoDB's do ("$a.b" over [{b: 1}, {b: 2}] is [1, 2]). This file holds
 * the core and the boolean, comparison and conditional operators; the rest
 * are in expr_ops.c.
 */
#include "docstore/query/expr_internal.h"
#include "docstore/query/value.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/time.h>

/* --- small value helpers shared with expr_ops.c --------------------------------- */

int expr_fail(expr_ctx_t *ctx, int code, const char *fmt, ...)
{
    if (ctx->err != NULL) {
        va_list ap;
        va_start(ap, fmt);
        char msg[sizeof ctx->err->msg];
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        docstore_error_set(ctx->err, code, "%s", msg);
    }
    return -1;
}

const char *expr_type_name(const bson_value_t *v)
{
    if (v->value_type == BSON_TYPE_EOD)
        return "missing";
    return docstore_type_name(v->value_type);
}

bool expr_is_nullish(const bson_value_t *v)
{
    return v->value_type == BSON_TYPE_EOD || v->value_type == BSON_TYPE_NULL ||
           v->value_type == BSON_TYPE_UNDEFINED;
}

bool expr_is_number(const bson_value_t *v)
{
    return v->value_type == BSON_TYPE_INT32 || v->value_type == BSON_TYPE_INT64 ||
           v->value_type == BSON_TYPE_DOUBLE || v->value_type == BSON_TYPE_DECIMAL128;
}

double expr_as_double(const bson_value_t *v)
{
    switch (v->value_type) {
    case BSON_TYPE_INT32:
        return v->value.v_int32;
    case BSON_TYPE_INT64:
        return (double)v->value.v_int64;
    case BSON_TYPE_DOUBLE:
        return v->value.v_double;
    case BSON_TYPE_DECIMAL128: {
        char s[BSON_DECIMAL128_STRING];
        bson_decimal128_to_string(&v->value.v_decimal128, s);
        return strtod(s, NULL);
    }
    default:
        return 0;
    }
}

void expr_take_bson(bson_t *b, bson_type_t t, bson_value_t *out)
{
    uint32_t len = 0;
    uint8_t *data = bson_destroy_with_steal(b, true, &len);
    out->value_type = t;
    out->value.v_doc.data = data;
    out->value.v_doc.data_len = len;
}

void expr_set_utf8(bson_value_t *out, const char *s, size_t len)
{
    out->value_type = BSON_TYPE_UTF8;
    out->value.v_utf8.str = bson_malloc(len + 1);
    memcpy(out->value.v_utf8.str, s, len);
    out->value.v_utf8.str[len] = '\0';
    out->value.v_utf8.len = (uint32_t)len;
}

static _Thread_local const docstore_collation_t *expr_coll;

const docstore_collation_t *docstore_expr_set_collation(const docstore_collation_t *c)
{
    const docstore_collation_t *prev = expr_coll;
    expr_coll = c;
    return prev;
}

const docstore_collation_t *docstore_expr_collation(void)
{
    return expr_coll;
}

int expr_compare(const bson_value_t *a, const bson_value_t *b)
{
    bool ma = a->value_type == BSON_TYPE_EOD, mb = b->value_type == BSON_TYPE_EOD;
    if (ma || mb)
        return ma && mb ? 0 : (ma ? -1 : 1);
    return docstore_value_compare_coll(a, b, expr_coll);
}

bool docstore_value_truthy(const bson_value_t *v)
{
    switch (v->value_type) {
    case BSON_TYPE_EOD:
    case BSON_TYPE_NULL:
    case BSON_TYPE_UNDEFINED:
        return false;
    case BSON_TYPE_BOOL:
        return v->value.v_bool;
    case BSON_TYPE_INT32:
        return v->value.v_int32 != 0;
    case BSON_TYPE_INT64:
        return v->value.v_int64 != 0;
    case BSON_TYPE_DOUBLE:
        return v->value.v_double != 0.0;
    case BSON_TYPE_DECIMAL128:
        return expr_as_double(v) != 0.0;
    default:
        return true;
    }
}

void expr_vals_free(bson_value_t *vals, size_t n)
{
    if (vals == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        bson_value_destroy(&vals[i]);
    free(vals);
}

void expr_set_null(bson_value_t *out)
{
    out->value_type = BSON_TYPE_NULL;
}

void expr_set_bool(bson_value_t *out, bool b)
{
    out->value_type = BSON_TYPE_BOOL;
    out->value.v_bool = b;
}

void expr_set_int(bson_value_t *out, int64_t v, bool allow_int32)
{
    if (allow_int32 && v >= INT32_MIN && v <= INT32_MAX) {
        out->value_type = BSON_TYPE_INT32;
        out->value.v_int32 = (int32_t)v;
    } else {
        out->value_type = BSON_TYPE_INT64;
        out->value.v_int64 = v;
    }
}

void expr_set_double(bson_value_t *out, double d)
{
    out->value_type = BSON_TYPE_DOUBLE;
    out->value.v_double = d;
}

int expr_no_decimal(expr_ctx_t *ctx, const bson_value_t *v, const char *op)
{
    if (v->value_type == BSON_TYPE_DECIMAL128)
        return expr_fail(ctx, DOCSTORE_NOT_IMPLEMENTED,
                         "%s: the docstore does not support decimal128 arithmetic", op);
    return 0;
}

/* Evaluates all operands into a fresh array; the caller frees it. */
bson_value_t *expr_eval_vals(expr_ctx_t *ctx, const docstore_expr_t *e)
{
    bson_value_t *vals = calloc(e->n ? e->n : 1, sizeof *vals);
    if (vals == NULL) {
        expr_fail(ctx, DOCSTORE_INTERNAL_ERROR, "out of memory");
        return NULL;
    }
    if (expr_eval_all(ctx, e, vals) != 0) {
        expr_vals_free(vals, e->n);
        return NULL;
    }
    return vals;
}

int64_t expr_as_int64(const bson_value_t *v)
{
    return v->value_type == BSON_TYPE_INT32 ? v->value.v_int32 : v->value.v_int64;
}

static void fmt_date(int64_t ms, char *buf, size_t size)
{
    int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    int millis = (int)(ms - secs * 1000);
    time_t t = (time_t)secs;
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
}

static void fmt_double(double d, char *buf, size_t size)
{
    if (isnan(d)) {
        snprintf(buf, size, "NaN");
        return;
    }
    if (isinf(d)) {
        snprintf(buf, size, d < 0 ? "-Infinity" : "Infinity");
        return;
    }
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, size, "%.*g", p, d);
        if (strtod(buf, NULL) == d)
            return;
    }
}

/* The value as a string the way $toString and the string operators coerce;
 * false when the type has no string form. */
bool expr_to_string(const bson_value_t *v, char **out)
{
    char buf[64];
    switch (v->value_type) {
    case BSON_TYPE_UTF8:
        *out = bson_strdup(v->value.v_utf8.str);
        return true;
    case BSON_TYPE_INT32:
        snprintf(buf, sizeof buf, "%d", v->value.v_int32);
        break;
    case BSON_TYPE_INT64:
        snprintf(buf, sizeof buf, "%lld", (long long)v->value.v_int64);
        break;
    case BSON_TYPE_DOUBLE:
        fmt_double(v->value.v_double, buf, sizeof buf);
        break;
    case BSON_TYPE_DECIMAL128:
        bson_decimal128_to_string(&v->value.v_decimal128, buf);
        break;
    case BSON_TYPE_BOOL:
        snprintf(buf, sizeof buf, "%s", v->value.v_bool ? "true" : "false");
        break;
    case BSON_TYPE_OID:
        bson_oid_to_string(&v->value.v_oid, buf);
        break;
    case BSON_TYPE_DATE_TIME:
        fmt_date(v->value.v_datetime, buf, sizeof buf);
        break;
    default:
        return false;
    }
    *out = bson_strdup(buf);
    return true;
}

void expr_set_string_owned(bson_value_t *out, char *s, size_t len)
{
    out->value_type = BSON_TYPE_UTF8;
    out->value.v_utf8.str = s;
    out->value.v_utf8.len = (uint32_t)len;
}

void expr_append_indexed(bson_t *arr, uint32_t i, const bson_value_t *v)
{
    char key[16];
    const char *k;
    bson_uint32_to_string(i, &k, key, sizeof key);
    bson_append_value(arr, k, -1, v);
}

size_t expr_array_len(const bson_value_t *v)
{
    bson_iter_t it;
    size_t n = 0;
    if (bson_iter_init_from_data(&it, v->value.v_doc.data, v->value.v_doc.data_len)) {
        while (bson_iter_next(&it))
            n++;
    }
    return n;
}

void expr_array_at(const bson_value_t *arr, int64_t i, bson_value_t *out)
{
    out->value_type = BSON_TYPE_EOD;
    if (i < 0) {
        i += (int64_t)expr_array_len(arr);
        if (i < 0)
            return;
    }
    bson_iter_t it;
    if (!bson_iter_init_from_data(&it, arr->value.v_doc.data, arr->value.v_doc.data_len))
        return;
    for (int64_t k = 0; bson_iter_next(&it); k++) {
        if (k == i) {
            bson_value_copy(bson_iter_value(&it), out);
            return;
        }
    }
}


/* --- compiling --------------------------------------------------------------- */

void docstore_expr_free(docstore_expr_t *e)
{
    if (e == NULL)
        return;
    bson_value_destroy(&e->lit);
    free(e->var);
    free(e->path);
    for (size_t i = 0; i < e->n; i++) {
        docstore_expr_free(e->args[i]);
        if (e->keys != NULL)
            free(e->keys[i]);
    }
    free(e->args);
    free(e->keys);
    free(e->as);
    free(e);
}

static int compile(const bson_value_t *spec, int depth, docstore_expr_t **out,
                   docstore_error_t *err);

static docstore_expr_t *expr_alloc(expr_kind_t kind, size_t n, bool keys)
{
    docstore_expr_t *e = calloc(1, sizeof *e);
    if (e == NULL)
        return NULL;
    e->kind = kind;
    if (n > 0) {
        e->args = calloc(n, sizeof *e->args);
        if (e->args == NULL || (keys && (e->keys = calloc(n, sizeof *e->keys)) == NULL)) {
            free(e->args);
            free(e);
            return NULL;
        }
    }
    return e;
}

static bool valid_var_name(const char *s, bool user)
{
    if (s[0] == '\0')
        return false;
    if (user && !(s[0] >= 'a' && s[0] <= 'z') && (unsigned char)s[0] < 0x80)
        return false;
    for (const char *p = s; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || (unsigned char)*p >= 0x80))
            return false;
    }
    return true;
}

static int compile_string(const char *s, docstore_expr_t **out, docstore_error_t *err)
{
    docstore_expr_t *e = expr_alloc(EXPR_VAR, 0, false);
    if (e == NULL)
        return docstore_error_oom(err);
    const char *rest;
    if (s[1] == '$') {
        const char *name = s + 2;
        size_t len = strcspn(name, ".");
        e->var = strndup(name, len);
        rest = name[len] == '.' ? name + len + 1 : NULL;
        if (e->var != NULL && !valid_var_name(e->var, false)) {
            docstore_error_set(err, DOCSTORE_LOCATION_16870,
                               "FieldPath field names may not be empty strings.");
            if (len != 0)
                docstore_error_set(err, DOCSTORE_LOCATION_31325, "Invalid variable name '%.100s'",
                                   e->var);
            docstore_expr_free(e);
            return -1;
        }
    } else {
        if (s[1] == '\0') {
            docstore_error_set(err, DOCSTORE_LOCATION_16872,
                               "'$' by itself is not a valid FieldPath");
            docstore_expr_free(e);
            return -1;
        }
        e->var = strdup("CURRENT");
        rest = s + 1;
    }
    if (e->var == NULL) {
        docstore_expr_free(e);
        return docstore_error_oom(err);
    }
    if (rest != NULL) {
        /* Path components: non-empty, no leading $. */
        for (const char *p = rest; *p;) {
            size_t len = strcspn(p, ".");
            if (len == 0) {
                docstore_error_set(err, DOCSTORE_LOCATION_15998,
                                   "FieldPath field names may not be empty strings.");
                docstore_expr_free(e);
                return -1;
            }
            if (p[0] == '$') {
                docstore_error_set(err, DOCSTORE_LOCATION_16410,
                                   "FieldPath field names may not start with '$'.");
                docstore_expr_free(e);
                return -1;
            }
            p += len;
            if (*p == '.') {
                p++;
                if (*p == '\0') {
                    docstore_error_set(err, DOCSTORE_LOCATION_15998,
                                       "FieldPath field names may not be empty strings.");
                    docstore_expr_free(e);
                    return -1;
                }
            }
        }
        e->path = strdup(rest);
        if (e->path == NULL) {
            docstore_expr_free(e);
            return docstore_error_oom(err);
        }
    }
    *out = e;
    return 0;
}

/* Operands of an array-style operator: an array of expressions or one value. */
static int compile_args(const expr_op_def_t *def, const bson_value_t *arg, int depth,
                        docstore_expr_t *e, docstore_error_t *err)
{
    size_t n = 1;
    bson_iter_t it;
    if (arg->value_type == BSON_TYPE_ARRAY) {
        if (!bson_iter_init_from_data(&it, arg->value.v_doc.data, arg->value.v_doc.data_len))
            return docstore_error_oom(err);
        n = 0;
        while (bson_iter_next(&it))
            n++;
    }
    if ((int)n < def->min_args || (def->max_args >= 0 && (int)n > def->max_args)) {
        if (def->min_args == def->max_args)
            docstore_error_set(err, DOCSTORE_LOCATION_16020,
                               "Expression %s takes exactly %d arguments. %zu were passed in.",
                               def->name, def->min_args, n);
        else if ((int)n < def->min_args)
            docstore_error_set(err, DOCSTORE_LOCATION_16020,
                               "Expression %s takes at least %d arguments, and %zu were passed "
                               "in.",
                               def->name, def->min_args, n);
        else
            docstore_error_set(err, DOCSTORE_LOCATION_16020,
                               "Expression %s takes at most %d arguments, and %zu were passed "
                               "in.",
                               def->name, def->max_args, n);
        return -1;
    }
    if (n > 0) {
        e->args = calloc(n, sizeof *e->args);
        if (e->args == NULL)
            return docstore_error_oom(err);
    }
    if (arg->value_type != BSON_TYPE_ARRAY) {
        e->n = 1;
        return compile(arg, depth + 1, &e->args[0], err);
    }
    bson_iter_init_from_data(&it, arg->value.v_doc.data, arg->value.v_doc.data_len);
    while (bson_iter_next(&it)) {
        if (compile(bson_iter_value(&it), depth + 1, &e->args[e->n++], err) != 0)
            return -1;
    }
    return 0;
}

/* Named parameters ({input: ..., as: ..., cond: ...}). */
static int compile_params(const expr_op_def_t *def, const bson_value_t *arg, int depth,
                          docstore_expr_t *e, docstore_error_t *err)
{
    size_t np = 0;
    while (def->params[np] != NULL)
        np++;
    e->args = calloc(np, sizeof *e->args);
    if (e->args == NULL)
        return docstore_error_oom(err);
    e->n = np;
    bson_iter_t it;
    bson_iter_init_from_data(&it, arg->value.v_doc.data, arg->value.v_doc.data_len);
    unsigned seen = 0;
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        size_t i = 0;
        while (i < np && strcmp(def->params[i], k) != 0)
            i++;
        if (i == np) {
            docstore_error_set(err, DOCSTORE_FAILED_TO_PARSE,
                               "Unrecognized parameter to %s: %.100s", def->name, k);
            return -1;
        }
        seen |= 1u << i;
        if (strcmp(k, "as") == 0) {
            if (!BSON_ITER_HOLDS_UTF8(&it) ||
                !valid_var_name(bson_iter_utf8(&it, NULL), true)) {
                docstore_error_set(err, DOCSTORE_FAILED_TO_PARSE,
                                   "%s 'as' must be a valid variable name", def->name);
                return -1;
            }
            free(e->as);
            e->as = strdup(bson_iter_utf8(&it, NULL));
            if (e->as == NULL)
                return docstore_error_oom(err);
            continue;
        }
        docstore_expr_free(e->args[i]);
        e->args[i] = NULL;
        if (compile(bson_iter_value(&it), depth + 1, &e->args[i], err) != 0)
            return -1;
    }
    for (size_t i = 0; i < np; i++) {
        if ((def->required & (1u << i)) && !(seen & (1u << i))) {
            docstore_error_set(err, DOCSTORE_FAILED_TO_PARSE, "Missing '%s' parameter to %s",
                               def->params[i], def->name);
            return -1;
        }
    }
    return 0;
}

static int compile_let(const bson_value_t *arg, int depth, docstore_expr_t *e,
                       docstore_error_t *err)
{
    bson_iter_t it, vars;
    bool have_vars = false, have_in = false;
    if (arg->value_type != BSON_TYPE_DOCUMENT) {
        docstore_error_set(err, DOCSTORE_LOCATION_16874,
                           "$let only supports an object as its argument");
        return -1;
    }
    bson_iter_init_from_data(&it, arg->value.v_doc.data, arg->value.v_doc.data_len);
    size_t nvars = 0;
    while (bson_iter_next(&it)) {
        if (strcmp(bson_iter_key(&it), "vars") == 0 && BSON_ITER_HOLDS_DOCUMENT(&it)) {
            have_vars = true;
            bson_iter_recurse(&it, &vars);
            while (bson_iter_next(&vars))
                nvars++;
        } else if (strcmp(bson_iter_key(&it), "in") == 0) {
            have_in = true;
        } else {
            docstore_error_set(err, DOCSTORE_LOCATION_16875, "Unrecognized field in $let: %.100s",
                               bson_iter_key(&it));
            return -1;
        }
    }
    if (!have_vars || !have_in) {
        docstore_error_set(err, have_vars ? DOCSTORE_LOCATION_16877 : DOCSTORE_LOCATION_16876,
                           "Missing '%s' parameter to $let", have_vars ? "in" : "vars");
        return -1;
    }
    /* args[0] is "in"; args[1..] the variables, named by keys[1..]. */
    e->args = calloc(nvars + 1, sizeof *e->args);
    e->keys = calloc(nvars + 1, sizeof *e->keys);
    if (e->args == NULL || e->keys == NULL)
        return docstore_error_oom(err);
    e->n = 1;
    bson_iter_init_from_data(&it, arg->value.v_doc.data, arg->value.v_doc.data_len);
    while (bson_iter_next(&it)) {
        if (strcmp(bson_iter_key(&it), "in") == 0) {
            if (compile(bson_iter_value(&it), depth + 1, &e->args[0], err) != 0)
                return -1;
            continue;
        }
        bson_iter_recurse(&it, &vars);
        while (bson_iter_next(&vars)) {
            const char *name = bson_iter_key(&vars);
            if (!valid_var_name(name, true)) {
                docstore_error_set(err, DOCSTORE_LOCATION_31325, "Invalid variable name '%.100s'",
                                   name);
                return -1;
            }
            e->keys[e->n] = strdup(name);
            if (e->keys[e->n] == NULL)
                return docstore_error_oom(err);
            if (compile(bson_iter_value(&vars), depth + 1, &e->args[e->n++], err) != 0)
                return -1;
        }
    }
    return 0;
}

static int compile_switch(const bson_value_t *arg, int depth, docstore_expr_t *e,
                          docstore_error_t *err)
{
    if (arg->value_type != BSON_TYPE_DOCUMENT) {
        docstore_error_set(err, DOCSTORE_LOCATION_40060,
                           "$switch requires an object as an argument, found: %s",
                           docstore_type_name(arg->value_type));
        return -1;
    }
    bson_iter_t it, br;
    size_t nb = 0;
    bool have_default = false;
    bson_iter_init_from_data(&it, arg->value.v_doc.data, arg->value.v_doc.data_len);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "branches") == 0) {
            if (!BSON_ITER_HOLDS_ARRAY(&it)) {
                docstore_error_set(err, DOCSTORE_LOCATION_40061,
                                   "$switch expected an array for 'branches'");
                return -1;
            }
            bson_iter_recurse(&it, &br);
            while (bson_iter_next(&br))
                nb++;
        } else if (strcmp(k, "default") == 0) {
            have_default = true;
        } else {
            docstore_error_set(err, DOCSTORE_LOCATION_40067,
                               "$switch found an unknown argument: %.100s", k);
            return -1;
        }
    }
    if (nb == 0) {
        docstore_error_set(err, DOCSTORE_LOCATION_40068, "$switch requires at least one branch.");
        return -1;
    }
    /* args: case0, then0, case1, then1, ..., default (NULL when absent). */
    e->args = calloc(nb * 2 + 1, sizeof *e->args);
    if (e->args == NULL)
        return docstore_error_oom(err);
    e->n = nb * 2 + 1;
    bson_iter_init_from_data(&it, arg->value.v_doc.data, arg->value.v_doc.data_len);
    size_t b = 0;
    while (bson_iter_next(&it)) {
        if (strcmp(bson_iter_key(&it), "default") == 0) {
            if (compile(bson_iter_value(&it), depth + 1, &e->args[nb * 2], err) != 0)
                return -1;
            continue;
        }
        bson_iter_recurse(&it, &br);
        while (bson_iter_next(&br)) {
            bson_iter_t f;
            if (!BSON_ITER_HOLDS_DOCUMENT(&br)) {
                docstore_error_set(err, DOCSTORE_LOCATION_40062,
                                   "$switch expected each branch to be an object");
                return -1;
            }
            bson_iter_recurse(&br, &f);
            bool has_case = false, has_then = false;
            while (bson_iter_next(&f)) {
                const char *k = bson_iter_key(&f);
                size_t slot;
                if (strcmp(k, "case") == 0) {
                    slot = b * 2;
                    has_case = true;
                } else if (strcmp(k, "then") == 0) {
                    slot = b * 2 + 1;
                    has_then = true;
                } else {
                    docstore_error_set(err, DOCSTORE_LOCATION_40063,
                                       "$switch found an unknown argument to a "
                                       "branch: %.100s",
                                       k);
                    return -1;
                }
                if (compile(bson_iter_value(&f), depth + 1, &e->args[slot], err) != 0)
                    return -1;
            }
            if (!has_case || !has_then) {
                docstore_error_set(err,
                                   has_case ? DOCSTORE_LOCATION_40065 : DOCSTORE_LOCATION_40064,
                                   "$switch requires each branch have a '%s' expression",
                                   has_case ? "then" : "case");
                return -1;
            }
            b++;
        }
    }
    (void)have_default;
    return 0;
}

static int compile_op(const char *name, const bson_value_t *arg, int depth, docstore_expr_t **out,
                      docstore_error_t *err)
{
    if (strcmp(name, "$literal") == 0) {
        docstore_expr_t *e = expr_alloc(EXPR_LITERAL, 0, false);
        if (e == NULL)
            return docstore_error_oom(err);
        bson_value_copy(arg, &e->lit);
        *out = e;
        return 0;
    }
    const expr_op_def_t *def = expr_ops_find(name);
    if (def == NULL) {
        docstore_error_set(err, DOCSTORE_INVALID_PIPELINE_OPERATOR,
                           "Unrecognized expression '%.100s'", name);
        return -1;
    }
    docstore_expr_t *e = expr_alloc(EXPR_OP, 0, false);
    if (e == NULL)
        return docstore_error_oom(err);
    e->name = def->name;
    e->fn = def->fn;
    *out = e;
    if (strcmp(name, "$let") == 0)
        return compile_let(arg, depth, e, err);
    if (strcmp(name, "$switch") == 0)
        return compile_switch(arg, depth, e, err);
    bool named = false;
    if (def->params != NULL && arg->value_type == BSON_TYPE_DOCUMENT) {
        bson_iter_t it;
        bson_iter_init_from_data(&it, arg->value.v_doc.data, arg->value.v_doc.data_len);
        named = !bson_iter_next(&it) || bson_iter_key(&it)[0] != '$';
    }
    if (named)
        return compile_params(def, arg, depth, e, err);
    if (def->min_args < 0) {
        docstore_error_set(err, DOCSTORE_FAILED_TO_PARSE,
                           "%s only supports an object as its argument", def->name);
        return -1;
    }
    return compile_args(def, arg, depth, e, err);
}

static int compile_object(const bson_value_t *spec, int depth, docstore_expr_t **out,
                          docstore_error_t *err)
{
    bson_iter_t it;
    if (!bson_iter_init_from_data(&it, spec->value.v_doc.data, spec->value.v_doc.data_len)) {
        docstore_error_set(err, DOCSTORE_INVALID_BSON, "invalid expression document");
        return -1;
    }
    size_t n = 0;
    bool first_op = false;
    while (bson_iter_next(&it)) {
        if (n == 0)
            first_op = bson_iter_key(&it)[0] == '$';
        n++;
    }
    bson_iter_init_from_data(&it, spec->value.v_doc.data, spec->value.v_doc.data_len);
    if (first_op) {
        if (n != 1) {
            docstore_error_set(err, DOCSTORE_LOCATION_15983,
                               "an expression specification must contain exactly one field, the "
                               "name of the expression. Found %zu fields",
                               n);
            return -1;
        }
        bson_iter_next(&it);
        return compile_op(bson_iter_key(&it), bson_iter_value(&it), depth, out, err);
    }
    docstore_expr_t *e = expr_alloc(EXPR_OBJECT, n, true);
    if (e == NULL)
        return docstore_error_oom(err);
    *out = e;
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (k[0] == '$') {
            docstore_error_set(err, DOCSTORE_LOCATION_16410,
                               "FieldPath field names may not start with '$'.");
            return -1;
        }
        if (strchr(k, '.') != NULL) {
            docstore_error_set(err, DOCSTORE_LOCATION_16412,
                               "FieldPath field names may not contain '.'.");
            return -1;
        }
        if (k[0] == '\0') {
            docstore_error_set(err, DOCSTORE_LOCATION_16411,
                               "FieldPath field names may not be empty strings.");
            return -1;
        }
        e->keys[e->n] = strdup(k);
        if (e->keys[e->n] == NULL)
            return docstore_error_oom(err);
        if (compile(bson_iter_value(&it), depth + 1, &e->args[e->n++], err) != 0)
            return -1;
    }
    return 0;
}

static int compile(const bson_value_t *spec, int depth, docstore_expr_t **out,
                   docstore_error_t *err)
{
    *out = NULL;
    if (depth > EXPR_MAX_DEPTH) {
        docstore_error_set(err, DOCSTORE_BAD_VALUE, "expression nested too deeply");
        return -1;
    }
    if (spec->value_type == BSON_TYPE_UTF8 && spec->value.v_utf8.str[0] == '$')
        return compile_string(spec->value.v_utf8.str, out, err);
    if (spec->value_type == BSON_TYPE_DOCUMENT)
        return compile_object(spec, depth, out, err);
    if (spec->value_type == BSON_TYPE_ARRAY) {
        bson_iter_t it;
        size_t n = 0;
        bson_iter_init_from_data(&it, spec->value.v_doc.data, spec->value.v_doc.data_len);
        while (bson_iter_next(&it))
            n++;
        docstore_expr_t *e = expr_alloc(EXPR_ARRAY, n, false);
        if (e == NULL)
            return docstore_error_oom(err);
        *out = e;
        bson_iter_init_from_data(&it, spec->value.v_doc.data, spec->value.v_doc.data_len);
        while (bson_iter_next(&it)) {
            if (compile(bson_iter_value(&it), depth + 1, &e->args[e->n++], err) != 0)
                return -1;
        }
        return 0;
    }
    docstore_expr_t *e = expr_alloc(EXPR_LITERAL, 0, false);
    if (e == NULL)
        return docstore_error_oom(err);
    bson_value_copy(spec, &e->lit);
    *out = e;
    return 0;
}

int docstore_expr_new(const bson_value_t *spec, docstore_expr_t **out, docstore_error_t *err)
{
    docstore_expr_t *e = NULL;
    if (compile(spec, 0, &e, err) != 0) {
        docstore_expr_free(e);
        *out = NULL;
        return -1;
    }
    *out = e;
    return 0;
}

/* --- evaluation: variables and field paths ------------------------------------ */

/* Follows path below v, traversing arrays of documents as MongoDB does. */
static int path_eval(const bson_value_t *v, const char *path, int depth, bson_value_t *out)
{
    out->value_type = BSON_TYPE_EOD;
    if (depth > EXPR_MAX_DEPTH)
        return 0;
    if (path == NULL || *path == '\0') {
        bson_value_copy(v, out);
        return 0;
    }
    size_t len = strcspn(path, ".");
    const char *rest = path[len] == '.' ? path + len + 1 : NULL;
    bson_iter_t it;
    if (v->value_type == BSON_TYPE_DOCUMENT) {
        if (!bson_iter_init_from_data(&it, v->value.v_doc.data, v->value.v_doc.data_len))
            return 0;
        while (bson_iter_next(&it)) {
            if (bson_iter_key_len(&it) == len && memcmp(bson_iter_key(&it), path, len) == 0)
                return path_eval(bson_iter_value(&it), rest, depth + 1, out);
        }
        return 0;
    }
    if (v->value_type != BSON_TYPE_ARRAY)
        return 0;
    bson_t arr = BSON_INITIALIZER;
    uint32_t i = 0;
    if (!bson_iter_init_from_data(&it, v->value.v_doc.data, v->value.v_doc.data_len)) {
        bson_destroy(&arr);
        return 0;
    }
    while (bson_iter_next(&it)) {
        const bson_value_t *ev = bson_iter_value(&it);
        if (ev->value_type != BSON_TYPE_DOCUMENT && ev->value_type != BSON_TYPE_ARRAY)
            continue;
        bson_value_t r;
        path_eval(ev, path, depth + 1, &r);
        if (r.value_type != BSON_TYPE_EOD) {
            char key[16];
            const char *k;
            bson_uint32_to_string(i++, &k, key, sizeof key);
            bson_append_value(&arr, k, -1, &r);
        }
        bson_value_destroy(&r);
    }
    expr_take_bson(&arr, BSON_TYPE_ARRAY, out);
    return 0;
}

static int eval_var(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out)
{
    const bson_value_t *base = NULL;
    bson_value_t now;
    bson_iter_t it;
    out->value_type = BSON_TYPE_EOD;
    for (expr_local_t *l = ctx->locals; l != NULL && base == NULL; l = l->next) {
        if (strcmp(l->name, e->var) == 0)
            base = l->value;
    }
    if (base == NULL) {
        if (strcmp(e->var, "ROOT") == 0 || strcmp(e->var, "CURRENT") == 0)
            base = &ctx->root_value;
        else if (strcmp(e->var, "REMOVE") == 0)
            return 0;
        else if (strcmp(e->var, "NOW") == 0 || strcmp(e->var, "CLUSTER_TIME") == 0) {
            struct timeval tv;
            gettimeofday(&tv, NULL);
            if (e->var[0] == 'N') {
                now.value_type = BSON_TYPE_DATE_TIME;
                now.value.v_datetime = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
            } else {
                now.value_type = BSON_TYPE_TIMESTAMP;
                now.value.v_timestamp.timestamp = (uint32_t)tv.tv_sec;
                now.value.v_timestamp.increment = 1;
            }
            base = &now;
        }
        else if (ctx->vars != NULL && bson_iter_init_find(&it, ctx->vars, e->var))
            base = bson_iter_value(&it);
        else
            return expr_fail(ctx, DOCSTORE_LOCATION_17276, "Use of undefined variable: %s", e->var);
    }
    return path_eval(base, e->path, 0, out);
}

/* --- evaluation: core --------------------------------------------------------- */

int expr_eval_all(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *vals)
{
    for (size_t i = 0; i < e->n; i++)
        vals[i].value_type = BSON_TYPE_EOD;
    for (size_t i = 0; i < e->n; i++) {
        if (e->args[i] != NULL && expr_eval(ctx, e->args[i], &vals[i]) != 0)
            return -1;
    }
    return 0;
}

int expr_eval(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out)
{
    out->value_type = BSON_TYPE_EOD;
    if (e == NULL)
        return 0;
    if (ctx->depth > EXPR_MAX_DEPTH * 4)
        return expr_fail(ctx, DOCSTORE_BAD_VALUE, "expression evaluation nested too deeply");
    int rc = 0;
    ctx->depth++;
    switch (e->kind) {
    case EXPR_LITERAL:
        bson_value_copy(&e->lit, out);
        break;
    case EXPR_VAR:
        rc = eval_var(ctx, e, out);
        break;
    case EXPR_OBJECT: {
        bson_t doc = BSON_INITIALIZER;
        for (size_t i = 0; i < e->n && rc == 0; i++) {
            bson_value_t v;
            rc = expr_eval(ctx, e->args[i], &v);
            if (rc == 0 && v.value_type != BSON_TYPE_EOD &&
                !bson_append_value(&doc, e->keys[i], -1, &v))
                rc = expr_fail(ctx, DOCSTORE_BSON_OBJECT_TOO_LARGE, "object too large");
            bson_value_destroy(&v);
        }
        if (rc == 0)
            expr_take_bson(&doc, BSON_TYPE_DOCUMENT, out);
        else
            bson_destroy(&doc);
        break;
    }
    case EXPR_ARRAY: {
        bson_t arr = BSON_INITIALIZER;
        bson_value_t null = {.value_type = BSON_TYPE_NULL};
        for (size_t i = 0; i < e->n && rc == 0; i++) {
            bson_value_t v;
            rc = expr_eval(ctx, e->args[i], &v);
            if (rc == 0)
                expr_append_indexed(&arr, (uint32_t)i, v.value_type == BSON_TYPE_EOD ? &null : &v);
            bson_value_destroy(&v);
        }
        if (rc == 0)
            expr_take_bson(&arr, BSON_TYPE_ARRAY, out);
        else
            bson_destroy(&arr);
        break;
    }
    case EXPR_OP:
        rc = e->fn(ctx, e, out);
        if (rc != 0) {
            bson_value_destroy(out);
            out->value_type = BSON_TYPE_EOD;
        }
        break;
    }
    ctx->depth--;
    return rc;
}

int docstore_expr_eval(const docstore_expr_t *e, const bson_t *doc, const bson_t *vars,
                       bson_value_t *out, docstore_error_t *err)
{
    expr_ctx_t ctx = {.root = doc, .vars = vars, .err = err};
    ctx.root_value.value_type = BSON_TYPE_DOCUMENT;
    ctx.root_value.value.v_doc.data = (uint8_t *)(uintptr_t)bson_get_data(doc);
    ctx.root_value.value.v_doc.data_len = doc->len;
    return expr_eval(&ctx, e, out);
}

/* --- boolean, comparison, conditional ------------------------------------------ */

static void set_bool(bson_value_t *out, bool b)
{
    out->value_type = BSON_TYPE_BOOL;
    out->value.v_bool = b;
}

int expr_op_and_or(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out)
{
    bool is_and = strcmp(e->name, "$and") == 0;
    for (size_t i = 0; i < e->n; i++) {
        bson_value_t v;
        if (expr_eval(ctx, e->args[i], &v) != 0)
            return -1;
        bool t = docstore_value_truthy(&v);
        bson_value_destroy(&v);
        if (is_and && !t) {
            set_bool(out, false);
            return 0;
        }
        if (!is_and && t) {
            set_bool(out, true);
            return 0;
        }
    }
    set_bool(out, is_and);
    return 0;
}

int expr_op_not(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out)
{
    bson_value_t v;
    if (expr_eval(ctx, e->args[0], &v) != 0)
        return -1;
    set_bool(out, !docstore_value_truthy(&v));
    bson_value_destroy(&v);
    return 0;
}

int expr_op_cmp(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out)
{
    bson_value_t v[2];
    if (expr_eval(ctx, e->args[0], &v[0]) != 0)
        return -1;
    if (expr_eval(ctx, e->args[1], &v[1]) != 0) {
        bson_value_destroy(&v[0]);
        return -1;
    }
    int c = expr_compare(&v[0], &v[1]);
    bson_value_destroy(&v[0]);
    bson_value_destroy(&v[1]);
    const char *n = e->name;
    if (strcmp(n, "$cmp") == 0) {
        out->value_type = BSON_TYPE_INT32;
        out->value.v_int32 = c < 0 ? -1 : c > 0;
    } else if (strcmp(n, "$eq") == 0) {
        set_bool(out, c == 0);
    } else if (strcmp(n, "$ne") == 0) {
        set_bool(out, c != 0);
    } else if (strcmp(n, "$gt") == 0) {
        set_bool(out, c > 0);
    } else if (strcmp(n, "$gte") == 0) {
        set_bool(out, c >= 0);
    } else if (strcmp(n, "$lt") == 0) {
        set_bool(out, c < 0);
    } else {
        set_bool(out, c <= 0);
    }
    return 0;
}

int expr_op_cond(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out)
{
    bson_value_t c;
    if (expr_eval(ctx, e->args[0], &c) != 0)
        return -1;
    bool t = docstore_value_truthy(&c);
    bson_value_destroy(&c);
    return expr_eval(ctx, e->args[t ? 1 : 2], out);
}

int expr_op_if_null(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out)
{
    for (size_t i = 0; i + 1 < e->n; i++) {
        if (expr_eval(ctx, e->args[i], out) != 0)
            return -1;
        if (!expr_is_nullish(out))
            return 0;
        bson_value_destroy(out);
        out->value_type = BSON_TYPE_EOD;
    }
    return expr_eval(ctx, e->args[e->n - 1], out);
}

int expr_op_switch(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out)
{
    size_t nb = (e->n - 1) / 2;
    for (size_t b = 0; b < nb; b++) {
        bson_value_t c;
        if (expr_eval(ctx, e->args[b * 2], &c) != 0)
            return -1;
        bool t = docstore_value_truthy(&c);
        bson_value_destroy(&c);
        if (t)
            return expr_eval(ctx, e->args[b * 2 + 1], out);
    }
    if (e->args[e->n - 1] == NULL)
        return expr_fail(ctx, DOCSTORE_LOCATION_40066,
                         "$switch could not find a matching branch for an input, and no default "
                         "was specified.");
    return expr_eval(ctx, e->args[e->n - 1], out);
}

int expr_op_let(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out)
{
    size_t nv = e->n - 1;
    bson_value_t *vals = calloc(nv ? nv : 1, sizeof *vals);
    expr_local_t *locals = calloc(nv ? nv : 1, sizeof *locals);
    int rc = 0;
    if (vals == NULL || locals == NULL) {
        free(vals);
        free(locals);
        return expr_fail(ctx, DOCSTORE_INTERNAL_ERROR, "out of memory");
    }
    size_t done = 0;
    /* Every variable is evaluated in the outer scope, then all are bound. */
    for (; done < nv; done++) {
        if ((rc = expr_eval(ctx, e->args[done + 1], &vals[done])) != 0)
            break;
    }
    if (rc == 0) {
        expr_local_t *saved = ctx->locals;
        for (size_t i = 0; i < nv; i++) {
            locals[i].name = e->keys[i + 1];
            locals[i].value = &vals[i];
            locals[i].next = i == 0 ? saved : &locals[i - 1];
        }
        if (nv > 0)
            ctx->locals = &locals[nv - 1];
        rc = expr_eval(ctx, e->args[0], out);
        ctx->locals = saved;
    }
    for (size_t i = 0; i < done; i++)
        bson_value_destroy(&vals[i]);
    free(vals);
    free(locals);
    return rc;
}
