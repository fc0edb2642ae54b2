/*
 * libFuzzer target: aggregation pipelines and expressions on arbitrary BSON.
 * The input is BSON documents back to back: a pipeline ({"0": stage, ...}),
 * then up to eight input documents, which the $lookup/$unionWith reader also
 * returns as the "other" collection. The pipeline must compile or fail with
 * an error, and run to valid BSON or an error; the value of the pipeline
 * document's first field is also compiled and evaluated as an expression.
 */
#include "docstore/expr.h"
#include "docstore/pipeline.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool keys_ok(const bson_t *b, int depth)
{
    bson_iter_t it;
    if (depth > 200 || !bson_iter_init(&it, b))
        return false;
    while (bson_iter_next(&it)) {
        if (!bson_utf8_validate(bson_iter_key(&it), bson_iter_key_len(&it), false))
            return false;
        if (BSON_ITER_HOLDS_DOCUMENT(&it) || BSON_ITER_HOLDS_ARRAY(&it)) {
            uint32_t len;
            const uint8_t *data;
            bson_t sub;
            if (BSON_ITER_HOLDS_DOCUMENT(&it))
                bson_iter_document(&it, &len, &data);
            else
                bson_iter_array(&it, &len, &data);
            if (!bson_init_static(&sub, data, len) || !keys_ok(&sub, depth + 1))
                return false;
        }
    }
    return it.err_off == 0; /* iteration ended at the terminator, not at corruption */
}

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
    return bson_validate(out, BSON_VALIDATE_NONE, NULL) && keys_ok(out, 0);
}

typedef struct inputs {
    bson_t docs[8];
    size_t n;
} inputs_t;

static int reader(void *ctx, const char *coll, docstore_doclist_t *out, docstore_error_t *err)
{
    const inputs_t *in = ctx;
    (void)coll;
    for (size_t i = 0; i < in->n; i++) {
        if (docstore_doclist_push_copy(out, &in->docs[i]) != 0) {
            docstore_error_set(err, DOCSTORE_INTERNAL_ERROR, "out of memory");
            return -1;
        }
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static inputs_t in;
    bson_t pipeline;
    if (!next_doc(&data, &size, &pipeline))
        return 0;
    in.n = 0;
    while (in.n < 8 && next_doc(&data, &size, &in.docs[in.n]))
        in.n++;

    docstore_error_t err = {0};
    docstore_pipeline_t *p = NULL;
    if (docstore_pipeline_new(&pipeline, &p, &err) == 0) {
        docstore_doclist_t docs;
        docstore_doclist_init(&docs);
        for (size_t i = 0; i < in.n; i++) {
            if (docstore_doclist_push_copy(&docs, &in.docs[i]) != 0)
                break;
        }
        if (docstore_pipeline_run(p, &docs, reader, &in, &err) == 0) {
            for (size_t i = 0; i < docs.n; i++) {
                if (!bson_validate(docs.docs[i], BSON_VALIDATE_NONE, NULL))
                    __builtin_trap();
            }
        }
        docstore_doclist_free(&docs);
        docstore_pipeline_free(p);
    }
    docstore_error_clear(&err);

    bson_iter_t it;
    if (bson_iter_init(&it, &pipeline) && bson_iter_next(&it)) {
        docstore_expr_t *e = NULL;
        if (docstore_expr_new(bson_iter_value(&it), &e, &err) == 0) {
            for (size_t i = 0; i < in.n; i++) {
                bson_value_t v;
                if (docstore_expr_eval(e, &in.docs[i], NULL, &v, &err) == 0) {
                    (void)docstore_value_truthy(&v);
                    bson_value_destroy(&v);
                }
                docstore_error_clear(&err);
            }
            docstore_expr_free(e);
        }
        docstore_error_clear(&err);
    }
    return 0;
}
