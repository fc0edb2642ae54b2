/*
 * A local certificate authority for loopback TLS: what `tether up --db-tls`
 * (and `tether db --tls-local DIR`) make at start so that the embedded
 * docstore accepts only TLS, as Atlas does, without the developer making
 * certificates. One EC P-256 CA and one server certificate it signs, for
 * `localhost`, 127.0.0.1, ::1 and the given host, valid for 30 days; the CA's
 * key is not kept (nothing else is ever signed with it).
 */
#ifndef TETHER_COMMON_TLSGEN_H
#define TETHER_COMMON_TLSGEN_H

#include <stddef.h>

typedef struct tlsgen_files {
    char ca[4096];   /* DIR/ca.pem: the CA certificate clients verify against */
    char cert[4096]; /* DIR/server.pem: the server certificate */
    char key[4096];  /* DIR/server-key.pem: its private key, mode 0600 */
} tlsgen_files_t;

/* Makes the CA and the server certificate for host (an address or a name;
 * may be NULL) in dir, which must exist and be private to this user; fills
 * out with the paths. Returns 0, or -1 with a one-line reason in err. */
__attribute__((warn_unused_result)) int tlsgen_make(const char *dir, const char *host,
                                                    tlsgen_files_t *out, char *err, size_t errlen);

#endif
