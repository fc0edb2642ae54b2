/*
 * tether invoke: one POST to the platform's Invoke API with libcurl, the way
 * `aws lambda invoke` makes it, and the answer turned into an exit status:
 * 0 success, 1 a function error (X-Amz-Function-Error), 2 a usage error, a
 * transport error or an API error (whose message is printed).
 */
#include "platform/invoke_cli.h"

#include "common/base64.h"
#include "common/buf.h"

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
    int body_too_big;
} invoke_reply_t;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: tether invoke [--endpoint URL] [--type RequestResponse|Event|DryRun]\n"
            "                     [--log-tail] NAME [PAYLOAD | -]\n"
            "\n"
            "Invokes function NAME through the Invoke API and prints its response.\n"
            "PAYLOAD is the event (JSON); '-' reads it from standard input; {} when absent.\n"
            "  --endpoint URL  the platform (default $TETHER_ENDPOINT, else %s)\n"
            "  --type T        RequestResponse (default), Event (queued, no response) or\n"
            "                  DryRun (checks the function exists)\n"
            "  --log-tail      print the last 4 KB of the function's log to stderr\n"
            "exit status: 0 success, 1 the function returned an error, 2 usage, transport\n"
            "or API error (unknown function, throttled, payload too large, ...)\n",
            INVOKE_DEFAULT_ENDPOINT);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    invoke_reply_t *r = userdata;
    size_t n = size * nmemb;
    if (buf_append(&r->body, data, n) != 0) {
        r->body_too_big = 1;
        return 0; /* aborts the transfer */
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
    int log_tail = 0, positional_only = 0;

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
    if (escaped == NULL || buf_printf(&url, "%.*s/2015-03-31/functions/%s/invocations", (int)elen,
                                      endpoint, escaped) != 0) {
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
        if (reply.body_too_big)
            fprintf(stderr, "tether invoke: the response is larger than %u bytes\n",
                    INVOKE_MAX_RESPONSE);
        else
            fprintf(stderr, "tether invoke: %s: %s\n", endpoint, curl_easy_strerror(cc));
        goto out_global;
    }
    long code = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);

    if (log_tail && reply.log_result[0] != '\0') {
        size_t len = strlen(reply.log_result);
        unsigned char *log = malloc(len + 1);
        long n = log != NULL ? base64_decode(reply.log_result, len, log, len + 1, BASE64_PAD_OPTIONAL)
                             : -1;
        if (n >= 0)
            fwrite(log, 1, (size_t)n, stderr);
        free(log);
    }
    if (code >= 400 || code < 200) {
        fprintf(stderr, "tether invoke: %s (HTTP %ld): ",
                reply.error_type[0] != '\0' ? reply.error_type : "error", code);
        print_api_message(reply.body.data, reply.body.len);
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
    buf_free(&url);
    buf_free(&payload);
    return status;
}
