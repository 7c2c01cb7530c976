/*  dns_publish.c: kube-system/kube-dns and its Endpoints (dns_publish.h). */
#include "dns_publish.h"
#include "hs_net.h"
#include "hs_obj.h"
#include "hs_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DNS_PORT 53

static Hs__ServicePort *s_port (const char *name, const char *proto, uint16_t target)
{
    Hs__ServicePort *sp = hs_pb_new (&hs__service_port__descriptor);
    hs_pb_set_str (&sp->name, name);
    hs_pb_set_str (&sp->protocol, proto);
    sp->port = DNS_PORT;
    char buf[8];
    snprintf (buf, sizeof buf, "%u", target);
    hs_pb_set_str (&sp->target_port, buf);
    return sp;
}

/* Whether port p is `name` proto/53 (and, with check_target, targetPort target). */
static bool s_port_ok (const Hs__ServicePort *sp, const char *name, const char *proto,
                       uint16_t target, bool check_target)
{
    if (!sp || !hs_streq (sp->name, name) || !hs_streq (sp->protocol, proto) ||
        sp->port != DNS_PORT)
        return false;
    if (!check_target) {
        int64_t v;
        return hs_parse_i64 (sp->target_port, &v) == 0 && v > 0 && v <= 65535;
    }
    char buf[8];
    snprintf (buf, sizeof buf, "%u", target);
    return hs_streq (sp->target_port, buf);
}

Hs__Object *dns_pub_service (const dns_pub_t *p, const Hs__Object *cur)
{
    char ip[16];
    hs_ip_format (p->cluster_ip, ip);
    const Hs__Service *cs = cur && hs_obj_kind (cur) == HS_KIND_SERVICE ? cur->service : NULL;
    if (cs && cs->spec && cs->metadata) {
        const Hs__ServiceSpec *s = cs->spec;
        bool ok = hs_streq (s->cluster_ip, ip) && s->n_selector == 0 &&
                  (hs_empty (s->type) || hs_streq (s->type, "ClusterIP")) && s->n_ports == 2 &&
                  s_port_ok (s->ports[0], "dns", "UDP", p->port, p->leader) &&
                  s_port_ok (s->ports[1], "dns-tcp", "TCP", p->port, p->leader) &&
                  hs_streq (hs_pb_map_get ((void *const *)cs->metadata->labels,
                                           cs->metadata->n_labels, "k8s-app"),
                            "kube-dns");
        if (ok) return NULL;
    }
    Hs__Object *o;
    if (cs) {
        o = hs_pb_dup (cur); /* keep what others put in its metadata */
        if (!o->service->spec) o->service->spec = hs_pb_new (&hs__service_spec__descriptor);
    } else {
        o = hs_obj_new (HS_KIND_SERVICE, HS_NET_DNS_NAMESPACE, HS_NET_DNS_SERVICE);
        o->service->spec = hs_pb_new (&hs__service_spec__descriptor);
    }
    Hs__ObjectMeta *m = o->service->metadata;
    hs_pb_map_set ((void ***)&m->labels, &m->n_labels, &hs__object_meta__labels_entry__descriptor,
                   "k8s-app", "kube-dns");
    hs_pb_map_sort ((void **)m->labels, m->n_labels);
    Hs__ServiceSpec *s = o->service->spec;
    /* the targetPort a follower found stays */
    uint16_t target = p->port;
    if (!p->leader && s->n_ports > 0 && s->ports[0]) {
        int64_t v;
        if (hs_parse_i64 (s->ports[0]->target_port, &v) == 0 && v > 0 && v <= 65535)
            target = (uint16_t)v;
    }
    for (size_t i = 0; i < s->n_ports; i++) hs_pb_free (s->ports[i]);
    free (s->ports);
    s->ports = NULL;
    s->n_ports = 0;
    hs_pb_push ((void ***)&s->ports, &s->n_ports, s_port ("dns", "UDP", target));
    hs_pb_push ((void ***)&s->ports, &s->n_ports, s_port ("dns-tcp", "TCP", target));
    for (size_t i = 0; i < s->n_selector; i++) hs_pb_free (s->selector[i]);
    free (s->selector);
    s->selector = NULL;
    s->n_selector = 0;
    hs_pb_set_str (&s->cluster_ip, ip);
    for (size_t i = 0; i < s->n_cluster_ips; i++) free (s->cluster_ips[i]);
    free (s->cluster_ips);
    s->cluster_ips = hs_malloc (sizeof *s->cluster_ips);
    s->cluster_ips[0] = hs_strdup (ip);
    s->n_cluster_ips = 1;
    hs_pb_set_str (&s->type, "ClusterIP");
    return o;
}

/* ------------------------------------------------------------------ Endpoints */

typedef struct {
    uint32_t ip;
    uint16_t port;
    Hs__EndpointAddress *addr; /* borrowed from cur, or ours */
} s_entry_t;

static bool s_ours (const Hs__EndpointAddress *a)
{
    return a && a->target_ref && hs_streq (a->target_ref->kind, DNS_PUB_REF_KIND) &&
           hs_streq (a->target_ref->namespace_, HS_NET_DNS_NAMESPACE);
}

/* The port of a subset shaped as ours (dns UDP p, dns-tcp TCP p), or 0. */
static uint16_t s_subset_port (const Hs__EndpointSubset *ss)
{
    if (!ss || ss->n_ports != 2 || !ss->ports[0] || !ss->ports[1]) return 0;
    const Hs__EndpointPort *u = ss->ports[0], *t = ss->ports[1];
    if (!hs_streq (u->name, "dns") || !hs_streq (u->protocol, "UDP") ||
        !hs_streq (t->name, "dns-tcp") || !hs_streq (t->protocol, "TCP") || u->port != t->port ||
        u->port <= 0 || u->port > 65535)
        return 0;
    return (uint16_t)u->port;
}

static int s_entry_cmp (const void *a, const void *b)
{
    const s_entry_t *x = a, *y = b;
    if (x->port != y->port) return x->port < y->port ? -1 : 1;
    if (x->ip != y->ip) return x->ip < y->ip ? -1 : 1;
    return 0;
}

static Hs__EndpointPort *s_ep_port (const char *name, const char *proto, uint16_t port)
{
    Hs__EndpointPort *ep = hs_pb_new (&hs__endpoint_port__descriptor);
    hs_pb_set_str (&ep->name, name);
    hs_pb_set_str (&ep->protocol, proto);
    ep->port = port;
    return ep;
}

Hs__Object *dns_pub_endpoints (const dns_pub_t *p, const Hs__Object *cur)
{
    const Hs__Endpoints *ce = cur && hs_obj_kind (cur) == HS_KIND_ENDPOINTS ? cur->endpoints : NULL;
    size_t cap = 1;
    for (size_t s = 0; ce && s < ce->n_subsets; s++)
        if (ce->subsets[s]) cap += ce->subsets[s]->n_addresses;
    s_entry_t *v = hs_calloc (cap, sizeof *v);
    size_t n = 0;
    for (size_t s = 0; ce && s < ce->n_subsets; s++) {
        const Hs__EndpointSubset *ss = ce->subsets[s];
        uint16_t port = s_subset_port (ss);
        if (!port) continue; /* not shaped as ours: kept as it is */
        for (size_t i = 0; i < ss->n_addresses; i++) {
            Hs__EndpointAddress *a = ss->addresses[i];
            uint32_t ip;
            if (!a || hs_ip_parse (a->ip, &ip) < 0) continue;
            if (s_ours (a)) {
                if (ip == p->advertise || hs_streq (a->target_ref->name, p->instance)) continue;
                if (p->leader && !(p->live && p->live (p->live_arg, a->target_ref->name)))
                    continue; /* left */
            }
            v[n++] = (s_entry_t){.ip = ip, .port = port, .addr = a};
        }
    }
    Hs__EndpointAddress *mine = hs_pb_new (&hs__endpoint_address__descriptor);
    char ip[16];
    hs_pb_set_str (&mine->ip, hs_ip_format (p->advertise, ip));
    hs_pb_set_str (&mine->node_name, p->host);
    mine->target_ref = hs_pb_new (&hs__object_reference__descriptor);
    hs_pb_set_str (&mine->target_ref->kind, DNS_PUB_REF_KIND);
    hs_pb_set_str (&mine->target_ref->namespace_, HS_NET_DNS_NAMESPACE);
    hs_pb_set_str (&mine->target_ref->name, p->instance);
    v[n++] = (s_entry_t){.ip = p->advertise, .port = p->port, .addr = mine};
    qsort (v, n, sizeof *v, s_entry_cmp);

    Hs__Object *o = cur && ce
                        ? hs_pb_dup (cur)
                        : hs_obj_new (HS_KIND_ENDPOINTS, HS_NET_DNS_NAMESPACE, HS_NET_DNS_SERVICE);
    Hs__Endpoints *e = o->endpoints;
    /* subsets not shaped as ours first, as they were */
    Hs__EndpointSubset **keep = NULL;
    size_t n_keep = 0;
    for (size_t s = 0; s < e->n_subsets; s++) {
        if (e->subsets[s] && !s_subset_port (e->subsets[s]))
            hs_pb_push ((void ***)&keep, &n_keep, e->subsets[s]);
        else
            hs_pb_free (e->subsets[s]);
    }
    free (e->subsets);
    e->subsets = keep;
    e->n_subsets = n_keep;
    Hs__EndpointSubset *ss = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!ss || v[i].port != v[i - 1].port) {
            ss = hs_pb_new (&hs__endpoint_subset__descriptor);
            hs_pb_push ((void ***)&ss->ports, &ss->n_ports, s_ep_port ("dns", "UDP", v[i].port));
            hs_pb_push ((void ***)&ss->ports, &ss->n_ports,
                        s_ep_port ("dns-tcp", "TCP", v[i].port));
            hs_pb_push ((void ***)&e->subsets, &e->n_subsets, ss);
        }
        Hs__EndpointAddress *a = v[i].addr == mine ? mine : hs_pb_dup (v[i].addr);
        hs_pb_push ((void ***)&ss->addresses, &ss->n_addresses, a);
    }
    free (v);
    /* Not-ready addresses of our subsets were dropped with them: an
     * instance that is not serving is no address at all. */
    if (ce && hs_pb_equal (e, ce)) {
        hs_pb_free (o);
        return NULL;
    }
    return o;
}
