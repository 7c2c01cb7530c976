/*  dns_publish.h: the cluster DNS Service, kube-system/kube-dns, and its
 *  Endpoints, as hs-dns keeps them. Pure: the current objects in, the
 *  object to write (or none) out.
 *
 *  The Service: clusterIP = hs_net_dns_ip (10.96.0.10), type ClusterIP, no
 *  selector (so hs-endpoints leaves its Endpoints to us), label
 *  k8s-app: kube-dns, ports `dns` UDP 53 and `dns-tcp` TCP 53 with
 *  targetPort = the listen port. Every instance puts these back when they
 *  drift; only the leader (the live instance whose name sorts first)
 *  corrects a targetPort, so instances listening on different ports do not
 *  take turns rewriting it (their real ports are in the Endpoints).
 *
 *  The Endpoints: one address per instance, {ip: --advertise-address,
 *  nodeName: its host, targetRef {kind: Component, namespace: kube-system,
 *  name: <instance>}}, grouped into subsets by port (ports `dns` UDP and
 *  `dns-tcp` TCP = the instance's listen port). An instance only adds or
 *  corrects its own address and leaves the others' alone; an address of its
 *  own IP under another instance's name is its own (that instance was this
 *  address before a restart). Addresses of instances that left (no
 *  heartbeat within the member timeout, hs_members) are removed by the
 *  leader alone. Addresses without our targetRef (an operator's) and
 *  subsets with other ports are never touched.
 */
#ifndef DNS_PUBLISH_H
#define DNS_PUBLISH_H

#include <stdbool.h>
#include <stdint.h>

#include "hs_pb.h"

#define DNS_PUB_REF_KIND "Component"

typedef struct {
    const char *instance; /* this instance */
    const char *host;     /* its node (nodeName) */
    uint32_t advertise;   /* its address */
    uint16_t port;        /* its listen port */
    uint32_t cluster_ip;  /* the Service's */
    bool leader;          /* the live instance whose name sorts first */
    /* Is instance live? (the leader prunes the others) */
    bool (*live) (void *arg, const char *instance);
    void *live_arg;
} dns_pub_t;

/* The Service kube-system/kube-dns to write given cur (the stored one, or
 * NULL): a new object (the caller frees it; create it when cur is NULL,
 * else update it with cur's revision), or NULL when cur is as it should be. */
Hs__Object *dns_pub_service (const dns_pub_t *p, const Hs__Object *cur);

/* The same for its Endpoints. */
Hs__Object *dns_pub_endpoints (const dns_pub_t *p, const Hs__Object *cur);

#endif
