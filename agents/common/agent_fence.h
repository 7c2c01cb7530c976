/*  agent_fence.h: the node agent's fence timer (pure: times in, decisions
 *  out; unit-tested in test_agent_fence.c).
 *
 *  An at-most-one pod (hs_pod_at_most_one) must never run on two nodes at
 *  once. The agent counts its last contact with the control plane: its own
 *  hs-prober confirming one of its heartbeats: hs-prober echoes, on
 *  fence.<node>/, the send time (sent_mono_ns, this agent's own monotonic
 *  clock) of the newest heartbeat it heard from the node, and that SEND time
 *  is the contact, never the time the echo arrives. So the agent's last
 *  contact is never later than the prober's last receipt from the node,
 *  whatever brokers either of them uses. When the last contact is fence_ns
 *  old (its own monotonic clock) it is fenced: it kills its at-most-one pods
 *  (SIGKILL at once: the fence is the deadline) and starts none, and it
 *  keeps a Fenced Event to send. hs-prober replaces such a pod only after
 *  fence x (1 + drift) + margin on its own clock since it last heard the
 *  node (docs/architecture.md §15, the bound). A contact still fresh
 *  (sent + fence_ns > now) unfences. The agent starts from its shims' lease
 *  (agent_fence_start): fenced at once without a valid one.
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

/* Counting from last_contact (monotonic ns; agent_fence_start). */
void agent_fence_init (agent_fence_t *f, int64_t fence_ns, int64_t last_contact);
/* The last contact an agent starting at now counts from, given the lease
 * its predecessor left (its fence deadline, monotonic ns; 0: none): the
 * lease's contact (lease - fence_ns), or, with no lease or one too far in
 * the future to be this boot's (> now + fence_ns), now - fence_ns: fenced
 * at once, until the prober confirms a heartbeat. So a restart never
 * extends a fence nor starts an at-most-one pod while still cut off. */
int64_t agent_fence_start (int64_t lease, int64_t fence_ns, int64_t now);
/* The prober confirmed a heartbeat sent at sent (our clock; later than now
 * counts as now). True when it ends a fence: only a contact still fresh
 * (sent + fence_ns > now) does (the caller unfences: sends the Fenced Event,
 * follows the desired state again). */
bool agent_fence_contact (agent_fence_t *f, int64_t sent, int64_t now);
/* True when now starts a fence (the caller kills its at-most-one pods). */
bool agent_fence_check (agent_fence_t *f, int64_t now);
/* When agent_fence_check is due next (monotonic ns), or INT64_MAX:
 * disabled, or fenced already (only a contact changes anything then). */
int64_t agent_fence_deadline (const agent_fence_t *f);

#endif
