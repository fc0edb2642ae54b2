/* Placeholder until the owning module lands: every call reports NotImplemented. */
#include "docstore/match.h"

int docstore_matcher_new(const bson_t *filter, docstore_matcher_t **out, docstore_error_t *err)
{
    (void)filter;
    *out = NULL;
    docstore_error_set(err, DOCSTORE_NOT_IMPLEMENTED, "matcher not built yet");
    return -1;
}

bool docstore_matcher_matches(const docstore_matcher_t *m, const bson_t *doc, int32_t *array_pos)
{
    (void)m;
    (void)doc;
    if (array_pos != NULL)
        *array_pos = -1;
    return false;
}

bool docstore_matcher_is_empty(const docstore_matcher_t *m)
{
    (void)m;
    return false;
}

void docstore_matcher_free(docstore_matcher_t *m)
{
    (void)m;
}
