/*
 * A growable byte buffer with a hard size cap (curl's dynbuf): every append
 * checks the cap, so a peer cannot make us allocate without bound. The data is
 * always NUL-terminated (not counted in len) so text can be used in place.
 */
#ifndef TETHER_COMMON_BUF_H
#define TETHER_COMMON_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct buf {
    char *data; /* owned; NULL until the first append */
    size_t len; /* bytes used, not counting the terminating NUL */
    size_t cap; /* bytes allocated */
    size_t max; /* hard limit on len */
} buf_t;

#define BUF_ERR_NOMEM  (-1) /* allocation failed */
#define BUF_ERR_TOOBIG (-2) /* the append would pass buf->max */

/* Starts an empty buffer that may hold up to max bytes. Allocates nothing. */
void buf_init(buf_t *b, size_t max);
/* Releases the data; the buffer is empty and usable again. */
void buf_free(buf_t *b);
/* Empties the buffer, keeping its allocation. */
void buf_reset(buf_t *b);
/* Appends n bytes. 0, or BUF_ERR_TOOBIG / BUF_ERR_NOMEM with the buffer unchanged. */
__attribute__((warn_unused_result)) int buf_append(buf_t *b, const void *data, size_t n);
__attribute__((warn_unused_result)) int buf_append_str(buf_t *b, const char *s);
__attribute__((warn_unused_result, format(printf, 2, 3))) int buf_printf(buf_t *b, const char *fmt,
                                                                         ...);
/* buf_printf with a va_list (ap is consumed). */
__attribute__((warn_unused_result, format(printf, 2, 0))) int buf_vprintf(buf_t *b, const char *fmt,
                                                                          va_list ap);
/* Appends the n bytes at s as a JSON string literal, quotes included: '"', '\\',
 * control characters and DEL escaped, every other byte as it is (UTF-8 passes
 * through). The one JSON string escaper of the platform and the runtime. */
__attribute__((warn_unused_result)) int buf_append_json_str(buf_t *b, const char *s, size_t n);
/* The same for a C string; NULL appends the JSON literal null. */
__attribute__((warn_unused_result)) int buf_append_json_cstr(buf_t *b, const char *s);
/* Hands the data to the caller (free() it) and empties the buffer. */
char *buf_steal(buf_t *b, size_t *len /* OUT, may be NULL */);

#endif
