/*  agent_exec.h: `hsctl exec` sessions served from the node, topic
 *  exec.<node>.
 *
 *  hsctl publishes an ExecRequest on exec.<node>; the agent checks the pod
 *  and container (kubectl's messages: `pods "x" not found`, `container c is
 *  not valid for pod x`, a container that does not run), then spawns
 *  `hs-shim --exec PID --stream` (shim.c, shim_stream.h): the exec probes'
 *  path, which joins the container's cgroup and its IPC, UTS, PID and mount
 *  namespaces (and whatever else shim.c joins for exec), with the
 *  container's environment as its init process has it
 *  (/proc/PID/environ: the Service variables of its start included). The
 *  shim's stdout is a pipe polled by the agent's loop, never read in a
 *  blocking way; it carries frames of the command's stdout and stderr,
 *  which become ExecChunks on execout.<client_id>, and the last line, which
 *  becomes the final chunk (done, exit code, or the error).
 *
 *  Limits, per node: AGENT_EXEC_SESSIONS_MAX sessions at once (beyond:
 *  Unavailable). Per session: at most AGENT_EXEC_WINDOW chunks beyond the
 *  client's acked_seq, and output read at most AGENT_EXEC_RATE bytes per
 *  second (burst AGENT_EXEC_BURST): past either, the pipe is not read and
 *  the command blocks on its own output (backpressure; nothing is dropped
 *  here; the bus may drop, which the client sees as a gap in seq).
 *  A session whose client has not re-sent its request (the keepalive,
 *  every second) for 5 s, one cancelled, and all of them when the agent
 *  stops, get SIGTERM to the shim, which kills the command's process
 *  group; SIGKILL follows 2 s later. A shim whose agent dies kills its
 *  command too (its pipe closes). While a session is quiet an empty chunk
 *  goes out every 2 s, so hsctl can tell a quiet command from a dead agent.
 *  A finished session is remembered 10 s and answers a repeated request
 *  with its last chunk again.
 */
#ifndef AGENT_EXEC_H
#define AGENT_EXEC_H

#include "agent.h"

#define AGENT_EXEC_SESSIONS_MAX 16
#define AGENT_EXEC_WINDOW       64                /* chunks in flight beyond acked_seq */
#define AGENT_EXEC_RATE         (8 * 1024 * 1024) /* bytes per second, per session */
#define AGENT_EXEC_BURST        (1024 * 1024)     /* bytes */
#define AGENT_EXEC_CHUNK_MAX    (64 * 1024)       /* ExecChunk.data */

typedef struct agent_exec_t agent_exec_t;

/* Subscribes to exec.<node> on client. client, loop and pods are borrowed
 * and must outlive it; shim is hs-shim's path (borrowed). NULL (logged) if
 * the subscription fails. */
agent_exec_t *agent_exec_new (hs_client_t *client, hs_loop_t *loop, agent_pods_t *pods,
                              const char *node, const char *shim);
/* Ends every session (their commands are killed). NULL-safe. */
void agent_exec_destroy (agent_exec_t **self_p);

/* One turn: reads the shims' output within the limits, sends chunks, ends
 * idle and cancelled sessions. Returns when the next turn is due at the
 * latest (absolute monotonic ns; HS_NEVER: nothing to do). NULL-safe. */
int64_t agent_exec_work (agent_exec_t *self);

/* Counters for the heartbeat: sessions started, requests refused. */
uint64_t agent_exec_started (agent_exec_t *self);
uint64_t agent_exec_refused (agent_exec_t *self);

#endif
