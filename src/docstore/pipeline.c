/* Placeholder until the owning module lands: every call reports NotImplemented. */
#include "docstore/pipeline.h"

int docstore_pipeline_new(const bson_t *pipeline, docstore_pipeline_t **out, docstore_error_t *err)
{
    (void)pipeline;
    *out = NULL;
    docstore_error_set(err, DOCSTORE_NOT_IMPLEMENTED, "aggregation not built yet");
    return -1;
}

const bson_t *docstore_pipeline_leading_match(const docstore_pipeline_t *p)
{
    (void)p;
    return NULL;
}

int docstore_pipeline_run(const docstore_pipeline_t *p, docstore_doclist_t *docs,
                          docstore_collection_reader_fn reader, void *reader_ctx,
                          docstore_error_t *err)
{
    (void)p;
    (void)reader;
    (void)reader_ctx;
    docstore_doclist_free(docs);
    docstore_error_set(err, DOCSTORE_NOT_IMPLEMENTED, "aggregation not built yet");
    return -1;
}

void docstore_pipeline_free(docstore_pipeline_t *p)
{
    (void)p;
}
