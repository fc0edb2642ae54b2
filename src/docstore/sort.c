/* Placeholder until the owning module lands: every call reports NotImplemented. */
#include "docstore/sort.h"

int docstore_sort_new(const bson_t *spec, docstore_sort_t **out, docstore_error_t *err)
{
    (void)spec;
    *out = NULL;
    docstore_error_set(err, DOCSTORE_NOT_IMPLEMENTED, "sort not built yet");
    return -1;
}

int docstore_sort_compare(const docstore_sort_t *s, const bson_t *a, const bson_t *b)
{
    (void)s;
    (void)a;
    (void)b;
    return 0;
}

void docstore_sort_docs(const docstore_sort_t *s, bson_t **docs, size_t n)
{
    (void)s;
    (void)docs;
    (void)n;
}

void docstore_sort_free(docstore_sort_t *s)
{
    (void)s;
}
