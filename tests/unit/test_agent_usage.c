/*  test_agent_usage.c: usage.<node>/ samples (agents/node/agent_usage.h):
 *  rates over two samples of a run, a restart starting the figures again,
 *  pods grouped, forgotten runs, the host's /proc parsers, the interval
 *  flag, and the NodeUsage packing through the Envelope as published. */
#include "agent_usage.h"
#include "hs_pb.h"
#include "hs_test.h"
#include "hs_util.h"

#include <errno.h>
#include <stdlib.h>

#define S 1000000000LL

static agent_run_t s_run (const char *uid, const char *c, int32_t restarts, int64_t started)
{
    /* the agent's group name, <uid>_<container>: room for the runs of a test */
    static char groups[128][64];
    static size_t next;
    char *g = groups[next++ % 128];
    if (snprintf (g, 64, "%s_%s", uid, c) >= 64) abort (); /* the tests' names are short */
    return (agent_run_t){.ns = "default",
                         .name = uid,
                         .uid = uid,
                         .container = c,
                         .cgroup = g,
                         .restart_count = restarts,
                         .started_at_ns = started};
}

static hs_cg_usage_t s_cg (uint64_t cpu_ns, int64_t ws)
{
    return (hs_cg_usage_t){.have = HS_CG_HAVE_CPU | HS_CG_HAVE_MEMORY | HS_CG_HAVE_OOM,
                           .cpu_ns = cpu_ns,
                           .memory_usage = ws + 100,
                           .working_set = ws,
                           .oom_kills = 1};
}

static void test_rates (void)
{
    agent_usage_t *u = agent_usage_new ("n1", 1000);
    agent_host_usage_t host = {
        .have_cpu = true, .have_memory = true, .cpu_ns = 10 * S, .memory_working_set = 1 << 30};
    agent_run_t a = s_run ("uid-a", "web", 0, 111), a2 = s_run ("uid-a", "side", 0, 112);
    agent_run_t b = s_run ("uid-b", "busy", 0, 222);
    agent_usage_begin (u, 100 * S, 5000, &host);
    hs_cg_usage_t c = s_cg (1 * S, 4096);
    agent_usage_add (u, &a, &c);
    agent_usage_add (u, &a2, &c);
    agent_usage_add (u, &b, &c);
    const Hs__NodeUsage *nu = agent_usage_end (u);
    CHECK_EQ_STR (nu->node, "n1");
    CHECK_EQ_INT (nu->timestamp, 5000);
    CHECK_EQ_INT (nu->interval_ms, 1000);
    CHECK_EQ_INT (nu->window_ms, 0); /* the first sample */
    CHECK_EQ_INT (nu->cpu_usage_core_ns, 10 * S);
    CHECK_EQ_INT (nu->cpu_usage_nanocores, 0);
    CHECK_EQ_INT (nu->memory_working_set_bytes, 1 << 30);
    CHECK_EQ_INT (nu->n_pods, 2);
    CHECK_EQ_STR (nu->pods[0]->uid, "uid-a");
    CHECK_EQ_INT (nu->pods[0]->n_containers, 2);
    CHECK_EQ_STR (nu->pods[0]->containers[1]->name, "side");
    CHECK_EQ_INT (nu->pods[1]->n_containers, 1);
    CHECK_EQ_INT (nu->pods[1]->containers[0]->cpu_usage_nanocores, 0);
    CHECK_EQ_INT (nu->pods[1]->containers[0]->cpu_usage_core_ns, 1 * S);
    CHECK_EQ_INT (nu->pods[1]->containers[0]->memory_working_set_bytes, 4096);
    CHECK_EQ_INT (nu->pods[1]->containers[0]->memory_usage_bytes, 4196);
    CHECK_EQ_INT (nu->pods[1]->containers[0]->oom_kills, 1);
    CHECK_EQ_INT (nu->pods[1]->containers[0]->started_at, 222);
    CHECK_EQ_INT (agent_usage_tracked (u), 3);

    /* 2 s later: a used 0.5 s of CPU (250m), b 2 s (one core); the host 3 s */
    host.cpu_ns = 13 * S;
    agent_usage_begin (u, 102 * S, 6000, &host);
    c = s_cg (S + S / 2, 8192);
    agent_usage_add (u, &a, &c);
    c = s_cg (3 * S, 8192);
    agent_usage_add (u, &b, &c);
    nu = agent_usage_end (u);
    CHECK_EQ_INT (nu->window_ms, 2000);
    CHECK_EQ_INT (nu->cpu_usage_nanocores, 1500000000);
    CHECK_EQ_INT (nu->n_pods, 2);
    CHECK_EQ_INT (nu->pods[0]->n_containers, 1); /* side no longer runs */
    CHECK_EQ_INT (nu->pods[0]->containers[0]->cpu_usage_nanocores, 250000000);
    CHECK_EQ_INT (nu->pods[1]->containers[0]->cpu_usage_nanocores, 1000000000);
    CHECK_EQ_INT (agent_usage_tracked (u), 2); /* side forgotten */

    /* b restarts: its group kept 3 s from the last run (cpu_base), the new
     * run used 0.2 s so far; the first sample of a run has no rate */
    agent_run_t b1 = s_run ("uid-b", "busy", 1, 333);
    b1.cpu_base_ns = 3 * S;
    agent_usage_begin (u, 103 * S, 7000, &host);
    c = s_cg (3 * S + S / 5, 100);
    agent_usage_add (u, &b1, &c);
    nu = agent_usage_end (u);
    CHECK_EQ_INT (nu->n_pods, 1);
    CHECK_EQ_INT (nu->pods[0]->containers[0]->restart_count, 1);
    CHECK_EQ_INT (nu->pods[0]->containers[0]->cpu_usage_core_ns, S / 5);
    CHECK_EQ_INT (nu->pods[0]->containers[0]->cpu_usage_nanocores, 0);
    CHECK_EQ_INT (nu->window_ms, 1000);
    CHECK_EQ_INT (nu->cpu_usage_nanocores, 0); /* the host was idle */
    agent_usage_begin (u, 104 * S, 8000, &host);
    c = s_cg (3 * S + S / 5 + S / 10, 100);
    agent_usage_add (u, &b1, &c);
    nu = agent_usage_end (u);
    CHECK_EQ_INT (nu->pods[0]->containers[0]->cpu_usage_nanocores, 100000000);
    CHECK_EQ_INT (nu->pods[0]->containers[0]->cpu_usage_core_ns, S / 5 + S / 10);

    /* a counter that went backwards (a group made again): no rate, and the
     * run's time is the group's */
    agent_usage_begin (u, 105 * S, 9000, NULL);
    c = s_cg (S, 100);
    agent_usage_add (u, &b1, &c);
    nu = agent_usage_end (u);
    CHECK_EQ_INT (nu->pods[0]->containers[0]->cpu_usage_nanocores, 0);
    CHECK_EQ_INT (nu->pods[0]->containers[0]->cpu_usage_core_ns, S);
    CHECK_EQ_INT (nu->cpu_usage_core_ns, 0); /* no host figures */

    /* a group whose CPU cannot be read: memory only, nothing remembered */
    agent_usage_begin (u, 106 * S, 9500, NULL);
    c = (hs_cg_usage_t){.have = HS_CG_HAVE_MEMORY, .working_set = 7, .memory_usage = 8};
    agent_usage_add (u, &a, &c);
    nu = agent_usage_end (u);
    CHECK_EQ_INT (nu->pods[0]->containers[0]->memory_working_set_bytes, 7);
    CHECK_EQ_INT (nu->pods[0]->containers[0]->cpu_usage_core_ns, 0);
    CHECK_EQ_INT (agent_usage_tracked (u), 0);

    /* empty: no pods, packs and unpacks */
    agent_usage_begin (u, 107 * S, 9900, NULL);
    nu = agent_usage_end (u);
    CHECK_EQ_INT (nu->n_pods, 0);
    agent_usage_destroy (&u);
    CHECK (u == NULL);
    agent_usage_destroy (&u);
}

/* Static pods before their mirror is seen: no uid, told apart by name and
 * by their groups. */
static void test_static (void)
{
    agent_usage_t *u = agent_usage_new ("n1", 1000);
    agent_run_t a = s_run ("sa", "main", 0, 1), b = s_run ("sb", "main", 0, 1);
    a.uid = b.uid = "";
    for (int round = 0; round < 2; round++) {
        agent_usage_begin (u, (10 + round) * S, 1, NULL);
        hs_cg_usage_t ca = s_cg ((uint64_t)round * S / 10, 1),
                      cb = s_cg ((uint64_t)round * S / 2, 1);
        agent_usage_add (u, &a, &ca);
        agent_usage_add (u, &b, &cb);
        const Hs__NodeUsage *nu = agent_usage_end (u);
        CHECK_EQ_INT (nu->n_pods, 2);
        CHECK_EQ_STR (nu->pods[0]->name, "sa");
        CHECK_EQ_STR (nu->pods[1]->name, "sb");
        CHECK_EQ_INT (nu->pods[0]->containers[0]->cpu_usage_nanocores, round ? S / 10 : 0);
        CHECK_EQ_INT (nu->pods[1]->containers[0]->cpu_usage_nanocores, round ? S / 2 : 0);
    }
    agent_usage_destroy (&u);
}

static void test_pack (void)
{
    agent_usage_t *u = agent_usage_new ("node-x", 500);
    for (int round = 0; round < 3; round++) {
        agent_usage_begin (u, (10 + round) * S, round, NULL);
        char uids[40][16]; /* borrowed until the NodeUsage is packed */
        for (int p = 0; p < 40; p++) {
            snprintf (uids[p], sizeof uids[p], "uid-%d", p);
            agent_run_t r = s_run (uids[p], "c", 0, 1);
            hs_cg_usage_t c = s_cg ((uint64_t)(round * p) * S / 100, p * 1000);
            agent_usage_add (u, &r, &c);
        }
        Hs__Envelope env = HS__ENVELOPE__INIT;
        env.body_case = HS__ENVELOPE__BODY_USAGE;
        env.usage = (Hs__NodeUsage *)agent_usage_end (u);
        size_t len = hs__envelope__get_packed_size (&env);
        uint8_t *buf = malloc (len);
        hs__envelope__pack (&env, buf);
        Hs__Envelope *back = hs__envelope__unpack (NULL, len, buf);
        CHECK (back && back->body_case == HS__ENVELOPE__BODY_USAGE);
        if (back && back->usage) {
            CHECK_EQ_STR (back->usage->node, "node-x");
            CHECK_EQ_INT (back->usage->n_pods, 40);
            CHECK_EQ_STR (back->usage->pods[39]->uid, "uid-39");
            /* p/100 of a core from the second sample on */
            if (round > 0)
                CHECK_EQ_INT (back->usage->pods[39]->containers[0]->cpu_usage_nanocores, 390000000);
        }
        hs__envelope__free_unpacked (back, NULL);
        free (buf);
    }
    agent_usage_destroy (&u);
}

static void test_host (void)
{
    uint64_t ns = 0;
    /* busy: user nice system irq softirq steal; not idle, iowait, guest */
    CHECK_EQ_INT (
        agent_usage_parse_stat ("cpu  100 20 30 5000 40 5 6 7 50 60\ncpu0 1 2 3 4\n", 100, &ns), 0);
    CHECK_EQ_INT (ns, (100 + 20 + 30 + 5 + 6 + 7) * 10000000LL);
    CHECK_EQ_INT (agent_usage_parse_stat ("cpu 1 2 3 4\n", 1000, &ns), 0);
    CHECK_EQ_INT (ns, 6 * 1000000LL);
    CHECK_EQ_INT (agent_usage_parse_stat ("cpu0 1 2 3 4\n", 100, &ns), -EBADMSG);
    CHECK_EQ_INT (agent_usage_parse_stat ("cpu 1 2\n", 100, &ns), -EBADMSG);
    CHECK_EQ_INT (agent_usage_parse_stat ("", 100, &ns), -EBADMSG);
    CHECK_EQ_INT (agent_usage_parse_stat ("cpu 1 2 3 4", 0, &ns), -EBADMSG);
    int64_t b = 0;
    CHECK_EQ_INT (agent_usage_parse_meminfo (
                      "MemTotal:       16000 kB\nMemFree:  100 kB\nMemAvailable:   6000 kB\n", &b),
                  0);
    CHECK_EQ_INT (b, 10000 * 1024LL);
    CHECK_EQ_INT (agent_usage_parse_meminfo ("MemTotal: 1 kB\n", &b), -EBADMSG);
    CHECK_EQ_INT (agent_usage_parse_meminfo ("MemTotal: x kB\nMemAvailable: 1 kB\n", &b), -EBADMSG);
    CHECK_EQ_INT (agent_usage_parse_meminfo ("MemTotal: 1 kB\nMemAvailable: 5 kB\n", &b), 0);
    CHECK_EQ_INT (b, 0);
    /* this machine's */
    agent_host_usage_t h;
    agent_usage_read_host (NULL, &h);
    CHECK (h.have_cpu && h.cpu_ns > 0);
    CHECK (h.have_memory && h.memory_working_set > 0);
    agent_usage_read_host ("/nonexistent", &h);
    CHECK (!h.have_cpu && !h.have_memory);
    CHECK_EQ_INT (agent_usage_nanocores (S, S), S);
    CHECK_EQ_INT (agent_usage_nanocores (S, 0), 0);
    CHECK_EQ_INT (agent_usage_nanocores (UINT64_MAX, 1), UINT64_MAX);
}

static void test_interval (void)
{
    int64_t ns = -1;
    CHECK_EQ_INT (agent_usage_parse_interval ("1s", &ns), 0);
    CHECK_EQ_INT (ns, S);
    CHECK_EQ_INT (agent_usage_parse_interval ("500ms", &ns), 0);
    CHECK_EQ_INT (ns, S / 2);
    CHECK_EQ_INT (agent_usage_parse_interval ("2", &ns), 0);
    CHECK_EQ_INT (ns, 2 * S);
    CHECK_EQ_INT (agent_usage_parse_interval ("0", &ns), 0);
    CHECK_EQ_INT (ns, 0);
    const char *bad[] = {"", "s", "-1s", "1m", "10ms", "3601s", "1 s", "1.5s", "99999999999999"};
    for (size_t i = 0; i < HS_ARRAY_LEN (bad); i++) {
        ns = 42;
        CHECK_EQ_INT (agent_usage_parse_interval (bad[i], &ns), -EINVAL);
        CHECK_EQ_INT (ns, 42);
    }
    CHECK_EQ_INT (agent_usage_parse_interval (NULL, &ns), -EINVAL);
}

int main (int argc, char **argv)
{
    static const hs_test_t tests[] = {
        {"rates", test_rates}, {"static", test_static},     {"pack", test_pack},
        {"host", test_host},   {"interval", test_interval},
    };
    return HS_TEST_RUN (tests);
}
