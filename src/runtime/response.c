/*
 * Handler answers (see response.h): the public tether_response_* and
 * tether_stream_* functions fill a tether_response_t; runtime_response_post
 * sends it with bounded retries on transport errors.
 */
#include "runtime/response.h"

#include "common/base64.h"
#include "runtime/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ERROR_BODY_MAX (256 * 1024) /* error JSON: messages and traces are truncated to fit */
#define REPLY_BODY_MAX (64 * 1024)  /* what we read of the Runtime API's answers */
#define POST_ATTEMPTS  4

static char *resp_strdup(const char *s)
{
    if (s == NULL)
        return NULL;
    size_t n = strlen(s);
    char *p = malloc(n + 1);
    if (p != NULL)
        memcpy(p, s, n + 1);
    return p;
}

static char *resp_vformat(const char *fmt, va_list ap)
{
    buf_t b;
    buf_init(&b, ERROR_BODY_MAX / 2);
    if (buf_vprintf(&b, fmt, ap) != 0) {
        buf_free(&b);
        return resp_strdup("(error message too long)");
    }
    return b.data ? b.data : resp_strdup("");
}

void runtime_response_init(tether_response_t *res, runtime_http_t *http, const char *request_id)
{
    memset(res, 0, sizeof *res);
    res->http = http;
    res->request_id = request_id;
    buf_init(&res->body, TETHER_MAX_RESPONSE);
    buf_init(&res->frames, ERROR_BODY_MAX / 2);
}

void runtime_response_free(tether_response_t *res)
{
    buf_free(&res->body);
    buf_free(&res->frames);
    free(res->content_type);
    free(res->error_type);
    free(res->error_message);
    memset(res, 0, sizeof *res);
}

void runtime_error_init(tether_error_t *err)
{
    err->type = NULL;
    err->message = NULL;
}

void runtime_error_free(tether_error_t *err)
{
    free(err->type);
    free(err->message);
    err->type = NULL;
    err->message = NULL;
}

static int map_buf_rc(int rc)
{
    return rc == BUF_ERR_TOOBIG ? TETHER_ERR_TOOBIG : rc == 0 ? 0 : TETHER_ERR_NOMEM;
}

int tether_response_set(tether_response_t *res, const void *data, size_t len)
{
    if (res == NULL || (data == NULL && len > 0))
        return TETHER_ERR_ARG;
    if (res->streaming)
        return TETHER_ERR_STATE;
    if (len > TETHER_MAX_RESPONSE)
        return TETHER_ERR_TOOBIG;
    buf_reset(&res->body);
    return map_buf_rc(buf_append(&res->body, data, len));
}

int tether_response_append(tether_response_t *res, const void *data, size_t len)
{
    if (res == NULL || (data == NULL && len > 0))
        return TETHER_ERR_ARG;
    if (res->streaming)
        return TETHER_ERR_STATE;
    return map_buf_rc(buf_append(&res->body, data, len));
}

int tether_response_printf(tether_response_t *res, const char *fmt, ...)
{
    if (res == NULL || fmt == NULL)
        return TETHER_ERR_ARG;
    if (res->streaming)
        return TETHER_ERR_STATE;
    size_t before = res->body.len;
    va_list ap;
    va_start(ap, fmt);
    int rc = buf_vprintf(&res->body, fmt, ap);
    va_end(ap);
    if (rc != 0 && res->body.data != NULL) {
        res->body.len = before;
        res->body.data[before] = '\0';
    }
    return map_buf_rc(rc);
}

int tether_response_content_type(tether_response_t *res, const char *type)
{
    if (res == NULL || type == NULL)
        return TETHER_ERR_ARG;
    char *t = resp_strdup(type);
    if (t == NULL)
        return TETHER_ERR_NOMEM;
    free(res->content_type);
    res->content_type = t;
    return 0;
}

int tether_response_error(tether_response_t *res, const char *type, const char *fmt, ...)
{
    if (res == NULL)
        return -1;
    free(res->error_type);
    free(res->error_message);
    res->error_type = resp_strdup(type ? type : "HandlerError");
    if (fmt != NULL) {
        va_list ap;
        va_start(ap, fmt);
        res->error_message = resp_vformat(fmt, ap);
        va_end(ap);
    } else {
        res->error_message = resp_strdup("");
    }
    res->failed = 1;
    return -1;
}

int tether_response_error_frame(tether_response_t *res, const char *frame)
{
    if (res == NULL || frame == NULL)
        return TETHER_ERR_ARG;
    size_t before = res->frames.len;
    int rc = 0;
    if (before > 0)
        rc = buf_append(&res->frames, ",", 1);
    if (rc == 0)
        rc = buf_append_json_cstr(&res->frames, frame);
    if (rc != 0 && res->frames.data != NULL) {
        res->frames.len = before;
        res->frames.data[before] = '\0';
    }
    return map_buf_rc(rc);
}

void tether_error_set(tether_error_t *err, const char *type, const char *fmt, ...)
{
    if (err == NULL)
        return;
    runtime_error_free(err);
    err->type = resp_strdup(type ? type : "InitError");
    if (fmt != NULL) {
        va_list ap;
        va_start(ap, fmt);
        err->message = resp_vformat(fmt, ap);
        va_end(ap);
    }
}

int runtime_error_json(buf_t *out, const char *type, const char *message, const buf_t *frames)
{
    int rc = buf_append_str(out, "{\"errorMessage\":");
    if (rc == 0)
        rc = buf_append_json_cstr(out, message ? message : "");
    if (rc == 0)
        rc = buf_append_str(out, ",\"errorType\":");
    if (rc == 0)
        rc = buf_append_json_cstr(out, type ? type : "HandlerError");
    if (rc == 0)
        rc = buf_append_str(out, ",\"stackTrace\":[");
    if (rc == 0 && frames != NULL && frames->len > 0)
        rc = buf_append(out, frames->data, frames->len);
    if (rc == 0)
        rc = buf_append_str(out, "]}");
    return rc;
}

/* A header-safe copy of an error type: printable ASCII, at most 128 chars. */
static void header_safe(char *dst, size_t cap, const char *src)
{
    size_t n = 0;
    for (; src != NULL && *src && n + 1 < cap && n < 128; src++)
        dst[n++] = (*src > 0x20 && *src < 0x7f) ? *src : '_';
    if (n == 0 && cap > 1) {
        snprintf(dst, cap, "HandlerError");
        return;
    }
    dst[n] = '\0';
}

static void backoff_sleep(int attempt)
{
    long ms = 10L << (attempt * 2); /* 10, 40, 160, 640 ms */
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1)
        ;
}

static runtime_post_result_t classify(long status, const runtime_http_reply_t *reply,
                                      const char *what)
{
    if (status >= 200 && status < 300)
        return RUNTIME_POST_OK;
    if (status == 413)
        return RUNTIME_POST_TOO_LARGE;
    const char *etype = runtime_http_reply_header(reply, "Lambda-Runtime-Function-Error-Type");
    if (status >= 500) {
        runtime_log_error("%s: the Runtime API answered %ld: exiting", what, status);
        return RUNTIME_POST_FATAL;
    }
    /* 400 InvalidRequestID, 403, 404: the answer is lost; say why, go on */
    char msg[200] = "";
    if (reply->body.data != NULL)
        snprintf(msg, sizeof msg, "%s", reply->body.data);
    for (char *c = msg; *c; c++) {
        if ((unsigned char)*c < 0x20)
            *c = ' ';
    }
    runtime_log_error("%s: the Runtime API answered %ld %s %s", what, status, etype ? etype : "",
                      msg);
    return RUNTIME_POST_REJECTED;
}

/* POST path with body; retries transport errors with backoff. */
static runtime_post_result_t post(runtime_http_t *http, const char *path,
                                  const char *const *headers, const void *body, size_t len,
                                  const char *what, const char *then_get)
{
    runtime_http_reply_t reply;
    runtime_http_reply_init(&reply, REPLY_BODY_MAX);
    runtime_http_request_t req = {.method = "POST",
                                  .path = path,
                                  .headers = headers,
                                  .body = body,
                                  .body_len = len,
                                  .max_body = REPLY_BODY_MAX,
                                  .then_get = then_get};
    runtime_post_result_t result = RUNTIME_POST_FATAL;
    for (int attempt = 0; attempt < POST_ATTEMPTS; attempt++) {
        int rc = runtime_http_do(http, &req, &reply);
        if (rc == 0 || rc == RUNTIME_HTTP_ETOOBIG) {
            result = classify(reply.status, &reply, what);
            goto out;
        }
        if (rc == RUNTIME_HTTP_ENOMEM)
            break;
        runtime_log_warn("%s: Runtime API unreachable (attempt %d of %d)", what, attempt + 1,
                         POST_ATTEMPTS);
        if (attempt + 1 < POST_ATTEMPTS)
            backoff_sleep(attempt);
    }
    runtime_log_error("%s: could not reach the Runtime API: exiting", what);
out:
    runtime_http_reply_free(&reply);
    return result;
}

static runtime_post_result_t post_error(runtime_http_t *http, const char *path, const char *type,
                                        const char *message, const buf_t *frames, const char *what,
                                        const char *then_get)
{
    buf_t body;
    buf_init(&body, ERROR_BODY_MAX);
    char safe_type[160];
    header_safe(safe_type, sizeof safe_type, type);
    if (runtime_error_json(&body, safe_type, message, frames) != 0) {
        /* too long: drop the trace and shorten the message */
        buf_reset(&body);
        if (runtime_error_json(&body, safe_type, "(error message too long)", NULL) != 0) {
            buf_free(&body);
            return RUNTIME_POST_FATAL;
        }
    }
    char hdr[256];
    snprintf(hdr, sizeof hdr, "Lambda-Runtime-Function-Error-Type: %s", safe_type);
    const char *headers[] = {hdr, "Content-Type: application/json", NULL};
    runtime_post_result_t r = post(http, path, headers, body.data, body.len, what, then_get);
    buf_free(&body);
    return r;
}

runtime_post_result_t runtime_post_invocation_error(runtime_http_t *http, const char *request_id,
                                                    const char *type, const char *message)
{
    char path[256];
    snprintf(path, sizeof path, "/2018-06-01/runtime/invocation/%s/error", request_id);
    return post_error(http, path, type, message, NULL, "invocation error", NULL);
}

runtime_post_result_t runtime_post_init_error(runtime_http_t *http, const char *type,
                                              const char *message)
{
    return post_error(http, "/2018-06-01/runtime/init/error", type, message, NULL, "init error",
                      NULL);
}

int tether_stream_begin(tether_response_t *res, const char *content_type)
{
    if (res == NULL)
        return TETHER_ERR_ARG;
    if (res->streaming || res->body.len > 0)
        return TETHER_ERR_STATE;
    char path[256], ctype[300];
    snprintf(path, sizeof path, "/2018-06-01/runtime/invocation/%s/response", res->request_id);
    snprintf(ctype, sizeof ctype, "Content-Type: %s",
             content_type ? content_type : "application/octet-stream");
    if (strpbrk(ctype, "\r\n") != NULL)
        snprintf(ctype, sizeof ctype, "Content-Type: application/octet-stream");
    const char *lines[] = {"Lambda-Runtime-Function-Response-Mode: streaming", ctype,
                           "Trailer: Lambda-Runtime-Function-Error-Type, "
                           "Lambda-Runtime-Function-Error-Body",
                           NULL};
    int rc = runtime_http_stream_start(res->http, path, lines);
    res->streaming = 1;
    if (rc != 0) {
        res->stream_broken = 1;
        return TETHER_ERR_IO;
    }
    return 0;
}

int tether_stream_write(tether_response_t *res, const void *data, size_t len)
{
    if (res == NULL || (data == NULL && len > 0))
        return TETHER_ERR_ARG;
    if (!res->streaming)
        return TETHER_ERR_STATE;
    if (res->stream_broken)
        return TETHER_ERR_IO;
    if (runtime_http_stream_write(res->http, data, len) != 0) {
        res->stream_broken = 1;
        return TETHER_ERR_IO;
    }
    return 0;
}

static runtime_post_result_t stream_finish(tether_response_t *res, int failed, const char *type,
                                           const char *message)
{
    const char *trailers[3] = {NULL, NULL, NULL};
    char hdr[256];
    buf_t json, b64, line;
    buf_init(&json, ERROR_BODY_MAX);
    buf_init(&b64, ERROR_BODY_MAX * 2);
    buf_init(&line, ERROR_BODY_MAX * 2 + 64);
    if (failed) {
        char safe_type[160];
        header_safe(safe_type, sizeof safe_type, type);
        snprintf(hdr, sizeof hdr, "Lambda-Runtime-Function-Error-Type: %s", safe_type);
        if (runtime_error_json(&json, safe_type, message, &res->frames) != 0) {
            buf_reset(&json);
            if (runtime_error_json(&json, safe_type, "(error message too long)", NULL) != 0)
                buf_reset(&json);
        }
        if (base64_append(&b64, json.data, json.len) == 0 &&
            buf_printf(&line, "Lambda-Runtime-Function-Error-Body: %s", b64.data) == 0) {
            trailers[0] = hdr;
            trailers[1] = line.data;
        }
    }
    runtime_http_reply_t reply;
    runtime_http_reply_init(&reply, REPLY_BODY_MAX);
    int rc = runtime_http_stream_finish(res->http, trailers, &reply);
    runtime_post_result_t r;
    if (rc == 0 || rc == RUNTIME_HTTP_ETOOBIG) {
        r = classify(reply.status, &reply, "streamed response");
    } else {
        /* the stream cannot be replayed: report the failure as an error if we can */
        runtime_log_warn("streamed response: the connection failed");
        r = runtime_post_invocation_error(res->http, res->request_id, "Runtime.StreamError",
                                          "the response stream was interrupted");
    }
    runtime_http_reply_free(&reply);
    buf_free(&json);
    buf_free(&b64);
    buf_free(&line);
    return r;
}

runtime_post_result_t runtime_response_post(tether_response_t *res, int handler_rc, int then_next)
{
    int failed = res->failed || handler_rc != 0;
    const char *type = res->error_type ? res->error_type : "HandlerError";
    char generic[64];
    const char *message = res->error_message;
    if (message == NULL) {
        snprintf(generic, sizeof generic, "handler returned %d", handler_rc);
        message = generic;
    }
    if (res->streaming)
        return stream_finish(res, failed, type, message);
    /* the loop's next GET /next goes out behind the answer (one send, one
     * wake-up of the platform fewer), unless the loop ends after this event */
    const char *next_path = then_next ? RUNTIME_NEXT_PATH : NULL;
    char path[256];
    if (failed) {
        snprintf(path, sizeof path, "/2018-06-01/runtime/invocation/%s/error", res->request_id);
        return post_error(res->http, path, type, message, &res->frames, "invocation error",
                          next_path);
    }
    snprintf(path, sizeof path, "/2018-06-01/runtime/invocation/%s/response", res->request_id);
    const char *headers[2] = {NULL, NULL};
    char ctype[300];
    if (res->content_type != NULL && strpbrk(res->content_type, "\r\n") == NULL) {
        snprintf(ctype, sizeof ctype, "Content-Type: %s", res->content_type);
        headers[0] = ctype;
    }
    runtime_post_result_t r =
        post(res->http, path, headers, res->body.data, res->body.len, "response", next_path);
    if (r == RUNTIME_POST_TOO_LARGE) {
        runtime_log_warn("response of %zu bytes refused as too large", res->body.len);
        snprintf(path, sizeof path, "/2018-06-01/runtime/invocation/%s/error", res->request_id);
        /* the GET /next sent behind the answer waits on the main connection:
         * the error goes out on a connection of its own */
        runtime_http_t *side =
            runtime_http_pipelined(res->http) ? runtime_http_sibling(res->http) : NULL;
        r = post_error(side != NULL ? side : res->http, path, "Function.ResponseSizeTooLarge",
                       "Response payload size exceeded maximum allowed payload size.", NULL,
                       "invocation error", side != NULL ? NULL : next_path);
        runtime_http_free(side);
    }
    return r;
}
