/*
 * libFuzzer target: the update engine on arbitrary BSON. The input is up to
 * three BSON documents back to back: an update spec (operators, replacement,
 * or a pipeline as {"0": stage, ...}), the document to update, and array
 * filters ({"0": filter, ...}). Compiling must succeed or fail with an error,
 * never crash; a successful apply must produce valid BSON, report "changed"
 * exactly when the bytes differ, and the upsert seed must be valid too.
 */
#include "docstore/update.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every key, at every depth, is valid UTF-8: libbson's structural validation
 * can pass a malformed nested document whose keys are not, and no engine
 * can be blamed for copying such a key. String values may be anything. */
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
    return bson_validate(out, BSON_VALIDATE_NONE, NULL) && keys_ok(out, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bson_t spec, doc, filters;
    if (!next_doc(&data, &size, &spec))
        return 0;
    bool have_doc = next_doc(&data, &size, &doc);
    bool have_filters = have_doc && next_doc(&data, &size, &filters);
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
