/*
 * Internals of the expression engine shared by expr.c (compiling, variables,
 * field paths, dispatch, boolean/comparison/conditional operators) and
 * expr_ops.c (arithmetic, string, array, type conversion and date operators).
 */
#ifndef TETHER_DOCSTORE_EXPR_INTERNAL_H
#define TETHER_DOCSTORE_EXPR_INTERNAL_H

#include "docstore/base/error.h"
#include "docstore/query/expr.h"

#include <bson/bson.h>
#include <stdbool.h>
#include <stddef.h>

/* Expressions nest at most this deep, at compile and at evaluation. */
#define EXPR_MAX_DEPTH 150

typedef enum expr_kind {
    EXPR_LITERAL = 0, /* a constant value */
    EXPR_VAR = 1,     /* $$name[.path], and "$path" as $$CURRENT.path */
    EXPR_OBJECT = 2,  /* {field: expr, ...} */
    EXPR_ARRAY = 3,   /* [expr, ...] */
    EXPR_OP = 4,      /* {$op: args} */
} expr_kind_t;

typedef struct expr_ctx expr_ctx_t;
typedef int (*expr_fn)(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out);

struct docstore_expr {
    expr_kind_t kind;
    bson_value_t lit;        /* EXPR_LITERAL (owned) */
    char *var;               /* EXPR_VAR: variable name */
    char *path;              /* EXPR_VAR: dotted path below it, or NULL */
    char **keys;             /* EXPR_OBJECT field names; $let variable names */
    docstore_expr_t **args;  /* operands (entries may be NULL for absent params) */
    size_t n;                /* operands */
    const char *name;        /* EXPR_OP: operator name, static */
    expr_fn fn;              /* EXPR_OP: evaluator */
    char *as;                /* $filter/$map: the element variable's name */
};

typedef struct expr_local {
    const char *name;          /* variable name */
    const bson_value_t *value; /* borrowed */
    struct expr_local *next;
} expr_local_t;

struct expr_ctx {
    const bson_t *root;       /* $$ROOT and $$CURRENT */
    bson_value_t root_value;  /* root as a value (borrowed data) */
    const bson_t *vars;       /* caller's variables, may be NULL */
    expr_local_t *locals;     /* $let/$map/$filter bindings, innermost first */
    docstore_error_t *err;
    int depth;
};

int expr_eval(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out);
/* Evaluates every operand into vals (n entries, each owned; EOD when missing). */
int expr_eval_all(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *vals);
void expr_vals_free(bson_value_t *vals, size_t n);
int expr_fail(expr_ctx_t *ctx, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* BSON type alias for messages, "missing" for EOD. */
const char *expr_type_name(const bson_value_t *v);
bool expr_is_nullish(const bson_value_t *v);
bool expr_is_number(const bson_value_t *v);
double expr_as_double(const bson_value_t *v);
/* Moves b into out as a document or array value. */
void expr_take_bson(bson_t *b, bson_type_t t, bson_value_t *out);
void expr_set_utf8(bson_value_t *out, const char *s, size_t len);
/* Compares with missing below everything, then MongoDB's order. */
int expr_compare(const bson_value_t *a, const bson_value_t *b);

/* Small value helpers (expr.c). */
void expr_set_null(bson_value_t *out);
void expr_set_bool(bson_value_t *out, bool b);
/* int32 when allow_int32 and the value fits, else int64. */
void expr_set_int(bson_value_t *out, int64_t v, bool allow_int32);
void expr_set_double(bson_value_t *out, double d);
/* NotImplemented for decimal128 operands of arithmetic. */
int expr_no_decimal(expr_ctx_t *ctx, const bson_value_t *v, const char *op);
/* Every operand evaluated into a fresh array (free with expr_vals_free), or NULL. */
bson_value_t *expr_eval_vals(expr_ctx_t *ctx, const docstore_expr_t *e);
int64_t expr_as_int64(const bson_value_t *v);
/* The string form $toString gives (bson_malloc'd); false when there is none. */
bool expr_to_string(const bson_value_t *v, char **out);
void expr_set_string_owned(bson_value_t *out, char *s, size_t len);
void expr_append_indexed(bson_t *arr, uint32_t i, const bson_value_t *v);
size_t expr_array_len(const bson_value_t *v);
/* Element i (negative: from the end) copied into out, or EOD. */
void expr_array_at(const bson_value_t *arr, int64_t i, bson_value_t *out);

/* Operator lookup: evaluator and arity for array-style operators; min/max -1
 * when the operator parses its own object form. */
typedef struct expr_op_def {
    const char *name;
    expr_fn fn;
    int min_args;
    int max_args; /* -1: any number */
    const char *const *params; /* object-form parameter names (NULL: args form) */
    unsigned required;         /* bitmask of required params */
} expr_op_def_t;

const expr_op_def_t *expr_ops_find(const char *name);

/* Operators defined outside expr_ops.c, listed in its table. In expr.c: */
int expr_op_and_or(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out);
int expr_op_not(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out);
int expr_op_cmp(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out);
int expr_op_cond(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out);
int expr_op_if_null(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out);
int expr_op_switch(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out);
int expr_op_let(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out);
/* Defined in expr_convert.c. */
int expr_op_type(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out);
int expr_op_is_number(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out);
int expr_op_to_type(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out);
int expr_op_convert(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out);
int expr_op_date_part(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out);
int expr_op_date_to_string(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out);
/* Defined in expr_regex.c. */
int expr_op_regex(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out);
int expr_op_replace(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out);
/* Defined in expr_lists.c. */
int expr_op_set(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out);
int expr_op_list_acc(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out);
int expr_op_range(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out);
int expr_op_index_of_array(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out);
int expr_op_index_of_bytes(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out);
int expr_op_object_to_array(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out);
int expr_op_array_to_object(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out);
int expr_op_reduce(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out);
int expr_op_elements_true(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out);

#endif
