/*  dns_zone.h: the cluster zone hs-dns answers for, built from Services and
 *  Endpoints (Kubernetes' DNS specification for Services, the subset
 *  CoreDNS's kubernetes plugin serves by default). Pure: objects in, names
 *  out; the daemon feeds it from its watch.
 *
 *  Names, under --cluster-domain D:
 *    <svc>.<ns>.svc.D                     A: the clusterIP; for a headless
 *                                         Service (clusterIP None) the ready
 *                                         endpoint IPs (and the not-ready ones
 *                                         with publishNotReadyAddresses)
 *    <host>.<svc>.<ns>.svc.D              A: a headless endpoint, <host> its
 *                                         hostname or its dashed IP (10-244-1-5)
 *    _<port>._<proto>.<svc>.<ns>.svc.D    SRV for each named port: the Service
 *                                         name and port; headless: each
 *                                         endpoint's name and port
 *    <a-b-c-d>.<ns>.pod.D                 A: a-b-c-d (CoreDNS's "pods insecure":
 *                                         the name is the answer, nothing checked)
 *    D, svc.D, pod.D and every name with a name below it (<ns>.svc.D when ns
 *    has a Service, _tcp.<svc>...) exist without records: NODATA.
 *  Every other name under D is NXDOMAIN; names outside D are not ours.
 *
 *  Names are compared lower-case. Each Service's contribution is kept, so a
 *  change replaces exactly what it added; names with a record under them
 *  count their descendants and vanish with the last one. Tables are czmq's
 *  zhashx.
 */
#ifndef DNS_ZONE_H
#define DNS_ZONE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns_msg.h"
#include "hs_pb.h"

typedef struct dns_zone_t dns_zone_t;

/* A zone for domain ("cluster.local", no trailing dot; copied). */
dns_zone_t *dns_zone_new (const char *domain);
void dns_zone_destroy (dns_zone_t **self_p);
const char *dns_zone_domain (const dns_zone_t *z);

/* Replaces what Service ns/name contributes by what svc and eps say. svc
 * NULL: the Service is gone (its names go, whatever eps is); eps NULL: it
 * has no Endpoints. Both borrowed. */
void dns_zone_set (dns_zone_t *z, const char *ns, const char *name, const Hs__Service *svc,
                   const Hs__Endpoints *eps);

typedef enum {
    DNS_ZONE_OUTSIDE = 0, /* not under the domain: forward it */
    DNS_ZONE_NXDOMAIN,
    DNS_ZONE_NODATA, /* the name exists, not with this type */
    DNS_ZONE_FOUND,  /* records in a / srv, or the SOA (soa set) */
} dns_zone_kind_t;

typedef struct {
    dns_zone_kind_t kind;
    const uint32_t *a; /* borrowed until the next dns_zone_set */
    size_t n_a;
    const dns_srv_t *srv;
    size_t n_srv;
    bool soa;        /* a query for the apex's SOA */
    uint32_t pod_ip; /* a pod name's address (a points at it) */
} dns_zone_answer_t;

/* What the zone says about name (lower-case, dotted, no trailing dot) and
 * qtype. Always fills *ret. */
dns_zone_kind_t dns_zone_lookup (const dns_zone_t *z, const char *name, uint16_t qtype,
                                 dns_zone_answer_t *ret);

/* Names held (with or without records) and Services known. */
size_t dns_zone_names (const dns_zone_t *z);
size_t dns_zone_services (const dns_zone_t *z);

#endif
