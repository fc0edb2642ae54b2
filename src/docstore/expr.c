/* Placeholder until the owning module lands: every call reports NotImplemented. */
#include "docstore/expr.h"

int docstore_expr_new(const bson_value_t *spec, docstore_expr_t **out, docstore_error_t *err)
{
    (void)spec;
    *out = NULL;
    docstore_error_set(err, DOCSTORE_NOT_IMPLEMENTED, "expressions not built yet");
    return -1;
}

int docstore_expr_eval(const docstore_expr_t *e, const bson_t *doc, const bson_t *vars,
                       bson_value_t *out, docstore_error_t *err)
{
    (void)e;
    (void)doc;
    (void)vars;
    out->value_type = BSON_TYPE_EOD;
    docstore_error_set(err, DOCSTORE_NOT_IMPLEMENTED, "expressions not built yet");
    return -1;
}

void docstore_expr_free(docstore_expr_t *e)
{
    (void)e;
}

bool docstore_value_truthy(const bson_value_t *v)
{
    (void)v;
    return false;
}
