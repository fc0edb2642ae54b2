/*
 * TLS for docstore connections (--tls-cert/--tls-key): one OpenSSL server
 * context loaded at start, and a bufferevent that does the TLS handshake
 * before the wire protocol sees any byte. Plain TCP needs none of this.
 */
#ifndef TETHER_DOCSTORE_TLS_H
#define TETHER_DOCSTORE_TLS_H

#include <stddef.h>

struct event_base;
struct bufferevent;
typedef struct ssl_ctx_st SSL_CTX;

/* Loads the PEM certificate chain and private key. 0 and *out, or -1 with a
 * message in msg (which names the file, never key material). */
__attribute__((warn_unused_result)) int docstore_tls_ctx_new(const char *cert, const char *key,
                                                             SSL_CTX **out, char *msg,
                                                             size_t msglen);
void docstore_tls_ctx_free(SSL_CTX *ctx);

/* A bufferevent for an accepted socket that will complete a server-side TLS
 * handshake; it owns fd (closed when freed). NULL on failure (fd then closed). */
struct bufferevent *docstore_tls_bev_new(struct event_base *base, int fd, SSL_CTX *ctx);

/* The last TLS error on this thread, for a log line ("" when none). */
const char *docstore_tls_last_error(void);
/* The TLS error that failed a TLS bufferevent, for a log line ("" when none). */
const char *docstore_tls_bev_error(struct bufferevent *bev);

#endif
