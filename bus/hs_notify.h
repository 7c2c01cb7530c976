/*  hs_notify.h: systemd readiness and watchdog, a no-op outside systemd.
 *
 *  hs_notify_ready: send READY=1 once the component has loaded its snapshot
 *  and joined the bus. hs_notify_watchdog: call from the event loop; it sends
 *  WATCHDOG=1 at most every WATCHDOG_USEC/2 when that is set.
 *  hs_notify_timeout: a loop's poll timeout (ms, -1 for none) cut to when the
 *  next WATCHDOG=1 is due, so an idle loop still wakes to send it. Only the
 *  loop sends it: a loop that stalls stops pinging, and systemd restarts it.
 */
#ifndef HS_NOTIFY_H
#define HS_NOTIFY_H

void hs_notify_ready (const char *status);
void hs_notify_status (const char *status);
void hs_notify_watchdog (void);
long hs_notify_timeout (long timeout_ms);
void hs_notify_stopping (void);

#endif
