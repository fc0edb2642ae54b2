/*
 * The Lambda read API of `tether up`, as the AWS SDKs and CLI parse it:
 * ListFunctions (Marker / MaxItems paging), GetFunction, GetFunctionConfiguration
 * and GetFunctionConcurrency, for the functions of the template. Every
 * function is `$LATEST`, `State: Active` and `LastUpdateStatus: Successful`
 * (the SDK waiters pass at once); its code is local (`RepositoryType: Local`,
 * a file:// Location).
 */
#ifndef TETHER_PLATFORM_LAMBDA_READ_H
#define TETHER_PLATFORM_LAMBDA_READ_H

#include "platform/route.h"

struct platform;
struct evhttp_request;

/* Answers req, one of PLATFORM_ROUTE_LIST, _GET_FUNCTION, _GET_CONFIG,
 * _GET_CONCURRENCY, with name and qualifier as platform_route_api gave them:
 * 200 and the operation's JSON, or AWS's error (404 ResourceNotFoundException
 * for an unknown function, 400 for bad paging parameters, 405 for a method
 * other than GET). */
void platform_lambda_read(struct platform *p, struct evhttp_request *req,
                          platform_api_route_t route, const char *name, const char *qualifier);

#endif
