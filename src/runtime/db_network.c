/*
 * The managed client's network check (see db_network.h).
 */
#include "runtime/db_network.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DB_NET_OPT_OUT "TETHER_DB_ALLOW_PUBLIC_PLAINTEXT"

/* True when the IPv4 address (network byte order) is in a private range. */
static int ipv4_is_private(uint32_t be)
{
    uint32_t a = ntohl(be);
    return (a >> 24) == 127                  /* 127/8 loopback */
           || (a >> 24) == 10                /* 10/8 */
           || (a >> 20) == (172u << 4 | 1)   /* 172.16/12 */
           || (a >> 16) == (192u << 8 | 168) /* 192.168/16 */
           || (a >> 16) == (169u << 8 | 254) /* 169.254/16 link-local */
           || (a >> 22) == (100u << 2 | 1);  /* 100.64/10 CGNAT */
}

int runtime_db_addr_is_private(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_UNIX)
        return 1;
    if (sa->sa_family == AF_INET)
        return ipv4_is_private(((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr);
    if (sa->sa_family != AF_INET6)
        return 0;
    const struct in6_addr *a6 = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
    const uint8_t *b = a6->s6_addr;
    if (IN6_IS_ADDR_LOOPBACK(a6))
        return 1;
    if ((b[0] & 0xfe) == 0xfc) /* fc00::/7 unique local */
        return 1;
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) /* fe80::/10 link-local */
        return 1;
    if (IN6_IS_ADDR_V4MAPPED(a6)) {
        uint32_t v4;
        memcpy(&v4, b + 12, 4);
        return ipv4_is_private(v4);
    }
    return 0;
}

/* Classifies one host: 1 private, 0 public (first public address into addr),
 * -1 unresolvable (the resolver's message into addr). */
static int host_is_private(const mongoc_host_list_t *h, char *addr, size_t cap)
{
    if (h->family == AF_UNIX)
        return 1;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(h->host, NULL, &hints, &res);
    if (rc != 0) {
        snprintf(addr, cap, "%s", gai_strerror(rc));
        return -1;
    }
    int verdict = 1;
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        if (!runtime_db_addr_is_private(ai->ai_addr)) {
            const void *raw =
                ai->ai_family == AF_INET
                    ? (const void *)&((struct sockaddr_in *)(void *)ai->ai_addr)->sin_addr
                    : (const void *)&((struct sockaddr_in6 *)(void *)ai->ai_addr)->sin6_addr;
            if (inet_ntop(ai->ai_family, raw, addr, (socklen_t)cap) == NULL)
                snprintf(addr, cap, "?");
            verdict = 0;
            break;
        }
    }
    freeaddrinfo(res);
    return verdict;
}

int runtime_db_network_check(const mongoc_uri_t *uri, char *why, size_t cap)
{
    why[0] = '\0';
    if (mongoc_uri_get_tls(uri))
        return 0;
    const char *opt = getenv(DB_NET_OPT_OUT);
    if (opt != NULL && strcmp(opt, "1") == 0)
        return 0;
    const char *fix =
        "Use TLS (tls=true; Atlas requires it), or reach the database over a private network "
        "(VPC peering, a private endpoint), or set " DB_NET_OPT_OUT "=1 to allow it anyway";
    const char *srv = mongoc_uri_get_srv_hostname(uri);
    if (srv != NULL) { /* mongodb+srv with tls=false: the hosts are not known before the lookup */
        snprintf(why, cap,
                 "MONGODB_URI asks for plaintext (tls=false) to the SRV name %s, whose hosts "
                 "cannot be shown to be private before they are looked up. %s.",
                 srv, fix);
        return -1;
    }
    for (const mongoc_host_list_t *h = mongoc_uri_get_hosts(uri); h != NULL; h = h->next) {
        char addr[INET6_ADDRSTRLEN + 64];
        int v = host_is_private(h, addr, sizeof addr);
        if (v == 1)
            continue;
        if (v == 0 && strcmp(addr, h->host) == 0)
            snprintf(why, cap,
                     "MONGODB_URI connects to %s in plaintext, a public address: MongoDB's "
                     "guidance for Lambda is a private network or TLS. %s.",
                     h->host_and_port, fix);
        else if (v == 0)
            snprintf(why, cap,
                     "MONGODB_URI connects to %s in plaintext, and %s resolves to %s, a public "
                     "address: MongoDB's guidance for Lambda is a private network or TLS. %s.",
                     h->host_and_port, h->host, addr, fix);
        else
            snprintf(why, cap,
                     "MONGODB_URI connects to %s in plaintext, and %s does not resolve (%s), so "
                     "it cannot be shown to be a private address. %s.",
                     h->host_and_port, h->host, addr, fix);
        return -1;
    }
    return 0;
}
