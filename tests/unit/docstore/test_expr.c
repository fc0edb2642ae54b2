/* Unit tests of aggregation expressions: table-driven cases in extended JSON.
 * Each case evaluates {"e": <expression>} against a document and checks the
 * exact value (type included: 3 and 3.0 differ here), that the result is
 * missing, or the MongoDB error code. */
#include "harness.h"
#include "docstore/query/expr.h"

#include <stdlib.h>

#define MISSING "MISSING"

typedef struct expr_case {
    const char *doc;    /* the document ($$ROOT) */
    const char *expr;   /* the expression, as JSON value text */
    const char *expect; /* JSON value text, MISSING, or NULL for an error */
    int code;           /* expected error code when expect is NULL */
} expr_case_t;

static const char *D = "{\"_id\": 1, \"a\": 5, \"b\": 2, \"s\": \"Hello\", \"n\": null, "
                       "\"arr\": [1, 2, 3], \"objs\": [{\"x\": 1}, {\"x\": 2}, {\"y\": 3}], "
                       "\"sub\": {\"k\": \"v\", \"deep\": {\"z\": 9}}, \"f\": 2.5, "
                       "\"l\": {\"$numberLong\": \"10\"}, "
                       "\"d\": {\"$date\": \"2021-03-04T05:06:07.089Z\"}}";

static const expr_case_t cases[] = {
    /* paths, variables, literals */
    {NULL, "\"$a\"", "5", 0},
    {NULL, "\"$sub.deep.z\"", "9", 0},
    {NULL, "\"$nope\"", MISSING, 0},
    {NULL, "\"$objs.x\"", "[1, 2]", 0},
    {NULL, "\"$arr.x\"", "[]", 0},
    {NULL, "\"$$ROOT.a\"", "5", 0},
    {NULL, "\"$$CURRENT.s\"", "\"Hello\"", 0},
    {NULL, "\"$$REMOVE\"", MISSING, 0},
    {NULL, "\"$$nosuch\"", NULL, 17276},
    {NULL, "\"$\"", NULL, 16872},
    {NULL, "{\"$literal\": \"$a\"}", "\"$a\"", 0},
    {NULL, "7", "7", 0},
    {NULL, "{\"x\": \"$a\", \"y\": \"$nope\", \"z\": [\"$b\", \"$nope\"]}",
     "{\"x\": 5, \"z\": [2, null]}", 0},
    {NULL, "{\"$foo\": 1}", NULL, 168},
    {NULL, "{\"$add\": [1, 2], \"$sub\": 1}", NULL, 15983},
    {NULL, "{\"a.b\": 1}", NULL, 16412},
    /* arithmetic */
    {NULL, "{\"$add\": [\"$a\", \"$b\", 1]}", "8", 0},
    {NULL, "{\"$add\": [\"$a\", \"$f\"]}", "7.5", 0},
    {NULL, "{\"$add\": [\"$a\", \"$l\"]}", "{\"$numberLong\": \"15\"}", 0},
    {NULL, "{\"$add\": [2147483647, 1]}", "{\"$numberLong\": \"2147483648\"}", 0},
    {NULL, "{\"$add\": [\"$a\", \"$n\"]}", "null", 0},
    {NULL, "{\"$add\": [\"$a\", \"$nope\"]}", "null", 0},
    {NULL, "{\"$add\": [\"$a\", \"$s\"]}", NULL, 16554},
    {NULL, "{\"$add\": [\"$d\", 1000]}", "{\"$date\": \"2021-03-04T05:06:08.089Z\"}", 0},
    {NULL, "{\"$add\": [\"$d\", \"$d\"]}", NULL, 16612},
    {NULL, "{\"$subtract\": [\"$a\", \"$b\"]}", "3", 0},
    {NULL, "{\"$subtract\": [\"$d\", 89]}", "{\"$date\": \"2021-03-04T05:06:07.000Z\"}", 0},
    {NULL, "{\"$subtract\": [\"$d\", \"$d\"]}", "{\"$numberLong\": \"0\"}", 0},
    {NULL, "{\"$subtract\": [\"$a\", \"$d\"]}", NULL, 16556},
    {NULL, "{\"$subtract\": [1]}", NULL, 16020},
    {NULL, "{\"$multiply\": [\"$a\", \"$b\", 2]}", "20", 0},
    {NULL, "{\"$multiply\": [\"$a\", \"$s\"]}", NULL, 16555},
    {NULL, "{\"$divide\": [\"$a\", \"$b\"]}", "2.5", 0},
    {NULL, "{\"$divide\": [4, 2]}", "2.0", 0},
    {NULL, "{\"$divide\": [\"$a\", 0]}", NULL, 2},
    {NULL, "{\"$mod\": [\"$a\", \"$b\"]}", "1", 0},
    {NULL, "{\"$mod\": [\"$a\", 0]}", NULL, 16610},
    {NULL, "{\"$mod\": [5.5, 2]}", "1.5", 0},
    {NULL, "{\"$abs\": -3}", "3", 0},
    {NULL, "{\"$abs\": \"$n\"}", "null", 0},
    {NULL, "{\"$abs\": \"$s\"}", NULL, 28765},
    {NULL, "{\"$ceil\": 2.1}", "3.0", 0},
    {NULL, "{\"$floor\": -2.1}", "-3.0", 0},
    {NULL, "{\"$round\": 2.5}", "2.0", 0},
    {NULL, "{\"$round\": 3.5}", "4.0", 0},
    {NULL, "{\"$round\": [1.2345, 2]}", "1.23", 0},
    {NULL, "{\"$round\": [1234, -2]}", "1200", 0},
    {NULL, "{\"$trunc\": -2.7}", "-2.0", 0},
    {NULL, "{\"$trunc\": 7}", "7", 0},
    /* comparison */
    {NULL, "{\"$eq\": [\"$a\", 5.0]}", "true", 0},
    {NULL, "{\"$eq\": [\"$nope\", null]}", "false", 0},
    {NULL, "{\"$ne\": [\"$a\", 5]}", "false", 0},
    {NULL, "{\"$gt\": [\"$s\", 100]}", "true", 0},
    {NULL, "{\"$lt\": [\"$n\", 0]}", "true", 0},
    {NULL, "{\"$gte\": [\"$a\", 5]}", "true", 0},
    {NULL, "{\"$lte\": [\"$a\", 4]}", "false", 0},
    {NULL, "{\"$cmp\": [\"$a\", \"$b\"]}", "1", 0},
    {NULL, "{\"$cmp\": [\"$b\", \"$a\"]}", "-1", 0},
    {NULL, "{\"$eq\": [1]}", NULL, 16020},
    /* boolean */
    {NULL, "{\"$and\": [1, \"$s\", []]}", "true", 0},
    {NULL, "{\"$and\": [1, 0]}", "false", 0},
    {NULL, "{\"$and\": []}", "true", 0},
    {NULL, "{\"$or\": [\"$n\", \"$nope\", 0]}", "false", 0},
    {NULL, "{\"$or\": [false, \"\"]}", "true", 0},
    {NULL, "{\"$not\": [\"$n\"]}", "true", 0},
    {NULL, "{\"$not\": 0.0}", "true", 0},
    /* conditional */
    {NULL, "{\"$cond\": [{\"$gt\": [\"$a\", 3]}, \"big\", \"small\"]}", "\"big\"", 0},
    {NULL, "{\"$cond\": {\"if\": \"$n\", \"then\": 1, \"else\": 2}}", "2", 0},
    {NULL, "{\"$cond\": {\"then\": 1, \"else\": 2}}", NULL, 9},
    {NULL, "{\"$cond\": [1, 2]}", NULL, 16020},
    {NULL, "{\"$ifNull\": [\"$n\", \"$nope\", \"d\"]}", "\"d\"", 0},
    {NULL, "{\"$ifNull\": [\"$a\", \"d\"]}", "5", 0},
    {NULL,
     "{\"$switch\": {\"branches\": [{\"case\": {\"$eq\": [\"$a\", 1]}, \"then\": \"one\"}, "
     "{\"case\": {\"$eq\": [\"$a\", 5]}, \"then\": \"five\"}], \"default\": \"other\"}}",
     "\"five\"", 0},
    {NULL, "{\"$switch\": {\"branches\": [{\"case\": false, \"then\": 1}], \"default\": 0}}", "0",
     0},
    {NULL, "{\"$switch\": {\"branches\": [{\"case\": false, \"then\": 1}]}}", NULL, 40066},
    {NULL, "{\"$switch\": {\"branches\": []}}", NULL, 40068},
    {NULL, "{\"$let\": {\"vars\": {\"x\": \"$a\", \"y\": 2}, \"in\": {\"$add\": [\"$$x\", \"$$y\"]}}}",
     "7", 0},
    /* strings */
    {NULL, "{\"$concat\": [\"$s\", \" \", \"w\"]}", "\"Hello w\"", 0},
    {NULL, "{\"$concat\": [\"$s\", \"$n\"]}", "null", 0},
    {NULL, "{\"$concat\": [\"$s\", 1]}", NULL, 16702},
    {NULL, "{\"$toUpper\": \"$s\"}", "\"HELLO\"", 0},
    {NULL, "{\"$toLower\": \"$s\"}", "\"hello\"", 0},
    {NULL, "{\"$toUpper\": \"$n\"}", "\"\"", 0},
    {NULL, "{\"$toUpper\": \"$a\"}", "\"5\"", 0},
    {NULL, "{\"$substr\": [\"$s\", 1, 3]}", "\"ell\"", 0},
    {NULL, "{\"$substrBytes\": [\"$s\", 3, -1]}", "\"lo\"", 0},
    {NULL, "{\"$substrBytes\": [\"$s\", 10, 2]}", "\"\"", 0},
    {NULL, "{\"$substrBytes\": [\"h\\u00e9\", 2, 1]}", NULL, 28656},
    {NULL, "{\"$substrCP\": [\"h\\u00e9llo\", 1, 2]}", "\"\\u00e9l\"", 0},
    {NULL, "{\"$strLenBytes\": \"h\\u00e9\"}", "3", 0},
    {NULL, "{\"$strLenCP\": \"h\\u00e9\"}", "2", 0},
    {NULL, "{\"$strLenBytes\": \"$a\"}", NULL, 34473},
    {NULL, "{\"$split\": [\"a,b,,c\", \",\"]}", "[\"a\", \"b\", \"\", \"c\"]", 0},
    {NULL, "{\"$split\": [\"$n\", \",\"]}", "null", 0},
    {NULL, "{\"$split\": [\"abc\", \"\"]}", NULL, 40087},
    {NULL, "{\"$split\": [1, \",\"]}", NULL, 40085},
    {NULL, "{\"$trim\": {\"input\": \"  hi \\n\"}}", "\"hi\"", 0},
    {NULL, "{\"$ltrim\": {\"input\": \"xxhixx\", \"chars\": \"x\"}}", "\"hixx\"", 0},
    {NULL, "{\"$rtrim\": {\"input\": \"xxhixx\", \"chars\": \"x\"}}", "\"xxhi\"", 0},
    {NULL, "{\"$trim\": {\"chars\": \"x\"}}", NULL, 9},
    {NULL, "{\"$trim\": \"x\"}", NULL, 9},
    {NULL, "{\"$strcasecmp\": [\"abc\", \"ABC\"]}", "0", 0},
    /* arrays */
    {NULL, "{\"$size\": \"$arr\"}", "3", 0},
    {NULL, "{\"$size\": \"$nope\"}", NULL, 17124},
    {NULL, "{\"$arrayElemAt\": [\"$arr\", 0]}", "1", 0},
    {NULL, "{\"$arrayElemAt\": [\"$arr\", -1]}", "3", 0},
    {NULL, "{\"$arrayElemAt\": [\"$arr\", 5]}", MISSING, 0},
    {NULL, "{\"$arrayElemAt\": [\"$s\", 0]}", NULL, 28689},
    {NULL, "{\"$arrayElemAt\": [\"$arr\", \"x\"]}", NULL, 28690},
    {NULL, "{\"$arrayElemAt\": [\"$arr\", 1.5]}", NULL, 28691},
    {NULL, "{\"$first\": \"$arr\"}", "1", 0},
    {NULL, "{\"$last\": \"$arr\"}", "3", 0},
    {NULL, "{\"$first\": [[]]}", MISSING, 0},
    {NULL, "{\"$in\": [2, \"$arr\"]}", "true", 0},
    {NULL, "{\"$in\": [2.0, \"$arr\"]}", "true", 0},
    {NULL, "{\"$in\": [9, \"$arr\"]}", "false", 0},
    {NULL, "{\"$in\": [2, \"$nope\"]}", NULL, 40081},
    {NULL, "{\"$isArray\": [\"$arr\"]}", "true", 0},
    {NULL, "{\"$isArray\": [\"$s\"]}", "false", 0},
    {NULL, "{\"$concatArrays\": [\"$arr\", [4], []]}", "[1, 2, 3, 4]", 0},
    {NULL, "{\"$concatArrays\": [\"$arr\", \"$nope\"]}", "null", 0},
    {NULL, "{\"$concatArrays\": [\"$arr\", 1]}", NULL, 28664},
    {NULL, "{\"$reverseArray\": \"$arr\"}", "[3, 2, 1]", 0},
    {NULL, "{\"$slice\": [\"$arr\", -2]}", "[2, 3]", 0},
    {NULL, "{\"$slice\": [\"$arr\", 1, 1]}", "[2]", 0},
    {NULL, "{\"$filter\": {\"input\": \"$arr\", \"cond\": {\"$gte\": [\"$$this\", 2]}}}", "[2, 3]",
     0},
    {NULL,
     "{\"$filter\": {\"input\": \"$arr\", \"as\": \"v\", \"cond\": {\"$ne\": [\"$$v\", 2]}, "
     "\"limit\": 1}}",
     "[1]", 0},
    {NULL, "{\"$filter\": {\"input\": \"$s\", \"cond\": true}}", NULL, 28651},
    {NULL, "{\"$filter\": {\"input\": \"$arr\"}}", NULL, 9},
    {NULL, "{\"$filter\": {\"input\": \"$nope\", \"cond\": true}}", "null", 0},
    {NULL, "{\"$map\": {\"input\": \"$arr\", \"as\": \"v\", \"in\": {\"$multiply\": [\"$$v\", 10]}}}",
     "[10, 20, 30]", 0},
    {NULL, "{\"$map\": {\"input\": \"$objs\", \"in\": \"$$this.x\"}}", "[1, 2, null]", 0},
    {NULL, "{\"$map\": {\"input\": 5, \"in\": 1}}", NULL, 16883},
    {NULL, "{\"$map\": {\"input\": \"$arr\", \"in\": 1, \"bad\": 1}}", NULL, 9},
    {NULL, "{\"$mergeObjects\": [\"$sub\", {\"k\": 1, \"new\": 2}, \"$nope\"]}",
     "{\"k\": 1, \"deep\": {\"z\": 9}, \"new\": 2}", 0},
    /* types */
    {NULL, "{\"$type\": \"$a\"}", "\"int\"", 0},
    {NULL, "{\"$type\": \"$l\"}", "\"long\"", 0},
    {NULL, "{\"$type\": \"$nope\"}", "\"missing\"", 0},
    {NULL, "{\"$type\": \"$arr\"}", "\"array\"", 0},
    {NULL, "{\"$toString\": \"$a\"}", "\"5\"", 0},
    {NULL, "{\"$toString\": \"$f\"}", "\"2.5\"", 0},
    {NULL, "{\"$toString\": \"$d\"}", "\"2021-03-04T05:06:07.089Z\"", 0},
    {NULL, "{\"$toString\": \"$n\"}", "null", 0},
    {NULL, "{\"$toString\": \"$arr\"}", NULL, 241},
    {NULL, "{\"$toInt\": \"42\"}", "42", 0},
    {NULL, "{\"$toInt\": \"4x\"}", NULL, 241},
    {NULL, "{\"$toInt\": 2.9}", "2", 0},
    {NULL, "{\"$toInt\": {\"$numberLong\": \"3000000000\"}}", NULL, 241},
    {NULL, "{\"$toInt\": true}", "1", 0},
    {NULL, "{\"$toLong\": \"$a\"}", "{\"$numberLong\": \"5\"}", 0},
    {NULL, "{\"$toLong\": \"$d\"}", "{\"$numberLong\": \"1614834367089\"}", 0},
    {NULL, "{\"$toDouble\": \"1.5\"}", "1.5", 0},
    {NULL, "{\"$toDouble\": \"$a\"}", "5.0", 0},
    {NULL, "{\"$toBool\": 0}", "false", 0},
    {NULL, "{\"$toBool\": \"\"}", "true", 0},
    {NULL, "{\"$toBool\": \"$n\"}", "null", 0},
    /* dates (UTC) */
    {NULL, "{\"$year\": \"$d\"}", "2021", 0},
    {NULL, "{\"$month\": \"$d\"}", "3", 0},
    {NULL, "{\"$dayOfMonth\": \"$d\"}", "4", 0},
    {NULL, "{\"$hour\": \"$d\"}", "5", 0},
    {NULL, "{\"$minute\": \"$d\"}", "6", 0},
    {NULL, "{\"$second\": \"$d\"}", "7", 0},
    {NULL, "{\"$millisecond\": \"$d\"}", "89", 0},
    {NULL, "{\"$dayOfWeek\": \"$d\"}", "5", 0},
    {NULL, "{\"$year\": {\"date\": \"$d\", \"timezone\": \"UTC\"}}", "2021", 0},
    {NULL, "{\"$year\": {\"date\": \"$d\", \"timezone\": \"Europe/Paris\"}}", NULL, 238},
    {NULL, "{\"$year\": \"$s\"}", NULL, 16006},
    {NULL, "{\"$year\": \"$nope\"}", "null", 0},
    {"{\"d\": {\"$date\": {\"$numberLong\": \"-1\"}}}", "{\"$year\": \"$d\"}", "1969", 0},
    /* conversions and dates, continued */
    {NULL, "{\"$toDate\": \"2021-03-04T05:06:07.089Z\"}", "{\"$date\": \"2021-03-04T05:06:07.089Z\"}",
     0},
    {NULL, "{\"$toDate\": \"2021-03-04\"}", "{\"$date\": \"2021-03-04T00:00:00.000Z\"}", 0},
    {NULL, "{\"$toDate\": \"2021-03-04T07:06:07+02:00\"}",
     "{\"$date\": \"2021-03-04T05:06:07.000Z\"}", 0},
    {NULL, "{\"$toDate\": 0}", "{\"$date\": \"1970-01-01T00:00:00.000Z\"}", 0},
    {NULL, "{\"$toDate\": \"March 4\"}", NULL, 241},
    {NULL, "{\"$dateToString\": {\"date\": \"$d\"}}", "\"2021-03-04T05:06:07.089Z\"", 0},
    {NULL, "{\"$dateToString\": {\"date\": \"$d\", \"format\": \"%Y/%m/%d %j %%\"}}",
     "\"2021/03/04 063 %\"", 0},
    {NULL, "{\"$dateToString\": {\"date\": \"$nope\", \"onNull\": \"none\"}}", "\"none\"", 0},
    {NULL, "{\"$dateToString\": {\"date\": \"$d\", \"format\": \"%Q\"}}", NULL, 18536},
    {NULL, "{\"$convert\": {\"input\": \"12\", \"to\": \"int\"}}", "12", 0},
    {NULL, "{\"$convert\": {\"input\": \"x\", \"to\": \"int\", \"onError\": -1}}", "-1", 0},
    {NULL, "{\"$convert\": {\"input\": \"$nope\", \"to\": 16, \"onNull\": 0}}", "0", 0},
    {NULL, "{\"$convert\": {\"input\": \"x\", \"to\": \"int\"}}", NULL, 241},
    {NULL, "{\"$convert\": {\"input\": 1}}", NULL, 9},
    /* list forms of accumulators and list operators */
    {NULL, "{\"$sum\": \"$arr\"}", "6", 0},
    {NULL, "{\"$sum\": [\"$a\", \"$b\", \"$s\"]}", "7", 0},
    {NULL, "{\"$sum\": \"$nope\"}", "0", 0},
    {NULL, "{\"$avg\": \"$arr\"}", "2.0", 0},
    {NULL, "{\"$avg\": \"$s\"}", "null", 0},
    {NULL, "{\"$max\": \"$arr\"}", "3", 0},
    {NULL, "{\"$min\": [\"$a\", \"$b\", \"$n\"]}", "2", 0},
    {NULL, "{\"$max\": [[]]}", "null", 0},
    {NULL, "{\"$range\": [0, 10, 3]}", "[0, 3, 6, 9]", 0},
    {NULL, "{\"$range\": [5, 0, -2]}", "[5, 3, 1]", 0},
    {NULL, "{\"$range\": [0, 5, 0]}", NULL, 34449},
    {NULL, "{\"$range\": [0, 2000000000]}", NULL, 5508500},
    {NULL, "{\"$indexOfArray\": [\"$arr\", 2]}", "1", 0},
    {NULL, "{\"$indexOfArray\": [\"$arr\", 9]}", "-1", 0},
    {NULL, "{\"$indexOfArray\": [\"$arr\", 1, 1]}", "-1", 0},
    {NULL, "{\"$indexOfBytes\": [\"$s\", \"l\"]}", "2", 0},
    {NULL, "{\"$indexOfBytes\": [\"$s\", \"l\", 3]}", "3", 0},
    {NULL, "{\"$objectToArray\": \"$sub.deep\"}", "[{\"k\": \"z\", \"v\": 9}]", 0},
    {NULL, "{\"$arrayToObject\": [[[\"a\", 1], {\"k\": \"b\", \"v\": 2}, [\"a\", 3]]]}",
     "{\"a\": 3, \"b\": 2}", 0},
    {NULL, "{\"$arrayToObject\": [[[\"a\"]]]}", NULL, 40398},
    {NULL,
     "{\"$reduce\": {\"input\": \"$arr\", \"initialValue\": 0, \"in\": {\"$add\": [\"$$value\", "
     "\"$$this\"]}}}",
     "6", 0},
    {NULL,
     "{\"$reduce\": {\"input\": [\"a\", \"b\"], \"initialValue\": \"\", \"in\": {\"$concat\": "
     "[\"$$value\", \"$$this\"]}}}",
     "\"ab\"", 0},
    {NULL, "{\"$allElementsTrue\": [[1, true, \"x\"]]}", "true", 0},
    {NULL, "{\"$allElementsTrue\": [[1, 0]]}", "false", 0},
    {NULL, "{\"$anyElementTrue\": [[0, null, false]]}", "false", 0},
    {NULL, "{\"$anyElementTrue\": 5}", NULL, 17041},
    /* more math */
    {NULL, "{\"$pow\": [2, 10]}", "1024", 0},
    {NULL, "{\"$pow\": [2, 0.5]}", "1.4142135623730951", 0},
    {NULL, "{\"$pow\": [1, 1000000000000]}", "{\"$numberLong\": \"1\"}", 0},
    {NULL, "{\"$pow\": [0, -1]}", NULL, 28764},
    {NULL, "{\"$sqrt\": 16}", "4.0", 0},
    {NULL, "{\"$exp\": 0}", "1.0", 0},
    {NULL, "{\"$ln\": 1}", "0.0", 0},
    {NULL, "{\"$log10\": 1000}", "3.0", 0},
    {NULL, "{\"$log10\": 0}", NULL, 28761},
    /* regex and replace */
    {NULL, "{\"$regexMatch\": {\"input\": \"$s\", \"regex\": \"^ *hel\", \"options\": \"i\"}}", "true",
     0},
    {NULL, "{\"$regexMatch\": {\"input\": \"$s\", \"regex\": {\"$regularExpression\": {\"pattern\": "
     "\"LLO\", \"options\": \"i\"}}}}",
     "true", 0},
    {NULL, "{\"$regexMatch\": {\"input\": \"$nope\", \"regex\": \"x\"}}", "false", 0},
    {NULL, "{\"$regexMatch\": {\"input\": 5, \"regex\": \"x\"}}", NULL, 51104},
    {NULL, "{\"$regexMatch\": {\"input\": \"a\", \"regex\": \"(\"}}", NULL, 51111},
    {NULL, "{\"$regexMatch\": {\"input\": \"a\", \"regex\": \"a\", \"options\": \"q\"}}", NULL, 51108},
    {NULL, "{\"$regexFind\": {\"input\": \"h\u00e9llo w\", \"regex\": \"(l+)(x)?o\"}}",
     "{\"match\": \"llo\", \"idx\": 2, \"captures\": [\"ll\", null]}", 0},
    {NULL, "{\"$regexFind\": {\"input\": \"abc\", \"regex\": \"z\"}}", "null", 0},
    {NULL, "{\"$regexFindAll\": {\"input\": \"a1b22\", \"regex\": \"[0-9]+\"}}",
     "[{\"match\": \"1\", \"idx\": 1, \"captures\": []}, {\"match\": \"22\", \"idx\": 3, "
     "\"captures\": []}]",
     0},
    {NULL, "{\"$regexFindAll\": {\"input\": \"ab\", \"regex\": \"x*\"}}",
     "[{\"match\": \"\", \"idx\": 0, \"captures\": []}, {\"match\": \"\", \"idx\": 1, \"captures\": "
     "[]}, {\"match\": \"\", \"idx\": 2, \"captures\": []}]",
     0},
    {NULL, "{\"$replaceOne\": {\"input\": \"a-b-c\", \"find\": \"-\", \"replacement\": \"+\"}}",
     "\"a+b-c\"", 0},
    {NULL, "{\"$replaceAll\": {\"input\": \"a-b-c\", \"find\": \"-\", \"replacement\": \"\"}}",
     "\"abc\"", 0},
    {NULL, "{\"$replaceAll\": {\"input\": \"$n\", \"find\": \"-\", \"replacement\": \"\"}}", "null",
     0},
    {NULL, "{\"$replaceAll\": {\"input\": 1, \"find\": \"-\", \"replacement\": \"\"}}", NULL, 51746},
    /* sets */
    {NULL, "{\"$setUnion\": [[1, 2, 2], [2.0, 3]]}", "[1, 2, 3]", 0},
    {NULL, "{\"$setIntersection\": [[1, 2, 3], [3, 1, 9]]}", "[1, 3]", 0},
    {NULL, "{\"$setDifference\": [[1, 2, 3], [2]]}", "[1, 3]", 0},
    {NULL, "{\"$setEquals\": [[1, 2, 2], [2, 1]]}", "true", 0},
    {NULL, "{\"$setEquals\": [[1, 2], [1]]}", "false", 0},
    {NULL, "{\"$setIsSubset\": [[1], [1, 2]]}", "true", 0},
    {NULL, "{\"$setUnion\": [[1], \"$nope\"]}", "null", 0},
    {NULL, "{\"$setUnion\": [[1], 5]}", NULL, 17044},
};

static bson_t *from_json(const char *json)
{
    bson_error_t e;
    bson_t *b = bson_new_from_json((const uint8_t *)json, -1, &e);
    if (b == NULL)
        fprintf(stderr, "bad JSON in test: %s: %s\n", json, e.message);
    return b;
}

/* Parses JSON value text by wrapping it as {"v": text}. */
static bson_t *wrap(const char *value)
{
    size_t n = strlen(value) + 16;
    char *json = malloc(n);
    snprintf(json, n, "{\"v\": %s}", value);
    bson_t *b = from_json(json);
    free(json);
    return b;
}

static void run_case(const expr_case_t *c)
{
    bson_t *doc = from_json(c->doc ? c->doc : D), *spec = wrap(c->expr);
    CHECK(doc != NULL && spec != NULL);
    if (doc == NULL || spec == NULL)
        goto out;
    bson_iter_t it;
    bson_iter_init_find(&it, spec, "v");
    docstore_error_t err = {0};
    docstore_expr_t *e = NULL;
    bson_value_t got = {.value_type = BSON_TYPE_EOD};
    int rc = docstore_expr_new(bson_iter_value(&it), &e, &err);
    if (rc == 0)
        rc = docstore_expr_eval(e, doc, NULL, &got, &err);
    if (c->expect == NULL) {
        if (rc == 0 || err.code != c->code) {
            fprintf(stderr, "expr %s: expected error %d, got rc %d code %d (%s)\n", c->expr,
                    c->code, rc, err.code, err.msg);
            harness_failures++;
        }
    } else if (rc != 0) {
        fprintf(stderr, "expr %s: unexpected error %d %s\n", c->expr, err.code, err.msg);
        harness_failures++;
    } else if (strcmp(c->expect, MISSING) == 0) {
        if (got.value_type != BSON_TYPE_EOD) {
            fprintf(stderr, "expr %s: expected missing, got type %d\n", c->expr,
                    (int)got.value_type);
            harness_failures++;
        }
    } else {
        bson_t *want = wrap(c->expect);
        bson_t have = BSON_INITIALIZER;
        if (got.value_type != BSON_TYPE_EOD)
            bson_append_value(&have, "v", 1, &got);
        bool same = want != NULL && have.len == want->len &&
                    memcmp(bson_get_data(&have), bson_get_data(want), have.len) == 0;
        if (!same) {
            char *h = bson_as_canonical_extended_json(&have, NULL);
            char *w = want ? bson_as_canonical_extended_json(want, NULL) : NULL;
            fprintf(stderr, "expr %s:\n  got  %s\n  want %s\n", c->expr, h, w ? w : "?");
            bson_free(h);
            bson_free(w);
            harness_failures++;
        }
        bson_destroy(&have);
        if (want)
            bson_destroy(want);
    }
    bson_value_destroy(&got);
    docstore_expr_free(e);
    docstore_error_clear(&err);
out:
    if (doc)
        bson_destroy(doc);
    if (spec)
        bson_destroy(spec);
}

static void test_cases(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_case(&cases[i]);
}

static void test_vars_and_truthy(void)
{
    bson_t *doc = from_json("{\"a\": 1}");
    bson_t *vars = from_json("{\"limit\": 10}");
    bson_t *spec = wrap("{\"$add\": [\"$$limit\", \"$a\"]}");
    bson_iter_t it;
    bson_iter_init_find(&it, spec, "v");
    docstore_expr_t *e = NULL;
    docstore_error_t err = {0};
    bson_value_t out;
    CHECK_INT(docstore_expr_new(bson_iter_value(&it), &e, &err), 0);
    CHECK_INT(docstore_expr_eval(e, doc, vars, &out, &err), 0);
    CHECK(out.value_type == BSON_TYPE_INT32 && out.value.v_int32 == 11);
    bson_value_destroy(&out);
    docstore_expr_free(e);

    bson_value_t v = {.value_type = BSON_TYPE_EOD};
    CHECK(!docstore_value_truthy(&v));
    v.value_type = BSON_TYPE_DOUBLE;
    v.value.v_double = 0.0;
    CHECK(!docstore_value_truthy(&v));
    v.value.v_double = 0.1;
    CHECK(docstore_value_truthy(&v));
    bson_destroy(doc);
    bson_destroy(vars);
    bson_destroy(spec);
}

static void test_deep_nesting_refused(void)
{
    /* 300 nested $abs (built directly: the JSON parser stops at 100 levels):
     * compile refuses instead of recursing without bound. */
    bson_t *spec = BCON_NEW("$abs", BCON_INT32(1));
    for (int i = 0; i < 300; i++) {
        bson_t *outer = bson_new();
        BSON_APPEND_DOCUMENT(outer, "$abs", spec);
        bson_destroy(spec);
        spec = outer;
    }
    bson_value_t v = {.value_type = BSON_TYPE_DOCUMENT};
    v.value.v_doc.data = (uint8_t *)(uintptr_t)bson_get_data(spec);
    v.value.v_doc.data_len = spec->len;
    docstore_expr_t *e = NULL;
    docstore_error_t err = {0};
    CHECK(docstore_expr_new(&v, &e, &err) != 0);
    docstore_expr_free(e);
    bson_destroy(spec);
    /* 100 levels are fine. */
    spec = BCON_NEW("$abs", BCON_INT32(-1));
    for (int i = 0; i < 99; i++) {
        bson_t *outer = bson_new();
        BSON_APPEND_DOCUMENT(outer, "$abs", spec);
        bson_destroy(spec);
        spec = outer;
    }
    v.value.v_doc.data = (uint8_t *)(uintptr_t)bson_get_data(spec);
    v.value.v_doc.data_len = spec->len;
    bson_t *doc = bson_new();
    bson_value_t out;
    CHECK_INT(docstore_expr_new(&v, &e, &err), 0);
    CHECK_INT(docstore_expr_eval(e, doc, NULL, &out, &err), 0);
    CHECK(out.value_type == BSON_TYPE_INT32 && out.value.v_int32 == 1);
    docstore_expr_free(e);
    bson_destroy(spec);
    bson_destroy(doc);
}

int main(void)
{
    RUN(test_cases);
    RUN(test_vars_and_truthy);
    RUN(test_deep_nesting_refused);
    return TEST_REPORT();
}
