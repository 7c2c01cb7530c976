/*  test_agent_fence.c: the node agent's fence timer (agents/common/
 *  agent_fence.h): fenced exactly fence_ns after the last contact, once;
 *  any contact pushes the deadline and ends a fence; 0 disables it.
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
    CHECK (!agent_fence_contact (&f, 11 * S));
    CHECK_EQ_INT (agent_fence_deadline (&f), 13 * S);
    CHECK (!agent_fence_check (&f, 12 * S + 500 * MS));
    /* a contact from the past (a late message) takes nothing back */
    CHECK (!agent_fence_contact (&f, 10 * S));
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
    CHECK (agent_fence_contact (&f, 20 * S));
    CHECK (!f.fenced);
    CHECK (!agent_fence_contact (&f, 20 * S + 1));
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
    CHECK (!agent_fence_contact (&f, 11 * S));
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
        if (t <= 1 * S) agent_fence_contact (&f, t); /* heard until 1 s */
        if (agent_fence_check (&f, t)) {
            CHECK (first < 0);
            first = t;
        }
    }
    CHECK_EQ_INT (first, 3 * S);
}

int main (int argc, char **argv)
{
    static const hs_test_t tests[] = {
        {"timer", test_timer},
        {"disabled", test_disabled},
        {"sampled", test_sampled},
    };
    return HS_TEST_RUN (tests);
}
