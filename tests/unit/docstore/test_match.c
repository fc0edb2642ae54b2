/*
 * Unit tests of the matcher (match.c, match_eval.c), table-driven: each case is
 * a filter, a document and whether MongoDB matches it (and, where it matters,
 * the positional index). The cases follow the MongoDB manual's pages on query
 * operators, querying arrays, embedded documents and null or missing fields,
 * and MongoDB's null_query_semantics tests (pre-8.0 behaviour: undefined
 * equals null).
 */
#include "harness.h"
#include "docstore/query/match.h"
#include "docstore_test_json.h"

#include <stdlib.h>

#define NOPOS (-2) /* do not check the positional index */

struct match_case {
    const char *filter;
    const char *doc;
    int want; /* 1 matches, 0 does not */
    int pos;  /* expected array_pos, or NOPOS */
};

static const struct match_case cases[] = {
    /* empty filter, plain equality, embedded documents (field order matters) */
    {"{}", "{\"a\": 1}", 1, -1},
    {"{\"a\": 1}", "{\"a\": 1}", 1, -1},
    {"{\"a\": 1}", "{\"a\": 1.0}", 1, NOPOS},
    {"{\"a\": 1}", "{\"a\": {\"$numberLong\": \"1\"}}", 1, NOPOS},
    {"{\"a\": 1}", "{\"a\": \"1\"}", 0, NOPOS},
    {"{\"a\": 1}", "{\"b\": 1}", 0, NOPOS},
    {"{\"a\": 1, \"b\": 2}", "{\"a\": 1, \"b\": 3}", 0, NOPOS},
    {"{\"size\": {\"h\": 14, \"w\": 21}}", "{\"size\": {\"h\": 14, \"w\": 21}}", 1, NOPOS},
    {"{\"size\": {\"w\": 21, \"h\": 14}}", "{\"size\": {\"h\": 14, \"w\": 21}}", 0, NOPOS},
    {"{\"size.h\": 14}", "{\"size\": {\"h\": 14, \"w\": 21}}", 1, NOPOS},
    {"{\"size.h\": {\"$lt\": 15}}", "{\"size\": {\"h\": 14}}", 1, NOPOS},
    {"{\"a.b.c\": 1}", "{\"a\": {\"b\": {\"c\": 1}}}", 1, NOPOS},
    /* arrays: element match, whole-array equality (order matters), nested arrays */
    {"{\"tags\": \"red\"}", "{\"tags\": [\"blue\", \"red\"]}", 1, 1},
    {"{\"tags\": [\"red\", \"blank\"]}", "{\"tags\": [\"red\", \"blank\"]}", 1, -1},
    {"{\"tags\": [\"red\", \"blank\"]}", "{\"tags\": [\"blank\", \"red\"]}", 0, NOPOS},
    {"{\"tags\": [\"red\"]}", "{\"tags\": [[\"red\"], \"x\"]}", 1, 0},
    {"{\"a\": 1}", "{\"a\": [[1, 2]]}", 0, NOPOS},
    {"{\"a\": [1, 2]}", "{\"a\": [[1, 2], 3]}", 1, 0},
    {"{\"a\": []}", "{\"a\": []}", 1, NOPOS},
    {"{\"a\": []}", "{\"a\": [[]]}", 1, NOPOS},
    {"{\"dim\": {\"$gt\": 15, \"$lt\": 20}}", "{\"dim\": [14, 21]}", 1, NOPOS},
    {"{\"dim\": {\"$elemMatch\": {\"$gt\": 15, \"$lt\": 20}}}", "{\"dim\": [14, 21]}", 0, NOPOS},
    {"{\"dim\": {\"$elemMatch\": {\"$gt\": 15, \"$lt\": 20}}}", "{\"dim\": [14, 16, 21]}", 1, 1},
    {"{\"dim.1\": {\"$gt\": 25}}", "{\"dim\": [14, 30]}", 1, NOPOS},
    {"{\"dim.1\": {\"$gt\": 25}}", "{\"dim\": [30, 14]}", 0, NOPOS},
    /* arrays of documents */
    {"{\"inst\": {\"wh\": \"A\", \"q\": 5}}",
     "{\"inst\": [{\"wh\": \"A\", \"q\": 5}, {\"wh\": \"C\"}]}", 1, 0},
    {"{\"inst\": {\"q\": 5, \"wh\": \"A\"}}", "{\"inst\": [{\"wh\": \"A\", \"q\": 5}]}", 0, NOPOS},
    {"{\"inst.q\": {\"$lte\": 20}}", "{\"inst\": [{\"q\": 50}, {\"q\": 15}]}", 1, 1},
    {"{\"inst.0.q\": {\"$lte\": 20}}", "{\"inst\": [{\"q\": 50}, {\"q\": 15}]}", 0, NOPOS},
    {"{\"inst.1.q\": {\"$lte\": 20}}", "{\"inst\": [{\"q\": 50}, {\"q\": 15}]}", 1, 1},
    {"{\"inst.q\": 5, \"inst.wh\": \"A\"}",
     "{\"inst\": [{\"wh\": \"A\", \"q\": 1}, {\"wh\": \"B\", \"q\": 5}]}", 1, NOPOS},
    {"{\"inst\": {\"$elemMatch\": {\"q\": 5, \"wh\": \"A\"}}}",
     "{\"inst\": [{\"wh\": \"A\", \"q\": 1}, {\"wh\": \"B\", \"q\": 5}]}", 0, NOPOS},
    {"{\"inst\": {\"$elemMatch\": {\"q\": 5, \"wh\": \"B\"}}}",
     "{\"inst\": [{\"wh\": \"A\", \"q\": 1}, {\"wh\": \"B\", \"q\": 5}]}", 1, 1},
    {"{\"a.b.c\": 3}", "{\"a\": [{\"b\": [{\"c\": 1}, {\"c\": 3}]}, {\"b\": 2}]}", 1, 0},
    {"{\"a.b.c\": 3}", "{\"a\": [{\"b\": 2}, {\"b\": [{\"c\": 1}, {\"c\": 3}]}]}", 1, 1},
    {"{\"a.b\": 1}", "{\"a\": [[{\"b\": 1}]]}", 0, NOPOS},
    {"{\"a.b\": 1}", "{\"a\": [1, {\"b\": 1}]}", 1, 1},
    /* numeric path components: index and field name */
    {"{\"a.0\": 5}", "{\"a\": {\"0\": 5}}", 1, NOPOS},
    {"{\"a.0\": 5}", "{\"a\": [5]}", 1, NOPOS},
    {"{\"a.0\": 5}", "{\"a\": [{\"0\": 5}]}", 1, NOPOS},
    {"{\"a.0.b\": 1}", "{\"a\": [{\"b\": 1}]}", 1, NOPOS},
    {"{\"a.1\": 5}", "{\"a\": [5]}", 0, NOPOS},
    /* null and missing (query-for-null-fields; null_query_semantics) */
    {"{\"item\": null}", "{\"item\": null}", 1, NOPOS},
    {"{\"item\": null}", "{}", 1, NOPOS},
    {"{\"item\": null}", "{\"item\": {\"$undefined\": true}}", 1, NOPOS},
    {"{\"item\": null}", "{\"item\": 0}", 0, NOPOS},
    {"{\"item\": {\"$ne\": null}}", "{\"item\": 0}", 1, NOPOS},
    {"{\"item\": {\"$ne\": null}}", "{}", 0, NOPOS},
    {"{\"item\": {\"__type\": 10}}", "{\"item\": null}", 1, NOPOS},
    {"{\"item\": {\"__type\": 10}}", "{}", 0, NOPOS},
    {"{\"item\": {\"$exists\": false}}", "{}", 1, NOPOS},
    {"{\"item\": {\"$exists\": false}}", "{\"item\": null}", 0, NOPOS},
    {"{\"a\": null}", "{\"a\": [1, null]}", 1, 1},
    {"{\"a\": null}", "{\"a\": []}", 0, NOPOS},
    {"{\"a\": null}", "{\"a\": [[]]}", 0, NOPOS},
    {"{\"a.b\": null}", "{\"a\": 4}", 1, NOPOS},
    {"{\"a.b\": null}", "{\"a\": {}}", 1, NOPOS},
    {"{\"a.b\": null}", "{\"a\": {\"b\": \"hi\"}}", 0, NOPOS},
    {"{\"a.b\": null}", "{\"a\": [{\"b\": 3}, {}]}", 1, 1},
    {"{\"a.b\": null}", "{\"a\": [{\"b\": 1}, {\"b\": 3}]}", 0, NOPOS},
    {"{\"a.b\": null}", "{\"a\": [null, null]}", 0, NOPOS},
    {"{\"a.b\": null}", "{\"a\": [1, 2]}", 0, NOPOS},
    {"{\"a.b\": null}", "{\"a\": []}", 0, NOPOS},
    {"{\"a.b\": {\"$ne\": null}}", "{\"a\": [1, 2]}", 1, NOPOS},
    {"{\"a.b\": {\"$ne\": null}}", "{\"a\": [{\"b\": 3}, {}]}", 0, NOPOS},
    {"{\"a\": {\"$gte\": null}}", "{}", 1, NOPOS},
    {"{\"a\": {\"$lte\": null}}", "{\"a\": null}", 1, NOPOS},
    {"{\"a\": {\"$gt\": null}}", "{\"a\": null}", 0, NOPOS},
    {"{\"a\": {\"$lt\": null}}", "{\"a\": 1}", 0, NOPOS},
    {"{\"a\": {\"$not\": {\"$gte\": null}}}", "{\"a\": 4}", 1, NOPOS},
    {"{\"a\": {\"$in\": [null, 75]}}", "{}", 1, NOPOS},
    {"{\"a\": {\"$in\": [null, 75]}}", "{\"a\": [1, null]}", 1, NOPOS},
    {"{\"a\": {\"$nin\": [null, 75]}}", "{\"a\": []}", 1, NOPOS},
    {"{\"a\": {\"$nin\": [null, []]}}", "{\"a\": []}", 0, NOPOS},
    {"{\"a\": {\"$nin\": [null, []]}}", "{\"a\": [[]]}", 0, NOPOS},
    {"{\"a\": {\"$elemMatch\": {\"$eq\": null}}}", "{\"a\": null}", 0, NOPOS},
    {"{\"a\": {\"$elemMatch\": {\"$ne\": null}}}", "{\"a\": [[]]}", 1, 0},
    {"{\"a\": {\"$elemMatch\": {\"$ne\": null}}}", "{\"a\": [null, null]}", 0, NOPOS},
    /* type bracketing: comparisons only within a type, except MinKey/MaxKey */
    {"{\"a\": {\"$gt\": 5}}", "{\"a\": \"x\"}", 0, NOPOS},
    {"{\"a\": {\"$gt\": 5}}", "{\"a\": 6.5}", 1, NOPOS},
    {"{\"a\": {\"$gt\": 5}}", "{\"a\": {\"$numberDecimal\": \"5.01\"}}", 1, NOPOS},
    {"{\"a\": {\"$lt\": 5}}", "{\"a\": null}", 0, NOPOS},
    {"{\"a\": {\"$lt\": \"b\"}}", "{\"a\": \"a\"}", 1, NOPOS},
    {"{\"a\": {\"$lt\": \"b\"}}", "{\"a\": 1}", 0, NOPOS},
    {"{\"a\": {\"$gt\": {\"$minKey\": 1}}}", "{\"a\": \"x\"}", 1, NOPOS},
    {"{\"a\": {\"$lt\": {\"$maxKey\": 1}}}", "{\"a\": {\"b\": 1}}", 1, NOPOS},
    {"{\"a\": {\"$gt\": {\"$maxKey\": 1}}}", "{\"a\": 1}", 0, NOPOS},
    {"{\"a\": {\"$gte\": {\"$date\": {\"$numberLong\": \"0\"}}}}",
     "{\"a\": {\"$date\": {\"$numberLong\": \"5\"}}}", 1, NOPOS},
    {"{\"a\": {\"$gte\": {\"$date\": {\"$numberLong\": \"0\"}}}}", "{\"a\": 5}", 0, NOPOS},
    {"{\"a\": {\"$gt\": [1]}}", "{\"a\": [2]}", 1, NOPOS},
    {"{\"a\": {\"$gt\": {\"b\": 1}}}", "{\"a\": {\"b\": 2}}", 1, NOPOS},
    /* numbers: exact across types, NaN */
    {"{\"a\": {\"$numberLong\": \"9007199254740993\"}}", "{\"a\": 9007199254740992.0}", 0, NOPOS},
    {"{\"a\": {\"$gt\": 9007199254740992.0}}", "{\"a\": {\"$numberLong\": \"9007199254740993\"}}",
     1, NOPOS},
    {"{\"a\": {\"$numberDouble\": \"NaN\"}}", "{\"a\": {\"$numberDouble\": \"NaN\"}}", 1, NOPOS},
    {"{\"a\": {\"$lt\": 0}}", "{\"a\": {\"$numberDouble\": \"NaN\"}}", 0, NOPOS},
    {"{\"a\": {\"$gt\": {\"$numberDouble\": \"NaN\"}}}", "{\"a\": 1}", 0, NOPOS},
    {"{\"a\": {\"$gte\": {\"$numberDouble\": \"NaN\"}}}", "{\"a\": {\"$numberDouble\": \"NaN\"}}",
     1, NOPOS},
    {"{\"a\": {\"$gte\": {\"$numberDouble\": \"-Infinity\"}}}",
     "{\"a\": {\"$numberDouble\": \"NaN\"}}", 0, NOPOS},
    /* $eq on arrays and documents, $ne and $nin over arrays */
    {"{\"a\": {\"$eq\": [1, 2]}}", "{\"a\": [1, 2]}", 1, NOPOS},
    {"{\"a\": {\"$eq\": 2}}", "{\"a\": [1, 2]}", 1, 1},
    {"{\"a\": {\"$ne\": 5}}", "{\"a\": [1, 5]}", 0, NOPOS},
    {"{\"a\": {\"$ne\": 5}}", "{\"a\": [1, 2]}", 1, NOPOS},
    {"{\"a\": {\"$ne\": 5}}", "{}", 1, NOPOS},
    {"{\"a\": {\"$nin\": [5, 6]}}", "{\"a\": [1, 6]}", 0, NOPOS},
    {"{\"a\": {\"$nin\": [5, 6]}}", "{\"a\": [1, 2]}", 1, NOPOS},
    {"{\"a\": {\"$nin\": [5, 6]}}", "{}", 1, NOPOS},
    /* $in with values, arrays and regexes */
    {"{\"a\": {\"$in\": [5, 6]}}", "{\"a\": 6}", 1, NOPOS},
    {"{\"a\": {\"$in\": [5, 6]}}", "{\"a\": [1, 6]}", 1, 1},
    {"{\"a\": {\"$in\": [[1, 6]]}}", "{\"a\": [1, 6]}", 1, -1},
    {"{\"a\": {\"$in\": []}}", "{\"a\": 1}", 0, NOPOS},
    {"{\"a\": {\"$in\": [{\"$regularExpression\": {\"pattern\": \"^be\", \"options\": \"\"}}, 1]}}",
     "{\"a\": [\"apple\", \"bean\"]}", 1, 1},
    {"{\"a\": {\"$in\": [{\"$regularExpression\": {\"pattern\": \"^BE\", \"options\": \"i\"}}]}}",
     "{\"a\": \"bean\"}", 1, NOPOS},
    {"{\"a\": {\"$in\": [{\"$regularExpression\": {\"pattern\": \"^be\", \"options\": \"\"}}]}}",
     "{\"a\": \"abe\"}", 0, NOPOS},
    {"{\"a\": {\"$nin\": [{\"$regularExpression\": {\"pattern\": \"^b\", \"options\": \"\"}}]}}",
     "{\"a\": \"abe\"}", 1, NOPOS},
    /* $in over many values of mixed types (binary search) */
    {"{\"a\": {\"$in\": [\"s\", 1.5, {\"$numberLong\": \"7\"}, [1], {\"x\": 1}, true, null, "
     "{\"$numberDouble\": \"NaN\"}, {\"$date\": {\"$numberLong\": \"5\"}}, -3]}}",
     "{\"a\": 7}", 1, NOPOS},
    {"{\"a\": {\"$in\": [\"s\", 1.5, {\"$numberLong\": \"7\"}, [1], {\"x\": 1}, true, null, "
     "{\"$numberDouble\": \"NaN\"}, {\"$date\": {\"$numberLong\": \"5\"}}, -3]}}",
     "{\"a\": 7.0}", 1, NOPOS},
    {"{\"a\": {\"$in\": [\"s\", 1.5, {\"$numberLong\": \"7\"}, [1], {\"x\": 1}, true, null, "
     "{\"$numberDouble\": \"NaN\"}, {\"$date\": {\"$numberLong\": \"5\"}}, -3]}}",
     "{\"a\": 1.5}", 1, NOPOS},
    {"{\"a\": {\"$in\": [\"s\", 1.5, {\"$numberLong\": \"7\"}, [1], {\"x\": 1}, true, null, "
     "{\"$numberDouble\": \"NaN\"}, {\"$date\": {\"$numberLong\": \"5\"}}, -3]}}",
     "{\"a\": \"s\"}", 1, NOPOS},
    {"{\"a\": {\"$in\": [\"s\", 1.5, {\"$numberLong\": \"7\"}, [1], {\"x\": 1}, true, null, "
     "{\"$numberDouble\": \"NaN\"}, {\"$date\": {\"$numberLong\": \"5\"}}, -3]}}",
     "{\"a\": \"t\"}", 0, NOPOS},
    {"{\"a\": {\"$in\": [\"s\", 1.5, {\"$numberLong\": \"7\"}, [1], {\"x\": 1}, true, null, "
     "{\"$numberDouble\": \"NaN\"}, {\"$date\": {\"$numberLong\": \"5\"}}, -3]}}",
     "{}", 1, NOPOS},
    {"{\"a\": {\"$in\": [\"s\", 1.5, {\"$numberLong\": \"7\"}, [1], {\"x\": 1}, true, null, "
     "{\"$numberDouble\": \"NaN\"}, {\"$date\": {\"$numberLong\": \"5\"}}, -3]}}",
     "{\"a\": [1]}", 1, NOPOS},
    {"{\"a\": {\"$in\": [\"s\", 1.5, {\"$numberLong\": \"7\"}, [1], {\"x\": 1}, true, null, "
     "{\"$numberDouble\": \"NaN\"}, {\"$date\": {\"$numberLong\": \"5\"}}, -3]}}",
     "{\"a\": [[1]]}", 1, NOPOS},
    {"{\"a\": {\"$in\": [\"s\", 1.5, {\"$numberLong\": \"7\"}, [1], {\"x\": 1}, true, null, "
     "{\"$numberDouble\": \"NaN\"}, {\"$date\": {\"$numberLong\": \"5\"}}, -3]}}",
     "{\"a\": {\"x\": 1}}", 1, NOPOS},
    {"{\"a\": {\"$in\": [\"s\", 1.5, {\"$numberLong\": \"7\"}, [1], {\"x\": 1}, true, null, "
     "{\"$numberDouble\": \"NaN\"}, {\"$date\": {\"$numberLong\": \"5\"}}, -3]}}",
     "{\"a\": {\"x\": 2}}", 0, NOPOS},
    {"{\"a\": {\"$in\": [\"s\", 1.5, {\"$numberLong\": \"7\"}, [1], {\"x\": 1}, true, null, "
     "{\"$numberDouble\": \"NaN\"}, {\"$date\": {\"$numberLong\": \"5\"}}, -3]}}",
     "{\"a\": false}", 0, NOPOS},
    {"{\"a\": {\"$in\": [\"s\", 1.5, {\"$numberLong\": \"7\"}, [1], {\"x\": 1}, true, null, "
     "{\"$numberDouble\": \"NaN\"}, {\"$date\": {\"$numberLong\": \"5\"}}, -3]}}",
     "{\"a\": [false, -3]}", 1, NOPOS},
    {"{\"a\": {\"$in\": [\"s\", 1.5, {\"$numberLong\": \"7\"}, [1], {\"x\": 1}, true, null, "
     "{\"$numberDouble\": \"NaN\"}, {\"$date\": {\"$numberLong\": \"5\"}}, -3]}}",
     "{\"a\": {\"$numberDouble\": \"NaN\"}}", 1, NOPOS},
    {"{\"a\": {\"$in\": [\"s\", 1.5, {\"$numberLong\": \"7\"}, [1], {\"x\": 1}, true, null, "
     "{\"$numberDouble\": \"NaN\"}, {\"$date\": {\"$numberLong\": \"5\"}}, -3]}}",
     "{\"a\": {\"$date\": {\"$numberLong\": \"5\"}}}", 1, NOPOS},
    {"{\"a\": {\"$in\": [\"s\", 1.5, {\"$numberLong\": \"7\"}, [1], {\"x\": 1}, true, null, "
     "{\"$numberDouble\": \"NaN\"}, {\"$date\": {\"$numberLong\": \"5\"}}, -3]}}",
     "{\"a\": 5}", 0, NOPOS},
    {"{\"a\": {\"$in\": [\"s\", 1.5, {\"$numberLong\": \"7\"}, [1], {\"x\": 1}, true, null, "
     "{\"$numberDouble\": \"NaN\"}, {\"$date\": {\"$numberLong\": \"5\"}}, -3]}}",
     "{\"a\": {\"$numberDecimal\": \"-3\"}}", 1, NOPOS},
    /* $and $or $nor $not */
    {"{\"$and\": [{\"a\": 1}, {\"b\": 2}]}", "{\"a\": 1, \"b\": 2}", 1, NOPOS},
    {"{\"$and\": [{\"a\": 1}, {\"b\": 2}]}", "{\"a\": 1, \"b\": 3}", 0, NOPOS},
    {"{\"$or\": [{\"a\": 1}, {\"b\": 2}]}", "{\"a\": 0, \"b\": 2}", 1, NOPOS},
    {"{\"$or\": [{\"a\": 1}, {\"b\": 2}]}", "{\"a\": 0, \"b\": 0}", 0, NOPOS},
    {"{\"$nor\": [{\"price\": 1.99}, {\"sale\": true}]}", "{}", 1, NOPOS},
    {"{\"$nor\": [{\"price\": 1.99}, {\"sale\": true}]}", "{\"sale\": true}", 0, NOPOS},
    {"{\"price\": {\"$not\": {\"$gt\": 1.99}}}", "{\"price\": 1.5}", 1, NOPOS},
    {"{\"price\": {\"$not\": {\"$gt\": 1.99}}}", "{}", 1, NOPOS},
    {"{\"price\": {\"$not\": {\"$gt\": 1.99}}}", "{\"price\": \"x\"}", 1, NOPOS},
    {"{\"price\": {\"$not\": {\"$gt\": 1.99}}}", "{\"price\": [1, 3]}", 0, NOPOS},
    {"{\"item\": {\"$not\": {\"$regularExpression\": {\"pattern\": \"^p.*\", \"options\": \"\"}}}}",
     "{\"item\": \"pen\"}", 0, NOPOS},
    {"{\"item\": {\"$not\": {\"$regularExpression\": {\"pattern\": \"^p.*\", \"options\": \"\"}}}}",
     "{\"item\": \"ink\"}", 1, NOPOS},
    {"{\"a\": {\"$not\": {\"$gt\": 1, \"$lt\": 5}}}", "{\"a\": 3}", 0, NOPOS},
    {"{\"a\": {\"$not\": {\"$gt\": 1, \"$lt\": 5}}}", "{\"a\": 7}", 1, NOPOS},
    {"{\"$comment\": \"hello\", \"a\": 1}", "{\"a\": 1}", 1, NOPOS},
    {"{\"$alwaysFalse\": 1}", "{\"a\": 1}", 0, NOPOS},
    {"{\"$and\": [{\"a\": 1}, {\"$or\": [{\"b\": 1}, {\"c\": 1}]}]}", "{\"a\": 1, \"c\": 1}", 1,
     NOPOS},
    {"{\"a\": {\"$elemMatch\": {}}}", "{\"a\": [1, {}]}", 1, 1},
    {"{\"a\": {\"$elemMatch\": {}}}", "{\"a\": [1, 2]}", 0, NOPOS},
    /* $expr (expressions from expr.c) */
    {"{\"$expr\": {\"$gt\": [\"$spent\", \"$budget\"]}}", "{\"spent\": 400, \"budget\": 320}", 1,
     NOPOS},
    {"{\"$expr\": {\"$gt\": [\"$spent\", \"$budget\"]}}", "{\"spent\": 100, \"budget\": 320}", 0,
     NOPOS},
    {"{\"$expr\": {\"$eq\": [\"$a\", 1]}, \"b\": 2}", "{\"a\": 1, \"b\": 2}", 1, NOPOS},
    {"{\"$or\": [{\"$expr\": {\"$lt\": [\"$a\", 0]}}, {\"b\": 1}]}", "{\"a\": -3}", 1, NOPOS},
    {"{\"$expr\": \"$missing\"}", "{\"a\": 1}", 0, NOPOS},
    {"{\"$expr\": \"$a\"}", "{\"a\": []}", 1, NOPOS},
    /* $exists */
    {"{\"a\": {\"$exists\": true}}", "{\"a\": null}", 1, NOPOS},
    {"{\"a\": {\"$exists\": 1}}", "{\"a\": []}", 1, NOPOS},
    {"{\"a\": {\"$exists\": true}}", "{\"b\": 1}", 0, NOPOS},
    {"{\"a.b\": {\"$exists\": true}}", "{\"a\": [{\"c\": 1}, {\"b\": null}]}", 1, 1},
    {"{\"a.b\": {\"$exists\": true}}", "{\"a\": [1, 2]}", 0, NOPOS},
    {"{\"a.b\": {\"$exists\": false}}", "{\"a\": [1, 2]}", 1, NOPOS},
    {"{\"a\": {\"$exists\": 0}}", "{\"a\": 1}", 0, NOPOS},
    /* $type: codes, aliases, "number", arrays */
    {"{\"a\": {\"__type\": \"string\"}}", "{\"a\": \"x\"}", 1, NOPOS},
    {"{\"a\": {\"__type\": 2}}", "{\"a\": \"x\"}", 1, NOPOS},
    {"{\"a\": {\"__type\": \"string\"}}", "{\"a\": [1, \"x\"]}", 1, 1},
    {"{\"a\": {\"__type\": \"number\"}}", "{\"a\": {\"$numberLong\": \"1\"}}", 1, NOPOS},
    {"{\"a\": {\"__type\": \"number\"}}", "{\"a\": \"1\"}", 0, NOPOS},
    {"{\"a\": {\"__type\": \"double\"}}", "{\"a\": 1}", 0, NOPOS},
    {"{\"a\": {\"__type\": \"int\"}}", "{\"a\": 1}", 1, NOPOS},
    {"{\"a\": {\"__type\": 18}}", "{\"a\": {\"$numberLong\": \"1\"}}", 1, NOPOS},
    {"{\"a\": {\"__type\": [\"string\", \"bool\"]}}", "{\"a\": true}", 1, NOPOS},
    {"{\"a\": {\"__type\": [\"string\", 8]}}", "{\"a\": 1}", 0, NOPOS},
    {"{\"a\": {\"__type\": \"array\"}}", "{\"a\": []}", 1, NOPOS},
    {"{\"a\": {\"__type\": \"array\"}}", "{\"a\": [1]}", 1, NOPOS},
    {"{\"a\": {\"__type\": \"array\"}}", "{\"a\": 1}", 0, NOPOS},
    {"{\"a\": {\"__type\": \"object\"}}", "{\"a\": {}}", 1, NOPOS},
    {"{\"a\": {\"__type\": -1}}", "{\"a\": {\"$minKey\": 1}}", 1, NOPOS},
    {"{\"a\": {\"__type\": \"maxKey\"}}", "{\"a\": {\"$maxKey\": 1}}", 1, NOPOS},
    {"{\"a\": {\"__type\": \"null\"}}", "{}", 0, NOPOS},
    {"{\"a\": {\"__type\": \"objectId\"}}", "{\"a\": {\"$oid\": \"5f0000000000000000000000\"}}", 1,
     NOPOS},
    {"{\"a\": {\"__type\": \"decimal\"}}", "{\"a\": {\"$numberDecimal\": \"1\"}}", 1, NOPOS},
    /* $regex and $options; a regex value in equality */
    {"{\"sku\": {\"__regex\": \"789$\"}}", "{\"sku\": \"abc789\"}", 1, NOPOS},
    {"{\"sku\": {\"__regex\": \"^ABC\", \"__options\": \"i\"}}", "{\"sku\": \"abc789\"}", 1, NOPOS},
    {"{\"sku\": {\"__regex\": \"^ABC\"}}", "{\"sku\": \"abc789\"}", 0, NOPOS},
    {"{\"sku\": {\"$regularExpression\": {\"pattern\": \"^ABC\", \"options\": \"i\"}}}",
     "{\"sku\": \"abc789\"}", 1, NOPOS},
    {"{\"d\": {\"__regex\": \"^S\", \"__options\": \"m\"}}",
     "{\"d\": \"First line\\nSecond line\"}", 1, NOPOS},
    {"{\"d\": {\"__regex\": \"^S\"}}", "{\"d\": \"First line\\nSecond line\"}", 0, NOPOS},
    {"{\"d\": {\"__regex\": \"m.*line\", \"__options\": \"si\"}}", "{\"d\": \"Multiple\\nline\"}",
     1, NOPOS},
    {"{\"d\": {\"__regex\": \"m.*line\", \"__options\": \"i\"}}", "{\"d\": \"Multiple\\nline\"}", 0,
     NOPOS},
    {"{\"d\": {\"__regex\": \"a b # comment\\n c\", \"__options\": \"x\"}}", "{\"d\": \"abc\"}", 1,
     NOPOS},
    {"{\"d\": {\"__regex\": \"^é\"}}", "{\"d\": \"élan\"}", 1, NOPOS},
    {"{\"d\": {\"__regex\": \"^a\"}}", "{\"d\": 1}", 0, NOPOS},
    {"{\"d\": {\"__regex\": \"^a\"}}", "{\"d\": {\"$symbol\": \"abc\"}}", 1, NOPOS},
    {"{\"d\": {\"__regex\": \"x\"}}", "{\"d\": [\"a\", \"xy\"]}", 1, 1},
    {"{\"d\": {\"$regularExpression\": {\"pattern\": \"a\", \"options\": \"i\"}}}",
     "{\"d\": {\"$regularExpression\": {\"pattern\": \"a\", \"options\": \"i\"}}}", 1, NOPOS},
    {"{\"d\": {\"$eq\": {\"$regularExpression\": {\"pattern\": \"a\", \"options\": \"\"}}}}",
     "{\"d\": \"a\"}", 0, NOPOS},
    {"{\"d\": {\"$eq\": {\"$regularExpression\": {\"pattern\": \"a\", \"options\": \"\"}}}}",
     "{\"d\": {\"$regularExpression\": {\"pattern\": \"a\", \"options\": \"\"}}}", 1, NOPOS},
    /* $size */
    {"{\"a\": {\"$size\": 2}}", "{\"a\": [1, 2]}", 1, NOPOS},
    {"{\"a\": {\"$size\": 1}}", "{\"a\": [[1, 2]]}", 1, NOPOS},
    {"{\"a\": {\"$size\": 2}}", "{\"a\": [[1, 2]]}", 0, NOPOS},
    {"{\"a\": {\"$size\": 0}}", "{\"a\": []}", 1, NOPOS},
    {"{\"a\": {\"$size\": 0}}", "{}", 0, NOPOS},
    {"{\"a\": {\"$size\": 1}}", "{\"a\": \"x\"}", 0, NOPOS},
    {"{\"a.b\": {\"$size\": 2}}", "{\"a\": [{\"b\": [1]}, {\"b\": [1, 2]}]}", 1, 1},
    {"{\"a\": {\"$size\": 2.0}}", "{\"a\": [1, 2]}", 1, NOPOS},
    /* $all, with $elemMatch */
    {"{\"tags\": {\"$all\": [\"ssl\", \"security\"]}}",
     "{\"tags\": [\"security\", \"x\", \"ssl\"]}", 1, NOPOS},
    {"{\"tags\": {\"$all\": [\"ssl\", \"security\"]}}", "{\"tags\": [\"ssl\"]}", 0, NOPOS},
    {"{\"tags\": {\"$all\": [\"ssl\"]}}", "{\"tags\": \"ssl\"}", 1, NOPOS},
    {"{\"tags\": {\"$all\": [[\"ssl\", \"security\"]]}}", "{\"tags\": [\"ssl\", \"security\"]}", 1,
     NOPOS},
    {"{\"tags\": {\"$all\": [[\"ssl\", \"security\"]]}}",
     "{\"tags\": [[\"ssl\", \"security\"], 1]}", 1, NOPOS},
    {"{\"tags\": {\"$all\": []}}", "{\"tags\": []}", 0, NOPOS},
    {"{\"tags\": {\"$all\": [{\"$regularExpression\": {\"pattern\": \"^s\", \"options\": \"\"}}, "
     "\"x\"]}}",
     "{\"tags\": [\"ssl\", \"x\"]}", 1, NOPOS},
    {"{\"q\": {\"$all\": [{\"$elemMatch\": {\"size\": \"M\", \"num\": {\"$gt\": 50}}}, "
     "{\"$elemMatch\": {\"num\": 100, \"color\": \"green\"}}]}}",
     "{\"q\": [{\"size\": \"S\", \"num\": 10, \"color\": \"blue\"}, {\"size\": \"M\", \"num\": "
     "100, \"color\": \"green\"}]}",
     1, NOPOS},
    {"{\"q\": {\"$all\": [{\"$elemMatch\": {\"size\": \"M\", \"num\": {\"$gt\": 50}}}, "
     "{\"$elemMatch\": {\"num\": 100, \"color\": \"green\"}}]}}",
     "{\"q\": [{\"size\": \"M\", \"num\": 60, \"color\": \"blue\"}, {\"size\": \"L\", \"num\": "
     "100, \"color\": \"red\"}]}",
     0, NOPOS},
    /* $elemMatch forms */
    {"{\"results\": {\"$elemMatch\": {\"$gte\": 80, \"$lt\": 85}}}", "{\"results\": [82, 85, 88]}",
     1, 0},
    {"{\"results\": {\"$elemMatch\": {\"$gte\": 80, \"$lt\": 85}}}", "{\"results\": [75, 88, 89]}",
     0, NOPOS},
    {"{\"results\": {\"$elemMatch\": {\"product\": \"xyz\", \"score\": {\"$gte\": 8}}}}",
     "{\"results\": [{\"product\": \"abc\", \"score\": 10}, {\"product\": \"xyz\", \"score\": 9}]}",
     1, 1},
    {"{\"results\": {\"$elemMatch\": {\"product\": \"xyz\"}}}",
     "{\"results\": {\"product\": \"xyz\"}}", 0, NOPOS},
    {"{\"a\": {\"$elemMatch\": {\"$in\": [1, 2]}}}", "{\"a\": [3, 2]}", 1, 1},
    {"{\"a\": {\"$elemMatch\": {\"$not\": {\"$gt\": 2}}}}", "{\"a\": [3, 2]}", 1, 1},
    {"{\"a\": {\"$elemMatch\": {\"$not\": {\"$gt\": 2}}}}", "{\"a\": [3, 4]}", 0, NOPOS},
    {"{\"a\": {\"$elemMatch\": {\"$or\": [{\"b\": 1}, {\"c\": 1}]}}}", "{\"a\": [{\"c\": 1}]}", 1,
     0},
    {"{\"a\": {\"$elemMatch\": {\"0\": 5}}}", "{\"a\": [[5, 6]]}", 1, 0},
    {"{\"a\": {\"$elemMatch\": {\"$elemMatch\": {\"$eq\": 5}}}}", "{\"a\": [[1], [4, 5]]}", 1, 1},
    {"{\"a.b\": {\"$elemMatch\": {\"$eq\": 2}}}", "{\"a\": [{\"b\": [1]}, {\"b\": [2]}]}", 1, 1},
    /* $mod */
    {"{\"qty\": {\"$mod\": [4, 0]}}", "{\"qty\": 12}", 1, NOPOS},
    {"{\"qty\": {\"$mod\": [4, 0]}}", "{\"qty\": 13}", 0, NOPOS},
    {"{\"qty\": {\"$mod\": [4, 0]}}", "{\"qty\": 12.9}", 1, NOPOS},
    {"{\"qty\": {\"$mod\": [4.5, 0]}}", "{\"qty\": 12}", 1, NOPOS},
    {"{\"qty\": {\"$mod\": [4, -1]}}", "{\"qty\": -5}", 1, NOPOS},
    {"{\"qty\": {\"$mod\": [4, 0]}}", "{\"qty\": \"12\"}", 0, NOPOS},
    {"{\"qty\": {\"$mod\": [4, 0]}}", "{\"qty\": {\"$numberDouble\": \"NaN\"}}", 0, NOPOS},
    {"{\"qty\": {\"$mod\": [-1, 0]}}", "{\"qty\": {\"$numberLong\": \"-9223372036854775808\"}}", 1,
     NOPOS},
    /* DBRef fields ($ref, $id, $db) are field names, not operators */
    {"{\"x\": {\"$elemMatch\": {\"$id\": 2}}}",
     "{\"x\": [{\"$ref\": \"c\", \"$id\": 1}, {\"$ref\": \"c\", \"$id\": 2}]}", 1, 1},
    {"{\"x.$ref\": \"c\"}", "{\"x\": {\"$ref\": \"c\", \"$id\": 1}}", 1, NOPOS},
    /* DBRef-shaped values are equality, not operators */
    {"{\"r\": {\"$ref\": \"c\", \"$id\": 1}}", "{\"r\": {\"$ref\": \"c\", \"$id\": 1}}", 1, NOPOS},
    /* positional index: the first array-traversing predicate */
    {"{\"x\": 1, \"a\": 5}", "{\"x\": 1, \"a\": [4, 5]}", 1, 1},
    {"{\"a\": {\"$gt\": 4}, \"b\": 1}", "{\"a\": [4, 5, 6], \"b\": [0, 1]}", 1, 1},
    {"{\"a\": [4, 5]}", "{\"a\": [4, 5]}", 1, -1},
    {"{\"a\": 5}", "{\"a\": 5}", 1, -1},
};

/* A query run over a data set, with the _ids MongoDB returns. */
struct set_case {
    const char *filter;
    const char *want; /* matching _ids, ascending, comma-separated */
};

/* The data set and answers of MongoDB's match_numeric_components test: numeric
 * path components as array indexes and as field names, at every nesting. */
static const char *const numeric_docs[] = {
    "{\"_id\": 0, \"a\": 42}",
    "{\"_id\": 1, \"a\": [42]}",
    "{\"_id\": 2, \"a\": {\"0\": 42}}",
    "{\"_id\": 3, \"a\": [[42]]}",
    "{\"_id\": 4, \"a\": [{\"0\": 42}]}",
    "{\"_id\": 5, \"a\": {\"0\": [42]}}",
    "{\"_id\": 6, \"a\": {\"0\": {\"0\": 42}}}",
    "{\"_id\": 7, \"a\": [[[42]]]}",
    "{\"_id\": 8, \"a\": [[{\"0\": 42}]]}",
    "{\"_id\": 9, \"a\": [{\"0\": [42]}]}",
    "{\"_id\": 10, \"a\": [{\"0\": {\"0\": 42}}]}",
    "{\"_id\": 11, \"a\": {\"0\": [[42]]}}",
    "{\"_id\": 12, \"a\": {\"0\": [{\"0\": 42}]}}",
    "{\"_id\": 13, \"a\": {\"0\": {\"0\": [42]}}}",
    "{\"_id\": 14, \"a\": {\"0\": {\"0\": {\"0\": 42}}}}",
    "{\"_id\": 15, \"a\": [[[[42]]]]}",
    "{\"_id\": 16, \"a\": [[[{\"0\": 42}]]]}",
    "{\"_id\": 17, \"a\": [[{\"0\": [42]}]]}",
    "{\"_id\": 18, \"a\": [[{\"0\": {\"0\": 42}}]]}",
    "{\"_id\": 19, \"a\": [{\"0\": [[42]]}]}",
    "{\"_id\": 20, \"a\": [{\"0\": [{\"0\": 42}]}]}",
    "{\"_id\": 21, \"a\": [{\"0\": {\"0\": [42]}}]}",
    "{\"_id\": 22, \"a\": [{\"0\": {\"0\": {\"0\": 42}}}]}",
    "{\"_id\": 23, \"a\": {\"0\": [[[42]]]}}",
    "{\"_id\": 24, \"a\": {\"0\": [[{\"0\": 42}]]}}",
    "{\"_id\": 25, \"a\": {\"0\": [{\"0\": [42]}]}}",
    "{\"_id\": 26, \"a\": {\"0\": [{\"0\": {\"0\": 42}}]}}",
    "{\"_id\": 27, \"a\": {\"0\": {\"0\": [[42]]}}}",
    "{\"_id\": 28, \"a\": {\"0\": {\"0\": [{\"0\": 42}]}}}",
    "{\"_id\": 29, \"a\": {\"0\": {\"0\": {\"0\": [42]}}}}",
    "{\"_id\": 30, \"a\": {\"0\": {\"0\": {\"0\": {\"0\": 42}}}}}",
};

static const struct set_case numeric_cases[] = {
    {"{\"a.0\": 42}", "1,2,4,5,9"},
    {"{\"a.0\": {\"$ne\": 42}}",
     "0,3,6,7,8,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30"},
    {"{\"a.0.0\": 42}", "3,4,5,6,8,9,10,12,13,17,20,21,25"},
    {"{\"a.0\": {\"$gt\": 41}}", "1,2,4,5,9"},
    {"{\"a.0\": {\"$in\": [41, 42, 43]}}", "1,2,4,5,9"},
    {"{\"a.0\": {\"$nin\": [41, 42, 43]}}",
     "0,3,6,7,8,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30"},
    {"{\"a.0\": {\"$exists\": false}}", "0"},
    {"{\"a.0\": {\"$exists\": true}}",
     "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30"},
    {"{\"a\": {\"$elemMatch\": {\"0.0\": {\"$eq\": 42}}}}", "7,8,9,10,16,17,20,21"},
    {"{\"_id\": {\"$lt\": 15}, \"a.0\": {\"$gt\": 41}}", "1,2,4,5,9"},
    {"{\"a.0\": {\"$all\": [42]}}", "1,2,4,5,9"},
    {"{\"a.0\": {\"$all\": [{\"$elemMatch\": {\"0\": 42}}]}}", "7,8,11,12,15,17,19,20,23,25"},
    {"{\"a.0\": {\"__type\": \"number\"}}", "1,2,4,5,9"},
    {"{\"a.0\": {\"$mod\": [42, 0]}}", "1,2,4,5,9"},
    {"{\"$or\": [{\"a.0\": 42}, {\"notARealField\": 123}]}", "1,2,4,5,9"},
};

static const char *const regex_docs[] = {
    "{\"_id\": 1, \"b\": \"hello\"}",
    "{\"_id\": 2, \"b\": {\"0\": \"hello\"}}",
    "{\"_id\": 3, \"b\": [\"hello\", \"abc\", \"abc\"]}",
};

static const struct set_case regex_cases[] = {
    {"{\"b.0\": {\"__regex\": \"hello\"}}", "2,3"},
    {"{\"b.0\": {\"$all\": [{\"$regularExpression\": {\"pattern\": \"^hello\", \"options\": "
     "\"\"}}]}}",
     "2,3"},
    {"{\"b.0\": {\"$not\": {\"$regularExpression\": {\"pattern\": \"^h\", \"options\": \"\"}}}}",
     "1"},
};

static const char *const nested_docs[] = {
    "{\"_id\": 0, \"f1\": 5}",
    "{\"_id\": 1, \"f1\": [3, 5]}",
    "{\"_id\": 4, \"f1\": [3, 5, [7, 9]]}",
    "{\"_id\": 2, \"f1\": [[3, 5], [5, 7]]}",
    "{\"_id\": 3, \"f1\": [[[0], [3, 5]], [[0], [5, 7]]]}",
};

static const struct set_case nested_cases[] = {
    {"{\"f1.0\": {\"$elemMatch\": {\"$eq\": 5}}}", "2"},
    {"{\"f1.0\": {\"$elemMatch\": {\"$eq\": [3, 5]}}}", "3"},
    {"{\"f1.0.1\": {\"$elemMatch\": {\"$eq\": 3}}}", "3"},
};

/* MongoDB's null_query_semantics data set (its documents without undefined values,
 * where 8.0 changed the answers) and the _ids it returns. */
static const char *const nulls_docs[] = {
    "{\"_id\": 1, \"a\": {}}",
    "{\"_id\": 2, \"a\": null}",
    "{\"_id\": 3, \"a\": 4}",
    "{\"_id\": 4, \"a\": {\"b\": \"hi\"}}",
    "{\"_id\": 5, \"a\": {\"b\": null}}",
    "{\"_id\": 6}",
    "{\"_id\": 7, \"a\": [[]]}",
    "{\"_id\": 8, \"a\": []}",
    "{\"_id\": 9, \"a\": [{\"b\": 1}, {\"b\": 3}, {\"b\": \"string\"}]}",
    "{\"_id\": 10, \"a\": [{\"b\": null}, {\"b\": 3}, {\"b\": null}]}",
    "{\"_id\": 11, \"a\": [{\"b\": 3}, {}]}",
    "{\"_id\": 12, \"a\": [null, null]}",
    "{\"_id\": 13, \"a\": [1, \"string\", 4]}",
    "{\"_id\": 14, \"a\": [1, \"string\", null, 4]}",
};

static const struct set_case nulls_cases[] = {
    {"{\"a\": {\"$eq\": null}}", "2,6,12,14"},
    {"{\"a\": {\"$ne\": null}}", "1,3,4,5,7,8,9,10,11,13"},
    {"{\"a\": {\"$not\": {\"$gte\": null}}}", "1,3,4,5,7,8,9,10,11,13"},
    {"{\"a\": {\"$in\": [null, 75]}}", "2,6,12,14"},
    {"{\"$or\": [{\"a\": null}, {\"a\": 75}]}", "2,6,12,14"},
    {"{\"a\": {\"$nin\": [null, 75]}}", "1,3,4,5,7,8,9,10,11,13"},
    {"{\"a\": {\"$nin\": [null, []]}}", "1,3,4,5,9,10,11,13"},
    {"{\"a\": {\"$nin\": [null, {\"$regularExpression\": {\"pattern\": \"^str.*\", \"options\": "
     "\"\"}}]}}",
     "1,3,4,5,7,8,9,10,11"},
    {"{\"a\": {\"$elemMatch\": {\"$eq\": null}}}", "12,14"},
    {"{\"a\": {\"$elemMatch\": {\"$ne\": null}}}", "7,9,10,11,13,14"},
    {"{\"a.b\": {\"$eq\": null}}", "1,2,3,5,6,10,11"},
    {"{\"a.b\": {\"$ne\": null}}", "4,7,8,9,12,13,14"},
    {"{\"a.b\": {\"$in\": [null, 75]}}", "1,2,3,5,6,10,11"},
    {"{\"a.b\": {\"$nin\": [null, 75]}}", "4,7,8,9,12,13,14"},
    {"{\"a\": {\"$exists\": false}}", "6"},
    {"{\"a\": {\"$elemMatch\": {\"b\": {\"$eq\": null}}}}", "7,10,11"},
    {"{\"a\": {\"$elemMatch\": {\"b\": {\"$ne\": null}}}}", "9,10,11"},
    {"{\"a.b\": {\"$elemMatch\": {\"$eq\": null}}}", ""},
    {"{\"a.b\": {\"$nin\": [null, {\"$regularExpression\": {\"pattern\": \"^str.*\", \"options\": "
     "\"\"}}]}}",
     "4,7,8,12,13,14"},
};

/* MongoDB's elemmatch_value test data set and answers. */
static const char *const elemvalue_docs[] = {
    "{\"_id\": 1, \"a\": 5}",
    "{\"_id\": 2, \"a\": [5]}",
    "{\"_id\": 3, \"a\": [3, 7]}",
    "{\"_id\": 4, \"a\": [[5]]}",
    "{\"_id\": 5, \"a\": [[3, 7]]}",
    "{\"_id\": 6, \"a\": [[[5]]]}",
    "{\"_id\": 7, \"a\": [[[3, 7]]]}",
    "{\"_id\": 8, \"a\": {\"b\": 5}}",
    "{\"_id\": 9, \"a\": {\"b\": [5]}}",
    "{\"_id\": 10, \"a\": {\"b\": [3, 7]}}",
    "{\"_id\": 11, \"a\": [{\"b\": 5}]}",
    "{\"_id\": 12, \"a\": [{\"b\": 3}, {\"b\": 7}]}",
    "{\"_id\": 13, \"a\": [{\"b\": [5]}]}",
    "{\"_id\": 14, \"a\": [{\"b\": [3, 7]}]}",
    "{\"_id\": 15, \"a\": [[{\"b\": 5}]]}",
    "{\"_id\": 16, \"a\": [[{\"b\": 3}, {\"b\": 7}]]}",
    "{\"_id\": 17, \"a\": [[{\"b\": [5]}]]}",
    "{\"_id\": 18, \"a\": [[{\"b\": [3, 7]}]]}",
};

static const struct set_case elemvalue_cases[] = {
    {"{\"a\": {\"$elemMatch\": {\"$lt\": 6, \"$gt\": 4}}}", "2"},
    {"{\"a.b\": {\"$elemMatch\": {\"$lt\": 6, \"$gt\": 4}}}", "9,13"},
    {"{\"a\": {\"$elemMatch\": {\"$elemMatch\": {\"$lt\": 6, \"$gt\": 4}}}}", "4"},
    {"{\"a\": {\"$elemMatch\": {\"__type\": \"number\"}}}", "2,3"},
    {"{\"a\": {\"$elemMatch\": {\"__type\": \"array\"}}}", "4,5,6,7,15,16,17,18"},
    {"{\"a\": {\"$elemMatch\": {\"b\": {\"$lt\": 6, \"$gt\": 4}}}}", "11,13,14"},
    {"{\"a\": {\"$elemMatch\": {\"b\": {\"$elemMatch\": {\"$lt\": 6, \"$gt\": 4}}}}}", "13"},
    {"{\"a\": {\"$elemMatch\": {\"$elemMatch\": {\"b\": {\"$lt\": 6, \"$gt\": 4}}}}}", "15,17,18"},
};

/* MongoDB's elemmatch_object test data set and answers. */
static const char *const elemobj_docs[] = {
    "{\"_id\": 1, \"a\": {\"b\": 1, \"c\": 4}}",
    "{\"_id\": 2, \"a\": [{\"b\": 1, \"c\": 4}]}",
    "{\"_id\": 3, \"a\": [{\"b\": 2, \"c\": 3}]}",
    "{\"_id\": 4, \"a\": [{\"b\": 1, \"c\": 2}, {\"b\": 3, \"c\": 4}]}",
    "{\"_id\": 5, \"a\": [{\"b\": 1, \"c\": 2}, {\"b\": 3, \"c\": 4}, {\"b\": 1, \"c\": 4}]}",
    "{\"_id\": 6, \"a\": [{\"b\": [], \"c\": []}]}",
    "{\"_id\": 7, \"a\": [{\"b\": [12, 2], \"c\": [13, 3]}]}",
    "{\"_id\": 8, \"a\": [{\"b\": [11, 1], \"c\": [14, 4]}]}",
    "{\"_id\": 9, \"a\": [{\"b\": {\"w\": 1, \"x\": 2}, \"c\": {\"y\": 3, \"z\": 4}}]}",
    "{\"_id\": 10, \"a\": [{\"b\": [{\"w\": 5, \"x\": 6}, {\"w\": 1, \"x\": 2}], \"c\": [{\"y\": "
    "7, \"z\": 8}, {\"y\": 3, \"z\": 4}]}]}",
    "{\"_id\": 11, \"a\": [{\"b\": [{\"w\": 5, \"x\": 2}, {\"w\": 1, \"x\": 6}], \"c\": [{\"y\": "
    "7, \"z\": 4}, {\"y\": 3, \"z\": 8}]}]}",
    "{\"_id\": 12, \"a\": [{\"b\": [{\"w\": 5, \"x\": 6}, {\"w\": 1, \"x\": 2}], \"c\": [{\"y\": "
    "7, \"z\": 4}, {\"y\": 3, \"z\": 8}]}]}",
    "{\"_id\": 13, \"a\": [{\"b\": [{\"w\": [11, 1], \"x\": [12, 2]}], \"c\": [{\"y\": [13, 3], "
    "\"z\": [14, 4]}]}]}",
};

static const struct set_case elemobj_cases[] = {
    {"{\"a\": {\"$elemMatch\": {\"b\": 2}}}", "3,7"},
    {"{\"a\": {\"$elemMatch\": {\"b\": 1}}}", "2,4,5,8"},
    {"{\"a\": {\"$elemMatch\": {\"b\": 1, \"c\": 4}}}", "2,5,8"},
    {"{\"a\": {\"$elemMatch\": {\"b\": {\"$elemMatch\": {}}, \"c\": {\"$elemMatch\": {}}}}}",
     "10,11,12,13"},
    {"{\"a\": {\"$elemMatch\": {\"b\": {\"$elemMatch\": {\"w\": 1, \"x\": 2}}, \"c\": "
     "{\"$elemMatch\": {}}}}}",
     "10,12,13"},
    {"{\"a\": {\"$elemMatch\": {\"b\": {\"$elemMatch\": {\"w\": 1, \"x\": 2}}, \"c\": "
     "{\"$elemMatch\": {\"y\": 3, \"z\": 4}}}}}",
     "10,13"},
};

/* MongoDB's elemmatch_object test data set and answers. */
static const char *const elemempty_docs[] = {
    "{\"_id\": 1}",
    "{\"_id\": 2, \"a\": 1}",
    "{\"_id\": 3, \"a\": \"foo\"}",
    "{\"_id\": 4, \"a\": []}",
    "{\"_id\": 5, \"a\": {}}",
    "{\"_id\": 6, \"a\": [1]}",
    "{\"_id\": 7, \"a\": [\"foo\"]}",
    "{\"_id\": 8, \"a\": [[]]}",
    "{\"_id\": 9, \"a\": [{}]}",
    "{\"_id\": 10, \"a\": [[1]]}",
    "{\"_id\": 11, \"a\": [1, []]}",
    "{\"_id\": 12, \"a\": [1, {}]}",
    "{\"_id\": 13, \"a\": [{\"b\": 1}]}",
};

static const struct set_case elemempty_cases[] = {
    {"{\"a\": {\"$elemMatch\": {}}}", "8,9,10,11,12,13"},
    {"{\"a\": {\"$elemMatch\": {\"$or\": [{}, {}]}}}", "8,9,10,11,12,13"},
};

static void run_set(const char *name, const char *const *docs, size_t ndocs,
                    const struct set_case *sc, size_t ncases)
{
    for (size_t c = 0; c < ncases; c++) {
        bson_t *f = parse(sc[c].filter);
        docstore_matcher_t *m = NULL;
        docstore_error_t err = {0};
        if (f == NULL || docstore_matcher_new(f, &m, &err) != 0) {
            harness_failures++;
            fprintf(stderr, "%s %zu: %s: %s\n", name, c, sc[c].filter, err.msg);
        } else {
            char got[256] = "";
            for (size_t i = 0; i < ndocs; i++) {
                bson_t *d = parse(docs[i]);
                bson_iter_t it;
                if (d != NULL && docstore_matcher_matches(m, d, NULL) &&
                    bson_iter_init_find(&it, d, "_id")) {
                    size_t len = strlen(got);
                    snprintf(got + len, sizeof got - len, "%s%d", len ? "," : "",
                             bson_iter_int32(&it));
                }
                if (d != NULL)
                    bson_destroy(d);
            }
            if (strcmp(got, sc[c].want) != 0) {
                harness_failures++;
                fprintf(stderr, "%s %zu: %s matched [%s], expected [%s]\n", name, c, sc[c].filter,
                        got, sc[c].want);
            }
        }
        docstore_error_clear(&err);
        docstore_matcher_free(m);
        if (f != NULL)
            bson_destroy(f);
    }
}

#define RUN_SET(n)                                                                                 \
    run_set(#n, n##_docs, sizeof n##_docs / sizeof n##_docs[0], n##_cases,                         \
            sizeof n##_cases / sizeof n##_cases[0])

static void test_mongodb_data_sets(void)
{
    RUN_SET(numeric);
    RUN_SET(regex);
    RUN_SET(nested);
    RUN_SET(nulls);
    RUN_SET(elemvalue);
    RUN_SET(elemobj);
    RUN_SET(elemempty);
}

static void test_cases(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct match_case *c = &cases[i];
        bson_t *f = parse(c->filter), *d = parse(c->doc);
        docstore_matcher_t *m = NULL;
        docstore_error_t err = {0};
        if (f == NULL || d == NULL) {
            /* counted by parse */
        } else if (docstore_matcher_new(f, &m, &err) != 0) {
            harness_failures++;
            fprintf(stderr, "case %zu: filter %s failed to compile: %s\n", i, c->filter, err.msg);
        } else {
            int32_t pos = 99;
            bool got = docstore_matcher_matches(m, d, &pos);
            if ((int)got != c->want) {
                harness_failures++;
                fprintf(stderr, "case %zu: %s on %s: matched=%d, expected %d\n", i, c->filter,
                        c->doc, got, c->want);
            } else if (c->want && c->pos != NOPOS && pos != c->pos) {
                harness_failures++;
                fprintf(stderr, "case %zu: %s on %s: array_pos=%d, expected %d\n", i, c->filter,
                        c->doc, pos, c->pos);
            }
            /* the answer does not depend on asking for the position */
            if (docstore_matcher_matches(m, d, NULL) != got) {
                harness_failures++;
                fprintf(stderr, "case %zu: answer changes without array_pos\n", i);
            }
        }
        docstore_error_clear(&err);
        docstore_matcher_free(m);
        if (f)
            bson_destroy(f);
        if (d)
            bson_destroy(d);
    }
}

struct error_case {
    const char *filter;
    int code;
    const char *msg; /* exact errmsg */
};

static const struct error_case errors[] = {
    {"{\"a\": {\"$foo\": 1}}", 2, "unknown operator: $foo"},
    {"{\"$foo\": 1}", 2, "unknown top level operator: $foo"},
    {"{\"a\": {\"$gt\": 1, \"b\": 2}}", 2, "unknown operator: b"},
    {"{\"$and\": []}", 2, "$and/$or/$nor must be a nonempty array"},
    {"{\"$or\": 1}", 2, "$or must be an array"},
    {"{\"$or\": [1]}", 2, "$or/$and/$nor entries need to be full objects"},
    {"{\"a\": {\"$in\": 1}}", 2, "$in needs an array"},
    {"{\"a\": {\"$nin\": {}}}", 2, "$nin needs an array"},
    {"{\"a\": {\"$all\": 1}}", 2, "$all needs an array"},
    {"{\"a\": {\"$size\": \"x\"}}", 2, "$size needs a number"},
    {"{\"a\": {\"$size\": -1}}", 2, "$size may not be negative"},
    {"{\"a\": {\"$size\": 1.5}}", 2, "$size must be a whole number"},
    {"{\"a\": {\"$mod\": 4}}", 2, "malformed mod, needs to be an array"},
    {"{\"a\": {\"$mod\": [4]}}", 2, "malformed mod, not enough elements"},
    {"{\"a\": {\"$mod\": [4, 1, 2]}}", 2, "malformed mod, too many elements"},
    {"{\"a\": {\"$mod\": [\"x\", 1]}}", 2, "malformed mod, divisor not a number"},
    {"{\"a\": {\"$mod\": [0, 1]}}", 2, "divisor cannot be 0"},
    {"{\"a\": {\"__type\": \"foo\"}}", 2, "Unknown type name alias: foo"},
    {"{\"a\": {\"__type\": 100}}", 2, "Invalid numerical type code: 100"},
    {"{\"a\": {\"__regex\": \"(\"}}", 51091, NULL},
    {"{\"a\": {\"__regex\": 1}}", 2, "$regex has to be a string"},
    {"{\"a\": {\"__options\": \"i\"}}", 2, "$options needs a $regex"},
    {"{\"a\": {\"__regex\": \"a\", \"__options\": \"q\"}}", 2, "invalid flag in regex options: q"},
    {"{\"a\": {\"__regex\": {\"$regularExpression\": {\"pattern\": \"a\", \"options\": \"i\"}}, "
     "\"__options\": \"m\"}}",
     2, "options set in both $regex and $options"},
    {"{\"a\": {\"$not\": 1}}", 2, "$not needs a regex or a document"},
    {"{\"a\": {\"$not\": {}}}", 2, "$not cannot be empty"},
    {"{\"a\": {\"$elemMatch\": 1}}", 2, "$elemMatch needs an Object"},
    {"{\"a\": {\"$elemMatch\": {\"b\": {\"$bad\": 1}}}}", 2, "unknown operator: $bad"},
    {"{\"a\": {\"$all\": [{\"$elemMatch\": {\"b\": 1}}, 1]}}", 2,
     "$all/$elemMatch has to be consistent"},
    {"{\"a\": {\"$eq\": {\"$undefined\": true}}}", 2, "cannot compare to undefined"},
    {"{\"a\": {\"$elemMatch\": {\"$expr\": true}}}", 2,
     "$expr can only be applied to the top-level document"},
    {"{\"a\": {\"$ne\": {\"$regularExpression\": {\"pattern\": \"a\", \"options\": \"\"}}}}", 2,
     "Can't have regex as arg to $ne."},
    {"{\"$where\": \"1\"}", 238, "$where is not supported by the docstore"},
    {"{\"a\": {\"$near\": [1, 2]}}", 238, "$near is not supported by the docstore"},
    {"{\"a..b\": 1}", 2, "FieldPath field names may not be empty strings."},
};

static void test_errors(void)
{
    for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++) {
        const struct error_case *c = &errors[i];
        bson_t *f = parse(c->filter);
        if (f == NULL)
            continue;
        docstore_matcher_t *m = NULL;
        docstore_error_t err = {0};
        int rc = docstore_matcher_new(f, &m, &err);
        if (rc != -1 || m != NULL || err.code != c->code ||
            (c->msg != NULL && strcmp(err.msg, c->msg) != 0)) {
            harness_failures++;
            fprintf(stderr, "error case %zu: %s: rc=%d code=%d msg=\"%s\", expected %d \"%s\"\n", i,
                    c->filter, rc, err.code, err.msg, c->code, c->msg ? c->msg : "*");
        }
        docstore_error_clear(&err);
        docstore_matcher_free(m);
        bson_destroy(f);
    }
}

static void test_is_empty(void)
{
    const char *filters[] = {"{}", "{\"$comment\": \"x\"}", "{\"a\": 1}"};
    bool want[] = {true, true, false};
    for (size_t i = 0; i < 3; i++) {
        bson_t *f = parse(filters[i]);
        docstore_matcher_t *m = NULL;
        docstore_error_t err = {0};
        CHECK_INT(docstore_matcher_new(f, &m, &err), 0);
        if (m != NULL)
            CHECK_INT(docstore_matcher_is_empty(m), want[i]);
        docstore_matcher_free(m);
        bson_destroy(f);
    }
}

/* The matcher keeps its own copy of the filter. */
static void test_filter_copied(void)
{
    bson_t *f = parse("{\"a\": {\"$in\": [\"x\", \"y\"]}, \"b\": \"z\"}");
    bson_t *d = parse("{\"a\": \"y\", \"b\": \"z\"}");
    docstore_matcher_t *m = NULL;
    docstore_error_t err = {0};
    CHECK_INT(docstore_matcher_new(f, &m, &err), 0);
    bson_destroy(f);
    CHECK(m != NULL && docstore_matcher_matches(m, d, NULL));
    docstore_matcher_free(m);
    bson_destroy(d);
}

/* A regex that hits PCRE2's match limit is an error (51156), not "no match";
 * a regex that matches in bounds leaves the status clean. */
static void test_regex_limit(void)
{
    bson_t *f = parse("{\"s\": {\"__regex\": \"^(a+)+$|c$\"}}");
    bson_t *evil = parse("{\"s\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab\"}");
    bson_t *fine = parse("{\"s\": \"aaac\"}");
    docstore_matcher_t *m = NULL;
    docstore_error_t err = {0};
    CHECK_INT(docstore_matcher_new(f, &m, &err), 0);
    if (m != NULL) {
        CHECK(docstore_matcher_matches(m, fine, NULL));
        CHECK_INT(docstore_matcher_status(m, &err), 0);
        (void)docstore_matcher_matches(m, evil, NULL);
        CHECK_INT(docstore_matcher_status(m, &err), -1);
        CHECK_INT(err.code, DOCSTORE_LOCATION_51156);
        CHECK(strstr(err.msg, "match limit") != NULL);
        docstore_error_clear(&err);
    }
    docstore_matcher_free(m);
    bson_destroy(f);
    bson_destroy(evil);
    bson_destroy(fine);
}

int main(void)
{
    RUN(test_cases);
    RUN(test_mongodb_data_sets);
    RUN(test_errors);
    RUN(test_is_empty);
    RUN(test_filter_copied);
    RUN(test_regex_limit);
    return TEST_REPORT();
}
