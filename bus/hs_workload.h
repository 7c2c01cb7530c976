/*  hs_workload.h: what controllers, the store and hsctl read off workloads
 *  the same way: label selectors, a pod's lifecycle (active, ready,
 *  available), owner references, and pods made from a template.
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

/* Finished: phase Succeeded or Failed. */
bool hs_pod_terminal (const Hs__Pod *pod);
/* Counts toward its owner: not finished and not being deleted. */
bool hs_pod_active (const Hs__Pod *pod);
/* The Ready condition is True. */
bool hs_pod_ready (const Hs__Pod *pod);
/* Ready for at least min_ready_s seconds at now_ns (wall clock). When it is
 * ready but not yet available, *ret_when (may be NULL) gets the wall time it
 * becomes available; else 0. */
bool hs_pod_available (const Hs__Pod *pod, int32_t min_ready_s, int64_t now_ns, int64_t *ret_when);
/* The pod's condition of this type, or NULL. */
Hs__PodCondition *hs_pod_condition (const Hs__PodStatus *st, const char *type);

/* The controller owner reference (controller: true), or NULL. */
const Hs__OwnerReference *hs_controller_ref (const Hs__ObjectMeta *m);
/* A new controller owner reference to obj (kind, name, uid, apiVersion). */
Hs__OwnerReference *hs_controller_ref_new (const Hs__Object *owner);

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
