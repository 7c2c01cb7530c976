/*  hollow_usage.h: hs-hollow's usage.<node>/ for its hollow nodes.
 *
 *  Nothing runs on a hollow node, so its NodeUsage is SYNTHETIC: plausible,
 *  stable figures, for benchmarking what consumes usage.* (hs-metrics,
 *  metrics.k8s.io, hs-autoscaler) at thousands of nodes. Per container:
 *    - CPU: the pod's homeostat.io/simulate-cpu annotation (a CPU quantity,
 *      "250m", for each of its containers) when set; else 10% to 60% of the
 *      container's requests.cpu, or 1m to 20m without a request;
 *    - memory working set: homeostat.io/simulate-memory ("64Mi") when set;
 *      else 30% to 80% of requests.memory, or 4 to 36 MiB without one;
 *      memory usage is the working set plus an eighth (file cache);
 *    - where the figure is a range, where in it comes from a hash of the
 *      pod's uid and the container's name: the same pod always shows the
 *      same figures; the cumulative CPU time is the rate times the time
 *      since the pod "started"; restart_count 0, no OOM kills.
 *  The pods are read again (from hs-hollow's watch) every round: a new
 *  annotation on a running pod (hsctl apply of the pod with them, as
 *  test_hollow.sh does; kubectl annotate through hs-apiserver) changes what it uses from the next interval, so a benchmark can
 *  raise and lower a Deployment's load. The cumulative CPU
 *  time then jumps (rate x age): it is synthetic, not integrated.
 *  The node: the sum of its pods plus 100m and 256 MiB for the "system";
 *  its cumulative CPU time adds the rate times the time since the last
 *  NodeUsage.
 *
 *  A round: hollow_usage_round_begin, hollow_usage_add_pod for each running
 *  hollow pod (everything it needs is copied), hollow_usage_round_end; then
 *  hollow_usage_node for each node in turn, spread over the interval.
 */
#ifndef HOLLOW_USAGE_H
#define HOLLOW_USAGE_H

#include <stdint.h>

#include "bus.pb-c.h"
#include "objects.pb-c.h"

#define HOLLOW_CPU_ANNOTATION    "homeostat.io/simulate-cpu"
#define HOLLOW_MEMORY_ANNOTATION "homeostat.io/simulate-memory"

/* Container i of pod: its synthetic CPU rate and working set. */
void hollow_usage_figures (const Hs__Pod *pod, size_t i, uint64_t *ret_nanocores,
                           int64_t *ret_working_set);

typedef struct hollow_usage_t hollow_usage_t;

hollow_usage_t *hollow_usage_new (uint32_t n_nodes, uint32_t interval_ms);
void hollow_usage_destroy (hollow_usage_t **self_p);

void hollow_usage_round_begin (hollow_usage_t *self);
/* A running pod of node (< n_nodes) whose containers started at
 * started_ns (realtime). */
void hollow_usage_add_pod (hollow_usage_t *self, uint32_t node, const Hs__Pod *pod,
                           int64_t started_ns);
void hollow_usage_round_end (hollow_usage_t *self);
/* Pods in the current round. */
size_t hollow_usage_pods (const hollow_usage_t *self);

/* Node i's NodeUsage (named name, borrowed) at real_ns / mono_ns: borrowed
 * until the next call. */
const Hs__NodeUsage *hollow_usage_node (hollow_usage_t *self, uint32_t i, const char *name,
                                        int64_t real_ns, int64_t mono_ns);

#endif
