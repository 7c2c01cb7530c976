/*  proxy_ct.h: deleting the conntrack entries of removed UDP endpoints.
 *
 *  Conntrack outlives the rules (networking.md pitfall 7): a UDP "flow"
 *  (DNS!) keeps its DNAT to a removed endpoint for as long as the client
 *  keeps sending. kube-proxy deletes the entries whose original destination
 *  is the ClusterIP:port and whose reply source is the removed endpoint;
 *  TCP needs nothing (the dead pod answers RST, or the connection ends).
 *
 *  Through libnetfilter_conntrack (the library under the conntrack CLI):
 *  one netlink dump per sync, matched in-process, and a delete per match,
 *  with errors as errno and no fork+exec per removed endpoint.
 */
#ifndef PROXY_CT_H
#define PROXY_CT_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t cluster_ip; /* host byte order */
    uint16_t port;
    uint32_t ep_ip;
} proxy_ct_gone_t;

/* Deletes every UDP entry of this network namespace whose original
 * destination is one of gone's (cluster_ip, port) and whose reply source
 * is its ep_ip. Returns the number deleted, or -errno (the dump failed). */
int proxy_ct_flush_udp (const proxy_ct_gone_t *gone, size_t n);

#endif
