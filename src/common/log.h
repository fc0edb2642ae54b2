/*
 * Level-aware logging shared by every part. Each line names the part and the
 * object it concerns: "[docstore conn 17 127.0.0.1:5312] closed". Debug lines
 * are off unless TETHER_LOG_LEVEL=debug (or log_set_level) asks for them.
 * Never log payloads, passwords, keys, session tokens or URIs with credentials.
 */
#ifndef TETHER_COMMON_LOG_H
#define TETHER_COMMON_LOG_H

#include <stdarg.h>

typedef enum log_level {
    LOG_LEVEL_ERROR = 0, /* something failed that should not have */
    LOG_LEVEL_WARN = 1,  /* bad input or a degraded path; service goes on */
    LOG_LEVEL_INFO = 2,  /* lifecycle: listening, started, stopped */
    LOG_LEVEL_DEBUG = 3, /* per-message detail; off by default */
} log_level_t;

/* Sets the level from TETHER_LOG_LEVEL (error|warn|info|debug); info by default. */
void log_init_from_env(void);
void log_set_level(log_level_t level);
log_level_t log_get_level(void);

/* Writes one line to stderr: time, level, "[who] ", the message. who may be NULL. */
void log_write(log_level_t level, const char *who, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void log_vwrite(log_level_t level, const char *who, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

#define log_error(who, ...) log_write(LOG_LEVEL_ERROR, (who), __VA_ARGS__)
#define log_warn(who, ...)  log_write(LOG_LEVEL_WARN, (who), __VA_ARGS__)
#define log_info(who, ...)  log_write(LOG_LEVEL_INFO, (who), __VA_ARGS__)
#define log_debug(who, ...)                                                                        \
    do {                                                                                           \
        if (log_get_level() >= LOG_LEVEL_DEBUG)                                                    \
            log_write(LOG_LEVEL_DEBUG, (who), __VA_ARGS__);                                        \
    } while (0)

#endif
