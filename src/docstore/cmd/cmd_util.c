/* Command field helpers shared by cmd_crud.c and cmd_ddl.c; see cmd_util.h. */
#include "docstore/cmd/cmd_util.h"

#include "docstore/query/value.h"

#include <stdio.h>
#include <string.h>

int docstore_cmd_coll(const bson_t *cmd, const char **coll, docstore_error_t *err)
{
    bson_iter_t it;
    if (!bson_iter_init(&it, cmd) || !bson_iter_next(&it) || !BSON_ITER_HOLDS_UTF8(&it)) {
        docstore_error_set(err, DOCSTORE_INVALID_NAMESPACE, "collection name has invalid type %s",
                           bson_iter_key(&it) ? docstore_type_name(bson_iter_type(&it))
                                              : "missing");
        return -1;
    }
    uint32_t len;
    const char *s = bson_iter_utf8(&it, &len);
    if (len == 0 || strlen(s) != len) {
        docstore_error_set(err, DOCSTORE_INVALID_NAMESPACE, "Invalid namespace specified");
        return -1;
    }
    *coll = s;
    return 0;
}

static int typed(const bson_t *cmd, const char *cmd_name, const char *field, bson_type_t want,
                 const char *want_name, bson_t *out, bool *present, docstore_error_t *err)
{
    bson_iter_t it;
    *present = false;
    if (!bson_iter_init_find(&it, cmd, field))
        return 0;
    if (bson_iter_type(&it) != want) {
        docstore_error_set(err, DOCSTORE_TYPE_MISMATCH,
                           "BSON field '%s.%s' is the wrong type '%s', expected type '%s'",
                           cmd_name, field, docstore_type_name(bson_iter_type(&it)), want_name);
        return -1;
    }
    uint32_t len;
    const uint8_t *data;
    if (want == BSON_TYPE_ARRAY)
        bson_iter_array(&it, &len, &data);
    else
        bson_iter_document(&it, &len, &data);
    if (!bson_init_static(out, data, len)) {
        docstore_error_set(err, DOCSTORE_INVALID_BSON, "invalid BSON in field '%s'", field);
        return -1;
    }
    *present = true;
    return 0;
}

int docstore_cmd_doc(const bson_t *cmd, const char *cmd_name, const char *field, bson_t *out,
                     bool *present, docstore_error_t *err)
{
    return typed(cmd, cmd_name, field, BSON_TYPE_DOCUMENT, "object", out, present, err);
}

int docstore_cmd_array(const bson_t *cmd, const char *cmd_name, const char *field, bson_t *out,
                       bool *present, docstore_error_t *err)
{
    return typed(cmd, cmd_name, field, BSON_TYPE_ARRAY, "array", out, present, err);
}

int docstore_cmd_int64(const bson_t *cmd, const char *cmd_name, const char *field, int64_t def,
                       int64_t *out, docstore_error_t *err)
{
    bson_iter_t it;
    *out = def;
    if (!bson_iter_init_find(&it, cmd, field) || BSON_ITER_HOLDS_NULL(&it))
        return 0;
    if (!BSON_ITER_HOLDS_NUMBER(&it)) {
        docstore_error_set(err, DOCSTORE_TYPE_MISMATCH,
                           "BSON field '%s.%s' is the wrong type '%s', expected type 'long'",
                           cmd_name, field, docstore_type_name(bson_iter_type(&it)));
        return -1;
    }
    if (BSON_ITER_HOLDS_DOUBLE(&it)) {
        double d = bson_iter_double(&it);
        if (d != d || d > 9.2e18 || d < -9.2e18 || d != (double)(int64_t)d) {
            docstore_error_set(err, DOCSTORE_BAD_VALUE, "Expected an integer for '%s'", field);
            return -1;
        }
    }
    *out = bson_iter_as_int64(&it);
    return 0;
}

bool docstore_cmd_bool(const bson_t *cmd, const char *field, bool def)
{
    bson_iter_t it;
    if (!bson_iter_init_find(&it, cmd, field) || BSON_ITER_HOLDS_NULL(&it))
        return def;
    return bson_iter_as_bool(&it);
}

bool docstore_cmd_has(const bson_t *cmd, const char *field)
{
    bson_iter_t it;
    return bson_iter_init_find(&it, cmd, field);
}

void docstore_cmd_ns(char *out, size_t n, const char *db, const char *coll)
{
    snprintf(out, n, "%s.%s", db, coll);
}

int docstore_doc_with_id_first(const bson_t *doc, bson_t *out, bson_value_t *id,
                               docstore_error_t *err)
{
    bson_iter_t it;
    if (bson_iter_init_find(&it, doc, "_id")) {
        if (!bson_append_iter(out, "_id", 3, &it))
            goto fail;
    } else {
        bson_oid_t oid;
        bson_oid_init(&oid, NULL);
        if (!BSON_APPEND_OID(out, "_id", &oid))
            goto fail;
    }
    if (!bson_iter_init(&it, doc))
        goto fail;
    while (bson_iter_next(&it)) {
        if (strcmp(bson_iter_key(&it), "_id") == 0)
            continue;
        if (!bson_append_iter(out, NULL, 0, &it))
            goto fail;
    }
    if (id) {
        bson_iter_t f;
        if (!bson_iter_init_find(&f, out, "_id"))
            goto fail;
        bson_value_copy(bson_iter_value(&f), id);
    }
    return 0;
fail:
    docstore_error_set(err, DOCSTORE_BSON_OBJECT_TOO_LARGE, "document too large");
    return -1;
}
