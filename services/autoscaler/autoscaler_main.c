/*  autoscaler_main.c: hs-autoscaler's wiring (docs/architecture.md §26): flags, the
 *  controller loop (hs_ctrl), the usage it follows, and the writes
 *  autoscaler_calc.c decides.
 *
 *  One watch on HorizontalPodAutoscalers, Deployments, ReplicaSets and Pods,
 *  and a subscription to usage.: the latest NodeUsage of each node, kept
 *  with the monotonic time it arrived. A node whose last sample arrived more
 *  than 3 x its interval_ms ago (at least 3 s) is stale: its pods have no
 *  metrics (the receive time, not the sample's timestamp, so a node's clock
 *  does not matter). A pod's usage is the sum over its containers of
 *  cpu_usage_nanocores (millicores) and memory_working_set_bytes.
 *
 *  Every --sync-period (default 1 s; kube's --horizontal-pod-autoscaler-
 *  sync-period is 15 s), and at once when its spec changes, each HPA this
 *  instance owns (rendezvous hashing of "ns/name") goes through as_reconcile
 *  with its target's spec.replicas and the pods its selector matches. Then,
 *  like kube's /scale:
 *
 *    - a rescale is an OP_UPDATE of the target changing only spec.replicas,
 *      with the revision we saw (a Conflict: the next pass computes again);
 *      after it the HPA waits for the cache to reach the ack's revision, so
 *      it never computes from the count before its own write;
 *    - then OP_UPDATE_STATUS of the HPA (currentReplicas, desiredReplicas,
 *      currentMetrics, lastScaleTime, conditions keeping their
 *      lastTransitionTime while their status holds, observedGeneration),
 *      at once when anything but the metric figures changed, the figures
 *      alone at most every --status-interval (default 15 s, kube's sync);
 *    - the Events as_reconcile asked for (SuccessfulRescale,
 *      FailedGetResourceMetric, ...); the store merges repeats into a count,
 *      but each is still a commit, so an identical Warning is sent again
 *      only after 60 s.
 *
 *  The recommendations and scale events behind stabilization and the rate
 *  policies live in memory per HPA, as in kube; an instance that takes an
 *  HPA over starts with the current count as its one recommendation
 *  (kube's recordInitialRecommendation), so it waits a full window before a
 *  scale down. A usage sample with a container's memory below 0 or above
 *  2^53 bytes, or cpu above 2^40 nanocores, is garbage: counted, logged
 *  once, its pod without a metric.
 */
#include "autoscaler_calc.h"
#include "hs_client.h"
#include "hs_ctrl.h"
#include "hs_log.h"
#include "hs_pb.h"
#include "hs_quantity.h"
#include "hs_util.h"
#include "hs_workload.h"

#include <czmq.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MS              1000000LL
#define NS              1000000000LL
#define STALE_MIN_MS    3000 /* a node's sample is stale after 3 x interval, at least this */
#define CALL_TIMEOUT_MS 10000
/* a container's sample beyond these is garbage: 2^53 bytes (8 PiB), 2^40
 * nanocores (about 1100 cores) */
#define MAX_MEMORY_BYTES (1LL << 53)
#define MAX_NANOCORES    (1ULL << 40)
#define EVENT_REPEAT_NS  (60 * NS) /* an identical Warning is sent again after this */
#define N_SENT           16        /* the recent Warnings remembered per HPA */

/* A Warning recently sent for an HPA: its reason and message, hashed. */
typedef struct {
    uint64_t hash;
    int64_t at; /* monotonic */
} s_sent_t;

typedef struct {
    Hs__NodeUsage *usage;
    int64_t recv_mono;
} s_node_t;

/* What we keep per HPA between passes. */
typedef struct {
    char *uid;
    as_history_t history;
    int64_t due;        /* monotonic: the next reconcile */
    int64_t generation; /* the spec we last reconciled */
    bool inflight;      /* a write not yet answered */
    int64_t barrier;    /* the cache must reach this revision first */
    bool seen;
    int64_t status_at; /* monotonic: the last status write */
    s_sent_t sent[N_SENT];
} s_hpa_t;

typedef struct {
    int64_t sync_ms;
    int64_t status_ms; /* a status whose metric figures alone changed waits this long */
    as_params_t calc;
} s_params_t;

typedef struct self_t {
    hs_ctrl_t *ctrl;
    hs_client_t *client;
    hs_watch_t *watch;
    s_params_t params;
    zhashx_t *nodes; /* node name -> s_node_t */
    zhashx_t *hpas;  /* "ns/name" -> s_hpa_t */
    uint64_t owned, total;
    uint64_t passes, reconciles, rescales, conflicts, scale_failed, status_writes, usage_samples,
        usage_garbage, events_sent, events_suppressed;
} self_t;

/* A scale write in flight and what to finish after it: freed by its
 * callback, or by the client at exit when the callback never runs. */
typedef struct {
    self_t *self;
    char *key, *uid;
    as_spec_t spec;
    as_result_t result;
} s_ctx_t;

static void s_usage (FILE *f)
{
    fprintf (
        f, "usage: hs-autoscaler [--sync-period D] [--tolerance F] [--downscale-stabilization D]\n"
           "                     [--cpu-initialization-period D] [--initial-readiness-delay D]\n"
           "                     [--status-interval D] [controller flags]\n"
           "  D is a duration: 500ms, 15s, 5m (a bare number is seconds)\n"
           "  --sync-period D                 how often each HPA is reconciled (default 1s)\n"
           "  --tolerance F                   the ratio change ignored (default 0.1)\n"
           "  --downscale-stabilization D     the scale-down window of HPAs that set none\n"
           "                                  (default 5m)\n"
           "  --cpu-initialization-period D   cpu samples of younger pods need readiness\n"
           "                                  and a full window (default 5m)\n"
           "  --initial-readiness-delay D     a pod not ready this long after its start\n"
           "                                  never became ready (default 30s)\n"
           "  --status-interval D             a status whose metric figures alone changed\n"
           "                                  is written at most this often (default 15s)\n");
    hs_ctrl_usage (f);
}

/* ------------------------------------------------------------------ state */

static void s_node_destroy (void **item)
{
    s_node_t *n = *item;
    if (!n) return;
    hs_pb_free (n->usage);
    free (n);
    *item = NULL;
}

static void s_hpa_destroy (void **item)
{
    s_hpa_t *h = *item;
    if (!h) return;
    as_history_free (&h->history);
    free (h->uid);
    free (h);
    *item = NULL;
}

static void s_ctx_free (void *arg)
{
    s_ctx_t *c = arg;
    free (c->key);
    free (c->uid);
    free (c);
}

/* ------------------------------------------------------------------ usage */

/* A container's sample within range: memory in [0, 2^53] bytes, cpu below
 * 2^40 nanocores (so that milli units and their sums cannot overflow). */
static bool s_usage_valid (const Hs__ContainerUsage *cu)
{
    return cu->memory_working_set_bytes >= 0 && cu->memory_working_set_bytes <= MAX_MEMORY_BYTES &&
           cu->cpu_usage_nanocores <= MAX_NANOCORES;
}

static void s_on_usage (void *arg, const char *topic, const Hs__Envelope *env)
{
    self_t *self = arg;
    if (env->body_case != HS__ENVELOPE__BODY_USAGE || !env->usage || !env->usage->node ||
        !env->usage->node[0]) {
        self->usage_garbage++;
        hs_log_once (HS_LOG_WARN, "autoscaler:usage", "ignoring a message on %s: not a NodeUsage",
                     topic);
        return;
    }
    /* usage.<node>/: the topic names the node the broker let publish it */
    const char *n = env->usage->node;
    size_t len = strlen (n);
    if (strncmp (topic, "usage.", 6) != 0 || strncmp (topic + 6, n, len) != 0 ||
        topic[6 + len] != '/') {
        self->usage_garbage++;
        hs_log_once (HS_LOG_WARN, "autoscaler:usage-topic",
                     "ignoring node %s's usage on %s: the topic names another node", n, topic);
        return;
    }
    /* a container's figures out of range (or a pod listed twice) make the
     * sample garbage: counted, logged once; s_pod treats such a pod as
     * without a metric and the index keeps the first of a uid */
    bool bad = false;
    for (size_t i = 0; i < env->usage->n_pods; i++) {
        const Hs__PodUsage *pu = env->usage->pods[i];
        for (size_t k = 0; k < pu->n_containers; k++) bad |= !s_usage_valid (pu->containers[k]);
        for (size_t k = 0; k < i && pu->uid && pu->uid[0]; k++)
            bad |= hs_streq (env->usage->pods[k]->uid, pu->uid);
    }
    if (bad) {
        self->usage_garbage++;
        hs_log_once (HS_LOG_WARN, "autoscaler:usage-range",
                     "node %s's usage has a container's memory or cpu out of range, or a pod "
                     "twice: those pods count as without metrics",
                     n);
    }
    self->usage_samples++;
    s_node_t *node = zhashx_lookup (self->nodes, n);
    if (!node) {
        node = hs_calloc (1, sizeof *node);
        zhashx_insert (self->nodes, n, node);
    }
    hs_pb_free (node->usage);
    node->usage = hs_pb_dup (env->usage);
    node->recv_mono = hs_mono_ns ();
}

static bool s_fresh (const s_node_t *n, int64_t now_mono)
{
    int64_t stale_ms = 3LL * n->usage->interval_ms;
    if (stale_ms < STALE_MIN_MS) stale_ms = STALE_MIN_MS;
    return now_mono - n->recv_mono <= stale_ms * MS;
}

typedef struct {
    const Hs__PodUsage *pod;
    const Hs__NodeUsage *node;
    int64_t recv_mono;
} s_pod_usage_t;

static void s_free_item (void **item)
{
    free (*item);
    *item = NULL;
}

/* pod uid -> its usage, from the fresh nodes' samples that have a window
 * (the first sample of a run has no rate yet). A uid two samples list (a
 * buggy or hostile agent): the freshest sample's entry. */
static zhashx_t *s_usage_index (self_t *self, int64_t now_mono)
{
    zhashx_t *ix = zhashx_new ();
    zhashx_set_destructor (ix, s_free_item);
    for (s_node_t *n = zhashx_first (self->nodes); n; n = zhashx_next (self->nodes)) {
        if (!s_fresh (n, now_mono) || n->usage->window_ms == 0) continue;
        for (size_t i = 0; i < n->usage->n_pods; i++) {
            const Hs__PodUsage *p = n->usage->pods[i];
            if (!p->uid || !p->uid[0]) continue;
            s_pod_usage_t *old = zhashx_lookup (ix, p->uid);
            if (old) {
                hs_log_once (HS_LOG_WARN, "autoscaler:usage-dup",
                             "pod %s's usage comes from nodes %s and %s: the fresher counts",
                             p->uid, hs_s (old->node->node), n->usage->node);
                if (old->recv_mono >= n->recv_mono) continue; /* the first of one sample too */
                old->pod = p;
                old->node = n->usage;
                old->recv_mono = n->recv_mono;
                continue;
            }
            s_pod_usage_t *u = hs_calloc (1, sizeof *u);
            u->pod = p;
            u->node = n->usage;
            u->recv_mono = n->recv_mono;
            zhashx_insert (ix, p->uid, u);
        }
    }
    return ix;
}

static void s_usage_index_destroy (zhashx_t **ix)
{
    zhashx_destroy (ix);
}

/* ------------------------------------------------------------------ the HPA's spec */

static int s_resource (const char *name, as_resource_t *ret)
{
    if (hs_streq (name, "cpu"))
        *ret = AS_RES_CPU;
    else if (hs_streq (name, "memory"))
        *ret = AS_RES_MEMORY;
    else
        return -1;
    return 0;
}

static void s_target (const Hs__MetricTarget *t, as_resource_t res, as_metric_t *m)
{
    m->target = AS_TARGET_NONE;
    if (!t) return;
    if (hs_streq (t->type, "Utilization") && t->average_utilization) {
        m->target = AS_TARGET_UTILIZATION;
        m->utilization = t->average_utilization->value;
    } else if (hs_streq (t->type, "AverageValue") && t->average_value && t->average_value[0]) {
        int64_t v;
        int r = res == AS_RES_CPU ? hs_quantity_cpu_milli (t->average_value, &v)
                                  : hs_quantity_bytes (t->average_value, &v);
        if (r < 0) return;
        m->target = AS_TARGET_AVERAGE_VALUE;
        m->average_milli = res == AS_RES_CPU ? v : v * 1000;
    }
}

static void s_rules (const Hs__HPAScalingRules *in, bool up, as_rules_t *r)
{
    memset (r, 0, sizeof *r);
    r->window_s =
        in && in->stabilization_window_seconds ? in->stabilization_window_seconds->value : -1;
    bool set_select = in && in->select_policy && in->select_policy[0];
    if (set_select)
        r->select = hs_streq (in->select_policy, "Min")        ? AS_SELECT_MIN
                    : hs_streq (in->select_policy, "Disabled") ? AS_SELECT_DISABLED
                                                               : AS_SELECT_MAX;
    for (size_t i = 0; in && i < in->n_policies && r->n_policies < AS_MAX_POLICIES; i++) {
        const Hs__HPAScalingPolicy *p = in->policies[i];
        r->policies[r->n_policies++] =
            (as_policy_t){hs_streq (p->type, "Percent") ? AS_POLICY_PERCENT : AS_POLICY_PODS,
                          p->value, p->period_seconds};
    }
    as_rules_default (r, up, r->n_policies > 0, set_select);
}

static void s_spec (const Hs__HorizontalPodAutoscalerSpec *in, as_spec_t *s)
{
    memset (s, 0, sizeof *s);
    s->min_replicas = in->min_replicas ? in->min_replicas->value : 1;
    s->max_replicas = in->max_replicas;
    for (size_t i = 0; i < in->n_metrics && s->n_metrics < AS_MAX_METRICS; i++) {
        const Hs__MetricSpec *ms = in->metrics[i];
        as_metric_t *m = &s->metrics[s->n_metrics++];
        m->target = AS_TARGET_NONE;
        if (hs_streq (ms->type, "Resource") && ms->resource &&
            s_resource (ms->resource->name, &m->resource) == 0) {
            s_target (ms->resource->target, m->resource, m);
        } else if (hs_streq (ms->type, "ContainerResource") && ms->container_resource &&
                   s_resource (ms->container_resource->name, &m->resource) == 0) {
            m->container_resource = true;
            snprintf (m->container, sizeof m->container, "%s",
                      hs_s (ms->container_resource->container));
            s_target (ms->container_resource->target, m->resource, m);
        }
    }
    if (s->n_metrics == 0) { /* autoscaling/v2's default: cpu at 80% */
        s->n_metrics = 1;
        s->metrics[0] = (as_metric_t){
            .resource = AS_RES_CPU, .target = AS_TARGET_UTILIZATION, .utilization = 80};
    }
    s->up.window_s = s->down.window_s = -1;
    if (in->behavior) {
        s->has_behavior = true;
        s_rules (in->behavior->scale_up, true, &s->up);
        s_rules (in->behavior->scale_down, false, &s->down);
    }
}

/* ------------------------------------------------------------------ pods */

static int64_t s_qty (const char *s, as_resource_t res)
{
    int64_t v = 0;
    if (!s || !s[0]) return 0;
    if (res == AS_RES_CPU) return hs_quantity_cpu_milli (s, &v) < 0 ? 0 : v;
    return hs_quantity_bytes (s, &v) < 0 ? 0 : v * 1000;
}

/* A pod as autoscaler_calc sees it; containers into ct (n_containers
 * entries, the caller's). */
static void s_pod (const Hs__Pod *pod, zhashx_t *usage, as_pod_t *p, as_container_t *ct)
{
    memset (p, 0, sizeof *p);
    const Hs__ObjectMeta *m = pod->metadata;
    const Hs__PodStatus *st = pod->status;
    p->name = m->name;
    const char *phase = st ? st->phase : "";
    p->phase = m->deletion_timestamp                                ? AS_POD_DELETING
               : hs_streq (phase, "Failed")                         ? AS_POD_FAILED
               : hs_streq (phase, "Pending") || !phase || !phase[0] ? AS_POD_PENDING
                                                                    : AS_POD_RUNNING;
    p->start_time = st ? st->start_time : 0;
    for (size_t i = 0; st && i < st->n_conditions; i++) {
        const Hs__PodCondition *c = st->conditions[i];
        if (!hs_streq (c->type, "Ready")) continue;
        p->has_ready = true;
        p->ready = hs_streq (c->status, "True");
        p->ready_transition = c->last_transition_time;
    }
    const s_pod_usage_t *u = zhashx_lookup (usage, m->uid);
    p->has_metric = u != NULL;
    if (u) {
        p->metric_timestamp = u->node->timestamp;
        p->metric_window_ns = (int64_t)u->node->window_ms * MS;
    }
    size_t nc = pod->spec ? pod->spec->n_containers : 0;
    for (size_t i = 0; i < nc; i++) {
        const Hs__Container *c = pod->spec->containers[i];
        as_container_t *x = &ct[i];
        memset (x, 0, sizeof *x);
        x->name = c->name;
        const Hs__ResourceList *req = c->resources ? c->resources->requests : NULL;
        if (req) {
            x->request[AS_RES_CPU] = s_qty (req->cpu, AS_RES_CPU);
            x->request[AS_RES_MEMORY] = s_qty (req->memory, AS_RES_MEMORY);
        }
        bool found = false;
        for (size_t k = 0; u && k < u->pod->n_containers; k++) {
            const Hs__ContainerUsage *cu = u->pod->containers[k];
            if (!hs_streq (cu->name, c->name)) continue;
            if (!s_usage_valid (cu)) break; /* garbage (counted on receipt): no metric */
            x->usage[AS_RES_CPU] = (int64_t)(cu->cpu_usage_nanocores / 1000000);
            x->usage[AS_RES_MEMORY] = cu->memory_working_set_bytes * 1000;
            found = true;
        }
        /* kube's metrics client drops a pod missing a container's sample */
        if (u && !found) p->has_metric = false;
    }
    p->containers = ct;
    p->n_containers = nc;
}

/* ------------------------------------------------------------------ status */

static Hs__MetricStatus *s_metric_status (const as_metric_t *m, const as_metric_status_t *st)
{
    Hs__MetricStatus *out = hs_pb_new (&hs__metric_status__descriptor);
    if (!st->valid) return out; /* kube keeps an empty entry for a metric it could not read */
    Hs__MetricValueStatus *v = hs_pb_new (&hs__metric_value_status__descriptor);
    if (st->has_utilization) {
        v->average_utilization = hs_pb_new (&hs__int32_value__descriptor);
        v->average_utilization->value = st->utilization;
    }
    hs_pb_take_str (&v->average_value, as_milli_fmt (st->average_milli));
    const char *res = m->resource == AS_RES_CPU ? "cpu" : "memory";
    if (m->container_resource) {
        hs_pb_set_str (&out->type, "ContainerResource");
        out->container_resource = hs_pb_new (&hs__container_resource_metric_status__descriptor);
        hs_pb_set_str (&out->container_resource->name, res);
        hs_pb_set_str (&out->container_resource->container, m->container);
        out->container_resource->current = v;
    } else {
        hs_pb_set_str (&out->type, "Resource");
        out->resource = hs_pb_new (&hs__resource_metric_status__descriptor);
        hs_pb_set_str (&out->resource->name, res);
        out->resource->current = v;
    }
    return out;
}

/* kube's setCondition: lastTransitionTime moves only when the status does. */
static void s_set_cond (Hs__HorizontalPodAutoscalerStatus *st, const char *type, const as_cond_t *c,
                        int64_t now)
{
    Hs__HorizontalPodAutoscalerCondition *x = NULL;
    for (size_t i = 0; i < st->n_conditions; i++)
        if (hs_streq (st->conditions[i]->type, type)) x = st->conditions[i];
    if (!x) {
        x = hs_pb_new (&hs__horizontal_pod_autoscaler_condition__descriptor);
        hs_pb_set_str (&x->type, type);
        hs_pb_push ((void ***)&st->conditions, &st->n_conditions, x);
    }
    if (!hs_streq (x->status, c->status)) x->last_transition_time = now;
    hs_pb_set_str (&x->status, c->status);
    hs_pb_set_str (&x->reason, c->reason);
    hs_pb_set_str (&x->message, c->message);
}

/* FNV-1a of an Event's reason and message. */
static uint64_t s_event_hash (const as_event_t *e)
{
    uint64_t x = 1469598103934665603ULL;
    for (const char *p = e->reason; *p; p++) x = (x ^ (unsigned char)*p) * 1099511628211ULL;
    x = (x ^ 0xff) * 1099511628211ULL;
    for (const char *p = e->message; *p; p++) x = (x ^ (unsigned char)*p) * 1099511628211ULL;
    return x;
}

/* Whether to send Event e now: a Warning identical to one sent for this HPA
 * within EVENT_REPEAT_NS waits (the store would only merge it into a count,
 * each repeat one more commit; the conditions carry the state meanwhile). */
static bool s_event_due (s_hpa_t *h, const as_event_t *e, int64_t now_mono)
{
    if (!h || !hs_streq (e->type, "Warning")) return true;
    uint64_t x = s_event_hash (e);
    s_sent_t *slot = &h->sent[0];
    for (size_t i = 0; i < N_SENT; i++) {
        s_sent_t *t = &h->sent[i];
        if (t->at && t->hash == x) {
            if (now_mono - t->at < EVENT_REPEAT_NS) return false;
            slot = t;
            break;
        }
        if (t->at < slot->at) slot = t;
    }
    *slot = (s_sent_t){.hash = x, .at = now_mono};
    return true;
}

/* Whether a metric status entry has a figure (kube keeps an empty entry
 * for a metric it could not read). */
static bool s_has_figure (const Hs__MetricStatus *m)
{
    return (m->resource && m->resource->current) ||
           (m->container_resource && m->container_resource->current);
}

/* Whether st differs from old only in currentMetrics' figures (the same
 * entries, each with or without a figure as before). */
static bool s_only_figures (const Hs__HorizontalPodAutoscalerStatus *old,
                            const Hs__HorizontalPodAutoscalerStatus *st)
{
    if (old->n_current_metrics != st->n_current_metrics) return false;
    for (size_t i = 0; i < st->n_current_metrics; i++)
        if (s_has_figure (old->current_metrics[i]) != s_has_figure (st->current_metrics[i]))
            return false;
    Hs__HorizontalPodAutoscalerStatus *t = hs_pb_dup (st);
    for (size_t i = 0; i < t->n_current_metrics; i++) {
        hs_pb_free (t->current_metrics[i]);
        t->current_metrics[i] = hs_pb_dup (old->current_metrics[i]);
    }
    bool same = hs_pb_equal (old, t);
    hs_pb_free (t);
    return same;
}

/* Writes the HPA's status from r when a user would see a change: at once
 * for the counts, conditions, lastScaleTime, observedGeneration, a metric
 * gaining or losing its figure; the figures alone at most every
 * --status-interval (kube writes on its 15 s sync). Emits r's Events, an
 * identical Warning at most once per EVENT_REPEAT_NS. */
static void s_finish (self_t *self, const char *key, const char *uid, const as_spec_t *spec,
                      const as_result_t *r, bool scaled)
{
    _cleanup_free_ char *ns = NULL;
    const char *slash = strchr (key, '/');
    ns = hs_strndup (key, (size_t)(slash - key));
    const Hs__Object *o = hs_watch_get (self->watch, HS_KIND_HPA, ns, slash + 1);
    if (!o || !hs_streq (hs_obj_meta (o)->uid, uid)) return; /* gone meanwhile */
    s_hpa_t *h = zhashx_lookup (self->hpas, key);
    if (h && !hs_streq (h->uid, uid)) h = NULL;
    int64_t now_mono = hs_mono_ns ();
    for (size_t i = 0; i < r->n_events; i++) {
        if (!s_event_due (h, &r->events[i], now_mono)) {
            self->events_suppressed++;
            continue;
        }
        self->events_sent++;
        hs_ctrl_event (self->ctrl, o, r->events[i].type, r->events[i].reason, "%s",
                       r->events[i].message);
    }
    const Hs__HorizontalPodAutoscaler *hpa = o->horizontal_pod_autoscaler;
    int64_t now = hs_now_ns ();
    Hs__HorizontalPodAutoscalerStatus *old = hpa->status;
    Hs__HorizontalPodAutoscalerStatus *st =
        old ? hs_pb_dup (old) : hs_pb_new (&hs__horizontal_pod_autoscaler_status__descriptor);
    if (!st->observed_generation)
        st->observed_generation = hs_pb_new (&hs__int64_value__descriptor);
    st->observed_generation->value = hpa->metadata->generation;
    st->current_replicas = r->current;
    /* all metrics failing: kube keeps the last desired count */
    bool failed = r->conds[AS_COND_ACTIVE].set &&
                  hs_streq (r->conds[AS_COND_ACTIVE].status, "False") &&
                  !hs_streq (r->conds[AS_COND_ACTIVE].reason, "ScalingDisabled");
    if (!failed) st->desired_replicas = r->desired;
    if (scaled) st->last_scale_time = now;
    for (size_t i = 0; i < st->n_current_metrics; i++) hs_pb_free (st->current_metrics[i]);
    free (st->current_metrics);
    st->current_metrics = NULL;
    st->n_current_metrics = 0;
    bool any = false;
    for (size_t i = 0; i < spec->n_metrics; i++) any |= r->metrics[i].valid;
    for (size_t i = 0; any && i < spec->n_metrics; i++)
        hs_pb_push ((void ***)&st->current_metrics, &st->n_current_metrics,
                    s_metric_status (&spec->metrics[i], &r->metrics[i]));
    for (int i = 0; i < AS_N_CONDS; i++)
        if (r->conds[i].set) s_set_cond (st, as_cond_types[i], &r->conds[i], now);
    if (old &&
        (hs_pb_equal (old, st) || (h && now_mono - h->status_at < self->params.status_ms * MS &&
                                   s_only_figures (old, st)))) {
        hs_pb_free (st);
        return;
    }
    if (h) h->status_at = now_mono;
    Hs__Object *w_obj = hs_pb_dup (o);
    hs_pb_free (w_obj->horizontal_pod_autoscaler->status);
    w_obj->horizontal_pod_autoscaler->status = st;
    Hs__Write *w = hs_write_new (HS__OP__OP_UPDATE_STATUS, w_obj);
    w->expected_revision = hpa->metadata->resource_version;
    hs_call_opts_t opts = {.timeout_ms = CALL_TIMEOUT_MS};
    /* fire and forget: a Conflict means the HPA changed, and the next pass writes again */
    if (hs_client_send (self->client, &w, 1, &opts, NULL, NULL) == 0) self->status_writes++;
    hs_pb_free (w);
}

/* ------------------------------------------------------------------ scale */

static void s_on_scale_ack (void *arg, int err, const Hs__Ack *ack)
{
    s_ctx_t *c = arg;
    self_t *self = c->self;
    s_hpa_t *h = zhashx_lookup (self->hpas, c->key);
    if (h && !hs_streq (h->uid, c->uid)) h = NULL;
    if (h) h->inflight = false;
    bool ok = err == 0 && ack->code == HS__CODE__CODE_OK;
    if (ok) {
        self->rescales++;
        if (h) {
            if (ack->revision > h->barrier) h->barrier = ack->revision;
            as_scaled (&c->spec, &h->history, hs_now_ns (), &c->result);
        } else {
            as_history_t scratch = {0};
            as_scaled (&c->spec, &scratch, hs_now_ns (), &c->result);
            as_history_free (&scratch);
        }
        log_info ("hpa %s: %s", c->key, c->result.events[c->result.n_events - 1].message);
        s_finish (self, c->key, c->uid, &c->spec, &c->result, true);
    } else if (err == 0 && ack->code == HS__CODE__CODE_CONFLICT) {
        self->conflicts++; /* the target changed meanwhile: the next pass computes again */
        log_debug ("hpa %s: scale conflict: %s", c->key, ack->message);
    } else {
        self->scale_failed++;
        const char *why = err ? strerror (-err) : ack->message;
        hs_log_once (HS_LOG_WARN, "autoscaler:scale", "hpa %s: cannot scale: %s", c->key, why);
        as_scale_failed (&c->result, why);
        s_finish (self, c->key, c->uid, &c->spec, &c->result, false);
    }
    hs_ctrl_kick (self->ctrl);
    s_ctx_free (c); /* ours once the callback runs (free_arg is for a call dropped unanswered) */
}

/* The scale target's spec.replicas and selector, or NULL with kube's error. */
static const Hs__Object *s_target_of (self_t *self, const Hs__HorizontalPodAutoscaler *hpa,
                                      int32_t *ret_replicas, const Hs__LabelSelector **ret_sel,
                                      char *err, size_t err_len)
{
    const Hs__CrossVersionObjectReference *ref = hpa->spec->scale_target_ref;
    const char *ns = hpa->metadata->namespace_;
    if (!ref || !ref->name || !ref->name[0]) {
        snprintf (err, err_len, "the HPA has no scaleTargetRef");
        return NULL;
    }
    hs_kind_t kind = HS_KIND_NONE;
    if (hs_streq (ref->kind, "Deployment"))
        kind = HS_KIND_DEPLOYMENT;
    else if (hs_streq (ref->kind, "ReplicaSet"))
        kind = HS_KIND_REPLICASET;
    if (kind == HS_KIND_NONE) {
        snprintf (err, err_len, "no matches for kind \"%s\" in group \"apps\"", hs_s (ref->kind));
        return NULL;
    }
    const Hs__Object *o = hs_watch_get (self->watch, kind, ns, ref->name);
    if (!o) {
        snprintf (err, err_len, "%s.apps \"%s\" not found",
                  kind == HS_KIND_DEPLOYMENT ? "deployments" : "replicasets", ref->name);
        return NULL;
    }
    const Hs__Int32Value *rep;
    if (kind == HS_KIND_DEPLOYMENT) {
        rep = o->deployment->spec ? o->deployment->spec->replicas : NULL;
        *ret_sel = o->deployment->spec ? o->deployment->spec->selector : NULL;
    } else {
        rep = o->replica_set->spec ? o->replica_set->spec->replicas : NULL;
        *ret_sel = o->replica_set->spec ? o->replica_set->spec->selector : NULL;
    }
    *ret_replicas = rep ? rep->value : 1;
    return o;
}

/* The write /scale would make: the target as stored, spec.replicas changed. */
static Hs__Write *s_scale_write (const Hs__Object *target, int32_t replicas)
{
    Hs__Object *o = hs_pb_dup (target);
    /* Object's kinds are a oneof: ask which one it is */
    Hs__Int32Value **rep;
    if (o->kind_case == HS__OBJECT__KIND_DEPLOYMENT) {
        if (!o->deployment->spec)
            o->deployment->spec = hs_pb_new (&hs__deployment_spec__descriptor);
        rep = &o->deployment->spec->replicas;
    } else {
        if (!o->replica_set->spec)
            o->replica_set->spec = hs_pb_new (&hs__replica_set_spec__descriptor);
        rep = &o->replica_set->spec->replicas;
    }
    if (!*rep) *rep = hs_pb_new (&hs__int32_value__descriptor);
    (*rep)->value = replicas;
    Hs__Write *w = hs_write_new (HS__OP__OP_UPDATE, o);
    w->expected_revision = hs_obj_meta (target)->resource_version;
    hs_pb_set_str (&w->expected_uid, hs_obj_meta (target)->uid);
    return w;
}

/* A pass that stops before the calculation: condition which False with
 * reason and message, and a Warning Event (reason, ev_msg). */
static void s_fail (self_t *self, const Hs__HorizontalPodAutoscaler *hpa, const char *key,
                    const s_hpa_t *h, const as_spec_t *spec, int which, const char *reason,
                    const char *msg, const char *ev_msg)
{
    as_result_t r;
    memset (&r, 0, sizeof r);
    r.current = hpa->status ? hpa->status->current_replicas : 0;
    r.desired = hpa->status ? hpa->status->desired_replicas : 0;
    as_cond_t *c = &r.conds[which];
    c->set = true;
    c->status = "False";
    snprintf (c->reason, sizeof c->reason, "%s", reason);
    snprintf (c->message, sizeof c->message, "%s", msg);
    r.events[0].type = "Warning";
    snprintf (r.events[0].reason, sizeof r.events[0].reason, "%s", reason);
    snprintf (r.events[0].message, sizeof r.events[0].message, "%s", ev_msg);
    r.n_events = 1;
    s_finish (self, key, h->uid, spec, &r, false);
}

/* More metrics or policies than as_spec_t holds: refused with a message
 * rather than silently cut (hs_validate sets no such limit). */
static int s_spec_limits (const Hs__HorizontalPodAutoscalerSpec *in, char *err, size_t len)
{
    const Hs__HorizontalPodAutoscalerBehavior *b = in->behavior;
    if (in->n_metrics > AS_MAX_METRICS) {
        snprintf (err, len, "%zu metrics: hs-autoscaler reads at most %d", in->n_metrics,
                  AS_MAX_METRICS);
        return -1;
    }
    const Hs__HPAScalingRules *rules[] = {b ? b->scale_up : NULL, b ? b->scale_down : NULL};
    for (size_t i = 0; i < 2; i++)
        if (rules[i] && rules[i]->n_policies > AS_MAX_POLICIES) {
            snprintf (err, len, "%zu %s policies: hs-autoscaler reads at most %d",
                      rules[i]->n_policies, i == 0 ? "scaleUp" : "scaleDown", AS_MAX_POLICIES);
            return -1;
        }
    return 0;
}

/* One HPA's reconcile (kube's reconcileAutoscaler). */
static void s_reconcile (self_t *self, const Hs__Object *o, s_hpa_t *h, const Hs__Object **pods,
                         size_t n_pods, zhashx_t *usage)
{
    const Hs__HorizontalPodAutoscaler *hpa = o->horizontal_pod_autoscaler;
    _cleanup_free_ char *key = hs_sprintf ("%s/%s", hpa->metadata->namespace_, hpa->metadata->name);
    self->reconciles++;
    as_spec_t spec;
    s_spec (hpa->spec, &spec);
    int32_t current = 0;
    const Hs__LabelSelector *sel = NULL;
    char err[AS_MSG / 2];
    char msg[AS_MSG];
    if (s_spec_limits (hpa->spec, err, sizeof err) < 0) {
        snprintf (msg, sizeof msg, "the HPA was unable to compute the replica count: %s", err);
        s_fail (self, hpa, key, h, &spec, AS_COND_ACTIVE, "InvalidMetricSourceType", msg, err);
        return;
    }
    const Hs__Object *target = s_target_of (self, hpa, &current, &sel, err, sizeof err);
    if (!target) {
        /* kube: FailedGetScale, AbleToScale False */
        snprintf (msg, sizeof msg,
                  "the HPA controller was unable to get the target's current scale: %s", err);
        s_fail (self, hpa, key, h, &spec, AS_COND_ABLE, "FailedGetScale", msg, err);
        return;
    }
    /* the pods the target's selector matches, in the HPA's namespace */
    as_pod_t *ap = hs_calloc (n_pods ? n_pods : 1, sizeof *ap);
    as_container_t **cts = hs_calloc (n_pods ? n_pods : 1, sizeof *cts);
    size_t n = 0;
    for (size_t i = 0; sel && i < n_pods; i++) {
        const Hs__Pod *pod = pods[i]->pod;
        if (!hs_streq (pod->metadata->namespace_, hpa->metadata->namespace_)) continue;
        if (!hs_selector_matches_meta (sel, pod->metadata)) continue;
        size_t nc = pod->spec ? pod->spec->n_containers : 0;
        cts[n] = hs_calloc (nc ? nc : 1, sizeof **cts);
        s_pod (pod, usage, &ap[n], cts[n]);
        n++;
    }
    as_result_t r;
    as_reconcile (&spec, current, ap, n, &self->params.calc, hs_now_ns (), &h->history, &r);
    for (size_t i = 0; i < n; i++) free (cts[i]);
    free (cts);
    free (ap);
    if (!r.rescale) {
        s_finish (self, key, h->uid, &spec, &r, false);
        return;
    }
    s_ctx_t *c = hs_calloc (1, sizeof *c);
    c->self = self;
    c->key = hs_strdup (key);
    c->uid = hs_strdup (h->uid);
    c->spec = spec;
    c->result = r;
    Hs__Write *w = s_scale_write (target, r.desired);
    hs_call_opts_t opts = {.timeout_ms = CALL_TIMEOUT_MS, .free_arg = s_ctx_free};
    int rc = hs_client_send (self->client, &w, 1, &opts, s_on_scale_ack, c);
    hs_pb_free (w);
    if (rc < 0) {
        log_warn ("hpa %s: cannot send the scale: %s", key, strerror (-rc));
        s_ctx_free (c);
        return;
    }
    h->inflight = true;
}

/* ------------------------------------------------------------------ the pass */

static int64_t s_pass (void *arg, hs_ctrl_t *ctrl, int64_t now_mono)
{
    self_t *self = arg;
    if (!self->watch) self->watch = hs_ctrl_watch (ctrl);
    self->passes++;
    int64_t wake = INT64_MAX;
    const Hs__Object **hpas = NULL, **pods = NULL;
    size_t n_hpas = hs_watch_list (self->watch, HS_KIND_HPA, &hpas);
    size_t n_pods = hs_watch_list (self->watch, HS_KIND_POD, &pods);
    zhashx_t *usage = NULL;
    int64_t rev = hs_watch_revision (self->watch);
    self->owned = 0;
    self->total = n_hpas;
    for (s_hpa_t *h = zhashx_first (self->hpas); h; h = zhashx_next (self->hpas)) h->seen = false;
    for (size_t i = 0; i < n_hpas; i++) {
        const Hs__HorizontalPodAutoscaler *hpa = hpas[i]->horizontal_pod_autoscaler;
        const Hs__ObjectMeta *m = hpa->metadata;
        if (!hpa->spec) continue;
        _cleanup_free_ char *key = hs_sprintf ("%s/%s", m->namespace_, m->name);
        if (!hs_ctrl_owns (ctrl, key)) continue;
        self->owned++;
        s_hpa_t *h = zhashx_lookup (self->hpas, key);
        if (h && !hs_streq (h->uid, m->uid)) {
            zhashx_delete (self->hpas, key); /* deleted and created again */
            h = NULL;
        }
        if (!h) {
            h = hs_calloc (1, sizeof *h);
            h->uid = hs_strdup (m->uid);
            h->generation = -1;
            zhashx_insert (self->hpas, key, h);
        }
        h->seen = true;
        if (h->generation != m->generation) h->due = 0; /* a new spec: now */
        if (h->inflight || rev < h->barrier) continue;  /* the ack or the kick brings us back */
        if (now_mono < h->due) {
            if (h->due < wake) wake = h->due;
            continue;
        }
        if (!usage) usage = s_usage_index (self, now_mono);
        h->generation = m->generation;
        h->due = now_mono + self->params.sync_ms * MS;
        if (h->due < wake) wake = h->due;
        s_reconcile (self, hpas[i], h, pods, n_pods, usage);
    }
    /* forget HPAs that are gone (or no longer ours) once their write is answered */
    zlistx_t *gone = zlistx_new ();
    zlistx_set_duplicator (gone, (czmq_duplicator *)strdup);
    zlistx_set_destructor (gone, (czmq_destructor *)zstr_free);
    for (s_hpa_t *h = zhashx_first (self->hpas); h; h = zhashx_next (self->hpas))
        if (!h->seen && !h->inflight) zlistx_add_end (gone, (void *)zhashx_cursor (self->hpas));
    for (const char *k = zlistx_first (gone); k; k = zlistx_next (gone))
        zhashx_delete (self->hpas, k);
    zlistx_destroy (&gone);
    s_usage_index_destroy (&usage);
    free (hpas);
    free (pods);
    return wake;
}

/* ------------------------------------------------------------------ callbacks */

static void s_on_change (void *arg, Hs__EventType type, const Hs__Object *obj,
                         const Hs__Object *old)
{
    self_t *self = arg;
    (void)type;
    (void)old;
    /* a new or changed HPA is reconciled at once; the rest waits for the sync period */
    if (hs_obj_kind (obj) == HS_KIND_HPA) hs_ctrl_kick (self->ctrl);
}

static int s_start (void *arg, hs_ctrl_t *ctrl)
{
    self_t *self = arg;
    self->ctrl = ctrl;
    self->client = hs_ctrl_client (ctrl);
    int r = hs_client_on (self->client, "usage.", s_on_usage, self);
    if (r < 0) {
        log_error ("cannot subscribe to usage.: %s", strerror (-r));
        return 1;
    }
    log_info ("sync period %lld ms, tolerance %.2f, downscale stabilization %lld s",
              (long long)self->params.sync_ms, self->params.calc.tolerance,
              (long long)(self->params.calc.downscale_stabilization_ns / NS));
    return 0;
}

static size_t s_counters (void *arg, const char **names, uint64_t *values, size_t max)
{
    self_t *self = arg;
    const char *n[] = {"autoscaler_passes", "reconciles",       "rescales",      "scale_conflicts",
                       "scale_failed",      "status_writes",    "usage_samples", "usage_garbage",
                       "events_sent",       "events_suppressed"};
    uint64_t v[] = {self->passes,           self->reconciles,    self->rescales,
                    self->conflicts,        self->scale_failed,  self->status_writes,
                    self->usage_samples,    self->usage_garbage, self->events_sent,
                    self->events_suppressed};
    size_t k = 0;
    for (; k < HS_ARRAY_LEN (n) && k < max; k++) {
        names[k] = n[k];
        values[k] = v[k];
    }
    return k;
}

/* Values that go down are gauges: the nodes whose usage we hold, the HPAs. */
static size_t s_gauges (void *arg, const char **names, double *values, size_t max)
{
    self_t *self = arg;
    const char *n[] = {"usage_nodes", "hpas"};
    double v[] = {(double)zhashx_size (self->nodes), (double)zhashx_size (self->hpas)};
    size_t k = 0;
    for (; k < HS_ARRAY_LEN (n) && k < max; k++) {
        names[k] = n[k];
        values[k] = v[k];
    }
    return k;
}

/* The work_queue_length gauge: HPAs waiting for a write's answer or for the
 * cache to reach it. */
static size_t s_queue (void *arg)
{
    self_t *self = arg;
    size_t n = 0;
    int64_t rev = self->watch ? hs_watch_revision (self->watch) : 0;
    for (s_hpa_t *h = zhashx_first (self->hpas); h; h = zhashx_next (self->hpas))
        n += h->inflight || rev < h->barrier;
    return n;
}

static void s_share (void *arg, uint64_t *owned, uint64_t *total)
{
    self_t *self = arg;
    *owned = self->owned;
    *total = self->total;
}

/* ------------------------------------------------------------------ main */

/* A duration: "500ms", "15s", "5m", "1h" or a bare number of seconds, into
 * ns; -1 when it is not one (or is negative, or over a day). */
static int s_duration (const char *s, int64_t *ret_ns)
{
    char *end;
    errno = 0;
    double v = strtod (s, &end);
    if (errno || end == s || !(v >= 0)) return -1;
    double mult = NS;
    if (hs_streq (end, "ms"))
        mult = MS;
    else if (hs_streq (end, "m"))
        mult = 60.0 * NS;
    else if (hs_streq (end, "h"))
        mult = 3600.0 * NS;
    else if (*end && !hs_streq (end, "s"))
        return -1;
    double ns = v * mult;
    if (ns > 86400.0 * NS) return -1;
    *ret_ns = (int64_t)ns;
    return 0;
}

enum { F_SYNC = 0x4900, F_TOL, F_DOWN, F_CPUINIT, F_READY, F_STATUS };

static int s_flag (void *arg, int ch, const char *value)
{
    s_params_t *p = arg;
    if (ch == F_TOL) {
        char *end;
        double t = strtod (value, &end);
        if (end == value || *end || !(t >= 0) || t > 10) {
            fprintf (stderr, "hs-autoscaler: --tolerance: not a ratio between 0 and 10: %s\n",
                     value);
            return -1;
        }
        p->calc.tolerance = t;
        return 0;
    }
    int64_t ns;
    const char *flag = ch == F_SYNC      ? "sync-period"
                       : ch == F_DOWN    ? "downscale-stabilization"
                       : ch == F_CPUINIT ? "cpu-initialization-period"
                       : ch == F_STATUS  ? "status-interval"
                                         : "initial-readiness-delay";
    if (s_duration (value, &ns) < 0 || (ch == F_SYNC && ns < MS)) {
        fprintf (stderr, "hs-autoscaler: --%s: not a duration (500ms, 15s, 5m): %s\n", flag, value);
        return -1;
    }
    switch (ch) {
    case F_SYNC: p->sync_ms = ns / MS; break;
    case F_DOWN: p->calc.downscale_stabilization_ns = ns; break;
    case F_CPUINIT: p->calc.cpu_initialization_ns = ns; break;
    case F_STATUS: p->status_ms = ns / MS; break;
    default: p->calc.initial_readiness_delay_ns = ns; break;
    }
    return 0;
}

int main (int argc, char **argv)
{
    hs_log_init ("hs-autoscaler");
    self_t self = {.params = {.sync_ms = 1000, .status_ms = 15000, .calc = AS_PARAMS_DEFAULT}};
    hs_ctrl_opts_t o = {0};
    static const struct option longopts[] = {
        {"sync-period", required_argument, NULL, F_SYNC},
        {"tolerance", required_argument, NULL, F_TOL},
        {"downscale-stabilization", required_argument, NULL, F_DOWN},
        {"cpu-initialization-period", required_argument, NULL, F_CPUINIT},
        {"initial-readiness-delay", required_argument, NULL, F_READY},
        {"status-interval", required_argument, NULL, F_STATUS},
        {NULL, 0, NULL, 0},
    };
    int rc;
    if (!hs_ctrl_args (argc, argv, "hs-autoscaler", &o, longopts, NULL, s_flag, &self.params,
                       s_usage, &rc))
        return rc;
    self.nodes = zhashx_new ();
    zhashx_set_destructor (self.nodes, s_node_destroy);
    self.hpas = zhashx_new ();
    zhashx_set_destructor (self.hpas, s_hpa_destroy);

    static const hs_kind_t kinds[] = {HS_KIND_HPA, HS_KIND_DEPLOYMENT, HS_KIND_REPLICASET,
                                      HS_KIND_POD};
    hs_ctrl_ops_t ops = {.component = "hs-autoscaler",
                         .role = "autoscaler",
                         .kinds = kinds,
                         .n_kinds = HS_ARRAY_LEN (kinds),
                         .on_change = s_on_change,
                         .start = s_start,
                         .pass = s_pass,
                         .counters = s_counters,
                         .gauges = s_gauges,
                         .queue = s_queue,
                         .share = s_share,
                         .arg = &self};
    rc = hs_ctrl_run (&o, &ops);
    zhashx_destroy (&self.nodes);
    zhashx_destroy (&self.hpas);
    return rc;
}
