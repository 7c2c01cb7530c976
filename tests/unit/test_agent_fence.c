/*  test_agent_fence.c: the node agent's fence timer (agents/common/
 *  agent_fence.h): fenced exactly fence_ns after the last contact, once;
 *  a contact is the confirmed heartbeat's send time, pushes the deadline
 *  and, still fresh, ends a fence; a start counts from the lease (fenced
 *  without one); 0 disables it; two brokers, one cut: fenced in time.
 */
#include "agent_fence.h"
#include "hs_test.h"

#include <stdint.h>

#define S  1000000000LL
#define MS 1000000LL

static void test_timer (void)
{
    agent_fence_t f;
    agent_fence_init (&f, 2 * S, 10 * S);
    CHECK_EQ_INT (agent_fence_deadline (&f), 12 * S);
    CHECK (!agent_fence_check (&f, 12 * S - 1));
    /* a contact at 11 s: due at 13 s now */
    CHECK (!agent_fence_contact (&f, 11 * S, 11 * S));
    CHECK_EQ_INT (agent_fence_deadline (&f), 13 * S);
    CHECK (!agent_fence_check (&f, 12 * S + 500 * MS));
    /* a contact from the past (a late message) takes nothing back */
    CHECK (!agent_fence_contact (&f, 10 * S, 10 * S));
    CHECK_EQ_INT (agent_fence_deadline (&f), 13 * S);
    /* fenced at the deadline exactly, and only once */
    CHECK (agent_fence_check (&f, 13 * S));
    CHECK (f.fenced);
    CHECK_EQ_INT (f.fenced_at, 13 * S);
    CHECK_EQ_INT (f.fences, 1);
    CHECK (!agent_fence_check (&f, 14 * S));
    CHECK_EQ_INT (agent_fence_deadline (&f), INT64_MAX);
    CHECK_EQ_INT (f.fences, 1);
    /* the next contact ends it (true once), the timer runs again */
    CHECK (agent_fence_contact (&f, 20 * S, 20 * S));
    CHECK (!f.fenced);
    CHECK (!agent_fence_contact (&f, 20 * S + 1, 20 * S + 1));
    CHECK_EQ_INT (agent_fence_deadline (&f), 22 * S + 1);
    CHECK (agent_fence_check (&f, 23 * S));
    CHECK_EQ_INT (f.fences, 2);
}

static void test_disabled (void)
{
    agent_fence_t f;
    agent_fence_init (&f, 0, 10 * S);
    CHECK_EQ_INT (agent_fence_deadline (&f), INT64_MAX);
    CHECK (!agent_fence_check (&f, INT64_MAX - 1));
    CHECK (!agent_fence_contact (&f, 11 * S, 11 * S));
    agent_fence_init (&f, -5, 10 * S);
    CHECK (!agent_fence_check (&f, INT64_MAX - 1));
    /* no overflow near the end of time */
    agent_fence_init (&f, 2 * S, INT64_MAX - S);
    CHECK_EQ_INT (agent_fence_deadline (&f), INT64_MAX);
}

/* Sampled every 50 ms over a silence: the fence starts within one sample
 * after the deadline and never before it. */
static void test_sampled (void)
{
    agent_fence_t f;
    agent_fence_init (&f, 2 * S, 0);
    int64_t first = -1;
    for (int64_t t = 0; t <= 5 * S; t += 50 * MS) {
        if (t <= 1 * S) agent_fence_contact (&f, t, t); /* heard until 1 s */
        if (agent_fence_check (&f, t)) {
            CHECK (first < 0);
            first = t;
        }
    }
    CHECK_EQ_INT (first, 3 * S);
}

/* The contact is the confirmed heartbeat's SEND time, never the time the
 * echo arrives; a stale echo does not unfence. */
static void test_send_time (void)
{
    agent_fence_t f;
    agent_fence_init (&f, 2 * S, 10 * S);
    /* sent at 10.5 s, confirmed at 11.9 s: the deadline is 12.5 s */
    CHECK (!agent_fence_contact (&f, 10 * S + 500 * MS, 11 * S + 900 * MS));
    CHECK_EQ_INT (agent_fence_deadline (&f), 12 * S + 500 * MS);
    /* an older echo arriving late changes nothing */
    CHECK (!agent_fence_contact (&f, 10 * S + 100 * MS, 12 * S));
    CHECK_EQ_INT (agent_fence_deadline (&f), 12 * S + 500 * MS);
    /* a send time later than now counts as now */
    CHECK (!agent_fence_contact (&f, 99 * S, 11 * S));
    CHECK_EQ_INT (agent_fence_deadline (&f), 13 * S);
    CHECK (agent_fence_check (&f, 13 * S));
    /* fenced: an echo of a heartbeat sent before the deadline is stale */
    CHECK (!agent_fence_contact (&f, 12 * S, 14 * S));
    CHECK (f.fenced);
    CHECK (agent_fence_contact (&f, 13 * S + 1, 14 * S));
    CHECK (!f.fenced);
}

/* Where a restarted agent starts: from the lease its predecessor left;
 * fenced at once without one (or one from another boot). */
static void test_start (void)
{
    CHECK_EQ_INT (agent_fence_start (0, 2 * S, 100 * S), 98 * S);
    CHECK_EQ_INT (agent_fence_start (101 * S, 2 * S, 100 * S), 99 * S);
    CHECK_EQ_INT (agent_fence_start (50 * S, 2 * S, 100 * S), 48 * S);
    CHECK_EQ_INT (agent_fence_start (102 * S, 2 * S, 100 * S), 100 * S);
    CHECK_EQ_INT (agent_fence_start (102 * S + 1, 2 * S, 100 * S), 98 * S); /* another boot's */
    CHECK_EQ_INT (agent_fence_start (0, 0, 100 * S), 100 * S);
    agent_fence_t f;
    agent_fence_init (&f, 2 * S, agent_fence_start (0, 2 * S, 100 * S));
    CHECK (agent_fence_check (&f, 100 * S)); /* no lease: fenced at once */
    agent_fence_init (&f, 2 * S, agent_fence_start (101 * S, 2 * S, 100 * S));
    CHECK (!agent_fence_check (&f, 100 * S + 999 * MS));
    CHECK (agent_fence_check (&f, 101 * S));
}

/* Two brokers, the agent's SUB on A, the prober's on B, the node cut from
 * B at 10 s: the agent's heartbeats still come back to it through A, but
 * the prober hears none after 10 s and so confirms none sent later. The
 * agent fences by 10 s + fence on its clock; the prober replaces no sooner
 * than its last receipt + fence x (1 + drift) + margin: never two copies
 * (the clocks here agree; the drift covers when they do not). */
static void test_two_brokers (void)
{
    const int64_t fence = 2 * S, margin = 1 * S, cut = 10 * S, lat = 3 * MS;
    agent_fence_t f;
    agent_fence_init (&f, fence, 0);
    int64_t last_receipt = 0, fenced = -1;
    for (int64_t t = 0; t <= 20 * S; t += 50 * MS) {
        /* the agent heartbeats every 50 ms; the prober hears those sent
         * before the cut, and echoes the newest every 250 ms */
        if (t < cut) last_receipt = t + lat;
        if (t % (250 * MS) == 0 && last_receipt > 0)
            agent_fence_contact (&f, last_receipt - lat, t + 2 * lat);
        if (agent_fence_check (&f, t) && fenced < 0) fenced = t;
    }
    int64_t replace = last_receipt + fence + fence / 20 + margin;
    CHECK (fenced >= 0);
    CHECK (fenced <= last_receipt + fence);
    CHECK (fenced < replace);
}

int main (int argc, char **argv)
{
    static const hs_test_t tests[] = {
        {"timer", test_timer},     {"disabled", test_disabled},
        {"sampled", test_sampled}, {"send_time", test_send_time},
        {"start", test_start},     {"two_brokers", test_two_brokers},
    };
    return HS_TEST_RUN (tests);
}
