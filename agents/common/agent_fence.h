/*  agent_fence.h: the node agent's fence timer (pure: times in, decisions
 *  out; unit-tested in test_agent_fence.c).
 *
 *  An at-most-one pod (hs_pod_at_most_one) must never run on two nodes at
 *  once. The agent counts its last contact with the control plane: its own
 *  heartbeat coming back through the bus (the round trip hs-prober's view
 *  of the node depends on). When the last contact is fence_ns old (its own
 *  monotonic clock) it is fenced: it kills its at-most-one pods (SIGKILL at
 *  once: the fence is the deadline) and starts none, and it keeps a Fenced
 *  Event to send. hs-prober replaces such a pod only after
 *  fence x (1 + drift) + margin on its own clock since it last heard the
 *  node (docs/architecture.md §15, the bound). The next contact unfences.
 *  fence_ns 0 disables all of it.
 */
#ifndef AGENT_FENCE_H
#define AGENT_FENCE_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    int64_t fence_ns;     /* --fence-timeout; 0: never fenced */
    int64_t last_contact; /* monotonic ns */
    bool fenced;
    int64_t fenced_at; /* monotonic ns, while fenced */
    uint64_t fences;   /* times fenced */
} agent_fence_t;

/* Counting from now (the agent's start: what it adopted is fenced too if
 * it never reaches the bus). */
void agent_fence_init (agent_fence_t *f, int64_t fence_ns, int64_t now);
/* A contact at now. True when it ends a fence (the caller unfences: sends
 * the Fenced Event, follows the desired state again). */
bool agent_fence_contact (agent_fence_t *f, int64_t now);
/* True when now starts a fence (the caller kills its at-most-one pods). */
bool agent_fence_check (agent_fence_t *f, int64_t now);
/* When agent_fence_check is due next (monotonic ns), or INT64_MAX:
 * disabled, or fenced already (only a contact changes anything then). */
int64_t agent_fence_deadline (const agent_fence_t *f);

#endif
