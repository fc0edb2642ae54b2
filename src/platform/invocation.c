/*
 * Invocations: creation, their log tail, and the one place that answers an
 * invoker with a function's result (see invocation.h).
 */
#include "platform/invocation.h"

#include "common/base64.h"
#include "common/buf.h"
#include "common/log.h"
#include "platform/function.h"
#include "platform/invoke_stream.h"
#include "platform/json.h"
#include "platform/platform.h"
#include "platform/recent.h"
#include "platform/reply.h"
#include "platform/template.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <bson/bson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TRAILERS_MAX (1024 * 1024) /* libtether's error body: 256 KB of JSON, base64 */

/* X-Ray style: Root=1-{8 hex epoch seconds}-{24 hex};Parent={16 hex};Sampled=0 */
static void make_trace_id(char *out, size_t outlen)
{
    char root[25], parent[17];
    platform_fast_chars(root, 24, "0123456789abcdef");
    platform_fast_chars(parent, 16, "0123456789abcdef");
    snprintf(out, outlen, "Root=1-%08llx-%s;Parent=%s;Sampled=0",
             (unsigned long long)(platform_wall_ms() / 1000), root, parent);
}

platform_invocation_t *platform_invocation_new(struct platform_function *fn,
                                               platform_invoke_type_t type,
                                               struct evhttp_request *req, struct evbuffer *payload,
                                               char *client_context)
{
    platform_invocation_t *inv = calloc(1, sizeof *inv);
    if (inv == NULL) {
        if (payload != NULL)
            evbuffer_free(payload);
        free(client_context);
        return NULL;
    }
    platform_uuid(inv->id);
    inv->fn = fn;
    inv->type = type;
    inv->req = req;
    inv->payload = payload;
    inv->client_context = client_context;
    make_trace_id(inv->trace_id, sizeof inv->trace_id);
    inv->created_us = platform_now_us();
    buf_init(&inv->trailers, TRAILERS_MAX);
    return inv;
}

void platform_invocation_add_trailers(platform_invocation_t *inv, const char *data, size_t n)
{
    if (buf_append(&inv->trailers, data, n) != 0)
        inv->trailers.max = inv->trailers.len; /* no later line is half there */
}

char *platform_invocation_trailer(const platform_invocation_t *inv, const char *name)
{
    if (inv->trailers.data == NULL)
        return NULL;
    size_t nl = strlen(name);
    const char *p = inv->trailers.data, *end = p + inv->trailers.len;
    while (p < end) {
        const char *lf = memchr(p, '\n', (size_t)(end - p));
        if (lf == NULL)
            break; /* a line cut by the cap */
        if ((size_t)(lf - p) > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1, *ve = lf;
            while (v < ve && (*v == ' ' || *v == '\t'))
                v++;
            while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            char *out = malloc((size_t)(ve - v) + 1);
            if (out != NULL) {
                memcpy(out, v, (size_t)(ve - v));
                out[ve - v] = '\0';
            }
            return out;
        }
        p = lf + 1;
    }
    return NULL;
}

void platform_invocation_log(platform_invocation_t *inv, const char *line, size_t len)
{
    platform_tail_append(&inv->tail, line, len);
    platform_tail_append(&inv->tail, "\n", 1);
}

int platform_invocation_stream_answer(platform_invocation_t *inv)
{
    inv->stream = platform_stream_new(inv->req, inv->id);
    return inv->stream != NULL ? 0 : -1;
}

void platform_invocation_stream(platform_invocation_t *inv, const char *data, size_t n)
{
    if (inv->stream != NULL)
        platform_stream_chunk(inv->stream, data, n);
}

static void invocation_free(platform_invocation_t *inv)
{
    buf_free(&inv->trailers);
    if (inv->stream != NULL) /* not answered: never the case once a caller waits */
        platform_stream_free(inv->stream);
    if (inv->payload != NULL)
        evbuffer_free(inv->payload);
    if (inv->retry_timer != NULL)
        event_free(inv->retry_timer);
    free(inv->event_copy);
    free(inv->client_context);
    free(inv);
}

void platform_invocation_discard(platform_invocation_t *inv)
{
    invocation_free(inv);
}

/* The string field key of a JSON error document, or NULL. */
static char *error_field(const bson_t *doc, const char *key)
{
    bson_iter_t it;
    if (!bson_iter_init_find(&it, doc, key) || !BSON_ITER_HOLDS_UTF8(&it))
        return NULL;
    return bson_strdup(bson_iter_utf8(&it, NULL));
}

/* The end of a streamed answer: the rest of the response, then InvokeComplete. */
static void finish_stream(platform_invocation_t *inv, int function_error, const char *body,
                          size_t len)
{
    platform_stream_t *s = inv->stream;
    inv->stream = NULL;
    size_t sent = platform_stream_sent(s);
    if (!function_error && len > sent)
        platform_stream_chunk(s, body + sent, len - sent);
    char *code = NULL, *details = NULL;
    if (function_error) {
        bson_error_t err;
        bson_t *doc =
            len > 0 ? bson_new_from_json((const uint8_t *)body, (ssize_t)len, &err) : NULL;
        if (doc != NULL) {
            code = error_field(doc, "errorType");
            details = error_field(doc, "errorMessage");
            bson_destroy(doc);
        }
        if (code == NULL)
            code = bson_strdup("Unhandled");
        if (details == NULL)
            details = bson_strndup(len > 0 ? body : "", len);
    }
    char *tail = NULL;
    if (inv->want_tail) {
        char raw[PLATFORM_TAIL_MAX];
        tail = malloc(BASE64_ENCODED_LEN(PLATFORM_TAIL_MAX) + 1);
        if (tail != NULL)
            base64_encode(raw, platform_tail_copy(&inv->tail, raw), tail);
    }
    platform_stream_finish(s, code, details, tail);
    free(tail);
    bson_free(code);
    bson_free(details);
}

void platform_invocation_finish(platform_invocation_t *inv, int function_error, const char *body,
                                size_t len)
{
    /* the live page's recent invocations */
    platform_recent_add(inv->id, inv->fn ? inv->fn->spec->name : "",
                        inv->type == PLATFORM_INVOKE_EVENT, function_error != 0,
                        inv->delivered_us ? (double)(platform_now_us() - inv->delivered_us) / 1000.0
                                          : -1,
                        &inv->tail);
    if (inv->on_finish != NULL && inv->on_finish(inv, function_error, body, len))
        return; /* a failed Event runs again later (AWS's retries) */
    if (inv->type == PLATFORM_INVOKE_EVENT || inv->req == NULL) {
        invocation_free(inv);
        return;
    }
    if (inv->stream != NULL) {
        finish_stream(inv, function_error, body, len);
        invocation_free(inv);
        return;
    }
    struct evhttp_request *req = inv->req;
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", "application/json");
    evhttp_add_header(h, "X-Amzn-RequestId", inv->id);
    evhttp_add_header(h, "X-Amz-Executed-Version", "$LATEST");
    if (function_error)
        evhttp_add_header(h, "X-Amz-Function-Error", "Unhandled");
    if (inv->want_tail) {
        char raw[PLATFORM_TAIL_MAX];
        char enc[BASE64_ENCODED_LEN(PLATFORM_TAIL_MAX) + 1];
        size_t n = platform_tail_copy(&inv->tail, raw);
        base64_encode(raw, n, enc);
        evhttp_add_header(h, "X-Amz-Log-Result", enc);
    }
    struct evbuffer *out = evbuffer_new();
    if (out != NULL && len > 0 && evbuffer_add(out, body, len) != 0) {
        evbuffer_free(out);
        out = NULL;
    }
    if (out == NULL) {
        platform_reply_send_error(req, 500, "ServiceException", "out of memory", NULL, inv->id);
    } else {
        platform_reply_send(req, 200, "OK", out);
        evbuffer_free(out);
    }
    invocation_free(inv);
}

void platform_invocation_fail(platform_invocation_t *inv, const char *error_type, const char *fmt,
                              ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    buf_t b;
    buf_init(&b, 4096);
    int rc = buf_append_str(&b, "{\"errorType\":");
    if (rc == 0)
        rc = buf_append_json_cstr(&b, error_type);
    if (rc == 0)
        rc = buf_append_str(&b, ",\"errorMessage\":");
    if (rc == 0)
        rc = buf_append_json_cstr(&b, msg);
    if (rc == 0)
        rc = buf_append_str(&b, "}");
    if (rc != 0) {
        buf_reset(&b);
        if (buf_append_str(&b, "{\"errorType\":\"Runtime.Unknown\",\"errorMessage\":\"\"}") != 0)
            buf_reset(&b);
    }
    platform_invocation_finish(inv, 1, b.data, b.len);
    buf_free(&b);
}

void platform_invocation_reject(platform_invocation_t *inv, int status, const char *error_type,
                                const char *message, const char *reason)
{
    if (inv->stream != NULL && platform_stream_started(inv->stream)) {
        platform_stream_t *s = inv->stream;
        inv->stream = NULL;
        platform_stream_finish(s, error_type, message, NULL);
    } else if (inv->req != NULL)
        platform_reply_send_error(inv->req, status, error_type, message, reason, inv->id);
    invocation_free(inv);
}
