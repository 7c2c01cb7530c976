/*  agent_state.h: hs-agent's own record of what it runs (schemas/agent.proto).
 *
 *  An LMDB environment in <state dir>/db with one AgentPod per pod, keyed by
 *  the pod's uid, rewritten whenever the pod's containers change. On restart
 *  the agent loads it to adopt the shims that still run. Commits are not
 *  fsynced: the record must survive the agent's crash (the page cache does),
 *  and after a machine crash the workloads are gone anyway.
 */
#ifndef AGENT_STATE_H
#define AGENT_STATE_H

#include <stddef.h>

#include "agent.pb-c.h"

typedef struct agent_state_t agent_state_t;

/* Opens (creating) the record under dir. 0 or -errno. */
int agent_state_open (const char *dir, agent_state_t **ret_state);
void agent_state_close (agent_state_t **self_p);

/* Replaces the pod's record. 0 or -errno. */
int agent_state_put (agent_state_t *self, const char *uid, const Hs__AgentPod *rec);
/* Removes it (missing: 0). */
int agent_state_del (agent_state_t *self, const char *uid);
/* Every record: *ret is a malloc'd array of hs_pb_free-able records; a record
 * that does not decode is skipped with a warning. Returns the count or -errno. */
int agent_state_load (agent_state_t *self, Hs__AgentPod ***ret);

#endif
