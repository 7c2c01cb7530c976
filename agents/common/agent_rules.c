/*  agent_rules.c: the agent's pure decisions about probes and node failure
 *  (see agent_rules.h). */
#include "agent_rules.h"

#include "hs_util.h"

#include <stdlib.h>
#include <string.h>

bool agent_rules_started (const agent_cprobe_t *c)
{
    return c->running && (!c->has_startup || c->probe_started);
}

bool agent_rules_ready (const agent_cprobe_t *c)
{
    /* A container being restarted for liveness is on its way down. */
    return agent_rules_started (c) && !c->live_killed && (!c->has_readiness || c->probe_ready);
}

void agent_rules_new_run (agent_cprobe_t *c)
{
    c->probe_ready = c->probe_started = c->live_killed = false;
}

agent_probe_action_t agent_rules_probe (agent_cprobe_t *c, const Hs__ProbeResult *r)
{
    if (!c->running || r->restart_count != c->restarts) return AGENT_PROBE_IGNORED;
    bool was_started = agent_rules_started (c), was_ready = agent_rules_ready (c);
    const char *probe = r->probe;
    if (hs_streq (probe, "readiness")) {
        if (!c->has_readiness) return AGENT_PROBE_IGNORED;
        c->probe_ready = r->success;
    } else if (hs_streq (probe, "startup")) {
        if (!c->has_startup) return AGENT_PROBE_IGNORED;
        /* Once started, a run stays started (the prober stops probing). */
        if (r->success) c->probe_started = true;
    } else if (hs_streq (probe, "liveness")) {
        /* hs-prober says a failed startupProbe as a liveness failure too:
         * both mean "restart it" (Kubernetes kills a container whose
         * startup probe fails). */
        if (!c->has_liveness && !c->has_startup) return AGENT_PROBE_IGNORED;
        if (r->success || c->live_killed) return AGENT_PROBE_UNCHANGED;
        c->live_killed = true;
        return AGENT_PROBE_RESTART;
    } else {
        return AGENT_PROBE_IGNORED;
    }
    return was_started != agent_rules_started (c) || was_ready != agent_rules_ready (c)
               ? AGENT_PROBE_CHANGED
               : AGENT_PROBE_UNCHANGED;
}

int64_t agent_rules_liveness_grace_ns (const Hs__ProbeResult *r, const Hs__Probe *spec_probe,
                                       const Hs__Pod *pod)
{
    int64_t s = 30;
    const Hs__Int64Value *pg =
        pod && pod->spec ? pod->spec->termination_grace_period_seconds : NULL;
    if (pg && pg->value >= 0) s = pg->value;
    if (spec_probe && spec_probe->termination_grace_period_seconds &&
        spec_probe->termination_grace_period_seconds->value > 0)
        s = spec_probe->termination_grace_period_seconds->value;
    if (r && r->termination_grace_period_seconds > 0) s = r->termination_grace_period_seconds;
    if (s > 86400 * 365) s = 86400 * 365;
    return s * 1000000000LL;
}

const Hs__Node *agent_rules_event_node (const Hs__Envelope *env)
{
    const Hs__WatchEvent *ev = env->body_case == HS__ENVELOPE__BODY_EVENT ? env->event : NULL;
    if (!ev || ev->type == HS__EVENT_TYPE__DELETED || !ev->object ||
        ev->object->kind_case != HS__OBJECT__KIND_NODE || !ev->object->node ||
        !ev->object->node->metadata)
        return NULL;
    return ev->object->node;
}

bool agent_rules_node_lost (const Hs__Pod *pod)
{
    const Hs__PodStatus *st = pod ? pod->status : NULL;
    return st && hs_streq (st->phase, "Failed") && hs_streq (st->reason, "NodeLost");
}

bool agent_rules_node_ready (const Hs__Node *node, int64_t *ret_since)
{
    const Hs__NodeStatus *st = node ? node->status : NULL;
    for (size_t i = 0; st && i < st->n_conditions; i++) {
        const Hs__NodeCondition *c = st->conditions[i];
        if (!hs_streq (c->type, "Ready")) continue;
        if (!hs_streq (c->status, "True")) return false;
        if (ret_since) *ret_since = c->last_transition_time;
        return true;
    }
    return false;
}

void agent_rules_exec_parse (const uint8_t *buf, size_t len, agent_exec_answer_t *ret)
{
    memset (ret, 0, sizeof *ret);
    ret->exit_code = -1;
    const uint8_t *nl = len ? memchr (buf, '\n', len) : NULL;
    if (!nl) {
        ret->error = hs_strdup ("the exec helper ended without an answer");
        return;
    }
    size_t hl = (size_t)(nl - buf);
    _cleanup_free_ char *head = hs_strndup ((const char *)buf, hl);
    ret->output = nl + 1;
    ret->output_len = len - hl - 1;
    if (ret->output_len > AGENT_EXEC_OUTPUT_MAX) ret->output_len = AGENT_EXEC_OUTPUT_MAX;
    if (hs_startswith (head, "exit ")) {
        int64_t v;
        if (hs_parse_i64 (head + 5, &v) == 0 && v >= 0 && v <= 255) {
            ret->exit_code = (int32_t)v;
            return;
        }
    } else if (hs_streq (head, "timeout")) {
        ret->timed_out = true;
        ret->error = hs_strdup ("timed out");
        return;
    } else if (hs_startswith (head, "error ") && head[6]) {
        ret->error = hs_strdup (head + 6);
        return;
    }
    ret->output = NULL;
    ret->output_len = 0;
    ret->error = hs_strdup ("the exec helper's answer is malformed");
}

/* ------------------------------------------------------------------ requests */

bool agent_rules_id_ok (const char *s)
{
    size_t n = s ? strlen (s) : 0;
    if (n == 0 || n > AGENT_ID_MAX) return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return false;
    }
    return true;
}

static bool s_name_ok (const char *s, bool required)
{
    size_t n = s ? strlen (s) : 0;
    return (!required || n > 0) && n <= AGENT_NAME_MAX;
}

bool agent_rules_probe_result_ok (const Hs__ProbeResult *r)
{
    return s_name_ok (r->pod, true) && s_name_ok (r->namespace_, false) &&
           s_name_ok (r->container, true);
}

const char *agent_rules_exec_check (const Hs__ExecRequest *q)
{
    if (!s_name_ok (q->pod, true) || !s_name_ok (q->namespace_, false) ||
        !s_name_ok (q->container, false) || !s_name_ok (q->uid, false))
        return "a valid pod name is required";
    if (q->n_command == 0 || hs_empty (q->command[0])) return "no command given";
    size_t bytes = 0;
    for (size_t i = 0; i < q->n_command; i++) bytes += strlen (q->command[i]) + 1;
    if (q->n_command > AGENT_EXEC_ARGS_MAX || bytes > AGENT_EXEC_ARGS_BYTES_MAX)
        return "the command is too long";
    return NULL;
}

const char *agent_rules_log_check (const Hs__LogRequest *r)
{
    if (!s_name_ok (r->pod, true) || !s_name_ok (r->namespace_, false) ||
        !s_name_ok (r->container, false))
        return "a valid pod name is required";
    if (r->limit_bytes < 0) return "limitBytes: must be greater than 0";
    return NULL;
}
