/*  agent_probe.h: the node's side of probes, topic probe.<node>.
 *
 *  hs-prober publishes two things there:
 *  - ProbeResult: what a probe of one of our containers saw; handed to
 *    agent_pods_probe_result (ready and started flags, liveness restarts).
 *  - ExecRequest: run an exec probe's command inside a container. The agent
 *    spawns `hs-shim --exec PID ...` (a fresh single-threaded process: it
 *    joins the container's cgroup and its IPC, UTS, PID and mount
 *    namespaces, runs the command, kills it at the timeout and writes one
 *    answer on a pipe), never blocking its loop: the pipe is a source of
 *    the agent's loop. The answer goes back as an ExecResult on probres.<client_id>:
 *    the exit code and the first 10 KiB of stdout+stderr, or exit code -1
 *    and an error ("container not running", "timed out", why it could not
 *    run). At most AGENT_EXEC_MAX run at once; beyond, the request is
 *    answered with an error at once. A request whose (client_id,
 *    request_id) is already running is a retry and changes nothing.
 *  The helpers are the agent's children: the agent's reaping loop
 *  (agent_pods_work, waitpid(-1)) reaps them; their answer comes through
 *  the pipe, never through their exit status.
 *
 *  Messages of another body on the topic are refused, counted and logged
 *  once per sender.
 */
#ifndef AGENT_PROBE_H
#define AGENT_PROBE_H

#include "agent.h"

#define AGENT_EXEC_MAX 32

typedef struct agent_probe_t agent_probe_t;

/* Subscribes to probe.<node> on client. client, loop and pods are borrowed
 * and must outlive it; shim is hs-shim's path (borrowed). The helpers'
 * answer pipes become sources of loop while they run; they only wake it
 * (agent_probe_work reads them). NULL (logged) if the subscription fails. */
agent_probe_t *agent_probe_new (hs_client_t *client, hs_loop_t *loop, agent_pods_t *pods,
                                const char *node, const char *shim);
/* Kills the exec helpers still running (their requests get no answer).
 * NULL-safe. */
void agent_probe_destroy (agent_probe_t **self_p);

/* One turn: reads the helpers' answers, sends the ExecResults, kills a
 * helper past its deadline. Returns when the next turn is due at the
 * latest (absolute monotonic ns; HS_NEVER: nothing running). NULL-safe
 * (HS_NEVER). */
int64_t agent_probe_work (agent_probe_t *self);

/* Counters for the heartbeat: results handled, execs run, requests refused. */
uint64_t agent_probe_results (agent_probe_t *self);
uint64_t agent_probe_execs (agent_probe_t *self);
uint64_t agent_probe_refused (agent_probe_t *self);

/* Forks and execs argv (argv[0] a path: hs-shim) with stderr on /dev/null
 * and stdout on a non-blocking pipe: 0 with the child's pid, the pipe's
 * read end and a pidfd (-1 if the kernel has none), or -errno. stdin is
 * /dev/null, or with env (NULL-terminated KEY=VALUE, for argv's
 * --env-stdin) a socket the variables are written to, NUL-separated, then
 * closed: never a command line, which anyone on the node may read.
 * Between fork and exec the child (of a threaded process) only dup2s,
 * opens and execs. Used for exec probes and hsctl exec sessions. */
int agent_spawn_piped (char *const *argv, char *const *env, pid_t *ret_pid, int *ret_fd,
                       int *ret_pidfd);

#endif
