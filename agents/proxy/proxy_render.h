/*  proxy_render.h: hs-proxy's decisions, pure: Services and Endpoints in,
 *  the nftables text of `table ip homeostat` out (docs/architecture.md,
 *  "hs-proxy"). No bus, no clock, no netlink: the unit tests drive it with
 *  objects built in memory and compare golden text.
 *
 *  The layout is kube-proxy's nftables mode (pkg/proxy/nftables), with one
 *  deviation (no per-endpoint chains unless ClientIP affinity needs them),
 *  in one table `ip homeostat` that hs-proxy owns alone:
 *
 *    filter-input / filter-forward / filter-output   (filter, priority -110)
 *        ct state new jump service-endpoints-check
 *    filter-forward, filter-output-post-dnat (-90)   (after the DNAT)
 *        ct state new jump cluster-ips-check
 *    nat-prerouting (-100, dstnat) / nat-output (-100)   jump services
 *    nat-postrouting (100, srcnat)                   jump masquerading
 *
 *    services:      ip daddr . meta l4proto . th dport vmap @service-ips
 *    service-ips:   map ipv4_addr . inet_proto . inet_service : verdict,
 *                   "10.96.0.10 . tcp . 80 : goto service-NS/NAME/tcp/80"
 *    service-NS/NAME/PROTO/PORT, one per service port with ready endpoints:
 *        ip saddr != <cluster CIDR> jump mark-for-masquerade
 *        meta l4proto PROTO dnat ip to numgen random mod N map
 *            { 0 : IP-A . TPORT-A, ... }                        (N > 1)
 *        meta l4proto PROTO dnat to IP:TPORT                    (N = 1)
 *      and hairpin traffic (an endpoint reaching itself through its
 *      Service: source = destination after the DNAT) is masqueraded by
 *      `ip saddr . ip daddr @hairpin-endpoints` in masquerading, a set of
 *      "IP . IP" for every endpoint address.
 *    With sessionAffinity ClientIP, kube-proxy's own form instead:
 *      service chain: the masquerade mark, then
 *        ip saddr @affinity-EP goto endpoint-EP ...
 *        numgen random mod N vmap { 0 : goto endpoint-A, ... }  (N > 1)
 *        goto endpoint-A                                        (N = 1)
 *      endpoint-NS/NAME/PROTO/PORT__IP/TPORT, one per ready endpoint:
 *        ip saddr IP jump mark-for-masquerade                   (hairpin)
 *        update @affinity-EP { ip saddr }
 *        meta l4proto PROTO dnat to IP:TPORT
 *    Why the compact form by default: per-endpoint chains named from a
 *    verdict map are what makes nft slow at scale (1,000 Services x 10
 *    endpoints would be 11,000 chains, and even an incremental change pays
 *    for nft loading every chain into its cache); docs/architecture.md has
 *    the figures.
 *    no-endpoint-services: the same key type, "... : goto reject-chain" for
 *        a service port without a ready endpoint; service-endpoints-check
 *        looks it up, reject-chain answers a TCP reset (else ICMP port
 *        unreachable): refused at once, never a timeout.
 *    cluster-ips-check: ip daddr @cluster-ips reject (a ClusterIP's port
 *        that no rule DNATed: an unknown port; TCP gets a reset);
 *        ip daddr <service CIDR> drop.
 *    masquerading: pods' traffic leaving the cluster CIDR is masqueraded
 *        (what the CNI bridge's ipMasq would do); then kube-proxy's mark
 *        0x4000 rule: mark-for-masquerade sets it, masquerading clears it
 *        and masquerades (fully-random).
 *
 *  Only READY addresses (Endpoints.subsets[].addresses) get traffic, evenly
 *  (numgen random). A service port finds its endpoint port by name (the
 *  unnamed port matches the unnamed one), as kube-proxy does. Headless
 *  Services (clusterIP None) and Services without a clusterIP yet get
 *  nothing. Protocols TCP and UDP (SCTP is left out: refused as unknown).
 *
 *  Priorities are numbers: nft 1.0.6 refuses `priority dstnat` on output.
 */
#ifndef PROXY_RENDER_H
#define PROXY_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hs_net.h"
#include "hs_pb.h"
#include "hs_util.h"

#define PROXY_FAMILY           "ip"
#define PROXY_TABLE            "homeostat"
#define PROXY_MASQ_MARK        0x4000
#define PROXY_MAX_PORTS        100   /* ports per Service rendered */
#define PROXY_MAX_ENDPOINTS    1000  /* ready endpoints per service port (Endpoints' own cap) */
#define PROXY_AFFINITY_DEFAULT 10800 /* seconds: Kubernetes' ClientIP default */

typedef struct {
    hs_cidr_t cluster;      /* --cluster-cidr: traffic from outside it is masqueraded */
    hs_cidr_t service;      /* --service-cidr: dropped unless a rule took it */
    bool masquerade_egress; /* pods' traffic leaving the cluster CIDR */
} proxy_conf_t;

/* One ready endpoint of a service port. */
typedef struct {
    uint32_t ip;
    uint16_t port;
} proxy_ep_t;

/* One service port: its key in service-ips and its ready endpoints,
 * sorted by (ip, port), no duplicates. */
typedef struct {
    uint8_t proto; /* IPPROTO_TCP, IPPROTO_UDP */
    uint16_t port;
    proxy_ep_t *eps;
    size_t n_eps;
} proxy_port_t;

/* What one Service asks of the node: the model hs-proxy caches per
 * Service and renders from. */
typedef struct {
    char *ns;
    char *name;
    uint32_t cluster_ip;
    int affinity_s; /* ClientIP timeout in seconds; 0: no affinity */
    proxy_port_t *ports;
    size_t n_ports;
} proxy_svc_t;

/* The model of svc with its Endpoints ep (NULL: none yet). 0 with *ret_svc
 * (NULL when the Service gets no rules: headless, or no clusterIP yet), or
 * -EINVAL with *ret_why (static text naming the field) for a Service that
 * cannot be rendered safely: a namespace or name outside [a-z0-9.-] or
 * longer than 63, a clusterIP that is not an IPv4 address. Ports that
 * are out of range, duplicated or of another protocol are skipped, as are
 * endpoint addresses that are not IPv4 and ports past PROXY_MAX_PORTS. */
int proxy_svc_build (const Hs__Service *svc, const Hs__Endpoints *ep, proxy_svc_t **ret_svc,
                     const char **ret_why);
void proxy_svc_destroy (proxy_svc_t **self_p);
/* "ns/name": the caller frees. */
char *proxy_svc_key (const proxy_svc_t *s);

/* kube-proxy's chain names: "service-NS/NAME/tcp/80" and
 * "endpoint-NS/NAME/tcp/80__10.244.1.2/8080"; the caller frees. */
char *proxy_service_chain (const proxy_svc_t *s, const proxy_port_t *p);
char *proxy_endpoint_chain (const proxy_svc_t *s, const proxy_port_t *p, const proxy_ep_t *e);

/* The whole table as one `table ip homeostat { ... }` block, services in
 * the order given. Their clusterIPs must differ (the store never allows two
 * Services one; the caller keeps one, see proxy.h): nft refuses a
 * duplicate key. The caller frees. */
char *proxy_render_table (const proxy_conf_t *conf, proxy_svc_t *const *svcs, size_t n);
/* The one transaction of a full sync: the table (re)created atomically
 * (`add table`, `delete table`, then the block). The caller frees. */
char *proxy_render_full (const proxy_conf_t *conf, proxy_svc_t *const *svcs, size_t n);

/* An incremental transaction, built one Service at a time. */
typedef struct {
    hs_buf_t pre;  /* element deletes: first, so a key may move between services */
    hs_buf_t main; /* new sets and chains, chain contents, element adds */
    hs_buf_t post; /* stale chains flushed (their deletion waits a sync) */
    char **stale;  /* "chain NAME" / "set NAME": delete in a later sync */
    size_t n_stale;
    size_t changed; /* chains written or flushed, elements changed */
    /* hairpin-endpoints addresses this Service stopped / started using:
     * the caller counts them across Services (proxy_render_hairpin) */
    uint32_t *hairpin_del, *hairpin_add;
    size_t n_hairpin_del, n_hairpin_add;
} proxy_diff_t;

/* Appends to d what takes the kernel from old to new (either may be NULL:
 * a Service appears or goes). Chains whose rules are unchanged are not
 * touched. */
void proxy_diff_service (proxy_diff_t *d, const proxy_conf_t *conf, const proxy_svc_t *old,
                         const proxy_svc_t *new);
/* Whether s (may be NULL) renders the stale entry ("chain NAME", "set
 * NAME") again: then it is live, not to be deleted. */
bool proxy_svc_has (const proxy_svc_t *s, const char *stale);
/* The command deleting a stale entry as proxy_diff_t.stale holds it
 * ("delete chain ip homeostat NAME\n"); the caller frees. */
char *proxy_render_delete (const char *stale);
/* The diff's text (pre, main, post), or NULL when there is nothing to do.
 * The caller frees. */
char *proxy_diff_text (proxy_diff_t *d);
void proxy_diff_clear (proxy_diff_t *d);

/* The endpoint addresses s puts in @hairpin-endpoints, sorted, unique:
 * *ret is malloc'd (the caller frees). */
size_t proxy_svc_hairpin (const proxy_svc_t *s, uint32_t **ret);
/* "add/delete element ip homeostat hairpin-endpoints { IP . IP }\n" into b. */
void proxy_render_hairpin (hs_buf_t *b, uint32_t ip, bool add);

/* UDP endpoints that old had and new has not, for one Service: fn runs for
 * each (clusterIP, port, endpoint IP), the conntrack entries to delete. */
typedef void (proxy_gone_fn) (void *arg, uint32_t cluster_ip, uint16_t port, uint32_t ep_ip);
size_t proxy_udp_gone (const proxy_svc_t *old, const proxy_svc_t *new, proxy_gone_fn *fn,
                       void *arg);

#endif
