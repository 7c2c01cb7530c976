/*  autoscaler_calc.c: the HPA's arithmetic (see autoscaler_calc.h), after
 *  Kubernetes v1.32's replica_calculator.go and horizontal.go.
 */
#include "autoscaler_calc.h"
#include "hs_util.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define NS 1000000000LL

const char *const as_cond_types[AS_N_CONDS] = {"AbleToScale", "ScalingActive", "ScalingLimited"};

static const char *const s_res_name[] = {"cpu", "memory"};

/* snprintf that truncates silently: messages nest kube's, and a long one
 * is cut rather than refused. */
__attribute__ ((format (printf, 3, 4))) static void s_fmt (char *buf, size_t len, const char *fmt,
                                                           ...)
{
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (buf, len, fmt, ap);
    va_end (ap);
}

/* Saturating int64 arithmetic: garbage usage saturates rather than overflows. */
static int64_t s_add_sat (int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_add_overflow (a, b, &r)) return a > 0 ? INT64_MAX : INT64_MIN;
    return r;
}

static int64_t s_mul_sat (int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_mul_overflow (a, b, &r)) return (a > 0) == (b > 0) ? INT64_MAX : INT64_MIN;
    return r;
}

/* A count computed in double, clamped into [lo, INT32_MAX] (a conversion
 * out of range is undefined). */
static int32_t s_clamp32 (double v, int32_t lo)
{
    if (!(v >= (double)lo)) return lo; /* also NaN */
    if (v >= (double)INT32_MAX) return INT32_MAX;
    return (int32_t)v;
}

/* ------------------------------------------------------------------ pods */

typedef enum { S_READY, S_UNREADY, S_MISSING, S_IGNORED } s_group_t;

/* replica_calculator.go's groupPods, for one pod. */
static s_group_t s_group (const as_pod_t *pod, as_resource_t res, const as_params_t *p, int64_t now)
{
    if (pod->phase == AS_POD_DELETING || pod->phase == AS_POD_FAILED) return S_IGNORED;
    if (pod->phase == AS_POD_PENDING) return S_UNREADY;
    if (!pod->has_metric) return S_MISSING;
    if (res != AS_RES_CPU) return S_READY;
    bool unready;
    if (!pod->has_ready || pod->start_time == 0) {
        unready = true;
    } else if (pod->start_time + p->cpu_initialization_ns > now) {
        /* still initializing: unready, or the sample does not cover a full
         * window since readiness changed */
        unready =
            !pod->ready || pod->metric_timestamp < pod->ready_transition + pod->metric_window_ns;
    } else {
        /* never became ready within the initial readiness delay */
        unready =
            !pod->ready && pod->start_time + p->initial_readiness_delay_ns > pod->ready_transition;
    }
    return unready ? S_UNREADY : S_READY;
}

/* A pod's usage of res (its containers', or container's), like the metrics
 * client's per-pod sum. false: no metric for it (the container is not
 * there). */
static bool s_usage (const as_pod_t *pod, as_resource_t res, const char *container, int64_t *ret)
{
    int64_t sum = 0;
    bool any = false;
    for (size_t i = 0; i < pod->n_containers; i++) {
        const as_container_t *c = &pod->containers[i];
        if (container && !hs_streq (container, c->name)) continue;
        sum = s_add_sat (sum, c->usage[res]);
        any = true;
    }
    if (!any) return false;
    *ret = sum;
    return true;
}

/* calculateRequests: the pod's request for res, or -1 with kube's message. */
static int s_request (const as_pod_t *pod, as_resource_t res, const char *container, int64_t *ret,
                      char *err)
{
    int64_t sum = 0;
    for (size_t i = 0; i < pod->n_containers; i++) {
        const as_container_t *c = &pod->containers[i];
        if (container && !hs_streq (container, c->name)) continue;
        if (c->request[res] <= 0) {
            s_fmt (err, AS_MSG, "missing request for %s in container %s of Pod %s", s_res_name[res],
                   hs_s (c->name), hs_s (pod->name));
            return -1;
        }
        sum = s_add_sat (sum, c->request[res]);
    }
    *ret = sum;
    return 0;
}

/* One pod in a calculation: its value (usage, or the stand-in), whether it
 * counts in the ratio. */
typedef struct {
    s_group_t g;
    bool in;       /* among the metrics */
    int64_t value; /* usage */
    int64_t request;
} s_row_t;

/* GetResourceUtilizationRatio over the rows that are in. */
static int s_util_ratio (const s_row_t *rows, size_t n, int32_t target, double *ret_ratio,
                         int32_t *ret_util, int64_t *ret_raw, char *err)
{
    int64_t total = 0, requests = 0, entries = 0;
    for (size_t i = 0; i < n; i++) {
        if (!rows[i].in) continue;
        total = s_add_sat (total, rows[i].value);
        requests = s_add_sat (requests, rows[i].request);
        entries++;
    }
    if (requests == 0) {
        s_fmt (err, AS_MSG, "no metrics returned matched known pods");
        return -1;
    }
    /* integer percent as kube's; in double when total * 100 would overflow */
    int32_t util = total <= INT64_MAX / 100
                       ? s_clamp32 ((double)((total * 100) / requests), 0)
                       : s_clamp32 ((double)total * 100.0 / (double)requests, 0);
    *ret_ratio = (double)util / (double)target;
    *ret_util = util;
    *ret_raw = total / entries;
    return 0;
}

/* GetMetricUsageRatio over the rows that are in. */
static void s_usage_ratio (const s_row_t *rows, size_t n, int64_t target, double *ret_ratio,
                           int64_t *ret_usage)
{
    int64_t total = 0, entries = 0;
    for (size_t i = 0; i < n; i++) {
        if (!rows[i].in) continue;
        total = s_add_sat (total, rows[i].value);
        entries++;
    }
    int64_t usage = entries ? total / entries : 0;
    *ret_ratio = (double)usage / (double)target;
    *ret_usage = usage;
}

static int s_no_ready (char *err)
{
    s_fmt (err, AS_MSG, "did not receive metrics for targeted pods (pods might be unready)");
    return -1;
}

static size_t s_count_in (const s_row_t *rows, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) k += rows[i].in;
    return k;
}

/* Groups the pods into rows; -1 with kube's message when no pod has a
 * metric at all. */
static int s_rows (const as_pod_t *pods, size_t n, as_resource_t res, const char *container,
                   const as_params_t *p, int64_t now, s_row_t *rows, size_t *ret_ready,
                   size_t *ret_unready, size_t *ret_missing, char *err)
{
    size_t any_metric = 0, ready = 0, unready = 0, missing = 0;
    for (size_t i = 0; i < n; i++) {
        s_row_t *r = &rows[i];
        memset (r, 0, sizeof *r);
        int64_t u = 0;
        bool has = pods[i].has_metric && s_usage (&pods[i], res, container, &u);
        any_metric += has;
        as_pod_t view = pods[i];
        view.has_metric = has;
        r->g = s_group (&view, res, p, now);
        r->in = r->g == S_READY;
        r->value = u;
        ready += r->g == S_READY;
        unready += r->g == S_UNREADY;
        missing += r->g == S_MISSING;
    }
    if (any_metric == 0) {
        s_fmt (err, AS_MSG, "unable to get metrics for resource %s: %s", s_res_name[res],
               "no metrics returned from resource metrics API");
        return -1;
    }
    if (n == 0) {
        s_fmt (err, AS_MSG, "no pods returned by selector while calculating replica count");
        return -1;
    }
    *ret_ready = ready;
    *ret_unready = unready;
    *ret_missing = missing;
    return 0;
}

/* The shared tail of both calculations: re-check with stand-ins for the
 * missing and unready pods. */
static int32_t s_recheck (double ratio, double new_ratio, size_t in, int32_t current, double tol)
{
    if (fabs (1.0 - new_ratio) <= tol || (ratio < 1.0 && new_ratio > 1.0) ||
        (ratio > 1.0 && new_ratio < 1.0))
        return current;
    int32_t r = s_clamp32 (ceil (new_ratio * (double)in), 0);
    if ((new_ratio < 1.0 && r > current) || (new_ratio > 1.0 && r < current)) return current;
    return r;
}

int as_resource_replicas (const as_pod_t *pods, size_t n, int32_t current, int32_t target_util,
                          as_resource_t res, const char *container, const as_params_t *p,
                          int64_t now, as_proposal_t *ret, char *err)
{
    if (n == 0) {
        s_fmt (err, AS_MSG, "unable to get metrics for resource %s: %s", s_res_name[res],
               "no metrics returned from resource metrics API");
        return -1;
    }
    s_row_t *rows = hs_calloc (n, sizeof *rows);
    size_t ready, unready, missing;
    int rc = -1;
    if (s_rows (pods, n, res, container, p, now, rows, &ready, &unready, &missing, err) < 0)
        goto out;
    /* kube computes the requests (and may fail on one) before it looks for
     * ready pods with metrics */
    for (size_t i = 0; i < n; i++)
        if (s_request (&pods[i], res, container, &rows[i].request, err) < 0) goto out;
    if (ready == 0) {
        s_no_ready (err);
        goto out;
    }
    double ratio;
    int32_t util;
    int64_t raw;
    if (s_util_ratio (rows, n, target_util, &ratio, &util, &raw, err) < 0) goto out;
    *ret = (as_proposal_t){.replicas = current, .utilization = util, .raw = raw};
    rc = 0;
    bool up_with_unready = unready > 0 && ratio > 1.0;
    if (!up_with_unready && missing == 0) {
        if (fabs (1.0 - ratio) > p->tolerance)
            ret->replicas = s_clamp32 (ceil (ratio * (double)ready), 0);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        s_row_t *r = &rows[i];
        if (r->g == S_MISSING && ratio < 1.0) {
            int64_t fallback = target_util > 100 ? target_util : 100;
            r->value = s_mul_sat (r->request, fallback) / 100;
            r->in = true;
        } else if (r->g == S_MISSING && ratio > 1.0) {
            r->value = 0;
            r->in = true;
        } else if (r->g == S_UNREADY && up_with_unready) {
            r->value = 0;
            r->in = true;
        }
    }
    double new_ratio;
    int32_t u2;
    int64_t r2;
    if (s_util_ratio (rows, n, target_util, &new_ratio, &u2, &r2, err) < 0) {
        rc = -1;
        goto out;
    }
    ret->replicas = s_recheck (ratio, new_ratio, s_count_in (rows, n), current, p->tolerance);
out:
    free (rows);
    return rc;
}

int as_raw_resource_replicas (const as_pod_t *pods, size_t n, int32_t current, int64_t target_milli,
                              as_resource_t res, const char *container, const as_params_t *p,
                              int64_t now, as_proposal_t *ret, char *err)
{
    if (n == 0 || target_milli <= 0) {
        s_fmt (err, AS_MSG, "unable to get metrics for resource %s: %s", s_res_name[res],
               "no metrics returned from resource metrics API");
        return -1;
    }
    s_row_t *rows = hs_calloc (n, sizeof *rows);
    size_t ready, unready, missing;
    int rc = -1;
    if (s_rows (pods, n, res, container, p, now, rows, &ready, &unready, &missing, err) < 0)
        goto out;
    if (ready == 0) {
        s_no_ready (err);
        goto out;
    }
    double ratio;
    int64_t usage;
    s_usage_ratio (rows, n, target_milli, &ratio, &usage);
    *ret = (as_proposal_t){.replicas = current, .raw = usage};
    rc = 0;
    bool up_with_unready = unready > 0 && ratio > 1.0;
    if (!up_with_unready && missing == 0) {
        if (fabs (1.0 - ratio) > p->tolerance)
            ret->replicas = s_clamp32 (ceil (ratio * (double)ready), 0);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        s_row_t *r = &rows[i];
        if (r->g == S_MISSING) {
            r->value = ratio < 1.0 ? target_milli : 0;
            r->in = true;
        } else if (r->g == S_UNREADY && up_with_unready) {
            r->value = 0;
            r->in = true;
        }
    }
    double new_ratio;
    int64_t u2;
    s_usage_ratio (rows, n, target_milli, &new_ratio, &u2);
    ret->replicas = s_recheck (ratio, new_ratio, s_count_in (rows, n), current, p->tolerance);
out:
    free (rows);
    return rc;
}

/* ------------------------------------------------------------------ behavior */

void as_rules_default (as_rules_t *r, bool up, bool set_policies, bool set_select)
{
    if (!set_select) r->select = AS_SELECT_MAX;
    if (!set_policies) {
        r->n_policies = 0;
        r->policies[r->n_policies++] = (as_policy_t){AS_POLICY_PERCENT, 100, 15};
        if (up) r->policies[r->n_policies++] = (as_policy_t){AS_POLICY_PODS, 4, 15};
    }
    if (up && r->window_s < 0) r->window_s = 0;
}

__attribute__ ((format (printf, 5, 6))) static void
s_cond (as_result_t *r, int which, const char *status, const char *reason, const char *fmt, ...)
{
    as_cond_t *c = &r->conds[which];
    c->set = true;
    c->status = status;
    s_fmt (c->reason, sizeof c->reason, "%s", reason);
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (c->message, sizeof c->message, fmt, ap);
    va_end (ap);
}

__attribute__ ((format (printf, 4, 5))) static void
s_event (as_result_t *r, const char *type, const char *reason, const char *fmt, ...)
{
    if (r->n_events >= AS_MAX_EVENTS) return; /* not reached: see AS_MAX_EVENTS */
    as_event_t *e = &r->events[r->n_events++];
    e->type = type;
    s_fmt (e->reason, sizeof e->reason, "%s", reason);
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (e->message, sizeof e->message, fmt, ap);
    va_end (ap);
}

/* Appends to a growable list. */
static as_stamp_t *s_push (as_stamp_t **v, size_t *n, size_t *cap)
{
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 8;
        *v = hs_realloc (*v, *cap * sizeof **v);
    }
    return &(*v)[(*n)++];
}

void as_history_free (as_history_t *h)
{
    free (h->recs);
    free (h->ups);
    free (h->downs);
    memset (h, 0, sizeof *h);
}

void as_history_add_event (as_history_t *h, bool up, int32_t value, int64_t at)
{
    as_stamp_t *x = up ? s_push (&h->ups, &h->n_ups, &h->cap_ups)
                       : s_push (&h->downs, &h->n_downs, &h->cap_downs);
    *x = (as_stamp_t){.value = value, .at = at};
}

/* Records a recommendation: its value's entry restamped, else over an entry
 * older than cutoff (every window's), else appended. */
static void s_recommend (as_history_t *h, int32_t value, int64_t now, int64_t cutoff)
{
    size_t slot = h->n_recs;
    for (size_t i = 0; i < h->n_recs; i++) {
        if (h->recs[i].value == value) {
            slot = i;
            break;
        }
        if (h->recs[i].at < cutoff && slot == h->n_recs) slot = i;
    }
    as_stamp_t *x = slot < h->n_recs ? &h->recs[slot] : s_push (&h->recs, &h->n_recs, &h->cap_recs);
    *x = (as_stamp_t){.value = value, .at = now};
}

/* stabilizeRecommendation (no behavior): the max over the window. */
static int32_t s_stabilize (as_history_t *h, int32_t desired, int64_t window_ns, int64_t now)
{
    int32_t max = desired;
    int64_t cutoff = now - window_ns;
    for (size_t i = 0; i < h->n_recs; i++)
        if (h->recs[i].at >= cutoff && h->recs[i].value > max) max = h->recs[i].value;
    s_recommend (h, desired, now, cutoff);
    return max;
}

/* stabilizeRecommendationWithBehaviors. */
static int32_t s_stabilize_behavior (as_history_t *h, const as_spec_t *s, int32_t current,
                                     int32_t desired, int64_t down_window_ns, int64_t now,
                                     as_result_t *r)
{
    int32_t up = desired, down = desired;
    int64_t up_cut = now - (int64_t)s->up.window_s * NS;
    int64_t down_cut = now - down_window_ns;
    for (size_t i = 0; i < h->n_recs; i++) {
        const as_stamp_t *x = &h->recs[i];
        if (x->at > up_cut && x->value < up) up = x->value;
        if (x->at > down_cut && x->value > down) down = x->value;
    }
    int32_t rec = current;
    if (rec < up) rec = up;
    if (rec > down) rec = down;
    s_recommend (h, desired, now, up_cut < down_cut ? up_cut : down_cut);
    if (rec != desired) {
        if (desired >= current)
            s_cond (r, AS_COND_ABLE, "True", "ScaleUpStabilized",
                    "recent recommendations were lower than current one, applying the lowest "
                    "recent recommendation");
        else
            s_cond (r, AS_COND_ABLE, "True", "ScaleDownStabilized",
                    "recent recommendations were higher than current one, applying the highest "
                    "recent recommendation");
    } else {
        s_cond (r, AS_COND_ABLE, "True", "ReadyForNewScale",
                "recommended size matches current size");
    }
    return rec;
}

/* getReplicasChangePerPeriod: every event within the period, outdated or
 * not (outdated only marks a slot for reuse, against the longest period of
 * its own direction; the other direction's periods may be longer). */
static int64_t s_changes (const as_stamp_t *v, size_t n, int32_t period_s, int64_t now)
{
    int64_t cutoff = now - (int64_t)period_s * NS;
    int64_t sum = 0;
    for (size_t i = 0; i < n; i++)
        if (v[i].at > cutoff) sum += v[i].value;
    return sum;
}

/* calculateScaleUpLimitWithScalingRules / calculateScaleDownLimitWithBehaviors */
static int32_t s_limit (const as_history_t *h, const as_rules_t *rules, int32_t current, bool up,
                        int64_t now)
{
    if (rules->select == AS_SELECT_DISABLED) return current;
    bool take_min = (rules->select == AS_SELECT_MIN) == up;
    /* in double (policy values up to INT32_MAX, "no limit"), clamped into
     * int32 at the end; the callers clamp to current and min/max */
    double result = take_min ? INFINITY : -INFINITY;
    for (size_t i = 0; i < rules->n_policies; i++) {
        const as_policy_t *pol = &rules->policies[i];
        double added = (double)s_changes (h->ups, h->n_ups, pol->period_s, now);
        double deleted = (double)s_changes (h->downs, h->n_downs, pol->period_s, now);
        double start = (double)current - added + deleted;
        double proposed;
        if (pol->type == AS_POLICY_PODS)
            proposed = up ? start + pol->value : start - pol->value;
        else if (up)
            proposed = ceil (start * (1.0 + (double)pol->value / 100.0));
        else
            proposed = trunc (start * (1.0 - (double)pol->value / 100.0));
        result = take_min ? fmin (result, proposed) : fmax (result, proposed);
    }
    return s_clamp32 (result, INT32_MIN);
}

/* convertDesiredReplicasWithBehaviorRate */
static int32_t s_rate (const as_history_t *h, const as_spec_t *s, int32_t current, int32_t desired,
                       int64_t now, const char **ret_reason, const char **ret_msg)
{
    *ret_reason = "DesiredWithinRange";
    *ret_msg = "the desired count is within the acceptable range";
    if (desired > current) {
        int32_t limit = s_limit (h, &s->up, current, true, now);
        if (limit < current) limit = current;
        int32_t max_allowed = s->max_replicas;
        const char *reason, *msg;
        if (max_allowed > limit) {
            max_allowed = limit;
            reason = "ScaleUpLimit";
            msg = "the desired replica count is increasing faster than the maximum scale rate";
        } else {
            reason = "TooManyReplicas";
            msg = "the desired replica count is more than the maximum replica count";
        }
        if (desired > max_allowed) {
            *ret_reason = reason;
            *ret_msg = msg;
            return max_allowed;
        }
    } else if (desired < current) {
        int32_t limit = s_limit (h, &s->down, current, false, now);
        if (limit > current) limit = current;
        int32_t min_allowed = s->min_replicas;
        const char *reason, *msg;
        if (min_allowed < limit) {
            min_allowed = limit;
            reason = "ScaleDownLimit";
            msg = "the desired replica count is decreasing faster than the maximum scale rate";
        } else {
            reason = "TooFewReplicas";
            msg = "the desired replica count is less than the minimum replica count";
        }
        if (desired < min_allowed) {
            *ret_reason = reason;
            *ret_msg = msg;
            return min_allowed;
        }
    }
    return desired;
}

/* convertDesiredReplicasWithRules (no behavior). */
static int32_t s_rules (int32_t current, int32_t desired, int32_t min, int32_t max,
                        const char **ret_reason, const char **ret_msg)
{
    int32_t limit = s_clamp32 (fmax (2.0 * (double)current, 4.0), 0);
    int32_t max_allowed;
    if (max > limit) {
        max_allowed = limit;
        *ret_reason = "ScaleUpLimit";
        *ret_msg = "the desired replica count is increasing faster than the maximum scale rate";
    } else {
        max_allowed = max;
        *ret_reason = "TooManyReplicas";
        *ret_msg = "the desired replica count is more than the maximum replica count";
    }
    if (desired < min) {
        *ret_reason = "TooFewReplicas";
        *ret_msg = "the desired replica count is less than the minimum replica count";
        return min;
    }
    if (desired > max_allowed) return max_allowed;
    *ret_reason = "DesiredWithinRange";
    *ret_msg = "the desired count is within the acceptable range";
    return desired;
}

static int32_t s_normalize (const as_spec_t *s, as_history_t *h, int32_t current, int32_t desired,
                            const as_params_t *p, int64_t now, as_result_t *r)
{
    const char *reason, *msg;
    int32_t stable, out;
    if (!s->has_behavior) {
        stable = s_stabilize (h, desired, p->downscale_stabilization_ns, now);
        if (stable != desired)
            s_cond (r, AS_COND_ABLE, "True", "ScaleDownStabilized",
                    "recent recommendations were higher than current one, applying the highest "
                    "recent recommendation");
        else
            s_cond (r, AS_COND_ABLE, "True", "ReadyForNewScale",
                    "recommended size matches current size");
        out = s_rules (current, stable, s->min_replicas, s->max_replicas, &reason, &msg);
    } else {
        /* maybeInitScaleDownStabilizationWindow: the flag's default */
        int64_t down_ns =
            s->down.window_s >= 0 ? (int64_t)s->down.window_s * NS : p->downscale_stabilization_ns;
        stable = s_stabilize_behavior (h, s, current, desired, down_ns, now, r);
        out = s_rate (h, s, current, stable, now, &reason, &msg);
    }
    s_cond (r, AS_COND_LIMITED, out == stable ? "False" : "True", reason, "%s", msg);
    return out;
}

/* computeReplicasForMetric for a Resource / ContainerResource metric. */
static int s_metric (const as_metric_t *m, int32_t current, const as_pod_t *pods, size_t n,
                     const as_params_t *p, int64_t now, as_proposal_t *ret, as_metric_status_t *st,
                     char *name, size_t name_len, char *err)
{
    const char *res = s_res_name[m->resource];
    const char *container = m->container_resource ? m->container : NULL;
    char inner[AS_MSG];
    if (m->target == AS_TARGET_AVERAGE_VALUE) {
        if (as_raw_resource_replicas (pods, n, current, m->average_milli, m->resource, container, p,
                                      now, ret, inner) < 0) {
            s_fmt (err, AS_MSG, "failed to get %s usage: %s", res, inner);
            return -1;
        }
        s_fmt (name, name_len, "%s resource", res);
        *st = (as_metric_status_t){.valid = true, .average_milli = ret->raw};
        return 0;
    }
    if (m->target != AS_TARGET_UTILIZATION) {
        s_fmt (err, AS_MSG,
               "invalid resource metric source: neither an average utilization target nor an "
               "average value (usage) target was set");
        return -1;
    }
    if (as_resource_replicas (pods, n, current, m->utilization, m->resource, container, p, now, ret,
                              inner) < 0) {
        s_fmt (err, AS_MSG, "failed to get %s utilization: %s", res, inner);
        return -1;
    }
    s_fmt (name, name_len, "%s %sresource utilization (percentage of request)", res,
           m->container_resource ? "container " : "");
    *st = (as_metric_status_t){.valid = true,
                               .has_utilization = true,
                               .utilization = ret->utilization,
                               .average_milli = ret->raw};
    return 0;
}

void as_reconcile (const as_spec_t *s, int32_t current, const as_pod_t *pods, size_t n,
                   const as_params_t *p, int64_t now, as_history_t *h, as_result_t *r)
{
    memset (r, 0, sizeof *r);
    r->current = current;
    int32_t min = s->min_replicas;
    int32_t desired = 0;
    bool rescale = true;
    /* recordInitialRecommendation: a new history starts at the current count */
    if (h->n_recs == 0) s_recommend (h, current, now, now);
    /* kube sets this on every pass right after reading the scale; the
     * branches below overwrite it */
    s_cond (r, AS_COND_ABLE, "True", "SucceededGetScale",
            "the HPA controller was able to get the target's current scale");
    if (current == 0 && min != 0) {
        rescale = false;
        s_cond (r, AS_COND_ACTIVE, "False", "ScalingDisabled",
                "scaling is disabled since the replica count of the target is zero");
    } else if (current > s->max_replicas) {
        s_fmt (r->reason, sizeof r->reason, "Current number of replicas above Spec.MaxReplicas");
        desired = s->max_replicas;
    } else if (current < min) {
        s_fmt (r->reason, sizeof r->reason, "Current number of replicas below Spec.MinReplicas");
        desired = min;
    } else {
        /* computeReplicasForMetrics: the largest proposal wins */
        int32_t best = 0;
        char best_name[AS_MSG] = "";
        size_t invalid = 0;
        char first_err[AS_MSG] = "", first_cond[AS_MSG] = "";
        for (size_t i = 0; i < s->n_metrics; i++) {
            as_proposal_t prop;
            char name[AS_MSG], err[AS_MSG];
            if (s_metric (&s->metrics[i], current, pods, n, p, now, &prop, &r->metrics[i], name,
                          sizeof name, err) < 0) {
                if (invalid == 0) s_fmt (first_cond, sizeof first_cond, "%s", err);
                if (invalid == 0)
                    s_fmt (first_err, sizeof first_err,
                           "failed to get %s resource metric value: %s",
                           s_res_name[s->metrics[i].resource], err);
                invalid++;
                /* getUnableComputeReplicaCountCondition: an Event per failure */
                s_event (r, "Warning", "FailedGetResourceMetric", "%s", err);
                continue;
            }
            if (best == 0 || prop.replicas > best) {
                best = prop.replicas;
                s_fmt (best_name, sizeof best_name, "%s", name);
            }
        }
        if (invalid > 0 && (invalid >= s->n_metrics || best < current)) {
            s_cond (r, AS_COND_ACTIVE, "False", "FailedGetResourceMetric",
                    "the HPA was unable to compute the replica count: %s", first_cond);
            s_event (r, "Warning", "FailedComputeMetricsReplicas",
                     "invalid metrics (%zu invalid out of %zu), first error is: %s", invalid,
                     s->n_metrics, first_err);
            r->desired = current; /* the status keeps the last desired; see the daemon */
            r->rescale = false;
            return;
        }
        s_cond (r, AS_COND_ACTIVE, "True", "ValidMetricFound",
                "the HPA was able to successfully calculate a replica count from %s", best_name);
        desired = best;
        if (desired > current) s_fmt (r->reason, sizeof r->reason, "%s above target", best_name);
        if (desired < current) s_fmt (r->reason, sizeof r->reason, "All metrics below target");
        desired = s_normalize (s, h, current, desired, p, now, r);
        rescale = desired != current;
    }
    r->rescale = rescale;
    r->desired = rescale ? desired : current;
}

void as_scaled (const as_spec_t *s, as_history_t *h, int64_t now, as_result_t *r)
{
    s_cond (r, AS_COND_ABLE, "True", "SucceededRescale",
            "the HPA controller was able to update the target scale to %d", r->desired);
    s_event (r, "Normal", "SuccessfulRescale", "New size: %d; reason: %s", r->desired, r->reason);
    if (!s->has_behavior) return; /* storeScaleEvent: the events are only used with behavior */
    bool up = r->desired > r->current;
    const as_rules_t *rules = up ? &s->up : &s->down;
    int32_t longest = 0;
    for (size_t i = 0; i < rules->n_policies; i++)
        if (rules->policies[i].period_s > longest) longest = rules->policies[i].period_s;
    int64_t cutoff = now - (int64_t)longest * NS;
    as_stamp_t *v = up ? h->ups : h->downs;
    size_t nv = up ? h->n_ups : h->n_downs;
    /* storeScaleEvent: markScaleEventsOutdated, then the LAST outdated slot
     * is reused, else the event is appended */
    size_t slot = nv;
    for (size_t i = 0; i < nv; i++) {
        if (v[i].at < cutoff) v[i].outdated = true;
        if (v[i].outdated) slot = i;
    }
    int32_t change = up ? r->desired - r->current : r->current - r->desired;
    if (slot < nv)
        v[slot] = (as_stamp_t){.value = change, .at = now};
    else
        as_history_add_event (h, up, change, now);
}

void as_scale_failed (as_result_t *r, const char *why)
{
    s_event (r, "Warning", "FailedRescale", "New size: %d; reason: %s; error: %s", r->desired,
             r->reason, why);
    s_cond (r, AS_COND_ABLE, "False", "FailedUpdateScale",
            "the HPA controller was unable to update the target scale: %s", why);
    r->rescale = false;
    r->desired = r->current;
}

char *as_milli_fmt (int64_t milli)
{
    static const char *const suffix[] = {"m", "", "k", "M", "G", "T", "P", "E"};
    if (milli == 0) return hs_strdup ("0");
    int64_t v = milli;
    size_t e = 0;
    while (e + 1 < HS_ARRAY_LEN (suffix) && v % 1000 == 0) {
        v /= 1000;
        e++;
    }
    return hs_sprintf ("%lld%s", (long long)v, suffix[e]);
}
