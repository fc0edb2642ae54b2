/*
 * What the docstore's update and aggregation fuzz targets share: splitting the
 * input into BSON documents that libbson validates and whose keys, at every
 * depth, are valid UTF-8 (libbson's structural validation can pass a malformed
 * nested document whose keys are not, and no engine can be blamed for copying
 * such a key; string values may be anything).
 */
#ifndef TETHER_FUZZ_BSON_INPUT_H
#define TETHER_FUZZ_BSON_INPUT_H

#include <bson/bson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static bool fuzz_keys_ok(const bson_t *b, int depth)
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
            if (!bson_init_static(&sub, data, len) || !fuzz_keys_ok(&sub, depth + 1))
                return false;
        }
    }
    return it.err_off == 0; /* iteration ended at the terminator, not at corruption */
}

/* Takes the next valid BSON document from the input. */
static bool fuzz_next_doc(const uint8_t **data, size_t *size, bson_t *out)
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
    return bson_validate(out, BSON_VALIDATE_NONE, NULL) && fuzz_keys_ok(out, 0);
}

#endif
