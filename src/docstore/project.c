/* Placeholder until the owning module lands: every call reports NotImplemented. */
#include "docstore/project.h"

int docstore_projection_new(const bson_t *spec, docstore_projection_t **out, docstore_error_t *err)
{
    (void)spec;
    *out = NULL;
    docstore_error_set(err, DOCSTORE_NOT_IMPLEMENTED, "projection not built yet");
    return -1;
}

int docstore_projection_apply(const docstore_projection_t *p, const bson_t *doc, bson_t *out,
                              docstore_error_t *err)
{
    (void)p;
    (void)doc;
    (void)out;
    docstore_error_set(err, DOCSTORE_NOT_IMPLEMENTED, "projection not built yet");
    return -1;
}

void docstore_projection_free(docstore_projection_t *p)
{
    (void)p;
}
