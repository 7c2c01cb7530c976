/*  store_validate.h: hs-store's defaults and validation (docs/architecture.md §4), pure.
 *
 *  Objects are defaulted, normalized, then validated, all before anything is
 *  written. Messages follow Kubernetes' form and name the field:
 *    Pod "web" is invalid: spec.containers[0].name: Required value
 *  and, for several errors, `... is invalid: [first, second]`.
 */
#ifndef STORE_VALIDATE_H
#define STORE_VALIDATE_H

#include <stdint.h>

#include "hs_obj.h"

/* Kubernetes' defaults, in place: namespace "default", pod restartPolicy,
 * grace period, port protocol, probe timings, requests from limits,
 * replicas, deployment strategy, job counts and generated selector (needs
 * metadata.uid), event count and timestamps (now_ns). */
void store_defaults (Hs__Object *o, int64_t now_ns);

/* Sorts every string map (and keeps the last of duplicate keys) so equal
 * objects pack to equal bytes. */
void store_normalize (Hs__Object *o);

/* 0, or -EINVAL with *ret_msg (caller frees) in Kubernetes' form. */
int store_validate (const Hs__Object *o, char **ret_msg);

/* A pod's spec is immutable after creation, except container images,
 * activeDeadlineSeconds, added tolerations and nodeName (set by bind only:
 * callers keep the old one). 0 or -EINVAL with *ret_msg. */
int store_validate_pod_update (const Hs__Pod *old, const Hs__Pod *upd, char **ret_msg);

/* What a pod asks of its node: summed container requests and one pod slot. */
typedef struct {
    int64_t cpu_milli;
    int64_t mem_bytes;
    int64_t pods;
} store_usage_t;
void store_pod_requests (const Hs__Pod *pod, store_usage_t *ret);

/* Does a selector match a label map (matchLabels and matchExpressions)?
 * An empty selector matches nothing here (we never select "everything"). */
bool store_selector_matches (const Hs__LabelSelector *sel,
                             Hs__ObjectMeta__LabelsEntry *const *labels, size_t n_labels);

/* "pods" or "deployments.apps": the resource name in Kubernetes' messages. */
const char *store_resource_name (hs_kind_t kind);

#endif
