/*  endpoints_sync.h: hs-endpoints' decisions (docs/architecture.md, "hs-endpoints"), pure:
 *  a Service and pods in, the Endpoints it wants out (no bus, no clock).
 *
 *  Kubernetes' endpoints controller, reduced to what our schema holds:
 *
 *    - only a Service with a non-empty selector has its Endpoints managed
 *      (endpoints_managed). A selector-less Service's Endpoints belong to
 *      the user, who writes them; we never touch them;
 *    - a pod is an endpoint when it is in the Service's namespace, carries
 *      every label of the selector, is not terminal (Succeeded/Failed) and
 *      has status.podIP;
 *    - it goes in `addresses` (in rotation) when Ready: the Ready condition
 *      True and no deletionTimestamp (a terminating pod leaves rotation at
 *      once; kube drops it altogether, we show it as not ready). Otherwise
 *      in `notReadyAddresses`. spec.publishNotReadyAddresses puts every
 *      endpoint in `addresses` (for peers that must find each other before
 *      they are ready: StatefulSets' headless Services);
 *    - each address: ip, nodeName, targetRef {Pod, namespace, name, uid},
 *      and hostname = spec.hostname when spec.subdomain names this Service
 *      (the headless DNS record <hostname>.<svc>.<ns>.svc);
 *    - ports: each ServicePort gives an EndpointPort {name, port, protocol}
 *      whose port is the targetPort resolved for the pod: a number is
 *      itself (empty: the Service's port), a name is the containerPort of
 *      the pod's container port with that name and protocol. A named
 *      targetPort can resolve to different numbers in different pods, so
 *      addresses are grouped into subsets by their resolved port set, as
 *      kube's RepackSubsets does;
 *    - a targetPort name that no container of the pod has: kube drops that
 *      port for that pod and keeps the rest. We put the pod in
 *      `notReadyAddresses` (with the ports that did resolve), so it is out
 *      of rotation on every port and visible, and report it (missing[]) so
 *      the caller can say which name is missing in an Event. This holds
 *      with publishNotReadyAddresses too: such a pod cannot be served;
 *    - deterministic: subsets ordered by their port set, addresses in a
 *      subset by IP (numerically), then by pod namespace/name, ports in the
 *      Service's order. The same input always gives the same bytes, so the
 *      caller writes only when something changed (endpoints_same);
 *    - at most ENDPOINTS_MAX_ADDRESSES addresses (kube's 1000): past it,
 *      ready ones are kept first, then not-ready ones, each in the order
 *      above, and the annotation ENDPOINTS_OVER_CAPACITY says "truncated";
 *    - the Endpoints carries the Service's labels (plus
 *      service.kubernetes.io/headless for clusterIP None, as kube does) and
 *      the annotation ENDPOINTS_MANAGED_BY: the mark that lets a later
 *      instance delete the Endpoints of a Service deleted while no
 *      instance ran, and never a user's.
 */
#ifndef ENDPOINTS_SYNC_H
#define ENDPOINTS_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hs_obj.h"

/* The annotation on every Endpoints hs-endpoints writes, and its value. */
#define ENDPOINTS_MANAGED_BY       "endpoints.homeostat.io/managed-by"
#define ENDPOINTS_MANAGED_BY_VALUE "hs-endpoints"
/* kube's label on the Endpoints of a headless Service. */
#define ENDPOINTS_HEADLESS_LABEL "service.kubernetes.io/headless"
/* kube's cap on the addresses of one Endpoints (ready ones kept first),
 * and the annotation that says the cap was hit. Past it, kube points to
 * EndpointSlices; here it also keeps the object far below the store's
 * object size limit. */
#define ENDPOINTS_MAX_ADDRESSES    1000
#define ENDPOINTS_OVER_CAPACITY    "endpoints.kubernetes.io/over-capacity"
#define ENDPOINTS_OVER_CAPACITY_AT "truncated"

/* A pod whose named targetPort resolves in none of its containers. */
typedef struct {
    const char *pod;      /* the pod's name (borrowed from the input) */
    const char *pod_uid;  /* borrowed */
    const char *port;     /* the ServicePort's name (borrowed; may be "") */
    const char *target;   /* the targetPort name no container port has (borrowed) */
    const char *protocol; /* the ServicePort's protocol ("TCP" when unset; static or borrowed) */
} endpoints_missing_t;

typedef struct {
    Hs__Endpoints *want; /* the Endpoints the Service wants (hs_pb_free) */
    endpoints_missing_t *missing;
    size_t n_missing;
    size_t n_ready, n_not_ready; /* addresses of each kind, over all subsets */
    size_t n_dropped;            /* past ENDPOINTS_MAX_ADDRESSES */
} endpoints_plan_t;

/* Does the Service have a non-empty selector (are its Endpoints ours)? */
bool endpoints_managed (const Hs__Service *svc);
/* Does the Service's selector select the pod: same namespace, every
 * selector label present with its value? false for an empty selector. */
bool endpoints_selects (const Hs__Service *svc, const Hs__Pod *pod);
/* Does the selector select these labels (an ObjectMeta's entries)? */
bool endpoints_selects_labels (const Hs__Service *svc, void *const *labels, size_t n_labels);
/* Is the pod an endpoint at all (not terminal, has a podIP)? */
bool endpoints_pod_eligible (const Hs__Pod *pod);
/* Is the pod in rotation: Ready=True and not being deleted? */
bool endpoints_pod_ready (const Hs__Pod *pod);

/* The number the ServicePort's targetPort names for this pod: 0 with
 * *ret_port; -ENOENT when it is a name no container port of the pod has
 * (name and protocol); -EINVAL when it is neither a port number in
 * 1..65535 nor a name. */
int endpoints_resolve_port (const Hs__ServicePort *sp, const Hs__Pod *pod, int32_t *ret_port);

/* Orders IP addresses numerically (IPv4 before IPv6; text that is neither
 * after both, by strcmp). */
int endpoints_ip_cmp (const char *a, const char *b);

/* The Endpoints svc wants from pods (any order; those it does not select,
 * terminal ones and those without a podIP are skipped). Fills *ret
 * (endpoints_plan_clear it); returns 0, or -EINVAL for a Service without
 * metadata or spec, or without a selector (not ours to write). */
int endpoints_sync (const Hs__Service *svc, const Hs__Pod *const *pods, size_t n,
                    endpoints_plan_t *ret);
void endpoints_plan_clear (endpoints_plan_t *plan);

/* Does have already say what want says: the same subsets, the same labels,
 * our annotation and the same over-capacity annotation (other annotations,
 * a user's, do not count)? */
bool endpoints_same (const Hs__Endpoints *have, const Hs__Endpoints *want);
/* Does the Endpoints carry our annotation? */
bool endpoints_ours (const Hs__Endpoints *ep);
/* Should ep, the Endpoints named like a Service, be deleted: the Service
 * is gone (svc NULL), ep is ours (so the Service had a selector) and not
 * already being deleted? A selector-less Service's Endpoints, the user's,
 * never are, with or without their Service. */
bool endpoints_should_delete (const Hs__Service *svc, const Hs__Endpoints *ep);

#endif
