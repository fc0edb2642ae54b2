/*
 * Request routing for the platform's two HTTP faces, as pure functions of the
 * request path so they are unit-tested alone: the Invoke API (with every form
 * of FunctionName AWS accepts: name, name:qualifier, partial and full ARN, and
 * ?Qualifier=) and the Runtime / Extensions API of one instance.
 */
#ifndef TETHER_PLATFORM_ROUTE_H
#define TETHER_PLATFORM_ROUTE_H

#include <stddef.h>

#define PLATFORM_NAME_MAX 140 /* FunctionName, ARN forms included */
#define PLATFORM_ID_MAX   64  /* request ids we accept in a Runtime API path */

typedef enum platform_api_route {
    PLATFORM_ROUTE_INVOKE = 0,          /* POST /2015-03-31/functions/{name}/invocations */
    PLATFORM_ROUTE_STATUS = 1,          /* GET /_tether/status */
    PLATFORM_ROUTE_UNKNOWN = 2,         /* anything else */
    PLATFORM_ROUTE_LIST = 3,            /* GET /2015-03-31/functions/ (ListFunctions) */
    PLATFORM_ROUTE_GET_FUNCTION = 4,    /* GET /2015-03-31/functions/{name} */
    PLATFORM_ROUTE_GET_CONFIG = 5,      /* GET /2015-03-31/functions/{name}/configuration */
    PLATFORM_ROUTE_GET_CONCURRENCY = 6, /* GET /2019-09-30/functions/{name}/concurrency */
    PLATFORM_ROUTE_INVOKE_STREAM =
        7, /* POST /2021-11-15/functions/{name}/response-streaming-invocations */
} platform_api_route_t;

/* Routes an Invoke API path (no query). For a route naming a function (every
 * one but STATUS, LIST and UNKNOWN), name gets
 * the bare function name and qualifier the qualifier ("" when none), both
 * URL-decoded; query (may be NULL) may add Qualifier=. A name that cannot be a
 * function name (empty, too long, bad ARN) routes with name "". */
platform_api_route_t platform_route_api(const char *path, const char *query,
                                        char name[PLATFORM_NAME_MAX + 1],
                                        char qualifier[PLATFORM_NAME_MAX + 1]);

typedef enum platform_rapi_route {
    PLATFORM_RAPI_NEXT = 0,           /* GET  /2018-06-01/runtime/invocation/next */
    PLATFORM_RAPI_RESPONSE = 1,       /* POST /2018-06-01/runtime/invocation/{id}/response */
    PLATFORM_RAPI_ERROR = 2,          /* POST /2018-06-01/runtime/invocation/{id}/error */
    PLATFORM_RAPI_INIT_ERROR = 3,     /* POST /2018-06-01/runtime/init/error */
    PLATFORM_RAPI_EXT_REGISTER = 4,   /* POST /2020-01-01/extension/register */
    PLATFORM_RAPI_EXT_NEXT = 5,       /* GET  /2020-01-01/extension/event/next */
    PLATFORM_RAPI_EXT_INIT_ERROR = 6, /* POST /2020-01-01/extension/init/error */
    PLATFORM_RAPI_EXT_EXIT_ERROR = 7, /* POST /2020-01-01/extension/exit/error */
    PLATFORM_RAPI_UNKNOWN = 8,        /* anything else: 404 */
} platform_rapi_route_t;

/* Routes a Runtime API path (no query); id gets the request id of RESPONSE
 * and ERROR ("" when longer than PLATFORM_ID_MAX: no such invocation). *post (OUT) is 1 when the
 * route takes POST, 0 when GET. */
platform_rapi_route_t platform_route_runtime(const char *path, char id[PLATFORM_ID_MAX + 1],
                                             int *post);

/* Decodes %XX escapes of src (n bytes) into out (outlen with NUL); -1 when
 * malformed or too long. */
int platform_url_decode(const char *src, size_t n, char *out, size_t outlen);

#endif
