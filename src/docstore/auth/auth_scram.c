/*
 * SCRAM-SHA-1 and SCRAM-SHA-256 (RFC 5802, RFC 7677) as MongoDB speaks them:
 * SHA-1 hashes hex(MD5(user ":mongo:" password)) instead of the password; the
 * server keeps only {iterations, salt, StoredKey, ServerKey} per user.
 * auth.c hands SCRAM-SHA-256 the SASLprep'd password (saslprep.h) and
 * SCRAM-SHA-1 the password as given, as MongoDB's auth spec has the clients do.
 */
#include "common/base64.h"
#include "docstore/auth/auth_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCRAM_MSG_MAX 2048

static crypto_hash_t scram_hash(auth_mech_t mech)
{
    return mech == AUTH_MECH_SCRAM_SHA1 ? CRYPTO_SHA1 : CRYPTO_SHA256;
}

int auth_scram_derive(const char *user, const char *password, auth_mech_t mech,
                      auth_scram_keys_t *keys)
{
    crypto_hash_t h = scram_hash(mech);
    size_t hl = crypto_hash_len(h);
    char digest[33];
    const char *secret = password;
    if (mech == AUTH_MECH_SCRAM_SHA1) {
        size_t n = strlen(user) + strlen(password) + 8;
        char *in = malloc(n);
        if (in == NULL)
            return -1;
        snprintf(in, n, "%s:mongo:%s", user, password);
        int rc = crypto_md5_hex(in, strlen(in), digest);
        crypto_cleanse(in, n);
        free(in);
        if (rc == -1)
            return -1;
        secret = digest;
    }
    keys->iterations = mech == AUTH_MECH_SCRAM_SHA1 ? 10000 : 15000;
    keys->salt_len = mech == AUTH_MECH_SCRAM_SHA1 ? 16 : 28;
    uint8_t salted[CRYPTO_MAX_MD_LEN], client_key[CRYPTO_MAX_MD_LEN];
    int rc = -1;
    if (crypto_random(keys->salt, keys->salt_len) == 0 &&
        crypto_pbkdf2(h, secret, strlen(secret), keys->salt, keys->salt_len, keys->iterations,
                      salted) == 0 &&
        crypto_hmac(h, salted, hl, "Client Key", 10, client_key) == 0 &&
        crypto_digest(h, client_key, hl, keys->stored_key) == 0 &&
        crypto_hmac(h, salted, hl, "Server Key", 10, keys->server_key) == 0)
        rc = 0;
    crypto_cleanse(salted, sizeof salted);
    crypto_cleanse(client_key, sizeof client_key);
    crypto_cleanse(digest, sizeof digest);
    return rc;
}

/* Finds "k=" among the comma-separated attributes of msg; copies its value. */
static bool scram_attr(const char *msg, char k, char *out, size_t cap)
{
    const char *p = msg;
    while (p != NULL && *p != '\0') {
        if (p[0] == k && p[1] == '=') {
            const char *v = p + 2, *end = strchr(v, ',');
            size_t n = end ? (size_t)(end - v) : strlen(v);
            if (n >= cap)
                return false;
            memcpy(out, v, n);
            out[n] = '\0';
            return true;
        }
        p = strchr(p, ',');
        if (p != NULL)
            p++;
    }
    return false;
}

/* Decodes SCRAM's saslname escapes (=2C is ',', =3D is '='). */
static bool scram_unescape_name(const char *in, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; in[i] != '\0'; i++) {
        char c = in[i];
        if (c == '=') {
            if (strncmp(in + i, "=2C", 3) == 0)
                c = ',';
            else if (strncmp(in + i, "=3D", 3) == 0)
                c = '=';
            else
                return false;
            i += 2;
        }
        if (o + 1 >= cap)
            return false;
        out[o++] = c;
    }
    out[o] = '\0';
    return o > 0;
}

int auth_scram_start(docstore_sasl_t *s, const char *db, const uint8_t *payload, uint32_t len,
                     bson_t *reply, docstore_error_t *err)
{
    char msg[SCRAM_MSG_MAX];
    if (len == 0 || len >= sizeof msg || memchr(payload, '\0', len) != NULL)
        return auth_fail(s, err);
    memcpy(msg, payload, len);
    msg[len] = '\0';
    /* gs2 header: "n,," or "y,," (no channel binding), optional authzid */
    if ((msg[0] != 'n' && msg[0] != 'y') || msg[1] != ',')
        return auth_fail(s, err);
    const char *bare = strchr(msg + 2, ',');
    if (bare == NULL)
        return auth_fail(s, err);
    bare++;
    char raw_name[512], name[256], cnonce[256]; /* drivers send 24-48 random bytes in base64 */
    if (strncmp(bare, "n=", 2) != 0 || !scram_attr(bare, 'n', raw_name, sizeof raw_name) ||
        !scram_unescape_name(raw_name, name, sizeof name) ||
        !scram_attr(bare, 'r', cnonce, sizeof cnonce) || cnonce[0] == '\0')
        return auth_fail(s, err);
    const auth_user_t *u = auth_find_user(s->auth, db, name);
    if (u == NULL || !u->has_password)
        return auth_fail(s, err);
    s->user = u;
    const auth_scram_keys_t *keys = s->mech == AUTH_MECH_SCRAM_SHA1 ? &u->sha1 : &u->sha256;
    uint8_t rnd[24];
    char snonce[40], salt64[64];
    if (crypto_random(rnd, sizeof rnd) == -1)
        return auth_fail(s, err);
    base64_encode(rnd, sizeof rnd, snonce);
    base64_encode(keys->salt, keys->salt_len, salt64);
    snprintf(s->nonce, sizeof s->nonce, "%s%s", cnonce, snonce);
    char server_first[512];
    int n = snprintf(server_first, sizeof server_first, "r=%s,s=%s,i=%d", s->nonce, salt64,
                     keys->iterations);
    size_t am = strlen(bare) + (size_t)n + 2;
    s->auth_message = malloc(am);
    if (s->auth_message == NULL)
        return auth_fail(s, err);
    snprintf(s->auth_message, am, "%s,%s", bare, server_first);
    s->step = AUTH_STEP_FIRST_SENT;
    auth_reply(reply, false, server_first, (size_t)n);
    return 0;
}

int auth_scram_continue(docstore_sasl_t *s, const uint8_t *payload, uint32_t len, bson_t *reply,
                        docstore_error_t *err)
{
    char msg[SCRAM_MSG_MAX];
    if (len == 0 || len >= sizeof msg || memchr(payload, '\0', len) != NULL)
        return auth_fail(s, err);
    memcpy(msg, payload, len);
    msg[len] = '\0';
    const char *proof_at = strstr(msg, ",p=");
    char cb[16], nonce[320], proof64[128];
    if (proof_at == NULL || !scram_attr(msg, 'c', cb, sizeof cb) ||
        (strcmp(cb, "biws") != 0 && strcmp(cb, "eSws") != 0) ||
        !scram_attr(msg, 'r', nonce, sizeof nonce) || strcmp(nonce, s->nonce) != 0 ||
        !scram_attr(proof_at + 1, 'p', proof64, sizeof proof64))
        return auth_fail(s, err);
    crypto_hash_t h = scram_hash(s->mech);
    size_t hl = crypto_hash_len(h);
    uint8_t proof[CRYPTO_MAX_MD_LEN + 4];
    long plen = base64_decode(proof64, strlen(proof64), proof, sizeof proof, BASE64_PADDED);
    if (plen != (long)hl)
        return auth_fail(s, err);
    /* AuthMessage = client-first-bare "," server-first "," client-final-without-proof */
    size_t without_proof = (size_t)(proof_at - msg);
    size_t am_len = strlen(s->auth_message) + 1 + without_proof;
    char *am = malloc(am_len + 1);
    if (am == NULL)
        return auth_fail(s, err);
    snprintf(am, am_len + 1, "%s,%.*s", s->auth_message, (int)without_proof, msg);
    const auth_scram_keys_t *keys = s->mech == AUTH_MECH_SCRAM_SHA1 ? &s->user->sha1
                                                                     : &s->user->sha256;
    uint8_t client_sig[CRYPTO_MAX_MD_LEN], client_key[CRYPTO_MAX_MD_LEN];
    uint8_t stored[CRYPTO_MAX_MD_LEN], server_sig[CRYPTO_MAX_MD_LEN];
    int rc = crypto_hmac(h, keys->stored_key, hl, am, am_len, client_sig);
    for (size_t i = 0; i < hl; i++)
        client_key[i] = proof[i] ^ client_sig[i];
    if (rc == 0)
        rc = crypto_digest(h, client_key, hl, stored);
    if (rc == 0)
        rc = crypto_hmac(h, keys->server_key, hl, am, am_len, server_sig);
    free(am);
    crypto_cleanse(client_key, sizeof client_key);
    if (rc == -1 || !crypto_equal(stored, keys->stored_key, hl))
        return auth_fail(s, err);
    char final[128] = "v=";
    base64_encode(server_sig, hl, final + 2);
    auth_sasl_succeed(s, s->user);
    if (!s->skip_empty_exchange)
        s->step = AUTH_STEP_FINAL_SENT;
    auth_reply(reply, s->skip_empty_exchange, final, strlen(final));
    return 0;
}
