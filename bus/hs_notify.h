/*  hs_notify.h: systemd readiness, a no-op outside systemd.
 *
 *  hs_notify_ready: send READY=1 once the component has loaded its snapshot
 *  and joined the bus. WATCHDOG=1 is not here: the daemon loop sends it
 *  itself (hs_loop.h), so a loop that stalls stops pinging and systemd
 *  restarts it. hs_daemon_main sends STOPPING=1.
 */
#ifndef HS_NOTIFY_H
#define HS_NOTIFY_H

void hs_notify_ready (const char *status);
void hs_notify_status (const char *status);
void hs_notify_stopping (void);

#endif
