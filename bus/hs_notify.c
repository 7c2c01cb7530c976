/*  hs_notify.c: sd_notify wrappers (libsystemd). */
#include "hs_notify.h"
#include "hs_util.h"

#include <stdio.h>
#include <systemd/sd-daemon.h>

static int64_t s_next_ping_ns;
static int64_t s_interval_ns = -1;

void hs_notify_ready (const char *status)
{
    char buf[512];
    snprintf (buf, sizeof buf, "READY=1\nSTATUS=%s", hs_s (status));
    sd_notify (0, buf);
}

void hs_notify_status (const char *status)
{
    char buf[512];
    snprintf (buf, sizeof buf, "STATUS=%s", hs_s (status));
    sd_notify (0, buf);
}

/* WATCHDOG_USEC/2 in ns, or 0 without a watchdog; read once. */
static int64_t s_interval (void)
{
    if (s_interval_ns < 0) {
        uint64_t usec = 0;
        s_interval_ns = sd_watchdog_enabled (0, &usec) > 0 ? (int64_t)usec * 1000 / 2 : 0;
    }
    return s_interval_ns;
}

void hs_notify_watchdog (void)
{
    if (s_interval () == 0) return;
    int64_t now = hs_mono_ns ();
    if (now < s_next_ping_ns) return;
    s_next_ping_ns = now + s_interval_ns;
    sd_notify (0, "WATCHDOG=1");
}

long hs_notify_timeout (long timeout_ms)
{
    if (s_interval () == 0) return timeout_ms;
    int64_t left = s_next_ping_ns - hs_mono_ns ();
    long due = left <= 0 ? 0 : (long)((left + 999999) / 1000000);
    return timeout_ms < 0 || due < timeout_ms ? due : timeout_ms;
}

void hs_notify_stopping (void)
{
    sd_notify (0, "STOPPING=1");
}
