/*
 * libFuzzer target: aggregation pipelines and expressions on arbitrary BSON.
 * The input is BSON documents back to back: a pipeline ({"0": stage, ...}),
 * then up to eight input documents, which the $lookup/$unionWith reader also
 * returns as the "other" collection. The pipeline must compile or fail with
 * an error, and run to valid BSON or an error; the value of the pipeline
 * document's first field is also compiled and evaluated as an expression.
 */
#include "docstore/query/expr.h"
#include "docstore/agg/pipeline.h"

#include "fuzz_bson_input.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
    if (!fuzz_next_doc(&data, &size, &pipeline))
        return 0;
    in.n = 0;
    while (in.n < 8 && fuzz_next_doc(&data, &size, &in.docs[in.n]))
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
