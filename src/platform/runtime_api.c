/*
 * One instance's Runtime API and Extensions API server (see runtime_api.h).
 */
#include "platform/runtime_api.h"

#include "common/base64.h"
#include "common/buf.h"
#include "common/log.h"
#include "platform/instance.h"
#include "platform/invocation.h"
#include "platform/invoke_stream.h"
#include "platform/json.h"
#include "platform/platform.h"
#include "platform/reply.h"
#include "platform/route.h"
#include "platform/stream_tap.h"
#include "platform/template.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Bodies past this are refused by evhttp itself; up to it we answer 413
 * ourselves (6 MB for a buffered response, 20 MiB for a stream). */
#define RAPI_MAX_BODY (PLATFORM_STREAM_MAX_RESPONSE + (4 << 20))

static void reply(struct evhttp_request *req, int status, const char *phrase, const char *body)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", "application/json");
    struct evbuffer *out = evbuffer_new();
    if (out != NULL && body != NULL)
        evbuffer_add(out, body, strlen(body));
    evhttp_send_reply(req, status, phrase, out);
    if (out != NULL)
        evbuffer_free(out);
}

/* {"errorMessage": msg, "errorType": type} with status. */
static void reply_error(struct evhttp_request *req, int status, const char *type, const char *msg)
{
    buf_t b;
    buf_init(&b, 4096);
    int rc = buf_append_str(&b, "{\"errorMessage\":");
    if (rc == 0)
        rc = buf_append_json_cstr(&b, msg);
    if (rc == 0)
        rc = buf_append_str(&b, ",\"errorType\":");
    if (rc == 0)
        rc = buf_append_json_cstr(&b, type);
    if (rc == 0)
        rc = buf_append_str(&b, "}");
    const char *phrase = status == 400   ? "Bad Request"
                         : status == 403 ? "Forbidden"
                         : status == 404 ? "Not Found"
                         : status == 405 ? "Method Not Allowed"
                         : status == 413 ? "Request Entity Too Large"
                                         : "Error";
    reply(req, status, phrase, rc == 0 ? b.data : NULL);
    buf_free(&b);
}

static void reply_accepted(struct evhttp_request *req)
{
    reply(req, 202, "Accepted", "{\"status\":\"OK\"}");
}

void platform_rapi_send_next(platform_instance_t *inst, platform_invocation_t *inv)
{
    struct evhttp_request *req = inst->next_req;
    inst->next_req = NULL;
    if (req == NULL)
        return;
    const platform_instance_host_t *host = inst->host;
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    char deadline[32];
    snprintf(deadline, sizeof deadline, "%" PRIu64,
             platform_wall_ms() + (uint64_t)host->spec->timeout_s * 1000);
    evhttp_add_header(h, "Content-Type", "application/json");
    evhttp_add_header(h, "Lambda-Runtime-Aws-Request-Id", inv->id);
    evhttp_add_header(h, "Lambda-Runtime-Deadline-Ms", deadline);
    evhttp_add_header(h, "Lambda-Runtime-Invoked-Function-Arn", host->arn);
    evhttp_add_header(h, "Lambda-Runtime-Trace-Id", inv->trace_id);
    if (inv->client_context != NULL)
        evhttp_add_header(h, "Lambda-Runtime-Client-Context", inv->client_context);
    struct evbuffer *body = inv->payload;
    if (evbuffer_get_length(body) == 0)
        evbuffer_add(body, "{}", 2);
    platform_reply_send(req, 200, "OK", body);
}

void platform_rapi_send_shutdown(platform_instance_t *inst)
{
    struct evhttp_request *req = inst->ext_next_req;
    inst->ext_next_req = NULL;
    if (req == NULL)
        return;
    char body[160];
    snprintf(body, sizeof body,
             "{\"eventType\":\"SHUTDOWN\",\"shutdownReason\":\"spindown\",\"deadlineMs\":%" PRIu64
             "}",
             platform_wall_ms() + 2000);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Lambda-Extension-Event-Identifier",
                      inst->ext_id);
    reply(req, 200, "OK", body);
}

/* The invocation named by id if it is the one in hand and has no result yet. */
static int current_invocation(platform_instance_t *inst, const char *id)
{
    /* STOPPING too: a runtime told to stop (SIGTERM) finishes the event in hand */
    return (inst->state == PLATFORM_INSTANCE_BUSY || inst->state == PLATFORM_INSTANCE_STOPPING) &&
           inst->inv != NULL && inst->inv->delivered_us != 0 && strcmp(inst->inv->id, id) == 0;
}

static void on_response(platform_instance_t *inst, struct evhttp_request *req, const char *id)
{
    if (!current_invocation(inst, id)) {
        reply_error(req, 400, "InvalidRequestID", "Invalid request ID");
        return;
    }
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    struct evkeyvalq *h = evhttp_request_get_input_headers(req);
    size_t len = evbuffer_get_length(in);
    const char *mode = evhttp_find_header(h, "Lambda-Runtime-Function-Response-Mode");
    /* a stream read as one (InvokeWithResponseStream) may reach 20 MiB; a
     * response buffered here for plain Invoke keeps the 6 MB limit */
    platform_stream_t *stream = inst->inv->stream;
    int streamed = stream != NULL && mode != NULL && strcmp(mode, "streaming") == 0;
    size_t limit = streamed ? PLATFORM_STREAM_MAX_RESPONSE : PLATFORM_MAX_RESPONSE;
    if (len > limit || (stream != NULL && platform_stream_too_large(stream))) {
        char msg[128];
        snprintf(msg, sizeof msg, "Exceeded maximum allowed payload size (%zu bytes).", limit);
        reply_error(req, 413, "RequestEntityTooLarge", msg);
        char body[256];
        snprintf(body, sizeof body,
                 "{\"errorMessage\":\"Response payload size exceeded maximum allowed payload size "
                 "(%zu bytes).\",\"errorType\":\"Function.ResponseSizeTooLarge\"}",
                 limit);
        platform_instance_on_result(inst, 1, body, strlen(body));
        return;
    }
    /* a streamed response that failed midway says so in trailers */
    const char *etype = evhttp_find_header(h, "Lambda-Runtime-Function-Error-Type");
    const char *ebody = evhttp_find_header(h, "Lambda-Runtime-Function-Error-Body");
    char *ttype = NULL, *tbody = NULL; /* the same as trailers: evhttp keeps none, the tap does */
    if (etype == NULL && ebody == NULL && mode != NULL && strcmp(mode, "streaming") == 0) {
        ttype = platform_invocation_trailer(inst->inv, "Lambda-Runtime-Function-Error-Type");
        tbody = platform_invocation_trailer(inst->inv, "Lambda-Runtime-Function-Error-Body");
        etype = ttype;
        ebody = tbody;
    }
    if (mode != NULL && strcmp(mode, "streaming") == 0 && (etype != NULL || ebody != NULL)) {
        reply_accepted(req);
        size_t n = ebody ? strlen(ebody) : 0;
        size_t cap = 3 * (n / 4) + 3;
        unsigned char *raw = malloc(cap);
        long dl =
            raw != NULL && n > 0 ? base64_decode(ebody, n, raw, cap, BASE64_PAD_OPTIONAL) : -1;
        size_t rawlen = dl > 0 ? (size_t)dl : 0;
        if (dl >= 0 && platform_json_valid((const char *)raw, rawlen)) {
            platform_instance_on_result(inst, 1, (const char *)raw, rawlen);
        } else {
            char body[512];
            buf_t b;
            buf_init(&b, sizeof body);
            int rc = buf_append_str(&b, "{\"errorMessage\":\"\",\"errorType\":");
            if (rc == 0)
                rc = buf_append_json_cstr(&b, etype ? etype : "Runtime.StreamError");
            if (rc == 0)
                rc = buf_append_str(&b, "}");
            platform_instance_on_result(inst, 1, rc == 0 ? b.data : "{}", rc == 0 ? b.len : 2);
            buf_free(&b);
        }
        free(raw);
        free(ttype);
        free(tbody);
        return;
    }
    const char *body = len ? (const char *)evbuffer_pullup(in, -1) : "";
    platform_instance_on_result(inst, 0, body ? body : "", body ? len : 0);
    /* after the result, which reads req's body: this reply frees req at once */
    struct evbuffer *out = evbuffer_new();
    if (out == NULL) {
        reply_accepted(req);
        return;
    }
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    evbuffer_add(out, "{\"status\":\"OK\"}", 15);
    platform_reply_send(req, 202, "Accepted", out);
    evbuffer_free(out);
}

/* The error document a runtime posted, or one made from its error-type header. */
static void error_body(struct evhttp_request *req, buf_t *out)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    const char *body = len ? (const char *)evbuffer_pullup(in, -1) : NULL;
    if (body != NULL && platform_json_valid(body, len) && buf_append(out, body, len) == 0)
        return;
    buf_reset(out);
    const char *type = evhttp_find_header(evhttp_request_get_input_headers(req),
                                          "Lambda-Runtime-Function-Error-Type");
    int rc = buf_append_str(out, "{\"errorMessage\":");
    if (rc == 0)
        rc = body ? buf_append_json_str(out, body, len > 4096 ? 4096 : len)
                  : buf_append_str(out, "\"\"");
    if (rc == 0)
        rc = buf_append_str(out, ",\"errorType\":");
    if (rc == 0)
        rc = buf_append_json_cstr(out, type ? type : "Unhandled");
    if (rc == 0)
        rc = buf_append_str(out, "}");
    if (rc != 0) {
        buf_reset(out);
        if (buf_append_str(out, "{\"errorMessage\":\"\",\"errorType\":\"Unhandled\"}") != 0)
            buf_reset(out);
    }
}

/* Bytes of a streamed response as they arrive (stream_tap.h), before evhttp
 * has the whole request: on to an InvokeWithResponseStream caller; its
 * trailers, kept for on_response. */
static void on_stream_bytes(void *arg, const char *id, platform_tap_part_t part, const char *data,
                            size_t n)
{
    platform_instance_t *inst = arg;
    if (!current_invocation(inst, id))
        return;
    if (part == PLATFORM_TAP_DATA)
        platform_invocation_stream(inst->inv, data, n);
    else
        platform_invocation_add_trailers(inst->inv, data, n);
}

static struct bufferevent *rapi_bevcb(struct event_base *base, void *arg)
{
    return platform_tap_bufferevent(base, on_stream_bytes, arg);
}

static void on_error(platform_instance_t *inst, struct evhttp_request *req, const char *id)
{
    if (!current_invocation(inst, id)) {
        reply_error(req, 400, "InvalidRequestID", "Invalid request ID");
        return;
    }
    buf_t b;
    buf_init(&b, RAPI_MAX_BODY);
    error_body(req, &b);
    reply_accepted(req);
    platform_instance_on_result(inst, 1, b.data, b.len);
    buf_free(&b);
}

static void on_init_error(platform_instance_t *inst, struct evhttp_request *req)
{
    if (inst->state != PLATFORM_INSTANCE_INIT || inst->init_failed) {
        reply_error(req, 403, "InvalidStateTransition",
                    "State transition from Ready to InitError failed");
        return;
    }
    buf_t b;
    buf_init(&b, RAPI_MAX_BODY);
    error_body(req, &b);
    reply_accepted(req);
    platform_instance_on_init_error(inst, b.data, b.len);
    buf_free(&b);
}

static void on_ext_register(platform_instance_t *inst, struct evhttp_request *req)
{
    struct evkeyvalq *h = evhttp_request_get_input_headers(req);
    const char *name = evhttp_find_header(h, "Lambda-Extension-Name");
    if (name == NULL || name[0] == '\0') {
        reply_error(req, 403, "Extension.InvalidExtensionName",
                    "Missing Lambda-Extension-Name header");
        return;
    }
    if (inst->state != PLATFORM_INSTANCE_INIT) {
        reply_error(req, 403, "Extension.InvalidStateTransition",
                    "Extensions register during init only");
        return;
    }
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    const char *body = len ? (const char *)evbuffer_pullup(in, -1) : NULL;
    /* events is a small array of names: a substring test is enough here */
    inst->ext_wants_shutdown = 0;
    for (size_t i = 0; body != NULL && i + 8 <= len; i++) {
        if (memcmp(body + i, "SHUTDOWN", 8) == 0)
            inst->ext_wants_shutdown = 1;
    }
    platform_uuid(inst->ext_id);
    log_debug(inst->who, "extension registered");
    const platform_function_spec_t *spec = inst->host->spec;
    buf_t b;
    buf_init(&b, 4096);
    int rc = buf_append_str(&b, "{\"functionName\":");
    if (rc == 0)
        rc = buf_append_json_cstr(&b, spec->name);
    if (rc == 0)
        rc = buf_append_str(&b, ",\"functionVersion\":\"$LATEST\",\"handler\":");
    if (rc == 0)
        rc = buf_append_json_cstr(&b, spec->handler ? spec->handler : "");
    if (rc == 0)
        rc = buf_append_str(&b, "}");
    evhttp_add_header(evhttp_request_get_output_headers(req), "Lambda-Extension-Identifier",
                      inst->ext_id);
    reply(req, 200, "OK", rc == 0 ? b.data : "{}");
    buf_free(&b);
}

static void on_ext_next(platform_instance_t *inst, struct evhttp_request *req)
{
    const char *id =
        evhttp_find_header(evhttp_request_get_input_headers(req), "Lambda-Extension-Identifier");
    if (id == NULL || inst->ext_id[0] == '\0' || strcmp(id, inst->ext_id) != 0) {
        reply_error(req, 403, "Extension.UnknownExtensionIdentifier",
                    "Unknown extension identifier");
        return;
    }
    if (inst->ext_next_req != NULL) {
        evhttp_send_error(inst->ext_next_req, 400, "Superseded");
        inst->ext_next_req = NULL;
    }
    inst->ext_next_req = req;
    if (inst->state == PLATFORM_INSTANCE_STOPPING && inst->ext_wants_shutdown)
        platform_rapi_send_shutdown(inst);
}

static void rapi_cb(struct evhttp_request *req, void *arg)
{
    platform_instance_t *inst = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    char id[PLATFORM_ID_MAX + 1];
    int post = 0;
    platform_rapi_route_t r =
        path ? platform_route_runtime(path, id, &post) : PLATFORM_RAPI_UNKNOWN;
    if (r == PLATFORM_RAPI_UNKNOWN) {
        reply_error(req, 404, "UnknownResource", "Unknown resource");
        return;
    }
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    if (m != (post ? EVHTTP_REQ_POST : EVHTTP_REQ_GET)) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", post ? "POST" : "GET");
        reply_error(req, 405, "MethodNotAllowed", "Method not allowed");
        return;
    }
    switch (r) {
    case PLATFORM_RAPI_NEXT:
        if (inst->state == PLATFORM_INSTANCE_BUSY) {
            /* a /next that overtook the result on another connection: hold
             * it until the result arrives (instance.c takes it from there) */
            if (inst->next_req != NULL)
                evhttp_send_error(inst->next_req, 400, "Superseded");
            inst->next_req = req;
            return;
        }
        platform_instance_on_next(inst, req);
        return;
    case PLATFORM_RAPI_RESPONSE:
        on_response(inst, req, id);
        return;
    case PLATFORM_RAPI_ERROR:
        on_error(inst, req, id);
        return;
    case PLATFORM_RAPI_INIT_ERROR:
        on_init_error(inst, req);
        return;
    case PLATFORM_RAPI_EXT_REGISTER:
        on_ext_register(inst, req);
        return;
    case PLATFORM_RAPI_EXT_NEXT:
        on_ext_next(inst, req);
        return;
    case PLATFORM_RAPI_EXT_INIT_ERROR:
    case PLATFORM_RAPI_EXT_EXIT_ERROR:
        log_warn(inst->who, "extension reported an error");
        reply_accepted(req);
        return;
    case PLATFORM_RAPI_UNKNOWN:
        break;
    }
}

int platform_rapi_start(platform_instance_t *inst)
{
    inst->rapi = evhttp_new(inst->host->p->base);
    if (inst->rapi == NULL)
        return -1;
    evhttp_set_allowed_methods(inst->rapi, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                               EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                               EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
    evhttp_set_max_body_size(inst->rapi, RAPI_MAX_BODY);
    evhttp_set_max_headers_size(inst->rapi, 64 * 1024);
    evhttp_set_timeout(inst->rapi, 24 * 3600);
    evhttp_set_gencb(inst->rapi, rapi_cb, inst);
    evhttp_set_bevcb(inst->rapi, rapi_bevcb, inst);
    struct evhttp_bound_socket *s = evhttp_bind_socket_with_handle(inst->rapi, "127.0.0.1", 0);
    if (s == NULL)
        return -1;
    /* accepted connections inherit it: a reply written while the previous
     * one is still unacknowledged (a runtime that pipelines GET /next behind
     * its answer sends nothing in between) must not wait for a delayed ACK */
    int one = 1;
    (void)setsockopt(evhttp_bound_socket_get_fd(s), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in sin;
    socklen_t sl = sizeof sin;
    if (getsockname(evhttp_bound_socket_get_fd(s), (struct sockaddr *)&sin, &sl) != 0)
        return -1;
    inst->rapi_port = ntohs(sin.sin_port);
    return 0;
}

void platform_rapi_stop(platform_instance_t *inst)
{
    if (inst->rapi == NULL)
        return;
    /* answer held requests first: one whose connection already closed is
     * freed only when answered */
    if (inst->next_req != NULL)
        evhttp_send_error(inst->next_req, 500, "Instance stopped");
    if (inst->ext_next_req != NULL)
        evhttp_send_error(inst->ext_next_req, 500, "Instance stopped");
    inst->next_req = NULL;
    inst->ext_next_req = NULL;
    evhttp_free(inst->rapi);
    inst->rapi = NULL;
    platform_tap_release(inst);
}
