/*  fuzz_agent.c: libFuzzer target for what hs-agent and hs-hollow take from
 *  the bus, through the same code they use, minus sockets and processes:
 *    - the envelope decode (hs_bus_decode: frame count, topic, size, body);
 *    - watch events on ev.pod.*: what the client library's watch asks of
 *      the object (hs_obj_in_stream, then hs_obj_key_of, hs_obj_stream,
 *      hs_obj_topic), then the agents' decisions on pods
 *      (agent_rules_node_lost, hs_pod_terminal, the liveness grace);
 *    - any message as if on ev.node.* (agent_rules_event_node, then
 *      agent_rules_node_ready);
 *    - probe.<node>: ProbeResult checks and agent_rules_probe on a
 *      container state taken from the control byte; ExecRequest checks;
 *    - logreq.<node>: LogRequest checks;
 *    - the exec helper's answer (agent_rules_exec_parse) on the envelope
 *      bytes as they are.
 *
 *  Input: one control byte (the container's probe state: running, which
 *  probes its spec has, their latest word), the topic up to the first '\n',
 *  then the envelope bytes. Invariants (abort on failure): a container
 *  ready is started, a started one runs; the grace before a liveness kill
 *  is not negative; an exec answer is an error or an exit code, never both,
 *  with at most AGENT_EXEC_OUTPUT_MAX bytes of output.
 *  Not part of the default build: tests/fuzz/build.sh.
 */
#include "agent_rules.h"
#include "hs_bus.h"
#include "hs_obj.h"
#include "hs_pb.h"
#include "hs_util.h"
#include "hs_workload.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void s_check_probe_state (const agent_cprobe_t *c)
{
    if (agent_rules_ready (c) && !agent_rules_started (c)) abort ();
    if (agent_rules_started (c) && !c->running) abort ();
}

static void s_pod (const Hs__Pod *pod)
{
    (void)agent_rules_node_lost (pod);
    (void)hs_pod_terminal (pod);
    if (pod->status) (void)hs_pod_phase_terminal (pod->status->phase);
    /* The grace a liveness kill would give each container with a probe. */
    Hs__ProbeResult r = HS__PROBE_RESULT__INIT;
    for (size_t i = 0; pod->spec && i < pod->spec->n_containers; i++) {
        const Hs__Container *c = pod->spec->containers[i];
        if (c && agent_rules_liveness_grace_ns (&r, c->liveness_probe, pod) < 0) abort ();
    }
    if (agent_rules_liveness_grace_ns (&r, NULL, pod) < 0) abort ();
}

/* ev.pod.*: what a pod watch of the client library lets through
 * (hs_obj_in_stream), then the agents' decisions about the pod. */
static void s_pod_event (const Hs__WatchEvent *ev)
{
    const Hs__Object *o = ev->object;
    if (!o || !hs_obj_in_stream (o, ev->stream)) return;
    free (hs_obj_key_of (o));
    free (hs_obj_stream (o));
    free (hs_obj_topic (o));
    if (hs_obj_kind (o) == HS_KIND_POD) s_pod (o->pod);
}

/* ev.node.*: hs_client_on hands the agents any message there. */
static void s_node_event (const Hs__Envelope *env)
{
    const Hs__Node *node = agent_rules_event_node (env);
    if (!node) return;
    int64_t since = 0;
    (void)agent_rules_node_ready (node, &since);
    (void)agent_rules_node_ready (node, NULL);
}

static void s_probe_result (uint8_t ctl, const Hs__ProbeResult *r)
{
    if (!agent_rules_probe_result_ok (r)) return;
    agent_cprobe_t c = {
        .running = ctl & 0x01,
        .has_readiness = ctl & 0x02,
        .has_startup = ctl & 0x04,
        .has_liveness = ctl & 0x08,
        .probe_ready = ctl & 0x10,
        .probe_started = ctl & 0x20,
        .live_killed = ctl & 0x40,
        .restarts = ctl & 0x80 ? r->restart_count : 0,
    };
    agent_probe_action_t a = agent_rules_probe (&c, r);
    if (a > AGENT_PROBE_RESTART) abort ();
    s_check_probe_state (&c);
    if (a == AGENT_PROBE_RESTART && agent_rules_liveness_grace_ns (r, NULL, NULL) <= 0)
        abort (); /* 30 s or the result's */
    agent_rules_new_run (&c);
    s_check_probe_state (&c);
}

static void s_exec_answer (const uint8_t *data, size_t size)
{
    agent_exec_answer_t a;
    agent_rules_exec_parse (data, size, &a);
    if (a.output_len > AGENT_EXEC_OUTPUT_MAX) abort ();
    if (a.output_len && (a.output < data || a.output + a.output_len > data + size)) abort ();
    if (!a.error && (a.exit_code < 0 || a.timed_out)) abort ();
    if (a.error && a.exit_code != -1) abort ();
    free (a.error);
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    uint8_t ctl = data[0];
    const uint8_t *t = data + 1;
    size_t rest = size - 1;
    const uint8_t *nl = memchr (t, '\n', rest);
    size_t tlen = nl ? (size_t)(nl - t) : rest;
    size_t blen = nl ? rest - tlen - 1 : 0;
    /* Each frame its own allocation: ASan sees reads past it. */
    hs_frame_t frames[2] = {{malloc (tlen ? tlen : 1), tlen}, {malloc (blen ? blen : 1), blen}};
    if (tlen) memcpy (frames[0].data, t, tlen);
    if (blen) memcpy (frames[1].data, nl + 1, blen);

    s_exec_answer (frames[1].data, blen);

    Hs__Envelope *env = NULL;
    hs_garbage_t reason;
    if (hs_bus_decode (frames, 2, &env, &reason) == 0) {
        s_node_event (env);
        switch (env->body_case) {
        case HS__ENVELOPE__BODY_EVENT: s_pod_event (env->event); break;
        case HS__ENVELOPE__BODY_PROBE_RESULT: s_probe_result (ctl, env->probe_result); break;
        case HS__ENVELOPE__BODY_EXEC_REQUEST: {
            const Hs__ExecRequest *q = env->exec_request;
            if (agent_rules_id_ok (q->client_id) && agent_rules_id_ok (q->request_id))
                (void)agent_rules_exec_check (q);
            break;
        }
        case HS__ENVELOPE__BODY_LOG_REQUEST: {
            const Hs__LogRequest *r = env->log_request;
            if (agent_rules_id_ok (r->client_id) && agent_rules_id_ok (r->request_id))
                (void)agent_rules_log_check (r);
            break;
        }
        default: break;
        }
        hs_pb_free (env);
    } else if (reason >= HS_GARBAGE__COUNT) {
        abort ();
    }
    free (frames[0].data);
    free (frames[1].data);
    return 0;
}
