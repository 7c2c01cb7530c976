/*  agent_logs.h: containers' logs served to `hsctl logs` over the bus.
 *
 *  hsctl publishes a LogRequest on logreq.<node>; the agent answers with
 *  LogChunks on logs.<client_id>, numbered from 1 per request (so hsctl sees a
 *  lost chunk), the last with eof (and a code and kubectl's message when the
 *  request failed). The data is what kubectl prints: each CRI record's
 *  content (P chunks joined into their line, F ends it), with --timestamps
 *  the line's RFC 3339 time and a space before it. The files are read in
 *  order, container.log.N ... .1, container.log, from the run directory
 *  agent_pods_log_dir names; --tail N starts N lines from the end.
 *
 *  Following: what is appended is sent every POLL interval; a rotation
 *  (container.log renamed, a new one created) is seen by inode: the old
 *  file is read to its end, then the new one from its start. A follow ends
 *  (eof) when the run is over (its `exit` file is there) and everything is
 *  sent, or without a word when hsctl has not re-sent the request (its
 *  keepalive) for 5 s, or on cancel. While a follow has nothing to send it
 *  sends an empty chunk every 2 s, so hsctl can tell a quiet container from
 *  a dead agent.
 *
 *  A request with a request_id already seen from that client is the same
 *  stream: it only keeps it alive. A finished stream is remembered for 10 s
 *  and answers a repeated request with its last chunk again (hsctl repeats
 *  only when it has not seen a chunk: the seq tells it what it lost).
 *
 *  Limits: 64 streams at once (beyond: Unavailable), 64 KiB per chunk, and
 *  per agent_logs_work turn 256 KiB read per stream and 1 MiB in all, so a
 *  chatty container or a huge log does not starve the agent's loop.
 */
#ifndef AGENT_LOGS_H
#define AGENT_LOGS_H

#include "agent.h"

typedef struct agent_logs_t agent_logs_t;

/* Subscribes to logreq.<node> on client. client and pods are borrowed and
 * must outlive it; destroy it before the client, and do not process the
 * client after destroying it. NULL (logged) if the subscription fails. */
agent_logs_t *agent_logs_new (hs_client_t *client, agent_pods_t *pods, const char *node);
/* Drops every stream (hsctl sees no eof; it gives up after 5 s). NULL-safe. */
void agent_logs_destroy (agent_logs_t **self_p);

/* One turn: reads and sends what the open streams may this turn, ends
 * those that are done, forgets those whose client went quiet. Returns when
 * the next turn is due (absolute monotonic ns; now or earlier: more to do
 * at once; HS_NEVER: no stream open). NULL-safe (HS_NEVER). */
int64_t agent_logs_work (agent_logs_t *self);

#endif
