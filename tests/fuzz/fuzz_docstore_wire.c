/*
 * libFuzzer target for the docstore's message parser: the input is a stream
 * of wire messages, framed and parsed as a connection would; each request
 * that parses is dispatched when it names an admin or cursor command (the
 * handlers this part owns), so replies are built from hostile commands too.
 */
#include "docstore/cmd/command.h"
#include "docstore/cmd/cursor.h"
#include "docstore/net/wire.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static bool in_table(const docstore_command_t *t, const char *name)
{
    for (; t->name != NULL; t++) {
        if (strcmp(t->name, name) == 0)
            return true;
    }
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static docstore_cursors_t *cursors;
    if (cursors == NULL && docstore_cursors_new(&cursors) != 0)
        return 0;
    size_t pos = 0;
    while (pos < size) {
        docstore_wire_header_t hdr;
        docstore_error_t err = {0};
        if (docstore_wire_frame(data + pos, size - pos, &hdr, &err) != DOCSTORE_WIRE_DONE)
            break;
        docstore_wire_request_t req;
        memset(&err, 0, sizeof err);
        int r = docstore_wire_parse(data + pos, (size_t)hdr.length, &req, &err);
        if (r == DOCSTORE_WIRE_DONE) {
            bson_iter_t it;
            const char *name = "";
            if (bson_iter_init(&it, req.cmd) && bson_iter_next(&it))
                name = bson_iter_key(&it);
            if (in_table(docstore_admin_commands, name) || in_table(docstore_cursor_commands, name)) {
                docstore_ctx_t ctx = {.cursors = cursors};
                bson_t reply = BSON_INITIALIZER;
                docstore_command_dispatch(&ctx, req.db, req.cmd, &reply);
                size_t len = 0;
                uint8_t *out = req.legacy
                                   ? docstore_wire_build_reply(1, hdr.request_id, 0, &reply, &len)
                                   : docstore_wire_build_msg(1, hdr.request_id, 0, &reply, &len);
                free(out);
                bson_destroy(&reply);
            }
        }
        docstore_wire_request_clear(&req);
        docstore_error_clear(&err);
        pos += (size_t)hdr.length;
    }
    return 0;
}
