/*
 * Unit tests of project.c, table-driven: a projection spec, a document, and the
 * exact document MongoDB returns (field order included), or the error. Cases
 * follow the manual's "Project Fields to Return from Query" and projection
 * operator pages ($slice, $elemMatch, positional $) and the 4.4+ rules
 * (_id included by default, mixing errors 31253/31254, path collisions).
 * Computed fields need expr.c; those cases run once expressions compile.
 */
#include "harness.h"
#include "docstore/query/project.h"
#include "docstore_test_json.h"

#include "docstore/query/expr.h"

#include <stdlib.h>

struct proj_case {
    const char *spec;
    const char *doc;
    const char *want; /* expected output */
    int pos;          /* array_pos for positional projections, else -1 */
};

#define INV                                                                                        \
    "{\"_id\": 1, \"item\": \"journal\", \"status\": \"A\", \"size\": {\"h\": 14, \"w\": 21, "     \
    "\"uom\": \"cm\"}, \"instock\": [{\"wh\": \"A\", \"qty\": 5}, {\"wh\": \"C\", \"qty\": 15}]}"

static const struct proj_case cases[] = {
    {"{}", INV, INV, -1},
    /* inclusion: _id by default, document order kept */
    {"{\"status\": 1, \"item\": 1}", INV, "{\"_id\": 1, \"item\": \"journal\", \"status\": \"A\"}",
     -1},
    {"{\"item\": 1, \"status\": 1, \"_id\": 0}", INV, "{\"item\": \"journal\", \"status\": \"A\"}",
     -1},
    {"{\"item\": true}", INV, "{\"_id\": 1, \"item\": \"journal\"}", -1},
    {"{\"item\": 5}", INV, "{\"_id\": 1, \"item\": \"journal\"}", -1},
    {"{\"_id\": 1}", INV, "{\"_id\": 1}", -1},
    {"{\"nothere\": 1}", INV, "{\"_id\": 1}", -1},
    /* exclusion, _id excludable */
    {"{\"status\": 0, \"instock\": 0}", INV,
     "{\"_id\": 1, \"item\": \"journal\", \"size\": {\"h\": 14, \"w\": 21, \"uom\": \"cm\"}}", -1},
    {"{\"_id\": 0}", "{\"_id\": 1, \"a\": 2}", "{\"a\": 2}", -1},
    {"{\"_id\": false, \"a\": false}", "{\"_id\": 1, \"a\": 2, \"b\": 3}", "{\"b\": 3}", -1},
    /* nested paths, both spellings */
    {"{\"item\": 1, \"size.uom\": 1}", INV,
     "{\"_id\": 1, \"item\": \"journal\", \"size\": {\"uom\": \"cm\"}}", -1},
    {"{\"item\": 1, \"size\": {\"uom\": 1}}", INV,
     "{\"_id\": 1, \"item\": \"journal\", \"size\": {\"uom\": \"cm\"}}", -1},
    {"{\"size.uom\": 0}", "{\"_id\": 1, \"size\": {\"h\": 14, \"uom\": \"cm\"}}",
     "{\"_id\": 1, \"size\": {\"h\": 14}}", -1},
    {"{\"a.b.c\": 1}", "{\"_id\": 1, \"a\": {\"b\": {\"c\": 1, \"d\": 2}, \"e\": 3}}",
     "{\"_id\": 1, \"a\": {\"b\": {\"c\": 1}}}", -1},
    {"{\"a.b\": 1}", "{\"_id\": 1, \"a\": 5}", "{\"_id\": 1}", -1},
    {"{\"a.b\": 0}", "{\"_id\": 1, \"a\": 5}", "{\"_id\": 1, \"a\": 5}", -1},
    {"{\"a.b\": 1}", "{\"_id\": 1, \"a\": {\"c\": 1}}", "{\"_id\": 1, \"a\": {}}", -1},
    /* through arrays of documents */
    {"{\"item\": 1, \"instock.qty\": 1}", INV,
     "{\"_id\": 1, \"item\": \"journal\", \"instock\": [{\"qty\": 5}, {\"qty\": 15}]}", -1},
    {"{\"a.b\": 1}",
     "{\"_id\": 1, \"a\": [{\"b\": 1, \"c\": 2}, 3, {\"c\": 4}, [{\"b\": 5, \"c\": 6}]]}",
     "{\"_id\": 1, \"a\": [{\"b\": 1}, {}, [{\"b\": 5}]]}", -1},
    {"{\"a.b\": 0}", "{\"_id\": 1, \"a\": [{\"b\": 1, \"c\": 2}, 3, {\"c\": 4}]}",
     "{\"_id\": 1, \"a\": [{\"c\": 2}, 3, {\"c\": 4}]}", -1},
    /* $slice */
    {"{\"a\": {\"$slice\": 2}}", "{\"_id\": 1, \"a\": [1, 2, 3], \"b\": 4}",
     "{\"_id\": 1, \"a\": [1, 2], \"b\": 4}", -1},
    {"{\"a\": {\"$slice\": -2}}", "{\"_id\": 1, \"a\": [1, 2, 3]}", "{\"_id\": 1, \"a\": [2, 3]}",
     -1},
    {"{\"a\": {\"$slice\": -5}}", "{\"_id\": 1, \"a\": [1, 2, 3]}",
     "{\"_id\": 1, \"a\": [1, 2, 3]}", -1},
    {"{\"a\": {\"$slice\": 0}}", "{\"_id\": 1, \"a\": [1, 2, 3]}", "{\"_id\": 1, \"a\": []}", -1},
    {"{\"a\": {\"$slice\": [1, 1]}}", "{\"_id\": 1, \"a\": [1, 2, 3]}", "{\"_id\": 1, \"a\": [2]}",
     -1},
    {"{\"a\": {\"$slice\": [-2, 5]}}", "{\"_id\": 1, \"a\": [1, 2, 3]}",
     "{\"_id\": 1, \"a\": [2, 3]}", -1},
    {"{\"a\": {\"$slice\": [5, 1]}}", "{\"_id\": 1, \"a\": [1, 2, 3]}", "{\"_id\": 1, \"a\": []}",
     -1},
    {"{\"a\": {\"$slice\": 1}}", "{\"_id\": 1, \"a\": \"str\"}", "{\"_id\": 1, \"a\": \"str\"}",
     -1},
    {"{\"a\": {\"$slice\": 1}, \"b\": 1}", "{\"_id\": 1, \"a\": [1, 2], \"b\": 2, \"c\": 3}",
     "{\"_id\": 1, \"a\": [1], \"b\": 2}", -1},
    {"{\"a\": {\"$slice\": 1}, \"c\": 0}", "{\"_id\": 1, \"a\": [1, 2], \"b\": 2, \"c\": 3}",
     "{\"_id\": 1, \"a\": [1], \"b\": 2}", -1},
    {"{\"x.a\": {\"$slice\": 1}}", "{\"_id\": 1, \"x\": {\"a\": [1, 2], \"b\": 1}}",
     "{\"_id\": 1, \"x\": {\"a\": [1], \"b\": 1}}", -1},
    /* $elemMatch: first matching element, field last, inclusion */
    {"{\"students\": {\"$elemMatch\": {\"school\": 102}}}",
     "{\"_id\": 1, \"zipcode\": \"63109\", \"students\": [{\"name\": \"john\", \"school\": 102, "
     "\"age\": 10}, {\"name\": \"jess\", \"school\": 102, \"age\": 11}]}",
     "{\"_id\": 1, \"students\": [{\"name\": \"john\", \"school\": 102, \"age\": 10}]}", -1},
    {"{\"students\": {\"$elemMatch\": {\"school\": 102, \"age\": {\"$gt\": 10}}}}",
     "{\"_id\": 1, \"students\": [{\"name\": \"john\", \"school\": 102, \"age\": 10}, {\"name\": "
     "\"jess\", \"school\": 102, \"age\": 11}]}",
     "{\"_id\": 1, \"students\": [{\"name\": \"jess\", \"school\": 102, \"age\": 11}]}", -1},
    {"{\"students\": {\"$elemMatch\": {\"school\": 999}}}",
     "{\"_id\": 1, \"students\": [{\"school\": 102}]}", "{\"_id\": 1}", -1},
    {"{\"s\": {\"$elemMatch\": {\"$gt\": 2}}, \"z\": 1}",
     "{\"_id\": 1, \"s\": [1, 3, 4], \"z\": 0}", "{\"_id\": 1, \"z\": 0, \"s\": [3]}", -1},
    {"{\"s\": {\"$elemMatch\": {\"$gt\": 2}}, \"z\": 0}",
     "{\"_id\": 1, \"s\": [1, 3, 4], \"y\": 5, \"z\": 0}", "{\"_id\": 1, \"y\": 5, \"s\": [3]}",
     -1},
    /* with no inclusion or exclusion: $slice makes exclusion even with $elemMatch or _id: 1 */
    {"{\"a\": {\"$slice\": 1}, \"e\": {\"$elemMatch\": {\"$gt\": 0}}}",
     "{\"_id\": 1, \"a\": [1, 2], \"b\": 2, \"e\": [0, 5]}",
     "{\"_id\": 1, \"a\": [1], \"b\": 2, \"e\": [5]}", -1},
    {"{\"_id\": 1, \"a\": {\"$slice\": 1}}", "{\"_id\": 1, \"a\": [1, 2], \"b\": 2}",
     "{\"_id\": 1, \"a\": [1], \"b\": 2}", -1},
    {"{\"_id\": 1, \"b\": 0}", "{\"_id\": 1, \"a\": 1, \"b\": 2}", "{\"_id\": 1, \"a\": 1}", -1},
    {"{\"a\": {\"$slice\": 1.9}}", "{\"_id\": 1, \"a\": [1, 2]}", "{\"_id\": 1, \"a\": [1]}", -1},
    /* positional $ with the matcher's index */
    {"{\"grades.$\": 1}", "{\"_id\": 1, \"semester\": 1, \"grades\": [70, 87, 90]}",
     "{\"_id\": 1, \"grades\": [87]}", 1},
    {"{\"a.b.$\": 1}", "{\"_id\": 1, \"a\": {\"b\": [5, 6], \"c\": 1}}",
     "{\"_id\": 1, \"a\": {\"b\": [6]}}", 1},
};

/* MongoDB's elemmatch_projection test: projection, input, output (its _id removed:
 * every spec here gets {_id: 0} added unless it names _id). */
static const struct proj_case elemmatch_cases[] = {
    {"{\"x\": {\"$elemMatch\": {\"a\": -6}}, \"_id\": 0}",
     "{\"_id\": 1, \"x\": [{\"a\": 1, \"b\": 4}, {\"a\": -6, \"c\": 3}]}",
     "{\"x\": [{\"a\": -6, \"c\": 3}]}", -1},
    {"{\"x\": {\"$elemMatch\": {\"a\": -6, \"c\": 3}}, \"_id\": 0}",
     "{\"_id\": 1, \"x\": [{\"a\": 1, \"b\": 4}, {\"a\": -6, \"c\": 3}]}",
     "{\"x\": [{\"a\": -6, \"c\": 3}]}", -1},
    {"{\"x\": {\"$elemMatch\": {\"a\": {\"$lt\": 1}}}, \"_id\": 0}",
     "{\"_id\": 1, \"x\": [{\"a\": 1, \"b\": 4}, {\"a\": -6, \"c\": 3}]}",
     "{\"x\": [{\"a\": -6, \"c\": 3}]}", -1},
    {"{\"x\": {\"$elemMatch\": {\"a\": {\"$gt\": 0, \"$lt\": 2}}}, \"_id\": 0}",
     "{\"_id\": 1, \"x\": [{\"a\": 1, \"b\": 1}, {\"a\": 1, \"b\": 2}]}",
     "{\"x\": [{\"a\": 1, \"b\": 1}]}", -1},
    {"{\"x\": {\"$elemMatch\": {\"$in\": [100, 4, -123]}}, \"_id\": 0}",
     "{\"_id\": 1, \"x\": [1, 2, 3, 4, 5]}", "{\"x\": [4]}", -1},
    {"{\"x\": {\"$elemMatch\": {\"a\": {\"$in\": [1]}}}, \"_id\": 0}",
     "{\"_id\": 1, \"x\": [{\"a\": 1, \"b\": 2}, {\"a\": 2, \"c\": 3}, {\"a\": 1, \"d\": 5}]}",
     "{\"x\": [{\"a\": 1, \"b\": 2}]}", -1},
    {"{\"x\": {\"$elemMatch\": {\"$nin\": [4, 5, 6]}}, \"_id\": 0}",
     "{\"_id\": 1, \"x\": [1, 2, 3, 4, 5]}", "{\"x\": [1]}", -1},
    {"{\"x\": {\"$elemMatch\": {\"$all\": [1]}}, \"_id\": 0}",
     "{\"_id\": 1, \"x\": [1, 2, 3, 4, 5]}", "{\"x\": [1]}", -1},
    {"{\"x\": {\"$elemMatch\": {}}, \"_id\": 0}",
     "{\"_id\": 1, \"x\": [\"string\", 123, [1, 2, 3], {\"a\": 1}]}", "{\"x\": [[1, 2, 3]]}", -1},
    {"{\"x\": {\"$elemMatch\": {}}, \"_id\": 0}",
     "{\"_id\": 1, \"x\": [\"string\", 123, {\"a\": 1}]}", "{\"x\": [{\"a\": 1}]}", -1},
    {"{\"x\": {\"$elemMatch\": {\"$elemMatch\": {\"$gt\": 5, \"$lt\": 7}}}, \"_id\": 0}",
     "{\"_id\": 1, \"x\": [[1, 2, 3], [4, 5, 6], [7, 8, 9]]}", "{\"x\": [[4, 5, 6]]}", -1},
    {"{\"x\": {\"$elemMatch\": {\"a\": \"string\"}}, \"_id\": 0}",
     "{\"_id\": 1, \"x\": [{\"a\": \"string\", \"b\": {\"$date\": {\"$numberLong\": \"7\"}}}, "
     "{\"a\": {\"$oid\": \"5f0000000000000000000001\"}, \"b\": 1.2345}, {\"a\": \"string2\", "
     "\"b\": {\"$date\": {\"$numberLong\": \"7\"}}}]}",
     "{\"x\": [{\"a\": \"string\", \"b\": {\"$date\": {\"$numberLong\": \"7\"}}}]}", -1},
    {"{\"x\": {\"$elemMatch\": {\"a\": {\"$regularExpression\": {\"pattern\": \"ring2\", "
     "\"options\": \"\"}}}}, \"_id\": 0}",
     "{\"_id\": 1, \"x\": [{\"a\": \"string\", \"b\": {\"$date\": {\"$numberLong\": \"7\"}}}, "
     "{\"a\": {\"$oid\": \"5f0000000000000000000001\"}, \"b\": 1.2345}, {\"a\": \"string2\", "
     "\"b\": {\"$date\": {\"$numberLong\": \"7\"}}}]}",
     "{\"x\": [{\"a\": \"string2\", \"b\": {\"$date\": {\"$numberLong\": \"7\"}}}]}", -1},
    {"{\"x\": {\"$elemMatch\": {\"a\": {\"__type\": 2}}}, \"_id\": 0}",
     "{\"_id\": 1, \"x\": [{\"a\": \"string\", \"b\": {\"$date\": {\"$numberLong\": \"7\"}}}, "
     "{\"a\": {\"$oid\": \"5f0000000000000000000001\"}, \"b\": 1.2345}, {\"a\": \"string2\", "
     "\"b\": {\"$date\": {\"$numberLong\": \"7\"}}}]}",
     "{\"x\": [{\"a\": \"string\", \"b\": {\"$date\": {\"$numberLong\": \"7\"}}}]}", -1},
    {"{\"x\": {\"$elemMatch\": {\"a\": {\"$ne\": 1}}}, \"_id\": 0}",
     "{\"_id\": 1, \"x\": [{\"a\": 1, \"b\": 2}, {\"a\": 2, \"c\": 3}, {\"a\": 1, \"d\": 5}]}",
     "{\"x\": [{\"a\": 2, \"c\": 3}]}", -1},
    {"{\"x\": {\"$elemMatch\": {\"d\": {\"$exists\": true}}}, \"_id\": 0}",
     "{\"_id\": 1, \"x\": [{\"a\": 1, \"b\": 2}, {\"a\": 2, \"c\": 3}, {\"a\": 1, \"d\": 5}], "
     "\"y\": [{\"aa\": 1, \"bb\": 2}, {\"aa\": 2, \"cc\": 3}, {\"aa\": 1, \"dd\": 5}]}",
     "{\"x\": [{\"a\": 1, \"d\": 5}]}", -1},
    {"{\"x\": {\"$elemMatch\": {\"a\": {\"$mod\": [2, 0]}}}, \"_id\": 0}",
     "{\"_id\": 1, \"x\": [{\"a\": 1, \"b\": 2}, {\"a\": 2, \"c\": 3}, {\"a\": 1, \"d\": 5}], "
     "\"y\": [{\"aa\": 1, \"bb\": 2}, {\"aa\": 2, \"cc\": 3}, {\"aa\": 1, \"dd\": 5}]}",
     "{\"x\": [{\"a\": 2, \"c\": 3}]}", -1},
    {"{\"_id\": 0, \"x\": {\"$elemMatch\": {\"a\": 1}}, \"y\": {\"$elemMatch\": {\"c\": 3}}}",
     "{\"_id\": 1, \"x\": [{\"a\": 1, \"b\": 2}, {\"a\": 3, \"b\": 4}], \"y\": [{\"c\": 1, \"d\": "
     "2}, {\"c\": 3, \"d\": 4}]}",
     "{\"x\": [{\"a\": 1, \"b\": 2}], \"y\": [{\"c\": 3, \"d\": 4}]}", -1},
    {"{\"x\": {\"$elemMatch\": {\"$gt\": 2, \"$lt\": 4}}, \"_id\": 0}",
     "{\"_id\": 1, \"x\": [1, 2, 4, 3, 5]}", "{\"x\": [3]}", -1},
    {"{\"x\": {\"$elemMatch\": {\"$or\": [{\"a\": {\"$eq\": 4}}, {\"$and\": [{\"a\": {\"$mod\": "
     "[12, 0]}}, {\"a\": {\"$mod\": [15, 0]}}]}]}}, \"_id\": 0}",
     "{\"_id\": 1, \"x\": [{\"a\": 1}, {\"a\": 180}, {\"a\": 4}]}", "{\"x\": [{\"a\": 180}]}", -1},
    {"{\"x\": {\"$elemMatch\": {\"$id\": \"id0\"}}, \"_id\": 0}",
     "{\"_id\": 1, \"x\": [{\"$ref\": \"otherCollection\", \"$id\": \"id0\", \"$db\": \"t\"}, "
     "{\"$ref\": \"otherCollection\", \"$id\": \"id1\", \"$db\": \"t\"}, {\"$ref\": "
     "\"otherCollection2\", \"$id\": \"id2\", \"$db\": \"t\"}]}",
     "{\"x\": [{\"$ref\": \"otherCollection\", \"$id\": \"id0\", \"$db\": \"t\"}]}", -1},
    {"{\"x\": {\"$elemMatch\": {\"$ref\": \"otherCollection2\"}}, \"_id\": 0}",
     "{\"_id\": 1, \"x\": [{\"$ref\": \"otherCollection\", \"$id\": \"id0\", \"$db\": \"t\"}, "
     "{\"$ref\": \"otherCollection\", \"$id\": \"id1\", \"$db\": \"t\"}, {\"$ref\": "
     "\"otherCollection2\", \"$id\": \"id2\", \"$db\": \"t\"}]}",
     "{\"x\": [{\"$ref\": \"otherCollection2\", \"$id\": \"id2\", \"$db\": \"t\"}]}", -1},
    {"{\"x\": {\"$elemMatch\": {\"$db\": \"t\"}}, \"_id\": 0}",
     "{\"_id\": 1, \"x\": [{\"$ref\": \"otherCollection\", \"$id\": \"id0\", \"$db\": \"t\"}, "
     "{\"$ref\": \"otherCollection\", \"$id\": \"id1\", \"$db\": \"t\"}, {\"$ref\": "
     "\"otherCollection2\", \"$id\": \"id2\", \"$db\": \"t\"}]}",
     "{\"x\": [{\"$ref\": \"otherCollection\", \"$id\": \"id0\", \"$db\": \"t\"}]}", -1},
    {"{\"x\": {\"$elemMatch\": {\"$gt\": 2}}, \"_id\": 0}",
     "{\"_id\": 1, \"x\": {\"a\": 123}, \"d\": 456}", "{}", -1},
    {"{\"x\": {\"$elemMatch\": {\"$gt\": 2}}, \"d\": 1, \"_id\": 0}",
     "{\"_id\": 1, \"x\": {\"a\": 123}, \"d\": 456}", "{\"d\": 456}", -1},
    {"{\"x\": {\"$elemMatch\": {\"$gt\": 2}}, \"d\": 0, \"_id\": 0}",
     "{\"_id\": 1, \"x\": {\"a\": 123}, \"d\": 456}", "{}", -1},
    {"{\"x\": {\"$elemMatch\": {\"$or\": [{}, {}]}}, \"_id\": 0}",
     "{\"_id\": 1, \"x\": [\"string\", 123, {\"b\": 123}]}", "{\"x\": [{\"b\": 123}]}", -1},
    {"{\"x\": {\"$elemMatch\": {\"$or\": [{}, {}]}}, \"_id\": 0}",
     "{\"_id\": 1, \"x\": [\"string\", 123, [1, 2, 3]]}", "{\"x\": [[1, 2, 3]]}", -1},
    {"{\"x\": {\"$elemMatch\": {\"$lt\": 0}}, \"_id\": 0}", "{\"_id\": 1, \"x\": [1, 2, 3]}", "{}",
     -1},
};

/* Exact equality: same fields, same order, same types. */
static bool same_doc(const bson_t *a, const bson_t *b)
{
    return a->len == b->len && memcmp(bson_get_data(a), bson_get_data(b), a->len) == 0;
}

static void run_case(size_t i, const char *spec_json, const char *doc_json, const char *want_json,
                     int pos)
{
    bson_t *spec = parse(spec_json), *doc = parse(doc_json), *want = parse(want_json);
    docstore_projection_t *p = NULL;
    docstore_error_t err = {0};
    if (spec == NULL || doc == NULL || want == NULL) {
        /* counted */
    } else if (docstore_projection_new(spec, &p, &err) != 0) {
        harness_failures++;
        fprintf(stderr, "case %zu: projection %s failed: %d %s\n", i, spec_json, err.code, err.msg);
    } else {
        bson_t out = BSON_INITIALIZER;
        int rc = pos >= 0 ? docstore_projection_apply_positional(p, doc, pos, &out, &err)
                          : docstore_projection_apply(p, doc, &out, &err);
        if (rc != 0 || !same_doc(&out, want)) {
            char *got = bson_as_relaxed_extended_json(&out, NULL);
            harness_failures++;
            fprintf(stderr, "case %zu: %s on %s\n  gave %s (rc %d %s)\n  want %s\n", i, spec_json,
                    doc_json, got, rc, err.msg, want_json);
            bson_free(got);
        }
        bson_destroy(&out);
    }
    docstore_error_clear(&err);
    docstore_projection_free(p);
    if (spec)
        bson_destroy(spec);
    if (doc)
        bson_destroy(doc);
    if (want)
        bson_destroy(want);
}

static void test_cases(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_case(i, cases[i].spec, cases[i].doc, cases[i].want, cases[i].pos);
    for (size_t i = 0; i < sizeof elemmatch_cases / sizeof elemmatch_cases[0]; i++)
        run_case(200 + i, elemmatch_cases[i].spec, elemmatch_cases[i].doc, elemmatch_cases[i].want,
                 -1);
}

/* Computed fields (find 4.4+): literals other than numbers and booleans, and
 * expressions, evaluated by expr.c; skipped while expressions are not built. */
static const struct proj_case computed[] = {
    {"{\"a\": 1, \"c\": \"$b\"}", "{\"_id\": 1, \"a\": 1, \"b\": 2}",
     "{\"_id\": 1, \"a\": 1, \"c\": 2}", -1},
    {"{\"c\": \"lit\", \"_id\": 0}", "{\"_id\": 1, \"a\": 1}", "{\"c\": \"lit\"}", -1},
    {"{\"x.y\": \"$a\", \"_id\": 0}", "{\"_id\": 1, \"a\": 7}", "{\"x\": {\"y\": 7}}", -1},
    {"{\"c\": \"$missing\"}", "{\"_id\": 1}", "{\"_id\": 1}", -1},
    {"{\"b\": 1, \"sum\": {\"$add\": [\"$a\", \"$b\"]}}", "{\"_id\": 1, \"a\": 2, \"b\": 3}",
     "{\"_id\": 1, \"b\": 3, \"sum\": 5}", -1},
    {"{\"a\": \"$b\", \"_id\": 0}", "{\"_id\": 1, \"a\": 1, \"b\": 2}", "{\"a\": 2}", -1},
    {"{\"n\": null, \"_id\": 0}", "{\"_id\": 1}", "{\"n\": null}", -1},
    {"{\"l\": [1, \"$a\"], \"_id\": 0}", "{\"_id\": 1, \"a\": 5}", "{\"l\": [1, 5]}", -1},
    {"{\"x\": {\"y\": \"$a\", \"z\": 1}}", "{\"_id\": 1, \"a\": 5, \"x\": {\"z\": 2, \"w\": 3}}",
     "{\"_id\": 1, \"x\": {\"z\": 2, \"y\": 5}}", -1},
    {"{\"lit\": {\"$literal\": 1}, \"_id\": 0}", "{\"_id\": 1}", "{\"lit\": 1}", -1},
    /* $slice not in the find() form is the aggregation expression (an inclusion) */
    {"{\"s\": {\"$slice\": [\"$arr\", 1]}}", "{\"_id\": 1, \"arr\": [4, 5], \"b\": 1}",
     "{\"_id\": 1, \"s\": [4]}", -1},
};

static void test_computed(void)
{
    static char path[] = "$a";
    bson_value_t probe = {.value_type = BSON_TYPE_UTF8};
    probe.value.v_utf8.str = path;
    probe.value.v_utf8.len = 2;
    docstore_expr_t *e = NULL;
    docstore_error_t err = {0};
    if (docstore_expr_new(&probe, &e, &err) != 0) {
        printf("expressions not built yet (%s): computed-field cases skipped\n", err.msg);
        docstore_error_clear(&err);
        return;
    }
    docstore_expr_free(e);
    for (size_t i = 0; i < sizeof computed / sizeof computed[0]; i++)
        run_case(100 + i, computed[i].spec, computed[i].doc, computed[i].want, computed[i].pos);
}

static void test_errors(void)
{
    struct {
        const char *spec;
        int code;
        const char *msg;
    } errs[] = {
        {"{\"a\": 1, \"b\": 0}", 31254, "Cannot do exclusion on field b in inclusion projection"},
        {"{\"a\": 0, \"b\": 1}", 31253, "Cannot do inclusion on field b in exclusion projection"},
        {"{\"a\": 0, \"b.c\": 1}", 31253,
         "Cannot do inclusion on field b.c in exclusion projection"},
        {"{\"a\": {\"x\": 1, \"y\": 0}}", 31254,
         "Cannot do exclusion on field a.y in inclusion projection"},
        {"{\"a\": 1, \"a.b\": 1}", 31249, "Path collision at a.b remaining portion b"},
        {"{\"x.a\": 1, \"x.a.b.c\": 1}", 31249,
         "Path collision at x.a.b.c remaining portion a.b.c"},
        {"{\"a.b\": 1, \"a\": 1}", 31250, "Path collision at a"},
        {"{\"a\": {}}", 51270, NULL},
        {"{\"a\": {\"$slice\": \"x\"}}", 31273,
         "$slice only supports numbers and [skip, limit] arrays"},
        {"{\"a\": {\"$slice\": [1]}}", 31272,
         "$slice array argument should be of form [skip, limit]"},
        {"{\"a.b\": {\"$elemMatch\": {\"x\": 1}}}", 31275,
         "Cannot use $elemMatch projection on a nested field."},
        {"{\"a\": {\"$elemMatch\": 1}}", 31274,
         "elemMatch: Invalid argument, object required, but got int"},
        {"{\"a.$\": 1, \"b\": {\"$elemMatch\": {\"x\": 1}}}", 31255,
         "Cannot specify positional operator and $elemMatch."},
        {"{\"b\": {\"$elemMatch\": {\"x\": 1}}, \"a.$\": 1}", 31256,
         "Cannot specify positional operator and $elemMatch."},
        {"{\"a.$\": {\"$slice\": 1}}", 31271,
         "positional projection cannot be used with an expression or sub object"},
        {"{\"a.$\": \"x\"}", 31308, "positional projection cannot be used with a literal"},
        {"{\"a.$.$\": 1}", 31287, "Cannot use positional operator twice: a.$.$"},
        {"{\"a\": 0, \"b\": \"x\"}", 31310,
         "Cannot use an expression { \"b\" : \"x\" } in an exclusion projection"},
        {"{\"a\": {\"$elemMatch\": {\"$foo\": 1}}}", 2, "unknown operator: $foo"},
        {"{\"a.$\": 1, \"b.$\": 1}", 31276,
         "Cannot specify more than one positional projection per query."},
        {"{\"a\": {\"$meta\": \"textScore\"}}", 238,
         "$meta projections are not supported by the docstore"},
        {"{\"$a\": 1}", 16410, NULL},
        {"{\"a\": 0, \"b\": {\"$add\": [1, 2]}}", 31252,
         "Cannot use expression other than $meta in exclusion projection"},
        {"{\"a\": \"$c\", \"b\": 0}", 31254,
         "Cannot do exclusion on field b in inclusion projection"},
    };
    for (size_t i = 0; i < sizeof errs / sizeof errs[0]; i++) {
        bson_t *spec = parse(errs[i].spec);
        docstore_projection_t *p = NULL;
        docstore_error_t err = {0};
        int rc = docstore_projection_new(spec, &p, &err);
        if (rc != -1 || p != NULL || err.code != errs[i].code ||
            (errs[i].msg != NULL && strcmp(err.msg, errs[i].msg) != 0)) {
            harness_failures++;
            fprintf(stderr, "error case %s: rc=%d code=%d msg=%s\n", errs[i].spec, rc, err.code,
                    err.msg);
        }
        docstore_error_clear(&err);
        docstore_projection_free(p);
        bson_destroy(spec);
    }
}

static void test_positional_errors(void)
{
    bson_t *spec = parse("{\"a.$\": 1}");
    bson_t *doc = parse("{\"_id\": 1, \"a\": [1, 2]}");
    docstore_projection_t *p = NULL;
    docstore_error_t err = {0};
    CHECK_INT(docstore_projection_new(spec, &p, &err), 0);
    CHECK(p != NULL && docstore_projection_is_positional(p));
    bson_t out = BSON_INITIALIZER;
    CHECK_INT(docstore_projection_apply(p, doc, &out, &err), -1);
    CHECK_INT(err.code, 51246);
    bson_destroy(&out);
    docstore_error_clear(&err);
    bson_init(&out);
    CHECK_INT(docstore_projection_apply_positional(p, doc, 5, &out, &err), -1);
    bson_destroy(&out);
    docstore_error_clear(&err);
    docstore_projection_free(p);
    bson_destroy(spec);
    bson_destroy(doc);
}

int main(void)
{
    RUN(test_cases);
    RUN(test_computed);
    RUN(test_errors);
    RUN(test_positional_errors);
    return TEST_REPORT();
}
