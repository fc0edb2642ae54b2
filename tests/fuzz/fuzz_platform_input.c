/*
 * libFuzzer target: the platform's own parsers of peer input, on arbitrary
 * bytes: Invoke API and Runtime API path routing (with a query), URL
 * decoding, the JSON validator, base64 decoding (X-Amz-Client-Context,
 * streamed error bodies), the log line cutter and the tail ring. None may
 * crash, read out of bounds or leave a name outside AWS's FunctionName
 * pattern ([a-zA-Z0-9-_.], 1 to 64).
 */
#include "common/base64.h"
#include "platform/json.h"
#include "platform/logs.h"
#include "platform/route.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void count_line(void *arg, const char *line, size_t len)
{
    size_t *total = arg;
    if (len > PLATFORM_LINE_MAX)
        __builtin_trap();
    if (len > 0)
        *total += (unsigned char)line[len - 1] & 0; /* touches the last byte for ASan */
    *total += len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    /* paths: the part before '?' is the path, the rest the query */
    char *q = strchr(s, '?');
    if (q != NULL)
        *q++ = '\0';
    char name[PLATFORM_NAME_MAX + 1], qual[PLATFORM_NAME_MAX + 1];
    if (platform_route_api(s, q, name, qual) == PLATFORM_ROUTE_INVOKE) {
        for (const char *c = name; *c; c++) {
            if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                  (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' || *c == '.'))
                __builtin_trap();
        }
        if (strlen(name) > 64 || strlen(qual) > PLATFORM_NAME_MAX)
            __builtin_trap();
    }
    char id[PLATFORM_ID_MAX + 1];
    int post;
    platform_route_runtime(s, id, &post);
    if (strlen(id) > PLATFORM_ID_MAX)
        __builtin_trap();
    char dec[256];
    platform_url_decode((const char *)data, size, dec, sizeof dec);
    platform_json_valid((const char *)data, size);
    size_t cap = 3 * (size / 4) + 3;
    unsigned char *raw = malloc(cap);
    long rawlen =
        raw != NULL ? base64_decode((const char *)data, size, raw, cap, BASE64_PAD_OPTIONAL) : -1;
    if (rawlen > (long)cap)
        __builtin_trap();
    free(raw);
    static platform_lines_t lines;
    size_t total = 0;
    platform_lines_feed(&lines, (const char *)data, size, count_line, &total);
    platform_lines_flush(&lines, count_line, &total);
    static platform_tail_t tail;
    platform_tail_append(&tail, (const char *)data, size);
    char out[PLATFORM_TAIL_MAX];
    if (platform_tail_copy(&tail, out) > PLATFORM_TAIL_MAX)
        __builtin_trap();
    free(s);
    return 0;
}
