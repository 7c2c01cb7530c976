/*  hs_usage.h: the latest resource usage of each node, as heard on
 *  `usage.<node>/` (schemas/bus.proto NodeUsage; docs/architecture.md §10),
 *  and Kubernetes' ways of writing it down.
 *
 *  Every consumer of usage (hs-apiserver's metrics.k8s.io, `hsctl top`,
 *  `hsctl describe node`) keeps the latest NodeUsage per node in an
 *  hs_usage_table_t and asks it with the same rules:
 *    - a sample counts only if its topic names its own node ("usage.N/"
 *      carries node N: hs-bus lets node:N publish only there);
 *    - a node whose last sample was received more than 3 x interval_ms ago
 *      (at least 3 s) is stale: it and its pods have no metrics;
 *    - the first sample of a node (window_ms 0) carries no rates yet: it is
 *      kept, but the node has no metrics until a sample with a window comes,
 *      as metrics-server needs two scrapes.
 *  Staleness is judged by when the sample arrived (monotonic), not by the
 *  agent's clock: a node whose clock is off still counts.
 *  Pure: no socket, no clock except the now_ns given.
 */
#ifndef HS_USAGE_H
#define HS_USAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bus.pb-c.h"

typedef struct hs_usage_table hs_usage_table_t;

/* The stale bound of a node reporting every interval_ms: 3 x, at least 3 s. */
int64_t hs_usage_stale_ns (uint32_t interval_ms);

hs_usage_table_t *hs_usage_table_new (void);
void hs_usage_table_destroy (hs_usage_table_t **self_p); /* NULL-safe */
/* Keeps a copy of u, received on topic at now_ns (monotonic), as its node's
 * latest, whatever its timestamp: the bus keeps each publisher's order, so
 * the last to arrive is the latest, also after the agent's clock stepped
 * back. 1 when kept; -EINVAL when the topic is not "usage.<u->node>/" or
 * the node name is empty (the caller counts and logs it). */
int hs_usage_table_put (hs_usage_table_t *self, const char *topic, const Hs__NodeUsage *u,
                        int64_t now_ns);
/* The node's latest sample if it is fresh at now_ns and has a window
 * (window_ms > 0), else NULL. Borrowed until the next put. */
const Hs__NodeUsage *hs_usage_table_node (hs_usage_table_t *self, const char *node, int64_t now_ns);
/* Any latest sample of node, fresh or not, with when it arrived (NULL: never). */
const Hs__NodeUsage *hs_usage_table_last (hs_usage_table_t *self, const char *node,
                                          int64_t *ret_received_ns);
/* The usage of pod ns/name on node, from the node's fresh sample; NULL
 * when there is none. By name, as metrics-server matches (a static pod's
 * sample has no uid until its agent has seen the mirror). A sample can
 * hold two pods of one name (a pod deleted and made again while the old
 * one ends its grace period): then the one whose uid is uid (the caller's
 * pod; NULL or "": none) wins, else the one whose newest container started
 * last. */
const Hs__PodUsage *hs_usage_table_pod (hs_usage_table_t *self, const char *node, const char *ns,
                                        const char *name, const char *uid, int64_t now_ns);
/* Nodes held (any state). */
size_t hs_usage_table_size (const hs_usage_table_t *self);
/* Samples put refused so far (-EINVAL): garbage on usage.* is counted. */
uint64_t hs_usage_table_refused (const hs_usage_table_t *self);

/* A pod's totals: sums of its containers (saturating). */
void hs_usage_pod_totals (const Hs__PodUsage *p, uint64_t *ret_nanocores, int64_t *ret_ws_bytes);

/* ------------------------------------------------------------ formats (caller frees) */

/* A CPU rate as Kubernetes' canonical Quantity of scale nano, as
 * metrics-server writes it: 12345678 -> "12345678n", 12000000 -> "12m",
 * 2000000000 -> "2", 0 -> "0". */
char *hs_usage_fmt_nanocores (uint64_t nanocores);
/* Bytes as a canonical BinarySI Quantity: 1264640 -> "1235Ki", 1048576 ->
 * "1Mi", 1000 -> "1k" (under 1024, Kubernetes writes it decimal),
 * 1234567 -> "1234567". */
char *hs_usage_fmt_bytes (int64_t bytes);
/* A duration as Go's time.Duration.String: "1s", "1.5s", "2m3.004s",
 * "350ms", "0s" (metrics-server's window, kubectl's pod age). */
char *hs_usage_fmt_duration (int64_t ns);

/* kubectl top's cells: millicores rounded up ("123m") and mebibytes of the
 * bytes rounded down ("45Mi"). */
char *hs_usage_top_cpu (uint64_t nanocores);
char *hs_usage_top_mem (int64_t bytes);

#endif
