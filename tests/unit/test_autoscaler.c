/*  test_autoscaler.c: hs-autoscaler's pure module (services/autoscaler/
 *  autoscaler_calc.h) against Kubernetes v1.32's own cases: replica_calculator_test.go's
 *  TestReplicaCalc* (transcribed as data: two containers per pod, requests and
 *  levels per container, as kube's numContainersPerPod = 2) and horizontal.go's
 *  normalization rules (stabilization, rate policies, conditions, Events).
 */
#include "autoscaler_calc.h"
#include "hs_test.h"

#include <stdlib.h>

#define NS   1000000000LL
#define NOW  (1700000000LL * NS)
#define COOL (NOW - 600 * NS) /* started 10 minutes ago: out of cpu initialization */
#define HOT  (NOW - 60 * NS)  /* started a minute ago: initializing */
#define MAXP 8

typedef struct {
    const char *name;
    int32_t current, expected;
    const char *ready;    /* per pod: 'T', 'F' (default T) */
    const char *phase;    /* per pod: 'R'unning, 'P'ending, 'F'ailed (default R) */
    const char *deleting; /* per pod: 'D' */
    const char *hot;      /* per pod: 'H' started within the cpu initialization period */
    size_t n_pods;
    int64_t request_milli; /* per container */
    int64_t levels[MAXP];  /* per container usage, of the first n_levels pods */
    size_t n_levels;
    int32_t target_util;
    int32_t want_util;
    int64_t want_value; /* per pod, milli */
} s_case_t;

static const s_case_t s_cases[] = {
    {"ScaleUp", 3, 5, NULL, NULL, NULL, NULL, 3, 1000, {300, 500, 700}, 3, 30, 50, 2 * 500},
    {"ScaleUpUnreadyLessScale",
     3,
     4,
     "FTT",
     NULL,
     NULL,
     NULL,
     3,
     1000,
     {300, 500, 700},
     3,
     30,
     60,
     2 * 600},
    {"ScaleUpHotCpuLessScale",
     3,
     4,
     NULL,
     NULL,
     NULL,
     "H..",
     3,
     1000,
     {300, 500, 700},
     3,
     30,
     60,
     2 * 600},
    {"ScaleUpUnreadyNoScale",
     3,
     3,
     "TFF",
     NULL,
     NULL,
     NULL,
     3,
     1000,
     {400, 500, 700},
     3,
     30,
     40,
     2 * 400},
    {"ScaleHotCpuNoScale",
     3,
     3,
     "TFF",
     NULL,
     NULL,
     ".HH",
     3,
     1000,
     {400, 500, 700},
     3,
     30,
     40,
     2 * 400},
    {"ScaleUpIgnoresFailedPods",
     2,
     4,
     "TTFF",
     "RRFF",
     NULL,
     NULL,
     4,
     1000,
     {500, 700},
     2,
     30,
     60,
     2 * 600},
    {"ScaleUpIgnoresDeletionPods",
     2,
     4,
     "TTFF",
     NULL,
     "..DD",
     NULL,
     4,
     1000,
     {500, 700},
     2,
     30,
     60,
     2 * 600},
    {"ScaleDown",
     5,
     3,
     NULL,
     NULL,
     NULL,
     NULL,
     5,
     1000,
     {100, 300, 500, 250, 250},
     5,
     50,
     28,
     2 * 280},
    {"ScaleDownIncludeUnreadyPods",
     5,
     2,
     "TTTFF",
     NULL,
     NULL,
     NULL,
     5,
     1000,
     {100, 300, 500, 250, 250},
     5,
     50,
     30,
     2 * 300},
    {"ScaleDownExcludeUnscheduledPods",
     5,
     1,
     "TFFFF",
     "RPPPP",
     NULL,
     NULL,
     5,
     1000,
     {100},
     1,
     50,
     10,
     2 * 100},
    {"ScaleDownIgnoreHotCpuPods",
     5,
     2,
     NULL,
     NULL,
     NULL,
     "...HH",
     5,
     1000,
     {100, 300, 500, 250, 250},
     5,
     50,
     30,
     2 * 300},
    {"ScaleDownIgnoresFailedPods",
     5,
     3,
     "TTTTTFF",
     "RRRRRFF",
     NULL,
     NULL,
     7,
     1000,
     {100, 300, 500, 250, 250},
     5,
     50,
     28,
     2 * 280},
    {"ScaleDownIgnoresDeletionPods",
     5,
     3,
     "TTTTTFF",
     NULL,
     ".....DD",
     NULL,
     7,
     1000,
     {100, 300, 500, 250, 250},
     5,
     50,
     28,
     2 * 280},
    {"Tolerance", 3, 3, NULL, NULL, NULL, NULL, 3, 1000, {1010, 1030, 1020}, 3, 100, 102, 2 * 1020},
    {"MissingMetricsNoChangeEq",
     2,
     2,
     NULL,
     NULL,
     NULL,
     NULL,
     2,
     1000,
     {1000},
     1,
     100,
     100,
     2 * 1000},
    {"MissingMetrics", 4, 3, NULL, NULL, NULL, NULL, 4, 1000, {400, 95}, 2, 100, 24, 495},
    {"MissingMetricsNoChangeGt",
     2,
     2,
     NULL,
     NULL,
     NULL,
     NULL,
     2,
     1000,
     {1900},
     1,
     100,
     190,
     2 * 1900},
    {"MissingMetricsNoChangeLt", 2, 2, NULL, NULL, NULL, NULL, 2, 1000, {600}, 1, 100, 60, 2 * 600},
    {"MissingMetricsUnreadyChange",
     3,
     3,
     "FTT",
     NULL,
     NULL,
     NULL,
     3,
     1000,
     {100, 450},
     2,
     50,
     45,
     2 * 450},
    {"MissingMetricsHotCpuNoChange",
     3,
     3,
     NULL,
     NULL,
     NULL,
     "H..",
     3,
     1000,
     {100, 450},
     2,
     50,
     45,
     2 * 450},
    {"MissingMetricsUnreadyScaleUp",
     3,
     4,
     "FTT",
     NULL,
     NULL,
     NULL,
     3,
     1000,
     {100, 2000},
     2,
     50,
     200,
     2 * 2000},
    {"MissingMetricsHotCpuScaleUp",
     3,
     4,
     "FTT",
     NULL,
     NULL,
     "H..",
     3,
     1000,
     {100, 2000},
     2,
     50,
     200,
     2 * 2000},
    {"MissingMetricsUnreadyScaleDown",
     4,
     3,
     "FTTT",
     NULL,
     NULL,
     NULL,
     4,
     1000,
     {100, 100, 100},
     3,
     50,
     10,
     2 * 100},
    {"DuringRollingUpdateWithMaxSurge",
     2,
     2,
     NULL,
     NULL,
     NULL,
     NULL,
     3,
     1000,
     {100, 100},
     2,
     50,
     10,
     2 * 100},
};

static char s_at (const char *s, size_t i, char dflt)
{
    return s && i < strlen (s) && s[i] != '.' ? s[i] : dflt;
}

/* Builds kube's test pods: two containers each, ready since start + 10 s
 * (hot pods: ready since 10 s ago, so their sample began before it). */
static size_t s_pods (const s_case_t *c, as_pod_t *pods, as_container_t (*ct)[2])
{
    for (size_t i = 0; i < c->n_pods; i++) {
        bool hot = s_at (c->hot, i, '.') == 'H';
        char ph = s_at (c->phase, i, 'R');
        as_pod_t *p = &pods[i];
        memset (p, 0, sizeof *p);
        static char names[MAXP][32];
        snprintf (names[i], sizeof names[i], "test-pod-%zu", i);
        p->name = names[i];
        p->phase = ph == 'P' ? AS_POD_PENDING : ph == 'F' ? AS_POD_FAILED : AS_POD_RUNNING;
        if (s_at (c->deleting, i, '.') == 'D') p->phase = AS_POD_DELETING;
        p->start_time = hot ? HOT : COOL;
        p->has_ready = true;
        p->ready = s_at (c->ready, i, 'T') == 'T';
        p->ready_transition = hot ? NOW - 10 * NS : p->start_time + 10 * NS;
        p->has_metric = i < c->n_levels;
        p->metric_timestamp = NOW;
        p->metric_window_ns = 60 * NS;
        for (size_t k = 0; k < 2; k++) {
            ct[i][k] = (as_container_t){.name = k ? "c1" : "c0"};
            ct[i][k].request[AS_RES_CPU] = c->request_milli;
            ct[i][k].usage[AS_RES_CPU] = p->has_metric ? c->levels[i] : 0;
        }
        p->containers = ct[i];
        p->n_containers = 2;
    }
    return c->n_pods;
}

static void test_replica_calc (void)
{
    as_params_t p = AS_PARAMS_DEFAULT;
    for (size_t k = 0; k < sizeof s_cases / sizeof s_cases[0]; k++) {
        const s_case_t *c = &s_cases[k];
        as_pod_t pods[MAXP];
        as_container_t ct[MAXP][2];
        size_t n = s_pods (c, pods, ct);
        as_proposal_t out;
        char err[AS_MSG] = "";
        int rc = as_resource_replicas (pods, n, c->current, c->target_util, AS_RES_CPU, NULL, &p,
                                       NOW, &out, err);
        if (rc != 0 || out.replicas != c->expected || out.utilization != c->want_util ||
            out.raw != c->want_value)
            fprintf (stderr, "  case %s: rc %d (%s) replicas %d util %d raw %lld\n", c->name, rc,
                     err, out.replicas, out.utilization, (long long)out.raw);
        CHECK_EQ_INT (rc, 0);
        CHECK_EQ_INT (out.replicas, c->expected);
        CHECK_EQ_INT (out.utilization, c->want_util);
        CHECK_EQ_INT (out.raw, c->want_value);
    }
}

/* TestReplicaCalcMissingRequests / ...EmptyMetrics / ...EmptyCorePods /
 * ...NoMetricsMatchedPods: the errors. */
static void test_replica_calc_errors (void)
{
    as_params_t p = AS_PARAMS_DEFAULT;
    s_case_t c = {"MissingRequests", 1, 0, NULL, NULL, NULL, NULL, 1, 0, {4000}, 1, 100, 0, 0};
    as_pod_t pods[MAXP];
    as_container_t ct[MAXP][2];
    size_t n = s_pods (&c, pods, ct);
    as_proposal_t out;
    char err[AS_MSG] = "";
    CHECK_EQ_INT (as_resource_replicas (pods, n, 1, 100, AS_RES_CPU, NULL, &p, NOW, &out, err), -1);
    CHECK_EQ_STR (err, "missing request for cpu in container c0 of Pod test-pod-0");

    s_case_t e = {"EmptyMetrics", 4, 0, NULL, NULL, NULL, NULL, 4, 1000, {0}, 0, 100, 0, 0};
    n = s_pods (&e, pods, ct);
    CHECK_EQ_INT (as_resource_replicas (pods, n, 4, 100, AS_RES_CPU, NULL, &p, NOW, &out, err), -1);
    CHECK_EQ_STR (err, "unable to get metrics for resource cpu: no metrics returned from resource "
                       "metrics API");
    CHECK_EQ_INT (as_resource_replicas (pods, 0, 1, 100, AS_RES_CPU, NULL, &p, NOW, &out, err), -1);

    /* every pod with a metric unready */
    s_case_t u = {"AllUnready", 2, 0, "FF", NULL, NULL, NULL, 2, 1000, {500, 500}, 2, 50, 0, 0};
    n = s_pods (&u, pods, ct);
    CHECK_EQ_INT (as_resource_replicas (pods, n, 2, 50, AS_RES_CPU, NULL, &p, NOW, &out, err), -1);
    CHECK_EQ_STR (err, "did not receive metrics for targeted pods (pods might be unready)");
    /* kube looks at the requests first */
    ct[1][1].request[AS_RES_CPU] = 0;
    CHECK_EQ_INT (as_resource_replicas (pods, n, 2, 50, AS_RES_CPU, NULL, &p, NOW, &out, err), -1);
    CHECK_EQ_STR (err, "missing request for cpu in container c1 of Pod test-pod-1");

    /* memory ignores readiness: AverageValue target, TestReplicaCalcScaleUp-like */
    s_case_t m = {"MemAvg", 3, 0, "FTT", NULL, NULL, NULL, 3, 1000, {300, 500, 700}, 3, 0, 0, 0};
    n = s_pods (&m, pods, ct);
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < 2; k++) {
            ct[i][k].request[AS_RES_MEMORY] = 1000;
            ct[i][k].usage[AS_RES_MEMORY] = m.levels[i];
        }
    CHECK_EQ_INT (
        as_raw_resource_replicas (pods, n, 3, 600, AS_RES_MEMORY, NULL, &p, NOW, &out, err), 0);
    CHECK_EQ_INT (out.raw, 1000);   /* (600+1000+1400)/3 */
    CHECK_EQ_INT (out.replicas, 5); /* ceil(1000/600*3) */
    /* one container only (ContainerResource) */
    CHECK_EQ_INT (as_resource_replicas (pods, n, 3, 30, AS_RES_MEMORY, "c1", &p, NOW, &out, err),
                  0);
    CHECK_EQ_INT (out.utilization, 50);
    CHECK_EQ_INT (out.replicas, 5);
}

/* ------------------------------------------------------------------ reconcile */

static as_spec_t s_spec (int32_t min, int32_t max, int32_t util)
{
    as_spec_t s;
    memset (&s, 0, sizeof s);
    s.min_replicas = min;
    s.max_replicas = max;
    s.n_metrics = 1;
    s.metrics[0] =
        (as_metric_t){.resource = AS_RES_CPU, .target = AS_TARGET_UTILIZATION, .utilization = util};
    s.up.window_s = s.down.window_s = -1;
    return s;
}

static void s_behavior (as_spec_t *s)
{
    s->has_behavior = true;
    as_rules_default (&s->up, true, false, false);
    as_rules_default (&s->down, false, false, false);
}

/* n running ready pods using use_milli each of 100m requested */
static size_t s_simple (size_t n, int64_t use_milli, as_pod_t *pods, as_container_t *ct)
{
    static char names[MAXP][32];
    for (size_t i = 0; i < n; i++) {
        snprintf (names[i], sizeof names[i], "web-%zu", i);
        ct[i] = (as_container_t){.name = "app"};
        ct[i].request[AS_RES_CPU] = 100;
        ct[i].usage[AS_RES_CPU] = use_milli;
        pods[i] = (as_pod_t){.name = names[i],
                             .start_time = COOL,
                             .has_ready = true,
                             .ready = true,
                             .ready_transition = COOL + NS,
                             .has_metric = true,
                             .metric_timestamp = NOW,
                             .metric_window_ns = NS,
                             .containers = &ct[i],
                             .n_containers = 1};
    }
    return n;
}

static void test_reconcile_scale_up (void)
{
    as_params_t p = AS_PARAMS_DEFAULT;
    as_spec_t s = s_spec (1, 5, 50);
    as_history_t h = {0};
    as_pod_t pods[MAXP];
    as_container_t ct[MAXP];
    size_t n = s_simple (1, 150, pods, ct); /* 150%: wants 3 */
    as_result_t r;
    as_reconcile (&s, 1, pods, n, &p, NOW, &h, &r);
    CHECK (r.rescale);
    CHECK_EQ_INT (r.desired, 3);
    CHECK_EQ_STR (r.reason, "cpu resource utilization (percentage of request) above target");
    CHECK_EQ_STR (r.conds[AS_COND_ACTIVE].reason, "ValidMetricFound");
    CHECK_EQ_STR (r.conds[AS_COND_ACTIVE].message,
                  "the HPA was able to successfully calculate a replica count from cpu resource "
                  "utilization (percentage of request)");
    CHECK_EQ_STR (r.conds[AS_COND_LIMITED].status, "False");
    CHECK_EQ_STR (r.conds[AS_COND_LIMITED].reason, "DesiredWithinRange");
    CHECK (r.metrics[0].has_utilization && r.metrics[0].utilization == 150);
    as_scaled (&s, &h, NOW, &r);
    CHECK_EQ_INT (r.n_events, 1);
    CHECK_EQ_STR (r.events[0].reason, "SuccessfulRescale");
    CHECK_EQ_STR (r.events[0].message,
                  "New size: 3; reason: cpu resource utilization (percentage of request) above "
                  "target");
    CHECK_EQ_STR (r.conds[AS_COND_ABLE].reason, "SucceededRescale");
    CHECK_EQ_STR (r.conds[AS_COND_ABLE].message,
                  "the HPA controller was able to update the target scale to 3");

    /* no behavior: at most max(2 x current, 4) at once */
    s = s_spec (1, 10, 50);
    n = s_simple (1, 500, pods, ct); /* wants 10 */
    as_reconcile (&s, 1, pods, n, &p, NOW, &h, &r);
    CHECK_EQ_INT (r.desired, 4);
    CHECK_EQ_STR (r.conds[AS_COND_LIMITED].status, "True");
    CHECK_EQ_STR (r.conds[AS_COND_LIMITED].reason, "ScaleUpLimit");
    /* ... and max */
    s = s_spec (1, 3, 50);
    as_reconcile (&s, 1, pods, n, &p, NOW, &h, &r);
    CHECK_EQ_INT (r.desired, 3);
    CHECK_EQ_STR (r.conds[AS_COND_LIMITED].reason, "TooManyReplicas");
    CHECK_EQ_STR (r.conds[AS_COND_LIMITED].message,
                  "the desired replica count is more than the maximum replica count");
    as_history_free (&h);
}

static void test_reconcile_stabilization (void)
{
    as_params_t p = AS_PARAMS_DEFAULT;
    p.downscale_stabilization_ns = 10 * NS;
    as_spec_t s = s_spec (1, 5, 50);
    as_history_t h = {0};
    as_pod_t pods[MAXP];
    as_container_t ct[MAXP];
    as_result_t r;
    /* 3 pods at 100%: wants 6 -> 5 (max) */
    size_t n = s_simple (3, 100, pods, ct);
    as_reconcile (&s, 3, pods, n, &p, NOW - 5 * NS, &h, &r);
    CHECK_EQ_INT (r.desired, 5);
    /* the load stops: wants 1, but 5 was recommended 5 s ago (window 10 s) */
    n = s_simple (5, 0, pods, ct);
    as_reconcile (&s, 5, pods, n, &p, NOW, &h, &r);
    CHECK (!r.rescale);
    CHECK_EQ_INT (r.desired, 5);
    CHECK_EQ_STR (r.conds[AS_COND_ABLE].reason, "ScaleDownStabilized");
    CHECK_EQ_STR (r.conds[AS_COND_ABLE].message,
                  "recent recommendations were higher than current one, applying the highest "
                  "recent recommendation");
    /* 11 s later the window has passed */
    as_reconcile (&s, 5, pods, n, &p, NOW + 11 * NS, &h, &r);
    CHECK (r.rescale);
    CHECK_EQ_INT (r.desired, 1);
    CHECK_EQ_STR (r.reason, "All metrics below target");
    CHECK_EQ_STR (r.conds[AS_COND_ABLE].reason, "ReadyForNewScale");

    /* with behavior: the HPA's own down window wins over the flag */
    as_history_t h2 = {0};
    s_behavior (&s);
    s.down.window_s = 60;
    n = s_simple (3, 100, pods, ct);
    as_reconcile (&s, 3, pods, n, &p, NOW - 30 * NS, &h2, &r);
    CHECK_EQ_INT (r.desired, 5);
    n = s_simple (5, 0, pods, ct);
    as_reconcile (&s, 5, pods, n, &p, NOW, &h2, &r);
    CHECK (!r.rescale);
    as_reconcile (&s, 5, pods, n, &p, NOW + 31 * NS, &h2, &r);
    CHECK (r.rescale);
    CHECK_EQ_INT (r.desired, 1);

    /* an up window: the lowest recent recommendation */
    as_history_t h3 = {0};
    s.up.window_s = 30;
    n = s_simple (3, 50, pods, ct); /* at target: 3 */
    as_reconcile (&s, 3, pods, n, &p, NOW - 10 * NS, &h3, &r);
    CHECK (!r.rescale);
    n = s_simple (3, 100, pods, ct); /* wants 6 */
    as_reconcile (&s, 3, pods, n, &p, NOW, &h3, &r);
    CHECK (!r.rescale);
    CHECK_EQ_STR (r.conds[AS_COND_ABLE].reason, "ScaleUpStabilized");
    as_history_free (&h);
    as_history_free (&h2);
    as_history_free (&h3);
}

static void test_reconcile_policies (void)
{
    as_params_t p = AS_PARAMS_DEFAULT;
    as_pod_t pods[MAXP];
    as_container_t ct[MAXP];
    as_result_t r;

    /* Pods 1 per 60 s; a +1 30 s ago: periodStart 1, limit 2 = current */
    as_spec_t s = s_spec (1, 8, 50);
    s_behavior (&s);
    s.up.n_policies = 1;
    s.up.policies[0] = (as_policy_t){AS_POLICY_PODS, 1, 60};
    as_history_t h = {0};
    as_history_add_event (&h, true, 1, NOW - 30 * NS);
    size_t n = s_simple (2, 150, pods, ct); /* wants 6 */
    as_reconcile (&s, 2, pods, n, &p, NOW, &h, &r);
    CHECK (!r.rescale);
    CHECK_EQ_STR (r.conds[AS_COND_LIMITED].status, "True");
    CHECK_EQ_STR (r.conds[AS_COND_LIMITED].reason, "ScaleUpLimit");
    CHECK_EQ_STR (r.conds[AS_COND_LIMITED].message,
                  "the desired replica count is increasing faster than the maximum scale rate");
    /* 31 s later that event is out of the period: +1 */
    as_reconcile (&s, 2, pods, n, &p, NOW + 31 * NS, &h, &r);
    CHECK_EQ_INT (r.desired, 3);
    as_scaled (&s, &h, NOW + 31 * NS, &r);
    CHECK_EQ_INT (h.n_ups, 1); /* the outdated event's slot was reused */
    CHECK_EQ_INT (h.ups[0].value, 1);

    /* selectPolicy Min of Percent 100 (8) and Pods 2 (6) from 4 */
    as_history_t h2 = {0};
    s = s_spec (1, 20, 50);
    s_behavior (&s);
    s.up.select = AS_SELECT_MIN;
    n = s_simple (4, 500, pods, ct); /* wants 40 */
    s.up.n_policies = 2;
    s.up.policies[0] = (as_policy_t){AS_POLICY_PERCENT, 100, 15};
    s.up.policies[1] = (as_policy_t){AS_POLICY_PODS, 2, 15};
    as_reconcile (&s, 4, pods, n, &p, NOW, &h2, &r);
    CHECK_EQ_INT (r.desired, 6);
    s.up.select = AS_SELECT_MAX; /* the default: 8 */
    as_reconcile (&s, 4, pods, n, &p, NOW, &h2, &r);
    CHECK_EQ_INT (r.desired, 8);
    /* kube's default up policies: max(100%, 4 pods) per 15 s */
    as_spec_t d = s_spec (1, 20, 50);
    s_behavior (&d);
    n = s_simple (1, 5000, pods, ct); /* wants 100 */
    as_reconcile (&d, 1, pods, n, &p, NOW, &h2, &r);
    CHECK_EQ_INT (r.desired, 5);

    /* down: Percent 50 per 60 s from 10 to at least 5 */
    as_history_t h3 = {0};
    s = s_spec (1, 10, 50);
    s_behavior (&s);
    s.down.window_s = 0;
    s.down.n_policies = 1;
    s.down.policies[0] = (as_policy_t){AS_POLICY_PERCENT, 50, 60};
    n = s_simple (8, 0, pods, ct);
    n = s_simple (8, 1, pods, ct);
    as_reconcile (&s, 10, pods, n, &p, NOW, &h3, &r);
    CHECK_EQ_INT (r.desired, 5);
    CHECK_EQ_STR (r.conds[AS_COND_LIMITED].reason, "ScaleDownLimit");
    as_scaled (&s, &h3, NOW, &r);
    /* 5 s later the period still holds the -5: no further change */
    as_reconcile (&s, 5, pods, n, &p, NOW + 5 * NS, &h3, &r);
    CHECK (!r.rescale);
    /* Disabled */
    s.down.select = AS_SELECT_DISABLED;
    as_reconcile (&s, 5, pods, n, &p, NOW + 120 * NS, &h3, &r);
    CHECK (!r.rescale);
    s.down.select = AS_SELECT_MAX;
    as_reconcile (&s, 5, pods, n, &p, NOW + 120 * NS, &h3, &r);
    CHECK_EQ_INT (r.desired, 2);
    /* min */
    s.min_replicas = 3;
    as_reconcile (&s, 5, pods, n, &p, NOW + 120 * NS, &h3, &r);
    CHECK_EQ_INT (r.desired, 3);
    CHECK_EQ_STR (r.conds[AS_COND_LIMITED].reason, "TooFewReplicas");
    as_history_free (&h);
    as_history_free (&h2);
    as_history_free (&h3);
}

static void test_reconcile_bounds_and_errors (void)
{
    as_params_t p = AS_PARAMS_DEFAULT;
    as_pod_t pods[MAXP];
    as_container_t ct[MAXP];
    as_result_t r;
    as_history_t h = {0};
    as_spec_t s = s_spec (2, 4, 50);
    size_t n = s_simple (1, 50, pods, ct);
    as_reconcile (&s, 1, pods, n, &p, NOW, &h, &r);
    CHECK_EQ_INT (r.desired, 2);
    CHECK_EQ_STR (r.reason, "Current number of replicas below Spec.MinReplicas");
    as_reconcile (&s, 6, pods, n, &p, NOW, &h, &r);
    CHECK_EQ_INT (r.desired, 4);
    CHECK_EQ_STR (r.reason, "Current number of replicas above Spec.MaxReplicas");
    as_reconcile (&s, 0, pods, 0, &p, NOW, &h, &r);
    CHECK (!r.rescale);
    CHECK_EQ_STR (r.conds[AS_COND_ACTIVE].reason, "ScalingDisabled");
    CHECK_EQ_STR (r.conds[AS_COND_ACTIVE].message,
                  "scaling is disabled since the replica count of the target is zero");

    /* a target on a resource without requests */
    n = s_simple (2, 50, pods, ct);
    ct[0].request[AS_RES_CPU] = 0;
    as_reconcile (&s, 2, pods, n, &p, NOW, &h, &r);
    CHECK (!r.rescale);
    CHECK_EQ_STR (r.conds[AS_COND_ACTIVE].status, "False");
    CHECK_EQ_STR (r.conds[AS_COND_ACTIVE].reason, "FailedGetResourceMetric");
    CHECK_EQ_STR (r.conds[AS_COND_ACTIVE].message,
                  "the HPA was unable to compute the replica count: failed to get cpu "
                  "utilization: missing request for cpu in container app of Pod web-0");
    CHECK_EQ_INT (r.n_events, 2);
    CHECK_EQ_STR (r.events[0].reason, "FailedGetResourceMetric");
    CHECK_EQ_STR (r.events[0].message,
                  "failed to get cpu utilization: missing request for cpu in container app of Pod "
                  "web-0");
    CHECK_EQ_STR (r.events[1].reason, "FailedComputeMetricsReplicas");
    CHECK_EQ_STR (r.events[1].message,
                  "invalid metrics (1 invalid out of 1), first error is: failed to get cpu "
                  "resource metric value: failed to get cpu utilization: missing request for cpu "
                  "in container app of Pod web-0");

    as_scale_failed (&r, "Conflict");
    CHECK_EQ_STR (r.conds[AS_COND_ABLE].reason, "FailedUpdateScale");
    as_history_free (&h);
}

/* Finding 1 (review 18b): a 300 s window at a 1 s sync period holds the
 * highest recommendation for the whole 300 s (a history capped at 64
 * entries let it go after 64 passes). */
static void test_window_300s (void)
{
    as_params_t p = AS_PARAMS_DEFAULT; /* 5 minutes */
    as_spec_t s = s_spec (1, 8, 50);
    as_history_t h = {0};
    as_pod_t pods[MAXP];
    as_container_t ct[MAXP];
    as_result_t r;
    size_t n = s_simple (4, 50, pods, ct); /* at target: 4 */
    for (int t = 0; t < 10; t++) {
        as_reconcile (&s, 4, pods, n, &p, NOW + t * NS, &h, &r);
        CHECK (!r.rescale);
    }
    n = s_simple (4, 20, pods, ct); /* 20%: wants 2 */
    int scaled_at = -1;
    for (int t = 10; t <= 320 && scaled_at < 0; t++) {
        as_reconcile (&s, 4, pods, n, &p, NOW + t * NS, &h, &r);
        if (r.rescale) scaled_at = t;
    }
    /* the last 4 was recommended at t = 9: kube's cutoff keeps it through 309 */
    CHECK_EQ_INT (scaled_at, 310);
    CHECK_EQ_INT (r.desired, 2);
    CHECK (h.n_recs <= 3); /* one entry per value */
    as_history_free (&h);

    /* the same with behavior and a 600 s down window */
    as_history_t h2 = {0};
    s_behavior (&s);
    s.down.window_s = 600;
    n = s_simple (4, 50, pods, ct);
    as_reconcile (&s, 4, pods, n, &p, NOW, &h2, &r);
    n = s_simple (4, 20, pods, ct);
    scaled_at = -1;
    for (int t = 1; t <= 700 && scaled_at < 0; t++) {
        as_reconcile (&s, 4, pods, n, &p, NOW + t * NS, &h2, &r);
        if (r.rescale) scaled_at = t;
    }
    CHECK_EQ_INT (scaled_at, 600);
    as_history_free (&h2);
}

/* Finding 1's related case: a policy period of 1800 s with more than 64
 * scale events in it. Up: selectPolicy Min of Pods 1 per 15 s and Pods 70
 * per 1800 s; a load that always wants more. Exactly 70 steps in 1800 s. */
static void test_long_policy_period (void)
{
    as_params_t p = AS_PARAMS_DEFAULT;
    as_spec_t s = s_spec (1, 1000, 50);
    s_behavior (&s);
    s.up.select = AS_SELECT_MIN;
    s.up.n_policies = 2;
    s.up.policies[0] = (as_policy_t){AS_POLICY_PODS, 1, 15};
    s.up.policies[1] = (as_policy_t){AS_POLICY_PODS, 70, 1800};
    as_history_t h = {0};
    as_pod_t pods[MAXP];
    as_container_t ct[MAXP];
    as_result_t r;
    size_t n = s_simple (1, 5000, pods, ct); /* one pod's sample at 5000%: wants 100 */
    int32_t current = 1;
    int steps = 0;
    for (int t = 0; t < 1790; t += 16) {
        as_reconcile (&s, current, pods, n, &p, NOW + t * NS, &h, &r);
        if (!r.rescale) continue;
        CHECK_EQ_INT (r.desired, current + 1);
        as_scaled (&s, &h, NOW + t * NS, &r);
        current = r.desired;
        steps++;
    }
    CHECK_EQ_INT (steps, 70);
    CHECK_EQ_INT (current, 71);
    as_history_free (&h);
}

/* Finding 11's unit half: utilization noisy around the target (within
 * +-8%, inside the 10% tolerance) for 10 minutes: not one rescale. */
static void test_noise_no_flap (void)
{
    as_params_t p = AS_PARAMS_DEFAULT;
    as_spec_t s = s_spec (1, 10, 50);
    as_history_t h = {0};
    as_pod_t pods[MAXP];
    as_container_t ct[MAXP];
    as_result_t r;
    uint32_t seed = 12345;
    int rescales = 0;
    for (int t = 0; t < 600; t++) {
        size_t n = s_simple (4, 50, pods, ct);
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            ct[i].usage[AS_RES_CPU] = 46 + (int64_t)((seed >> 16) % 9); /* 46..54% */
        }
        as_reconcile (&s, 4, pods, n, &p, NOW + t * NS, &h, &r);
        rescales += r.rescale;
    }
    CHECK_EQ_INT (rescales, 0);
    as_history_free (&h);
}

/* Findings 2 and 7: garbage figures and "no limit" policies neither
 * overflow (the sanitizer build aborts on signed overflow) nor scale down. */
static void test_overflow (void)
{
    as_params_t p = AS_PARAMS_DEFAULT;
    as_pod_t pods[MAXP];
    as_container_t ct[MAXP];
    as_proposal_t out;
    char err[AS_MSG];
    size_t n = s_simple (2, 0, pods, ct);
    ct[0].usage[AS_RES_MEMORY] = ct[1].usage[AS_RES_MEMORY] = INT64_MAX / 2;
    ct[0].request[AS_RES_MEMORY] = ct[1].request[AS_RES_MEMORY] = 1000;
    CHECK_EQ_INT (as_resource_replicas (pods, n, 2, 50, AS_RES_MEMORY, NULL, &p, NOW, &out, err),
                  0);
    CHECK_EQ_INT (out.utilization, INT32_MAX);
    CHECK (out.replicas >= 2);
    CHECK_EQ_INT (
        as_raw_resource_replicas (pods, n, 2, 1000, AS_RES_MEMORY, NULL, &p, NOW, &out, err), 0);
    CHECK (out.replicas >= 2);

    /* Pods value INT32_MAX ("no limit"), a huge Percent, a huge current */
    as_spec_t s = s_spec (1, 20, 50);
    s_behavior (&s);
    s.up.n_policies = 2;
    s.up.policies[0] = (as_policy_t){AS_POLICY_PODS, INT32_MAX, 15};
    s.up.policies[1] = (as_policy_t){AS_POLICY_PERCENT, INT32_MAX, 15};
    as_history_t h = {0};
    as_result_t r;
    n = s_simple (4, 150, pods, ct); /* wants 12 */
    as_reconcile (&s, 4, pods, n, &p, NOW, &h, &r);
    CHECK (r.rescale);
    CHECK_EQ_INT (r.desired, 12);
    as_spec_t big = s_spec (1, INT32_MAX, 50);
    as_reconcile (&big, INT32_MAX - 1, pods, n, &p, NOW, &h, &r);
    CHECK (r.desired > 0);
    as_history_free (&h);
}

/* Finding 8: outdated events still count in the other direction's longer
 * period, and a new event reuses the LAST outdated slot (storeScaleEvent). */
static void test_outdated_events (void)
{
    as_params_t p = AS_PARAMS_DEFAULT;
    as_spec_t s = s_spec (1, 10, 50);
    s_behavior (&s);
    s.up.n_policies = 1;
    s.up.policies[0] = (as_policy_t){AS_POLICY_PODS, 4, 15};
    s.down.window_s = 0;
    s.down.n_policies = 1;
    s.down.policies[0] = (as_policy_t){AS_POLICY_PERCENT, 50, 600};
    as_history_t h = {0};
    as_result_t r;
    const struct {
        int t;
        int32_t from, to;
    } ups[] = {{0, 1, 2}, {5, 2, 4}, {100, 4, 5}};
    for (size_t i = 0; i < 3; i++) {
        memset (&r, 0, sizeof r);
        r.current = ups[i].from;
        r.desired = ups[i].to;
        as_scaled (&s, &h, NOW + ups[i].t * NS, &r);
    }
    CHECK_EQ_INT (h.n_ups, 2);
    CHECK (h.ups[0].at == NOW);            /* +1 at 0 kept */
    CHECK (h.ups[1].at == NOW + 100 * NS); /* +2 at 5 replaced */
    as_pod_t pods[MAXP];
    as_container_t ct[MAXP];
    size_t n = s_simple (5, 1, pods, ct); /* wants 1 */
    as_reconcile (&s, 5, pods, n, &p, NOW + 200 * NS, &h, &r);
    /* period start 5 - (1 + 1) = 3, 50%: 1 (without the outdated event: 2) */
    CHECK_EQ_INT (r.desired, 1);
    as_history_free (&h);
}

/* Finding 6 and the initial recommendation. */
static void test_get_scale_and_seed (void)
{
    as_params_t p = AS_PARAMS_DEFAULT;
    as_spec_t s = s_spec (1, 5, 50);
    as_history_t h = {0};
    as_pod_t pods[MAXP];
    as_container_t ct[MAXP];
    as_result_t r;
    as_reconcile (&s, 0, NULL, 0, &p, NOW, &h, &r);
    CHECK_EQ_STR (r.conds[AS_COND_ABLE].status, "True");
    CHECK_EQ_STR (r.conds[AS_COND_ABLE].reason, "SucceededGetScale");
    CHECK_EQ_STR (r.conds[AS_COND_ABLE].message,
                  "the HPA controller was able to get the target's current scale");
    size_t n = s_simple (2, 50, pods, ct);
    ct[0].request[AS_RES_CPU] = 0; /* every metric fails */
    as_reconcile (&s, 2, pods, n, &p, NOW, &h, &r);
    CHECK_EQ_STR (r.conds[AS_COND_ABLE].reason, "SucceededGetScale");
    as_history_free (&h);

    /* a new owner (empty history) at 4 that wants 2 waits out the window */
    as_history_t h2 = {0};
    n = s_simple (4, 20, pods, ct);
    as_reconcile (&s, 4, pods, n, &p, NOW, &h2, &r);
    CHECK (!r.rescale);
    CHECK_EQ_STR (r.conds[AS_COND_ABLE].reason, "ScaleDownStabilized");
    as_reconcile (&s, 4, pods, n, &p, NOW + 301 * NS, &h2, &r);
    CHECK (r.rescale);
    CHECK_EQ_INT (r.desired, 2);
    as_history_free (&h2);
}

/* Finding 10: four failing metrics and one that scales: the rescale's
 * Event is kept. */
static void test_events_room (void)
{
    as_params_t p = AS_PARAMS_DEFAULT;
    as_spec_t s = s_spec (1, 10, 50);
    s.n_metrics = 5;
    for (size_t i = 1; i < 5; i++)
        s.metrics[i] = (as_metric_t){
            .resource = AS_RES_MEMORY, .target = AS_TARGET_UTILIZATION, .utilization = 50};
    as_history_t h = {0};
    as_pod_t pods[MAXP];
    as_container_t ct[MAXP];
    as_result_t r;
    size_t n = s_simple (2, 150, pods, ct); /* cpu wants 6; no memory requests */
    as_reconcile (&s, 2, pods, n, &p, NOW, &h, &r);
    CHECK (r.rescale);
    CHECK_EQ_INT (r.n_events, 4);
    as_scaled (&s, &h, NOW, &r);
    CHECK_EQ_INT (r.n_events, 5);
    CHECK_EQ_STR (r.events[4].reason, "SuccessfulRescale");
    as_history_free (&h);
}

static void test_milli_fmt (void)
{
    struct {
        int64_t v;
        const char *s;
    } t[] = {{0, "0"},
             {250, "250m"},
             {1000, "1"},
             {1500, "1500m"},
             {104857600000LL, "104857600"},
             {2000000000, "2M"},
             {500000000, "500k"}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        char *s = as_milli_fmt (t[i].v);
        CHECK_EQ_STR (s, t[i].s);
        free (s);
    }
}

int main (int argc, char **argv)
{
    static const hs_test_t tests[] = {
        {"replica_calc", test_replica_calc},
        {"replica_calc_errors", test_replica_calc_errors},
        {"reconcile_scale_up", test_reconcile_scale_up},
        {"reconcile_stabilization", test_reconcile_stabilization},
        {"reconcile_policies", test_reconcile_policies},
        {"reconcile_bounds_and_errors", test_reconcile_bounds_and_errors},
        {"window_300s", test_window_300s},
        {"long_policy_period", test_long_policy_period},
        {"noise_no_flap", test_noise_no_flap},
        {"overflow", test_overflow},
        {"outdated_events", test_outdated_events},
        {"get_scale_and_seed", test_get_scale_and_seed},
        {"events_room", test_events_room},
        {"milli_fmt", test_milli_fmt},
    };
    return HS_TEST_RUN (tests);
}
