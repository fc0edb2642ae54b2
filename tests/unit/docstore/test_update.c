/* Unit tests of the update engine: table-driven cases in extended JSON, each
 * with the document, the update, and either the exact resulting document
 * (field order included) or the MongoDB error code it must fail with. */
#include "harness.h"
#include "docstore/update/update.h"

#include <stdlib.h>

typedef struct upd_case {
    const char *name;
    const char *doc;     /* the stored document */
    const char *update;  /* update spec */
    const char *filters; /* arrayFilters as {"f": [...]}, or NULL */
    int32_t pos;         /* matched position for $ */
    bool insert;         /* applying to an upsert's new document */
    const char *expect;  /* result, or NULL when an error is expected */
    int code;            /* expected error code (0 when expect is set) */
    int changed;         /* 1/0 expected *changed, -1 don't care */
} upd_case_t;

static const upd_case_t cases[] = {
    /* replacement */
    {"replace keeps _id first", "{\"_id\": 1, \"a\": 1}", "{\"b\": 2}", NULL, -1, false,
     "{\"_id\": 1, \"b\": 2}", 0, 1},
    {"replace with same _id moves it first", "{\"_id\": 1, \"a\": 1}", "{\"b\": 2, \"_id\": 1}",
     NULL, -1, false, "{\"_id\": 1, \"b\": 2}", 0, 1},
    {"replace changing _id", "{\"_id\": 1, \"a\": 1}", "{\"_id\": 2}", NULL, -1, false, NULL, 66,
     -1},
    {"replace identical is unchanged", "{\"_id\": 1, \"a\": 1}", "{\"a\": 1}", NULL, -1, false,
     "{\"_id\": 1, \"a\": 1}", 0, 0},
    {"replace with $ field", "{\"_id\": 1}", "{\"a\": 1, \"$b\": 2}", NULL, -1, false, NULL, 52,
     -1},
    {"empty replacement", "{\"_id\": 1, \"a\": 1}", "{}", NULL, -1, false, "{\"_id\": 1}", 0, 1},
    /* $set */
    {"set existing in place", "{\"_id\": 1, \"a\": 1, \"b\": 2}", "{\"$set\": {\"a\": 5}}", NULL,
     -1, false, "{\"_id\": 1, \"a\": 5, \"b\": 2}", 0, 1},
    {"set same value unchanged", "{\"_id\": 1, \"a\": 1}", "{\"$set\": {\"a\": 1}}", NULL, -1,
     false, "{\"_id\": 1, \"a\": 1}", 0, 0},
    {"set int to double is a change", "{\"_id\": 1, \"a\": 1}", "{\"$set\": {\"a\": 1.0}}", NULL,
     -1, false, "{\"_id\": 1, \"a\": 1.0}", 0, 1},
    {"set new fields in lexicographic order", "{\"_id\": 1}",
     "{\"$set\": {\"z\": 1, \"b\": 2, \"a\": 3}}", NULL, -1, false,
     "{\"_id\": 1, \"a\": 3, \"b\": 2, \"z\": 1}", 0, 1},
    {"new fields across operators in order", "{\"_id\": 1}",
     "{\"$set\": {\"y\": 1}, \"$inc\": {\"c\": 2}}", NULL, -1, false,
     "{\"_id\": 1, \"c\": 2, \"y\": 1}", 0, 1},
    {"numeric field names numeric order", "{\"_id\": 1}", "{\"$set\": {\"10\": 1, \"9\": 2}}",
     NULL, -1, false, "{\"_id\": 1, \"9\": 2, \"10\": 1}", 0, 1},
    {"set dotted creates documents", "{\"_id\": 1}", "{\"$set\": {\"a.b.c\": 1}}", NULL, -1,
     false, "{\"_id\": 1, \"a\": {\"b\": {\"c\": 1}}}", 0, 1},
    {"set into existing subdoc", "{\"_id\": 1, \"a\": {\"x\": 1}}", "{\"$set\": {\"a.y\": 2}}",
     NULL, -1, false, "{\"_id\": 1, \"a\": {\"x\": 1, \"y\": 2}}", 0, 1},
    {"set array index", "{\"_id\": 1, \"a\": [1, 2, 3]}", "{\"$set\": {\"a.1\": 9}}", NULL, -1,
     false, "{\"_id\": 1, \"a\": [1, 9, 3]}", 0, 1},
    {"set array index pads with null", "{\"_id\": 1, \"a\": [1]}", "{\"$set\": {\"a.3\": 9}}",
     NULL, -1, false, "{\"_id\": 1, \"a\": [1, null, null, 9]}", 0, 1},
    {"set into array element doc", "{\"_id\": 1, \"a\": [{\"b\": 1}, {\"b\": 2}]}",
     "{\"$set\": {\"a.1.b\": 5}}", NULL, -1, false,
     "{\"_id\": 1, \"a\": [{\"b\": 1}, {\"b\": 5}]}", 0, 1},
    {"set numeric name on document is a field", "{\"_id\": 1, \"a\": {}}",
     "{\"$set\": {\"a.0\": 1}}", NULL, -1, false, "{\"_id\": 1, \"a\": {\"0\": 1}}", 0, 1},
    {"set through scalar fails", "{\"_id\": 1, \"a\": 5}", "{\"$set\": {\"a.b\": 1}}", NULL, -1,
     false, NULL, 28, -1},
    {"set field name on array fails", "{\"_id\": 1, \"a\": [1]}", "{\"$set\": {\"a.b\": 1}}",
     NULL, -1, false, NULL, 28, -1},
    {"set _id same value ok", "{\"_id\": 1, \"a\": 1}", "{\"$set\": {\"_id\": 1}}", NULL, -1,
     false, "{\"_id\": 1, \"a\": 1}", 0, 0},
    {"set _id other value", "{\"_id\": 1}", "{\"$set\": {\"_id\": 2}}", NULL, -1, false, NULL, 66,
     -1},
    {"unset _id", "{\"_id\": 1}", "{\"$unset\": {\"_id\": 1}}", NULL, -1, false, NULL, 66, -1},
    {"empty path component", "{\"_id\": 1}", "{\"$set\": {\"a..b\": 1}}", NULL, -1, false, NULL,
     56, -1},
    {"empty operator is a no-op", "{\"_id\": 1, \"a\": 1}", "{\"$set\": {}}", NULL, -1, false,
     "{\"_id\": 1, \"a\": 1}", 0, 0},
    /* parse errors */
    {"unknown modifier", "{\"_id\": 1}", "{\"$foo\": {\"a\": 1}}", NULL, -1, false, NULL, 9, -1},
    {"operator and plain field", "{\"_id\": 1}", "{\"$set\": {\"a\": 1}, \"b\": 2}", NULL, -1,
     false, NULL, 9, -1},
    {"operator value not a document", "{\"_id\": 1}", "{\"$set\": 5}", NULL, -1, false, NULL, 9,
     -1},
    {"conflict same path", "{\"_id\": 1}", "{\"$set\": {\"a\": 1}, \"$inc\": {\"a\": 1}}", NULL,
     -1, false, NULL, 40, -1},
    {"conflict prefix", "{\"_id\": 1}", "{\"$set\": {\"a.b\": 1}, \"$unset\": {\"a\": 1}}", NULL,
     -1, false, NULL, 40, -1},
    {"no conflict on sibling prefix strings", "{\"_id\": 1}",
     "{\"$set\": {\"a\": 1, \"ab\": 2}}", NULL, -1, false, "{\"_id\": 1, \"a\": 1, \"ab\": 2}", 0,
     1},
    /* $unset */
    {"unset field", "{\"_id\": 1, \"a\": 1, \"b\": 2}", "{\"$unset\": {\"a\": \"\"}}", NULL, -1,
     false, "{\"_id\": 1, \"b\": 2}", 0, 1},
    {"unset missing unchanged", "{\"_id\": 1}", "{\"$unset\": {\"a.b.c\": 1}}", NULL, -1, false,
     "{\"_id\": 1}", 0, 0},
    {"unset array element sets null", "{\"_id\": 1, \"a\": [1, 2]}", "{\"$unset\": {\"a.0\": 1}}",
     NULL, -1, false, "{\"_id\": 1, \"a\": [null, 2]}", 0, 1},
    {"unset through scalar is no-op", "{\"_id\": 1, \"a\": 1}", "{\"$unset\": {\"a.b\": 1}}",
     NULL, -1, false, "{\"_id\": 1, \"a\": 1}", 0, 0},
    /* $inc / $mul */
    {"inc int", "{\"_id\": 1, \"a\": 1}", "{\"$inc\": {\"a\": 2}}", NULL, -1, false,
     "{\"_id\": 1, \"a\": 3}", 0, 1},
    {"inc missing creates", "{\"_id\": 1}", "{\"$inc\": {\"a\": -2}}", NULL, -1, false,
     "{\"_id\": 1, \"a\": -2}", 0, 1},
    {"inc int32 overflow to int64", "{\"_id\": 1, \"a\": 2147483647}", "{\"$inc\": {\"a\": 1}}",
     NULL, -1, false, "{\"_id\": 1, \"a\": {\"$numberLong\": \"2147483648\"}}", 0, 1},
    {"inc int with long", "{\"_id\": 1, \"a\": 1}",
     "{\"$inc\": {\"a\": {\"$numberLong\": \"1\"}}}", NULL, -1, false,
     "{\"_id\": 1, \"a\": {\"$numberLong\": \"2\"}}", 0, 1},
    {"inc int with double", "{\"_id\": 1, \"a\": 1}", "{\"$inc\": {\"a\": 0.5}}", NULL, -1, false,
     "{\"_id\": 1, \"a\": 1.5}", 0, 1},
    {"inc int64 overflow fails", "{\"_id\": 1, \"a\": {\"$numberLong\": \"9223372036854775807\"}}",
     "{\"$inc\": {\"a\": 1}}", NULL, -1, false, NULL, 2, -1},
    {"inc non-numeric field", "{\"_id\": 1, \"a\": \"x\"}", "{\"$inc\": {\"a\": 1}}", NULL, -1,
     false, NULL, 14, -1},
    {"inc non-numeric argument", "{\"_id\": 1, \"a\": 1}", "{\"$inc\": {\"a\": \"1\"}}", NULL, -1,
     false, NULL, 14, -1},
    {"inc by zero unchanged", "{\"_id\": 1, \"a\": 1}", "{\"$inc\": {\"a\": 0}}", NULL, -1, false,
     "{\"_id\": 1, \"a\": 1}", 0, 0},
    {"mul missing creates zero of arg type", "{\"_id\": 1}",
     "{\"$mul\": {\"a\": 5, \"b\": 2.5, \"c\": {\"$numberLong\": \"3\"}}}", NULL, -1, false,
     "{\"_id\": 1, \"a\": 0, \"b\": 0.0, \"c\": {\"$numberLong\": \"0\"}}", 0, 1},
    {"mul int32 overflow to int64", "{\"_id\": 1, \"a\": 65536}", "{\"$mul\": {\"a\": 65536}}",
     NULL, -1, false, "{\"_id\": 1, \"a\": {\"$numberLong\": \"4294967296\"}}", 0, 1},
    {"mul double", "{\"_id\": 1, \"a\": 3}", "{\"$mul\": {\"a\": 0.5}}", NULL, -1, false,
     "{\"_id\": 1, \"a\": 1.5}", 0, 1},
    /* $min / $max */
    {"min lowers", "{\"_id\": 1, \"a\": 5}", "{\"$min\": {\"a\": 3}}", NULL, -1, false,
     "{\"_id\": 1, \"a\": 3}", 0, 1},
    {"min keeps", "{\"_id\": 1, \"a\": 5}", "{\"$min\": {\"a\": 7}}", NULL, -1, false,
     "{\"_id\": 1, \"a\": 5}", 0, 0},
    {"min equal across types keeps", "{\"_id\": 1, \"a\": 5}", "{\"$min\": {\"a\": 5.0}}", NULL,
     -1, false, "{\"_id\": 1, \"a\": 5}", 0, 0},
    {"max raises", "{\"_id\": 1, \"a\": 5}", "{\"$max\": {\"a\": 7}}", NULL, -1, false,
     "{\"_id\": 1, \"a\": 7}", 0, 1},
    {"max by type order: string above number", "{\"_id\": 1, \"a\": 5}",
     "{\"$max\": {\"a\": \"s\"}}", NULL, -1, false, "{\"_id\": 1, \"a\": \"s\"}", 0, 1},
    {"min null below number", "{\"_id\": 1, \"a\": 5}", "{\"$min\": {\"a\": null}}", NULL, -1,
     false, "{\"_id\": 1, \"a\": null}", 0, 1},
    {"max missing creates", "{\"_id\": 1}", "{\"$max\": {\"a\": 1}}", NULL, -1, false,
     "{\"_id\": 1, \"a\": 1}", 0, 1},
    /* $rename */
    {"rename", "{\"_id\": 1, \"a\": 1, \"b\": 2}", "{\"$rename\": {\"a\": \"c\"}}", NULL, -1,
     false, "{\"_id\": 1, \"b\": 2, \"c\": 1}", 0, 1},
    {"rename onto existing replaces in place", "{\"_id\": 1, \"a\": 1, \"b\": 2}",
     "{\"$rename\": {\"b\": \"a\"}}", NULL, -1, false, "{\"_id\": 1, \"a\": 2}", 0, 1},
    {"rename missing is no-op", "{\"_id\": 1, \"b\": 2}", "{\"$rename\": {\"a\": \"c\"}}", NULL,
     -1, false, "{\"_id\": 1, \"b\": 2}", 0, 0},
    {"rename into subdoc", "{\"_id\": 1, \"a\": 1}", "{\"$rename\": {\"a\": \"x.y\"}}", NULL, -1,
     false, "{\"_id\": 1, \"x\": {\"y\": 1}}", 0, 1},
    {"rename same path", "{\"_id\": 1, \"a\": 1}", "{\"$rename\": {\"a\": \"a\"}}", NULL, -1,
     false, NULL, 2, -1},
    {"rename onto own child", "{\"_id\": 1, \"a\": 1}", "{\"$rename\": {\"a\": \"a.b\"}}", NULL,
     -1, false, NULL, 2, -1},
    {"rename non-string target", "{\"_id\": 1, \"a\": 1}", "{\"$rename\": {\"a\": 1}}", NULL, -1,
     false, NULL, 2, -1},
    {"rename from array element", "{\"_id\": 1, \"a\": [{\"b\": 1}]}",
     "{\"$rename\": {\"a.0.b\": \"c\"}}", NULL, -1, false, NULL, 2, -1},
    {"rename conflicts with set on source", "{\"_id\": 1}",
     "{\"$rename\": {\"a\": \"b\"}, \"$set\": {\"a\": 1}}", NULL, -1, false, NULL, 40, -1},
    /* $setOnInsert */
    {"setOnInsert ignored on update", "{\"_id\": 1}", "{\"$setOnInsert\": {\"a\": 1}}", NULL, -1,
     false, "{\"_id\": 1}", 0, 0},
    {"setOnInsert on insert", "{\"_id\": 1}", "{\"$setOnInsert\": {\"a\": 1}, \"$set\": {\"b\": 2}}",
     NULL, -1, true, "{\"_id\": 1, \"a\": 1, \"b\": 2}", 0, 1},
    /* $currentDate */
    {"currentDate bad value", "{\"_id\": 1}", "{\"$currentDate\": {\"a\": 1}}", NULL, -1, false,
     NULL, 2, -1},
    /* $push */
    {"push appends", "{\"_id\": 1, \"a\": [1]}", "{\"$push\": {\"a\": 2}}", NULL, -1, false,
     "{\"_id\": 1, \"a\": [1, 2]}", 0, 1},
    {"push creates array", "{\"_id\": 1}", "{\"$push\": {\"a\": [1]}}", NULL, -1, false,
     "{\"_id\": 1, \"a\": [[1]]}", 0, 1},
    {"push on non-array", "{\"_id\": 1, \"a\": 1}", "{\"$push\": {\"a\": 2}}", NULL, -1, false,
     NULL, 2, -1},
    {"push each", "{\"_id\": 1, \"a\": [1]}", "{\"$push\": {\"a\": {\"$each\": [2, 3]}}}", NULL,
     -1, false, "{\"_id\": 1, \"a\": [1, 2, 3]}", 0, 1},
    {"push each position", "{\"_id\": 1, \"a\": [1, 4]}",
     "{\"$push\": {\"a\": {\"$each\": [2, 3], \"$position\": 1}}}", NULL, -1, false,
     "{\"_id\": 1, \"a\": [1, 2, 3, 4]}", 0, 1},
    {"push negative position", "{\"_id\": 1, \"a\": [1, 2, 3]}",
     "{\"$push\": {\"a\": {\"$each\": [9], \"$position\": -1}}}", NULL, -1, false,
     "{\"_id\": 1, \"a\": [1, 2, 9, 3]}", 0, 1},
    {"push sort slice", "{\"_id\": 1, \"a\": [5, 1]}",
     "{\"$push\": {\"a\": {\"$each\": [3, 4], \"$sort\": -1, \"$slice\": 3}}}", NULL, -1, false,
     "{\"_id\": 1, \"a\": [5, 4, 3]}", 0, 1},
    {"push negative slice keeps the end", "{\"_id\": 1, \"a\": [1, 2, 3]}",
     "{\"$push\": {\"a\": {\"$each\": [4], \"$slice\": -2}}}", NULL, -1, false,
     "{\"_id\": 1, \"a\": [3, 4]}", 0, 1},
    {"push slice zero empties", "{\"_id\": 1, \"a\": [1, 2]}",
     "{\"$push\": {\"a\": {\"$each\": [], \"$slice\": 0}}}", NULL, -1, false,
     "{\"_id\": 1, \"a\": []}", 0, 1},
    {"push sort by field", "{\"_id\": 1, \"a\": [{\"s\": 3}, {\"s\": 1}]}",
     "{\"$push\": {\"a\": {\"$each\": [{\"s\": 2}], \"$sort\": {\"s\": 1}}}}", NULL, -1, false,
     "{\"_id\": 1, \"a\": [{\"s\": 1}, {\"s\": 2}, {\"s\": 3}]}", 0, 1},
    {"push sort by field descending, five elements",
     "{\"_id\": 1, \"a\": [{\"k\": 2}, {\"k\": 5}]}",
     "{\"$push\": {\"a\": {\"$each\": [{\"k\": 1}, {\"k\": 4}, {\"k\": 3}], \"$sort\": {\"k\": -1}}}}",
     NULL, -1, false,
     "{\"_id\": 1, \"a\": [{\"k\": 5}, {\"k\": 4}, {\"k\": 3}, {\"k\": 2}, {\"k\": 1}]}", 0, 1},
    {"push sort by field, non-documents first", "{\"_id\": 1, \"a\": [{\"k\": 1}, 7]}",
     "{\"$push\": {\"a\": {\"$each\": [], \"$sort\": {\"k\": 1}}}}", NULL, -1, false,
     "{\"_id\": 1, \"a\": [7, {\"k\": 1}]}", 0, 1},
    {"push each not array", "{\"_id\": 1}", "{\"$push\": {\"a\": {\"$each\": 1}}}", NULL, -1,
     false, NULL, 2, -1},
    {"push unknown clause", "{\"_id\": 1}", "{\"$push\": {\"a\": {\"$each\": [1], \"$x\": 1}}}",
     NULL, -1, false, NULL, 2, -1},
    {"push document without $each is a value", "{\"_id\": 1, \"a\": []}",
     "{\"$push\": {\"a\": {\"b\": 1}}}", NULL, -1, false, "{\"_id\": 1, \"a\": [{\"b\": 1}]}", 0,
     1},
    /* $addToSet */
    {"addToSet adds", "{\"_id\": 1, \"a\": [1]}", "{\"$addToSet\": {\"a\": 2}}", NULL, -1, false,
     "{\"_id\": 1, \"a\": [1, 2]}", 0, 1},
    {"addToSet numeric equality", "{\"_id\": 1, \"a\": [1]}", "{\"$addToSet\": {\"a\": 1.0}}",
     NULL, -1, false, "{\"_id\": 1, \"a\": [1]}", 0, 0},
    {"addToSet each dedups", "{\"_id\": 1, \"a\": [1]}",
     "{\"$addToSet\": {\"a\": {\"$each\": [1, 2, 2, 3]}}}", NULL, -1, false,
     "{\"_id\": 1, \"a\": [1, 2, 3]}", 0, 1},
    {"addToSet document equality", "{\"_id\": 1, \"a\": [{\"x\": 1, \"y\": 2}]}",
     "{\"$addToSet\": {\"a\": {\"y\": 2, \"x\": 1}}}", NULL, -1, false,
     "{\"_id\": 1, \"a\": [{\"x\": 1, \"y\": 2}, {\"y\": 2, \"x\": 1}]}", 0, 1},
    {"addToSet creates", "{\"_id\": 1}", "{\"$addToSet\": {\"a\": 1}}", NULL, -1, false,
     "{\"_id\": 1, \"a\": [1]}", 0, 1},
    {"addToSet non-array", "{\"_id\": 1, \"a\": 1}", "{\"$addToSet\": {\"a\": 1}}", NULL, -1,
     false, NULL, 2, -1},
    /* $pop */
    {"pop last", "{\"_id\": 1, \"a\": [1, 2, 3]}", "{\"$pop\": {\"a\": 1}}", NULL, -1, false,
     "{\"_id\": 1, \"a\": [1, 2]}", 0, 1},
    {"pop first", "{\"_id\": 1, \"a\": [1, 2, 3]}", "{\"$pop\": {\"a\": -1}}", NULL, -1, false,
     "{\"_id\": 1, \"a\": [2, 3]}", 0, 1},
    {"pop empty", "{\"_id\": 1, \"a\": []}", "{\"$pop\": {\"a\": 1}}", NULL, -1, false,
     "{\"_id\": 1, \"a\": []}", 0, 0},
    {"pop bad arg", "{\"_id\": 1, \"a\": []}", "{\"$pop\": {\"a\": 2}}", NULL, -1, false, NULL, 9,
     -1},
    {"pop non-array", "{\"_id\": 1, \"a\": 1}", "{\"$pop\": {\"a\": 1}}", NULL, -1, false, NULL,
     14, -1},
    /* $pull / $pullAll */
    {"pull value", "{\"_id\": 1, \"a\": [1, 2, 1, 3]}", "{\"$pull\": {\"a\": 1}}", NULL, -1, false,
     "{\"_id\": 1, \"a\": [2, 3]}", 0, 1},
    {"pull condition", "{\"_id\": 1, \"a\": [1, 5, 7, 2]}", "{\"$pull\": {\"a\": {\"$gte\": 5}}}",
     NULL, -1, false, "{\"_id\": 1, \"a\": [1, 2]}", 0, 1},
    {"pull document query", "{\"_id\": 1, \"a\": [{\"x\": 1, \"y\": 1}, {\"x\": 2}]}",
     "{\"$pull\": {\"a\": {\"x\": 1}}}", NULL, -1, false, "{\"_id\": 1, \"a\": [{\"x\": 2}]}", 0,
     1},
    {"pull nothing matches", "{\"_id\": 1, \"a\": [1]}", "{\"$pull\": {\"a\": 2}}", NULL, -1,
     false, "{\"_id\": 1, \"a\": [1]}", 0, 0},
    {"pullAll", "{\"_id\": 1, \"a\": [1, 2, 3, 1]}", "{\"$pullAll\": {\"a\": [1, 3]}}", NULL, -1,
     false, "{\"_id\": 1, \"a\": [2]}", 0, 1},
    {"pullAll non-array arg", "{\"_id\": 1, \"a\": [1]}", "{\"$pullAll\": {\"a\": 1}}", NULL, -1,
     false, NULL, 2, -1},
    /* positional */
    {"positional $", "{\"_id\": 1, \"a\": [1, 2, 3]}", "{\"$set\": {\"a.$\": 9}}", NULL, 1, false,
     "{\"_id\": 1, \"a\": [1, 9, 3]}", 0, 1},
    {"positional $ in subdoc", "{\"_id\": 1, \"a\": [{\"b\": 1}, {\"b\": 2}]}",
     "{\"$inc\": {\"a.$.b\": 10}}", NULL, 1, false,
     "{\"_id\": 1, \"a\": [{\"b\": 1}, {\"b\": 12}]}", 0, 1},
    {"positional $ without match", "{\"_id\": 1, \"a\": [1]}", "{\"$set\": {\"a.$\": 9}}", NULL,
     -1, false, NULL, 2, -1},
    {"all positional", "{\"_id\": 1, \"a\": [1, 2]}", "{\"$inc\": {\"a.$[]\": 1}}", NULL, -1,
     false, "{\"_id\": 1, \"a\": [2, 3]}", 0, 1},
    {"all positional nested", "{\"_id\": 1, \"a\": [{\"b\": [1, 2]}, {\"b\": [3]}]}",
     "{\"$set\": {\"a.$[].b.$[]\": 0}}", NULL, -1, false,
     "{\"_id\": 1, \"a\": [{\"b\": [0, 0]}, {\"b\": [0]}]}", 0, 1},
    {"all positional on non-array", "{\"_id\": 1, \"a\": 1}", "{\"$set\": {\"a.$[]\": 0}}", NULL,
     -1, false, NULL, 2, -1},
    {"all positional on missing", "{\"_id\": 1}", "{\"$set\": {\"a.$[]\": 0}}", NULL, -1, false,
     NULL, 2, -1},
    {"array filters", "{\"_id\": 1, \"a\": [1, 5, 8]}", "{\"$set\": {\"a.$[x]\": 0}}",
     "{\"f\": [{\"x\": {\"$gte\": 5}}]}", -1, false, "{\"_id\": 1, \"a\": [1, 0, 0]}", 0, 1},
    {"array filters on fields", "{\"_id\": 1, \"a\": [{\"g\": 1, \"v\": 1}, {\"g\": 2, \"v\": 1}]}",
     "{\"$inc\": {\"a.$[e].v\": 5}}", "{\"f\": [{\"e.g\": 2}]}", -1, false,
     "{\"_id\": 1, \"a\": [{\"g\": 1, \"v\": 1}, {\"g\": 2, \"v\": 6}]}", 0, 1},
    {"array filter unknown identifier", "{\"_id\": 1, \"a\": [1]}", "{\"$set\": {\"a.$[y]\": 0}}",
     "{\"f\": [{\"x\": 1}]}", -1, false, NULL, 2, -1},
    {"array filter unused", "{\"_id\": 1, \"a\": [1]}", "{\"$set\": {\"a.0\": 0}}",
     "{\"f\": [{\"x\": 1}]}", -1, false, NULL, 9, -1},
    {"two positional $", "{\"_id\": 1}", "{\"$set\": {\"a.$.b.$\": 0}}", NULL, 0, false, NULL, 2,
     -1},
    {"pull under all positional", "{\"_id\": 1, \"a\": [{\"t\": [1, 2]}, {\"t\": [2]}]}",
     "{\"$pull\": {\"a.$[].t\": 2}}", NULL, -1, false,
     "{\"_id\": 1, \"a\": [{\"t\": [1]}, {\"t\": []}]}", 0, 1},
    /* pipeline-style updates (the array arrives as a document keyed "0", "1", ...) */
    {"pipeline set", "{\"_id\": 1, \"a\": 1}",
     "{\"0\": {\"$set\": {\"b\": {\"$add\": [\"$a\", 1]}}}, \"1\": {\"$unset\": \"a\"}}",
     NULL, -1, false, "{\"_id\": 1, \"b\": 2}", 0, 1},
    {"pipeline replaceWith keeps _id", "{\"_id\": 1, \"a\": 1}",
     "{\"0\": {\"$replaceWith\": {\"x\": \"$a\"}}}", NULL, -1, false,
     "{\"_id\": 1, \"x\": 1}", 0, 1},
    {"pipeline no-op unchanged", "{\"_id\": 1, \"a\": 1}", "{\"0\": {\"$set\": {\"a\": 1}}}",
     NULL, -1, false, "{\"_id\": 1, \"a\": 1}", 0, 0},
    {"pipeline stage not allowed", "{\"_id\": 1}", "{\"0\": {\"$match\": {}}}", NULL, -1, false,
     NULL, 72, -1},
    {"pipeline changing _id", "{\"_id\": 1}", "{\"0\": {\"$set\": {\"_id\": 2}}}", NULL, -1,
     false, NULL, 66, -1},
};

static bson_t *from_json(const char *json)
{
    bson_error_t e;
    bson_t *b = bson_new_from_json((const uint8_t *)json, -1, &e);
    if (b == NULL)
        fprintf(stderr, "bad JSON in test: %s: %s\n", json, e.message);
    return b;
}

static void run_case(const upd_case_t *c)
{
    bson_t *doc = from_json(c->doc), *spec = from_json(c->update);
    bson_t *fwrap = c->filters ? from_json(c->filters) : NULL;
    bson_t filters;
    bool have_filters = false;
    if (fwrap != NULL) {
        bson_iter_t it;
        uint32_t len;
        const uint8_t *data;
        if (bson_iter_init_find(&it, fwrap, "f") && BSON_ITER_HOLDS_ARRAY(&it)) {
            bson_iter_array(&it, &len, &data);
            have_filters = bson_init_static(&filters, data, len);
        }
    }
    CHECK(doc != NULL && spec != NULL);
    if (doc == NULL || spec == NULL)
        goto out;
    docstore_error_t err = {0};
    docstore_update_t *u = NULL;
    bson_t out = BSON_INITIALIZER;
    bool changed = false;
    int rc = docstore_update_new(spec, have_filters ? &filters : NULL, &u, &err);
    if (rc == 0)
        rc = docstore_update_apply(u, doc, c->pos, c->insert, &out, &changed, &err);
    if (c->expect == NULL) {
        if (rc == 0 || err.code != c->code) {
            char *got = bson_as_relaxed_extended_json(&out, NULL);
            fprintf(stderr, "case '%s': expected error %d, got rc %d code %d (%s) doc %s\n",
                    c->name, c->code, rc, err.code, err.msg, got);
            bson_free(got);
            harness_failures++;
        }
    } else {
        bson_t *want = from_json(c->expect);
        bool same = rc == 0 && want != NULL && out.len == want->len &&
                    memcmp(bson_get_data(&out), bson_get_data(want), out.len) == 0;
        if (!same) {
            char *got = bson_as_canonical_extended_json(&out, NULL);
            char *exp = want ? bson_as_canonical_extended_json(want, NULL) : NULL;
            fprintf(stderr, "case '%s': rc %d (%d %s)\n  got  %s\n  want %s\n", c->name, rc,
                    err.code, err.msg, got, exp ? exp : "?");
            bson_free(got);
            bson_free(exp);
            harness_failures++;
        } else if (c->changed >= 0 && (int)changed != c->changed) {
            fprintf(stderr, "case '%s': changed %d, expected %d\n", c->name, changed, c->changed);
            harness_failures++;
        }
        if (want)
            bson_destroy(want);
    }
    bson_destroy(&out);
    docstore_update_free(u);
    docstore_error_clear(&err);
out:
    if (doc)
        bson_destroy(doc);
    if (spec)
        bson_destroy(spec);
    if (fwrap)
        bson_destroy(fwrap);
}

static void test_cases(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_case(&cases[i]);
}

static void test_replacement_flag(void)
{
    bson_t *a = from_json("{\"a\": 1}"), *b = from_json("{\"$set\": {\"a\": 1}}");
    docstore_update_t *u = NULL;
    docstore_error_t err = {0};
    CHECK_INT(docstore_update_new(a, NULL, &u, &err), 0);
    CHECK(u && docstore_update_is_replacement(u));
    docstore_update_free(u);
    CHECK_INT(docstore_update_new(b, NULL, &u, &err), 0);
    CHECK(u && !docstore_update_is_replacement(u));
    docstore_update_free(u);
    bson_destroy(a);
    bson_destroy(b);
}

static void test_current_date(void)
{
    bson_t *doc = from_json("{\"_id\": 1}");
    /* {$type: ...} reads as extended JSON binary, so build the spec by hand. */
    bson_t *spec = BCON_NEW("$currentDate", "{", "d", BCON_BOOL(true), "t", "{", "$type",
                            BCON_UTF8("timestamp"), "}", "e", "{", "$type", BCON_UTF8("date"), "}",
                            "}");
    docstore_update_t *u = NULL;
    docstore_error_t err = {0};
    bson_t out = BSON_INITIALIZER;
    bool changed;
    CHECK_INT(docstore_update_new(spec, NULL, &u, &err), 0);
    CHECK_INT(docstore_update_apply(u, doc, -1, false, &out, &changed, &err), 0);
    bson_iter_t it;
    CHECK(bson_iter_init_find(&it, &out, "d") && BSON_ITER_HOLDS_DATE_TIME(&it));
    CHECK(bson_iter_date_time(&it) > 1600000000000LL);
    CHECK(bson_iter_init_find(&it, &out, "e") && BSON_ITER_HOLDS_DATE_TIME(&it));
    CHECK(bson_iter_init_find(&it, &out, "t") && BSON_ITER_HOLDS_TIMESTAMP(&it));
    CHECK(changed);
    bson_destroy(&out);
    docstore_update_free(u);
    bson_destroy(spec);
    spec = BCON_NEW("$currentDate", "{", "a", "{", "$type", BCON_UTF8("x"), "}", "}");
    u = NULL;
    CHECK(docstore_update_new(spec, NULL, &u, &err) != 0);
    CHECK_INT(err.code, 2);
    docstore_update_free(u);
    bson_destroy(doc);
    bson_destroy(spec);
}

typedef struct seed_case {
    const char *filter;
    const char *expect; /* NULL: error */
} seed_case_t;

static void test_upsert_seed(void)
{
    static const seed_case_t seeds[] = {
        {"{\"a\": 1}", "{\"a\": 1}"},
        {"{\"a\": 1, \"_id\": 5}", "{\"_id\": 5, \"a\": 1}"},
        {"{\"a\": {\"$eq\": 2}, \"b\": {\"$gt\": 1}}", "{\"a\": 2}"},
        {"{\"b.c\": 2, \"b.d\": 3}", "{\"b\": {\"c\": 2, \"d\": 3}}"},
        {"{\"$and\": [{\"a\": 1}, {\"c\": {\"x\": 1}}]}", "{\"a\": 1, \"c\": {\"x\": 1}}"},
        {"{\"$or\": [{\"a\": 1}, {\"b\": 1}], \"n\": null}", "{\"n\": null}"},
        {"{\"a\": {\"$in\": [7]}, \"r\": {\"$regex\": \"x\"}}", "{\"a\": 7}"},
        {"{\"a\": 1, \"a.b\": 2}", NULL},
    };
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        bson_t *f = from_json(seeds[i].filter);
        bson_t out = BSON_INITIALIZER;
        docstore_error_t err = {0};
        int rc = docstore_update_upsert_seed(f, &out, &err);
        if (seeds[i].expect == NULL) {
            CHECK(rc != 0);
        } else {
            bson_t *want = from_json(seeds[i].expect);
            bool same = rc == 0 && bson_equal(&out, want);
            if (!same) {
                char *got = bson_as_relaxed_extended_json(&out, NULL);
                fprintf(stderr, "seed %s: got %s want %s\n", seeds[i].filter, got,
                        seeds[i].expect);
                bson_free(got);
                harness_failures++;
            }
            bson_destroy(want);
        }
        docstore_error_clear(&err);
        bson_destroy(&out);
        bson_destroy(f);
    }
}

static void test_messages(void)
{
    /* MongoDB's wording, which drivers and users match on. */
    static const struct {
        const char *doc, *update, *msg;
        int32_t pos;
    } m[] = {
        {"{\"_id\": 1}", "{\"$set\": {\"a\": 1}, \"$inc\": {\"a\": 1}}",
         "Updating the path 'a' would create a conflict at 'a'", -1},
        {"{\"_id\": 1}", "{\"$set\": {\"a.b\": 1}, \"$inc\": {\"a\": 1}}",
         "Updating the path 'a' would create a conflict at 'a'", -1},
        {"{\"_id\": 1, \"a\": \"x\"}", "{\"$inc\": {\"a\": 1}}",
         "Cannot apply $inc to a value of non-numeric type. {_id: 1} has the field 'a' of "
         "non-numeric type string",
         -1},
        {"{\"_id\": 1, \"a\": [0, \"x\"]}", "{\"$inc\": {\"a.1\": 1}}",
         "Cannot apply $inc to a value of non-numeric type. {_id: 1} has the field '1' of "
         "non-numeric type string",
         -1},
        {"{\"_id\": 1}", "{\"$foo\": {\"a\": 1}}",
         "Unknown modifier: $foo. Expected a valid update modifier or pipeline-style update "
         "specified as an array",
         -1},
        {"{\"_id\": 1}", "{\"$set\": {\"_id\": 2}}",
         "Performing an update on the path '_id' would modify the immutable field '_id'", -1},
        {"{\"_id\": 1, \"a\": [1]}", "{\"$set\": {\"a.$\": 2}}",
         "The positional operator did not find the match needed from the query.", -1},
        {"{\"_id\": 1, \"a\": 5}", "{\"$set\": {\"a.b\": 1}}",
         "Cannot create field 'b' in element {a: 5}", -1},
        {"{\"_id\": 1, \"a\": 5}", "{\"$push\": {\"a\": 1}}",
         "The field 'a' must be an array but is of type int in document {_id: 1}", -1},
    };
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
        bson_t *doc = from_json(m[i].doc), *spec = from_json(m[i].update);
        docstore_update_t *u = NULL;
        docstore_error_t err = {0};
        bson_t out = BSON_INITIALIZER;
        bool changed;
        int rc = docstore_update_new(spec, NULL, &u, &err);
        if (rc == 0)
            rc = docstore_update_apply(u, doc, m[i].pos, false, &out, &changed, &err);
        CHECK(rc != 0);
        CHECK_STR(err.msg, m[i].msg);
        bson_destroy(&out);
        docstore_update_free(u);
        docstore_error_clear(&err);
        bson_destroy(doc);
        bson_destroy(spec);
    }
}

static void test_large_array_bounded(void)
{
    /* A far index is refused instead of allocating millions of nulls. */
    bson_t *doc = from_json("{\"_id\": 1, \"a\": []}");
    bson_t *spec = from_json("{\"$set\": {\"a.99999999\": 1}}");
    docstore_update_t *u = NULL;
    docstore_error_t err = {0};
    bson_t out = BSON_INITIALIZER;
    bool changed;
    CHECK_INT(docstore_update_new(spec, NULL, &u, &err), 0);
    CHECK(docstore_update_apply(u, doc, -1, false, &out, &changed, &err) != 0);
    CHECK_INT(err.code, 2);
    bson_destroy(&out);
    docstore_update_free(u);
    bson_destroy(doc);
    bson_destroy(spec);
}

int main(void)
{
    RUN(test_cases);
    RUN(test_replacement_flag);
    RUN(test_current_date);
    RUN(test_upsert_seed);
    RUN(test_large_array_bounded);
    RUN(test_messages);
    return TEST_REPORT();
}
