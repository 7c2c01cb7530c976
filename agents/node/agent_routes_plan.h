/*  agent_routes_plan.h: the host-gw routes a node keeps, decided from the
 *  Nodes and the routes present. Pure: agent_routes.c does the netlink.
 *
 *  Wanted: for every OTHER Node with spec.podCIDR and an InternalIP
 *  address, `<podCIDR> via <InternalIP> proto 77` (HS_ROUTES_PROTO). Nodes
 *  are taken in the order given (the watch's: by name); a podCIDR already
 *  wanted, one that overlaps our own node's, one outside the cluster CIDR,
 *  an InternalIP that is ours or cannot be a next hop (0.0.0.0, 127/8:
 *  hollow nodes report 127.0.0.1), and a podCIDR some route not ours
 *  already holds (same destination) are skipped, each with its reason. And, when no route that is not ours
 *  covers the Service CIDR (a default route does), `<service-cidr> dev
 *  <the node IP's interface> proto 77`, so that host processes reach
 *  ClusterIPs: the packet must find a route before hs-proxy's output hook
 *  sees it.
 *
 *  Plan: every wanted route not present exactly is added (create or
 *  replace: a route of ours to the same destination is changed in place);
 *  every route of ours that no wanted one explains (its destination is
 *  wanted by none) is deleted. So a restart adopts what it left, and a
 *  deleted Node's route, or one planted by hand with proto 77, goes.
 */
#ifndef AGENT_ROUTES_PLAN_H
#define AGENT_ROUTES_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hs_net.h"
#include "objects.pb-c.h"

#define HS_ROUTES_PROTO 77 /* rtm_protocol of the routes Homeostat owns */

typedef struct {
    hs_cidr_t dst;
    uint32_t gw;       /* 0: a device route (oif) */
    int oif;           /* 0: any */
    uint32_t priority; /* the route's metric (as dumped; 0 for ours) */
} agent_route_t;

typedef struct {
    const char *node;         /* our Node's name */
    uint32_t node_ip;         /* our InternalIP */
    const hs_cidr_t *svc;     /* the Service CIDR, or NULL: no Service route */
    const hs_cidr_t *cluster; /* the cluster CIDR: podCIDRs outside it are skipped (NULL: any) */
    int svc_oif;              /* the node IP's interface (0: unknown: no Service route) */
} agent_routes_self_t;

/* A skipped Node, for the log: name (borrowed from the objects) and why
 * (static text). */
typedef struct {
    const char *node;
    const char *why;
} agent_routes_skip_t;

/* The InternalIP of a Node (its first address of that type) into *ret_ip:
 * 0, -ENOENT (none) or -EINVAL (not an IPv4 address). */
int agent_routes_internal_ip (const Hs__Node *node, uint32_t *ret_ip);

/* The routes wanted (see the banner) from nodes (objects of any kind; not
 * Nodes are skipped), given the routes present that are not ours (others:
 * main table, for the Service CIDR's cover and clashes). *ret (free) and
 * its count; *ret_skips (free; may be NULL) the Nodes left out. */
size_t agent_routes_want (const agent_routes_self_t *me, const Hs__Object *const *nodes, size_t n,
                          const agent_route_t *others, size_t n_others, agent_route_t **ret,
                          agent_routes_skip_t **ret_skips, size_t *ret_n_skips);

/* Whether a route among others (dst containing it, any gateway) covers the
 * whole of cidr. */
bool agent_routes_covered (const hs_cidr_t *cidr, const agent_route_t *others, size_t n);

typedef struct {
    agent_route_t *add; /* create or replace */
    size_t n_add;
    agent_route_t *del; /* ours, unexplained */
    size_t n_del;
} agent_routes_plan_t;

/* What to change: want vs ours (the proto-77 routes present). */
void agent_routes_plan (const agent_route_t *want, size_t n_want, const agent_route_t *ours,
                        size_t n_ours, agent_routes_plan_t *ret);
void agent_routes_plan_free (agent_routes_plan_t *p);

/* "10.244.2.0/24 via 172.30.0.12" or "10.96.0.0/16 dev #3" into buf (64+). */
const char *agent_route_fmt (const agent_route_t *r, char *buf, size_t len);

#endif
