/*
 * SASLprep (RFC 4013: the stringprep profile of RFC 3454) for SCRAM-SHA-256
 * passwords, which MongoDB's auth spec has both sides prepare: the client
 * before it derives its proof, the server before it derives the stored keys.
 * ASCII input takes a fast path (SASLprep leaves printable ASCII as it is and
 * prohibits ASCII control characters); anything else goes through ICU's
 * RFC 4013 profile, as MongoDB's own server does: the mapping (non-ASCII
 * spaces to U+0020, "commonly mapped to nothing" removed), NFKC with Unicode
 * 3.2 data, the prohibited tables, unassigned code points (stored strings)
 * and the bidirectional rule.
 */
#ifndef TETHER_DOCSTORE_SASLPREP_H
#define TETHER_DOCSTORE_SASLPREP_H

#include <stddef.h>

/* Prepares the NUL-terminated UTF-8 string in. 0 and *out (a new
 * NUL-terminated UTF-8 string the caller cleanses and frees), or -1 and *why,
 * a fixed reason that names the rule broken, never the input. */
__attribute__((warn_unused_result)) int docstore_saslprep(const char *in, char **out,
                                                          const char **why);

#endif
