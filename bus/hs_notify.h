/*  hs_notify.h: systemd readiness and watchdog, a no-op outside systemd.
 *
 *  hs_notify_ready: send READY=1 once the component has loaded its snapshot
 *  and joined the bus. hs_notify_watchdog: call from the event loop; it sends
 *  WATCHDOG=1 at most every WATCHDOG_USEC/2 when that is set.
 */
#ifndef HS_NOTIFY_H
#define HS_NOTIFY_H

void hs_notify_ready (const char *status);
void hs_notify_status (const char *status);
void hs_notify_watchdog (void);
void hs_notify_stopping (void);

#endif
