/* Placeholder until the owning module lands: every call reports NotImplemented. */
#include "docstore/update.h"

int docstore_update_new(const bson_t *spec, const bson_t *array_filters, docstore_update_t **out,
                        docstore_error_t *err)
{
    (void)spec;
    (void)array_filters;
    *out = NULL;
    docstore_error_set(err, DOCSTORE_NOT_IMPLEMENTED, "update not built yet");
    return -1;
}

bool docstore_update_is_replacement(const docstore_update_t *u)
{
    (void)u;
    return false;
}

int docstore_update_apply(const docstore_update_t *u, const bson_t *doc, int32_t matched_pos,
                          bool is_insert, bson_t *out, bool *changed, docstore_error_t *err)
{
    (void)u;
    (void)doc;
    (void)matched_pos;
    (void)is_insert;
    (void)out;
    *changed = false;
    docstore_error_set(err, DOCSTORE_NOT_IMPLEMENTED, "update not built yet");
    return -1;
}

int docstore_update_upsert_seed(const bson_t *filter, bson_t *out, docstore_error_t *err)
{
    (void)filter;
    (void)out;
    docstore_error_set(err, DOCSTORE_NOT_IMPLEMENTED, "update not built yet");
    return -1;
}

void docstore_update_free(docstore_update_t *u)
{
    (void)u;
}
