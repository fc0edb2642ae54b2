/*
 * The loggable part of a MongoDB connection string (see uri.h). The hosts
 * are shown only when every one of them reads as a host: whatever else sits
 * between "://" and the path may be a password typed without its escapes.
 */
#include "platform/uri.h"

#include <stdio.h>
#include <string.h>

/* A host name or address, with an optional :PORT. */
static int host_ok(const char *h, size_t n)
{
    size_t i = 0;
    if (n > 0 && h[0] == '[') { /* [IPv6] */
        for (i = 1; i < n && h[i] != ']'; i++) {
            char c = h[i];
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
                  c == ':' || c == '.'))
                return 0;
        }
        if (i == n || i == 1)
            return 0;
        i++;
    } else {
        size_t start = i;
        for (; i < n && h[i] != ':'; i++) {
            char c = h[i];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '-' || c == '_'))
                return 0;
        }
        if (i == start)
            return 0;
    }
    if (i == n)
        return 1;
    if (h[i] != ':' || i + 1 == n || n - i - 1 > 5)
        return 0;
    for (i++; i < n; i++) {
        if (h[i] < '0' || h[i] > '9')
            return 0;
    }
    return 1;
}

void platform_uri_public(const char *uri, char *out, size_t outlen)
{
    const char *sep = strstr(uri, "://");
    size_t scheme = sep != NULL ? (size_t)(sep - uri) : 0;
    for (size_t i = 0; i < scheme; i++) {
        char c = uri[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '-' || c == '.'))
            scheme = 0;
    }
    if (scheme == 0) {
        snprintf(out, outlen, "(not a URI)");
        return;
    }
    /* the hosts start after the last '@' (a password may hold '/', '?' or
     * '@' its writer forgot to escape) and end at the path or the options */
    const char *hosts = sep + 3;
    const char *at = strrchr(hosts, '@');
    if (at != NULL)
        hosts = at + 1;
    size_t len = strcspn(hosts, "/?#");
    int ok = len > 0;
    for (size_t i = 0; ok && i <= len;) {
        size_t n = strcspn(hosts + i, ",/?#");
        if (i + n > len)
            n = len - i;
        ok = host_ok(hosts + i, n);
        i += n + 1;
    }
    if (ok)
        snprintf(out, outlen, "%.*s://%.*s", (int)scheme, uri, (int)len, hosts);
    else
        snprintf(out, outlen, "%.*s://...", (int)scheme, uri);
}
