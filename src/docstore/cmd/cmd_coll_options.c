/*
 * Collection create options: capped collections ({capped: true, size, max})
 * and the default collation; and the collation a command runs under.
 * MongoDB's rules: size is required with capped and is a byte count up to
 * 1 PB, raised to 4096 when smaller and else to a multiple of 256; max is a
 * document count (0 or absent: none); size and max without capped are
 * ignored. The storage keeps the result in its catalog and enforces it on
 * insert (storage_docs.c, st_cap_trim).
 */
#include "docstore/cmd/cmd_coll_options.h"

#include <math.h>
#include <string.h>

#define CAP_SIZE_MAX (1024LL * 1024 * 1024 * 1024 * 1024) /* 1 PB */

static int number_field(const bson_iter_t *it, const char *name, int64_t *out,
                        docstore_error_t *err)
{
    if (!BSON_ITER_HOLDS_NUMBER(it)) {
        docstore_error_set(err, DOCSTORE_TYPE_MISMATCH,
                           "BSON field 'create.%s' is the wrong type '%s', expected types "
                           "'[long, int, decimal, double]'",
                           name, bson_iter_type(it) == BSON_TYPE_UTF8 ? "string" : "other");
        return -1;
    }
    double d = bson_iter_as_double(it);
    if (isnan(d) || d < -9.2e18 || d > 9.2e18) {
        docstore_error_set(err, DOCSTORE_BAD_VALUE, "create.%s is out of range", name);
        return -1;
    }
    *out = bson_iter_as_int64(it);
    return 0;
}

static int create_collation(const bson_t *cmd, bson_t *out, docstore_error_t *err)
{
    bson_iter_t it;
    if (!bson_iter_init_find(&it, cmd, "collation"))
        return 0;
    bson_t spec;
    uint32_t len;
    const uint8_t *data;
    if (!BSON_ITER_HOLDS_DOCUMENT(&it)) {
        docstore_error_set(err, DOCSTORE_TYPE_MISMATCH,
                           "BSON field 'create.collation' is the wrong type, expected type "
                           "'object'");
        return -1;
    }
    bson_iter_document(&it, &len, &data);
    if (!bson_init_static(&spec, data, len))
        return -1;
    docstore_collation_t *c;
    if (docstore_collation_new(&spec, &c, err) != 0)
        return -1;
    if (c != NULL) {
        bson_t child;
        BSON_APPEND_DOCUMENT_BEGIN(out, "collation", &child);
        docstore_collation_append_spec(c, &child);
        bson_append_document_end(out, &child);
        docstore_collation_free(c);
    }
    return 0;
}

int docstore_create_options(const bson_t *cmd, bson_t *out, docstore_error_t *err)
{
    if (create_collation(cmd, out, err) != 0)
        return -1;
    bson_iter_t it;
    bool capped = bson_iter_init_find(&it, cmd, "capped") && bson_iter_as_bool(&it);
    if (!capped)
        return 0;
    int64_t size = 0, max = 0;
    bool has_size = bson_iter_init_find(&it, cmd, "size");
    if (has_size && number_field(&it, "size", &size, err) != 0)
        return -1;
    if (!has_size) {
        docstore_error_set(err, DOCSTORE_INVALID_OPTIONS,
                           "the 'size' field is required when 'capped' is true");
        return -1;
    }
    if (size < 0) {
        docstore_error_set(err, DOCSTORE_BAD_VALUE, "size has to be a non-negative number");
        return -1;
    }
    if (size > CAP_SIZE_MAX) {
        docstore_error_set(err, DOCSTORE_INVALID_OPTIONS,
                           "Capped collection 'size' must be less than or equal to 1 PB");
        return -1;
    }
    if (bson_iter_init_find(&it, cmd, "max") && number_field(&it, "max", &max, err) != 0)
        return -1;
    if (max < 0)
        max = 0; /* MongoDB reads a negative max as none */
    size = size <= 4096 ? 4096 : (size + 255) / 256 * 256;
    BSON_APPEND_BOOL(out, "capped", true);
    BSON_APPEND_INT64(out, "size", size);
    if (max > 0)
        BSON_APPEND_INT64(out, "max", max);
    return 0;
}

void docstore_coll_stats_capped(docstore_storage_t *st, const char *db, const char *coll,
                                bson_t *reply)
{
    bson_t opts = BSON_INITIALIZER;
    docstore_error_t ignored = {0};
    bson_iter_t it;
    bool capped = false;
    if (docstore_storage_collection_options(st, db, coll, &opts, &ignored) == 0)
        capped = bson_iter_init_find(&it, &opts, "capped") && bson_iter_as_bool(&it);
    docstore_error_clear(&ignored);
    BSON_APPEND_BOOL(reply, "capped", capped);
    if (capped) {
        int64_t max = 0, size = 0;
        if (bson_iter_init_find(&it, &opts, "max"))
            max = bson_iter_as_int64(&it);
        if (bson_iter_init_find(&it, &opts, "size"))
            size = bson_iter_as_int64(&it);
        BSON_APPEND_INT64(reply, "max", max);
        BSON_APPEND_INT64(reply, "maxSize", size);
    }
    bson_destroy(&opts);
}

static int collation_of(const bson_iter_t *field, docstore_collation_t **out, docstore_error_t *err)
{
    bson_t spec;
    uint32_t len;
    const uint8_t *data;
    if (!BSON_ITER_HOLDS_DOCUMENT(field)) {
        docstore_error_set(err, DOCSTORE_TYPE_MISMATCH,
                           "BSON field 'collation' is the wrong type, expected type 'object'");
        return -1;
    }
    bson_iter_document(field, &len, &data);
    if (!bson_init_static(&spec, data, len)) {
        docstore_error_set(err, DOCSTORE_BAD_VALUE, "invalid collation");
        return -1;
    }
    return docstore_collation_new(&spec, out, err);
}

const bson_t *docstore_cmd_collation_spec(const docstore_collation_t *c, bson_t *spec)
{
    if (c == NULL)
        return NULL;
    bson_init(spec);
    docstore_collation_append_spec(c, spec);
    return spec;
}

int docstore_cmd_collation(docstore_storage_t *st, const char *db, const char *coll,
                           const bson_t *cmd, docstore_collation_t **out, docstore_error_t *err)
{
    *out = NULL;
    bson_iter_t it;
    if (bson_iter_init_find(&it, cmd, "collation"))
        return collation_of(&it, out, err);
    if (coll == NULL)
        return 0;
    bson_t opts = BSON_INITIALIZER;
    docstore_error_t ignored = {0};
    int rc = 0;
    if (docstore_storage_collection_options(st, db, coll, &opts, &ignored) == 0 &&
        bson_iter_init_find(&it, &opts, "collation"))
        rc = collation_of(&it, out, err);
    docstore_error_clear(&ignored);
    bson_destroy(&opts);
    return rc;
}
