/*  hs_net.c: IPv4 addresses and CIDRs, and the cluster's address plan. */
#include "hs_net.h"
#include "hs_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t s_mask (int prefix)
{
    return prefix <= 0 ? 0 : prefix >= 32 ? 0xffffffffu : ~((1u << (32 - prefix)) - 1);
}

int hs_ip_parse (const char *s, uint32_t *ret_ip)
{
    struct in_addr a;
    if (!s || inet_pton (AF_INET, s, &a) != 1) return -EINVAL;
    *ret_ip = ntohl (a.s_addr);
    return 0;
}

char *hs_ip_format (uint32_t ip, char *buf)
{
    snprintf (buf, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff, ip & 0xff);
    return buf;
}

int hs_cidr_parse (const char *s, hs_cidr_t *ret)
{
    if (!s) return -EINVAL;
    const char *slash = strchr (s, '/');
    if (!slash || slash == s || slash - s > 15 || !slash[1] || strlen (slash + 1) > 2)
        return -EINVAL;
    char ip[16];
    memcpy (ip, s, (size_t)(slash - s));
    ip[slash - s] = '\0';
    uint32_t addr;
    if (hs_ip_parse (ip, &addr) < 0) return -EINVAL;
    int prefix = 0;
    for (const char *p = slash + 1; *p; p++) {
        if (*p < '0' || *p > '9') return -EINVAL;
        prefix = prefix * 10 + (*p - '0');
    }
    if (prefix > 32 || (addr & ~s_mask (prefix))) return -EINVAL;
    ret->addr = addr;
    ret->prefix = prefix;
    return 0;
}

char *hs_cidr_format (const hs_cidr_t *c)
{
    char ip[16];
    return hs_sprintf ("%s/%d", hs_ip_format (c->addr, ip), c->prefix);
}

bool hs_cidr_contains (const hs_cidr_t *c, uint32_t ip)
{
    return (ip & s_mask (c->prefix)) == c->addr;
}

bool hs_cidr_overlaps (const hs_cidr_t *a, const hs_cidr_t *b)
{
    int p = a->prefix < b->prefix ? a->prefix : b->prefix;
    return (a->addr & s_mask (p)) == (b->addr & s_mask (p));
}

uint64_t hs_cidr_size (const hs_cidr_t *c)
{
    return (uint64_t)1 << (32 - c->prefix);
}

uint32_t hs_cidr_nth (const hs_cidr_t *c, uint64_t n)
{
    return c->addr + (uint32_t)n;
}

int hs_port_parse (const char *s, int *ret_port)
{
    if (!s || !*s) return -EINVAL;
    size_t n = 0;
    long v = 0;
    for (const char *p = s; *p; p++, n++) {
        if (*p < '0' || *p > '9') return -EINVAL;
        if (n < 6) v = v * 10 + (*p - '0');
    }
    if (n > 5 || v < 1 || v > 65535) return -ERANGE;
    *ret_port = (int)v;
    return 0;
}

void hs_net_conf_default (hs_net_conf_t *conf)
{
    memset (conf, 0, sizeof *conf);
    hs_cidr_parse (HS_NET_CLUSTER_CIDR, &conf->cluster);
    conf->node_mask = HS_NET_NODE_MASK;
    hs_cidr_parse (HS_NET_SERVICE_CIDR, &conf->service);
    snprintf (conf->domain, sizeof conf->domain, "%s", HS_NET_DOMAIN);
}

static bool s_domain_ok (const char *d)
{
    size_t n = strlen (d), label = 0;
    if (n == 0 || n > 253 || d[0] == '.' || d[n - 1] == '.') return false;
    for (const char *p = d; *p; p++) {
        if (*p == '.') {
            if (label == 0) return false;
            label = 0;
            continue;
        }
        bool ok = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-';
        if (!ok || ++label > 63) return false;
    }
    return true;
}

int hs_net_flag (hs_net_conf_t *conf, const char *flag, const char *value, const char **ret_why)
{
    if (!strcmp (flag, "cluster-cidr") || !strcmp (flag, "service-cidr")) {
        hs_cidr_t c;
        if (hs_cidr_parse (value, &c) < 0) {
            *ret_why = "not an IPv4 CIDR with its host bits zero (e.g. 10.244.0.0/16)";
            return -EINVAL;
        }
        *(flag[0] == 'c' ? &conf->cluster : &conf->service) = c;
        return 0;
    }
    if (!strcmp (flag, "node-cidr-mask-size")) {
        char *end = NULL;
        long v = value ? strtol (value, &end, 10) : -1;
        if (!value || !*value || *end || v < 1 || v > 30) {
            *ret_why = "not a prefix length 1..30";
            return -EINVAL;
        }
        conf->node_mask = (int)v;
        return 0;
    }
    if (!strcmp (flag, "cluster-domain")) {
        /* At most 100 characters: hs-dns writes the domain three times
         * into one SOA record, and names under it must still fit 253. */
        if (!value || strlen (value) > 100 || !s_domain_ok (value)) {
            *ret_why = "not a DNS domain of at most 100 characters (lower-case labels of letters, "
                       "digits and '-')";
            return -EINVAL;
        }
        snprintf (conf->domain, sizeof conf->domain, "%s", value);
        return 0;
    }
    return -ENOENT;
}

int hs_net_conf_check (const hs_net_conf_t *conf, const char **ret_why)
{
    if (conf->node_mask < conf->cluster.prefix || conf->node_mask > 30) {
        *ret_why = "--node-cidr-mask-size must be between the cluster CIDR's prefix and 30";
        return -EINVAL;
    }
    if (hs_cidr_overlaps (&conf->cluster, &conf->service)) {
        *ret_why = "--cluster-cidr and --service-cidr overlap";
        return -EINVAL;
    }
    /* 32 at least: dynamic clusterIPs then leave the lowest 16 (the
     * store's reserved band, KEP-3070) to requested ones, the cluster
     * DNS's 10th address among them, until the rest is full. */
    if (hs_cidr_size (&conf->service) < 32) {
        *ret_why = "--service-cidr is too small (a /27 at least)";
        return -EINVAL;
    }
    return 0;
}

uint32_t hs_net_dns_ip (const hs_net_conf_t *conf)
{
    return hs_cidr_nth (&conf->service, HS_NET_DNS_INDEX);
}

uint64_t hs_net_node_slots (const hs_net_conf_t *conf)
{
    return (uint64_t)1 << (conf->node_mask - conf->cluster.prefix);
}

hs_cidr_t hs_net_node_cidr (const hs_net_conf_t *conf, uint64_t n)
{
    hs_cidr_t c = {conf->cluster.addr + (uint32_t)(n << (32 - conf->node_mask)), conf->node_mask};
    return c;
}
