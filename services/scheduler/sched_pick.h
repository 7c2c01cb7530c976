/*  sched_pick.h: the scheduler's decisions, pure (docs/architecture.md §11): nodes and pods
 *  in, a node or Kubernetes' reasons why none out. No bus, no clock, no I/O,
 *  so the unit tests drive it with objects built in memory.
 *
 *  A cluster is the view of one scheduling pass: the nodes, and what the pods
 *  bound (or assumed bound) to each use: requests, host ports, owners. It
 *  borrows every node and pod it is given; they must outlive it.
 *
 *  Filter, per node, in kube-scheduler's plugin order, stopping at the first
 *  that fails (the resource check may give several reasons):
 *    spec.unschedulable               "node(s) were unschedulable"
 *    Ready condition not True         "node(s) were not ready"
 *    a NoSchedule/NoExecute taint     "node(s) had untolerated taint {KEY: VALUE}"
 *      no toleration matches
 *    nodeSelector not in the labels   "node(s) didn't match Pod's node affinity/selector"
 *    a host port already taken        "node(s) didn't have free ports for the requested pod ports"
 *    allocatable (else capacity)      "Too many pods", "Insufficient cpu", "Insufficient memory"
 *      minus the bound pods' requests
 *  Resources a node does not report are unlimited (as the store's bind has it).
 *
 *  Score among the feasible nodes found (all of them up to 100 nodes; beyond,
 *  kube's adaptive sample: sched_nodes_to_find), in this order (the first
 *  difference wins):
 *    spread: fewer pods of the same controller (ownerReferences with
 *      controller=true, same uid) on the node;
 *    balanced allocation: Kubernetes' BalancedResourceAllocation, 0..100,
 *      higher when the node's cpu and memory fractions after placement are
 *      closer to each other;
 *    least allocated: Kubernetes' LeastAllocated, 0..100, over the non-zero
 *      requests (a container without requests counts 100m and 200Mi);
 *    the node's name.
 */
#ifndef SCHED_PICK_H
#define SCHED_PICK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hs_pb.h"

typedef struct sched_cluster_t sched_cluster_t;

/* A pod's requests: the sum over its containers (hs_pod_requests). A
 * terminal pod (hs_pod_terminal) holds nothing on its node; a pod's owner
 * for spreading is hs_controller_uid. */
typedef struct {
    int64_t cpu_milli;
    int64_t mem_bytes;
} sched_req_t;

/* Status Ready=True. */
bool sched_node_ready (const Hs__Node *node);
/* Does toleration t tolerate taint? Kubernetes' ToleratesTaint. */
bool sched_tolerates (const Hs__Toleration *t, const Hs__Taint *taint);

/* Why a pod does not fit one node: up to SCHED_MAX_REASONS of Kubernetes'
 * reason strings (borrowed: static text, or `text` for a taint's). */
#define SCHED_MAX_REASONS 3
typedef struct {
    size_t n;
    const char *reasons[SCHED_MAX_REASONS];
    char text[640];
} sched_why_t;

/* A node's score for a pod; see the banner. */
typedef struct {
    int64_t spread; /* lower is better */
    int balanced;   /* 0..100, higher is better */
    int least;      /* 0..100, higher is better */
} sched_score_t;

/* A cluster over nodes[0..n) (borrowed; duplicates by name: the first wins). */
sched_cluster_t *sched_cluster_new (const Hs__Node *const *nodes, size_t n);
void sched_cluster_destroy (sched_cluster_t **self_p);
size_t sched_cluster_size (const sched_cluster_t *self);
/* The name of node i (sorted by name). Borrowed. */
const char *sched_cluster_node_name (const sched_cluster_t *self, size_t i);
/* Index of the node called name, or -1. */
int sched_cluster_find (const sched_cluster_t *self, const char *name);

/* Counts pod (borrowed) on node_name, or on its own spec.node_name when
 * node_name is NULL: its requests, host ports, controller. A terminal pod
 * uses nothing: 0, nothing counted. -ENOENT: no such node here (or the pod
 * is unbound and node_name is NULL). */
int sched_cluster_add_pod (sched_cluster_t *self, const Hs__Pod *pod, const char *node_name);
/* The incremental view (hs-scheduler keeps one cluster for its life rather
 * than one per pass). What pods use is kept per node name, so it survives a
 * node's deletion and return, and pods may be counted under a key ("ns/name")
 * and taken out again exactly: */
/* The nodes again (after one was added or deleted), keeping what the pods
 * counted so far use. */
void sched_cluster_set_nodes (sched_cluster_t *self, const Hs__Node *const *nodes, size_t n);
/* Node (borrowed) replaces the one of its name in place: 0, or -ENOENT
 * when the cluster has no node of that name (call sched_cluster_set_nodes). */
int sched_cluster_update_node (sched_cluster_t *self, const Hs__Node *node);
/* Counts pod (borrowed for the call only) under key, on node_name or its own
 * spec.node_name, replacing what key counted before; assumed marks a bind
 * not yet seen. A node not in the cluster is counted all the same (for when
 * it comes back). A terminal or unbound pod: key counts nothing, 0. */
int sched_cluster_set_pod (sched_cluster_t *self, const char *key, const Hs__Pod *pod,
                           const char *node_name, bool assumed);
/* Takes out what key counts (only if it is an assumption, if only_assumed). */
void sched_cluster_unset_pod (sched_cluster_t *self, const char *key, bool only_assumed);

/* What pods use on node i (pods counts the pods). */
void sched_cluster_used (const sched_cluster_t *self, size_t i, sched_req_t *ret_req,
                         int64_t *ret_pods);

/* true if pod fits node i; else false and *ret_why (may be NULL) says why. */
bool sched_filter (const sched_cluster_t *self, size_t i, const Hs__Pod *pod, sched_why_t *ret_why);
void sched_score (const sched_cluster_t *self, size_t i, const Hs__Pod *pod, sched_score_t *ret);
/* < 0 if a is the better node, > 0 if b is; 0 only for equal scores. */
int sched_score_cmp (const sched_score_t *a, const sched_score_t *b);

/* How many feasible nodes a pick looks for before it stops, out of n:
 * kube-scheduler's adaptive percentageOfNodesToScore — every node up to
 * SCHED_MIN_FEASIBLE, then 50% minus 1% per 125 nodes, at least 5% (10% of
 * 5,000 nodes: 500) and at least SCHED_MIN_FEASIBLE. */
#define SCHED_MIN_FEASIBLE 100
size_t sched_nodes_to_find (size_t n);

/* Picks the best feasible node for pod among the first
 * sched_nodes_to_find(n) feasible ones, starting after the node where the
 * previous pick stopped: 0 and *ret_node (the node's name, borrowed from
 * the cluster), or -ENOSPC and *ret_message (caller frees): Kubernetes'
 * FitError text, "0/3 nodes are available: 1 node(s) didn't match Pod's
 * node affinity/selector, 2 Insufficient memory." (reasons counted per
 * node over every node, "COUNT REASON" sorted as strings, like
 * kube-scheduler), or "no nodes available to schedule pods" without any
 * node. The pod is not counted: call sched_cluster_add_pod for the chosen
 * node. */
int sched_pick (sched_cluster_t *self, const Hs__Pod *pod, const char **ret_node,
                char **ret_message);

#endif
