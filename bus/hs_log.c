/*  hs_log.c: timestamped stderr logging with a once-per-key limiter. */
#include "hs_log.h"
#include "hs_util.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static char s_component[64] = "homeostat";
static hs_log_level_t s_level = HS_LOG_INFO;
static const char *s_names[] = {"error", "warn", "info", "debug"};

void hs_log_init (const char *component)
{
    snprintf (s_component, sizeof s_component, "%s", component);
    const char *env = getenv ("HS_LOG_LEVEL");
    if (env) {
        for (int i = 0; i <= HS_LOG_DEBUG; i++)
            if (strcmp (env, s_names[i]) == 0) s_level = (hs_log_level_t)i;
    }
}

void hs_log_set_level (hs_log_level_t level)
{
    s_level = level;
}

bool hs_log_enabled (hs_log_level_t level)
{
    return level <= s_level;
}

static void s_vlog (hs_log_level_t level, const char *fmt, va_list ap)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r (&ts.tv_sec, &tm);
    char stamp[40];
    strftime (stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    char msg[2048];
    vsnprintf (msg, sizeof msg, fmt, ap);
    fprintf (stderr, "%s.%03ldZ %s %s: %s\n", stamp, ts.tv_nsec / 1000000, s_component,
             s_names[level], msg);
}

void hs_log (hs_log_level_t level, const char *fmt, ...)
{
    if (!hs_log_enabled (level)) return;
    va_list ap;
    va_start (ap, fmt);
    s_vlog (level, fmt, ap);
    va_end (ap);
}

#define ONCE_SLOTS 1024
static char *s_once[ONCE_SLOTS];
static unsigned long s_once_overflow;
static pthread_mutex_t s_once_lock = PTHREAD_MUTEX_INITIALIZER;

void hs_log_once (hs_log_level_t level, const char *key, const char *fmt, ...)
{
    if (!hs_log_enabled (level)) return;
    bool emit = false;
    pthread_mutex_lock (&s_once_lock);
    int i;
    for (i = 0; i < ONCE_SLOTS && s_once[i]; i++)
        if (strcmp (s_once[i], key) == 0) break;
    if (i == ONCE_SLOTS)
        emit = (s_once_overflow++ % 1024) == 0;
    else if (!s_once[i]) {
        s_once[i] = hs_strdup (key);
        emit = true;
    }
    pthread_mutex_unlock (&s_once_lock);
    if (!emit) return;
    va_list ap;
    va_start (ap, fmt);
    s_vlog (level, fmt, ap);
    va_end (ap);
}
