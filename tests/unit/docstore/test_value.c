/*
 * Unit tests of value.c: MongoDB's cross-type comparison order, exact numeric
 * comparison across int32/int64/double/decimal128, NaN, document and array
 * comparison (field order matters), dotted-path lookup and $type names.
 * Values are written as canonical extended JSON so each case reads as MongoDB
 * documents them.
 */
#include "harness.h"
#include "docstore/query/value.h"

#include <stdlib.h>

/* Parses {"v": <json>} and returns the document (caller destroys). */
static bson_t *doc_of(const char *json_value)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "{\"v\": %s}", json_value);
    bson_error_t e;
    bson_t *d = bson_new_from_json((const uint8_t *)buf, -1, &e);
    if (d == NULL)
        fprintf(stderr, "bad test JSON %s: %s\n", buf, e.message);
    return d;
}

/* Compares the "v" values of two JSON snippets. */
static int cmp_json(const char *a, const char *b)
{
    bson_t *da = doc_of(a), *db = doc_of(b);
    if (da == NULL || db == NULL) {
        harness_failures++;
        return 99;
    }
    bson_iter_t ia, ib;
    bson_iter_init_find(&ia, da, "v");
    bson_iter_init_find(&ib, db, "v");
    int c = docstore_value_compare(bson_iter_value(&ia), bson_iter_value(&ib));
    bson_destroy(da);
    bson_destroy(db);
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

/* Strictly ascending, one value per type rank, as the manual's comparison order lists them. */
static const char *type_order[] = {
    "{\"$minKey\": 1}",
    "null",
    "{\"$numberDouble\": \"NaN\"}",
    "{\"$numberDouble\": \"-Infinity\"}",
    "-5",
    "{\"$numberLong\": \"3\"}",
    "3.5",
    "{\"$numberDecimal\": \"4\"}",
    "{\"$numberDouble\": \"Infinity\"}",
    "\"\"",
    "\"A\"",
    "\"a\"",
    "\"ab\"",
    "{}",
    "{\"a\": 1}",
    "[]",
    "[1]",
    "{\"$binary\": {\"base64\": \"AQ==\", \"subType\": \"80\"}}",
    "{\"$binary\": {\"base64\": \"AAA=\", \"subType\": \"00\"}}",
    "{\"$binary\": {\"base64\": \"AQA=\", \"subType\": \"00\"}}",
    "{\"$binary\": {\"base64\": \"AAA=\", \"subType\": \"04\"}}",
    "{\"$oid\": \"000000000000000000000000\"}",
    "{\"$oid\": \"ffffffffffffffffffffffff\"}",
    "false",
    "true",
    "{\"$date\": {\"$numberLong\": \"-1\"}}",
    "{\"$date\": {\"$numberLong\": \"0\"}}",
    "{\"$timestamp\": {\"t\": 1, \"i\": 5}}",
    "{\"$timestamp\": {\"t\": 2, \"i\": 1}}",
    "{\"$regularExpression\": {\"pattern\": \"a\", \"options\": \"\"}}",
    "{\"$regularExpression\": {\"pattern\": \"a\", \"options\": \"i\"}}",
    "{\"$regularExpression\": {\"pattern\": \"b\", \"options\": \"\"}}",
    "{\"$maxKey\": 1}",
};

static void test_type_order(void)
{
    size_t n = sizeof type_order / sizeof type_order[0];
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            int want = i < j ? -1 : (i > j ? 1 : 0);
            int got = cmp_json(type_order[i], type_order[j]);
            if (got != want) {
                harness_failures++;
                fprintf(stderr, "compare(%s, %s) = %d, expected %d\n", type_order[i], type_order[j],
                        got, want);
            }
        }
}

struct cmp_case {
    const char *a, *b;
    int want;
};

static const struct cmp_case cmp_cases[] = {
    /* numbers compare by value across types */
    {"1", "{\"$numberLong\": \"1\"}", 0},
    {"1", "1.0", 0},
    {"{\"$numberDecimal\": \"1.0\"}", "1", 0},
    {"{\"$numberDouble\": \"-0.0\"}", "0", 0},
    {"{\"$numberDouble\": \"NaN\"}", "{\"$numberDouble\": \"NaN\"}", 0},
    {"{\"$numberDecimal\": \"NaN\"}", "{\"$numberDouble\": \"NaN\"}", 0},
    {"{\"$numberDecimal\": \"NaN\"}", "{\"$numberDouble\": \"-Infinity\"}", -1},
    /* int64 beyond 2^53 compared without rounding through double */
    {"{\"$numberLong\": \"9007199254740993\"}", "9007199254740992.0", 1},
    {"{\"$numberLong\": \"9007199254740992\"}", "9007199254740992.0", 0},
    {"{\"$numberLong\": \"9223372036854775807\"}", "9223372036854775808.0", -1},
    {"{\"$numberLong\": \"-9223372036854775808\"}", "-9223372036854775808.0", 0},
    {"{\"$numberLong\": \"2\"}", "2.5", -1},
    {"{\"$numberLong\": \"-2\"}", "-2.5", 1},
    {"{\"$numberLong\": \"9223372036854775807\"}", "{\"$numberLong\": \"9223372036854775806\"}", 1},
    {"{\"$numberDecimal\": \"0.1\"}", "0.2", -1},
    /* null and undefined are one value; missing too */
    {"null", "{\"$undefined\": true}", 0},
    /* symbol compares as a string */
    {"{\"$symbol\": \"abc\"}", "\"abc\"", 0},
    {"\"abc\"", "\"abd\"", -1},
    {"\"ab\\u0000c\"", "\"ab\"", 1},
    /* documents: field by field, type rank before field name, then name, then value */
    {"{\"a\": 1, \"b\": 2}", "{\"b\": 2, \"a\": 1}", -1},
    {"{\"a\": 1, \"b\": 2}", "{\"a\": 1, \"b\": 2}", 0},
    {"{\"a\": 1}", "{\"a\": 1.0}", 0},
    {"{\"a\": 1}", "{\"a\": 1, \"b\": null}", -1},
    {"{\"b\": 1}", "{\"a\": \"x\"}", -1},
    {"{\"a\": {\"b\": [1, 2]}}", "{\"a\": {\"b\": [1, 3]}}", -1},
    /* arrays: element by element, shorter prefix first */
    {"[1, 2]", "[1, 2, 0]", -1},
    {"[2]", "[1, 5]", 1},
    {"[[1]]", "[[1], 1]", -1},
    {"[null]", "[]", 1},
    /* regex options compared after the pattern */
    {"{\"$regularExpression\": {\"pattern\": \"a\", \"options\": \"im\"}}",
     "{\"$regularExpression\": {\"pattern\": \"a\", \"options\": \"im\"}}", 0},
};

static void test_compare_cases(void)
{
    for (size_t i = 0; i < sizeof cmp_cases / sizeof cmp_cases[0]; i++) {
        const struct cmp_case *c = &cmp_cases[i];
        int got = cmp_json(c->a, c->b);
        int back = cmp_json(c->b, c->a);
        if (got != c->want || back != -c->want) {
            harness_failures++;
            fprintf(stderr, "compare(%s, %s) = %d / reverse %d, expected %d\n", c->a, c->b, got,
                    back, c->want);
        }
    }
}

static void test_doc_compare_and_equal(void)
{
    bson_t *a = bson_new_from_json((const uint8_t *)"{\"x\": 1, \"y\": [1, {\"z\": 2}]}", -1, NULL);
    bson_t *b =
        bson_new_from_json((const uint8_t *)"{\"x\": 1.0, \"y\": [1, {\"z\": 2}]}", -1, NULL);
    bson_t *c = bson_new_from_json((const uint8_t *)"{\"y\": [1, {\"z\": 2}], \"x\": 1}", -1, NULL);
    CHECK_INT(docstore_doc_compare(a, b), 0);
    CHECK(docstore_doc_compare(a, c) != 0);
    CHECK(docstore_doc_compare(a, c) == -docstore_doc_compare(c, a) ||
          (docstore_doc_compare(a, c) < 0) != (docstore_doc_compare(c, a) < 0));
    bson_iter_t ia, ib;
    CHECK(bson_iter_init_find(&ia, a, "y") && bson_iter_init_find(&ib, b, "y"));
    CHECK(docstore_value_equal(bson_iter_value(&ia), bson_iter_value(&ib)));
    bson_destroy(a);
    bson_destroy(b);
    bson_destroy(c);
}

struct path_case {
    const char *doc, *path;
    const char *want; /* JSON of {"v": value}, or NULL when absent */
};

static const struct path_case path_cases[] = {
    {"{\"a\": 1}", "a", "1"},
    {"{\"a\": {\"b\": {\"c\": \"x\"}}}", "a.b.c", "\"x\""},
    {"{\"a\": {\"b\": 1}}", "a.c", NULL},
    {"{\"a\": [10, 20, 30]}", "a.1", "20"},
    {"{\"a\": [10, 20, 30]}", "a.3", NULL},
    {"{\"a\": [{\"b\": 1}, {\"b\": 2}]}", "a.1.b", "2"},
    /* no implicit traversal: a.b over an array of documents is absent */
    {"{\"a\": [{\"b\": 1}, {\"b\": 2}]}", "a.b", NULL},
    {"{\"a\": 5}", "a.b", NULL},
    {"{\"a\": {\"0\": \"zero\"}}", "a.0", "\"zero\""},
    {"{\"a\": null}", "a", "null"},
    {"{\"ab\": 1, \"a\": {\"b\": 2}}", "a.b", "2"},
    {"{}", "a", NULL},
};

static void test_path_get(void)
{
    for (size_t i = 0; i < sizeof path_cases / sizeof path_cases[0]; i++) {
        const struct path_case *c = &path_cases[i];
        bson_t *doc = bson_new_from_json((const uint8_t *)c->doc, -1, NULL);
        CHECK(doc != NULL);
        if (doc == NULL)
            continue;
        bson_iter_t it;
        bool found = docstore_path_get(doc, c->path, &it);
        if (found != (c->want != NULL)) {
            harness_failures++;
            fprintf(stderr, "path_get(%s, %s) found=%d\n", c->doc, c->path, found);
        } else if (found) {
            bson_t *w = doc_of(c->want);
            bson_iter_t wi;
            bson_iter_init_find(&wi, w, "v");
            if (!docstore_value_equal(bson_iter_value(&it), bson_iter_value(&wi)) ||
                bson_iter_type(&it) != bson_iter_type(&wi)) {
                harness_failures++;
                fprintf(stderr, "path_get(%s, %s) wrong value\n", c->doc, c->path);
            }
            bson_destroy(w);
        }
        bson_destroy(doc);
    }
}

static void test_as_double_and_names(void)
{
    bson_value_t v;
    double d = 0;
    v.value_type = BSON_TYPE_INT64;
    v.value.v_int64 = 42;
    CHECK(docstore_value_as_double(&v, &d) && d == 42.0);
    v.value_type = BSON_TYPE_UTF8;
    CHECK(!docstore_value_as_double(&v, &d));
    bson_t *dd = doc_of("{\"$numberDecimal\": \"2.5\"}");
    bson_iter_t it;
    bson_iter_init_find(&it, dd, "v");
    CHECK(docstore_value_as_double(bson_iter_value(&it), &d) && d == 2.5);
    bson_destroy(dd);
    CHECK_STR(docstore_type_name(BSON_TYPE_DOUBLE), "double");
    CHECK_STR(docstore_type_name(BSON_TYPE_UTF8), "string");
    CHECK_STR(docstore_type_name(BSON_TYPE_DOCUMENT), "object");
    CHECK_STR(docstore_type_name(BSON_TYPE_ARRAY), "array");
    CHECK_STR(docstore_type_name(BSON_TYPE_BINARY), "binData");
    CHECK_STR(docstore_type_name(BSON_TYPE_OID), "objectId");
    CHECK_STR(docstore_type_name(BSON_TYPE_BOOL), "bool");
    CHECK_STR(docstore_type_name(BSON_TYPE_DATE_TIME), "date");
    CHECK_STR(docstore_type_name(BSON_TYPE_NULL), "null");
    CHECK_STR(docstore_type_name(BSON_TYPE_REGEX), "regex");
    CHECK_STR(docstore_type_name(BSON_TYPE_INT32), "int");
    CHECK_STR(docstore_type_name(BSON_TYPE_INT64), "long");
    CHECK_STR(docstore_type_name(BSON_TYPE_DECIMAL128), "decimal");
    CHECK_STR(docstore_type_name(BSON_TYPE_TIMESTAMP), "timestamp");
    CHECK_STR(docstore_type_name(BSON_TYPE_MINKEY), "minKey");
    CHECK_STR(docstore_type_name(BSON_TYPE_MAXKEY), "maxKey");
    CHECK_STR(docstore_type_name(BSON_TYPE_CODE), "javascript");
    CHECK(docstore_type_rank(BSON_TYPE_INT32) == docstore_type_rank(BSON_TYPE_DECIMAL128));
    CHECK(docstore_type_rank(BSON_TYPE_NULL) == docstore_type_rank(BSON_TYPE_UNDEFINED));
    CHECK(docstore_type_rank(BSON_TYPE_DATE_TIME) < docstore_type_rank(BSON_TYPE_TIMESTAMP));
}

int main(void)
{
    RUN(test_type_order);
    RUN(test_compare_cases);
    RUN(test_doc_compare_and_equal);
    RUN(test_path_get);
    RUN(test_as_double_and_names);
    return TEST_REPORT();
}
