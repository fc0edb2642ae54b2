/*
 * JSON helpers shared by the docstore unit tests: parse() reads a test's JSON
 * into BSON and counts a failure when the JSON itself is bad.
 */
#ifndef TETHER_TEST_DOCSTORE_JSON_H
#define TETHER_TEST_DOCSTORE_JSON_H

#include "harness.h"

#include <bson/bson.h>

/* Copies src into dst renaming keys "__x" to "$x" at any depth: bson_new_from_json
 * reads {"$type": ...} and {"$regex": ..., "$options": ...} as legacy extended
 * JSON (binary, regex), so the tests spell those operators "__type", "__regex". */
static void copy_renaming(const bson_t *src, bson_t *dst)
{
    bson_iter_t it;
    bson_iter_init(&it, src);
    while (bson_iter_next(&it)) {
        char renamed[64];
        const char *key = bson_iter_key(&it);
        if (strncmp(key, "__", 2) == 0) {
            snprintf(renamed, sizeof renamed, "$%s", key + 2);
            key = renamed;
        }
        bson_type_t t = bson_iter_type(&it);
        if (t == BSON_TYPE_DOCUMENT || t == BSON_TYPE_ARRAY) {
            const uint8_t *data;
            uint32_t len;
            if (t == BSON_TYPE_DOCUMENT)
                bson_iter_document(&it, &len, &data);
            else
                bson_iter_array(&it, &len, &data);
            bson_t sub, child;
            bson_init_static(&sub, data, len);
            if (t == BSON_TYPE_DOCUMENT)
                bson_append_document_begin(dst, key, -1, &child);
            else
                bson_append_array_begin(dst, key, -1, &child);
            copy_renaming(&sub, &child);
            if (t == BSON_TYPE_DOCUMENT)
                bson_append_document_end(dst, &child);
            else
                bson_append_array_end(dst, &child);
        } else {
            bson_append_value(dst, key, -1, bson_iter_value(&it));
        }
    }
}

static bson_t *parse(const char *json)
{
    bson_error_t e;
    bson_t *b = bson_new_from_json((const uint8_t *)json, -1, &e);
    if (b == NULL) {
        harness_failures++;
        fprintf(stderr, "bad test JSON %s: %s\n", json, e.message);
        return NULL;
    }
    bson_t *r = bson_new();
    copy_renaming(b, r);
    bson_destroy(b);
    return r;
}

#endif
