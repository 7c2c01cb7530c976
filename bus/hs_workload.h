/*  hs_workload.h: what controllers, the store, the agent and hsctl read off
 *  workloads the same way: label selectors, a pod's lifecycle (terminal,
 *  active, ready, available), owner references, what a pod requests of a
 *  node and what a node has to give, and pods made from a template. Each
 *  Kubernetes rule here is written once; callers never restate it.
 */
#ifndef HS_WORKLOAD_H
#define HS_WORKLOAD_H

#include <stdbool.h>
#include <stdint.h>

#include "hs_obj.h"

/* Does the selector match these labels (an ObjectMeta's labels entries)?
 * An empty or missing selector matches nothing, as in Kubernetes' workloads. */
bool hs_selector_matches (const Hs__LabelSelector *sel, void *const *labels, size_t n_labels);
bool hs_selector_matches_meta (const Hs__LabelSelector *sel, const Hs__ObjectMeta *m);

/* Finished: phase Succeeded or Failed, the phases a pod never leaves. A
 * terminal pod holds nothing on its node. */
bool hs_pod_phase_terminal (const char *phase);
bool hs_pod_terminal (const Hs__Pod *pod);
/* Counts toward its owner: not finished and not being deleted. */
bool hs_pod_active (const Hs__Pod *pod);
/* The Ready condition is True. */
bool hs_pod_ready (const Hs__Pod *pod);
/* Ready for at least min_ready_s seconds at now_ns (wall clock). When it is
 * ready but not yet available, *ret_when (may be NULL) gets the wall time it
 * becomes available; else 0. */
bool hs_pod_available (const Hs__Pod *pod, int32_t min_ready_s, int64_t now_ns, int64_t *ret_when);
/* At-most-one (fencing, docs/architecture.md §15): annotation
 * homeostat.io/at-most-one "true" on the pod (a Deployment's or
 * ReplicaSet's pod template passes it on to its pods). A Job with
 * parallelism 1 (the default) is at-most-one too: hs_pod_from_template
 * stamps the annotation on its pods. Such a pod never runs twice: its
 * node's agent kills it when cut off (--fence-timeout) and hs-prober
 * replaces it only after fence x (1 + drift) + margin. */
#define HS_AT_MOST_ONE_ANNOTATION "homeostat.io/at-most-one"
bool hs_meta_at_most_one (const Hs__ObjectMeta *m);
bool hs_pod_at_most_one (const Hs__Pod *pod);
/* A Job whose pods are at-most-one: parallelism 1 (or unset), or its
 * template says so. */
bool hs_job_at_most_one (const Hs__Job *job);
/* The fencing flags' durations (hs-agent and hs-prober --fence-timeout,
 * --fence-margin): a non-negative decimal number with unit ms, s or m
 * ("2s", "1.5s", "500ms"; a bare number is seconds), at most an hour.
 * 0 or -EINVAL. */
int hs_fence_duration (const char *text, int64_t *ret_ns);
/* The pod's condition of this type, or NULL. */
Hs__PodCondition *hs_pod_condition (const Hs__PodStatus *st, const char *type);

/* The controller owner reference (controller: true), or NULL. Kubernetes
 * allows at most one; the first wins. */
const Hs__OwnerReference *hs_controller_ref (const Hs__ObjectMeta *m);
/* The uid of the controller owner reference, or NULL (also when it has no
 * uid). Borrowed from m. */
const char *hs_controller_uid (const Hs__ObjectMeta *m);
/* Is the object's controller the object with this uid (metav1.IsControlledBy)?
 * false for an empty uid. */
bool hs_controlled_by (const Hs__ObjectMeta *m, const char *uid);
/* A new controller owner reference to obj (kind, name, uid, apiVersion). */
Hs__OwnerReference *hs_controller_ref_new (const Hs__Object *owner);

/* Amounts of the resources we schedule: cpu in millicores, memory in bytes,
 * and pods (slots). */
typedef struct {
    int64_t cpu_milli;
    int64_t mem_bytes;
    int64_t pods;
} hs_resources_t;

/* kube-scheduler's stand-in for a container that requests no cpu (or no
 * memory), used where a pod without requests must still weigh something
 * (scoring): 100m and 200Mi. */
#define HS_NONZERO_CPU_MILLI 100
#define HS_NONZERO_MEM_BYTES (200LL * 1024 * 1024)

/* What a pod asks of its node: the sum of its containers' requests,
 * saturating at INT64_MAX, and one pod slot. A missing or bad quantity
 * (never stored: the store validates them) counts as nothing. NULL: zeros. */
void hs_pod_requests (const Hs__Pod *pod, hs_resources_t *ret);
/* The same with a container's missing or zero cpu / memory request counted
 * as HS_NONZERO_CPU_MILLI / HS_NONZERO_MEM_BYTES. */
void hs_pod_requests_nonzero (const Hs__Pod *pod, hs_resources_t *ret);
/* The sum of its containers' limits, saturating; pods is 0. */
void hs_pod_limits (const Hs__Pod *pod, hs_resources_t *ret);

/* What a node has for pods, per resource: status.allocatable, else
 * status.capacity (a resource allocatable does not name falls back to
 * capacity's); -1 when neither names it or its quantity is bad: then the
 * node sets no limit on it. */
void hs_node_allocatable (const Hs__Node *node, hs_resources_t *ret);

/* A pod from a template: the template's labels, annotations and spec, named
 * generate_name + 5 random characters (the store picks them), in ns, owned
 * by owner (a controller reference). */
Hs__Object *hs_pod_from_template (const Hs__PodTemplateSpec *t, const char *ns,
                                  const char *generate_name, const Hs__Object *owner);

/* Kubernetes' int-or-percent (maxSurge "25%" or "1") scaled to total:
 * percentages round up when round_up, else down. A bad or empty value
 * gives dflt (itself an int-or-percent). */
int32_t hs_int_or_percent (const char *v, const char *dflt, int32_t total, bool round_up);

#endif
