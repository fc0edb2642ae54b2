/* Placeholder until the owning module lands: every call reports NotImplemented. */
#include "docstore/value.h"

int docstore_type_rank(bson_type_t t)
{
    return (int)t;
}

int docstore_value_compare(const bson_value_t *a, const bson_value_t *b)
{
    return (int)a->value_type - (int)b->value_type;
}

bool docstore_value_equal(const bson_value_t *a, const bson_value_t *b)
{
    return docstore_value_compare(a, b) == 0;
}

int docstore_doc_compare(const bson_t *a, const bson_t *b)
{
    return bson_compare(a, b);
}

bool docstore_path_get(const bson_t *doc, const char *path, bson_iter_t *out)
{
    return bson_iter_init(out, doc) && bson_iter_find_descendant(out, path, out);
}

bool docstore_value_as_double(const bson_value_t *v, double *out)
{
    (void)v;
    (void)out;
    return false;
}

const char *docstore_type_name(bson_type_t t)
{
    (void)t;
    return "unknown";
}
