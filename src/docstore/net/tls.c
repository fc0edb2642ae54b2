/* TLS contexts and TLS bufferevents for docstore connections; see tls.h. */
#include "docstore/net/tls.h"

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/util.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>

const char *docstore_tls_last_error(void)
{
    static __thread char buf[256];
    unsigned long e = ERR_get_error();
    if (e == 0)
        return "";
    ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    return buf;
}

const char *docstore_tls_bev_error(struct bufferevent *bev)
{
    static __thread char buf[256];
    unsigned long e = bufferevent_get_openssl_error(bev);
    if (e == 0)
        return "";
    ERR_error_string_n(e, buf, sizeof buf);
    return buf;
}

int docstore_tls_ctx_new(const char *cert, const char *key, SSL_CTX **out, char *msg,
                         size_t msglen)
{
    *out = NULL;
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL) {
        snprintf(msg, msglen, "TLS: cannot create a context: %s", docstore_tls_last_error());
        return -1;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
    /* Drivers often close without close_notify: an end of stream, not an error. */
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
        snprintf(msg, msglen, "TLS: cannot load the certificate %s: %s", cert,
                 docstore_tls_last_error());
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
        snprintf(msg, msglen, "TLS: cannot load the private key %s: %s", key,
                 docstore_tls_last_error());
        goto fail;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        snprintf(msg, msglen, "TLS: the key %s does not match the certificate %s", key, cert);
        ERR_clear_error();
        goto fail;
    }
    *out = ctx;
    return 0;
fail:
    SSL_CTX_free(ctx);
    return -1;
}

void docstore_tls_ctx_free(SSL_CTX *ctx)
{
    SSL_CTX_free(ctx);
}

struct bufferevent *docstore_tls_bev_new(struct event_base *base, int fd, SSL_CTX *ctx)
{
    SSL *ssl = SSL_new(ctx);
    if (ssl == NULL) {
        evutil_closesocket(fd);
        return NULL;
    }
    struct bufferevent *bev = bufferevent_openssl_socket_new(
        base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
    if (bev == NULL) {
        SSL_free(ssl);
        evutil_closesocket(fd);
        return NULL;
    }
    /* A peer that vanishes without close_notify is an ordinary close here. */
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    return bev;
}
