/* Unit tests of collations (query/collation.c) and of the matcher and sort
 * running under one: strength 1-3, caseLevel, numericOrdering, "simple",
 * the refusals, and $in/$eq/$gt/sort with a collation against bytes. */
#include "harness.h"
#include "docstore/query/collation.h"
#include "docstore/query/match.h"
#include "docstore/query/sort.h"
#include "docstore/query/value.h"

#include <string.h>

static docstore_collation_t *coll_of(const char *json, int want_code)
{
    bson_error_t be;
    bson_t *spec = bson_new_from_json((const uint8_t *)json, -1, &be);
    CHECK(spec != NULL);
    docstore_collation_t *c = NULL;
    docstore_error_t err = {0};
    int rc = docstore_collation_new(spec, &c, &err);
    CHECK_INT(rc, want_code ? -1 : 0);
    if (want_code)
        CHECK_INT(err.code, want_code);
    docstore_error_clear(&err);
    bson_destroy(spec);
    return c;
}

static int cmp(const docstore_collation_t *c, const char *a, const char *b)
{
    return docstore_collation_compare(c, a, strlen(a), b, strlen(b));
}

static void test_strengths(void)
{
    docstore_collation_t *s1 = coll_of("{\"locale\": \"en\", \"strength\": 1}", 0);
    docstore_collation_t *s2 = coll_of("{\"locale\": \"en\", \"strength\": 2}", 0);
    docstore_collation_t *s3 = coll_of("{\"locale\": \"en\"}", 0);
    docstore_collation_t *cl =
        coll_of("{\"locale\": \"en\", \"strength\": 1, \"caseLevel\": true}", 0);
    CHECK(s1 && s2 && s3 && cl);
    CHECK_INT(cmp(s1, "cafe", "Café"), 0); /* base letters only */
    CHECK(cmp(s2, "cafe", "café") < 0);    /* accents count */
    CHECK_INT(cmp(s2, "café", "CAFÉ"), 0); /* case does not */
    CHECK(cmp(s3, "cafe", "Cafe") < 0);    /* case counts: lower first */
    CHECK(cmp(cl, "cafe", "Cafe") < 0);    /* caseLevel: case without accents */
    CHECK_INT(cmp(cl, "cafe", "café"), 0);
    CHECK(cmp(s2, "apple", "Banana") < 0); /* bytes would say B < a */
    CHECK(cmp(NULL, "apple", "Banana") > 0);
    docstore_collation_free(s1);
    docstore_collation_free(s2);
    docstore_collation_free(s3);
    docstore_collation_free(cl);
}

static void test_numeric_and_refusals(void)
{
    docstore_collation_t *num = coll_of("{\"locale\": \"en\", \"numericOrdering\": true}", 0);
    CHECK(num != NULL);
    CHECK(cmp(num, "item2", "item10") < 0);
    CHECK(cmp(NULL, "item2", "item10") > 0);
    docstore_collation_free(num);
    CHECK(coll_of("{\"locale\": \"simple\"}", 0) == NULL);
    coll_of("{\"strength\": 2}", 40414);
    coll_of("{\"locale\": \"en\", \"strength\": 9}", 2);
    coll_of("{\"locale\": \"en\", \"colour\": 1}", 40415);
    coll_of("{\"locale\": \"xx_nowhere\"}", 2);
    coll_of("{\"locale\": \"simple\", \"strength\": 1}", 2);
    docstore_collation_t *fr = coll_of("{\"locale\": \"fr\", \"caseFirst\": \"upper\"}", 0);
    bson_t spec = BSON_INITIALIZER;
    docstore_collation_append_spec(fr, &spec);
    bson_iter_t it;
    CHECK(bson_iter_init_find(&it, &spec, "locale") &&
          strcmp(bson_iter_utf8(&it, NULL), "fr") == 0);
    CHECK(bson_iter_init_find(&it, &spec, "caseFirst") &&
          strcmp(bson_iter_utf8(&it, NULL), "upper") == 0);
    CHECK(bson_iter_init_find(&it, &spec, "strength") && bson_iter_int32(&it) == 3);
    bson_destroy(&spec);
    docstore_collation_free(fr);
}

static bool matches(const char *filter, const char *doc, const docstore_collation_t *c)
{
    bson_error_t be;
    bson_t *f = bson_new_from_json((const uint8_t *)filter, -1, &be);
    bson_t *d = bson_new_from_json((const uint8_t *)doc, -1, &be);
    docstore_matcher_t *m = NULL;
    docstore_error_t err = {0};
    CHECK_INT(docstore_matcher_new(f, &m, &err), 0);
    docstore_matcher_set_collation(m, c);
    bool r = docstore_matcher_matches(m, d, NULL);
    docstore_matcher_free(m);
    bson_destroy(f);
    bson_destroy(d);
    return r;
}

static void test_matcher(void)
{
    docstore_collation_t *ci = coll_of("{\"locale\": \"en\", \"strength\": 2}", 0);
    CHECK(matches("{\"n\": \"ALICE\"}", "{\"n\": \"alice\"}", ci));
    CHECK(!matches("{\"n\": \"ALICE\"}", "{\"n\": \"alice\"}", NULL));
    CHECK(matches("{\"n\": {\"$in\": [\"x\", \"BOB\"]}}", "{\"n\": \"bob\"}", ci));
    CHECK(!matches("{\"n\": {\"$in\": [\"x\", \"BOB\"]}}", "{\"n\": \"bob\"}", NULL));
    CHECK(matches("{\"n\": {\"$gt\": \"B\"}}", "{\"n\": \"c\"}", ci));
    CHECK(!matches("{\"n\": {\"$lt\": \"B\"}}", "{\"n\": \"c\"}", ci));
    CHECK(matches("{\"n\": {\"$lt\": \"B\"}}", "{\"n\": \"A\"}", ci));
    CHECK(matches("{\"n\": {\"$ne\": \"BOB\"}}", "{\"n\": \"bobby\"}", ci));
    CHECK(!matches("{\"n\": {\"$ne\": \"BOB\"}}", "{\"n\": \"bob\"}", ci));
    CHECK(matches("{\"a\": {\"b\": \"X\"}}", "{\"a\": {\"b\": \"x\"}}", ci)); /* inside documents */
    CHECK(matches("{\"t\": \"RED\"}", "{\"t\": [\"blue\", \"red\"]}", ci));
    CHECK(!matches("{\"n\": 1}", "{\"n\": \"1\"}", ci)); /* types still bracket */
    docstore_collation_free(ci);
}

static void test_sort(void)
{
    docstore_collation_t *ci = coll_of("{\"locale\": \"en\", \"strength\": 2}", 0);
    const char *names[] = {"bob", "Alice", "carl", "alice", "Bob"};
    bson_t *docs[5];
    for (int i = 0; i < 5; i++)
        docs[i] = BCON_NEW("n", BCON_UTF8(names[i]), "i", BCON_INT32(i));
    bson_t *spec = BCON_NEW("n", BCON_INT32(1));
    docstore_sort_t *s = NULL;
    docstore_error_t err = {0};
    CHECK_INT(docstore_sort_new(spec, &s, &err), 0);
    docstore_sort_set_collation(s, ci);
    CHECK(docstore_sort_collation(s) == ci);
    docstore_sort_docs(s, docs, 5);
    const char *want[] = {"Alice", "alice", "bob", "Bob", "carl"}; /* stable among equals */
    for (int i = 0; i < 5; i++) {
        bson_iter_t it;
        CHECK(bson_iter_init_find(&it, docs[i], "n"));
        CHECK_STR(bson_iter_utf8(&it, NULL), want[i]);
    }
    docstore_sort_free(s);
    bson_destroy(spec);
    for (int i = 0; i < 5; i++)
        bson_destroy(docs[i]);
    docstore_collation_free(ci);
}

static void test_normalize(void)
{
    docstore_collation_t *ci = coll_of("{\"locale\": \"en\", \"strength\": 2}", 0);
    bson_t *a = BCON_NEW("v", "{", "x", BCON_UTF8("ABC"), "n", BCON_INT32(1), "}");
    bson_t *b = BCON_NEW("v", "{", "x", BCON_UTF8("abc"), "n", BCON_DOUBLE(1.0), "}");
    bson_t *c = BCON_NEW("v", "{", "x", BCON_UTF8("abd"), "n", BCON_INT32(1), "}");
    bson_iter_t ia, ib, ic;
    CHECK(bson_iter_init_find(&ia, a, "v") && bson_iter_init_find(&ib, b, "v") &&
          bson_iter_init_find(&ic, c, "v"));
    bson_value_t na, nb, nc;
    docstore_error_t err = {0};
    CHECK_INT(docstore_collation_normalize(ci, bson_iter_value(&ia), &na, &err), 0);
    CHECK_INT(docstore_collation_normalize(ci, bson_iter_value(&ib), &nb, &err), 0);
    CHECK_INT(docstore_collation_normalize(ci, bson_iter_value(&ic), &nc, &err), 0);
    CHECK(docstore_value_equal(&na, &nb));  /* equal under the collation */
    CHECK(!docstore_value_equal(&na, &nc)); /* not equal */
    CHECK(!docstore_value_equal(bson_iter_value(&ia), bson_iter_value(&ib))); /* by bytes */
    bson_value_destroy(&na);
    bson_value_destroy(&nb);
    bson_value_destroy(&nc);
    bson_destroy(a);
    bson_destroy(b);
    bson_destroy(c);
    docstore_collation_free(ci);
}

int main(void)
{
    RUN(test_strengths);
    RUN(test_numeric_and_refusals);
    RUN(test_matcher);
    RUN(test_sort);
    RUN(test_normalize);
    return TEST_REPORT();
}
