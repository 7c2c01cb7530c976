/*  jobs_sync.c: hs-jobs' decisions (jobs_sync.h). No bus, no clock. */
#include "jobs_sync.h"
#include "hs_util.h"
#include "hs_workload.h"

#include <czmq.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NS 1000000000LL
#define MS 1000000LL

static const char *const S_MSG_BACKOFF = "Job has reached the specified backoff limit";
static const char *const S_MSG_DEADLINE = "Job was active longer than specified deadline";

/* ------------------------------------------------------------------ pods */

const Hs__OwnerReference *jobs_pod_owner (const Hs__Pod *pod)
{
    const Hs__OwnerReference *r = hs_controller_ref (pod ? pod->metadata : NULL);
    if (!r || !hs_streq (r->kind, "Job") || hs_empty (r->uid) || hs_empty (r->name)) return NULL;
    return r;
}

int64_t jobs_pod_finish_time (const Hs__Pod *pod)
{
    const Hs__PodStatus *st = pod->status;
    int64_t latest = 0;
    bool all = st && st->n_container_statuses > 0;
    for (size_t i = 0; all && i < st->n_container_statuses; i++) {
        const Hs__ContainerStatus *cs = st->container_statuses[i];
        const Hs__ContainerStateTerminated *t = cs && cs->state ? cs->state->terminated : NULL;
        if (!t || t->finished_at == 0)
            all = false;
        else if (t->finished_at > latest)
            latest = t->finished_at;
    }
    if (all) return latest;
    const Hs__PodCondition *ready = hs_pod_condition (st, "Ready");
    if (ready && hs_streq (ready->status, "False") && ready->last_transition_time)
        return ready->last_transition_time;
    const Hs__ObjectMeta *m = pod->metadata;
    if (m && m->deletion_timestamp) {
        int64_t grace =
            m->deletion_grace_period_seconds ? m->deletion_grace_period_seconds->value : 0;
        return m->deletion_timestamp - grace * NS;
    }
    return m ? m->creation_timestamp : 0;
}

static bool s_phase (const Hs__Pod *pod, const char *phase)
{
    return pod->status && hs_streq (pod->status->phase, phase);
}

/* A failure that counts: the pod failed by itself. A pod being deleted
 * failed because we (suspend, too many) or someone else stopped it. */
static bool s_counts_failed (const Hs__Pod *pod)
{
    return s_phase (pod, "Failed") && !pod->metadata->deletion_timestamp;
}

int64_t jobs_backoff_until (const Hs__Pod *const *pods, size_t n, const jobs_params_t *p)
{
    int64_t base = p && p->backoff_base_ms > 0 ? p->backoff_base_ms : JOBS_BACKOFF_BASE_MS;
    int64_t max = p && p->backoff_max_ms > 0 ? p->backoff_max_ms : JOBS_BACKOFF_MAX_MS;
    int64_t last_success = 0, last_failure = 0;
    for (size_t i = 0; i < n; i++)
        if (pods[i]->metadata && s_phase (pods[i], "Succeeded")) {
            int64_t t = jobs_pod_finish_time (pods[i]);
            if (t > last_success) last_success = t;
        }
    int failures = 0;
    for (size_t i = 0; i < n; i++) {
        if (!pods[i]->metadata || !s_counts_failed (pods[i])) continue;
        int64_t t = jobs_pod_finish_time (pods[i]);
        if (t <= last_success) continue;
        failures++;
        if (t > last_failure) last_failure = t;
    }
    if (failures == 0) return 0;
    int64_t d = base;
    for (int i = 1; i < failures; i++) {
        d *= 2;
        if (d >= max) break;
    }
    if (d > max) d = max;
    return last_failure + d * MS;
}

static int s_phase_rank (const Hs__Pod *p)
{
    if (s_phase (p, "Pending")) return 0;
    if (s_phase (p, "Unknown")) return 1;
    return 2;
}

static int32_t s_restarts (const Hs__Pod *p)
{
    int32_t r = 0;
    for (size_t i = 0; p->status && i < p->status->n_container_statuses; i++)
        if (p->status->container_statuses[i]) r += p->status->container_statuses[i]->restart_count;
    return r;
}

/* Which active pods go first when there are too many (kube's ActivePods
 * order): unbound before bound, Pending before Running, not ready before
 * ready, more restarts first, newer first. */
static int s_removal_order (const void *a, const void *b)
{
    const Hs__Pod *x = *(const Hs__Pod *const *)a, *y = *(const Hs__Pod *const *)b;
    bool xb = x->spec && !hs_empty (x->spec->node_name);
    bool yb = y->spec && !hs_empty (y->spec->node_name);
    if (xb != yb) return xb ? 1 : -1;
    int xr = s_phase_rank (x), yr = s_phase_rank (y);
    if (xr != yr) return xr < yr ? -1 : 1;
    bool xready = hs_pod_ready (x), yready = hs_pod_ready (y);
    if (xready != yready) return xready ? 1 : -1;
    int32_t xs = s_restarts (x), ys = s_restarts (y);
    if (xs != ys) return xs > ys ? -1 : 1;
    int64_t xc = x->metadata->creation_timestamp, yc = y->metadata->creation_timestamp;
    if (xc != yc) return xc > yc ? -1 : 1;
    return strcmp (x->metadata->name, y->metadata->name);
}

/* ------------------------------------------------------------------ conditions */

static Hs__JobCondition *s_cond (const Hs__JobStatus *st, const char *type)
{
    for (size_t i = 0; st && i < st->n_conditions; i++)
        if (st->conditions[i] && hs_streq (st->conditions[i]->type, type)) return st->conditions[i];
    return NULL;
}

const Hs__JobCondition *jobs_finished (const Hs__Job *job)
{
    const Hs__JobStatus *st = job ? job->status : NULL;
    const Hs__JobCondition *c = s_cond (st, "Complete");
    if (c && hs_streq (c->status, "True")) return c;
    c = s_cond (st, "Failed");
    if (c && hs_streq (c->status, "True")) return c;
    return NULL;
}

/* Kube's ensureJobConditionStatus: sets the condition of that type, adding
 * it unless the status is False (nothing to False says nothing). True if the
 * list changed. */
static bool s_cond_set (Hs__JobStatus *st, const char *type, const char *status, const char *reason,
                        const char *message, int64_t now)
{
    Hs__JobCondition *c = s_cond (st, type);
    if (c && hs_streq (c->status, status) && hs_streq (c->reason, reason) &&
        hs_streq (c->message, message))
        return false;
    if (!c) {
        if (hs_streq (status, "False")) return false;
        c = hs_pb_new (&hs__job_condition__descriptor);
        hs_pb_set_str (&c->type, type);
        hs_pb_push ((void ***)&st->conditions, &st->n_conditions, c);
    }
    hs_pb_set_str (&c->status, status);
    hs_pb_set_str (&c->reason, reason);
    hs_pb_set_str (&c->message, message);
    c->last_probe_time = now;
    c->last_transition_time = now;
    return true;
}

static void s_event (jobs_plan_t *plan, const char *type, const char *reason, const char *message)
{
    if (plan->n_events >= HS_ARRAY_LEN (plan->events)) return;
    plan->events[plan->n_events++] = (jobs_event_t){type, reason, message};
}

static void s_wake (jobs_plan_t *plan, int64_t at)
{
    if (at > 0 && (plan->wake_ns == 0 || at < plan->wake_ns)) plan->wake_ns = at;
}

/* ------------------------------------------------------------------ the pass */

void jobs_plan_clear (jobs_plan_t *plan)
{
    if (!plan) return;
    free (plan->del);
    hs_pb_free (plan->status);
    memset (plan, 0, sizeof *plan);
}

int jobs_sync (const Hs__Job *job, const Hs__Pod *const *pods, size_t n, int64_t now,
               const jobs_params_t *pp, jobs_plan_t *ret)
{
    memset (ret, 0, sizeof *ret);
    if (!job || !job->metadata || !job->spec) return -EINVAL;
    jobs_params_t p = {JOBS_BACKOFF_BASE_MS, JOBS_BACKOFF_MAX_MS, JOBS_MAX_PER_PASS};
    if (pp && pp->backoff_base_ms > 0) p.backoff_base_ms = pp->backoff_base_ms;
    if (pp && pp->backoff_max_ms > 0) p.backoff_max_ms = pp->backoff_max_ms;
    if (pp && pp->max_per_pass > 0) p.max_per_pass = pp->max_per_pass;
    const Hs__JobSpec *s = job->spec;
    Hs__JobStatus *st =
        job->status ? hs_pb_dup (job->status) : hs_pb_new (&hs__job_status__descriptor);
    ret->del = hs_calloc (n + 1, sizeof *ret->del);

    /* What the pods say. */
    const Hs__Pod **active = hs_calloc (n + 1, sizeof *active);
    int32_t n_active = 0, n_terminating = 0, n_succeeded = 0, n_failed = 0, restarts = 0;
    for (size_t i = 0; i < n; i++) {
        const Hs__Pod *pod = pods[i];
        if (!pod || !pod->metadata) continue;
        if (hs_pod_terminal (pod)) {
            if (s_phase (pod, "Succeeded"))
                n_succeeded++;
            else if (s_counts_failed (pod))
                n_failed++;
            continue;
        }
        restarts += s_restarts (pod);
        if (pod->metadata->deletion_timestamp)
            n_terminating++;
        else
            active[n_active++] = pod;
    }
    qsort (active, (size_t)n_active, sizeof *active, s_removal_order);
    int32_t n_ready = 0;
    for (int32_t i = 0; i < n_active; i++) n_ready += hs_pod_ready (active[i]);

    const Hs__JobCondition *fin = jobs_finished (job);
    if (fin) {
        /* A finished Job runs nothing: anything still active goes (a pod
         * another instance created meanwhile, a delete that failed). The
         * counts stay what they were when it finished. */
        for (int32_t i = 0; i < n_active && (int32_t)ret->n_del < p.max_per_pass; i++)
            ret->del[ret->n_del++] = active[i];
        st->active = 0;
        st->ready = 0;
        const Hs__Int32Value *ttl = s->ttl_seconds_after_finished;
        if (ttl) {
            int64_t t0 = fin->last_transition_time ? fin->last_transition_time
                         : st->completion_time     ? st->completion_time
                                                   : now;
            int64_t at = t0 + (int64_t)ttl->value * NS;
            if (now >= at)
                ret->delete_job = true;
            else
                s_wake (ret, at);
        }
        goto out;
    }

    int32_t succeeded = st->succeeded > n_succeeded ? st->succeeded : n_succeeded;
    int32_t failed = st->failed > n_failed ? st->failed : n_failed;
    bool suspended = s->suspend;
    if (!st->start_time && !suspended) st->start_time = now;

    /* Failed? */
    int32_t limit = s->backoff_limit ? s->backoff_limit->value : 6;
    bool on_failure = s->template_ && s->template_->spec &&
                      hs_streq (s->template_->spec->restart_policy, "OnFailure");
    const char *reason = NULL, *message = NULL;
    int64_t deadline = 0;
    if (s->active_deadline_seconds && st->start_time && !suspended)
        deadline = st->start_time + s->active_deadline_seconds->value * NS;
    if (failed > limit || (on_failure && (limit == 0 ? restarts > 0 : restarts >= limit))) {
        reason = "BackoffLimitExceeded";
        message = S_MSG_BACKOFF;
    } else if (deadline && now >= deadline) {
        reason = "DeadlineExceeded";
        message = S_MSG_DEADLINE;
    }
    if (reason) {
        /* Every pod not finished by itself counts as failed (kube). */
        for (int32_t i = 0; i < n_active; i++) ret->del[ret->n_del++] = active[i];
        failed += n_active + n_terminating;
        s_cond_set (st, "Failed", "True", reason, message, now);
        s_event (ret, "Warning", reason, message);
        st->active = 0;
        st->ready = 0;
        st->succeeded = succeeded;
        st->failed = failed;
        goto out;
    }

    int32_t parallelism = s->parallelism ? s->parallelism->value : 1;
    int32_t keep = n_active, ready = n_ready;
    if (suspended) {
        for (int32_t i = 0; i < n_active && (int32_t)ret->n_del < p.max_per_pass; i++) {
            ret->del[ret->n_del++] = active[i];
            keep--;
            ready -= hs_pod_ready (active[i]);
        }
        if (s_cond_set (st, "Suspended", "True", "JobSuspended", "Job suspended", now))
            s_event (ret, "Normal", "Suspended", "Job suspended");
    } else {
        if (s_cond_set (st, "Suspended", "False", "JobResumed", "Job resumed", now)) {
            s_event (ret, "Normal", "Resumed", "Job resumed");
            /* activeDeadlineSeconds counts continuous activity */
            st->start_time = now;
            if (s->active_deadline_seconds) deadline = now + s->active_deadline_seconds->value * NS;
        }
        s_wake (ret, deadline);
        int32_t want;
        if (s->completions) {
            want = s->completions->value - succeeded;
            if (want > parallelism) want = parallelism;
            if (want < 0) want = 0;
        } else {
            /* a work queue: after the first success, only let the rest finish */
            want = succeeded > 0 ? n_active : parallelism;
        }
        if (n_active > want) {
            for (int32_t i = 0; i < n_active - want && (int32_t)ret->n_del < p.max_per_pass; i++) {
                ret->del[ret->n_del++] = active[i];
                keep--;
                ready -= hs_pod_ready (active[i]);
            }
        } else {
            /* a pod being deleted holds its slot until it is gone */
            int32_t diff = want - n_active - n_terminating;
            if (diff > 0) {
                int64_t until = jobs_backoff_until (pods, n, &p);
                if (until > now) {
                    s_wake (ret, until);
                } else {
                    ret->create = diff < p.max_per_pass ? diff : p.max_per_pass;
                    keep += ret->create;
                }
            }
        }
    }
    bool complete = s->completions ? succeeded >= s->completions->value && keep == 0
                                   : succeeded > 0 && keep == 0;
    if (complete) {
        s_cond_set (st, "Complete", "True", "CompletionsReached",
                    "Reached expected number of succeeded pods", now);
        st->completion_time = now;
        s_event (ret, "Normal", "Completed", "Job completed");
        ret->wake_ns = 0;
    }
    st->active = keep;
    st->ready = ready;
    st->succeeded = succeeded;
    st->failed = failed;

out:
    free (active);
    Hs__JobStatus empty = HS__JOB_STATUS__INIT;
    if (hs_pb_equal (st, job->status ? job->status : &empty))
        hs_pb_free (st);
    else
        ret->status = st;
    return 0;
}

/* ------------------------------------------------------------------ orphans */

typedef struct {
    int64_t first_mono; /* the pass that first saw the owner missing */
    bool seen;          /* reported in the current pass */
} s_orphan_t;

struct jobs_gc_t {
    zhashx_t *pods; /* pod uid -> s_orphan_t */
};

static void s_orphan_free (void **item)
{
    free (*item);
    *item = NULL;
}

jobs_gc_t *jobs_gc_new (void)
{
    jobs_gc_t *self = hs_calloc (1, sizeof *self);
    self->pods = zhashx_new ();
    zhashx_set_destructor (self->pods, s_orphan_free);
    return self;
}

void jobs_gc_destroy (jobs_gc_t **self_p)
{
    if (!self_p || !*self_p) return;
    zhashx_destroy (&(*self_p)->pods);
    free (*self_p);
    *self_p = NULL;
}

bool jobs_gc_orphan (jobs_gc_t *self, const Hs__Pod *pod, int64_t now_wall, int64_t now_mono,
                     int64_t *ret_wake)
{
    *ret_wake = INT64_MAX;
    if (!pod || !pod->metadata || hs_empty (pod->metadata->uid)) return false;
    s_orphan_t *o = zhashx_lookup (self->pods, pod->metadata->uid);
    if (!o) {
        o = hs_calloc (1, sizeof *o);
        o->first_mono = now_mono;
        zhashx_insert (self->pods, pod->metadata->uid, o);
    }
    o->seen = true;
    int64_t old_at = pod->metadata->creation_timestamp + JOBS_GC_MIN_AGE_NS;
    int64_t confirm_at = o->first_mono + JOBS_GC_CONFIRM_NS;
    bool old_enough = now_wall >= old_at, confirmed = now_mono >= confirm_at;
    if (old_enough && confirmed) return true;
    /* both must hold: the later of the two */
    int64_t wake = 0;
    if (!old_enough) wake = now_mono + (old_at - now_wall);
    if (!confirmed && confirm_at > wake) wake = confirm_at;
    *ret_wake = wake;
    return false;
}

void jobs_gc_end_pass (jobs_gc_t *self)
{
    zlistx_t *gone = zlistx_new ();
    zlistx_set_duplicator (gone, (czmq_duplicator *)strdup);
    zlistx_set_destructor (gone, (czmq_destructor *)zstr_free);
    for (s_orphan_t *o = zhashx_first (self->pods); o; o = zhashx_next (self->pods)) {
        if (!o->seen) zlistx_add_end (gone, (void *)zhashx_cursor (self->pods));
        o->seen = false;
    }
    for (const char *k = zlistx_first (gone); k; k = zlistx_next (gone))
        zhashx_delete (self->pods, k);
    zlistx_destroy (&gone);
}

size_t jobs_gc_size (jobs_gc_t *self)
{
    return zhashx_size (self->pods);
}
