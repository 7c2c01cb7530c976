/*  hs_log.h: one log line format for every Homeostat process.
 *
 *  Lines go to stderr: "2026-11-21T12:00:00.123Z hs-store warn: text".
 *  HS_LOG_LEVEL (error, warn, info, debug) or hs_log_set_level picks the floor.
 *  Library code logs at debug only; the caller that handles an error logs it.
 */
#ifndef HS_LOG_H
#define HS_LOG_H

#include <stdbool.h>

typedef enum { HS_LOG_ERROR = 0, HS_LOG_WARN, HS_LOG_INFO, HS_LOG_DEBUG } hs_log_level_t;

void hs_log_init (const char *component);
void hs_log_set_level (hs_log_level_t level);
bool hs_log_enabled (hs_log_level_t level);
void hs_log (hs_log_level_t level, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

/* Logs only the first time `key` is seen (bounded table; later keys after it
 * fills are logged once per 1024 calls). For "garbage from sender X". */
void hs_log_once (hs_log_level_t level, const char *key, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

#define log_error(...) hs_log (HS_LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  hs_log (HS_LOG_WARN, __VA_ARGS__)
#define log_info(...)  hs_log (HS_LOG_INFO, __VA_ARGS__)
#define log_debug(...)                                                                             \
    do {                                                                                           \
        if (hs_log_enabled (HS_LOG_DEBUG)) hs_log (HS_LOG_DEBUG, __VA_ARGS__);                     \
    } while (0)

#endif
