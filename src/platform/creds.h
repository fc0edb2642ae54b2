/*
 * Temporary AWS credentials per IAM role: the local stand-in for the STS
 * AssumeRole that AWS Lambda does for a function's execution role. tether up
 * makes one set per Role in its template (ASIA... access key id, secret,
 * session token), hands it to that function's instances as AWS_ACCESS_KEY_ID /
 * AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, and the embedded docstore checks
 * MONGODB-AWS signatures against the same registry (via the --iam JSON file
 * platform_creds_iam_json writes, or platform_creds_find_key in process).
 * The registry is process-wide; secrets are never logged.
 */
#ifndef TETHER_PLATFORM_CREDS_H
#define TETHER_PLATFORM_CREDS_H

#include "common/buf.h"

typedef struct platform_creds {
    char *role_arn;         /* owned: arn:aws:iam::ACCOUNT:role/NAME */
    char access_key_id[21]; /* "ASIA" + 16 upper-case letters and digits */
    char secret_access_key[41];
    char session_token[129];
} platform_creds_t;

/* The credentials for role_arn, made on first use. NULL on allocation failure.
 * The registry owns the result until platform_creds_clear. */
const platform_creds_t *platform_creds_for_role(const char *role_arn);
/* The credentials whose access key id is akid, or NULL. */
const platform_creds_t *platform_creds_find_key(const char *akid);
/* Appends the registry as the docstore's --iam JSON array (docs/docstore.md,
 * "Authentication": the files). */
__attribute__((warn_unused_result)) int platform_creds_iam_json(buf_t *out);
/* Appends the docstore's --users JSON array: an "admin" root user with
 * admin_password, then either (db_users NULL) one $external user per role,
 * named by its ARN, with readWriteAnyDatabase (tether up's default: every
 * execution role may use the local database), or the entries of db_users as
 * they are: the text (db_users_len bytes) of a users file that the docstore's
 * loader has already accepted (tether up --db-users), so a role holds only
 * the privileges its $external user there gives it. 0, or -1 (out of memory,
 * or db_users is not a JSON array). */
__attribute__((warn_unused_result)) int platform_creds_users_json(buf_t *out,
                                                                  const char *admin_password,
                                                                  const char *db_users,
                                                                  size_t db_users_len);
/* How many roles the registry holds. */
int platform_creds_count(void);
/* Forgets every credential. */
void platform_creds_clear(void);

#endif
