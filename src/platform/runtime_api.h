/*
 * The Runtime API of one instance (AWS_LAMBDA_RUNTIME_API, base /2018-06-01)
 * and the Extensions API registration runtimes use to opt into SIGTERM
 * (/2020-01-01/extension). An evhttp server on 127.0.0.1 and a port of its
 * own per instance. Validates requests and answers them in AWS's shapes
 * ({"errorMessage","errorType"} for errors); the state changes they cause are
 * the instance's (instance.h).
 */
#ifndef TETHER_PLATFORM_RUNTIME_API_H
#define TETHER_PLATFORM_RUNTIME_API_H

struct platform_instance;
struct platform_invocation;

/* Listens on 127.0.0.1:0 for inst; sets inst->rapi and inst->rapi_port. -1 on failure. */
__attribute__((warn_unused_result)) int platform_rapi_start(struct platform_instance *inst);
/* Answers held requests (so none leaks) and closes the server. */
void platform_rapi_stop(struct platform_instance *inst);

/* Answers the held GET /next with inv (headers and payload); clears inst->next_req. */
void platform_rapi_send_next(struct platform_instance *inst, struct platform_invocation *inv);
/* Answers a held GET /extension/event/next with a SHUTDOWN event. */
void platform_rapi_send_shutdown(struct platform_instance *inst);

#endif
