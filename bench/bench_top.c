/*  bench_top.c: what resource usage costs its readers (issue 18), in one
 *  process, no sockets: the server's and hsctl's own CPU.
 *
 *  N nodes, each with P running pods (one container each), as the agents
 *  publish them on usage.<node>/. Rows, each the median of --rounds runs:
 *    put        every node's sample into an hs_usage_table_t (a copy each:
 *               what hs-apiserver and hsctl top do per message received)
 *    PodMetricsList   hs-apiserver's answer to `kubectl top pods -A`: each
 *               pod found on its node's sample, its PodMetrics tree, the
 *               list as compact JSON (the body's bytes), freed
 *    NodeMetricsList  the same for `kubectl top nodes`
 *    hsctl top pods -A  the rows and kubectl's table text
 */
#include "api.h"
#include "benchlib.h"
#include "ctl_fmt.h"
#include "hs_manifest.h"
#include "hs_pb.h"
#include "hs_usage.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NOW (1800000000LL * 1000000000LL)

typedef struct {
    int nodes, per_node, rounds;
    Hs__NodeUsage **samples;
    Hs__Object **pods, **node_objs;
    hs_usage_table_t *table;
} s_set_t;

static int64_t s_cpu_ns (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static Hs__Object *s_obj (const char *yaml)
{
    hs_manifest_t m = {0};
    char *err = NULL;
    if (hs_manifest_parse (yaml, strlen (yaml), "bench", &m, &err) < 0) bl_die ("%s", err);
    Hs__Object *o = hs_pb_dup (m.docs[0].object);
    hs_manifest_free (&m);
    return o;
}

/* The cluster: pod i on node i / per_node, busy-ish figures. */
static void s_build (s_set_t *s)
{
    Hs__Object *pod =
        s_obj ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n  namespace: team-a\n"
               "  labels: {app: web, pod-template-hash: 7d9c6b5f4d}\nspec:\n"
               "  nodeName: x\n  containers: [{name: web, image: x}]\n");
    Hs__Object *node = s_obj ("apiVersion: v1\nkind: Node\nmetadata:\n  name: x\n"
                              "  labels: {zone: a}\n");
    size_t n = (size_t)s->nodes * (size_t)s->per_node;
    s->pods = hs_calloc (n, sizeof *s->pods);
    s->node_objs = hs_calloc ((size_t)s->nodes, sizeof *s->node_objs);
    s->samples = hs_calloc ((size_t)s->nodes, sizeof *s->samples);
    for (int i = 0; i < s->nodes; i++) {
        char name[64];
        snprintf (name, sizeof name, "node-%05d", i);
        s->node_objs[i] = hs_pb_dup (node);
        hs_pb_set_str (&s->node_objs[i]->node->metadata->name, name);
        Hs__NodeUsage *u = hs_pb_new (&hs__node_usage__descriptor);
        hs_pb_set_str (&u->node, name);
        u->timestamp = NOW;
        u->window_ms = u->interval_ms = 1000;
        u->cpu_usage_nanocores = 1234567890;
        u->memory_working_set_bytes = 3LL << 30;
        for (int j = 0; j < s->per_node; j++) {
            size_t k = (size_t)i * (size_t)s->per_node + (size_t)j;
            char pname[64];
            snprintf (pname, sizeof pname, "web-7d9c6b5f4d-%06zu", k);
            s->pods[k] = hs_pb_dup (pod);
            hs_pb_set_str (&s->pods[k]->pod->metadata->name, pname);
            hs_pb_set_str (&s->pods[k]->pod->spec->node_name, name);
            Hs__PodUsage *p = hs_pb_new (&hs__pod_usage__descriptor);
            hs_pb_set_str (&p->namespace_, "team-a");
            hs_pb_set_str (&p->name, pname);
            Hs__ContainerUsage *c = hs_pb_new (&hs__container_usage__descriptor);
            hs_pb_set_str (&c->name, "web");
            c->cpu_usage_nanocores = 123456789 + k;
            c->memory_working_set_bytes = (64LL << 20) + (int64_t)k * 4096;
            hs_pb_push ((void ***)&p->containers, &p->n_containers, c);
            hs_pb_push ((void ***)&u->pods, &u->n_pods, p);
        }
        s->samples[i] = u;
    }
    hs_pb_free (pod);
    hs_pb_free (node);
}

static void s_put (s_set_t *s)
{
    hs_usage_table_destroy (&s->table);
    s->table = hs_usage_table_new ();
    for (int i = 0; i < s->nodes; i++) {
        char topic[80];
        snprintf (topic, sizeof topic, "usage.%s/", s->samples[i]->node);
        if (hs_usage_table_put (s->table, topic, s->samples[i], NOW) != 1) bl_die ("put refused");
    }
}

static size_t s_pod_list (s_set_t *s)
{
    size_t n = (size_t)s->nodes * (size_t)s->per_node;
    hs_tree_t *items = hs_tree_new (HS_TREE_SEQ);
    for (size_t k = 0; k < n; k++) {
        const Hs__Pod *p = s->pods[k]->pod;
        const Hs__PodUsage *pu =
            hs_usage_table_pod (s->table, p->spec->node_name, p->metadata->namespace_,
                                p->metadata->name, p->metadata->uid, NOW);
        const Hs__NodeUsage *nu = hs_usage_table_node (s->table, p->spec->node_name, NOW);
        if (pu) hs_tree_add (items, NULL, api_pod_metrics_tree (s->pods[k], nu, pu, NOW, false));
    }
    hs_tree_t *t = api_metrics_list_tree ("PodMetricsList", items);
    char *text = hs_tree_to_text (t, HS_FMT_JSON | HS_FMT_COMPACT);
    size_t len = strlen (text);
    free (text);
    hs_tree_free (t);
    return len;
}

static size_t s_node_list (s_set_t *s)
{
    hs_tree_t *items = hs_tree_new (HS_TREE_SEQ);
    for (int i = 0; i < s->nodes; i++) {
        const Hs__NodeUsage *nu = hs_usage_table_node (s->table, s->samples[i]->node, NOW);
        if (nu) hs_tree_add (items, NULL, api_node_metrics_tree (s->node_objs[i], nu, NOW, false));
    }
    hs_tree_t *t = api_metrics_list_tree ("NodeMetricsList", items);
    char *text = hs_tree_to_text (t, HS_FMT_JSON | HS_FMT_COMPACT);
    size_t len = strlen (text);
    free (text);
    hs_tree_free (t);
    return len;
}

static size_t s_ctl_table (s_set_t *s)
{
    size_t n = (size_t)s->nodes * (size_t)s->per_node;
    ctl_top_row_t *rows = hs_calloc (n, sizeof *rows);
    for (size_t k = 0; k < n; k++) {
        const Hs__ObjectMeta *m = s->pods[k]->pod->metadata;
        const Hs__PodUsage *pu = hs_usage_table_pod (s->table, s->pods[k]->pod->spec->node_name,
                                                     m->namespace_, m->name, m->uid, NOW);
        rows[k] = (ctl_top_row_t){.ns = m->namespace_, .pod = m->name, .name = m->name};
        hs_usage_pod_totals (pu, &rows[k].nanocores, &rows[k].ws_bytes);
    }
    char *text = ctl_top_pods_text (rows, n, true, false, false, NULL, false);
    size_t len = strlen (text);
    free (text);
    free (rows);
    return len;
}

static int s_cmp (const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void s_row (s_set_t *s, const char *what, size_t (*fn) (s_set_t *), void (*put) (s_set_t *))
{
    int64_t *v = hs_calloc ((size_t)s->rounds, sizeof *v);
    size_t bytes = 0;
    for (int r = 0; r < s->rounds; r++) {
        int64_t t0 = s_cpu_ns ();
        if (put) put (s);
        if (fn) bytes = fn (s);
        v[r] = s_cpu_ns () - t0;
    }
    qsort (v, (size_t)s->rounds, sizeof *v, s_cmp);
    char b[32] = "-";
    if (bytes) snprintf (b, sizeof b, "%zu", bytes);
    printf ("%-20s %10.2f %12s\n", what, (double)v[s->rounds / 2] / 1e6, b);
    free (v);
}

int main (int argc, char **argv)
{
    s_set_t s = {.nodes = 1000, .per_node = 10, .rounds = 7};
    static const struct option opts[] = {{"nodes", required_argument, NULL, 'n'},
                                         {"pods-per-node", required_argument, NULL, 'p'},
                                         {"rounds", required_argument, NULL, 'r'},
                                         {"help", no_argument, NULL, 'h'},
                                         {0}};
    for (int c; (c = getopt_long (argc, argv, "n:p:r:h", opts, NULL)) != -1;) {
        if (c == 'n')
            s.nodes = atoi (optarg);
        else if (c == 'p')
            s.per_node = atoi (optarg);
        else if (c == 'r')
            s.rounds = atoi (optarg);
        else {
            printf (
                "usage: bench-top [--nodes N (1000)] [--pods-per-node P (10)] [--rounds R (7)]\n");
            return c == 'h' ? 0 : 2;
        }
    }
    if (s.nodes < 1 || s.per_node < 1 || s.rounds < 1) bl_die ("flags must be positive");
    s_build (&s);
    printf ("bench-top: %d nodes x %d pods = %d pods; CPU ms, median of %d\n\n", s.nodes,
            s.per_node, s.nodes * s.per_node, s.rounds);
    printf ("%-20s %10s %12s\n", "what", "ms", "bytes");
    s_row (&s, "put (every node)", NULL, s_put);
    s_row (&s, "PodMetricsList", s_pod_list, NULL);
    s_row (&s, "NodeMetricsList", s_node_list, NULL);
    s_row (&s, "hsctl top pods -A", s_ctl_table, NULL);
    hs_usage_table_destroy (&s.table);
    return 0;
}
