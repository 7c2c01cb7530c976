/*  deploy_sync.h: a Deployment's decisions, pure: the Deployment, its
 *  ReplicaSets and their pods in, a plan of writes out. Kubernetes'
 *  semantics (pkg/controller/deployment), our code.
 *
 *  ReplicaSets. One per pod template: "<deployment>-<hash>", the hash a
 *  stable function of the template (hs_rollout_template_hash), added as label
 *  pod-template-hash to the ReplicaSet's selector, its template and so its
 *  pods; a controller reference to the Deployment; annotation
 *  deployment.kubernetes.io/revision (the highest of the others + 1 for a
 *  new one, or for an old one the template went back to). The "new" one is
 *  the oldest whose template equals the Deployment's, ignoring the hash
 *  label; a name taken by another template bumps status.collisionCount.
 *
 *  Counting. What a ReplicaSet contributes is read off its pods in the
 *  cache, not its status (another instance may own it and write its status
 *  later): available = min(available pods, spec.replicas) (surplus pods
 *  are about to go), and of the surge budget a ReplicaSet takes
 *  max(spec.replicas, active pods), so the new one grows only once the old
 *  one's surplus pods are seen going. With the store applying a
 *  ReplicaSet's pod writes only after the scale it follows, the number of
 *  active pods never exceeds replicas + maxSurge and the number of
 *  available ones never drops below replicas - maxUnavailable because of us.
 *
 *  RollingUpdate (kube's rolloutRolling): scale the new ReplicaSet up within
 *  replicas + maxSurge; else scale old ones down, unhealthy replicas first,
 *  keeping replicas - maxUnavailable available; when complete, delete old
 *  ReplicaSets at 0 beyond revisionHistoryLimit, lowest revision first.
 *  Recreate: old ones to 0, wait until none of their pods runs, then the new
 *  one to replicas. Paused, or a change of spec.replicas seen through the
 *  desired-replicas annotations: scale only (proportionally when several
 *  ReplicaSets are active), no rollout.
 *
 *  Status: observedGeneration, replicas, updatedReplicas, readyReplicas,
 *  availableReplicas, unavailableReplicas, collisionCount and conditions
 *  Available (MinimumReplicasAvailable / MinimumReplicasUnavailable) and
 *  Progressing (NewReplicaSetCreated, FoundNewReplicaSet, ReplicaSetUpdated,
 *  NewReplicaSetAvailable, ProgressDeadlineExceeded, DeploymentPaused,
 *  DeploymentResumed), written only when it changed.
 *
 *  All of one sync's writes travel in one Command (ReplicaSets created,
 *  scaled, deleted; the Deployment's revision annotation; its status), each
 *  with the revision it was decided on: all or nothing.
 */
#ifndef DEPLOY_SYNC_H
#define DEPLOY_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hs_rollout.h"
#include "replicas_plan.h"

#define DEPLOY_REVISION_HISTORY "deployment.kubernetes.io/revision-history"
#define DEPLOY_DESIRED_REPLICAS "deployment.kubernetes.io/desired-replicas"
#define DEPLOY_MAX_REPLICAS     "deployment.kubernetes.io/max-replicas"
/* maxSurge / maxUnavailable resolved against replicas like kube (surge
 * rounds up, unavailable down, both 0 gives unavailable 1; 0 for Recreate;
 * maxUnavailable at most replicas). */
int32_t deploy_max_surge (const Hs__DeploymentSpec *s, int32_t replicas);
int32_t deploy_max_unavailable (const Hs__DeploymentSpec *s, int32_t replicas);

typedef struct {
    const Hs__Object *rs;       /* a ReplicaSet the Deployment controls (by uid) */
    const Hs__Pod *const *pods; /* the pods that ReplicaSet controls */
    size_t n_pods;
} deploy_rs_t;

/* Any ReplicaSet of the namespace by name (hash collisions), or NULL. */
typedef const Hs__Object *(deploy_lookup_fn)(void *arg, const char *ns, const char *name);

typedef struct {
    const Hs__Object *deploy;
    const deploy_rs_t *rs;
    size_t n_rs;
    const Hs__Object *const *orphans; /* ReplicaSets of the namespace with no controller */
    size_t n_orphans;
    deploy_lookup_fn *lookup; /* may be NULL */
    void *lookup_arg;
    int64_t now_ns; /* wall clock */
} deploy_input_t;

/* Plans one sync into *ret (rp_plan_free it). 0, or -EINVAL if the object
 * is not a Deployment with metadata and spec. */
int deploy_sync (const deploy_input_t *in, rp_plan_t *ret);

#endif
