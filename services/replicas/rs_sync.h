/*  rs_sync.h: a ReplicaSet's decisions, pure: its cached state in, a plan of
 *  writes out (no bus, no clock: the caller passes the time).
 *
 *  One sync of a ReplicaSet:
 *    1. claim: an orphan pod (no controller reference) that is active and
 *       matches the selector is adopted (the pod written back with our
 *       controller reference, expected revision and uid); a pod we control
 *       that no longer matches is released. Such a sync plans only these
 *       single-write Commands: the rest waits until the watch shows them.
 *    2. count: the active pods we control (hs_pod_active) against
 *       spec.replicas; create the missing from the template (generate name
 *       "<rs>-"), or delete the surplus in kube's order (unscheduled, then
 *       Pending, not ready, ready for less time, more restarts, newest),
 *       gracefully and naming the pod's uid. Failed pods with reason
 *       NodeLost (hs-prober marks a lost node's pods so) are deleted at once
 *       (grace 0). At most RS_MAX_POD_WRITES pod writes per sync.
 *    3. status: replicas, fullyLabeledReplicas, readyReplicas,
 *       availableReplicas (ready for minReadySeconds), observedGeneration;
 *       written only when it changed.
 *
 *  Fencing. The pod writes travel in one Command that starts with an
 *  update of the ReplicaSet itself (annotation RS_SYNC_ANNOTATION counted
 *  up) carrying the revision the decision was made on, then the status,
 *  then the pods. Two instances that both think they own the ReplicaSet
 *  (membership changing, a partition) decide from the same revision; the
 *  store commits the first and refuses the second with Conflict, whole.
 *  Without pod writes, the status goes alone with the expected revision.
 */
#ifndef RS_SYNC_H
#define RS_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "replicas_plan.h"

#define RS_SYNC_ANNOTATION "homeostat.io/replicas-sync"
/* Pod writes in one sync: with the fencing update and the status, a
 * Command stays within 500 writes. */
#define RS_MAX_POD_WRITES 498

/* What a set of pods amounts to for a ReplicaSet's status. */
typedef struct {
    int32_t replicas;      /* active */
    int32_t fully_labeled; /* active, carrying every label of the template */
    int32_t ready;
    int32_t available;         /* ready for min_ready seconds at now */
    int64_t next_available_ns; /* wall: the earliest a ready one becomes available; 0 none */
    int32_t running;           /* not finished (Pending/Running), deleting ones included */
} rs_counts_t;

/* Counts pods (borrowed; NULL entries skipped). tmpl may be NULL. */
void rs_count_pods (const Hs__PodTemplateSpec *tmpl, int32_t min_ready_s,
                    const Hs__Pod *const *pods, size_t n, int64_t now_ns, rs_counts_t *ret);

/* Kube's order of deletion: negative when a should go before b. */
int rs_pod_delete_order (const Hs__Pod *a, const Hs__Pod *b);

/* Removes (and frees) m's controller reference to uid, if it has one. */
void rs_drop_owner_ref (Hs__ObjectMeta *m, const char *uid);

/* The NodeLost rule: a finished pod hs-prober failed because its node was lost. */
bool rs_pod_node_lost (const Hs__Pod *pod);

typedef struct {
    const Hs__Object *rs;       /* the ReplicaSet */
    const Hs__Pod *const *pods; /* pods whose controller reference names its uid */
    size_t n_pods;
    const Hs__Pod *const *orphans; /* pods of its namespace without a controller reference */
    size_t n_orphans;
    int64_t now_ns;     /* wall clock */
    int max_pod_writes; /* 0: RS_MAX_POD_WRITES */
} rs_input_t;

/* Plans one sync into *ret (rp_plan_free it). 0, or -EINVAL if the object
 * is not a ReplicaSet with metadata and spec. */
int rs_sync (const rs_input_t *in, rp_plan_t *ret);

#endif
