/*
 * MongoDB connection strings in messages: the part of one that may be
 * logged. A URI can hold a password (user:PASSWORD@), and its options AWS
 * session tokens (authMechanismProperties=AWS_SESSION_TOKEN:...), so a log
 * line or /_tether/status shows only its scheme and hosts.
 */
#ifndef TETHER_PLATFORM_URI_H
#define TETHER_PLATFORM_URI_H

#include <stddef.h>

/*
 * Writes "SCHEME://HOSTS" of uri into out ("mongodb+srv://cluster0.example.net",
 * "mongodb://a:27017,b:27018"): no user, password, database or options. When
 * the hosts cannot be told apart from a password (a malformed URI) it writes
 * "SCHEME://..." and, without a scheme, "(not a URI)". Always NUL-terminates
 * out (outlen > 0); a longer result is cut.
 */
void platform_uri_public(const char *uri, char *out, size_t outlen);

#endif
