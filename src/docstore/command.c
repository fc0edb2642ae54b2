/* Placeholder until the owning module lands: every call reports NotImplemented. */
#include "docstore/command.h"

const docstore_command_t docstore_admin_commands[] = {{NULL, NULL, 0}};

void docstore_command_dispatch(docstore_ctx_t *ctx, const char *db, const bson_t *cmd,
                               bson_t *reply)
{
    (void)ctx, (void)db, (void)cmd;
    docstore_error_t err = {0};
    docstore_error_set(&err, DOCSTORE_NOT_IMPLEMENTED, "commands not built yet");
    BSON_APPEND_DOUBLE(reply, "ok", 0.0);
    docstore_error_append(&err, reply);
}
