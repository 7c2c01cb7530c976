/*  test_usage.c: the latest-sample table and Kubernetes' texts for usage
 *  (bus/hs_usage.h, issue 18). */
#include "hs_pb.h"
#include "hs_test.h"
#include "hs_usage.h"
#include "hs_util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define S 1000000000LL

static void test_formats (void)
{
    struct {
        uint64_t v;
        const char *s;
    } cpu[] = {{0, "0"},
               {1, "1n"},
               {12345678, "12345678n"},
               {12000000, "12m"},
               {120000000, "120m"},
               {1500000000, "1500m"},
               {2000000000, "2"},
               {4321000, "4321u"},
               {1000, "1u"},
               {10000, "10u"},
               {3000000000000ULL, "3k"}};
    for (size_t i = 0; i < sizeof cpu / sizeof cpu[0]; i++) {
        char *s = hs_usage_fmt_nanocores (cpu[i].v);
        CHECK_EQ_STR (s, cpu[i].s);
        free (s);
    }
    struct {
        int64_t v;
        const char *s;
    } mem[] = {{0, "0"},           {512, "512"},        {1000, "1k"},     {1023, "1023"},
               {1024, "1Ki"},      {1264640, "1235Ki"}, {1048576, "1Mi"}, {1234567, "1234567"},
               {3LL << 30, "3Gi"}, {1536, "1536"},      {-5, "0"}};
    for (size_t i = 0; i < sizeof mem / sizeof mem[0]; i++) {
        char *s = hs_usage_fmt_bytes (mem[i].v);
        CHECK_EQ_STR (s, mem[i].s);
        free (s);
    }
    /* Go's time.Duration.String */
    struct {
        int64_t v;
        const char *s;
    } d[] = {{0, "0s"},
             {1 * S, "1s"},
             {1500000000, "1.5s"},
             {1002000000, "1.002s"},
             {350000000, "350ms"},
             {1500000, "1.5ms"},
             {1500, "1.5\xc2\xb5s"},
             {999, "999ns"},
             {123 * S + 500000000, "2m3.5s"},
             {3600 * S, "1h0m0s"},
             {3723 * S + 1, "1h2m3.000000001s"},
             {-2 * S, "-2s"}};
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) {
        char *s = hs_usage_fmt_duration (d[i].v);
        CHECK_EQ_STR (s, d[i].s);
        free (s);
    }
    /* kubectl top's cells: millicores rounded up, MiB rounded down */
    char *c = hs_usage_top_cpu (250000001);
    CHECK_EQ_STR (c, "251m");
    free (c);
    c = hs_usage_top_cpu (0);
    CHECK_EQ_STR (c, "0m");
    free (c);
    c = hs_usage_top_mem ((12LL << 20) + 1048575);
    CHECK_EQ_STR (c, "12Mi");
    free (c);
}

static Hs__NodeUsage *s_sample (const char *node, int64_t ts, uint32_t window, uint32_t interval)
{
    Hs__NodeUsage *u = hs_pb_new (&hs__node_usage__descriptor);
    hs_pb_set_str (&u->node, node);
    u->timestamp = ts;
    u->window_ms = window;
    u->interval_ms = interval;
    u->cpu_usage_nanocores = 1000;
    Hs__PodUsage *p = hs_pb_new (&hs__pod_usage__descriptor);
    hs_pb_set_str (&p->namespace_, "default");
    hs_pb_set_str (&p->name, "web");
    hs_pb_set_str (&p->uid, "u1");
    for (int i = 0; i < 2; i++) {
        Hs__ContainerUsage *c = hs_pb_new (&hs__container_usage__descriptor);
        hs_pb_set_str (&c->name, i ? "side" : "main");
        c->cpu_usage_nanocores = i ? 5 : 7;
        c->memory_working_set_bytes = i ? 100 : 200;
        hs_pb_push ((void ***)&p->containers, &p->n_containers, c);
    }
    hs_pb_push ((void ***)&u->pods, &u->n_pods, p);
    return u;
}

static void test_table (void)
{
    hs_usage_table_t *t = hs_usage_table_new ();
    Hs__NodeUsage *first = s_sample ("n1", 10 * S, 0, 1000);
    Hs__NodeUsage *u = s_sample ("n1", 11 * S, 1000, 1000);
    Hs__NodeUsage *other = s_sample ("n2", 11 * S, 1000, 1000);
    /* the topic must name the sample's own node */
    CHECK_EQ_INT (hs_usage_table_put (t, "usage.n2/", u, 0), -EINVAL);
    CHECK_EQ_INT (hs_usage_table_put (t, "usage.n1", u, 0), -EINVAL);
    CHECK_EQ_INT (hs_usage_table_put (t, "usage.n1/x", u, 0), -EINVAL);
    CHECK_EQ_INT (hs_usage_table_put (t, "usage.n/", u, 0), -EINVAL);
    CHECK_EQ_INT (hs_usage_table_put (t, "hb.n1/", u, 0), -EINVAL);
    CHECK_EQ_INT (hs_usage_table_put (t, "usage.n1/", NULL, 0), -EINVAL);
    CHECK_EQ_INT ((int)hs_usage_table_size (t), 0);
    CHECK_EQ_INT ((int)hs_usage_table_refused (t), 6);
    /* the first sample has no window: kept, but no metrics yet */
    CHECK_EQ_INT (hs_usage_table_put (t, "usage.n1/", first, 100 * S), 1);
    CHECK (hs_usage_table_node (t, "n1", 100 * S) == NULL);
    CHECK (hs_usage_table_last (t, "n1", NULL) != NULL);
    CHECK_EQ_INT (hs_usage_table_put (t, "usage.n1/", u, 101 * S), 1);
    CHECK_EQ_INT (hs_usage_table_put (t, "usage.n2/", other, 101 * S), 1);
    CHECK_EQ_INT ((int)hs_usage_table_size (t), 2);
    const Hs__NodeUsage *got = hs_usage_table_node (t, "n1", 101 * S);
    CHECK (got != NULL);
    CHECK_EQ_INT ((int)got->window_ms, 1000);
    /* stale after 3 x interval, at least 3 s */
    CHECK (hs_usage_table_node (t, "n1", 104 * S) != NULL);
    CHECK (hs_usage_table_node (t, "n1", 104 * S + 1) == NULL);
    CHECK_EQ_INT (hs_usage_stale_ns (100) / 1000000, 3000);
    CHECK_EQ_INT (hs_usage_stale_ns (5000) / 1000000, 15000);
    CHECK (hs_usage_table_node (t, "n3", 101 * S) == NULL);
    /* pods: by namespace and name on their node */
    const Hs__PodUsage *p = hs_usage_table_pod (t, "n1", "default", "web", NULL, 101 * S);
    CHECK (p != NULL);
    CHECK (hs_usage_table_pod (t, "n1", "other", "web", NULL, 101 * S) == NULL);
    CHECK (hs_usage_table_pod (t, "n1", "default", "web2", NULL, 101 * S) == NULL);
    CHECK (hs_usage_table_pod (t, "n3", "default", "web", NULL, 101 * S) == NULL);
    CHECK (hs_usage_table_pod (t, "n1", "default", "web", NULL, 110 * S) == NULL);
    uint64_t cpu;
    int64_t mem;
    hs_usage_pod_totals (p, &cpu, &mem);
    CHECK_EQ_INT ((int)cpu, 12);
    CHECK_EQ_INT ((int)mem, 300);
    /* The agent's clock stepped back a minute (review 18, finding 4): its
     * next sample, timestamped earlier, is taken and keeps the node fresh. */
    Hs__NodeUsage *back = s_sample ("n1", 11 * S - 60 * S, 1000, 1000);
    back->cpu_usage_nanocores = 4242;
    CHECK_EQ_INT (hs_usage_table_put (t, "usage.n1/", back, 103 * S), 1);
    got = hs_usage_table_node (t, "n1", 106 * S);
    CHECK (got != NULL);
    CHECK (got && got->cpu_usage_nanocores == 4242 && got->timestamp == -49 * S);
    hs_pb_free (back);
    hs_pb_free (first);
    hs_pb_free (u);
    hs_pb_free (other);
    hs_usage_table_destroy (&t);
    CHECK (t == NULL);
    hs_usage_table_destroy (&t);
}

/* Two pods named web in one sample (review 18, finding 6): the old one in
 * its grace period and the new one. The caller's uid picks, else the run
 * that started last, whatever the sample's order. */
static void test_same_name (void)
{
    static const struct {
        const char *uid; /* the caller's */
        bool old_wins;
    } cases[] = {{"u-new", false}, {"u-old", true}, {NULL, false}, {"", false}, {"u-x", false}};
    for (int order = 0; order < 2; order++) {
        Hs__NodeUsage *u = s_sample ("n1", 11 * S, 1000, 1000);
        Hs__NodeUsage *young = s_sample ("n1", 11 * S, 1000, 1000);
        Hs__PodUsage *po = u->pods[0], *pn = young->pods[0];
        young->n_pods = 0; /* moved into u */
        hs_pb_set_str (&po->uid, "u-old");
        hs_pb_set_str (&pn->uid, "u-new");
        for (size_t i = 0; i < po->n_containers; i++) {
            po->containers[i]->started_at = (100 + (int64_t)i) * S;
            pn->containers[i]->started_at = (200 - 150 * (int64_t)i) * S; /* newest: 200 s */
        }
        hs_pb_push ((void ***)&u->pods, &u->n_pods, pn);
        if (order) u->pods[0] = pn, u->pods[1] = po;
        hs_usage_table_t *t = hs_usage_table_new ();
        CHECK_EQ_INT (hs_usage_table_put (t, "usage.n1/", u, S), 1);
        for (size_t c = 0; c < HS_ARRAY_LEN (cases); c++) {
            const Hs__PodUsage *p = hs_usage_table_pod (t, "n1", "default", "web", cases[c].uid, S);
            CHECK (p != NULL);
            if (p) CHECK_EQ_STR (p->uid, cases[c].old_wins ? "u-old" : "u-new");
        }
        hs_usage_table_destroy (&t);
        hs_pb_free (u);
        hs_pb_free (young);
    }
}

/* Many nodes in any order: the sorted array finds each. */
static void test_many (void)
{
    hs_usage_table_t *t = hs_usage_table_new ();
    for (int i = 0; i < 500; i++) {
        char name[32], topic[48];
        snprintf (name, sizeof name, "node-%d", (i * 7919) % 500);
        snprintf (topic, sizeof topic, "usage.%s/", name);
        Hs__NodeUsage *u = s_sample (name, S, 1000, 1000);
        CHECK_EQ_INT (hs_usage_table_put (t, topic, u, S), 1);
        hs_pb_free (u);
    }
    CHECK_EQ_INT ((int)hs_usage_table_size (t), 500);
    for (int i = 0; i < 500; i++) {
        char name[32];
        snprintf (name, sizeof name, "node-%d", i);
        const Hs__NodeUsage *u = hs_usage_table_node (t, name, S);
        CHECK (u != NULL && strcmp (u->node, name) == 0);
    }
    hs_usage_table_destroy (&t);
}

int main (int argc, char **argv)
{
    static const hs_test_t tests[] = {
        {"formats", test_formats},
        {"table", test_table},
        {"same_name", test_same_name},
        {"many", test_many},
    };
    return HS_TEST_RUN (tests);
}
