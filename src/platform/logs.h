/*
 * Function logs: what an instance writes on stdout/stderr, cut into lines,
 * prefixed "[NAME ID] " on tether up's stderr, and kept per invocation in a
 * 4 KB tail (the X-Amz-Log-Result of LogType Tail). Also the START / END /
 * REPORT lines AWS Lambda frames every invocation with, and the peak memory of
 * an instance's process tree that REPORT prints.
 *
 * Everything here is bounded: a line longer than PLATFORM_LINE_MAX is cut into
 * pieces, the tail keeps only its last PLATFORM_TAIL_MAX bytes.
 */
#ifndef TETHER_PLATFORM_LOGS_H
#define TETHER_PLATFORM_LOGS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PLATFORM_TAIL_MAX 4096 /* bytes of log AWS returns in X-Amz-Log-Result */
#define PLATFORM_LINE_MAX 4096 /* a longer line is emitted in pieces of this size */

/* The last PLATFORM_TAIL_MAX bytes written to it (a ring). Zero-initialise. */
typedef struct platform_tail {
    char data[PLATFORM_TAIL_MAX];
    size_t start; /* index of the oldest byte */
    size_t len;   /* bytes held, <= PLATFORM_TAIL_MAX */
} platform_tail_t;

void platform_tail_append(platform_tail_t *t, const char *data, size_t n);
/* Copies the held bytes, oldest first, into out (PLATFORM_TAIL_MAX bytes);
 * returns how many. */
size_t platform_tail_copy(const platform_tail_t *t, char *out);

/* Cuts a byte stream into lines. Zero-initialise; feed with platform_lines_feed. */
typedef struct platform_lines {
    char partial[PLATFORM_LINE_MAX]; /* the unfinished last line */
    size_t len;
} platform_lines_t;

/* Called once per complete line, without its '\n'. */
typedef void (*platform_line_fn)(void *arg, const char *line, size_t len);

/* Splits data into lines and calls fn for each complete one (and for each
 * PLATFORM_LINE_MAX piece of an overlong one); keeps the rest for later. */
void platform_lines_feed(platform_lines_t *l, const char *data, size_t n, platform_line_fn fn,
                         void *arg);
/* Emits what is left as a last line (at EOF). */
void platform_lines_flush(platform_lines_t *l, platform_line_fn fn, void *arg);

/* Writes "[who] line\n" to tether up's stderr in one write(2). */
void platform_log_line(const char *who, const char *line, size_t len);

/* Writes "[who] a\n[who] b\n" in one write(2). */
void platform_log_line2(const char *who, const char *a, size_t alen, const char *b, size_t blen);

/* Writes "[who] a\n[who] b\n[who] c\n" in one write(2). */
void platform_log_line3(const char *who, const char *a, size_t alen, const char *b, size_t blen,
                        const char *c, size_t clen);

/* The REPORT line, without a trailing newline, as AWS prints it (tab
 * separated). init_ms < 0 leaves out Init Duration. Returns the length. */
size_t platform_report_format(char *out, size_t outlen, const char *request_id, double duration_ms,
                              int memory_mb, int max_memory_mb, double init_ms);

/* Peak resident memory (VmHWM) of pid and its descendants, in kB; 0 when
 * unknown (the process is gone). Reads /proc; bounded to 64 processes. */
uint64_t platform_tree_peak_kb(pid_t pid);
/* Peak resident memory of pid alone, in kB (0 when unknown). */
uint64_t platform_proc_peak_kb(pid_t pid);
/* The same from an open /proc/PID/status (read from offset 0 with one pread,
 * so a warm REPORT costs one system call instead of open, read, read, close;
 * 0 when unknown: fd -1, or the process is gone). The caller owns fd. */
uint64_t platform_status_peak_kb(int fd);

#endif
