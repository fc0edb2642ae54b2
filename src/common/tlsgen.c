/*
 * The local CA behind loopback TLS (see tlsgen.h), with OpenSSL 3's EVP and
 * X509 APIs.
 */
#include "common/tlsgen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define TLSGEN_DAYS 30

/* Adds extension nid = value (OpenSSL's config syntax) to cert. */
static int tlsgen_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (ext == NULL)
        return -1;
    int rc = X509_add_ext(cert, ext, -1) == 1 ? 0 : -1;
    X509_EXTENSION_free(ext);
    return rc;
}

/* An unsigned certificate for key with subject cn, issued by issuer (NULL:
 * itself). NULL on failure. */
static X509 *tlsgen_cert(EVP_PKEY *key, const char *cn, X509 *issuer)
{
    X509 *x = X509_new();
    unsigned char serial[16];
    BIGNUM *bn = NULL;
    if (x == NULL || RAND_bytes(serial, sizeof serial) != 1)
        goto fail;
    serial[0] &= 0x7f; /* a positive serial */
    bn = BN_bin2bn(serial, sizeof serial, NULL);
    if (bn == NULL || BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL ||
        X509_set_version(x, 2) != 1 || X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
        X509_gmtime_adj(X509_getm_notAfter(x), 86400L * TLSGEN_DAYS) == NULL ||
        X509_set_pubkey(x, key) != 1)
        goto fail;
    X509_NAME *name = X509_get_subject_name(x);
    if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"tether", -1, -1,
                                   0) != 1 ||
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1,
                                   0) != 1 ||
        X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name) != 1)
        goto fail;
    BN_free(bn);
    return x;
fail:
    BN_free(bn);
    X509_free(x);
    return NULL;
}

/* Writes the PEM of cert (or of key when cert is NULL) to path, mode 0644
 * (0600 for a key). */
static int tlsgen_write(const char *path, X509 *cert, EVP_PKEY *key)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, cert ? 0644 : 0600);
    if (fd == -1)
        return -1;
    FILE *f = fdopen(fd, "w");
    if (f == NULL) {
        close(fd);
        return -1;
    }
    int ok =
        cert ? PEM_write_X509(f, cert) : PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
    if (fclose(f) != 0)
        ok = 0;
    return ok == 1 ? 0 : -1;
}

int tlsgen_make(const char *dir, const char *host, tlsgen_files_t *out, char *err, size_t errlen)
{
    int rc = -1;
    EVP_PKEY *ca_key = EVP_EC_gen("P-256"), *srv_key = EVP_EC_gen("P-256");
    X509 *ca = NULL, *srv = NULL;
    if (ca_key == NULL || srv_key == NULL) {
        snprintf(err, errlen, "cannot make EC P-256 keys");
        goto out;
    }
    ca = tlsgen_cert(ca_key, "tether local CA", NULL);
    if (ca == NULL || tlsgen_ext(ca, ca, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
        tlsgen_ext(ca, ca, NID_key_usage, "critical,keyCertSign,cRLSign") ||
        tlsgen_ext(ca, ca, NID_subject_key_identifier, "hash") ||
        X509_sign(ca, ca_key, EVP_sha256()) == 0) {
        snprintf(err, errlen, "cannot make the local CA certificate");
        goto out;
    }
    /* the names clients connect by: loopback always, and host */
    char san[512] = "DNS:localhost,IP:127.0.0.1,IP:::1";
    if (host != NULL && host[0] != '\0' && strcmp(host, "localhost") != 0 &&
        strcmp(host, "127.0.0.1") != 0 && strcmp(host, "::1") != 0) {
        unsigned char addr[16];
        int is_ip = inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
        size_t used = strlen(san);
        int n = snprintf(san + used, sizeof san - used, ",%s:%s", is_ip ? "IP" : "DNS", host);
        if (n < 0 || (size_t)n >= sizeof san - used) {
            snprintf(err, errlen, "host name too long for the certificate");
            goto out;
        }
    }
    srv = tlsgen_cert(srv_key, "localhost", ca);
    if (srv == NULL || tlsgen_ext(srv, ca, NID_basic_constraints, "critical,CA:FALSE") ||
        tlsgen_ext(srv, ca, NID_key_usage, "critical,digitalSignature") ||
        tlsgen_ext(srv, ca, NID_ext_key_usage, "serverAuth") ||
        tlsgen_ext(srv, ca, NID_subject_alt_name, san) ||
        tlsgen_ext(srv, ca, NID_authority_key_identifier, "keyid:always") ||
        X509_sign(srv, ca_key, EVP_sha256()) == 0) {
        snprintf(err, errlen, "cannot make the server certificate");
        goto out;
    }
    if ((size_t)snprintf(out->ca, sizeof out->ca, "%s/ca.pem", dir) >= sizeof out->ca ||
        (size_t)snprintf(out->cert, sizeof out->cert, "%s/server.pem", dir) >= sizeof out->cert ||
        (size_t)snprintf(out->key, sizeof out->key, "%s/server-key.pem", dir) >= sizeof out->key) {
        snprintf(err, errlen, "folder name too long: %s", dir);
        goto out;
    }
    if (tlsgen_write(out->ca, ca, NULL) != 0 || tlsgen_write(out->cert, srv, NULL) != 0 ||
        tlsgen_write(out->key, NULL, srv_key) != 0) {
        snprintf(err, errlen, "cannot write the certificates in %s: %s", dir, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    X509_free(srv);
    X509_free(ca);
    EVP_PKEY_free(srv_key);
    EVP_PKEY_free(ca_key);
    ERR_clear_error();
    return rc;
}
