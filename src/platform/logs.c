/*
 * Function logs: line framing, the per-invocation tail, REPORT lines and the
 * peak memory of a process tree (see logs.h).
 */
#include "platform/logs.h"

#include "common/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void platform_tail_append(platform_tail_t *t, const char *data, size_t n)
{
    if (n >= PLATFORM_TAIL_MAX) {
        memcpy(t->data, data + (n - PLATFORM_TAIL_MAX), PLATFORM_TAIL_MAX);
        t->start = 0;
        t->len = PLATFORM_TAIL_MAX;
        return;
    }
    for (size_t i = 0; i < n;) {
        size_t end = (t->start + t->len) % PLATFORM_TAIL_MAX;
        size_t room = PLATFORM_TAIL_MAX - end; /* contiguous bytes from end */
        size_t chunk = n - i < room ? n - i : room;
        memcpy(t->data + end, data + i, chunk);
        i += chunk;
        t->len += chunk;
        if (t->len > PLATFORM_TAIL_MAX) {
            size_t drop = t->len - PLATFORM_TAIL_MAX;
            t->start = (t->start + drop) % PLATFORM_TAIL_MAX;
            t->len = PLATFORM_TAIL_MAX;
        }
    }
}

size_t platform_tail_copy(const platform_tail_t *t, char *out)
{
    size_t first = PLATFORM_TAIL_MAX - t->start;
    if (first > t->len)
        first = t->len;
    memcpy(out, t->data + t->start, first);
    memcpy(out + first, t->data, t->len - first);
    return t->len;
}

void platform_lines_feed(platform_lines_t *l, const char *data, size_t n, platform_line_fn fn,
                         void *arg)
{
    while (n > 0) {
        const char *nl = memchr(data, '\n', n);
        size_t take = nl ? (size_t)(nl - data) : n;
        size_t room = PLATFORM_LINE_MAX - l->len;
        if (take >= room) {
            /* an overlong line: emit what fills the buffer as one piece */
            memcpy(l->partial + l->len, data, room);
            fn(arg, l->partial, PLATFORM_LINE_MAX);
            l->len = 0;
            data += room;
            n -= room;
            continue;
        }
        memcpy(l->partial + l->len, data, take);
        l->len += take;
        if (nl == NULL)
            return;
        size_t len = l->len;
        if (len > 0 && l->partial[len - 1] == '\r')
            len--;
        fn(arg, l->partial, len);
        l->len = 0;
        data += take + 1;
        n -= take + 1;
    }
}

void platform_lines_flush(platform_lines_t *l, platform_line_fn fn, void *arg)
{
    if (l->len > 0)
        fn(arg, l->partial, l->len);
    l->len = 0;
}

/* Appends "[who] line\n" at out + n (room for PLATFORM_LINE_MAX + 128); returns the new length. */
static size_t frame_line(char *out, size_t n, const char *who, const char *line, size_t len)
{
    int w = snprintf(out + n, 120, "[%s] ", who);
    if (w < 0)
        w = 0;
    if (w >= 120)
        w = 119;
    n += (size_t)w;
    if (len > PLATFORM_LINE_MAX)
        len = PLATFORM_LINE_MAX;
    memcpy(out + n, line, len);
    n += len;
    out[n++] = '\n';
    return n;
}

static void write_all(const char *p, size_t left)
{
    while (left > 0) {
        ssize_t w = write(STDERR_FILENO, p, left);
        if (w == -1) {
            if (errno == EINTR)
                continue;
            return; /* stderr gone or full: drop the line rather than block */
        }
        p += w;
        left -= (size_t)w;
    }
}

void platform_log_line(const char *who, const char *line, size_t len)
{
    char out[PLATFORM_LINE_MAX + 128];
    write_all(out, frame_line(out, 0, who, line, len));
}

void platform_log_line2(const char *who, const char *a, size_t alen, const char *b, size_t blen)
{
    char out[2 * (PLATFORM_LINE_MAX + 128)];
    size_t n = frame_line(out, 0, who, a, alen);
    write_all(out, frame_line(out, n, who, b, blen));
}

void platform_log_line3(const char *who, const char *a, size_t alen, const char *b, size_t blen,
                        const char *c, size_t clen)
{
    char out[3 * (PLATFORM_LINE_MAX + 128)];
    size_t n = frame_line(out, 0, who, a, alen);
    n = frame_line(out, n, who, b, blen);
    write_all(out, frame_line(out, n, who, c, clen));
}

size_t platform_report_format(char *out, size_t outlen, const char *request_id, double duration_ms,
                              int memory_mb, int max_memory_mb, double init_ms)
{
    long long billed = (long long)duration_ms;
    if ((double)billed < duration_ms)
        billed++;
    if (billed < 1)
        billed = 1;
    int n = snprintf(out, outlen,
                     "REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %lld ms\t"
                     "Memory Size: %d MB\tMax Memory Used: %d MB\t",
                     request_id, duration_ms, billed, memory_mb, max_memory_mb);
    if (n < 0)
        return 0;
    if ((size_t)n < outlen && init_ms >= 0)
        n += snprintf(out + n, outlen - (size_t)n, "Init Duration: %.2f ms\t", init_ms);
    if ((size_t)n >= outlen)
        n = (int)outlen - 1;
    return (size_t)n;
}

/* VmHWM in a /proc/PID/status text, in kB (0 if absent). */
static uint64_t status_hwm_kb(const char *buf)
{
    const char *p = strstr(buf, "\nVmHWM:");
    return p ? strtoull(p + 7, NULL, 10) : 0;
}

/* VmHWM of one process, in kB (0 if unreadable). */
uint64_t platform_proc_peak_kb(pid_t pid)
{
    char path[64], buf[2048];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    if (fileio_read_small_at(AT_FDCWD, path, buf, sizeof buf) <= 0)
        return 0;
    return status_hwm_kb(buf);
}

uint64_t platform_status_peak_kb(int fd)
{
    /* the kernel formats the whole file (about 1.5 KB) for a read at offset
     * 0 and VmHWM is in its first half, so one read is enough */
    char buf[4096];
    if (fd == -1)
        return 0;
    ssize_t n;
    do {
        n = pread(fd, buf, sizeof buf - 1, 0);
    } while (n == -1 && errno == EINTR);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    return status_hwm_kb(buf);
}

uint64_t platform_tree_peak_kb(pid_t pid)
{
    pid_t todo[64];
    size_t n = 0, done = 0;
    uint64_t total = 0;
    if (pid <= 0)
        return 0;
    todo[n++] = pid;
    while (done < n) {
        pid_t p = todo[done++];
        total += platform_proc_peak_kb(p);
        char path[64], buf[1024];
        snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)p, (int)p);
        if (fileio_read_small_at(AT_FDCWD, path, buf, sizeof buf) <= 0)
            continue;
        char *s = buf, *end;
        while (n < sizeof todo / sizeof todo[0]) {
            long child = strtol(s, &end, 10);
            if (end == s)
                break;
            todo[n++] = (pid_t)child;
            s = end;
        }
    }
    return total;
}
