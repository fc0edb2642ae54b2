/*
 * tether invoke: one POST to the platform's Invoke API with libcurl, the way
 * `aws lambda invoke` makes it, and the answer turned into an exit status:
 * 0 success, 1 a function error (X-Amz-Function-Error), 2 a usage error, a
 * transport error or an API error (whose message is printed). With --stream,
 * InvokeWithResponseStream instead: each PayloadChunk is written to stdout as
 * it arrives (event stream decoded by eventstream.c), and InvokeComplete's
 * ErrorCode makes the exit status 1.
 */
#include "platform/invoke_cli.h"

#include "common/base64.h"
#include "common/buf.h"
#include "platform/eventstream.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define INVOKE_DEFAULT_ENDPOINT "http://127.0.0.1:9000"
#define INVOKE_MAX_REQUEST      (8u << 20)  /* read past 6 MB so the platform answers 413 */
#define INVOKE_MAX_RESPONSE     (16u << 20) /* the platform never sends more than 6 MB */
#define INVOKE_MAX_HEADER       8192

/* What we keep of the response headers. */
typedef struct invoke_reply {
    buf_t body;
    char function_error[64];            /* X-Amz-Function-Error, or "" */
    char error_type[128];               /* X-Amzn-ErrorType, or "" */
    char log_result[INVOKE_MAX_HEADER]; /* X-Amz-Log-Result (base64), or "" */
    char content_type[128];             /* Content-Type, or "" */
    int body_too_big;
    int stream_bad; /* --stream: a malformed event stream */
    int printed;    /* --stream: payload bytes written to stdout */
    char last;      /* --stream: the last of them */
    buf_t complete; /* --stream: InvokeComplete's payload (JSON) */
    int completed;  /* --stream: InvokeComplete arrived */
} invoke_reply_t;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: tether invoke [--endpoint URL] [--type RequestResponse|Event|DryRun]\n"
            "                     [--log-tail] [--stream] NAME [PAYLOAD | -]\n"
            "\n"
            "Invokes function NAME through the Invoke API and prints its response.\n"
            "PAYLOAD is the event (JSON); '-' reads it from standard input; {} when absent.\n"
            "  --endpoint URL  the platform (default $TETHER_ENDPOINT, else %s)\n"
            "  --type T        RequestResponse (default), Event (queued, no response) or\n"
            "                  DryRun (checks the function exists)\n"
            "  --log-tail      print the last 4 KB of the function's log to stderr\n"
            "  --stream        InvokeWithResponseStream: print the response as it streams\n"
            "exit status: 0 success, 1 the function returned an error, 2 usage, transport\n"
            "or API error (unknown function, throttled, payload too large, ...)\n",
            INVOKE_DEFAULT_ENDPOINT);
}

/* An event stream's whole messages at the start of r->body: payload chunks
 * printed now, InvokeComplete kept; what is left stays for the next bytes.
 * -1 on a malformed stream. */
static int take_events(invoke_reply_t *r)
{
    size_t off = 0;
    int rc = 0;
    for (;;) {
        platform_event_t ev;
        int d = platform_eventstream_decode(r->body.data + off, r->body.len - off,
                                            INVOKE_MAX_RESPONSE, &ev);
        if (d == PLATFORM_EVENTSTREAM_MORE)
            break;
        if (d != 0 || strcmp(ev.message_type, "event") != 0) {
            rc = -1;
            break;
        }
        if (strcmp(ev.event_type, "PayloadChunk") == 0 && ev.payload_len > 0) {
            fwrite(ev.payload, 1, ev.payload_len, stdout);
            fflush(stdout);
            r->printed = 1;
            r->last = ev.payload[ev.payload_len - 1];
        } else if (strcmp(ev.event_type, "InvokeComplete") == 0) {
            buf_reset(&r->complete);
            if (buf_append(&r->complete, ev.payload, ev.payload_len) != 0) {
                rc = -1;
                break;
            }
            r->completed = 1;
        }
        off += ev.total;
    }
    memmove(r->body.data, r->body.data + off, r->body.len - off);
    r->body.len -= off;
    return rc;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    invoke_reply_t *r = userdata;
    size_t n = size * nmemb;
    if (buf_append(&r->body, data, n) != 0) {
        r->body_too_big = 1;
        return 0; /* aborts the transfer */
    }
    if (strcasecmp(r->content_type, "application/vnd.amazon.eventstream") == 0 &&
        take_events(r) != 0) {
        r->stream_bad = 1;
        return 0;
    }
    return n;
}

/* Copies the value of header "Name: value\r\n" into out when the name matches. */
static void header_value(const char *line, size_t len, const char *name, char *out, size_t outlen)
{
    size_t nl = strlen(name);
    if (len <= nl + 1 || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
        return;
    const char *v = line + nl + 1;
    const char *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    size_t vl = (size_t)(end - v);
    if (vl >= outlen)
        vl = outlen - 1;
    memcpy(out, v, vl);
    out[vl] = '\0';
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userdata)
{
    invoke_reply_t *r = userdata;
    size_t n = size * nmemb;
    header_value(data, n, "X-Amz-Function-Error", r->function_error, sizeof r->function_error);
    header_value(data, n, "X-Amzn-ErrorType", r->error_type, sizeof r->error_type);
    header_value(data, n, "X-Amz-Log-Result", r->log_result, sizeof r->log_result);
    header_value(data, n, "Content-Type", r->content_type, sizeof r->content_type);
    return n;
}

/*
 * Prints the "message" of an AWS error body ({"Type":"User","message":"..."}),
 * undoing simple JSON escapes; prints the body as is when it has no message.
 */
static void print_api_message(const char *body, size_t len)
{
    const char *keys[] = {"\"message\"", "\"Message\"", "\"errorMessage\""};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        const char *p = body != NULL ? strstr(body, keys[k]) : NULL;
        if (p == NULL)
            continue;
        p += strlen(keys[k]);
        while (*p == ' ' || *p == ':')
            p++;
        if (*p != '"')
            continue;
        for (p++; *p != '\0' && *p != '"'; p++) {
            if (*p == '\\' && p[1] != '\0') {
                p++;
                fputc(*p == 'n' ? '\n' : *p == 't' ? '\t' : *p, stderr);
            } else {
                fputc(*p, stderr);
            }
        }
        fputc('\n', stderr);
        return;
    }
    if (len > 0)
        fprintf(stderr, "%.*s\n", (int)(len > 500 ? 500 : len), body);
    else
        fputc('\n', stderr);
}

/* The string member key of the flat JSON object json, unescaped into out
 * (\uXXXX becomes '?'); 0, or -1 when absent. */
static int json_string_member(const char *json, const char *key, buf_t *out)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\"", key);
    const char *p = json != NULL ? strstr(json, pat) : NULL;
    if (p == NULL)
        return -1;
    p += strlen(pat);
    while (*p == ' ' || *p == ':')
        p++;
    if (*p != '"')
        return -1;
    for (p++; *p != '\0' && *p != '"'; p++) {
        char c = *p;
        if (c == '\\' && p[1] != '\0') {
            c = *++p;
            if (c == 'u') {
                for (int k = 0; k < 4 && p[1] != '\0'; k++)
                    p++;
                c = '?';
            } else {
                c = c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r' : c;
            }
        }
        if (buf_append(out, &c, 1) != 0)
            return -1;
    }
    return 0;
}

static void print_log(const char *b64)
{
    size_t len = strlen(b64);
    unsigned char *log = malloc(len + 1);
    long n = log != NULL ? base64_decode(b64, len, log, len + 1, BASE64_PAD_OPTIONAL) : -1;
    if (n >= 0)
        fwrite(log, 1, (size_t)n, stderr);
    free(log);
}

/* The end of a --stream answer: the exit status. */
static int finish_stream(invoke_reply_t *r, int log_tail)
{
    if (r->printed && r->last != '\n')
        fputc('\n', stdout);
    if (fflush(stdout) != 0) {
        fprintf(stderr, "tether invoke: writing the response: %s\n", strerror(errno));
        return 2;
    }
    if (!r->completed) {
        fprintf(stderr, "tether invoke: the stream ended without InvokeComplete%s\n",
                r->body.len > 0 ? " (a partial event)" : "");
        return 2;
    }
    buf_t code, details, log;
    buf_init(&code, 4096);
    buf_init(&details, 1 << 20);
    buf_init(&log, 64 * 1024);
    const char *done = r->complete.data != NULL ? r->complete.data : "";
    int status = 0;
    if (log_tail && json_string_member(done, "LogResult", &log) == 0 && log.data != NULL)
        print_log(log.data);
    if (json_string_member(done, "ErrorCode", &code) == 0 && code.len > 0) {
        (void)json_string_member(done, "ErrorDetails", &details);
        fprintf(stderr, "tether invoke: %s: %s\n", code.data,
                details.data != NULL ? details.data : "");
        status = 1;
    }
    buf_free(&code);
    buf_free(&details);
    buf_free(&log);
    return status;
}

static int read_stdin(buf_t *payload)
{
    char chunk[65536];
    for (;;) {
        ssize_t n = read(STDIN_FILENO, chunk, sizeof chunk);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1) {
            fprintf(stderr, "tether invoke: reading standard input: %s\n", strerror(errno));
            return -1;
        }
        if (n == 0)
            return 0;
        if (buf_append(payload, chunk, (size_t)n) != 0) {
            fprintf(stderr, "tether invoke: the payload is larger than %u bytes\n",
                    INVOKE_MAX_REQUEST);
            return -1;
        }
    }
}

int platform_invoke_main(int argc, char **argv)
{
    const char *endpoint = getenv("TETHER_ENDPOINT");
    const char *type = "RequestResponse";
    const char *name = NULL, *payload_arg = NULL;
    int log_tail = 0, positional_only = 0, stream = 0;

    if (endpoint == NULL || endpoint[0] == '\0')
        endpoint = INVOKE_DEFAULT_ENDPOINT;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!positional_only && a[0] == '-' && a[1] != '\0') {
            if (strcmp(a, "--") == 0) {
                positional_only = 1;
            } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
                usage(stdout);
                return 0;
            } else if (strcmp(a, "--log-tail") == 0) {
                log_tail = 1;
            } else if (strcmp(a, "--stream") == 0) {
                stream = 1;
            } else if (strcmp(a, "--endpoint") == 0 && i + 1 < argc) {
                endpoint = argv[++i];
            } else if (strncmp(a, "--endpoint=", 11) == 0) {
                endpoint = a + 11;
            } else if (strcmp(a, "--type") == 0 && i + 1 < argc) {
                type = argv[++i];
            } else if (strncmp(a, "--type=", 7) == 0) {
                type = a + 7;
            } else {
                fprintf(stderr, "tether invoke: unknown option '%s'\n", a);
                usage(stderr);
                return 2;
            }
            continue;
        }
        if (name == NULL) {
            name = a;
        } else if (payload_arg == NULL) {
            payload_arg = a;
        } else {
            fprintf(stderr, "tether invoke: too many arguments\n");
            usage(stderr);
            return 2;
        }
    }
    if (name == NULL || name[0] == '\0') {
        usage(stderr);
        return 2;
    }
    if (strcmp(type, "RequestResponse") != 0 && strcmp(type, "Event") != 0 &&
        strcmp(type, "DryRun") != 0) {
        fprintf(stderr, "tether invoke: --type must be RequestResponse, Event or DryRun\n");
        return 2;
    }
    if (stream && strcmp(type, "Event") == 0) {
        fprintf(stderr, "tether invoke: --stream takes RequestResponse or DryRun, not Event\n");
        return 2;
    }

    int status = 2;
    buf_t payload, url;
    invoke_reply_t reply;
    CURL *curl = NULL;
    struct curl_slist *headers = NULL;
    char *escaped = NULL;
    buf_init(&payload, INVOKE_MAX_REQUEST);
    buf_init(&url, 4096);
    memset(&reply, 0, sizeof reply);
    buf_init(&reply.body, INVOKE_MAX_RESPONSE);
    buf_init(&reply.complete, INVOKE_MAX_RESPONSE);

    if (payload_arg != NULL && strcmp(payload_arg, "-") == 0) {
        if (read_stdin(&payload) != 0)
            goto out;
    } else if (buf_append_str(&payload, payload_arg != NULL ? payload_arg : "{}") != 0) {
        fprintf(stderr, "tether invoke: the payload is too large\n");
        goto out;
    }

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "tether invoke: libcurl failed to start\n");
        goto out;
    }
    curl = curl_easy_init();
    if (curl == NULL)
        goto out_global;
    escaped = curl_easy_escape(curl, name, 0);
    size_t elen = strlen(endpoint);
    while (elen > 0 && endpoint[elen - 1] == '/')
        elen--;
    if (escaped == NULL ||
        buf_printf(&url,
                   stream ? "%.*s/2021-11-15/functions/%s/response-streaming-invocations"
                          : "%.*s/2015-03-31/functions/%s/invocations",
                   (int)elen, endpoint, escaped) != 0) {
        fprintf(stderr, "tether invoke: the endpoint URL is too long\n");
        goto out_global;
    }

    char type_header[64];
    snprintf(type_header, sizeof type_header, "X-Amz-Invocation-Type: %s", type);
    struct curl_slist *h = curl_slist_append(NULL, type_header);
    if (h != NULL)
        headers = h;
    if (h != NULL && log_tail)
        h = curl_slist_append(headers, "X-Amz-Log-Type: Tail");
    if (h != NULL)
        h = curl_slist_append(headers, "Content-Type: application/json");
    if (h != NULL)
        h = curl_slist_append(headers, "Expect:"); /* no 100-continue round trip */
    if (h == NULL) {
        fprintf(stderr, "tether invoke: out of memory\n");
        goto out_global;
    }

    curl_easy_setopt(curl, CURLOPT_URL, url.data);
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, payload.data != NULL ? payload.data : "");
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)payload.len);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &reply);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "tether-invoke/0.1");

    CURLcode cc = curl_easy_perform(curl);
    if (cc != CURLE_OK) {
        if (reply.stream_bad)
            fprintf(stderr, "tether invoke: a malformed event stream\n");
        else if (reply.body_too_big)
            fprintf(stderr, "tether invoke: the response is larger than %u bytes\n",
                    INVOKE_MAX_RESPONSE);
        else
            fprintf(stderr, "tether invoke: %s: %s\n", endpoint, curl_easy_strerror(cc));
        goto out_global;
    }
    long code = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);

    if (log_tail && reply.log_result[0] != '\0')
        print_log(reply.log_result);
    if (code >= 400 || code < 200) {
        fprintf(stderr, "tether invoke: %s (HTTP %ld): ",
                reply.error_type[0] != '\0' ? reply.error_type : "error", code);
        print_api_message(reply.body.data, reply.body.len);
        goto out_global;
    }
    if (stream && code == 200) {
        status = finish_stream(&reply, log_tail);
        goto out_global;
    }
    if (reply.body.len > 0) {
        fwrite(reply.body.data, 1, reply.body.len, stdout);
        if (reply.body.data[reply.body.len - 1] != '\n')
            fputc('\n', stdout);
    }
    if (fflush(stdout) != 0) {
        fprintf(stderr, "tether invoke: writing the response: %s\n", strerror(errno));
        goto out_global;
    }
    status = reply.function_error[0] != '\0' ? 1 : 0;

out_global:
    curl_free(escaped);
    curl_slist_free_all(headers);
    if (curl != NULL)
        curl_easy_cleanup(curl);
    curl_global_cleanup();
out:
    buf_free(&reply.body);
    buf_free(&reply.complete);
    buf_free(&url);
    buf_free(&payload);
    return status;
}
