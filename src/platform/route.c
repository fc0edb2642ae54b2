/*
 * Path routing of the Invoke API and the Runtime API (see route.h).
 */
#include "platform/route.h"

#include <string.h>

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int platform_url_decode(const char *src, size_t n, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = src[i];
        if (c == '%') {
            if (i + 2 >= n)
                return -1;
            int h = hexval(src[i + 1]), l = hexval(src[i + 2]);
            if (h < 0 || l < 0)
                return -1;
            c = (char)(h * 16 + l);
            i += 2;
        }
        if (c == '\0' || o + 1 >= outlen)
            return -1;
        out[o++] = c;
    }
    out[o] = '\0';
    return 0;
}

/* A name the Invoke API accepts in FunctionName, 1 to 64 of AWS's pattern
 * [a-zA-Z0-9-_.]: AWS answers a name with '.' (a handler typed for a function,
 * "orders.create") ResourceNotFoundException, not a validation error. */
static int valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return 0;
    }
    return 1;
}

/* Splits a FunctionName (name, name:qual, ACCOUNT:function:name[:qual],
 * arn:aws:lambda:REGION:ACCOUNT:function:name[:qual]) in place. */
static void split_function_name(char *s, char *name, char *qualifier)
{
    name[0] = '\0';
    qualifier[0] = '\0';
    char *p = s;
    char *fn = strstr(s, ":function:");
    if (strncmp(s, "arn:", 4) == 0 || fn != NULL) {
        if (fn == NULL)
            return;
        p = fn + strlen(":function:");
    }
    char *colon = strchr(p, ':');
    if (colon != NULL) {
        *colon = '\0';
        if (strchr(colon + 1, ':') != NULL)
            return;
        strcpy(qualifier, colon + 1);
    }
    if (valid_name(p))
        strcpy(name, p);
}

/* The Lambda operations on one function: path prefix, the function's segment,
 * then suffix (one trailing '/' allowed). Longer suffixes first: GetFunction's
 * empty one matches only a path with nothing after the name. */
static const struct {
    const char *prefix;
    const char *suffix;
    platform_api_route_t route;
} fn_routes[] = {
    {"/2015-03-31/functions/", "/invocations", PLATFORM_ROUTE_INVOKE},
    {"/2021-11-15/functions/", "/response-streaming-invocations", PLATFORM_ROUTE_INVOKE_STREAM},
    {"/2015-03-31/functions/", "/configuration", PLATFORM_ROUTE_GET_CONFIG},
    {"/2019-09-30/functions/", "/concurrency", PLATFORM_ROUTE_GET_CONCURRENCY},
    {"/2015-03-31/functions/", "", PLATFORM_ROUTE_GET_FUNCTION},
};

/* The function's segment of path for one of fn_routes, or NULL. */
static const char *match_fn_route(const char *path, const char *prefix, const char *suffix,
                                  size_t *seglen /* OUT */)
{
    size_t plen = strlen(path), pre = strlen(prefix), suf = strlen(suffix);
    if (plen <= pre || strncmp(path, prefix, pre) != 0)
        return NULL;
    size_t end = plen;
    if (path[end - 1] == '/')
        end--;
    if (end <= pre + suf || strncmp(path + end - suf, suffix, suf) != 0)
        return NULL;
    const char *seg = path + pre;
    *seglen = end - suf - pre;
    if (memchr(seg, '/', *seglen) != NULL)
        return NULL;
    return seg;
}

platform_api_route_t platform_route_api(const char *path, const char *query,
                                        char name[PLATFORM_NAME_MAX + 1],
                                        char qualifier[PLATFORM_NAME_MAX + 1])
{
    name[0] = '\0';
    qualifier[0] = '\0';
    if (strcmp(path, "/_tether/status") == 0 || strcmp(path, "/_tether/status/") == 0)
        return PLATFORM_ROUTE_STATUS;
    if (strcmp(path, "/2015-03-31/functions") == 0 || strcmp(path, "/2015-03-31/functions/") == 0)
        return PLATFORM_ROUTE_LIST;
    const char *seg = NULL;
    size_t seglen = 0;
    platform_api_route_t route = PLATFORM_ROUTE_UNKNOWN;
    for (size_t i = 0; seg == NULL && i < sizeof fn_routes / sizeof fn_routes[0]; i++) {
        seg = match_fn_route(path, fn_routes[i].prefix, fn_routes[i].suffix, &seglen);
        route = fn_routes[i].route;
    }
    if (seg == NULL)
        return PLATFORM_ROUTE_UNKNOWN;
    char decoded[PLATFORM_NAME_MAX + 1];
    if (platform_url_decode(seg, seglen, decoded, sizeof decoded) != 0)
        return route;
    split_function_name(decoded, name, qualifier);
    /* ?Qualifier= adds to (or must agree with) the qualifier in the name */
    for (const char *q = query; q != NULL && *q != '\0';) {
        const char *amp = strchr(q, '&');
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        if (len > 10 && strncmp(q, "Qualifier=", 10) == 0) {
            char qv[PLATFORM_NAME_MAX + 1];
            if (platform_url_decode(q + 10, len - 10, qv, sizeof qv) != 0) {
                name[0] = '\0';
            } else if (qualifier[0] == '\0') {
                strcpy(qualifier, qv);
            } else if (strcmp(qualifier, qv) != 0) {
                name[0] = '\0';
            }
        }
        q = amp ? amp + 1 : NULL;
    }
    return route;
}

platform_rapi_route_t platform_route_runtime(const char *path, char id[PLATFORM_ID_MAX + 1],
                                             int *post)
{
    static const char inv[] = "/2018-06-01/runtime/invocation/";
    id[0] = '\0';
    *post = 1;
    if (strcmp(path, "/2018-06-01/runtime/invocation/next") == 0) {
        *post = 0;
        return PLATFORM_RAPI_NEXT;
    }
    if (strcmp(path, "/2018-06-01/runtime/init/error") == 0)
        return PLATFORM_RAPI_INIT_ERROR;
    if (strcmp(path, "/2020-01-01/extension/register") == 0)
        return PLATFORM_RAPI_EXT_REGISTER;
    if (strcmp(path, "/2020-01-01/extension/event/next") == 0) {
        *post = 0;
        return PLATFORM_RAPI_EXT_NEXT;
    }
    if (strcmp(path, "/2020-01-01/extension/init/error") == 0)
        return PLATFORM_RAPI_EXT_INIT_ERROR;
    if (strcmp(path, "/2020-01-01/extension/exit/error") == 0)
        return PLATFORM_RAPI_EXT_EXIT_ERROR;
    size_t ilen = sizeof inv - 1;
    if (strncmp(path, inv, ilen) != 0)
        return PLATFORM_RAPI_UNKNOWN;
    const char *rest = path + ilen;
    const char *slash = strchr(rest, '/');
    if (slash == NULL || slash == rest)
        return PLATFORM_RAPI_UNKNOWN;
    platform_rapi_route_t r;
    if (strcmp(slash, "/response") == 0)
        r = PLATFORM_RAPI_RESPONSE;
    else if (strcmp(slash, "/error") == 0)
        r = PLATFORM_RAPI_ERROR;
    else
        return PLATFORM_RAPI_UNKNOWN;
    /* an id too long to be ours routes with id "" so it is an invalid id (400) */
    if ((size_t)(slash - rest) <= PLATFORM_ID_MAX) {
        memcpy(id, rest, (size_t)(slash - rest));
        id[slash - rest] = '\0';
    }
    return r;
}
