/*  test_hollow_usage.c: hs-hollow's synthetic usage.<node>/ figures
 *  (agents/hollow/hollow_usage.h): the annotations win, shares of the
 *  requests otherwise, stable per pod, a round ordered by node with a
 *  pod's containers together, the node's sums and cumulative CPU. */
#include "hollow_usage.h"
#include "hs_pb.h"
#include "hs_test.h"
#include "hs_util.h"

#include <stdlib.h>

#define S 1000000000LL

/* A pod of n containers c0.. with the given requests ("" for none) and
 * annotations (cpu, mem: NULL for none). hs_pb_free it. */
static Hs__Pod *s_pod (const char *uid, size_t n, const char *cpu_req, const char *mem_req,
                       const char *cpu_a, const char *mem_a)
{
    Hs__Pod *pod = hs_calloc (1, sizeof *pod);
    hs__pod__init (pod);
    pod->metadata = hs_calloc (1, sizeof *pod->metadata);
    hs__object_meta__init (pod->metadata);
    pod->metadata->name = hs_strdup (uid);
    pod->metadata->namespace_ = hs_strdup ("ns");
    pod->metadata->uid = hs_strdup (uid);
    const char *keys[2] = {HOLLOW_CPU_ANNOTATION, HOLLOW_MEMORY_ANNOTATION};
    const char *vals[2] = {cpu_a, mem_a};
    pod->metadata->annotations = hs_calloc (2, sizeof (void *));
    for (int k = 0; k < 2; k++) {
        if (!vals[k]) continue;
        Hs__ObjectMeta__AnnotationsEntry *e = hs_calloc (1, sizeof *e);
        hs__object_meta__annotations_entry__init (e);
        e->key = hs_strdup (keys[k]);
        e->value = hs_strdup (vals[k]);
        pod->metadata->annotations[pod->metadata->n_annotations++] = e;
    }
    pod->spec = hs_calloc (1, sizeof *pod->spec);
    hs__pod_spec__init (pod->spec);
    pod->spec->containers = hs_calloc (n, sizeof (void *));
    pod->spec->n_containers = n;
    for (size_t i = 0; i < n; i++) {
        Hs__Container *c = hs_calloc (1, sizeof *c);
        hs__container__init (c);
        c->name = hs_sprintf ("c%zu", i);
        c->resources = hs_calloc (1, sizeof *c->resources);
        hs__resource_requirements__init (c->resources);
        c->resources->requests = hs_calloc (1, sizeof *c->resources->requests);
        hs__resource_list__init (c->resources->requests);
        c->resources->requests->cpu = hs_strdup (cpu_req);
        c->resources->requests->memory = hs_strdup (mem_req);
        pod->spec->containers[i] = c;
    }
    return pod;
}

static void test_figures (void)
{
    uint64_t nc, nc2;
    int64_t ws, ws2;
    Hs__Pod *a = s_pod ("uid-a", 1, "", "", "250m", "64Mi");
    hollow_usage_figures (a, 0, &nc, &ws);
    CHECK_EQ_INT (nc, 250000000);
    CHECK_EQ_INT (ws, 64LL << 20);
    /* requests: 10% to 60% of 1 CPU, 30% to 80% of 1Gi; stable */
    Hs__Pod *b = s_pod ("uid-b", 1, "1", "1Gi", NULL, NULL);
    hollow_usage_figures (b, 0, &nc, &ws);
    CHECK (nc >= 100000000 && nc < 600000000);
    CHECK (ws >= (1LL << 30) / 10 * 3 && ws < (1LL << 30) / 10 * 8);
    hollow_usage_figures (b, 0, &nc2, &ws2);
    CHECK_EQ_INT (nc, nc2);
    CHECK_EQ_INT (ws, ws2);
    /* nothing asked: 1m to 20m, 4 to 36 MiB; a bad annotation is ignored */
    Hs__Pod *c = s_pod ("uid-c", 1, "", "", "lots", NULL);
    hollow_usage_figures (c, 0, &nc, &ws);
    CHECK (nc >= 1000000 && nc < 20000000);
    CHECK (ws >= 4LL << 20 && ws < 36LL << 20);
    /* different pods differ (the hash), over a few */
    int same = 0;
    for (int i = 0; i < 20; i++) {
        char uid[16];
        snprintf (uid, sizeof uid, "u%d", i);
        Hs__Pod *p = s_pod (uid, 1, "1", "1Gi", NULL, NULL);
        hollow_usage_figures (p, 0, &nc2, &ws2);
        same += nc2 == nc;
        hs_pb_free (p);
    }
    CHECK (same < 3);
    hs_pb_free (a);
    hs_pb_free (b);
    hs_pb_free (c);
}

static void test_round (void)
{
    hollow_usage_t *u = hollow_usage_new (3, 1000);
    Hs__Pod *p1 = s_pod ("p1", 2, "", "", "100m", "10Mi");
    Hs__Pod *p2 = s_pod ("p2", 1, "", "", "300m", "20Mi");
    Hs__Pod *p3 = s_pod ("p3", 1, "", "", "50m", "1Mi");
    for (int round = 0; round < 2; round++) {
        hollow_usage_round_begin (u);
        hollow_usage_add_pod (u, 2, p1, 10 * S);
        hollow_usage_add_pod (u, 0, p2, 10 * S);
        hollow_usage_add_pod (u, 2, p3, 10 * S);
        hollow_usage_add_pod (u, 7, p3, 10 * S); /* not a node of ours: ignored */
        hollow_usage_round_end (u);
        CHECK_EQ_INT (hollow_usage_pods (u), 3);
        const Hs__NodeUsage *nu = hollow_usage_node (u, 2, "h-2", 12 * S, (100 + round) * S);
        CHECK_EQ_STR (nu->node, "h-2");
        CHECK_EQ_INT (nu->interval_ms, 1000);
        CHECK_EQ_INT (nu->n_pods, 2);
        CHECK_EQ_STR (nu->pods[0]->name, "p1");
        CHECK_EQ_STR (nu->pods[0]->namespace_, "ns");
        CHECK_EQ_INT (nu->pods[0]->n_containers, 2);
        CHECK_EQ_STR (nu->pods[0]->containers[1]->name, "c1");
        CHECK_EQ_STR (nu->pods[1]->uid, "p3");
        CHECK_EQ_INT (nu->pods[1]->n_containers, 1);
        CHECK_EQ_INT (nu->pods[0]->containers[0]->cpu_usage_nanocores, 100000000);
        /* 2 s at 100m */
        CHECK_EQ_INT (nu->pods[0]->containers[0]->cpu_usage_core_ns, 200000000);
        CHECK_EQ_INT (nu->pods[0]->containers[0]->memory_working_set_bytes, 10 << 20);
        /* 100m + 100m + 50m and the system's 100m; 31 MiB and 256 */
        CHECK_EQ_INT (nu->cpu_usage_nanocores, 350000000);
        CHECK_EQ_INT (nu->memory_working_set_bytes, (21LL << 20) + (256LL << 20));
        CHECK_EQ_INT (nu->window_ms, round == 0 ? 0 : 1000);
        CHECK_EQ_INT (nu->cpu_usage_core_ns, round == 0 ? 0 : 350000000);
        nu = hollow_usage_node (u, 1, "h-1", 12 * S, 100 * S);
        CHECK_EQ_INT (nu->n_pods, 0);
        CHECK_EQ_INT (nu->cpu_usage_nanocores, 100000000);
        nu = hollow_usage_node (u, 0, "h-0", 12 * S, 100 * S);
        CHECK_EQ_INT (nu->n_pods, 1);
        CHECK_EQ_STR (nu->pods[0]->name, "p2");
        /* it packs */
        Hs__Envelope env = HS__ENVELOPE__INIT;
        env.body_case = HS__ENVELOPE__BODY_USAGE;
        env.usage = (Hs__NodeUsage *)nu;
        CHECK (hs__envelope__get_packed_size (&env) > 20);
    }
    hs_pb_free (p1);
    hs_pb_free (p2);
    hs_pb_free (p3);
    hollow_usage_destroy (&u);
    CHECK (u == NULL);
}

int main (int argc, char **argv)
{
    static const hs_test_t tests[] = {
        {"figures", test_figures},
        {"round", test_round},
    };
    return HS_TEST_RUN (tests);
}
