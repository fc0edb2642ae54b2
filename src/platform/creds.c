/*
 * The role -> temporary credentials registry (see creds.h): a small array,
 * searched linearly (a template has a handful of roles).
 */
#include "platform/creds.h"

#include "platform/json.h"

#include <stdlib.h>
#include <string.h>

static platform_creds_t *registry;
static int n_registry;

static const char upper_digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
static const char secret_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

const platform_creds_t *platform_creds_for_role(const char *role_arn)
{
    for (int i = 0; i < n_registry; i++) {
        if (strcmp(registry[i].role_arn, role_arn) == 0)
            return &registry[i];
    }
    platform_creds_t *grown = realloc(registry, sizeof *registry * (size_t)(n_registry + 1));
    if (grown == NULL)
        return NULL;
    registry = grown;
    platform_creds_t *c = &registry[n_registry];
    c->role_arn = strdup(role_arn);
    if (c->role_arn == NULL)
        return NULL;
    memcpy(c->access_key_id, "ASIA", 4);
    platform_random_chars(c->access_key_id + 4, 16, upper_digits);
    platform_random_chars(c->secret_access_key, 40, secret_chars);
    memcpy(c->session_token, "IQoJb3JpZ2luX2VjE", 17); /* the prefix AWS tokens carry */
    platform_random_chars(c->session_token + 17, sizeof c->session_token - 18, secret_chars);
    n_registry++;
    return c;
}

const platform_creds_t *platform_creds_find_key(const char *akid)
{
    for (int i = 0; i < n_registry; i++) {
        if (strcmp(registry[i].access_key_id, akid) == 0)
            return &registry[i];
    }
    return NULL;
}

int platform_creds_iam_json(buf_t *out)
{
    int rc = buf_append_str(out, "[");
    for (int i = 0; rc == 0 && i < n_registry; i++) {
        const platform_creds_t *c = &registry[i];
        rc = buf_append_str(out, i ? ",\n {\"accessKeyId\": " : "{\"accessKeyId\": ");
        if (rc == 0)
            rc = buf_append_json_cstr(out, c->access_key_id);
        if (rc == 0)
            rc = buf_append_str(out, ", \"secretAccessKey\": ");
        if (rc == 0)
            rc = buf_append_json_cstr(out, c->secret_access_key);
        if (rc == 0)
            rc = buf_append_str(out, ", \"sessionToken\": ");
        if (rc == 0)
            rc = buf_append_json_cstr(out, c->session_token);
        if (rc == 0)
            rc = buf_append_str(out, ", \"arn\": ");
        if (rc == 0)
            rc = buf_append_json_cstr(out, c->role_arn);
        if (rc == 0)
            rc = buf_append_str(out, "}");
    }
    if (rc == 0)
        rc = buf_append_str(out, "]\n");
    return rc;
}

static int is_json_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The entries of a JSON array's text, without its brackets and the blanks
 * around them: *len 0 for an empty array. -1 if text is not bracketed. */
static int array_entries(const char *text, size_t n, const char **start, size_t *len)
{
    size_t b = 0, e = n;
    while (b < e && is_json_blank(text[b]))
        b++;
    while (e > b && is_json_blank(text[e - 1]))
        e--;
    if (e - b < 2 || text[b] != '[' || text[e - 1] != ']')
        return -1;
    for (b++, e--; b < e && is_json_blank(text[b]); b++) {
    }
    while (e > b && is_json_blank(text[e - 1]))
        e--;
    *start = text + b;
    *len = e - b;
    return 0;
}

int platform_creds_users_json(buf_t *out, const char *admin_password, const char *db_users,
                              size_t db_users_len)
{
    int rc = buf_append_str(out, "[{\"user\": \"admin\", \"db\": \"admin\", \"password\": ");
    if (rc == 0)
        rc = buf_append_json_cstr(out, admin_password);
    if (rc == 0)
        rc = buf_append_str(out, ", \"roles\": [\"root\"]}");
    if (rc == 0 && db_users != NULL) {
        const char *entries;
        size_t len;
        rc = array_entries(db_users, db_users_len, &entries, &len);
        if (rc == 0 && len > 0)
            rc = buf_append_str(out, ",\n ");
        if (rc == 0)
            rc = buf_append(out, entries, len);
    }
    for (int i = 0; rc == 0 && db_users == NULL && i < n_registry; i++) {
        rc = buf_append_str(out, ",\n {\"user\": ");
        if (rc == 0)
            rc = buf_append_json_cstr(out, registry[i].role_arn);
        if (rc == 0)
            rc = buf_append_str(out, ", \"db\": \"$external\", \"roles\": "
                                     "[{\"role\": \"readWriteAnyDatabase\", \"db\": \"admin\"}]}");
    }
    if (rc == 0)
        rc = buf_append_str(out, "]\n");
    return rc;
}

int platform_creds_count(void)
{
    return n_registry;
}

void platform_creds_clear(void)
{
    for (int i = 0; i < n_registry; i++)
        free(registry[i].role_arn);
    free(registry);
    registry = NULL;
    n_registry = 0;
}
