/*  hs_net.h: the cluster's address plan (IPv4), shared by the store (it
 *  allocates Nodes' podCIDRs and Services' clusterIPs), the agent (pod IPs,
 *  routes, resolv.conf), hs-proxy (the Service CIDR's rules) and hs-dns.
 *
 *  Flags every component that needs the plan takes, with Kubernetes'
 *  defaults (hs_net_flag parses them):
 *      --cluster-cidr 10.244.0.0/16      pods' addresses, one slice per node
 *      --node-cidr-mask-size 24          each node's slice (its podCIDR)
 *      --service-cidr 10.96.0.0/16       Services' clusterIPs
 *      --cluster-domain cluster.local    DNS: <svc>.<ns>.svc.<domain>
 *  The cluster DNS Service's clusterIP is the 10th address of the Service
 *  CIDR (10.96.0.10), as kubeadm does.
 *
 *  Addresses are uint32_t in host byte order.
 */
#ifndef HS_NET_H
#define HS_NET_H

#include <stdbool.h>
#include <stdint.h>

#define HS_NET_CLUSTER_CIDR "10.244.0.0/16"
#define HS_NET_NODE_MASK    24
#define HS_NET_SERVICE_CIDR "10.96.0.0/16"
#define HS_NET_DOMAIN       "cluster.local"
/* The cluster DNS Service (Kubernetes' names) and its port. */
#define HS_NET_DNS_NAMESPACE "kube-system"
#define HS_NET_DNS_SERVICE   "kube-dns"
#define HS_NET_DNS_INDEX     10

typedef struct {
    uint32_t addr; /* the network address (host bits zero) */
    int prefix;    /* 0..32 */
} hs_cidr_t;

typedef struct {
    hs_cidr_t cluster; /* --cluster-cidr */
    int node_mask;     /* --node-cidr-mask-size */
    hs_cidr_t service; /* --service-cidr */
    char domain[254];  /* --cluster-domain */
} hs_net_conf_t;

/* "10.1.2.3" into *ret_ip: 0, or -EINVAL (nothing written). */
int hs_ip_parse (const char *s, uint32_t *ret_ip);
/* Dotted quad into buf (at least 16 bytes); returns buf. */
char *hs_ip_format (uint32_t ip, char *buf);

/* "10.244.0.0/16" into *ret: 0, or -EINVAL if it is not an address, a
 * prefix 0..32, or has host bits set ("10.244.0.1/16"). */
int hs_cidr_parse (const char *s, hs_cidr_t *ret);
/* "10.244.0.0/16"; the caller frees. */
char *hs_cidr_format (const hs_cidr_t *c);
bool hs_cidr_contains (const hs_cidr_t *c, uint32_t ip);
/* Whether a and b share any address. */
bool hs_cidr_overlaps (const hs_cidr_t *a, const hs_cidr_t *b);
/* Number of addresses (2^(32-prefix)). */
uint64_t hs_cidr_size (const hs_cidr_t *c);
/* The n-th address (0: the network address); n must be < size. */
uint32_t hs_cidr_nth (const hs_cidr_t *c, uint64_t n);

/* A port number as Services and probes write one: 1 to 5 decimal digits,
 * nothing else (no sign, no space). 0 with *ret_port set (1..65535);
 * -ERANGE for digits out of 1..65535 (or more than 5 of them); -EINVAL if
 * s is not digits (it may be a port's name). Validation and every reader
 * of targetPort use this one rule. */
int hs_port_parse (const char *s, int *ret_port);

/* Kubernetes' defaults. */
void hs_net_conf_default (hs_net_conf_t *conf);
/* One of the flags above ("cluster-cidr", "node-cidr-mask-size",
 * "service-cidr", "cluster-domain", without the dashes) into conf: 0, or
 * -EINVAL with *ret_why set to a static reason; -ENOENT if flag is not one
 * of them. */
int hs_net_flag (hs_net_conf_t *conf, const char *flag, const char *value, const char **ret_why);
/* Whether the plan is coherent: the node mask is at least the cluster
 * prefix and at most 30, the two CIDRs do not overlap, the Service CIDR has
 * 32 addresses at least. 0 or -EINVAL with *ret_why. */
int hs_net_conf_check (const hs_net_conf_t *conf, const char **ret_why);
/* The cluster DNS Service's clusterIP: the 10th address of the Service CIDR. */
uint32_t hs_net_dns_ip (const hs_net_conf_t *conf);
/* How many node podCIDRs the cluster CIDR holds. */
uint64_t hs_net_node_slots (const hs_net_conf_t *conf);
/* The n-th node podCIDR (n < hs_net_node_slots). */
hs_cidr_t hs_net_node_cidr (const hs_net_conf_t *conf, uint64_t n);

#endif
