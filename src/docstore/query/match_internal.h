/*
 * The compiled form of a filter, shared by match.c (compiles a filter document
 * into this tree) and match_eval.c (tests documents against it). Not part of
 * any contract: only the matcher's own files include it.
 *
 * Two kinds of nodes: logical nodes (AND, OR, NOR, NOT, PATH, EXPR, TRUE,
 * FALSE) decide about a document; value tests (EQ ... ELEMMATCH_VAL, VNOT)
 * decide about one value reached through a PATH node's dotted path. A PATH node
 * walks its path with MongoDB's implicit array traversal and matches when any
 * reached value passes its test. Operands point into the matcher's own copy of
 * the filter, so compiling copies the filter once and evaluating allocates
 * nothing (PCRE2 match data is made at compile time).
 */
#ifndef TETHER_DOCSTORE_MATCH_INTERNAL_H
#define TETHER_DOCSTORE_MATCH_INTERNAL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include "docstore/query/expr.h"
#include "docstore/query/match.h"
#include "docstore/query/collation.h"

#include <pcre2.h>

enum mnode_kind {
    MN_AND = 0,   /* all kids match (no kids: true) */
    MN_OR = 1,    /* some kid matches */
    MN_NOR = 2,   /* no kid matches */
    MN_NOT = 3,   /* kids[0] does not match */
    MN_PATH = 4,  /* test kids[0] on the values reached through path */
    MN_EXPR = 5,  /* $expr: the aggregation expression is truthy */
    MN_TRUE = 6,  /* $alwaysTrue */
    MN_FALSE = 7, /* $alwaysFalse, $all: [] */
    /* value tests: decide about one value (EOD = missing) */
    MN_EQ = 20,            /* equal to operand (null also matches missing/undefined) */
    MN_LT = 21,            /* less than operand, same type bracket */
    MN_LTE = 22,           /* less than or equal */
    MN_GT = 23,            /* greater than */
    MN_GTE = 24,           /* greater than or equal */
    MN_IN = 25,            /* equal to one of in_vals or matching one of kids (regexes) */
    MN_REGEX = 26,         /* string matching re, or an equal regex value */
    MN_EXISTS = 27,        /* any value (not missing) */
    MN_TYPE = 28,          /* a value whose type is in types/any_number */
    MN_SIZE = 29,          /* an array of exactly size elements */
    MN_MOD = 30,           /* a number n with n % divisor == remainder */
    MN_ELEMMATCH_OBJ = 31, /* an array with an element (doc/array) matching kids[0] */
    MN_ELEMMATCH_VAL = 32, /* an array with an element passing all kids */
    MN_VNOT = 33,          /* the value does not pass all kids */
};

typedef struct mnode mnode_t;

struct mnode {
    enum mnode_kind kind;
    mnode_t **kids; /* owned children */
    size_t nkids;
    /* MN_PATH */
    char *path_buf;     /* owned copy of the path with '.' replaced by '\0' */
    const char **parts; /* owned array of nparts pointers into path_buf */
    int *part_len;      /* owned: length of each part */
    int *part_index;    /* owned: part as an array index, -1 when not numeric */
    size_t nparts;
    bool expand_leaf; /* test the elements of an array at the path's end too */
    /* value tests */
    bson_value_t operand;  /* borrowed from the matcher's filter copy */
    bson_value_t *in_vals; /* MN_IN: owned array of values borrowed from the filter */
    size_t nin;
    pcre2_code *re;             /* MN_REGEX: owned */
    pcre2_match_data *md;       /* MN_REGEX: owned, reused by every match */
    const char *re_pattern;     /* MN_REGEX: borrowed, to compare with regex values */
    char re_flags[8];           /* MN_REGEX: the options, sorted */
    uint32_t types[8];          /* MN_TYPE: bit set indexed by bson_type_t */
    bool any_number;            /* MN_TYPE: "number" */
    int64_t size;               /* MN_SIZE */
    int64_t divisor, remainder; /* MN_MOD */
    docstore_expr_t *expr;      /* MN_EXPR: owned */
    int *regex_rc;              /* MN_REGEX: the matcher's, set to a PCRE2 error (a limit) */
    const docstore_collation_t *coll; /* strings compare under it (NULL: by bytes); borrowed */
};

struct docstore_matcher {
    bson_t *filter; /* owned copy; operands point into it */
    mnode_t *root;  /* an MN_AND of the top-level predicates */
    int *regex_rc;  /* owned: the first PCRE2 error of a match (a limit hit), 0 if none */
    const docstore_collation_t *coll; /* docstore_matcher_set_collation's, or NULL */
};

/* match_eval.c: does the document (raw BSON data) match node n? root is the
 * top-level document (for $expr); pos receives the positional index or keeps -1. */
bool docstore_match_node(const mnode_t *n, const uint8_t *data, uint32_t len, const bson_t *root,
                         int32_t *pos);

/* As docstore_match_node on the top-level document root, with user
 * variables for $expr. $expr sits only at the top level and under top-level
 * $and/$or/$nor, so only those nodes need vars; the rest is
 * docstore_match_node. */
bool docstore_match_node_vars(const mnode_t *n, const bson_t *root, const bson_t *vars,
                              int32_t *pos);

#endif
