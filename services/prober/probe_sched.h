/*  probe_sched.h: the timing of one container's probes, Kubernetes' rules
 *  (pure: no bus, no clock; times are passed in).
 *
 *  One probe_ctr_t per container run being probed holds up to three probes
 *  (startup, liveness, readiness), each a small state machine:
 *
 *    - the first probe is due initialDelaySeconds after the container's
 *      running.startedAt, then every periodSeconds; a probe in flight is
 *      never started twice. A run first seen a period or more after that
 *      (a prober started or took the pod over) is first probed within a
 *      period, at seed % period, as the kubelet's workers spread theirs,
 *      so a fresh prober does not probe everything at once;
 *    - results count in runs (the kubelet's worker): a result equal to the
 *      previous one lengthens the run, another starts a new run of 1. The
 *      verdict becomes success after successThreshold successes in a row and
 *      failure after failureThreshold failures in a row; until a threshold
 *      is first reached there is no verdict (PROBE_UNKNOWN) and nothing is
 *      said: the agent's default holds (not ready, not started);
 *    - startup gates the others: while a startup probe has not succeeded,
 *      liveness and readiness do not run; once it has, it stops;
 *    - a liveness or startup failure verdict asks for a restart
 *      (PROBE_RESTART) once, and the probe holds (no more probing) until
 *      the run changes;
 *    - a new run (the container's restartCount or startedAt changed)
 *      starts everything over; a result for an older run is ignored;
 *    - a decided verdict is said again every periodSeconds (the bus may
 *      drop): probe_ctr_send_due.
 */
#ifndef PROBE_SCHED_H
#define PROBE_SCHED_H

#include <stdbool.h>
#include <stdint.h>

typedef enum { PROBE_STARTUP = 0, PROBE_LIVENESS, PROBE_READINESS, PROBE_KINDS } probe_kind_t;
typedef enum { PROBE_UNKNOWN = 0, PROBE_SUCCESS, PROBE_FAILURE } probe_verdict_t;

/* Kubernetes' timing fields, in seconds (the store filled the defaults;
 * zero or negative values are taken as Kubernetes' defaults anyway). */
typedef struct {
    int32_t initial_delay_s, period_s, timeout_s, success_threshold, failure_threshold;
} probe_timing_t;

typedef struct {
    bool present;
    probe_timing_t t;
    probe_verdict_t verdict; /* decided; UNKNOWN until a threshold is first reached */
    probe_verdict_t last;    /* the last result */
    int32_t run_len;         /* results equal to `last` in a row */
    bool inflight;
    bool held;            /* liveness/startup failed: no more probing this run */
    int64_t next_ns;      /* monotonic: the next probe */
    int64_t next_send_ns; /* monotonic: the next re-send of the verdict; 0: none */
} probe_state_t;

typedef struct {
    bool running;          /* the container is running (probes run only then) */
    int32_t run;           /* restartCount of the run being probed */
    int64_t started_at_ns; /* its running.startedAt (wall) */
    uint32_t seed;         /* spreads late first probes (below); 0: none */
    probe_state_t p[PROBE_KINDS];
} probe_ctr_t;

/* What probe_ctr_end tells the caller. */
#define PROBE_CHANGED 1 /* the verdict changed: say it now */
#define PROBE_RESTART 2 /* liveness/startup failed: the container must restart */

/* "liveness", "readiness", "startup" and "Liveness", ... */
const char *probe_kind_name (probe_kind_t k);
const char *probe_kind_title (probe_kind_t k);

/* Sets up a container's probes: timing[k] NULL means no probe of kind k. */
void probe_ctr_init (probe_ctr_t *c, const probe_timing_t *const timing[PROBE_KINDS]);

/* What the pod's status says about the container now: running or not, its
 * restartCount and running.startedAt (wall ns, 0 if unknown). A new run
 * (restartCount or startedAt changed) resets every probe. Returns true if
 * it was a new run. */
bool probe_ctr_observe (probe_ctr_t *c, bool running, int32_t restart_count, int64_t started_at_ns,
                        int64_t now_mono, int64_t now_wall);

/* Should probe k start now? */
bool probe_ctr_due (const probe_ctr_t *c, probe_kind_t k, int64_t now_mono);
/* Probe k started now: in flight, the next one a period later. */
void probe_ctr_begin (probe_ctr_t *c, probe_kind_t k, int64_t now_mono);
/* Probe k of run `run` ended with this result: PROBE_CHANGED and/or
 * PROBE_RESTART, or 0 (also for an older run's result). */
int probe_ctr_end (probe_ctr_t *c, probe_kind_t k, int32_t run, bool success, int64_t now_mono);
/* The probe of run `run` was abandoned (could not start): not in flight. */
void probe_ctr_abort (probe_ctr_t *c, probe_kind_t k, int32_t run);

/* Is a verdict of k due to be said (again)? */
bool probe_ctr_send_due (const probe_ctr_t *c, probe_kind_t k, int64_t now_mono);
/* The verdict of k was said now; the next re-send a period later. */
void probe_ctr_sent (probe_ctr_t *c, probe_kind_t k, int64_t now_mono);

/* When something of this container is next due (a probe, a re-send);
 * INT64_MAX if nothing is. */
int64_t probe_ctr_next (const probe_ctr_t *c);

/* Seconds to monotonic ns with Kubernetes' defaults for unset fields. */
int64_t probe_period_ns (const probe_timing_t *t);
int64_t probe_timeout_ns (const probe_timing_t *t);

#endif
