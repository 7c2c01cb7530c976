/*  agent_routes.h: the node's host-gw routes to the other nodes' pods,
 *  kept through rtnetlink (libmnl) in the network namespace the agent runs
 *  in. What is wanted is agent_routes_plan.h's; this is the wiring.
 *
 *  A sync: dump the main table's IPv4 routes (RTM_GETROUTE), plan, then
 *  send each change (RTM_NEWROUTE create|replace, RTM_DELROUTE) and count
 *  their acks. Never blocking: both netlink sockets are non-blocking loop
 *  sources, and agent_routes_work moves the sync on from what has arrived.
 *  A sync runs when a Node changes (agent_routes_changed), when a route
 *  changes in the namespace (a second socket in the RTMGRP_IPV4_ROUTE
 *  group: a route planted or removed by hand is answered at once), and
 *  every RESYNC interval; 50 ms apart at the most. Errors (a route the
 *  kernel refuses, a Node that cannot be routed) are logged once per
 *  route and reason, never fatal.
 *
 *  At start it sets net.ipv4.ip_forward=1: a node routes its pods'
 *  traffic. A node whose address is loopback (one machine, every agent in
 *  one namespace, the tests' usual set) keeps no routes at all and
 *  changes nothing: see agent_routes_new.
 */
#ifndef AGENT_ROUTES_H
#define AGENT_ROUTES_H

#include <stdint.h>

#include "hs_client.h"
#include "hs_loop.h"
#include "hs_net.h"

typedef struct agent_routes_t agent_routes_t;

/* Routes for node, whose InternalIP is node_ip, on loop (borrowed). svc:
 * the Service CIDR (copied; NULL: no Service route); cluster: the cluster
 * CIDR (copied; other Nodes' podCIDRs outside it get no route; NULL: any). NULL (logged) when
 * netlink cannot be opened; the agent runs on without routes. */
agent_routes_t *agent_routes_new (hs_loop_t *loop, const char *node, uint32_t node_ip,
                                  const hs_cidr_t *svc, const hs_cidr_t *cluster);
/* Leaves the routes in place (the pods' traffic goes on; the next start
 * adopts them). NULL-safe. */
void agent_routes_destroy (agent_routes_t **self_p);

/* Where the Nodes are: a watch holding them (borrowed; NULL: none yet).
 * Until it has synced, nothing is deleted. */
void agent_routes_set_watch (agent_routes_t *self, hs_watch_t *w);
/* A Node changed: sync soon. NULL-safe. */
void agent_routes_changed (agent_routes_t *self);

/* One turn. Returns when the next is due at the latest (absolute
 * monotonic ns). NULL-safe (HS_NEVER). */
int64_t agent_routes_work (agent_routes_t *self);

/* Counters: syncs done, routes added, deleted, errors. */
uint64_t agent_routes_counter (agent_routes_t *self, int which);
enum { AGENT_ROUTES_SYNCS, AGENT_ROUTES_ADDED, AGENT_ROUTES_DELETED, AGENT_ROUTES_ERRORS };

/* The source address the kernel picks to reach host (a name or an IPv4
 * address, resolved once) into *ret_ip: 0 or -errno. */
int agent_routes_source_ip (const char *host, uint32_t *ret_ip);
/* A node's default address: the source address the kernel picks to reach
 * the bus's host (bus as hs-agent's --bus; NULL: $HS_BUS or the default);
 * for an ipc:// bus, or when that fails, the first IPv4 address of an
 * interface that is up and not loopback; else 127.0.0.1. */
uint32_t agent_routes_default_ip (const char *bus);
/* The index of the interface that holds ip, or 0. */
int agent_routes_ifindex_of (uint32_t ip);

#endif
