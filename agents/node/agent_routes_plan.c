/*  agent_routes_plan.c: the host-gw routes wanted, and the changes (see
 *  agent_routes_plan.h). */
#include "agent_routes_plan.h"

#include "hs_obj.h"
#include "hs_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int agent_routes_internal_ip (const Hs__Node *node, uint32_t *ret_ip)
{
    const Hs__NodeStatus *st = node ? node->status : NULL;
    for (size_t i = 0; st && i < st->n_addresses; i++) {
        const Hs__NodeAddress *a = st->addresses[i];
        if (!a || !hs_streq (a->type, "InternalIP")) continue;
        return hs_ip_parse (a->address, ret_ip) == 0 ? 0 : -EINVAL;
    }
    return -ENOENT;
}

static bool s_same_dst (const hs_cidr_t *a, const hs_cidr_t *b)
{
    return a->addr == b->addr && a->prefix == b->prefix;
}

bool agent_routes_covered (const hs_cidr_t *cidr, const agent_route_t *others, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (others[i].dst.prefix <= cidr->prefix && hs_cidr_contains (&others[i].dst, cidr->addr))
            return true;
    return false;
}

static void s_push (agent_route_t **v, size_t *n, const agent_route_t *r)
{
    *v = hs_realloc (*v, (*n + 1) * sizeof **v);
    (*v)[(*n)++] = *r;
}

static void s_skip (agent_routes_skip_t **v, size_t *n, const char *node, const char *why)
{
    if (!v) return;
    *v = hs_realloc (*v, (*n + 1) * sizeof **v);
    (*v)[(*n)++] = (agent_routes_skip_t){node, why};
}

size_t agent_routes_want (const agent_routes_self_t *me, const Hs__Object *const *nodes, size_t n,
                          const agent_route_t *others, size_t n_others, agent_route_t **ret,
                          agent_routes_skip_t **ret_skips, size_t *ret_n_skips)
{
    agent_route_t *want = NULL;
    size_t nw = 0, ns = 0;
    if (ret_skips) *ret_skips = NULL;
    /* Our own podCIDR: another Node's that overlaps it is not routed away. */
    hs_cidr_t own = {0};
    bool has_own = false;
    for (size_t i = 0; i < n; i++) {
        if (hs_obj_kind (nodes[i]) != HS_KIND_NODE || !nodes[i]->node) continue;
        const Hs__Node *nd = nodes[i]->node;
        if (nd->metadata && hs_streq (nd->metadata->name, me->node) && nd->spec &&
            hs_cidr_parse (nd->spec->pod_cidr, &own) == 0)
            has_own = true;
    }
    for (size_t i = 0; i < n; i++) {
        if (hs_obj_kind (nodes[i]) != HS_KIND_NODE || !nodes[i]->node) continue;
        const Hs__Node *nd = nodes[i]->node;
        const char *name = nd->metadata ? hs_s (nd->metadata->name) : "";
        if (hs_streq (name, me->node)) continue;
        if (!nd->spec || hs_empty (nd->spec->pod_cidr)) continue; /* not assigned yet */
        agent_route_t r = {0};
        if (hs_cidr_parse (nd->spec->pod_cidr, &r.dst) < 0) {
            s_skip (ret_skips, &ns, name, "its spec.podCIDR is not an IPv4 CIDR");
            continue;
        }
        int e = agent_routes_internal_ip (nd, &r.gw);
        if (e == -ENOENT) continue; /* its agent has not posted its address yet */
        if (e < 0) {
            s_skip (ret_skips, &ns, name, "its InternalIP is not an IPv4 address");
            continue;
        }
        if (r.gw == 0 || (r.gw >> 24) == 127) {
            s_skip (ret_skips, &ns, name,
                    "its InternalIP is loopback or 0.0.0.0 (a hollow node?), no next hop");
            continue;
        }
        if (me->cluster &&
            !(r.dst.prefix >= me->cluster->prefix && hs_cidr_contains (me->cluster, r.dst.addr))) {
            s_skip (ret_skips, &ns, name, "its podCIDR is not inside the cluster CIDR");
            continue;
        }
        if (r.gw == me->node_ip) {
            s_skip (ret_skips, &ns, name, "its InternalIP is this node's own");
            continue;
        }
        if (has_own && hs_cidr_overlaps (&r.dst, &own)) {
            s_skip (ret_skips, &ns, name, "its podCIDR overlaps this node's");
            continue;
        }
        bool clash = false;
        for (size_t j = 0; j < nw && !clash; j++) clash = hs_cidr_overlaps (&want[j].dst, &r.dst);
        if (clash) {
            s_skip (ret_skips, &ns, name, "its podCIDR overlaps another node's");
            continue;
        }
        for (size_t j = 0; j < n_others && !clash; j++) clash = s_same_dst (&others[j].dst, &r.dst);
        if (clash) {
            s_skip (ret_skips, &ns, name, "a route not Homeostat's holds its podCIDR");
            continue;
        }
        s_push (&want, &nw, &r);
    }
    if (me->svc && me->svc_oif > 0 && !agent_routes_covered (me->svc, others, n_others)) {
        agent_route_t r = {.dst = *me->svc, .oif = me->svc_oif};
        s_push (&want, &nw, &r);
    }
    *ret = want;
    if (ret_n_skips) *ret_n_skips = ns;
    return nw;
}

static bool s_same (const agent_route_t *a, const agent_route_t *b)
{
    return s_same_dst (&a->dst, &b->dst) && a->gw == b->gw && (a->gw || a->oif == b->oif);
}

void agent_routes_plan (const agent_route_t *want, size_t n_want, const agent_route_t *ours,
                        size_t n_ours, agent_routes_plan_t *ret)
{
    memset (ret, 0, sizeof *ret);
    for (size_t i = 0; i < n_want; i++) {
        bool present = false;
        for (size_t j = 0; j < n_ours && !present; j++)
            present = s_same (&want[i], &ours[j]) && ours[j].priority == 0;
        if (!present) s_push (&ret->add, &ret->n_add, &want[i]);
    }
    for (size_t j = 0; j < n_ours; j++) {
        /* Explained: a wanted route has this destination at this metric
         * (a replace changes its gateway in place). */
        bool wanted = false;
        for (size_t i = 0; i < n_want && !wanted; i++)
            wanted = s_same_dst (&want[i].dst, &ours[j].dst) && ours[j].priority == 0;
        /* Two of ours to one destination (a second metric): all but the
         * one a replace keeps go. */
        for (size_t k = 0; k < j && wanted; k++)
            if (s_same_dst (&ours[k].dst, &ours[j].dst) && ours[k].priority == ours[j].priority)
                wanted = false;
        if (!wanted) s_push (&ret->del, &ret->n_del, &ours[j]);
    }
}

void agent_routes_plan_free (agent_routes_plan_t *p)
{
    free (p->add);
    free (p->del);
    memset (p, 0, sizeof *p);
}

const char *agent_route_fmt (const agent_route_t *r, char *buf, size_t len)
{
    char d[16], g[16];
    hs_ip_format (r->dst.addr, d);
    if (r->gw)
        snprintf (buf, len, "%s/%d via %s", d, r->dst.prefix, hs_ip_format (r->gw, g));
    else
        snprintf (buf, len, "%s/%d dev #%d", d, r->dst.prefix, r->oif);
    return buf;
}
