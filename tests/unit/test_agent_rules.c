/*  test_agent_rules.c: the node agent's pure decisions about probes and
 *  node failure (agents/common/agent_rules.c): started/ready flags and their
 *  aggregation, what each ProbeResult does (current run only, once-per-run
 *  liveness restarts, probes the spec lacks), the liveness grace, NodeLost
 *  and Node Ready as read from the store, and the exec helper's answer.
 */
#include "agent_rules.h"
#include "hs_obj.h"
#include "hs_pb.h"
#include "hs_test.h"
#include "hs_util.h"

#include <stdlib.h>

static Hs__ProbeResult s_result (const char *probe, bool success, int32_t run)
{
    Hs__ProbeResult r = HS__PROBE_RESULT__INIT;
    r.probe = (char *)probe;
    r.success = success;
    r.restart_count = run;
    r.termination_grace_period_seconds = -1;
    return r;
}

static void test_flags (void)
{
    /* No probes: ready and started once running. */
    agent_cprobe_t c = {.running = true};
    CHECK (agent_rules_started (&c));
    CHECK (agent_rules_ready (&c));
    c.running = false;
    CHECK (!agent_rules_started (&c));
    CHECK (!agent_rules_ready (&c));

    /* A readinessProbe: started, not ready until it succeeds. */
    c = (agent_cprobe_t){.running = true, .has_readiness = true};
    CHECK (agent_rules_started (&c));
    CHECK (!agent_rules_ready (&c));
    c.probe_ready = true;
    CHECK (agent_rules_ready (&c));

    /* A startupProbe: neither started nor ready until it succeeds, even
     * with readiness already saying yes. */
    c = (agent_cprobe_t){
        .running = true, .has_startup = true, .has_readiness = true, .probe_ready = true};
    CHECK (!agent_rules_started (&c));
    CHECK (!agent_rules_ready (&c));
    c.probe_started = true;
    CHECK (agent_rules_started (&c));
    CHECK (agent_rules_ready (&c));

    /* Being restarted for liveness: not ready. */
    c.live_killed = true;
    CHECK (!agent_rules_ready (&c));

    /* A new run forgets every word. */
    agent_rules_new_run (&c);
    CHECK (!c.probe_ready && !c.probe_started && !c.live_killed);
    CHECK (!agent_rules_ready (&c));
}

static void test_readiness (void)
{
    agent_cprobe_t c = {.running = true, .restarts = 2, .has_readiness = true};
    Hs__ProbeResult r = s_result ("readiness", true, 2);
    CHECK_EQ_INT (agent_rules_probe (&c, &r), AGENT_PROBE_CHANGED);
    CHECK (agent_rules_ready (&c));
    /* The same word again: nothing to write. */
    CHECK_EQ_INT (agent_rules_probe (&c, &r), AGENT_PROBE_UNCHANGED);
    /* About an older run: ignored. */
    Hs__ProbeResult old = s_result ("readiness", false, 1);
    CHECK_EQ_INT (agent_rules_probe (&c, &old), AGENT_PROBE_IGNORED);
    CHECK (agent_rules_ready (&c));
    /* About a run that has not started: ignored. */
    Hs__ProbeResult future = s_result ("readiness", false, 3);
    CHECK_EQ_INT (agent_rules_probe (&c, &future), AGENT_PROBE_IGNORED);
    r.success = false;
    CHECK_EQ_INT (agent_rules_probe (&c, &r), AGENT_PROBE_CHANGED);
    CHECK (!agent_rules_ready (&c));
    /* A container without a readinessProbe: not for it. */
    agent_cprobe_t plain = {.running = true};
    CHECK_EQ_INT (agent_rules_probe (&plain, &r), AGENT_PROBE_IGNORED);
    CHECK (agent_rules_ready (&plain));
    /* Not running: ignored. */
    c.running = false;
    r.success = true;
    CHECK_EQ_INT (agent_rules_probe (&c, &r), AGENT_PROBE_IGNORED);
    /* Unknown probe kind. */
    c.running = true;
    Hs__ProbeResult odd = s_result ("sideways", true, 2);
    CHECK_EQ_INT (agent_rules_probe (&c, &odd), AGENT_PROBE_IGNORED);
}

static void test_startup (void)
{
    agent_cprobe_t c = {.running = true, .has_startup = true};
    Hs__ProbeResult fail = s_result ("startup", false, 0);
    CHECK_EQ_INT (agent_rules_probe (&c, &fail), AGENT_PROBE_UNCHANGED);
    CHECK (!agent_rules_started (&c));
    Hs__ProbeResult ok = s_result ("startup", true, 0);
    CHECK_EQ_INT (agent_rules_probe (&c, &ok), AGENT_PROBE_CHANGED);
    CHECK (agent_rules_started (&c));
    CHECK (agent_rules_ready (&c));
    /* Once started, a run stays started. */
    CHECK_EQ_INT (agent_rules_probe (&c, &fail), AGENT_PROBE_UNCHANGED);
    CHECK (agent_rules_started (&c));
}

static void test_liveness (void)
{
    agent_cprobe_t c = {.running = true, .has_liveness = true};
    Hs__ProbeResult ok = s_result ("liveness", true, 0);
    CHECK_EQ_INT (agent_rules_probe (&c, &ok), AGENT_PROBE_UNCHANGED);
    Hs__ProbeResult bad = s_result ("liveness", false, 0);
    CHECK_EQ_INT (agent_rules_probe (&c, &bad), AGENT_PROBE_RESTART);
    CHECK (!agent_rules_ready (&c));
    /* Once per run: the repeated verdict does nothing more. */
    CHECK_EQ_INT (agent_rules_probe (&c, &bad), AGENT_PROBE_UNCHANGED);
    /* The next run: a failure about it restarts again, one about the old
     * run does not. */
    agent_rules_new_run (&c);
    c.restarts = 1;
    CHECK_EQ_INT (agent_rules_probe (&c, &bad), AGENT_PROBE_IGNORED);
    bad.restart_count = 1;
    CHECK_EQ_INT (agent_rules_probe (&c, &bad), AGENT_PROBE_RESTART);
    /* No livenessProbe in the spec: never a restart. */
    agent_cprobe_t plain = {.running = true};
    bad.restart_count = 0;
    CHECK_EQ_INT (agent_rules_probe (&plain, &bad), AGENT_PROBE_IGNORED);
    /* A failed startupProbe comes as a liveness failure: restart. */
    agent_cprobe_t startup = {.running = true, .has_startup = true};
    CHECK_EQ_INT (agent_rules_probe (&startup, &bad), AGENT_PROBE_RESTART);
}

static void test_grace (void)
{
    Hs__ProbeResult r = s_result ("liveness", false, 0);
    CHECK_EQ_INT (agent_rules_liveness_grace_ns (&r, NULL, NULL), 30 * 1000000000LL);
    Hs__Pod pod = HS__POD__INIT;
    Hs__PodSpec spec = HS__POD_SPEC__INIT;
    Hs__Int64Value pg = HS__INT64_VALUE__INIT;
    pg.value = 7;
    spec.termination_grace_period_seconds = &pg;
    pod.spec = &spec;
    CHECK_EQ_INT (agent_rules_liveness_grace_ns (&r, NULL, &pod), 7 * 1000000000LL);
    Hs__Probe probe = HS__PROBE__INIT;
    Hs__Int64Value prg = HS__INT64_VALUE__INIT;
    prg.value = 3;
    probe.termination_grace_period_seconds = &prg;
    CHECK_EQ_INT (agent_rules_liveness_grace_ns (&r, &probe, &pod), 3 * 1000000000LL);
    r.termination_grace_period_seconds = 2;
    CHECK_EQ_INT (agent_rules_liveness_grace_ns (&r, &probe, &pod), 2 * 1000000000LL);
    /* 0 in the result means "not given", not "no grace". */
    r.termination_grace_period_seconds = 0;
    CHECK_EQ_INT (agent_rules_liveness_grace_ns (&r, NULL, &pod), 7 * 1000000000LL);
    /* The pod's 0 is a real 0. */
    pg.value = 0;
    CHECK_EQ_INT (agent_rules_liveness_grace_ns (&r, NULL, &pod), 0);
}

static void test_node_lost (void)
{
    Hs__Pod pod = HS__POD__INIT;
    CHECK (!agent_rules_node_lost (&pod));
    CHECK (!agent_rules_node_lost (NULL));
    Hs__PodStatus st = HS__POD_STATUS__INIT;
    pod.status = &st;
    st.phase = (char *)"Failed";
    st.reason = (char *)"Evicted";
    CHECK (!agent_rules_node_lost (&pod));
    st.reason = (char *)"NodeLost";
    CHECK (agent_rules_node_lost (&pod));
    st.phase = (char *)"Running";
    CHECK (!agent_rules_node_lost (&pod));
}

static void test_node_ready (void)
{
    Hs__Node node = HS__NODE__INIT;
    CHECK (!agent_rules_node_ready (&node, NULL));
    Hs__NodeStatus st = HS__NODE_STATUS__INIT;
    node.status = &st;
    Hs__NodeCondition other = HS__NODE_CONDITION__INIT, ready = HS__NODE_CONDITION__INIT;
    other.type = (char *)"MemoryPressure";
    other.status = (char *)"True";
    ready.type = (char *)"Ready";
    ready.status = (char *)"Unknown";
    ready.last_transition_time = 42;
    Hs__NodeCondition *conds[] = {&other, &ready};
    st.conditions = conds;
    st.n_conditions = 1;
    CHECK (!agent_rules_node_ready (&node, NULL)); /* no Ready condition */
    st.n_conditions = 2;
    int64_t since = -1;
    CHECK (!agent_rules_node_ready (&node, &since));
    CHECK_EQ_INT (since, -1);
    ready.status = (char *)"False";
    CHECK (!agent_rules_node_ready (&node, &since));
    ready.status = (char *)"True";
    CHECK (agent_rules_node_ready (&node, &since));
    CHECK_EQ_INT (since, 42);
}

static void s_parse (const char *text, size_t len, agent_exec_answer_t *a)
{
    agent_rules_exec_parse ((const uint8_t *)text, len, a);
}

static void test_exec_parse (void)
{
    agent_exec_answer_t a;
    s_parse ("exit 0\nhello\n", 13, &a);
    CHECK_EQ_INT (a.exit_code, 0);
    CHECK (!a.error && !a.timed_out);
    CHECK_EQ_INT (a.output_len, 6);
    CHECK (memcmp (a.output, "hello\n", 6) == 0);

    s_parse ("exit 137\n", 9, &a);
    CHECK_EQ_INT (a.exit_code, 137);
    CHECK_EQ_INT (a.output_len, 0);
    CHECK (!a.error);

    s_parse ("timeout\npartial", 15, &a);
    CHECK_EQ_INT (a.exit_code, -1);
    CHECK (a.timed_out);
    CHECK_EQ_STR (a.error, "timed out");
    CHECK_EQ_INT (a.output_len, 7);
    free (a.error);

    s_parse ("error container not running\n", 28, &a);
    CHECK_EQ_INT (a.exit_code, -1);
    CHECK_EQ_STR (a.error, "container not running");
    free (a.error);

    /* Nothing, no newline, garbage, out-of-range codes: an error, no output. */
    const char *bad[] = {"", "exit 0", "exit x\n", "exit 256\n", "exit -1\n", "error \n", "what\n"};
    for (size_t i = 0; i < HS_ARRAY_LEN (bad); i++) {
        s_parse (bad[i], strlen (bad[i]), &a);
        CHECK_EQ_INT (a.exit_code, -1);
        CHECK (a.error != NULL);
        CHECK_EQ_INT (a.output_len, 0);
        free (a.error);
    }
    /* Output is capped. */
    size_t big = AGENT_EXEC_OUTPUT_MAX + 100;
    char *buf = malloc (big + 7);
    memcpy (buf, "exit 1\n", 7);
    memset (buf + 7, 'x', big);
    s_parse (buf, big + 7, &a);
    CHECK_EQ_INT (a.exit_code, 1);
    CHECK_EQ_INT (a.output_len, AGENT_EXEC_OUTPUT_MAX);
    free (buf);
}

/* A message on ev.node.* whose object is another kind is no Node: Object's
 * kinds share one pointer (fuzz_agent: a Job there was read as a Node). */
static void test_event_node (void)
{
    Hs__Envelope env = HS__ENVELOPE__INIT;
    CHECK (agent_rules_event_node (&env) == NULL);
    Hs__WatchEvent ev = HS__WATCH_EVENT__INIT;
    env.body_case = HS__ENVELOPE__BODY_EVENT;
    env.event = &ev;
    CHECK (agent_rules_event_node (&env) == NULL);
    ev.type = HS__EVENT_TYPE__MODIFIED;
    ev.object = hs_obj_new (HS_KIND_JOB, "default", "n1");
    CHECK (agent_rules_event_node (&env) == NULL);
    hs_pb_free (ev.object);
    ev.object = hs_obj_new (HS_KIND_NODE, NULL, "n1");
    const Hs__Node *n = agent_rules_event_node (&env);
    CHECK (n != NULL && hs_streq (n->metadata->name, "n1"));
    ev.type = HS__EVENT_TYPE__DELETED;
    CHECK (agent_rules_event_node (&env) == NULL);
    hs_pb_free (ev.object);
    /* an envelope of another body whose pointer is not an event */
    Hs__Ping ping = HS__PING__INIT;
    env.body_case = HS__ENVELOPE__BODY_PING;
    env.ping = &ping;
    CHECK (agent_rules_event_node (&env) == NULL);
}

static void test_requests (void)
{
    CHECK (agent_rules_id_ok ("hsctl-1.a_b"));
    CHECK (!agent_rules_id_ok (""));
    CHECK (!agent_rules_id_ok (NULL));
    CHECK (!agent_rules_id_ok ("a/b"));
    char id[AGENT_ID_MAX + 2];
    memset (id, 'a', sizeof id - 1);
    id[sizeof id - 1] = '\0';
    CHECK (!agent_rules_id_ok (id));
    id[AGENT_ID_MAX] = '\0';
    CHECK (agent_rules_id_ok (id));

    Hs__ProbeResult r = HS__PROBE_RESULT__INIT;
    CHECK (!agent_rules_probe_result_ok (&r));
    r.pod = "web";
    r.container = "c";
    CHECK (agent_rules_probe_result_ok (&r));

    Hs__ExecRequest q = HS__EXEC_REQUEST__INIT;
    CHECK_EQ_STR (agent_rules_exec_check (&q), "a valid pod name is required");
    q.pod = "web";
    CHECK_EQ_STR (agent_rules_exec_check (&q), "no command given");
    char *cmd[] = {"true"};
    q.command = cmd;
    q.n_command = 1;
    CHECK (agent_rules_exec_check (&q) == NULL);
    q.n_command = AGENT_EXEC_ARGS_MAX + 1;
    char **many = calloc (q.n_command, sizeof *many);
    for (size_t i = 0; i < q.n_command; i++) many[i] = "x";
    q.command = many;
    CHECK_EQ_STR (agent_rules_exec_check (&q), "the command is too long");
    free (many);

    Hs__LogRequest l = HS__LOG_REQUEST__INIT;
    CHECK_EQ_STR (agent_rules_log_check (&l), "a valid pod name is required");
    l.pod = "web";
    CHECK (agent_rules_log_check (&l) == NULL);
    l.limit_bytes = -1;
    CHECK_EQ_STR (agent_rules_log_check (&l), "limitBytes: must be greater than 0");
}

int main (int argc, char **argv)
{
    static const hs_test_t tests[] = {
        {"flags", test_flags},           {"readiness", test_readiness},
        {"startup", test_startup},       {"liveness", test_liveness},
        {"grace", test_grace},           {"node_lost", test_node_lost},
        {"node_ready", test_node_ready}, {"exec_parse", test_exec_parse},
        {"requests", test_requests},     {"event_node", test_event_node},
    };
    return HS_TEST_RUN (tests);
}
