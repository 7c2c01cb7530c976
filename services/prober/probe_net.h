/*  probe_net.h: one tcpSocket or httpGet check on a non-blocking socket,
 *  driven by the caller's poll loop (never blocks).
 *
 *    probe_net_start          connect (non-blocking) to the target
 *    poll probe_net_fd for probe_net_events, then probe_net_step, until it
 *    says done; or, past the probe's timeout, probe_net_timeout_msg
 *    probe_net_destroy        closes the socket
 *
 *  tcpSocket succeeds once connected (the kubelet: connect, then close).
 *  httpGet sends the request, reads the status line, and succeeds for
 *  200..399 (redirects are not followed: a 3xx is a success, as the
 *  kubelet counts a redirect to another host).
 */
#ifndef PROBE_NET_H
#define PROBE_NET_H

#include <stdbool.h>

#include "probe_target.h"

typedef struct probe_net_t probe_net_t;

/* Starts a check of *t (handler TCP or HTTP), taking what *t owns (it is
 * emptied). 0 with *ret; or, when it failed at once, 1 with *ret NULL and
 * *ret_msg the failure message (caller frees). */
int probe_net_start (probe_target_t *t, probe_net_t **ret, char **ret_msg);
int probe_net_fd (const probe_net_t *self);
/* POLLOUT while connecting or sending, POLLIN while reading. */
short probe_net_events (const probe_net_t *self);
/* After the poll said revents (POLLIN/POLLOUT/POLLERR): 0 to go on
 * (probe_net_events may have changed), 1 when done, with *ret_success and
 * *ret_msg (caller frees; NULL for a success without words). */
int probe_net_step (probe_net_t *self, short revents, bool *ret_success, char **ret_msg);
/* The message for a check out of time (caller frees). */
char *probe_net_timeout_msg (const probe_net_t *self);
/* Closes the socket and frees. NULL-safe. */
void probe_net_destroy (probe_net_t **self_p);

#endif
