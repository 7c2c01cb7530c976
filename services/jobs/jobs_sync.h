/*  jobs_sync.h: hs-jobs' decisions (docs/architecture.md §14), without the bus or a clock:
 *  a Job, the pods it controls and the time in; what to write out.
 *
 *  Kubernetes' job controller, reduced to what our schema holds:
 *
 *    - active pods (not finished, not being deleted) are kept at
 *      min(parallelism, completions - succeeded), or at parallelism until
 *      the first success when completions is unset (a work queue);
 *    - a pod being deleted still holds its slot until it is gone or
 *      finished, so there are never more running pods than parallelism;
 *    - succeeded and failed are counted from the pods (finished pods are
 *      kept, as in Kubernetes) and never go down, so a pod removed by hand
 *      does not undo progress. Pods we delete ourselves (suspend, too many)
 *      are not failures; when the Job fails, the pods it kills are;
 *    - failed > backoffLimit, or (restartPolicy OnFailure) container
 *      restarts of unfinished pods >= backoffLimit (> 0 when it is 0):
 *      Failed, BackoffLimitExceeded; running longer than
 *      activeDeadlineSeconds since status.startTime: Failed,
 *      DeadlineExceeded. Either way the active pods are deleted;
 *    - after failures, a new pod waits base x 2^(n-1) (capped) from the last
 *      failure, n the failures since the last success (kube's backoff
 *      record, derived from the pods);
 *    - suspend deletes the active pods and sets Suspended; resuming sets it
 *      False and restarts the deadline clock (status.startTime = now);
 *    - enough successes and nothing active: Complete, completionTime;
 *    - a finished Job is deleted ttlSecondsAfterFinished after its
 *      Complete/Failed condition's transition.
 *
 *  The caller owns expectations: it calls jobs_sync only when the cache shows
 *  the result of everything it wrote for this Job before.
 */
#ifndef JOBS_SYNC_H
#define JOBS_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hs_obj.h"

#define JOBS_BACKOFF_BASE_MS 10000
#define JOBS_BACKOFF_MAX_MS  360000
#define JOBS_MAX_PER_PASS    500 /* pods created or deleted per Job and pass (kube's) */

/* Orphans: a pod whose controller Job is not in the cache is deleted once it
 * is this old, and its owner was missing in two passes this far apart. */
#define JOBS_GC_MIN_AGE_NS 2000000000LL
#define JOBS_GC_CONFIRM_NS 1000000000LL

typedef struct {
    int64_t backoff_base_ms; /* 0: JOBS_BACKOFF_BASE_MS */
    int64_t backoff_max_ms;  /* 0: JOBS_BACKOFF_MAX_MS */
    int32_t max_per_pass;    /* 0: JOBS_MAX_PER_PASS */
} jobs_params_t;

typedef struct {
    const char *type;    /* Normal, Warning */
    const char *reason;  /* Completed, BackoffLimitExceeded, ... */
    const char *message; /* static text */
} jobs_event_t;

typedef struct {
    int32_t create;      /* pods to create from the template */
    const Hs__Pod **del; /* pods to delete (borrowed from the input) */
    size_t n_del;
    Hs__JobStatus *status;  /* the new status (hs_pb_free), or NULL: unchanged */
    jobs_event_t events[3]; /* to record once the status is written */
    size_t n_events;
    bool delete_job; /* ttlSecondsAfterFinished has passed */
    int64_t wake_ns; /* wall time this Job wants another pass; 0: none */
} jobs_plan_t;

/* The controller owner reference of pod if it is a Job's, else NULL. */
const Hs__OwnerReference *jobs_pod_owner (const Hs__Pod *pod);

/* When the pod finished (wall ns): its containers' latest finishedAt, else
 * its Ready=False transition, else deletion time minus grace, else its
 * creation (kube's getFinishedTime). */
int64_t jobs_pod_finish_time (const Hs__Pod *pod);

/* The wall time before which no new pod may be created after failures
 * (0: none), from the job's pods. */
int64_t jobs_backoff_until (const Hs__Pod *const *pods, size_t n, const jobs_params_t *p);

/* Decides one pass for job, given the pods whose controller reference is
 * this job's uid (any order) and now (wall ns). Fills *ret (jobs_plan_clear
 * it); returns 0, or -EINVAL for a job without metadata or spec. */
int jobs_sync (const Hs__Job *job, const Hs__Pod *const *pods, size_t n, int64_t now_ns,
               const jobs_params_t *p, jobs_plan_t *ret);
void jobs_plan_clear (jobs_plan_t *plan);

/* The Job's finished condition (Complete or Failed, status True), or NULL. */
const Hs__JobCondition *jobs_finished (const Hs__Job *job);

/* ------------------------------------------------------------------ orphans */

/* Garbage collection of pods whose owning Job is gone. The cache may lag, so
 * a pod is deleted only when it was created at least JOBS_GC_MIN_AGE_NS ago
 * and its owner was seen missing in two passes at least JOBS_GC_CONFIRM_NS
 * apart. */
typedef struct jobs_gc_t jobs_gc_t;

jobs_gc_t *jobs_gc_new (void);
void jobs_gc_destroy (jobs_gc_t **self_p);
/* The pod's owner is missing in this pass. True when it is time to delete
 * it; else *ret_wake (monotonic ns) is when both conditions may hold. */
bool jobs_gc_orphan (jobs_gc_t *self, const Hs__Pod *pod, int64_t now_wall, int64_t now_mono,
                     int64_t *ret_wake);
/* At the end of a pass: forget the pods not reported orphans in it. */
void jobs_gc_end_pass (jobs_gc_t *self);
size_t jobs_gc_size (jobs_gc_t *self);

#endif
