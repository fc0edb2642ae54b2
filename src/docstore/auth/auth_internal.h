/*
 * What the three auth files share (auth.c registry, auth_scram.c,
 * auth_aws.c): the user and IAM records and the conversation struct.
 */
#ifndef TETHER_DOCSTORE_AUTH_INTERNAL_H
#define TETHER_DOCSTORE_AUTH_INTERNAL_H

#include "common/crypto.h"
#include "docstore/auth/auth.h"

#define AUTH_SALT_MAX 32

typedef struct auth_scram_keys {
    int iterations;                         /* PBKDF2 iteration count */
    uint8_t salt[AUTH_SALT_MAX];            /* random per user and mechanism */
    size_t salt_len;
    uint8_t stored_key[CRYPTO_MAX_MD_LEN];  /* H(ClientKey) */
    uint8_t server_key[CRYPTO_MAX_MD_LEN];  /* HMAC(SaltedPassword, "Server Key") */
} auth_scram_keys_t;

typedef struct auth_user {
    char name[256];            /* user name (a role ARN for $external) */
    char db[128];              /* its database */
    bson_t *roles;             /* owned, normalized [{role, db}]; a pointer because
                                  users live in a growing array and bson_t may not move */
    bool has_password;         /* SCRAM keys present */
    auth_scram_keys_t sha1;    /* SCRAM-SHA-1 */
    auth_scram_keys_t sha256;  /* SCRAM-SHA-256 */
} auth_user_t;

typedef struct auth_iam_cred {
    char access_key_id[128];
    char secret_access_key[128];
    char session_token[2048]; /* empty when the credentials have none */
    char arn[256];            /* the role the credentials prove */
} auth_iam_cred_t;

struct docstore_auth {
    auth_user_t *users;
    size_t n_users;
    auth_iam_cred_t *iam;
    size_t n_iam;
};

typedef enum auth_mech {
    AUTH_MECH_SCRAM_SHA1 = 0,   /* SCRAM-SHA-1 */
    AUTH_MECH_SCRAM_SHA256 = 1, /* SCRAM-SHA-256 */
    AUTH_MECH_AWS = 2,          /* MONGODB-AWS */
} auth_mech_t;

typedef enum auth_step {
    AUTH_STEP_FIRST_SENT = 0, /* server-first (or AWS server nonce) sent; awaiting client-final */
    AUTH_STEP_FINAL_SENT = 1, /* server-final sent; awaiting the empty exchange */
    AUTH_STEP_DONE = 2,       /* authenticated */
    AUTH_STEP_FAILED = 3,     /* dead conversation */
} auth_step_t;

struct docstore_sasl {
    docstore_auth_t *auth;
    auth_mech_t mech;
    auth_step_t step;
    bool skip_empty_exchange;
    char db[128];              /* the database saslStart ran on */
    const auth_user_t *user;   /* SCRAM: the user being proven */
    char *auth_message;        /* SCRAM: client-first-bare + "," + server-first */
    char nonce[320];           /* SCRAM: combined nonce (client part up to 255 bytes) */
    uint8_t aws_nonce[64];     /* AWS: client 32 bytes + server 32 bytes */
    docstore_principal_t principal;
};

const auth_user_t *auth_find_user(const docstore_auth_t *a, const char *db, const char *name);
int auth_scram_derive(const char *user, const char *password, auth_mech_t mech,
                      auth_scram_keys_t *keys);
int auth_scram_start(docstore_sasl_t *s, const char *db, const uint8_t *payload, uint32_t len,
                     bson_t *reply, docstore_error_t *err);
int auth_scram_continue(docstore_sasl_t *s, const uint8_t *payload, uint32_t len, bson_t *reply,
                        docstore_error_t *err);
int auth_aws_start(docstore_sasl_t *s, const uint8_t *payload, uint32_t len, bson_t *reply,
                   docstore_error_t *err);
int auth_aws_continue(docstore_sasl_t *s, time_t now, const uint8_t *payload, uint32_t len,
                      bson_t *reply, docstore_error_t *err);
/* Sets the principal from user and marks the conversation done. */
void auth_sasl_succeed(docstore_sasl_t *s, const auth_user_t *user);
/* Appends {conversationId: 1, done, payload: BinData(data)}. */
void auth_reply(bson_t *reply, bool done, const void *data, size_t len);
/* The one message every authentication failure carries. */
int auth_fail(docstore_sasl_t *s, docstore_error_t *err);

#endif
