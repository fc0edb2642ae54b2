/*
 * InvokeWithResponseStream answers (see invoke_stream.h).
 *
 * Each event is framed into one buffer and handed to evhttp as one HTTP
 * chunk. evhttp keeps the request while a chunked reply is under way; if the
 * caller goes, evhttp detaches the request from its connection (chunks are
 * then dropped) and evhttp_send_reply_end frees it.
 */
#include "platform/invoke_stream.h"

#include "common/buf.h"
#include "common/log.h"
#include "platform/eventstream.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVENT_MAX (PLATFORM_STREAM_MAX_RESPONSE + 65536) /* one event: a whole response, framed */

struct platform_stream {
    struct evhttp_request *req; /* the caller's request, until finished */
    char id[37];                /* X-Amzn-RequestId */
    int started;                /* the 200 went out */
    size_t sent;                /* response bytes sent in PayloadChunks */
    int too_large;              /* the function streamed past PLATFORM_STREAM_MAX_RESPONSE */
};

platform_stream_t *platform_stream_new(struct evhttp_request *req, const char *request_id)
{
    platform_stream_t *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->req = req;
    snprintf(s->id, sizeof s->id, "%s", request_id);
    return s;
}

static void start(platform_stream_t *s)
{
    if (s->started)
        return;
    s->started = 1;
    struct evkeyvalq *h = evhttp_request_get_output_headers(s->req);
    evhttp_add_header(h, "Content-Type", "application/vnd.amazon.eventstream");
    evhttp_add_header(h, "X-Amzn-RequestId", s->id);
    evhttp_add_header(h, "X-Amz-Executed-Version", "$LATEST");
    /* evhttp_send_reply_start needs the connection; a caller that has gone
     * is detached and only evhttp_send_reply_end (which frees it) is safe */
    if (evhttp_request_get_connection(s->req) != NULL)
        evhttp_send_reply_start(s->req, 200, "OK");
}

static void send_event(platform_stream_t *s, const char *type, const char *content_type,
                       const void *payload, size_t len)
{
    if (evhttp_request_get_connection(s->req) == NULL)
        return;
    buf_t b;
    buf_init(&b, EVENT_MAX);
    if (platform_eventstream_append_event(&b, type, content_type, payload, len) != 0) {
        log_error("platform", "request %s: cannot frame a %s event of %zu bytes", s->id, type, len);
        buf_free(&b);
        return;
    }
    struct evbuffer *out = evbuffer_new();
    if (out != NULL && evbuffer_add(out, b.data, b.len) == 0)
        evhttp_send_reply_chunk(s->req, out);
    if (out != NULL)
        evbuffer_free(out);
    buf_free(&b);
}

void platform_stream_chunk(platform_stream_t *s, const void *data, size_t len)
{
    if (len > PLATFORM_STREAM_MAX_RESPONSE - s->sent) {
        s->too_large = 1; /* the caller gets the first 20 MiB, then the error */
        len = PLATFORM_STREAM_MAX_RESPONSE - s->sent;
    }
    if (len == 0)
        return;
    start(s);
    send_event(s, "PayloadChunk", "application/octet-stream", data, len);
    s->sent += len;
}

size_t platform_stream_sent(const platform_stream_t *s)
{
    return s->sent;
}

int platform_stream_too_large(const platform_stream_t *s)
{
    return s->too_large;
}

int platform_stream_started(const platform_stream_t *s)
{
    return s->started;
}

void platform_stream_finish(platform_stream_t *s, const char *error_code, const char *error_details,
                            const char *log_result)
{
    start(s);
    buf_t b;
    buf_init(&b, 64 * 1024);
    int rc = buf_append_str(&b, "{");
    const char *sep = "";
    if (rc == 0 && error_code != NULL) {
        rc = buf_append_str(&b, "\"ErrorCode\":");
        if (rc == 0)
            rc = buf_append_json_cstr(&b, error_code);
        sep = ",";
    }
    if (rc == 0 && error_details != NULL) {
        rc = buf_append_str(&b, sep);
        if (rc == 0)
            rc = buf_append_str(&b, "\"ErrorDetails\":");
        if (rc == 0)
            rc = buf_append_json_cstr(&b, error_details);
        sep = ",";
    }
    if (rc == 0 && log_result != NULL) {
        rc = buf_append_str(&b, sep);
        if (rc == 0)
            rc = buf_append_str(&b, "\"LogResult\":");
        if (rc == 0)
            rc = buf_append_json_cstr(&b, log_result);
    }
    if (rc == 0)
        rc = buf_append_str(&b, "}");
    if (rc != 0) {
        buf_reset(&b);
        if (buf_append_str(&b, "{\"ErrorCode\":\"ServiceException\"}") != 0)
            buf_reset(&b);
    }
    send_event(s, "InvokeComplete", "application/json", b.data, b.len);
    buf_free(&b);
    evhttp_send_reply_end(s->req);
    free(s);
}

void platform_stream_free(platform_stream_t *s)
{
    free(s);
}
