/*  shim_stream.h: `hs-shim --exec PID --stream`, the relay of `hsctl exec`.
 *
 *  The exec probe path of hs-shim (shim.c) joins the container and starts
 *  the command; with --stream the command's stdout and stderr are two pipes
 *  and this relays what they carry, as it comes, onto the shim's stdout
 *  (the agent's pipe) in frames:
 *      "o <n>\n" then n bytes      the command wrote n bytes on stdout
 *      "e <n>\n" then n bytes      ... on stderr
 *  and one last line:
 *      "exit <code>\n"             it ended (128+N for signal N)
 *      "timeout\n"                 it ran past --timeout-ms and was killed
 *      "fail <code> <text>\n"      it could not be exec'd (127 not found, 126)
 *      "error <text>\n"            it could not run (namespaces, cgroup)
 *  (agent_exec.c reads them.) Writes to the agent block: a reader that
 *  stops reading makes the command wait on its own pipe (backpressure).
 *  SIGTERM, SIGINT or SIGHUP to the shim, or the agent closing its end,
 *  kill the command's process group (everything it started).
 */
#ifndef SHIM_STREAM_H
#define SHIM_STREAM_H

#include <stdint.h>
#include <sys/types.h>

/* Before the command's fork: SIGTERM, SIGINT and SIGHUP only mark the
 * session stopped (they interrupt a blocked write); SIGPIPE is ignored. */
void shim_stream_signals (void);

/* Relays the command's (pid, our child, in its own process group) output
 * from out_fd and err_fd (taken: closed here) until it ended and the pipes
 * are drained, then writes the last line. timeout_ms 0: no limit. Returns
 * the shim's exit code: 0, or 1 when the agent was gone. */
int shim_stream_run (pid_t pid, int out_fd, int err_fd, int64_t timeout_ms);

#endif
