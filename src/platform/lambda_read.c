/*
 * The Lambda read API (see lambda_read.h). Each answer is built into one
 * buf_t from the function's template spec; nothing is kept between requests.
 * Shapes and names follow the Lambda service model (2015-03-31) that the
 * SDKs generate their parsers from.
 */
#include "platform/lambda_read.h"

#include "common/buf.h"
#include "platform/function.h"
#include "platform/json.h"
#include "platform/platform.h"
#include "platform/reply.h"
#include "platform/template.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>

#define READ_BODY_MAX  (16 * 1024 * 1024) /* a page of 50 configurations fits easily */
#define LIST_PAGE_MAX  50                 /* AWS returns at most 50 functions per page */
#define LIST_ITEMS_MAX 10000              /* MaxItems' upper bound in the service model */
#define CODE_WALK_MAX  10000              /* files counted in a code folder's CodeSize */

/* CodeSize of a folder: the sum of its regular files, symbolic links not
 * followed, at most CODE_WALK_MAX entries (nftw takes no argument: the
 * loop is single-threaded). */
static long long walk_bytes;
static unsigned walk_entries;

static int walk_cb(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)path;
    (void)ftw;
    if (type == FTW_F && S_ISREG(st->st_mode))
        walk_bytes += (long long)st->st_size;
    return ++walk_entries >= CODE_WALK_MAX ? 1 : 0;
}

static long long code_size(const platform_function_spec_t *s)
{
    struct stat st;
    if (s->code_zip != NULL)
        return stat(s->code_zip, &st) == 0 ? (long long)st.st_size : 0;
    if (s->code_dir == NULL)
        return 0;
    walk_bytes = 0;
    walk_entries = 0;
    (void)nftw(s->code_dir, walk_cb, 16, FTW_PHYS);
    return walk_bytes;
}

/* AWS's LastModified ("2026-12-07T18:00:00.000+0000"): when tether up
 * started, worked out once (wall and monotonic clocks drift apart, and a
 * deploy script may compare two answers). */
static void last_modified(const platform_t *p, char out[40])
{
    static uint64_t for_start_us, start_wall_ms;
    if (start_wall_ms == 0 || for_start_us != p->started_us) {
        start_wall_ms = platform_wall_ms() - (platform_now_us() - p->started_us) / 1000;
        for_start_us = p->started_us;
    }
    uint64_t ms = start_wall_ms;
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char day[24];
    strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 40, "%s.%03u+0000", day, (unsigned)(ms % 1000));
}

static const char *architecture(void)
{
    struct utsname u;
    if (uname(&u) == 0 && (strcmp(u.machine, "aarch64") == 0 || strcmp(u.machine, "arm64") == 0))
        return "arm64";
    return "x86_64";
}

/* One FunctionConfiguration object. */
static int append_config(buf_t *b, const platform_t *p, const platform_function_t *fn,
                         const char *qualifier)
{
    const platform_function_spec_t *s = fn->spec;
    char modified[40], role[512];
    last_modified(p, modified);
    if (s->role_arn != NULL)
        snprintf(role, sizeof role, "%s", s->role_arn);
    else /* SAM's default execution role, as tether up names it under auth */
        snprintf(role, sizeof role, "arn:aws:iam::%s:role/%s-role-tether", p->cfg.account,
                 s->logical_id);
    int rc = buf_append_str(b, "{\"FunctionName\":");
    if (rc == 0)
        rc = buf_append_json_cstr(b, s->name);
    if (rc == 0)
        rc = buf_printf(b, ",\"FunctionArn\":\"%s%s%s\",\"Runtime\":", fn->arn,
                        qualifier[0] ? ":" : "", qualifier[0] ? "$LATEST" : "");
    if (rc == 0)
        rc = buf_append_json_cstr(b, s->runtime);
    if (rc == 0)
        rc = buf_append_str(b, ",\"Role\":");
    if (rc == 0)
        rc = buf_append_json_cstr(b, role);
    if (rc == 0 && s->handler != NULL) {
        rc = buf_append_str(b, ",\"Handler\":");
        if (rc == 0)
            rc = buf_append_json_cstr(b, s->handler);
    }
    if (rc == 0)
        rc = buf_printf(b,
                        ",\"CodeSize\":%lld,\"Description\":\"\",\"Timeout\":%d,"
                        "\"MemorySize\":%d,\"LastModified\":\"%s\",\"Version\":\"$LATEST\"",
                        code_size(s), s->timeout_s, s->memory_mb, modified);
    if (rc == 0 && s->n_env > 0) {
        rc = buf_append_str(b, ",\"Environment\":{\"Variables\":{");
        for (size_t i = 0; rc == 0 && i < s->n_env; i++) {
            /* Globals first, then the function's: the last of a name wins */
            int later = 0;
            for (size_t k = i + 1; k < s->n_env && !later; k++)
                later = strcmp(s->env[k].name, s->env[i].name) == 0;
            if (later)
                continue;
            if (b->data[b->len - 1] != '{')
                rc = buf_append_str(b, ",");
            if (rc == 0)
                rc = buf_append_json_cstr(b, s->env[i].name);
            if (rc == 0)
                rc = buf_append_str(b, ":");
            if (rc == 0)
                rc = buf_append_json_cstr(b, s->env[i].value);
        }
        if (rc == 0)
            rc = buf_append_str(b, "}}");
    }
    if (rc == 0)
        rc = buf_printf(b,
                        ",\"TracingConfig\":{\"Mode\":\"PassThrough\"},\"State\":\"Active\","
                        "\"LastUpdateStatus\":\"Successful\",\"PackageType\":\"Zip\","
                        "\"Architectures\":[\"%s\"],\"EphemeralStorage\":{\"Size\":%d},"
                        "\"SnapStart\":{\"ApplyOn\":\"None\",\"OptimizationStatus\":\"Off\"},"
                        "\"LoggingConfig\":{\"LogFormat\":\"Text\",\"LogGroup\":",
                        architecture(), s->ephemeral_mb);
    if (rc == 0) {
        char group[160];
        snprintf(group, sizeof group, "/aws/lambda/%s", s->name);
        rc = buf_append_json_cstr(b, group);
    }
    if (rc == 0)
        rc = buf_append_str(b, "}}");
    return rc;
}

static void send_ok(struct evhttp_request *req, const buf_t *b)
{
    char rid[37];
    platform_uuid(rid);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", "application/json");
    evhttp_add_header(h, "X-Amzn-RequestId", rid);
    struct evbuffer *out = evbuffer_new();
    if (out == NULL || evbuffer_add(out, b->data, b->len) != 0) {
        if (out != NULL)
            evbuffer_free(out);
        platform_reply_send_error(req, 500, "ServiceException", "out of memory", NULL, NULL);
        return;
    }
    evhttp_send_reply(req, 200, "OK", out);
    evbuffer_free(out);
}

static int by_name(const void *a, const void *b)
{
    const platform_function_t *x = *(platform_function_t *const *)a;
    const platform_function_t *y = *(platform_function_t *const *)b;
    return strcmp(x->spec->name, y->spec->name);
}

/* A positive decimal of at most max, or -1. */
static long parse_count(const char *s, long max)
{
    long v = 0;
    if (s == NULL || *s == '\0')
        return -1;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9' || v > max)
            return -1;
        v = v * 10 + (*s - '0');
    }
    return v <= max ? v : -1;
}

/* ListFunctions: functions by name, a page of min(MaxItems, 50) from Marker
 * (the opaque NextMarker of the previous page: here the index of the next
 * function). */
static void list_functions(platform_t *p, struct evhttp_request *req)
{
    struct evkeyvalq q;
    TAILQ_INIT(&q);
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *query = uri != NULL ? evhttp_uri_get_query(uri) : NULL;
    if (query != NULL && evhttp_parse_query_str(query, &q) != 0) {
        platform_reply_send_error(req, 400, "InvalidParameterValueException",
                                  "Malformed query string", NULL, NULL);
        return;
    }
    const char *max_s = evhttp_find_header(&q, "MaxItems");
    const char *marker_s = evhttp_find_header(&q, "Marker");
    long max_items = max_s != NULL ? parse_count(max_s, LIST_ITEMS_MAX) : LIST_PAGE_MAX;
    long start = marker_s != NULL ? parse_count(marker_s, (long)p->n_functions) : 0;
    if (max_items < 1) {
        char msg[256];
        snprintf(msg, sizeof msg,
                 "1 validation error detected: Value '%.20s' at 'maxItems' failed to satisfy "
                 "constraint: Member must have value between 1 and %d",
                 max_s, LIST_ITEMS_MAX);
        evhttp_clear_headers(&q);
        platform_reply_send_error(req, 400, "ValidationException", msg, NULL, NULL);
        return;
    }
    evhttp_clear_headers(&q);
    if (start < 0) {
        platform_reply_send_error(req, 400, "InvalidParameterValueException",
                                  "Invalid marker: pass the NextMarker of the previous page", NULL,
                                  NULL);
        return;
    }
    size_t n = p->n_functions;
    platform_function_t **sorted = malloc((n ? n : 1) * sizeof *sorted);
    if (sorted == NULL) {
        platform_reply_send_error(req, 500, "ServiceException", "out of memory", NULL, NULL);
        return;
    }
    memcpy(sorted, p->functions, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, by_name);
    size_t page = (size_t)(max_items < LIST_PAGE_MAX ? max_items : LIST_PAGE_MAX);
    size_t end = (size_t)start + page < n ? (size_t)start + page : n;
    buf_t b;
    buf_init(&b, READ_BODY_MAX);
    int rc = buf_append_str(&b, "{\"Functions\":[");
    for (size_t i = (size_t)start; rc == 0 && i < end; i++) {
        if (i > (size_t)start)
            rc = buf_append_str(&b, ",");
        if (rc == 0)
            rc = append_config(&b, p, sorted[i], "");
    }
    if (rc == 0)
        rc = buf_append_str(&b, "]");
    if (rc == 0 && end < n)
        rc = buf_printf(&b, ",\"NextMarker\":\"%zu\"", end);
    if (rc == 0)
        rc = buf_append_str(&b, "}");
    free(sorted);
    if (rc != 0)
        platform_reply_send_error(req, 500, "ServiceException", "out of memory", NULL, NULL);
    else
        send_ok(req, &b);
    buf_free(&b);
}

void platform_lambda_read(platform_t *p, struct evhttp_request *req, platform_api_route_t route,
                          const char *name, const char *qualifier)
{
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    if (m != EVHTTP_REQ_GET) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET");
        platform_reply_send_error(req, 405, "MethodNotAllowedException",
                                  "Method not allowed: tether up serves the Lambda read API "
                                  "(GET); functions change through the template",
                                  NULL, NULL);
        return;
    }
    if (route == PLATFORM_ROUTE_LIST) {
        list_functions(p, req);
        return;
    }
    if (name[0] == '\0') {
        platform_reply_send_error(req, 400, "ValidationException",
                                  "1 validation error detected: Value at 'functionName' failed to "
                                  "satisfy constraint: Member must satisfy regular expression "
                                  "pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-"
                                  "\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_\\.]+)(:(\\$LATEST|"
                                  "[a-zA-Z0-9-_]+))?",
                                  NULL, NULL);
        return;
    }
    platform_function_t *fn = platform_find_function(p, name);
    if (fn == NULL || (qualifier[0] != '\0' && strcmp(qualifier, "$LATEST") != 0)) {
        char msg[512];
        snprintf(msg, sizeof msg, "Function not found: arn:aws:lambda:%s:%s:function:%s%s%s",
                 p->cfg.region, p->cfg.account, name, qualifier[0] ? ":" : "", qualifier);
        platform_reply_send_error(req, 404, "ResourceNotFoundException", msg, NULL, NULL);
        return;
    }
    const platform_function_spec_t *s = fn->spec;
    buf_t b;
    buf_init(&b, READ_BODY_MAX);
    int rc = 0;
    switch (route) {
    case PLATFORM_ROUTE_GET_CONFIG:
        rc = append_config(&b, p, fn, qualifier);
        break;
    case PLATFORM_ROUTE_GET_CONCURRENCY:
        rc = s->reserved_set
                 ? buf_printf(&b, "{\"ReservedConcurrentExecutions\":%d}", s->reserved_concurrency)
                 : buf_append_str(&b, "{}");
        break;
    default: /* PLATFORM_ROUTE_GET_FUNCTION */
        rc = buf_append_str(&b, "{\"Configuration\":");
        if (rc == 0)
            rc = append_config(&b, p, fn, qualifier);
        if (rc == 0)
            rc = buf_append_str(&b, ",\"Code\":{\"RepositoryType\":\"Local\",\"Location\":");
        if (rc == 0) {
            buf_t loc;
            buf_init(&loc, 8192);
            rc = buf_printf(&loc, "file://%s",
                            s->code_zip   ? s->code_zip
                            : s->code_dir ? s->code_dir
                                          : "");
            if (rc == 0)
                rc = buf_append_json_cstr(&b, loc.data);
            buf_free(&loc);
        }
        if (rc == 0)
            rc = buf_append_str(&b, "}");
        if (rc == 0 && s->reserved_set)
            rc = buf_printf(&b, ",\"Concurrency\":{\"ReservedConcurrentExecutions\":%d}",
                            s->reserved_concurrency);
        if (rc == 0)
            rc = buf_append_str(&b, "}");
        break;
    }
    if (rc != 0)
        platform_reply_send_error(req, 500, "ServiceException", "out of memory", NULL, NULL);
    else
        send_ok(req, &b);
    buf_free(&b);
}
