/* Placeholder until the owning module lands: every call reports NotImplemented. */
#include "docstore/cursor.h"

const docstore_command_t docstore_cursor_commands[] = {{NULL, NULL, 0}};

int docstore_cursors_new(docstore_cursors_t **out)
{
    *out = NULL;
    return -1;
}

void docstore_cursors_free(docstore_cursors_t *c)
{
    (void)c;
}

void docstore_cursors_expire(docstore_cursors_t *c, int64_t idle_ms)
{
    (void)c;
    (void)idle_ms;
}

int docstore_cursor_reply(docstore_ctx_t *ctx, const char *ns, docstore_doclist_t *docs,
                          int64_t batch_size, bool single_batch, bson_t *reply,
                          docstore_error_t *err)
{
    (void)ctx, (void)ns, (void)batch_size, (void)single_batch, (void)reply;
    docstore_doclist_free(docs);
    docstore_error_set(err, DOCSTORE_NOT_IMPLEMENTED, "cursors not built yet");
    return -1;
}
