/*  hs_validate.h: hs-store's defaults and validation (docs/architecture.md §4), pure.
 *
 *  In bus/ because the store is not its only user: hs-agent defaults and
 *  validates its static pods with the same code, and nothing outside
 *  services/store may include the store's headers.
 *
 *  Objects are defaulted, normalized, then validated, all before anything is
 *  written. Messages follow Kubernetes' form and name the field:
 *    Pod "web" is invalid: spec.containers[0].name: Required value
 *  and, for several errors, `... is invalid: [first, second]`.
 */
#ifndef HS_VALIDATE_H
#define HS_VALIDATE_H

#include <stdint.h>

#include "hs_obj.h"

/* Kubernetes' defaults, in place: namespace "default", pod restartPolicy,
 * dnsPolicy (ClusterFirst), grace period, port protocol (and hostPort =
 * containerPort under hostNetwork), probe timings, requests from limits,
 * replicas, deployment strategy, job counts and generated selector (needs
 * metadata.uid), event count and timestamps (now_ns); Service type
 * (ClusterIP), sessionAffinity (None; ClientIP's timeout 10800 s),
 * internalTrafficPolicy (Cluster), port protocol (TCP) and targetPort (=
 * port), clusterIPs from clusterIP and back (Node podCIDRs likewise);
 * Secret type (Opaque), and stringData merged into data (stringData wins)
 * and cleared: it is write-only and never stored;
 * Endpoints port protocol (TCP). Addresses themselves are the store's
 * (services/store/store_alloc.h).
 *
 * A Service with no selector is valid: no controller writes its Endpoints,
 * the user does (an Endpoints object of the same namespace and name), as in
 * Kubernetes. */
void hs_obj_defaults (Hs__Object *o, int64_t now_ns);

/* Sorts every string map (and keeps the last of duplicate keys) so equal
 * objects pack to equal bytes. */
void hs_obj_normalize (Hs__Object *o);

/* 0, or -EINVAL with *ret_msg (caller frees) in Kubernetes' form. */
int hs_obj_validate (const Hs__Object *o, char **ret_msg);

/* A pod's spec is immutable after creation, except container images,
 * activeDeadlineSeconds, added tolerations and nodeName (set by bind only:
 * callers keep the old one). 0 or -EINVAL with *ret_msg. */
int hs_pod_validate_update (const Hs__Pod *old, const Hs__Pod *upd, char **ret_msg);

/* ConfigMap and Secret updates, as kube's ValidateConfigMapUpdate and
 * ValidateSecretUpdate: with immutable set, data (and binaryData) and
 * immutable itself may not change; a Secret's type never does. Other
 * kinds: 0. 0 or -EINVAL with *ret_msg. Messages name keys, never values. */
int hs_data_validate_update (const Hs__Object *old, const Hs__Object *upd, char **ret_msg);

#endif
