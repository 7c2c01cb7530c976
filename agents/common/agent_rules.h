/*  agent_rules.h: the node agent's pure decisions about probes and node
 *  failure (no sockets, no processes: unit-tested in test_agent_rules.c).
 *
 *  - A container's started and ready flags from its probes' latest word
 *    about its current run (Kubernetes' rules: a container with a
 *    startupProbe is not started until the probe succeeds; one with a
 *    readinessProbe is not ready until it succeeds; neither is ready before
 *    it is started).
 *  - What a ProbeResult from hs-prober does to a container.
 *  - What the agent reads in the store: a pod hs-prober marked lost
 *    (Failed, reason NodeLost), a Node whose Ready is not True.
 *  - The answer format of `hs-shim --exec` (the exec probe helper).
 *  - Whether a request from the bus (a ProbeResult or ExecRequest on
 *    probe.<node>, a LogRequest on logreq.<node>) can be served.
 */
#ifndef AGENT_RULES_H
#define AGENT_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "objects.pb-c.h"
#include "bus.pb-c.h"

/* What the probes said about one container's current run. */
typedef struct {
    bool running;       /* the run is going (the shim's container is up) */
    int32_t restarts;   /* the run's restartCount (runs started - 1) */
    bool has_readiness; /* the spec has a readinessProbe */
    bool has_startup;   /* ... a startupProbe */
    bool has_liveness;  /* ... a livenessProbe */
    bool probe_ready;   /* readiness's latest word about this run */
    bool probe_started; /* startup succeeded in this run */
    bool live_killed;   /* liveness failed in this run: being restarted */
} agent_cprobe_t;

/* containerStatuses[].started: running, and its startupProbe (if any) passed. */
bool agent_rules_started (const agent_cprobe_t *c);
/* containerStatuses[].ready: started, and its readinessProbe (if any) passed. */
bool agent_rules_ready (const agent_cprobe_t *c);

/* A new run begins (or one ends): every probe's word was about the old one. */
void agent_rules_new_run (agent_cprobe_t *c);

typedef enum {
    AGENT_PROBE_IGNORED,   /* about another run, a probe the spec lacks, or not running */
    AGENT_PROBE_UNCHANGED, /* accepted; nothing the status shows changed */
    AGENT_PROBE_CHANGED,   /* accepted; started/ready changed: write the status */
    AGENT_PROBE_RESTART,   /* liveness failed (first time this run): restart the container;
                            * said for a failed startupProbe too */
} agent_probe_action_t;

/* Applies one ProbeResult about this container (its pod already matched)
 * to c. Returns what the agent must do. */
agent_probe_action_t agent_rules_probe (agent_cprobe_t *c, const Hs__ProbeResult *r);

/* The grace before SIGKILL when liveness restarts a container (ns): the
 * result's terminationGracePeriodSeconds if > 0, else the probe's in the
 * spec if > 0, else the pod's spec.terminationGracePeriodSeconds, else 30 s.
 * spec_probe and pod may be NULL. */
int64_t agent_rules_liveness_grace_ns (const Hs__ProbeResult *r, const Hs__Probe *spec_probe,
                                       const Hs__Pod *pod);

/* hs-prober declared the pod lost with its silent node: phase Failed,
 * reason NodeLost. */
bool agent_rules_node_lost (const Hs__Pod *pod);

/* The Node a message on ev.node.* carries (hs_client_on hands any message
 * on the topic), or NULL: not a WatchEvent, a DELETED one, no object, an
 * object of another kind (Object's kinds share one pointer: check before
 * reading ->node), no metadata. Borrowed from env. */
const Hs__Node *agent_rules_event_node (const Hs__Envelope *env);

/* The Node's Ready condition is True. A Node without one is not. When it
 * is True, *ret_since (may be NULL) gets its lastTransitionTime. */
bool agent_rules_node_ready (const Hs__Node *node, int64_t *ret_since);

/* The answer `hs-shim --exec` writes on its stdout: a first line, then the
 * command's combined stdout+stderr (at most AGENT_EXEC_OUTPUT_MAX bytes):
 *   "exit <code>\n"     the command ran and ended (128+N for signal N)
 *   "timeout\n"         it ran past its time and was killed
 *   "error <text>\n"    it could not run (namespaces, cgroup, exec)   */
#define AGENT_EXEC_OUTPUT_MAX (10 * 1024)

typedef struct {
    int32_t exit_code; /* -1 unless "exit" */
    bool timed_out;
    char *error; /* "error" text, "timed out", or a word about a broken answer; NULL if ran */
    const uint8_t *output; /* into the parsed buffer */
    size_t output_len;     /* at most AGENT_EXEC_OUTPUT_MAX */
} agent_exec_answer_t;

/* Parses what the helper wrote (the whole stream up to EOF). Always fills
 * *ret; an empty or malformed answer is an error ("the exec helper ended
 * without an answer"). ret->error is the caller's (free). */
void agent_rules_exec_parse (const uint8_t *buf, size_t len, agent_exec_answer_t *ret);

/* Requests from the bus: the bounds on their ids and names. */
#define AGENT_ID_MAX              128         /* client_id, request_id */
#define AGENT_NAME_MAX            253         /* pod, namespace, container, uid */
#define AGENT_EXEC_ARGS_MAX       1024        /* words in an exec command */
#define AGENT_EXEC_ARGS_BYTES_MAX (64 * 1024) /* their bytes */

/* A client_id or request_id can name a stream and a topic: 1 to AGENT_ID_MAX
 * letters, digits, '-', '_' or '.'. */
bool agent_rules_id_ok (const char *s);
/* A ProbeResult names a pod and a container (within AGENT_NAME_MAX). */
bool agent_rules_probe_result_ok (const Hs__ProbeResult *r);
/* NULL when an ExecRequest (its ids checked apart) can be run, else the
 * error to answer with (static text). */
const char *agent_rules_exec_check (const Hs__ExecRequest *q);
/* NULL when a LogRequest (its ids checked apart) is well-formed, else the
 * message of its Invalid answer (static text). */
const char *agent_rules_log_check (const Hs__LogRequest *r);

#endif
