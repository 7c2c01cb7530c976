/*  hs_notify.c: sd_notify wrappers (libsystemd). */
#include "hs_notify.h"
#include "hs_util.h"

#include <stdio.h>
#include <systemd/sd-daemon.h>

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

void hs_notify_stopping (void)
{
    sd_notify (0, "STOPPING=1");
}
