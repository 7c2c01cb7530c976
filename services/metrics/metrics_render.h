/*  metrics_render.h: hs-metrics' /metrics page (docs/architecture.md §25),
 *  in Prometheus' text exposition format 0.0.4. Pure: state in, text out.
 *
 *  What it renders, family by family (each family once: its # HELP and
 *  # TYPE, then all its series together, as the format requires):
 *    - the system, from the heartbeats: homeostat_component_* per instance
 *      (up, restarts, start time, observed revision and lag behind the
 *      store, garbage, owned and known objects), homeostat_store_* per store
 *      replica, homeostat_store_member_* per member of a replicated store
 *      (hb.raft.<member>: up, role, term, commit and applied index,
 *      snapshot index, snapshots installed), and every Counter, Gauge and Histogram a heartbeat carries
 *      as homeostat_<component>_<name> (counters get _total), label member;
 *    - nodes (kube-state-metrics' names): kube_node_info,
 *      kube_node_status_condition, _capacity, _allocatable,
 *      kube_node_spec_unschedulable; their own use (the kubelet's resource
 *      metrics' names): node_cpu_usage_seconds_total,
 *      node_memory_working_set_bytes;
 *    - containers, from the agents' NodeUsage (cAdvisor's names and labels
 *      namespace, pod, container): container_cpu_usage_seconds_total,
 *      container_memory_working_set_bytes, container_memory_usage_bytes,
 *      container_oom_events_total, container_start_time_seconds; per pod
 *      pod_memory_working_set_bytes (no pod CPU counter: the containers'
 *      restart with each run, so their sum could go down);
 *    - workloads from the store's objects (kube-state-metrics' names and
 *      labels): kube_pod_info, kube_pod_labels, kube_pod_status_phase (one
 *      series per phase, 1 or 0), kube_pod_status_ready,
 *      kube_pod_container_status_restarts_total,
 *      kube_pod_container_resource_requests, kube_deployment_*,
 *      kube_replicaset_*, kube_job_*, kube_horizontalpodautoscaler_*
 *      (its _spec_ and _status_target_metric with a `container` label as
 *      well: a ContainerResource metric's container, "" for Resource).
 *
 *  Names and labels: a name or label name made of user text (a heartbeat's
 *  counter, a pod's label key) has every character outside [a-zA-Z0-9_]
 *  replaced by '_' (and a leading digit prefixed by '_'), never emitted
 *  raw; label keys that collide after that get kube-state-metrics'
 *  _conflictN suffixes. Label values are escaped (backslash, double quote,
 *  newline) and bytes that are not UTF-8 become U+FFFD. No label is named
 *  `instance` or `job`: Prometheus sets those on every target (component
 *  instances are `member`, jobs' names `job_name`, as kube-state-metrics).
 *  A series that would repeat one already written (a pod two nodes report,
 *  two runs of one pod name, a counter a heartbeat names twice) is written
 *  once: of a pod's samples, the one whose uid the store has for it wins,
 *  else the newest, else the later-started run.
 */
#ifndef METRICS_RENDER_H
#define METRICS_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hs_pb.h"
#include "hs_util.h"

/* One instance of a component, from its last heartbeat on hb.<role>.<instance>. */
typedef struct {
    const char *component;            /* <role> */
    const char *member;               /* <instance> */
    const Hs__ComponentHeartbeat *hb; /* borrowed; not NULL */
    bool up;                          /* heard within 3 x its interval */
    uint64_t restarts;                /* started_at_ns changes seen */
} metrics_member_t;

/* One store replica, from its last hb.store. */
typedef struct {
    const char *member;           /* StoreHeartbeat.instance ("" for a lone store) */
    const Hs__StoreHeartbeat *hb; /* borrowed; not NULL */
    bool up;
    uint64_t restarts;
} metrics_store_t;

/* One member of a replicated store, from its last hb.raft.<member>. */
typedef struct {
    const char *member;           /* <member> from the topic */
    const Hs__StoreHeartbeat *hb; /* borrowed; not NULL */
    bool up;                      /* heard within 3 s, as a store replica */
} metrics_raft_t;

typedef struct {
    const metrics_member_t *members; /* any order */
    size_t n_members;
    const metrics_store_t *stores;
    size_t n_stores;
    const metrics_raft_t *rafts; /* any order (issue 19) */
    size_t n_rafts;
    const Hs__NodeUsage *const *usage; /* fresh samples only, any order */
    size_t n_usage;
    /* The store's objects (hs_watch_list's arrays), any order. */
    const Hs__Object *const *pods,
        *const *nodes, *const *deployments, *const *replicasets, *const *jobs, *const *hpas;
    size_t n_pods, n_nodes, n_deployments, n_replicasets, n_jobs, n_hpas;
} metrics_input_t;

/* Appends the whole page to out. Never fails (out grows; hs_malloc aborts
 * on out of memory). Sorts private copies of the arrays, not in's. */
void metrics_render (const metrics_input_t *in, hs_buf_t *out);

/* The pieces, for tests. */
/* A metric or label name from user text: "" becomes "_". */
void metrics_put_name (hs_buf_t *out, const char *s);
/* A label value, escaped. */
void metrics_put_value (hs_buf_t *out, const char *s);
/* A float as Prometheus writes it: NaN, +Inf, -Inf, or the shortest
 * decimal that reads back the same. */
void metrics_put_double (hs_buf_t *out, double v);

#endif
