/*
 * libFuzzer target: the update engine on arbitrary BSON. The input is up to
 * three BSON documents back to back: an update spec (operators, replacement,
 * or a pipeline as {"0": stage, ...}), the document to update, and array
 * filters ({"0": filter, ...}). Compiling must succeed or fail with an error,
 * never crash; a successful apply must produce valid BSON, report "changed"
 * exactly when the bytes differ, and the upsert seed must be valid too.
 */
#include "docstore/update/update.h"

#include "fuzz_bson_input.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bson_t spec, doc, filters;
    if (!fuzz_next_doc(&data, &size, &spec))
        return 0;
    bool have_doc = fuzz_next_doc(&data, &size, &doc);
    bool have_filters = have_doc && fuzz_next_doc(&data, &size, &filters);
    if (!have_doc)
        bson_init(&doc);

    docstore_error_t err = {0};
    docstore_update_t *u = NULL;
    if (docstore_update_new(&spec, have_filters ? &filters : NULL, &u, &err) == 0) {
        for (int pos = -1; pos <= 1; pos++) {
            bson_t out = BSON_INITIALIZER;
            bool changed = false;
            if (docstore_update_apply(u, &doc, pos, pos == 1, &out, &changed, &err) == 0) {
                if (!bson_validate(&out, BSON_VALIDATE_NONE, NULL))
                    __builtin_trap();
                bool same = out.len == doc.len &&
                            memcmp(bson_get_data(&out), bson_get_data(&doc), doc.len) == 0;
                if (same == changed)
                    __builtin_trap();
            }
            docstore_error_clear(&err);
            bson_destroy(&out);
        }
        docstore_update_free(u);
    }
    docstore_error_clear(&err);

    bson_t seed = BSON_INITIALIZER;
    if (docstore_update_upsert_seed(&spec, &seed, &err) == 0 &&
        !bson_validate(&seed, BSON_VALIDATE_NONE, NULL))
        __builtin_trap();
    bson_destroy(&seed);
    docstore_error_clear(&err);
    if (!have_doc)
        bson_destroy(&doc);
    return 0;
}
