/*  hollow_ips.h: the pod IPs a hollow node fakes, as kwok does: from the
 *  Node's podCIDR (spec.podCIDR, which hs-store assigned), .2, .3, ... in
 *  order, the lowest free one first (so a freed address is handed out
 *  again), never the network address, the gateway (.1: the bridge's on a
 *  real node) or the broadcast address. Pure; one set per node, allocated
 *  on first use (a hollow node that runs no pod costs one pointer).
 */
#ifndef HOLLOW_IPS_H
#define HOLLOW_IPS_H

#include <stdbool.h>
#include <stdint.h>

#include "hs_net.h"

/* The addresses a node's pods hold, sorted. */
typedef struct hollow_ips hollow_ips_t;

/* The lowest free address of cidr for a pod, marked held: 0 with *ret_ip,
 * or -ENOSPC when every one is held (a /31 or /32 has none). */
int hollow_ips_take (hollow_ips_t **set, const hs_cidr_t *cidr, uint32_t *ret_ip);
/* Marks ip held (a running pod adopted after a restart); whatever its
 * range. */
void hollow_ips_hold (hollow_ips_t **set, uint32_t ip);
/* Frees ip (absent: nothing). */
void hollow_ips_put (hollow_ips_t **set, uint32_t ip);
/* How many are held. */
uint32_t hollow_ips_count (const hollow_ips_t *set);
void hollow_ips_free (hollow_ips_t **set);

#endif
