/*  jobs_main.c: hs-jobs' wiring (docs/architecture.md §14): flags, the controller loop
 *  (hs_ctrl), expectations, and the writes jobs_sync.c decides.
 *
 *  One watch on Jobs and Pods. The watch callback only kicks a pass when a
 *  Job or a pod controlled by a Job changed; a pass re-derives everything
 *  from the cache:
 *
 *    - each Job this instance owns (rendezvous hashing of "ns/name") whose
 *      expectations are met goes through jobs_sync with the pods whose
 *      controller reference names its uid, and the plan is written: pod
 *      creates (from the template, generateName "<job>-", a controller
 *      reference), pod deletes (with the pod's uid as precondition), the
 *      status (OP_UPDATE_STATUS with the revision we saw; Events once it is
 *      written), the Job's delete when its TTL is over;
 *    - expectations: after writing for a Job we do not look at it again
 *      until every write is acked and the cache has reached the highest
 *      revision the acks named. So a pass never counts pods from before its
 *      own creates or deletes, and there are never more active pods than
 *      parallelism. A write that timed out may still have been applied: the
 *      Job then waits for an hb.store sent after the timeout and for the
 *      cache to reach that heartbeat's revision. A new instance starts from
 *      a snapshot (everything committed) and waits one member timeout
 *      (hs_ctrl) before acting, so a predecessor's last writes are seen;
 *    - a refused create or delete pauses the Job 100 ms, doubling to 10 s
 *      while they keep being refused (kube's rate-limited requeue), so a
 *      template the store will not take does not spin;
 *    - garbage collection: a pod whose controller Job (by namespace, name and
 *      uid) is not in the cache is deleted by the instance that owns the
 *      pod's key, once it is 2 s old and the owner was missing in two passes
 *      1 s apart (jobs_gc), so a cache that lags never costs a live pod.
 */
#include "jobs_sync.h"
#include "hs_client.h"
#include "hs_ctrl.h"
#include "hs_log.h"
#include "hs_util.h"
#include "hs_workload.h"

#include <czmq.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#define MS              1000000LL
#define CALL_TIMEOUT_MS 10000
#define SETTLE_POLL_NS  (50 * MS) /* a Job waiting for the cache looks again this often */
#define HOLD_MIN_MS     100       /* after a refused create or delete, doubling ... */
#define HOLD_MAX_MS     10000     /* ... to this */

/* What we remember about a Job between passes: its expectations. */
typedef struct {
    char *uid;
    int inflight;        /* writes sent and not yet answered */
    int64_t barrier;     /* the cache must have reached this revision */
    int64_t await_since; /* monotonic: a write timed out; wait for an hb.store after it */
    int64_t hold_until;  /* monotonic: a create or delete failed; no writes before */
    int64_t hold_ms;     /* that pause, doubling while they keep failing */
    bool seen;           /* in the cache at the last pass */
} s_job_t;

typedef enum { S_CREATE, S_DELETE_POD, S_STATUS, S_DELETE_JOB, S_GC } s_op_t;

struct self_t;

/* A write we wait for: freed by its callback, or by the client at exit
 * when the callback never runs (hs_call_opts_t.free_arg). */
typedef struct s_ctx_t {
    struct self_t *self;
    s_op_t op;
    char *key;             /* the Job's "ns/name" (NULL for S_GC) */
    char *ns, *name, *uid; /* the Job */
    char *pod, *pod_uid;   /* the pod deleted */
    jobs_event_t events[3];
    size_t n_events;
} s_ctx_t;

typedef struct self_t {
    hs_ctrl_t *ctrl;
    hs_client_t *client;
    hs_watch_t *watch;
    jobs_params_t params;
    zhashx_t *jobs;        /* "ns/name" -> s_job_t */
    zhashx_t *gc_inflight; /* pod uid -> pod uid: deletes sent */
    jobs_gc_t *gc;
    int64_t hb_mono, hb_rev; /* the last hb.store: when, and its revision */
    uint64_t owned, total;
    uint64_t created, deleted, create_failed, status_writes, conflicts, completed, failed,
        ttl_deleted, gc_deleted;
} self_t;

static void s_usage (FILE *f)
{
    fprintf (f, "usage: hs-jobs [--backoff-base-ms MS] [--backoff-max-ms MS] [controller flags]\n"
                "  --backoff-base-ms MS    delay before a new pod after the first failure;\n"
                "                          doubles per failure since the last success (default "
                "10000)\n"
                "  --backoff-max-ms MS     the cap of that delay (default 360000)\n");
    hs_ctrl_usage (f);
}

static char *s_key (const char *ns, const char *name)
{
    return hs_sprintf ("%s/%s", hs_s (ns), hs_s (name));
}

/* ------------------------------------------------------------------ state */

static void s_job_destroy (void **item)
{
    s_job_t *j = *item;
    if (!j) return;
    free (j->uid);
    free (j);
    *item = NULL;
}

static void s_str_destroy (void **item)
{
    free (*item);
    *item = NULL;
}

static s_ctx_t *s_ctx_new (self_t *self, s_op_t op, const Hs__ObjectMeta *job)
{
    s_ctx_t *c = hs_calloc (1, sizeof *c);
    c->self = self;
    c->op = op;
    if (job) {
        c->key = s_key (job->namespace_, job->name);
        c->ns = hs_strdup (job->namespace_);
        c->name = hs_strdup (job->name);
        c->uid = hs_strdup (job->uid);
    }
    return c;
}

/* Also the calls' free_arg. */
static void s_ctx_free (void *arg)
{
    s_ctx_t *c = arg;
    free (c->key);
    free (c->ns);
    free (c->name);
    free (c->uid);
    free (c->pod);
    free (c->pod_uid);
    free (c);
}

/* An Event about the Job a write was for. */
__attribute__ ((format (printf, 5, 0))) static void s_job_event (self_t *self, const s_ctx_t *c,
                                                                 const char *type,
                                                                 const char *reason,
                                                                 const char *fmt, const char *arg)
{
    Hs__Object *o = hs_obj_new (HS_KIND_JOB, c->ns, c->name);
    hs_pb_set_str (&hs_obj_meta (o)->uid, c->uid);
    _cleanup_free_ char *msg = hs_sprintf (fmt, hs_s (arg));
    hs_ctrl_event (self->ctrl, o, type, reason, "%s", msg);
    hs_pb_free (o);
}

/* ------------------------------------------------------------------ writes */

static void s_on_ack (void *arg, int err, const Hs__Ack *ack)
{
    s_ctx_t *c = arg;
    self_t *self = c->self;
    s_job_t *j = c->key ? zhashx_lookup (self->jobs, c->key) : NULL;
    if (j && !hs_streq (j->uid, c->uid)) j = NULL; /* a namesake created since */
    if (j) {
        if (j->inflight > 0) j->inflight--;
        if (err)
            j->await_since = hs_mono_ns ();
        else if (ack->revision > j->barrier)
            j->barrier = ack->revision;
    }
    bool ok = err == 0 && ack->code == HS__CODE__CODE_OK;
    bool gone = err == 0 && ack->code == HS__CODE__CODE_NOT_FOUND;
    const char *why = err ? strerror (-err) : ack->message;
    if (j && (c->op == S_CREATE || c->op == S_DELETE_POD)) {
        /* A refused write would be refused again at once: the Job pauses,
         * like kube's rate-limited requeue. */
        if (ok) {
            j->hold_ms = 0;
        } else if (!gone) {
            j->hold_ms = j->hold_ms ? j->hold_ms * 2 : HOLD_MIN_MS;
            if (j->hold_ms > HOLD_MAX_MS) j->hold_ms = HOLD_MAX_MS;
            j->hold_until = hs_mono_ns () + j->hold_ms * MS;
        }
    }
    switch (c->op) {
    case S_CREATE:
        if (ok) {
            self->created++;
            const char *pod = ack->n_results > 0 ? ack->results[0]->name : "";
            log_debug ("job %s: created pod %s", c->key, pod);
            s_job_event (self, c, "Normal", "SuccessfulCreate", "Created pod: %s", pod);
        } else {
            self->create_failed++;
            hs_log_once (HS_LOG_WARN, "jobs:create", "job %s: cannot create a pod: %s", c->key,
                         why);
            s_job_event (self, c, "Warning", "FailedCreate", "Error creating: %s", why);
        }
        break;
    case S_DELETE_POD:
        if (ok) {
            self->deleted++;
            log_debug ("job %s: deleted pod %s", c->key, c->pod);
            s_job_event (self, c, "Normal", "SuccessfulDelete", "Deleted pod: %s", c->pod);
        } else if (!gone) {
            hs_log_once (HS_LOG_WARN, "jobs:delete", "job %s: cannot delete pod %s: %s", c->key,
                         c->pod, why);
            s_job_event (self, c, "Warning", "FailedDelete", "Error deleting: %s", why);
        }
        break;
    case S_STATUS:
        if (ok) {
            self->status_writes++;
            for (size_t i = 0; i < c->n_events; i++) {
                const jobs_event_t *e = &c->events[i];
                s_job_event (self, c, e->type, e->reason, "%s", e->message);
                if (hs_streq (e->reason, "Completed")) {
                    self->completed++;
                    log_info ("job %s completed", c->key);
                } else if (hs_streq (e->type, "Warning")) {
                    self->failed++;
                    log_info ("job %s failed: %s (%s)", c->key, e->reason, e->message);
                }
            }
        } else {
            /* Conflict: the Job changed meanwhile; the next pass sees it. */
            self->conflicts++;
            log_debug ("job %s: status not written: %s", c->key, why);
        }
        break;
    case S_DELETE_JOB:
        if (ok) {
            self->ttl_deleted++;
            log_info ("job %s deleted: ttlSecondsAfterFinished is over", c->key);
        } else if (!gone) {
            hs_log_once (HS_LOG_WARN, "jobs:ttl", "cannot delete job %s: %s", c->key, why);
        }
        break;
    case S_GC:
        zhashx_delete (self->gc_inflight, c->pod_uid);
        if (ok) {
            self->gc_deleted++;
            log_info ("deleted pod %s: its job is gone", c->pod);
        } else if (!gone) {
            hs_log_once (HS_LOG_WARN, "jobs:gc", "cannot delete orphan pod %s: %s", c->pod, why);
        }
        break;
    }
    hs_ctrl_kick (self->ctrl);
    s_ctx_free (c);
}

/* Sends one write (taken) for ctx; false (ctx freed) if it could not go. */
static bool s_send (self_t *self, Hs__Write *w, s_ctx_t *c, s_job_t *j)
{
    hs_call_opts_t opts = {.timeout_ms = CALL_TIMEOUT_MS, .free_arg = s_ctx_free};
    int r = hs_client_send (self->client, &w, 1, &opts, s_on_ack, c);
    hs_pb_free (w);
    if (r < 0) {
        hs_log_once (HS_LOG_WARN, "jobs:send", "cannot send a write: %s (not logged again)",
                     strerror (-r));
        s_ctx_free (c);
        return false;
    }
    if (j) j->inflight++;
    return true;
}

static void s_write_plan (self_t *self, const Hs__Object *jo, s_job_t *j, jobs_plan_t *plan)
{
    const Hs__Job *job = jo->job;
    const Hs__ObjectMeta *m = job->metadata;
    _cleanup_free_ char *gen = hs_sprintf ("%s-", m->name);
    if (plan->create > 0)
        log_debug ("job %s/%s: creating %d pod(s)", m->namespace_, m->name, plan->create);
    for (int32_t i = 0; i < plan->create; i++) {
        Hs__Object *pod = hs_pod_from_template (job->spec->template_, m->namespace_, gen, jo);
        s_send (self, hs_write_new (HS__OP__OP_CREATE, pod), s_ctx_new (self, S_CREATE, m), j);
    }
    for (size_t i = 0; i < plan->n_del; i++) {
        const Hs__ObjectMeta *pm = plan->del[i]->metadata;
        Hs__Write *w = hs_write_target (HS__OP__OP_DELETE, HS_KIND_POD, pm->namespace_, pm->name);
        hs_pb_set_str (&w->expected_uid, pm->uid);
        s_ctx_t *c = s_ctx_new (self, S_DELETE_POD, m);
        c->pod = hs_strdup (pm->name);
        s_send (self, w, c, j);
    }
    if (plan->status) {
        Hs__Object *o = hs_obj_new (HS_KIND_JOB, m->namespace_, m->name);
        o->job->status = TAKE_PTR (plan->status);
        Hs__Write *w = hs_write_new (HS__OP__OP_UPDATE_STATUS, o);
        w->expected_revision = m->resource_version;
        hs_pb_set_str (&w->expected_uid, m->uid);
        s_ctx_t *c = s_ctx_new (self, S_STATUS, m);
        memcpy (c->events, plan->events, sizeof c->events);
        c->n_events = plan->n_events;
        s_send (self, w, c, j);
    }
    if (plan->delete_job) {
        Hs__Write *w = hs_write_target (HS__OP__OP_DELETE, HS_KIND_JOB, m->namespace_, m->name);
        hs_pb_set_str (&w->expected_uid, m->uid);
        s_send (self, w, s_ctx_new (self, S_DELETE_JOB, m), j);
    }
}

/* ------------------------------------------------------------------ the pass */

/* Have the Job's earlier writes reached the cache? If not, *wake may move
 * to when to look again (an ack kicks a pass by itself). */
static bool s_settled (self_t *self, s_job_t *j, int64_t now_mono, int64_t *wake)
{
    if (j->inflight > 0) return false;
    if (j->hold_until > now_mono) {
        if (j->hold_until < *wake) *wake = j->hold_until;
        return false;
    }
    if (j->await_since) {
        if (self->hb_mono <= j->await_since) {
            if (now_mono + SETTLE_POLL_NS < *wake) *wake = now_mono + SETTLE_POLL_NS;
            return false;
        }
        if (self->hb_rev > j->barrier) j->barrier = self->hb_rev;
        j->await_since = 0;
    }
    if (hs_watch_revision (self->watch) < j->barrier) {
        if (now_mono + SETTLE_POLL_NS < *wake) *wake = now_mono + SETTLE_POLL_NS;
        return false;
    }
    return true;
}

typedef struct {
    const Hs__Pod **v;
    size_t n, cap;
} s_pods_t;

static void s_pods_destroy (void **item)
{
    s_pods_t *p = *item;
    if (!p) return;
    free (p->v);
    free (p);
    *item = NULL;
}

static void s_gc_pod (self_t *self, const Hs__Pod *pod, int64_t now, int64_t now_mono,
                      int64_t *wake)
{
    const Hs__ObjectMeta *pm = pod->metadata;
    if (pm->deletion_timestamp || zhashx_lookup (self->gc_inflight, pm->uid)) return;
    _cleanup_free_ char *pkey = s_key (pm->namespace_, pm->name);
    if (!hs_ctrl_owns (self->ctrl, pkey)) return;
    int64_t at;
    if (!jobs_gc_orphan (self->gc, pod, now, now_mono, &at)) {
        if (at < *wake) *wake = at;
        return;
    }
    Hs__Write *w = hs_write_target (HS__OP__OP_DELETE, HS_KIND_POD, pm->namespace_, pm->name);
    hs_pb_set_str (&w->expected_uid, pm->uid);
    s_ctx_t *c = s_ctx_new (self, S_GC, NULL);
    c->pod = hs_strdup (pkey);
    c->pod_uid = hs_strdup (pm->uid);
    zhashx_insert (self->gc_inflight, pm->uid, hs_strdup (pm->uid));
    if (!s_send (self, w, c, NULL)) zhashx_delete (self->gc_inflight, pm->uid);
}

static int64_t s_pass (void *arg, hs_ctrl_t *ctrl, int64_t now_mono)
{
    self_t *self = arg;
    (void)ctrl;
    int64_t now = hs_now_ns ();
    int64_t wake = INT64_MAX;

    /* The pods of each Job in the cache, by the Job's uid; orphans go. */
    zhashx_t *by_uid = zhashx_new ();
    zhashx_set_destructor (by_uid, s_pods_destroy);
    const Hs__Object **pods = NULL;
    size_t np = hs_watch_list (self->watch, HS_KIND_POD, &pods);
    for (size_t i = 0; i < np; i++) {
        const Hs__Pod *pod = pods[i]->pod;
        const Hs__OwnerReference *r = jobs_pod_owner (pod);
        if (!r) continue;
        const Hs__Object *jo =
            hs_watch_get (self->watch, HS_KIND_JOB, pod->metadata->namespace_, r->name);
        if (!jo || !jo->job->metadata || !hs_streq (jo->job->metadata->uid, r->uid)) {
            s_gc_pod (self, pod, now, now_mono, &wake);
            continue;
        }
        s_pods_t *l = zhashx_lookup (by_uid, r->uid);
        if (!l) {
            l = hs_calloc (1, sizeof *l);
            zhashx_insert (by_uid, r->uid, l);
        }
        if (l->n == l->cap) {
            l->cap = l->cap ? l->cap * 2 : 8;
            l->v = hs_realloc (l->v, l->cap * sizeof *l->v);
        }
        l->v[l->n++] = pod;
    }
    jobs_gc_end_pass (self->gc);

    const Hs__Object **jobs = NULL;
    size_t nj = hs_watch_list (self->watch, HS_KIND_JOB, &jobs);
    for (s_job_t *j = zhashx_first (self->jobs); j; j = zhashx_next (self->jobs)) j->seen = false;
    self->total = nj;
    self->owned = 0;
    for (size_t i = 0; i < nj; i++) {
        const Hs__Job *job = jobs[i]->job;
        const Hs__ObjectMeta *m = job->metadata;
        if (!m || !job->spec) continue;
        _cleanup_free_ char *key = s_key (m->namespace_, m->name);
        if (!hs_ctrl_owns (self->ctrl, key)) continue;
        self->owned++;
        s_job_t *j = zhashx_lookup (self->jobs, key);
        if (j && !hs_streq (j->uid, m->uid)) {
            zhashx_delete (self->jobs, key); /* deleted and created again */
            j = NULL;
        }
        if (!j) {
            j = hs_calloc (1, sizeof *j);
            j->uid = hs_strdup (m->uid);
            /* New to this instance: maybe another one owned it a moment
             * ago and its last creates are not in our cache yet. Wait for
             * an hb.store sent after now and the cache to reach its
             * revision, so parallelism holds across a takeover too. */
            j->await_since = now_mono;
            zhashx_insert (self->jobs, key, j);
        }
        j->seen = true;
        if (!s_settled (self, j, now_mono, &wake)) continue;
        s_pods_t *l = zhashx_lookup (by_uid, m->uid);
        jobs_plan_t plan;
        if (jobs_sync (job, l ? (const Hs__Pod *const *)l->v : NULL, l ? l->n : 0, now,
                       &self->params, &plan) < 0)
            continue;
        s_write_plan (self, jobs[i], j, &plan);
        if (plan.wake_ns) {
            int64_t at = now_mono + (plan.wake_ns - now);
            if (at < now_mono + MS) at = now_mono + MS;
            if (at < wake) wake = at;
        }
        jobs_plan_clear (&plan);
    }
    /* forget Jobs that are gone (or no longer ours) once their writes are answered */
    zlistx_t *gone = zlistx_new ();
    zlistx_set_duplicator (gone, (czmq_duplicator *)strdup);
    zlistx_set_destructor (gone, (czmq_destructor *)zstr_free);
    for (s_job_t *j = zhashx_first (self->jobs); j; j = zhashx_next (self->jobs))
        if (!j->seen && j->inflight == 0) zlistx_add_end (gone, (void *)zhashx_cursor (self->jobs));
    for (const char *k = zlistx_first (gone); k; k = zlistx_next (gone))
        zhashx_delete (self->jobs, k);
    zlistx_destroy (&gone);

    free (jobs);
    free (pods);
    zhashx_destroy (&by_uid);
    return wake;
}

/* ------------------------------------------------------------------ callbacks */

static void s_on_change (void *arg, Hs__EventType type, const Hs__Object *obj,
                         const Hs__Object *old)
{
    self_t *self = arg;
    (void)type;
    switch (hs_obj_kind (obj)) {
    case HS_KIND_JOB: hs_ctrl_kick (self->ctrl); break;
    case HS_KIND_POD:
        if (jobs_pod_owner (obj->pod) || (old && jobs_pod_owner (old->pod)))
            hs_ctrl_kick (self->ctrl);
        break;
    default: break;
    }
}

static void s_on_store_hb (void *arg, const char *topic, const Hs__Envelope *env)
{
    self_t *self = arg;
    (void)topic;
    if (env->body_case != HS__ENVELOPE__BODY_STORE_HEARTBEAT || !env->store_heartbeat) return;
    self->hb_mono = hs_mono_ns ();
    self->hb_rev = env->store_heartbeat->revision;
}

static int s_start (void *arg, hs_ctrl_t *ctrl)
{
    self_t *self = arg;
    self->ctrl = ctrl;
    self->client = hs_ctrl_client (ctrl);
    int r = hs_client_on (self->client, "hb.store", s_on_store_hb, self);
    if (r < 0) {
        log_error ("cannot subscribe to hb.store: %s", strerror (-r));
        return 1;
    }
    log_info ("backoff after failures: %lld ms doubling to %lld ms",
              (long long)self->params.backoff_base_ms, (long long)self->params.backoff_max_ms);
    return 0;
}

static int64_t s_pass_entry (void *arg, hs_ctrl_t *ctrl, int64_t now_mono)
{
    self_t *self = arg;
    if (!self->watch) self->watch = hs_ctrl_watch (ctrl);
    return s_pass (self, ctrl, now_mono);
}

static size_t s_counters (void *arg, const char **names, uint64_t *values, size_t max)
{
    self_t *self = arg;
    const char *n[] = {"created",   "deleted", "create_failed", "status_writes", "conflicts",
                       "completed", "failed",  "ttl_deleted",   "gc_deleted"};
    uint64_t v[] = {self->created,       self->deleted,     self->create_failed,
                    self->status_writes, self->conflicts,   self->completed,
                    self->failed,        self->ttl_deleted, self->gc_deleted};
    size_t k = 0;
    for (; k < HS_ARRAY_LEN (n) && k < max; k++) {
        names[k] = n[k];
        values[k] = v[k];
    }
    return k;
}

static size_t s_gauges (void *arg, const char **names, double *values, size_t max)
{
    self_t *self = arg;
    const char *n[] = {"inflight"};
    const double v[] = {self->client ? (double)hs_client_inflight (self->client) : 0};
    size_t k = 0;
    for (; k < HS_ARRAY_LEN (n) && k < max; k++) {
        names[k] = n[k];
        values[k] = v[k];
    }
    return k;
}

/* work_queue_length: every pass looks at every Job this instance owns
 * (level-triggered); the Jobs waiting are those it cannot act on yet:
 * writes unanswered, a pause after a refusal, or the cache behind their
 * writes. */
static size_t s_queue (void *arg)
{
    self_t *self = arg;
    int64_t now = hs_mono_ns ();
    int64_t rev = self->watch ? hs_watch_revision (self->watch) : 0;
    size_t n = 0;
    for (s_job_t *j = zhashx_first (self->jobs); j; j = zhashx_next (self->jobs))
        if (j->inflight > 0 || j->hold_until > now || j->await_since || j->barrier > rev) n++;
    return n;
}

static void s_share (void *arg, uint64_t *owned, uint64_t *total)
{
    self_t *self = arg;
    *owned = self->owned;
    *total = self->total;
}

/* ------------------------------------------------------------------ main */

static int s_flag (void *arg, int ch, const char *value)
{
    jobs_params_t *p = arg;
    const char *flag = ch == 'B' ? "backoff-base-ms" : "backoff-max-ms";
    return hs_ctrl_parse_ms ("hs-jobs", flag, value, 24 * 3600 * 1000LL,
                             ch == 'B' ? &p->backoff_base_ms : &p->backoff_max_ms);
}

int main (int argc, char **argv)
{
    hs_log_init ("hs-jobs");
    self_t self = {.params = {.backoff_base_ms = JOBS_BACKOFF_BASE_MS,
                              .backoff_max_ms = JOBS_BACKOFF_MAX_MS,
                              .max_per_pass = JOBS_MAX_PER_PASS}};
    hs_ctrl_opts_t o = {0};
    static const struct option longopts[] = {
        {"backoff-base-ms", required_argument, NULL, 'B'},
        {"backoff-max-ms", required_argument, NULL, 'M'},
        {NULL, 0, NULL, 0},
    };
    int rc;
    if (!hs_ctrl_args (argc, argv, "hs-jobs", &o, longopts, NULL, s_flag, &self.params, s_usage,
                       &rc))
        return rc;
    if (self.params.backoff_max_ms < self.params.backoff_base_ms)
        self.params.backoff_max_ms = self.params.backoff_base_ms;
    self.jobs = zhashx_new ();
    zhashx_set_destructor (self.jobs, s_job_destroy);
    self.gc_inflight = zhashx_new ();
    zhashx_set_destructor (self.gc_inflight, s_str_destroy);
    self.gc = jobs_gc_new ();

    static const hs_kind_t kinds[] = {HS_KIND_JOB, HS_KIND_POD};
    hs_ctrl_ops_t ops = {.component = "hs-jobs",
                         .role = "jobs",
                         .kinds = kinds,
                         .n_kinds = HS_ARRAY_LEN (kinds),
                         .on_change = s_on_change,
                         .start = s_start,
                         .pass = s_pass_entry,
                         .counters = s_counters,
                         .share = s_share,
                         .gauges = s_gauges,
                         .queue = s_queue,
                         .arg = &self};
    rc = hs_ctrl_run (&o, &ops);
    zhashx_destroy (&self.jobs);
    zhashx_destroy (&self.gc_inflight);
    jobs_gc_destroy (&self.gc);
    return rc;
}
