/*  proxy_render.c: Services and Endpoints into nftables text (proxy_render.h).
 *
 *  One Service becomes a "piece": its chains (name and rules), its map and
 *  set elements, its affinity sets. The full table is the fixed skeleton
 *  plus every piece; an incremental transaction compares a Service's old
 *  piece with its new one, both sorted by name, and writes only what
 *  differs.
 */
#include "proxy_render.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T PROXY_FAMILY " " PROXY_TABLE /* "ip homeostat" in commands */

/* ------------------------------------------------------------------ the model */

/* Names go into chain names unquoted: what a DNS label or subdomain holds. */
static bool s_name_ok (const char *s)
{
    size_t n = s ? strlen (s) : 0;
    return n > 0 && n <= 63 && strspn (s, "abcdefghijklmnopqrstuvwxyz0123456789-.") == n &&
           s[0] != '-' && s[0] != '.';
}

static uint8_t s_proto (const char *p)
{
    if (hs_empty (p) || strcmp (p, "TCP") == 0) return IPPROTO_TCP;
    if (strcmp (p, "UDP") == 0) return IPPROTO_UDP;
    return 0;
}

static const char *s_proto_name (uint8_t proto)
{
    return proto == IPPROTO_UDP ? "udp" : "tcp";
}

static int s_ep_cmp (const void *a, const void *b)
{
    const proxy_ep_t *x = a, *y = b;
    if (x->ip != y->ip) return x->ip < y->ip ? -1 : 1;
    return (int)x->port - (int)y->port;
}

/* The ready endpoints of service port sp: every subset's addresses times
 * that subset's port of the same name. */
/* An endpoint address Service traffic may go to: not unspecified (0/8),
 * loopback (127/8: a node's own local services), link-local (169.254/16:
 * cloud metadata), multicast or reserved (224/3 and up). Validation
 * refuses all but loopback; this is the second defence. */
static bool s_ep_ip_ok (uint32_t ip)
{
    return (ip >> 24) != 0 && (ip >> 24) != 127 && (ip >> 16) != 0xa9fe && (ip >> 28) < 0xe;
}

static void s_port_endpoints (proxy_port_t *p, const Hs__ServicePort *sp, const Hs__Endpoints *ep)
{
    if (!ep) return;
    size_t cap = 0;
    for (size_t i = 0; i < ep->n_subsets; i++) {
        const Hs__EndpointSubset *ss = ep->subsets[i];
        const Hs__EndpointPort *epp = NULL;
        for (size_t j = 0; j < ss->n_ports && !epp; j++)
            if (hs_streq (ss->ports[j]->name, sp->name)) epp = ss->ports[j];
        if (!epp || epp->port < 1 || epp->port > 65535 || s_proto (epp->protocol) != p->proto)
            continue;
        for (size_t j = 0; j < ss->n_addresses && p->n_eps < PROXY_MAX_ENDPOINTS; j++) {
            uint32_t ip;
            if (!ss->addresses[j] || hs_ip_parse (ss->addresses[j]->ip, &ip) < 0 ||
                !s_ep_ip_ok (ip))
                continue;
            if (p->n_eps == cap) {
                cap = cap ? cap * 2 : 4;
                p->eps = hs_realloc (p->eps, cap * sizeof *p->eps);
            }
            p->eps[p->n_eps++] = (proxy_ep_t){ip, (uint16_t)epp->port};
        }
    }
    if (p->n_eps < 2) return;
    qsort (p->eps, p->n_eps, sizeof *p->eps, s_ep_cmp);
    size_t w = 1;
    for (size_t r = 1; r < p->n_eps; r++)
        if (s_ep_cmp (&p->eps[r], &p->eps[w - 1]) != 0) p->eps[w++] = p->eps[r];
    p->n_eps = w;
}

int proxy_svc_build (const Hs__Service *svc, const Hs__Endpoints *ep, proxy_svc_t **ret_svc,
                     const char **ret_why)
{
    const Hs__ObjectMeta *md = svc ? svc->metadata : NULL;
    if (!md || !s_name_ok (md->namespace_) || !s_name_ok (md->name)) {
        *ret_why = "metadata.namespace/name: not a DNS label of at most 63 characters";
        return -EINVAL;
    }
    const Hs__ServiceSpec *spec = svc->spec;
    if (!spec || hs_empty (spec->cluster_ip) || strcmp (spec->cluster_ip, "None") == 0) {
        *ret_svc = NULL;
        return 0;
    }
    uint32_t cip;
    if (hs_ip_parse (spec->cluster_ip, &cip) < 0) {
        *ret_why = "spec.clusterIP: not an IPv4 address";
        return -EINVAL;
    }
    proxy_svc_t *s = hs_calloc (1, sizeof *s);
    s->ns = hs_strdup (md->namespace_);
    s->name = hs_strdup (md->name);
    s->cluster_ip = cip;
    if (hs_streq (spec->session_affinity, "ClientIP")) {
        s->affinity_s = PROXY_AFFINITY_DEFAULT;
        const Hs__SessionAffinityConfig *c = spec->session_affinity_config;
        if (c && c->client_ip && c->client_ip->timeout_seconds) {
            int32_t t = c->client_ip->timeout_seconds->value;
            if (t >= 1 && t <= 86400) s->affinity_s = t;
        }
    }
    s->ports = hs_calloc (spec->n_ports ? spec->n_ports : 1, sizeof *s->ports);
    for (size_t i = 0; i < spec->n_ports && s->n_ports < PROXY_MAX_PORTS; i++) {
        const Hs__ServicePort *sp = spec->ports[i];
        uint8_t proto = sp ? s_proto (sp->protocol) : 0;
        if (!proto || sp->port < 1 || sp->port > 65535) continue;
        bool dup = false;
        for (size_t j = 0; j < s->n_ports; j++)
            dup |= s->ports[j].proto == proto && s->ports[j].port == sp->port;
        if (dup) continue;
        proxy_port_t *p = &s->ports[s->n_ports++];
        p->proto = proto;
        p->port = (uint16_t)sp->port;
        s_port_endpoints (p, sp, ep);
    }
    *ret_svc = s;
    return 0;
}

void proxy_svc_destroy (proxy_svc_t **self_p)
{
    proxy_svc_t *s = *self_p;
    if (!s) return;
    for (size_t i = 0; i < s->n_ports; i++) free (s->ports[i].eps);
    free (s->ports);
    free (s->ns);
    free (s->name);
    free (s);
    *self_p = NULL;
}

char *proxy_svc_key (const proxy_svc_t *s)
{
    return hs_sprintf ("%s/%s", s->ns, s->name);
}

char *proxy_service_chain (const proxy_svc_t *s, const proxy_port_t *p)
{
    return hs_sprintf ("service-%s/%s/%s/%u", s->ns, s->name, s_proto_name (p->proto), p->port);
}

char *proxy_endpoint_chain (const proxy_svc_t *s, const proxy_port_t *p, const proxy_ep_t *e)
{
    char ip[16];
    return hs_sprintf ("endpoint-%s/%s/%s/%u__%s/%u", s->ns, s->name, s_proto_name (p->proto),
                       p->port, hs_ip_format (e->ip, ip), e->port);
}

static char *s_affinity_set (const proxy_svc_t *s, const proxy_port_t *p, const proxy_ep_t *e)
{
    char ip[16];
    return hs_sprintf ("affinity-%s/%s/%s/%u__%s/%u", s->ns, s->name, s_proto_name (p->proto),
                       p->port, hs_ip_format (e->ip, ip), e->port);
}

/* ------------------------------------------------------------------ pieces */

typedef struct {
    char *name;
    hs_buf_t rules; /* one rule per line */
} s_chain_t;

typedef struct {
    const char *map; /* "service-ips", "no-endpoint-services", "cluster-ips" */
    char *key;
    char *value; /* NULL in a set */
} s_elem_t;

typedef struct {
    char *name;
    int timeout_s;
} s_aset_t;

typedef struct {
    s_chain_t *chains;
    size_t n_chains, cap_chains;
    s_elem_t *elems;
    size_t n_elems, cap_elems;
    s_aset_t *sets;
    size_t n_sets, cap_sets;
    uint32_t *hairpin; /* endpoint addresses of compact service ports */
    size_t n_hairpin, cap_hairpin;
} s_piece_t;

static s_chain_t *s_piece_chain (s_piece_t *pc, char *name)
{
    if (pc->n_chains == pc->cap_chains) {
        pc->cap_chains = pc->cap_chains ? pc->cap_chains * 2 : 8;
        pc->chains = hs_realloc (pc->chains, pc->cap_chains * sizeof *pc->chains);
    }
    s_chain_t *c = &pc->chains[pc->n_chains++];
    *c = (s_chain_t){.name = name};
    return c;
}

static void s_piece_elem (s_piece_t *pc, const char *map, char *key, char *value)
{
    if (pc->n_elems == pc->cap_elems) {
        pc->cap_elems = pc->cap_elems ? pc->cap_elems * 2 : 8;
        pc->elems = hs_realloc (pc->elems, pc->cap_elems * sizeof *pc->elems);
    }
    pc->elems[pc->n_elems++] = (s_elem_t){map, key, value};
}

static void s_piece_set (s_piece_t *pc, char *name, int timeout_s)
{
    if (pc->n_sets == pc->cap_sets) {
        pc->cap_sets = pc->cap_sets ? pc->cap_sets * 2 : 8;
        pc->sets = hs_realloc (pc->sets, pc->cap_sets * sizeof *pc->sets);
    }
    pc->sets[pc->n_sets++] = (s_aset_t){name, timeout_s};
}

static void s_piece_hairpin (s_piece_t *pc, uint32_t ip)
{
    if (pc->n_hairpin == pc->cap_hairpin) {
        pc->cap_hairpin = pc->cap_hairpin ? pc->cap_hairpin * 2 : 16;
        pc->hairpin = hs_realloc (pc->hairpin, pc->cap_hairpin * sizeof *pc->hairpin);
    }
    pc->hairpin[pc->n_hairpin++] = ip;
}

static void s_piece_free (s_piece_t *pc)
{
    for (size_t i = 0; i < pc->n_chains; i++) {
        free (pc->chains[i].name);
        hs_buf_free (&pc->chains[i].rules);
    }
    for (size_t i = 0; i < pc->n_elems; i++) {
        free (pc->elems[i].key);
        free (pc->elems[i].value);
    }
    for (size_t i = 0; i < pc->n_sets; i++) free (pc->sets[i].name);
    free (pc->chains);
    free (pc->elems);
    free (pc->sets);
    free (pc->hairpin);
    *pc = (s_piece_t){0};
}

static int s_chain_cmp (const void *a, const void *b)
{
    return strcmp (((const s_chain_t *)a)->name, ((const s_chain_t *)b)->name);
}

static int s_elem_cmp (const void *a, const void *b)
{
    const s_elem_t *x = a, *y = b;
    int c = strcmp (x->map, y->map);
    return c ? c : strcmp (x->key, y->key);
}

static int s_u32_cmp (const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Sorts and drops duplicates; returns the new count. */
static size_t s_u32_unique (uint32_t *v, size_t n)
{
    if (n < 2) return n;
    qsort (v, n, sizeof *v, s_u32_cmp);
    size_t w = 1;
    for (size_t r = 1; r < n; r++)
        if (v[r] != v[w - 1]) v[w++] = v[r];
    return w;
}

static int s_aset_cmp (const void *a, const void *b)
{
    return strcmp (((const s_aset_t *)a)->name, ((const s_aset_t *)b)->name);
}

static char *s_port_key (const proxy_svc_t *s, const proxy_port_t *p)
{
    char ip[16];
    return hs_sprintf ("%s . %s . %u", hs_ip_format (s->cluster_ip, ip), s_proto_name (p->proto),
                       p->port);
}

/* kube-proxy's servicePortChain and endpointChain, for one port. */
static void s_piece_port (s_piece_t *pc, const proxy_conf_t *conf, const proxy_svc_t *s,
                          const proxy_port_t *p)
{
    if (p->n_eps == 0) {
        s_piece_elem (pc, "no-endpoint-services", s_port_key (s, p),
                      hs_strdup ("goto reject-chain"));
        return;
    }
    char ip[16];
    _cleanup_free_ char *cluster = hs_cidr_format (&conf->cluster);
    if (!s->affinity_s) {
        /* compact: one chain, the endpoint picked by a numgen map straight
         * into the DNAT; hairpin by @hairpin-endpoints in masquerading */
        char *svc_chain = proxy_service_chain (s, p);
        s_chain_t *c = s_piece_chain (pc, hs_strdup (svc_chain));
        hs_buf_printf (&c->rules, "ip saddr != %s jump mark-for-masquerade\n", cluster);
        if (p->n_eps == 1) {
            hs_buf_printf (&c->rules, "meta l4proto %s dnat to %s:%u\n", s_proto_name (p->proto),
                           hs_ip_format (p->eps[0].ip, ip), p->eps[0].port);
        } else {
            hs_buf_printf (&c->rules, "meta l4proto %s dnat ip to numgen random mod %zu map { ",
                           s_proto_name (p->proto), p->n_eps);
            for (size_t i = 0; i < p->n_eps; i++)
                hs_buf_printf (&c->rules, "%s%zu : %s . %u", i ? ", " : "", i,
                               hs_ip_format (p->eps[i].ip, ip), p->eps[i].port);
            hs_buf_puts (&c->rules, " }\n");
        }
        for (size_t i = 0; i < p->n_eps; i++) s_piece_hairpin (pc, p->eps[i].ip);
        s_piece_elem (pc, "service-ips", s_port_key (s, p), hs_sprintf ("goto %s", svc_chain));
        free (svc_chain);
        return;
    }
    char **epc = hs_calloc (p->n_eps, sizeof *epc);
    for (size_t i = 0; i < p->n_eps; i++) {
        const proxy_ep_t *e = &p->eps[i];
        epc[i] = proxy_endpoint_chain (s, p, e);
        s_chain_t *c = s_piece_chain (pc, hs_strdup (epc[i]));
        hs_buf_printf (&c->rules, "ip saddr %s jump mark-for-masquerade\n",
                       hs_ip_format (e->ip, ip));
        if (s->affinity_s) {
            char *set = s_affinity_set (s, p, e);
            hs_buf_printf (&c->rules, "update @%s { ip saddr }\n", set);
            s_piece_set (pc, set, s->affinity_s);
        }
        hs_buf_printf (&c->rules, "meta l4proto %s dnat to %s:%u\n", s_proto_name (p->proto), ip,
                       e->port);
    }
    char *svc_chain = proxy_service_chain (s, p);
    s_chain_t *c = s_piece_chain (pc, hs_strdup (svc_chain));
    hs_buf_printf (&c->rules, "ip saddr != %s jump mark-for-masquerade\n", cluster);
    if (s->affinity_s)
        for (size_t i = 0; i < p->n_eps; i++) {
            _cleanup_free_ char *set = s_affinity_set (s, p, &p->eps[i]);
            hs_buf_printf (&c->rules, "ip saddr @%s goto %s\n", set, epc[i]);
        }
    if (p->n_eps == 1) {
        hs_buf_printf (&c->rules, "goto %s\n", epc[0]);
    } else {
        hs_buf_printf (&c->rules, "numgen random mod %zu vmap { ", p->n_eps);
        for (size_t i = 0; i < p->n_eps; i++)
            hs_buf_printf (&c->rules, "%s%zu : goto %s", i ? ", " : "", i, epc[i]);
        hs_buf_puts (&c->rules, " }\n");
    }
    s_piece_elem (pc, "service-ips", s_port_key (s, p), hs_sprintf ("goto %s", svc_chain));
    free (svc_chain);
    for (size_t i = 0; i < p->n_eps; i++) free (epc[i]);
    free (epc);
}

/* Everything one Service puts in the table, each list sorted by name. */
static void s_piece (s_piece_t *pc, const proxy_conf_t *conf, const proxy_svc_t *s)
{
    *pc = (s_piece_t){0};
    if (!s) return;
    char ip[16];
    s_piece_elem (pc, "cluster-ips", hs_strdup (hs_ip_format (s->cluster_ip, ip)), NULL);
    for (size_t i = 0; i < s->n_ports; i++) s_piece_port (pc, conf, s, &s->ports[i]);
    /* qsort wants an array, even of 0 elements */
    if (pc->n_chains > 1) qsort (pc->chains, pc->n_chains, sizeof *pc->chains, s_chain_cmp);
    if (pc->n_elems > 1) qsort (pc->elems, pc->n_elems, sizeof *pc->elems, s_elem_cmp);
    if (pc->n_sets > 1) qsort (pc->sets, pc->n_sets, sizeof *pc->sets, s_aset_cmp);
    pc->n_hairpin = s_u32_unique (pc->hairpin, pc->n_hairpin);
}

/* ------------------------------------------------------------------ the full table */

static void s_set_decl (hs_buf_t *b, const s_aset_t *a)
{
    hs_buf_printf (b, "{ type ipv4_addr; flags dynamic,timeout; timeout %ds; }", a->timeout_s);
}

/* The elements of `map` in every piece, as "elements = { ... }" lines. */
static void s_elements (hs_buf_t *b, const s_piece_t *pcs, size_t n, const char *map)
{
    bool first = true;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < pcs[i].n_elems; j++) {
            const s_elem_t *e = &pcs[i].elems[j];
            if (strcmp (e->map, map) != 0) continue;
            hs_buf_puts (b, first ? "\t\telements = {\n" : ",\n");
            first = false;
            hs_buf_printf (b, "\t\t\t%s%s%s", e->key, e->value ? " : " : "",
                           e->value ? e->value : "");
        }
    if (!first) hs_buf_puts (b, "\n\t\t}\n");
}

static void s_chain_block (hs_buf_t *b, const char *name, const char *decl, const char *rules)
{
    hs_buf_printf (b, "\tchain %s {\n", name);
    if (decl) hs_buf_printf (b, "\t\t%s\n", decl);
    for (const char *r = rules; r && *r;) {
        const char *nl = strchr (r, '\n');
        size_t len = nl ? (size_t)(nl - r) : strlen (r);
        hs_buf_printf (b, "\t\t%.*s\n", (int)len, r);
        r += len + (nl ? 1 : 0);
    }
    hs_buf_puts (b, "\t}\n");
}

char *proxy_render_table (const proxy_conf_t *conf, proxy_svc_t *const *svcs, size_t n)
{
    s_piece_t *pcs = hs_calloc (n ? n : 1, sizeof *pcs);
    for (size_t i = 0; i < n; i++) s_piece (&pcs[i], conf, svcs[i]);
    _cleanup_free_ char *cluster = hs_cidr_format (&conf->cluster);
    _cleanup_free_ char *service = hs_cidr_format (&conf->service);
    hs_buf_t b = {0};
    hs_buf_puts (&b, "table " T " {\n");
    hs_buf_puts (&b, "\tmap service-ips {\n"
                     "\t\ttype ipv4_addr . inet_proto . inet_service : verdict\n");
    s_elements (&b, pcs, n, "service-ips");
    hs_buf_puts (&b, "\t}\n");
    hs_buf_puts (&b, "\tmap no-endpoint-services {\n"
                     "\t\ttype ipv4_addr . inet_proto . inet_service : verdict\n");
    s_elements (&b, pcs, n, "no-endpoint-services");
    hs_buf_puts (&b, "\t}\n");
    hs_buf_puts (&b, "\tset cluster-ips {\n"
                     "\t\ttype ipv4_addr\n");
    s_elements (&b, pcs, n, "cluster-ips");
    hs_buf_puts (&b, "\t}\n");
    /* one element per endpoint address, whatever number of Services have it */
    size_t n_hp = 0;
    for (size_t i = 0; i < n; i++) n_hp += pcs[i].n_hairpin;
    uint32_t *hp = hs_calloc (n_hp ? n_hp : 1, sizeof *hp);
    n_hp = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < pcs[i].n_hairpin; j++) hp[n_hp++] = pcs[i].hairpin[j];
    n_hp = s_u32_unique (hp, n_hp);
    hs_buf_puts (&b, "\tset hairpin-endpoints {\n"
                     "\t\ttype ipv4_addr . ipv4_addr\n");
    for (size_t i = 0; i < n_hp; i++) {
        char ip[16];
        hs_buf_puts (&b, i ? ",\n" : "\t\telements = {\n");
        hs_buf_printf (&b, "\t\t\t%s . %s", hs_ip_format (hp[i], ip), ip);
    }
    if (n_hp) hs_buf_puts (&b, "\n\t\t}\n");
    hs_buf_puts (&b, "\t}\n");
    free (hp);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < pcs[i].n_sets; j++) {
            hs_buf_printf (&b, "\tset %s ", pcs[i].sets[j].name);
            s_set_decl (&b, &pcs[i].sets[j]);
            hs_buf_puts (&b, "\n");
        }

    /* base chains */
    s_chain_block (&b, "filter-input", "type filter hook input priority -110; policy accept;",
                   "ct state new jump service-endpoints-check\n");
    s_chain_block (&b, "filter-forward", "type filter hook forward priority -110; policy accept;",
                   "ct state new jump service-endpoints-check\n"
                   "ct state new jump cluster-ips-check\n");
    s_chain_block (&b, "filter-output", "type filter hook output priority -110; policy accept;",
                   "ct state new jump service-endpoints-check\n");
    s_chain_block (&b, "filter-output-post-dnat",
                   "type filter hook output priority -90; policy accept;",
                   "ct state new jump cluster-ips-check\n");
    s_chain_block (&b, "nat-prerouting", "type nat hook prerouting priority -100; policy accept;",
                   "jump services\n");
    s_chain_block (&b, "nat-output", "type nat hook output priority -100; policy accept;",
                   "jump services\n");
    s_chain_block (&b, "nat-postrouting", "type nat hook postrouting priority 100; policy accept;",
                   "jump masquerading\n");

    /* regular chains of the skeleton */
    s_chain_block (&b, "services", NULL, "ip daddr . meta l4proto . th dport vmap @service-ips\n");
    s_chain_block (&b, "service-endpoints-check", NULL,
                   "ip daddr . meta l4proto . th dport vmap @no-endpoint-services\n");
    /* a TCP reset, not only ICMP: a node that routes the Service CIDR out
     * the bridge a packet came in by sends an ICMP redirect first, and
     * redirects share the per-peer ICMP rate limit with port-unreachable */
    _cleanup_free_ char *check =
        hs_sprintf ("ip daddr @cluster-ips meta l4proto tcp reject with tcp reset\n"
                    "ip daddr @cluster-ips reject\n"
                    "ip daddr %s drop\n",
                    service);
    s_chain_block (&b, "cluster-ips-check", NULL, check);
    s_chain_block (&b, "reject-chain", NULL,
                   "meta l4proto tcp reject with tcp reset\n"
                   "reject\n");
    _cleanup_free_ char *mark = hs_sprintf ("mark set mark or 0x%x\n", PROXY_MASQ_MARK);
    s_chain_block (&b, "mark-for-masquerade", NULL, mark);
    hs_buf_t masq = {0};
    if (conf->masquerade_egress)
        hs_buf_printf (&masq, "ip saddr %s ip daddr != %s masquerade fully-random\n", cluster,
                       cluster);
    hs_buf_printf (&masq,
                   "ip saddr . ip daddr @hairpin-endpoints masquerade fully-random\n"
                   "mark and 0x%x == 0 return\n"
                   "mark set mark xor 0x%x\n"
                   "masquerade fully-random\n",
                   PROXY_MASQ_MARK, PROXY_MASQ_MARK);
    s_chain_block (&b, "masquerading", NULL, masq.data);
    hs_buf_free (&masq);

    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < pcs[i].n_chains; j++)
            s_chain_block (&b, pcs[i].chains[j].name, NULL, pcs[i].chains[j].rules.data);
    hs_buf_puts (&b, "}\n");
    for (size_t i = 0; i < n; i++) s_piece_free (&pcs[i]);
    free (pcs);
    return hs_buf_take (&b);
}

char *proxy_render_full (const proxy_conf_t *conf, proxy_svc_t *const *svcs, size_t n)
{
    _cleanup_free_ char *table = proxy_render_table (conf, svcs, n);
    return hs_sprintf ("add table " T "\n"
                       "delete table " T "\n"
                       "%s",
                       table);
}

/* ------------------------------------------------------------------ incremental */

static void s_stale (proxy_diff_t *d, const char *what, const char *name)
{
    d->stale = hs_realloc (d->stale, (d->n_stale + 1) * sizeof *d->stale);
    d->stale[d->n_stale++] = hs_sprintf ("%s %s", what, name);
}

static void s_write_chain (hs_buf_t *b, const s_chain_t *c)
{
    hs_buf_printf (b, "flush chain " T " %s\n", c->name);
    for (const char *r = c->rules.data; r && *r;) {
        const char *nl = strchr (r, '\n');
        size_t len = nl ? (size_t)(nl - r) : strlen (r);
        hs_buf_printf (b, "add rule " T " %s %.*s\n", c->name, (int)len, r);
        r += len + (nl ? 1 : 0);
    }
}

void proxy_diff_service (proxy_diff_t *d, const proxy_conf_t *conf, const proxy_svc_t *old,
                         const proxy_svc_t *new)
{
    s_piece_t o, n;
    s_piece (&o, conf, old);
    s_piece (&n, conf, new);

    /* affinity sets: new ones first (rules refer to them) */
    for (size_t i = 0, j = 0; i < o.n_sets || j < n.n_sets;) {
        int c = i == o.n_sets ? 1 : j == n.n_sets ? -1 : strcmp (o.sets[i].name, n.sets[j].name);
        if (c < 0) {
            s_stale (d, "set", o.sets[i++].name);
        } else if (c > 0 || o.sets[i].timeout_s != n.sets[j].timeout_s) {
            hs_buf_printf (&d->main, "add set " T " %s ", n.sets[j].name);
            s_set_decl (&d->main, &n.sets[j]);
            hs_buf_puts (&d->main, "\n");
            d->changed++;
            if (c == 0) i++;
            j++;
        } else {
            i++;
            j++;
        }
    }

    /* chains: every new one declared before any rule (a service chain's
     * vmap names its endpoint chains), then the changed ones written */
    for (size_t j = 0; j < n.n_chains; j++) {
        bool known = false;
        for (size_t i = 0; i < o.n_chains && !known; i++)
            known = strcmp (o.chains[i].name, n.chains[j].name) == 0;
        if (!known) hs_buf_printf (&d->main, "add chain " T " %s\n", n.chains[j].name);
    }
    for (size_t i = 0, j = 0; i < o.n_chains || j < n.n_chains;) {
        int c = i == o.n_chains   ? 1
                : j == n.n_chains ? -1
                                  : strcmp (o.chains[i].name, n.chains[j].name);
        if (c < 0) {
            /* kernels before 6.2 free a vmap's reference to a chain late:
             * flush now, delete in a later sync */
            hs_buf_printf (&d->post, "flush chain " T " %s\n", o.chains[i].name);
            s_stale (d, "chain", o.chains[i].name);
            d->changed++;
            i++;
            continue;
        }
        const char *nr = n.chains[j].rules.data;
        if (c > 0 || !hs_streq (o.chains[i].rules.data, nr)) {
            s_write_chain (&d->main, &n.chains[j]);
            d->changed++;
        }
        if (c == 0) i++;
        j++;
    }

    /* elements: deletes in pre, adds in main */
    for (size_t i = 0, j = 0; i < o.n_elems || j < n.n_elems;) {
        int c = i == o.n_elems ? 1 : j == n.n_elems ? -1 : s_elem_cmp (&o.elems[i], &n.elems[j]);
        const s_elem_t *oe = c <= 0 ? &o.elems[i] : NULL;
        const s_elem_t *ne = c >= 0 ? &n.elems[j] : NULL;
        bool same = oe && ne && hs_streq (oe->value, ne->value);
        if (oe && !same) {
            hs_buf_printf (&d->pre, "delete element " T " %s { %s }\n", oe->map, oe->key);
            d->changed++;
        }
        if (ne && !same) {
            hs_buf_printf (&d->main, "add element " T " %s { %s%s%s }\n", ne->map, ne->key,
                           ne->value ? " : " : "", ne->value ? ne->value : "");
            d->changed++;
        }
        if (oe) i++;
        if (ne) j++;
    }
    /* hairpin addresses: the caller counts them across Services */
    for (size_t i = 0, j = 0; i < o.n_hairpin || j < n.n_hairpin;) {
        int c = i == o.n_hairpin   ? 1
                : j == n.n_hairpin ? -1
                                   : s_u32_cmp (&o.hairpin[i], &n.hairpin[j]);
        if (c < 0) {
            d->hairpin_del =
                hs_realloc (d->hairpin_del, (d->n_hairpin_del + 1) * sizeof (uint32_t));
            d->hairpin_del[d->n_hairpin_del++] = o.hairpin[i++];
        } else if (c > 0) {
            d->hairpin_add =
                hs_realloc (d->hairpin_add, (d->n_hairpin_add + 1) * sizeof (uint32_t));
            d->hairpin_add[d->n_hairpin_add++] = n.hairpin[j++];
        } else {
            i++;
            j++;
        }
    }
    s_piece_free (&o);
    s_piece_free (&n);
}

size_t proxy_svc_hairpin (const proxy_svc_t *s, uint32_t **ret)
{
    s_piece_t pc = {0};
    if (s && !s->affinity_s)
        for (size_t i = 0; i < s->n_ports; i++)
            for (size_t j = 0; j < s->ports[i].n_eps; j++)
                s_piece_hairpin (&pc, s->ports[i].eps[j].ip);
    size_t n = s_u32_unique (pc.hairpin, pc.n_hairpin);
    *ret = pc.hairpin;
    return n;
}

void proxy_render_hairpin (hs_buf_t *b, uint32_t ip, bool add)
{
    char a[16];
    hs_ip_format (ip, a);
    hs_buf_printf (b, "%s element " T " hairpin-endpoints { %s . %s }\n", add ? "add" : "delete", a,
                   a);
}

bool proxy_svc_has (const proxy_svc_t *s, const char *stale)
{
    const char *sp = strchr (stale, ' ');
    if (!s || !sp) return false;
    bool chain = strncmp (stale, "chain ", 6) == 0;
    const char *name = sp + 1;
    for (size_t i = 0; i < s->n_ports; i++) {
        const proxy_port_t *p = &s->ports[i];
        if (chain && p->n_eps) {
            _cleanup_free_ char *c = proxy_service_chain (s, p);
            if (strcmp (c, name) == 0) return true;
        }
        for (size_t j = 0; j < p->n_eps; j++) {
            if (!s->affinity_s) break; /* compact: no endpoint chains, no sets */
            _cleanup_free_ char *c =
                chain ? proxy_endpoint_chain (s, p, &p->eps[j]) : s_affinity_set (s, p, &p->eps[j]);
            if (strcmp (c, name) == 0) return true;
        }
    }
    return false;
}

char *proxy_render_delete (const char *stale)
{
    return hs_sprintf ("delete %.*s " T " %s\n", (int)strcspn (stale, " "), stale,
                       stale + strcspn (stale, " ") + (stale[strcspn (stale, " ")] ? 1 : 0));
}

char *proxy_diff_text (proxy_diff_t *d)
{
    if (d->pre.len + d->main.len + d->post.len == 0) return NULL;
    hs_buf_t b = {0};
    if (d->pre.len) hs_buf_append (&b, d->pre.data, d->pre.len);
    if (d->main.len) hs_buf_append (&b, d->main.data, d->main.len);
    if (d->post.len) hs_buf_append (&b, d->post.data, d->post.len);
    return hs_buf_take (&b);
}

void proxy_diff_clear (proxy_diff_t *d)
{
    hs_buf_free (&d->pre);
    hs_buf_free (&d->main);
    hs_buf_free (&d->post);
    for (size_t i = 0; i < d->n_stale; i++) free (d->stale[i]);
    free (d->stale);
    free (d->hairpin_add);
    free (d->hairpin_del);
    *d = (proxy_diff_t){0};
}

/* ------------------------------------------------------------------ conntrack */

size_t proxy_udp_gone (const proxy_svc_t *old, const proxy_svc_t *new, proxy_gone_fn *fn, void *arg)
{
    size_t n = 0;
    if (!old) return 0;
    for (size_t i = 0; i < old->n_ports; i++) {
        const proxy_port_t *op = &old->ports[i];
        if (op->proto != IPPROTO_UDP) continue;
        const proxy_port_t *np = NULL;
        if (new &&new->cluster_ip == old->cluster_ip)
            for (size_t j = 0; j < new->n_ports && !np; j++)
                if (new->ports[j].proto == op->proto &&new->ports[j].port == op->port)
                    np = &new->ports[j];
        for (size_t k = 0; k < op->n_eps; k++) {
            bool kept = false;
            for (size_t m = 0; np && m < np->n_eps && !kept; m++)
                kept = np->eps[m].ip == op->eps[k].ip;
            /* the same address listed twice under two ports: once */
            bool seen = false;
            for (size_t m = 0; m < k && !seen; m++) seen = op->eps[m].ip == op->eps[k].ip;
            if (kept || seen) continue;
            if (fn) fn (arg, old->cluster_ip, op->port, op->eps[k].ip);
            n++;
        }
    }
    return n;
}
