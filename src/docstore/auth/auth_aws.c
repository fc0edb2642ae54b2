/*
 * MONGODB-AWS without calling AWS STS. The client proves it holds IAM
 * credentials by signing (SigV4) an sts:GetCallerIdentity request that binds
 * our server nonce; where MongoDB forwards that request to STS, we recompute
 * the signature against the --iam registry (access key → secret, session
 * token, role ARN), check the nonce and the date window, and map the role to
 * the $external user named by its ARN.
 */
#include "common/base64.h"
#include "docstore/auth/auth_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AWS_STS_HOST     "sts.amazonaws.com"
#define AWS_STS_REGION   "us-east-1"
#define AWS_STS_BODY     "Action=GetCallerIdentity&Version=2011-06-15"
#define AWS_CLOCK_SKEW_S (15 * 60)

/* The headers a client may sign, in SigV4's sorted order, and whether each is required. */
static const struct {
    const char *name;
    bool required;
} aws_signable[] = {
    {"content-length", false},        {"content-type", false},
    {"host", true},                   {"x-amz-date", true},
    {"x-amz-security-token", false},  {"x-mongodb-gs2-cb-flag", true},
    {"x-mongodb-server-nonce", true},
};

static const char *aws_payload_str(const bson_t *doc, const char *key)
{
    bson_iter_t it;
    if (bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_UTF8(&it))
        return bson_iter_utf8(&it, NULL);
    return NULL;
}

int auth_aws_start(docstore_sasl_t *s, const uint8_t *payload, uint32_t len, bson_t *reply,
                   docstore_error_t *err)
{
    bson_t doc;
    bson_iter_t it;
    const uint8_t *nonce = NULL;
    uint32_t nonce_len = 0;
    bson_subtype_t sub;
    if (!bson_init_static(&doc, payload, len) || !bson_iter_init_find(&it, &doc, "r") ||
        !BSON_ITER_HOLDS_BINARY(&it))
        return auth_fail(s, err);
    bson_iter_binary(&it, &sub, &nonce_len, &nonce);
    if (nonce_len != 32 || !bson_iter_init_find(&it, &doc, "p") ||
        !BSON_ITER_HOLDS_INT32(&it) || bson_iter_int32(&it) != 'n')
        return auth_fail(s, err);
    memcpy(s->aws_nonce, nonce, 32);
    if (crypto_random(s->aws_nonce + 32, 32) == -1)
        return auth_fail(s, err);
    bson_t out = BSON_INITIALIZER;
    bson_append_binary(&out, "s", 1, BSON_SUBTYPE_BINARY, s->aws_nonce, sizeof s->aws_nonce);
    BSON_APPEND_UTF8(&out, "h", AWS_STS_HOST);
    s->step = AUTH_STEP_FIRST_SENT;
    auth_reply(reply, false, bson_get_data(&out), out.len);
    bson_destroy(&out);
    return 0;
}

/* Parses "AWS4-HMAC-SHA256 Credential=AK/DATE/REGION/sts/aws4_request,
 * SignedHeaders=a;b;c, Signature=hex" into its parts (copied, bounded). */
typedef struct aws_authz {
    char access_key[128];
    char scope_date[16];
    char region[64];
    char signed_headers[256];
    char signature[65];
} aws_authz_t;

static bool aws_take(const char **p, const char *key, char stop, char *out, size_t cap)
{
    size_t klen = strlen(key);
    if (strncmp(*p, key, klen) != 0)
        return false;
    const char *v = *p + klen, *end = strchr(v, stop);
    if (end == NULL)
        end = v + strlen(v);
    size_t n = (size_t)(end - v);
    if (n == 0 || n >= cap)
        return false;
    memcpy(out, v, n);
    out[n] = '\0';
    *p = *end ? end + 1 : end;
    return true;
}

static bool aws_parse_authz(const char *a, aws_authz_t *z)
{
    const char *p = a;
    char service[16], terminal[32];
    if (strncmp(p, "AWS4-HMAC-SHA256 ", 17) != 0)
        return false;
    p += 17;
    if (!aws_take(&p, "Credential=", '/', z->access_key, sizeof z->access_key) ||
        !aws_take(&p, "", '/', z->scope_date, sizeof z->scope_date) ||
        !aws_take(&p, "", '/', z->region, sizeof z->region) ||
        !aws_take(&p, "", '/', service, sizeof service) ||
        !aws_take(&p, "", ',', terminal, sizeof terminal))
        return false;
    if (strcmp(service, "sts") != 0 || strcmp(terminal, "aws4_request") != 0)
        return false;
    while (*p == ' ')
        p++;
    if (!aws_take(&p, "SignedHeaders=", ',', z->signed_headers, sizeof z->signed_headers))
        return false;
    while (*p == ' ')
        p++;
    if (!aws_take(&p, "Signature=", '\0', z->signature, sizeof z->signature))
        return false;
    return strlen(z->signature) == 64;
}

/* X-Amz-Date "YYYYMMDDTHHMMSSZ" as seconds since the epoch, or -1. */
static time_t aws_parse_date(const char *d)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (strlen(d) != 16 || d[8] != 'T' || d[15] != 'Z')
        return -1;
    if (sscanf(d, "%4d%2d%2dT%2d%2d%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec) != 6)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return timegm(&tm);
}

/* The canonical request for the signed headers the client listed; false if it
 * lists one we do not know or misses a required one. */
static bool aws_canonical_request(const docstore_sasl_t *s, const aws_authz_t *z,
                                  const char *date, const char *token, char *out, size_t cap)
{
    char nonce64[100], body_hash[65];
    uint8_t digest[CRYPTO_SHA256_LEN];
    base64_encode(s->aws_nonce, sizeof s->aws_nonce, nonce64);
    if (crypto_digest(CRYPTO_SHA256, AWS_STS_BODY, strlen(AWS_STS_BODY), digest) == -1)
        return false;
    crypto_hex(digest, sizeof digest, body_hash);
    const char *values[] = {"43", "application/x-www-form-urlencoded", AWS_STS_HOST, date,
                            token ? token : "", "n", nonce64};
    size_t n = (size_t)snprintf(out, cap, "POST\n/\n\n");
    const char *list = z->signed_headers;
    size_t next = 0; /* signed headers must come sorted: each after the previous */
    bool seen[sizeof aws_signable / sizeof aws_signable[0]] = {false};
    while (*list != '\0') {
        const char *end = strchr(list, ';');
        size_t len = end ? (size_t)(end - list) : strlen(list);
        size_t i = next;
        while (i < sizeof aws_signable / sizeof aws_signable[0] &&
               (strlen(aws_signable[i].name) != len || strncmp(aws_signable[i].name, list, len)))
            i++;
        if (i == sizeof aws_signable / sizeof aws_signable[0])
            return false;
        if (strcmp(aws_signable[i].name, "x-amz-security-token") == 0 && token == NULL)
            return false;
        seen[i] = true;
        next = i + 1;
        n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, "%s:%s\n", aws_signable[i].name,
                              values[i]);
        list = end ? end + 1 : list + len;
    }
    for (size_t i = 0; i < sizeof aws_signable / sizeof aws_signable[0]; i++) {
        if (aws_signable[i].required && !seen[i])
            return false;
    }
    if (token != NULL && !seen[4])
        return false; /* a session token must be signed */
    n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, "\n%s\n%s", z->signed_headers,
                          body_hash);
    return n < cap;
}

static bool aws_signature_matches(const docstore_sasl_t *s, const aws_authz_t *z,
                                  const auth_iam_cred_t *cred, const char *date,
                                  const char *token)
{
    char canonical[4096], to_sign[512], hexhash[65], sig_hex[65];
    uint8_t h[CRYPTO_SHA256_LEN], k[CRYPTO_SHA256_LEN], k2[CRYPTO_SHA256_LEN];
    if (!aws_canonical_request(s, z, date, token, canonical, sizeof canonical))
        return false;
    if (crypto_digest(CRYPTO_SHA256, canonical, strlen(canonical), h) == -1)
        return false;
    crypto_hex(h, sizeof h, hexhash);
    snprintf(to_sign, sizeof to_sign, "AWS4-HMAC-SHA256\n%s\n%s/%s/sts/aws4_request\n%s", date,
             z->scope_date, z->region, hexhash);
    char secret[160];
    snprintf(secret, sizeof secret, "AWS4%s", cred->secret_access_key);
    bool ok = crypto_hmac(CRYPTO_SHA256, secret, strlen(secret), z->scope_date,
                          strlen(z->scope_date), k) == 0 &&
              crypto_hmac(CRYPTO_SHA256, k, sizeof k, z->region, strlen(z->region), k2) == 0 &&
              crypto_hmac(CRYPTO_SHA256, k2, sizeof k2, "sts", 3, k) == 0 &&
              crypto_hmac(CRYPTO_SHA256, k, sizeof k, "aws4_request", 12, k2) == 0 &&
              crypto_hmac(CRYPTO_SHA256, k2, sizeof k2, to_sign, strlen(to_sign), h) == 0;
    crypto_cleanse(secret, sizeof secret);
    crypto_cleanse(k, sizeof k);
    crypto_cleanse(k2, sizeof k2);
    if (!ok)
        return false;
    crypto_hex(h, sizeof h, sig_hex);
    return crypto_equal(sig_hex, z->signature, 64);
}

int auth_aws_continue(docstore_sasl_t *s, time_t now, const uint8_t *payload, uint32_t len,
                      bson_t *reply, docstore_error_t *err)
{
    bson_t doc;
    if (!bson_init_static(&doc, payload, len))
        return auth_fail(s, err);
    const char *a = aws_payload_str(&doc, "a"), *d = aws_payload_str(&doc, "d");
    const char *t = aws_payload_str(&doc, "t");
    aws_authz_t z;
    if (a == NULL || d == NULL || !aws_parse_authz(a, &z))
        return auth_fail(s, err);
    time_t when = aws_parse_date(d);
    if (when == -1 || when > now + AWS_CLOCK_SKEW_S || when < now - AWS_CLOCK_SKEW_S ||
        strncmp(d, z.scope_date, 8) != 0 || strlen(z.scope_date) != 8 ||
        strcmp(z.region, AWS_STS_REGION) != 0)
        return auth_fail(s, err);
    const auth_iam_cred_t *cred = NULL;
    for (size_t i = 0; i < s->auth->n_iam; i++) {
        if (strcmp(s->auth->iam[i].access_key_id, z.access_key) == 0)
            cred = &s->auth->iam[i];
    }
    if (cred == NULL)
        return auth_fail(s, err);
    bool want_token = cred->session_token[0] != '\0';
    if (want_token != (t != NULL) || (t != NULL && strcmp(t, cred->session_token) != 0))
        return auth_fail(s, err);
    if (!aws_signature_matches(s, &z, cred, d, t))
        return auth_fail(s, err);
    const auth_user_t *u = auth_find_user(s->auth, "$external", cred->arn);
    if (u == NULL) {
        /* The client has proved the role: naming it back tells it nothing new
         * and tells its developer which database user is missing. */
        auth_fail(s, err);
        docstore_error_set(err, DOCSTORE_AUTHENTICATION_FAILED,
                           "Authentication failed: IAM role %s has no database user; add a "
                           "$external user named by its ARN (tether up --db-users FILE, "
                           "tether db --users FILE)",
                           cred->arn);
        return -1;
    }
    auth_sasl_succeed(s, u);
    auth_reply(reply, true, "", 0);
    return 0;
}
