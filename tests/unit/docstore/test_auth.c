/*
 * Unit tests of docstore authentication: a SCRAM client written here from
 * RFC 5802 against the server side, for both mechanisms, right and wrong
 * passwords; MONGODB-AWS with a SigV4 signature computed here, and every way
 * it must fail (wrong secret, token, nonce, stale date, unknown key).
 */
#include "harness.h"

#include "common/base64.h"
#include "common/crypto.h"
#include "docstore/auth/auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char users_path[64], iam_path[64];

static void write_file(char *path, const char *tmpl, const char *text)
{
    strcpy(path, tmpl);
    int fd = mkstemp(path);
    CHECK(fd != -1);
    CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
}

static const char *payload_of(const bson_t *reply, uint32_t *len)
{
    bson_iter_t it;
    const uint8_t *data = NULL;
    bson_subtype_t sub;
    *len = 0;
    if (bson_iter_init_find(&it, reply, "payload") && BSON_ITER_HOLDS_BINARY(&it))
        bson_iter_binary(&it, &sub, len, &data);
    return (const char *)data;
}

/* Runs a SCRAM conversation as a client; returns 0 when the server accepted. */
static int scram_login(docstore_auth_t *a, const char *mech, const char *user, const char *pw)
{
    bool sha1 = strcmp(mech, "SCRAM-SHA-1") == 0;
    crypto_hash_t h = sha1 ? CRYPTO_SHA1 : CRYPTO_SHA256;
    size_t hl = crypto_hash_len(h);
    char first[256];
    snprintf(first, sizeof first, "n,,n=%s,r=clientnonce123", user);
    docstore_error_t err = {0};
    docstore_sasl_t *s = NULL;
    bson_t reply = BSON_INITIALIZER;
    int rc = docstore_sasl_start(a, "app", mech, (const uint8_t *)first, (uint32_t)strlen(first),
                                 true, &s, &reply, &err);
    if (rc == -1) {
        CHECK_INT(err.code, 18);
        bson_destroy(&reply);
        return -1;
    }
    uint32_t len;
    const char *sf = payload_of(&reply, &len);
    char server_first[512];
    snprintf(server_first, sizeof server_first, "%.*s", (int)len, sf);
    bson_destroy(&reply);
    char nonce[128], salt64[128];
    int iters = 0;
    CHECK(sscanf(server_first, "r=%127[^,],s=%127[^,],i=%d", nonce, salt64, &iters) == 3);
    CHECK(strncmp(nonce, "clientnonce123", 14) == 0);
    uint8_t salt[64];
    long saltlen = base64_decode(salt64, strlen(salt64), salt, sizeof salt, BASE64_PADDED);
    CHECK(saltlen > 0);
    char secret[64];
    const char *pwin = pw;
    if (sha1) {
        char in[256];
        snprintf(in, sizeof in, "%s:mongo:%s", user, pw);
        CHECK(crypto_md5_hex(in, strlen(in), secret) == 0);
        pwin = secret;
    }
    uint8_t salted[32], ck[32], sk[32], stored[32], sig[32], proof[32], ssig[32];
    CHECK(crypto_pbkdf2(h, pwin, strlen(pwin), salt, (size_t)saltlen, iters, salted) == 0);
    CHECK(crypto_hmac(h, salted, hl, "Client Key", 10, ck) == 0);
    CHECK(crypto_hmac(h, salted, hl, "Server Key", 10, sk) == 0);
    CHECK(crypto_digest(h, ck, hl, stored) == 0);
    char without_proof[256], am[1024];
    snprintf(without_proof, sizeof without_proof, "c=biws,r=%s", nonce);
    snprintf(am, sizeof am, "%s,%s,%s", first + 3, server_first, without_proof);
    CHECK(crypto_hmac(h, stored, hl, am, strlen(am), sig) == 0);
    for (size_t i = 0; i < hl; i++)
        proof[i] = ck[i] ^ sig[i];
    char proof64[64], final[512];
    base64_encode(proof, hl, proof64);
    snprintf(final, sizeof final, "%s,p=%s", without_proof, proof64);
    bson_init(&reply);
    rc = docstore_sasl_continue(s, time(NULL), (const uint8_t *)final, (uint32_t)strlen(final),
                                &reply, &err);
    if (rc == 0) {
        CHECK(docstore_sasl_done(s));
        const char *v = payload_of(&reply, &len);
        CHECK(crypto_hmac(h, sk, hl, am, strlen(am), ssig) == 0);
        char expect[64] = "v=";
        base64_encode(ssig, hl, expect + 2);
        CHECK(len == strlen(expect) && memcmp(v, expect, len) == 0);
        CHECK_STR(docstore_sasl_principal(s)->user, user);
        CHECK(docstore_principal_can(docstore_sasl_principal(s), "app", true));
        CHECK(!docstore_principal_can(docstore_sasl_principal(s), "other", false));
    } else {
        CHECK_INT(err.code, 18);
        CHECK_STR(err.msg, "Authentication failed.");
    }
    bson_destroy(&reply);
    docstore_sasl_free(s);
    return rc;
}

static void test_scram(void)
{
    docstore_error_t err = {0};
    docstore_auth_t *a = NULL;
    CHECK(docstore_auth_new(users_path, NULL, &a, &err) == 0);
    if (a == NULL)
        return;
    CHECK_INT(scram_login(a, "SCRAM-SHA-256", "app", "s3cret"), 0);
    CHECK_INT(scram_login(a, "SCRAM-SHA-1", "app", "s3cret"), 0);
    CHECK_INT(scram_login(a, "SCRAM-SHA-256", "app", "wrong"), -1);
    CHECK_INT(scram_login(a, "SCRAM-SHA-1", "app", "wrong"), -1);
    CHECK_INT(scram_login(a, "SCRAM-SHA-256", "nobody", "s3cret"), -1);
    bson_t r = BSON_INITIALIZER;
    docstore_auth_append_mechs(a, "app.app", true, true, &r);
    CHECK(bson_has_field(&r, "saslSupportedMechs"));
    bson_destroy(&r);
    docstore_auth_free(a);
}

/* saslSupportedMechs: per user and per enabled mechanism; absent for unknown users. */
static void check_mechs(docstore_auth_t *a, const char *who, bool scram, bool aws,
                        const char *expect_json)
{
    bson_t r = BSON_INITIALIZER;
    docstore_auth_append_mechs(a, who, scram, aws, &r);
    bson_iter_t it;
    if (expect_json == NULL) {
        CHECK(!bson_has_field(&r, "saslSupportedMechs"));
    } else if (bson_iter_init_find(&it, &r, "saslSupportedMechs") && BSON_ITER_HOLDS_ARRAY(&it)) {
        uint32_t len;
        const uint8_t *data;
        bson_iter_array(&it, &len, &data);
        bson_t arr;
        CHECK(bson_init_static(&arr, data, len));
        char *json = bson_array_as_json(&arr, NULL);
        CHECK_STR(json, expect_json);
        bson_free(json);
    } else {
        CHECK(!"saslSupportedMechs missing");
    }
    bson_destroy(&r);
}

static void test_mechs(void)
{
    docstore_error_t err = {0};
    docstore_auth_t *a = NULL;
    CHECK(docstore_auth_new(users_path, iam_path, &a, &err) == 0);
    if (a == NULL)
        return;
    check_mechs(a, "app.app", true, true, "[ \"SCRAM-SHA-1\", \"SCRAM-SHA-256\" ]");
    check_mechs(a, "app.app", false, true, "[ ]");
    check_mechs(a, "$external.arn:aws:iam::123456789012:role/orders-fn", true, true,
                "[ \"MONGODB-AWS\" ]");
    check_mechs(a, "$external.arn:aws:iam::123456789012:role/orders-fn", true, false, "[ ]");
    check_mechs(a, "app.nobody", true, true, NULL);
    check_mechs(a, "no-dot", true, true, NULL);
    /* the conversation remembers its database (saslContinue must stay on it) */
    const char *first = "n,,n=app,r=abcdef";
    docstore_sasl_t *s = NULL;
    bson_t reply = BSON_INITIALIZER;
    CHECK(docstore_sasl_start(a, "app", "SCRAM-SHA-256", (const uint8_t *)first,
                              (uint32_t)strlen(first), true, &s, &reply, &err) == 0);
    if (s != NULL)
        CHECK_STR(docstore_sasl_db(s), "app");
    docstore_sasl_free(s);
    bson_destroy(&reply);
    /* client nonces up to 255 bytes are taken, longer ones refused */
    char longfirst[400];
    for (int n = 200; n <= 300; n += 100) {
        int w = snprintf(longfirst, sizeof longfirst, "n,,n=app,r=");
        memset(longfirst + w, 'x', (size_t)n);
        longfirst[w + n] = '\0';
        s = NULL;
        bson_init(&reply);
        int rc = docstore_sasl_start(a, "app", "SCRAM-SHA-256", (const uint8_t *)longfirst,
                                     (uint32_t)strlen(longfirst), true, &s, &reply, &err);
        CHECK_INT(rc, n == 200 ? 0 : -1);
        docstore_sasl_free(s);
        bson_destroy(&reply);
    }
    docstore_auth_free(a);
}

static void aws_sign(const char *akid, const char *secret, const char *token, const char *date,
                     const uint8_t *nonce64, char *authz)
{
    char n64[100], body_hash[65], creq[2048], sts[512], hx[65];
    uint8_t d[32], k1[32], k2[32];
    base64_encode(nonce64, 64, n64);
    CHECK(crypto_digest(CRYPTO_SHA256, "Action=GetCallerIdentity&Version=2011-06-15", 43, d) ==
          0);
    crypto_hex(d, 32, body_hash);
    const char *sh = token ? "content-length;content-type;host;x-amz-date;x-amz-security-token;"
                             "x-mongodb-gs2-cb-flag;x-mongodb-server-nonce"
                           : "content-length;content-type;host;x-amz-date;"
                             "x-mongodb-gs2-cb-flag;x-mongodb-server-nonce";
    char tokline[1100] = "";
    if (token)
        snprintf(tokline, sizeof tokline, "x-amz-security-token:%s\n", token);
    snprintf(creq, sizeof creq,
             "POST\n/\n\ncontent-length:43\ncontent-type:application/x-www-form-urlencoded\n"
             "host:sts.amazonaws.com\nx-amz-date:%s\n%sx-mongodb-gs2-cb-flag:n\n"
             "x-mongodb-server-nonce:%s\n\n%s\n%s",
             date, tokline, n64, sh, body_hash);
    CHECK(crypto_digest(CRYPTO_SHA256, creq, strlen(creq), d) == 0);
    crypto_hex(d, 32, hx);
    char day[9];
    memcpy(day, date, 8);
    day[8] = '\0';
    snprintf(sts, sizeof sts, "AWS4-HMAC-SHA256\n%s\n%s/us-east-1/sts/aws4_request\n%s", date,
             day, hx);
    char key[200];
    snprintf(key, sizeof key, "AWS4%s", secret);
    CHECK(crypto_hmac(CRYPTO_SHA256, key, strlen(key), day, 8, k1) == 0);
    CHECK(crypto_hmac(CRYPTO_SHA256, k1, 32, "us-east-1", 9, k2) == 0);
    CHECK(crypto_hmac(CRYPTO_SHA256, k2, 32, "sts", 3, k1) == 0);
    CHECK(crypto_hmac(CRYPTO_SHA256, k1, 32, "aws4_request", 12, k2) == 0);
    CHECK(crypto_hmac(CRYPTO_SHA256, k2, 32, sts, strlen(sts), d) == 0);
    crypto_hex(d, 32, hx);
    sprintf(authz,
            "AWS4-HMAC-SHA256 Credential=%s/%s/us-east-1/sts/aws4_request, SignedHeaders=%s, "
            "Signature=%s",
            akid, day, sh, hx);
}

/* One MONGODB-AWS conversation; tamper selects what the client gets wrong. */
static int aws_login(docstore_auth_t *a, const char *akid, const char *secret, const char *token,
                     time_t when, int tamper)
{
    uint8_t cnonce[32];
    memset(cnonce, 7, sizeof cnonce);
    bson_t first = BSON_INITIALIZER;
    bson_append_binary(&first, "r", 1, BSON_SUBTYPE_BINARY, cnonce, 32);
    BSON_APPEND_INT32(&first, "p", 110);
    docstore_error_t err = {0};
    docstore_sasl_t *s = NULL;
    bson_t reply = BSON_INITIALIZER;
    int rc = docstore_sasl_start(a, "$external", "MONGODB-AWS", bson_get_data(&first), first.len,
                                 true, &s, &reply, &err);
    bson_destroy(&first);
    CHECK_INT(rc, 0);
    if (rc == -1)
        return -1;
    uint32_t len;
    const char *p = payload_of(&reply, &len);
    bson_t srv;
    bson_iter_t it;
    const uint8_t *snonce = NULL;
    uint32_t slen = 0;
    bson_subtype_t sub;
    CHECK(bson_init_static(&srv, (const uint8_t *)p, len));
    CHECK(bson_iter_init_find(&it, &srv, "s"));
    bson_iter_binary(&it, &sub, &slen, &snonce);
    CHECK_INT(slen, 64);
    CHECK(memcmp(snonce, cnonce, 32) == 0);
    uint8_t nonce[64];
    memcpy(nonce, snonce, 64);
    bson_destroy(&reply);
    if (tamper == 1)
        nonce[40] ^= 1;
    char date[32], authz[1024];
    struct tm tm;
    gmtime_r(&when, &tm);
    strftime(date, sizeof date, "%Y%m%dT%H%M%SZ", &tm);
    aws_sign(akid, secret, token, date, nonce, authz);
    bson_t second = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&second, "a", authz);
    BSON_APPEND_UTF8(&second, "d", date);
    if (token)
        BSON_APPEND_UTF8(&second, "t", token);
    bson_init(&reply);
    rc = docstore_sasl_continue(s, time(NULL), bson_get_data(&second), second.len, &reply, &err);
    if (rc == 0) {
        CHECK(docstore_sasl_done(s));
        CHECK_STR(docstore_sasl_principal(s)->user, "arn:aws:iam::123456789012:role/orders-fn");
        CHECK(docstore_principal_can(docstore_sasl_principal(s), "app", true));
    } else {
        CHECK_INT(err.code, 18);
    }
    bson_destroy(&second);
    bson_destroy(&reply);
    docstore_sasl_free(s);
    return rc;
}

static void test_aws(void)
{
    docstore_error_t err = {0};
    docstore_auth_t *a = NULL;
    CHECK(docstore_auth_new(users_path, iam_path, &a, &err) == 0);
    if (a == NULL)
        return;
    time_t now = time(NULL);
    CHECK_INT(aws_login(a, "ASIAEXAMPLE", "topsecret", "tok123", now, 0), 0);
    CHECK_INT(aws_login(a, "ASIAEXAMPLE", "wrongsecret", "tok123", now, 0), -1);
    CHECK_INT(aws_login(a, "ASIAEXAMPLE", "topsecret", "othertoken", now, 0), -1);
    CHECK_INT(aws_login(a, "ASIAEXAMPLE", "topsecret", NULL, now, 0), -1);
    CHECK_INT(aws_login(a, "ASIAEXAMPLE", "topsecret", "tok123", now, 1), -1);
    CHECK_INT(aws_login(a, "ASIAEXAMPLE", "topsecret", "tok123", now - 3600, 0), -1);
    CHECK_INT(aws_login(a, "ASIAUNKNOWN", "topsecret", "tok123", now, 0), -1);
    /* MONGODB-AWS is only for $external; unknown mechanisms are 334 */
    docstore_sasl_t *s = NULL;
    bson_t reply = BSON_INITIALIZER;
    CHECK(docstore_sasl_start(a, "app", "MONGODB-AWS", (const uint8_t *)"x", 1, true, &s, &reply,
                              &err) == -1);
    CHECK(docstore_sasl_start(a, "app", "PLAIN", (const uint8_t *)"x", 1, true, &s, &reply,
                              &err) == -1);
    CHECK_INT(err.code, 334);
    bson_destroy(&reply);
    docstore_auth_free(a);
}

/* Users live in a growing array: roles must survive it growing (a regression:
 * the 9th user moved the first eight's roles documents). */
static void test_many_users(void)
{
    char path[64], text[16384];
    size_t n = (size_t)snprintf(text, sizeof text, "[");
    for (int i = 0; i < 30; i++)
        n += (size_t)snprintf(text + n, sizeof text - n,
                              "%s{\"user\": \"u%d\", \"db\": \"app\", \"password\": \"pw%d\", "
                              "\"roles\": [\"readWrite\", {\"role\": \"read\", \"db\": "
                              "\"a-database-with-a-long-name-%d\"}, {\"role\": \"read\", "
                              "\"db\": \"another-long-database-name-%d\"}]}",
                              i ? "," : "", i, i, i, i);
    snprintf(text + n, sizeof text - n, "]");
    write_file(path, "/tmp/tether-users-many.XXXXXX", text);
    docstore_error_t err = {0};
    docstore_auth_t *a = NULL;
    CHECK(docstore_auth_new(path, NULL, &a, &err) == 0);
    if (a != NULL) {
        CHECK_INT(scram_login(a, "SCRAM-SHA-256", "u0", "pw0"), 0);
        CHECK_INT(scram_login(a, "SCRAM-SHA-1", "u29", "pw29"), 0);
        docstore_auth_free(a);
    }
    unlink(path);
}

/* SCRAM-SHA-256 keys come from the SASLprep'd password, SCRAM-SHA-1 keys from
 * the password as given; a password SASLprep refuses is a load error that
 * names the user, not the password. */
static void test_saslprep_passwords(void)
{
    char path[64];
    write_file(path, "/tmp/tether-users-intl.XXXXXX",
               "[{\"user\": \"app\", \"db\": \"app\", \"password\": \"\\u2168\\u00a0x\", "
               "\"roles\": [\"readWrite\"]}]");
    docstore_error_t err = {0};
    docstore_auth_t *a = NULL;
    CHECK(docstore_auth_new(path, NULL, &a, &err) == 0);
    if (a != NULL) {
        CHECK_INT(scram_login(a, "SCRAM-SHA-256", "app", "IX x"), 0);
        CHECK_INT(scram_login(a, "SCRAM-SHA-256", "app", "\xE2\x85\xA8\xC2\xA0x"), -1);
        CHECK_INT(scram_login(a, "SCRAM-SHA-1", "app", "\xE2\x85\xA8\xC2\xA0x"), 0);
        CHECK_INT(scram_login(a, "SCRAM-SHA-1", "app", "IX x"), -1);
        docstore_auth_free(a);
    }
    unlink(path);
    write_file(path, "/tmp/tether-users-intl.XXXXXX",
               "[{\"user\": \"bob\", \"db\": \"app\", \"password\": \"hush\\u0007hush\"}]");
    a = NULL;
    CHECK(docstore_auth_new(path, NULL, &a, &err) == -1);
    CHECK(strstr(err.msg, "bob") != NULL && strstr(err.msg, "SASLprep") != NULL);
    CHECK(strstr(err.msg, "hush") == NULL);
    unlink(path);
}

/* Built-in roles, as MongoDB grants them. */
static void test_roles(void)
{
    docstore_principal_t p;
    memset(&p, 0, sizeof p);
    bson_init(&p.roles);
    bson_t *roles = bson_new_from_json(
        (const uint8_t *)"{\"0\": {\"role\": \"readWrite\", \"db\": \"app\"}, "
                         "\"1\": {\"role\": \"read\", \"db\": \"shared\"}, "
                         "\"2\": {\"role\": \"readAnyDatabase\", \"db\": \"app\"}, "
                         "\"3\": {\"role\": \"dbOwner\", \"db\": \"own\"}, "
                         "\"4\": {\"role\": \"madeUp\", \"db\": \"x\"}}",
        -1, NULL);
    CHECK(roles != NULL);
    if (roles == NULL)
        return;
    bson_copy_to(roles, &p.roles);
    bson_destroy(roles);
    CHECK(docstore_principal_allows(&p, "app", DOCSTORE_ACCESS_WRITE));
    CHECK(!docstore_principal_allows(&p, "app", DOCSTORE_ACCESS_DB_ADMIN));
    CHECK(docstore_principal_allows(&p, "shared", DOCSTORE_ACCESS_READ));
    CHECK(!docstore_principal_allows(&p, "shared", DOCSTORE_ACCESS_WRITE));
    CHECK(docstore_principal_allows(&p, "own", DOCSTORE_ACCESS_DB_ADMIN));
    /* readAnyDatabase only counts on admin; unknown roles grant nothing */
    CHECK(!docstore_principal_allows(&p, "other", DOCSTORE_ACCESS_READ));
    CHECK(!docstore_principal_allows(&p, "x", DOCSTORE_ACCESS_READ));
    CHECK(!docstore_principal_lists_databases(&p));
    bson_t arr = BSON_INITIALIZER;
    docstore_principal_append_privileges(&p, &arr);
    CHECK_INT((int)bson_count_keys(&arr), 3);
    bson_destroy(&arr);
    docstore_principal_clear(&p);
    roles = bson_new_from_json(
        (const uint8_t *)"{\"0\": {\"role\": \"readWriteAnyDatabase\", \"db\": \"admin\"}}",
        -1, NULL);
    bson_copy_to(roles, &p.roles);
    bson_destroy(roles);
    CHECK(docstore_principal_allows(&p, "anything", DOCSTORE_ACCESS_WRITE));
    CHECK(!docstore_principal_allows(&p, "anything", DOCSTORE_ACCESS_DB_ADMIN));
    CHECK(docstore_principal_lists_databases(&p));
    bson_init(&arr);
    docstore_principal_append_privileges(&p, &arr);
    char *json = bson_as_canonical_extended_json(&arr, NULL);
    CHECK(json != NULL && strstr(json, "\"cluster\" : true") != NULL &&
          strstr(json, "\"listDatabases\"") != NULL);
    bson_free(json);
    bson_destroy(&arr);
    bson_destroy(&p.roles);
}

static void test_bad_files(void)
{
    char bad[64];
    docstore_error_t err = {0};
    docstore_auth_t *a = NULL;
    write_file(bad, "/tmp/tether-auth-bad.XXXXXX", "[{\"user\": \"x\"}]");
    CHECK(docstore_auth_new(bad, NULL, &a, &err) == -1);
    CHECK(strstr(err.msg, "needs") != NULL);
    unlink(bad);
    write_file(bad, "/tmp/tether-auth-bad.XXXXXX", "{not json");
    CHECK(docstore_auth_new(bad, NULL, &a, &err) == -1);
    unlink(bad);
    write_file(bad, "/tmp/tether-auth-bad.XXXXXX",
               "[{\"accessKeyId\": \"A\", \"secretAccessKey\": \"hush-hush\"}]");
    CHECK(docstore_auth_new(NULL, bad, &a, &err) == -1);
    CHECK(strstr(err.msg, "hush-hush") == NULL);
    unlink(bad);
    CHECK(docstore_auth_new("/nonexistent/users.json", NULL, &a, &err) == -1);
}

int main(void)
{
    write_file(users_path, "/tmp/tether-users.XXXXXX",
               "[{\"user\": \"app\", \"db\": \"app\", \"password\": \"s3cret\", \"roles\": "
               "[\"readWrite\"]},"
               " {\"user\": \"arn:aws:iam::123456789012:role/orders-fn\", \"db\": \"$external\","
               "  \"roles\": [{\"role\": \"readWrite\", \"db\": \"app\"}]}]");
    write_file(iam_path, "/tmp/tether-iam.XXXXXX",
               "[{\"accessKeyId\": \"ASIAEXAMPLE\", \"secretAccessKey\": \"topsecret\","
               " \"sessionToken\": \"tok123\", \"arn\": "
               "\"arn:aws:iam::123456789012:role/orders-fn\"}]");
    RUN(test_scram);
    RUN(test_aws);
    RUN(test_mechs);
    RUN(test_many_users);
    RUN(test_saslprep_passwords);
    RUN(test_roles);
    RUN(test_bad_files);
    unlink(users_path);
    unlink(iam_path);
    return TEST_REPORT();
}
