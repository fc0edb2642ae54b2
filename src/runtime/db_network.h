/*
 * MongoDB's network guidance for Lambda, enforced by the managed client at
 * init: reach the database over a private network (VPC peering, a private
 * endpoint) or over TLS, never in plaintext across the internet. Before any
 * packet goes to the database, every host of the connection string is
 * classified; a plaintext connection to an address outside loopback and the
 * private ranges is refused with an error that says how to fix it.
 *
 * Private: IPv4 127/8 (loopback), 10/8, 172.16/12, 192.168/16 (RFC 1918),
 * 169.254/16 (link-local), 100.64/10 (CGNAT, RFC 6598); IPv6 ::1, fc00::/7
 * (RFC 4193), fe80::/10 (link-local), and IPv4-mapped forms of the above;
 * Unix sockets. Host names are resolved (getaddrinfo) and every address must
 * be private; a name that does not resolve is refused too, since nothing can
 * then show it is private. TETHER_DB_ALLOW_PUBLIC_PLAINTEXT=1 opts out.
 */
#ifndef TETHER_RUNTIME_DB_NETWORK_H
#define TETHER_RUNTIME_DB_NETWORK_H

#include <mongoc/mongoc.h>
#include <stddef.h>
#include <sys/socket.h>

/* True when the address is loopback, private, link-local or CGNAT (above). */
int runtime_db_addr_is_private(const struct sockaddr *sa);

/* Checks uri against the guidance. Returns 0 when it may connect (TLS on,
 * every host private, or the opt-out set), else -1 with the reason and the
 * ways to fix it in why (size cap; names hosts, never credentials). */
__attribute__((warn_unused_result)) int runtime_db_network_check(const mongoc_uri_t *uri, char *why,
                                                                 size_t cap);

#endif
