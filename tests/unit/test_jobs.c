/*  test_jobs.c: hs-jobs' decisions (services/jobs/jobs_sync): parallelism
 *  and completions, a deleting pod holding its slot, too many pods and
 *  which go, backoffLimit (Never and OnFailure), the failure backoff,
 *  activeDeadlineSeconds, suspend/resume, completion, work queues, counts
 *  that never go down, TTL after finishing, orphan collection, and the
 *  store's Job defaults and validation this controller relies on.
 */
#include "hs_manifest.h"
#include "hs_test.h"
#include "hs_util.h"
#include "hs_workload.h"
#include "jobs_sync.h"
#include "hs_validate.h"

#include <errno.h>
#include <stdlib.h>

#define NS  1000000000LL
#define MSN 1000000LL
#define T0  (1700000000LL * NS) /* "now" in these tests */

/* ------------------------------------------------------------------ fixtures */

static hs_manifest_t s_docs;
static Hs__Object *s_objs[64];
static size_t s_n_objs;

static void s_reset (void)
{
    hs_manifest_free (&s_docs);
    memset (&s_docs, 0, sizeof s_docs);
    for (size_t i = 0; i < s_n_objs; i++) hs_pb_free (s_objs[i]);
    s_n_objs = 0;
}

/* A Job as the store keeps it (defaults applied), uid "job-uid", created
 * at T0 - 10 s, from spec lines (YAML under spec:, 2-space indent). */
static Hs__Job *s_job (const char *spec_lines, const char *restart)
{
    _cleanup_free_ char *y = hs_sprintf ("apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: pi\n"
                                         "spec:\n%s"
                                         "  template:\n    spec:\n      restartPolicy: %s\n"
                                         "      containers:\n      - name: c\n"
                                         "        command: [sh, -c, 'exit 0']\n",
                                         spec_lines, restart ? restart : "Never");
    char *err = NULL;
    size_t before = s_docs.n;
    int r = hs_manifest_parse (y, strlen (y), "test", &s_docs, &err);
    if (r < 0) fprintf (stderr, "  manifest: %s\n", err);
    free (err);
    CHECK_EQ_INT (r, 0);
    if (r < 0) return NULL;
    Hs__Object *o = s_docs.docs[before].object;
    Hs__ObjectMeta *m = hs_obj_meta (o);
    hs_pb_set_str (&m->uid, "job-uid");
    m->creation_timestamp = T0 - 10 * NS;
    m->resource_version = 7;
    hs_obj_defaults (o, T0);
    char *msg = NULL;
    CHECK_EQ_INT (hs_obj_validate (o, &msg), 0);
    if (msg) fprintf (stderr, "  validate: %s\n", msg);
    free (msg);
    return o->job;
}

/* A pod of the job: phase, bound or not, Ready or not, restarts, created
 * `age_ms` before T0, finished `done_ms` before T0 (terminal phases). */
static const Hs__Pod *s_pod (const Hs__Job *job, const char *name, const char *phase, bool bound,
                             bool ready, int restarts, int64_t age_ms, int64_t done_ms)
{
    Hs__Object *o = hs_obj_new (HS_KIND_POD, "default", name);
    Hs__Pod *p = o->pod;
    Hs__ObjectMeta *m = p->metadata;
    hs_pb_set_str (&m->uid, name);
    m->creation_timestamp = T0 - age_ms * MSN;
    if (job) {
        Hs__Object *jo = hs_obj_new (HS_KIND_JOB, "default", job->metadata->name);
        hs_pb_set_str (&hs_obj_meta (jo)->uid, job->metadata->uid);
        hs_pb_push ((void ***)&m->owner_references, &m->n_owner_references,
                    hs_controller_ref_new (jo));
        hs_pb_free (jo);
    }
    p->spec = hs_pb_new (&hs__pod_spec__descriptor);
    if (bound) hs_pb_set_str (&p->spec->node_name, "n1");
    p->status = hs_pb_new (&hs__pod_status__descriptor);
    hs_pb_set_str (&p->status->phase, phase);
    Hs__ContainerStatus *cs = hs_pb_new (&hs__container_status__descriptor);
    hs_pb_set_str (&cs->name, "c");
    cs->restart_count = restarts;
    cs->state = hs_pb_new (&hs__container_state__descriptor);
    if (hs_streq (phase, "Succeeded") || hs_streq (phase, "Failed")) {
        cs->state->terminated = hs_pb_new (&hs__container_state_terminated__descriptor);
        cs->state->terminated->exit_code = hs_streq (phase, "Failed") ? 1 : 0;
        cs->state->terminated->finished_at = T0 - done_ms * MSN;
    }
    hs_pb_push ((void ***)&p->status->container_statuses, &p->status->n_container_statuses, cs);
    Hs__PodCondition *c = hs_pb_new (&hs__pod_condition__descriptor);
    hs_pb_set_str (&c->type, "Ready");
    hs_pb_set_str (&c->status, ready ? "True" : "False");
    hs_pb_push ((void ***)&p->status->conditions, &p->status->n_conditions, c);
    if (s_n_objs < HS_ARRAY_LEN (s_objs)) s_objs[s_n_objs++] = o;
    return p;
}

static void s_deleting (const Hs__Pod *p)
{
    ((Hs__Pod *)p)->metadata->deletion_timestamp = T0 - 100 * MSN;
}

static const Hs__JobCondition *s_cond (const Hs__JobStatus *st, const char *type)
{
    for (size_t i = 0; st && i < st->n_conditions; i++)
        if (hs_streq (st->conditions[i]->type, type)) return st->conditions[i];
    return NULL;
}

/* Applies a plan's status to the job, as the store would. */
static void s_commit (Hs__Job *job, jobs_plan_t *plan)
{
    if (!plan->status) return;
    hs_pb_free (job->status);
    job->status = TAKE_PTR (plan->status);
}

static const jobs_params_t P = {.backoff_base_ms = 200, .backoff_max_ms = 1000};

/* ------------------------------------------------------------------ tests */

static void test_parallel_completions (void)
{
    Hs__Job *job = s_job ("  completions: 5\n  parallelism: 2\n", NULL);
    if (!job) return;
    jobs_plan_t plan;
    CHECK_EQ_INT (jobs_sync (job, NULL, 0, T0, &P, &plan), 0);
    CHECK_EQ_INT (plan.create, 2);
    CHECK_EQ_INT (plan.n_del, 0);
    CHECK (plan.status && plan.status->start_time == T0);
    CHECK (plan.status && plan.status->active == 2);
    s_commit (job, &plan);
    jobs_plan_clear (&plan);

    /* the watch shows them: nothing to do, nothing to write */
    const Hs__Pod *a = s_pod (job, "a", "Pending", false, false, 0, 100, 0);
    const Hs__Pod *b = s_pod (job, "b", "Running", true, true, 0, 100, 0);
    const Hs__Pod *pods[8] = {a, b};
    CHECK_EQ_INT (jobs_sync (job, pods, 2, T0 + NS, &P, &plan), 0);
    CHECK_EQ_INT (plan.create, 0);
    CHECK (plan.status); /* ready went 0 -> 1 */
    CHECK (plan.status && plan.status->ready == 1 && plan.status->active == 2);
    s_commit (job, &plan);
    jobs_plan_clear (&plan);
    CHECK_EQ_INT (jobs_sync (job, pods, 2, T0 + NS, &P, &plan), 0);
    CHECK (!plan.status);
    CHECK_EQ_INT (plan.create, 0);
    jobs_plan_clear (&plan);

    /* one succeeded: one more; start time kept */
    const Hs__Pod *done[8] = {a, s_pod (job, "c", "Succeeded", true, false, 0, 500, 10)};
    CHECK_EQ_INT (jobs_sync (job, done, 2, T0 + 2 * NS, &P, &plan), 0);
    CHECK_EQ_INT (plan.create, 1);
    CHECK (plan.status && plan.status->succeeded == 1 && plan.status->active == 2);
    CHECK (plan.status && plan.status->start_time == T0);
    jobs_plan_clear (&plan);

    /* 4 succeeded and one running: only one more is wanted, none created */
    const Hs__Pod *four[8] = {a};
    for (int i = 0; i < 4; i++) {
        char n[8];
        snprintf (n, sizeof n, "s%d", i);
        four[1 + i] = s_pod (job, n, "Succeeded", true, false, 0, 500, 10);
    }
    CHECK_EQ_INT (jobs_sync (job, four, 5, T0 + 3 * NS, &P, &plan), 0);
    CHECK_EQ_INT (plan.create, 0);
    CHECK_EQ_INT (plan.n_del, 0);
    CHECK (!s_cond (plan.status ? plan.status : job->status, "Complete"));
    jobs_plan_clear (&plan);

    /* 5 succeeded: Complete, with completionTime and an Event */
    four[0] = s_pod (job, "s4", "Succeeded", true, false, 0, 500, 10);
    CHECK_EQ_INT (jobs_sync (job, four, 5, T0 + 4 * NS, &P, &plan), 0);
    CHECK (plan.status);
    if (plan.status) {
        const Hs__JobCondition *c = s_cond (plan.status, "Complete");
        CHECK (c && hs_streq (c->status, "True"));
        CHECK_EQ_INT (plan.status->completion_time, T0 + 4 * NS);
        CHECK_EQ_INT (plan.status->succeeded, 5);
        CHECK_EQ_INT (plan.status->active, 0);
    }
    CHECK_EQ_INT (plan.n_events, 1);
    CHECK_EQ_STR (plan.events[0].reason, "Completed");
    CHECK_EQ_STR (plan.events[0].message, "Job completed");
    s_commit (job, &plan);
    jobs_plan_clear (&plan);
    CHECK (jobs_finished (job) != NULL);
    /* finished: nothing more, ever */
    CHECK_EQ_INT (jobs_sync (job, NULL, 0, T0 + 5 * NS, &P, &plan), 0);
    CHECK_EQ_INT (plan.create, 0);
    CHECK (!plan.status);
    CHECK (!plan.delete_job);
    CHECK_EQ_INT (plan.wake_ns, 0);
    jobs_plan_clear (&plan);
    s_reset ();
}

static void test_slots (void)
{
    /* a pod being deleted holds its slot until it is gone or finished */
    Hs__Job *job = s_job ("  completions: 10\n  parallelism: 2\n", NULL);
    if (!job) return;
    const Hs__Pod *a = s_pod (job, "a", "Running", true, true, 0, 100, 0);
    const Hs__Pod *t = s_pod (job, "t", "Running", true, true, 0, 100, 0);
    s_deleting (t);
    const Hs__Pod *pods[8] = {a, t};
    jobs_plan_t plan;
    CHECK_EQ_INT (jobs_sync (job, pods, 2, T0, &P, &plan), 0);
    CHECK_EQ_INT (plan.create, 0);
    CHECK (plan.status && plan.status->active == 1);
    jobs_plan_clear (&plan);
    /* it finished while deleting: not a failure, and the slot is free */
    hs_pb_set_str (&t->status->phase, "Failed");
    CHECK_EQ_INT (jobs_sync (job, pods, 2, T0, &P, &plan), 0);
    CHECK_EQ_INT (plan.create, 1);
    CHECK (plan.status && plan.status->failed == 0);
    jobs_plan_clear (&plan);

    /* too many (parallelism lowered): the least advanced go first */
    const Hs__Pod *run = s_pod (job, "run", "Running", true, true, 0, 500, 0);
    const Hs__Pod *unbound = s_pod (job, "unbound", "Pending", false, false, 0, 900, 0);
    const Hs__Pod *pend = s_pod (job, "pend", "Pending", true, false, 0, 100, 0);
    const Hs__Pod *many[8] = {run, unbound, pend};
    job->spec->parallelism->value = 1;
    CHECK_EQ_INT (jobs_sync (job, many, 3, T0, &P, &plan), 0);
    CHECK_EQ_INT (plan.create, 0);
    CHECK_EQ_INT (plan.n_del, 2);
    if (plan.n_del == 2) {
        CHECK_EQ_STR (plan.del[0]->metadata->name, "unbound");
        CHECK_EQ_STR (plan.del[1]->metadata->name, "pend");
    }
    CHECK (plan.status && plan.status->active == 1 && plan.status->ready == 1);
    jobs_plan_clear (&plan);

    /* succeeded >= completions with pods still active: they go, then Complete */
    job->spec->completions->value = 1;
    const Hs__Pod *won[8] = {s_pod (job, "w", "Succeeded", true, false, 0, 900, 10), run};
    CHECK_EQ_INT (jobs_sync (job, won, 2, T0, &P, &plan), 0);
    CHECK_EQ_INT (plan.n_del, 1);
    CHECK (plan.status && s_cond (plan.status, "Complete"));
    jobs_plan_clear (&plan);
    s_reset ();
}

static void test_backoff_limit (void)
{
    /* Never: failed > backoffLimit */
    Hs__Job *job = s_job ("  backoffLimit: 2\n  completions: 3\n  parallelism: 2\n", "Never");
    if (!job) return;
    const Hs__Pod *pods[8] = {s_pod (job, "f1", "Failed", true, false, 0, 5000, 3000),
                              s_pod (job, "f2", "Failed", true, false, 0, 5000, 2000),
                              s_pod (job, "r", "Running", true, true, 0, 1000, 0)};
    jobs_plan_t plan;
    CHECK_EQ_INT (jobs_sync (job, pods, 3, T0, &P, &plan), 0);
    CHECK (plan.status && !s_cond (plan.status, "Failed")); /* 2 is not > 2 */
    CHECK_EQ_INT (plan.create, 1); /* r holds one slot; 400 ms since f2 have passed */
    CHECK (plan.status && plan.status->failed == 2);
    jobs_plan_clear (&plan);
    pods[3] = s_pod (job, "f3", "Failed", true, false, 0, 5000, 1000);
    CHECK_EQ_INT (jobs_sync (job, pods, 4, T0, &P, &plan), 0);
    CHECK (plan.status);
    if (plan.status) {
        const Hs__JobCondition *c = s_cond (plan.status, "Failed");
        CHECK (c && hs_streq (c->status, "True"));
        CHECK_EQ_STR (c ? c->reason : "", "BackoffLimitExceeded");
        CHECK_EQ_STR (c ? c->message : "", "Job has reached the specified backoff limit");
        CHECK_EQ_INT (plan.status->failed, 4); /* the running pod it kills counts */
        CHECK_EQ_INT (plan.status->active, 0);
        CHECK_EQ_INT (plan.status->completion_time, 0);
    }
    CHECK_EQ_INT (plan.n_del, 1);
    CHECK_EQ_INT (plan.create, 0);
    CHECK_EQ_INT (plan.n_events, 1);
    CHECK_EQ_STR (plan.events[0].type, "Warning");
    CHECK_EQ_STR (plan.events[0].reason, "BackoffLimitExceeded");
    s_commit (job, &plan);
    jobs_plan_clear (&plan);
    /* finished: a pod still active (a create that raced) is deleted; counts stay */
    const Hs__Pod *late[8] = {pods[0], pods[1], pods[3],
                              s_pod (job, "late", "Running", true, true, 0, 10, 0)};
    CHECK_EQ_INT (jobs_sync (job, late, 4, T0 + NS, &P, &plan), 0);
    CHECK_EQ_INT (plan.n_del, 1);
    CHECK_EQ_INT (plan.create, 0);
    CHECK (!plan.status);
    jobs_plan_clear (&plan);
    s_reset ();

    /* OnFailure: container restarts of unfinished pods >= backoffLimit */
    job = s_job ("  backoffLimit: 3\n", "OnFailure");
    if (!job) return;
    const Hs__Pod *one[2] = {s_pod (job, "p", "Running", true, false, 2, 5000, 0)};
    CHECK_EQ_INT (jobs_sync (job, one, 1, T0, &P, &plan), 0);
    CHECK (!plan.status || !s_cond (plan.status, "Failed"));
    jobs_plan_clear (&plan);
    ((Hs__Pod *)one[0])->status->container_statuses[0]->restart_count = 3;
    CHECK_EQ_INT (jobs_sync (job, one, 1, T0, &P, &plan), 0);
    CHECK (plan.status && s_cond (plan.status, "Failed"));
    CHECK_EQ_INT (plan.n_del, 1);
    jobs_plan_clear (&plan);
    /* backoffLimit 0: the first restart */
    job->spec->backoff_limit->value = 0;
    ((Hs__Pod *)one[0])->status->container_statuses[0]->restart_count = 1;
    CHECK_EQ_INT (jobs_sync (job, one, 1, T0, &P, &plan), 0);
    CHECK (plan.status && s_cond (plan.status, "Failed"));
    jobs_plan_clear (&plan);
    s_reset ();
}

static void test_backoff_delay (void)
{
    jobs_params_t p = {.backoff_base_ms = 200, .backoff_max_ms = 700};
    Hs__Job *job = s_job ("  completions: 3\n", NULL);
    if (!job) return;
    /* no failure: no wait */
    const Hs__Pod *ok = s_pod (job, "ok", "Succeeded", true, false, 0, 9000, 8000);
    CHECK_EQ_INT (jobs_backoff_until (&ok, 1, &p), 0);
    /* one failure 100 ms ago: wait until 200 ms after it */
    const Hs__Pod *pods[8] = {s_pod (job, "f1", "Failed", true, false, 0, 9000, 100)};
    CHECK_EQ_INT (jobs_backoff_until (pods, 1, &p), T0 + 100 * MSN);
    jobs_plan_t plan;
    CHECK_EQ_INT (jobs_sync (job, pods, 1, T0, &p, &plan), 0);
    CHECK_EQ_INT (plan.create, 0);
    CHECK_EQ_INT (plan.wake_ns, T0 + 100 * MSN);
    jobs_plan_clear (&plan);
    CHECK_EQ_INT (jobs_sync (job, pods, 1, T0 + 100 * MSN, &p, &plan), 0);
    CHECK_EQ_INT (plan.create, 1);
    jobs_plan_clear (&plan);
    /* doubling from the last failure, capped */
    pods[1] = s_pod (job, "f2", "Failed", true, false, 0, 9000, 50);
    CHECK_EQ_INT (jobs_backoff_until (pods, 2, &p), T0 - 50 * MSN + 400 * MSN);
    pods[2] = s_pod (job, "f3", "Failed", true, false, 0, 9000, 40);
    CHECK_EQ_INT (jobs_backoff_until (pods, 3, &p), T0 - 40 * MSN + 700 * MSN);
    /* a success after them resets the count; only later failures count */
    pods[3] = s_pod (job, "s", "Succeeded", true, false, 0, 9000, 30);
    CHECK_EQ_INT (jobs_backoff_until (pods, 4, &p), 0);
    pods[4] = s_pod (job, "f4", "Failed", true, false, 0, 9000, 20);
    CHECK_EQ_INT (jobs_backoff_until (pods, 5, &p), T0 - 20 * MSN + 200 * MSN);
    /* the defaults are kube's: 10 s doubling to 6 min */
    CHECK_EQ_INT (jobs_backoff_until (pods, 5, NULL), T0 - 20 * MSN + 10 * NS);
    s_reset ();
}

static void test_deadline (void)
{
    Hs__Job *job = s_job ("  activeDeadlineSeconds: 2\n", NULL);
    if (!job) return;
    jobs_plan_t plan;
    CHECK_EQ_INT (jobs_sync (job, NULL, 0, T0, &P, &plan), 0);
    CHECK_EQ_INT (plan.create, 1);
    CHECK_EQ_INT (plan.wake_ns, T0 + 2 * NS);
    s_commit (job, &plan);
    jobs_plan_clear (&plan);
    const Hs__Pod *pods[2] = {s_pod (job, "p", "Running", true, true, 0, 1000, 0)};
    CHECK_EQ_INT (jobs_sync (job, pods, 1, T0 + NS, &P, &plan), 0);
    CHECK_EQ_INT (plan.wake_ns, T0 + 2 * NS);
    CHECK_EQ_INT (plan.n_del, 0);
    s_commit (job, &plan);
    jobs_plan_clear (&plan);
    CHECK_EQ_INT (jobs_sync (job, pods, 1, T0 + 2 * NS, &P, &plan), 0);
    CHECK_EQ_INT (plan.n_del, 1);
    CHECK (plan.status);
    if (plan.status) {
        const Hs__JobCondition *c = s_cond (plan.status, "Failed");
        CHECK_EQ_STR (c ? c->reason : "", "DeadlineExceeded");
        CHECK_EQ_STR (c ? c->message : "", "Job was active longer than specified deadline");
        CHECK_EQ_INT (plan.status->failed, 1);
        CHECK_EQ_INT (plan.status->active, 0);
    }
    CHECK_EQ_INT (plan.n_events, 1);
    CHECK_EQ_STR (plan.events[0].reason, "DeadlineExceeded");
    jobs_plan_clear (&plan);
    s_reset ();
}

static void test_suspend (void)
{
    Hs__Job *job = s_job ("  parallelism: 2\n  completions: 4\n  suspend: true\n"
                          "  activeDeadlineSeconds: 60\n",
                          NULL);
    if (!job) return;
    jobs_plan_t plan;
    /* created suspended: no pods, no start time, Suspended */
    CHECK_EQ_INT (jobs_sync (job, NULL, 0, T0, &P, &plan), 0);
    CHECK_EQ_INT (plan.create, 0);
    CHECK (plan.status && plan.status->start_time == 0);
    const Hs__JobCondition *c = plan.status ? s_cond (plan.status, "Suspended") : NULL;
    CHECK (c && hs_streq (c->status, "True") && hs_streq (c->reason, "JobSuspended"));
    CHECK_EQ_INT (plan.n_events, 1);
    CHECK_EQ_STR (plan.events[0].reason, "Suspended");
    CHECK_EQ_INT (plan.wake_ns, 0); /* no deadline while suspended */
    s_commit (job, &plan);
    jobs_plan_clear (&plan);
    /* resumed: Suspended=False, the deadline clock starts, pods come */
    job->spec->suspend = false;
    CHECK_EQ_INT (jobs_sync (job, NULL, 0, T0 + NS, &P, &plan), 0);
    CHECK_EQ_INT (plan.create, 2);
    c = plan.status ? s_cond (plan.status, "Suspended") : NULL;
    CHECK (c && hs_streq (c->status, "False") && hs_streq (c->reason, "JobResumed"));
    CHECK (plan.status && plan.status->start_time == T0 + NS);
    CHECK_EQ_INT (plan.wake_ns, T0 + 61 * NS);
    CHECK_EQ_INT (plan.n_events, 1);
    CHECK_EQ_STR (plan.events[0].reason, "Resumed");
    s_commit (job, &plan);
    jobs_plan_clear (&plan);
    /* suspended again while running: the active pods go, not as failures */
    job->spec->suspend = true;
    const Hs__Pod *pods[4] = {s_pod (job, "a", "Running", true, true, 0, 100, 0),
                              s_pod (job, "b", "Pending", true, false, 0, 100, 0)};
    CHECK_EQ_INT (jobs_sync (job, pods, 2, T0 + 2 * NS, &P, &plan), 0);
    CHECK_EQ_INT (plan.n_del, 2);
    CHECK_EQ_INT (plan.create, 0);
    CHECK (plan.status && plan.status->active == 0 && plan.status->failed == 0);
    CHECK (plan.status && !s_cond (plan.status, "Failed"));
    jobs_plan_clear (&plan);
    s_reset ();
}

static void test_work_queue (void)
{
    /* only parallelism given: completions stays unset (kube's defaults) */
    Hs__Job *job = s_job ("  parallelism: 3\n", NULL);
    if (!job) return;
    CHECK (job->spec->completions == NULL);
    CHECK (job->spec->parallelism && job->spec->parallelism->value == 3);
    jobs_plan_t plan;
    CHECK_EQ_INT (jobs_sync (job, NULL, 0, T0, &P, &plan), 0);
    CHECK_EQ_INT (plan.create, 3);
    jobs_plan_clear (&plan);
    /* after the first success no new pod; the others finish */
    const Hs__Pod *pods[4] = {s_pod (job, "s", "Succeeded", true, false, 0, 900, 10),
                              s_pod (job, "r", "Running", true, true, 0, 900, 0)};
    CHECK_EQ_INT (jobs_sync (job, pods, 2, T0, &P, &plan), 0);
    CHECK_EQ_INT (plan.create, 0);
    CHECK_EQ_INT (plan.n_del, 0);
    CHECK (plan.status && !s_cond (plan.status, "Complete"));
    jobs_plan_clear (&plan);
    CHECK_EQ_INT (jobs_sync (job, pods, 1, T0, &P, &plan), 0);
    CHECK (plan.status && s_cond (plan.status, "Complete"));
    jobs_plan_clear (&plan);
    s_reset ();
}

static void test_counts_and_ttl (void)
{
    /* counts never go down when finished pods are removed */
    Hs__Job *job = s_job ("  completions: 4\n  ttlSecondsAfterFinished: 1\n", NULL);
    if (!job) return;
    job->status = hs_pb_new (&hs__job_status__descriptor);
    job->status->start_time = T0 - 5 * NS;
    job->status->succeeded = 3;
    job->status->failed = 1;
    const Hs__Pod *pods[2] = {s_pod (job, "s", "Succeeded", true, false, 0, 900, 10)};
    jobs_plan_t plan;
    CHECK_EQ_INT (jobs_sync (job, pods, 1, T0, &P, &plan), 0);
    CHECK_EQ_INT (plan.create, 1);
    CHECK (plan.status && plan.status->succeeded == 3 && plan.status->failed == 1);
    jobs_plan_clear (&plan);

    /* TTL: from the finished condition's transition */
    job->status->succeeded = 4;
    job->status->completion_time = T0 - 500 * MSN;
    Hs__JobCondition *c = hs_pb_new (&hs__job_condition__descriptor);
    hs_pb_set_str (&c->type, "Complete");
    hs_pb_set_str (&c->status, "True");
    c->last_transition_time = T0 - 500 * MSN;
    hs_pb_push ((void ***)&job->status->conditions, &job->status->n_conditions, c);
    CHECK_EQ_INT (jobs_sync (job, pods, 1, T0, &P, &plan), 0);
    CHECK (!plan.delete_job);
    CHECK_EQ_INT (plan.wake_ns, T0 + 500 * MSN);
    jobs_plan_clear (&plan);
    CHECK_EQ_INT (jobs_sync (job, pods, 1, T0 + 500 * MSN, &P, &plan), 0);
    CHECK (plan.delete_job);
    jobs_plan_clear (&plan);
    s_reset ();
}

static void test_owner_and_finish_time (void)
{
    Hs__Job *job = s_job ("  completions: 1\n", NULL);
    if (!job) return;
    const Hs__Pod *mine = s_pod (job, "m", "Failed", true, false, 0, 9000, 1234);
    const Hs__OwnerReference *r = jobs_pod_owner (mine);
    CHECK (r && hs_streq (r->uid, "job-uid") && hs_streq (r->name, "pi"));
    CHECK_EQ_INT (jobs_pod_finish_time (mine), T0 - 1234 * MSN);
    const Hs__Pod *stray = s_pod (NULL, "x", "Running", true, true, 0, 1, 0);
    CHECK (jobs_pod_owner (stray) == NULL);
    /* a ReplicaSet's pod is not ours */
    Hs__OwnerReference *rs = hs_pb_new (&hs__owner_reference__descriptor);
    hs_pb_set_str (&rs->kind, "ReplicaSet");
    hs_pb_set_str (&rs->name, "web");
    hs_pb_set_str (&rs->uid, "rs-uid");
    rs->controller = true;
    hs_pb_push ((void ***)&((Hs__Pod *)stray)->metadata->owner_references,
                &((Hs__Pod *)stray)->metadata->n_owner_references, rs);
    CHECK (jobs_pod_owner (stray) == NULL);
    /* no terminated container: the Ready=False transition, else deletion - grace, else creation */
    const Hs__Pod *lost = s_pod (job, "l", "Failed", true, false, 0, 9000, 0);
    Hs__ContainerState *st = lost->status->container_statuses[0]->state;
    hs_pb_free (st->terminated);
    st->terminated = NULL;
    lost->status->conditions[0]->last_transition_time = T0 - 7 * NS;
    CHECK_EQ_INT (jobs_pod_finish_time (lost), T0 - 7 * NS);
    lost->status->conditions[0]->last_transition_time = 0;
    ((Hs__Pod *)lost)->metadata->deletion_timestamp = T0;
    ((Hs__Pod *)lost)->metadata->deletion_grace_period_seconds =
        hs_pb_new (&hs__int64_value__descriptor);
    lost->metadata->deletion_grace_period_seconds->value = 30;
    CHECK_EQ_INT (jobs_pod_finish_time (lost), T0 - 30 * NS);
    ((Hs__Pod *)lost)->metadata->deletion_timestamp = 0;
    CHECK_EQ_INT (jobs_pod_finish_time (lost), T0 - 9000 * MSN);
    s_reset ();
}

static void test_gc (void)
{
    jobs_gc_t *gc = jobs_gc_new ();
    int64_t mono = 1000 * NS, wake;
    /* old enough: needs a second pass one second later */
    const Hs__Pod *old = s_pod (NULL, "old", "Running", true, true, 0, 3000, 0);
    CHECK (!jobs_gc_orphan (gc, old, T0, mono, &wake));
    CHECK_EQ_INT (wake, mono + NS);
    jobs_gc_end_pass (gc);
    CHECK (!jobs_gc_orphan (gc, old, T0 + 500 * MSN, mono + 500 * MSN, &wake));
    CHECK_EQ_INT (wake, mono + NS);
    jobs_gc_end_pass (gc);
    CHECK (jobs_gc_orphan (gc, old, T0 + NS, mono + NS, &wake));
    jobs_gc_end_pass (gc);
    /* young: waits for 2 s of age as well */
    const Hs__Pod *young = s_pod (NULL, "young", "Pending", false, false, 0, 0, 0);
    CHECK (!jobs_gc_orphan (gc, young, T0, mono, &wake));
    CHECK_EQ_INT (wake, mono + 2 * NS);
    jobs_gc_end_pass (gc);
    CHECK (!jobs_gc_orphan (gc, young, T0 + NS, mono + NS, &wake));
    CHECK_EQ_INT (wake, mono + 2 * NS);
    jobs_gc_end_pass (gc);
    CHECK (jobs_gc_orphan (gc, young, T0 + 2 * NS, mono + 2 * NS, &wake));
    /* an owner that shows up again (a lagging cache) starts it over */
    jobs_gc_end_pass (gc);
    jobs_gc_end_pass (gc);
    CHECK_EQ_INT (jobs_gc_size (gc), 0);
    CHECK (!jobs_gc_orphan (gc, old, T0 + 5 * NS, mono + 5 * NS, &wake));
    CHECK_EQ_INT (wake, mono + 6 * NS);
    jobs_gc_destroy (&gc);
    CHECK (gc == NULL);
    s_reset ();
}

static void test_store_rules (void)
{
    /* what the store refuses before hs-jobs ever sees it */
    const char *cases[][2] = {
        {"Always", "Job \"pi\" is invalid: spec.template.spec.restartPolicy: Unsupported value: "
                   "\"Always\": supported values: \"OnFailure\", \"Never\""},
    };
    for (size_t i = 0; i < HS_ARRAY_LEN (cases); i++) {
        _cleanup_free_ char *y =
            hs_sprintf ("apiVersion: batch/v1\nkind: Job\nmetadata: {name: pi}\nspec:\n"
                        "  template:\n    spec:\n      restartPolicy: %s\n"
                        "      containers: [{name: c, command: [true]}]\n",
                        cases[i][0]);
        char *err = NULL;
        CHECK_EQ_INT (hs_manifest_parse (y, strlen (y), "t", &s_docs, &err), 0);
        free (err);
        Hs__Object *o = s_docs.docs[s_docs.n - 1].object;
        hs_pb_set_str (&hs_obj_meta (o)->uid, "u");
        hs_obj_defaults (o, T0);
        char *msg = NULL;
        CHECK_EQ_INT (hs_obj_validate (o, &msg), -EINVAL);
        CHECK_EQ_STR (msg, cases[i][1]);
        free (msg);
    }
    Hs__Job *job = s_job ("  completionMode: NonIndexed\n", NULL);
    CHECK (job != NULL);
    const char *y = "apiVersion: batch/v1\nkind: Job\nmetadata: {name: ix}\nspec:\n"
                    "  completionMode: Indexed\n  completions: 3\n"
                    "  template:\n    spec:\n      restartPolicy: Never\n"
                    "      containers: [{name: c, command: [true]}]\n";
    char *err = NULL;
    CHECK_EQ_INT (hs_manifest_parse (y, strlen (y), "t", &s_docs, &err), 0);
    free (err);
    Hs__Object *o = s_docs.docs[s_docs.n - 1].object;
    hs_pb_set_str (&hs_obj_meta (o)->uid, "u");
    hs_obj_defaults (o, T0);
    char *msg = NULL;
    CHECK_EQ_INT (hs_obj_validate (o, &msg), -EINVAL);
    CHECK_EQ_STR (msg, "Job \"ix\" is invalid: spec.completionMode: Unsupported value: "
                       "\"Indexed\": supported values: \"NonIndexed\"");
    free (msg);
    s_reset ();
}

int main (int argc, char **argv)
{
    static const hs_test_t tests[] = {
        {"parallel_completions", test_parallel_completions},
        {"slots", test_slots},
        {"backoff_limit", test_backoff_limit},
        {"backoff_delay", test_backoff_delay},
        {"deadline", test_deadline},
        {"suspend", test_suspend},
        {"work_queue", test_work_queue},
        {"counts_and_ttl", test_counts_and_ttl},
        {"owner_and_finish_time", test_owner_and_finish_time},
        {"gc", test_gc},
        {"store_rules", test_store_rules},
    };
    return HS_TEST_RUN (tests);
}
