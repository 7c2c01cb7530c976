/*  probe_sched.c: the timing of one container's probes (probe_sched.h). */
#include "probe_sched.h"

#include <string.h>

#define S_NS 1000000000LL

const char *probe_kind_name (probe_kind_t k)
{
    static const char *const names[PROBE_KINDS] = {"startup", "liveness", "readiness"};
    return k < PROBE_KINDS ? names[k] : "?";
}

const char *probe_kind_title (probe_kind_t k)
{
    static const char *const names[PROBE_KINDS] = {"Startup", "Liveness", "Readiness"};
    return k < PROBE_KINDS ? names[k] : "?";
}

int64_t probe_period_ns (const probe_timing_t *t)
{
    return (t->period_s > 0 ? t->period_s : 10) * S_NS;
}

int64_t probe_timeout_ns (const probe_timing_t *t)
{
    return (t->timeout_s > 0 ? t->timeout_s : 1) * S_NS;
}

static int32_t s_success_threshold (const probe_timing_t *t)
{
    return t->success_threshold > 0 ? t->success_threshold : 1;
}

static int32_t s_failure_threshold (const probe_timing_t *t)
{
    return t->failure_threshold > 0 ? t->failure_threshold : 3;
}

void probe_ctr_init (probe_ctr_t *c, const probe_timing_t *const timing[PROBE_KINDS])
{
    memset (c, 0, sizeof *c);
    c->run = -1;
    for (int k = 0; k < PROBE_KINDS; k++) {
        if (!timing[k]) continue;
        c->p[k].present = true;
        c->p[k].t = *timing[k];
    }
}

/* Everything a run knew goes; the first probe is due initialDelaySeconds
 * after the container started. */
static void s_reset (probe_ctr_t *c, int64_t now_mono, int64_t now_wall)
{
    for (int k = 0; k < PROBE_KINDS; k++) {
        probe_state_t *p = &c->p[k];
        if (!p->present) continue;
        int64_t delay = (int64_t)(p->t.initial_delay_s > 0 ? p->t.initial_delay_s : 0) * S_NS;
        int64_t left = c->started_at_ns ? c->started_at_ns + delay - now_wall : delay;
        int64_t period = probe_period_ns (&p->t);
        if (left <= -period)
            left = (int64_t)(c->seed % (uint64_t)period); /* late: spread */
        else if (left < 0)
            left = 0;
        p->verdict = p->last = PROBE_UNKNOWN;
        p->run_len = 0;
        p->inflight = p->held = false;
        p->next_ns = now_mono + left;
        p->next_send_ns = 0;
    }
}

bool probe_ctr_observe (probe_ctr_t *c, bool running, int32_t restart_count, int64_t started_at_ns,
                        int64_t now_mono, int64_t now_wall)
{
    c->running = running;
    /* Not running: the run is over or not begun; a new one shows a new
     * restartCount or startedAt when it runs. */
    if (!running) return false;
    if (restart_count == c->run && started_at_ns == c->started_at_ns) return false;
    c->run = restart_count;
    c->started_at_ns = started_at_ns;
    s_reset (c, now_mono, now_wall);
    return true;
}

/* Liveness and readiness wait for a startup probe's success. */
static bool s_gated (const probe_ctr_t *c, probe_kind_t k)
{
    return k != PROBE_STARTUP && c->p[PROBE_STARTUP].present &&
           c->p[PROBE_STARTUP].verdict != PROBE_SUCCESS;
}

/* Would probe k run (now or later) in this run? */
static bool s_active (const probe_ctr_t *c, probe_kind_t k)
{
    const probe_state_t *p = &c->p[k];
    if (!p->present || !c->running || p->inflight || p->held) return false;
    if (k == PROBE_STARTUP && p->verdict == PROBE_SUCCESS) return false; /* done */
    return !s_gated (c, k);
}

bool probe_ctr_due (const probe_ctr_t *c, probe_kind_t k, int64_t now_mono)
{
    return k < PROBE_KINDS && s_active (c, k) && now_mono >= c->p[k].next_ns;
}

void probe_ctr_begin (probe_ctr_t *c, probe_kind_t k, int64_t now_mono)
{
    probe_state_t *p = &c->p[k];
    p->inflight = true;
    /* A period between starts, as the kubelet's ticker; a probe slower
     * than its period delays the next one (never two at once). */
    p->next_ns = now_mono + probe_period_ns (&p->t);
}

void probe_ctr_abort (probe_ctr_t *c, probe_kind_t k, int32_t run)
{
    if (k < PROBE_KINDS && run == c->run) c->p[k].inflight = false;
}

int probe_ctr_end (probe_ctr_t *c, probe_kind_t k, int32_t run, bool success, int64_t now_mono)
{
    if (k >= PROBE_KINDS || run != c->run || !c->p[k].present) return 0;
    probe_state_t *p = &c->p[k];
    p->inflight = false;
    if (p->held) return 0;
    probe_verdict_t result = success ? PROBE_SUCCESS : PROBE_FAILURE;
    if (p->last == result) {
        if (p->run_len < INT32_MAX) p->run_len++;
    } else {
        p->last = result;
        p->run_len = 1;
    }
    if ((result == PROBE_FAILURE && p->run_len < s_failure_threshold (&p->t)) ||
        (result == PROBE_SUCCESS && p->run_len < s_success_threshold (&p->t)))
        return 0;
    int flags = 0;
    if (p->verdict != result) {
        p->verdict = result;
        flags |= PROBE_CHANGED;
        p->next_send_ns = now_mono; /* say it now */
    }
    if (result == PROBE_FAILURE && (k == PROBE_LIVENESS || k == PROBE_STARTUP)) {
        /* The container is restarted; this run is not probed again. */
        p->held = true;
        flags |= PROBE_RESTART;
    }
    return flags;
}

bool probe_ctr_send_due (const probe_ctr_t *c, probe_kind_t k, int64_t now_mono)
{
    if (k >= PROBE_KINDS) return false;
    const probe_state_t *p = &c->p[k];
    return p->present && c->running && p->verdict != PROBE_UNKNOWN && p->next_send_ns &&
           now_mono >= p->next_send_ns;
}

void probe_ctr_sent (probe_ctr_t *c, probe_kind_t k, int64_t now_mono)
{
    probe_state_t *p = &c->p[k];
    p->next_send_ns = now_mono + probe_period_ns (&p->t);
}

int64_t probe_ctr_next (const probe_ctr_t *c)
{
    int64_t next = INT64_MAX;
    for (int k = 0; k < PROBE_KINDS; k++) {
        const probe_state_t *p = &c->p[k];
        if (!p->present || !c->running) continue;
        if (s_active (c, (probe_kind_t)k) && p->next_ns < next) next = p->next_ns;
        if (p->verdict != PROBE_UNKNOWN && p->next_send_ns && p->next_send_ns < next)
            next = p->next_send_ns;
    }
    return next;
}
