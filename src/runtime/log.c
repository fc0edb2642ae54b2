/*
 * The runtime's log lines: one write(2) each, so lines from the function's own
 * output on the same descriptor do not interleave mid-line.
 */
#include "runtime/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <unistd.h>

static runtime_log_level_t log_level = RUNTIME_LOG_WARN;

static const char *const level_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};

static int level_from_name(const char *v, runtime_log_level_t *out)
{
    static const struct {
        const char *name;
        runtime_log_level_t level;
    } names[] = {
        {"error", RUNTIME_LOG_ERROR}, {"fatal", RUNTIME_LOG_ERROR}, {"warn", RUNTIME_LOG_WARN},
        {"info", RUNTIME_LOG_INFO},   {"debug", RUNTIME_LOG_DEBUG}, {"trace", RUNTIME_LOG_DEBUG},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcasecmp(v, names[i].name) == 0) {
            *out = names[i].level;
            return 0;
        }
    }
    return -1;
}

void runtime_log_init(void)
{
    log_level = RUNTIME_LOG_WARN; /* also when called again, as unit tests do */
    const char *v = getenv("TETHER_LOG_LEVEL");
    if (v == NULL || level_from_name(v, &log_level) != 0) {
        v = getenv("AWS_LAMBDA_LOG_LEVEL");
        if (v != NULL)
            (void)level_from_name(v, &log_level);
    }
}

int runtime_log_enabled(runtime_log_level_t level)
{
    return level <= log_level;
}

void runtime_log(runtime_log_level_t level, const char *fmt, ...)
{
    if (level > log_level)
        return;
    char line[1024];
    int n = snprintf(line, sizeof line, "[tether] %s ", level_names[level]);
    va_list ap;
    va_start(ap, fmt);
    n += vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof line - 2)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    const char *p = line;
    size_t left = (size_t)n;
    while (left > 0) {
        ssize_t w = write(STDERR_FILENO, p, left);
        if (w == -1) {
            if (errno == EINTR)
                continue;
            return;
        }
        p += w;
        left -= (size_t)w;
    }
}
