/*  dns_zone.c: the cluster zone (dns_zone.h). */
#include "dns_zone.h"
#include "hs_net.h"
#include "hs_util.h"

#include <czmq.h>
#include <string.h>

/* One name of the zone. */
typedef struct {
    size_t refs; /* contributions at this name or below it */
    uint32_t *a;
    size_t n_a, cap_a;
    dns_srv_t *srv; /* targets owned */
    size_t n_srv, cap_srv;
} s_node_t;

/* One record a Service contributed (type 0: the name only). */
typedef struct {
    char *name;
    uint16_t type;
    uint32_t a;
    dns_srv_t srv; /* target owned */
} s_rec_t;

typedef struct {
    s_rec_t *recs;
    size_t n, cap;
} s_contrib_t;

struct dns_zone_t {
    char *domain;
    char *svc_apex, *pod_apex; /* "svc.<domain>", "pod.<domain>" */
    size_t domain_len;
    zhashx_t *names; /* name -> s_node_t */
    zhashx_t *svcs;  /* "ns/name" -> s_contrib_t */
};

static void s_node_destroy (void **item)
{
    s_node_t *n = *item;
    if (!n) return;
    free (n->a);
    for (size_t i = 0; i < n->n_srv; i++) free ((char *)n->srv[i].target);
    free (n->srv);
    free (n);
    *item = NULL;
}

static void s_contrib_free (s_contrib_t *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free (c->recs[i].name);
        free ((char *)c->recs[i].srv.target);
    }
    free (c->recs);
    free (c);
}

static void s_contrib_destroy (void **item)
{
    if (*item) s_contrib_free (*item);
    *item = NULL;
}

dns_zone_t *dns_zone_new (const char *domain)
{
    dns_zone_t *z = hs_calloc (1, sizeof *z);
    z->domain = hs_strdup (domain);
    for (char *p = z->domain; *p; p++)
        if (*p >= 'A' && *p <= 'Z') *p = (char)(*p + 32);
    z->domain_len = strlen (z->domain);
    z->svc_apex = hs_sprintf ("svc.%s", z->domain);
    z->pod_apex = hs_sprintf ("pod.%s", z->domain);
    z->names = zhashx_new ();
    zhashx_set_destructor (z->names, s_node_destroy);
    z->svcs = zhashx_new ();
    zhashx_set_destructor (z->svcs, s_contrib_destroy);
    return z;
}

void dns_zone_destroy (dns_zone_t **self_p)
{
    dns_zone_t *z = *self_p;
    if (!z) return;
    zhashx_destroy (&z->svcs);
    zhashx_destroy (&z->names);
    free (z->domain);
    free (z->svc_apex);
    free (z->pod_apex);
    free (z);
    *self_p = NULL;
}

const char *dns_zone_domain (const dns_zone_t *z)
{
    return z->domain;
}

size_t dns_zone_names (const dns_zone_t *z)
{
    return zhashx_size (z->names);
}

size_t dns_zone_services (const dns_zone_t *z)
{
    return zhashx_size (z->svcs);
}

/* ------------------------------------------------------------------ names */

/* name and each ancestor strictly below svc.<domain> gain (+1) or lose (-1)
 * one reference; a node at zero goes. Returns name's node (NULL if it went). */
static s_node_t *s_ref (dns_zone_t *z, const char *name, int delta)
{
    s_node_t *self_node = NULL;
    const char *p = name;
    for (;;) {
        if (hs_streq (p, z->svc_apex) || hs_streq (p, z->domain)) break;
        s_node_t *n = zhashx_lookup (z->names, p);
        if (delta > 0) {
            if (!n) {
                n = hs_calloc (1, sizeof *n);
                zhashx_insert (z->names, p, n);
            }
            n->refs++;
        } else if (n && --n->refs == 0) {
            zhashx_delete (z->names, p);
            n = NULL;
        }
        if (p == name) self_node = n;
        const char *dot = strchr (p, '.');
        if (!dot) break;
        p = dot + 1;
    }
    return self_node;
}

static void s_rec_add (dns_zone_t *z, const s_rec_t *r)
{
    s_node_t *n = s_ref (z, r->name, +1);
    if (r->type == DNS_TYPE_A) {
        if (n->n_a == n->cap_a) {
            n->cap_a = n->cap_a ? n->cap_a * 2 : 2;
            n->a = hs_realloc (n->a, n->cap_a * sizeof *n->a);
        }
        n->a[n->n_a++] = r->a;
    } else if (r->type == DNS_TYPE_SRV) {
        if (n->n_srv == n->cap_srv) {
            n->cap_srv = n->cap_srv ? n->cap_srv * 2 : 2;
            n->srv = hs_realloc (n->srv, n->cap_srv * sizeof *n->srv);
        }
        n->srv[n->n_srv] = r->srv;
        n->srv[n->n_srv++].target = hs_strdup (r->srv.target);
    }
}

static void s_rec_remove (dns_zone_t *z, const s_rec_t *r)
{
    s_node_t *n = zhashx_lookup (z->names, r->name);
    if (n && r->type == DNS_TYPE_A) {
        for (size_t i = 0; i < n->n_a; i++)
            if (n->a[i] == r->a) {
                memmove (n->a + i, n->a + i + 1, (n->n_a - i - 1) * sizeof *n->a);
                n->n_a--;
                break;
            }
    } else if (n && r->type == DNS_TYPE_SRV) {
        for (size_t i = 0; i < n->n_srv; i++)
            if (n->srv[i].port == r->srv.port && hs_streq (n->srv[i].target, r->srv.target)) {
                free ((char *)n->srv[i].target);
                memmove (n->srv + i, n->srv + i + 1, (n->n_srv - i - 1) * sizeof *n->srv);
                n->n_srv--;
                break;
            }
    }
    s_ref (z, r->name, -1);
}

/* ------------------------------------------------------------------ a Service's records */

static void s_lower (char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z') *s = (char)(*s + 32);
}

/* Whether s is one DNS label we can serve (no dots, 1..63 bytes, printable). */
static bool s_label_ok (const char *s)
{
    size_t n = s ? strlen (s) : 0;
    if (n == 0 || n > DNS_MAX_LABEL) return false;
    for (; *s; s++)
        if (*s == '.' || *s < 0x21 || *s > 0x7e) return false;
    return true;
}

static s_rec_t *s_push (s_contrib_t *c, char *name, uint16_t type)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 8;
        c->recs = hs_realloc (c->recs, c->cap * sizeof *c->recs);
    }
    s_rec_t *r = &c->recs[c->n++];
    memset (r, 0, sizeof *r);
    s_lower (name);
    r->name = name;
    r->type = type;
    return r;
}

/* "10-244-1-5" for 10.244.1.5 */
static void s_dashed (uint32_t ip, char *buf)
{
    snprintf (buf, 16, "%u-%u-%u-%u", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff, ip & 0xff);
}

/* The endpoint's name under the Service: its hostname, else its dashed IP. */
static void s_ep_host (const Hs__EndpointAddress *a, uint32_t ip, char *buf, size_t len)
{
    if (s_label_ok (a->hostname))
        snprintf (buf, len, "%s", a->hostname);
    else
        s_dashed (ip, buf);
}

static const char *s_proto (const char *p)
{
    return hs_empty (p) ? "TCP" : p;
}

/* The records of one headless Service's endpoint address list. */
static void s_headless_addrs (s_contrib_t *c, const char *fqdn, const Hs__ServiceSpec *spec,
                              const Hs__EndpointSubset *ss, Hs__EndpointAddress **addrs,
                              size_t n_addrs)
{
    for (size_t i = 0; i < n_addrs; i++) {
        uint32_t ip;
        if (!addrs[i] || hs_ip_parse (addrs[i]->ip, &ip) < 0) continue;
        s_push (c, hs_strdup (fqdn), DNS_TYPE_A)->a = ip;
        char host[DNS_MAX_LABEL + 1];
        s_ep_host (addrs[i], ip, host, sizeof host);
        char *hname = hs_sprintf ("%s.%s", host, fqdn);
        s_push (c, hname, DNS_TYPE_A)->a = ip;
        for (size_t k = 0; k < ss->n_ports; k++) {
            const Hs__EndpointPort *ep = ss->ports[k];
            if (!ep || !s_label_ok (ep->name) || ep->port <= 0 || ep->port > 65535) continue;
            /* only ports the Service names */
            bool known = false;
            for (size_t j = 0; j < spec->n_ports && !known; j++)
                known = spec->ports[j] && hs_streq (spec->ports[j]->name, ep->name);
            if (!known) continue;
            s_rec_t *r = s_push (
                c, hs_sprintf ("_%s._%s.%s", ep->name, s_proto (ep->protocol), fqdn), DNS_TYPE_SRV);
            r->srv = (dns_srv_t){.priority = 0,
                                 .weight = 100,
                                 .port = (uint16_t)ep->port,
                                 .target = hs_strdup (hname)};
            s_lower ((char *)r->srv.target);
        }
    }
}

/* Everything Service ns/name contributes. */
static s_contrib_t *s_contrib (const dns_zone_t *z, const char *ns, const char *name,
                               const Hs__Service *svc, const Hs__Endpoints *eps)
{
    s_contrib_t *c = hs_calloc (1, sizeof *c);
    if (!s_label_ok (ns) || !s_label_ok (name)) return c;
    _cleanup_free_ char *fqdn = hs_sprintf ("%s.%s.%s", name, ns, z->svc_apex);
    s_lower (fqdn);
    uint8_t wire[DNS_MAX_NAME];
    /* room for _port._proto. and a host label in front */
    if (dns_name_to_wire (fqdn, wire) < 0 || strlen (fqdn) > DNS_MAX_NAME - 2 * 66) return c;
    const Hs__ServiceSpec *spec = svc->spec;
    if (!spec) {
        s_push (c, hs_strdup (fqdn), 0);
        return c;
    }
    bool headless = hs_streq (spec->cluster_ip, "None");
    uint32_t ip;
    if (!headless && hs_ip_parse (spec->cluster_ip, &ip) == 0) {
        s_push (c, hs_strdup (fqdn), DNS_TYPE_A)->a = ip;
        for (size_t j = 0; j < spec->n_ports; j++) {
            const Hs__ServicePort *p = spec->ports[j];
            if (!p || !s_label_ok (p->name) || p->port <= 0 || p->port > 65535) continue;
            s_rec_t *r = s_push (c, hs_sprintf ("_%s._%s.%s", p->name, s_proto (p->protocol), fqdn),
                                 DNS_TYPE_SRV);
            r->srv = (dns_srv_t){.priority = 0,
                                 .weight = 100,
                                 .port = (uint16_t)p->port,
                                 .target = hs_strdup (fqdn)};
        }
    } else if (headless && eps) {
        for (size_t s = 0; s < eps->n_subsets; s++) {
            const Hs__EndpointSubset *ss = eps->subsets[s];
            if (!ss) continue;
            s_headless_addrs (c, fqdn, spec, ss, ss->addresses, ss->n_addresses);
            if (spec->publish_not_ready_addresses)
                s_headless_addrs (c, fqdn, spec, ss, ss->not_ready_addresses,
                                  ss->n_not_ready_addresses);
        }
    }
    /* The Service's name exists even without an address. */
    s_push (c, hs_strdup (fqdn), 0);
    return c;
}

void dns_zone_set (dns_zone_t *z, const char *ns, const char *name, const Hs__Service *svc,
                   const Hs__Endpoints *eps)
{
    _cleanup_free_ char *key = hs_sprintf ("%s/%s", hs_s (ns), hs_s (name));
    s_contrib_t *old = zhashx_lookup (z->svcs, key);
    if (old) {
        for (size_t i = 0; i < old->n; i++) s_rec_remove (z, &old->recs[i]);
        zhashx_delete (z->svcs, key);
    }
    if (!svc) return;
    s_contrib_t *c = s_contrib (z, ns, name, svc, eps);
    for (size_t i = 0; i < c->n; i++) s_rec_add (z, &c->recs[i]);
    zhashx_insert (z->svcs, key, c);
}

/* ------------------------------------------------------------------ lookups */

/* "a-b-c-d" into an address; false if it is not one. */
static bool s_undash (const char *s, size_t len, uint32_t *ret)
{
    char buf[16];
    if (len == 0 || len >= sizeof buf) return false;
    for (size_t i = 0; i < len; i++) buf[i] = s[i] == '-' ? '.' : s[i];
    buf[len] = '\0';
    return hs_ip_parse (buf, ret) == 0;
}

dns_zone_kind_t dns_zone_lookup (const dns_zone_t *z, const char *name, uint16_t qtype,
                                 dns_zone_answer_t *ret)
{
    memset (ret, 0, sizeof *ret);
    size_t len = strlen (name);
    if (len < z->domain_len || memcmp (name + len - z->domain_len, z->domain, z->domain_len) != 0 ||
        (len > z->domain_len && name[len - z->domain_len - 1] != '.'))
        return ret->kind = DNS_ZONE_OUTSIDE;
    if (len == z->domain_len) {
        if (qtype == DNS_TYPE_SOA || qtype == DNS_TYPE_ANY) {
            ret->soa = true;
            return ret->kind = DNS_ZONE_FOUND;
        }
        return ret->kind = DNS_ZONE_NODATA;
    }
    if (hs_streq (name, z->svc_apex) || hs_streq (name, z->pod_apex))
        return ret->kind = DNS_ZONE_NODATA;
    /* <a-b-c-d>.<ns>.pod.<domain> */
    size_t plen = strlen (z->pod_apex);
    if (len > plen + 1 && memcmp (name + len - plen, z->pod_apex, plen) == 0 &&
        name[len - plen - 1] == '.') {
        const char *first_dot = strchr (name, '.');
        size_t labels_before = 0;
        for (const char *p = name; p < name + len - plen - 1; p++) labels_before += *p == '.';
        if (labels_before == 0) return ret->kind = DNS_ZONE_NODATA; /* <ns>.pod.<domain> */
        uint32_t ip;
        if (labels_before != 1 || !s_undash (name, (size_t)(first_dot - name), &ip))
            return ret->kind = DNS_ZONE_NXDOMAIN;
        if (qtype != DNS_TYPE_A && qtype != DNS_TYPE_ANY) return ret->kind = DNS_ZONE_NODATA;
        ret->pod_ip = ip;
        ret->a = &ret->pod_ip;
        ret->n_a = 1;
        return ret->kind = DNS_ZONE_FOUND;
    }
    const s_node_t *n = zhashx_lookup (z->names, name);
    if (!n) return ret->kind = DNS_ZONE_NXDOMAIN;
    if ((qtype == DNS_TYPE_A || qtype == DNS_TYPE_ANY) && n->n_a) {
        ret->a = n->a;
        ret->n_a = n->n_a;
        return ret->kind = DNS_ZONE_FOUND;
    }
    if ((qtype == DNS_TYPE_SRV || qtype == DNS_TYPE_ANY) && n->n_srv) {
        ret->srv = n->srv;
        ret->n_srv = n->n_srv;
        return ret->kind = DNS_ZONE_FOUND;
    }
    return ret->kind = DNS_ZONE_NODATA;
}
