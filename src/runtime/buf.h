/*
 * A growable byte buffer with a hard cap, for HTTP bodies and JSON the runtime
 * builds. Always NUL-terminated (not counted in len). libtether has its own so
 * the installed library needs nothing from src/common.
 */
#ifndef TETHER_RUNTIME_BUF_H
#define TETHER_RUNTIME_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct runtime_buf {
    char *data; /* owned; NULL until the first append */
    size_t len; /* bytes used */
    size_t cap; /* bytes allocated */
    size_t max; /* hard cap on len */
} runtime_buf_t;

#define RUNTIME_BUF_ENOMEM  (-1)
#define RUNTIME_BUF_ETOOBIG (-2)

void runtime_buf_init(runtime_buf_t *b, size_t max);
void runtime_buf_free(runtime_buf_t *b);
void runtime_buf_reset(runtime_buf_t *b);
/* Appends n bytes: 0, or RUNTIME_BUF_ETOOBIG / RUNTIME_BUF_ENOMEM with b unchanged. */
__attribute__((warn_unused_result)) int runtime_buf_append(runtime_buf_t *b, const void *data,
                                                           size_t n);
__attribute__((warn_unused_result)) int runtime_buf_append_str(runtime_buf_t *b, const char *s);
__attribute__((warn_unused_result, format(printf, 2, 0))) int
runtime_buf_vprintf(runtime_buf_t *b, const char *fmt, va_list ap);
__attribute__((warn_unused_result, format(printf, 2, 3))) int
runtime_buf_printf(runtime_buf_t *b, const char *fmt, ...);
/* Appends s as a JSON string literal, quotes included. */
__attribute__((warn_unused_result)) int runtime_buf_append_json_string(runtime_buf_t *b,
                                                                       const char *s);

#endif
