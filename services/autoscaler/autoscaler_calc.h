/*  autoscaler_calc.h: hs-autoscaler's decisions (docs/architecture.md §26), pure:
 *  pods, usage and an HPA's spec in; a replica count, its status and its
 *  conditions out. No bus, no clock of its own (now is an argument), so the
 *  unit tests drive it with Kubernetes' own cases.
 *
 *  It follows Kubernetes v1.32's pkg/controller/podautoscaler:
 *
 *  replica_calculator.go (as_resource_replicas, as_raw_resource_replicas):
 *    - groupPods: a pod being deleted or Failed is ignored; a Pending pod is
 *      unready; a pod without a metric is missing; for cpu, a pod without a
 *      Ready condition or a start time is unready, and so is one still in
 *      its cpu initialization period that is not Ready or whose sample
 *      began before its readiness changed, or one that never became Ready
 *      within the initial readiness delay;
 *    - utilization = sum(usage) * 100 / sum(requests) over the pods with
 *      metrics (integer percent), ratio = utilization / target; within the
 *      tolerance the count stays; with no unready or missing pods the count
 *      is ceil(ratio * ready pods);
 *    - otherwise missing pods count as 100% of their request (max(100,
 *      target)) on a scale down, 0 on a scale up; unready pods count 0 on a
 *      scale up; the ratio is computed again and the count stays when the
 *      new ratio is within tolerance or would reverse the direction;
 *    - a container without a request for the resource: "missing request for
 *      cpu in container X of Pod Y".
 *
 *  horizontal.go (as_reconcile):
 *    - current 0 with min > 0 disables scaling; outside [min, max] the count
 *      is brought back; otherwise every metric proposes a count, the largest
 *      wins (metrics that fail: their condition, unless others still scale
 *      up);
 *    - without spec.behavior: scale-down stabilization over
 *      downscale_stabilization_ms (the max of the recent recommendations),
 *      a scale-up limit of max(2 x current, 4);
 *    - with spec.behavior: a window per direction (up: the min of the
 *      recent recommendations, down: the max) and the rate policies (Pods,
 *      Percent per periodSeconds, selectPolicy Max/Min/Disabled) measured
 *      from the scale events this HPA made within each period;
 *    - conditions AbleToScale, ScalingActive, ScalingLimited with kube's
 *      reasons and messages; Events SuccessfulRescale, FailedGetResourceMetric,
 *      FailedComputeMetricsReplicas.
 *
 *  Arithmetic on usage and requests saturates (a garbage sample never
 *  overflows), and counts computed in doubles are clamped into int32.
 *
 *  Units: cpu in millicores, memory in milli-bytes (kube's MilliValue),
 *  times in realtime ns.
 */
#ifndef AUTOSCALER_CALC_H
#define AUTOSCALER_CALC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AS_MAX_METRICS  8 /* metrics per HPA (more: the daemon sets ScalingActive False) */
#define AS_MAX_POLICIES 8 /* policies per direction (likewise) */
/* Events one reconcile may ask for: one per failing metric, the
 * FailedComputeMetricsReplicas, and the rescale's outcome */
#define AS_MAX_EVENTS (AS_MAX_METRICS + 2)
#define AS_MSG        512
#define AS_NAME       256

typedef enum { AS_RES_CPU, AS_RES_MEMORY } as_resource_t;

/* One container of a pod: its requests and, when the pod has a metric, its
 * usage (milli units). */
typedef struct {
    const char *name;
    int64_t request[2]; /* by as_resource_t; 0: no request */
    int64_t usage[2];
} as_container_t;

typedef enum { AS_POD_RUNNING, AS_POD_PENDING, AS_POD_FAILED, AS_POD_DELETING } as_phase_t;

typedef struct {
    const char *name;
    as_phase_t phase;
    int64_t start_time;       /* 0: none */
    bool has_ready;           /* a Ready condition */
    bool ready;               /* its status is True */
    int64_t ready_transition; /* its lastTransitionTime */
    bool has_metric;          /* usage below is real (its node's sample is fresh) */
    int64_t metric_timestamp; /* when sampled */
    int64_t metric_window_ns; /* the span it covers */
    const as_container_t *containers;
    size_t n_containers;
} as_pod_t;

typedef struct {
    double tolerance;                   /* 0.1 */
    int64_t cpu_initialization_ns;      /* 5 min */
    int64_t initial_readiness_delay_ns; /* 30 s */
    int64_t downscale_stabilization_ns; /* 5 min */
} as_params_t;

#define AS_PARAMS_DEFAULT                                                                          \
    ((as_params_t){.tolerance = 0.1,                                                               \
                   .cpu_initialization_ns = 300LL * 1000000000LL,                                  \
                   .initial_readiness_delay_ns = 30LL * 1000000000LL,                              \
                   .downscale_stabilization_ns = 300LL * 1000000000LL})

/* What a resource metric computed: the proposal, the current figures. */
typedef struct {
    int32_t replicas;
    int32_t utilization; /* percent (utilization targets) */
    int64_t raw;         /* average per pod, milli units */
} as_proposal_t;

/* replica_calculator's GetResourceReplicas for resource res (container:
 * NULL for the whole pod, else that container only). 0 with *ret, or -1
 * with kube's error text in err (AS_MSG bytes). */
int as_resource_replicas (const as_pod_t *pods, size_t n, int32_t current, int32_t target_util,
                          as_resource_t res, const char *container, const as_params_t *p,
                          int64_t now, as_proposal_t *ret, char *err);
/* GetRawResourceReplicas: an AverageValue target (milli units). */
int as_raw_resource_replicas (const as_pod_t *pods, size_t n, int32_t current, int64_t target_milli,
                              as_resource_t res, const char *container, const as_params_t *p,
                              int64_t now, as_proposal_t *ret, char *err);

/* ------------------------------------------------------------------ the HPA */

typedef enum { AS_TARGET_UTILIZATION, AS_TARGET_AVERAGE_VALUE, AS_TARGET_NONE } as_target_t;

typedef struct {
    bool container_resource; /* ContainerResource rather than Resource */
    as_resource_t resource;
    char container[AS_NAME];
    as_target_t target;
    int32_t utilization;
    int64_t average_milli;
} as_metric_t;

typedef enum { AS_POLICY_PODS, AS_POLICY_PERCENT } as_policy_type_t;
typedef enum { AS_SELECT_MAX, AS_SELECT_MIN, AS_SELECT_DISABLED } as_select_t;

typedef struct {
    as_policy_type_t type;
    int32_t value;
    int32_t period_s;
} as_policy_t;

typedef struct {
    int32_t window_s; /* -1: unset (down: the controller's default) */
    as_select_t select;
    as_policy_t policies[AS_MAX_POLICIES];
    size_t n_policies;
} as_rules_t;

typedef struct {
    int32_t min_replicas;
    int32_t max_replicas;
    as_metric_t metrics[AS_MAX_METRICS];
    size_t n_metrics;
    bool has_behavior;
    as_rules_t up, down; /* defaulted by as_behavior_defaults when has_behavior */
} as_spec_t;

/* Kubernetes' defaults for a behavior section's unset parts (up: window 0,
 * Max, 100% and 4 pods per 15 s; down: window unset, Max, 100% per 15 s).
 * set_*: whether the HPA gave the policies / select policy. */
void as_rules_default (as_rules_t *r, bool up, bool set_policies, bool set_select);

/* What we keep per HPA between passes (horizontal.go's recommendations and
 * scaleUpEvents / scaleDownEvents). Zero it to start, as_history_free it at
 * the end. The lists grow as needed, so a window or period of any length
 * (kube's limits: 3600 s, 1800 s) is honoured at any sync period:
 *   - recs: one entry per recommended value, stamped with the last time it
 *     was recommended (an older stamp of the same value can never change a
 *     min or max over a window), an entry older than every window reused;
 *   - ups/downs: one entry per rescale; as kube's storeScaleEvent, the last
 *     entry older than the direction's longest period is reused. */
typedef struct {
    int32_t value;
    int64_t at;
    bool outdated;
} as_stamp_t;

typedef struct {
    as_stamp_t *recs;
    size_t n_recs, cap_recs;
    as_stamp_t *ups, *downs;
    size_t n_ups, n_downs, cap_ups, cap_downs;
} as_history_t;

void as_history_free (as_history_t *h);
/* Appends a scale event (up: ups, else downs), as a rescale at `at` would. */
void as_history_add_event (as_history_t *h, bool up, int32_t value, int64_t at);

/* A condition as kube's setCondition leaves it. */
typedef struct {
    bool set;
    const char *status; /* "True", "False" */
    char reason[64];
    char message[AS_MSG];
} as_cond_t;

enum { AS_COND_ABLE, AS_COND_ACTIVE, AS_COND_LIMITED, AS_N_CONDS };
extern const char *const as_cond_types[AS_N_CONDS];

typedef struct {
    const char *type; /* Normal, Warning */
    char reason[64];
    char message[AS_MSG];
} as_event_t;

typedef struct {
    bool valid; /* a figure was computed */
    bool has_utilization;
    int32_t utilization;
    int64_t average_milli;
} as_metric_status_t;

typedef struct {
    int32_t current;
    int32_t desired;
    bool rescale;        /* write desired to the target's spec.replicas */
    char reason[AS_MSG]; /* the rescale reason ("cpu resource utilization ... above target") */
    as_metric_status_t metrics[AS_MAX_METRICS];
    as_cond_t conds[AS_N_CONDS]; /* only those this reconcile set */
    as_event_t events[AS_MAX_EVENTS];
    size_t n_events;
} as_result_t;

/* horizontal.go's reconcileAutoscaler, up to the scale write: current is
 * the target's spec.replicas; pods those its selector matches. Records
 * the recommendation in h (an empty h is first seeded with current at now,
 * kube's recordInitialRecommendation: a new owner waits a full window before
 * it scales down). When ret->rescale, the caller writes the scale
 * and then calls as_scaled (success) or as_scale_failed. */
void as_reconcile (const as_spec_t *spec, int32_t current, const as_pod_t *pods, size_t n,
                   const as_params_t *p, int64_t now, as_history_t *h, as_result_t *ret);
/* The scale write succeeded: AbleToScale SucceededRescale, the Event
 * SuccessfulRescale, and the scale event kept (with behavior). */
void as_scaled (const as_spec_t *spec, as_history_t *h, int64_t now, as_result_t *r);
/* The scale write failed with why: AbleToScale False FailedUpdateScale, the
 * Event FailedRescale; the count stays. */
void as_scale_failed (as_result_t *r, const char *why);

/* The figures as kube prints them: a quantity of milli units (resource.
 * NewMilliQuantity(v, DecimalSI).String()): "250m", "1", "104857600".
 * Returns a malloc'd string. */
char *as_milli_fmt (int64_t milli);

#endif
