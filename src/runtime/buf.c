/* Capped byte buffers (see buf.h). */
#include "runtime/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void runtime_buf_init(runtime_buf_t *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void runtime_buf_free(runtime_buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void runtime_buf_reset(runtime_buf_t *b)
{
    b->len = 0;
    if (b->data != NULL)
        b->data[0] = '\0';
}

static int buf_reserve(runtime_buf_t *b, size_t n)
{
    if (n > b->max || b->len > b->max - n)
        return RUNTIME_BUF_ETOOBIG;
    size_t need = b->len + n + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > ((size_t)-1) / 2 ? need : cap * 2;
    char *p = realloc(b->data, cap);
    if (p == NULL)
        return RUNTIME_BUF_ENOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

int runtime_buf_append(runtime_buf_t *b, const void *data, size_t n)
{
    int rc = buf_reserve(b, n);
    if (rc != 0)
        return rc;
    if (n > 0)
        memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int runtime_buf_append_str(runtime_buf_t *b, const char *s)
{
    return runtime_buf_append(b, s, strlen(s));
}

int runtime_buf_vprintf(runtime_buf_t *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return RUNTIME_BUF_ENOMEM;
    int rc = buf_reserve(b, (size_t)n);
    if (rc != 0)
        return rc;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int runtime_buf_printf(runtime_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = runtime_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

int runtime_buf_append_json_string(runtime_buf_t *b, const char *s)
{
    int rc = runtime_buf_append(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; rc == 0 && *p; p++) {
        char esc[8];
        switch (*p) {
        case '"':
            rc = runtime_buf_append(b, "\\\"", 2);
            break;
        case '\\':
            rc = runtime_buf_append(b, "\\\\", 2);
            break;
        case '\n':
            rc = runtime_buf_append(b, "\\n", 2);
            break;
        case '\r':
            rc = runtime_buf_append(b, "\\r", 2);
            break;
        case '\t':
            rc = runtime_buf_append(b, "\\t", 2);
            break;
        default:
            if (*p < 0x20) {
                snprintf(esc, sizeof esc, "\\u%04x", *p);
                rc = runtime_buf_append(b, esc, 6);
            } else {
                rc = runtime_buf_append(b, p, 1);
            }
        }
    }
    if (rc == 0)
        rc = runtime_buf_append(b, "\"", 1);
    return rc;
}
