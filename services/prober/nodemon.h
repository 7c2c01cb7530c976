/*  nodemon.h: node health decisions (pure: objects and times in, what to
 *  write out; no bus, no clock).
 *
 *  A node is silent when no agent heartbeat named it for the grace period,
 *  counted from the later of its last heartbeat and the moment the prober
 *  could start judging (a fresh prober hears a full grace period first;
 *  after the prober itself was deaf, it starts over). A silent node is
 *  marked, one write at a time and each only if the node does not say it
 *  already:
 *    1. Ready=Unknown, reason NodeStatusUnknown, "Kubelet stopped posting
 *       node status." (a status update);
 *    2. taints node.kubernetes.io/unreachable NoExecute and NoSchedule;
 *  and once its Ready is not True, each pod bound to it that is neither
 *  finished nor a mirror pod is evicted (phase Failed, reason NodeLost)
 *  when its time is up: the eviction timeout after the node went silent,
 *  or a matching NoExecute toleration's tolerationSeconds (never, without
 *  one). Nothing is evicted while every node is silent (Kubernetes' "full
 *  disruption": the prober, not the nodes, is probably cut off).
 *  A node heard again whose Ready is True loses the unreachable taints.
 */
#ifndef NODEMON_H
#define NODEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hs_pb.h"

#define NODEMON_TAINT_UNREACHABLE "node.kubernetes.io/unreachable"
#define NODEMON_TAINT_NOT_READY   "node.kubernetes.io/not-ready"

typedef struct {
    int64_t grace_ns;    /* --node-grace-ms */
    int64_t eviction_ns; /* --eviction-timeout-ms */
    /* At-most-one pods (hs_pod_at_most_one): the agents' --fence-timeout,
     * our --fence-margin and --max-clock-drift. */
    int64_t fence_ns, fence_margin_ns;
    double max_drift;
} nodemon_conf_t;

/* When a node heard last at last_heard becomes silent, judging from
 * `since` on (monotonic ns). */
int64_t nodemon_silent_at (const nodemon_conf_t *conf, int64_t last_heard, int64_t since);

/* The node's Ready condition status: "True", "False", "Unknown", or "" when
 * it has none. */
const char *nodemon_ready (const Hs__Node *node);

/* What to do about a node now (NM_*). */
#define NM_MARK    1 /* write Ready=Unknown (nodemon_unknown_status) */
#define NM_TAINT   2 /* add the unreachable taints (nodemon_taints) */
#define NM_UNTAINT 4 /* remove them (nodemon_taints) */
#define NM_EVICT   8 /* look at its pods (nodemon_pod_evict_at) */
unsigned nodemon_decide (const Hs__Node *node, bool silent, bool full_disruption);

/* Nothing is evicted when every one of total (>= 1) nodes is silent. */
bool nodemon_full_disruption (size_t silent, size_t total);

/* The Node with its Ready condition Unknown (for OP_UPDATE_STATUS), or NULL
 * when it says so already. now: wall ns, the transition time. */
Hs__Object *nodemon_unknown_status (const Hs__Node *node, int64_t now_wall);
/* The whole Node with the unreachable NoExecute and NoSchedule taints
 * added (add) or removed (!add), for OP_UPDATE; NULL when nothing changes. */
Hs__Object *nodemon_taints (const Hs__Node *node, bool add, int64_t now_wall);
bool nodemon_has_taint (const Hs__Node *node, const char *key, const char *effect);

/* When a pod on a node silent since silent_since is evicted (monotonic
 * ns), or INT64_MAX for never: a finished pod, a mirror pod, or one
 * tolerating the unreachable/not-ready NoExecute taint for ever. */
int64_t nodemon_pod_evict_at (const nodemon_conf_t *conf, const Hs__Pod *pod, int64_t silent_since);

/* An at-most-one pod's node agent kills it by last_heard + fence on its
 * own clock (it heard the bus no later than we heard it). Running at most
 * max_drift slower or faster than ours, that is at the latest
 * fence x (1 + max_drift) on ours; the margin covers the kill itself. So
 * the pod may be replaced (monotonic ns) from
 *   max (last_heard, since) + ceil (fence x (1 + max_drift)) + margin
 * (since: when we could start judging, as in nodemon_silent_at). */
int64_t nodemon_fence_at (const nodemon_conf_t *conf, int64_t last_heard, int64_t since);

/* A fence.<node>/ echo (topic, the heartbeat's component and instance, the
 * envelope's sender) as seen by the prober whose bus sender is own: the
 * node it confirms, or NULL when it confirms nothing to us (our own echo,
 * not a prober's, or a topic that does not name its instance). Another
 * prober's echo means an agent heartbeat reached the bus moments ago: a
 * prober judging that node takes it as hearing the node now (last_heard =
 * now), so nodemon_fence_at restarts and it never replaces an at-most-one
 * pod while any prober still confirms its agent (docs/architecture.md §15). */
const char *nodemon_fence_echo_node (const char *topic, const char *component, const char *instance,
                                     const char *sender, const char *own);

/* When a pod of a node heard last at last_heard (judging since `since`),
 * silent since silent_since, is replaced: nodemon_pod_evict_at, and for an
 * at-most-one pod never before nodemon_fence_at. INT64_MAX: never. */
int64_t nodemon_pod_replace_at (const nodemon_conf_t *conf, const Hs__Pod *pod,
                                int64_t silent_since, int64_t last_heard, int64_t since);

/* The pod Failed because its node is lost (for OP_UPDATE_STATUS): phase
 * Failed, reason NodeLost, "Node X which was running pod Y is
 * unresponsive", Ready (and ContainersReady) False, no container ready. */
Hs__Object *nodemon_pod_lost (const Hs__Pod *pod, int64_t now_wall);

#endif
