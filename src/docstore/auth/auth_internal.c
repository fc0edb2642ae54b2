/*
 * What the SASL mechanisms share with the registry and the conversation frame
 * (auth_internal.h): finding a user, the reply every step appends, failing a
 * conversation and ending it as a principal. Its own file so that auth.c,
 * auth_scram.c and auth_aws.c depend on it rather than on each other.
 */
#include "docstore/auth/auth_internal.h"

#include <stdio.h>
#include <string.h>

const auth_user_t *auth_find_user(const docstore_auth_t *a, const char *db, const char *name)
{
    for (size_t i = 0; i < a->n_users; i++) {
        if (strcmp(a->users[i].db, db) == 0 && strcmp(a->users[i].name, name) == 0)
            return &a->users[i];
    }
    return NULL;
}

void auth_reply(bson_t *reply, bool done, const void *data, size_t len)
{
    BSON_APPEND_INT32(reply, "conversationId", DOCSTORE_SASL_CONVERSATION_ID);
    BSON_APPEND_BOOL(reply, "done", done);
    bson_append_binary(reply, "payload", -1, BSON_SUBTYPE_BINARY, data, (uint32_t)len);
}

int auth_fail(docstore_sasl_t *s, docstore_error_t *err)
{
    s->step = AUTH_STEP_FAILED;
    docstore_error_set(err, DOCSTORE_AUTHENTICATION_FAILED, "Authentication failed.");
    return -1;
}

void auth_sasl_succeed(docstore_sasl_t *s, const auth_user_t *user)
{
    s->step = AUTH_STEP_DONE;
    snprintf(s->principal.user, sizeof s->principal.user, "%s", user->name);
    snprintf(s->principal.db, sizeof s->principal.db, "%s", user->db);
    s->principal.uid = (int64_t)(user - s->auth->users) + 1;
    bson_destroy(&s->principal.roles);
    bson_copy_to(user->roles, &s->principal.roles);
}
