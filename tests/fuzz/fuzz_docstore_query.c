/*
 * libFuzzer target: the query engine (matcher, projection, sort, value order)
 * on arbitrary BSON. The input is up to three BSON documents back to back: a
 * filter / projection / sort spec, and two documents. Compiling must succeed
 * or fail with an error, never crash; whatever compiles is applied to both
 * documents, and the comparisons must be antisymmetric.
 */
#include "docstore/query/match.h"
#include "docstore/query/project.h"
#include "docstore/query/sort.h"
#include "docstore/query/value.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Takes the next valid BSON document from the input. */
static bool next_doc(const uint8_t **data, size_t *size, bson_t *out)
{
    if (*size < 5)
        return false;
    uint32_t len;
    memcpy(&len, *data, 4);
    len = BSON_UINT32_FROM_LE(len);
    if (len < 5 || len > *size || !bson_init_static(out, *data, len))
        return false;
    *data += len;
    *size -= len;
    return bson_validate(out, BSON_VALIDATE_NONE, NULL);
}

static int sign(int c)
{
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bson_t spec, a, b;
    if (!next_doc(&data, &size, &spec))
        return 0;
    bool have_a = next_doc(&data, &size, &a);
    bool have_b = have_a && next_doc(&data, &size, &b);
    if (!have_a)
        bson_init(&a);
    if (!have_b)
        bson_init(&b);

    docstore_error_t err = {0};
    docstore_matcher_t *m = NULL;
    if (docstore_matcher_new(&spec, &m, &err) == 0) {
        int32_t pos;
        bool r1 = docstore_matcher_matches(m, &a, &pos);
        if (r1 != docstore_matcher_matches(m, &a, NULL))
            __builtin_trap();
        (void)docstore_matcher_matches(m, &b, &pos);
        docstore_matcher_free(m);
    }
    docstore_error_clear(&err);

    docstore_projection_t *p = NULL;
    if (docstore_projection_new(&spec, &p, &err) == 0) {
        bson_t out = BSON_INITIALIZER;
        if (docstore_projection_apply_positional(p, &a, 0, &out, &err) == 0 &&
            !bson_validate(&out, BSON_VALIDATE_NONE, NULL))
            __builtin_trap();
        bson_destroy(&out);
        docstore_projection_free(p);
    }
    docstore_error_clear(&err);

    docstore_sort_t *s = NULL;
    if (docstore_sort_new(&spec, &s, &err) == 0) {
        if (sign(docstore_sort_compare(s, &a, &b)) != -sign(docstore_sort_compare(s, &b, &a)))
            __builtin_trap();
        bson_t *docs[3] = {&a, &b, &spec};
        docstore_sort_docs(s, docs, 3);
        docstore_sort_free(s);
    }
    docstore_error_clear(&err);

    if (sign(docstore_doc_compare(&a, &b)) != -sign(docstore_doc_compare(&b, &a)))
        __builtin_trap();
    if (docstore_doc_compare(&a, &a) != 0)
        __builtin_trap();

    if (!have_a)
        bson_destroy(&a);
    if (!have_b)
        bson_destroy(&b);
    return 0;
}
