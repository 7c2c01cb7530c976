/*  hs_rollout.h: a Deployment's rollout vocabulary, pure: what the
 *  Deployment controller (services/replicas/deploy_sync) and `hsctl rollout`
 *  must read the same way.
 *
 *  A Deployment keeps one ReplicaSet per pod template. The ReplicaSet's
 *  template is the Deployment's plus the label pod-template-hash (a stable
 *  hash of the template), and its annotation deployment.kubernetes.io/revision
 *  numbers the templates in the order they were rolled out. Two templates are
 *  the same template when they are equal once the hash label is dropped and
 *  their maps sorted: that is how the controller finds the "new" ReplicaSet
 *  and how `hsctl rollout undo` sees that a revision is already current.
 */
#ifndef HS_ROLLOUT_H
#define HS_ROLLOUT_H

#include <stdbool.h>
#include <stdint.h>

#include "hs_pb.h"

#define HS_ROLLOUT_HASH_LABEL   "pod-template-hash"
#define HS_ROLLOUT_REVISION     "deployment.kubernetes.io/revision"
#define HS_ROLLOUT_CHANGE_CAUSE "kubernetes.io/change-cause"
#define HS_ROLLOUT_HASH_LEN     10

/* The template's hash: FNV-1a over its protobuf bytes (maps sorted, as the
 * store normalizes them), and the collision count when > 0, written as
 * HS_ROLLOUT_HASH_LEN characters of [bcdfghjklmnpqrstvwxz2456789] and a NUL. */
void hs_rollout_template_hash (const Hs__PodTemplateSpec *t, int32_t collision_count,
                               char ret[HS_ROLLOUT_HASH_LEN + 1]);

/* A copy of t (NULL: an empty template) as a Deployment's template: without
 * the hash label, maps sorted, metadata and spec present. Caller frees
 * (hs_pb_free). */
Hs__PodTemplateSpec *hs_rollout_template_copy (const Hs__PodTemplateSpec *t);

/* Are a and b the same template (equal copies, above)? NULL is the empty
 * template. */
bool hs_rollout_template_equal (const Hs__PodTemplateSpec *a, const Hs__PodTemplateSpec *b);

/* The revision annotation of a ReplicaSet (or Deployment): > 0, or 0 when
 * it is missing or not a positive integer. */
int64_t hs_rollout_revision (const Hs__ObjectMeta *m);

#endif
