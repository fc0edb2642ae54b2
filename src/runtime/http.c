/*
 * Runtime API HTTP client on libcurl (see http.h). One easy handle, reused for
 * every request, lives in a multi handle: the multi keeps the connection cache
 * (keep-alive to the Runtime API) and curl_multi_wait() lets a request watch
 * the SIGTERM pipe too. Streamed uploads pause the read callback when the
 * handler has nothing more to give and resume it on the next write.
 */
#include "runtime/http.h"

#include "runtime/log.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct runtime_http {
    CURLM *multi;
    CURL *easy;
    char *base;                   /* "http://host:port" */
    int interrupt_fd;             /* readable means "stop waiting", or -1 */
    runtime_http_reply_t *reply;  /* where the transfer in progress writes */
    struct curl_slist *req_headers;/* this request's headers, owned */
    int active;                   /* the easy handle is in the multi */
    int done;                     /* the transfer in progress finished */
    CURLcode result;              /* its result */
    int too_big;                  /* the body passed reply->body.max */
    /* streamed upload */
    runtime_http_reply_t stream_reply;
    const char *up_data;          /* what the current write supplies (caller owns) */
    size_t up_len;
    size_t up_off;                /* bytes of up_data curl has taken */
    int up_eof;                   /* finish: no more data */
    int up_paused;                /* the read callback paused the transfer */
    struct curl_slist *trailers;  /* for the trailer callback (caller owns) */
    char errbuf[CURL_ERROR_SIZE];
};

static char *http_strndup(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p != NULL) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static void reply_clear(runtime_http_reply_t *r)
{
    for (size_t i = 0; i < r->n_headers; i++) {
        free(r->headers[i].name);
        free(r->headers[i].value);
    }
    r->n_headers = 0;
    r->malformed_headers = 0;
    r->status = 0;
    runtime_buf_reset(&r->body);
}

void runtime_http_reply_init(runtime_http_reply_t *r, size_t max_body)
{
    memset(r, 0, sizeof *r);
    runtime_buf_init(&r->body, max_body);
}

void runtime_http_reply_free(runtime_http_reply_t *r)
{
    reply_clear(r);
    runtime_buf_free(&r->body);
}

const char *runtime_http_reply_header(const runtime_http_reply_t *r, const char *name)
{
    for (size_t i = 0; i < r->n_headers; i++) {
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    }
    return NULL;
}

/* One header line: "Name: value\r\n", split at the first colon only. */
static size_t header_cb(char *line, size_t size, size_t nitems, void *ud)
{
    runtime_http_t *h = ud;
    runtime_http_reply_t *r = h->reply;
    size_t n = size * nitems;
    if (r == NULL)
        return n;
    size_t len = n;
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    if (len == 0)
        return n;
    if (len >= 5 && memcmp(line, "HTTP/", 5) == 0) {
        /* a new status line (after a 100 Continue, say): start over */
        reply_clear(r);
        return n;
    }
    const char *colon = memchr(line, ':', len);
    if (colon == NULL || colon == line) {
        r->malformed_headers++;
        return n;
    }
    size_t name_len = (size_t)(colon - line);
    while (name_len > 0 && isspace((unsigned char)line[name_len - 1]))
        name_len--;
    const char *v = colon + 1;
    const char *end = line + len;
    while (v < end && isspace((unsigned char)*v))
        v++;
    while (end > v && isspace((unsigned char)end[-1]))
        end--;
    if (name_len == 0) {
        r->malformed_headers++;
        return n;
    }
    if (r->n_headers >= RUNTIME_HTTP_MAX_HEADERS)
        return n; /* more than any Runtime API reply has: ignore the rest */
    char *hn = http_strndup(line, name_len);
    char *hv = http_strndup(v, (size_t)(end - v));
    if (hn == NULL || hv == NULL) {
        free(hn);
        free(hv);
        return 0; /* aborts the transfer */
    }
    r->headers[r->n_headers].name = hn;
    r->headers[r->n_headers].value = hv;
    r->n_headers++;
    return n;
}

static size_t write_cb(char *data, size_t size, size_t nitems, void *ud)
{
    runtime_http_t *h = ud;
    size_t n = size * nitems;
    if (h->reply == NULL)
        return n;
    int rc = runtime_buf_append(&h->reply->body, data, n);
    if (rc == RUNTIME_BUF_ETOOBIG) {
        h->too_big = 1;
        return 0;
    }
    return rc == 0 ? n : 0;
}

static size_t read_cb(char *dst, size_t size, size_t nitems, void *ud)
{
    runtime_http_t *h = ud;
    size_t room = size * nitems;
    if (h->up_off < h->up_len) {
        size_t n = h->up_len - h->up_off;
        if (n > room)
            n = room;
        memcpy(dst, h->up_data + h->up_off, n);
        h->up_off += n;
        return n;
    }
    if (h->up_eof)
        return 0;
    h->up_paused = 1;
    return CURL_READFUNC_PAUSE;
}

static int trailer_cb(struct curl_slist **list, void *ud)
{
    runtime_http_t *h = ud;
    for (struct curl_slist *t = h->trailers; t != NULL; t = t->next) {
        struct curl_slist *n = curl_slist_append(*list, t->data);
        if (n == NULL)
            return CURL_TRAILERFUNC_ABORT;
        *list = n;
    }
    return CURL_TRAILERFUNC_OK;
}

runtime_http_t *runtime_http_new(const char *host_port, int interrupt_fd)
{
    runtime_http_t *h = calloc(1, sizeof *h);
    if (h == NULL)
        return NULL;
    h->interrupt_fd = interrupt_fd;
    size_t blen = strlen(host_port) + sizeof "http://";
    h->base = malloc(blen);
    h->multi = curl_multi_init();
    h->easy = curl_easy_init();
    if (h->base == NULL || h->multi == NULL || h->easy == NULL) {
        runtime_http_free(h);
        return NULL;
    }
    snprintf(h->base, blen, "http://%s", host_port);
    runtime_http_reply_init(&h->stream_reply, 64 * 1024);
    CURL *e = h->easy;
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_PROXY, "");        /* never through $http_proxy */
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, h);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(e, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(e, CURLOPT_READDATA, h);
    curl_easy_setopt(e, CURLOPT_TRAILERFUNCTION, trailer_cb);
    curl_easy_setopt(e, CURLOPT_TRAILERDATA, h);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, h->errbuf);
    return h;
}

static void http_detach(runtime_http_t *h)
{
    if (h->active) {
        curl_multi_remove_handle(h->multi, h->easy);
        h->active = 0;
    }
    curl_slist_free_all(h->req_headers);
    h->req_headers = NULL;
    h->reply = NULL;
    h->trailers = NULL;
}

void runtime_http_free(runtime_http_t *h)
{
    if (h == NULL)
        return;
    http_detach(h);
    if (h->easy != NULL)
        curl_easy_cleanup(h->easy);
    if (h->multi != NULL)
        curl_multi_cleanup(h->multi);
    runtime_http_reply_free(&h->stream_reply);
    free(h->base);
    free(h);
}

/* Sets the URL and copies the caller's headers plus ours into req_headers. */
static int http_prepare(runtime_http_t *h, const char *path, struct curl_slist *headers,
                        int chunked)
{
    char url[512];
    if ((size_t)snprintf(url, sizeof url, "%s%s", h->base, path) >= sizeof url)
        return RUNTIME_HTTP_ENOMEM;
    curl_easy_setopt(h->easy, CURLOPT_URL, url);
    struct curl_slist *list = NULL;
    for (struct curl_slist *s = headers; s != NULL; s = s->next) {
        struct curl_slist *n = curl_slist_append(list, s->data);
        if (n == NULL)
            goto fail;
        list = n;
    }
    /* "Expect:" stops curl from waiting for 100 Continue on large or chunked bodies */
    const char *ours[] = {"Expect:", chunked ? "Transfer-Encoding: chunked" : NULL};
    for (size_t i = 0; i < sizeof ours / sizeof ours[0]; i++) {
        if (ours[i] == NULL)
            continue;
        struct curl_slist *n = curl_slist_append(list, ours[i]);
        if (n == NULL)
            goto fail;
        list = n;
    }
    h->req_headers = list;
    curl_easy_setopt(h->easy, CURLOPT_HTTPHEADER, list);
    h->done = 0;
    h->too_big = 0;
    h->errbuf[0] = '\0';
    return 0;
fail:
    curl_slist_free_all(list);
    return RUNTIME_HTTP_ENOMEM;
}

static int http_attach(runtime_http_t *h)
{
    if (curl_multi_add_handle(h->multi, h->easy) != CURLM_OK)
        return RUNTIME_HTTP_ENOMEM;
    h->active = 1;
    return 0;
}

/* True once the streamed upload consumed what the current write supplied. */
static int upload_drained(const runtime_http_t *h)
{
    return h->up_paused && h->up_off == h->up_len;
}

/*
 * Runs the transfer until it completes, or (with stop_when_drained) until the
 * upload needs more data, or (interruptible) until the interrupt fd is readable.
 */
static int http_drive(runtime_http_t *h, int interruptible, int stop_when_drained)
{
    for (;;) {
        int running = 0;
        if (curl_multi_perform(h->multi, &running) != CURLM_OK)
            return RUNTIME_HTTP_ETRANSPORT;
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(h->multi, &left)) != NULL) {
            if (m->msg == CURLMSG_DONE && m->easy_handle == h->easy) {
                h->done = 1;
                h->result = m->data.result;
            }
        }
        if (h->done)
            return 0;
        if (stop_when_drained && upload_drained(h))
            return 0;
        struct curl_waitfd wfd = {.fd = h->interrupt_fd, .events = CURL_WAIT_POLLIN, .revents = 0};
        int watch = interruptible && h->interrupt_fd >= 0;
        int nfds = 0;
        if (curl_multi_wait(h->multi, watch ? &wfd : NULL, watch ? 1 : 0, 1000, &nfds) != CURLM_OK)
            return RUNTIME_HTTP_ETRANSPORT;
        if (watch && (wfd.revents & CURL_WAIT_POLLIN))
            return RUNTIME_HTTP_EINTERRUPTED;
    }
}

/* After a finished transfer: the status, or why there is none. */
static int http_conclude(runtime_http_t *h, runtime_http_reply_t *reply)
{
    if (h->result == CURLE_OK) {
        long status = 0;
        curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &status);
        reply->status = status;
        return 0;
    }
    if (h->result == CURLE_WRITE_ERROR && h->too_big)
        return RUNTIME_HTTP_ETOOBIG;
    runtime_log_debug("runtime API transfer failed: %s (%s)", curl_easy_strerror(h->result),
                      h->errbuf);
    return RUNTIME_HTTP_ETRANSPORT;
}

int runtime_http_do(runtime_http_t *h, const runtime_http_request_t *req,
                    runtime_http_reply_t *reply)
{
    int rc;
    http_detach(h);
    reply_clear(reply);
    reply->body.max = req->max_body;
    rc = http_prepare(h, req->path, req->headers, 0);
    if (rc != 0)
        return rc;
    if (strcmp(req->method, "POST") == 0) {
        curl_easy_setopt(h->easy, CURLOPT_POST, 1L);
        curl_easy_setopt(h->easy, CURLOPT_POSTFIELDS, req->body ? (const char *)req->body : "");
        curl_easy_setopt(h->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    } else {
        curl_easy_setopt(h->easy, CURLOPT_HTTPGET, 1L);
    }
    h->reply = reply;
    rc = http_attach(h);
    if (rc == 0)
        rc = http_drive(h, req->interruptible, 0);
    if (rc == 0)
        rc = http_conclude(h, reply);
    http_detach(h);
    return rc;
}

int runtime_http_stream_start(runtime_http_t *h, const char *path, struct curl_slist *headers)
{
    http_detach(h);
    reply_clear(&h->stream_reply);
    int rc = http_prepare(h, path, headers, 1);
    if (rc != 0)
        return rc;
    curl_easy_setopt(h->easy, CURLOPT_POST, 1L);
    curl_easy_setopt(h->easy, CURLOPT_POSTFIELDS, NULL);
    curl_easy_setopt(h->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)-1);
    h->up_data = NULL;
    h->up_len = 0;
    h->up_off = 0;
    h->up_eof = 0;
    h->up_paused = 0;
    h->reply = &h->stream_reply;
    rc = http_attach(h);
    if (rc == 0)
        rc = http_drive(h, 0, 1); /* sends the request head */
    if (rc == 0 && h->done)
        rc = RUNTIME_HTTP_ETRANSPORT; /* the server answered before the body */
    return rc;
}

int runtime_http_stream_write(runtime_http_t *h, const void *data, size_t len)
{
    if (!h->active || h->done)
        return RUNTIME_HTTP_ETRANSPORT;
    if (len == 0)
        return 0;
    h->up_data = data;
    h->up_len = len;
    h->up_off = 0;
    if (h->up_paused) {
        h->up_paused = 0;
        curl_easy_pause(h->easy, CURLPAUSE_CONT);
    }
    int rc = upload_drained(h) ? 0 : http_drive(h, 0, 1);
    h->up_data = NULL;
    h->up_len = 0;
    h->up_off = 0;
    if (rc == 0 && h->done)
        rc = RUNTIME_HTTP_ETRANSPORT;
    return rc;
}

int runtime_http_stream_finish(runtime_http_t *h, struct curl_slist *trailers,
                               runtime_http_reply_t *reply)
{
    int rc = 0;
    reply_clear(reply);
    if (!h->active)
        return RUNTIME_HTTP_ETRANSPORT;
    h->trailers = trailers;
    h->up_eof = 1;
    if (!h->done) {
        if (h->up_paused) {
            h->up_paused = 0;
            curl_easy_pause(h->easy, CURLPAUSE_CONT);
        }
        rc = http_drive(h, 0, 0);
    }
    if (rc == 0)
        rc = http_conclude(h, &h->stream_reply);
    /* hand the reply over: swap so each side frees its own */
    runtime_http_reply_t tmp = *reply;
    *reply = h->stream_reply;
    h->stream_reply = tmp;
    reply_clear(&h->stream_reply);
    h->stream_reply.body.max = 64 * 1024;
    http_detach(h);
    return rc;
}
